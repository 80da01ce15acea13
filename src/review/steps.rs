//! One request's SOP walked step by step: which approval completes which step,
//! under the step rules (role on base, order, distinct people), and the outcome.

use std::collections::BTreeSet;

use jiff::Timestamp;

use super::{
    Approval, Finding, Pending, REFUSAL_PREFIXES, StepState, StepStatus, TicketRef, TicketStatus,
    review_record, roles, rules,
};
use crate::forge::Review;
use crate::model::config::Step;
use crate::model::record::{Outcome, StepRecord};
use crate::model::{Completion, Config, Sop};
use rules::{Done, StepFacts};

/// One request's status: its SOP's steps walked in order, reviews by people with no
/// role in it reported, and an objection by a role holder deciding the outcome.
pub(super) fn ticket_status(
    config: &Config,
    t: &TicketRef,
    approvals: &[Approval],
    objections: &[&Review],
    created: Option<Timestamp>,
    check_passed: bool,
    now: Timestamp,
) -> TicketStatus {
    let mut status = TicketStatus {
        ticket: t.ticket.clone(),
        kind: t.kind,
        path: t.path.clone(),
        sop: None,
        outcome: Outcome::Pending,
        steps: Vec::new(),
        pending: None,
        reason: None,
        findings: Vec::new(),
    };
    let Some((sop_id, sop)) = config.sop_for(t.kind) else {
        status.reason = Some(format!(
            "no SOP in loket.toml (base branch) covers kind {}",
            t.kind
        ));
        return status;
    };
    status.sop = Some(sop_id.to_string());
    let walk = Walk {
        config,
        sop,
        approvals,
        created,
        check_passed,
        now,
    };
    walk.steps(&mut status);
    outsider_findings(config, sop, approvals, &mut status.findings);
    if let Some((outcome, reason)) = objection(config, sop, objections) {
        status.outcome = outcome;
        status.reason = Some(reason);
    } else if status.pending.is_none() {
        status.outcome = Outcome::Approved;
    }
    status
}

/// The facts every step of one request is judged on.
struct Walk<'a> {
    config: &'a Config,
    sop: &'a Sop,
    approvals: &'a [Approval<'a>],
    created: Option<Timestamp>,
    check_passed: bool,
    now: Timestamp,
}

/// Where the walk is: when the previous step completed, who completed review steps,
/// and whether an earlier pending step holds the rest back (ordered SOPs).
#[derive(Default)]
struct WalkState {
    previous: Option<Done>,
    used: BTreeSet<String>,
    blocked: bool,
}

