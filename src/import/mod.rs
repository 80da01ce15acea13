//! `loket import`: brings the accounts an office already runs into `accounts/`, read
//! from the systems themselves (one file per source: [`dovecot`], [`zimbra`],
//! [`unix`]). This module owns what is shared: what a source found ([`Found`]), the
//! checks against the source and the instance (collisions under the folding rules,
//! entries already there), the batch's ticket and its `[[imports]]` entry in
//! loket.toml (which makes the pull request a config change, docs/import.md), and
//! writing the files.
//!
//! Import only reads its source (regular files only, [`crate::model::regular`]),
//! never writes to a live system, and never copies or prints a password hash: a
//! source's hash field is checked for presence and dropped.

pub mod dovecot;
pub mod ldap;
mod render;
pub mod unix;
pub mod zimbra;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::check::names::address_key;
use crate::model::config::{Config, ImportBatch};
use crate::model::{Instance, MAIL_ACCOUNTS_DIR, SERVER_ACCOUNTS_DIR};
use crate::ticket::Ticket;

#[derive(Debug, Error)]
pub enum ImportError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A source line that is not what the source's format says; never quotes the line
    /// (it may hold a password hash).
    #[error("{path}:{line}: {message}")]
    Line {
        path: String,
        line: usize,
        message: String,
    },
    /// Entries the import would write that break a rule of `loket check`.
    #[error("the source cannot be imported as it is:\n{}", .0.join("\n"))]
    Conflicts(Vec<String>),
    /// An LDAP entry that is not a mail account as the backend keeps them.
    #[error("{dn}: {message}")]
    Entry { dn: String, message: String },
    /// The source system could not be read (its reply redacted, as the backend's).
    #[error("cannot read the source: {0}")]
    Source(String),
    #[error("{0}")]
    Instance(String),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Where in the source an account was found, for messages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    pub path: String,
    pub line: usize,
}

/// `path:line`; an LDAP entry (line 0) is named by its DN alone.
impl std::fmt::Display for Origin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.path)
        } else {
            write!(f, "{}:{}", self.path, self.line)
        }
    }
}

/// The holder data a source has; `None` where it has none.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FoundHolder {
    pub name: Option<String>,
    pub nip: Option<String>,
    pub opd: Option<String>,
}

