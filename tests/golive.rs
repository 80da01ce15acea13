//! An office goes live, per preset (issue 14): `loket init --preset X` writes the
//! instance and its forge's workflows, pinned to a release published as a `file://`
//! folder; the office sets its role logins and backends as docs/adopt.md says,
//! commits and pushes to a bare repository the fake forge "hosts". Then one
//! request goes the whole way through the instance's own workflows, their `run:`
//! steps read from the YAML `init` wrote and executed in order with the
//! environment each forge's runner sets (tests/common/workflow.rs, runner.rs).
//! First the office's existing mailboxes: imported (`loket import dovecot`) from the
//! passwd-file its real Dovecot authenticates from, reviewed as a config change,
//! merged (the apply run it starts refuses the files until `loket adopt-files`),
//! taken over, `check` clean and `audit` without drift. Then the first request:
//! `loket new` on a branch, a pull request on the fake forge, `check`, `review`
//! (naming the pending SOP step until each role's login approved in turn), the
//! merge, `apply` against a real Dovecot + Postfix (tests/common/mail.rs) with the
//! records commit pushed back (the sealed password opens with the admin identity
//! `init` wrote and logs in), the `expiry` sweep's audit finding no drift, and the
//! `site` build, whose page for the ticket shows it processed and which holds no
//! personal data. Kudus runs on both forges.
#[path = "common/apply.rs"]
mod apply;
mod common;
#[path = "common/fake_forge.rs"]
mod fake_forge;
#[path = "common/mail.rs"]
mod mail;
#[path = "common/office.rs"]
mod office;
#[path = "common/office_config.rs"]
mod office_config;
#[path = "common/runner.rs"]
mod runner;
#[path = "common/workflow.rs"]
mod workflow;

use fake_forge::{Flavor, Verdict, git};
use loket::apply::{Secret, mailcheck};
use runner::{Event, Instance};
use workflow::Job;

/// The applicant, as `loket new` takes them: none of this may reach the site.
const NAME: &str = "Budi Santoso";
const NIP: &str = "198703152010011002";
const CONTACT: &str = "0812-3456-7890";
const LOCAL: &str = "budi.santoso";
/// The first step of every job.
const INSTALL: &str = "Install loket (pinned release, SHA-256 verified)";
/// Who opens the pull request (the operator at the front desk).
const OPERATOR: &str = "operator-helpdesk";

/// `loket new mail-create` on a branch, as docs/adopt.md's first request:
/// returns the ticket and the requested address.
fn new_request(live: &Instance) -> (String, String) {
    let out = common::loket()
        .arg("-C")
        .arg(&live.office.dir)
        .args([
            "new",
            "mail-create",
            "--name",
            NAME,
            "--nip",
            NIP,
            "--opd",
            "Dinas Kesehatan",
            "--position",
            "Pranata Komputer",
            "--contact",
            CONTACT,
            "--letter-number",
            "800/12/2026",
            "--letter-date",
            "2026-09-14",
            "--signatory",
            "Kepala Dinas Kesehatan",
            "--local",
            LOCAL,
            "--today",
            "2026-09-17",
        ])
        .output()
        .unwrap();
    let text = office::text(&out);
    assert!(out.status.success(), "loket new: {text}");
    let ticket = text
        .lines()
        .find_map(|l| l.strip_prefix("Nomor tiket / ticket: "))
        .unwrap_or_else(|| panic!("no ticket in: {text}"))
        .trim()
        .to_string();
    (ticket, format!("{LOCAL}@{}", live.domain))
}

/// The job succeeded, and each of `steps` ran in it and passed (a job whose steps
/// were skipped would pass too).
fn passed(job: &Job, steps: &[&str], what: &str) {
    for step in steps {
        assert!(
            job.ran.iter().any(|(n, ok, _)| n == step && *ok),
            "{what}: step {step:?} did not run and pass:\n{}",
            job.log()
        );
    }
    assert!(!job.failed, "{what}:\n{}", job.log());
}

/// The mailboxes the office's Dovecot serves before loket: (local part, gecos,
/// password, active). One bare line without a name, one disabled (`nologin`).
const EXISTING: [(&str, &str, &str, bool); 3] = [
    ("sri.wahyuni", "Sri Wahyuni", "sri-secret-2", true),
    ("eko", "", "eko-secret-3", true),
    ("agus.purnomo", "Agus Purnomo", "agus-secret-4", false),
];

