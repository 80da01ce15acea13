//! `loket verify`: each ticket's accounts as their users would find them. The live
//! state must hold what `accounts/` says (nothing pending for the ticket); with the
//! identity that opens the sealed credentials, a mail login is tried over IMAP and
//! must work for an active account and be refused for a disabled one.

use std::io::Read;
use std::path::Path;

use jiff::civil::Date;
use serde::Serialize;

use super::Secret;
use super::mailcheck;
use super::run::{Slot, plan};
use crate::model::Config;
use crate::model::Instance;
use crate::model::backends::MailBackend;

#[derive(Debug, Clone, Serialize)]
pub struct TicketCheck {
    pub ticket: String,
    pub ok: bool,
    pub detail: String,
}

/// Checks `ticket` (or every ticket in `accounts/`).
pub fn verify(
    inst: &Instance,
    config: &Config,
    slots: &mut [Slot],
    today: Date,
    ticket: Option<&str>,
    identities: &[Box<dyn age::Identity + Send + Sync>],
) -> Vec<TicketCheck> {
    let planned = plan(inst, slots, today);
    let mut tickets: Vec<(String, Option<(String, bool)>)> = Vec::new();
    for a in &inst.mail_accounts {
        let addr = a.value.address.get_ref().to_lowercase();
        for t in &a.value.tickets {
            tickets.push((
                t.get_ref().clone(),
                Some((addr.clone(), a.value.is_active())),
            ));
        }
    }
    for a in &inst.server_accounts {
        for t in &a.value.tickets {
            tickets.push((t.get_ref().clone(), None));
        }
    }
    tickets.retain(|(t, _)| ticket.is_none_or(|want| want == t));
    tickets.sort();
    tickets.dedup_by(|a, b| a.0 == b.0);
    if let Some(want) = ticket
        && tickets.is_empty()
    {
        return vec![TicketCheck {
            ticket: want.into(),
            ok: false,
            detail: "no account in accounts/ names this ticket".into(),
        }];
    }
    let imap = match &config.backends.mail {
        Some(MailBackend::Dovecot(s)) => s.imap.clone(),
        _ => None,
    };
    let outbox = inst.root.join(
        config
            .backends
            .outbox
            .clone()
            .unwrap_or_else(|| format!("{}/outbox", config.backends.state_dir)),
    );
    // An account's credentials are those of its newest ticket with a sealed file.
    let sealed = |t: &str| outbox.join(format!("{t}.age"));
    let newest: std::collections::HashMap<String, String> = inst
        .mail_accounts
        .iter()
        .filter_map(|a| {
            let t = a
                .value
                .tickets
                .iter()
                .rev()
                .find(|t| sealed(t.get_ref()).exists())?;
            Some((
                a.value.address.get_ref().to_lowercase(),
                t.get_ref().clone(),
            ))
        })
        .collect();
    let mut out = Vec::new();
    for (t, mail) in tickets {
        if let Some((name, err)) = planned.unreadable.first() {
            out.push(TicketCheck {
                ticket: t,
                ok: false,
                detail: format!("{name} unreadable: {err}"),
            });
            continue;
        }
        let pending: Vec<String> = planned
            .plan
            .changes
            .iter()
            .filter(|c| c.tickets.contains(&t))
            .map(|c| format!("{} {}", c.action.as_str(), c.target))
            .collect();
        if !pending.is_empty() {
            out.push(TicketCheck {
                ticket: t,
                ok: false,
                detail: format!("not applied yet: {}", pending.join("; ")),
            });
            continue;
        }
        let mut check = TicketCheck {
            ticket: t.clone(),
            ok: true,
            detail: "the live system matches accounts/".into(),
        };
        if let (Some(imap), Some((addr, active)), false) = (&imap, &mail, identities.is_empty())
            && newest.get(addr) == Some(&t)
            && let Some(pw) = open_sealed(&sealed(&t), identities)
        {
            match (mailcheck::imap_login(imap, addr, &pw), active) {
                (Ok(()), true) => check.detail = format!("IMAP login as {addr} works"),
                (Err(_), false) => {
                    check.detail = format!("IMAP login as {addr} refused (disabled)")
                }
                (Err(e), true) => {
                    check.ok = false;
                    check.detail = format!("IMAP login as {addr} failed: {e}");
                }
                (Ok(()), false) => {
                    check.ok = false;
                    check.detail = format!("{addr} is disabled but IMAP login still works");
                }
            }
        }
        out.push(check);
    }
    for c in &mut out {
        super::redact::redact_in_place(&mut c.detail);
    }
    out
}

/// The password from a sealed credentials file, if these identities open it.
pub fn open_sealed(
    path: &Path,
    identities: &[Box<dyn age::Identity + Send + Sync>],
) -> Option<Secret> {
    let bytes = std::fs::read(path).ok()?;
    let dec = age::Decryptor::new(&bytes[..]).ok()?;
    // The whole opened letter holds the password: wiped on drop, like the Secret.
    let mut text = zeroize::Zeroizing::new(String::new());
    dec.decrypt(identities.iter().map(|i| i.as_ref() as &dyn age::Identity))
        .ok()?
        .read_to_string(&mut text)
        .ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix("Kata sandi / Password: "))
        .map(|p| Secret::new(p.trim().to_string()))
}
