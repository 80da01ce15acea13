//! The LDAP backend against a real slapd on 127.0.0.1 (see `common::slapd`): mail
//! accounts that a user can bind as, resets, deactivation that keeps the entry, and
//! server accounts as posixAccount + shadowAccount + sshPublicKey, granted and revoked.
//! Plans come from the apply core's diff, so these run the way `loket apply` does.

mod common;

use std::collections::HashMap;

use jiff::ToSpan;
use jiff::civil::Date;
use ldap3::{LdapConn, Scope, SearchEntry};
use loket::apply::credentials::generate_password;
use loket::apply::ldap::{LdapBackend, LdapRole};
use loket::apply::plan::{Action, Desired, Kinds, PlannedChange, diff_mail, diff_server};
use loket::apply::{Backend, Change, Secret, Verified};
use loket::model::account::{MailAccount, ServerAccount};
use loket::model::backends::LdapSettings;
use loket::model::request::RequestKind;

use common::slapd::{ADMIN_DN, ADMIN_PW, SUFFIX, Slapd};

const CREATE: &str = "KDS-QTF6R-ZN7MH";
const RESET: &str = "KDS-ENY54-JAFNR";
const DEACTIVATE: &str = "KDS-X8FA5-QQEQ8";
const GRANT: &str = "KDS-PH7H3-MSBP2";
const REVOKE: &str = "KDS-RYBEP-PGPPQ";
const KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINlRHbndlDyb8Z1Kb0Y/Jy5GjuyXBzlBpJpgYqcaZl+a arif@laptop";

fn settings(slapd: &Slapd, base: &str) -> LdapSettings {
    toml::from_str(&format!(
        "url = \"{}\"\nbind-dn = \"{ADMIN_DN}\"\nbase = \"{base},{SUFFIX}\"\n",
        slapd.url
    ))
    .expect("settings parse")
}

fn backend(slapd: &Slapd, role: LdapRole) -> LdapBackend {
    let base = match role {
        LdapRole::Mail => "ou=mail",
        LdapRole::Server => "ou=servers",
    };
    LdapBackend::new(
        settings(slapd, base),
        Secret::new(ADMIN_PW.into()),
        role,
        today(),
    )
}

fn today() -> Date {
    jiff::ZonedDateTime::now().date()
}

fn mail(address: &str, status: &str, tickets: &[&str]) -> MailAccount {
    toml::from_str(&format!(
        "address = \"{address}\"\nstatus = \"{status}\"\ntickets = {tickets:?}\n\
         [holder]\nname = \"Agus\"\nopd = \"BPKAD\"\n"
    ))
    .unwrap()
}

fn kinds() -> Kinds<'static> {
    Kinds::Known(HashMap::from([
        (CREATE, RequestKind::MailCreate),
        (RESET, RequestKind::MailReset),
        (DEACTIVATE, RequestKind::MailDeactivate),
        (GRANT, RequestKind::ServerGrant),
        (REVOKE, RequestKind::ServerRevoke),
    ]))
}

/// Plans `acc` against the live entry, applies with a fresh password where the
/// change needs one, verifies; returns the plan and the passwords used.
fn run_mail(
    b: &mut LdapBackend,
    acc: &MailAccount,
) -> Vec<(PlannedChange, Option<Secret>, Verified)> {
    let desired = Desired {
        mail: vec![acc],
        server: vec![],
        kinds: kinds(),
    };
    let live = b.read().expect("read");
    let plan = diff_mail("ldap", &desired, &live);
    let passwords: Vec<Option<Secret>> = plan
        .iter()
        .map(|c| c.action.needs_password(&c.target).then(generate_password))
        .collect();
    let changes: Vec<Change<'_>> = plan
        .iter()
        .zip(&passwords)
        .map(|(planned, pw)| Change {
            planned,
            password: pw.as_ref(),
            hash: None,
        })
        .collect();
    let results = b.apply(&changes);
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let verified: Vec<Verified> = changes
        .iter()
        .map(|c| b.verify(c).expect("verify"))
        .collect();
    plan.into_iter()
        .zip(passwords)
        .zip(verified)
        .map(|((p, pw), v)| (p, pw, v))
        .collect()
}

