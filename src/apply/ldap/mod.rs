//! OpenLDAP backend (ldap3, synchronous): mail accounts as `inetOrgPerson` entries
//! `uid=<address>,<base>` with a `{CRYPT}` SHA512-CRYPT `userPassword`; server
//! accounts as `account` + `posixAccount` + `shadowAccount` + `ldapPublicKey`
//! entries `uid=<login>,ou=<server>,<base>`, for sssd/nslcd and sshd's
//! `AuthorizedKeysCommand` on the servers.
//!
//! Conventions shared with the SSH backend: each `sshPublicKey` value is an
//! authorized_keys line with `expiry-time` and the grant ticket as comment, and
//! `shadowExpire` follows the keys ([`crate::apply::ssh::account_expiry`]). A disabled mail account
//! keeps its hash behind `{CRYPT}!`, which no password matches, so enabling it again
//! restores the old password and the mailbox is untouched. Applied tickets are kept
//! as `description: loket <ticket>` values so a reset is done once.

mod mail;
mod server;

pub use mail::MailPerson;

use std::collections::{BTreeSet, HashSet};

use jiff::civil::Date;
use ldap3::{LdapConn, LdapConnSettings, LdapError, Mod, Scope, SearchEntry, dn_escape};

use super::backend::{Backend, BackendError, Change, LiveState, Secret, Verified};
use super::plan::{Action, Target};
use super::redact::redact_owned;
use super::ssh::checked_key;
use crate::model::backends::LdapSettings;

const LOCKED: &str = "{CRYPT}!";
const MARK: &str = "loket ";

/// Which accounts this backend holds (`[backends.mail]` or `[backends.server]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LdapRole {
    Mail,
    Server,
}

pub struct LdapBackend {
    settings: LdapSettings,
    password: Secret,
    role: LdapRole,
    conn: Option<LdapConn>,
    today: Date,
}

/// The server's diagnostic text is in `e`: redacted, as any reply.
fn ldap_err(url: &str) -> impl Fn(LdapError) -> BackendError + '_ {
    move |e| BackendError::Command {
        command: format!("ldap {url}"),
        message: redact_owned(e.to_string()),
    }
}

impl LdapBackend {
    pub fn new(settings: LdapSettings, password: Secret, role: LdapRole, today: Date) -> Self {
        Self {
            settings,
            password,
            role,
            conn: None,
            today,
        }
    }

    /// Reads the bind password from the environment variable the settings name.
    pub fn from_env(
        settings: LdapSettings,
        role: LdapRole,
        today: Date,
    ) -> Result<Self, BackendError> {
        let pw = std::env::var(&settings.bind_password_env).map_err(|_| {
            BackendError::Other(format!(
                "the LDAP bind password is read from ${}, which is not set",
                settings.bind_password_env
            ))
        })?;
        Ok(Self::new(settings, Secret::new(pw), role, today))
    }

    fn conn(&mut self) -> Result<&mut LdapConn, BackendError> {
        if self.conn.is_none() {
            let url = self.settings.url.clone();
            let mut c = connect(&url)?;
            c.simple_bind(&self.settings.bind_dn, self.password.expose())
                .and_then(|r| r.success())
                .map_err(|e| BackendError::Command {
                    command: format!("ldap bind {} at {url}", self.settings.bind_dn),
                    message: redact_owned(e.to_string()),
                })?;
            self.conn = Some(c);
        }
        Ok(self.conn.as_mut().expect("just connected"))
    }

    /// Runs `f` on the connection. A connection found lost (slapd restarted or
    /// stopped, an idle timeout) is dropped, so the next operation connects again;
    /// the operation itself is sent again on a new connection once when it never
    /// left (`OpSend`) or only reads (`read_only`), else it fails as it is.
    fn op<T>(
        &mut self,
        read_only: bool,
        mut f: impl FnMut(&mut LdapConn) -> Result<T, LdapError>,
    ) -> Result<T, BackendError> {
        let url = self.settings.url.clone();
        match f(self.conn()?) {
            Err(e) if lost(&e) => {
                self.conn = None;
                if !(read_only || matches!(e, LdapError::OpSend { .. })) {
                    return Err(ldap_err(&url)(e));
                }
                f(self.conn()?).map_err(|e| {
                    if lost(&e) {
                        self.conn = None;
                    }
                    ldap_err(&url)(e)
                })
            }
            r => r.map_err(ldap_err(&url)),
        }
    }

