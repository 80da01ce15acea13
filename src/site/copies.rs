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

use std::fs::{self, File, OpenOptions, TryLockError};
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use super::SiteError;

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
