//! What `loket doctor` reads about a repository's settings: the rules that guard the
//! main branch, who may review, the deploy keys and the names of the Actions
//! secrets. Both forges normalise into these types, so the doctor's judgements are
//! written once. Reads are complete or refused, as for pull requests.

use serde::Serialize;

use super::{ForgeError, ForgeKind};

/// The rules that bind pushes and merges to one branch, from every source the forge
/// has (GitHub: rulesets and classic protection, combined; Forgejo: the matching
/// protected-branch rule).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct BranchRules {
    /// Some rule protects the branch at all.
    pub protected: bool,
    /// Changes reach the branch only through a pull request.
    pub require_pull_request: bool,
    pub required_approvals: u32,
    /// An approval given before a later push no longer counts.
    pub dismiss_stale: bool,
    /// Status checks that must pass before a merge (names or patterns as the forge
    /// keeps them).
    pub required_checks: Vec<String>,
    pub block_force_push: bool,
    pub block_deletion: bool,
    /// Who may push or merge past the rules.
    pub bypass: Vec<Bypass>,
}

/// One way past the branch rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", content = "name", rename_all = "kebab-case")]
pub enum Bypass {
    /// Every deploy key with write access (the records key's route).
    DeployKeys,
    /// Repository administrators (an admin override).
    Administrators,
    /// Everyone with write access may push directly.
    Writers,
    User(String),
    Team(String),
    /// A GitHub App or integration, by id.
    App(String),
    /// A repository or organisation role, by name or id.
    Role(String),
}

impl Bypass {
    /// How the doctor names it.
    pub fn describe(&self) -> String {
        match self {
            Bypass::DeployKeys => "deploy keys".into(),
            Bypass::Administrators => "administrators".into(),
            Bypass::Writers => "everyone with write access".into(),
            Bypass::User(u) => format!("user {u}"),
            Bypass::Team(t) => format!("team {t}"),
            Bypass::App(a) => format!("app {a}"),
            Bypass::Role(r) => format!("role {r}"),
        }
    }
}

/// A repository deploy key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DeployKey {
    pub title: String,
    pub read_only: bool,
}

/// A login's access to the repository, lowest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Access {
    None,
    Read,
    Triage,
    Write,
    Maintain,
    Admin,
}

impl Access {
    /// Reads the `permission` / `role_name` words both forges answer with.
    pub fn parse(word: &str) -> Option<Access> {
        Some(match word.to_ascii_lowercase().as_str() {
            "none" => Access::None,
            "read" | "pull" => Access::Read,
            "triage" => Access::Triage,
            "write" | "push" => Access::Write,
            "maintain" => Access::Maintain,
            "admin" | "owner" => Access::Admin,
            _ => return None,
        })
    }
}

/// The repository settings the doctor reads.
pub trait ForgeSettings {
    fn kind(&self) -> ForgeKind;
    fn branch_rules(&self, branch: &str) -> Result<BranchRules, ForgeError>;
    /// Whether an account with this login exists on the forge.
    fn user_exists(&self, login: &str) -> Result<bool, ForgeError>;
    /// The login's access to the repository.
    fn access(&self, login: &str) -> Result<Access, ForgeError>;
    fn deploy_keys(&self) -> Result<Vec<DeployKey>, ForgeError>;
    /// Names of the Actions secrets the repository's jobs can read; with an
    /// environment, that environment's own (GitHub; Forgejo has none).
    fn secret_names(&self, environment: Option<&str>) -> Result<Vec<String>, ForgeError>;
}

impl ForgeKind {
    /// Builds a settings reader for `repo` at `api_url` (see [`ForgeKind::client`]).
    pub fn settings_client(
        self,
        api_url: &str,
        repo: &str,
        token: Option<String>,
    ) -> Result<Box<dyn ForgeSettings>, ForgeError> {
        let (owner, name) = super::split_repo(repo)?;
        if let Some(t) = &token {
            crate::apply::redact::register(t);
            crate::apply::redact::register(t.trim());
        }
        let http = super::http::Http::new(self, token);
        Ok(match self {
            ForgeKind::GitHub => Box::new(super::GitHub::new(http, api_url, owner, name)),
            ForgeKind::Forgejo => Box::new(super::Forgejo::new(http, api_url, owner, name)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_words_of_both_forges_are_read_and_ordered() {
        assert_eq!(Access::parse("owner"), Some(Access::Admin));
        assert_eq!(Access::parse("WRITE"), Some(Access::Write));
        assert_eq!(Access::parse("triage"), Some(Access::Triage));
        assert_eq!(Access::parse("superuser"), None);
        assert!(Access::Read < Access::Write && Access::Write < Access::Admin);
    }
}
