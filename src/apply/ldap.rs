//! OpenLDAP backend (ldap3, synchronous): mail accounts as `inetOrgPerson` entries
//! `uid=<address>,<base>` with a `{CRYPT}` SHA512-CRYPT `userPassword`; server
//! accounts as `account` + `posixAccount` + `shadowAccount` + `ldapPublicKey`
//! entries `uid=<login>,ou=<server>,<base>`, for sssd/nslcd and sshd's
//! `AuthorizedKeysCommand` on the servers.
//!
//! Conventions shared with the SSH backend: each `sshPublicKey` value is an
//! authorized_keys line with `expiry-time` and the grant ticket as comment, and
//! `shadowExpire` follows the keys ([`account_expiry`]). A disabled mail account
//! keeps its hash behind `{CRYPT}!`, which no password matches, so enabling it again
//! restores the old password and the mailbox is untouched. Applied tickets are kept
//! as `description: loket <ticket>` values so a reset is done once.

use std::collections::{BTreeSet, HashSet};

use jiff::ToSpan;
use jiff::civil::Date;
use ldap3::{LdapConn, LdapConnSettings, LdapError, Mod, Scope, SearchEntry, dn_escape};

use super::backend::{
    Backend, BackendError, Change, LiveKey, LiveMail, LiveServerAccount, LiveState, Secret,
    Verified,
};
use super::credentials::sha512_crypt;
use super::plan::{Action, Target};
use super::ssh::{EPOCH, account_expiry, checked_key};
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