#[test]
fn mail_create_reset_deactivate() {
    let Some(slapd) = Slapd::start() else { return };
    let mut b = backend(&slapd, LdapRole::Mail);
    let addr = "agus.lestari@kuduskab.go.id";

    // Create: a user can bind with the delivered password.
    let created = mail(addr, "active", &[CREATE]);
    let run = run_mail(&mut b, &created);
    assert_eq!(run.len(), 1);
    assert_eq!(run[0].0.action, Action::Create);
    assert!(matches!(run[0].2, Verified::AsUser(_)), "{:?}", run[0].2);
    let first = run[0].1.clone().unwrap();
    assert!(b.try_bind(addr, &first).unwrap());
    assert!(!b.try_bind(addr, &Secret::new("wrong".into())).unwrap());
    assert!(
        run_mail(&mut b, &created).is_empty(),
        "second run is a no-op"
    );

    // The entry holds a {CRYPT} SHA512-CRYPT hash, never the password.
    let e = entry(&slapd, &format!("uid={addr},ou=mail,{SUFFIX}"));
    let stored = &e.attrs["userPassword"][0];
    assert!(stored.starts_with("{CRYPT}$6$"), "{stored}");
    assert!(!stored.contains(first.expose()));
    assert!(e.attrs["objectClass"].iter().any(|c| c == "inetOrgPerson"));

    // Reset: the old password stops working, the new one works; done once.
    let reset = mail(addr, "active", &[CREATE, RESET]);
    let run = run_mail(&mut b, &reset);
    assert_eq!(run.len(), 1);
    assert_eq!(run[0].0.action, Action::Reset);
    let second = run[0].1.clone().unwrap();
    assert!(!b.try_bind(addr, &first).unwrap(), "old password refused");
    assert!(b.try_bind(addr, &second).unwrap(), "new password works");
    assert!(run_mail(&mut b, &reset).is_empty());

    // Deactivate: binding fails, the entry (and so the mailbox) is kept.
    let off = mail(addr, "disabled", &[CREATE, RESET, DEACTIVATE]);
    let run = run_mail(&mut b, &off);
    assert_eq!(run.len(), 1);
    assert_eq!(run[0].0.action, Action::Disable);
    assert!(
        !b.try_bind(addr, &second).unwrap(),
        "disabled account cannot bind"
    );
    let live = b.read().unwrap();
    assert!(!live.mail[addr].active);
    assert!(live.mail[addr].tickets.contains(DEACTIVATE));
    assert!(run_mail(&mut b, &off).is_empty());

    // Enabling again restores the kept password.
    let on = mail(addr, "active", &[CREATE, RESET, DEACTIVATE]);
    let run = run_mail(&mut b, &on);
    assert_eq!(run[0].0.action, Action::Enable);
    assert!(b.try_bind(addr, &second).unwrap());

    // Neither plaintext reached the directory's log.
    let log = slapd.log().join("\n");
    assert!(log.contains("BIND"), "the stats log was captured");
    for pw in [&first, &second] {
        assert!(!log.contains(pw.expose()));
    }
}

#[test]
fn a_wrong_bind_password_is_a_clear_error() {
    let Some(slapd) = Slapd::start() else { return };
    let mut b = LdapBackend::new(
        settings(&slapd, "ou=mail"),
        Secret::new("not-the-password".into()),
        LdapRole::Mail,
        today(),
    );
    let err = b.read().unwrap_err().to_string();
    assert!(err.contains(ADMIN_DN) && err.contains("nvalid"), "{err}");
    assert!(!err.contains("not-the-password"), "{err}");
}

fn server(login: &str, expires: Date, status: &str) -> ServerAccount {
    let revoked = if status == "revoked" {
        format!("revoked-by = \"{REVOKE}\"\n")
    } else {
        String::new()
    };
    toml::from_str(&format!(
        "server = \"app-1\"\nlogin = \"{login}\"\nkind = \"opd\"\nopd = \"Dinas Kesehatan\"\n\
         tickets = [\"{GRANT}\"]\n[[keys]]\nticket = \"{GRANT}\"\nkey = \"{KEY}\"\n\
         expires = {expires}\nstatus = \"{status}\"\n{revoked}\
         holder = {{ name = \"Arif\", opd = \"Dinas Kesehatan\" }}\n"
    ))
    .unwrap()
}

fn run_server(b: &mut LdapBackend, acc: &ServerAccount) -> Vec<(PlannedChange, Verified)> {
    let desired = Desired {
        mail: vec![],
        server: vec![acc],
        kinds: kinds(),
    };
    let live = b.read().expect("read");
    let plan = diff_server("ldap", &desired, &live, today());
    let changes: Vec<Change<'_>> = plan
        .iter()
        .map(|planned| Change {
            planned,
            password: None,
            hash: None,
        })
        .collect();
    let results = b.apply(&changes);
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    let v = changes
        .iter()
        .map(|c| b.verify(c).expect("verify"))
        .collect::<Vec<_>>();
    plan.into_iter().zip(v).collect()
}

