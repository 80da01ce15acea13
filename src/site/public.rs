//! The public model: what the site and its JSON API may show of a ticket. It is built
//! field by field from requests, records and the snapshot, and has no place for a
//! name, NIP, contact, address, host, login, letter number or free-text reason, so
//! none can leak through a template.

use std::collections::{BTreeMap, HashMap};
use std::hash::Hash as _;

use jiff::Timestamp;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::manifest::{Hash, KeyHasher};
use super::text::{self, Lang, completion_title, event_title, status_label};
use crate::model::config::{Completion, Config, Sop, TimeZone};
use crate::model::record::{EventKind, Outcome, Progress};
use crate::model::{Instance, RequestKind, time};

/// Where a ticket stands, as the public reads it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Submitted,
    Waiting,
    Returned,
    Refused,
    Approved,
    Processed,
    Failed,
}

/// A moment, machine- and human-readable. Date-only values stay date-only: no fake
/// 00:00.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct When {
    /// RFC 3339 in the office's offset, or `YYYY-MM-DD` when only the date is known.
    pub at: String,
    pub text: String,
    #[serde(skip)]
    pub ts: Option<Timestamp>,
}

/// One line of a ticket's timeline.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Entry {
    /// `step`, `event` or `pending`.
    pub kind: &'static str,
    /// The SOP step id, for steps.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
    /// The step's number in the SOP document.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no: Option<u32>,
    pub title: String,
    /// The SOP's wording of the step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Who acted, as a role (never a person).
    pub actor: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub when: Option<When>,
    /// Minutes since the previous step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minutes: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minutes_text: Option<String>,
    /// The SOP's standard time for the step.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standard_minutes: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standard_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub within_standard: Option<bool>,
}

/// Submission to completion against the sum of the measured steps' standards.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Total {
    pub minutes: i64,
    pub text: String,
    pub standard_minutes: u32,
    pub standard_text: String,
    pub within_standard: bool,
}

/// A ticket as the public sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublicTicket {
    pub ticket: String,
    /// `None` for a snapshot ticket whose SOP serves several kinds.
    pub kind: Option<RequestKind>,
    pub kind_label: String,
    pub sop: String,
    pub sop_title: String,
    /// The applicant's agency, only when `[site] show-opd = true`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub opd: Option<String>,
    pub status: Status,
    pub status_label: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub submitted: Option<When>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub updated: Option<When>,
    /// Most recent first.
    pub timeline: Vec<Entry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<Total>,
    /// Per completed step with a standard: (step id, minutes taken); for statistics.
    #[serde(skip)]
    pub step_minutes: Vec<(String, i64, Option<u32>)>,
    /// Year and month of submission in the office's zone; for statistics.
    #[serde(skip)]
    pub month: Option<(i16, i8)>,
    /// A digest of everything this ticket's page and JSON are made from (besides the
    /// build fingerprint), so a build can skip a ticket whose inputs did not change.
    #[serde(skip)]
    pub key: Hash,
    /// The latest step or event of its record (not of a snapshot entry).
    #[serde(skip)]
    pub record_latest: Option<Timestamp>,
    /// Only the [`Summary`] fields are filled (from the summary cache): enough for the
    /// statistics and the index, never rendered.
    #[serde(skip)]
    pub partial: bool,
    /// Its progress comes from the forge snapshot (an open pull request, or a merged
    /// request with no record yet): a new snapshot may change it.
    #[serde(skip)]
    pub from_snapshot: bool,
}

/// What the statistics, the index and the "as of" time need of a ticket; cached per
/// input digest so an unchanged ticket's model need not be built again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub status: Status,
    pub kind: Option<RequestKind>,
    pub updated_at: Option<String>,
    pub month: Option<(i16, i8)>,
    pub step_minutes: Vec<(String, i64, Option<u32>)>,
    /// Total minutes and their standard.
    pub total: Option<(i64, u32)>,
    pub record_latest: Option<String>,
    pub from_snapshot: bool,
}

/// Per ticket: the input digest and the summary of the model built from it. Sorted,
/// so an incremental build walks it in ticket order instead of sorting the tickets.
pub type Summaries = BTreeMap<String, (Hash, Summary)>;

impl PublicTicket {
    pub fn summary(&self) -> Summary {
        Summary {
            status: self.status,
            kind: self.kind,
            updated_at: self.updated.as_ref().map(|w| w.at.clone()),
            month: self.month,
            step_minutes: self.step_minutes.clone(),
            total: self.total.as_ref().map(|t| (t.minutes, t.standard_minutes)),
            record_latest: self.record_latest.map(|ts| ts.to_string()),
            from_snapshot: self.from_snapshot,
        }
    }

