//! `loket init`: presets, the files it writes, and what it refuses.

use super::*;
use crate::check::{Options, run};
use crate::model::Instance;

/// A setup with a fixed release, for GitHub.
fn setup(admin: AdminKey) -> Setup {
    Setup {
        admin,
        forge: ForgeKind::GitHub,
        release: workflows::Release::new(Some(&"ab".repeat(32)), None).unwrap(),
    }
}

#[test]
fn every_preset_parses_and_checks_clean() {
    for p in PRESETS {
        let inst = Instance::from_files(
            Path::new("."),
            vec![(CONFIG_FILE.to_string(), p.config.to_string())],
        );
        assert!(inst.failures.is_empty(), "{}: {:?}", p.id, inst.failures);
        let config = inst.config.as_ref().unwrap();
        // every step names a declared role
        for (sop, s) in &config.sops {
            for step in &s.steps {
                assert!(
                    config.roles.contains_key(step.role.get_ref()),
                    "{}: sops.{sop} step {} names unknown role {}",
                    p.id,
                    step.id.get_ref(),
                    step.role.get_ref()
                );
            }
        }
        let report = run(
            &inst,
            None,
            &Options {
                today: jiff::civil::date(2026, 11, 24),
                skip: Default::default(),
            },
        );
        assert!(
            report.is_clean(),
            "{}: {}",
            p.id,
            crate::diag::render_human(&inst.sources, &report.diagnostics)
        );
    }
}

#[test]
fn kebumen_lets_one_operator_do_everything() {
    let inst = Instance::from_files(
        Path::new("."),
        vec![(CONFIG_FILE.into(), preset("kebumen").unwrap().config.into())],
    );
    let sop = &inst.config.unwrap().sops["email"];
    assert!(!sop.distinct_people);
    let minutes: Vec<_> = sop.steps.iter().map(|s| s.minutes).collect();
    assert_eq!(minutes, [Some(1), Some(5), Some(1)]);
}

#[test]
fn lumajang_keeps_the_sop_numbering_without_step_4() {
    let inst = Instance::from_files(
        Path::new("."),
        vec![(
            CONFIG_FILE.into(),
            preset("lumajang").unwrap().config.into(),
        )],
    );
    let sop = &inst.config.unwrap().sops["email"];
    let nos: Vec<_> = sop.steps.iter().filter_map(|s| s.no).collect();
    assert_eq!(nos, [1, 2, 3, 5, 6, 7, 8, 9, 10, 11, 12, 13]);
    let total: u32 = sop.steps.iter().filter_map(|s| s.minutes).sum();
    assert_eq!(total, 5 + 5 + 5 + 10 + 10 + 10);
}

