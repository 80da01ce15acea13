//! Seed SOPs walked to their last step, as an office runs them: the request pull
//! request reviewed on the fake forge (both flavors), merged, `loket apply
//! --approvals forge` on main, then `loket letter --draft` and the follow-up pull
//! request adding `letters/<ticket>.toml`, its reviews and merge, and `loket apply`
//! again recording the follow-up steps. The status site built from the result must
//! show every step done with its time and role, and status "selesai"; every record
//! commit is the apply workflow's, written by loket.
mod common;
#[path = "common/fake_forge.rs"]
mod fake_forge;
#[path = "common/mail.rs"]
mod mail;
#[path = "common/office.rs"]
mod office;

use fake_forge::{Flavor, Verdict, git, json_of};
use jiff::{SignedDuration, Timestamp};
use office::*;
use serde_json::Value;

const ADMIN: &str = "admin-helpdesk-kudus";

fn code(o: &std::process::Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// `loket review --pr n --format json` with the pull request's head checked out.
fn review(o: &Office, n: u64) -> (i32, Value) {
    git(&o.dir, &["checkout", "-q", &format!("pr-{n}")]);
    let out = o.loket(&["review", "--pr", &n.to_string(), "--format", "json"]);
    git(&o.dir, &["checkout", "-q", "main"]);
    (code(&out), json_of(&out))
}

fn record(o: &Office, ticket: &str) -> toml::Table {
    let text = std::fs::read_to_string(o.dir.join(format!("records/{ticket}.toml")))
        .expect("record written");
    toml::from_str(&text).unwrap()
}

/// The time of the step `id` in a record.
fn step_at(r: &toml::Table, id: &str) -> Timestamp {
    r["steps"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["step"].as_str() == Some(id))
        .unwrap_or_else(|| panic!("step {id} in {r:#?}"))["at"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap()
}

fn rfc(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Writes the next letter with `loket letter --draft` on main's work tree and
/// returns its path and text, leaving the tree clean for the pull request.
fn draft_letter(o: &Office, ticket: &str) -> (String, String) {
    let out = o.loket(&["letter", "--draft", ticket, "--date", "2026-12-03"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let rel = format!("letters/{ticket}.toml");
    let letter = std::fs::read_to_string(o.dir.join(&rel)).expect("letter drafted");
    std::fs::remove_file(o.dir.join(&rel)).unwrap();
    (rel, letter)
}

/// Sets pull request `n`'s opening time (the draft step's time).
fn opened_at(o: &Office, n: u64, at: Timestamp) {
    o.forge.with(|s| s.pull(n).created_at = rfc(at));
}

/// An approving review by `login` at `at`.
fn approve_at(o: &Office, n: u64, login: &str, at: Timestamp) {
    o.forge.with(|s| {
        s.review(n, login, Verdict::Approve, 0, "");
        s.pull(n).reviews.last_mut().unwrap().submitted_at = rfc(at);
    });
}

/// Merges pull request `n`, the forge saying it merged at `at`.
fn merge_at(o: &Office, n: u64, at: Timestamp) {
    o.merge(n);
    o.forge.with(|s| s.pull(n).merged_at = Some(rfc(at)));
}

/// The status site's JSON and page of `ticket`.
fn site(o: &Office, ticket: &str) -> (Value, String) {
    let out_dir = o.dir.join("state/site");
    let out = o.loket(&["site", "--out", out_dir.to_str().unwrap()]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let json: Value = serde_json::from_slice(
        &std::fs::read(out_dir.join(format!("api/v1/tickets/{ticket}.json"))).unwrap(),
    )
    .unwrap();
    let page = std::fs::read_to_string(out_dir.join(format!("t/{ticket}/index.html"))).unwrap();
    (json, page)
}

/// Every SOP step appears on the timeline as a step with its time and role, and the
/// status is "selesai".
fn assert_every_step_done(o: &Office, ticket: &str, steps: &[(&str, &str)]) {
    let (json, page) = site(o, ticket);
    assert_eq!(json["status"], "done", "{json:#}");
    assert_eq!(json["status_label"], "selesai", "{json:#}");
    let timeline = json["timeline"].as_array().unwrap();
    assert!(
        timeline.iter().all(|e| e["kind"] != "pending"),
        "nothing pending: {json:#}"
    );
    let cfg: toml::Table =
        toml::from_str(&std::fs::read_to_string(o.dir.join("loket.toml")).unwrap()).unwrap();
    for (id, role) in steps {
        let e = timeline
            .iter()
            .find(|e| e["kind"] == "step" && e["step"] == *id)
            .unwrap_or_else(|| panic!("step {id} on the timeline: {json:#}"));
        let title = cfg["roles"][*role]["title"].as_str().unwrap();
        assert!(
            e["actor"].as_str().unwrap().contains(title),
            "step {id} by {title}: {e:#}"
        );
        assert!(e["when"]["at"].as_str().is_some(), "step {id} time: {e:#}");
    }
    assert!(
        page.contains("selesai") || page.contains("Selesai"),
        "{page}"
    );
    // No personal data of the request on the public page.
    for private in ["Hartono", ADMIN, APPLICANT] {
        assert!(!page.contains(private), "{private}: {page}");
        assert!(!json.to_string().contains(private), "{private}: {json:#}");
    }
    // Every commit touching records/ is the apply workflow's records commit.
    let subjects = git(&o.dir, &["log", "--format=%s", "--", "records"]);
    assert!(
        subjects.lines().all(|s| s == "records: apply run"),
        "{subjects}"
    );
}

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
/// The applicant's own forge login, named in the request for the receipt.
const APPLICANT: &str = "dimas-bpkad";

/// An office of `preset` (ticket prefix `prefix`, mail domain `domain`) whose
/// mail backend is a real Dovecot and Postfix, and the bundled Kudus mail request
/// re-made for it (naming the applicant's login) with its account file, ready for
/// a pull request. `None` where the daemons are missing outside CI.
struct MailOffice {
    o: Office,
    server: mail::MailServer,
    ticket: String,
    address: String,
    files: Vec<(String, Option<String>)>,
    _tmp: tempfile::TempDir,
}

impl MailOffice {
    fn start(flavor: Flavor, preset: &str, prefix: &str, domain: &str) -> Option<MailOffice> {
        let tmp = tempfile::tempdir().unwrap();
        let server = mail::MailServer::start_for(&tmp.path().join("srv"), domain)?;
        let admin = age::x25519::Identity::generate().to_public().to_string();
        let bundled = Office::bundled(&format!("presets/{preset}.toml"));
        // The preset's own file backends give way to the real servers'.
        let bundled = match bundled.find("\n[backends]") {
            Some(i) => {
                let end = bundled
                    .find("\n[[servers]]")
                    .or_else(|| bundled.find("\n[sops."));
                format!("{}{}", &bundled[..i], &bundled[end.unwrap()..])
            }
            None => bundled,
        };
        let config = format!(
            "{bundled}\n[backends]\nstate-dir = \"{state}\"\nadmin-recipient = \"{admin}\"\n\n{mail}\n",
            state = tmp.path().join("state").display(),
            mail = server.backend_toml(),
        );
        let ticket = format!("{prefix}-24WBW-PV52C");
        let address = format!("dimas.hartono@{domain}");
        let remake = |t: String| {
            t.replace("KDS-24WBW-PV52C", &ticket)
                .replace("kuduskab.go.id", domain)
        };
        let request = remake(Office::bundled("requests/KDS-24WBW-PV52C.toml")).replace(
            "contact = \"085163102747\"\n",
            &format!("contact = \"085163102747\"\nlogin = \"{APPLICANT}\"\n"),
        );
        assert!(request.contains(APPLICANT));
        let files = vec![
            (format!("requests/{ticket}.toml"), Some(request)),
            (
                format!("accounts/mail/{address}.toml"),
                Some(remake(Office::bundled(MAIL_ACCOUNT))),
            ),
        ];
        Some(MailOffice {
            o: Office::with_config(flavor, &config),
            server,
            ticket,
            address,
            files,
            _tmp: tmp,
        })
    }

    /// The request pull request opened by the applicant, approved by `chain` in
    /// order, merged and applied: the account made and verified on the real
    /// servers. Returns the record after apply.
    fn request_applied(&mut self, chain: &[&str]) -> toml::Table {
        let writes: Vec<Write> = self
            .files
            .iter()
            .map(|(p, t)| (p.as_str(), t.clone()))
            .collect();
        let n = self.o.open(APPLICANT, &writes);
        for (k, login) in chain.iter().enumerate() {
            let (exit, v) = review(&self.o, n);
            assert_eq!(exit, 3, "waits for {login}: {v:#}");
            self.o
                .review(n, login, Verdict::Approve, 10 * (k as u32 + 1));
        }
        let (exit, v) = review(&self.o, n);
        assert_eq!(exit, 0, "{v:#}");
        // Steps after apply are never the request's: its reviews do not complete them.
        let steps = v["tickets"][0]["steps"].as_array().unwrap();
        let apply = steps.iter().position(|s| s["done-by"] == "apply").unwrap();
        assert!(
            steps[apply..].iter().all(|s| s["state"] == "after-merge"),
            "{v:#}"
        );
        self.o.merge(n);
        let out = self.o.apply();
        assert_eq!(code(&out), 0, "{}\n{}", text(&out), self.server.logs());
        assert!(
            std::fs::read_to_string(&self.server.passwd)
                .unwrap()
                .contains(&self.address)
        );
        record(&self.o, &self.ticket)
    }
}

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
    let late = rfc(at(5) + SignedDuration::from_hours(24 * 4));
    let out = o.loket(&["remind", "--now", &late, "--format", "json"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let v = json_of(&out);
    let rep = v["reports"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["pr"] == f)
        .unwrap_or_else(|| panic!("PR {f} reported: {v:#}"));
    assert_eq!(rep["overdue"][0]["step"], "draf-diterima-kabid", "{v:#}");
    assert!(
        rep["body"]
            .as_str()
            .unwrap_or_default()
            .contains(&format!("@{LMJ_KABID}")),
        "{v:#}"
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
    // Step 13: the applicant confirms with an approving review on the merged pull
    // request; the next apply run (the daily sweep) records it.
    approve_at(o, f, APPLICANT, at(60));
    let apply = o.apply();
    assert_eq!(code(&apply), 0, "{}", text(&apply));
    let r = record(o, LMJ);
    assert_eq!(r["outcome"].as_str(), Some("done"), "{r:#?}");
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

/// Palangka Raya (SOP VI.6): the Kepala Seksi checks the data (step 2), the account
/// made and tested by apply (3-4), then step 5, the username and password sent: the
/// admin opens the follow-up pull request and the applicant confirms with an
/// approving review before it is merged.
fn palangka_raya_receipt(flavor: Flavor) {
    let Some(mut m) = MailOffice::start(flavor, "palangka-raya", "PLK", "palangkaraya.go.id")
    else {
        return;
    };
    let r = m.request_applied(&["kasi-psdlp-palangkaraya"]);
    assert_eq!(r["outcome"].as_str(), Some("processed"), "{r:#?}");
    assert_eq!(r["pending-step"].as_str(), Some("konfirmasi"), "{r:#?}");
    let tested = step_at(&r, "pengujian-akun");
    let ticket = m.ticket.clone();
    let o = &mut m.o;
    let (rel, letter) = draft_letter(o, &ticket);
    assert!(letter.contains("045.2/001/Diskominfo/2026"), "{letter}");
    let f = o.open("sysadmin-palangkaraya", &[(rel.as_str(), Some(letter))]);
    opened_at(o, f, tested + SignedDuration::from_mins(5));
    let (exit, v) = review(o, f);
    assert_eq!(exit, 3, "{v:#}");
    assert_eq!(v["tickets"][0]["pending"]["step"], "konfirmasi", "{v:#}");
    // Another login's approval is no receipt (A017); the applicant's is.
    approve_at(
        o,
        f,
        "kasi-psdlp-palangkaraya",
        tested + SignedDuration::from_mins(7),
    );
    let (exit, _) = review(o, f);
    assert_eq!(exit, 3);
    approve_at(o, f, APPLICANT, tested + SignedDuration::from_mins(9));
    let (exit, v) = review(o, f);
    assert_eq!(exit, 0, "{v:#}");
    merge_at(o, f, tested + SignedDuration::from_mins(10));
    let out = o.apply();
    assert_eq!(code(&out), 0, "{}", text(&out));
    let r = record(o, &ticket);
    assert_eq!(r["outcome"].as_str(), Some("done"), "{r:#?}");
    assert_every_step_done(
        o,
        &ticket,
        &[
            ("permohonan", "pemohon"),
            ("pengecekan-data", "kepala-seksi"),
            ("pembuatan-email", "admin"),
            ("pengujian-akun", "admin"),
            ("konfirmasi", "admin"),
        ],
    );
}

/// Kebumen (SOP 064/095): the operator checks (step 2) and apply issues the account
/// (3), the SOP's last step: done at once, no follow-up.
fn kebumen_done_at_apply(flavor: Flavor) {
    let Some(mut m) = MailOffice::start(flavor, "kebumen", "KBM", "kebumenkab.go.id") else {
        return;
    };
    let r = m.request_applied(&["op-kominfo-kebumen"]);
    assert_eq!(r["outcome"].as_str(), Some("done"), "{r:#?}");
    assert!(r.get("pending-step").is_none(), "{r:#?}");
    assert_every_step_done(
        &m.o,
        &m.ticket,
        &[
            ("permohonan", "pemohon"),
            ("pemeriksaan", "operator"),
            ("penerbitan", "operator"),
        ],
    );
}

/// Kudus mail (SOP 555/965/18.03/2021): dispositions by the Kadis, Kabid and Kasi
/// (steps 2-4) and the account made by apply (5), the SOP's last step.
fn kudus_mail_done_at_apply(flavor: Flavor) {
    let Some(mut m) = MailOffice::start(flavor, "kudus", "KDS", "kuduskab.go.id") else {
        return;
    };
    let r = m.request_applied(&[KADIS, KABID, KASI]);
    assert_eq!(r["outcome"].as_str(), Some("done"), "{r:#?}");
    assert_every_step_done(
        &m.o,
        &m.ticket,
        &[
            ("permohonan", "pemohon"),
            ("disposisi-kadis", "kepala-dinas"),
            ("disposisi-kabid", "kepala-bidang"),
            ("cek-nama", "kepala-seksi"),
            ("pembuatan-akun", "admin"),
        ],
    );
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

    #[test]
    fn palangka_raya_receipt() {
        super::palangka_raya_receipt(super::Flavor::GitHub)
    }

    #[test]
    fn kebumen_done_at_apply() {
        super::kebumen_done_at_apply(super::Flavor::GitHub)
    }

    #[test]
    fn kudus_mail_done_at_apply() {
        super::kudus_mail_done_at_apply(super::Flavor::GitHub)
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

    #[test]
    fn palangka_raya_receipt() {
        super::palangka_raya_receipt(super::Flavor::Forgejo)
    }

    #[test]
    fn kebumen_done_at_apply() {
        super::kebumen_done_at_apply(super::Flavor::Forgejo)
    }

    #[test]
    fn kudus_mail_done_at_apply() {
        super::kudus_mail_done_at_apply(super::Flavor::Forgejo)
    }
}
