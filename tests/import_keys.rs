//! `loket import unix` then `loket adopt-files` for keys (issue 14, item 3): the
//! imported accounts' keys are live with the office's own comments, so before the
//! adopt step `audit` shows them as drift and `apply` refuses the grants `plan`
//! proposes under the batch ticket, naming `adopt-files`. `adopt-files` rewrites
//! exactly the lines whose key material is an imported key, in loket's format; any
//! other line stays byte for byte and is reported. Afterwards `plan` is empty,
//! `apply` changes nothing and succeeds, and `audit` lists only lines no import
//! covers. Against the key directory (files) and a real sshd (the users still log
//! in with their keys).

#[path = "common/apply.rs"]
mod apply;
mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use apply::*;
use common::sshd::{Sshd, keygen};

const OPD: &str = "Dinas Kesehatan";

/// An instance as an office has it before its first apply, with `server_backend`
/// as its `[backends.server]` table (the key directory when `None`).
fn empty_instance(dir: &Path, server_backend: Option<&str>) -> PathBuf {
    let id = age::x25519::Identity::generate();
    let state = dir.join("state");
    let inst = instance(dir, &backends(&id.to_public().to_string(), "", &state));
    for sub in ["requests", "accounts", "records"] {
        fs::remove_dir_all(inst.join(sub)).unwrap();
    }
    for sub in ["requests", "accounts/mail", "accounts/server"] {
        fs::create_dir_all(inst.join(sub)).unwrap();
    }
    if let Some(table) = server_backend {
        let cfg = inst.join("loket.toml");
        let conf = fs::read_to_string(&cfg).unwrap();
        let start = conf.find("[backends.server]").unwrap();
        let end = conf[start..].find("[[servers]]").unwrap() + start;
        fs::write(&cfg, format!("{}{table}\n{}", &conf[..start], &conf[end..])).unwrap();
    }
    inst
}

fn import_unix(inst: &Path, passwd: &Path, uid: &str, keys: &[(&str, &Path)]) -> String {
    let passwd = passwd.display().to_string();
    let mut args = vec![
        "import", "--opd", OPD, "unix", "--server", "app-1", "--passwd", &passwd,
    ];
    args.extend(["--uid-min", uid, "--uid-max", uid]);
    let keys: Vec<String> = keys
        .iter()
        .map(|(login, p)| format!("{login}={}", p.display()))
        .collect();
    for k in &keys {
        args.extend(["--keys", k]);
    }
    let out = loket(inst, &args);
    assert_eq!(code(&out), 0, "import: {}", text(&out));
    let t = text(&out);
    let at = t.find("import ticket ").expect("the batch ticket") + "import ticket ".len();
    t[at..at + 15].to_string()
}

/// Every file under `dir` (names, bytes), to show a step changed nothing.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| (e.path().to_path_buf(), fs::read(e.path()).unwrap()))
        .collect()
}

fn run_ok(inst: &Path, args: &[&str]) -> String {
    let out = loket(inst, args);
    assert_eq!(code(&out), 0, "{args:?}: {}", text(&out));
    text(&out)
}

