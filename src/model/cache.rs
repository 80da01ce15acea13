//! The parse cache: parsed files kept between runs under `<root>/state/cache/`, so a
//! run reads and parses only the files that changed since the last one (as git's
//! index lets `git status` skip unchanged files).
//!
//! An entry is a file's relative path, its [`StatKey`] (size, mtime, ctime, inode),
//! the BLAKE3 of its bytes and its parsed value. A file whose stat matches is not read
//! at all; one whose stat changed is read, and its parse reused if the hash matches.
//!
//! Why stale data cannot come out of it:
//! - The header names the running binary (path, size, mtime, inode of
//!   `current_exe`) and a format version, so a rebuild or a model change discards
//!   it: postcard is not self-describing and must only decode what this binary wrote.
//! - The body has a BLAKE3 checksum; a truncated, corrupt or foreign file is ignored
//!   and rewritten, never an error.
//! - Racy files (git's term): a file changed within the same timestamp tick as our
//!   stat would keep its mtime, so entries whose mtime or ctime is less than
//!   [`RACY`] before the run started are neither stored nor trusted. ctime cannot be
//!   set by users, so restoring an mtime by hand does not hide a change either.
//! - Files are written to a temporary file and renamed into place.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::diag::ContentHash;

/// Where the instance loader keeps its caches, relative to the root: one per data
/// folder, so a load of `accounts/` alone (`loket plan`) decodes and writes only its own.
pub const LOAD_CACHES: [(&str, &str); 2] = [
    ("accounts/", "state/cache/accounts-v1.bin"),
    ("requests/", "state/cache/requests-v1.bin"),
];
/// The accounts' cache (the first of [`LOAD_CACHES`]).
pub const LOAD_CACHE: &str = LOAD_CACHES[0].1;
/// The one-file cache of earlier builds: removed when the caches are written, as it
/// holds personal data nothing reads any more.
pub const LEGACY_LOAD_CACHE: &str = "state/cache/load-v1.bin";
/// Where `records/` are cached, relative to the root. The version names the layout
/// of `record_cache`'s mirror types: v2 added `StepRecord.acting`, v3
/// `Progress.letter`, v4 `Progress.follow_up_pr`, `Outcome::Done` and
/// `EventKind::Repaired`.
pub const RECORDS_CACHE: &str = "state/cache/records-v4.bin";

const MAGIC: [u8; 8] = *b"loketpc\n";
/// Bump when the layout of [`Header`] or an entry changes in a way the binary
/// identity would not catch (it always would today; this is belt and braces).
const FORMAT: u32 = 1;
/// How close to the run's start a file's times may be before it is not trusted.
pub const RACY: Duration = Duration::from_secs(2);

static DISABLED: AtomicBool = AtomicBool::new(false);

/// Turns the cache off for this process (`loket --no-cache`).
pub fn disable() {
    DISABLED.store(true, Ordering::Relaxed);
}

/// Whether the cache is on: not turned off by [`disable`] or `LOKET_NO_CACHE`
/// (any value but empty, `0` or `false`).
pub fn enabled() -> bool {
    if DISABLED.load(Ordering::Relaxed) {
        return false;
    }
    std::env::var("LOKET_NO_CACHE").map_or(true, |v| matches!(v.as_str(), "" | "0" | "false"))
}

/// What identifies a file's version without reading it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatKey {
    pub len: u64,
    pub mtime: Stamp,
    pub ctime: Stamp,
    pub inode: u64,
}

impl StatKey {
    pub fn of(meta: &std::fs::Metadata) -> Self {
        use std::os::unix::fs::MetadataExt;
        StatKey {
            len: meta.len(),
            mtime: Stamp(meta.mtime(), meta.mtime_nsec()),
            ctime: Stamp(meta.ctime(), meta.ctime_nsec()),
            inode: meta.ino(),
        }
    }

    /// Whether the file was last changed early enough before `start` (a run's start)
    /// that any later change must show in its times.
    pub fn settled_before(&self, start: Stamp) -> bool {
        let limit = start.minus(RACY);
        self.mtime < limit && self.ctime < limit
    }
}

/// Seconds and nanoseconds since the Unix epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Stamp(pub i64, pub i64);

impl Stamp {
    pub fn now() -> Self {
        let d = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        Stamp(d.as_secs() as i64, i64::from(d.subsec_nanos()))
    }

