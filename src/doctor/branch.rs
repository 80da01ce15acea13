//! The main branch's rules and the records key's route past them
//! (docs/approvals.md "Branch protection to enable").

use super::{Item, REQUIRED_CHECKS};
use crate::forge::settings::{BranchRules, Bypass, ForgeSettings};

pub fn items(forge: &dyn ForgeSettings, branch: &str) -> Vec<Item> {
    let rules = match forge.branch_rules(branch) {
        Ok(r) => r,
        Err(e) => return vec![Item::unknown("branch.rules", &e)],
    };
    if !rules.protected {
        return vec![Item::fix(
            "branch.protected",
            format!("no rule protects `{branch}`"),
            protect_hint(forge),
        )];
    }
    let mut out = vec![Item::ok(
        "branch.protected",
        format!("`{branch}` is protected"),
    )];
    out.extend(requirement_items(&rules));
    out.push(bypass_item(&rules));
    out.extend(records_items(forge, &rules));
    out
}

fn protect_hint(forge: &dyn ForgeSettings) -> &'static str {
    match forge.kind() {
        crate::forge::ForgeKind::GitHub => {
            "add a branch ruleset targeting the default branch (Settings → Rules → Rulesets)"
        }
        crate::forge::ForgeKind::Forgejo => {
            "add a protected-branch rule for it (Settings → Branches)"
        }
    }
}

fn requirement_items(r: &BranchRules) -> Vec<Item> {
    let missing: Vec<&str> = REQUIRED_CHECKS
        .iter()
        .copied()
        .filter(|c| !r.required_checks.iter().any(|have| check_covers(have, c)))
        .collect();
    vec![
        Item::check(
            "branch.pull-request",
            r.require_pull_request,
            yes_no(
                r.require_pull_request,
                "changes need a pull request",
                "direct pushes are allowed",
            ),
            "require a pull request before merging (Forgejo: disable push, or a push whitelist with no users or teams)",
        ),
        Item::check(
            "branch.approvals",
            r.required_approvals >= 1,
            format!("{} approval(s) required", r.required_approvals),
            "require at least 1 approval",
        ),
        Item::check(
            "branch.dismiss-stale",
            r.dismiss_stale,
            yes_no(
                r.dismiss_stale,
                "stale approvals are dismissed",
                "approvals survive new pushes",
            ),
            "dismiss stale approvals when new commits are pushed",
        ),
        Item::check(
            "branch.required-checks",
            missing.is_empty(),
            format!("required checks: {}", list_or_none(&r.required_checks)),
            &format!("require the status checks {}", missing.join(" and ")),
        ),
        Item::check(
            "branch.force-push",
            r.block_force_push,
            yes_no(
                r.block_force_push,
                "force pushes blocked",
                "force pushes allowed",
            ),
            "block force pushes",
        ),
        Item::check(
            "branch.deletion",
            r.block_deletion,
            yes_no(
                r.block_deletion,
                "deletion blocked",
                "the branch can be deleted",
            ),
            "restrict deletions",
        ),
    ]
}

/// A required check (a name, or a Forgejo pattern such as `review / review
/// (pull_request)` or `check*`) that stands for the job `job`.
fn check_covers(have: &str, job: &str) -> bool {
    have == job
        || have
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
            .any(|word| word == job)
        || have
            .strip_suffix('*')
            .is_some_and(|p| !p.is_empty() && job.starts_with(p))
}

fn bypass_item(r: &BranchRules) -> Item {
    let others: Vec<String> = r
        .bypass
        .iter()
        .filter(|b| **b != Bypass::DeployKeys)
        .map(Bypass::describe)
        .collect();
    Item::check(
        "branch.no-bypass",
        others.is_empty(),
        if others.is_empty() {
            "no one bypasses the rules but deploy keys".into()
        } else {
            format!("may bypass the rules: {}", others.join(", "))
        },
        "remove every bypass but deploy keys (administrators included: Forgejo \"apply to admins\", GitHub rulesets with no role on the bypass list)",
    )
}

/// The records key: exactly one deploy key with write access, and deploy keys the
/// only ones let past the rules.
fn records_items(forge: &dyn ForgeSettings, r: &BranchRules) -> Vec<Item> {
    let mut out = vec![Item::check(
        "records.route",
        r.bypass.contains(&Bypass::DeployKeys),
        yes_no(
            r.bypass.contains(&Bypass::DeployKeys),
            "deploy keys may push the records commit",
            "no deploy key may push to the branch",
        ),
        "let deploy keys bypass the rules (GitHub ruleset bypass list: Deploy keys; Forgejo: allow deploy keys with write access to push)",
    )];
    out.push(match forge.deploy_keys() {
        Err(e) => Item::unknown("records.key", &e),
        Ok(keys) => {
            let writers: Vec<&str> = keys
                .iter()
                .filter(|k| !k.read_only)
                .map(|k| k.title.as_str())
                .collect();
            Item::check(
                "records.key",
                writers.len() == 1,
                format!("{} deploy key(s) with write access: {}", writers.len(), list_or_none(&writers)),
                "keep exactly one deploy key with write access, the records key (secret LOKET_RECORDS_KEY)",
            )
        }
    });
    out
}

fn yes_no(b: bool, yes: &str, no: &str) -> String {
    (if b { yes } else { no }).to_string()
}

fn list_or_none<S: AsRef<str>>(xs: &[S]) -> String {
    if xs.is_empty() {
        "none".into()
    } else {
        xs.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forgejo_check_patterns_stand_for_their_jobs() {
        assert!(check_covers("review", "review"));
        assert!(check_covers("review / review (pull_request)", "review"));
        assert!(check_covers("chec*", "check"));
        assert!(!check_covers("preview", "review"));
        assert!(!check_covers("*", "check"), "a bare * would cover anything");
    }
}
