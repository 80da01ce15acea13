//! L046: accounts `loket import` brought in stand on an `[[imports]]` batch in
//! loket.toml instead of a request. The batch's ticket is valid under the office's
//! format and no request's; the accounts naming it (first, and flagged `imported`)
//! are exactly the ones its count and digest fingerprint, so any account added,
//! dropped or swapped under it needs a loket.toml change, which only a config-change
//! review approves (docs/import.md).

use std::collections::{HashMap, HashSet};

use super::{Context, Rule};
use crate::diag::{Diagnostic, Label};
use crate::model::config::ImportBatch;
use crate::model::{Loaded, Spanned};
use crate::ticket::Ticket;

pub const IMPORT_BATCH: Rule = Rule {
    code: "L046",
    name: "import-batch",
    summary: "an imported account names an [[imports]] ticket first; each batch's ticket is valid and its count and digest match the accounts that name it",
    run: import_batch,
};

const HINT: &str = "imported accounts change only with their batch: re-run `loket import` \
                    (docs/import.md) or undo the edit";

/// One account as the rule sees it: file, first ticket, flag and digest key.
struct Member<'a> {
    file: usize,
    first: Option<&'a Spanned<String>>,
    imported: Option<&'a Spanned<String>>,
    key: String,
}

fn members<'a>(cx: &'a Context) -> Vec<Member<'a>> {
    let mail = cx
        .inst
        .mail_accounts
        .iter()
        .map(|Loaded { file, value: a }| Member {
            file: *file,
            first: a.tickets.first(),
            imported: a.imported.as_ref(),
            key: ImportBatch::mail_key(a.address.get_ref()),
        });
    let server = cx
        .inst
        .server_accounts
        .iter()
        .map(|Loaded { file, value: a }| Member {
            file: *file,
            first: a.tickets.first(),
            imported: a.imported.as_ref(),
            key: ImportBatch::server_key(a.server.get_ref(), a.login.get_ref()),
        });
    mail.chain(server).collect()
}

fn import_batch(cx: &Context, out: &mut Vec<Diagnostic>) {
    let (Some(c), Some(cf)) = (cx.config, cx.inst.config_file) else {
        return;
    };
    let prefix = c.office.ticket_prefix.get_ref().as_str();
    let batches: HashSet<&str> = c
        .imports
        .iter()
        .map(|b| b.ticket.get_ref().as_str())
        .collect();
    let mut keys: HashMap<&str, Vec<String>> = HashMap::new();
    for m in members(cx) {
        let first = m.first.map(|t| t.get_ref().as_str());
        match (first.filter(|t| batches.contains(t)), m.imported) {
            (Some(t), Some(_)) => keys.entry(t).or_default().push(m.key),
            (Some(_), None) => out.push(member_error(
                m.file,
                m.first.map_or(0..0, Spanned::span),
                "names an import ticket but has no `imported = \"…\"`",
            )),
            (None, Some(flag)) => out.push(member_error(
                m.file,
                flag.span(),
                "is flagged imported, but its first ticket is no [[imports]] batch in loket.toml",
            )),
            (None, None) => {}
        }
    }
    let mut seen = HashSet::new();
    for b in &c.imports {
        let t = b.ticket.get_ref();
        let bad = |span, label: &str, msg: String| {
            Diagnostic::error("L046", Label::new(cf, span, label), msg).with_hint(HINT)
        };
        match Ticket::parse(t, Some(prefix)) {
            Ok(p) if p.to_string() == *t => {}
            _ => out.push(bad(
                b.ticket.span(),
                "not a ticket",
                format!("import ticket '{t}' is not a valid {prefix} ticket"),
            )),
        }
        if !seen.insert(t.as_str()) || cx.index.requests_by_ticket.contains_key(t.as_str()) {
            out.push(bad(
                b.ticket.span(),
                "used twice",
                format!("import ticket '{t}' is another batch's or a request's ticket"),
            ));
        }
        let got = keys.remove(t.as_str()).unwrap_or_default();
        if got.len() as u64 != *b.accounts.get_ref() {
            out.push(bad(
                b.accounts.span(),
                "count differs",
                format!(
                    "batch {t} lists {} account(s), but {} account file(s) name it",
                    b.accounts.get_ref(),
                    got.len()
                ),
            ));
        } else if ImportBatch::digest_of(got) != *b.digest.get_ref() {
            out.push(bad(
                b.digest.span(),
                "digest differs",
                format!("the accounts naming batch {t} are not the ones it imported"),
            ));
        }
    }
}

