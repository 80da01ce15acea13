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
    sshd.target("app-1")
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

/// The backend behind the apply core's trait: plan (the core's diff), apply, verify
/// as the applicant would, then a second plan is empty; revoke likewise.
#[test]
fn through_the_backend_trait_plan_apply_verify() {
    use loket::apply::plan::{Desired, diff_server};
    use loket::apply::{Backend, Change, Verified};

    let Some(sshd) = Sshd::start() else { return };
    let login = sshd.new_login("trait");
    let id = sshd.dir.path().join("applicant");
    let key = keygen(&id, "budi@laptop");
    let last = today() + 90.days();
    let mut backend = loket::apply::ssh::SshBackend::new(
        vec![target(&sshd)],
        [("app-1".to_string(), vec![login.clone()])].into(),
        today(),
    )
    .with_login_key(TICKET_A, id.clone());

    let mut run = |acc: &ServerAccount| {
        let desired = Desired {
            mail: vec![],
            server: vec![acc],
            kinds: Default::default(),
        };
        let live = backend.read().expect("read");
        let plan = diff_server("ssh", &desired, &live, today());
        let changes: Vec<Change<'_>> = plan
            .iter()
            .map(|planned| Change {
                planned,
                password: None,
                hash: None,
            })
            .collect();
        let results = backend.apply(&changes);
        assert!(results.iter().all(Result::is_ok), "{results:?}");
        let verified: Vec<Verified> = changes
            .iter()
            .map(|c| backend.verify(c).expect("verify"))
            .collect();
        (plan, verified)
    };

    let granted = account(&login, &[(TICKET_A, &key, last, "active")]);
    let (plan, verified) = run(&granted);
    assert_eq!(plan.len(), 2, "create + grant: {plan:?}");
    assert!(
        matches!(&verified[1], Verified::AsUser(m) if m.contains("succeeded")),
        "{verified:?}"
    );
    assert!(run(&granted).0.is_empty(), "second run is a no-op");

    let revoked = account(&login, &[(TICKET_A, &key, last, "revoked")]);
    let (plan, verified) = run(&revoked);
    assert_eq!(plan.len(), 1, "{plan:?}");
    assert!(
        matches!(&verified[0], Verified::AsUser(m) if m.contains("refused")),
        "{verified:?}"
    );
    assert!(run(&revoked).0.is_empty());
}

