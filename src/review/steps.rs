//! One request's SOP walked step by step: which approval completes which step,
//! under the step rules (role on base, order, distinct people), and the outcome.

use std::collections::BTreeSet;

use jiff::Timestamp;

use super::{
    Approval, Finding, Pending, REFUSAL_PREFIXES, StepState, StepStatus, TicketRef, TicketStatus,
    review_record, rules,
};
use crate::forge::Review;
use crate::model::record::{Outcome, StepRecord};
use crate::model::{Completion, Config};
use rules::StepFacts;

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
    let title = |role: &str| {
        config
            .roles
            .get(role)
            .map_or_else(|| role.to_string(), |r| r.title.clone())
    };

    let mut previous: Option<Timestamp> = None;
    let mut used: BTreeSet<String> = BTreeSet::new();
    let mut blocked = false;
    for step in &sop.steps {
        let role = step.role.get_ref().as_str();
        let done_by = *step.done_by.get_ref();
        let state = match done_by {
            Completion::Merge | Completion::Apply | Completion::Verify | Completion::Notify => {
                StepState::AfterMerge
            }
            _ if blocked => StepState::Waiting,
            Completion::Submit => {
                previous = created;
                StepState::Done {
                    record: StepRecord {
                        step: step.id.get_ref().clone(),
                        done_by,
                        role: role.to_string(),
                        login: None,
                        at: created.map(|c| c.to_string()).unwrap_or_default(),
                        review_id: None,
                    },
                }
            }
            Completion::Check if check_passed => StepState::Done {
                record: StepRecord {
                    step: step.id.get_ref().clone(),
                    done_by,
                    role: role.to_string(),
                    login: None,
                    at: now.to_string(),
                    review_id: None,
                },
            },
            Completion::Check => {
                status.findings.push(Finding {
                    code: rules::CHECK_PASSES.code,
                    login: None,
                    review_id: None,
                    step: Some(step.id.get_ref().clone()),
                    message: "`loket check` does not pass on the head; fix the errors it reports"
                        .into(),
                });
                StepState::Pending
            }
            Completion::Review => {
                let facts = StepFacts {
                    config,
                    role,
                    ordered: sop.ordered,
                    previous_done_at: previous,
                    distinct_people: sop.distinct_people,
                    used: &used,
                };
                let mut chosen = None;
                for a in approvals {
                    let failed = rules::step_rules()
                        .find_map(|(rule, f)| f(&facts, a.review, a.at).map(|m| (rule, m)));
                    match failed {
                        None => {
                            chosen = Some(a);
                            break;
                        }
                        // Not holding the role is only news when it holds none at all
                        // (reported once below); order and distinctness are news.
                        Some((rule, message)) if rule.code != rules::ROLE_ON_BASE.code => {
                            status.findings.push(Finding {
                                code: rule.code,
                                login: Some(a.review.login.clone()),
                                review_id: Some(a.review.id),
                                step: Some(step.id.get_ref().clone()),
                                message,
                            })
                        }
                        Some(_) => {}
                    }
                }
                match chosen {
                    Some(a) => {
                        used.insert(a.review.login.to_ascii_lowercase());
                        previous = Some(a.at);
                        StepState::Done {
                            record: review_record(step.id.get_ref(), role, a),
                        }
                    }
                    None => StepState::Pending,
                }
            }
        };
        if matches!(state, StepState::Pending) {
            if status.pending.is_none() {
                status.pending = Some(Pending {
                    step: step.id.get_ref().clone(),
                    role: role.to_string(),
                });
            }
            blocked = sop.ordered;
        }
        status.steps.push(StepStatus {
            id: step.id.get_ref().clone(),
            no: step.no,
            role: role.to_string(),
            role_title: title(role),
            done_by,
            state,
        });
    }
    // Approvals by people holding none of the SOP's review roles on the base branch.
    let review_roles: Vec<&str> = sop
        .steps
        .iter()
        .filter(|s| *s.done_by.get_ref() == Completion::Review)
        .map(|s| s.role.get_ref().as_str())
        .collect();
    let holds_any = |login: &str| config.roles_of(login).any(|r| review_roles.contains(&r));
    for a in approvals {
        if !holds_any(&a.review.login) {
            status.findings.push(Finding {
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
    // A request for changes by someone holding one of the SOP's roles returns (or
    // refuses) the request, whatever else is approved.
    if let Some(o) = objections.iter().find(|o| holds_any(&o.login)) {
        let body = o.body.trim();
        let refused = REFUSAL_PREFIXES.iter().any(|p| {
            body.get(..p.len())
                .is_some_and(|h| h.eq_ignore_ascii_case(p))
        });
        status.outcome = if refused {
            Outcome::Refused
        } else {
            Outcome::Returned
        };
        status.reason = Some(if body.is_empty() {
            format!("changes requested by {} (no reason given)", o.login)
        } else {
            body.chars().take(500).collect()
        });
        return status;
    }
    if status.pending.is_none() {
        status.outcome = Outcome::Approved;
    }
    status
}
