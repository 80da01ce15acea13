//! A real OpenLDAP server (slapd) on 127.0.0.1 for the LDAP backend tests: a temp
//! `slapd.conf` with the mdb backend, the core/cosine/inetorgperson/nis schemas and
//! openssh-lpk (`tests/fixtures/ldap/openssh-lpk.schema`), and a base tree loaded
//! with `slapadd` before start.

use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::sync::{Arc, Mutex};

use super::{free_port, repo_root, require_binary};

pub const SUFFIX: &str = "dc=kudus,dc=test";
pub const ADMIN_DN: &str = "cn=admin,dc=kudus,dc=test";
/// The test directory's admin password: for a throwaway slapd only.
pub const ADMIN_PW: &str = "test-only-admin-pw";

pub struct Slapd {
    pub url: String,
    pub dir: tempfile::TempDir,
    log: Arc<Mutex<Vec<String>>>,
    child: Child,
}

impl Slapd {
    /// Starts slapd, or returns `None` (skip) when it is missing outside CI.
    pub fn start() -> Option<Slapd> {
        let slapd = require_binary("OpenLDAP server (slapd)", &["/usr/sbin/slapd"])?;
        let slapadd = require_binary("OpenLDAP slapadd (slapd)", &["/usr/sbin/slapadd"])?;
        let dir = tempfile::Builder::new()
            .prefix("slapd.")
            .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
            .expect("temp dir");
        let d = dir.path();
        std::fs::create_dir(d.join("db")).unwrap();
        let schema = |n: &str| format!("include /etc/ldap/schema/{n}.schema\n");
        let lpk: PathBuf = repo_root().join("tests/fixtures/ldap/openssh-lpk.schema");
        let conf = format!(
            "{}{}{}{}include {lpk}\n\
             pidfile {d}/slapd.pid\nargsfile {d}/slapd.args\n\
             modulepath /usr/lib/ldap\nmoduleload back_mdb\n\
             database mdb\nmaxsize 33554432\nsuffix \"{SUFFIX}\"\n\
             rootdn \"{ADMIN_DN}\"\nrootpw {ADMIN_PW}\ndirectory {d}/db\n\
             access to attrs=userPassword by self write by anonymous auth by * none\n\
             access to * by * read\n",
            schema("core"),
            schema("cosine"),
            schema("inetorgperson"),
            schema("nis"),
            lpk = lpk.display(),
            d = d.display(),
        );
        std::fs::write(d.join("slapd.conf"), conf).unwrap();
        let base = format!(
            "dn: {SUFFIX}\nobjectClass: dcObject\nobjectClass: organization\ndc: kudus\no: Kudus test\n\n\
             dn: ou=mail,{SUFFIX}\nobjectClass: organizationalUnit\nou: mail\n\n\
             dn: ou=servers,{SUFFIX}\nobjectClass: organizationalUnit\nou: servers\n"
        );
        std::fs::write(d.join("base.ldif"), base).unwrap();
        let out = Command::new(&slapadd)
            .arg("-f")
            .arg(d.join("slapd.conf"))
            .arg("-l")
            .arg(d.join("base.ldif"))
            .output()
            .expect("run slapadd");
        assert!(
            out.status.success(),
            "slapadd failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = free_port();
        let url = format!("ldap://127.0.0.1:{port}");
        let (child, log) = serve(&slapd, d, &url, port);
        Some(Slapd {
            url,
            dir,
            log,
            child,
        })
    }

    /// slapd's process id (a fault test stops it mid-run).
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Starts slapd again on the same port and database after a fault test stopped
    /// it (the old process is reaped first; a live one is killed).
    pub fn restart(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let port: u16 = self.url.rsplit(':').next().unwrap().parse().unwrap();
        let (child, log) = serve(
            Path::new("/usr/sbin/slapd"),
            self.dir.path(),
            &self.url,
            port,
        );
        self.child = child;
        self.log = log;
    }

    /// slapd's log so far.
    pub fn log(&self) -> Vec<String> {
        self.log.lock().unwrap().clone()
    }
}

impl Drop for Slapd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs slapd on `url` with the configuration in `d`, until it accepts connections.
fn serve(slapd: &Path, d: &Path, url: &str, port: u16) -> (Child, Arc<Mutex<Vec<String>>>) {
    // Foreground with the stats log on stderr; "slapd starting" means listening.
    // Wait for "slapd starting" on its log (or its exit): no sleeps.
    let (mut child, log) = super::spawn_until_ready(
        Command::new(slapd)
            .arg("-f")
            .arg(d.join("slapd.conf"))
            .args(["-h", &format!("{url}/"), "-d", "stats"]),
        "slapd",
        "slapd starting",
    );
    // "slapd starting" comes before the listener threads call listen(): wait
    // until a connection is accepted (bounded; this is readiness, not timing).
    let ready = (0..500).any(|_| {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return true;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
        false
    });
    if !ready {
        let _ = child.kill();
        panic!(
            "slapd does not accept connections:\n{}",
            log.lock().unwrap().join("\n")
        );
    }
    (child, log)
}
