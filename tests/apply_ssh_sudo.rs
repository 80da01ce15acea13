//! The SSH backends with a non-root `admin-user`: every script runs through
//! `sudo -n /bin/sh -s`, allowed by exactly the sudoers line docs/apply.md gives
//! (tests/common/sudo.rs), against the real sshd of tests/common/sshd.rs. Without
//! that rule, or with one that wants a password, apply stops at once with an error
//! naming sudo, and nothing changes on the host.

#[path = "common/apply.rs"]
mod apply;
mod common;
#[path = "common/mail.rs"]
mod mail;
#[path = "common/sudo.rs"]
mod sudo;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use loket::apply::ssh::{LoginOutcome, SshHost, SshTarget};
use loket::apply::{Secret, mailcheck};

use apply::{LESTARI, LESTARI_CREATE, code, sealed_password, set_account, text};
use common::sshd::{Sshd, keygen};
use sudo::{ADMIN, SudoAdmin, documented_rule};

/// Arif's grant on app-1 (account opd-dinkes) and the later request revoking it.
const GRANT: &str = "KDS-PH7H3-MSBP2";
const REVOKE: &str = "KDS-RYBEP-PGPPQ";
const ARIF_KEY: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINlRHbndlDyb8Z1Kb0Y/Jy5GjuyXBzlBpJpgYqcaZl+a";
/// The bundled instance's server accounts (created by these tests, deleted after).
const LOGINS: [&str; 3] = ["opd-disdukcapil", "opd-bpkad", "opd-dinkes"];

/// A `[[servers]]` entry for this sshd, logged into as [`ADMIN`].
fn server_entry(sshd: &Sshd, name: &str, max_days: u32) -> String {
    format!(
        "[[servers]]\nname = \"{name}\"\naddress = \"127.0.0.1\"\nport = {}\n\
         host-key = \"{}\"\nadmin-user = \"{ADMIN}\"\naccount-kinds = [\"opd\"]\n\
         max-days = {max_days}\n\n",
        sshd.port, sshd.host_key
    )
}

/// The bundled instance with the ssh server backend, both servers on this sshd, and
/// Arif's key replaced by `applicant_pub` (whose private half the test holds).
fn ssh_instance(dir: &Path, sshd: &Sshd, applicant_pub: &str) -> PathBuf {
    let backends = format!(
        "[backends]\nstate-dir = \"{s}\"\n\n[backends.server]\ntype = \"ssh\"\n\
         identity-file = \"{id}\"\n",
        s = dir.join("state").display(),
        id = sshd.admin_identity.display(),
    );
    let inst = apply::instance(dir, &backends);
    let config = fs::read_to_string(inst.join("loket.toml")).unwrap();
    let (servers, sops) = (
        config.find("[[servers]]").unwrap(),
        config.find("[sops.").unwrap(),
    );
    let servers = format!(
        "{}{}{}{}",
        &config[..servers],
        server_entry(sshd, "app-1", 365),
        server_entry(sshd, "db-1", 90),
        &config[sops..]
    );
    fs::write(inst.join("loket.toml"), servers).unwrap();
    let new_key = applicant_pub
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ");
    for f in [
        format!("requests/{GRANT}.toml"),
        "accounts/server/app-1/opd-dinkes.toml".into(),
    ] {
        let t = fs::read_to_string(inst.join(&f)).unwrap();
        assert!(t.contains(ARIF_KEY), "{f} holds Arif's key");
        fs::write(inst.join(&f), t.replace(ARIF_KEY, &new_key)).unwrap();
    }
    inst
}

/// Takes the revoke request out (as before it was filed): Arif's key is active.
fn before_the_revoke(inst: &Path, aside: &Path) -> String {
    fs::create_dir_all(aside).unwrap();
    for sub in ["requests", "records"] {
        let f = format!("{sub}/{REVOKE}.toml");
        fs::rename(inst.join(&f), aside.join(format!("{sub}.toml"))).unwrap();
    }
    let p = inst.join("accounts/server/app-1/opd-dinkes.toml");
    let revoked = fs::read_to_string(&p).unwrap();
    let active = revoked
        .replacen(
            &format!("status = \"revoked\"\nrevoked-by = \"{REVOKE}\"\n"),
            "status = \"active\"\n",
            1,
        )
        .replace(&format!("\"{REVOKE}\", "), "");
    assert_ne!(active, revoked);
    fs::write(&p, active).unwrap();
    revoked
}

fn after_the_revoke(inst: &Path, aside: &Path, revoked: &str) {
    for sub in ["requests", "records"] {
        let f = format!("{sub}/{REVOKE}.toml");
        fs::rename(aside.join(format!("{sub}.toml")), inst.join(&f)).unwrap();
    }
    fs::write(inst.join("accounts/server/app-1/opd-dinkes.toml"), revoked).unwrap();
}

