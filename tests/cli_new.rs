//! `loket new` through the real binary, in fresh instances made by `loket init`:
//! every kind writes a request and its accounts/ change that `loket check` accepts;
//! taken and reserved names are refused with free alternatives; edited account files
//! keep their comments; nothing is written when anything is wrong.
mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use tempfile::TempDir;

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn ok(out: Output) -> String {
    assert!(out.status.success(), "{}", text(&out));
    text(&out)
}

fn instance(preset: &str) -> (TempDir, PathBuf) {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("instance");
    ok(common::loket()
        .args(["init", "--preset", preset])
        .arg(&dir)
        .output()
        .unwrap());
    (tmp, dir)
}

/// The date the tests treat as today, so expiry rules never depend on the clock.
const TODAY: &str = "2026-11-24";

fn check(dir: &Path) -> Output {
    common::loket()
        .arg("-C")
        .arg(dir)
        .args(["check", "--today", TODAY])
        .output()
        .unwrap()
}

const APPLICANT: &[&str] = &[
    "--name",
    "Budi Santoso",
    "--nip",
    "198609262015051001",
    "--opd",
    "Dinas Kesehatan",
    "--position",
    "Pranata Komputer Ahli Pertama",
    "--contact",
    "081234567890",
    "--letter-number",
    "800/412/11.2026",
    "--letter-date",
    "2026-11-20",
    "--signatory",
    "Kepala Dinas Kesehatan",
];

fn new(dir: &Path, kind: &str, extra: &[&str]) -> Output {
    new_as(dir, kind, APPLICANT, extra)
}

/// `loket new` for another applicant; flags given later win.
fn new_as(dir: &Path, kind: &str, applicant: &[&str], extra: &[&str]) -> Output {
    common::loket()
        .arg("-C")
        .arg(dir)
        .args(["new", kind, "--today", TODAY])
        .args(applicant)
        .args(extra)
        .output()
        .unwrap()
}

/// Another Budi Santoso: same name, another person (another NIP).
fn other_budi() -> Vec<&'static str> {
    let mut a = APPLICANT.to_vec();
    a[3] = "199001152015031002";
    a
}

/// The ticket `loket new` printed.
fn ticket(out: &str) -> String {
    let line = out
        .lines()
        .find(|l| l.starts_with("Nomor tiket"))
        .unwrap_or_else(|| panic!("no ticket in {out}"));
    line.rsplit(' ').next().unwrap().to_string()
}

fn check_clean(dir: &Path) {
    let out = ok(check(dir));
    assert!(out.contains(" 0 errors"), "{out}");
}

fn files_under(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().strip_prefix(dir).unwrap().display().to_string())
        .collect();
    v.sort();
    v
}

