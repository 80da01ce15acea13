//! The public model: statuses, dates, OPD, kinds, and what never reaches it.

use std::path::Path;

use super::*;
use crate::model::record::Snapshot;

const REQUEST: &str = r#"ticket = "KDS-24WBW-PV52C"
kind = "mail-create"
submitted = 2026-09-18

[applicant]
name = "Dimas Hartono"
nip = "197608051999061019"
opd = "Badan Pengelolaan Keuangan dan Aset Daerah"
position = "Pengelola Keuangan"
contact = "085163102747"

[letter]
number = "800/118/14.2026"
date = 2026-09-18
signatory = "Kepala Badan Pengelolaan Keuangan dan Aset Daerah"

[mail]
address = "dimas.hartono@kuduskab.go.id"
"#;

fn instance(show_opd: bool) -> Instance {
    let config = include_str!("../../../loket.toml");
    let config = if show_opd {
        config.to_string()
    } else {
        config.replace("show-opd = true", "show-opd = false")
    };
    Instance::from_files(
        Path::new("."),
        vec![
            ("loket.toml".into(), config),
            ("requests/KDS-24WBW-PV52C.toml".into(), REQUEST.into()),
        ],
    )
}

#[test]
fn a_date_only_submission_shows_no_time() {
    let t = &tickets(
        &instance(true),
        &[],
        None,
        Lang::Id,
        &Summaries::new(),
        None,
    )[0];
    let sub = t.submitted.as_ref().unwrap();
    assert_eq!(sub.at, "2026-09-18");
    assert_eq!(sub.text, "18 September 2026");
    // Merged without a record yet: every approval is in.
    assert_eq!(t.status, Status::Approved);
    assert_eq!(t.status_label, "disetujui");
    assert_eq!(
        t.opd.as_deref(),
        Some("Badan Pengelolaan Keuangan dan Aset Daerah")
    );
    assert_eq!(t.timeline.len(), 1);
    assert!(t.timeline[0].when.as_ref().unwrap().text == "18 September 2026");
}

#[test]
fn opd_only_when_the_config_allows() {
    let t = &tickets(
        &instance(false),
        &[],
        None,
        Lang::Id,
        &Summaries::new(),
        None,
    )[0];
    assert_eq!(t.opd, None);
}

#[test]
fn returned_and_failed_tickets_keep_reasons_private() {
    let progress = |outcome: &str, extra: &str| -> Progress {
        toml::from_str(&format!(
            r#"ticket = "KDS-24WBW-PV52C"
outcome = "{outcome}"
reason = "nama dimas.hartono sudah dipakai"
{extra}
[[steps]]
step = "permohonan"
done-by = "submit"
role = "pemohon"
at = "2026-09-18T08:00:00+07:00"

[[steps]]
step = "disposisi-kadis"
done-by = "review"
role = "kepala-dinas"
login = "kadis-kominfo-kudus"
at = "2026-09-18T08:15:00+07:00"
"#
        ))
        .unwrap()
    };
    let inst = instance(true);
    let returned = &tickets(
        &inst,
        &[progress("returned", "")],
        None,
        Lang::Id,
        &Summaries::new(),
        None,
    )[0];
    assert_eq!(returned.status_label, "dikembalikan untuk perbaikan");
    let json = serde_json::to_string(returned).unwrap();
    assert!(!json.contains("dimas"), "{json}");
    assert!(!json.contains("kadis-kominfo"), "{json}");
    // The decision on top, undated; then the last step, timed against its standard.
    assert_eq!(returned.timeline[0].kind, "outcome");
    assert_eq!(returned.timeline[0].when, None);
    assert_eq!(
        returned.timeline[1].actor,
        "Kepala Dinas Komunikasi dan Informatika"
    );
    assert_eq!(returned.timeline[1].minutes, Some(15));
    assert_eq!(returned.timeline[1].within_standard, Some(false));

    let failed = progress(
        "failed",
        "[[events]]\nkind = \"failed\"\nat = \"2026-09-18T09:00:00+07:00\"\ndetail = \"ssh 10.17.1.21 refused\"\n",
    );
    let t = &tickets(&inst, &[failed], None, Lang::En, &Summaries::new(), None)[0];
    assert_eq!(t.status_label, "processing failed");
    assert_eq!(t.timeline[0].title, "Processing failed; it will be retried");
    assert!(!serde_json::to_string(t).unwrap().contains("10.17.1.21"));

    // The same ticket open in a snapshot but also merged: the record wins.
    let snap = Snapshot {
        taken_at: "2026-09-19T00:00:00Z".into(),
        tickets: vec![progress("pending", "pending-step = \"disposisi-kabid\"")],
    };
    let t = &tickets(
        &inst,
        &[progress("returned", "")],
        Some(&snap),
        Lang::Id,
        &Summaries::new(),
        None,
    )[0];
    assert_eq!(t.status, Status::Returned);
    let t = &tickets(&inst, &[], Some(&snap), Lang::Id, &Summaries::new(), None)[0];
    assert_eq!(
        t.status_label,
        "menunggu disposisi Kepala Bidang Informatika"
    );
    assert_eq!(t.timeline[0].kind, "pending");
}

