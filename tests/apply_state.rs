//! `loket apply`'s own state under attack, with the file-based backends (no
//! daemons): journal and unverified entries are validated; the
//! state folder's modes hold under umask 000; links, other users' folders and FIFOs
//! are refused without hanging; a run that cannot write records names its tickets.

#[path = "common/apply.rs"]
mod apply;
mod common;

use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use loket::model::record::{Outcome, Progress};

use apply::*;

fn file_mail(state: &Path) -> String {
    format!(
        "[backends.mail]\ntype = \"dovecot\"\npasswd-file = \"{s}/mail/passwd\"\n\
         virtual-mailboxes = \"{s}/mail/virtual_mailboxes\"\n",
        s = state.display()
    )
}

/// Every record's outcome, by ticket.
fn outcomes(inst: &Path) -> Vec<(String, Outcome)> {
    let mut out = Vec::new();
    for e in fs::read_dir(inst.join("records")).unwrap() {
        let p = e.unwrap().path();
        let r: Progress = toml::from_str(&fs::read_to_string(&p).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        out.push((r.ticket, r.outcome));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

/// Temp files of atomic writes anywhere under `dir`.
fn temps(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".loket-"))
        .map(|e| e.path().to_path_buf())
        .collect()
}

fn mode(p: &Path) -> u32 {
    fs::symlink_metadata(p).unwrap().permissions().mode() & 0o7777
}

/// Runs `loket` with `env`, failing the test if it does not end within a minute
/// (a bound against hangs, not a timing assertion).
fn loket_bounded(inst: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = common::loket();
    cmd.arg("-C")
        .arg(inst)
        .args(args)
        .env_remove("GITHUB_RUN_ID")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let mut child = cmd.spawn().unwrap();
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            child.kill().unwrap();
            let out = child.wait_with_output().unwrap();
            panic!("loket {args:?} hung: {}", text(&out));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

#[test]
fn a_journal_intent_naming_a_path_or_an_unknown_ticket_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let id = age::x25519::Identity::generate();
    let state = tmp.path().join("state");
    let inst = instance(
        tmp.path(),
        &backends(&id.to_public().to_string(), &file_mail(&state), &state),
    );
    fs::create_dir_all(&state).unwrap();
    let intent = |ticket: &str| {
        format!(
            "{{\"op\":\"intent\",\"run\":\"evil\",\"change\":{{\"backend\":\"dovecot\",\
             \"tickets\":[\"{ticket}\"],\"action\":\"create\",\"target\":{{\"kind\":\"mail\",\
             \"address\":\"x@kuduskab.go.id\",\"active\":true}}}}}}\n"
        )
    };
    let records_before = outcomes(&inst);
    let unknown = loket::ticket::Ticket::generate("KDS").to_string();
    for (ticket, says) in [
        ("../x", "is not a ticket of this office"),
        ("../../outside", "is not a ticket of this office"),
        (unknown.as_str(), "has no request"),
    ] {
        fs::write(state.join("journal.jsonl"), intent(ticket)).unwrap();
        let apply = loket(&inst, &["apply"]);
        assert_eq!(code(&apply), 1, "{}", text(&apply));
        assert!(
            text(&apply).contains("journal.jsonl") && text(&apply).contains(says),
            "{}",
            text(&apply)
        );
        assert!(!inst.join("x.toml").exists() && !tmp.path().join("outside.toml").exists());
        assert!(!state.join("mail/passwd").exists(), "nothing applied");
        assert_eq!(outcomes(&inst), records_before, "no record written");
    }
    // `plan` reads the journal too, and refuses it the same way.
    fs::write(state.join("journal.jsonl"), intent("../x")).unwrap();
    let plan = loket(&inst, &["plan"]);
    assert_eq!(code(&plan), 1, "{}", text(&plan));
    assert!(text(&plan).contains("journal.jsonl"), "{}", text(&plan));
    // The same for the unverified list.
    fs::remove_file(state.join("journal.jsonl")).unwrap();
    fs::write(
        state.join("unverified.json"),
        "[{\"backend\":\"dovecot\",\"tickets\":[\"../x\"],\"action\":\"create\",\
         \"target\":{\"kind\":\"mail\",\"address\":\"x@kuduskab.go.id\",\"active\":true}}]",
    )
    .unwrap();
    for cmd in ["plan", "apply"] {
        let o = loket(&inst, &[cmd]);
        assert_eq!(code(&o), 1, "{}", text(&o));
        assert!(text(&o).contains("unverified.json"), "{}", text(&o));
    }
    assert!(!inst.join("x.toml").exists());
}

#[test]
fn state_modes_are_set_explicitly_under_umask_000() {
    let tmp = tempfile::tempdir().unwrap();
    let id = age::x25519::Identity::generate();
    let state = tmp.path().join("state");
    let inst = instance(
        tmp.path(),
        &backends(&id.to_public().to_string(), &file_mail(&state), &state),
    );
    let o = Command::new("sh")
        .arg("-c")
        .arg("umask 000; exec \"$0\" -C \"$1\" apply")
        .arg(env!("CARGO_BIN_EXE_loket"))
        .arg(&inst)
        .env("LOKET_APPROVALS", "records")
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert_eq!(mode(&state), 0o700);
    assert_eq!(mode(&state.join("outbox")), 0o700);
    assert_eq!(mode(&state.join("journal.jsonl")), 0o600);
    assert_eq!(mode(&state.join("apply.lock")), 0o600);
    let sealed: Vec<_> = fs::read_dir(state.join("outbox")).unwrap().collect();
    assert!(!sealed.is_empty());
    for e in sealed {
        assert_eq!(mode(&e.unwrap().path()), 0o600);
    }
    // Folders made for backend files are not world-writable either.
    assert_eq!(mode(&state.join("mail")), 0o755);
    assert_eq!(mode(&state.join("keys")), 0o755);
    for e in walkdir::WalkDir::new(&state) {
        let e = e.unwrap();
        assert_eq!(
            mode(e.path()) & 0o002,
            0,
            "{} is world-writable",
            e.path().display()
        );
    }

    // A state folder left wide open (by hand, or by an older loket) is tightened, and
    // temp files of a killed run are cleaned from it and from the outbox.
    fs::set_permissions(&state, fs::Permissions::from_mode(0o777)).unwrap();
    fs::write(state.join("outbox/.loket-killed"), "sealed temp").unwrap();
    fs::write(state.join(".loket-killed"), "list temp").unwrap();
    let o = Command::new("sh")
        .arg("-c")
        .arg("umask 000; exec \"$0\" -C \"$1\" apply")
        .arg(env!("CARGO_BIN_EXE_loket"))
        .arg(&inst)
        .env("LOKET_APPROVALS", "records")
        .output()
        .unwrap();
    assert_eq!(code(&o), 0, "{}", text(&o));
    assert_eq!(mode(&state), 0o700);
    assert_eq!(temps(tmp.path()), Vec::<PathBuf>::new());
}

#[test]
fn a_symlinked_or_foreign_state_folder_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let id = age::x25519::Identity::generate();
    let state = tmp.path().join("state");
    let inst = instance(
        tmp.path(),
        &backends(&id.to_public().to_string(), &file_mail(&state), &state),
    );
    let elsewhere = tmp.path().join("someone-elses");
    fs::create_dir_all(&elsewhere).unwrap();
    std::os::unix::fs::symlink(&elsewhere, &state).unwrap();
    for cmd in [&["apply"][..], &["apply", "--dry-run"], &["plan"]] {
        let o = loket(&inst, cmd);
        assert_eq!(code(&o), 1, "{cmd:?}: {}", text(&o));
        assert!(text(&o).contains("symbolic link"), "{}", text(&o));
    }
    assert_eq!(
        fs::read_dir(&elsewhere).unwrap().count(),
        0,
        "nothing written"
    );

    // The outbox, too, must be loket's own.
    fs::remove_file(&state).unwrap();
    fs::create_dir_all(&state).unwrap();
    std::os::unix::fs::symlink(&elsewhere, state.join("outbox")).unwrap();
    let o = loket(&inst, &["apply"]);
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert!(text(&o).contains("outbox") && text(&o).contains("symbolic link"));
    assert_eq!(
        fs::read_dir(&elsewhere).unwrap().count(),
        0,
        "nothing sealed there"
    );
    fs::remove_file(state.join("outbox")).unwrap();

    // Another user's state folder (only root can make one here).
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } == 0 {
        std::os::unix::fs::chown(&state, Some(65534), Some(65534)).unwrap();
        let o = loket(&inst, &["apply"]);
        assert_eq!(code(&o), 1, "{}", text(&o));
        assert!(text(&o).contains("owned by uid 65534"), "{}", text(&o));
        assert_eq!(fs::metadata(&state).unwrap().uid(), 65534);
        assert!(!state.join("journal.jsonl").exists());
    } else {
        eprintln!("SKIPPED: a state folder of another user needs root to make");
    }
}

