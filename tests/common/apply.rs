//! A copy of the bundled Kudus instance for `loket plan/apply` end to end, with the
//! `[backends]` a test gives, and what the tests read back: exit codes, output, the
//! sealed passwords. Include with `#[path = "common/apply.rs"] mod apply;` beside
//! `mod common;`.
#![allow(dead_code)]

use std::fs;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Output;

use loket::apply::Secret;

use crate::common;

/// Copies the bundled Kudus instance into `dir` with `backends` as its [backends].
pub fn instance(dir: &Path, backends: &str) -> PathBuf {
    let root = common::repo_root();
    let inst = dir.join("inst");
    for sub in [
        "requests",
        "accounts/mail",
        "accounts/server/app-1",
        "accounts/server/db-1",
        "records",
    ] {
        fs::create_dir_all(inst.join(sub)).unwrap();
        for e in fs::read_dir(root.join(sub)).unwrap() {
            let e = e.unwrap();
            if e.file_type().unwrap().is_file() {
                fs::copy(e.path(), inst.join(sub).join(e.file_name())).unwrap();
            }
        }
    }
    let config = fs::read_to_string(root.join("loket.toml")).unwrap();
    let start = config.find("[backends]").expect("[backends] in loket.toml");
    let end = config.find("[[servers]]").unwrap();
    fs::write(
        inst.join("loket.toml"),
        format!("{}{backends}\n{}", &config[..start], &config[end..]),
    )
    .unwrap();
    inst
}

pub fn backends(recipient: &str, mail: &str, state: &Path) -> String {
    format!(
        "[backends]\nstate-dir = \"{s}\"\nadmin-recipient = \"{recipient}\"\n\n{mail}\n\
         [backends.server]\ntype = \"keydir\"\ndir = \"{s}/keys\"\n",
        s = state.display()
    )
}

pub fn loket(inst: &Path, args: &[&str]) -> Output {
    common::loket()
        .arg("-C")
        .arg(inst)
        .args(args)
        .env_remove("GITHUB_RUN_ID")
        // The admin key a test configures, not one from the caller's environment.
        .env_remove("LOKET_SSH_IDENTITY")
        .env_remove("LOKET_SSH_KEY")
        .output()
        .unwrap()
}

pub fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// The password sealed for `ticket`, opened with the admin identity.
pub fn sealed_password(state: &Path, ticket: &str, id: &age::x25519::Identity) -> Secret {
    let bytes = fs::read(state.join("outbox").join(format!("{ticket}.age")))
        .unwrap_or_else(|e| panic!("outbox/{ticket}.age: {e}"));
    let mut out = String::new();
    age::Decryptor::new(&bytes[..])
        .unwrap()
        .decrypt(std::iter::once(id as &dyn age::Identity))
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    let pw = out
        .lines()
        .find_map(|l| l.strip_prefix("Kata sandi / Password: "))
        .expect("password line");
    Secret::new(pw.to_string())
}

pub fn set_account(inst: &Path, address: &str, status: &str, tickets: &[&str]) {
    let p = inst.join(format!("accounts/mail/{address}.toml"));
    let t = fs::read_to_string(&p).unwrap();
    let body = &t[t.find("[holder]").unwrap()..];
    let tickets: Vec<String> = tickets.iter().map(|t| format!("\"{t}\"")).collect();
    fs::write(
        &p,
        format!(
            "address = \"{address}\"\nstatus = \"{status}\"\ntickets = [{}]\n\n{body}",
            tickets.join(", ")
        ),
    )
    .unwrap();
}

pub const LESTARI: &str = "agus.lestari@kuduskab.go.id";
pub const LESTARI_CREATE: &str = "KDS-X8FA5-QQEQ8";
pub const LESTARI_RESET: &str = "KDS-ENY54-JAFNR";
pub const BAMBANG: &str = "bambang.prasetyo@kuduskab.go.id";
pub const BAMBANG_CREATE: &str = "KDS-U2HXP-3TXUM";
pub const BAMBANG_DEACTIVATE: &str = "KDS-KBHP7-4TBWU";

