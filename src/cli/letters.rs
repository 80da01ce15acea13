//! `loket letter --draft TICKET` and `loket letter --list`: the outgoing-letter
//! register over `loket::followup::register` (rendering a letter is `site.rs`'s).

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Result, bail};
use jiff::Timestamp;

use loket::followup::register;
use loket::model::Instance;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum RegisterFormat {
    #[default]
    Table,
    Csv,
    Json,
}

#[derive(clap::Args)]
pub struct RegisterArgs {
    /// Write letters/TICKET.toml with the register's next number, for a follow-up
    /// pull request (the ticket must be processed).
    #[arg(long, value_name = "TICKET", conflicts_with = "list")]
    pub draft: Option<String>,
    /// Print the outgoing-letter register (for the archivist).
    #[arg(long)]
    pub list: bool,
    /// Issue every signed letter recorded but not yet issued: print its PDF into
    /// <state-dir>/letters/ (private) and put the PDF's SHA-256 into the ticket's
    /// record for the verification page (CI runs it after `loket apply`).
    #[arg(long, conflicts_with_all = ["draft", "list"])]
    pub issue: bool,
    /// --list output.
    #[arg(long = "register-format", value_enum, default_value_t)]
    pub register_format: RegisterFormat,
}

/// Runs `--draft` or `--list` when given; `None` leaves the command to rendering.
pub fn run(
    dir: &Path,
    a: &RegisterArgs,
    date: Option<jiff::civil::Date>,
) -> Result<Option<ExitCode>> {
    if a.draft.is_none() && !a.list {
        return Ok(None);
    }
    let inst = Instance::load(dir)?;
    if let Some(f) = inst.failures.first() {
        bail!(
            "{} cannot be read ({}); run `loket check`",
            inst.path(f.file).display(),
            f.message
        );
    }
    if let Some(ticket) = &a.draft {
        let date = match date {
            Some(d) => d,
            None => {
                let cfg = inst
                    .config
                    .as_ref()
                    .ok_or_else(|| anyhow::anyhow!("loket.toml cannot be read"))?;
                loket::apply::run::today(cfg, Timestamp::now())
            }
        };
        let (path, letter) = register::draft(&inst, ticket, date)?;
        println!(
            "wrote {} (number {}): open a pull request with only this file for the follow-up steps",
            path.display(),
            letter.number.get_ref()
        );
        return Ok(Some(ExitCode::SUCCESS));
    }
    let rows = register::rows(&inst);
    match a.register_format {
        RegisterFormat::Json => println!("{}", serde_json::to_string_pretty(&rows)?),
        RegisterFormat::Csv => print!("{}", register::csv(&rows)?),
        RegisterFormat::Table => {
            println!("{:<24} {:<10} {:<20} SIGNER", "NUMBER", "DATE", "TICKET");
            for r in &rows {
                println!(
                    "{:<24} {:<10} {:<20} {}",
                    r.number, r.date, r.ticket, r.signer_role
                );
            }
        }
    }
    Ok(Some(ExitCode::SUCCESS))
}