impl Walk<'_> {
    /// Each step's state, the first pending step, and why approvals did not count.
    fn steps(&self, status: &mut TicketStatus) {
        let choice = choose(
            self.config,
            self.sop,
            self.approvals,
            self.created,
            self.check_passed,
        );
        let mut at = WalkState::default();
        for (i, step) in self.sop.steps.iter().enumerate() {
            let role = step.role.get_ref().as_str();
            let done_by = *step.done_by.get_ref();
            let state = match done_by {
                _ if Config::after_merge(self.sop, i) => StepState::AfterMerge,
                _ if at.blocked => StepState::Waiting,
                Completion::Submit => {
                    at.previous = self.created.map(|c| (c, 0));
                    self.automatic(step, self.created.map(|c| c.to_string()))
                }
                Completion::Check if self.check_passed => {
                    self.automatic(step, Some(self.now.to_string()))
                }
                Completion::Check => {
                    status.findings.push(Finding {
                        code: rules::CHECK_PASSES.code,
                        login: None,
                        review_id: None,
                        step: Some(step.id.get_ref().clone()),
                        message:
                            "`loket check` does not pass on the head; fix the errors it reports"
                                .into(),
                    });
                    StepState::Pending
                }
                Completion::Review => self.review(step, choice[i], &mut at, &mut status.findings),
                // `after_merge` holds for every other kind.
                _ => StepState::AfterMerge,
            };
            if matches!(state, StepState::Pending) {
                if status.pending.is_none() {
                    status.pending = Some(Pending {
                        step: step.id.get_ref().clone(),
                        role: role.to_string(),
                    });
                }
                at.blocked = self.sop.ordered;
            }
            status.steps.push(StepStatus {
                id: step.id.get_ref().clone(),
                no: step.no,
                role: role.to_string(),
                role_title: self
                    .config
                    .roles
                    .get(role)
                    .map_or_else(|| role.to_string(), |r| r.title.clone()),
                done_by,
                state,
            });
        }
    }

    /// A step loket completes itself (submission, a passing check) at `at`.
    fn automatic(&self, step: &Step, at: Option<String>) -> StepState {
        StepState::Done {
            record: StepRecord {
                step: step.id.get_ref().clone(),
                done_by: *step.done_by.get_ref(),
                role: step.role.get_ref().clone(),
                login: None,
                at: at.unwrap_or_default(),
                review_id: None,
                acting: None,
            },
        }
    }

    /// A review step: done by the chosen approval, or pending with the reason each
    /// approval does not complete it.
    fn review(
        &self,
        step: &Step,
        chosen: Option<usize>,
        at: &mut WalkState,
        findings: &mut Vec<Finding>,
    ) -> StepState {
        let role = step.role.get_ref().as_str();
        let Some(a) = chosen.map(|k| &self.approvals[k]) else {
            let facts = StepFacts {
                config: self.config,
                role,
                ordered: self.sop.ordered,
                previous_done: at.previous,
                distinct_people: self.sop.distinct_people,
                used: &at.used,
            };
            // Not holding the role is only news when one holds none at all
            // (reported once, by `outsider_findings`).
            for a in self.approvals {
                let failed = rules::step_rules()
                    .find_map(|(rule, f)| f(&facts, a.review, a.at).map(|m| (rule, m)));
                if let Some((rule, message)) = failed
                    && rule.code != rules::ROLE_ON_BASE.code
                {
                    findings.push(Finding {
                        code: rule.code,
                        login: Some(a.review.login.clone()),
                        review_id: Some(a.review.id),
                        step: Some(step.id.get_ref().clone()),
                        message,
                    })
                }
            }
            return StepState::Pending;
        };
        at.used.insert(a.review.login.to_ascii_lowercase());
        at.previous = Some((a.at, a.review.id));
        // The choice passed every step rule, role-on-base among them.
        let holding = roles::holds_role(self.config, role, &a.review.login, a.at)
            .unwrap_or(roles::Holding::Holder);
        StepState::Done {
            record: review_record(step.id.get_ref(), role, a, holding),
        }
    }
}

/// Approvals by people holding none of the SOP's review roles on the base branch.
fn outsider_findings(
    config: &Config,
    sop: &Sop,
    approvals: &[Approval],
    findings: &mut Vec<Finding>,
) {
    let review_roles: Vec<&str> = sop
        .steps
        .iter()
        .filter(|s| *s.done_by.get_ref() == Completion::Review)
        .map(|s| s.role.get_ref().as_str())
        .collect();
    for a in approvals {
        if !roles::roles_at(config, &a.review.login, Some(a.at)).any(|r| review_roles.contains(&r))
        {
            findings.push(Finding {
                code: rules::ROLE_ON_BASE.code,
                login: Some(a.review.login.clone()),
                review_id: Some(a.review.id),
                step: None,
                message: format!(
                    "{} holds no role this SOP's steps need ({}) in loket.toml on the base branch",
                    a.review.login,
                    review_roles.join(", ")
                ),
            });
        }
    }
}

/// A request for changes by someone holding one of the SOP's roles returns (or
/// refuses) the request, whatever else is approved: any step's role, not only the
/// reviewing ones (the admin who would create the account may object too). The
/// reason is public (status site): it names the role, never the login.
pub(super) fn objection<'a>(
    config: &'a Config,
    sop: &'a Sop,
    objections: &[&'a Review],
) -> Option<(Outcome, String)> {
    let sop_roles: Vec<&str> = sop
        .steps
        .iter()
        .map(|s| s.role.get_ref().as_str())
        .collect();
    // An acting official objects for the role while the delegation is in force.
    let held = |o: &'a Review| {
        let at = o.submitted_at.as_deref().and_then(super::parse_time);
        roles::roles_at(config, &o.login, at)
            .filter(|r| sop_roles.contains(r))
            .collect::<Vec<&str>>()
    };
    let o = objections.iter().find(|o| !held(o).is_empty())?;
    let body = o.body.trim();
    let refused = REFUSAL_PREFIXES.iter().any(|p| {
        body.get(..p.len())
            .is_some_and(|h| h.eq_ignore_ascii_case(p))
    });
    let outcome = if refused {
        Outcome::Refused
    } else {
        Outcome::Returned
    };
    let reason = if body.is_empty() {
        let roles = held(o);
        format!("changes requested by {} (no reason given)", roles.join("/"))
    } else {
        body.chars().take(500).collect()
    };
    Some((outcome, reason))
}

