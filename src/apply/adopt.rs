//! `loket adopt-files` for keys: which live key lines it takes over. After `loket
//! import unix`, an imported account's keys are live with the office's own comments,
//! and the key backends know a key of loket's only by its `loket:<ticket>` comment,
//! so `audit` would show them as drift and `plan` would propose grants no request
//! approves. Adopt-files rewrites exactly the lines whose key material (type and
//! base64, never the comment) is a key `accounts/` records for that login under an
//! `[[imports]]` batch ticket, still open (active, last day not past), into the line
//! loket writes for it. Every other line is left as it is and reported.
//!
//! This module owns that choice ([`ImportedKeys`], [`fate`]); each key backend
//! (`keydir`, `ssh`) reads and writes its own lines.

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::Date;

use super::backend::key_material;
use crate::model::Instance;
use crate::model::account::KeyStatus;
use crate::model::time::to_date;

/// One key `accounts/` records under an import batch ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportedKey {
    /// The batch ticket.
    pub ticket: String,
    /// `type base64`, as `accounts/` has it.
    pub key: String,
    /// The key's last day of access.
    pub last_day: Date,
    /// Why the key is not to be taken over (revoked, or past its last day); `None`
    /// when it is open.
    pub closed: Option<String>,
}

/// The imported keys of every server account, by (server, login).
#[derive(Debug, Clone, Default)]
pub struct ImportedKeys {
    accounts: BTreeMap<(String, String), Vec<ImportedKey>>,
}

impl ImportedKeys {
    /// The keys of `inst`'s server accounts that name an `[[imports]]` batch ticket,
    /// judged open or closed as of `today`.
    pub fn from_instance(inst: &Instance, today: Date) -> Self {
        let batches: BTreeSet<&str> = inst
            .config
            .iter()
            .flat_map(|c| c.imports.iter())
            .map(|b| b.ticket.get_ref().as_str())
            .collect();
        let mut out = Self::default();
        for a in &inst.server_accounts {
            let (server, login) = (a.value.server.get_ref(), a.value.login.get_ref());
            for k in &a.value.keys {
                let ticket = k.ticket.get_ref();
                let Some(last_day) = to_date(k.expires.get_ref()) else {
                    continue; // `loket check` reports the date
                };
                if !batches.contains(ticket.as_str()) {
                    continue;
                }
                let closed = if *k.status.get_ref() != KeyStatus::Active {
                    Some(format!("revoked in accounts/ (under {ticket})"))
                } else if last_day < today {
                    Some(format!("past its last day {last_day} (under {ticket})"))
                } else {
                    None
                };
                out.insert(
                    server,
                    login,
                    ImportedKey {
                        ticket: ticket.clone(),
                        key: key_material(k.key.get_ref()),
                        last_day,
                        closed,
                    },
                );
            }
        }
        out
    }

    pub fn insert(&mut self, server: &str, login: &str, key: ImportedKey) {
        self.accounts
            .entry((server.to_string(), login.to_string()))
            .or_default()
            .push(key);
    }

    /// Every account with imported keys: (server, login, keys).
    pub fn accounts(&self) -> impl Iterator<Item = (&str, &str, &[ImportedKey])> {
        self.accounts
            .iter()
            .map(|((s, l), k)| (s.as_str(), l.as_str(), k.as_slice()))
    }

    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }
}

/// What adopt-files does with one live key line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fate<'a> {
    /// Rewritten as loket writes the grant of this imported key.
    TakeOver(&'a ImportedKey),
    /// Already a line of loket's (it names a ticket): left as it is.
    Loket,
    /// Left as it is, for this reason (reported).
    Left(String),
}

/// The fate of a live line holding `key` (`type base64`), carrying loket's `ticket`
/// if any, and the sshd `options` other than `expiry-time` it has, on an account
/// whose imported keys are `imported`.
pub fn fate<'a>(
    imported: &'a [ImportedKey],
    key: &str,
    ticket: Option<&str>,
    options: &[String],
) -> Fate<'a> {
    if ticket.is_some() {
        return Fate::Loket;
    }
    let Some(k) = imported.iter().find(|k| same_key(&k.key, key)) else {
        return Fate::Left("matches no key imported for this login".into());
    };
    if let Some(why) = &k.closed {
        return Fate::Left(format!(
            "its imported key is {why}: not taken over; remove the line by hand"
        ));
    }
    if !options.is_empty() {
        return Fate::Left(format!(
            "it carries options loket does not write ({}); taking it over would drop \
             them. Remove them by hand (or keep the line as it is) and run adopt-files again",
            options.join(",")
        ));
    }
    Fate::TakeOver(k)
}

