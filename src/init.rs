//! `loket init`: the office presets embedded in the binary, and writing a fresh
//! instance (config, empty data folders, `.gitignore`) from one of them, with the
//! office admin's own key to seal credentials to.

use std::fs;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::model::record::RECORDS_DIR;
use crate::model::{
    ACCOUNTS_DIR, CONFIG_FILE, MAIL_ACCOUNTS_DIR, REQUESTS_DIR, SERVER_ACCOUNTS_DIR,
};

/// One office's ready-made `loket.toml`.
#[derive(Debug, Clone, Copy)]
pub struct Preset {
    /// What `--preset` takes, e.g. `palangka-raya`.
    pub id: &'static str,
    /// The government it was written for.
    pub office: &'static str,
    /// The SOPs it encodes, for `loket init --list`.
    pub sops: &'static str,
    pub config: &'static str,
}

/// Every preset, in the order of the SOP summary.
pub static PRESETS: &[Preset] = &[
    Preset {
        id: "kudus",
        office: "Pemerintah Kabupaten Kudus",
        sops: "555/965/18.03/2021 (email), 555/967/18.03/2021 (akses server)",
        config: include_str!("../presets/kudus.toml"),
    },
    Preset {
        id: "kebumen",
        office: "Pemerintah Kabupaten Kebumen",
        sops: "064/095 (email)",
        config: include_str!("../presets/kebumen.toml"),
    },
    Preset {
        id: "palangka-raya",
        office: "Pemerintah Kota Palangka Raya",
        sops: "VI.6 (email)",
        config: include_str!("../presets/palangka-raya.toml"),
    },
    Preset {
        id: "lumajang",
        office: "Pemerintah Kabupaten Lumajang",
        sops: "427.53/4/2.04/2021 (email)",
        config: include_str!("../presets/lumajang.toml"),
    },
];

/// Looks a preset up by id.
pub fn preset(id: &str) -> Option<&'static Preset> {
    PRESETS.iter().find(|p| p.id == id)
}

/// The `.gitignore` of a new instance: secrets never belong in the repository.
pub const GITIGNORE: &str = "\
# loket never writes secrets into the instance; keep local key material and
# rendered output out of git too.
*.key
*.pem
*.age
id_rsa
id_ed25519
.env
/state/
/_site/
/target/
# loket's local state, e.g. its parse cache (state/cache/)
/state/
";

/// Where `loket init` writes a generated admin identity (git-ignored by `*.key`).
pub const ADMIN_IDENTITY_FILE: &str = "admin-identity.key";

/// The key credentials are sealed to when a request names no recipient of its own.
#[derive(Debug, Clone)]
pub enum AdminKey {
    /// A new age key pair: the public half into `loket.toml`, the identity into
    /// [`ADMIN_IDENTITY_FILE`] (0600) for the admin to move somewhere safe.
    Generate,
    /// The admin's existing `age1…` or `ssh-ed25519 …` public key.
    Given(String),
}

/// What `init` wrote.
#[derive(Debug)]
pub struct Written {
    pub paths: Vec<PathBuf>,
    /// The generated identity file, if any.
    pub identity: Option<PathBuf>,
    /// The admin public key now in `loket.toml`.
    pub recipient: String,
}

