//! A fake forge over real HTTP: a tiny_http server on 127.0.0.1 speaking the GitHub
//! REST or the Forgejo `/api/v1` JSON for pull requests, their commits, files,
//! reviews and issue comments, with each forge's pagination (GitHub: `per_page` and
//! `Link` headers, at most 250 commits and 3000 files per pull request; Forgejo:
//! `page`/`limit`, capped at 30 like a server with a low `MAX_RESPONSE_ITEMS`, plus
//! `X-Total-Count` and, by [`ForgejoPaging`], Gitea's `Link` and `X-HasMore` or a
//! server that ignores `page`), the pull's `commits` / `changed_files` counts, token
//! checks, 404 and rate limits.
//!
//! Tests hold the shared [`State`] and change it between runs of the real binary, the
//! way reviewers act on a real pull request. [`Repo`] builds the git repository the
//! binary reads (base branch `main`, PR head checked out).
#![allow(dead_code)] // each test binary uses a different subset

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

#[path = "fake_settings.rs"]
pub mod fake_settings;

pub const TOKEN: &str = "test-token-not-a-secret";
pub const OWNER: &str = "diskominfo-kudus";
pub const NAME: &str = "loket";
/// Forgejo's default `MAX_RESPONSE_ITEMS` is 50; a lower cap tests that the client
/// reads on past a short page rather than assuming its `limit` was honoured.
pub const FORGEJO_MAX_LIMIT: usize = 30;
/// GitHub lists at most this many commits of a pull request.
pub const GITHUB_MAX_COMMITS: usize = 250;
/// GitHub lists at most this many files of a pull request.
pub const GITHUB_MAX_FILES: usize = 3000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    GitHub,
    Forgejo,
}

impl Flavor {
    pub fn arg(self) -> &'static str {
        match self {
            Flavor::GitHub => "github",
            Flavor::Forgejo => "forgejo",
        }
    }
}

/// A review in neutral terms; rendered in the flavor's own shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Approve,
    RequestChanges,
    Comment,
    /// GitHub: state `DISMISSED`; Forgejo: state kept, `dismissed: true`.
    DismissedApproval,
    Pending,
}

#[derive(Debug, Clone)]
pub struct FakeReview {
    pub id: u64,
    pub login: String,
    pub verdict: Verdict,
    pub commit_id: String,
    pub submitted_at: String,
    pub body: String,
    /// Forgejo's `stale` flag (GitHub has none).
    pub stale: bool,
}

#[derive(Debug, Clone)]
pub struct FakePull {
    pub number: u64,
    pub author: String,
    pub head_sha: String,
    pub base_ref: String,
    pub base_sha: String,
    pub merged: bool,
    pub merge_commit_sha: Option<String>,
    pub created_at: String,
    /// When a merged pull request was merged (`None`: 2026-09-18T05:00:00Z).
    pub merged_at: Option<String>,
    /// (sha, author login, committer login)
    pub commits: Vec<(String, Option<String>, Option<String>)>,
    /// (path, GitHub-style status: added/modified/removed)
    pub files: Vec<(String, String)>,
    pub reviews: Vec<FakeReview>,
    /// File contents at the head, for the raw-content endpoints.
    pub contents: BTreeMap<String, String>,
    /// What the pull's `commits` count says instead of the real count (a forge that
    /// counts more than it lists).
    pub commits_count: Option<u64>,
    /// Likewise for `changed_files`.
    pub changed_files_count: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct FakeComment {
    pub id: u64,
    pub issue: u64,
    pub body: String,
    /// Who wrote it; the token (the bot) may edit only its own.
    pub author: String,
}

/// The login the test token belongs to.
pub const BOT: &str = "loket-bot";

/// How the Forgejo flavor pages. The default: `X-Total-Count` on every list, no
/// `Link`, no `X-HasMore`, pages capped at [`FORGEJO_MAX_LIMIT`].
#[derive(Debug, Clone, Copy, Default)]
pub struct ForgejoPaging {
    /// Send no `X-Total-Count` (older Gitea list endpoints, some proxies).
    pub no_total_count: bool,
    /// Send Gitea's `Link` header (`rel="next"`, `"last"`, `"first"`, `"prev"`).
    pub link: bool,
    /// Send `X-HasMore: true|false` (Gitea's pull-files endpoint does).
    pub has_more: bool,
    /// Answer every page with page 1 (a server or proxy that drops `page`).
    pub ignore_page: bool,
    /// Added to `X-Total-Count`: a server counting items it does not list.
    pub total_count_extra: usize,
    /// Hide other users' pending reviews after paging yet count them in
    /// `X-Total-Count`, as Gitea and Forgejo do for a token that is not an admin.
    pub hide_pending: bool,
}

#[derive(Debug, Default)]
pub struct State {
    pub pulls: BTreeMap<u64, FakePull>,
    pub comments: Vec<FakeComment>,
    pub next_id: u64,
    pub rate_limited: bool,
    pub forgejo: ForgejoPaging,
    /// Every request served: "METHOD path?query".
    pub log: Vec<String>,
    /// What `loket doctor` reads (branch rules, users, keys, secrets).
    pub settings: fake_settings::RepoSettings,
}

impl State {
    pub fn pull(&mut self, n: u64) -> &mut FakePull {
        self.pulls.get_mut(&n).expect("pull exists")
    }

