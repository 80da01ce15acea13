//! A non-root admin login for the SSH backends' `sudo -n /bin/sh -s` path: a local
//! user whose `~/.ssh/authorized_keys` holds the sshd harness's admin key (the
//! harness's `AuthorizedKeysFile .ssh/authorized_keys`, `StrictModes yes`), and the
//! sudoers drop-in a test gives it. Dropping the guard removes the drop-in (and the
//! user, when this guard created it), also when the test fails.
//!
//! Include with `#[path = "common/sudo.rs"] mod sudo;` beside `mod common;`. Create it
//! after [`Sshd::start`], whose lock serialises user and sudoers changes.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;

use crate::common::{self, sshd::Sshd};

/// The admin login; a name no real account has.
pub const ADMIN: &str = "loket-sudo-test";
/// No `.` in the name: sudo's `@includedir` skips such files (the temp file below).
const DROP_IN: &str = "/etc/sudoers.d/loket-sudo-test";
const TEMP: &str = "/etc/sudoers.d/.loket-sudo-test.new";

pub struct SudoAdmin {
    created: bool,
}

/// The sudoers line docs/apply.md recommends, with its login replaced by [`ADMIN`]:
/// the test checks the advice as written.
pub fn documented_rule() -> String {
    let docs = fs::read_to_string(common::repo_root().join("docs/apply.md")).unwrap();
    let line = docs
        .lines()
        .find(|l| l.starts_with("loket ALL="))
        .expect("docs/apply.md gives a sudoers line `loket ALL=...`");
    format!("{ADMIN}{}", &line["loket".len()..])
}

impl SudoAdmin {
    /// The admin login with the harness's admin key and no sudoers rule yet; `None`
    /// (skip) when sudo is missing outside CI.
    pub fn new(sshd: &Sshd) -> Option<SudoAdmin> {
        common::require_binary("sudo (sudo)", &["/usr/bin/sudo"])?;
        common::require_binary("visudo (sudo)", &["/usr/sbin/visudo"])?;
        // A leftover of a crashed run would grant what the test says is refused.
        let _ = fs::remove_file(DROP_IN);
        let created = Command::new("id")
            .arg(ADMIN)
            .output()
            .unwrap()
            .stdout
            .is_empty();
        if created {
            // No `loket` GECOS mark: the backend must not take it for its own account.
            run(Command::new("useradd").args(["-m", "-s", "/bin/sh", "-c", "sudo test", ADMIN]));
        }
        let guard = SudoAdmin { created };
        let home = Path::new("/home").join(ADMIN);
        let ssh = home.join(".ssh");
        fs::create_dir_all(&ssh).unwrap();
        let key = fs::read_to_string(sshd.admin_identity.with_extension("pub")).unwrap();
        fs::write(ssh.join("authorized_keys"), key).unwrap();
        fs::set_permissions(&ssh, fs::Permissions::from_mode(0o700)).unwrap();
        fs::set_permissions(
            ssh.join("authorized_keys"),
            fs::Permissions::from_mode(0o600),
        )
        .unwrap();
        run(Command::new("chown")
            .args(["-R", &format!("{ADMIN}:")])
            .arg(&ssh));
        Some(guard)
    }

    /// Installs `rule` as the admin's sudoers drop-in, checked by `visudo -cf` first
    /// (a broken file in /etc/sudoers.d would lock every sudo user out).
    pub fn allow(&self, rule: &str) {
        fs::write(TEMP, format!("{rule}\n")).unwrap();
        fs::set_permissions(TEMP, fs::Permissions::from_mode(0o440)).unwrap();
        let out = Command::new("visudo").args(["-cf", TEMP]).output().unwrap();
        if !out.status.success() {
            let _ = fs::remove_file(TEMP);
            panic!(
                "visudo refuses {rule:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        fs::rename(TEMP, DROP_IN).unwrap();
        run(Command::new("visudo").arg("-c"));
    }

    /// What sudo itself says `ADMIN` may run (`sudo -l -U`), for failure messages.
    pub fn listing(&self) -> String {
        let out = Command::new("sudo")
            .args(["-l", "-U", ADMIN])
            .output()
            .unwrap();
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for SudoAdmin {
    fn drop(&mut self) {
        let _ = fs::remove_file(TEMP);
        let _ = fs::remove_file(DROP_IN);
        if self.created {
            let _ = Command::new("userdel").args(["-r", "-f", ADMIN]).output();
        }
    }
}

fn run(cmd: &mut Command) {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
