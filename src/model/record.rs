//! Records: what happened to each ticket, written by CI under `records/<ticket>.toml`
//! and never by hand. They hold the approval trail (from the forge, at merge), the
//! apply/verify/notify outcomes, and so let audits and the status site work offline.
//!
//! The same [`Progress`] shape describes an open pull request's state in a forge
//! snapshot (`loket forge snapshot`), so the site renders pending tickets too.

use serde::{Deserialize, Serialize};

use super::config::Completion;

pub const RECORDS_DIR: &str = "records";

/// Where a ticket stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Submitted; some step is still pending.
    Pending,
    /// Returned to the applicant (changes requested), e.g. the name is taken.
    Returned,
    /// Refused (e.g. server access refused by the Kepala Bidang).
    Refused,
    /// Every approval is in; waiting for merge and apply.
    Approved,
    /// Applied and, where the SOP asks, verified and notified: "telah diproses".
    Processed,
    /// Apply or verification failed; retried on the next run.
    Failed,
}

/// One completed SOP step.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct StepRecord {
    /// The step id from the SOP in `loket.toml`.
    pub step: String,
    pub done_by: Completion,
    /// The role that acted (never a person's name on the site).
    pub role: String,
    /// Forge login, for review steps (kept for audit; not shown on the site).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub login: Option<String>,
    /// RFC 3339 instant.
    pub at: String,
    /// Forge review id, for review steps.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub review_id: Option<u64>,
}

/// The state of one ticket: a record file, or one entry of a forge snapshot.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Progress {
    pub ticket: String,
    pub outcome: Outcome,
    /// Pull request number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pr: Option<u64>,
    /// The step now pending, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_step: Option<String>,
    /// Why it was returned or refused, in the reviewer's words. Kept for the applicant
    /// and audits; free text may name people, so the public site never shows it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(default)]
    pub steps: Vec<StepRecord>,
    /// Apply / verify / notify events, oldest first.
    #[serde(default)]
    pub events: Vec<Event>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    Applied,
    Verified,
    Notified,
    Failed,
}

/// Something CI did to a ticket's accounts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Event {
    pub kind: EventKind,
    /// RFC 3339 instant.
    pub at: String,
    /// Which CI run did it (e.g. a workflow run URL or id).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<String>,
    /// A short, secret-free description (e.g. which backend failed and why).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// A forge snapshot: the progress of every ticket in an open pull request.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Snapshot {
    /// RFC 3339 instant the snapshot was taken.
    pub taken_at: String,
    pub tickets: Vec<Progress>,
}

impl Progress {
    pub fn path_for(ticket: &str) -> String {
        format!("{RECORDS_DIR}/{ticket}.toml")
    }
}
