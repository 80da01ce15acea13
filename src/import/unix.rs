//! A server's `/etc/passwd` and the `authorized_keys` files of its accounts, for OPD
//! server accounts. Only normal users are taken: uid within a range (Debian's
//! `UID_MIN`..`UID_MAX`, 1000..=60000, by default), never `nobody` (65534). Each
//! login's keys come from the `authorized_keys` file given for it; options before
//! the key type (`from="…"`, `command="…"`) are dropped, comments kept. The password
//! field of `/etc/passwd` (an `x`) is never read.

use std::collections::BTreeMap;
use std::ops::RangeInclusive;
use std::path::PathBuf;

use super::{Found, FoundAccount, FoundKey, ImportError, Origin, SourceRead, read_source};
use crate::model::config::{Config, ServerAccountKind};

/// Debian's range of normal users.
pub const DEFAULT_UIDS: RangeInclusive<u32> = 1000..=60000;

/// What to read.
pub struct UnixSource {
    pub server: String,
    pub passwd: PathBuf,
    /// Login to its `authorized_keys` file.
    pub keys: BTreeMap<String, PathBuf>,
    pub uids: RangeInclusive<u32>,
}

/// Reads `/etc/passwd` and the keys files, for `server` (in the inventory, taking
/// OPD accounts).
pub fn read(config: &Config, src: &UnixSource) -> Result<SourceRead, ImportError> {
    let takes_opd = config.server(&src.server).is_some_and(|s| {
        s.account_kinds
            .iter()
            .any(|k| *k.get_ref() == ServerAccountKind::Opd)
    });
    if !takes_opd {
        return Err(ImportError::Instance(format!(
            "server `{}` is not in loket.toml's [[servers]] with account-kinds holding \"opd\"",
            src.server
        )));
    }
    let label = src.passwd.display().to_string();
    let users = parse_passwd(&read_source(&src.passwd)?, &label, &src.uids)?;
    if let Some(login) = src
        .keys
        .keys()
        .find(|l| !users.iter().any(|(u, _)| u == *l))
    {
        return Err(ImportError::Instance(format!(
            "keys are given for `{login}`, which {label} does not list as a normal user"
        )));
    }
    let mut found = Vec::new();
    for (login, origin) in users {
        let keys = match src.keys.get(&login) {
            Some(p) => parse_keys(&read_source(p)?, &p.display().to_string())?,
            None => Vec::new(),
        };
        found.push(Found {
            origin,
            account: FoundAccount::Server {
                server: src.server.clone(),
                login,
                opd: None,
                keys,
            },
        });
    }
    Ok(SourceRead {
        kind: "unix",
        describe: format!("{} /etc/passwd {label}", src.server),
        found,
    })
}

/// Normal users of passwd `text`: `login:x:uid:gid:gecos:home:shell`, exactly 7 fields.
pub fn parse_passwd(
    text: &str,
    label: &str,
    uids: &RangeInclusive<u32>,
) -> Result<Vec<(String, Origin)>, ImportError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let bad = |message: String| ImportError::Line {
            path: label.to_string(),
            line: i + 1,
            message,
        };
        let f: Vec<&str> = line.split(':').collect();
        if f.len() != 7 {
            return Err(bad(format!(
                "{} fields where /etc/passwd has 7 (login:x:uid:gid:gecos:home:shell)",
                f.len()
            )));
        }
        let uid: u32 = f[2]
            .parse()
            .map_err(|_| bad(format!("uid `{}` is not a number", f[2])))?;
        if f[0].is_empty() {
            return Err(bad("the login is empty".into()));
        }
        if uids.contains(&uid) && uid != 65534 && f[0] != "nobody" {
            out.push((
                f[0].to_string(),
                Origin {
                    path: label.to_string(),
                    line: i + 1,
                },
            ));
        }
    }
    Ok(out)
}

/// The keys of an `authorized_keys` file, each as `type base64 [comment]`.
pub fn parse_keys(text: &str, label: &str) -> Result<Vec<FoundKey>, ImportError> {
    const TYPES: [&str; 4] = ["ssh-", "ecdsa-sha2-", "sk-ssh-", "sk-ecdsa-"];
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let start = line
            .match_indices(char::is_whitespace)
            .map(|(p, w)| p + w.len())
            .chain(std::iter::once(0))
            .filter(|&p| TYPES.iter().any(|t| line[p..].starts_with(t)))
            .min();
        let key = start.map(|p| line[p..].split_whitespace().collect::<Vec<_>>().join(" "));
        let key = key
            .filter(|k| crate::check::server::parse_key(k).is_ok())
            .ok_or_else(|| ImportError::Line {
                path: label.to_string(),
                line: i + 1,
                message: "not an OpenSSH public key line ([options] type base64 [comment])".into(),
            })?;
        out.push(FoundKey {
            key,
            origin: Origin {
                path: label.to_string(),
                line: i + 1,
            },
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINlRHbndlDyb8Z1Kb0Y/Jy5GjuyXBzlBpJpgYqcaZl+a";

    #[test]
    fn normal_users_only() {
        let text = "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534::/:/sbin/nologin\n\
                    opd-dinkes:x:1001:1001:Dinkes:/home/opd-dinkes:/bin/bash\n";
        let users = parse_passwd(text, "passwd", &DEFAULT_UIDS).unwrap();
        assert_eq!(users.len(), 1);
        assert_eq!((users[0].0.as_str(), users[0].1.line), ("opd-dinkes", 3));
        let err = parse_passwd("a:x:1000\n", "passwd", &DEFAULT_UIDS).unwrap_err();
        assert!(err.to_string().starts_with("passwd:1: 3 fields"), "{err}");
    }

    #[test]
    fn keys_lose_their_options() {
        let text = format!("# keys\nfrom=\"10.0.0.1\",no-pty {KEY} budi@laptop\n{KEY}\n");
        let keys = parse_keys(&text, "ak").unwrap();
        assert_eq!(keys[0].key, format!("{KEY} budi@laptop"));
        assert_eq!(keys[1].key, KEY);
        for bad in [
            "ssh-ed25519 AAAAbroken",
            "x\u{3000}ssh-ed25519\u{3000}AAAA",
            "a\u{3000}\u{3000}b",
        ] {
            let err = parse_keys(&format!("{bad}\n"), "ak").unwrap_err();
            assert!(err.to_string().starts_with("ak:1: "), "{err}");
        }
    }
}
