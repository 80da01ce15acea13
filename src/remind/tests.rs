use super::comment::{self, MARKER, is_reminder};
use super::*;
use crate::model::config::TimeZone;

fn kudus() -> Config {
    let (inst, _) = crate::check::testutil::Fixture::kudus().check();
    inst.config.unwrap()
}

#[test]
fn the_role_above_is_reports_to_else_the_earlier_review_step() {
    let mut c = kudus();
    let sop = c.sops["email"].clone();
    let at = |id: &str| sop.steps.iter().position(|s| s.id.get_ref() == id).unwrap();
    // The preset: kepala-seksi reports to kepala-bidang, kepala-bidang to
    // kepala-dinas; kepala-dinas to no one.
    assert_eq!(
        role_above(&c, &sop, at("cek-nama")).as_deref(),
        Some("kepala-bidang")
    );
    assert_eq!(
        role_above(&c, &sop, at("disposisi-kabid")).as_deref(),
        Some("kepala-dinas")
    );
    assert_eq!(role_above(&c, &sop, at("disposisi-kadis")), None);
    // Without reports-to: who disposed the request down (the earlier review step).
    for r in c.roles.values_mut() {
        r.reports_to = None;
    }
    assert_eq!(
        role_above(&c, &sop, at("cek-nama")).as_deref(),
        Some("kepala-bidang")
    );
    assert_eq!(role_above(&c, &sop, at("disposisi-kadis")), None);
}

fn late(escalated: bool, above: Option<Holders>) -> Overdue {
    let c = kudus();
    Overdue {
        ticket: "KDS-24WBW-PV52C".into(),
        step: "cek-nama".into(),
        no: Some(4),
        text: "Mengecek nama akun".into(),
        text_en: Some("Checks the name".into()),
        holders: Holders::of(&c, "kepala-seksi"),
        since: "2026-09-18T01:10:00Z".parse().unwrap(),
        waited_minutes: 75,
        standard_minutes: 30,
        escalated,
        above,
    }
}

#[test]
fn the_comment_is_indonesian_first_and_mentions_the_role_holders() {
    let body = comment::body(7, &[late(false, None)], TimeZone::WIB, 2.0);
    assert!(is_reminder(&body));
    let (id, en) = body.split_once("**English**").unwrap();
    assert!(
        id.contains("**Pengingat:** langkah 4 `cek-nama` (Mengecek nama akun) tiket **KDS-24WBW-PV52C** menunggu @kasi-tip-kudus (Kepala Seksi Teknologi Informasi dan Persandian) sejak 18 September 2026 pukul 08.10 WIB: sudah 1 jam 15 menit waktu kerja, standar SOP 30 menit."),
        "{id}"
    );
    assert!(
        en.contains("**Reminder:** step 4 `cek-nama` (Checks the name)"),
        "{en}"
    );
    assert!(en.contains("since 18 September 2026, 08:10 WIB"), "{en}");
    assert!(!body.contains("Eskalasi"), "{body}");
}

#[test]
fn an_escalation_names_the_role_above_or_says_there_is_none() {
    let c = kudus();
    let up = Holders::of(&c, "kepala-bidang");
    let body = comment::body(7, &[late(true, Some(up))], TimeZone::WITA, 2.5);
    assert!(
        body.contains("**Eskalasi:** lewat 2.5 × standar waktu; mohon tindak lanjut @kabid-informatika-kudus (Kepala Bidang Informatika)."),
        "{body}"
    );
    assert!(body.contains("pukul 09.10 WITA"), "{body}");
    assert!(body.contains("**Escalated:** past 2.5 × the standard time; @kabid-informatika-kudus"));
    let body = comment::body(7, &[late(true, None)], TimeZone::WIB, 2.0);
    assert!(body.contains("tidak ada peran di atasnya"), "{body}");
}

#[test]
fn only_a_comment_opening_with_the_marker_is_a_reminder() {
    assert!(is_reminder(&comment::cleared(3)));
    assert!(!is_reminder(&format!("quoting {MARKER}")));
    assert!(!is_reminder("<!-- loket-review -->\n"));
}
