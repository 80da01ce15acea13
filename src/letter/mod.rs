//! Notification letters (surat pemberitahuan): the Lumajang SOP ends with a signed
//! letter telling the applicant the account exists; other offices use it as their
//! "applicant notified" step. Letters are private (they name the applicant and the
//! account), so they are rendered on demand, never published. They never hold a
//! password: they say how the sealed credentials are collected.

use std::path::{Path, PathBuf};
use std::process::Command;

mod body;
pub mod issue;
pub mod parts;

use jiff::civil::Date;
use minijinja::{Value, context};
use thiserror::Error;

use crate::model::config::{Completion, Config, Sop};
use crate::model::record::{EventKind, Outcome, Progress};
use crate::model::time;
use crate::site::render::{self, LETTER_STYLE, Templates, sv};
use crate::site::text::{self, Lang};
use crate::site::{SiteData, SiteError};

#[derive(Debug, Error)]
pub enum LetterError {
    #[error(transparent)]
    Site(#[from] SiteError),
    #[error("no request has ticket {0} (look in requests/)")]
    NoSuchTicket(String),
    #[error(
        "ticket {ticket} is {outcome:?}, not processed: the letter is issued once `loket apply` has created the account"
    )]
    NotProcessed { ticket: String, outcome: Outcome },
    #[error("ticket {0} has no record yet (records/{0}.toml): it has not been applied")]
    NoRecord(String),
    #[error("--signer {0}: no such role in loket.toml [roles]")]
    UnknownRole(String),
    #[error(
        "[roles.{0}] has no official-name: a letter is signed by name (add official-name, official-rank and official-nip, see docs/schema.md)"
    )]
    NoOfficial(String),
    #[error(
        "the record says an acting official signed for {role} under decree {decree:?}, but no [[delegations]] entry in loket.toml for that role and decree was in force then"
    )]
    ActingUnknown { role: String, decree: String },
    #[error(
        "the [[delegations]] entry for {role} (decree {decree:?}) has no name: a letter is signed by name (add name, rank and nip, see docs/schema.md)"
    )]
    ActingNoName { role: String, decree: String },
    #[error(
        "[site] base-url is not set in loket.toml: the letter's QR code and short URL point to its verification page on the status site"
    )]
    NoBaseUrl,
    #[error("cannot make the QR code: {0}")]
    Qr(String),
    #[error("office.emblem {path:?}: {why} (rule L081)")]
    Emblem { path: String, why: String },
    #[error("chromium could not print the PDF ({status}): {stderr}")]
    Chromium { status: String, stderr: String },
    #[error("cannot run {path}: {source}")]
    Spawn {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {message}")]
    Record { path: PathBuf, message: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What the command may set; everything else comes from the instance (and, once
/// issued, from the record's [`crate::model::letter::IssuedLetter`]).
#[derive(Debug, Clone, Default)]
pub struct LetterOptions {
    /// The outgoing-letter number from the office's register; by default the
    /// record's, else `<classification>/<ticket>/<year>`, the classification taken
    /// from the SOP number.
    pub number: Option<String>,
    /// The letter's date; by default the record's, else the day the account was
    /// processed.
    pub date: Option<Date>,
    /// The signing role; by default the record's, else the role of the SOP's first
    /// disposition (the Kepala Dinas), who signs outgoing letters.
    pub signer: Option<String>,
}

/// The facts of the letter: number, date, signing role.
struct Facts {
    number: String,
    date: Date,
    role: String,
}

fn facts(
    config: &Config,
    sop: &Sop,
    record: &Progress,
    ticket: &str,
    opts: &LetterOptions,
) -> Facts {
    let issued = record.letter.as_ref();
    let tz = *config.office.time_zone.get_ref();
    let role = opts
        .signer
        .clone()
        .or_else(|| issued.map(|l| l.signer_role.clone()))
        .unwrap_or_else(|| {
            sop.steps
                .iter()
                .find(|s| *s.done_by.get_ref() == Completion::Review)
                .map_or_else(|| "kepala-dinas".into(), |s| s.role.get_ref().clone())
        });
    let date = opts
        .date
        .or_else(|| issued.and_then(|l| l.date.parse().ok()))
        .or_else(|| processed_on(record, tz))
        .unwrap_or_else(|| jiff::ZonedDateTime::now().date());
    let number = opts
        .number
        .clone()
        .or_else(|| issued.map(|l| l.number.clone()))
        .unwrap_or_else(|| {
            let class = sop.number.split('/').next().unwrap_or("");
            format!("{class}/{ticket}/{}", date.year())
        });
    Facts { number, date, role }
}

/// Renders the letter for `ticket` as a print-ready HTML document.
pub fn render(
    data: &SiteData,
    templates: &Templates,
    ticket: &str,
    opts: &LetterOptions,
) -> Result<String, LetterError> {
    let config = data.instance.config.as_ref().ok_or(SiteError::NoConfig)?;
    let lang = render::language(config)?;
    let req = data
        .instance
        .requests
        .iter()
        .map(|r| &r.value)
        .find(|r| r.ticket().eq_ignore_ascii_case(ticket.trim()))
        .ok_or_else(|| LetterError::NoSuchTicket(ticket.to_string()))?;
    let ticket = req.ticket();
    let record = data
        .records
        .iter()
        .find(|r| r.ticket == ticket)
        .ok_or_else(|| LetterError::NoRecord(ticket.to_string()))?;
    // NOTE(followup): once `Outcome::Done` exists, a finished ticket has a letter too.
    if !matches!(record.outcome, Outcome::Processed | Outcome::Done) {
        return Err(LetterError::NotProcessed {
            ticket: ticket.to_string(),
            outcome: record.outcome,
        });
    }
    let (_, sop) = config
        .sop_for(req.kind())
        .ok_or_else(|| LetterError::NoSuchTicket(ticket.to_string()))?;
    let f = facts(config, sop, record, ticket, opts);
    let tz = *config.office.time_zone.get_ref();
    let acting = parts::acting_signer(config, record, &f.role, f.date, tz)?;
    let signer = parts::signer(config, &f.role, acting)?;
    let url = parts::verification_url(config, ticket)?;
    let app = &req.applicant;
    let letter_date = time::to_date(req.letter.date.get_ref())
        .map(|d| text::date(lang, d))
        .unwrap_or_default();
    let kind_label = lang.pick(req.kind().label_id(), req.kind().label_en());
    let ctx = context! {
        lang => lang.code(),
        // Trusted, embedded CSS: escaping it would break quoted font names.
        style => Value::from_safe_string(LETTER_STYLE.to_string()),
        office => render::office_value(config),
        emblem => parts::emblem_uri(&data.instance.root, config)?,
        w => words(lang),
        letter => context! { number => f.number, date => text::date(lang, f.date) },
        to => context! {
            name => app.name.get_ref(),
            position => app.position.get_ref(),
            opd => app.opd.get_ref(),
        },
        ticket => ticket,
        kind_label => kind_label.to_lowercase(),
        body => sv(body::body(config, lang, req, &letter_date)),
        signer => sv(&signer),
        verify => context! {
            url => url.clone(),
            // Printed in two lines that break at the site's address, not mid-ticket.
            url_lines => url.rsplit_once("surat/").map(|(base, _)| [base.to_string(), url[base.len()..].to_string()]),
            qr => Value::from_safe_string(parts::qr_svg(&url)?),
        },
    };
    Ok(templates.render("letter.html", ctx)?)
}

/// The day in the office's zone the account was processed (the last apply event).
fn processed_on(record: &Progress, tz: crate::model::config::TimeZone) -> Option<Date> {
    record
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Applied | EventKind::Verified))
        .filter_map(|e| e.at.parse::<jiff::Timestamp>().ok())
        .chain(
            record
                .steps
                .iter()
                .filter(|s| s.done_by == Completion::Apply)
                .filter_map(|s| s.at.parse::<jiff::Timestamp>().ok()),
        )
        .max()
        .map(|ts| text::offset(tz).to_datetime(ts).date())
}

fn words(lang: Lang) -> Value {
    let pairs: &[(&str, &str, &str)] = &[
        ("title", "Pemberitahuan", "Notification:"),
        ("number", "Nomor", "Number"),
        ("attachment", "Lampiran", "Attachment"),
        ("subject", "Perihal", "Subject"),
        ("phone", "Telp.", "Phone"),
        ("to", "Kepada Yth.", "To"),
        ("at_place", "di tempat", ""),
        ("ticket", "Nomor tiket", "Ticket number"),
        ("nip", "NIP.", "NIP"),
        (
            "closing",
            "Demikian pemberitahuan ini disampaikan. Atas perhatian Saudara, kami ucapkan terima kasih.",
            "Thank you for your attention.",
        ),
        (
            "verify",
            "Keaslian surat ini dapat diperiksa dengan memindai kode QR atau membuka alamat di bawahnya. Kode QR bukan tanda tangan elektronik.",
            "Check this letter is genuine by scanning the QR code or opening the address below it. The QR code is not an electronic signature.",
        ),
        (
            "qr_alt",
            "Kode QR alamat pemeriksaan surat",
            "QR code of the letter's verification address",
        ),
        (
            "private_note",
            "Surat ini bersifat pribadi dan tidak dipublikasikan. Status tiket dapat dilihat pada situs layanan dengan nomor tiket di atas.",
            "This letter is private and never published. The ticket's status is on the service site under the ticket number above.",
        ),
    ];
    let map: std::collections::BTreeMap<&str, &str> = pairs
        .iter()
        .map(|(k, id, en)| (*k, lang.pick(id, en)))
        .collect();
    sv(map)
}

/// Lowercase hex SHA-256 of `bytes` (an issued PDF's digest).
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Prints `html` to a PDF with headless Chromium (A4 from the letter's print CSS).
pub fn print_pdf(chromium: &Path, html: &str, out: &Path) -> Result<(), LetterError> {
    let io = |path: &Path, source| LetterError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = tempfile::tempdir().map_err(|e| io(Path::new("temp dir"), e))?;
    let page = dir.path().join("letter.html");
    std::fs::write(&page, html).map_err(|e| io(&page, e))?;
    let profile = dir.path().join("profile");
    let out_abs = std::path::absolute(out).map_err(|e| io(out, e))?;
    let output = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-pdf-header-footer",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--print-to-pdf={}", out_abs.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .map_err(|source| LetterError::Spawn {
            path: chromium.to_path_buf(),
            source,
        })?;
    let ok =
        output.status.success() && std::fs::read(&out_abs).is_ok_and(|b| b.starts_with(b"%PDF"));
    if !ok {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
        return Err(LetterError::Chromium {
            status: output.status.to_string(),
            stderr: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
        });
    }
    Ok(())
}
