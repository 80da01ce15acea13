//! Issue 10: random review histories and random pull-request file sets, judged by
//! `loket::review::evaluate` (after `loket::review::touched`) and by a small
//! reference model written here, straight from the SOP rules (docs/approvals.md,
//! the Kudus SOPs 555/965 and 555/967). The reference calls none of loket's rule
//! functions: it knows the Kudus role map and SOP chains as tables (checked against
//! `presets/kudus.toml` once) and judges each generated file by what the generator
//! meant it to be, not by parsing its path.
//!
//! The property: loket never approves a pull request, nor a ticket, that the
//! reference refuses. The converse is checked too (the reference is exact for the
//! Kudus SOPs), and the run must approve a healthy share of its cases, so it cannot
//! pass by refusing everything.
//!
//! `LOKET_PROPTEST_CASES` changes the number of cases (default 2000);
//! `LOKET_PROPTEST_SEED` (a number) runs another deterministic sequence.

use std::cell::RefCell;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use jiff::{SignedDuration, Timestamp};
use loket::forge::{ChangedFile, Commit, PullData, PullRequest, Review, ReviewState};
use loket::model::record::Outcome;
use loket::model::{Completion, Config, Instance, RequestKind, Spanned};
use loket::review::{Evaluation, evaluate, touched};
use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config as RunnerConfig, RngAlgorithm, TestError, TestRng, TestRunner};

// ---------------------------------------------------------------------------
// The rules' tables: who holds which role in the Kudus preset, and the SOP chains.
// ---------------------------------------------------------------------------

const KADIS: &str = "kadis-kominfo-kudus";
const KABID: &str = "kabid-informatika-kudus";
const KASI: &str = "kasi-tip-kudus";
const ADMIN1: &str = "admin-helpdesk-kudus";
const ADMIN2: &str = "admin2-helpdesk-kudus";
/// The Sekretaris Dinas: no role in the preset; in the "dual" variant of the base
/// config, a deputy holding both the Kepala Dinas and the Kepala Bidang roles (so
/// distinct people matters).
const SEKDIN: &str = "sekdin-kominfo-kudus";
const SEKDIN_ROLES: [&str; 2] = ["kepala-dinas", "kepala-bidang"];

/// Role to the logins holding it on the base branch.
const ROLES: &[(&str, &[&str])] = &[
    ("pemohon", &[]),
    ("kepala-dinas", &[KADIS]),
    ("kepala-bidang", &[KABID]),
    ("kepala-seksi", &[KASI]),
    ("admin", &[ADMIN1, ADMIN2]),
];

/// The review steps of both Kudus SOPs, in SOP order (after the applicant's
/// submission; before the admin's apply / notify steps, which come after the merge).
const REVIEW_CHAIN: [&str; 3] = ["kepala-dinas", "kepala-bidang", "kepala-seksi"];

/// Every role the SOPs name: an outstanding request for changes by a holder of any
/// of them keeps the request from being approved.
const SOP_ROLES: [&str; 5] = [
    "pemohon",
    "kepala-dinas",
    "kepala-bidang",
    "kepala-seksi",
    "admin",
];

/// `approvals.config-change-role` on the base branch of the preset.
const CONFIG_CHANGE_ROLE: &str = "kepala-dinas";

/// Which `approvals.config-change-role` the base branch has: the preset's, the
/// admin (whom no review step needs, so protected paths need one more approval), or
/// none (then no one can approve a protected change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum CcRole {
    Preset,
    Admin,
    Unset,
}

impl CcRole {
    fn role(self) -> Option<&'static str> {
        match self {
            CcRole::Preset => Some(CONFIG_CHANGE_ROLE),
            CcRole::Admin => Some("admin"),
            CcRole::Unset => None,
        }
    }

    /// The base branch's config.
    fn config(self, map: RoleMap) -> Config {
        let mut c: Config = toml::from_str(&format!(
            "{}\n{}",
            include_str!("../presets/kudus.toml"),
            map.deleg.toml()
        ))
        .unwrap();
        c.approvals.config_change_role = self.role().map(|r| Spanned::new(0..0, r.to_string()));
        if map.dual {
            for role in SEKDIN_ROLES {
                let logins = &mut c.roles.get_mut(role).unwrap().logins;
                logins.push(Spanned::new(0..0, SEKDIN.to_string()));
            }
        }
        c
    }
}

const MAIL_TICKET: &str = "KDS-24WBW-PV52C";
const SERVER_TICKET: &str = "KDS-3ZTYU-SR663";

const HEAD: &str = "1111111111111111111111111111111111111111";
const STALE: &str = "2222222222222222222222222222222222222222";
const CREATED: &str = "2026-09-18T01:00:00Z";
/// Seconds between one review and the one before (the first: the PR's opening).
/// Zeros make same-second ties, which only the review id orders.
const GAPS: [i64; 7] = [0, 0, 0, 1, 2, 59, 3600];

/// An acting official on the base branch (`[[delegations]]`), if any: whose review
/// counts for a role it does not hold while the review's time is in the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deleg {
    None,
    /// The Kabid is Plh. Kepala Dinas (so distinct people matters), from 20 seconds
    /// after the pull request opens until two hours after.
    KabidActsKadis,
    /// The second admin is Plt. Kepala Seksi from one minute after the opening to
    /// half an hour after.
    Admin2ActsKasi,
}

impl Deleg {
    const ALL: [Deleg; 3] = [Deleg::None, Deleg::KabidActsKadis, Deleg::Admin2ActsKasi];

    /// The `[[delegations]]` table, as an office writes it (local WIB and UTC times).
    fn toml(self) -> &'static str {
        match self {
            Deleg::None => "",
            Deleg::KabidActsKadis => {
                "[[delegations]]\nrole = \"kepala-dinas\"\nlogin = \"kabid-informatika-kudus\"\nkind = \"plh\"\nfrom = 2026-09-18T08:00:20\nuntil = 2026-09-18T10:00:00+07:00\ndecree = \"800/117/18.03/2026\"\n"
            }
            Deleg::Admin2ActsKasi => {
                "[[delegations]]\nrole = \"kepala-seksi\"\nlogin = \"admin2-helpdesk-kudus\"\nkind = \"plt\"\nfrom = 2026-09-18T01:01:00Z\nuntil = 2026-09-18T01:30:00Z\ndecree = \"800/121/18.03/2026\"\n"
            }
        }
    }

    /// The delegate, the role and the window (both ends counted), as instants.
    fn window(self) -> Option<(&'static str, &'static str, Timestamp, Timestamp)> {
        let t = |s: &str| s.parse::<Timestamp>().unwrap();
        match self {
            Deleg::None => None,
            Deleg::KabidActsKadis => Some((
                KABID,
                "kepala-dinas",
                t("2026-09-18T01:00:20Z"),
                t("2026-09-18T03:00:00Z"),
            )),
            Deleg::Admin2ActsKasi => Some((
                ADMIN2,
                "kepala-seksi",
                t("2026-09-18T01:01:00Z"),
                t("2026-09-18T01:30:00Z"),
            )),
        }
    }
}

