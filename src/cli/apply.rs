//! `loket plan`, `apply`, `verify`, `audit`: argument parsing and exit codes over
//! `loket::apply`. Exit codes as terraform's `-detailed-exitcode`: 0 nothing to do
//! (or all well), 2 changes (or drift), 1 error.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use jiff::Timestamp;
use jiff::civil::Date;

use super::Format;
use loket::apply::gate::{ApprovalGate, RecordsGate};
use loket::apply::run::{self, Options, Status};
use loket::apply::{self as ap, Slot};
use loket::model::{Config, Instance};
use loket::review::history_gate::HistoryGate;

#[derive(clap::Args)]
pub struct PlanArgs {
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    /// Treat this date (YYYY-MM-DD) as today (expiry).
    #[arg(long)]
    today: Option<Date>,
}

/// Where `loket apply` takes approvals from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Approvals {
    /// The forge: every commit behind each change must be the merge of a pull
    /// request its reviews approve (what CI runs).
    Forge,
    /// records/ in this checkout: trusts whoever can write it. Only for an
    /// operator's own copy with no forge, never in CI.
    Records,
}

#[derive(clap::Args)]
pub struct ApplyArgs {
    /// Where approvals come from.
    #[arg(long, value_enum, env = "LOKET_APPROVALS", default_value = "forge")]
    approvals: Approvals,
    #[command(flatten)]
    forge: super::review::ForgeArgs,
    /// With --approvals forge: a commit (full SHA) whose history is taken as
    /// approved, for an instance adopted with earlier data. Default: the root commit.
    #[arg(long)]
    history_from: Option<String>,
    /// Show what would be done (after the approvals gate and guard); change nothing.
    #[arg(long)]
    dry_run: bool,
    /// The CI run recorded with each event (default: $GITHUB_RUN_ID, else local-<time>).
    #[arg(long, env = "GITHUB_RUN_ID")]
    run: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    /// Treat this date (YYYY-MM-DD) as today (expiry).
    #[arg(long)]
    today: Option<Date>,
    /// Allow this run to remove access from a larger share (0 to 1) than loket.toml
    /// allows.
    #[arg(long)]
    max_disable_share: Option<loket::model::backends::Share>,
}

#[derive(clap::Args)]
pub struct VerifyArgs {
    /// Only this ticket.
    ticket: Option<String>,
    /// age identity file (age or OpenSSH key) opening the sealed credentials, to
    /// test mail logins over IMAP.
    #[arg(long)]
    identity: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    #[arg(long)]
    today: Option<Date>,
}

#[derive(clap::Args)]
pub struct AdoptArgs {
    /// Check every line and say what would be adopted; write nothing.
    #[arg(long)]
    dry_run: bool,
    /// Treat this date (YYYY-MM-DD) as today (an imported key past its last day is
    /// not taken over).
    #[arg(long)]
    today: Option<Date>,
}

#[derive(clap::Args)]
pub struct AuditArgs {
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    #[arg(long)]
    today: Option<Date>,
}

fn load(dir: &Path) -> Result<(Instance, Vec<Slot>)> {
    open(Instance::load(dir)?)
}

fn open(inst: Instance) -> Result<(Instance, Vec<Slot>)> {
    if let Some(f) = inst.failures.first() {
        bail!(
            "{} cannot be read ({}); run `loket check` and fix it first",
            inst.path(f.file).display(),
            f.message
        );
    }
    let config = inst
        .config
        .as_ref()
        .context("loket.toml cannot be read; run `loket check`")?;
    let slots = ap::open_backends(&inst, config)?;
    if slots.is_empty() {
        bail!("loket.toml has no [backends.mail] or [backends.server]; see docs/apply.md");
    }
    Ok((inst, slots))
}

fn config(inst: &Instance) -> &Config {
    inst.config.as_ref().expect("checked by load")
}

fn today(inst: &Instance, given: Option<Date>) -> Date {
    given.unwrap_or_else(|| run::today(config(inst), Timestamp::now()))
}

/// Errors exit 1 here (not main's 2, which means "changes").
fn exit_1(r: Result<ExitCode>) -> Result<ExitCode> {
    r.or_else(|e| {
        // An error may carry a server's reply: never a secret of the run.
        eprintln!("error: {}", ap::redact::redact(&format!("{e:#}")));
        Ok(ExitCode::from(1))
    })
}

