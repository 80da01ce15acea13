//! One `loket remind` pass over the forge: every open pull request read whole (or
//! refused: no reminder is ever judged on part of a pull request), evaluated by the
//! approval engine against `loket.toml` as checked out (the base branch), and its
//! one reminder comment created, edited in place, cleared or left alone.

use std::collections::HashSet;
use std::path::Path;

use jiff::Timestamp;
use serde::Serialize;
use thiserror::Error;

use super::comment::{self, is_reminder};
use super::{Overdue, overdue};
use crate::calendar::{Calendar, CalendarError};
use crate::forge::{Forge, ForgeError, PullData};
use crate::model::letter::LetterFile;
use crate::model::record::Outcome;
use crate::model::{Config, Instance};
use crate::review::{self, parse_time};

/// What a pass needs besides the forge and the config.
pub struct Options<'a> {
    /// The instance directory (request files are read from the forge at each pull
    /// request's head; this only anchors their paths).
    pub dir: &'a Path,
    /// The instance's path inside its repository (`""` at the root).
    pub prefix: &'a str,
    pub now: Timestamp,
    /// Decide and render, but write nothing to the forge.
    pub dry_run: bool,
}

/// What happened to a pull request's reminder comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "action", content = "comment-id", rename_all = "kebab-case")]
pub enum Action {
    /// Nothing overdue and no reminder to clear.
    Nothing,
    Created(u64),
    Updated(u64),
    /// Nothing overdue, and the reminder already says so.
    Unchanged(u64),
    /// Nothing overdue any more: the reminder now says so.
    Cleared(u64),
    /// `--dry-run`: would create or edit the reminder.
    WouldPost,
    /// `--dry-run`: would clear the reminder.
    WouldClear,
}

/// One pull request's result.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct PrReport {
    pub pr: u64,
    pub overdue: Vec<Overdue>,
    pub action: Action,
    /// The comment's text as posted (or, dry, as it would be).
    pub body: Option<String>,
}

/// A pass: the pull requests handled, and those refused with why.
#[derive(Debug, Serialize)]
pub struct Pass {
    pub reports: Vec<PrReport>,
    #[serde(serialize_with = "errors_as_text")]
    pub failed: Vec<(u64, ForgeError)>,
}

fn errors_as_text<S: serde::Serializer>(v: &[(u64, ForgeError)], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(
        v.iter()
            .map(|(pr, e)| serde_json::json!({"pr": pr, "error": e.to_string()})),
    )
}

