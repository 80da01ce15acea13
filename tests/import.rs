//! `loket import` (issue 14, item 3) end to end: an office's own Dovecot
//! passwd-file, which a real Dovecot authenticates from, is imported into an empty
//! instance; `loket check` is clean; after the one explicit `loket adopt-files`,
//! `loket audit` against the same Dovecot shows no drift and the users still log in.
//! Then a `zmprov -l gaa -v` listing and a server's /etc/passwd + authorized_keys,
//! and the refusals: collisions in the source, a malformed line, a re-run, a
//! differing entry, and never a hash in accounts/ or the output.

#[path = "common/apply.rs"]
mod apply;
mod common;
#[path = "common/fake_forge.rs"]
mod fake_forge;
#[path = "common/mail.rs"]
mod mail;
#[path = "common/office.rs"]
mod office;

use std::fs;
use std::path::{Path, PathBuf};

use apply::*;
use loket::apply::Secret;
use loket::apply::credentials::sha512_crypt;
use loket::apply::mailcheck;

const OPD: &str = "Dinas Komunikasi dan Informatika";

/// An instance as an office has it before its first apply: config, no requests, no
/// accounts.
fn empty_instance(dir: &Path, mail_backend: &str) -> PathBuf {
    let id = age::x25519::Identity::generate();
    let state = dir.join("state");
    let inst = instance(
        dir,
        &backends(&id.to_public().to_string(), mail_backend, &state),
    );
    for sub in ["requests", "accounts", "records"] {
        fs::remove_dir_all(inst.join(sub)).unwrap();
    }
    for sub in ["requests", "accounts/mail", "accounts/server"] {
        fs::create_dir_all(inst.join(sub)).unwrap();
    }
    inst
}

fn hash(pw: &str) -> String {
    format!(
        "{{SHA512-CRYPT}}{}",
        sha512_crypt(&Secret::new(pw.into())).unwrap()
    )
}

/// Every file under `dir`, as text.
fn all_text(dir: &Path) -> String {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| fs::read_to_string(e.path()).unwrap_or_default())
        .collect()
}

fn import(inst: &Path, args: &[&str]) -> std::process::Output {
    let mut all = vec!["import", "--opd", OPD];
    all.extend_from_slice(args);
    loket(inst, &all)
}

fn assert_ok(o: &std::process::Output, what: &str) {
    assert_eq!(code(o), 0, "{what}: {}", text(o));
}

const BUDI: &str = "budi.santoso@kuduskab.go.id";
const SRI: &str = "sri.wahyuni@kuduskab.go.id";
const EKO: &str = "eko@kuduskab.go.id";

