//! Checking a draft against every rule as if it were written, and writing it
//! atomically.

use std::path::{Path, PathBuf};

use jiff::civil::Date;
use rayon::prelude::*;

use super::{Draft, NewError};
use crate::check::{Base, Options, run};
use crate::diag::Diagnostic;
use crate::model::Instance;

/// A draft checked against the instance it would change.
pub struct Validated {
    /// The instance as read, before the draft.
    pub before: Instance,
    /// The instance as it would be with the draft written.
    pub after: Instance,
    /// The check's diagnostics that involve the draft's files (problems elsewhere
    /// are not this request's), located in `after`.
    pub diagnostics: Vec<Diagnostic>,
}

/// Runs every rule on the instance as it would be with the draft written, with the
/// instance as read as the base, exactly as CI checks the pull request: the new
/// request is pending (held to today and the server's maximum), and every accounts/
/// change must be explained by it.
pub fn validate(before: Instance, draft: &Draft, today: Date) -> Validated {
    // In parallel: texts the parse cache let the load skip are read here.
    let mut files: Vec<(String, String)> = before
        .sources
        .par_iter()
        .filter(|(_, f)| !draft.files.iter().any(|c| Path::new(&c.path) == f.path))
        .map(|(_, f)| (f.path.to_string_lossy().into_owned(), f.text.to_string()))
        .collect();
    files.extend(draft.files.iter().map(|c| (c.path.clone(), c.text.clone())));
    let after = Instance::from_files(&before.root, files);
    let base = Base {
        rev: "the working tree before `loket new`".into(),
        instance: before,
        records_changed: Vec::new(),
    };
    let report = run(
        &after,
        Some(&base),
        &Options {
            today,
            skip: Default::default(),
        },
    );
    let ours = |id: usize| {
        draft
            .files
            .iter()
            .any(|c| after.path(id) == Path::new(&c.path))
    };
    let diagnostics = report
        .diagnostics
        .into_iter()
        .filter(|d| ours(d.primary.file) || d.secondary.iter().any(|l| ours(l.file)))
        .collect();
    Validated {
        before: base.instance,
        after,
        diagnostics,
    }
}

/// Writes the draft: every file to a temporary file beside it first, then all
/// renamed into place, so a failure leaves no half-written file.
pub fn write(root: &Path, draft: &Draft) -> Result<Vec<PathBuf>, NewError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| NewError::Io { path, source }
    };
    let mut staged = Vec::new();
    for c in &draft.files {
        let path = root.join(&c.path);
        if c.created && path.exists() {
            return Err(NewError::Io {
                path,
                source: std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "file already exists",
                ),
            });
        }
        let dir = path.parent().unwrap_or(root);
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io(dir))?;
        std::io::Write::write_all(&mut tmp, c.text.as_bytes()).map_err(io(&path))?;
        tmp.as_file().sync_all().map_err(io(&path))?;
        staged.push((tmp, path));
    }
    let mut written = Vec::new();
    for (tmp, path) in staged {
        tmp.persist(&path).map_err(|e| NewError::Io {
            path: path.clone(),
            source: e.error,
        })?;
        written.push(path);
    }
    Ok(written)
}
