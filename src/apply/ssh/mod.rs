//! Linux server accounts over SSH: the OPD account (`useradd`), the applicant's key in
//! `~login/.ssh/authorized_keys`, and the account expiry (`chage -E`).
//!
//! Every key line loket writes carries `expiry-time="…"` (sshd refuses the key after
//! its last day even before the expiry sweep runs) and the granting ticket as its
//! comment. The account's own expiry follows its keys: the day after the latest
//! active key's last day, or `chage -E 0` once no key is left — with `UsePAM yes`,
//! `usermod -L` would not stop key logins, an expired account does.
//!
//! All changes for one host go as one script over one SSH session ([`session`]);
//! each change is a block that reports its own result, so one failing change is
//! reported against its ticket and the rest still apply.

mod adopt;
pub mod backend;
pub mod script;
pub mod session;

use std::collections::BTreeMap;

use jiff::ToSpan;
use jiff::civil::Date;

pub use backend::SshBackend;
pub use script::{Op, OpResult};
pub use session::{LoginOutcome, SshError, SshSession, SshTarget, sh_quote};

use crate::model::account::{KeyStatus, ServerAccount};
use crate::model::time::to_date;

/// Accounts on one host that loket manages (GECOS starting `loket`) or was asked about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveHost {
    pub accounts: BTreeMap<String, LiveAccount>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LiveAccount {
    /// The first day the account no longer works (`chage -E`); `None`: never expires.
    pub expires_on: Option<Date>,
    /// The GECOS field (loket writes `loket <ticket>`).
    pub gecos: String,
    pub keys: Vec<LiveKey>,
}

impl LiveAccount {
    /// Whether the account refuses every login on `today`.
    pub fn is_expired(&self, today: Date) -> bool {
        self.expires_on.is_some_and(|d| d <= today)
    }
}

/// One `authorized_keys` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveKey {
    /// `type base64`; the raw line when it does not parse.
    pub key: String,
    /// The comment when it is a ticket loket wrote, else `None` (a key loket did not install).
    pub ticket: Option<String>,
    /// Last day of access from `expiry-time`, if the line has one.
    pub last_day: Option<Date>,
    /// The line as the file holds it (`loket adopt-files` replaces exactly it).
    pub raw: String,
}

impl LiveKey {
    pub fn parse(line: &str) -> Self {
        let Ok(entry) = line.parse::<ssh_key::authorized_keys::Entry>() else {
            return Self {
                key: line.trim().to_string(),
                ticket: None,
                last_day: None,
                raw: line.to_string(),
            };
        };
        let pk = entry.public_key();
        // `loket:<ticket>` (also the key directory's mark), or a bare ticket.
        let comment = pk.comment().trim();
        let ticket = Some(comment.strip_prefix(KEY_MARK).unwrap_or(comment))
            .filter(|c| crate::ticket::Ticket::parse(c, None).is_ok())
            .map(str::to_string);
        let last_day = entry.config_opts().iter().find_map(|o| {
            let v = o.strip_prefix("expiry-time=")?.trim_matches('"');
            let d = Date::strptime("%Y%m%d", v.get(..8)?).ok()?;
            d.yesterday().ok()
        });
        Self {
            key: key_id(&pk.to_openssh().unwrap_or_default()),
            ticket,
            last_day,
            raw: line.to_string(),
        }
    }
}

/// Comment prefix of the key lines loket writes: `loket:<grant ticket>`.
pub const KEY_MARK: &str = "loket:";

/// The authorized_keys line for a key granted by `ticket` until `last_day`: sshd
/// stops accepting it when the next day begins (server local time).
pub fn key_line(key: &str, ticket: &str, last_day: Date) -> String {
    let stop = last_day.checked_add(1.day()).unwrap_or(last_day);
    format!(
        "expiry-time=\"{}\" {key} {KEY_MARK}{ticket}",
        stop.strftime("%Y%m%d")
    )
}

