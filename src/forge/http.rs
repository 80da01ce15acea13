//! The HTTP layer both forge clients share: one ureq agent, the token header, JSON
//! in and out, and the mapping of status codes to [`ForgeError`]s.

use std::time::Duration;

use serde::de::DeserializeOwned;
use ureq::Agent;
use ureq::http::{HeaderMap, Response};

use super::{ForgeError, ForgeKind};

/// Upper bound on pages followed, against a forge that never stops paging.
pub const MAX_PAGES: usize = 1000;
/// Largest answer read (a page of 100 reviews with long bodies stays far below).
const MAX_BODY: u64 = 32 * 1024 * 1024;

pub struct Http {
    agent: Agent,
    kind: ForgeKind,
    token: Option<String>,
}

/// A decoded page and the headers pagination needs.
pub struct Page<T> {
    pub items: T,
    pub headers: HeaderMap,
}

impl Http {
    pub fn new(kind: ForgeKind, token: Option<String>) -> Http {
        let agent: Agent = Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(60)))
            .user_agent(concat!("loket/", env!("CARGO_PKG_VERSION")))
            .build()
            .into();
        Http { agent, kind, token }
    }

    fn auth_value(&self) -> Option<String> {
        let t = self.token.as_deref()?;
        Some(match self.kind {
            ForgeKind::GitHub => format!("Bearer {t}"),
            ForgeKind::Forgejo => format!("token {t}"),
        })
    }

    fn accept(&self) -> &'static str {
        match self.kind {
            ForgeKind::GitHub => "application/vnd.github+json",
            ForgeKind::Forgejo => "application/json",
        }
    }

    pub fn get<T: DeserializeOwned>(&self, url: &str) -> Result<Page<T>, ForgeError> {
        let mut req = self.agent.get(url).header("Accept", self.accept());
        if self.kind == ForgeKind::GitHub {
            req = req.header("X-GitHub-Api-Version", "2022-11-28");
        }
        if let Some(a) = self.auth_value() {
            req = req.header("Authorization", a);
        }
        let resp = req.call().map_err(|e| transport(url, e))?;
        let mut resp = self.checked(url, resp)?;
        let headers = resp.headers().clone();
        let decode = |message: String| ForgeError::Decode {
            url: url.to_string(),
            message,
        };
        // Read whole, then parse: far faster than parsing from the reader.
        let text = resp
            .body_mut()
            .with_config()
            .limit(MAX_BODY)
            .read_to_string()
            .map_err(|e| decode(e.to_string()))?;
        let items = serde_json::from_str::<T>(&text).map_err(|e| decode(e.to_string()))?;
        Ok(Page { items, headers })
    }

    /// GETs a raw (non-JSON) body, e.g. a file's content.
    pub fn get_text(&self, url: &str, accept: &str) -> Result<String, ForgeError> {
        let mut req = self.agent.get(url).header("Accept", accept);
        if let Some(a) = self.auth_value() {
            req = req.header("Authorization", a);
        }
        let resp = req.call().map_err(|e| transport(url, e))?;
        let mut resp = self.checked(url, resp)?;
        resp.body_mut()
            .with_config()
            .limit(4 * 1024 * 1024)
            .read_to_string()
            .map_err(|e| ForgeError::Decode {
                url: url.to_string(),
                message: e.to_string(),
            })
    }

    /// POSTs or PATCHes `body` as JSON; returns the answer's JSON.
    pub fn send(
        &self,
        method: &str,
        url: &str,
        body: &serde_json::Value,
    ) -> Result<serde_json::Value, ForgeError> {
        let mut req = match method {
            "PATCH" => self.agent.patch(url),
            _ => self.agent.post(url),
        }
        .header("Accept", self.accept());
        if let Some(a) = self.auth_value() {
            req = req.header("Authorization", a);
        }
        let resp = req.send_json(body).map_err(|e| transport(url, e))?;
        let mut resp = self.checked(url, resp)?;
        resp.body_mut().read_json().map_err(|e| ForgeError::Decode {
            url: url.to_string(),
            message: e.to_string(),
        })
    }

    /// Creates an issue comment; returns its id. GitHub and Forgejo/Gitea share these
    /// endpoints under the repository URL, so both clients use this one.
    pub fn create_comment(
        &self,
        repo_url: &str,
        number: u64,
        body: &str,
    ) -> Result<u64, ForgeError> {
        let url = format!("{repo_url}/issues/{number}/comments");
        let v = self.send("POST", &url, &serde_json::json!({ "body": body }))?;
        Ok(v.get("id").and_then(|i| i.as_u64()).unwrap_or(0))
    }

    /// Replaces the body of issue comment `id` (same endpoint on both forges).
    pub fn edit_comment(&self, repo_url: &str, id: u64, body: &str) -> Result<(), ForgeError> {
        let url = format!("{repo_url}/issues/comments/{id}");
        self.send("PATCH", &url, &serde_json::json!({ "body": body }))
            .map(drop)
    }

    fn checked(
        &self,
        url: &str,
        mut resp: Response<ureq::Body>,
    ) -> Result<Response<ureq::Body>, ForgeError> {
        let status = resp.status().as_u16();
        if (200..300).contains(&status) {
            return Ok(resp);
        }
        let headers = resp.headers().clone();
        let text = resp
            .body_mut()
            .with_config()
            .limit(64 * 1024)
            .read_to_string()
            .unwrap_or_default();
        let header = |k: &str| headers.get(k).and_then(|v| v.to_str().ok());
        let env = self.kind.token_env();
        let exhausted = header("x-ratelimit-remaining") == Some("0");
        if status == 429
            || (status == 403 && (exhausted || text.to_ascii_lowercase().contains("rate limit")))
        {
            let reset = header("x-ratelimit-reset")
                .and_then(|s| s.parse::<i64>().ok())
                .and_then(|s| jiff::Timestamp::from_second(s).ok())
                .map(|t| t.to_string())
                .or_else(|| header("retry-after").map(|s| format!("in {s} s")));
            return Err(ForgeError::RateLimited {
                url: url.to_string(),
                reset,
                env,
            });
        }
        Err(match status {
            401 | 403 => ForgeError::Auth {
                status,
                url: url.to_string(),
                env,
                missing: self.token.is_none(),
            },
            404 => ForgeError::NotFound {
                url: url.to_string(),
            },
            _ => ForgeError::Status {
                status,
                url: url.to_string(),
                message: forge_message(&text),
            },
        })
    }
}

