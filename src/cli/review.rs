//! `loket review` and `loket forge snapshot`: read a pull request's reviews from the
//! forge and report which SOP step each request has reached.
//!
//! Exit codes of `loket review`: 0 every required step complete, 3 pending, 1
//! returned or refused (or, with `--record`, merged without approvals), 2 usage or
//! forge error.

use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use jiff::Timestamp;

use super::Format;
use loket::check::{self, Base, Options};
use loket::forge::{self, Forge, ForgeKind, PullData};
use loket::model::Instance;
use loket::model::record::{Progress, Snapshot};
use loket::review::{self, gate, render};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum ForgeName {
    Github,
    /// Forgejo or Gitea.
    Forgejo,
}

#[derive(clap::Args)]
pub struct ForgeArgs {
    /// Which forge hosts the repository.
    #[arg(long, value_enum, env = "LOKET_FORGE", default_value = "github")]
    forge: ForgeName,
    /// API base URL: GitHub Enterprise `https://HOST/api/v3`, or the Forgejo server.
    /// Defaults to $GITHUB_API_URL, then https://api.github.com (GitHub only).
    #[arg(long, env = "LOKET_FORGE_API_URL")]
    api_url: Option<String>,
    /// The repository, `owner/name` (default: $GITHUB_REPOSITORY).
    #[arg(long, env = "GITHUB_REPOSITORY")]
    repo: Option<String>,
}

impl ForgeArgs {
    /// The client; the token comes from LOKET_FORGE_TOKEN, else GITHUB_TOKEN or
    /// FORGEJO_TOKEN.
    pub fn client(&self) -> Result<Box<dyn Forge>> {
        let (kind, api, repo) = self.target()?;
        Ok(kind.client(&api, &repo, kind.token_from_env())?)
    }

    /// The repository-settings reader `loket doctor` uses (same token).
    pub fn settings(&self) -> Result<Box<dyn forge::settings::ForgeSettings>> {
        let (kind, api, repo) = self.target()?;
        Ok(kind.settings_client(&api, &repo, kind.token_from_env())?)
    }

    /// Which forge, its API URL and the repository.
    fn target(&self) -> Result<(ForgeKind, String, String)> {
        let kind = match self.forge {
            ForgeName::Github => ForgeKind::GitHub,
            ForgeName::Forgejo => ForgeKind::Forgejo,
        };
        let api = match (&self.api_url, std::env::var("GITHUB_API_URL").ok(), kind) {
            (Some(u), _, _) => u.clone(),
            (None, Some(u), _) if !u.is_empty() => u,
            (None, _, ForgeKind::GitHub) => forge::DEFAULT_API_URL.to_string(),
            (None, _, ForgeKind::Forgejo) => {
                bail!("--api-url is required for Forgejo (e.g. https://git.example.go.id)")
            }
        };
        let Some(repo) = &self.repo else {
            bail!("--repo owner/name is required (or set GITHUB_REPOSITORY)")
        };
        Ok((kind, api, repo.clone()))
    }
}

#[derive(clap::Args)]
pub struct Args {
    /// The pull request number.
    #[arg(long, required_unless_present = "merge_commit")]
    pr: Option<u64>,
    /// Instead of --pr: the merged pull request whose merge commit this is (a
    /// revision, e.g. `HEAD` on the main branch after a merge).
    #[arg(long, conflicts_with = "pr")]
    merge_commit: Option<String>,
    #[command(flatten)]
    forge: ForgeArgs,
    /// The revision holding loket.toml as on the base branch. Default: for an open
    /// PR `origin/<base>` (else `<base>`, else the PR's base commit); with --record
    /// the PR's base commit.
    #[arg(long)]
    base: Option<String>,
    #[arg(long, value_enum, default_value_t)]
    format: Format,
    /// Post the result as one PR comment (in Bahasa Indonesia), edited in place.
    #[arg(long)]
    comment: bool,
    /// The PR is merged: refuse unless every request is approved, then write the
    /// approval trail to records/<ticket>.toml.
    #[arg(long)]
    record: bool,
}

#[derive(clap::Subcommand)]
pub enum ForgeCommand {
    /// Evaluate every open pull request and write a snapshot for the status site.
    Snapshot(SnapshotArgs),
    /// List every approval rule (A001…) with its code.
    Rules(RulesArgs),
}

#[derive(clap::Args)]
pub struct RulesArgs {
    #[arg(long, value_enum, default_value_t)]
    format: Format,
}

