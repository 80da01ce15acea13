//! One `loket plan` / `loket apply` run over all configured backends.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::Offset;
use serde::Serialize;

use super::backend::{Backend, Change, LiveState, Secret};
use super::credentials::{self, Outbox};
use super::gate::ApprovalGate;
use super::journal::{self, Entry, Interrupted, Journal};
use super::lock::Lock;
use super::plan::{Desired, Plan, PlannedChange, Target, diff_mail, diff_server};
use super::readback::Expect;
use super::records::{self, TicketEvents};
use super::unverified::{self, Unverified};
use super::{ApplyError, fault, fsutil, guard};
use crate::model::record::{Event, EventKind};
use crate::model::request::{Request, RequestKind};
use crate::model::{Config, Instance};

/// Fewest changes that go to a backend at once (one file write / session each).
/// Large runs use up to 20 batches, as a file backend rewrites its whole file per batch.
const BATCH: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Mail,
    Server,
}

/// A configured backend and what it serves.
pub struct Slot {
    pub role: Role,
    pub backend: Box<dyn Backend>,
}

/// The plan with the live states it was made from.
pub struct Planned {
    pub plan: Plan,
    /// Each backend's name, in the order of `live`.
    pub backends: Vec<String>,
    pub live: Vec<LiveState>,
    /// Backends whose live state could not be read: `(backend, error)`.
    pub unreadable: Vec<(String, String)>,
}

/// The office's calendar date now (expiry is by local day).
pub fn today(config: &Config, now: Timestamp) -> Date {
    let hours = config.office.time_zone.get_ref().utc_offset_hours();
    Offset::constant(hours).to_datetime(now).date()
}

/// An RFC 3339 instant in the office's zone, as the records hold them.
pub fn stamp(config: &Config, now: Timestamp) -> String {
    let hours = config.office.time_zone.get_ref().utc_offset_hours();
    let local = Offset::constant(hours).to_datetime(now);
    format!("{}{hours:+03}:00", local.strftime("%Y-%m-%dT%H:%M:%S"))
}

/// What the next apply retries of the changes an earlier run applied but did not
/// verify and record (those `plan` does not supersede): the unverified list, and
/// the changes of an interrupted run that the live state shows done. A password
/// change is retried as a reset, anything else verified again as it is.
pub fn retries(
    config: &Config,
    root: &std::path::Path,
    planned: &Planned,
) -> Result<Vec<PlannedChange>, ApplyError> {
    let state_dir = root.join(&config.backends.state_dir);
    fsutil::check_private_dir(&state_dir)?;
    let expect = Expect::new(config);
    let mut pending = Unverified::load(&state_dir, &expect)?;
    let interrupted = Journal::read(&state_dir, &expect)?;
    for i in resumed(&interrupted, planned) {
        pending.add(&i.change);
    }
    let retries = pending.retries(&planned.plan.changes);
    Ok(retries
        .reapply
        .into_iter()
        .chain(retries.reverify)
        .collect())
}

/// The intents of an interrupted run that were carried out: no longer planned,
/// and the live state (of a backend that could be read) holds their result. They
/// are live but were never verified nor recorded.
fn resumed<'a>(interrupted: &'a [Interrupted], planned: &Planned) -> Vec<&'a Interrupted> {
    let keys: HashSet<String> = planned.plan.changes.iter().map(|c| c.key()).collect();
    interrupted
        .iter()
        .filter(|i| !keys.contains(&i.change.key()))
        .filter(|i| {
            planned
                .backends
                .iter()
                .zip(&planned.live)
                .find(|(name, _)| **name == i.change.backend)
                .is_some_and(|(name, live)| {
                    !planned.unreadable.iter().any(|(u, _)| u == name) && holds(live, &i.change)
                })
        })
        .collect()
}

/// Whether `live` holds the result of `c` (the account or key is there, or gone).
fn holds(live: &LiveState, c: &PlannedChange) -> bool {
    match &c.target {
        Target::Mail { address, .. } => live.mail.contains_key(address),
        Target::ServerAccount { server, login } => {
            live.server.contains_key(&(server.clone(), login.clone()))
        }
        Target::Key {
            server,
            login,
            grant,
            ..
        } => {
            let present = live
                .server
                .get(&(server.clone(), login.clone()))
                .is_some_and(|a| a.keys.iter().any(|k| k.ticket.as_deref() == Some(grant)));
            present != c.action.removes_access()
        }
    }
}

