//! The mail files on the mail host, over the SSH backend's session (one control
//! master per run, host key pinned in `[[servers]]`, scripts over stdin as root).
//!
//! A commit is one script: per file a temp file beside it (`mktemp`), its mode and
//! group set while it is still empty, the text written from a quoted here-document
//! (so hashes never reach a command line), `sync`, `mv -f`; then its command
//! (`postmap`, `doveadm reload`). The first failing step stops the script and names
//! itself on stderr; what follows it is not run. A script cut short runs nothing
//! ([`wrap_script`](crate::apply::ssh::session::wrap_script)), and a run killed
//! mid-write leaves only a temp file, so each file is old or new, never torn.

use std::path::Path;

use rand::RngExt;

use super::{FileWrite, MailFiles};
use crate::apply::backend::BackendError;
use crate::apply::ssh::backend::{AdminIdentity, admin_identity, target_for};
use crate::apply::ssh::{SshError, SshHost, sh_quote};
use crate::model::backends::DovecotSettings;
use crate::model::config::Config;

/// Prefix of the stderr line a failing step leaves: `loket-step: STATUS STEP`.
const STEP_MARK: &str = "loket-step: ";

/// Defines `fail STEP STATUS`: report the step, drop the temp file, stop.
const PRELUDE: &str = r#"tmp=
fail() {
  echo "loket-step: $2 $1" >&2
  if [ -n "$tmp" ]; then rm -f -- "$tmp"; fi
  exit 3
}
"#;

pub struct RemoteFiles {
    host: SshHost,
    server: String,
    _identity: Option<AdminIdentity>,
}

impl RemoteFiles {
    /// The files of `settings` on the `[[servers]]` entry `name`. Every path must be
    /// absolute: there is no instance directory on the mail host.
    pub fn open(
        settings: &DovecotSettings,
        name: &str,
        config: &Config,
        instance_root: &Path,
    ) -> Result<Self, BackendError> {
        let server = config.server(name).ok_or_else(|| {
            BackendError::Other(format!(
                "[backends.mail] host = {name:?} is not among [[servers]] in loket.toml"
            ))
        })?;
        let paths = [
            Some(&settings.passwd_file),
            settings.virtual_domains.as_ref(),
            settings.virtual_mailboxes.as_ref(),
            settings.doveadm_config.as_ref(),
        ];
        if let Some(p) = paths.into_iter().flatten().find(|p| !p.starts_with('/')) {
            return Err(BackendError::Other(format!(
                "[backends.mail] path {p:?} must be absolute with host = {name:?}"
            )));
        }
        let identity = admin_identity(settings.identity_file.as_deref(), instance_root)?;
        Ok(Self::new(SshHost::new(target_for(server, &identity.path))).keep(identity))
    }

    /// Files on `host`, reached with the target it was built with.
    pub fn new(host: SshHost) -> Self {
        Self {
            server: host.target().server.clone(),
            host,
            _identity: None,
        }
    }

    fn keep(mut self, identity: AdminIdentity) -> Self {
        self._identity = Some(identity);
        self
    }

    /// The transport decodes output lossily; a replaced byte must not be written
    /// back as if it were the file (locally, such a file fails to read too).
    fn utf8(&self, path: &Path, text: String) -> Result<String, BackendError> {
        if text.contains(char::REPLACEMENT_CHARACTER) {
            return Err(BackendError::Other(format!(
                "{}: not UTF-8 text; fix or remove the offending line by hand",
                self.label(path)
            )));
        }
        Ok(text)
    }

    fn run(&mut self, script: &str) -> Result<String, BackendError> {
        self.host.run_script(script).map_err(remote_error)
    }
}

impl MailFiles for RemoteFiles {
    fn label(&self, path: &Path) -> String {
        format!("{}:{}", self.server, path.display())
    }

    fn read(&mut self, path: &Path) -> Result<String, BackendError> {
        let text = self.run(&read_script(path))?;
        self.utf8(path, text)
    }

    fn commit(&mut self, writes: &[FileWrite]) -> Result<String, BackendError> {
        let text = self.run(&commit_script(writes))?;
        match writes.last() {
            Some(w) => self.utf8(&w.path, text),
            None => Ok(text),
        }
    }
}

