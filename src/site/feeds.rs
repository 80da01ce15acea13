//! Atom feeds (RFC 4287) as static files (issue 13, item 6): one per ticket
//! (`t/<ticket>/atom.xml`, an entry per dated step or event of its timeline) and one
//! per service (`sop/<id>/atom.xml`, the latest state of its most recently updated
//! tickets). Built from the public model only, so they carry what the pages carry:
//! role titles, never people.

use std::collections::BTreeMap;

use serde::Serialize;

use super::public::{PublicTicket, Status, When};
use super::text::Lang;
use crate::model::config::{Config, TimeZone};

/// How many tickets a service's feed lists, most recently updated first.
pub const SERVICE_FEED_ENTRIES: usize = 50;

#[derive(Debug, Clone, Serialize)]
pub struct Feed {
    pub id: String,
    pub title: String,
    /// RFC 3339.
    pub updated: String,
    pub self_href: String,
    pub html_href: String,
    pub entries: Vec<FeedEntry>,
}

#[derive(Debug, Clone, Serialize)]
pub struct FeedEntry {
    pub id: String,
    pub title: String,
    pub updated: String,
    pub href: String,
    pub summary: String,
}

/// Atom wants a date-time: a date-only moment is its midnight in the office's zone.
fn rfc3339(at: &str, tz: TimeZone) -> String {
    if at.contains('T') {
        return at.to_string();
    }
    let off = tz.utc_offset_hours();
    format!("{at}T00:00:00+{off:02}:00")
}

/// A link from a feed `depth` folders deep to `path` of the site: absolute with the
/// site's address, else relative.
fn href(site_url: &str, depth: usize, path: &str) -> String {
    if site_url.is_empty() {
        format!("{}{path}", "../".repeat(depth))
    } else {
        format!("{site_url}{path}")
    }
}

fn updated_of(t: &PublicTicket) -> Option<&When> {
    t.updated.as_ref().or(t.submitted.as_ref())
}

/// The feed of one ticket: its timeline's dated entries, most recent first.
pub fn ticket_feed(t: &PublicTicket, lang: Lang, tz: TimeZone, site_url: &str) -> Feed {
    let page = format!("t/{}/", t.ticket);
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let entries = t
        .timeline
        .iter()
        .filter_map(|e| {
            let when = e.when.as_ref()?;
            let key = format!(
                "urn:loket:{}:{}:{}",
                t.ticket,
                when.at,
                e.step.as_deref().unwrap_or(e.kind)
            );
            let n = seen.entry(key.clone()).or_default();
            *n += 1;
            let title = if e.actor.is_empty() {
                e.title.clone()
            } else {
                format!("{} ({})", e.title, e.actor)
            };
            Some(FeedEntry {
                id: format!("{key}:{n}"),
                title,
                updated: rfc3339(&when.at, tz),
                href: href(site_url, 2, &page),
                summary: e.detail.clone().unwrap_or_default(),
            })
        })
        .collect();
    Feed {
        id: format!("urn:loket:{}", t.ticket),
        title: format!(
            "{} {}: {}",
            lang.pick("Tiket", "Ticket"),
            t.ticket,
            t.status_label
        ),
        updated: updated_of(t)
            .map_or_else(|| "1970-01-01T00:00:00Z".into(), |w| rfc3339(&w.at, tz)),
        self_href: href(site_url, 2, &format!("{page}atom.xml")),
        html_href: href(site_url, 2, &page),
        entries,
    }
}

fn short_status(lang: Lang, s: Status) -> &'static str {
    match s {
        Status::Submitted => lang.pick("diajukan", "submitted"),
        Status::Waiting => lang.pick("menunggu disposisi", "awaiting disposition"),
        Status::Returned => lang.pick("dikembalikan untuk perbaikan", "returned for correction"),
        Status::Refused => lang.pick("ditolak", "refused"),
        Status::Approved => lang.pick("disetujui", "approved"),
        Status::Processed => lang.pick("telah diproses", "processed"),
        Status::Done => lang.pick("selesai", "completed"),
        Status::Failed => lang.pick("gagal diproses", "processing failed"),
    }
}

/// Per SOP id, its feed: the latest state of its most recently updated tickets.
/// Works on partial tickets too (status, kind and update time are in the summary).
pub fn service_feeds(
    tickets: &[PublicTicket],
    config: &Config,
    lang: Lang,
    site_url: &str,
) -> Vec<(String, Feed)> {
    let tz = *config.office.time_zone.get_ref();
    let mut by_sop: BTreeMap<&str, Vec<(&PublicTicket, String)>> = BTreeMap::new();
    for t in tickets {
        let sop = match t.kind.and_then(|k| config.sop_for(k)) {
            Some((id, _)) => id,
            None if !t.sop.is_empty() => t.sop.as_str(),
            None => continue,
        };
        let Some(w) = updated_of(t) else { continue };
        by_sop.entry(sop).or_default().push((t, rfc3339(&w.at, tz)));
    }
    let mut out = Vec::new();
    for (id, sop) in &config.sops {
        let mut list = by_sop.remove(id.as_str()).unwrap_or_default();
        // Most recent first; ties by ticket, for stable bytes.
        list.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.ticket.cmp(&b.0.ticket)));
        list.truncate(SERVICE_FEED_ENTRIES);
        let page = format!("sop/{id}/");
        let entries: Vec<FeedEntry> = list
            .iter()
            .map(|(t, at)| FeedEntry {
                id: format!(
                    "urn:loket:{}:{}:{at}",
                    t.ticket,
                    format!("{:?}", t.status).to_lowercase()
                ),
                title: format!("{}: {}", t.ticket, short_status(lang, t.status)),
                updated: at.clone(),
                href: href(site_url, 2, &format!("t/{}/", t.ticket)),
                summary: t
                    .kind
                    .map(|k| lang.pick(k.label_id(), k.label_en()).to_string())
                    .unwrap_or_default(),
            })
            .collect();
        let title = match lang {
            Lang::Id => sop.title.clone(),
            Lang::En => sop.title_en.clone().unwrap_or_else(|| sop.title.clone()),
        };
        out.push((
            id.clone(),
            Feed {
                id: format!("urn:loket:sop:{id}"),
                title,
                // An empty service: the epoch, so the bytes stay the same build to build.
                updated: entries
                    .first()
                    .map_or_else(|| "1970-01-01T00:00:00Z".into(), |e| e.updated.clone()),
                self_href: href(site_url, 2, &format!("{page}atom.xml")),
                html_href: href(site_url, 2, &page),
                entries,
            },
        ));
    }
    out
}
