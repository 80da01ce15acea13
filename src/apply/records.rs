//! Writing apply outcomes into `records/<ticket>.toml` without a human: events
//! (applied, verified, failed; when; which run) and, once verified, the SOP's
//! apply/verify steps and the outcome: `done` ("selesai") when that was the SOP's
//! last step, else `processed` ("telah diproses") until a follow-up pull request
//! completes the rest (`crate::followup::record`). A repeat of a processed ticket's
//! account (drift repair) is one `repaired` event.

use std::path::Path;

use crate::model::Config;
use crate::model::config::Completion;
use crate::model::record::{Event, EventKind, Outcome, Progress, StepRecord};
use crate::model::request::RequestKind;

use super::ApplyError;
use super::fsutil::atomic_write;
use super::readback::Expect;

/// What happened to one ticket in this run.
#[derive(Debug, Clone)]
pub struct TicketEvents {
    pub ticket: String,
    pub kind: Option<RequestKind>,
    pub events: Vec<Event>,
}

/// Appends the events to the ticket's record and updates its outcome. The ticket
/// must be one of the office's (it names the file), and an existing record must be
/// a regular file that is this ticket's record.
pub fn write(root: &Path, config: &Config, t: &TicketEvents) -> Result<(), ApplyError> {
    let (path, text) = render(root, config, t)?;
    atomic_write(&path, text.as_bytes(), 0o644, None)?;
    super::fault::point("recorded");
    Ok(())
}

