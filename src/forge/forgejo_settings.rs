//! Forgejo/Gitea repository settings for `loket doctor`: the protected-branch rule
//! that matches a branch, collaborators' permissions, deploy keys and Actions secret
//! names.

use serde_json::Value;

use super::forgejo::{Forgejo, Total};
use super::github_settings::{access, deploy_key, user_exists};
use super::settings::{Access, BranchRules, Bypass, DeployKey, ForgeSettings};
use super::{ForgeError, ForgeKind};

/// The rule that protects `branch`: the one named exactly so, else the first whose
/// name is a glob matching it (Forgejo's own precedence).
fn rule_for<'a>(rules: &'a [Value], branch: &str) -> Option<&'a Value> {
    let name = |r: &Value| {
        r["rule_name"]
            .as_str()
            .filter(|s| !s.is_empty())
            .or_else(|| r["branch_name"].as_str())
            .unwrap_or("")
            .to_string()
    };
    rules
        .iter()
        .find(|r| name(r) == branch)
        .or_else(|| rules.iter().find(|r| glob_matches(&name(r), branch)))
}

/// Forgejo's branch-rule globs: `*` within a path segment, `**` across segments.
fn glob_matches(pattern: &str, branch: &str) -> bool {
    if !pattern.contains(['*', '?']) {
        return false;
    }
    let mut re = String::from("^");
    let mut chars = pattern.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' if chars.peek() == Some(&'*') => {
                chars.next();
                re.push_str(".*");
            }
            '*' => re.push_str("[^/]*"),
            '?' => re.push_str("[^/]"),
            c => re.push_str(&regex::escape(&c.to_string())),
        }
    }
    re.push('$');
    regex::Regex::new(&re).is_ok_and(|r| r.is_match(branch))
}

fn rules_of(r: &Value) -> BranchRules {
    let flag = |k: &str| r[k].as_bool().unwrap_or(false);
    let list = |k: &str| -> Vec<String> {
        r[k].as_array()
            .into_iter()
            .flatten()
            .filter_map(|s| s.as_str().map(str::to_string))
            .collect()
    };
    let (users, teams) = (
        list("push_whitelist_usernames"),
        list("push_whitelist_teams"),
    );
    let mut bypass = Vec::new();
    let pushes_closed = !flag("enable_push") || flag("enable_push_whitelist");
    if !pushes_closed {
        bypass.push(Bypass::Writers);
    }
    if flag("enable_push") && flag("enable_push_whitelist") {
        bypass.extend(users.into_iter().map(Bypass::User));
        bypass.extend(teams.into_iter().map(Bypass::Team));
        if flag("push_whitelist_deploy_keys") {
            bypass.push(Bypass::DeployKeys);
        }
    }
    // Forgejo says `apply_to_admins`, Gitea `block_admin_merge_override`.
    if !(flag("apply_to_admins") || flag("block_admin_merge_override")) {
        bypass.push(Bypass::Administrators);
    }
    BranchRules {
        protected: true,
        require_pull_request: pushes_closed,
        required_approvals: r["required_approvals"]
            .as_u64()
            .map_or(0, |n| u32::try_from(n).unwrap_or(u32::MAX)),
        dismiss_stale: flag("dismiss_stale_approvals"),
        required_checks: if flag("enable_status_check") {
            list("status_check_contexts")
        } else {
            Vec::new()
        },
        // Servers without the field never allowed force pushes to a protected branch.
        block_force_push: !flag("enable_force_push"),
        // A protected branch cannot be deleted.
        block_deletion: true,
        bypass,
    }
}

impl ForgeSettings for Forgejo {
    fn kind(&self) -> ForgeKind {
        ForgeKind::Forgejo
    }

    fn branch_rules(&self, branch: &str) -> Result<BranchRules, ForgeError> {
        // Not paged: the server answers every rule at once.
        let url = format!("{}/branch_protections", self.repo_url);
        let rules: Vec<Value> = self.http.get(&url)?.items;
        Ok(rule_for(&rules, branch).map(rules_of).unwrap_or_default())
    }

    fn user_exists(&self, login: &str) -> Result<bool, ForgeError> {
        user_exists(&self.http, &self.repo_url, login)
    }

    fn access(&self, login: &str) -> Result<Access, ForgeError> {
        access(&self.http, &self.repo_url, login)
    }

    fn deploy_keys(&self) -> Result<Vec<DeployKey>, ForgeError> {
        let keys: Vec<Value> = self.list("keys", Total::Exact)?;
        Ok(keys.iter().map(deploy_key).collect())
    }

    fn secret_names(&self, _environment: Option<&str>) -> Result<Vec<String>, ForgeError> {
        let secrets: Vec<Value> = self.list("actions/secrets", Total::Exact)?;
        Ok(secrets
            .iter()
            .filter_map(|s| s["name"].as_str().map(str::to_string))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn the_exact_rule_wins_over_a_glob() {
        let rules = vec![
            json!({"rule_name": "ma*", "required_approvals": 0}),
            json!({"rule_name": "main", "required_approvals": 2}),
        ];
        let r = rule_for(&rules, "main").unwrap();
        assert_eq!(r["required_approvals"], 2);
        assert!(rule_for(&rules, "release/1").is_none());
        assert!(glob_matches("release/**", "release/1/x"));
        assert!(!glob_matches("release/*", "release/1/x"));
    }

    #[test]
    fn open_pushes_and_admin_override_are_bypasses() {
        let r = rules_of(&json!({"enable_push": true, "required_approvals": 1}));
        assert!(r.bypass.contains(&Bypass::Writers));
        assert!(r.bypass.contains(&Bypass::Administrators));
        assert!(!r.require_pull_request);
        let r = rules_of(&json!({
            "enable_push": true, "enable_push_whitelist": true,
            "push_whitelist_deploy_keys": true, "apply_to_admins": true
        }));
        assert_eq!(r.bypass, vec![Bypass::DeployKeys]);
        assert!(r.require_pull_request && r.block_force_push);
    }
}
