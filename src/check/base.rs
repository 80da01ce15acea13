//! L070–L073: a pull request compared with its base (`--base REV`). Merged requests
//! are the record of what was asked and never change; every change under accounts/
//! comes with the request that asks for it; a change to loket.toml needs the
//! stricter review of `approvals.config-change-role`.

use std::collections::{HashMap, HashSet};
use std::ops::Range;
use std::path::Path;

use crate::model::Spanned;

use super::{Base, Context, Rule};
use crate::diag::{Diagnostic, FileId, Label, SourceFile};
use crate::model::CONFIG_FILE;

pub const REQUEST_EDITED: Rule = Rule {
    code: "L070",
    name: "merged-request-edited",
    summary: "with --base: a request merged before is not edited",
    run: request_edited,
};

pub const REQUEST_DELETED: Rule = Rule {
    code: "L071",
    name: "merged-request-deleted",
    summary: "with --base: a request merged before is not deleted or moved",
    run: request_deleted,
};

pub const ACCOUNT_UNEXPLAINED: Rule = Rule {
    code: "L072",
    name: "account-change-unexplained",
    summary: "with --base: every change under accounts/ names a request the same change adds",
    run: account_unexplained,
};

pub const CONFIG_CHANGE: Rule = Rule {
    code: "L073",
    name: "config-change",
    summary: "with --base: a change to loket.toml is flagged (warning) for the stricter config-change review",
    run: config_change,
};

pub const RECORDS_WRITTEN: Rule = Rule {
    code: "L074",
    name: "records-written-by-ci",
    summary: "with --base: a pull request adds, edits or deletes nothing under records/ (CI writes the approval trail)",
    run: records_written,
};

/// An `[[imports]]` batch this change adds to loket.toml: it explains the accounts
/// it imports as a request would (L046; docs/import.md).
fn new_import(cx: &Context, b: &Base, ticket: &str) -> bool {
    let has = |c: Option<&crate::model::Config>| {
        c.is_some_and(|c| c.imports.iter().any(|i| i.ticket.get_ref() == ticket))
    };
    has(cx.config) && !has(b.instance.config.as_ref())
}

/// Base files by path.
pub(super) fn base_paths(b: &Base) -> HashMap<&Path, FileId> {
    b.instance
        .sources
        .iter()
        .map(|(id, f)| (f.path.as_path(), id))
        .collect()
}

/// Where a file changed between base and head, if it did. Compares content hashes
/// first: the head's are known without reading files the parse cache skipped.
fn changed(old: &SourceFile, new: &SourceFile) -> Option<Range<usize>> {
    if old.same_text(new) {
        return None;
    }
    first_difference(&old.text, &new.text)
}

/// Hashes every base file on all cores, before rules compare them one by one.
pub(super) fn hash_base(b: &Base) {
    use rayon::prelude::*;
    b.instance.sources.par_iter().for_each(|(_, f)| {
        f.content_hash();
    });
}

