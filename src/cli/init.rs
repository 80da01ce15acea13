//! `loket init --preset OFFICE DIR`: a new instance from an office's preset.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Result, bail};
use loket::forge::ForgeKind;
use loket::init::workflows::{self, Release};
use loket::init::{AdminKey, PRESETS, Setup, init, preset};

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
    #[command(flatten)]
    pin: Pin,
    /// List the presets and exit.
    #[arg(long)]
    list: bool,
}

/// `loket workflows`: the instance's workflows written again for a release.
#[derive(clap::Args)]
pub struct WorkflowsArgs {
    #[command(flatten)]
    pin: Pin,
    /// Only compare: exit 1 and name each workflow that is missing or differs.
    #[arg(long)]
    check: bool,
}

/// Which forge and which release the workflows are for.
#[derive(clap::Args)]
struct Pin {
    /// Whose Actions run the instance's workflows: `github` (.github/workflows) or
    /// `forgejo` (.forgejo/workflows, also for Gitea).
    #[arg(long, value_enum, default_value_t = Forge::Github)]
    forge: Forge,
    /// SHA-256 of the release asset the workflows install. Default: this binary's
    /// own, right when it is the release asset or the `.deb`'s /usr/bin/loket.
    #[arg(long, value_name = "HEX")]
    release_sha256: Option<String>,
    /// Where the workflows download releases from (`<URL>/v<VERSION>/loket-x86_64-linux`),
    /// e.g. the office's own Forgejo mirror. Default: the loket project's releases.
    #[arg(long, value_name = "URL")]
    release_url: Option<String>,
}

impl Pin {
    fn forge(&self) -> ForgeKind {
        match self.forge {
            Forge::Github => ForgeKind::GitHub,
            Forge::Forgejo => ForgeKind::Forgejo,
        }
    }

    fn release(&self) -> Result<Release> {
        Ok(Release::new(
            self.release_sha256.as_deref(),
            self.release_url.as_deref(),
        )?)
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Forge {
    Github,
    Forgejo,
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
    let setup = Setup {
        admin,
        forge: args.pin.forge(),
        release: args.pin.release()?,
    };
    let w = init(&dir, p, &setup)?;
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
        "Workflows for {} in {}: loket {} from {}, SHA-256 {}.",
        setup.forge.name(),
        setup.forge.workflow_dir(),
        setup.release.version,
        setup.release.release_url,
        setup.release.sha256
    );
    let _ = writeln!(
        out,
        "Next: review loket.toml (roles' forge logins, servers), `git init`, commit, push, \
         then follow docs/adopt.md (forge settings, runner, `loket doctor`)."
    );
    Ok(ExitCode::SUCCESS)
}

/// Writes (or with `--check` compares) the instance's workflows for this release:
/// how an office upgrades loket, and how the bundled instance is kept equal to
/// what `init` writes.
pub fn run_workflows(dir: &std::path::Path, args: WorkflowsArgs) -> Result<ExitCode> {
    let forge = args.pin.forge();
    let files = workflows::render(forge, &args.pin.release()?)?;
    let mut out = std::io::stdout().lock();
    if args.check {
        let off: Vec<_> = workflows::compare(dir, &files)
            .into_iter()
            .filter(|(_, s)| *s != workflows::State::Same)
            .collect();
        for (path, state) in &off {
            let what = match state {
                workflows::State::Missing => "missing",
                _ => "differs from what this loket writes",
            };
            let _ = writeln!(out, "{}: {what}", path.display());
        }
        if off.is_empty() {
            let _ = writeln!(out, "{} workflows are up to date.", forge.name());
            return Ok(ExitCode::SUCCESS);
        }
        let _ = writeln!(
            out,
            "Run `loket workflows` with the same options to write them."
        );
        return Ok(ExitCode::from(1));
    }
    let written = workflows::write(dir, &files)?;
    for p in &written {
        let _ = writeln!(out, "wrote {}", p.display());
    }
    if written.is_empty() {
        let _ = writeln!(out, "{} workflows are up to date.", forge.name());
    }
    Ok(ExitCode::SUCCESS)
}
