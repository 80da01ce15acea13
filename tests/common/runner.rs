//! A new office's instance as the forge and its runner see it: `loket init` for a
//! preset and forge, pinned to a release published as a `file://` folder; the
//! office's own settings (role logins, the real Dovecot + Postfix of
//! tests/common/mail.rs as its mail backend, an absolute state-dir) as
//! docs/adopt.md says; `main` pushed to a bare repository that stands for the
//! forge's git side (the runner's git reaches it at the fake forge's URL through
//! `url.<bare>.insteadOf`), and the fake forge for its API. [`Instance::run`] runs
//! one job of the instance's own workflows with the variables each forge's runner
//! sets, emulating `actions/checkout` by a clone of that repository.
//!
//! Include with `#[path = "common/runner.rs"] mod runner;` beside `mod common;`,
//! `fake_forge`, `mail`, `office`, `office_config` and `workflow`.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::fake_forge::{Flavor, NAME, OWNER, TOKEN, git};
use crate::mail::MailServer;
use crate::office::{Office, text};
use crate::workflow::{self, Job, Release, Step};

/// What started a workflow run.
#[derive(Debug, Clone, Copy)]
pub enum Event {
    /// `pull_request` / `pull_request_review` on pull request N.
    Pull(u64),
    /// `push` to main (or a schedule / dispatch on main).
    Push,
}

pub struct Instance {
    pub office: Office,
    pub server: MailServer,
    /// The office's first mail domain.
    pub domain: String,
    pub flavor: Flavor,
    release: Release,
    path: String,
    home: PathBuf,
    origin: PathBuf,
    server_url: String,
    runs: u32,
    /// The workspace of the last job run.
    workspace: PathBuf,
    // Last: the daemons above stop before their folders go.
    tmp: tempfile::TempDir,
}

/// The workflow folder `init --forge` writes.
fn workflows_dir(flavor: Flavor) -> &'static str {
    match flavor {
        Flavor::GitHub => ".github/workflows",
        Flavor::Forgejo => ".forgejo/workflows",
    }
}

/// docs/adopt.md, step 4: `main` pushed to the forge, here a bare repository that
/// the runner's git reaches at the fake forge's URL (`url.<bare>.insteadOf` in the
/// runner's home). Returns the bare repository, that home and the server URL.
fn host(office: &Office, tmp: &Path) -> (PathBuf, PathBuf, String) {
    let server_url = office.forge.api_url.trim_end_matches("/api/v3").to_string();
    let origin = tmp.join(format!("forge/{OWNER}/{NAME}.git"));
    std::fs::create_dir_all(&origin).unwrap();
    git(&origin, &["init", "-q", "--bare", "-b", "main"]);
    git(
        &office.dir,
        &["remote", "add", "origin", origin.to_str().unwrap()],
    );
    git(&office.dir, &["push", "-q", "origin", "main"]);
    let home = tmp.join("home");
    std::fs::create_dir_all(&home).unwrap();
    std::fs::write(
        home.join(".gitconfig"),
        format!(
            "[url \"{}\"]\n\tinsteadOf = {server_url}/{OWNER}/{NAME}.git\n",
            origin.display()
        ),
    )
    .unwrap();
    (origin, home, server_url)
}

