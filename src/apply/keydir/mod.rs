//! A local directory of `authorized_keys` files, `<dir>/<server>/<login>`, for sshd's
//! `AuthorizedKeysFile` (e.g. `AuthorizedKeysFile /srv/loket/state/keys/app-1/%u`).
//! The bundled instance's server backend: it needs no server to run. Each key line
//! carries OpenSSH's own `expiry-time` (end of the last day) and a `loket:<grant>`
//! comment naming its grant ticket; lines without one are reported as drift and
//! written back exactly as they are when loket changes another line of the file.
//! `loket adopt-files` (`keydir/adopt.rs`) marks folders and takes over imported keys' lines.
//!
//! Ownership ([`owned`](super::owned)): each server folder loket writes holds a
//! marker file, [`DIR_MARKER`]; a folder with key files but no marker is not
//! loket's and is refused, as is a key file whose last line is cut short or a line
//! that is not a key line (`[expiry-time="YYYYMMDD" ]type base64[ comment]`); a line
//! naming a grant (`loket:<ticket>`) must be exactly as loket writes it.

use std::path::{Path, PathBuf};

use jiff::civil::Date;

mod adopt;

use super::adopt::ImportedKeys;
use super::backend::{
    Backend, BackendError, Change, LiveKey, LiveServerAccount, LiveState, Verified, key_material,
};
use super::fsutil::atomic_write;
use super::owned::{self, DIR_MARKER};
use super::plan::{Action, Target};
use crate::model::backends::KeydirSettings;

const COMMENT: &str = "loket:";

pub struct Keydir {
    dir: PathBuf,
}

impl Keydir {
    pub fn new(settings: &KeydirSettings, root: &Path) -> Self {
        Self {
            dir: root.join(&settings.dir),
        }
    }

    fn file(&self, server: &str, login: &str) -> Result<PathBuf, BackendError> {
        // Names come from validated accounts/, but never let one escape the dir.
        for part in [server, login] {
            if part.is_empty() || part.contains(['/', '\\']) || part.starts_with('.') {
                return Err(BackendError::Other(format!(
                    "`{part}` cannot be used as a file name"
                )));
            }
        }
        if let Some(why) = crate::model::login::problem(login, &[]) {
            return Err(BackendError::Other(format!("login {login:?}: {why}")));
        }
        Ok(self.dir.join(server).join(login))
    }

    fn read_file(path: &Path) -> Result<Vec<LiveKey>, BackendError> {
        Ok(Self::read_lines(path)?
            .into_iter()
            .map(|(k, _)| k)
            .collect())
    }

    /// A key file's lines, each parsed and with its text as the file holds it: a
    /// line loket did not write is written back exactly so (its comment kept).
    fn read_lines(path: &Path) -> Result<Vec<(LiveKey, String)>, BackendError> {
        let text = std::fs::read_to_string(path).map_err(|e| BackendError::io(path, e))?;
        let label = path.display().to_string();
        if !text.is_empty() && !text.ends_with('\n') {
            return Err(BackendError::Parse {
                path: path.into(),
                line: text.lines().count(),
                message: "the last line has no newline: the key file was cut short or \
                          edited by hand (loket writes whole lines only); fix or remove that \
                          line by hand"
                    .into(),
            });
        }
        text.lines()
            .enumerate()
            .map(|(i, l)| {
                parse_line_strict(l)
                    .map(|k| (k, l.to_string()))
                    .map_err(|why| owned::bad_line(&label, i + 1, "authorized_keys", &why))
            })
            .collect()
    }

    fn write_file(path: &Path, lines: &[(LiveKey, String)]) -> Result<(), BackendError> {
        let text: String = lines.iter().map(|(_, l)| format!("{l}\n")).collect();
        atomic_write(path, text.as_bytes(), 0o644, None)
    }

