//! `loket plan/apply/verify/audit` end to end: against a real Dovecot + Postfix
//! (tests/common/mail.rs), the key directory, and a run killed at random points.

#[path = "common/apply.rs"]
mod apply;
mod common;
#[path = "common/mail.rs"]
mod mail;

use std::fs;
use std::process::{Command, Stdio};
use std::time::Duration;

use loket::apply::{Secret, mailcheck};
use rand::RngExt;

use apply::*;
use mail::MailServer;

#[test]
fn mail_lifecycle_against_real_dovecot_and_postfix() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(server) = MailServer::start(&tmp.path().join("srv")) else {
        return;
    };
    let id = age::x25519::Identity::generate();
    let state = tmp.path().join("state");
    let inst = instance(
        tmp.path(),
        &backends(&id.to_public().to_string(), &server.backend_toml(), &state),
    );
    // Start before the reset and the deactivation, to apply them later.
    set_account(&inst, LESTARI, "active", &[LESTARI_CREATE]);
    set_account(&inst, BAMBANG, "active", &[BAMBANG_CREATE]);
    let mut outputs = Vec::new();

    let plan = loket(&inst, &["plan"]);
    assert_eq!(code(&plan), 2, "{}", text(&plan));
    assert!(
        text(&plan).contains(&format!("create   {LESTARI}")),
        "{}",
        text(&plan)
    );
    let json = loket(&inst, &["plan", "--format", "json"]);
    let v: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    assert!(v["changes"].as_array().unwrap().len() >= 20);
    outputs.extend([plan, json]);

    // Create: IMAP login and a welcome mail over SMTP, verified by apply itself.
    let apply = loket(&inst, &["apply", "--run", "test-run-1"]);
    assert_eq!(code(&apply), 0, "{}\n{}", text(&apply), server.logs());
    assert!(
        text(&apply).contains(&format!("IMAP login and SMTP delivery to {LESTARI}")),
        "{}",
        text(&apply)
    );
    outputs.push(apply);
    let pw1 = sealed_password(&state, LESTARI_CREATE, &id);
    mailcheck::imap_login(&server.imap(), LESTARI, &pw1).unwrap();
    assert!(mailcheck::imap_login(&server.imap(), LESTARI, &Secret::new("wrong".into())).is_err());
    assert!(mailcheck::inbox_count(&server.imap(), LESTARI, &pw1).unwrap() >= 1);
    let record = fs::read_to_string(inst.join(format!("records/{LESTARI_CREATE}.toml"))).unwrap();
    assert!(record.contains("kind = \"verified\"") && record.contains("run = \"test-run-1\""));

    // Idempotent: a second run changes nothing.
    let again = loket(&inst, &["apply"]);
    assert_eq!(code(&again), 0, "{}", text(&again));
    assert!(text(&again).contains("0 changes."), "{}", text(&again));
    let plan = loket(&inst, &["plan"]);
    assert_eq!(code(&plan), 0, "{}", text(&plan));
    outputs.extend([again, plan]);

    // Reset: the old password stops working, the new one works.
    set_account(&inst, LESTARI, "active", &[LESTARI_CREATE, LESTARI_RESET]);
    // `plan` reads no requests but this one, to know the new ticket is a reset.
    let plan = loket(&inst, &["plan"]);
    assert_eq!(code(&plan), 2, "{}", text(&plan));
    assert!(
        text(&plan).contains(&format!("reset    {LESTARI}  [{LESTARI_RESET}]")),
        "{}",
        text(&plan)
    );
    let reset = loket(&inst, &["apply"]);
    assert_eq!(code(&reset), 0, "{}\n{}", text(&reset), server.logs());
    assert!(text(&reset).contains("reset"), "{}", text(&reset));
    outputs.push(reset);
    let pw2 = sealed_password(&state, LESTARI_RESET, &id);
    assert_ne!(pw1, pw2);
    assert!(mailcheck::imap_login(&server.imap(), LESTARI, &pw1).is_err());
    mailcheck::imap_login(&server.imap(), LESTARI, &pw2).unwrap();

    // Deactivate: login refused, mail kept on disk, address out of Postfix's map.
    let bpw = sealed_password(&state, BAMBANG_CREATE, &id);
    mailcheck::imap_login(&server.imap(), BAMBANG, &bpw).unwrap();
    let kept = server.maildir_count(BAMBANG);
    assert!(kept >= 1, "welcome mail on disk");
    set_account(
        &inst,
        BAMBANG,
        "disabled",
        &[BAMBANG_CREATE, BAMBANG_DEACTIVATE],
    );
    let disable = loket(&inst, &["apply"]);
    assert_eq!(code(&disable), 0, "{}", text(&disable));
    outputs.push(disable);
    assert!(mailcheck::imap_login(&server.imap(), BAMBANG, &bpw).is_err());
    assert_eq!(server.maildir_count(BAMBANG), kept);
    let maps = fs::read_to_string(&server.virtual_mailboxes).unwrap();
    assert!(!maps.contains(BAMBANG) && maps.contains(LESTARI));

    // verify as a user would, with the identity that opens the outbox.
    let key = tmp.path().join("admin.key");
    fs::write(
        &key,
        format!(
            "{}\n",
            age::secrecy::ExposeSecret::expose_secret(&id.to_string())
        ),
    )
    .unwrap();
    let verify = loket(&inst, &["verify", "--identity", key.to_str().unwrap()]);
    assert_eq!(code(&verify), 0, "{}", text(&verify));
    assert!(
        text(&verify).contains(&format!("IMAP login as {LESTARI} works")),
        "{}",
        text(&verify)
    );
    assert!(
        text(&verify).contains(&format!("IMAP login as {BAMBANG} refused")),
        "{}",
        text(&verify)
    );
    let audit = loket(&inst, &["audit"]);
    assert_eq!(code(&audit), 0, "{}", text(&audit));
    outputs.extend([verify, audit]);

    // The status site from the records apply wrote shows the ticket processed.
    let site_dir = tmp.path().join("public");
    let site = loket(&inst, &["site", "--out", site_dir.to_str().unwrap()]);
    assert_eq!(code(&site), 0, "{}", text(&site));
    outputs.push(site);

    // CI commits the records: no password may reach git, the logs, the site or any output.
    let git = |args: &[&str]| {
        let o = Command::new("git")
            .arg("-C")
            .arg(&inst)
            .args(args)
            .output()
            .unwrap();
        assert!(o.status.success(), "git {args:?}: {}", text(&o));
        o
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&[
        "-c",
        "user.name=ci",
        "-c",
        "user.email=ci@localhost",
        "commit",
        "-qm",
        "records",
    ]);
    let objects = git(&["cat-file", "--batch-all-objects", "--batch"]).stdout;
    let mut haystacks: Vec<(String, Vec<u8>)> = vec![
        ("git objects".into(), objects),
        ("daemon logs".into(), server.logs().into_bytes()),
    ];
    for (i, o) in outputs.iter().enumerate() {
        haystacks.push((
            format!("output {i}"),
            [o.stdout.clone(), o.stderr.clone()].concat(),
        ));
    }
    let outbox = state.join("outbox");
    for root in [tmp.path().to_path_buf(), common::repo_root()] {
        for e in walkdir::WalkDir::new(&root).into_iter().filter_entry(|e| {
            e.path() != outbox && !e.path().ends_with("target") && !e.path().ends_with("Maildir")
        }) {
            let e = e.unwrap();
            if e.file_type().is_file() && e.metadata().unwrap().len() < 50_000_000 {
                haystacks.push((
                    e.path().display().to_string(),
                    fs::read(e.path()).unwrap_or_default(),
                ));
            }
        }
    }
    for pw in [&pw1, &pw2, &bpw] {
        let needle = pw.expose().as_bytes();
        for (name, hay) in &haystacks {
            assert!(
                !hay.windows(needle.len()).any(|w| w == needle),
                "a plaintext password was found in {name}"
            );
        }
    }
}

