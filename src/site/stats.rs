//! Service statistics (UU 25/2009 asks for published service standards and how well
//! they are kept): per request kind and month of submission, the number of
//! requests, returned and refused counts, and per SOP step and in total the median
//! and 90th-percentile time against the standard, with the share within it.
//!
//! Percentiles use the nearest-rank method (a value that really occurred, no
//! interpolation), so they print as whole minutes and stay deterministic.

use std::collections::BTreeMap;

use serde::Serialize;

use super::public::{PublicTicket, Status};
use super::standard;
use super::text::{self, Lang};
use crate::model::RequestKind;
use crate::model::config::Config;

/// Times of one step (or the total) within one group.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Timing {
    /// SOP step id, or `total`.
    pub step: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub no: Option<u32>,
    /// The acting role's title, or empty for the total.
    pub role: String,
    pub count: usize,
    pub median_minutes: i64,
    pub p90_minutes: i64,
    pub median_text: String,
    pub p90_text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standard_minutes: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standard_text: Option<String>,
    /// Whole percent of measurements within the standard, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub within_percent: Option<u32>,
}

/// One request kind in one month.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Group {
    pub kind: RequestKind,
    pub kind_label: String,
    /// `YYYY-MM`.
    pub month: String,
    pub month_label: String,
    pub requests: usize,
    pub processed: usize,
    pub returned: usize,
    pub refused: usize,
    pub steps: Vec<Timing>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<Timing>,
    /// The SOP's standard total and which steps it counts ([`standard::of`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standard_text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standard_scope: Option<String>,
}

/// The nearest-rank `p`-th percentile (0 < p ≤ 100) of sorted values.
pub fn percentile(sorted: &[i64], p: u32) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let n = sorted.len();
    let rank = (n * p as usize).div_ceil(100).clamp(1, n);
    Some(sorted[rank - 1])
}

/// `part / whole` in whole percent, rounded half up.
fn percent(part: usize, whole: usize) -> u32 {
    if whole == 0 {
        return 0;
    }
    ((part * 200 + whole) / (whole * 2)) as u32
}

fn timing(
    lang: Lang,
    step: &str,
    no: Option<u32>,
    role: String,
    mut values: Vec<i64>,
    standard: Option<u32>,
) -> Option<Timing> {
    values.sort_unstable();
    let median = percentile(&values, 50)?;
    let p90 = percentile(&values, 90)?;
    Some(Timing {
        step: step.to_string(),
        no,
        role,
        count: values.len(),
        median_minutes: median,
        p90_minutes: p90,
        median_text: text::duration(lang, median),
        p90_text: text::duration(lang, p90),
        standard_minutes: standard,
        standard_text: standard.map(|s| text::duration(lang, i64::from(s))),
        within_percent: standard.map(|s| {
            let within = values.iter().filter(|&&v| v <= i64::from(s)).count();
            percent(within, values.len())
        }),
    })
}

