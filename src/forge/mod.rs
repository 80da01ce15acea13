//! Forge clients: what loket reads from GitHub and Forgejo/Gitea about a pull request
//! (the PR, its commits, changed files and reviews) and the one comment it writes.
//!
//! Both clients normalise their JSON into the plain types below, so the approval
//! rules in [`crate::review`] never see forge-specific shapes. HTTP goes through
//! [`http`], which maps status codes to [`ForgeError`]s that say what to do.

mod forgejo;
mod forgejo_settings;
mod github;
mod github_settings;
mod http;
pub mod settings;
mod wire;

use serde::Serialize;
use thiserror::Error;

pub use forgejo::Forgejo;
pub use github::{DEFAULT_API_URL, GitHub, MAX_LISTED_COMMITS, MAX_LISTED_FILES};

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
    /// Where the forge's Actions read an instance's workflows.
    pub fn workflow_dir(self) -> &'static str {
        match self {
            ForgeKind::GitHub => ".github/workflows",
            ForgeKind::Forgejo => ".forgejo/workflows",
        }
    }

    /// The forge's name in messages.
    pub fn name(self) -> &'static str {
        match self {
            ForgeKind::GitHub => "GitHub",
            ForgeKind::Forgejo => "Forgejo/Gitea",
        }
    }

    /// The most commits and changed files the forge lists for one pull request, if
    /// it caps them (GitHub does, and documents it).
    pub fn list_caps(self) -> Option<PullCounts> {
        match self {
            ForgeKind::GitHub => Some(PullCounts {
                commits: Some(MAX_LISTED_COMMITS),
                changed_files: Some(MAX_LISTED_FILES),
            }),
            ForgeKind::Forgejo => None,
        }
    }

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

    /// Builds a client for `repo` (`owner/name`) at `api_url`. The token is
    /// registered with [`redact`](crate::apply::redact): no reply or error shows it.
    pub fn client(
        self,
        api_url: &str,
        repo: &str,
        token: Option<String>,
    ) -> Result<Box<dyn Forge>, ForgeError> {
        let (owner, name) = split_repo(repo)?;
        if let Some(t) = &token {
            crate::apply::redact::register(t);
            crate::apply::redact::register(t.trim());
        }
        let http = http::Http::new(self, token);
        Ok(match self {
            ForgeKind::GitHub => Box::new(GitHub::new(http, api_url, owner, name)),
            ForgeKind::Forgejo => Box::new(Forgejo::new(http, api_url, owner, name)),
        })
    }
}

/// `owner/name`, each part non-empty and the name without a `/`.
fn split_repo(repo: &str) -> Result<(&str, &str), ForgeError> {
    repo.split_once('/')
        .filter(|(o, n)| !o.is_empty() && !n.is_empty() && !n.contains('/'))
        .ok_or_else(|| ForgeError::BadRepo(repo.to_string()))
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
    /// RFC 3339 instant it was merged, if it was.
    pub merged_at: Option<String>,
}

/// How many commits and changed files the forge says a pull request has: what its
/// listings are checked against. `None` where the forge gives no count.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct PullCounts {
    pub commits: Option<u64>,
    pub changed_files: Option<u64>,
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
    /// The pull request and the counts [`PullData::fetch`] checks the lists against.
    fn pull(&self, number: u64) -> Result<(PullRequest, PullCounts), ForgeError>;
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
    /// Reads the pull request whole or not at all. Approvals judged on part of a pull
    /// request are unsafe (an unseen commit's author could approve their own request,
    /// an unseen request file would pass unjudged), so where the forge counts commits
    /// or files, the lists must hold exactly that many; a count above what the forge
    /// can list is refused before listing. Without a count, the clients' paging is
    /// what guarantees the list is whole.
    pub fn fetch(forge: &dyn Forge, number: u64) -> Result<PullData, ForgeError> {
        let (pull, counts) = forge.pull(number)?;
        let kind = forge.kind();
        let checks = [
            (Listed::Commits, counts.commits),
            (Listed::Files, counts.changed_files),
        ];
        for (what, count) in checks {
            within_cap(kind, number, what, count)?;
        }
        let commits = forge.commits(number)?;
        same_count(kind, number, Listed::Commits, commits.len(), counts.commits)?;
        let files = forge.files(number)?;
        same_count(
            kind,
            number,
            Listed::Files,
            files.len(),
            counts.changed_files,
        )?;
        Ok(PullData {
            pull,
            commits,
            files,
            reviews: forge.reviews(number)?,
        })
    }
}

/// What a pull request's count is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listed {
    Commits,
    Files,
}

