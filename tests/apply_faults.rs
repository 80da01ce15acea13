//! Faults against the real daemons (tests/common/{mail,sshd,slapd}.rs): Dovecot, sshd
//! and slapd each stopped in the middle of a `loket apply`, and runs SIGKILLed during
//! the Postfix `postmap` and `doveadm reload` steps.
//!
//! Every fault happens at a chosen step, never at a chosen time: the mail backend's
//! `doveadm reload` (or `postmap`) command is a wrapper script that runs the real
//! command and then stops the daemon, or kills loket, right there. The mail backend
//! is applied before the server backend, so a daemon stopped from the `doveadm`
//! wrapper is stopped after the mail batch is committed and reloaded, before its
//! verification (Dovecot), or between the apply of one backend and the next (sshd,
//! slapd). Waits in the scripts and harnesses are bounded guards, not timings.

#[path = "common/apply.rs"]
mod apply;
mod common;
#[path = "common/mail.rs"]
mod mail;

use std::collections::BTreeSet;
use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use loket::apply::mailcheck;
use loket::model::record::Outcome;
use rand::RngExt;

use apply::*;
use common::slapd::{ADMIN_DN, ADMIN_PW, SUFFIX, Slapd};
use common::sshd::Sshd;
use mail::MailServer;

/// Runs the real command (`"$@"`), then, the first time in a run (`$STOP_DONE` not
/// there yet), stops the daemon `$STOP_PID` and every process it forked: SIGTERM,
/// then a bounded wait until each is gone or a zombie (a zombie holds no socket),
/// then `$STOP_DONE` is made. With `$RESUME` set it then waits (bounded) for that
/// file: the test restarts the daemon meanwhile.
const STOP_SCRIPT: &str = r#""$@"; rc=$?
if [ -n "$STOP_PID" ] && [ ! -e "$STOP_DONE" ]; then
  tree() { echo "$1"; for t in /proc/"$1"/task/*/children; do for c in $(cat "$t" 2>/dev/null); do tree "$c"; done; done; }
  pids=$(tree "$STOP_PID")
  kill -TERM $pids 2>/dev/null
  for p in $pids; do
    i=0
    while [ -e /proc/$p ] && [ "$(sed 's/.*) //' /proc/$p/stat 2>/dev/null | cut -c1)" != Z ] && [ $i -lt 1000 ]; do
      sleep 0.01; i=$((i+1))
    done
  done
  : > "$STOP_DONE"
  i=0
  while [ -n "$RESUME" ] && [ ! -e "$RESUME" ] && [ $i -lt 6000 ]; do sleep 0.01; i=$((i+1)); done
fi
exit $rc
"#;

/// `sh kill.sh <step> <command…>`: counts the runs of `<step>` in `$KILL_COUNTER`;
/// the `$KILL_AT`-th run of `$KILL_STEP` SIGKILLs loket (the parent) `$KILL_WHEN`
/// (`before` or `after`) running the real command.
const KILL_SCRIPT: &str = r#"step=$1; shift
if [ "$step" = "$KILL_STEP" ]; then
  c=$(cat "$KILL_COUNTER" 2>/dev/null || echo 0); c=$((c+1)); echo $c > "$KILL_COUNTER"
  if [ "$c" = "$KILL_AT" ] && [ "$KILL_WHEN" = before ]; then kill -9 $PPID; exit 1; fi
fi
"$@"; rc=$?
if [ "$step" = "$KILL_STEP" ] && [ "$c" = "$KILL_AT" ] && [ "$KILL_WHEN" = after ]; then
  kill -9 $PPID
fi
exit $rc
"#;

/// Runs `loket` with `env` (bounded, see [`finish`]).
fn loket_env(inst: &Path, args: &[&str], env: &[(&str, String)]) -> Output {
    finish(loket_spawn(inst, args, env), args)
}

fn loket_spawn(inst: &Path, args: &[&str], env: &[(&str, String)]) -> std::process::Child {
    let mut cmd = common::loket();
    cmd.arg("-C")
        .arg(inst)
        .args(args)
        .env_remove("GITHUB_RUN_ID")
        .env_remove("LOKET_SSH_IDENTITY")
        .env_remove("LOKET_SSH_KEY")
        .env_remove("STOP_PID")
        .env_remove("KILL_STEP")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.spawn().unwrap()
}

/// Waits for a `loket` run, failing the test if it does not end within three
/// minutes (a bound against hangs, not a timing assertion).
fn finish(mut child: std::process::Child, args: &[&str]) -> Output {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(180) {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!("loket {args:?} hung: {}", text(&out));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn listening(addr: &str) -> bool {
    std::net::TcpStream::connect(addr).is_ok()
}

/// The mail backend of `server` with its `doveadm reload` run through the stop script.
fn mail_with_stop_hook(server: &MailServer, script: &Path) -> String {
    let real = format!("doveadm = \"{}\"", server.doveadm.display());
    let toml = server.backend_toml();
    assert!(toml.contains(&real), "{toml}");
    toml.replace(
        &real,
        &format!(
            "doveadm = \"sh {} {}\"",
            script.display(),
            server.doveadm.display()
        ),
    )
}

fn ldap_server_backend(slapd: &Slapd) -> String {
    format!(
        "[backends.server]\ntype = \"ldap\"\nurl = \"{}\"\nbind-dn = \"{ADMIN_DN}\"\n\
         base = \"ou=servers,{SUFFIX}\"\n",
        slapd.url
    )
}

fn ssh_server_backend(sshd: &Sshd) -> String {
    format!(
        "[backends.server]\ntype = \"ssh\"\nidentity-file = \"{}\"\n",
        sshd.admin_identity.display()
    )
}

/// The bundled instance with `mail` and `server` as its backends.
fn two_backends(dir: &Path, recipient: &str, mail: &str, server: &str) -> (PathBuf, PathBuf) {
    let state = dir.join("state");
    let b = format!(
        "[backends]\nstate-dir = \"{}\"\nadmin-recipient = \"{recipient}\"\n\n{mail}\n{server}\n",
        state.display()
    );
    (instance(dir, &b), state)
}

/// Points the bundled `[[servers]]` (app-1, db-1) at `sshd`.
fn servers_on(inst: &Path, sshd: &Sshd) {
    let p = inst.join("loket.toml");
    let mut t = fs::read_to_string(&p).unwrap();
    for addr in ["10.17.1.21", "10.17.1.31"] {
        let from = format!("address = \"{addr}\"\n");
        assert!(t.contains(&from), "{t}");
        t = t.replace(
            &from,
            &format!(
                "address = \"127.0.0.1\"\nport = {}\nhost-key = \"{}\"\n",
                sshd.port, sshd.host_key
            ),
        );
    }
    fs::write(p, t).unwrap();
}

/// One change of a `--format json` apply report.
struct Reported {
    backend: String,
    action: String,
    /// For mail: whether the account is to be active (a login verifies it).
    active: bool,
    tickets: Vec<String>,
    status: String,
    detail: String,
}

fn report(out: &Output) -> Vec<Reported> {
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", text(out)));
    v["changes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| Reported {
            backend: c["change"]["backend"].as_str().unwrap().to_string(),
            action: c["change"]["action"].as_str().unwrap().to_string(),
            active: c["change"]["target"]["active"].as_bool().unwrap_or(true),
            tickets: c["change"]["tickets"]
                .as_array()
                .unwrap()
                .iter()
                .map(|t| t.as_str().unwrap().to_string())
                .collect(),
            status: c["status"].as_str().unwrap().to_string(),
            detail: c["detail"].as_str().unwrap_or_default().to_string(),
        })
        .collect()
}

/// The run with `stopped` stopped mid-way: each of its changes that needs the daemon
/// (`needs`) failed with `says` in the report and in its tickets' records, the
/// others it may have verified from the backend's own files; every change of the
/// other backend verified and its tickets processed. Returns the tickets touched.
fn assert_only_stopped_failed(
    inst: &Path,
    out: &Output,
    stopped: &str,
    says: &[&str],
    needs: impl Fn(&Reported) -> bool,
) -> BTreeSet<String> {
    assert_eq!(code(out), 1, "{}", text(out));
    let changes = report(out);
    let outcomes = outcomes(inst);
    let (mut failed, mut fine) = (0, 0);
    let mut touched = BTreeSet::new();
    for c in &changes {
        touched.extend(c.tickets.iter().cloned());
        if c.backend == stopped && (needs(c) || c.status != "verified") {
            failed += 1;
            assert_eq!(
                c.status, "failed",
                "{stopped}: {} {:?}",
                c.detail, c.tickets
            );
            assert!(
                says.iter().any(|s| c.detail.contains(s)),
                "{stopped} failure does not say why (any of {says:?}): {}",
                c.detail
            );
            for t in &c.tickets {
                assert_eq!(outcomes[t], Outcome::Failed, "{t}");
                let r = fs::read_to_string(inst.join(format!("records/{t}.toml"))).unwrap();
                assert!(r.contains("kind = \"failed\""), "{t}: {r}");
                assert!(says.iter().any(|s| r.contains(s)), "{t}: {r}");
            }
        } else {
            fine += usize::from(c.backend != stopped);
            assert_eq!(
                c.status, "verified",
                "{}: {} {:?}",
                c.backend, c.detail, c.tickets
            );
            for t in &c.tickets {
                assert!(finished(outcomes[t]), "{t}: {:?}", outcomes[t]);
            }
        }
    }
    assert!(
        failed > 0 && fine > 0,
        "{failed} failed, {fine} fine: {}",
        text(out)
    );
    eprintln!(
        "{failed} {stopped} change(s) failed, {fine} of the other backend verified:\n{}",
        text(out)
    );
    touched
}

/// After the daemon is back: the next run finishes the job, `plan` has nothing left.
fn assert_next_run_finishes(inst: &Path, env: &[(&str, String)], touched: &BTreeSet<String>) {
    let again = loket_env(inst, &["apply", "--run", "after-restart"], env);
    assert_eq!(code(&again), 0, "{}", text(&again));
    let outcomes = outcomes(inst);
    for t in touched {
        assert!(finished(outcomes[t]), "{t}: {}", text(&again));
    }
    let plan = loket_env(inst, &["plan"], env);
    assert_eq!(code(&plan), 0, "{}", text(&plan));
}

#[test]
fn dovecot_stopped_mid_run_fails_the_mail_tickets_only_and_the_next_run_finishes() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(mut server) = MailServer::start(&tmp.path().join("srv")) else {
        return;
    };
    let Some(slapd) = Slapd::start() else { return };
    let script = tmp.path().join("stop.sh");
    fs::write(&script, STOP_SCRIPT).unwrap();
    let id = age::x25519::Identity::generate();
    let (inst, _state) = two_backends(
        tmp.path(),
        &id.to_public().to_string(),
        &mail_with_stop_hook(&server, &script),
        &ldap_server_backend(&slapd),
    );
    let ldap_pw = ("LOKET_LDAP_PASSWORD", ADMIN_PW.to_string());
    // Dovecot is stopped right after `doveadm reload` of the mail batch: the accounts
    // are in the passwd-file, but the IMAP login that verifies them finds no server.
    let out = loket_env(
        &inst,
        &["apply", "--format", "json", "--run", "dovecot-stopped"],
        &[
            ldap_pw.clone(),
            ("STOP_PID", server.dovecot_pid().to_string()),
            (
                "STOP_DONE",
                tmp.path().join("stopped").display().to_string(),
            ),
        ],
    );
    assert!(tmp.path().join("stopped").exists(), "the hook ran");
    assert!(!listening(&server.imap()), "dovecot is down");
    let touched = assert_only_stopped_failed(
        &inst,
        &out,
        "dovecot",
        &[&format!("127.0.0.1:{}", server.imap_port), "IMAP", "imap"],
        // An active account is verified by logging in; a disabled one in the file.
        |c| c.active && c.action != "disable",
    );
    // Work left, and `plan` says so while Dovecot is down.
    let plan = loket_env(&inst, &["plan"], std::slice::from_ref(&ldap_pw));
    assert_eq!(code(&plan), 2, "{}", text(&plan));

    server.restart_dovecot();
    assert_next_run_finishes(&inst, &[ldap_pw], &touched);
}

#[test]
fn slapd_stopped_between_backends_fails_the_server_tickets_only_and_the_next_run_finishes() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(server) = MailServer::start(&tmp.path().join("srv")) else {
        return;
    };
    let Some(mut slapd) = Slapd::start() else {
        return;
    };
    let script = tmp.path().join("stop.sh");
    fs::write(&script, STOP_SCRIPT).unwrap();
    let id = age::x25519::Identity::generate();
    let (inst, _state) = two_backends(
        tmp.path(),
        &id.to_public().to_string(),
        &mail_with_stop_hook(&server, &script),
        &ldap_server_backend(&slapd),
    );
    let ldap_pw = ("LOKET_LDAP_PASSWORD", ADMIN_PW.to_string());
    // slapd (read for the plan) is stopped after the mail batch, before the server
    // changes go to it.
    let out = loket_env(
        &inst,
        &["apply", "--format", "json", "--run", "slapd-stopped"],
        &[
            ldap_pw.clone(),
            ("STOP_PID", slapd.pid().to_string()),
            (
                "STOP_DONE",
                tmp.path().join("stopped").display().to_string(),
            ),
        ],
    );
    assert!(tmp.path().join("stopped").exists(), "the hook ran");
    let addr = slapd.url.trim_start_matches("ldap://").to_string();
    assert!(!listening(&addr), "slapd is down");
    let touched = assert_only_stopped_failed(&inst, &out, "ldap", &["ldap", "LDAP"], |_| true);

    slapd.restart();
    assert_next_run_finishes(&inst, &[ldap_pw], &touched);
}

#[test]
fn slapd_restarted_between_backends_is_reconnected_and_the_run_finishes() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(server) = MailServer::start(&tmp.path().join("srv")) else {
        return;
    };
    let Some(mut slapd) = Slapd::start() else {
        return;
    };
    let script = tmp.path().join("stop.sh");
    fs::write(&script, STOP_SCRIPT).unwrap();
    let id = age::x25519::Identity::generate();
    let (inst, _state) = two_backends(
        tmp.path(),
        &id.to_public().to_string(),
        &mail_with_stop_hook(&server, &script),
        &ldap_server_backend(&slapd),
    );
    // slapd (whose connection the run opened for the plan) is stopped after the mail
    // batch and started again before the server changes go to it, as a package
    // upgrade or a config reload would: the run reconnects, as the ssh backend does.
    let (stopped, resume) = (tmp.path().join("stopped"), tmp.path().join("resume"));
    let child = loket_spawn(
        &inst,
        &["apply", "--format", "json", "--run", "slapd-restarted"],
        &[
            ("LOKET_LDAP_PASSWORD", ADMIN_PW.to_string()),
            ("STOP_PID", slapd.pid().to_string()),
            ("STOP_DONE", stopped.display().to_string()),
            ("RESUME", resume.display().to_string()),
        ],
    );
    // Bounded guard: the hook runs within seconds of the start.
    let start = Instant::now();
    while !stopped.exists() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "the hook never ran"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    slapd.restart();
    fs::write(&resume, "").unwrap();
    let out = finish(child, &["apply"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let changes = report(&out);
    assert!(changes.iter().any(|c| c.backend == "ldap"));
    let outcomes = outcomes(&inst);
    for c in &changes {
        assert_eq!(
            c.status, "verified",
            "{}: {} {:?}",
            c.backend, c.detail, c.tickets
        );
        for t in &c.tickets {
            assert!(finished(outcomes[t]), "{t}: {:?}", outcomes[t]);
        }
    }
    let plan = loket_env(
        &inst,
        &["plan"],
        &[("LOKET_LDAP_PASSWORD", ADMIN_PW.to_string())],
    );
    assert_eq!(code(&plan), 0, "{}", text(&plan));
}

#[test]
fn sshd_stopped_between_backends_fails_the_server_tickets_only_and_the_next_run_finishes() {
    let Some(mut sshd) = Sshd::start() else {
        return;
    };
    // The bundled server accounts' logins, created on this machine by the run.
    for l in ["opd-disdukcapil", "opd-bpkad", "opd-dinkes"] {
        sshd.track(l);
    }
    let tmp = tempfile::tempdir().unwrap();
    let Some(server) = MailServer::start(&tmp.path().join("srv")) else {
        return;
    };
    let script = tmp.path().join("stop.sh");
    fs::write(&script, STOP_SCRIPT).unwrap();
    let id = age::x25519::Identity::generate();
    let (inst, _state) = two_backends(
        tmp.path(),
        &id.to_public().to_string(),
        &mail_with_stop_hook(&server, &script),
        &ssh_server_backend(&sshd),
    );
    servers_on(&inst, &sshd);
    // sshd and the sessions it forked (the run's open connection, read for the plan)
    // are stopped after the mail batch, before the server changes go over SSH.
    let out = loket_env(
        &inst,
        &["apply", "--format", "json", "--run", "sshd-stopped"],
        &[
            ("STOP_PID", sshd.pid().to_string()),
            (
                "STOP_DONE",
                tmp.path().join("stopped").display().to_string(),
            ),
        ],
    );
    assert!(tmp.path().join("stopped").exists(), "the hook ran");
    assert!(
        !listening(&format!("127.0.0.1:{}", sshd.port)),
        "sshd is down"
    );
    let touched = assert_only_stopped_failed(&inst, &out, "ssh", &["ssh", "SSH"], |_| true);

    sshd.restart();
    assert_next_run_finishes(&inst, &[], &touched);
}

#[test]
fn runs_killed_during_postmap_and_doveadm_reload_converge() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(server) = MailServer::start(&tmp.path().join("srv")) else {
        return;
    };
    let script = tmp.path().join("kill.sh");
    fs::write(&script, KILL_SCRIPT).unwrap();
    let counter = tmp.path().join("kill-count");
    let id = age::x25519::Identity::generate();
    let state = tmp.path().join("state");
    let real_postmap = format!(
        "postmap = \"{} -c {}\"",
        server.postmap.display(),
        server.postfix_dir.display()
    );
    let real_doveadm = format!("doveadm = \"{}\"", server.doveadm.display());
    let toml = server.backend_toml();
    assert!(
        toml.contains(&real_postmap) && toml.contains(&real_doveadm),
        "{toml}"
    );
    let s = script.display();
    let mail = toml
        .replace(
            &real_postmap,
            &format!(
                "postmap = \"sh {s} postmap {} -c {}\"",
                server.postmap.display(),
                server.postfix_dir.display()
            ),
        )
        .replace(
            &real_doveadm,
            &format!("doveadm = \"sh {s} doveadm {}\"", server.doveadm.display()),
        );
    // Two batches (100 + 20): each step runs twice in a full run.
    let n = 120;
    let inst = bulk_instance(
        tmp.path(),
        &backends(&id.to_public().to_string(), &mail, &state),
        n,
    );
    let pristine: Vec<(PathBuf, Vec<u8>)> = fs::read_dir(inst.join("records"))
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let b = fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    let maps_db = |server: &MailServer| -> BTreeSet<String> {
        let o = Command::new(&server.postmap)
            .arg("-c")
            .arg(&server.postfix_dir)
            .arg("-s")
            .arg(format!("hash:{}", server.virtual_mailboxes.display()))
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", text(&o));
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect()
    };

    let trials: usize = std::env::var("LOKET_FAULT_TRIALS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(4);
    let combos = [
        ("postmap", "before"),
        ("postmap", "after"),
        ("doveadm", "before"),
        ("doveadm", "after"),
    ];
    let mut rng = rand::rng();
    let mut kills = 0;
    let mut log = Vec::new();
    for trial in 0..trials {
        // A fresh start: no accounts on the server, every ticket approved.
        let _ = fs::remove_dir_all(&state);
        for (p, b) in &pristine {
            fs::write(p, b).unwrap();
        }
        fs::write(&server.passwd, "").unwrap();
        fs::write(&server.virtual_mailboxes, "").unwrap();
        let st = Command::new(&server.postmap)
            .arg("-c")
            .arg(&server.postfix_dir)
            .arg(format!("hash:{}", server.virtual_mailboxes.display()))
            .status()
            .unwrap();
        assert!(st.success());
        // Every step and side is covered in the first four trials.
        let (step, when) = combos[trial % combos.len()];
        let at = rng.random_range(1..=2);
        let _ = fs::remove_file(&counter);
        let spec = format!("{step}:{when}:{at}");
        let out = loket_env(
            &inst,
            &["apply", "--run", &format!("killed-{trial}")],
            &[
                ("KILL_STEP", step.to_string()),
                ("KILL_WHEN", when.to_string()),
                ("KILL_AT", at.to_string()),
                ("KILL_COUNTER", counter.display().to_string()),
            ],
        );
        let killed = out.status.signal() == Some(9);
        log.push(format!("trial {trial}: {spec} killed={killed}"));
        assert!(killed, "{spec}: not killed\n{}", text(&out));
        kills += 1;
        // The kill left whole files: every passwd-file line a full entry; Postfix's
        // hash the map's text or (killed before postmap) an older part of it.
        let passwd = fs::read_to_string(&server.passwd).unwrap();
        assert!(passwd.is_empty() || passwd.ends_with('\n'), "{spec}");
        let torn: Vec<&str> = passwd
            .lines()
            .filter(|l| !l.starts_with('#'))
            .filter(|l| l.split(':').count() != 8 || !l.contains(":{SHA512-CRYPT}$6$"))
            .map(|l| l.split(':').next().unwrap_or_default())
            .collect();
        assert!(torn.is_empty(), "{spec}: torn entries {torn:?}");
        let text_now: BTreeSet<String> = fs::read_to_string(&server.virtual_mailboxes)
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        let db_now = maps_db(&server);
        assert!(
            db_now.is_subset(&text_now),
            "{spec}: hash ahead of the text"
        );
        if (step, when) != ("postmap", "before") {
            assert_eq!(db_now, text_now, "{spec}: hash and text differ");
        }
        let plan = loket_env(&inst, &["plan"], &[]);
        assert_eq!(code(&plan), 2, "{spec}: work left\n{}", text(&plan));

        let last = loket_env(&inst, &["apply", "--run", &format!("finish-{trial}")], &[]);
        assert_eq!(code(&last), 0, "{spec}\n{}\n{}", text(&last), server.logs());
        let plan = loket_env(&inst, &["plan"], &[]);
        assert_eq!(code(&plan), 0, "{spec}\n{}", text(&plan));
        let left: Vec<_> = outcomes(&inst)
            .into_iter()
            .filter(|(_, o)| *o != Outcome::Done)
            .collect();
        assert!(left.is_empty(), "{spec}: not done: {left:?}");
        assert_eq!(temps(tmp.path()), Vec::<PathBuf>::new(), "{spec}");
        assert!(!state.join("unverified.json").exists(), "{spec}");
        // The passwd-file whole: every account once, each opened by its sealed password.
        let passwd = fs::read_to_string(&server.passwd).unwrap();
        assert_every_password_opens(&passwd, &state, &id, n);
        // The map whole: every address once, and Postfix's hash the same as the text.
        let maps = fs::read_to_string(&server.virtual_mailboxes).unwrap();
        // loket's ownership marker is a comment, which Postfix skips.
        let entries: Vec<&str> = maps.lines().filter(|l| !l.starts_with('#')).collect();
        let text_map: BTreeSet<String> = entries
            .iter()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        assert_eq!(entries.len(), n, "{spec}");
        assert_eq!(text_map.len(), n, "{spec}");
        assert_eq!(maps_db(&server), text_map, "{spec}: hash and text differ");
        // And the live Dovecot reads the final file.
        let first = passwd.lines().find(|l| !l.starts_with('#')).unwrap();
        let (user, ticket) = {
            let f: Vec<&str> = first.split(':').collect();
            (
                f[0].to_string(),
                f[4].trim_start_matches("loket ").to_string(),
            )
        };
        let pw = sealed_password(&state, &ticket, &id);
        mailcheck::imap_login(&server.imap(), &user, &pw)
            .unwrap_or_else(|e| panic!("{spec}: {user}: {e}\n{}", server.logs()));
    }
    eprintln!("{trials} trials, {kills} runs killed\n{}", log.join("\n"));
}
