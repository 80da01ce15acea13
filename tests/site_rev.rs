//! `loket site --rev`: the site of a commit, rebuilt from what git says changed.
//! After every kind of change (a new ticket, a record, a removed request, a new
//! snapshot, the config), the incremental build must equal a full build of the same
//! input byte for byte, and it must have been incremental. A full build refuses a
//! working tree that is not the revision; a committed file that is wrong is refused.
mod common;
mod site;

use std::path::{Path, PathBuf};
use std::process::Command;

fn git(dir: &Path, args: &[&str]) {
    let o = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=loket-test",
            "-c",
            "user.email=test@localhost",
        ])
        .args(args)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
}

fn commit_all(repo: &Path, message: &str) {
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "-qm", message]);
}

/// The bundled instance in `<dir>/repo/<sub>`, committed.
fn repo_instance(dir: &Path, sub: &str) -> (PathBuf, PathBuf) {
    let repo = dir.join("repo");
    let inst = repo.join(sub);
    std::fs::create_dir_all(&inst).unwrap();
    site::copy_instance(&inst);
    git(&repo, &["init", "-q"]);
    commit_all(&repo, "instance");
    (repo, inst)
}

/// `loket site --rev HEAD`: (success, stderr with stage timings).
fn build_rev(inst: &Path, out: &Path, snapshot: Option<&Path>) -> (bool, String) {
    let mut args = vec!["--rev", "HEAD"];
    let snapshot = snapshot.map(|s| s.to_string_lossy().into_owned());
    if let Some(s) = &snapshot {
        args.extend(["--snapshot", s]);
    }
    site::try_build(inst, out, &args)
}

const INCREMENTAL: &str = "public model (changed tickets)";

/// Builds with --rev (expecting an incremental build or not) and compares the result
/// with a full build of the working tree (which is the commit) into a fresh folder.
fn check_against_full(
    tmp: &Path,
    inst: &Path,
    out: &Path,
    snapshot: Option<&Path>,
    incremental: bool,
    step: &str,
) {
    let (ok, log) = build_rev(inst, out, snapshot);
    assert!(ok, "{step}: loket site --rev failed:\n{log}");
    assert_eq!(
        log.contains(INCREMENTAL),
        incremental,
        "{step}: expected an incremental build: {incremental}\n{log}"
    );
    let fresh = tmp.join(format!("full-{}", step.replace(' ', "-")));
    site::build(inst, &fresh, snapshot);
    let (got, want) = (site::read_site(out), site::read_site(&fresh));
    let names =
        |m: &std::collections::BTreeMap<String, Vec<u8>>| m.keys().cloned().collect::<Vec<_>>();
    assert_eq!(names(&got), names(&want), "{step}: the files differ");
    for (path, bytes) in &want {
        assert!(
            got[path] == *bytes,
            "{step}: {path} differs from a full build"
        );
    }
}

fn set_outcome(record: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(record).unwrap();
    assert!(text.contains(from), "{}", record.display());
    std::fs::write(record, text.replacen(from, to, 1)).unwrap();
}

