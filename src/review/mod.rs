//! Approvals: which SOP step each request of a pull request has reached, decided by
//! pure functions over forge data ([`crate::forge::PullData`]) and `loket.toml` as on
//! the base branch. [`rules`] holds the rules, [`render`] the outputs, [`gate`] the
//! check `loket apply` runs on merge and the durable approval trail.
//!
//! How a refusal is expressed: a review requesting changes whose body starts with
//! "ditolak" or "refused" (any case) refuses the request; any other changes-requested
//! review by a role holder returns it to the applicant, with the body as the reason.

pub mod followup;
pub mod gate;
pub mod history;
pub mod history_gate;
pub mod render;
pub mod roles;
pub mod rules;
mod steps;
mod touched;

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::Serialize;

use crate::forge::{PullData, Review, ReviewState};
use crate::model::config::TimeZone;
use crate::model::record::{Outcome, StepRecord};
use crate::model::{Completion, Config, RequestKind};
use rules::PrFacts;
use steps::ticket_status;
pub use touched::{TicketRef, Touched, follow_up_from_checkout, processed_on_base, touched};

/// Words that, opening a changes-requested review, make it a refusal.
pub const REFUSAL_PREFIXES: &[&str] = &["ditolak", "refused"];

/// What one SOP step looks like for a request.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum StepState {
    Done {
        record: StepRecord,
    },
    /// The step the request waits for.
    Pending,
    /// After a pending step (ordered SOPs).
    Waiting,
    /// Done after the merge (apply, verify, notify): not an approval.
    AfterMerge,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct StepStatus {
    pub id: String,
    pub no: Option<u32>,
    pub role: String,
    pub role_title: String,
    pub done_by: Completion,
    #[serde(flatten)]
    pub state: StepState,
}

/// A step waiting for its role.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Pending {
    pub step: String,
    pub role: String,
}

/// Why a review did not count (or an automatic step is not done), under a rule code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Finding {
    pub code: &'static str,
    /// The reviewer and review, for findings about a review.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub review_id: Option<u64>,
    /// The step it was weighed against, for step rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct TicketStatus {
    pub ticket: String,
    pub kind: RequestKind,
    pub path: String,
    pub sop: Option<String>,
    pub outcome: Outcome,
    pub steps: Vec<StepStatus>,
    /// The step now pending and the role it waits for.
    pub pending: Option<Pending>,
    /// The reviewer's reason for a return or refusal, or what blocks the request.
    pub reason: Option<String>,
    pub findings: Vec<Finding>,
}

/// The extra approval a change to what loket does or shows needs: `loket.toml`,
/// templates, site assets, source, workflows (see [`Touched::protected`]).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct ConfigChange {
    pub role: Option<String>,
    pub approved: Option<StepRecord>,
    /// The protected paths that call for it (from the repository root).
    pub paths: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Evaluation {
    pub pr: u64,
    pub head_sha: String,
    pub tickets: Vec<TicketStatus>,
    pub config_change: Option<ConfigChange>,
    /// Reviews that did not count for any reason not tied to one step.
    pub findings: Vec<Finding>,
    pub problems: Vec<String>,
    pub outcome: Outcome,
    /// The office's zone, for showing times to people.
    pub time_zone: TimeZone,
}

impl Evaluation {
    /// 0 approved (or nothing to approve), 3 pending, 1 returned or refused.
    pub fn exit_code(&self) -> u8 {
        match self.outcome {
            Outcome::Returned | Outcome::Refused => 1,
            Outcome::Approved | Outcome::Processed | Outcome::Done => 0,
            _ => 3,
        }
    }
}

pub fn parse_time(s: &str) -> Option<Timestamp> {
    s.parse::<Timestamp>().ok()
}

/// A review that passed every review rule: a candidate approval.
pub(crate) struct Approval<'a> {
    pub review: &'a Review,
    pub at: Timestamp,
}

