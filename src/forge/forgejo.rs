//! Forgejo and Gitea REST (`{server}/api/v1`). Lists are read with `page`/`limit`;
//! reviews carry `stale`, `dismissed` and `official` flags instead of GitHub's
//! `DISMISSED` state.

use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::http::{Http, MAX_PAGES, encode_path};
use super::wire::{File, Pull, PullCommit, User};
use super::{
    ChangedFile, Commit, Forge, ForgeError, ForgeKind, IssueComment, PullRequest, Review,
    ReviewState,
};

/// Items asked per page; servers may cap it lower (`MAX_RESPONSE_ITEMS`, 50 by default).
const LIMIT: usize = 50;

pub struct Forgejo {
    http: Http,
    /// `{server}/api/v1/repos/{owner}/{name}`.
    repo_url: String,
}

impl Forgejo {
    /// `api_url` is the server (`https://git.example.go.id`) or its `/api/v1`.
    pub(super) fn new(http: Http, api_url: &str, owner: &str, name: &str) -> Forgejo {
        let mut api = api_url.trim_end_matches('/').to_string();
        if !api.ends_with("/api/v1") {
            api.push_str("/api/v1");
        }
        Forgejo {
            http,
            repo_url: format!("{api}/repos/{owner}/{name}"),
        }
    }

    fn list<T: DeserializeOwned>(&self, path: &str) -> Result<Vec<T>, ForgeError> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let mut out = Vec::new();
        for page in 1..=MAX_PAGES {
            let url = format!("{}/{path}{sep}page={page}&limit={LIMIT}", self.repo_url);
            let got = self.http.get::<Vec<T>>(&url)?;
            let total = got
                .headers
                .get("x-total-count")
                .and_then(|v| v.to_str().ok()?.parse::<usize>().ok());
            let n = got.items.len();
            out.extend(got.items);
            let done = match total {
                Some(t) => out.len() >= t,
                // Without a total, a short page is the last (and guards against a
                // server that ignores `page` and repeats everything).
                None => n < LIMIT,
            };
            if n == 0 || done {
                break;
            }
        }
        Ok(out)
    }
}

#[derive(Deserialize)]
struct PullReview {
    id: u64,
    user: Option<User>,
    #[serde(default)]
    body: Option<String>,
    state: String,
    #[serde(default)]
    commit_id: Option<String>,
    #[serde(default)]
    submitted_at: Option<String>,
    #[serde(default)]
    stale: bool,
    #[serde(default)]
    dismissed: bool,
    #[serde(default)]
    official: bool,
}

fn state(s: &str) -> ReviewState {
    match s {
        "APPROVED" => ReviewState::Approved,
        "REQUEST_CHANGES" => ReviewState::ChangesRequested,
        "COMMENT" => ReviewState::Commented,
        "REQUEST_REVIEW" => ReviewState::ReviewRequested,
        "PENDING" => ReviewState::Pending,
        _ => ReviewState::Other,
    }
}

impl Forge for Forgejo {
    fn kind(&self) -> ForgeKind {
        ForgeKind::Forgejo
    }

    fn pull(&self, number: u64) -> Result<PullRequest, ForgeError> {
        let url = format!("{}/pulls/{number}", self.repo_url);
        Ok(self.http.get::<Pull>(&url)?.items.into())
    }

    fn merged_pull_for_commit(&self, sha: &str) -> Result<Option<u64>, ForgeError> {
        let url = format!("{}/commits/{sha}/pull", self.repo_url);
        match self
            .http
            .get::<Pull>(&url)
            .map(|p| PullRequest::from(p.items))
        {
            Ok(p) if p.merged => Ok(Some(p.number)),
            Ok(_) | Err(ForgeError::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    fn open_pulls(&self) -> Result<Vec<PullRequest>, ForgeError> {
        Ok(self
            .list::<Pull>("pulls?state=open")?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    fn commits(&self, number: u64) -> Result<Vec<Commit>, ForgeError> {
        // verification/files off: loket needs only the accounts, and both are costly.
        Ok(self
            .list::<PullCommit>(&format!(
                "pulls/{number}/commits?verification=false&files=false"
            ))?
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
            .list::<PullReview>(&format!("pulls/{number}/reviews"))?
            .into_iter()
            .map(|r| Review {
                id: r.id,
                login: r.user.map(|u| u.login).unwrap_or_default(),
                state: state(&r.state),
                commit_id: r.commit_id,
                submitted_at: r.submitted_at,
                dismissed: r.dismissed,
                stale: r.stale,
                official: r.official,
                body: r.body.unwrap_or_default(),
            })
            .collect())
    }

    fn file_at(&self, path: &str, sha: &str) -> Result<String, ForgeError> {
        let url = format!("{}/raw/{}?ref={sha}", self.repo_url, encode_path(path));
        self.http.get_text(&url, "text/plain")
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
