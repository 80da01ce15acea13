//! The instance's data model and how it is read: `loket.toml`, `requests/` and
//! `accounts/`, parsed with spans so every later stage can point at the exact line.

pub mod account;
pub mod backends;
pub mod config;
pub mod record;
pub mod request;
pub mod time;

use std::ops::Range;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::de::DeserializeOwned;
use thiserror::Error;

use crate::diag::{FileId, Sources};
pub use account::{AccountStatus, Holder, KeyStatus, MailAccount, ServerAccount, ServerKey};
pub use config::{Completion, Config, Sop, Step};
pub use request::{Request, RequestKind};

pub const CONFIG_FILE: &str = "loket.toml";
pub const REQUESTS_DIR: &str = "requests";
pub const ACCOUNTS_DIR: &str = "accounts";
pub const MAIL_ACCOUNTS_DIR: &str = "accounts/mail";
pub const SERVER_ACCOUNTS_DIR: &str = "accounts/server";

/// A parsed value and the file it came from.
#[derive(Debug, Clone)]
pub struct Loaded<T> {
    pub file: FileId,
    pub value: T,
}

/// Why a file could not be read as what its place says it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseFailure {
    pub file: FileId,
    pub span: Range<usize>,
    pub message: String,
    pub kind: FailureKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureKind {
    /// Not valid TOML.
    Syntax,
    /// Valid TOML, wrong shape: unknown key, wrong type, missing field.
    Schema,
    /// A file in a data folder that is not of the expected place or extension.
    Placement,
}

#[derive(Debug, Error)]
pub enum LoadError {
    #[error("cannot read {path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{0} is not a loket instance: no loket.toml there (run `loket init`)")]
    NotAnInstance(PathBuf),
    #[error("cannot read git revision {rev}: {message}")]
    Git { rev: String, message: String },
}

/// Everything one instance holds, as read from a directory or a git tree.
#[derive(Debug, Default)]
pub struct Instance {
    pub root: PathBuf,
    pub sources: Sources,
    pub config_file: Option<FileId>,
    pub config: Option<Config>,
    pub requests: Vec<Loaded<Request>>,
    pub mail_accounts: Vec<Loaded<MailAccount>>,
    pub server_accounts: Vec<Loaded<ServerAccount>>,
    pub failures: Vec<ParseFailure>,
}

/// Where a file sits decides what it must parse as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Config,
    Request,
    MailAccount,
    ServerAccount,
    Other,
}

fn place_of(path: &str) -> Place {
    if path == CONFIG_FILE {
        return Place::Config;
    }
    if !path.ends_with(".toml") {
        return Place::Other;
    }
    if path.starts_with("requests/") {
        Place::Request
    } else if path.starts_with("accounts/mail/") {
        Place::MailAccount
    } else if path.starts_with("accounts/server/") {
        Place::ServerAccount
    } else {
        Place::Other
    }
}

/// Whether a relative path belongs to the instance data (config, requests, accounts).
pub fn is_instance_path(path: &str) -> bool {
    path == CONFIG_FILE || path.starts_with("requests/") || path.starts_with("accounts/")
}

enum Parsed {
    Config(Box<Config>),
    Request(Box<Request>),
    Mail(Box<MailAccount>),
    Server(Box<ServerAccount>),
    Failed(ParseFailure),
    Skip,
}

impl Instance {
    /// Reads the instance rooted at `root` from disk.
    pub fn load(root: &Path) -> Result<Instance, LoadError> {
        let (files, not_utf8) = read_tree(root)?;
        if !files.iter().any(|(p, _)| p == CONFIG_FILE) {
            return Err(LoadError::NotAnInstance(root.to_path_buf()));
        }
        let mut inst = Self::from_files(root, files);
        inst.refuse_not_utf8(&not_utf8);
        Ok(inst)
    }

    /// Files that were not UTF-8 were read lossily; report them as syntax failures at
    /// the first bad byte and drop whatever the lossy text parsed to.
    fn refuse_not_utf8(&mut self, bad: &[(String, usize)]) {
        if bad.is_empty() {
            return;
        }
        let ids: std::collections::HashMap<&Path, FileId> = self
            .sources
            .iter()
            .map(|(id, f)| (f.path.as_path(), id))
            .collect();
        let bad: std::collections::HashMap<FileId, usize> = bad
            .iter()
            .filter_map(|(path, at)| Some((*ids.get(Path::new(path))?, *at)))
            .collect();
        self.requests.retain(|r| !bad.contains_key(&r.file));
        self.mail_accounts.retain(|a| !bad.contains_key(&a.file));
        self.server_accounts.retain(|a| !bad.contains_key(&a.file));
        self.failures.retain(|f| !bad.contains_key(&f.file));
        if self.config_file.is_some_and(|id| bad.contains_key(&id)) {
            self.config = None;
        }
        let mut bad: Vec<_> = bad.into_iter().collect();
        bad.sort_unstable();
        for (id, offset) in bad {
            self.failures.push(ParseFailure {
                file: id,
                span: offset..offset,
                message: format!("the file is not UTF-8 text (invalid byte at offset {offset})"),
                kind: FailureKind::Syntax,
            });
        }
    }

