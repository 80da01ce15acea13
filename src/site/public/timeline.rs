//! The timeline of one ticket, most recent first: its SOP steps (role, never person;
//! time taken against the standard), the apply events and the step pending, with its
//! status and the totals the statistics use.

use jiff::Timestamp;

use super::{Entry, PublicLetter, PublicTicket, Status, Total, When};
use crate::model::RequestKind;
use crate::model::config::{Completion, Config, Sop, TimeZone};
use crate::model::letter::IssuedLetter;
use crate::model::record::{EventKind, Outcome, Progress, StepRecord};
use crate::site::standard;
use crate::site::text::{self, Lang, completion_title, event_title, status_label};

/// Submission to the last step the SOP's standard total counts, once every one of
/// them is done, against that total ([`standard::of`]: the same on every page).
fn ticket_total(
    sop: &Sop,
    lang: Lang,
    start: Timestamp,
    steps: &[(Timestamp, &StepRecord)],
) -> Option<Total> {
    let mut end = None;
    for def in standard::counted(sop) {
        let done = steps.iter().find(|(_, s)| s.step == *def.id.get_ref())?;
        end = end.max(Some(done.0));
    }
    let std = standard::of(sop, lang)?;
    let m = end?.duration_since(start).as_secs() / 60;
    Some(Total {
        minutes: m,
        text: text::duration(lang, m),
        within_standard: m <= i64::from(std.minutes),
        standard_minutes: std.minutes,
        standard_text: std.text,
        standard_scope: std.scope,
    })
}

fn public_letter(config: &Config, lang: Lang, l: &IssuedLetter) -> PublicLetter {
    PublicLetter {
        number: l.number.clone(),
        date: l.date.clone(),
        date_text: l
            .date
            .parse::<jiff::civil::Date>()
            .map_or_else(|_| l.date.clone(), |d| text::date(lang, d)),
        signer: crate::review::roles::acting_title(config, &l.signer_role, l.acting.as_ref()),
        pdf_sha256: l.pdf_sha256.clone(),
    }
}

pub(super) fn when(lang: Lang, tz: TimeZone, ts: Timestamp) -> When {
    When {
        at: ts.display_with_offset(text::offset(tz)).to_string(),
        text: text::date_time(lang, ts, tz),
        ts: Some(ts),
    }
}

/// The event a step of this kind already stands for on the timeline.
fn same_as_step(k: EventKind) -> Option<Completion> {
    match k {
        EventKind::Applied => Some(Completion::Apply),
        EventKind::Verified => Some(Completion::Verify),
        EventKind::Notified => Some(Completion::Notify),
        EventKind::Failed | EventKind::Repaired => None,
    }
}

fn role_title(config: &Config, role: &str) -> String {
    config
        .roles
        .get(role)
        .map_or_else(|| role.to_string(), |r| r.title.clone())
}