impl Instance {
    /// `loket init --preset <preset> --forge <flavor>`, configured, committed and
    /// pushed. `None` when the mail daemons are missing outside CI.
    pub fn init(preset: &str, flavor: Flavor) -> Option<Instance> {
        let tmp = tempfile::tempdir().unwrap();
        let text_of =
            |rel: &str| std::fs::read_to_string(crate::common::repo_root().join(rel)).unwrap();
        let config: toml::Table =
            toml::from_str(&text_of(&format!("presets/{preset}.toml"))).unwrap();
        let domain = config["mail"]["domains"][0].as_str().unwrap().to_string();
        let server = MailServer::start_for(&tmp.path().join("srv"), &domain)?;
        let release = workflow::publish_release(tmp.path());
        let path = workflow::runner_path(tmp.path());

        let office_tmp = tempfile::tempdir().unwrap();
        let dir = office_tmp.path().join("kominfo-akun");
        let out = Command::new(env!("CARGO_BIN_EXE_loket"))
            .args(["init", "--preset", preset, "--forge", flavor.arg()])
            .args([
                "--release-url",
                &release.url,
                "--release-sha256",
                &release.sha256,
            ])
            .arg(&dir)
            .output()
            .unwrap();
        assert!(out.status.success(), "loket init: {}", text(&out));
        let flows = std::fs::read_dir(dir.join(workflows_dir(flavor)))
            .unwrap_or_else(|e| panic!("init wrote no {}: {e}", workflows_dir(flavor)))
            .count();
        assert!(flows >= 5, "init wrote {flows} workflows");
        crate::office_config::configure(&dir, preset, &server, tmp.path());
        let check = crate::common::loket()
            .arg("-C")
            .arg(&dir)
            .arg("check")
            .output()
            .unwrap();
        assert!(
            check.status.success(),
            "loket check after init: {}",
            text(&check)
        );
        git(&dir, &["init", "-q", "-b", "main"]);
        git(&dir, &["add", "-A"]);
        git(&dir, &["commit", "-q", "-m", "loket instance"]);
        let tracked = git(&dir, &["ls-files"]);
        assert!(!tracked.contains(".key"), "a key was committed:\n{tracked}");

        let office = Office::around(office_tmp, dir, flavor);
        let (origin, home, server_url) = host(&office, tmp.path());
        Some(Instance {
            office,
            server,
            domain,
            flavor,
            release,
            path,
            home,
            origin,
            server_url,
            runs: 0,
            workspace: PathBuf::new(),
            tmp,
        })
    }

    /// Opens a pull request from what is in the office's work tree (written by
    /// `loket new`), authored by `author`, pushed as its branch and as the forge's
    /// `refs/pull/N/head` and (a test merge into main) `refs/pull/N/merge`.
    pub fn open(&mut self, author: &str) -> u64 {
        let n = self.office.open(author, &[]);
        let dir = &self.office.dir;
        git(dir, &["checkout", "-q", "--detach", "main"]);
        git(
            dir,
            &[
                "merge",
                "-q",
                "--no-ff",
                "-m",
                "test merge",
                &format!("pr-{n}"),
            ],
        );
        let merge = git(dir, &["rev-parse", "HEAD"]);
        git(dir, &["checkout", "-q", "main"]);
        let refs = [
            format!("pr-{n}:refs/heads/pr-{n}"),
            format!("pr-{n}:refs/pull/{n}/head"),
            format!("{merge}:refs/pull/{n}/merge"),
        ];
        let mut args = vec!["push", "-q", "origin"];
        args.extend(refs.iter().map(String::as_str));
        git(dir, &args);
        n
    }

    /// The merge button: pull request `n` merged into main, main pushed.
    pub fn merge(&mut self, n: u64) {
        self.office.merge(n);
        git(&self.office.dir, &["push", "-q", "origin", "main"]);
    }

    /// The office's clone catches up with main on the forge (the bot's records).
    pub fn pull_main(&self) {
        git(
            &self.office.dir,
            &["pull", "-q", "--ff-only", "origin", "main"],
        );
    }

    /// `loket` run by the admin in the office's clone, on the apply runner's
    /// machine (the same absolute state-dir and backends).
    pub fn loket(&self, args: &[&str]) -> std::process::Output {
        crate::common::loket()
            .arg("-C")
            .arg(&self.office.dir)
            .args(args)
            .output()
            .unwrap()
    }

    /// The apply runner's state-dir (journal, lock, sealed credentials).
    pub fn state_dir(&self) -> PathBuf {
        self.tmp.path().join("state")
    }

    /// The admin identity `loket init` wrote (git-ignored, never committed).
    pub fn admin_identity(&self) -> age::x25519::Identity {
        let text = std::fs::read_to_string(self.office.dir.join("admin-identity.key")).unwrap();
        let key = text
            .lines()
            .find(|l| l.starts_with("AGE-SECRET-KEY-"))
            .expect("an age identity");
        key.parse().expect("a valid age identity")
    }

    fn origin_main(&self) -> String {
        git(&self.origin, &["rev-parse", "main"])
    }

