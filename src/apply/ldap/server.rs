//! Server accounts as `account` + `posixAccount` + `shadowAccount` +
//! `ldapPublicKey` entries `uid=<login>,ou=<server>,<base>`.

use std::collections::HashSet;

use jiff::civil::Date;
use ldap3::{Mod, Scope};

use super::{LdapBackend, MARK, first, set, values};
use crate::apply::backend::{BackendError, LiveKey, LiveServerAccount, LiveState};
use crate::apply::ssh::{EPOCH, LiveKey as SshKeyLine, account_expiry, epoch_day, key_line};

impl LdapBackend {
    pub(super) fn read_server(&mut self, state: &mut LiveState) -> Result<(), BackendError> {
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
                .and_then(|d| d.parse::<i64>().ok())
                .filter(|d| *d >= 0)
                .and_then(epoch_day);
            let keys = values(&e, "sshPublicKey")
                .map(|l| {
                    let k = SshKeyLine::parse(l);
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

    pub(super) fn next_uid(&mut self) -> Result<u32, BackendError> {
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

    pub(super) fn create_server_account(
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
    pub(super) fn change_key(
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
            .filter(|l| SshKeyLine::parse(l).key != key)
            .map(str::to_string)
            .collect();
        if let Some((ticket, last_day)) = put {
            lines.push(key_line(key, ticket, last_day));
        }
        let days: Vec<Date> = lines
            .iter()
            .map(|l| SshKeyLine::parse(l))
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
}
