//! `loket new`: turns what the applicant gives into a request file and the matching
//! `accounts/` change, checks the result with every rule before anything is written,
//! and writes atomically.
//!
//! [`draft`] builds the files in memory from the loaded [`Instance`]; [`validate`]
//! runs the full check on the instance as it would be with them; [`write`] puts them
//! on disk. The CLI (`src/cli/new.rs`) only gathers the fields.

pub mod edit;
pub mod suggest;

use std::path::{Path, PathBuf};

use jiff::civil::Date;
use thiserror::Error;
use toml_edit::{DocumentMut, Item, Table, value};

use crate::check::{Options, run};
use crate::diag::{Diagnostic, Sources};
use crate::model::account::KeyStatus;
use crate::model::request::DeactivateReason;
use crate::model::{
    Config, Instance, MAIL_ACCOUNTS_DIR, REQUESTS_DIR, RequestKind, SERVER_ACCOUNTS_DIR,
};
use crate::ticket::Ticket;
use suggest::{Names, Unavailable};

/// Who asks: every field is personal data (never on the public site).
#[derive(Debug, Clone, Default)]
pub struct Applicant {
    pub name: String,
    pub nip: Option<String>,
    pub opd: String,
    pub position: String,
    pub contact: String,
    /// `age1…` or `ssh-ed25519 …`: the key credentials are sealed to.
    pub recipient: Option<String>,
}

/// The request letter (surat permohonan).
#[derive(Debug, Clone)]
pub struct Letter {
    pub number: String,
    pub date: Date,
    pub signatory: String,
}

/// What a request of each kind is about.
#[derive(Debug, Clone)]
pub enum Details {
    MailCreate {
        address: String,
    },
    MailDeactivate {
        address: String,
        reason: DeactivateReason,
    },
    MailReset {
        address: String,
    },
    ServerGrant {
        server: String,
        account: String,
        key: String,
        expires: Date,
        accept_terms: bool,
        purpose: String,
    },
    ServerRevoke {
        server: String,
        account: String,
        /// The grant ticket to end; `None` when the account has exactly one active key.
        grant: Option<String>,
    },
}

impl Details {
    pub fn kind(&self) -> RequestKind {
        match self {
            Details::MailCreate { .. } => RequestKind::MailCreate,
            Details::MailDeactivate { .. } => RequestKind::MailDeactivate,
            Details::MailReset { .. } => RequestKind::MailReset,
            Details::ServerGrant { .. } => RequestKind::ServerGrant,
            Details::ServerRevoke { .. } => RequestKind::ServerRevoke,
        }
    }
}

#[derive(Debug, Clone)]
pub struct NewRequest {
    pub applicant: Applicant,
    pub letter: Letter,
    pub details: Details,
    /// RFC 3339 with the office's offset, e.g. `2026-11-25T09:30:00+07:00`.
    pub submitted: String,
}

/// One file to write, relative to the instance root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileChange {
    pub path: String,
    pub text: String,
    /// Whether the file is new (else it replaces an existing one).
    pub created: bool,
}

/// The files one request adds or changes.
#[derive(Debug, Clone)]
pub struct Draft {
    pub ticket: String,
    pub kind: RequestKind,
    pub files: Vec<FileChange>,
}

#[derive(Debug, Error)]
pub enum NewError {
    #[error("loket.toml does not parse; run `loket check` and fix it first")]
    NoConfig,
    #[error(
        "this office's loket.toml has no SOP for {0} requests: add the kind to a [sops.*] \
         `kinds` list first"
    )]
    NoSop(RequestKind),
    #[error("{address} is already taken by {holder}{}", alternatives(suggestions))]
    Taken {
        address: String,
        holder: String,
        suggestions: Vec<String>,
    },
    #[error("{address} is a reserved name{}", alternatives(suggestions))]
    Reserved {
        address: String,
        suggestions: Vec<String>,
    },
    #[error("no mail account {0} in accounts/mail: check the address (`ls accounts/mail`)")]
    NoMailAccount(String),
    #[error("mail account {0} is already disabled")]
    MailDisabled(String),
    #[error("no server '{server}' in loket.toml [[servers]] (known: {known})")]
    NoServer { server: String, known: String },
    #[error("no server account {0}: nothing to revoke")]
    NoServerAccount(String),
    #[error("{path}: {message}; revoke with --grant TICKET")]
    Grant { path: String, message: String },
    #[error("{path} cannot be edited: {source}")]
    Edit {
        path: String,
        #[source]
        source: toml_edit::TomlError,
    },
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn alternatives(s: &[String]) -> String {
    if s.is_empty() {
        String::new()
    } else {
        format!("; free alternatives: {}", s.join(", "))
    }
}

/// How many alternatives a refused name gets.
const SUGGESTIONS: usize = 5;

