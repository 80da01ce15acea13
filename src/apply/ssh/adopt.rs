//! `loket adopt-files` for the SSH backend: on each server, the `authorized_keys`
//! lines of imported keys ([`crate::apply::adopt`]) rewritten as loket writes a grant
//! (`expiry-time="…" type base64 loket:<ticket>`, [`key_line`]). loket edits
//! `authorized_keys` line by line and knows its lines by their comment, so the file
//! has no marker to add. One remote step per login replaces exactly the lines it
//! read (whole lines compared), in one atomic rename, and writes nothing when any of
//! them is no longer there; then the account is read back. Every other line is left
//! as it is and reported. What the server returns passes the run's redaction.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::backend::{SshBackend, other};
use super::script::{PRELUDE, parse_results};
use super::{LiveAccount, LiveHost, checked_key, key_line, sh_quote};
use crate::apply::adopt::{Fate, ImportedKey, ImportedKeys, fate, short};
use crate::apply::backend::BackendError;
use crate::apply::redact::redact_owned;

/// `lk_adopt LOGIN N`: each line equal to `$LK_O<i>` becomes `$LK_N<i>` (i = 1..N),
/// every other line unchanged; nothing written when one of them is missing.
const LK_ADOPT: &str = r#"lk_adopt() {
  lk_prep "$1"
  [ -f "$ak" ] || { echo "$ak is gone" >&2; return 1; }
  t=$(mktemp "$h/.ssh/.loket.XXXXXX")
  if ! awk -v n="$2" 'BEGIN { for (i = 1; i <= n; i++) o[ENVIRON["LK_O" i]] = ENVIRON["LK_N" i] }
    ($0 in o) { print o[$0]; seen[$0] = 1; next } { print }
    END { for (k in o) if (!(k in seen)) exit 3 }' "$ak" >"$t"; then
    rm -f "$t"; echo "$ak changed since it was read: not rewritten" >&2; return 1
  fi
  chown -h "$1:$g" "$t"; chmod 600 "$t"; mv -f "$t" "$ak"
}
"#;

/// One login's lines to replace: (line as read, loket's line).
struct Rewrite {
    login: String,
    lines: Vec<(String, String)>,
    tickets: Vec<String>,
}

pub(super) fn adopt(
    b: &mut SshBackend,
    imported: &ImportedKeys,
    dry_run: bool,
) -> Result<Vec<String>, BackendError> {
    let mut by_server: BTreeMap<&str, Vec<(&str, &[ImportedKey])>> = BTreeMap::new();
    for (server, login, keys) in imported.accounts() {
        by_server.entry(server).or_default().push((login, keys));
    }
    let (mut said, mut failed) = (Vec::new(), Vec::new());
    for (server, accounts) in by_server {
        let live = b.read_fresh(server)?;
        let work = rewrites(server, &accounts, &live, dry_run, &mut said);
        if dry_run || work.is_empty() {
            continue;
        }
        let out = b.run_on(server, &script(&work))?;
        let results = parse_results(server, &out, work.len()).map_err(other)?;
        let after = b.read_fresh(server)?;
        for (w, r) in work.iter().zip(results) {
            let at = format!("{}@{server}", w.login);
            match r.and_then(|()| read_back(after.accounts.get(&w.login), w)) {
                Ok(()) => said.push(format!(
                    "{at}: took over {} authorized_keys line(s) imported under {}, as \
                     loket writes them (read back)",
                    w.lines.len(),
                    w.tickets.join(", ")
                )),
                Err(why) => failed.push(redact_owned(format!("{at}: not taken over: {why}"))),
            }
        }
    }
    if failed.is_empty() {
        Ok(said)
    } else {
        said.extend(failed);
        Err(BackendError::Other(said.join("\n")))
    }
}

/// The lines to rewrite per login on `server`; every line left is reported.
fn rewrites(
    server: &str,
    accounts: &[(&str, &[ImportedKey])],
    live: &LiveHost,
    dry_run: bool,
    said: &mut Vec<String>,
) -> Vec<Rewrite> {
    let mut work = Vec::new();
    for &(login, keys) in accounts {
        let at = format!("{login}@{server}");
        if let Some(why) = crate::model::login::problem(login, &[]) {
            said.push(format!("{at}: not a login loket manages ({why}): left"));
            continue;
        }
        let Some(acc) = live.accounts.get(login) else {
            said.push(format!(
                "{at}: no such account on the server, so no key to take over"
            ));
            continue;
        };
        let mut w = Rewrite {
            login: login.to_string(),
            lines: Vec::new(),
            tickets: Vec::new(),
        };
        for k in &acc.keys {
            match fate(keys, &k.key, k.ticket.as_deref(), &options(&k.raw)) {
                Fate::TakeOver(ik) => match checked_key(&ik.key) {
                    Ok(key) => {
                        let new = key_line(&key, &ik.ticket, ik.last_day);
                        if !w.lines.iter().any(|(old, _)| old == &k.raw) {
                            w.lines.push((k.raw.clone(), new));
                        }
                        if !w.tickets.contains(&ik.ticket) {
                            w.tickets.push(ik.ticket.clone());
                        }
                    }
                    Err(e) => said.push(format!("{at}: imported key not valid ({e}): left")),
                },
                Fate::Loket => {}
                Fate::Left(why) => said.push(redact_owned(format!(
                    "{at}: line left as it is ({}): {why}",
                    short(&k.key)
                ))),
            }
        }
        if w.lines.is_empty() {
            said.push(format!(
                "{at}: no authorized_keys line to take over (loket's already, or none \
                 matches an imported key)"
            ));
        } else if dry_run {
            said.push(format!(
                "{at}: would take over {} authorized_keys line(s) imported under {}, as \
                 loket writes them",
                w.lines.len(),
                w.tickets.join(", ")
            ));
        }
        if !w.lines.is_empty() {
            work.push(w);
        }
    }
    work
}

