//! The bundled presets' SOPs walked on the fake forge, for both forges: a scripted
//! mail-account PR goes from submitted to approved step by step, and `loket review`
//! names the pending role at every stage. (Kudus's two SOPs are in review_sop.rs.)

mod common;
#[path = "common/fake_forge.rs"]
mod fake_forge;

use fake_forge::{FakeForge, Flavor, Repo, Verdict, json_of};

/// A mail-create request of the bundled Kudus set, re-numbered for `prefix`.
fn request_for(prefix: &str) -> (String, String) {
    let text = std::fs::read_to_string(common::repo_root().join("requests/KDS-24WBW-PV52C.toml"))
        .expect("bundled request");
    let ticket = format!("{prefix}-24WBW-PV52C");
    (ticket.clone(), text.replace("KDS-24WBW-PV52C", &ticket))
}

/// Opens PR #1 adding one mail request under `preset`, then for each `(login, role)`
/// checks the request waits for `role`, and has `login` approve. Ends approved.
fn walk(flavor: Flavor, preset: &str, prefix: &str, chain: &[(&str, &str)]) {
    let forge = FakeForge::start(flavor);
    let config =
        std::fs::read_to_string(common::repo_root().join("presets").join(preset)).expect("preset");
    let repo = Repo::new(&config);
    let (ticket, text) = request_for(prefix);
    repo.commit_file(&format!("requests/{ticket}.toml"), &text);
    forge.open_pull(1, &repo, "pemohon-operator");
    for (minute, (login, role)) in (1u32..).zip(chain) {
        let out = forge.review(&repo, 1, &[]);
        let v = json_of(&out);
        assert_eq!(out.status.code(), Some(3), "{preset}: {v:#}");
        assert_eq!(v["tickets"][0]["ticket"], ticket.as_str());
        assert_eq!(v["tickets"][0]["pending"]["role"], *role, "{preset}: {v:#}");
        forge.with(|s| s.review(1, login, Verdict::Approve, minute, ""));
    }
    let out = forge.review(&repo, 1, &[]);
    let v = json_of(&out);
    assert_eq!(out.status.code(), Some(0), "{preset}: {v:#}");
    assert_eq!(v["tickets"][0]["outcome"], "approved");
    let done: Vec<&str> = v["tickets"][0]["steps"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|s| s["record"]["login"].as_str())
        .collect();
    let expected: Vec<&str> = chain.iter().map(|(l, _)| *l).collect();
    assert_eq!(done, expected, "{preset}");
}

/// Kebumen: one operator checks and issues (distinct-people = false).
fn kebumen(flavor: Flavor) {
    walk(
        flavor,
        "kebumen.toml",
        "KBM",
        &[("op-kominfo-kebumen", "operator")],
    );
}

/// Palangka Raya: the Kepala Seksi checks the data; the rest is apply/verify/notify.
fn palangka_raya(flavor: Flavor) {
    walk(
        flavor,
        "palangka-raya.toml",
        "PLK",
        &[("kasi-psdlp-palangkaraya", "kepala-seksi")],
    );
}

/// Lumajang: Kadis or Sekdin disposes, then Kabid Aptika, then Kasi PPI SPBE.
fn lumajang(flavor: Flavor) {
    walk(
        flavor,
        "lumajang.toml",
        "LMJ",
        &[
            ("sekdin-kominfo-lumajang", "kepala-dinas"),
            ("kabid-aptika-lumajang", "kepala-bidang"),
            ("kasi-ppispbe-lumajang", "kepala-seksi"),
        ],
    );
}

/// Lumajang's Sekdin may act as Kepala Dinas but not also as a later step's role.
fn lumajang_wrong_person(flavor: Flavor) {
    let forge = FakeForge::start(flavor);
    let config =
        std::fs::read_to_string(common::repo_root().join("presets/lumajang.toml")).unwrap();
    let repo = Repo::new(&config);
    let (ticket, text) = request_for("LMJ");
    repo.commit_file(&format!("requests/{ticket}.toml"), &text);
    forge.open_pull(1, &repo, "pemohon-operator");
    forge.with(|s| {
        s.review(1, "sekdin-kominfo-lumajang", Verdict::Approve, 1, "");
        // The Kepala Dinas approving too completes nothing more: not a Kabid.
        s.review(1, "kadis-kominfo-lumajang", Verdict::Approve, 2, "");
    });
    let out = forge.review(&repo, 1, &[]);
    let v = json_of(&out);
    assert_eq!(out.status.code(), Some(3), "{v:#}");
    assert_eq!(v["tickets"][0]["pending"]["role"], "kepala-bidang");
}

macro_rules! both_forges {
    ($($name:ident),* $(,)?) => {
        mod github {
            $( #[test] fn $name() { super::$name(super::Flavor::GitHub) } )*
        }
        mod forgejo {
            $( #[test] fn $name() { super::$name(super::Flavor::Forgejo) } )*
        }
    };
}

both_forges!(kebumen, palangka_raya, lumajang, lumajang_wrong_person);
