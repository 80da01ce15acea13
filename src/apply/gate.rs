//! The approvals gate: `loket apply` carries out a change only when every ticket it
//! fulfils is approved. [`RecordsGate`] is the offline default: a ticket is approved
//! when `records/<ticket>.toml` says `approved`, `processed` or `failed` (approved,
//! apply to be retried) and lists every `review` step of the ticket's SOP. The
//! forge-backed gate (reviews read from GitHub/Forgejo) implements the same trait.

use std::path::{Path, PathBuf};

use crate::model::Config;
use crate::model::config::Completion;
use crate::model::record::{Outcome, Progress};
use crate::model::request::RequestKind;

/// Decides whether a ticket may be applied.
pub trait ApprovalGate {
    /// `Ok(())` when approved; otherwise why not (shown to the operator).
    fn approved(&self, ticket: &str, kind: Option<RequestKind>) -> Result<(), String>;
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
}

impl ApprovalGate for RecordsGate<'_> {
    fn approved(&self, ticket: &str, kind: Option<RequestKind>) -> Result<(), String> {
        let kind = kind.ok_or_else(|| format!("{ticket}: no request file in requests/"))?;
        let path = self.root.join(Progress::path_for(ticket));
        let text = std::fs::read_to_string(&path).map_err(|_| {
            format!(
                "{ticket}: no approval record ({})",
                Progress::path_for(ticket)
            )
        })?;
        let p: Progress = toml::from_str(&text)
            .map_err(|e| format!("{ticket}: unreadable record: {}", e.message().trim()))?;
        if !matches!(
            p.outcome,
            Outcome::Approved | Outcome::Processed | Outcome::Failed
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
