//! Helpers shared by the integration tests: finding the real daemons the tests run
//! (failing, never skipping, under CI), free loopback ports, and the built binary.
//!
//! Include from a test file with `mod common;`. Daemon-specific harnesses live in
//! their own files beside this one.
#![allow(dead_code)] // each test binary uses a different subset

pub mod slapd;
pub mod sshd;

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;

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
    Command::new(env!("CARGO_BIN_EXE_loket"))
}

/// The repository root (the bundled Kudus instance).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
