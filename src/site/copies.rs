//! Where a built site lives on disk, and the atomic swap. `OUT` (the `--out` path)
//! is a symbolic link to one of two copies, `.OUT.loket/a` and `.OUT.loket/b`,
//! beside it. A build updates the copy the link does not point to, then renames a
//! new link over `OUT`: readers resolve `OUT` to the old copy or the new one, never
//! a mix, and no build walks or links the unchanged files of a whole tree.
//!
//! Only what loket made is ever replaced or deleted: `OUT` must be missing, an empty
//! directory, a site directory of an older loket (with its `.loket-site` marker), or
//! a link to one of its own copies; the copies' folder must carry its marker. One
//! build at a time holds a lock on `.OUT.loket/lock`.
//!
//! Inside a copy, files are only ever replaced (a new file, never an overwrite in
//! place), so a copy started as hard links to the published one never changes it.

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::SiteError;
use super::manifest::Manifest;

/// The marker of a site directory written by loket before the two copies existed.
pub const LEGACY_MARKER: &str = ".loket-site";
/// The marker of the copies' folder.
const STATE_MARKER: &str = "loket-site-copies";
const LETTERS: [&str; 2] = ["a", "b"];

/// What `OUT` is now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Current {
    Missing,
    /// An empty directory, or a whole-tree site of an older loket.
    Directory,
    /// A link to copy `LETTERS[i]`.
    Copy(usize),
}

/// The two copies behind `OUT`, locked for one build.
pub struct Copies {
    out: PathBuf,
    state: PathBuf,
    /// `OUT`'s file name: the link target is `.NAME.loket/<letter>`, relative, so
    /// the folder holding both can move.
    name: String,
    current: Current,
    _lock: File,
}

fn werr(path: &Path, source: std::io::Error) -> SiteError {
    SiteError::Write {
        path: path.to_path_buf(),
        source,
    }
}

impl Copies {
    /// Inspects `out`, refusing anything loket did not make, and takes the lock.
    pub fn open(out: &Path) -> Result<Copies, SiteError> {
        let name = out
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .ok_or_else(|| SiteError::NotASite(out.to_path_buf()))?;
        let parent = match out.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        let state = parent.join(format!(".{name}.loket"));
        let current = match fs::symlink_metadata(out) {
            Err(e) if e.kind() == ErrorKind::NotFound => Current::Missing,
            Err(e) => return Err(werr(out, e)),
            Ok(m) if m.file_type().is_symlink() => {
                let target = fs::read_link(out).map_err(|e| werr(out, e))?;
                LETTERS
                    .iter()
                    .position(|l| target == Path::new(&format!(".{name}.loket")).join(l))
                    .map(Current::Copy)
                    .ok_or_else(|| SiteError::NotASite(out.to_path_buf()))?
            }
            Ok(m) if m.is_dir() => {
                let empty = fs::read_dir(out)
                    .map_err(|e| werr(out, e))?
                    .next()
                    .is_none();
                if !empty && !out.join(LEGACY_MARKER).is_file() {
                    return Err(SiteError::NotASite(out.to_path_buf()));
                }
                Current::Directory
            }
            Ok(_) => return Err(SiteError::NotASite(out.to_path_buf())),
        };
        match fs::symlink_metadata(&state) {
            Err(e) if e.kind() == ErrorKind::NotFound => {
                fs::create_dir_all(&state).map_err(|e| werr(&state, e))?;
                fs::write(state.join(STATE_MARKER), "loket status site: two copies\n")
                    .map_err(|e| werr(&state, e))?;
            }
            Err(e) => return Err(werr(&state, e)),
            Ok(m) if m.is_dir() && state.join(STATE_MARKER).is_file() => {}
            Ok(_) => return Err(SiteError::NotASite(state)),
        }
        let lock_path = state.join("lock");
        let lock = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&lock_path)
            .map_err(|e| werr(&lock_path, e))?;
        match lock.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Err(SiteError::Busy(out.to_path_buf())),
            Err(TryLockError::Error(e)) => return Err(werr(&lock_path, e)),
        }
        Ok(Copies {
            out: out.to_path_buf(),
            state,
            name,
            current,
            _lock: lock,
        })
    }

    fn inactive_letter(&self) -> &'static str {
        match self.current {
            Current::Copy(0) => LETTERS[1],
            _ => LETTERS[0],
        }
    }

    /// The copy this build updates.
    pub fn inactive(&self) -> PathBuf {
        self.state.join(self.inactive_letter())
    }

    /// The manifest of the copy this build updates.
    pub fn inactive_manifest(&self) -> PathBuf {
        self.state
            .join(format!("{}.manifest", self.inactive_letter()))
    }

    /// A file of loket's own beside the copies (never published).
    pub fn state_file(&self, name: &str) -> PathBuf {
        self.state.join(name)
    }

    /// The copy published now and its manifest, if there is one.
    pub fn active(&self) -> Option<(PathBuf, PathBuf)> {
        match self.current {
            Current::Copy(i) => Some((
                self.state.join(LETTERS[i]),
                self.state.join(format!("{}.manifest", LETTERS[i])),
            )),
            _ => None,
        }
    }

    /// Publishes the inactive copy: a new link renamed over `OUT` (atomic). A
    /// directory at `OUT` cannot be replaced by a rename; it is moved aside first
    /// (once, the first time after an older loket or for an empty directory).
    pub fn swap(self) -> Result<(), SiteError> {
        let target = Path::new(&format!(".{}.loket", self.name)).join(self.inactive_letter());
        let link = self.state.join("next-link");
        match fs::remove_file(&link) {
            Err(e) if e.kind() != ErrorKind::NotFound => return Err(werr(&link, e)),
            _ => {}
        }
        std::os::unix::fs::symlink(&target, &link).map_err(|e| werr(&link, e))?;
        if self.current == Current::Directory {
            let aside = self.state.join("replaced");
            if aside.exists() {
                fs::remove_dir_all(&aside).map_err(|e| werr(&aside, e))?;
            }
            fs::rename(&self.out, &aside).map_err(|e| werr(&self.out, e))?;
            fs::rename(&link, &self.out).map_err(|e| werr(&self.out, e))?;
            fs::remove_dir_all(&aside).map_err(|e| werr(&aside, e))?;
        } else {
            fs::rename(&link, &self.out).map_err(|e| werr(&self.out, e))?;
        }
        Ok(())
    }
}

