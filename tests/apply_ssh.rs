//! The SSH backend against a real OpenSSH server on 127.0.0.1 (see `common::sshd`):
//! grants let the applicant's real `ssh -i key` in, revokes and expiry shut it out,
//! a second run changes nothing, and a wrong pinned host key stops everything.

mod common;

use std::path::Path;

use jiff::ToSpan;
use jiff::civil::Date;
use loket::apply::ssh::{
    LoginOutcome, Op, SshError, SshHost, SshTarget, account_expiry, diff, script,
};
use loket::model::account::ServerAccount;

use common::sshd::{Sshd, keygen};

const TICKET_A: &str = "KDS-PH7H3-MSBP2";

fn target(sshd: &Sshd) -> SshTarget {
    SshTarget {
        server: "app-1".into(),
        address: "127.0.0.1".into(),
        port: sshd.port,
        host_key: sshd.host_key.clone(),
        admin_user: "root".into(),
        identity: sshd.admin_identity.clone(),
    }
}

fn today() -> Date {
    jiff::ZonedDateTime::now().date()
}

/// A registry entry as `accounts/server/app-1/<login>.toml` would hold it.
fn account(login: &str, keys: &[(&str, &str, Date, &str)]) -> ServerAccount {
    let mut t = format!(
        "server = \"app-1\"\nlogin = \"{login}\"\nkind = \"opd\"\nopd = \"Dinas Uji\"\ntickets = [\"{TICKET_A}\"]\n"
    );
    for (ticket, key, expires, status) in keys {
        t.push_str(&format!(
            "[[keys]]\nticket = \"{ticket}\"\nkey = \"{key}\"\nexpires = {expires}\nstatus = \"{status}\"\n\
             holder = {{ name = \"Uji\", opd = \"Dinas Uji\" }}\n"
        ));
    }
    toml::from_str(&t).expect("test account parses")
}

/// Reads, diffs and applies one account; returns the ops applied.
fn converge(host: &mut SshHost, want: &ServerAccount, today: Date) -> Vec<Op> {
    let login = want.login.get_ref().as_str();
    let live = host.read(&[login]).expect("read live state");
    let ops = diff(want, live.accounts.get(login), today);
    let results = host.apply(&ops, &live).expect("apply");
    for (op, r) in ops.iter().zip(&results) {
        assert!(r.is_ok(), "{op:?} failed: {r:?}");
    }
    ops
}

fn login_as(host: &mut SshHost, login: &str, identity: &Path) -> LoginOutcome {
    host.try_login(login, identity).expect("reach sshd")
}

#[test]
fn grant_lets_the_key_in_and_revoke_shuts_it_out() {
    let Some(sshd) = Sshd::start() else { return };
    let login = sshd.new_login("opd");
    let key = keygen(&sshd.dir.path().join("applicant"), "budi@laptop");
    let id = sshd.dir.path().join("applicant");
    let mut host = SshHost::new(target(&sshd));
    let last = today() + 30.days();

    // Before the grant the applicant cannot log in.
    assert!(matches!(
        login_as(&mut host, &login, &id),
        LoginOutcome::Refused(_)
    ));

    let granted = account(&login, &[(TICKET_A, &key, last, "active")]);
    let ops = converge(&mut host, &granted, today());
    assert!(matches!(ops[0], Op::CreateAccount { .. }), "{ops:?}");
    assert_eq!(login_as(&mut host, &login, &id), LoginOutcome::Accepted);

    // The key line names the ticket, and the account expires the day after the grant.
    let live = host.read(&[&login]).unwrap();
    let a = &live.accounts[&login];
    assert_eq!(a.keys.len(), 1);
    assert_eq!(a.keys[0].ticket.as_deref(), Some(TICKET_A));
    assert_eq!(a.keys[0].last_day, Some(last));
    assert_eq!(a.expires_on, Some(last + 1.day()));
    let ak = std::fs::metadata(format!("/home/{login}/.ssh/authorized_keys")).unwrap();
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    assert_eq!(ak.permissions().mode() & 0o777, 0o600);
    let uid = users_uid(&login);
    assert_eq!(ak.uid(), uid, "authorized_keys is owned by the account");

    // A second run has nothing to do.
    assert_eq!(converge(&mut host, &granted, today()), vec![]);

    // Revoke: the key goes and the account (no key left) is expired.
    let revoked = account(&login, &[(TICKET_A, &key, last, "revoked")]);
    let ops = converge(&mut host, &revoked, today());
    assert!(matches!(ops.as_slice(), [Op::RemoveKey { .. }]), "{ops:?}");
    assert!(matches!(
        login_as(&mut host, &login, &id),
        LoginOutcome::Refused(_)
    ));
    let live = host.read(&[&login]).unwrap();
    assert!(live.accounts[&login].keys.is_empty());
    assert!(live.accounts[&login].is_expired(today()));
    assert_eq!(converge(&mut host, &revoked, today()), vec![]);
}

