//! The SSH transport: the system OpenSSH client, one multiplexed connection per host
//! per run, the host key pinned from `loket.toml` (no trust on first use).
//!
//! The admin identity is only ever passed to `ssh` as a file path; scripts travel
//! over stdin, so nothing they contain shows up in a process list. What ssh and the
//! remote write to stderr passes [`redact`](crate::apply::redact) as it is read.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use thiserror::Error;

use crate::apply::redact::redact_owned;

/// One server as the SSH backend reaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    /// The `[[servers]]` name, used for messages and the known_hosts alias.
    pub server: String,
    pub address: String,
    pub port: u16,
    /// Pinned host key, `type base64` (a trailing comment is ignored).
    pub host_key: String,
    /// Login the admin session uses; when not `root`, scripts run under `sudo -n`.
    pub admin_user: String,
    /// Private key of the admin login. Never read or logged by loket.
    pub identity: PathBuf,
}

#[derive(Debug, Error)]
pub enum SshError {
    #[error(
        "server {server}: no host-key pinned in loket.toml; get it out of band \
         (`ssh-keyscan -t ed25519 HOST` run on a trusted network, or from the console) \
         and set `host-key = \"ssh-ed25519 AAAA...\"` under its [[servers]] entry"
    )]
    NoHostKey { server: String },
    #[error("server {server}: host-key in loket.toml is not an OpenSSH public key: {reason}")]
    BadHostKey { server: String, reason: String },
    #[error(
        "server {server} ({address}:{port}) presented a host key that does not match the \
         host-key pinned in loket.toml; nothing was changed. If the server was reinstalled, \
         confirm its new key out of band and update host-key. ssh said: {detail}"
    )]
    HostKeyMismatch {
        server: String,
        address: String,
        port: u16,
        detail: String,
    },
    #[error(
        "server {server}: the admin login {user} was refused (check the admin identity \
         file and that its public key is in the admin's authorized_keys): {detail}"
    )]
    AdminRefused {
        server: String,
        user: String,
        detail: String,
    },
    #[error("server {server}: ssh failed: {detail}")]
    Connect { server: String, detail: String },
    #[error("server {server}: {context}: {source}")]
    Io {
        server: String,
        context: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error(
        "server {server}: the admin login {user} may not run `sudo -n /bin/sh -s` (sudo said: \
         {detail}); nothing was changed. Install sudo on the server and add the sudoers \
         line `{user} ALL=(root) NOPASSWD: /bin/sh -s` (see docs/apply.md)"
    )]
    Sudo {
        server: String,
        user: String,
        detail: String,
    },
    #[error("server {server}: remote script failed (exit {code}): {stderr}")]
    Script {
        server: String,
        code: i32,
        stderr: String,
    },
    #[error("server {server}: unexpected output from the remote script: {line}")]
    Output { server: String, line: String },
}

/// What a non-root admin runs; the sudoers line of docs/apply.md allows exactly this
/// (`-n`: fail at once rather than wait for a password nobody will type).
pub const SUDO_SH: &str = "sudo -n /bin/sh -s";

/// sudo's own refusal, told apart from a failing script: sudo exits 1 with a
/// `sudo: ` line before the shell starts (no password rule, a password required,
/// `requiretty`); the login shell exits 127 when sudo is not installed.
fn sudo_refusal(code: i32, stderr: &str) -> Option<String> {
    const REFUSALS: [&str; 5] = [
        "password is required",
        "terminal is required",
        "not allowed to execute",
        "not in the sudoers file",
        "must have a tty",
    ];
    let line = stderr.lines().map(str::trim).find(|l| match code {
        1 => l.starts_with("sudo: ") && REFUSALS.iter().any(|r| l.contains(r)),
        127 => l.contains("sudo") && l.contains("not found"),
        _ => false,
    })?;
    Some(line.to_string())
}

/// Options every `ssh` call gets: no user config, no agent keys, no prompts, and only
/// the pinned host key trusted.
fn base_args(target: &SshTarget, known_hosts: &Path, key_type: &str) -> Vec<String> {
    let alias = host_alias(&target.server);
    vec![
        "-F".into(),
        "none".into(),
        "-o".into(),
        "BatchMode=yes".into(),
        "-o".into(),
        "StrictHostKeyChecking=yes".into(),
        "-o".into(),
        format!("UserKnownHostsFile={}", known_hosts.display()),
        "-o".into(),
        "GlobalKnownHostsFile=/dev/null".into(),
        "-o".into(),
        format!("HostKeyAlias={alias}"),
        "-o".into(),
        format!("HostKeyAlgorithms={}", host_key_algorithms(key_type)),
        "-o".into(),
        "UpdateHostKeys=no".into(),
        "-o".into(),
        "IdentitiesOnly=yes".into(),
        "-o".into(),
        "IdentityAgent=none".into(),
        "-o".into(),
        "ConnectTimeout=15".into(),
        "-o".into(),
        "LogLevel=ERROR".into(),
        "-p".into(),
        target.port.to_string(),
    ]
}

