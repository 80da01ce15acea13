//! Output: where rendered files go. [`DirWriter`] builds the new site in a temporary
//! directory beside the output, then swaps it in whole, so a failed or interrupted
//! build never leaves a half-written site. A file whose content equals the one
//! already published is hard-linked from it instead of written (same inode, same
//! modification time), so only changed pages count as rewritten and syncing tools
//! that compare times upload only those.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use indicatif::ProgressBar;

use super::SiteError;

/// Marks a directory as loket's output, so it may be replaced wholesale.
pub const MARKER: &str = ".loket-site";

/// Where rendered files go. `path` is relative, with `/` separators.
pub trait Sink: Sync {
    /// Stores a file; true when it equals the one already published.
    fn put(&self, path: &str, bytes: &[u8]) -> Result<bool, SiteError>;

    /// Keeps the published file at `path` as it is, without rendering it again; only
    /// when the previous build had the same fingerprint. False when it cannot.
    fn reuse(&self, _path: &str) -> Result<bool, SiteError> {
        Ok(false)
    }
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

/// How many files were written anew and how many kept from the previous build.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WriteStats {
    pub written: usize,
    pub kept: usize,
}

/// Writes into a temporary sibling of `out`, then swaps it in with [`finish`].
///
/// [`finish`]: DirWriter::finish
pub struct DirWriter {
    out: PathBuf,
    tmp: PathBuf,
    written: AtomicUsize,
    kept: AtomicUsize,
    progress: ProgressBar,
    /// Whether the published site was built with the same fingerprint.
    same_fingerprint: bool,
}

fn write_err(path: &Path, source: std::io::Error) -> SiteError {
    SiteError::Write {
        path: path.to_path_buf(),
        source,
    }
}

/// `DIR` → `.DIR.suffix` beside it.
fn sibling(out: &Path, suffix: &str) -> PathBuf {
    let name = out
        .file_name()
        .map_or_else(|| "site".into(), |n| n.to_string_lossy().into_owned());
    out.with_file_name(format!(".{name}.{suffix}"))
}

impl DirWriter {
    /// Prepares a fresh temporary directory. Refuses an existing, non-empty `out`
    /// that a previous build did not make, as the swap would delete it.
    ///
    /// `fingerprint` identifies what the pages depend on besides their own data (see
    /// [`super::render::fingerprint`]); it is kept in the marker file.
    pub fn new(
        out: &Path,
        progress: ProgressBar,
        fingerprint: &str,
    ) -> Result<DirWriter, SiteError> {
        if out.exists() {
            let empty = fs::read_dir(out)
                .map_err(|e| write_err(out, e))?
                .next()
                .is_none();
            if !empty && !out.join(MARKER).is_file() {
                return Err(SiteError::NotASite(out.to_path_buf()));
            }
        }
        if let Some(parent) = out.parent().filter(|p| !p.as_os_str().is_empty()) {
            fs::create_dir_all(parent).map_err(|e| write_err(parent, e))?;
        }
        let tmp = sibling(out, "loket-tmp");
        if tmp.exists() {
            fs::remove_dir_all(&tmp).map_err(|e| write_err(&tmp, e))?;
        }
        fs::create_dir_all(&tmp).map_err(|e| write_err(&tmp, e))?;
        let marker = format!("loket status site\nfingerprint {fingerprint}\n");
        let same_fingerprint = fs::read(out.join(MARKER)).is_ok_and(|m| m == marker.as_bytes());
        let w = DirWriter {
            out: out.to_path_buf(),
            tmp,
            written: AtomicUsize::new(0),
            kept: AtomicUsize::new(0),
            progress,
            same_fingerprint,
        };
        w.put(MARKER, marker.as_bytes())?;
        Ok(w)
    }

    /// Swaps the new site in and removes the old one.
    pub fn finish(self) -> Result<WriteStats, SiteError> {
        let old = sibling(&self.out, "loket-old");
        if old.exists() {
            fs::remove_dir_all(&old).map_err(|e| write_err(&old, e))?;
        }
        if self.out.exists() {
            fs::rename(&self.out, &old).map_err(|e| write_err(&self.out, e))?;
        }
        fs::rename(&self.tmp, &self.out).map_err(|e| write_err(&self.out, e))?;
        if old.exists() {
            fs::remove_dir_all(&old).map_err(|e| write_err(&old, e))?;
        }
        self.progress.finish_and_clear();
        Ok(WriteStats {
            written: self.written.load(Ordering::Relaxed),
            kept: self.kept.load(Ordering::Relaxed),
        })
    }
}

impl Drop for DirWriter {
    fn drop(&mut self) {
        // After a failed build; after `finish` the directory is already gone.
        let _ = fs::remove_dir_all(&self.tmp);
    }
}

impl Sink for DirWriter {
    fn put(&self, path: &str, bytes: &[u8]) -> Result<bool, SiteError> {
        let dest = self.tmp.join(path);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(|e| write_err(parent, e))?;
        }
        let current = self.out.join(path);
        let same = fs::metadata(&current).is_ok_and(|m| m.len() == bytes.len() as u64)
            && fs::read(&current).is_ok_and(|old| old == bytes);
        let kept = same && fs::hard_link(&current, &dest).is_ok();
        if kept {
            self.kept.fetch_add(1, Ordering::Relaxed);
        } else {
            fs::write(&dest, bytes).map_err(|e| write_err(&dest, e))?;
            self.written.fetch_add(1, Ordering::Relaxed);
        }
        self.progress.inc(1);
        Ok(same)
    }

    fn reuse(&self, path: &str) -> Result<bool, SiteError> {
        if !self.same_fingerprint {
            return Ok(false);
        }
        let dest = self.tmp.join(path);
        if let Some(parent) = dest.parent() {
            fs::create_dir_all(parent).map_err(|e| write_err(parent, e))?;
        }
        if fs::hard_link(self.out.join(path), &dest).is_err() {
            return Ok(false);
        }
        self.kept.fetch_add(1, Ordering::Relaxed);
        self.progress.inc(1);
        Ok(true)
    }
}
