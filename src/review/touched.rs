//! What a pull request touches, read from its changed files (as the forge lists
//! them) and the head tree: the requests it adds or changes, the paths that change
//! what loket does or shows (which need `approvals.config-change-role`), and any
//! write to `records/`, which only CI may make.

use serde::Serialize;

use crate::forge::ChangedFile;
use crate::model::letter::LETTERS_DIR;
use crate::model::record::RECORDS_DIR;
use crate::model::{ACCOUNTS_DIR, CONFIG_FILE, Instance, REQUESTS_DIR, RequestKind};

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
    /// `loket.toml` is among the protected paths.
    pub config_changed: bool,
    /// Paths (from the repository root) that change what loket does or shows:
    /// everything outside the instance's `requests/` and `accounts/` (config,
    /// templates, site assets, source, lock file, presets, scripts, workflows), a
    /// request removed or renamed away, and `accounts/` changed with no request.
    pub protected: Vec<String>,
    /// Paths under the instance's `records/`: written by CI only.
    pub records: Vec<String>,
    /// Request files the head tree could not provide (unparsable or missing).
    pub problems: Vec<String>,
    /// Paths (from the repository root) under `letters/` the pull request adds or
    /// changes: data, like requests.
    pub letters: Vec<String>,
    /// Set when the pull request is a follow-up pull request: it changes exactly one
    /// `letters/<ticket>.toml` and nothing else ([`super::followup`]).
    pub follow_up: Option<FollowUpRef>,
}

/// The ticket a follow-up pull request's letter is for, read from the head tree.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct FollowUpRef {
    pub ticket: String,
    /// The letter's path, relative to the instance root.
    pub path: String,
    /// The request's kind, when `requests/<ticket>.toml` is on the head.
    pub kind: Option<RequestKind>,
    /// The applicant's forge login, as the request names it (`applicant.login`).
    pub applicant_login: Option<String>,
    /// Whether loket already processed the ticket (apply and verify done): the
    /// caller sets it from what it trusts; a letter for a ticket not processed is
    /// refused.
    pub processed: bool,
}

/// Where a changed path sits, relative to the instance.
enum Area {
    Request(String),
    Letter(String),
    Accounts,
    Records,
    Protected,
}

fn area(path: &str, prefix: &str) -> Area {
    let rel = if prefix.is_empty() {
        Some(path)
    } else {
        path.strip_prefix(prefix).and_then(|p| p.strip_prefix('/'))
    };
    let Some(rel) = rel else {
        // Outside the instance: whatever else the repository holds.
        return Area::Protected;
    };
    let under = |dir: &str| {
        rel.strip_prefix(dir)
            .is_some_and(|r| r.starts_with('/') && r.len() > 1)
    };
    if under(REQUESTS_DIR) {
        Area::Request(rel.to_string())
    } else if under(LETTERS_DIR) {
        Area::Letter(rel.to_string())
    } else if under(ACCOUNTS_DIR) {
        Area::Accounts
    } else if under(RECORDS_DIR) {
        Area::Records
    } else {
        Area::Protected
    }
}

