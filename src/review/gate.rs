//! The gate `loket apply` passes on merge: re-read the merged pull request's reviews
//! from the forge, refuse every request that lacks an approval (even when the forge
//! let the merge through, e.g. an admin bypass), and record the approval trail in
//! `records/<ticket>.toml` so audits and the site never need the forge again.
//!
//! [`ForgeGate`] is the judgement per ticket; `loket apply` itself judges from the
//! forge through [`super::history_gate::HistoryGate`].
//!
//! ```text
//! let base = check::read_base(dir, "HEAD^1")?;          // loket.toml before the merge
//! let head = Instance::load(dir)?;                      // the merged tree
//! let trails = gate::approved_trail(forge, base_config, &head, prefix, pr, check_ok, now)?;
//! for t in &trails { gate::write_record(dir, t)?; }
//! ```

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use thiserror::Error;

use super::{Pending, StepState, Touched, evaluate, touched};
use crate::forge::{Forge, ForgeError, PullData};
use crate::model::record::{Outcome, Progress, RECORDS_DIR, StepRecord};
use crate::model::{Config, Instance, RequestKind};

/// The approvals of one request, ready to record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trail {
    pub ticket: String,
    pub pr: u64,
    pub kind: RequestKind,
    /// Every completed step up to the merge (submit, checks, reviews), in SOP order.
    pub steps: Vec<StepRecord>,
}

/// A request the gate refuses, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Missing {
    pub ticket: String,
    /// The step lacking its approval, and the role it needs.
    pub step: Option<Pending>,
    pub outcome: Outcome,
    pub reason: Option<String>,
}

impl std::fmt::Display for Missing {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: ", self.ticket)?;
        match (&self.step, self.outcome) {
            (_, Outcome::Returned | Outcome::Refused) => write!(
                f,
                "{} by a reviewer ({})",
                if self.outcome == Outcome::Refused {
                    "refused"
                } else {
                    "returned (changes requested)"
                },
                self.reason.as_deref().unwrap_or("no reason given")
            ),
            (Some(p), _) => write!(f, "step {} lacks an approval by role {}", p.step, p.role),
            (None, _) => write!(
                f,
                "not approved ({})",
                self.reason.as_deref().unwrap_or("unknown reason")
            ),
        }
    }
}

#[derive(Debug, Error)]
pub enum GateError {
    #[error(transparent)]
    Forge(#[from] ForgeError),
    #[error("pull request #{0} is not merged; apply runs on merged pull requests only")]
    NotMerged(u64),
    #[error(
        "pull request #{pr} was merged without the approvals its requests need; nothing is applied:\n{}",
        list(.missing)
    )]
    Unapproved { pr: u64, missing: Vec<Missing> },
    #[error(
        "pull request #{pr} changes {paths} without the approval of role {role}; nothing is applied"
    )]
    ConfigUnapproved {
        pr: u64,
        role: String,
        paths: String,
    },
    #[error("pull request #{pr}: {problem}")]
    Problem { pr: u64, problem: String },
    #[error("cannot write {path}: {message}")]
    Write { path: PathBuf, message: String },
}

