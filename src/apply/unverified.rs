//! Changes applied but not verified, kept in `<state>/unverified.json`.
//!
//! A verification that fails after a successful apply leaves the live system equal to
//! `accounts/`, so the next plan would never show the change again and the ticket
//! would stay "gagal diproses" for good. Each run therefore retries what is listed
//! here (unless the plan redoes the change anyway):
//! - a change that set a password (create, reset) is redone as a **reset**: the
//!   password of the failed run cannot be tested again (only its sealed copy exists),
//!   and by the documented route it has not reached the applicant yet (the sealed
//!   file goes out with the notification letter, after verification). The new
//!   password replaces the sealed file of the same ticket and is tested as a user;
//! - any other change is verified again as it stands.
//!
//! No secrets: the file holds planned changes only (addresses, logins, public keys).

use std::collections::HashSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use super::ApplyError;
use super::fsutil::{self, atomic_write};
use super::plan::{Action, PlannedChange, Target};
use super::readback::Expect;

pub const FILE: &str = "unverified.json";

/// What a change is about, whatever it does to it: backend and account or key.
pub fn subject(c: &PlannedChange) -> (&str, String) {
    let what = match &c.target {
        Target::Mail { address, .. } => address.clone(),
        Target::ServerAccount { server, login } => format!("{login}@{server}"),
        Target::Key {
            server,
            login,
            grant,
            ..
        } => format!("{login}@{server} {grant}"),
    };
    (c.backend.as_str(), what)
}

/// The persisted list.
#[derive(Debug)]
pub struct Unverified {
    path: PathBuf,
    pub changes: Vec<PlannedChange>,
}

/// What this run does with the listed changes the plan does not cover.
#[derive(Debug, Default, PartialEq)]
pub struct Retries {
    /// Redone through the normal pipeline (gate, seal, journal, apply, verify).
    pub reapply: Vec<PlannedChange>,
    /// Only verified again.
    pub reverify: Vec<PlannedChange>,
}

impl Unverified {
    /// Reads the list; none yet is an empty list. Every entry must be a change loket
    /// could have planned in this instance (tickets of its prefix, plain names), and
    /// the file a regular file of this user; otherwise an error names the file.
    pub fn load(state_dir: &Path, expect: &Expect) -> Result<Unverified, ApplyError> {
        let path = state_dir.join(FILE);
        let bad = |why: String| ApplyError::State {
            path: path.clone(),
            message: format!(
                "{why}; it lists changes awaiting verification: repair it, or delete it \
                 and run `loket verify` for the tickets recorded as failed"
            ),
        };
        let mut bytes = Vec::new();
        if let Some(mut f) = fsutil::open_private_file(&path, false)? {
            f.read_to_end(&mut bytes).map_err(|e| ApplyError::Io {
                path: path.clone(),
                source: e,
            })?;
        }
        let changes: Vec<PlannedChange> = if bytes.is_empty() {
            Vec::new()
        } else {
            serde_json::from_slice(&bytes).map_err(|e| bad(e.to_string()))?
        };
        for (i, c) in changes.iter().enumerate() {
            expect
                .change(c)
                .map_err(|e| bad(format!("entry {}: {e}", i + 1)))?;
        }
        Ok(Unverified { path, changes })
    }

    /// The retries for this run: listed changes whose account or key the plan does
    /// not touch (a planned change to it supersedes the retry, e.g. a deactivation
    /// of an account whose creation was not verified).
    pub fn retries(&self, planned: &[PlannedChange]) -> Retries {
        let planned: HashSet<(&str, String)> = planned.iter().map(subject).collect();
        let mut out = Retries::default();
        for c in self
            .changes
            .iter()
            .filter(|c| !planned.contains(&subject(c)))
        {
            if c.action.needs_password(&c.target) && matches!(c.target, Target::Mail { .. }) {
                out.reapply.push(PlannedChange {
                    action: Action::Reset,
                    ..c.clone()
                });
            } else {
                out.reverify.push(c.clone());
            }
        }
        out
    }

    /// Lists `c` in place of any listed change of the same account or key; whether
    /// the list changed.
    pub fn add(&mut self, c: &PlannedChange) -> bool {
        if self.changes.contains(c) {
            return false;
        }
        self.resolve(c);
        self.changes.push(c.clone());
        true
    }

