#![allow(dead_code)] // shared by rule tests; not every helper is used by every rule yet
//! An in-memory instance for rule tests: the Kudus preset plus requests and accounts
//! written by helpers, checked with a fixed "today".

use std::collections::BTreeMap;
use std::path::Path;

use jiff::civil::{Date, date};

use super::{Base, Options, Report, run};
use crate::diag::Diagnostic;
use crate::model::Instance;
use crate::ticket::Ticket;

pub const TODAY: Date = date(2026, 11, 24);
pub const KUDUS: &str = include_str!("../../presets/kudus.toml");
pub const KEY_ED1: &str = include_str!("../../tests/fixtures/keys/ed1.pub");
pub const KEY_ED2: &str = include_str!("../../tests/fixtures/keys/ed2.pub");
pub const KEY_ED3: &str = include_str!("../../tests/fixtures/keys/ed3.pub");
pub const KEY_RSA2048: &str = include_str!("../../tests/fixtures/keys/rsa2048.pub");
pub const KEY_RSA3072: &str = include_str!("../../tests/fixtures/keys/rsa3072.pub");
pub const KEY_ECDSA: &str = include_str!("../../tests/fixtures/keys/ec.pub");
pub const KEY_DSA: &str = include_str!("../../tests/fixtures/keys/dsa.pub");

/// `text` with `t` appended to its one-line `tickets = [...]`, oldest first as
/// `loket new` writes it.
pub fn append_ticket(text: &str, t: &str) -> String {
    let Some(at) = text.find("tickets = [") else {
        return text.to_string();
    };
    let close = at + text[at..].find(']').unwrap_or(0);
    format!("{}, \"{t}\"{}", &text[..close], &text[close..])
}

/// The 1-based line of the first `needle` in `text`.
pub fn line_of(text: &str, needle: &str) -> usize {
    let at = text
        .find(needle)
        .unwrap_or_else(|| panic!("no {needle:?} in\n{text}"));
    1 + text[..at].matches('\n').count()
}

/// A NIP that passes every NIP rule; `n` varies the sequence number.
pub fn nip(n: u16) -> String {
    format!("19860926201505{}{:03}", 1 + n % 2, n % 999 + 1)
}

#[derive(Clone, Default)]
pub struct Fixture {
    pub files: BTreeMap<String, String>,
    pub base: Option<BTreeMap<String, String>>,
    /// What the base comparison reports under records/.
    pub records_changed: Vec<String>,
    /// Nodes that are not regular files (`loket check` meets them only on disk, so a
    /// fixture with any is written to a temporary folder and loaded from there).
    pub nodes: BTreeMap<String, Node>,
    counter: u16,
}

/// A node a fixture puts on disk beside its files.
#[derive(Clone, Debug)]
pub enum Node {
    /// A symbolic link to this target (relative to the link, or absolute).
    Link(String),
    Fifo,
}

impl Fixture {
    pub fn kudus() -> Self {
        let mut fx = Fixture::default();
        fx.write("loket.toml", KUDUS);
        fx
    }

    pub fn write(&mut self, path: &str, text: &str) {
        self.files.insert(path.to_string(), text.to_string());
    }

    pub fn edit(&mut self, path: &str, f: impl FnOnce(&str) -> String) {
        let old = self.files.get(path).unwrap_or_else(|| panic!("no {path}"));
        let new = f(old);
        assert_ne!(&new, old, "edit of {path} changed nothing");
        self.files.insert(path.to_string(), new);
    }

    pub fn remove(&mut self, path: &str) {
        self.files
            .remove(path)
            .unwrap_or_else(|| panic!("no {path}"));
    }

    /// Freezes the current files as the base revision of a pull request.
    pub fn freeze_base(&mut self) {
        self.base = Some(self.files.clone());
    }

    fn next(&mut self) -> u16 {
        self.counter += 1;
        self.counter
    }

    /// Adds a `mail-create` request for `local@kuduskab.go.id` and its account file.
    pub fn mail_create(&mut self, local: &str) -> String {
        let n = self.next();
        let t = Ticket::generate("KDS").to_string();
        let addr = format!("{local}@kuduskab.go.id");
        let nip = nip(n);
        self.write(
            &format!("requests/{t}.toml"),
            &format!(
                r#"ticket = "{t}"
kind = "mail-create"
submitted = 2026-11-02T09:15:00+07:00

[applicant]
name = "Pegawai {n}"
nip = "{nip}"
opd = "Dinas Kesehatan"
position = "Pranata Komputer"
contact = "0812000{n:04}"

[letter]
number = "800/{n}/11.2026"
date = 2026-11-01
signatory = "Kepala Dinas Kesehatan"

[mail]
address = "{addr}"
"#
            ),
        );
        self.write(
            &format!("accounts/mail/{addr}.toml"),
            &format!(
                r#"address = "{addr}"
status = "active"
tickets = ["{t}"]

[holder]
name = "Pegawai {n}"
nip = "{nip}"
opd = "Dinas Kesehatan"
"#
            ),
        );
        t
    }

