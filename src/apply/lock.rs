//! One apply at a time per state folder: an exclusive lock on `<state>/apply.lock`,
//! released when the process ends (also when it is killed).

use std::fs::{File, OpenOptions, TryLockError};
use std::path::Path;

use super::ApplyError;

pub struct Lock {
    _file: File,
}

impl Lock {
    /// Takes the lock or fails at once if another run holds it.
    pub fn acquire(state_dir: &Path) -> Result<Lock, ApplyError> {
        let path = state_dir.join("apply.lock");
        let io = |e| ApplyError::Io {
            path: path.clone(),
            source: e,
        };
        std::fs::create_dir_all(state_dir).map_err(io)?;
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io)?;
        match file.try_lock() {
            Ok(()) => Ok(Lock { _file: file }),
            Err(TryLockError::WouldBlock) => Err(ApplyError::Locked(path)),
            Err(TryLockError::Error(e)) => Err(io(e)),
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
