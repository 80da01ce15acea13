//! The rendered site in real headless Chromium (Debian `chromium`, driven by
//! playwright-core from `tests/browser/run.mjs`): ticket lookup with and without
//! JavaScript, the check character as one types, axe-core WCAG 2.1 AA on home, a
//! ticket page and the statistics, screenshots at desktop and phone width under
//! `target/browser-screenshots/`.
mod common;
mod site;

use std::process::Command;

#[test]
fn lookup_status_and_accessibility_in_chromium() {
    let Some(_chromium) = common::require_binary("chromium", &["/usr/bin/chromium", "chromium"])
    else {
        return;
    };
    let Some(node) = common::require_binary("node", &["node"]) else {
        return;
    };
    let browser_dir = common::repo_root().join("tests/browser");
    if !browser_dir.join("node_modules/playwright-core").is_dir()
        || !browser_dir.join("node_modules/axe-core").is_dir()
    {
        let msg = "tests/browser/node_modules missing; run `bash scripts/install-test-deps.sh`";
        assert!(!common::in_ci(), "{msg}");
        eprintln!("SKIPPED: {msg}");
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let pending = site::write_snapshot(tmp.path());
    let out = tmp.path().join("public");
    site::build(&common::repo_root(), &out, Some(&pending.path));

    let mut lookups = vec![serde_json::json!({
        "ticket": "KDS-24WBW-PV52C", "status": "telah diproses"
    })];
    for (ticket, status) in &pending.tickets {
        lookups.push(serde_json::json!({ "ticket": ticket, "status": status }));
    }
    let cases = serde_json::json!({ "lookups": lookups }).to_string();
    let shots = common::repo_root().join("target/browser-screenshots");
    // No stale pictures from an earlier run may pass for this run's.
    let _ = std::fs::remove_dir_all(&shots);
    let o = Command::new(node)
        .current_dir(&browser_dir)
        .arg("run.mjs")
        .arg(&out)
        .arg(&shots)
        .arg(&cases)
        .output()
        .unwrap();
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(o.status.success(), "browser checks failed:\n{log}");
    assert!(log.contains("all browser checks passed"), "{log}");
    for name in [
        "home-desktop",
        "home-phone",
        "ticket-desktop",
        "ticket-phone",
    ] {
        let png = std::fs::read(shots.join(format!("{name}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{name}.png");
    }
}
