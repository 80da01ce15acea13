//! Running an instance's workflow jobs the way the Actions runner does: the job's
//! steps read from the YAML `loket init` / `loket workflows` wrote, `${{ … }}`
//! expressions evaluated from what the test says the event and runner hold, each
//! `run:` script executed in order by bash with the job's and the step's `env:` over
//! the runner's own variables (`GITHUB_PATH`, `GITHUB_ENV`, `RUNNER_TEMP`, …), a
//! failed step skipping the rest but `always()` ones. loket itself comes from a
//! release folder served as a `file://` URL, checked against its pinned SHA-256; a
//! `cargo` on PATH fails the job if anything tries to build.
//!
//! Include with `#[path = "common/workflow.rs"] mod workflow;` beside `mod common;`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use yaml_rust2::{Yaml, YamlLoader};

/// One step of a job, as the runner sees it.
pub struct Step {
    pub name: String,
    pub run: Option<String>,
    pub uses: Option<String>,
    /// The `with:` inputs of a `uses:` step, expressions evaluated.
    pub with: BTreeMap<String, String>,
    /// The job's `env:` under the step's own, expressions evaluated.
    pub env: BTreeMap<String, String>,
    pub always: bool,
}

/// Replaces each `${{ e }}` in `v` by `eval(e)`.
pub fn substitute(v: &str, eval: &dyn Fn(&str) -> String) -> String {
    let mut out = String::new();
    let mut rest = v;
    while let Some(i) = rest.find("${{") {
        out.push_str(&rest[..i]);
        let end = rest[i..].find("}}").expect("closed expression") + i;
        out.push_str(&eval(rest[i + 3..end].trim()));
        rest = &rest[end + 2..];
    }
    out + rest
}

/// An expression from a table of the values the test knows; `secrets.*` not in it
/// are empty (an unset secret), anything else fails the test until taught.
pub fn lookup(known: &BTreeMap<String, String>) -> impl Fn(&str) -> String + '_ {
    move |e: &str| match known.get(e) {
        Some(v) => v.clone(),
        None if e.starts_with("secrets.") => String::new(),
        None => panic!("a workflow uses ${{{{ {e} }}}}: teach this test what it is"),
    }
}

/// A `env:` or `with:` mapping with its expressions evaluated.
fn mapping(y: &Yaml, eval: &dyn Fn(&str) -> String) -> BTreeMap<String, String> {
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
                    (k.as_str().unwrap().to_string(), substitute(&v, eval))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// The job ids of the workflow `file`, in order.
pub fn jobs(file: &Path) -> Vec<String> {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file:?}: {e}"));
    let doc = &YamlLoader::load_from_str(&text).unwrap()[0];
    doc["jobs"]
        .as_hash()
        .expect("jobs")
        .keys()
        .map(|k| k.as_str().unwrap().to_string())
        .collect()
}

/// The steps of job `job` in the workflow `file`. Only the conditions the
/// instance workflows use are understood; no step may continue past a failure.
pub fn steps(file: &Path, job: &str, eval: &dyn Fn(&str) -> String) -> Vec<Step> {
    let text = std::fs::read_to_string(file).unwrap_or_else(|e| panic!("{file:?}: {e}"));
    let doc = &YamlLoader::load_from_str(&text).unwrap()[0];
    let job_y = &doc["jobs"][job];
    assert!(!job_y.is_badvalue(), "{file:?}: no job {job}");
    let job_env = mapping(&job_y["env"], eval);
    job_y["steps"]
        .as_vec()
        .expect("steps")
        .iter()
        .map(|s| {
            let cond = s["if"].as_str().unwrap_or("");
            assert!(
                cond.is_empty() || cond == "always()",
                "{file:?} step condition {cond:?}: teach this test what it means"
            );
            assert!(
                s["continue-on-error"].is_badvalue(),
                "{file:?}: no step may continue past a failure"
            );
            let mut env = job_env.clone();
            env.extend(mapping(&s["env"], eval));
            Step {
                name: s["name"]
                    .as_str()
                    .or(s["run"].as_str())
                    .or(s["uses"].as_str())
                    .unwrap_or("step")
                    .to_string(),
                run: s["run"].as_str().map(str::to_string),
                uses: s["uses"].as_str().map(str::to_string),
                with: mapping(&s["with"], eval),
                env,
                always: cond == "always()",
            }
        })
        .collect()
}

/// The release folder the workflows download from: this build of loket published
/// as `v<version>/loket-x86_64-linux`, the asset's path, the folder's URL and the
/// asset's SHA-256.
pub struct Release {
    pub asset: PathBuf,
    pub url: String,
    pub sha256: String,
}

