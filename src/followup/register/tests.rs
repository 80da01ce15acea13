use super::*;
use crate::check::testutil::Fixture;

fn processed(dir: &std::path::Path, ticket: &str) {
    std::fs::create_dir_all(dir.join("records")).unwrap();
    std::fs::write(
        dir.join(format!("records/{ticket}.toml")),
        format!("ticket = \"{ticket}\"\noutcome = \"processed\"\n"),
    )
    .unwrap();
}

fn on_disk(fx: &Fixture) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    for (p, t) in &fx.files {
        let at = d.path().join(p);
        std::fs::create_dir_all(at.parent().unwrap()).unwrap();
        std::fs::write(at, t).unwrap();
    }
    d
}

#[test]
fn draft_takes_the_next_number_and_refuses_unprocessed_and_second_letters() {
    let mut fx = Fixture::kudus();
    let a = fx.mail_create("budi.santoso");
    let b = fx.mail_create("siti.aminah");
    let d = on_disk(&fx);
    let day = jiff::civil::date(2026, 12, 3);
    let inst = Instance::load_uncached(d.path()).unwrap();
    let err = draft(&inst, &a, day).unwrap_err().to_string();
    assert!(err.contains("not processed"), "{err}");
    processed(d.path(), &a);
    processed(d.path(), &b);
    let (_, first) = draft(&inst, &a, day).unwrap();
    assert_eq!(first.number.get_ref(), "555/0001/18.03/2026");
    let inst = Instance::load_uncached(d.path()).unwrap();
    let err = draft(&inst, &a, day).unwrap_err().to_string();
    assert!(err.contains("one letter"), "{err}");
    let (_, second) = draft(&inst, &b, day).unwrap();
    assert_eq!(*second.seq.get_ref(), 2);
    assert_eq!(second.number.get_ref(), "555/0002/18.03/2026");
    let inst = Instance::load_uncached(d.path()).unwrap();
    let rows = rows(&inst);
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].ticket, a);
    let text = csv(&rows).unwrap();
    assert!(text.starts_with("year,seq,number,"), "{text}");
    assert!(
        text.contains(&format!("2026,2,555/0002/18.03/2026,2026-12-03,{b}")),
        "{text}"
    );
    // What draft wrote passes the register rule.
    let report = crate::check::run(
        &inst,
        None,
        &crate::check::Options {
            today: day,
            skip: Default::default(),
        },
    );
    assert!(
        !report.diagnostics.iter().any(|d| d.code == "L079"),
        "{:?}",
        report.diagnostics
    );
    assert_eq!(next_seq(&inst, 2027), 1);
}
