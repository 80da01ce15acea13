//! Seed SOPs with steps after the account is made, walked to their last step as an
//! office runs them: the request pull request reviewed on the fake forge (both
//! flavors), merged, `loket apply --approvals forge` on main, then `loket letter
//! --draft` and the follow-up pull request adding `letters/<ticket>.toml`, its
//! reviews and merge, and `loket apply` again recording the follow-up steps. The
//! status site built from the result must show every step done with its time and
//! role, and status "selesai"; every record commit is the apply workflow's. Kudus
//! server access (step 6, the handover) and Lumajang (steps 9-13, the letter chain)
//! here; the other SOPs in tests/followup_sops.rs.
mod common;
#[path = "common/fake_forge.rs"]
mod fake_forge;
#[path = "common/mail.rs"]
mod mail;
#[path = "common/office.rs"]
mod office;
#[path = "common/walk.rs"]
mod walk;

use fake_forge::{Flavor, Verdict, git, json_of};
use jiff::{SignedDuration, Timestamp};
use office::*;
use walk::*;

/// Kudus server access (SOP 555/967/18.03/2021): dispositions by the Kadis, Kabid
/// and Kasi on the request, activation by apply, then step 6, the handover, on a
/// follow-up pull request the admin opens and the Kasi (Super Admin) witnesses.
fn kudus_server_handover(flavor: Flavor) {
    let mut o = Office::new(flavor);
    let n = o.open(OPERATOR, &Office::grant_files());
    o.approve_sop(n);
    let (exit, v) = review(&o, n);
    assert_eq!(exit, 0, "{v:#}");
    // Step 6 is not the request's: it waits for the follow-up.
    let steps = v["tickets"][0]["steps"].as_array().unwrap();
    assert_eq!(steps.last().unwrap()["state"], "after-merge", "{v:#}");
    o.merge(n);
    let apply = o.apply();
    assert_eq!(code(&apply), 0, "{}", text(&apply));
    assert!(o.keys().contains(GRANT_KEY));
    let r = record(&o, GRANT);
    assert_eq!(r["outcome"].as_str(), Some("processed"), "{r:#?}");
    let activated = step_at(&r, "aktivasi");

    // The follow-up pull request: the admin opens it with the drafted letter.
    let (rel, letter) = draft_letter(&o, GRANT);
    assert!(letter.contains("555/0001/18.03/2026"), "{letter}");
    let f = o.open(ADMIN, &[(rel.as_str(), Some(letter))]);
    opened_at(&o, f, activated + SignedDuration::from_mins(5));
    let (exit, v) = review(&o, f);
    assert_eq!(exit, 3, "the handover is pending: {v:#}");
    assert_eq!(v["tickets"][0]["pending"]["step"], "serah-terima", "{v:#}");
    assert_eq!(v["tickets"][0]["pending"]["role"], "kepala-seksi", "{v:#}");
    // A reviewer of another role does not witness it.
    approve_at(&o, f, KABID, activated + SignedDuration::from_mins(8));
    let (exit, _) = review(&o, f);
    assert_eq!(exit, 3);
    approve_at(&o, f, KASI, activated + SignedDuration::from_mins(10));
    let (exit, v) = review(&o, f);
    assert_eq!(exit, 0, "{v:#}");
    assert_eq!(v["tickets"][0]["outcome"], "done", "{v:#}");
    merge_at(&o, f, activated + SignedDuration::from_mins(12));
    let apply = o.apply();
    assert_eq!(code(&apply), 0, "{}", text(&apply));
    let r = record(&o, GRANT);
    assert_eq!(r["outcome"].as_str(), Some("done"), "{r:#?}");
    assert_eq!(r["follow-up-pr"].as_integer(), Some(f as i64), "{r:#?}");
    assert_eq!(
        r["letter"]["number"].as_str(),
        Some("555/0001/18.03/2026"),
        "{r:#?}"
    );
    let handover = r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"].as_str() == Some("serah-terima"))
        .unwrap();
    assert_eq!(handover["login"].as_str(), Some(KASI), "{handover:#?}");
    assert_eq!(handover["done-by"].as_str(), Some("receipt"));
    assert_every_step_done(
        &o,
        GRANT,
        &[
            ("permohonan", "pemohon"),
            ("disposisi-kadis", "kepala-dinas"),
            ("keputusan-kabid", "kepala-bidang"),
            ("penugasan-kasi", "kepala-seksi"),
            ("aktivasi", "admin"),
            ("serah-terima", "kepala-seksi"),
        ],
    );
    // A later run changes nothing.
    let before = git(&o.dir, &["rev-parse", "HEAD"]);
    let again = o.apply();
    assert_eq!(code(&again), 0, "{}", text(&again));
    assert_eq!(git(&o.dir, &["rev-parse", "HEAD"]), before);
}

