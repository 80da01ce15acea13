//! `loket doctor`: checks the forge's settings and the instance against what loket's
//! guarantees assume. Exit codes: 0 every item OK, 1 something to change or that
//! could not be read, 2 usage error or an unreadable instance.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};

use super::Format;
use super::review::ForgeArgs;
use loket::doctor::{self, Options};
use loket::model::Instance;

#[derive(clap::Args)]
pub struct Args {
    #[command(flatten)]
    forge: ForgeArgs,
    /// The branch loket applies from.
    #[arg(long, default_value = "main")]
    branch: String,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

pub fn run(dir: &Path, a: Args) -> Result<ExitCode> {
    let instance = Instance::load(dir).context("reading the instance")?;
    let Some(config) = instance.config.as_ref() else {
        bail!(
            "no readable loket.toml in {}: run `loket check` first",
            dir.display()
        )
    };
    let forge = a.forge.settings()?;
    let opts = Options {
        branch: a.branch,
        root: dir.to_path_buf(),
    };
    let report = doctor::examine(config, forge.as_ref(), &opts);
    match a.format {
        Format::Human => print!("{}", report.human()),
        Format::Json => println!("{}", serde_json::to_string_pretty(&report)?),
    }
    Ok(if report.all_ok() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