/// The base branch's role map, as the reference sees it.
#[derive(Debug, Clone, Copy)]
struct RoleMap {
    /// The Sekretaris Dinas holds two roles.
    dual: bool,
    deleg: Deleg,
    /// For the statistics only: the delegation counts whatever the time.
    widen: bool,
}

/// Whether `login` holds `role` on the base branch at `at`.
fn holds(login: &str, role: &str, map: RoleMap, at: Timestamp) -> bool {
    let preset = ROLES
        .iter()
        .any(|(r, logins)| *r == role && logins.iter().any(|l| l.eq_ignore_ascii_case(login)));
    let acting = map.deleg.window().is_some_and(|(who, r, from, until)| {
        r == role && who.eq_ignore_ascii_case(login) && (map.widen || (from <= at && at <= until))
    });
    preset
        || acting
        || (map.dual && login.eq_ignore_ascii_case(SEKDIN) && SEKDIN_ROLES.contains(&role))
}

fn config() -> Config {
    toml::from_str(include_str!("../presets/kudus.toml")).unwrap()
}

/// The head tree: the two bundled requests, a request that is not TOML, an account
/// of each kind and a `loket.toml` that (in vain) makes an outsider Kepala Dinas.
fn head() -> Instance {
    let files = [
        (
            format!("requests/{MAIL_TICKET}.toml"),
            include_str!("../requests/KDS-24WBW-PV52C.toml"),
        ),
        (
            format!("requests/{SERVER_TICKET}.toml"),
            include_str!("../requests/KDS-3ZTYU-SR663.toml"),
        ),
        (
            "requests/KDS-BROKN-00000.toml".into(),
            "ticket = \"KDS-BROKN-00000\"\nkind = mail-create\n[applicant\n",
        ),
        (
            "accounts/mail/dewi.wibowo@kuduskab.go.id.toml".into(),
            include_str!("../accounts/mail/dewi.wibowo@kuduskab.go.id.toml"),
        ),
        (
            "accounts/server/app-1/opd-dinkes.toml".into(),
            include_str!("../accounts/server/app-1/opd-dinkes.toml"),
        ),
    ];
    let mut files: Vec<(String, String)> =
        files.into_iter().map(|(p, t)| (p, t.to_string())).collect();
    let hijack = include_str!("../presets/kudus.toml").replace(
        "logins = [\"kadis-kominfo-kudus\"]",
        "logins = [\"outsider-x\"]",
    );
    files.push(("loket.toml".into(), hijack));
    Instance::from_files(Path::new("."), files)
}

// ---------------------------------------------------------------------------
// What the generator draws.
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Person {
    Kadis,
    Kabid,
    Kasi,
    Admin1,
    Admin2,
    Sekdin,
    /// Opens most pull requests.
    Operator,
    /// Pushes commits to some.
    Helper,
    Outsider,
    /// GitHub's committer for web edits.
    WebFlow,
}

impl Person {
    fn login(self) -> &'static str {
        match self {
            Person::Kadis => KADIS,
            Person::Kabid => KABID,
            Person::Kasi => KASI,
            Person::Admin1 => ADMIN1,
            Person::Admin2 => ADMIN2,
            Person::Sekdin => SEKDIN,
            Person::Operator => "operator-helpdesk",
            Person::Helper => "magang-tik",
            Person::Outsider => "outsider-x",
            Person::WebFlow => "web-flow",
        }
    }

    /// Logins compare case-insensitively on both forges.
    fn spelled(self, spelling: u8) -> String {
        let l = self.login();
        match spelling % 3 {
            0 => l.to_string(),
            1 => l.to_ascii_uppercase(),
            _ => l[..1].to_ascii_uppercase() + &l[1..],
        }
    }
}

/// One changed file, by what it is; the reference reads this, loket the path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FileSpec {
    MailRequest,
    ServerRequest,
    /// The mail request renamed from another request file: that one moved away.
    MailRequestRenamed,
    RemovedRequest,
    /// In the head tree but not TOML.
    BrokenRequest,
    /// Listed by the forge, absent from the head tree.
    MissingRequest,
    /// Under `requests/` but not a `.toml`.
    RequestNotes,
    MailAccount,
    ServerAccount,
    RemovedAccount,
    /// A file moved from `records/` to `accounts/`.
    RecordMovedToAccounts,
    Record,
    RemovedRecord,
    Config,
    Template,
    /// Repository level: source, workflows, lock file.
    Source,
    Workflow,
    LockFile,
    /// Another instance's request, outside this instance's `requests/`.
    OutsideRequest,
    /// Paths that only look like data folders: `requests.toml`, `Requests/…`,
    /// `recordsX/…`, a bare `accounts`.
    LookAlike(u8),
}

const LOOK_ALIKES: [&str; 4] = [
    "requests.toml",
    "Requests/KDS-24WBW-PV52C.toml",
    "recordsX/KDS-24WBW-PV52C.toml",
    "accounts",
];

impl FileSpec {
    fn changed(self, prefix: &str) -> ChangedFile {
        let inst = |rel: &str| {
            if prefix.is_empty() {
                rel.to_string()
            } else {
                format!("{prefix}/{rel}")
            }
        };
        let mut f = ChangedFile {
            path: String::new(),
            previous_path: None,
            removed: false,
        };
        match self {
            FileSpec::MailRequest => f.path = inst(&format!("requests/{MAIL_TICKET}.toml")),
            FileSpec::ServerRequest => f.path = inst(&format!("requests/{SERVER_TICKET}.toml")),
            FileSpec::MailRequestRenamed => {
                f.path = inst(&format!("requests/{MAIL_TICKET}.toml"));
                f.previous_path = Some(inst("requests/KDS-OLD00-00000.toml"));
            }
            FileSpec::RemovedRequest => {
                f.path = inst("requests/KDS-GONE0-00000.toml");
                f.removed = true;
            }
            FileSpec::BrokenRequest => f.path = inst("requests/KDS-BROKN-00000.toml"),
            FileSpec::MissingRequest => f.path = inst("requests/KDS-MISNG-00000.toml"),
            FileSpec::RequestNotes => f.path = inst("requests/README.md"),
            FileSpec::MailAccount => f.path = inst("accounts/mail/dewi.wibowo@kuduskab.go.id.toml"),
            FileSpec::ServerAccount => f.path = inst("accounts/server/app-1/opd-dinkes.toml"),
            FileSpec::RemovedAccount => {
                f.path = inst("accounts/mail/nanik.mulyono@kuduskab.go.id.toml");
                f.removed = true;
            }
            FileSpec::RecordMovedToAccounts => {
                f.path = inst("accounts/mail/ayu.wibowo@kuduskab.go.id.toml");
                f.previous_path = Some(inst("records/KDS-963ZS-R47D4.toml"));
            }
            FileSpec::Record => f.path = inst(&format!("records/{MAIL_TICKET}.toml")),
            FileSpec::RemovedRecord => {
                f.path = inst("records/KDS-963ZS-R47D4.toml");
                f.removed = true;
            }
            FileSpec::Config => f.path = inst("loket.toml"),
            FileSpec::Template => f.path = inst("templates/site/ticket.html"),
            FileSpec::Source => f.path = "src/review/mod.rs".into(),
            FileSpec::Workflow => f.path = ".github/workflows/review.yml".into(),
            FileSpec::LockFile => f.path = "Cargo.lock".into(),
            FileSpec::OutsideRequest => {
                f.path = format!("arsip/requests/{MAIL_TICKET}.toml");
                if !prefix.is_empty() {
                    // The sibling folder that shares the instance's name as a prefix.
                    f.path = format!("{prefix}2/requests/{MAIL_TICKET}.toml");
                }
            }
            FileSpec::LookAlike(i) => f.path = inst(LOOK_ALIKES[i as usize % LOOK_ALIKES.len()]),
        }
        f
    }

