//! The instance's own CI workflows, as `loket init` writes them: check, review,
//! apply, site, the expiry sweep and reminders, for GitHub Actions or Forgejo/Gitea
//! Actions. Each job installs one pinned loket release (version and SHA-256, checked
//! before it runs) and never builds or runs code from the repository, so a merged
//! change cannot alter the tool that holds the apply job's secrets.
//!
//! The templates live in `templates/workflows/`; they use `[[ ]]` and `[% %]` as
//! delimiters, since the workflows' own `${{ }}` expressions must pass through.

use std::path::{Path, PathBuf};

use minijinja::Environment;
use minijinja::syntax::SyntaxConfig;
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::forge::ForgeKind;

/// The workflows every instance gets, by file name.
pub const NAMES: [&str; 6] = [
    "check.yml",
    "review.yml",
    "apply.yml",
    "site.yml",
    "expiry.yml",
    "remind.yml",
];

/// Where releases are downloaded from by default: `<url>/v<version>/loket-x86_64-linux`.
/// An office that mirrors releases on its own forge gives `--release-url`.
pub const DEFAULT_RELEASE_URL: &str = concat!(env!("CARGO_PKG_REPOSITORY"), "/releases/download");

/// The release asset every workflow installs (the release workflow publishes it).
pub const ASSET: &str = "loket-x86_64-linux";

const TEMPLATES: &[(&str, &str)] = &[
    (
        "_env.yml",
        include_str!("../../templates/workflows/_env.yml"),
    ),
    (
        "_install.yml",
        include_str!("../../templates/workflows/_install.yml"),
    ),
    (
        "github/_records.yml",
        include_str!("../../templates/workflows/github/_records.yml"),
    ),
    (
        "github/check.yml",
        include_str!("../../templates/workflows/github/check.yml"),
    ),
    (
        "github/review.yml",
        include_str!("../../templates/workflows/github/review.yml"),
    ),
    (
        "github/apply.yml",
        include_str!("../../templates/workflows/github/apply.yml"),
    ),
    (
        "github/site.yml",
        include_str!("../../templates/workflows/github/site.yml"),
    ),
    (
        "github/expiry.yml",
        include_str!("../../templates/workflows/github/expiry.yml"),
    ),
    (
        "github/remind.yml",
        include_str!("../../templates/workflows/github/remind.yml"),
    ),
    (
        "forgejo/_fetch_pr.yml",
        include_str!("../../templates/workflows/forgejo/_fetch_pr.yml"),
    ),
    (
        "forgejo/_fetch_main.yml",
        include_str!("../../templates/workflows/forgejo/_fetch_main.yml"),
    ),
    (
        "forgejo/_records.yml",
        include_str!("../../templates/workflows/forgejo/_records.yml"),
    ),
    (
        "forgejo/check.yml",
        include_str!("../../templates/workflows/forgejo/check.yml"),
    ),
    (
        "forgejo/review.yml",
        include_str!("../../templates/workflows/forgejo/review.yml"),
    ),
    (
        "forgejo/apply.yml",
        include_str!("../../templates/workflows/forgejo/apply.yml"),
    ),
    (
        "forgejo/site.yml",
        include_str!("../../templates/workflows/forgejo/site.yml"),
    ),
    (
        "forgejo/expiry.yml",
        include_str!("../../templates/workflows/forgejo/expiry.yml"),
    ),
    (
        "forgejo/remind.yml",
        include_str!("../../templates/workflows/forgejo/remind.yml"),
    ),
];

/// The loket release the workflows install.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Release {
    pub version: String,
    /// Lower-case hex SHA-256 of the release asset.
    pub sha256: String,
    /// Base URL; the asset is at `<url>/v<version>/loket-x86_64-linux`.
    pub release_url: String,
}

