//! The write-ahead journal, `<state>/journal.jsonl`: before a batch goes to a
//! backend each change is logged as an intent, after it its result. A run killed in
//! between leaves intents without results; the next run reads them, re-plans (the
//! live state tells what was done) and records the tickets of intents that turn out
//! done. Lines are appended and fsynced; a torn last line is ignored. Never secrets.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::ApplyError;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "kebab-case")]
pub enum Entry {
    Intent {
        run: String,
        change: String,
        tickets: Vec<String>,
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
    pub change: String,
    pub tickets: Vec<String>,
}

impl Journal {
    /// Opens the journal; returns it with the changes an earlier run left open.
    pub fn open(state_dir: &Path) -> Result<(Journal, Vec<Interrupted>), ApplyError> {
        let path = state_dir.join("journal.jsonl");
        let io = |e| ApplyError::Io {
            path: path.clone(),
            source: e,
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(io(e)),
        };
        let mut open: BTreeMap<String, Interrupted> = BTreeMap::new();
        for l in text.lines() {
            match serde_json::from_str::<Entry>(l) {
                Ok(Entry::Intent {
                    run,
                    change,
                    tickets,
                }) => {
                    open.insert(
                        change.clone(),
                        Interrupted {
                            run,
                            change,
                            tickets,
                        },
                    );
                }
                Ok(Entry::Done { change, .. }) => {
                    open.remove(&change);
                }
                Err(_) => {} // torn write of a killed run
            }
        }
        let file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(io)?;
        Ok((Journal { path, file }, open.into_values().collect()))
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

    /// Empties the journal after a run that finished every change it started.
    pub fn clear(&mut self) -> Result<(), ApplyError> {
        self.file.set_len(0).map_err(|e| ApplyError::Io {
            path: self.path.clone(),
            source: e,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intents_without_done_survive_and_torn_lines_are_ignored() {
        let d = tempfile::tempdir().unwrap();
        let (mut j, open) = Journal::open(d.path()).unwrap();
        assert!(open.is_empty());
        let intent = |c: &str| Entry::Intent {
            run: "r1".into(),
            change: c.into(),
            tickets: vec!["KDS-A".into()],
        };
        j.log(&[intent("a"), intent("b")]).unwrap();
        j.log(&[Entry::Done {
            change: "a".into(),
            ok: true,
        }])
        .unwrap();
        std::fs::OpenOptions::new()
            .append(true)
            .open(d.path().join("journal.jsonl"))
            .unwrap()
            .write_all(b"{\"op\":\"do")
            .unwrap();
        drop(j);
        let (mut j, open) = Journal::open(d.path()).unwrap();
        assert_eq!(open.len(), 1);
        assert_eq!(open[0].change, "b");
        j.clear().unwrap();
        drop(j);
        assert!(Journal::open(d.path()).unwrap().1.is_empty());
    }
}
