//! A real OpenSSH server on 127.0.0.1 for the SSH backend tests.
//!
//! The "remote" host is this machine: the tests run as root (the sandbox and CI
//! container), the admin session logs in as root with a test key (allowed by a
//! `Match User root` block only; nothing touches root's own authorized_keys), and
//! the accounts the backend creates are real local users named `lkt…` that are
//! removed when the server is dropped. `UsePAM yes` as on a stock Debian server, so
//! the account-expiry behaviour under PAM is what is tested.
//!
//! Tests that create users serialise on [`Sshd::start`]'s lock: concurrent `useradd`
//! runs contend for `/etc/passwd`'s lock.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::{free_port, in_ci, require_binary};

static LOCK: Mutex<()> = Mutex::new(());
static COUNTER: AtomicU32 = AtomicU32::new(0);

pub struct Sshd {
    pub port: u16,
    /// The server's host public key, `ssh-ed25519 AAAA…`.
    pub host_key: String,
    /// The admin's private key (root may log in with it).
    pub admin_identity: PathBuf,
    pub dir: tempfile::TempDir,
    log: Arc<Mutex<Vec<String>>>,
    child: Child,
    users: Mutex<Vec<String>>,
    _guard: MutexGuard<'static, ()>,
}

/// Runs `ssh-keygen` to make an ed25519 key pair at `path` (and `path.pub`).
pub fn keygen(path: &Path, comment: &str) -> String {
    let st = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(path)
        .status()
        .expect("run ssh-keygen");
    assert!(st.success(), "ssh-keygen failed");
    std::fs::read_to_string(path.with_extension("pub"))
        .expect("read the public key")
        .trim()
        .to_string()
}

impl Sshd {
    /// Starts sshd, or returns `None` (skip) when it or root is missing outside CI.
    pub fn start() -> Option<Sshd> {
        let sshd = require_binary("OpenSSH server (openssh-server)", &["/usr/sbin/sshd"])?;
        require_binary("OpenSSH client (openssh-client)", &["ssh"])?;
        require_binary("shadow tools (useradd)", &["/usr/sbin/useradd"])?;
        // SAFETY-free check of euid via `id -u`: creating users needs root.
        let uid = Command::new("id").arg("-u").output().expect("run id");
        if String::from_utf8_lossy(&uid.stdout).trim() != "0" {
            let msg = "the SSH backend tests create local users and need root";
            if in_ci() {
                panic!("{msg}");
            }
            eprintln!("SKIPPED: {msg}");
            return None;
        }
        let guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        std::fs::create_dir_all("/run/sshd").expect("create /run/sshd");
        // Not below /tmp: sshd's StrictModes refuses key files below a world-writable
        // directory, and the test config keeps StrictModes on.
        let dir = tempfile::Builder::new()
            .prefix("sshd.")
            .tempdir_in(strict_modes_safe_base())
            .expect("temp dir");
        let d = dir.path();
        let host_key = keygen(&d.join("host_ed25519"), "host");
        let admin_pub = keygen(&d.join("admin"), "loket-admin");
        std::fs::write(d.join("admin_keys"), format!("{admin_pub}\n")).unwrap();
        let port = free_port();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {hk}\nPidFile {pid}\n\
             UsePAM yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
             PubkeyAuthentication yes\nStrictModes yes\nPermitRootLogin no\n\
             AuthorizedKeysFile .ssh/authorized_keys\nMaxStartups 50\nMaxSessions 50\n\
             Match User root\n  PermitRootLogin prohibit-password\n  AuthorizedKeysFile {ak}\n",
            hk = d.join("host_ed25519").display(),
            pid = d.join("sshd.pid").display(),
            ak = d.join("admin_keys").display(),
        );
        std::fs::write(d.join("sshd_config"), config).unwrap();
        let (child, log) = serve(&sshd, d);
        Some(Sshd {
            port,
            host_key: key_id(&host_key),
            admin_identity: d.join("admin"),
            dir,
            log,
            child,
            users: Mutex::new(Vec::new()),
            _guard: guard,
        })
    }

    /// A fresh login name that cannot clash with a real user; deleted on drop.
    pub fn new_login(&self, tag: &str) -> String {
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let login = format!("lkt{}x{n}{tag}", std::process::id() % 100_000);
        // A leftover from a crashed run would make the test meaningless.
        let _ = Command::new("userdel").args(["-r", "-f", &login]).output();
        self.users.lock().unwrap().push(login.clone());
        login
    }

    /// Deletes `login` (an account the code under test creates with a fixed name,
    /// e.g. from the bundled instance) now and when the server is dropped.
    pub fn track(&self, login: &str) {
        let _ = Command::new("userdel").args(["-r", "-f", login]).output();
        self.users.lock().unwrap().push(login.to_string());
    }

    /// The listening sshd's process id (a fault test stops it, and the sessions it
    /// forked, mid-run).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Starts sshd again on the same port, keys and configuration after a fault test
    /// stopped it (the old process is reaped first; a live one is killed).
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let (child, log) = serve(Path::new("/usr/sbin/sshd"), self.dir.path());
        self.child = child;
        self.log = log;
    }

    /// The admin session's target for server `server` on this sshd.
    pub fn target(&self, server: &str) -> loket::apply::ssh::SshTarget {
        loket::apply::ssh::SshTarget {
            server: server.into(),
            address: "127.0.0.1".into(),
            port: self.port,
            host_key: self.host_key.clone(),
            admin_user: "root".into(),
            identity: self.admin_identity.clone(),
        }
    }

    /// sshd's log so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

fn key_id(line: &str) -> String {
    line.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        for u in self.users.lock().unwrap().iter() {
            let _ = Command::new("userdel").args(["-r", "-f", u]).output();
        }
    }
}

/// A base directory no ancestor of which is group- or world-writable: target/'s temp
/// dir normally, but a checkout under /tmp (a CI clone, say) needs a root-owned
/// directory under /run instead.
fn strict_modes_safe_base() -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let target = PathBuf::from(env!("CARGO_TARGET_TMPDIR"));
    let safe = target
        .ancestors()
        .filter_map(|a| std::fs::metadata(a).ok())
        .all(|m| m.permissions().mode() & 0o022 == 0);
    if safe {
        return target;
    }
    let run = PathBuf::from("/run/loket-tests");
    std::fs::create_dir_all(&run).expect("create /run/loket-tests");
    std::fs::set_permissions(&run, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    run
}

/// Runs sshd with the configuration in `d` until it listens.
fn serve(sshd: &Path, d: &Path) -> (Child, super::DaemonLog) {
    // Wait for "Server listening on" on its log (or its exit): no sleeps.
    super::spawn_until_ready(
        Command::new(sshd)
            .args(["-D", "-e", "-f"])
            .arg(d.join("sshd_config")),
        "sshd",
        "Server listening on",
    )
}