pub fn publish_release(tmp: &Path) -> Release {
    let dir = tmp
        .join("releases")
        .join(format!("v{}", env!("CARGO_PKG_VERSION")));
    std::fs::create_dir_all(&dir).unwrap();
    let asset = dir.join(loket::init::workflows::ASSET);
    std::fs::copy(env!("CARGO_BIN_EXE_loket"), &asset).unwrap();
    let sha256 = format!(
        "{:x}",
        <sha2::Sha256 as sha2::Digest>::digest(std::fs::read(&asset).unwrap())
    );
    Release {
        asset,
        url: format!("file://{}", tmp.join("releases").display()),
        sha256,
    }
}

/// The runner's PATH: a `cargo` that fails the job if anything builds, then the
/// test's own PATH (bash, git, curl, sha256sum).
pub fn runner_path(tmp: &Path) -> String {
    use std::os::unix::fs::PermissionsExt;
    let bin = tmp.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    let cargo = bin.join("cargo");
    std::fs::write(
        &cargo,
        "#!/bin/sh\necho 'a workflow built loket' >&2\nexit 97\n",
    )
    .unwrap();
    std::fs::set_permissions(&cargo, std::fs::Permissions::from_mode(0o755)).unwrap();
    format!("{}:{}", bin.display(), std::env::var("PATH").unwrap())
}

/// What the runner did: each step's name, success and output, and whether any
/// step failed.
pub struct Job {
    pub ran: Vec<(String, bool, String)>,
    pub failed: bool,
}

impl Job {
    pub fn log(&self) -> String {
        self.ran
            .iter()
            .map(|(n, ok, t)| format!("--- {n} ({})\n{t}", if *ok { "ok" } else { "FAILED" }))
            .collect()
    }

    /// The output of the step named `name`.
    pub fn output(&self, name: &str) -> &str {
        self.ran
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, _, t)| t.as_str())
            .unwrap_or_else(|| panic!("no step {name} ran:\n{}", self.log()))
    }
}

/// `KEY=VALUE` lines a step appended to `GITHUB_ENV` (the one-line form).
fn env_file(path: &Path) -> BTreeMap<String, String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Where one job runs: its workspace (the steps' working directory), the runner's
/// own variables and PATH, and a temp folder for `RUNNER_TEMP` and the files the
/// runner hands each step (`GITHUB_PATH`, `GITHUB_ENV`, `GITHUB_STEP_SUMMARY`).
pub struct Runner<'a> {
    pub workspace: &'a Path,
    pub temp: &'a Path,
    pub home: &'a Path,
    pub path: &'a str,
    pub env: &'a BTreeMap<String, String>,
}

/// Runs `steps` in order as the runner would: a failed step skips the rest but
/// `always()` ones; `GITHUB_PATH` lines join PATH and `GITHUB_ENV` lines the
/// environment of later steps. A `uses:` step is handed to `action`, which does
/// what that action would (or nothing) and says whether it succeeded.
pub fn run_steps(
    steps: &[Step],
    r: &Runner,
    action: &mut dyn FnMut(&Step) -> Result<String, String>,
) -> Job {
    // A new job starts with empty file commands.
    let files = r.temp.join("_runner_file_commands");
    let _ = std::fs::remove_dir_all(&files);
    std::fs::create_dir_all(&files).unwrap();
    let (github_path, github_env) = (files.join("path"), files.join("env"));
    let summary = files.join("step_summary");
    let mut job = Job {
        ran: Vec::new(),
        failed: false,
    };
    for step in steps {
        if job.failed && !step.always {
            continue;
        }
        let Some(script) = &step.run else {
            assert!(step.uses.is_some(), "{}: neither run nor uses", step.name);
            let (ok, text) = match action(step) {
                Ok(t) => (true, t),
                Err(t) => (false, t),
            };
            job.ran.push((step.name.clone(), ok, text));
            job.failed |= !ok;
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
            .chain([r.path.to_string()])
            .collect::<Vec<_>>()
            .join(":");
        let out = Command::new("bash")
            .args(["--noprofile", "--norc", "-eo", "pipefail", "-c", script])
            .current_dir(r.workspace)
            .env_clear()
            .env("HOME", r.home)
            .envs(r.env)
            .env("PATH", &path)
            .env("GITHUB_PATH", &github_path)
            .env("GITHUB_ENV", &github_env)
            .env("GITHUB_STEP_SUMMARY", &summary)
            .env("RUNNER_TEMP", r.temp)
            .envs(env_file(&github_env))
            .envs(&step.env)
            .output()
            .unwrap();
        let ok = out.status.success();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        job.ran.push((step.name.clone(), ok, text));
        job.failed |= !ok;
    }
    job
}
