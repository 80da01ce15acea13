use crate::check::testutil::*;

const ACC: &str = "accounts/server/app-1/opd-dinkes.toml";

fn grant(key: &str) -> (Fixture, String) {
    let mut fx = Fixture::kudus();
    let t = fx.server_grant("app-1", "opd-dinkes", key);
    (fx, format!("requests/{t}.toml"))
}

#[test]
fn l050_fires_on_unknown_server_and_kind_not_taken() {
    let mut fx = Fixture::kudus();
    let t = fx.server_grant("web-9", "opd-dinkes", KEY_ED1);
    fx.assert_fires("L050", &format!("requests/{t}.toml"), 18);
    fx.assert_fires("L050", "accounts/server/web-9/opd-dinkes.toml", 1);
    let (mut fx, req) = grant(KEY_ED1);
    fx.edit("loket.toml", |s| {
        s.replacen(
            "account-kinds = [\"opd\"]",
            "account-kinds = [\"personal\"]",
            1,
        )
    });
    fx.assert_fires("L050", &req, 18);
    fx.assert_fires("L050", ACC, 3);
    let (fx, _) = grant(KEY_ED1);
    fx.assert_quiet("L050");
}

#[test]
fn l051_fires_on_missing_past_and_too_long_expiry() {
    let (mut fx, req) = grant(KEY_ED1);
    fx.edit(&req, |s| s.replace("expires = 2027-01-31\n", ""));
    fx.assert_fires("L051", &req, 17);
    // pending (no account yet): held to today
    let (mut fx, req) = grant(KEY_ED1);
    fx.remove(ACC);
    fx.edit(&req, |s| {
        s.replace("expires = 2027-01-31", "expires = 2026-11-20")
    });
    fx.assert_fires("L051", &req, 21);
    let (mut fx, req) = grant(KEY_ED1);
    fx.remove(ACC);
    fx.edit(&req, |s| {
        s.replace("expires = 2027-01-31", "expires = 2028-01-31")
    });
    let d = fx.assert_fires("L051", &req, 21);
    assert!(d.message.contains("365"), "{}", d.message);
    let mut fx = Fixture::kudus();
    fx.freeze_base();
    let t = fx.server_grant("db-1", "opd-dinkes", KEY_ED1);
    fx.edit(&format!("requests/{t}.toml"), |s| {
        s.replace("expires = 2027-01-31", "expires = 2027-03-31")
    });
    fx.assert_fires("L051", &format!("requests/{t}.toml"), 21);
}

#[test]
fn l051_merged_grant_keeps_its_history_but_new_one_is_held_to_today() {
    // merged: expired since, but was valid when submitted
    let (mut fx, req) = grant(KEY_ED1);
    fx.edit(&req, |s| {
        s.replace("expires = 2027-01-31", "expires = 2026-11-20")
    });
    fx.assert_quiet("L051");
    // merged, then the office shortened max-days: history stays valid
    let (mut fx, _) = grant(KEY_ED1);
    fx.edit("loket.toml", |s| {
        s.replacen("max-days = 365", "max-days = 30", 1)
    });
    fx.assert_quiet("L051");
    // but never before the submission date
    let (mut fx, req) = grant(KEY_ED1);
    fx.edit(&req, |s| {
        s.replace("expires = 2027-01-31", "expires = 2026-10-01")
    });
    fx.assert_fires("L051", &req, 21);
    // the same request new in a pull request
    let mut fx = Fixture::kudus();
    fx.freeze_base();
    let t = fx.server_grant("app-1", "opd-dinkes", KEY_ED1);
    let req = format!("requests/{t}.toml");
    fx.edit(&req, |s| {
        s.replace("expires = 2027-01-31", "expires = 2026-11-20")
    });
    fx.assert_fires("L051", &req, 21);
}

#[test]
fn l052_fires_when_terms_not_accepted() {
    let (mut fx, req) = grant(KEY_ED1);
    fx.edit(&req, |s| {
        s.replace("accept-terms = true", "accept-terms = false")
    });
    fx.assert_fires("L052", &req, 22);
    let (mut fx, req) = grant(KEY_ED1);
    fx.edit(&req, |s| s.replace("accept-terms = true\n", ""));
    fx.assert_fires("L052", &req, 17);
}

