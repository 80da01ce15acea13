//! The manifest of one site copy: the build fingerprint it was rendered with, what it
//! was built from, a content hash per file and an input digest per ticket. It is
//! what lets a build write only the files that differ from the copy it updates,
//! without reading that copy back. Kept beside the copy (never inside the published
//! tree) and removed before the copy is touched, so a manifest on disk always
//! describes its copy truthfully.
//!
//! On disk it is binary and read on every build, so both are cheap: names sorted and
//! front-coded (each stores only what differs from the previous one), read into one
//! buffer with a hash index ([`Table`]), written by a streaming [`Encoder`].

use std::io::Write;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::SiteError;

/// The first line; another version (the text format of manifest 1 included) reads
/// as no manifest, so the copy is rebuilt.
const HEADER: &[u8] = b"loket site manifest 2\n";

/// The first 128 bits of the SHA-256 of a file's bytes: collisions, even crafted
/// ones, are out of reach, and the manifest stays small.
pub type Hash = [u8; 16];

pub fn hash(bytes: &[u8]) -> Hash {
    let full = Sha256::digest(bytes);
    let mut h = [0u8; 16];
    h.copy_from_slice(&full[..16]);
    h
}

/// Feeds `Hash` implementations into SHA-256: a canonical digest of a ticket's
/// inputs (derived `Hash` writes lengths and variants too, so distinct inputs give
/// distinct byte streams). The many small writes are gathered first and digested at
/// once. Only [`KeyHasher::digest`] is meaningful.
#[derive(Default)]
pub struct KeyHasher(Vec<u8>);

impl KeyHasher {
    pub fn digest(self) -> Hash {
        hash(&self.0)
    }
}

impl std::hash::Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        self.0.extend_from_slice(bytes);
    }

    fn finish(&self) -> u64 {
        // Never used for a hash table; the digest is what counts.
        0
    }
}

/// Names (sorted, unique) with a hash each, found by name through an index built
/// once: a few hundred thousand of them cost one buffer and no allocation each.
#[derive(Default, Clone)]
pub struct Table {
    names: String,
    /// Where each name ends in `names` (it starts where the previous one ends).
    ends: Vec<u32>,
    hashes: Vec<Hash>,
    /// Open addressing: entry index + 1, 0 for an empty slot.
    slots: Vec<u32>,
}

impl Table {
    /// The table of `entries` in any order; of equal names the last one counts.
    pub fn collect(entries: impl IntoIterator<Item = (String, Hash)>) -> Table {
        let mut v: Vec<(String, Hash)> = entries.into_iter().collect();
        sort_last_wins(&mut v);
        let mut t = Table::default();
        for (name, h) in &v {
            t.push_sorted(name, *h);
        }
        t.index();
        t
    }

    fn push_sorted(&mut self, name: &str, h: Hash) {
        self.names.push_str(name);
        self.ends.push(self.names.len() as u32);
        self.hashes.push(h);
    }

    /// Builds the lookup index (load factor at most one half).
    fn index(&mut self) {
        let size = (2 * self.len()).next_power_of_two().max(16);
        self.slots = vec![0; size];
        let mask = size - 1;
        for i in 0..self.len() {
            let mut s = slot(self.name(i).as_bytes()) & mask;
            while self.slots[s] != 0 {
                s = (s + 1) & mask;
            }
            self.slots[s] = i as u32 + 1;
        }
    }

    pub fn len(&self) -> usize {
        self.ends.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// The `i`-th name in sorted order.
    pub fn name(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.names[start..self.ends[i] as usize]
    }

    pub fn hash(&self, i: usize) -> &Hash {
        &self.hashes[i]
    }

    /// The index of `name`, if there.
    pub fn find(&self, name: &str) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut s = slot(name.as_bytes()) & mask;
        loop {
            match self.slots[s] {
                0 => return None,
                i if self.name(i as usize - 1) == name => return Some(i as usize - 1),
                _ => s = (s + 1) & mask,
            }
        }
    }

    pub fn get(&self, name: &str) -> Option<&Hash> {
        self.find(name).map(|i| &self.hashes[i])
    }

    pub fn contains(&self, name: &str) -> bool {
        self.find(name).is_some()
    }

    /// Name and hash, in sorted order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Hash)> {
        (0..self.len()).map(|i| (self.name(i), &self.hashes[i]))
    }
}

impl PartialEq for Table {
    fn eq(&self, other: &Table) -> bool {
        // The index follows from the entries.
        (&self.names, &self.ends, &self.hashes) == (&other.names, &other.ends, &other.hashes)
    }
}

impl Eq for Table {}