/// The `message` field both forges put in error bodies, or a short excerpt.
fn forge_message(text: &str) -> String {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .and_then(|v| v.get("message")?.as_str().map(str::to_string))
        .unwrap_or_else(|| text.chars().take(200).collect())
}

fn transport(url: &str, e: ureq::Error) -> ForgeError {
    ForgeError::Unreachable {
        url: url.to_string(),
        message: e.to_string(),
    }
}

/// A list the forge does not let us read to its end: refused, never cut short.
pub fn unfinished(url: &str, listed: usize, expected: Option<u64>, why: &str) -> ForgeError {
    ForgeError::Incomplete {
        what: url.to_string(),
        listed: Some(listed as u64),
        expected,
        message: format!(
            "{why}; at {url} loket cannot read the list whole and refuses to judge the pull request"
        ),
    }
}

/// Percent-encodes a repository path for a URL, keeping `/` between segments.
pub fn encode_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The `rel="next"` target of a `Link` header (GitHub; Gitea and Forgejo send the
/// same shape).
pub fn next_link(headers: &HeaderMap) -> Option<String> {
    let link = headers.get("link")?.to_str().ok()?;
    link.split(',').find_map(|part| {
        let (target, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim() == "rel=\"next\"")
            .then(|| {
                target
                    .trim()
                    .trim_start_matches('<')
                    .trim_end_matches('>')
                    .to_string()
            })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_link_is_found_among_others() {
        let mut h = HeaderMap::new();
        h.insert(
            "link",
            "<https://x/r?page=1>; rel=\"prev\", <https://x/r?page=3>; rel=\"next\", <https://x/r?page=9>; rel=\"last\""
                .parse()
                .unwrap(),
        );
        assert_eq!(next_link(&h).as_deref(), Some("https://x/r?page=3"));
        h.insert(
            "link",
            "<https://x/r?page=1>; rel=\"first\"".parse().unwrap(),
        );
        assert_eq!(next_link(&h), None);
    }
}
