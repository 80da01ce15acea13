//! The shell scripts the SSH backend sends (POSIX `sh`, run as root on the host) and
//! the parsing of what they print. Every value is single-quoted and every key was
//! parsed as an OpenSSH key first, so registry data cannot inject commands.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use jiff::civil::Date;

use super::session::{SshError, sh_quote};
use super::{EPOCH, LiveAccount, LiveHost, LiveKey, account_expiry, epoch_day, key_line};

/// One change to one account on a host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// `useradd` the account (key-only: no password, not locked), marked `loket <ticket>`.
    CreateAccount { login: String, ticket: String },
    /// Install (or update the expiry of) a key: `type base64` from `ticket`.
    PutKey {
        login: String,
        key: String,
        ticket: String,
        last_day: Date,
    },
    /// Remove a key (revoke or expiry sweep).
    RemoveKey {
        login: String,
        key: String,
        ticket: String,
    },
    /// Set the account's first day without access (repairing a hand-made change).
    SetExpiry { login: String, on: Date },
}

impl Op {
    pub fn login(&self) -> &str {
        match self {
            Op::CreateAccount { login, .. }
            | Op::PutKey { login, .. }
            | Op::RemoveKey { login, .. }
            | Op::SetExpiry { login, .. } => login,
        }
    }
}

/// The outcome of one op: `Err` holds the host's message (never a secret: the SSH
/// backend handles public keys only).
pub type OpResult = Result<(), String>;

/// Helpers every apply script starts with.
pub(super) const PRELUDE: &str = r#"umask 077
lk_has() { getent passwd "$1" >/dev/null || { echo "no account $1 on this server" >&2; return 1; }; }
lk_prep() {
  h=$(getent passwd "$1" | cut -d: -f6)
  [ -n "$h" ] || { echo "no account $1 on this server" >&2; return 1; }
  g=$(id -g "$1")
  [ -d "$h/.ssh" ] || install -d -m 700 -o "$1" -g "$g" "$h/.ssh"
  ak="$h/.ssh/authorized_keys"
  rm -f "$h/.ssh/.loket."*   # left by a run cut off before its rename
}
# lk_put LOGIN 'type base64' LINE: replace the key's line (or add it), atomically.
lk_put() {
  lk_prep "$1"
  t=$(mktemp "$h/.ssh/.loket.XXXXXX")
  if [ -f "$ak" ]; then grep -vF -- "$2" "$ak" >"$t" || [ $? -eq 1 ]; fi
  printf '%s\n' "$3" >>"$t"
  chown -h "$1:$g" "$t"; chmod 600 "$t"; mv -f "$t" "$ak"
}
# lk_del LOGIN 'type base64': drop the key's line, atomically.
lk_del() {
  lk_prep "$1"
  [ -f "$ak" ] || return 0
  t=$(mktemp "$h/.ssh/.loket.XXXXXX")
  grep -vF -- "$2" "$ak" >"$t" || [ $? -eq 1 ]
  chown -h "$1:$g" "$t"; chmod 600 "$t"; mv -f "$t" "$ak"
}
"#;

/// Login names useradd takes, the shell never needs to think about, and no system
/// account: checked again here, whatever `loket check` said, before any command.
fn valid_login(login: &str) -> bool {
    crate::model::login::problem(login, &[]).is_none()
}

fn chage(login: &str, on: Date) -> String {
    let arg = if on <= EPOCH {
        "0".to_string()
    } else {
        on.strftime("%Y-%m-%d").to_string()
    };
    format!("chage -E {arg} {}", sh_quote(login))
}

