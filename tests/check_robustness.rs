//! No input makes `loket check` panic, and broken input always yields a diagnostic:
//! the bundled instance with one file truncated, overwritten with random bytes,
//! given wrong types or huge values, run through the library's check entry point.
mod common;

use std::path::Path;

use jiff::civil::date;
use loket::check::{self, Options};
use loket::model::Instance;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

fn bundled() -> Vec<(String, String)> {
    let root = common::repo_root();
    let mut files = vec![(
        "loket.toml".to_string(),
        std::fs::read_to_string(root.join("loket.toml")).unwrap(),
    )];
    for sub in ["requests", "accounts"] {
        for e in walkdir::WalkDir::new(root.join(sub)).sort_by_file_name() {
            let e = e.unwrap();
            if e.file_type().is_file() {
                let rel = e.path().strip_prefix(&root).unwrap();
                files.push((
                    rel.to_string_lossy().replace('\\', "/"),
                    std::fs::read_to_string(e.path()).unwrap(),
                ));
            }
        }
    }
    files
}

/// Runs every rule on `files` and returns how many diagnostics there were.
fn run(files: Vec<(String, String)>) -> usize {
    let inst = Instance::from_files(Path::new("."), files);
    let opts = Options {
        today: date(2026, 11, 24),
        skip: Default::default(),
    };
    let report = check::run(&inst, None, &opts);
    // Rendering must not panic either (spans inside files, on char boundaries).
    let _ = loket::diag::render_human(&inst.sources, &report.diagnostics);
    for d in &report.diagnostics {
        let _ = d.to_json(&inst.sources);
    }
    let _ = loket::diag::render_github(&inst.sources, &report.diagnostics);
    report.diagnostics.len()
}

fn with(files: &[(String, String)], i: usize, text: String) -> Vec<(String, String)> {
    let mut f = files.to_vec();
    f[i].1 = text;
    f
}

#[test]
fn bundled_instance_is_clean_in_process() {
    assert_eq!(run(bundled()), 0);
}

#[test]
fn truncated_files_always_give_a_diagnostic() {
    let files = bundled();
    // one file of each place: config, a request, a mail and a server account
    let picks: Vec<usize> = [
        "loket.toml",
        "requests/",
        "accounts/mail/",
        "accounts/server/",
    ]
    .iter()
    .map(|p| files.iter().position(|(f, _)| f.starts_with(p)).unwrap())
    .collect();
    for i in picks {
        let text = &files[i].1;
        let body = text.trim_end().len();
        // every cut strictly inside the content, on a char boundary
        for cut in (1..body).filter(|c| text.is_char_boundary(*c)).step_by(7) {
            let n = run(with(&files, i, text[..cut].to_string()));
            // A config cut between two SOP steps is a shorter, valid config; a data
            // file cut anywhere loses something a rule needs.
            if i != 0 {
                assert!(n > 0, "{} cut at {cut} gave no diagnostic", files[i].0);
            }
        }
    }
}

#[test]
fn random_bytes_never_panic_and_are_reported() {
    let files = bundled();
    let mut rng = StdRng::seed_from_u64(7);
    for round in 0..150 {
        let i = rng.random_range(0..files.len());
        let len = rng.random_range(1..400);
        let bytes: Vec<u8> = (0..len).map(|_| rng.random::<u8>()).collect();
        let text = String::from_utf8_lossy(&bytes).into_owned();
        let n = run(with(&files, i, text));
        assert!(
            n > 0,
            "round {round}: garbage in {} gave no diagnostic",
            files[i].0
        );
    }
}

#[test]
fn byte_flips_never_panic() {
    let files = bundled();
    let mut rng = StdRng::seed_from_u64(11);
    for _ in 0..300 {
        let i = rng.random_range(0..files.len());
        let mut bytes = files[i].1.clone().into_bytes();
        for _ in 0..rng.random_range(1..4) {
            let at = rng.random_range(0..bytes.len());
            bytes[at] = rng.random::<u8>();
        }
        run(with(
            &files,
            i,
            String::from_utf8_lossy(&bytes).into_owned(),
        ));
    }
}

#[test]
fn wrong_types_and_huge_values_are_reported() {
    let files = bundled();
    let req = files
        .iter()
        .position(|(f, _)| f.starts_with("requests/"))
        .unwrap();
    let cfg = 0;
    let text = &files[req].1;
    let cases = [
        text.replacen("kind = \"", "kind = 7 # \"", 1),
        text.replacen("submitted = ", "submitted = \"yesterday\" # ", 1),
        text.replacen("nip = \"", "nip = \"9999999999999999999999999999", 1),
        text.replacen("name = \"", &format!("name = \"{}", "x".repeat(200_000)), 1),
        text.replacen("[applicant]", "[applicant]\n[applicant]", 1),
        format!(
            "{text}\n[mail]\naddress = \"{}@kuduskab.go.id\"\n",
            "a".repeat(100_000)
        ),
        text.replacen('=', ":", 3),
        "ticket = []\n".repeat(1000),
        "[[".repeat(5000),
    ];
    for (k, t) in cases.into_iter().enumerate() {
        assert!(run(with(&files, req, t)) > 0, "case {k}");
    }
    let c = &files[cfg].1;
    let cases = [
        c.replacen("max-days = 90", "max-days = 99999999999999999999", 1),
        c.replacen("max-days = 90", "max-days = -1", 1),
        c.replacen("time-zone = \"WIB\"", "time-zone = \"UTC\"", 1),
        c.replacen("local-part-pattern = \"", "local-part-pattern = \"(((", 1),
        c.replacen("[[servers]]", "servers = 3\n[[servers]]", 1),
        String::new(),
    ];
    for (k, t) in cases.into_iter().enumerate() {
        assert!(run(with(&files, cfg, t)) > 0, "config case {k}");
    }
}
