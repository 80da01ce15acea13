//! L044–L045: who may ask for a change to an existing account, and where a reset's
//! new password goes. A reset, deactivation or revocation comes from the holder, or
//! from a position the office names for asking on someone's behalf (with a reason);
//! a reset's credentials go only to the key registered when the account was made (or
//! the admin's), never to a key whoever asks supplies.

use super::{Context, Rule, is_pending};
use crate::diag::{Diagnostic, Label};
use crate::model::account::Holder;
use crate::model::{Loaded, MailAccount, Request, RequestKind};

pub const WHO_MAY_ASK: Rule = Rule {
    code: "L044",
    name: "who-may-ask",
    summary: "a reset, deactivation or revocation comes from the holder, or from a position [requests] on-behalf-positions names, with on-behalf-reason",
    run: who_may_ask,
};

pub const RESET_RECIPIENT: Rule = Rule {
    code: "L045",
    name: "reset-recipient",
    summary: "a mail reset names no recipient other than the one registered when the account was made",
    run: reset_recipient,
};

fn mail_account<'a>(cx: &'a Context, r: &Request) -> Option<&'a Loaded<MailAccount>> {
    let addr = r.mail_address()?.get_ref().to_lowercase();
    let i = *cx.index.mail_by_address.get(addr.as_str())?.first()?;
    Some(&cx.inst.mail_accounts[i])
}

/// The holder of what `r` acts on: the mail account's, or the revoked key's.
fn holder<'a>(cx: &'a Context, r: &Request) -> Option<&'a Holder> {
    match r.kind() {
        RequestKind::MailReset | RequestKind::MailDeactivate => {
            Some(&mail_account(cx, r)?.value.holder)
        }
        RequestKind::ServerRevoke => {
            let s = r.server.as_ref()?.get_ref();
            let grant = s.grant.as_ref()?.get_ref();
            let key = (s.name.get_ref().as_str(), s.account.get_ref().as_str());
            let i = *cx.index.server_by_login.get(&key)?.first()?;
            let acc = &cx.inst.server_accounts[i].value;
            acc.keys
                .iter()
                .find(|k| k.ticket.get_ref() == grant)
                .map(|k| &k.holder)
        }
        _ => None,
    }
}

/// Whether the applicant is the holder: same NIP, or (where either has none) the
/// same name.
fn is_holder(r: &Request, h: &Holder) -> bool {
    let a = &r.applicant;
    match (&a.nip, &h.nip) {
        (Some(x), Some(y)) => x.get_ref().trim() == y.get_ref().trim(),
        _ => a.name.get_ref().trim().to_lowercase() == h.name.get_ref().trim().to_lowercase(),
    }
}

fn who_may_ask(cx: &Context, out: &mut Vec<Diagnostic>) {
    let Some(config) = cx.config else { return };
    let policy = &config.requests;
    for r in cx.inst.requests.iter().filter(|r| is_pending(cx, &r.value)) {
        let Some(h) = holder(cx, &r.value) else {
            continue; // no target: L040
        };
        if is_holder(&r.value, h) {
            continue;
        }
        let a = &r.value.applicant;
        let reason = a
            .on_behalf_reason
            .as_ref()
            .filter(|s| !s.get_ref().trim().is_empty());
        let why = if policy.on_behalf_positions.is_empty() {
            "this office lets only the holder ask ([requests] on-behalf-positions is empty)"
                .to_string()
        } else if !policy.may_ask_for_others(a.position.get_ref()) {
            let names: Vec<&str> = policy
                .on_behalf_positions
                .iter()
                .map(|p| p.get_ref().as_str())
                .collect();
            format!(
                "position {:?} may not ask on someone's behalf (positions that may: {})",
                a.position.get_ref(),
                names.join(", ")
            )
        } else if reason.is_none() {
            "asking on someone's behalf needs `on-behalf-reason`".to_string()
        } else {
            continue;
        };
        out.push(
            Diagnostic::error(
                "L044",
                Label::new(r.file, a.name.span(), "not the holder"),
                format!(
                    "{} ({}) is for {}'s account, asked by someone else: {why}",
                    r.value.ticket(),
                    r.value.kind(),
                    h.name.get_ref()
                ),
            )
            .with_hint("the holder asks themselves, or their head of agency asks with `on-behalf-reason` (as the office's SOP allows)"),
        );
    }
}

/// The recipient of the request that made the account: the registered one.
fn registered<'a>(cx: &'a Context, acc: &MailAccount) -> Option<&'a str> {
    acc.tickets.iter().find_map(|t| {
        let i = *cx
            .index
            .requests_by_ticket
            .get(t.get_ref().as_str())?
            .first()?;
        let req = &cx.inst.requests[i].value;
        (req.kind() == RequestKind::MailCreate)
            .then(|| req.applicant.recipient.as_ref().map(|r| r.get_ref().trim()))?
    })
}

fn reset_recipient(cx: &Context, out: &mut Vec<Diagnostic>) {
    for r in cx
        .inst
        .requests
        .iter()
        .filter(|r| r.value.kind() == RequestKind::MailReset && is_pending(cx, &r.value))
    {
        let Some(given) = &r.value.applicant.recipient else {
            continue;
        };
        let Some(acc) = mail_account(cx, &r.value) else {
            continue; // L040
        };
        if registered(cx, &acc.value) == Some(given.get_ref().trim()) {
            continue;
        }
        out.push(
            Diagnostic::error(
                "L045",
                Label::new(r.file, given.span(), "not the registered key"),
                "a reset's new password goes to the key registered when the account was made, or to the admin key; it never goes to a key given with the reset",
            )
            .with_hint("leave `recipient` out: the password is sealed to the registered key, or to the admin's, who hands it over in person"),
        );
    }
}

#[cfg(test)]
mod tests;