    /// Builds an instance from `(relative path, text)` pairs, e.g. from a git tree.
    /// Paths use `/` separators. Parsing runs in parallel; order is kept.
    pub fn from_files(root: &Path, mut files: Vec<(String, String)>) -> Instance {
        files.par_sort_unstable_by(|a, b| a.0.cmp(&b.0));
        let mut sources = Sources::default();
        let places: Vec<Place> = files.iter().map(|(p, _)| place_of(p)).collect();
        for (path, text) in files {
            sources.add(PathBuf::from(path), text);
        }
        let parsed: Vec<Parsed> = (0..sources.len())
            .into_par_iter()
            .map(|id| parse_one(id, places[id], &sources.get(id).text))
            .collect();
        let mut inst = Instance {
            root: root.to_path_buf(),
            ..Default::default()
        };
        inst.sources = sources;
        for (id, p) in parsed.into_iter().enumerate() {
            match p {
                Parsed::Config(c) => {
                    inst.config = Some(*c);
                }
                Parsed::Request(r) => inst.requests.push(Loaded {
                    file: id,
                    value: *r,
                }),
                Parsed::Mail(m) => inst.mail_accounts.push(Loaded {
                    file: id,
                    value: *m,
                }),
                Parsed::Server(s) => inst.server_accounts.push(Loaded {
                    file: id,
                    value: *s,
                }),
                Parsed::Failed(f) => inst.failures.push(f),
                Parsed::Skip => {}
            }
            if places[id] == Place::Config {
                inst.config_file = Some(id);
            }
        }
        inst
    }

    /// The path of a file, relative to the root.
    pub fn path(&self, file: FileId) -> &Path {
        &self.sources.get(file).path
    }
}

fn parse_one(id: FileId, place: Place, text: &str) -> Parsed {
    let fail = |f: ParseFailure| Parsed::Failed(f);
    match place {
        Place::Config => {
            parse::<Config>(id, text).map_or_else(fail, |v| Parsed::Config(Box::new(v)))
        }
        Place::Request => {
            parse::<Request>(id, text).map_or_else(fail, |v| Parsed::Request(Box::new(v)))
        }
        Place::MailAccount => {
            parse::<MailAccount>(id, text).map_or_else(fail, |v| Parsed::Mail(Box::new(v)))
        }
        Place::ServerAccount => {
            parse::<ServerAccount>(id, text).map_or_else(fail, |v| Parsed::Server(Box::new(v)))
        }
        Place::Other => Parsed::Skip,
    }
}

fn parse<T: DeserializeOwned>(file: FileId, text: &str) -> Result<T, ParseFailure> {
    toml::from_str::<T>(text).map_err(|e| {
        // Only on failure: parse again as plain TOML to tell syntax from schema.
        let kind = if toml::from_str::<toml::Table>(text).is_ok() {
            FailureKind::Schema
        } else {
            FailureKind::Syntax
        };
        ParseFailure {
            file,
            span: e.span().unwrap_or(0..0),
            message: e.message().trim().to_string(),
            kind,
        }
    })
}

/// Reads `loket.toml`, `requests/**` and `accounts/**` under `root`.
/// Also returns the files that were not UTF-8, with the offset of the first bad byte;
/// their text is read lossily so a diagnostic can still show it.
#[allow(clippy::type_complexity)]
fn read_tree(root: &Path) -> Result<(Vec<(String, String)>, Vec<(String, usize)>), LoadError> {
    let io = |path: &Path, source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut paths = Vec::new();
    let config = root.join(CONFIG_FILE);
    if config.is_file() {
        paths.push(config);
    }
    for dir in [REQUESTS_DIR, ACCOUNTS_DIR] {
        let dir = root.join(dir);
        if !dir.exists() {
            continue;
        }
        // No per-directory sort here: `from_files` sorts all paths once, and walkdir's
        // sort compared `Path::file_name`s, a tenth of the load time on 100k files.
        for entry in walkdir::WalkDir::new(&dir) {
            let entry = entry.map_err(|e| {
                let path = e.path().unwrap_or(&dir).to_path_buf();
                io(&path, e.into())
            })?;
            if entry.file_type().is_file() {
                paths.push(entry.into_path());
            }
        }
    }
    let read: Vec<(String, String, Option<usize>)> = paths
        .into_par_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).map_err(|e| io(&p, e))?;
            let rel = p
                .strip_prefix(root)
                .unwrap_or(&p)
                .to_string_lossy()
                .replace('\\', "/");
            Ok(match String::from_utf8(bytes) {
                Ok(text) => (rel, text, None),
                Err(e) => {
                    let at = e.utf8_error().valid_up_to();
                    (
                        rel,
                        String::from_utf8_lossy(e.as_bytes()).into_owned(),
                        Some(at),
                    )
                }
            })
        })
        .collect::<Result<_, LoadError>>()?;
    let mut bad = Vec::new();
    let files = read
        .into_iter()
        .map(|(rel, text, at)| {
            if let Some(at) = at {
                bad.push((rel.clone(), at));
            }
            (rel, text)
        })
        .collect();
    Ok((files, bad))
}
