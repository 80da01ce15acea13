//! `loket review` and `loket forge` (filled by the approvals work).
use std::path::Path;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {}

#[derive(clap::Subcommand)]
pub enum ForgeCommand {}

pub fn run(_dir: &Path, _args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("loket review is being built")
}

pub fn forge(_dir: &Path, cmd: ForgeCommand) -> anyhow::Result<ExitCode> {
    match cmd {}
}