#[test]
fn refuses_to_overwrite_an_instance() {
    let dir = tempfile::tempdir().unwrap();
    init(
        dir.path(),
        preset("kudus").unwrap(),
        &setup(AdminKey::Generate),
    )
    .unwrap();
    let before = fs::read_to_string(dir.path().join(CONFIG_FILE)).unwrap();
    let err = init(
        dir.path(),
        preset("kebumen").unwrap(),
        &setup(AdminKey::Generate),
    )
    .unwrap_err();
    assert!(
        matches!(
            err,
            InitError::Exists {
                found: "loket.toml",
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        fs::read_to_string(dir.path().join(CONFIG_FILE)).unwrap(),
        before
    );
}

#[test]
fn a_new_instance_gets_its_own_admin_key_not_the_demo_one() {
    use std::io::Read;
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let w = init(
        dir.path(),
        preset("kudus").unwrap(),
        &setup(AdminKey::Generate),
    )
    .unwrap();
    let config = fs::read_to_string(dir.path().join(CONFIG_FILE)).unwrap();
    assert!(
        !config.contains("AAAAC3NzaC1lZDI1NTE5AAAAIEGkPy9"),
        "demo key kept"
    );
    assert!(config.contains(&format!("admin-recipient = \"{}\"", w.recipient)));
    assert!(
        config.contains("# Credentials of a request without"),
        "comments kept"
    );
    let id_path = w.identity.unwrap();
    let mode = fs::metadata(&id_path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    // The identity opens what is sealed to the configured recipient.
    let r = crate::apply::credentials::recipient(&w.recipient).unwrap();
    let sealed = crate::apply::credentials::seal("hello", r.as_ref()).unwrap();
    let ids = age::IdentityFile::from_file(id_path.display().to_string())
        .unwrap()
        .into_identities()
        .unwrap();
    let mut out = String::new();
    age::Decryptor::new(&sealed[..])
        .unwrap()
        .decrypt(ids.iter().map(|i| i.as_ref() as &dyn age::Identity))
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert_eq!(out, "hello");
    // Git ignores it; a second instance gets a different key.
    assert!(
        fs::read_to_string(dir.path().join(".gitignore"))
            .unwrap()
            .contains("*.key")
    );
    let other = tempfile::tempdir().unwrap();
    let w2 = init(
        other.path(),
        preset("kudus").unwrap(),
        &setup(AdminKey::Generate),
    )
    .unwrap();
    assert_ne!(w.recipient, w2.recipient);
}

#[test]
fn presets_without_backends_get_the_admin_key_and_still_check_clean() {
    let dir = tempfile::tempdir().unwrap();
    let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEGkPy9vpsQGidoKFPi8l9xw5dOdzPmRbPDhXT2iq3i6 admin@lumajang";
    let w = init(
        dir.path(),
        preset("lumajang").unwrap(),
        &setup(AdminKey::Given(key.into())),
    )
    .unwrap();
    assert!(w.identity.is_none());
    assert!(!dir.path().join(ADMIN_IDENTITY_FILE).exists());
    let inst = Instance::load(dir.path()).unwrap();
    assert!(inst.failures.is_empty(), "{:?}", inst.failures);
    let config = inst.config.as_ref().unwrap();
    assert_eq!(config.backends.admin_recipient.as_deref(), Some(key));
}

#[test]
fn a_bad_admin_key_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let err = init(
        dir.path(),
        preset("kudus").unwrap(),
        &setup(AdminKey::Given("age1notakey".into())),
    )
    .unwrap_err();
    assert!(matches!(err, InitError::BadRecipient(_)), "{err}");
    assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn an_existing_gitignore_gains_the_secret_lines_it_lacks() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join(".gitignore"), "notes.txt").unwrap();
    init(
        dir.path(),
        preset("kudus").unwrap(),
        &setup(AdminKey::Generate),
    )
    .unwrap();
    let gi = fs::read_to_string(dir.path().join(".gitignore")).unwrap();
    assert!(gi.starts_with("notes.txt\n"), "{gi}");
    assert!(gi.lines().any(|l| l == "*.key") && gi.lines().any(|l| l == "/state/"));
}

#[test]
fn a_new_instance_gets_its_forges_workflows_pinned_to_this_release() {
    for forge in [ForgeKind::GitHub, ForgeKind::Forgejo] {
        let dir = tempfile::tempdir().unwrap();
        let s = Setup {
            forge,
            ..setup(AdminKey::Generate)
        };
        let w = init(dir.path(), preset("lumajang").unwrap(), &s).unwrap();
        for name in workflows::NAMES {
            let path = dir.path().join(forge.workflow_dir()).join(name);
            assert!(w.paths.contains(&path), "{}", path.display());
            let text = fs::read_to_string(&path).unwrap();
            assert!(text.contains(&format!("LOKET_SHA256: \"{}\"", "ab".repeat(32))));
        }
        // The other forge's folder is not written.
        let other = match forge {
            ForgeKind::GitHub => ForgeKind::Forgejo,
            ForgeKind::Forgejo => ForgeKind::GitHub,
        };
        assert!(!dir.path().join(other.workflow_dir()).exists());
    }
}

#[test]
fn an_existing_workflow_is_never_overwritten() {
    let dir = tempfile::tempdir().unwrap();
    let own = dir.path().join(".github/workflows/check.yml");
    fs::create_dir_all(own.parent().unwrap()).unwrap();
    fs::write(&own, "name: mine\n").unwrap();
    let err = init(
        dir.path(),
        preset("kudus").unwrap(),
        &setup(AdminKey::Generate),
    )
    .unwrap_err();
    assert!(
        matches!(err, InitError::WorkflowExists(ref p) if *p == own),
        "{err}"
    );
    assert_eq!(fs::read_to_string(&own).unwrap(), "name: mine\n");
    assert!(!dir.path().join(CONFIG_FILE).exists());
}
