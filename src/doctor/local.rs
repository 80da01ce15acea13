//! What the doctor reads from the instance itself: the workflows (present, actions
//! pinned by commit, loket installed from a pinned release rather than built from
//! the merged source) and the admin key credentials are sealed to.

use std::path::Path;

use yaml_rust2::{Yaml, YamlLoader};

use super::Item;
use crate::forge::ForgeKind;
use crate::model::Config;

/// The workflows an instance runs: check and review on pull requests, apply on
/// merge, site on records, expiry on a schedule.
pub const WORKFLOWS: &[&str] = &[
    "check.yml",
    "review.yml",
    "apply.yml",
    "site.yml",
    "expiry.yml",
];

/// Why the bundled admin key must be replaced.
pub const DEMO_NOTE: &str = "the bundled demo key, whose private half nobody holds";

fn workflow_dir(kind: ForgeKind) -> &'static str {
    match kind {
        ForgeKind::GitHub => ".github/workflows",
        ForgeKind::Forgejo => ".forgejo/workflows",
    }
}

pub fn workflow_items(root: &Path, kind: ForgeKind) -> Vec<Item> {
    let dir = workflow_dir(kind);
    let mut out = Vec::new();
    for name in WORKFLOWS {
        let rel = format!("{dir}/{name}");
        let id = format!("workflow.{}", name.trim_end_matches(".yml"));
        let text = match crate::model::regular::read_to_string(&root.join(&rel)) {
            Ok(t) => t,
            Err(_) => {
                out.push(Item::fix(
                    &id,
                    format!("{rel} is missing"),
                    "add it (`loket init` writes the instance's workflows)",
                ));
                continue;
            }
        };
        out.push(judge_workflow(&id, &rel, &text));
    }
    out
}

/// One workflow: every action pinned to a commit, and loket taken from a release
/// of this version with its checksum, never built from the checked-out source.
fn judge_workflow(id: &str, rel: &str, text: &str) -> Item {
    let docs = match YamlLoader::load_from_str(text) {
        Ok(d) => d,
        Err(e) => return Item::fix(id, format!("{rel} is not YAML: {e}"), "repair the file"),
    };
    let mut uses = Vec::new();
    let mut runs = Vec::new();
    let mut env = Vec::new();
    for d in &docs {
        walk(d, &mut uses, &mut runs, &mut env);
    }
    let unpinned: Vec<&String> = uses.iter().filter(|u| !pinned(u)).collect();
    if !unpinned.is_empty() {
        return Item::fix(
            id,
            format!("{rel}: actions not pinned to a commit: {}", join(&unpinned)),
            "pin each action to a full commit SHA (`owner/action@<40 hex> # vX.Y`)",
        );
    }
    let builds = runs.iter().any(|r| {
        r.contains("cargo build") || r.contains("cargo install") || r.contains("cargo run")
    });
    let version = env
        .iter()
        .find(|(k, _)| k == "LOKET_VERSION")
        .map(|(_, v)| v.as_str());
    let sha = env
        .iter()
        .find(|(k, _)| k == "LOKET_SHA256")
        .map(|(_, v)| v.as_str());
    let this = env!("CARGO_PKG_VERSION");
    match (builds, version, sha) {
        (true, _, _) => Item::fix(
            id,
            format!("{rel} builds loket from the checked-out source"),
            format!(
                "install the loket {this} release instead (LOKET_VERSION and LOKET_SHA256 in the job's env): a merged change to src/ must not run with the job's token or secrets"
            ),
        ),
        (false, Some(v), Some(s)) if v == this && is_sha256(s) => Item::ok(
            id,
            format!("{rel}: actions pinned, loket {v} release with its SHA-256"),
        ),
        (false, Some(v), _) if v != this => Item::fix(
            id,
            format!("{rel} installs loket {v}, this is {this}"),
            format!("pin LOKET_VERSION {this} and its LOKET_SHA256"),
        ),
        (false, _, _) if runs.iter().any(|r| r.contains("loket")) => Item::fix(
            id,
            format!("{rel} runs loket without a pinned release and checksum"),
            format!(
                "set LOKET_VERSION = {this} and LOKET_SHA256 in the job's env and verify the download"
            ),
        ),
        _ => Item::ok(id, format!("{rel}: actions pinned")),
    }
}

