//! [`Backend`] for server access over SSH: the `[[servers]]` of `loket.toml`, one
//! [`SshHost`] (one SSH session) each, changes batched per host.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use jiff::civil::Date;

use super::{LiveHost, LoginOutcome, Op, SshHost, SshTarget, checked_key};
use crate::apply::adopt::ImportedKeys;
use crate::apply::backend::{
    Backend, BackendError, Change, LiveKey, LiveServerAccount, LiveState, Verified,
};
use crate::apply::plan::{Action, Target};
use crate::model::backends::SshSettings;
use crate::model::config::{Config, Server};

/// Environment variable naming the admin's private key file; overrides `identity-file`.
pub const IDENTITY_ENV: &str = "LOKET_SSH_IDENTITY";

pub struct SshBackend {
    hosts: BTreeMap<String, SshHost>,
    /// Logins `accounts/` holds per server: read even when not marked as loket's.
    logins: BTreeMap<String, Vec<String>>,
    live: BTreeMap<String, LiveHost>,
    /// Applicant private keys by grant ticket, for verifying by a real login (tests,
    /// or an admin's own test key). Without one, verify checks the live state.
    login_keys: BTreeMap<String, PathBuf>,
    today: Date,
    _identity: Option<AdminIdentity>,
}

impl SshBackend {
    pub fn new(
        targets: Vec<SshTarget>,
        logins: BTreeMap<String, Vec<String>>,
        today: Date,
    ) -> Self {
        Self {
            hosts: targets
                .into_iter()
                .map(|t| (t.server.clone(), SshHost::new(t)))
                .collect(),
            logins,
            live: BTreeMap::new(),
            login_keys: BTreeMap::new(),
            today,
            _identity: None,
        }
    }

    /// The backend `[backends.server] type = "ssh"` describes, for the servers of
    /// `config`; `logins` are the accounts `accounts/` holds per server.
    pub fn from_config(
        settings: &SshSettings,
        config: &Config,
        instance_root: &Path,
        logins: BTreeMap<String, Vec<String>>,
        today: Date,
    ) -> Result<Self, BackendError> {
        let identity = admin_identity(settings.identity_file.as_deref(), instance_root)?;
        let targets = config
            .servers
            .iter()
            .map(|s| target_for(s, &identity.path))
            .collect();
        let mut backend = Self::new(targets, logins, today);
        backend._identity = Some(identity);
        Ok(backend)
    }

    /// Verifies changes from `grant` by logging in with this private key.
    pub fn with_login_key(mut self, grant: &str, identity: PathBuf) -> Self {
        self.login_keys.insert(grant.to_string(), identity);
        self
    }

    fn host(&mut self, server: &str) -> Result<&mut SshHost, BackendError> {
        self.hosts.get_mut(server).ok_or_else(|| {
            BackendError::Other(format!(
                "server {server} is not among [[servers]] in loket.toml"
            ))
        })
    }

    fn read_host(&mut self, server: &str) -> Result<&LiveHost, BackendError> {
        if !self.live.contains_key(server) {
            let logins = self.logins.get(server).cloned().unwrap_or_default();
            let refs: Vec<&str> = logins.iter().map(String::as_str).collect();
            let live = self.host(server)?.read(&refs).map_err(other)?;
            self.live.insert(server.to_string(), live);
        }
        Ok(&self.live[server])
    }

    /// `server` as it is now (read again, not this run's earlier read).
    pub(super) fn read_fresh(&mut self, server: &str) -> Result<LiveHost, BackendError> {
        self.live.remove(server);
        Ok(self.read_host(server)?.clone())
    }

    /// Runs `script` as root on `server`; what it changes is read again next time.
    pub(super) fn run_on(&mut self, server: &str, script: &str) -> Result<String, BackendError> {
        self.live.remove(server);
        self.host(server)?.run_script(script).map_err(other)
    }
}

/// Environment variable holding the admin's private key itself (a CI secret).
pub const KEY_ENV: &str = "LOKET_SSH_KEY";

/// The admin's private key file; a key given in `LOKET_SSH_KEY` lives in a private
/// temp dir (0700, file 0600) for as long as this value.
pub struct AdminIdentity {
    pub path: PathBuf,
    _dir: Option<tempfile::TempDir>,
}