fn ldap_err(url: &str) -> impl Fn(LdapError) -> BackendError + '_ {
    move |e| BackendError::Command {
        command: format!("ldap {url}"),
        message: e.to_string(),
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
                    message: e.to_string(),
                })?;
            self.conn = Some(c);
        }
        Ok(self.conn.as_mut().expect("just connected"))
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
        let res = self
            .conn()?
            .search(base, scope, filter, attrs.to_vec())
            .map_err(ldap_err(&url))?;
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
        self.conn()?
            .modify(dn, mods)
            .and_then(|r| r.success())
            .map(drop)
            .map_err(ldap_err(&url))
    }

    fn add(&mut self, dn: &str, attrs: Vec<(String, HashSet<String>)>) -> Result<(), BackendError> {
        let url = self.settings.url.clone();
        self.conn()?
            .add(dn, attrs)
            .and_then(|r| r.success())
            .map(drop)
            .map_err(ldap_err(&url))
    }

    fn read_mail(&mut self, state: &mut LiveState) -> Result<(), BackendError> {
        let base = self.settings.base.clone();
        let entries = self.search(
            &base,
            Scope::OneLevel,
            "(objectClass=inetOrgPerson)",
            &["mail", "userPassword", "description"],
        )?;
        for e in entries {
            let Some(address) = first(&e, "mail") else {
                continue;
            };
            let active = first(&e, "userPassword").is_some_and(|p| !p.starts_with(LOCKED));
            state.mail.insert(
                address.to_lowercase(),
                LiveMail {
                    active,
                    tickets: tickets(&e),
                },
            );
        }
        Ok(())
    }

    fn read_server(&mut self, state: &mut LiveState) -> Result<(), BackendError> {
        let base = self.settings.base.clone();
        let entries = self.search(
            &base,
            Scope::Subtree,
            "(objectClass=posixAccount)",
            &["uid", "shadowExpire", "sshPublicKey"],
        )?;
        for e in entries {
            // uid=<login>,ou=<server>,<base>
            let Some(server) =
                e.dn.split(',')
                    .nth(1)
                    .and_then(|rdn| rdn.strip_prefix("ou="))
            else {
                continue;
            };
            let Some(login) = first(&e, "uid") else {
                continue;
            };
            let expires_on = first(&e, "shadowExpire")
                .and_then(|d| d.parse::<i32>().ok())
                .filter(|d| *d >= 0)
                .and_then(|d| EPOCH.checked_add(d.days()).ok());
            let keys = values(&e, "sshPublicKey")
                .map(|l| {
                    let k = super::ssh::LiveKey::parse(l);
                    LiveKey {
                        ticket: k.ticket,
                        key: k.key,
                        expires: k.last_day,
                    }
                })
                .collect();
            state.server.insert(
                (server.to_string(), login.to_string()),
                LiveServerAccount {
                    locked: expires_on.is_some_and(|d| d <= self.today),
                    keys,
                },
            );
        }
        Ok(())
    }

    fn apply_mail(
        &mut self,
        address: &str,
        action: Action,
        tickets: &[String],
        password: Option<&Secret>,
    ) -> Result<(), BackendError> {
        let dn = self.mail_dn(address);
        let hash = password
            .map(|p| sha512_crypt(p).map(|h| format!("{{CRYPT}}{h}")))
            .transpose()
            .map_err(|e| BackendError::Other(e.to_string()))?;
        let current = self.entry(&dn, &["userPassword", "description"])?;
        let marks: HashSet<String> = tickets.iter().map(|t| format!("{MARK}{t}")).collect();
        let Some(current) = current else {
            if !matches!(action, Action::Create) {
                return Err(BackendError::Other(format!(
                    "{address}: no such entry in LDAP"
                )));
            }
            let local = address.split('@').next().unwrap_or(address);
            let pw = hash.unwrap_or_else(|| format!("{LOCKED}*"));
            let attrs = vec![
                set(
                    "objectClass",
                    ["top", "person", "organizationalPerson", "inetOrgPerson"],
                ),
                set("uid", [address]),
                set("mail", [address]),
                set("cn", [address]),
                set("sn", [local]),
                set("userPassword", [pw.as_str()]),
                ("description".to_string(), marks),
            ];
            return self.add(&dn, attrs);
        };
        let old = first(&current, "userPassword").unwrap_or("").to_string();
        let new_pw = match (action, hash) {
            (Action::Create | Action::Reset, Some(h)) => Some(h),
            (Action::Disable, _) if !old.starts_with(LOCKED) => {
                Some(match old.strip_prefix("{CRYPT}") {
                    Some(h) => format!("{LOCKED}{h}"),
                    None => format!("{LOCKED}*"),
                })
            }
            (Action::Enable, Some(h)) => Some(h),
            (Action::Enable, None) => old.strip_prefix(LOCKED).map(|h| format!("{{CRYPT}}{h}")),
            (Action::Create | Action::Reset, None) => {
                return Err(BackendError::Other(format!(
                    "{address}: {} needs a new password",
                    action.as_str()
                )));
            }
            _ => None,
        };
        let mut mods = Vec::new();
        if let Some(p) = new_pw {
            mods.push(Mod::Replace("userPassword".to_string(), HashSet::from([p])));
        }
        let have: HashSet<String> = values(&current, "description")
            .map(str::to_string)
            .collect();
        let missing: HashSet<String> = marks.difference(&have).cloned().collect();
        if !missing.is_empty() {
            mods.push(Mod::Add("description".to_string(), missing));
        }
        if mods.is_empty() {
            return Ok(());
        }
        self.modify(&dn, mods)
    }

    fn next_uid(&mut self) -> Result<u32, BackendError> {
        let base = self.settings.base.clone();
        let used = self.search(
            &base,
            Scope::Subtree,
            "(objectClass=posixAccount)",
            &["uidNumber"],
        )?;
        let max = used
            .iter()
            .filter_map(|e| first(e, "uidNumber")?.parse::<u32>().ok())
            .max();
        Ok(max.map_or(self.settings.uid_start, |m| {
            (m + 1).max(self.settings.uid_start)
        }))
    }

    fn create_server_account(
        &mut self,
        server: &str,
        login: &str,
        ticket: &str,
    ) -> Result<(), BackendError> {
        let dn = self.server_dn(server, login);
        if self.entry(&dn, &["uid"])?.is_some() {
            return Ok(());
        }
        let ou = self.server_ou(server);
        if self.entry(&ou, &["ou"])?.is_none() {
            self.add(
                &ou,
                vec![
                    set("objectClass", ["organizationalUnit"]),
                    set("ou", [server]),
                ],
            )?;
        }
        let uid = self.next_uid()?.to_string();
        let gid = self.settings.gid.to_string();
        let home = self.settings.home.replace("%u", login);
        let shell = self.settings.login_shell.clone();
        let gecos = format!("{MARK}{ticket}");
        // No key yet: expired until a grant sets the expiry.
        self.add(
            &dn,
            vec![
                set(
                    "objectClass",
                    [
                        "top",
                        "account",
                        "posixAccount",
                        "shadowAccount",
                        "ldapPublicKey",
                    ],
                ),
                set("uid", [login]),
                set("cn", [login]),
                set("uidNumber", [uid.as_str()]),
                set("gidNumber", [gid.as_str()]),
                set("homeDirectory", [home.as_str()]),
                set("loginShell", [shell.as_str()]),
                set("gecos", [gecos.as_str()]),
                set("description", [gecos.as_str()]),
                set("shadowExpire", ["0"]),
            ],
        )
    }

    /// Replaces the key's value (or removes it) and sets `shadowExpire` to match.
    fn change_key(
        &mut self,
        server: &str,
        login: &str,
        key: &str,
        put: Option<(&str, Date)>,
    ) -> Result<(), BackendError> {
        let dn = self.server_dn(server, login);
        let Some(e) = self.entry(&dn, &["sshPublicKey"])? else {
            return Err(BackendError::Other(format!(
                "{login}@{server}: no such entry in LDAP"
            )));
        };
        let mut lines: Vec<String> = values(&e, "sshPublicKey")
            .filter(|l| super::ssh::LiveKey::parse(l).key != key)
            .map(str::to_string)
            .collect();
        if let Some((ticket, last_day)) = put {
            let stop = last_day.checked_add(1.day()).unwrap_or(last_day);
            lines.push(format!(
                "expiry-time=\"{}\" {key} {ticket}",
                stop.strftime("%Y%m%d")
            ));
        }
        let days: Vec<Date> = lines
            .iter()
            .map(|l| super::ssh::LiveKey::parse(l))
            .filter(|k| k.ticket.is_some())
            .filter_map(|k| k.last_day)
            .collect();
        let expire = account_expiry(days.into_iter());
        let expire_days = (expire - EPOCH).get_days().to_string();
        self.modify(
            &dn,
            vec![
                Mod::Replace("sshPublicKey".to_string(), lines.into_iter().collect()),
                Mod::Replace("shadowExpire".to_string(), HashSet::from([expire_days])),
            ],
        )
    }

    fn apply_one(&mut self, change: &Change<'_>) -> Result<(), BackendError> {
        let c = change.planned;
        match (&c.target, self.role) {
            (Target::Mail { address, .. }, LdapRole::Mail) => {
                self.apply_mail(address, c.action, &c.tickets, change.password)
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
                message: format!("result code {rc}: {}", r.text),
            }),
        }
    }
}

fn connect(url: &str) -> Result<LdapConn, BackendError> {
    let settings = LdapConnSettings::new().set_conn_timeout(std::time::Duration::from_secs(15));
    LdapConn::with_settings(settings, url).map_err(ldap_err(url))
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
