//! The manifest of one site copy: the build fingerprint it was rendered with and a
//! content hash per file. It is what lets a build write only the files that differ
//! from the copy it updates, without reading that copy back. Kept beside the copy
//! (never inside the published tree) and removed before the copy is touched, so a
//! manifest on disk always describes its copy truthfully.

use std::collections::HashMap;
use std::path::Path;

use sha2::{Digest, Sha256};

use super::SiteError;

const HEADER: &str = "loket site manifest 1";

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

/// What one copy holds: path (relative, `/`-separated) to content hash, and per
/// ticket the digest of the inputs its files were made from.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Manifest {
    pub fingerprint: String,
    pub files: HashMap<String, Hash>,
    pub keys: HashMap<String, Hash>,
}

impl Manifest {
    /// Reads a manifest; `None` when it is missing or not one (the copy is then
    /// treated as unknown and rebuilt).
    pub fn read(path: &Path) -> Option<Manifest> {
        let text = std::fs::read_to_string(path).ok()?;
        let mut lines = text.lines();
        if lines.next()? != HEADER {
            return None;
        }
        let fingerprint = lines.next()?.strip_prefix("fingerprint ")?.to_string();
        let mut files = HashMap::with_capacity(text.len() / 64);
        let mut keys = HashMap::with_capacity(text.len() / 128);
        for line in lines {
            let (hex, name) = line.split_once(' ')?;
            if hex == "key" {
                let (hex, ticket) = name.split_once(' ')?;
                keys.insert(ticket.to_string(), parse_hex(hex)?);
            } else {
                files.insert(name.to_string(), parse_hex(hex)?);
            }
        }
        Some(Manifest {
            fingerprint,
            files,
            keys,
        })
    }

    /// Writes the manifest, sorted by path, to a temporary file renamed into place.
    pub fn write(&self, path: &Path) -> Result<(), SiteError> {
        let mut text = String::with_capacity(96 * (self.files.len() + self.keys.len()) + 64);
        text.push_str(HEADER);
        text.push('\n');
        text.push_str("fingerprint ");
        text.push_str(&self.fingerprint);
        text.push('\n');
        for (prefix, map) in [("", &self.files), ("key ", &self.keys)] {
            let mut entries: Vec<(&String, &Hash)> = map.iter().collect();
            entries.sort_unstable();
            for (name, h) in entries {
                text.push_str(prefix);
                push_hex(&mut text, h);
                text.push(' ');
                text.push_str(name);
                text.push('\n');
            }
        }
        let tmp = path.with_extension("tmp");
        let err = |source| SiteError::Write {
            path: path.to_path_buf(),
            source,
        };
        std::fs::write(&tmp, text).map_err(err)?;
        std::fs::rename(&tmp, path).map_err(err)
    }
}

fn push_hex(out: &mut String, h: &Hash) {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    for b in h {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 15)] as char);
    }
}

fn parse_hex(hex: &str) -> Option<Hash> {
    if hex.len() != 32 {
        return None;
    }
    let mut h = [0u8; 16];
    for (i, b) in h.iter_mut().enumerate() {
        *b = u8::from_str_radix(hex.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("a.manifest");
        let m = Manifest {
            fingerprint: "00ff".into(),
            files: [
                ("index.html".to_string(), hash(b"home")),
                ("t/KDS-24WBW-PV52C/index.html".to_string(), hash(b"page")),
            ]
            .into_iter()
            .collect(),
            keys: [("KDS-24WBW-PV52C".to_string(), hash(b"inputs"))]
                .into_iter()
                .collect(),
        };
        m.write(&path).unwrap();
        assert_eq!(Manifest::read(&path), Some(m));
        assert_ne!(hash(b"home"), hash(b"homf"));
        for bad in ["", "loket site manifest 1\n", "x\nfingerprint 1\n"] {
            std::fs::write(&path, bad).unwrap();
            assert_eq!(Manifest::read(&path), None, "{bad:?}");
        }
        std::fs::write(
            &path,
            "loket site manifest 1\nfingerprint 1\nzz index.html\n",
        )
        .unwrap();
        assert_eq!(Manifest::read(&path), None);
        assert_eq!(Manifest::read(&dir.path().join("missing")), None);
    }
}
