//! Reads the base revision's instance files from git with git2 (never by shelling
//! out), for the rules that compare a pull request with its base.

use std::path::Path;

use crate::model::record::RECORDS_DIR;
use crate::model::{Instance, LoadError, is_instance_path};

use super::Base;

pub fn read(dir: &Path, rev: &str) -> Result<Base, LoadError> {
    let err = |e: git2::Error| LoadError::Git {
        rev: rev.to_string(),
        message: e.message().to_string(),
    };
    let repo = git2::Repository::discover(dir).map_err(err)?;
    let workdir = repo.workdir().unwrap_or(dir).to_path_buf();
    // The instance may live in a subdirectory of the repository.
    let abs = std::fs::canonicalize(dir).map_err(|e| LoadError::Io {
        path: dir.to_path_buf(),
        source: e,
    })?;
    let workdir = std::fs::canonicalize(&workdir).unwrap_or(workdir);
    let prefix = abs
        .strip_prefix(&workdir)
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .unwrap_or_default();
    let tree = super::revision::resolve(&repo, rev)
        .and_then(|c| repo.find_commit(c)?.tree())
        .map_err(err)?;
    let mut files = Vec::new();
    let mut failed = None;
    tree.walk(git2::TreeWalkMode::PreOrder, |parent, entry| {
        let Ok(name) = entry.name() else {
            return git2::TreeWalkResult::Ok;
        };
        let full = format!("{parent}{name}");
        let rel = if prefix.is_empty() {
            Some(full.as_str())
        } else {
            full.strip_prefix(&format!("{prefix}/"))
        };
        if let Some(rel) = rel
            && entry.kind() == Some(git2::ObjectType::Blob)
            // A link's blob is its target's name, not data; the loader refuses links.
            && entry.filemode() != i32::from(git2::FileMode::Link)
            && is_instance_path(rel)
        {
            match entry.to_object(&repo).and_then(|o| o.peel_to_blob()) {
                Ok(blob) => files.push((
                    rel.to_string(),
                    String::from_utf8_lossy(blob.content()).into_owned(),
                )),
                Err(e) => {
                    failed = Some(e);
                    return git2::TreeWalkResult::Abort;
                }
            }
        }
        git2::TreeWalkResult::Ok
    })
    .map_err(err)?;
    if let Some(e) = failed {
        return Err(err(e));
    }
    let records_changed = records_changed(&repo, &tree, &prefix).map_err(err)?;
    Ok(Base {
        rev: rev.to_string(),
        instance: Instance::from_files(dir, files),
        records_changed,
    })
}

/// Paths under `records/` that differ between `tree` and the work tree (index and
/// untracked files included), from the instance root.
fn records_changed(
    repo: &git2::Repository,
    tree: &git2::Tree,
    prefix: &str,
) -> Result<Vec<String>, git2::Error> {
    let dir = if prefix.is_empty() {
        format!("{RECORDS_DIR}/")
    } else {
        format!("{prefix}/{RECORDS_DIR}/")
    };
    let mut opts = git2::DiffOptions::new();
    opts.pathspec(&dir)
        .include_untracked(true)
        .recurse_untracked_dirs(true);
    let diff = repo.diff_tree_to_workdir_with_index(Some(tree), Some(&mut opts))?;
    let mut out: Vec<String> = diff
        .deltas()
        .filter_map(|d| {
            d.new_file()
                .path()
                .or(d.old_file().path())
                .map(|p| p.to_string_lossy().into_owned())
        })
        .filter_map(|p| p.strip_prefix(&dir).map(|r| format!("{RECORDS_DIR}/{r}")))
        .collect();
    out.sort();
    out.dedup();
    Ok(out)
}
