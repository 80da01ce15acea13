//! The `loket` command line: parsing only; each command lives in `cli/`.

mod cli;

/// A load builds millions of small strings and boxes; mimalloc (with transparent huge
/// pages) halved the CPU time of a warm `loket check` load of 210k files compared
/// with glibc's malloc, mostly in page faults and arena growth (BENCHMARKS.md).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "loket",
    version,
    about = "Diskominfo account requests as a GitOps pipeline"
)]
struct Cli {
    /// The instance directory (holding loket.toml).
    #[arg(
        long,
        short = 'C',
        global = true,
        default_value = ".",
        env = "LOKET_DIR"
    )]
    dir: std::path::PathBuf,
    /// Read and parse every file; neither use nor update the parse cache in
    /// state/cache/ (also LOKET_NO_CACHE=1).
    #[arg(long, global = true)]
    no_cache: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate loket.toml, requests and accounts.
    Check(cli::check::Args),
    /// List every validation rule with its code.
    Rules(cli::check::RulesArgs),
    /// Start a new instance from an office's preset.
    Init(cli::init::Args),
    /// Write the instance's CI workflows again for this loket release (an upgrade),
    /// or with --check compare them.
    Workflows(cli::init::WorkflowsArgs),
    /// Write a new request and its accounts/ change.
    New(cli::new::Args),
    /// Which SOP step each request of a pull request has reached.
    Review(cli::review::Args),
    /// Remind the role holders of steps past their standard time (one comment per
    /// pull request, edited in place).
    Remind(cli::remind::Args),
    /// Forge helpers (snapshot of open pull requests for the site).
    #[command(subcommand)]
    Forge(cli::review::ForgeCommand),
    /// What apply would change on the live systems.
    Plan(cli::apply::PlanArgs),
    /// Apply accounts/ to the live systems, then verify.
    Apply(cli::apply::ApplyArgs),
    /// Test accounts as their users would.
    Verify(cli::apply::VerifyArgs),
    /// Report drift between the live systems and accounts/.
    Audit(cli::apply::AuditArgs),
    /// Take over mail files and key folders an earlier loket wrote before they
    /// carried the `# managed by loket` marker (checks every line first), and the
    /// live key lines of keys `loket import unix` recorded (docs/import.md).
    AdoptFiles(cli::apply::AdoptArgs),
    /// Bring the accounts of a system the office already runs into accounts/, under
    /// one import ticket (docs/import.md). Reads the source only.
    Import(cli::import::Args),
    /// Render the public status site.
    Site(cli::site::Args),
    /// Render a ticket's notification letter (surat pemberitahuan).
    Letter(cli::site::LetterArgs),
    /// Check the forge's settings and the instance against what loket assumes.
    Doctor(cli::doctor::Args),
    /// Man pages and shell completions, for packaging.
    #[command(hide = true)]
    GenerateAssets(cli::assets::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let dir = cli.dir;
    if cli.no_cache {
        loket::model::cache::disable();
    }
    let result = match cli.command {
        Command::Check(a) => cli::check::run(&dir, a),
        Command::Rules(a) => cli::check::rules(a),
        Command::Init(a) => cli::init::run(a),
        Command::Workflows(a) => cli::init::run_workflows(&dir, a),
        Command::New(a) => cli::new::run(&dir, a),
        Command::Review(a) => cli::review::run(&dir, a),
        Command::Remind(a) => cli::remind::run(&dir, a),
        Command::Forge(a) => cli::review::forge(&dir, a),
        Command::Plan(a) => cli::apply::plan(&dir, a),
        Command::Apply(a) => cli::apply::apply(&dir, a),
        Command::Verify(a) => cli::apply::verify(&dir, a),
        Command::Audit(a) => cli::apply::audit(&dir, a),
        Command::AdoptFiles(a) => cli::apply::adopt(&dir, a),
        Command::Import(a) => cli::import::run(&dir, a),
        Command::Site(a) => cli::site::run(&dir, a),
        Command::Letter(a) => cli::site::letter(&dir, a),
        Command::Doctor(a) => cli::doctor::run(&dir, a),
        Command::GenerateAssets(a) => cli::assets::run(<Cli as clap::CommandFactory>::command(), a),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {}", loket::apply::redact::redact(&format!("{e:#}")));
            ExitCode::from(2)
        }
    }
}
