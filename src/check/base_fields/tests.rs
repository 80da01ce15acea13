use crate::check::testutil::*;

const BUDI: &str = "accounts/mail/budi@kuduskab.go.id.toml";
const DINKES: &str = "accounts/server/app-1/opd-dinkes.toml";

fn line(fx: &Fixture, file: &str, needle: &str) -> usize {
    line_of(&fx.files[file], needle)
}

/// The line of `needle` within the `[[keys]]` entry of `grant`.
fn key_line(fx: &Fixture, grant: &str, needle: &str) -> usize {
    let text = &fx.files[DINKES];
    let at = text.find(&format!("ticket = \"{grant}\"")).unwrap();
    let rel = text[at..].find(needle).unwrap();
    1 + text[..at + rel].matches('\n').count()
}

#[test]
fn l075_refuses_a_reset_that_rewrites_the_holder() {
    // Takeover by reset: the pull request resets budi's password and makes the
    // account someone else's.
    let mut fx = Fixture::kudus();
    fx.mail_create("budi");
    fx.freeze_base();
    fx.mail_change("mail-reset", "budi");
    fx.edit(BUDI, |s| {
        s.replace("Pegawai 1", "Penyerang")
            .replace(&nip(1), &nip(40))
    });
    let d = fx.assert_fires("L075", BUDI, line(&fx, BUDI, "name = "));
    assert!(d.message.contains("holder.name"), "{}", d.message);
    let d = fx.assert_fires("L075", BUDI, line(&fx, BUDI, "nip = "));
    assert!(d.message.contains("holder.nip"), "{}", d.message);
    // the address of an existing account is its identity too
    let mut fx = Fixture::kudus();
    fx.mail_create("budi");
    fx.freeze_base();
    fx.mail_change("mail-reset", "budi");
    fx.edit(BUDI, |s| {
        s.replace("address = \"budi@", "address = \"budi2@")
    });
    fx.assert_fires("L075", BUDI, 1);
}

#[test]
fn l075_refuses_a_grant_that_changes_another_key() {
    let mut fx = Fixture::kudus();
    let a = fx.server_grant("app-1", "opd-dinkes", KEY_ED1);
    fx.freeze_base();
    fx.server_grant("app-1", "opd-dinkes", KEY_ED2);
    fx.edit(DINKES, |s| s.replacen("2027-01-31", "2030-01-31", 1));
    let d = fx.assert_fires("L075", DINKES, key_line(&fx, &a, "expires = "));
    assert!(d.message.contains(&a), "{}", d.message);
}

#[test]
fn l075_quiet_when_each_change_is_its_request() {
    let mut fx = Fixture::kudus();
    fx.mail_create("budi");
    fx.mail_create("siti");
    let g = fx.server_grant("app-1", "opd-dinkes", KEY_ED1);
    fx.freeze_base();
    fx.mail_change("mail-reset", "budi");
    fx.mail_change("mail-deactivate", "siti");
    fx.server_grant("app-1", "opd-dinkes", KEY_ED2);
    fx.server_revoke("app-1", "opd-dinkes", &g);
    fx.mail_create("agus");
    fx.server_grant("db-1", "opd-bpkad", KEY_ED3);
    for code in ["L075", "L076", "L077", "L078"] {
        fx.assert_quiet(code);
    }
    fx.assert_clean();
}

#[test]
fn l076_refuses_a_grant_that_brings_back_a_revoked_key() {
    // Resurrection: a new grant for one person, and in the same file another
    // person's revoked key flipped back to active.
    let mut fx = Fixture::kudus();
    let a = fx.server_grant("app-1", "opd-dinkes", KEY_ED1);
    fx.server_revoke("app-1", "opd-dinkes", &a);
    fx.freeze_base();
    fx.assert_clean();
    fx.server_grant("app-1", "opd-dinkes", KEY_ED2);
    let before_edit = fx.clone();
    fx.edit(DINKES, |s| {
        let at = s.find("status = \"revoked\"").unwrap();
        let end = at + s[at..].find("\nholder").unwrap();
        format!("{}status = \"active\"{}", &s[..at], &s[end..])
    });
    let d = fx.assert_fires("L076", DINKES, key_line(&fx, &a, "status = "));
    assert!(d.message.contains(&a), "{}", d.message);
    assert!(
        d.message
            .contains("status changed from \"revoked\" to \"active\""),
        "{}",
        d.message
    );
    // a revocation stripped of its record alone is a resurrection too
    let mut fx = Fixture::kudus();
    let a = fx.server_grant("app-1", "opd-dinkes", KEY_ED1);
    fx.server_revoke("app-1", "opd-dinkes", &a);
    fx.freeze_base();
    fx.server_grant("app-1", "opd-dinkes", KEY_ED2);
    fx.edit(DINKES, |s| {
        s.lines()
            .filter(|l| !l.starts_with("revoked-by"))
            .map(|l| format!("{l}\n"))
            .collect()
    });
    let d = fx.assert_fires("L076", DINKES, key_line(&fx, &a, "status = "));
    assert!(d.message.contains("revoked-by"), "{}", d.message);
    // control: the grant alone is accepted
    before_edit.assert_clean();
}

