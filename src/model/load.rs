//! Reading an instance from disk: walk `loket.toml`, `requests/` and `accounts/`,
//! stat every file, and read and parse only what the parse cache ([`super::cache`])
//! does not already hold. File order and ids are the same with or without the cache.

use std::path::{Path, PathBuf};

use rayon::prelude::*;

use super::cache::{self, EntryRef, Known, Stamp, StatKey};
use super::regular::{self, Node};
use super::{
    ACCOUNTS_DIR, CONFIG_FILE, Cached, CachedRef, FailureKind, Instance, LoadError, ParseFailure,
    Parsed, Place, REQUESTS_DIR, parse_one, place_of,
};
use crate::diag::{FileId, SourceFile, content_hash};

/// One file after stat (and, on a cache miss, read and parse).
struct Slot {
    file: SourceFile,
    parsed: Parsed,
    /// Offset of the first invalid byte, for files that are not UTF-8.
    not_utf8: Option<usize>,
    /// Set for files that may be stored in the cache.
    key: Option<StatKey>,
    /// Its cache entry matched by stat: neither read nor parsed.
    hit: bool,
}

pub(super) fn load(root: &Path, use_cache: bool) -> Result<Instance, LoadError> {
    load_scoped(root, use_cache, true)
}

/// [`load`], with or without `requests/`. Each data folder has its own cache file
/// ([`cache::LOAD_CACHES`]), read and rewritten only when that folder is loaded.
pub(super) fn load_scoped(
    root: &Path,
    use_cache: bool,
    with_requests: bool,
) -> Result<Instance, LoadError> {
    let start = Stamp::now();
    let parts: Vec<(&str, PathBuf)> = cache::LOAD_CACHES
        .iter()
        .filter(|(dir, _)| with_requests || !dir.starts_with(REQUESTS_DIR))
        .map(|(dir, file)| (*dir, root.join(file)))
        .collect();
    // Decoding the caches and walking the tree take about as long; do both at once.
    let bytes: Vec<Option<Vec<u8>>> = parts
        .iter()
        .map(|(_, file)| use_cache.then(|| cache::read_file(file)).flatten())
        .collect();
    let (paths, decoded) = rayon::join(
        || walk(root, with_requests),
        || {
            bytes
                .par_iter()
                .map(|b| {
                    b.as_deref()
                        .map(cache::decode::<Cached>)
                        .unwrap_or_default()
                })
                .collect::<Vec<_>>()
        },
    );
    let mut paths = paths?;
    paths.par_sort_unstable_by(|a, b| a.rel.cmp(&b.rel));
    if !paths.iter().any(|f| f.rel == CONFIG_FILE) {
        return Err(LoadError::NotAnInstance(root.to_path_buf()));
    }
    let old_lens: Vec<usize> = decoded.iter().map(Vec::len).collect();
    // The parts' folders sort apart ("accounts/" < "requests/"): one sorted list.
    let mut old: Vec<_> = decoded.into_iter().flatten().collect();
    old.sort_by(|a, b| a.path.cmp(b.path));
    let old = cache::align(paths.iter().map(|f| f.rel.as_str()), old);
    // 70 MB on 210k files: freed before the load allocates the instance, which reuses it.
    drop(bytes);
    let slots: Vec<Slot> = paths
        .into_par_iter()
        .zip(old)
        .enumerate()
        .map(|(id, (found, old))| load_one(id, found, old, start))
        .collect::<Result<_, _>>()?;

    // Per part: rewrite only when something changed; an unchanged run costs no write.
    let changed: Vec<bool> = parts
        .iter()
        .zip(&old_lens)
        .map(|((dir, _), old_len)| {
            let mine = slots.iter().filter(|s| s.file.path.starts_with(dir));
            let (mut hits, mut fresh) = (0, 0);
            for s in mine {
                hits += usize::from(s.hit);
                fresh += usize::from(!s.hit && s.key.is_some());
            }
            fresh > 0 || hits != *old_len
        })
        .collect();
    let not_utf8: Vec<(FileId, usize)> = slots
        .iter()
        .enumerate()
        .filter_map(|(id, s)| Some((id, s.not_utf8?)))
        .collect();
    let keys: Vec<Option<StatKey>> = slots.iter().map(|s| s.key).collect();
    let mut inst = Instance::assemble(
        root,
        slots.into_iter().map(|s| (s.file, s.parsed)).collect(),
    );
    inst.refuse_not_utf8(&not_utf8);
    inst.requests_skipped = !with_requests;

    if use_cache && changed.contains(&true) {
        let mut all = entries(&inst, &keys);
        for ((dir, file), changed) in parts.iter().zip(&changed) {
            let (mine, rest): (Vec<_>, Vec<_>) =
                all.into_iter().partition(|e| e.path.starts_with(dir));
            all = rest;
            if *changed {
                // Best effort: an unwritable state/ only means the next run parses again.
                let _ = cache::write(file, start, &mine);
            }
        }
        let _ = std::fs::remove_file(root.join(cache::LEGACY_LOAD_CACHE));
    }
    Ok(inst)
}

