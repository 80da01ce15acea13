//! Numbers with a documented range are refused out of it, wherever they are read: a
//! share that is NaN, infinite, negative or above 1 would silently switch the
//! mass-removal guard off.
mod common;

use std::process::Output;

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// An instance holding only the bundled loket.toml with `from` replaced by `to`.
fn instance(from: &str, to: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let config = std::fs::read_to_string(common::repo_root().join("loket.toml")).unwrap();
    assert!(config.contains(from));
    std::fs::write(dir.path().join("loket.toml"), config.replacen(from, to, 1)).unwrap();
    dir
}

#[test]
fn a_share_flag_out_of_range_is_refused_before_anything_runs() {
    let dir = instance("", "");
    for bad in ["NaN", "inf", "-0.1", "1.01"] {
        let out = common::loket()
            .arg("-C")
            .arg(dir.path())
            .args(["apply", "--dry-run", &format!("--max-disable-share={bad}")])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{bad}: {}", text(&out));
        assert!(
            text(&out).contains("not a share") || text(&out).contains("not a number"),
            "{}",
            text(&out)
        );
    }
}

#[test]
fn a_share_in_loket_toml_out_of_range_is_a_located_error() {
    for bad in ["nan", "inf", "-0.5", "3"] {
        let dir = instance(
            "max-disable-share = 0.2",
            &format!("max-disable-share = {bad}"),
        );
        let out = common::loket()
            .arg("-C")
            .arg(dir.path())
            .arg("check")
            .output()
            .unwrap();
        let t = text(&out);
        assert_eq!(out.status.code(), Some(1), "{bad}: {t}");
        assert!(
            t.contains("not a share") && t.contains("loket.toml:"),
            "{bad}: {t}"
        );
    }
}
