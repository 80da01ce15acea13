//! L060–L069: `loket.toml` itself — roles, SOP steps, request kinds, the naming
//! pattern, servers, domains, the ticket prefix, the mail backend's SSH host and the
//! acting officials (`[[delegations]]`); L080–L081 what letters print (officials,
//! emblem); L090–L091 the office's hours, holidays and reminder policy.
//! Each diagnostic points at the key that is wrong.

use std::collections::{HashMap, HashSet};
use std::ops::Range;

use regex::Regex;

use super::{Context, Rule};
use crate::diag::{Diagnostic, Label};
use crate::model::{Config, RequestKind};
pub use delegations::{DELEGATION_ROLE, DELEGATION_WINDOW};
pub use mail_host::MAIL_HOST;
pub use office_time::{OFFICE_HOURS, REMINDERS};
pub use officials::{EMBLEM, OFFICIALS};

pub const ROLES: Rule = Rule {
    code: "L060",
    name: "config-roles",
    summary: "every role a SOP step or approvals.config-change-role names is defined under [roles]",
    run: roles,
};

pub const STEP_IDS: Rule = Rule {
    code: "L061",
    name: "config-step-ids",
    summary: "step ids are unique within a SOP and SOPs have steps",
    run: step_ids,
};

pub const SOP_KINDS: Rule = Rule {
    code: "L062",
    name: "config-sop-kinds",
    summary: "a request kind follows at most one SOP, and every request's kind has one",
    run: sop_kinds,
};

pub const PATTERN: Rule = Rule {
    code: "L063",
    name: "config-pattern",
    summary: "naming.local-part-pattern is a valid regular expression",
    run: pattern,
};

pub const SERVERS: Rule = Rule {
    code: "L064",
    name: "config-servers",
    summary: "server names are unique; each takes an account kind, has max-days from 1 to 3660 and a valid host key",
    run: servers,
};

pub const DOMAINS: Rule = Rule {
    code: "L065",
    name: "config-domains",
    summary: "mail.domains lists at least one valid, lower-case domain name, each once",
    run: domains,
};

pub const PREFIX: Rule = Rule {
    code: "L066",
    name: "config-ticket-prefix",
    summary: "office.ticket-prefix is 2 to 5 capital letters",
    run: prefix,
};

/// The longest `max-days` a server may give: ten years.
pub const MAX_DAYS: u32 = 3660;

/// The config and its file, when both are there.
fn config<'a>(cx: &'a Context) -> Option<(&'a Config, usize)> {
    Some((cx.config?, cx.inst.config_file?))
}

fn err(
    code: &'static str,
    file: usize,
    span: Range<usize>,
    label: &str,
    msg: String,
    hint: impl Into<String>,
) -> Diagnostic {
    Diagnostic::error(code, Label::new(file, span, label), msg).with_hint(hint)
}

/// Where a table header such as `[sops.email]` first starts a line, for keys
/// without spans.
fn header(cx: &Context, file: usize, needle: &str) -> Range<usize> {
    let text = &cx.inst.sources.get(file).text;
    if text.starts_with(needle) {
        return 0..needle.len();
    }
    text.find(&format!("\n{needle}"))
        .map_or(0..0, |i| i + 1..i + 1 + needle.len())
}

fn roles(cx: &Context, out: &mut Vec<Diagnostic>) {
    let Some((c, file)) = config(cx) else { return };
    let known: Vec<&str> = c.roles.keys().map(String::as_str).collect();
    let hint = format!(
        "use one of: {}; or define it under [roles.<id>]",
        known.join(", ")
    );
    for (id, sop) in &c.sops {
        for step in &sop.steps {
            if !c.roles.contains_key(step.role.get_ref()) {
                out.push(err(
                    "L060",
                    file,
                    step.role.span(),
                    "no such role",
                    format!(
                        "step '{}' of SOP '{id}' names the unknown role '{}'",
                        step.id.get_ref(),
                        step.role.get_ref()
                    ),
                    hint.clone(),
                ));
            }
        }
    }
    if let Some(r) = &c.approvals.config_change_role
        && !c.roles.contains_key(r.get_ref())
    {
        out.push(err(
            "L060",
            file,
            r.span(),
            "no such role",
            format!(
                "approvals.config-change-role names the unknown role '{}'",
                r.get_ref()
            ),
            hint,
        ));
    }
}

fn step_ids(cx: &Context, out: &mut Vec<Diagnostic>) {
    let Some((c, file)) = config(cx) else { return };
    for (id, sop) in &c.sops {
        if sop.steps.is_empty() {
            out.push(err(
                "L061",
                file,
                header(cx, file, &format!("[sops.{id}]")),
                "no steps",
                format!("SOP '{id}' has no steps"),
                format!(
                    "add its steps as [[sops.{id}.steps]] tables, as the SOP document lists them"
                ),
            ));
        }
        let mut seen: HashMap<&str, Range<usize>> = HashMap::new();
        for step in &sop.steps {
            if let Some(first) = seen.get(step.id.get_ref().as_str()) {
                out.push(
                    err(
                        "L061",
                        file,
                        step.id.span(),
                        "duplicate step id",
                        format!("SOP '{id}' has two steps with id '{}'", step.id.get_ref()),
                        "give every step of a SOP its own id; records refer to steps by id",
                    )
                    .with_label(Label::new(
                        file,
                        first.clone(),
                        "first used here",
                    )),
                );
            } else {
                seen.insert(step.id.get_ref(), step.id.span());
            }
        }
    }
}

