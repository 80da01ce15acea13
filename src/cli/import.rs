//! `loket import`: arguments and output; the work is in `loket::import`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, anyhow};
use jiff::Timestamp;
use jiff::civil::Date;

use loket::import::{self, ImportError, Options, SourceRead};
use loket::model::Instance;

#[derive(clap::Args)]
pub struct Args {
    #[command(subcommand)]
    source: Source,
    /// The OPD of holders whose source names none.
    #[arg(long, global = true, default_value = "")]
    opd: String,
    /// Print what would be written; write nothing.
    #[arg(long, global = true)]
    dry_run: bool,
    /// Treat this date (YYYY-MM-DD) as today (the batch's date).
    #[arg(long, global = true)]
    today: Option<Date>,
}

#[derive(clap::Subcommand)]
enum Source {
    /// A Dovecot passwd-file (`user:password:uid:gid:gecos:home:shell:extra`).
    Dovecot {
        /// The passwd-file (read only; regular files only).
        file: PathBuf,
    },
    /// A `zmprov -l gaa -v` listing saved to a file.
    Zimbra { file: PathBuf },
    /// The mail subtree of [backends.mail] type = "ldap", read from the directory
    /// (bind password from the backend's environment variable).
    Ldap,
    /// A server's /etc/passwd and its accounts' authorized_keys, as OPD accounts.
    Unix {
        /// The server's name in loket.toml's [[servers]].
        #[arg(long)]
        server: String,
        /// A copy of the server's /etc/passwd.
        #[arg(long)]
        passwd: PathBuf,
        /// LOGIN=PATH: the authorized_keys file of LOGIN (repeat per login).
        #[arg(long = "keys", value_parser = login_path)]
        keys: Vec<(String, PathBuf)>,
        /// Lowest uid of a normal user.
        #[arg(long, default_value_t = *import::unix::DEFAULT_UIDS.start())]
        uid_min: u32,
        /// Highest uid of a normal user (65534, nobody, is never taken).
        #[arg(long, default_value_t = *import::unix::DEFAULT_UIDS.end())]
        uid_max: u32,
        /// Last day of the imported keys (default: today plus the server's max-days).
        #[arg(long)]
        expires: Option<Date>,
    },
}

fn login_path(s: &str) -> Result<(String, PathBuf), String> {
    let (l, p) = s
        .split_once('=')
        .ok_or_else(|| format!("`{s}` is not LOGIN=PATH"))?;
    Ok((l.to_string(), PathBuf::from(p)))
}

pub fn run(dir: &Path, a: Args) -> Result<ExitCode> {
    let inst = Instance::load_uncached(dir).context("reading the instance")?;
    let config = inst
        .config
        .as_ref()
        .ok_or_else(|| anyhow!("loket.toml cannot be read; run `loket check`"))?;
    let today = a
        .today
        .unwrap_or_else(|| loket::apply::run::today(config, Timestamp::now()));
    if a.opd.trim().is_empty() {
        return Err(anyhow!(
            "--opd is required: the OPD of holders the source names none for"
        ));
    }
    let mut expires = today;
    let read: Result<SourceRead, ImportError> = match a.source {
        Source::Dovecot { file } => import::dovecot::read(&file),
        Source::Zimbra { file } => import::zimbra::read(&file),
        Source::Ldap => import::ldap::read(config, today),
        Source::Unix {
            server,
            passwd,
            keys,
            uid_min,
            uid_max,
            expires: given,
        } => {
            let days = config.server(&server).map_or(0, |s| *s.max_days.get_ref());
            expires = given.unwrap_or_else(|| {
                today
                    .checked_add(jiff::Span::new().days(i64::from(days)))
                    .unwrap_or(today)
            });
            let keys: BTreeMap<String, PathBuf> = keys.into_iter().collect();
            import::unix::read(
                config,
                &import::unix::UnixSource {
                    server,
                    passwd,
                    keys,
                    uids: uid_min..=uid_max,
                },
            )
        }
    };
    let opts = Options {
        opd: a.opd,
        expires,
        today,
    };
    finish(&inst, read, &opts, a.dry_run)
}

fn finish(
    inst: &Instance,
    read: Result<SourceRead, ImportError>,
    opts: &Options,
    dry_run: bool,
) -> Result<ExitCode> {
    let planned = read.and_then(|r| import::plan(inst, &r, opts));
    let batch = match planned {
        Ok(Some(b)) => b,
        Ok(None) => {
            println!("nothing to import: every account of the source is already in accounts/");
            return Ok(ExitCode::SUCCESS);
        }
        Err(e) => {
            eprintln!("error: {e}");
            return Ok(ExitCode::from(1));
        }
    };
    if dry_run {
        for f in &batch.accounts {
            println!("would write {}:\n{}", f.rel, f.text);
        }
        println!(
            "would add to loket.toml:{}",
            &batch.config.text[batch.config.text.rfind("\n# `loket import`").unwrap_or(0)..]
        );
    } else {
        import::write(&inst.root, &batch)?;
    }
    println!(
        "{} {} account(s) under import ticket {} ({} already in accounts/ as the source has them).\n\
         Commit on a branch and open a pull request: changing loket.toml, it needs the \
         config-change role's approval (docs/import.md).",
        if dry_run { "would import" } else { "imported" },
        batch.accounts.len(),
        batch.ticket,
        batch.unchanged
    );
    Ok(ExitCode::SUCCESS)
}