    /// Whether the server folder `dir` is loket's: it holds the marker, or no key
    /// file with anything in it (a new folder). `Err` names a folder that is not.
    fn owns(dir: &Path) -> Result<bool, BackendError> {
        if dir.join(DIR_MARKER).is_file() {
            return Ok(true);
        }
        if !dir.exists() {
            return Ok(false);
        }
        let io = |e| BackendError::io(dir, e);
        for f in std::fs::read_dir(dir).map_err(io)? {
            let f = f.map_err(io)?;
            let name = f.file_name().to_string_lossy().to_string();
            if name.starts_with('.') {
                continue;
            }
            if f.metadata().map_err(io)?.len() > 0 {
                return Err(BackendError::Other(format!(
                    "{}: not a key folder loket manages: it has no {DIR_MARKER} and holds \
                     key files ({name}); loket writes only folders it made, so it leaves this \
                     one as it is; {}",
                    dir.display(),
                    owned::ADOPT_HINT
                )));
            }
        }
        Ok(false)
    }

    /// Marks the server folder `dir` as loket's before its first key file is written.
    fn claim(dir: &Path) -> Result<(), BackendError> {
        if !Self::owns(dir)? {
            Self::mark(dir)?;
        }
        Ok(())
    }

    fn mark(dir: &Path) -> Result<(), BackendError> {
        atomic_write(
            &dir.join(DIR_MARKER),
            owned::header("key folder, an sshd AuthorizedKeysFile per login").as_bytes(),
            0o644,
            None,
        )
    }
}

/// A line of a key file: loket's own exactly, another well-formed key as drift.
fn parse_line_strict(l: &str) -> Result<LiveKey, String> {
    let k = parse_line(l).ok_or("an empty line or a comment")?;
    let mut words = l.split_whitespace();
    if l.trim_start().starts_with("expiry-time=") {
        let opt = words.next().unwrap_or("");
        if k.expires.is_none() || opt.len() != "expiry-time=\"YYYYMMDD\"".len() {
            return Err("a bad expiry-time".into());
        }
    }
    let (ty, b64) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    let ty_ok = !ty.is_empty()
        && ty
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-@.".contains(&b));
    let b64_ok = !b64.is_empty()
        && b64.len() % 4 == 0
        && b64.trim_end_matches('=').len() + 2 >= b64.len()
        && b64
            .trim_end_matches('=')
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/');
    if !ty_ok || !b64_ok {
        return Err("not `type base64` (cut short?)".into());
    }
    if let Some(t) = &k.ticket {
        owned::check_ticket(t)?;
        if line(&k) != format!("{l}\n") {
            return Err("a grant line loket did not write".into());
        }
    }
    Ok(k)
}

/// `[expiry-time="YYYYMMDD"] type base64 [comment]`.
fn parse_line(l: &str) -> Option<LiveKey> {
    let l = l.trim();
    if l.is_empty() || l.starts_with('#') {
        return None;
    }
    let mut words: Vec<&str> = l.split_whitespace().collect();
    let mut expires = None;
    if let Some(opt) = words.first().and_then(|w| w.strip_prefix("expiry-time=\"")) {
        let d = opt.trim_end_matches('"');
        expires = parse_yyyymmdd(d).and_then(|d| d.yesterday().ok());
        words.remove(0);
    }
    let key = format!("{} {}", words.first()?, words.get(1)?);
    let ticket = words
        .get(2)
        .and_then(|c| c.strip_prefix(COMMENT))
        .map(String::from);
    Some(LiveKey {
        ticket,
        key,
        expires,
    })
}

fn parse_yyyymmdd(s: &str) -> Option<Date> {
    let s = s.get(..8)?;
    Date::new(
        s[..4].parse().ok()?,
        s[4..6].parse().ok()?,
        s[6..8].parse().ok()?,
    )
    .ok()
}

/// `k` with the line loket writes for it.
fn own_line(k: LiveKey) -> (LiveKey, String) {
    let l = line(&k);
    (k, l.trim_end_matches('\n').to_string())
}

fn line(k: &LiveKey) -> String {
    let mut out = String::new();
    if let Some(d) = k.expires.and_then(|d| d.tomorrow().ok()) {
        // Access ends when the day after the last day begins.
        out.push_str(&format!("expiry-time=\"{}\" ", d.strftime("%Y%m%d")));
    }
    out.push_str(&k.key);
    if let Some(t) = &k.ticket {
        out.push_str(&format!(" {COMMENT}{t}"));
    }
    out.push('\n');
    out
}

impl Backend for Keydir {
    fn name(&self) -> &str {
        "keydir"
    }