#[derive(Debug, Error)]
pub enum RemindError {
    #[error("loket.toml: {0}; run `loket check`")]
    Calendar(#[from] CalendarError),
    #[error("cannot list the open pull requests: {0}")]
    Forge(#[from] ForgeError),
    #[error("cannot read the records of processed tickets: {0}")]
    Records(crate::site::SiteError),
}

/// Runs one pass. A pull request the forge cannot give whole is refused and named
/// in [`Pass::failed`]; the others are still handled.
pub fn run(forge: &dyn Forge, config: &Config, opts: &Options) -> Result<Pass, RemindError> {
    let calendar = Calendar::from_config(config)?;
    let mut pass = Pass {
        reports: Vec::new(),
        failed: Vec::new(),
    };
    // Tickets whose follow-up pull request is open: reminded there, not below. (A
    // pull request may claim any ticket's letter: that silences only this reminder,
    // and its own pending draft step is then reminded on it.)
    let mut following_up = HashSet::new();
    for pull in forge.open_pulls()? {
        match one(forge, config, &calendar, opts, pull.number) {
            Ok((r, follow_up)) => {
                following_up.extend(follow_up);
                pass.reports.push(r);
            }
            Err(e) => pass.failed.push((pull.number, e)),
        }
    }
    awaiting(forge, config, &calendar, opts, &following_up, &mut pass)?;
    Ok(pass)
}

/// Processed tickets whose next step waits for a follow-up pull request nobody has
/// opened yet: with no pull request of their own, each is reminded on its request's
/// merged pull request (the record's `pr`), and that reminder cleared once the
/// follow-up is open or its letter merged.
fn awaiting(
    forge: &dyn Forge,
    config: &Config,
    calendar: &Calendar,
    opts: &Options,
    following_up: &HashSet<String>,
    pass: &mut Pass,
) -> Result<(), RemindError> {
    let records = crate::site::load_records(opts.dir).map_err(RemindError::Records)?;
    let waiting = records
        .iter()
        .filter(|r| r.outcome == Outcome::Processed && r.pending_step.is_some() && r.pr.is_some());
    for r in waiting {
        let Some(pr) = r.pr else { continue };
        let opened = following_up.contains(&r.ticket)
            || opts.dir.join(LetterFile::path_for(&r.ticket)).exists();
        let late: Vec<Overdue> = (!opened)
            .then(|| super::awaiting_follow_up(config, calendar, r, opts.now))
            .flatten()
            .into_iter()
            .collect();
        match settle(forge, config, opts, pr, late) {
            Ok(report) => pass.reports.push(report),
            Err(e) => pass.failed.push((pr, e)),
        }
    }
    Ok(())
}

/// The request files at the pull request's head, read from the forge.
fn head_files(
    forge: &dyn Forge,
    data: &PullData,
    prefix: &str,
) -> Result<Vec<(String, String)>, ForgeError> {
    let prefix = prefix.trim_matches('/');
    let mut files = Vec::new();
    for f in data.files.iter().filter(|f| !f.removed) {
        let rel = if prefix.is_empty() {
            Some(f.path.as_str())
        } else {
            f.path
                .strip_prefix(prefix)
                .and_then(|p| p.strip_prefix('/'))
        };
        if let Some(rel) = rel.filter(|r| r.starts_with("requests/") && r.ends_with(".toml")) {
            files.push((
                rel.to_string(),
                forge.file_at(&f.path, &data.pull.head_sha)?,
            ));
        }
    }
    Ok(files)
}

/// One open pull request: its overdue steps, its reminder comment, and the ticket of
/// its letter when it is a follow-up pull request.
fn one(
    forge: &dyn Forge,
    config: &Config,
    calendar: &Calendar,
    opts: &Options,
    number: u64,
) -> Result<(PrReport, Option<String>), ForgeError> {
    let data = PullData::fetch(forge, number)?;
    let head = Instance::from_files(opts.dir, head_files(forge, &data, opts.prefix)?);
    let mut touched = review::touched(&data.files, opts.prefix, &head);
    // A follow-up pull request's request and record are on the checked-out branch.
    if let Some(f) = &mut touched.follow_up {
        review::follow_up_from_checkout(f, opts.dir);
    }
    // The data check runs in the pull request's own CI; reminders weigh reviews.
    let ev = review::evaluate(config, &data, &touched, true, opts.now);
    let opened = parse_time(&data.pull.created_at);
    let late = overdue(config, calendar, &ev, opened, opts.now);
    let follow_up = touched.follow_up.map(|f| f.ticket);
    Ok((settle(forge, config, opts, number, late)?, follow_up))
}

/// Keeps pull request `number`'s one reminder comment saying what `late` holds.
fn settle(
    forge: &dyn Forge,
    config: &Config,
    opts: &Options,
    number: u64,
    late: Vec<Overdue>,
) -> Result<PrReport, ForgeError> {
    let ours: Vec<(u64, String)> = forge
        .comments(number)?
        .into_iter()
        .filter_map(|c| Some((c.id, c.body?)))
        .filter(|(_, b)| is_reminder(b))
        .collect();
    let body = if late.is_empty() {
        if ours.is_empty() {
            return Ok(report(number, late, Action::Nothing, None));
        }
        comment::cleared(number)
    } else {
        let m = *config.reminders.escalate_after.get_ref();
        comment::body(number, &late, *config.office.time_zone.get_ref(), m)
    };
    // Only a clearing is skipped when some marked comment already says it: the
    // text alone does not prove a comment ours (anyone may paste it), and a
    // reminder must never be suppressed by someone's copy, so a reminder is always
    // written through an edit our token is allowed to make.
    if late.is_empty()
        && let Some((id, _)) = ours.iter().rev().find(|(_, b)| *b == body)
    {
        return Ok(report(number, late, Action::Unchanged(*id), Some(body)));
    }
    let action = match (opts.dry_run, late.is_empty()) {
        (true, true) => Action::WouldClear,
        (true, false) => Action::WouldPost,
        (false, clear) => keep(forge, number, &ours, &body, clear)?,
    };
    Ok(report(number, late, action, Some(body)))
}

/// Edits our newest reminder comment, or creates one (never to say only that
/// nothing is overdue: `clear`). A comment that starts with the marker but that
/// our token may not edit (someone else's) is skipped.
fn keep(
    forge: &dyn Forge,
    number: u64,
    ours: &[(u64, String)],
    body: &str,
    clear: bool,
) -> Result<Action, ForgeError> {
    for (id, _) in ours.iter().rev() {
        match forge.edit_comment(*id, body) {
            Ok(()) if clear => return Ok(Action::Cleared(*id)),
            Ok(()) => return Ok(Action::Updated(*id)),
            Err(ForgeError::Auth { .. } | ForgeError::NotFound { .. }) => continue,
            Err(e) => return Err(e),
        }
    }
    if clear {
        return Ok(Action::Nothing);
    }
    Ok(Action::Created(forge.create_comment(number, body)?))
}

fn report(pr: u64, overdue: Vec<Overdue>, action: Action, body: Option<String>) -> PrReport {
    PrReport {
        pr,
        overdue,
        action,
        body,
    }
}
