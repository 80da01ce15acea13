//! Attacks on the trust chain (docs/threat-model.md), each tried at every layer it
//! reaches (`loket check --base`, `loket review`, and `loket apply --approvals
//! forge` on the merged main branch), on both forges. The fake forge speaks the real
//! GitHub and Forgejo JSON over HTTP; git history, merges and the backends' files are
//! real. Positive controls show approved requests still go through.
mod common;
#[path = "common/fake_forge.rs"]
mod fake_forge;
#[path = "common/office.rs"]
mod office;

use fake_forge::{Flavor, Verdict, git, json_of};
use office::*;

fn code(o: &std::process::Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// `loket review --pr n --format json` with the pull request's head checked out.
fn review(o: &Office, n: u64) -> (i32, serde_json::Value, String) {
    git(&o.dir, &["checkout", "-q", &format!("pr-{n}")]);
    let out = o.loket(&["review", "--pr", &n.to_string(), "--format", "json"]);
    git(&o.dir, &["checkout", "-q", "main"]);
    (code(&out), json_of(&out), text(&out))
}

/// `loket check --base <main before the PR>` on the pull request's head.
fn check_pr(o: &Office, n: u64, base: &str) -> std::process::Output {
    git(&o.dir, &["checkout", "-q", &format!("pr-{n}")]);
    let out = o.loket(&["check", "--base", base]);
    git(&o.dir, &["checkout", "-q", "main"]);
    out
}

fn forged_record() -> (&'static str, Option<String>) {
    // A real record of the bundled instance: outcome processed, every step done.
    (
        "records/KDS-24WBW-PV52C.toml",
        Some(Office::bundled("records/KDS-24WBW-PV52C.toml")),
    )
}

fn approved_request_is_applied(flavor: Flavor) {
    let mut o = Office::new(flavor);
    let n = o.open(OPERATOR, &Office::mail_files());
    o.approve_sop(n);
    let (exit, _, out) = review(&o, n);
    assert_eq!(exit, 0, "{out}");
    o.merge(n);
    let apply = o.apply();
    assert_eq!(code(&apply), 0, "{}", text(&apply));
    assert!(o.passwd().contains("dimas.hartono@kuduskab.go.id"));
    // The trail CI writes comes from the forge's reviews.
    let record = std::fs::read_to_string(o.dir.join("records").join(format!("{MAIL}.toml")))
        .expect("trail written");
    assert!(
        record.contains(KASI) && record.contains("pr = 1"),
        "{record}"
    );
    let again = o.apply();
    assert_eq!(code(&again), 0, "{}", text(&again));
    assert!(text(&again).contains("0 changes"), "{}", text(&again));
}

fn forged_record_in_a_request_pr(flavor: Flavor) {
    let mut o = Office::new(flavor);
    let base = o.head();
    let mut files = Office::mail_files();
    files.push(forged_record());
    let n = o.open(OPERATOR, &files);
    // Layer 1: check --base names the record.
    let check = check_pr(&o, n, &base);
    assert_eq!(code(&check), 1, "{}", text(&check));
    assert!(text(&check).contains("L074"), "{}", text(&check));
    // Layer 2: review refuses even with every disposition in.
    o.approve_sop(n);
    let (exit, json, out) = review(&o, n);
    assert_ne!(exit, 0, "{out}");
    assert_ne!(json["outcome"], "approved", "{out}");
    assert!(out.contains("A012"), "{out}");
    // Layer 3: an admin merges anyway; apply trusts the forge, not the record, and
    // the pull request as a whole is not approved.
    o.merge(n);
    let apply = o.apply();
    assert_eq!(code(&apply), 1, "{}", text(&apply));
    assert!(text(&apply).contains("REFUSED"), "{}", text(&apply));
    assert!(text(&apply).contains("A012"), "{}", text(&apply));
    assert!(!o.passwd().contains("dimas.hartono"));
}

fn admin_merge_without_reviews(flavor: Flavor) {
    let mut o = Office::new(flavor);
    let n = o.open(OPERATOR, &Office::mail_files());
    // The forge counted one approval from anyone; no SOP role gave it.
    o.review(n, "some-maintainer", Verdict::Approve, 5);
    let (exit, _, out) = review(&o, n);
    assert_eq!(exit, 3, "{out}");
    o.merge(n);
    let apply = o.apply();
    assert_eq!(code(&apply), 1, "{}", text(&apply));
    let out = text(&apply);
    assert!(
        out.contains("REFUSED") && out.contains("disposisi-kadis") && out.contains("kepala-dinas"),
        "{out}"
    );
    assert!(!o.passwd().contains("dimas.hartono"));
}

fn records_only_pull_requests_change_nothing(flavor: Flavor) {
    let mut o = Office::new(flavor);
    let n = o.open(OPERATOR, &Office::mail_files());
    o.merge(n);
    assert_eq!(code(&o.apply()), 1);
    // A later pull request adds only the record, approved by the config-change
    // role holder and every SOP role: still written by a pull request.
    let base = o.head();
    let r = o.open(OPERATOR, &[forged_record()]);
    let check = check_pr(&o, r, &base);
    assert_eq!(code(&check), 1, "{}", text(&check));
    o.approve_sop(r);
    let (exit, _, out) = review(&o, r);
    assert_ne!(exit, 0, "{out}");
    assert!(out.contains("A012"), "{out}");
    o.merge(r);
    let apply = o.apply();
    assert_eq!(code(&apply), 1, "{}", text(&apply));
    assert!(!o.passwd().contains("dimas.hartono"));
    // An edit of the existing record: the same.
    let mut edited = forged_record();
    edited.1 = edited.1.map(|t| t.replace("pr = 19", "pr = 1"));
    let e = o.open(OPERATOR, &[edited]);
    o.approve_sop(e);
    let (exit, _, out) = review(&o, e);
    assert_ne!(exit, 0, "{out}");
    o.merge(e);
    assert_eq!(code(&o.apply()), 1);
    assert!(!o.passwd().contains("dimas.hartono"));
}

fn protected_paths_need_the_config_change_role(flavor: Flavor) {
    let mut o = Office::new(flavor);
    let n = o.open(
        OPERATOR,
        &[
            ("templates/site/ticket.html", Some("<p>hacked</p>".into())),
            (".github/workflows/apply.yml", Some("on: push\n".into())),
            ("src/main.rs", Some("fn main() {}\n".into())),
        ],
    );
    o.review(n, KABID, Verdict::Approve, 10);
    o.review(n, KASI, Verdict::Approve, 20);
    let (exit, json, out) = review(&o, n);
    assert_eq!(exit, 3, "{out}");
    let paths = json["config-change"]["paths"].to_string();
    assert!(
        paths.contains("templates/site/ticket.html")
            && paths.contains(".github/workflows/apply.yml")
            && paths.contains("src/main.rs"),
        "{out}"
    );
    // The Kadis holds approvals.config-change-role in the bundled config.
    o.review(n, KADIS, Verdict::Approve, 30);
    let (exit, _, out) = review(&o, n);
    assert_eq!(exit, 0, "{out}");

    // loket.toml changed with a non-config role's approval and merged: every change
    // that rests on it is refused, even an approved request merged later.
    let cfg = std::fs::read_to_string(o.dir.join("loket.toml")).unwrap() + "\n# edited\n";
    let c = o.open(OPERATOR, &[("loket.toml", Some(cfg))]);
    o.review(c, KABID, Verdict::Approve, 10);
    let (exit, _, out) = review(&o, c);
    assert_eq!(exit, 3, "{out}");
    o.merge(c);
    let m = o.open(OPERATOR, &Office::mail_files());
    o.approve_sop(m);
    o.merge(m);
    let apply = o.apply();
    assert_eq!(code(&apply), 1, "{}", text(&apply));
    let out = text(&apply);
    assert!(
        out.contains("loket.toml was changed by") && out.contains("A010"),
        "{out}"
    );
    assert!(!o.passwd().contains("dimas.hartono"));
}

fn a_direct_push_taints_only_the_account_it_touches(flavor: Flavor) {
    let mut o = Office::new(flavor);
    let g = o.open(OPERATOR, &Office::grant_files());
    o.approve_sop(g);
    o.merge(g);
    // Someone with push rights edits the approved account on main, no pull request.
    let edited = Office::grant_account() + "# adjusted\n";
    let pushed = o.push_direct(&[(GRANT_ACCOUNT, Some(edited))]);
    let m = o.open(OPERATOR, &Office::mail_files());
    o.approve_sop(m);
    o.merge(m);
    let apply = o.apply();
    assert_eq!(code(&apply), 1, "{}", text(&apply));
    let out = text(&apply);
    // The mail request is applied; the grant is refused, naming the direct push.
    assert!(o.passwd().contains("dimas.hartono"), "{out}");
    assert!(
        out.contains(&pushed[..7]) && out.contains("direct push"),
        "{out}"
    );
    assert!(!o.keys().contains(GRANT_KEY), "{out}");
}

fn an_evil_merge_commit_holds_more_than_was_reviewed(flavor: Flavor) {
    let mut o = Office::new(flavor);
    let m = o.open(OPERATOR, &Office::mail_files());
    o.approve_sop(m);
    // Someone with push rights merges by hand and slips the grant's files into the
    // merge commit; the forge then shows the pull request merged by that commit.
    o.merge_by_hand(m, |dir| {
        for (rel, text) in Office::grant_files() {
            let p = dir.join(rel);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text.unwrap()).unwrap();
        }
    });
    let apply = o.apply();
    let out = text(&apply);
    assert_eq!(code(&apply), 1, "{out}");
    assert!(out.contains("not what was reviewed"), "{out}");
    assert!(!o.keys().contains(GRANT_KEY), "{out}");
    // The mail account in the same commit is refused too: the commit as a whole is
    // not the reviewed pull request.
    assert!(!o.passwd().contains("dimas.hartono"), "{out}");

    // The same with the reviewed file itself altered in the merge commit.
    let mut o = Office::new(flavor);
    let m = o.open(OPERATOR, &Office::mail_files());
    o.approve_sop(m);
    o.merge_by_hand(m, |dir| {
        let account = dir.join(MAIL_ACCOUNT);
        let altered = std::fs::read_to_string(&account).unwrap() + "# altered in the merge\n";
        std::fs::write(&account, altered).unwrap();
    });
    let apply = o.apply();
    let out = text(&apply);
    assert_eq!(code(&apply), 1, "{out}");
    assert!(out.contains("otherwise than the reviewed head"), "{out}");
    assert!(!o.passwd().contains("dimas.hartono"), "{out}");
}

