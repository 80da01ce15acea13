//! The instance's data model and how it is read: `loket.toml`, `requests/` and
//! `accounts/`, parsed with spans so every later stage can point at the exact line.

pub mod account;
pub mod backends;
pub mod cache;
pub mod config;
pub mod letter;
mod load;
pub mod login;
pub mod office_time;
pub mod record;
pub mod record_cache;
pub mod regular;
pub mod request;
pub mod spanned;
pub mod time;

use std::ops::Range;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::diag::{FileId, SourceFile, Sources};
pub use account::{AccountStatus, Holder, KeyStatus, MailAccount, ServerAccount, ServerKey};
pub use config::{Completion, Config, Sop, Step};
pub use request::{Request, RequestKind};
pub use spanned::Spanned;

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
    /// Not a regular file (a symlink, FIFO, socket or device, or a symlinked folder):
    /// refused unread, so the file's text is empty and no snippet shows anything.
    NotRegular,
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
    /// `letters/<ticket>.toml`: notification letters of follow-up pull requests.
    pub letters: Vec<Loaded<letter::LetterFile>>,
    pub failures: Vec<ParseFailure>,
    /// `requests/` was not read ([`Instance::load_accounts`]): `requests` is empty.
    pub requests_skipped: bool,
}

/// Where a file sits decides what it must parse as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    Config,
    Request,
    MailAccount,
    ServerAccount,
    Letter,
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
    } else if path.starts_with("letters/") {
        Place::Letter
    } else {
        Place::Other
    }
}

/// Whether a relative path belongs to the instance data (config, requests, accounts).
pub fn is_instance_path(path: &str) -> bool {
    path == CONFIG_FILE
        || path.starts_with("requests/")
        || path.starts_with("accounts/")
        || path.starts_with("letters/")
}

enum Parsed {
    Config(Box<Config>),
    Cached(Cached),
    Letter(Box<letter::LetterFile>),
    Failed(ParseFailure),
    Skip,
}

/// What the parse cache keeps: every data file but `loket.toml` (read every run).
/// The variants' order is the cache format; [`CachedRef`] mirrors it.
#[derive(Debug, Deserialize)]
enum Cached {
    Request(Box<Request>),
    Mail(Box<MailAccount>),
    Server(Box<ServerAccount>),
}

