//! Accounts: the desired state under `accounts/`, one file per mail account
//! (`accounts/mail/<address>.toml`) and per server account
//! (`accounts/server/<server>/<login>.toml`). Each names the tickets that made it.

use crate::model::Spanned;
use serde::{Deserialize, Serialize};
use toml::value::Datetime;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AccountStatus {
    Active,
    /// Login refused, mail kept.
    Disabled,
}

/// One official mail account.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MailAccount {
    pub address: Spanned<String>,
    pub status: Spanned<AccountStatus>,
    pub holder: Holder,
    /// Tickets that created or changed the account, oldest first.
    pub tickets: Vec<Spanned<String>>,
    /// Set on an account `loket import` brought in from a system the office already
    /// ran: the source kind (`dovecot`, `ldap`, `zimbra`, `unix`). Its first ticket is
    /// the import batch's (`[[imports]]` in loket.toml), not a request (docs/import.md).
    #[serde(default)]
    pub imported: Option<Spanned<String>>,
}

/// The person an account or key belongs to. Personal data.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Holder {
    pub name: Spanned<String>,
    #[serde(default)]
    pub nip: Option<Spanned<String>>,
    pub opd: Spanned<String>,
}

/// One account on a server, and the keys allowed into it.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServerAccount {
    pub server: Spanned<String>,
    pub login: Spanned<String>,
    pub kind: Spanned<crate::model::config::ServerAccountKind>,
    /// The agency the account belongs to.
    pub opd: Spanned<String>,
    pub tickets: Vec<Spanned<String>>,
    #[serde(default)]
    pub keys: Vec<ServerKey>,
    /// As [`MailAccount::imported`].
    #[serde(default)]
    pub imported: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum KeyStatus {
    Active,
    Revoked,
}

/// One person's key on a server account, from one `server-grant` ticket.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServerKey {
    /// The `server-grant` ticket.
    pub ticket: Spanned<String>,
    pub holder: Holder,
    pub key: Spanned<String>,
    /// Last day of access.
    #[serde(with = "super::spanned::datetime")]
    pub expires: Spanned<Datetime>,
    pub status: Spanned<KeyStatus>,
    /// The `server-revoke` ticket that ended it early, if any.
    #[serde(default)]
    pub revoked_by: Option<Spanned<String>>,
}

impl MailAccount {
    pub fn is_active(&self) -> bool {
        *self.status.get_ref() == AccountStatus::Active
    }
}