#[derive(Debug, Error)]
pub enum InitError {
    #[error(
        "{} already holds a loket instance ({} exists); refusing to overwrite it. \
         Choose an empty or new directory",
        dir.display(),
        found
    )]
    Exists { dir: PathBuf, found: &'static str },
    #[error("--admin-recipient `{0}` is not an age (`age1…`) or SSH (`ssh-ed25519 …`) public key")]
    BadRecipient(String),
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Writes a new instance from `preset` into `dir` (created if missing), with `admin`
/// as `backends.admin-recipient`. Refuses if `dir` already holds any part of an
/// instance.
pub fn init(dir: &Path, preset: &Preset, admin: &AdminKey) -> Result<Written, InitError> {
    for found in [CONFIG_FILE, REQUESTS_DIR, ACCOUNTS_DIR, RECORDS_DIR] {
        if dir.join(found).symlink_metadata().is_ok() {
            return Err(InitError::Exists {
                dir: dir.to_path_buf(),
                found,
            });
        }
    }
    if let AdminKey::Given(key) = admin {
        crate::apply::credentials::recipient(key)
            .map_err(|_| InitError::BadRecipient(key.clone()))?;
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| InitError::Io { path, source }
    };
    let mut paths = Vec::new();
    for sub in [
        REQUESTS_DIR,
        MAIL_ACCOUNTS_DIR,
        SERVER_ACCOUNTS_DIR,
        RECORDS_DIR,
    ] {
        let d = dir.join(sub);
        fs::create_dir_all(&d).map_err(io(&d))?;
        let keep = d.join(".gitkeep");
        fs::write(&keep, "").map_err(io(&keep))?;
        paths.push(keep);
    }
    // Before any key is written: an existing .gitignore gets the lines it lacks.
    let gitignore = dir.join(".gitignore");
    let old = fs::read_to_string(&gitignore).unwrap_or_default();
    let missing: String = GITIGNORE
        .lines()
        .filter(|l| !l.starts_with('#') && !old.lines().any(|o| o.trim() == *l))
        .map(|l| format!("{l}\n"))
        .collect();
    if old.is_empty() {
        fs::write(&gitignore, GITIGNORE).map_err(io(&gitignore))?;
        paths.push(gitignore);
    } else if !missing.is_empty() {
        let sep = if old.ends_with('\n') { "" } else { "\n" };
        fs::write(&gitignore, format!("{old}{sep}{missing}")).map_err(io(&gitignore))?;
        paths.push(gitignore);
    }
    let (recipient, identity) = match admin {
        AdminKey::Given(key) => (key.trim().to_string(), None),
        AdminKey::Generate => {
            let id = age::x25519::Identity::generate();
            let public = id.to_public().to_string();
            let path = dir.join(ADMIN_IDENTITY_FILE);
            let text = zeroize::Zeroizing::new(format!(
                "# loket admin identity for {}: opens credentials sealed to\n\
                 # public key: {public}\n# Keep it off the repository and the CI runner.\n{}\n",
                preset.office,
                age::secrecy::ExposeSecret::expose_secret(&id.to_string())
            ));
            crate::apply::fsutil::atomic_write(&path, text.as_bytes(), 0o600, None).map_err(
                |e| InitError::Io {
                    path: path.clone(),
                    source: std::io::Error::other(e.to_string()),
                },
            )?;
            paths.push(path.clone());
            (public, Some(path))
        }
    };
    // The config last: until it exists the directory is not an instance.
    let config = dir.join(CONFIG_FILE);
    fs::write(&config, with_admin_recipient(preset.config, &recipient)).map_err(io(&config))?;
    paths.push(config);
    Ok(Written {
        paths,
        identity,
        recipient,
    })
}

/// The preset's config with `backends.admin-recipient` set, comments kept.
fn with_admin_recipient(config: &str, recipient: &str) -> String {
    let mut doc: toml_edit::DocumentMut = config.parse().expect("presets are valid TOML");
    let backends = doc
        .entry("backends")
        .or_insert_with(|| toml_edit::Item::Table(toml_edit::Table::new()));
    backends["admin-recipient"] = toml_edit::value(recipient);
    doc.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::{Options, run};
    use crate::model::Instance;

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
        init(dir.path(), preset("kudus").unwrap(), &AdminKey::Generate).unwrap();
        let before = fs::read_to_string(dir.path().join(CONFIG_FILE)).unwrap();
        let err = init(dir.path(), preset("kebumen").unwrap(), &AdminKey::Generate).unwrap_err();
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
        let w = init(dir.path(), preset("kudus").unwrap(), &AdminKey::Generate).unwrap();
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
        let w2 = init(other.path(), preset("kudus").unwrap(), &AdminKey::Generate).unwrap();
        assert_ne!(w.recipient, w2.recipient);
    }

    #[test]
    fn presets_without_backends_get_the_admin_key_and_still_check_clean() {
        let dir = tempfile::tempdir().unwrap();
        let key = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEGkPy9vpsQGidoKFPi8l9xw5dOdzPmRbPDhXT2iq3i6 admin@lumajang";
        let w = init(
            dir.path(),
            preset("lumajang").unwrap(),
            &AdminKey::Given(key.into()),
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
            &AdminKey::Given("age1notakey".into()),
        )
        .unwrap_err();
        assert!(matches!(err, InitError::BadRecipient(_)), "{err}");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn an_existing_gitignore_gains_the_secret_lines_it_lacks() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(".gitignore"), "notes.txt").unwrap();
        init(dir.path(), preset("kudus").unwrap(), &AdminKey::Generate).unwrap();
        let gi = fs::read_to_string(dir.path().join(".gitignore")).unwrap();
        assert!(gi.starts_with("notes.txt\n"), "{gi}");
        assert!(gi.lines().any(|l| l == "*.key") && gi.lines().any(|l| l == "/state/"));
    }
}
