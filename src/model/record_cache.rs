//! `records/*.toml` through the parse cache (`state/cache/records-v4.bin`, see
//! [`super::cache`] for why it is safe): the status site reads one record per ticket,
//! and on an unchanged tree only stats them.
//!
//! [`Progress`] serialises with `skip_serializing_if`, which a non-self-describing
//! format cannot read back, so the cache holds mirror types. Their conversions name
//! every field without `..`: a field added to the record types does not compile
//! until it is added here too, so none can be silently dropped by the cache.

use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use super::cache::{self, EntryRef, RECORDS_CACHE, Stamp, StatKey};
use super::config::Completion;
use super::letter::{Acting, IssuedLetter};
use super::record::{Event, EventKind, Outcome, Progress, StepRecord};
use super::request::RequestKind;
use crate::diag::{ContentHash, content_hash};

#[derive(Debug, Serialize, Deserialize)]
struct CachedProgress {
    ticket: String,
    kind: Option<RequestKind>,
    outcome: Outcome,
    pr: Option<u64>,
    pending_step: Option<String>,
    reason: Option<String>,
    steps: Vec<CachedStep>,
    events: Vec<CachedEvent>,
    letter: Option<CachedLetter>,
    follow_up_pr: Option<u64>,
}

#[derive(Debug, Serialize, Deserialize)]
struct CachedLetter {
    number: String,
    date: String,
    signer_role: String,
    acting: Option<Acting>,
    pdf_sha256: Option<String>,
}

impl From<&IssuedLetter> for CachedLetter {
    fn from(l: &IssuedLetter) -> Self {
        let IssuedLetter {
            number,
            date,
            signer_role,
            acting,
            pdf_sha256,
        } = l;
        CachedLetter {
            number: number.clone(),
            date: date.clone(),
            signer_role: signer_role.clone(),
            acting: acting.clone(),
            pdf_sha256: pdf_sha256.clone(),
        }
    }
}

impl From<CachedLetter> for IssuedLetter {
    fn from(c: CachedLetter) -> Self {
        let CachedLetter {
            number,
            date,
            signer_role,
            acting,
            pdf_sha256,
        } = c;
        IssuedLetter {
            number,
            date,
            signer_role,
            acting,
            pdf_sha256,
        }
    }
}

#[derive(Debug, Serialize, Deserialize)]
struct CachedStep {
    step: String,
    done_by: Completion,
    role: String,
    login: Option<String>,
    at: String,
    review_id: Option<u64>,
    acting: Option<Acting>,
}

#[derive(Debug, Serialize, Deserialize)]
struct CachedEvent {
    kind: EventKind,
    at: String,
    run: Option<String>,
    detail: Option<String>,
}

impl From<&Progress> for CachedProgress {
    fn from(p: &Progress) -> Self {
        let Progress {
            ticket,
            kind,
            outcome,
            pr,
            pending_step,
            reason,
            steps,
            events,
            letter,
            follow_up_pr,
        } = p;
        CachedProgress {
            ticket: ticket.clone(),
            kind: *kind,
            outcome: *outcome,
            pr: *pr,
            pending_step: pending_step.clone(),
            reason: reason.clone(),
            steps: steps.iter().map(CachedStep::from).collect(),
            events: events.iter().map(CachedEvent::from).collect(),
            letter: letter.as_ref().map(CachedLetter::from),
            follow_up_pr: *follow_up_pr,
        }
    }
}

impl From<CachedProgress> for Progress {
    fn from(c: CachedProgress) -> Self {
        let CachedProgress {
            ticket,
            kind,
            outcome,
            pr,
            pending_step,
            reason,
            steps,
            events,
            letter,
            follow_up_pr,
        } = c;
        Progress {
            ticket,
            kind,
            outcome,
            pr,
            pending_step,
            reason,
            steps: steps.into_iter().map(StepRecord::from).collect(),
            events: events.into_iter().map(Event::from).collect(),
            letter: letter.map(IssuedLetter::from),
            follow_up_pr,
        }
    }
}

impl From<&StepRecord> for CachedStep {
    fn from(s: &StepRecord) -> Self {
        let StepRecord {
            step,
            done_by,
            role,
            login,
            at,
            review_id,
            acting,
        } = s;
        CachedStep {
            step: step.clone(),
            done_by: *done_by,
            role: role.clone(),
            login: login.clone(),
            at: at.clone(),
            review_id: *review_id,
            acting: acting.clone(),
        }
    }
}

impl From<CachedStep> for StepRecord {
    fn from(c: CachedStep) -> Self {
        let CachedStep {
            step,
            done_by,
            role,
            login,
            at,
            review_id,
            acting,
        } = c;
        StepRecord {
            step,
            done_by,
            role,
            login,
            at,
            review_id,
            acting,
        }
    }
}