/// The script carrying out `ops` in order. Each op runs in its own subshell with
/// `set -e` and prints `R <n> <exit code> <message>`; after its key change it sets
/// the account expiry the remaining keys imply (tracked from `live`).
pub fn apply_script(ops: &[Op], live: &LiveHost) -> String {
    // Loket keys per login as they will be after each op.
    let mut keys: BTreeMap<String, BTreeMap<String, Date>> = live
        .accounts
        .iter()
        .map(|(login, a)| {
            let ks = a
                .keys
                .iter()
                .filter(|k| k.ticket.is_some())
                .filter_map(|k| Some((k.key.clone(), k.last_day?)))
                .collect();
            (login.clone(), ks)
        })
        .collect();
    let mut s = String::from(PRELUDE);
    for (n, op) in ops.iter().enumerate() {
        let login = op.login();
        let q = sh_quote(login);
        let body = if !valid_login(login) {
            format!(
                "echo {} >&2; exit 2",
                sh_quote(&format!(
                    "invalid login name {login:?}: {}",
                    crate::model::login::problem(login, &[]).unwrap_or_default()
                ))
            )
        } else {
            let held = keys.entry(login.to_string()).or_default();
            match op {
                Op::CreateAccount { ticket, .. } => {
                    let gecos = sh_quote(&format!("loket {ticket}"));
                    let expiry = chage(login, account_expiry(held.values().copied()));
                    format!(
                        "getent passwd {q} >/dev/null || useradd -m -s /bin/bash -c {gecos} -p '*' {q}\n{expiry}"
                    )
                }
                Op::PutKey {
                    key,
                    ticket,
                    last_day,
                    ..
                } => {
                    held.insert(key.clone(), *last_day);
                    let line = key_line(key, ticket, *last_day);
                    let expiry = chage(login, account_expiry(held.values().copied()));
                    // Expiry first: a run killed in between leaves the key not
                    // installed, so the next plan grants it again and converges.
                    format!(
                        "lk_has {q}\n{expiry}\nlk_put {q} {} {}",
                        sh_quote(key),
                        sh_quote(&line)
                    )
                }
                Op::RemoveKey { key, .. } => {
                    held.remove(key);
                    let expiry = chage(login, account_expiry(held.values().copied()));
                    // Expiry first: killed in between, the key is still there and
                    // the next plan revokes it again.
                    format!("lk_has {q}\n{expiry}\nlk_del {q} {}", sh_quote(key))
                }
                Op::SetExpiry { on, .. } => chage(login, *on),
            }
        };
        let _ = write!(
            s,
            "out=$( (set -e\n{body}\n) 2>&1 ); rc=$?\nprintf 'R\\t{n}\\t%s\\t' \"$rc\"; printf '%s' \"$out\" | tr '\\n\\t' '  '; echo\n"
        );
    }
    s
}

/// Reads the result lines of [`apply_script`]: one per op; a missing one (the
/// script or connection died) is a failure of that op.
pub fn parse_results(server: &str, out: &str, n: usize) -> Result<Vec<OpResult>, SshError> {
    let mut results: Vec<Option<OpResult>> = vec![None; n];
    for line in out.lines().filter(|l| l.starts_with("R\t")) {
        let mut f = line.splitn(4, '\t').skip(1);
        let (Some(i), Some(rc), msg) = (f.next(), f.next(), f.next().unwrap_or("")) else {
            return Err(bad(server, line));
        };
        let i: usize = i.parse().map_err(|_| bad(server, line))?;
        let slot = results.get_mut(i).ok_or_else(|| bad(server, line))?;
        *slot = Some(if rc == "0" {
            Ok(())
        } else {
            Err(format!("exit {rc}: {}", msg.trim()))
        });
    }
    Ok(results
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err("no result: the remote script stopped early".into())))
        .collect())
}

fn bad(server: &str, line: &str) -> SshError {
    SshError::Output {
        server: server.into(),
        line: line.into(),
    }
}

/// The script listing loket-managed accounts (GECOS `loket…`) and `logins`: a `U`
/// line per account (login, shadow expire day, GECOS), a `K` line per key line.
pub fn read_script(logins: &[&str]) -> String {
    let mut s = String::from(
        r#"lk_show() {
  e=$(getent passwd "$1") || return 0
  h=$(printf '%s' "$e" | cut -d: -f6)
  c=$(printf '%s' "$e" | cut -d: -f5)
  x=$(getent shadow "$1" | cut -d: -f8)
  printf 'U\t%s\t%s\t%s\n' "$1" "$x" "$c"
  if [ -f "$h/.ssh/authorized_keys" ]; then
    while IFS= read -r l || [ -n "$l" ]; do printf 'K\t%s\t%s\n' "$1" "$l"; done <"$h/.ssh/authorized_keys"
  fi
}
getent passwd | awk -F: '$5 ~ /^loket/ {print $1}' | while read -r u; do lk_show "$u"; done
"#,
    );
    for l in logins.iter().filter(|l| valid_login(l)) {
        let _ = writeln!(s, "lk_show {}", sh_quote(l));
    }
    s.push_str("echo END\n");
    s
}

