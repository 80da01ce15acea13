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

/// The preset with `extra` (delegations) appended.
fn with_delegations(extra: &str) -> Fixture {
    let mut fx = Fixture::kudus();
    fx.edit("loket.toml", |s| format!("{s}\n{extra}"));
    fx
}

const PLH: &str = r#"[[delegations]]
role = "kepala-dinas"
login = "sekdin-kominfo-kudus"
kind = "plh"
from = 2026-11-23
until = 2026-11-27
decree = "800/117/18.03/2026"
name = "Drs. Sutrisno, M.Si."
"#;

#[test]
fn a_delegation_in_force_passes_l068_and_l069() {
    let fx = with_delegations(PLH);
    fx.assert_clean();
    fx.assert_quiet("L068");
    fx.assert_quiet("L069");
    // A later one for the same role, after the first ends, is fine too.
    let next = PLH
        .replace("2026-11-23", "2026-11-28")
        .replace("2026-11-27", "2026-12-20");
    with_delegations(&format!("{PLH}\n{next}")).assert_quiet("L069");
}

#[test]
fn l068_fires_on_an_unknown_role_a_holder_and_no_decree() {
    let line = |fx: &Fixture, needle: &str| line_of(&fx.files["loket.toml"], needle);
    let fx = with_delegations(&PLH.replace("\"kepala-dinas\"", "\"bupati\""));
    fx.assert_fires("L068", "loket.toml", line(&fx, "role = \"bupati\""));
    let fx = with_delegations(&PLH.replace("sekdin-kominfo-kudus", "Kadis-Kominfo-Kudus"));
    let d = fx.assert_fires(
        "L068",
        "loket.toml",
        line(&fx, "login = \"Kadis-Kominfo-Kudus\""),
    );
    assert_eq!(d.secondary.len(), 1, "points at the holder too");
    let fx = with_delegations(&PLH.replace("\"800/117/18.03/2026\"", "\" \""));
    fx.assert_fires("L068", "loket.toml", line(&fx, "decree = \" \""));
}

#[test]
fn l069_fires_on_an_inverted_window_an_overlap_a_bare_time_and_warns_when_ended() {
    let line = |fx: &Fixture, needle: &str| line_of(&fx.files["loket.toml"], needle);
    let fx = with_delegations(&PLH.replace("until = 2026-11-27", "until = 2026-11-22"));
    fx.assert_fires("L069", "loket.toml", line(&fx, "until = 2026-11-22"));
    let fx = with_delegations(&PLH.replace("from = 2026-11-23", "from = 08:00:00"));
    fx.assert_fires("L069", "loket.toml", line(&fx, "from = 08:00:00"));
    // A Plt from the last day of the Plh's window: both in force that day.
    let plt = PLH
        .replace("sekdin-kominfo-kudus", "kabid-informatika-kudus")
        .replace("\"plh\"", "\"plt\"")
        .replace("from = 2026-11-23", "from = 2026-11-27")
        .replace("until = 2026-11-27", "until = 2026-12-31");
    let fx = with_delegations(&format!("{PLH}\n{plt}"));
    let d = fx.assert_fires("L069", "loket.toml", line(&fx, "from = 2026-11-27"));
    assert_eq!(d.secondary.len(), 1);
    // Another role in the same days: no overlap.
    let other = plt.replace("\"kepala-dinas\"", "\"kepala-seksi\"");
    with_delegations(&format!("{PLH}\n{other}")).assert_quiet("L069");
    // Ended before today: a warning, not an error.
    let fx = with_delegations(
        &PLH.replace("2026-11-23", "2026-01-05")
            .replace("2026-11-27", "2026-01-09"),
    );
    let d = fx.assert_fires("L069", "loket.toml", line(&fx, "until = 2026-01-09"));
    assert_eq!(d.severity, crate::diag::Severity::Warning);
    fx.assert_clean();
}