#[test]
fn a_snapshot_entry_names_its_kind_else_it_is_inferred() {
    // Only the first step, which both SOPs share: the inference picks `email`.
    let entry = |kind: &str| -> Progress {
        toml::from_str(&format!(
            r#"ticket = "KDS-37HYX-6ESXV"
outcome = "pending"
{kind}
pending-step = "disposisi-kadis"

[[steps]]
step = "permohonan"
done-by = "submit"
role = "pemohon"
at = "2026-09-18T08:00:00+07:00"
"#
        ))
        .unwrap()
    };
    let snap = |p| Snapshot {
        taken_at: "2026-09-19T00:00:00Z".into(),
        tickets: vec![p],
    };
    let inst = instance(true);
    let find = |s: &Snapshot| {
        tickets(&inst, &[], Some(s), Lang::Id, &Summaries::new(), None)
            .into_iter()
            .find(|t| t.ticket == "KDS-37HYX-6ESXV")
            .unwrap()
    };
    let old = find(&snap(entry("")));
    assert_eq!((old.sop.as_str(), old.kind), ("email", None));
    let new = find(&snap(entry("kind = \"server-grant\"")));
    assert_eq!(
        (new.sop.as_str(), new.kind),
        ("server", Some(RequestKind::ServerGrant))
    );
    assert_eq!(new.kind_label, "Permohonan akses server");
}

#[test]
fn a_cached_summary_stands_in_for_an_unchanged_ticket() {
    let inst = instance(true);
    let record: Progress = toml::from_str(
        "ticket = \"KDS-24WBW-PV52C\"\noutcome = \"processed\"\n\n[[steps]]\nstep = \"permohonan\"\ndone-by = \"submit\"\nrole = \"pemohon\"\nat = \"2026-09-18T08:00:00+07:00\"\n\n[[steps]]\nstep = \"disposisi-kadis\"\ndone-by = \"review\"\nrole = \"kepala-dinas\"\nat = \"2026-09-18T08:15:00+07:00\"\n",
    )
    .unwrap();
    let records = [record];
    let full = tickets(&inst, &records, None, Lang::Id, &Summaries::new(), None);
    assert!(!full[0].partial);
    let cached: Summaries = full
        .iter()
        .map(|t| (t.ticket.clone(), (t.key, t.summary())))
        .collect();
    let again = tickets(&inst, &records, None, Lang::Id, &cached, None);
    assert!(again[0].partial);
    assert_eq!(again[0].summary(), full[0].summary());
    assert_eq!(again[0].record_latest, full[0].record_latest);
    // Asked for by name, a ticket is built in full whatever the cache holds.
    let only = [full[0].ticket.clone()].into_iter().collect();
    let built = tickets(&inst, &records, None, Lang::Id, &cached, Some(&only));
    assert_eq!(built, full);
    // Another input, another digest: the stale summary is not used.
    let mut changed = records.clone();
    changed[0].outcome = Outcome::Failed;
    let fresh = tickets(&inst, &changed, None, Lang::Id, &cached, None);
    assert!(!fresh[0].partial);
    assert_eq!(fresh[0].status, Status::Failed);
}