/// Evaluates a pull request. `config` is `loket.toml` as on the base branch;
/// `check_passed` whether `loket check` passes on the head.
pub fn evaluate(
    config: &Config,
    data: &PullData,
    touched: &Touched,
    check_passed: bool,
    now: Timestamp,
) -> Evaluation {
    let latest = latest_decisive(data);
    let facts = PrFacts {
        data,
        contributors: contributors(data),
        latest: latest.values().map(|r| r.id).collect(),
    };
    let (approvals, findings) = judge_reviews(config, &facts, &latest);
    // Active requests for changes, by the reviewer's latest review.
    let objections: Vec<&Review> = latest
        .values()
        .filter(|r| r.state == ReviewState::ChangesRequested && !r.dismissed)
        .copied()
        .collect();

    let created = parse_time(&data.pull.created_at);
    let follow_up = touched
        .follow_up
        .as_ref()
        .map(|f| followup::ticket_status(config, f, data, &approvals, &objections));
    let tickets: Vec<TicketStatus> = touched
        .requests
        .iter()
        .map(|t| {
            ticket_status(
                config,
                t,
                &approvals,
                &objections,
                created,
                check_passed,
                now,
            )
        })
        .chain(follow_up)
        .collect();

    let config_change = protected_change(config, touched, &approvals);
    let problems = problems(touched, config_change.as_ref());
    let outcome = overall(&tickets, &problems, config_change.as_ref());
    Evaluation {
        pr: data.pull.number,
        head_sha: data.pull.head_sha.clone(),
        tickets,
        config_change,
        findings,
        problems,
        outcome,
        time_zone: *config.office.time_zone.get_ref(),
    }
}

/// Everyone who wrote the pull request: its author and each commit's author and
/// committer (lower-cased), none of whom may approve it.
fn contributors(data: &PullData) -> BTreeSet<String> {
    let mut contributors: BTreeSet<String> = data
        .commits
        .iter()
        .flat_map(|c| [&c.author_login, &c.committer_login])
        .flatten()
        .map(|l| l.to_ascii_lowercase())
        .collect();
    contributors.insert(data.pull.author.to_ascii_lowercase());
    contributors
}

/// Each login's latest decisive review (approve, request changes, dismissed
/// approval); comments neither give nor withdraw an approval.
fn latest_decisive(data: &PullData) -> BTreeMap<String, &Review> {
    let mut latest: BTreeMap<String, &Review> = BTreeMap::new();
    for r in &data.reviews {
        let decisive = matches!(
            r.state,
            ReviewState::Approved | ReviewState::ChangesRequested | ReviewState::Dismissed
        );
        let Some(at) = r.submitted_at.as_deref().and_then(parse_time) else {
            continue;
        };
        if !decisive {
            continue;
        }
        let key = r.login.to_ascii_lowercase();
        let newer = latest.get(&key).is_none_or(|old| {
            let old_at = old.submitted_at.as_deref().and_then(parse_time);
            (Some(at), r.id) > (old_at, old.id)
        });
        if newer {
            latest.insert(key, r);
        }
    }
    latest
}

/// Every review through the review rules: the approvals that count, in time order,
/// and a finding for each review that does not (when worth reporting).
fn judge_reviews<'a>(
    config: &Config,
    facts: &PrFacts<'a>,
    latest: &BTreeMap<String, &Review>,
) -> (Vec<Approval<'a>>, Vec<Finding>) {
    let mut findings = Vec::new();
    let mut approvals = Vec::new();
    for r in &facts.data.reviews {
        let failed = rules::review_rules().find_map(|(rule, f)| f(facts, r).map(|m| (rule, m)));
        let at = r.submitted_at.as_deref().and_then(parse_time);
        let (rule, message) = match (failed, at) {
            (None, Some(at)) => {
                approvals.push(Approval { review: r, at });
                continue;
            }
            // Superseded is the news for a replaced review, whatever else it fails.
            (Some(_), _) if !facts.latest.contains(&r.id) && r.state != ReviewState::Commented => (
                &rules::LATEST_DECIDES,
                "withdrawn by the reviewer's later review".into(),
            ),
            (Some(failure), _) => failure,
            (None, None) => (
                &rules::FORMAL_APPROVAL,
                "no submission time: not a submitted review".into(),
            ),
        };
        if reported(config, latest, r, rule.code) {
            findings.push(Finding {
                code: rule.code,
                login: Some(r.login.clone()),
                review_id: Some(r.id),
                step: None,
                message,
            });
        }
    }
    approvals.sort_by_key(|a| (a.at, a.review.id));
    (approvals, findings)
}

