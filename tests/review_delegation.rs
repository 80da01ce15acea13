//! Acting officials (issue 13, item 4): a `[[delegations]]` entry of the base
//! branch's `loket.toml` lets its login's review count for the role while the
//! decree is in force, on both forges, in `loket review` (JSON and the PR comment)
//! and at the gate of `loket apply --approvals forge`, which records the step with
//! its acting kind and decree. Negative cases: a window that ended or has not begun,
//! a delegation for another role, one added in the pull request it would approve,
//! and one person completing two steps through a delegation.
mod common;
#[path = "common/fake_forge.rs"]
mod fake_forge;
#[path = "common/office.rs"]
mod office;

use fake_forge::{Flavor, Verdict, git, json_of};
use office::*;
use serde_json::Value;

/// Has no role in the bundled loket.toml; a decree makes them Plh. Kepala Dinas.
const SEKDIN: &str = "sekdin-kominfo-kudus";
const DECREE: &str = "800/117/18.03/2026";

/// The fake forge's reviews are on 2026-09-18 from 09:00 WIB: this window holds them.
fn delegation(role: &str, login: &str, from: &str, until: &str) -> String {
    format!(
        "\n[[delegations]]\nrole = \"{role}\"\nlogin = \"{login}\"\nkind = \"plh\"\nfrom = {from}\nuntil = {until}\ndecree = \"{DECREE}\"\nname = \"Drs. Sutrisno, M.Si.\"\n"
    )
}

fn code(o: &std::process::Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// `loket review --pr n` (extra args) with the pull request's head checked out.
fn review(o: &Office, n: u64, extra: &[&str]) -> std::process::Output {
    git(&o.dir, &["checkout", "-q", &format!("pr-{n}")]);
    let mut args = vec!["review", "--pr"];
    let num = n.to_string();
    args.push(&num);
    args.extend_from_slice(extra);
    let out = o.loket(&args);
    git(&o.dir, &["checkout", "-q", "main"]);
    out
}

fn review_json(o: &Office, n: u64) -> (i32, Value, String) {
    let out = review(o, n, &["--format", "json"]);
    (code(&out), json_of(&out), text(&out))
}

/// Merges a config pull request adding `extra` to loket.toml, approved by the
/// Kepala Dinas (the config-change role), as an office would.
fn merge_config(o: &mut Office, extra: &str) {
    let cfg = std::fs::read_to_string(o.dir.join("loket.toml")).unwrap() + extra;
    let c = o.open(OPERATOR, &[("loket.toml", Some(cfg))]);
    o.review(c, KADIS, Verdict::Approve, 5);
    let (exit, _, out) = review_json(o, c);
    assert_eq!(exit, 0, "the delegation's own PR: {out}");
    o.merge(c);
}

fn step<'a>(json: &'a Value, id: &str) -> &'a Value {
    json["tickets"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["id"] == id)
        .unwrap_or_else(|| panic!("no step {id} in {json}"))
}

/// The mail request with the Sekretaris Dinas in the Kadis's place.
fn open_with_sekdin(o: &mut Office) -> u64 {
    let n = o.open(OPERATOR, &Office::mail_files());
    o.review(n, SEKDIN, Verdict::Approve, 10);
    o.review(n, KABID, Verdict::Approve, 20);
    o.review(n, KASI, Verdict::Approve, 30);
    n
}

