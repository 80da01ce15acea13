//! What an account file should hold after a pull request: the base's parsed account
//! with each request the change adds applied to it, in the order the head lists
//! their tickets. Values are kept as canonical strings (enums by their TOML names,
//! dates as TOML writes them) so they compare as parsed values and print as such.

use crate::model::account::{AccountStatus, KeyStatus};
use crate::model::config::ServerAccountKind;
use crate::model::{Holder, MailAccount, Request, RequestKind, ServerAccount, ServerKey};

/// A holder's identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Who {
    pub name: String,
    pub nip: Option<String>,
    pub opd: String,
}

impl Who {
    pub fn of(h: &Holder) -> Self {
        Who {
            name: h.name.get_ref().clone(),
            nip: h.nip.as_ref().map(|n| n.get_ref().clone()),
            opd: h.opd.get_ref().clone(),
        }
    }

    fn applicant(r: &Request) -> Self {
        let a = &r.applicant;
        Who {
            name: a.name.get_ref().clone(),
            nip: a.nip.as_ref().map(|n| n.get_ref().clone()),
            opd: a.opd.get_ref().clone(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct MailState {
    /// Lower-cased: addresses compare without case, as everywhere else.
    pub address: String,
    pub status: &'static str,
    pub holder: Who,
}

#[derive(Debug, Clone)]
pub struct KeyState {
    pub ticket: String,
    /// `None` where the request leaves it open (a grant without a key or expiry:
    /// L051/L053 report that, this rule does not guess).
    pub key: Option<String>,
    pub expires: Option<String>,
    pub status: &'static str,
    pub revoked_by: Option<String>,
    pub holder: Who,
}

#[derive(Debug, Clone)]
pub struct ServerState {
    pub server: String,
    pub login: String,
    pub kind: &'static str,
    pub opd: String,
    pub keys: Vec<KeyState>,
}

pub fn account_status(s: AccountStatus) -> &'static str {
    match s {
        AccountStatus::Active => "active",
        AccountStatus::Disabled => "disabled",
    }
}

pub fn key_status(s: KeyStatus) -> &'static str {
    match s {
        KeyStatus::Active => "active",
        KeyStatus::Revoked => "revoked",
    }
}

pub fn account_kind(k: ServerAccountKind) -> &'static str {
    match k {
        ServerAccountKind::Opd => "opd",
        ServerAccountKind::Personal => "personal",
    }
}

impl MailState {
    pub fn of(a: &MailAccount) -> Self {
        MailState {
            address: a.address.get_ref().to_lowercase(),
            status: account_status(*a.status.get_ref()),
            holder: Who::of(&a.holder),
        }
    }
}

impl KeyState {
    pub fn of(k: &ServerKey) -> Self {
        KeyState {
            ticket: k.ticket.get_ref().clone(),
            key: Some(k.key.get_ref().clone()),
            expires: Some(k.expires.get_ref().to_string()),
            status: key_status(*k.status.get_ref()),
            revoked_by: k.revoked_by.as_ref().map(|t| t.get_ref().clone()),
            holder: Who::of(&k.holder),
        }
    }
}

impl ServerState {
    pub fn of(a: &ServerAccount) -> Self {
        ServerState {
            server: a.server.get_ref().clone(),
            login: a.login.get_ref().clone(),
            kind: account_kind(*a.kind.get_ref()),
            opd: a.opd.get_ref().clone(),
            keys: a.keys.iter().map(KeyState::of).collect(),
        }
    }
}

/// The mail account after request `r`, if `r` is about `address`.
/// A create makes the account, or brings back a disabled one; a reset changes no
/// field; a deactivate disables. Anything else leaves the state as it was, so
/// whatever the head changed for it is reported.
pub fn apply_mail(state: Option<MailState>, address: &str, r: &Request) -> Option<MailState> {
    let about = r
        .mail_address()
        .is_some_and(|a| a.get_ref().to_lowercase() == address);
    if !about {
        return state;
    }
    match (r.kind(), state) {
        (RequestKind::MailCreate, s) if s.as_ref().is_none_or(|s| s.status == "disabled") => {
            Some(MailState {
                address: address.to_string(),
                status: "active",
                holder: Who::applicant(r),
            })
        }
        (RequestKind::MailDeactivate, Some(mut s)) => {
            s.status = "disabled";
            Some(s)
        }
        (_, s) => s,
    }
}

/// The server account after request `r` (ticket `t`), if `r` is about
/// `server`/`login`. A grant adds one key (making the account if there is none); a
/// revoke ends the key of the grant it names.
pub fn apply_server(
    state: Option<ServerState>,
    (server, login): (&str, &str),
    t: &str,
    r: &Request,
) -> Option<ServerState> {
    let Some(s) = r.server.as_ref().map(|s| s.get_ref()) else {
        return state;
    };
    if s.name.get_ref() != server || s.account.get_ref() != login {
        return state;
    }
    match (r.kind(), state) {
        (RequestKind::ServerGrant, state) => {
            let key = KeyState {
                ticket: t.to_string(),
                key: s.key.as_ref().map(|k| k.get_ref().clone()),
                expires: s.expires.as_ref().map(|e| e.get_ref().to_string()),
                status: "active",
                revoked_by: None,
                holder: Who::applicant(r),
            };
            let mut state = state.unwrap_or_else(|| ServerState {
                server: server.to_string(),
                login: login.to_string(),
                kind: account_kind(*s.account_kind.get_ref()),
                opd: r.applicant.opd.get_ref().clone(),
                keys: Vec::new(),
            });
            state.keys.push(key);
            Some(state)
        }
        (RequestKind::ServerRevoke, Some(mut state)) => {
            let grant = s.grant.as_ref().map(|g| g.get_ref().as_str());
            if let Some(k) = state
                .keys
                .iter_mut()
                .find(|k| Some(k.ticket.as_str()) == grant && k.status == "active")
            {
                k.status = "revoked";
                k.revoked_by = Some(t.to_string());
            }
            Some(state)
        }
        (_, state) => state,
    }
}
