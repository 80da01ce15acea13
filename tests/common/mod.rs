//! Helpers shared by the integration tests: finding the real daemons the tests run
//! (failing, never skipping, under CI), free loopback ports, and the built binary.
//!
//! Include from a test file with `mod common;`. Daemon-specific harnesses live in
//! their own files beside this one.
#![allow(dead_code)] // each test binary uses a different subset

pub mod slapd;
pub mod sshd;

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};

/// True when running under CI, where a missing server is a failure, not a skip.
pub fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Finds an executable among `candidates` (absolute paths or names on PATH).
///
/// Returns `None` when none exists and we are not in CI, so a developer without the
/// daemons installed sees the test skip loudly; under CI it panics, as a missing
/// server must fail the run. Install everything with `scripts/install-test-deps.sh`.
pub fn require_binary(what: &str, candidates: &[&str]) -> Option<PathBuf> {
    for c in candidates {
        let p = Path::new(c);
        if p.is_absolute() {
            if p.exists() {
                return Some(p.to_path_buf());
            }
        } else if let Ok(out) = Command::new("sh")
            .args(["-c", &format!("command -v {c}")])
            .output()
            && out.status.success()
        {
            let found = String::from_utf8_lossy(&out.stdout).trim().to_string();
            if !found.is_empty() {
                return Some(PathBuf::from(found));
            }
        }
    }
    let msg = format!(
        "{what} not found (looked for {candidates:?}); run `sudo bash scripts/install-test-deps.sh`"
    );
    if in_ci() {
        panic!("{msg}");
    }
    eprintln!("SKIPPED: {msg}");
    None
}

/// A TCP port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("bind an ephemeral port on 127.0.0.1")
}

/// The `loket` binary built for this test run.
pub fn loket() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_loket"));
    // The backend tests approve from records/ they write; the forge gate's own
    // tests (tests/attack_*.rs) pass `--approvals forge`, which wins over this.
    c.env("LOKET_APPROVALS", "records");
    c
}

/// The repository root (the bundled Kudus instance).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// A daemon's stderr, collected line by line for the test's failure messages.
pub type DaemonLog = Arc<Mutex<Vec<String>>>;

/// Starts a daemon in the foreground and waits (no sleeps) until its stderr shows
/// `ready`; panics with everything it logged if it exits first.
pub fn spawn_until_ready(cmd: &mut Command, what: &str, ready: &'static str) -> (Child, DaemonLog) {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("start {what}: {e}"));
    let log: DaemonLog = Arc::new(Mutex::new(Vec::new()));
    let (tx, rx) = mpsc::channel();
    let stderr = child.stderr.take().expect("piped");
    let sink = Arc::clone(&log);
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains(ready) {
                let _ = tx.send(());
            }
            sink.lock().unwrap().push(line);
        }
    });
    if rx.recv().is_err() {
        let _ = child.wait();
        panic!("{what} did not start:\n{}", log.lock().unwrap().join("\n"));
    }
    (child, log)
}