    /// Adds a review `minute` minutes after 02:00 UTC on the pull's head.
    pub fn review(&mut self, n: u64, login: &str, verdict: Verdict, minute: u32, body: &str) {
        self.next_id += 1;
        let id = 900_000 + self.next_id;
        let p = self.pull(n);
        let head = p.head_sha.clone();
        p.reviews.push(FakeReview {
            id,
            login: login.to_string(),
            verdict,
            commit_id: head,
            submitted_at: format!("2026-09-18T{:02}:{:02}:00Z", 2 + minute / 60, minute % 60),
            body: body.to_string(),
            stale: false,
        });
    }
}

pub struct FakeForge {
    pub flavor: Flavor,
    /// What `--api-url` takes.
    pub api_url: String,
    pub state: Arc<Mutex<State>>,
    server: Arc<tiny_http::Server>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Drop for FakeForge {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl FakeForge {
    pub fn start(flavor: Flavor) -> FakeForge {
        let server = Arc::new(tiny_http::Server::http("127.0.0.1:0").expect("bind 127.0.0.1:0"));
        let port = server.server_addr().to_ip().expect("ip address").port();
        let root = format!("http://127.0.0.1:{port}");
        let api_url = match flavor {
            Flavor::GitHub => format!("{root}/api/v3"),
            Flavor::Forgejo => root.clone(),
        };
        let state = Arc::new(Mutex::new(State::default()));
        let (srv, st) = (server.clone(), state.clone());
        let thread = std::thread::spawn(move || {
            for mut req in srv.incoming_requests() {
                let mut body = String::new();
                let _ = req.as_reader().read_to_string(&mut body);
                let auth = req
                    .headers()
                    .iter()
                    .find(|h| h.field.equiv("Authorization"))
                    .map(|h| h.value.as_str().to_string());
                let method = req.method().as_str().to_string();
                let url = req.url().to_string();
                let resp = {
                    let mut s = st.lock().unwrap();
                    s.log.push(format!("{method} {url}"));
                    handle(flavor, &root, &mut s, &method, &url, auth.as_deref(), &body)
                };
                let mut r = tiny_http::Response::from_string(resp.body)
                    .with_status_code(resp.status)
                    .with_header(header("Content-Type", &resp.content_type));
                for (k, v) in resp.headers {
                    r = r.with_header(header(&k, &v));
                }
                let _ = req.respond(r);
            }
        });
        FakeForge {
            flavor,
            api_url,
            state,
            server,
            thread: Some(thread),
        }
    }

    pub fn with<R>(&self, f: impl FnOnce(&mut State) -> R) -> R {
        f(&mut self.state.lock().unwrap())
    }

    /// Opens pull request `n` for the head and base of `repo`.
    pub fn open_pull(&self, n: u64, repo: &Repo, author: &str) {
        let files = repo.changed_files();
        let contents = files
            .iter()
            .filter(|(_, st)| st != "removed")
            .map(|(p, _)| {
                (
                    p.clone(),
                    std::fs::read_to_string(repo.dir.join(p)).unwrap(),
                )
            })
            .collect();
        let head = repo.head_sha();
        self.with(|s| {
            s.pulls.insert(
                n,
                FakePull {
                    number: n,
                    author: author.to_string(),
                    head_sha: head.clone(),
                    base_ref: "main".into(),
                    base_sha: repo.base_sha(),
                    merged: false,
                    merge_commit_sha: None,
                    created_at: "2026-09-18T01:00:00Z".into(),
                    commits: vec![(head, Some(author.to_string()), Some(author.to_string()))],
                    files,
                    reviews: Vec::new(),
                    contents,
                    commits_count: None,
                    changed_files_count: None,
                    merged_at: None,
                },
            );
        });
    }

    /// Runs `loket review --pr n` against this forge with the right token, with
    /// `--format json` unless `extra` names a format.
    pub fn review(&self, repo: &Repo, n: u64, extra: &[&str]) -> Output {
        let mut c = self.loket(repo, TOKEN);
        c.args(["review", "--pr", &n.to_string()]);
        if !extra.contains(&"--format") {
            c.args(["--format", "json"]);
        }
        c.args(extra).output().expect("run loket")
    }

    /// `loket` with forge flags and a clean environment.
    pub fn loket(&self, repo: &Repo, token: &str) -> Command {
        let mut c = crate::common::loket();
        for k in [
            "GITHUB_TOKEN",
            "FORGEJO_TOKEN",
            "GITHUB_API_URL",
            "GITHUB_REPOSITORY",
            "GITHUB_STEP_SUMMARY",
            "GITHUB_ACTIONS",
            "LOKET_FORGE",
            "LOKET_FORGE_API_URL",
            "LOKET_DIR",
        ] {
            c.env_remove(k);
        }
        c.env("LOKET_FORGE_TOKEN", token)
            .env("LOKET_FORGE", self.flavor.arg())
            .env("LOKET_FORGE_API_URL", &self.api_url)
            .env("GITHUB_REPOSITORY", format!("{OWNER}/{NAME}"))
            .arg("-C")
            .arg(&repo.dir);
        c
    }
}

struct Resp {
    status: u16,
    body: String,
    content_type: String,
    headers: Vec<(String, String)>,
}

fn header(k: &str, v: &str) -> tiny_http::Header {
    tiny_http::Header::from_bytes(k.as_bytes(), v.as_bytes()).expect("valid header")
}

fn json_resp(status: u16, v: Value) -> Resp {
    Resp {
        status,
        body: v.to_string(),
        content_type: "application/json".into(),
        headers: Vec::new(),
    }
}

fn user(login: &str) -> Value {
    json!({"login": login, "id": login.len() as u64 * 1000 + 7, "type": "User"})
}

fn handle(
    flavor: Flavor,
    root: &str,
    s: &mut State,
    method: &str,
    url: &str,
    auth: Option<&str>,
    body: &str,
) -> Resp {
    let expected = match flavor {
        Flavor::GitHub => format!("Bearer {TOKEN}"),
        Flavor::Forgejo => format!("token {TOKEN}"),
    };
    if auth != Some(expected.as_str()) {
        return match flavor {
            Flavor::GitHub => json_resp(
                401,
                json!({"message": "Bad credentials", "documentation_url": "https://docs.github.com/rest", "status": "401"}),
            ),
            Flavor::Forgejo => json_resp(401, json!({"message": "token is required", "url": root})),
        };
    }
    if s.rate_limited {
        let mut r = match flavor {
            Flavor::GitHub => json_resp(
                403,
                json!({"message": "API rate limit exceeded for user ID 1.", "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}),
            ),
            Flavor::Forgejo => json_resp(429, json!({"message": "rate limit exceeded"})),
        };
        r.headers.push(("x-ratelimit-remaining".into(), "0".into()));
        r.headers
            .push(("x-ratelimit-reset".into(), "1789700000".into()));
        return r;
    }
    let paging = Paging {
        flavor,
        root,
        forgejo: s.forgejo,
    };
    let (path, query) = url.split_once('?').unwrap_or((url, ""));
    let q: BTreeMap<&str, &str> = query
        .split('&')
        .filter_map(|kv| kv.split_once('='))
        .collect();
    let prefix = match flavor {
        Flavor::GitHub => format!("/api/v3/repos/{OWNER}/{NAME}"),
        Flavor::Forgejo => format!("/api/v1/repos/{OWNER}/{NAME}"),
    };
    let not_found = || match flavor {
        Flavor::GitHub => json_resp(
            404,
            json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"}),
        ),
        Flavor::Forgejo => json_resp(
            404,
            json!({"message": "The target couldn't be found.", "errors": []}),
        ),
    };
    let api_prefix = prefix.trim_end_matches(&format!("/repos/{OWNER}/{NAME}"));
    if let Some(r) =
        fake_settings::handle(flavor, &s.settings, &paging, path, &q, &prefix, api_prefix)
    {
        return r;
    }
    let Some(rest) = path.strip_prefix(&prefix) else {
        return not_found();
    };
    let parts: Vec<&str> = rest.trim_start_matches('/').split('/').collect();
    match (method, parts.as_slice()) {
        ("GET", ["pulls"]) => {
            let items: Vec<Value> = s
                .pulls
                .values()
                .filter(|p| !p.merged)
                .map(|p| pull_json(flavor, p, true))
                .collect();
            paging.page(path, &q, items)
        }
        ("GET", ["commits", sha, "pulls"]) if flavor == Flavor::GitHub => {
            let items: Vec<Value> = s
                .pulls
                .values()
                .filter(|p| p.merge_commit_sha.as_deref() == Some(*sha) || p.head_sha == *sha)
                .map(|p| pull_json(flavor, p, true))
                .collect();
            paging.page(path, &q, items)
        }
        ("GET", ["commits", sha, "pull"]) if flavor == Flavor::Forgejo => {
            match s
                .pulls
                .values()
                .find(|p| p.merge_commit_sha.as_deref() == Some(*sha))
            {
                Some(p) => json_resp(200, pull_json(flavor, p, false)),
                None => not_found(),
            }
        }
        ("GET", ["pulls", n]) => match pull_of(s, n) {
            Some(p) => json_resp(200, pull_json(flavor, p, false)),
            None => not_found(),
        },
        ("GET", ["pulls", n, what]) => {
            let Some(p) = pull_of(s, n) else {
                return not_found();
            };
            // GitHub lists the first 250 commits and 3000 files, and says nothing.
            let (max_commits, max_files) = match flavor {
                Flavor::GitHub => (GITHUB_MAX_COMMITS, GITHUB_MAX_FILES),
                Flavor::Forgejo => (usize::MAX, usize::MAX),
            };
            let items: Vec<Value> = match *what {
                "commits" => p
                    .commits
                    .iter()
                    .take(max_commits)
                    .map(commit_json)
                    .collect(),
                "files" => p
                    .files
                    .iter()
                    .take(max_files)
                    .map(|(f, st)| {
                        let status = match (flavor, st.as_str()) {
                            (Flavor::Forgejo, "removed") => "deleted",
                            (Flavor::Forgejo, "modified") => "changed",
                            (_, other) => other,
                        };
                        json!({"filename": f, "status": status, "additions": 1, "deletions": 0, "changes": 1})
                    })
                    .collect(),
                "reviews" => p.reviews.iter().map(|r| review_json(flavor, p, r)).collect(),
                _ => return not_found(),
            };
            paging.page(path, &q, items)
        }
        ("GET", ["issues", n, "comments"]) => {
            let n: u64 = n.parse().unwrap_or(0);
            let items: Vec<Value> = s
                .comments
                .iter()
                .filter(|c| c.issue == n)
                .map(|c| json!({"id": c.id, "body": c.body, "user": user(&c.author)}))
                .collect();
            paging.page(path, &q, items)
        }
        ("POST", ["issues", n, "comments"]) => {
            let text = serde_json::from_str::<Value>(body)
                .ok()
                .and_then(|v| v["body"].as_str().map(str::to_string));
            let Some(text) = text else {
                return json_resp(422, json!({"message": "Validation Failed"}));
            };
            s.next_id += 1;
            let c = FakeComment {
                id: 5_000 + s.next_id,
                issue: n.parse().unwrap_or(0),
                body: text,
                author: BOT.into(),
            };
            let v = json!({"id": c.id, "body": c.body, "user": user(BOT)});
            s.comments.push(c);
            json_resp(201, v)
        }
        ("PATCH", ["issues", "comments", id]) => {
            let text = serde_json::from_str::<Value>(body)
                .ok()
                .and_then(|v| v["body"].as_str().map(str::to_string));
            let id: u64 = id.parse().unwrap_or(0);
            match (s.comments.iter_mut().find(|c| c.id == id), text) {
                (Some(c), _) if c.author != BOT => json_resp(
                    403,
                    json!({"message": "Must have admin rights to Repository."}),
                ),
                (Some(c), Some(t)) => {
                    c.body = t;
                    json_resp(200, json!({"id": c.id, "body": c.body, "user": user(BOT)}))
                }
                _ => not_found(),
            }
        }
        ("GET", [kind, file @ ..])
            if (*kind == "contents" && flavor == Flavor::GitHub)
                || (*kind == "raw" && flavor == Flavor::Forgejo) =>
        {
            let path = file.join("/");
            let sha = q.get("ref").copied().unwrap_or("");
            let found = s
                .pulls
                .values()
                .find(|p| p.head_sha == sha)
                .and_then(|p| p.contents.get(&path));
            match found {
                Some(text) => Resp {
                    status: 200,
                    body: text.clone(),
                    content_type: "text/plain; charset=utf-8".into(),
                    headers: Vec::new(),
                },
                None => not_found(),
            }
        }
        _ => not_found(),
    }
}

fn pull_of<'a>(s: &'a State, n: &str) -> Option<&'a FakePull> {
    s.pulls.get(&n.parse::<u64>().ok()?)
}

fn pull_json(flavor: Flavor, p: &FakePull, listed: bool) -> Value {
    let state = if p.merged { "closed" } else { "open" };
    let mut v = json!({
        "id": 10_000 + p.number,
        "number": p.number,
        "state": state,
        "title": format!("Permohonan #{}", p.number),
        "user": user(&p.author),
        "head": {"ref": format!("request-{}", p.number), "sha": p.head_sha, "label": format!("{}:request", p.author)},
        "base": {"ref": p.base_ref, "sha": p.base_sha, "label": "main"},
        "merge_commit_sha": p.merge_commit_sha,
        "merged_at": if p.merged {
            json!(p.merged_at.as_deref().unwrap_or("2026-09-18T05:00:00Z"))
        } else {
            Value::Null
        },
        "created_at": p.created_at,
        "updated_at": p.created_at,
    });
    // GitHub's list endpoint has no `merged` and no counts; Forgejo always sends
    // them.
    if !(listed && flavor == Flavor::GitHub) {
        v["merged"] = json!(p.merged);
        let commits = p.commits_count.unwrap_or(p.commits.len() as u64);
        v["commits"] = json!(commits);
        let files = p.changed_files_count.unwrap_or(p.files.len() as u64);
        v["changed_files"] = json!(files);
        v["additions"] = json!(files);
        v["deletions"] = json!(0);
    }
    v
}

fn commit_json(c: &(String, Option<String>, Option<String>)) -> Value {
    json!({
        "sha": c.0,
        "commit": {
            "author": {"name": "Someone", "email": "someone@example.invalid", "date": "2026-09-18T00:59:00Z"},
            "committer": {"name": "Someone", "email": "someone@example.invalid", "date": "2026-09-18T00:59:00Z"},
            "message": "Permohonan"
        },
        "author": c.1.as_deref().map(user),
        "committer": c.2.as_deref().map(user),
    })
}

fn review_json(flavor: Flavor, p: &FakePull, r: &FakeReview) -> Value {
    let submitted = if r.verdict == Verdict::Pending {
        Value::Null
    } else {
        json!(r.submitted_at)
    };
    match flavor {
        Flavor::GitHub => {
            let state = match r.verdict {
                Verdict::Approve => "APPROVED",
                Verdict::RequestChanges => "CHANGES_REQUESTED",
                Verdict::Comment => "COMMENTED",
                Verdict::DismissedApproval => "DISMISSED",
                Verdict::Pending => "PENDING",
            };
            json!({
                "id": r.id,
                "node_id": format!("PRR_{}", r.id),
                "user": user(&r.login),
                "body": r.body,
                "state": state,
                "html_url": format!("https://github.example/pull/{}#pullrequestreview-{}", p.number, r.id),
                "pull_request_url": format!("https://api.github.example/pulls/{}", p.number),
                "author_association": "MEMBER",
                "submitted_at": submitted,
                "commit_id": r.commit_id,
            })
        }
        Flavor::Forgejo => {
            let state = match r.verdict {
                Verdict::Approve | Verdict::DismissedApproval => "APPROVED",
                Verdict::RequestChanges => "REQUEST_CHANGES",
                Verdict::Comment => "COMMENT",
                Verdict::Pending => "PENDING",
            };
            json!({
                "id": r.id,
                "user": user(&r.login),
                "team": null,
                "state": state,
                "body": r.body,
                "commit_id": r.commit_id,
                "stale": r.stale || r.commit_id != p.head_sha,
                "official": true,
                "dismissed": r.verdict == Verdict::DismissedApproval,
                "comments_count": 0,
                "submitted_at": submitted,
                "updated_at": r.submitted_at,
                "html_url": format!("https://git.example/pulls/{}#issuecomment-{}", p.number, r.id),
                "pull_request_url": format!("https://git.example/pulls/{}", p.number),
            })
        }
    }
}

/// What a list answer needs to page like the flavor.
struct Paging<'a> {
    flavor: Flavor,
    root: &'a str,
    forgejo: ForgejoPaging,
}

impl Paging<'_> {
    /// One page of `items` in the flavor's pagination.
    fn page(&self, path: &str, q: &BTreeMap<&str, &str>, items: Vec<Value>) -> Resp {
        let asked: usize = q
            .get("page")
            .and_then(|p| p.parse().ok())
            .unwrap_or(1)
            .max(1);
        let page = match self.flavor {
            Flavor::Forgejo if self.forgejo.ignore_page => 1,
            _ => asked,
        };
        let total = items.len();
        let per = match self.flavor {
            Flavor::GitHub => q
                .get("per_page")
                .and_then(|p| p.parse().ok())
                .unwrap_or(30)
                .min(100),
            Flavor::Forgejo => q
                .get("limit")
                .and_then(|p| p.parse().ok())
                .unwrap_or(FORGEJO_MAX_LIMIT)
                .min(FORGEJO_MAX_LIMIT),
        }
        .max(1);
        let hidden = |v: &Value| {
            self.flavor == Flavor::Forgejo
                && self.forgejo.hide_pending
                && v["state"] == "PENDING"
                && v["user"]["login"] != BOT
        };
        let chunk: Vec<Value> = items
            .into_iter()
            .skip((page - 1) * per)
            .take(per)
            .filter(|v| !hidden(v))
            .collect();
        let mut r = json_resp(200, Value::Array(chunk));
        let last = total.div_ceil(per).max(1);
        // Both put the page's own query (with `page` replaced) in their links; Gitea
        // sends `limit` as the capped page size.
        let keep: Vec<String> = q
            .iter()
            .filter(|(k, _)| !matches!(**k, "page" | "limit"))
            .map(|(k, v)| format!("{k}={v}"))
            .chain((self.flavor == Flavor::Forgejo).then(|| format!("limit={per}")))
            .collect();
        let link = |p: usize, rel: &str| {
            let root = self.root;
            format!("<{root}{path}?{}&page={p}>; rel=\"{rel}\"", keep.join("&"))
        };
        let mut links = Vec::new();
        if page < last {
            links.push(link(page + 1, "next"));
            links.push(link(last, "last"));
        }
        if page > 1 {
            links.push(link(1, "first"));
            links.push(link(page - 1, "prev"));
        }
        match self.flavor {
            Flavor::GitHub => {
                if !links.is_empty() {
                    r.headers.push(("Link".into(), links.join(", ")));
                }
            }
            Flavor::Forgejo => {
                let f = self.forgejo;
                if f.link && !links.is_empty() {
                    r.headers.push(("Link".into(), links.join(",")));
                }
                if f.has_more {
                    r.headers
                        .push(("X-HasMore".into(), (page < last).to_string()));
                }
                if !f.no_total_count {
                    let counted = total + f.total_count_extra;
                    r.headers
                        .push(("X-Total-Count".into(), counted.to_string()));
                }
            }
        }
        r
    }
}

/// A git repository holding an instance: `main` with the base, the PR head checked
/// out on branch `request`.
pub struct Repo {
    _tmp: tempfile::TempDir,
    pub dir: PathBuf,
}

pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=Test",
            "-c",
            "user.email=test@example.invalid",
        ])
        .args(args)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl Repo {
    /// `main` holds `config` as loket.toml; nothing else.
    pub fn new(config: &str) -> Repo {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().to_path_buf();
        git(&dir, &["init", "-q", "-b", "main"]);
        std::fs::write(dir.join("loket.toml"), config).unwrap();
        git(&dir, &["add", "-A"]);
        git(&dir, &["commit", "-q", "-m", "base"]);
        git(&dir, &["checkout", "-q", "-b", "request"]);
        Repo { _tmp: tmp, dir }
    }

    /// The bundled Kudus preset.
    pub fn kudus() -> Repo {
        Repo::new(&kudus_config())
    }

    /// Commits `path` with `text` on the PR branch.
    pub fn commit_file(&self, path: &str, text: &str) {
        let p = self.dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        git(&self.dir, &["add", "-A"]);
        git(&self.dir, &["commit", "-q", "-m", &format!("add {path}")]);
    }

    /// Removes `path` on the PR branch.
    pub fn remove_file(&self, path: &str) {
        git(&self.dir, &["rm", "-q", path]);
        git(
            &self.dir,
            &["commit", "-q", "-m", &format!("remove {path}")],
        );
    }

    /// Copies a file of the bundled instance as it is.
    pub fn copy_bundled(&self, rel: &str) {
        let text =
            std::fs::read_to_string(crate::common::repo_root().join(rel)).expect("bundled file");
        self.commit_file(rel, &text);
    }

    /// Adds the bundled request `ticket` (from the repository's requests/).
    pub fn add_request(&self, ticket: &str) -> String {
        let rel = format!("requests/{ticket}.toml");
        let text = std::fs::read_to_string(crate::common::repo_root().join(&rel))
            .expect("bundled request");
        self.commit_file(&rel, &text);
        rel
    }

    pub fn head_sha(&self) -> String {
        git(&self.dir, &["rev-parse", "HEAD"])
    }

    pub fn base_sha(&self) -> String {
        git(&self.dir, &["rev-parse", "main"])
    }

    /// Files changed between `main` and the head, with GitHub-style statuses.
    pub fn changed_files(&self) -> Vec<(String, String)> {
        git(&self.dir, &["diff", "--name-status", "main", "HEAD"])
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
            .collect()
    }
}

pub fn kudus_config() -> String {
    std::fs::read_to_string(crate::common::repo_root().join("presets/kudus.toml"))
        .expect("presets/kudus.toml")
}

/// The JSON `loket review --format json` printed.
pub fn json_of(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON ({e}); stdout: {}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}
