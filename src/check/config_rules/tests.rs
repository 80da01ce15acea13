use crate::check::testutil::*;

fn cfg(from: &str, to: &str) -> Fixture {
    let mut fx = Fixture::kudus();
    fx.edit("loket.toml", |s| s.replacen(from, to, 1));
    fx
}

#[test]
fn the_kudus_preset_passes_every_config_rule() {
    Fixture::kudus().assert_clean();
}

#[test]
fn l060_fires_on_unknown_roles() {
    cfg("role = \"kepala-seksi\"", "role = \"kasi\"").assert_fires("L060", "loket.toml", 107);
    cfg(
        "config-change-role = \"kepala-dinas\"",
        "config-change-role = \"bupati\"",
    )
    .assert_fires("L060", "loket.toml", 48);
}

#[test]
fn l061_fires_on_duplicate_step_id() {
    let d = cfg("id = \"cek-nama\"", "id = \"disposisi-kabid\"").assert_fires(
        "L061",
        "loket.toml",
        105,
    );
    assert_eq!(d.secondary.len(), 1);
}

#[test]
fn l062_fires_on_kind_without_or_with_two_sops() {
    cfg(
        "kinds = [\"mail-create\", \"mail-deactivate\", \"mail-reset\"]",
        "kinds = [\"mail-create\", \"mail-deactivate\"]",
    )
    .assert_fires("L062", "loket.toml", 0);
    cfg(
        "kinds = [\"server-grant\", \"server-revoke\"]",
        "kinds = [\"server-grant\", \"server-revoke\", \"mail-reset\"]",
    )
    .assert_fires("L062", "loket.toml", 128);
}

#[test]
fn l063_fires_on_broken_pattern() {
    let fx = cfg(
        "local-part-pattern = \"^[a-z][a-z0-9]*([._-][a-z0-9]+)*$\"",
        "local-part-pattern = \"^[a-z(\"",
    );
    fx.assert_fires("L063", "loket.toml", 22);
}

#[test]
fn l064_fires_on_duplicate_server_and_bad_fields() {
    cfg("name = \"db-1\"", "name = \"app-1\"").assert_fires("L064", "loket.toml", 61);
    cfg("max-days = 90", "max-days = 0").assert_fires("L064", "loket.toml", 64);
    cfg(
        "account-kinds = [\"opd\"]\nmax-days = 90",
        "account-kinds = []\nmax-days = 90",
    )
    .assert_fires("L064", "loket.toml", 61);
    cfg(
        "max-days = 90",
        "max-days = 90\nhost-key = \"ssh-ed25519 nonsense\"",
    )
    .assert_fires("L064", "loket.toml", 65);
}

#[test]
fn l065_fires_on_bad_empty_or_repeated_domains() {
    cfg(
        "domains = [\"kuduskab.go.id\"]",
        "domains = [\"Kudus Kab\"]",
    )
    .assert_fires("L065", "loket.toml", 19);
    cfg("domains = [\"kuduskab.go.id\"]", "domains = []").assert_fires("L065", "loket.toml", 19);
    cfg(
        "domains = [\"kuduskab.go.id\"]",
        "domains = [\"kuduskab.go.id\", \"kuduskab.go.id\"]",
    )
    .assert_fires("L065", "loket.toml", 19);
}

#[test]
fn l066_fires_on_bad_prefix() {
    cfg("ticket-prefix = \"KDS\"", "ticket-prefix = \"kudus-kab\"").assert_fires(
        "L066",
        "loket.toml",
        15,
    );
}