/// Reads what a PR touches. `prefix` is the instance directory relative to the
/// repository root (`""` when the instance is the repository).
pub fn touched(files: &[ChangedFile], prefix: &str, head: &Instance) -> Touched {
    let prefix = prefix.trim_matches('/');
    let mut t = Touched::default();
    let mut accounts = Vec::new();
    let mut letter_rels = Vec::new();
    for f in files {
        // A rename's old path counts as touched too: moving a file out of a
        // protected place is a change there.
        if let Some(old) = f.previous_path.as_deref().filter(|p| **p != f.path) {
            match area(old, prefix) {
                Area::Request(_) | Area::Letter(_) => t.protected.push(old.to_string()),
                Area::Accounts => accounts.push(old.to_string()),
                Area::Records => t.records.push(old.to_string()),
                Area::Protected => t.protected.push(old.to_string()),
            }
        }
        match area(&f.path, prefix) {
            Area::Request(_) if f.removed => t.protected.push(f.path.clone()),
            Area::Request(rel) => request(&mut t, head, &f.path, rel),
            // An issued letter is never removed: the strict review, like a request.
            Area::Letter(_) if f.removed => t.protected.push(f.path.clone()),
            Area::Letter(rel) => {
                t.letters.push(f.path.clone());
                letter_rels.push(rel);
            }
            Area::Accounts => accounts.push(f.path.clone()),
            Area::Records => t.records.push(f.path.clone()),
            Area::Protected => t.protected.push(f.path.clone()),
        }
    }
    // Account data changes only through a request; otherwise it is maintenance
    // (an import, a correction) and takes the stricter review.
    if t.requests.is_empty() && t.problems.is_empty() {
        t.protected.extend(accounts);
    }
    let config = if prefix.is_empty() {
        CONFIG_FILE.to_string()
    } else {
        format!("{prefix}/{CONFIG_FILE}")
    };
    t.config_changed = t.protected.contains(&config);
    if let [rel] = letter_rels.as_slice()
        && files.len() == 1
        && t.protected.is_empty()
    {
        t.follow_up = follow_up_ref(head, rel);
    }
    t.requests.sort_by(|a, b| a.ticket.cmp(&b.ticket));
    t.protected.sort();
    t.protected.dedup();
    t.records.sort();
    t.records.dedup();
    t
}

/// A changed file under `requests/`: the request it holds, read from the head.
fn request(t: &mut Touched, head: &Instance, path: &str, rel: String) {
    if !rel.ends_with(".toml") {
        // Not a request file at all: nothing loket reads, so the strict review.
        t.protected.push(path.to_string());
        return;
    }
    let found = head
        .requests
        .iter()
        .find(|r| head.path(r.file).to_string_lossy() == rel);
    match found {
        Some(r) => t.requests.push(TicketRef {
            ticket: r.value.ticket.get_ref().clone(),
            kind: *r.value.kind.get_ref(),
            path: rel,
        }),
        None => t.problems.push(format!(
            "{rel} is changed by the pull request but cannot be read from the working tree (check out the pull request's head and run `loket check`)"
        )),
    }
}

/// Whether `records/<ticket>.toml` at revision `rev` (the base branch, where only
/// CI writes records: rule L074 and the history gate) says loket processed the
/// ticket: what `loket review` trusts before judging a follow-up pull request. The
/// instance lives at `prefix` in the repository of `dir`. Any read or parse
/// failure is `false` (fail closed: the follow-up waits).
pub fn processed_on_base(dir: &std::path::Path, prefix: &str, rev: &str, ticket: &str) -> bool {
    use crate::model::record::{Outcome, Progress};
    let rel = Progress::path_for(ticket);
    let path = if prefix.is_empty() {
        rel
    } else {
        format!("{prefix}/{rel}")
    };
    let read = || -> Option<Progress> {
        let repo = git2::Repository::discover(dir).ok()?;
        let commit = crate::check::revision::resolve(&repo, rev).ok()?;
        let tree = repo.find_commit(commit).ok()?.tree().ok()?;
        let entry = tree.get_path(std::path::Path::new(&path)).ok()?;
        if entry.filemode() == i32::from(git2::FileMode::Link) {
            return None;
        }
        let blob = entry.to_object(&repo).ok()?.peel_to_blob().ok()?;
        toml::from_str(std::str::from_utf8(blob.content()).ok()?).ok()
    };
    read().is_some_and(|p| {
        p.ticket == ticket && matches!(p.outcome, Outcome::Processed | Outcome::Done)
    })
}