    /// A ticket known by its summary only: see [`PublicTicket::partial`].
    pub fn from_summary(ticket: &str, key: Hash, s: Summary) -> PublicTicket {
        PublicTicket {
            ticket: ticket.to_string(),
            kind: s.kind,
            kind_label: String::new(),
            sop: String::new(),
            sop_title: String::new(),
            opd: None,
            status: s.status,
            status_label: String::new(),
            submitted: None,
            updated: s.updated_at.map(|at| When {
                at,
                text: String::new(),
                ts: None,
            }),
            timeline: Vec::new(),
            total: s.total.map(|(minutes, standard_minutes)| Total {
                minutes,
                text: String::new(),
                standard_minutes,
                standard_text: String::new(),
                within_standard: minutes <= i64::from(standard_minutes),
            }),
            step_minutes: s.step_minutes,
            month: s.month,
            key,
            record_latest: s.record_latest.and_then(|t| t.parse().ok()),
            partial: true,
            from_snapshot: s.from_snapshot,
        }
    }
}

/// The digest of everything a ticket's model is built from, besides the config.
#[allow(clippy::too_many_arguments)]
fn input_key(
    ticket: &str,
    kind: Option<RequestKind>,
    sop_id: &str,
    opd: &Option<String>,
    submitted: Option<&str>,
    progress: Option<&Progress>,
    from_record: bool,
    no_record: Outcome,
) -> Hash {
    let mut key = KeyHasher::default();
    (ticket, kind, sop_id, opd, submitted).hash(&mut key);
    (progress, from_record, no_record).hash(&mut key);
    key.digest()
}

/// Builds the public view of every ticket: requests with their records, then
/// snapshot tickets not merged yet. Sorted by ticket.
///
/// A request ticket whose input digest matches its entry in `cached` is not built:
/// it comes back `partial`, from the summary. `only`, when given, limits the result
/// to those tickets (built in full).
pub fn tickets(
    inst: &Instance,
    records: &[Progress],
    snapshot: Option<&crate::model::record::Snapshot>,
    lang: Lang,
    cached: &Summaries,
    only: Option<&std::collections::HashSet<String>>,
) -> Vec<PublicTicket> {
    let Some(config) = inst.config.as_ref() else {
        return Vec::new();
    };
    let tz = *config.office.time_zone.get_ref();
    let by_ticket: HashMap<&str, &Progress> =
        records.iter().map(|r| (r.ticket.as_str(), r)).collect();
    let pending: HashMap<&str, &Progress> = snapshot
        .map(|s| s.tickets.iter().map(|p| (p.ticket.as_str(), p)).collect())
        .unwrap_or_default();
    let mut out: Vec<PublicTicket> = inst
        .requests
        .par_iter()
        .filter_map(|req| {
            let r = &req.value;
            if only.is_some_and(|o| !o.contains(r.ticket())) {
                return None;
            }
            let (sop_id, sop) = config.sop_for(r.kind())?;
            let record = by_ticket.get(r.ticket()).copied();
            let progress = record.or_else(|| pending.get(r.ticket()).copied());
            let opd = config
                .site
                .show_opd
                .then(|| r.applicant.opd.get_ref().clone());
            let submitted = r.submitted.get_ref();
            let key = input_key(
                r.ticket(),
                Some(r.kind()),
                sop_id,
                &opd,
                Some(&submitted.to_string()),
                progress,
                record.is_some(),
                Outcome::Approved,
            );
            if only.is_none()
                && let Some((k, summary)) = cached.get(r.ticket())
                && *k == key
            {
                return Some(PublicTicket::from_summary(r.ticket(), key, summary.clone()));
            }
            let sub_ts = time::to_timestamp(submitted, tz.utc_offset_hours());
            let submitted_when = if time::is_date_only(submitted) {
                time::to_date(submitted).map(|d| When {
                    at: d.to_string(),
                    text: text::date(lang, d),
                    ts: sub_ts,
                })
            } else {
                sub_ts.map(|ts| when(lang, tz, ts))
            };
            let mut t = build(
                config,
                lang,
                r.ticket(),
                Some(r.kind()),
                (sop_id, sop),
                opd,
                submitted_when,
                progress,
                // A merged request without a record yet has every approval.
                Outcome::Approved,
            );
            if record.is_none() {
                t.record_latest = None;
                t.from_snapshot = progress.is_some();
            }
            t.key = key;
            Some(t)
        })
        .collect();
    // Sorted by ticket; should a ticket repeat (`loket check` refuses that), the
    // last request wins, as a map would have it.
    out.sort_by(|a, b| a.ticket.cmp(&b.ticket));
    let mut out: BTreeMap<String, PublicTicket> =
        out.into_iter().map(|t| (t.ticket.clone(), t)).collect();
    let merged: std::collections::HashSet<&str> = match only {
        Some(_) => inst.requests.iter().map(|r| r.value.ticket()).collect(),
        None => Default::default(),
    };
    for p in pending.values() {
        if out.contains_key(&p.ticket) || only.is_some_and(|o| !o.contains(&p.ticket)) {
            continue;
        }
        if merged.contains(p.ticket.as_str()) {
            // Merged, but left out above by `only`.
            continue;
        }
        // Entries written since `kind` exists carry it; older ones are inferred.
        let (kind, (sop_id, sop)) = match p.kind {
            Some(k) => match config.sop_for(k) {
                Some(found) => (Some(k), found),
                None => continue,
            },
            None => {
                let Some((sop_id, sop)) = sop_of_progress(config, p) else {
                    continue;
                };
                let kinds: Vec<RequestKind> = sop.kinds.iter().map(|k| *k.get_ref()).collect();
                ((kinds.len() == 1).then(|| kinds[0]), (sop_id, sop))
            }
        };
        let submitted = p
            .steps
            .iter()
            .find(|s| s.done_by == Completion::Submit)
            .and_then(|s| s.at.parse::<Timestamp>().ok())
            .map(|ts| when(lang, tz, ts));
        let mut t = build(
            config,
            lang,
            &p.ticket,
            kind,
            (sop_id, sop),
            None,
            submitted,
            Some(p),
            Outcome::Pending,
        );
        t.record_latest = None;
        t.from_snapshot = true;
        t.key = input_key(
            &p.ticket,
            kind,
            sop_id,
            &None,
            None,
            Some(p),
            false,
            Outcome::Pending,
        );
        out.insert(t.ticket.clone(), t);
    }
    out.into_values().collect()
}

