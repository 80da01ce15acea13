//! Dovecot + Postfix, file-based: the Dovecot passwd-file (passdb and userdb) and the
//! Postfix virtual mailbox domain and map files, written locally.
//!
//! Line format: `address:{SHA512-CRYPT}$6$…:uid:gid:loket KDS-…,KDS-…:home::[nologin]`.
//! The gecos field (unused by Dovecot) holds the tickets applied, so a reset is done
//! once. A disabled account keeps its line, hash and mailbox, gets Dovecot's
//! `nologin` (login refused) and leaves the Postfix map (new mail bounces).
//! The maps are written before the passwd-file, which is the commit point: a run
//! killed between the two is redone by the next. Running over SSH is not built yet.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use rayon::prelude::*;

use super::backend::{Backend, BackendError, Change, LiveMail, LiveState, Verified};
use super::credentials::{crypt_matches, sha512_crypt};
use super::fsutil::atomic_write;
use super::mailcheck;
use super::plan::{Action, Target};
use crate::model::backends::DovecotSettings;

const TICKETS_PREFIX: &str = "loket ";
const SCHEME: &str = "{SHA512-CRYPT}";

/// One passwd-file line, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    hash: String,
    uid: String,
    gid: String,
    tickets: Vec<String>,
    home: String,
    extra: Vec<String>,
}

impl Entry {
    fn active(&self) -> bool {
        !self.extra.iter().any(|f| f == "nologin")
    }

    fn line(&self, user: &str) -> String {
        format!(
            "{user}:{}:{}:{}:{TICKETS_PREFIX}{}:{}::{}\n",
            self.hash,
            self.uid,
            self.gid,
            self.tickets.join(","),
            self.home,
            self.extra.join(" ")
        )
    }
}

pub struct Dovecot {
    settings: DovecotSettings,
    root: PathBuf,
    domains: Vec<String>,
    /// The passwd-file as read back from disk after the last batch, for verify
    /// (re-reading it per change would be quadratic on large runs).
    written: Option<BTreeMap<String, Entry>>,
}

impl Dovecot {
    /// `root` resolves relative paths; `domains` are the office's mail domains.
    pub fn new(settings: DovecotSettings, root: &Path, domains: Vec<String>) -> Self {
        Self {
            settings,
            root: root.to_path_buf(),
            domains,
            written: None,
        }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.root.join(p)
    }

    fn passwd_path(&self) -> PathBuf {
        self.path(&self.settings.passwd_file)
    }

