//! The mail subtree of the `ldap` backend, read from the directory itself with the
//! backend's own client ([`crate::apply::ldap`], ldap3): every `inetOrgPerson` with a
//! `mail` directly under `[backends.mail] base`, bound as the backend binds (the
//! password from its environment variable). Active means a `userPassword` that is
//! not locked (`{CRYPT}!…`, as the backend locks); the name is `displayName`, else a
//! `cn` other than the address. The password is looked at, never kept. Only
//! searches are sent: nothing is written to the directory.

use jiff::civil::Date;

use super::{Found, FoundAccount, FoundHolder, ImportError, Origin, SourceRead};
use crate::apply::ldap::{LdapBackend, LdapRole};
use crate::apply::owned;
use crate::model::backends::MailBackend;
use crate::model::config::Config;

/// Reads the subtree `[backends.mail]` (type `ldap`) names.
pub fn read(config: &Config, today: Date) -> Result<SourceRead, ImportError> {
    let Some(MailBackend::Ldap(settings)) = &config.backends.mail else {
        return Err(ImportError::Instance(
            "`loket import ldap` reads the directory of [backends.mail] type = \"ldap\"; \
             loket.toml configures none"
                .into(),
        ));
    };
    let label = format!("{} {}", settings.url, settings.base);
    let source = |e: crate::apply::BackendError| ImportError::Source(format!("{label}: {e}"));
    let mut b = LdapBackend::from_env(settings.clone(), LdapRole::Mail, today).map_err(source)?;
    let people = b.read_mail_people().map_err(source)?;
    let mut found = Vec::with_capacity(people.len());
    for p in people {
        let address = p.address.trim().to_lowercase();
        owned::check_address(&address).map_err(|why| ImportError::Entry {
            dn: p.dn.clone(),
            message: format!("its mail is not an address ({why})"),
        })?;
        found.push(Found {
            origin: Origin {
                path: p.dn,
                line: 0,
            },
            account: FoundAccount::Mail {
                address,
                active: p.active,
                holder: FoundHolder {
                    name: p.name.filter(|n| !n.chars().any(char::is_control)),
                    ..FoundHolder::default()
                },
            },
        });
    }
    Ok(SourceRead {
        kind: "ldap",
        describe: format!("ldap {label}"),
        found,
    })
}
