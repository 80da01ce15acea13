//! The public status site (`loket site`): what citizens may see of each ticket, the
//! service statistics and the SOPs in force, rendered to static HTML and JSON.
//!
//! Stages: [`SiteData::load`] reads the instance, its records and an optional forge
//! snapshot; [`public`] reduces them to the public model (no personal data can pass
//! that boundary, as the model has no field for it); [`stats`] aggregates; [`render`]
//! turns the model into files; [`write`] updates the unpublished one of the two copies
//! behind the output ([`copies`]), guided by its [`manifest`], and swaps it in.

pub mod charts;
pub mod copies;
pub mod feeds;
pub mod incremental;
pub mod manifest;
pub mod model;
pub mod public;
pub mod render;
pub mod revision;
pub mod standard;
pub mod stats;
pub mod summaries;
pub mod templates;
pub mod text;
pub mod timing;
pub mod write;

use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::model::record::{Progress, RECORDS_DIR, Snapshot};
use crate::model::regular::{Node, NotRegular};
use crate::model::{Instance, LoadError};

#[derive(Debug, Error)]
pub enum SiteError {
    #[error(transparent)]
    Load(#[from] LoadError),
    #[error("the instance has {0} file(s) that do not parse; run `loket check` and fix them first")]
    Invalid(usize),
    #[error("loket.toml is missing or invalid; run `loket check`")]
    NoConfig,
    #[error("{path}:{line}:{column}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "{0} exists and is not a loket site (not a link to loket's copies, nor a directory with a .loket-site marker); choose another --out or empty it"
    )]
    NotASite(PathBuf),
    #[error("another `loket site` is building into {0}; try again when it has finished")]
    Busy(PathBuf),
    #[error("template {name}: {source}")]
    Template {
        name: String,
        #[source]
        source: minijinja::Error,
    },
    #[error("{0:?} is not a valid ticket number; run `loket check`")]
    BadTicket(String),
    #[error("internal: ticket {0} was to be rendered from its summary only")]
    Partial(String),
    #[error("git, at {rev}: {message}")]
    Git { rev: String, message: String },
    #[error(
        "the working tree differs from {rev} in {count} site input file(s), e.g. {first}: a build with --rev publishes that commit, so commit or stash the change (or build without --rev)"
    )]
    Dirty {
        rev: String,
        count: usize,
        first: PathBuf,
    },
    #[error(
        "{path} holds ticket {ticket}: its file must be named {ticket}.toml (rule ticket-file-name)"
    )]
    Misplaced { path: PathBuf, ticket: String },
    #[error(
        "{0}: a request lives directly in requests/, named after its ticket (rule L010 ticket-file-name); run `loket check`"
    )]
    Nested(PathBuf),
    #[error("unknown site language {0:?} in [site] language (use \"id\" or \"en\")")]
    Language(String),
}

/// Everything the site is built from.
pub struct SiteData {
    pub instance: Instance,
    /// `records/*.toml`, sorted by ticket.
    pub records: Vec<Progress>,
    pub snapshot: Option<Snapshot>,
}

impl SiteData {
    /// Reads the instance at `root`, its records and, if given, a forge snapshot.
    pub fn load(root: &Path, snapshot: Option<&Path>) -> Result<SiteData, SiteError> {
        let instance = Instance::load(root)?;
        if !instance.failures.is_empty() {
            return Err(SiteError::Invalid(instance.failures.len()));
        }
        if instance.config.is_none() {
            return Err(SiteError::NoConfig);
        }
        let records = load_records(root)?;
        let snapshot = snapshot.map(read_toml_or_json::<Snapshot>).transpose()?;
        Ok(SiteData {
            instance,
            records,
            snapshot,
        })
    }
}

/// Reads every `records/*.toml`, in parallel and through the parse cache, sorted by
/// ticket.
pub fn load_records(root: &Path) -> Result<Vec<Progress>, SiteError> {
    let dir = root.join(RECORDS_DIR);
    match std::fs::symlink_metadata(&dir) {
        Ok(m) if m.is_dir() => {}
        Ok(m) if !m.is_file() => {
            let node = Node::of(m.file_type()).unwrap_or(Node::Unknown);
            let source = std::io::Error::other(NotRegular(node));
            return Err(SiteError::Read { path: dir, source });
        }
        _ => return Ok(Vec::new()),
    }
    let read_err = |path: &Path, source| SiteError::Read {
        path: path.to_path_buf(),
        source,
    };
    let mut paths = Vec::new();
    for entry in std::fs::read_dir(&dir).map_err(|e| read_err(&dir, e))? {
        let path = entry.map_err(|e| read_err(&dir, e))?.path();
        if path.extension().is_some_and(|e| e == "toml") {
            paths.push(path);
        }
    }
    // The cache returns records in path order.
    paths.sort_by_key(|p| p.to_string_lossy().into_owned());
    let names: Vec<PathBuf> = paths.clone();
    let mut records =
        crate::model::record_cache::load(root, paths, read_toml_or_json::<Progress>, read_err)?;
    // A record is found by its name (an incremental build reads `records/<ticket>.toml`).
    for (path, r) in names.iter().zip(&records) {
        if path.file_stem().is_none_or(|s| *s != *r.ticket) {
            let rel = path.strip_prefix(root).unwrap_or(path);
            return Err(SiteError::Misplaced {
                path: rel.to_path_buf(),
                ticket: r.ticket.clone(),
            });
        }
    }
    records.sort_by(|a, b| a.ticket.cmp(&b.ticket));
    Ok(records)
}

/// Reads a TOML file (or JSON, by extension) with line and column on error.
pub fn read_toml_or_json<T: serde::de::DeserializeOwned>(path: &Path) -> Result<T, SiteError> {
    let text = crate::model::regular::read_to_string(path).map_err(|source| SiteError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_toml_or_json(path, &text)
}

/// Parses the text of the file at `path` as TOML (or JSON, by extension), with line
/// and column on error.
pub fn parse_toml_or_json<T: serde::de::DeserializeOwned>(
    path: &Path,
    text: &str,
) -> Result<T, SiteError> {
    let located = |offset: usize, message: String| {
        let file = crate::diag::SourceFile::new(path.to_path_buf(), text.to_string());
        let (line, column) = file.line_col(offset);
        SiteError::Parse {
            path: path.to_path_buf(),
            line,
            column,
            message,
        }
    };
    if path.extension().is_some_and(|e| e == "json") {
        serde_json::from_str(text).map_err(|e| SiteError::Parse {
            path: path.to_path_buf(),
            line: e.line(),
            column: e.column(),
            message: e.to_string(),
        })
    } else {
        toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            located(offset, e.message().trim().to_string())
        })
    }
}
