//! `loket init`: the office presets embedded in the binary, and writing a fresh
//! instance (config, empty data folders, `.gitignore`) from one of them.

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
/_site/
/target/
# loket's local state, e.g. its parse cache (state/cache/)
/state/
";

#[derive(Debug, Error)]
pub enum InitError {
    #[error(
        "{} already holds a loket instance ({} exists); refusing to overwrite it. \
         Choose an empty or new directory",
        dir.display(),
        found
    )]
    Exists { dir: PathBuf, found: &'static str },
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Writes a new instance from `preset` into `dir` (created if missing) and returns
/// the paths written. Refuses if `dir` already holds any part of an instance.
pub fn init(dir: &Path, preset: &Preset) -> Result<Vec<PathBuf>, InitError> {
    for found in [CONFIG_FILE, REQUESTS_DIR, ACCOUNTS_DIR, RECORDS_DIR] {
        if dir.join(found).symlink_metadata().is_ok() {
            return Err(InitError::Exists {
                dir: dir.to_path_buf(),
                found,
            });
        }
    }
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| InitError::Io { path, source }
    };
    let mut written = Vec::new();
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
        written.push(keep);
    }
    let gitignore = dir.join(".gitignore");
    if !gitignore.exists() {
        fs::write(&gitignore, GITIGNORE).map_err(io(&gitignore))?;
        written.push(gitignore);
    }
    // The config last: until it exists the directory is not an instance.
    let config = dir.join(CONFIG_FILE);
    fs::write(&config, preset.config).map_err(io(&config))?;
    written.push(config);
    Ok(written)
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
        init(dir.path(), preset("kudus").unwrap()).unwrap();
        let err = init(dir.path(), preset("kebumen").unwrap()).unwrap_err();
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
            preset("kudus").unwrap().config
        );
    }
}