    /// Adds a `server-grant` request for `key` on `server`/`login` and the account file.
    pub fn server_grant(&mut self, server: &str, login: &str, key: &str) -> String {
        let n = self.next();
        let t = Ticket::generate("KDS").to_string();
        let nip = nip(n);
        let key = key.trim();
        self.write(
            &format!("requests/{t}.toml"),
            &format!(
                r#"ticket = "{t}"
kind = "server-grant"
submitted = 2026-11-03T10:00:00+07:00

[applicant]
name = "Pegawai {n}"
nip = "{nip}"
opd = "Dinas Kesehatan"
position = "Pengelola Aplikasi"
contact = "0813000{n:04}"

[letter]
number = "800/{n}/11.2026"
date = 2026-11-02
signatory = "Kepala Dinas Kesehatan"

[server]
name = "{server}"
account = "{login}"
key = "{key}"
expires = 2027-01-31
accept-terms = true
purpose = "Pemeliharaan aplikasi SIMPUS"
"#
            ),
        );
        let path = format!("accounts/server/{server}/{login}.toml");
        let block = format!(
            r#"
[[keys]]
ticket = "{t}"
key = "{key}"
expires = 2027-01-31
status = "active"
holder = {{ name = "Pegawai {n}", nip = "{nip}", opd = "Dinas Kesehatan" }}
"#
        );
        match self.files.get(&path).cloned() {
            Some(old) => {
                self.write(&path, &(append_ticket(&old, &t) + &block));
            }
            None => self.write(
                &path,
                &format!(
                    "server = \"{server}\"\nlogin = \"{login}\"\nkind = \"opd\"\nopd = \"Dinas Kesehatan\"\ntickets = [\"{t}\"]\n{block}"
                ),
            ),
        }
        t
    }

    /// The head of a request of `kind` (ticket, applicant, letter).
    fn request_head(&mut self, kind: &str) -> (String, String) {
        self.request_head_as(kind, None)
    }

    /// The `name` and `nip` the holder has in `file` (first match), to ask as them.
    fn holder_in(&self, file: &str) -> Option<(String, String)> {
        let text = self.files.get(file)?;
        let field = |key: &str| {
            let at = text.find(&format!("{key} = \""))? + key.len() + 4;
            Some(text[at..at + text[at..].find('"')?].to_string())
        };
        Some((field("name")?, field("nip")?))
    }

    /// [`Self::request_head`], asked by `who` (name, NIP) when given.
    fn request_head_as(&mut self, kind: &str, who: Option<(String, String)>) -> (String, String) {
        let n = self.next();
        let t = Ticket::generate("KDS").to_string();
        let (name, nip) = who.unwrap_or_else(|| (format!("Pegawai {n}"), nip(n)));
        let head = format!(
            r#"ticket = "{t}"
kind = "{kind}"
submitted = 2026-11-10T09:00:00+07:00

[applicant]
name = "{name}"
nip = "{nip}"
opd = "Dinas Kesehatan"
position = "Pranata Komputer"
contact = "0812000{n:04}"

[letter]
number = "800/{n}/11.2026"
date = 2026-11-09
signatory = "Kepala Dinas Kesehatan"
"#
        );
        (t, head)
    }

    /// Adds a `mail-deactivate` or `mail-reset` request for `local@kuduskab.go.id` and
    /// lists it in the account file, as `loket new` does (deactivate disables it).
    pub fn mail_change(&mut self, kind: &str, local: &str) -> String {
        let addr = format!("{local}@kuduskab.go.id");
        // The holder asks, as the SOP expects (L044).
        let who = self.holder_in(&format!("accounts/mail/{addr}.toml"));
        let (t, head) = self.request_head_as(kind, who);
        let reason = if kind == "mail-deactivate" {
            "reason = \"pensiun\"\n"
        } else {
            ""
        };
        self.write(
            &format!("requests/{t}.toml"),
            &format!("{head}\n[mail]\naddress = \"{addr}\"\n{reason}"),
        );
        let path = format!("accounts/mail/{addr}.toml");
        if let Some(old) = self.files.get(&path).cloned() {
            let mut new = append_ticket(&old, &t);
            if kind == "mail-deactivate" {
                new = new.replace("status = \"active\"", "status = \"disabled\"");
            }
            self.write(&path, &new);
        }
        t
    }

    /// Adds a `server-revoke` of `grant` on `server`/`login` and marks the key revoked.
    pub fn server_revoke(&mut self, server: &str, login: &str, grant: &str) -> String {
        let who = self.key_holder(server, login, grant);
        let (t, head) = self.request_head_as("server-revoke", who);
        self.write(
            &format!("requests/{t}.toml"),
            &format!(
                "{head}\n[server]\nname = \"{server}\"\naccount = \"{login}\"\ngrant = \"{grant}\"\n"
            ),
        );
        let path = format!("accounts/server/{server}/{login}.toml");
        if let Some(old) = self.files.get(&path).cloned() {
            let mut new = append_ticket(&old, &t);
            let at = new.find(&format!("ticket = \"{grant}\"")).unwrap_or(0);
            let rest = new[at..].replacen(
                "status = \"active\"",
                &format!("status = \"revoked\"\nrevoked-by = \"{t}\""),
                1,
            );
            new.replace_range(at.., &rest);
            self.write(&path, &new);
        }
        t
    }

