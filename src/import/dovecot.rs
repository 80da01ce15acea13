//! A Dovecot passwd-file as an office runs it (the `dovecot` backend's format, with
//! or without loket's marker): `user:password:uid:gid:gecos:home:shell:extra`, later
//! fields optional. The user is the address; `nologin` among the extra fields means
//! disabled; a gecos that is not loket's ticket list is the holder's name. The
//! password field must be there and is dropped unread: it never reaches `accounts/`
//! or a message.

use std::path::Path;

use super::{Found, FoundAccount, FoundHolder, ImportError, Origin, SourceRead};
use crate::apply::owned;

/// How loket's gecos begins (`crate::apply::dovecot::entry`).
const TICKETS_PREFIX: &str = "loket ";

/// Reads the passwd-file at `path`.
pub fn read(path: &Path) -> Result<SourceRead, ImportError> {
    super::read_file(path, "dovecot", "dovecot passwd-file", parse)
}

/// The accounts of passwd-file `text`; `label` names it in errors.
pub fn parse(text: &str, label: &str) -> Result<Vec<Found>, ImportError> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let origin = Origin {
            path: label.to_string(),
            line: i + 1,
        };
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let account = parse_line(line).map_err(|message| ImportError::Line {
            path: label.to_string(),
            line: i + 1,
            message,
        })?;
        out.push(Found { origin, account });
    }
    Ok(out)
}

fn parse_line(line: &str) -> Result<FoundAccount, String> {
    let f: Vec<&str> = line.split(':').collect();
    let address = f[0].trim().to_lowercase();
    owned::check_address(&address)
        .map_err(|why| format!("the user field is not an address ({why})"))?;
    if f.len() < 2 || f[1].is_empty() {
        return Err(format!(
            "{address} has no password field: not a passwd-file line"
        ));
    }
    // loket's own gecos is `loket <tickets>`, `loket ` when it has none yet.
    let gecos = f.get(4).copied().unwrap_or("");
    let name = Some(gecos.trim())
        .filter(|g| !g.is_empty() && !gecos.starts_with(TICKETS_PREFIX))
        .filter(|g| !g.chars().any(char::is_control))
        .map(str::to_string);
    let extra = f.get(7..).map(|e| e.join(":")).unwrap_or_default();
    let active = !extra
        .split_whitespace()
        .any(|x| matches!(x, "nologin" | "nologin=y" | "nologin=yes"));
    Ok(FoundAccount::Mail {
        address,
        active,
        holder: FoundHolder {
            name,
            ..FoundHolder::default()
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HASH: &str = "{SHA512-CRYPT}$6$salt$verysecret";

    #[test]
    fn office_lines_read_without_the_hash() {
        let text = format!(
            "# office users\n\nBudi@x.go.id:{HASH}:5000:5000:Budi Santoso:/v/budi::\n\
             sri@x.go.id:{HASH}:5000:5000::/v/sri::userdb_quota_rule=*:storage=1G nologin\n\
             ani@x.go.id:{HASH}\n"
        );
        let found = parse(&text, "users").unwrap();
        assert_eq!(found.len(), 3);
        assert_eq!(found[0].origin.line, 3);
        let (address, active, holder) = found[0].as_mail();
        assert_eq!(address, "budi@x.go.id");
        assert!(active);
        assert_eq!(holder.name.as_deref(), Some("Budi Santoso"));
        assert!(matches!(
            &found[1].account,
            FoundAccount::Mail { active: false, .. }
        ));
        assert!(format!("{found:?}").find("verysecret").is_none());
        // loket's own gecos is no name, with tickets or without (after adopt-files).
        for gecos in ["loket ", "loket KDS-24WBW-PV52C"] {
            let found =
                parse(&format!("a@x.go.id:{HASH}:5000:5000:{gecos}:/v/a::\n"), "u").unwrap();
            assert_eq!(found[0].as_mail().2.name, None);
        }
    }

    #[test]
    fn bad_lines_name_file_and_line_not_the_hash() {
        for bad in [
            format!("root:{HASH}:0:0::/root:/bin/sh"),
            "budi@x.go.id".to_string(),
            "budi@x.go.id::5000".to_string(),
            format!("a b@x.go.id:{HASH}"),
        ] {
            let text = format!("ok@x.go.id:{HASH}\n{bad}\n");
            let err = parse(&text, "/etc/dovecot/users").unwrap_err().to_string();
            assert!(err.starts_with("/etc/dovecot/users:2: "), "{err}");
            assert!(!err.contains("verysecret"), "{err}");
        }
    }
}