/// `loket -C inst args`, failing the test instead of hanging should anything wait
/// for input (sudo asking for a password): stdin is closed and a deadline set.
fn loket_within(inst: &Path, args: &[&str], limit: Duration) -> Output {
    let child = common::loket()
        .arg("-C")
        .arg(inst)
        .args(args)
        .env_remove("GITHUB_RUN_ID")
        .env_remove("LOKET_SSH_IDENTITY")
        .env_remove("LOKET_SSH_KEY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let pid = child.id();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || tx.send(child.wait_with_output().unwrap()));
    rx.recv_timeout(limit).unwrap_or_else(|_| {
        // The process this test started, by its id.
        let _ = Command::new("kill").arg(pid.to_string()).status();
        panic!("loket {args:?} still ran after {limit:?}: waiting for sudo?");
    })
}

fn run(inst: &Path, args: &[&str]) -> Output {
    loket_within(inst, args, Duration::from_secs(120))
}

/// A real `ssh -i identity login@127.0.0.1` with the pinned host key.
fn login(sshd: &Sshd, user: &str, identity: &Path) -> LoginOutcome {
    let mut host = SshHost::new(SshTarget {
        server: "app-1".into(),
        address: "127.0.0.1".into(),
        port: sshd.port,
        host_key: sshd.host_key.clone(),
        admin_user: ADMIN.into(),
        identity: sshd.admin_identity.clone(),
    });
    host.try_login(user, identity).expect("reach sshd")
}

/// sshd's log lines accepting a public key for `user`.
fn accepted(sshd: &Sshd, user: &str) -> usize {
    let mark = format!("Accepted publickey for {user} ");
    sshd.log().iter().filter(|l| l.contains(&mark)).count()
}

fn exists(login: &str) -> bool {
    !Command::new("getent")
        .args(["passwd", login])
        .output()
        .unwrap()
        .stdout
        .is_empty()
}

#[test]
fn loket_apply_grants_and_revokes_through_sudo() {
    let Some(sshd) = Sshd::start() else { return };
    let Some(admin) = SudoAdmin::new(&sshd) else {
        return;
    };
    admin.allow(&documented_rule());
    for l in LOGINS {
        sshd.track(l);
    }
    let dir = sshd.dir.path();
    let id = dir.join("applicant");
    let inst = ssh_instance(dir, &sshd, &keygen(&id, "arif@laptop"));
    let revoked = before_the_revoke(&inst, &dir.join("aside"));
    assert!(matches!(
        login(&sshd, "opd-dinkes", &id),
        LoginOutcome::Refused(_)
    ));

    let plan = run(&inst, &["plan"]);
    assert_eq!(code(&plan), 2, "{}", text(&plan));
    let out = text(&plan);
    assert!(out.contains("opd-dinkes@app-1"), "{out}");

    // Grant: root's work (useradd, authorized_keys, chage) done by the admin via sudo.
    let apply = run(&inst, &["apply"]);
    let out = text(&apply);
    assert_eq!(code(&apply), 0, "{out}\nsudo -l: {}", admin.listing());
    assert!(out.contains(&format!("[{GRANT}]")), "{out}");
    assert_eq!(login(&sshd, "opd-dinkes", &id), LoginOutcome::Accepted);
    let ak = fs::read_to_string("/home/opd-dinkes/.ssh/authorized_keys").unwrap();
    assert!(ak.contains(&format!("loket:{GRANT}")), "{ak}");
    for l in LOGINS {
        assert!(exists(l), "{l} created");
    }
    assert!(accepted(&sshd, ADMIN) >= 1, "{:?}", sshd.log());
    // The harness would let root in with the same key: loket must not have tried.
    assert_eq!(accepted(&sshd, "root"), 0, "{:?}", sshd.log());
    let plan = run(&inst, &["plan"]);
    assert_eq!(code(&plan), 0, "nothing left to do: {}", text(&plan));

    // Revoke: the key goes, the account (no key left) expires, ssh is refused.
    after_the_revoke(&inst, &dir.join("aside"), &revoked);
    let apply = run(&inst, &["apply"]);
    let out = text(&apply);
    assert_eq!(code(&apply), 0, "{out}");
    assert!(out.contains(&format!("[{REVOKE}]")), "{out}");
    let LoginOutcome::Refused(why) = login(&sshd, "opd-dinkes", &id) else {
        panic!("the revoked key still logs in");
    };
    assert!(
        why.contains("Permission denied") || why.contains("expired"),
        "{why}"
    );
    let ak = fs::read_to_string("/home/opd-dinkes/.ssh/authorized_keys").unwrap();
    assert!(!ak.contains(GRANT), "{ak}");
    let plan = run(&inst, &["plan"]);
    assert_eq!(code(&plan), 0, "{}", text(&plan));
    assert_eq!(accepted(&sshd, "root"), 0, "{:?}", sshd.log());
}

#[test]
fn without_a_passwordless_sudo_rule_apply_fails_at_once_and_changes_nothing() {
    let Some(sshd) = Sshd::start() else { return };
    let Some(admin) = SudoAdmin::new(&sshd) else {
        return;
    };
    for l in LOGINS {
        sshd.track(l);
    }
    let dir = sshd.dir.path();
    let inst = ssh_instance(dir, &sshd, &keygen(&dir.join("applicant"), "arif@laptop"));
    // No rule at all; the documented rule without NOPASSWD (sudo wants a password);
    // the documented rule where `requiretty` is set (older RHEL/CentOS defaults).
    let rule = documented_rule();
    let cases = [
        (None, "sudo: a password is required"),
        (
            Some(rule.replace("NOPASSWD: ", "")),
            "sudo: a password is required",
        ),
        (
            Some(format!("Defaults:{ADMIN} requiretty\n{rule}")),
            "sudo: sorry, you must have a tty to run sudo",
        ),
    ];
    for (rule, said) in cases {
        if let Some(r) = &rule {
            admin.allow(r);
        }
        let apply = loket_within(&inst, &["apply"], Duration::from_secs(60));
        let out = text(&apply);
        assert_eq!(code(&apply), 1, "{rule:?}: {out}");
        assert!(
            out.contains("FAILED backend ssh: server app-1: the admin login loket-sudo-test")
                && out.contains("may not run `sudo -n /bin/sh -s`")
                && out.contains(&format!("(sudo said: {said})"))
                && out.contains("nothing was changed"),
            "{rule:?}: {out}"
        );
        // The fix, in the words the operator needs.
        assert!(
            out.contains("loket-sudo-test ALL=(root) NOPASSWD: /bin/sh -s"),
            "{out}"
        );
        for l in LOGINS {
            assert!(!exists(l), "{rule:?}: {l} was created");
        }
        assert!(accepted(&sshd, ADMIN) >= 1, "the login itself worked");
        let plan = run(&inst, &["plan"]);
        assert_eq!(code(&plan), 1, "{}", text(&plan));
        assert!(text(&plan).contains("sudo"), "{}", text(&plan));
    }
}

/// The Dovecot/Postfix files on a mail host whose `[[servers]]` entry logs in as
/// the sudo admin: written as root (0640 root:dovecot), and the user can log in.
#[test]
fn mail_files_on_a_mail_host_through_sudo() {
    let Some(sshd) = Sshd::start() else { return };
    let Some(admin) = SudoAdmin::new(&sshd) else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let Some(server) = mail::MailServer::start(&tmp.path().join("srv")) else {
        return;
    };
    let id = age::x25519::Identity::generate();
    let state = tmp.path().join("state");
    let mail = format!(
        "{}host = \"mail-1\"\nidentity-file = \"{}\"\n",
        server.backend_toml(),
        sshd.admin_identity.display()
    );
    let backends = format!(
        "{}\n{}",
        apply::backends(&id.to_public().to_string(), &mail, &state),
        server_entry(&sshd, "mail-1", 30)
    );
    let inst = apply::instance(tmp.path(), &backends);
    set_account(&inst, LESTARI, "active", &[LESTARI_CREATE]);

    // Before the sudoers rule: refused by sudo, the files on the host untouched.
    let before = fs::read(&server.passwd).ok();
    let refused = run(&inst, &["apply"]);
    let out = text(&refused);
    assert_eq!(code(&refused), 1, "{out}");
    assert!(
        out.contains("server mail-1: the admin login loket-sudo-test may not run `sudo -n")
            && out.contains("sudo said: sudo: a password is required"),
        "{out}"
    );
    assert_eq!(fs::read(&server.passwd).ok(), before);

    admin.allow(&documented_rule());
    let apply = run(&inst, &["apply"]);
    assert_eq!(code(&apply), 0, "{}\n{}", text(&apply), server.logs());
    let pw = sealed_password(&state, LESTARI_CREATE, &id);
    mailcheck::imap_login(&server.imap(), LESTARI, &pw).unwrap();
    assert!(mailcheck::imap_login(&server.imap(), LESTARI, &Secret::new("wrong".into())).is_err());
    use std::os::unix::fs::{MetadataExt, PermissionsExt};
    let meta = fs::metadata(&server.passwd).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o640);
    assert_eq!(meta.uid(), 0, "written by root, not by {ADMIN}");
    assert!(accepted(&sshd, ADMIN) >= 1, "{:?}", sshd.log());
    assert_eq!(accepted(&sshd, "root"), 0, "{:?}", sshd.log());
}