/// One account a source holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FoundAccount {
    Mail {
        address: String,
        active: bool,
        holder: FoundHolder,
    },
    Server {
        server: String,
        login: String,
        opd: Option<String>,
        /// `authorized_keys` lines (`type base64 [comment]`), options dropped.
        keys: Vec<FoundKey>,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FoundKey {
    pub key: String,
    pub origin: Origin,
}

#[derive(Debug, Clone)]
pub struct Found {
    pub origin: Origin,
    pub account: FoundAccount,
}

impl Found {
    /// The account's file under the instance root.
    pub fn rel_path(&self) -> String {
        match &self.account {
            FoundAccount::Mail { address, .. } => format!("{MAIL_ACCOUNTS_DIR}/{address}.toml"),
            FoundAccount::Server { server, login, .. } => {
                format!("{SERVER_ACCOUNTS_DIR}/{server}/{login}.toml")
            }
        }
    }

    /// A mail account's address, status and holder (tests).
    #[cfg(test)]
    fn as_mail(&self) -> (&str, bool, &FoundHolder) {
        match &self.account {
            FoundAccount::Mail {
                address,
                active,
                holder,
            } => (address, *active, holder),
            FoundAccount::Server { .. } => panic!("not a mail account"),
        }
    }

    fn batch_key(&self) -> String {
        match &self.account {
            FoundAccount::Mail { address, .. } => ImportBatch::mail_key(address),
            FoundAccount::Server { server, login, .. } => ImportBatch::server_key(server, login),
        }
    }
}

/// What a source was and what it held.
#[derive(Debug, Clone)]
pub struct SourceRead {
    /// The source kind written into each account's `imported` (`dovecot`, …).
    pub kind: &'static str,
    /// What was read, for `[[imports]] source` (paths, an LDAP base; never a secret).
    pub describe: String,
    pub found: Vec<Found>,
}

/// Choices that are not in the source.
#[derive(Debug, Clone)]
pub struct Options {
    /// The OPD of holders whose source names none.
    pub opd: String,
    /// Last day of imported keys.
    pub expires: jiff::civil::Date,
    pub today: jiff::civil::Date,
}

/// One file the import writes: a new account file, or loket.toml with its batch.
#[derive(Debug, Clone)]
pub struct FileOut {
    pub rel: String,
    pub text: String,
}

/// The outcome of planning an import: nothing to do, or the batch to write.
#[derive(Debug, Clone)]
pub struct Batch {
    pub ticket: String,
    /// New account files, sorted by path.
    pub accounts: Vec<FileOut>,
    /// loket.toml with the `[[imports]]` entry appended.
    pub config: FileOut,
    /// Accounts already in `accounts/` exactly as the source has them.
    pub unchanged: usize,
}

/// Plans the import of `read` into `inst`: refuses (naming each) collisions within
/// the source or with `accounts/`, an address outside the office's domains, and an
/// existing entry that differs from the source; skips identical ones.
pub fn plan(
    inst: &Instance,
    read: &SourceRead,
    opts: &Options,
) -> Result<Option<Batch>, ImportError> {
    let config = inst.config.as_ref().ok_or_else(|| {
        ImportError::Instance("loket.toml cannot be read; run `loket check`".into())
    })?;
    if let Some(f) = inst.failures.first() {
        return Err(ImportError::Instance(format!(
            "{} cannot be read ({}); run `loket check` and fix it first",
            inst.path(f.file).display(),
            f.message
        )));
    }
    if !(1..=9999).contains(&opts.expires.year()) {
        return Err(ImportError::Instance(format!(
            "the keys' last day {} is not a date of years 1 to 9999",
            opts.expires
        )));
    }
    let mut conflicts = source_conflicts(config, &read.found);
    let mut new = Vec::new();
    let mut unchanged = 0;
    let known = render::Known::new(inst, config);
    for f in &read.found {
        match known.existing(f, opts) {
            render::Existing::None => new.push(f),
            render::Existing::Identical => unchanged += 1,
            render::Existing::Differs(why) => conflicts.push(format!("{}: {why}", f.origin)),
        }
    }
    if !conflicts.is_empty() {
        return Err(ImportError::Conflicts(conflicts));
    }
    if new.is_empty() {
        return Ok(None);
    }
    let ticket = new_ticket(inst, config);
    let accounts = new
        .iter()
        .map(|f| FileOut {
            rel: f.rel_path(),
            text: render::account(f, &ticket, read.kind, opts),
        })
        .collect();
    let keys = new.iter().map(|f| f.batch_key()).collect::<Vec<_>>();
    let config_text = config_with_batch(inst, &ticket, read, opts, keys)?;
    Ok(Some(Batch {
        ticket,
        accounts,
        config: FileOut {
            rel: crate::model::CONFIG_FILE.into(),
            text: config_text,
        },
        unchanged,
    }))
}

/// Collisions inside the source (L024 folding, or one address or login twice) and
/// addresses outside `mail.domains` (L022), each naming its source line.
fn source_conflicts(config: &Config, found: &[Found]) -> Vec<String> {
    let mut out = Vec::new();
    let mut seen: HashMap<String, &Origin> = HashMap::new();
    let pattern = regex::Regex::new(config.naming.local_part_pattern.get_ref()).ok();
    let domains: Vec<String> = config
        .mail
        .domains
        .get_ref()
        .iter()
        .map(|d| d.get_ref().to_lowercase())
        .collect();
    for f in found {
        let (key, what) = match &f.account {
            FoundAccount::Mail { address, .. } => {
                let (local, domain) = address.rsplit_once('@').unwrap_or((address, ""));
                if !domains.iter().any(|d| d == domain) {
                    out.push(format!(
                        "{}: L022 mail-domain: {address} is not in one of the office's mail.domains",
                        f.origin
                    ));
                }
                if let Some(why) = local_part_problem(local, pattern.as_ref()) {
                    out.push(format!(
                        "{}: L020 mail-local-part: {address} {why}",
                        f.origin
                    ));
                }
                (address_key(address, &config.naming), address.clone())
            }
            FoundAccount::Server { server, login, .. } => {
                let reserved = config
                    .server(server)
                    .map_or(&[][..], |s| &s.reserved_logins[..]);
                if let Some(why) = crate::model::login::problem(login, reserved) {
                    out.push(format!("{}: L056 server-login: {login}: {why}", f.origin));
                }
                (format!("{server}/{login}"), format!("{login} on {server}"))
            }
        };
        match seen.get(&key) {
            Some(first) => out.push(format!(
                "{}: {}: {what} collides with the account at {first}; rename or drop one \
                 in the source",
                f.origin,
                match f.account {
                    FoundAccount::Mail { .. } => {
                        "L024 mail-unique (the same name under the folding rules)"
                    }
                    FoundAccount::Server { .. } => "the same login twice",
                }
            )),
            None => {
                seen.insert(key, &f.origin);
            }
        }
    }
    out
}

/// Why `local` cannot name an account file and an address (RFC 5321, the office's
/// pattern, never a path separator: the file is `accounts/mail/<address>.toml`).
fn local_part_problem(local: &str, pattern: Option<&regex::Regex>) -> Option<String> {
    if let Some(why) = crate::check::mail::rfc5321_problem(local) {
        return Some(why);
    }
    if local.contains(['/', '\\']) {
        return Some("contains a path separator".into());
    }
    pattern
        .filter(|p| !p.is_match(local))
        .map(|p| format!("does not match naming.local-part-pattern `{}`", p.as_str()))
}

/// A fresh ticket under the office's prefix that no request or batch has.
fn new_ticket(inst: &Instance, config: &Config) -> String {
    let prefix = config.office.ticket_prefix.get_ref();
    loop {
        let t = Ticket::generate(prefix).to_string();
        let taken = inst.requests.iter().any(|r| r.value.ticket() == t)
            || config.imports.iter().any(|b| *b.ticket.get_ref() == t);
        if !taken {
            return t;
        }
    }
}

/// loket.toml as it is, plus the batch's `[[imports]]` table at the end.
fn config_with_batch(
    inst: &Instance,
    ticket: &str,
    read: &SourceRead,
    opts: &Options,
    keys: Vec<String>,
) -> Result<String, ImportError> {
    let file = inst
        .config_file
        .ok_or_else(|| ImportError::Instance("no loket.toml".into()))?;
    let mut text = inst.sources.get(file).text.as_str().to_string();
    if !text.is_empty() && !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&render::batch(ticket, read, opts, keys));
    Ok(text)
}