#[test]
fn each_commit_builds_only_what_changed_and_equals_a_full_build() {
    let tmp = tempfile::tempdir().unwrap();
    // In a subfolder, as an office may keep it inside a larger repository.
    let (repo, inst) = repo_instance(tmp.path(), "kudus");
    let out = tmp.path().join("public");
    check_against_full(tmp.path(), &inst, &out, None, false, "first");
    check_against_full(tmp.path(), &inst, &out, None, true, "no change");

    let ticket = site::add_ticket(&inst);
    commit_all(&repo, "a new ticket");
    check_against_full(tmp.path(), &inst, &out, None, true, "new ticket");
    assert!(out.join(format!("t/{ticket}/index.html")).is_file());

    // Its record changes: the apply failed after all.
    let record = inst.join(format!("records/{ticket}.toml"));
    set_outcome(&record, "outcome = \"processed\"", "outcome = \"failed\"");
    commit_all(&repo, "a record");
    check_against_full(tmp.path(), &inst, &out, None, true, "record");

    // The request goes (its record stays: the "as of" time still counts it).
    std::fs::remove_file(inst.join(format!("requests/{ticket}.toml"))).unwrap();
    std::fs::remove_file(inst.join("accounts/mail/tri.incremental@kuduskab.go.id.toml")).unwrap();
    commit_all(&repo, "request withdrawn");
    check_against_full(tmp.path(), &inst, &out, None, true, "removed request");
    assert!(!out.join(format!("t/{ticket}")).exists());

    // Open pull requests appear, then leave the snapshot.
    let pending = site::write_snapshot(tmp.path());
    check_against_full(
        tmp.path(),
        &inst,
        &out,
        Some(&pending.path),
        true,
        "snapshot",
    );
    for (t, _) in &pending.tickets {
        assert!(out.join(format!("t/{t}/index.html")).is_file(), "{t}");
    }
    let empty = tmp.path().join("empty-snapshot.toml");
    std::fs::write(
        &empty,
        "taken-at = \"2026-11-03T10:00:00+07:00\"\ntickets = []\n",
    )
    .unwrap();
    check_against_full(
        tmp.path(),
        &inst,
        &out,
        Some(&empty),
        true,
        "snapshot emptied",
    );
    for (t, _) in &pending.tickets {
        assert!(!out.join(format!("t/{t}")).exists(), "{t}");
    }

    // The config: every page may change, so everything is built.
    let config = inst.join("loket.toml");
    let text = std::fs::read_to_string(&config).unwrap();
    std::fs::write(
        &config,
        text.replacen("[office]\n", "[office]\n# reviewed\n", 1),
    )
    .unwrap();
    commit_all(&repo, "config");
    check_against_full(tmp.path(), &inst, &out, None, false, "config");
    check_against_full(tmp.path(), &inst, &out, None, true, "after config");
}

#[test]
fn a_full_build_refuses_a_working_tree_that_is_not_the_revision() {
    let tmp = tempfile::tempdir().unwrap();
    let (repo, inst) = repo_instance(tmp.path(), "");
    let out = tmp.path().join("public");
    // An untracked request, then a changed record: either would be published.
    let ticket = site::add_ticket(&inst);
    let (ok, log) = build_rev(&inst, &out, None);
    assert!(!ok && log.contains("differs from HEAD"), "{log}");
    assert!(log.contains("commit or stash"), "{log}");
    assert!(
        std::fs::symlink_metadata(&out).is_err(),
        "nothing is published"
    );
    commit_all(&repo, "a new ticket");
    let record = inst.join(format!("records/{ticket}.toml"));
    set_outcome(&record, "outcome = \"processed\"", "outcome = \"failed\"");
    let (ok, log) = build_rev(&inst, &out, None);
    assert!(!ok && log.contains("differs from HEAD"), "{log}");
    assert!(log.contains(&format!("records/{ticket}.toml")), "{log}");

    // After a full build, a later one publishes the commit, not the edit.
    git(&repo, &["checkout", "-q", "--", "."]);
    let (ok, log) = build_rev(&inst, &out, None);
    assert!(ok, "{log}");
    set_outcome(&record, "outcome = \"processed\"", "outcome = \"failed\"");
    let (ok, log) = build_rev(&inst, &out, None);
    assert!(ok && log.contains(INCREMENTAL), "{log}");
    let page = std::fs::read_to_string(out.join(format!("t/{ticket}/index.html"))).unwrap();
    assert!(page.contains("telah diproses") && !page.contains("gagal diproses"));
}

