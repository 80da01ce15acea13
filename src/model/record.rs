//! Records: what happened to each ticket, written by CI under `records/<ticket>.toml`
//! and never by hand. They hold the approval trail (from the forge, at merge), the
//! apply/verify/notify outcomes, and so let audits and the status site work offline.
//!
//! The same [`Progress`] shape describes an open pull request's state in a forge
//! snapshot (`loket forge snapshot`), so the site renders pending tickets too.

use serde::{Deserialize, Serialize};

use super::config::Completion;
use super::letter::{Acting, IssuedLetter};
use super::request::RequestKind;

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
    /// Applied and, where the SOP asks, verified: "telah diproses". Follow-up steps
    /// (the notification letter, the receipt) may still be pending.
    Processed,
    /// Apply or verification failed; retried on the next run.
    Failed,
    /// Every SOP step done, the follow-up pull request's too: "selesai".
    Done,
}

/// One completed SOP step.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, Serialize)]
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
    /// Set when the reviewer acted for the role (Plt/Plh/Pj) under a delegation of
    /// the base branch's `loket.toml`: its kind and decree.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acting: Option<Acting>,
}

/// The state of one ticket: a record file, or one entry of a forge snapshot.
/// (`Hash`: the site keys its per-ticket build cache on it.)
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Progress {
    pub ticket: String,
    pub outcome: Outcome,
    /// The request's kind, so readers (the site) need not infer it from step ids.
    /// Absent in records written before it existed. No `skip_serializing_if`: the
    /// record cache encodes with postcard, which needs every field; TOML omits `None`.
    #[serde(default)]
    pub kind: Option<RequestKind>,
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
    /// The notification letter the follow-up pull request issued (public facts).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub letter: Option<IssuedLetter>,
    /// The follow-up pull request's number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub follow_up_pr: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EventKind {
    Applied,
    Verified,
    Notified,
    Failed,
    /// An account of a ticket already processed made again (drift repair): not a
    /// second processing.
    Repaired,
}

/// Something CI did to a ticket's accounts.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, Serialize)]
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

#[cfg(test)]
mod tests {
    use super::*;

    fn progress(kind: Option<RequestKind>) -> Progress {
        Progress {
            ticket: "KDS-24WBW-PV52C".into(),
            outcome: Outcome::Processed,
            kind,
            pr: Some(19),
            pending_step: None,
            reason: None,
            steps: vec![StepRecord {
                step: "permohonan".into(),
                done_by: Completion::Submit,
                role: "pemohon".into(),
                login: None,
                at: "2026-09-18T08:00:00+07:00".into(),
                review_id: None,
                acting: None,
            }],
            events: vec![Event {
                kind: EventKind::Applied,
                at: "2026-09-18T09:46:00+07:00".into(),
                run: None,
                detail: None,
            }],
            letter: None,
            follow_up_pr: None,
        }
    }

    /// Exactly what records looked like before `kind` existed.
    const WITHOUT_KIND: &str = r#"ticket = "KDS-24WBW-PV52C"
outcome = "processed"
pr = 19

[[steps]]
step = "permohonan"
done-by = "submit"
role = "pemohon"
at = "2026-09-18T08:00:00+07:00"

[[events]]
kind = "applied"
at = "2026-09-18T09:46:00+07:00"
"#;

    #[test]
    fn a_record_without_kind_is_written_as_before() {
        assert_eq!(toml::to_string(&progress(None)).unwrap(), WITHOUT_KIND);
        let old: Progress = toml::from_str(WITHOUT_KIND).unwrap();
        assert_eq!(old, progress(None));
    }

    #[test]
    fn kind_round_trips_in_toml_and_json() {
        let p = progress(Some(RequestKind::ServerGrant));
        let text = toml::to_string(&p).unwrap();
        assert!(
            text.starts_with(
                "ticket = \"KDS-24WBW-PV52C\"\noutcome = \"processed\"\nkind = \"server-grant\"\n"
            ),
            "{text}"
        );
        assert_eq!(toml::from_str::<Progress>(&text).unwrap(), p);
        let json = serde_json::to_string(&p).unwrap();
        assert_eq!(serde_json::from_str::<Progress>(&json).unwrap(), p);
        let none = serde_json::to_string(&progress(None)).unwrap();
        assert_eq!(
            serde_json::from_str::<Progress>(&none).unwrap(),
            progress(None)
        );
    }
}