/// Writes `n` approved mail-create requests with their accounts and records.
pub fn bulk_instance(dir: &Path, backends: &str, n: usize) -> PathBuf {
    let inst = instance(dir, backends);
    for sub in ["requests", "accounts", "records"] {
        fs::remove_dir_all(inst.join(sub)).unwrap();
    }
    fs::create_dir_all(inst.join("accounts/mail")).unwrap();
    fs::create_dir_all(inst.join("requests")).unwrap();
    fs::create_dir_all(inst.join("records")).unwrap();
    let root = common::repo_root();
    let request = fs::read_to_string(root.join("requests/KDS-QTF6R-ZN7MH.toml")).unwrap();
    let record = fs::read_to_string(root.join("records/KDS-QTF6R-ZN7MH.toml")).unwrap();
    let record = &record[..record.find("[[events]]").unwrap_or(record.len())];
    let record = record.replace("outcome = \"processed\"", "outcome = \"approved\"");
    let account =
        fs::read_to_string(root.join("accounts/mail/agus.handayani@kuduskab.go.id.toml")).unwrap();
    for i in 0..n {
        let t = loket::ticket::Ticket::generate("KDS").to_string();
        let local = format!("pegawai.{i:04}");
        // sequence numbers run 001..=999 (L030); the month of appointment moves on
        // after 999, so every NIP stays 18 digits and distinct
        let nip = format!(
            "199001012015{:02}{}{:03}",
            1 + i / 999,
            1 + i % 2,
            1 + i % 999
        );
        let sub = |s: &str| {
            s.replace("KDS-QTF6R-ZN7MH", &t)
                .replace("agus.handayani", &local)
                .replace("199711242024082015", &nip)
                .replace("Agus Handayani", &format!("Pegawai {i}"))
                .replace("800/114/14.2026", &format!("800/{i}/14.2026"))
        };
        fs::write(inst.join(format!("requests/{t}.toml")), sub(&request)).unwrap();
        fs::write(inst.join(format!("records/{t}.toml")), sub(&record)).unwrap();
        fs::write(
            inst.join(format!("accounts/mail/{local}@kuduskab.go.id.toml")),
            sub(&account),
        )
        .unwrap();
    }
    inst
}

/// Every line of `passwd` is a distinct account, `n` in all, whose hash the
/// password sealed for its ticket opens: nothing lost, nothing doubled.
pub fn assert_every_password_opens(
    passwd: &str,
    state: &Path,
    id: &age::x25519::Identity,
    n: usize,
) {
    // After the `# managed by loket` marker line, one line per account.
    let lines = || passwd.lines().filter(|l| !l.starts_with('#'));
    let users: std::collections::BTreeSet<&str> =
        lines().map(|l| l.split(':').next().unwrap()).collect();
    assert_eq!(lines().count(), n);
    assert_eq!(users.len(), n);
    for line in lines() {
        let f: Vec<&str> = line.split(':').collect();
        let ticket = f[4].trim_start_matches("loket ");
        let pw = sealed_password(state, ticket, id);
        let hash = f[1].trim_start_matches("{SHA512-CRYPT}");
        assert!(
            loket::apply::credentials::crypt_matches(&pw, hash),
            "{} lost its password",
            f[0]
        );
    }
}

/// Every record's outcome, by ticket. A killed run may leave a record's temp file
/// (`.loket-*`) beside them, which the next run removes: not a record.
pub fn outcomes(inst: &Path) -> std::collections::BTreeMap<String, loket::model::record::Outcome> {
    let mut out = std::collections::BTreeMap::new();
    for e in fs::read_dir(inst.join("records")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_none_or(|x| x != "toml") {
            continue;
        }
        let r: loket::model::record::Progress = toml::from_str(&fs::read_to_string(&p).unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        out.insert(r.ticket, r.outcome);
    }
    out
}

/// Whether a ticket's account work is finished: `done`, or `processed` with a
/// follow-up step left (the Kudus server SOP's handover, unless the bundled record
/// already holds it).
pub fn finished(o: loket::model::record::Outcome) -> bool {
    use loket::model::record::Outcome;
    matches!(o, Outcome::Processed | Outcome::Done)
}

/// Temp files of atomic writes (`.loket-*`) anywhere under `dir`.
pub fn temps(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with(".loket-"))
        .map(|e| e.path().to_path_buf())
        .collect()
}
