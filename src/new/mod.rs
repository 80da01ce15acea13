//! `loket new`: turns what the applicant gives into a request file and the matching
//! `accounts/` change, checks the result with every rule before anything is written,
//! and writes atomically.
//!
//! [`draft`] builds the files in memory from the loaded [`Instance`]; [`validate`]
//! runs the full check on the instance as it would be with them; [`write`] puts them
//! on disk. The CLI (`src/cli/new.rs`) only gathers the fields.

mod accounts;
mod commit;
pub mod edit;
pub mod suggest;

use accounts::{
    find_source, known_server, mail_account, new_mail_account, new_server_account, revoke,
};
pub use commit::{Validated, validate, write};

use std::path::PathBuf;

use jiff::civil::Date;
use thiserror::Error;
use toml_edit::{DocumentMut, Item, Table, value};

use crate::model::config::ServerAccountKind;
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
    /// Why someone other than the holder asks (`[requests] on-behalf-positions`).
    pub on_behalf_reason: Option<String>,
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
    Names::new(used, &config.naming)
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
            let srv = known_server(config, server)?;
            // An agency (OPD) account where the server takes them, as the Kudus SOP
            // asks; a personal one on servers that only take those.
            let takes = |k| srv.account_kinds.iter().any(|x| *x.get_ref() == k);
            let kind = if takes(ServerAccountKind::Opd) || !takes(ServerAccountKind::Personal) {
                ServerAccountKind::Opd
            } else {
                ServerAccountKind::Personal
            };
            let path = format!("{SERVER_ACCOUNTS_DIR}/{server}/{account}.toml");
            let existing = find_source(&inst.sources, &path);
            let mut doc = match existing {
                Some(text) => edit::parse(text).map_err(|source| NewError::Edit {
                    path: path.clone(),
                    source,
                })?,
                None => new_server_account(server, account, kind, &a.opd),
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
            if kind == ServerAccountKind::Personal {
                section.insert("account-kind", value("personal"));
            }
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
            ("on-behalf-reason", a.on_behalf_reason.as_deref()),
        ])),
    );
    let mut letter = edit::string_table(&[("number", Some(&req.letter.number))]);
    letter.insert("date", value(edit::datetime(&req.letter.date.to_string())));
    letter.insert("signatory", value(req.letter.signatory.as_str()));
    doc.insert("letter", Item::Table(letter));
    doc.insert(section_name, Item::Table(section));
    doc.to_string()
}

#[cfg(test)]
mod tests;
