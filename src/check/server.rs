//! L050–L055: server access. The server is in the inventory and takes the account
//! kind; a grant has an expiry within the server's maximum and accepted terms; SSH
//! keys parse, are strong, and are never shared between two people.
//!
//! Key policy: Ed25519 (also as a FIDO `sk-ssh-ed25519` key) or RSA of at least 3072
//! bits. DSA (broken, 1024-bit), RSA below 3072 bits (under NIST's 128-bit level) and
//! ECDSA (NIST curves, fragile signing nonces; Ed25519 covers the same need) are
//! refused, so one policy holds across every server the office runs.

use std::collections::{HashMap, HashSet};

use crate::model::Spanned;
use ssh_key::public::KeyData;

use super::{Context, Rule};
use crate::diag::{Diagnostic, Label};
use crate::model::config::ServerAccountKind;
use crate::model::time::to_date;
use crate::model::{Holder, Instance, Request, RequestKind};

pub const INVENTORY: Rule = Rule {
    code: "L050",
    name: "server-inventory",
    summary: "the server is in loket.toml's inventory and takes this kind of account",
    run: inventory,
};

pub const EXPIRY: Rule = Rule {
    code: "L051",
    name: "server-expiry",
    summary: "a server grant has an expiry date, in the future and within the server's max-days",
    run: expiry,
};

pub const TERMS: Rule = Rule {
    code: "L052",
    name: "server-terms",
    summary: "the applicant accepted the server access terms (accept-terms = true)",
    run: terms,
};

pub const KEY_PARSE: Rule = Rule {
    code: "L053",
    name: "ssh-key-parse",
    summary: "the SSH public key is present and parses (OpenSSH one-line format)",
    run: key_parse,
};

pub const KEY_STRENGTH: Rule = Rule {
    code: "L054",
    name: "ssh-key-strength",
    summary: "the SSH key is Ed25519 or RSA of at least 3072 bits (DSA, ECDSA, short RSA refused)",
    run: key_strength,
};

pub const KEY_SHARED: Rule = Rule {
    code: "L055",
    name: "ssh-key-shared",
    summary: "one SSH key is never held by two different people",
    run: key_shared,
};

pub const LOGIN: Rule = Rule {
    code: "L056",
    name: "server-login",
    summary: "a server login is lower-case letters, digits and '-', starts with a letter, at most 32 characters, and is no system or reserved account",
    run: login,
};

pub const MIN_RSA_BITS: usize = 3072;