#[test]
fn server_account_grant_and_revoke() {
    let Some(slapd) = Slapd::start() else { return };
    let mut b = backend(&slapd, LdapRole::Server);
    let last = today() + 30.days();
    let dn = format!("uid=opd-dinkes,ou=app-1,ou=servers,{SUFFIX}");

    let granted = server("opd-dinkes", last, "active");
    let run = run_server(&mut b, &granted);
    let actions: Vec<Action> = run.iter().map(|(p, _)| p.action).collect();
    assert_eq!(actions, [Action::Create, Action::Grant]);
    let e = entry(&slapd, &dn);
    for class in ["posixAccount", "shadowAccount", "ldapPublicKey"] {
        assert!(
            e.attrs["objectClass"].iter().any(|c| c == class),
            "{class}: {e:?}"
        );
    }
    let keys = &e.attrs["sshPublicKey"];
    assert_eq!(keys.len(), 1);
    assert!(
        keys[0].contains(KEY.rsplit_once(' ').unwrap().0),
        "{keys:?}"
    );
    assert!(
        keys[0].ends_with(GRANT),
        "the key names its ticket: {keys:?}"
    );
    let expire_day = (last + 1.day() - Date::constant(1970, 1, 1)).get_days();
    assert_eq!(e.attrs["shadowExpire"], [expire_day.to_string()]);
    assert_eq!(e.attrs["uidNumber"], ["20000"]);
    assert!(
        run_server(&mut b, &granted).is_empty(),
        "second run is a no-op"
    );

    // Revoke: the key value goes, and with no key left the account expires.
    let revoked = server("opd-dinkes", last, "revoked");
    let run = run_server(&mut b, &revoked);
    assert_eq!(run.len(), 1);
    assert_eq!(run[0].0.action, Action::Revoke);
    assert_eq!(run[0].0.tickets, [REVOKE]);
    let e = entry(&slapd, &dn);
    assert!(!e.attrs.contains_key("sshPublicKey"), "{e:?}");
    assert_eq!(e.attrs["shadowExpire"], ["0"]);
    let live = b.read().unwrap();
    assert!(live.server[&("app-1".into(), "opd-dinkes".into())].locked);
    assert!(run_server(&mut b, &revoked).is_empty());
}

#[test]
fn a_second_server_account_gets_the_next_uid() {
    let Some(slapd) = Slapd::start() else { return };
    let mut b = backend(&slapd, LdapRole::Server);
    let last = today() + 10.days();
    run_server(&mut b, &server("opd-a", last, "active"));
    run_server(&mut b, &server("opd-b", last, "active"));
    let e = entry(&slapd, &format!("uid=opd-b,ou=app-1,ou=servers,{SUFFIX}"));
    assert_eq!(e.attrs["uidNumber"], ["20001"]);
}

/// Reads an entry as the directory admin, independently of the backend.
fn entry(slapd: &Slapd, dn: &str) -> SearchEntry {
    let mut c = LdapConn::new(&slapd.url).unwrap();
    c.simple_bind(ADMIN_DN, ADMIN_PW)
        .unwrap()
        .success()
        .unwrap();
    let (mut rs, _) = c
        .search(dn, Scope::Base, "(objectClass=*)", vec!["*"])
        .unwrap()
        .success()
        .unwrap();
    SearchEntry::construct(rs.remove(0))
}

/// Measurement, not a check (ignored by default): 200 mail accounts created in one
/// apply, then a read and a no-op plan. Run with
/// `cargo test --test apply_ldap -- --ignored --nocapture measure_`.
#[test]
#[ignore = "benchmark (BENCHMARKS.md): run with --ignored --nocapture"]
fn measure_200_mail_creates() {
    let Some(slapd) = Slapd::start() else { return };
    let mut b = backend(&slapd, LdapRole::Mail);
    let accounts: Vec<MailAccount> = (0..200)
        .map(|i| mail(&format!("user{i}@kuduskab.go.id"), "active", &[CREATE]))
        .collect();
    let desired = Desired {
        mail: accounts.iter().collect(),
        server: vec![],
        kinds: kinds(),
    };
    let live = b.read().unwrap();
    let plan = diff_mail("ldap", &desired, &live);
    let pws: Vec<Secret> = plan.iter().map(|_| generate_password()).collect();
    let changes: Vec<Change<'_>> = plan
        .iter()
        .zip(&pws)
        .map(|(planned, pw)| Change {
            planned,
            password: Some(pw),
            hash: None,
        })
        .collect();
    let t = std::time::Instant::now();
    let r = b.apply(&changes);
    let apply = t.elapsed();
    assert!(r.iter().all(Result::is_ok));
    let t = std::time::Instant::now();
    let live = b.read().unwrap();
    let read = t.elapsed();
    assert!(diff_mail("ldap", &desired, &live).is_empty());
    eprintln!(
        "ldap: {} creates (SHA512-CRYPT each) in {apply:?}; read of {} entries {read:?}",
        changes.len(),
        live.mail.len()
    );
}
