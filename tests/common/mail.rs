//! A real Dovecot (IMAP + LMTP) and Postfix (SMTP, virtual mailboxes delivered over
//! LMTP into Dovecot) on 127.0.0.1 high ports, configured under a temp dir, reading
//! the passwd-file and maps `loket apply` writes. Run as root (the sandbox and CI).
//!
//! Dovecot penalises an IP for seconds after a failed login; a first static passdb
//! (`noauthenticate nodelay`, `result_success = continue`) turns that off for tests.
//! Postfix delivers to nowhere but the test domain (`error:` transports) and logs to
//! `maillog_file` (no syslog here).
#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::common::{free_port, require_binary};

pub const DOMAIN: &str = "kuduskab.go.id";
/// uid/gid the virtual mailboxes belong to (written by loket into the passwd-file).
pub const VMAIL_ID: u32 = 5000;

pub struct MailServer {
    pub dir: PathBuf,
    pub imap_port: u16,
    pub smtp_port: u16,
    pub lmtp_port: u16,
    pub passwd: PathBuf,
    pub virtual_domains: PathBuf,
    pub virtual_mailboxes: PathBuf,
    pub vmail: PathBuf,
    pub dovecot_conf: PathBuf,
    pub postfix_dir: PathBuf,
    pub doveadm: PathBuf,
    pub postmap: PathBuf,
    postfix: PathBuf,
    dovecot_bin: PathBuf,
    dovecot: Child,
}

impl MailServer {
    /// Starts both daemons under `dir` (which must be traversable by the `dovecot`
    /// user). `None` when the binaries are missing outside CI (skipped loudly).
    pub fn start(dir: &Path) -> Option<MailServer> {
        MailServer::start_for(dir, DOMAIN)
    }

