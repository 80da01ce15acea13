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

/// The office-wide facts every timeline is drawn with.
pub(super) struct Ctx<'a> {
    pub config: &'a Config,
    pub lang: Lang,
    pub calendar: Option<&'a crate::calendar::Calendar>,
}

/// What one ticket's timeline is made from.
pub(super) struct Input<'a> {
    pub ticket: &'a str,
    pub kind: Option<RequestKind>,
    pub sop: (&'a str, &'a Sop),
    pub opd: Option<String>,
    pub submitted: Option<When>,
    pub progress: Option<&'a Progress>,
    /// The outcome of a ticket without a record.
    pub no_record: Outcome,
}

/// A timeline entry with what orders it: its time (undated ones go on top) and its
/// place in the record.
type Placed = (Option<Timestamp>, usize, Entry);

/// A step's minutes since the one before, with its standard (the statistics' input).
type StepMinutes = (String, i64, Option<u32>);

/// What the record's steps and events add to the ticket.
#[derive(Default)]
struct FromRecord {
    entries: Vec<Placed>,
    step_minutes: Vec<StepMinutes>,
    total: Option<Total>,
    latest: Option<Timestamp>,
    waiting_for: String,
    next: Option<super::next::Next>,
}

/// The public ticket: the record's timeline (or the submission alone), its status,
/// and the facts the pages and statistics show.
pub(super) fn build(ctx: &Ctx, input: Input) -> PublicTicket {
    let Ctx { config, lang, .. } = *ctx;
    let (sop_id, sop) = input.sop;
    let tz = *config.office.time_zone.get_ref();
    let outcome = input.progress.map_or(input.no_record, |p| p.outcome);
    let mut r = match input.progress {
        Some(p) => from_record(ctx, sop, p, outcome, input.submitted.as_ref()),
        None => FromRecord {
            entries: input
                .submitted
                .iter()
                .map(|s| submitted_entry(ctx, sop, s))
                .collect(),
            ..FromRecord::default()
        },
    };
    let status = status_of(outcome, !r.waiting_for.is_empty());
    newest_first(&mut r.entries);
    let updated = r
        .entries
        .iter()
        .find_map(|(_, _, e)| e.when.clone())
        .or_else(|| input.submitted.clone());
    let letter = input
        .progress
        .and_then(|p| p.letter.as_ref())
        .map(|l| public_letter(config, lang, l));
    let month = input
        .submitted
        .as_ref()
        .and_then(|w| w.ts)
        .map(|ts| text::offset(tz).to_datetime(ts))
        .map(|dt| (dt.year(), dt.month()));
    let sop_title = match lang {
        Lang::Id => sop.title.clone(),
        Lang::En => sop.title_en.clone().unwrap_or_else(|| sop.title.clone()),
    };
    PublicTicket {
        ticket: input.ticket.to_string(),
        kind: input.kind,
        kind_label: input.kind.map_or_else(
            || sop_title.clone(),
            |k| lang.pick(k.label_id(), k.label_en()).to_string(),
        ),
        sop: sop_id.to_string(),
        sop_title,
        opd: input.opd,
        status,
        status_label: status_label(lang, status, &r.waiting_for),
        submitted: input.submitted,
        updated,
        timeline: r.entries.into_iter().map(|(_, _, e)| e).collect(),
        next: r.next,
        total: r.total,
        has_letter: letter.is_some(),
        letter,
        step_minutes: r.step_minutes,
        month,
        key: [0; 16],
        record_latest: r.latest,
        partial: false,
        from_snapshot: false,
    }
}

