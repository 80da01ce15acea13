//! The summary cache: per ticket, the input digest and what the statistics and the
//! index need of its model ([`Summary`]), kept beside the copies
//! (`.OUT.loket/summaries.bin`, postcard) so a build need not rebuild the model of a
//! ticket whose inputs are unchanged; with it, what else a build leaves for the next
//! ([`Saved`]). Valid for one build fingerprint; anything unreadable counts as empty
//! (the cost is one full model build, never a wrong page). It holds no personal data.

use std::borrow::Cow;
use std::ops::Range;
use std::path::Path;

use super::SiteError;
use super::manifest::{Hash, slot};
use super::public::{PublicTicket, Summaries, Summary};

/// The file name beside the copies.
pub const FILE: &str = "summaries.bin";
/// The JSON cache of earlier versions, removed when the new one is saved.
pub const OLD_FILE: &str = "summaries.json";

/// Another layout (or none of ours) reads as empty.
const MAGIC: &[u8] = b"loket summaries 3\n";

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

/// A file as read, kept so that saving again copies the entry of a ticket whose
/// input digest is unchanged instead of encoding it anew. An entry depends only on
/// the ticket, its digest and the fingerprint: what lets the cache stand in for the
/// model in the first place.
#[derive(Default)]
pub struct Loaded {
    bytes: Vec<u8>,
    /// Per ticket: where its name and its whole entry are in `bytes`, and its digest.
    entries: Vec<(Range<usize>, Hash, Range<usize>)>,
    /// Open addressing by name: entry index + 1, 0 for an empty slot.
    slots: Vec<u32>,
}

impl Loaded {
    fn index(&mut self) {
        let size = (2 * self.entries.len()).next_power_of_two().max(16);
        self.slots = vec![0; size];
        for (i, (name, _, _)) in self.entries.iter().enumerate() {
            let mut s = slot(&self.bytes[name.clone()]) & (size - 1);
            while self.slots[s] != 0 {
                s = (s + 1) & (size - 1);
            }
            self.slots[s] = i as u32 + 1;
        }
    }

    /// The entry of `ticket` if it was read with digest `key`.
    fn entry(&self, ticket: &str, key: &Hash) -> Option<&[u8]> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut s = slot(ticket.as_bytes()) & mask;
        loop {
            let (name, k, entry) = self.entries.get((self.slots[s] as usize).checked_sub(1)?)?;
            if &self.bytes[name.clone()] == ticket.as_bytes() {
                return (k == key).then(|| &self.bytes[entry.clone()]);
            }
            s = (s + 1) & mask;
        }
    }
}

/// What was saved with `fingerprint`, or nothing.
pub fn load(path: &Path, fingerprint: &str) -> Saved {
    load_keeping(path, fingerprint).0
}

/// [`load`], keeping the file for [`save_reusing`].
pub fn load_keeping(path: &Path, fingerprint: &str) -> (Saved, Loaded) {
    std::fs::read(path)
        .ok()
        .and_then(|bytes| decode(bytes, fingerprint))
        .unwrap_or_default()
}

fn decode(bytes: Vec<u8>, fingerprint: &str) -> Option<(Saved, Loaded)> {
    let body = bytes.strip_prefix(MAGIC)?;
    let ((fp, input), mut rest) =
        postcard::take_from_bytes::<(String, Option<String>)>(body).ok()?;
    if fp != fingerprint {
        return None;
    }
    let (count, r) = take_varint(rest)?;
    rest = r;
    // Each entry takes a few bytes at least: a bogus count cannot reserve much.
    let count = usize::try_from(count).ok().filter(|&c| c <= rest.len())?;
    let mut tickets = Vec::with_capacity(count);
    let mut entries = Vec::with_capacity(count);
    for _ in 0..count {
        let start = bytes.len() - rest.len();
        let ((t, k, s), r) = postcard::take_from_bytes::<(String, Hash, Summary)>(rest).ok()?;
        rest = r;
        let name_start = start + varint_len(t.len() as u64);
        entries.push((
            name_start..name_start + t.len(),
            k,
            start..bytes.len() - rest.len(),
        ));
        tickets.push((t, (k, s)));
    }
    let (unlisted, rest) = postcard::take_from_bytes::<Vec<(String, String)>>(rest).ok()?;
    if !rest.is_empty() {
        return None;
    }
    let saved = Saved {
        input,
        tickets: tickets.into_iter().collect(),
        unlisted,
    };
    let mut loaded = Loaded {
        bytes,
        entries,
        slots: Vec::new(),
    };
    loaded.index();
    Some((saved, loaded))
}

fn take_varint(bytes: &[u8]) -> Option<(u64, &[u8])> {
    let mut v = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        v |= u64::from(b & 0x7f) << (7 * i);
        if b < 0x80 {
            return Some((v, &bytes[i + 1..]));
        }
    }
    None
}

