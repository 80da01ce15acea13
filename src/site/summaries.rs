//! The summary cache: per ticket, the input digest and what the statistics and the
//! index need of its model ([`Summary`]), kept beside the copies
//! (`.OUT.loket/summaries.json`) so a build need not rebuild the model of a ticket
//! whose inputs are unchanged. Valid for one build fingerprint; anything unreadable
//! counts as empty (the cost is one full model build, never a wrong page).

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::SiteError;
use super::manifest::Hash;
use super::public::{Summaries, Summary};

/// What a build leaves for the next one besides its files.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Saved {
    /// The git tree id the summaries describe (builds from a commit), else None.
    pub input: Option<String>,
    pub tickets: Summaries,
    /// Records whose ticket has no request: (ticket, latest moment as RFC 3339), for
    /// the "as of" time.
    pub unlisted: Vec<(String, String)>,
}

#[derive(Serialize, Deserialize)]
struct File {
    fingerprint: String,
    input: Option<String>,
    tickets: Vec<(String, Hash, Summary)>,
    unlisted: Vec<(String, String)>,
}

/// The summaries saved with `fingerprint`, or none.
pub fn load(path: &Path, fingerprint: &str) -> Saved {
    let Ok(bytes) = std::fs::read(path) else {
        return Saved::default();
    };
    match serde_json::from_slice::<File>(&bytes) {
        Ok(f) if f.fingerprint == fingerprint => Saved {
            input: f.input,
            tickets: f.tickets.into_iter().map(|(t, k, s)| (t, (k, s))).collect(),
            unlisted: f.unlisted,
        },
        _ => Saved::default(),
    }
}

/// Saves the summaries (a temporary file renamed into place).
pub fn save(path: &Path, fingerprint: &str, saved: &Saved) -> Result<(), SiteError> {
    let file = File {
        fingerprint: fingerprint.to_string(),
        input: saved.input.clone(),
        tickets: saved
            .tickets
            .iter()
            .map(|(t, (k, s))| (t.clone(), *k, s.clone()))
            .collect(),
        unlisted: saved.unlisted.clone(),
    };
    let err = |source| SiteError::Write {
        path: path.to_path_buf(),
        source,
    };
    let bytes = serde_json::to_vec(&file).map_err(|e| err(std::io::Error::other(e)))?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)
}
