//! Notification letters (surat pemberitahuan) after an account is made: the
//! `letters/<ticket>.toml` file a follow-up pull request adds (private, like requests),
//! and the facts of an issued letter that CI keeps in the ticket's record (public:
//! number, date, signing role, the PDF's digest; no personal data).

use serde::{Deserialize, Serialize};

pub const LETTERS_DIR: &str = "letters";

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