#[test]
fn l090_fires_on_bad_office_hours() {
    fires(
        "L090",
        "friday = [\"07:30-11:00\"]",
        "friday = [\"7:30-11\"]",
    );
    fires(
        "L090",
        "friday = [\"07:30-11:00\"]",
        "friday = [\"11:00-07:30\"]",
    );
    let (fx, line) = cfg_at(
        "friday = [\"07:30-11:00\"]",
        "friday = [\"07:30-11:00\", \"10:00-12:00\"]",
        "\"10:00",
    );
    fx.assert_fires("L090", "loket.toml", line);
    // Every day closed: reported on the table.
    let mut fx = Fixture::kudus();
    fx.edit("loket.toml", |s| {
        let start = s.find("[office.hours]\n").unwrap() + "[office.hours]\n".len();
        let end = s[start..].find("\n\n").unwrap() + start;
        format!("{}{}", &s[..start], &s[end..])
    });
    let line = line_of(&fx.files["loket.toml"], "[office.hours]");
    let d = fx.assert_fires("L090", "loket.toml", line);
    assert!(d.message.contains("no day"), "{}", d.message);
}

#[test]
fn l090_fires_on_bad_and_repeated_holidays() {
    fires("L090", "\"2026-08-17\", #", "\"2026-17-08\", #");
    let (fx, line) = cfg_at("\"2026-08-25\", #", "\"2026-08-17\", #", "\"2026-08-17\"");
    let d = fx.assert_fires("L090", "loket.toml", line);
    assert_eq!(d.severity, crate::diag::Severity::Warning);
    assert_eq!(d.secondary.len(), 1);
}

#[test]
fn l091_fires_on_bad_escalation_and_reports_to() {
    for bad in ["1.0", "0.5", "-2.0", "inf", "nan"] {
        fires(
            "L091",
            "escalate-after = 2.0",
            &format!("escalate-after = {bad}"),
        );
    }
    fires(
        "L091",
        "reports-to = \"kepala-dinas\"",
        "reports-to = \"bupati\"",
    );
    fires(
        "L091",
        "reports-to = \"kepala-dinas\"",
        "reports-to = \"kepala-bidang\"",
    );
    // kepala-dinas -> kepala-seksi -> kepala-bidang -> kepala-dinas.
    let (fx, _) = cfg_at(
        "logins = [\"kadis-kominfo-kudus\"]\n",
        "logins = [\"kadis-kominfo-kudus\"]\nreports-to = \"kepala-seksi\"\n",
        "reports-to",
    );
    let (_, report) = fx.check();
    let loops = report
        .diagnostics
        .iter()
        .filter(|d| d.code == "L091" && d.message.contains("comes back"))
        .count();
    assert_eq!(loops, 3, "each role of the loop is named");
}

#[test]
fn l080_fires_on_an_official_without_name_or_with_a_bad_nip() {
    let role = "title = \"Kepala Dinas Komunikasi dan Informatika\"";
    let with = |extra: &str, needle: &str| {
        let (fx, line) = cfg_at(role, &format!("{role}\n{extra}"), needle);
        fx.assert_fires("L080", "loket.toml", line)
    };
    with("official-nip = \"197203151998031004\"", "official-nip");
    with("official-name = \" \"", "official-name");
    let d = with(
        "official-name = \"Drs. A\"\nofficial-nip = \"1972\"",
        "official-nip",
    );
    assert!(d.message.contains("18 digits"), "{}", d.message);
    let (fx, _) = cfg_at(
        role,
        &format!(
            "{role}\nofficial-name = \"Drs. A\"\nofficial-rank = \"Pembina (IV/a)\"\nofficial-nip = \"197203151998031004\""
        ),
        "title",
    );
    fx.assert_quiet("L080");
}

#[test]
fn l081_fires_on_an_emblem_outside_missing_or_of_another_type() {
    let tz = "time-zone = \"WIB\"";
    for bad in [
        "../lambang.png",
        "/etc/lambang.png",
        "assets/lambang.gif",
        "assets/no-such-emblem.png",
    ] {
        let d = fires("L081", tz, &format!("emblem = \"{bad}\"\n{tz}"));
        assert!(d.message.contains(bad), "{}", d.message);
    }
    let mut fx = Fixture::kudus();
    fx.edit("loket.toml", |s| {
        s.replacen(tz, &format!("emblem = \"assets/lambang.png\"\n{tz}"), 1)
    });
    fx.node("assets/lambang.png", Node::Link("/etc/hostname".into()));
    let d = fx.assert_fires("L081", "loket.toml", 0);
    assert!(d.message.contains("not a regular file"), "{}", d.message);
}
