//! The credentials of a batch: each approved create/reset gets a new password, its
//! SHA512-CRYPT hash and the sealed letter, made on all cores ([`prepare`], while
//! the batch before is written, applied and verified); then the sealed files are
//! written, several at once, and put in place one by one ([`write`]), all before
//! the batch's journal intents. A run killed before a file is in place has changed
//! nothing live for it: the password existed only in memory, and the next run
//! makes a new one.

use std::collections::HashMap;
use std::path::PathBuf;

use rayon::prelude::*;

use super::Ctx;
use crate::apply::ApplyError;
use crate::apply::backend::Secret;
use crate::apply::credentials::{self, CredentialError, Outbox};
use crate::apply::fault;
use crate::apply::fsutil::{self, Staged};
use crate::apply::gate::ApprovalGate;
use crate::apply::plan::{PlannedChange, Target};
use crate::model::request::RequestKind;

/// One change of a batch on its way to the backend.
pub(super) enum Prep<'c> {
    /// Not approved: left alone, with why.
    Refused(&'c PlannedChange, String),
    /// Dry run: would be applied.
    Planned(&'c PlannedChange),
    /// Its password could not be sealed or written: not applied.
    Failed(&'c PlannedChange, String),
    /// Ready for the backend (with its credential, for a create/reset).
    Ready(&'c PlannedChange, Option<Credential>),
}

/// A new password with its hash and its sealed letter.
pub(super) struct Credential {
    pub password: Secret,
    /// `$6$…`, without a scheme prefix.
    pub hash: String,
    ticket: String,
    sealed: Vec<u8>,
    /// The sealed file, once in place.
    pub path: Option<PathBuf>,
}

/// The gate's verdict on each change of a batch, in order (on this thread: the
/// gate is not shared).
pub(super) fn admit<'c>(
    ctx: &Ctx,
    gate: &dyn ApprovalGate,
    chunk: &[&'c PlannedChange],
) -> Vec<Prep<'c>> {
    let kind_of = |t: &str| ctx.kind_of(t);
    chunk
        .iter()
        .map(|c| match gate.approve(c, &kind_of) {
            Err(why) => Prep::Refused(c, why),
            Ok(()) if ctx.opts.dry_run => Prep::Planned(c),
            Ok(()) => Prep::Ready(c, None),
        })
        .collect()
}

/// Makes the credential of every ready create/reset, on all cores.
pub(super) fn prepare<'c>(
    outbox: &Outbox,
    recipients: &HashMap<String, String>,
    admin: Option<&str>,
    preps: Vec<Prep<'c>>,
) -> Vec<Prep<'c>> {
    let preps: Vec<Prep<'c>> = preps
        .into_par_iter()
        .map(|p| match p {
            Prep::Ready(c, None) if c.action.needs_password(&c.target) => {
                match credential(outbox, c, recipients, admin) {
                    Ok(cred) => Prep::Ready(c, Some(cred)),
                    Err(e) => Prep::Failed(c, e.to_string()),
                }
            }
            other => other,
        })
        .collect();
    fault::point("prepared");
    preps
}

/// For create/reset: a new password and its hash, sealed to the account's
/// registered recipient (or the admin's), for the outbox file named after the
/// change's last ticket.
fn credential(
    outbox: &Outbox,
    c: &PlannedChange,
    recipients: &HashMap<String, String>,
    admin: Option<&str>,
) -> Result<Credential, ApplyError> {
    // The key registered with the account, never one a later request supplies: a
    // reset asked by someone else must not deliver the password to them (L045).
    let registered = match &c.target {
        Target::Mail { address, .. } => recipients.get(address).map(String::as_str),
        _ => None,
    };
    let recipient = registered.or(admin).ok_or(CredentialError::NoRecipient)?;
    let recipient = credentials::recipient(recipient)?;
    let ticket = c.tickets.last().cloned().unwrap_or_default();
    let address = match &c.target {
        Target::Mail { address, .. } => address.clone(),
        other => other.to_string(),
    };
    let password = credentials::generate_password();
    let hash = credentials::sha512_crypt(&password)?;
    let msg = credentials::credential_message(&ticket, &address, &password);
    outbox.check_name(&ticket)?;
    let sealed = credentials::seal(&msg, recipient.as_ref())?;
    Ok(Credential {
        password,
        hash,
        ticket,
        sealed,
        path: None,
    })
}

/// Writes the sealed files of a batch: synced on the writer threads, then put in
/// place one by one (each a `sealed` kill point) and their folder synced. A file
/// that cannot be written fails its change.
pub(super) fn write(outbox: &Outbox, writers: &rayon::ThreadPool, preps: &mut [Prep<'_>]) {
    let staged: Vec<Option<Result<Staged, ApplyError>>> = writers.install(|| {
        preps
            .par_iter()
            .map(|p| match p {
                Prep::Ready(_, Some(cred)) => Some(stage(outbox, cred)),
                _ => None,
            })
            .collect()
    });
    let mut any = false;
    for (p, s) in preps.iter_mut().zip(staged) {
        let Some(s) = s else { continue };
        let Prep::Ready(c, Some(cred)) = p else {
            continue;
        };
        match s.and_then(|s| Ok(s.commit()?)) {
            Ok(()) => {
                fault::point("sealed");
                cred.path = Some(outbox.path_for(&cred.ticket));
                cred.sealed = Vec::new();
                any = true;
            }
            Err(e) => *p = Prep::Failed(c, e.to_string()),
        }
    }
    if any {
        // One sync of the outbox makes every rename of the batch durable.
        fsutil::sync_dir(&outbox.path_for("outbox"));
    }
}

/// The sealed file written and synced beside its place in the outbox, a 0700
/// directory of this user; an entry that is not a regular file of this user is
/// refused, not replaced.
fn stage(outbox: &Outbox, cred: &Credential) -> Result<Staged, ApplyError> {
    outbox.check_name(&cred.ticket)?;
    fsutil::private_dir(&outbox.dir)?;
    let path = outbox.path_for(&cred.ticket);
    fsutil::check_private_file(&path)?;
    fsutil::stage(&path, &cred.sealed, 0o600, None).map_err(ApplyError::from)
}

/// Each mail account's registered recipient: the one its `mail-create` request gave.
pub(super) fn registered_recipients(ctx: &Ctx) -> HashMap<String, String> {
    ctx.inst
        .mail_accounts
        .iter()
        .filter_map(|a| {
            let recipient = a
                .value
                .tickets
                .iter()
                .filter_map(|t| ctx.requests.get(t.get_ref().as_str()))
                .find(|r| r.kind() == RequestKind::MailCreate)?
                .applicant
                .recipient
                .as_ref()?
                .get_ref()
                .clone();
            Some((a.value.address.get_ref().to_lowercase(), recipient))
        })
        .collect()
}