/// A file found by [`walk`]: relative (`/`-separated) and full path, and its stat
/// (`lstat`: of a link itself, never of what it points to).
struct Found {
    rel: String,
    abs: PathBuf,
    key: StatKey,
    /// Not a regular file: refused, never opened.
    refused: Option<Node>,
}

impl Found {
    fn new(rel: String, abs: PathBuf, meta: &std::fs::Metadata) -> Self {
        Found {
            rel,
            abs,
            key: StatKey::of(meta),
            refused: Node::of(meta.file_type()),
        }
    }
}

/// `loket.toml`, `requests/**` and `accounts/**`, stat'ed, unsorted. Each data folder
/// is walked on its own thread, and each file stat'ed relative to its directory's
/// open handle (`DirEntry::metadata`), which halved the kernel's share of a warm load
/// compared with stat'ing full paths: with the parse cache, walking and stat'ing is
/// most of what a load does.
fn walk(root: &Path, with_requests: bool) -> Result<Vec<Found>, LoadError> {
    let io = |path: &Path, source| LoadError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut found = Vec::new();
    let config = root.join(CONFIG_FILE);
    // Any node named loket.toml makes an instance; one not a regular file is refused.
    match std::fs::symlink_metadata(&config) {
        Ok(meta) => found.push(Found::new(CONFIG_FILE.to_string(), config, &meta)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(&config, e)),
    }
    let (requests, accounts) = rayon::join(
        || {
            if with_requests {
                walk_dir(root, REQUESTS_DIR)
            } else {
                Ok(Vec::new())
            }
        },
        || walk_dir(root, ACCOUNTS_DIR),
    );
    found.extend(requests?);
    found.extend(accounts?);
    Ok(found)
}

/// Every file under `root/rel`. Links are never followed: a link, FIFO, socket or
/// device (at the folder itself too) is listed refused, so it is reported rather
/// than silently leaving accounts out of the check.
fn walk_dir(root: &Path, rel: &str) -> Result<Vec<Found>, LoadError> {
    let mut found = Vec::new();
    let dir = root.join(rel);
    match std::fs::symlink_metadata(&dir) {
        Ok(meta) if meta.is_dir() => walk_into(&dir, rel, &mut found)?,
        // A plain file where the folder belongs holds no data, as before.
        Ok(meta) if meta.is_file() => {}
        Ok(meta) => found.push(Found::new(rel.to_string(), dir, &meta)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => return Err(LoadError::Io { path: dir, source }),
    }
    Ok(found)
}

fn walk_into(dir: &Path, rel: &str, found: &mut Vec<Found>) -> Result<(), LoadError> {
    let io = |source| LoadError::Io {
        path: dir.to_path_buf(),
        source,
    };
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let entry = entry.map_err(io)?;
        let file_type = entry.file_type().map_err(io)?;
        let child = format!("{rel}/{}", entry.file_name().to_string_lossy());
        if file_type.is_dir() {
            walk_into(&entry.path(), &child, found)?;
        } else {
            let abs = entry.path();
            // `DirEntry::metadata` does not follow links (fstatat, AT_SYMLINK_NOFOLLOW).
            let meta = entry.metadata().map_err(|source| LoadError::Io {
                path: abs.clone(),
                source,
            })?;
            found.push(Found::new(child, abs, &meta));
        }
    }
    Ok(())
}

/// A file refused unread: empty text, so no diagnostic can show any of it.
fn refused(id: FileId, rel: String, node: Node) -> Slot {
    Slot {
        parsed: Parsed::Failed(ParseFailure {
            file: id,
            span: 0..0,
            message: format!("{rel} is {node}: loket reads only regular files inside the instance"),
            kind: FailureKind::NotRegular,
        }),
        file: SourceFile::new(PathBuf::from(rel), String::new()),
        not_utf8: None,
        key: None,
        hit: false,
    }
}

