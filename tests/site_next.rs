//! The ticket page tells the applicant what happens next (issue 13, item 6): for a
//! waiting ticket the pending step, the role that acts, its standard time and when it
//! is expected (in working time); a returned ticket says "dikembalikan untuk
//! perbaikan", a fresh one "belum diproses". The sections match their reviewed
//! snapshot and carry nothing personal.
mod common;
mod site;

use std::path::PathBuf;

fn snapshot_path() -> PathBuf {
    common::repo_root().join("tests/snapshots/site_next.html")
}

/// The "what happens next" section of a ticket page.
fn section(html: &str) -> Option<&str> {
    let start = html.find("<section class=\"next")?;
    let end = html[start..].find("</section>")? + start + "</section>".len();
    Some(&html[start..end])
}

#[test]
fn waiting_and_returned_tickets_say_what_happens_next() {
    let tmp = tempfile::tempdir().unwrap();
    let inst = site::instance_in(tmp.path());
    let pending = site::write_snapshot(tmp.path());
    let out = tmp.path().join("public");
    site::build(&inst, &out, Some(&pending.path));
    let page =
        |ticket: &str| std::fs::read_to_string(out.join(format!("t/{ticket}/index.html"))).unwrap();
    let mut got = String::new();
    for (ticket, _) in &pending.tickets {
        let html = page(ticket);
        for p in &pending.private {
            assert!(!html.contains(p.as_str()), "{ticket} shows {p:?}");
        }
        got.push_str(&format!("<!-- {ticket} -->\n"));
        got.push_str(section(&html).unwrap_or("(none)"));
        got.push('\n');
    }
    let (waiting, returned, refused) = (
        &pending.tickets[0].0,
        &pending.tickets[1].0,
        &pending.tickets[2].0,
    );
    let waiting = page(waiting);
    let s = section(&waiting).expect("a waiting ticket says what is next");
    for must in [
        "Sedang diproses",
        "Kepala Bidang Informatika",
        "Diperkirakan selesai",
    ] {
        assert!(s.contains(must), "{must:?} missing:\n{s}");
    }
    let returned = page(returned);
    assert!(
        section(&returned)
            .unwrap()
            .contains("Dikembalikan untuk perbaikan")
    );
    assert!(
        section(&page(refused)).is_none(),
        "a refused ticket waits on no one"
    );
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(snapshot_path(), &got).unwrap();
    }
    let expected = std::fs::read_to_string(snapshot_path())
        .expect("no snapshot yet: run with UPDATE_SNAPSHOTS=1 and review it");
    assert!(
        got == expected,
        "the next-step sections changed; review and run with UPDATE_SNAPSHOTS=1:\n{got}"
    );
}
