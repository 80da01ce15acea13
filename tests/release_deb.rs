//! The release as an office receives it (issue 14, item 2): `scripts/build-release.sh`
//! packages this build of loket as the release binary, a Debian package made by
//! cargo-deb and SHA256SUMS; the package is installed with `dpkg -i` into a temp
//! root, and from there `loket --version` runs, `man loket` and the per-command man
//! pages open, the completions are in place, and `loket init` pins the checksum of
//! the very asset the workflows download.
//!
//! cargo-deb comes from `scripts/install-test-deps.sh` (a pinned version). With
//! CI=true a missing cargo-deb, dpkg or man fails the test; elsewhere it is skipped
//! with a note.
mod common;

use std::path::Path;
use std::process::{Command, Output};

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(out.status.success(), "{cmd:?}:\n{}", text(&out));
    text(&out)
}

/// Whether every tool the test needs answers; in CI a missing one fails.
fn tools_present() -> bool {
    let missing: Vec<&str> = [
        ("cargo-deb", "cargo", &["deb", "--version"][..]),
        ("dpkg", "dpkg", &["--version"][..]),
        ("man", "man", &["--version"][..]),
    ]
    .into_iter()
    .filter(|(_, tool, args)| {
        !Command::new(tool)
            .args(*args)
            .output()
            .is_ok_and(|o| o.status.success())
    })
    .map(|(name, _, _)| name)
    .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        !common::in_ci(),
        "missing {missing:?}: run scripts/install-test-deps.sh"
    );
    eprintln!("skipped: missing {missing:?} (scripts/install-test-deps.sh installs them)");
    false
}

fn sha256(path: &Path) -> String {
    use sha2::Digest;
    format!("{:x}", sha2::Sha256::digest(std::fs::read(path).unwrap()))
}

#[test]
fn the_deb_installs_and_its_loket_runs_with_man_pages_and_pins_itself() {
    if !tools_present() {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let dist = tmp.path().join("dist");
    run(Command::new("bash")
        .arg(common::repo_root().join("scripts/build-release.sh"))
        .env("LOKET_BIN", env!("CARGO_BIN_EXE_loket"))
        .env("DIST", &dist));
    let sums = std::fs::read_to_string(dist.join("SHA256SUMS")).unwrap();
    run(Command::new("sha256sum")
        .args(["--check", "--strict", "SHA256SUMS"])
        .current_dir(&dist));
    let deb = std::fs::read_dir(&dist)
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .expect("a .deb in dist/");

    // dpkg -i into an empty root with its own database.
    let root = tmp.path().join("root");
    for d in [
        "var/lib/dpkg/info",
        "var/lib/dpkg/updates",
        "var/lib/dpkg/triggers",
    ] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::write(root.join("var/lib/dpkg/status"), "").unwrap();
    run(Command::new("dpkg")
        .arg(format!("--root={}", root.display()))
        .args([
            "--force-not-root",
            "--force-depends",
            "--force-script-chrootless",
        ])
        .args(["--log=/dev/null", "-i"])
        .arg(&deb));
    let status = std::fs::read_to_string(root.join("var/lib/dpkg/status")).unwrap();
    assert!(
        status.contains("Package: loket") && status.contains("Status: install ok installed"),
        "{status}"
    );

    let loket = root.join("usr/bin/loket");
    let version = run(Command::new(&loket).arg("--version"));
    assert_eq!(
        version.trim(),
        format!("loket {}", env!("CARGO_PKG_VERSION"))
    );
    // The package's binary is the release asset, byte for byte.
    let asset = sha256(&dist.join("loket-x86_64-linux"));
    assert_eq!(sha256(&loket), asset);
    assert!(
        sums.contains(&format!("{asset}  loket-x86_64-linux")),
        "{sums}"
    );

    // man finds the pages in the installed tree, one per command.
    let man = root.join("usr/share/man");
    for (page, says) in [
        ("loket", "loket-apply"),
        ("loket-apply", "approvals"),
        ("loket-init", "--forge"),
    ] {
        let out = run(Command::new("man")
            .env("MANPAGER", "cat")
            .env("MANWIDTH", "100")
            .arg("-M")
            .arg(&man)
            .arg(page));
        assert!(out.contains(says), "man {page}:\n{out}");
    }
    for f in [
        "usr/share/bash-completion/completions/loket",
        "usr/share/zsh/vendor-completions/_loket",
        "usr/share/fish/vendor_completions.d/loket.fish",
        "usr/share/doc/loket/README.md",
        "usr/share/doc/loket/adopt.md",
    ] {
        assert!(root.join(f).is_file(), "{f} not installed");
    }

    // `loket init` from the installed binary pins the asset's checksum.
    let office = tmp.path().join("office");
    run(Command::new(&loket)
        .args(["init", "--preset", "kebumen"])
        .arg(&office));
    let apply = std::fs::read_to_string(office.join(".github/workflows/apply.yml")).unwrap();
    assert!(
        apply.contains(&format!("LOKET_SHA256: \"{asset}\"")),
        "{apply}"
    );
}