/// Whether two public keys are the same key: the same `type base64`, or the same key
/// data once parsed (a key written with another base64 layout). Comments are never
/// compared.
pub fn same_key(a: &str, b: &str) -> bool {
    let (a, b) = (key_material(a), key_material(b));
    if a == b {
        return true;
    }
    let parse = |k: &str| ssh_key::PublicKey::from_openssh(k).ok();
    match (parse(&a), parse(&b)) {
        (Some(x), Some(y)) => x.key_data() == y.key_data(),
        _ => false,
    }
}

/// A live key for messages: its type and the start of its base64 (a comment may
/// name a person, so none is shown).
pub fn short(key: &str) -> String {
    let m = key_material(key);
    if m.chars().count() > 40 {
        format!("{}…", m.chars().take(40).collect::<String>())
    } else {
        m
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINlRHbndlDyb8Z1Kb0Y/Jy5GjuyXBzlBpJpgYqcaZl+a";
    const B: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGH0FXo0CQSzIeQ8v2ZmJuiHnTPbD0kWPZSOkVymD0Vl";

    fn imported(closed: Option<&str>) -> ImportedKey {
        ImportedKey {
            ticket: "KDS-JQ5B5-SMP9K".into(),
            key: A.into(),
            last_day: jiff::civil::date(2027, 8, 14),
            closed: closed.map(String::from),
        }
    }

    #[test]
    fn only_the_same_key_material_is_taken_over() {
        let keys = [imported(None)];
        // The comment never counts, either way.
        assert_eq!(
            fate(&keys, &format!("{A} budi@laptop"), None, &[]),
            Fate::TakeOver(&keys[0])
        );
        assert!(matches!(
            fate(&keys, &format!("{B} ssh-ed25519 {A}"), None, &[]),
            Fate::Left(_)
        ));
        assert_eq!(fate(&keys, A, Some("KDS-PH7H3-MSBP2"), &[]), Fate::Loket);
        let from = fate(&keys, A, None, &["from=\"10.0.0.1\"".into()]);
        assert!(
            matches!(&from, Fate::Left(w) if w.contains("from=")),
            "{from:?}"
        );
        let revoked = [imported(Some("revoked in accounts/"))];
        assert!(matches!(fate(&revoked, A, None, &[]), Fate::Left(w) if w.contains("revoked")));
        assert!(matches!(fate(&[], A, None, &[]), Fate::Left(_)));
    }

    #[test]
    fn only_keys_under_a_batch_ticket_are_imported_and_closed_ones_say_why() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let batch = crate::ticket::Ticket::generate("KDS").to_string();
        let grant = crate::ticket::Ticket::generate("KDS").to_string();
        let config = format!(
            "{}\n[[imports]]\nticket = \"{batch}\"\nsource = \"unix\"\n\
             date = \"2026-12-03\"\naccounts = 1\ndigest = \"sha256:00\"\n",
            std::fs::read_to_string(root.join("presets/kudus.toml")).unwrap()
        );
        let key = |t: &str, k: &str, expires: &str, status: &str| {
            format!(
                "[[keys]]\nticket = \"{t}\"\nkey = \"{k} budi@laptop\"\nexpires = {expires}\n\
                 status = \"{status}\"\nholder = {{ name = \"B\", opd = \"D\" }}\n"
            )
        };
        let account = format!(
            "server = \"app-1\"\nlogin = \"opd-x\"\nkind = \"opd\"\nopd = \"D\"\n\
             tickets = [\"{batch}\", \"{grant}\"]\nimported = \"unix\"\n{}{}{}",
            key(&batch, A, "2027-08-14", "active"),
            key(&batch, B, "2026-11-30", "active"),
            key(&grant, B, "2027-08-14", "active"),
        );
        let inst = Instance::from_files(
            root,
            vec![
                ("loket.toml".into(), config),
                ("accounts/server/app-1/opd-x.toml".into(), account),
            ],
        );
        let today = jiff::civil::date(2026, 12, 3);
        let keys = ImportedKeys::from_instance(&inst, today);
        let all: Vec<_> = keys.accounts().collect();
        assert_eq!(all.len(), 1, "{keys:?}");
        let (server, login, k) = all[0];
        assert_eq!((server, login, k.len()), ("app-1", "opd-x", 2));
        assert_eq!((k[0].key.as_str(), &k[0].closed), (A, &None));
        assert!(
            k[1].closed
                .as_ref()
                .is_some_and(|w| w.contains("2026-11-30"))
        );
        assert!(
            k.iter().all(|k| k.ticket == batch),
            "a request's grant is not imported"
        );
    }

    #[test]
    fn messages_show_no_comment() {
        assert_eq!(short("ssh-rsa AAAA budi santoso"), "ssh-rsa AAAA");
        assert!(short(A).ends_with('…') && short(A).chars().count() == 41);
    }
}
