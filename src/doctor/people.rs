//! Who reviews and what the jobs can read: every role login exists on the forge with
//! the access its approvals need to count, and the secrets the configured backends
//! need are present (by name; values are never read).

use std::path::Path;

use super::{Item, SECRETS_ENVIRONMENT};
use crate::forge::ForgeKind;
use crate::forge::settings::{Access, ForgeSettings};
use crate::model::Config;
use crate::model::backends::{MailBackend, ServerBackend};

/// One item per login of every role.
pub fn role_items(config: &Config, forge: &dyn ForgeSettings) -> Vec<Item> {
    let mut out = Vec::new();
    for (role, r) in &config.roles {
        for login in &r.logins {
            let login = login.get_ref();
            out.push(login_item(&format!("role.{role}.{login}"), login, forge));
        }
    }
    out
}

fn login_item(id: &str, login: &str, forge: &dyn ForgeSettings) -> Item {
    match forge.user_exists(login) {
        Err(e) => return Item::unknown(id, &e),
        Ok(false) => {
            return Item::fix(
                id,
                format!("no account `{login}` on the forge"),
                "create the account or correct the login in loket.toml [roles]",
            );
        }
        Ok(true) => {}
    }
    let why = match forge.kind() {
        ForgeKind::GitHub => {
            "approvals count towards the required approvals only from logins with write access"
        }
        ForgeKind::Forgejo => "only reviews by logins with write access are official and count",
    };
    match forge.access(login) {
        Err(e) => Item::unknown(id, &e),
        Ok(a) => Item::check(
            id,
            a >= Access::Write,
            format!("`{login}` has {a:?} access").to_lowercase(),
            &format!("give `{login}` write access to the repository: {why}"),
        ),
    }
}

/// The secrets the apply and expiry jobs need, with why.
pub fn needed_secrets(config: &Config, root: &Path) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    // The records commit is pushed with the records key whenever apply runs.
    if root.join(".github/workflows/apply.yml").is_file()
        || root.join(".forgejo/workflows/apply.yml").is_file()
    {
        out.push((
            "LOKET_RECORDS_KEY".to_string(),
            "the apply job pushes records/ with it",
        ));
    }
    let b = &config.backends;
    let ssh_mail = matches!(&b.mail, Some(MailBackend::Dovecot(d)) if d.host.is_some())
        || matches!(&b.mail, Some(MailBackend::Command(c)) if c.server.is_some());
    let ssh_server = matches!(&b.server, Some(ServerBackend::Ssh(_)))
        || matches!(&b.server, Some(ServerBackend::Command(c)) if c.server.is_some());
    if ssh_mail || ssh_server {
        out.push((
            "LOKET_SSH_KEY".to_string(),
            "a backend logs in over SSH with the admin key",
        ));
    }
    for ldap in [
        b.mail.as_ref().and_then(|m| match m {
            MailBackend::Ldap(l) => Some(l),
            _ => None,
        }),
        b.server.as_ref().and_then(|s| match s {
            ServerBackend::Ldap(l) => Some(l),
            _ => None,
        }),
    ]
    .into_iter()
    .flatten()
    {
        let name = ldap.bind_password_env.clone();
        if !out.iter().any(|(n, _)| *n == name) {
            out.push((name, "the LDAP backend binds with it"));
        }
    }
    out
}

/// One item per needed secret: present in the repository or (GitHub) in the
/// `production` environment the apply job runs in.
pub fn secret_items(config: &Config, forge: &dyn ForgeSettings, root: &Path) -> Vec<Item> {
    let needed = needed_secrets(config, root);
    if needed.is_empty() {
        return Vec::new();
    }
    let mut have = match forge.secret_names(None) {
        Ok(names) => names,
        Err(e) => return vec![Item::unknown("secrets", &e)],
    };
    if forge.kind() == ForgeKind::GitHub {
        match forge.secret_names(Some(SECRETS_ENVIRONMENT)) {
            Ok(names) => have.extend(names),
            Err(crate::forge::ForgeError::NotFound { .. }) => {
                return vec![Item::fix(
                    "secrets.environment",
                    format!("no environment `{SECRETS_ENVIRONMENT}`"),
                    format!(
                        "create the `{SECRETS_ENVIRONMENT}` environment (deployments from main only) and put the apply secrets there"
                    ),
                )];
            }
            Err(e) => return vec![Item::unknown("secrets", &e)],
        }
    }
    needed
        .into_iter()
        .map(|(name, why)| {
            let found = have.iter().any(|h| h.eq_ignore_ascii_case(&name));
            Item::check(
                &format!("secrets.{name}"),
                found,
                if found {
                    format!("{name} is set")
                } else {
                    format!("{name} is missing ({why})")
                },
                &format!("add the secret {name}"),
            )
        })
        .collect()
}
