//! The files an import writes, in exactly the layout `loket new` gives account files
//! (`crate::new`), plus the `imported` flag; the batch's `[[imports]]` table; and
//! whether an entry already in `accounts/` is the one the source holds.

use toml_edit::{DocumentMut, InlineTable, Item, Table, value};

use std::collections::HashMap;

use super::{Found, FoundAccount, FoundHolder, FoundKey, Options, SourceRead};
use crate::check::names::address_key;
use crate::model::config::{Config, ImportBatch};
use crate::model::{Instance, KeyStatus};

/// A source without holder names: the account's own name stands in (documented).
fn name_or(holder: &FoundHolder, fallback: &str) -> String {
    holder.name.clone().unwrap_or_else(|| fallback.to_string())
}

fn holder_table(name: &str, nip: Option<&str>, opd: &str) -> Table {
    let mut t = Table::new();
    t.insert("name", value(name));
    if let Some(n) = nip {
        t.insert("nip", value(n));
    }
    t.insert("opd", value(opd));
    t
}

fn tickets(ticket: &str) -> Item {
    let mut a = toml_edit::Array::new();
    a.push(ticket);
    value(a)
}

/// The account file for `f`, first ticket the batch's.
pub fn account(f: &Found, ticket: &str, kind: &str, opts: &Options) -> String {
    let mut doc = DocumentMut::new();
    match &f.account {
        FoundAccount::Mail {
            address,
            active,
            holder,
        } => {
            let local = address.split('@').next().unwrap_or(address);
            doc.insert("address", value(address.as_str()));
            doc.insert("status", value(if *active { "active" } else { "disabled" }));
            doc.insert("tickets", tickets(ticket));
            doc.insert("imported", value(kind));
            doc.insert(
                "holder",
                Item::Table(holder_table(
                    &name_or(holder, local),
                    holder.nip.as_deref(),
                    holder.opd.as_deref().unwrap_or(&opts.opd),
                )),
            );
        }
        FoundAccount::Server {
            server,
            login,
            opd,
            keys,
        } => {
            let opd = opd.as_deref().unwrap_or(&opts.opd);
            doc.insert("server", value(server.as_str()));
            doc.insert("login", value(login.as_str()));
            doc.insert("kind", value("opd"));
            doc.insert("opd", value(opd));
            doc.insert("tickets", tickets(ticket));
            doc.insert("imported", value(kind));
            let mut arr = toml_edit::ArrayOfTables::new();
            for k in keys {
                let mut t = Table::new();
                t.insert("ticket", value(ticket));
                t.insert("key", value(k.key.as_str()));
                t.insert("expires", value(toml_date(opts.expires)));
                t.insert("status", value("active"));
                let mut h = InlineTable::new();
                h.insert("name", key_holder(k.key.as_str(), login).into());
                h.insert("opd", opd.into());
                t.insert("holder", value(h));
                arr.push(t);
            }
            if !arr.is_empty() {
                doc.insert("keys", Item::ArrayOfTables(arr));
            }
        }
    }
    doc.to_string()
}

/// `d` as a TOML date; the import refuses dates outside years 1–9999 before
/// rendering ([`super::plan`]), so the fallback is never written.
fn toml_date(d: jiff::civil::Date) -> toml_edit::Datetime {
    toml_edit::Datetime {
        date: Some(toml_edit::Date {
            year: u16::try_from(d.year()).unwrap_or(9999),
            month: u8::try_from(d.month()).unwrap_or(1),
            day: u8::try_from(d.day()).unwrap_or(1),
        }),
        time: None,
        offset: None,
    }
}

/// The holder of an imported key: its comment (`user@host`, as `ssh-keygen` writes
/// it) when it has one, else the login. The source knows no more.
fn key_holder(key: &str, login: &str) -> String {
    let comment = key.splitn(3, ' ').nth(2).map(str::trim).unwrap_or("");
    if comment.is_empty() {
        login.to_string()
    } else {
        comment.chars().take(100).collect()
    }
}