/// The record [`write`] would write for `t`, and where: the ticket's record read,
/// checked, with the events appended and the outcome updated. Writes nothing.
pub fn render(
    root: &Path,
    config: &Config,
    t: &TicketEvents,
) -> Result<(std::path::PathBuf, String), ApplyError> {
    let path = root.join(Progress::path_for(&t.ticket));
    let bad = |message: String| ApplyError::Record {
        path: path.clone(),
        message,
    };
    Expect::new(config).ticket(&t.ticket).map_err(&bad)?;
    // Read without following a link or blocking on a FIFO: anything but a regular
    // file (or none) in its place is refused, never taken as an absent record.
    let existing = match crate::model::regular::read_to_string(&path) {
        Ok(text) => Some(text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(bad(e.to_string())),
    };
    let mut p = match existing {
        Some(text) => {
            let p = toml::from_str::<Progress>(&text)
                .map_err(|e| bad(e.message().trim().to_string()))?;
            if p.ticket != t.ticket {
                return Err(bad(format!(
                    "it is the record of {:?}, not of {}",
                    p.ticket, t.ticket
                )));
            }
            p
        }
        None => Progress {
            ticket: t.ticket.clone(),
            outcome: Outcome::Approved,
            kind: None,
            pr: None,
            pending_step: None,
            reason: None,
            steps: Vec::new(),
            events: Vec::new(),
            letter: None,
            follow_up_pr: None,
        },
    };
    p.kind = t.kind.or(p.kind);
    let sop = p.kind.and_then(|k| config.sop_for(k)).map(|(_, s)| s);
    let events = repair(&p, &t.events);
    // The last gate before git: every detail without the run's secrets.
    p.events.extend(events.iter().cloned().map(|mut e| {
        if let Some(d) = &mut e.detail {
            super::redact::redact_in_place(d);
        }
        e
    }));
    let failed = events.iter().any(|e| e.kind == EventKind::Failed);
    let verified = events.iter().any(|e| e.kind == EventKind::Verified);
    let repaired = events.iter().any(|e| e.kind == EventKind::Repaired);
    if failed {
        p.outcome = Outcome::Failed;
    } else if repaired {
        // A repair adds no step. A record from before `done` existed may say
        // `processed` with every step recorded: it reads `done` now.
        if p.outcome == Outcome::Processed {
            settle(&mut p, sop);
        }
    } else if verified {
        for step in sop.into_iter().flat_map(|s| s.steps.iter()) {
            let done_by = *step.done_by.get_ref();
            if !matches!(done_by, Completion::Apply | Completion::Verify)
                || p.steps.iter().any(|s| &s.step == step.id.get_ref())
            {
                continue;
            }
            let at = t
                .events
                .iter()
                .find(|e| {
                    e.kind
                        == if done_by == Completion::Apply {
                            EventKind::Applied
                        } else {
                            EventKind::Verified
                        }
                })
                .map(|e| e.at.clone())
                .unwrap_or_default();
            p.steps.push(StepRecord {
                step: step.id.get_ref().clone(),
                done_by,
                role: step.role.get_ref().clone(),
                login: None,
                at,
                review_id: None,
                acting: None,
            });
        }
        settle(&mut p, sop);
    }
    let text = toml::to_string(&p).map_err(|e| ApplyError::Record {
        path: path.clone(),
        message: e.to_string(),
    })?;
    Ok((path, text))
}

/// The outcome once the account is made and verified: `done` ("selesai") when
/// every SOP step is recorded, else `processed` ("telah diproses") waiting for the
/// first step left, which a follow-up pull request completes.
/// (No SOP for the kind: processed, with nothing known to wait for.)
fn settle(p: &mut Progress, sop: Option<&crate::model::config::Sop>) {
    let Some(sop) = sop else {
        p.outcome = Outcome::Processed;
        p.pending_step = None;
        return;
    };
    let left = sop
        .steps
        .iter()
        .find(|st| !p.steps.iter().any(|r| &r.step == st.id.get_ref()));
    match left {
        Some(step) => {
            p.outcome = Outcome::Processed;
            p.pending_step = Some(step.id.get_ref().clone());
        }
        None => {
            p.outcome = Outcome::Done;
            p.pending_step = None;
        }
    }
}

/// A ticket already processed (or done) whose account is made again (drift
/// repair): the run's applied and verified events become one `repaired` event, so
/// the timeline shows a repair, not a second processing.
fn repair(p: &Progress, events: &[Event]) -> Vec<Event> {
    let already = matches!(p.outcome, Outcome::Processed | Outcome::Done);
    let applied = events.iter().find(|e| e.kind == EventKind::Applied);
    match applied {
        Some(a) if already && !events.iter().any(|e| e.kind == EventKind::Failed) => {
            let mut out: Vec<Event> = events
                .iter()
                .filter(|e| !matches!(e.kind, EventKind::Applied | EventKind::Verified))
                .cloned()
                .collect();
            out.insert(
                0,
                Event {
                    kind: EventKind::Repaired,
                    ..a.clone()
                },
            );
            out
        }
        _ => events.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::record::Event;

    const A: &str = "KDS-X8FA5-QQEQ8";
    const B: &str = "KDS-U2HXP-3TXUM";

    fn config() -> Config {
        let text = std::fs::read_to_string(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("loket.toml"),
        )
        .unwrap();
        toml::from_str(&text).unwrap()
    }

    fn ev(kind: EventKind) -> Event {
        Event {
            kind,
            at: "2026-11-25T10:00:00+07:00".into(),
            run: Some("r1".into()),
            detail: None,
        }
    }

    #[test]
    fn verified_ticket_becomes_processed_with_apply_step_failed_stays_failed() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("records")).unwrap();
        let cfg = config();
        let t = |ticket: &str, events| TicketEvents {
            ticket: ticket.into(),
            kind: Some(RequestKind::MailCreate),
            events,
        };
        write(
            d.path(),
            &cfg,
            &t(A, vec![ev(EventKind::Applied), ev(EventKind::Verified)]),
        )
        .unwrap();
        let p: Progress = toml::from_str(
            &std::fs::read_to_string(d.path().join(format!("records/{A}.toml"))).unwrap(),
        )
        .unwrap();
        assert_eq!(p.outcome, Outcome::Processed);
        assert_eq!(p.kind, Some(RequestKind::MailCreate));
        assert_eq!(p.events.len(), 2);
        let step = p.steps.iter().find(|s| s.step == "pembuatan-akun").unwrap();
        assert_eq!(step.done_by, Completion::Apply);
        assert_eq!(step.at, "2026-11-25T10:00:00+07:00");

        write(d.path(), &cfg, &t(B, vec![ev(EventKind::Failed)])).unwrap();
        let text = std::fs::read_to_string(d.path().join(format!("records/{B}.toml"))).unwrap();
        assert!(text.contains("outcome = \"failed\""), "{text}");
        assert!(!text.contains("pembuatan-akun"), "{text}");
    }

    #[test]
    fn a_second_apply_of_a_processed_ticket_is_one_repair_event() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("records")).unwrap();
        let cfg = config();
        let t = |events| TicketEvents {
            ticket: A.into(),
            kind: Some(RequestKind::MailCreate),
            events,
        };
        let both = || vec![ev(EventKind::Applied), ev(EventKind::Verified)];
        write(d.path(), &cfg, &t(both())).unwrap();
        write(d.path(), &cfg, &t(both())).unwrap();
        let p: Progress = toml::from_str(
            &std::fs::read_to_string(d.path().join(format!("records/{A}.toml"))).unwrap(),
        )
        .unwrap();
        let kinds: Vec<EventKind> = p.events.iter().map(|e| e.kind).collect();
        assert_eq!(
            kinds,
            [EventKind::Applied, EventKind::Verified, EventKind::Repaired]
        );
        assert_eq!(p.outcome, Outcome::Processed);
        assert_eq!(
            p.steps
                .iter()
                .filter(|s| s.done_by == Completion::Apply)
                .count(),
            1
        );
    }

    /// A record holding the request's steps of `sop` (those before apply), as the
    /// approvals gate writes them.
    fn approved(root: &Path, cfg: &Config, ticket: &str, sop: &str) {
        let steps = cfg.sops[sop]
            .steps
            .iter()
            .take_while(|s| *s.done_by.get_ref() != Completion::Apply)
            .map(|s| {
                format!(
                    "[[steps]]\nstep = \"{}\"\ndone-by = \"review\"\nrole = \"{}\"\nat = \"2026-11-25T09:00:00+07:00\"\n",
                    s.id.get_ref(),
                    s.role.get_ref()
                )
            })
            .collect::<String>();
        std::fs::write(
            root.join(format!("records/{ticket}.toml")),
            format!("ticket = \"{ticket}\"\noutcome = \"approved\"\n\n{steps}"),
        )
        .unwrap();
    }

    #[test]
    fn every_step_recorded_is_done_and_steps_left_wait_for_the_follow_up() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("records")).unwrap();
        let cfg = config();
        let read = |t: &str| -> Progress {
            toml::from_str(
                &std::fs::read_to_string(d.path().join(format!("records/{t}.toml"))).unwrap(),
            )
            .unwrap()
        };
        let both = || vec![ev(EventKind::Applied), ev(EventKind::Verified)];
        // Kudus mail: the account made is the SOP's last step.
        approved(d.path(), &cfg, A, "email");
        let t = TicketEvents {
            ticket: A.into(),
            kind: Some(RequestKind::MailCreate),
            events: both(),
        };
        write(d.path(), &cfg, &t).unwrap();
        let p = read(A);
        assert_eq!(p.outcome, Outcome::Done);
        assert_eq!(p.pending_step, None);
        // Kudus server access: step 6, the handover, is left for the follow-up.
        approved(d.path(), &cfg, B, "server");
        let t = TicketEvents {
            ticket: B.into(),
            kind: Some(RequestKind::ServerGrant),
            events: both(),
        };
        write(d.path(), &cfg, &t).unwrap();
        let p = read(B);
        assert_eq!(p.outcome, Outcome::Processed);
        assert_eq!(p.pending_step.as_deref(), Some("serah-terima"));
    }

    #[test]
    fn a_ticket_that_is_a_path_or_a_foreign_record_is_refused() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("records")).unwrap();
        let cfg = config();
        let t = |ticket: &str| TicketEvents {
            ticket: ticket.into(),
            kind: None,
            events: vec![ev(EventKind::Applied)],
        };
        let err = write(d.path(), &cfg, &t("../x")).unwrap_err().to_string();
        assert!(err.contains("not a ticket"), "{err}");
        assert!(!d.path().join("x.toml").exists());
        std::fs::write(
            d.path().join(format!("records/{A}.toml")),
            format!("ticket = \"{B}\"\noutcome = \"approved\"\n"),
        )
        .unwrap();
        let err = write(d.path(), &cfg, &t(A)).unwrap_err().to_string();
        assert!(err.contains(B), "{err}");
    }
}
