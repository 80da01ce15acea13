//! `loket new` (filled by the foundation work).
use std::path::Path;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_dir: &Path, _args: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("loket new is being built")
}
