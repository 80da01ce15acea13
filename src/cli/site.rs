//! `loket site` and `loket letter`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

use loket::check::{self, Options};
use loket::diag;
use loket::letter::{self, LetterOptions};
use loket::site::SiteData;
use loket::site::render::{self, Templates};
use loket::site::summaries::Saved;
use loket::site::timing::Timings;
use loket::site::write::DirWriter;

#[derive(clap::Args)]
pub struct Args {
    /// Output: a link to the newly built copy of the site, swapped in atomically when
    /// the build succeeds (the copies live in `.NAME.loket/` beside it).
    #[arg(long, default_value = "public")]
    out: PathBuf,
    /// Open pull requests' progress from `loket forge snapshot` (TOML or JSON), so
    /// pending tickets show too.
    #[arg(long)]
    snapshot: Option<PathBuf>,
}

#[derive(clap::Args)]
pub struct LetterArgs {
    /// The ticket number, e.g. KDS-7HQ4M-2XR9P.
    ticket: String,
    /// Write here instead of standard output (HTML, or PDF with --pdf).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Print to PDF with headless Chromium (needs --out).
    #[arg(long, requires = "out")]
    pdf: bool,
    /// The outgoing-letter number from the office's register.
    #[arg(long)]
    number: Option<String>,
    /// The letter's date (YYYY-MM-DD); default: the day the account was processed.
    #[arg(long)]
    date: Option<jiff::civil::Date>,
    /// The signing role (a key of [roles]); default: the SOP's first disposition.
    #[arg(long)]
    signer: Option<String>,
    /// The Chromium binary for --pdf.
    #[arg(long, default_value = "/usr/bin/chromium", env = "LOKET_CHROMIUM")]
    chromium: PathBuf,
}

/// Loads the instance and refuses to publish one that does not pass `loket check`.
fn load_checked(
    dir: &Path,
    snapshot: Option<&Path>,
    timings: &mut Timings,
) -> Result<Option<SiteData>> {
    let data = match SiteData::load(dir, snapshot) {
        Ok(d) => d,
        Err(loket::site::SiteError::Invalid(_)) => {
            // Show the parse errors the way `loket check` does.
            let inst = loket::model::Instance::load(dir)?;
            report(&inst)?;
            return Ok(None);
        }
        Err(e) => return Err(e.into()),
    };
    timings.mark("load");
    if !report(&data.instance)? {
        return Ok(None);
    }
    timings.mark("check");
    Ok(Some(data))
}

/// Prints check errors; true when there are none.
fn report(inst: &loket::model::Instance) -> Result<bool> {
    let opts = Options {
        today: jiff::ZonedDateTime::now().date(),
        skip: Default::default(),
    };
    let result = check::run(inst, None, &opts);
    if result.errors() == 0 {
        return Ok(true);
    }
    eprint!("{}", diag::render_human(&inst.sources, &result.diagnostics));
    eprintln!(
        "{} error(s): nothing was written; fix them (see `loket check`) and build again",
        result.errors()
    );
    Ok(false)
}

pub fn run(dir: &Path, a: Args) -> Result<ExitCode> {
    let mut timings = Timings::from_env();
    let Some(data) = load_checked(dir, a.snapshot.as_deref(), &mut timings)? else {
        return Ok(ExitCode::from(1));
    };
    let templates = Templates::for_instance(dir)?;
    let progress = if std::io::stderr().is_terminal() {
        let pb = ProgressBar::new(2 * data.instance.requests.len() as u64 + 16);
        pb.set_style(
            ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        pb.set_message("rendering");
        pb
    } else {
        ProgressBar::hidden()
    };
    let fingerprint = render::fingerprint(&data, &templates);
    timings.mark("templates, fingerprint");
    let writer = DirWriter::new(&a.out, progress, &fingerprint)?;
    timings.mark("open copy, manifest");
    let cached = writer.load_summaries();
    timings.mark("load summaries");
    let (summary, summaries) = render::render_site(&data, &templates, &writer, &cached.tickets)?;
    timings.mark("render (all stages)");
    // Bound, not temporary: dropping 100k summaries is no part of saving them.
    let saved = Saved {
        input: None,
        tickets: summaries,
        unlisted: vec![],
    };
    writer.save_summaries(&saved)?;
    timings.mark("save summaries");
    let stats = writer.finish()?;
    timings.mark("finish, swap");
    let removed = match stats.removed {
        0 => String::new(),
        n => format!(", {n} removed"),
    };
    eprintln!(
        "{} tickets, {} files in {}: {} written, {} unchanged{removed}",
        summary.tickets,
        summary.pages,
        a.out.display(),
        stats.written,
        stats.kept
    );
    Ok(ExitCode::SUCCESS)
}

pub fn letter(dir: &Path, a: LetterArgs) -> Result<ExitCode> {
    let Some(data) = load_checked(dir, None, &mut Timings::from_env())? else {
        return Ok(ExitCode::from(1));
    };
    let templates = Templates::for_instance(dir)?;
    let opts = LetterOptions {
        number: a.number,
        date: a.date,
        signer: a.signer,
    };
    let html = letter::render(&data, &templates, &a.ticket, &opts)?;
    match (&a.out, a.pdf) {
        (Some(out), true) => {
            letter::print_pdf(&a.chromium, &html, out)?;
            eprintln!("wrote {} (private: do not publish)", out.display());
        }
        (Some(out), false) => {
            std::fs::write(out, &html).with_context(|| format!("writing {}", out.display()))?;
            eprintln!("wrote {} (private: do not publish)", out.display());
        }
        (None, _) => print!("{html}"),
    }
    Ok(ExitCode::SUCCESS)
}
