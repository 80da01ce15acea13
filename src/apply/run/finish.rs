//! The stages after the backends: events written to the records (several at
//! once), the unverified list kept in step with them, earlier changes verified
//! again, and the journal closed. Failed verifications are listed before the
//! records are written; verified changes unlisted only once they are (the journal
//! covers the gap).

use std::collections::BTreeMap;
use std::path::PathBuf;

use rayon::prelude::*;

use super::prepare::State;
use super::{ChangeReport, Ctx, RunReport, Slot, Status, Tally};
use crate::apply::backend::Change;
use crate::apply::fsutil::{self, Staged};
use crate::apply::journal::{Interrupted, Journal};
use crate::apply::plan::PlannedChange;
use crate::apply::records::{self, TicketEvents};
use crate::apply::unverified::Unverified;
use crate::apply::{ApplyError, Verified, fault};
use crate::model::record::{Event, EventKind};

/// Intents of a killed run that were carried out: recorded as applied now,
/// verified (or redone as a reset) with the other retries.
pub(super) fn resumed(
    ctx: &Ctx,
    state: &mut State,
    tally: &mut Tally,
    resumed: &[Interrupted],
) -> Result<(), ApplyError> {
    for i in resumed {
        tally.report.resumed.push(i.change.key());
        let detail = format!("completed by interrupted run {}", i.run);
        tally.note(
            &i.change.tickets,
            &ctx.event(EventKind::Applied, Some(detail)),
        );
    }
    if !ctx.opts.dry_run {
        flush_records(ctx, state, &mut tally.events)?;
    }
    Ok(())
}

/// After a batch: failed verifications listed, events recorded, verified changes
/// unlisted.
pub(super) fn settle_batch(
    ctx: &Ctx,
    state: &mut State,
    tally: &mut Tally,
    failed: &[&PlannedChange],
    verified: &[&PlannedChange],
) -> Result<(), ApplyError> {
    settle(&mut state.pending, failed, &[])?;
    flush_records(ctx, state, &mut tally.events).map_err(|e| unrecorded(e, &tally.changed))?;
    settle(&mut state.pending, &[], verified)
}

/// The changes an earlier run applied and this one only verifies again.
pub(super) fn reverify(
    ctx: &Ctx,
    state: &mut State,
    tally: &mut Tally,
    slots: &mut [Slot],
    changes: Vec<PlannedChange>,
) -> Result<(), ApplyError> {
    let (mut failed, mut verified) = (Vec::new(), Vec::new());
    for c in changes {
        let Some(slot) = slots.iter_mut().find(|s| s.backend.name() == c.backend) else {
            continue; // backend no longer configured: nothing left to verify
        };
        if ctx.opts.dry_run {
            tally.push(&c, Status::Planned, None);
            continue;
        }
        let change = Change {
            planned: &c,
            password: None,
            hash: None,
        };
        let (kind, detail, status) = match slot.backend.verify(&change) {
            Ok(Verified::AsUser(how) | Verified::State(how)) => {
                verified.push(c.clone());
                (EventKind::Verified, how.clone(), Status::Verified(how))
            }
            Err(err) => {
                failed.push(c.clone());
                let msg = err.to_string();
                (EventKind::Failed, msg.clone(), Status::Failed(msg))
            }
        };
        fault::point("verified");
        let event = ctx.event(kind, Some(format!("re-verified: {detail}")));
        tally.note(&c.tickets, &event);
        tally.report.changes.push(ChangeReport {
            change: c,
            status,
            sealed: None,
        });
    }
    if !ctx.opts.dry_run {
        let failed: Vec<&PlannedChange> = failed.iter().collect();
        let verified: Vec<&PlannedChange> = verified.iter().collect();
        settle_batch(ctx, state, tally, &failed, &verified)?;
    }
    Ok(())
}

/// Empties the journal (every change started is finished) and redacts the report.
pub(super) fn close(mut state: State, mut tally: Tally) -> Result<RunReport, ApplyError> {
    if let Some(j) = state.journal.as_mut() {
        j.clear()?;
    }
    tally.report.redact();
    Ok(tally.report)
}

/// Lists the `failed` changes and unlists the `verified` (and recorded) ones in
/// `unverified.json`, written at once when that changes it.
fn settle(
    pending: &mut Unverified,
    failed: &[&PlannedChange],
    verified: &[&PlannedChange],
) -> Result<(), ApplyError> {
    let mut changed = false;
    for c in failed {
        changed |= pending.add(c);
    }
    for c in verified {
        changed |= pending.resolve(c);
    }
    if changed {
        pending.persist()?;
    }
    Ok(())
}

/// A records error after accounts were changed: names every ticket changed.
fn unrecorded(e: ApplyError, changed: &[String]) -> ApplyError {
    if changed.is_empty() {
        return e;
    }
    let mut tickets = changed.to_vec();
    tickets.sort();
    tickets.dedup();
    ApplyError::Unrecorded {
        tickets,
        cause: Box::new(e),
    }
}

/// Writes the events to the records: each record read, updated and written
/// beside its place on the writer threads, then put in place one by one in ticket
/// order (each a `recorded` kill point), each noted in the journal as soon as it
/// is, and the folder synced. Stops at the first record that cannot be written.
fn flush_records(
    ctx: &Ctx,
    state: &mut State,
    events: &mut BTreeMap<String, Vec<Event>>,
) -> Result<(), ApplyError> {
    let batch: Vec<TicketEvents> = std::mem::take(events)
        .into_iter()
        .map(|(ticket, events)| TicketEvents {
            kind: ctx.kind_of(&ticket),
            ticket,
            events,
        })
        .collect();
    if batch.is_empty() {
        return Ok(());
    }
    let root = &ctx.inst.root;
    let staged: Vec<Result<(PathBuf, Staged), ApplyError>> = state.writers.install(|| {
        batch
            .par_iter()
            .map(|t| -> Result<(PathBuf, Staged), ApplyError> {
                let (path, text) = records::render(root, ctx.config, t)?;
                let staged = fsutil::stage(&path, text.as_bytes(), 0o644, None)?;
                Ok((path, staged))
            })
            .collect()
    });
    let mut last = None;
    let result = commit_records(&batch, staged, state.journal.as_mut(), &mut last);
    if let Some(path) = last {
        fsutil::sync_dir(&path);
    }
    result
}

/// Puts the staged records in place in order, noting each in the journal.
fn commit_records(
    batch: &[TicketEvents],
    staged: Vec<Result<(PathBuf, Staged), ApplyError>>,
    mut journal: Option<&mut Journal>,
    last: &mut Option<PathBuf>,
) -> Result<(), ApplyError> {
    for (t, s) in batch.iter().zip(staged) {
        let (path, staged) = s?;
        staged.commit()?;
        fault::point("recorded");
        *last = Some(path);
        if let Some(j) = journal.as_deref_mut() {
            j.recorded(&t.ticket)?;
        }
    }
    Ok(())
}
