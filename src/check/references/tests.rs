use crate::check::testutil::*;

const BUDI: &str = "accounts/mail/budi@kuduskab.go.id.toml";
const ACC: &str = "accounts/server/app-1/opd-dinkes.toml";

#[test]
fn l040_fires_when_the_account_does_not_exist() {
    let mut fx = Fixture::kudus();
    let t = fx.mail_change("mail-reset", "nobody.here");
    fx.assert_fires("L040", &format!("requests/{t}.toml"), 18);
    let mut fx = Fixture::kudus();
    fx.mail_create("budi");
    fx.mail_change("mail-reset", "budi");
    fx.assert_quiet("L040");
}

#[test]
fn l040_fires_on_reset_or_second_deactivation_of_a_disabled_account() {
    let mut fx = Fixture::kudus();
    fx.mail_create("budi");
    fx.mail_change("mail-deactivate", "budi");
    let t = fx.mail_change("mail-reset", "budi");
    let d = fx.assert_fires("L040", &format!("requests/{t}.toml"), 18);
    assert_eq!(d.secondary.len(), 1);
    let mut fx = Fixture::kudus();
    fx.mail_create("budi");
    fx.mail_change("mail-deactivate", "budi");
    let t = fx.mail_change("mail-deactivate", "budi");
    fx.assert_fires("L040", &format!("requests/{t}.toml"), 18);
}

#[test]
fn l040_fires_on_revoke_of_unknown_account_grant_or_revoked_key() {
    let mut fx = Fixture::kudus();
    let g = fx.server_grant("app-1", "opd-dinkes", KEY_ED1);
    let t = fx.server_revoke("app-1", "opd-nope", &g);
    fx.assert_fires("L040", &format!("requests/{t}.toml"), 19);
    let mut fx = Fixture::kudus();
    fx.server_grant("app-1", "opd-dinkes", KEY_ED1);
    let t = fx.server_revoke("app-1", "opd-dinkes", "KDS-AAAAA-AAAAA");
    fx.assert_fires("L040", &format!("requests/{t}.toml"), 20);
    let mut fx = Fixture::kudus();
    let g = fx.server_grant("app-1", "opd-dinkes", KEY_ED1);
    fx.server_revoke("app-1", "opd-dinkes", &g);
    fx.assert_quiet("L040");
    let t = fx.server_revoke("app-1", "opd-dinkes", &g);
    fx.assert_fires("L040", &format!("requests/{t}.toml"), 20);
}

#[test]
fn l041_fires_on_unknown_or_missing_tickets() {
    let mut fx = Fixture::kudus();
    let t = fx.mail_create("budi");
    fx.remove(&format!("requests/{t}.toml"));
    fx.assert_fires("L041", BUDI, 3);
    let mut fx = Fixture::kudus();
    let t = fx.mail_create("budi");
    fx.edit(BUDI, |s| s.replace(&format!("[\"{t}\"]"), "[]"));
    fx.assert_fires("L041", BUDI, 1);
    let mut fx = Fixture::kudus();
    let g = fx.server_grant("app-1", "opd-dinkes", KEY_ED1);
    fx.remove(&format!("requests/{g}.toml"));
    fx.assert_fires("L041", ACC, 5);
    fx.assert_fires("L041", ACC, 8);
}

#[test]
fn l042_fires_when_mail_account_disagrees_with_its_requests() {
    // request asks for another address than the account holds
    let mut fx = Fixture::kudus();
    let t = fx.mail_create("budi");
    fx.edit(&format!("requests/{t}.toml"), |s| {
        s.replace("budi@", "budi.s@")
    });
    let d = fx.assert_fires("L042", BUDI, 3);
    assert_eq!(d.secondary.len(), 1);
    // deactivated but still active
    let mut fx = Fixture::kudus();
    fx.mail_create("budi");
    fx.mail_change("mail-deactivate", "budi");
    fx.edit(BUDI, |s| s.replace("\"disabled\"", "\"active\""));
    fx.assert_fires("L042", BUDI, 2);
    // disabled with no deactivation
    let mut fx = Fixture::kudus();
    fx.mail_create("budi");
    fx.edit(BUDI, |s| s.replace("\"active\"", "\"disabled\""));
    fx.assert_fires("L042", BUDI, 2);
}

#[test]
fn l042_fires_when_server_key_disagrees_with_its_grant() {
    let mut fx = Fixture::kudus();
    let g = fx.server_grant("app-1", "opd-dinkes", KEY_ED1);
    let ed2 = KEY_ED2.trim();
    let ed1 = KEY_ED1.trim();
    fx.edit(ACC, |s| s.replace(ed1, ed2));
    fx.assert_fires("L042", ACC, 9);
    let mut fx = Fixture::kudus();
    fx.server_grant("app-1", "opd-dinkes", KEY_ED1);
    fx.edit(ACC, |s| {
        s.replace("expires = 2027-01-31", "expires = 2027-12-31")
    });
    fx.assert_fires("L042", ACC, 10);
    let mut fx = Fixture::kudus();
    fx.server_grant("app-1", "opd-dinkes", KEY_ED1);
    fx.edit(ACC, |s| {
        s.replace("status = \"active\"", "status = \"revoked\"")
    });
    fx.assert_fires("L042", ACC, 11);
    let _ = g;
}
