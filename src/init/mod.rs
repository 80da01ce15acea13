//! `loket init`: the office presets embedded in the binary, and writing a fresh
//! instance (config, empty data folders, `.gitignore`, the CI workflows of its forge)
//! from one of them, with the office admin's own key to seal credentials to.

pub mod workflows;

use std::fs;
use std::path::{Path, PathBuf};

use thiserror::Error;

use crate::forge::ForgeKind;
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
        config: include_str!("../../presets/kudus.toml"),
    },
    Preset {
        id: "kebumen",
        office: "Pemerintah Kabupaten Kebumen",
        sops: "064/095 (email)",
        config: include_str!("../../presets/kebumen.toml"),
    },
    Preset {
        id: "palangka-raya",
        office: "Pemerintah Kota Palangka Raya",
        sops: "VI.6 (email)",
        config: include_str!("../../presets/palangka-raya.toml"),
    },
    Preset {
        id: "lumajang",
        office: "Pemerintah Kabupaten Lumajang",
        sops: "427.53/4/2.04/2021 (email)",
        config: include_str!("../../presets/lumajang.toml"),
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

/// How `init` sets a new instance up.
#[derive(Debug, Clone)]
pub struct Setup {
    pub admin: AdminKey,
    /// Whose Actions run the workflows.
    pub forge: ForgeKind,
    /// The loket release they install.
    pub release: workflows::Release,
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
    #[error(
        "{} already exists; refusing to overwrite it. Move it aside, or start the \
         instance in a new directory",
        .0.display()
    )]
    WorkflowExists(PathBuf),
    #[error(transparent)]
    Workflow(#[from] workflows::WorkflowError),
    #[error("cannot write {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// Writes a new instance from `preset` into `dir` (created if missing), with the
/// setup's admin key as `backends.admin-recipient` and its forge's workflows.
/// Refuses if `dir` already holds any part of an instance or one of the workflows.
pub fn init(dir: &Path, preset: &Preset, setup: &Setup) -> Result<Written, InitError> {
    let admin = &setup.admin;
    let flows = workflows::render(setup.forge, &setup.release)?;
    for found in [CONFIG_FILE, REQUESTS_DIR, ACCOUNTS_DIR, RECORDS_DIR] {
        if dir.join(found).symlink_metadata().is_ok() {
            return Err(InitError::Exists {
                dir: dir.to_path_buf(),
                found,
            });
        }
    }
    for (path, _) in &flows {
        if dir.join(path).symlink_metadata().is_ok() {
            return Err(InitError::WorkflowExists(dir.join(path)));
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
    for (rel, text) in &flows {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).map_err(io(parent))?;
        }
        fs::write(&path, text).map_err(io(&path))?;
        paths.push(path);
    }
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
mod tests;
