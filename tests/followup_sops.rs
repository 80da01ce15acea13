//! The seed SOPs whose last step is the account (Kudus mail, Kebumen: done at apply)
//! or a receipt (Palangka Raya: step 5, the credentials confirmed by the applicant on
//! a follow-up pull request), walked against the fake forge (both flavors) and a real
//! Dovecot and Postfix; the letter chains are in tests/followup_walk.rs.
mod common;
#[path = "common/fake_forge.rs"]
mod fake_forge;
#[path = "common/mail.rs"]
mod mail;
#[path = "common/office.rs"]
mod office;
#[path = "common/walk.rs"]
mod walk;

use fake_forge::Flavor;
use jiff::SignedDuration;
use office::*;
use walk::*;

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

mod github {
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
