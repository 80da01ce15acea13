//! `loket site` and `loket letter`.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use indicatif::{ProgressBar, ProgressStyle};

use loket::check::{self, Options};
use loket::diag;
use loket::letter::{self, LetterOptions};
use loket::model::config::Config;
use loket::model::record::Snapshot;
use loket::site::model::Model;
use loket::site::render::{self, Templates};
use loket::site::revision::Revision;
use loket::site::summaries::Saved;
use loket::site::timing::Timings;
use loket::site::write::DirWriter;
use loket::site::{SiteData, SiteError, incremental, read_toml_or_json};

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
    /// Publish the instance as committed at this revision (e.g. HEAD) rather than the
    /// working tree. A build after one from an earlier commit then renders only the
    /// tickets whose files changed in between; a full build needs the working tree's
    /// loket.toml, requests/ and records/ to be the revision's.
    #[arg(long, value_name = "REV")]
    rev: Option<String>,
}

#[derive(clap::Args)]
pub struct LetterArgs {
    /// The ticket number, e.g. KDS-7HQ4M-2XR9P.
    #[arg(required_unless_present_any = ["draft", "list", "issue"])]
    ticket: Option<String>,
    #[command(flatten)]
    register: super::letters::RegisterArgs,
    /// Write the HTML here instead of standard output.
    #[arg(long, conflicts_with = "pdf")]
    out: Option<PathBuf>,
    /// Print to PDF with headless Chromium into FILE and print the PDF's SHA-256.
    #[arg(long, value_name = "FILE")]
    pdf: Option<PathBuf>,
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
    let templates = Templates::for_instance(dir)?;
    let Some(rev) = &a.rev else {
        return full(dir, &a, &templates, None, None, timings);
    };
    // An incremental build touches its memory sparsely: a huge page zeroed in full for
    // each first touch cost more than the build (the kernel's time doubled it). The
    // full load, which fills what it touches, keeps them.
    let huge_pages = set_huge_pages(false);
    let revision = Revision::open(dir, rev)?;
    let config = revision.read_many(&["loket.toml".to_string()])?.remove(0);
    let fingerprint = render::fingerprint_of(config.as_deref().unwrap_or_default(), &templates);
    timings.mark("git: open, fingerprint");
    let writer = DirWriter::new(&a.out, progress_bar(), &fingerprint)?;
    timings.mark("open copy; manifest, summaries");
    let saved = writer.load_summaries();
    let snapshot = a
        .snapshot
        .as_deref()
        .map(read_toml_or_json::<Snapshot>)
        .transpose()?;
    let changes = match &saved.input {
        Some(old) => revision.changes_since(old)?,
        None => None,
    };
    timings.mark("git: changes");
    // The summaries go to the incremental model, or else to a full build.
    let (built, saved) = match changes {
        Some(changes) => (
            incremental::model(&revision, &changes, saved, snapshot.as_ref(), &writer)?,
            None,
        ),
        None => (None, Some(saved)),
    };
    if let Some((model, config)) = built {
        timings.mark("public model (changed tickets)");
        writer.set_progress_length(2 * model.tickets.len() as u64 + 16);
        let source = Source {
            config: &config,
            snapshot: snapshot.as_ref(),
            templates: &templates,
            input: Some(revision.id()),
        };
        let done = publish(&a, writer, model, source, timings);
        // Its folder listings are 200 000 small allocations, and the process ends.
        std::mem::forget(revision);
        return done;
    }
    // Nothing to start from: build everything, from the working tree, which must
    // then be the revision's.
    revision.ensure_clean()?;
    timings.mark("git: working tree is the revision");
    set_huge_pages(huge_pages);
    // Same fingerprint: the working tree's loket.toml is the revision's.
    full(
        dir,
        &a,
        &templates,
        Some(revision.id()),
        Some((writer, saved)),
        timings,
    )
}

/// Lets the kernel back this process's memory with transparent huge pages, or not,
/// from now on (existing mappings included, unlike an allocator option, which
/// mimalloc reads before `main`). Returns the previous setting.
fn set_huge_pages(allow: bool) -> bool {
    // SAFETY: prctl with these options reads or sets one flag of this process; no
    // pointer is passed.
    unsafe {
        let disabled = libc::prctl(libc::PR_GET_THP_DISABLE, 0, 0, 0, 0) == 1;
        libc::prctl(
            libc::PR_SET_THP_DISABLE,
            libc::c_ulong::from(!allow),
            0,
            0,
            0,
        );
        !disabled
    }
}

