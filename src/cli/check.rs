//! `loket check` and `loket rules`.

use std::collections::BTreeSet;
use std::io::IsTerminal;
use std::path::Path;
use std::process::ExitCode;

use anyhow::Result;

use super::Format;
use loket::check::{self, Options, RULES};
use loket::diag;
use loket::model::Instance;

#[derive(clap::Args)]
pub struct Args {
    /// Compare with this git revision (what CI runs on a pull request).
    #[arg(long)]
    base: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    /// Rule codes (or names) not to run, comma-separated.
    #[arg(long, value_delimiter = ',')]
    skip: Vec<String>,
    /// Treat this date (YYYY-MM-DD) as today.
    #[arg(long)]
    today: Option<jiff::civil::Date>,
}

#[derive(clap::Args)]
pub struct RulesArgs {
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

pub fn run(dir: &Path, args: Args) -> Result<ExitCode> {
    for s in &args.skip {
        if check::rule(s).is_none() {
            anyhow::bail!("--skip {s}: no such rule (see `loket rules`)");
        }
    }
    let inst = Instance::load(dir)?;
    let base = match &args.base {
        Some(rev) => Some(check::read_base(dir, rev)?),
        None => None,
    };
    let today = args
        .today
        .unwrap_or_else(|| jiff::ZonedDateTime::now().date());
    let opts = Options {
        today,
        skip: args.skip.iter().cloned().collect::<BTreeSet<_>>(),
    };
    let report = check::run(&inst, base.as_ref(), &opts);
    match args.format {
        Format::Json => {
            let json: Vec<_> = report
                .diagnostics
                .iter()
                .map(|d| d.to_json(&inst.sources))
                .collect();
            println!("{}", serde_json::to_string_pretty(&json)?);
        }
        Format::Human => {
            if std::env::var_os("GITHUB_ACTIONS").is_some_and(|v| v == "true") {
                print!(
                    "{}",
                    diag::render_github(&inst.sources, &report.diagnostics)
                );
            }
            eprint!("{}", diag::render_human(&inst.sources, &report.diagnostics));
            let warnings = report.diagnostics.len() - report.errors();
            let summary = format!(
                "{} requests, {} mail accounts, {} server accounts: {} errors, {} warnings",
                inst.requests.len(),
                inst.mail_accounts.len(),
                inst.server_accounts.len(),
                report.errors(),
                warnings
            );
            if std::io::stderr().is_terminal() || report.is_clean() {
                eprintln!("{summary}");
            } else {
                eprintln!("{summary}\n(see `loket rules` for every rule code)");
            }
        }
    }
    // The process ends right after: freeing 100k parsed files one by one was ~7% of
    // the run, for memory the OS takes back anyway.
    std::mem::forget(inst);
    Ok(if report.is_clean() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

pub fn rules(args: RulesArgs) -> Result<ExitCode> {
    match args.format {
        Format::Json => {
            let v: Vec<_> = RULES
                .iter()
                .map(|r| serde_json::json!({"code": r.code, "name": r.name, "summary": r.summary}))
                .collect();
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        Format::Human => {
            for r in RULES {
                println!("{}  {:<24} {}", r.code, r.name, r.summary);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