/// The timeline a record makes: its steps, the events no step stands for, the
/// decision of a returned or refused request, and the step pending.
fn from_record(
    ctx: &Ctx,
    sop: &Sop,
    p: &Progress,
    outcome: Outcome,
    submitted: Option<&When>,
) -> FromRecord {
    let mut steps: Vec<_> = p
        .steps
        .iter()
        .filter_map(|s| Some((s.at.parse::<Timestamp>().ok()?, s)))
        .collect();
    steps.sort_by_key(|(ts, _)| *ts);
    let (mut entries, step_minutes) = step_entries(ctx, sop, &steps);
    let (events, events_latest) = event_entries(ctx, p, steps.len());
    entries.extend(events);
    entries.extend(outcome_entry(ctx, sop, p, outcome));
    let pending = p
        .pending_step
        .as_deref()
        .and_then(|id| sop.steps.iter().find(|s| s.id.get_ref() == id));
    let waiting_for =
        pending.map_or_else(String::new, |d| role_title(ctx.config, d.role.get_ref()));
    if let Some(def) = pending.filter(|_| matches!(outcome, Outcome::Pending | Outcome::Approved)) {
        entries.push(pending_entry(ctx, def, &waiting_for));
    }
    let since = steps
        .last()
        .map(|(ts, _)| *ts)
        .or_else(|| submitted.and_then(|w| w.ts));
    FromRecord {
        total: steps
            .first()
            .and_then(|(start, _)| ticket_total(sop, ctx.lang, *start, &steps)),
        latest: steps.last().map(|(ts, _)| *ts).max(events_latest),
        next: super::next::next(ctx.config, ctx.calendar, ctx.lang, sop, p, since),
        entries,
        step_minutes,
        waiting_for,
    }
}

/// An entry with a title and an actor and nothing else.
fn plain(kind: &'static str, title: &str, actor: String) -> Entry {
    Entry {
        kind,
        step: None,
        no: None,
        title: title.to_string(),
        detail: None,
        actor,
        when: None,
        minutes: None,
        minutes_text: None,
        standard_minutes: None,
        standard_text: None,
        within_standard: None,
    }
}

fn step_text(lang: Lang, def: &crate::model::config::Step) -> String {
    match lang {
        Lang::Id => def.text.clone(),
        Lang::En => def.text_en.clone().unwrap_or_else(|| def.text.clone()),
    }
}

/// The recorded steps in time order, each with the time it took since the one
/// before against its standard time.
fn step_entries(
    ctx: &Ctx,
    sop: &Sop,
    steps: &[(Timestamp, &StepRecord)],
) -> (Vec<Placed>, Vec<StepMinutes>) {
    let (lang, tz) = (ctx.lang, *ctx.config.office.time_zone.get_ref());
    let mut entries = Vec::with_capacity(steps.len());
    let mut step_minutes = Vec::new();
    let mut prev: Option<Timestamp> = None;
    for (i, (ts, s)) in steps.iter().enumerate() {
        let def = sop.steps.iter().find(|d| d.id.get_ref() == &s.step);
        let minutes = prev.map(|p| ts.duration_since(p).as_secs() / 60);
        let standard = def.and_then(|d| d.minutes).filter(|_| minutes.is_some());
        if let Some(m) = minutes {
            step_minutes.push((s.step.clone(), m, standard));
        }
        // "Plh. Kepala Dinas …" for an acting official; never a name.
        let actor = crate::review::roles::acting_title(ctx.config, &s.role, s.acting.as_ref());
        let mut e = plain("step", completion_title(lang, s.done_by), actor);
        e.step = Some(s.step.clone());
        e.no = def.and_then(|d| d.no);
        e.detail = def.map(|d| step_text(lang, d));
        e.when = Some(when(lang, tz, *ts));
        e.minutes = minutes;
        e.minutes_text = minutes.map(|m| text::duration(lang, m));
        e.standard_minutes = standard;
        e.standard_text = standard.map(|m| text::duration(lang, i64::from(m)));
        e.within_standard = minutes.zip(standard).map(|(m, s)| m <= i64::from(s));
        entries.push((Some(*ts), i, e));
        prev = Some(*ts);
    }
    (entries, step_minutes)
}