const LMJ: &str = "LMJ-24WBW-PV52C";
const LMJ_KADIS: &str = "kadis-kominfo-lumajang";
const LMJ_KABID: &str = "kabid-aptika-lumajang";
const LMJ_KASI: &str = "kasi-ppispbe-lumajang";

/// Lumajang mail accounts (SOP 427.53/4/2.04/2021) against a real Dovecot and
/// Postfix: dispositions by the Kadis, Kabid and Kasi (steps 2-5), the account made
/// and verified by apply (6-8), then the notification letter on a follow-up pull
/// request: opened by the Kasi (9, draft), the Kabid's paraf (10), the Kadis's
/// signature (11), the merge by the Sekdin (12, outgoing register), and the
/// applicant's receipt after the merge (13), recorded by the next apply run.
fn lumajang_letter_chain(flavor: Flavor) {
    let Some(mut m) = MailOffice::start(flavor, "lumajang", "LMJ", "lumajangkab.go.id") else {
        return;
    };
    let r = m.request_applied(&[LMJ_KADIS, LMJ_KABID, LMJ_KASI]);
    assert_eq!(r["outcome"].as_str(), Some("processed"), "{r:#?}");
    assert_eq!(
        r["pending-step"].as_str(),
        Some("draf-pemberitahuan"),
        "{r:#?}"
    );
    let made = step_at(&r, "laporan-diterima");
    assert_eq!(m.ticket, LMJ);
    let o = &mut m.o;

    // Left past its standard time with no follow-up pull request open, the draft
    // is reminded to the Kasi on the request's merged pull request.
    let request_pr = r["pr"].as_integer().unwrap() as u64;
    let [rep] = remind(o, made + SignedDuration::from_hours(24 * 4), [request_pr]);
    assert_eq!(rep["overdue"][0]["step"], "draf-pemberitahuan", "{rep:#}");
    assert_eq!(rep["action"]["action"], "created", "{rep:#}");
    assert!(mentions(&rep, LMJ_KASI), "{rep:#}");
    // A second pass edits that one comment; it never adds another.
    let [again] = remind(o, made + SignedDuration::from_hours(24 * 5), [request_pr]);
    assert_eq!(again["action"]["action"], "updated", "{again:#}");
    // Step 9: the Kasi drafts the letter and opens the follow-up pull request.
    let (rel, letter) = draft_letter(o, LMJ);
    assert!(letter.contains("427.53/001/2.04/2026"), "{letter}");
    let f = o.open(LMJ_KASI, &[(rel.as_str(), Some(letter))]);
    let at = |m| made + SignedDuration::from_mins(m);
    opened_at(o, f, at(5));
    let (exit, v) = review(o, f);
    assert_eq!(exit, 3, "{v:#}");
    assert_eq!(v["tickets"][0]["pending"]["step"], "draf-diterima-kabid");
    assert_eq!(v["tickets"][0]["pending"]["role"], "kepala-bidang");
    // Left past its standard time, the paraf is reminded to the Kabid on the
    // follow-up pull request (`loket remind` on main).
    let late = at(5) + SignedDuration::from_hours(24 * 4);
    let [rep, cleared] = remind(o, late, [f, request_pr]);
    assert_eq!(rep["overdue"][0]["step"], "draf-diterima-kabid", "{rep:#}");
    assert!(mentions(&rep, LMJ_KABID), "{rep:#}");
    // With the follow-up open, the request's pull request reminds no one any more.
    assert_eq!(cleared["action"]["action"], "cleared", "{cleared:#}");
    assert!(
        cleared["overdue"].as_array().unwrap().is_empty(),
        "{cleared:#}"
    );
    // The signature before the paraf does not count (SOP order); given again, it does.
    approve_at(o, f, LMJ_KADIS, at(8));
    approve_at(o, f, LMJ_KABID, at(12));
    let (_, v) = review(o, f);
    assert_eq!(v["tickets"][0]["pending"]["step"], "tanda-tangan", "{v:#}");
    approve_at(o, f, LMJ_KADIS, at(20));
    let (exit, v) = review(o, f);
    assert_eq!(exit, 0, "ready to merge: {v:#}");
    assert_eq!(v["tickets"][0]["pending"]["step"], "pengiriman", "{v:#}");
    assert_eq!(v["tickets"][0]["pending"]["role"], "sekretaris-dinas");
    // Step 12: the Sekdin merges (registers and sends).
    merge_at(o, f, at(30));
    let apply = o.apply();
    assert_eq!(code(&apply), 0, "{}", text(&apply));
    let r = record(o, LMJ);
    assert_eq!(r["outcome"].as_str(), Some("processed"), "{r:#?}");
    assert_eq!(
        r["pending-step"].as_str(),
        Some("diterima-pengguna"),
        "{r:#?}"
    );
    let (json, _) = site(o, LMJ);
    assert_eq!(json["status"], "processed", "{json:#}");
    let Some(sha) = issue_letter(o, LMJ) else {
        return;
    };
    // Step 13: the applicant confirms with an approving review on the merged pull
    // request; the next apply run (the daily sweep) records it.
    approve_at(o, f, APPLICANT, at(60));
    let apply = o.apply();
    assert_eq!(code(&apply), 0, "{}", text(&apply));
    let r = record(o, LMJ);
    assert_eq!(r["outcome"].as_str(), Some("done"), "{r:#?}");
    // Recording the receipt keeps the issued letter's digest.
    assert_eq!(
        r["letter"]["pdf-sha256"].as_str(),
        Some(sha.as_str()),
        "{r:#?}"
    );
    let by = |id: &str| {
        r["steps"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["step"].as_str() == Some(id))
            .and_then(|s| s.get("login"))
            .and_then(|l| l.as_str())
            .map(String::from)
    };
    assert_eq!(by("draf-pemberitahuan").as_deref(), Some(LMJ_KASI));
    assert_eq!(by("draf-diterima-kabid").as_deref(), Some(LMJ_KABID));
    assert_eq!(by("tanda-tangan").as_deref(), Some(LMJ_KADIS));
    assert_eq!(by("diterima-pengguna").as_deref(), Some(APPLICANT));
    assert_every_step_done(
        o,
        LMJ,
        &[
            ("permohonan", "pengguna"),
            ("disposisi-kadis", "kepala-dinas"),
            ("disposisi-kabid", "kepala-bidang"),
            ("perintah-kasi", "kepala-seksi"),
            ("pembuatan-akun", "admin"),
            ("laporan-admin", "admin"),
            ("laporan-diterima", "kepala-seksi"),
            ("draf-pemberitahuan", "kepala-seksi"),
            ("draf-diterima-kabid", "kepala-bidang"),
            ("tanda-tangan", "kepala-dinas"),
            ("pengiriman", "sekretaris-dinas"),
            ("diterima-pengguna", "pengguna"),
        ],
    );
    // The register lists the letter for the archivist.
    let list = o.loket(&["letter", "--list", "--register-format", "csv"]);
    assert_eq!(code(&list), 0, "{}", text(&list));
    assert!(
        text(&list).contains(&format!("427.53/001/2.04/2026,2026-12-03,{LMJ}")),
        "{}",
        text(&list)
    );
}