    /// Drops the listed change of `c`'s account or key (verified and recorded);
    /// whether the list changed.
    pub fn resolve(&mut self, c: &PlannedChange) -> bool {
        let s = subject(c);
        let before = self.changes.len();
        self.changes.retain(|l| subject(l) != s);
        self.changes.len() != before
    }

    /// Writes the list as it stands (0600, atomically); an empty list removes the file.
    pub fn persist(&self) -> Result<(), ApplyError> {
        if self.changes.is_empty() {
            return match std::fs::remove_file(&self.path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(ApplyError::Io {
                    path: self.path.clone(),
                    source: e,
                }),
                _ => Ok(()),
            };
        }
        let json = serde_json::to_vec_pretty(&self.changes).expect("plain data serialises");
        Ok(atomic_write(&self.path, &json, 0o600, None)?)
    }

    /// Replaces the list with `failed` and writes it.
    pub fn save(mut self, failed: Vec<PlannedChange>) -> Result<(), ApplyError> {
        self.changes = failed;
        self.persist()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TICKET: &str = "KDS-X8FA5-QQEQ8";

    fn change(action: Action, target: Target) -> PlannedChange {
        PlannedChange {
            backend: "mail".into(),
            tickets: vec![TICKET.into()],
            action,
            target,
        }
    }

    fn mail(active: bool) -> Target {
        Target::Mail {
            address: "a@kuduskab.go.id".into(),
            active,
        }
    }

    #[test]
    fn password_changes_are_redone_as_resets_others_reverified() {
        let dir = tempfile::tempdir().unwrap();
        let mut u = Unverified::load(dir.path(), &Expect::with_prefix("KDS")).unwrap();
        assert!(u.changes.is_empty());
        let create = change(Action::Create, mail(true));
        let disable = change(
            Action::Disable,
            Target::Mail {
                address: "b@kuduskab.go.id".into(),
                active: false,
            },
        );
        u.changes = vec![create.clone(), disable.clone()];
        let r = u.retries(&[]);
        assert_eq!(r.reapply.len(), 1);
        assert_eq!(r.reapply[0].action, Action::Reset);
        assert_eq!(r.reverify, vec![disable.clone()]);
        // A change the plan holds again is left to the plan.
        let r = u.retries(std::slice::from_ref(&create));
        assert!(r.reapply.is_empty());
        assert_eq!(r.reverify, vec![disable.clone()]);
        // So is one whose account the plan changes otherwise (deactivated meanwhile).
        u.changes = vec![create];
        let r = u.retries(&[change(Action::Disable, mail(false))]);
        assert_eq!(r, Retries::default());
    }

    #[test]
    fn saved_list_round_trips_and_empty_list_removes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let u = Unverified::load(dir.path(), &Expect::with_prefix("KDS")).unwrap();
        let c = change(Action::Reset, mail(true));
        u.save(vec![c.clone()]).unwrap();
        let u = Unverified::load(dir.path(), &Expect::with_prefix("KDS")).unwrap();
        assert_eq!(u.changes, vec![c]);
        u.save(Vec::new()).unwrap();
        assert!(!dir.path().join(FILE).exists());
    }

    #[test]
    fn a_corrupt_list_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(FILE), "[{").unwrap();
        let err = Unverified::load(dir.path(), &Expect::with_prefix("KDS"))
            .unwrap_err()
            .to_string();
        assert!(err.contains(FILE) && err.contains("loket verify"), "{err}");
    }

    #[test]
    fn entries_are_validated_and_a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = change(Action::Create, mail(true));
        c.tickets = vec!["../x".into()];
        std::fs::write(dir.path().join(FILE), serde_json::to_vec(&vec![c]).unwrap()).unwrap();
        let e = Expect::with_prefix("KDS");
        let err = Unverified::load(dir.path(), &e).unwrap_err().to_string();
        assert!(err.contains(FILE) && err.contains("../x"), "{err}");
        std::fs::remove_file(dir.path().join(FILE)).unwrap();
        let fifo = std::ffi::CString::new(dir.path().join(FILE).to_str().unwrap()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        let err = Unverified::load(dir.path(), &e).unwrap_err().to_string();
        assert!(err.contains("FIFO"), "{err}");
    }
}
