//! `loket remind` against the fake forge over real HTTP, GitHub and Forgejo: no
//! reminder before the standard time, one comment after it that later runs edit
//! and never duplicate, escalation to the role above past the multiple, weekends
//! and holidays not counted, the reminder cleared once the step is done, comments
//! others wrote left alone, and a pull request the forge cannot give whole refused.
//!
//! Time is injected with `--now`. The fake pull request opens on Friday 18 Sep 2026
//! at 08:00 WIB (01:00Z); the Kudus preset keeps Friday to 07:30–11:00 WIB.

mod common;
#[path = "common/fake_forge.rs"]
mod fake_forge;

use std::process::Output;

use fake_forge::{BOT, FakeComment, FakeForge, Flavor, Repo, TOKEN, Verdict};
use serde_json::Value;

const MAIL: &str = "KDS-24WBW-PV52C";
const AUTHOR: &str = "operator-kudus";
const KADIS: &str = "kadis-kominfo-kudus";
const KABID: &str = "kabid-informatika-kudus";
const MARKER: &str = "<!-- loket-remind -->";

fn setup(flavor: Flavor, config: &str) -> (FakeForge, Repo) {
    let forge = FakeForge::start(flavor);
    let repo = Repo::new(config);
    repo.add_request(MAIL);
    forge.open_pull(1, &repo, AUTHOR);
    (forge, repo)
}

fn remind(forge: &FakeForge, repo: &Repo, now: &str, extra: &[&str]) -> Output {
    forge
        .loket(repo, TOKEN)
        .args(["remind", "--now", now, "--format", "json"])
        .args(extra)
        .output()
        .expect("run loket")
}

/// The JSON report of a run that must succeed.
fn pass(out: &Output) -> Value {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    fake_forge::json_of(out)
}

/// Every reminder comment on PR 1 (any author).
fn reminders(forge: &FakeForge) -> Vec<FakeComment> {
    forge.with(|s| {
        s.comments
            .iter()
            .filter(|c| c.issue == 1 && c.body.starts_with(MARKER))
            .cloned()
            .collect()
    })
}

/// The one overdue step of PR 1 in a report.
fn overdue(report: &Value) -> Vec<Value> {
    report["reports"][0]["overdue"].as_array().unwrap().clone()
}