/// Writes the batch under `root`: every account file new (never over an existing
/// one), then loket.toml.
pub fn write(root: &Path, batch: &Batch) -> Result<(), ImportError> {
    use std::io::Write as _;
    for f in &batch.accounts {
        let path = root.join(&f.rel);
        let werr = |source| ImportError::Write {
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(werr)?;
        }
        let mut out = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(werr)?;
        out.write_all(f.text.as_bytes()).map_err(werr)?;
    }
    let path = root.join(&batch.config.rel);
    std::fs::write(&path, &batch.config.text).map_err(|source| ImportError::Write { path, source })
}

/// A one-file source: `parse(text, label)` over the file at `path`; `what` names the
/// format in `[[imports]] source`.
pub(crate) fn read_file(
    path: &Path,
    kind: &'static str,
    what: &str,
    parse: fn(&str, &str) -> Result<Vec<Found>, ImportError>,
) -> Result<SourceRead, ImportError> {
    let text = read_source(path)?;
    let label = path.display().to_string();
    Ok(SourceRead {
        kind,
        describe: format!("{what} {label}"),
        found: parse(&text, &label)?,
    })
}

/// Reads a source file, refusing anything but a regular file.
pub(crate) fn read_source(path: &Path) -> Result<String, ImportError> {
    crate::model::regular::read_to_string(path).map_err(|source| ImportError::Read {
        path: path.to_path_buf(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    proptest! {
        /// No source text makes a parser panic: it reads or names a line.
        #[test]
        fn no_source_text_panics(text in "(?s)[a-zA-Z0-9@.:# =\"\u{3000}\u{e9}\n-]{0,200}") {
            let _ = super::dovecot::parse(&text, "f");
            let _ = super::zimbra::parse(&text, "f");
            let _ = super::unix::parse_passwd(&text, "f", &super::unix::DEFAULT_UIDS);
            let _ = super::unix::parse_keys(&text, "f");
        }
    }
}
