//! Dovecot + Postfix, file-based: the Dovecot passwd-file (passdb and userdb) and the
//! Postfix virtual mailbox domain and map files, on this machine ([`local`]) or on
//! the mail host over SSH ([`remote`], `host = "<[[servers]] name>"`).
//!
//! Line format ([`entry`]): `address:{SHA512-CRYPT}$6$…:uid:gid:loket KDS-…:home::[nologin]`.
//! The gecos field (unused by Dovecot) holds the tickets applied, so a reset is done
//! once. A disabled account keeps its line, hash and mailbox, gets Dovecot's
//! `nologin` (login refused) and leaves the Postfix map (new mail bounces).
//! The maps are written before the passwd-file, which is the commit point: a run
//! killed between the two is redone by the next. This module owns the table and
//! the diff; [`MailFiles`] owns where and how the files are read and written.

pub mod entry;
pub mod local;
pub mod remote;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::adopt::ImportedKeys;
use super::backend::{Backend, BackendError, Change, LiveMail, LiveState, Verified};
use super::credentials::{crypt_matches, sha512_crypt};
use super::mailcheck;
use super::owned;
use super::plan::{Action, Target};
use crate::model::backends::DovecotSettings;
use crate::model::config::Config;
use entry::Entry;

use entry::SCHEME;

/// The Postfix files, as named in messages and marker lines.
const DOMAINS: &str = "postfix virtual mailbox domain list";
const MAILBOXES: &str = "postfix virtual mailbox map";

/// A line check of a managed file: `Err` says why the line is not loket's.
type LineCheck = fn(&str) -> Result<(), String>;

/// A line of the domain list: one domain.
fn domain_line(l: &str) -> Result<(), String> {
    owned::check_domain(l)
}

/// A line of the mailbox map: `local@domain domain/local/`.
fn mailbox_line(l: &str) -> Result<(), String> {
    let (user, dest) = l.split_once(' ').ok_or("not `address domain/local/`")?;
    owned::check_address(user)?;
    let (local, domain) = user.split_once('@').unwrap_or((user, ""));
    if dest != format!("{domain}/{local}/") {
        return Err(format!("`{dest}` is not `{domain}/{local}/`"));
    }
    Ok(())
}

/// One file of a commit, written atomically: temp file beside it with `mode` (and
/// `group`, where it exists) set before the text goes in, fsync, rename.
#[derive(Debug, Clone)]
pub struct FileWrite {
    pub path: PathBuf,
    /// Whole lines (or empty).
    pub text: String,
    pub mode: u32,
    pub group: Option<String>,
    /// Run after the rename (program and arguments); its failure fails the commit.
    pub then: Option<Vec<String>>,
}

/// Where the passwd-file and maps live.
pub trait MailFiles {
    /// How a path is named in messages (`/etc/dovecot/users`, `mail-1:/etc/dovecot/users`).
    fn label(&self, path: &Path) -> String;
    /// The file's text; empty when it does not exist.
    fn read(&mut self, path: &Path) -> Result<String, BackendError>;
    /// Writes `writes` in order, each with its command, stopping at the first
    /// failure; returns the last file as read back after its write.
    fn commit(&mut self, writes: &[FileWrite]) -> Result<String, BackendError>;
}

pub struct Dovecot {
    settings: DovecotSettings,
    root: PathBuf,
    domains: Vec<String>,
    files: Box<dyn MailFiles>,
    /// The passwd-file as read back after the last batch, for verify (re-reading
    /// it per change would be quadratic on large runs).
    written: Option<BTreeMap<String, Entry>>,
    /// The Postfix maps were found to be loket's (or absent) in this run.
    maps_owned: bool,
}

impl Dovecot {
    /// Local files. `root` resolves relative paths; `domains` are the office's mail domains.
    pub fn new(settings: DovecotSettings, root: &Path, domains: Vec<String>) -> Self {
        Self::with_files(settings, root, domains, Box::new(local::LocalFiles))
    }

    /// The files on `settings.host` when set (over SSH), else local ones.
    pub fn open(
        settings: DovecotSettings,
        config: &Config,
        root: &Path,
        domains: Vec<String>,
    ) -> Result<Self, BackendError> {
        let files: Box<dyn MailFiles> = match &settings.host {
            None => Box::new(local::LocalFiles),
            Some(name) => Box::new(remote::RemoteFiles::open(&settings, name, config, root)?),
        };
        Ok(Self::with_files(settings, root, domains, files))
    }

