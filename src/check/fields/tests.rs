use crate::check::testutil::*;

fn line_of(fx: &Fixture, file: &str, needle: &str) -> usize {
    let text = &fx.files[file];
    1 + text[..text.find(needle).expect("needle")]
        .matches('\n')
        .count()
}

fn request(fx: &mut Fixture) -> String {
    let t = fx.mail_create("budi");
    format!("requests/{t}.toml")
}

#[test]
fn l007_fires_on_a_secret_key_and_on_free_text() {
    for (bad, says) in [
        (
            "AGE-SECRET-KEY-1QQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ",
            "compromised",
        ),
        ("kirim ke email saya", "not an age"),
        ("age1notakey", "not an age"),
    ] {
        let mut fx = Fixture::kudus();
        let req = request(&mut fx);
        fx.edit(&req, |s| {
            s.replacen(
                "contact = ",
                &format!("recipient = \"{bad}\"\ncontact = "),
                1,
            )
        });
        let line = line_of(&fx, &req, "recipient = ");
        let d = fx.assert_fires("L007", &req, line);
        assert!(d.message.contains(says), "{bad}: {}", d.message);
        // The diagnostic never repeats the secret.
        assert!(!d.message.contains("AGE-SECRET-KEY-1Q"), "{}", d.message);
    }
    let mut fx = Fixture::kudus();
    let req = request(&mut fx);
    let key = KEY_ED1.trim().to_string();
    fx.edit(&req, |s| {
        s.replacen(
            "contact = ",
            &format!("recipient = \"{key}\"\ncontact = "),
            1,
        )
    });
    fx.assert_quiet("L007");
}

#[test]
fn l008_fires_on_nul_line_breaks_and_bidi_overrides() {
    for bad in [
        "Budi\\u0000Santoso",
        "Budi\\nSantoso",
        "Budi \\u202eosotnaS",
    ] {
        let mut fx = Fixture::kudus();
        let req = request(&mut fx);
        fx.edit(&req, |s| {
            s.replacen("name = \"Pegawai", &format!("name = \"{bad} Pegawai"), 1)
        });
        let line = line_of(&fx, &req, "name = ");
        fx.assert_fires("L008", &req, line);
    }
    let mut fx = Fixture::kudus();
    request(&mut fx);
    fx.assert_quiet("L008");
}

#[test]
fn l009_fires_on_a_time_for_a_date_and_a_date_for_an_instant() {
    let mut fx = Fixture::kudus();
    let req = request(&mut fx);
    fx.edit(&req, |s| {
        s.replacen("date = 2026-11-01", "date = 12:00:00", 1)
    });
    let line = line_of(&fx, &req, "date = 12");
    fx.assert_fires("L009", &req, line);

    let mut fx = Fixture::kudus();
    let req = request(&mut fx);
    fx.edit(&req, |s| {
        s.replacen(
            "submitted = 2026-11-02T09:15:00+07:00",
            "submitted = 08:00:00",
            1,
        )
    });
    fx.assert_fires("L009", &req, 3);
    let mut fx = Fixture::kudus();
    request(&mut fx);
    fx.assert_quiet("L009");
}
