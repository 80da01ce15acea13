//! Pure evaluation tests over hand-built forge data and the bundled Kudus preset.

use super::*;
use crate::forge::{Commit, PullRequest};

const HEAD: &str = "1111111111111111111111111111111111111111";

fn config() -> Config {
    toml::from_str(include_str!("../../presets/kudus.toml")).unwrap()
}

fn data(reviews: Vec<Review>) -> PullData {
    PullData {
        pull: PullRequest {
            number: 7,
            author: "operator".into(),
            head_sha: HEAD.into(),
            base_ref: "main".into(),
            base_sha: "0".repeat(40),
            state: "open".into(),
            merged: false,
            merge_commit_sha: None,
            created_at: "2026-09-18T01:00:00Z".into(),
        },
        commits: vec![Commit {
            sha: HEAD.into(),
            author_login: Some("operator".into()),
            committer_login: Some("web-flow".into()),
        }],
        files: vec![],
        reviews,
    }
}

fn review(id: u64, login: &str, state: ReviewState, minute: u32) -> Review {
    Review {
        id,
        login: login.into(),
        state,
        commit_id: Some(HEAD.into()),
        submitted_at: Some(format!("2026-09-18T02:{minute:02}:00Z")),
        dismissed: false,
        stale: false,
        official: true,
        body: String::new(),
    }
}

fn mail() -> Touched {
    Touched {
        requests: vec![TicketRef {
            ticket: "KDS-24WBW-PV52C".into(),
            kind: RequestKind::MailCreate,
            path: "requests/KDS-24WBW-PV52C.toml".into(),
        }],
        ..Default::default()
    }
}

fn eval(reviews: Vec<Review>) -> Evaluation {
    evaluate(
        &config(),
        &data(reviews),
        &mail(),
        true,
        Timestamp::UNIX_EPOCH,
    )
}

fn pending_role(ev: &Evaluation) -> Option<&str> {
    ev.tickets[0].pending.as_ref().map(|p| p.1.as_str())
}

use ReviewState::*;

#[test]
fn happy_path_walks_the_kudus_mail_sop() {
    assert_eq!(pending_role(&eval(vec![])), Some("kepala-dinas"));
    let kadis = review(1, "kadis-kominfo-kudus", Approved, 1);
    let kabid = review(2, "kabid-informatika-kudus", Approved, 2);
    let kasi = review(3, "kasi-tip-kudus", Approved, 3);
    assert_eq!(
        pending_role(&eval(vec![kadis.clone()])),
        Some("kepala-bidang")
    );
    let ev = eval(vec![kadis.clone(), kabid.clone()]);
    assert_eq!(pending_role(&ev), Some("kepala-seksi"));
    let ev = eval(vec![kadis, kabid, kasi]);
    assert_eq!(ev.outcome, Outcome::Approved);
    assert_eq!(ev.exit_code(), 0);
}

#[test]
fn wrong_order_does_not_count() {
    let ev = eval(vec![
        review(2, "kabid-informatika-kudus", Approved, 1),
        review(1, "kadis-kominfo-kudus", Approved, 2),
    ]);
    assert_eq!(pending_role(&ev), Some("kepala-bidang"));
    assert!(ev.tickets[0].findings.iter().any(|f| f.code == "A008"));
}

#[test]
fn refusal_and_return_are_told_apart() {
    let mut r = review(1, "kadis-kominfo-kudus", ChangesRequested, 1);
    r.body = "Ditolak: tidak ada surat".into();
    assert_eq!(eval(vec![r.clone()]).outcome, Outcome::Refused);
    r.body = "nama sudah dipakai, ajukan nama lain".into();
    let ev = eval(vec![r]);
    assert_eq!(ev.outcome, Outcome::Returned);
    assert_eq!(ev.exit_code(), 1);
    assert_eq!(
        ev.tickets[0].reason.as_deref(),
        Some("nama sudah dipakai, ajukan nama lain")
    );
}

#[test]
fn changes_requested_by_an_outsider_do_not_return() {
    let ev = eval(vec![review(1, "random-user", ChangesRequested, 1)]);
    assert_eq!(ev.outcome, Outcome::Pending);
}

#[test]
fn config_change_needs_the_configured_role() {
    let mut t = mail();
    t.requests.clear();
    t.config_changed = true;
    let c = config();
    let d = data(vec![review(1, "kabid-informatika-kudus", Approved, 1)]);
    let ev = evaluate(&c, &d, &t, true, Timestamp::UNIX_EPOCH);
    assert_eq!(ev.outcome, Outcome::Pending);
    let d = data(vec![review(1, "kadis-kominfo-kudus", Approved, 1)]);
    let ev = evaluate(&c, &d, &t, true, Timestamp::UNIX_EPOCH);
    assert_eq!(ev.outcome, Outcome::Approved);
}

#[test]
fn gate_names_the_missing_step() {
    let d = data(vec![review(1, "kadis-kominfo-kudus", Approved, 1)]);
    let err = gate::judge(&config(), &d, &mail(), true, Timestamp::UNIX_EPOCH).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("disposisi-kabid") && msg.contains("kepala-bidang"),
        "{msg}"
    );
}
