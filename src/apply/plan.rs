//! The plan: what `loket apply` would change, as plain data (prints for people,
//! serialises to JSON, snapshots well), and the diff of `accounts/` against the
//! live state that produces it.

use std::fmt;

use jiff::civil::Date;
use serde::{Deserialize, Serialize};

use super::backend::LiveState;
use crate::model::account::{KeyStatus, MailAccount, ServerAccount};
use crate::model::request::RequestKind;

pub use super::kinds::Kinds;
use crate::model::time::to_date;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
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
    /// Applied by an earlier run but not verified and recorded (verification failed,
    /// run killed, records not writable): the next apply redoes a password change as
    /// a reset and verifies anything else again
    /// ([`super::unverified`]). Listed by `loket plan` only.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub retries: Vec<PlannedChange>,
}

impl Plan {
    /// Nothing to change and nothing to retry.
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.retries.is_empty()
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
        self.fmt_changes(f)?;
        if self.retries.is_empty() {
            return Ok(());
        }
        writeln!(
            f,
            "Retried (applied by an earlier run, not yet verified and recorded):"
        )?;
        for c in &self.retries {
            writeln!(
                f,
                "  ~ {:<8} {}  [{}]  on {}",
                c.action.as_str(),
                c.target,
                c.tickets.join(", "),
                c.backend
            )?;
        }
        writeln!(
            f,
            "{} retr{} at the next apply.",
            self.retries.len(),
            if self.retries.len() == 1 { "y" } else { "ies" }
        )
    }
}

