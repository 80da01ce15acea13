//! Repository settings on the fake forge, as `loket doctor` reads them: GitHub
//! branch rulesets (`rules/branches/{b}`, `rulesets/{id}`), classic protection,
//! users, collaborator permissions, deploy keys and Actions secrets (repository and
//! environment); Forgejo's `branch_protections`, users, permissions, keys and
//! secrets. Tests describe the settings once ([`RepoSettings`]) and each flavor
//! answers in its own JSON.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{Flavor, Paging, Resp, json_resp};

/// The main branch's protection, in forge-neutral words.
#[derive(Debug, Clone)]
pub struct Protection {
    pub require_pull_request: bool,
    pub approvals: u32,
    pub dismiss_stale: bool,
    /// Job names; Forgejo answers them as Actions contexts `job / job (pull_request)`.
    pub checks: Vec<String>,
    pub block_force_push: bool,
    pub block_deletion: bool,
    /// Administrators bound by the rules (no admin override).
    pub admins_bound: bool,
    /// Deploy keys may push past the rules (the records route).
    pub deploy_keys_bypass: bool,
    /// Users on the bypass list / push whitelist.
    pub bypass_users: Vec<String>,
    /// GitHub: whether the token may see the ruleset's bypass list.
    pub bypass_visible: bool,
}

impl Protection {
    /// Everything docs/approvals.md asks for.
    pub fn as_documented() -> Protection {
        Protection {
            require_pull_request: true,
            approvals: 1,
            dismiss_stale: true,
            checks: vec!["check".into(), "review".into()],
            block_force_push: true,
            block_deletion: true,
            admins_bound: true,
            deploy_keys_bypass: true,
            bypass_users: Vec::new(),
            bypass_visible: true,
        }
    }
}

#[derive(Debug, Clone, Default)]
pub struct RepoSettings {
    /// None: the branch is not protected at all.
    pub protection: Option<Protection>,
    /// Existing logins and their permission word (`read`, `write`, `admin`, …).
    pub users: BTreeMap<String, String>,
    /// (title, read_only)
    pub deploy_keys: Vec<(String, bool)>,
    pub secrets: Vec<String>,
    /// GitHub's `production` environment secrets; None: no such environment.
    pub environment_secrets: Option<Vec<String>>,
}

const STAMP: &str = "2026-11-02T03:04:05Z";

/// Answers a settings request, or None when the path is not a settings path.
pub(super) fn handle(
    flavor: Flavor,
    s: &RepoSettings,
    paging: &Paging,
    path: &str,
    q: &BTreeMap<&str, &str>,
    repo_prefix: &str,
    api_prefix: &str,
) -> Option<Resp> {
    if let Some(login) = path.strip_prefix(&format!("{api_prefix}/users/")) {
        return Some(match s.users.get(login) {
            Some(_) => json_resp(200, user_json(flavor, login)),
            None => not_found(flavor),
        });
    }
    let rest = path.strip_prefix(repo_prefix)?.trim_start_matches('/');
    let parts: Vec<&str> = rest.split('/').collect();
    Some(match (flavor, parts.as_slice()) {
        (_, ["collaborators", login, "permission"]) => match s.users.get(*login) {
            Some(p) => json_resp(
                200,
                json!({"permission": p, "role_name": p, "user": user_json(flavor, login)}),
            ),
            None => not_found(flavor),
        },
        (_, ["keys"]) => paging.page(path, q, keys_json(&s.deploy_keys)),
        (Flavor::GitHub, ["rules", "branches", "main"]) => {
            json_resp(200, Value::Array(github_rules(s.protection.as_ref())))
        }
        (Flavor::GitHub, ["rulesets", "42"]) => match &s.protection {
            Some(p) => json_resp(200, github_ruleset(p)),
            None => not_found(flavor),
        },
        (Flavor::GitHub, ["branches", "main", "protection"]) => json_resp(
            404,
            json!({"message": "Branch not protected", "documentation_url": "https://docs.github.com/rest/branches/branch-protection#get-branch-protection", "status": "404"}),
        ),
        (Flavor::GitHub, ["actions", "secrets"]) => github_secrets(&s.secrets),
        (Flavor::GitHub, ["environments", "production", "secrets"]) => {
            match &s.environment_secrets {
                Some(names) => github_secrets(names),
                None => not_found(flavor),
            }
        }
        (Flavor::Forgejo, ["branch_protections"]) => json_resp(
            200,
            Value::Array(s.protection.iter().map(forgejo_protection).collect()),
        ),
        (Flavor::Forgejo, ["actions", "secrets"]) => paging.page(
            path,
            q,
            s.secrets
                .iter()
                .map(|n| json!({"name": n, "created_at": STAMP}))
                .collect(),
        ),
        _ => return None,
    })
}

fn not_found(flavor: Flavor) -> Resp {
    match flavor {
        Flavor::GitHub => json_resp(
            404,
            json!({"message": "Not Found", "documentation_url": "https://docs.github.com/rest", "status": "404"}),
        ),
        Flavor::Forgejo => json_resp(
            404,
            json!({"message": "The target couldn't be found.", "errors": []}),
        ),
    }
}