#[derive(clap::Args)]
pub struct SnapshotArgs {
    /// Where to write the snapshot TOML.
    #[arg(long)]
    out: std::path::PathBuf,
    #[command(flatten)]
    forge: ForgeArgs,
}

/// The instance directory relative to its repository's work tree (`""` at the root).
pub(super) fn repo_prefix(dir: &Path) -> Result<String> {
    let repo = git2::Repository::discover(dir)
        .with_context(|| format!("{} is not inside a git repository", dir.display()))?;
    let workdir = repo.workdir().context("bare repository")?;
    let workdir = std::fs::canonicalize(workdir)?;
    let abs = std::fs::canonicalize(dir)?;
    Ok(abs
        .strip_prefix(&workdir)
        .map(|p| p.to_string_lossy().replace('\\', "/"))
        .unwrap_or_default())
}

fn read_base(dir: &Path, candidates: &[String]) -> Result<Base> {
    let mut last = None;
    for rev in candidates {
        match check::read_base(dir, rev) {
            Ok(b) => return Ok(b),
            Err(e) => last = Some(e),
        }
    }
    match last {
        Some(e) => Err(e).context("cannot read loket.toml as on the base branch (fetch it, e.g. `git fetch origin`, or pass --base)"),
        None => bail!("no base revision to read"),
    }
}

fn check_passes(head: &Instance, base: &Base) -> bool {
    let opts = Options {
        today: jiff::ZonedDateTime::now().date(),
        skip: Default::default(),
    };
    check::run(head, Some(base), &opts).is_clean()
}

pub fn run(dir: &Path, args: Args) -> Result<ExitCode> {
    let forge = args.forge.client()?;
    let number = match (args.pr, &args.merge_commit) {
        (Some(n), _) => n,
        (None, Some(rev)) => {
            let sha = git2::Repository::discover(dir)
                .and_then(|r| Ok(check::revision::resolve(&r, rev)?.to_string()))
                .with_context(|| format!("--merge-commit {rev}: not a commit here"))?;
            forge
                .merged_pull_for_commit(&sha)?
                .with_context(|| format!("no merged pull request has merge commit {sha}"))?
        }
        (None, None) => bail!("give --pr N or --merge-commit REV"),
    };
    let data = PullData::fetch(forge.as_ref(), number)?;
    let p = &data.pull;
    let candidates = match (&args.base, args.record) {
        (Some(b), _) => vec![b.clone()],
        (None, true) => vec![p.base_sha.clone()],
        // Full ref names: a short `origin/main` could be shadowed by a tag.
        (None, false) => vec![
            format!("refs/remotes/origin/{}", p.base_ref),
            format!("refs/heads/{}", p.base_ref),
            p.base_sha.clone(),
        ],
    };
    let base = read_base(dir, &candidates)?;
    let Some(config) = base.instance.config.as_ref() else {
        bail!(
            "loket.toml on the base revision {} does not parse; fix it on the base branch first",
            base.rev
        );
    };
    let head = Instance::load(dir)?;
    let prefix = repo_prefix(dir)?;
    let mut touched = review::touched(&data.files, &prefix, &head);
    // A follow-up pull request counts only for a ticket the base branch's records
    // (CI's) say was processed.
    if let Some(f) = &mut touched.follow_up {
        f.processed = review::processed_on_base(dir, &prefix, &base.rev, &f.ticket);
    }
    let check_ok = check_passes(&head, &base);
    let now = Timestamp::now();

    if args.record {
        if !p.merged {
            bail!(gate::GateError::NotMerged(p.number));
        }
        if touched.follow_up.is_some() {
            bail!(
                "pull request #{} is a follow-up pull request (letters/): `loket apply --approvals forge` records its steps",
                p.number
            );
        }
        return match gate::judge(config, &data, &touched, check_ok, now) {
            Ok(trails) => {
                for t in &trails {
                    let path = gate::write_record(dir, t)?;
                    eprintln!(
                        "recorded {} ({} steps) in {}",
                        t.ticket,
                        t.steps.len(),
                        path.display()
                    );
                }
                Ok(ExitCode::SUCCESS)
            }
            Err(
                e @ (gate::GateError::Unapproved { .. }
                | gate::GateError::ConfigUnapproved { .. }
                | gate::GateError::Problem { .. }),
            ) => {
                eprintln!("error: {e}");
                Ok(ExitCode::from(1))
            }
            Err(e) => Err(e.into()),
        };
    }

    let ev = review::evaluate(config, &data, &touched, check_ok, now);
    match args.format {
        Format::Json => println!("{}", serde_json::to_string_pretty(&ev)?),
        Format::Human => print!("{}", render::human(&ev)),
    }
    let today = loket::apply::run::today(config, now);
    let changes = loket::apply::preview::pull_plan(&head, &base.instance, config, today);
    let md = render::markdown(&ev) + &render::plan_markdown(&changes);
    if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|s| !s.is_empty()) {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&summary)
            .with_context(|| format!("cannot open GITHUB_STEP_SUMMARY {summary:?}"))?;
        writeln!(f, "{md}")?;
    }
    if args.comment {
        let action = forge.upsert_comment(number, render::COMMENT_MARKER, &md)?;
        eprintln!("PR comment: {action:?}");
    }
    Ok(ExitCode::from(ev.exit_code()))
}