/// Fills a follow-up's request facts and processed flag from the base branch's
/// checkout at `root` (its `requests/` and CI's `records/`), for callers that read
/// only the pull request's files from the forge (`loket remind` on the main
/// branch). Anything unreadable leaves the follow-up as it was (not processed).
pub fn follow_up_from_checkout(f: &mut FollowUpRef, root: &std::path::Path) {
    use crate::model::record::{Outcome, Progress};
    let rel = format!("{REQUESTS_DIR}/{}.toml", f.ticket);
    if let Ok(text) = crate::model::regular::read_to_string(&root.join(&rel)) {
        let inst = Instance::from_files(root, vec![(rel, text)]);
        if let Some(r) = inst
            .requests
            .first()
            .filter(|r| r.value.ticket() == f.ticket)
        {
            f.kind = Some(r.value.kind());
            f.applicant_login = r
                .value
                .applicant
                .login
                .as_ref()
                .map(|l| l.get_ref().clone());
        }
    }
    let record = crate::model::regular::read_to_string(&root.join(Progress::path_for(&f.ticket)))
        .ok()
        .and_then(|t| toml::from_str::<Progress>(&t).ok());
    f.processed = record.is_some_and(|p| {
        p.ticket == f.ticket && matches!(p.outcome, Outcome::Processed | Outcome::Done)
    });
}

/// The follow-up a changed `letters/<ticket>.toml` stands for, if the name is a
/// ticket's letter file.
fn follow_up_ref(head: &Instance, rel: &str) -> Option<FollowUpRef> {
    let ticket = rel
        .strip_prefix(LETTERS_DIR)?
        .strip_prefix('/')?
        .strip_suffix(".toml")?;
    if ticket.is_empty() || ticket.contains('/') {
        return None;
    }
    let request = head.requests.iter().find(|r| r.value.ticket() == ticket);
    Some(FollowUpRef {
        ticket: ticket.to_string(),
        path: rel.to_string(),
        kind: request.map(|r| r.value.kind()),
        applicant_login: request
            .and_then(|r| r.value.applicant.login.as_ref())
            .map(|l| l.get_ref().clone()),
        processed: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(path: &str) -> ChangedFile {
        ChangedFile {
            path: path.into(),
            previous_path: None,
            removed: false,
        }
    }

    fn empty() -> Instance {
        Instance::from_files(std::path::Path::new("."), Vec::new())
    }

    #[test]
    fn everything_outside_requests_and_accounts_is_protected() {
        let files: Vec<ChangedFile> = [
            "loket.toml",
            "templates/site/ticket.html",
            "site/style.css",
            "src/main.rs",
            "Cargo.lock",
            ".github/workflows/apply.yml",
            ".forgejo/workflows/apply.yml",
            "presets/kudus.toml",
            "scripts/test.sh",
        ]
        .into_iter()
        .map(file)
        .collect();
        let t = touched(&files, "", &empty());
        assert_eq!(t.protected.len(), files.len());
        assert!(t.config_changed);
        assert!(t.records.is_empty());
    }

    #[test]
    fn records_are_set_apart_and_accounts_alone_are_protected() {
        let t = touched(
            &[file("records/KDS-1.toml"), file("accounts/mail/budi.toml")],
            "",
            &empty(),
        );
        assert_eq!(t.records, ["records/KDS-1.toml"]);
        assert_eq!(t.protected, ["accounts/mail/budi.toml"]);
        assert!(!t.config_changed);
    }

    #[test]
    fn an_instance_in_a_subfolder_protects_the_rest_of_the_repository() {
        let mut renamed = file("office/records/KDS-2.toml");
        renamed.previous_path = Some("office/requests/KDS-2.toml".into());
        let t = touched(&[file("src/lib.rs"), renamed], "office", &empty());
        assert_eq!(t.records, ["office/records/KDS-2.toml"]);
        assert_eq!(t.protected, ["office/requests/KDS-2.toml", "src/lib.rs"]);
    }

    #[test]
    fn a_removed_request_is_protected() {
        let mut f = file("requests/KDS-3.toml");
        f.removed = true;
        let t = touched(&[f], "", &empty());
        assert_eq!(t.protected, ["requests/KDS-3.toml"]);
        assert!(t.requests.is_empty() && t.problems.is_empty());
    }
}