/// Reads every backend and diffs it against `accounts/`.
pub fn plan(inst: &Instance, slots: &mut [Slot], today: Date) -> Planned {
    let desired = Desired::from_instance(inst);
    let mut out = Planned {
        plan: Plan::default(),
        backends: Vec::new(),
        live: Vec::new(),
        unreadable: Vec::new(),
    };
    for slot in slots.iter_mut() {
        let name = slot.backend.name().to_string();
        out.backends.push(name.clone());
        match slot.backend.read() {
            Ok(live) => {
                let changes = match slot.role {
                    Role::Mail => diff_mail(&name, &desired, &live),
                    Role::Server => diff_server(&name, &desired, &live, today),
                };
                out.plan.changes.extend(changes);
                out.live.push(live);
            }
            Err(e) => {
                out.unreadable
                    .push((name, super::redact::redact_owned(e.to_string())));
                out.live.push(LiveState::default());
            }
        }
    }
    out
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "status", content = "detail", rename_all = "kebab-case")]
pub enum Status {
    /// Dry run: would be applied.
    Planned,
    /// Not approved: left alone.
    Refused(String),
    Failed(String),
    /// Applied and verified (how).
    Verified(String),
}

#[derive(Debug, Clone, Serialize)]
pub struct ChangeReport {
    pub change: PlannedChange,
    #[serde(flatten)]
    pub status: Status,
    /// Where the sealed password went, for create/reset.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sealed: Option<PathBuf>,
}

#[derive(Debug, Default, Serialize)]
pub struct RunReport {
    pub run: String,
    pub changes: Vec<ChangeReport>,
    /// Changes of an interrupted earlier run found done, recorded now.
    pub resumed: Vec<String>,
    pub unreadable: Vec<(String, String)>,
    /// Merged follow-up pull requests recorded after the changes (or refused).
    pub follow_ups: Vec<crate::followup::record::FollowUpResult>,
}

impl RunReport {
    pub fn ok(&self) -> bool {
        self.unreadable.is_empty()
            && self
                .changes
                .iter()
                .all(|c| matches!(c.status, Status::Verified(_) | Status::Planned))
    }
}

pub struct Options {
    pub dry_run: bool,
    pub run_id: String,
    pub now: Timestamp,
    /// The office date for expiry; default: today in the office's zone.
    pub today: Option<Date>,
    /// Overrides `backends.max-disable-share` for this run.
    pub max_disable_share: Option<crate::model::backends::Share>,
}