fn load_one(
    id: FileId,
    Found {
        rel,
        abs,
        key,
        refused: node,
    }: Found,
    old: Option<Known<Cached>>,
    start: Stamp,
) -> Result<Slot, LoadError> {
    if let Some(node) = node {
        return Ok(refused(id, rel, node));
    }
    let place = place_of(&rel);
    // Only data files are cached; the few others are always read.
    let cacheable = matches!(
        place,
        Place::Request | Place::MailAccount | Place::ServerAccount
    );
    let old = match old.filter(|e| cacheable && fits(place, &e.value)) {
        Some(e) if e.key == key => {
            return Ok(Slot {
                file: SourceFile::lazy(PathBuf::from(rel), abs, e.hash),
                parsed: Parsed::Cached(e.value),
                not_utf8: None,
                key: Some(key),
                hit: true,
            });
        }
        old => old,
    };
    let bytes = match regular::read(&abs) {
        Ok(bytes) => bytes,
        // Swapped for a link or FIFO since the walk: refused all the same.
        Err(e) => match regular::refused(&e) {
            Some(node) => return Ok(refused(id, rel, node)),
            None => {
                return Err(LoadError::Io {
                    path: abs,
                    source: e,
                });
            }
        },
    };
    let hash = content_hash(&bytes);
    let (text, not_utf8) = match String::from_utf8(bytes) {
        Ok(text) => (text, None),
        // Read lossily so a diagnostic can still show it; refused after parsing.
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            (String::from_utf8_lossy(e.as_bytes()).into_owned(), Some(at))
        }
    };
    let parsed = match old {
        // Touched but not changed (a checkout, `touch`): the parse still holds.
        Some(e) if e.hash == hash && not_utf8.is_none() => Parsed::Cached(e.value),
        _ => parse_one(id, place, &text),
    };
    let storable = cacheable
        && not_utf8.is_none()
        && matches!(parsed, Parsed::Cached(_))
        && key.settled_before(start);
    Ok(Slot {
        file: SourceFile::with_hash(PathBuf::from(rel), text, hash),
        parsed,
        not_utf8,
        key: storable.then_some(key),
        hit: false,
    })
}

/// Whether a cached value is of the kind a file's place calls for (always, for a cache
/// this binary wrote; checked so no other path could ever mix them up).
fn fits(place: Place, value: &Cached) -> bool {
    matches!(
        (place, value),
        (Place::Request, Cached::Request(_))
            | (Place::MailAccount, Cached::Mail(_))
            | (Place::ServerAccount, Cached::Server(_))
    )
}

/// The cache entries of a loaded instance, sorted by path: every parsed data file
/// whose stat `keys` holds.
fn entries<'a>(inst: &'a Instance, keys: &[Option<StatKey>]) -> Vec<EntryRef<'a, CachedRef<'a>>> {
    let mut values: Vec<(FileId, CachedRef<'a>)> = Vec::with_capacity(keys.len());
    values.extend(
        inst.requests
            .iter()
            .map(|r| (r.file, CachedRef::Request(&r.value))),
    );
    values.extend(
        inst.mail_accounts
            .iter()
            .map(|a| (a.file, CachedRef::Mail(&a.value))),
    );
    values.extend(
        inst.server_accounts
            .iter()
            .map(|a| (a.file, CachedRef::Server(&a.value))),
    );
    values.sort_unstable_by_key(|(id, _)| *id);
    values
        .into_iter()
        .filter_map(|(id, value)| {
            let f = inst.sources.get(id);
            Some(EntryRef {
                path: f.path.to_str()?,
                key: keys.get(id).copied().flatten()?,
                hash: f.content_hash(),
                value,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every cached type (with every optional field the bundled instance uses: dates,
    /// keys, revocations, deactivation reasons) survives postcard with equal values
    /// and equal spans (`Debug` shows both).
    #[test]
    fn cached_values_round_trip_with_spans() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let inst = Instance::load_uncached(root).unwrap();
        assert!(inst.failures.is_empty());
        let values: Vec<(String, CachedRef)> = inst
            .requests
            .iter()
            .map(|r| (format!("{:?}", r.value), CachedRef::Request(&r.value)))
            .chain(
                inst.mail_accounts
                    .iter()
                    .map(|a| (format!("{:?}", a.value), CachedRef::Mail(&a.value))),
            )
            .chain(
                inst.server_accounts
                    .iter()
                    .map(|a| (format!("{:?}", a.value), CachedRef::Server(&a.value))),
            )
            .collect();
        let debug = values.iter().map(|v| v.0.as_str()).collect::<String>();
        for needed in ["expires", "revoked_by: Some", "reason: Some", "key: Some"] {
            assert!(debug.contains(needed), "the fixture lacks {needed}");
        }
        for (before, value) in &values {
            let bytes = postcard::to_stdvec(value).unwrap();
            let back: Cached = postcard::from_bytes(&bytes).unwrap();
            let after = match back {
                Cached::Request(v) => format!("{v:?}"),
                Cached::Mail(v) => format!("{v:?}"),
                Cached::Server(v) => format!("{v:?}"),
            };
            assert_eq!(&after, before);
            assert!(before.contains("span: "), "spans are in the comparison");
        }
    }
}
