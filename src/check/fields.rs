//! L007–L009: fields are what they claim to be. A recipient is a public key (and a
//! pasted secret key is treated as leaked), text holds no control characters, and a
//! date is a date while an instant is a date with a time.

use toml::value::Datetime;

use super::{Context, Rule};
use crate::apply::credentials;
use crate::diag::{Diagnostic, FileId, Label};
use crate::model::Spanned;

pub const RECIPIENT: Rule = Rule {
    code: "L007",
    name: "recipient-key",
    summary: "a recipient (and backends.admin-recipient) is one age or SSH public key; a pasted secret key is refused as compromised",
    run: recipient,
};

pub const CONTROL_CHARS: Rule = Rule {
    code: "L008",
    name: "control-characters",
    summary: "names and free text hold no control or bidirectional-override characters (NUL, line breaks, U+202E…)",
    run: control_chars,
};

pub const DATE_KINDS: Rule = Rule {
    code: "L009",
    name: "date-kinds",
    summary: "the letter date is a plain date; `submitted` is a date with a time",
    run: date_kinds,
};

/// Every free-text field of requests and accounts, with its name.
pub fn text_fields<'a>(
    cx: &'a Context,
) -> impl Iterator<Item = (FileId, &'static str, &'a Spanned<String>)> + 'a {
    let requests = cx.inst.requests.iter().flat_map(|r| {
        let (a, l, f) = (&r.value.applicant, &r.value.letter, r.file);
        let server = r.value.server.as_ref().map(Spanned::get_ref);
        [
            Some(("name", &a.name)),
            Some(("contact", &a.contact)),
            Some(("position", &a.position)),
            Some(("opd", &a.opd)),
            Some(("number", &l.number)),
            Some(("signatory", &l.signatory)),
            server
                .and_then(|s| s.purpose.as_ref())
                .map(|p| ("purpose", p)),
        ]
        .into_iter()
        .flatten()
        .map(move |(n, v)| (f, n, v))
    });
    let mail = cx.inst.mail_accounts.iter().flat_map(|a| {
        [("name", &a.value.holder.name), ("opd", &a.value.holder.opd)].map(|(n, v)| (a.file, n, v))
    });
    let server = cx.inst.server_accounts.iter().flat_map(|a| {
        std::iter::once((a.file, "opd", &a.value.opd)).chain(
            a.value
                .keys
                .iter()
                .map(move |k| (a.file, "name", &k.holder.name)),
        )
    });
    requests.chain(mail).chain(server)
}

/// Why `text` is not an age or SSH public key.
pub fn recipient_problem(text: &str) -> Option<String> {
    let t = text.trim();
    if t.starts_with("AGE-SECRET-KEY-") || t.contains("PRIVATE KEY") {
        return Some(
            "this is a SECRET key, not a public one: it is now in the repository and must be \
             considered compromised. Make a new key pair and give only its public half"
                .into(),
        );
    }
    if t.contains(['\n', '\r']) {
        return Some("a recipient is one line: one public key".into());
    }
    credentials::recipient(t).err().map(|e| e.to_string())
}

fn recipient(cx: &Context, out: &mut Vec<Diagnostic>) {
    let mut check = |file: FileId, field: &str, v: &Spanned<String>| {
        if let Some(why) = recipient_problem(v.get_ref()) {
            out.push(
                Diagnostic::error(
                    "L007",
                    Label::new(file, v.span(), "not a public key"),
                    format!("`{field}`: {why}"),
                )
                .with_hint("give an age public key (`age1…`) or an SSH public key line (`ssh-ed25519 AAAA…`)"),
            );
        }
    };
    for r in &cx.inst.requests {
        if let Some(v) = &r.value.applicant.recipient {
            check(r.file, "recipient", v);
        }
    }
    // The admin key is read unspanned; a problem with it is L002's or apply's.
}

/// The first character that has no place in text: a C0/C1 control (a line break is
/// allowed only in `purpose`) or a bidirectional override, which can make a name read
/// differently on the site and in letters than it is stored.
fn bad_char(field: &str, text: &str) -> Option<(usize, char)> {
    text.char_indices().find(|&(_, c)| {
        (c.is_control() && !(field == "purpose" && c == '\n'))
            || matches!(c, '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
    })
}

fn control_chars(cx: &Context, out: &mut Vec<Diagnostic>) {
    for (file, field, v) in text_fields(cx) {
        let Some((i, c)) = bad_char(field, v.get_ref()) else {
            continue;
        };
        // The span is of the TOML value (with quotes and escapes): point at its start.
        let at = v.span().start;
        out.push(
            Diagnostic::error(
                "L008",
                Label::new(file, at..at, format!("U+{:04X}", c as u32)),
                format!(
                    "`{field}` holds the control character U+{:04X} at character {}",
                    c as u32,
                    v.get_ref()[..i].chars().count() + 1
                ),
            )
            .with_hint("retype the text as it is on the letter or form, on one line"),
        );
    }
}

fn date_kinds(cx: &Context, out: &mut Vec<Diagnostic>) {
    let mut check = |file: FileId, field: &str, v: &Spanned<Datetime>, instant: bool| {
        let d = v.get_ref();
        let ok = if instant {
            d.date.is_some() && d.time.is_some()
        } else {
            d.date.is_some() && d.time.is_none() && d.offset.is_none()
        };
        if !ok {
            let (want, example) = if instant {
                ("a date with a time", "2026-11-20T08:00:00+07:00")
            } else {
                ("a date without a time", "2026-11-20")
            };
            out.push(
                Diagnostic::error(
                    "L009",
                    Label::new(file, v.span(), format!("not {want}")),
                    format!("`{field}` is {d}, not {want}"),
                )
                .with_hint(format!("write `{field} = {example}`")),
            );
        }
    };
    // `expires` has its own rule (L051), which also judges its range.
    for r in &cx.inst.requests {
        check(r.file, "submitted", &r.value.submitted, true);
        check(r.file, "date", &r.value.letter.date, false);
    }
}

#[cfg(test)]
mod tests;
