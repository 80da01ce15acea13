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
use super::journal::{Entry, Journal};
use super::lock::Lock;
use super::plan::{Desired, Plan, PlannedChange, Target, diff_mail, diff_server};
use super::records::{self, TicketEvents};
use super::unverified::Unverified;
use super::{ApplyError, guard};
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

/// What the next apply retries of the changes an earlier run applied but could not
/// verify (those `plan` does not supersede), as it will do them: a password change
/// as a reset, anything else as it was.
pub fn retries(
    config: &Config,
    root: &std::path::Path,
    plan: &Plan,
) -> Result<Vec<PlannedChange>, ApplyError> {
    let state_dir = root.join(&config.backends.state_dir);
    let retries = Unverified::load(&state_dir)?.retries(&plan.changes);
    Ok(retries
        .reapply
        .into_iter()
        .chain(retries.reverify)
        .collect())
}

/// Reads every backend and diffs it against `accounts/`.
pub fn plan(inst: &Instance, slots: &mut [Slot], today: Date) -> Planned {
    let desired = Desired::from_instance(inst);
    let mut out = Planned {
        plan: Plan::default(),
        live: Vec::new(),
        unreadable: Vec::new(),
    };
    for slot in slots.iter_mut() {
        let name = slot.backend.name().to_string();
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
pub fn apply(
    inst: &Instance,
    config: &Config,
    slots: &mut [Slot],
    gate: &mut dyn ApprovalGate,
    opts: &Options,
) -> Result<RunReport, ApplyError> {
    let state_dir = inst.root.join(&config.backends.state_dir);
    let _lock = if opts.dry_run {
        None
    } else {
        Some(Lock::acquire(&state_dir)?)
    };
    if !opts.dry_run {
        // Temp files of a killed run's atomic writes (records/ is committed by CI).
        super::fsutil::remove_stale_temps(&inst.root.join(crate::model::record::RECORDS_DIR));
    }
    let (mut journal, interrupted) = if opts.dry_run {
        (None, Vec::new())
    } else {
        let (j, i) = Journal::open(&state_dir)?;
        (Some(j), i)
    };
    let mut planned = plan(
        inst,
        slots,
        opts.today.unwrap_or_else(|| today(config, opts.now)),
    );
    // Changes an earlier run applied but could not verify: redone or re-verified.
    let unverified = Unverified::load(&state_dir)?;
    let retries = unverified.retries(&planned.plan.changes);
    let reapplied: HashSet<String> = retries.reapply.iter().map(PlannedChange::key).collect();
    planned.plan.changes.extend(retries.reapply);
    let mut failed_verify: Vec<PlannedChange> = Vec::new();
    let requests: HashMap<&str, &Request> = inst
        .requests
        .iter()
        .map(|r| (r.value.ticket(), &r.value))
        .collect();
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

    // Intents of a killed run whose change is no longer planned were done then.
    let planned_keys: HashSet<String> = planned.plan.changes.iter().map(|c| c.key()).collect();
    for i in &interrupted {
        if !planned_keys.contains(&i.change) {
            report.resumed.push(i.change.clone());
            for t in &i.tickets {
                events.entry(t.clone()).or_default().push(event(
                    EventKind::Applied,
                    Some(format!("completed by interrupted run {}", i.run)),
                ));
            }
        }
    }
    if !opts.dry_run {
        flush_records(inst, config, &mut events, &kind_of)?;
    }

    let outbox = Outbox {
        dir: inst.root.join(
            config
                .backends
                .outbox
                .clone()
                .unwrap_or_else(|| format!("{}/outbox", config.backends.state_dir)),
        ),
    };

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
                    Ok((pw, path)) => ready.push((c, pw, path)),
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
                        change: c.key(),
                        tickets: c.tickets.clone(),
                    })
                    .collect::<Vec<_>>(),
            )?;
            let batch: Vec<Change<'_>> = ready
                .iter()
                .map(|(c, pw, _)| Change {
                    planned: c,
                    password: pw.as_ref(),
                })
                .collect();
            let results = slot.backend.apply(&batch);
            let mut dones = Vec::new();
            for ((change, result), (_, _, sealed)) in batch.iter().zip(results).zip(&ready) {
                let status = match result {
                    Ok(()) => {
                        let applied = event(EventKind::Applied, Some(name.clone()));
                        match slot.backend.verify(change) {
                            Ok(v) => {
                                let how = match v {
                                    super::Verified::AsUser(s) | super::Verified::State(s) => s,
                                };
                                for t in &change.planned.tickets {
                                    let e = events.entry(t.clone()).or_default();
                                    e.push(applied.clone());
                                    e.push(event(EventKind::Verified, Some(how.clone())));
                                }
                                Status::Verified(how)
                            }
                            Err(err) => {
                                let msg = err.to_string();
                                for t in &change.planned.tickets {
                                    let e = events.entry(t.clone()).or_default();
                                    e.push(applied.clone());
                                    e.push(event(EventKind::Failed, Some(msg.clone())));
                                }
                                failed_verify.push(change.planned.clone());
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
            flush_records(inst, config, &mut events, &kind_of)?;
            journal.log(&dones)?;
        }
    }
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
                (EventKind::Verified, Status::Verified(how))
            }
            Err(err) => {
                failed_verify.push(c.clone());
                (EventKind::Failed, Status::Failed(err.to_string()))
            }
        };
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
        flush_records(inst, config, &mut events, &kind_of)?;
        // A redone change that failed before its verification stays listed too: the
        // live state already matches, so no plan would bring it back.
        for r in &report.changes {
            if reapplied.contains(&r.change.key())
                && !matches!(r.status, Status::Verified(_))
                && !failed_verify.contains(&r.change)
            {
                failed_verify.push(r.change.clone());
            }
        }
        unverified.save(failed_verify)?;
    }
    if let Some(j) = journal.as_mut() {
        j.clear()?;
    }
    report.redact();
    Ok(report)
}

fn flush_records(
    inst: &Instance,
    config: &Config,
    events: &mut BTreeMap<String, Vec<Event>>,
    kind_of: &dyn Fn(&str) -> Option<RequestKind>,
) -> Result<(), ApplyError> {
    for (ticket, evs) in std::mem::take(events) {
        records::write(
            &inst.root,
            config,
            &TicketEvents {
                kind: kind_of(&ticket),
                ticket,
                events: evs,
            },
        )?;
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
