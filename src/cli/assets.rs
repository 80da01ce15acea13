//! `loket generate-assets --out DIR` (hidden): the man pages, one per command, and
//! the shell completions, generated from the CLI's own clap definitions, for the
//! release archive and the Debian package (`scripts/build-release.sh`).

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap_complete::Shell;

#[derive(clap::Args)]
pub struct Args {
    /// Where to write `man/*.1` and `completions/` (created if missing).
    #[arg(long)]
    out: PathBuf,
}

pub fn run(cmd: clap::Command, args: Args) -> Result<ExitCode> {
    let man = args.out.join("man");
    let completions = args.out.join("completions");
    for dir in [&man, &completions] {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    clap_mangen::generate_to(cmd.clone(), &man)
        .with_context(|| format!("cannot write the man pages to {}", man.display()))?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        write_completion(cmd.clone(), shell, &completions)?;
    }
    Ok(ExitCode::SUCCESS)
}

fn write_completion(mut cmd: clap::Command, shell: Shell, dir: &Path) -> Result<()> {
    clap_complete::generate_to(shell, &mut cmd, "loket", dir)
        .with_context(|| format!("cannot write the {shell} completion to {}", dir.display()))?;
    Ok(())
}
