//! The JSON shapes GitHub and Forgejo/Gitea share: Gitea modelled its pull-request API
//! on GitHub's, so users, refs, pulls, commits and changed files read the same way.
//! Reviews differ (states and flags) and stay in each forge's own file.

use serde::Deserialize;

use super::{ChangedFile, Commit, PullCounts, PullRequest};

#[derive(Deserialize)]
pub(super) struct User {
    pub login: String,
}

#[derive(Deserialize)]
pub(super) struct Ref {
    #[serde(rename = "ref")]
    pub name: String,
    pub sha: String,
}

#[derive(Deserialize)]
pub(super) struct Pull {
    number: u64,
    state: String,
    user: Option<User>,
    head: Ref,
    base: Ref,
    #[serde(default)]
    merged: Option<bool>,
    #[serde(default)]
    merged_at: Option<String>,
    #[serde(default)]
    merge_commit_sha: Option<String>,
    created_at: String,
    /// GitHub sends both counts on the single-pull endpoint (not on lists); Forgejo
    /// sends `changed_files`, newer versions `commits` too.
    #[serde(default)]
    commits: Option<u64>,
    #[serde(default)]
    changed_files: Option<u64>,
}

impl Pull {
    pub fn counts(&self) -> PullCounts {
        PullCounts {
            commits: self.commits,
            changed_files: self.changed_files,
        }
    }
}

impl From<Pull> for PullRequest {
    fn from(p: Pull) -> PullRequest {
        PullRequest {
            number: p.number,
            author: p.user.map(|u| u.login).unwrap_or_default(),
            head_sha: p.head.sha,
            base_ref: p.base.name,
            base_sha: p.base.sha,
            state: p.state,
            // GitHub's list endpoint has no `merged`; `merged_at` says the same.
            merged: p.merged.unwrap_or(p.merged_at.is_some()),
            merge_commit_sha: p.merge_commit_sha,
            created_at: p.created_at,
            merged_at: p.merged_at,
        }
    }
}

#[derive(Deserialize)]
pub(super) struct PullCommit {
    sha: String,
    author: Option<User>,
    committer: Option<User>,
}

impl From<PullCommit> for Commit {
    fn from(c: PullCommit) -> Commit {
        Commit {
            sha: c.sha,
            author_login: c.author.map(|u| u.login),
            committer_login: c.committer.map(|u| u.login),
        }
    }
}

#[derive(Deserialize)]
pub(super) struct File {
    filename: String,
    status: String,
    #[serde(default)]
    previous_filename: Option<String>,
}

impl From<File> for ChangedFile {
    fn from(f: File) -> ChangedFile {
        ChangedFile {
            // GitHub says "removed"; Gitea has said "deleted" in some versions.
            removed: matches!(f.status.as_str(), "removed" | "deleted"),
            path: f.filename,
            previous_path: f.previous_filename,
        }
    }
}