#[test]
fn a_dovecot_passwd_file_imports_checks_clean_and_audits_without_drift() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(server) = mail::MailServer::start(&tmp.path().join("mail")) else {
        return;
    };
    let inst = empty_instance(tmp.path(), &server.backend_toml());
    // The office's own files: no marker, names in the gecos, one account disabled.
    let (hb, hs, he) = (
        hash("budi-secret-1"),
        hash("sri-secret-2"),
        hash("eko-secret-3"),
    );
    let v = mail::VMAIL_ID;
    let vm = server.vmail.display();
    let passwd = format!(
        "{BUDI}:{hb}:{v}:{v}:Budi Santoso:{vm}/kuduskab.go.id/budi.santoso::\n\
         {SRI}:{hs}:{v}:{v}::{vm}/kuduskab.go.id/sri.wahyuni::\n\
         {EKO}:{he}:{v}:{v}:Eko:{vm}/kuduskab.go.id/eko::nologin\n"
    );
    fs::write(&server.passwd, &passwd).unwrap();
    fs::write(
        &server.virtual_mailboxes,
        format!("{BUDI} kuduskab.go.id/budi.santoso/\n{SRI} kuduskab.go.id/sri.wahyuni/\n"),
    )
    .unwrap();
    // The running Dovecot authenticates from exactly this file.
    mailcheck::imap_login(&server.imap(), BUDI, &Secret::new("budi-secret-1".into())).unwrap();
    assert!(
        mailcheck::imap_login(&server.imap(), EKO, &Secret::new("eko-secret-3".into())).is_err()
    );

    let dry = import(
        &inst,
        &["--dry-run", "dovecot", &server.passwd.display().to_string()],
    );
    assert_ok(&dry, "dry run");
    assert!(text(&dry).contains("would write accounts/mail/budi.santoso@kuduskab.go.id.toml"));
    assert!(
        fs::read_dir(inst.join("accounts/mail"))
            .unwrap()
            .next()
            .is_none()
    );

    let out = import(&inst, &["dovecot", &server.passwd.display().to_string()]);
    assert_ok(&out, "import");
    assert!(text(&out).contains("imported 3 account(s) under import ticket KDS-"));
    let budi = fs::read_to_string(inst.join(format!("accounts/mail/{BUDI}.toml"))).unwrap();
    assert!(
        budi.contains("imported = \"dovecot\"") && budi.contains("name = \"Budi Santoso\""),
        "{budi}"
    );
    let eko = fs::read_to_string(inst.join(format!("accounts/mail/{EKO}.toml"))).unwrap();
    assert!(eko.contains("status = \"disabled\""), "{eko}");
    let config = fs::read_to_string(inst.join("loket.toml")).unwrap();
    assert!(
        config.contains("[[imports]]") && config.contains("accounts = 3"),
        "{config}"
    );
    // No hash, no part of one, in accounts/, loket.toml or the output.
    let written = format!(
        "{}{config}{}{}",
        all_text(&inst.join("accounts")),
        text(&dry),
        text(&out)
    );
    for h in [&hb, &hs, &he] {
        let body = h.rsplit('$').next().unwrap();
        assert!(!written.contains(body), "a hash leaked");
    }
    assert!(!written.contains("$6$"));

    let check = loket(&inst, &["check"]);
    assert_ok(&check, "check");

    // Re-run: nothing to import, nothing written.
    let again = import(&inst, &["dovecot", &server.passwd.display().to_string()]);
    assert_ok(&again, "re-run");
    assert!(
        text(&again).contains("nothing to import"),
        "{}",
        text(&again)
    );
    assert_eq!(fs::read_to_string(inst.join("loket.toml")).unwrap(), config);

    // Import wrote nothing live; audit reads the files only once they are loket's.
    assert_eq!(fs::read_to_string(&server.passwd).unwrap(), passwd);
    let audit = loket(&inst, &["audit"]);
    assert_ne!(code(&audit), 0, "{}", text(&audit));
    assert!(
        text(&audit).contains("loket adopt-files"),
        "{}",
        text(&audit)
    );
    assert_ok(&loket(&inst, &["adopt-files"]), "adopt-files");
    let audit = loket(&inst, &["audit"]);
    assert_ok(&audit, "audit");
    assert!(text(&audit).contains("No drift"), "{}", text(&audit));
    // The taken-over file still logs the same users in, with the same passwords.
    mailcheck::imap_login(&server.imap(), BUDI, &Secret::new("budi-secret-1".into())).unwrap();
    mailcheck::imap_login(&server.imap(), SRI, &Secret::new("sri-secret-2".into())).unwrap();
    assert!(
        mailcheck::imap_login(&server.imap(), EKO, &Secret::new("eko-secret-3".into())).is_err()
    );
    // A re-run against the taken-over file still finds nothing new.
    let again = import(&inst, &["dovecot", &server.passwd.display().to_string()]);
    assert!(
        text(&again).contains("nothing to import"),
        "{}",
        text(&again)
    );
    // And apply has nothing to do for them.
    let plan = loket(&inst, &["plan"]);
    assert_ok(&plan, "plan");
    assert!(!text(&plan).contains("kuduskab.go.id"), "{}", text(&plan));
}

