//! The passwd-file line format, shared by local and remote files:
//! `address:{SHA512-CRYPT}$6$…:uid:gid:loket KDS-…,KDS-…:home::[nologin]`.

use std::collections::BTreeMap;

use crate::apply::backend::BackendError;
use crate::apply::owned;

const TICKETS_PREFIX: &str = "loket ";

/// One passwd-file line, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub hash: String,
    pub uid: String,
    pub gid: String,
    pub tickets: Vec<String>,
    pub home: String,
    pub extra: Vec<String>,
}

impl Entry {
    pub fn active(&self) -> bool {
        !self.extra.iter().any(|f| f == "nologin")
    }

    pub fn line(&self, user: &str) -> String {
        format!(
            "{user}:{}:{}:{}:{TICKETS_PREFIX}{}:{}::{}\n",
            self.hash,
            self.uid,
            self.gid,
            self.tickets.join(","),
            self.home,
            self.extra.join(" ")
        )
    }
}

/// What the passwd-file is called in messages.
pub const WHAT: &str = "dovecot passwd-file";

/// The password scheme loket writes.
pub const SCHEME: &str = "{SHA512-CRYPT}";

/// uid/gid loket writes: never a system account's (Debian's UID_MIN..UID_MAX).
pub const IDS: std::ops::RangeInclusive<u32> = 1000..=60000;

/// Parses a passwd-file loket manages; `label` names it in errors (a path, or
/// `host:path`). Refused: no marker ([`owned`](crate::apply::owned)), or a line
/// not exactly as [`Entry::line`] writes it.
pub fn parse(text: &str, label: &str) -> Result<BTreeMap<String, Entry>, BackendError> {
    parse_as(text, label, false)
}

/// [`parse`]; with `adopting`, the marker may be missing (`loket adopt-files`).
pub fn parse_as(
    text: &str,
    label: &str,
    adopting: bool,
) -> Result<BTreeMap<String, Entry>, BackendError> {
    let mut out = BTreeMap::new();
    for (n, line) in owned::lines(text, label, WHAT, adopting)? {
        let bad = |why: &str| owned::bad_line(label, n, "passwd-file", why);
        let (user, e) = parse_line(line, adopting).map_err(|why| bad(&why))?;
        if out.contains_key(&user) {
            return Err(bad(&format!("{user} is listed twice")));
        }
        out.insert(user, e);
    }
    Ok(out)
}

/// `address:{SHA512-CRYPT}$6$…:uid:gid:loket T,…:home::[nologin]`, nothing else;
/// with `adopting`, the gecos may be the office's own (a name, or empty: a file from
/// before loket, whose accounts `loket import` brought in): it reads as no tickets
/// and [`render`] writes it back as loket's.
fn parse_line(line: &str, adopting: bool) -> Result<(String, Entry), String> {
    let f: Vec<&str> = line.split(':').collect();
    owned::check_address(f[0])?;
    check_hash(f.get(1).copied().unwrap_or(""))?;
    if f.len() != 8 {
        return Err(format!(
            "{} fields where loket writes 8: cut short, or not a line of loket's",
            f.len()
        ));
    }
    for (v, name) in [(f[2], "uid"), (f[3], "gid")] {
        check_id(v).map_err(|why| format!("{name} {why}"))?;
    }
    let tickets = match f[4].strip_prefix(TICKETS_PREFIX) {
        Some(t) => t,
        None if adopting && !f[4].chars().any(char::is_control) => "",
        None => return Err("the fifth field is not `loket <tickets>`".into()),
    };
    let tickets: Vec<String> = if tickets.is_empty() {
        Vec::new()
    } else {
        tickets
            .split(',')
            .map(|t| owned::check_ticket(t).map(|()| t.to_string()))
            .collect::<Result<_, _>>()?
    };
    if f[5].is_empty() || f[5].chars().any(char::is_whitespace) {
        return Err("no home folder".into());
    }
    if !f[6].is_empty() {
        return Err("the seventh field is not empty".into());
    }
    let extra = match f[7] {
        "" => Vec::new(),
        "nologin" => vec!["nologin".to_string()],
        other => {
            return Err(format!(
                "extra field `{other}`; loket writes only `nologin`"
            ));
        }
    };
    Ok((
        f[0].to_string(),
        Entry {
            hash: f[1].to_string(),
            uid: f[2].to_string(),
            gid: f[3].to_string(),
            tickets,
            home: f[5].to_string(),
            extra,
        },
    ))
}

fn crypt_chars(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'/')
}

/// `{SHA512-CRYPT}$6$[rounds=N$]salt$<86 symbols>` whole, or `{SHA512-CRYPT}*`
/// (an account created disabled, no password).
pub fn check_hash(h: &str) -> Result<(), String> {
    let cut = || "the password hash is cut short or not SHA512-CRYPT".to_string();
    let c = h
        .strip_prefix(SCHEME)
        .ok_or_else(|| format!("the password is not {SCHEME}"))?;
    if c == "*" {
        return Ok(());
    }
    let mut rest = c.strip_prefix("$6$").ok_or_else(cut)?;
    if let Some(r) = rest.strip_prefix("rounds=") {
        let (n, r) = r.split_once('$').ok_or_else(cut)?;
        if n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) {
            return Err(cut());
        }
        rest = r;
    }
    let (salt, hash) = rest.split_once('$').ok_or_else(cut)?;
    if !(1..=16).contains(&salt.len()) || !crypt_chars(salt) {
        return Err(cut());
    }
    if hash.len() != 86 || !crypt_chars(hash) {
        return Err(cut());
    }
    Ok(())
}