/// `type base64` of a public key line.
fn material(line: &str) -> String {
    line.split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The line loket writes for `key` granted by `ticket` until the import's last day.
fn loket_line(key: &str, ticket: &str, account: &str) -> String {
    let expires = account
        .lines()
        .find_map(|l| l.strip_prefix("expires = "))
        .expect("an imported key has a last day");
    let last: jiff::civil::Date = expires.trim().parse().unwrap();
    let stop = last.tomorrow().unwrap().strftime("%Y%m%d").to_string();
    format!("expiry-time=\"{stop}\" {} loket:{ticket}", material(key))
}

fn public_key(dir: &Path, name: &str, comment: &str) -> String {
    keygen(&dir.join(name), comment)
}

#[test]
fn imported_keys_in_a_key_directory_are_taken_over_by_adopt_files_only() {
    let tmp = tempfile::tempdir().unwrap();
    let inst = empty_instance(tmp.path(), None);
    let keys = tmp.path().join("state/keys/app-1");
    fs::create_dir_all(&keys).unwrap();
    let (k1, k2, k3) = (
        public_key(tmp.path(), "k1", "budi@laptop-dinkes"),
        public_key(tmp.path(), "k2", "sri@pc-dinkes"),
        public_key(tmp.path(), "k3", "vendor@support"),
    );
    // The office's own key folder (no marker): two keys it knows, one it does not.
    let live = keys.join("opd-dinkes");
    let office = format!("{k1}\n{k3}\n{k2}\n");
    fs::write(&live, &office).unwrap();
    let known = tmp.path().join("dinkes.keys");
    fs::write(&known, format!("{k1}\n{k2}\n")).unwrap();
    let passwd = tmp.path().join("passwd");
    fs::write(
        &passwd,
        "root:x:0:0:root:/root:/bin/bash\nopd-dinkes:x:1001:1001::/home/opd-dinkes:/bin/sh\n",
    )
    .unwrap();
    let batch = import_unix(&inst, &passwd, "1001", &[("opd-dinkes", &known)]);
    run_ok(&inst, &["check"]);

    // Before: the folder is not loket's; audit and apply name adopt-files.
    let audit = loket(&inst, &["audit"]);
    assert_eq!(code(&audit), 2, "{}", text(&audit));
    assert!(
        text(&audit).contains("loket adopt-files"),
        "{}",
        text(&audit)
    );
    let refused = loket(&inst, &["apply", "--approvals", "records"]);
    assert_eq!(code(&refused), 1, "{}", text(&refused));
    assert!(
        text(&refused).contains("loket adopt-files"),
        "{}",
        text(&refused)
    );

    let before = snapshot(&tmp.path().join("state/keys"));
    let dry = run_ok(&inst, &["adopt-files", "--dry-run"]);
    assert!(dry.contains("would take over 2 key line(s)"), "{dry}");
    assert!(dry.contains("opd-dinkes:2: left as it is"), "{dry}");
    assert!(!dry.contains("vendor@support"), "no comment shown: {dry}");
    assert_eq!(
        snapshot(&tmp.path().join("state/keys")),
        before,
        "a dry run changes no byte"
    );

    let said = run_ok(&inst, &["adopt-files"]);
    assert!(said.contains("took over 2 key line(s)"), "{said}");
    let account = fs::read_to_string(inst.join("accounts/server/app-1/opd-dinkes.toml")).unwrap();
    assert_eq!(
        fs::read_to_string(&live).unwrap(),
        format!(
            "{}\n{k3}\n{}\n",
            loket_line(&k1, &batch, &account),
            loket_line(&k2, &batch, &account)
        ),
        "the imported lines in loket's format, the other one untouched"
    );
    assert!(keys.join(".managed-by-loket").is_file());

    let plan = run_ok(&inst, &["plan"]);
    assert!(plan.contains("No changes"), "{plan}");
    let after = snapshot(&tmp.path().join("state/keys"));
    let applied = run_ok(&inst, &["apply", "--approvals", "records"]);
    assert!(applied.contains("0 changes."), "{applied}");
    assert_eq!(
        snapshot(&tmp.path().join("state/keys")),
        after,
        "apply changes nothing"
    );
    // The one line no import covers is what audit still reports; once the office
    // removes it, nothing is left.
    let audit = loket(&inst, &["audit"]);
    let t = text(&audit);
    assert_eq!(code(&audit), 2, "{t}");
    assert!(
        t.contains(&format!("opd-dinkes@app-1: {}", &material(&k3)[..40])),
        "{t}"
    );
    assert_eq!(t.matches("opd-dinkes@app-1:").count(), 1, "{t}");
    let text_now = fs::read_to_string(&live).unwrap();
    fs::write(&live, text_now.replace(&format!("{k3}\n"), "")).unwrap();
    assert!(run_ok(&inst, &["audit"]).contains("No drift"));
    // A second run finds nothing left to take over.
    let again = run_ok(&inst, &["adopt-files"]);
    assert!(again.contains("no line to take over"), "{again}");
}

#[test]
fn a_key_line_whose_blob_differs_from_the_imported_key_is_not_taken_over() {
    let tmp = tempfile::tempdir().unwrap();
    let inst = empty_instance(tmp.path(), None);
    let keys = tmp.path().join("state/keys/app-1");
    fs::create_dir_all(&keys).unwrap();
    fs::write(keys.join(".managed-by-loket"), "# managed by loket\n").unwrap();
    let imported = public_key(tmp.path(), "k1", "budi@laptop-dinkes");
    // Same comment, another key: the comment never counts.
    let other = public_key(tmp.path(), "k2", "budi@laptop-dinkes");
    let live = keys.join("opd-dinkes");
    fs::write(&live, format!("{other}\n")).unwrap();
    let known = tmp.path().join("dinkes.keys");
    fs::write(&known, format!("{imported}\n")).unwrap();
    let passwd = tmp.path().join("passwd");
    fs::write(
        &passwd,
        "opd-dinkes:x:1001:1001::/home/opd-dinkes:/bin/sh\n",
    )
    .unwrap();
    let batch = import_unix(&inst, &passwd, "1001", &[("opd-dinkes", &known)]);
    run_ok(&inst, &["check"]);

    let said = run_ok(&inst, &["adopt-files"]);
    assert!(said.contains("matches no key imported"), "{said}");
    assert!(said.contains("no line to take over"), "{said}");
    assert_eq!(fs::read_to_string(&live).unwrap(), format!("{other}\n"));
    // The imported key is not live: plan grants it under the batch, and the gate
    // refuses, naming the step (a batch approves no new access).
    let plan = loket(&inst, &["plan"]);
    assert!(
        text(&plan).contains(&format!("grant    opd-dinkes@app-1 key {batch}")),
        "{}",
        text(&plan)
    );
    let refused = loket(&inst, &["apply", "--approvals", "records"]);
    let t = text(&refused);
    assert_eq!(code(&refused), 1, "{t}");
    assert!(
        t.contains("REFUSED") && t.contains("import` batch") && t.contains("adopt-files"),
        "{t}"
    );
    assert_eq!(fs::read_to_string(&live).unwrap(), format!("{other}\n"));
}

/// A real account on a real sshd: `useradd`, an authorized_keys owned by the user.
fn office_account(sshd: &Sshd, tag: &str, lines: &[&str]) -> (String, PathBuf, String) {
    let login = sshd.new_login(tag);
    let st = Command::new("useradd")
        .args(["-m", "-s", "/bin/bash", &login])
        .status()
        .unwrap();
    assert!(st.success());
    let home = PathBuf::from(format!("/home/{login}"));
    fs::create_dir_all(home.join(".ssh")).unwrap();
    let ak = home.join(".ssh/authorized_keys");
    let body: String = lines.iter().map(|l| format!("{l}\n")).collect();
    fs::write(&ak, body).unwrap();
    for (p, mode) in [(home.join(".ssh"), "700"), (ak.clone(), "600")] {
        let p = p.display().to_string();
        let owner = format!("{login}:{login}");
        assert!(
            Command::new("chown")
                .args([&owner, &p])
                .status()
                .unwrap()
                .success()
        );
        assert!(
            Command::new("chmod")
                .args([mode, &p])
                .status()
                .unwrap()
                .success()
        );
    }
    let uid = Command::new("id").args(["-u", &login]).output().unwrap();
    let uid = String::from_utf8(uid.stdout).unwrap().trim().to_string();
    (login, ak, uid)
}

fn ssh_in(sshd: &Sshd, login: &str, key: &Path) -> bool {
    use loket::apply::ssh::{LoginOutcome, SshHost};
    let r = SshHost::new(sshd.target("app-1"))
        .try_login(login, key)
        .unwrap();
    matches!(r, LoginOutcome::Accepted)
}

#[test]
fn imported_keys_on_a_real_sshd_are_taken_over_by_adopt_files_only() {
    let Some(sshd) = Sshd::start() else { return };
    let tmp = tempfile::tempdir().unwrap();
    let d = sshd.dir.path();
    let (k1, k2, k3) = (
        public_key(d, "k1", "budi@laptop-dinkes"),
        public_key(d, "k2", "sri@pc-dinkes"),
        public_key(d, "k3", "vendor@support"),
    );
    let (login, ak, uid) = office_account(&sshd, "ak", &[&k1, &k3, &k2]);
    for k in ["k1", "k2", "k3"] {
        assert!(
            ssh_in(&sshd, &login, &d.join(k)),
            "the office's {k} logs in"
        );
    }
    let table = format!(
        "[backends.server]\ntype = \"ssh\"\nidentity-file = \"{}\"\n",
        sshd.admin_identity.display()
    );
    let inst = empty_instance(tmp.path(), Some(&table));
    let cfg = inst.join("loket.toml");
    let conf = fs::read_to_string(&cfg).unwrap().replace(
        "address = \"10.17.1.21\"",
        &format!(
            "address = \"127.0.0.1\"\nport = {}\nhost-key = \"{}\"",
            sshd.port, sshd.host_key
        ),
    );
    fs::write(&cfg, conf).unwrap();
    // The admin imports the two keys the office knows of.
    let known = tmp.path().join("known.keys");
    fs::write(&known, format!("{k1}\n{k2}\n")).unwrap();
    let batch = import_unix(&inst, Path::new("/etc/passwd"), &uid, &[(&login, &known)]);
    run_ok(&inst, &["check"]);

    // Before: drift, and apply refuses the grants plan proposes, naming the step.
    let audit = loket(&inst, &["audit"]);
    assert_eq!(code(&audit), 2, "{}", text(&audit));
    assert!(
        text(&audit).contains("Keys not in the registry"),
        "{}",
        text(&audit)
    );
    let office = fs::read(&ak).unwrap();
    let refused = loket(&inst, &["apply", "--approvals", "records"]);
    let t = text(&refused);
    assert_eq!(code(&refused), 1, "{t}");
    assert!(
        t.contains("REFUSED") && t.contains("loket adopt-files"),
        "{t}"
    );
    assert_eq!(fs::read(&ak).unwrap(), office, "apply took nothing over");

    let dry = run_ok(&inst, &["adopt-files", "--dry-run"]);
    assert!(
        dry.contains("would take over 2 authorized_keys line(s)"),
        "{dry}"
    );
    assert!(dry.contains("line left as it is"), "{dry}");
    assert!(!dry.contains("vendor@support"), "{dry}");
    assert_eq!(fs::read(&ak).unwrap(), office, "a dry run changes no byte");

    let said = run_ok(&inst, &["adopt-files"]);
    assert!(
        said.contains("took over 2 authorized_keys line(s)"),
        "{said}"
    );
    let account =
        fs::read_to_string(inst.join(format!("accounts/server/app-1/{login}.toml"))).unwrap();
    assert_eq!(
        fs::read_to_string(&ak).unwrap(),
        format!(
            "{}\n{k3}\n{}\n",
            loket_line(&k1, &batch, &account),
            loket_line(&k2, &batch, &account)
        )
    );
    for k in ["k1", "k2", "k3"] {
        assert!(ssh_in(&sshd, &login, &d.join(k)), "{k} still logs in");
    }

    let plan = run_ok(&inst, &["plan"]);
    assert!(plan.contains("No changes"), "{plan}");
    let taken = fs::read(&ak).unwrap();
    let applied = run_ok(&inst, &["apply", "--approvals", "records"]);
    assert!(applied.contains("0 changes."), "{applied}");
    assert_eq!(fs::read(&ak).unwrap(), taken, "apply changes nothing");
    let audit = loket(&inst, &["audit"]);
    let t = text(&audit);
    assert!(
        t.contains(&format!("{login}@app-1: {}", &material(&k3)[..40])),
        "{t}"
    );
    assert_eq!(t.matches(&format!("{login}@app-1:")).count(), 1, "{t}");
    let text_now = fs::read_to_string(&ak).unwrap();
    fs::write(&ak, text_now.replace(&format!("{k3}\n"), "")).unwrap();
    assert!(run_ok(&inst, &["audit"]).contains("No drift"));

    // Another account whose live key is not the one imported (same comment): left.
    let k4 = public_key(d, "k4", "budi@laptop-dinkes");
    let k5 = public_key(d, "k5", "budi@laptop-dinkes");
    let (login2, ak2, uid2) = office_account(&sshd, "neg", &[&k5]);
    let known2 = tmp.path().join("known2.keys");
    fs::write(&known2, format!("{k4}\n")).unwrap();
    let batch2 = import_unix(
        &inst,
        Path::new("/etc/passwd"),
        &uid2,
        &[(&login2, &known2)],
    );
    let before = fs::read(&ak2).unwrap();
    let said = run_ok(&inst, &["adopt-files"]);
    assert!(said.contains("matches no key imported"), "{said}");
    assert_eq!(fs::read(&ak2).unwrap(), before);
    let refused = loket(&inst, &["apply", "--approvals", "records"]);
    let t = text(&refused);
    assert_eq!(code(&refused), 1, "{t}");
    assert!(t.contains(&batch2) && t.contains("adopt-files"), "{t}");
    assert_eq!(fs::read(&ak2).unwrap(), before);
    assert!(ssh_in(&sshd, &login2, &d.join("k5")));
}