    /// [`MailServer::start`] for the mail domain `domain` (another office's).
    pub fn start_for(dir: &Path, domain: &str) -> Option<MailServer> {
        let dovecot_bin = require_binary("dovecot", &["/usr/sbin/dovecot", "dovecot"])?;
        let doveadm = require_binary("doveadm", &["/usr/bin/doveadm", "doveadm"])?;
        let postfix = require_binary("postfix", &["/usr/sbin/postfix", "postfix"])?;
        let postmap = require_binary("postmap", &["/usr/sbin/postmap", "postmap"])?;
        let dir = dir.to_path_buf();
        for d in [
            "mail",
            "dovecot/run",
            "dovecot/state",
            "vmail",
            "postfix/queue",
            "postfix/data",
        ] {
            fs::create_dir_all(dir.join(d)).unwrap();
        }
        // Every component from / must be traversable by dovecot/postfix users.
        let mut p = dir.clone();
        loop {
            if let Ok(m) = fs::metadata(&p) {
                let mode = m.permissions().mode();
                if mode & 0o011 != 0o011 && p.starts_with(std::env::temp_dir()) {
                    fs::set_permissions(&p, fs::Permissions::from_mode(mode | 0o755)).unwrap();
                }
            }
            if !p.pop() {
                break;
            }
        }
        let vmail = dir.join("vmail");
        std::os::unix::fs::chown(&vmail, Some(VMAIL_ID), Some(VMAIL_ID)).unwrap();
        let passwd = dir.join("mail/passwd");
        let virtual_domains = dir.join("mail/virtual_domains");
        let virtual_mailboxes = dir.join("mail/virtual_mailboxes");
        fs::write(&passwd, "").unwrap();
        // Postfix reads the domain list when it starts, so it is there before loket
        // writes it: as a loket install leaves it, with its marker.
        fs::write(
            &virtual_domains,
            format!("# managed by loket: postfix virtual mailbox domain list\n{domain}\n"),
        )
        .unwrap();
        fs::write(&virtual_mailboxes, "").unwrap();

        let (imap_port, smtp_port, lmtp_port) = (free_port(), free_port(), free_port());
        let dovecot_conf = dir.join("dovecot/dovecot.conf");
        fs::write(
            &dovecot_conf,
            format!(
                r#"base_dir = {d}/dovecot/run
state_dir = {d}/dovecot/state
log_path = {d}/dovecot/dovecot.log
protocols = imap lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:~/Maildir
first_valid_uid = 1000
passdb {{
  driver = static
  args = noauthenticate=y nodelay=y
  result_success = continue
}}
passdb {{
  driver = passwd-file
  args = username_format=%Lu {passwd}
}}
userdb {{
  driver = passwd-file
  args = username_format=%Lu {passwd}
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp_port}
  }}
}}
"#,
                d = dir.display(),
                passwd = passwd.display(),
            ),
        )
        .unwrap();
        let dovecot = Command::new(&dovecot_bin)
            .args(["-F", "-c"])
            .arg(&dovecot_conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start dovecot");

        let postfix_dir = dir.join("postfix");
        fs::write(
            postfix_dir.join("main.cf"),
            format!(
                r#"compatibility_level = 3.6
queue_directory = {p}/queue
data_directory = {p}/data
mail_owner = postfix
setgid_group = postdrop
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
myhostname = mail.{domain}
mydomain = {domain}
mydestination =
relay_domains =
mynetworks = 127.0.0.0/8
virtual_mailbox_domains = {domains}
virtual_mailbox_maps = hash:{maps}
virtual_transport = lmtp:inet:127.0.0.1:{lmtp_port}
default_transport = error:tests deliver nowhere else
relay_transport = error:tests deliver nowhere else
local_transport = error:no local delivery
smtpd_relay_restrictions = reject_unauth_destination
smtpd_recipient_restrictions = reject_unauth_destination
maillog_file = {p}/maillog
maillog_file_prefixes = /tmp, {p}
smtputf8_enable = no
biff = no
alias_maps =
alias_database =
"#,
                p = postfix_dir.display(),
                domains = virtual_domains.display(),
                maps = virtual_mailboxes.display(),
            ),
        )
        .unwrap();
        fs::write(
            postfix_dir.join("master.cf"),
            format!(
                "127.0.0.1:{smtp_port} inet n - n - - smtpd\n\
                 pickup unix n - n 60 1 pickup\n\
                 cleanup unix n - n - 0 cleanup\n\
                 qmgr unix n - n 300 1 qmgr\n\
                 rewrite unix - - n - - trivial-rewrite\n\
                 bounce unix - - n - 0 bounce\n\
                 defer unix - - n - 0 bounce\n\
                 trace unix - - n - 0 bounce\n\
                 verify unix - - n - 1 verify\n\
                 flush unix n - n 1000? 0 flush\n\
                 proxymap unix - - n - - proxymap\n\
                 smtp unix - - n - - smtp\n\
                 showq unix n - n - - showq\n\
                 error unix - - n - - error\n\
                 retry unix - - n - - error\n\
                 discard unix - - n - - discard\n\
                 lmtp unix - - n - - lmtp\n\
                 anvil unix - - n - 1 anvil\n\
                 scache unix - - n - 1 scache\n\
                 postlog unix-dgram n - n - 1 postlogd\n"
            ),
        )
        .unwrap();
        let ok = Command::new(&postmap)
            .arg("-c")
            .arg(&postfix_dir)
            .arg(format!("hash:{}", virtual_mailboxes.display()))
            .status()
            .unwrap();
        assert!(ok.success(), "postmap");
        // Postfix's master writes its lock as the mail owner.
        let pf_uid = user_id("postfix").expect("user postfix (from the postfix package)");
        std::os::unix::fs::chown(postfix_dir.join("data"), Some(pf_uid), None).unwrap();
        let out = Command::new(&postfix)
            .arg("-c")
            .arg(&postfix_dir)
            .arg("start")
            .output()
            .expect("start postfix");
        assert!(
            out.status.success(),
            "postfix start: {}{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
            fs::read_to_string(postfix_dir.join("maillog")).unwrap_or_default()
        );
        let server = MailServer {
            dir,
            imap_port,
            smtp_port,
            lmtp_port,
            passwd,
            virtual_domains,
            virtual_mailboxes,
            vmail,
            dovecot_conf,
            postfix_dir,
            doveadm,
            postmap,
            postfix,
            dovecot_bin,
            dovecot,
        };
        server.wait_for(imap_port, "dovecot imap");
        server.wait_for(smtp_port, "postfix smtpd");
        Some(server)
    }

    /// The Dovecot master's process id (a fault test stops it mid-run).
    pub fn dovecot_pid(&self) -> u32 {
        self.dovecot.id()
    }

    /// Starts Dovecot again, with the same configuration and ports, after a fault
    /// test stopped it (the old master is reaped first; a live one is killed).
    pub fn restart_dovecot(&mut self) {
        let _ = self.dovecot.kill();
        let _ = self.dovecot.wait();
        self.dovecot = Command::new(&self.dovecot_bin)
            .args(["-F", "-c"])
            .arg(&self.dovecot_conf)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("restart dovecot");
        self.wait_for(self.imap_port, "dovecot imap");
    }

    fn wait_for(&self, port: u16, what: &str) {
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("{what} did not listen on {port}; logs:\n{}", self.logs());
    }

    pub fn imap(&self) -> String {
        format!("127.0.0.1:{}", self.imap_port)
    }

    pub fn smtp(&self) -> String {
        format!("127.0.0.1:{}", self.smtp_port)
    }

    /// The `[backends.mail]` table pointing loket at this server.
    pub fn backend_toml(&self) -> String {
        format!(
            "[backends.mail]\ntype = \"dovecot\"\npasswd-file = \"{}\"\nvirtual-domains = \"{}\"\n\
             virtual-mailboxes = \"{}\"\npostmap = \"{} -c {}\"\ndoveadm = \"{}\"\n\
             doveadm-config = \"{}\"\nhome = \"{}/%d/%n\"\nimap = \"{}\"\nsmtp = \"{}\"\n",
            self.passwd.display(),
            self.virtual_domains.display(),
            self.virtual_mailboxes.display(),
            self.postmap.display(),
            self.postfix_dir.display(),
            self.doveadm.display(),
            self.dovecot_conf.display(),
            self.vmail.display(),
            self.imap(),
            self.smtp(),
        )
    }

    /// Messages on disk in a user's Maildir (new + cur).
    pub fn maildir_count(&self, address: &str) -> usize {
        let (local, domain) = address.split_once('@').unwrap();
        let md = self.vmail.join(domain).join(local).join("Maildir");
        ["new", "cur"]
            .iter()
            .map(|d| fs::read_dir(md.join(d)).map(|r| r.count()).unwrap_or(0))
            .sum()
    }

    /// Both daemons' logs, for failure messages.
    pub fn logs(&self) -> String {
        let read = |p: PathBuf| fs::read_to_string(&p).unwrap_or_default();
        format!(
            "--- dovecot.log\n{}\n--- maillog\n{}",
            read(self.dir.join("dovecot/dovecot.log")),
            read(self.postfix_dir.join("maillog"))
        )
    }
}

/// A user's uid from /etc/passwd.
fn user_id(name: &str) -> Option<u32> {
    system_id("/etc/passwd", name)
}

/// The numeric id (third field) of `name` in an /etc/passwd- or /etc/group-style file.
pub fn system_id(db: &str, name: &str) -> Option<u32> {
    fs::read_to_string(db).ok()?.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next()? == name).then_some(())?;
        f.nth(1)?.parse().ok()
    })
}

impl Drop for MailServer {
    fn drop(&mut self) {
        let _ = Command::new(&self.postfix)
            .arg("-c")
            .arg(&self.postfix_dir)
            .arg("stop")
            .output();
        let _ = self.dovecot.kill();
        let _ = self.dovecot.wait();
    }
}