    /// The holder (name, NIP) of the key `grant` gave on `server`/`login`.
    fn key_holder(&self, server: &str, login: &str, grant: &str) -> Option<(String, String)> {
        let text = self
            .files
            .get(&format!("accounts/server/{server}/{login}.toml"))?;
        let block = &text[text.find(&format!("ticket = \"{grant}\""))?..];
        let field = |key: &str| {
            let at = block.find(&format!("{key} = \""))? + key.len() + 4;
            Some(block[at..at + block[at..].find('"')?].to_string())
        };
        Some((field("name")?, field("nip")?))
    }

    /// Adds a node that is not a regular file at `path`.
    pub fn node(&mut self, path: &str, node: Node) {
        self.nodes.insert(path.to_string(), node);
    }

    fn instance(files: &BTreeMap<String, String>) -> Instance {
        Instance::from_files(
            Path::new("."),
            files.iter().map(|(p, t)| (p.clone(), t.clone())).collect(),
        )
    }

    /// The files and nodes written to a temporary folder and loaded from it, uncached.
    /// The folder lives as long as the returned guard: rules may read files the
    /// instance does not load (the letter's emblem, L081).
    fn on_disk(&self) -> (tempfile::TempDir, Instance) {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        let parent = |p: &Path| std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        for (path, text) in &self.files {
            parent(&d.join(path));
            std::fs::write(d.join(path), text).unwrap();
        }
        for (path, node) in &self.nodes {
            let at = d.join(path);
            parent(&at);
            match node {
                Node::Link(to) => std::os::unix::fs::symlink(to, &at).unwrap(),
                Node::Fifo => {
                    let c = std::ffi::CString::new(at.as_os_str().as_encoded_bytes()).unwrap();
                    // SAFETY: a valid NUL-terminated path; mkfifo only creates a node.
                    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
                }
            }
        }
        let inst = Instance::load_uncached(d).unwrap();
        (dir, inst)
    }

    pub fn check(&self) -> (Instance, Report) {
        let (_dir, inst) = if self.nodes.is_empty() {
            (None, Self::instance(&self.files))
        } else {
            let (dir, inst) = self.on_disk();
            (Some(dir), inst)
        };
        let base = self.base.as_ref().map(|b| Base {
            rev: "base".into(),
            instance: Self::instance(b),
            records_changed: self.records_changed.clone(),
        });
        let opts = Options {
            today: TODAY,
            skip: Default::default(),
        };
        let report = run(&inst, base.as_ref(), &opts);
        (inst, report)
    }

    /// Asserts no errors, printing them if there are.
    pub fn assert_clean(&self) {
        let (inst, report) = self.check();
        assert!(
            report.is_clean(),
            "{}",
            crate::diag::render_human(&inst.sources, &report.diagnostics)
        );
    }

    /// Asserts that rule `code` fires on `file` (at 1-based `line`, or any line if 0).
    pub fn assert_fires(&self, code: &str, file: &str, line: usize) -> Diagnostic {
        let (inst, report) = self.check();
        let found = report.diagnostics.iter().find(|d| {
            let f = inst.sources.get(d.primary.file);
            d.code == code
                && f.path == Path::new(file)
                && (line == 0 || f.line_col(d.primary.span.start).0 == line)
        });
        match found {
            Some(d) => d.clone(),
            None => panic!(
                "{code} did not fire on {file}:{line}; got:\n{}",
                crate::diag::render_human(&inst.sources, &report.diagnostics)
            ),
        }
    }

    /// Asserts that rule `code` does not fire anywhere.
    pub fn assert_quiet(&self, code: &str) {
        let (inst, report) = self.check();
        let hits: Vec<_> = report
            .diagnostics
            .iter()
            .filter(|d| d.code == code)
            .cloned()
            .collect();
        assert!(
            hits.is_empty(),
            "{}",
            crate::diag::render_human(&inst.sources, &hits)
        );
    }
}

#[test]
fn the_fixture_itself_is_clean() {
    let mut fx = Fixture::kudus();
    fx.mail_create("budi.santoso");
    fx.mail_create("siti.aminah");
    fx.server_grant("app-1", "opd-dinkes", KEY_ED1);
    let g = fx.server_grant("app-1", "opd-dinkes", KEY_ED2);
    fx.mail_change("mail-reset", "budi.santoso");
    fx.mail_change("mail-deactivate", "siti.aminah");
    fx.server_revoke("app-1", "opd-dinkes", &g);
    fx.assert_clean();
}
