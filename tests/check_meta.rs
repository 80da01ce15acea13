//! Every rule in `RULES` has a test that makes it fire: a call of `assert_fires("Lxxx"`
//! in the rule tests under src/check/, and a section in docs/rules.md.
mod common;

use std::collections::BTreeSet;

fn sources_under(dir: &std::path::Path) -> String {
    let mut all = String::new();
    for e in walkdir::WalkDir::new(dir) {
        let e = e.unwrap();
        if e.path().extension().is_some_and(|x| x == "rs") {
            all.push_str(&std::fs::read_to_string(e.path()).unwrap());
        }
    }
    all
}

#[test]
fn every_rule_has_a_test_that_makes_it_fire() {
    let src = sources_under(&common::repo_root().join("src/check"));
    // `fires(` is the config tests' wrapper of `assert_fires(`.
    let re = regex::Regex::new(r#"\b(?:assert_fires|fires)\(\s*"(L\d{3})""#).unwrap();
    let fired: BTreeSet<&str> = re
        .captures_iter(&src)
        .map(|c| c.get(1).unwrap().as_str())
        .collect();
    let missing: Vec<&str> = loket::check::RULES
        .iter()
        .map(|r| r.code)
        .filter(|c| !fired.contains(c))
        .collect();
    assert!(
        missing.is_empty(),
        "rules without a firing test: {missing:?}"
    );
}

#[test]
fn every_rule_is_documented() {
    let doc = std::fs::read_to_string(common::repo_root().join("docs/rules.md")).unwrap();
    for r in loket::check::RULES {
        let head = format!("## {} {}", r.code, r.name);
        assert!(
            doc.contains(&head),
            "docs/rules.md lacks a `{head}` section"
        );
    }
}
