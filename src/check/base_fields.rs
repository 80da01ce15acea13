//! L075–L078: with `--base`, every account file changes exactly as the requests the
//! pull request adds ask, field by field. L072 checks that a changed file names a new
//! request; these check that the change is the one that request means:
//!
//! - mail-create: a new account (or a disabled one made anew) whose address and
//!   holder are the request's, active;
//! - mail-reset: the ticket appended, nothing else;
//! - mail-deactivate: `status = "disabled"` and the ticket appended;
//! - server-grant: one new `[[keys]]` entry equal to the request (key, expiry,
//!   holder, active), making the account if there is none;
//! - server-revoke: the named grant's key revoked by the request.
//!
//! The base's parsed account is taken through those requests ([`state`]) and the
//! head compared with the result ([`compare`]); each difference is reported on the
//! head's field under the code for what it is.

mod compare;
mod state;

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::base::{base_paths, hash_base};
use super::{Context, Rule};
use crate::diag::{Diagnostic, FileId, Label};
use crate::model::{MailAccount, Request, ServerAccount, Spanned};
use compare::{Compare, Finding};
use state::{MailState, ServerState};

pub const IDENTITY_CHANGED: Rule = Rule {
    code: "L075",
    name: "account-identity-changed",
    summary: "with --base: no request changes an account's or key's holder (name, NIP, OPD), address, server, login, kind, key or expiry",
    run: identity_changed,
};

pub const RESURRECTED: Rule = Rule {
    code: "L076",
    name: "account-resurrected",
    summary: "with --base: a disabled account or a revoked key comes back only through a new request that creates it",
    run: resurrected,
};

pub const HISTORY_REWRITTEN: Rule = Rule {
    code: "L077",
    name: "account-history-rewritten",
    summary: "with --base: an account's tickets and keys are only appended to, never removed, reordered or re-attributed",
    run: history_rewritten,
};

pub const CHANGE_NOT_ASKED: Rule = Rule {
    code: "L078",
    name: "account-change-not-asked",
    summary: "with --base: an account file changes exactly as the requests the pull request adds ask, and nothing else",
    run: change_not_asked,
};

fn identity_changed(cx: &Context, out: &mut Vec<Diagnostic>) {
    report(
        cx,
        compare::IDENTITY,
        out,
        "restore the field as it is in the base; a different person gets their own account or key through their own request",
    );
}

fn resurrected(cx: &Context, out: &mut Vec<Diagnostic>) {
    report(
        cx,
        compare::RESURRECTED,
        out,
        "restore the field as it is in the base; to give access back, open a new mail-create or server-grant (`loket new`)",
    );
}

fn history_rewritten(cx: &Context, out: &mut Vec<Diagnostic>) {
    report(
        cx,
        compare::HISTORY,
        out,
        "restore what the base lists; add the new request's ticket at the end",
    );
}

fn change_not_asked(cx: &Context, out: &mut Vec<Diagnostic>) {
    report(
        cx,
        compare::NOT_ASKED,
        out,
        "make the account change exactly what the request asks (`loket new` writes it), and nothing else",
    );
}

fn report(cx: &Context, code: &str, out: &mut Vec<Diagnostic>, hint: &str) {
    for f in findings(cx).into_iter().filter(|f| f.code == code) {
        out.push(
            Diagnostic::error(f.code, Label::new(f.file, f.span, f.label), f.message)
                .with_hint(hint),
        );
    }
}

/// What the base holds, by path: a parsed account, or a file that did not parse
/// (then nothing is compared: L001/L002 report the file).
struct BaseAccounts<'a> {
    paths: HashMap<&'a Path, FileId>,
    mail: HashMap<FileId, &'a MailAccount>,
    server: HashMap<FileId, &'a ServerAccount>,
}