impl std::fmt::Debug for Table {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// Sorts by name; of equal names only the last (in the given order) stays.
pub fn sort_last_wins(v: &mut Vec<(String, Hash)>) {
    // Stable, so equal names keep their order and `dedup` may keep the last.
    v.sort_by(|a, b| a.0.cmp(&b.0));
    v.reverse();
    v.dedup_by(|later, earlier| later.0 == earlier.0);
    v.reverse();
}

/// FxHash over 8-byte words, for an index by name: the names are ticket numbers and
/// paths, not an attacker's choice, and the worst a collision costs is a longer probe.
pub(super) fn slot(bytes: &[u8]) -> usize {
    const K: u64 = 0xf135_7aea_2e62_a9c5;
    let mut h = bytes.len() as u64;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let w = u64::from_le_bytes(w.try_into().unwrap_or_default());
        h = (h.rotate_left(5) ^ w).wrapping_mul(K);
    }
    let mut last = [0u8; 8];
    last[..words.remainder().len()].copy_from_slice(words.remainder());
    h = (h.rotate_left(5) ^ u64::from_le_bytes(last)).wrapping_mul(K);
    (h ^ (h >> 29)) as usize
}

/// What one copy holds: path (relative, `/`-separated) to content hash, and per
/// ticket the digest of the inputs its files were made from.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub fingerprint: String,
    /// What the copy was built from: the git tree id of the instance when built
    /// from a commit; None when built from the working tree.
    pub input: Option<String>,
    pub files: Table,
    pub keys: Table,
}

impl Manifest {
    /// Reads a manifest; `None` when it is missing or not one (the copy is then
    /// treated as unknown and rebuilt).
    pub fn read(path: &Path) -> Option<Manifest> {
        let bytes = std::fs::read(path).ok()?;
        let mut r = Reader(bytes.strip_prefix(HEADER)?);
        let fingerprint = r.string()?;
        let input = match r.varint()? {
            0 => None,
            1 => Some(r.string()?),
            _ => return None,
        };
        let files = r.table()?;
        let keys = r.table()?;
        r.0.is_empty().then_some(Manifest {
            fingerprint,
            input,
            files,
            keys,
        })
    }

    /// Writes the manifest to a temporary file renamed into place.
    pub fn write(&self, path: &Path) -> Result<(), SiteError> {
        let mut e = Encoder::new(&self.fingerprint, self.input.as_deref(), self.files.len());
        for (name, h) in self.files.iter() {
            e.file(name, h);
        }
        for (name, h) in self.keys.iter() {
            e.key(name, h);
        }
        e.write(path)
    }
}

/// Writes a manifest from entries given in sorted order, files then keys, without
/// gathering them first.
pub struct Encoder {
    head: Vec<u8>,
    files: Section,
    keys: Section,
}

#[derive(Default)]
struct Section {
    bytes: Vec<u8>,
    count: u64,
    prev: Vec<u8>,
}

impl Section {
    fn push(&mut self, name: &str, h: &Hash) {
        let name = name.as_bytes();
        debug_assert!(self.count == 0 || name > &self.prev[..], "manifest order");
        let shared = name
            .iter()
            .zip(&self.prev)
            .take_while(|(a, b)| a == b)
            .count();
        push_varint(&mut self.bytes, shared as u64);
        push_varint(&mut self.bytes, (name.len() - shared) as u64);
        self.bytes.extend_from_slice(&name[shared..]);
        self.bytes.extend_from_slice(h);
        self.prev.clear();
        self.prev.extend_from_slice(name);
        self.count += 1;
    }
}

impl Encoder {
    /// `files`: about how many files will come (room is made for them).
    pub fn new(fingerprint: &str, input: Option<&str>, files: usize) -> Encoder {
        let mut head = HEADER.to_vec();
        push_str(&mut head, fingerprint);
        match input {
            None => push_varint(&mut head, 0),
            Some(i) => {
                push_varint(&mut head, 1);
                push_str(&mut head, i);
            }
        }
        Encoder {
            head,
            files: Section {
                bytes: Vec::with_capacity(files * 32),
                ..Section::default()
            },
            keys: Section {
                bytes: Vec::with_capacity(files * 16),
                ..Section::default()
            },
        }
    }

    /// The next file, after every smaller path.
    pub fn file(&mut self, path: &str, h: &Hash) {
        self.files.push(path, h);
    }

    /// The next ticket's input digest, after every smaller ticket.
    pub fn key(&mut self, ticket: &str, h: &Hash) {
        self.keys.push(ticket, h);
    }

    /// Writes a temporary file and renames it into place.
    pub fn write(self, path: &Path) -> Result<(), SiteError> {
        let (mut files_count, mut keys_count) = (Vec::new(), Vec::new());
        push_varint(&mut files_count, self.files.count);
        push_varint(&mut keys_count, self.keys.count);
        let tmp = path.with_extension("tmp");
        let err = |source| SiteError::Write {
            path: path.to_path_buf(),
            source,
        };
        let mut f = std::fs::File::create(&tmp).map_err(err)?;
        for part in [
            &self.head,
            &files_count,
            &self.files.bytes,
            &keys_count,
            &self.keys.bytes,
        ] {
            f.write_all(part).map_err(err)?;
        }
        drop(f);
        std::fs::rename(&tmp, path).map_err(err)
    }
}

fn push_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn push_str(out: &mut Vec<u8>, s: &str) {
    push_varint(out, s.len() as u64);
    out.extend_from_slice(s.as_bytes());
}

