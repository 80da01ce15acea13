//! The write-ahead journal, `<state>/journal.jsonl`: before a batch goes to a
//! backend each change is logged as an intent (the whole planned change), after it
//! (verified, recorded) its result. A run killed in between leaves intents without
//! results; the next run reads them, re-plans (the live state tells what was done),
//! and verifies and records the changes that turn out done (their intents name
//! them in full). Lines are appended and fsynced; a torn last line is ignored, any
//! other line that is not an entry of this shape, with valid tickets and names, is
//! refused with an error naming the file. Never secrets.
//!
//! The file is 0600, never a link, FIFO or another user's ([`fsutil`]).

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ApplyError;
use super::fsutil;
use super::plan::PlannedChange;
use super::readback::{self, Expect};

pub const FILE: &str = "journal.jsonl";

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case", deny_unknown_fields)]
pub enum Entry {
    Intent {
        run: String,
        change: PlannedChange,
    },
    /// The ticket's record now holds the events of every change started before.
    Recorded {
        ticket: String,
    },
    Done {
        change: String,
        ok: bool,
    },
}

pub struct Journal {
    path: PathBuf,
    file: File,
}

/// A change started by an earlier run that never logged its result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Interrupted {
    pub run: String,
    pub change: PlannedChange,
}

impl Journal {
    /// Opens the journal (made 0600 if missing); returns it with the changes an
    /// earlier run left open.
    pub fn open(
        state_dir: &Path,
        expect: &Expect,
    ) -> Result<(Journal, Vec<Interrupted>), ApplyError> {
        let path = state_dir.join(FILE);
        let mut file = fsutil::open_private_file(&path, true)?.expect("created");
        let open = read_open(&path, &mut file, expect)?;
        Ok((Journal { path, file }, open))
    }

    /// The changes an earlier run left open, read without changing anything (for
    /// `loket plan`). No journal: none.
    pub fn read(state_dir: &Path, expect: &Expect) -> Result<Vec<Interrupted>, ApplyError> {
        let path = state_dir.join(FILE);
        match fsutil::open_private_file(&path, false)? {
            Some(mut f) => read_open(&path, &mut f, expect),
            None => Ok(Vec::new()),
        }
    }

    /// Appends entries and fsyncs them.
    pub fn log(&mut self, entries: &[Entry]) -> Result<(), ApplyError> {
        let mut buf = String::new();
        for e in entries {
            buf.push_str(&serde_json::to_string(e).expect("journal entries serialise"));
            buf.push('\n');
        }
        let io = |e| ApplyError::Io {
            path: self.path.clone(),
            source: e,
        };
        self.file.write_all(buf.as_bytes()).map_err(io)?;
        self.file.sync_data().map_err(io)
    }

    /// Notes that `ticket`'s record was written: an intent before it whose tickets
    /// are all recorded needs no retry even if its `done` line never came. Not
    /// fsynced: a note lost in a crash only costs a redundant retry.
    pub fn recorded(&mut self, ticket: &str) -> Result<(), ApplyError> {
        let mut line = serde_json::to_string(&Entry::Recorded {
            ticket: ticket.to_string(),
        })
        .expect("journal entries serialise");
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .map_err(|e| ApplyError::Io {
                path: self.path.clone(),
                source: e,
            })
    }

    /// Empties the journal after a run that finished every change it started.
    pub fn clear(&mut self) -> Result<(), ApplyError> {
        let io = |e| ApplyError::Io {
            path: self.path.clone(),
            source: e,
        };
        self.file.set_len(0).map_err(io)?;
        self.file.sync_data().map_err(io)
    }
}

