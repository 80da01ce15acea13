//! `loket init --preset` through the real binary: each preset makes an instance that
//! `loket check` accepts, and an existing instance is never overwritten.
mod common;

use std::path::Path;
use std::process::Output;

fn ok(out: &Output) -> String {
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    text
}

fn init(preset: &str, dir: &Path) -> Output {
    common::loket()
        .args(["init", "--preset", preset])
        .arg(dir)
        .output()
        .unwrap()
}

#[test]
fn every_preset_inits_and_checks_clean() {
    for preset in ["kudus", "kebumen", "palangka-raya", "lumajang"] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(preset);
        ok(&init(preset, &dir));
        for sub in ["requests", "accounts/mail", "accounts/server", "records"] {
            assert!(dir.join(sub).join(".gitkeep").is_file(), "{preset}: {sub}");
        }
        assert!(dir.join(".gitignore").is_file());
        let text = ok(&common::loket()
            .arg("-C")
            .arg(&dir)
            .arg("check")
            .output()
            .unwrap());
        assert!(text.contains("0 errors"), "{preset}: {text}");
        let config = std::fs::read_to_string(dir.join("loket.toml")).unwrap();
        let expected = std::fs::read_to_string(
            common::repo_root()
                .join("presets")
                .join(format!("{preset}.toml")),
        )
        .unwrap();
        // The embedded preset is the file, but for the office's own admin key.
        let mut written: toml::Table = toml::from_str(&config).unwrap();
        let mut expected: toml::Table = toml::from_str(&expected).unwrap();
        let backends = written["backends"].as_table_mut().unwrap();
        let key = backends.remove("admin-recipient").unwrap();
        assert!(key.as_str().unwrap().starts_with("age1"), "{preset}: {key}");
        assert!(dir.join("admin-identity.key").is_file(), "{preset}");
        if let Some(b) = expected.get_mut("backends") {
            b.as_table_mut().unwrap().remove("admin-recipient");
        } else {
            assert!(backends.is_empty(), "{preset}: {backends:?}");
            written.remove("backends");
        }
        assert_eq!(written, expected, "{preset}");
    }
}

#[test]
fn refuses_to_overwrite_an_existing_instance() {
    let tmp = tempfile::tempdir().unwrap();
    ok(&init("kebumen", tmp.path()));
    std::fs::write(tmp.path().join("requests/keep.txt"), "mine").unwrap();
    let out = init("lumajang", tmp.path());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("already holds a loket instance"), "{err}");
    let config = std::fs::read_to_string(tmp.path().join("loket.toml")).unwrap();
    assert!(config.contains("kebumenkab.go.id"));
    assert!(tmp.path().join("requests/keep.txt").is_file());

    // a lone requests/ folder is enough to refuse
    let tmp = tempfile::tempdir().unwrap();
    std::fs::create_dir(tmp.path().join("requests")).unwrap();
    let out = init("kudus", tmp.path());
    assert_eq!(out.status.code(), Some(2));
    assert!(!tmp.path().join("loket.toml").exists());
}

#[test]
fn unknown_preset_is_a_usage_error_listing_the_choices() {
    let tmp = tempfile::tempdir().unwrap();
    let out = init("jakarta", tmp.path());
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("palangka-raya"), "{err}");
    let list = ok(&common::loket().args(["init", "--list"]).output().unwrap());
    for id in ["kudus", "kebumen", "palangka-raya", "lumajang"] {
        assert!(list.contains(id), "{list}");
    }
}

/// The pin in the bundled instance's workflows.
fn bundled_pin(dir: &str) -> (String, String) {
    let text = std::fs::read_to_string(common::repo_root().join(dir).join("apply.yml")).unwrap();
    let value = |key: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(&format!("{key}: ")))
            .unwrap_or_else(|| panic!("{dir}/apply.yml has no {key}"))
            .trim_matches('"')
            .to_string()
    };
    (value("LOKET_SHA256"), value("LOKET_RELEASE_URL"))
}

/// The bundled Kudus instance's workflows are exactly what `init` writes, for
/// both forges: `loket workflows --check` with the bundled pin passes, and a
/// changed workflow is caught.
#[test]
fn the_bundled_workflows_are_what_init_writes() {
    for (forge, dir) in [
        ("github", ".github/workflows"),
        ("forgejo", ".forgejo/workflows"),
    ] {
        let (sha, url) = bundled_pin(dir);
        let check = |root: &Path| {
            common::loket()
                .arg("-C")
                .arg(root)
                .args(["workflows", "--check", "--forge", forge])
                .args(["--release-sha256", &sha, "--release-url", &url])
                .output()
                .unwrap()
        };
        ok(&check(&common::repo_root()));
        // A copy with one step changed is not what init writes.
        let tmp = tempfile::tempdir().unwrap();
        let copy = tmp.path().join(dir);
        std::fs::create_dir_all(&copy).unwrap();
        for e in std::fs::read_dir(common::repo_root().join(dir)).unwrap() {
            let e = e.unwrap();
            std::fs::copy(e.path(), copy.join(e.file_name())).unwrap();
        }
        let review = copy.join("review.yml");
        let text = std::fs::read_to_string(&review).unwrap();
        std::fs::write(&review, text.replace("sha256sum --check", "true ||")).unwrap();
        let out = check(tmp.path());
        assert_eq!(out.status.code(), Some(1), "{forge}");
        let said = String::from_utf8_lossy(&out.stdout);
        assert!(said.contains("review.yml: differs"), "{said}");
    }
}

/// `init --forge forgejo` writes the Forgejo workflows, pinned to the given release.
#[test]
fn init_writes_the_chosen_forges_workflows() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("office");
    let sha = "ab".repeat(32);
    let text = ok(&common::loket()
        .args(["init", "--preset", "palangka-raya", "--forge", "forgejo"])
        .args([
            "--release-sha256",
            &sha,
            "--release-url",
            "https://git.example.go.id/rel",
        ])
        .arg(&dir)
        .output()
        .unwrap());
    assert!(text.contains(".forgejo/workflows"), "{text}");
    for name in ["check", "review", "apply", "site", "expiry", "remind"] {
        let w =
            std::fs::read_to_string(dir.join(format!(".forgejo/workflows/{name}.yml"))).unwrap();
        assert!(
            w.contains(&sha) && w.contains("https://git.example.go.id/rel"),
            "{name}"
        );
    }
    assert!(!dir.join(".github").exists());
    // A bad pin is refused before anything is written.
    let other = tmp.path().join("other");
    let out = common::loket()
        .args(["init", "--preset", "kudus", "--release-sha256", "abc"])
        .arg(&other)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stderr).contains("64 hexadecimal"));
    assert!(!other.join("loket.toml").exists());
}