fn user_json(flavor: Flavor, login: &str) -> Value {
    let id = login.len() as u64 * 1000 + 7;
    match flavor {
        Flavor::GitHub => json!({"login": login, "id": id, "type": "User", "site_admin": false}),
        Flavor::Forgejo => {
            json!({"id": id, "login": login, "full_name": "", "email": format!("{login}@noreply.localhost"), "is_admin": false, "active": true})
        }
    }
}

fn keys_json(keys: &[(String, bool)]) -> Vec<Value> {
    keys.iter()
        .enumerate()
        .map(|(i, (title, ro))| {
            json!({"id": i + 1, "key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKxkey", "title": title,
                   "read_only": ro, "created_at": STAMP, "verified": true})
        })
        .collect()
}

fn github_rules(p: Option<&Protection>) -> Vec<Value> {
    let Some(p) = p else { return Vec::new() };
    let source = |v: Value| {
        let mut v = v;
        v["ruleset_source_type"] = json!("Repository");
        v["ruleset_source"] = json!(format!("{}/{}", super::OWNER, super::NAME));
        v["ruleset_id"] = json!(42);
        v
    };
    let mut rules = Vec::new();
    if p.require_pull_request {
        rules.push(source(json!({"type": "pull_request", "parameters": {
            "required_approving_review_count": p.approvals,
            "dismiss_stale_reviews_on_push": p.dismiss_stale,
            "require_code_owner_review": false,
            "require_last_push_approval": false,
            "required_review_thread_resolution": false}})));
    }
    if !p.checks.is_empty() {
        let checks: Vec<Value> = p.checks.iter().map(|c| json!({"context": c})).collect();
        rules.push(source(
            json!({"type": "required_status_checks", "parameters": {
            "required_status_checks": checks, "strict_required_status_checks_policy": false}}),
        ));
    }
    if p.block_force_push {
        rules.push(source(json!({"type": "non_fast_forward"})));
    }
    if p.block_deletion {
        rules.push(source(json!({"type": "deletion"})));
    }
    rules
}

fn github_ruleset(p: &Protection) -> Value {
    let mut v = json!({"id": 42, "name": "main", "target": "branch", "source_type": "Repository",
        "source": format!("{}/{}", super::OWNER, super::NAME), "enforcement": "active",
        "conditions": {"ref_name": {"include": ["~DEFAULT_BRANCH"], "exclude": []}},
        "current_user_can_bypass": "never"});
    if p.bypass_visible {
        let mut actors = Vec::new();
        if p.deploy_keys_bypass {
            actors.push(
                json!({"actor_id": null, "actor_type": "DeployKey", "bypass_mode": "always"}),
            );
        }
        if !p.admins_bound {
            actors.push(
                json!({"actor_id": 5, "actor_type": "RepositoryRole", "bypass_mode": "always"}),
            );
        }
        for (i, _) in p.bypass_users.iter().enumerate() {
            actors
                .push(json!({"actor_id": 100 + i, "actor_type": "Team", "bypass_mode": "always"}));
        }
        v["bypass_actors"] = Value::Array(actors);
    }
    v
}

fn github_secrets(names: &[String]) -> Resp {
    let secrets: Vec<Value> = names
        .iter()
        .map(|n| json!({"name": n, "created_at": STAMP, "updated_at": STAMP}))
        .collect();
    json_resp(200, json!({"total_count": names.len(), "secrets": secrets}))
}

fn forgejo_protection(p: &Protection) -> Value {
    let whitelist = p.require_pull_request;
    json!({
        "branch_name": "main", "rule_name": "main", "priority": 1,
        "enable_push": p.deploy_keys_bypass || !p.bypass_users.is_empty() || !p.require_pull_request,
        "enable_push_whitelist": whitelist,
        "push_whitelist_usernames": p.bypass_users, "push_whitelist_teams": [],
        "push_whitelist_deploy_keys": p.deploy_keys_bypass,
        "enable_force_push": !p.block_force_push, "enable_force_push_allowlist": false,
        "force_push_allowlist_usernames": [], "force_push_allowlist_teams": [],
        "force_push_allowlist_deploy_keys": false,
        "enable_merge_whitelist": false, "merge_whitelist_usernames": [], "merge_whitelist_teams": [],
        "enable_status_check": !p.checks.is_empty(),
        "status_check_contexts": p.checks.iter().map(|c| format!("{c} / {c} (pull_request)")).collect::<Vec<_>>(),
        "required_approvals": p.approvals, "enable_approvals_whitelist": false,
        "approvals_whitelist_username": [], "approvals_whitelist_teams": [],
        "block_on_rejected_reviews": true, "block_on_official_review_requests": true,
        "block_on_outdated_branch": false, "dismiss_stale_approvals": p.dismiss_stale,
        "ignore_stale_approvals": false, "require_signed_commits": false,
        "protected_file_patterns": "", "unprotected_file_patterns": "",
        "apply_to_admins": p.admins_bound,
        "created_at": STAMP, "updated_at": STAMP
    })
}
