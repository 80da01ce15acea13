//! L020–L023: the shape of a new mail address — local-part syntax, length, domain,
//! reserved names. Checked where an address is made: `mail-create` requests and the
//! account files under `accounts/mail/`.

use std::collections::HashSet;

use crate::check::names::collision_key;
use crate::model::Spanned;
use crate::model::config::Naming;
use regex::Regex;

use super::{Context, Rule};
use crate::diag::{Diagnostic, Label, Severity};
use crate::model::RequestKind;

pub const LOCAL_PART: Rule = Rule {
    code: "L020",
    name: "mail-local-part",
    summary: "the local part is RFC 5321 ASCII and matches naming.local-part-pattern",
    run: local_part,
};

pub const LENGTH: Rule = Rule {
    code: "L021",
    name: "mail-length",
    summary: "the local part has at most 64 characters (RFC 5321)",
    run: length,
};

pub const DOMAIN: Rule = Rule {
    code: "L022",
    name: "mail-domain",
    summary: "the address is in one of the office's mail.domains",
    run: domain,
};

pub const RESERVED: Rule = Rule {
    code: "L023",
    name: "mail-reserved",
    summary: "the local part is not a reserved name (postmaster, abuse, … or naming.reserved)",
    run: reserved,
};

/// RFC 5321 §4.5.3.1.1.
pub const MAX_LOCAL_PART: usize = 64;

/// Names no person may take: role addresses RFC 2142 asks for and the usual
/// system and service names. Offices add their own in `naming.reserved`.
pub const RESERVED_NAMES: &[&str] = &[
    "abuse",
    "admin",
    "administrator",
    "billing",
    "daemon",
    "devnull",
    "dmarc",
    "ftp",
    "help",
    "hostmaster",
    "imap",
    "info",
    "mail",
    "mailer-daemon",
    "marketing",
    "news",
    "nobody",
    "noc",
    "noreply",
    "no-reply",
    "null",
    "pop",
    "postmaster",
    "root",
    "sales",
    "security",
    "smtp",
    "support",
    "sysadmin",
    "system",
    "uucp",
    "usenet",
    "webmaster",
    "www",
];

/// An address as written, with where it was written.
pub(crate) struct Written<'a> {
    pub file: usize,
    pub addr: &'a Spanned<String>,
}

/// Every address an instance creates: `mail-create` requests and account files.
pub(crate) fn created<'a>(cx: &'a Context) -> impl Iterator<Item = Written<'a>> + 'a {
    let requests = cx.inst.requests.iter().filter_map(|r| {
        (r.value.kind() == RequestKind::MailCreate)
            .then(|| r.value.mail_address())
            .flatten()
            .map(|addr| Written { file: r.file, addr })
    });
    let accounts = cx.inst.mail_accounts.iter().map(|a| Written {
        file: a.file,
        addr: &a.value.address,
    });
    requests.chain(accounts)
}

/// Splits at the last `@`.
pub fn split(addr: &str) -> Option<(&str, &str)> {
    addr.rsplit_once('@')
}

/// Why a local part is not an RFC 5321 dot-string of ASCII atoms, if it is not.
pub fn rfc5321_problem(local: &str) -> Option<String> {
    if local.is_empty() {
        return Some("the local part is empty".into());
    }
    if let Some(c) = local.chars().find(|c| !c.is_ascii()) {
        return Some(format!(
            "contains the non-ASCII character '{c}' (U+{:04X})",
            u32::from(c)
        ));
    }
    const SPECIALS: &str = "!#$%&'*+-/=?^_`{|}~";
    if let Some(c) = local
        .chars()
        .find(|&c| !(c.is_ascii_alphanumeric() || c == '.' || SPECIALS.contains(c)))
    {
        return Some(format!(
            "contains '{}', not allowed in an address",
            c.escape_debug()
        ));
    }
    if local.starts_with('.') || local.ends_with('.') || local.contains("..") {
        return Some("a dot may not start or end the local part or follow another dot".into());
    }
    None
}

