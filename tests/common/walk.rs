//! What the seed-SOP walks share (tests/followup_walk.rs, tests/followup_sops.rs):
//! `loket review` and the site read back, forge times set, letters drafted, and an
//! office whose mail backend is a real Dovecot and Postfix. Include with
//! `#[path = "common/walk.rs"] mod walk;` beside `mod common;`, `mail`, `office` and
//! `fake_forge`.
#![allow(dead_code)]

use jiff::Timestamp;
use serde_json::Value;

use crate::fake_forge::{Flavor, Verdict, git, json_of};
use crate::mail;
use crate::office::*;

pub const ADMIN: &str = "admin-helpdesk-kudus";

pub fn code(o: &std::process::Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

/// `loket review --pr n --format json` with the pull request's head checked out.
pub fn review(o: &Office, n: u64) -> (i32, Value) {
    git(&o.dir, &["checkout", "-q", &format!("pr-{n}")]);
    let out = o.loket(&["review", "--pr", &n.to_string(), "--format", "json"]);
    git(&o.dir, &["checkout", "-q", "main"]);
    (code(&out), json_of(&out))
}

pub fn record(o: &Office, ticket: &str) -> toml::Table {
    let text = std::fs::read_to_string(o.dir.join(format!("records/{ticket}.toml")))
        .expect("record written");
    toml::from_str(&text).unwrap()
}

/// The time of the step `id` in a record.
pub fn step_at(r: &toml::Table, id: &str) -> Timestamp {
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

pub fn rfc(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Writes the next letter with `loket letter --draft` on main's work tree and
/// returns its path and text, leaving the tree clean for the pull request.
pub fn draft_letter(o: &Office, ticket: &str) -> (String, String) {
    let out = o.loket(&["letter", "--draft", ticket, "--date", "2026-12-03"]);
    assert_eq!(code(&out), 0, "{}", text(&out));
    let rel = format!("letters/{ticket}.toml");
    let letter = std::fs::read_to_string(o.dir.join(&rel)).expect("letter drafted");
    std::fs::remove_file(o.dir.join(&rel)).unwrap();
    (rel, letter)
}

/// Sets pull request `n`'s opening time (the draft step's time).
pub fn opened_at(o: &Office, n: u64, at: Timestamp) {
    o.forge.with(|s| s.pull(n).created_at = rfc(at));
}

/// An approving review by `login` at `at`.
pub fn approve_at(o: &Office, n: u64, login: &str, at: Timestamp) {
    o.forge.with(|s| {
        s.review(n, login, Verdict::Approve, 0, "");
        s.pull(n).reviews.last_mut().unwrap().submitted_at = rfc(at);
    });
}

/// Merges pull request `n`, the forge saying it merged at `at`.
pub fn merge_at(o: &Office, n: u64, at: Timestamp) {
    o.merge(n);
    o.forge.with(|s| s.pull(n).merged_at = Some(rfc(at)));
}

/// The status site's JSON and page of `ticket`.
pub fn site(o: &Office, ticket: &str) -> (Value, String) {
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
pub fn assert_every_step_done(o: &Office, ticket: &str, steps: &[(&str, &str)]) {
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

/// The applicant's own forge login, named in the request for the receipt.
pub const APPLICANT: &str = "dimas-bpkad";

/// An office of `preset` (ticket prefix `prefix`, mail domain `domain`) whose
/// mail backend is a real Dovecot and Postfix, and the bundled Kudus mail request
/// re-made for it (naming the applicant's login) with its account file, ready for
/// a pull request. `None` where the daemons are missing outside CI.
pub struct MailOffice {
    pub o: Office,
    pub server: mail::MailServer,
    pub ticket: String,
    pub address: String,
    pub files: Vec<(String, Option<String>)>,
    _tmp: tempfile::TempDir,
}

impl MailOffice {
    pub fn start(flavor: Flavor, preset: &str, prefix: &str, domain: &str) -> Option<MailOffice> {
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
        // Letters carry the address of their verification page on the status site,
        // and are signed by name: the office fills both in (docs/adopt.md).
        let bundled = bundled
            .replacen(
                "\n[site]\n",
                &format!("\n[site]\nbase-url = \"https://loket.{domain}/\"\n"),
                1,
            )
            .replacen(
                "\n[roles.kepala-dinas]\n",
                "\n[roles.kepala-dinas]\nofficial-name = \"Drs. Wahyu Prasetyo, M.Si.\"\nofficial-rank = \"Pembina Utama Muda (IV/c)\"\nofficial-nip = \"197003121996031004\"\n",
                1,
            );
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
    pub fn request_applied(&mut self, chain: &[&str]) -> toml::Table {
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
