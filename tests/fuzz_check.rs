//! Fuzzing `loket check` (issue 11, item 9) as a bounded property test.
//!
//! cargo-fuzz needs a nightly toolchain, which this project's machines cannot
//! install, so this uses proptest on stable: each case takes the bundled instance
//! (`loket.toml`, `requests/`, `accounts/`), replaces one to three values anywhere in
//! its files (nested tables and arrays too) with values at the edges of their types
//! (integer and float limits, NaN, infinities, -0.0, every TOML date and time kind,
//! Unicode with combining marks, bidi controls, emoji, control characters, very long
//! and empty strings), runs every rule in-process and renders the result in every
//! format, half the time as a pull request against the unchanged instance (so the
//! base rules run too). Properties: nothing panics, and the output is stable (two
//! loads and runs of the same files print the same bytes). Bounded for CI:
//! `PROPTEST_CASES` (default 300) cases, about 10 s in a debug build.
mod common;

use std::path::Path;

use jiff::civil::date;
use loket::check::{self, Base, Options};
use loket::model::Instance;
use proptest::prelude::*;
use toml_edit::visit_mut::{self, VisitMut};
use toml_edit::{DocumentMut, Value};

/// The bundled instance's files, read once.
fn bundled() -> Vec<(String, String)> {
    static FILES: std::sync::OnceLock<Vec<(String, String)>> = std::sync::OnceLock::new();
    FILES.get_or_init(read_bundled).clone()
}

fn read_bundled() -> Vec<(String, String)> {
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
                    rel.to_string_lossy().into_owned(),
                    std::fs::read_to_string(e.path()).unwrap(),
                ));
            }
        }
    }
    files
}

/// Everything a check of `files` prints, in every format; with `against_bundled`, as
/// a pull request against the unchanged bundled instance (the base rules run too).
fn check_output(files: Vec<(String, String)>, against_bundled: bool) -> String {
    let inst = Instance::from_files(Path::new("."), files);
    let base = against_bundled.then(|| Base {
        rev: "main".into(),
        instance: Instance::from_files(Path::new("."), bundled()),
        records_changed: Vec::new(),
    });
    let opts = Options {
        today: date(2026, 11, 24),
        skip: Default::default(),
    };
    let report = check::run(&inst, base.as_ref(), &opts);
    let json: Vec<_> = report
        .diagnostics
        .iter()
        .map(|d| d.to_json(&inst.sources))
        .collect();
    format!(
        "{}\n{}\n{}",
        loket::diag::render_human(&inst.sources, &report.diagnostics),
        serde_json::to_string(&json).unwrap(),
        loket::diag::render_github(&inst.sources, &report.diagnostics)
    )
}

/// Replaces the `target`-th value (in document order, containers included) with
/// `with`; counts the values it passes.
struct Replace {
    target: usize,
    seen: usize,
    with: Value,
}

impl VisitMut for Replace {
    fn visit_value_mut(&mut self, node: &mut Value) {
        let here = self.seen;
        self.seen += 1;
        if here == self.target {
            *node = self.with.clone();
        } else {
            visit_mut::visit_value_mut(self, node);
        }
    }
}

fn mutate(text: &str, pick: usize, with: Value) -> Option<String> {
    let mut doc: DocumentMut = text.parse().ok()?;
    let mut count = Replace {
        target: usize::MAX,
        seen: 0,
        with: Value::from(0),
    };
    count.visit_document_mut(&mut doc);
    if count.seen == 0 {
        return None;
    }
    let mut r = Replace {
        target: pick % count.seen,
        seen: 0,
        with,
    };
    r.visit_document_mut(&mut doc);
    Some(doc.to_string())
}

fn edge_int() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(0),
        Just(-1),
        Just(1),
        Just(i64::from(u32::MAX)),
        Just(i64::from(u32::MAX) + 1),
        Just(i64::MIN),
        Just(i64::MAX),
        Just(3660),
        Just(3661),
        Just(7_304_485),
        any::<i64>(),
    ]
}

