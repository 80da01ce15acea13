//! L067: the host a mail backend reaches over SSH (`host` of type dovecot, `server`
//! of type command) is a `[[servers]]` entry with a pinned host key, and the
//! Dovecot files on it have absolute paths. Caught here, not mid-run.

use std::ops::Range;

use super::{Context, Rule, config, err};
use crate::diag::Diagnostic;
use crate::model::backends::MailBackend;

pub const MAIL_HOST: Rule = Rule {
    code: "L067",
    name: "config-mail-host",
    summary: "a mail backend's SSH host is a [[servers]] entry with a host-key; its file paths are absolute",
    run: mail_host,
};

const TABLE: &str = "[backends.mail]";

fn mail_host(cx: &Context, out: &mut Vec<Diagnostic>) {
    let Some((c, file)) = config(cx) else { return };
    let text = &cx.inst.sources.get(file).text;
    let (key, name, paths) = match &c.backends.mail {
        Some(MailBackend::Dovecot(s)) => {
            let Some(h) = &s.host else { return };
            let paths = [
                ("passwd-file", Some(&s.passwd_file)),
                ("virtual-domains", s.virtual_domains.as_ref()),
                ("virtual-mailboxes", s.virtual_mailboxes.as_ref()),
                ("doveadm-config", s.doveadm_config.as_ref()),
            ];
            let paths: Vec<(&str, &String)> = paths
                .into_iter()
                .filter_map(|(k, p)| Some((k, p?)))
                .collect();
            ("host", h, paths)
        }
        Some(MailBackend::Command(s)) => match &s.server {
            Some(h) => ("server", h, Vec::new()),
            None => return,
        },
        _ => return,
    };
    let at = key_span(text, key);
    match c.server(name) {
        None => {
            let known: Vec<&str> = c
                .servers
                .iter()
                .map(|s| s.name.get_ref().as_str())
                .collect();
            out.push(err(
                "L067",
                file,
                at,
                "no such server",
                format!("[backends.mail] {key} = \"{name}\" is not a [[servers]] entry"),
                format!(
                    "add the mail host as a [[servers]] entry (address, port, host-key), or use \
                     one of: {}",
                    known.join(", ")
                ),
            ));
        }
        Some(s) if s.host_key.is_none() => out.push(err(
            "L067",
            file,
            at,
            "no pinned host key",
            format!("the mail host '{name}' has no host-key in [[servers]]"),
            "get it out of band (`ssh-keyscan -t ed25519 HOST` on a trusted network, or \
             from the console) and set `host-key = \"ssh-ed25519 AAAA…\"`",
        )),
        Some(_) => {}
    }
    for (k, p) in paths {
        if !p.starts_with('/') {
            out.push(err(
                "L067",
                file,
                key_span(text, k),
                "relative path",
                format!("[backends.mail] {k} = \"{p}\" is relative, but the files are on '{name}'"),
                "give the path on the mail host from /, e.g. \"/etc/dovecot/users\"",
            ));
        }
    }
}

/// The line of `key = …` in `[backends.mail]`, else the table header.
fn key_span(text: &str, key: &str) -> Range<usize> {
    let Some(start) = text
        .match_indices(TABLE)
        .map(|(i, _)| i)
        .find(|&i| i == 0 || text.as_bytes()[i - 1] == b'\n')
    else {
        return 0..0;
    };
    let mut pos = start;
    for (i, line) in text[start..].split_inclusive('\n').enumerate() {
        let here = pos;
        pos += line.len();
        let t = line.trim_start();
        if i == 0 {
            continue;
        }
        if t.starts_with('[') {
            break;
        }
        if t.strip_prefix(key)
            .is_some_and(|rest| rest.trim_start().starts_with('='))
        {
            let lead = line.len() - t.len();
            return here + lead..here + line.trim_end().len();
        }
    }
    start..start + TABLE.len()
}

#[cfg(test)]
mod tests {
    use crate::check::testutil::*;

    const MAIL: &str = "type = \"dovecot\"\npasswd-file = \"state/mail/passwd\"";

    /// The preset with `extra` added to [backends.mail] (paths made absolute unless
    /// `relative`), and the line of `needle`.
    fn with(extra: &str, relative: bool, needle: &str) -> (Fixture, usize) {
        let mut fx = Fixture::kudus();
        fx.edit("loket.toml", |s| {
            let s = if relative {
                s.to_string()
            } else {
                s.replace("\"state/mail/", "\"/etc/mail/")
            };
            let mail = if relative {
                MAIL.to_string()
            } else {
                MAIL.replace("\"state/mail/", "\"/etc/mail/")
            };
            s.replacen(&mail, &format!("{mail}\n{extra}"), 1)
        });
        let text = &fx.files["loket.toml"];
        let line = 1 + text[..text.find(needle).expect("needle")]
            .matches('\n')
            .count();
        (fx, line)
    }

    #[test]
    fn l067_fires_on_unknown_or_unpinned_host_and_relative_paths() {
        let (fx, line) = with("host = \"mail-9\"", false, "host = ");
        let d = fx.assert_fires("L067", "loket.toml", line);
        assert!(d.message.contains("mail-9"), "{}", d.message);
        // app-1 exists, but its host key is not pinned in the preset.
        let (fx, line) = with("host = \"app-1\"", false, "host = ");
        fx.assert_fires("L067", "loket.toml", line);
        let key =
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINlRHbndlDyb8Z1Kb0Y/Jy5GjuyXBzlBpJpgYqcaZl+a";
        let (mut fx, _) = with("host = \"app-1\"", false, "host = ");
        fx.edit("loket.toml", |s| {
            s.replacen(
                "max-days = 365",
                &format!("max-days = 365\nhost-key = \"{key}\""),
                1,
            )
        });
        fx.assert_quiet("L067");
        let (mut fx, line) = with("host = \"app-1\"", true, "passwd-file = ");
        fx.edit("loket.toml", |s| {
            s.replacen(
                "max-days = 365",
                &format!("max-days = 365\nhost-key = \"{key}\""),
                1,
            )
        });
        fx.assert_fires("L067", "loket.toml", line);
        // Local files may be relative (under the instance).
        Fixture::kudus().assert_quiet("L067");
    }
}
