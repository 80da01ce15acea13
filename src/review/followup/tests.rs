//! The follow-up rules over hand-built forge data and the Lumajang and Kudus presets.

use jiff::Timestamp;

use super::super::{Evaluation, evaluate, touched};
use crate::forge::{ChangedFile, Commit, PullData, PullRequest, Review, ReviewState};
use crate::model::record::Outcome;
use crate::model::{Completion, Config, Instance};

const HEAD: &str = "2222222222222222222222222222222222222222";
const T: &str = "LMJ-24WBW-PV52C";

fn lumajang() -> Config {
    toml::from_str(include_str!("../../../presets/lumajang.toml")).unwrap()
}

fn pull(author: &str, files: &[&str], merged_at: Option<&str>) -> PullData {
    PullData {
        pull: PullRequest {
            number: 12,
            author: author.into(),
            head_sha: HEAD.into(),
            base_ref: "main".into(),
            base_sha: "0".repeat(40),
            state: if merged_at.is_some() {
                "closed"
            } else {
                "open"
            }
            .into(),
            merged: merged_at.is_some(),
            merge_commit_sha: None,
            created_at: "2026-12-01T01:00:00Z".into(),
            merged_at: merged_at.map(String::from),
        },
        commits: vec![Commit {
            sha: HEAD.into(),
            author_login: Some(author.into()),
            committer_login: Some(author.into()),
        }],
        files: files
            .iter()
            .map(|p| ChangedFile {
                path: (*p).into(),
                previous_path: None,
                removed: false,
            })
            .collect(),
        reviews: Vec::new(),
    }
}

fn approve(id: u64, login: &str, minute: u32) -> Review {
    Review {
        id,
        login: login.into(),
        state: ReviewState::Approved,
        commit_id: Some(HEAD.into()),
        submitted_at: Some(format!("2026-12-01T02:{minute:02}:00Z")),
        dismissed: false,
        stale: false,
        official: true,
        body: String::new(),
    }
}

/// The head: the ticket's request (naming the applicant's login), processed or not.
fn head(login: bool) -> Instance {
    let request = format!(
        "ticket = \"{T}\"\nkind = \"mail-create\"\nsubmitted = 2026-11-30T09:00:00+07:00\n\n[applicant]\nname = \"Budi\"\nopd = \"Dinas Kesehatan\"\nposition = \"Staf\"\ncontact = \"0812\"\n{}\n[letter]\nnumber = \"800/1/2026\"\ndate = 2026-11-30\nsignatory = \"Kepala Dinas Kesehatan\"\n\n[mail]\naddress = \"budi@lumajangkab.go.id\"\n",
        if login {
            "login = \"budi-dinkes\"\n"
        } else {
            ""
        }
    );
    let inst = Instance::from_files(
        std::path::Path::new("."),
        vec![(format!("requests/{T}.toml"), request)],
    );
    assert!(inst.failures.is_empty(), "{:?}", inst.failures);
    inst
}

fn eval(data: &PullData, processed: bool, login: bool) -> Evaluation {
    let mut t = touched(&data.files, "", &head(login));
    if let Some(f) = &mut t.follow_up {
        f.processed = processed;
    }
    evaluate(&lumajang(), data, &t, true, Timestamp::UNIX_EPOCH)
}

fn letter() -> String {
    format!("letters/{T}.toml")
}

const KASI: &str = "kasi-ppispbe-lumajang";
const KABID: &str = "kabid-aptika-lumajang";
const KADIS: &str = "kadis-kominfo-lumajang";

fn pending(ev: &Evaluation) -> Option<(String, String)> {
    ev.tickets[0]
        .pending
        .as_ref()
        .map(|p| (p.step.clone(), p.role.clone()))
}

fn has(ev: &Evaluation, code: &str) -> bool {
    ev.problems.iter().any(|p| p.contains(code))
        || ev.tickets.iter().any(|t| {
            t.findings.iter().any(|f| f.code == code)
                || t.reason.as_deref().is_some_and(|r| r.contains(code))
        })
}

