//! Atom feeds as static files (issue 13, item 6): one per ticket, one per service.
//! Parsed as XML (roxmltree): the Atom namespace, an entry per dated step or event
//! of the ticket's timeline with unique ids and RFC 3339 times, the service feed
//! listing its tickets' latest state, nothing personal, and the ticket feed matching
//! its reviewed snapshot.
mod common;
mod site;

use std::collections::BTreeSet;

const ATOM: &str = "http://www.w3.org/2005/Atom";

fn entries<'a>(doc: &'a roxmltree::Document) -> Vec<roxmltree::Node<'a, 'a>> {
    let feed = doc.root_element();
    assert_eq!(feed.tag_name().namespace(), Some(ATOM));
    assert_eq!(feed.tag_name().name(), "feed");
    for must in ["id", "title", "updated"] {
        assert!(
            feed.children().any(|c| c.has_tag_name((ATOM, must))),
            "feed lacks {must}"
        );
    }
    feed.children()
        .filter(|c| c.has_tag_name((ATOM, "entry")))
        .collect()
}

fn child<'a>(n: roxmltree::Node<'a, 'a>, name: &str) -> String {
    n.children()
        .find(|c| c.has_tag_name((ATOM, name)))
        .and_then(|c| c.text())
        .unwrap_or_default()
        .to_string()
}

#[test]
fn every_ticket_and_service_has_a_valid_feed_without_personal_data() {
    let tmp = tempfile::tempdir().unwrap();
    let inst = site::instance_in(tmp.path());
    let pending = site::write_snapshot(tmp.path());
    let out = tmp.path().join("public");
    site::build(&inst, &out, Some(&pending.path));
    let (waiting, _) = &pending.tickets[0];
    let xml = std::fs::read_to_string(out.join(format!("t/{waiting}/atom.xml"))).unwrap();
    for p in &pending.private {
        assert!(!xml.contains(p.as_str()), "the feed shows {p:?}");
    }
    let doc = roxmltree::Document::parse(&xml).unwrap();
    let list = entries(&doc);
    // One entry per dated line of the ticket's timeline (the JSON has them all).
    let json: serde_json::Value = serde_json::from_slice(
        &std::fs::read(out.join(format!("api/v1/tickets/{waiting}.json"))).unwrap(),
    )
    .unwrap();
    let dated = json["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e.get("when").is_some())
        .count();
    assert!(dated >= 2);
    assert_eq!(list.len(), dated);
    let ids: BTreeSet<String> = list.iter().map(|e| child(*e, "id")).collect();
    assert_eq!(ids.len(), list.len(), "entry ids are unique");
    for e in &list {
        let at = child(*e, "updated");
        assert!(at.parse::<jiff::Timestamp>().is_ok(), "{at}");
    }
    assert!(xml.contains("Kepala Dinas Komunikasi dan Informatika"));

    // The service feed lists the waiting ticket with its state, and every ticket of
    // the service it lists has a page.
    let sop = std::fs::read_to_string(out.join("sop/email/atom.xml")).unwrap();
    let doc = roxmltree::Document::parse(&sop).unwrap();
    let list = entries(&doc);
    assert!(!list.is_empty() && list.len() <= 50);
    let titles: Vec<String> = list.iter().map(|e| child(*e, "title")).collect();
    assert!(
        titles.contains(&format!("{waiting}: menunggu disposisi")),
        "{titles:?}"
    );
    for t in &titles {
        let ticket = t.split(':').next().unwrap();
        assert!(out.join(format!("t/{ticket}/index.html")).is_file(), "{t}");
    }
    let times: Vec<String> = list.iter().map(|e| child(*e, "updated")).collect();
    let mut sorted = times.clone();
    sorted.sort_by(|a, b| {
        let p = |s: &str| s.parse::<jiff::Timestamp>().unwrap();
        p(b).cmp(&p(a))
    });
    assert_eq!(times, sorted, "most recent first");
    for p in &pending.private {
        assert!(!sop.contains(p.as_str()), "the service feed shows {p:?}");
    }

    let snapshot = common::repo_root().join("tests/snapshots/site_feed.xml");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&snapshot, &xml).unwrap();
    }
    let expected = std::fs::read_to_string(&snapshot)
        .expect("no snapshot yet: run with UPDATE_SNAPSHOTS=1 and review it");
    assert!(xml == expected, "the ticket feed changed; review:\n{xml}");
}
