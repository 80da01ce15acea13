//! Issue 12, item 8 at scale: `loket apply` SIGKILLed at random, one to three runs in
//! a row per trial, each trial finished by a re-run that must leave nothing behind.
//!
//! Kills come three ways: a real SIGKILL sent from outside at a random instant of the
//! run (uniform over the length of an uninterrupted run, measured first); the
//! `LOKET_FAULT=<point>:<n>` kill points (debug builds); and the mail backend's
//! `doveadm reload` step, a script that kills loket after a batch's passwd-file is
//! committed and before it is verified (any build). Verification is an IMAP login
//! against a stand-in that checks the password against the passwd-file's hash; in
//! about half the killed runs it refuses every login, so runs are also killed after
//! failed verifications and before their records: the case that left tickets stuck.
//!
//! After each killed run, every ticket short of `processed` must be work `plan` lists
//! (a change, or a retry). After each trial's re-run: every ticket `processed`, the
//! passwd-file and the mailbox map whole (each account once, each hash opened by the
//! password sealed for its ticket), no `.loket-*` temp file under the state folder or
//! records/, `plan` with nothing to do, `audit` clean, no retry list, an empty journal.
//!
//! Scale: `LOKET_KILL_ACCOUNTS` (default 300) and `LOKET_KILL_TRIALS` (default 8);
//! `scripts/kill-test.sh` runs the full 1,000 accounts × 20 trials (docs/apply.md).

#[path = "common/apply.rs"]
mod apply;
mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use loket::apply::Secret;
use loket::model::record::Outcome;
use rand::RngExt;

use apply::*;

/// An IMAP server that checks `LOGIN` against the passwd-file loket writes (the
/// `{SHA512-CRYPT}` hash of the user's line), or, while `refuse` is set, refuses
/// every login as a server that is down for maintenance would.
struct Imap {
    addr: String,
    refuse: Arc<AtomicBool>,
}

fn imap_standin(passwd: PathBuf) -> Imap {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let refuse = Arc::new(AtomicBool::new(false));
    let flag = Arc::clone(&refuse);
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let (passwd, flag) = (passwd.clone(), Arc::clone(&flag));
            std::thread::spawn(move || {
                let mut w = s.try_clone().unwrap();
                let _ = w.write_all(b"* OK stand-in IMAP ready\r\n");
                for line in BufReader::new(s).lines().map_while(Result::ok) {
                    let mut f = line.split_whitespace();
                    let tag = f.next().unwrap_or("*").to_string();
                    let reply = match f.next().map(str::to_ascii_uppercase).as_deref() {
                        Some("LOGIN") if flag.load(Ordering::SeqCst) => {
                            format!("{tag} NO [UNAVAILABLE] maintenance")
                        }
                        Some("LOGIN") => {
                            let user = f.next().unwrap_or("").trim_matches('"');
                            let pw = f.next().unwrap_or("").trim_matches('"');
                            if login_ok(&passwd, user, pw) {
                                format!("{tag} OK LOGIN completed")
                            } else {
                                format!("{tag} NO [AUTHENTICATIONFAILED] failed")
                            }
                        }
                        Some("LOGOUT") => format!("* BYE\r\n{tag} OK LOGOUT completed"),
                        _ => format!("{tag} BAD unknown command"),
                    };
                    if w.write_all(format!("{reply}\r\n").as_bytes()).is_err() {
                        break;
                    }
                }
            });
        }
    });
    Imap { addr, refuse }
}

fn login_ok(passwd: &Path, user: &str, pw: &str) -> bool {
    let file = fs::read_to_string(passwd).unwrap_or_default();
    let prefix = format!("{}:", user.to_lowercase());
    file.lines()
        .find(|l| l.starts_with(&prefix))
        .and_then(|l| l.split(':').nth(1))
        .is_some_and(|h| {
            let hash = h.trim_start_matches("{SHA512-CRYPT}");
            loket::apply::credentials::crypt_matches(&Secret::new(pw.to_string()), hash)
        })
}

/// How a run is ended early.
#[derive(Clone, Debug)]
enum Kill {
    /// SIGKILL from outside after this long.
    After(Duration),
    /// `LOKET_FAULT=<point>:<n>`.
    Fault(&'static str, usize),
    /// The `n`-th `doveadm reload` step kills loket.
    Doveadm(usize),
}

impl Kill {
    fn label(&self) -> String {
        match self {
            Kill::After(d) => format!("sigkill@{}ms", d.as_millis()),
            Kill::Fault(p, n) => format!("{p}:{n}"),
            Kill::Doveadm(n) => format!("doveadm:{n}"),
        }
    }

