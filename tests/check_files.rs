//! Only regular files (issue 11, item 8): a symlink, FIFO or socket named like a
//! request or account file, a symlinked `accounts/mail/` and a `loket.toml` linked to
//! `/proc/self/environ` are refused by `loket check` (L000, exit 1) with the path
//! named and nothing read from them; `plan` and `apply` refuse to run; a FIFO or
//! link in the parse cache's place neither hangs nor is followed. Every run of the
//! binary is killed after [`TIMEOUT`] and then fails the test, so a blocking open
//! shows as a failure, not a hung suite.
mod common;

use std::fs;
use std::io::Read;
use std::os::unix::fs::symlink;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use loket::model::cache::LOAD_CACHES;

const TIMEOUT: Duration = Duration::from_secs(20);
const SECRET: &str = "LOKET_TEST_SECRET";
const SECRET_VALUE: &str = "s3cret-never-printed-9f1c";
const ACCOUNT: &str = "accounts/mail/budi.santoso@kuduskab.go.id.toml";

/// A temporary copy of the bundled instance.
fn instance() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = common::repo_root();
    fs::copy(root.join("loket.toml"), dir.path().join("loket.toml")).unwrap();
    for sub in ["requests", "accounts"] {
        for e in walkdir::WalkDir::new(root.join(sub)) {
            let e = e.unwrap();
            let to = dir.path().join(e.path().strip_prefix(&root).unwrap());
            if e.file_type().is_dir() {
                fs::create_dir_all(&to).unwrap();
            } else {
                fs::copy(e.path(), &to).unwrap();
            }
        }
    }
    dir
}

fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(ok.success(), "mkfifo {}", path.display());
}

/// Runs loket in `dir` with the secret in its environment; exit code and all output.
/// Killed and failed after [`TIMEOUT`].
fn loket(dir: &Path, args: &[&str]) -> (Option<i32>, String) {
    let mut child = common::loket()
        .arg("-C")
        .arg(dir)
        .args(args)
        .env(SECRET, SECRET_VALUE)
        .env_remove("GITHUB_ACTIONS")
        .env_remove("LOKET_NO_CACHE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Drained on threads so a full pipe cannot stall the child.
    let drain = |mut r: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut s = String::new();
            let _ = r.read_to_string(&mut s);
            s
        })
    };
    let out = drain(Box::new(child.stdout.take().unwrap()));
    let err = drain(Box::new(child.stderr.take().unwrap()));
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > TIMEOUT {
            let _ = child.kill();
            let _ = child.wait();
            panic!("loket {args:?} still running after {TIMEOUT:?}: it blocked");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let text = format!("{}{}", out.join().unwrap(), err.join().unwrap());
    assert!(
        !text.contains(SECRET_VALUE),
        "the environment leaked:\n{text}"
    );
    (status.code(), text)
}

/// `loket check` refuses `path` with L000, in both formats, and exits 1.
fn refused(dir: &Path, path: &str) {
    let (code, out) = loket(dir, &["check"]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("error[L000]"), "{out}");
    assert!(out.contains(&format!("{path} is ")), "{out}");
    let (code, json) = loket(dir, &["check", "--format", "json"]);
    assert_eq!(code, Some(1), "{json}");
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    let hit =
        v.as_array().unwrap().iter().any(|d| {
            d["code"] == "L000" && d["file"] == path && d["line"] == 1 && d["column"] == 1
        });
    assert!(hit, "{json}");
}

/// Puts a node at a path.
type Make<'a> = &'a dyn Fn(&Path);

#[test]
fn links_fifos_and_sockets_named_like_data_are_refused() {
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("secret.toml");
    fs::write(&target, format!("name = \"{SECRET_VALUE}\"\n")).unwrap();
    let cases: [(&str, Make); 4] = [
        ("requests/KDS-LINKS-LINKS.toml", &|p| {
            symlink(&target, p).unwrap()
        }),
        ("requests/KDS-FIFOS-FIFOS.toml", &|p| mkfifo(p)),
        ("accounts/server/app-1/sock.toml", &|p| {
            std::os::unix::net::UnixListener::bind(p).map(drop).unwrap()
        }),
        (ACCOUNT, &|p| {
            fs::remove_file(p).unwrap();
            mkfifo(p);
        }),
    ];
    for (path, make) in cases {
        let dir = instance();
        fs::create_dir_all(dir.path().join(path).parent().unwrap()).unwrap();
        make(&dir.path().join(path));
        refused(dir.path(), path);
    }
}

