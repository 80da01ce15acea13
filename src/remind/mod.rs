//! Overdue reminders (`loket remind`): which pending SOP steps of open pull requests
//! have waited longer than their standard time, counted in the office's working
//! time ([`crate::calendar`]), who is reminded, and when the role above is called
//! on. [`comment`] writes the one reminder comment per pull request, [`run`] reads
//! the forge and keeps that comment.
//!
//! The pending steps come from the approval engine ([`crate::review::evaluate`]):
//! whatever it reports as pending on a pull request, a request's steps or a
//! follow-up's, is weighed here the same way.

pub mod comment;
pub mod run;

use jiff::{SignedDuration, Timestamp};
use serde::Serialize;

use crate::calendar::Calendar;
use crate::model::record::Outcome;
use crate::model::{Completion, Config, Sop};
use crate::review::{Evaluation, StepState, TicketStatus, parse_time};

/// Environment variable `loket remind` reads "now" from when `--now` is not given:
/// for tests and for rehearsing a schedule; unset, the clock decides.
pub const NOW_ENV: &str = "LOKET_REMIND_NOW";

/// Someone to mention: a role and the logins that hold it on the base branch.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Holders {
    pub role: String,
    pub title: String,
    pub logins: Vec<String>,
}

impl Holders {
    fn of(config: &Config, role: &str) -> Holders {
        let r = config.roles.get(role);
        Holders {
            role: role.to_string(),
            title: r.map_or_else(|| role.to_string(), |r| r.title.clone()),
            logins: r
                .map(|r| r.logins.iter().map(|l| l.get_ref().clone()).collect())
                .unwrap_or_default(),
        }
    }
}

/// A pending step past its standard time.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Overdue {
    pub ticket: String,
    pub step: String,
    pub no: Option<u32>,
    /// The SOP's wording of the step (Indonesian) and its English, if given.
    pub text: String,
    pub text_en: Option<String>,
    /// Who acts.
    pub holders: Holders,
    /// When the step started waiting: the previous step's completion, else the
    /// pull request's opening.
    #[serde(serialize_with = "rfc3339")]
    pub since: Timestamp,
    /// Working time waited, in whole minutes.
    pub waited_minutes: i64,
    /// The step's standard time.
    pub standard_minutes: u32,
    /// Set past `reminders.escalate-after` × the standard: the role above, if
    /// there is one.
    pub escalated: bool,
    pub above: Option<Holders>,
}

fn rfc3339<S: serde::Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(t)
}

/// The overdue steps of one evaluated pull request at `now`.
pub fn overdue(
    config: &Config,
    calendar: &Calendar,
    ev: &Evaluation,
    opened: Option<Timestamp>,
    now: Timestamp,
) -> Vec<Overdue> {
    ev.tickets
        .iter()
        .filter_map(|t| overdue_step(config, calendar, t, opened, now))
        .collect()
}

/// Whether a pending step is someone's to act on. A failing `loket check` is the
/// author's to fix, and the pull request already says so; it reminds no one.
fn remindable(done_by: Completion) -> bool {
    !matches!(done_by, Completion::Check | Completion::Submit)
}

fn overdue_step(
    config: &Config,
    calendar: &Calendar,
    t: &TicketStatus,
    opened: Option<Timestamp>,
    now: Timestamp,
) -> Option<Overdue> {
    if t.outcome != Outcome::Pending {
        return None;
    }
    let pending = t.pending.as_ref()?;
    let sop = config.sops.get(t.sop.as_deref()?)?;
    let i = sop
        .steps
        .iter()
        .position(|s| *s.id.get_ref() == pending.step)?;
    let since = waiting_since(sop, t, i).or(opened)?;
    late_step(config, calendar, sop, i, &t.ticket, since, now)
}

/// A processed ticket whose next step waits for someone to open its follow-up pull
/// request (`loket letter --draft`): overdue like a step on a pull request, counted
/// from the last step its record holds.
pub fn awaiting_follow_up(
    config: &Config,
    calendar: &Calendar,
    record: &crate::model::record::Progress,
    now: Timestamp,
) -> Option<Overdue> {
    if record.outcome != Outcome::Processed {
        return None;
    }
    let (_, sop) = config.sop_for(record.kind?)?;
    let pending = record.pending_step.as_deref()?;
    let i = sop.steps.iter().position(|s| s.id.get_ref() == pending)?;
    let since = record
        .steps
        .iter()
        .filter_map(|s| parse_time(&s.at))
        .max()?;
    late_step(config, calendar, sop, i, &record.ticket, since, now)
}

/// Step `i` of `sop`, waiting since `since`: overdue when it has a standard time,
/// is someone's to act on, and has waited longer in working time.
fn late_step(
    config: &Config,
    calendar: &Calendar,
    sop: &Sop,
    i: usize,
    ticket: &str,
    since: Timestamp,
    now: Timestamp,
) -> Option<Overdue> {
    let step = &sop.steps[i];
    let standard = step.minutes?;
    if !remindable(*step.done_by.get_ref()) {
        return None;
    }
    let waited = calendar.working_time(since, now);
    if waited <= SignedDuration::from_mins(i64::from(standard)) {
        return None;
    }
    let multiple = *config.reminders.escalate_after.get_ref();
    let limit = f64::from(standard) * 60.0 * multiple;
    let escalated = multiple.is_finite() && waited.as_secs_f64() > limit;
    let above = escalated
        .then(|| role_above(config, sop, i))
        .flatten()
        .map(|r| Holders::of(config, &r));
    Some(Overdue {
        ticket: ticket.to_string(),
        step: step.id.get_ref().clone(),
        no: step.no,
        text: step.text.clone(),
        text_en: step.text_en.clone(),
        holders: Holders::of(config, step.role.get_ref()),
        since,
        waited_minutes: waited.as_secs() / 60,
        standard_minutes: standard,
        escalated,
        above,
    })
}

/// When step `i` began to wait: in an ordered SOP, the latest completion among the
/// steps before it (the submission's is the pull request's opening); in an
/// unordered one every step waits from the opening, so `None` here.
fn waiting_since(sop: &Sop, t: &TicketStatus, i: usize) -> Option<Timestamp> {
    if !sop.ordered {
        return None;
    }
    t.steps
        .iter()
        .take(i)
        .filter_map(|s| match &s.state {
            StepState::Done { record } => parse_time(&record.at),
            _ => None,
        })
        .max()
}

/// Who a long-overdue step escalates to: the role's `reports-to`, else the role of
/// the SOP's nearest earlier review step by another role (who disposed the request
/// down to it).
pub fn role_above(config: &Config, sop: &Sop, i: usize) -> Option<String> {
    let role = sop.steps.get(i)?.role.get_ref();
    if let Some(up) = config.roles.get(role).and_then(|r| r.reports_to.as_ref()) {
        return Some(up.get_ref().clone());
    }
    sop.steps[..i]
        .iter()
        .rev()
        .find(|s| *s.done_by.get_ref() == Completion::Review && s.role.get_ref() != role)
        .map(|s| s.role.get_ref().clone())
}

#[cfg(test)]
mod tests;