fn diag(code: &'static str, w: &Written, label: impl Into<String>, message: String) -> Diagnostic {
    Diagnostic {
        code,
        severity: Severity::Error,
        message,
        primary: Label::new(w.file, w.addr.span(), label),
        secondary: Vec::new(),
        hint: None,
    }
}

fn local_part(cx: &Context, out: &mut Vec<Diagnostic>) {
    let pattern = cx.config.and_then(|c| {
        Regex::new(c.naming.local_part_pattern.get_ref())
            .ok()
            .map(|re| (re, c.naming.local_part_pattern.get_ref().clone()))
    });
    for w in created(cx) {
        let addr = w.addr.get_ref();
        let Some((local, _)) = split(addr) else {
            out.push(
                diag(
                    "L020",
                    &w,
                    "no '@'",
                    format!("'{addr}' is not a mail address"),
                )
                .with_hint("write the full address, e.g. \"budi.santoso@kuduskab.go.id\""),
            );
            continue;
        };
        if let Some(problem) = rfc5321_problem(local) {
            out.push(
                diag(
                    "L020",
                    &w,
                    problem.clone(),
                    format!("local part '{local}': {problem}"),
                )
                .with_hint("use lower-case ASCII letters and digits, separated by '.', '-' or '_'"),
            );
        } else if let Some((re, src)) = &pattern
            && !re.is_match(local)
        {
            out.push(
                diag(
                    "L020",
                    &w,
                    "does not match the office pattern",
                    format!("local part '{local}' does not match naming.local-part-pattern {src}"),
                )
                .with_hint("use lower-case letters and digits, e.g. \"budi.santoso\"; see [naming] in loket.toml"),
            );
        }
    }
}

fn length(cx: &Context, out: &mut Vec<Diagnostic>) {
    for w in created(cx) {
        let Some((local, _)) = split(w.addr.get_ref()) else {
            continue;
        };
        let n = local.chars().count();
        if n > MAX_LOCAL_PART {
            out.push(
                diag(
                    "L021",
                    &w,
                    format!("{n} characters"),
                    format!("local part has {n} characters; at most {MAX_LOCAL_PART} are allowed"),
                )
                .with_hint("choose a shorter name, e.g. first name and family name only"),
            );
        }
    }
}

fn domain(cx: &Context, out: &mut Vec<Diagnostic>) {
    let Some(config) = cx.config else { return };
    let domains: Vec<String> = config
        .mail
        .domains
        .get_ref()
        .iter()
        .map(|d| d.get_ref().to_ascii_lowercase())
        .collect();
    for w in created(cx) {
        let Some((_, dom)) = split(w.addr.get_ref()) else {
            continue;
        };
        if !domains.iter().any(|d| *d == dom) {
            let mut d = diag(
                "L022",
                &w,
                "not an office domain",
                format!("'{dom}' is not one of the office's mail domains"),
            )
            .with_hint(format!("use @{}", domains.join(" or @")));
            if let Some(f) = cx.inst.config_file {
                d = d.with_label(Label::new(
                    f,
                    config.mail.domains.span(),
                    "the office's domains",
                ));
            }
            out.push(d);
        }
    }
}

/// The collision keys of every reserved name (built-in and `naming.reserved`): a
/// local part is reserved when its key is among them, so `Post.Master` or
/// `p0stmaster` are as reserved as `postmaster`. `loket new` uses the same set.
pub fn reserved_keys(naming: &Naming) -> HashSet<String> {
    RESERVED_NAMES
        .iter()
        .copied()
        .chain(naming.reserved.iter().map(|r| r.get_ref().as_str()))
        .map(|r| collision_key(r, naming))
        .collect()
}

