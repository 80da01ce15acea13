//! An office's repository with a real main-branch history for the apply gate: pull
//! requests opened on branches, reviewed on the fake forge, merged with merge
//! commits (or pushed straight to main), and `loket apply --approvals forge` run on
//! the merged work tree, as the apply workflow does after each push to main.
//! Include with `#[path = "common/office.rs"] mod office;` beside `mod common;` and
//! `#[path = "common/fake_forge.rs"] mod fake_forge;`.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::fake_forge::{FakeForge, FakePull, Flavor, NAME, OWNER, TOKEN, Verdict, git};

pub const KADIS: &str = "kadis-kominfo-kudus";
pub const KABID: &str = "kabid-informatika-kudus";
pub const KASI: &str = "kasi-tip-kudus";
pub const OPERATOR: &str = "operator-dinkes";

/// A bundled mail-create request and its account file.
pub const MAIL: &str = "KDS-24WBW-PV52C";
pub const MAIL_ACCOUNT: &str = "accounts/mail/dimas.hartono@kuduskab.go.id.toml";
/// A bundled server-grant request; its account file is written with this grant only.
pub const GRANT: &str = "KDS-3ZTYU-SR663";
pub const GRANT_ACCOUNT: &str = "accounts/server/app-1/opd-disdukcapil.toml";
/// The grant's public key, as the keydir backend writes it (its comment replaced).
pub const GRANT_KEY: &str = "AAAAC3NzaC1lZDI1NTE5AAAAIO0lW0YfqpWhVms31ha4BspZGqCMGYsyMgr0E+sK+e11";

pub struct Office {
    _tmp: tempfile::TempDir,
    pub dir: PathBuf,
    pub forge: FakeForge,
    next: u64,
}

/// A file a pull request writes (`Some`) or deletes (`None`).
pub type Write<'a> = (&'a str, Option<String>);

impl Office {
    /// main holds the bundled loket.toml (file backends under state/, ignored by git)
    /// in its root commit, the founding commit the gate takes as given.
    pub fn new(flavor: Flavor) -> Office {
        Office::with_config(flavor, &Office::bundled("loket.toml"))
    }

    /// An office whose founding commit holds `config` as its loket.toml.
    pub fn with_config(flavor: Flavor, config: &str) -> Office {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().join("office");
        std::fs::create_dir_all(&dir).unwrap();
        git(&dir, &["init", "-q", "-b", "main"]);
        std::fs::write(dir.join("loket.toml"), config).unwrap();
        std::fs::write(dir.join(".gitignore"), "/state\n").unwrap();
        git(&dir, &["add", "-A"]);
        git(&dir, &["commit", "-q", "-m", "founding import"]);
        Office::around(tmp, dir, flavor)
    }

    /// An office around the repository `dir` whose `main` is already committed
    /// (e.g. by `loket init`), kept alive as long as `tmp`, with a new fake forge.
    pub fn around(tmp: tempfile::TempDir, dir: PathBuf, flavor: Flavor) -> Office {
        Office {
            _tmp: tmp,
            dir,
            forge: FakeForge::start(flavor),
            next: 0,
        }
    }

    pub fn head(&self) -> String {
        git(&self.dir, &["rev-parse", "HEAD"])
    }

    /// The bundled text of `rel`.
    pub fn bundled(rel: &str) -> String {
        std::fs::read_to_string(crate::common::repo_root().join(rel)).expect("bundled file")
    }

    /// The grant's account file holding only this grant's key.
    pub fn grant_account() -> String {
        let text = Office::bundled(GRANT_ACCOUNT);
        let keys: Vec<&str> = text.split("\n[[keys]]\n").collect();
        let head = keys[0].replace("\"KDS-JATNV-9GN8H\", ", "");
        let ours = keys[1..]
            .iter()
            .find(|k| k.contains(GRANT))
            .expect("the grant's key");
        format!("{head}\n[[keys]]\n{ours}")
    }

    /// The request and account files of the bundled mail-create request.
    pub fn mail_files() -> Vec<(&'static str, Option<String>)> {
        vec![
            (
                "requests/KDS-24WBW-PV52C.toml",
                Some(Office::bundled("requests/KDS-24WBW-PV52C.toml")),
            ),
            (MAIL_ACCOUNT, Some(Office::bundled(MAIL_ACCOUNT))),
        ]
    }

    pub fn grant_files() -> Vec<(&'static str, Option<String>)> {
        vec![
            (
                "requests/KDS-3ZTYU-SR663.toml",
                Some(Office::bundled("requests/KDS-3ZTYU-SR663.toml")),
            ),
            (GRANT_ACCOUNT, Some(Office::grant_account())),
        ]
    }

    fn write(&self, files: &[Write]) {
        for (rel, text) in files {
            let p = self.dir.join(rel);
            match text {
                Some(t) => {
                    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                    std::fs::write(&p, t).unwrap();
                }
                None => {
                    let _ = std::fs::remove_file(&p);
                }
            }
        }
        git(&self.dir, &["add", "-A"]);
    }

