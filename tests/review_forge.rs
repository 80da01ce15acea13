//! `loket review` and `loket forge snapshot` against a fake forge over real HTTP:
//! forge errors (bad token, rate limit, missing PR, forge down), the one PR comment
//! edited in place, the job summary, the apply gate (`--record` and the library
//! function) and the snapshot, for both GitHub and Forgejo.

mod common;
#[path = "common/fake_forge.rs"]
mod fake_forge;

use fake_forge::{FakeForge, Flavor, Repo, TOKEN, Verdict};
use loket::forge::ForgeKind;
use loket::model::Instance;
use loket::model::record::{Outcome, Progress, Snapshot};
use loket::review::gate::{self, GateError};

const MAIL: &str = "KDS-24WBW-PV52C";
const SERVER: &str = "KDS-3ZTYU-SR663";
const AUTHOR: &str = "operator-kudus";
const KADIS: &str = "kadis-kominfo-kudus";
const KABID: &str = "kabid-informatika-kudus";
const KASI: &str = "kasi-tip-kudus";

fn setup(flavor: Flavor) -> (FakeForge, Repo) {
    let forge = FakeForge::start(flavor);
    let repo = Repo::kudus();
    repo.add_request(MAIL);
    forge.open_pull(1, &repo, AUTHOR);
    (forge, repo)
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn approve_all(forge: &FakeForge) {
    forge.with(|s| {
        s.review(1, KADIS, Verdict::Approve, 1, "");
        s.review(1, KABID, Verdict::Approve, 2, "");
        s.review(1, KASI, Verdict::Approve, 3, "");
    });
}

fn merge(forge: &FakeForge) {
    forge.with(|s| {
        let p = s.pull(1);
        p.merged = true;
        p.merge_commit_sha = Some("abcdef0".repeat(5) + "abcde");
    });
}

fn bad_token(flavor: Flavor) {
    let (forge, repo) = setup(flavor);
    let out = forge
        .loket(&repo, "wrong-token")
        .args(["review", "--pr", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    let own = match flavor {
        Flavor::GitHub => "GITHUB_TOKEN",
        Flavor::Forgejo => "FORGEJO_TOKEN",
    };
    assert!(
        err.contains("refused the token") && err.contains(own) && err.contains("LOKET_FORGE_TOKEN"),
        "{err}"
    );
    assert!(!err.contains("wrong-token"), "the token leaked: {err}");

    let out = forge
        .loket(&repo, "")
        .env_remove("LOKET_FORGE_TOKEN")
        .args(["review", "--pr", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no token is set"), "{}", stderr(&out));
}

fn rate_limited(flavor: Flavor) {
    let (forge, repo) = setup(flavor);
    forge.with(|s| s.rate_limited = true);
    let out = forge.review(&repo, 1, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("rate limit") && err.contains("resets at"),
        "{err}"
    );
}

fn missing_pr(flavor: Flavor) {
    let (forge, repo) = setup(flavor);
    let out = forge.review(&repo, 99, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("not found") && err.contains("/pulls/99"),
        "{err}"
    );
}

fn forge_down(flavor: Flavor) {
    let (forge, repo) = setup(flavor);
    let dead = format!("http://127.0.0.1:{}", common::free_port());
    let out = forge
        .loket(&repo, TOKEN)
        .env("LOKET_FORGE_API_URL", &dead)
        .args(["review", "--pr", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("cannot reach the forge"),
        "{}",
        stderr(&out)
    );
}

fn bad_repo_argument(flavor: Flavor) {
    let (forge, repo) = setup(flavor);
    let out = forge.review(&repo, 1, &["--repo", "no-slash"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("expected owner/name"));
}

fn comment_is_edited_in_place(flavor: Flavor) {
    let (forge, repo) = setup(flavor);
    forge.with(|s| {
        s.comments.push(fake_forge::FakeComment {
            id: 1,
            issue: 1,
            body: "terima kasih".into(),
            author: AUTHOR.into(),
        });
        // Someone pastes our marker into their own comment: it must not be taken
        // for ours (the token cannot edit it anyway).
        s.comments.push(fake_forge::FakeComment {
            id: 2,
            issue: 1,
            body: "<!-- loket-review --> ✅ Disetujui".into(),
            author: "mallory".into(),
        });
    });
    let out = forge.review(&repo, 1, &["--comment"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    forge.with(|s| s.review(1, KADIS, Verdict::Approve, 1, ""));
    let out = forge.review(&repo, 1, &["--comment"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let comments = forge.with(|s| s.comments.clone());
    assert_eq!(
        comments.len(),
        3,
        "one comment of ours, two of others: {comments:#?}"
    );
    assert_eq!(comments[0].body, "terima kasih");
    assert_eq!(comments[1].body, "<!-- loket-review --> ✅ Disetujui");
    assert_eq!(comments[2].author, fake_forge::BOT);
    let ours = &comments[2].body;
    assert!(ours.contains("<!-- loket-review -->"), "{ours}");
    assert!(
        ours.contains("Menunggu") && ours.contains("menunggu **Kepala Bidang Informatika**"),
        "{ours}"
    );
    assert!(
        ours.contains("✅ selesai oleh `kadis-kominfo-kudus`, 18-09-2026 09:01 WIB"),
        "{ours}"
    );
    // No personal data of the applicant in the comment.
    assert!(
        !ours.contains("Dimas") && !ours.contains("197608051999061019"),
        "{ours}"
    );
    let posts = forge.with(|s| s.log.iter().filter(|l| l.starts_with("POST")).count());
    assert_eq!(posts, 1, "the second run edits, never posts again");
}

fn comment_shows_the_accounts_the_merge_will_change(flavor: Flavor) {
    let (forge, repo) = setup(flavor);
    let out = forge.review(&repo, 1, &["--comment"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let body = forge.with(|s| s.comments.last().unwrap().body.clone());
    assert!(body.contains("Tidak ada akun yang berubah."), "{body}");

    repo.copy_bundled("accounts/mail/dimas.hartono@kuduskab.go.id.toml");
    forge.with(|s| s.pull(1).head_sha = repo.head_sha());
    let out = forge.review(&repo, 1, &["--comment"]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let comments = forge.with(|s| s.comments.clone());
    assert_eq!(comments.len(), 1, "edited in place: {comments:#?}");
    let body = &comments[0].body;
    assert!(
        body.contains(&format!("| `{MAIL}` | `dovecot` | buat akun email |")),
        "{body}"
    );
    // The address names the applicant: it stays out of the comment.
    assert!(!body.contains("dimas"), "{body}");
}

fn job_summary_has_a_table(flavor: Flavor) {
    let (forge, repo) = setup(flavor);
    let dir = tempfile::tempdir().unwrap();
    let summary = dir.path().join("summary.md");
    let out = forge
        .loket(&repo, TOKEN)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .args(["review", "--pr", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.contains("| Tiket | Jenis | Status | Langkah berikutnya |"),
        "{md}"
    );
    assert!(
        md.contains(MAIL) && md.contains("menunggu **Kepala Dinas Komunikasi dan Informatika**"),
        "{md}"
    );
}

fn record_refuses_unapproved_merge(flavor: Flavor) {
    let (forge, repo) = setup(flavor);
    forge.with(|s| s.review(1, KADIS, Verdict::Approve, 1, ""));
    // Merged anyway (an admin bypassed branch protection).
    merge(&forge);
    let out = forge.review(&repo, 1, &["--record"]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains(MAIL) && err.contains("disposisi-kabid") && err.contains("kepala-bidang"),
        "{err}"
    );
    let record = repo.dir.join(Progress::path_for(MAIL));
    assert!(!record.exists());

    forge.with(|s| {
        s.review(1, KABID, Verdict::Approve, 2, "");
        s.review(1, KASI, Verdict::Approve, 3, "");
    });
    let out = forge.review(&repo, 1, &["--record"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let p: Progress = toml::from_str(&std::fs::read_to_string(&record).unwrap()).unwrap();
    assert_eq!(p.outcome, Outcome::Approved);
    assert_eq!(p.pr, Some(1));
    let steps: Vec<_> = p.steps.iter().map(|s| s.step.as_str()).collect();
    assert_eq!(
        steps,
        [
            "permohonan",
            "disposisi-kadis",
            "disposisi-kabid",
            "cek-nama"
        ]
    );
    assert_eq!(p.steps[2].login.as_deref(), Some(KABID));
    assert!(p.steps[2].review_id.is_some());
    // What `loket apply`'s offline gate then reads: the record lets the ticket through.
    use loket::apply::gate::RecordsGate;
    let inst = Instance::load(&repo.dir).unwrap();
    let gate = RecordsGate::new(&repo.dir, inst.config.as_ref().unwrap());
    assert_eq!(
        gate.approved(MAIL, Some(loket::model::RequestKind::MailCreate)),
        Ok(())
    );
}

/// On a push to main, CI knows the merge commit, not the PR number.
fn record_by_merge_commit(flavor: Flavor) {
    let (forge, repo) = setup(flavor);
    approve_all(&forge);
    let out = forge.review(&repo, 1, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Fast-forward merge: the merge commit is the head checked out here.
    let head = repo.head_sha();
    forge.with(|s| {
        let p = s.pull(1);
        p.merged = true;
        p.merge_commit_sha = Some(head);
    });
    let run = |rev: &str| {
        forge
            .loket(&repo, TOKEN)
            .args(["review", "--merge-commit", rev, "--record"])
            .output()
            .unwrap()
    };
    let out = run("HEAD");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(repo.dir.join(Progress::path_for(MAIL)).exists());
    let out = run("main"); // the base commit merged no pull request
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no merged pull request has merge commit"),
        "{}",
        stderr(&out)
    );
}

fn record_needs_a_merged_pr(flavor: Flavor) {
    let (forge, repo) = setup(flavor);
    approve_all(&forge);
    let out = forge.review(&repo, 1, &["--record"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("not merged"), "{}", stderr(&out));
}

/// The library gate `loket apply` calls, over the same HTTP forge.
fn gate_library_call(flavor: Flavor) {
    let (forge, repo) = setup(flavor);
    forge.with(|s| s.review(1, KADIS, Verdict::Approve, 1, ""));
    merge(&forge);
    let kind = match flavor {
        Flavor::GitHub => ForgeKind::GitHub,
        Flavor::Forgejo => ForgeKind::Forgejo,
    };
    let client = kind
        .client(
            &forge.api_url,
            &format!("{}/{}", fake_forge::OWNER, fake_forge::NAME),
            Some(TOKEN.into()),
        )
        .unwrap();
    let base = loket::check::read_base(&repo.dir, "main").unwrap();
    let config = base.instance.config.as_ref().unwrap();
    let merged = Instance::load(&repo.dir).unwrap();
    let now = jiff::Timestamp::now();
    let err = gate::approved_trail(client.as_ref(), config, &merged, "", 1, true, now).unwrap_err();
    match &err {
        GateError::Unapproved { missing, .. } => {
            assert_eq!(missing[0].ticket, MAIL);
            let step = missing[0].step.as_ref().unwrap();
            assert_eq!(
                (step.step.as_str(), step.role.as_str()),
                ("disposisi-kabid", "kepala-bidang")
            );
        }
        other => panic!("{other}"),
    }
    forge.with(|s| {
        s.review(1, KABID, Verdict::Approve, 2, "");
        s.review(1, KASI, Verdict::Approve, 3, "");
    });
    let trails = gate::approved_trail(client.as_ref(), config, &merged, "", 1, true, now).unwrap();
    assert_eq!(trails.len(), 1);
    assert_eq!(trails[0].steps.len(), 4);
    let path = gate::write_record(&repo.dir, &trails[0]).unwrap();
    assert!(path.ends_with(format!("records/{MAIL}.toml")));
    let record: loket::model::record::Progress =
        toml::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    assert_eq!(record.kind, Some(loket::model::RequestKind::MailCreate));
}

fn snapshot_of_open_pulls(flavor: Flavor) {
    let (forge, repo) = setup(flavor);
    forge.with(|s| s.review(1, KADIS, Verdict::Approve, 1, ""));
    repo.add_request(SERVER);
    forge.open_pull(2, &repo, AUTHOR);
    forge.with(|s| {
        s.pull(2).files.retain(|(p, _)| p.contains(SERVER));
        s.review(2, KADIS, Verdict::Approve, 1, "");
        s.review(
            2,
            KABID,
            Verdict::RequestChanges,
            2,
            "Ditolak: tidak ada formulir akses",
        );
    });
    let out_dir = tempfile::tempdir().unwrap();
    let out_file = out_dir.path().join("snapshot.toml");
    let out = forge
        .loket(&repo, TOKEN)
        .args(["forge", "snapshot", "--out"])
        .arg(&out_file)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let text = std::fs::read_to_string(&out_file).unwrap();
    let snap: Snapshot = toml::from_str(&text).unwrap();
    assert_eq!(snap.tickets.len(), 2, "{text}");
    let mail = snap.tickets.iter().find(|t| t.ticket == MAIL).unwrap();
    assert_eq!(mail.outcome, Outcome::Pending);
    assert_eq!(mail.pending_step.as_deref(), Some("disposisi-kabid"));
    assert_eq!(mail.pr, Some(1));
    let server = snap.tickets.iter().find(|t| t.ticket == SERVER).unwrap();
    assert_eq!(server.outcome, Outcome::Refused);
    // Each entry names its kind, so the site need not infer the SOP.
    assert_eq!(mail.kind, Some(loket::model::RequestKind::MailCreate));
    assert_eq!(server.kind, Some(loket::model::RequestKind::ServerGrant));
    // Public: no logins, no applicant data.
    assert!(!text.contains("login") && !text.contains(KADIS), "{text}");
    assert!(!text.contains("Dimas"), "{text}");
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
    bad_token,
    rate_limited,
    missing_pr,
    forge_down,
    bad_repo_argument,
    comment_is_edited_in_place,
    comment_shows_the_accounts_the_merge_will_change,
    job_summary_has_a_table,
    record_refuses_unapproved_merge,
    record_needs_a_merged_pr,
    record_by_merge_commit,
    gate_library_call,
    snapshot_of_open_pulls,
);
