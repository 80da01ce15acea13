//! Crash-safe file writes for the file-based backends, the journal and the outbox:
//! a temp file in the same directory, permissions and group set on it, fsync, rename,
//! fsync of the directory. A reader sees the old file or the new one, never a part.
//!
//! And the rules for loket's own state (the state folder, its journal, lock,
//! unverified list and outbox): directories 0700 and files 0600 whatever the umask,
//! never a symbolic link, never another user's, never anything but a regular file
//! (a FIFO or device in their place is refused, never opened in a way that blocks).

use std::collections::HashSet;
use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use super::{ApplyError, BackendError};

/// Prefix of the temp files of [`atomic_write`]; nothing else of loket's starts so.
pub const TEMP_PREFIX: &str = ".loket-";

/// Mode of the directories [`atomic_write`] creates for backend files (the key
/// directory must stay readable by sshd acting as the login's user).
const BACKEND_DIR_MODE: u32 = 0o755;

/// Writes `bytes` to `path` atomically with `mode`, and group `group` when that
/// group exists on this machine (e.g. `dovecot`, so Dovecot's auth can read it).
/// The first write into a directory in a process removes the temp files a killed
/// run left there (see [`remove_stale_temps`]).
pub fn atomic_write(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    group: Option<&str>,
) -> Result<(), BackendError> {
    stage(path, bytes, mode, group)?.commit()?;
    sync_dir(path);
    Ok(())
}

/// A file written and synced beside its place, not yet in it: the first half of
/// [`atomic_write`], so many files can be written at once (on several threads)
/// and put in place one by one, with one sync of their directory after.
pub struct Staged {
    path: PathBuf,
    tmp: tempfile::NamedTempFile,
}

/// Writes `bytes` to a temp file beside `path` with `mode` (and `group`), synced.
pub fn stage(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    group: Option<&str>,
) -> Result<Staged, BackendError> {
    let io = |e| BackendError::io(path, e);
    let dir = parent(path);
    create_dirs(dir, BACKEND_DIR_MODE).map_err(io)?;
    clean_once(dir);
    let mut tmp = tempfile::Builder::new()
        .prefix(TEMP_PREFIX)
        .tempfile_in(dir)
        .map_err(io)?;
    tmp.as_file()
        .set_permissions(fs::Permissions::from_mode(mode))
        .map_err(io)?;
    if let Some(gid) = group.and_then(group_id) {
        // Only root (or a member) may change the group; elsewhere keep the default.
        let _ = std::os::unix::fs::fchown(tmp.as_file(), None, Some(gid));
    }
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    super::fault::point("temp-written");
    Ok(Staged {
        path: path.to_path_buf(),
        tmp,
    })
}

impl Staged {
    /// Renames the temp file into place (its directory is not synced: see
    /// [`sync_dir`]). Dropped uncommitted, the temp file is removed.
    pub fn commit(self) -> Result<(), BackendError> {
        let path = self.path;
        self.tmp
            .persist(&path)
            .map(drop)
            .map_err(|e| BackendError::io(&path, e.error))
    }
}

/// Syncs the directory holding `path`, so the renames into it are durable.
pub fn sync_dir(path: &Path) {
    if let Ok(d) = File::open(parent(path)) {
        let _ = d.sync_all();
    }
}

fn parent(path: &Path) -> &Path {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
}

/// Creates `dir` and its missing parents with `mode` exactly (not as the umask
/// leaves it); existing directories are left as they are.
fn create_dirs(dir: &Path, mode: u32) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    let mut missing = Vec::new();
    let mut d = dir;
    while !d.as_os_str().is_empty() && fs::symlink_metadata(d).is_err() {
        missing.push(d.to_path_buf());
        match d.parent() {
            Some(p) => d = p,
            None => break,
        }
    }
    for d in missing.iter().rev() {
        match fs::DirBuilder::new().mode(mode).create(d) {
            Ok(()) => fs::set_permissions(d, fs::Permissions::from_mode(mode))?,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(e),
        }
    }
    if dir.is_dir() {
        Ok(())
    } else {
        fs::create_dir_all(dir) // the error it gives names what is in the way
    }
}

/// Removes the stale temps of `dir` the first time this process writes there.
fn clean_once(dir: &Path) {
    static CLEANED: OnceLock<Mutex<HashSet<PathBuf>>> = OnceLock::new();
    let mut seen = CLEANED
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if seen.insert(dir.to_path_buf()) {
        remove_stale_temps(dir);
    }
}

/// Removes temp files a killed run left in `dir` (only ours: `.loket-*`). Call with
/// the apply lock held, so no live write is touched.
pub fn remove_stale_temps(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let is_file = e.file_type().is_ok_and(|t| t.is_file());
        if is_file && e.file_name().to_string_lossy().starts_with(TEMP_PREFIX) {
            let _ = fs::remove_file(e.path());
        }
    }
}

/// The numeric id of a group from `/etc/group`, if it exists.
pub fn group_id(name: &str) -> Option<u32> {
    let text = fs::read_to_string("/etc/group").ok()?;
    text.lines().find_map(|l| {
        let mut f = l.split(':');
        (f.next()? == name).then_some(())?;
        f.nth(1)?.parse().ok()
    })
}

fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

fn refused(path: &Path, message: String) -> ApplyError {
    ApplyError::State {
        path: path.to_path_buf(),
        message,
    }
}

