//! Forge clients: what loket reads from GitHub and Forgejo/Gitea about a pull request
//! (the PR, its commits, changed files and reviews) and the one comment it writes.
//!
//! Both clients normalise their JSON into the plain types below, so the approval
//! rules in [`crate::review`] never see forge-specific shapes. HTTP goes through
//! [`http`], which maps status codes to [`ForgeError`]s that say what to do.

mod forgejo;
mod github;
mod http;
mod wire;

use serde::Serialize;
use thiserror::Error;

pub use forgejo::Forgejo;
pub use github::{DEFAULT_API_URL, GitHub};

/// Environment variable read first for the token, whatever the forge.
pub const TOKEN_ENV: &str = "LOKET_FORGE_TOKEN";

/// Which forge speaks at the API URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ForgeKind {
    GitHub,
    /// Forgejo and Gitea share the `/api/v1` API.
    Forgejo,
}

impl ForgeKind {
    /// The forge's own token variable, read when [`TOKEN_ENV`] is unset.
    pub fn token_env(self) -> &'static str {
        match self {
            ForgeKind::GitHub => "GITHUB_TOKEN",
            ForgeKind::Forgejo => "FORGEJO_TOKEN",
        }
    }

    /// The token from the environment: `LOKET_FORGE_TOKEN`, else the forge's own.
    pub fn token_from_env(self) -> Option<String> {
        [TOKEN_ENV, self.token_env()]
            .iter()
            .filter_map(|k| std::env::var(k).ok())
            .find(|v| !v.trim().is_empty())
    }

    /// Builds a client for `repo` (`owner/name`) at `api_url`.
    pub fn client(
        self,
        api_url: &str,
        repo: &str,
        token: Option<String>,
    ) -> Result<Box<dyn Forge>, ForgeError> {
        let (owner, name) = repo
            .split_once('/')
            .filter(|(o, n)| !o.is_empty() && !n.is_empty() && !n.contains('/'))
            .ok_or_else(|| ForgeError::BadRepo(repo.to_string()))?;
        let http = http::Http::new(self, token);
        Ok(match self {
            ForgeKind::GitHub => Box::new(GitHub::new(http, api_url, owner, name)),
            ForgeKind::Forgejo => Box::new(Forgejo::new(http, api_url, owner, name)),
        })
    }
}

/// A pull request, as far as approvals need it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PullRequest {
    pub number: u64,
    /// Login of whoever opened it.
    pub author: String,
    pub head_sha: String,
    pub base_ref: String,
    pub base_sha: String,
    /// `open` or `closed`.
    pub state: String,
    pub merged: bool,
    pub merge_commit_sha: Option<String>,
    /// RFC 3339 instant it was opened.
    pub created_at: String,
}

/// One commit of a pull request. Logins are `None` when the forge could not map the
/// commit's e-mail to an account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Commit {
    pub sha: String,
    pub author_login: Option<String>,
    pub committer_login: Option<String>,
}

/// A file the pull request changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChangedFile {
    /// Path from the repository root, `/`-separated.
    pub path: String,
    /// The old path of a rename.
    pub previous_path: Option<String>,
    pub removed: bool,
}

/// A review's state, normalised across forges.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReviewState {
    Approved,
    ChangesRequested,
    Commented,
    /// GitHub's `DISMISSED` state (Forgejo keeps the state and sets `dismissed`).
    Dismissed,
    /// Not yet submitted.
    Pending,
    /// Forgejo's `REQUEST_REVIEW`: a request for someone's review, not a review.
    ReviewRequested,
    /// Anything else the forge may add later; never counts.
    Other,
}

/// A review, normalised.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Review {
    pub id: u64,
    pub login: String,
    pub state: ReviewState,
    /// The commit the review was given on.
    pub commit_id: Option<String>,
    /// RFC 3339 instant; `None` while pending.
    pub submitted_at: Option<String>,
    /// Dismissed by a maintainer (GitHub: state `DISMISSED`; Forgejo: flag).
    pub dismissed: bool,
    /// Forgejo's flag: given before the latest push.
    pub stale: bool,
    /// Forgejo's flag: by a reviewer the branch protection counts. Informational:
    /// loket decides by its own role map.
    pub official: bool,
    pub body: String,
}

/// What [`Forge::upsert_comment`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CommentAction {
    Created(u64),
    Updated(u64),
}