/// The office's own passwd-file and mailbox map, as its Dovecot and Postfix read
/// them before loket (no marker, names in the gecos); Dovecot logs its users in.
fn existing_mail_server(live: &Instance) {
    let (v, d) = (mail::VMAIL_ID, &live.domain);
    let vm = live.server.vmail.display();
    let (mut passwd, mut maps) = (String::new(), String::new());
    for (local, gecos, pw, active) in EXISTING {
        let hash = loket::apply::credentials::sha512_crypt(&Secret::new(pw.into())).unwrap();
        let extra = if active { "" } else { "nologin" };
        passwd += &format!(
            "{local}@{d}:{{SHA512-CRYPT}}{hash}:{v}:{v}:{gecos}:{vm}/{d}/{local}::{extra}\n"
        );
        if active {
            maps += &format!("{local}@{d} {d}/{local}/\n");
        }
    }
    std::fs::write(&live.server.passwd, passwd).unwrap();
    std::fs::write(&live.server.virtual_mailboxes, maps).unwrap();
    logins_as_before(live, "before the import");
}

/// Each existing active user logs in with their password, the disabled one not.
fn logins_as_before(live: &Instance, when: &str) {
    for (local, _, pw, active) in EXISTING {
        let user = format!("{local}@{}", live.domain);
        let login = mailcheck::imap_login(&live.server.imap(), &user, &Secret::new(pw.into()));
        assert_eq!(
            login.is_ok(),
            active,
            "{when}: IMAP login of {user}: {login:?}"
        );
    }
}

/// Runs the review job until it passes, each time approving as the login of the
/// role it says it waits for (an SOP step or the config-change role). Returns the
/// passing job and the roles that approved, in order.
fn approve_through_review(live: &mut Instance, n: u64, what: &str) -> (Job, Vec<String>) {
    let mut roles = Vec::new();
    for minute in 1..=8 {
        let review = live.run("review", "review", Event::Pull(n));
        let said = review.output("loket review").to_string();
        if !review.failed {
            return (review, roles);
        }
        let role = ["waits for role ", "needs approval by role "]
            .iter()
            .find_map(|p| said.split_once(p))
            .and_then(|(_, rest)| rest.split([' ', ':']).next())
            .unwrap_or_else(|| panic!("{what}: the review waits for no role:\n{}", review.log()))
            .to_string();
        live.office
            .review(n, &live.login(&role), Verdict::Approve, 10 * minute);
        roles.push(role);
    }
    panic!("{what}: the review never passed");
}

/// `loket` run by the admin succeeded; returns what it said.
fn ok(out: std::process::Output, what: &str) -> String {
    let said = office::text(&out);
    assert!(out.status.success(), "{what}: {said}");
    said
}

/// docs/adopt.md step 3 and docs/import.md: the office's existing accounts imported
/// from the passwd-file its real Dovecot authenticates from, the batch reviewed as a
/// config change on the fake forge and merged.
fn import_existing(live: &mut Instance, preset: &str) {
    existing_mail_server(live);
    let passwd = live.server.passwd.display().to_string();
    let opd = "Dinas Komunikasi dan Informatika";
    let said = ok(
        live.loket(&["import", "--opd", opd, "dovecot", &passwd]),
        &format!("{preset}: import"),
    );
    let count = format!("imported {} account(s)", EXISTING.len());
    assert!(said.contains(&count), "{preset}: {said}");
    ok(
        live.loket(&["check"]),
        &format!("{preset}: check after import"),
    );
    let n = live.open(OPERATOR);
    let check = live.run("check", "check", Event::Pull(n));
    passed(
        &check,
        &[INSTALL, "loket check"],
        &format!("{preset}: check of the import"),
    );
    let (review, roles) = approve_through_review(live, n, &format!("{preset}: import"));
    passed(
        &review,
        &["loket review"],
        &format!("{preset}: review of the import"),
    );
    let config_change = [live.config_change_role()];
    assert_eq!(
        roles, config_change,
        "{preset}: the import is a config change"
    );
    live.merge(n);
}