#[derive(Debug, Error)]
pub enum WorkflowError {
    #[error("--release-sha256 `{0}` is not 64 hexadecimal digits")]
    BadSha256(String),
    #[error("--release-url `{0}` is not an https://, http:// or file:// URL")]
    BadUrl(String),
    #[error("cannot read this loket binary to pin its SHA-256 ({0}); give --release-sha256")]
    ThisBinary(std::io::Error),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("workflow template {name}: {source}")]
    Template {
        name: String,
        #[source]
        source: minijinja::Error,
    },
}

impl Release {
    /// This version, with the given checksum (validated) or, by default, the
    /// checksum of the running binary: run from the release asset (or the `.deb`,
    /// which installs the same file), that is the asset's.
    pub fn new(sha256: Option<&str>, url: Option<&str>) -> Result<Release, WorkflowError> {
        let sha256 = match sha256 {
            Some(s) if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) => {
                s.to_ascii_lowercase()
            }
            Some(s) => return Err(WorkflowError::BadSha256(s.to_string())),
            None => this_binary_sha256().map_err(WorkflowError::ThisBinary)?,
        };
        let url = url.unwrap_or(DEFAULT_RELEASE_URL).trim_end_matches('/');
        let scheme_ok = ["https://", "http://", "file:///"]
            .iter()
            .any(|s| url.starts_with(s) && url.len() > s.len());
        // The URL is pasted into YAML and a shell variable: no quotes, no spaces.
        let plain = url
            .chars()
            .all(|c| c.is_ascii_graphic() && !matches!(c, '"' | '\'' | '\\' | '$' | '`'));
        if !scheme_ok || !plain {
            return Err(WorkflowError::BadUrl(url.to_string()));
        }
        Ok(Release {
            version: env!("CARGO_PKG_VERSION").to_string(),
            sha256,
            release_url: url.to_string(),
        })
    }
}

fn this_binary_sha256() -> std::io::Result<String> {
    let exe = std::env::current_exe()?;
    let mut file = std::fs::File::open(exe)?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher)?;
    Ok(format!("{:x}", hasher.finalize()))
}

/// Every workflow for `forge`, as `(path in the instance, text)`.
pub fn render(
    forge: ForgeKind,
    release: &Release,
) -> Result<Vec<(PathBuf, String)>, WorkflowError> {
    let env = environment()?;
    let prefix = match forge {
        ForgeKind::GitHub => "github",
        ForgeKind::Forgejo => "forgejo",
    };
    NAMES
        .iter()
        .map(|name| {
            let tpl = format!("{prefix}/{name}");
            let text = env
                .get_template(&tpl)
                .and_then(|t| {
                    t.render(minijinja::context! {
                        version => &release.version,
                        sha256 => &release.sha256,
                        release_url => &release.release_url,
                    })
                })
                .map_err(|source| WorkflowError::Template {
                    name: tpl.clone(),
                    source,
                })?;
            Ok((PathBuf::from(forge.workflow_dir()).join(name), text + "\n"))
        })
        .collect()
}

/// How a workflow on disk compares with what [`render`] gives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Same,
    Differs,
    Missing,
}

/// Each rendered workflow's state under `root` (a symlink or a non-regular file
/// reads as differing: it is not what loket wrote).
pub fn compare(root: &Path, files: &[(PathBuf, String)]) -> Vec<(PathBuf, State)> {
    files
        .iter()
        .map(|(rel, text)| {
            let state = match crate::model::regular::read_to_string(&root.join(rel)) {
                Ok(t) if t == *text => State::Same,
                Ok(_) => State::Differs,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => State::Missing,
                Err(_) => State::Differs,
            };
            (rel.clone(), state)
        })
        .collect()
}

