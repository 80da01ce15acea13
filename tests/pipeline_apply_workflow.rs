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

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use fake_forge::{Flavor, NAME, OWNER, TOKEN, git};
use office::*;
use yaml_rust2::{Yaml, YamlLoader};

const RUN_ID: &str = "4242";

/// One step of the workflow's job, as the runner sees it.
struct Step {
    name: String,
    run: Option<String>,
    uses: Option<String>,
    env: BTreeMap<String, String>,
    always: bool,
}

/// What `${{ … }}` expressions in the apply workflow's `env:` evaluate to here.
fn expression(e: &str) -> String {
    match e.trim() {
        "github.token" | "secrets.GITHUB_TOKEN" => TOKEN.into(),
        "github.run_id" => RUN_ID.into(),
        "github.repository" => format!("{OWNER}/{NAME}"),
        s if s.starts_with("secrets.") => String::new(),
        other => panic!("apply.yml uses ${{{{ {other} }}}}: teach this test what it is"),
    }
}

fn substitute(v: &str) -> String {
    let mut out = String::new();
    let mut rest = v;
    while let Some(i) = rest.find("${{") {
        out.push_str(&rest[..i]);
        let end = rest[i..].find("}}").expect("closed expression") + i;
        out.push_str(&expression(&rest[i + 3..end]));
        rest = &rest[end + 2..];
    }
    out + rest
}

/// An `env:` mapping with its expressions evaluated.
fn env_of(y: &Yaml) -> BTreeMap<String, String> {
    y.as_hash()
        .map(|h| {
            h.iter()
                .map(|(k, v)| {
                    let v = match v {
                        Yaml::String(s) => s.clone(),
                        Yaml::Integer(i) => i.to_string(),
                        Yaml::Boolean(b) => b.to_string(),
                        other => panic!("env value {other:?}"),
                    };
                    (k.as_str().unwrap().to_string(), substitute(&v))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The apply job's steps in the office's repository, each with the job's `env:`
/// under its own.
fn steps(dir: &Path) -> Vec<Step> {
    let text = std::fs::read_to_string(dir.join(".github/workflows/apply.yml")).unwrap();
    let doc = &YamlLoader::load_from_str(&text).unwrap()[0];
    let jobs = doc["jobs"].as_hash().expect("jobs");
    assert_eq!(jobs.len(), 1, "apply.yml: one job expected");
    let job = jobs.values().next().unwrap();
    let job_env = env_of(&job["env"]);
    job["steps"]
        .as_vec()
        .expect("steps")
        .iter()
        .map(|s| {
            let cond = s["if"].as_str().unwrap_or("");
            assert!(
                cond.is_empty() || cond == "always()",
                "apply.yml step condition {cond:?}: teach this test what it means"
            );
            assert!(
                s["continue-on-error"].is_badvalue(),
                "apply.yml: no step may continue past a failure"
            );
            let mut env = job_env.clone();
            env.extend(env_of(&s["env"]));
            Step {
                name: s["name"]
                    .as_str()
                    .or(s["run"].as_str())
                    .or(s["uses"].as_str())
                    .unwrap_or("step")
                    .to_string(),
                run: s["run"].as_str().map(str::to_string),
                uses: s["uses"].as_str().map(str::to_string),
                env,
                always: cond == "always()",
            }
        })
        .collect()
}

/// The release folder the workflows download from: this build of loket published
/// as `v<version>/loket-x86_64-linux`, and the URL of the folder.
fn publish_release(tmp: &Path) -> (std::path::PathBuf, String) {
    let dir = tmp
        .join("releases")
        .join(format!("v{}", env!("CARGO_PKG_VERSION")));
    std::fs::create_dir_all(&dir).unwrap();
    let asset = dir.join(loket::init::workflows::ASSET);
    std::fs::copy(env!("CARGO_BIN_EXE_loket"), &asset).unwrap();
    (asset, format!("file://{}", tmp.join("releases").display()))
}

/// The runner's side: a `cargo` that fails the job if anything builds, the office's
/// workflows written by `loket workflows` for the published release (pinned to its
/// SHA-256), and the checkout's remote. Returns the runner's PATH and the asset.
fn runner(o: &Office, tmp: &Path) -> (String, std::path::PathBuf) {
    let bin = tmp.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let cargo = bin.join("cargo");
    std::fs::write(
        &cargo,
        "#!/bin/sh\necho 'a workflow built loket' >&2\nexit 97\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&cargo, std::fs::Permissions::from_mode(0o755)).unwrap();
    let (asset, url) = publish_release(tmp);
    let sha = format!(
        "{:x}",
        <sha2::Sha256 as sha2::Digest>::digest(std::fs::read(&asset).unwrap())
    );
    let out = Command::new(env!("CARGO_BIN_EXE_loket"))
        .arg("-C")
        .arg(&o.dir)
        .args([
            "workflows",
            "--forge",
            "github",
            "--release-sha256",
            &sha,
            "--release-url",
            &url,
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
    (
        format!("{}:{}", bin.display(), std::env::var("PATH").unwrap()),
        asset,
    )
}

/// What the runner did: each step's name, success and output, and whether any
/// step failed.
struct Job {
    ran: Vec<(String, bool, String)>,
    failed: bool,
}

impl Job {
    fn log(&self) -> String {
        self.ran
            .iter()
            .map(|(n, ok, t)| format!("--- {n} ({})\n{t}", if *ok { "ok" } else { "FAILED" }))
            .collect()
    }
}

/// Runs the apply job's steps in order as the runner would: a failed step skips
/// the rest but `always()` ones; `GITHUB_PATH` lines join PATH for later steps.
fn run_job(o: &Office, tmp: &Path, path: &str) -> Job {
    let github_path = tmp.join("github_path");
    let runner_temp = tmp.join("runner_temp");
    std::fs::create_dir_all(&runner_temp).unwrap();
    let mut job = Job {
        ran: Vec::new(),
        failed: false,
    };
    for step in steps(&o.dir) {
        if job.failed && !step.always {
            continue;
        }
        let Some(script) = &step.run else {
            // actions/checkout: the office's work tree is the checkout.
            assert!(step.uses.is_some(), "{}: neither run nor uses", step.name);
            continue;
        };
        let added: Vec<String> = std::fs::read_to_string(&github_path)
            .unwrap_or_default()
            .lines()
            .rev()
            .map(str::to_string)
            .collect();
        let path = added
            .into_iter()
            .chain([path.to_string()])
            .collect::<Vec<_>>()
            .join(":");
        let out = Command::new("bash")
            .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
            .current_dir(&o.dir)
            .env_clear()
            .env("PATH", &path)
            .env("HOME", tmp)
            .env("CI", "true")
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_RUN_ID", RUN_ID)
            .env("GITHUB_REPOSITORY", format!("{OWNER}/{NAME}"))
            .env("GITHUB_API_URL", &o.forge.api_url)
            .env("GITHUB_PATH", &github_path)
            .env("RUNNER_TEMP", &runner_temp)
            .envs(&step.env)
            .output()
            .unwrap();
        let ok = out.status.success();
        job.ran.push((step.name.clone(), ok, office::text(&out)));
        job.failed |= !ok;
    }
    job
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