fn grants<'a>(cx: &'a Context) -> impl Iterator<Item = (usize, &'a Request)> + 'a {
    grants_of(cx.inst)
}

fn grants_of(inst: &Instance) -> impl Iterator<Item = (usize, &Request)> {
    inst.requests
        .iter()
        .filter(|r| r.value.kind() == RequestKind::ServerGrant)
        .map(|r| (r.file, &r.value))
}

/// Every SSH key written: (file, key, person) from grant requests and server accounts.
fn all_keys<'a>(
    cx: &'a Context,
) -> impl Iterator<Item = (usize, &'a Spanned<String>, Person)> + 'a {
    keys_of(cx.inst)
}

fn keys_of(inst: &Instance) -> impl Iterator<Item = (usize, &Spanned<String>, Person)> {
    let requests = grants_of(inst).filter_map(|(file, r)| {
        let key = r.server.as_ref()?.get_ref().key.as_ref()?;
        let a = &r.applicant;
        Some((file, key, Person::of(&a.name, a.nip.as_ref())))
    });
    let accounts = inst.server_accounts.iter().flat_map(|a| {
        a.value
            .keys
            .iter()
            .map(move |k| (a.file, &k.key, Person::holder(&k.holder)))
    });
    requests.chain(accounts)
}

/// Who holds a key: the NIP when there is one, else the name.
#[derive(Clone, PartialEq, Eq)]
struct Person {
    id: String,
    name: String,
}

impl Person {
    fn of(name: &Spanned<String>, nip: Option<&Spanned<String>>) -> Self {
        let id = match nip {
            Some(n) => n.get_ref().chars().filter(|c| !c.is_whitespace()).collect(),
            None => name.get_ref().trim().to_lowercase(),
        };
        Person {
            id,
            name: name.get_ref().clone(),
        }
    }

    fn holder(h: &Holder) -> Self {
        Self::of(&h.name, h.nip.as_ref())
    }
}

fn login(cx: &Context, out: &mut Vec<Diagnostic>) {
    let reserved = |server: &str| {
        cx.config
            .and_then(|c| c.server(server))
            .map_or(&[][..], |s| s.reserved_logins.as_slice())
    };
    let mut check = |file, server: &str, login: &Spanned<String>| {
        if let Some(why) = crate::model::login::problem(login.get_ref(), reserved(server)) {
            out.push(
                Diagnostic::error(
                    "L056",
                    Label::new(file, login.span(), "not a usable login"),
                    format!("login {:?}: {why}", login.get_ref()),
                )
                .with_hint(
                    "name the OPD's account like `opd-dinkes`: lower-case letters, digits and '-'",
                ),
            );
        }
    };
    for r in &cx.inst.requests {
        if let Some(s) = &r.value.server {
            let s = s.get_ref();
            check(r.file, s.name.get_ref(), &s.account);
        }
    }
    for a in &cx.inst.server_accounts {
        check(a.file, a.value.server.get_ref(), &a.value.login);
    }
}

fn inventory(cx: &Context, out: &mut Vec<Diagnostic>) {
    let Some(config) = cx.config else { return };
    let names: Vec<&str> = config
        .servers
        .iter()
        .map(|s| s.name.get_ref().as_str())
        .collect();
    let unknown = |file, name: &Spanned<String>| {
        Diagnostic::error(
            "L050",
            Label::new(file, name.span(), "not in the inventory"),
            format!("server '{}' is not in the inventory", name.get_ref()),
        )
        .with_hint(format!(
            "use one of: {} (or add it under [[servers]] in loket.toml)",
            names.join(", ")
        ))
    };
    let kinds_check = |file, name: &Spanned<String>, kind: &Spanned<ServerAccountKind>| {
        let server = config.server(name.get_ref())?;
        // A defaulted kind has no place in the file: point at the server instead.
        let span = if kind.span().is_empty() {
            name.span()
        } else {
            kind.span()
        };
        let name = name.get_ref();
        (!server
            .account_kinds
            .iter()
            .any(|k| k.get_ref() == kind.get_ref()))
        .then(|| {
            Diagnostic::error(
                "L050",
                Label::new(file, span, "not taken by this server"),
                format!(
                    "server '{name}' does not take {:?} accounts",
                    kind.get_ref()
                )
                .to_lowercase(),
            )
            .with_hint("use an account kind the server lists in its account-kinds")
        })
    };
    for r in &cx.inst.requests {
        if r.value.kind().is_mail() {
            continue;
        }
        let Some(s) = &r.value.server else { continue };
        let s = s.get_ref();
        if config.server(s.name.get_ref()).is_none() {
            out.push(unknown(r.file, &s.name));
        } else if r.value.kind() == RequestKind::ServerGrant
            && let Some(d) = kinds_check(r.file, &s.name, &s.account_kind)
        {
            out.push(d);
        }
    }
    for a in &cx.inst.server_accounts {
        let v = &a.value;
        if config.server(v.server.get_ref()).is_none() {
            out.push(unknown(a.file, &v.server));
        } else if let Some(d) = kinds_check(a.file, &v.server, &v.kind) {
            out.push(d);
        }
    }
}

fn expiry(cx: &Context, out: &mut Vec<Diagnostic>) {
    let Some(config) = cx.config else { return };
    for (file, r) in grants(cx) {
        let Some(s) = &r.server else { continue };
        let Some(exp) = &s.get_ref().expires else {
            out.push(
                Diagnostic::error(
                    "L051",
                    Label::new(file, s.span(), "no `expires`"),
                    "a server grant must say when access ends",
                )
                .with_hint("add `expires = YYYY-MM-DD` under [server]"),
            );
            continue;
        };
        let Some(date) = to_date(exp.get_ref()) else {
            out.push(
                Diagnostic::error(
                    "L051",
                    Label::new(file, exp.span(), "not a date"),
                    "expiry is not a date",
                )
                .with_hint("write a date: `expires = 2027-01-31`"),
            );
            continue;
        };
        let Some(server) = config.server(s.get_ref().name.get_ref()) else {
            continue; // L050
        };
        // A request under review is held to today and the server's current maximum; a
        // merged one only to its own submission date, so history stays valid once its
        // dates pass or the office shortens max-days.
        let pending = super::is_pending(cx, r);
        let (from, what) = if pending {
            (cx.today, "today")
        } else {
            match to_date(r.submitted.get_ref()) {
                Some(d) => (d, "the submission date"),
                None => continue,
            }
        };
        let max = *server.max_days.get_ref();
        // A max-days past any date (L064 reports it) sets no limit here.
        let limit = jiff::Span::new()
            .try_days(i64::from(max))
            .and_then(|span| from.checked_add(span))
            .unwrap_or(jiff::civil::Date::MAX);
        if date <= from {
            out.push(
                Diagnostic::error(
                    "L051",
                    Label::new(file, exp.span(), format!("not after {what} ({from})")),
                    format!("access would end on {date}, which is not after {what}"),
                )
                .with_hint(format!(
                    "choose an expiry after {from}, at most {max} days later"
                )),
            );
        } else if pending && date > limit {
            out.push(
                Diagnostic::error(
                    "L051",
                    Label::new(file, exp.span(), format!("more than {max} days after {what}")),
                    format!(
                        "access until {date} exceeds server '{}''s maximum of {max} days (latest {limit})",
                        server.name.get_ref()
                    ),
                )
                .with_hint(format!("set `expires` on or before {limit}; ask again later to extend")),
            );
        }
    }
}

fn terms(cx: &Context, out: &mut Vec<Diagnostic>) {
    for (file, r) in grants(cx) {
        let Some(s) = &r.server else { continue };
        match &s.get_ref().accept_terms {
            Some(t) if *t.get_ref() => {}
            other => {
                let span = other.as_ref().map_or(s.span(), |t| t.span());
                out.push(
                    Diagnostic::error(
                        "L052",
                        Label::new(file, span, "terms not accepted"),
                        "the applicant has not accepted the server access terms",
                    )
                    .with_hint("the SOP requires agreeing to the access terms: `accept-terms = true` under [server]"),
                );
            }
        }
    }
}

/// Parses an OpenSSH one-line public key.
pub fn parse_key(s: &str) -> Result<KeyData, String> {
    let s = s.trim();
    if s.contains(|c: char| c.is_control()) {
        return Err("one line only: a line break or control character is in the key".into());
    }
    // The comment is free text, so `<key A> <key B>` parses as key A: refuse a
    // second key (or its base64 body) hiding in the comment.
    let second = s.split_whitespace().skip(2).any(|w| {
        w.starts_with("ssh-")
            || w.starts_with("ecdsa-")
            || w.starts_with("sk-")
            || (w.starts_with("AAAA") && w.len() > 40)
    });
    if second {
        return Err("more than one key on the line: give exactly one public key".into());
    }
    ssh_key::PublicKey::from_openssh(s)
        .map(|k| k.key_data().clone())
        .map_err(|e| e.to_string())
}

/// Why a key is too weak for the office's policy, if it is.
pub fn weakness(key: &KeyData) -> Option<String> {
    match key {
        KeyData::Ed25519(_) | KeyData::SkEd25519(_) => None,
        KeyData::Rsa(rsa) => {
            let n = rsa.n.as_positive_bytes().unwrap_or(&[]);
            let bits = n
                .iter()
                .position(|b| *b != 0)
                .map_or(0, |i| (n.len() - i) * 8 - n[i].leading_zeros() as usize);
            (bits < MIN_RSA_BITS)
                .then(|| format!("RSA key of {bits} bits; at least {MIN_RSA_BITS} are required"))
        }
        KeyData::Dsa(_) => Some("DSA keys are broken and refused".into()),
        other => Some(format!("{} keys are not accepted", other.algorithm())),
    }
}

fn key_parse(cx: &Context, out: &mut Vec<Diagnostic>) {
    for (file, r) in grants(cx) {
        if let Some(s) = &r.server
            && s.get_ref().key.is_none()
        {
            out.push(
                Diagnostic::error("L053", Label::new(file, s.span(), "no `key`"), "a server grant needs the applicant's SSH public key")
                    .with_hint("add `key = \"ssh-ed25519 AAAA… name@host\"` (the contents of ~/.ssh/id_ed25519.pub)"),
            );
        }
    }
    for (file, key, _) in all_keys(cx) {
        if let Err(e) = parse_key(key.get_ref()) {
            out.push(
                Diagnostic::error("L053", Label::new(file, key.span(), e), "the SSH public key does not parse")
                    .with_hint("paste the whole single line of the .pub file, e.g. \"ssh-ed25519 AAAAC3… budi@laptop\"; never the private key"),
            );
        }
    }
}

fn key_strength(cx: &Context, out: &mut Vec<Diagnostic>) {
    for (file, key, _) in all_keys(cx) {
        if let Ok(k) = parse_key(key.get_ref())
            && let Some(why) = weakness(&k)
        {
            out.push(
                Diagnostic::error(
                    "L054",
                    Label::new(file, key.span(), why.clone()),
                    format!("weak SSH key: {why}"),
                )
                .with_hint("make a new key with `ssh-keygen -t ed25519` and send its .pub line"),
            );
        }
    }
}

/// The key material: the base64 blob, without algorithm prefix or comment.
fn material(key: &str) -> Option<&str> {
    key.split_whitespace().nth(1)
}

/// (file, key, holder) of one written key.
type Held<'a> = (usize, &'a Spanned<String>, Person);

