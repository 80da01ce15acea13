//! Follow-up pull requests: after apply and verify, a pull request that adds exactly
//! one `letters/<ticket>.toml` completes the ticket's remaining SOP steps (those after
//! the apply step, [`Config::follow_up_steps`]) under the same rules as a request:
//! approvals that pass every review rule (head commit, no self-approval, latest
//! review decides), then per step the role on the base branch, SOP order and
//! distinct people. What completes each step:
//!
//! - `draft`: opening the pull request, by a holder of the step's role;
//! - `review`: an approving review by a holder of the step's role (a paraf, a
//!   signature);
//! - `merge`: the merge (registration in the outgoing book, sending);
//! - `receipt`: an approving review by the applicant's login (`applicant.login` of
//!   the request), or with `[letters] receipt = "witness"` by a holder of the
//!   witness role, given after the previous step (it may come after the merge).

use std::collections::BTreeSet;

use super::rules::{self, Done, StepFacts};
use super::{
    Approval, Finding, Pending, StepState, StepStatus, TicketStatus, parse_time, review_record,
    roles,
};
use crate::forge::{PullData, Review};
use crate::model::config::{ReceiptBy, Step};
use crate::model::record::{Outcome, StepRecord};
use crate::model::{Completion, Config, RequestKind};

pub use super::touched::FollowUpRef;

/// The role a receipt step waits for, as shown: the witness role, or the
/// applicant's own step role.
fn receipt_role<'a>(config: &'a Config, step: &'a Step) -> &'a str {
    match &config.letters {
        Some(l) if l.receipt == ReceiptBy::Witness => l
            .witness_role
            .as_ref()
            .map_or(step.role.get_ref().as_str(), |r| r.get_ref().as_str()),
        _ => step.role.get_ref().as_str(),
    }
}

fn finding(code: &'static str, step: &Step, message: String) -> Finding {
    Finding {
        code,
        login: None,
        review_id: None,
        step: Some(step.id.get_ref().clone()),
        message,
    }
}

/// Where the walk over the follow-up steps is.
struct Walk<'a> {
    config: &'a Config,
    data: &'a PullData,
    approvals: &'a [Approval<'a>],
    ordered: bool,
    distinct: bool,
    previous: Option<Done>,
    used: BTreeSet<String>,
    blocked: bool,
}