#[allow(clippy::too_many_arguments)]
pub(super) fn build(
    config: &Config,
    lang: Lang,
    ticket: &str,
    kind: Option<RequestKind>,
    (sop_id, sop): (&str, &Sop),
    opd: Option<String>,
    submitted: Option<When>,
    progress: Option<&Progress>,
    no_record: Outcome,
    calendar: Option<&crate::calendar::Calendar>,
) -> PublicTicket {
    let mut record_latest: Option<Timestamp> = None;
    let tz = *config.office.time_zone.get_ref();
    let sop_title = match lang {
        Lang::Id => sop.title.clone(),
        Lang::En => sop.title_en.clone().unwrap_or_else(|| sop.title.clone()),
    };
    let step_of = |id: &str| sop.steps.iter().find(|s| s.id.get_ref() == id);
    let mut entries: Vec<(Option<Timestamp>, usize, Entry)> = Vec::new();
    let mut step_minutes = Vec::new();
    let mut total = None;
    let outcome = progress.map_or(no_record, |p| p.outcome);
    let mut waiting_for = String::new();
    let mut next = None;
    if let Some(p) = progress {
        let mut steps: Vec<_> = p
            .steps
            .iter()
            .filter_map(|s| Some((s.at.parse::<Timestamp>().ok()?, s)))
            .collect();
        steps.sort_by_key(|(ts, _)| *ts);
        record_latest = steps.last().map(|(ts, _)| *ts);
        let first = steps.first().map(|(ts, _)| *ts);
        let mut prev: Option<Timestamp> = None;
        for (i, (ts, s)) in steps.iter().enumerate() {
            let def = step_of(&s.step);
            let minutes = prev.map(|p| ts.duration_since(p).as_secs() / 60);
            let standard = def.and_then(|d| d.minutes).filter(|_| minutes.is_some());
            if let Some(m) = minutes {
                step_minutes.push((s.step.clone(), m, standard));
            }
            let detail = def.map(|d| match lang {
                Lang::Id => d.text.clone(),
                Lang::En => d.text_en.clone().unwrap_or_else(|| d.text.clone()),
            });
            entries.push((
                Some(*ts),
                i,
                Entry {
                    kind: "step",
                    step: Some(s.step.clone()),
                    no: def.and_then(|d| d.no),
                    title: completion_title(lang, s.done_by).to_string(),
                    detail,
                    // "Plh. Kepala Dinas …" for an acting official; never a name.
                    actor: crate::review::roles::acting_title(config, &s.role, s.acting.as_ref()),
                    when: Some(when(lang, tz, *ts)),
                    minutes,
                    minutes_text: minutes.map(|m| text::duration(lang, m)),
                    standard_minutes: standard,
                    standard_text: standard.map(|m| text::duration(lang, i64::from(m))),
                    within_standard: minutes.zip(standard).map(|(m, s)| m <= i64::from(s)),
                },
            ));
            prev = Some(*ts);
        }
        for (j, e) in p.events.iter().enumerate() {
            let covered = same_as_step(e.kind)
                .is_some_and(|c| p.steps.iter().any(|s| s.done_by == c && s.at == e.at));
            let Ok(ts) = e.at.parse::<Timestamp>() else {
                continue;
            };
            record_latest = record_latest.max(Some(ts));
            if covered {
                continue;
            }
            entries.push((
                Some(ts),
                steps.len() + j,
                Entry {
                    kind: "event",
                    step: None,
                    no: None,
                    title: event_title(lang, e.kind).to_string(),
                    detail: None,
                    actor: lang
                        .pick("Sistem loket (otomatis)", "loket (automatic)")
                        .into(),
                    when: Some(when(lang, tz, ts)),
                    minutes: None,
                    minutes_text: None,
                    standard_minutes: None,
                    standard_text: None,
                    within_standard: None,
                },
            ));
        }
        total = first.and_then(|start| ticket_total(sop, lang, start, &steps));
        let since = steps
            .last()
            .map(|(ts, _)| *ts)
            .or_else(|| submitted.as_ref().and_then(|w| w.ts));
        next = super::next::next(config, calendar, lang, sop, p, since);
        if matches!(outcome, Outcome::Returned | Outcome::Refused) {
            // The decision itself has no recorded time: shown on top, undated. Its
            // reason stays with the pull request.
            let refused = outcome == Outcome::Refused;
            entries.push((
                None,
                usize::MAX,
                Entry {
                    kind: "outcome",
                    step: None,
                    no: None,
                    title: if refused {
                        lang.pick("Permohonan ditolak", "Request refused")
                    } else {
                        lang.pick(
                            "Permohonan dikembalikan kepada pemohon",
                            "Request returned to the applicant",
                        )
                    }
                    .into(),
                    detail: Some(
                        lang.pick(
                            "Alasannya disampaikan kepada pemohon dan tidak ditampilkan di sini.",
                            "The reason was given to the applicant and is not shown here.",
                        )
                        .into(),
                    ),
                    actor: p
                        .pending_step
                        .as_deref()
                        .and_then(step_of)
                        .map(|d| role_title(config, d.role.get_ref()))
                        .unwrap_or_default(),
                    when: None,
                    minutes: None,
                    minutes_text: None,
                    standard_minutes: None,
                    standard_text: None,
                    within_standard: None,
                },
            ));
        }
        if let Some(def) = p.pending_step.as_deref().and_then(step_of) {
            waiting_for = role_title(config, def.role.get_ref());
            if matches!(outcome, Outcome::Pending | Outcome::Approved) {
                entries.push((
                    None,
                    usize::MAX,
                    Entry {
                        kind: "pending",
                        step: Some(def.id.get_ref().clone()),
                        no: def.no,
                        title: lang.pick("Menunggu", "Waiting").to_string(),
                        detail: Some(match lang {
                            Lang::Id => def.text.clone(),
                            Lang::En => def.text_en.clone().unwrap_or_else(|| def.text.clone()),
                        }),
                        actor: waiting_for.clone(),
                        when: None,
                        minutes: None,
                        minutes_text: None,
                        standard_minutes: def.minutes,
                        standard_text: def.minutes.map(|m| text::duration(lang, i64::from(m))),
                        within_standard: None,
                    },
                ));
            }
        }
    } else if let Some(s) = &submitted {
        let def = sop.steps.first();
        entries.push((
            s.ts,
            0,
            Entry {
                kind: "step",
                step: def.map(|d| d.id.get_ref().clone()),
                no: def.and_then(|d| d.no),
                title: completion_title(lang, Completion::Submit).into(),
                detail: None,
                actor: def.map_or_else(String::new, |d| role_title(config, d.role.get_ref())),
                when: Some(s.clone()),
                minutes: None,
                minutes_text: None,
                standard_minutes: None,
                standard_text: None,
                within_standard: None,
            },
        ));
    }
    let status = match outcome {
        Outcome::Pending if !waiting_for.is_empty() => Status::Waiting,
        Outcome::Pending => Status::Submitted,
        Outcome::Returned => Status::Returned,
        Outcome::Refused => Status::Refused,
        Outcome::Approved => Status::Approved,
        Outcome::Processed => Status::Processed,
        Outcome::Done => Status::Done,
        Outcome::Failed => Status::Failed,
    };
    // Most recent first; the pending step on top; ties keep record order reversed.
    entries.sort_by(|a, b| match (a.0, b.0) {
        (None, None) => b.1.cmp(&a.1),
        (None, Some(_)) => std::cmp::Ordering::Less,
        (Some(_), None) => std::cmp::Ordering::Greater,
        (Some(x), Some(y)) => y.cmp(&x).then(b.1.cmp(&a.1)),
    });
    let updated = entries
        .iter()
        .find_map(|(_, _, e)| e.when.clone())
        .or_else(|| submitted.clone());
    let letter = progress
        .and_then(|p| p.letter.as_ref())
        .map(|l| public_letter(config, lang, l));
    let month = submitted
        .as_ref()
        .and_then(|w| w.ts)
        .map(|ts| text::offset(tz).to_datetime(ts))
        .map(|dt| (dt.year(), dt.month()));
    PublicTicket {
        ticket: ticket.to_string(),
        kind,
        kind_label: kind.map_or_else(
            || sop_title.clone(),
            |k| lang.pick(k.label_id(), k.label_en()).to_string(),
        ),
        sop: sop_id.to_string(),
        sop_title,
        opd,
        status,
        status_label: status_label(lang, status, &waiting_for),
        submitted,
        updated,
        timeline: entries.into_iter().map(|(_, _, e)| e).collect(),
        next,
        total,
        has_letter: letter.is_some(),
        letter,
        step_minutes,
        month,
        key: [0; 16],
        record_latest,
        partial: false,
        from_snapshot: false,
    }
}
