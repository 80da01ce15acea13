//! The passwd-file line format, shared by local and remote files:
//! `address:{SHA512-CRYPT}$6$…:uid:gid:loket KDS-…,KDS-…:home::[nologin]`.

use std::collections::BTreeMap;

use crate::apply::backend::BackendError;

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

/// Parses a passwd-file; `label` names it in errors (a path, or `host:path`).
pub fn parse(text: &str, label: &str) -> Result<BTreeMap<String, Entry>, BackendError> {
    let mut out = BTreeMap::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let f: Vec<&str> = line.splitn(8, ':').collect();
        if f.len() < 2 {
            return Err(BackendError::Parse {
                path: label.into(),
                line: i + 1,
                message: "not a passwd-file line (user:password:…)".into(),
            });
        }
        let field = |n: usize| f.get(n).copied().unwrap_or("").to_string();
        let gecos = field(4);
        let tickets = gecos
            .strip_prefix(TICKETS_PREFIX)
            .map(|t| {
                t.split(',')
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        out.insert(
            f[0].to_lowercase(),
            Entry {
                hash: field(1),
                uid: field(2),
                gid: field(3),
                tickets,
                home: field(5),
                extra: field(7).split_whitespace().map(String::from).collect(),
            },
        );
    }
    Ok(out)
}

/// The whole passwd-file for `table`, sorted by address.
pub fn render(table: &BTreeMap<String, Entry>) -> String {
    let mut text = String::with_capacity(table.len() * 160);
    for (user, e) in table {
        text.push_str(&e.line(user));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_round_trips_and_junk_is_a_parse_error() {
        let line =
            "budi@x.go.id:{SHA512-CRYPT}$6$ab$cd:5000:5000:loket KDS-A,KDS-B:/v/x/budi::nologin\n";
        let t = parse(line, "users").unwrap();
        let e = &t["budi@x.go.id"];
        assert_eq!(e.tickets, ["KDS-A", "KDS-B"]);
        assert!(!e.active());
        assert_eq!(render(&t), line);
        let err = parse("# c\n\nnocolon\n", "mail-1:/etc/dovecot/users").unwrap_err();
        assert_eq!(
            err.to_string(),
            "mail-1:/etc/dovecot/users:3: not a passwd-file line (user:password:…)"
        );
    }
}