/// The `[[imports]]` table for the batch.
pub fn batch(ticket: &str, read: &SourceRead, opts: &Options, keys: Vec<String>) -> String {
    let mut t = Table::new();
    t.insert("ticket", value(ticket));
    t.insert("source", value(read.describe.as_str()));
    t.insert("date", value(opts.today.to_string()));
    t.insert("accounts", value(keys.len() as i64));
    t.insert("digest", value(ImportBatch::digest_of(keys)));
    let mut arr = toml_edit::ArrayOfTables::new();
    arr.push(t);
    let mut doc = DocumentMut::new();
    doc.insert("imports", Item::ArrayOfTables(arr));
    format!("\n# `loket import` batch (docs/import.md): approved as a config change.\n{doc}")
}

/// Whether `accounts/` already has `f`.
pub enum Existing {
    None,
    Identical,
    /// There, but not as the source has it: why.
    Differs(String),
}

/// The entries already in `accounts/`, by collision key and by server and login.
pub struct Known<'a> {
    inst: &'a Instance,
    config: &'a Config,
    mail: HashMap<String, usize>,
    server: HashMap<(&'a str, &'a str), usize>,
}

impl<'a> Known<'a> {
    pub fn new(inst: &'a Instance, config: &'a Config) -> Self {
        let mail = inst
            .mail_accounts
            .iter()
            .enumerate()
            .map(|(i, a)| (address_key(a.value.address.get_ref(), &config.naming), i))
            .collect();
        let server = inst
            .server_accounts
            .iter()
            .enumerate()
            .map(|(i, a)| {
                (
                    (
                        a.value.server.get_ref().as_str(),
                        a.value.login.get_ref().as_str(),
                    ),
                    i,
                )
            })
            .collect();
        Known {
            inst,
            config,
            mail,
            server,
        }
    }

    /// Compares what the source knows (status, holder data it has, keys) with the
    /// entry already in `accounts/`; another address folding to the same name is a
    /// collision.
    pub fn existing(&self, f: &Found, opts: &Options) -> Existing {
        match &f.account {
            FoundAccount::Mail {
                address,
                active,
                holder,
            } => self.mail(address, *active, holder, opts),
            FoundAccount::Server {
                server,
                login,
                opd,
                keys,
            } => self.server(server, login, opd.as_deref().unwrap_or(&opts.opd), keys),
        }
    }

    fn mail(&self, address: &str, active: bool, holder: &FoundHolder, opts: &Options) -> Existing {
        let key = address_key(address, &self.config.naming);
        let Some(a) = self.mail.get(&key).map(|&i| &self.inst.mail_accounts[i]) else {
            return Existing::None;
        };
        let path = self.inst.path(a.file).display();
        let a = &a.value;
        if a.address.get_ref().to_lowercase() != address {
            return Existing::Differs(format!(
                "L024 mail-unique: {address} collides with {} in {path} under the folding rules",
                a.address.get_ref()
            ));
        }
        let h = &a.holder;
        let same = a.is_active() == active
            && holder.name.as_ref().is_none_or(|n| n == h.name.get_ref())
            && holder
                .nip
                .as_ref()
                .is_none_or(|n| h.nip.as_ref().is_some_and(|x| x.get_ref() == n))
            && h.opd.get_ref() == holder.opd.as_ref().unwrap_or(&opts.opd);
        if same {
            Existing::Identical
        } else {
            Existing::Differs(format!(
                "{address} is already in {path}, with another status or holder; \
                 settle it by hand before importing"
            ))
        }
    }

    fn server(&self, server: &str, login: &str, opd: &str, keys: &[FoundKey]) -> Existing {
        let Some(a) = self
            .server
            .get(&(server, login))
            .map(|&i| &self.inst.server_accounts[i])
        else {
            return Existing::None;
        };
        let path = self.inst.path(a.file).display();
        let open: Vec<&str> = a
            .value
            .keys
            .iter()
            .filter(|k| *k.status.get_ref() == KeyStatus::Active)
            .map(|k| material(k.key.get_ref()))
            .collect();
        let same = a.value.opd.get_ref() == opd
            && open.len() == keys.len()
            && keys.iter().all(|k| open.contains(&material(&k.key)));
        if same {
            Existing::Identical
        } else {
            Existing::Differs(format!(
                "{login} on {server} is already in {path}, with another OPD or other keys; \
                 settle it by hand before importing"
            ))
        }
    }
}

/// `type base64` of a key line, without its comment.
fn material(key: &str) -> &str {
    let mut it = key.match_indices(' ');
    match (it.next(), it.next()) {
        (Some(_), Some((end, _))) => &key[..end],
        _ => key,
    }
}