fn host_alias(server: &str) -> String {
    format!("loket-{server}")
}

/// Host key algorithms that a pinned key of `key_type` can sign with (an RSA host
/// key signs with the SHA-2 variants).
fn host_key_algorithms(key_type: &str) -> String {
    if key_type == "ssh-rsa" {
        "rsa-sha2-512,rsa-sha2-256,ssh-rsa".into()
    } else {
        key_type.into()
    }
}

/// Checks a pinned host key and returns `(type, "type base64")`.
pub fn parse_host_key(server: &str, key: &str) -> Result<(String, String), SshError> {
    let parsed =
        ssh_key::PublicKey::from_openssh(key.trim()).map_err(|e| SshError::BadHostKey {
            server: server.into(),
            reason: e.to_string(),
        })?;
    let text = parsed.to_openssh().map_err(|e| SshError::BadHostKey {
        server: server.into(),
        reason: e.to_string(),
    })?;
    let mut parts = text.split_whitespace();
    let (t, b) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    Ok((t.to_string(), format!("{t} {b}")))
}

/// A live connection to one host: a control master that later calls share, so a
/// run opens one SSH session per host however many scripts it sends.
pub struct SshSession {
    target: SshTarget,
    dir: tempfile::TempDir,
    key_type: String,
}

impl SshSession {
    /// Connects as the admin and keeps the connection open until dropped.
    pub fn open(target: &SshTarget) -> Result<Self, SshError> {
        if target.host_key.trim().is_empty() {
            return Err(SshError::NoHostKey {
                server: target.server.clone(),
            });
        }
        let (key_type, pinned) = parse_host_key(&target.server, &target.host_key)?;
        let io = |context| {
            let server = target.server.clone();
            move |source| SshError::Io {
                server,
                context,
                source,
            }
        };
        // Short path: the control socket must fit in a unix socket address.
        let dir = tempfile::Builder::new()
            .prefix("loket-ssh.")
            .tempdir()
            .map_err(io("creating a temp dir"))?;
        let known_hosts = dir.path().join("known_hosts");
        fs::write(
            &known_hosts,
            format!("{} {pinned}\n", host_alias(&target.server)),
        )
        .map_err(io("writing known_hosts"))?;
        let session = Self {
            target: target.clone(),
            dir,
            key_type,
        };
        // The master goes to the background after authenticating (-f); its stderr
        // goes to a file, since a pipe would stay open as long as the master lives.
        let err_path = session.dir.path().join("master.err");
        let err_file = fs::File::create(&err_path).map_err(io("creating a log file"))?;
        let status = Command::new("ssh")
            .args(session.args())
            // A master orphaned by a killed run exits once idle this long.
            .args(["-M", "-N", "-f", "-o", "ControlPersist=300"])
            .arg("-i")
            .arg(&target.identity)
            .arg(session.destination(&target.admin_user))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(err_file)
            .status()
            .map_err(io("running ssh"))?;
        if !status.success() {
            let detail = redact_owned(fs::read_to_string(&err_path).unwrap_or_default());
            return Err(classify(target, &target.admin_user, &detail));
        }
        Ok(session)
    }

    pub fn target(&self) -> &SshTarget {
        &self.target
    }

    /// Whether the control master still runs (it exits after an idle spell).
    pub fn is_alive(&self) -> bool {
        self.master_pid().is_some()
    }

    /// The control master's process id, while it runs.
    pub fn master_pid(&self) -> Option<u32> {
        let out = Command::new("ssh")
            .args(self.args())
            .args(["-O", "check"])
            .arg(self.destination(&self.target.admin_user))
            .stdin(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())?;
        // "Master running (pid=1234)"
        let text = String::from_utf8_lossy(&out.stderr);
        let pid = text.split("pid=").nth(1)?;
        pid.trim_end_matches(|c: char| !c.is_ascii_digit())
            .parse()
            .ok()
    }

    fn known_hosts(&self) -> PathBuf {
        self.dir.path().join("known_hosts")
    }

    fn control_path(&self) -> PathBuf {
        self.dir.path().join("cm")
    }

    fn args(&self) -> Vec<String> {
        let mut a = base_args(&self.target, &self.known_hosts(), &self.key_type);
        a.extend([
            "-o".into(),
            format!("ControlPath={}", self.control_path().display()),
        ]);
        a
    }

    fn destination(&self, user: &str) -> String {
        format!("{user}@{}", self.target.address)
    }

