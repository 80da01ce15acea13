//! The plan: what `loket apply` would change, as plain data (prints for people,
//! serialises to JSON, snapshots well), and the diff of `accounts/` against the
//! live state that produces it.

use std::collections::HashMap;
use std::fmt;

use jiff::civil::Date;
use serde::Serialize;

use super::backend::LiveState;
use crate::model::account::{KeyStatus, MailAccount, ServerAccount};
use crate::model::request::RequestKind;
use crate::model::time::to_date;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Action {
    Create,
    Disable,
    Enable,
    Reset,
    Grant,
    Revoke,
    Expire,
}

impl Action {
    pub fn as_str(self) -> &'static str {
        match self {
            Action::Create => "create",
            Action::Disable => "disable",
            Action::Enable => "enable",
            Action::Reset => "reset",
            Action::Grant => "grant",
            Action::Revoke => "revoke",
            Action::Expire => "expire",
        }
    }

    /// Whether the change takes access away (counted by the guard).
    pub fn removes_access(self) -> bool {
        matches!(self, Action::Disable | Action::Revoke | Action::Expire)
    }

    /// Whether the change needs a new password.
    pub fn needs_password(self, target: &Target) -> bool {
        match (self, target) {
            (Action::Create, Target::Mail { active, .. }) => *active,
            (Action::Reset, _) => true,
            _ => false,
        }
    }
}

/// What a change is about. Public keys are not secret; nothing here is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Target {
    /// A mail account; `active` is the state it is created in.
    Mail { address: String, active: bool },
    /// A server account (login) on one server.
    ServerAccount { server: String, login: String },
    /// One key on a server account, identified by its grant ticket.
    Key {
        server: String,
        login: String,
        grant: String,
        key: String,
        /// Last day of access.
        expires: String,
    },
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::Mail { address, active } => {
                write!(f, "{address}")?;
                if !active {
                    f.write_str(" (disabled)")?;
                }
                Ok(())
            }
            Target::ServerAccount { server, login } => write!(f, "{login}@{server}"),
            Target::Key {
                server,
                login,
                grant,
                expires,
                ..
            } => write!(f, "{login}@{server} key {grant} until {expires}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedChange {
    /// The backend that carries it out (its [`super::Backend::name`]).
    pub backend: String,
    /// The tickets this change fulfils; each gets the apply/verify events.
    pub tickets: Vec<String>,
    pub action: Action,
    pub target: Target,
}

impl PlannedChange {
    /// Stable identity of the change, for the journal.
    pub fn key(&self) -> String {
        format!("{} {} {}", self.backend, self.action.as_str(), self.target)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Plan {
    pub changes: Vec<PlannedChange>,
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty()
    }

    /// Count of changes per action, in action order.
    pub fn summary(&self) -> Vec<(Action, usize)> {
        let mut counts = std::collections::BTreeMap::new();
        for c in &self.changes {
            *counts.entry(c.action).or_insert(0) += 1;
        }
        counts.into_iter().collect()
    }
}

impl fmt::Display for Plan {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.changes.is_empty() {
            return writeln!(f, "No changes: the live systems match accounts/.");
        }
        let mut backend = "";
        for c in &self.changes {
            if c.backend != backend {
                backend = &c.backend;
                writeln!(f, "{backend}:")?;
            }
            let sign = if c.action.removes_access() { '-' } else { '+' };
            writeln!(
                f,
                "  {sign} {:<8} {}  [{}]",
                c.action.as_str(),
                c.target,
                c.tickets.join(", ")
            )?;
        }
        let parts: Vec<String> = self
            .summary()
            .iter()
            .map(|(a, n)| format!("{n} {}", a.as_str()))
            .collect();
        writeln!(
            f,
            "Plan: {} change{} ({}).",
            self.changes.len(),
            if self.changes.len() == 1 { "" } else { "s" },
            parts.join(", ")
        )
    }
}

/// The desired state the diff reads: accounts plus each ticket's request kind.
pub struct Desired<'a> {
    pub mail: Vec<&'a MailAccount>,
    pub server: Vec<&'a ServerAccount>,
    pub kinds: HashMap<&'a str, RequestKind>,
}