    /// `${{ … }}` values and the runner's own variables for one run.
    fn context(
        &self,
        event: Event,
        workspace: &Path,
    ) -> (BTreeMap<String, String>, BTreeMap<String, String>) {
        let run_id = (4200 + self.runs).to_string();
        let repo = format!("{OWNER}/{NAME}");
        let mut known: BTreeMap<String, String> = BTreeMap::new();
        let mut env: BTreeMap<String, String> = BTreeMap::new();
        let (sha, git_ref, name) = match event {
            Event::Pull(n) => {
                let (head, base) = self.office.forge.with(|s| {
                    let p = s.pull(n);
                    (p.head_sha.clone(), p.base_sha.clone())
                });
                known.insert("github.event.pull_request.number".into(), n.to_string());
                known.insert("github.event.pull_request.head.sha".into(), head.clone());
                known.insert("github.event.pull_request.base.sha".into(), base);
                env.insert("GITHUB_HEAD_REF".into(), format!("pr-{n}"));
                env.insert("GITHUB_BASE_REF".into(), "main".into());
                match self.flavor {
                    // GitHub runs pull-request jobs on the test merge.
                    Flavor::GitHub => (
                        git(
                            &self.origin,
                            &["rev-parse", &format!("refs/pull/{n}/merge")],
                        ),
                        format!("refs/pull/{n}/merge"),
                        "pull_request",
                    ),
                    Flavor::Forgejo => (head, format!("refs/pull/{n}/head"), "pull_request"),
                }
            }
            Event::Push => (self.origin_main(), "refs/heads/main".into(), "push"),
        };
        for (k, v) in [
            ("github.token", TOKEN.to_string()),
            ("secrets.GITHUB_TOKEN", TOKEN.to_string()),
            ("github.run_id", run_id.clone()),
            ("github.repository", repo.clone()),
            ("github.server_url", self.server_url.clone()),
            ("github.sha", sha.clone()),
        ] {
            known.insert(k.into(), v);
        }
        env.extend(self.runner_env(&run_id, sha, git_ref, name, workspace));
        (known, env)
    }

    /// The variables the forge's runner sets for every step (GitHub's, and on
    /// Forgejo the same names plus its own).
    fn runner_env(
        &self,
        run_id: &str,
        sha: String,
        git_ref: String,
        name: &str,
        workspace: &Path,
    ) -> BTreeMap<String, String> {
        let api = match self.flavor {
            Flavor::GitHub => self.office.forge.api_url.clone(),
            Flavor::Forgejo => format!("{}/api/v1", self.server_url),
        };
        let mut env = BTreeMap::new();
        for (k, v) in [
            ("CI", "true".to_string()),
            ("GITHUB_ACTIONS", "true".into()),
            ("GITHUB_RUN_ID", run_id.to_string()),
            ("GITHUB_RUN_NUMBER", self.runs.to_string()),
            ("GITHUB_REPOSITORY", format!("{OWNER}/{NAME}")),
            ("GITHUB_REPOSITORY_OWNER", OWNER.into()),
            ("GITHUB_SERVER_URL", self.server_url.clone()),
            ("GITHUB_API_URL", api),
            ("GITHUB_SHA", sha),
            ("GITHUB_REF", git_ref),
            ("GITHUB_EVENT_NAME", name.into()),
            ("GITHUB_WORKSPACE", workspace.display().to_string()),
            ("GITHUB_ACTOR", "loket-bot".into()),
            ("RUNNER_OS", "Linux".into()),
            ("RUNNER_ARCH", "X64".into()),
        ] {
            env.insert(k.into(), v);
        }
        if self.flavor == Flavor::Forgejo {
            // forgejo-runner sets the GitHub names above (its act fork, with the API
            // under /api/v1) and, in NewRunner, these of its own.
            let version = "v6.3.1".to_string();
            for (k, v) in [
                ("GITEA_ACTIONS", "true".to_string()),
                ("GITEA_ACTIONS_RUNNER_VERSION", version.clone()),
                ("FORGEJO_ACTIONS", "true".into()),
                ("FORGEJO_ACTIONS_RUNNER_VERSION", version),
                (
                    "ACTIONS_RUNTIME_URL",
                    format!("{}/api/actions_pipeline/", self.server_url),
                ),
                ("ACTIONS_RESULTS_URL", self.server_url.clone()),
            ] {
                env.insert(k.into(), v);
            }
        }
        env
    }