/// The SOP an open pull request follows, from the step ids its progress names (for
/// snapshot entries written before they carried their kind). `None` when no SOP fits.
fn sop_of_progress<'c>(config: &'c Config, p: &Progress) -> Option<(&'c str, &'c Sop)> {
    let ids: Vec<&str> = p
        .steps
        .iter()
        .map(|s| s.step.as_str())
        .chain(p.pending_step.as_deref())
        .collect();
    let fits: Vec<(&str, &Sop)> = config
        .sops
        .iter()
        .filter(|(_, sop)| {
            ids.iter()
                .all(|id| sop.steps.iter().any(|s| s.id.get_ref() == id))
        })
        .map(|(id, s)| (id.as_str(), s))
        .collect();
    match fits.as_slice() {
        [one] => Some(*one),
        // Several SOPs share the early steps: any of them describes the timeline,
        // pick the first by id so the output stays deterministic.
        [first, ..] => Some(*first),
        [] => None,
    }
}

fn when(lang: Lang, tz: TimeZone, ts: Timestamp) -> When {
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
        EventKind::Failed => None,
    }
}

fn role_title(config: &Config, role: &str) -> String {
    config
        .roles
        .get(role)
        .map_or_else(|| role.to_string(), |r| r.title.clone())
}

#[allow(clippy::too_many_arguments)]
fn build(
    config: &Config,
    lang: Lang,
    ticket: &str,
    kind: Option<RequestKind>,
    (sop_id, sop): (&str, &Sop),
    opd: Option<String>,
    submitted: Option<When>,
    progress: Option<&Progress>,
    no_record: Outcome,
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
        let mut standard_sum = 0u32;
        for (i, (ts, s)) in steps.iter().enumerate() {
            let def = step_of(&s.step);
            let minutes = prev.map(|p| ts.duration_since(p).as_secs() / 60);
            let standard = def.and_then(|d| d.minutes).filter(|_| minutes.is_some());
            if let (Some(m), Some(std)) = (minutes, standard) {
                standard_sum += std;
                step_minutes.push((s.step.clone(), m, Some(std)));
            } else if let Some(m) = minutes {
                step_minutes.push((s.step.clone(), m, None));
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
                    actor: role_title(config, &s.role),
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
        if outcome == Outcome::Processed
            && let (Some(start), Some((end, _))) = (first, steps.last())
            && standard_sum > 0
        {
            let m = end.duration_since(start).as_secs() / 60;
            total = Some(Total {
                minutes: m,
                text: text::duration(lang, m),
                standard_minutes: standard_sum,
                standard_text: text::duration(lang, i64::from(standard_sum)),
                within_standard: m <= i64::from(standard_sum),
            });
        }
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
        total,
        step_minutes,
        month,
        key: [0; 16],
        record_latest,
        partial: false,
        from_snapshot: false,
    }
}

#[cfg(test)]
mod tests;