impl Walk<'_> {
    /// The first approval completing a review-like step for `role` (or, for the
    /// applicant's receipt, by `login`), under the step rules.
    fn approval(
        &self,
        step: &Step,
        role: &str,
        login: Option<&str>,
        findings: &mut Vec<Finding>,
    ) -> Option<usize> {
        let facts = StepFacts {
            config: self.config,
            role,
            ordered: self.ordered,
            previous_done: self.previous,
            distinct_people: self.distinct,
            used: &self.used,
        };
        let mut found = None;
        for (k, a) in self.approvals.iter().enumerate() {
            let failed = match login {
                // The applicant holds no role: their login is the step's holder.
                Some(l) if !a.review.login.eq_ignore_ascii_case(l) => Some((
                    &RECEIPT_BY,
                    format!(
                        "{} is not the applicant's login the request names",
                        a.review.login
                    ),
                )),
                Some(_) => rules::step_rules()
                    .filter(|(r, _)| r.code != rules::ROLE_ON_BASE.code)
                    .find_map(|(r, f)| f(&facts, a.review, a.at).map(|m| (r, m))),
                None => {
                    rules::step_rules().find_map(|(r, f)| f(&facts, a.review, a.at).map(|m| (r, m)))
                }
            };
            match failed {
                None if found.is_none() => found = Some(k),
                None => {}
                Some((rule, message)) if found.is_none() => {
                    // Holding no role of this step is news only for role holders.
                    let quiet = rule.code == rules::ROLE_ON_BASE.code
                        && roles::roles_at(self.config, &a.review.login, Some(a.at))
                            .next()
                            .is_none();
                    if !quiet {
                        findings.push(Finding {
                            code: rule.code,
                            login: Some(a.review.login.clone()),
                            review_id: Some(a.review.id),
                            step: Some(step.id.get_ref().clone()),
                            message,
                        });
                    }
                }
                Some(_) => {}
            }
        }
        if found.is_some() {
            findings.retain(|f| f.step.as_deref() != Some(step.id.get_ref()));
        }
        found
    }

    fn step(&mut self, step: &Step, f: &FollowUpRef, findings: &mut Vec<Finding>) -> StepState {
        let role = step.role.get_ref().as_str();
        let pull = &self.data.pull;
        match *step.done_by.get_ref() {
            Completion::Draft => {
                // The drafter holds the role when the pull request was opened: a
                // listed holder, or an acting official under a delegation then.
                let at = parse_time(&pull.created_at);
                let holding =
                    at.and_then(|at| roles::holds_role(self.config, role, &pull.author, at));
                match (at, holding) {
                    (Some(at), Some(h)) => {
                        self.previous = Some((at, 0));
                        self.used.insert(pull.author.to_ascii_lowercase());
                        StepState::Done {
                            record: StepRecord {
                                step: step.id.get_ref().clone(),
                                done_by: Completion::Draft,
                                role: role.to_string(),
                                login: Some(pull.author.clone()),
                                at: pull.created_at.clone(),
                                review_id: None,
                                acting: h.acting(),
                            },
                        }
                    }
                    _ => {
                        findings.push(finding(DRAFTER.code, step, format!("the follow-up pull request was opened by {}, who does not hold role {role} on the base branch (nor acts for it) at that time", pull.author)));
                        StepState::Pending
                    }
                }
            }
            Completion::Merge => match pull.merged_at.as_deref().and_then(parse_time) {
                Some(at) if pull.merged => {
                    self.previous = Some((at, 0));
                    StepState::Done {
                        record: StepRecord {
                            step: step.id.get_ref().clone(),
                            done_by: Completion::Merge,
                            role: role.to_string(),
                            login: None,
                            at: pull.merged_at.clone().unwrap_or_default(),
                            review_id: None,
                            acting: None,
                        },
                    }
                }
                _ => StepState::Pending,
            },
            Completion::Review => match self.approval(step, role, None, findings) {
                Some(k) => self.take(step, role, k),
                None => StepState::Pending,
            },
            Completion::Receipt => {
                let by_witness = self
                    .config
                    .letters
                    .as_ref()
                    .is_some_and(|l| l.receipt == ReceiptBy::Witness);
                if by_witness {
                    let witness = receipt_role(self.config, step);
                    match self.approval(step, witness, None, findings) {
                        Some(k) => self.take(step, witness, k),
                        None => StepState::Pending,
                    }
                } else if let Some(login) = f.applicant_login.clone() {
                    match self.approval(step, role, Some(&login), findings) {
                        Some(k) => self.take(step, role, k),
                        None => StepState::Pending,
                    }
                } else {
                    findings.push(finding(RECEIPT_BY.code, step, format!("requests/{}.toml names no applicant.login, so no review can confirm the receipt", f.ticket)));
                    StepState::Pending
                }
            }
            // Not follow-up steps (filtered by `follow_up_steps`).
            _ => StepState::AfterMerge,
        }
    }

    /// Step `step` done by approval `k`, which passed the step rules for `role` (the
    /// applicant's receipt holds no role: recorded as the step's own).
    fn take(&mut self, step: &Step, role: &str, k: usize) -> StepState {
        let a = &self.approvals[k];
        self.used.insert(a.review.login.to_ascii_lowercase());
        self.previous = Some((a.at, a.review.id));
        let holding = roles::holds_role(self.config, role, &a.review.login, a.at)
            .unwrap_or(roles::Holding::Holder);
        let mut record = review_record(step.id.get_ref(), role, a, holding);
        record.done_by = *step.done_by.get_ref();
        StepState::Done { record }
    }
}

/// The follow-up status of the ticket whose letter the pull request adds.
pub(super) fn ticket_status(
    config: &Config,
    f: &FollowUpRef,
    data: &PullData,
    approvals: &[Approval],
    objections: &[&Review],
) -> TicketStatus {
    let mut status = TicketStatus {
        ticket: f.ticket.clone(),
        kind: f.kind.unwrap_or(RequestKind::MailCreate),
        path: f.path.clone(),
        sop: None,
        outcome: Outcome::Pending,
        steps: Vec::new(),
        pending: None,
        reason: None,
        findings: Vec::new(),
    };
    let Some((sop_id, sop)) = f.kind.and_then(|k| config.sop_for(k)) else {
        status.reason = Some(format!(
            "[{}] {} names a ticket with no request (or no SOP) on the base branch",
            FOLLOW_UP_PR.code, f.path
        ));
        return status;
    };
    status.sop = Some(sop_id.to_string());
    if !f.processed {
        status.reason = Some(format!(
            "[{}] ticket {} is not processed yet (apply and verify first): a letter comes after the account is made",
            FOLLOW_UP_PR.code, f.ticket
        ));
        return status;
    }
    let steps = Config::follow_up_steps(sop);
    if steps.is_empty() {
        status.reason = Some(format!(
            "[{}] SOP '{sop_id}' has no steps after the account is made: nothing for a follow-up pull request to complete",
            FOLLOW_UP_PR.code
        ));
        return status;
    }
    let mut walk = Walk {
        config,
        data,
        approvals,
        ordered: sop.ordered,
        distinct: sop.distinct_people,
        previous: None,
        used: BTreeSet::new(),
        blocked: false,
    };
    for (_, step) in steps {
        let role = match step.done_by.get_ref() {
            Completion::Receipt => receipt_role(config, step),
            _ => step.role.get_ref().as_str(),
        };
        let state = if walk.blocked {
            StepState::Waiting
        } else {
            walk.step(step, f, &mut status.findings)
        };
        if matches!(state, StepState::Pending) {
            status.pending.get_or_insert_with(|| Pending {
                step: step.id.get_ref().clone(),
                role: role.to_string(),
            });
            walk.blocked = sop.ordered;
        }
        status.steps.push(StepStatus {
            id: step.id.get_ref().clone(),
            no: step.no,
            role: role.to_string(),
            role_title: config
                .roles
                .get(role)
                .map_or_else(|| role.to_string(), |r| r.title.clone()),
            done_by: *step.done_by.get_ref(),
            state,
        });
    }
    status.outcome = outcome(&status, data);
    if let Some((o, reason)) = super::steps::objection(config, sop, objections) {
        status.outcome = o;
        status.reason = Some(reason);
    }
    status
}

