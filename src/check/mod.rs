//! `loket check`: every validation rule, registered in one list ([`RULES`]) under a
//! stable code so rules can be listed, documented and skipped by code.
//!
//! A rule is a plain function over a [`Context`] (the instance, an index built once,
//! today's date and, on a pull request, the base tree) that pushes [`Diagnostic`]s.
//! Rules are independent and run in parallel; output is sorted for stable results.
//!
//! Rules by concern (codes in docs/rules.md): `syntax` L000–L002, `shape` L003–L006,
//! `tickets` L010–L012, `mail` L020–L023, `names` L024, `nip_rules` L030–L032,
//! `references` L040–L042, `conflicts` and `requester` L043–L045, `imports` L046,
//! `server` L050–L055, `config_rules` L060–L069, `base` L070–L074, `base_fields` L075–L078, `letters` L079, `config_rules` again L080–L081
//! (the letter's officials and emblem), `letters` L082, and `config_rules` L090–L091
//! (office hours, reminders). Lookups rules share are built once in [`Index`]; no
//! rule is quadratic.

mod base;
mod base_fields;
mod base_tree;
pub mod config_rules;
mod conflicts;
pub mod fields;
mod imports;
mod index;
mod letters;
pub mod mail;
pub mod names;
mod nip_rules;
mod references;
mod requester;
pub mod revision;
pub mod server;
pub mod shape;
mod syntax;
mod tickets;

use std::collections::{BTreeSet, HashSet};

use jiff::civil::Date;
use rayon::prelude::*;

use crate::diag::{Diagnostic, Severity};
use crate::model::{Config, Instance, Request};
pub use index::Index;

/// A validation rule.
pub struct Rule {
    /// Stable code, e.g. `L024`. Never reused for another meaning.
    pub code: &'static str,
    /// Short kebab-case name, e.g. `mail-unique`.
    pub name: &'static str,
    /// One line for `loket rules`.
    pub summary: &'static str,
    pub run: fn(&Context, &mut Vec<Diagnostic>),
}

/// Every rule, in code order.
pub static RULES: &[Rule] = &[
    syntax::REGULAR_FILE,
    syntax::TOML_SYNTAX,
    syntax::SCHEMA,
    shape::PLACEMENT,
    shape::ACCOUNT_FILE_NAME,
    shape::KIND_FIELDS,
    shape::FIELD_LENGTH,
    fields::RECIPIENT,
    fields::CONTROL_CHARS,
    fields::DATE_KINDS,
    tickets::FILE_NAME,
    tickets::FORMAT,
    tickets::DUPLICATE,
    mail::LOCAL_PART,
    mail::LENGTH,
    mail::DOMAIN,
    mail::RESERVED,
    names::UNIQUE,
    nip_rules::FORMAT,
    nip_rules::REQUIRED,
    nip_rules::ONE_ACCOUNT,
    references::TARGET,
    references::TICKET_EXISTS,
    references::CONSISTENT,
    conflicts::PENDING_CONFLICT,
    requester::WHO_MAY_ASK,
    requester::RESET_RECIPIENT,
    imports::IMPORT_BATCH,
    server::INVENTORY,
    server::EXPIRY,
    server::TERMS,
    server::KEY_PARSE,
    server::KEY_STRENGTH,
    server::KEY_SHARED,
    server::LOGIN,
    config_rules::ROLES,
    config_rules::STEP_IDS,
    config_rules::SOP_KINDS,
    config_rules::PATTERN,
    config_rules::SERVERS,
    config_rules::DOMAINS,
    config_rules::PREFIX,
    config_rules::MAIL_HOST,
    config_rules::DELEGATION_ROLE,
    config_rules::DELEGATION_WINDOW,
    base::REQUEST_EDITED,
    base::REQUEST_DELETED,
    base::ACCOUNT_UNEXPLAINED,
    base::CONFIG_CHANGE,
    base::RECORDS_WRITTEN,
    base_fields::IDENTITY_CHANGED,
    base_fields::RESURRECTED,
    base_fields::HISTORY_REWRITTEN,
    base_fields::CHANGE_NOT_ASKED,
    letters::REGISTER,
    config_rules::OFFICIALS,
    config_rules::EMBLEM,
    letters::CONFIG,
    config_rules::OFFICE_HOURS,
    config_rules::REMINDERS,
];

