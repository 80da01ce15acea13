//! Own only what loket made (issue 12, item 2): the passwd-file, the Postfix maps
//! and the key folders carry loket's marker; a file without it, or with a line loket
//! does not write, is refused and left byte for byte as it was; `loket adopt-files`
//! is the one explicit step that takes over files an earlier loket wrote. Local
//! files only: no daemon needed.

#[path = "common/apply.rs"]
mod apply;
mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use apply::*;

const MARK: &str = "# managed by loket";

struct Setup {
    _tmp: tempfile::TempDir,
    inst: PathBuf,
    state: PathBuf,
    passwd: PathBuf,
    domains: PathBuf,
    mailboxes: PathBuf,
}

fn setup_with(passwd_file: Option<&str>) -> Setup {
    let tmp = tempfile::tempdir().unwrap();
    let id = age::x25519::Identity::generate();
    let state = tmp.path().join("state");
    let m = state.join("mail");
    let passwd = m.join("passwd");
    let mail = format!(
        "[backends.mail]\ntype = \"dovecot\"\npasswd-file = \"{}\"\n\
         virtual-domains = \"{m}/virtual_domains\"\nvirtual-mailboxes = \"{m}/virtual_mailboxes\"\n",
        passwd_file
            .map(String::from)
            .unwrap_or(passwd.display().to_string()),
        m = m.display()
    );
    let inst = instance(
        tmp.path(),
        &backends(&id.to_public().to_string(), &mail, &state),
    );
    Setup {
        domains: m.join("virtual_domains"),
        mailboxes: m.join("virtual_mailboxes"),
        passwd,
        inst,
        state,
        _tmp: tmp,
    }
}

fn setup() -> Setup {
    setup_with(None)
}

fn mode(p: &Path) -> u32 {
    fs::metadata(p).unwrap().permissions().mode() & 0o7777
}

/// The file as it is (bytes and mode), to compare after a refused run.
fn snapshot(p: &Path) -> (Vec<u8>, u32) {
    (fs::read(p).unwrap(), mode(p))
}

fn applied(s: &Setup) {
    let a = loket(&s.inst, &["apply"]);
    assert_eq!(code(&a), 0, "{}", text(&a));
}

#[test]
fn a_copy_of_etc_passwd_is_refused_and_left_untouched() {
    let s = setup();
    fs::create_dir_all(s.passwd.parent().unwrap()).unwrap();
    fs::copy("/etc/passwd", &s.passwd).unwrap();
    fs::set_permissions(&s.passwd, fs::Permissions::from_mode(0o644)).unwrap();
    let before = snapshot(&s.passwd);
    for args in [&["plan"][..], &["apply"], &["adopt-files"]] {
        let out = loket(&s.inst, args);
        assert_eq!(code(&out), 1, "{args:?}: {}", text(&out));
        let label = s.passwd.display().to_string();
        assert!(text(&out).contains(&label), "{args:?}: {}", text(&out));
        assert!(
            text(&out).contains("not a dovecot passwd-file loket manages")
                || text(&out).contains("not a passwd-file line as loket writes it"),
            "{args:?}: {}",
            text(&out)
        );
        assert_eq!(snapshot(&s.passwd), before, "{args:?} changed the file");
        assert!(!s.mailboxes.exists(), "{args:?} wrote the mailbox map");
    }
    // The key folders (another backend) are unharmed and written as usual.
    assert!(s.state.join("keys/app-1/.managed-by-loket").is_file());
}