/// `type base64` of an OpenSSH public key line (options and comment dropped).
pub fn key_id(openssh: &str) -> String {
    let mut f = openssh.split_whitespace();
    match (f.next(), f.next()) {
        (Some(t), Some(b)) => format!("{t} {b}"),
        _ => openssh.trim().to_string(),
    }
}

/// Parses a registry key (`type base64 [comment]`) into its `type base64`, refusing
/// anything that is not a valid OpenSSH public key (it is written into a shell script).
pub fn checked_key(key: &str) -> Result<String, String> {
    let pk = ssh_key::PublicKey::from_openssh(key.trim()).map_err(|e| e.to_string())?;
    Ok(key_id(&pk.to_openssh().map_err(|e| e.to_string())?))
}

/// The changes that bring one account on a host to what `accounts/` wants, as of
/// `today`. Active keys past their last day are removed (the expiry sweep).
pub fn diff(want: &ServerAccount, live: Option<&LiveAccount>, today: Date) -> Vec<Op> {
    let login = want.login.get_ref().clone();
    let mut ops = Vec::new();
    let mut any_active = false;
    for k in &want.keys {
        let Ok(key) = checked_key(k.key.get_ref()) else {
            continue; // `loket check` reports invalid keys; never write one
        };
        let ticket = k.ticket.get_ref().clone();
        let last_day = to_date(k.expires.get_ref());
        let active =
            *k.status.get_ref() == KeyStatus::Active && last_day.is_some_and(|d| d >= today);
        let present = live.and_then(|l| l.keys.iter().find(|lk| lk.key == key));
        if active {
            any_active = true;
            let last_day = last_day.expect("active keys have a date");
            let current = present.is_some_and(|p| {
                p.last_day == Some(last_day) && p.ticket.as_deref() == Some(&ticket)
            });
            if !current {
                ops.push(Op::PutKey {
                    login: login.clone(),
                    key,
                    ticket,
                    last_day,
                });
            }
        } else if present.is_some() {
            ops.push(Op::RemoveKey {
                login: login.clone(),
                key,
                ticket,
            });
        }
    }
    if live.is_none() && any_active {
        let ticket = want
            .tickets
            .first()
            .map(|t| t.get_ref().clone())
            .unwrap_or_default();
        ops.insert(0, Op::CreateAccount { login, ticket });
    } else if let Some(l) = live
        && ops.is_empty()
    {
        // Keys are right; the account's own expiry may still be off (changed by hand).
        let keys: Vec<_> = l.keys.iter().filter(|k| k.ticket.is_some()).collect();
        let wanted = account_expiry(keys.iter().filter_map(|k| k.last_day));
        if l.expires_on != Some(wanted) && !(l.is_expired(today) && wanted <= today) {
            ops.push(Op::SetExpiry { login, on: wanted });
        }
    }
    ops
}

/// The first day without access for an account whose loket keys end on `last_days`:
/// the day after the latest, or 1970-01-01 (`chage -E 0`) when there is none.
pub fn account_expiry(last_days: impl Iterator<Item = Date>) -> Date {
    last_days
        .max()
        .and_then(|d| d.checked_add(1.day()).ok())
        .unwrap_or(EPOCH)
}

pub const EPOCH: Date = Date::constant(1970, 1, 1);

/// The date `days` after 1970-01-01 (a shadow/`shadowExpire` day number), if in range.
pub fn epoch_day(days: i64) -> Option<Date> {
    let span = jiff::Span::new().try_days(days).ok()?;
    EPOCH.checked_add(span).ok()
}

/// One host's backend for a run: the session is opened on first use.
pub struct SshHost {
    target: SshTarget,
    session: Option<SshSession>,
}

impl SshHost {
    pub fn new(target: SshTarget) -> Self {
        Self {
            target,
            session: None,
        }
    }

    pub fn target(&self) -> &SshTarget {
        &self.target
    }

