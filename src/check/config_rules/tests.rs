use crate::check::testutil::*;

/// The preset with `from` replaced by `to` once, and the 1-based line of `needle`
/// (a part of `to`) in the result.
fn cfg_at(from: &str, to: &str, needle: &str) -> (Fixture, usize) {
    let mut fx = Fixture::kudus();
    let at = fx.files["loket.toml"].find(from).expect("in the preset");
    fx.edit("loket.toml", |s| s.replacen(from, to, 1));
    let text = &fx.files["loket.toml"];
    let at = at + to.find(needle).expect("needle in to");
    let line = 1 + text[..at].matches('\n').count();
    (fx, line)
}

/// Fires `code` on the line where `to` starts.
fn fires(code: &str, from: &str, to: &str) -> crate::diag::Diagnostic {
    let (fx, line) = cfg_at(from, to, to);
    fx.assert_fires(code, "loket.toml", line)
}

#[test]
fn the_kudus_preset_passes_every_config_rule() {
    Fixture::kudus().assert_clean();
}

#[test]
fn l060_fires_on_unknown_roles() {
    fires("L060", "role = \"kepala-seksi\"", "role = \"kasi\"");
    fires(
        "L060",
        "config-change-role = \"kepala-dinas\"",
        "config-change-role = \"bupati\"",
    );
}

#[test]
fn l061_fires_on_duplicate_step_id() {
    let d = fires("L061", "id = \"cek-nama\"", "id = \"disposisi-kabid\"");
    assert_eq!(d.secondary.len(), 1);
}

#[test]
fn l062_fires_on_request_without_sop_and_kind_with_two() {
    let mut fx = Fixture::kudus();
    let t = fx.mail_create("budi");
    fx.mail_change("mail-reset", "budi");
    let reset = fx
        .files
        .keys()
        .find(|k| k.starts_with("requests/") && !k.contains(&t))
        .unwrap()
        .clone();
    fx.edit("loket.toml", |s| {
        s.replacen(
            "\"mail-deactivate\", \"mail-reset\"]",
            "\"mail-deactivate\"]",
            1,
        )
    });
    fx.assert_fires("L062", &reset, 2);
    fires(
        "L062",
        "kinds = [\"server-grant\", \"server-revoke\"]",
        "kinds = [\"server-grant\", \"server-revoke\", \"mail-reset\"]",
    );
    // an office without a server SOP is fine while nobody asks for server access
    let mut fx = Fixture::kudus();
    fx.edit("loket.toml", |s| {
        s.replacen("[\"server-grant\", \"server-revoke\"]", "[]", 1)
    });
    fx.assert_quiet("L062");
}

#[test]
fn l063_fires_on_broken_pattern() {
    let (fx, line) = cfg_at(
        "local-part-pattern = \"",
        "local-part-pattern = \"(((",
        "local",
    );
    fx.assert_fires("L063", "loket.toml", line);
}

#[test]
fn l064_fires_on_duplicate_server_and_bad_fields() {
    fires("L064", "name = \"db-1\"", "name = \"app-1\"");
    let (fx, line) = cfg_at("max-days = 90", "max-days = 0", "max-days");
    fx.assert_fires("L064", "loket.toml", line);
    // Past the date library's span: refused, and the expiry rule does not panic on a
    // pending grant to that server.
    let (mut fx, line) = cfg_at("max-days = 90", "max-days = 7304485", "max-days");
    fx.server_grant("db-1", "opd-dinkes", KEY_ED1);
    fx.assert_fires("L064", "loket.toml", line);
    let mut fx = Fixture::kudus();
    fx.edit("loket.toml", |s| {
        s.replacen(
            "account-kinds = [\"opd\"]\nmax-days = 90",
            "account-kinds = []\nmax-days = 90",
            1,
        )
    });
    let text = &fx.files["loket.toml"];
    let line = 1 + text[..text.find("name = \"db-1\"").unwrap()]
        .matches('\n')
        .count();
    fx.assert_fires("L064", "loket.toml", line);
    let (fx, line) = cfg_at(
        "max-days = 90",
        "max-days = 90\nhost-key = \"ssh-ed25519 nonsense\"",
        "host-key",
    );
    fx.assert_fires("L064", "loket.toml", line);
}

#[test]
fn l065_fires_on_bad_empty_or_repeated_domains() {
    let d = "domains = [\"kuduskab.go.id\"]";
    fires("L065", d, "domains = [\"Kudus Kab\"]");
    fires("L065", d, "domains = []");
    fires(
        "L065",
        d,
        "domains = [\"kuduskab.go.id\", \"kuduskab.go.id\"]",
    );
}

#[test]
fn l066_fires_on_bad_prefix() {
    fires(
        "L066",
        "ticket-prefix = \"KDS\"",
        "ticket-prefix = \"kudus-kab\"",
    );
}

#[test]
fn l068_fires_on_an_official_without_name_or_with_a_bad_nip() {
    let role = "title = \"Kepala Dinas Komunikasi dan Informatika\"";
    fires(
        "L068",
        role,
        "title = \"Kepala Dinas Komunikasi dan Informatika\"\nofficial-nip = \"197203151998031004\"",
    );
    fires(
        "L068",
        role,
        "title = \"Kepala Dinas Komunikasi dan Informatika\"\nofficial-name = \" \"",
    );
    let d = fires(
        "L068",
        role,
        "title = \"Kepala Dinas Komunikasi dan Informatika\"\nofficial-name = \"Drs. A\"\nofficial-nip = \"1972\"",
    );
    assert!(d.message.contains("18 digits"), "{}", d.message);
    let (fx, _) = cfg_at(
        role,
        "title = \"Kepala Dinas Komunikasi dan Informatika\"\nofficial-name = \"Drs. A\"\nofficial-rank = \"Pembina (IV/a)\"\nofficial-nip = \"197203151998031004\"",
        "title",
    );
    fx.assert_quiet("L068");
}

#[test]
fn l069_fires_on_an_emblem_outside_missing_or_of_another_type() {
    let tz = "time-zone = \"WIB\"";
    for bad in [
        "../lambang.png",
        "/etc/lambang.png",
        "assets/lambang.gif",
        "assets/no-such-emblem.png",
    ] {
        let d = fires("L069", tz, &format!("emblem = \"{bad}\"\n{tz}"));
        assert!(d.message.contains(bad), "{}", d.message);
    }
    let mut fx = Fixture::kudus();
    fx.edit("loket.toml", |s| {
        s.replacen(tz, &format!("emblem = \"assets/lambang.png\"\n{tz}"), 1)
    });
    fx.node("assets/lambang.png", Node::Link("/etc/hostname".into()));
    let d = fx.assert_fires("L069", "loket.toml", 0);
    assert!(d.message.contains("not a regular file"), "{}", d.message);
}