    /// Opens a pull request: branch `pr-N` from main with `files`, committed by
    /// `author`. Returns its number.
    pub fn open(&mut self, author: &str, files: &[Write]) -> u64 {
        self.next += 1;
        let n = self.next;
        let base = self.head();
        git(&self.dir, &["checkout", "-q", "-b", &format!("pr-{n}")]);
        self.write(files);
        git(
            &self.dir,
            &["commit", "-q", "-m", &format!("permohonan #{n}")],
        );
        let head = self.head();
        let changed = git(&self.dir, &["diff", "--name-status", &base, &head]);
        git(&self.dir, &["checkout", "-q", "main"]);
        let files = changed
            .lines()
            .filter_map(|l| {
                let (st, path) = l.split_once('\t')?;
                let status = match st {
                    "A" => "added",
                    "D" => "removed",
                    _ => "modified",
                };
                Some((path.to_string(), status.to_string()))
            })
            .collect();
        let pull = FakePull {
            number: n,
            author: author.to_string(),
            head_sha: head.clone(),
            base_ref: "main".into(),
            base_sha: base,
            merged: false,
            merge_commit_sha: None,
            created_at: "2026-09-18T01:00:00Z".into(),
            commits: vec![(head, Some(author.to_string()), Some(author.to_string()))],
            files,
            reviews: Vec::new(),
            contents: Default::default(),
            commits_count: None,
            changed_files_count: None,
            merged_at: None,
        };
        self.forge.with(|s| s.pulls.insert(n, pull));
        n
    }

    pub fn review(&self, n: u64, login: &str, verdict: Verdict, minute: u32) {
        self.forge.with(|s| s.review(n, login, verdict, minute, ""));
    }

    /// The Kudus mail and server SOPs' dispositions, in order.
    pub fn approve_sop(&self, n: u64) {
        self.review(n, KADIS, Verdict::Approve, 10);
        self.review(n, KABID, Verdict::Approve, 20);
        self.review(n, KASI, Verdict::Approve, 30);
    }

    /// Merges pull request `n` into main with a merge commit, as the forge's merge
    /// button does (whether or not the reviews allowed it), and marks it merged.
    pub fn merge(&self, n: u64) -> String {
        self.merge_by_hand(n, |_| {})
    }

    /// Merges pull request `n` by hand: `edit` changes the work tree between the
    /// merge and its commit, and the forge then shows the pull request merged by
    /// that commit (as GitHub does when the head lands on the branch).
    pub fn merge_by_hand(&self, n: u64, edit: impl FnOnce(&Path)) -> String {
        git(
            &self.dir,
            &["merge", "-q", "--no-ff", "--no-commit", &format!("pr-{n}")],
        );
        edit(&self.dir);
        git(&self.dir, &["add", "-A"]);
        git(
            &self.dir,
            &["commit", "-q", "-m", &format!("Merge pull request #{n}")],
        );
        let sha = self.head();
        self.forge.with(|s| {
            let p = s.pull(n);
            p.merged = true;
            p.merge_commit_sha = Some(sha.clone());
        });
        sha
    }

    /// A commit straight onto main: no pull request at all.
    pub fn push_direct(&self, files: &[Write]) -> String {
        self.write(files);
        git(&self.dir, &["commit", "-q", "-m", "direct push"]);
        self.head()
    }

    /// `loket` against the fake forge with a clean environment, in the office.
    pub fn loket(&self, args: &[&str]) -> Output {
        self.command(&self.dir)
            .args(args)
            .output()
            .expect("run loket")
    }

    pub fn command(&self, dir: &Path) -> Command {
        let mut c = crate::common::loket();
        for k in [
            "GITHUB_TOKEN",
            "FORGEJO_TOKEN",
            "GITHUB_API_URL",
            "GITHUB_STEP_SUMMARY",
            "GITHUB_ACTIONS",
            "GITHUB_RUN_ID",
            "LOKET_DIR",
            "LOKET_APPROVALS",
            "LOKET_SSH_KEY",
            "LOKET_SSH_IDENTITY",
        ] {
            c.env_remove(k);
        }
        c.env("LOKET_FORGE_TOKEN", TOKEN)
            .env("LOKET_FORGE", self.forge.flavor.arg())
            .env("LOKET_FORGE_API_URL", &self.forge.api_url)
            .env("GITHUB_REPOSITORY", format!("{OWNER}/{NAME}"))
            .arg("-C")
            .arg(dir);
        c
    }

    /// `loket apply --approvals forge` as the apply workflow runs it, then the
    /// workflow's records commit: the bot pushes `records/` straight to main.
    pub fn apply(&self) -> Output {
        let out = self.loket(&["apply", "--approvals", "forge", "--run", "test"]);
        if self.dir.join("records").exists() {
            git(&self.dir, &["add", "records"]);
            let staged = git(&self.dir, &["diff", "--cached", "--name-only"]);
            if !staged.is_empty() {
                git(&self.dir, &["commit", "-q", "-m", "records: apply run"]);
            }
        }
        out
    }

    /// What the bundled Dovecot passwd-file holds.
    pub fn passwd(&self) -> String {
        std::fs::read_to_string(self.dir.join("state/mail/passwd")).unwrap_or_default()
    }

    /// Every authorized key the keydir backend wrote.
    pub fn keys(&self) -> String {
        let mut all = String::new();
        for e in walkdir::WalkDir::new(self.dir.join("state/keys"))
            .into_iter()
            .flatten()
        {
            if e.file_type().is_file() {
                all.push_str(&std::fs::read_to_string(e.path()).unwrap_or_default());
            }
        }
        all
    }
}

/// stdout and stderr, for assertions and failure messages.
pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}
