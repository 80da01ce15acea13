//! Apply: turns `accounts/` into live accounts. Owns the plan (diff of desired vs
//! live), the run that carries it out safely (lock, journal, guard, approval gate),
//! credentials (generated, hashed, sealed), and the backends behind one trait.
//!
//! A run: lock → read each backend's live state → plan → guard (share of access
//! removed) → per change: gate (approved tickets only), password sealed to the
//! outbox, journal intent, backend apply, verify, record events, journal done.

pub mod adopt;
pub mod audit;
pub mod backend;
pub mod command;
pub mod credentials;
pub mod dovecot;
pub mod fault;
pub mod fsutil;
pub mod gate;
pub mod guard;
pub mod journal;
pub mod keydir;
pub mod kinds;
pub mod ldap;
pub mod lock;
pub mod mailcheck;
pub mod owned;
pub mod plan;
pub mod preview;
pub mod readback;
pub mod records;
pub mod redact;
pub mod run;
pub mod ssh;
pub mod unverified;
pub mod verify;

pub use backend::{
    Backend, BackendError, Change, LiveKey, LiveMail, LiveServerAccount, LiveState, Secret,
    Verified,
};
pub use plan::{Action, Desired, Plan, PlannedChange, Target};
pub use run::{Role, Slot};

use std::collections::HashMap;
use std::path::PathBuf;

use thiserror::Error;

use crate::model::backends::{MailBackend, ServerBackend};
use crate::model::{Config, Instance};

#[derive(Debug, Error)]
pub enum ApplyError {
    #[error("another `loket apply` holds {0}; wait for it to finish")]
    Locked(PathBuf),
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Backend(#[from] BackendError),
    #[error(transparent)]
    Credential(#[from] credentials::CredentialError),
    #[error("{path}: cannot update the record: {message}")]
    Record { path: PathBuf, message: String },
    #[error("{path}: {message}")]
    State { path: PathBuf, message: String },
    #[error(
        "{cause}\nthis run changed the accounts of {} ticket(s) and could not record them \
         all: {}. Their changes are live; the next `loket apply` verifies and records \
         them once records/ can be written",
        tickets.len(),
        tickets.join(", ")
    )]
    Unrecorded {
        tickets: Vec<String>,
        cause: Box<ApplyError>,
    },
    #[error(
        "refused: the run would remove access from {removals} of {total} live accounts/keys \
         on `{backend}`, more than max-disable-share = {max_share}. If accounts/ is right, \
         rerun with --max-disable-share; if not, fix accounts/ first"
    )]
    Guard {
        backend: String,
        removals: usize,
        total: usize,
        max_share: f64,
    },
    #[error("[backends] in loket.toml: {0}")]
    Config(String),
    #[error("the approvals gate cannot judge this run; nothing applied: {0}")]
    Gate(String),
}

/// The backends `loket.toml` configures, ready to read and apply.
pub fn open_backends(inst: &Instance, config: &Config) -> Result<Vec<Slot>, ApplyError> {
    let mut slots = Vec::new();
    // Backends that judge expiry themselves (ssh, ldap) use the office's date.
    let today = run::today(config, jiff::Timestamp::now());
    let cfg = |e: BackendError| ApplyError::Config(e.to_string());
    let domains: Vec<String> = config
        .mail
        .domains
        .get_ref()
        .iter()
        .map(|d| d.get_ref().clone())
        .collect();
    match &config.backends.mail {
        Some(MailBackend::Dovecot(s)) => slots.push(Slot {
            role: Role::Mail,
            backend: Box::new(
                dovecot::Dovecot::open((**s).clone(), config, &inst.root, domains).map_err(cfg)?,
            ),
        }),
        Some(MailBackend::Ldap(s)) => slots.push(Slot {
            role: Role::Mail,
            backend: Box::new(
                ldap::LdapBackend::from_env(s.clone(), ldap::LdapRole::Mail, today).map_err(cfg)?,
            ),
        }),
        Some(MailBackend::Command(s)) => slots.push(Slot {
            role: Role::Mail,
            backend: Box::new(command::open(s, config, &inst.root, domains).map_err(cfg)?),
        }),
        None => {}
    }
    match &config.backends.server {
        Some(ServerBackend::Keydir(s)) => slots.push(Slot {
            role: Role::Server,
            backend: Box::new(keydir::Keydir::new(s, &inst.root)),
        }),
        Some(ServerBackend::Ssh(s)) => {
            let mut logins: std::collections::BTreeMap<String, Vec<String>> = Default::default();
            for a in &inst.server_accounts {
                logins
                    .entry(a.value.server.get_ref().clone())
                    .or_default()
                    .push(a.value.login.get_ref().clone());
            }
            slots.push(Slot {
                role: Role::Server,
                backend: Box::new(
                    ssh::SshBackend::from_config(s, config, &inst.root, logins, today)
                        .map_err(cfg)?,
                ),
            })
        }
        Some(ServerBackend::Ldap(s)) => slots.push(Slot {
            role: Role::Server,
            backend: Box::new(
                ldap::LdapBackend::from_env(s.clone(), ldap::LdapRole::Server, today)
                    .map_err(cfg)?,
            ),
        }),
        Some(ServerBackend::Command(_)) => return Err(not_built("server", "command")),
        None => {}
    }
    Ok(slots)
}

fn not_built(role: &str, kind: &str) -> ApplyError {
    ApplyError::Config(format!(
        "backends.{role} type = \"{kind}\" is not available in this build"
    ))
}

impl<'a> Desired<'a> {
    /// The desired state of a loaded instance.
    pub fn from_instance(inst: &'a Instance) -> Self {
        Desired {
            mail: inst.mail_accounts.iter().map(|l| &l.value).collect(),
            server: inst.server_accounts.iter().map(|l| &l.value).collect(),
            kinds: if inst.requests_skipped {
                plan::Kinds::OnDisk(inst.root.clone())
            } else {
                plan::Kinds::Known(
                    inst.requests
                        .iter()
                        .map(|r| (r.value.ticket(), r.value.kind()))
                        .collect::<HashMap<_, _>>(),
                )
            },
        }
    }
}
