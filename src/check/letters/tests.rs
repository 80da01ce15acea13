use crate::check::testutil::Fixture;

fn letter(ticket: &str, seq: u32, year: i16) -> String {
    format!(
        "ticket = \"{ticket}\"\nnumber = \"555/{seq:04}/18.03/{year}\"\nseq = {seq}\ndate = \"{year}-11-20\"\nsigner-role = \"kepala-dinas\"\nrequest-letter = \"800/12/2026\"\nrequest-letter-date = \"2026-11-02\"\n"
    )
}

fn two_tickets() -> (Fixture, String, String) {
    let mut fx = Fixture::kudus();
    let a = fx.mail_create("budi.santoso");
    let b = fx.mail_create("siti.aminah");
    (fx, a, b)
}

#[test]
fn a_register_running_one_two_per_year_is_clean() {
    let (mut fx, a, b) = two_tickets();
    fx.write(&format!("letters/{a}.toml"), &letter(&a, 1, 2026));
    fx.write(&format!("letters/{b}.toml"), &letter(&b, 1, 2027));
    fx.assert_clean();
}

#[test]
fn a_duplicate_number_fires() {
    let (mut fx, a, b) = two_tickets();
    fx.write(&format!("letters/{a}.toml"), &letter(&a, 1, 2026));
    fx.write(&format!("letters/{b}.toml"), &letter(&b, 1, 2026));
    let (_, report) = fx.check();
    assert!(
        report
            .diagnostics
            .iter()
            .any(|d| d.code == "L079" && d.message.contains("taken twice")),
        "{:?}",
        report.diagnostics
    );
}

#[test]
fn a_gap_fires() {
    let (mut fx, a, b) = two_tickets();
    fx.write(&format!("letters/{a}.toml"), &letter(&a, 1, 2026));
    fx.write(&format!("letters/{b}.toml"), &letter(&b, 3, 2026));
    let path = format!("letters/{b}.toml");
    let d = fx.assert_fires("L079", &path, 3);
    assert!(d.message.contains("no gaps"), "{}", d.message);
}

#[test]
fn a_number_off_the_format_or_another_ticket_fires() {
    let (mut fx, a, b) = two_tickets();
    let wrong = letter(&a, 1, 2026).replace("555/0001/18.03/2026", "555/1/18.03/2026");
    fx.write(&format!("letters/{a}.toml"), &wrong);
    fx.assert_fires("L079", &format!("letters/{a}.toml"), 2);
    let mut fx2 = two_tickets().0;
    fx2.write(&format!("letters/{b}.toml"), &letter(&a, 1, 2026));
    fx2.assert_fires("L079", &format!("letters/{b}.toml"), 1);
}

#[test]
fn with_a_base_the_new_letter_takes_the_next_number_and_old_ones_stay() {
    let (mut fx, a, b) = two_tickets();
    fx.write(&format!("letters/{a}.toml"), &letter(&a, 1, 2026));
    fx.freeze_base();
    fx.write(&format!("letters/{b}.toml"), &letter(&b, 2, 2026));
    fx.assert_clean();
    // The base's number again: a duplicate, and not after the base's last.
    fx.write(&format!("letters/{b}.toml"), &letter(&b, 1, 2026));
    let d = fx.assert_fires("L079", &format!("letters/{b}.toml"), 3);
    assert!(
        d.message.contains("taken twice") || d.message.contains("base"),
        "{}",
        d.message
    );
    // A merged letter edited.
    fx.write(&format!("letters/{b}.toml"), &letter(&b, 2, 2026));
    fx.edit(&format!("letters/{a}.toml"), |t| {
        t.replace("11-20", "11-21")
    });
    let d = fx.assert_fires("L079", &format!("letters/{a}.toml"), 2);
    assert!(d.message.contains("never changes"), "{}", d.message);
}

#[test]
fn config_notify_is_retired_and_follow_up_steps_need_letters() {
    let mut fx = Fixture::kudus();
    fx.edit("loket.toml", |t| {
        t.replacen("done-by = \"receipt\"", "done-by = \"notify\"", 1)
    });
    let d = fx.assert_fires("L082", "loket.toml", 0);
    assert!(d.message.contains("notify"), "{}", d.message);
    let mut fx = Fixture::kudus();
    fx.edit("loket.toml", |t| {
        // [letters] is the file's last table.
        let start = t.find("\n[letters]").unwrap();
        t[..start].to_string()
    });
    let d = fx.assert_fires("L082", "loket.toml", 0);
    assert!(d.message.contains("no [letters]"), "{}", d.message);
}

#[test]
fn config_bad_format_and_unknown_roles_fire() {
    let mut fx = Fixture::kudus();
    fx.edit("loket.toml", |t| {
        t.replace("555/{seq:04}/18.03/{year}", "555/{nomor}/{year}")
            .replace(
                "witness-role = \"kepala-seksi\"",
                "witness-role = \"saksi\"",
            )
    });
    let (_, report) = fx.check();
    let msgs: Vec<_> = report
        .diagnostics
        .iter()
        .filter(|d| d.code == "L082")
        .map(|d| d.message.clone())
        .collect();
    assert!(msgs.iter().any(|m| m.contains("number-format")), "{msgs:?}");
    assert!(msgs.iter().any(|m| m.contains("'saksi'")), "{msgs:?}");
}