/// [`Cached`] borrowed from an [`Instance`], for writing the cache.
#[derive(Debug, Serialize)]
enum CachedRef<'a> {
    Request(&'a Request),
    Mail(&'a MailAccount),
    Server(&'a ServerAccount),
}

impl Instance {
    /// Reads the instance rooted at `root` from disk, through the parse cache unless
    /// it is turned off ([`cache::enabled`]).
    pub fn load(root: &Path) -> Result<Instance, LoadError> {
        let mut inst = load::load(root, cache::enabled())?;
        inst.attach_letters()?;
        Ok(inst)
    }

    /// Reads the instance without the parse cache (neither read nor written).
    pub fn load_uncached(root: &Path) -> Result<Instance, LoadError> {
        let mut inst = load::load(root, false)?;
        inst.attach_letters()?;
        Ok(inst)
    }

    /// Reads `letters/*.toml` (few: one per processed ticket; not cached). Anything
    /// but a regular `.toml` file there is a placement failure, never read.
    fn attach_letters(&mut self) -> Result<(), LoadError> {
        let dir = self.root.join(letter::LETTERS_DIR);
        let entries = match std::fs::read_dir(&dir) {
            Ok(e) => e,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => {
                return Err(LoadError::Io {
                    path: dir,
                    source: e,
                });
            }
        };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for name in names {
            let rel = format!("{}/{name}", letter::LETTERS_DIR);
            let text = regular::read_to_string(&dir.join(&name));
            let id = self.sources.len();
            let (text, parsed) = match text {
                Ok(t) if name.ends_with(".toml") => {
                    let p = parse_one(id, Place::Letter, &t);
                    (t, p)
                }
                Ok(t) => (
                    t,
                    Parsed::Failed(placement(id, "only letters/<ticket>.toml belong here")),
                ),
                Err(e) => (
                    String::new(),
                    Parsed::Failed(ParseFailure {
                        file: id,
                        span: 0..0,
                        message: e.to_string(),
                        kind: FailureKind::NotRegular,
                    }),
                ),
            };
            self.sources.push(SourceFile::new(PathBuf::from(rel), text));
            self.take(id, parsed);
        }
        Ok(())
    }

    /// Files one parse result into its list.
    fn take(&mut self, id: FileId, p: Parsed) {
        match p {
            Parsed::Config(c) => self.config = Some(*c),
            Parsed::Cached(Cached::Request(v)) => self.requests.push(Loaded {
                file: id,
                value: *v,
            }),
            Parsed::Cached(Cached::Mail(v)) => self.mail_accounts.push(Loaded {
                file: id,
                value: *v,
            }),
            Parsed::Cached(Cached::Server(v)) => self.server_accounts.push(Loaded {
                file: id,
                value: *v,
            }),
            Parsed::Letter(v) => self.letters.push(Loaded {
                file: id,
                value: *v,
            }),
            Parsed::Failed(f) => self.failures.push(f),
            Parsed::Skip => {}
        }
    }

    /// Reads `loket.toml` and `accounts/` only (through the cache, never writing it),
    /// for `loket plan`: a no-op plan needs no request, and the few it does need are
    /// read one by one ([`crate::apply::plan::Kinds`]).
    pub fn load_accounts(root: &Path) -> Result<Instance, LoadError> {
        load::load_scoped(root, cache::enabled(), false)
    }

    /// Files that were not UTF-8 were read lossily; report them as syntax failures at
    /// the first bad byte and drop whatever the lossy text parsed to.
    fn refuse_not_utf8(&mut self, bad: &[(FileId, usize)]) {
        if bad.is_empty() {
            return;
        }
        let bad: std::collections::HashMap<FileId, usize> = bad.iter().copied().collect();
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
        let files: Vec<(SourceFile, Parsed)> = files
            .into_par_iter()
            .enumerate()
            .map(|(id, (path, text))| {
                let parsed = parse_one(id, place_of(&path), &text);
                (SourceFile::new(PathBuf::from(path), text), parsed)
            })
            .collect();
        Self::assemble(root, files)
    }

    /// An instance from its files, sorted by path, each with what it parsed to.
    fn assemble(root: &Path, files: Vec<(SourceFile, Parsed)>) -> Instance {
        // Sized up front: growing vectors of ~1 KB requests by doubling cost a third
        // of a warm load in copies and page faults.
        let count = |f: fn(&Parsed) -> bool| files.iter().filter(|(_, p)| f(p)).count();
        let mut inst = Instance {
            root: root.to_path_buf(),
            sources: Sources::with_capacity(files.len()),
            requests: Vec::with_capacity(count(|p| {
                matches!(p, Parsed::Cached(Cached::Request(_)))
            })),
            mail_accounts: Vec::with_capacity(count(|p| {
                matches!(p, Parsed::Cached(Cached::Mail(_)))
            })),
            server_accounts: Vec::with_capacity(count(|p| {
                matches!(p, Parsed::Cached(Cached::Server(_)))
            })),
            ..Default::default()
        };
        for (id, (file, p)) in files.into_iter().enumerate() {
            // Bytes, not `Path` equality, which compares component by component.
            if file.path.as_os_str() == CONFIG_FILE {
                inst.config_file = Some(id);
            }
            inst.sources.push(file);
            inst.take(id, p);
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
            parse(id, text).map_or_else(fail, |v| Parsed::Cached(Cached::Request(Box::new(v))))
        }
        Place::MailAccount => {
            parse(id, text).map_or_else(fail, |v| Parsed::Cached(Cached::Mail(Box::new(v))))
        }
        Place::ServerAccount => {
            parse(id, text).map_or_else(fail, |v| Parsed::Cached(Cached::Server(Box::new(v))))
        }
        Place::Letter => parse(id, text).map_or_else(fail, |v| Parsed::Letter(Box::new(v))),
        Place::Other => Parsed::Skip,
    }
}

fn placement(file: FileId, message: &str) -> ParseFailure {
    ParseFailure {
        file,
        span: 0..0,
        message: message.to_string(),
        kind: FailureKind::Placement,
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
