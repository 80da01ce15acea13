//! One apply at a time per state folder: an exclusive lock on `<state>/apply.lock`,
//! released when the process ends (also when it is killed). Taking it also makes the
//! state folder loket's own: created 0700 or checked (no link, this user's) and set
//! 0700; the lock file is 0600 and only ever a regular file.

use std::fs::{File, TryLockError};
use std::path::Path;

use super::{ApplyError, fsutil};

pub const FILE: &str = "apply.lock";

pub struct Lock {
    _file: File,
}

impl Lock {
    /// Takes the lock or fails at once if another run holds it.
    pub fn acquire(state_dir: &Path) -> Result<Lock, ApplyError> {
        fsutil::private_dir(state_dir)?;
        let path = state_dir.join(FILE);
        let file = fsutil::open_private_file(&path, true)?.expect("created");
        match file.try_lock() {
            Ok(()) => Ok(Lock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(ApplyError::Locked(path)),
            Err(TryLockError::Error(e)) => Err(ApplyError::Io { path, source: e }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_lock_is_refused_until_first_dropped() {
        let d = tempfile::tempdir().unwrap();
        let first = Lock::acquire(d.path()).unwrap();
        assert!(matches!(
            Lock::acquire(d.path()),
            Err(ApplyError::Locked(_))
        ));
        drop(first);
        Lock::acquire(d.path()).unwrap();
    }
}