/// The tree a pull request is compared with (`--base REV`).
pub struct Base {
    pub rev: String,
    pub instance: Instance,
    /// Files under `records/` (from the instance root) that differ between the
    /// base and the working tree: added, edited or deleted.
    pub records_changed: Vec<String>,
}

/// What rules see.
pub struct Context<'a> {
    pub inst: &'a Instance,
    /// `None` when `loket.toml` failed to parse; config-dependent rules then stay quiet
    /// (the parse failure is already reported).
    pub config: Option<&'a Config>,
    pub index: Index<'a>,
    pub today: Date,
    pub base: Option<&'a Base>,
    /// Tickets of the base's requests, when there is a base.
    pub base_tickets: Option<HashSet<&'a str>>,
}

/// Whether a request is still under review: new against the base when there is one;
/// without a base, not yet reflected in any account file.
pub(crate) fn is_pending(cx: &Context, r: &Request) -> bool {
    let t = r.ticket();
    match &cx.base_tickets {
        Some(base) => !base.contains(t),
        None => {
            !cx.index.mail_by_ticket.contains_key(t) && !cx.index.server_by_ticket.contains_key(t)
        }
    }
}

#[derive(Debug, Clone)]
pub struct Options {
    /// The date rules treat as today (expiry, NIP plausibility).
    pub today: Date,
    /// Rule codes not to run.
    pub skip: BTreeSet<String>,
}

/// The outcome of a check run.
#[derive(Debug)]
pub struct Report {
    pub diagnostics: Vec<Diagnostic>,
}

impl Report {
    pub fn errors(&self) -> usize {
        self.diagnostics
            .iter()
            .filter(|d| d.severity == Severity::Error)
            .count()
    }

    pub fn is_clean(&self) -> bool {
        self.errors() == 0
    }
}

/// Looks a rule up by code (case-insensitive) or name.
pub fn rule(code_or_name: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .find(|r| r.code.eq_ignore_ascii_case(code_or_name) || r.name == code_or_name)
}

/// Runs every rule not skipped.
pub fn run(inst: &Instance, base: Option<&Base>, opts: &Options) -> Report {
    let cx = Context {
        inst,
        config: inst.config.as_ref(),
        index: Index::build(inst),
        today: opts.today,
        base,
        base_tickets: base.map(|b| {
            b.instance
                .requests
                .iter()
                .map(|r| r.value.ticket())
                .collect()
        }),
    };
    let mut diagnostics: Vec<Diagnostic> = RULES
        .par_iter()
        .filter(|r| !opts.skip.contains(r.code) && !opts.skip.contains(r.name))
        .flat_map_iter(|r| {
            let mut out = Vec::new();
            (r.run)(&cx, &mut out);
            out
        })
        .collect();
    diagnostics.sort_by(|a, b| {
        let pa = inst.sources.get(a.primary.file).path.as_path();
        let pb = inst.sources.get(b.primary.file).path.as_path();
        (pa, a.primary.span.start, a.code, &a.message).cmp(&(
            pb,
            b.primary.span.start,
            b.code,
            &b.message,
        ))
    });
    diagnostics.dedup();
    Report { diagnostics }
}

/// Reads the instance as it is at git revision `rev` of the repository holding `dir`.
pub fn read_base(dir: &std::path::Path, rev: &str) -> Result<Base, crate::model::LoadError> {
    base_tree::read(dir, rev)
}

#[cfg(test)]
pub(crate) mod testutil;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_well_formed() {
        let mut seen = BTreeSet::new();
        for r in RULES {
            assert!(seen.insert(r.code), "duplicate code {}", r.code);
            assert!(r.code.len() == 4 && r.code.starts_with('L'), "{}", r.code);
            assert!(!r.summary.is_empty());
        }
        let mut sorted: Vec<_> = RULES.iter().map(|r| r.code).collect();
        sorted.sort();
        assert_eq!(sorted, RULES.iter().map(|r| r.code).collect::<Vec<_>>());
    }
}