#[test]
fn expiry_shuts_the_key_out() {
    let Some(sshd) = Sshd::start() else { return };
    let login = sshd.new_login("exp");
    let key = keygen(&sshd.dir.path().join("applicant"), "sari@laptop");
    let id = sshd.dir.path().join("applicant");
    let mut host = SshHost::new(target(&sshd));
    let last = today() + 3.days();
    let want = account(&login, &[(TICKET_A, &key, last, "active")]);
    converge(&mut host, &want, today());
    assert_eq!(login_as(&mut host, &login, &id), LoginOutcome::Accepted);

    // The sweep the day after the last day removes the key and expires the account.
    let after = last + 1.day();
    let ops = converge(&mut host, &want, after);
    assert!(matches!(ops.as_slice(), [Op::RemoveKey { .. }]), "{ops:?}");
    let LoginOutcome::Refused(why) = login_as(&mut host, &login, &id) else {
        panic!("login after expiry must be refused");
    };
    assert!(why.contains("Permission denied"), "{why}");
}

#[test]
fn key_past_its_last_day_is_refused_by_sshd_itself() {
    // Before any sweep runs: the key line's expiry-time alone refuses it, even with
    // the account itself open (here kept open on purpose).
    let Some(sshd) = Sshd::start() else { return };
    let login = sshd.new_login("kt");
    let key = keygen(&sshd.dir.path().join("applicant"), "x@y");
    let key = loket::apply::ssh::checked_key(&key).unwrap();
    let id = sshd.dir.path().join("applicant");
    let mut host = SshHost::new(target(&sshd));
    let live = host.read(&[&login]).unwrap();
    let ops = vec![
        Op::CreateAccount {
            login: login.clone(),
            ticket: TICKET_A.into(),
        },
        Op::PutKey {
            login: login.clone(),
            key,
            ticket: TICKET_A.into(),
            last_day: today() - 2.days(),
        },
        Op::SetExpiry {
            login: login.clone(),
            on: today() + 10.days(),
        },
    ];
    let r = host.apply(&ops, &live).unwrap();
    assert!(r.iter().all(Result::is_ok), "{r:?}");
    assert!(matches!(
        login_as(&mut host, &login, &id),
        LoginOutcome::Refused(_)
    ));
    assert!(
        sshd.log()
            .iter()
            .any(|l| l.contains("Refused by key options")),
        "sshd refused the key for its expiry-time: {:?}",
        sshd.log()
    );
}

#[test]
fn foreign_keys_are_kept_and_reported_and_one_session_serves_the_run() {
    let Some(sshd) = Sshd::start() else { return };
    let a = sshd.new_login("a");
    let b = sshd.new_login("b");
    let ka = keygen(&sshd.dir.path().join("ka"), "a@x");
    let kb = keygen(&sshd.dir.path().join("kb"), "b@x");
    let kf = keygen(&sshd.dir.path().join("kf"), "foreign@x");
    let last = today() + 60.days();
    let mut host = SshHost::new(target(&sshd));
    let wa = account(&a, &[(TICKET_A, &ka, last, "active")]);
    let wb = account(&b, &[("KDS-B6RRR-HGETM", &kb, last, "active")]);

    // Both accounts in one batched script.
    let live = host.read(&[&a, &b]).unwrap();
    let mut ops = diff(&wa, live.accounts.get(&a), today());
    ops.extend(diff(&wb, live.accounts.get(&b), today()));
    let r = host.apply(&ops, &live).unwrap();
    assert!(r.iter().all(Result::is_ok), "{r:?}");

    // Someone adds a key by hand; loket keeps it but reports it as not its own.
    let path = format!("/home/{a}/.ssh/authorized_keys");
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str(&format!("{kf}\n"));
    std::fs::write(&path, text).unwrap();
    let live = host.read(&[]).unwrap(); // found by their `loket` GECOS mark alone
    assert!(live.accounts.contains_key(&b));
    let keys = &live.accounts[&a].keys;
    assert_eq!(keys.len(), 2);
    assert!(keys.iter().any(|k| k.ticket.is_none()), "{keys:?}");
    assert_eq!(diff(&wa, live.accounts.get(&a), today()), vec![]);

    // Revoking loket's key leaves the foreign one in place.
    let ra = account(&a, &[(TICKET_A, &ka, last, "revoked")]);
    let ops = diff(&ra, live.accounts.get(&a), today());
    let r = host.apply(&ops, &live).unwrap();
    assert!(r.iter().all(Result::is_ok), "{r:?}");
    let after = std::fs::read_to_string(&path).unwrap();
    assert!(after.contains(kf.split_whitespace().nth(1).unwrap()));
    assert!(!after.contains(ka.split_whitespace().nth(1).unwrap()));

    // All of the above went over a single admin login.
    let admin_logins = sshd
        .log()
        .iter()
        .filter(|l| l.contains("Accepted publickey for root"))
        .count();
    assert_eq!(admin_logins, 1, "{:?}", sshd.log());
}

