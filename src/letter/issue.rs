//! Issuing a recorded letter. Once `loket apply` has recorded the follow-up pull
//! request that signed a letter (its number, date and signer in the ticket's
//! record), `loket letter --issue` prints it to the PDF the office sends, kept
//! private under the state folder (`<state-dir>/letters/<ticket>.pdf`, 0600), and
//! puts that PDF's SHA-256 into the record, which the public verification page
//! shows. A letter is issued once: a second print would have other bytes, so a
//! record that holds a digest is never printed again.

use std::path::{Path, PathBuf};

use super::{LetterError, LetterOptions, print_pdf, render, sha256_hex};
use crate::apply::fsutil;
use crate::followup::record::{read_record, write as write_record};
use crate::model::record::Progress;
use crate::site::SiteData;
use crate::site::render::Templates;

/// Where issued PDFs are kept, under the state folder.
pub const ISSUED_DIR: &str = "letters";

/// One letter issued by this run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IssuedPdf {
    pub ticket: String,
    pub path: PathBuf,
    pub sha256: String,
}

/// The tickets whose record holds a signed letter not yet issued. A ticket names a
/// file here, so only a well-formed ticket counts (records are CI's, but a value
/// read back is never a path unchecked).
pub fn unissued(data: &SiteData) -> Vec<String> {
    data.records
        .iter()
        .filter(|r| r.letter.as_ref().is_some_and(|l| l.pdf_sha256.is_none()))
        .filter_map(|r| crate::ticket::Ticket::parse(&r.ticket, None).ok())
        .map(|t| t.to_string())
        .filter(|t| data.records.iter().any(|r| &r.ticket == t))
        .collect()
}

/// Prints and records every unissued letter. The PDF is in place before the record
/// names its digest, so a run killed in between prints that letter again next time
/// (nothing was published yet); one that fails stops the run, the ones before it
/// stay issued.
pub fn issue_all(
    data: &SiteData,
    templates: &Templates,
    chromium: &Path,
) -> Result<Vec<IssuedPdf>, LetterError> {
    let tickets = unissued(data);
    if tickets.is_empty() {
        return Ok(Vec::new());
    }
    let config = data
        .instance
        .config
        .as_ref()
        .ok_or(crate::site::SiteError::NoConfig)?;
    let root = &data.instance.root;
    let dir = root.join(&config.backends.state_dir).join(ISSUED_DIR);
    fsutil::private_dir(&root.join(&config.backends.state_dir))
        .and_then(|()| fsutil::private_dir(&dir))
        .map_err(|e| write_error(&dir, e))?;
    tickets
        .into_iter()
        .map(|ticket| issue_one(data, templates, chromium, &dir, &ticket))
        .collect()
}

fn issue_one(
    data: &SiteData,
    templates: &Templates,
    chromium: &Path,
    dir: &Path,
    ticket: &str,
) -> Result<IssuedPdf, LetterError> {
    let html = render(data, templates, ticket, &LetterOptions::default())?;
    let scratch = tempfile::tempdir_in(dir).map_err(|e| io(dir, e))?;
    let printed = scratch.path().join("letter.pdf");
    print_pdf(chromium, &html, &printed)?;
    let bytes = std::fs::read(&printed).map_err(|e| io(&printed, e))?;
    let path = dir.join(format!("{ticket}.pdf"));
    fsutil::atomic_write(&path, &bytes, 0o600, None).map_err(|e| write_error(&path, e))?;
    let sha256 = sha256_hex(&bytes);
    record_digest(&data.instance.root, ticket, &sha256)?;
    Ok(IssuedPdf {
        ticket: ticket.to_string(),
        path,
        sha256,
    })
}

/// Writes `sha256` into the record of `ticket`, read again from disk: only the
/// letter's digest changes, and only when it has none.
fn record_digest(root: &Path, ticket: &str, sha256: &str) -> Result<(), LetterError> {
    let path = root.join(Progress::path_for(ticket));
    let unissued = |p: &Progress| p.letter.as_ref().is_some_and(|l| l.pdf_sha256.is_none());
    let mut p = read_record(root, ticket)
        .filter(unissued)
        .ok_or_else(|| LetterError::Record {
            path: path.clone(),
            message: "no unissued letter in this record".into(),
        })?;
    if let Some(letter) = p.letter.as_mut() {
        letter.pdf_sha256 = Some(sha256.to_string());
    }
    write_record(root, &p).map_err(|e| write_error(&path, e))
}

fn io(path: &Path, source: std::io::Error) -> LetterError {
    LetterError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn write_error(path: &Path, e: impl std::fmt::Display) -> LetterError {
    LetterError::Record {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}