/// A forge API: read a PR and its reviews, write one comment.
pub trait Forge {
    fn kind(&self) -> ForgeKind;
    fn pull(&self, number: u64) -> Result<PullRequest, ForgeError>;
    /// The merged pull request whose merge (or squash / rebase) commit is `sha`.
    fn merged_pull_for_commit(&self, sha: &str) -> Result<Option<u64>, ForgeError>;
    /// Every open pull request.
    fn open_pulls(&self) -> Result<Vec<PullRequest>, ForgeError>;
    fn commits(&self, number: u64) -> Result<Vec<Commit>, ForgeError>;
    fn files(&self, number: u64) -> Result<Vec<ChangedFile>, ForgeError>;
    /// Every review, oldest first as the forge lists them.
    fn reviews(&self, number: u64) -> Result<Vec<Review>, ForgeError>;
    /// The text of `path` (from the repository root) at commit `sha`.
    fn file_at(&self, path: &str, sha: &str) -> Result<String, ForgeError>;
    /// Every comment on the pull request's conversation, oldest first.
    fn comments(&self, number: u64) -> Result<Vec<IssueComment>, ForgeError>;
    /// Posts a comment; returns its id.
    fn create_comment(&self, number: u64, body: &str) -> Result<u64, ForgeError>;
    fn edit_comment(&self, id: u64, body: &str) -> Result<(), ForgeError>;

    /// Edits the comment holding `marker` in place, or creates it. Anyone can paste
    /// the marker into a comment of their own, which our token cannot edit: such
    /// comments are skipped (newest first) and ours is created if none is editable.
    fn upsert_comment(
        &self,
        number: u64,
        marker: &str,
        body: &str,
    ) -> Result<CommentAction, ForgeError> {
        let ours: Vec<u64> = self
            .comments(number)?
            .into_iter()
            .filter(|c| c.body.as_deref().is_some_and(|b| b.contains(marker)))
            .map(|c| c.id)
            .collect();
        for id in ours.into_iter().rev() {
            match self.edit_comment(id, body) {
                Ok(()) => return Ok(CommentAction::Updated(id)),
                Err(ForgeError::Auth { .. } | ForgeError::NotFound { .. }) => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(CommentAction::Created(self.create_comment(number, body)?))
    }
}

/// A comment on a pull request's conversation (an issue comment on both forges).
#[derive(Debug, Clone, serde::Deserialize)]
pub struct IssueComment {
    pub id: u64,
    #[serde(default)]
    pub body: Option<String>,
}

/// Everything approvals read about one pull request.
#[derive(Debug, Clone, Serialize)]
pub struct PullData {
    pub pull: PullRequest,
    pub commits: Vec<Commit>,
    pub files: Vec<ChangedFile>,
    pub reviews: Vec<Review>,
}

impl PullData {
    pub fn fetch(forge: &dyn Forge, number: u64) -> Result<PullData, ForgeError> {
        Ok(PullData {
            pull: forge.pull(number)?,
            commits: forge.commits(number)?,
            files: forge.files(number)?,
            reviews: forge.reviews(number)?,
        })
    }
}

#[derive(Debug, Error)]
pub enum ForgeError {
    #[error(
        "the forge refused the token ({status} at {url}): set {env} (or {TOKEN_ENV}) to a token that can read pull requests{}",
        if *.missing { "; no token is set" } else { "" }
    )]
    Auth {
        status: u16,
        url: String,
        env: &'static str,
        missing: bool,
    },
    #[error(
        "the forge's rate limit is exhausted at {url}{}: wait, or set {env} (or {TOKEN_ENV}) to raise the limit",
        reset.as_ref().map(|r| format!(" (resets at {r})")).unwrap_or_default()
    )]
    RateLimited {
        url: String,
        reset: Option<String>,
        env: &'static str,
    },
    #[error("not found: {url} (check the pull request number and --repo owner/name)")]
    NotFound { url: String },
    #[error("cannot reach the forge at {url}: {message} (check --api-url and the network)")]
    Unreachable { url: String, message: String },
    #[error("the forge answered {status} at {url}: {message}")]
    Status {
        status: u16,
        url: String,
        message: String,
    },
    #[error("unexpected answer from {url}: {message}")]
    Decode { url: String, message: String },
    #[error("--repo {0:?}: expected owner/name")]
    BadRepo(String),
}