impl Plan {
    fn fmt_changes(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
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
    pub kinds: Kinds<'a>,
}

/// Mail changes for `backend` from desired vs live.
pub fn diff_mail(backend: &str, desired: &Desired<'_>, live: &LiveState) -> Vec<PlannedChange> {
    let mut out = Vec::new();
    for acc in &desired.mail {
        let address = acc.address.get_ref().to_lowercase();
        let tickets: Vec<String> = acc.tickets.iter().map(|t| t.get_ref().clone()).collect();
        let kind = |t: &str| desired.kinds.get(t);
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
        // By ticket and key: one import batch ticket covers several keys.
        let is_live = |grant: &str, key: &str| live_acc.is_some_and(|a| a.holds_key(grant, key));
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
            let live_key = is_live(&grant, k.key.get_ref());
            let (action, tickets) = if open(&k) {
                if live_key {
                    continue;
                }
                (Action::Grant, vec![grant])
            } else if live_key {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::{LiveKey, LiveMail, LiveServerAccount};
    use std::collections::HashMap;

    fn mail(address: &str, status: &str, tickets: &[&str]) -> MailAccount {
        let t: Vec<String> = tickets.iter().map(|t| format!("\"{t}\"")).collect();
        toml::from_str(&format!(
            "address = \"{address}\"\nstatus = \"{status}\"\ntickets = [{}]\n\
             [holder]\nname = \"X\"\nopd = \"Dinas\"\n",
            t.join(", ")
        ))
        .unwrap()
    }

    fn live_mail(active: bool, tickets: &[&str]) -> LiveMail {
        LiveMail {
            active,
            tickets: tickets.iter().map(|t| t.to_string()).collect(),
        }
    }

    const SERVER: &str = r#"
server = "app-1"
login = "opd-dinkes"
kind = "opd"
opd = "Dinas Kesehatan"
tickets = ["G1", "G2", "R2", "G3", "G4"]

[[keys]]
ticket = "G1"
key = "ssh-ed25519 AAAA1 a@laptop"
expires = 2027-01-31
status = "active"
holder = { name = "A", opd = "Dinas Kesehatan" }

[[keys]]
ticket = "G2"
key = "ssh-ed25519 AAAA2 b@laptop"
expires = 2027-01-31
status = "revoked"
revoked-by = "R2"
holder = { name = "B", opd = "Dinas Kesehatan" }

[[keys]]
ticket = "G3"
key = "ssh-ed25519 AAAA3 c@laptop"
expires = 2026-11-30
status = "active"
holder = { name = "C", opd = "Dinas Kesehatan" }

[[keys]]
ticket = "G4"
key = "ssh-ed25519 AAAA4 d@laptop"
expires = 2026-12-01
status = "active"
holder = { name = "D", opd = "Dinas Kesehatan" }
"#;

    #[test]
    fn diff_snapshot_human_and_json() {
        let accounts = [
            mail("new@x.go.id", "active", &["C1"]),
            mail("reset@x.go.id", "active", &["C2", "S2"]),
            mail("gone@x.go.id", "disabled", &["C3", "D3"]),
            mail("same@x.go.id", "active", &["C4", "S4"]),
            mail("retired@x.go.id", "disabled", &["C5", "D5"]),
        ];
        let server: ServerAccount = toml::from_str(SERVER).unwrap();
        let kinds = HashMap::from([
            ("C1", RequestKind::MailCreate),
            ("C2", RequestKind::MailCreate),
            ("S2", RequestKind::MailReset),
            ("C3", RequestKind::MailCreate),
            ("D3", RequestKind::MailDeactivate),
            ("C4", RequestKind::MailCreate),
            ("S4", RequestKind::MailReset),
        ]);
        let desired = Desired {
            mail: accounts.iter().collect(),
            server: vec![&server],
            kinds: Kinds::Known(kinds),
        };
        let mut live = LiveState::default();
        live.mail
            .insert("reset@x.go.id".into(), live_mail(true, &["C2"]));
        live.mail
            .insert("gone@x.go.id".into(), live_mail(true, &["C3"]));
        live.mail
            .insert("same@x.go.id".into(), live_mail(true, &["C4", "S4"]));
        live.mail
            .insert("unknown@x.go.id".into(), live_mail(true, &[]));
        let key = |t: &str, k: &str| LiveKey {
            ticket: Some(t.into()),
            key: k.into(),
            expires: None,
        };
        live.server.insert(
            ("app-1".into(), "opd-dinkes".into()),
            LiveServerAccount {
                locked: false,
                keys: vec![
                    key("G2", "ssh-ed25519 AAAA2"),
                    key("G3", "ssh-ed25519 AAAA3"),
                ],
            },
        );
        let today = jiff::civil::date(2026, 12, 1);
        let mut plan = Plan {
            changes: diff_mail("dovecot", &desired, &live),
            ..Plan::default()
        };
        plan.changes
            .extend(diff_server("keydir", &desired, &live, today));
        assert_eq!(
            plan.to_string(),
            "dovecot:\n\
             \x20 + create   new@x.go.id  [C1]\n\
             \x20 + reset    reset@x.go.id  [S2]\n\
             \x20 - disable  gone@x.go.id (disabled)  [D3]\n\
             \x20 + create   retired@x.go.id (disabled)  [C5, D5]\n\
             keydir:\n\
             \x20 + grant    opd-dinkes@app-1 key G1 until 2027-01-31  [G1]\n\
             \x20 - revoke   opd-dinkes@app-1 key G2 until 2027-01-31  [R2]\n\
             \x20 - expire   opd-dinkes@app-1 key G3 until 2026-11-30  [G3]\n\
             \x20 + grant    opd-dinkes@app-1 key G4 until 2026-12-01  [G4]\n\
             Plan: 8 changes (2 create, 1 disable, 1 reset, 2 grant, 1 revoke, 1 expire).\n"
        );
        let json = serde_json::to_value(&plan).unwrap();
        assert_eq!(
            json["changes"][1],
            serde_json::json!({
                "backend": "dovecot", "tickets": ["S2"], "action": "reset",
                "target": {"kind": "mail", "address": "reset@x.go.id", "active": true}
            })
        );
        assert_eq!(json["changes"][6]["target"]["kind"], "key");
        assert_eq!(json["changes"][6]["target"]["expires"], "2026-11-30");
        // Nothing to do once live matches.
        assert!(
            diff_mail("dovecot", &desired, &live)
                .iter()
                .all(|c| !c.target.to_string().starts_with("same@"))
        );
    }

    #[test]
    fn passwords_only_for_active_creates_and_resets() {
        let m = |active| Target::Mail {
            address: "a@b".into(),
            active,
        };
        assert!(Action::Create.needs_password(&m(true)));
        assert!(!Action::Create.needs_password(&m(false)));
        assert!(Action::Reset.needs_password(&m(true)));
        assert!(!Action::Disable.needs_password(&m(false)));
    }
}
