//! `loket init --preset OFFICE DIR`: a new instance from an office's preset.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use loket::init::{PRESETS, init, preset};

#[derive(clap::Args)]
pub struct Args {
    /// The office whose SOPs the instance follows (see --list).
    #[arg(long, required_unless_present = "list", value_parser = preset_ids())]
    preset: Option<String>,
    /// Directory to create the instance in (created if missing).
    #[arg(required_unless_present = "list")]
    dir: Option<PathBuf>,
    /// List the presets and exit.
    #[arg(long)]
    list: bool,
}

fn preset_ids() -> clap::builder::PossibleValuesParser {
    clap::builder::PossibleValuesParser::new(PRESETS.iter().map(|p| p.id))
}

pub fn run(args: Args) -> Result<ExitCode> {
    if args.list {
        let list: String = PRESETS
            .iter()
            .map(|p| format!("{:<14} {}: SOP {}\n", p.id, p.office, p.sops))
            .collect();
        // A reader that went away (`| head`) is not an error worth reporting.
        let _ = std::io::stdout().lock().write_all(list.as_bytes());
        return Ok(ExitCode::SUCCESS);
    }
    let (Some(id), Some(dir)) = (args.preset, args.dir) else {
        bail!("give --preset OFFICE and DIR (see `loket init --list`)");
    };
    let Some(p) = preset(&id) else {
        bail!("no preset '{id}' (see `loket init --list`)");
    };
    init(&dir, p)?;
    let _ = writeln!(
        std::io::stdout(),
        "Instance for {} written to {}.\nNext: review loket.toml (roles' forge logins, servers), \
         `git init`, commit, then run `loket check`.",
        p.office,
        dir.display()
    );
    Ok(ExitCode::SUCCESS)
}
