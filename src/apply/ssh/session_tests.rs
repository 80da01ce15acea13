//! Unit tests of the SSH transport's pure parts (the transport itself: tests/apply_ssh*.rs).

use super::*;

#[test]
fn quoting_survives_quotes_and_metacharacters() {
    assert_eq!(sh_quote("abc"), "'abc'");
    assert_eq!(sh_quote("a'b; rm -rf /"), r"'a'\''b; rm -rf /'");
}

#[test]
fn a_truncated_script_runs_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mark = dir.path().join("ran");
    let m = sh_quote(&mark.display().to_string());
    let full = wrap_script(&format!("echo a >> {m}\necho b >> {m}"));
    // Every cut before the call's last letter leaves nothing done.
    for cut in 0..full.len() - 1 {
        let mut child = Command::new("sh")
            .arg("-s")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(&full.as_bytes()[..cut])
            .unwrap();
        child.wait().unwrap();
        assert!(!mark.exists(), "cut at {cut} ran part of the script");
    }
    let mut child = Command::new("sh")
        .arg("-s")
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(full.as_bytes())
        .unwrap();
    child.wait().unwrap();
    assert_eq!(std::fs::read_to_string(&mark).unwrap(), "a\nb\n");
}

#[test]
fn host_key_must_parse() {
    let err = parse_host_key("app-1", "ssh-ed25519 notbase64").unwrap_err();
    assert!(matches!(err, SshError::BadHostKey { .. }), "{err}");
    let ok = parse_host_key(
        "app-1",
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINlRHbndlDyb8Z1Kb0Y/Jy5GjuyXBzlBpJpgYqcaZl+a c",
    )
    .unwrap();
    assert_eq!(ok.0, "ssh-ed25519");
    assert!(!ok.1.ends_with(" c"));
}

#[test]
fn sudo_refusals_are_told_apart_from_script_failures() {
    let said = |code, s| sudo_refusal(code, s);
    assert!(said(1, "sudo: a password is required").is_some());
    assert!(said(1, "sudo: sorry, you must have a tty to run sudo").is_some());
    assert!(said(127, "bash: line 1: sudo: command not found").is_some());
    assert!(said(127, "sh: 1: sudo: not found").is_some());
    // A script's own failure, even one mentioning sudo, is not sudo's refusal.
    assert!(said(1, "useradd: user 'x' already exists").is_none());
    assert!(said(3, "sudo: a password is required").is_none());
    assert!(
        said(
            1,
            "sudo: unable to resolve host h: Name or service not known"
        )
        .is_none()
    );
}

#[test]
fn mismatch_is_told_apart_from_refusal() {
    let t = SshTarget {
        server: "app-1".into(),
        address: "127.0.0.1".into(),
        port: 22,
        host_key: String::new(),
        admin_user: "root".into(),
        identity: PathBuf::new(),
    };
    let e = classify(
        &t,
        "root",
        "@@@ WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED! @@@\nHost key verification failed.",
    );
    assert!(matches!(e, SshError::HostKeyMismatch { .. }));
    let e = classify(&t, "x", "x@127.0.0.1: Permission denied (publickey).");
    assert!(matches!(e, SshError::AdminRefused { .. }));
    let e = classify(
        &t,
        "x",
        "ssh: connect to host 127.0.0.1 port 22: Connection refused",
    );
    assert!(matches!(e, SshError::Connect { .. }));
}
