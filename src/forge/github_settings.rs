//! GitHub's repository settings for `loket doctor`: branch rulesets (the rules that
//! apply to a branch, and each ruleset's bypass list), classic branch protection,
//! collaborators' permissions, deploy keys and Actions secret names.

use serde::Deserialize;
use serde_json::Value;

use super::github::GitHub;
use super::http::{Http, MAX_PAGES, encode_path, unfinished};
use super::settings::{Access, BranchRules, Bypass, DeployKey, ForgeSettings};
use super::{ForgeError, ForgeKind};

/// One entry of `GET /repos/{o}/{r}/rules/branches/{branch}`.
#[derive(Deserialize)]
struct ActiveRule {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    parameters: Value,
    #[serde(default)]
    ruleset_id: Option<u64>,
}

#[derive(Deserialize)]
struct Ruleset {
    /// Present only for tokens that may administer the ruleset.
    #[serde(default)]
    bypass_actors: Option<Vec<BypassActor>>,
}

#[derive(Deserialize)]
struct BypassActor {
    #[serde(default)]
    actor_id: Option<u64>,
    actor_type: String,
}

#[derive(Deserialize)]
struct SecretList {
    total_count: u64,
    secrets: Vec<Named>,
}

#[derive(Deserialize)]
struct Named {
    name: String,
}

impl GitHub {
    /// The rules of every active ruleset that targets `branch`, and their bypass lists.
    fn ruleset_rules(&self, branch: &str) -> Result<Option<BranchRules>, ForgeError> {
        let rules: Vec<ActiveRule> =
            self.list(&format!("rules/branches/{}", encode_path(branch)))?;
        if rules.is_empty() {
            return Ok(None);
        }
        let mut out = BranchRules {
            protected: true,
            ..BranchRules::default()
        };
        let mut ids = Vec::new();
        for r in &rules {
            apply_rule(&mut out, r);
            if let Some(id) = r.ruleset_id.filter(|id| !ids.contains(id)) {
                ids.push(id);
            }
        }
        for id in ids {
            let url = format!("{}/rulesets/{id}", self.repo_url);
            let set: Ruleset = self.http.get(&url)?.items;
            let actors = set.bypass_actors.ok_or_else(|| ForgeError::Incomplete {
                what: url.clone(),
                listed: None,
                expected: None,
                message: format!(
                    "{url} shows no bypass list: the token cannot administer the ruleset, so who may bypass it is unknown (run doctor with an administrator's token)"
                ),
            })?;
            out.bypass.extend(actors.iter().map(bypass_of));
        }
        Ok(Some(out))
    }

    /// Classic branch protection, if the branch has it.
    fn classic_rules(&self, branch: &str) -> Result<Option<BranchRules>, ForgeError> {
        let url = format!(
            "{}/branches/{}/protection",
            self.repo_url,
            encode_path(branch)
        );
        let p: Value = match self.http.get(&url) {
            Ok(page) => page.items,
            Err(ForgeError::NotFound { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let flag = |k: &str| p[k]["enabled"].as_bool().unwrap_or(false);
        let reviews = &p["required_pull_request_reviews"];
        let checks = &p["required_status_checks"];
        let mut required_checks: Vec<String> = strings(&checks["contexts"]);
        required_checks.extend(
            checks["checks"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c["context"].as_str().map(str::to_string)),
        );
        let mut bypass = Vec::new();
        if !flag("enforce_admins") {
            bypass.push(Bypass::Administrators);
        }
        let allow = &reviews["bypass_pull_request_allowances"];
        bypass.extend(names(&allow["users"], "login").map(Bypass::User));
        bypass.extend(names(&allow["teams"], "slug").map(Bypass::Team));
        bypass.extend(names(&allow["apps"], "slug").map(Bypass::App));
        Ok(Some(BranchRules {
            protected: true,
            require_pull_request: reviews.is_object(),
            required_approvals: count(&reviews["required_approving_review_count"]),
            dismiss_stale: reviews["dismiss_stale_reviews"].as_bool().unwrap_or(false),
            required_checks,
            block_force_push: !flag("allow_force_pushes"),
            block_deletion: !flag("allow_deletions"),
            bypass,
        }))
    }

    /// A secrets list (`{total_count, secrets}`), read page by page to its count.
    fn secrets(&self, path: &str) -> Result<Vec<String>, ForgeError> {
        let mut out = Vec::new();
        for page in 1..=MAX_PAGES {
            let url = format!("{}/{path}?per_page=100&page={page}", self.repo_url);
            let got: SecretList = self.http.get(&url)?.items;
            let empty = got.secrets.is_empty();
            out.extend(got.secrets.into_iter().map(|s| s.name));
            if out.len() as u64 >= got.total_count {
                return Ok(out);
            }
            if empty {
                let why = format!(
                    "the forge counts {} secrets but listed {}",
                    got.total_count,
                    out.len()
                );
                return Err(unfinished(&url, out.len(), Some(got.total_count), &why));
            }
        }
        let url = format!("{}/{path}", self.repo_url);
        Err(unfinished(
            &url,
            out.len(),
            None,
            "too many pages of secrets",
        ))
    }
}

/// Folds one active rule into the branch's rules (the strictest setting wins).
fn apply_rule(out: &mut BranchRules, r: &ActiveRule) {
    let p = &r.parameters;
    match r.kind.as_str() {
        "pull_request" => {
            out.require_pull_request = true;
            out.required_approvals = out
                .required_approvals
                .max(count(&p["required_approving_review_count"]));
            out.dismiss_stale |= p["dismiss_stale_reviews_on_push"]
                .as_bool()
                .unwrap_or(false);
        }
        "required_status_checks" => out.required_checks.extend(
            p["required_status_checks"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|c| c["context"].as_str().map(str::to_string)),
        ),
        "non_fast_forward" => out.block_force_push = true,
        "deletion" => out.block_deletion = true,
        _ => {}
    }
}

fn bypass_of(a: &BypassActor) -> Bypass {
    let id = a
        .actor_id
        .map_or_else(|| "?".to_string(), |i| i.to_string());
    match a.actor_type.as_str() {
        "DeployKey" => Bypass::DeployKeys,
        "OrganizationAdmin" => Bypass::Administrators,
        // Repository role 5 is the built-in admin role.
        "RepositoryRole" if a.actor_id == Some(5) => Bypass::Administrators,
        "RepositoryRole" => Bypass::Role(id),
        "Team" => Bypass::Team(id),
        "Integration" => Bypass::App(id),
        other => Bypass::Role(format!("{other} {id}")),
    }
}

fn count(v: &Value) -> u32 {
    v.as_u64()
        .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX))
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s.as_str().map(str::to_string))
        .collect()
}

