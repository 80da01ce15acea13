//! Requests: one TOML file per ticket under `requests/`, the record of what was asked.
//! Immutable once merged.

use std::fmt;

use crate::model::Spanned;
use serde::{Deserialize, Serialize};
use toml::value::Datetime;

/// The kinds of request loket handles.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum RequestKind {
    /// A new official mail account.
    MailCreate,
    /// Retirement or transfer: the account is disabled, its mail kept.
    MailDeactivate,
    /// A new password for an existing account.
    MailReset,
    /// SSH access to a server account for one person's key, until an expiry date.
    ServerGrant,
    /// Ends a grant before its expiry.
    ServerRevoke,
}

impl RequestKind {
    pub const ALL: [RequestKind; 5] = [
        RequestKind::MailCreate,
        RequestKind::MailDeactivate,
        RequestKind::MailReset,
        RequestKind::ServerGrant,
        RequestKind::ServerRevoke,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::MailCreate => "mail-create",
            RequestKind::MailDeactivate => "mail-deactivate",
            RequestKind::MailReset => "mail-reset",
            RequestKind::ServerGrant => "server-grant",
            RequestKind::ServerRevoke => "server-revoke",
        }
    }

    /// Indonesian label for people.
    pub fn label_id(self) -> &'static str {
        match self {
            RequestKind::MailCreate => "Pembuatan akun email",
            RequestKind::MailDeactivate => "Penonaktifan akun email",
            RequestKind::MailReset => "Reset kata sandi email",
            RequestKind::ServerGrant => "Permohonan akses server",
            RequestKind::ServerRevoke => "Pencabutan akses server",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            RequestKind::MailCreate => "Mail account creation",
            RequestKind::MailDeactivate => "Mail account deactivation",
            RequestKind::MailReset => "Mail password reset",
            RequestKind::ServerGrant => "Server access grant",
            RequestKind::ServerRevoke => "Server access revocation",
        }
    }

    pub fn is_mail(self) -> bool {
        matches!(
            self,
            RequestKind::MailCreate | RequestKind::MailDeactivate | RequestKind::MailReset
        )
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

impl fmt::Display for RequestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One request file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Request {
    pub ticket: Spanned<String>,
    pub kind: Spanned<RequestKind>,
    /// When the applicant submitted it (offset date-time).
    #[serde(with = "super::spanned::datetime")]
    pub submitted: Spanned<Datetime>,
    pub applicant: Applicant,
    pub letter: Letter,
    /// For `mail-*` kinds.
    #[serde(default)]
    pub mail: Option<Spanned<MailDetails>>,
    /// For `server-*` kinds.
    #[serde(default)]
    pub server: Option<Spanned<ServerDetails>>,
}

/// Who asks. Every field here is personal data: never on the public site.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Applicant {
    pub name: Spanned<String>,
    /// 18-digit civil-servant number; required where the office requires it.
    #[serde(default)]
    pub nip: Option<Spanned<String>>,
    /// The agency (Organisasi Perangkat Daerah).
    pub opd: Spanned<String>,
    pub position: Spanned<String>,
    /// Phone number or personal mail address.
    pub contact: Spanned<String>,
    /// Public key the credentials are sealed to: `age1…` or `ssh-ed25519 …`.
    #[serde(default)]
    pub recipient: Option<Spanned<String>>,
    /// The applicant's forge login, whose approving review of the follow-up pull
    /// request confirms receipt of the notification (`[letters] receipt =
    /// "applicant"`).
    #[serde(default)]
    pub login: Option<Spanned<String>>,
    /// Why someone other than the holder asks (a reset, deactivation or revocation
    /// by a position `[requests] on-behalf-positions` names).
    #[serde(default)]
    pub on_behalf_reason: Option<Spanned<String>>,
}

/// The request letter (surat permohonan).
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Letter {
    pub number: Spanned<String>,
    #[serde(with = "super::spanned::datetime")]
    pub date: Spanned<Datetime>,
    /// Title of the official who signed it, e.g. "Kepala Dinas Kesehatan".
    pub signatory: Spanned<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MailDetails {
    /// The full address, e.g. `budi.santoso@kuduskab.go.id`.
    pub address: Spanned<String>,
    /// Why an account is deactivated (`mail-deactivate` only).
    #[serde(default)]
    pub reason: Option<Spanned<DeactivateReason>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DeactivateReason {
    /// Retirement.
    Pensiun,
    /// Transfer to another government.
    Mutasi,
    /// Resignation or dismissal.
    Berhenti,
    /// Death of the holder.
    Meninggal,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ServerDetails {
    /// A server name from the inventory in `loket.toml`.
    pub name: Spanned<String>,
    /// The Linux login, e.g. `opd-dinkes`.
    pub account: Spanned<String>,
    #[serde(default = "opd_kind")]
    pub account_kind: Spanned<crate::model::config::ServerAccountKind>,
    /// The applicant's SSH public key (`server-grant`).
    #[serde(default)]
    pub key: Option<Spanned<String>>,
    /// Last day of access (`server-grant`).
    #[serde(default, with = "super::spanned::option_datetime")]
    pub expires: Option<Spanned<Datetime>>,
    /// The applicant agrees to the server-access terms (`server-grant`).
    #[serde(default)]
    pub accept_terms: Option<Spanned<bool>>,
    /// What the access is for (`server-grant`).
    #[serde(default)]
    pub purpose: Option<Spanned<String>>,
    /// The grant being revoked (`server-revoke`).
    #[serde(default)]
    pub grant: Option<Spanned<String>>,
}

fn opd_kind() -> Spanned<crate::model::config::ServerAccountKind> {
    Spanned::new(0..0, crate::model::config::ServerAccountKind::Opd)
}

impl Request {
    pub fn kind(&self) -> RequestKind {
        *self.kind.get_ref()
    }

    pub fn ticket(&self) -> &str {
        self.ticket.get_ref()
    }

    /// The mail address this request is about, lower-cased as written.
    pub fn mail_address(&self) -> Option<&Spanned<String>> {
        self.mail.as_ref().map(|m| &m.get_ref().address)
    }
}