fn read_open(
    path: &Path,
    file: &mut File,
    expect: &Expect,
) -> Result<Vec<Interrupted>, ApplyError> {
    let mut text = String::new();
    file.read_to_string(&mut text).map_err(|e| ApplyError::Io {
        path: path.to_path_buf(),
        source: e,
    })?;
    let bad = |n: usize, why: String| ApplyError::State {
        path: path.to_path_buf(),
        message: format!(
            "line {n}: {why}. The journal lists changes an interrupted run started; \
             loket writes it alone. Restore it, or delete it and run `loket verify` \
             and `loket plan` to see what the interrupted run left undone"
        ),
    };
    // Open intents by change, with the line they were logged on.
    let mut open: BTreeMap<String, (usize, Interrupted)> = BTreeMap::new();
    // The last line each ticket's record was noted written on.
    let mut recorded: HashMap<String, usize> = HashMap::new();
    let complete = if text.ends_with('\n') {
        text.len()
    } else {
        // A torn last line of a killed run: it never reached its backend.
        text.rfind('\n').map_or(0, |i| i + 1)
    };
    for (i, l) in text[..complete].lines().enumerate() {
        let n = i + 1;
        let entry: Entry =
            serde_json::from_str(l).map_err(|e| bad(n, format!("not a journal entry ({e})")))?;
        match entry {
            Entry::Intent { run, change } => {
                readback::run_id(&run).map_err(|e| bad(n, e))?;
                expect.change(&change).map_err(|e| bad(n, e))?;
                open.insert(change.key(), (n, Interrupted { run, change }));
            }
            Entry::Recorded { ticket } => {
                expect.ticket(&ticket).map_err(|e| bad(n, e))?;
                recorded.insert(ticket, n);
            }
            Entry::Done { change, .. } => {
                if change.len() > 4096 || change.chars().any(char::is_control) {
                    return Err(bad(n, "not a change".into()));
                }
                open.remove(&change);
            }
        }
    }
    // An intent whose tickets were all recorded after it was verified (or failed,
    // and listed) and recorded: finished but for its `done` line.
    Ok(open
        .into_values()
        .filter(|(n, i)| {
            i.change.tickets.is_empty()
                || i.change
                    .tickets
                    .iter()
                    .any(|t| recorded.get(t).is_none_or(|r| r < n))
        })
        .map(|(_, i)| i)
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::plan::{Action, Target};
    use crate::ticket::Ticket;

    fn change(address: &str, ticket: &str) -> PlannedChange {
        PlannedChange {
            backend: "dovecot".into(),
            tickets: vec![ticket.into()],
            action: Action::Create,
            target: Target::Mail {
                address: address.into(),
                active: true,
            },
        }
    }

    #[test]
    fn intents_without_done_survive_and_torn_lines_are_ignored() {
        let d = tempfile::tempdir().unwrap();
        let e = Expect::with_prefix("KDS");
        let t = Ticket::generate("KDS").to_string();
        let (mut j, open) = Journal::open(d.path(), &e).unwrap();
        assert!(open.is_empty());
        let intent = |c: &str| Entry::Intent {
            run: "r1".into(),
            change: change(c, &t),
        };
        j.log(&[intent("a@x.id"), intent("b@x.id")]).unwrap();
        j.log(&[Entry::Done {
            change: change("a@x.id", &t).key(),
            ok: true,
        }])
        .unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(d.path().join(FILE))
            .unwrap()
            .write_all(b"{\"op\":\"do")
            .unwrap();
        drop(j);
        assert_eq!(Journal::read(d.path(), &e).unwrap().len(), 1);
        let (mut j, open) = Journal::open(d.path(), &e).unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].change, change("b@x.id", &t));
        j.clear().unwrap();
        drop(j);
        assert!(Journal::open(d.path(), &e).unwrap().1.is_empty());
    }

    #[test]
    fn an_intent_with_a_path_for_a_ticket_is_refused_naming_the_file() {
        let d = tempfile::tempdir().unwrap();
        let e = Expect::with_prefix("KDS");
        let line = serde_json::to_string(&Entry::Intent {
            run: "r1".into(),
            change: change("a@x.id", "../x"),
        })
        .unwrap();
        std::fs::write(d.path().join(FILE), format!("{line}\n")).unwrap();
        let err = Journal::open(d.path(), &e).err().unwrap().to_string();
        assert!(err.contains(FILE) && err.contains("../x"), "{err}");
        // A complete line that is not an entry is no torn write either.
        std::fs::write(d.path().join(FILE), "{\"op\":\"intent\"}\n").unwrap();
        let err = Journal::read(d.path(), &e).err().unwrap().to_string();
        assert!(err.contains(FILE) && err.contains("line 1"), "{err}");
    }

    #[test]
    fn an_intent_whose_tickets_were_recorded_after_it_is_finished() {
        let d = tempfile::tempdir().unwrap();
        let e = Expect::with_prefix("KDS");
        let (t1, t2) = (
            Ticket::generate("KDS").to_string(),
            Ticket::generate("KDS").to_string(),
        );
        let (mut j, _) = Journal::open(d.path(), &e).unwrap();
        j.recorded(&t2).unwrap(); // before the intent: says nothing about it
        j.log(&[
            Entry::Intent {
                run: "r1".into(),
                change: change("a@x.id", &t1),
            },
            Entry::Intent {
                run: "r1".into(),
                change: change("b@x.id", &t2),
            },
        ])
        .unwrap();
        j.recorded(&t1).unwrap();
        drop(j);
        let open = Journal::read(d.path(), &e).unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].change, change("b@x.id", &t2));
    }
}