    fn adopt(
        &mut self,
        imported: &ImportedKeys,
        dry_run: bool,
    ) -> Result<Vec<String>, BackendError> {
        adopt::adopt(self, imported, dry_run)
    }

    fn read(&mut self) -> Result<LiveState, BackendError> {
        let mut live = LiveState::default();
        if !self.dir.exists() {
            return Ok(live);
        }
        let io = |p: &Path, e| BackendError::io(p, e);
        for server in std::fs::read_dir(&self.dir).map_err(|e| io(&self.dir, e))? {
            let server = server.map_err(|e| io(&self.dir, e))?;
            if !server.path().is_dir() {
                continue;
            }
            let sname = server.file_name().to_string_lossy().to_string();
            Self::owns(&server.path())?;
            for f in std::fs::read_dir(server.path()).map_err(|e| io(&server.path(), e))? {
                let f = f.map_err(|e| io(&server.path(), e))?;
                let name = f.file_name().to_string_lossy().to_string();
                if name.starts_with('.') || !f.path().is_file() {
                    continue; // temp files of an interrupted write
                }
                let keys = Self::read_file(&f.path())?;
                live.server.insert(
                    (sname.clone(), name),
                    LiveServerAccount {
                        locked: false,
                        keys,
                    },
                );
            }
        }
        Ok(live)
    }

    fn apply(&mut self, changes: &[Change<'_>]) -> Vec<Result<(), BackendError>> {
        changes.iter().map(|c| self.apply_one(c)).collect()
    }

    fn verify(&mut self, c: &Change<'_>) -> Result<Verified, BackendError> {
        let live = self.read()?;
        match &c.planned.target {
            Target::ServerAccount { server, login } => {
                if live.server.contains_key(&(server.clone(), login.clone())) {
                    Ok(Verified::State(format!("{login}@{server} has a key file")))
                } else {
                    Err(BackendError::Verify(format!(
                        "{login}@{server} has no key file"
                    )))
                }
            }
            Target::Key {
                server,
                login,
                grant,
                key,
                ..
            } => {
                let present = live.holds_key(server, login, grant, key);
                let want = c.planned.action == Action::Grant;
                if present == want {
                    Ok(Verified::State(format!(
                        "key {grant} {} {login}@{server}",
                        if want { "installed on" } else { "removed from" }
                    )))
                } else {
                    Err(BackendError::Verify(format!(
                        "key {grant} is {} {login}@{server}",
                        if present { "still on" } else { "missing from" }
                    )))
                }
            }
            Target::Mail { .. } => Err(BackendError::Other("not a server change".into())),
        }
    }
}

impl Keydir {
    fn apply_one(&mut self, c: &Change<'_>) -> Result<(), BackendError> {
        match (&c.planned.target, c.planned.action) {
            (Target::ServerAccount { server, login }, Action::Create) => {
                let path = self.file(server, login)?;
                Self::claim(path.parent().unwrap_or(&self.dir))?;
                if !path.exists() {
                    Self::write_file(&path, &[])?;
                }
                Ok(())
            }
            (
                Target::Key {
                    server,
                    login,
                    grant,
                    key,
                    expires,
                },
                action,
            ) => {
                let path = self.file(server, login)?;
                Self::claim(path.parent().unwrap_or(&self.dir))?;
                let mut keys = if path.exists() {
                    Self::read_lines(&path)?
                } else {
                    Vec::new()
                };
                // One import batch ticket covers several keys: only this one's line
                // goes (a grant also replaces another line of the same key).
                keys.retain(|(k, _)| {
                    let same = key_material(&k.key) == key_material(key);
                    !(same && (action == Action::Grant || k.ticket.as_deref() == Some(grant)))
                });
                if action == Action::Grant {
                    keys.push(own_line(LiveKey {
                        ticket: Some(grant.clone()),
                        key: key_material(key),
                        expires: expires.parse().ok(),
                    }));
                }
                Self::write_file(&path, &keys)
            }
            (t, a) => Err(BackendError::Other(format!(
                "`{}` of {t} is not a key-directory change",
                a.as_str()
            ))),
        }
    }
}

#[cfg(test)]
mod tests;
