//! What a go-live test reads from and writes into the office's `loket.toml`: the
//! office's own settings after `loket init` (docs/adopt.md, step 2), and the SOP's
//! review steps, follow-up steps, role logins and config-change role.
//!
//! Include with `#[path = "common/office_config.rs"] mod office_config;` beside
//! `runner`.
#![allow(dead_code)]

use std::path::Path;

use crate::mail::MailServer;
use crate::runner::Instance;

/// docs/adopt.md, step 2: the office's own settings in `loket.toml`: each role that
/// holds logins gets the office's official's login (`<role>-<preset>` here), the
/// backends point at the office's systems, and the state-dir is absolute.
pub fn configure(dir: &Path, preset: &str, server: &MailServer, runner: &Path) {
    let path = dir.join("loket.toml");
    let mut doc: toml_edit::DocumentMut = std::fs::read_to_string(&path).unwrap().parse().unwrap();
    let roles = doc["roles"].as_table_mut().expect("[roles]");
    for (role, table) in roles.iter_mut() {
        if let Some(logins) = table.get_mut("logins") {
            let mut one = toml_edit::Array::new();
            one.push(format!("{role}-{preset}"));
            *logins = toml_edit::value(one);
        }
    }
    let mail: toml_edit::DocumentMut = server.backend_toml().parse().unwrap();
    let backends = doc["backends"]
        .as_table_mut()
        .expect("[backends] after init");
    backends["state-dir"] = toml_edit::value(runner.join("state").display().to_string());
    backends["mail"] = mail["backends"]["mail"].clone();
    if let Some(keydir) = backends.get_mut("server") {
        keydir["dir"] = toml_edit::value(runner.join("keys").display().to_string());
    }
    std::fs::write(&path, doc.to_string()).unwrap();
}

/// The office's `loket.toml` as it is in its clone.
fn config(live: &Instance) -> toml::Table {
    let text = std::fs::read_to_string(live.office.dir.join("loket.toml")).unwrap();
    toml::from_str(&text).unwrap()
}

impl Instance {
    /// The review steps of the SOP for a mail account on the request's own pull
    /// request, in order: (step, role, login).
    pub fn review_steps(&self) -> Vec<(String, String, String)> {
        let config = config(self);
        self.mail_sop()
            .iter()
            // Reviews after the first `apply` are the follow-up pull request's.
            .take_while(|s| s["done-by"].as_str() != Some("apply"))
            .filter(|s| s["done-by"].as_str() == Some("review"))
            .map(|s| {
                let role = s["role"].as_str().unwrap();
                let login = config["roles"][role]["logins"][0].as_str().unwrap();
                (s["id"].as_str().unwrap().into(), role.into(), login.into())
            })
            .collect()
    }

    /// Whether the mail SOP has follow-up steps (docs/schema.md: any step after
    /// the first `apply` but `verify`): the record then stays `processed`.
    pub fn has_followup(&self) -> bool {
        self.mail_sop()
            .iter()
            .map(|s| s["done-by"].as_str().unwrap().to_string())
            .skip_while(|d| d != "apply")
            .skip(1)
            .any(|d| d != "verify")
    }

    /// The steps of the SOP a mail-create request follows.
    fn mail_sop(&self) -> Vec<toml::Value> {
        let config = config(self);
        let sop = config["sops"]
            .as_table()
            .unwrap()
            .values()
            .find(|s| {
                s["kinds"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|k| k.as_str() == Some("mail-create"))
            })
            .expect("an SOP for mail-create");
        sop["steps"].as_array().unwrap().clone()
    }

    /// The first login of `role` in the office's loket.toml.
    pub fn login(&self, role: &str) -> String {
        let config = config(self);
        config["roles"][role]["logins"][0]
            .as_str()
            .unwrap_or_else(|| panic!("role {role} has no login"))
            .to_string()
    }

    /// `approvals.config-change-role` in the office's loket.toml.
    pub fn config_change_role(&self) -> String {
        let config = config(self);
        config["approvals"]["config-change-role"]
            .as_str()
            .expect("approvals.config-change-role")
            .to_string()
    }
}