    fn minus(self, d: Duration) -> Self {
        let ns = self.1 - i64::from(d.subsec_nanos());
        let (s, ns) = if ns < 0 {
            (self.0 - 1, ns + 1_000_000_000)
        } else {
            (self.0, ns)
        };
        Stamp(s - d.as_secs() as i64, ns)
    }
}

/// One cached file, as read back (its path borrowed from the file's bytes).
#[derive(Debug, Deserialize)]
pub struct Entry<'a, V> {
    pub path: &'a str,
    pub key: StatKey,
    pub hash: ContentHash,
    pub value: V,
}

/// One cached file, as written: borrows its value (encodes exactly as [`Entry`]).
#[derive(Debug, Serialize)]
pub struct EntryRef<'a, V> {
    pub path: &'a str,
    pub key: StatKey,
    pub hash: ContentHash,
    pub value: V,
}

#[derive(Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Header {
    magic: [u8; 8],
    format: u32,
    binary: String,
    /// When the run that wrote it started; its entries all settled before it.
    start: Stamp,
    body_len: u64,
    body_hash: ContentHash,
}

/// The running binary, as far as a cache file needs to know: a rebuild changes it.
fn binary_identity() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let exe = std::env::current_exe().ok()?;
    let m = std::fs::metadata(&exe).ok()?;
    Some(format!(
        "{} {} {} {}.{} {}",
        env!("CARGO_PKG_VERSION"),
        exe.display(),
        m.len(),
        m.mtime(),
        m.mtime_nsec(),
        m.ino()
    ))
}

#[derive(Debug, Error)]
pub enum CacheError {
    #[error("cannot identify the running binary")]
    NoIdentity,
    #[error("cannot encode the cache: {0}")]
    Encode(#[from] postcard::Error),
    #[error("cannot write {path}: {source}")]
    Write {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// The bytes of the cache file at `path`, if it can be read; see [`decode`].
/// A link, FIFO or device in its place is a miss (never followed, never waited on);
/// [`write`] then replaces it.
pub fn read_file(path: &Path) -> Option<Vec<u8>> {
    super::regular::read(path).ok()
}

/// The entries of a cache file, sorted by path as written. Anything foreign (another
/// binary, another format) or corrupt decodes as empty.
pub fn decode<V: DeserializeOwned>(bytes: &[u8]) -> Vec<Entry<'_, V>> {
    binary_identity()
        .and_then(|binary| decode_as(bytes, &binary))
        .unwrap_or_default()
}

fn decode_as<'a, V: DeserializeOwned>(bytes: &'a [u8], binary: &str) -> Option<Vec<Entry<'a, V>>> {
    let (header, body) = postcard::take_from_bytes::<Header>(bytes).ok()?;
    let valid = header.magic == MAGIC
        && header.format == FORMAT
        && header.binary == binary
        && header.body_len == body.len() as u64
        && header.body_hash == crate::diag::content_hash(body);
    if !valid {
        return None;
    }
    let (mut entries, rest) = postcard::take_from_bytes::<Vec<Entry<'a, V>>>(body).ok()?;
    if !rest.is_empty() {
        return None;
    }
    // Trust only what had settled when it was written (a writer bug or a clock set
    // back must not let a racy entry through).
    entries.retain(|e| e.key.settled_before(header.start));
    Some(entries)
}

/// What the cache knows of one file, once matched to it by path.
#[derive(Debug)]
pub struct Known<V> {
    pub key: StatKey,
    pub hash: ContentHash,
    pub value: V,
}

/// The entry of each of `paths` (sorted), by a merge with the sorted entries. The
/// result borrows nothing, so the cache file's bytes can be freed before the values
/// are used.
pub fn align<'p, V>(
    paths: impl Iterator<Item = &'p str>,
    entries: Vec<Entry<'_, V>>,
) -> Vec<Option<Known<V>>> {
    let mut entries = entries.into_iter().peekable();
    paths
        .map(|rel| {
            while let Some(e) = entries.peek() {
                match e.path.cmp(rel) {
                    std::cmp::Ordering::Less => {
                        entries.next();
                    }
                    std::cmp::Ordering::Equal => {
                        return entries.next().map(|e| Known {
                            key: e.key,
                            hash: e.hash,
                            value: e.value,
                        });
                    }
                    std::cmp::Ordering::Greater => return None,
                }
            }
            None
        })
        .collect()
}

