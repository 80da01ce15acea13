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
    pub max_disable_share: Share,
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

fn max_disable_share() -> Share {
    Share(0.2)
}

/// A share of a whole: a finite number from 0 to 1. NaN, infinities and anything
/// outside the range are refused where they are read (loket.toml, a flag), so no
/// comparison with a share can be silently false.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Deserialize)]
#[serde(try_from = "f64")]
pub struct Share(f64);

impl Share {
    pub fn get(self) -> f64 {
        self.0
    }
}

impl TryFrom<f64> for Share {
    type Error = String;

    fn try_from(v: f64) -> Result<Share, String> {
        if v.is_finite() && (0.0..=1.0).contains(&v) {
            Ok(Share(v))
        } else {
            Err(format!(
                "{v} is not a share: write a number from 0 to 1, e.g. 0.2 for 20 %"
            ))
        }
    }
}

impl std::str::FromStr for Share {
    type Err = String;

    fn from_str(s: &str) -> Result<Share, String> {
        let v: f64 = s
            .trim()
            .parse()
            .map_err(|_| format!("{s:?} is not a number: write a share from 0 to 1"))?;
        Share::try_from(v)
    }
}

impl std::fmt::Display for Share {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

/// `[backends.mail]`, chosen by `type`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum MailBackend {
    /// Dovecot passwd-file + Postfix virtual maps, written locally or over SSH.
    Dovecot(Box<DovecotSettings>),
    /// OpenLDAP inetOrgPerson entries.
    Ldap(LdapSettings),
    /// Command templates, e.g. Zimbra's `zmprov`.
    Command(CommandSettings),
}

/// `[backends.server]`, chosen by `type`.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "type", rename_all = "kebab-case")]
pub enum ServerBackend {
    /// A local directory of `authorized_keys` files, one per server and login, for
    /// sshd's `AuthorizedKeysFile` (the bundled default: needs no server).
    Keydir(KeydirSettings),
    /// Linux accounts over SSH on the `[[servers]]`.
    Ssh(SshSettings),
    /// OpenLDAP posixAccount + shadowAccount + ldapPublicKey entries.
    Ldap(LdapSettings),
    /// Command templates.
    Command(CommandSettings),
}

impl MailBackend {
    /// The name its backend goes by in plans and records (`Backend::name`).
    pub fn name(&self) -> String {
        match self {
            MailBackend::Dovecot(_) => "dovecot".into(),
            MailBackend::Ldap(_) => "ldap".into(),
            MailBackend::Command(c) => c.name(),
        }
    }
}

impl ServerBackend {
    /// The name its backend goes by in plans and records (`Backend::name`).
    pub fn name(&self) -> String {
        match self {
            ServerBackend::Keydir(_) => "keydir".into(),
            ServerBackend::Ssh(_) => "ssh".into(),
            ServerBackend::Ldap(_) => "ldap".into(),
            ServerBackend::Command(c) => c.name(),
        }
    }
}

impl CommandSettings {
    /// The template file's stem, e.g. `zimbra`.
    pub fn name(&self) -> String {
        std::path::Path::new(&self.templates)
            .file_stem()
            .map_or("command".into(), |s| s.to_string_lossy().into_owned())
    }
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
    /// Command run on the map after writing it, the path appended (e.g.
    /// `postmap` or `postmap -c /etc/postfix`), for `hash:` tables.
    #[serde(default)]
    pub postmap: Option<String>,
    /// `doveadm` command line; `<it> reload` runs after the passwd-file is written
    /// (Dovecot notices a replaced file only by mtime in whole seconds and size).
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
    /// The `[[servers]]` entry of the mail host: the files are read and written
    /// there over SSH (paths absolute); none: on this machine.
    #[serde(default)]
    pub host: Option<String>,
    /// Admin private key for `host` (as in `[backends.server]` type ssh);
    /// `LOKET_SSH_IDENTITY` / `LOKET_SSH_KEY` override it.
    #[serde(default)]
    pub identity_file: Option<String>,
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

/// `type = "ssh"`: each `[[servers]]` entry gives address, port, pinned `host-key`
/// and `admin-user`; this gives the admin's private key.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SshSettings {
    /// Private key file of the admin login (the same on every server). The
    /// environment variable `LOKET_SSH_IDENTITY` (a path) overrides it, so CI can
    /// write its secret to a temp file. Never committed: point outside the repo.
    #[serde(default)]
    pub identity_file: Option<String>,
}

/// `type = "ldap"`: an OpenLDAP directory. Mail entries are `uid=<address>,<base>`;
/// server entries are `uid=<login>,ou=<server>,<base>`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LdapSettings {
    /// `ldap://host:port` (use `ldapi://` or a tunnel: no TLS in this build).
    pub url: String,
    /// DN loket binds as to write entries.
    pub bind_dn: String,
    /// Environment variable holding the bind password (never in loket.toml).
    #[serde(default = "ldap_password_env")]
    pub bind_password_env: String,
    /// Subtree loket's entries live under, e.g. `ou=mail,dc=kuduskab,dc=go,dc=id`.
    pub base: String,
    /// First uidNumber given to a server account.
    #[serde(default = "ldap_uid_start")]
    pub uid_start: u32,
    /// gidNumber of server accounts.
    #[serde(default = "ldap_uid_start")]
    pub gid: u32,
    /// Home directory; `%u` is the login.
    #[serde(default = "ldap_home")]
    pub home: String,
    #[serde(default = "ldap_shell")]
    pub login_shell: String,
}

fn ldap_password_env() -> String {
    "LOKET_LDAP_PASSWORD".into()
}

fn ldap_uid_start() -> u32 {
    20000
}

fn ldap_home() -> String {
    "/home/%u".into()
}

fn ldap_shell() -> String {
    "/bin/bash".into()
}

/// `type = "command"`: commands rendered from a template file and run locally or,
/// with `server`, over SSH on that `[[servers]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CommandSettings {
    /// Template file, relative to the instance (e.g. `templates/backends/zimbra.toml`).
    pub templates: String,
    /// Run the commands on this server over SSH; none: run them locally.
    #[serde(default)]
    pub server: Option<String>,
    /// Admin private key for `server` (as in `[backends.server]` type ssh);
    /// `LOKET_SSH_IDENTITY` overrides it.
    #[serde(default)]
    pub identity_file: Option<String>,
    /// Overrides of the template file's `[vars]` (e.g. the `zmprov` path).
    #[serde(default)]
    pub vars: std::collections::BTreeMap<String, String>,
}

#[cfg(test)]
mod tests {
    use super::Share;

    #[test]
    fn a_share_is_finite_and_between_0_and_1() {
        for bad in ["nan", "NaN", "inf", "-inf", "-0.1", "1.5", "x"] {
            assert!(bad.parse::<Share>().is_err(), "{bad}");
        }
        assert_eq!("0.25".parse::<Share>().unwrap().get(), 0.25);
        assert_eq!("1".parse::<Share>().unwrap().get(), 1.0);
    }

    #[test]
    fn loket_toml_refuses_a_share_that_is_not_one() {
        for bad in ["nan", "inf", "-0.5", "2"] {
            let text = format!("max-disable-share = {bad}\n");
            let err = toml::from_str::<super::Backends>(&text).unwrap_err();
            assert!(err.to_string().contains("not a share"), "{bad}: {err}");
        }
        let ok: super::Backends = toml::from_str("max-disable-share = 1\n").unwrap();
        assert_eq!(ok.max_disable_share.get(), 1.0);
    }
}