/// The pull request's outcome: refused or returned if any ticket is; pending while
/// a ticket, a problem or an unapproved config change waits; else approved (a
/// follow-up ticket done counts as approved).
fn overall(
    tickets: &[TicketStatus],
    problems: &[String],
    config_change: Option<&ConfigChange>,
) -> Outcome {
    let outcomes: Vec<Outcome> = tickets
        .iter()
        .map(|t| match t.outcome {
            Outcome::Done => Outcome::Approved,
            o => o,
        })
        .collect();
    if outcomes.contains(&Outcome::Refused) {
        Outcome::Refused
    } else if outcomes.contains(&Outcome::Returned) {
        Outcome::Returned
    } else if outcomes.contains(&Outcome::Pending)
        || !problems.is_empty()
        || config_change.is_some_and(|c| c.approved.is_none())
    {
        Outcome::Pending
    } else {
        Outcome::Approved
    }
}

/// The config-change approval a pull request touching protected paths needs: the
/// first approval (under every review rule) by a holder of the role named on the
/// base branch.
fn protected_change(
    config: &Config,
    touched: &Touched,
    approvals: &[Approval],
) -> Option<ConfigChange> {
    if touched.protected.is_empty() {
        return None;
    }
    let role = config
        .approvals
        .config_change_role
        .as_ref()
        .map(|r| r.get_ref().clone());
    let approved = role.as_deref().and_then(|role| {
        approvals.iter().find_map(|a| {
            roles::holds_role(config, role, &a.review.login, a.at)
                .map(|h| review_record("config-change", role, a, h))
        })
    });
    Some(ConfigChange {
        role,
        approved,
        paths: touched.protected.clone(),
    })
}

/// What keeps the pull request as a whole from being approved, whatever its
/// reviews: unreadable requests, writes to `records/`, a protected change no role
/// can approve.
fn problems(touched: &Touched, cc: Option<&ConfigChange>) -> Vec<String> {
    let mut problems = touched.problems.clone();
    if !touched.letters.is_empty() && touched.follow_up.is_none() {
        problems.push(followup::not_follow_up(&touched.letters));
    }
    if !touched.records.is_empty() {
        problems.push(format!(
            "[{}] this pull request writes {}: records are written by CI only (the approval trail comes from the forge's reviews); remove these files from the pull request",
            rules::RECORDS_BY_CI.code,
            list_paths(&touched.records)
        ));
    }
    if let Some(cc) = cc
        && cc.role.is_none()
    {
        problems.push(format!(
            "[{}] this pull request changes {} but approvals.config-change-role is not set on the base branch, so no one can approve it",
            rules::CONFIG_CHANGE.code,
            list_paths(&cc.paths)
        ));
    }
    problems
}

/// Up to five paths, then how many more.
pub fn list_paths(paths: &[String]) -> String {
    let shown: Vec<&str> = paths.iter().take(5).map(String::as_str).collect();
    match paths.len().saturating_sub(shown.len()) {
        0 => shown.join(", "),
        more => format!("{} and {more} more", shown.join(", ")),
    }
}

/// Whether a review that does not count is worth telling people about. Discussion
/// is not: comments by people holding no role, and earlier reviews that a later one
/// of the same reviewer replaced (unless that withdrew an approval). A request for
/// changes is told as the outcome instead.
fn reported(config: &Config, latest: &BTreeMap<String, &Review>, r: &Review, code: &str) -> bool {
    let newest = latest.get(&r.login.to_ascii_lowercase());
    if newest.is_some_and(|n| n.id != r.id) && r.state != ReviewState::Commented {
        // Superseded: news only when an approval was withdrawn.
        return r.state == ReviewState::Approved
            && newest.is_some_and(|n| n.state != ReviewState::Approved);
    }
    match r.state {
        ReviewState::ChangesRequested => code != rules::FORMAL_APPROVAL.code,
        ReviewState::Commented | ReviewState::Pending | ReviewState::Other => {
            let at = r.submitted_at.as_deref().and_then(parse_time);
            roles::roles_at(config, &r.login, at).next().is_some()
        }
        ReviewState::ReviewRequested => false,
        ReviewState::Approved | ReviewState::Dismissed => true,
    }
}

/// The record of approval `a` completing `step` for `role`, held as `holding`
/// (an acting official's record keeps the delegation's kind and decree).
pub(crate) fn review_record(
    step: &str,
    role: &str,
    a: &Approval,
    holding: roles::Holding,
) -> StepRecord {
    StepRecord {
        step: step.to_string(),
        done_by: Completion::Review,
        role: role.to_string(),
        login: Some(a.review.login.clone()),
        at: a.review.submitted_at.clone().unwrap_or_default(),
        review_id: Some(a.review.id),
        acting: holding.acting(),
    }
}

#[cfg(test)]
mod tests;