/// The admin's private key: the file `LOKET_SSH_IDENTITY` names, else the key in
/// `LOKET_SSH_KEY`, else `identity_file` (relative to the instance).
pub fn admin_identity(
    identity_file: Option<&str>,
    instance_root: &Path,
) -> Result<AdminIdentity, BackendError> {
    if let Some(p) = std::env::var_os(IDENTITY_ENV) {
        return Ok(AdminIdentity {
            path: PathBuf::from(p),
            _dir: None,
        });
    }
    if let Ok(key) = std::env::var(KEY_ENV).map(zeroize::Zeroizing::new)
        && !key.trim().is_empty()
    {
        // Whole and line by line: a reply may quote a line of it.
        crate::apply::redact::register(key.trim());
        for line in key.lines().map(str::trim) {
            if !line.starts_with("-----") {
                crate::apply::redact::register(line);
            }
        }
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let io = |e: std::io::Error| {
            BackendError::Other(format!("writing {KEY_ENV} to a temp file: {e}"))
        };
        let dir = tempfile::Builder::new()
            .prefix("loket-key.")
            .tempdir()
            .map_err(io)?;
        let path = dir.path().join("admin");
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(io)?;
        // OpenSSH wants the key file to end in a newline.
        f.write_all(key.trim_end().as_bytes())
            .and_then(|()| f.write_all(b"\n"))
            .map_err(io)?;
        return Ok(AdminIdentity {
            path,
            _dir: Some(dir),
        });
    }
    identity_file
        .map(|f| AdminIdentity {
            path: instance_root.join(f),
            _dir: None,
        })
        .ok_or_else(|| {
            BackendError::Other(format!(
                "SSH needs the admin's private key: set {IDENTITY_ENV} to its path or \
                 {KEY_ENV} to the key, or identity-file in [backends] (outside the repository)"
            ))
        })
}

/// How to reach one `[[servers]]` entry.
pub fn target_for(s: &Server, identity: &Path) -> SshTarget {
    SshTarget {
        server: s.name.get_ref().clone(),
        address: s.address.clone(),
        port: s.port,
        host_key: s
            .host_key
            .as_ref()
            .map(|k| k.get_ref().clone())
            .unwrap_or_default(),
        admin_user: s.admin_user.clone().unwrap_or_else(|| "root".into()),
        identity: identity.to_path_buf(),
    }
}

pub(super) fn other(e: impl std::fmt::Display) -> BackendError {
    BackendError::Other(e.to_string())
}

/// The op carrying out one planned change.
fn op_for(change: &Change<'_>) -> Result<(String, Op), BackendError> {
    let c = change.planned;
    let first_ticket = || c.tickets.first().cloned().unwrap_or_default();
    match (&c.target, c.action) {
        (Target::ServerAccount { server, login }, Action::Create) => Ok((
            server.clone(),
            Op::CreateAccount {
                login: login.clone(),
                ticket: first_ticket(),
            },
        )),
        (
            Target::Key {
                server,
                login,
                grant,
                key,
                expires,
            },
            action,
        ) => {
            let key = checked_key(key)
                .map_err(|e| BackendError::Other(format!("key of {grant} is not valid: {e}")))?;
            let op = match action {
                Action::Grant => Op::PutKey {
                    login: login.clone(),
                    key,
                    ticket: grant.clone(),
                    last_day: expires.parse().map_err(|_| {
                        BackendError::Other(format!("key of {grant}: bad last day {expires:?}"))
                    })?,
                },
                Action::Revoke | Action::Expire => Op::RemoveKey {
                    login: login.clone(),
                    key,
                    ticket: grant.clone(),
                },
                a => return Err(unsupported(a.as_str())),
            };
            Ok((server.clone(), op))
        }
        (_, a) => Err(unsupported(a.as_str())),
    }
}

fn unsupported(what: &str) -> BackendError {
    BackendError::Other(format!(
        "the ssh backend does not carry out `{what}` on this target"
    ))
}

impl Backend for SshBackend {
    fn name(&self) -> &str {
        "ssh"
    }

    fn adopt(
        &mut self,
        imported: &ImportedKeys,
        dry_run: bool,
    ) -> Result<Vec<String>, BackendError> {
        super::adopt::adopt(self, imported, dry_run)
    }

    fn read(&mut self) -> Result<LiveState, BackendError> {
        self.live.clear();
        // Servers with a pinned key, and those accounts/ puts accounts on (which
        // fail clearly without one); a declared server not yet in use is skipped.
        let servers: Vec<String> = self
            .hosts
            .iter()
            .filter(|(name, h)| {
                !h.target().host_key.trim().is_empty() || self.logins.contains_key(*name)
            })
            .map(|(name, _)| name.clone())
            .collect();
        let mut state = LiveState::default();
        for server in servers {
            let today = self.today;
            for (login, a) in &self.read_host(&server)?.accounts {
                let keys = a
                    .keys
                    .iter()
                    .map(|k| LiveKey {
                        ticket: k.ticket.clone(),
                        key: k.key.clone(),
                        expires: k.last_day,
                    })
                    .collect();
                state.server.insert(
                    (server.clone(), login.clone()),
                    LiveServerAccount {
                        locked: a.is_expired(today),
                        keys,
                    },
                );
            }
        }
        Ok(state)
    }