/// `loket remind --now at` on main: its report on each pull request in `prs`.
fn remind<const N: usize>(o: &Office, at: Timestamp, prs: [u64; N]) -> [serde_json::Value; N] {
    let out = o.loket(&["remind", "--now", &rfc(at), "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let v = json_of(&out);
    prs.map(|pr| {
        v["reports"]
            .as_array()
            .unwrap()
            .iter()
            .find(|r| r["pr"] == pr)
            .cloned()
            .unwrap_or_else(|| panic!("PR {pr} reported: {v:#}"))
    })
}

/// Whether a reminder's comment mentions `login`.
fn mentions(report: &serde_json::Value, login: &str) -> bool {
    report["body"]
        .as_str()
        .is_some_and(|b| b.contains(&format!("@{login}")))
}

/// `loket letter --issue` (CI, after apply) prints the signed letter once to the PDF
/// the office sends, kept private under the state folder, and records its SHA-256,
/// which the public verification page shows; a second run issues nothing.
fn issue_letter(o: &Office, ticket: &str) -> Option<String> {
    let chromium = common::require_binary("chromium", &["/usr/bin/chromium", "chromium"])?;
    let issue = || {
        let out = o
            .command(&o.dir)
            .args(["letter", "--issue"])
            .env("LOKET_CHROMIUM", &chromium)
            .output()
            .unwrap();
        assert_eq!(code(&out), 0, "{}", text(&out));
        text(&out)
    };
    // A print that fails issues nothing: no digest, no file.
    let failed = o
        .command(&o.dir)
        .args(["letter", "--issue", "--chromium", "/nonexistent/chromium"])
        .output()
        .unwrap();
    assert_ne!(code(&failed), 0, "{}", text(&failed));
    assert!(record(o, ticket)["letter"].get("pdf-sha256").is_none());
    let first = issue();
    let r = record(o, ticket);
    let sha = r["letter"]["pdf-sha256"]
        .as_str()
        .unwrap_or_else(|| panic!("digest recorded: {r:#?}\n{first}"))
        .to_string();
    let state: toml::Table =
        toml::from_str(&std::fs::read_to_string(o.dir.join("loket.toml")).unwrap()).unwrap();
    let pdf = std::path::Path::new(state["backends"]["state-dir"].as_str().unwrap())
        .join(format!("letters/{ticket}.pdf"));
    let bytes = std::fs::read(&pdf).expect("the issued PDF kept under the state folder");
    assert!(bytes.starts_with(b"%PDF"));
    use sha2::Digest;
    assert_eq!(format!("{:x}", sha2::Sha256::digest(&bytes)), sha);
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&pdf).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600, "the PDF names the applicant: private");
    assert!(first.contains(&sha), "{first}");
    // Issued once: a second print would have other bytes.
    let again = issue();
    assert!(again.contains("no signed letter waits"), "{again}");
    assert_eq!(
        record(o, ticket)["letter"]["pdf-sha256"].as_str(),
        Some(sha.as_str())
    );
    assert_eq!(std::fs::read(&pdf).unwrap(), bytes);
    // The verification page shows the digest, and nothing of the letter's addressee.
    let _ = site(o, ticket);
    let page = std::fs::read_to_string(o.dir.join(format!("state/site/surat/{ticket}/index.html")))
        .unwrap();
    assert!(page.contains(&sha), "{page}");
    assert!(!page.contains("Dimas"), "{page}");
    Some(sha)
}

