//! Output: where rendered files go. [`DirWriter`] brings the copy of the site that
//! is not published (see [`super::copies`]) up to date, writing only the files whose
//! bytes differ from what that copy holds (it knows from its manifest, without
//! reading the copy back) and deleting those no longer produced, then publishes it
//! with one atomic swap. A failed or interrupted build never touches the published
//! copy; it leaves the other one without a manifest, so the next build rewrites it.

use std::collections::BTreeMap;
use std::fs;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use indicatif::ProgressBar;

use super::SiteError;
use super::copies::{Copies, clone_published, remove_file, replace_file};
use super::manifest::{self, Encoder, Hash, Manifest, Table};
use super::public::PublicTicket;
use super::summaries::{self, Saved};

/// Where rendered files go. `path` is relative, with `/` separators.
pub trait Sink: Sync {
    /// Stores a file; true when it equals the one already there.
    fn put(&self, path: &str, bytes: &[u8]) -> Result<bool, SiteError>;

    /// Keeps the file at `path` as it is, without rendering it again; only when it
    /// was rendered with the same build fingerprint. False when it cannot.
    fn reuse(&self, _path: &str) -> Result<bool, SiteError> {
        Ok(false)
    }

    /// Keeps a ticket's files as they are when they are already there as made from
    /// the same inputs (`key`) with the same build fingerprint; false when they must
    /// be made.
    fn unchanged(&self, _ticket: &str, _key: &Hash, _paths: &[&str]) -> bool {
        false
    }

    /// Notes the inputs a ticket's files were just made from.
    fn made_from(&self, _ticket: &str, _key: &Hash) {}
}

/// Keeps everything in memory (tests, small sites).
#[derive(Default)]
pub struct MemorySink(pub Mutex<BTreeMap<String, Vec<u8>>>);

impl Sink for MemorySink {
    fn put(&self, path: &str, bytes: &[u8]) -> Result<bool, SiteError> {
        let mut m = self.0.lock().unwrap_or_else(|e| e.into_inner());
        Ok(m.insert(path.to_string(), bytes.to_vec())
            .is_some_and(|old| old == bytes))
    }
}

impl MemorySink {
    pub fn into_files(self) -> BTreeMap<String, Vec<u8>> {
        self.0.into_inner().unwrap_or_else(|e| e.into_inner())
    }
}

/// How many files were written anew, kept as they were, and deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WriteStats {
    pub written: usize,
    pub kept: usize,
    pub removed: usize,
}

/// Updates the unpublished copy, then swaps it in with [`finish`].
///
/// What the build produces is noted cheaply, as it happens on many threads for every
/// file: a flag per entry of the old manifest that stays as it was, and a list (under
/// a lock) only of what is new or changed. [`finish`] merges the two in one pass over
/// the sorted old manifest, deleting what was not produced.
///
/// [`finish`]: DirWriter::finish
pub struct DirWriter {
    copies: Copies,
    /// The copy being updated.
    dir: PathBuf,
    /// What it held before this build.
    old: Manifest,
    /// Per file of `old`: produced again, with the same bytes.
    kept_files: Vec<AtomicBool>,
    /// Per ticket of `old`: its files made again from the same inputs.
    kept_keys: Vec<AtomicBool>,
    /// Files produced that `old` lacks or holds with other bytes.
    new_files: Mutex<Vec<(String, Hash)>>,
    /// Tickets whose inputs `old` lacks or records otherwise.
    new_keys: Mutex<Vec<(String, Hash)>>,
    /// What this build is made from, for the new manifest.
    input: Mutex<Option<String>>,
    /// The summaries as read when opened, until [`DirWriter::load_summaries`].
    saved: Mutex<Option<Saved>>,
    /// The summaries file as loaded, to copy from when saving.
    loaded: Mutex<summaries::Loaded>,
    fingerprint: String,
    written: AtomicUsize,
    /// None when hidden: then not even counted, as it is touched for every file.
    progress: Option<ProgressBar>,
}

