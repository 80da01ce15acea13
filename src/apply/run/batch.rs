//! Batch execution, per backend: each batch is gated, its credentials made
//! ([`seal`](super::seal)), its sealed files written, its intents journaled, then
//! it goes to the backend and each change is verified; its results are recorded
//! ([`finish`](super::finish)). The credentials of the next batch are made on all
//! cores meanwhile: hashing is the bulk of a large run, and the rest of a batch
//! mostly waits for the disk and the servers.

use std::collections::HashMap;

use super::prepare::State;
use super::seal::{self, Prep};
use super::{BATCH, Ctx, Slot, Status, Tally, finish};
use crate::apply::backend::Change;
use crate::apply::gate::ApprovalGate;
use crate::apply::journal::Entry;
use crate::apply::plan::PlannedChange;
use crate::apply::{ApplyError, Verified, fault};
use crate::model::record::EventKind;

/// Carries out `changes`, backend by backend, in batches.
pub(super) fn run(
    ctx: &Ctx,
    state: &mut State,
    tally: &mut Tally,
    slots: &mut [Slot],
    gate: &dyn ApprovalGate,
    changes: &[PlannedChange],
) -> Result<(), ApplyError> {
    let recipients = seal::registered_recipients(ctx);
    for slot in slots.iter_mut() {
        let name = slot.backend.name().to_string();
        let mine: Vec<&PlannedChange> = changes.iter().filter(|c| c.backend == name).collect();
        let chunks: Vec<&[&PlannedChange]> = mine.chunks((mine.len() / 20).max(BATCH)).collect();
        run_backend(ctx, state, tally, slot, gate, &recipients, &chunks)?;
    }
    Ok(())
}

/// One backend's batches, the credentials of each made while the one before is
/// carried out.
fn run_backend(
    ctx: &Ctx,
    state: &mut State,
    tally: &mut Tally,
    slot: &mut Slot,
    gate: &dyn ApprovalGate,
    recipients: &HashMap<String, String>,
    chunks: &[&[&PlannedChange]],
) -> Result<(), ApplyError> {
    let admin = ctx.config.backends.admin_recipient.as_deref();
    let outbox = &state.outbox.clone();
    let mut next = chunks
        .first()
        .map(|c| seal::prepare(outbox, recipients, admin, seal::admit(ctx, gate, c)));
    for i in 0..chunks.len() {
        let current = next.take().unwrap_or_default();
        let upcoming = chunks.get(i + 1).map(|c| seal::admit(ctx, gate, c));
        let (done, prepared) = std::thread::scope(|s| {
            let ahead =
                upcoming.map(|u| s.spawn(move || seal::prepare(outbox, recipients, admin, u)));
            let done = execute(ctx, state, tally, slot, current);
            let prepared = ahead.map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
            (done, prepared)
        });
        done?;
        next = prepared;
    }
    Ok(())
}

/// One batch: sealed files written, changes that cannot go ahead reported,
/// intents journaled, the rest applied, verified and recorded.
fn execute(
    ctx: &Ctx,
    state: &mut State,
    tally: &mut Tally,
    slot: &mut Slot,
    mut preps: Vec<Prep<'_>>,
) -> Result<(), ApplyError> {
    let name = slot.backend.name().to_string();
    seal::write(&state.outbox, &state.writers, &mut preps);
    let mut ready = Vec::new();
    for p in preps {
        match p {
            Prep::Refused(c, why) => tally.push(c, Status::Refused(why), None),
            Prep::Planned(c) => tally.push(c, Status::Planned, None),
            Prep::Failed(c, msg) => {
                tally.note(
                    &c.tickets,
                    &ctx.event(EventKind::Failed, Some(format!("{name}: {msg}"))),
                );
                tally.push(c, Status::Failed(msg), None);
            }
            Prep::Ready(c, cred) => ready.push((c, cred)),
        }
    }
    if ready.is_empty() {
        return Ok(());
    }
    let journal = state
        .journal
        .as_mut()
        .expect("journal open outside dry runs");
    journal.log(
        &ready
            .iter()
            .map(|(c, _)| Entry::Intent {
                run: ctx.opts.run_id.clone(),
                change: (*c).clone(),
            })
            .collect::<Vec<_>>(),
    )?;
    fault::point("intent");
    let batch: Vec<Change<'_>> = ready
        .iter()
        .map(|(c, cred)| Change {
            planned: c,
            password: cred.as_ref().map(|k| &k.password),
            hash: cred.as_ref().map(|k| k.hash.as_str()),
        })
        .collect();
    let results = slot.backend.apply(&batch);
    fault::point("applied");
    let mut outcome = Outcome::default();
    for ((change, result), (_, cred)) in batch.iter().zip(results).zip(&ready) {
        let status = match result {
            Ok(()) => verify(ctx, tally, slot, change, &mut outcome),
            Err(err) => {
                let msg = format!("{name}: {err}");
                tally.note(
                    &change.planned.tickets,
                    &ctx.event(EventKind::Failed, Some(msg.clone())),
                );
                Status::Failed(msg)
            }
        };
        outcome.dones.push(Entry::Done {
            change: change.planned.key(),
            ok: matches!(status, Status::Verified(_)),
        });
        tally.push(
            change.planned,
            status,
            cred.as_ref().and_then(|k| k.path.clone()),
        );
    }
    finish::settle_batch(ctx, state, tally, &outcome.failed, &outcome.verified)?;
    let journal = state
        .journal
        .as_mut()
        .expect("journal open outside dry runs");
    journal.log(&outcome.dones)?;
    fault::point("done");
    Ok(())
}

/// The batch's results, for the unverified list and the journal.
#[derive(Default)]
struct Outcome<'c> {
    failed: Vec<&'c PlannedChange>,
    verified: Vec<&'c PlannedChange>,
    dones: Vec<Entry>,
}

/// Verifies one applied change; its events (applied, then verified or failed).
fn verify<'c>(
    ctx: &Ctx,
    tally: &mut Tally,
    slot: &mut Slot,
    change: &Change<'c>,
    outcome: &mut Outcome<'c>,
) -> Status {
    let tickets = &change.planned.tickets;
    tally.changed.extend(tickets.iter().cloned());
    let applied = ctx.event(EventKind::Applied, Some(slot.backend.name().to_string()));
    let result = slot.backend.verify(change);
    fault::point("verified");
    match result {
        Ok(Verified::AsUser(how) | Verified::State(how)) => {
            for t in tickets {
                let e = tally.events.entry(t.clone()).or_default();
                e.push(applied.clone());
                e.push(ctx.event(EventKind::Verified, Some(how.clone())));
            }
            outcome.verified.push(change.planned);
            Status::Verified(how)
        }
        Err(err) => {
            let msg = err.to_string();
            for t in tickets {
                let e = tally.events.entry(t.clone()).or_default();
                e.push(applied.clone());
                e.push(ctx.event(EventKind::Failed, Some(msg.clone())));
            }
            outcome.failed.push(change.planned);
            Status::Failed(msg)
        }
    }
}