fn progress_bar() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let pb = ProgressBar::new(0);
    pb.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} ({eta})")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    pb.set_message("rendering");
    pb
}

/// A build of every ticket from the working tree; `input`: the tree it is known to
/// hold, and `opened`: the writer (with the summaries, unless spent) that a --rev
/// build had opened before it found it could not be incremental.
fn full(
    dir: &Path,
    a: &Args,
    templates: &Templates,
    input: Option<String>,
    opened: Option<(DirWriter, Option<Saved>)>,
    mut timings: Timings,
) -> Result<ExitCode> {
    let Some(data) = load_checked(dir, a.snapshot.as_deref(), &mut timings)? else {
        return Ok(ExitCode::from(1));
    };
    let (writer, saved) = match opened {
        Some(opened) => opened,
        None => {
            let fingerprint = render::fingerprint(&data, templates);
            timings.mark("templates, fingerprint");
            (DirWriter::new(&a.out, progress_bar(), &fingerprint)?, None)
        }
    };
    writer.set_progress_length(2 * data.instance.requests.len() as u64 + 16);
    timings.mark("open copy, manifest");
    let cached = saved.unwrap_or_else(|| writer.load_summaries());
    timings.mark("load summaries");
    let config = data.instance.config.as_ref().ok_or(SiteError::NoConfig)?;
    let model = Model::build(&data, render::language(config)?, &cached.tickets, &writer)?;
    let source = Source {
        config,
        snapshot: data.snapshot.as_ref(),
        templates,
        input,
    };
    publish(a, writer, model, source, timings)
}

/// What a built model is rendered with, and the tree it was built from (`--rev`).
struct Source<'a> {
    config: &'a Config,
    snapshot: Option<&'a Snapshot>,
    templates: &'a Templates,
    input: Option<String>,
}

/// Renders the model into the copy while its summaries are saved for the next build
/// (both only read it), then publishes the copy and says what changed.
fn publish(
    a: &Args,
    writer: DirWriter,
    model: Model,
    source: Source,
    mut timings: Timings,
) -> Result<ExitCode> {
    let unlisted = model.unlisted_saved();
    let (summary, saving) = rayon::join(
        || {
            let Source {
                config,
                snapshot,
                templates,
                ..
            } = source;
            render::render_model(config, snapshot, &model, templates, &writer)
        },
        || writer.save_summaries(source.input.as_deref(), &model.tickets, &unlisted),
    );
    let summary = summary?;
    saving?;
    writer.set_input(source.input);
    timings.mark("render, save summaries");
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
    // The process ends next: freeing 100 000 tickets twice over would only cost time.
    std::mem::forget(model);
    Ok(ExitCode::SUCCESS)
}

pub fn letter(dir: &Path, a: LetterArgs) -> Result<ExitCode> {
    if let Some(code) = super::letters::run(dir, &a.register, a.date)? {
        return Ok(code);
    }
    let Some(data) = load_checked(dir, None, &mut Timings::from_env())? else {
        return Ok(ExitCode::from(1));
    };
    let templates = Templates::for_instance(dir)?;
    if a.register.issue {
        let issued = letter::issue::issue_all(&data, &templates, &a.chromium)?;
        for i in &issued {
            println!(
                "issued {}: {} (private: send it, never publish it), sha256 {}",
                i.ticket,
                i.path.display(),
                i.sha256
            );
        }
        if issued.is_empty() {
            println!("no signed letter waits to be issued");
        }
        return Ok(ExitCode::SUCCESS);
    }
    let ticket = a.ticket.clone().unwrap_or_default();
    let opts = LetterOptions {
        number: a.number,
        date: a.date,
        signer: a.signer,
    };
    let html = letter::render(&data, &templates, &ticket, &opts)?;
    if let Some(file) = a.pdf {
        letter::print_pdf(&a.chromium, &html, &file)?;
        let bytes = std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
        eprintln!("wrote {} (private: do not publish)", file.display());
        // The digest the verification page shows once the letter is recorded.
        println!("{}", letter::sha256_hex(&bytes));
        return Ok(ExitCode::SUCCESS);
    }
    match &a.out {
        Some(out) => {
            std::fs::write(out, &html).with_context(|| format!("writing {}", out.display()))?;
            eprintln!("wrote {} (private: do not publish)", out.display());
        }
        None => print!("{html}"),
    }
    Ok(ExitCode::SUCCESS)
}
