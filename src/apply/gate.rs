//! The approvals gate: `loket apply` carries out a change only when the gate says
//! every ticket it fulfils was approved. Two gates implement [`ApprovalGate`]:
//!
//! - `review::gate::HistoryGate` (`--approvals forge`, what CI runs): approval is
//!   derived from the forge itself, for every commit on the main branch that wrote
//!   the files behind a change. Nothing a pull request can write is trusted.
//! - [`RecordsGate`] (`--approvals records`): a ticket is approved when
//!   `records/<ticket>.toml` says so. Records are files in the working tree, so this
//!   trusts whoever can write it: only for an operator's own checkout with no forge
//!   (the bundled instance, a single-administrator office), never in CI.

use std::path::{Path, PathBuf};

use super::plan::PlannedChange;
use crate::model::Config;
use crate::model::config::Completion;
use crate::model::record::{Outcome, Progress};
use crate::model::request::RequestKind;

/// The request kind of a ticket, as the merged tree has it.
pub type KindOf<'a> = &'a dyn Fn(&str) -> Option<RequestKind>;

/// Decides whether a change may be applied.
pub trait ApprovalGate {
    /// Sees every change the run will consider before any is judged: a gate that
    /// asks the forge reads what it needs once, here.
    fn prepare(&mut self, _changes: &[PlannedChange]) -> Result<(), String> {
        Ok(())
    }

    /// `Ok(())` when approved; otherwise why not (shown to the operator, recorded
    /// per ticket).
    fn approve(&self, change: &PlannedChange, kind_of: KindOf) -> Result<(), String>;
}

/// A change that gives access must name the ticket that asks for it; one that only
/// removes access (expiry, a revoked key) may stand on the account data alone.
pub fn unticketed(change: &PlannedChange) -> Option<String> {
    (change.tickets.is_empty() && !change.action.removes_access()).then(|| {
        format!(
            "{} {}: no ticket asks for this change, so no approval can cover it",
            change.action.as_str(),
            change.target
        )
    })
}

/// A change that gives access and rests on `[[imports]]` batch tickets alone: a batch
/// records access the office's systems gave before loket (`loket import`); it
/// approves none. The keys of such a batch are live already with the office's own
/// comments: `loket adopt-files` takes them over (docs/import.md).
pub fn import_batch_only(change: &PlannedChange, config: &Config) -> Option<String> {
    let batch = |t: &String| config.imports.iter().any(|b| b.ticket.get_ref() == t);
    let only = !change.tickets.is_empty() && change.tickets.iter().all(batch);
    (only && !change.action.removes_access()).then(|| {
        format!(
            "{} {}: {} is a `loket import` batch ([[imports]] in loket.toml), which records \
             access the server gave before loket and approves none: if it is live with the \
             office's own comment, take it over with `loket adopt-files` (docs/import.md); \
             if it is gone, it needs a request",
            change.action.as_str(),
            change.target,
            change.tickets.join(", ")
        )
    })
}

pub struct RecordsGate<'a> {
    root: PathBuf,
    config: &'a Config,
}

impl<'a> RecordsGate<'a> {
    pub fn new(root: &Path, config: &'a Config) -> Self {
        Self {
            root: root.to_path_buf(),
            config,
        }
    }

    /// Whether the record of `ticket` shows it approved.
    pub fn approved(&self, ticket: &str, kind: Option<RequestKind>) -> Result<(), String> {
        let kind = kind.ok_or_else(|| format!("{ticket}: no request file in requests/"))?;
        let path = self.root.join(Progress::path_for(ticket));
        let text = crate::model::regular::read_to_string(&path).map_err(|_| {
            format!(
                "{ticket}: no approval record ({})",
                Progress::path_for(ticket)
            )
        })?;
        let p: Progress = toml::from_str(&text)
            .map_err(|e| format!("{ticket}: unreadable record: {}", e.message().trim()))?;
        if !matches!(
            p.outcome,
            Outcome::Approved | Outcome::Processed | Outcome::Done | Outcome::Failed
        ) {
            return Err(format!(
                "{ticket}: not approved (record says `{}`)",
                serde_json::to_value(p.outcome)
                    .ok()
                    .and_then(|v| v.as_str().map(String::from))
                    .unwrap_or_default()
            ));
        }
        let (_, sop) = self
            .config
            .sop_for(kind)
            .ok_or_else(|| format!("{ticket}: no SOP in loket.toml for `{kind}`"))?;
        for step in sop
            .steps
            .iter()
            .filter(|s| *s.done_by.get_ref() == Completion::Review)
        {
            let id = step.id.get_ref();
            if !p.steps.iter().any(|s| &s.step == id) {
                return Err(format!(
                    "{ticket}: review step `{id}` (disposisi) is missing"
                ));
            }
        }
        Ok(())
    }
}

impl ApprovalGate for RecordsGate<'_> {
    fn approve(&self, change: &PlannedChange, kind_of: KindOf) -> Result<(), String> {
        if let Some(why) = unticketed(change) {
            return Err(why);
        }
        if let Some(why) = import_batch_only(change, self.config) {
            return Err(why);
        }
        let refused: Vec<String> = change
            .tickets
            .iter()
            .filter_map(|t| self.approved(t, kind_of(t)).err())
            .collect();
        if refused.is_empty() {
            Ok(())
        } else {
            Err(refused.join("; "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::plan::{Action, Target};

    #[test]
    fn access_resting_on_an_import_batch_alone_is_refused_naming_adopt_files() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("presets/kudus.toml");
        let batch = crate::ticket::Ticket::generate("KDS").to_string();
        let text = format!(
            "{}\n[[imports]]\nticket = \"{batch}\"\nsource = \"unix\"\ndate = \"2026-12-03\"\n\
             accounts = 1\ndigest = \"sha256:00\"\n",
            std::fs::read_to_string(path).unwrap()
        );
        let config: Config = toml::from_str(&text).unwrap();
        let change = |action, tickets: &[&str]| PlannedChange {
            backend: "ssh".into(),
            tickets: tickets.iter().map(|t| t.to_string()).collect(),
            action,
            target: Target::Key {
                server: "app-1".into(),
                login: "opd-x".into(),
                grant: batch.clone(),
                key: "ssh-ed25519 AAAA".into(),
                expires: "2027-01-31".into(),
            },
        };
        let why = import_batch_only(&change(Action::Grant, &[&batch]), &config).unwrap();
        assert!(why.contains("loket adopt-files"), "{why}");
        // Taking access away stands on the account data; a request's ticket is
        // judged by the gate as usual.
        assert!(import_batch_only(&change(Action::Expire, &[&batch]), &config).is_none());
        let request = crate::ticket::Ticket::generate("KDS").to_string();
        assert!(import_batch_only(&change(Action::Grant, &[&request]), &config).is_none());
        let gate = RecordsGate::new(std::path::Path::new("."), &config);
        let err = gate
            .approve(&change(Action::Grant, &[&batch]), &|_| None)
            .unwrap_err();
        assert!(err.contains("import` batch"), "{err}");
    }
}