    /// Runs `script` with `sh` as root on the host (through `sudo -n` for a non-root
    /// admin) over the shared connection; returns its stdout.
    pub fn run_script(&self, script: &str) -> Result<String, SshError> {
        let io = |context| {
            let server = self.target.server.clone();
            move |source| SshError::Io {
                server,
                context,
                source,
            }
        };
        let via_sudo = self.target.admin_user != "root";
        let remote = if via_sudo { SUDO_SH } else { "/bin/sh -s" };
        let mut child = Command::new("ssh")
            .args(self.args())
            .args(["-o", "ControlMaster=no"])
            // Should the master be gone, ssh falls back to a direct connection.
            .arg("-i")
            .arg(&self.target.identity)
            .arg(self.destination(&self.target.admin_user))
            .arg(remote)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(io("running ssh"))?;
        let mut stdin = child.stdin.take().expect("stdin is piped");
        let script = wrap_script(script);
        // Write from a thread so a large script cannot deadlock against full pipes.
        let writer = std::thread::spawn(move || stdin.write_all(script.as_bytes()));
        let out = child.wait_with_output().map_err(io("waiting for ssh"))?;
        let _ = writer.join();
        // What the remote writes to stderr ends up in messages: redacted here.
        let stderr = redact_owned(String::from_utf8_lossy(&out.stderr).trim().to_string());
        if !out.status.success() {
            let code = out.status.code().unwrap_or(-1);
            if code == 255 {
                return Err(classify(&self.target, &self.target.admin_user, &stderr));
            }
            if via_sudo && let Some(detail) = sudo_refusal(code, &stderr) {
                return Err(SshError::Sudo {
                    server: self.target.server.clone(),
                    user: self.target.admin_user.clone(),
                    detail,
                });
            }
            return Err(SshError::Script {
                server: self.target.server.clone(),
                code,
                stderr,
            });
        }
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Logs in as `user` with `identity` in a fresh connection (not the admin's) and
    /// runs `true`: what the applicant's own `ssh` would do.
    pub fn try_login(&self, user: &str, identity: &Path) -> Result<LoginOutcome, SshError> {
        let out = Command::new("ssh")
            .args(base_args(&self.target, &self.known_hosts(), &self.key_type))
            .args(["-o", "ControlMaster=no", "-o", "ControlPath=none"])
            .arg("-i")
            .arg(identity)
            .arg(self.destination(user))
            .arg("true")
            .stdin(Stdio::null())
            .output()
            .map_err(|source| SshError::Io {
                server: self.target.server.clone(),
                context: "running ssh",
                source,
            })?;
        if out.status.success() {
            return Ok(LoginOutcome::Accepted);
        }
        let stderr = redact_owned(String::from_utf8_lossy(&out.stderr).trim().to_string());
        match classify(&self.target, user, &stderr) {
            SshError::AdminRefused { detail, .. } => Ok(LoginOutcome::Refused(detail)),
            e => Err(e),
        }
    }
}

/// The result of a login attempt that reached authentication.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginOutcome {
    Accepted,
    /// Refused; ssh's message (e.g. `Permission denied (publickey)` or an expiry notice).
    Refused(String),
}

impl Drop for SshSession {
    fn drop(&mut self) {
        let _ = Command::new("ssh")
            .args(self.args())
            .args(["-O", "exit"])
            .arg(self.destination(&self.target.admin_user))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
}

/// Maps ssh's stderr on failure to an error that says what to do.
fn classify(target: &SshTarget, user: &str, stderr: &str) -> SshError {
    let detail = stderr
        .lines()
        .rfind(|l| !l.starts_with('@') && !l.trim().is_empty())
        .unwrap_or("ssh exited with an error")
        .trim()
        .to_string();
    if stderr.contains("REMOTE HOST IDENTIFICATION HAS CHANGED")
        || stderr.contains("Host key verification failed")
        || stderr.contains("No ED25519 host key is known")
        || stderr.contains("host key is known for")
    {
        SshError::HostKeyMismatch {
            server: target.server.clone(),
            address: target.address.clone(),
            port: target.port,
            detail,
        }
    } else if stderr.contains("Permission denied")
        || stderr.contains("account has expired")
        || stderr.contains("Connection closed by authenticating user")
    {
        SshError::AdminRefused {
            server: target.server.clone(),
            user: user.into(),
            detail,
        }
    } else {
        SshError::Connect {
            server: target.server.clone(),
            detail,
        }
    }
}

/// One function, called on the last line: a script cut short (loket killed while
/// sending it) is never defined completely, so no part of it runs.
pub fn wrap_script(script: &str) -> String {
    format!("loket_main() {{\n{script}\n}}\nloket_main\n")
}

/// Quotes `s` for a POSIX shell as one word.
pub fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

#[cfg(test)]
#[path = "session_tests.rs"]
mod tests;