    fn mail_dn(&self, address: &str) -> String {
        format!("uid={},{}", dn_escape(address), self.settings.base)
    }

    fn server_ou(&self, server: &str) -> String {
        format!("ou={},{}", dn_escape(server), self.settings.base)
    }

    fn server_dn(&self, server: &str, login: &str) -> String {
        format!("uid={},{}", dn_escape(login), self.server_ou(server))
    }

    /// The entries under `base` matching `filter`; none when `base` does not exist.
    fn search(
        &mut self,
        base: &str,
        scope: Scope,
        filter: &str,
        attrs: &[&str],
    ) -> Result<Vec<SearchEntry>, BackendError> {
        let url = self.settings.url.clone();
        let res = self.op(true, |c| c.search(base, scope, filter, attrs.to_vec()))?;
        if res.1.rc == 32 {
            return Ok(Vec::new()); // noSuchObject: the subtree is not there yet
        }
        let (entries, _) = res.success().map_err(ldap_err(&url))?;
        Ok(entries.into_iter().map(SearchEntry::construct).collect())
    }

    fn entry(&mut self, dn: &str, attrs: &[&str]) -> Result<Option<SearchEntry>, BackendError> {
        Ok(self
            .search(dn, Scope::Base, "(objectClass=*)", attrs)?
            .into_iter()
            .next())
    }

    fn modify(&mut self, dn: &str, mods: Vec<Mod<String>>) -> Result<(), BackendError> {
        let url = self.settings.url.clone();
        self.op(false, |c| c.modify(dn, mods.clone()))?
            .success()
            .map(drop)
            .map_err(ldap_err(&url))
    }

    fn add(&mut self, dn: &str, attrs: Vec<(String, HashSet<String>)>) -> Result<(), BackendError> {
        let url = self.settings.url.clone();
        self.op(false, |c| c.add(dn, attrs.clone()))?
            .success()
            .map(drop)
            .map_err(ldap_err(&url))
    }

    fn apply_one(&mut self, change: &Change<'_>) -> Result<(), BackendError> {
        let c = change.planned;
        match (&c.target, self.role) {
            (Target::Mail { address, .. }, LdapRole::Mail) => {
                self.apply_mail(address, c.action, &c.tickets, change.password, change.hash)
            }
            (Target::ServerAccount { server, login }, LdapRole::Server)
                if c.action == Action::Create =>
            {
                let ticket = c.tickets.first().cloned().unwrap_or_default();
                self.create_server_account(server, login, &ticket)
            }
            (
                Target::Key {
                    server,
                    login,
                    grant,
                    key,
                    expires,
                },
                LdapRole::Server,
            ) => {
                let key = checked_key(key).map_err(|e| {
                    BackendError::Other(format!("key of {grant} is not valid: {e}"))
                })?;
                match c.action {
                    Action::Grant => {
                        let last: Date = expires.parse().map_err(|_| {
                            BackendError::Other(format!("key of {grant}: bad last day {expires:?}"))
                        })?;
                        self.change_key(server, login, &key, Some((grant, last)))
                    }
                    Action::Revoke | Action::Expire => self.change_key(server, login, &key, None),
                    a => Err(unsupported(a)),
                }
            }
            _ => Err(unsupported(c.action)),
        }
    }

    /// A simple bind as the mail user: what Dovecot/Postfix with an LDAP passdb do.
    pub fn try_bind(&self, address: &str, password: &Secret) -> Result<bool, BackendError> {
        let url = &self.settings.url;
        let mut c = connect(url)?;
        let r = c
            .simple_bind(&self.mail_dn(address), password.expose())
            .map_err(ldap_err(url))?;
        let _ = c.unbind();
        match r.rc {
            0 => Ok(true),
            49 => Ok(false), // invalidCredentials
            rc => Err(BackendError::Command {
                command: format!("ldap bind as {address}"),
                message: redact_owned(format!("result code {rc}: {}", r.text)),
            }),
        }
    }
}

fn connect(url: &str) -> Result<LdapConn, BackendError> {
    let settings = LdapConnSettings::new().set_conn_timeout(std::time::Duration::from_secs(15));
    LdapConn::with_settings(settings, url).map_err(ldap_err(url))
}