    fn kind(&self) -> String {
        match self {
            Kill::After(_) => "sigkill-at-random-time".into(),
            Kill::Fault(p, _) => format!("LOKET_FAULT {p}"),
            Kill::Doveadm(_) => "doveadm reload step".into(),
        }
    }
}

/// Batches of an `n`-account run: a twentieth of the run each, at least 100 changes.
fn batches(n: usize) -> usize {
    n.div_ceil((n / 20).max(100))
}

/// `LOKET_FAULT` points and about how often an `n`-account run passes each. A
/// count past the real one only means that run is not killed.
fn fault_points(n: usize) -> Vec<(&'static str, usize)> {
    let batches = batches(n);
    vec![
        ("prepared", batches),
        ("sealed", n),
        ("intent", batches),
        ("applied", batches),
        ("verified", n),
        ("recorded", n),
        ("done", batches),
        ("temp-written", 2 * n),
    ]
}

struct Run {
    killed: bool,
    code: i32,
    text: String,
}

/// Runs `loket` (output to files: a 1,000-account report outgrows a pipe nobody
/// reads), SIGKILLed after `kill_after` if given. Fails the test if a run does not
/// end within ten minutes (a bound against hangs, not a timing assertion).
fn run(inst: &Path, args: &[&str], env: &[(&str, String)], kill_after: Option<Duration>) -> Run {
    let out = inst.parent().unwrap().join("run.out");
    let mut cmd = common::loket();
    cmd.arg("-C")
        .arg(inst)
        .args(args)
        .env_remove("GITHUB_RUN_ID")
        .env_remove("LOKET_FAULT")
        .env_remove("KILL_AT")
        .stdin(Stdio::null())
        .stdout(Stdio::from(fs::File::create(&out).unwrap()))
        .stderr(Stdio::from(
            fs::OpenOptions::new().append(true).open(&out).unwrap(),
        ));
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        let e = start.elapsed();
        if kill_after.is_some_and(|k| e >= k) {
            child.kill().unwrap(); // SIGKILL
            break child.wait().unwrap();
        }
        if e > Duration::from_secs(600) {
            child.kill().unwrap();
            panic!("loket {args:?} hung: {}", fs::read_to_string(&out).unwrap());
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    Run {
        killed: status.signal() == Some(9),
        code: status.code().unwrap_or(-1),
        text: String::from_utf8_lossy(&fs::read(&out).unwrap()).to_string(),
    }
}

/// Tickets of `plan --format json`'s changes and retries.
fn planned_tickets(inst: &Path) -> (BTreeSet<String>, usize) {
    let o = loket(inst, &["plan", "--format", "json"]);
    assert!(matches!(code(&o), 0 | 2), "{}", text(&o));
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    let mut tickets = BTreeSet::new();
    for list in ["changes", "retries"] {
        for c in v[list].as_array().into_iter().flatten() {
            for t in c["tickets"].as_array().into_iter().flatten() {
                tickets.insert(t.as_str().unwrap().to_string());
            }
        }
    }
    let retries = v["retries"].as_array().map_or(0, Vec::len);
    (tickets, retries)
}

/// The tickets whose account is a line of the passwd-file.
fn live_tickets(passwd: &Path) -> BTreeSet<String> {
    fs::read_to_string(passwd)
        .unwrap_or_default()
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| l.split(':').nth(4))
        .map(|g| g.trim_start_matches("loket ").to_string())
        .collect()
}

/// The mailbox map holds each of the `n` accounts once, and nothing else.
fn assert_map_whole(map: &Path, n: usize) {
    let text = fs::read_to_string(map).unwrap();
    assert!(text.ends_with('\n'), "torn map");
    let keys: Vec<&str> = text
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| l.split_whitespace().next().unwrap())
        .collect();
    let distinct: BTreeSet<&str> = keys.iter().copied().collect();
    assert_eq!(keys.len(), n, "map lines");
    assert_eq!(distinct.len(), n, "map accounts");
    for i in 0..n {
        let a = format!("pegawai.{i:04}@kuduskab.go.id");
        assert!(distinct.contains(a.as_str()), "{a} missing from the map");
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn killed_applies_leave_no_ticket_behind() {
    let n = env_usize("LOKET_KILL_ACCOUNTS", 300);
    let trials = env_usize("LOKET_KILL_TRIALS", 8);
    let began = Instant::now();
    let tmp = tempfile::tempdir().unwrap();
    let id = age::x25519::Identity::generate();
    let state = tmp.path().join("state");
    let passwd = state.join("mail/passwd");
    let map = state.join("mail/virtual_mailboxes");
    let imap = imap_standin(passwd.clone());
    let killer = tmp.path().join("doveadm-kill.sh");
    let counter = tmp.path().join("doveadm-count");
    fs::write(
        &killer,
        "[ -n \"$KILL_AT\" ] || exit 0\n\
         c=$(cat \"$KILL_COUNTER\" 2>/dev/null || echo 0); c=$((c+1)); echo $c > \"$KILL_COUNTER\"\n\
         [ \"$c\" -eq \"$KILL_AT\" ] && kill -9 $PPID\n\
         exit 0\n",
    )
    .unwrap();
    let mail = format!(
        "[backends.mail]\ntype = \"dovecot\"\npasswd-file = \"{}\"\n\
         virtual-mailboxes = \"{}\"\nimap = \"{}\"\ndoveadm = \"sh {}\"\n",
        passwd.display(),
        map.display(),
        imap.addr,
        killer.display()
    );
    let inst = bulk_instance(
        tmp.path(),
        &backends(&id.to_public().to_string(), &mail, &state),
        n,
    );
    let check = loket(&inst, &["check"]);
    assert_eq!(code(&check), 0, "{}", text(&check));
    let pristine: Vec<(PathBuf, Vec<u8>)> = fs::read_dir(inst.join("records"))
        .unwrap()
        .map(|e| {
            let p = e.unwrap().path();
            let b = fs::read(&p).unwrap();
            (p, b)
        })
        .collect();
    let reset = || {
        let _ = fs::remove_dir_all(&state);
        for (p, b) in &pristine {
            fs::write(p, b).unwrap();
        }
    };

    // The length of an uninterrupted run: random SIGKILLs fall anywhere inside it.
    let t0 = Instant::now();
    let whole = run(&inst, &["apply", "--run", "calibrate"], &[], None);
    let full = t0.elapsed();
    assert_eq!(whole.code, 0, "{}", whole.text);
    assert_every_password_opens(&fs::read_to_string(&passwd).unwrap(), &state, &id, n);

    let points = fault_points(n);
    let mut rng = rand::rng();
    // kind -> (runs, killed); how many killed runs left tickets live but unrecorded.
    let mut tally: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let (mut kills, mut stuck_runs, mut stuck_tickets) = (0, 0, 0);
    let mut log = Vec::new();
    for trial in 0..trials {
        reset();
        for r in 0..rng.random_range(1..=3) {
            // The first run of all: the stuck-ticket case, killed after failed
            // verifications and before their records.
            let first = trial + r == 0;
            let refusing = first || rng.random_bool(0.5);
            let kill = match (first, rng.random_range(0..3)) {
                (true, _) if cfg!(debug_assertions) => Kill::Fault("verified", n / 3 + 1),
                (true, _) => Kill::Doveadm(1),
                (false, 0) => Kill::After(full.mul_f64(rng.random_range(0.0..1.0))),
                (false, 1) if cfg!(debug_assertions) => {
                    let (p, hits) = points[rng.random_range(0..points.len())];
                    Kill::Fault(p, rng.random_range(1..=hits))
                }
                _ => Kill::Doveadm(rng.random_range(1..=batches(n))),
            };
            imap.refuse.store(refusing, Ordering::SeqCst);
            let _ = fs::remove_file(&counter);
            let (env, after) = match &kill {
                Kill::After(d) => (vec![], Some(*d)),
                Kill::Fault(p, k) => (vec![("LOKET_FAULT", format!("{p}:{k}"))], None),
                Kill::Doveadm(k) => (
                    vec![
                        ("KILL_AT", k.to_string()),
                        ("KILL_COUNTER", counter.display().to_string()),
                    ],
                    None,
                ),
            };
            let out = run(
                &inst,
                &["apply", "--run", &format!("t{trial}-{r}")],
                &env,
                after,
            );
            let t = tally.entry(kill.kind()).or_default();
            t.0 += 1;
            if out.killed {
                t.1 += 1;
                kills += 1;
            } else {
                assert!(matches!(out.code, 0 | 1), "{}", out.text);
            }
            // Whatever the kill left: the passwd-file is whole lines, and every
            // ticket short of processed is work `plan` lists.
            let file = fs::read_to_string(&passwd).unwrap_or_default();
            assert!(file.is_empty() || file.ends_with('\n'), "torn passwd-file");
            let open: Vec<String> = outcomes(&inst)
                .into_iter()
                .filter(|(_, o)| *o != Outcome::Done)
                .map(|(t, _)| t)
                .collect();
            let (planned, retries) = planned_tickets(&inst);
            let unlisted: Vec<&String> = open.iter().filter(|t| !planned.contains(*t)).collect();
            assert!(
                unlisted.is_empty(),
                "{}: {} tickets stuck (not processed, not planned): {:?}",
                kill.label(),
                unlisted.len(),
                &unlisted[..unlisted.len().min(5)]
            );
            // Live but not recorded processed: what earlier versions left stuck.
            let live = live_tickets(&passwd);
            let stuck = open.iter().filter(|t| live.contains(*t)).count();
            if out.killed && stuck > 0 {
                stuck_runs += 1;
                stuck_tickets += stuck;
            }
            log.push(format!(
                "trial {trial} run {r}: {}{} killed={} open={} live-unrecorded={stuck} retries={retries}",
                kill.label(),
                if refusing { " (IMAP refusing)" } else { "" },
                out.killed,
                open.len(),
            ));
        }
        imap.refuse.store(false, Ordering::SeqCst);
        let last = run(
            &inst,
            &["apply", "--run", &format!("finish-{trial}")],
            &[],
            None,
        );
        let ctx = || log.join("\n");
        assert_eq!(last.code, 0, "{}\n{}", ctx(), last.text);
        assert_trial_finished(&inst, &state, &id, n, &ctx());
        // Progress, for a long run watched live (`--nocapture`).
        eprintln!(
            "trial {trial} finished: {kills} kills so far, {:.0}s",
            began.elapsed().as_secs_f64()
        );
    }
    let mut summary = format!(
        "SUMMARY accounts={n} trials={trials} uninterrupted-run={:.1}s runs-killed={kills} \
         killed-runs-leaving-live-unrecorded-tickets={stuck_runs} \
         (tickets={stuck_tickets}, all finished by the re-runs) elapsed={:.0}s\n",
        full.as_secs_f64(),
        began.elapsed().as_secs_f64()
    );
    for (k, (runs, killed)) in &tally {
        summary.push_str(&format!("  {k}: {runs} runs, {killed} killed\n"));
    }
    eprintln!("{summary}{}", log.join("\n"));
    assert!(kills >= trials, "only {kills} kills in {trials} trials");
    assert!(
        stuck_runs > 0,
        "no killed run left live, unrecorded tickets"
    );
}

/// After a trial's re-run: nothing left to do, nothing left behind.
fn assert_trial_finished(
    inst: &Path,
    state: &Path,
    id: &age::x25519::Identity,
    n: usize,
    ctx: &str,
) {
    let left: Vec<_> = outcomes(inst)
        .into_iter()
        .filter(|(_, o)| *o != Outcome::Done)
        .collect();
    assert!(left.is_empty(), "{ctx}\nnot done: {left:?}");
    assert_eq!(outcomes(inst).len(), n);
    for dir in [state.to_path_buf(), inst.join("records")] {
        assert_eq!(temps(&dir), Vec::<PathBuf>::new(), "{ctx}");
    }
    let plan = loket(inst, &["plan"]);
    assert_eq!(code(&plan), 0, "{ctx}\n{}", text(&plan));
    assert!(planned_tickets(inst).0.is_empty(), "{ctx}");
    let audit = loket(inst, &["audit", "--format", "json"]);
    assert_eq!(code(&audit), 0, "{ctx}\n{}", text(&audit));
    let drift: serde_json::Value = serde_json::from_slice(&audit.stdout).unwrap();
    for (k, v) in drift.as_object().unwrap() {
        assert_eq!(v.as_array().map_or(0, Vec::len), 0, "{ctx}\naudit {k}: {v}");
    }
    assert!(!state.join("unverified.json").exists(), "{ctx}");
    assert_eq!(fs::read(state.join("journal.jsonl")).unwrap(), b"", "{ctx}");
    let passwd = fs::read_to_string(state.join("mail/passwd")).unwrap();
    assert_every_password_opens(&passwd, state, id, n);
    assert_map_whole(&state.join("mail/virtual_mailboxes"), n);
}
