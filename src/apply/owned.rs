//! Own only what loket made. Every file loket rewrites whole (the Dovecot
//! passwd-file, the Postfix maps) begins with a marker line loket writes,
//! `# managed by loket: …`; a key directory of the keydir backend holds a marker file
//! ([`DIR_MARKER`]) in each server folder. Dovecot, Postfix (`postmap`, list files)
//! and sshd all skip `#` lines, so the marker changes nothing for them.
//!
//! Before loket rewrites a file it reads it (it does for the passwd-file anyway) and
//! refuses, naming the file, when:
//! - the file is not empty and its first line is not the marker: not loket's (a copy
//!   of `/etc/passwd`, a typo in a path, a file an admin keeps by hand);
//! - its last line has no newline: cut short (loket writes whole lines only);
//! - any other line is not in the exact format loket writes (each backend's parser).
//!
//! An absent or empty file is a new install: loket writes it, marker first. A file an
//! earlier loket wrote before the marker existed is taken over by one explicit step,
//! `loket adopt-files`, which checks every line as strictly and only then adds the
//! marker; apply never does (docs/apply.md, "Files loket owns").

use super::backend::BackendError;

/// How a managed file begins.
pub const MARK: &str = "# managed by loket";

/// The marker file of a key-directory server folder.
pub const DIR_MARKER: &str = ".managed-by-loket";

/// The marker line of a file holding `what` (e.g. `dovecot passwd-file`).
pub fn header(what: &str) -> String {
    format!("{MARK}: {what}; written by `loket apply`, do not edit (docs/apply.md)\n")
}

/// How `loket adopt-files` is named in refusals.
pub const ADOPT_HINT: &str = "if an earlier loket wrote it before files carried the marker, take \
     it over once with `loket adopt-files` (docs/apply.md, \"Files loket owns\"); otherwise \
     fix the path in loket.toml";

/// The lines of the managed file `text` after its marker, each with its line number.
/// With `adopting`, the marker may be missing (the file is being taken over); the
/// lines are checked as strictly either way by the caller.
pub fn lines<'a>(
    text: &'a str,
    label: &str,
    what: &str,
    adopting: bool,
) -> Result<Vec<(usize, &'a str)>, BackendError> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    let marked = text.starts_with(MARK);
    if !marked && !adopting {
        return Err(BackendError::Other(format!(
            "{label}: not a {what} loket manages: its first line is not `{MARK}: …`, and \
             loket rewrites only files it wrote, so it leaves this one as it is; {ADOPT_HINT}"
        )));
    }
    if !text.ends_with('\n') {
        return Err(BackendError::Parse {
            path: label.into(),
            line: text.lines().count(),
            message: format!(
                "the last line has no newline: the {what} was cut short or edited by hand \
                 (loket writes whole lines only); fix or remove that line by hand"
            ),
        });
    }
    Ok(text
        .lines()
        .enumerate()
        .skip(usize::from(marked))
        .map(|(i, l)| (i + 1, l))
        .collect())
}

/// A line that is not in the format loket writes, as an error naming it.
pub fn bad_line(label: &str, line: usize, what: &str, why: &str) -> BackendError {
    BackendError::Parse {
        path: label.into(),
        line,
        message: format!(
            "not a {what} line as loket writes it ({why}); loket leaves the file as it is: \
             fix or remove the line by hand"
        ),
    }
}

/// `address` as loket writes it: `local@domain`, lower case, no space or `:`.
pub fn check_address(a: &str) -> Result<(), String> {
    let ok = a.split_once('@').is_some_and(|(l, d)| {
        !l.is_empty() && !d.is_empty() && !d.contains('@') && d.contains('.')
    }) && !a
        .chars()
        .any(|c| c.is_whitespace() || c.is_control() || c == ':' || c.is_uppercase());
    if ok {
        Ok(())
    } else {
        Err(format!("`{a}` is not a lower-case mail address"))
    }
}

/// A mail domain as loket writes it into the domains list.
pub fn check_domain(d: &str) -> Result<(), String> {
    let ok = !d.is_empty()
        && d.contains('.')
        && d.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-');
    if ok {
        Ok(())
    } else {
        Err(format!("`{d}` is not a lower-case domain name"))
    }
}

/// A ticket as loket writes it (canonical form, check symbol valid).
pub fn check_ticket(t: &str) -> Result<(), String> {
    match crate::ticket::Ticket::parse(t, None) {
        Ok(p) if p.to_string() == t => Ok(()),
        _ => Err(format!("`{t}` is not a ticket")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn marker_empty_and_cut_files() {
        assert!(lines("", "f", "x", false).unwrap().is_empty());
        let text = format!("{}a\nb\n", header("x"));
        assert_eq!(lines(&text, "f", "x", false).unwrap(), [(2, "a"), (3, "b")]);
        let err = lines("root:x:0:0::/root:/bin/sh\n", "/etc/passwd", "x", false)
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("/etc/passwd: not a x loket manages"),
            "{err}"
        );
        assert!(err.contains("loket adopt-files"), "{err}");
        assert_eq!(lines("a\n", "f", "x", true).unwrap(), [(1, "a")]);
        let err = lines(&format!("{}a\nb", header("x")), "f", "x", false).unwrap_err();
        assert!(
            err.to_string()
                .starts_with("f:3: the last line has no newline")
        );
    }

    #[test]
    fn fields_as_loket_writes_them() {
        assert!(check_address("budi@kuduskab.go.id").is_ok());
        for bad in ["Budi@x.go.id", "root", "a@b", "a b@x.id", "@x.id"] {
            assert!(check_address(bad).is_err(), "{bad}");
        }
        assert!(check_domain("kuduskab.go.id").is_ok());
        assert!(check_domain("localhost").is_err());
        let t = crate::ticket::Ticket::generate("KDS").to_string();
        assert!(check_ticket(&t).is_ok());
        assert!(check_ticket(&t.to_lowercase()).is_err());
        assert!(check_ticket("KDS-A").is_err());
    }
}
