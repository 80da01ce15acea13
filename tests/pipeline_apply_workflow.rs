//! The whole pipeline as CI runs it: pull requests reviewed on the fake GitHub, merged
//! (one properly, one by an admin without reviews), then the apply workflow's own
//! `run:` steps, as `loket workflows` writes them into the office's repository, read
//! from its `.github/workflows/apply.yml` and executed in order by bash with the
//! environment the runner would set (job and step `env:`, `GITHUB_PATH`,
//! `RUNNER_TEMP`). loket comes from a release folder served as a `file://` URL and
//! is checked against its pinned SHA-256; nothing is built. Only the approved ticket
//! reaches the backends, and its trail reaches `main` through the records commit.
mod common;
#[path = "common/fake_forge.rs"]
mod fake_forge;
#[path = "common/office.rs"]
mod office;

#[path = "common/workflow.rs"]
mod workflow;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use fake_forge::{Flavor, NAME, OWNER, TOKEN, git};
use office::*;
use workflow::{Job, Step};

const RUN_ID: &str = "4242";

/// What `${{ … }}` expressions in the apply workflow evaluate to here.
fn known() -> BTreeMap<String, String> {
    [
        ("github.token", TOKEN.to_string()),
        ("secrets.GITHUB_TOKEN", TOKEN.to_string()),
        ("github.run_id", RUN_ID.to_string()),
        ("github.repository", format!("{OWNER}/{NAME}")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

/// The apply job's steps in the office's repository.
fn steps(dir: &Path) -> Vec<Step> {
    let file = dir.join(".github/workflows/apply.yml");
    assert_eq!(
        workflow::jobs(&file),
        ["apply"],
        "apply.yml: one job expected"
    );
    let known = known();
    workflow::steps(&file, "apply", &workflow::lookup(&known))
}

/// The runner's side: a `cargo` that fails the job if anything builds, the office's
/// workflows written by `loket workflows` for the published release (pinned to its
/// SHA-256), and the checkout's remote. Returns the runner's PATH and the asset.
fn runner(o: &Office, tmp: &Path) -> (String, std::path::PathBuf) {
    let path = workflow::runner_path(tmp);
    let release = workflow::publish_release(tmp);
    let out = Command::new(env!("CARGO_BIN_EXE_loket"))
        .arg("-C")
        .arg(&o.dir)
        .args([
            "workflows",
            "--forge",
            "github",
            "--release-sha256",
            &release.sha256,
            "--release-url",
            &release.url,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", office::text(&out));
    std::fs::write(o.dir.join(".gitignore"), "/state\n").unwrap();
    git(&o.dir, &["add", ".gitignore", ".github"]);
    git(&o.dir, &["commit", "-qm", "the office's workflows"]);
    let origin = tmp.join("origin.git");
    git(tmp, &["init", "-q", "--bare", origin.to_str().unwrap()]);
    git(
        &o.dir,
        &["remote", "add", "origin", origin.to_str().unwrap()],
    );
    git(&o.dir, &["push", "-q", "origin", "main"]);
    (path, release.asset)
}

/// Runs the apply job's steps in order as the runner would, in the office's work
/// tree (the checkout; `actions/checkout` itself does nothing here).
fn run_job(o: &Office, tmp: &Path, path: &str) -> Job {
    let runner_temp = tmp.join("runner_temp");
    std::fs::create_dir_all(&runner_temp).unwrap();
    let env: BTreeMap<String, String> = [
        ("CI", "true".to_string()),
        ("GITHUB_ACTIONS", "true".to_string()),
        ("GITHUB_RUN_ID", RUN_ID.to_string()),
        ("GITHUB_REPOSITORY", format!("{OWNER}/{NAME}")),
        ("GITHUB_API_URL", o.forge.api_url.clone()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let runner = workflow::Runner {
        workspace: &o.dir,
        temp: &runner_temp,
        home: tmp,
        path,
        env: &env,
    };
    workflow::run_steps(&steps(&o.dir), &runner, &mut |_| Ok(String::new()))
}

#[test]
fn only_approved_tickets_reach_the_backends_through_the_apply_workflow() {
    let mut o = Office::new(Flavor::GitHub);
    let tmp = tempfile::tempdir().unwrap();
    // Before any pull request, so its commit is the founding history's.
    let (path, _) = runner(&o, tmp.path());
    let m = o.open(OPERATOR, &Office::mail_files());
    o.approve_sop(m);
    o.merge(m);
    // An admin merges a grant nobody approved.
    let g = o.open(OPERATOR, &Office::grant_files());
    o.merge(g);
    git(&o.dir, &["push", "-q", "origin", "main"]);

    let job = run_job(&o, tmp.path(), &path);
    let (ran, log) = (&job.ran, job.log());
    // The pinned release was installed and checked, then ran.
    assert!(ran[0].0.starts_with("Install loket") && ran[0].1, "{log}");
    // The apply step ran, refused the grant (so the job fails), applied the mail.
    assert!(ran.iter().any(|(_, _, t)| t.contains("REFUSED")), "{log}");
    assert!(
        job.failed,
        "the job must fail while a change is refused\n{log}"
    );
    assert!(o.passwd().contains("dimas.hartono@kuduskab.go.id"), "{log}");
    assert!(!o.keys().contains(GRANT_KEY), "{log}");
    // The records commit step (always) pushed the approved ticket's trail only.
    let pushed = git(
        &o.dir,
        &["ls-tree", "-r", "--name-only", "origin/main", "records/"],
    );
    assert!(
        pushed.contains(&format!("records/{MAIL}.toml")),
        "{pushed}\n{log}"
    );
    assert!(!pushed.contains(GRANT), "{pushed}\n{log}");
    let trail = git(
        &o.dir,
        &["show", &format!("origin/main:records/{MAIL}.toml")],
    );
    assert!(
        trail.contains(KASI) && trail.contains("outcome = \"done\""),
        "{trail}"
    );
}

#[test]
fn a_release_that_does_not_match_its_pin_never_runs() {
    let mut o = Office::new(Flavor::GitHub);
    let tmp = tempfile::tempdir().unwrap();
    let (path, asset) = runner(&o, tmp.path());
    let m = o.open(OPERATOR, &Office::mail_files());
    o.approve_sop(m);
    o.merge(m);
    git(&o.dir, &["push", "-q", "origin", "main"]);
    // The published file is swapped after the pin was taken (a tampered mirror).
    let mut bytes = std::fs::read(&asset).unwrap();
    bytes.extend_from_slice(b"\n#!/bin/sh\n");
    std::fs::write(&asset, bytes).unwrap();

    let job = run_job(&o, tmp.path(), &path);
    let log = job.log();
    assert!(job.failed, "{log}");
    let (name, ok, text) = &job.ran[0];
    assert!(name.starts_with("Install loket") && !ok, "{log}");
    assert!(
        text.contains("FAILED"),
        "sha256sum names the mismatch: {log}"
    );
    // Only the always() records step ran after it, with nothing to commit.
    assert_eq!(job.ran.len(), 2, "{log}");
    assert!(
        !o.passwd().contains("dimas.hartono@kuduskab.go.id"),
        "{log}"
    );
}

#[test]
fn the_records_step_pushes_nothing_but_records() {
    let o = Office::new(Flavor::GitHub);
    let tmp = tempfile::tempdir().unwrap();
    let (path, _) = runner(&o, tmp.path());
    // An earlier step (or whatever ran on the runner) left a commit touching code.
    std::fs::create_dir_all(o.dir.join("src")).unwrap();
    std::fs::write(o.dir.join("src/evil.rs"), "// not a record\n").unwrap();
    git(&o.dir, &["add", "src"]);
    git(&o.dir, &["commit", "-qm", "sneaked in"]);
    std::fs::create_dir_all(o.dir.join("records")).unwrap();
    std::fs::write(
        o.dir.join("records/KDS-AAAAA-AAAAA.toml"),
        "ticket = \"x\"\n",
    )
    .unwrap();
    let step = steps(&o.dir)
        .into_iter()
        .find(|s| s.name == "commit records")
        .expect("the records step");
    let out = Command::new("bash")
        .args([
            "--noprofile",
            "--norc",
            "-eo",
            "pipefail",
            "-c",
            step.run.as_deref().unwrap(),
        ])
        .current_dir(&o.dir)
        .env_clear()
        .env("PATH", &path)
        .env("HOME", tmp.path())
        .env("GITHUB_REPOSITORY", format!("{OWNER}/{NAME}"))
        .envs(&step.env)
        .output()
        .unwrap();
    let t = office::text(&out);
    assert!(!out.status.success(), "{t}");
    assert!(t.contains("refusing to push"), "{t}");
    let pushed = git(&o.dir, &["ls-tree", "-r", "--name-only", "origin/main"]);
    assert!(
        !pushed.contains("src/evil.rs") && !pushed.contains("records/"),
        "{pushed}"
    );
}
