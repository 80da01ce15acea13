//! Crash-safe file writes for the file-based backends, the journal and the outbox:
//! a temp file in the same directory, permissions and group set on it, fsync, rename,
//! fsync of the directory. A reader sees the old file or the new one, never a part.

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use super::BackendError;

/// Writes `bytes` to `path` atomically with `mode`, and group `group` when that
/// group exists on this machine (e.g. `dovecot`, so Dovecot's auth can read it).
pub fn atomic_write(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    group: Option<&str>,
) -> Result<(), BackendError> {
    let io = |e| BackendError::io(path, e);
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    fs::create_dir_all(dir).map_err(io)?;
    let mut tmp = tempfile::Builder::new()
        .prefix(".loket-")
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
    tmp.persist(path).map_err(|e| io(e.error))?;
    if let Ok(d) = File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Removes temp files a killed run left in `dir` (only ours: `.loket-*`). Call with
/// the apply lock held, so no live write is touched.
pub fn remove_stale_temps(dir: &Path) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        if e.file_name().to_string_lossy().starts_with(".loket-") {
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
}
