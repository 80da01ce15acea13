//! `loket site` and `loket letter` (filled by the site work).
use std::path::Path;
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {}
#[derive(clap::Args)]
pub struct LetterArgs {}

pub fn run(_dir: &Path, _a: Args) -> anyhow::Result<ExitCode> {
    anyhow::bail!("loket site is being built")
}
pub fn letter(_dir: &Path, _a: LetterArgs) -> anyhow::Result<ExitCode> {
    anyhow::bail!("loket letter is being built")
}
