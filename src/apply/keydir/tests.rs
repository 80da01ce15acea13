//! The key directory: its line format, ownership and adopt-files.
use super::*;
use crate::apply::adopt::ImportedKeys;

#[test]
fn key_lines_round_trip_with_expiry() {
    let k = LiveKey {
        ticket: Some("KDS-AAAAA-BBBBB".into()),
        key: "ssh-ed25519 AAAAC3Nza".into(),
        expires: Some(jiff::civil::date(2027, 8, 14)),
    };
    let l = line(&k);
    assert_eq!(
        l,
        "expiry-time=\"20270815\" ssh-ed25519 AAAAC3Nza loket:KDS-AAAAA-BBBBB\n"
    );
    assert_eq!(parse_line(&l), Some(k));
    let foreign = parse_line("ssh-rsa AAAAB3 someone@laptop").unwrap();
    assert_eq!(foreign.ticket, None);
}

#[test]
fn key_lines_loket_did_not_write_are_refused() {
    let t = crate::ticket::Ticket::generate("KDS").to_string();
    let good = format!("expiry-time=\"20270815\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5 loket:{t}");
    assert_eq!(parse_line_strict(&good).unwrap().ticket, Some(t.clone()));
    // Someone else's well-formed key: drift, reported by plan and audit.
    assert_eq!(
        parse_line_strict("ssh-rsa AAAAB3Nz someone@laptop")
            .unwrap()
            .ticket,
        None
    );
    for bad in [
        String::new(),
        "# a note".into(),
        "expiry-time=\"2027".into(),
        "expiry-time=\"20271\" ssh-ed25519 AAAA".into(),
        "ssh-ed25519 AAAAC3NzaC1lZDI1N".into(),
        "ssh-ed25519".into(),
        format!("{good} extra"),
        good.replace(&t, "KDS-A"),
        "from=\"10.0.0.1\" ssh-rsa AAAAB3Nz x".into(),
    ] {
        assert!(parse_line_strict(&bad).is_err(), "{bad}");
    }
}

#[test]
fn folders_without_the_marker_are_not_loket_s() {
    let d = tempfile::tempdir().unwrap();
    let mut kd = Keydir::new(&KeydirSettings { dir: "keys".into() }, d.path());
    let app = d.path().join("keys/app-1");
    std::fs::create_dir_all(&app).unwrap();
    // Empty files only: a new folder, fine.
    std::fs::write(app.join("opd-x"), "").unwrap();
    assert!(kd.read().is_ok());
    let keys = "ssh-rsa AAAAB3Nz admin@host\n";
    std::fs::write(app.join("root"), keys).unwrap();
    let err = kd.read().unwrap_err().to_string();
    assert!(err.contains("not a key folder loket manages"), "{err}");
    assert!(kd.adopt(&ImportedKeys::default(), true).unwrap()[0].contains("would adopt"));
    assert!(kd.read().is_err(), "a dry run adopts nothing");
    kd.adopt(&ImportedKeys::default(), false).unwrap();
    assert_eq!(kd.read().unwrap().server.len(), 2);
    assert_eq!(std::fs::read_to_string(app.join("root")).unwrap(), keys);
    // A cut file is refused, even in a folder of loket's.
    std::fs::write(app.join("root"), "ssh-rsa AAAAB3Nz admin@host\nssh-rsa AA").unwrap();
    let err = kd.read().unwrap_err().to_string();
    assert!(err.contains("cut short"), "{err}");
}

#[test]
fn refuses_path_escapes() {
    let d = tempfile::tempdir().unwrap();
    let kd = Keydir::new(&KeydirSettings { dir: "keys".into() }, d.path());
    assert!(kd.file("..", "x").is_err());
    assert!(kd.file("app-1", "a/b").is_err());
    assert!(kd.file("app-1", "opd-x").is_ok());
    // System accounts and odd names are refused here too, whatever check said.
    for bad in ["root", "opd;reboot", "OPD Dinkes"] {
        assert!(kd.file("app-1", bad).is_err(), "{bad}");
    }
}

#[test]
fn adopt_takes_over_imported_key_lines_only() {
    use crate::apply::adopt::ImportedKey;
    const A: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINlRHbndlDyb8Z1Kb0Y/Jy5GjuyXBzlBpJpgYqcaZl+a";
    const B: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGH0FXo0CQSzIeQ8v2ZmJuiHnTPbD0kWPZSOkVymD0Vl";
    let d = tempfile::tempdir().unwrap();
    let mut kd = Keydir::new(&KeydirSettings { dir: "keys".into() }, d.path());
    let app = d.path().join("keys/app-1");
    std::fs::create_dir_all(&app).unwrap();
    let office = format!("{A} budi@laptop\nssh-rsa AAAAB3Nz someone@else\n");
    std::fs::write(app.join("opd-x"), &office).unwrap();
    let t = crate::ticket::Ticket::generate("KDS").to_string();
    let mut imported = ImportedKeys::default();
    for key in [A, B] {
        imported.insert(
            "app-1",
            "opd-x",
            ImportedKey {
                ticket: t.clone(),
                key: key.into(),
                last_day: jiff::civil::date(2027, 8, 14),
                closed: None,
            },
        );
    }
    let said = kd.adopt(&imported, true).unwrap().join("\n");
    assert!(said.contains("would take over 1 key line(s)"), "{said}");
    assert!(
        said.contains("opd-x:2: left as it is (ssh-rsa AAAAB3Nz)"),
        "{said}"
    );
    assert_eq!(std::fs::read_to_string(app.join("opd-x")).unwrap(), office);
    assert!(!app.join(DIR_MARKER).exists(), "a dry run writes nothing");
    kd.adopt(&imported, false).unwrap();
    assert_eq!(
        std::fs::read_to_string(app.join("opd-x")).unwrap(),
        format!("expiry-time=\"20270815\" {A} loket:{t}\nssh-rsa AAAAB3Nz someone@else\n")
    );
    let live = kd.read().unwrap();
    assert!(live.holds_key("app-1", "opd-x", &t, A));
    assert!(!live.holds_key("app-1", "opd-x", &t, B), "B is not live");
    // Again: nothing left to take over, nothing written.
    let said = kd.adopt(&imported, false).unwrap().join("\n");
    assert!(said.contains("no line to take over"), "{said}");
}
