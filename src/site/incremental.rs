//! An incremental build from a commit. The previous build saved its summaries with
//! the instance tree they describe; git names the files changed since, and only the
//! tickets those files (or the forge snapshot) touch are built again. Every other
//! ticket comes from its summary, and its files stay as they are.
//!
//! The previous build must have had the same fingerprint (config, templates,
//! binary); otherwise, or when its tree is gone from the repository, the caller
//! builds everything.

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};

use jiff::Timestamp;

use super::model::{self, Model};
use super::public::{self, PublicTicket, Summaries};
use super::render::language;
use super::revision::{Change, Revision};
use super::summaries::Saved;
use super::write::Sink;
use super::{SiteError, parse_toml_or_json};
use crate::model::config::Config;
use crate::model::record::{Progress, RECORDS_DIR, Snapshot};
use crate::model::{CONFIG_FILE, Instance, REQUESTS_DIR};

/// What one build reads: the config, and per ticket its request and record.
struct Inputs {
    instance: Instance,
    records: Vec<Progress>,
}

/// The model of `rev` and its config, from the previous build's `saved` summaries
/// and the `changes` since the tree they describe. `None` when the config changed
/// (every page depends on it: build everything).
pub fn model(
    rev: &Revision,
    changes: &[Change],
    saved: Saved,
    snapshot: Option<&Snapshot>,
    sink: &dyn Sink,
) -> Result<Option<(Model, Config)>, SiteError> {
    if changes.iter().any(|c| c.path == CONFIG_FILE) {
        return Ok(None);
    }
    let mut timings = super::timing::Timings::from_env();
    let changed: Vec<&Change> = changes.iter().filter(|c| is_ticket_file(&c.path)).collect();
    let mut affected: BTreeSet<String> = BTreeSet::new();
    // Files are named by their ticket: a full build refuses any that is not, and
    // so does this one (see `read_inputs`).
    affected.extend(changed.iter().map(|c| stem(&c.path).to_string()));
    // A new snapshot may change any ticket the old or the new one showed.
    let from_snapshot = saved.tickets.iter().filter(|(_, (_, s))| s.from_snapshot);
    affected.extend(from_snapshot.map(|(t, _)| t.clone()));
    affected.extend(
        snapshot
            .iter()
            .flat_map(|s| s.tickets.iter().map(|p| p.ticket.clone())),
    );

    let extra = changed
        .iter()
        .filter(|c| c.new.is_some())
        .map(|c| c.path.clone());
    let mut inputs = read_inputs(rev, &affected, extra)?;
    let config = inputs.instance.config.take().ok_or(SiteError::NoConfig)?;
    let lang = language(&config)?;
    inputs.instance.config = Some(config.clone());
    let built = public::tickets(
        &inputs.instance,
        &inputs.records,
        snapshot,
        lang,
        &Summaries::new(),
        None,
    );
    timings.mark("  changed tickets: read, built");
    let Saved {
        tickets: summaries,
        unlisted: saved_unlisted,
        ..
    } = saved;
    // Both in ticket order: merge them.
    let mut built = built.into_iter().peekable();
    let mut tickets: Vec<PublicTicket> = Vec::with_capacity(summaries.len() + built.len());
    for (t, (key, s)) in summaries {
        while let Some(b) = built.next_if(|b| b.ticket < t) {
            tickets.push(b);
        }
        if !affected.contains(&t) {
            tickets.push(PublicTicket::from_summary(&t, key, s));
        }
    }
    tickets.extend(built);
    timings.mark("  the others, from summaries");

    // Unchanged tickets whose files the copy being updated lacks (it is a build
    // behind, or was rebuilt): build them too, from this revision.
    let need = model::keep_unchanged(&tickets, sink);
    if !need.is_empty() {
        let need: BTreeSet<String> = need.into_iter().collect();
        let more = read_inputs(rev, &need, std::iter::empty())?;
        let only: HashSet<String> = need.into_iter().collect();
        let full = public::tickets(
            &more.instance,
            &more.records,
            None,
            lang,
            &Summaries::new(),
            Some(&only),
        );
        model::replace(&mut tickets, full, &only)?;
    }
    timings.mark("  the copy's stale tickets");

    let mut unlisted: Vec<(String, Timestamp)> = saved_unlisted
        .into_iter()
        .filter(|(t, _)| !affected.contains(t))
        .filter_map(|(t, at)| Some((t, at.parse().ok()?)))
        .chain(model::unlisted(&tickets, inputs.records.iter()))
        .collect();
    unlisted.sort();
    Ok(Some((Model { tickets, unlisted }, config)))
}

fn is_ticket_file(path: &str) -> bool {
    let in_folder = |dir: &str| {
        path.strip_prefix(dir)
            .and_then(|p| p.strip_prefix('/'))
            .is_some_and(|name| !name.contains('/'))
    };
    path.ends_with(".toml") && (in_folder(REQUESTS_DIR) || in_folder(RECORDS_DIR))
}

fn stem(path: &str) -> &str {
    let name = path.rsplit_once('/').map_or(path, |(_, n)| n);
    name.strip_suffix(".toml").unwrap_or(name)
}

/// Reads `loket.toml`, and the request and record of each ticket in `tickets` (by
/// their file names), plus the files at `extra`, from the revision.
fn read_inputs(
    rev: &Revision,
    tickets: &BTreeSet<String>,
    extra: impl Iterator<Item = String>,
) -> Result<Inputs, SiteError> {
    let mut paths: BTreeSet<String> = tickets
        .iter()
        .flat_map(|t| [format!("{REQUESTS_DIR}/{t}.toml"), Progress::path_for(t)])
        .collect();
    paths.extend(extra);
    let mut paths: Vec<String> = paths.into_iter().collect();
    paths.push(CONFIG_FILE.to_string());
    let texts = rev.read_many(&paths)?;
    let mut files = Vec::new();
    let mut records = Vec::new();
    for (path, text) in paths.into_iter().zip(texts) {
        let Some(text) = text else { continue };
        if path.starts_with(RECORDS_DIR) {
            let record: Progress = parse_toml_or_json(Path::new(&path), &text)?;
            if record.ticket != stem(&path) {
                return Err(misplaced(&path, &record.ticket));
            }
            records.push(record);
        } else {
            files.push((path, text));
        }
    }
    records.sort_by(|a, b| a.ticket.cmp(&b.ticket));
    let instance = Instance::from_files(rev.root_dir(), files);
    if let Some(f) = instance.failures.first() {
        let file = instance.sources.get(f.file);
        let (line, column) = file.line_col(f.span.start);
        return Err(SiteError::Parse {
            path: file.path.clone(),
            line,
            column,
            message: f.message.clone(),
        });
    }
    if instance.config.is_none() {
        return Err(SiteError::NoConfig);
    }
    for r in &instance.requests {
        let path = instance.sources.get(r.file).path.to_string_lossy();
        if r.value.ticket() != stem(&path) {
            return Err(misplaced(&path, r.value.ticket()));
        }
    }
    Ok(Inputs { instance, records })
}

fn misplaced(path: &str, ticket: &str) -> SiteError {
    SiteError::Misplaced {
        path: PathBuf::from(path),
        ticket: ticket.to_string(),
    }
}