fn names<'a>(v: &'a Value, key: &'a str) -> impl Iterator<Item = String> + 'a {
    v.as_array()
        .into_iter()
        .flatten()
        .filter_map(move |x| x[key].as_str().map(str::to_string))
}

/// Combines rulesets and classic protection: each requirement holds if either
/// source enforces it. Bypass lists are per source: a classic allowance or admin
/// override does not get past a ruleset, so where rulesets exist theirs decide.
fn combine(rulesets: Option<BranchRules>, classic: Option<BranchRules>) -> BranchRules {
    match (rulesets, classic) {
        (None, None) => BranchRules::default(),
        (Some(r), None) | (None, Some(r)) => r,
        (Some(mut r), Some(c)) => {
            r.require_pull_request |= c.require_pull_request;
            r.required_approvals = r.required_approvals.max(c.required_approvals);
            r.dismiss_stale |= c.dismiss_stale;
            r.required_checks.extend(c.required_checks);
            r.block_force_push |= c.block_force_push;
            r.block_deletion |= c.block_deletion;
            r
        }
    }
}

impl ForgeSettings for GitHub {
    fn kind(&self) -> ForgeKind {
        ForgeKind::GitHub
    }

    fn branch_rules(&self, branch: &str) -> Result<BranchRules, ForgeError> {
        Ok(combine(
            self.ruleset_rules(branch)?,
            self.classic_rules(branch)?,
        ))
    }

    fn user_exists(&self, login: &str) -> Result<bool, ForgeError> {
        user_exists(&self.http, &self.repo_url, login)
    }

    fn access(&self, login: &str) -> Result<Access, ForgeError> {
        access(&self.http, &self.repo_url, login)
    }

    fn deploy_keys(&self) -> Result<Vec<DeployKey>, ForgeError> {
        let keys: Vec<Value> = self.list("keys")?;
        Ok(keys.iter().map(deploy_key).collect())
    }

    fn secret_names(&self, environment: Option<&str>) -> Result<Vec<String>, ForgeError> {
        match environment {
            None => self.secrets("actions/secrets"),
            Some(env) => self.secrets(&format!("environments/{}/secrets", encode_path(env))),
        }
    }
}

/// Whether `{api}/users/{login}` exists; `repo_url` is `{api}/repos/{owner}/{name}`.
pub(super) fn user_exists(http: &Http, repo_url: &str, login: &str) -> Result<bool, ForgeError> {
    let api = repo_url.rsplitn(4, '/').nth(3).unwrap_or(repo_url);
    let url = format!("{api}/users/{}", encode_path(login));
    match http.get::<Value>(&url) {
        Ok(_) => Ok(true),
        Err(ForgeError::NotFound { .. }) => Ok(false),
        Err(e) => Err(e),
    }
}

/// A login's access from `collaborators/{login}/permission`; no such collaborator is
/// no access.
pub(super) fn access(http: &Http, repo_url: &str, login: &str) -> Result<Access, ForgeError> {
    let url = format!("{repo_url}/collaborators/{}/permission", encode_path(login));
    match http.get::<Value>(&url) {
        Ok(p) => permission(&url, &p.items),
        Err(ForgeError::NotFound { .. }) => Ok(Access::None),
        Err(e) => Err(e),
    }
}

/// `role_name` (which names maintain and triage) else `permission`; anything else is
/// an answer the doctor cannot judge.
fn permission(url: &str, v: &Value) -> Result<Access, ForgeError> {
    ["role_name", "permission"]
        .iter()
        .find_map(|k| v[*k].as_str().and_then(Access::parse))
        .ok_or_else(|| ForgeError::Decode {
            url: url.to_string(),
            message: "no permission the doctor knows in the answer".into(),
        })
}

pub(super) fn deploy_key(v: &Value) -> DeployKey {
    DeployKey {
        title: v["title"].as_str().unwrap_or("").to_string(),
        // A key whose mode is not stated counts as able to write.
        read_only: v["read_only"].as_bool().unwrap_or(false),
    }
}
