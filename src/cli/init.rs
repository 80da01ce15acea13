//! `loket init --preset OFFICE DIR`: a new instance from an office's preset.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use loket::init::{AdminKey, PRESETS, init, preset};

#[derive(clap::Args)]
pub struct Args {
    /// The office whose SOPs the instance follows (see --list).
    #[arg(long, required_unless_present = "list", value_parser = preset_ids())]
    preset: Option<String>,
    /// Directory to create the instance in (created if missing).
    #[arg(required_unless_present = "list")]
    dir: Option<PathBuf>,
    /// The office admin's age (`age1…`) or SSH (`ssh-ed25519 …`) public key, to seal
    /// credentials of requests without their own recipient. Default: a new age key
    /// pair, its identity written to admin-identity.key (0600, git-ignored).
    #[arg(long)]
    admin_recipient: Option<String>,
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
    let admin = args
        .admin_recipient
        .map_or(AdminKey::Generate, AdminKey::Given);
    let w = init(&dir, p, &admin)?;
    let mut out = std::io::stdout().lock();
    let _ = writeln!(
        out,
        "Instance for {} written to {}.",
        p.office,
        dir.display()
    );
    if let Some(id) = &w.identity {
        let _ = writeln!(
            out,
            "Admin key: {} (in loket.toml). Its identity is in {} (0600, git-ignored): \
             move it to the admin's own machine; it opens sealed credentials.",
            w.recipient,
            id.display()
        );
    }
    let _ = writeln!(
        out,
        "Next: review loket.toml (roles' forge logins, servers), `git init`, commit, then \
         run `loket check`."
    );
    Ok(ExitCode::SUCCESS)
}