#[test]
fn a_linked_mail_folder_and_config_are_refused_and_never_read() {
    let dir = instance();
    let d = dir.path();
    let moved = tempfile::tempdir().unwrap();
    fs::rename(d.join("accounts/mail"), moved.path().join("mail")).unwrap();
    symlink(moved.path().join("mail"), d.join("accounts/mail")).unwrap();
    refused(d, "accounts/mail");

    let dir = instance();
    let d = dir.path();
    fs::remove_file(d.join("loket.toml")).unwrap();
    symlink("/proc/self/environ", d.join("loket.toml")).unwrap();
    refused(d, "loket.toml");
}

#[test]
fn plan_and_apply_refuse_to_run() {
    let dir = instance();
    let d = dir.path();
    fs::remove_file(d.join(ACCOUNT)).unwrap();
    symlink("/proc/self/environ", d.join(ACCOUNT)).unwrap();
    for cmd in ["plan", "apply"] {
        let (code, out) = loket(d, &[cmd]);
        assert_eq!(code, Some(1), "{cmd}: {out}");
        assert!(
            out.contains(ACCOUNT) && out.contains("symbolic link"),
            "{out}"
        );
    }
}

#[test]
fn a_fifo_or_link_in_the_cache_place_is_a_miss_and_replaced() {
    let dir = instance();
    let d = dir.path();
    fs::create_dir_all(d.join("state/cache")).unwrap();
    let outside = tempfile::tempdir().unwrap();
    let target = outside.path().join("kept");
    fs::write(&target, "untouched").unwrap();
    let [(_, accounts), (_, requests)] = LOAD_CACHES;
    mkfifo(&d.join(accounts));
    symlink(&target, d.join(requests)).unwrap();
    // Files younger than the racy window are not cached: let the copy settle.
    std::thread::sleep(loket::model::cache::RACY + Duration::from_millis(200));
    let (code, out) = loket(d, &["check"]);
    assert_eq!(code, Some(0), "{out}");
    for file in [accounts, requests] {
        assert!(
            fs::symlink_metadata(d.join(file)).unwrap().is_file(),
            "{file}"
        );
    }
    assert_eq!(fs::read_to_string(&target).unwrap(), "untouched");

    // A linked cache folder: nothing written where it points.
    let dir = instance();
    let d = dir.path();
    let elsewhere = tempfile::tempdir().unwrap();
    fs::create_dir_all(d.join("state")).unwrap();
    symlink(elsewhere.path(), d.join("state/cache")).unwrap();
    std::thread::sleep(loket::model::cache::RACY + Duration::from_millis(200));
    let (code, out) = loket(d, &["check"]);
    assert_eq!(code, Some(0), "{out}");
    assert_eq!(fs::read_dir(elsewhere.path()).unwrap().count(), 0);
}

#[test]
fn records_that_are_links_or_fifos_are_errors_not_read() {
    let record = "records/KDS-24WBW-PV52C.toml";
    let real = common::repo_root().join(record);
    let cases: [Make; 3] = [
        &|d| symlink(&real, d.join(record)).unwrap(),
        &|d| mkfifo(&d.join(record)),
        &|d| {
            fs::remove_dir(d.join("records")).unwrap();
            symlink(real.parent().unwrap(), d.join("records")).unwrap();
        },
    ];
    for make in cases {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("records")).unwrap();
        make(dir.path());
        // In-process, on a thread: a blocking open fails the test after TIMEOUT.
        let (tx, rx) = std::sync::mpsc::channel();
        let root = dir.path().to_path_buf();
        std::thread::spawn(move || tx.send(loket::site::load_records(&root).map(|r| r.len())));
        let got = rx.recv_timeout(TIMEOUT).expect("load_records blocked");
        let err = got.unwrap_err().to_string();
        assert!(err.contains("records"), "{err}");
        assert!(err.contains("not a regular file"), "{err}");
    }
}
