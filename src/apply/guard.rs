//! The mass-removal guard: a run that would disable or revoke more than
//! `max-disable-share` of a backend's live accounts and keys is refused, so a broken
//! or truncated `accounts/` cannot wipe the mail server. One removal is always
//! allowed (small instances must still be able to disable an account). Expiry is
//! not counted: it follows approved dates, and the sweep must not be blocked when
//! many grants end on the same day.

use super::plan::{Action, PlannedChange};
use super::{ApplyError, LiveState};
use crate::model::backends::Share;

pub fn check(
    backend: &str,
    changes: &[PlannedChange],
    live: &LiveState,
    max_share: Share,
) -> Result<(), ApplyError> {
    let removals = changes
        .iter()
        .filter(|c| matches!(c.action, Action::Disable | Action::Revoke))
        .count();
    let total = live.mail.len() + live.server.values().map(|a| a.keys.len()).sum::<usize>();
    if removals <= 1 || total == 0 {
        return Ok(());
    }
    let share = removals as f64 / total as f64;
    if share > max_share.get() {
        return Err(ApplyError::Guard {
            backend: backend.to_string(),
            removals,
            total,
            max_share: max_share.get(),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::{LiveMail, Target};

    fn live(n: usize) -> LiveState {
        let mut l = LiveState::default();
        for i in 0..n {
            l.mail.insert(format!("u{i}@x"), LiveMail::default());
        }
        l
    }

    fn share() -> Share {
        "0.2".parse().unwrap()
    }

    fn disables(n: usize) -> Vec<PlannedChange> {
        (0..n)
            .map(|i| PlannedChange {
                backend: "dovecot".into(),
                tickets: vec![format!("T{i}")],
                action: Action::Disable,
                target: Target::Mail {
                    address: format!("u{i}@x"),
                    active: false,
                },
            })
            .collect()
    }

    #[test]
    fn refuses_mass_disable_allows_small() {
        assert!(check("dovecot", &disables(2), &live(10), share()).is_ok());
        let err = check("dovecot", &disables(3), &live(10), share()).unwrap_err();
        assert!(err.to_string().contains("3 of 10"), "{err}");
        assert!(check("dovecot", &disables(1), &live(2), share()).is_ok());
    }
}