#[test]
fn killed_applies_converge_without_loss_or_duplicates() {
    let tmp = tempfile::tempdir().unwrap();
    let id = age::x25519::Identity::generate();
    let state = tmp.path().join("state");
    let mail = format!(
        "[backends.mail]\ntype = \"dovecot\"\npasswd-file = \"{s}/mail/passwd\"\n\
         virtual-mailboxes = \"{s}/mail/virtual_mailboxes\"\n",
        s = state.display()
    );
    let n = 200;
    let inst = bulk_instance(
        tmp.path(),
        &backends(&id.to_public().to_string(), &mail, &state),
        n,
    );
    let check = loket(&inst, &["check"]);
    assert_eq!(code(&check), 0, "{}", text(&check));

    // How long a whole run takes here, so kills land anywhere in it.
    let t0 = std::time::Instant::now();
    let full = loket(&inst, &["apply"]);
    assert_eq!(code(&full), 0, "{}", text(&full));
    let span = t0.elapsed().as_millis().max(20) as u64;
    fs::remove_dir_all(&state).unwrap();
    for e in fs::read_dir(inst.join("records")).unwrap() {
        let p = e.unwrap().path();
        let r = fs::read_to_string(&p).unwrap();
        fs::write(&p, &r[..r.find("\n[[events]]").unwrap_or(r.len())]).unwrap();
    }

    let mut rng = rand::rng();
    let (mut kills, mut partial) = (0, 0);
    for _ in 0..60 {
        if kills >= 12 {
            break;
        }
        let mut child = common::loket()
            .arg("-C")
            .arg(&inst)
            .arg("apply")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(rng.random_range(0..span)));
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap();
            kills += 1;
        }
        child.wait().unwrap();
        // Whatever the kill left must parse: no truncated passwd-file.
        let file = fs::read_to_string(state.join("mail/passwd")).unwrap_or_default();
        assert!(file.is_empty() || file.ends_with('\n'));
        // Past the `# managed by loket` marker line.
        let accounts = || file.lines().filter(|l| !l.starts_with('#'));
        assert!(accounts().all(|l| l.split(':').count() == 8), "torn line");
        let lines = accounts().count();
        if lines > 0 && lines < n {
            partial += 1;
        }
        let plan = loket(&inst, &["plan"]);
        assert!(matches!(code(&plan), 0 | 2), "{}", text(&plan));
        if code(&plan) == 0 && kills < 12 {
            // Converged: start over from nothing for more kill points.
            fs::remove_dir_all(&state).unwrap();
        }
    }
    eprintln!("{kills} runs killed ({partial} left a partly applied passwd-file)");
    assert!(kills >= 10, "only {kills} runs were killed mid-way");
    let last = loket(&inst, &["apply"]);
    assert_eq!(code(&last), 0, "{}", text(&last));
    let plan = loket(&inst, &["plan"]);
    assert_eq!(code(&plan), 0, "{}", text(&plan));

    // Every account exactly once, and the sealed password opens it.
    let passwd = fs::read_to_string(state.join("mail/passwd")).unwrap();
    assert_every_password_opens(&passwd, &state, &id, n);
    // Every ticket recorded; no temp file of a killed write left there.
    for e in fs::read_dir(inst.join("records")).unwrap() {
        let e = e.unwrap();
        let name = e.file_name().to_string_lossy().to_string();
        assert!(
            name.starts_with("KDS-") && name.ends_with(".toml"),
            "{name}"
        );
        let r = fs::read_to_string(e.path()).unwrap();
        // Its record kept `done` from the first run: the killed runs' re-creations
        // of its account are repairs.
        assert!(r.contains("outcome = \"done\""), "{r}");
        assert!(r.contains("kind = \"repaired\""), "{r}");
        assert!(!r.contains("kind = \"applied\""), "{r}");
    }
}