pub fn plan(dir: &Path, a: PlanArgs) -> Result<ExitCode> {
    exit_1((|| {
        // Accounts only: `loket check` and `apply` judge the requests.
        let (inst, mut slots) = open(Instance::load_accounts(dir)?)?;
        let today = today(&inst, a.today);
        let mut planned = run::plan(&inst, &mut slots, today);
        planned.plan.retries = run::retries(config(&inst), &inst.root, &planned)?;
        match a.format {
            Format::Human => print!("{}", planned.plan),
            Format::Json => println!("{}", serde_json::to_string_pretty(&planned.plan)?),
        }
        if let Some((name, err)) = planned.unreadable.first() {
            bail!("backend {name}: {err}");
        }
        Ok(ExitCode::from(if planned.plan.is_empty() { 0 } else { 2 }))
    })())
}

pub fn apply(dir: &Path, a: ApplyArgs) -> Result<ExitCode> {
    exit_1((|| {
        let (inst, mut slots) = load(dir)?;
        let cfg = config(&inst);
        let check = loket::check::run(
            &inst,
            None,
            &loket::check::Options {
                today: today(&inst, a.today),
                skip: Default::default(),
            },
        );
        if check.errors() > 0 {
            bail!(
                "`loket check` finds {} error(s); nothing applied. Run `loket check` and fix them",
                check.errors()
            );
        }
        let now = Timestamp::now();
        let opts = Options {
            dry_run: a.dry_run,
            run_id: a
                .run
                .clone()
                .unwrap_or_else(|| format!("local-{}", now.strftime("%Y%m%dT%H%M%SZ"))),
            now,
            today: a.today,
            max_disable_share: a.max_disable_share,
        };
        let client = match a.approvals {
            Approvals::Forge => Some(a.forge.client().context(
                "--approvals forge reads the merged pull requests from the forge; \
                 an operator's own checkout with no forge passes --approvals records",
            )?),
            Approvals::Records => None,
        };
        let mut gate: Box<dyn ApprovalGate + '_> = match &client {
            Some(forge) => Box::new(HistoryGate::new(
                forge.as_ref(),
                &inst,
                a.history_from.as_deref(),
                now,
                !a.dry_run,
            )?),
            None => Box::new(RecordsGate::new(&inst.root, cfg)),
        };
        let mut report = run::apply(&inst, cfg, &mut slots, gate.as_mut(), &opts)?;
        drop(gate);
        // Follow-up pull requests (letters/): after this run's records are written.
        report.follow_ups = match &client {
            Some(forge) if !a.dry_run => {
                let g =
                    HistoryGate::new(forge.as_ref(), &inst, a.history_from.as_deref(), now, false)?;
                loket::followup::record::record_all(&g, cfg)
            }
            _ => Vec::new(),
        };
        match a.format {
            Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
            Format::Human => {
                for r in &report.resumed {
                    println!("  resumed  {r} (done by an interrupted run)");
                }
                for c in &report.changes {
                    let (word, detail) = match &c.status {
                        Status::Planned => ("would", String::new()),
                        Status::Refused(why) => ("REFUSED", why.clone()),
                        Status::Failed(why) => ("FAILED", why.clone()),
                        Status::Verified(how) => ("ok", how.clone()),
                    };
                    println!(
                        "{word:>8} {} {} [{}]{}{}",
                        c.change.action.as_str(),
                        c.change.target,
                        c.change.tickets.join(", "),
                        if detail.is_empty() { "" } else { ": " },
                        detail
                    );
                    if let Some(p) = &c.sealed {
                        println!("         credentials sealed to {}", p.display());
                    }
                }
                for (name, err) in &report.unreadable {
                    println!("  FAILED backend {name}: {err}");
                }
                for f in &report.follow_ups {
                    match (&f.outcome, &f.refused) {
                        (Some(o), _) => println!(
                            "{:>8} follow-up #{} of {}: {o:?}",
                            "recorded",
                            f.pr.unwrap_or_default(),
                            f.ticket
                        ),
                        (None, Some(why)) => {
                            println!("{:>8} follow-up of {}: {why}", "REFUSED", f.ticket)
                        }
                        (None, None) => {}
                    }
                }
                let n = report.changes.len();
                println!(
                    "{} change{}{}.",
                    n,
                    if n == 1 { "" } else { "s" },
                    if a.dry_run { " planned (dry run)" } else { "" }
                );
            }
        }
        // A merged letter whose follow-up cannot be recorded fails the job, as a
        // refused request does, after everything else ran.
        let follow_ups_ok = report.follow_ups.iter().all(|f| f.refused.is_none());
        Ok(ExitCode::from(if report.ok() && follow_ups_ok {
            0
        } else {
            1
        }))
    })())
}

