//! `loket check` and `loket rules` through the real binary, on a copy of the bundled
//! Kudus instance: exit codes, output formats, `--skip`, `--base`, and the acceptance
//! case of the issue (a case or Cyrillic variant of an existing address).
mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use loket::ticket::Ticket;
use serde_json::Value;

/// A temporary copy of the bundled instance.
fn instance() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = common::repo_root();
    fs::copy(root.join("loket.toml"), dir.path().join("loket.toml")).unwrap();
    for sub in ["requests", "accounts"] {
        for e in walkdir::WalkDir::new(root.join(sub)) {
            let e = e.unwrap();
            let rel = e.path().strip_prefix(&root).unwrap();
            let to = dir.path().join(rel);
            if e.file_type().is_dir() {
                fs::create_dir_all(&to).unwrap();
            } else {
                fs::copy(e.path(), &to).unwrap();
            }
        }
    }
    dir
}

fn check(dir: &Path, args: &[&str]) -> Output {
    common::loket()
        .arg("-C")
        .arg(dir)
        .arg("check")
        .args(args)
        .env_remove("GITHUB_ACTIONS")
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// Writes a pending mail-create request for `address`; returns its path and the
/// 1-based line of the address.
fn request_for(dir: &Path, address: &str) -> (String, usize) {
    let t = Ticket::generate("KDS").to_string();
    let body = format!(
        "ticket = \"{t}\"\nkind = \"mail-create\"\nsubmitted = 2026-11-20T09:00:00+07:00\n\n[applicant]\nname = \"Budi Santoso Baru\"\nnip = \"199001012015031002\"\nopd = \"Dinas Kesehatan\"\nposition = \"Perawat\"\ncontact = \"081234567890\"\n\n[letter]\nnumber = \"800/77/11.2026\"\ndate = 2026-11-19\nsignatory = \"Kepala Dinas Kesehatan\"\n\n[mail]\naddress = \"{address}\"\n"
    );
    let rel = format!("requests/{t}.toml");
    fs::write(dir.join(&rel), body).unwrap();
    (rel, 18)
}

fn json(o: &Output) -> Vec<Value> {
    serde_json::from_slice::<Vec<Value>>(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {}", text(o)))
}

const EXISTING: &str = "accounts/mail/budi.santoso@kuduskab.go.id.toml";

#[test]
fn bundled_copy_is_clean_exit_0() {
    let dir = instance();
    let o = check(dir.path(), &[]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let o = check(dir.path(), &["--format", "json"]);
    assert_eq!(json(&o), Vec::<Value>::new());
}

fn assert_collision(address: &str) {
    let dir = instance();
    assert!(
        dir.path().join(EXISTING).exists(),
        "fixture: bundled account"
    );
    let (req, line) = request_for(dir.path(), address);
    let o = check(dir.path(), &[]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    let human = text(&o);
    assert!(
        human.contains("L024") && human.contains(&req) && human.contains(EXISTING),
        "{human}"
    );
    let o = check(dir.path(), &["--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    let diags = json(&o);
    let d = diags
        .iter()
        .find(|d| d["code"] == "L024")
        .unwrap_or_else(|| panic!("no L024 in {diags:#?}"));
    assert_eq!(d["file"], req);
    assert_eq!(d["line"], line);
    assert_eq!(d["related"][0]["file"], EXISTING);
    assert_eq!(d["related"][0]["line"], 1);
}

#[test]
fn case_variant_of_existing_address_fails_naming_both_sides() {
    assert_collision("Budi.Santoso@kuduskab.go.id");
}

#[test]
fn cyrillic_lookalike_of_existing_address_fails_naming_both_sides() {
    // U+0430 CYRILLIC SMALL LETTER A in place of the Latin a
    assert_collision("budi.s\u{0430}ntoso@kuduskab.go.id");
}

#[test]
fn json_has_every_field() {
    let dir = instance();
    request_for(dir.path(), "postmaster@kuduskab.go.id");
    let o = check(dir.path(), &["--format", "json"]);
    assert_eq!(o.status.code(), Some(1));
    for d in json(&o) {
        for key in [
            "code", "severity", "file", "line", "column", "message", "hint",
        ] {
            assert!(d.get(key).is_some(), "{key} missing in {d}");
        }
        assert!(d["line"].as_u64().unwrap() >= 1 && d["column"].as_u64().unwrap() >= 1);
    }
}

#[test]
fn skip_silences_a_rule() {
    let dir = instance();
    request_for(dir.path(), "Budi.Santoso@kuduskab.go.id");
    let o = check(dir.path(), &["--skip", "L024,mail-local-part"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
}

#[test]
fn usage_and_io_errors_exit_2() {
    let dir = instance();
    let o = check(dir.path(), &["--skip", "L999"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = check(&dir.path().join("nowhere"), &[]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    let o = check(dir.path(), &["--base", "no-such-rev"]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
}

#[test]
fn github_annotations_under_actions() {
    let dir = instance();
    let (req, line) = request_for(dir.path(), "Budi.Santoso@kuduskab.go.id");
    let o = common::loket()
        .arg("-C")
        .arg(dir.path())
        .args(["check"])
        .env("GITHUB_ACTIONS", "true")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    let out = String::from_utf8_lossy(&o.stdout);
    let want = format!("::error file={req},line={line},");
    assert!(
        out.lines()
            .any(|l| l.starts_with(&want) && l.contains("title=L024::")),
        "{out}"
    );
}

#[test]
fn rules_lists_every_code() {
    let o = common::loket().arg("rules").output().unwrap();
    assert!(o.status.success());
    let listed: Vec<String> = String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    let codes: Vec<String> = loket::check::RULES
        .iter()
        .map(|r| r.code.to_string())
        .collect();
    assert_eq!(listed, codes);
    assert!(codes.len() >= 30, "{codes:?}");
}

#[test]
fn not_utf8_is_a_diagnostic_not_a_crash() {
    let dir = instance();
    let (req, _) = request_for(dir.path(), "siti.baru@kuduskab.go.id");
    let mut bytes = fs::read(dir.path().join(&req)).unwrap();
    bytes.extend_from_slice(b"\n# \xff\xfe broken\n");
    fs::write(dir.path().join(&req), bytes).unwrap();
    let o = check(dir.path(), &["--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(
        json(&o)
            .iter()
            .any(|d| d["code"] == "L001" && d["file"] == req.as_str())
    );
}

/// Commits everything in `dir` with git2 and returns the repository path.
fn commit_all(dir: &Path) -> PathBuf {
    let repo = git2::Repository::init(dir).unwrap();
    let mut index = repo.index().unwrap();
    index
        .add_all(["*"], git2::IndexAddOption::DEFAULT, None)
        .unwrap();
    index.write().unwrap();
    let tree = repo.find_tree(index.write_tree().unwrap()).unwrap();
    let sig = git2::Signature::now("test", "test@example.invalid").unwrap();
    repo.commit(Some("HEAD"), &sig, &sig, "base", &tree, &[])
        .unwrap();
    dir.to_path_buf()
}

#[test]
fn base_catches_edited_request_and_flags_config_change() {
    let dir = instance();
    let root = commit_all(dir.path());
    let o = check(&root, &["--base", "HEAD"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    // loket.toml changed: a warning, still exit 0
    let cfg = fs::read_to_string(root.join("loket.toml")).unwrap();
    fs::write(
        root.join("loket.toml"),
        cfg.replace("max-days = 90", "max-days = 60"),
    )
    .unwrap();
    let o = check(&root, &["--base", "HEAD", "--format", "json"]);
    assert_eq!(o.status.code(), Some(0), "{}", text(&o));
    let diags = json(&o);
    assert!(
        diags
            .iter()
            .any(|d| d["code"] == "L073" && d["severity"] == "warning"),
        "{diags:#?}"
    );
    // a merged request edited: an error
    let first = fs::read_dir(root.join("requests"))
        .unwrap()
        .next()
        .unwrap()
        .unwrap()
        .path();
    let t = fs::read_to_string(&first).unwrap();
    fs::write(&first, t.replacen("contact = \"", "contact = \"+62", 1)).unwrap();
    let o = check(&root, &["--base", "HEAD", "--format", "json"]);
    assert_eq!(o.status.code(), Some(1), "{}", text(&o));
    assert!(json(&o).iter().any(|d| d["code"] == "L070"));
}