#[test]
fn passwd_file_set_to_etc_passwd_is_refused_by_plan() {
    // `plan` never writes; it is enough to show the real file is refused.
    let s = setup_with(Some("/etc/passwd"));
    let out = loket(&s.inst, &["plan"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(
        text(&out).contains("/etc/passwd: not a dovecot passwd-file loket manages"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_marked_file_round_trips() {
    let s = setup();
    applied(&s);
    for f in [&s.passwd, &s.domains, &s.mailboxes] {
        let t = fs::read_to_string(f).unwrap();
        assert!(t.starts_with(MARK), "{}: {t}", f.display());
    }
    assert_eq!(mode(&s.passwd), 0o640);
    let before: Vec<_> = [&s.passwd, &s.domains, &s.mailboxes]
        .iter()
        .map(|p| snapshot(p))
        .collect();
    let plan = loket(&s.inst, &["plan"]);
    assert_eq!(code(&plan), 0, "{}", text(&plan));
    applied(&s);
    let after: Vec<_> = [&s.passwd, &s.domains, &s.mailboxes]
        .iter()
        .map(|p| snapshot(p))
        .collect();
    assert_eq!(before, after);
    // A change rewrites the file: still marked, every other line as it was.
    set_account(
        &s.inst,
        BAMBANG,
        "disabled",
        &[BAMBANG_CREATE, BAMBANG_DEACTIVATE],
    );
    applied(&s);
    let t = fs::read_to_string(&s.passwd).unwrap();
    assert!(t.starts_with(MARK));
    assert!(
        t.lines()
            .any(|l| l.starts_with(BAMBANG) && l.ends_with("::nologin"))
    );
    let adopt = loket(&s.inst, &["adopt-files"]);
    assert_eq!(code(&adopt), 0, "{}", text(&adopt));
    assert!(
        text(&adopt).contains("already managed by loket"),
        "{}",
        text(&adopt)
    );
}

#[test]
fn a_line_cut_mid_hash_is_refused() {
    let s = setup();
    applied(&s);
    let text0 = fs::read_to_string(&s.passwd).unwrap();
    let line = text0.lines().find(|l| l.contains("}$6$")).unwrap();
    let cut = &line[..line.find("}$6$").unwrap() + 40];
    // Cut at the end of the file (a torn write), and a cut line in the middle.
    for bad in [
        text0.replace(&format!("{line}\n"), "") + cut,
        text0.replace(line, cut),
    ] {
        fs::write(&s.passwd, &bad).unwrap();
        let before = snapshot(&s.passwd);
        set_account(
            &s.inst,
            BAMBANG,
            "disabled",
            &[BAMBANG_CREATE, BAMBANG_DEACTIVATE],
        );
        for args in [&["plan"][..], &["apply"]] {
            let out = loket(&s.inst, args);
            assert_eq!(code(&out), 1, "{args:?}: {}", text(&out));
            assert!(
                text(&out).contains(&s.passwd.display().to_string())
                    && text(&out).contains("cut short"),
                "{args:?}: {}",
                text(&out)
            );
            assert_eq!(snapshot(&s.passwd), before);
        }
    }
}

#[test]
fn foreign_maps_and_key_folders_are_refused() {
    let s = setup();
    fs::create_dir_all(s.mailboxes.parent().unwrap()).unwrap();
    let map = "postmaster@kuduskab.go.id kuduskab.go.id/postmaster/\n";
    fs::write(&s.mailboxes, map).unwrap();
    let out = loket(&s.inst, &["apply"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(
        text(&out).contains("not a postfix virtual mailbox map loket manages"),
        "{}",
        text(&out)
    );
    assert_eq!(fs::read_to_string(&s.mailboxes).unwrap(), map);
    assert!(!s.passwd.exists());

    let s = setup();
    let app = s.state.join("keys/app-1");
    fs::create_dir_all(&app).unwrap();
    let keys = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 admin@laptop\n";
    fs::write(app.join("deploy"), keys).unwrap();
    let out = loket(&s.inst, &["apply"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(
        text(&out).contains("not a key folder loket manages"),
        "{}",
        text(&out)
    );
    assert_eq!(
        fs::read_dir(&app).unwrap().count(),
        1,
        "nothing written there"
    );
    assert_eq!(fs::read_to_string(app.join("deploy")).unwrap(), keys);
}

#[test]
fn files_of_an_earlier_loket_are_adopted_by_one_explicit_step() {
    let s = setup();
    applied(&s);
    // As a loket before the marker left them.
    let files = [&s.passwd, &s.domains, &s.mailboxes];
    for f in files {
        let t = fs::read_to_string(f).unwrap();
        let body: String = t.lines().skip(1).map(|l| format!("{l}\n")).collect();
        fs::write(f, body).unwrap();
    }
    fs::remove_file(s.state.join("keys/app-1/.managed-by-loket")).unwrap();
    let old: Vec<_> = files.iter().map(|p| snapshot(p)).collect();

    // Apply does not take them over.
    set_account(
        &s.inst,
        BAMBANG,
        "disabled",
        &[BAMBANG_CREATE, BAMBANG_DEACTIVATE],
    );
    let out = loket(&s.inst, &["apply"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(text(&out).contains("loket adopt-files"), "{}", text(&out));
    assert_eq!(files.iter().map(|p| snapshot(p)).collect::<Vec<_>>(), old);

    // A dry run checks and says what it would do.
    let dry = loket(&s.inst, &["adopt-files", "--dry-run"]);
    assert_eq!(code(&dry), 0, "{}", text(&dry));
    assert!(text(&dry).contains("would adopt"), "{}", text(&dry));
    assert_eq!(files.iter().map(|p| snapshot(p)).collect::<Vec<_>>(), old);

    let adopt = loket(&s.inst, &["adopt-files"]);
    assert_eq!(code(&adopt), 0, "{}", text(&adopt));
    assert!(
        text(&adopt).contains(&format!("{}: adopted", s.passwd.display())),
        "{}",
        text(&adopt)
    );
    for (f, (bytes, _)) in files.iter().zip(&old) {
        let t = fs::read(f).unwrap();
        assert!(t.starts_with(MARK.as_bytes()));
        assert!(t.ends_with(bytes), "only the marker is added");
    }
    assert!(s.state.join("keys/app-1/.managed-by-loket").is_file());
    applied(&s);
    let plan = loket(&s.inst, &["plan"]);
    assert_eq!(code(&plan), 0, "{}", text(&plan));
}