/// Carries the plan out: gate, guard, lock, journal, seal, apply, verify, record.
///
/// What an earlier run left unfinished is finished first: changes it applied but
/// did not verify, or verified but did not record (killed, verification failed,
/// `records/` not writable) are kept in `unverified.json` and retried until they
/// are verified and recorded. The list is written before each step that can fail
/// (records, journal), never only at the end.
pub fn apply(
    inst: &Instance,
    config: &Config,
    slots: &mut [Slot],
    gate: &mut dyn ApprovalGate,
    opts: &Options,
) -> Result<RunReport, ApplyError> {
    let state_dir = inst.root.join(&config.backends.state_dir);
    let expect = Expect::new(config);
    let outbox = Outbox {
        dir: inst.root.join(
            config
                .backends
                .outbox
                .clone()
                .unwrap_or_else(|| format!("{}/outbox", config.backends.state_dir)),
        ),
    };
    let _lock = if opts.dry_run {
        fsutil::check_private_dir(&state_dir)?;
        None
    } else {
        Some(Lock::acquire(&state_dir)?)
    };
    if !opts.dry_run {
        // Temp files of a killed run's atomic writes (records/ is committed by CI);
        // the backends' own folders are cleaned at their first write.
        fsutil::remove_stale_temps(&inst.root.join(crate::model::record::RECORDS_DIR));
        fsutil::remove_stale_temps(&state_dir);
        outbox.prepare()?;
    }
    let (mut journal, interrupted) = if opts.dry_run {
        (None, Journal::read(&state_dir, &expect)?)
    } else {
        let (j, i) = Journal::open(&state_dir, &expect)?;
        (Some(j), i)
    };
    let mut planned = plan(
        inst,
        slots,
        opts.today.unwrap_or_else(|| today(config, opts.now)),
    );
    let requests: HashMap<&str, &Request> = inst
        .requests
        .iter()
        .map(|r| (r.value.ticket(), &r.value))
        .collect();
    // Changes live but not verified and recorded: listed by an earlier run, or
    // found done from an interrupted run's intents. Listed before anything else.
    let mut pending = Unverified::load(&state_dir, &expect)?;
    let resumed = resumed(&interrupted, &planned);
    let known = |file: &str, c: &PlannedChange| -> Result<(), ApplyError> {
        match c
            .tickets
            .iter()
            .find(|t| !requests.contains_key(t.as_str()))
        {
            Some(t) if !inst.requests_skipped => Err(ApplyError::State {
                path: state_dir.join(file),
                message: format!("names ticket {t}, which has no request in requests/"),
            }),
            _ => Ok(()),
        }
    };
    for c in &pending.changes {
        known(unverified::FILE, c)?;
    }
    for i in &interrupted {
        known(journal::FILE, &i.change)?;
    }
    let mut listed = false;
    for i in &resumed {
        listed |= pending.add(&i.change);
    }
    if listed && !opts.dry_run {
        pending.persist()?;
    }
    // Retried now, except on a backend that cannot be read (kept for the next run).
    let mut retries = pending.retries(&planned.plan.changes);
    let readable = |c: &PlannedChange| !planned.unreadable.iter().any(|(u, _)| *u == c.backend);
    retries.reapply.retain(readable);
    retries.reverify.retain(readable);
    planned.plan.changes.extend(retries.reapply);
    let kind_of = |t: &str| requests.get(t).map(|r| r.kind());
    let recipients = registered_recipients(inst, &requests);
    gate.prepare(&planned.plan.changes)
        .map_err(ApplyError::Gate)?;

    let max_share = opts
        .max_disable_share
        .unwrap_or(config.backends.max_disable_share);
    for (slot, live) in slots.iter().zip(&planned.live) {
        let name = slot.backend.name();
        let mine: Vec<PlannedChange> = planned
            .plan
            .changes
            .iter()
            .filter(|c| c.backend == name)
            .cloned()
            .collect();
        guard::check(name, &mine, live, max_share)?;
    }

    let mut report = RunReport {
        run: opts.run_id.clone(),
        unreadable: planned.unreadable.clone(),
        ..Default::default()
    };
    let at = stamp(config, opts.now);
    let event = |kind, detail: Option<String>| Event {
        kind,
        at: at.clone(),
        run: Some(opts.run_id.clone()),
        detail,
    };
    let mut events: BTreeMap<String, Vec<Event>> = BTreeMap::new();
    // Tickets whose accounts this run changed: named if their records cannot be written.
    let mut changed: Vec<String> = Vec::new();

    // Intents of a killed run that were carried out: recorded as applied now,
    // verified (or redone as a reset) below with the other retries.
    for i in &resumed {
        report.resumed.push(i.change.key());
        for t in &i.change.tickets {
            events.entry(t.clone()).or_default().push(event(
                EventKind::Applied,
                Some(format!("completed by interrupted run {}", i.run)),
            ));
        }
    }
    if !opts.dry_run {
        flush_records(inst, config, &mut events, &kind_of, journal.as_mut())?;
    }

    for slot in slots.iter_mut() {
        let name = slot.backend.name().to_string();
        let mine: Vec<&PlannedChange> = planned
            .plan
            .changes
            .iter()
            .filter(|c| c.backend == name)
            .collect();
        for chunk in mine.chunks((mine.len() / 20).max(BATCH)) {
            // Gate, then passwords sealed to the outbox before anything is written.
            let mut ready: Vec<(&PlannedChange, Option<Secret>, Option<PathBuf>)> = Vec::new();
            for c in chunk {
                if let Err(why) = gate.approve(c, &kind_of) {
                    report.changes.push(ChangeReport {
                        change: (*c).clone(),
                        status: Status::Refused(why),
                        sealed: None,
                    });
                    continue;
                }
                if opts.dry_run {
                    report.changes.push(ChangeReport {
                        change: (*c).clone(),
                        status: Status::Planned,
                        sealed: None,
                    });
                    continue;
                }
                match seal_password(c, &recipients, config, &outbox) {
                    Ok((pw, path)) => {
                        fault::point("sealed");
                        ready.push((c, pw, path))
                    }
                    Err(e) => {
                        let msg = e.to_string();
                        for t in &c.tickets {
                            events
                                .entry(t.clone())
                                .or_default()
                                .push(event(EventKind::Failed, Some(format!("{name}: {msg}"))));
                        }
                        report.changes.push(ChangeReport {
                            change: (*c).clone(),
                            status: Status::Failed(msg),
                            sealed: None,
                        });
                    }
                }
            }
            if ready.is_empty() {
                continue;
            }
            let journal = journal.as_mut().expect("journal open outside dry runs");
            journal.log(
                &ready
                    .iter()
                    .map(|(c, _, _)| Entry::Intent {
                        run: opts.run_id.clone(),
                        change: (*c).clone(),
                    })
                    .collect::<Vec<_>>(),
            )?;
            fault::point("intent");
            let batch: Vec<Change<'_>> = ready
                .iter()
                .map(|(c, pw, _)| Change {
                    planned: c,
                    password: pw.as_ref(),
                })
                .collect();
            let results = slot.backend.apply(&batch);
            fault::point("applied");
            let mut dones = Vec::new();
            let (mut failed, mut verified) = (Vec::new(), Vec::new());
            for ((change, result), (_, _, sealed)) in batch.iter().zip(results).zip(&ready) {
                let status = match result {
                    Ok(()) => {
                        changed.extend(change.planned.tickets.iter().cloned());
                        let applied = event(EventKind::Applied, Some(name.clone()));
                        let outcome = slot.backend.verify(change);
                        fault::point("verified");
                        match outcome {
                            Ok(v) => {
                                let how = match v {
                                    super::Verified::AsUser(s) | super::Verified::State(s) => s,
                                };
                                for t in &change.planned.tickets {
                                    let e = events.entry(t.clone()).or_default();
                                    e.push(applied.clone());
                                    e.push(event(EventKind::Verified, Some(how.clone())));
                                }
                                verified.push(change.planned);
                                Status::Verified(how)
                            }
                            Err(err) => {
                                let msg = err.to_string();
                                for t in &change.planned.tickets {
                                    let e = events.entry(t.clone()).or_default();
                                    e.push(applied.clone());
                                    e.push(event(EventKind::Failed, Some(msg.clone())));
                                }
                                failed.push(change.planned);
                                Status::Failed(msg)
                            }
                        }
                    }
                    Err(err) => {
                        let msg = format!("{name}: {err}");
                        for t in &change.planned.tickets {
                            events
                                .entry(t.clone())
                                .or_default()
                                .push(event(EventKind::Failed, Some(msg.clone())));
                        }
                        Status::Failed(msg)
                    }
                };
                dones.push(Entry::Done {
                    change: change.planned.key(),
                    ok: matches!(status, Status::Verified(_)),
                });
                report.changes.push(ChangeReport {
                    change: change.planned.clone(),
                    status,
                    sealed: sealed.clone(),
                });
            }
            // Failed verifications listed before the records are written; verified
            // changes unlisted only once they are (the journal covers the gap).
            settle(&mut pending, &failed, &[])?;
            flush_records(inst, config, &mut events, &kind_of, Some(&mut *journal))
                .map_err(|e| unrecorded(e, &changed))?;
            settle(&mut pending, &[], &verified)?;
            journal.log(&dones)?;
            fault::point("done");
        }
    }
    let (mut failed, mut verified) = (Vec::new(), Vec::new());
    for c in retries.reverify {
        let Some(slot) = slots.iter_mut().find(|s| s.backend.name() == c.backend) else {
            continue; // backend no longer configured: nothing left to verify
        };
        if opts.dry_run {
            report.changes.push(ChangeReport {
                change: c,
                status: Status::Planned,
                sealed: None,
            });
            continue;
        }
        let (kind, status) = match slot.backend.verify(&Change {
            planned: &c,
            password: None,
        }) {
            Ok(super::Verified::AsUser(how) | super::Verified::State(how)) => {
                verified.push(c.clone());
                (EventKind::Verified, Status::Verified(how))
            }
            Err(err) => {
                failed.push(c.clone());
                (EventKind::Failed, Status::Failed(err.to_string()))
            }
        };
        fault::point("verified");
        let detail = match &status {
            Status::Verified(s) | Status::Failed(s) => s.clone(),
            _ => String::new(),
        };
        for t in &c.tickets {
            events
                .entry(t.clone())
                .or_default()
                .push(event(kind, Some(format!("re-verified: {detail}"))));
        }
        report.changes.push(ChangeReport {
            change: c,
            status,
            sealed: None,
        });
    }
    if !opts.dry_run {
        let failed: Vec<&PlannedChange> = failed.iter().collect();
        let verified: Vec<&PlannedChange> = verified.iter().collect();
        settle(&mut pending, &failed, &[])?;
        flush_records(inst, config, &mut events, &kind_of, journal.as_mut())
            .map_err(|e| unrecorded(e, &changed))?;
        settle(&mut pending, &[], &verified)?;
    }
    if let Some(j) = journal.as_mut() {
        j.clear()?;
    }
    report.redact();
    Ok(report)
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

/// Writes the events to the records; each ticket written is noted in the journal.
fn flush_records(
    inst: &Instance,
    config: &Config,
    events: &mut BTreeMap<String, Vec<Event>>,
    kind_of: &dyn Fn(&str) -> Option<RequestKind>,
    mut journal: Option<&mut Journal>,
) -> Result<(), ApplyError> {
    for (ticket, evs) in std::mem::take(events) {
        records::write(
            &inst.root,
            config,
            &TicketEvents {
                kind: kind_of(&ticket),
                ticket: ticket.clone(),
                events: evs,
            },
        )?;
        if let Some(j) = journal.as_deref_mut() {
            j.recorded(&ticket)?;
        }
    }
    Ok(())
}

/// Each mail account's registered recipient: the one its `mail-create` request gave.
fn registered_recipients(
    inst: &Instance,
    requests: &HashMap<&str, &Request>,
) -> HashMap<String, String> {
    inst.mail_accounts
        .iter()
        .filter_map(|a| {
            let recipient = a
                .value
                .tickets
                .iter()
                .filter_map(|t| requests.get(t.get_ref().as_str()))
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

/// For create/reset: a new password, sealed to the account's registered recipient
/// (or the admin's) in the outbox, named after the change's last ticket.
fn seal_password(
    c: &PlannedChange,
    recipients: &HashMap<String, String>,
    config: &Config,
    outbox: &Outbox,
) -> Result<(Option<Secret>, Option<PathBuf>), ApplyError> {
    if !c.action.needs_password(&c.target) {
        return Ok((None, None));
    }
    // The key registered with the account, never one a later request supplies: a
    // reset asked by someone else must not deliver the password to them (L045).
    let registered = match &c.target {
        Target::Mail { address, .. } => recipients.get(address).cloned(),
        _ => None,
    };
    let recipient = registered
        .or_else(|| config.backends.admin_recipient.clone())
        .ok_or(credentials::CredentialError::NoRecipient)?;
    let recipient = credentials::recipient(&recipient)?;
    let ticket = c.tickets.last().cloned().unwrap_or_default();
    let address = match &c.target {
        Target::Mail { address, .. } => address.clone(),
        other => other.to_string(),
    };
    let pw = credentials::generate_password();
    let msg = credentials::credential_message(&ticket, &address, &pw);
    let path = outbox.deliver(&ticket, &msg, recipient.as_ref())?;
    Ok((Some(pw), Some(path)))
}