/// `loket plan/apply/plan/audit` with `[backends.server] type = "ssh"`: the bundled
/// Kudus instance's server accounts land on a real sshd (both of its servers point
/// at it), and a second plan is empty.
#[test]
fn loket_cli_applies_the_bundled_server_accounts_over_ssh() {
    let Some(sshd) = Sshd::start() else { return };
    // The bundled accounts' logins (app-1: opd-disdukcapil; db-1: opd-bpkad;
    // opd-dinkes has only revoked keys so is never created).
    for l in ["opd-disdukcapil", "opd-bpkad", "opd-dinkes"] {
        sshd.track(l);
    }
    let dir = sshd.dir.path();
    let inst = dir.join("inst");
    let root = common::repo_root();
    for sub in [
        "requests",
        "accounts/mail",
        "accounts/server/app-1",
        "accounts/server/db-1",
        "records",
    ] {
        std::fs::create_dir_all(inst.join(sub)).unwrap();
        for e in std::fs::read_dir(root.join(sub)).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_file() {
                std::fs::copy(e.path(), inst.join(sub).join(e.file_name())).unwrap();
            }
        }
    }
    let config = std::fs::read_to_string(root.join("loket.toml")).unwrap();
    let start = config.find("[backends]").unwrap();
    let servers = config.find("[[servers]]").unwrap();
    let sops = config.find("[sops.").unwrap();
    let server = |name: &str, days: u32| {
        format!(
            "[[servers]]\nname = \"{name}\"\naddress = \"127.0.0.1\"\nport = {}\n\
             host-key = \"{}\"\naccount-kinds = [\"opd\"]\nmax-days = {days}\n\n",
            sshd.port, sshd.host_key
        )
    };
    let backends = format!(
        "[backends]\nstate-dir = \"{s}\"\n\n[backends.server]\ntype = \"ssh\"\n\
         identity-file = \"{id}\"\n\n",
        s = dir.join("state").display(),
        id = sshd.admin_identity.display(),
    );
    assert!(servers < sops && start < servers);
    std::fs::write(
        inst.join("loket.toml"),
        format!(
            "{}{backends}{}{}{}",
            &config[..start],
            server("app-1", 365),
            server("db-1", 90),
            &config[sops..]
        ),
    )
    .unwrap();
    let loket_env = |args: &[&str], key: Option<&str>| {
        let mut cmd = common::loket();
        cmd.arg("-C")
            .arg(&inst)
            .args(args)
            .env_remove("GITHUB_RUN_ID")
            .env_remove("LOKET_SSH_IDENTITY")
            .env_remove("LOKET_SSH_KEY");
        if let Some(k) = key {
            cmd.env("LOKET_SSH_KEY", k);
        }
        let o = cmd.output().unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
        (o.status.code().unwrap_or(-1), text)
    };
    let loket = |args: &[&str]| loket_env(args, None);

    let (code, out) = loket(&["plan"]);
    assert_eq!(code, 2, "changes pending: {out}");
    assert!(out.contains("ssh:") && out.contains("grant"), "{out}");
    assert!(
        out.contains("opd-disdukcapil@app-1") && out.contains("opd-bpkad@db-1"),
        "{out}"
    );

    let (code, out) = loket(&["apply"]);
    assert_eq!(code, 0, "{out}");
    let ak = std::fs::read_to_string("/home/opd-disdukcapil/.ssh/authorized_keys").unwrap();
    assert_eq!(ak.lines().count(), 2, "{ak}");
    assert!(ak.contains("KDS-JATNV-9GN8H"), "{ak}");
    assert!(
        std::fs::read_to_string("/home/opd-bpkad/.ssh/authorized_keys").is_ok(),
        "db-1's account is there too"
    );

    let (code, out) = loket(&["plan"]);
    assert_eq!(code, 0, "nothing left to do: {out}");

    // CI gives the admin key itself in LOKET_SSH_KEY (no file in the config).
    let toml_path = inst.join("loket.toml");
    let t = std::fs::read_to_string(&toml_path).unwrap();
    let id = sshd.admin_identity.display().to_string();
    std::fs::write(&toml_path, t.replace(&id, "/nonexistent/key")).unwrap();
    let key = std::fs::read_to_string(&sshd.admin_identity).unwrap();
    let (code, out) = loket_env(&["plan"], Some(key.trim_end()));
    assert_eq!(code, 0, "{out}");
    assert!(!out.contains("PRIVATE KEY"), "{out}");

    // Both servers are this one machine, so each sees the other's loket account:
    // exactly the drift audit must report (and nothing else).
    let (code, out) = loket_env(&["audit"], Some(key.trim_end()));
    assert_ne!(code, 0, "{out}");
    let unknown: Vec<&str> = out
        .lines()
        .map(str::trim)
        .filter(|l| l.starts_with("opd-"))
        .collect();
    assert_eq!(
        unknown,
        ["opd-bpkad@app-1", "opd-disdukcapil@db-1"],
        "{out}"
    );
}

/// Measurement, not a check (ignored by default): 200 accounts with one key each
/// applied in one batched script, then a read and a no-op diff. Run with
/// `cargo test --test apply_ssh -- --ignored --nocapture measure_`.
#[test]
#[ignore = "benchmark (BENCHMARKS.md): run with --ignored --nocapture"]
fn measure_batched_apply_of_200_accounts() {
    let Some(sshd) = Sshd::start() else { return };
    let key = keygen(&sshd.dir.path().join("k"), "k");
    let last = today() + 30.days();
    let wants: Vec<ServerAccount> = (0..200)
        .map(|i| {
            account(
                &sshd.new_login(&format!("m{i}")),
                &[(TICKET_A, &key, last, "active")],
            )
        })
        .collect();
    let logins: Vec<&str> = wants.iter().map(|w| w.login.get_ref().as_str()).collect();
    let mut host = SshHost::new(target(&sshd));
    let t = std::time::Instant::now();
    let live = host.read(&logins).unwrap();
    let read_empty = t.elapsed();
    let ops: Vec<Op> = wants
        .iter()
        .flat_map(|w| diff(w, live.accounts.get(w.login.get_ref()), today()))
        .collect();
    let t = std::time::Instant::now();
    let r = host.apply(&ops, &live).unwrap();
    let apply = t.elapsed();
    assert!(r.iter().all(Result::is_ok));
    let t = std::time::Instant::now();
    let live = host.read(&logins).unwrap();
    let read_full = t.elapsed();
    let t = std::time::Instant::now();
    let again: usize = wants
        .iter()
        .map(|w| diff(w, live.accounts.get(w.login.get_ref()), today()).len())
        .sum();
    let diff_time = t.elapsed();
    assert_eq!(again, 0);
    eprintln!(
        "ssh: {} ops applied in {apply:?} (one script, one session); read of 200 accounts \
         {read_full:?} (empty: {read_empty:?}); no-op diff {diff_time:?}",
        ops.len()
    );
}

