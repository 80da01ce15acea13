//! Which requests a pull request adds or changes, read from its changed files and
//! the head tree, and whether it changes `loket.toml`.

use serde::Serialize;

use crate::forge::ChangedFile;
use crate::model::{CONFIG_FILE, Instance, REQUESTS_DIR, RequestKind};

/// A request the pull request adds or changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct TicketRef {
    pub ticket: String,
    pub kind: RequestKind,
    /// Path relative to the instance root.
    pub path: String,
}

/// What a pull request touches, read from its changed files and the head tree.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Touched {
    pub requests: Vec<TicketRef>,
    pub config_changed: bool,
    /// Request files the head tree could not provide (unparsable or missing).
    pub problems: Vec<String>,
}

/// Reads which requests a PR touches. `prefix` is the instance directory relative to
/// the repository root (`""` when the instance is the repository).
pub fn touched(files: &[ChangedFile], prefix: &str, head: &Instance) -> Touched {
    let prefix = prefix.trim_matches('/');
    let rel = |p: &str| -> Option<String> {
        if prefix.is_empty() {
            Some(p.to_string())
        } else {
            p.strip_prefix(prefix)?
                .strip_prefix('/')
                .map(str::to_string)
        }
    };
    let mut t = Touched::default();
    for f in files {
        let paths = [Some(&f.path), f.previous_path.as_ref()];
        if paths
            .iter()
            .flatten()
            .any(|p| rel(p).as_deref() == Some(CONFIG_FILE))
        {
            t.config_changed = true;
        }
        let Some(path) = rel(&f.path) else { continue };
        if f.removed || !path.starts_with(&format!("{REQUESTS_DIR}/")) || !path.ends_with(".toml") {
            continue;
        }
        let found = head
            .requests
            .iter()
            .find(|r| head.path(r.file).to_string_lossy() == path);
        match found {
            Some(r) => t.requests.push(TicketRef {
                ticket: r.value.ticket.get_ref().clone(),
                kind: *r.value.kind.get_ref(),
                path,
            }),
            None => t.problems.push(format!(
                "{path} is changed by the pull request but cannot be read from the working tree (check out the pull request's head and run `loket check`)"
            )),
        }
    }
    t.requests.sort_by(|a, b| a.ticket.cmp(&b.ticket));
    t
}
