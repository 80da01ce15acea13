//! `loket letter` through the real binary: the HTML matches its reviewed snapshot,
//! a PDF comes out of headless Chromium, and tickets that cannot have a letter are
//! refused with a clear message.
mod common;

use std::path::PathBuf;

const TICKET: &str = "KDS-24WBW-PV52C";

fn snapshot_path() -> PathBuf {
    common::repo_root().join("tests/snapshots/site_letter.html")
}

fn letter(args: &[&str]) -> std::process::Output {
    common::loket()
        .arg("-C")
        .arg(common::repo_root())
        .arg("letter")
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn letter_html_matches_snapshot() {
    let o = letter(&[
        TICKET,
        "--date",
        "2026-09-19",
        "--number",
        "555/1234/18.03/2026",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let html = String::from_utf8(o.stdout).unwrap();
    for must in [
        "Dimas Hartono",
        "dimas.hartono@kuduskab.go.id",
        "555/1234/18.03/2026",
        "19 September 2026",
        "800/118/14.2026",
        "Kepala Dinas Komunikasi dan Informatika,",
        "amplop tertutup",
        "@page { size: A4",
    ] {
        assert!(html.contains(must), "letter lacks {must:?}");
    }
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(snapshot_path(), &html).unwrap();
    }
    let expected = std::fs::read_to_string(snapshot_path())
        .expect("no snapshot yet: run with UPDATE_SNAPSHOTS=1 and review it");
    assert!(
        html == expected,
        "the letter changed; review and run with UPDATE_SNAPSHOTS=1"
    );
}

#[test]
fn letter_defaults_to_the_processing_day_and_a_ticket_number() {
    let o = letter(&[TICKET]);
    assert!(o.status.success());
    let html = String::from_utf8(o.stdout).unwrap();
    assert!(html.contains("555/KDS-24WBW-PV52C/2026"));
    assert!(html.contains("Kudus, 18 September 2026"));
}

#[test]
fn letter_prints_to_pdf() {
    let Some(chromium) = common::require_binary("chromium", &["/usr/bin/chromium", "chromium"])
    else {
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let pdf = tmp.path().join("surat.pdf");
    let o = common::loket()
        .arg("-C")
        .arg(common::repo_root())
        .args(["letter", TICKET, "--pdf"])
        .arg(&pdf)
        .arg("--chromium")
        .arg(chromium)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let bytes = std::fs::read(&pdf).unwrap();
    assert!(bytes.starts_with(b"%PDF"), "not a PDF");
    assert!(
        bytes.len() > 5_000,
        "suspiciously small PDF: {} bytes",
        bytes.len()
    );
}

#[test]
fn unknown_ticket_and_role_are_refused() {
    let o = letter(&["KDS-22222-22222"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("no request has ticket KDS-22222-22222"));
    let o = letter(&[TICKET, "--signer", "bupati"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--signer bupati: no such role"));
    let o = letter(&[TICKET, "--pdf"]);
    assert!(!o.status.success(), "--pdf without a file must be refused");
}