    /// What the file means under the rules.
    fn class(self) -> Class {
        let mut c = Class::default();
        match self {
            FileSpec::MailRequest => c.ticket = Some(MAIL_TICKET),
            FileSpec::ServerRequest => c.ticket = Some(SERVER_TICKET),
            FileSpec::MailRequestRenamed => {
                c.ticket = Some(MAIL_TICKET);
                c.protected = true;
            }
            FileSpec::BrokenRequest | FileSpec::MissingRequest => c.unreadable = true,
            FileSpec::MailAccount | FileSpec::ServerAccount | FileSpec::RemovedAccount => {
                c.accounts = true
            }
            FileSpec::RecordMovedToAccounts => {
                c.accounts = true;
                c.records = true;
            }
            FileSpec::Record | FileSpec::RemovedRecord => c.records = true,
            FileSpec::RemovedRequest
            | FileSpec::RequestNotes
            | FileSpec::Config
            | FileSpec::Template
            | FileSpec::Source
            | FileSpec::Workflow
            | FileSpec::LockFile
            | FileSpec::OutsideRequest
            | FileSpec::LookAlike(_) => c.protected = true,
        }
        c
    }
}

#[derive(Debug, Clone, Copy, Default)]
struct Class {
    ticket: Option<&'static str>,
    protected: bool,
    records: bool,
    unreadable: bool,
    accounts: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Body {
    Ditolak,
    DitolakShouted,
    Refused,
    Reason,
    Empty,
    /// Mentions the word, but does not open with it: a return.
    DitolakInside,
}

impl Body {
    fn text(self) -> &'static str {
        match self {
            Body::Ditolak => "ditolak: server ini bukan untuk OPD pemohon",
            Body::DitolakShouted => "  DITOLAK",
            Body::Refused => "Refused: no letter",
            Body::Reason => "nama sudah dipakai, ajukan nama lain",
            Body::Empty => "",
            Body::DitolakInside => "jangan sampai ditolak: lengkapi surat",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Act {
    Approve,
    RequestChanges(Body),
    Comment,
    /// GitHub: state `DISMISSED`.
    DismissedGitHub,
    /// Forgejo: the state kept (approve or request changes), `dismissed: true`.
    DismissedForgejo {
        approve: bool,
    },
    /// Not submitted yet: no time.
    Pending,
    /// Forgejo's `REQUEST_REVIEW`.
    ReviewRequested,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum On {
    Head,
    Stale,
    NoCommit,
    /// Forgejo's `stale` flag on a review whose commit id is the head.
    ForgejoStale,
}

#[derive(Debug, Clone, Copy)]
struct ReviewSpec {
    who: Person,
    spelling: u8,
    act: Act,
    on: On,
    /// Index into [`GAPS`].
    gap: usize,
    /// How many ids other reviews (elsewhere on the forge) took in between.
    id_skip: u8,
    /// Submitted time written in WIB (`+07:00`) rather than UTC.
    wib: bool,
}

#[derive(Debug, Clone, Copy)]
enum ListOrder {
    /// Oldest first, as both forges list them.
    Forge,
    Reversed,
    Rotated(Index),
}

/// A person and how their login is capitalised (see [`Person::spelled`]).
type Spelled = (Person, u8);

#[derive(Debug, Clone)]
struct Case {
    /// The instance folder as configured (`touched` trims slashes).
    prefix: &'static str,
    cc: CcRole,
    /// The base config where the Sekretaris Dinas holds two roles.
    dual: bool,
    /// The base config's acting official.
    deleg: Deleg,
    files: Vec<FileSpec>,
    author: Spelled,
    /// Each commit's author and committer, if the forge maps them to an account.
    commits: Vec<(Option<Spelled>, Option<Spelled>)>,
    reviews: Vec<ReviewSpec>,
    order: ListOrder,
    check_passed: bool,
}

impl Case {
    fn map(&self) -> RoleMap {
        RoleMap {
            dual: self.dual,
            deleg: self.deleg,
            widen: false,
        }
    }
}

// ---------------------------------------------------------------------------
// Strategies.
// ---------------------------------------------------------------------------

fn reviewer() -> impl Strategy<Value = Person> {
    prop_oneof![
        4 => Just(Person::Kadis),
        4 => Just(Person::Kabid),
        4 => Just(Person::Kasi),
        2 => Just(Person::Admin1),
        1 => Just(Person::Admin2),
        2 => Just(Person::Sekdin),
        2 => Just(Person::Operator),
        1 => Just(Person::Helper),
        2 => Just(Person::Outsider),
    ]
}

fn body() -> impl Strategy<Value = Body> {
    prop_oneof![
        Just(Body::Ditolak),
        Just(Body::DitolakShouted),
        Just(Body::Refused),
        Just(Body::Reason),
        Just(Body::Empty),
        Just(Body::DitolakInside),
    ]
}

fn act() -> impl Strategy<Value = Act> {
    prop_oneof![
        8 => Just(Act::Approve),
        2 => body().prop_map(Act::RequestChanges),
        2 => Just(Act::Comment),
        1 => Just(Act::DismissedGitHub),
        1 => any::<bool>().prop_map(|approve| Act::DismissedForgejo { approve }),
        1 => Just(Act::Pending),
        1 => Just(Act::ReviewRequested),
    ]
}

fn on() -> impl Strategy<Value = On> {
    prop_oneof![
        8 => Just(On::Head),
        2 => Just(On::Stale),
        1 => Just(On::NoCommit),
        1 => Just(On::ForgejoStale),
    ]
}

fn review_spec() -> impl Strategy<Value = ReviewSpec> {
    (
        reviewer(),
        0u8..3,
        act(),
        on(),
        0..GAPS.len(),
        0u8..4,
        any::<bool>(),
    )
        .prop_map(|(who, spelling, act, on, gap, id_skip, wib)| ReviewSpec {
            who,
            spelling,
            act,
            on,
            gap,
            id_skip,
            wib,
        })
}

/// The SOP chain approved in order on the head, by the three holders.
fn chain_approval(who: impl Strategy<Value = Person>) -> impl Strategy<Value = ReviewSpec> {
    (who, 0u8..3, 0..GAPS.len(), 0u8..4, any::<bool>()).prop_map(
        |(who, spelling, gap, id_skip, wib)| ReviewSpec {
            who,
            spelling,
            act: Act::Approve,
            on: On::Head,
            gap,
            id_skip,
            wib,
        },
    )
}

fn reviews() -> impl Strategy<Value = Vec<ReviewSpec>> {
    let random = prop::collection::vec(review_spec(), 0..=12);
    let chain_with_noise = (
        chain_approval(prop_oneof![
            5 => Just(Person::Kadis),
            1 => Just(Person::Sekdin),
            2 => Just(Person::Kabid)
        ]),
        chain_approval(prop_oneof![5 => Just(Person::Kabid), 1 => Just(Person::Sekdin)]),
        chain_approval(prop_oneof![4 => Just(Person::Kasi), 1 => Just(Person::Admin2)]),
        prop::collection::vec((any::<Index>(), review_spec()), 0..=6),
        // An admin's approval, for a config-change role naming the admin.
        prop::option::weighted(
            0.5,
            (
                any::<Index>(),
                prop_oneof![
                    chain_approval(Just(Person::Admin1)),
                    chain_approval(Just(Person::Admin2))
                ],
            ),
        ),
    )
        .prop_map(|(a, b, c, noise, admin)| {
            let mut v = vec![a, b, c];
            for (at, r) in noise.into_iter().chain(admin) {
                v.insert(at.index(v.len() + 1), r);
            }
            v
        });
    // The chain, shuffled: sometimes out of SOP order.
    let chain_shuffled = (
        chain_approval(Just(Person::Kadis)),
        chain_approval(Just(Person::Kabid)),
        chain_approval(Just(Person::Kasi)),
    )
        .prop_map(|(a, b, c)| vec![a, b, c])
        .prop_shuffle();
    prop_oneof![
        2 => random,
        6 => chain_with_noise,
        1 => chain_shuffled,
    ]
}

fn file_spec() -> impl Strategy<Value = FileSpec> {
    prop_oneof![
        3 => Just(FileSpec::MailRequest),
        3 => Just(FileSpec::ServerRequest),
        1 => Just(FileSpec::MailRequestRenamed),
        1 => Just(FileSpec::RemovedRequest),
        1 => Just(FileSpec::BrokenRequest),
        1 => Just(FileSpec::MissingRequest),
        1 => Just(FileSpec::RequestNotes),
        2 => Just(FileSpec::MailAccount),
        2 => Just(FileSpec::ServerAccount),
        1 => Just(FileSpec::RemovedAccount),
        1 => Just(FileSpec::RecordMovedToAccounts),
        1 => Just(FileSpec::Record),
        1 => Just(FileSpec::RemovedRecord),
        2 => Just(FileSpec::Config),
        1 => Just(FileSpec::Template),
        1 => Just(FileSpec::Source),
        1 => Just(FileSpec::Workflow),
        1 => Just(FileSpec::LockFile),
        1 => Just(FileSpec::OutsideRequest),
        1 => (0u8..4).prop_map(FileSpec::LookAlike),
    ]
}

fn files() -> impl Strategy<Value = Vec<FileSpec>> {
    use FileSpec::*;
    let clean = prop_oneof![
        Just(vec![MailRequest]),
        Just(vec![ServerRequest]),
        Just(vec![MailRequest, ServerRequest]),
        Just(vec![MailRequest, MailAccount]),
        Just(vec![ServerRequest, ServerAccount]),
    ];
    let noisy =
        (clean.clone(), prop::collection::vec(file_spec(), 1..=2)).prop_map(|(mut a, b)| {
            a.extend(b);
            a
        });
    prop_oneof![
        5 => clean,
        2 => noisy,
        1 => prop::collection::vec(file_spec(), 1..=5),
    ]
}

fn spelled(p: impl Strategy<Value = Person>) -> impl Strategy<Value = Spelled> {
    (p, 0u8..3)
}

fn case() -> impl Strategy<Value = Case> {
    let author = prop_oneof![
        12 => Just(Person::Operator),
        1 => Just(Person::Helper),
        1 => Just(Person::Kasi),
        1 => Just(Person::Admin1),
        1 => Just(Person::Outsider),
    ];
    let commit_author = prop_oneof![
        6 => Just(Some(Person::Operator)),
        2 => Just(Some(Person::Helper)),
        1 => Just(Some(Person::WebFlow)),
        1 => Just(None),
        1 => Just(Some(Person::Kabid)),
        1 => Just(Some(Person::Admin2)),
    ];
    let committer = prop_oneof![
        4 => Just(Some(Person::WebFlow)),
        2 => Just(Some(Person::Operator)),
        1 => Just(Some(Person::Helper)),
        1 => Just(Some(Person::Kadis)),
        1 => Just(None),
    ];
    let commits = prop::collection::vec(
        (
            (commit_author, 0u8..3).prop_map(|(p, s)| p.map(|p| (p, s))),
            (committer, 0u8..3).prop_map(|(p, s)| p.map(|p| (p, s))),
        ),
        1..=3,
    );
    let order = prop_oneof![
        4 => Just(ListOrder::Forge),
        1 => Just(ListOrder::Reversed),
        1 => any::<Index>().prop_map(ListOrder::Rotated),
    ];
    let prefix = prop_oneof![
        4 => Just(""),
        2 => Just("kudus"),
        1 => Just("kudus/"),
        1 => Just("/dinas/kudus"),
    ];
    let cc = prop_oneof![
        5 => Just(CcRole::Preset),
        3 => Just(CcRole::Admin),
        1 => Just(CcRole::Unset),
    ];
    let deleg = prop_oneof![
        3 => Just(Deleg::None),
        2 => Just(Deleg::KabidActsKadis),
        2 => Just(Deleg::Admin2ActsKasi),
    ];
    (
        prefix,
        (cc, prop::bool::weighted(0.4), deleg),
        files(),
        spelled(author),
        commits,
        reviews(),
        order,
        prop_oneof![4 => Just(true), 1 => Just(false)],
    )
        .prop_map(
            |(prefix, (cc, dual, deleg), files, author, commits, reviews, order, check_passed)| {
                Case {
                    prefix,
                    cc,
                    dual,
                    deleg,
                    files,
                    author,
                    commits,
                    reviews,
                    order,
                    check_passed,
                }
            },
        )
}

// ---------------------------------------------------------------------------
// From a case to forge data.
// ---------------------------------------------------------------------------

fn changed_files(case: &Case) -> Vec<ChangedFile> {
    let prefix = case.prefix.trim_matches('/');
    let mut seen = BTreeSet::new();
    case.files
        .iter()
        .map(|f| f.changed(prefix))
        .filter(|f| seen.insert(f.path.clone()))
        .collect()
}

/// The files as the reference sees them: one class per distinct path.
fn classes(case: &Case) -> Vec<Class> {
    let prefix = case.prefix.trim_matches('/');
    let mut seen = BTreeSet::new();
    case.files
        .iter()
        .filter(|f| seen.insert(f.changed(prefix).path))
        .map(|f| f.class())
        .collect()
}

fn pull_data(case: &Case) -> PullData {
    let created: Timestamp = CREATED.parse().unwrap();
    let mut at = created;
    let mut id = 1000u64;
    let mut reviews: Vec<Review> = case
        .reviews
        .iter()
        .map(|r| {
            at = at
                .checked_add(SignedDuration::from_secs(GAPS[r.gap]))
                .unwrap();
            id += 1 + u64::from(r.id_skip);
            let shown = if r.wib {
                let wib = jiff::tz::Offset::from_hours(7).unwrap();
                format!(
                    "{}+07:00",
                    wib.to_datetime(at).strftime("%Y-%m-%dT%H:%M:%S")
                )
            } else {
                at.strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
            };
            let (state, dismissed, body) = match r.act {
                Act::Approve => (ReviewState::Approved, false, ""),
                Act::RequestChanges(b) => (ReviewState::ChangesRequested, false, b.text()),
                Act::Comment => (ReviewState::Commented, false, "disetujui"),
                Act::DismissedGitHub => (ReviewState::Dismissed, true, ""),
                Act::DismissedForgejo { approve: true } => (ReviewState::Approved, true, ""),
                Act::DismissedForgejo { approve: false } => {
                    (ReviewState::ChangesRequested, true, "ditolak")
                }
                Act::Pending => (ReviewState::Pending, false, ""),
                Act::ReviewRequested => (ReviewState::ReviewRequested, false, ""),
            };
            Review {
                id,
                login: r.who.spelled(r.spelling),
                state,
                commit_id: match r.on {
                    On::Head | On::ForgejoStale => Some(HEAD.into()),
                    On::Stale => Some(STALE.into()),
                    On::NoCommit => None,
                },
                submitted_at: (r.act != Act::Pending).then_some(shown),
                dismissed,
                stale: r.on == On::ForgejoStale,
                official: true,
                body: body.into(),
            }
        })
        .collect();
    match case.order {
        ListOrder::Forge => {}
        ListOrder::Reversed => reviews.reverse(),
        ListOrder::Rotated(i) => {
            if !reviews.is_empty() {
                let n = i.index(reviews.len());
                reviews.rotate_left(n);
            }
        }
    }
    let login = |p: Option<Spelled>| p.map(|(p, s)| p.spelled(s));
    let mut commits: Vec<Commit> = case
        .commits
        .iter()
        .enumerate()
        .map(|(i, (a, c))| Commit {
            sha: format!("{:040x}", i + 0xc0),
            author_login: login(*a),
            committer_login: login(*c),
        })
        .collect();
    commits.last_mut().unwrap().sha = HEAD.into();
    PullData {
        pull: PullRequest {
            number: 42,
            author: case.author.0.spelled(case.author.1),
            head_sha: HEAD.into(),
            base_ref: "main".into(),
            base_sha: "0".repeat(40),
            state: "open".into(),
            merged: false,
            merge_commit_sha: None,
            created_at: CREATED.into(),
            merged_at: None,
        },
        commits,
        files: changed_files(case),
        reviews,
    }
}

// ---------------------------------------------------------------------------
// The reference model.
// ---------------------------------------------------------------------------

/// An approval that passed every rule about the review itself.
#[derive(Debug, Clone)]
struct Counted {
    at: Timestamp,
    id: u64,
    login: String,
}

#[derive(Debug, Default)]
struct Verdict {
    pr: bool,
    tickets: BTreeMap<&'static str, bool>,
    /// Outstanding requests for changes by SOP role holders: whether each refuses.
    objections: Vec<bool>,
    counted: Vec<Counted>,
    /// The chain is complete only if one person may complete two steps.
    one_person_twice: bool,
    /// The pull request's opening, where the chain starts.
    created: Timestamp,
}

fn time(r: &Review) -> Option<Timestamp> {
    r.submitted_at.as_deref().map(|s| s.parse().unwrap())
}

fn reference(data: &PullData, classes: &[Class], cc_role: Option<&str>, map: RoleMap) -> Verdict {
    let lower = |s: &str| s.to_ascii_lowercase();
    // Nobody approves their own work: the PR's author, every commit's author and
    // committer.
    let mut barred: BTreeSet<String> = BTreeSet::from([lower(&data.pull.author)]);
    for c in &data.commits {
        for l in [&c.author_login, &c.committer_login].into_iter().flatten() {
            barred.insert(lower(l));
        }
    }
    // Each reviewer's latest decisive review (approve, request changes, dismissed),
    // by submission time, then by the forge's id. Comments decide nothing.
    let mut latest: BTreeMap<String, &Review> = BTreeMap::new();
    for r in &data.reviews {
        let decisive = matches!(
            r.state,
            ReviewState::Approved | ReviewState::ChangesRequested | ReviewState::Dismissed
        );
        let Some(at) = time(r).filter(|_| decisive) else {
            continue;
        };
        let slot = latest.entry(lower(&r.login)).or_insert(r);
        if (at, r.id) > (time(slot).unwrap(), slot.id) {
            *slot = r;
        }
    }
    let counted: Vec<Counted> = latest
        .iter()
        .filter(|(login, r)| {
            r.state == ReviewState::Approved
                && !r.dismissed
                && !r.stale
                && r.commit_id.as_deref() == Some(HEAD)
                && !barred.contains(*login)
        })
        .map(|(login, r)| Counted {
            at: time(r).unwrap(),
            id: r.id,
            login: login.clone(),
        })
        .collect();
    let objections: Vec<bool> = latest
        .iter()
        .filter(|(login, r)| {
            r.state == ReviewState::ChangesRequested
                && !r.dismissed
                && SOP_ROLES
                    .iter()
                    .any(|role| holds(login, role, map, time(r).unwrap()))
        })
        .map(|(_, r)| {
            let body = r.body.trim().to_lowercase();
            body.starts_with("ditolak") || body.starts_with("refused")
        })
        .collect();

    let created: Timestamp = data.pull.created_at.parse().unwrap();
    // Both Kudus SOPs walk the same review chain.
    let ticket_ok =
        objections.is_empty() && chain(&counted, 0, (created, 0), &mut Vec::new(), map, true);
    let mut v = Verdict {
        objections,
        ..Default::default()
    };
    for c in classes {
        if let Some(t) = c.ticket {
            v.tickets.insert(t, ticket_ok);
        }
    }
    let any = |f: fn(&Class) -> bool| classes.iter().any(f);
    let protected = any(|c| c.protected) || (any(|c| c.accounts) && v.tickets.is_empty());
    let config_change_ok =
        cc_role.is_some_and(|role| counted.iter().any(|a| holds(&a.login, role, map, a.at)));
    v.pr = !any(|c| c.records)
        && !any(|c| c.unreadable)
        && v.tickets.values().all(|ok| *ok)
        && (!protected || config_change_ok);
    v.one_person_twice = !chain(&counted, 0, (created, 0), &mut Vec::new(), map, true)
        && chain(&counted, 0, (created, 0), &mut Vec::new(), map, false);
    v.created = created;
    v.counted = counted;
    v
}

/// Whether review steps `step..` can be completed, in order, after `previous` (an
/// instant and review id; the PR's opening is id 0), each by a different person
/// holding the step's role, none of `used`. (`distinct` false, for the statistics
/// only: one person's one approval may complete two steps.)
fn chain(
    counted: &[Counted],
    step: usize,
    previous: (Timestamp, u64),
    used: &mut Vec<String>,
    map: RoleMap,
    distinct: bool,
) -> bool {
    let Some(role) = REVIEW_CHAIN.get(step) else {
        return true;
    };
    counted.iter().any(|a| {
        if !holds(&a.login, role, map, a.at)
            || (distinct && used.contains(&a.login))
            || (distinct && (a.at, a.id) <= previous)
            || (a.at, a.id) < previous
        {
            return false;
        }
        used.push(a.login.clone());
        let ok = chain(counted, step + 1, (a.at, a.id), used, map, distinct);
        used.pop();
        ok
    })
}

// ---------------------------------------------------------------------------
// The property.
// ---------------------------------------------------------------------------

#[derive(Debug, Default)]
struct Stats {
    cases: usize,
    approved: usize,
    tickets: usize,
    tickets_approved: usize,
    approved_with_protected: usize,
    approved_with_protected_by_admin: usize,
    /// Approved with the Sekretaris Dinas completing one of their two roles' steps.
    approved_by_a_dual_holder: usize,
    /// Tickets approved only because an acting official's approval counted.
    tickets_approved_through_a_delegation: usize,
    /// Tickets refused only because an acting official approved outside the window.
    tickets_refused_outside_a_window: usize,
    /// Refused although every step had an approval by a holder: one person twice.
    refused_for_one_person_twice: usize,
    approved_in_subfolder: usize,
    approved_with_same_second_steps: usize,
    approved_with_noise: usize,
    refused_for_records: usize,
    refused_for_protected: usize,
    returned_or_refused: usize,
    chain_broken_by_order: usize,
}

fn summary(ev: &Evaluation) -> String {
    let tickets: Vec<String> = ev
        .tickets
        .iter()
        .map(|t| {
            format!(
                "{} {:?} pending={:?} reason={:?} findings={:?}",
                t.ticket,
                t.outcome,
                t.pending.as_ref().map(|p| &p.role),
                t.reason,
                t.findings.iter().map(|f| f.code).collect::<Vec<_>>()
            )
        })
        .collect();
    format!(
        "outcome {:?}; tickets {tickets:?}; config change {:?}; problems {:?}",
        ev.outcome,
        ev.config_change
            .as_ref()
            .map(|c| (&c.paths, c.approved.as_ref().and_then(|a| a.login.clone()))),
        ev.problems
    )
}

/// Runs one case through loket and the reference; `Err` names the disagreement.
/// The eighteen base configs, by [`CcRole`] and role map.
struct Bases(Vec<Config>);

impl Bases {
    fn new() -> Bases {
        let all = [CcRole::Preset, CcRole::Admin, CcRole::Unset];
        let mut v = Vec::new();
        for cc in all {
            for dual in [false, true] {
                for deleg in Deleg::ALL {
                    v.push(cc.config(RoleMap {
                        dual,
                        deleg,
                        widen: false,
                    }));
                }
            }
        }
        Bases(v)
    }

    fn get(&self, cc: CcRole, map: RoleMap) -> &Config {
        &self.0[(cc as usize * 2 + usize::from(map.dual)) * 3 + map.deleg as usize]
    }
}

fn check(case: &Case, bases: &Bases, head: &Instance, stats: &mut Stats) -> Result<(), String> {
    let config = bases.get(case.cc, case.map());
    let data = pull_data(case);
    let classes = classes(case);
    let t = touched(&data.files, case.prefix, head);
    let now: Timestamp = "2026-09-20T00:00:00Z".parse().unwrap();
    let ev = evaluate(config, &data, &t, case.check_passed, now);
    let want = reference(&data, &classes, case.cc.role(), case.map());
    let why = || {
        format!(
            "\nloket:     {}\nreference: pr={} tickets={:?} objections={:?} counted={:?}\nfiles: {:?}\nreviews: {:#?}",
            summary(&ev),
            want.pr,
            want.tickets,
            want.objections,
            want.counted,
            data.files,
            data.reviews
        )
    };

    // The property: loket approves nothing the reference refuses.
    let approved = ev.outcome == Outcome::Approved;
    if approved && !want.pr {
        return Err(format!("loket approves a PR the rules refuse{}", why()));
    }
    for tk in &ev.tickets {
        if tk.outcome == Outcome::Approved
            && !want
                .tickets
                .get(tk.ticket.as_str())
                .copied()
                .unwrap_or(false)
        {
            return Err(format!(
                "loket approves ticket {} the rules refuse{}",
                tk.ticket,
                why()
            ));
        }
    }
    // loket reads the same tickets the generator put in.
    let loket_tickets: BTreeSet<&str> = ev.tickets.iter().map(|t| t.ticket.as_str()).collect();
    let want_tickets: BTreeSet<&str> = want.tickets.keys().copied().collect();
    if loket_tickets != want_tickets {
        return Err(format!("tickets differ{}", why()));
    }
    // A refusal or return names an outstanding request for changes.
    for tk in &ev.tickets {
        let ok = match tk.outcome {
            Outcome::Refused => want.objections.iter().any(|r| *r),
            Outcome::Returned => want.objections.iter().any(|r| !*r),
            _ => true,
        };
        if !ok {
            return Err(format!(
                "{:?} without a matching objection{}",
                tk.outcome,
                why()
            ));
        }
    }
    // The converse: the reference is exact for the Kudus SOPs.
    if want.pr && !approved {
        return Err(format!("loket refuses a PR the rules approve{}", why()));
    }
    for tk in &ev.tickets {
        if want.tickets[tk.ticket.as_str()] && tk.outcome != Outcome::Approved {
            return Err(format!(
                "loket refuses ticket {} the rules approve{}",
                tk.ticket,
                why()
            ));
        }
    }

    stats.cases += 1;
    stats.tickets += ev.tickets.len();
    stats.tickets_approved += ev
        .tickets
        .iter()
        .filter(|t| t.outcome == Outcome::Approved)
        .count();
    // Tickets the delegation decided: approved only through it, or refused only
    // because an acting official's approval fell outside the window.
    if case.deleg != Deleg::None && want.objections.is_empty() && !want.tickets.is_empty() {
        let with = |map: RoleMap| {
            chain(
                &want.counted,
                0,
                (want.created, 0),
                &mut Vec::new(),
                map,
                true,
            )
        };
        let ticket_ok = want.tickets.values().any(|ok| *ok);
        let without = RoleMap {
            deleg: Deleg::None,
            ..case.map()
        };
        let widened = RoleMap {
            widen: true,
            ..case.map()
        };
        stats.tickets_approved_through_a_delegation += usize::from(ticket_ok && !with(without));
        stats.tickets_refused_outside_a_window += usize::from(!ticket_ok && with(widened));
    }
    let any = |f: fn(&Class) -> bool| classes.iter().any(f);
    if approved {
        stats.approved += 1;
        stats.approved_with_protected += usize::from(!t.protected.is_empty());
        stats.approved_by_a_dual_holder +=
            usize::from(case.dual && want.counted.iter().any(|a| a.login == SEKDIN));
        stats.approved_with_protected_by_admin +=
            usize::from(!t.protected.is_empty() && case.cc == CcRole::Admin);
        stats.approved_in_subfolder += usize::from(!case.prefix.is_empty());
        stats.approved_with_noise += usize::from(data.reviews.len() > 3);
        let mut seconds: Vec<Timestamp> = want.counted.iter().map(|c| c.at).collect();
        seconds.sort();
        stats.approved_with_same_second_steps +=
            usize::from(seconds.windows(2).any(|w| w[0] == w[1]));
    } else {
        stats.refused_for_records += usize::from(any(|c| c.records));
        stats.refused_for_protected += usize::from(
            !t.protected.is_empty()
                && ev
                    .config_change
                    .as_ref()
                    .is_some_and(|c| c.approved.is_none()),
        );
        stats.returned_or_refused +=
            usize::from(matches!(ev.outcome, Outcome::Returned | Outcome::Refused));
        // Every holder approved on the head, yet out of order.
        let holders_in = REVIEW_CHAIN.iter().all(|role| {
            want.counted
                .iter()
                .any(|a| holds(&a.login, role, case.map(), a.at))
        });
        stats.refused_for_one_person_twice += usize::from(
            want.one_person_twice && want.objections.is_empty() && !want.tickets.is_empty(),
        );
        stats.chain_broken_by_order += usize::from(
            holders_in && want.objections.is_empty() && want.tickets.values().any(|ok| !ok),
        );
    }
    Ok(())
}

fn runner() -> TestRunner {
    let cases = std::env::var("LOKET_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let config = RunnerConfig {
        cases,
        failure_persistence: None,
        max_shrink_iters: 20_000,
        ..RunnerConfig::default()
    };
    let seed: u64 = std::env::var("LOKET_PROPTEST_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10);
    let mut bytes = [0u8; 32];
    bytes[..8].copy_from_slice(&seed.to_le_bytes());
    TestRunner::new_with_rng(config, TestRng::from_seed(RngAlgorithm::ChaCha, &bytes))
}

#[test]
fn review_never_approves_what_the_sop_rules_refuse() {
    let bases = Bases::new();
    let head = head();
    let stats = RefCell::new(Stats::default());
    let started = std::time::Instant::now();
    let result = runner().run(&case(), |case| {
        check(&case, &bases, &head, &mut stats.borrow_mut()).map_err(TestCaseError::fail)
    });
    if let Err(e) = result {
        match e {
            TestError::Fail(why, case) => panic!("{why}\nminimal case: {case:#?}"),
            TestError::Abort(why) => panic!("aborted: {why}"),
        }
    }
    let s = stats.into_inner();
    eprintln!("{s:#?} in {:?}", started.elapsed());
    // Not vacuous: a healthy share approved, and every kind of refusal seen.
    // Delegations on the base spread cases thinner: about 14 % of cases and 16 % of
    // tickets come out approved with the fixed seed.
    assert!(s.approved * 8 >= s.cases, "too few approvals: {s:#?}");
    assert!(s.tickets_approved * 8 >= s.tickets, "{s:#?}");
    assert!(s.approved_with_protected >= 20, "{s:#?}");
    assert!(s.approved_with_protected_by_admin >= 5, "{s:#?}");
    assert!(s.approved_by_a_dual_holder >= 10, "{s:#?}");
    assert!(s.tickets_approved_through_a_delegation >= 5, "{s:#?}");
    assert!(s.tickets_refused_outside_a_window >= 5, "{s:#?}");
    assert!(s.refused_for_one_person_twice >= 5, "{s:#?}");
    assert!(s.approved_in_subfolder >= 50, "{s:#?}");
    assert!(s.approved_with_same_second_steps >= 50, "{s:#?}");
    assert!(s.approved_with_noise >= 50, "{s:#?}");
    assert!(s.refused_for_records >= 20, "{s:#?}");
    assert!(s.refused_for_protected >= 20, "{s:#?}");
    assert!(s.returned_or_refused >= 50, "{s:#?}");
    assert!(s.chain_broken_by_order >= 20, "{s:#?}");
}

// ---------------------------------------------------------------------------
// Fixed cases: the reference's tables match the preset; clean chains approve.
// ---------------------------------------------------------------------------

#[test]
fn the_reference_tables_match_the_kudus_preset() {
    let c = config();
    for (role, logins) in ROLES {
        let got: Vec<&str> = c.roles[*role]
            .logins
            .iter()
            .map(|l| l.get_ref().as_str())
            .collect();
        assert_eq!(&got, logins, "{role}");
    }
    assert_eq!(
        c.approvals
            .config_change_role
            .as_ref()
            .map(|r| r.get_ref().as_str()),
        Some(CONFIG_CHANGE_ROLE)
    );
    for kind in [RequestKind::MailCreate, RequestKind::ServerGrant] {
        let (_, sop) = c.sop_for(kind).unwrap();
        assert!(sop.ordered && sop.distinct_people);
        let review: Vec<&str> = sop
            .steps
            .iter()
            .filter(|s| *s.done_by.get_ref() == Completion::Review)
            .map(|s| s.role.get_ref().as_str())
            .collect();
        assert_eq!(review, REVIEW_CHAIN);
        let mut roles: Vec<&str> = sop
            .steps
            .iter()
            .map(|s| s.role.get_ref().as_str())
            .collect();
        roles.dedup();
        assert_eq!(roles, SOP_ROLES);
    }
    let head = head();
    assert_eq!(head.requests.len(), 2, "{:?}", head.failures);
}

fn approval(who: Person, gap: usize) -> ReviewSpec {
    ReviewSpec {
        who,
        spelling: 0,
        act: Act::Approve,
        on: On::Head,
        gap,
        id_skip: 0,
        wib: false,
    }
}

fn clean_case(prefix: &'static str, files: Vec<FileSpec>, reviews: Vec<ReviewSpec>) -> Case {
    Case {
        prefix,
        cc: CcRole::Preset,
        dual: false,
        deleg: Deleg::None,
        files,
        author: (Person::Operator, 0),
        commits: vec![(Some((Person::Operator, 0)), Some((Person::WebFlow, 0)))],
        reviews,
        order: ListOrder::Forge,
        check_passed: true,
    }
}

fn outcome(case: &Case) -> (Outcome, bool) {
    let data = pull_data(case);
    let t = touched(&data.files, case.prefix, &head());
    let ev = evaluate(
        &case.cc.config(case.map()),
        &data,
        &t,
        case.check_passed,
        Timestamp::UNIX_EPOCH,
    );
    let mut stats = Stats::default();
    let agrees = check(case, &Bases::new(), &head(), &mut stats);
    (ev.outcome, agrees.is_ok())
}

#[test]
fn a_clean_chain_in_order_is_approved_whatever_the_ties_and_folder() {
    for prefix in ["", "kudus", "/dinas/kudus"] {
        for files in [
            vec![FileSpec::MailRequest],
            vec![FileSpec::ServerRequest, FileSpec::ServerAccount],
            vec![FileSpec::MailRequest, FileSpec::ServerRequest],
        ] {
            for gap in 0..GAPS.len() {
                let chain = vec![
                    approval(Person::Kadis, gap),
                    approval(Person::Kabid, gap),
                    approval(Person::Kasi, gap),
                ];
                let case = clean_case(prefix, files.clone(), chain);
                assert_eq!(outcome(&case), (Outcome::Approved, true), "{case:#?}");
            }
        }
    }
}

#[test]
fn a_clean_chain_out_of_order_or_with_a_config_change_is_not_approved() {
    // Kabid first: out of SOP order.
    let case = clean_case(
        "",
        vec![FileSpec::MailRequest],
        vec![
            approval(Person::Kabid, 0),
            approval(Person::Kadis, 0),
            approval(Person::Kasi, 0),
        ],
    );
    assert_eq!(outcome(&case), (Outcome::Pending, true));
    // A template change with the chain: the Kadis's approval also covers it.
    let chain = vec![
        approval(Person::Kadis, 1),
        approval(Person::Kabid, 1),
        approval(Person::Kasi, 1),
    ];
    let case = clean_case(
        "",
        vec![FileSpec::MailRequest, FileSpec::Template],
        chain.clone(),
    );
    assert_eq!(outcome(&case), (Outcome::Approved, true));
    // With the admin as config-change role, the chain alone is not enough.
    let mut case = clean_case(
        "",
        vec![FileSpec::MailRequest, FileSpec::Template],
        chain.clone(),
    );
    case.cc = CcRole::Admin;
    assert_eq!(outcome(&case), (Outcome::Pending, true));
    case.reviews.insert(1, approval(Person::Admin2, 0));
    assert_eq!(outcome(&case), (Outcome::Approved, true));
    // With none, no one can approve it.
    case.cc = CcRole::Unset;
    assert_eq!(outcome(&case), (Outcome::Pending, true));
    // A record written by the PR: never.
    let case = clean_case(
        "kudus",
        vec![FileSpec::MailRequest, FileSpec::Record],
        chain,
    );
    assert_eq!(outcome(&case), (Outcome::Pending, true));
}

// ---------------------------------------------------------------------------
// Regressions: minimal cases the property found.
// ---------------------------------------------------------------------------

/// Found by the property (seed 10, first run): the full chain approved in order, but
/// the admin (who holds the SOP's account-creation step, not a review step) had an
/// outstanding "ditolak" request for changes. loket ignored it and approved; an
/// outstanding request for changes by a holder of any of the SOP's roles keeps the
/// request from being approved (fixed in src/review/steps.rs).
#[test]
fn regression_an_admin_refusal_is_not_ignored() {
    let refusal = ReviewSpec {
        act: Act::RequestChanges(Body::Ditolak),
        ..approval(Person::Admin1, 0)
    };
    let case = clean_case(
        "",
        vec![FileSpec::MailRequest],
        vec![
            refusal,
            approval(Person::Operator, 0),
            approval(Person::Kadis, 0),
            approval(Person::Kabid, 0),
            approval(Person::Kasi, 0),
        ],
    );
    assert_eq!(outcome(&case), (Outcome::Refused, true));
    // On the server request too, with a plain return.
    let mut case = case;
    case.files = vec![FileSpec::ServerRequest];
    case.reviews[0].act = Act::RequestChanges(Body::Reason);
    assert_eq!(outcome(&case), (Outcome::Returned, true));
}

/// An acting official's approval counts in the window only (Plt. Kepala Seksi from
/// one minute after the opening), and a Kabid acting as Kadis completes one step.
#[test]
fn an_acting_official_counts_in_the_window_and_once() {
    let mut case = clean_case(
        "",
        vec![FileSpec::MailRequest],
        vec![
            approval(Person::Kadis, 5),
            approval(Person::Kabid, 3),
            approval(Person::Admin2, 3),
        ],
    );
    case.deleg = Deleg::Admin2ActsKasi;
    assert_eq!(outcome(&case), (Outcome::Approved, true));
    // The same chain in the first second: before the decree's window.
    for r in &mut case.reviews {
        r.gap = 0;
    }
    assert_eq!(outcome(&case), (Outcome::Pending, true));
    // Without the delegation, never.
    case.deleg = Deleg::None;
    case.reviews[0].gap = 5;
    assert_eq!(outcome(&case), (Outcome::Pending, true));

    let mut case = clean_case(
        "",
        vec![FileSpec::MailRequest],
        vec![approval(Person::Kabid, 6), approval(Person::Kasi, 3)],
    );
    case.deleg = Deleg::KabidActsKadis;
    assert_eq!(outcome(&case), (Outcome::Pending, true));
    // With the Sekdin as the second Kabid, the Kabid's acting approval completes the
    // Kadis's step.
    case.dual = true;
    case.reviews.insert(1, approval(Person::Sekdin, 3));
    assert_eq!(outcome(&case), (Outcome::Approved, true));
}
