//! The CI workflows (`.github/workflows`, and `.forgejo/workflows` where present) pass
//! zizmor, run offline, with no finding; and, belt and braces over zizmor, three rules
//! read from the files themselves: every `uses:` is pinned to a full commit SHA, no
//! `run:` script expands `${{ }}`, and no step that runs `loket review` or `loket
//! apply` may `continue-on-error` (the approvals gate must fail closed).
//!
//! zizmor comes from `scripts/install-test-deps.sh` (a pinned PyPI release). With
//! CI=true a missing zizmor fails the test; elsewhere it is skipped with a note.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every workflow file, sorted, relative to the repository root.
fn workflow_files() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for dir in [".github/workflows", ".forgejo/workflows"] {
        let Ok(entries) = std::fs::read_dir(root().join(dir)) else {
            continue;
        };
        for e in entries {
            let name = e.unwrap().file_name().into_string().unwrap();
            if name.ends_with(".yml") || name.ends_with(".yaml") {
                files.push(Path::new(dir).join(name));
            }
        }
    }
    files.sort();
    assert!(
        files.iter().any(|f| f.starts_with(".github/workflows")),
        "no workflow found under .github/workflows"
    );
    files
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| !v.is_empty() && v != "false" && v != "0")
}

/// One line of a finding: rule, severity, file:line, what zizmor says.
fn describe(f: &Value) -> String {
    let rule = f["ident"].as_str().unwrap_or("?");
    let severity = f["determinations"]["severity"].as_str().unwrap_or("?");
    let locations = f["locations"].as_array().cloned().unwrap_or_default();
    let primary = locations
        .iter()
        .find(|l| l["symbolic"]["kind"] == "Primary")
        .or(locations.first());
    let (file, line, note) = match primary {
        Some(l) => {
            let key = &l["symbolic"]["key"]["Local"];
            let file = key["verbatim_path"]
                .as_str()
                .or(key["given_path"].as_str())
                .unwrap_or("?");
            let line = l["concrete"]["location"]["start_point"]["row"]
                .as_u64()
                .map_or("?".to_string(), |r| (r + 1).to_string());
            let note = l["symbolic"]["annotation"].as_str().unwrap_or("");
            (file.to_string(), line, note.to_string())
        }
        None => ("?".into(), "?".into(), String::new()),
    };
    format!("{rule} ({severity}) {file}:{line}: {note}")
}

#[test]
fn zizmor_finds_nothing() {
    let zizmor = std::env::var("ZIZMOR").unwrap_or_else(|_| "zizmor".into());
    let version = match Command::new(&zizmor).arg("--version").output() {
        Ok(out) if out.status.success() => String::from_utf8_lossy(&out.stdout).trim().to_string(),
        other => {
            let why = match other {
                Ok(out) => String::from_utf8_lossy(&out.stderr).into_owned(),
                Err(e) => e.to_string(),
            };
            assert!(
                !in_ci(),
                "zizmor is required with CI=true ({zizmor}: {why}); \
                 scripts/install-test-deps.sh installs it"
            );
            eprintln!("note: zizmor not available ({why}); workflow audit skipped");
            return;
        }
    };
    let files = workflow_files();
    // Offline (no network audits); no config file, so nothing but an inline
    // `# zizmor: ignore[rule]` comment, next to its reason, can silence a finding.
    let out = Command::new(&zizmor)
        .current_dir(root())
        .args([
            "--offline",
            "--no-config",
            "--no-exit-codes",
            "--no-progress",
            "--format",
            "json",
        ])
        .args(&files)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{version} failed:\n{stderr}");
    let findings: Vec<Value> = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{version}: output is not a JSON list ({e}):\n{stderr}"));
    let report: Vec<String> = findings.iter().map(describe).collect();
    assert!(
        report.is_empty(),
        "{version}: {} finding(s) in {} workflow files:\n{}",
        report.len(),
        files.len(),
        report.join("\n")
    );
    eprintln!("{version}: no finding in {} workflow files", files.len());
}

