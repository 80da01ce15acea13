//! The `accounts/` side of a new request: new account files, and edits of existing
//! ones (status, tickets, keys) through [`super::edit`] so hand-written comments and
//! layout survive.

use std::path::Path;

use toml_edit::{DocumentMut, Item, value};

use super::{Applicant, NewError, edit};
use crate::diag::Sources;
use crate::model::Instance;
use crate::model::account::KeyStatus;
use crate::model::config::{Config, Server, ServerAccountKind};

pub(super) fn new_mail_account(address: &str, ticket: &str, a: &Applicant) -> String {
    let mut doc = DocumentMut::new();
    doc.insert("address", value(address));
    doc.insert("status", value("active"));
    let mut tickets = toml_edit::Array::new();
    tickets.push(ticket);
    doc.insert("tickets", value(tickets));
    doc.insert(
        "holder",
        Item::Table(edit::string_table(&[
            ("name", Some(&a.name)),
            ("nip", a.nip.as_deref()),
            ("opd", Some(&a.opd)),
        ])),
    );
    doc.to_string()
}

pub(super) fn new_server_account(
    server: &str,
    login: &str,
    kind: ServerAccountKind,
    opd: &str,
) -> DocumentMut {
    let mut doc = DocumentMut::new();
    doc.insert("server", value(server));
    doc.insert("login", value(login));
    doc.insert(
        "kind",
        value(match kind {
            ServerAccountKind::Opd => "opd",
            ServerAccountKind::Personal => "personal",
        }),
    );
    doc.insert("opd", value(opd));
    doc
}

pub(super) fn find_source<'a>(sources: &'a Sources, path: &str) -> Option<&'a str> {
    sources
        .find(Path::new(path))
        .map(|id| sources.get(id).text.as_str())
}

pub(super) fn known_server<'c>(config: &'c Config, server: &str) -> Result<&'c Server, NewError> {
    if let Some(s) = config.server(server) {
        return Ok(s);
    }
    let known: Vec<&str> = config
        .servers
        .iter()
        .map(|s| s.name.get_ref().as_str())
        .collect();
    Err(NewError::NoServer {
        server: server.to_string(),
        known: if known.is_empty() {
            "none".into()
        } else {
            known.join(", ")
        },
    })
}

/// The account file of `address` (compared case-insensitively), parsed for editing.
pub(super) fn mail_account(
    inst: &Instance,
    address: &str,
    must_be_active: bool,
) -> Result<(String, DocumentMut), NewError> {
    let acc = inst
        .mail_accounts
        .iter()
        .find(|a| a.value.address.get_ref().eq_ignore_ascii_case(address))
        .ok_or_else(|| NewError::NoMailAccount(address.to_string()))?;
    if must_be_active && !acc.value.is_active() {
        return Err(NewError::MailDisabled(address.to_string()));
    }
    let src = inst.sources.get(acc.file);
    let path = src.path.to_string_lossy().into_owned();
    let doc = edit::parse(&src.text).map_err(|source| NewError::Edit {
        path: path.clone(),
        source,
    })?;
    Ok((path, doc))
}

/// Marks the key of `grant` (or the only active key) revoked by `ticket`.
pub(super) fn revoke(
    inst: &Instance,
    path: &str,
    grant: Option<&str>,
    ticket: &str,
) -> Result<(DocumentMut, String), NewError> {
    let acc = inst
        .server_accounts
        .iter()
        .find(|a| inst.path(a.file) == Path::new(path))
        .ok_or_else(|| NewError::NoServerAccount(path.to_string()))?;
    let active: Vec<&str> = acc
        .value
        .keys
        .iter()
        .filter(|k| *k.status.get_ref() == KeyStatus::Active)
        .map(|k| k.ticket.get_ref().as_str())
        .collect();
    let fail = |message: String| NewError::Grant {
        path: path.to_string(),
        message,
    };
    let grant = match grant {
        Some(g) if active.contains(&g) => g.to_string(),
        Some(g) => {
            return Err(fail(format!(
                "no active key from grant {g} (active grants: {})",
                list(&active)
            )));
        }
        None if active.len() == 1 => active[0].to_string(),
        None => {
            return Err(fail(format!(
                "say which grant to end (active grants: {})",
                list(&active)
            )));
        }
    };
    let mut doc =
        edit::parse(&inst.sources.get(acc.file).text).map_err(|source| NewError::Edit {
            path: path.to_string(),
            source,
        })?;
    edit::push_str(doc.as_table_mut(), "tickets", ticket);
    if let Some(keys) = doc.get_mut("keys").and_then(Item::as_array_of_tables_mut) {
        for k in keys.iter_mut() {
            if k.get("ticket").and_then(Item::as_str) == Some(grant.as_str()) {
                edit::set_str(k, "status", "revoked");
                k.insert("revoked-by", value(ticket));
            }
        }
    }
    Ok((doc, grant))
}

fn list(v: &[&str]) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.join(", ")
    }
}