/// Writes the workflows that are missing or differ (an upgrade re-pins every
/// job); the others are left untouched. Returns the paths written.
pub fn write(root: &Path, files: &[(PathBuf, String)]) -> Result<Vec<PathBuf>, WorkflowError> {
    let mut written = Vec::new();
    for ((rel, text), (_, state)) in files.iter().zip(compare(root, files)) {
        if state == State::Same {
            continue;
        }
        let path = root.join(rel);
        let err = |source| WorkflowError::Write {
            path: path.clone(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(err)?;
        }
        crate::apply::fsutil::atomic_write(&path, text.as_bytes(), 0o644, None)
            .map_err(|e| err(std::io::Error::other(e.to_string())))?;
        written.push(path);
    }
    Ok(written)
}

fn environment() -> Result<Environment<'static>, WorkflowError> {
    let err = |source| WorkflowError::Template {
        name: "syntax".into(),
        source,
    };
    let mut env = Environment::new();
    let syntax = SyntaxConfig::builder()
        .block_delimiters("[%", "%]")
        .variable_delimiters("[[", "]]")
        .comment_delimiters("[#", "#]")
        .build()
        .map_err(err)?;
    env.set_syntax(syntax);
    env.set_undefined_behavior(minijinja::UndefinedBehavior::Strict);
    for (name, source) in TEMPLATES {
        env.add_template(name, source)
            .map_err(|source| WorkflowError::Template {
                name: (*name).to_string(),
                source,
            })?;
    }
    Ok(env)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release() -> Release {
        Release::new(Some(&"ab".repeat(32)), Some("https://example.org/rel")).unwrap()
    }

    #[test]
    fn every_workflow_pins_the_release_and_builds_nothing() {
        for forge in [ForgeKind::GitHub, ForgeKind::Forgejo] {
            let files = render(forge, &release()).unwrap();
            assert_eq!(files.len(), NAMES.len());
            for (path, text) in files {
                assert!(path.starts_with(forge.workflow_dir()), "{}", path.display());
                assert!(
                    !text.contains("[["),
                    "{}: a template tag left",
                    path.display()
                );
                assert!(!text.contains("cargo "), "{}: builds loket", path.display());
                assert!(
                    text.contains(&format!("LOKET_SHA256: \"{}\"", "ab".repeat(32))),
                    "{}",
                    path.display()
                );
                assert!(text.contains("sha256sum --check"), "{}", path.display());
                assert!(text.contains("${{ github."), "{}", path.display());
                yaml_rust2::YamlLoader::load_from_str(&text)
                    .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            }
        }
    }

    #[test]
    fn a_bad_checksum_or_url_is_refused() {
        for bad in ["", "ab", &"g".repeat(64), &"ab".repeat(33)] {
            assert!(matches!(
                Release::new(Some(bad), None),
                Err(WorkflowError::BadSha256(_))
            ));
        }
        let sha = "ab".repeat(32);
        for bad in [
            "ftp://x",
            "https://",
            "https://x/$(id)",
            "https://x/a b",
            "https://x/\"",
            "example.org",
        ] {
            assert!(
                matches!(
                    Release::new(Some(&sha), Some(bad)),
                    Err(WorkflowError::BadUrl(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn an_upgrade_rewrites_only_what_differs() {
        let dir = tempfile::tempdir().unwrap();
        let old = render(ForgeKind::GitHub, &release()).unwrap();
        assert_eq!(write(dir.path(), &old).unwrap().len(), NAMES.len());
        assert!(
            compare(dir.path(), &old)
                .iter()
                .all(|(_, s)| *s == State::Same)
        );
        let mut new = release();
        new.sha256 = "cd".repeat(32);
        let new = render(ForgeKind::GitHub, &new).unwrap();
        assert!(
            compare(dir.path(), &new)
                .iter()
                .all(|(_, s)| *s == State::Differs)
        );
        std::fs::remove_file(dir.path().join(&new[0].0)).unwrap();
        assert_eq!(compare(dir.path(), &new)[0].1, State::Missing);
        assert_eq!(write(dir.path(), &new).unwrap().len(), NAMES.len());
        assert!(write(dir.path(), &new).unwrap().is_empty());
    }

    #[test]
    fn by_default_the_running_binary_is_pinned() {
        let r = Release::new(None, None).unwrap();
        assert_eq!(r.sha256, this_binary_sha256().unwrap());
        assert_eq!(r.version, env!("CARGO_PKG_VERSION"));
        assert!(r.release_url.starts_with("https://"));
    }
}