/// Which approval completes each review step: the assignment completing the most
/// steps, earlier steps first. A plain first-fit could miss one when a person holds
/// two roles (distinct people, or an unordered SOP), so this searches; it stops at
/// the first assignment that completes every step it can, and SOPs are short.
fn choose(
    config: &Config,
    sop: &Sop,
    approvals: &[Approval],
    created: Option<Timestamp>,
    check_passed: bool,
) -> Vec<Option<usize>> {
    let n = sop.steps.len();
    let mut search = Search {
        config,
        sop,
        approvals,
        created,
        check_passed,
        cur: vec![None; n],
        done: vec![false; n],
        best: (vec![false; n], vec![None; n]),
        used: BTreeSet::new(),
    };
    search.step(0, None, false);
    search.best.1
}

struct Search<'a> {
    config: &'a Config,
    sop: &'a Sop,
    approvals: &'a [Approval<'a>],
    created: Option<Timestamp>,
    check_passed: bool,
    cur: Vec<Option<usize>>,
    done: Vec<bool>,
    best: (Vec<bool>, Vec<Option<usize>>),
    used: BTreeSet<String>,
}

impl Search<'_> {
    /// Whether the best so far completes every step that can be completed before
    /// the merge, so no other assignment can beat it.
    fn perfect(&self) -> bool {
        (0..self.sop.steps.len()).all(|i| self.best.0[i] || Config::after_merge(self.sop, i))
    }

    fn step(&mut self, i: usize, previous: Option<Done>, blocked: bool) {
        if i == self.sop.steps.len() {
            if self.done > self.best.0 {
                self.best = (self.done.clone(), self.cur.clone());
            }
            return;
        }
        let step = &self.sop.steps[i];
        match step.done_by.get_ref() {
            _ if Config::after_merge(self.sop, i) => self.step(i + 1, previous, blocked),
            _ if blocked => self.step(i + 1, previous, blocked),
            Completion::Submit => {
                self.done[i] = true;
                self.step(i + 1, self.created.map(|at| (at, 0)), blocked);
                self.done[i] = false;
            }
            Completion::Check if self.check_passed => {
                self.done[i] = true;
                self.step(i + 1, previous, blocked);
                self.done[i] = false;
            }
            Completion::Check => self.step(i + 1, previous, self.sop.ordered),
            Completion::Review => {
                let mut any = false;
                for (k, a) in self.approvals.iter().enumerate() {
                    let facts = StepFacts {
                        config: self.config,
                        role: step.role.get_ref(),
                        ordered: self.sop.ordered,
                        previous_done: previous,
                        distinct_people: self.sop.distinct_people,
                        used: &self.used,
                    };
                    if rules::step_rules().any(|(_, f)| f(&facts, a.review, a.at).is_some()) {
                        continue;
                    }
                    any = true;
                    let login = a.review.login.to_ascii_lowercase();
                    let fresh = self.used.insert(login.clone());
                    self.cur[i] = Some(k);
                    self.done[i] = true;
                    self.step(i + 1, Some((a.at, a.review.id)), blocked);
                    self.cur[i] = None;
                    self.done[i] = false;
                    if fresh {
                        self.used.remove(&login);
                    }
                    if self.perfect() {
                        return;
                    }
                }
                // A completed step beats a pending one whatever follows, so leave
                // the step pending only when no approval can complete it.
                if !any {
                    self.step(i + 1, previous, self.sop.ordered);
                }
            }
            // `after_merge` holds for every other kind.
            _ => self.step(i + 1, previous, blocked),
        }
    }
}