#[test]
fn l076_refuses_a_reset_that_reenables_a_disabled_account() {
    let mut fx = Fixture::kudus();
    fx.mail_create("budi");
    fx.mail_change("mail-deactivate", "budi");
    fx.freeze_base();
    fx.mail_change("mail-reset", "budi");
    fx.edit(BUDI, |s| s.replace("\"disabled\"", "\"active\""));
    fx.assert_fires("L076", BUDI, 2);
    // control: a deactivate is not a resurrection
    let mut fx = Fixture::kudus();
    fx.mail_create("budi");
    fx.freeze_base();
    fx.mail_change("mail-deactivate", "budi");
    fx.assert_quiet("L076");
}

#[test]
fn l077_refuses_removed_tickets_and_keys() {
    let mut fx = Fixture::kudus();
    let t = fx.mail_create("budi");
    let r = fx.mail_change("mail-reset", "budi");
    fx.freeze_base();
    fx.mail_change("mail-reset", "budi");
    fx.edit(BUDI, |s| s.replace(&format!("\"{r}\", "), ""));
    let d = fx.assert_fires("L077", BUDI, 3);
    assert!(d.message.contains(&r), "{}", d.message);
    let _ = t;
    // a key removed while another is granted
    let mut fx = Fixture::kudus();
    let a = fx.server_grant("app-1", "opd-dinkes", KEY_ED1);
    fx.freeze_base();
    fx.server_grant("app-1", "opd-dinkes", KEY_ED2);
    fx.edit(DINKES, |s| {
        let at = s.find("[[keys]]").unwrap();
        let end = at + 1 + s[at + 1..].find("[[keys]]").unwrap();
        format!("{}{}", &s[..at], &s[end..])
    });
    let d = fx.assert_fires("L077", DINKES, line(&fx, DINKES, "tickets = "));
    assert!(d.message.contains(&a), "{}", d.message);
    // control: appending keeps the history
    let mut fx = Fixture::kudus();
    fx.mail_create("budi");
    fx.freeze_base();
    fx.mail_change("mail-reset", "budi");
    fx.assert_quiet("L077");
}

#[test]
fn l078_refuses_changes_beyond_the_request() {
    // a reset that also disables
    let mut fx = Fixture::kudus();
    fx.mail_create("budi");
    fx.freeze_base();
    fx.mail_change("mail-reset", "budi");
    fx.edit(BUDI, |s| s.replace("\"active\"", "\"disabled\""));
    fx.assert_fires("L078", BUDI, 2);
    // a revoke that also revokes another person's key
    let mut fx = Fixture::kudus();
    let a = fx.server_grant("app-1", "opd-dinkes", KEY_ED1);
    let b = fx.server_grant("app-1", "opd-dinkes", KEY_ED2);
    fx.freeze_base();
    let rv = fx.server_revoke("app-1", "opd-dinkes", &a);
    fx.edit(DINKES, |s| {
        let at = s.find(&format!("ticket = \"{b}\"")).unwrap();
        let rest = s[at..].replacen(
            "status = \"active\"",
            &format!("status = \"revoked\"\nrevoked-by = \"{rv}\""),
            1,
        );
        format!("{}{rest}", &s[..at])
    });
    let d = fx.assert_fires("L078", DINKES, key_line(&fx, &b, "status = "));
    assert!(d.message.contains(&b), "{}", d.message);
    // a grant whose key is written for another holder
    let mut fx = Fixture::kudus();
    fx.freeze_base();
    fx.server_grant("app-1", "opd-dinkes", KEY_ED1);
    fx.edit(DINKES, |s| {
        s.replace("name = \"Pegawai 1\"", "name = \"Orang Lain\"")
    });
    fx.assert_fires("L078", DINKES, line(&fx, DINKES, "holder = "));
    // a new mail account for someone other than the applicant
    let mut fx = Fixture::kudus();
    fx.freeze_base();
    fx.mail_create("budi");
    fx.edit(BUDI, |s| {
        s.replace("name = \"Pegawai 1\"", "name = \"Orang Lain\"")
    });
    fx.assert_fires("L078", BUDI, line(&fx, BUDI, "name = "));
    // a revoke listed, but the key left active
    let mut fx = Fixture::kudus();
    let a = fx.server_grant("app-1", "opd-dinkes", KEY_ED1);
    fx.freeze_base();
    fx.server_revoke("app-1", "opd-dinkes", &a);
    fx.edit(DINKES, |s| {
        s.replace("status = \"revoked\"", "status = \"active\"")
            .lines()
            .filter(|l| !l.starts_with("revoked-by"))
            .collect::<Vec<_>>()
            .join("\n")
            + "\n"
    });
    fx.assert_fires("L078", DINKES, key_line(&fx, &a, "status = "));
}

#[test]
fn l078_refuses_a_key_added_without_its_grant() {
    let mut fx = Fixture::kudus();
    fx.server_grant("app-1", "opd-dinkes", KEY_ED1);
    fx.freeze_base();
    let g = fx.server_grant("app-1", "opd-dinkes", KEY_ED2);
    // a second [[keys]] entry under the same ticket
    let text = fx.files[DINKES].clone();
    let block = &text[text.rfind("[[keys]]").unwrap()..];
    let extra = block.replace(KEY_ED2.trim(), KEY_ED3.trim());
    fx.write(DINKES, &format!("{text}\n{extra}"));
    let d = fx.assert_fires("L078", DINKES, text.matches('\n').count() + 3);
    assert!(d.message.contains(&g), "{}", d.message);
}
