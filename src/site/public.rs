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
use super::text::{self, Lang};
use crate::model::config::{Completion, Config, Sop};
use crate::model::record::{Outcome, Progress};
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
    /// Every SOP step done, the follow-up too: "selesai".
    Done,
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

/// Submission to the last step the SOP's standard counts, against that standard
/// ([`super::standard`]), once every counted step is done.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Total {
    pub minutes: i64,
    pub text: String,
    pub standard_minutes: u32,
    pub standard_text: String,
    /// Which steps the standard counts, in words.
    pub standard_scope: String,
    pub within_standard: bool,
}

/// The public facts of the ticket's issued letter, for its verification page
/// `surat/<ticket>/`: never the addressee or the account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PublicLetter {
    /// The outgoing-letter number from the office's register.
    pub number: String,
    /// `YYYY-MM-DD`.
    pub date: String,
    pub date_text: String,
    /// The signing role's title, with "Plt."/"Plh."/"Pj." when an official acted.
    pub signer: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pdf_sha256: Option<String>,
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
    /// What happens next, while someone is to act on it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub next: Option<next::Next>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<Total>,
    /// The issued letter, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub letter: Option<PublicLetter>,
    /// Whether it has a letter (also for a ticket known by its summary).
    #[serde(skip)]
    pub has_letter: bool,
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
    /// It has a verification page (`surat/<ticket>/`) to keep.
    pub letter: bool,
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
            letter: self.has_letter,
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
            next: None,
            total: s.total.map(|(minutes, standard_minutes)| Total {
                minutes,
                text: String::new(),
                standard_minutes,
                standard_text: String::new(),
                standard_scope: String::new(),
                within_standard: minutes <= i64::from(standard_minutes),
            }),
            letter: None,
            has_letter: s.letter,
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
    // `loket check` (L090) refuses hours it cannot read; without them no "expected by".
    let calendar = crate::calendar::Calendar::from_config(config).ok();
    let ctx = Ctx {
        config,
        lang,
        calendar: calendar.as_ref(),
    };
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
                &ctx,
                Input {
                    ticket: r.ticket(),
                    kind: Some(r.kind()),
                    sop: (sop_id, sop),
                    opd,
                    submitted: submitted_when,
                    progress,
                    // A merged request without a record yet has every approval.
                    no_record: Outcome::Approved,
                },
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
            &ctx,
            Input {
                ticket: &p.ticket,
                kind,
                sop: (sop_id, sop),
                opd: None,
                submitted,
                progress: Some(p),
                no_record: Outcome::Pending,
            },
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

pub mod next;
mod timeline;
use timeline::{Ctx, Input, build, when};

#[cfg(test)]
mod tests;