/// Parses [`read_script`]'s output.
pub fn parse_read(server: &str, out: &str) -> Result<LiveHost, SshError> {
    let mut host = LiveHost::default();
    let mut current: Option<String> = None;
    let mut ended = false;
    for line in out.lines() {
        if line == "END" {
            ended = true;
            continue;
        }
        let mut f = line.splitn(4, '\t');
        match (f.next(), f.next()) {
            (Some("U"), Some(login)) => {
                let expire = f.next().unwrap_or("").trim();
                let gecos = f.next().unwrap_or("").to_string();
                if host.accounts.contains_key(login) {
                    current = None; // listed twice (marked and asked for)
                    continue;
                }
                let expires_on = if expire.is_empty() || expire == "-1" {
                    None
                } else {
                    let days: i64 = expire.parse().map_err(|_| bad(server, line))?;
                    Some(epoch_day(days).ok_or_else(|| bad(server, line))?)
                };
                host.accounts.insert(
                    login.to_string(),
                    LiveAccount {
                        expires_on,
                        gecos,
                        keys: Vec::new(),
                    },
                );
                current = Some(login.to_string());
            }
            (Some("K"), Some(login)) => {
                let text = line.splitn(3, '\t').nth(2).unwrap_or("");
                if current.as_deref() != Some(login) {
                    continue;
                }
                let t = text.trim();
                if t.is_empty() || t.starts_with('#') {
                    continue;
                }
                if let Some(a) = host.accounts.get_mut(login) {
                    a.keys.push(LiveKey {
                        raw: text.to_string(),
                        ..LiveKey::parse(t)
                    });
                }
            }
            _ => return Err(bad(server, line)),
        }
    }
    if !ended {
        return Err(bad(server, "(output ended before END: truncated)"));
    }
    Ok(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINlRHbndlDyb8Z1Kb0Y/Jy5GjuyXBzlBpJpgYqcaZl+a";

    #[test]
    fn read_output_round_trips() {
        let out = format!(
            "U\tlktx\t20000\tloket KDS-PH7H3-MSBP2\nK\tlktx\texpiry-time=\"20270815\" {KEY} KDS-PH7H3-MSBP2\nU\tlktx\t\tloket\nK\tlktx\t{KEY} dup\nU\tother\t\t\nEND\n"
        );
        let h = parse_read("s", &out).unwrap();
        assert_eq!(h.accounts.len(), 2);
        let a = &h.accounts["lktx"];
        assert_eq!(a.keys.len(), 1, "the duplicate listing is ignored");
        assert_eq!(a.expires_on, Some(Date::constant(2024, 10, 4)));
        assert_eq!(h.accounts["other"].expires_on, None);
        assert!(
            parse_read("s", "U\tx\t\t\n").is_err(),
            "truncated output is refused"
        );
        assert!(parse_read("s", "garbage\nEND\n").is_err());
        assert!(
            parse_read("s", "U\tx\t99999999\t\nEND\n").is_err(),
            "no panic"
        );
    }

    #[test]
    fn a_system_or_malformed_login_never_reaches_a_command() {
        for bad in ["root", "opd;reboot", "OPD Dinkes"] {
            let ops = [Op::CreateAccount {
                login: bad.into(),
                ticket: "KDS-PH7H3-MSBP2".into(),
            }];
            let s = apply_script(&ops, &LiveHost::default());
            assert!(!s.contains("useradd"), "{bad}: {s}");
            assert!(s.contains("invalid login name"), "{bad}");
            assert!(!read_script(&[bad]).contains("lk_show '"), "{bad}");
        }
    }

    #[test]
    fn results_missing_are_failures() {
        let r = parse_results("s", "R\t0\t0\t\nR\t1\t1\tuseradd: bad\n", 3).unwrap();
        assert_eq!(r[0], Ok(()));
        assert_eq!(r[1], Err("exit 1: useradd: bad".into()));
        assert!(r[2].is_err());
        assert!(parse_results("s", "R\t9\t0\t\n", 1).is_err());
    }

    #[test]
    fn revoking_the_last_key_expires_the_account() {
        let mut live = LiveHost::default();
        live.accounts.insert(
            "lktx".into(),
            LiveAccount {
                expires_on: None,
                gecos: "loket".into(),
                keys: vec![LiveKey {
                    key: KEY.into(),
                    ticket: Some("KDS-PH7H3-MSBP2".into()),
                    last_day: Some(Date::constant(2027, 8, 14)),
                    raw: String::new(),
                }],
            },
        );
        let ops = [Op::RemoveKey {
            login: "lktx".into(),
            key: KEY.into(),
            ticket: "KDS-PH7H3-MSBP2".into(),
        }];
        let s = apply_script(&ops, &live);
        let (expire, remove) = (s.find("chage -E 0 'lktx'"), s.find("lk_del 'lktx'"));
        assert!(
            expire.is_some() && expire < remove,
            "expiry before the key change: {s}"
        );
        let bad = [Op::SetExpiry {
            login: "x; reboot".into(),
            on: EPOCH,
        }];
        let s = apply_script(&bad, &live);
        assert!(!s.contains("chage -E 0 'x; reboot'"), "{s}");
    }
}
