//! L010–L012: ticket numbers on requests.

use std::path::Path;

use super::{Context, Rule};
use crate::diag::{Diagnostic, Label};
use crate::ticket::Ticket;

pub const FILE_NAME: Rule = Rule {
    code: "L010",
    name: "ticket-file-name",
    summary: "a request file is named after its ticket: requests/<ticket>.toml",
    run: file_name,
};

pub const FORMAT: Rule = Rule {
    code: "L011",
    name: "ticket-format",
    summary: "the ticket has the office prefix, valid symbols and a matching check symbol",
    run: format,
};

pub const DUPLICATE: Rule = Rule {
    code: "L012",
    name: "ticket-duplicate",
    summary: "no two requests share a ticket",
    run: duplicate,
};

fn file_name(cx: &Context, out: &mut Vec<Diagnostic>) {
    for r in &cx.inst.requests {
        let path = cx.inst.path(r.file);
        let expected = format!("{}.toml", r.value.ticket());
        if path.file_name() != Some(expected.as_ref())
            || path.parent() != Some(Path::new("requests"))
        {
            out.push(
                Diagnostic::error(
                    "L010",
                    Label::new(r.file, r.value.ticket.span(), "the ticket"),
                    format!("request file {} does not match its ticket", path.display()),
                )
                .with_hint(format!("rename the file to requests/{expected}")),
            );
        }
    }
}

fn format(cx: &Context, out: &mut Vec<Diagnostic>) {
    let prefix = cx.config.map(|c| c.office.ticket_prefix.get_ref().as_str());
    for r in &cx.inst.requests {
        let written = r.value.ticket();
        match Ticket::parse(written, prefix) {
            Ok(t) if t.to_string() != written => out.push(
                Diagnostic::error(
                    "L011",
                    Label::new(r.file, r.value.ticket.span(), "not in canonical form"),
                    format!("ticket '{written}' is not written in canonical form"),
                )
                .with_hint(format!("write it as \"{t}\"")),
            ),
            Ok(_) => {}
            Err(e) => out.push(
                Diagnostic::error(
                    "L011",
                    Label::new(r.file, r.value.ticket.span(), e.to_string()),
                    format!("ticket '{written}' is not a valid ticket number"),
                )
                .with_hint("make a new ticket with `loket new`; never type one by hand"),
            ),
        }
    }
}

fn duplicate(cx: &Context, out: &mut Vec<Diagnostic>) {
    for ids in cx.index.requests_by_ticket.values().filter(|v| v.len() > 1) {
        let first = &cx.inst.requests[ids[0]];
        for &i in &ids[1..] {
            let r = &cx.inst.requests[i];
            out.push(
                Diagnostic::error(
                    "L012",
                    Label::new(r.file, r.value.ticket.span(), "duplicate ticket"),
                    format!("ticket {} is used by two requests", r.value.ticket()),
                )
                .with_label(Label::new(
                    first.file,
                    first.value.ticket.span(),
                    "first used here",
                ))
                .with_hint("give this request a new ticket with `loket new`"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::check::testutil::*;

    #[test]
    fn l010_fires_when_file_name_differs() {
        let mut fx = Fixture::kudus();
        let t = fx.mail_create("budi");
        let text = fx.files.remove(&format!("requests/{t}.toml")).unwrap();
        fx.write("requests/budi.toml", &text);
        fx.assert_fires("L010", "requests/budi.toml", 1);
    }

    #[test]
    fn l011_fires_on_typo_and_wrong_prefix() {
        let mut fx = Fixture::kudus();
        let t = fx.mail_create("budi");
        let path = format!("requests/{t}.toml");
        // swap two adjacent symbols of the body, in file name and content alike
        let mut c: Vec<char> = t.chars().collect();
        c.swap(4, 5);
        let typo: String = c.into_iter().collect();
        if typo != t {
            let text = fx.files.remove(&path).unwrap().replace(&t, &typo);
            fx.write(&format!("requests/{typo}.toml"), &text);
            fx.assert_fires("L011", &format!("requests/{typo}.toml"), 1);
        }
        let mut fx = Fixture::kudus();
        let t = fx.mail_create("budi");
        let other = t.replacen("KDS", "PLK", 1);
        let text = fx
            .files
            .remove(&format!("requests/{t}.toml"))
            .unwrap()
            .replace(&t, &other);
        fx.write(&format!("requests/{other}.toml"), &text);
        let d = fx.assert_fires("L011", &format!("requests/{other}.toml"), 1);
        assert!(d.primary.message.contains("prefix"));
    }

    #[test]
    fn l012_fires_on_duplicate_ticket() {
        let mut fx = Fixture::kudus();
        let t = fx.mail_create("budi");
        let text = fx.files[&format!("requests/{t}.toml")].clone();
        fx.write(
            &format!("requests/old/{t}.toml"),
            &text.replace("budi@", "budi2@"),
        );
        fx.assert_fires("L012", &format!("requests/old/{t}.toml"), 1);
    }
}