/// Deletes a file of the copy; a ticket's folder goes with its last file, a
/// non-empty one stays.
pub(super) fn remove_file(dir: &Path, path: &str) -> Result<(), SiteError> {
    let file = dir.join(path);
    match fs::remove_file(&file) {
        Err(e) if e.kind() != ErrorKind::NotFound => return Err(werr(&file, e)),
        _ => {}
    }
    let mut parent = file.parent();
    while let Some(p) = parent.filter(|p| *p != dir) {
        if fs::remove_dir(p).is_err() {
            break;
        }
        parent = p.parent();
    }
    Ok(())
}

/// Fills the empty copy `dir` with hard links to the published copy's files and
/// returns that copy's manifest, so the build only writes what changed since: far
/// cheaper than writing every file. Files are only ever replaced, never overwritten
/// in place (see [`replace_file`]), so the published copy is never changed through
/// a link. An empty manifest when there is nothing (trustworthy) to clone.
pub(super) fn clone_published(copies: &Copies, dir: &Path) -> Result<Manifest, SiteError> {
    let Some((published, manifest)) = copies
        .active()
        .and_then(|(d, m)| Some((d, Manifest::read(&m)?)))
    else {
        return Ok(Manifest::default());
    };
    let mut made: HashSet<PathBuf> = HashSet::new();
    for (path, _) in manifest.files.iter() {
        let dest = dir.join(path);
        if let Some(parent) = dest.parent()
            && !made.contains(parent)
        {
            fs::create_dir_all(parent).map_err(|e| werr(parent, e))?;
            made.insert(parent.to_path_buf());
        }
        if fs::hard_link(published.join(path), &dest).is_err() {
            // Changed under us, or links unsupported: write everything instead.
            fs::remove_dir_all(dir).map_err(|e| werr(dir, e))?;
            return Ok(Manifest::default());
        }
    }
    Ok(manifest)
}

/// Replaces `dest` with `bytes`: a new file, never an overwrite in place, so a
/// file shared with the published copy by a hard link is never changed under it.
/// `held`: whether the copy has a file there (else it cannot: the manifest is
/// truthful), which spares a failing `unlink` per new file.
pub(super) fn replace_file(dest: &Path, bytes: &[u8], held: bool) -> Result<(), SiteError> {
    if held {
        match fs::remove_file(dest) {
            Err(e) if e.kind() != ErrorKind::NotFound => return Err(werr(dest, e)),
            _ => {}
        }
    } else if dest.ends_with("index.html")
        && let Some(parent) = dest.parent()
    {
        // A new page usually comes with its own new folder (`t/<ticket>/`): make it
        // first rather than fail the write and retry.
        match fs::create_dir(parent) {
            Err(e) if e.kind() != ErrorKind::AlreadyExists && e.kind() != ErrorKind::NotFound => {
                return Err(werr(parent, e));
            }
            _ => {}
        }
    }
    match fs::write(dest, bytes) {
        Err(e) if e.kind() == ErrorKind::NotFound => {
            let parent = dest.parent().unwrap_or(dest);
            fs::create_dir_all(parent).map_err(|e| werr(parent, e))?;
            fs::write(dest, bytes).map_err(|e| werr(dest, e))
        }
        r => r.map_err(|e| werr(dest, e)),
    }
}