/// Every mail name in use: accounts and pending `mail-create` requests.
pub fn names(inst: &Instance, config: &Config) -> Names {
    let used = inst
        .mail_accounts
        .iter()
        .map(|a| a.value.address.get_ref().as_str())
        .chain(inst.requests.iter().filter_map(|r| {
            (r.value.kind() == RequestKind::MailCreate)
                .then(|| r.value.mail_address().map(|a| a.get_ref().as_str()))
                .flatten()
        }));
    Names::new(
        used,
        config.naming.reserved.iter().map(|r| r.get_ref().as_str()),
        config.naming.separators_collide,
        config.naming.local_part_pattern.get_ref(),
    )
}

/// Builds the request and account files for `req` under `ticket`, refusing a taken
/// or reserved mail name (with free alternatives) and references to nothing.
pub fn draft(inst: &Instance, req: &NewRequest, ticket: &Ticket) -> Result<Draft, NewError> {
    let config = inst.config.as_ref().ok_or(NewError::NoConfig)?;
    let kind = req.details.kind();
    if config.sop_for(kind).is_none() {
        return Err(NewError::NoSop(kind));
    }
    let t = ticket.to_string();
    let a = &req.applicant;
    let mut files = Vec::new();
    let mut section = Table::new();
    match &req.details {
        Details::MailCreate { address } => {
            let (local, domain) = address.rsplit_once('@').unwrap_or((address, ""));
            let names = names(inst, config);
            let suggest = || names.suggest(&a.name, &a.opd, domain, SUGGESTIONS);
            match names.check(local, domain) {
                Err(Unavailable::Taken(holder)) => {
                    return Err(NewError::Taken {
                        address: address.clone(),
                        holder,
                        suggestions: suggest(),
                    });
                }
                Err(Unavailable::Reserved) => {
                    return Err(NewError::Reserved {
                        address: address.clone(),
                        suggestions: suggest(),
                    });
                }
                // The syntax rules say precisely what is wrong; let the check report it.
                Err(Unavailable::Invalid) | Ok(()) => {}
            }
            section.insert("address", value(address.as_str()));
            files.push(FileChange {
                path: format!("{MAIL_ACCOUNTS_DIR}/{address}.toml"),
                text: new_mail_account(address, &t, a),
                created: true,
            });
        }
        Details::MailDeactivate { address, reason } => {
            let (path, mut doc) = mail_account(inst, address, true)?;
            edit::set_str(doc.as_table_mut(), "status", "disabled");
            edit::push_str(doc.as_table_mut(), "tickets", &t);
            section.insert("address", value(address.as_str()));
            section.insert("reason", value(reason_str(*reason)));
            files.push(FileChange {
                path,
                text: doc.to_string(),
                created: false,
            });
        }
        Details::MailReset { address } => {
            let (path, mut doc) = mail_account(inst, address, true)?;
            edit::push_str(doc.as_table_mut(), "tickets", &t);
            section.insert("address", value(address.as_str()));
            files.push(FileChange {
                path,
                text: doc.to_string(),
                created: false,
            });
        }
        Details::ServerGrant {
            server,
            account,
            key,
            expires,
            accept_terms,
            purpose,
        } => {
            known_server(config, server)?;
            let path = format!("{SERVER_ACCOUNTS_DIR}/{server}/{account}.toml");
            let existing = find_source(&inst.sources, &path);
            let mut doc = match existing {
                Some(text) => edit::parse(text).map_err(|source| NewError::Edit {
                    path: path.clone(),
                    source,
                })?,
                None => new_server_account(server, account, &a.opd),
            };
            edit::push_str(doc.as_table_mut(), "tickets", &t);
            let mut k = Table::new();
            k.insert("ticket", value(t.as_str()));
            k.insert("key", value(key.as_str()));
            k.insert("expires", value(edit::datetime(&expires.to_string())));
            k.insert("status", value("active"));
            k.insert(
                "holder",
                value(edit::holder_inline(&a.name, a.nip.as_deref(), &a.opd)),
            );
            edit::push_table(&mut doc, "keys", k);
            section.insert("name", value(server.as_str()));
            section.insert("account", value(account.as_str()));
            section.insert("key", value(key.as_str()));
            section.insert("expires", value(edit::datetime(&expires.to_string())));
            section.insert("accept-terms", value(*accept_terms));
            section.insert("purpose", value(purpose.as_str()));
            files.push(FileChange {
                path,
                text: doc.to_string(),
                created: existing.is_none(),
            });
        }
        Details::ServerRevoke {
            server,
            account,
            grant,
        } => {
            known_server(config, server)?;
            let path = format!("{SERVER_ACCOUNTS_DIR}/{server}/{account}.toml");
            let (doc, grant) = revoke(inst, &path, grant.as_deref(), &t)?;
            section.insert("name", value(server.as_str()));
            section.insert("account", value(account.as_str()));
            section.insert("grant", value(grant.as_str()));
            files.push(FileChange {
                path,
                text: doc.to_string(),
                created: false,
            });
        }
    }
    let section_name = if matches!(kind, RequestKind::ServerGrant | RequestKind::ServerRevoke) {
        "server"
    } else {
        "mail"
    };
    files.insert(
        0,
        FileChange {
            path: format!("{REQUESTS_DIR}/{t}.toml"),
            text: request_text(req, &t, section_name, section),
            created: true,
        },
    );
    Ok(Draft {
        ticket: t,
        kind,
        files,
    })
}