#[test]
fn a_fifo_in_place_of_the_state_files_is_refused_without_hanging() {
    let tmp = tempfile::tempdir().unwrap();
    let id = age::x25519::Identity::generate();
    let state = tmp.path().join("state");
    let inst = instance(
        tmp.path(),
        &backends(&id.to_public().to_string(), &file_mail(&state), &state),
    );
    fs::create_dir_all(&state).unwrap();
    let mkfifo = |p: &Path| {
        let c = std::ffi::CString::new(p.to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    };
    for (file, cmds) in [
        (
            "journal.jsonl",
            &[&["apply"][..], &["plan"], &["apply", "--dry-run"]][..],
        ),
        ("apply.lock", &[&["apply"][..]]),
        ("unverified.json", &[&["apply"][..], &["plan"]]),
    ] {
        let p = state.join(file);
        let _ = fs::remove_file(&p); // the lock an earlier refused run left
        mkfifo(&p);
        for cmd in cmds {
            let o = loket_bounded(&inst, cmd, &[]);
            assert_eq!(code(&o), 1, "{file} {cmd:?}: {}", text(&o));
            assert!(
                text(&o).contains(file) && text(&o).contains("FIFO"),
                "{}",
                text(&o)
            );
        }
        fs::remove_file(&p).unwrap();
    }
    assert!(!state.join("mail/passwd").exists(), "nothing applied");
    // With the FIFOs gone the same instance applies.
    let o = loket(&inst, &["apply"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
}

#[test]
fn a_run_that_cannot_write_records_names_its_tickets_and_the_next_finishes() {
    let tmp = tempfile::tempdir().unwrap();
    let id = age::x25519::Identity::generate();
    let state = tmp.path().join("state");
    let inst = instance(
        tmp.path(),
        &backends(&id.to_public().to_string(), &file_mail(&state), &state),
    );
    set_account(&inst, LESTARI, "active", &[LESTARI_CREATE]);
    set_account(&inst, BAMBANG, "active", &[BAMBANG_CREATE]);
    // One record apply must write holds another ticket's record (tests run as root,
    // so no permission can stop the write): the records gate still reads it as an
    // approval, but apply refuses to write one ticket's events into another's record.
    let blocker = inst.join(format!("records/{BAMBANG_CREATE}.toml"));
    let saved = fs::read_to_string(&blocker).unwrap();
    fs::copy(
        inst.join(format!("records/{LESTARI_CREATE}.toml")),
        &blocker,
    )
    .unwrap();
    let o = loket(&inst, &["apply", "--run", "blocked-1"]);
    let err = String::from_utf8_lossy(&o.stderr).to_string();
    assert_eq!(code(&o), 1, "{}", text(&o));
    assert!(err.contains("could not record"), "{err}");
    for t in [LESTARI_CREATE, BAMBANG_CREATE] {
        assert!(err.contains(t), "{t} not named: {err}");
    }
    assert!(state.join("mail/passwd").exists(), "accounts were changed");
    // `plan` shows the unrecorded changes as work left.
    let plan = loket(&inst, &["plan"]);
    assert_eq!(code(&plan), 2, "{}", text(&plan));
    assert!(text(&plan).contains(LESTARI), "{}", text(&plan));

    fs::write(&blocker, saved).unwrap();
    let o = loket(&inst, &["apply", "--run", "unblocked-2"]);
    assert_eq!(code(&o), 0, "{}", text(&o));
    for t in [LESTARI_CREATE, BAMBANG_CREATE] {
        let r = fs::read_to_string(inst.join(format!("records/{t}.toml"))).unwrap();
        assert!(r.contains("outcome = \"done\""), "{t}: {r}");
        assert!(r.contains("run = \"unblocked-2\""), "{t}: {r}");
    }
    assert_eq!(code(&loket(&inst, &["plan"])), 0);
    // The password sealed last opens the live account.
    let passwd = fs::read_to_string(state.join("mail/passwd")).unwrap();
    let line = passwd.lines().find(|l| l.starts_with(LESTARI)).unwrap();
    let hash = line
        .split(':')
        .nth(1)
        .unwrap()
        .trim_start_matches("{SHA512-CRYPT}");
    let pw = sealed_password(&state, LESTARI_CREATE, &id);
    assert!(loket::apply::credentials::crypt_matches(&pw, hash));
}
