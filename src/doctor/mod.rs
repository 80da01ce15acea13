//! `loket doctor`: is this office's repository set up the way loket's guarantees
//! assume? It reads the forge (the main branch's rules, the role logins' access,
//! the records key, the secret names) and the instance (workflows, admin key) and
//! reports, item by item, OK or what to change. An item whose answer cannot be read
//! is reported as unknown and fails the run, like a wrong setting: the doctor never
//! passes what it could not see.

mod branch;
mod local;
mod people;

use serde::Serialize;

use crate::forge::settings::ForgeSettings;
use crate::forge::{ForgeError, ForgeKind};
use crate::model::Config;

pub use local::{DEMO_NOTE, WORKFLOWS};

/// The status checks a merge into main must wait for (the jobs of check.yml and
/// review.yml).
pub const REQUIRED_CHECKS: &[&str] = &["check", "review"];

/// The environment whose secrets the apply and expiry jobs read (GitHub).
pub const SECRETS_ENVIRONMENT: &str = "production";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    Ok,
    /// Set up wrongly: `fix` says what to change.
    Fix,
    /// Could not be read (a forge error); fails like a wrong setting.
    Unknown,
}

/// One thing the doctor looked at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Item {
    /// Stable id, e.g. `branch.dismiss-stale`, `role.kepala-dinas.kadis-x`.
    pub id: String,
    pub status: Status,
    /// What was found.
    pub found: String,
    /// What to change; empty when OK.
    #[serde(skip_serializing_if = "String::is_empty")]
    pub fix: String,
}

impl Item {
    pub fn ok(id: impl Into<String>, found: impl Into<String>) -> Item {
        Item {
            id: id.into(),
            status: Status::Ok,
            found: found.into(),
            fix: String::new(),
        }
    }

    pub fn fix(id: impl Into<String>, found: impl Into<String>, fix: impl Into<String>) -> Item {
        Item {
            id: id.into(),
            status: Status::Fix,
            found: found.into(),
            fix: fix.into(),
        }
    }

    /// The item could not be judged because the forge did not answer.
    pub fn unknown(id: impl Into<String>, e: &ForgeError) -> Item {
        Item {
            id: id.into(),
            status: Status::Unknown,
            found: crate::apply::redact::redact(&e.to_string()).into_owned(),
            fix:
                "make the forge answer (token, permissions, server version), then run doctor again"
                    .into(),
        }
    }

    /// OK when `good`, else the fix.
    pub fn check(id: &str, good: bool, found: String, fix: &str) -> Item {
        if good {
            Item::ok(id, found)
        } else {
            Item::fix(id, found, fix)
        }
    }
}

/// Where to look.
#[derive(Debug, Clone)]
pub struct Options {
    /// The branch loket applies from.
    pub branch: String,
    /// The instance's root: its workflows are read from here.
    pub root: std::path::PathBuf,
}

/// Everything the doctor found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub forge: ForgeKind,
    pub branch: String,
    pub items: Vec<Item>,
}

impl Report {
    pub fn all_ok(&self) -> bool {
        self.items.iter().all(|i| i.status == Status::Ok)
    }

    /// Human output: one line per item, the fix indented under it.
    pub fn human(&self) -> String {
        let mut out = String::new();
        for i in &self.items {
            let tag = match i.status {
                Status::Ok => "ok     ",
                Status::Fix => "FIX    ",
                Status::Unknown => "UNKNOWN",
            };
            out.push_str(&format!("{tag} {}: {}\n", i.id, i.found));
            if !i.fix.is_empty() {
                out.push_str(&format!("        → {}\n", i.fix));
            }
        }
        let bad = self.items.iter().filter(|i| i.status != Status::Ok).count();
        out.push_str(&match bad {
            0 => format!(
                "all {} items OK on {}\n",
                self.items.len(),
                self.forge.name()
            ),
            n => format!("{n} of {} items need attention\n", self.items.len()),
        });
        out
    }
}

/// Runs every examination in a fixed order.
pub fn examine(config: &Config, forge: &dyn ForgeSettings, opts: &Options) -> Report {
    let mut items = branch::items(forge, &opts.branch);
    items.extend(people::role_items(config, forge));
    items.extend(people::secret_items(config, forge, &opts.root));
    items.extend(local::workflow_items(&opts.root, forge.kind()));
    items.push(local::admin_item(config));
    Report {
        forge: forge.kind(),
        branch: opts.branch.clone(),
        items,
    }
}