fn reason_str(r: DeactivateReason) -> &'static str {
    match r {
        DeactivateReason::Pensiun => "pensiun",
        DeactivateReason::Mutasi => "mutasi",
        DeactivateReason::Berhenti => "berhenti",
        DeactivateReason::Meninggal => "meninggal",
    }
}

fn request_text(req: &NewRequest, ticket: &str, section_name: &str, section: Table) -> String {
    let a = &req.applicant;
    let mut doc = DocumentMut::new();
    doc.insert("ticket", value(ticket));
    doc.insert("kind", value(req.details.kind().as_str()));
    doc.insert("submitted", value(edit::datetime(&req.submitted)));
    doc.insert(
        "applicant",
        Item::Table(edit::string_table(&[
            ("name", Some(&a.name)),
            ("nip", a.nip.as_deref()),
            ("opd", Some(&a.opd)),
            ("position", Some(&a.position)),
            ("contact", Some(&a.contact)),
            ("recipient", a.recipient.as_deref()),
        ])),
    );
    let mut letter = edit::string_table(&[("number", Some(&req.letter.number))]);
    letter.insert("date", value(edit::datetime(&req.letter.date.to_string())));
    letter.insert("signatory", value(req.letter.signatory.as_str()));
    doc.insert("letter", Item::Table(letter));
    doc.insert(section_name, Item::Table(section));
    doc.to_string()
}

fn new_mail_account(address: &str, ticket: &str, a: &Applicant) -> String {
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

fn new_server_account(server: &str, login: &str, opd: &str) -> DocumentMut {
    let mut doc = DocumentMut::new();
    doc.insert("server", value(server));
    doc.insert("login", value(login));
    doc.insert("kind", value("opd"));
    doc.insert("opd", value(opd));
    doc
}

fn find_source<'a>(sources: &'a Sources, path: &str) -> Option<&'a str> {
    sources
        .find(Path::new(path))
        .map(|id| sources.get(id).text.as_str())
}

fn known_server(config: &Config, server: &str) -> Result<(), NewError> {
    if config.server(server).is_some() {
        return Ok(());
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
fn mail_account(
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
fn revoke(
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

/// The instance as it would be with the draft written, and the check's diagnostics
/// that involve the draft's files (problems elsewhere are not this request's).
pub fn validate(inst: &Instance, draft: &Draft, today: Date) -> (Instance, Vec<Diagnostic>) {
    let mut files: Vec<(String, String)> = inst
        .sources
        .iter()
        .filter(|(_, f)| !draft.files.iter().any(|c| Path::new(&c.path) == f.path))
        .map(|(_, f)| (f.path.to_string_lossy().into_owned(), f.text.clone()))
        .collect();
    files.extend(draft.files.iter().map(|c| (c.path.clone(), c.text.clone())));
    let after = Instance::from_files(&inst.root, files);
    let report = run(
        &after,
        None,
        &Options {
            today,
            skip: Default::default(),
        },
    );
    let ours = |id: usize| {
        draft
            .files
            .iter()
            .any(|c| after.path(id) == Path::new(&c.path))
    };
    let diags = report
        .diagnostics
        .into_iter()
        .filter(|d| ours(d.primary.file) || d.secondary.iter().any(|l| ours(l.file)))
        .collect();
    (after, diags)
}

/// Writes the draft: every file to a temporary file beside it first, then all
/// renamed into place, so a failure leaves no half-written file.
pub fn write(root: &Path, draft: &Draft) -> Result<Vec<PathBuf>, NewError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| NewError::Io { path, source }
    };
    let mut staged = Vec::new();
    for c in &draft.files {
        let path = root.join(&c.path);
        if c.created && path.exists() {
            return Err(NewError::Io {
                path,
                source: std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "file already exists",
                ),
            });
        }
        let dir = path.parent().unwrap_or(root);
        std::fs::create_dir_all(dir).map_err(io(dir))?;
        let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(io(dir))?;
        std::io::Write::write_all(&mut tmp, c.text.as_bytes()).map_err(io(&path))?;
        tmp.as_file().sync_all().map_err(io(&path))?;
        staged.push((tmp, path));
    }
    let mut written = Vec::new();
    for (tmp, path) in staged {
        tmp.persist(&path).map_err(|e| NewError::Io {
            path: path.clone(),
            source: e.error,
        })?;
        written.push(path);
    }
    Ok(written)
}

#[cfg(test)]
mod tests;