fn write_err(path: &Path, source: std::io::Error) -> SiteError {
    SiteError::Write {
        path: path.to_path_buf(),
        source,
    }
}

fn flags(n: usize) -> Vec<AtomicBool> {
    (0..n).map(|_| AtomicBool::new(false)).collect()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl DirWriter {
    /// Opens the copies behind `out` (refusing a directory loket did not make) and
    /// readies the unpublished one. `fingerprint` identifies what pages depend on
    /// besides their own data (see [`super::render::fingerprint`]).
    pub fn new(
        out: &Path,
        progress: ProgressBar,
        fingerprint: &str,
    ) -> Result<DirWriter, SiteError> {
        let copies = Copies::open(out)?;
        let dir = copies.inactive();
        let manifest_path = copies.inactive_manifest();
        let summaries_path = copies.state_file(summaries::FILE);
        // The summaries are read meanwhile: every build needs them next.
        let (old, preloaded) = rayon::join(
            || -> Result<Manifest, SiteError> {
                let old = dir
                    .is_dir()
                    .then(|| Manifest::read(&manifest_path))
                    .flatten();
                match old {
                    Some(m) => Ok(m),
                    None => {
                        // Unknown content (an interrupted build, or none yet): start
                        // clean, from the published copy when there is one.
                        if fs::symlink_metadata(&dir).is_ok() {
                            fs::remove_dir_all(&dir).map_err(|e| write_err(&dir, e))?;
                        }
                        clone_published(&copies, &dir)
                    }
                }
            },
            || summaries::load_keeping(&summaries_path, fingerprint),
        );
        let old = old?;
        let (saved, loaded) = preloaded;
        // The copy is about to change: until the new manifest is written, none.
        match fs::remove_file(&manifest_path) {
            Err(e) if e.kind() != ErrorKind::NotFound => {
                return Err(write_err(&manifest_path, e));
            }
            _ => {}
        }
        fs::create_dir_all(&dir).map_err(|e| write_err(&dir, e))?;
        Ok(DirWriter {
            copies,
            dir,
            kept_files: flags(old.files.len()),
            kept_keys: flags(old.keys.len()),
            new_files: Mutex::new(Vec::new()),
            new_keys: Mutex::new(Vec::new()),
            input: Mutex::new(None),
            loaded: Mutex::new(loaded),
            saved: Mutex::new(Some(saved)),
            old,
            fingerprint: fingerprint.to_string(),
            written: AtomicUsize::new(0),
            progress: (!progress.is_hidden()).then_some(progress),
        })
    }

    /// Sizes the progress bar: the number of files the build will produce, roughly.
    pub fn set_progress_length(&self, files: u64) {
        if let Some(p) = &self.progress {
            p.set_length(files);
        }
    }

    /// What the copy being updated was built from, by its manifest when opened (the
    /// published copy's when it was started again from that one); None when unknown.
    pub fn old_input(&self) -> Option<&str> {
        self.old.input.as_deref()
    }

    /// The build fingerprint of what the copy being updated holds ("" when nothing).
    pub fn old_fingerprint(&self) -> &str {
        &self.old.fingerprint
    }

    /// What this build is made from, written into the new manifest by `finish`.
    pub fn set_input(&self, input: Option<String>) {
        *lock(&self.input) = input;
    }

    /// What the previous build with this fingerprint saved (read when the writer
    /// was opened).
    pub fn load_summaries(&self) -> Saved {
        if let Some(saved) = lock(&self.saved).take() {
            return saved;
        }
        let path = self.copies.state_file(summaries::FILE);
        let (saved, loaded) = summaries::load_keeping(&path, &self.fingerprint);
        *lock(&self.loaded) = loaded;
        saved
    }

    /// Keeps the summaries of this build's tickets (sorted) for the next one, with
    /// the tree they were built from (`--rev`) and the records no ticket lists.
    pub fn save_summaries(
        &self,
        input: Option<&str>,
        tickets: &[PublicTicket],
        unlisted: &[(String, String)],
    ) -> Result<(), SiteError> {
        let loaded = std::mem::take(&mut *lock(&self.loaded));
        let path = self.copies.state_file(summaries::FILE);
        summaries::save_tickets(&path, &self.fingerprint, input, tickets, unlisted, &loaded)
    }

    fn advance(&self, files: usize) {
        if let Some(p) = &self.progress {
            p.inc(files as u64);
        }
    }

    /// Notes that the build produced `path` with content `hash`.
    fn record(&self, path: &str, hash: Hash) {
        match self.old.files.find(path) {
            Some(i) if *self.old.files.hash(i) == hash => {
                self.kept_files[i].store(true, Ordering::Relaxed);
            }
            _ => lock(&self.new_files).push((path.to_string(), hash)),
        }
    }

    /// Deletes what this build no longer produces, writes the copy's manifest and
    /// publishes the copy.
    pub fn finish(self) -> Result<WriteStats, SiteError> {
        let mut new_files = self
            .new_files
            .into_inner()
            .unwrap_or_else(|e| e.into_inner());
        let mut new_keys = self
            .new_keys
            .into_inner()
            .unwrap_or_else(|e| e.into_inner());
        manifest::sort_last_wins(&mut new_files);
        manifest::sort_last_wins(&mut new_keys);
        let input = self.input.into_inner().unwrap_or_else(|e| e.into_inner());
        let (old, dir) = (&self.old, &self.dir);
        let mut out = Encoder::new(&self.fingerprint, input.as_deref(), old.files.len());
        let mut removed = 0;
        merge(&old.files, &self.kept_files, &new_files, |entry| {
            match entry {
                Merged::Keep(path, h) => out.file(path, h),
                Merged::Drop(path) => {
                    remove_file(dir, path)?;
                    removed += 1;
                }
            }
            Ok(())
        })?;
        merge(&old.keys, &self.kept_keys, &new_keys, |entry| {
            if let Merged::Keep(ticket, h) = entry {
                out.key(ticket, h);
            }
            Ok(())
        })?;
        out.write(&self.copies.inactive_manifest())?;
        self.copies.swap()?;
        if let Some(p) = &self.progress {
            p.finish_and_clear();
        }
        // Every file kept as it was has its flag set, and only those.
        let kept = self
            .kept_files
            .iter()
            .filter(|k| k.load(Ordering::Relaxed))
            .count();
        Ok(WriteStats {
            written: self.written.load(Ordering::Relaxed),
            kept,
            removed,
        })
    }
}

/// One entry of the new manifest, or one of the old that is gone.
enum Merged<'a> {
    Keep(&'a str, &'a Hash),
    Drop(&'a str),
}

/// Walks the old table (with its kept flags) and the sorted new entries together, in
/// name order: a new entry wins over an old one of the same name, and an old one
/// neither kept nor replaced is dropped.
fn merge<'a>(
    old: &'a Table,
    kept: &[AtomicBool],
    new: &'a [(String, Hash)],
    mut f: impl FnMut(Merged<'a>) -> Result<(), SiteError>,
) -> Result<(), SiteError> {
    let mut new = new.iter().peekable();
    for (i, (name, h)) in old.iter().enumerate() {
        while let Some((n, nh)) = new.next_if(|(n, _)| n.as_str() < name) {
            f(Merged::Keep(n, nh))?;
        }
        if let Some((n, nh)) = new.next_if(|(n, _)| n == name) {
            f(Merged::Keep(n, nh))?;
        } else if kept[i].load(Ordering::Relaxed) {
            f(Merged::Keep(name, h))?;
        } else {
            f(Merged::Drop(name))?;
        }
    }
    for (n, nh) in new {
        f(Merged::Keep(n, nh))?;
    }
    Ok(())
}

impl Sink for DirWriter {
    fn put(&self, path: &str, bytes: &[u8]) -> Result<bool, SiteError> {
        let hash = manifest::hash(bytes);
        let held = self.old.files.find(path);
        let same = held.is_some_and(|i| *self.old.files.hash(i) == hash);
        if !same {
            replace_file(&self.dir.join(path), bytes, held.is_some())?;
            self.written.fetch_add(1, Ordering::Relaxed);
        }
        self.record(path, hash);
        self.advance(1);
        Ok(same)
    }

    fn reuse(&self, path: &str) -> Result<bool, SiteError> {
        if self.old.fingerprint != self.fingerprint {
            return Ok(false);
        }
        let Some(i) = self.old.files.find(path) else {
            return Ok(false);
        };
        self.kept_files[i].store(true, Ordering::Relaxed);
        self.advance(1);
        Ok(true)
    }

    fn unchanged(&self, ticket: &str, key: &Hash, paths: &[&str]) -> bool {
        if self.old.fingerprint != self.fingerprint {
            return false;
        }
        let Some(k) = self.old.keys.find(ticket) else {
            return false;
        };
        if self.old.keys.hash(k) != key {
            return false;
        }
        let Some(found) = paths
            .iter()
            .map(|p| self.old.files.find(p))
            .collect::<Option<Vec<_>>>()
        else {
            return false;
        };
        for i in found {
            self.kept_files[i].store(true, Ordering::Relaxed);
        }
        self.kept_keys[k].store(true, Ordering::Relaxed);
        self.advance(paths.len());
        true
    }

    fn made_from(&self, ticket: &str, key: &Hash) {
        match self.old.keys.find(ticket) {
            Some(k) if self.old.keys.hash(k) == key => {
                self.kept_keys[k].store(true, Ordering::Relaxed);
            }
            _ => lock(&self.new_keys).push((ticket.to_string(), *key)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open(out: &Path, fp: &str) -> DirWriter {
        DirWriter::new(out, ProgressBar::hidden(), fp).unwrap()
    }

    #[test]
    fn keeps_deletes_and_records_the_input() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("public");
        let w = open(&out, "fp");
        assert_eq!((w.old_input(), w.old_fingerprint()), (None, ""));
        for p in ["index.html", "t/A/index.html", "t/B/index.html"] {
            assert!(!w.put(p, p.as_bytes()).unwrap());
        }
        w.made_from("A", &manifest::hash(b"a"));
        w.set_input(Some("tree1".into()));
        assert_eq!(w.finish().unwrap().written, 3);

        // The other copy starts from the published one, and so does its manifest.
        let w = open(&out, "fp");
        assert_eq!((w.old_input(), w.old_fingerprint()), (Some("tree1"), "fp"));
        assert!(w.unchanged("A", &manifest::hash(b"a"), &["t/A/index.html"]));
        assert!(w.put("index.html", b"index.html").unwrap());
        assert!(!w.put("t/C/index.html", b"c").unwrap());
        let stats = w.finish().unwrap();
        assert_eq!((stats.written, stats.kept, stats.removed), (1, 2, 1));
        assert!(!out.join("t/B").exists());
        assert_eq!(fs::read(out.join("t/C/index.html")).unwrap(), b"c");

        // The copy updated next is the first one, as the first build left it.
        let w = open(&out, "fp");
        assert_eq!(w.old_input(), Some("tree1"));
        let names: Vec<&str> = w.old.files.iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["index.html", "t/A/index.html", "t/B/index.html"]);
        w.finish().unwrap();
        let w = open(&out, "fp");
        assert_eq!(w.old_input(), None);
        let names: Vec<&str> = w.old.files.iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["index.html", "t/A/index.html", "t/C/index.html"]);
        assert!(w.unchanged("A", &manifest::hash(b"a"), &["t/A/index.html"]));
    }
}
