//! The one small trait every backend implements (Dovecot files, key directory, SSH,
//! LDAP, command templates), and the live state it reports.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::PathBuf;

use jiff::civil::Date;
use thiserror::Error;
use zeroize::Zeroizing;

use super::adopt::ImportedKeys;
use super::plan::PlannedChange;

/// A plaintext password, wiped from memory when dropped (`zeroize`). Never printed:
/// `Debug` and `Display` are redacted; reach
/// the text with [`Secret::expose`] only to hash or seal it. Made, it is registered
/// with [`redact`](super::redact), which takes it out of every reply from then on.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Zeroizing<String>);

impl Secret {
    pub fn new(text: String) -> Self {
        super::redact::register(&text);
        Self(Zeroizing::new(text))
    }
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

/// One change handed to a backend: the planned data plus, for mail create/reset,
/// the new password (the backend stores only its hash, in its own scheme).
#[derive(Debug, Clone, Copy)]
pub struct Change<'a> {
    pub planned: &'a PlannedChange,
    pub password: Option<&'a Secret>,
    /// The password's SHA512-CRYPT hash (`$6$…`), when the run computed it already
    /// (on all cores, with the sealing): a backend storing that scheme stores this
    /// one and verifies that it holds exactly it, instead of hashing again.
    pub hash: Option<&'a str>,
}

/// What a live system holds, limited to what loket manages.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveState {
    /// Mail accounts by lower-case address.
    pub mail: BTreeMap<String, LiveMail>,
    /// Server accounts by (server, login).
    pub server: BTreeMap<(String, String), LiveServerAccount>,
}

impl LiveState {
    /// Whether the key of grant ticket `grant` is installed on `login@server`.
    pub fn has_key(&self, server: &str, login: &str, grant: &str) -> bool {
        self.server
            .get(&(server.to_string(), login.to_string()))
            .is_some_and(|a| a.has_key(grant))
    }

    /// Whether `login@server` holds the key `key` (`type base64 [comment]`) under
    /// grant ticket `grant`: one batch ticket of `loket import` covers several keys.
    pub fn holds_key(&self, server: &str, login: &str, grant: &str, key: &str) -> bool {
        self.server
            .get(&(server.to_string(), login.to_string()))
            .is_some_and(|a| a.holds_key(grant, key))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveMail {
    pub active: bool,
    /// Tickets already applied to the account (so a reset is done once).
    pub tickets: BTreeSet<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveServerAccount {
    /// The account itself is expired/locked (no login at all).
    pub locked: bool,
    pub keys: Vec<LiveKey>,
}

impl LiveServerAccount {
    /// Whether the key of grant ticket `grant` is installed.
    pub fn has_key(&self, grant: &str) -> bool {
        self.keys.iter().any(|k| k.ticket.as_deref() == Some(grant))
    }

    /// Whether the key `key` (`type base64 [comment]`; the comment is not compared)
    /// is installed under grant ticket `grant`.
    pub fn holds_key(&self, grant: &str, key: &str) -> bool {
        self.keys
            .iter()
            .any(|k| k.ticket.as_deref() == Some(grant) && super::adopt::same_key(&k.key, key))
    }
}

/// `type base64` of an OpenSSH public key line without options: its first two words.
/// Comments are never compared.
pub fn key_material(key: &str) -> String {
    key.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
}

/// One installed key. `ticket` is `None` for a key loket did not install (drift).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveKey {
    pub ticket: Option<String>,
    /// `type base64` (no comment).
    pub key: String,
    /// Last day of access as set on the system, if it carries one.
    pub expires: Option<Date>,
}

/// Why a backend could not read, apply or verify. Messages never hold secrets: the
/// remote text in them has passed [`redact`](super::redact) where it was read.
#[derive(Debug, Error)]
pub enum BackendError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("`{command}` failed: {message}")]
    Command { command: String, message: String },
    #[error("{path}:{line}: {message}")]
    Parse {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error("verification failed: {0}")]
    Verify(String),
    #[error("{0}")]
    Other(String),
}

impl BackendError {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}

/// How a change was verified.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// As a user would: a login (IMAP, SSH) with the new credentials worked, or was refused as it must be.
    AsUser(String),
    /// The live system holds what was asked (no login possible from here).
    State(String),
}

/// A system loket writes accounts to. Small on purpose: read, apply, verify.
pub trait Backend {
    /// Short id for plans and records, e.g. `dovecot`, `keydir`, `ssh`.
    fn name(&self) -> &str;

    /// The live state (only the parts loket manages).
    fn read(&mut self) -> Result<LiveState, BackendError>;

    /// Carries out `changes` in order, one result per change. A backend may batch
    /// (one file write, one SSH session) but must leave the system consistent if
    /// the process dies at any point: each write atomic, each change idempotent.
    fn apply(&mut self, changes: &[Change<'_>]) -> Vec<Result<(), BackendError>>;

    /// Tests one applied change as its user would where possible.
    fn verify(&mut self, change: &Change<'_>) -> Result<Verified, BackendError>;

    /// `loket adopt-files`: takes over files an earlier loket wrote before they
    /// carried the marker ([`owned`](super::owned)), after checking every line as
    /// strictly as apply does, and the live key lines of `imported` keys (those
    /// `accounts/` holds under an `[[imports]]` batch ticket), rewritten as loket
    /// writes them ([`adopt`](super::adopt)); with `dry_run`, only checks. Messages
    /// per file or account. Backends that keep no files or keys of their own have
    /// nothing to adopt.
    fn adopt(
        &mut self,
        imported: &ImportedKeys,
        dry_run: bool,
    ) -> Result<Vec<String>, BackendError> {
        let _ = (imported, dry_run);
        Ok(Vec::new())
    }
}
