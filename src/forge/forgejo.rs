//! Forgejo and Gitea REST (`{server}/api/v1`). Lists are read with `page`/`limit`;
//! reviews carry `stale`, `dismissed` and `official` flags instead of GitHub's
//! `DISMISSED` state.

use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use ureq::http::HeaderMap;

use super::http::{Http, MAX_PAGES, encode_path, next_link, unfinished};
use super::wire::{File, Pull, PullCommit, User};
use super::{
    ChangedFile, Commit, Forge, ForgeError, ForgeKind, IssueComment, PullCounts, PullRequest,
    Review, ReviewState,
};

/// Items asked per page; servers may cap it lower (`MAX_RESPONSE_ITEMS`, 50 by default).
const LIMIT: usize = 50;

pub struct Forgejo {
    pub(super) http: Http,
    /// `{server}/api/v1/repos/{owner}/{name}`.
    pub(super) repo_url: String,
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

    /// Reads every page of a list. Servers cap `limit` (`MAX_RESPONSE_ITEMS`) and
    /// not all send `X-Total-Count`, so a short page says nothing: the end is where
    /// `Link` has no `rel="next"`, `X-HasMore` says false, or else a page is empty;
    /// never before the pages `X-Total-Count` implies, which then cross-checks.
    pub(super) fn list<T: DeserializeOwned>(
        &self,
        path: &str,
        total: Total,
    ) -> Result<Vec<T>, ForgeError> {
        let sep = if path.contains('?') { '&' } else { '?' };
        let first = format!("{}/{path}", self.repo_url);
        let mut out = Vec::new();
        let mut previous: Option<Vec<Value>> = None;
        let (mut counted, mut widest) = (None, 0);
        for page in 1..=MAX_PAGES {
            let url = format!("{first}{sep}page={page}&limit={LIMIT}");
            let got = self.http.get::<Vec<Value>>(&url)?;
            counted = header_total(&got.headers).or(counted);
            widest = widest.max(got.items.len());
            let more = if got.items.is_empty() {
                false
            } else {
                if previous.as_ref() == Some(&got.items) {
                    let why = format!(
                        "the forge answered page {page} with page {} again: it ignores `page` (check the server and any proxy in front of it)",
                        page - 1
                    );
                    return Err(unfinished(&first, out.len(), counted, &why));
                }
                for v in &got.items {
                    out.push(T::deserialize(v).map_err(|e| ForgeError::Decode {
                        url: url.clone(),
                        message: e.to_string(),
                    })?);
                }
                previous = Some(got.items);
                more_after(&got.headers) != Some(false)
            };
            // Hidden items make pages short, even empty, before the last one.
            let pages = counted.map_or(0, |t| t.div_ceil(widest.max(1) as u64));
            if !more && page as u64 >= pages {
                return total.check(&first, out, counted);
            }
        }
        let why = format!("the forge still had more after {MAX_PAGES} pages");
        Err(unfinished(&first, out.len(), counted, &why))
    }
}

/// What a list's `X-Total-Count` counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Total {
    /// Exactly the items listed.
    Exact,
    /// Also items hidden from the token: reviews count other users' pending drafts,
    /// which are never approvals and withdraw none (Gitea filters them after paging).
    AtLeast,
}

impl Total {
    /// X-Total-Count only cross-checks: a list that disagrees with it is refused.
    fn check<T>(self, url: &str, out: Vec<T>, counted: Option<u64>) -> Result<Vec<T>, ForgeError> {
        let n = out.len() as u64;
        match counted {
            Some(t) if n > t || (n < t && self == Total::Exact) => {
                let why = format!("the forge counts {t} (X-Total-Count) but listed {n}");
                Err(unfinished(url, out.len(), counted, &why))
            }
            _ => Ok(out),
        }
    }
}

fn header_total(headers: &HeaderMap) -> Option<u64> {
    headers
        .get("x-total-count")?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()
}