/// A follow-up pull request for a ticket main's records do not show processed (the
/// request merged, apply not yet run) completes nothing (A015), however approved;
/// `loket letter --draft` refuses to write one.
fn a_letter_before_apply_counts_for_nothing(flavor: Flavor) {
    let mut o = Office::new(flavor);
    let n = o.open(OPERATOR, &Office::grant_files());
    o.approve_sop(n);
    o.merge(n);
    let out = o.loket(&["letter", "--draft", GRANT, "--date", "2026-12-03"]);
    assert_ne!(code(&out), 0, "{}", text(&out));
    assert!(text(&out).contains("processed"), "{}", text(&out));
    let letter = format!(
        "ticket = \"{GRANT}\"\nnumber = \"555/0001/18.03/2026\"\nseq = 1\ndate = \"2026-12-03\"\n\
         signer-role = \"kepala-dinas\"\nrequest-letter = \"1\"\nrequest-letter-date = \"2026-09-18\"\n"
    );
    let rel = format!("letters/{GRANT}.toml");
    let f = o.open(ADMIN, &[(rel.as_str(), Some(letter))]);
    o.review(f, KASI, Verdict::Approve, 40);
    let (exit, v) = review(&o, f);
    assert_eq!(exit, 3, "{v:#}");
    let reason = v["tickets"][0]["reason"].as_str().unwrap_or_default();
    assert!(
        reason.contains("A015") && reason.contains("not processed"),
        "{v:#}"
    );
    assert!(
        v["tickets"][0]["steps"].as_array().unwrap().is_empty(),
        "{v:#}"
    );
}

