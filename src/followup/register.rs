//! The outgoing-letter register: `letters/<ticket>.toml` numbered 1, 2, 3… per year
//! in `[letters] number-format` (check rule L079 keeps it so), drafted for a
//! processed ticket by `loket letter --draft`, listed for the archivist by
//! `loket letter --list`.

use std::path::PathBuf;

use serde::Serialize;

use super::FollowUpError;
use crate::model::letter::{LetterFile, format_number};
use crate::model::record::{Outcome, Progress};
use crate::model::{Instance, Spanned};

/// One line of the register, as the archivist reads it. The ticket and request
/// letter are private data: the register is for the office, never the site.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub struct Row {
    pub year: i16,
    pub seq: u32,
    pub number: String,
    pub date: String,
    pub ticket: String,
    pub signer_role: String,
    pub request_letter: String,
    pub request_letter_date: String,
}

/// Every letter of the instance, by year and sequence.
pub fn rows(inst: &Instance) -> Vec<Row> {
    let mut rows: Vec<Row> = inst
        .letters
        .iter()
        .map(|l| {
            let v = &l.value;
            Row {
                year: v.year().unwrap_or(0),
                seq: *v.seq.get_ref(),
                number: v.number.get_ref().clone(),
                date: v.date.get_ref().clone(),
                ticket: v.ticket.get_ref().clone(),
                signer_role: v.signer_role.get_ref().clone(),
                request_letter: v.request_letter.get_ref().clone(),
                request_letter_date: v.request_letter_date.get_ref().clone(),
            }
        })
        .collect();
    rows.sort_by(|a, b| (a.year, a.seq, &a.ticket).cmp(&(b.year, b.seq, &b.ticket)));
    rows
}

/// The register as CSV (header and one line per letter).
pub fn csv(rows: &[Row]) -> Result<String, FollowUpError> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let fail = |e: csv::Error| FollowUpError::Refused(format!("CSV: {e}"));
    w.write_record([
        "year",
        "seq",
        "number",
        "date",
        "ticket",
        "signer-role",
        "request-letter",
        "request-letter-date",
    ])
    .map_err(fail)?;
    for r in rows {
        w.write_record([
            r.year.to_string(),
            r.seq.to_string(),
            r.number.clone(),
            r.date.clone(),
            r.ticket.clone(),
            r.signer_role.clone(),
            r.request_letter.clone(),
            r.request_letter_date.clone(),
        ])
        .map_err(fail)?;
    }
    let bytes = w
        .into_inner()
        .map_err(|e| FollowUpError::Refused(format!("CSV: {e}")))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The next free sequence number of `year`: one after the highest taken.
pub fn next_seq(inst: &Instance, year: i16) -> u32 {
    inst.letters
        .iter()
        .filter(|l| l.value.year() == Some(year))
        .map(|l| *l.value.seq.get_ref())
        .max()
        .unwrap_or(0)
        + 1
}

/// Writes `letters/<ticket>.toml` with the register's next number for `date`.
/// Refused when the ticket has no request, already has a letter, or is not yet
/// processed (its record, written by CI, does not say so).
pub fn draft(
    inst: &Instance,
    ticket: &str,
    date: jiff::civil::Date,
) -> Result<(PathBuf, LetterFile), FollowUpError> {
    let refuse = |m: String| Err(FollowUpError::Refused(m));
    let Some(config) = inst.config.as_ref() else {
        return refuse("loket.toml cannot be read; run `loket check`".into());
    };
    let Some(letters) = &config.letters else {
        return refuse("loket.toml has no [letters]: the office keeps no register here".into());
    };
    let Some(request) = inst.requests.iter().find(|r| r.value.ticket() == ticket) else {
        return refuse(format!("no request in requests/ has ticket {ticket}"));
    };
    if inst
        .letters
        .iter()
        .any(|l| l.value.ticket.get_ref() == ticket)
    {
        return refuse(format!(
            "{} exists: a ticket has one letter",
            LetterFile::path_for(ticket)
        ));
    }
    let record = crate::model::regular::read_to_string(&inst.root.join(Progress::path_for(ticket)))
        .ok()
        .and_then(|t| toml::from_str::<Progress>(&t).ok());
    if !record.is_some_and(|p| p.ticket == ticket && p.outcome == Outcome::Processed) {
        return refuse(format!(
            "{ticket} is not processed (its record does not say \"processed\"): the letter follows the account, after apply and verify"
        ));
    }
    let year = date.year();
    let seq = next_seq(inst, year);
    let number = format_number(letters.number_format.get_ref(), seq, year).ok_or_else(|| {
        FollowUpError::Refused(
            "letters.number-format does not fill; run `loket check` (L082)".into(),
        )
    })?;
    let s = |v: String| Spanned::new(0..0, v);
    let req = &request.value.letter;
    let letter = LetterFile {
        ticket: s(ticket.to_string()),
        number: s(number),
        seq: Spanned::new(0..0, seq),
        date: s(date.to_string()),
        signer_role: s(letters.signer_role.get_ref().clone()),
        request_letter: s(req.number.get_ref().clone()),
        request_letter_date: s(req.date.get_ref().to_string().chars().take(10).collect()),
    };
    let text = toml::to_string(&letter).map_err(|e| FollowUpError::Refused(e.to_string()))?;
    let path = inst.root.join(LetterFile::path_for(ticket));
    let werr = |e: std::io::Error| FollowUpError::Write {
        path: path.clone(),
        message: e.to_string(),
    };
    std::fs::create_dir_all(inst.root.join(crate::model::letter::LETTERS_DIR)).map_err(werr)?;
    // create_new: never overwrite a letter that appeared meanwhile.
    use std::io::Write as _;
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .map_err(werr)?;
    Ok((path, letter))
}

#[cfg(test)]
mod tests;