#[test]
fn refuses_unapproved_tickets_and_mass_disable() {
    let tmp = tempfile::tempdir().unwrap();
    let id = age::x25519::Identity::generate();
    let state = tmp.path().join("state");
    let mail = format!(
        "[backends.mail]\ntype = \"dovecot\"\npasswd-file = \"{}/passwd\"\n",
        state.display()
    );
    let inst = instance(
        tmp.path(),
        &backends(&id.to_public().to_string(), &mail, &state),
    );
    // One ticket without its Kepala Seksi disposition.
    let rec = inst.join(format!("records/{LESTARI_CREATE}.toml"));
    let text0 = fs::read_to_string(&rec).unwrap();
    fs::write(
        &rec,
        text0.replace("step = \"cek-nama\"", "step = \"lain\""),
    )
    .unwrap();
    let apply = loket(&inst, &["apply"]);
    assert_eq!(code(&apply), 1, "{}", text(&apply));
    assert!(
        text(&apply).contains("REFUSED create agus.lestari"),
        "{}",
        text(&apply)
    );
    assert!(
        text(&apply).contains("review step `cek-nama`"),
        "{}",
        text(&apply)
    );
    let passwd = fs::read_to_string(state.join("passwd")).unwrap();
    assert!(!passwd.contains(LESTARI) && passwd.contains(BAMBANG));
    fs::write(&rec, text0).unwrap();
    assert_eq!(code(&loket(&inst, &["apply"])), 0);

    // Deactivations beyond the allowed share are refused; nothing changes.
    let deactivated = [
        (BAMBANG, BAMBANG_CREATE, BAMBANG_DEACTIVATE),
        (
            "eko.wibowo@kuduskab.go.id",
            "KDS-SZU4M-MZRSN",
            "KDS-WG8AG-C2DMY",
        ),
        (
            "galih.lestari@kuduskab.go.id",
            "KDS-UNV7B-WMZH5",
            "KDS-DA295-GZ4KM",
        ),
    ];
    fs::remove_dir_all(&state).unwrap();
    for (addr, create, _) in deactivated {
        set_account(&inst, addr, "active", &[create]);
    }
    assert_eq!(code(&loket(&inst, &["apply"])), 0);
    for (addr, create, deactivate) in deactivated {
        set_account(&inst, addr, "disabled", &[create, deactivate]);
    }
    let before = fs::read_to_string(state.join("passwd")).unwrap();
    let apply = loket(&inst, &["apply", "--max-disable-share", "0.1"]);
    assert_eq!(code(&apply), 1, "{}", text(&apply));
    assert!(text(&apply).contains("3 of 22"), "{}", text(&apply));
    assert!(
        text(&apply).contains("max-disable-share"),
        "{}",
        text(&apply)
    );
    assert_eq!(fs::read_to_string(state.join("passwd")).unwrap(), before);
    // Within the share configured in loket.toml (0.2) the same run goes through.
    let apply = loket(&inst, &["apply"]);
    assert_eq!(code(&apply), 0, "{}", text(&apply));
    assert_eq!(
        text(&apply).matches("ok disable").count(),
        3,
        "{}",
        text(&apply)
    );

    // The audit sees a key nobody registered.
    let kf = state.join("keys/app-1/opd-dinkes");
    fs::create_dir_all(kf.parent().unwrap()).unwrap();
    fs::write(&kf, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFoo intruder@x\n").unwrap();
    let audit = loket(&inst, &["audit"]);
    assert_eq!(code(&audit), 2, "{}", text(&audit));
    assert!(
        text(&audit).contains("Keys not in the registry"),
        "{}",
        text(&audit)
    );
}

#[test]
fn expiry_sweep_closes_keys_past_their_last_day() {
    let tmp = tempfile::tempdir().unwrap();
    let id = age::x25519::Identity::generate();
    let state = tmp.path().join("state");
    let inst = instance(
        tmp.path(),
        &backends(&id.to_public().to_string(), "", &state),
    );
    let keys = state.join("keys/app-1/opd-disdukcapil");
    let apply = loket(&inst, &["apply", "--today", "2027-08-01"]);
    assert_eq!(code(&apply), 0, "{}", text(&apply));
    let file = fs::read_to_string(&keys).unwrap();
    // OpenSSH itself refuses the key after its last day, too.
    assert!(
        file.contains("expiry-time=\"20270817\" ssh-ed25519 "),
        "{file}"
    );
    assert!(file.contains("loket:KDS-JATNV-9GN8H"), "{file}");

    // The day after the last day (2027-08-16): plan, audit and the sweep see it.
    let plan = loket(&inst, &["plan", "--today", "2027-08-17"]);
    assert_eq!(code(&plan), 2, "{}", text(&plan));
    assert!(text(&plan).contains("- expire   opd-disdukcapil@app-1 key KDS-JATNV-9GN8H"));
    let audit = loket(&inst, &["audit", "--today", "2027-08-17"]);
    assert_eq!(code(&audit), 2, "{}", text(&audit));
    assert!(
        text(&audit).contains("expired access still open"),
        "{}",
        text(&audit)
    );
    let on_the_day = loket(&inst, &["plan", "--today", "2027-08-16"]);
    assert_eq!(code(&on_the_day), 0, "{}", text(&on_the_day));

    let sweep = loket(
        &inst,
        &["apply", "--today", "2027-08-17", "--run", "expiry-1"],
    );
    assert_eq!(code(&sweep), 0, "{}", text(&sweep));
    let file = fs::read_to_string(&keys).unwrap();
    assert!(
        !file.contains("KDS-JATNV-9GN8H") && file.contains("KDS-3ZTYU-SR663"),
        "{file}"
    );
    let record = fs::read_to_string(inst.join("records/KDS-JATNV-9GN8H.toml")).unwrap();
    assert!(record.contains("run = \"expiry-1\""), "{record}");
    assert_eq!(code(&loket(&inst, &["plan", "--today", "2027-08-17"])), 0);
}

#[test]
fn a_failing_backend_fails_its_tickets_only_and_is_retried() {
    let tmp = tempfile::tempdir().unwrap();
    let id = age::x25519::Identity::generate();
    let state = tmp.path().join("state");
    let mail = |postmap: &str| {
        format!(
            "[backends.mail]\ntype = \"dovecot\"\npasswd-file = \"{s}/passwd\"\n\
             virtual-mailboxes = \"{s}/virtual_mailboxes\"\n{postmap}\n",
            s = state.display()
        )
    };
    let recipient = id.to_public().to_string();
    let inst = instance(
        tmp.path(),
        &backends(&recipient, &mail("postmap = \"false\""), &state),
    );
    let apply = loket(&inst, &["apply", "--run", "broken-1"]);
    assert_eq!(code(&apply), 1, "{}", text(&apply));
    assert!(
        text(&apply).contains("FAILED create agus.lestari"),
        "{}",
        text(&apply)
    );
    // The server backend went on; the mail server was left as it was.
    assert!(state.join("keys/app-1/opd-disdukcapil").exists());
    assert!(!state.join("passwd").exists());
    let record = fs::read_to_string(inst.join(format!("records/{LESTARI_CREATE}.toml"))).unwrap();
    assert!(record.contains("outcome = \"failed\""), "{record}");
    assert!(record.contains("kind = \"failed\"") && record.contains("run = \"broken-1\""));

    // Fixed: the next run retries exactly the failed mail changes.
    let config = fs::read_to_string(inst.join("loket.toml")).unwrap();
    fs::write(
        inst.join("loket.toml"),
        config.replace("postmap = \"false\"", ""),
    )
    .unwrap();
    let apply = loket(&inst, &["apply", "--run", "fixed-2"]);
    assert_eq!(code(&apply), 0, "{}", text(&apply));
    assert!(!text(&apply).contains("grant"), "{}", text(&apply));
    assert!(
        text(&apply).contains("ok create agus.lestari"),
        "{}",
        text(&apply)
    );
    let record = fs::read_to_string(inst.join(format!("records/{LESTARI_CREATE}.toml"))).unwrap();
    assert!(record.contains("outcome = \"done\""), "{record}");
    assert_eq!(code(&loket(&inst, &["plan"])), 0);
}

#[test]
fn a_failed_verification_is_retried_with_a_new_password() {
    let tmp = tempfile::tempdir().unwrap();
    let Some(server) = MailServer::start(&tmp.path().join("srv")) else {
        return;
    };
    let id = age::x25519::Identity::generate();
    let state = tmp.path().join("state");
    // IMAP unreachable: every create is written but its login test fails.
    let dead = format!("127.0.0.1:{}", common::free_port());
    let good = server.backend_toml();
    let broken = good.replace(&server.imap(), &dead);
    let inst = instance(
        tmp.path(),
        &backends(&id.to_public().to_string(), &broken, &state),
    );
    set_account(&inst, LESTARI, "active", &[LESTARI_CREATE]);
    let apply = loket(&inst, &["apply", "--run", "imap-down-1"]);
    assert_eq!(code(&apply), 1, "{}", text(&apply));
    assert!(text(&apply).contains(&format!("FAILED create {LESTARI}")));
    let first = sealed_password(&state, LESTARI_CREATE, &id);
    let record = fs::read_to_string(inst.join(format!("records/{LESTARI_CREATE}.toml"))).unwrap();
    assert!(record.contains("outcome = \"failed\""), "{record}");
    let listed = fs::read_to_string(state.join("unverified.json")).unwrap();
    assert!(listed.contains(LESTARI) && !listed.contains(first.expose()));
    // Live equals accounts/ now: the diff alone would never come back to it, but
    // the plan lists the retry the next apply makes (and exits 2: work pending).
    let plan = loket(&inst, &["plan"]);
    assert_eq!(code(&plan), 2, "{}", text(&plan));
    assert!(text(&plan).contains("No changes"), "{}", text(&plan));
    assert!(
        text(&plan).contains(&format!("~ reset    {LESTARI}  [{LESTARI_CREATE}]")),
        "{}",
        text(&plan)
    );

    let config = fs::read_to_string(inst.join("loket.toml")).unwrap();
    fs::write(
        inst.join("loket.toml"),
        config.replace(&dead, &server.imap()),
    )
    .unwrap();
    let apply = loket(&inst, &["apply", "--run", "imap-up-2"]);
    assert_eq!(code(&apply), 0, "{}", text(&apply));
    assert!(
        text(&apply).contains(&format!("ok reset {LESTARI}")),
        "{}",
        text(&apply)
    );
    let second = sealed_password(&state, LESTARI_CREATE, &id);
    assert_ne!(first, second);
    mailcheck::imap_login(&server.imap(), LESTARI, &second).unwrap();
    assert!(mailcheck::imap_login(&server.imap(), LESTARI, &first).is_err());
    let record = fs::read_to_string(inst.join(format!("records/{LESTARI_CREATE}.toml"))).unwrap();
    assert!(record.contains("outcome = \"done\""), "{record}");
    assert!(!state.join("unverified.json").exists());
    assert_eq!(code(&loket(&inst, &["plan"])), 0);
    // Nothing left: a third run does nothing.
    let apply = loket(&inst, &["apply", "--run", "idle-3"]);
    assert_eq!(code(&apply), 0, "{}", text(&apply));
    assert!(text(&apply).contains("0 changes"), "{}", text(&apply));
}