fn findings(cx: &Context) -> Vec<Finding> {
    let (Some(b), Some(merged)) = (cx.base, &cx.base_tickets) else {
        return Vec::new();
    };
    hash_base(b);
    let base = BaseAccounts {
        paths: base_paths(b),
        mail: b
            .instance
            .mail_accounts
            .iter()
            .map(|a| (a.file, &a.value))
            .collect(),
        server: b
            .instance
            .server_accounts
            .iter()
            .map(|a| (a.file, &a.value))
            .collect(),
    };
    // A ticket explains a change only as a request this pull request adds.
    let pending = |t: &str| -> Option<&Request> {
        if merged.contains(t) {
            return None;
        }
        let i = *cx.index.requests_by_ticket.get(t)?.first()?;
        Some(&cx.inst.requests[i].value)
    };
    let mut out = Vec::new();
    for a in &cx.inst.mail_accounts {
        let Some(old) = before(cx, &base, a.file, &base.mail) else {
            continue;
        };
        let mut c = Compare {
            file: a.file,
            out: Vec::new(),
        };
        let added = history(
            &mut c,
            &a.value.tickets,
            old.map(|o| &o.tickets[..]),
            a.value.address.span(),
        );
        let old = old.map(MailState::of);
        let address = old.as_ref().map_or_else(
            || a.value.address.get_ref().to_lowercase(),
            |o| o.address.clone(),
        );
        let want = added
            .iter()
            .filter_map(|t| pending(t))
            .fold(old.clone(), |s, r| state::apply_mail(s, &address, r));
        // A new file without its mail-create: L042 and L072 say so.
        if let Some(want) = want {
            c.mail(&a.value, old.as_ref(), &want);
        }
        out.append(&mut c.out);
    }
    for a in &cx.inst.server_accounts {
        let Some(old) = before(cx, &base, a.file, &base.server) else {
            continue;
        };
        let mut c = Compare {
            file: a.file,
            out: Vec::new(),
        };
        let added = history(
            &mut c,
            &a.value.tickets,
            old.map(|o| &o.tickets[..]),
            a.value.login.span(),
        );
        let old = old.map(ServerState::of);
        let (server, login) = old
            .as_ref()
            .map_or((a.value.server.get_ref(), a.value.login.get_ref()), |o| {
                (&o.server, &o.login)
            });
        let want = added.iter().fold(old.clone(), |s, t| match pending(t) {
            Some(r) => state::apply_server(s, (server, login), t, r),
            None => s,
        });
        if let Some(want) = want {
            c.server(&a.value, old.as_ref(), &want);
        }
        out.append(&mut c.out);
    }
    out
}

/// The base's account at the head file's path: `Some(None)` when the file is new,
/// `None` when there is nothing to compare (unchanged, or unparsed in the base).
fn before<'a, T>(
    cx: &Context,
    base: &BaseAccounts<'a>,
    file: FileId,
    parsed: &HashMap<FileId, &'a T>,
) -> Option<Option<&'a T>> {
    let head = cx.inst.sources.get(file);
    let Some(&id) = base.paths.get(head.path.as_path()) else {
        return Some(None);
    };
    let b = cx.base?;
    if b.instance.sources.get(id).same_text(head) {
        return None;
    }
    parsed.get(&id).map(|a| Some(*a))
}

/// Checks that the head's tickets start with the base's, in order (a finding
/// otherwise), and returns the tickets the head adds, each once, in its order.
fn history<'a>(
    c: &mut Compare,
    head: &'a [Spanned<String>],
    base: Option<&[Spanned<String>]>,
    anchor: std::ops::Range<usize>,
) -> Vec<&'a str> {
    let base = base.unwrap_or(&[]);
    let span = match (head.first(), head.last()) {
        (Some(f), Some(l)) => f.span().start..l.span().end,
        _ => anchor,
    };
    let kept = head.len() >= base.len()
        && head
            .iter()
            .zip(base)
            .all(|(h, b)| h.get_ref() == b.get_ref());
    if !kept {
        let listed: HashSet<&str> = head.iter().map(|t| t.get_ref().as_str()).collect();
        let message = match base.iter().find(|t| !listed.contains(t.get_ref().as_str())) {
            Some(gone) => format!(
                "tickets: {} was removed; an account's history is only appended to",
                gone.get_ref()
            ),
            None => {
                "tickets: the base's tickets were reordered; new tickets go at the end".to_string()
            }
        };
        c.push(compare::HISTORY, span, "history rewritten", message);
    }
    let old: HashSet<&str> = base.iter().map(|t| t.get_ref().as_str()).collect();
    let mut seen = HashSet::new();
    head.iter()
        .map(|t| t.get_ref().as_str())
        .filter(|t| !old.contains(t) && seen.insert(*t))
        .collect()
}

#[cfg(test)]
mod tests;