impl From<&Event> for CachedEvent {
    fn from(e: &Event) -> Self {
        let Event {
            kind,
            at,
            run,
            detail,
        } = e;
        CachedEvent {
            kind: *kind,
            at: at.clone(),
            run: run.clone(),
            detail: detail.clone(),
        }
    }
}

impl From<CachedEvent> for Event {
    fn from(c: CachedEvent) -> Self {
        let CachedEvent {
            kind,
            at,
            run,
            detail,
        } = c;
        Event {
            kind,
            at,
            run,
            detail,
        }
    }
}

/// One record file after stat (and, on a miss, read and parse).
struct Slot {
    rel: String,
    value: Progress,
    hash: ContentHash,
    /// Set when it may be stored.
    key: Option<StatKey>,
    hit: bool,
}

/// Parses the record files `paths` (under `root`), through the cache unless it is off.
/// `read` is the uncached reader: it parses a miss's text the same way and reports any
/// failure (so errors read exactly as without the cache); `io` words an I/O error.
/// Returns the records in path order.
pub fn load<E: Send>(
    root: &Path,
    paths: Vec<PathBuf>,
    read: impl Fn(&Path) -> Result<Progress, E> + Sync,
    io: impl Fn(&Path, std::io::Error) -> E + Sync,
) -> Result<Vec<Progress>, E> {
    let start = Stamp::now();
    let use_cache = cache::enabled();
    let cache_file = root.join(RECORDS_CACHE);
    let mut files: Vec<(String, PathBuf)> = paths
        .into_iter()
        .map(|p| {
            let rel = p
                .strip_prefix(root)
                .unwrap_or(&p)
                .to_string_lossy()
                .replace('\\', "/");
            (rel, p)
        })
        .collect();
    files.par_sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let bytes = use_cache.then(|| cache::read_file(&cache_file)).flatten();
    let old = bytes
        .as_deref()
        .map(cache::decode::<CachedProgress>)
        .unwrap_or_default();
    let old_len = old.len();
    let old = cache::align(files.iter().map(|f| f.0.as_str()), old);
    drop(bytes);
    let slots: Vec<Slot> = files
        .into_par_iter()
        .zip(old)
        .map(|((rel, path), old)| {
            // lstat: a link's own times; the read below refuses it.
            let key = StatKey::of(&std::fs::symlink_metadata(&path).map_err(|e| io(&path, e))?);
            match old {
                Some(e) if e.key == key => Ok(Slot {
                    rel,
                    value: e.value.into(),
                    hash: e.hash,
                    key: Some(key),
                    hit: true,
                }),
                old => {
                    let bytes = super::regular::read(&path).map_err(|e| io(&path, e))?;
                    let hash = content_hash(&bytes);
                    let value = match old {
                        Some(e) if e.hash == hash => e.value.into(),
                        _ => match std::str::from_utf8(&bytes).ok().map(toml::from_str) {
                            Some(Ok(v)) => v,
                            // The uncached reader words the failure.
                            _ => read(&path)?,
                        },
                    };
                    Ok(Slot {
                        rel,
                        value,
                        hash,
                        key: key.settled_before(start).then_some(key),
                        hit: false,
                    })
                }
            }
        })
        .collect::<Result<_, E>>()?;
    let hits = slots.iter().filter(|s| s.hit).count();
    let fresh = slots.iter().filter(|s| !s.hit && s.key.is_some()).count();
    if use_cache && (fresh > 0 || hits != old_len) {
        let values: Vec<CachedProgress> = slots
            .par_iter()
            .map(|s| CachedProgress::from(&s.value))
            .collect();
        let entries: Vec<EntryRef<'_, &CachedProgress>> = slots
            .iter()
            .zip(&values)
            .filter_map(|(s, value)| {
                Some(EntryRef {
                    path: &s.rel,
                    key: s.key?,
                    hash: s.hash,
                    value,
                })
            })
            .collect();
        // Best effort, as for the instance cache.
        let _ = cache::write(&cache_file, start, &entries);
    }
    Ok(slots.into_iter().map(|s| s.value).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every bundled record survives the mirror types and postcard unchanged.
    #[test]
    fn records_round_trip() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("records");
        let mut seen = 0;
        for e in std::fs::read_dir(dir).unwrap() {
            let text = std::fs::read_to_string(e.unwrap().path()).unwrap();
            let p: Progress = toml::from_str(&text).unwrap();
            let bytes = postcard::to_stdvec(&CachedProgress::from(&p)).unwrap();
            let back: CachedProgress = postcard::from_bytes(&bytes).unwrap();
            assert_eq!(Progress::from(back), p);
            seen += usize::from(p.steps.iter().any(|s| s.login.is_some()));
        }
        assert!(seen > 0, "the fixture has review steps with logins");
    }
}