#[test]
fn lumajang_walks_draft_paraf_signature_merge_and_receipt() {
    let mut d = pull(KASI, &[&letter()], None);
    let ev = eval(&d, true, true);
    assert_eq!(
        pending(&ev),
        Some(("draf-diterima-kabid".into(), "kepala-bidang".into()))
    );
    d.reviews.push(approve(1, KABID, 1));
    let ev = eval(&d, true, true);
    assert_eq!(
        pending(&ev),
        Some(("tanda-tangan".into(), "kepala-dinas".into()))
    );
    d.reviews.push(approve(2, KADIS, 2));
    let ev = eval(&d, true, true);
    assert_eq!(
        pending(&ev),
        Some(("pengiriman".into(), "sekretaris-dinas".into()))
    );
    assert_eq!(ev.outcome, Outcome::Approved, "ready to merge");
    d.pull.merged = true;
    d.pull.merged_at = Some("2026-12-01T03:00:00Z".into());
    let ev = eval(&d, true, true);
    assert_eq!(
        pending(&ev),
        Some(("diterima-pengguna".into(), "pengguna".into()))
    );
    // The applicant's receipt after the merge completes the SOP.
    d.reviews.push(Review {
        submitted_at: Some("2026-12-01T04:00:00Z".into()),
        ..approve(3, "budi-dinkes", 0)
    });
    let ev = eval(&d, true, true);
    assert_eq!(ev.tickets[0].outcome, Outcome::Done);
    let done = super::done_records(&ev.tickets[0]);
    let kinds: Vec<Completion> = done.iter().map(|s| s.done_by).collect();
    assert_eq!(
        kinds,
        [
            Completion::Draft,
            Completion::Review,
            Completion::Review,
            Completion::Merge,
            Completion::Receipt
        ]
    );
    assert_eq!(done[0].login.as_deref(), Some(KASI));
    assert_eq!(done[4].review_id, Some(3));
    assert_eq!(done[3].at, "2026-12-01T03:00:00Z");
}

#[test]
fn self_approval_wrong_role_and_order_do_not_count() {
    // The Kabid opened it: no draft (A016), and their own approval is self-approval.
    let mut d = pull(KABID, &[&letter()], None);
    d.reviews.push(approve(1, KABID, 1));
    let ev = eval(&d, true, true);
    assert!(has(&ev, "A016"), "{ev:#?}");
    assert!(
        ev.findings.iter().any(|f| f.code == "A004"),
        "{:?}",
        ev.findings
    );
    // Wrong role: the Kadis approving for the Kabid's paraf.
    let mut d = pull(KASI, &[&letter()], None);
    d.reviews.push(approve(1, KADIS, 1));
    let ev = eval(&d, true, true);
    assert_eq!(pending(&ev).unwrap().0, "draf-diterima-kabid");
    // Out of order is fine only in order: the signature before the paraf is retaken.
    let mut d = pull(KASI, &[&letter()], None);
    d.reviews.push(approve(1, KADIS, 1));
    d.reviews.push(approve(2, KABID, 2));
    let ev = eval(&d, true, true);
    assert_eq!(pending(&ev).unwrap().0, "tanda-tangan");
    assert!(has(&ev, "A008"), "{ev:#?}");
}

#[test]
fn one_person_completes_one_step_where_distinct() {
    // The Sekdin holds kepala-dinas too; with the Kabid's login doubled as Kadis, the
    // same person cannot take both the paraf and the signature.
    let mut cfg = lumajang();
    let kadis = cfg.roles.get_mut("kepala-dinas").unwrap();
    kadis
        .logins
        .push(crate::model::Spanned::new(0..0, KABID.to_string()));
    let mut d = pull(KASI, &[&letter()], None);
    d.reviews.push(approve(1, KABID, 1));
    let mut t = touched(&d.files, "", &head(true));
    t.follow_up.as_mut().unwrap().processed = true;
    let ev = evaluate(&cfg, &d, &t, true, Timestamp::UNIX_EPOCH);
    assert_eq!(pending(&ev).unwrap().0, "tanda-tangan");
    assert!(has(&ev, "A009"), "{ev:#?}");
}

#[test]
fn extra_files_or_an_unprocessed_ticket_are_refused() {
    let d = pull(KASI, &[&letter(), "requests/LMJ-OTHER-00001.toml"], None);
    let ev = eval(&d, true, true);
    assert!(has(&ev, "A015"), "{ev:#?}");
    assert_eq!(ev.outcome, Outcome::Pending);
    let d = pull(KASI, &[&letter(), "loket.toml"], None);
    let ev = eval(&d, true, true);
    assert!(has(&ev, "A015"), "{ev:#?}");
    let d = pull(KASI, &[&letter()], None);
    let ev = eval(&d, false, true);
    assert!(has(&ev, "A015"), "{ev:#?}");
    assert!(
        ev.tickets[0]
            .reason
            .as_deref()
            .unwrap()
            .contains("not processed")
    );
    assert_eq!(ev.outcome, Outcome::Pending);
}

