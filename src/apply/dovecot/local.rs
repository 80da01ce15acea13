//! The mail files on this machine: read with `std::fs`, written with
//! [`atomic_write`](crate::apply::fsutil::atomic_write), commands run directly.

use std::path::Path;
use std::process::Command;

use super::{FileWrite, MailFiles};
use crate::apply::backend::BackendError;
use crate::apply::fsutil::atomic_write;
use crate::apply::redact::redact;

pub struct LocalFiles;

impl MailFiles for LocalFiles {
    fn label(&self, path: &Path) -> String {
        path.display().to_string()
    }

    fn read(&mut self, path: &Path) -> Result<String, BackendError> {
        match std::fs::read_to_string(path) {
            Ok(t) => Ok(t),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(String::new()),
            Err(e) => Err(BackendError::io(path, e)),
        }
    }

    fn commit(&mut self, writes: &[FileWrite]) -> Result<String, BackendError> {
        for w in writes {
            atomic_write(&w.path, w.text.as_bytes(), w.mode, w.group.as_deref())?;
            if let Some(argv) = &w.then {
                run(argv)?;
            }
        }
        match writes.last() {
            Some(w) => self.read(&w.path),
            None => Ok(String::new()),
        }
    }
}

fn run(argv: &[String]) -> Result<(), BackendError> {
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| BackendError::Other("empty command in [backends.mail]".into()))?;
    let mut cmd = Command::new(program);
    cmd.args(args);
    let shown = format!("{cmd:?}");
    let out = cmd.output().map_err(|e| BackendError::Command {
        command: shown.clone(),
        message: e.to_string(),
    })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(BackendError::Command {
            command: shown,
            message: format!(
                "{}: {}",
                out.status,
                redact(String::from_utf8_lossy(&out.stderr).trim())
            ),
        })
    }
}
