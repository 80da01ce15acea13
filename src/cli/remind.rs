//! `loket remind`: one pass of overdue reminders over the open pull requests (see
//! docs/reminders.md). Exit codes: 0 done (some reminders posted or none due), 2
//! usage or forge error, including a pull request the forge could not give whole
//! (the others are still handled).

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use jiff::Timestamp;

use super::Format;
use super::review::{ForgeArgs, repo_prefix};
use loket::model::Instance;
use loket::remind::run::{self, Action, Options};
use loket::remind::{NOW_ENV, comment};

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    forge: ForgeArgs,
    /// Print what would be posted; write nothing to the forge.
    #[arg(long)]
    dry_run: bool,
    /// The instant to judge at (RFC 3339, e.g. 2026-09-18T03:00:00Z) instead of the
    /// clock: for tests and for rehearsing a schedule.
    #[arg(long, env = NOW_ENV)]
    now: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

pub fn run(dir: &Path, args: Args) -> Result<ExitCode> {
    let now = match &args.now {
        Some(s) => s
            .parse::<Timestamp>()
            .with_context(|| format!("--now {s:?}: expected an RFC 3339 instant"))?,
        None => Timestamp::now(),
    };
    let forge = args.forge.client()?;
    let here = Instance::load(dir)?;
    let Some(config) = here.config.as_ref() else {
        bail!("loket.toml does not parse; run `loket check`");
    };
    let prefix = repo_prefix(dir)?;
    let opts = Options {
        dir,
        prefix: &prefix,
        now,
        dry_run: args.dry_run,
    };
    let pass = run::run(forge.as_ref(), config, &opts)?;
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&pass)?),
        Format::Human => human(&pass),
    }
    for (pr, e) in &pass.failed {
        eprintln!("error: pull request #{pr} refused, no reminder judged: {e}");
    }
    Ok(if pass.failed.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

fn human(pass: &run::Pass) {
    for r in &pass.reports {
        let what = match r.action {
            Action::Nothing => "nothing overdue".to_string(),
            Action::Created(id) => format!("reminder posted (comment {id})"),
            Action::Updated(id) => format!("reminder edited (comment {id})"),
            Action::Unchanged(id) => format!("nothing overdue; reminder {id} already says so"),
            Action::Cleared(id) => format!("nothing overdue any more; reminder {id} cleared"),
            Action::WouldPost => "would post or edit the reminder (dry run)".into(),
            Action::WouldClear => "would clear the reminder (dry run)".into(),
        };
        println!("PR #{}: {what}", r.pr);
        for o in &r.overdue {
            println!(
                "  {} step {}: {} min of working time waited, standard {} min{}",
                o.ticket,
                o.step,
                o.waited_minutes,
                o.standard_minutes,
                if o.escalated { ", escalated" } else { "" }
            );
        }
        if matches!(r.action, Action::WouldPost | Action::WouldClear)
            && let Some(body) = &r.body
        {
            println!("--- comment (starts with {}) ---", comment::MARKER);
            println!("{body}");
        }
    }
}