/// A line's indentation and its content with a leading `- ` (sequence entry) removed,
/// with the column that content starts at.
fn key_of(line: &str) -> (usize, usize, &str) {
    let indent = line.len() - line.trim_start().len();
    let mut col = indent;
    let mut rest = line.trim_start();
    while let Some(r) = rest.strip_prefix("- ") {
        let r2 = r.trim_start();
        col += rest.len() - r2.len();
        rest = r2;
    }
    (indent, col, rest)
}

fn is_comment_or_blank(line: &str) -> bool {
    let t = line.trim_start();
    t.is_empty() || t.starts_with('#')
}

/// The value of `key:` on `line` (the text after it) when the line holds that key.
fn value_of<'a>(line: &'a str, key: &str) -> Option<(usize, &'a str)> {
    let (_, col, rest) = key_of(line);
    let rest = rest.strip_prefix(key)?.strip_prefix(':')?;
    (rest.is_empty() || rest.starts_with(' ')).then_some((col, rest.trim()))
}

/// The text of every `run:` script: its first line's value and the lines indented
/// deeper than the key that follow it.
fn run_scripts(text: &str) -> Vec<(usize, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut scripts = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        let Some((col, first)) = value_of(line, "run") else {
            continue;
        };
        let mut script = first.to_string();
        for next in &lines[i + 1..] {
            if !next.trim().is_empty() && next.len() - next.trim_start().len() <= col {
                break;
            }
            script.push('\n');
            script.push_str(next);
        }
        scripts.push((i + 1, script));
    }
    scripts
}

/// Each sequence entry (`- ` item, such as a step) with its first line number: the
/// lines from the dash to the next line indented no deeper than the dash.
fn items(text: &str) -> Vec<(usize, String)> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        if is_comment_or_blank(line) || !line.trim_start().starts_with("- ") {
            continue;
        }
        let dash = line.len() - line.trim_start().len();
        let mut item = line.to_string();
        for next in &lines[i + 1..] {
            if !is_comment_or_blank(next) && next.len() - next.trim_start().len() <= dash {
                break;
            }
            item.push('\n');
            item.push_str(next);
        }
        out.push((i + 1, item));
    }
    out
}

/// Whether a script runs `loket review` or `loket apply`: a word `loket` (or a path
/// ending in `/loket`) followed, after any options, by one of those words.
fn runs_the_gate(script: &str) -> bool {
    let words: Vec<&str> = script
        .split(|c: char| c.is_whitespace() || c == '"' || c == '\'' || c == '\\')
        .filter(|w| !w.is_empty())
        .collect();
    words.iter().enumerate().any(|(i, w)| {
        (*w == "loket" || w.ends_with("/loket"))
            && words[i + 1..]
                .iter()
                .take_while(|w| !matches!(**w, "&&" | "||" | ";" | "|"))
                .any(|w| *w == "review" || *w == "apply")
    })
}

