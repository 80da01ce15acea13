//! The summary cache: per ticket, the input digest and what the statistics and the
//! index need of its model ([`Summary`]), kept beside the copies
//! (`.OUT.loket/summaries.bin`, postcard) so a build need not rebuild the model of a
//! ticket whose inputs are unchanged; with it, what else a build leaves for the next
//! ([`Saved`]). Valid for one build fingerprint; anything unreadable counts as empty
//! (the cost is one full model build, never a wrong page). It holds no personal data.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::SiteError;
use super::manifest::Hash;
use super::public::{Summaries, Summary};

/// The file name beside the copies.
pub const FILE: &str = "summaries.bin";
/// The JSON cache of earlier versions, removed when the new one is saved.
pub const OLD_FILE: &str = "summaries.json";

/// Another layout (or none of ours) reads as empty.
const MAGIC: &[u8] = b"loket summaries 2\n";

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

#[derive(Serialize)]
struct FileRef<'a> {
    fingerprint: &'a str,
    input: &'a Option<String>,
    #[serde(serialize_with = "tickets_as_seq")]
    tickets: &'a Summaries,
    unlisted: &'a [(String, String)],
}

/// A sequence rather than a map: read back into a `Vec` of known length, then into
/// the map at its final size (no rehashing as it grows).
fn tickets_as_seq<S: serde::Serializer>(t: &&Summaries, s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(
        t.iter()
            .map(|(ticket, (key, summary))| (ticket, key, summary)),
    )
}

#[derive(Deserialize)]
struct File {
    fingerprint: String,
    input: Option<String>,
    tickets: Vec<(String, Hash, Summary)>,
    unlisted: Vec<(String, String)>,
}

/// What was saved with `fingerprint`, or nothing.
pub fn load(path: &Path, fingerprint: &str) -> Saved {
    let Ok(bytes) = std::fs::read(path) else {
        return Saved::default();
    };
    let Some(body) = bytes.strip_prefix(MAGIC) else {
        return Saved::default();
    };
    match postcard::take_from_bytes::<File>(body) {
        Ok((f, rest)) if rest.is_empty() && f.fingerprint == fingerprint => Saved {
            input: f.input,
            tickets: f.tickets.into_iter().map(|(t, k, s)| (t, (k, s))).collect(),
            unlisted: f.unlisted,
        },
        _ => Saved::default(),
    }
}

/// Saves (a temporary file renamed into place), and removes the JSON cache of
/// earlier versions beside it.
pub fn save(path: &Path, fingerprint: &str, saved: &Saved) -> Result<(), SiteError> {
    let file = FileRef {
        fingerprint,
        input: &saved.input,
        tickets: &saved.tickets,
        unlisted: &saved.unlisted,
    };
    let err = |source| SiteError::Write {
        path: path.to_path_buf(),
        source,
    };
    let bytes =
        postcard::to_extend(&file, MAGIC.to_vec()).map_err(|e| err(std::io::Error::other(e)))?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, bytes).map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)?;
    let old = path.with_file_name(OLD_FILE);
    match std::fs::remove_file(&old) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(SiteError::Write {
            path: old,
            source: e,
        }),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::RequestKind;
    use crate::site::manifest::hash;
    use crate::site::public::Status;

    #[test]
    fn round_trips_and_falls_back_to_empty() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(FILE);
        std::fs::write(dir.path().join(OLD_FILE), "{}").unwrap();
        let summary = Summary {
            status: Status::Processed,
            kind: Some(RequestKind::MailReset),
            updated_at: Some("2026-03-02T09:00:00+07:00".into()),
            month: Some((2026, 3)),
            step_minutes: vec![("verify".into(), 42, Some(60))],
            total: Some((42, 120)),
            record_latest: None,
        };
        let saved = Saved {
            input: Some("4b825dc642cb6eb9a060e54bf8d69288fbee4904".into()),
            tickets: [("KDS-24WBW-PV52C".to_string(), (hash(b"in"), summary))]
                .into_iter()
                .collect(),
            unlisted: vec![("KDS-7HQ4M-2XR9P".into(), "2026-03-01T08:00:00Z".into())],
        };
        save(&path, "fp", &saved).unwrap();
        assert!(!dir.path().join(OLD_FILE).exists());
        assert_eq!(load(&path, "fp"), saved);
        assert_eq!(load(&path, "other"), Saved::default());
        assert_eq!(load(&dir.path().join("missing"), "fp"), Saved::default());
        let good = std::fs::read(&path).unwrap();
        for bad in [
            b"".to_vec(),
            b"{\"fingerprint\":\"fp\",\"tickets\":[]}".to_vec(),
            good[..good.len() - 1].to_vec(),
            [&good[..], b"x"].concat(),
            good[1..].to_vec(),
        ] {
            std::fs::write(&path, &bad).unwrap();
            assert_eq!(load(&path, "fp"), Saved::default());
        }
    }
}