    fn load(&self) -> Result<BTreeMap<String, Entry>, BackendError> {
        let path = self.passwd_path();
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(BackendError::io(path, e)),
        };
        let mut out = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let f: Vec<&str> = line.splitn(8, ':').collect();
            if f.len() < 2 {
                return Err(BackendError::Parse {
                    path: path.clone(),
                    line: i + 1,
                    message: "not a passwd-file line (user:password:…)".into(),
                });
            }
            let field = |n: usize| f.get(n).copied().unwrap_or("").to_string();
            let gecos = field(4);
            let tickets = gecos
                .strip_prefix(TICKETS_PREFIX)
                .map(|t| {
                    t.split(',')
                        .filter(|s| !s.is_empty())
                        .map(String::from)
                        .collect()
                })
                .unwrap_or_default();
            out.insert(
                f[0].to_lowercase(),
                Entry {
                    hash: field(1),
                    uid: field(2),
                    gid: field(3),
                    tickets,
                    home: field(5),
                    extra: field(7).split_whitespace().map(String::from).collect(),
                },
            );
        }
        Ok(out)
    }

    fn home_for(&self, address: &str) -> String {
        let (local, domain) = address.split_once('@').unwrap_or((address, ""));
        self.settings
            .home
            .replace("%d", domain)
            .replace("%n", local)
    }

    /// Applies one change to the in-memory table; `hash` of its new password.
    fn change(
        &self,
        table: &mut BTreeMap<String, Entry>,
        c: &Change<'_>,
        hash: Option<String>,
    ) -> Result<(), BackendError> {
        let Target::Mail { address, active } = &c.planned.target else {
            return Err(BackendError::Other(format!(
                "the dovecot backend handles mail only, not {}",
                c.planned.target
            )));
        };
        let add_tickets = |e: &mut Entry| {
            for t in &c.planned.tickets {
                if !e.tickets.contains(t) {
                    e.tickets.push(t.clone());
                }
            }
        };
        let set_active = |e: &mut Entry, on: bool| {
            e.extra.retain(|f| f != "nologin");
            if !on {
                e.extra.push("nologin".into());
            }
        };
        match c.planned.action {
            Action::Create => {
                let mut e = Entry {
                    hash: hash.unwrap_or_else(|| format!("{SCHEME}*")),
                    uid: self.settings.uid.to_string(),
                    gid: self.settings.gid.to_string(),
                    tickets: Vec::new(),
                    home: self.home_for(address),
                    extra: Vec::new(),
                };
                add_tickets(&mut e);
                set_active(&mut e, *active);
                table.insert(address.clone(), e);
            }
            action => {
                let e = table.get_mut(address).ok_or_else(|| {
                    BackendError::Other(format!("{address} is not in the passwd-file"))
                })?;
                match action {
                    Action::Reset => {
                        e.hash = hash.ok_or_else(|| {
                            BackendError::Other("reset without a new password".into())
                        })?;
                    }
                    Action::Disable => set_active(e, false),
                    Action::Enable => set_active(e, true),
                    other => {
                        return Err(BackendError::Other(format!(
                            "`{}` does not apply to mail",
                            other.as_str()
                        )));
                    }
                }
                add_tickets(e);
            }
        }
        Ok(())
    }

    fn write_all(&self, table: &BTreeMap<String, Entry>) -> Result<(), BackendError> {
        let group = Some(self.settings.group.as_str());
        if let Some(p) = &self.settings.virtual_domains {
            let text: String = self.domains.iter().map(|d| format!("{d}\n")).collect();
            atomic_write(&self.path(p), text.as_bytes(), 0o644, None)?;
        }
        if let Some(p) = &self.settings.virtual_mailboxes {
            let mut text = String::with_capacity(table.len() * 64);
            for (user, e) in table.iter().filter(|(_, e)| e.active()) {
                let (local, domain) = user.split_once('@').unwrap_or((user, ""));
                text.push_str(&format!("{user} {domain}/{local}/\n"));
                let _ = e;
            }
            let path = self.path(p);
            atomic_write(&path, text.as_bytes(), 0o644, None)?;
            if let Some(postmap) = &self.settings.postmap {
                run(command(postmap)?.arg(&path))?;
            }
        }
        let mut text = String::with_capacity(table.len() * 160);
        for (user, e) in table {
            text.push_str(&e.line(user));
        }
        atomic_write(&self.passwd_path(), text.as_bytes(), 0o640, group)?;
        if let Some(doveadm) = &self.settings.doveadm {
            let mut cmd = command(doveadm)?;
            if let Some(c) = &self.settings.doveadm_config {
                cmd.arg("-c").arg(self.path(c));
            }
            run(cmd.arg("reload"))?;
        }
        Ok(())
    }
}

/// A configured command line (program and arguments, split on spaces).
fn command(line: &str) -> Result<Command, BackendError> {
    let mut words = line.split_whitespace();
    let program = words
        .next()
        .ok_or_else(|| BackendError::Other("empty command in [backends.mail]".into()))?;
    let mut cmd = Command::new(program);
    cmd.args(words);
    Ok(cmd)
}

fn run(cmd: &mut Command) -> Result<(), BackendError> {
    let shown = format!("{cmd:?}");
    let out = cmd.output().map_err(|e| BackendError::Command {
        command: shown.clone(),
        message: e.to_string(),
    })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(BackendError::Command {
            command: shown,
            message: format!(
                "{}: {}",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        })
    }
}

