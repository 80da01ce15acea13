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

#[derive(Serialize, Deserialize)]
struct File {
    fingerprint: String,
    tickets: Vec<(String, Hash, Summary)>,
}

/// The summaries saved with `fingerprint`, or none.
pub fn load(path: &Path, fingerprint: &str) -> Summaries {
    let Ok(bytes) = std::fs::read(path) else {
        return Summaries::new();
    };
    match serde_json::from_slice::<File>(&bytes) {
        Ok(f) if f.fingerprint == fingerprint => {
            f.tickets.into_iter().map(|(t, k, s)| (t, (k, s))).collect()
        }
        _ => Summaries::new(),
    }
}

/// Saves the summaries (a temporary file renamed into place).
pub fn save(path: &Path, fingerprint: &str, summaries: Summaries) -> Result<(), SiteError> {
    let file = File {
        fingerprint: fingerprint.to_string(),
        tickets: summaries.into_iter().map(|(t, (k, s))| (t, k, s)).collect(),
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
