//! What loket reads back from its own state (journal entries, the unverified list)
//! is checked as strictly as a request before any of it is used: tickets are
//! [`Ticket`]s of the office's prefix in canonical form, addresses, servers and
//! logins have the shapes `loket check` allows, nothing can name a path outside
//! where it belongs (`../x` is refused, not written to `records/../x.toml`).

use jiff::civil::Date;

use super::plan::{PlannedChange, Target};
use crate::model::Config;
use crate::ticket::Ticket;

/// What read-back values must look like in this instance.
#[derive(Debug, Clone)]
pub struct Expect {
    prefix: String,
}

impl Expect {
    pub fn new(config: &Config) -> Self {
        Self {
            prefix: config.office.ticket_prefix.get_ref().clone(),
        }
    }

    /// For tests and callers that know the prefix.
    pub fn with_prefix(prefix: &str) -> Self {
        Self {
            prefix: prefix.to_string(),
        }
    }

    /// A ticket of this office, written as loket writes it.
    pub fn ticket(&self, t: &str) -> Result<Ticket, String> {
        match Ticket::parse(t, Some(&self.prefix)) {
            Ok(p) if p.to_string() == t => Ok(p),
            Ok(p) => Err(format!("ticket {t:?} is not in canonical form ({p})")),
            Err(e) => Err(format!("{t:?} is not a ticket of this office: {e}")),
        }
    }

    /// A planned change as loket itself would have planned it.
    pub fn change(&self, c: &PlannedChange) -> Result<(), String> {
        name(&c.backend, "backend")?;
        for t in &c.tickets {
            self.ticket(t)?;
        }
        match &c.target {
            Target::Mail { address, .. } => mail_address(address),
            Target::ServerAccount { server, login } => {
                name(server, "server")?;
                login_name(login)
            }
            Target::Key {
                server,
                login,
                grant,
                key,
                expires,
            } => {
                name(server, "server")?;
                login_name(login)?;
                self.ticket(grant)?;
                public_key(key)?;
                if !expires.is_empty() && expires.parse::<Date>().is_err() {
                    return Err(format!("{expires:?} is not a date (YYYY-MM-DD)"));
                }
                Ok(())
            }
        }
    }
}

/// A run id as recorded in events: printable, one line, bounded.
pub fn run_id(run: &str) -> Result<(), String> {
    if run.is_empty() || run.len() > 200 || run.chars().any(char::is_control) {
        return Err(format!("{run:?} is not a run id"));
    }
    Ok(())
}

/// A backend or server name: a plain identifier, never a path.
fn name(s: &str, what: &str) -> Result<(), String> {
    let ok = !s.is_empty()
        && s.len() <= 64
        && !s.starts_with(['.', '-'])
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'));
    if ok {
        Ok(())
    } else {
        Err(format!("{s:?} is not a {what} name"))
    }
}

fn login_name(login: &str) -> Result<(), String> {
    match crate::model::login::problem(login, &[]) {
        None => Ok(()),
        Some(why) => Err(format!("login {login:?}: {why}")),
    }
}

/// `local@domain` of the characters mail addresses in `accounts/` use.
fn mail_address(a: &str) -> Result<(), String> {
    let part = |p: &str| {
        !p.is_empty()
            && !p.starts_with('.')
            && !p.ends_with('.')
            && !p.contains("..")
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b'+'))
    };
    match a.split_once('@') {
        Some((local, domain)) if a.len() <= 254 && part(local) && part(domain) => Ok(()),
        _ => Err(format!("{a:?} is not a mail address")),
    }
}

/// `type base64`, one line.
fn public_key(k: &str) -> Result<(), String> {
    let words: Vec<&str> = k.split(' ').collect();
    let ok = k.len() <= 16 * 1024
        && words.len() == 2
        && words[0]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'@'))
        && words[1]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='));
    if ok {
        Ok(())
    } else {
        Err("the key is not an OpenSSH public key (`type base64`)".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::plan::Action;

    fn mail(ticket: &str, address: &str) -> PlannedChange {
        PlannedChange {
            backend: "dovecot".into(),
            tickets: vec![ticket.into()],
            action: Action::Create,
            target: Target::Mail {
                address: address.into(),
                active: true,
            },
        }
    }

    #[test]
    fn refuses_what_could_name_a_path_and_foreign_tickets() {
        let e = Expect::with_prefix("KDS");
        let t = Ticket::generate("KDS").to_string();
        e.change(&mail(&t, "a.b@kuduskab.go.id")).unwrap();
        for bad in ["../x", "KDS-AAAAA-AAAAA", &t.to_lowercase(), ""] {
            assert!(e.change(&mail(bad, "a@b")).is_err(), "{bad}");
        }
        let other = Ticket::generate("PLK").to_string();
        assert!(e.ticket(&other).unwrap_err().contains("prefix"));
        assert!(e.change(&mail(&t, "../../etc/passwd")).is_err());
        assert!(e.change(&mail(&t, "a@b/../c")).is_err());
        let key = |server: &str, login: &str| PlannedChange {
            backend: "keydir".into(),
            tickets: vec![t.clone()],
            action: Action::Grant,
            target: Target::Key {
                server: server.into(),
                login: login.into(),
                grant: t.clone(),
                key: "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFoo".into(),
                expires: "2027-08-16".into(),
            },
        };
        e.change(&key("app-1", "opd-dinkes")).unwrap();
        assert!(e.change(&key("..", "opd-dinkes")).is_err());
        assert!(e.change(&key("app-1", "../root")).is_err());
        assert!(run_id("r\n1").is_err() && run_id("").is_err());
        run_id("local-20261125T100000Z").unwrap();
    }
}
