//! The remote scripts run by a local `sh`, as the mail host's `/bin/sh -s` would run
//! them (the SSH transport itself is tested in tests/apply_mail_ssh.rs).

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::*;
use crate::apply::ssh::session::wrap_script;

/// Runs `script` like `SshSession::run_script` does; `Err` carries what the
/// transport would turn into `SshError::Script`.
fn sh(script: &str) -> Result<String, SshError> {
    let mut child = Command::new("sh")
        .arg("-s")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let text = wrap_script(script);
    let writer = std::thread::spawn(move || stdin.write_all(text.as_bytes()));
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    if out.status.success() {
        Ok(String::from_utf8(out.stdout).unwrap())
    } else {
        Err(SshError::Script {
            server: "mail-1".into(),
            code: out.status.code().unwrap_or(-1),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_string(),
        })
    }
}

fn write(path: &Path, text: &str, mode: u32, then: Option<&[&str]>) -> FileWrite {
    FileWrite {
        path: path.to_path_buf(),
        text: text.into(),
        mode,
        group: None,
        then: then.map(|a| a.iter().map(|s| s.to_string()).collect()),
    }
}

fn own_group() -> String {
    let out = Command::new("id").arg("-gn").output().unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn entries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

#[test]
fn commit_writes_exact_text_with_mode_group_and_commands_in_order() {
    let d = tempfile::tempdir().unwrap();
    let maps = d.path().join("postfix/virtual_mailboxes");
    let passwd = d.path().join("dovecot/users");
    let log = d.path().join("log");
    // What hashes and odd input look like to a shell: `$`, quotes, backslashes.
    let text = "a@x:{SHA512-CRYPT}$6$r$`id`'\"\\n$(reboot):5000:5000:loket KDS-A:/v::\n\
                LOKET_EOF_0000000000000000\n";
    let mut p = write(
        &passwd,
        text,
        0o640,
        Some(&["sh", "-c", &format!("echo reload >> {}", log.display())]),
    );
    p.group = Some(own_group());
    let mut m = write(
        &maps,
        "a@x x/a/\n",
        0o644,
        Some(&["sh", "-c", &format!("echo postmap >> {}", log.display())]),
    );
    m.group = Some("no-such-group-here".into());
    let out = sh(&commit_script(&[m, p])).unwrap();
    assert_eq!(out, text, "the read-back is the passwd-file");
    assert_eq!(fs::read_to_string(&passwd).unwrap(), text);
    assert_eq!(fs::read_to_string(&maps).unwrap(), "a@x x/a/\n");
    assert_eq!(fs::read_to_string(&log).unwrap(), "postmap\nreload\n");
    let mode = |p: &Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode(&passwd), 0o640);
    assert_eq!(mode(&maps), 0o644);
    // No temp file left beside either.
    assert_eq!(
        entries(passwd.parent().unwrap()),
        std::slice::from_ref(&passwd)
    );
    assert_eq!(entries(maps.parent().unwrap()), std::slice::from_ref(&maps));

    // An empty table is an empty file, not a blank line.
    let out = sh(&commit_script(&[write(&passwd, "", 0o640, None)])).unwrap();
    assert_eq!(out, "");
    assert_eq!(fs::read(&passwd).unwrap(), b"");
}

#[test]
fn a_failing_step_stops_the_script_names_itself_and_keeps_the_old_file() {
    let d = tempfile::tempdir().unwrap();
    let maps = d.path().join("virtual_mailboxes");
    let passwd = d.path().join("users");
    fs::write(&passwd, "old\n").unwrap();
    let script = commit_script(&[
        write(&maps, "a@x x/a/\n", 0o644, Some(&["false", "postmap"])),
        write(&passwd, "new\n", 0o640, None),
    ]);
    let err = remote_error(sh(&script).unwrap_err()).to_string();
    assert_eq!(
        err, "mail host mail-1: step `false postmap` failed (exit 1)",
        "{err}"
    );
    assert_eq!(fs::read_to_string(&passwd).unwrap(), "old\n");

    // A directory that cannot be made: the command's own words come along.
    let blocked = d.path().join("users").join("sub/users");
    let err = remote_error(sh(&commit_script(&[write(&blocked, "x\n", 0o640, None)])).unwrap_err())
        .to_string();
    assert!(
        err.starts_with(&format!(
            "mail host mail-1: step `create the directory of {}` failed (exit 1): mkdir",
            blocked.display()
        )),
        "{err}"
    );
    assert_eq!(fs::read_to_string(&passwd).unwrap(), "old\n");
    assert_eq!(entries(d.path()), [passwd, maps], "no temp file left");
}

#[test]
fn a_stale_temp_file_goes_and_a_fresh_one_stays() {
    let d = tempfile::tempdir().unwrap();
    let passwd = d.path().join("users");
    let stale = d.path().join(".loket-stale000");
    let fresh = d.path().join(".loket-fresh000");
    fs::write(&stale, "torn").unwrap();
    fs::write(&fresh, "being written").unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 3600);
    fs::File::options()
        .write(true)
        .open(&stale)
        .unwrap()
        .set_modified(old)
        .unwrap();
    sh(&commit_script(&[write(&passwd, "x\n", 0o640, None)])).unwrap();
    assert_eq!(entries(d.path()), [fresh, passwd]);
}

#[test]
fn read_prints_the_file_or_nothing() {
    let d = tempfile::tempdir().unwrap();
    let p = d.path().join("it's users");
    assert_eq!(sh(&read_script(&p)).unwrap(), "");
    fs::write(&p, "a:b\n").unwrap();
    assert_eq!(sh(&read_script(&p)).unwrap(), "a:b\n");
    // A directory in its place cannot be read: an error, never an empty table.
    let dir = d.path().join("dir");
    fs::create_dir(&dir).unwrap();
    let err = remote_error(sh(&read_script(&dir)).unwrap_err()).to_string();
    assert!(err.contains("step `read "), "{err}");
}