pub fn forge(dir: &Path, cmd: ForgeCommand) -> Result<ExitCode> {
    match cmd {
        ForgeCommand::Snapshot(a) => snapshot(dir, a),
        ForgeCommand::Rules(a) => rules(a),
    }
}

fn rules(args: RulesArgs) -> Result<ExitCode> {
    let all = review::rules::RULES;
    match args.format {
        Format::Json => {
            let v: Vec<_> = all
                .iter()
                .map(|r| {
                    serde_json::json!({"code": r.code, "name": r.name, "summary": r.summary, "summary_id": r.summary_id})
                })
                .collect();
            println!("{}", serde_json::to_string_pretty(&v)?);
        }
        Format::Human => {
            for r in all {
                println!("{}  {:<24} {}", r.code, r.name, r.summary);
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Each open PR is judged against loket.toml as checked out here (the base branch),
/// reading its request files from the forge at the PR's head.
fn snapshot(dir: &Path, args: SnapshotArgs) -> Result<ExitCode> {
    let forge = args.forge.client()?;
    let here = Instance::load(dir)?;
    let Some(config) = here.config.as_ref() else {
        bail!("loket.toml does not parse; run `loket check`");
    };
    let prefix = repo_prefix(dir)?;
    let now = Timestamp::now();
    let mut tickets = Vec::new();
    for pull in forge.open_pulls()? {
        let data = PullData::fetch(forge.as_ref(), pull.number)?;
        let mut files = Vec::new();
        for f in data.files.iter().filter(|f| !f.removed) {
            let rel = if prefix.is_empty() {
                Some(f.path.as_str())
            } else {
                f.path
                    .strip_prefix(prefix.as_str())
                    .and_then(|p| p.strip_prefix('/'))
            };
            if let Some(rel) = rel.filter(|r| r.starts_with("requests/") && r.ends_with(".toml")) {
                let text = forge.file_at(&f.path, &data.pull.head_sha)?;
                files.push((rel.to_string(), text));
            }
        }
        let head = Instance::from_files(dir, files);
        let touched = review::touched(&data.files, &prefix, &head);
        // The data check ran in the PR's own CI; here only the reviews are judged.
        let ev = review::evaluate(config, &data, &touched, true, now);
        for t in ev.tickets {
            tickets.push(Progress {
                ticket: t.ticket,
                outcome: t.outcome,
                kind: Some(t.kind),
                pr: Some(pull.number),
                pending_step: t.pending.map(|p| p.step),
                reason: t.reason,
                // Public: roles and times only, no logins.
                steps: t
                    .steps
                    .into_iter()
                    .filter_map(|s| match s.state {
                        review::StepState::Done { mut record } => {
                            record.login = None;
                            Some(record)
                        }
                        _ => None,
                    })
                    .collect(),
                events: Vec::new(),
                letter: None,
                follow_up_pr: None,
            });
        }
    }
    tickets.sort_by(|a, b| a.ticket.cmp(&b.ticket));
    let snap = Snapshot {
        taken_at: now.to_string(),
        tickets,
    };
    let text = toml::to_string(&snap)?;
    std::fs::write(&args.out, text)
        .with_context(|| format!("cannot write {}", args.out.display()))?;
    eprintln!(
        "snapshot of {} tickets written to {}",
        snap.tickets.len(),
        args.out.display()
    );
    Ok(ExitCode::SUCCESS)
}