    pub fn with_files(
        settings: DovecotSettings,
        root: &Path,
        domains: Vec<String>,
        files: Box<dyn MailFiles>,
    ) -> Self {
        Self {
            settings,
            root: root.to_path_buf(),
            domains,
            files,
            written: None,
            maps_owned: false,
        }
    }

    fn path(&self, p: &str) -> PathBuf {
        self.root.join(p)
    }

    fn passwd_path(&self) -> PathBuf {
        self.path(&self.settings.passwd_file)
    }

    fn load(&mut self) -> Result<BTreeMap<String, Entry>, BackendError> {
        let path = self.passwd_path();
        let text = self.files.read(&path)?;
        entry::parse(&text, &self.files.label(&path))
    }

    /// The Postfix maps with their line check and file mode, as [`Self::writes`]
    /// writes them.
    fn maps(&self) -> Vec<(PathBuf, &'static str, LineCheck)> {
        let mut out: Vec<(PathBuf, &'static str, LineCheck)> = Vec::new();
        if let Some(p) = &self.settings.virtual_domains {
            out.push((self.path(p), DOMAINS, domain_line));
        }
        if let Some(p) = &self.settings.virtual_mailboxes {
            out.push((self.path(p), MAILBOXES, mailbox_line));
        }
        out
    }

    /// Reads one managed file and checks it as loket writes it; its text.
    fn read_checked(
        &mut self,
        path: &Path,
        what: &str,
        line_ok: LineCheck,
        adopting: bool,
    ) -> Result<String, BackendError> {
        let text = self.files.read(path)?;
        let label = self.files.label(path);
        for (n, l) in owned::lines(&text, &label, what, adopting)? {
            line_ok(l).map_err(|why| owned::bad_line(&label, n, what, &why))?;
        }
        Ok(text)
    }

    /// Refuses maps loket did not write (once a run: after that it wrote them), and
    /// a configured uid/gid loket would not write.
    fn own_maps(&mut self) -> Result<(), BackendError> {
        if self.maps_owned {
            return Ok(());
        }
        for (v, name) in [(self.settings.uid, "uid"), (self.settings.gid, "gid")] {
            if !entry::IDS.contains(&v) {
                return Err(BackendError::Other(format!(
                    "[backends.mail] {name} = {v}: loket writes virtual mail users with a \
                     uid/gid from {} to {}, never a system account's",
                    entry::IDS.start(),
                    entry::IDS.end()
                )));
            }
        }
        for (path, what, line_ok) in self.maps() {
            self.read_checked(&path, what, line_ok, false)?;
        }
        self.maps_owned = true;
        Ok(())
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

    /// The files of `table`, maps first, the passwd-file (the commit point) last.
    fn writes(&self, table: &BTreeMap<String, Entry>) -> Result<Vec<FileWrite>, BackendError> {
        let mut out = Vec::new();
        if let Some(p) = &self.settings.virtual_domains {
            out.push(FileWrite {
                path: self.path(p),
                text: std::iter::once(owned::header(DOMAINS))
                    .chain(self.domains.iter().map(|d| format!("{d}\n")))
                    .collect(),
                mode: 0o644,
                group: None,
                then: None,
            });
        }
        if let Some(p) = &self.settings.virtual_mailboxes {
            let mut text = String::with_capacity(table.len() * 64 + 100);
            text.push_str(&owned::header(MAILBOXES));
            for user in table.iter().filter(|(_, e)| e.active()).map(|(u, _)| u) {
                let (local, domain) = user.split_once('@').unwrap_or((user, ""));
                text.push_str(&format!("{user} {domain}/{local}/\n"));
            }
            let path = self.path(p);
            let then = match &self.settings.postmap {
                Some(line) => {
                    let mut argv = command(line)?;
                    argv.push(path.display().to_string());
                    Some(argv)
                }
                None => None,
            };
            out.push(FileWrite {
                path,
                text,
                mode: 0o644,
                group: None,
                then,
            });
        }
        let then = match &self.settings.doveadm {
            Some(line) => {
                let mut argv = command(line)?;
                if let Some(c) = &self.settings.doveadm_config {
                    argv.extend(["-c".into(), self.path(c).display().to_string()]);
                }
                argv.push("reload".into());
                Some(argv)
            }
            None => None,
        };
        out.push(FileWrite {
            path: self.passwd_path(),
            text: entry::render(table),
            mode: 0o640,
            group: Some(self.settings.group.clone()),
            then,
        });
        Ok(out)
    }
}

impl Dovecot {
    /// Writes the files and keeps the passwd-file as read back, for verify.
    fn commit(&mut self, table: &BTreeMap<String, Entry>) -> Result<(), BackendError> {
        let writes = self.writes(table)?;
        let back = self.files.commit(&writes)?;
        let label = self.files.label(&self.passwd_path());
        self.written = Some(entry::parse(&back, &label)?);
        Ok(())
    }
}

/// A configured command line (program and arguments, split on spaces).
fn command(line: &str) -> Result<Vec<String>, BackendError> {
    let argv: Vec<String> = line.split_whitespace().map(String::from).collect();
    if argv.is_empty() {
        return Err(BackendError::Other(
            "empty command in [backends.mail]".into(),
        ));
    }
    Ok(argv)
}

impl Backend for Dovecot {
    fn name(&self) -> &str {
        "dovecot"
    }

    fn read(&mut self) -> Result<LiveState, BackendError> {
        let mut live = LiveState::default();
        let table = self.load()?;
        self.own_maps()?;
        for (user, e) in table {
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
        let mut table = match self.own_maps().and_then(|()| self.load()) {
            Ok(t) => t,
            Err(e) => {
                let msg = e.to_string();
                return changes
                    .iter()
                    .map(|_| Err(BackendError::Other(msg.clone())))
                    .collect();
            }
        };
        // SHA512-CRYPT is the slow part of a large run: the run hashes on all cores
        // while it seals; what it did not hash is hashed here, also on all cores.
        let hashes: Vec<Result<Option<String>, BackendError>> = changes
            .par_iter()
            .map(|c| match (c.hash, c.password) {
                (Some(h), _) => Ok(Some(format!("{SCHEME}{h}"))),
                (None, Some(p)) => sha512_crypt(p)
                    .map(|h| Some(format!("{SCHEME}{h}")))
                    .map_err(|e| BackendError::Other(e.to_string())),
                (None, None) => Ok(None),
            })
            .collect();
        let mut results: Vec<Result<(), BackendError>> = changes
            .iter()
            .zip(hashes)
            .map(|(c, h)| h.and_then(|h| self.change(&mut table, c, h)))
            .collect();
        self.written = None;
        if results.iter().any(Result::is_ok)
            && let Err(e) = self.commit(&table)
        {
            let msg = e.to_string();
            for r in results.iter_mut().filter(|r| r.is_ok()) {
                *r = Err(BackendError::Other(msg.clone()));
            }
        }
        results
    }

    fn adopt(&mut self, _: &ImportedKeys, dry_run: bool) -> Result<Vec<String>, BackendError> {
        // Every file is checked before any is written.
        let mut writes = Vec::new();
        let mut said = Vec::new();
        let passwd = self.passwd_path();
        let mut files: Vec<(PathBuf, &str, Option<LineCheck>, u32)> = self
            .maps()
            .into_iter()
            .map(|(p, what, f)| (p, what, Some(f), 0o644))
            .collect();
        files.push((passwd, entry::WHAT, None, 0o640));
        for (path, what, line_ok, mode) in files {
            let label = self.files.label(&path);
            // The passwd-file is written back as loket writes it: an office's own
            // gecos (a file from before loket, `loket import`) becomes `loket `.
            let (text, rendered) = match line_ok {
                Some(f) => (self.read_checked(&path, what, f, true)?, None),
                None => {
                    let text = self.files.read(&path)?;
                    let table = entry::parse_as(&text, &label, true)?;
                    (text, Some(entry::render(&table)))
                }
            };
            if text.is_empty() {
                said.push(format!("{label}: absent or empty, loket writes it new"));
            } else if text.starts_with(owned::MARK) {
                said.push(format!("{label}: already managed by loket"));
            } else {
                said.push(format!(
                    "{label}: {} {} line(s) as loket writes them",
                    if dry_run { "would adopt" } else { "adopted" },
                    text.lines().count()
                ));
                writes.push(FileWrite {
                    group: (mode == 0o640).then(|| self.settings.group.clone()),
                    text: rendered.unwrap_or_else(|| format!("{}{text}", owned::header(what))),
                    path,
                    mode,
                    then: None,
                });
            }
        }
        if !dry_run && !writes.is_empty() {
            self.files.commit(&writes)?;
        }
        Ok(said)
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
        // The hash this run wrote is compared as written (hashing again would cost
        // as much as the apply); a hash made by the backend is checked against the
        // password.
        let stored = e.hash.trim_start_matches(SCHEME);
        let matches = match (c.hash, c.password) {
            (Some(h), _) => stored == h,
            (None, Some(p)) => crypt_matches(p, stored),
            (None, None) => true,
        };
        if !matches {
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
