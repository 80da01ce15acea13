//! `loket doctor` against the fake forge (GitHub and Forgejo JSON over real HTTP):
//! a repository set up as docs/approvals.md says passes every item; each documented
//! misconfiguration is flagged by its item, with exit code 1.

mod common;
#[path = "common/fake_forge.rs"]
mod fake_forge;

use fake_forge::fake_settings::{Protection, RepoSettings};
use fake_forge::{FakeForge, Flavor, Repo, TOKEN};
use serde_json::Value;

const OFFICE_KEY: &str = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAINlRHbndlDyb8Z1Kb0Y/Jy5GjuyXBzlBpJpgYqcaZl+a admin@diskominfo";
const ROLE_LOGINS: &[&str] = &[
    "kadis-kominfo-kudus",
    "kabid-informatika-kudus",
    "kasi-tip-kudus",
    "admin-helpdesk-kudus",
    "admin2-helpdesk-kudus",
];

fn workflow_dir(flavor: Flavor) -> &'static str {
    match flavor {
        Flavor::GitHub => ".github/workflows",
        Flavor::Forgejo => ".forgejo/workflows",
    }
}

/// A workflow as the doctor wants it: a pinned action, a pinned loket release.
fn good_workflow(name: &str) -> String {
    format!(
        "name: {name}\non: [push]\npermissions: {{}}\njobs:\n  {name}:\n    runs-on: ubuntu-latest\n    env:\n      LOKET_VERSION: \"{}\"\n      LOKET_SHA256: \"{}\"\n    steps:\n      - uses: actions/checkout@11d5960a326750d5838078e36cf38b85af677262 # v4.4.0\n      - run: loket {name}\n",
        env!("CARGO_PKG_VERSION"),
        "0f".repeat(32)
    )
}

/// The Kudus instance with the office's own key and every workflow in place.
fn instance(flavor: Flavor) -> Repo {
    let config = fake_forge::kudus_config().replace(
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEGkPy9vpsQGidoKFPi8l9xw5dOdzPmRbPDhXT2iq3i6 admin-helpdesk@diskominfo.kuduskab.go.id",
        OFFICE_KEY,
    );
    assert!(
        config.contains(OFFICE_KEY),
        "the preset's demo key was replaced"
    );
    let repo = Repo::new(&config);
    for w in ["check", "review", "apply", "site", "expiry"] {
        repo.commit_file(
            &format!("{}/{w}.yml", workflow_dir(flavor)),
            &good_workflow(w),
        );
    }
    repo
}

fn good_settings(flavor: Flavor) -> RepoSettings {
    let mut s = RepoSettings {
        protection: Some(Protection::as_documented()),
        deploy_keys: vec![
            ("loket records".into(), false),
            ("mirror (read)".into(), true),
        ],
        ..RepoSettings::default()
    };
    for l in ROLE_LOGINS {
        s.users.insert((*l).into(), "write".into());
    }
    match flavor {
        Flavor::GitHub => s.environment_secrets = Some(vec!["LOKET_RECORDS_KEY".into()]),
        Flavor::Forgejo => s.secrets = vec!["LOKET_RECORDS_KEY".into()],
    }
    s
}

/// Runs `loket doctor --format json`; returns the exit code and the items by id.
fn doctor(forge: &FakeForge, repo: &Repo) -> (i32, Vec<(String, String, String)>) {
    let out = forge
        .loket(repo, TOKEN)
        .args(["doctor", "--format", "json"])
        .output()
        .expect("run loket doctor");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "doctor printed no JSON ({e}):\n{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let items = report["items"]
        .as_array()
        .expect("items")
        .iter()
        .map(|i| {
            let s = |k: &str| i[k].as_str().unwrap_or("").to_string();
            (
                s("id"),
                s("status"),
                format!("{} → {}", s("found"), s("fix")),
            )
        })
        .collect();
    (out.status.code().unwrap_or(-1), items)
}

fn status_of<'a>(items: &'a [(String, String, String)], id: &str) -> &'a str {
    items
        .iter()
        .find(|(i, _, _)| i == id)
        .map(|(_, s, _)| s.as_str())
        .unwrap_or_else(|| panic!("no item {id} in {items:#?}"))
}

fn good_setup_passes(flavor: Flavor) {
    let forge = FakeForge::start(flavor);
    let repo = instance(flavor);
    forge.with(|s| s.settings = good_settings(flavor));
    let (code, items) = doctor(&forge, &repo);
    let bad: Vec<_> = items.iter().filter(|(_, s, _)| s != "ok").collect();
    assert!(bad.is_empty(), "{flavor:?}: {bad:#?}");
    assert_eq!(code, 0);
    // Every kind of item was looked at, one per role login.
    for id in [
        "branch.no-bypass",
        "records.key",
        "admin.recipient",
        "workflow.apply",
    ] {
        status_of(&items, id);
    }
    assert_eq!(
        items
            .iter()
            .filter(|(i, _, _)| i.starts_with("role."))
            .count(),
        ROLE_LOGINS.len()
    );
}