/// The record's events that no step already stands for (a failure, a repair), and
/// the latest time of any event.
fn event_entries(ctx: &Ctx, p: &Progress, after: usize) -> (Vec<Placed>, Option<Timestamp>) {
    let (lang, tz) = (ctx.lang, *ctx.config.office.time_zone.get_ref());
    let mut latest = None;
    let mut entries = Vec::new();
    for (j, e) in p.events.iter().enumerate() {
        let Ok(ts) = e.at.parse::<Timestamp>() else {
            continue;
        };
        latest = latest.max(Some(ts));
        let covered = same_as_step(e.kind)
            .is_some_and(|c| p.steps.iter().any(|s| s.done_by == c && s.at == e.at));
        if covered {
            continue;
        }
        let actor = lang.pick("Sistem loket (otomatis)", "loket (automatic)");
        let mut entry = plain("event", event_title(lang, e.kind), actor.into());
        entry.when = Some(when(lang, tz, ts));
        entries.push((Some(ts), after + j, entry));
    }
    (entries, latest)
}

/// The decision on a returned or refused request: it has no recorded time, so it is
/// shown on top, undated; its reason stays with the pull request.
fn outcome_entry(ctx: &Ctx, sop: &Sop, p: &Progress, outcome: Outcome) -> Option<Placed> {
    let lang = ctx.lang;
    let title = match outcome {
        Outcome::Refused => lang.pick("Permohonan ditolak", "Request refused"),
        Outcome::Returned => lang.pick(
            "Permohonan dikembalikan kepada pemohon",
            "Request returned to the applicant",
        ),
        _ => return None,
    };
    let actor = p
        .pending_step
        .as_deref()
        .and_then(|id| sop.steps.iter().find(|s| s.id.get_ref() == id))
        .map(|d| role_title(ctx.config, d.role.get_ref()))
        .unwrap_or_default();
    let mut e = plain("outcome", title, actor);
    e.detail = Some(
        lang.pick(
            "Alasannya disampaikan kepada pemohon dan tidak ditampilkan di sini.",
            "The reason was given to the applicant and is not shown here.",
        )
        .into(),
    );
    Some((None, usize::MAX, e))
}

/// The step the ticket waits for, with its standard time.
fn pending_entry(ctx: &Ctx, def: &crate::model::config::Step, waiting_for: &str) -> Placed {
    let lang = ctx.lang;
    let mut e = plain(
        "pending",
        lang.pick("Menunggu", "Waiting"),
        waiting_for.into(),
    );
    e.step = Some(def.id.get_ref().clone());
    e.no = def.no;
    e.detail = Some(step_text(lang, def));
    e.standard_minutes = def.minutes;
    e.standard_text = def.minutes.map(|m| text::duration(lang, i64::from(m)));
    (None, usize::MAX, e)
}

/// A ticket without a record shows its submission alone.
fn submitted_entry(ctx: &Ctx, sop: &Sop, s: &When) -> Placed {
    let def = sop.steps.first();
    let actor = def.map_or_else(String::new, |d| role_title(ctx.config, d.role.get_ref()));
    let mut e = plain(
        "step",
        completion_title(ctx.lang, Completion::Submit),
        actor,
    );
    e.step = def.map(|d| d.id.get_ref().clone());
    e.no = def.and_then(|d| d.no);
    e.when = Some(s.clone());
    (s.ts, 0, e)
}

fn status_of(outcome: Outcome, waiting: bool) -> Status {
    match outcome {
        Outcome::Pending if waiting => Status::Waiting,
        Outcome::Pending => Status::Submitted,
        Outcome::Returned => Status::Returned,
        Outcome::Refused => Status::Refused,
        Outcome::Approved => Status::Approved,
        Outcome::Processed => Status::Processed,
        Outcome::Done => Status::Done,
        Outcome::Failed => Status::Failed,
    }
}

/// Most recent first; undated entries (the pending step, a decision) on top; ties
/// keep record order reversed.
fn newest_first(entries: &mut [Placed]) {
    entries.sort_by(|a, b| match (a.0, b.0) {
        (None, None) => b.1.cmp(&a.1),
        (None, Some(_)) => std::cmp::Ordering::Less,
        (Some(_), None) => std::cmp::Ordering::Greater,
        (Some(x), Some(y)) => y.cmp(&x).then(b.1.cmp(&a.1)),
    });
}
