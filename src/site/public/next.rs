//! What happens next on a ticket still in progress (issue 13, item 6): the pending
//! step, the role that acts, its standard time and the instant by which it is
//! expected, counted in the office's working time ([`Calendar`]). Only role titles
//! and SOP wording: nothing personal. Built from the inputs only (never from the
//! build's clock), so a page does not change just because time passes.

use jiff::Timestamp;
use serde::Serialize;

use super::When;
use super::timeline::when;
use crate::calendar::Calendar;
use crate::model::config::{Config, Sop};
use crate::model::record::{Outcome, Progress};
use crate::site::text::{self, Lang};

/// The next step of a ticket, as its page and JSON show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Next {
    /// `unprocessed` (no one has acted on the request yet: belum diproses),
    /// `in-progress` (a later step is pending) or `returned` (dikembalikan untuk
    /// perbaikan: the applicant is to correct the request).
    pub state: &'static str,
    pub state_label: String,
    /// The SOP step id and number of the pending step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no: Option<u32>,
    /// The SOP's wording of what is to be done.
    pub detail: String,
    /// Who acts: a role title, never a person.
    pub actor: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standard_minutes: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standard_text: Option<String>,
    /// Since when it has been waiting: the last completed step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since: Option<When>,
    /// `since` plus the standard in working time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_by: Option<When>,
}

fn role_title(config: &Config, role: &str) -> String {
    config
        .roles
        .get(role)
        .map_or_else(|| role.to_string(), |r| r.title.clone())
}

/// The next step of `progress` under `sop`, waiting since `since`; `None` for a
/// ticket that is not waiting on anyone (processed, refused, failed).
pub(super) fn next(
    config: &Config,
    calendar: Option<&Calendar>,
    lang: Lang,
    sop: &Sop,
    progress: &Progress,
    since: Option<Timestamp>,
) -> Option<Next> {
    let tz = *config.office.time_zone.get_ref();
    let def = progress
        .pending_step
        .as_deref()
        .and_then(|id| sop.steps.iter().find(|s| s.id.get_ref() == id));
    let wording = |d: &crate::model::config::Step| match lang {
        Lang::Id => d.text.clone(),
        Lang::En => d.text_en.clone().unwrap_or_else(|| d.text.clone()),
    };
    let since_when = since.map(|ts| when(lang, tz, ts));
    match progress.outcome {
        Outcome::Returned => {
            // The applicant acts: the role of the SOP's submitting step.
            let applicant = sop.steps.first().map(|s| s.role.get_ref().as_str());
            Some(Next {
                state: "returned",
                state_label: lang
                    .pick("Dikembalikan untuk perbaikan", "Returned for correction")
                    .into(),
                step: def.map(|d| d.id.get_ref().clone()),
                no: def.and_then(|d| d.no),
                detail: lang
                    .pick(
                        "Pemohon memperbaiki permohonan sesuai alasan yang disampaikan kepadanya; setelah diperbaiki, langkah ini diulang.",
                        "The applicant corrects the request as the reason given to them says; once corrected, this step is taken again.",
                    )
                    .into(),
                actor: applicant.map_or_else(String::new, |r| role_title(config, r)),
                standard_minutes: None,
                standard_text: None,
                since: since_when,
                expected_by: None,
            })
        }
        Outcome::Pending | Outcome::Approved => {
            let def = def?;
            // Only the applicant's own submission so far: nobody has acted yet.
            let unprocessed = progress
                .steps
                .iter()
                .all(|s| s.done_by == crate::model::config::Completion::Submit);
            let standard = def.minutes;
            let expected = since
                .zip(standard)
                .zip(calendar)
                .and_then(|((ts, m), c)| c.add_working(ts, m));
            Some(Next {
                state: if unprocessed {
                    "unprocessed"
                } else {
                    "in-progress"
                },
                state_label: if unprocessed {
                    lang.pick("Belum diproses", "Not yet processed")
                } else {
                    lang.pick("Sedang diproses", "In progress")
                }
                .into(),
                step: Some(def.id.get_ref().clone()),
                no: def.no,
                detail: wording(def),
                actor: role_title(config, def.role.get_ref()),
                standard_minutes: standard,
                standard_text: standard.map(|m| text::duration(lang, i64::from(m))),
                since: since_when,
                expected_by: expected.map(|ts| when(lang, tz, ts)),
            })
        }
        _ => None,
    }
}
