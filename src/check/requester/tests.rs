use crate::check::testutil::*;

fn line_of(fx: &Fixture, file: &str, needle: &str) -> usize {
    let text = &fx.files[file];
    1 + text[..text.find(needle).expect("needle")]
        .matches('\n')
        .count()
}

/// A pending `kind` of budi's account, asked by someone else (another name and NIP)
/// in `position`, with `extra` applicant lines.
fn asked_by_other(kind: &str, position: &str, extra: &str, policy: &str) -> (Fixture, String) {
    let mut fx = Fixture::kudus();
    fx.edit("loket.toml", |s| {
        let at = s
            .find("on-behalf-positions = [")
            .expect("the preset's policy");
        let end = at + s[at..].find('\n').unwrap();
        format!("{}on-behalf-positions = [{policy}]{}", &s[..at], &s[end..])
    });
    fx.mail_create("budi");
    fx.freeze_base();
    let t = fx.mail_change(kind, "budi");
    let req = format!("requests/{t}.toml");
    let other = nip(900);
    fx.edit(&req, |s| {
        let s = s.replacen(
            "[applicant]\nname = \"",
            "[applicant]\nname = \"Orang Lain (was ",
            1,
        );
        let at = s.find("nip = \"").unwrap() + 7;
        let s = format!("{}{other}{}", &s[..at], &s[at + 18..]);
        s.replacen(
            "position = \"Pranata Komputer\"",
            &format!("position = \"{position}\"{extra}"),
            1,
        )
    });
    (fx, req)
}

#[test]
fn l044_fires_when_someone_else_asks_without_the_office_allowing_it() {
    for kind in ["mail-reset", "mail-deactivate"] {
        // No policy: only the holder asks.
        let (fx, req) = asked_by_other(kind, "Pranata Komputer", "", "");
        let line = line_of(&fx, &req, "name = ");
        let d = fx.assert_fires("L044", &req, line);
        assert!(d.message.contains("only the holder"), "{}", d.message);
        // A position the policy does not name.
        let (fx, req) = asked_by_other(
            kind,
            "Pranata Komputer",
            "\non-behalf-reason = \"cuti\"",
            "\"Kepala Dinas\"",
        );
        let d = fx.assert_fires("L044", &req, line);
        assert!(d.message.contains("may not ask"), "{}", d.message);
        // The right position without a reason.
        let (fx, req) = asked_by_other(kind, "Kepala Dinas Kesehatan", "", "\"Kepala Dinas\"");
        let d = fx.assert_fires("L044", &req, line);
        assert!(d.message.contains("on-behalf-reason"), "{}", d.message);
        // The right position with a reason: allowed.
        let (fx, _) = asked_by_other(
            kind,
            "Kepala Dinas Kesehatan",
            "\non-behalf-reason = \"pegawai pensiun\"",
            "\"Kepala Dinas\"",
        );
        fx.assert_quiet("L044");
    }
    // The holder asks: allowed under any policy.
    let mut fx = Fixture::kudus();
    fx.mail_create("budi");
    fx.freeze_base();
    fx.mail_change("mail-reset", "budi");
    fx.assert_quiet("L044");
}

#[test]
fn l044_fires_on_a_revocation_of_someone_elses_key() {
    let mut fx = Fixture::kudus();
    let grant = fx.server_grant("app-1", "opd-dinkes", KEY_ED1);
    fx.freeze_base();
    let t = fx.server_revoke("app-1", "opd-dinkes", &grant);
    fx.assert_quiet("L044");
    let req = format!("requests/{t}.toml");
    fx.edit(&req, |s| {
        s.replacen("[applicant]\nname = \"", "[applicant]\nname = \"X ", 1)
    });
    let at = fx.files[&req].find("nip = \"").unwrap() + 7;
    let other = nip(901);
    fx.edit(&req, |s| format!("{}{other}{}", &s[..at], &s[at + 18..]));
    let line = line_of(&fx, &req, "name = ");
    fx.assert_fires("L044", &req, line);
}

#[test]
fn l045_fires_on_a_reset_sealed_to_a_new_key() {
    let mut fx = Fixture::kudus();
    fx.mail_create("budi");
    fx.freeze_base();
    let t = fx.mail_change("mail-reset", "budi");
    let req = format!("requests/{t}.toml");
    fx.assert_quiet("L045");
    let key = KEY_ED2.trim().to_string();
    fx.edit(&req, |s| {
        s.replacen(
            "contact = ",
            &format!("recipient = \"{key}\"\ncontact = "),
            1,
        )
    });
    let line = line_of(&fx, &req, "recipient = ");
    fx.assert_fires("L045", &req, line);

    // The key registered when the account was made is fine.
    let mut fx = Fixture::kudus();
    let c = fx.mail_create("budi");
    let create = format!("requests/{c}.toml");
    fx.edit(&create, |s| {
        s.replacen(
            "contact = ",
            &format!("recipient = \"{key}\"\ncontact = "),
            1,
        )
    });
    fx.freeze_base();
    let t = fx.mail_change("mail-reset", "budi");
    fx.edit(&format!("requests/{t}.toml"), |s| {
        s.replacen(
            "contact = ",
            &format!("recipient = \"{key}\"\ncontact = "),
            1,
        )
    });
    fx.assert_quiet("L045");
}