/// The sshd options of `line` other than `expiry-time` (which loket writes itself).
fn options(line: &str) -> Vec<String> {
    line.parse::<ssh_key::authorized_keys::Entry>()
        .map(|e| {
            e.config_opts()
                .iter()
                .filter(|o| !o.starts_with("expiry-time="))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

/// The script rewriting every login of `work`: a result line per login, as
/// [`parse_results`] reads.
fn script(work: &[Rewrite]) -> String {
    let mut s = format!("{PRELUDE}{LK_ADOPT}");
    for (n, w) in work.iter().enumerate() {
        let mut vars = String::new();
        for (i, (old, new)) in w.lines.iter().enumerate() {
            let i = i + 1;
            let _ = write!(vars, " LK_O{i}={} LK_N{i}={}", sh_quote(old), sh_quote(new));
        }
        let q = sh_quote(&w.login);
        let _ = write!(
            s,
            "out=$( (set -e\nlk_has {q}\nexport{vars}\nlk_adopt {q} {}\n) 2>&1 ); rc=$?\n\
             printf 'R\\t{n}\\t%s\\t' \"$rc\"; printf '%s' \"$out\" | tr '\\n\\t' '  '; echo\n",
            w.lines.len()
        );
    }
    s
}

/// Whether every line written is now on the account, as loket's.
fn read_back(acc: Option<&LiveAccount>, w: &Rewrite) -> Result<(), String> {
    let acc = acc.ok_or("the account is gone")?;
    for (_, new) in &w.lines {
        if !acc.keys.iter().any(|k| &k.raw == new && k.ticket.is_some()) {
            return Err("a rewritten line is not in authorized_keys as written".into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::ssh::LiveKey;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINlRHbndlDyb8Z1Kb0Y/Jy5GjuyXBzlBpJpgYqcaZl+a";

    #[test]
    fn lines_with_other_options_or_keys_are_left_and_reported() {
        let t = crate::ticket::Ticket::generate("KDS").to_string();
        let keys = [ImportedKey {
            ticket: t.clone(),
            key: KEY.into(),
            last_day: jiff::civil::date(2027, 8, 14),
            closed: None,
        }];
        let mut live = LiveHost::default();
        let lines = [
            format!("{KEY} budi@laptop"),
            format!("from=\"10.0.0.1\" {KEY} budi@laptop"),
            "ssh-rsa AAAAB3Nz someone".to_string(),
        ];
        live.accounts.insert(
            "opd-x".into(),
            LiveAccount {
                keys: lines.iter().map(|l| LiveKey::parse(l)).collect(),
                ..LiveAccount::default()
            },
        );
        let mut said = Vec::new();
        let work = rewrites("app-1", &[("opd-x", &keys)], &live, true, &mut said);
        assert_eq!(work.len(), 1);
        assert_eq!(
            work[0].lines,
            [(
                lines[0].clone(),
                format!("expiry-time=\"20270815\" {KEY} loket:{t}")
            )]
        );
        let all = said.join("\n");
        assert!(all.contains("from=\"10.0.0.1\""), "{all}");
        assert!(all.contains("matches no key imported"), "{all}");
        assert!(all.contains("would take over 1"), "{all}");
        assert!(
            !all.contains("budi@laptop"),
            "no comment in messages: {all}"
        );
        // A line read from the server passes the run's redaction.
        let secret = format!("s3cret-{}", crate::ticket::Ticket::generate("KDS"));
        crate::apply::redact::register(&secret);
        let mut host = live.clone();
        if let Some(a) = host.accounts.get_mut("opd-x") {
            a.keys
                .push(LiveKey::parse(&format!("{secret} pasted by mistake")));
        }
        let mut said = Vec::new();
        rewrites("app-1", &[("opd-x", &keys)], &host, true, &mut said);
        assert!(!said.join("\n").contains(&secret), "{said:?}");
        let s = script(&work);
        assert!(
            s.contains("lk_adopt 'opd-x' 1") && s.contains("LK_O1='"),
            "{s}"
        );
    }
}
