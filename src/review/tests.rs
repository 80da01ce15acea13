//! Pure evaluation tests over hand-built forge data and the bundled Kudus preset.

use super::*;
use crate::forge::{ChangedFile, Commit, PullRequest};
use crate::model::Instance;

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
            merged_at: None,
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
    ev.tickets[0].pending.as_ref().map(|p| p.role.as_str())
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
fn changes_requested_by_the_admin_step_holder_block_a_fully_approved_request() {
    // The admin holds no review step of the mail SOP, only the after-merge account
    // creation; an outstanding request for changes from them still stops the request.
    let mut objection = review(1, "admin-helpdesk-kudus", ChangesRequested, 1);
    objection.body = "ditolak: nama sudah dipakai di server surat".into();
    let chain = vec![
        objection.clone(),
        review(2, "kadis-kominfo-kudus", Approved, 2),
        review(3, "kabid-informatika-kudus", Approved, 3),
        review(4, "kasi-tip-kudus", Approved, 4),
    ];
    let ev = eval(chain.clone());
    assert_eq!(ev.outcome, Outcome::Refused, "{ev:#?}");
    assert!(
        gate::judge(
            &config(),
            &data(chain.clone()),
            &mail(),
            true,
            Timestamp::UNIX_EPOCH
        )
        .is_err()
    );
    objection.body.clear();
    let mut returned = chain;
    returned[0] = objection;
    let ev = eval(returned.clone());
    assert_eq!(ev.outcome, Outcome::Returned);
    assert_eq!(
        ev.tickets[0].reason.as_deref(),
        Some("changes requested by admin (no reason given)")
    );
    // Approving later withdraws the objection.
    returned.push(review(5, "admin-helpdesk-kudus", Approved, 5));
    assert_eq!(eval(returned).outcome, Outcome::Approved);
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
    t.protected = vec!["loket.toml".into()];
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

#[test]
fn gate_refuses_an_unapproved_config_change() {
    let mut t = mail();
    t.config_changed = true;
    t.protected = vec!["loket.toml".into()];
    let d = data(vec![
        review(1, "kadis-kominfo-kudus", Approved, 1),
        review(2, "kabid-informatika-kudus", Approved, 2),
        review(3, "kasi-tip-kudus", Approved, 3),
    ]);
    // The Kadis approved: both the request and the config change pass.
    assert!(gate::judge(&config(), &d, &t, true, Timestamp::UNIX_EPOCH).is_ok());
    let mut c = config();
    c.approvals.config_change_role = Some(crate::model::Spanned::new(0..0, "kepala-seksi".into()));
    c.roles.get_mut("kepala-seksi").unwrap().logins.clear();
    let err = gate::judge(&c, &d, &t, true, Timestamp::UNIX_EPOCH).unwrap_err();
    assert!(
        matches!(err, gate::GateError::ConfigUnapproved { .. }),
        "{err}"
    );
}

#[test]
fn a_forgejo_stale_flag_alone_makes_an_approval_stale() {
    let mut r = review(1, "kadis-kominfo-kudus", Approved, 1);
    r.stale = true;
    let ev = eval(vec![r]);
    assert_eq!(pending_role(&ev), Some("kepala-dinas"));
    assert_eq!(ev.findings[0].code, "A003");
}

#[test]
fn forge_gate_judges_each_ticket_on_its_own() {
    // The server SOP here also needs the admin's review; the mail SOP does not.
    let mut c = config();
    c.sops.get_mut("server").unwrap().steps[4].done_by =
        crate::model::Spanned::new(0..0, Completion::Review);
    let mut t = mail();
    t.requests.push(TicketRef {
        ticket: "KDS-3ZTYU-SR663".into(),
        kind: RequestKind::ServerGrant,
        path: "requests/KDS-3ZTYU-SR663.toml".into(),
    });
    let d = data(vec![
        review(1, "kadis-kominfo-kudus", Approved, 1),
        review(2, "kabid-informatika-kudus", Approved, 2),
        review(3, "kasi-tip-kudus", Approved, 3),
    ]);
    let gate = gate::ForgeGate::assess(&c, &d, &t, true, Timestamp::UNIX_EPOCH).unwrap();
    assert_eq!(gate.approved("KDS-24WBW-PV52C"), Ok(()));
    let why = gate.approved("KDS-3ZTYU-SR663").unwrap_err();
    assert!(why.contains("aktivasi") && why.contains("admin"), "{why}");
    assert!(gate.approved("KDS-OTHER-TICKT").is_err());
    assert_eq!(gate.trails().count(), 1);
    // The all-or-nothing form refuses the whole PR, naming the missing step.
    let err = gate::judge(&c, &d, &t, true, Timestamp::UNIX_EPOCH).unwrap_err();
    assert!(
        err.to_string()
            .contains("step aktivasi lacks an approval by role admin"),
        "{err}"
    );
}

#[test]
fn touched_reads_an_instance_in_a_subdirectory() {
    let text = include_str!("../../requests/KDS-24WBW-PV52C.toml").to_string();
    let head = Instance::from_files(
        std::path::Path::new("kudus"),
        vec![("requests/KDS-24WBW-PV52C.toml".into(), text)],
    );
    let file = |path: &str, removed| ChangedFile {
        path: path.into(),
        previous_path: None,
        removed,
    };
    let files = [
        file("kudus/requests/KDS-24WBW-PV52C.toml", false),
        file("kudus/loket.toml", false),
        file("kudus/requests/KDS-GONE0-00000.toml", true),
        file("other/requests/KDS-24WBW-PV52C.toml", false),
        file("README.md", false),
    ];
    let t = touched(&files, "kudus", &head);
    assert!(t.config_changed);
    // The removed request and everything outside the instance take the strict review.
    assert_eq!(
        t.protected,
        [
            "README.md",
            "kudus/loket.toml",
            "kudus/requests/KDS-GONE0-00000.toml",
            "other/requests/KDS-24WBW-PV52C.toml"
        ]
    );
    assert_eq!(t.requests.len(), 1);
    assert_eq!(t.requests[0].kind, RequestKind::MailCreate);
    assert!(t.problems.is_empty(), "{:?}", t.problems);
    // A request file the head tree lacks is a problem, not silently skipped.
    let t = touched(&files[..1], "kudus", &Instance::default());
    assert_eq!(t.problems.len(), 1);
    assert_eq!(
        evaluate(&config(), &data(vec![]), &t, true, Timestamp::UNIX_EPOCH).exit_code(),
        3
    );
}

#[test]
fn assignment_finds_the_one_person_per_step_that_works() {
    // Unordered, distinct people: "dua-peran" holds both the Kadis and the Kabid
    // role, "sekdin" only the Kadis one. First-fit would give the Kadis step to
    // "dua-peran" (who approved first) and leave the Kabid step without anyone.
    let mut c = config();
    c.sops.get_mut("email").unwrap().ordered = false;
    let add = |c: &mut Config, role: &str, login: &str| {
        c.roles
            .get_mut(role)
            .unwrap()
            .logins
            .push(crate::model::Spanned::new(0..0, login.to_string()));
    };
    add(&mut c, "kepala-dinas", "dua-peran");
    add(&mut c, "kepala-bidang", "dua-peran");
    add(&mut c, "kepala-dinas", "sekdin");
    let d = data(vec![
        review(1, "dua-peran", Approved, 1),
        review(2, "sekdin", Approved, 2),
        review(3, "kasi-tip-kudus", Approved, 3),
    ]);
    let ev = evaluate(&c, &d, &mail(), true, Timestamp::UNIX_EPOCH);
    assert_eq!(ev.outcome, Outcome::Approved, "{ev:#?}");
    let by = |i: usize| match &ev.tickets[0].steps[i].state {
        StepState::Done { record } => record.login.clone(),
        _ => None,
    };
    assert_eq!(by(1).as_deref(), Some("sekdin"));
    assert_eq!(by(2).as_deref(), Some("dua-peran"));
}

#[test]
fn a_return_without_reason_names_the_role_not_the_person() {
    let ev = eval(vec![review(1, "kadis-kominfo-kudus", ChangesRequested, 1)]);
    assert_eq!(
        ev.tickets[0].reason.as_deref(),
        Some("changes requested by kepala-dinas (no reason given)")
    );
}

#[test]
fn approvals_in_the_same_second_follow_the_forge_review_id() {
    // Kadis then Kabid then Kasi, all in minute 1: in order by id, approved.
    let ev = eval(vec![
        review(1, "kadis-kominfo-kudus", Approved, 1),
        review(2, "kabid-informatika-kudus", Approved, 1),
        review(3, "kasi-tip-kudus", Approved, 1),
    ]);
    assert_eq!(ev.outcome, Outcome::Approved);
    // The Kabid's approval came first (lower id) in the same second: out of order.
    let ev = eval(vec![
        review(1, "kabid-informatika-kudus", Approved, 1),
        review(2, "kadis-kominfo-kudus", Approved, 1),
        review(3, "kasi-tip-kudus", Approved, 1),
    ]);
    assert_eq!(pending_role(&ev), Some("kepala-bidang"));
    assert!(
        ev.tickets[0].findings.iter().any(|f| f.code == "A008"),
        "{:?}",
        ev.tickets[0].findings
    );
}

#[test]
fn a_pull_request_writing_records_is_never_approved() {
    let mut t = mail();
    t.records = vec!["records/KDS-24WBW-PV52C.toml".into()];
    let d = data(vec![
        review(1, "kadis-kominfo-kudus", Approved, 1),
        review(2, "kabid-informatika-kudus", Approved, 2),
        review(3, "kasi-tip-kudus", Approved, 3),
    ]);
    let ev = evaluate(&config(), &d, &t, true, Timestamp::UNIX_EPOCH);
    assert_ne!(ev.outcome, Outcome::Approved);
    assert!(ev.problems[0].contains("[A012]"), "{:?}", ev.problems);
    assert!(gate::judge(&config(), &d, &t, true, Timestamp::UNIX_EPOCH).is_err());
}

#[test]
fn a_template_change_needs_the_config_change_role_and_names_the_path() {
    let mut t = mail();
    t.protected = vec!["templates/site/ticket.html".into()];
    let approvals = vec![
        review(1, "kadis-kominfo-kudus", Approved, 1),
        review(2, "kabid-informatika-kudus", Approved, 2),
        review(3, "kasi-tip-kudus", Approved, 3),
    ];
    let mut c = config();
    c.approvals.config_change_role = Some(crate::model::Spanned::new(0..0, "admin".into()));
    let ev = evaluate(
        &c,
        &data(approvals.clone()),
        &t,
        true,
        Timestamp::UNIX_EPOCH,
    );
    assert_eq!(ev.outcome, Outcome::Pending);
    let cc = ev.config_change.as_ref().unwrap();
    assert_eq!(cc.paths, ["templates/site/ticket.html"]);
    assert!(render::human(&ev).contains("templates/site/ticket.html changed"));
    let admin = c.roles["admin"].logins[0].get_ref().clone();
    let mut with_admin = approvals;
    with_admin.push(review(4, &admin, Approved, 4));
    let ev = evaluate(&c, &data(with_admin), &t, true, Timestamp::UNIX_EPOCH);
    assert_eq!(ev.outcome, Outcome::Approved);
}