    /// `actions/checkout` as the GitHub runner does it: the repository cloned from
    /// the forge into the workspace (or `with.path`), at `with.ref` or the event's
    /// commit; the forge's pull refs fetched too.
    fn checkout(&self, workspace: &Path, step: &Step, sha: &str) -> Result<String, String> {
        let dest = workspace.join(step.with.get("path").map_or(".", String::as_str));
        let url = format!("{}/{OWNER}/{NAME}.git", self.server_url);
        let at = match step.with.get("ref") {
            // A branch name: the forge's branch, as fetched.
            Some(r) if !(r.len() == 40 && r.bytes().all(|b| b.is_ascii_hexdigit())) => {
                format!("origin/{r}")
            }
            Some(r) => r.clone(),
            None => sha.to_string(),
        };
        let mut log = String::new();
        for args in [
            vec!["clone", "-q", &url, dest.to_str().unwrap()],
            vec![
                "-C",
                dest.to_str().unwrap(),
                "fetch",
                "-q",
                "origin",
                "+refs/pull/*:refs/remotes/pull/*",
            ],
            vec![
                "-C",
                dest.to_str().unwrap(),
                "checkout",
                "-q",
                "--detach",
                &at,
            ],
        ] {
            let out = Command::new("git")
                .args(&args)
                .env("HOME", &self.home)
                .output()
                .unwrap();
            log.push_str(&text(&out));
            if !out.status.success() {
                return Err(format!("git {args:?}: {log}"));
            }
        }
        Ok(log)
    }

    /// Runs job `job` of the instance's workflow `name` for `event`, in a new
    /// workspace, and returns what each step did.
    pub fn run(&mut self, name: &str, job: &str, event: Event) -> Job {
        self.runs += 1;
        let dir = self.tmp.path().join(format!("runs/{}-{name}", self.runs));
        let (workspace, temp) = (dir.join("work"), dir.join("temp"));
        std::fs::create_dir_all(&workspace).unwrap();
        std::fs::create_dir_all(&temp).unwrap();
        let (known, env) = self.context(event, &workspace);
        let file = self
            .office
            .dir
            .join(workflows_dir(self.flavor))
            .join(format!("{name}.yml"));
        let steps = workflow::steps(&file, job, &workflow::lookup(&known));
        let runner = workflow::Runner {
            workspace: &workspace,
            temp: &temp,
            home: &self.home,
            path: &self.path,
            env: &env,
        };
        let sha = env["GITHUB_SHA"].clone();
        let job = workflow::run_steps(&steps, &runner, &mut |step| {
            let uses = step.uses.as_deref().unwrap();
            let action = uses.split('@').next().unwrap();
            match action {
                "actions/checkout" => self.checkout(&workspace, step, &sha),
                // Pages itself is GitHub's; the artifact must be there to upload.
                "actions/configure-pages" => Ok("Pages: not emulated".into()),
                "actions/upload-pages-artifact" => {
                    let p = workspace.join(&step.with["path"]);
                    if p.join("index.html").exists() {
                        Ok(format!("would upload {}", p.display()))
                    } else {
                        Err(format!("no site at {}", p.display()))
                    }
                }
                other => panic!("{name}.yml uses {other}: teach this test what it does"),
            }
        });
        self.workspace = workspace;
        job
    }

    /// The site as published by the last site run: GitHub's Pages artifact (the
    /// workspace's `public`), Forgejo's `pages` branch on the forge.
    pub fn published_site(&self) -> PathBuf {
        match self.flavor {
            Flavor::GitHub => self.workspace.join("public"),
            Flavor::Forgejo => {
                let dest = self.tmp.path().join(format!("pages-{}", self.runs));
                git(
                    self.tmp.path(),
                    &[
                        "clone",
                        "-q",
                        "-b",
                        "pages",
                        self.origin.to_str().unwrap(),
                        dest.to_str().unwrap(),
                    ],
                );
                dest
            }
        }
    }
}
