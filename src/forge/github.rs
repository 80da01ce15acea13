//! GitHub REST (github.com or Enterprise: `https://HOST/api/v3`). Lists are read
//! 100 per page, following the `Link: rel="next"` header.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::http::{Http, MAX_PAGES, encode_path, next_link, unfinished};
use super::wire::{File, Pull, PullCommit, User};
use super::{
    ChangedFile, Commit, Forge, ForgeError, ForgeKind, IssueComment, PullCounts, PullRequest,
    Review, ReviewState,
};

pub const DEFAULT_API_URL: &str = "https://api.github.com";
/// GitHub lists at most this many commits of a pull request (documented on
/// "List commits on a pull request").
pub const MAX_LISTED_COMMITS: u64 = 250;
/// GitHub lists at most this many files of a pull request (documented on "List
/// pull requests files").
pub const MAX_LISTED_FILES: u64 = 3000;

pub struct GitHub {
    pub(super) http: Http,
    /// `{api}/repos/{owner}/{name}`.
    pub(super) repo_url: String,
}

impl GitHub {
    pub(super) fn new(http: Http, api_url: &str, owner: &str, name: &str) -> GitHub {
        let api = api_url.trim_end_matches('/');
        GitHub {
            http,
            repo_url: format!("{api}/repos/{owner}/{name}"),
        }
    }

    pub(super) fn list<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>, ForgeError> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut url = Some(format!("{}/{path}{sep}per_page=100", self.repo_url));
        let mut out = Vec::new();
        let mut pages = 0;
        while let Some(u) = url.take() {
            let page = self.http.get::<Vec<T>>(&u)?;
            out.extend(page.items);
            pages += 1;
            url = next_link(&page.headers);
            // A next page past the bound, or the page itself again, is a list we
            // cannot finish: refused, never cut short.
            let why = match &url {
                Some(next) if *next == u => "the forge's next page is the page itself".into(),
                Some(_) if pages >= MAX_PAGES => {
                    format!("the forge still had more after {MAX_PAGES} pages")
                }
                _ => continue,
            };
            return Err(unfinished(&u, out.len(), None, &why));
        }
        Ok(out)
    }
}

#[derive(Deserialize)]
struct GhReview {
    id: u64,
    user: Option<User>,
    #[serde(default)]
    body: Option<String>,
    state: String,
    #[serde(default)]
    commit_id: Option<String>,
    #[serde(default)]
    submitted_at: Option<String>,
}

fn state(s: &str) -> ReviewState {
    match s {
        "APPROVED" => ReviewState::Approved,
        "CHANGES_REQUESTED" => ReviewState::ChangesRequested,
        "COMMENTED" => ReviewState::Commented,
        "DISMISSED" => ReviewState::Dismissed,
        "PENDING" => ReviewState::Pending,
        _ => ReviewState::Other,
    }
}

impl Forge for GitHub {
    fn kind(&self) -> ForgeKind {
        ForgeKind::GitHub
    }

    fn pull(&self, number: u64) -> Result<(PullRequest, PullCounts), ForgeError> {
        let url = format!("{}/pulls/{number}", self.repo_url);
        let pull = self.http.get::<Pull>(&url)?.items;
        let counts = pull.counts();
        Ok((pull.into(), counts))
    }

    fn merged_pull_for_commit(&self, sha: &str) -> Result<Option<u64>, ForgeError> {
        let pulls: Vec<PullRequest> = self
            .list::<Pull>(&format!("commits/{sha}/pulls"))?
            .into_iter()
            .map(Into::into)
            .collect();
        let merged = |p: &&PullRequest| p.merged;
        Ok(pulls
            .iter()
            .filter(merged)
            .find(|p| p.merge_commit_sha.as_deref() == Some(sha))
            .or_else(|| pulls.iter().find(merged))
            .map(|p| p.number))
    }

    fn open_pulls(&self) -> Result<Vec<PullRequest>, ForgeError> {
        Ok(self
            .list::<Pull>("pulls?state=open")?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    fn commits(&self, number: u64) -> Result<Vec<Commit>, ForgeError> {
        Ok(self
            .list::<PullCommit>(&format!("pulls/{number}/commits"))?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    fn files(&self, number: u64) -> Result<Vec<ChangedFile>, ForgeError> {
        Ok(self
            .list::<File>(&format!("pulls/{number}/files"))?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    fn reviews(&self, number: u64) -> Result<Vec<Review>, ForgeError> {
        Ok(self
            .list::<GhReview>(&format!("pulls/{number}/reviews"))?
            .into_iter()
            .map(|r| {
                let state = state(&r.state);
                Review {
                    id: r.id,
                    login: r.user.map(|u| u.login).unwrap_or_default(),
                    dismissed: state == ReviewState::Dismissed,
                    state,
                    commit_id: r.commit_id,
                    submitted_at: r.submitted_at,
                    stale: false,
                    official: false,
                    body: r.body.unwrap_or_default(),
                }
            })
            .collect())
    }

    fn file_at(&self, path: &str, sha: &str) -> Result<String, ForgeError> {
        let url = format!("{}/contents/{}?ref={sha}", self.repo_url, encode_path(path));
        self.http.get_text(&url, "application/vnd.github.raw+json")
    }

    fn comments(&self, number: u64) -> Result<Vec<IssueComment>, ForgeError> {
        self.list::<IssueComment>(&format!("issues/{number}/comments"))
    }

    fn create_comment(&self, number: u64, body: &str) -> Result<u64, ForgeError> {
        self.http.create_comment(&self.repo_url, number, body)
    }

    fn edit_comment(&self, id: u64, body: &str) -> Result<(), ForgeError> {
        self.http.edit_comment(&self.repo_url, id, body)
    }
}