/// A passwd-file in a temp dir (no daemon needed for refusals made before any read
/// of the live system).
fn passwd_file(dir: &Path, body: &str) -> String {
    let p = dir.join("users");
    fs::write(&p, body).unwrap();
    p.display().to_string()
}

fn dovecot_backend(dir: &Path) -> String {
    format!(
        "[backends.mail]\ntype = \"dovecot\"\npasswd-file = \"{}/live/users\"\n",
        dir.display()
    )
}

#[test]
fn colliding_accounts_in_the_source_are_named_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let inst = empty_instance(tmp.path(), &dovecot_backend(tmp.path()));
    let h = hash("x-secret-0000");
    let file = passwd_file(
        tmp.path(),
        &format!(
            "# office\nbudi.santoso@kuduskab.go.id:{h}:5000:5000::/v/a::\n\
             budisantoso@kuduskab.go.id:{h}:5000:5000::/v/b::\nBUDI.SANTOSO@kuduskab.go.id:{h}\n\
             ani@example.org:{h}\nx/../../loket@kuduskab.go.id:{h}\n"
        ),
    );
    let before = fs::read_to_string(inst.join("loket.toml")).unwrap();
    let out = import(&inst, &["dovecot", &file]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    let t = text(&out);
    assert!(t.contains(&format!("{file}:3: L024 mail-unique")), "{t}");
    assert!(t.contains(&format!("{file}:4: L024 mail-unique")), "{t}");
    assert!(t.contains(&format!("at {file}:2")), "{t}");
    assert!(t.contains(&format!("{file}:5: L022 mail-domain")), "{t}");
    assert!(
        t.contains(&format!("{file}:6: L020 mail-local-part")),
        "{t}"
    );
    assert!(!t.contains("$6$"), "{t}");
    assert!(
        fs::read_dir(inst.join("accounts/mail"))
            .unwrap()
            .next()
            .is_none()
    );
    assert_eq!(fs::read_to_string(inst.join("loket.toml")).unwrap(), before);
}

