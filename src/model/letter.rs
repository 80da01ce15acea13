//! Notification letters (surat pemberitahuan) after an account is made: the
//! `letters/<ticket>.toml` file a follow-up pull request adds (private, like requests),
//! and the facts of an issued letter that CI keeps in the ticket's record (public:
//! number, date, signing role, the PDF's digest; no personal data).

use serde::{Deserialize, Serialize};

use super::Spanned;

pub const LETTERS_DIR: &str = "letters";

/// `letters/<ticket>.toml`: the notification letter a follow-up pull request adds.
/// Private like a request (it answers the applicant's letter): never on the site;
/// only its [`IssuedLetter`] facts reach the record once the pull request merges.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct LetterFile {
    /// The ticket the letter answers; the file is named after it.
    pub ticket: Spanned<String>,
    /// The outgoing-letter number, `[letters] number-format` filled with `seq` and
    /// the year of `date`.
    pub number: Spanned<String>,
    /// The register's sequence number within the letter's year.
    pub seq: Spanned<u32>,
    /// `YYYY-MM-DD`.
    pub date: Spanned<String>,
    /// The role that signs it (`[letters] signer-role`).
    pub signer_role: Spanned<String>,
    /// The applicant's request letter it answers: number and date (`YYYY-MM-DD`).
    pub request_letter: Spanned<String>,
    pub request_letter_date: Spanned<String>,
}

impl LetterFile {
    pub fn path_for(ticket: &str) -> String {
        format!("{LETTERS_DIR}/{ticket}.toml")
    }

    /// The year of `date`, if it is a date.
    pub fn year(&self) -> Option<i16> {
        self.date
            .get_ref()
            .parse::<jiff::civil::Date>()
            .ok()
            .map(|d| d.year())
    }

    /// The public facts of the issued letter.
    pub fn issued(&self) -> IssuedLetter {
        IssuedLetter {
            number: self.number.get_ref().clone(),
            date: self.date.get_ref().clone(),
            signer_role: self.signer_role.get_ref().clone(),
            acting: None,
            pdf_sha256: None,
        }
    }
}

/// Fills a `[letters] number-format`: `{seq}`, `{seq:0N}` (zero-padded to N digits)
/// and `{year}`. `None` when the format holds another `{...}` or no `{seq...}`.
pub fn format_number(format: &str, seq: u32, year: i16) -> Option<String> {
    let mut out = String::new();
    let mut rest = format;
    let mut saw_seq = false;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}')? + open;
        let field = &rest[open + 1..close];
        match field {
            "year" => out.push_str(&year.to_string()),
            "seq" => {
                saw_seq = true;
                out.push_str(&seq.to_string());
            }
            _ => {
                let width: usize = field.strip_prefix("seq:0")?.parse().ok()?;
                if width == 0 || width > 9 {
                    return None;
                }
                saw_seq = true;
                out.push_str(&format!("{seq:0width$}"));
            }
        }
        rest = &rest[close + 1..];
    }
    if rest.contains('}') || !saw_seq {
        return None;
    }
    out.push_str(rest);
    Some(out)
}

/// How an official acts for a role they do not hold (Permendagri 1/2023, BKN SE
/// 1/SE/I/2021): Plt (pelaksana tugas), Plh (pelaksana harian), Pj (penjabat).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ActingKind {
    Plt,
    Plh,
    Pj,
}

impl ActingKind {
    /// The abbreviation written before the role's title: "Plh. Kepala Dinas ...".
    pub fn prefix(self) -> &'static str {
        match self {
            ActingKind::Plt => "Plt.",
            ActingKind::Plh => "Plh.",
            ActingKind::Pj => "Pj.",
        }
    }
}

/// An official acting for a role under a decree, as recorded with a step or a letter.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Acting {
    pub kind: ActingKind,
    /// The decree (SK) number that appoints the official.
    pub decree: String,
}

/// An issued letter, as the ticket's record keeps it for the public verification page.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct IssuedLetter {
    /// The outgoing-letter number from the office's register.
    pub number: String,
    /// The letter's date, `YYYY-MM-DD`.
    pub date: String,
    /// The signing role (a key of `[roles]`).
    pub signer_role: String,
    /// Set when the signer acted for the role.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub acting: Option<Acting>,
    /// Lowercase hex SHA-256 of the issued PDF.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pdf_sha256: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_fill_seq_padding_and_year_and_refuse_unknown_fields() {
        let f = "555/{seq:04}/18.03/{year}";
        assert_eq!(format_number(f, 42, 2026).unwrap(), "555/0042/18.03/2026");
        assert_eq!(format_number("{seq}/{year}", 7, 2027).unwrap(), "7/2027");
        assert_eq!(format_number("{seq:03}", 1234, 2026).unwrap(), "1234");
        for bad in [
            "555/{year}",
            "{seq}/{tahun}",
            "{seq",
            "{seq}}",
            "{seq:4}",
            "{seq:00}",
        ] {
            assert!(format_number(bad, 1, 2026).is_none(), "{bad}");
        }
    }

    #[test]
    fn issued_letter_round_trips_through_toml() {
        let l = IssuedLetter {
            number: "555/0042/18.03/2026".into(),
            date: "2026-12-03".into(),
            signer_role: "kepala-dinas".into(),
            acting: Some(Acting {
                kind: ActingKind::Plh,
                decree: "800/117/18.03/2026".into(),
            }),
            pdf_sha256: None,
        };
        let text = toml::to_string(&l).unwrap();
        assert!(text.contains("signer-role = \"kepala-dinas\""), "{text}");
        assert_eq!(toml::from_str::<IssuedLetter>(&text).unwrap(), l);
        assert_eq!(ActingKind::Plh.prefix(), "Plh.");
    }
}
