//! `loket.toml`: the office, its domains, roles, servers, naming policy and the SOP
//! workflows each request kind follows.

use std::collections::BTreeMap;

use crate::model::Spanned;
use serde::{Deserialize, Serialize};
use toml::value::Datetime;

use super::letter::ActingKind;
pub use super::office_time::{OfficeHours, Reminders};
use super::request::RequestKind;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Config {
    pub office: Office,
    pub mail: MailConfig,
    #[serde(default)]
    pub naming: Naming,
    /// Role id (e.g. `kepala-dinas`) to the people who hold it.
    pub roles: BTreeMap<String, Role>,
    #[serde(default)]
    pub servers: Vec<Server>,
    /// SOP id (e.g. `email`) to the SOP's steps.
    pub sops: BTreeMap<String, Sop>,
    #[serde(default)]
    pub approvals: Approvals,
    #[serde(default)]
    pub requests: RequestPolicy,
    #[serde(default)]
    pub site: SiteConfig,
    #[serde(default)]
    pub backends: Backends,
    /// The outgoing-letter register and the follow-up pull request's receipt.
    #[serde(default)]
    pub letters: Option<LettersConfig>,
    /// Acting officials (Plt/Plh/Pj): who acts for a role, when, under which decree.
    #[serde(default)]
    pub delegations: Vec<Delegation>,
    /// `[reminders]` (`loket remind`).
    #[serde(default)]
    pub reminders: Reminders,
    /// `[[imports]]`: batches of accounts `loket import` brought in (docs/import.md).
    #[serde(default)]
    pub imports: Vec<ImportBatch>,
}

/// One `loket import` batch: its ticket (named first by every account it brought in,
/// in place of a request) and a fingerprint of exactly those accounts, so that adding,
/// dropping or swapping an account under the ticket changes loket.toml, which only a
/// config-change review approves (L046).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct ImportBatch {
    pub ticket: Spanned<String>,
    /// What was read, e.g. `dovecot passwd-file /etc/dovecot/users`.
    pub source: Spanned<String>,
    pub date: Spanned<String>,
    /// How many account files name the ticket.
    pub accounts: Spanned<u64>,
    /// `sha256:<hex>` of the sorted account keys (`crate::import::digest`).
    pub digest: Spanned<String>,
}

impl ImportBatch {
    /// The key of a mail account in a batch's digest.
    pub fn mail_key(address: &str) -> String {
        format!("mail:{}", address.to_lowercase())
    }

    /// The key of a server account in a batch's digest.
    pub fn server_key(server: &str, login: &str) -> String {
        format!("server:{server}/{login}")
    }

