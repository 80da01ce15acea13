//! The whole pipeline as CI runs it: pull requests reviewed on the fake GitHub, merged
//! (one properly, one by an admin without reviews), then the apply workflow's own
//! `run:` steps, read from `.github/workflows/apply.yml` and executed in order by
//! bash with the environment the runner would set. Only the approved ticket reaches
//! the backends, and its trail reaches `main` through the workflow's records commit.
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

fn steps() -> Vec<Step> {
    let text =
        std::fs::read_to_string(common::repo_root().join(".github/workflows/apply.yml")).unwrap();
    let doc = &YamlLoader::load_from_str(&text).unwrap()[0];
    let jobs = doc["jobs"].as_hash().expect("jobs");
    assert_eq!(jobs.len(), 1, "apply.yml: one job expected");
    let job = jobs.values().next().unwrap();
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
            let env = s["env"]
                .as_hash()
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
                .unwrap_or_default();
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

/// The runner's side: `cargo` that builds nothing (the binary under test stands in
/// for the release build) and the checkout's remote.
fn runner(o: &Office, tmp: &Path) -> String {
    let bin = tmp.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let cargo = bin.join("cargo");
    std::fs::write(&cargo, "#!/bin/sh\nexit 0\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&cargo, std::fs::Permissions::from_mode(0o755)).unwrap();
    let release = o.dir.join("target/release");
    std::fs::create_dir_all(&release).unwrap();
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_loket"), release.join("loket")).unwrap();
    std::fs::write(o.dir.join(".gitignore"), "/state\n/target\n").unwrap();
    git(&o.dir, &["commit", "-qam", "ignore the build"]);
    let origin = tmp.join("origin.git");
    git(tmp, &["init", "-q", "--bare", origin.to_str().unwrap()]);
    git(
        &o.dir,
        &["remote", "add", "origin", origin.to_str().unwrap()],
    );
    git(&o.dir, &["push", "-q", "origin", "main"]);
    format!("{}:{}", bin.display(), std::env::var("PATH").unwrap())
}

#[test]
fn only_approved_tickets_reach_the_backends_through_the_apply_workflow() {
    let mut o = Office::new(Flavor::GitHub);
    let tmp = tempfile::tempdir().unwrap();
    // Before any pull request, so its commit is the founding history's.
    let path = runner(&o, tmp.path());
    let m = o.open(OPERATOR, &Office::mail_files());
    o.approve_sop(m);
    o.merge(m);
    // An admin merges a grant nobody approved.
    let g = o.open(OPERATOR, &Office::grant_files());
    o.merge(g);
    git(&o.dir, &["push", "-q", "origin", "main"]);

    let mut failed = false;
    let mut ran = Vec::new();
    for step in steps() {
        if failed && !step.always {
            continue;
        }
        let Some(script) = &step.run else {
            // actions/checkout: the office's work tree is the checkout.
            assert!(step.uses.is_some(), "{}: neither run nor uses", step.name);
            continue;
        };
        let out = Command::new("bash")
            .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
            .current_dir(&o.dir)
            .env_clear()
            .env("PATH", &path)
            .env("HOME", tmp.path())
            .env("CI", "true")
            .env("GITHUB_ACTIONS", "true")
            .env("GITHUB_RUN_ID", RUN_ID)
            .env("GITHUB_REPOSITORY", format!("{OWNER}/{NAME}"))
            .env("GITHUB_API_URL", &o.forge.api_url)
            .envs(&step.env)
            .output()
            .unwrap();
        let ok = out.status.success();
        ran.push((step.name.clone(), ok, office::text(&out)));
        failed |= !ok;
    }
    let log: String = ran
        .iter()
        .map(|(n, ok, t)| format!("--- {n} ({})\n{t}", if *ok { "ok" } else { "FAILED" }))
        .collect();
    // The apply step ran, refused the grant (so the job fails), applied the mail.
    assert!(ran.iter().any(|(_, _, t)| t.contains("REFUSED")), "{log}");
    assert!(failed, "the job must fail while a change is refused\n{log}");
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
fn the_records_step_pushes_nothing_but_records() {
    let o = Office::new(Flavor::GitHub);
    let tmp = tempfile::tempdir().unwrap();
    let path = runner(&o, tmp.path());
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
    let step = steps()
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