    fn apply(&mut self, changes: &[Change<'_>]) -> Vec<Result<(), BackendError>> {
        let mut results: Vec<Option<Result<(), BackendError>>> =
            (0..changes.len()).map(|_| None).collect();
        // Per server, in plan order: (index in `changes`, op).
        let mut batches: BTreeMap<String, Vec<(usize, Op)>> = BTreeMap::new();
        for (i, c) in changes.iter().enumerate() {
            match op_for(c) {
                Ok((server, op)) => batches.entry(server).or_default().push((i, op)),
                Err(e) => results[i] = Some(Err(e)),
            }
        }
        for (server, batch) in batches {
            let ops: Vec<Op> = batch.iter().map(|(_, op)| op.clone()).collect();
            let outcome = self
                .read_host(&server)
                .cloned()
                .and_then(|live| self.host(&server)?.apply(&ops, &live).map_err(other));
            self.live.remove(&server);
            match outcome {
                Ok(rs) => {
                    for ((i, _), r) in batch.iter().zip(rs) {
                        results[*i] = Some(r.map_err(|message| BackendError::Command {
                            command: format!("ssh {server}"),
                            message,
                        }));
                    }
                }
                Err(e) => {
                    let msg = e.to_string();
                    for (i, _) in &batch {
                        results[*i] = Some(Err(BackendError::Other(msg.clone())));
                    }
                }
            }
        }
        results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(BackendError::Other("not carried out".into()))))
            .collect()
    }

    fn verify(&mut self, change: &Change<'_>) -> Result<Verified, BackendError> {
        let (server, op) = op_for(change)?;
        self.live.remove(&server);
        let today = self.today;
        let live = self.read_host(&server)?.clone();
        let login = op.login().to_string();
        let account = live.accounts.get(&login);
        let fail = |m: String| Err(BackendError::Verify(format!("{login}@{server}: {m}")));
        match &op {
            Op::CreateAccount { .. } => {
                if account.is_none() {
                    return fail("the account does not exist".into());
                }
                Ok(Verified::State(format!("{login}@{server} exists")))
            }
            Op::PutKey { key, ticket, .. } => {
                let Some(a) = account else {
                    return fail("the account does not exist".into());
                };
                if !a
                    .keys
                    .iter()
                    .any(|k| &k.key == key && k.ticket.as_ref() == Some(ticket))
                {
                    return fail(format!("the key of {ticket} is not installed"));
                }
                if a.is_expired(today) {
                    return fail("the account is expired".into());
                }
                match self.login_keys.get(ticket).cloned() {
                    Some(id) => match self.host(&server)?.try_login(&login, &id).map_err(other)? {
                        LoginOutcome::Accepted => Ok(Verified::AsUser(format!(
                            "ssh login as {login}@{server} with the key of {ticket} succeeded"
                        ))),
                        LoginOutcome::Refused(why) => fail(format!("ssh login refused: {why}")),
                    },
                    None => Ok(Verified::State(format!(
                        "key of {ticket} installed on {login}@{server}, account open"
                    ))),
                }
            }
            Op::RemoveKey { key, ticket, .. } => {
                if let Some(a) = account {
                    if a.keys.iter().any(|k| &k.key == key) {
                        return fail(format!("the key of {ticket} is still installed"));
                    }
                    if !a.keys.iter().any(|k| k.ticket.is_some()) && !a.is_expired(today) {
                        return fail("no key is left but the account is not expired".into());
                    }
                }
                match self.login_keys.get(ticket).cloned() {
                    Some(id) => match self.host(&server)?.try_login(&login, &id).map_err(other)? {
                        LoginOutcome::Refused(_) => Ok(Verified::AsUser(format!(
                            "ssh login as {login}@{server} with the key of {ticket} is refused"
                        ))),
                        LoginOutcome::Accepted => fail("ssh login still works".into()),
                    },
                    None => Ok(Verified::State(format!(
                        "key of {ticket} removed from {login}@{server}"
                    ))),
                }
            }
            Op::SetExpiry { .. } => Ok(Verified::State(format!("{login}@{server} expiry set"))),
        }
    }
}