#[test]
fn a_committed_file_that_is_wrong_is_refused_and_the_site_kept() {
    let tmp = tempfile::tempdir().unwrap();
    let (repo, inst) = repo_instance(tmp.path(), "");
    let out = tmp.path().join("public");
    assert!(build_rev(&inst, &out, None).0);
    let published = std::fs::read_link(&out).unwrap();
    let before = site::read_site(&out);

    // A request under another ticket's file name (rule ticket-file-name).
    let ticket = site::add_ticket(&inst);
    let wrong = inst.join("requests/KDS-22222-22222.toml");
    std::fs::rename(inst.join(format!("requests/{ticket}.toml")), &wrong).unwrap();
    commit_all(&repo, "misnamed");
    let (ok, log) = build_rev(&inst, &out, None);
    assert!(!ok, "{log}");
    assert!(
        log.contains("requests/KDS-22222-22222.toml") && log.contains("ticket-file-name"),
        "{log}"
    );
    assert_eq!(std::fs::read_link(&out).unwrap(), published);
    assert!(
        site::read_site(&out) == before,
        "the published site changed"
    );

    // A record under another name: refused by an incremental and a full build alike.
    std::fs::rename(&wrong, inst.join(format!("requests/{ticket}.toml"))).unwrap();
    let record = inst.join("records/KDS-22222-22222.toml");
    std::fs::rename(inst.join(format!("records/{ticket}.toml")), &record).unwrap();
    commit_all(&repo, "misnamed record");
    let (ok, log) = build_rev(&inst, &out, None);
    assert!(!ok && log.contains("records/KDS-22222-22222.toml"), "{log}");
    let (ok, log) = site::try_build(&inst, &out, &[]);
    assert!(!ok && log.contains("records/KDS-22222-22222.toml"), "{log}");
    assert_eq!(std::fs::read_link(&out).unwrap(), published);
    std::fs::remove_file(&record).unwrap();

    // A request in a subfolder: a full build's `loket check` refuses it (L010), and
    // so does an incremental one; a scan kept in a subfolder is no request.
    let scans = inst.join("requests/scans");
    std::fs::create_dir_all(&scans).unwrap();
    std::fs::write(scans.join("surat.pdf"), b"%PDF-1.4").unwrap();
    commit_all(&repo, "a scan");
    let (ok, log) = build_rev(&inst, &out, None);
    assert!(ok && log.contains(INCREMENTAL), "{log}");
    let published = std::fs::read_link(&out).unwrap();
    let nested = scans.join("KDS-22222-22222.toml");
    std::fs::copy(inst.join(format!("requests/{ticket}.toml")), &nested).unwrap();
    commit_all(&repo, "nested");
    let (ok, log) = build_rev(&inst, &out, None);
    assert!(
        !ok && log.contains("requests/scans/KDS-22222-22222.toml") && log.contains("L010"),
        "{log}"
    );
    assert_eq!(std::fs::read_link(&out).unwrap(), published);
    std::fs::remove_file(&nested).unwrap();

    // A request that is not TOML: its place, line and column.
    std::fs::write(&wrong, "ticket = \"KDS-22222-22222\"\nkind = \n").unwrap();
    commit_all(&repo, "broken");
    let (ok, log) = build_rev(&inst, &out, None);
    assert!(!ok, "{log}");
    assert!(log.contains("requests/KDS-22222-22222.toml:2:"), "{log}");
    assert_eq!(std::fs::read_link(&out).unwrap(), published);

    // An unknown revision is named.
    let (ok, log) = site::try_build(&inst, &out, &["--rev", "no-such-branch"]);
    assert!(!ok && log.contains("no-such-branch"), "{log}");
}

#[test]
fn a_build_from_the_working_tree_is_not_a_base_for_rev_builds() {
    let tmp = tempfile::tempdir().unwrap();
    let (repo, inst) = repo_instance(tmp.path(), "");
    let out = tmp.path().join("public");
    site::build(&inst, &out, None);
    // The working-tree build names no tree, so this one builds everything...
    check_against_full(tmp.path(), &inst, &out, None, false, "after worktree build");
    // ...and a working-tree build in between makes the next one full again.
    site::add_ticket(&inst);
    commit_all(&repo, "a new ticket");
    site::build(&inst, &out, None);
    check_against_full(tmp.path(), &inst, &out, None, false, "after another");
}
