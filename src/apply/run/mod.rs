//! One `loket plan` / `loket apply` run over all configured backends.

//!
//! [`apply`] is a pipeline of stages, each in its own module: [`prepare`] (lock,
//! state, plan, what earlier runs left, gate and guard), [`batch`] (per backend, in
//! batches: gate, passwords hashed and sealed on all cores one batch ahead, sealed
//! files written, journal intent, apply, verify), [`finish`] (records, the
//! unverified list, the journal's results, re-verification of earlier changes) and
//! [`seal`] (the credentials of a batch).

mod batch;
mod finish;
mod prepare;
mod seal;

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use jiff::Timestamp;
use jiff::civil::Date;
use jiff::tz::Offset;
use serde::Serialize;

use super::ApplyError;
use super::backend::{Backend, LiveState};
use super::gate::ApprovalGate;
use super::plan::{Plan, PlannedChange};
use crate::model::record::{Event, EventKind};
use crate::model::request::{Request, RequestKind};
use crate::model::{Config, Instance};

pub use prepare::{plan, retries};

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
    let ctx = Ctx::new(inst, config, opts);
    let mut state = prepare::State::open(&ctx)?;
    let planned = plan(
        inst,
        slots,
        opts.today.unwrap_or_else(|| today(config, opts.now)),
    );
    let work = prepare::work(&ctx, &mut state, planned)?;
    gate.prepare(&work.planned.plan.changes)
        .map_err(ApplyError::Gate)?;
    prepare::guard(&ctx, slots, &work.planned)?;
    let mut tally = Tally::new(opts, &work.planned);
    finish::resumed(&ctx, &mut state, &mut tally, &work.resumed)?;
    batch::run(
        &ctx,
        &mut state,
        &mut tally,
        slots,
        gate,
        &work.planned.plan.changes,
    )?;
    finish::reverify(&ctx, &mut state, &mut tally, slots, work.reverify)?;
    finish::close(state, tally)
}

/// What every stage of a run reads: the instance, the options, each ticket's
/// request, and the run's time stamp.
struct Ctx<'a> {
    inst: &'a Instance,
    config: &'a Config,
    opts: &'a Options,
    requests: HashMap<&'a str, &'a Request>,
    at: String,
}

impl<'a> Ctx<'a> {
    fn new(inst: &'a Instance, config: &'a Config, opts: &'a Options) -> Self {
        Ctx {
            inst,
            config,
            opts,
            requests: inst
                .requests
                .iter()
                .map(|r| (r.value.ticket(), &r.value))
                .collect(),
            at: stamp(config, opts.now),
        }
    }

    fn event(&self, kind: EventKind, detail: Option<String>) -> Event {
        Event {
            kind,
            at: self.at.clone(),
            run: Some(self.opts.run_id.clone()),
            detail,
        }
    }

    fn kind_of(&self, ticket: &str) -> Option<RequestKind> {
        self.requests.get(ticket).map(|r| r.kind())
    }
}

/// What the run did so far: the report, the events not yet in the records, and
/// the tickets whose accounts it changed (named if their records cannot be written).
struct Tally {
    report: RunReport,
    events: BTreeMap<String, Vec<Event>>,
    changed: Vec<String>,
}

impl Tally {
    fn new(opts: &Options, planned: &Planned) -> Self {
        Tally {
            report: RunReport {
                run: opts.run_id.clone(),
                unreadable: planned.unreadable.clone(),
                ..Default::default()
            },
            events: BTreeMap::new(),
            changed: Vec::new(),
        }
    }

    /// Adds `event` to each of `tickets`.
    fn note(&mut self, tickets: &[String], event: &Event) {
        for t in tickets {
            self.events
                .entry(t.clone())
                .or_default()
                .push(event.clone());
        }
    }

    fn push(&mut self, change: &PlannedChange, status: Status, sealed: Option<PathBuf>) {
        self.report.changes.push(ChangeReport {
            change: change.clone(),
            status,
            sealed,
        });
    }
}