pub fn verify(dir: &Path, a: VerifyArgs) -> Result<ExitCode> {
    exit_1((|| {
        let (inst, mut slots) = load(dir)?;
        let identities = match &a.identity {
            Some(p) => age::IdentityFile::from_file(p.display().to_string())
                .with_context(|| format!("cannot read identity {}", p.display()))?
                .into_identities()
                .map_err(|e| anyhow::anyhow!("identity {}: {e}", p.display()))?,
            None => Vec::new(),
        };
        let today = today(&inst, a.today);
        let checks = ap::verify::verify(
            &inst,
            config(&inst),
            &mut slots,
            today,
            a.ticket.as_deref(),
            &identities,
        );
        match a.format {
            Format::Json => println!("{}", serde_json::to_string_pretty(&checks)?),
            Format::Human => {
                for c in &checks {
                    let word = if c.ok { "ok" } else { "FAILED" };
                    println!("{word:>6} {}: {}", c.ticket, c.detail);
                }
            }
        }
        Ok(ExitCode::from(if checks.iter().all(|c| c.ok) {
            0
        } else {
            1
        }))
    })())
}

pub fn audit(dir: &Path, a: AuditArgs) -> Result<ExitCode> {
    exit_1((|| {
        let (inst, mut slots) = load(dir)?;
        let today = today(&inst, a.today);
        let drift = ap::audit::audit(&inst, &mut slots, today);
        match a.format {
            Format::Json => println!("{}", serde_json::to_string_pretty(&drift)?),
            Format::Human => {
                let list = |title: &str, items: &[String]| {
                    if !items.is_empty() {
                        println!("{title}:");
                        for i in items {
                            println!("  {i}");
                        }
                    }
                };
                list("Mail accounts unknown to accounts/", &drift.unknown_mail);
                list(
                    "Server accounts unknown to accounts/",
                    &drift.unknown_server_accounts,
                );
                list("Keys not in the registry", &drift.unregistered_keys);
                list("Revoked or expired access still open", &drift.open_access);
                for (name, err) in &drift.unreadable {
                    println!("Backend {name} unreadable: {err}");
                }
                if drift.is_empty() {
                    println!("No drift: the live systems hold only what accounts/ says.");
                }
            }
        }
        Ok(ExitCode::from(if drift.is_empty() { 0 } else { 2 }))
    })())
}

/// `loket adopt-files`: the one explicit step that takes over files an earlier loket
/// wrote before they carried the ownership marker, and the live key lines of keys
/// `loket import` recorded (rewritten as loket writes them; every other line left
/// and reported). Every line is checked as apply checks it; a file with any other
/// line is refused and nothing of its backend is written. Apply itself never adopts
/// (docs/apply.md, "Files loket owns"; docs/import.md).
pub fn adopt(dir: &Path, a: AdoptArgs) -> Result<ExitCode> {
    exit_1((|| {
        let (inst, mut slots) = load(dir)?;
        let imported = ap::adopt::ImportedKeys::from_instance(&inst, today(&inst, a.today));
        let state_dir = inst.root.join(&config(&inst).backends.state_dir);
        let _lock = if a.dry_run {
            None
        } else {
            Some(ap::lock::Lock::acquire(&state_dir)?)
        };
        for slot in &mut slots {
            let name = slot.backend.name().to_string();
            let said = slot
                .backend
                .adopt(&imported, a.dry_run)
                .with_context(|| format!("{name}: nothing adopted"))?;
            for s in said {
                // A line read from a server passes the run's redaction, as elsewhere.
                println!("{name}: {}", ap::redact::redact(&s));
            }
        }
        Ok(ExitCode::SUCCESS)
    })())
}