    /// The process id of this host's SSH control master, if one is open.
    pub fn master_pid(&self) -> Option<u32> {
        self.session.as_ref().and_then(SshSession::master_pid)
    }

    fn session(&mut self) -> Result<&SshSession, SshError> {
        if self.session.as_ref().is_some_and(|s| !s.is_alive()) {
            self.session = None;
        }
        if self.session.is_none() {
            self.session = Some(SshSession::open(&self.target)?);
        }
        Ok(self.session.as_ref().expect("just opened"))
    }

    /// Reads the loket-managed accounts plus `logins` (those `accounts/` knows).
    pub fn read(&mut self, logins: &[&str]) -> Result<LiveHost, SshError> {
        let server = self.target.server.clone();
        let out = self.session()?.run_script(&script::read_script(logins))?;
        script::parse_read(&server, &out)
    }

    /// Carries out `ops` in one script; one result per op. `live` is the state read
    /// earlier in this run: each op also sets the account expiry its keys imply.
    pub fn apply(&mut self, ops: &[Op], live: &LiveHost) -> Result<Vec<OpResult>, SshError> {
        if ops.is_empty() {
            return Ok(Vec::new());
        }
        let text = script::apply_script(ops, live);
        let server = self.target.server.clone();
        let out = self.session()?.run_script(&text)?;
        script::parse_results(&server, &out, ops.len())
    }

    /// Runs a script as root on the host over this run's session (the command
    /// backend uses this); returns its stdout.
    pub fn run_script(&mut self, script: &str) -> Result<String, SshError> {
        self.session()?.run_script(script)
    }

    /// Logs in as `login` with the applicant's private key, as the applicant would.
    pub fn try_login(
        &mut self,
        login: &str,
        identity: &std::path::Path,
    ) -> Result<LoginOutcome, SshError> {
        self.session()?.try_login(login, identity)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINlRHbndlDyb8Z1Kb0Y/Jy5GjuyXBzlBpJpgYqcaZl+a";

    #[test]
    fn parses_a_loket_line() {
        let k = LiveKey::parse(&format!("expiry-time=\"20270815\" {KEY} KDS-PH7H3-MSBP2"));
        assert_eq!(k.key, KEY);
        assert_eq!(k.last_day, Some(Date::constant(2027, 8, 14)));
        assert_eq!(k.ticket.as_deref(), Some("KDS-PH7H3-MSBP2"));
        let marked = LiveKey::parse(&key_line(
            KEY,
            "KDS-PH7H3-MSBP2",
            Date::constant(2027, 8, 14),
        ));
        assert_eq!(
            LiveKey {
                raw: k.raw.clone(),
                ..marked
            },
            k,
            "loket:<ticket> and a bare ticket read the same"
        );
        // Only a valid ticket counts as loket's mark.
        let foreign = LiveKey::parse(&format!("{KEY} budi@laptop"));
        assert_eq!(foreign.ticket, None);
        assert_eq!(foreign.last_day, None);
        let junk = LiveKey::parse("not a key");
        assert_eq!(junk.key, "not a key");
    }

    #[test]
    fn day_numbers_out_of_range_are_refused_not_panicked_on() {
        assert_eq!(epoch_day(20000), Some(Date::constant(2024, 10, 4)));
        assert_eq!(epoch_day(99_999_999), None);
        assert_eq!(epoch_day(i64::MIN), None);
    }

    #[test]
    fn account_expiry_follows_keys() {
        let d = |m, d| Date::constant(2027, m, d);
        assert_eq!(account_expiry([d(1, 1), d(3, 31)].into_iter()), d(4, 1));
        assert_eq!(account_expiry(std::iter::empty()), EPOCH);
    }

    #[test]
    fn registry_keys_are_checked_before_use() {
        assert!(checked_key("ssh-ed25519 AAAA'; reboot").is_err());
        assert_eq!(checked_key(&format!("{KEY} a@b")).unwrap(), KEY);
    }
}