/// The head's copy of a base file changed: where the first difference is.
fn first_difference(old: &str, new: &str) -> Option<Range<usize>> {
    if old == new {
        return None;
    }
    let mut i = old
        .bytes()
        .zip(new.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    while !new.is_char_boundary(i) {
        i -= 1;
    }
    // Point at the start of the changed line.
    let start = new[..i].rfind('\n').map_or(0, |n| n + 1);
    let end = new[start..].find('\n').map_or(new.len(), |n| start + n);
    Some(start..end)
}

/// Somewhere in the head to hang a diagnostic about a file the head no longer has.
fn anchor(cx: &Context, ticket: &str) -> Option<(FileId, Range<usize>)> {
    let listed = |tickets: &[Spanned<String>]| {
        tickets
            .iter()
            .find(|t| t.get_ref() == ticket)
            .map(|t| t.span())
    };
    if let Some(&i) = cx.index.mail_by_ticket.get(ticket).and_then(|v| v.first()) {
        let a = &cx.inst.mail_accounts[i];
        return Some((a.file, listed(&a.value.tickets).unwrap_or(0..0)));
    }
    if let Some(&i) = cx
        .index
        .server_by_ticket
        .get(ticket)
        .and_then(|v| v.first())
    {
        let a = &cx.inst.server_accounts[i];
        return Some((a.file, listed(&a.value.tickets).unwrap_or(0..0)));
    }
    cx.inst.config_file.map(|f| (f, 0..0))
}

fn request_edited(cx: &Context, out: &mut Vec<Diagnostic>) {
    let Some(b) = cx.base else { return };
    hash_base(b);
    let base = base_paths(b);
    for (id, f) in cx.inst.sources.iter() {
        if !f.path.starts_with("requests") {
            continue;
        }
        let Some(&bid) = base.get(f.path.as_path()) else {
            continue;
        };
        if let Some(span) = changed(b.instance.sources.get(bid), f) {
            out.push(
                Diagnostic::error(
                    "L070",
                    Label::new(id, span, "changed here"),
                    format!("{} was merged in {} and cannot be edited", f.path.display(), b.rev),
                )
                .with_hint("requests are the record of what was asked: restore the file and open a new request (`loket new`) for the change"),
            );
        }
    }
}

fn request_deleted(cx: &Context, out: &mut Vec<Diagnostic>) {
    let Some(b) = cx.base else { return };
    let head: HashSet<&Path> = cx
        .inst
        .sources
        .iter()
        .map(|(_, f)| f.path.as_path())
        .collect();
    for r in &b.instance.requests {
        let path = b.instance.path(r.file);
        if head.contains(path) {
            continue;
        }
        let ticket = r.value.ticket();
        let moved = cx
            .index
            .requests_by_ticket
            .get(ticket)
            .and_then(|v| v.first());
        let (file, span, what) = match moved {
            Some(&i) => {
                let m = &cx.inst.requests[i];
                (m.file, m.value.ticket.span(), "moved")
            }
            None => match anchor(cx, ticket) {
                Some((f, s)) => (f, s, "deleted"),
                None => continue,
            },
        };
        out.push(
            Diagnostic::error(
                "L071",
                Label::new(file, span, format!("{ticket} was {what}")),
                format!("merged request {} ({ticket}) was {what}", path.display()),
            )
            .with_hint(format!("restore {} as it is in {}", path.display(), b.rev)),
        );
    }
}

fn account_unexplained(cx: &Context, out: &mut Vec<Diagnostic>) {
    let (Some(b), Some(merged)) = (cx.base, &cx.base_tickets) else {
        return;
    };
    hash_base(b);
    let base = base_paths(b);
    // Tickets each base account file listed, by path.
    let mut base_lists: HashMap<&Path, Vec<&str>> = HashMap::new();
    for a in &b.instance.mail_accounts {
        base_lists.insert(
            b.instance.path(a.file),
            a.value
                .tickets
                .iter()
                .map(|t| t.get_ref().as_str())
                .collect(),
        );
    }
    for a in &b.instance.server_accounts {
        base_lists.insert(
            b.instance.path(a.file),
            a.value
                .tickets
                .iter()
                .map(|t| t.get_ref().as_str())
                .collect(),
        );
    }
    let heads = cx
        .inst
        .mail_accounts
        .iter()
        .map(|a| (a.file, &a.value.tickets))
        .chain(
            cx.inst
                .server_accounts
                .iter()
                .map(|a| (a.file, &a.value.tickets)),
        );
    for (file, tickets) in heads {
        let f = cx.inst.sources.get(file);
        let old = base
            .get(f.path.as_path())
            .map(|&id| b.instance.sources.get(id));
        let span = match old {
            None => 0..0,
            Some(old) => match changed(old, f) {
                None => continue,
                Some(span) => span,
            },
        };
        let before = base_lists.get(f.path.as_path());
        let added: Vec<&Spanned<String>> = tickets
            .iter()
            .filter(|t| before.is_none_or(|l| !l.contains(&t.get_ref().as_str())))
            .collect();
        if added.is_empty() {
            out.push(
                Diagnostic::error(
                    "L072",
                    Label::new(file, span, "changed without a new ticket"),
                    format!("{} changed, but no request of this change asks for it", f.path.display()),
                )
                .with_hint("account changes come with their request: make both with `loket new`, or undo this change"),
            );
        }
        for t in added {
            let in_head = cx
                .index
                .requests_by_ticket
                .contains_key(t.get_ref().as_str())
                || new_import(cx, b, t.get_ref());
            if !in_head || merged.contains(t.get_ref().as_str()) {
                out.push(
                    Diagnostic::error(
                        "L072",
                        Label::new(file, t.span(), "not added by this change"),
                        format!("{} is not a request this change adds", t.get_ref()),
                    )
                    .with_hint("list only the ticket of the request this pull request adds"),
                );
            }
        }
    }
    let head: HashSet<&Path> = cx
        .inst
        .sources
        .iter()
        .map(|(_, f)| f.path.as_path())
        .collect();
    for (path, _) in base_lists.iter().filter(|(p, _)| !head.contains(*p)) {
        if let Some(cf) = cx.inst.config_file {
            out.push(
                Diagnostic::error(
                    "L072",
                    Label::new(cf, 0..0, "account file deleted"),
                    format!("{} was deleted; accounts are never deleted", path.display()),
                )
                .with_hint(
                    "restore it; to end an account ask for mail-deactivate or server-revoke",
                ),
            );
        }
    }
}

fn config_change(cx: &Context, out: &mut Vec<Diagnostic>) {
    let (Some(b), Some(file)) = (cx.base, cx.inst.config_file) else {
        return;
    };
    let old = b
        .instance
        .config_file
        .map_or("", |f| b.instance.sources.get(f).text.as_str());
    let Some(span) = first_difference(old, &cx.inst.sources.get(file).text) else {
        return;
    };
    // The base decides who must approve, so a change cannot lower its own bar.
    let role = b
        .instance
        .config
        .as_ref()
        .and_then(|c| c.approvals.config_change_role.as_ref())
        .map(|r| r.get_ref().clone());
    let who = role
        .as_deref()
        .map_or("the office's config-change role".to_string(), |r| {
            format!("the role '{r}'")
        });
    out.push(
        Diagnostic::warning(
            "L073",
            Label::new(file, span, "changed here"),
            format!("{CONFIG_FILE} changes: this pull request needs approval by {who}"),
        )
        .with_hint("reviewers: a config change alters roles, SOP steps or servers; approve only with the stricter review"),
    );
}

fn records_written(cx: &Context, out: &mut Vec<Diagnostic>) {
    let Some(b) = cx.base else { return };
    // Records are not instance sources: the diagnostic points at loket.toml and
    // names the record.
    let Some(file) = cx.inst.config_file else {
        return;
    };
    for path in &b.records_changed {
        out.push(
            Diagnostic::error(
                "L074",
                Label::new(file, 0..0, "the instance whose records/ this is"),
                format!("{path}: changed by this pull request; records/ is written by CI only (the approval trail comes from the forge's reviews)"),
            )
            .with_hint(format!("remove {path} from the pull request (`git checkout {} -- {path}`, or `git rm` it if the base has none)", b.rev)),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::check::testutil::*;

    #[test]
    fn l074_fires_when_a_pull_request_writes_a_record() {
        let mut fx = Fixture::kudus();
        fx.mail_create("budi");
        fx.freeze_base();
        assert!(fx.check().1.is_clean());
        fx.records_changed = vec!["records/KDS-FORGE-D0001.toml".into()];
        let d = fx.assert_fires("L074", "loket.toml", 0);
        assert!(
            d.message.contains("records/KDS-FORGE-D0001.toml"),
            "{}",
            d.message
        );
    }

    #[test]
    fn l070_fires_when_a_merged_request_is_edited() {
        let mut fx = Fixture::kudus();
        let t = fx.mail_create("budi");
        fx.freeze_base();
        let req = format!("requests/{t}.toml");
        fx.edit(&req, |s| {
            s.replace("Pranata Komputer", "Pranata Komputer Ahli")
        });
        fx.assert_fires("L070", &req, 9);
        // new requests in the change are fine
        let mut fx = Fixture::kudus();
        fx.freeze_base();
        fx.mail_create("budi");
        fx.assert_quiet("L070");
    }

    #[test]
    fn l071_fires_when_a_merged_request_is_deleted_or_moved() {
        let mut fx = Fixture::kudus();
        let t = fx.mail_create("budi");
        fx.freeze_base();
        fx.remove(&format!("requests/{t}.toml"));
        let d = fx.assert_fires("L071", "accounts/mail/budi@kuduskab.go.id.toml", 3);
        assert!(d.message.contains(&t));
        let mut fx = Fixture::kudus();
        let t = fx.mail_create("budi");
        fx.freeze_base();
        let text = fx.files.remove(&format!("requests/{t}.toml")).unwrap();
        fx.write(&format!("requests/2026/{t}.toml"), &text);
        fx.assert_fires("L071", &format!("requests/2026/{t}.toml"), 1);
    }

    #[test]
    fn l072_fires_on_account_changes_without_their_request() {
        // edited by hand
        let mut fx = Fixture::kudus();
        fx.mail_create("budi");
        fx.freeze_base();
        fx.edit("accounts/mail/budi@kuduskab.go.id.toml", |s| {
            s.replace("Pegawai 1", "Pegawai Satu")
        });
        fx.assert_fires("L072", "accounts/mail/budi@kuduskab.go.id.toml", 6);
        // a new account naming an old ticket
        let mut fx = Fixture::kudus();
        let t = fx.mail_create("budi");
        fx.freeze_base();
        let text = fx.files["accounts/mail/budi@kuduskab.go.id.toml"].replace("budi@", "budi2@");
        fx.write("accounts/mail/budi2@kuduskab.go.id.toml", &text);
        let d = fx.assert_fires("L072", "accounts/mail/budi2@kuduskab.go.id.toml", 3);
        assert!(d.message.contains(&t));
        // deleted
        let mut fx = Fixture::kudus();
        fx.mail_create("budi");
        fx.freeze_base();
        fx.remove("accounts/mail/budi@kuduskab.go.id.toml");
        fx.assert_fires("L072", "loket.toml", 1);
    }

    #[test]
    fn l072_quiet_when_the_change_adds_the_request() {
        let mut fx = Fixture::kudus();
        fx.mail_create("budi");
        let g = fx.server_grant("app-1", "opd-dinkes", KEY_ED1);
        fx.freeze_base();
        fx.mail_create("siti");
        fx.mail_change("mail-reset", "budi");
        fx.server_revoke("app-1", "opd-dinkes", &g);
        fx.assert_clean();
    }

    #[test]
    fn l073_warns_on_config_change_naming_the_role() {
        let mut fx = Fixture::kudus();
        fx.freeze_base();
        fx.edit("loket.toml", |s| {
            s.replace("max-days = 90", "max-days = 120")
        });
        let text = &fx.files["loket.toml"];
        let line = 1 + text[..text.find("max-days = 120").unwrap()]
            .matches('\n')
            .count();
        let d = fx.assert_fires("L073", "loket.toml", line);
        assert_eq!(d.severity, crate::diag::Severity::Warning);
        assert!(d.message.contains("kepala-dinas"));
        fx.assert_clean();
    }
}