fn varint_len(v: u64) -> usize {
    (64 - v.leading_zeros() as usize).max(1).div_ceil(7)
}

fn push_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Saves (a temporary file renamed into place, removing the JSON cache of earlier
/// versions beside it), copying from `loaded` (read with the same fingerprint) the
/// entries of tickets whose digest is unchanged.
pub fn save_reusing(
    path: &Path,
    fingerprint: &str,
    saved: &Saved,
    loaded: &Loaded,
) -> Result<(), SiteError> {
    let entries = saved
        .tickets
        .iter()
        .map(|(t, (k, s))| (t.as_str(), k, move || Cow::Borrowed(s)));
    write_entries(
        path,
        fingerprint,
        saved.input.as_deref(),
        entries,
        &saved.unlisted,
        loaded,
    )
}

/// Saves the summaries of a build's tickets (sorted) straight from its model: a
/// ticket's summary is made only when `loaded` lacks its entry.
pub fn save_tickets(
    path: &Path,
    fingerprint: &str,
    input: Option<&str>,
    tickets: &[PublicTicket],
    unlisted: &[(String, String)],
    loaded: &Loaded,
) -> Result<(), SiteError> {
    let entries = tickets
        .iter()
        .map(|t| (t.ticket.as_str(), &t.key, move || Cow::Owned(t.summary())));
    write_entries(path, fingerprint, input, entries, unlisted, loaded)
}

fn write_entries<'a, F: FnOnce() -> Cow<'a, Summary>>(
    path: &Path,
    fingerprint: &str,
    input: Option<&str>,
    entries: impl ExactSizeIterator<Item = (&'a str, &'a Hash, F)>,
    unlisted: &[(String, String)],
    loaded: &Loaded,
) -> Result<(), SiteError> {
    let err = |source| SiteError::Write {
        path: path.to_path_buf(),
        source,
    };
    let enc = |e: postcard::Error| err(std::io::Error::other(e));
    let mut out = Vec::with_capacity(loaded.bytes.len() + 4096);
    out.extend_from_slice(MAGIC);
    let mut out = postcard::to_extend(&(fingerprint, &input), out).map_err(enc)?;
    push_varint(&mut out, entries.len() as u64);
    for (t, k, summary) in entries {
        match loaded.entry(t, k) {
            Some(entry) => out.extend_from_slice(entry),
            None => out = postcard::to_extend(&(t, k, &*summary()), out).map_err(enc)?,
        }
    }
    let out = postcard::to_extend(&unlisted, out).map_err(enc)?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, out).map_err(err)?;
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
            from_snapshot: true,
            letter: true,
        };
        let saved = Saved {
            input: Some("4b825dc642cb6eb9a060e54bf8d69288fbee4904".into()),
            tickets: [("KDS-24WBW-PV52C".to_string(), (hash(b"in"), summary))]
                .into_iter()
                .collect(),
            unlisted: vec![("KDS-7HQ4M-2XR9P".into(), "2026-03-01T08:00:00Z".into())],
        };
        save_reusing(&path, "fp", &saved, &Loaded::default()).unwrap();
        assert!(!dir.path().join(OLD_FILE).exists());
        assert_eq!(load(&path, "fp"), saved);
        assert_eq!(load(&path, "other"), Saved::default());
        assert_eq!(load(&dir.path().join("missing"), "fp"), Saved::default());
        // Saving again copies what is unchanged: a changed, a new and a gone ticket.
        let (again, loaded) = load_keeping(&path, "fp");
        let mut next = again.clone();
        let (_, s) = next.tickets.remove("KDS-24WBW-PV52C").unwrap();
        let other = Summary {
            status: Status::Waiting,
            ..s.clone()
        };
        next.tickets
            .insert("KDS-24WBW-PV52D".into(), (hash(b"d"), other.clone()));
        next.tickets
            .insert("KDS-24WBW-PV52E".into(), (hash(b"e"), s.clone()));
        save_reusing(&path, "fp", &next, &Loaded::default()).unwrap();
        let (_, loaded2) = load_keeping(&path, "fp");
        next.tickets
            .insert("KDS-24WBW-PV52D".into(), (hash(b"d2"), s.clone()));
        next.tickets.remove("KDS-24WBW-PV52E");
        next.tickets
            .insert("KDS-24WBW-PV52F".into(), (hash(b"f"), other));
        save_reusing(&path, "fp", &next, &loaded2).unwrap();
        assert_eq!(load(&path, "fp"), next);
        save_reusing(&path, "fp", &again, &loaded).unwrap();
        assert_eq!(load(&path, "fp"), again);
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