/// Mail changes for `backend` from desired vs live.
pub fn diff_mail(backend: &str, desired: &Desired<'_>, live: &LiveState) -> Vec<PlannedChange> {
    let mut out = Vec::new();
    for acc in &desired.mail {
        let address = acc.address.get_ref().to_lowercase();
        let tickets: Vec<String> = acc.tickets.iter().map(|t| t.get_ref().clone()).collect();
        let kind = |t: &str| desired.kinds.get(t).copied();
        let change = |action, tickets: Vec<String>, active| PlannedChange {
            backend: backend.to_string(),
            tickets,
            action,
            target: Target::Mail {
                address: address.clone(),
                active,
            },
        };
        let Some(l) = live.mail.get(&address) else {
            out.push(change(Action::Create, tickets, acc.is_active()));
            continue;
        };
        let pending: Vec<String> = tickets
            .iter()
            .filter(|t| !l.tickets.contains(*t))
            .cloned()
            .collect();
        let or_last = |v: Vec<String>| {
            if v.is_empty() {
                tickets.last().cloned().into_iter().collect()
            } else {
                v
            }
        };
        match (acc.is_active(), l.active) {
            (false, true) => out.push(change(Action::Disable, or_last(pending), false)),
            (true, false) => out.push(change(Action::Enable, or_last(pending), true)),
            (true, true) => {
                let resets: Vec<String> = pending
                    .iter()
                    .filter(|t| kind(t) == Some(RequestKind::MailReset))
                    .cloned()
                    .collect();
                if !resets.is_empty() {
                    out.push(change(Action::Reset, resets, true));
                }
            }
            (false, false) => {}
        }
    }
    out
}

/// Server changes for `backend`; keys whose last day is before `today` expire.
pub fn diff_server(
    backend: &str,
    desired: &Desired<'_>,
    live: &LiveState,
    today: Date,
) -> Vec<PlannedChange> {
    let mut out = Vec::new();
    for acc in &desired.server {
        let server = acc.server.get_ref().clone();
        let login = acc.login.get_ref().clone();
        let live_acc = live.server.get(&(server.clone(), login.clone()));
        let is_live = |grant: &str| {
            live_acc.is_some_and(|a| a.keys.iter().any(|k| k.ticket.as_deref() == Some(grant)))
        };
        let open = |k: &&crate::model::account::ServerKey| {
            *k.status.get_ref() == KeyStatus::Active
                && to_date(k.expires.get_ref()).is_some_and(|d| d >= today)
        };
        let mut changes = Vec::new();
        if live_acc.is_none() && acc.keys.iter().any(|k| open(&k)) {
            changes.push(PlannedChange {
                backend: backend.to_string(),
                tickets: acc
                    .tickets
                    .first()
                    .map(|t| t.get_ref().clone())
                    .into_iter()
                    .collect(),
                action: Action::Create,
                target: Target::ServerAccount {
                    server: server.clone(),
                    login: login.clone(),
                },
            });
        }
        for k in &acc.keys {
            let grant = k.ticket.get_ref().clone();
            let target = Target::Key {
                server: server.clone(),
                login: login.clone(),
                grant: grant.clone(),
                key: k.key.get_ref().clone(),
                expires: to_date(k.expires.get_ref()).map_or_else(String::new, |d| d.to_string()),
            };
            let (action, tickets) = if open(&k) {
                if is_live(&grant) {
                    continue;
                }
                (Action::Grant, vec![grant])
            } else if is_live(&grant) {
                match (k.status.get_ref(), &k.revoked_by) {
                    (KeyStatus::Revoked, Some(by)) => (Action::Revoke, vec![by.get_ref().clone()]),
                    (KeyStatus::Revoked, None) => (Action::Revoke, vec![grant]),
                    (KeyStatus::Active, _) => (Action::Expire, vec![grant]),
                }
            } else {
                continue;
            };
            changes.push(PlannedChange {
                backend: backend.to_string(),
                tickets,
                action,
                target,
            });
        }
        out.extend(changes);
    }
    out
}