#[test]
fn a_server_without_a_pinned_key_is_skipped_until_it_has_accounts() {
    use loket::apply::Backend;
    let Some(sshd) = Sshd::start() else { return };
    let mut unpinned = target(&sshd);
    unpinned.server = "db-9".into();
    unpinned.host_key = String::new();
    let targets = vec![target(&sshd), unpinned];
    let mut idle = loket::apply::ssh::SshBackend::new(targets.clone(), Default::default(), today());
    idle.read().expect("db-9 has no accounts: not contacted");

    let logins = [("db-9".to_string(), vec!["opd-x".to_string()])].into();
    let mut used = loket::apply::ssh::SshBackend::new(targets, logins, today());
    let err = used.read().unwrap_err().to_string();
    assert!(
        err.contains("db-9") && err.contains("no host-key pinned"),
        "{err}"
    );
    assert!(err.contains("ssh-keyscan"), "says how to fix: {err}");
}

#[test]
fn a_lost_connection_is_reopened() {
    let Some(sshd) = Sshd::start() else { return };
    let mut host = SshHost::new(target(&sshd));
    host.read(&[]).unwrap();
    let pid = host.master_pid().expect("a control master runs");
    // The master dies (network drop, idle timeout after a killed run): kill the
    // process this test started, by its id.
    let st = std::process::Command::new("kill")
        .arg(pid.to_string())
        .status()
        .unwrap();
    assert!(st.success());
    host.read(&[]).expect("the next call reconnects");
    let admin_logins = sshd
        .log()
        .iter()
        .filter(|l| l.contains("Accepted publickey for root"))
        .count();
    assert_eq!(admin_logins, 2, "{:?}", sshd.log());
}

/// The connection dies at a random point of a batched apply (the control master is
/// killed under it); the next runs converge: every account exactly once, each with
/// exactly its one key line and the right expiry, no temp files left.
#[test]
fn a_connection_killed_mid_apply_converges() {
    use rand::RngExt;
    let Some(sshd) = Sshd::start() else { return };
    let key = keygen(&sshd.dir.path().join("k"), "k");
    let last = today() + 20.days();
    let wants: Vec<ServerAccount> = (0..30)
        .map(|i| {
            account(
                &sshd.new_login(&format!("c{i}")),
                &[(TICKET_A, &key, last, "active")],
            )
        })
        .collect();
    let logins: Vec<&str> = wants.iter().map(|w| w.login.get_ref().as_str()).collect();
    let plan = |host: &mut SshHost| {
        let live = host.read(&logins).unwrap();
        let ops: Vec<Op> = wants
            .iter()
            .flat_map(|w| diff(w, live.accounts.get(w.login.get_ref()), today()))
            .collect();
        (live, ops)
    };
    let mut kills = 0;
    for _ in 0..6 {
        let mut host = SshHost::new(target(&sshd));
        let (live, ops) = plan(&mut host);
        if ops.is_empty() {
            break;
        }
        let pid = host.master_pid().unwrap();
        let delay = rand::rng().random_range(100..2500);
        let killer = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(delay));
            std::process::Command::new("kill")
                .arg(pid.to_string())
                .status()
                .is_ok_and(|s| s.success())
        });
        let _ = host.apply(&ops, &live); // may fail part-way: that is the point
        kills += usize::from(killer.join().unwrap());
    }
    // A last, undisturbed run finishes whatever is left.
    let mut host = SshHost::new(target(&sshd));
    let (live, ops) = plan(&mut host);
    let r = host.apply(&ops, &live).unwrap();
    assert!(r.iter().all(Result::is_ok), "{r:?}");
    let (live, ops) = plan(&mut host);
    assert!(ops.is_empty(), "converged: {ops:?}");
    assert!(kills > 0, "at least one connection was killed");
    for login in &logins {
        let a = &live.accounts[*login];
        assert_eq!(a.keys.len(), 1, "{login}: {a:?}");
        assert_eq!(a.expires_on, Some(last + 1.day()), "{login}");
        let ssh_dir = format!("/home/{login}/.ssh");
        let junk: Vec<_> = std::fs::read_dir(&ssh_dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .filter(|n| n != "authorized_keys")
            .collect();
        assert!(junk.is_empty(), "{login}: {junk:?}");
    }
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    for login in &logins {
        let n = passwd
            .lines()
            .filter(|l| l.starts_with(&format!("{login}:")))
            .count();
        assert_eq!(n, 1, "{login} exists exactly once");
    }
}
