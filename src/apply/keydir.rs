//! A local directory of `authorized_keys` files, `<dir>/<server>/<login>`, for sshd's
//! `AuthorizedKeysFile` (e.g. `AuthorizedKeysFile /srv/loket/state/keys/app-1/%u`).
//! The bundled instance's server backend: it needs no server to run. Each key line
//! carries OpenSSH's own `expiry-time` (end of the last day) and a `loket:<grant>`
//! comment naming its grant ticket; lines without one are reported as drift.

use std::path::{Path, PathBuf};

use jiff::civil::Date;

use super::backend::{
    Backend, BackendError, Change, LiveKey, LiveServerAccount, LiveState, Verified,
};
use super::fsutil::atomic_write;
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
        let text = std::fs::read_to_string(path).map_err(|e| BackendError::io(path, e))?;
        Ok(text.lines().filter_map(parse_line).collect())
    }

    fn write_file(path: &Path, keys: &[LiveKey]) -> Result<(), BackendError> {
        let text: String = keys.iter().map(line).collect();
        atomic_write(path, text.as_bytes(), 0o644, None)
    }
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

/// `type base64` of an OpenSSH public key line (comment dropped).
fn key_only(k: &str) -> String {
    k.split_whitespace().take(2).collect::<Vec<_>>().join(" ")
}

impl Backend for Keydir {
    fn name(&self) -> &str {
        "keydir"
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
                ..
            } => {
                let present = live
                    .server
                    .get(&(server.clone(), login.clone()))
                    .is_some_and(|a| a.keys.iter().any(|k| k.ticket.as_deref() == Some(grant)));
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
                let mut keys = if path.exists() {
                    Self::read_file(&path)?
                } else {
                    Vec::new()
                };
                keys.retain(|k| k.ticket.as_deref() != Some(grant));
                if action == Action::Grant {
                    keys.push(LiveKey {
                        ticket: Some(grant.clone()),
                        key: key_only(key),
                        expires: expires.parse().ok(),
                    });
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
mod tests {
    use super::*;

    #[test]
    fn key_lines_round_trip_with_expiry() {
        let k = LiveKey {
            ticket: Some("KDS-AAAAA-BBBBB".into()),
            key: "ssh-ed25519 AAAAC3Nza".into(),
            expires: Some(jiff::civil::date(2027, 8, 14)),
        };
        let l = line(&k);
        assert_eq!(
            l,
            "expiry-time=\"20270815\" ssh-ed25519 AAAAC3Nza loket:KDS-AAAAA-BBBBB\n"
        );
        assert_eq!(parse_line(&l), Some(k));
        let foreign = parse_line("ssh-rsa AAAAB3 someone@laptop").unwrap();
        assert_eq!(foreign.ticket, None);
    }

    #[test]
    fn refuses_path_escapes() {
        let d = tempfile::tempdir().unwrap();
        let kd = Keydir::new(&KeydirSettings { dir: "keys".into() }, d.path());
        assert!(kd.file("..", "x").is_err());
        assert!(kd.file("app-1", "a/b").is_err());
        assert!(kd.file("app-1", "opd-x").is_ok());
        // System accounts and odd names are refused here too, whatever check said.
        for bad in ["root", "opd;reboot", "OPD Dinkes"] {
            assert!(kd.file("app-1", bad).is_err(), "{bad}");
        }
    }
}