fn sop_kinds(cx: &Context, out: &mut Vec<Diagnostic>) {
    let Some((c, file)) = config(cx) else { return };
    let mut owners: HashMap<RequestKind, Vec<(&str, Range<usize>)>> = HashMap::new();
    for (id, sop) in &c.sops {
        for k in &sop.kinds {
            owners.entry(*k.get_ref()).or_default().push((id, k.span()));
        }
    }
    // An office may not run every SOP (Kebumen has no server SOP): a kind without
    // one is an error only where a request of that kind asks for it.
    for r in &cx.inst.requests {
        let kind = r.value.kind();
        if !owners.contains_key(&kind) {
            out.push(
                err(
                    "L062",
                    r.file,
                    r.value.kind.span(),
                    "no SOP for this kind",
                    format!("no SOP in loket.toml handles {kind} requests"),
                    format!("add \"{kind}\" to the `kinds` of the SOP that covers it, or withdraw the request"),
                )
                .with_label(Label::new(file, header(cx, file, "[sops"), "the SOPs")),
            );
        }
    }
    for (kind, list) in &owners {
        if let [(first, fspan), rest @ ..] = list.as_slice() {
            for (id, span) in rest {
                out.push(
                    err(
                        "L062",
                        file,
                        span.clone(),
                        "second SOP",
                        format!("{kind} requests are claimed by SOPs '{first}' and '{id}'"),
                        "a request kind follows exactly one SOP: remove it from one `kinds` list",
                    )
                    .with_label(Label::new(file, fspan.clone(), "also here")),
                );
            }
        }
    }
}

fn pattern(cx: &Context, out: &mut Vec<Diagnostic>) {
    let Some((c, file)) = config(cx) else { return };
    let p = &c.naming.local_part_pattern;
    if let Err(e) = Regex::new(p.get_ref()) {
        let first = e
            .to_string()
            .lines()
            .last()
            .unwrap_or("invalid")
            .to_string();
        out.push(err(
            "L063",
            file,
            p.span(),
            "does not compile",
            format!("naming.local-part-pattern is not a valid regular expression: {first}"),
            format!(
                "fix the expression; the default is \"{}\"",
                crate::model::config::DEFAULT_LOCAL_PART_PATTERN
            ),
        ));
    }
}

fn servers(cx: &Context, out: &mut Vec<Diagnostic>) {
    let Some((c, file)) = config(cx) else { return };
    let mut seen: HashMap<&str, Range<usize>> = HashMap::new();
    for s in &c.servers {
        let name = s.name.get_ref();
        if let Some(first) = seen.get(name.as_str()) {
            out.push(
                err(
                    "L064",
                    file,
                    s.name.span(),
                    "duplicate server",
                    format!("server '{name}' is listed twice"),
                    "give each server a unique name",
                )
                .with_label(Label::new(file, first.clone(), "first listed here")),
            );
        } else {
            seen.insert(name, s.name.span());
        }
        if s.account_kinds.is_empty() {
            out.push(err(
                "L064",
                file,
                s.name.span(),
                "takes no accounts",
                format!("server '{name}' takes no account kind"),
                "set `account-kinds = [\"opd\"]` (or \"personal\")",
            ));
        }
        let days = *s.max_days.get_ref();
        if !(1..=MAX_DAYS).contains(&days) {
            out.push(err(
                "L064",
                file,
                s.max_days.span(),
                "out of range",
                format!(
                    "server '{name}' allows access for {days} days; max-days is 1 to {MAX_DAYS}"
                ),
                "set `max-days` to the longest access the SOP allows, e.g. 90",
            ));
        }
        if let Some(k) = &s.host_key
            && ssh_key::PublicKey::from_openssh(k.get_ref().trim()).is_err()
        {
            out.push(err(
                "L064",
                file,
                k.span(),
                "not an SSH public key",
                format!("host-key of server '{name}' does not parse"),
                "paste the line from the server's /etc/ssh/ssh_host_ed25519_key.pub",
            ));
        }
    }
}

/// Whether `d` is a domain name of letter-digit-hyphen labels with at least one dot.
pub fn valid_domain(d: &str) -> bool {
    d.len() <= 253
        && d.contains('.')
        && d.split('.').all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        })
}

fn domains(cx: &Context, out: &mut Vec<Diagnostic>) {
    let Some((c, file)) = config(cx) else { return };
    let list = &c.mail.domains;
    if list.get_ref().is_empty() {
        out.push(err(
            "L065",
            file,
            list.span(),
            "empty",
            "mail.domains is empty".into(),
            "list the office's mail domain, e.g. [\"kuduskab.go.id\"]",
        ));
    }
    let mut seen = HashSet::new();
    for d in list.get_ref() {
        if !valid_domain(d.get_ref()) {
            out.push(err(
                "L065",
                file,
                d.span(),
                "not a domain name",
                format!("'{}' is not a valid lower-case domain name", d.get_ref()),
                "write it like \"kuduskab.go.id\": lower-case letters, digits, hyphens, dots",
            ));
        } else if !seen.insert(d.get_ref().as_str()) {
            out.push(err(
                "L065",
                file,
                d.span(),
                "listed twice",
                format!("domain '{}' is listed twice", d.get_ref()),
                "list each domain once",
            ));
        }
    }
}

fn prefix(cx: &Context, out: &mut Vec<Diagnostic>) {
    let Some((c, file)) = config(cx) else { return };
    let p = &c.office.ticket_prefix;
    let ok =
        (2..=5).contains(&p.get_ref().len()) && p.get_ref().bytes().all(|b| b.is_ascii_uppercase());
    if !ok {
        out.push(err(
            "L066",
            file,
            p.span(),
            "not 2–5 capital letters",
            format!(
                "ticket prefix '{}' is not 2 to 5 capital letters",
                p.get_ref()
            ),
            "use a short code of the office, e.g. \"KDS\" for Kudus",
        ));
    }
}

mod delegations;
mod mail_host;
mod office_time;
pub mod officials;
#[cfg(test)]
mod tests;