#[test]
fn receipt_needs_the_applicants_login() {
    let mut d = pull(KASI, &[&letter()], Some("2026-12-01T03:00:00Z"));
    d.reviews.push(approve(1, KABID, 1));
    d.reviews.push(approve(2, KADIS, 2));
    d.reviews.push(Review {
        submitted_at: Some("2026-12-01T04:00:00Z".into()),
        ..approve(3, "someone-else", 0)
    });
    let ev = eval(&d, true, true);
    assert_eq!(pending(&ev).unwrap().0, "diterima-pengguna");
    let ev = eval(&d, true, false);
    assert!(has(&ev, "A017"), "{ev:#?}");
}

/// Lumajang with a Plh. Kepala Dinas (`plh-kadis`) and a Plh. Kasi (`plh-kasi`) whose
/// decrees run from 2026-11-01 to `until` (`until` a bare date counts whole).
fn lumajang_with_delegations(until: &str) -> Config {
    let text = format!(
        "{}\n[[delegations]]\nrole = \"kepala-dinas\"\nlogin = \"plh-kadis\"\nkind = \"plh\"\nfrom = 2026-11-01\nuntil = {until}\ndecree = \"800/9/2.04/2026\"\n\n[[delegations]]\nrole = \"kepala-seksi\"\nlogin = \"plh-kasi\"\nkind = \"plh\"\nfrom = 2026-11-01\nuntil = {until}\ndecree = \"800/10/2.04/2026\"\n",
        include_str!("../../../presets/lumajang.toml")
    );
    toml::from_str(&text).unwrap()
}

fn eval_with(cfg: &Config, d: &PullData) -> Evaluation {
    let mut t = touched(&d.files, "", &head(true));
    t.follow_up.as_mut().unwrap().processed = true;
    evaluate(cfg, d, &t, true, Timestamp::UNIX_EPOCH)
}

#[test]
fn acting_officials_draft_and_sign_within_their_window_only() {
    let mut d = pull("plh-kasi", &[&letter()], None);
    d.reviews.push(approve(1, KABID, 1));
    d.reviews.push(approve(2, "plh-kadis", 2));
    let cfg = lumajang_with_delegations("2026-12-01");
    let ev = eval_with(&cfg, &d);
    assert_eq!(
        pending(&ev),
        Some(("pengiriman".into(), "sekretaris-dinas".into()))
    );
    let done = super::done_records(&ev.tickets[0]);
    assert_eq!(done[0].login.as_deref(), Some("plh-kasi"));
    assert_eq!(
        done[0].acting.as_ref().map(|a| a.decree.as_str()),
        Some("800/10/2.04/2026")
    );
    assert!(done[1].acting.is_none(), "the Kabid holds the role");
    assert_eq!(
        done[2].acting.as_ref().map(|a| a.decree.as_str()),
        Some("800/9/2.04/2026")
    );
    // The same pull request a day after the decrees ended: neither counts.
    let cfg = lumajang_with_delegations("2026-11-30");
    let ev = eval_with(&cfg, &d);
    assert!(has(&ev, "A016"), "{ev:#?}");
    assert_eq!(pending(&ev).unwrap().0, "draf-pemberitahuan");
}

#[test]
fn a_merge_before_the_paraf_and_signature_is_not_mergeable() {
    // Merged with only the draft done: pending, so apply refuses to record it.
    let d = pull(KASI, &[&letter()], Some("2026-12-01T03:00:00Z"));
    let ev = eval(&d, true, true);
    assert_eq!(ev.tickets[0].outcome, Outcome::Pending, "{ev:#?}");
    assert!(!super::mergeable(&ev.tickets[0]));
    // Merged after the signature: only the receipt is left, which may follow.
    let mut d = d;
    d.reviews.push(approve(1, KABID, 1));
    d.reviews.push(approve(2, KADIS, 2));
    let ev = eval(&d, true, true);
    assert!(super::mergeable(&ev.tickets[0]), "{ev:#?}");
}