/// Every follow-up step done: done. Otherwise approved (ready to merge, or merged
/// rightly) when every step left may wait for the merge: on an open pull request,
/// the merge step and what follows it; once merged, only steps after the merge step
/// and receipts (which the applicant may give after it). A merge that left a paraf
/// or a signature behind is pending, and `loket apply` refuses to record it.
fn outcome(status: &TicketStatus, data: &PullData) -> Outcome {
    if status.pending.is_none() {
        return Outcome::Done;
    }
    let merge_at = status
        .steps
        .iter()
        .position(|s| s.done_by == Completion::Merge);
    let after_merge = |i: usize, s: &StepStatus| {
        s.done_by == Completion::Receipt || merge_at.is_some_and(|m| i > m)
    };
    let left = || status.steps.iter().enumerate().filter(|(_, s)| !is_done(s));
    let ready = if data.pull.merged {
        left().all(|(i, s)| after_merge(i, s))
    } else {
        merge_at.is_some() && left().all(|(i, s)| Some(i) == merge_at || after_merge(i, s))
    };
    if ready {
        Outcome::Approved
    } else {
        Outcome::Pending
    }
}

fn is_done(s: &StepStatus) -> bool {
    matches!(s.state, StepState::Done { .. })
}

/// Whether a follow-up pull request as a whole may be merged (or recorded): every
/// step before the merge done, no objection.
pub fn mergeable(t: &TicketStatus) -> bool {
    matches!(t.outcome, Outcome::Approved | Outcome::Done)
}

/// Why a pull request touching `letters/` is no follow-up pull request.
pub(super) fn not_follow_up(letters: &[String]) -> String {
    format!(
        "[{}] this pull request changes {} beside other files (or several letters): a follow-up pull request adds exactly one letters/<ticket>.toml and nothing else",
        FOLLOW_UP_PR.code,
        super::list_paths(letters)
    )
}

pub const FOLLOW_UP_PR: rules::Rule = rules::Rule {
    code: "A015",
    name: "follow-up-pr",
    summary: "a pull request under letters/ adds exactly one letters/<ticket>.toml and nothing else, for a ticket loket already processed",
    summary_id: "pull request surat pemberitahuan hanya menambah satu letters/<tiket>.toml, untuk tiket yang telah diproses, tanpa berkas lain",
    check: rules::Check::Requirement,
};
pub const DRAFTER: rules::Rule = rules::Rule {
    code: "A016",
    name: "follow-up-drafter",
    summary: "a draft step completes when the follow-up pull request was opened by a holder of the step's role on the base branch",
    summary_id: "langkah draf selesai bila pull request dibuka oleh pemegang peran langkah tersebut",
    check: rules::Check::Requirement,
};
pub const RECEIPT_BY: rules::Rule = rules::Rule {
    code: "A017",
    name: "receipt-by",
    summary: "a receipt step completes by an approving review of the applicant's login named in the request (or of the witness role, with [letters] receipt = \"witness\")",
    summary_id: "tanda terima selesai dengan persetujuan oleh login pemohon (atau peran saksi)",
    check: rules::Check::Requirement,
};

/// When the follow-up's record says the step was done.
pub fn done_records(t: &TicketStatus) -> Vec<StepRecord> {
    t.steps
        .iter()
        .filter_map(|s| match &s.state {
            StepState::Done { record } => Some(record.clone()),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests;