/// Decodes, refusing anything malformed: `None` rather than a panic.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = self.0.split_first()?;
            self.0 = rest;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Some(v);
            }
        }
        None
    }

    fn bytes(&mut self, n: u64) -> Option<&'a [u8]> {
        let n = usize::try_from(n).ok()?;
        let (head, rest) = (self.0.get(..n)?, self.0.get(n..)?);
        self.0 = rest;
        Some(head)
    }

    fn string(&mut self) -> Option<String> {
        let n = self.varint()?;
        String::from_utf8(self.bytes(n)?.to_vec()).ok()
    }

    fn table(&mut self) -> Option<Table> {
        let count = usize::try_from(self.varint()?).ok()?;
        // Each entry takes at least 18 bytes: a bogus count cannot reserve much.
        let count_ok = count.checked_mul(18).is_some_and(|n| n <= self.0.len());
        let count = count_ok.then_some(count)?;
        let mut names = Vec::with_capacity(self.0.len().min(count * 40));
        let mut t = Table {
            ends: Vec::with_capacity(count),
            hashes: Vec::with_capacity(count),
            ..Table::default()
        };
        let mut prev = 0..0;
        for i in 0..count {
            let shared = usize::try_from(self.varint()?).ok()?;
            let suffix_len = self.varint()?;
            let suffix = self.bytes(suffix_len)?;
            if shared > prev.len() {
                return None;
            }
            // Strictly increasing: the suffix must beat the previous name's rest.
            let rest = &names[prev.start + shared..prev.end];
            if i > 0 && suffix <= rest {
                return None;
            }
            let start = names.len();
            names.extend_from_within(prev.start..prev.start + shared);
            names.extend_from_slice(suffix);
            prev = start..names.len();
            t.ends.push(u32::try_from(names.len()).ok()?);
            t.hashes.push(self.bytes(16)?.try_into().ok()?);
        }
        t.names = String::from_utf8(names).ok()?;
        // Each name must be text on its own, not only all of them together.
        if !t.ends.iter().all(|&e| t.names.is_char_boundary(e as usize)) {
            return None;
        }
        t.index();
        Some(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Manifest {
        Manifest {
            fingerprint: "00ff".into(),
            input: Some("4b825dc642cb6eb9a060e54bf8d69288fbee4904".into()),
            files: Table::collect([
                ("t/KDS-24WBW-PV52C/index.html".to_string(), hash(b"page")),
                ("index.html".to_string(), hash(b"old")),
                ("index.html".to_string(), hash(b"home")),
                ("t/KDS-24WBW-PV52D/index.html".to_string(), hash(b"page2")),
                (
                    "api/v1/tickets/KDS-24WBW-PV52C.json".to_string(),
                    hash(b"j"),
                ),
            ]),
            keys: Table::collect([("KDS-24WBW-PV52C".to_string(), hash(b"inputs"))]),
        }
    }

    #[test]
    fn tables_find_what_they_hold() {
        let m = sample();
        assert_eq!(m.files.len(), 4);
        assert_eq!(m.files.get("index.html"), Some(&hash(b"home")));
        assert!(m.files.contains("t/KDS-24WBW-PV52D/index.html"));
        assert!(!m.files.contains("t/KDS-24WBW-PV52E/index.html"));
        assert!(!Table::default().contains("index.html"));
        let names: Vec<&str> = m.files.iter().map(|(n, _)| n).collect();
        assert!(names.windows(2).all(|w| w[0] < w[1]), "{names:?}");
    }

    #[test]
    fn round_trips_and_rejects_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.manifest");
        let m = sample();
        m.write(&path).unwrap();
        assert_eq!(Manifest::read(&path), Some(m.clone()));
        let none = Manifest {
            input: None,
            ..Manifest::default()
        };
        none.write(&path).unwrap();
        assert_eq!(Manifest::read(&path), Some(none));
        assert_ne!(hash(b"home"), hash(b"homf"));

        m.write(&path).unwrap();
        let good = std::fs::read(&path).unwrap();
        let mut bad: Vec<Vec<u8>> = vec![
            b"".to_vec(),
            b"loket site manifest 1\nfingerprint 1\n".to_vec(),
            HEADER.to_vec(),
            [&good[..], b"x"].concat(),
        ];
        // Every truncation and every flipped byte after the header.
        bad.extend((0..good.len()).map(|n| good[..n].to_vec()));
        for i in HEADER.len()..good.len() {
            let mut b = good.clone();
            b[i] ^= 0x80;
            bad.push(b);
        }
        for b in bad {
            std::fs::write(&path, &b).unwrap();
            // A flipped byte inside a hash still reads; it must never panic, and
            // anything that reads must round-trip.
            if let Some(read) = Manifest::read(&path) {
                read.write(&path).unwrap();
                assert_eq!(Manifest::read(&path), Some(read));
            }
        }
        std::fs::write(&path, &good[..good.len() - 1]).unwrap();
        assert_eq!(Manifest::read(&path), None);
        std::fs::write(&path, b"loket site manifest 1\nfingerprint 1\n").unwrap();
        assert_eq!(Manifest::read(&path), None);
        assert_eq!(Manifest::read(&dir.path().join("missing")), None);
    }
}