/// Refuses what loket must not take for its own: a symbolic link, something of
/// another kind than `want_dir` says, or another user's.
fn check_own(path: &Path, m: &fs::Metadata, want_dir: bool) -> Result<(), ApplyError> {
    let ft = m.file_type();
    if ft.is_symlink() {
        return Err(refused(
            path,
            "is a symbolic link; loket keeps its state only in a real directory and \
             files of its own (replace the link with the directory it points to, or \
             point state-dir there)"
                .into(),
        ));
    }
    if want_dir && !ft.is_dir() {
        return Err(refused(path, "is not a directory".into()));
    }
    if !want_dir && !ft.is_file() {
        return Err(refused(
            path,
            format!(
                "is not a regular file ({}); loket's own state is only ever a regular \
                 file: remove it",
                kind_of(&ft)
            ),
        ));
    }
    if m.uid() != euid() {
        return Err(refused(
            path,
            format!(
                "is owned by uid {}, not by the user running loket (uid {}); loket \
                 refuses state another user could change",
                m.uid(),
                euid()
            ),
        ));
    }
    Ok(())
}

fn kind_of(ft: &fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if ft.is_dir() {
        "a directory"
    } else if ft.is_fifo() {
        "a FIFO"
    } else if ft.is_socket() {
        "a socket"
    } else if ft.is_block_device() || ft.is_char_device() {
        "a device"
    } else if ft.is_symlink() {
        "a symbolic link"
    } else {
        "not a regular file"
    }
}

/// Makes `dir` loket's private directory: created 0700 (parents as needed), or, if
/// it exists, checked (a real directory of this user) and set to 0700.
pub fn private_dir(dir: &Path) -> Result<(), ApplyError> {
    let io = |e| ApplyError::Io {
        path: dir.to_path_buf(),
        source: e,
    };
    match fs::symlink_metadata(dir) {
        Ok(m) => check_own(dir, &m, true)?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
                fs::create_dir_all(parent).map_err(io)?;
            }
            match fs::DirBuilder::new().mode(0o700).create(dir) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io(e)),
            }
            check_own(dir, &fs::symlink_metadata(dir).map_err(io)?, true)?;
        }
        Err(e) => return Err(io(e)),
    }
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io)
}

/// Checks, without changing anything, that `dir` is not a link nor another user's
/// (for readers: `loket plan`). A missing directory is fine.
pub fn check_private_dir(dir: &Path) -> Result<(), ApplyError> {
    match fs::symlink_metadata(dir) {
        Ok(m) => check_own(dir, &m, true),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(ApplyError::Io {
            path: dir.to_path_buf(),
            source: e,
        }),
    }
}

/// Checks that an existing `path` is a regular file of this user (not a link, FIFO,
/// device or directory); a missing one is fine.
pub fn check_private_file(path: &Path) -> Result<(), ApplyError> {
    match fs::symlink_metadata(path) {
        Ok(m) => check_own(path, &m, false),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(ApplyError::Io {
            path: path.to_path_buf(),
            source: e,
        }),
    }
}

/// Opens one of loket's state files: never following a link, never blocking (a
/// FIFO in its place is refused, not waited on), only a regular file of this user,
/// set to 0600. `create`: made if missing (read and write); else `None` if missing
/// (read only).
pub fn open_private_file(path: &Path, create: bool) -> Result<Option<File>, ApplyError> {
    let io = |e| ApplyError::Io {
        path: path.to_path_buf(),
        source: e,
    };
    // A first look, for a clear message before anything is opened.
    check_private_file(path)?;
    let mut o = OpenOptions::new();
    o.read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC);
    if create {
        o.append(true).create(true).mode(0o600);
    }
    let file = match o.open(path) {
        Ok(f) => f,
        Err(e) if !create && e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err(refused(path, "is a symbolic link".into()));
        }
        Err(e) => return Err(io(e)),
    };
    // What was opened, not what was looked at (it may have been swapped since).
    check_own(path, &file.metadata().map_err(io)?, false)?;
    if create {
        file.set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(io)?;
    }
    Ok(Some(file))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_whole_file_with_mode() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("sub/passwd");
        atomic_write(&p, b"one\n", 0o640, Some("root")).unwrap();
        atomic_write(&p, b"two\n", 0o640, Some("no-such-group-here")).unwrap();
        assert_eq!(fs::read_to_string(&p).unwrap(), "two\n");
        let mode = fs::metadata(&p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o640);
        // No temp files left behind.
        assert_eq!(fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
        assert_eq!(group_id("root"), Some(0));
        fs::write(p.parent().unwrap().join(".loket-abc"), "torn").unwrap();
        remove_stale_temps(p.parent().unwrap());
        assert_eq!(fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
    }

    #[test]
    fn first_write_into_a_directory_removes_its_stale_temps() {
        let d = tempfile::tempdir().unwrap();
        let dir = d.path().join("keys");
        fs::create_dir_all(&dir).unwrap();
        fs::write(dir.join(".loket-left"), "torn").unwrap();
        atomic_write(&dir.join("a"), b"a\n", 0o644, None).unwrap();
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("a")]);
    }

    #[test]
    fn state_files_refuse_links_fifos_and_directories() {
        let d = tempfile::tempdir().unwrap();
        let target = d.path().join("elsewhere");
        fs::write(&target, "x").unwrap();
        let link = d.path().join("journal.jsonl");
        std::os::unix::fs::symlink(&target, &link).unwrap();
        let err = open_private_file(&link, true).unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");
        let dir = d.path().join("dir");
        fs::create_dir(&dir).unwrap();
        let err = open_private_file(&dir, false).unwrap_err().to_string();
        assert!(err.contains("not a regular file"), "{err}");
        let err = private_dir(&link).unwrap_err().to_string();
        assert!(err.contains("symbolic link"), "{err}");
        assert!(
            open_private_file(&d.path().join("none"), false)
                .unwrap()
                .is_none()
        );
    }
}
