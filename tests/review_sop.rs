//! `loket review` against a fake GitHub and a fake Forgejo over real HTTP: each Kudus
//! SOP walked step by step, and every approval rule's failing case, for both forges.

mod common;
#[path = "common/fake_forge.rs"]
mod fake_forge;

use fake_forge::{FakeForge, Flavor, Repo, Verdict, json_of};
use serde_json::Value;

const MAIL: &str = "KDS-24WBW-PV52C";
const SERVER: &str = "KDS-3ZTYU-SR663";
const AUTHOR: &str = "operator-kudus";
const KADIS: &str = "kadis-kominfo-kudus";
const KABID: &str = "kabid-informatika-kudus";
const KASI: &str = "kasi-tip-kudus";

/// A Kudus repository with one request added in PR #1.
fn setup(flavor: Flavor, ticket: &str) -> (FakeForge, Repo) {
    let forge = FakeForge::start(flavor);
    let repo = Repo::kudus();
    repo.add_request(ticket);
    forge.open_pull(1, &repo, AUTHOR);
    (forge, repo)
}

/// Runs `loket review --pr 1`; returns the exit code and the JSON evaluation.
fn review(forge: &FakeForge, repo: &Repo) -> (i32, Value) {
    let out = forge.review(repo, 1, &[]);
    let code = out.status.code().expect("exit code");
    assert!(
        [0, 1, 3].contains(&code),
        "exit {code}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (code, json_of(&out))
}

fn pending_role(v: &Value) -> Option<String> {
    v["tickets"][0]["pending"]["role"]
        .as_str()
        .map(str::to_string)
}

/// Every finding code, per ticket and PR-wide.
fn codes(v: &Value) -> Vec<String> {
    let mut out = Vec::new();
    for f in v["findings"].as_array().into_iter().flatten() {
        out.push(f["code"].as_str().unwrap().to_string());
    }
    for t in v["tickets"].as_array().into_iter().flatten() {
        for f in t["findings"].as_array().into_iter().flatten() {
            out.push(f["code"].as_str().unwrap().to_string());
        }
    }
    out
}

fn approve(forge: &FakeForge, login: &str, minute: u32) {
    forge.with(|s| s.review(1, login, Verdict::Approve, minute, ""));
}

/// Asserts the request waits for `role` (exit 3) and that the rule `code` fired.
fn assert_pending(forge: &FakeForge, repo: &Repo, role: &str, code: Option<&str>) -> Value {
    let (exit, v) = review(forge, repo);
    assert_eq!(exit, 3, "{v:#}");
    assert_eq!(v["outcome"], "pending", "{v:#}");
    assert_eq!(pending_role(&v).as_deref(), Some(role), "{v:#}");
    if let Some(code) = code {
        assert!(codes(&v).iter().any(|c| c == code), "{code} missing: {v:#}");
    }
    v
}

fn mail_happy_path(flavor: Flavor) {
    let (forge, repo) = setup(flavor, MAIL);
    let v = assert_pending(&forge, &repo, "kepala-dinas", None);
    assert_eq!(v["tickets"][0]["steps"][0]["state"], "done"); // permohonan: the PR itself
    assert_eq!(v["tickets"][0]["steps"][2]["state"], "waiting");
    assert_eq!(v["tickets"][0]["steps"][4]["state"], "after-merge");
    approve(&forge, KADIS, 1);
    assert_pending(&forge, &repo, "kepala-bidang", None);
    approve(&forge, KABID, 2);
    assert_pending(&forge, &repo, "kepala-seksi", None);
    approve(&forge, KASI, 3);
    let (exit, v) = review(&forge, &repo);
    assert_eq!(exit, 0, "{v:#}");
    assert_eq!(v["tickets"][0]["outcome"], "approved");
    let steps = v["tickets"][0]["steps"].as_array().unwrap();
    assert_eq!(steps[2]["record"]["login"], KABID);
    assert_eq!(steps[2]["record"]["role"], "kepala-bidang");
    assert!(steps[2]["record"]["review-id"].as_u64().is_some());
    assert_eq!(steps[4]["state"], "after-merge"); // pembuatan-akun: done by apply

    // The human output names the pending role too.
    forge.with(|s| s.pull(1).reviews.pop());
    let out = forge.review(&repo, 1, &["--format", "human"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("waits for role kepala-seksi"), "{text}");
}

fn mail_returned_with_reason(flavor: Flavor) {
    let (forge, repo) = setup(flavor, MAIL);
    approve(&forge, KADIS, 1);
    approve(&forge, KABID, 2);
    let reason = "nama sudah dipakai, ajukan nama lain";
    forge.with(|s| s.review(1, KASI, Verdict::RequestChanges, 3, reason));
    let (exit, v) = review(&forge, &repo);
    assert_eq!(exit, 1, "{v:#}");
    assert_eq!(v["tickets"][0]["outcome"], "returned");
    assert_eq!(v["tickets"][0]["reason"], reason);
}

fn server_happy_path(flavor: Flavor) {
    let (forge, repo) = setup(flavor, SERVER);
    assert_pending(&forge, &repo, "kepala-dinas", None);
    approve(&forge, KADIS, 1);
    assert_pending(&forge, &repo, "kepala-bidang", None);
    approve(&forge, KABID, 2);
    assert_pending(&forge, &repo, "kepala-seksi", None);
    approve(&forge, KASI, 3);
    let (exit, v) = review(&forge, &repo);
    assert_eq!(exit, 0, "{v:#}");
    assert_eq!(v["tickets"][0]["sop"], "server");
}

fn server_refused_by_kabid(flavor: Flavor) {
    let (forge, repo) = setup(flavor, SERVER);
    approve(&forge, KADIS, 1);
    forge.with(|s| {
        s.review(
            1,
            KABID,
            Verdict::RequestChanges,
            2,
            "Ditolak: server ini bukan untuk OPD pemohon",
        )
    });
    let (exit, v) = review(&forge, &repo);
    assert_eq!(exit, 1, "{v:#}");
    assert_eq!(v["outcome"], "refused");
    assert!(
        v["tickets"][0]["reason"]
            .as_str()
            .unwrap()
            .starts_with("Ditolak")
    );
}

fn self_approval(flavor: Flavor) {
    let forge = FakeForge::start(flavor);
    let repo = Repo::kudus();
    repo.add_request(MAIL);
    forge.open_pull(1, &repo, KADIS); // the Kadis opened the PR himself
    approve(&forge, KADIS, 1);
    assert_pending(&forge, &repo, "kepala-dinas", Some("A004"));
}

fn commit_author_approval(flavor: Flavor) {
    let (forge, repo) = setup(flavor, MAIL);
    forge.with(|s| {
        s.pull(1).commits.push((
            "c0ffee".repeat(6) + "c0ff",
            Some(KABID.into()),
            Some("web-flow".into()),
        ))
    });
    approve(&forge, KADIS, 1);
    approve(&forge, KABID, 2);
    assert_pending(&forge, &repo, "kepala-bidang", Some("A005"));
    // A committer is as conflicted as an author.
    forge.with(|s| {
        let c = &mut s.pull(1).commits[1];
        c.1 = Some(AUTHOR.into());
        c.2 = Some(KABID.into());
    });
    assert_pending(&forge, &repo, "kepala-bidang", Some("A005"));
}

fn stale_after_push(flavor: Flavor) {
    let (forge, repo) = setup(flavor, MAIL);
    approve(&forge, KADIS, 1);
    assert_pending(&forge, &repo, "kepala-bidang", None);
    // The applicant pushes a fix: the Kadis's approval is on the old head now.
    let old = repo.head_sha();
    repo.commit_file("requests/README.md", "catatan\n");
    let new = repo.head_sha();
    assert_ne!(old, new);
    forge.with(|s| {
        let p = s.pull(1);
        p.head_sha = new.clone();
        p.commits
            .push((new, Some(AUTHOR.into()), Some(AUTHOR.into())));
    });
    assert_pending(&forge, &repo, "kepala-dinas", Some("A003"));
    approve(&forge, KADIS, 5);
    assert_pending(&forge, &repo, "kepala-bidang", None);
}

fn unmapped_reviewer(flavor: Flavor) {
    let (forge, repo) = setup(flavor, MAIL);
    approve(&forge, "someone-else", 1);
    assert_pending(&forge, &repo, "kepala-dinas", Some("A007"));
}

fn role_map_edited_in_pr(flavor: Flavor) {
    let forge = FakeForge::start(flavor);
    let repo = Repo::kudus();
    repo.add_request(MAIL);
    // The PR makes "mallory" a Kepala Dinas; that must not let mallory approve.
    let edited = fake_forge::kudus_config().replace(
        "logins = [\"kadis-kominfo-kudus\"]",
        "logins = [\"kadis-kominfo-kudus\", \"mallory\"]",
    );
    repo.commit_file("loket.toml", &edited);
    forge.open_pull(1, &repo, AUTHOR);
    approve(&forge, "mallory", 1);
    let v = assert_pending(&forge, &repo, "kepala-dinas", Some("A007"));
    assert_eq!(v["config-change"]["role"], "kepala-dinas");
    assert!(v["config-change"]["approved"].is_null());
    // A Kepala Bidang may not approve a config change either (A010), only the Kadis.
    forge.with(|s| s.pull(1).reviews.clear());
    approve(&forge, KABID, 1);
    let (exit, v) = review(&forge, &repo);
    assert_eq!(exit, 3);
    assert!(v["config-change"]["approved"].is_null(), "{v:#}");
    approve(&forge, KADIS, 2);
    approve(&forge, KABID, 3);
    approve(&forge, KASI, 4);
    let (exit, v) = review(&forge, &repo);
    assert_eq!(exit, 0, "{v:#}");
    assert_eq!(v["config-change"]["approved"]["login"], KADIS);
}

fn dismissed_review(flavor: Flavor) {
    let (forge, repo) = setup(flavor, MAIL);
    forge.with(|s| s.review(1, KADIS, Verdict::DismissedApproval, 1, ""));
    assert_pending(&forge, &repo, "kepala-dinas", Some("A002"));
}

fn changes_requested_after_approval(flavor: Flavor) {
    let (forge, repo) = setup(flavor, MAIL);
    approve(&forge, KADIS, 1);
    forge.with(|s| {
        s.review(
            1,
            KADIS,
            Verdict::RequestChanges,
            2,
            "lampirkan surat permohonan",
        )
    });
    let (exit, v) = review(&forge, &repo);
    assert_eq!(exit, 1, "{v:#}");
    assert_eq!(v["tickets"][0]["outcome"], "returned");
    assert_eq!(pending_role(&v).as_deref(), Some("kepala-dinas"));
    assert!(codes(&v).contains(&"A006".to_string()), "{v:#}");
    // Approving again after the fix lifts it.
    approve(&forge, KADIS, 3);
    assert_pending(&forge, &repo, "kepala-bidang", None);
}

fn approval_by_comment_only(flavor: Flavor) {
    let (forge, repo) = setup(flavor, MAIL);
    forge.with(|s| s.review(1, KADIS, Verdict::Comment, 1, "disetujui"));
    forge.with(|s| s.review(1, KABID, Verdict::Pending, 2, ""));
    assert_pending(&forge, &repo, "kepala-dinas", Some("A001"));
}

fn wrong_order(flavor: Flavor) {
    let (forge, repo) = setup(flavor, MAIL);
    approve(&forge, KABID, 1); // before the Kadis's disposition
    approve(&forge, KADIS, 2);
    assert_pending(&forge, &repo, "kepala-bidang", Some("A008"));
    approve(&forge, KABID, 3); // given again after it
    assert_pending(&forge, &repo, "kepala-seksi", None);
}

fn one_person_two_roles(flavor: Flavor) {
    let forge = FakeForge::start(flavor);
    // On the base branch the Kabid also holds the Kasi role.
    let config = fake_forge::kudus_config().replace(
        "logins = [\"kasi-tip-kudus\"]",
        "logins = [\"kasi-tip-kudus\", \"kabid-informatika-kudus\"]",
    );
    let repo = Repo::new(&config);
    repo.add_request(MAIL);
    forge.open_pull(1, &repo, AUTHOR);
    approve(&forge, KADIS, 1);
    approve(&forge, KABID, 2);
    assert_pending(&forge, &repo, "kepala-seksi", Some("A009"));
}

fn distinct_people_off_lets_one_person_do_both(flavor: Flavor) {
    let forge = FakeForge::start(flavor);
    let config = fake_forge::kudus_config()
        .replace(
            "logins = [\"kasi-tip-kudus\"]",
            "logins = [\"kasi-tip-kudus\", \"kabid-informatika-kudus\"]",
        )
        .replace("distinct-people = true", "distinct-people = false");
    let repo = Repo::new(&config);
    repo.add_request(MAIL);
    forge.open_pull(1, &repo, AUTHOR);
    approve(&forge, KADIS, 1);
    approve(&forge, KABID, 2);
    let (exit, v) = review(&forge, &repo);
    assert_eq!(exit, 0, "{v:#}");
}

fn unordered_sop_accepts_any_order(flavor: Flavor) {
    let forge = FakeForge::start(flavor);
    let config = fake_forge::kudus_config().replace("ordered = true", "ordered = false");
    let repo = Repo::new(&config);
    repo.add_request(MAIL);
    forge.open_pull(1, &repo, AUTHOR);
    approve(&forge, KASI, 1);
    approve(&forge, KABID, 2);
    assert_pending(&forge, &repo, "kepala-dinas", None);
    approve(&forge, KADIS, 3);
    assert_eq!(review(&forge, &repo).0, 0);
}

fn more_than_100_reviews(flavor: Flavor) {
    let (forge, repo) = setup(flavor, MAIL);
    forge.with(|s| {
        for i in 0..140 {
            s.review(
                1,
                &format!("warga-{i}"),
                Verdict::Comment,
                0,
                "mohon segera",
            );
        }
    });
    approve(&forge, KADIS, 1);
    approve(&forge, KABID, 2);
    approve(&forge, KASI, 3);
    let (exit, v) = review(&forge, &repo);
    assert_eq!(exit, 0, "{v:#}");
    // Discussion by people without a role is not listed as "not counted".
    assert_eq!(v["findings"].as_array().map(Vec::len), Some(0), "{v:#}");
    let pages = forge.with(|s| {
        s.log
            .iter()
            .filter(|l| l.contains("/pulls/1/reviews"))
            .count()
    });
    assert!(pages >= 2, "reviews read in {pages} page(s)");
}

/// A SOP with an automatic step (`done-by = "check"`) after the submission.
fn automatic_step_needs_a_passing_check(flavor: Flavor) {
    let forge = FakeForge::start(flavor);
    let check_step = "[[sops.email.steps]]\nid = \"cek-data\"\nrole = \"admin\"\ntext = \"Pemeriksaan data otomatis\"\ndone-by = \"check\"\n\n";
    let config = fake_forge::kudus_config().replacen(
        "[[sops.email.steps]]\nid = \"disposisi-kadis\"",
        &format!("{check_step}[[sops.email.steps]]\nid = \"disposisi-kadis\""),
        1,
    );
    assert!(config.contains("cek-data"));
    let repo = Repo::new(&config);
    repo.add_request(MAIL);
    repo.copy_bundled("accounts/mail/dimas.hartono@kuduskab.go.id.toml");
    repo.commit_file("accounts/mail/broken.toml", "this is = = not toml\n");
    forge.open_pull(1, &repo, AUTHOR);
    approve(&forge, KADIS, 1);
    // `loket check` fails on the head: the automatic step waits, and so does the rest.
    let v = assert_pending(&forge, &repo, "admin", Some("A011"));
    assert_eq!(v["tickets"][0]["pending"]["step"], "cek-data");
    repo.remove_file("accounts/mail/broken.toml");
    let head = repo.head_sha();
    forge.with(|s| {
        let p = s.pull(1);
        p.head_sha = head.clone();
        p.commits
            .push((head, Some(AUTHOR.into()), Some(AUTHOR.into())));
        p.reviews.clear();
    });
    approve(&forge, KADIS, 2);
    let v = assert_pending(&forge, &repo, "kepala-bidang", None);
    assert_eq!(v["tickets"][0]["steps"][1]["state"], "done", "{v:#}");
}

macro_rules! both_forges {
    ($($name:ident),* $(,)?) => {
        mod github {
            $( #[test] fn $name() { super::$name(super::Flavor::GitHub) } )*
        }
        mod forgejo {
            $( #[test] fn $name() { super::$name(super::Flavor::Forgejo) } )*
        }
    };
}

both_forges!(
    mail_happy_path,
    mail_returned_with_reason,
    server_happy_path,
    server_refused_by_kabid,
    self_approval,
    commit_author_approval,
    stale_after_push,
    unmapped_reviewer,
    role_map_edited_in_pr,
    dismissed_review,
    changes_requested_after_approval,
    approval_by_comment_only,
    wrong_order,
    one_person_two_roles,
    distinct_people_off_lets_one_person_do_both,
    unordered_sop_accepts_any_order,
    more_than_100_reviews,
    automatic_step_needs_a_passing_check,
);