/// Writes `entries` (sorted by path) to `path` atomically. `start` is when this run
/// started; the caller stores only entries settled before it.
pub fn write<V: Serialize>(
    path: &Path,
    start: Stamp,
    entries: &[EntryRef<'_, V>],
) -> Result<(), CacheError> {
    let binary = binary_identity().ok_or(CacheError::NoIdentity)?;
    let bytes = encode(&binary, start, entries)?;
    let err = |source| CacheError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = path.parent().unwrap_or(Path::new("."));
    // Caches sit at `<root>/state/cache/`: a link at either folder would send personal
    // data wherever it points. (The rename below replaces a link at the file itself.)
    for d in [Some(dir), dir.parent()].into_iter().flatten() {
        if let Ok(m) = std::fs::symlink_metadata(d)
            && !m.is_dir()
        {
            return Err(err(std::io::Error::other(super::regular::NotRegular(
                super::regular::Node::of(m.file_type()).unwrap_or(super::regular::Node::Unknown),
            ))));
        }
    }
    std::fs::create_dir_all(dir).map_err(err)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).map_err(err)?;
    std::io::Write::write_all(&mut tmp, &bytes).map_err(err)?;
    tmp.persist(path).map_err(|e| err(e.error))?;
    Ok(())
}

fn encode<V: Serialize>(
    binary: &str,
    start: Stamp,
    entries: &[EntryRef<'_, V>],
) -> Result<Vec<u8>, CacheError> {
    let body = postcard::to_stdvec(entries)?;
    let header = Header {
        magic: MAGIC,
        format: FORMAT,
        binary: binary.to_string(),
        start,
        body_len: body.len() as u64,
        body_hash: crate::diag::content_hash(&body),
    };
    let mut bytes = postcard::to_stdvec(&header)?;
    bytes.extend_from_slice(&body);
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(secs: i64) -> StatKey {
        StatKey {
            len: 3,
            mtime: Stamp(secs, 5),
            ctime: Stamp(secs, 7),
            inode: 42,
        }
    }

    fn sample() -> Vec<u8> {
        let entries = [
            EntryRef {
                path: "a",
                key: key(100),
                hash: [1; 32],
                value: "one".to_string(),
            },
            EntryRef {
                path: "b",
                key: key(200),
                hash: [2; 32],
                value: "two".to_string(),
            },
        ];
        encode("me", Stamp(1000, 0), &entries).unwrap()
    }

    #[test]
    fn round_trip() {
        let bytes = sample();
        let back: Vec<Entry<String>> = decode_as(&bytes, "me").unwrap();
        assert_eq!(back.len(), 2);
        assert_eq!(back[1].path, "b");
        assert_eq!(back[1].key, key(200));
        assert_eq!(back[1].hash, [2; 32]);
        assert_eq!(back[1].value, "two");
    }

    #[test]
    fn another_binary_truncation_or_a_flipped_bit_reads_as_nothing() {
        let bytes = sample();
        assert!(decode_as::<String>(&bytes, "someone else").is_none());
        for cut in [0, 1, 10, bytes.len() / 2, bytes.len() - 1] {
            assert!(
                decode_as::<String>(&bytes[..cut], "me").is_none(),
                "cut {cut}"
            );
        }
        // A flipped bit in a value: still valid postcard, caught by the checksum.
        let mut flipped = bytes.clone();
        let at = flipped.len() - 2;
        flipped[at] ^= 1;
        assert!(decode_as::<String>(&flipped, "me").is_none());
        assert!(decode_as::<String>(b"random bytes, not a cache", "me").is_none());
    }

    #[test]
    fn racy_entries_are_dropped_on_read() {
        let entries = [EntryRef {
            path: "a",
            key: key(999),
            hash: [1; 32],
            value: 1u8,
        }];
        let bytes = encode("me", Stamp(1000, 0), &entries).unwrap();
        assert!(decode_as::<u8>(&bytes, "me").unwrap().is_empty());
        // mtime 999 s + 5 ns has settled 2 s before 1001 s + 6 ns; ctime (+7 ns) not.
        let bytes = encode("me", Stamp(1001, 6), &entries).unwrap();
        assert!(decode_as::<u8>(&bytes, "me").unwrap().is_empty());
        let bytes = encode("me", Stamp(1001, 8), &entries).unwrap();
        assert_eq!(decode_as::<u8>(&bytes, "me").unwrap().len(), 1);
    }

    #[test]
    fn stamp_arithmetic_borrows_nanoseconds() {
        assert_eq!(
            Stamp(10, 5).minus(Duration::from_millis(1)),
            Stamp(9, 999_000_005)
        );
        assert_eq!(Stamp(10, 5).minus(RACY), Stamp(8, 5));
    }
}