/// The apply run the import's merge starts refuses the office's own files (not
/// loket's yet) and changes nothing; the admin takes them over with the one
/// explicit `loket adopt-files` on the apply runner; then `check` is clean, `audit`
/// finds no drift, every user logs in as before, and apply has nothing to do.
fn take_over(live: &mut Instance, preset: &str) {
    let before = std::fs::read_to_string(&live.server.passwd).unwrap();
    let apply = live.run("apply", "apply", Event::Push);
    assert!(
        apply.failed && apply.output("loket apply").contains("loket adopt-files"),
        "{preset}: apply before adopt-files:\n{}",
        apply.log()
    );
    assert_eq!(
        std::fs::read_to_string(&live.server.passwd).unwrap(),
        before
    );
    live.pull_main();
    ok(
        live.loket(&["adopt-files"]),
        &format!("{preset}: adopt-files"),
    );
    ok(
        live.loket(&["check"]),
        &format!("{preset}: check after the import"),
    );
    let audit = ok(
        live.loket(&["audit"]),
        &format!("{preset}: audit after the import"),
    );
    assert!(audit.contains("No drift"), "{preset}: {audit}");
    // The apply workflow run again (workflow_dispatch).
    let apply = live.run("apply", "apply", Event::Push);
    passed(
        &apply,
        &["loket apply"],
        &format!("{preset}: apply after adopt-files"),
    );
    live.pull_main();
    logins_as_before(live, "after adopt-files");
}

/// Every file of the published site, with its text (binary files skipped).
fn site_texts(dir: &std::path::Path) -> Vec<(String, String)> {
    walkdir::WalkDir::new(dir)
        .follow_links(true)
        .into_iter()
        .flatten()
        .filter(|e| {
            e.file_type().is_file() && !e.path().components().any(|c| c.as_os_str() == ".git")
        })
        .filter_map(|e| {
            let text = std::fs::read_to_string(e.path()).ok()?;
            let rel = e.path().strip_prefix(dir).unwrap().display().to_string();
            Some((rel, text))
        })
        .collect()
}

/// The first request, `loket new` on a branch, as a pull request through the check
/// and review jobs: the review names the pending step until each SOP role's login
/// approved in turn, and one loket comment on the pull request names the ticket.
/// Returns the pull request, the ticket and the requested address.
fn first_request(live: &mut Instance, preset: &str) -> (u64, String, String) {
    let (ticket, address) = new_request(live);
    let n = live.open(OPERATOR);
    let check = live.run("check", "check", Event::Pull(n));
    passed(
        &check,
        &[INSTALL, "loket check"],
        &format!("{preset}: check"),
    );
    let steps = live.review_steps();
    assert!(!steps.is_empty(), "{preset}: the SOP has no review step");
    for (i, (step, role, login)) in steps.iter().enumerate() {
        let review = live.run("review", "review", Event::Pull(n));
        let said = review.output("loket review");
        assert!(
            review.failed && said.contains(&format!("waits for role {role} (step {step})")),
            "{preset}: before {login}'s approval the review must wait for {step}:\n{}",
            review.log()
        );
        live.office
            .review(n, login, Verdict::Approve, 10 * (i as u32 + 1));
    }
    let review = live.run("review", "review", Event::Pull(n));
    passed(&review, &["loket review"], &format!("{preset}: review"));
    let said = review.output("loket review");
    assert!(
        said.contains("approved: ready to merge"),
        "{preset}: {said}"
    );
    if live.flavor == Flavor::GitHub {
        // GitHub posts the comment from its own job (the review job's token is
        // read-only); Forgejo's review job posted it above.
        let comment = live.run("review", "comment", Event::Pull(n));
        let step = "Post or update the PR comment";
        passed(&comment, &[step], &format!("{preset}: comment"));
    }
    let comments: Vec<String> = live.office.forge.with(|s| {
        s.comments
            .iter()
            .filter(|c| c.issue == n)
            .map(|c| c.body.clone())
            .collect()
    });
    assert!(
        comments.len() == 1 && comments[0].contains(&ticket),
        "{preset}: one loket comment, edited in place: {comments:?}"
    );
    (n, ticket, address)
}