impl Listed {
    fn noun(self) -> &'static str {
        match self {
            Listed::Commits => "commits",
            Listed::Files => "changed files",
        }
    }

    fn of(self, counts: PullCounts) -> Option<u64> {
        match self {
            Listed::Commits => counts.commits,
            Listed::Files => counts.changed_files,
        }
    }
}

/// Refuses a pull request larger than the forge can list, before listing it.
fn within_cap(
    kind: ForgeKind,
    number: u64,
    what: Listed,
    count: Option<u64>,
) -> Result<(), ForgeError> {
    let cap = kind.list_caps().and_then(|c| what.of(c));
    match (count, cap) {
        (Some(n), Some(cap)) if n > cap => Err(ForgeError::Incomplete {
            what: format!("pull request #{number}'s {}", what.noun()),
            listed: None,
            expected: Some(n),
            message: format!(
                "pull request #{number} has {n} {noun} but {forge} lists at most {cap}: loket cannot see them all and refuses to judge it; split the pull request",
                noun = what.noun(),
                forge = kind.name(),
            ),
        }),
        _ => Ok(()),
    }
}

/// Refuses a list that does not hold as many items as the forge counts (fewer: some
/// unseen; more: the forge contradicts itself).
fn same_count(
    kind: ForgeKind,
    number: u64,
    what: Listed,
    listed: usize,
    count: Option<u64>,
) -> Result<(), ForgeError> {
    let Some(n) = count else { return Ok(()) };
    let got = listed as u64;
    if got == n {
        return Ok(());
    }
    let (noun, forge) = (what.noun(), kind.name());
    let why = if got < n {
        "loket cannot see them all and refuses to judge it"
    } else {
        "the forge contradicts itself, and loket refuses to judge a pull request it cannot read whole"
    };
    Err(ForgeError::Incomplete {
        what: format!("pull request #{number}'s {noun}"),
        listed: Some(got),
        expected: Some(n),
        message: format!(
            "pull request #{number} has {n} {noun} by {forge}'s count but {forge} listed {got}: {why}; run loket again, and split the pull request if this persists"
        ),
    })
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
    /// The forge could not list everything: a cap, a count the list does not match,
    /// or paging that does not end. Fail closed: never judge part of a pull request.
    #[error("{message}")]
    Incomplete {
        /// What could not be read whole: a list URL, or e.g. "pull request #7's commits".
        what: String,
        /// How many items were read; `None` when refused before listing.
        listed: Option<u64>,
        /// How many the forge says there are, when it says.
        expected: Option<u64>,
        /// What happened and what to do, for the operator.
        message: String,
    },
    #[error("--repo {0:?}: expected owner/name")]
    BadRepo(String),
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incomplete(r: Result<(), ForgeError>) -> String {
        match r {
            Err(e @ ForgeError::Incomplete { .. }) => e.to_string(),
            other => panic!("expected Incomplete, got {other:?}"),
        }
    }

    #[test]
    fn github_refuses_counts_above_what_it_lists() {
        let gh = ForgeKind::GitHub;
        assert!(within_cap(gh, 7, Listed::Commits, Some(250)).is_ok());
        assert!(within_cap(gh, 7, Listed::Files, Some(3000)).is_ok());
        let msg = incomplete(within_cap(gh, 7, Listed::Files, Some(3001)));
        assert_eq!(
            msg,
            "pull request #7 has 3001 changed files but GitHub lists at most 3000: loket cannot see them all and refuses to judge it; split the pull request"
        );
        assert!(incomplete(within_cap(gh, 7, Listed::Commits, Some(251))).contains("at most 250"));
        // Forgejo lists everything, and no count means nothing to check here.
        assert!(within_cap(ForgeKind::Forgejo, 7, Listed::Files, Some(10_000)).is_ok());
        assert!(within_cap(gh, 7, Listed::Files, None).is_ok());
    }

    #[test]
    fn a_list_must_hold_exactly_the_count() {
        let fj = ForgeKind::Forgejo;
        assert!(same_count(fj, 3, Listed::Commits, 4, Some(4)).is_ok());
        assert!(same_count(fj, 3, Listed::Commits, 4, None).is_ok());
        let fewer = incomplete(same_count(fj, 3, Listed::Commits, 4, Some(5)));
        assert!(
            fewer.contains("has 5 commits") && fewer.contains("listed 4"),
            "{fewer}"
        );
        assert!(fewer.contains("cannot see them all"), "{fewer}");
        let more = incomplete(same_count(fj, 3, Listed::Files, 6, Some(5)));
        assert!(more.contains("contradicts itself"), "{more}");
    }
}
