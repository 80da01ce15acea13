//! `[backends]` in `loket.toml`: where `loket apply` writes accounts, where sealed
//! credentials go, and the safety limits of a run. Each backend's own settings are
//! typed here; the backends themselves live in `crate::apply`.

use serde::Deserialize;

/// Default folder (relative to the instance) for local state: lock, journal,
/// file-based backends and the credential outbox. Git-ignored.
pub const DEFAULT_STATE_DIR: &str = "state";

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Backends {
    /// Local state folder (lock, journal), relative to the instance root.
    #[serde(default = "state_dir")]
    pub state_dir: String,
    /// Where sealed credentials (`<ticket>.age`) are written; default `<state-dir>/outbox`.
    #[serde(default)]
    pub outbox: Option<String>,
    /// The office admin's age or ssh-ed25519 public key: credentials of a request
    /// without its own `recipient` are sealed to it.
    #[serde(default)]
    pub admin_recipient: Option<String>,
    /// A run that would disable or revoke more than this share of the live accounts
    /// (or keys) of a backend is refused.
    #[serde(default = "max_disable_share")]
    pub max_disable_share: f64,
    /// The mail backend; none: mail requests are not applied.
    #[serde(default)]
    pub mail: Option<MailBackend>,
    /// The server-access backend; none: server requests are not applied.
    #[serde(default)]
    pub server: Option<ServerBackend>,
}

impl Default for Backends {
    fn default() -> Self {
        Self {
            state_dir: state_dir(),
            outbox: None,
            admin_recipient: None,
            max_disable_share: max_disable_share(),
            mail: None,
            server: None,
        }
    }
}

fn state_dir() -> String {
    DEFAULT_STATE_DIR.into()
}

fn max_disable_share() -> f64 {
    0.2
}

/// `[backends.mail]`, chosen by `type`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum MailBackend {
    /// Dovecot passwd-file + Postfix virtual maps, written as local files.
    Dovecot(Box<DovecotSettings>),
    /// OpenLDAP (settings read by the LDAP backend).
    Ldap(toml::Table),
    /// Command templates, e.g. Zimbra's `zmprov` (settings read by that backend).
    Command(toml::Table),
}

/// `[backends.server]`, chosen by `type`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ServerBackend {
    /// A local directory of `authorized_keys` files, one per server and login, for
    /// sshd's `AuthorizedKeysFile` (the bundled default: needs no server).
    Keydir(KeydirSettings),
    /// Linux accounts over SSH on the `[[servers]]` (settings read by that backend).
    Ssh(toml::Table),
    /// OpenLDAP posixAccount entries (settings read by the LDAP backend).
    Ldap(toml::Table),
    /// Command templates (settings read by that backend).
    Command(toml::Table),
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct DovecotSettings {
    /// Dovecot `passdb`/`userdb` passwd-file. Relative paths are under the instance.
    pub passwd_file: String,
    /// Postfix `virtual_mailbox_domains` file (one domain a line).
    #[serde(default)]
    pub virtual_domains: Option<String>,
    /// Postfix `virtual_mailbox_maps` file (`address  domain/local/`).
    #[serde(default)]
    pub virtual_mailboxes: Option<String>,
    /// Run `postmap` on the maps after writing them (hash tables).
    #[serde(default)]
    pub postmap: Option<String>,
    /// Run `doveadm reload` (this command) after writing the passwd-file.
    #[serde(default)]
    pub doveadm: Option<String>,
    /// `doveadm -c CONFIG` for a non-default Dovecot configuration.
    #[serde(default)]
    pub doveadm_config: Option<String>,
    /// Unix uid/gid of the virtual mail user written into the passwd-file.
    #[serde(default = "vmail_id")]
    pub uid: u32,
    #[serde(default = "vmail_id")]
    pub gid: u32,
    /// Mail home template; `%d` domain, `%n` local part.
    #[serde(default = "home")]
    pub home: String,
    /// Group set on the written files when it exists (Dovecot's auth reads them).
    #[serde(default = "dovecot_group")]
    pub group: String,
    /// IMAP `host:port` to test logins against in `verify` (none: file check only).
    #[serde(default)]
    pub imap: Option<String>,
    /// SMTP `host:port` to send the welcome/test mail to in `verify`.
    #[serde(default)]
    pub smtp: Option<String>,
}

fn vmail_id() -> u32 {
    5000
}

fn home() -> String {
    "/var/vmail/%d/%n".into()
}

fn dovecot_group() -> String {
    "dovecot".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct KeydirSettings {
    /// Root of the key directory: `<dir>/<server>/<login>` is that login's
    /// `authorized_keys`. Relative paths are under the instance.
    pub dir: String,
}