/// A letter merged without the Kabid's paraf and the Kadis's signature (an admin
/// bypassing the branch rules) records nothing: apply names it REFUSED and fails
/// the job, and the ticket stays processed, waiting for the paraf.
fn lumajang_unsigned_letter_is_refused(flavor: Flavor) {
    let Some(mut m) = MailOffice::start(flavor, "lumajang", "LMJ", "lumajangkab.go.id") else {
        return;
    };
    let r = m.request_applied(&[LMJ_KADIS, LMJ_KABID, LMJ_KASI]);
    let made = step_at(&r, "laporan-diterima");
    let o = &mut m.o;
    let (rel, letter) = draft_letter(o, LMJ);
    let f = o.open(LMJ_KASI, &[(rel.as_str(), Some(letter))]);
    opened_at(o, f, made + SignedDuration::from_mins(5));
    merge_at(o, f, made + SignedDuration::from_mins(6));
    let out = o.apply();
    assert_eq!(code(&out), 1, "{}", text(&out));
    assert!(
        text(&out).contains("REFUSED") && text(&out).contains("A013"),
        "{}",
        text(&out)
    );
    let r = record(o, LMJ);
    assert_eq!(r["outcome"].as_str(), Some("processed"), "{r:#?}");
    assert!(r.get("letter").is_none(), "{r:#?}");
    assert_eq!(
        r["pending-step"].as_str(),
        Some("draf-pemberitahuan"),
        "{r:#?}"
    );
}

mod github {
    #[test]
    fn lumajang_unsigned_letter_is_refused() {
        super::lumajang_unsigned_letter_is_refused(super::Flavor::GitHub)
    }

    #[test]
    fn a_letter_before_apply_counts_for_nothing() {
        super::a_letter_before_apply_counts_for_nothing(super::Flavor::GitHub)
    }

    #[test]
    fn kudus_server_handover() {
        super::kudus_server_handover(super::Flavor::GitHub)
    }

    #[test]
    fn lumajang_letter_chain() {
        super::lumajang_letter_chain(super::Flavor::GitHub)
    }
}

mod forgejo {
    #[test]
    fn kudus_server_handover() {
        super::kudus_server_handover(super::Flavor::Forgejo)
    }

    #[test]
    fn lumajang_letter_chain() {
        super::lumajang_letter_chain(super::Flavor::Forgejo)
    }
}
