//! The first stage of a run: the state folder opened (lock, stale temps, outbox,
//! journal, unverified list), the plan, what earlier runs left live but unverified
//! or unrecorded, and the removal guard. Also `loket plan`'s view of the same.

use std::collections::HashSet;
use std::path::PathBuf;

use super::{Ctx, Planned, Role, Slot};
use crate::apply::backend::LiveState;
use crate::apply::credentials::Outbox;
use crate::apply::journal::{self, Interrupted, Journal};
use crate::apply::lock::Lock;
use crate::apply::plan::{Desired, Plan, PlannedChange, Target, diff_mail, diff_server};
use crate::apply::readback::Expect;
use crate::apply::unverified::{self, Unverified};
use crate::apply::{ApplyError, fsutil, guard};
use crate::model::{Config, Instance};
use jiff::civil::Date;

/// Threads writing files at once: each mostly waits for its fsync, so more than
/// the cores, and the disk commits their syncs together.
const WRITERS: usize = 8;

/// loket's own state for the run: held under the lock (none in a dry run).
pub(super) struct State {
    pub dir: PathBuf,
    pub outbox: Outbox,
    _lock: Option<Lock>,
    /// Open outside dry runs.
    pub journal: Option<Journal>,
    /// Intents an earlier run logged without a result.
    pub interrupted: Vec<Interrupted>,
    pub pending: Unverified,
    /// Where sealed files and records are written, several at once.
    pub writers: rayon::ThreadPool,
}

impl State {
    /// Locks the state folder (a dry run only checks it), removes the temp files a
    /// killed run left, and reads the journal and the unverified list.
    pub fn open(ctx: &Ctx) -> Result<State, ApplyError> {
        let backends = &ctx.config.backends;
        let dir = ctx.inst.root.join(&backends.state_dir);
        let expect = Expect::new(ctx.config);
        let outbox = Outbox {
            dir: ctx.inst.root.join(
                backends
                    .outbox
                    .clone()
                    .unwrap_or_else(|| format!("{}/outbox", backends.state_dir)),
            ),
        };
        let dry = ctx.opts.dry_run;
        let lock = if dry {
            fsutil::check_private_dir(&dir)?;
            None
        } else {
            let lock = Lock::acquire(&dir)?;
            // Temp files of a killed run's atomic writes (records/ is committed by
            // CI); the backends' own folders are cleaned at their first write.
            fsutil::remove_stale_temps(&ctx.inst.root.join(crate::model::record::RECORDS_DIR));
            fsutil::remove_stale_temps(&dir);
            outbox.prepare()?;
            Some(lock)
        };
        let (journal, interrupted) = if dry {
            (None, Journal::read(&dir, &expect)?)
        } else {
            let (j, i) = Journal::open(&dir, &expect)?;
            (Some(j), i)
        };
        let pending = Unverified::load(&dir, &expect)?;
        let writers = rayon::ThreadPoolBuilder::new()
            .num_threads(WRITERS)
            .thread_name(|i| format!("loket-writer-{i}"))
            .build()
            .map_err(|e| ApplyError::Io {
                path: dir.clone(),
                source: std::io::Error::other(e.to_string()),
            })?;
        Ok(State {
            dir,
            outbox,
            _lock: lock,
            journal,
            interrupted,
            pending,
            writers,
        })
    }
}

/// What the run carries out besides the plan's own changes.
pub(super) struct Work {
    /// The plan, with the changes to redo (as resets) added.
    pub planned: Planned,
    /// Intents of a killed run found carried out.
    pub resumed: Vec<Interrupted>,
    /// Earlier changes only verified again.
    pub reverify: Vec<PlannedChange>,
}

/// Changes live but not verified and recorded: listed by an earlier run, or found
/// done from an interrupted run's intents. Listed (persisted) before anything else;
/// retried now, except on a backend that cannot be read (kept for the next run).
pub(super) fn work(ctx: &Ctx, state: &mut State, mut planned: Planned) -> Result<Work, ApplyError> {
    for c in &state.pending.changes {
        known(ctx, state, unverified::FILE, c)?;
    }
    for i in &state.interrupted {
        known(ctx, state, journal::FILE, &i.change)?;
    }
    let resumed: Vec<Interrupted> = resumed(&state.interrupted, &planned)
        .into_iter()
        .cloned()
        .collect();
    let mut listed = false;
    for i in &resumed {
        listed |= state.pending.add(&i.change);
    }
    if listed && !ctx.opts.dry_run {
        state.pending.persist()?;
    }
    let mut retries = state.pending.retries(&planned.plan.changes);
    let readable = |c: &PlannedChange| !planned.unreadable.iter().any(|(u, _)| *u == c.backend);
    retries.reapply.retain(readable);
    retries.reverify.retain(readable);
    planned.plan.changes.extend(retries.reapply);
    Ok(Work {
        planned,
        resumed,
        reverify: retries.reverify,
    })
}

/// A change read back from `file` must name tickets of requests in `requests/`.
fn known(ctx: &Ctx, state: &State, file: &str, c: &PlannedChange) -> Result<(), ApplyError> {
    match c
        .tickets
        .iter()
        .find(|t| !ctx.requests.contains_key(t.as_str()))
    {
        Some(t) if !ctx.inst.requests_skipped => Err(ApplyError::State {
            path: state.dir.join(file),
            message: format!("names ticket {t}, which has no request in requests/"),
        }),
        _ => Ok(()),
    }
}

/// Refuses the run if it would remove too large a share of any backend's access.
pub(super) fn guard(ctx: &Ctx, slots: &[Slot], planned: &Planned) -> Result<(), ApplyError> {
    let max_share = ctx
        .opts
        .max_disable_share
        .unwrap_or(ctx.config.backends.max_disable_share);
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
    Ok(())
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
        } => live.has_key(server, login, grant) != c.action.removes_access(),
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
                    .push((name, crate::apply::redact::redact_owned(e.to_string())));
                out.live.push(LiveState::default());
            }
        }
    }
    out
}