fn a_delegate_in_the_window_completes_the_step_and_is_recorded(flavor: Flavor) {
    let mut o = Office::new(flavor);
    merge_config(
        &mut o,
        &delegation("kepala-dinas", SEKDIN, "2026-09-18", "2026-09-18"),
    );
    let n = open_with_sekdin(&mut o);
    let (exit, json, out) = review_json(&o, n);
    assert_eq!(exit, 0, "{out}");
    let kadis = step(&json, "disposisi-kadis");
    assert_eq!(kadis["state"], "done", "{out}");
    assert_eq!(kadis["record"]["login"], SEKDIN, "{out}");
    assert_eq!(kadis["record"]["acting"]["kind"], "plh", "{out}");
    assert_eq!(kadis["record"]["acting"]["decree"], DECREE, "{out}");
    assert!(step(&json, "disposisi-kabid")["record"]["acting"].is_null());
    // The PR comment names the acting role and the decree.
    let md = review(&o, n, &["--comment"]);
    assert_eq!(code(&md), 0, "{}", text(&md));
    let comment = o.forge.with(|s| s.comments.last().map(|c| c.body.clone()));
    let comment = comment.expect("one comment");
    assert!(
        comment.contains(&format!(
            "oleh `{SEKDIN}` sebagai **Plh. Kepala Dinas Komunikasi dan Informatika** (SK {DECREE})"
        )),
        "{comment}"
    );
    // At apply the gate judges the same way, and CI's record keeps the decree.
    o.merge(n);
    let apply = o.apply();
    assert_eq!(code(&apply), 0, "{}", text(&apply));
    assert!(o.passwd().contains("dimas.hartono@kuduskab.go.id"));
    let record = std::fs::read_to_string(o.dir.join(format!("records/{MAIL}.toml"))).unwrap();
    let p: loket::model::record::Progress = toml::from_str(&record).unwrap();
    let kadis = p
        .steps
        .iter()
        .find(|s| s.step == "disposisi-kadis")
        .unwrap();
    assert_eq!(kadis.login.as_deref(), Some(SEKDIN), "{record}");
    let acting = kadis.acting.as_ref().expect("acting recorded");
    assert_eq!(
        (acting.kind.prefix(), acting.decree.as_str()),
        ("Plh.", DECREE)
    );
}

/// Asserts the request waits for the Kepala Dinas, in review and at apply; with
/// `no_role`, the Sekdin's approval is reported as by someone holding no SOP role
/// at its time (A007).
fn sekdin_does_not_count(o: &Office, n: u64, no_role: bool) {
    let (exit, json, out) = review_json(o, n);
    assert_eq!(exit, 3, "{out}");
    assert_eq!(
        json["tickets"][0]["pending"]["role"], "kepala-dinas",
        "{out}"
    );
    assert_eq!(step(&json, "disposisi-kadis")["state"], "pending", "{out}");
    let findings = json["tickets"][0]["findings"].to_string();
    assert_eq!(
        findings.contains("A007") && findings.contains(SEKDIN),
        no_role,
        "{out}"
    );
    o.merge(n);
    let apply = o.apply();
    assert_eq!(code(&apply), 1, "{}", text(&apply));
    let out = text(&apply);
    assert!(
        out.contains("REFUSED") && out.contains("disposisi-kadis"),
        "{out}"
    );
    assert!(!o.passwd().contains("dimas.hartono"));
}

fn an_expired_window_does_not_count(flavor: Flavor) {
    let mut o = Office::new(flavor);
    merge_config(
        &mut o,
        &delegation("kepala-dinas", SEKDIN, "2026-09-14", "2026-09-17"),
    );
    let n = open_with_sekdin(&mut o);
    sekdin_does_not_count(&o, n, true);
}

fn a_window_not_yet_begun_does_not_count(flavor: Flavor) {
    let mut o = Office::new(flavor);
    // From 09:15 WIB on the day: the approval at 09:10 WIB is five minutes early.
    merge_config(
        &mut o,
        &delegation("kepala-dinas", SEKDIN, "2026-09-18T09:15:00", "2026-09-25"),
    );
    let n = open_with_sekdin(&mut o);
    sekdin_does_not_count(&o, n, true);
}