fn edge_float() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-0.0),
        Just(1e308),
        Just(f64::MIN_POSITIVE),
        Just(5e-324),
        Just(1.0000001),
        any::<f64>(),
    ]
}

/// Every TOML date/time kind, at and past the edges of the date library's span.
fn edge_datetime() -> impl Strategy<Value = toml_edit::Datetime> {
    prop_oneof![
        Just("2026-11-24"),
        Just("0000-01-01"),
        Just("9999-12-31"),
        Just("2026-11-24T08:00:00"),
        Just("2026-11-24T08:00:00Z"),
        Just("2026-11-24T08:00:00.999999999+07:00"),
        Just("1970-01-01T00:00:00-23:59"),
        Just("9999-12-31T23:59:60+14:00"),
        Just("08:00:00"),
        Just("23:59:60.123456789"),
        Just("2024-02-29"),
    ]
    .prop_filter_map("valid TOML datetime", |s| s.parse().ok())
}

fn edge_string() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        Just(String::new()),
        Just("e\u{301}\u{302}\u{303}".to_string()),
        Just("\u{202E}gnp.exe\u{202C}".to_string()),
        Just("\u{2067}مرحبا\u{2069} שלום".to_string()),
        Just("👩🏽‍💻🇮🇩".to_string()),
        Just("\u{0}\u{7}\u{1b}[31m\r\n\t\u{7f}\u{85}".to_string()),
        Just("\u{feff}\u{200b}\u{200d}".to_string()),
        Just("budi.santoso@kuduskab.go.id".to_string()),
        Just("KDS-ENY54-JAFNR".to_string()),
        Just("198609262015051001".to_string()),
        Just("ssh-ed25519 AAAA".to_string()),
        "\\PC{0,12}",
        any::<String>(),
    ];
    (proptest::collection::vec(piece, 0..4), 0..3usize).prop_map(|(parts, grow)| {
        let s: String = parts.concat();
        // Now and then very long: past every length rule.
        s.repeat([1, 40, 3000][grow])
    })
}

fn edge_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        edge_int().prop_map(Value::from),
        edge_float().prop_map(Value::from),
        edge_datetime().prop_map(Value::from),
        edge_string().prop_map(Value::from),
        any::<bool>().prop_map(Value::from),
        Just(Value::Array(toml_edit::Array::new())),
        Just(Value::InlineTable(toml_edit::InlineTable::new())),
        edge_string().prop_map(|s| Value::Array(std::iter::once(s).collect())),
    ]
}

/// One edit: which file (`loket.toml` a quarter of the time), which value, what.
fn edit() -> impl Strategy<Value = (bool, usize, usize, Value)> {
    (
        prop::bool::weighted(0.25),
        any::<usize>(),
        any::<usize>(),
        edge_value(),
    )
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: cases(),
        // Found failures become regression tests in tests/check_robustness.rs.
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn check_never_panics_and_is_stable(
        edits in proptest::collection::vec(edit(), 1..4),
        with_base in any::<bool>(),
    ) {
        let mut files = bundled();
        for (config, file, pick, with) in edits {
            let i = if config { 0 } else { 1 + file % (files.len() - 1) };
            if let Some(text) = mutate(&files[i].1, pick, with) {
                files[i].1 = text;
            }
        }
        let first = check_output(files.clone(), with_base);
        let second = check_output(files, with_base);
        prop_assert_eq!(first, second);
    }
}

/// The mutator reaches nested values (here `max-days` in an array of `[[servers]]`), and
/// what it writes is seen by the rules: past the date library's span is L064, no panic.
#[test]
fn the_mutator_reaches_nested_values() {
    let config = &bundled()[0].1;
    let hit = (0..500)
        .filter_map(|pick| mutate(config, pick, Value::from(7_304_485)))
        .find(|t| t.contains("max-days = 7304485"))
        .expect("max-days is one of the values");
    let mut files = bundled();
    files[0].1 = hit;
    assert!(check_output(files, false).contains("L064"));
}
