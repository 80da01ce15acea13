//! `loket audit`: drift between the live systems and `accounts/` (the server SOP's
//! "controlled and monitored"): accounts nobody asked for, keys not in the registry,
//! and revoked or expired access still open.

use std::collections::{HashMap, HashSet};

use jiff::civil::Date;
use serde::Serialize;

use super::run::{Slot, plan};
use crate::model::Instance;

/// Drift between live systems and `accounts/`: unknown accounts, unregistered keys
/// and access that should be closed.
#[derive(Debug, Default, Serialize)]
pub struct Drift {
    pub unknown_mail: Vec<String>,
    pub unknown_server_accounts: Vec<String>,
    pub unregistered_keys: Vec<String>,
    /// Revoked or expired access still open (pending revoke/expire changes).
    pub open_access: Vec<String>,
    pub unreadable: Vec<(String, String)>,
}

impl Drift {
    pub fn is_empty(&self) -> bool {
        self.unknown_mail.is_empty()
            && self.unknown_server_accounts.is_empty()
            && self.unregistered_keys.is_empty()
            && self.open_access.is_empty()
            && self.unreadable.is_empty()
    }
}

pub fn audit(inst: &Instance, slots: &mut [Slot], today: Date) -> Drift {
    let planned = plan(inst, slots, today);
    let known_mail: HashSet<String> = inst
        .mail_accounts
        .iter()
        .map(|a| a.value.address.get_ref().to_lowercase())
        .collect();
    let mut known_keys: HashMap<(String, String), HashSet<String>> = HashMap::new();
    for a in &inst.server_accounts {
        known_keys.insert(
            (
                a.value.server.get_ref().clone(),
                a.value.login.get_ref().clone(),
            ),
            a.value
                .keys
                .iter()
                .map(|k| k.ticket.get_ref().clone())
                .collect(),
        );
    }
    let mut d = Drift {
        unreadable: planned.unreadable,
        ..Default::default()
    };
    for live in &planned.live {
        for addr in live.mail.keys() {
            if !known_mail.contains(addr) {
                d.unknown_mail.push(addr.clone());
            }
        }
        for ((server, login), acc) in &live.server {
            let Some(known) = known_keys.get(&(server.clone(), login.clone())) else {
                d.unknown_server_accounts.push(format!("{login}@{server}"));
                continue;
            };
            for k in &acc.keys {
                if !k.ticket.as_ref().is_some_and(|t| known.contains(t)) {
                    let short: String = k.key.chars().take(40).collect();
                    d.unregistered_keys
                        .push(format!("{login}@{server}: {short}…"));
                }
            }
        }
    }
    d.open_access = planned
        .plan
        .changes
        .iter()
        .filter(|c| c.action.removes_access())
        .map(|c| format!("{} {}", c.action.as_str(), c.target))
        .collect();
    d
}