fn a_delegation_for_another_role_does_not_count(flavor: Flavor) {
    let mut o = Office::new(flavor);
    merge_config(
        &mut o,
        &delegation("kepala-seksi", SEKDIN, "2026-09-18", "2026-09-18"),
    );
    // Plh. Kepala Seksi: a role of the SOP, but not the Kadis's step.
    let n = open_with_sekdin(&mut o);
    sekdin_does_not_count(&o, n, false);
}

fn a_delegation_added_in_the_same_pull_request_does_not_count(flavor: Flavor) {
    let mut o = Office::new(flavor);
    let cfg = std::fs::read_to_string(o.dir.join("loket.toml")).unwrap()
        + &delegation("kepala-dinas", SEKDIN, "2026-09-18", "2026-09-18");
    let mut files = Office::mail_files();
    files.push(("loket.toml", Some(cfg)));
    let n = o.open(OPERATOR, &files);
    o.review(n, SEKDIN, Verdict::Approve, 10);
    o.review(n, KABID, Verdict::Approve, 20);
    o.review(n, KASI, Verdict::Approve, 30);
    let (exit, json, out) = review_json(&o, n);
    assert_eq!(exit, 3, "{out}");
    // Roles and delegations come from the base branch: the step waits, and the
    // config change itself still wants the Kepala Dinas.
    assert_eq!(
        json["tickets"][0]["pending"]["role"], "kepala-dinas",
        "{out}"
    );
    assert!(json["config-change"]["approved"].is_null(), "{out}");
    assert!(
        json["config-change"]["paths"]
            .to_string()
            .contains("loket.toml"),
        "{out}"
    );
    o.merge(n);
    let apply = o.apply();
    assert_eq!(code(&apply), 1, "{}", text(&apply));
    assert!(text(&apply).contains("A010"), "{}", text(&apply));
    assert!(!o.passwd().contains("dimas.hartono"));
}

fn one_person_never_completes_two_steps_through_a_delegation(flavor: Flavor) {
    let mut o = Office::new(flavor);
    // The Kabid is Plh. Kepala Dinas and keeps the Kepala Bidang role.
    merge_config(
        &mut o,
        &delegation("kepala-dinas", KABID, "2026-09-18", "2026-09-18"),
    );
    let n = o.open(OPERATOR, &Office::mail_files());
    o.review(n, KABID, Verdict::Approve, 10);
    o.review(n, KASI, Verdict::Approve, 30);
    let (exit, json, out) = review_json(&o, n);
    assert_eq!(exit, 3, "{out}");
    let kadis = step(&json, "disposisi-kadis");
    assert_eq!(kadis["record"]["acting"]["kind"], "plh", "{out}");
    assert_eq!(
        json["tickets"][0]["pending"]["step"], "disposisi-kabid",
        "{out}"
    );
    let findings = json["tickets"][0]["findings"].to_string();
    assert!(findings.contains("A009"), "{out}");
    // The Kadis's own approval, given later, cannot free the Kabid for their step:
    // it would come after the Kabid's approval (A008), so the request stays pending.
    o.review(n, KADIS, Verdict::Approve, 40);
    let (exit, _, out) = review_json(&o, n);
    assert_eq!(exit, 3, "{out}");
    o.merge(n);
    let apply = o.apply();
    assert_eq!(code(&apply), 1, "{}", text(&apply));
    assert!(!o.passwd().contains("dimas.hartono"));
}

macro_rules! on_both_forges {
    ($($name:ident),* $(,)?) => {
        mod github {
            $(#[test] fn $name() { super::$name(super::Flavor::GitHub) })*
        }
        mod forgejo {
            $(#[test] fn $name() { super::$name(super::Flavor::Forgejo) })*
        }
    };
}

on_both_forges!(
    a_delegate_in_the_window_completes_the_step_and_is_recorded,
    an_expired_window_does_not_count,
    a_window_not_yet_begun_does_not_count,
    a_delegation_for_another_role_does_not_count,
    a_delegation_added_in_the_same_pull_request_does_not_count,
    one_person_never_completes_two_steps_through_a_delegation,
);