/// Collects every `uses:`, `run:` and `env:` entry, at any depth.
fn walk(y: &Yaml, uses: &mut Vec<String>, runs: &mut Vec<String>, env: &mut Vec<(String, String)>) {
    match y {
        Yaml::Hash(h) => {
            for (k, v) in h {
                match (k.as_str(), v) {
                    (Some("uses"), Yaml::String(s)) => uses.push(s.clone()),
                    (Some("run"), Yaml::String(s)) => runs.push(s.clone()),
                    (Some("env"), Yaml::Hash(e)) => env.extend(e.iter().filter_map(|(k, v)| {
                        let v = match v {
                            Yaml::String(s) => s.clone(),
                            Yaml::Integer(i) => i.to_string(),
                            Yaml::Real(r) => r.clone(),
                            _ => return None,
                        };
                        Some((k.as_str()?.to_string(), v))
                    })),
                    _ => walk(v, uses, runs, env),
                }
            }
        }
        Yaml::Array(a) => a.iter().for_each(|v| walk(v, uses, runs, env)),
        _ => {}
    }
}

/// `owner/repo[/path]@<40 hex>`, a local action, or a digest-pinned image.
fn pinned(uses: &str) -> bool {
    if uses.starts_with("./") {
        return true;
    }
    if let Some(image) = uses.strip_prefix("docker://") {
        return image.contains("@sha256:");
    }
    uses.rsplit_once('@')
        .is_some_and(|(_, r)| r.len() == 40 && r.bytes().all(|b| b.is_ascii_hexdigit()))
}

fn is_sha256(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

fn join(xs: &[&String]) -> String {
    xs.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ")
}

/// The admin key: set, a key age can seal to, and not a preset's demo key.
pub fn admin_item(config: &Config) -> Item {
    let id = "admin.recipient";
    let Some(key) = config.backends.admin_recipient.as_deref() else {
        return Item::fix(
            id,
            "backends.admin-recipient is not set: requests without a recipient cannot be sealed",
            "set it to the office's own age or ssh-ed25519 public key (`loket init` makes one)",
        );
    };
    if crate::apply::credentials::recipient(key).is_err() {
        return Item::fix(
            id,
            "backends.admin-recipient is not an age or SSH public key",
            "set a valid public key",
        );
    }
    if is_demo_key(key) {
        return Item::fix(
            id,
            format!("backends.admin-recipient is {DEMO_NOTE}"),
            "make the office's own key (docs/apply.md, \"The admin key\") and put its public half here",
        );
    }
    Item::ok(id, "backends.admin-recipient is the office's own key")
}

/// Compares key material only: a comment can be edited without changing the key.
fn is_demo_key(key: &str) -> bool {
    let material = |k: &str| k.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
    let mine = material(key);
    crate::init::PRESETS.iter().any(|p| {
        p.config.lines().any(|l| {
            l.trim_start()
                .strip_prefix("admin-recipient = \"")
                .and_then(|r| r.strip_suffix('"'))
                .is_some_and(|demo| material(demo) == mine)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pinned_means_a_full_commit_a_local_path_or_a_digest() {
        assert!(pinned(
            "actions/checkout@11d5960a326750d5838078e36cf38b85af677262"
        ));
        assert!(pinned("./.github/actions/x"));
        assert!(pinned("docker://debian@sha256:abc"));
        assert!(!pinned("actions/checkout@v4"));
        assert!(!pinned("docker://debian:12"));
        assert!(!pinned("actions/checkout@11d5960"));
    }

    #[test]
    fn a_workflow_that_builds_loket_is_told_to_pin_a_release() {
        let yml = "jobs:\n  a:\n    steps:\n      - run: cargo build --release\n";
        let item = judge_workflow("workflow.check", "check.yml", yml);
        assert_eq!(item.status, super::super::Status::Fix, "{item:?}");
        let v = env!("CARGO_PKG_VERSION");
        let good = format!(
            "jobs:\n  a:\n    env:\n      LOKET_VERSION: \"{v}\"\n      LOKET_SHA256: \"{}\"\n    steps:\n      - uses: actions/checkout@11d5960a326750d5838078e36cf38b85af677262\n      - run: loket check\n",
            "a".repeat(64)
        );
        let item = judge_workflow("workflow.check", "check.yml", &good);
        assert_eq!(item.status, super::super::Status::Ok, "{item:?}");
        let old = good.replace(v, "0.0.1");
        assert_eq!(
            judge_workflow("w", "w", &old).status,
            super::super::Status::Fix
        );
    }

    #[test]
    fn the_bundled_kudus_key_is_the_demo_key() {
        let k = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEGkPy9vpsQGidoKFPi8l9xw5dOdzPmRbPDhXT2iq3i6 someone-else";
        assert!(is_demo_key(k));
        assert!(!is_demo_key(
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKx other"
        ));
    }
}