/// Whether `e` means the connection is gone (not an answer from the server).
fn lost(e: &LdapError) -> bool {
    matches!(
        e,
        LdapError::OpSend { .. }
            | LdapError::ResultRecv { .. }
            | LdapError::IdScrubSend { .. }
            | LdapError::EndOfStream
            | LdapError::Io { .. }
    )
}

fn unsupported(a: Action) -> BackendError {
    BackendError::Other(format!(
        "the ldap backend does not carry out `{}` here",
        a.as_str()
    ))
}

fn set<const N: usize>(attr: &str, vals: [&str; N]) -> (String, HashSet<String>) {
    (
        attr.to_string(),
        vals.iter().map(|v| v.to_string()).collect(),
    )
}

fn values<'e>(e: &'e SearchEntry, attr: &str) -> impl Iterator<Item = &'e str> {
    e.attrs
        .iter()
        .filter(move |(k, _)| k.eq_ignore_ascii_case(attr))
        .flat_map(|(_, v)| v.iter().map(String::as_str))
}

fn first<'e>(e: &'e SearchEntry, attr: &str) -> Option<&'e str> {
    values(e, attr).next()
}

fn tickets(e: &SearchEntry) -> BTreeSet<String> {
    values(e, "description")
        .filter_map(|d| d.strip_prefix(MARK))
        .map(str::to_string)
        .collect()
}

impl Backend for LdapBackend {
    fn name(&self) -> &str {
        "ldap"
    }

    fn read(&mut self) -> Result<LiveState, BackendError> {
        let mut state = LiveState::default();
        match self.role {
            LdapRole::Mail => self.read_mail(&mut state)?,
            LdapRole::Server => self.read_server(&mut state)?,
        }
        Ok(state)
    }

    fn apply(&mut self, changes: &[Change<'_>]) -> Vec<Result<(), BackendError>> {
        changes.iter().map(|c| self.apply_one(c)).collect()
    }

    fn verify(&mut self, change: &Change<'_>) -> Result<Verified, BackendError> {
        let c = change.planned;
        let live = self.read()?;
        match &c.target {
            Target::Mail { address, .. } => {
                let l = live
                    .mail
                    .get(address)
                    .ok_or_else(|| BackendError::Verify(format!("{address}: no entry in LDAP")))?;
                if c.action == Action::Disable {
                    return if l.active {
                        Err(BackendError::Verify(format!(
                            "{address}: still has a usable password"
                        )))
                    } else {
                        Ok(Verified::State(format!(
                            "{address}: password locked ({LOCKED})"
                        )))
                    };
                }
                match change.password {
                    Some(pw) if self.try_bind(address, pw)? => Ok(Verified::AsUser(format!(
                        "LDAP bind as {address} with the new password succeeded"
                    ))),
                    Some(_) => Err(BackendError::Verify(format!(
                        "{address}: LDAP bind with the new password failed"
                    ))),
                    None if l.active => Ok(Verified::State(format!("{address}: active"))),
                    None => Err(BackendError::Verify(format!("{address}: not active"))),
                }
            }
            Target::ServerAccount { server, login } => live
                .server
                .get(&(server.clone(), login.clone()))
                .map(|_| Verified::State(format!("{login}@{server}: entry exists")))
                .ok_or_else(|| BackendError::Verify(format!("{login}@{server}: no entry"))),
            Target::Key {
                server,
                login,
                grant,
                key,
                ..
            } => {
                let key = checked_key(key).map_err(BackendError::Verify)?;
                let a = live.server.get(&(server.clone(), login.clone()));
                let present = a.is_some_and(|a| a.keys.iter().any(|k| k.key == key));
                let open = a.is_some_and(|a| !a.locked);
                let ok = match c.action {
                    Action::Grant => present && open,
                    _ => {
                        !present
                            && a.is_none_or(|a| {
                                a.keys.iter().any(|k| k.ticket.is_some()) || a.locked
                            })
                    }
                };
                if ok {
                    Ok(Verified::State(format!(
                        "{login}@{server}: sshPublicKey of {grant} {}",
                        if c.action == Action::Grant {
                            "present, account open"
                        } else {
                            "gone"
                        }
                    )))
                } else {
                    Err(BackendError::Verify(format!(
                        "{login}@{server}: the entry does not show the {} of {grant}",
                        c.action.as_str()
                    )))
                }
            }
        }
    }
}