fn one_comment_then_edited(flavor: Flavor) {
    let (forge, repo) = setup(flavor, &fake_forge::kudus_config());
    // 08:05 and 08:10 WIB: within the Kepala Dinas's 10 minutes, no comment.
    for now in ["2026-09-18T01:05:00Z", "2026-09-18T01:10:00Z"] {
        let r = pass(&remind(&forge, &repo, now, &[]));
        assert_eq!(r["reports"][0]["action"]["action"], "nothing", "{r}");
        assert!(reminders(&forge).is_empty());
    }
    // 08:15 WIB: 15 minutes, one reminder mentioning the Kepala Dinas.
    let r = pass(&remind(&forge, &repo, "2026-09-18T01:15:00Z", &[]));
    assert_eq!(r["reports"][0]["action"]["action"], "created", "{r}");
    let late = overdue(&r);
    assert_eq!(late.len(), 1);
    assert_eq!(late[0]["step"], "disposisi-kadis");
    assert_eq!(late[0]["waited-minutes"], 15);
    assert_eq!(late[0]["escalated"], false);
    let c = reminders(&forge);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].author, BOT);
    let body = &c[0].body;
    let (id, en) = body
        .split_once("**English**")
        .expect("Indonesian, then English");
    assert!(
        id.contains("**Pengingat:** langkah 2 `disposisi-kadis`")
            && id.contains(&format!("menunggu @{KADIS}"))
            && id.contains("sejak 18 September 2026 pukul 08.00 WIB")
            && id.contains("sudah 15 menit waktu kerja, standar SOP 10 menit"),
        "{body}"
    );
    assert!(en.contains("**Reminder:** step 2"), "{body}");
    let first_id = c[0].id;

    // A second run, later: the same comment edited, no second one.
    let r = pass(&remind(&forge, &repo, "2026-09-18T01:18:00Z", &[]));
    assert_eq!(r["reports"][0]["action"]["action"], "updated", "{r}");
    assert_eq!(r["reports"][0]["action"]["comment-id"], first_id);
    let c = reminders(&forge);
    assert_eq!(c.len(), 1, "{c:?}");
    assert!(c[0].body.contains("sudah 18 menit"), "{}", c[0].body);
    // And again at the same instant: still one.
    pass(&remind(&forge, &repo, "2026-09-18T01:18:00Z", &[]));
    assert_eq!(reminders(&forge).len(), 1);

    // 08:25 WIB: past 2 × 10 minutes. The Kepala Dinas has no role above.
    let r = pass(&remind(&forge, &repo, "2026-09-18T01:25:00Z", &[]));
    assert_eq!(overdue(&r)[0]["escalated"], true);
    let c = reminders(&forge);
    assert_eq!(c.len(), 1);
    assert!(
        c[0].body.contains("tidak ada peran di atasnya"),
        "{}",
        c[0].body
    );

    // The Kadis disposes at 09:01 WIB: the next step (Kabid, 10 minutes) waits
    // from then. 09:15 WIB: a reminder to the Kabid, not escalated.
    forge.with(|s| s.review(1, KADIS, Verdict::Approve, 1, ""));
    let r = pass(&remind(&forge, &repo, "2026-09-18T02:15:00Z", &[]));
    let late = overdue(&r);
    assert_eq!(late[0]["step"], "disposisi-kabid");
    assert_eq!(late[0]["waited-minutes"], 14);
    assert_eq!(late[0]["escalated"], false);
    let c = reminders(&forge);
    assert_eq!(c.len(), 1);
    assert!(
        c[0].body.contains(&format!("menunggu @{KABID}")),
        "{}",
        c[0].body
    );
    assert!(!c[0].body.contains("Eskalasi"), "{}", c[0].body);
    // 09:30 WIB: 29 minutes, past 20: escalated to the Kepala Dinas (reports-to).
    let r = pass(&remind(&forge, &repo, "2026-09-18T02:30:00Z", &[]));
    assert_eq!(overdue(&r)[0]["above"]["role"], "kepala-dinas");
    let c = reminders(&forge);
    assert_eq!(c.len(), 1);
    assert!(
        c[0].body.contains(&format!(
            "**Eskalasi:** lewat 2 × standar waktu; mohon tindak lanjut @{KADIS}"
        )),
        "{}",
        c[0].body
    );

    // The Kabid disposes at 09:35 WIB; 09:40: nothing overdue, the reminder says so.
    forge.with(|s| s.review(1, KABID, Verdict::Approve, 35, ""));
    let r = pass(&remind(&forge, &repo, "2026-09-18T02:40:00Z", &[]));
    assert_eq!(r["reports"][0]["action"]["action"], "cleared", "{r}");
    let r = pass(&remind(&forge, &repo, "2026-09-18T02:41:00Z", &[]));
    assert_eq!(r["reports"][0]["action"]["action"], "unchanged", "{r}");
    let c = reminders(&forge);
    assert_eq!(c.len(), 1);
    assert!(c[0].body.contains("Tidak ada langkah"), "{}", c[0].body);
    assert_eq!(c[0].id, first_id);
}

#[test]
fn github_one_comment_then_edited_and_escalated() {
    one_comment_then_edited(Flavor::GitHub);
}

#[test]
fn forgejo_one_comment_then_edited_and_escalated() {
    one_comment_then_edited(Flavor::Forgejo);
}

/// The Kudus preset with Monday 21 Sep 2026 as a holiday.
fn with_holiday() -> String {
    let c = fake_forge::kudus_config();
    let at = c.find("holidays = [\n").expect("holidays in the preset") + "holidays = [\n".len();
    format!("{}  \"2026-09-21\",\n{}", &c[..at], &c[at..])
}