fn a_cancelled_run_loses_nothing(flavor: Flavor) {
    let mut o = Office::new(flavor);
    // Two merges in quick succession; the first push's apply run never ran.
    let m = o.open(OPERATOR, &Office::mail_files());
    o.approve_sop(m);
    o.merge(m);
    let g = o.open(OPERATOR, &Office::grant_files());
    o.approve_sop(g);
    o.merge(g);
    let apply = o.apply();
    assert_eq!(code(&apply), 0, "{}", text(&apply));
    assert!(o.passwd().contains("dimas.hartono"));
    assert!(o.keys().contains(GRANT_KEY), "{}", text(&apply));
    for t in [MAIL, GRANT] {
        assert!(o.dir.join("records").join(format!("{t}.toml")).exists());
    }
}

fn an_incomplete_forge_answer_refuses_the_change(flavor: Flavor) {
    let mut o = Office::new(flavor);
    let n = o.open(OPERATOR, &Office::mail_files());
    o.approve_sop(n);
    o.merge(n);
    // The forge says the pull request has more files than it lists: a file (a
    // request, an account) may be hidden, so loket judges nothing.
    o.forge.with(|s| s.pull(n).changed_files_count = Some(3));
    let apply = o.apply();
    let out = text(&apply);
    assert_eq!(code(&apply), 1, "{out}");
    assert!(
        out.contains("REFUSED") && out.contains("cannot be read whole"),
        "{out}"
    );
    assert!(!o.passwd().contains("dimas.hartono"), "{out}");
    // The forge answers whole again: the next run applies it.
    o.forge.with(|s| s.pull(n).changed_files_count = None);
    let apply = o.apply();
    assert_eq!(code(&apply), 0, "{}", text(&apply));
    assert!(o.passwd().contains("dimas.hartono"));
}