    /// `sha256:<hex>` of `keys` sorted, one per line.
    pub fn digest_of(mut keys: Vec<String>) -> String {
        use sha2::{Digest, Sha256};
        keys.sort_unstable();
        let mut h = Sha256::new();
        for k in &keys {
            h.update(k.as_bytes());
            h.update(b"\n");
        }
        let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256:{hex}")
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Office {
    /// e.g. "Pemerintah Kabupaten Kudus".
    pub government: String,
    /// e.g. "Dinas Komunikasi dan Informatika".
    pub name: String,
    /// e.g. "Diskominfo Kudus".
    pub short_name: String,
    pub address: String,
    pub city: String,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub website: Option<String>,
    pub time_zone: Spanned<TimeZone>,
    /// The regional emblem (lambang daerah) for the letterhead: an image file inside
    /// the instance (PNG, JPEG or SVG), read as a regular file. Checked by L081.
    #[serde(default)]
    pub emblem: Option<Spanned<String>>,
    /// Ticket prefix, 2–5 capital letters, e.g. `KDS`.
    pub ticket_prefix: Spanned<String>,
    /// Whether the office requires a NIP on every request.
    #[serde(default = "yes")]
    pub require_nip: bool,
    /// `[office.hours]`: when standard times run (see [`OfficeHours`]).
    #[serde(default)]
    pub hours: OfficeHours,
    /// Days the office is closed, `"YYYY-MM-DD"`: national holidays and cuti bersama.
    #[serde(default)]
    pub holidays: Vec<Spanned<String>>,
}

/// Indonesia's three civil time zones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
pub enum TimeZone {
    WIB,
    WITA,
    WIT,
}

impl TimeZone {
    /// The IANA zone used for display.
    pub fn iana(self) -> &'static str {
        match self {
            TimeZone::WIB => "Asia/Jakarta",
            TimeZone::WITA => "Asia/Makassar",
            TimeZone::WIT => "Asia/Jayapura",
        }
    }

    pub fn utc_offset_hours(self) -> i8 {
        match self {
            TimeZone::WIB => 7,
            TimeZone::WITA => 8,
            TimeZone::WIT => 9,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct MailConfig {
    pub domains: Spanned<Vec<Spanned<String>>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Naming {
    /// Regular expression every local part must match (already lower-case ASCII).
    #[serde(default = "default_pattern")]
    pub local_part_pattern: Spanned<String>,
    /// Names refused on top of the built-in reserved list.
    #[serde(default)]
    pub reserved: Vec<Spanned<String>>,
    /// Whether `budi.santoso`, `budi_santoso` and `budi-santoso` count as one name.
    #[serde(default = "yes")]
    pub separators_collide: bool,
    /// Whether one NIP may hold several active mail accounts.
    #[serde(default)]
    pub several_accounts_per_nip: bool,
}

impl Default for Naming {
    fn default() -> Self {
        Self {
            local_part_pattern: default_pattern(),
            reserved: Vec::new(),
            separators_collide: true,
            several_accounts_per_nip: false,
        }
    }
}

pub const DEFAULT_LOCAL_PART_PATTERN: &str = "^[a-z][a-z0-9]*([._-][a-z0-9]+)*$";

fn default_pattern() -> Spanned<String> {
    Spanned::new(0..0, DEFAULT_LOCAL_PART_PATTERN.to_string())
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Role {
    /// The office's title for the role, e.g. "Kepala Bidang Informatika".
    pub title: String,
    /// Forge logins that hold the role.
    #[serde(default)]
    pub logins: Vec<Spanned<String>>,
    /// The official who holds the role, printed under the letters they sign
    /// (Permendagri 1/2023: name, rank, NIP). Officials' names are public; their
    /// NIP appears on letters only, never on the site. Checked by L080.
    #[serde(default)]
    pub official_name: Option<Spanned<String>>,
    /// Rank (pangkat/golongan), e.g. "Pembina Utama Muda (IV/c)".
    #[serde(default)]
    pub official_rank: Option<Spanned<String>>,
    #[serde(default)]
    pub official_nip: Option<Spanned<String>>,
    /// The role a reminder escalates to (`loket remind`); default: the role of the
    /// SOP's preceding review step.
    #[serde(default)]
    pub reports_to: Option<Spanned<String>>,
}

/// `[[delegations]]`: a login acting for a role it does not hold, within a window,
/// under a decree (SK). Within the window the login's review counts for the role
/// (`crate::review::roles`); the role's title is then shown as "Plh. <title>".
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Delegation {
    /// The role acted for (a key of `[roles]`).
    pub role: Spanned<String>,
    /// The acting official's forge login.
    pub login: Spanned<String>,
    pub kind: Spanned<ActingKind>,
    /// First day (or instant) of the window; a local value is in the office's zone.
    #[serde(with = "super::spanned::datetime")]
    pub from: Spanned<Datetime>,
    /// Last day (a bare date counts whole) or instant of the window.
    #[serde(with = "super::spanned::datetime")]
    pub until: Spanned<Datetime>,
    /// The decree (SK) number appointing the official.
    pub decree: Spanned<String>,
    /// The official's public name, rank (pangkat) and NIP, for signed letters.
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub rank: Option<String>,
    #[serde(default)]
    pub nip: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Server {
    pub name: Spanned<String>,
    /// Host name or IP; private: never shown on the site.
    pub address: String,
    #[serde(default = "ssh_port")]
    pub port: u16,
    /// Pinned host key (`ssh-ed25519 AAAA…`); no trust on first use.
    #[serde(default)]
    pub host_key: Option<Spanned<String>>,
    /// Kinds of account the server takes.
    pub account_kinds: Vec<Spanned<ServerAccountKind>>,
    /// Longest access a grant may give, in days.
    pub max_days: Spanned<u32>,
    /// Login loket uses to manage accounts (needs sudo), if not `root`.
    #[serde(default)]
    pub admin_user: Option<String>,
    /// Logins of this server's own services, never given through a request (beside
    /// the system accounts every server has: `crate::model::login`).
    #[serde(default)]
    pub reserved_logins: Vec<String>,
}

fn ssh_port() -> u16 {
    22
}

/// What a server account is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ServerAccountKind {
    /// A dedicated account for an agency (OPD), shared by its named key holders.
    Opd,
    /// A personal account for one person.
    Personal,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Sop {
    /// The SOP's official number, e.g. "555/965/18.03/2021".
    pub number: String,
    pub title: String,
    #[serde(default)]
    pub title_en: Option<String>,
    /// Request kinds that follow this SOP.
    pub kinds: Vec<Spanned<RequestKind>>,
    /// Whether review steps must be completed in order.
    #[serde(default = "yes")]
    pub ordered: bool,
    /// Whether one person may complete two review steps.
    #[serde(default = "yes")]
    pub distinct_people: bool,
    pub steps: Vec<Step>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Step {
    /// Stable id, e.g. `disposisi-kabid`.
    pub id: Spanned<String>,
    /// The step's number in the SOP document (numbers may skip, as Lumajang's 4).
    #[serde(default)]
    pub no: Option<u32>,
    /// Role that acts (a key of `[roles]`).
    pub role: Spanned<String>,
    /// The SOP's wording, in Indonesian.
    pub text: String,
    #[serde(default)]
    pub text_en: Option<String>,
    /// Standard time ("mutu baku") in minutes; absent where the SOP sets none.
    #[serde(default)]
    pub minutes: Option<u32>,
    /// What completes the step.
    pub done_by: Spanned<Completion>,
    /// The SOP's stated output of the step.
    #[serde(default)]
    pub output: Option<String>,
}

/// What completes an SOP step.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Completion {
    /// Opening the pull request (the applicant's letter).
    Submit,
    /// An approving review by a holder of the step's role.
    Review,
    /// `loket check` passing on the pull request's head.
    Check,
    /// The merge into the main branch.
    Merge,
    /// `loket apply` creating or changing the account.
    Apply,
    /// `loket verify` testing the account.
    Verify,
    /// Retired: no command completes it. `loket check` refuses it (L068); presets use
    /// `draft`, `review`, `merge` and `receipt` on the follow-up pull request.
    Notify,
    /// Opening the follow-up pull request that adds `letters/<ticket>.toml` (by a
    /// holder of the step's role).
    Draft,
    /// The applicant's receipt: an approving review of the follow-up pull request by
    /// the applicant's login (`applicant.login`), or, with `[letters] receipt =
    /// "witness"`, by a holder of the witness role.
    Receipt,
}

impl Completion {
    /// Whether the step completes on the follow-up pull request when it comes after
    /// the apply step (`review`, `merge`, `draft`, `receipt`).
    pub fn follow_up_capable(self) -> bool {
        matches!(
            self,
            Completion::Draft | Completion::Review | Completion::Merge | Completion::Receipt
        )
    }
}

/// Who confirms the receipt step of a follow-up pull request.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReceiptBy {
    /// The applicant, with an approving review from the login the request names.
    #[default]
    Applicant,
    /// An in-person handover: a holder of `witness-role` approves.
    Witness,
}

/// `[letters]`: the office's outgoing-letter register (surat keluar).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LettersConfig {
    /// The letter number, e.g. `555/{seq:04}/18.03/{year}`: `{seq}` (or `{seq:0N}`,
    /// zero-padded to N digits) is the register's sequence, restarting each year;
    /// `{year}` the letter's year.
    pub number_format: Spanned<String>,
    /// The role that signs the letter.
    #[serde(default = "default_signer")]
    pub signer_role: Spanned<String>,
    /// Who confirms the receipt step.
    #[serde(default)]
    pub receipt: ReceiptBy,
    /// The role whose approving review witnesses an in-person handover.
    #[serde(default)]
    pub witness_role: Option<Spanned<String>>,
}

fn default_signer() -> Spanned<String> {
    Spanned::new(0..0, "kepala-dinas".to_string())
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Approvals {
    /// Role whose approval a change to `loket.toml` needs.
    #[serde(default)]
    pub config_change_role: Option<Spanned<String>>,
}

/// Who may ask for what (`[requests]`): the office's policy, from its SOP.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RequestPolicy {
    /// Positions (matched as a case-insensitive prefix of the applicant's `position`)
    /// that may ask for a reset, deactivation or revocation of someone else's account,
    /// giving `on-behalf-reason`. Empty: only the holder asks.
    #[serde(default)]
    pub on_behalf_positions: Vec<Spanned<String>>,
}

impl RequestPolicy {
    /// Whether `position` may ask on someone's behalf.
    pub fn may_ask_for_others(&self, position: &str) -> bool {
        let p = position.trim().to_lowercase();
        self.on_behalf_positions
            .iter()
            .any(|o| p.starts_with(&o.get_ref().trim().to_lowercase()))
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SiteConfig {
    /// `id` (default) or `en`.
    #[serde(default = "lang_id")]
    pub language: String,
    /// Public base URL of the status site, e.g. `https://loket.kuduskab.go.id/`.
    #[serde(default)]
    pub base_url: Option<String>,
    /// Whether the applicant's agency (OPD) is shown on ticket pages.
    #[serde(default)]
    pub show_opd: bool,
}

impl Default for SiteConfig {
    fn default() -> Self {
        Self {
            language: lang_id(),
            base_url: None,
            show_opd: false,
        }
    }
}

fn lang_id() -> String {
    "id".into()
}

pub use super::backends::Backends;

impl Config {
    /// The SOP a request kind follows, with its id.
    pub fn sop_for(&self, kind: RequestKind) -> Option<(&str, &Sop)> {
        self.sops
            .iter()
            .find(|(_, s)| s.kinds.iter().any(|k| *k.get_ref() == kind))
            .map(|(id, s)| (id.as_str(), s))
    }

    pub fn server(&self, name: &str) -> Option<&Server> {
        self.servers.iter().find(|s| s.name.get_ref() == name)
    }

    /// Roles a forge login holds.
    pub fn roles_of<'a>(&'a self, login: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.roles.iter().filter_map(move |(id, r)| {
            r.logins
                .iter()
                .any(|l| l.get_ref().eq_ignore_ascii_case(login))
                .then_some(id.as_str())
        })
    }

    /// The steps after the first `apply` step that a follow-up pull request
    /// completes (every one but `verify`/`apply`), with their index in the SOP.
    pub fn follow_up_steps(sop: &Sop) -> Vec<(usize, &Step)> {
        let Some(apply) = sop
            .steps
            .iter()
            .position(|s| *s.done_by.get_ref() == Completion::Apply)
        else {
            return Vec::new();
        };
        sop.steps
            .iter()
            .enumerate()
            .skip(apply + 1)
            .filter(|(_, s)| s.done_by.get_ref().follow_up_capable())
            .collect()
    }

    /// Whether step `i` of `sop` is beyond a request pull request's reviews: the
    /// merge, apply, verify, draft and receipt steps wherever they are, and every step
    /// after the first `apply` step (a paraf or signature there is a review on the
    /// follow-up pull request, never on the request's).
    pub fn after_merge(sop: &Sop, i: usize) -> bool {
        let after_apply = sop
            .steps
            .iter()
            .position(|s| *s.done_by.get_ref() == Completion::Apply)
            .is_some_and(|apply| i > apply);
        after_apply
            || sop.steps.get(i).is_some_and(|s| {
                matches!(
                    s.done_by.get_ref(),
                    Completion::Merge
                        | Completion::Apply
                        | Completion::Verify
                        | Completion::Notify
                        | Completion::Draft
                        | Completion::Receipt
                )
            })
    }

    pub fn primary_domain(&self) -> &str {
        self.mail
            .domains
            .get_ref()
            .first()
            .map_or("", |d| d.get_ref().as_str())
    }
}