/// Whether a written key was held by its person before this change: with a base,
/// the base has the same key material for the same person; without one, it is in
/// accounts/ or a request already carried out.
fn held_before(cx: &Context, base: &HashSet<(&str, String)>, (file, key, person): &Held) -> bool {
    match cx.base {
        Some(_) => material(key.get_ref()).is_some_and(|m| base.contains(&(m, person.id.clone()))),
        None => {
            cx.inst.path(*file).starts_with("accounts")
                || cx
                    .inst
                    .requests
                    .iter()
                    .find(|r| r.file == *file)
                    .is_none_or(|r| !super::is_pending(cx, &r.value))
        }
    }
}

fn key_shared(cx: &Context, out: &mut Vec<Diagnostic>) {
    let mut by_key: HashMap<&str, Vec<Held>> = HashMap::new();
    for (file, key, person) in all_keys(cx) {
        if let Some(m) = material(key.get_ref()) {
            by_key.entry(m).or_default().push((file, key, person));
        }
    }
    by_key.retain(|_, l| l.iter().any(|(_, _, p)| p.id != l[0].2.id));
    if by_key.is_empty() {
        return;
    }
    // Who held the shared keys in the base: the older holder is the reference, and
    // what this change added carries the error.
    let base: HashSet<(&str, String)> = cx.base.map_or_else(HashSet::new, |b| {
        keys_of(&b.instance)
            .filter_map(|(_, k, p)| material(k.get_ref()).map(|m| (m, p.id)))
            .filter(|(m, _)| by_key.contains_key(m))
            .collect()
    });
    for list in by_key.values_mut() {
        // Held before first, then accounts (what exists), then by place: stable.
        let mut list: Vec<(bool, Held)> = list
            .drain(..)
            .map(|h| (!held_before(cx, &base, &h), h))
            .collect();
        list.sort_by_key(|(new, (file, key, _))| {
            let account = cx.inst.path(*file).starts_with("accounts");
            (*new, !account, *file, key.span().start)
        });
        let (_, (ffile, fkey, fperson)) = &list[0];
        for (_, (file, key, person)) in &list[1..] {
            if person.id != fperson.id {
                out.push(
                    Diagnostic::error(
                        "L055",
                        Label::new(*file, key.span(), format!("{}'s key", person.name)),
                        format!("this SSH key is also held by {}: one key, one person", fperson.name),
                    )
                    .with_label(Label::new(*ffile, fkey.span(), format!("held by {}", fperson.name)))
                    .with_hint("each person makes their own key (`ssh-keygen -t ed25519`); a shared key cannot be revoked for one person"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests;