fn same_second_approvals_out_of_order(flavor: Flavor) {
    let mut o = Office::new(flavor);
    let n = o.open(OPERATOR, &Office::mail_files());
    // The Kabid's approval and the Kadis's in the same second, the Kabid's first
    // (the forge's review ids say so).
    o.review(n, KABID, Verdict::Approve, 10);
    o.review(n, KADIS, Verdict::Approve, 10);
    o.review(n, KASI, Verdict::Approve, 30);
    let (exit, json, out) = review(&o, n);
    assert_eq!(exit, 3, "{out}");
    assert_eq!(
        json["tickets"][0]["pending"]["role"], "kepala-bidang",
        "{out}"
    );
    assert!(out.contains("A008"), "{out}");
    o.merge(n);
    assert_eq!(code(&o.apply()), 1);
    assert!(!o.passwd().contains("dimas.hartono"));
}

fn a_tag_shadowing_the_base_is_refused(flavor: Flavor) {
    let mut o = Office::new(flavor);
    let base = o.head();
    let n = o.open(OPERATOR, &Office::mail_files());
    git(&o.dir, &["update-ref", "refs/remotes/origin/main", &base]);
    // Whoever can push a tag names it after the remote branch, pointing at a base
    // with a role map of their choosing (here: the pull request's own head).
    git(&o.dir, &["tag", "origin/main", &format!("pr-{n}")]);
    git(&o.dir, &["checkout", "-q", &format!("pr-{n}")]);
    let check = o.loket(&["check", "--base", "origin/main"]);
    assert_eq!(code(&check), 2, "{}", text(&check));
    assert!(text(&check).contains("ambiguous"), "{}", text(&check));
    let out = o.loket(&["review", "--pr", &n.to_string(), "--base", "origin/main"]);
    assert_eq!(code(&out), 2, "{}", text(&out));
    assert!(text(&out).contains("ambiguous"), "{}", text(&out));
    // By full name or SHA the base is exactly what it says.
    let check = o.loket(&["check", "--base", "refs/remotes/origin/main"]);
    assert_eq!(code(&check), 0, "{}", text(&check));
    let check = o.loket(&["check", "--base", &base]);
    assert_eq!(code(&check), 0, "{}", text(&check));
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
    approved_request_is_applied,
    forged_record_in_a_request_pr,
    admin_merge_without_reviews,
    records_only_pull_requests_change_nothing,
    protected_paths_need_the_config_change_role,
    a_direct_push_taints_only_the_account_it_touches,
    a_cancelled_run_loses_nothing,
    an_evil_merge_commit_holds_more_than_was_reviewed,
    same_second_approvals_out_of_order,
    an_incomplete_forge_answer_refuses_the_change,
    a_tag_shadowing_the_base_is_refused,
);