fn weekend_and_holiday_not_counted(flavor: Flavor) {
    let (forge, repo) = setup(flavor, &with_holiday());
    // The Kadis disposes at 10:55 WIB on Friday; the Kabid's 10 minutes start then.
    forge.with(|s| s.review(1, KADIS, Verdict::Approve, 115, ""));
    // Friday closes at 11:00 (5 min); Saturday, Sunday and the Monday holiday
    // count nothing; Tuesday 07:34 WIB makes 9 minutes: no reminder.
    let r = pass(&remind(&forge, &repo, "2026-09-22T00:34:00Z", &[]));
    assert_eq!(r["reports"][0]["action"]["action"], "nothing", "{r}");
    assert!(reminders(&forge).is_empty());
    // Tuesday 07:36: 11 minutes, one reminder.
    let r = pass(&remind(&forge, &repo, "2026-09-22T00:36:00Z", &[]));
    assert_eq!(overdue(&r)[0]["waited-minutes"], 11, "{r}");
    assert_eq!(reminders(&forge).len(), 1);
}

#[test]
fn github_weekend_and_holiday_not_counted() {
    weekend_and_holiday_not_counted(Flavor::GitHub);
}

#[test]
fn forgejo_weekend_and_holiday_not_counted() {
    weekend_and_holiday_not_counted(Flavor::Forgejo);
}

fn others_comments_are_left_alone(flavor: Flavor) {
    let (forge, repo) = setup(flavor, &fake_forge::kudus_config());
    // Someone pastes the marker; and loket's review comment is there too.
    forge.with(|s| {
        s.comments.push(FakeComment {
            id: 41,
            issue: 1,
            body: format!("{MARKER}\nnothing is late, really"),
            author: AUTHOR.into(),
        });
        s.comments.push(FakeComment {
            id: 42,
            issue: 1,
            body: format!("<!-- loket-review -->\nquoting {MARKER}"),
            author: BOT.into(),
        });
    });
    // A dry run posts nothing and prints the comment.
    let out = forge
        .loket(&repo, TOKEN)
        .args(["remind", "--now", "2026-09-18T01:15:00Z", "--dry-run"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("would post") && stdout.contains("**Pengingat:**"),
        "{stdout}"
    );
    assert_eq!(forge.with(|s| s.comments.len()), 2);
    // The real run creates loket's own reminder beside the pasted one.
    let r = pass(&remind(&forge, &repo, "2026-09-18T01:15:00Z", &[]));
    assert_eq!(r["reports"][0]["action"]["action"], "created", "{r}");
    forge.with(|s| {
        assert_eq!(
            s.comments[0].body,
            format!("{MARKER}\nnothing is late, really")
        );
        assert!(s.comments[1].body.starts_with("<!-- loket-review -->"));
        assert_eq!(s.comments.len(), 3);
        assert!(s.comments[2].body.contains("**Pengingat:**"));
    });
}

#[test]
fn github_others_comments_are_left_alone() {
    others_comments_are_left_alone(Flavor::GitHub);
}

#[test]
fn forgejo_others_comments_are_left_alone() {
    others_comments_are_left_alone(Flavor::Forgejo);
}

fn partial_answer_refused(flavor: Flavor) {
    let (forge, repo) = setup(flavor, &fake_forge::kudus_config());
    // The forge counts two commits but lists one: nothing is judged on part of it.
    forge.with(|s| s.pull(1).commits_count = Some(2));
    let out = remind(&forge, &repo, "2026-09-18T03:00:00Z", &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("pull request #1 refused") && err.contains("has 2 commits"),
        "{err}"
    );
    assert!(forge.with(|s| s.comments.is_empty()));
    assert!(
        forge.with(|s| !s.log.iter().any(|l| !l.starts_with("GET "))),
        "nothing written"
    );
}

#[test]
fn github_partial_answer_refused() {
    partial_answer_refused(Flavor::GitHub);
}

#[test]
fn forgejo_partial_answer_refused() {
    partial_answer_refused(Flavor::Forgejo);
}

#[test]
fn forgejo_partial_list_of_pulls_refused() {
    let (forge, repo) = setup(Flavor::Forgejo, &fake_forge::kudus_config());
    // X-Total-Count says one more pull request than the list holds.
    forge.with(|s| s.forgejo.total_count_extra = 1);
    let out = remind(&forge, &repo, "2026-09-18T03:00:00Z", &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot list the open pull requests"), "{err}");
    assert!(forge.with(|s| s.comments.is_empty()));
}
