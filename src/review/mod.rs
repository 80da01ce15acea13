//! Approvals: which SOP step each request of a pull request has reached, decided by
//! pure functions over forge data ([`crate::forge::PullData`]) and `loket.toml` as on
//! the base branch. [`rules`] holds the rules, [`render`] the outputs, [`gate`] the
//! check `loket apply` runs on merge and the durable approval trail.
//!
//! How a refusal is expressed: a review requesting changes whose body starts with
//! "ditolak" or "refused" (any case) refuses the request; any other changes-requested
//! review by a role holder returns it to the applicant, with the body as the reason.

pub mod gate;
pub mod render;
pub mod rules;

use std::collections::{BTreeMap, BTreeSet};

use jiff::Timestamp;
use serde::Serialize;

use crate::forge::{ChangedFile, PullData, Review, ReviewState};
use crate::model::record::{Outcome, StepRecord};
use crate::model::{CONFIG_FILE, Completion, Config, Instance, REQUESTS_DIR, RequestKind};
use rules::{PrFacts, StepFacts};

/// Words that, opening a changes-requested review, make it a refusal.
pub const REFUSAL_PREFIXES: &[&str] = &["ditolak", "refused"];

/// A request the pull request adds or changes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TicketRef {
    pub ticket: String,
    pub kind: RequestKind,
    /// Path relative to the instance root.
    pub path: String,
}

/// What a pull request touches, read from its changed files and the head tree.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Touched {
    pub requests: Vec<TicketRef>,
    pub config_changed: bool,
    /// Request files the head tree could not provide (unparsable or missing).
    pub problems: Vec<String>,
}

/// Reads which requests a PR touches. `prefix` is the instance directory relative to
/// the repository root (`""` when the instance is the repository).
pub fn touched(files: &[ChangedFile], prefix: &str, head: &Instance) -> Touched {
    let prefix = prefix.trim_matches('/');
    let rel = |p: &str| -> Option<String> {
        if prefix.is_empty() {
            Some(p.to_string())
        } else {
            p.strip_prefix(prefix)?
                .strip_prefix('/')
                .map(str::to_string)
        }
    };
    let mut t = Touched::default();
    for f in files {
        let paths = [Some(&f.path), f.previous_path.as_ref()];
        if paths
            .iter()
            .flatten()
            .any(|p| rel(p).as_deref() == Some(CONFIG_FILE))
        {
            t.config_changed = true;
        }
        let Some(path) = rel(&f.path) else { continue };
        if f.removed || !path.starts_with(&format!("{REQUESTS_DIR}/")) || !path.ends_with(".toml") {
            continue;
        }
        let found = head
            .requests
            .iter()
            .find(|r| head.path(r.file).to_string_lossy() == path);
        match found {
            Some(r) => t.requests.push(TicketRef {
                ticket: r.value.ticket.get_ref().clone(),
                kind: *r.value.kind.get_ref(),
                path,
            }),
            None => t.problems.push(format!(
                "{path} is changed by the pull request but cannot be read from the working tree (check out the pull request's head and run `loket check`)"
            )),
        }
    }
    t.requests.sort_by(|a, b| a.ticket.cmp(&b.ticket));
    t
}

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
pub struct StepStatus {
    pub id: String,
    pub no: Option<u32>,
    pub role: String,
    pub role_title: String,
    pub done_by: Completion,
    #[serde(flatten)]
    pub state: StepState,
}

/// Why a review did not count, under a rule code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    pub code: &'static str,
    pub login: String,
    pub review_id: u64,
    /// The step it was weighed against, for step rules.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    pub message: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct TicketStatus {
    pub ticket: String,
    pub kind: RequestKind,
    pub path: String,
    pub sop: Option<String>,
    pub outcome: Outcome,
    pub steps: Vec<StepStatus>,
    /// The step now pending and the role it waits for.
    pub pending: Option<(String, String)>,
    /// The reviewer's reason for a return or refusal, or what blocks the request.
    pub reason: Option<String>,
    pub findings: Vec<Finding>,
}

/// The extra approval a change to `loket.toml` needs.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigChange {
    pub role: Option<String>,
    pub approved: Option<StepRecord>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    pub pr: u64,
    pub head_sha: String,
    pub tickets: Vec<TicketStatus>,
    pub config_change: Option<ConfigChange>,
    /// Reviews that did not count for any reason not tied to one step.
    pub findings: Vec<Finding>,
    pub problems: Vec<String>,
    pub outcome: Outcome,
}

impl Evaluation {
    /// 0 approved (or nothing to approve), 3 pending, 1 returned or refused.
    pub fn exit_code(&self) -> u8 {
        match self.outcome {
            Outcome::Returned | Outcome::Refused => 1,
            Outcome::Approved | Outcome::Processed => 0,
            _ => 3,
        }
    }
}

