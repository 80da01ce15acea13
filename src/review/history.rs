//! The main branch's history as the apply gate reads it (git2, never a shell): which
//! first-parent commits wrote each file behind a change, and files as a commit had
//! them. The first parent of a merge is the branch before it, so every commit this
//! walks is one thing that landed on the branch: a merge, a squash, a rebased
//! commit, or a direct push.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use git2::{Oid, Repository, Tree};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum HistoryError {
    #[error("git: {0}")]
    Git(#[from] git2::Error),
    #[error("{0} is not inside a git repository work tree")]
    NotARepository(String),
    #[error("--history-from {0}: not a commit on the branch's first-parent history")]
    NotOnBranch(String),
}

pub struct History {
    repo: Repository,
    /// The instance directory from the work tree's root, `""` at the root.
    prefix: String,
}

/// Which commits wrote each wanted path, newest first.
pub type Writers = BTreeMap<String, Vec<Oid>>;

impl History {
    pub fn open(dir: &Path) -> Result<History, HistoryError> {
        let repo = Repository::discover(dir)?;
        let not_repo = || HistoryError::NotARepository(dir.display().to_string());
        let workdir = repo.workdir().ok_or_else(not_repo)?;
        let workdir = std::fs::canonicalize(workdir).map_err(|_| not_repo())?;
        let abs = std::fs::canonicalize(dir).map_err(|_| not_repo())?;
        let prefix = abs
            .strip_prefix(&workdir)
            .map_err(|_| not_repo())?
            .to_string_lossy()
            .replace('\\', "/");
        Ok(History { repo, prefix })
    }

    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// A path from the instance root as a path from the repository root.
    pub fn repo_path(&self, rel: &str) -> String {
        if self.prefix.is_empty() {
            rel.to_string()
        } else {
            format!("{}/{rel}", self.prefix)
        }
    }

    /// The commit `rev` names. Full ref names and SHAs only resolve one way; this
    /// is for revisions loket itself chose (`HEAD`, a SHA from the forge).
    pub fn commit(&self, rev: &str) -> Result<Oid, HistoryError> {
        Ok(self.repo.revparse_single(rev)?.peel_to_commit()?.id())
    }

    pub fn first_parent(&self, c: Oid) -> Result<Option<Oid>, HistoryError> {
        let commit = self.repo.find_commit(c)?;
        Ok(commit.parent_ids().next())
    }

    /// Whether `c` is a commit of this repository.
    pub fn has(&self, c: &str) -> bool {
        Oid::from_str(c).is_ok_and(|o| self.repo.find_commit(o).is_ok())
    }

    /// The text of `rel` (from the instance root) at commit `c`, if it is there.
    pub fn text(&self, c: Oid, rel: &str) -> Result<Option<String>, HistoryError> {
        let tree = self.repo.find_commit(c)?.tree()?;
        let Ok(entry) = tree.get_path(Path::new(&self.repo_path(rel))) else {
            return Ok(None);
        };
        let blob = entry.to_object(&self.repo)?.peel_to_blob()?;
        Ok(Some(String::from_utf8_lossy(blob.content()).into_owned()))
    }

    /// Walks the first-parent history of `head` back to `since` (exclusive) or the
    /// root commit and returns, for each wanted path (from the instance root), the
    /// commits that changed it. The root commit founded the repository and is not
    /// listed: it is trusted as `since` is.
    pub fn writers(
        &self,
        head: Oid,
        wanted: &BTreeSet<String>,
        since: Option<Oid>,
    ) -> Result<Writers, HistoryError> {
        let mut out: Writers = wanted.iter().map(|w| (w.clone(), Vec::new())).collect();
        let full: Vec<(String, String)> = wanted
            .iter()
            .map(|w| (w.clone(), self.repo_path(w)))
            .collect();
        // Top-level areas of the instance: a commit that changes none is skipped
        // without looking at each wanted path.
        let areas: BTreeSet<String> = wanted
            .iter()
            .map(|w| self.repo_path(w.split('/').next().unwrap_or(w)))
            .collect();
        let mut reached_since = since.is_none();
        let mut walk = self.repo.revwalk()?;
        walk.push(head)?;
        walk.simplify_first_parent()?;
        for oid in walk {
            let oid = oid?;
            if Some(oid) == since {
                reached_since = true;
                break;
            }
            let commit = self.repo.find_commit(oid)?;
            let Ok(parent) = commit.parent(0) else { break };
            let (tree, ptree) = (commit.tree()?, parent.tree()?);
            if areas
                .iter()
                .all(|a| entry_id(&tree, a) == entry_id(&ptree, a))
            {
                continue;
            }
            for (rel, path) in &full {
                if entry_id(&tree, path) != entry_id(&ptree, path) {
                    out.get_mut(rel).expect("wanted").push(oid);
                }
            }
        }
        match (reached_since, since) {
            (false, Some(s)) => Err(HistoryError::NotOnBranch(s.to_string())),
            _ => Ok(out),
        }
    }
}

impl History {
    /// The paths (from the repository root) commit `c` changes against its first
    /// parent, with their blob ids at `c` (`None`: deleted).
    pub fn changes(&self, c: Oid) -> Result<Vec<(String, Option<Oid>)>, HistoryError> {
        let commit = self.repo.find_commit(c)?;
        let tree = commit.tree()?;
        let parent = match commit.parent(0) {
            Ok(p) => Some(p.tree()?),
            Err(_) => None,
        };
        let diff = self
            .repo
            .diff_tree_to_tree(parent.as_ref(), Some(&tree), None)?;
        Ok(diff
            .deltas()
            .filter_map(|d| {
                let path = d.new_file().path().or(d.old_file().path())?;
                let id = Some(d.new_file().id()).filter(|id| !id.is_zero());
                Some((path.to_string_lossy().replace('\\', "/"), id))
            })
            .collect())
    }

    /// The blob id of `path` (from the repository root) at commit `c`, if the
    /// commit is in this clone and has the path.
    pub fn blob_at(&self, c: &str, path: &str) -> Option<Oid> {
        let commit = self.repo.find_commit(Oid::from_str(c).ok()?).ok()?;
        entry_id(&commit.tree().ok()?, path)
    }
}

fn entry_id(tree: &Tree, path: &str) -> Option<Oid> {
    tree.get_path(Path::new(path)).ok().map(|e| e.id())
}