/// One misconfiguration: `spoil` changes the good settings (or the instance);
/// `id` is the item that must flag it.
fn flagged(flavor: Flavor, id: &str, expect: &str, spoil: impl FnOnce(&mut RepoSettings, &Repo)) {
    let forge = FakeForge::start(flavor);
    let repo = instance(flavor);
    let mut s = good_settings(flavor);
    spoil(&mut s, &repo);
    forge.with(|st| st.settings = s);
    let (code, items) = doctor(&forge, &repo);
    assert_eq!(status_of(&items, id), expect, "{flavor:?} {id}: {items:#?}");
    assert_eq!(code, 1, "{flavor:?} {id}: a flagged item fails the run");
}

fn protection(s: &mut RepoSettings) -> &mut Protection {
    s.protection.as_mut().unwrap()
}

fn every_misconfiguration_is_flagged(flavor: Flavor) {
    flagged(flavor, "branch.protected", "fix", |s, _| {
        s.protection = None
    });
    flagged(flavor, "branch.dismiss-stale", "fix", |s, _| {
        protection(s).dismiss_stale = false
    });
    flagged(flavor, "branch.approvals", "fix", |s, _| {
        protection(s).approvals = 0
    });
    flagged(flavor, "branch.required-checks", "fix", |s, _| {
        protection(s).checks = vec!["check".into()]
    });
    flagged(flavor, "branch.force-push", "fix", |s, _| {
        protection(s).block_force_push = false
    });
    flagged(flavor, "branch.no-bypass", "fix", |s, _| {
        protection(s).admins_bound = false
    });
    flagged(flavor, "branch.no-bypass", "fix", |s, _| {
        protection(s).bypass_users = vec!["ops-team".into()]
    });
    flagged(flavor, "records.route", "fix", |s, _| {
        protection(s).deploy_keys_bypass = false
    });
    flagged(flavor, "records.key", "fix", |s, _| {
        s.deploy_keys.push(("old laptop".into(), false))
    });
    flagged(flavor, "records.key", "fix", |s, _| s.deploy_keys.clear());
    flagged(flavor, "role.kepala-seksi.kasi-tip-kudus", "fix", |s, _| {
        s.users.remove("kasi-tip-kudus");
    });
    flagged(
        flavor,
        "role.kepala-dinas.kadis-kominfo-kudus",
        "fix",
        |s, _| {
            s.users.insert("kadis-kominfo-kudus".into(), "read".into());
        },
    );
    flagged(flavor, "secrets.LOKET_RECORDS_KEY", "fix", |s, _| {
        s.secrets.clear();
        s.environment_secrets = Some(Vec::new());
    });
    flagged(flavor, "workflow.apply", "fix", |_, repo| {
        let w = good_workflow("apply").replace("@11d5960a326750d5838078e36cf38b85af677262", "@v4");
        repo.commit_file(&format!("{}/apply.yml", workflow_dir(flavor)), &w);
    });
    flagged(flavor, "workflow.check", "fix", |_, repo| {
        let w =
            good_workflow("check").replace("- run: loket check", "- run: cargo build --release");
        repo.commit_file(&format!("{}/check.yml", workflow_dir(flavor)), &w);
    });
    flagged(flavor, "workflow.site", "fix", |_, repo| {
        repo.remove_file(&format!("{}/site.yml", workflow_dir(flavor)));
    });
    flagged(flavor, "admin.recipient", "fix", |_, repo| {
        let config = std::fs::read_to_string(repo.dir.join("loket.toml")).unwrap();
        let demo = config.replace(
            OFFICE_KEY,
            "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEGkPy9vpsQGidoKFPi8l9xw5dOdzPmRbPDhXT2iq3i6 renamed",
        );
        repo.commit_file("loket.toml", &demo);
    });
}

#[test]
fn github_good_setup_passes() {
    good_setup_passes(Flavor::GitHub);
}

#[test]
fn forgejo_good_setup_passes() {
    good_setup_passes(Flavor::Forgejo);
}

#[test]
fn github_misconfigurations_are_flagged() {
    every_misconfiguration_is_flagged(Flavor::GitHub);
}

#[test]
fn forgejo_misconfigurations_are_flagged() {
    every_misconfiguration_is_flagged(Flavor::Forgejo);
}

#[test]
fn github_hidden_bypass_list_or_missing_environment_is_never_ok() {
    // A token that cannot see who may bypass: unknown, and the run fails.
    flagged(Flavor::GitHub, "branch.rules", "unknown", |s, _| {
        protection(s).bypass_visible = false
    });
    flagged(Flavor::GitHub, "secrets.environment", "fix", |s, _| {
        s.environment_secrets = None
    });
}

#[test]
fn a_wrong_token_is_unknown_not_ok() {
    let forge = FakeForge::start(Flavor::Forgejo);
    let repo = instance(Flavor::Forgejo);
    forge.with(|s| s.settings = good_settings(Flavor::Forgejo));
    let out = forge
        .loket(&repo, "wrong-token")
        .args(["doctor"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("UNKNOWN branch.rules"), "{text}");
    assert!(
        !text.contains("wrong-token"),
        "the token is redacted: {text}"
    );
}
