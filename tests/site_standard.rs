//! One standard time per SOP (issue 13, item 7): the home page, the SOP pages, the
//! ticket pages, the statistics pages and every JSON document give the same total
//! for an SOP and say which steps it counts.
mod common;
mod site;

use std::path::Path;

use loket::model::Instance;
use loket::site::standard;
use loket::site::text::Lang;

fn json(path: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

fn html(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn every_page_and_the_json_agree_on_each_sops_standard() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("public");
    let root = common::repo_root();
    site::build(&root, &out, None);
    let inst = Instance::load(&root).unwrap();
    let config = inst.config.as_ref().unwrap();
    let home = html(&out.join("index.html"));
    let stats_page = html(&out.join("statistik/index.html"));
    let sops = json(&out.join("api/v1/sops.json"));
    let stats = json(&out.join("api/v1/stats.json"));
    let mut ticket_totals = 0;
    for (id, sop) in &config.sops {
        let std = standard::of(sop, Lang::Id).unwrap();
        let shown = format!("{} ({})", std.text, std.scope);
        assert!(home.contains(&shown), "home page lacks {shown:?} for {id}");
        let page = html(&out.join(format!("sop/{id}/index.html")));
        assert!(page.contains(&shown), "SOP page {id} lacks {shown:?}");
        let entry = sops
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["id"] == id.as_str())
            .unwrap();
        assert_eq!(entry["standard_minutes"], std.minutes, "{id}");
        assert_eq!(entry["standard_scope"], std.scope.as_str(), "{id}");
        for kind in &sop.kinds {
            let kind = kind.get_ref().as_str();
            for g in stats
                .as_array()
                .unwrap()
                .iter()
                .filter(|g| g["kind"] == kind)
            {
                assert_eq!(g["standard_scope"], std.scope.as_str());
                if let Some(t) = g.get("total") {
                    assert_eq!(t["standard_minutes"], std.minutes, "stats {kind}");
                }
            }
            if stats.as_array().unwrap().iter().any(|g| g["kind"] == kind) {
                assert!(stats_page.contains(&shown), "statistics lack {shown:?}");
                let per_step = html(&out.join(format!("statistik/{kind}/index.html")));
                assert!(per_step.contains(&shown), "statistics of {kind}");
            }
        }
        for e in std::fs::read_dir(out.join("api/v1/tickets")).unwrap() {
            let t = json(&e.unwrap().path());
            if t["sop"] != id.as_str() {
                continue;
            }
            let Some(total) = t.get("total") else {
                continue;
            };
            ticket_totals += 1;
            assert_eq!(total["standard_minutes"], std.minutes, "{}", t["ticket"]);
            assert_eq!(total["standard_scope"], std.scope.as_str());
            let ticket = t["ticket"].as_str().unwrap();
            let page = html(&out.join(format!("t/{ticket}/index.html")));
            let words = format!("waktu baku {}, {}", std.text, std.scope);
            assert!(page.contains(&words), "{ticket} lacks {words:?}");
        }
    }
    // The case: the Kudus mail SOP is one hour everywhere, not 1 h 10 min.
    assert!(home.contains("1 jam (langkah 2–5; tanpa langkah pemohon (1))"));
    assert!(!home.contains("1 jam 10 menit"));
    assert!(
        ticket_totals > 5,
        "too few processed tickets: {ticket_totals}"
    );
}