fn key(name: &str) -> String {
    common::repo_root()
        .join("tests/fixtures/keys")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn every_kind_end_to_end() {
    let (_tmp, dir) = instance("kudus");
    // mail-create
    let out = ok(new(&dir, "mail-create", &["--local", "budi.santoso"]));
    let create = ticket(&out);
    let req = fs::read_to_string(dir.join(format!("requests/{create}.toml"))).unwrap();
    assert!(req.contains("kind = \"mail-create\""), "{req}");
    assert!(
        req.contains("address = \"budi.santoso@kuduskab.go.id\""),
        "{req}"
    );
    let account_path = dir.join("accounts/mail/budi.santoso@kuduskab.go.id.toml");
    let acc = fs::read_to_string(&account_path).unwrap();
    assert!(acc.contains(&format!("tickets = [\"{create}\"]")), "{acc}");
    check_clean(&dir);

    // mail-reset adds its ticket to the account
    let out = ok(new(
        &dir,
        "mail-reset",
        &["--address", "budi.santoso@kuduskab.go.id"],
    ));
    let reset = ticket(&out);
    let acc = fs::read_to_string(&account_path).unwrap();
    assert!(
        acc.contains(&format!("[\"{create}\", \"{reset}\"]")),
        "{acc}"
    );
    assert!(acc.contains("status = \"active\""));
    check_clean(&dir);

    // mail-deactivate disables it
    let out = ok(new(
        &dir,
        "mail-deactivate",
        &["--local", "budi.santoso", "--reason", "mutasi"],
    ));
    let deact = ticket(&out);
    let acc = fs::read_to_string(&account_path).unwrap();
    assert!(acc.contains("status = \"disabled\""), "{acc}");
    assert!(acc.contains(&deact));
    let req = fs::read_to_string(dir.join(format!("requests/{deact}.toml"))).unwrap();
    assert!(req.contains("reason = \"mutasi\""), "{req}");
    check_clean(&dir);
    // a disabled account cannot be reset or deactivated again
    let out = new(&dir, "mail-reset", &["--local", "budi.santoso"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("already disabled"), "{}", text(&out));

    // server-grant: a new server account file, then a second key on it
    let grant_args = |k: &str| {
        vec![
            "--server".to_string(),
            "app-1".into(),
            "--account".into(),
            "opd-dinkes".into(),
            "--key-file".into(),
            key(k),
            "--expires".into(),
            "2027-03-31".into(),
            "--accept-terms".into(),
            "--purpose".into(),
            "Pemeliharaan aplikasi SIMPUS".into(),
        ]
    };
    let args1 = grant_args("ed1.pub");
    let args1: Vec<&str> = args1.iter().map(String::as_str).collect();
    let g1 = ticket(&ok(new(&dir, "server-grant", &args1)));
    let args2 = grant_args("ed2.pub");
    let args2: Vec<&str> = args2.iter().map(String::as_str).collect();
    let g2 = ticket(&ok(new(&dir, "server-grant", &args2)));
    let srv_path = dir.join("accounts/server/app-1/opd-dinkes.toml");
    let srv = fs::read_to_string(&srv_path).unwrap();
    assert_eq!(srv.matches("[[keys]]").count(), 2, "{srv}");
    assert!(
        srv.contains(&format!("tickets = [\"{g1}\", \"{g2}\"]")),
        "{srv}"
    );
    let req = fs::read_to_string(dir.join(format!("requests/{g1}.toml"))).unwrap();
    assert!(
        req.contains("accept-terms = true") && req.contains("ssh-ed25519 "),
        "{req}"
    );
    check_clean(&dir);

    // server-revoke needs --grant when two keys are active
    let revoke = ["--server", "app-1", "--account", "opd-dinkes"];
    let out = new(&dir, "server-revoke", &revoke);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains(&g1) && text(&out).contains(&g2),
        "{}",
        text(&out)
    );
    let mut with_grant = revoke.to_vec();
    with_grant.extend(["--grant", &g1]);
    let r = ticket(&ok(new(&dir, "server-revoke", &with_grant)));
    let srv = fs::read_to_string(&srv_path).unwrap();
    assert!(srv.contains(&format!("revoked-by = \"{r}\"")), "{srv}");
    assert_eq!(srv.matches("status = \"revoked\"").count(), 1, "{srv}");
    check_clean(&dir);
    assert_eq!(
        fs::read_dir(dir.join("requests")).unwrap().count(),
        6 + 1,
        "six requests and .gitkeep"
    );
}

#[test]
fn taken_name_is_refused_with_free_alternatives() {
    let (_tmp, dir) = instance("kudus");
    ok(new(&dir, "mail-create", &["--local", "budi.santoso"]));
    let before = files_under(&dir);
    // same name in another case and with another separator
    for local in ["Budi.Santoso", "budi_santoso"] {
        let out = new_as(&dir, "mail-create", &other_budi(), &["--local", local]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let t = text(&out);
        assert!(
            t.contains("already taken by budi.santoso@kuduskab.go.id"),
            "{t}"
        );
        assert!(t.contains("free alternatives: bsantoso, budis"), "{t}");
    }
    // Cyrillic а in place of the Latin a
    let out = new_as(
        &dir,
        "mail-create",
        &other_budi(),
        &["--local", "budi.s\u{0430}ntoso"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert_eq!(files_under(&dir), before, "nothing written");
    // the first alternative is accepted for the other Budi
    ok(new_as(
        &dir,
        "mail-create",
        &other_budi(),
        &["--local", "bsantoso"],
    ));
    check_clean(&dir);
}

#[test]
fn check_errors_block_the_write() {
    let (_tmp, dir) = instance("kudus");
    ok(new(&dir, "mail-create", &["--local", "budi.santoso"]));
    let before = files_under(&dir);
    // L032: the same NIP may not hold a second active account
    let out = new(&dir, "mail-create", &["--local", "budi.kesehatan"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains("error[L032]") && t.contains("nothing written"),
        "{t}"
    );
    // L030: a NIP with an impossible birth date, shown at its line in the new file
    let mut bad = other_budi();
    bad[3] = "198613402015031002";
    let out = new_as(&dir, "mail-create", &bad, &["--local", "bsantoso"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains("error[L03") && t.contains("requests/KDS-"),
        "{t}"
    );
    // L021: a local part with a character the office pattern refuses
    let out = new_as(
        &dir,
        "mail-create",
        &other_budi(),
        &["--local", "budi+santoso"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("error[L020]"), "{t}");
    assert!(
        t.contains("free names for Budi Santoso: bsantoso, budis"),
        "{t}"
    );
    assert_eq!(files_under(&dir), before, "nothing written");

    // L054: a short RSA key; L051: access beyond db-1's 90 days
    let grant = |key_file: &str, expires: &str| {
        let k = key(key_file);
        let args = [
            "--server",
            "db-1",
            "--account",
            "opd-dinkes",
            "--key-file",
            &k,
            "--expires",
            expires,
            "--accept-terms",
            "--purpose",
            "Basis data SIMPUS",
        ];
        new(&dir, "server-grant", &args)
    };
    let out = grant("rsa2048.pub", "2026-12-31");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("error[L054]"), "{}", text(&out));
    let out = grant("ed3.pub", "2099-01-01");
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("error[L051]"), "{}", text(&out));
    assert_eq!(files_under(&dir), before, "nothing written");

    // L056: a system account or a login that is not one; no file is written, not
    // even accounts/server/app-1/opd;reboot.toml.
    let k = key("ed3.pub");
    for login in ["root", "opd;reboot", "OPD Dinkes"] {
        let args = [
            "--server",
            "app-1",
            "--account",
            login,
            "--key-file",
            &k,
            "--expires",
            "2026-12-31",
            "--accept-terms",
            "--purpose",
            "Aplikasi",
        ];
        let out = new(&dir, "server-grant", &args);
        assert_eq!(out.status.code(), Some(1), "{login}: {}", text(&out));
        assert!(text(&out).contains("error[L056]"), "{}", text(&out));
        assert_eq!(files_under(&dir), before, "nothing written");
    }
}

#[test]
fn reserved_name_is_refused() {
    let (_tmp, dir) = instance("kebumen");
    for local in ["postmaster", "bupati", "Humas"] {
        let out = new(&dir, "mail-create", &["--local", local]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out));
        let t = text(&out);
        assert!(t.contains("is a reserved name"), "{t}");
        assert!(t.contains("budi.santoso"), "{t}");
    }
    assert_eq!(fs::read_dir(dir.join("requests")).unwrap().count(), 1);
}

#[test]
fn existing_account_files_keep_their_comments() {
    let (_tmp, dir) = instance("kudus");
    let t = ticket(&ok(new(&dir, "mail-create", &["--local", "siti.aminah"])));
    let path = dir.join("accounts/mail/siti.aminah@kuduskab.go.id.toml");
    let hand = format!(
        "# Data pegawai: akun dibuat atas surat 800/412/11.2026\naddress = \"siti.aminah@kuduskab.go.id\"\nstatus   = \"active\"  # aktif sejak November\ntickets = [\n  \"{t}\", # pembuatan\n]\n\n# pemegang akun\n[holder]\nname = \"Budi Santoso\"\nnip = \"198609262015051001\"\nopd = \"Dinas Kesehatan\"\n"
    );
    fs::write(&path, &hand).unwrap();
    check_clean(&dir);
    let r = ticket(&ok(new(&dir, "mail-reset", &["--local", "siti.aminah"])));
    let d = ticket(&ok(new(
        &dir,
        "mail-deactivate",
        &["--local", "siti.aminah", "--reason", "pensiun"],
    )));
    let after = fs::read_to_string(&path).unwrap();
    let expected = hand
        .replace(
            "status   = \"active\"  # aktif",
            "status   = \"disabled\"  # aktif",
        )
        .replace(
            &format!("  \"{t}\", # pembuatan\n"),
            &format!("  \"{t}\", # pembuatan\n  \"{r}\",\n  \"{d}\",\n"),
        );
    assert_eq!(after, expected);
    check_clean(&dir);
}

#[test]
fn missing_flags_are_named_without_a_terminal() {
    let (_tmp, dir) = instance("palangka-raya");
    let out = common::loket()
        .arg("-C")
        .arg(&dir)
        .args([
            "new",
            "mail-create",
            "--name",
            "Sri Wahyu Utami",
            "--opd",
            "Dinas Kesehatan",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let t = text(&out);
    for flag in [
        "--nip",
        "--position",
        "--contact",
        "--letter-number",
        "--letter-date",
        "--signatory",
        "--address or --local",
    ] {
        assert!(t.contains(flag), "{flag}: {t}");
    }
    assert!(
        t.contains("free names for Sri Wahyu Utami: sri.utami"),
        "{t}"
    );
    assert_eq!(fs::read_dir(dir.join("requests")).unwrap().count(), 1);
}

#[test]
fn offices_without_servers_refuse_server_requests() {
    let (_tmp, dir) = instance("lumajang");
    let k = key("ed1.pub");
    let out = new(
        &dir,
        "server-grant",
        &[
            "--server",
            "app-1",
            "--account",
            "opd-dinkes",
            "--key-file",
            &k,
            "--expires",
            "2026-12-31",
            "--accept-terms",
            "--purpose",
            "Aplikasi",
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let t = text(&out);
    assert!(
        t.contains("no server 'app-1'") && t.contains("known: none"),
        "{t}"
    );
    assert_eq!(fs::read_dir(dir.join("requests")).unwrap().count(), 1);
}

#[test]
fn unknown_server_and_account_are_refused() {
    let (_tmp, dir) = instance("kudus");
    let out = new(
        &dir,
        "server-revoke",
        &["--server", "web-9", "--account", "opd-x"],
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(text(&out).contains("known: app-1, db-1"), "{}", text(&out));
    let out = new(&dir, "mail-reset", &["--local", "nobody.here"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out).contains("no mail account nobody.here@kuduskab.go.id"),
        "{}",
        text(&out)
    );
}

#[test]
fn dry_run_prints_and_writes_nothing() {
    let (_tmp, dir) = instance("kudus");
    let out = ok(new(
        &dir,
        "mail-create",
        &["--local", "budi.santoso", "--dry-run"],
    ));
    assert!(out.contains("==> requests/KDS-"), "{out}");
    assert!(
        out.contains("==> accounts/mail/budi.santoso@kuduskab.go.id.toml (new)"),
        "{out}"
    );
    assert_eq!(fs::read_dir(dir.join("requests")).unwrap().count(), 1);
}

/// docs/examples: one request per kind plus the accounts they leave behind, copied
/// into a fresh Kudus instance, pass `loket check`; docs/schema.md links each one.
#[test]
fn docs_examples_form_a_clean_instance() {
    let root = common::repo_root();
    let examples = root.join("docs/examples");
    let schema = fs::read_to_string(root.join("docs/schema.md")).unwrap();
    let (_tmp, dir) = instance("kudus");
    for kind in [
        "mail-create",
        "mail-deactivate",
        "mail-reset",
        "server-grant",
        "server-revoke",
    ] {
        let text = fs::read_to_string(examples.join(format!("{kind}.toml"))).unwrap();
        let doc: toml::Table = toml::from_str(&text).unwrap();
        assert_eq!(doc["kind"].as_str(), Some(kind));
        let t = doc["ticket"].as_str().unwrap();
        fs::write(dir.join(format!("requests/{t}.toml")), &text).unwrap();
        assert!(
            schema.contains(&format!("(examples/{kind}.toml)")),
            "docs/schema.md does not link the {kind} example"
        );
        // a recipient, where given, is a real age public key
        if let Some(r) = doc["applicant"].get("recipient").and_then(|v| v.as_str()) {
            r.parse::<age::x25519::Recipient>()
                .unwrap_or_else(|e| panic!("{kind}: recipient {r}: {e}"));
        }
    }
    for entry in walkdir::WalkDir::new(examples.join("accounts")) {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            let rel = entry.path().strip_prefix(&examples).unwrap();
            let to = dir.join(rel);
            fs::create_dir_all(to.parent().unwrap()).unwrap();
            fs::copy(entry.path(), &to).unwrap();
            assert!(schema.contains(&format!("(examples/{})", rel.display())));
        }
    }
    let out = ok(check(&dir));
    assert!(
        out.contains("5 requests, 1 mail accounts, 1 server accounts: 0 errors"),
        "{out}"
    );
}