#[test]
fn an_acting_officials_step_shows_the_prefixed_role_title_and_no_name() {
    let record: Progress = toml::from_str(
        r#"ticket = "KDS-24WBW-PV52C"
outcome = "pending"
pending-step = "disposisi-kabid"

[[steps]]
step = "permohonan"
done-by = "submit"
role = "pemohon"
at = "2026-09-18T08:00:00+07:00"

[[steps]]
step = "disposisi-kadis"
done-by = "review"
role = "kepala-dinas"
login = "sekdin-kominfo-kudus"
at = "2026-09-18T08:15:00+07:00"
acting = { kind = "plh", decree = "800/117/18.03/2026" }
"#,
    )
    .unwrap();
    let t = &tickets(
        &instance(true),
        &[record],
        None,
        Lang::Id,
        &Summaries::new(),
        None,
    )[0];
    let step = t
        .timeline
        .iter()
        .find(|e| e.step.as_deref() == Some("disposisi-kadis"))
        .unwrap();
    assert_eq!(step.actor, "Plh. Kepala Dinas Komunikasi dan Informatika");
    let json = serde_json::to_string(t).unwrap();
    assert!(!json.contains("sekdin"), "{json}");
}

fn pending(steps: &str, outcome: &str, pending: &str) -> PublicTicket {
    let record: Progress = toml::from_str(&format!(
        "ticket = \"KDS-24WBW-PV52C\"\noutcome = \"{outcome}\"\npending-step = \"{pending}\"\n\n[[steps]]\nstep = \"permohonan\"\ndone-by = \"submit\"\nrole = \"pemohon\"\nat = \"2026-09-18T08:00:00+07:00\"\n{steps}"
    ))
    .unwrap();
    tickets(
        &instance(true),
        &[record],
        None,
        Lang::Id,
        &Summaries::new(),
        None,
    )
    .remove(0)
}

const KADIS_AT_10_55: &str = "\n[[steps]]\nstep = \"disposisi-kadis\"\ndone-by = \"review\"\nrole = \"kepala-dinas\"\nlogin = \"kadis-kominfo-kudus\"\nat = \"2026-09-18T10:55:00+07:00\"\n";

#[test]
fn the_next_step_is_expected_after_its_standard_in_working_time() {
    // The Kadis disposed on Friday 10:55; the Kabid's 10 minutes: 5 before the office
    // closes at 11:00, 5 from Monday's 07:30 opening (calendar time would say 11:05).
    let t = pending(KADIS_AT_10_55, "pending", "disposisi-kabid");
    let n = t.next.as_ref().expect("a pending ticket says what is next");
    assert_eq!(n.state, "in-progress");
    assert_eq!(n.actor, "Kepala Bidang Informatika");
    assert_eq!(n.step.as_deref(), Some("disposisi-kabid"));
    assert_eq!(n.standard_minutes, Some(10));
    assert_eq!(n.since.as_ref().unwrap().at, "2026-09-18T10:55:00+07:00");
    assert_eq!(
        n.expected_by.as_ref().unwrap().at,
        "2026-09-21T07:35:00+07:00"
    );
    let json = serde_json::to_string(&t).unwrap();
    assert!(json.contains("\"expected_by\""), "{json}");
    assert!(!json.contains("kadis-kominfo"), "{json}");
}

#[test]
fn returned_for_correction_is_not_unprocessed() {
    let fresh = pending("", "pending", "disposisi-kadis");
    let n = fresh.next.as_ref().unwrap();
    assert_eq!(
        (n.state, n.state_label.as_str()),
        ("unprocessed", "Belum diproses")
    );
    assert_eq!(n.actor, "Kepala Dinas Komunikasi dan Informatika");
    let back = pending(KADIS_AT_10_55, "returned", "disposisi-kadis");
    let n = back.next.as_ref().unwrap();
    assert_eq!(
        (n.state, n.state_label.as_str()),
        ("returned", "Dikembalikan untuk perbaikan")
    );
    assert_eq!(n.actor, "Pemohon");
    assert_eq!(n.expected_by, None);
    assert_eq!(back.status_label, "dikembalikan untuk perbaikan");
    // A processed ticket waits on no one.
    let done = pending(KADIS_AT_10_55, "processed", "disposisi-kabid");
    assert_eq!(done.next, None);
}