#[test]
fn a_malformed_line_names_file_and_line_and_never_the_hash() {
    let tmp = tempfile::tempdir().unwrap();
    let inst = empty_instance(tmp.path(), &dovecot_backend(tmp.path()));
    let h = hash("y-secret-0000");
    for bad in [
        "root".to_string(),
        format!("Budi Santoso:{h}:5000"),
        "x@kuduskab.go.id:".to_string(),
    ] {
        let file = passwd_file(tmp.path(), &format!("ok@kuduskab.go.id:{h}\n\n{bad}\n"));
        let out = import(&inst, &["dovecot", &file]);
        assert_eq!(code(&out), 1, "{}", text(&out));
        assert!(
            text(&out).contains(&format!("{file}:3: ")),
            "{}",
            text(&out)
        );
        assert!(!text(&out).contains("$6$"), "{}", text(&out));
    }
    // Not a regular file: refused unread.
    let link = tmp.path().join("link");
    std::os::unix::fs::symlink(tmp.path().join("users"), &link).unwrap();
    let out = import(&inst, &["dovecot", &link.display().to_string()]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(
        fs::read_dir(inst.join("accounts/mail"))
            .unwrap()
            .next()
            .is_none()
    );
}

#[test]
fn an_entry_already_there_differently_is_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let inst = empty_instance(tmp.path(), &dovecot_backend(tmp.path()));
    let h = hash("z-secret-0000");
    let file = passwd_file(
        tmp.path(),
        &format!("{BUDI}:{h}:5000:5000:Budi Santoso:/v/b::\n"),
    );
    assert_ok(&import(&inst, &["dovecot", &file]), "first import");
    // The office disabled Budi since: the source no longer matches accounts/.
    let file = passwd_file(
        tmp.path(),
        &format!("{BUDI}:{h}:5000:5000:Budi Santoso:/v/b::nologin\n{SRI}:{h}\n"),
    );
    let before = fs::read_to_string(inst.join("loket.toml")).unwrap();
    let out = import(&inst, &["dovecot", &file]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(
        text(&out).contains(&format!("{file}:1: {BUDI} is already in accounts/mail/")),
        "{}",
        text(&out)
    );
    assert!(!inst.join(format!("accounts/mail/{SRI}.toml")).exists());
    assert_eq!(fs::read_to_string(inst.join("loket.toml")).unwrap(), before);
}

const LISTING: &str = "# name budi.santoso@kuduskab.go.id\ncn: Budi\ndisplayName: Budi Santoso\n\
    userPassword: VALUE-BLOCKED\nzimbraAccountStatus: active\nzimbraMailStatus: enabled\n\
    zimbraPrefMailSignature: Salam,\nBudi Santoso\n\n# name galsync.x@kuduskab.go.id\n\
    zimbraAccountStatus: active\nzimbraIsSystemResource: TRUE\n\n\
    # name sri.wahyuni@kuduskab.go.id\ncn: Sri Wahyuni\nzimbraAccountStatus: locked\n";

#[test]
fn a_zmprov_listing_imports_and_checks_clean() {
    let tmp = tempfile::tempdir().unwrap();
    let inst = empty_instance(tmp.path(), &dovecot_backend(tmp.path()));
    let file = tmp.path().join("gaa.txt");
    fs::write(&file, LISTING).unwrap();
    let out = import(&inst, &["zimbra", &file.display().to_string()]);
    assert_ok(&out, "import");
    assert!(
        text(&out).contains("imported 2 account(s)"),
        "{}",
        text(&out)
    );
    let sri = fs::read_to_string(inst.join(format!("accounts/mail/{SRI}.toml"))).unwrap();
    assert!(
        sri.contains("status = \"disabled\"") && sri.contains("name = \"Sri Wahyuni\""),
        "{sri}"
    );
    assert!(sri.contains("imported = \"zimbra\""), "{sri}");
    assert!(
        !inst
            .join("accounts/mail/galsync.x@kuduskab.go.id.toml")
            .exists()
    );
    assert_ok(&loket(&inst, &["check"]), "check");
    let again = import(&inst, &["zimbra", &file.display().to_string()]);
    assert!(
        text(&again).contains("nothing to import"),
        "{}",
        text(&again)
    );
    // A malformed listing names its line.
    fs::write(&file, format!("cn: stray\n{LISTING}")).unwrap();
    let out = import(&inst, &["zimbra", &file.display().to_string()]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(
        text(&out).contains(&format!("{}:1: ", file.display())),
        "{}",
        text(&out)
    );
}

#[test]
fn an_account_slipped_under_the_import_ticket_fails_check() {
    let tmp = tempfile::tempdir().unwrap();
    let inst = empty_instance(tmp.path(), &dovecot_backend(tmp.path()));
    let file = tmp.path().join("gaa.txt");
    fs::write(&file, LISTING).unwrap();
    assert_ok(
        &import(&inst, &["zimbra", &file.display().to_string()]),
        "import",
    );
    let budi = fs::read_to_string(inst.join(format!("accounts/mail/{BUDI}.toml"))).unwrap();
    fs::write(
        inst.join("accounts/mail/tamu@kuduskab.go.id.toml"),
        budi.replace(BUDI, "tamu@kuduskab.go.id"),
    )
    .unwrap();
    let check = loket(&inst, &["check"]);
    assert_eq!(code(&check), 1, "{}", text(&check));
    assert!(text(&check).contains("L046"), "{}", text(&check));
}

/// The import's pull request changes loket.toml and accounts/ with no request: it
/// needs the config-change role (A010), whose holder cannot approve their own import
/// (A004), on both forges.
#[test]
fn the_import_pull_request_needs_the_config_change_role() {
    use fake_forge::{Flavor, Verdict, git, json_of};
    use office::{KABID, KADIS, KASI, Office};
    for flavor in [Flavor::GitHub, Flavor::Forgejo] {
        let mut o = Office::new(flavor);
        let users = o.dir.parent().unwrap().join("users");
        fs::write(
            &users,
            format!("{BUDI}:{}:5000:5000:Budi Santoso:/v/b::\n", hash("w-0000")),
        )
        .unwrap();
        assert_ok(
            &import(&o.dir, &["dovecot", &users.display().to_string()]),
            "import",
        );
        let rel = format!("accounts/mail/{BUDI}.toml");
        let read = |p: &str| Some(fs::read_to_string(o.dir.join(p)).unwrap());
        let files = [
            ("loket.toml", read("loket.toml")),
            (rel.as_str(), read(&rel)),
        ];
        git(&o.dir, &["checkout", "-q", "--", "."]);
        git(&o.dir, &["clean", "-qfd"]);
        for (author, self_approval) in [(KASI, KASI), (KADIS, KADIS)] {
            let n = o.open(author, &files);
            let review = |o: &Office| {
                git(&o.dir, &["checkout", "-q", &format!("pr-{n}")]);
                let out = o.loket(&["review", "--pr", &n.to_string(), "--format", "json"]);
                git(&o.dir, &["checkout", "-q", "main"]);
                (code(&out), json_of(&out), text(&out))
            };
            o.review(n, self_approval, Verdict::Approve, 10);
            o.review(n, KABID, Verdict::Approve, 20);
            let (exit, json, out) = review(&o);
            assert_eq!(exit, 3, "{author}: {out}");
            let paths = json["config-change"]["paths"].to_string();
            assert!(
                paths.contains("loket.toml") && paths.contains(&rel),
                "{out}"
            );
            if author != KADIS {
                o.review(n, KADIS, Verdict::Approve, 30);
                let (exit, _, out) = review(&o);
                assert_eq!(exit, 0, "{out}");
            }
        }
    }
}

/// The office's own directory: people under `ou=mail` of the real slapd, one locked
/// (`{CRYPT}!…`), names in displayName or cn, and an entry without mail (not an
/// account). Import reads it with the backend's client; check is clean; audit
/// against the same directory shows no drift; a re-run finds nothing new.
#[test]
fn an_ldap_subtree_imports_checks_clean_and_audits_without_drift() {
    use common::slapd::{ADMIN_DN, ADMIN_PW, SUFFIX, Slapd};
    use std::collections::HashSet;
    let Some(slapd) = Slapd::start() else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let backend = format!(
        "[backends.mail]\ntype = \"ldap\"\nurl = \"{}\"\nbind-dn = \"{ADMIN_DN}\"\n\
         base = \"ou=mail,{SUFFIX}\"\n",
        slapd.url
    );
    let inst = empty_instance(tmp.path(), &backend);
    let mut c = ldap3::LdapConn::new(&slapd.url).unwrap();
    c.simple_bind(ADMIN_DN, ADMIN_PW)
        .unwrap()
        .success()
        .unwrap();
    let hb = format!(
        "{{CRYPT}}{}",
        sha512_crypt(&Secret::new("b-secret-01".into())).unwrap()
    );
    let hs = format!(
        "{{CRYPT}}!{}",
        sha512_crypt(&Secret::new("s-secret-02".into())).unwrap()
    );
    let people: [(&str, &[(&str, &str)]); 3] = [
        (
            BUDI,
            &[
                ("cn", "Budi"),
                ("displayName", "Budi Santoso"),
                ("userPassword", &hb),
            ],
        ),
        (SRI, &[("cn", "Sri Wahyuni"), ("userPassword", &hs)]),
        ("printer", &[("cn", "Printer lantai 2")]),
    ];
    for (uid, attrs) in people {
        let set = |v: &str| HashSet::from([v.to_string()]);
        let mut add = vec![
            (
                "objectClass".to_string(),
                ["top", "person", "organizationalPerson", "inetOrgPerson"]
                    .map(String::from)
                    .into(),
            ),
            ("uid".to_string(), set(uid)),
            ("sn".to_string(), set(uid.split('@').next().unwrap())),
        ];
        if uid.contains('@') {
            add.push(("mail".to_string(), set(uid)));
        }
        add.extend(attrs.iter().map(|(a, v)| (a.to_string(), set(v))));
        let dn = format!("uid={uid},ou=mail,{SUFFIX}");
        c.add(&dn, add).unwrap().success().unwrap();
    }
    let run = |args: &[&str]| {
        common::loket()
            .arg("-C")
            .arg(&inst)
            .args(args)
            .env("LOKET_LDAP_PASSWORD", ADMIN_PW)
            .output()
            .unwrap()
    };
    let out = run(&["import", "--opd", OPD, "ldap"]);
    assert_ok(&out, "import");
    assert!(
        text(&out).contains("imported 2 account(s)"),
        "{}",
        text(&out)
    );
    let budi = fs::read_to_string(inst.join(format!("accounts/mail/{BUDI}.toml"))).unwrap();
    assert!(budi.contains("name = \"Budi Santoso\"") && budi.contains("imported = \"ldap\""));
    let sri = fs::read_to_string(inst.join(format!("accounts/mail/{SRI}.toml"))).unwrap();
    assert!(sri.contains("status = \"disabled\"") && sri.contains("name = \"Sri Wahyuni\""));
    let written = format!("{}{}", all_text(&inst.join("accounts")), text(&out));
    for h in [&hb, &hs] {
        assert!(
            !written.contains(h.rsplit('$').next().unwrap()),
            "a hash leaked"
        );
    }
    assert_ok(&run(&["check"]), "check");
    let audit = run(&["audit"]);
    assert_ok(&audit, "audit");
    assert!(text(&audit).contains("No drift"), "{}", text(&audit));
    let again = run(&["import", "--opd", OPD, "ldap"]);
    assert!(
        text(&again).contains("nothing to import"),
        "{}",
        text(&again)
    );
    // Without the bind password: a clear error, nothing written.
    let out = import(&inst, &["ldap"]);
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(text(&out).contains("LOKET_LDAP_PASSWORD"), "{}", text(&out));
}

/// A server's real /etc/passwd and a user's authorized_keys that the running sshd
/// lets in: the login becomes an OPD account with its key (options dropped), check
/// is clean, a re-run finds nothing. Audit knows the account; the key line, not yet
/// carrying loket's `loket:<ticket>` comment, is listed as not in the registry until
/// `loket adopt-files` takes it over (tests/import_keys.rs).
#[test]
fn a_servers_passwd_and_authorized_keys_import_as_opd_accounts() {
    use common::sshd::{Sshd, keygen};
    use loket::apply::ssh::{LoginOutcome, SshHost};
    use std::process::Command;
    let Some(sshd) = Sshd::start() else { return };
    let login = sshd.new_login("imp");
    let st = Command::new("useradd")
        .args(["-m", "-s", "/bin/bash", &login])
        .status()
        .unwrap();
    assert!(st.success());
    let home = PathBuf::from(format!("/home/{login}"));
    let user_key = sshd.dir.path().join("user");
    let public = keygen(&user_key, "budi@laptop-dinkes");
    fs::create_dir_all(home.join(".ssh")).unwrap();
    let ak = home.join(".ssh/authorized_keys");
    fs::write(
        &ak,
        format!("# the office's keys\nfrom=\"127.0.0.1\" {public}\n"),
    )
    .unwrap();
    let own = |p: &Path, mode: &str| {
        assert!(
            Command::new("chown")
                .args([&format!("{login}:{login}"), &p.display().to_string()])
                .status()
                .unwrap()
                .success()
        );
        assert!(
            Command::new("chmod")
                .args([mode, &p.display().to_string()])
                .status()
                .unwrap()
                .success()
        );
    };
    own(&home.join(".ssh"), "700");
    own(&ak, "600");
    let target = sshd.target("app-1");
    let in_ = SshHost::new(target).try_login(&login, &user_key).unwrap();
    assert!(
        matches!(in_, LoginOutcome::Accepted),
        "the real sshd lets the key in"
    );
    let uid = String::from_utf8(
        Command::new("id")
            .args(["-u", &login])
            .output()
            .unwrap()
            .stdout,
    )
    .unwrap()
    .trim()
    .to_string();

    let tmp = tempfile::tempdir().unwrap();
    let inst = empty_instance(tmp.path(), "");
    let cfg = inst.join("loket.toml");
    let conf = fs::read_to_string(&cfg).unwrap();
    let start = conf.find("[backends.server]").unwrap();
    let end = conf[start..].find("[[servers]]").unwrap() + start;
    let conf = format!(
        "{}[backends.server]\ntype = \"ssh\"\nidentity-file = \"{}\"\n\n{}",
        &conf[..start],
        sshd.admin_identity.display(),
        &conf[end..]
    )
    .replace(
        "address = \"10.17.1.21\"",
        &format!(
            "address = \"127.0.0.1\"\nport = {}\nhost-key = \"{}\"",
            sshd.port, sshd.host_key
        ),
    );
    fs::write(&cfg, conf).unwrap();
    let args = |keys: &str| {
        let mut a = vec!["unix", "--server", "app-1", "--passwd", "/etc/passwd"];
        a.extend(["--uid-min", &uid, "--uid-max", &uid, "--keys"]);
        let mut a: Vec<String> = a.into_iter().map(String::from).collect();
        a.push(keys.to_string());
        a
    };
    let keys = format!("{login}={}", ak.display());
    let args = args(&keys);
    let bad_args = args
        .iter()
        .take(args.len() - 1)
        .cloned()
        .chain(["root=/dev/null".to_string()])
        .collect::<Vec<_>>();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let bad_args: Vec<&str> = bad_args.iter().map(String::as_str).collect();
    let out = import(&inst, &args);
    assert_ok(&out, "import");
    assert!(text_has(&out, "imported 1 account(s)"));
    let acc = fs::read_to_string(inst.join(format!("accounts/server/app-1/{login}.toml"))).unwrap();
    assert!(
        acc.contains("kind = \"opd\"") && acc.contains("imported = \"unix\""),
        "{acc}"
    );
    assert!(
        acc.contains(&format!("key = \"{public}\"")),
        "options dropped, comment kept: {acc}"
    );
    assert!(acc.contains("name = \"budi@laptop-dinkes\""), "{acc}");
    assert_ok(&loket(&inst, &["check"]), "check");
    assert!(text_has(&import(&inst, &args), "nothing to import"));
    // Keys given for a login /etc/passwd does not list as a normal user: refused.
    let bad = import(&inst, &bad_args);
    assert_eq!(code(&bad), 1, "{}", text(&bad));

    let audit = loket(&inst, &["audit"]);
    let t = text(&audit);
    assert!(!t.contains("Server accounts unknown"), "{t}");
    assert!(
        t.contains("Keys not in the registry") && t.contains(&format!("{login}@app-1")),
        "{t}"
    );
    // The live line carries `from="…"`, which loket's line would drop: adopt-files
    // leaves it byte for byte and says why (tests/import_keys.rs takes keys over).
    let live = fs::read(&ak).unwrap();
    let adopt = loket(&inst, &["adopt-files"]);
    assert_ok(&adopt, "adopt-files");
    assert!(
        text_has(&adopt, "from=\"127.0.0.1\"") && text_has(&adopt, "would drop"),
        "{}",
        text(&adopt)
    );
    assert_eq!(fs::read(&ak).unwrap(), live);
}

fn text_has(o: &std::process::Output, needle: &str) -> bool {
    let t = text(o);
    assert!(t.contains(needle), "{t}");
    true
}