fn member_error(file: usize, span: std::ops::Range<usize>, what: &str) -> Diagnostic {
    Diagnostic::error(
        "L046",
        Label::new(file, span, "import flag"),
        format!("the account {what}"),
    )
    .with_hint(HINT)
}

#[cfg(test)]
mod tests {
    use crate::check::testutil::{Fixture, line_of};
    use crate::model::config::ImportBatch;

    const LAMA: &str = "accounts/mail/lama@kuduskab.go.id.toml";

    /// Kudus with one import batch of `count` accounts fingerprinted by `keys`, and
    /// `lama@` imported under it.
    fn fixture(keys: Vec<String>, count: usize) -> (Fixture, String) {
        let mut fx = Fixture::kudus();
        let t = crate::ticket::Ticket::generate("KDS").to_string();
        fx.edit("loket.toml", |c| {
            format!(
                "{c}\n[[imports]]\nticket = \"{t}\"\nsource = \"dovecot passwd-file users\"\n\
                 date = \"2026-12-03\"\naccounts = {count}\ndigest = \"{}\"\n",
                ImportBatch::digest_of(keys)
            )
        });
        fx.write(
            LAMA,
            &format!(
                "address = \"lama@kuduskab.go.id\"\nstatus = \"active\"\ntickets = [\"{t}\"]\n\
                 imported = \"dovecot\"\n\n[holder]\nname = \"lama\"\nopd = \"Dinas Kesehatan\"\n"
            ),
        );
        (fx, t)
    }

    fn key() -> Vec<String> {
        vec![ImportBatch::mail_key("lama@kuduskab.go.id")]
    }

    #[test]
    fn a_matching_batch_is_quiet() {
        let (fx, _) = fixture(key(), 1);
        fx.assert_quiet("L046");
        fx.assert_quiet("L041");
        fx.assert_quiet("L042");
    }

    #[test]
    fn an_account_slipped_under_a_batch_fires() {
        let (mut fx, _) = fixture(key(), 1);
        let text = fx.files[LAMA].replace("lama", "baru");
        fx.write("accounts/mail/baru@kuduskab.go.id.toml", &text);
        let c = fx.files["loket.toml"].clone();
        fx.assert_fires("L046", "loket.toml", line_of(&c, "accounts = 1"));
        // Swapped: same count, another account.
        fx.remove(LAMA);
        fx.assert_fires("L046", "loket.toml", line_of(&c, "digest = "));
    }

    #[test]
    fn flag_and_ticket_go_together() {
        let (mut fx, _) = fixture(key(), 1);
        fx.edit(LAMA, |t| t.replace("imported = \"dovecot\"\n", ""));
        fx.assert_fires("L046", LAMA, 3);
        let (mut fx, t) = fixture(Vec::new(), 0);
        let other = crate::ticket::Ticket::generate("KDS").to_string();
        fx.edit(LAMA, |s| {
            s.replace(&format!("[\"{t}\"]"), &format!("[\"{other}\"]"))
        });
        fx.assert_fires("L046", LAMA, 4);
    }

    #[test]
    fn a_foreign_ticket_fires() {
        let (mut fx, t) = fixture(key(), 1);
        let bad = crate::ticket::Ticket::generate("LMJ").to_string();
        fx.edit("loket.toml", |c| c.replace(&t, &bad));
        fx.edit(LAMA, |s| s.replace(&t, &bad));
        let c = fx.files["loket.toml"].clone();
        fx.assert_fires("L046", "loket.toml", line_of(&c, &bad));
    }
}
