//! What `loket apply` (CI, on the main branch) writes for follow-up pull requests:
//! for each `letters/<ticket>.toml` of a ticket processed but not done, the commit
//! that added the letter must be the merge of a follow-up pull request the forge
//! shows wholly approved (judged by [`crate::review::evaluate`] with the role map of
//! the base branch at its merge, as the history gate judges requests), and the file
//! must not have changed since. Its completed steps (draft, reviews with login and
//! review id, merge, receipt), the letter's public facts and the pull request's
//! number go into `records/<ticket>.toml`; the outcome becomes `done` once every
//! SOP step is recorded. A receipt given after the merge is picked up by a later
//! run: every run reads the follow-up pull requests of tickets not yet done again.
//! Nothing here is read from `records/` but whether apply processed the ticket.

use std::path::Path;

use serde::Serialize;

use super::FollowUpError;
use crate::model::config::Completion;
use crate::model::letter::{Acting, LetterFile};
use crate::model::record::{Outcome, Progress, StepRecord};
use crate::model::{Config, Loaded};
use crate::review::followup::{done_records, mergeable};
use crate::review::history_gate::HistoryGate;

/// What happened to one ticket's follow-up in this run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct FollowUpResult {
    pub ticket: String,
    pub pr: Option<u64>,
    /// Recorded: the steps now done; the outcome written.
    pub outcome: Option<Outcome>,
    /// Why nothing was recorded (a letter not yet approved, a forge answer missing).
    pub refused: Option<String>,
}

/// Records every merged follow-up pull request of a ticket not yet done. One
/// ticket's refusal never blocks another's.
pub fn record_all(gate: &HistoryGate, config: &Config) -> Vec<FollowUpResult> {
    let head = gate.head();
    head.letters
        .iter()
        .filter_map(|l| {
            let ticket = l.value.ticket.get_ref().clone();
            let record = read_record(&head.root, &ticket);
            // Only processed tickets: done ones are finished, others not yet made.
            if !matches!(&record, Some(p) if p.outcome == Outcome::Processed) {
                return None;
            }
            let mut p = record?;
            Some(match one(gate, config, l, &mut p) {
                Ok(pr) => FollowUpResult {
                    ticket,
                    pr: Some(pr),
                    outcome: Some(p.outcome),
                    refused: None,
                },
                Err(why) => FollowUpResult {
                    ticket,
                    pr: None,
                    outcome: None,
                    refused: Some(why),
                },
            })
        })
        .collect()
}

/// The record of `ticket` under `root`, if it is there, parses and is that ticket's.
pub(crate) fn read_record(root: &Path, ticket: &str) -> Option<Progress> {
    let text =
        crate::model::regular::read_to_string(&root.join(Progress::path_for(ticket))).ok()?;
    toml::from_str::<Progress>(&text)
        .ok()
        .filter(|p| p.ticket == ticket)
}

/// One ticket: judge the pull request that added its letter, then write.
fn one(
    gate: &HistoryGate,
    config: &Config,
    letter: &Loaded<LetterFile>,
    p: &mut Progress,
) -> Result<u64, String> {
    let ticket = p.ticket.clone();
    let rel = LetterFile::path_for(&ticket);
    let writers = gate.writers_of(&rel)?;
    let added = match writers.as_slice() {
        [] => return Err(format!("[A013] no commit on the branch wrote {rel}")),
        [one] => *one,
        [_, ..] => {
            return Err(format!(
                "[A015] {rel} was changed after the pull request that added it: an issued letter never changes"
            ));
        }
    };
    let (pr, ev) = gate.evaluate_commit(added, Some(&ticket))?;
    if let Some(why) = ev.problems.first() {
        return Err(format!("pull request #{pr}: {why}"));
    }
    let Some(t) = ev.tickets.iter().find(|t| t.ticket == ticket) else {
        return Err(format!(
            "[A015] pull request #{pr} is not a follow-up pull request of {ticket}"
        ));
    };
    if !mergeable(t) {
        let why = t.reason.clone().or_else(|| {
            t.pending
                .as_ref()
                .map(|s| format!("step {} waits for role {}", s.step, s.role))
        });
        return Err(format!(
            "[A013] follow-up pull request #{pr} was merged without every step before the merge: {}",
            why.unwrap_or_default()
        ));
    }
    let done = done_records(t);
    p.steps.retain(|s| !done.iter().any(|d| d.step == s.step));
    let mut issued = letter.value.issued();
    issued.acting = signer_acting(&done, &issued.signer_role);
    // A later run (the receipt after the merge) keeps the issued PDF's digest.
    issued.pdf_sha256 = p
        .letter
        .take()
        .filter(|l| l.number == issued.number)
        .and_then(|l| l.pdf_sha256);
    p.steps.extend(done);
    p.letter = Some(issued);
    p.follow_up_pr = Some(pr);
    p.pending_step = t.pending.as_ref().map(|s| s.step.clone());
    let sop = p.kind.and_then(|k| config.sop_for(k)).map(|(_, s)| s);
    let all = sop.is_some_and(|s| {
        s.steps
            .iter()
            .all(|st| p.steps.iter().any(|r| &r.step == st.id.get_ref()))
    });
    if all {
        p.outcome = Outcome::Done;
        p.pending_step = None;
    }
    write(&gate.head().root, p).map_err(|e| e.to_string())?;
    Ok(pr)
}

/// The signer's acting status (Plt/Plh/Pj and decree): that of the follow-up's
/// review by the signing role (the signature), if an acting official gave it.
fn signer_acting(done: &[StepRecord], signer_role: &str) -> Option<Acting> {
    done.iter()
        .rev()
        .find(|s| s.done_by == Completion::Review && s.role == signer_role)
        .and_then(|s| s.acting.clone())
}

/// Writes `p` to `records/<ticket>.toml` under `root`, atomically.
pub(crate) fn write(root: &Path, p: &Progress) -> Result<(), FollowUpError> {
    let path = root.join(Progress::path_for(&p.ticket));
    let text = toml::to_string(p).map_err(|e| FollowUpError::Write {
        path: path.clone(),
        message: e.to_string(),
    })?;
    crate::apply::fsutil::atomic_write(&path, text.as_bytes(), 0o644, None).map_err(|e| {
        FollowUpError::Write {
            path: path.clone(),
            message: e.to_string(),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::letter::ActingKind;

    fn step(role: &str, done_by: Completion, acting: Option<Acting>) -> StepRecord {
        StepRecord {
            step: format!("{role}-step"),
            done_by,
            role: role.into(),
            login: Some("x".into()),
            at: "2026-12-01T02:00:00Z".into(),
            review_id: Some(1),
            acting,
        }
    }

    #[test]
    fn the_letter_is_signed_as_acting_only_when_the_signature_was() {
        let plh = Acting {
            kind: ActingKind::Plh,
            decree: "800/9/2.04/2026".into(),
        };
        let done = [
            step("kepala-seksi", Completion::Draft, Some(plh.clone())),
            step("kepala-bidang", Completion::Review, None),
            step("kepala-dinas", Completion::Review, Some(plh.clone())),
        ];
        assert_eq!(signer_acting(&done, "kepala-dinas"), Some(plh));
        // An acting drafter does not make the signer acting.
        assert_eq!(signer_acting(&done[..2], "kepala-dinas"), None);
        assert_eq!(signer_acting(&done, "kepala-bidang"), None);
    }
}
