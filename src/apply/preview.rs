//! What merging a pull request will change: the plan of the head's `accounts/`
//! against the base's, as if the base were already applied. It needs no live
//! system, so it runs on the pull request's runner (which must never reach the
//! office's servers); the real plan against the live systems runs at apply.

use jiff::civil::Date;

use super::backend::{LiveKey, LiveMail, LiveServerAccount, LiveState};
use super::plan::{Desired, Plan, diff_mail, diff_server};
use crate::model::account::KeyStatus;
use crate::model::time::to_date;
use crate::model::{Config, Instance};

/// The plan `head` makes against `base` applied, with the backends of `config`
/// (the base branch's: a pull request cannot choose where its plan goes).
pub fn pull_plan(head: &Instance, base: &Instance, config: &Config, today: Date) -> Plan {
    let desired = Desired::from_instance(head);
    let live = applied(base, today);
    let mut plan = Plan::default();
    if let Some(m) = &config.backends.mail {
        plan.changes.extend(diff_mail(&m.name(), &desired, &live));
    }
    if let Some(s) = &config.backends.server {
        plan.changes
            .extend(diff_server(&s.name(), &desired, &live, today));
    }
    plan
}

/// The live state the systems hold once `inst` is applied on `today`.
fn applied(inst: &Instance, today: Date) -> LiveState {
    let mut live = LiveState::default();
    for a in &inst.mail_accounts {
        let a = &a.value;
        live.mail.insert(
            a.address.get_ref().to_lowercase(),
            LiveMail {
                active: a.is_active(),
                tickets: a.tickets.iter().map(|t| t.get_ref().clone()).collect(),
            },
        );
    }
    for a in &inst.server_accounts {
        let a = &a.value;
        let keys: Vec<LiveKey> = a
            .keys
            .iter()
            .filter_map(|k| {
                let expires = to_date(k.expires.get_ref())?;
                (*k.status.get_ref() == KeyStatus::Active && expires >= today).then(|| LiveKey {
                    ticket: Some(k.ticket.get_ref().clone()),
                    key: k.key.get_ref().clone(),
                    expires: Some(expires),
                })
            })
            .collect();
        live.server.insert(
            (a.server.get_ref().clone(), a.login.get_ref().clone()),
            LiveServerAccount {
                locked: keys.is_empty(),
                keys,
            },
        );
    }
    live
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::apply::plan::Action;
    use std::path::Path;

    fn instance(files: &[(&str, &str)]) -> Instance {
        let config = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("presets/kudus.toml"),
        )
        .unwrap();
        let mut all = vec![("loket.toml".to_string(), config)];
        all.extend(files.iter().map(|(p, t)| (p.to_string(), t.to_string())));
        Instance::from_files(Path::new("."), all)
    }

    fn mail(address: &str, status: &str, tickets: &str) -> (String, String) {
        (
            format!("accounts/mail/{address}.toml"),
            format!(
                "address = \"{address}\"\nstatus = \"{status}\"\ntickets = [{tickets}]\n\
                 [holder]\nname = \"X\"\nopd = \"Dinas\"\n"
            ),
        )
    }

    #[test]
    fn only_what_the_pull_request_changes_is_planned() {
        let a = mail("a@kuduskab.go.id", "active", "\"C1\"");
        let b = mail("b@kuduskab.go.id", "active", "\"C2\"");
        let b_off = mail("b@kuduskab.go.id", "disabled", "\"C2\", \"D2\"");
        let n = mail("new@kuduskab.go.id", "active", "\"C3\"");
        let base = instance(&[(&a.0, &a.1), (&b.0, &b.1)]);
        let head = instance(&[(&a.0, &a.1), (&b_off.0, &b_off.1), (&n.0, &n.1)]);
        let config = head.config.clone().unwrap();
        let today = jiff::civil::date(2026, 11, 24);
        let plan = pull_plan(&head, &base, &config, today);
        let got: Vec<(Action, &str)> = plan
            .changes
            .iter()
            .map(|c| (c.action, c.tickets[0].as_str()))
            .collect();
        assert_eq!(got, [(Action::Disable, "D2"), (Action::Create, "C3")]);
        assert!(plan.changes.iter().all(|c| c.backend == "dovecot"));
        // The same tree against itself: nothing.
        assert!(pull_plan(&head, &head, &config, today).is_empty());
    }

    #[test]
    fn backend_names_are_those_the_opened_backends_report() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let inst = Instance::load_uncached(root).unwrap();
        let config = inst.config.as_ref().unwrap();
        let slots = crate::apply::open_backends(&inst, config).unwrap();
        let opened: Vec<&str> = slots.iter().map(|s| s.backend.name()).collect();
        let mail = config.backends.mail.as_ref().unwrap().name();
        let server = config.backends.server.as_ref().unwrap().name();
        assert_eq!(opened, [mail.as_str(), server.as_str()]);
        let zimbra: crate::model::backends::MailBackend =
            toml::from_str("type = \"command\"\ntemplates = \"templates/backends/zimbra.toml\"")
                .unwrap();
        assert_eq!(zimbra.name(), "zimbra");
    }
}