/// Whether a page's headers say another follows: `Link` (Gitea and Forgejo send it
/// with `rel="next"` on every page but the last), else `X-HasMore`; `None` when
/// neither says, and only an empty page ends the list.
fn more_after(headers: &HeaderMap) -> Option<bool> {
    if headers.contains_key("link") {
        return Some(next_link(headers).is_some());
    }
    match headers.get("x-hasmore")?.to_str().ok()?.trim() {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
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

    fn pull(&self, number: u64) -> Result<(PullRequest, PullCounts), ForgeError> {
        let url = format!("{}/pulls/{number}", self.repo_url);
        let pull = self.http.get::<Pull>(&url)?.items;
        // Forgejo leaves a count at 0 when it did not compute it (AGit-flow pull
        // requests, a diff error): 0 is no count, and paging alone decides.
        let nonzero = |n: Option<u64>| n.filter(|&n| n > 0);
        let counts = pull.counts();
        let counts = PullCounts {
            commits: nonzero(counts.commits),
            changed_files: nonzero(counts.changed_files),
        };
        Ok((pull.into(), counts))
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
            .list::<Pull>("pulls?state=open", Total::Exact)?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    fn commits(&self, number: u64) -> Result<Vec<Commit>, ForgeError> {
        // verification/files off: loket needs only the accounts, and both are costly.
        Ok(self
            .list::<PullCommit>(
                &format!("pulls/{number}/commits?verification=false&files=false"),
                Total::Exact,
            )?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    fn files(&self, number: u64) -> Result<Vec<ChangedFile>, ForgeError> {
        Ok(self
            .list::<File>(&format!("pulls/{number}/files"), Total::Exact)?
            .into_iter()
            .map(Into::into)
            .collect())
    }

    fn reviews(&self, number: u64) -> Result<Vec<Review>, ForgeError> {
        Ok(self
            .list::<PullReview>(&format!("pulls/{number}/reviews"), Total::AtLeast)?
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
        self.list::<IssueComment>(&format!("issues/{number}/comments"), Total::Exact)
    }

    fn create_comment(&self, number: u64, body: &str) -> Result<u64, ForgeError> {
        self.http.create_comment(&self.repo_url, number, body)
    }

    fn edit_comment(&self, id: u64, body: &str) -> Result<(), ForgeError> {
        self.http.edit_comment(&self.repo_url, id, body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn link_decides_before_has_more() {
        let next = "<https://git.example/api/v1/repos/o/r/pulls/1/reviews?limit=30&page=2>; rel=\"next\",<https://git.example/api/v1/repos/o/r/pulls/1/reviews?limit=30&page=3>; rel=\"last\"";
        assert_eq!(more_after(&headers(&[("link", next)])), Some(true));
        // Link without a next: the last page, whatever X-HasMore claims.
        let last =
            "<https://git.example/api/v1/repos/o/r/pulls/1/reviews?limit=30&page=1>; rel=\"first\"";
        assert_eq!(
            more_after(&headers(&[("link", last), ("x-hasmore", "true")])),
            Some(false)
        );
        assert_eq!(more_after(&headers(&[("x-hasmore", "true")])), Some(true));
        assert_eq!(more_after(&headers(&[("x-hasmore", "false")])), Some(false));
    }

    #[test]
    fn without_link_or_has_more_nothing_is_known() {
        // X-Total-Count alone never ends a list: a short page may be a server's cap.
        assert_eq!(more_after(&headers(&[("x-total-count", "30")])), None);
        assert_eq!(more_after(&headers(&[("x-hasmore", "maybe")])), None);
        assert_eq!(more_after(&HeaderMap::new()), None);
    }

    #[test]
    fn total_count_is_read_leniently_and_never_guessed() {
        assert_eq!(
            header_total(&headers(&[("x-total-count", " 31 ")])),
            Some(31)
        );
        assert_eq!(header_total(&headers(&[("x-total-count", "-1")])), None);
        assert_eq!(header_total(&HeaderMap::new()), None);
    }
}