/// Prints the file, or nothing when it does not exist.
pub fn read_script(path: &Path) -> String {
    let p = quote(path);
    let step = sh_quote(&format!("read {}", path.display()));
    format!("{PRELUDE}if [ -e {p} ]; then cat -- {p} || fail {step} $?; fi\n")
}

/// Writes each file atomically in order, running its command after its rename,
/// and prints the last file as it now is on the host.
///
/// Texts are whole lines: a here-document always ends in a newline.
pub fn commit_script(writes: &[FileWrite]) -> String {
    let mut s = String::from(PRELUDE);
    for w in writes {
        let shown = w.path.display().to_string();
        let p = quote(&w.path);
        let dir = w
            .path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let d = quote(dir);
        let step = |what: &str| sh_quote(&format!("{what} {shown}"));
        let template = sh_quote(&format!("{}/.loket-XXXXXXXX", dir.display()));
        s.push_str(&format!(
            "mkdir -p -- {d} || fail {} $?\n\
             find {d} -maxdepth 1 -type f -name '.loket-*' -mmin +60 -exec rm -f -- {{}} + 2>/dev/null\n\
             tmp=$(mktemp {template}) || fail {} $?\n\
             chmod {:04o} \"$tmp\" || fail {} $?\n",
            step("create the directory of"),
            step("create a temp file beside"),
            w.mode,
            step("set the mode of the temp file for"),
        ));
        if let Some(g) = &w.group {
            // As locally: the group is set where it exists.
            let g = sh_quote(g);
            s.push_str(&format!(
                "if getent group {g} >/dev/null 2>&1; then chgrp {g} \"$tmp\" || fail {} $?; fi\n",
                step("set the group of the temp file for"),
            ));
        }
        if !w.text.is_empty() {
            let delim = delimiter(&w.text);
            let body = w.text.strip_suffix('\n').unwrap_or(&w.text);
            s.push_str(&format!(
                "cat > \"$tmp\" <<'{delim}' || fail {} $?\n{body}\n{delim}\n",
                step("write the temp file for"),
            ));
        }
        s.push_str(&format!(
            "sync -- \"$tmp\" || fail {} $?\n\
             mv -f -- \"$tmp\" {p} || fail {} $?\n\
             tmp=\n\
             sync -- {d} 2>/dev/null\n",
            step("fsync the temp file for"),
            step("rename the temp file onto"),
        ));
        if let Some(argv) = &w.then {
            let line: Vec<String> = argv.iter().map(|a| sh_quote(a)).collect();
            // stdout to stderr: the script's stdout is the read-back file.
            s.push_str(&format!(
                "{} >&2 || fail {} $?\n",
                line.join(" "),
                sh_quote(&argv.join(" ")),
            ));
        }
    }
    if let Some(w) = writes.last() {
        let step = sh_quote(&format!("read back {}", w.path.display()));
        s.push_str(&format!("cat -- {} || fail {step} $?\n", quote(&w.path)));
    }
    s
}

fn quote(p: &Path) -> String {
    sh_quote(&p.display().to_string())
}

/// A here-document delimiter that is no line of `text`.
fn delimiter(text: &str) -> String {
    loop {
        let d = format!("LOKET_EOF_{:016X}", rand::rng().random::<u64>());
        if !text.contains(&d) {
            return d;
        }
    }
}

/// A failed script names its step; connection errors name the server already.
fn remote_error(e: SshError) -> BackendError {
    let SshError::Script {
        server,
        code,
        stderr,
    } = e
    else {
        return BackendError::Other(e.to_string());
    };
    let step = stderr.lines().rev().find_map(|l| l.strip_prefix(STEP_MARK));
    let said: Vec<&str> = stderr
        .lines()
        .filter(|l| !l.starts_with(STEP_MARK) && !l.trim().is_empty())
        .collect();
    let mut msg = match step.and_then(|s| s.split_once(' ')) {
        Some((status, s)) => format!("mail host {server}: step `{s}` failed (exit {status})"),
        None => format!("mail host {server}: the remote script failed (exit {code})"),
    };
    if !said.is_empty() {
        msg.push_str(": ");
        msg.push_str(&said.join("; "));
    }
    BackendError::Other(msg)
}

#[cfg(test)]
#[path = "remote_tests.rs"]
mod tests;
