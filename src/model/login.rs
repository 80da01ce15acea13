//! Server login names: the one definition `check`, `loket new` and every server
//! backend apply before a login reaches a file name, a command or a directory entry.

/// Longest login: what `useradd` takes on Debian.
pub const MAX_LEN: usize = 32;

/// Accounts of the system and its services, never handed out through a request.
pub const SYSTEM_LOGINS: &[&str] = &[
    "root",
    "daemon",
    "bin",
    "sys",
    "sync",
    "games",
    "man",
    "lp",
    "mail",
    "news",
    "uucp",
    "proxy",
    "www-data",
    "backup",
    "list",
    "irc",
    "gnats",
    "nobody",
    "nogroup",
    "admin",
    "administrator",
    "ubuntu",
    "debian",
    "centos",
    "fedora",
    "ec2-user",
    "sshd",
    "messagebus",
    "postfix",
    "dovecot",
    "dovenull",
    "openldap",
    "mysql",
    "postgres",
    "redis",
    "nginx",
    "apache",
    "git",
    "operator",
    "halt",
    "shutdown",
    "ftp",
    "sudo",
    "wheel",
    "staff",
    "users",
    "adm",
    "tty",
    "disk",
    "kmem",
    "dialout",
    "systemd-network",
    "systemd-resolve",
    "systemd-timesync",
    "polkitd",
    "tss",
    "uuidd",
    "tcpdump",
    "landscape",
    "lxd",
    "pollinate",
];

/// Why `login` cannot be a server login, or `None` when it can. `reserved` adds the
/// server's own names (`reserved-logins` in `[[servers]]`).
pub fn problem(login: &str, reserved: &[String]) -> Option<String> {
    let b = login.as_bytes();
    if b.is_empty() || b.len() > MAX_LEN {
        return Some(format!("a login has 1 to {MAX_LEN} characters"));
    }
    if !b[0].is_ascii_lowercase() {
        return Some("a login starts with a lower-case letter".into());
    }
    if let Some(c) = login
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-'))
    {
        return Some(format!(
            "{c:?} is not allowed in a login: use lower-case letters, digits and '-'"
        ));
    }
    if SYSTEM_LOGINS.contains(&login) || login.starts_with("systemd-") {
        return Some(format!(
            "`{login}` is a system account, never given through a request"
        ));
    }
    if reserved.iter().any(|r| r == login) {
        return Some(format!(
            "`{login}` is reserved on this server (reserved-logins)"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::problem;

    #[test]
    fn system_names_and_odd_characters_are_refused() {
        for bad in [
            "root",
            "daemon",
            "ubuntu",
            "systemd-coredump",
            "opd;reboot",
            "OPD Dinkes",
            "opd dinkes",
            "-opd",
            "1opd",
            "_opd",
            "opd.dinkes",
            "",
            "a23456789012345678901234567890123",
        ] {
            assert!(problem(bad, &[]).is_some(), "{bad:?}");
        }
        assert!(problem("opd-dinkes", &[]).is_none());
        assert!(problem("deploy", &["deploy".into()]).is_some());
        assert!(problem("a2345678901234567890123456789012", &[]).is_none());
    }
}