fn list(m: &[Missing]) -> String {
    m.iter()
        .map(|m| format!("  - {m}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The forge-backed [`ApprovalGate`] for `loket apply`: each request of the merged
/// pull request is approved or refused on its own (with the missing step named);
/// tickets outside the pull request are refused.
pub struct ForgeGate {
    pr: u64,
    verdicts: BTreeMap<String, Result<Trail, Missing>>,
}

impl ForgeGate {
    /// Reads merged PR `pr` from the forge and judges each of its requests. Fails
    /// only if the PR is not merged, cannot be read, or as a whole is not approved
    /// (an unapproved `loket.toml` change, an unreadable request file).
    pub fn from_pull(
        forge: &dyn Forge,
        config: &Config,
        merged: &Instance,
        prefix: &str,
        pr: u64,
        check_passed: bool,
        now: Timestamp,
    ) -> Result<ForgeGate, GateError> {
        let data = PullData::fetch(forge, pr)?;
        if !data.pull.merged {
            return Err(GateError::NotMerged(pr));
        }
        let t = touched(&data.files, prefix, merged);
        ForgeGate::assess(config, &data, &t, check_passed, now)
    }

    /// [`ForgeGate::from_pull`] on data already read.
    pub fn assess(
        config: &Config,
        data: &PullData,
        touched: &Touched,
        check_passed: bool,
        now: Timestamp,
    ) -> Result<ForgeGate, GateError> {
        let pr = data.pull.number;
        let ev = evaluate(config, data, touched, check_passed, now);
        if let Some(problem) = ev.problems.first() {
            return Err(GateError::Problem {
                pr,
                problem: problem.clone(),
            });
        }
        if let Some(cc) = &ev.config_change
            && cc.approved.is_none()
        {
            return Err(GateError::ConfigUnapproved {
                pr,
                role: cc.role.clone().unwrap_or_else(|| "(unset)".into()),
                paths: super::list_paths(&cc.paths),
            });
        }
        let verdicts = ev
            .tickets
            .into_iter()
            .map(|t| {
                let verdict = if t.outcome == Outcome::Approved {
                    Ok(Trail {
                        ticket: t.ticket.clone(),
                        pr,
                        kind: t.kind,
                        steps: t
                            .steps
                            .into_iter()
                            .filter_map(|s| match s.state {
                                StepState::Done { record } => Some(record),
                                _ => None,
                            })
                            .collect(),
                    })
                } else {
                    Err(Missing {
                        ticket: t.ticket.clone(),
                        step: t.pending,
                        outcome: t.outcome,
                        reason: t.reason,
                    })
                };
                (t.ticket, verdict)
            })
            .collect();
        Ok(ForgeGate { pr, verdicts })
    }

    /// The trails of the approved requests, to record with [`write_record`].
    pub fn trails(&self) -> impl Iterator<Item = &Trail> {
        self.verdicts.values().filter_map(|v| v.as_ref().ok())
    }

    /// The requests refused, with why.
    pub fn missing(&self) -> impl Iterator<Item = &Missing> {
        self.verdicts.values().filter_map(|v| v.as_ref().err())
    }
}

impl ForgeGate {
    /// Whether `ticket` is approved in this pull request.
    pub fn approved(&self, ticket: &str) -> Result<(), String> {
        match self.verdicts.get(ticket) {
            Some(Ok(_)) => Ok(()),
            Some(Err(m)) => Err(m.to_string()),
            None => Err(format!(
                "{ticket}: not a request of pull request #{}",
                self.pr
            )),
        }
    }
}

/// Re-reads merged PR `pr` from the forge and returns the approval trail of every
/// request it added, or refuses them all if any lacks an approval.
///
/// `config` is `loket.toml` as on the base branch before the merge; `merged` the
/// instance after it; `prefix` the instance directory within the repository (`""`
/// at the root); `check_passed` whether `loket check` passes on the merged tree.
pub fn approved_trail(
    forge: &dyn Forge,
    config: &Config,
    merged: &Instance,
    prefix: &str,
    pr: u64,
    check_passed: bool,
    now: Timestamp,
) -> Result<Vec<Trail>, GateError> {
    let data = PullData::fetch(forge, pr)?;
    if !data.pull.merged {
        return Err(GateError::NotMerged(pr));
    }
    let t = touched(&data.files, prefix, merged);
    judge(config, &data, &t, check_passed, now)
}

/// The gate's decision on data already read (pure; what [`approved_trail`] runs):
/// every request's trail, or an error naming each one that lacks an approval.
pub fn judge(
    config: &Config,
    data: &PullData,
    touched: &Touched,
    check_passed: bool,
    now: Timestamp,
) -> Result<Vec<Trail>, GateError> {
    let gate = ForgeGate::assess(config, data, touched, check_passed, now)?;
    let missing: Vec<Missing> = gate.missing().cloned().collect();
    if !missing.is_empty() {
        return Err(GateError::Unapproved {
            pr: gate.pr,
            missing,
        });
    }
    Ok(gate.trails().cloned().collect())
}

/// Writes (or updates) `records/<ticket>.toml` under `dir` with the trail, keeping
/// any events and later steps already recorded. Written to a temporary file and
/// renamed, so a crash never leaves half a record.
pub fn write_record(dir: &Path, trail: &Trail) -> Result<PathBuf, GateError> {
    let path = dir.join(Progress::path_for(&trail.ticket));
    let werr = |message: String| GateError::Write {
        path: path.clone(),
        message,
    };
    let mut progress = match crate::model::regular::read_to_string(&path) {
        Ok(text) => toml::from_str::<Progress>(&text).map_err(|e| werr(e.to_string()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Progress {
            ticket: trail.ticket.clone(),
            outcome: Outcome::Approved,
            kind: None,
            pr: None,
            pending_step: None,
            reason: None,
            steps: Vec::new(),
            events: Vec::new(),
            letter: None,
            follow_up_pr: None,
        },
        Err(e) => return Err(werr(e.to_string())),
    };
    progress.pr = Some(trail.pr);
    progress.kind = Some(trail.kind);
    if matches!(
        progress.outcome,
        Outcome::Pending | Outcome::Returned | Outcome::Refused
    ) {
        progress.outcome = Outcome::Approved;
    }
    progress.pending_step = None;
    progress.reason = None;
    // The trail replaces the pre-merge steps; steps recorded after the merge stay.
    let later: Vec<StepRecord> = progress
        .steps
        .drain(..)
        .filter(|s| !trail.steps.iter().any(|t| t.step == s.step))
        .collect();
    progress.steps = trail.steps.clone();
    progress.steps.extend(later);
    let text = toml::to_string(&progress).map_err(|e| werr(e.to_string()))?;
    let records = dir.join(RECORDS_DIR);
    std::fs::create_dir_all(&records).map_err(|e| werr(e.to_string()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(&records).map_err(|e| werr(e.to_string()))?;
    tmp.write_all(text.as_bytes())
        .and_then(|_| tmp.as_file().sync_all())
        .map_err(|e| werr(e.to_string()))?;
    tmp.persist(&path).map_err(|e| werr(e.to_string()))?;
    Ok(path)
}
