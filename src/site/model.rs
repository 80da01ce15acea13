//! Which tickets a build publishes: every ticket's public model, each built in full
//! or, when its inputs are unchanged since the previous build, taken from its summary
//! (enough for the statistics and the index), plus what the "as of" time needs of
//! records that no listed ticket shows.

use std::collections::HashSet;

use jiff::Timestamp;
use rayon::prelude::*;

use super::public::{self, PublicTicket, Summaries};
use super::render::ticket_paths;
use super::text::Lang;
use super::write::Sink;
use super::{SiteData, SiteError};
use crate::model::record::Progress;

/// What a build renders.
#[derive(Debug, Default)]
pub struct Model {
    /// Sorted by ticket; `partial` ones come from their summaries.
    pub tickets: Vec<PublicTicket>,
    /// Per record whose ticket is not listed (or lists no moment of it): its latest
    /// moment, sorted by ticket.
    pub unlisted: Vec<(String, Timestamp)>,
}

impl Model {
    /// The model of every ticket of `data`. A ticket whose inputs match its summary
    /// in `cached` is built only if `sink` does not already hold its files as made
    /// from those inputs.
    pub fn build(
        data: &SiteData,
        lang: Lang,
        cached: &Summaries,
        sink: &dyn Sink,
    ) -> Result<Model, SiteError> {
        let (inst, records, snapshot) = (&data.instance, &data.records, data.snapshot.as_ref());
        let mut timings = super::timing::Timings::from_env();
        let mut tickets = public::tickets(inst, records, snapshot, lang, cached, None);
        let need = keep_unchanged(&tickets, sink);
        if !need.is_empty() {
            let full = public::tickets(inst, records, snapshot, lang, cached, Some(&need));
            replace(&mut tickets, full, &need)?;
        }
        let unlisted = unlisted(&tickets, records.iter());
        timings.mark("public model");
        Ok(Model { tickets, unlisted })
    }

    /// The records no ticket lists, as saved for the next build.
    pub fn unlisted_saved(&self) -> Vec<(String, String)> {
        let saved = self.unlisted.iter();
        saved.map(|(t, ts)| (t.clone(), ts.to_string())).collect()
    }
}

/// Of the tickets known only by their summaries, keeps in `sink` the files of those
/// it holds as made from the same inputs (rendering skips them), and returns the
/// others: they must be built after all.
pub fn keep_unchanged(tickets: &[PublicTicket], sink: &dyn Sink) -> HashSet<String> {
    tickets
        .par_iter()
        .filter(|t| t.partial && !sink.unchanged(&t.ticket, &t.key, &ticket_paths(t).each()))
        .map(|t| t.ticket.clone())
        .collect()
}

/// Puts each ticket of `full` in place of its namesake in `tickets` (sorted); every
/// ticket of `need` must have been built.
pub fn replace(
    tickets: &mut [PublicTicket],
    full: Vec<PublicTicket>,
    need: &HashSet<String>,
) -> Result<(), SiteError> {
    for t in full {
        if let Ok(i) = tickets.binary_search_by(|x| x.ticket.cmp(&t.ticket)) {
            tickets[i] = t;
        }
    }
    match tickets
        .iter()
        .find(|t| t.partial && need.contains(&t.ticket))
    {
        Some(t) => Err(SiteError::Partial(t.ticket.clone())),
        None => Ok(()),
    }
}

/// The latest moment of each record whose ticket `tickets` (sorted) does not list
/// with a moment of its own.
pub fn unlisted<'a>(
    tickets: &[PublicTicket],
    records: impl Iterator<Item = &'a Progress>,
) -> Vec<(String, Timestamp)> {
    let listed = |ticket: &str| {
        tickets
            .binary_search_by(|t| t.ticket.as_str().cmp(ticket))
            .is_ok_and(|i| tickets[i].record_latest.is_some())
    };
    let mut out: Vec<(String, Timestamp)> = records
        .filter(|r| !listed(&r.ticket))
        .filter_map(|r| {
            let moments = r.steps.iter().map(|s| &s.at);
            let latest = moments
                .chain(r.events.iter().map(|e| &e.at))
                .filter_map(|at| at.parse::<Timestamp>().ok())
                .max()?;
            Some((r.ticket.clone(), latest))
        })
        .collect();
    out.sort();
    out
}