/// Groups by kind (in [`RequestKind::ALL`] order) and month, most recent month first.
/// Tickets without a known kind or month (some snapshot entries) are left out.
pub fn compute(tickets: &[PublicTicket], config: &Config, lang: Lang) -> Vec<Group> {
    // Keyed by (kind index, month descending).
    type Key = (usize, std::cmp::Reverse<(i16, i8)>);
    let mut groups: BTreeMap<Key, Vec<&PublicTicket>> = BTreeMap::new();
    for t in tickets {
        let (Some(kind), Some(month)) = (t.kind, t.month) else {
            continue;
        };
        let k = RequestKind::ALL
            .iter()
            .position(|x| *x == kind)
            .unwrap_or(0);
        groups
            .entry((k, std::cmp::Reverse(month)))
            .or_default()
            .push(t);
    }
    groups
        .into_iter()
        .map(|((k, std::cmp::Reverse((y, m))), ts)| {
            let kind = RequestKind::ALL[k];
            let count = |s: Status| ts.iter().filter(|t| t.status == s).count();
            let mut steps = Vec::new();
            let sop_standard = config
                .sop_for(kind)
                .and_then(|(_, sop)| standard::of(sop, lang));
            if let Some((_, sop)) = config.sop_for(kind) {
                for def in &sop.steps {
                    let id = def.id.get_ref();
                    let values: Vec<i64> = ts
                        .iter()
                        .flat_map(|t| t.step_minutes.iter())
                        .filter(|(s, _, _)| s == id)
                        .map(|(_, m, _)| *m)
                        .collect();
                    let role = config
                        .roles
                        .get(def.role.get_ref())
                        .map_or_else(|| def.role.get_ref().clone(), |r| r.title.clone());
                    steps.extend(timing(lang, id, def.no, role, values, def.minutes));
                }
            }
            let totals: Vec<i64> = ts
                .iter()
                .filter_map(|t| t.total.as_ref())
                .map(|t| t.minutes)
                .collect();
            let standard = sop_standard.as_ref().map(|s| s.minutes);
            let total = timing(lang, "total", None, String::new(), totals, standard);
            Group {
                kind,
                kind_label: lang.pick(kind.label_id(), kind.label_en()).to_string(),
                month: format!("{y:04}-{m:02}"),
                month_label: text::month(lang, y, m),
                requests: ts.len(),
                processed: count(Status::Processed) + count(Status::Done),
                returned: count(Status::Returned),
                refused: count(Status::Refused),
                steps,
                total,
                standard_text: sop_standard.as_ref().map(|s| s.text.clone()),
                standard_scope: sop_standard.map(|s| s.scope),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v: Vec<i64> = (1..=10).collect();
        assert_eq!(percentile(&v, 50), Some(5));
        assert_eq!(percentile(&v, 90), Some(9));
        assert_eq!(percentile(&v, 100), Some(10));
        assert_eq!(percentile(&[7], 90), Some(7));
        assert_eq!(percentile(&[], 50), None);
        let odd = [1, 2, 100];
        assert_eq!(percentile(&odd, 50), Some(2));
        assert_eq!(percentile(&odd, 90), Some(100));
    }

    #[test]
    fn percent_rounds_half_up() {
        assert_eq!(percent(1, 3), 33);
        assert_eq!(percent(2, 3), 67);
        assert_eq!(percent(1, 2), 50);
        assert_eq!(percent(0, 0), 0);
        assert_eq!(percent(5, 5), 100);
    }

    fn ticket(
        kind: RequestKind,
        month: (i16, i8),
        status: Status,
        steps: &[(&str, i64)],
    ) -> PublicTicket {
        PublicTicket {
            ticket: "KDS-24WBW-PV52C".into(),
            kind: Some(kind),
            kind_label: String::new(),
            sop: String::new(),
            sop_title: String::new(),
            opd: None,
            status,
            status_label: String::new(),
            submitted: None,
            updated: None,
            timeline: Vec::new(),
            next: None,
            total: (status == Status::Processed).then(|| super::super::public::Total {
                minutes: steps.iter().map(|(_, m)| m).sum(),
                text: String::new(),
                standard_minutes: 40,
                standard_text: String::new(),
                standard_scope: String::new(),
                within_standard: false,
            }),
            letter: None,
            has_letter: false,
            step_minutes: steps
                .iter()
                .map(|(s, m)| (s.to_string(), *m, None))
                .collect(),
            month: Some(month),
            key: [0; 16],
            record_latest: None,
            partial: false,
            from_snapshot: false,
        }
    }

    #[test]
    fn groups_by_kind_and_month_with_counts_and_step_times() {
        let inst = crate::model::Instance::from_files(
            std::path::Path::new("."),
            vec![("loket.toml".into(), include_str!("../../loket.toml").into())],
        );
        let config = inst.config.as_ref().unwrap();
        let mc = RequestKind::MailCreate;
        let sep = (2026, 9);
        let tickets = vec![
            ticket(
                mc,
                sep,
                Status::Processed,
                &[("disposisi-kadis", 5), ("cek-nama", 20)],
            ),
            ticket(
                mc,
                sep,
                Status::Processed,
                &[("disposisi-kadis", 15), ("cek-nama", 60)],
            ),
            ticket(mc, sep, Status::Returned, &[("disposisi-kadis", 8)]),
            ticket(mc, (2026, 10), Status::Refused, &[]),
            ticket(
                RequestKind::ServerGrant,
                sep,
                Status::Processed,
                &[("disposisi-kadis", 1)],
            ),
        ];
        let groups = compute(&tickets, config, Lang::Id);
        let keys: Vec<(RequestKind, &str)> =
            groups.iter().map(|g| (g.kind, g.month.as_str())).collect();
        // Kinds in their fixed order, the latest month first.
        assert_eq!(
            keys,
            [
                (mc, "2026-10"),
                (mc, "2026-09"),
                (RequestKind::ServerGrant, "2026-09")
            ]
        );
        let sept = &groups[1];
        assert_eq!(sept.month_label, "September 2026");
        assert_eq!(
            (sept.requests, sept.processed, sept.returned, sept.refused),
            (3, 2, 1, 0)
        );
        let kadis = sept
            .steps
            .iter()
            .find(|s| s.step == "disposisi-kadis")
            .unwrap();
        assert_eq!(
            (kadis.count, kadis.median_minutes, kadis.p90_minutes),
            (3, 8, 15)
        );
        assert_eq!(kadis.standard_minutes, Some(10));
        assert_eq!(kadis.within_percent, Some(67));
        assert_eq!(kadis.role, "Kepala Dinas Komunikasi dan Informatika");
        let total = sept.total.as_ref().unwrap();
        assert_eq!(
            (total.count, total.median_minutes, total.p90_minutes),
            (2, 25, 75)
        );
        // The SOP's standard (steps 2–5: one hour), not the tickets' own.
        assert_eq!(total.standard_minutes, Some(60));
        assert_eq!(total.within_percent, Some(50));
        assert_eq!(
            sept.standard_scope.as_deref(),
            Some("langkah 2–5; tanpa langkah pemohon (1)")
        );
        assert_eq!(groups[0].refused, 1);
        assert!(groups[0].total.is_none());
    }

    #[test]
    fn share_within_standard() {
        let t = timing(
            Lang::Id,
            "x",
            None,
            String::new(),
            vec![5, 15, 10, 30],
            Some(10),
        )
        .unwrap();
        assert_eq!(t.within_percent, Some(50));
        assert_eq!(t.median_minutes, 10);
        assert_eq!(t.p90_minutes, 30);
        assert_eq!(t.count, 4);
        let none = timing(Lang::Id, "x", None, String::new(), vec![5], None).unwrap();
        assert_eq!(none.within_percent, None);
    }
}