/// What the three belt-and-braces rules find in one workflow's text.
fn rule_violations(file: &str, text: &str) -> Vec<String> {
    let mut bad = Vec::new();
    for (n, line) in text.lines().enumerate() {
        if is_comment_or_blank(line) {
            continue;
        }
        let Some((_, value)) = value_of(line, "uses") else {
            continue;
        };
        let (reference, comment) = match value.split_once(" #") {
            Some((r, c)) => (r.trim(), c.trim()),
            None => (value, ""),
        };
        let reference = reference.trim_matches(|c| c == '"' || c == '\'');
        if reference.starts_with("./") {
            continue; // an action of this repository, at the workflow's own commit
        }
        let sha = reference.rsplit_once('@').map_or("", |(_, r)| r);
        let pinned = sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit());
        if !pinned {
            bad.push(format!(
                "{file}:{}: `uses: {reference}` is not pinned to a 40-hex commit SHA",
                n + 1
            ));
        } else if comment.is_empty() {
            bad.push(format!(
                "{file}:{}: `uses: {reference}` needs its version as a trailing comment",
                n + 1
            ));
        }
    }
    for (n, script) in run_scripts(text) {
        if script.contains("${{") {
            bad.push(format!(
                "{file}:{n}: a `run:` script expands `${{{{ }}}}`; pass the value through `env:`"
            ));
        }
    }
    for (n, item) in items(text) {
        let continues = item
            .lines()
            .any(|l| !is_comment_or_blank(l) && value_of(l, "continue-on-error").is_some());
        let gate = run_scripts(&item).iter().any(|(_, s)| runs_the_gate(s));
        if continues && gate {
            bad.push(format!(
                "{file}:{n}: a step that runs `loket review` or `loket apply` has \
                 continue-on-error: the approvals gate must fail closed"
            ));
        }
    }
    // A job-level continue-on-error would let a failed gate pass as well.
    let mut job: Option<(usize, bool, bool)> = None; // (line, continues, gate)
    let mut in_jobs = false;
    let report = |job: Option<(usize, bool, bool)>, bad: &mut Vec<String>| {
        if let Some((n, true, true)) = job {
            bad.push(format!(
                "{file}:{n}: a job that runs `loket review` or `loket apply` has \
                 continue-on-error: the approvals gate must fail closed"
            ));
        }
    };
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if is_comment_or_blank(line) {
            continue;
        }
        let indent = line.len() - line.trim_start().len();
        if indent == 0 {
            in_jobs = line.starts_with("jobs:");
            report(job.take(), &mut bad);
            continue;
        }
        if !in_jobs {
            continue;
        }
        if indent == 2 {
            report(job.take(), &mut bad);
            job = Some((i + 1, false, false));
        } else if indent == 4
            && value_of(line, "continue-on-error").is_some()
            && let Some(j) = job.as_mut()
        {
            j.1 = true;
        }
        if let Some(j) = job.as_mut() {
            j.2 |= runs_the_gate(line);
        }
    }
    report(job.take(), &mut bad);
    bad
}

#[test]
fn workflows_pin_actions_keep_expressions_out_of_scripts_and_never_skip_the_gate() {
    let mut bad = Vec::new();
    for file in workflow_files() {
        let text = std::fs::read_to_string(root().join(&file)).unwrap();
        bad.extend(rule_violations(&file.display().to_string(), &text));
    }
    assert!(bad.is_empty(), "{}", bad.join("\n"));
}

/// The rules above catch what they look for (so a green run means something).
#[test]
fn the_workflow_rules_catch_each_violation() {
    let bad = r#"
name: bad
on: push
jobs:
  apply:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/checkout@11d5960a326750d5838078e36cf38b85af677262
      - name: gate
        continue-on-error: true
        run: ./target/release/loket review --merge-commit HEAD --record
      - name: apply
        run: |
          ./target/release/loket -C pr apply --run "${{ github.run_id }}"
  sweep:
    runs-on: ubuntu-latest
    continue-on-error: true
    steps:
      - run: >
          ./loket apply
          --run x
"#;
    let found = rule_violations("bad.yml", bad);
    let expect = [
        "bad.yml:8: `uses: actions/checkout@v4` is not pinned",
        "bad.yml:9: `uses: actions/checkout@11d5960a326750d5838078e36cf38b85af677262` needs its version",
        "bad.yml:14: a `run:` script expands",
        "bad.yml:10: a step that runs",
        "bad.yml:16: a job that runs",
    ];
    for e in expect {
        assert!(
            found.iter().any(|f| f.starts_with(e)),
            "{e:?} not found in:\n{}",
            found.join("\n")
        );
    }
    assert_eq!(found.len(), expect.len(), "{}", found.join("\n"));

    let good = r#"
jobs:
  check:
    steps:
      - uses: actions/checkout@11d5960a326750d5838078e36cf38b85af677262 # v4.4.0
      - uses: ./.github/actions/local
      - name: loket check
        continue-on-error: true
        env:
          BASE_SHA: ${{ github.event.pull_request.base.sha }}
        run: ./target/release/loket check --base "$BASE_SHA"
      - run: ./target/release/loket apply --approvals forge --run "$RUN_ID"
"#;
    let found = rule_violations("good.yml", good);
    assert!(found.is_empty(), "{}", found.join("\n"));
}