#[test]
fn a_failing_op_is_reported_alone() {
    let Some(sshd) = Sshd::start() else { return };
    let ok = sshd.new_login("ok");
    let missing = sshd.new_login("miss");
    let k = loket::apply::ssh::checked_key(&keygen(&sshd.dir.path().join("k"), "k")).unwrap();
    let mut host = SshHost::new(target(&sshd));
    let live = host.read(&[]).unwrap();
    let ops = vec![
        Op::PutKey {
            login: missing.clone(),
            key: k.clone(),
            ticket: TICKET_A.into(),
            last_day: today() + 1.day(),
        },
        Op::CreateAccount {
            login: ok.clone(),
            ticket: TICKET_A.into(),
        },
    ];
    let r = host.apply(&ops, &live).unwrap();
    let err = r[0].as_ref().unwrap_err();
    assert!(err.contains(&format!("no account {missing}")), "{err}");
    assert_eq!(r[1], Ok(()));
    // The fresh account without keys is created expired: no access until a grant.
    let live = host.read(&[&ok]).unwrap();
    assert!(live.accounts[&ok].is_expired(today()));
    assert_eq!(
        live.accounts[&ok].expires_on,
        Some(account_expiry(std::iter::empty()))
    );
    let _ = script::read_script(&[]);
}

#[test]
fn a_host_key_mismatch_stops_the_run_with_a_clear_error() {
    let Some(sshd) = Sshd::start() else { return };
    let login = sshd.new_login("mitm");
    let other = keygen(&sshd.dir.path().join("impostor"), "x");
    let mut t = target(&sshd);
    t.host_key = other;
    let mut host = SshHost::new(t);
    let err = host.read(&[&login]).unwrap_err();
    assert!(matches!(err, SshError::HostKeyMismatch { .. }), "{err:?}");
    let msg = err.to_string();
    assert!(msg.contains("app-1") && msg.contains("host-key"), "{msg}");
    assert!(msg.contains("does not match"), "{msg}");
    // Nothing reached the server: no admin login happened.
    assert!(
        !sshd.log().iter().any(|l| l.contains("Accepted publickey")),
        "{:?}",
        sshd.log()
    );
    let key = keygen(&sshd.dir.path().join("k"), "k");
    let want = account(&login, &[(TICKET_A, &key, today() + 1.day(), "active")]);
    let ops = diff(&want, None, today());
    assert!(host.apply(&ops, &Default::default()).is_err());
    assert!(
        std::process::Command::new("getent")
            .args(["passwd", &login])
            .output()
            .unwrap()
            .stdout
            .is_empty(),
        "no account was created"
    );
}

#[test]
fn an_unpinned_or_garbled_host_key_is_refused() {
    let Some(sshd) = Sshd::start() else { return };
    let mut t = target(&sshd);
    t.host_key = "ssh-ed25519 AAAAnotakey".into();
    let err = SshHost::new(t).read(&[]).unwrap_err();
    assert!(matches!(err, SshError::BadHostKey { .. }), "{err:?}");
}

fn users_uid(login: &str) -> u32 {
    let out = std::process::Command::new("id")
        .args(["-u", login])
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}