#[test]
fn l053_fires_on_missing_and_unparsable_keys() {
    let (mut fx, req) = grant("ssh-ed25519 AAAAnotbase64!! x@y");
    fx.assert_fires("L053", &req, 20);
    fx.assert_fires("L053", ACC, 9);
    fx.edit(&req, |s| {
        let start = s.find("key = ").unwrap();
        let end = start + s[start..].find('\n').unwrap() + 1;
        format!("{}{}", &s[..start], &s[end..])
    });
    fx.assert_fires("L053", &req, 17);
    let (fx, _) = grant(KEY_ED2);
    fx.assert_quiet("L053");
    // Two keys on one line, and a key followed by a second line with options.
    let (a, b) = (KEY_ED1.trim(), KEY_ED2.trim());
    for two in [format!("{a} {b}"), format!("{a}\\ncommand=\\\"sh\\\" {b}")] {
        let (fx, req) = grant(&two);
        let d = fx.assert_fires("L053", &req, 20);
        assert!(
            d.primary.message.contains("one key") || d.primary.message.contains("one line"),
            "{two}: {}",
            d.primary.message
        );
    }
}

#[test]
fn l054_fires_on_dsa_ecdsa_and_short_rsa() {
    for weak in [KEY_DSA, KEY_ECDSA, KEY_RSA2048] {
        let (fx, req) = grant(weak);
        fx.assert_fires("L054", &req, 20);
        fx.assert_fires("L054", ACC, 9);
    }
    let (fx, _) = grant(KEY_RSA3072);
    fx.assert_quiet("L054");
    let (fx, _) = grant(KEY_ED3);
    fx.assert_quiet("L054");
}

#[test]
fn l055_fires_when_two_people_hold_one_key() {
    let mut fx = Fixture::kudus();
    let a = fx.server_grant("app-1", "opd-dinkes", KEY_ED1);
    // the same key material under another comment, for another person
    let other = format!(
        "{} someone-else@pc",
        KEY_ED1
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let b = fx.server_grant("db-1", "opd-bpkad", &other);
    // accounts come first, so the second person's request and account are reported
    let d = fx.assert_fires("L055", &format!("requests/{b}.toml"), 20);
    fx.assert_fires("L055", "accounts/server/db-1/opd-bpkad.toml", 9);
    let (inst, _) = fx.check();
    assert_eq!(inst.path(d.secondary[0].file).to_str(), Some(ACC));
    let _ = a;
    // one person, the same key on two servers: fine
    let mut fx = Fixture::kudus();
    fx.server_grant("app-1", "opd-dinkes", KEY_ED1);
    fx.assert_quiet("L055");
}

#[test]
fn l055_blames_what_the_pull_request_adds() {
    // The older holder's account sorts after the new one's: the error must still
    // land on the new grant, with the older holder as the related label.
    let mut fx = Fixture::kudus();
    let a = fx.server_grant("db-1", "opd-bpkad", KEY_ED1);
    fx.freeze_base();
    let other = format!(
        "{} someone-else@pc",
        KEY_ED1
            .split_whitespace()
            .take(2)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let b = fx.server_grant("app-1", "opd-dinkes", &other);
    let d = fx.assert_fires("L055", &format!("requests/{b}.toml"), 20);
    fx.assert_fires("L055", ACC, 9);
    let (inst, report) = fx.check();
    let older = "accounts/server/db-1/opd-bpkad.toml";
    assert_eq!(inst.path(d.secondary[0].file).to_str(), Some(older));
    let on_older = report
        .diagnostics
        .iter()
        .filter(|d| d.code == "L055")
        .any(|d| {
            let p = inst.path(d.primary.file);
            p == std::path::Path::new(older) || p.ends_with(format!("{a}.toml"))
        });
    assert!(!on_older, "L055 blamed the older holder");
}

#[test]
fn l056_fires_on_system_and_malformed_logins() {
    let line_of = |fx: &Fixture, file: &str, needle: &str| {
        let text = &fx.files[file];
        1 + text[..text.find(needle).unwrap()].matches('\n').count()
    };
    for bad in ["root", "opd;reboot", "OPD Dinkes"] {
        let mut fx = Fixture::kudus();
        let t = fx.server_grant("app-1", bad, KEY_ED1);
        let req = format!("requests/{t}.toml");
        let line = line_of(&fx, &req, "account = ");
        let d = fx.assert_fires("L056", &req, line);
        assert!(d.message.contains(bad), "{}", d.message);
        let acc = format!("accounts/server/app-1/{bad}.toml");
        let line = line_of(&fx, &acc, "login = ");
        fx.assert_fires("L056", &acc, line);
    }
    // A server's own reserved names.
    let mut fx = Fixture::kudus();
    fx.edit("loket.toml", |s| {
        s.replacen(
            "max-days = 365",
            "max-days = 365\nreserved-logins = [\"deploy\"]",
            1,
        )
    });
    let t = fx.server_grant("app-1", "deploy", KEY_ED1);
    let req = format!("requests/{t}.toml");
    let line = line_of(&fx, &req, "account = ");
    fx.assert_fires("L056", &req, line);
    let (fx, _) = grant(KEY_ED1);
    fx.assert_quiet("L056");
}