/// The merge, the apply workflow against the real Dovecot (the sealed password opens
/// with the admin identity `init` wrote and logs in), the records commit on main,
/// and the expiry sweep's audit without drift. Returns the status the site shows.
fn apply_request(
    live: &mut Instance,
    preset: &str,
    n: u64,
    ticket: &str,
    address: &str,
) -> &'static str {
    live.merge(n);
    let apply = live.run("apply", "apply", Event::Push);
    let steps = [INSTALL, "loket check", "loket apply", "commit records"];
    passed(&apply, &steps, &format!("{preset}: apply"));
    let passwd = std::fs::read_to_string(&live.server.passwd).unwrap();
    assert!(
        passwd
            .lines()
            .any(|l| l.starts_with(&format!("{address}:"))),
        "{preset}: the account is in Dovecot's passwd-file:\n{passwd}\n{}",
        apply.log()
    );
    let password = apply::sealed_password(&live.state_dir(), ticket, &live.admin_identity());
    mailcheck::imap_login(&live.server.imap(), address, &password)
        .unwrap_or_else(|e| panic!("{preset}: IMAP login with the sealed password: {e}"));
    // The records commit reached main on the forge, with the ticket processed
    // (applied and verified), or done when the SOP has no follow-up step.
    live.pull_main();
    let record = std::fs::read_to_string(live.office.dir.join(format!("records/{ticket}.toml")))
        .unwrap_or_else(|e| panic!("{preset}: records/{ticket}.toml: {e}\n{}", apply.log()));
    let (outcome, label) = if live.has_followup() {
        ("processed", "telah diproses")
    } else {
        ("done", "selesai")
    };
    assert!(
        record.contains(&format!("outcome = \"{outcome}\""))
            && record.contains("kind = \"verified\""),
        "{preset}: {record}"
    );
    assert_eq!(
        git(&live.office.dir, &["diff", "--name-only", "HEAD~1", "HEAD"]),
        format!("records/{ticket}.toml"),
        "{preset}: the bot's commit holds the record only"
    );
    // The daily sweep (expiry.yml) on the same runner.
    let sweep = live.run("expiry", "sweep", Event::Push);
    let steps = [INSTALL, "loket apply (expiry sweep)", "loket audit"];
    passed(&sweep, &steps, &format!("{preset}: expiry sweep"));
    let audit = sweep.output("loket audit");
    assert!(audit.contains("No drift"), "{preset}: {}", sweep.log());
    label
}

/// The site workflow's build: the ticket's page shows `label`, and no page holds
/// the applicant's or the imported holders' personal data.
fn publish(live: &mut Instance, preset: &str, ticket: &str, address: &str, label: &str) {
    let site = live.run("site", "build", Event::Push);
    let steps = [INSTALL, "Snapshot of open pull requests", "Render the site"];
    passed(&site, &steps, &format!("{preset}: site"));
    let published = live.published_site();
    let files = site_texts(&published);
    let page = files
        .iter()
        .find(|(p, _)| *p == format!("t/{ticket}/index.html"))
        .unwrap_or_else(|| panic!("{preset}: no page for {ticket} in {published:?}"));
    assert!(
        page.1.to_lowercase().contains(label),
        "{preset}: the ticket's page shows it {label}:\n{}",
        page.1
    );
    let mut personal: Vec<String> = [NAME, NIP, CONTACT, address, LOCAL]
        .map(String::from)
        .into();
    for (local, gecos, _, _) in EXISTING {
        personal.push(format!("{local}@{}", live.domain));
        personal.extend((!gecos.is_empty()).then(|| gecos.to_string()));
    }
    for (path, text) in &files {
        for p in &personal {
            assert!(
                !text.contains(p.as_str()),
                "{preset}: {path} on the public site holds {p:?}"
            );
        }
    }
}

/// The whole go-live for `preset` on `flavor`'s forge.
fn go_live(preset: &str, flavor: Flavor) {
    let Some(mut live) = Instance::init(preset, flavor) else {
        return;
    };
    import_existing(&mut live, preset);
    take_over(&mut live, preset);
    let (n, ticket, address) = first_request(&mut live, preset);
    let label = apply_request(&mut live, preset, n, &ticket, &address);
    publish(&mut live, preset, &ticket, &address, label);
}

#[test]
fn kudus_goes_live_on_github() {
    go_live("kudus", Flavor::GitHub);
}

#[test]
fn kebumen_goes_live_on_github() {
    go_live("kebumen", Flavor::GitHub);
}

#[test]
fn palangka_raya_goes_live_on_github() {
    go_live("palangka-raya", Flavor::GitHub);
}

#[test]
fn kudus_goes_live_on_forgejo() {
    go_live("kudus", Flavor::Forgejo);
}

#[test]
fn lumajang_goes_live_on_forgejo() {
    go_live("lumajang", Flavor::Forgejo);
}