impl Backend for Dovecot {
    fn name(&self) -> &str {
        "dovecot"
    }

    fn read(&mut self) -> Result<LiveState, BackendError> {
        let mut live = LiveState::default();
        for (user, e) in self.load()? {
            live.mail.insert(
                user,
                LiveMail {
                    active: e.active(),
                    tickets: e.tickets.into_iter().collect(),
                },
            );
        }
        Ok(live)
    }

    fn apply(&mut self, changes: &[Change<'_>]) -> Vec<Result<(), BackendError>> {
        let mut table = match self.load() {
            Ok(t) => t,
            Err(e) => {
                let msg = e.to_string();
                return changes
                    .iter()
                    .map(|_| Err(BackendError::Other(msg.clone())))
                    .collect();
            }
        };
        // SHA512-CRYPT is the slow part of a large run: hash on all cores.
        let hashes: Vec<Result<Option<String>, BackendError>> = changes
            .par_iter()
            .map(|c| {
                c.password
                    .map(|p| {
                        sha512_crypt(p)
                            .map(|h| format!("{SCHEME}{h}"))
                            .map_err(|e| BackendError::Other(e.to_string()))
                    })
                    .transpose()
            })
            .collect();
        let mut results: Vec<Result<(), BackendError>> = changes
            .iter()
            .zip(hashes)
            .map(|(c, h)| h.and_then(|h| self.change(&mut table, c, h)))
            .collect();
        self.written = None;
        if results.iter().any(Result::is_ok)
            && let Err(e) = self.write_all(&table).and_then(|()| {
                self.written = Some(self.load()?);
                Ok(())
            })
        {
            let msg = e.to_string();
            for r in results.iter_mut().filter(|r| r.is_ok()) {
                *r = Err(BackendError::Other(msg.clone()));
            }
        }
        results
    }

    fn verify(&mut self, c: &Change<'_>) -> Result<Verified, BackendError> {
        let Target::Mail { address, .. } = &c.planned.target else {
            return Err(BackendError::Other("not a mail change".into()));
        };
        let table = match self.written.take() {
            Some(t) => t,
            None => self.load()?,
        };
        let e = table.get(address).cloned();
        self.written = Some(table);
        let e = e
            .as_ref()
            .ok_or_else(|| BackendError::Verify(format!("{address} is missing")))?;
        let want_active = !matches!(c.planned.action, Action::Disable)
            && !matches!(c.planned.target, Target::Mail { active: false, .. });
        if e.active() != want_active {
            return Err(BackendError::Verify(format!(
                "{address} is {} in the passwd-file",
                if e.active() { "active" } else { "disabled" }
            )));
        }
        if let Some(p) = c.password
            && !crypt_matches(p, e.hash.trim_start_matches(SCHEME))
        {
            return Err(BackendError::Verify(format!(
                "the stored hash of {address} does not match the new password"
            )));
        }
        match (&self.settings.imap, c.password) {
            (Some(imap), Some(p)) if want_active => {
                mailcheck::imap_login(imap, address, p)
                    .map_err(|e| BackendError::Verify(format!("IMAP login as {address}: {e}")))?;
                if let (Some(smtp), Action::Create) = (&self.settings.smtp, c.planned.action) {
                    mailcheck::send_welcome(smtp, address, &c.planned.tickets)
                        .map_err(|e| BackendError::Verify(format!("SMTP to {address}: {e}")))?;
                    mailcheck::wait_for_mail(imap, address, p).map_err(|e| {
                        BackendError::Verify(format!("welcome mail to {address}: {e}"))
                    })?;
                    return Ok(Verified::AsUser(format!(
                        "IMAP login and SMTP delivery to {address}"
                    )));
                }
                Ok(Verified::AsUser(format!("IMAP login as {address}")))
            }
            _ => Ok(Verified::State(format!(
                "{address} is {} in the passwd-file",
                if want_active { "active" } else { "disabled" }
            ))),
        }
    }
}