fn reserved(cx: &Context, out: &mut Vec<Diagnostic>) {
    let naming = cx.config.map(|c| c.naming.clone()).unwrap_or_default();
    let keys = reserved_keys(&naming);
    for w in created(cx) {
        let Some((local, _)) = split(w.addr.get_ref()) else {
            continue;
        };
        if keys.contains(&collision_key(local, &naming)) {
            out.push(
                diag(
                    "L023",
                    &w,
                    "reserved name",
                    format!("'{local}' is a reserved name (or looks like one) and cannot be a person's address"),
                )
                .with_hint("use the applicant's own name, e.g. \"budi.santoso\"; role mailboxes are set up by the office"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::check::testutil::*;

    fn addr_fx(local: &str) -> (Fixture, String) {
        let mut fx = Fixture::kudus();
        let t = fx.mail_create(local);
        (fx, format!("requests/{t}.toml"))
    }

    #[test]
    fn l020_fires_on_bad_syntax_and_pattern() {
        for bad in [
            "budi..santoso",
            "budi santoso",
            "Budi.Santoso",
            "büdi",
            "-budi",
            "budi+x",
        ] {
            let (fx, req) = addr_fx(bad);
            fx.assert_fires("L020", &req, 18);
        }
        let mut fx = Fixture::kudus();
        let t = fx.mail_create("budi");
        let req = format!("requests/{t}.toml");
        fx.edit(&req, |s| {
            s.replace("budi@kuduskab.go.id", "budi.kuduskab.go.id")
        });
        fx.assert_fires("L020", &req, 18);
    }

    #[test]
    fn l020_quiet_on_good_names() {
        for good in ["budi.santoso", "siti_aminah", "eko-wibowo2", "a1"] {
            let (fx, _) = addr_fx(good);
            fx.assert_quiet("L020");
        }
    }

    #[test]
    fn l021_fires_past_64_characters() {
        let (fx, req) = addr_fx(&"a".repeat(65));
        fx.assert_fires("L021", &req, 18);
        fx.assert_fires(
            "L021",
            &format!("accounts/mail/{}@kuduskab.go.id.toml", "a".repeat(65)),
            1,
        );
        let (fx, _) = addr_fx(&"a".repeat(64));
        fx.assert_quiet("L021");
    }

    #[test]
    fn l022_fires_on_foreign_domain() {
        let mut fx = Fixture::kudus();
        let t = fx.mail_create("budi");
        let req = format!("requests/{t}.toml");
        fx.edit(&req, |s| s.replace("@kuduskab.go.id", "@gmail.com"));
        let d = fx.assert_fires("L022", &req, 18);
        assert_eq!(d.secondary.len(), 1, "points at mail.domains too");
    }

    #[test]
    fn l023_fires_on_builtin_and_configured_reserved_names() {
        for bad in ["postmaster", "admin", "no-reply", "bupati", "PPID"] {
            let mut fx = Fixture::kudus();
            let t = fx.mail_create("x");
            let req = format!("requests/{t}.toml");
            fx.edit(&req, |s| s.replace("x@", &format!("{bad}@")));
            fx.assert_fires("L023", &req, 18);
        }
        let (fx, _) = addr_fx("budi.santoso");
        fx.assert_quiet("L023");
    }

    #[test]
    fn l023_folds_like_loket_new() {
        // Look-alikes of reserved names: a digit for a letter, Cyrillic letters, case.
        let naming = crate::model::config::Naming::default();
        let names = crate::new::suggest::Names::new([], &naming);
        for (local, reserved) in [
            ("p0stmaster", true),
            ("\u{0440}\u{043e}stmaster", true),
            ("ADMIN", true),
            ("budi.santoso", false),
        ] {
            let (fx, req) = addr_fx(local);
            if reserved {
                fx.assert_fires("L023", &req, 18);
            } else {
                fx.assert_quiet("L023");
            }
            let by_new = names.check(local, "kuduskab.go.id");
            assert_eq!(
                matches!(by_new, Err(crate::new::suggest::Unavailable::Reserved)),
                reserved,
                "{local}: new and check disagree"
            );
        }
    }
}