/// A uid/gid as loket writes it: decimal, in [`IDS`].
pub fn check_id(v: &str) -> Result<(), String> {
    match v.parse::<u32>() {
        Ok(n) if n.to_string() == v && IDS.contains(&n) => Ok(()),
        _ => Err(format!(
            "`{v}` is not a number from {} to {}",
            IDS.start(),
            IDS.end()
        )),
    }
}

/// The whole passwd-file for `table`, marker first, then sorted by address.
pub fn render(table: &BTreeMap<String, Entry>) -> String {
    let mut text = String::with_capacity(table.len() * 160 + 100);
    text.push_str(&owned::header(WHAT));
    for (user, e) in table {
        text.push_str(&e.line(user));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "{SHA512-CRYPT}$6$0123456789abcdef$\
        ZtN0mZ1bQdL3e3p7mZ1bQdL3e3p7mZ1bQdL3e3p7mZ1bQdL3e3p7mZ1bQdL3e3p7mZ1bQdL3e3p7mZ1bQdL3e3";

    fn ticket() -> String {
        crate::ticket::Ticket::generate("KDS").to_string()
    }

    #[test]
    fn a_marked_file_round_trips() {
        let (a, b) = (ticket(), ticket());
        let line = format!("budi@x.go.id:{HASH}:5000:5000:loket {a},{b}:/v/x/budi::nologin\n");
        let text = format!("{}{line}", owned::header(WHAT));
        let t = parse(&text, "users").unwrap();
        let e = &t["budi@x.go.id"];
        assert_eq!(e.tickets, [a, b]);
        assert!(!e.active());
        assert_eq!(render(&t), text);
        assert_eq!(parse("", "users").unwrap().len(), 0);
        assert_eq!(parse(&render(&BTreeMap::new()), "users").unwrap().len(), 0);
    }

    #[test]
    fn anything_loket_did_not_write_is_refused() {
        let t = ticket();
        let good = format!("budi@x.go.id:{HASH}:5000:5000:loket {t}:/v/x/budi::\n");
        let marked = |body: &str| format!("{}{body}", owned::header(WHAT));
        assert!(parse(&marked(&good), "users").is_ok());
        // Unmarked: not loket's, however well-formed; adopt-files takes it.
        let err = parse(&good, "users").unwrap_err().to_string();
        assert!(
            err.starts_with("users: not a dovecot passwd-file loket manages"),
            "{err}"
        );
        assert!(parse_as(&good, "users", true).is_ok());
        // An office's own gecos (a name, or none) is taken over as no tickets.
        for gecos in ["Budi Santoso", ""] {
            let office = good.replace(&format!("loket {t}"), gecos);
            assert!(parse(&marked(&office), "users").is_err());
            let table = parse_as(&office, "users", true).unwrap();
            assert!(table["budi@x.go.id"].tickets.is_empty());
            assert!(parse(&render(&table), "users").is_ok());
        }
        let cut = &good[..good.len() - 40];
        let bad = [
            // a line cut mid-hash (and the file with it)
            format!("{cut}\n"),
            format!("{}{good}", &good[..50]),
            "root:x:0:0:root:/root:/bin/bash\n".into(),
            good.replace(":5000:5000:", ":0:0:"),
            good.replace(":5000:5000:", ":05000:5000:"),
            good.replace("loket ", "Budi "),
            good.replace(&t, "KDS-A"),
            good.replace("::\n", "::/bin/sh\n"),
            good.replace("budi@", "Budi@"),
            format!("# hand-written note\n{good}"),
            format!("\n{good}"),
            format!("{good}{good}"),
        ];
        for b in bad {
            let err = parse(&marked(&b), "mail-1:/etc/dovecot/users").unwrap_err();
            assert!(
                err.to_string().starts_with("mail-1:/etc/dovecot/users:"),
                "{b}: {err}"
            );
        }
        let err = parse(&marked(&good.replace(":5000:", ":1:")), "users").unwrap_err();
        assert_eq!(
            err.to_string(),
            "users:2: not a passwd-file line as loket writes it (uid `1` is not a number \
             from 1000 to 60000); loket leaves the file as it is: fix or remove the line by hand"
        );
        let err = parse(&marked(&good[..good.len() - 30]), "users").unwrap_err();
        assert!(err.to_string().contains("cut short"), "{err}");
    }

    #[test]
    fn real_hashes_pass() {
        let pw = crate::apply::Secret::new("x".repeat(20));
        let h = format!(
            "{SCHEME}{}",
            crate::apply::credentials::sha512_crypt(&pw).unwrap()
        );
        check_hash(&h).unwrap();
        check_hash("{SHA512-CRYPT}*").unwrap();
        assert!(check_hash(&h[..h.len() - 1]).is_err());
    }
}
