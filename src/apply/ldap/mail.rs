//! Mail accounts as `inetOrgPerson` entries `uid=<address>,<base>`.

use std::collections::HashSet;

use ldap3::{Mod, Scope};

use super::{LOCKED, LdapBackend, MARK, first, set, tickets, values};
use crate::apply::backend::{BackendError, LiveMail, LiveState, Secret};
use crate::apply::credentials::sha512_crypt;
use crate::apply::plan::Action;

/// A mail entry as `loket import` reads it: whether it is locked, never its password.
#[derive(Debug, Clone)]
pub struct MailPerson {
    pub dn: String,
    pub address: String,
    pub active: bool,
    /// `displayName`, else a `cn` that is not the address (loket writes cn = address).
    pub name: Option<String>,
}

impl LdapBackend {
    /// Every `inetOrgPerson` with a `mail` directly under the base, for `loket import`.
    pub fn read_mail_people(&mut self) -> Result<Vec<MailPerson>, BackendError> {
        let base = self.settings.base.clone();
        let entries = self.search(
            &base,
            Scope::OneLevel,
            "(objectClass=inetOrgPerson)",
            &["mail", "userPassword", "displayName", "cn"],
        )?;
        Ok(entries
            .into_iter()
            .filter_map(|e| {
                let address = first(&e, "mail")?.to_string();
                let name = first(&e, "displayName")
                    .or_else(|| first(&e, "cn").filter(|c| !c.eq_ignore_ascii_case(&address)))
                    .map(|n| n.trim().to_string())
                    .filter(|n| !n.is_empty());
                Some(MailPerson {
                    active: first(&e, "userPassword").is_some_and(|p| !p.starts_with(LOCKED)),
                    dn: e.dn,
                    address,
                    name,
                })
            })
            .collect())
    }

    pub(super) fn read_mail(&mut self, state: &mut LiveState) -> Result<(), BackendError> {
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

    pub(super) fn apply_mail(
        &mut self,
        address: &str,
        action: Action,
        tickets: &[String],
        password: Option<&Secret>,
        hashed: Option<&str>,
    ) -> Result<(), BackendError> {
        let dn = self.mail_dn(address);
        // The run's hash when it made one (on all cores), else one made here.
        let hash = match hashed {
            Some(h) => Some(format!("{{CRYPT}}{h}")),
            None => password
                .map(|p| sha512_crypt(p).map(|h| format!("{{CRYPT}}{h}")))
                .transpose()
                .map_err(|e| BackendError::Other(e.to_string()))?,
        };
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
}