pub fn parse_time(s: &str) -> Option<Timestamp> {
    s.parse::<Timestamp>().ok()
}

/// A review that passed every review rule: a candidate approval.
struct Approval<'a> {
    review: &'a Review,
    at: Timestamp,
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
    let mut contributors: BTreeSet<String> = data
        .commits
        .iter()
        .flat_map(|c| [&c.author_login, &c.committer_login])
        .flatten()
        .map(|l| l.to_ascii_lowercase())
        .collect();
    contributors.insert(data.pull.author.to_ascii_lowercase());

    // Each login's latest decisive review (approve, request changes, dismissed
    // approval); comments neither give nor withdraw an approval.
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
    let facts = PrFacts {
        data,
        contributors,
        latest: latest.values().map(|r| r.id).collect(),
    };

    let mut findings = Vec::new();
    let mut approvals = Vec::new();
    for r in &data.reviews {
        let failed = rules::review_rules().find_map(|(rule, f)| f(&facts, r).map(|m| (rule, m)));
        let at = r.submitted_at.as_deref().and_then(parse_time);
        match (failed, at) {
            (None, Some(at)) => approvals.push(Approval { review: r, at }),
            (Some((rule, message)), _) => {
                // A request for changes is reported as the outcome, not as a finding.
                if r.state != ReviewState::ChangesRequested || rule.code != "A001" {
                    findings.push(Finding {
                        code: rule.code,
                        login: r.login.clone(),
                        review_id: r.id,
                        step: None,
                        message,
                    });
                }
            }
            (None, None) => findings.push(Finding {
                code: rules::FORMAL_APPROVAL.code,
                login: r.login.clone(),
                review_id: r.id,
                step: None,
                message: "no submission time: not a submitted review".into(),
            }),
        }
    }
    approvals.sort_by_key(|a| (a.at, a.review.id));
    // Active requests for changes, by the reviewer's latest review.
    let objections: Vec<&Review> = latest
        .values()
        .filter(|r| r.state == ReviewState::ChangesRequested && !r.dismissed)
        .copied()
        .collect();

    let created = parse_time(&data.pull.created_at);
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
        .collect();

    let config_change = touched.config_changed.then(|| {
        let role = config
            .approvals
            .config_change_role
            .as_ref()
            .map(|r| r.get_ref().clone());
        let approved = role.as_deref().and_then(|role| {
            approvals.iter().find_map(|a| {
                config
                    .roles
                    .get(role)?
                    .logins
                    .iter()
                    .any(|l| l.get_ref().eq_ignore_ascii_case(&a.review.login))
                    .then(|| review_record("loket.toml", role, a))
            })
        });
        ConfigChange { role, approved }
    });

    let mut problems = touched.problems.clone();
    if let Some(cc) = &config_change
        && cc.role.is_none()
    {
        problems.push(format!(
            "[{}] this pull request changes loket.toml but approvals.config-change-role is not set on the base branch, so no one can approve it",
            rules::CONFIG_CHANGE.code
        ));
    }
    let outcomes: Vec<Outcome> = tickets.iter().map(|t| t.outcome).collect();
    let outcome = if outcomes.contains(&Outcome::Refused) {
        Outcome::Refused
    } else if outcomes.contains(&Outcome::Returned) {
        Outcome::Returned
    } else if outcomes.contains(&Outcome::Pending)
        || !problems.is_empty()
        || config_change.as_ref().is_some_and(|c| c.approved.is_none())
    {
        Outcome::Pending
    } else {
        Outcome::Approved
    };
    Evaluation {
        pr: data.pull.number,
        head_sha: data.pull.head_sha.clone(),
        tickets,
        config_change,
        findings,
        problems,
        outcome,
    }
}

fn review_record(step: &str, role: &str, a: &Approval) -> StepRecord {
    StepRecord {
        step: step.to_string(),
        done_by: Completion::Review,
        role: role.to_string(),
        login: Some(a.review.login.clone()),
        at: a.review.submitted_at.clone().unwrap_or_default(),
        review_id: Some(a.review.id),
    }
}

fn ticket_status(
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
                    login: String::new(),
                    review_id: 0,
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
                                login: a.review.login.clone(),
                                review_id: a.review.id,
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
            Completion::Merge | Completion::Apply | Completion::Verify | Completion::Notify => {
                StepState::AfterMerge
            }
        };
        if matches!(state, StepState::Pending) {
            if status.pending.is_none() {
                status.pending = Some((step.id.get_ref().clone(), role.to_string()));
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
                login: a.review.login.clone(),
                review_id: a.review.id,
                step: None,
                message: format!(
                    "{} holds none of the roles this SOP's steps need ({}) in loket.toml on the base branch",
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

#[cfg(test)]
mod tests;
