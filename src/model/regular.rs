//! Reading instance files as regular files only. A pull request can put anything in
//! the tree: a symlink to `/proc/self/environ` or a key outside the instance, a FIFO
//! that blocks a reader forever, a device. Loket never follows a link at a file it
//! reads (`O_NOFOLLOW`), never blocks opening one (`O_NONBLOCK`, which regular files
//! ignore), and checks the opened file's type before reading a byte of it.

use std::fmt;
use std::fs::{File, FileType};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::Path;

/// What a path turned out to be, when it is not a regular file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node {
    Symlink,
    Fifo,
    Socket,
    Device,
    Directory,
    Unknown,
}

impl Node {
    /// `None` for a regular file.
    pub fn of(t: FileType) -> Option<Node> {
        let node = if t.is_file() {
            return None;
        } else if t.is_symlink() {
            Node::Symlink
        } else if t.is_fifo() {
            Node::Fifo
        } else if t.is_socket() {
            Node::Socket
        } else if t.is_block_device() || t.is_char_device() {
            Node::Device
        } else if t.is_dir() {
            Node::Directory
        } else {
            Node::Unknown
        };
        Some(node)
    }
}

impl fmt::Display for Node {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Node::Symlink => "a symbolic link",
            Node::Fifo => "a FIFO (named pipe)",
            Node::Socket => "a socket",
            Node::Device => "a device",
            Node::Directory => "a directory",
            Node::Unknown => "not a regular file",
        })
    }
}

/// The error inside an [`io::Error`] for a path that is not a regular file.
#[derive(Debug, thiserror::Error)]
#[error("it is {0}, not a regular file (loket follows no links)")]
pub struct NotRegular(pub Node);

fn not_regular(node: Node) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, NotRegular(node))
}

/// What a path is if a read of it failed because it is not a regular file.
pub fn refused(e: &io::Error) -> Option<Node> {
    e.get_ref()?.downcast_ref::<NotRegular>().map(|n| n.0)
}

/// Opens `path` for reading if it is a regular file, without following a symlink at
/// its last component and without blocking on a FIFO.
pub fn open(path: &Path) -> io::Result<File> {
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| {
            // ELOOP is O_NOFOLLOW meeting a link; ENXIO a socket. Say what it is.
            match std::fs::symlink_metadata(path)
                .ok()
                .and_then(|m| Node::of(m.file_type()))
            {
                Some(node) => not_regular(node),
                None => e,
            }
        })?;
    // Checked on the open file, so a swap after a stat cannot slip a FIFO in.
    match Node::of(file.metadata()?.file_type()) {
        Some(node) => Err(not_regular(node)),
        None => Ok(file),
    }
}

/// The bytes of the regular file at `path` ([`open`]).
pub fn read(path: &Path) -> io::Result<Vec<u8>> {
    let mut file = open(path)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// The text of the regular file at `path` ([`open`]); invalid UTF-8 is an error.
pub fn read_to_string(path: &Path) -> io::Result<String> {
    String::from_utf8(read(path)?).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_fifos_and_dirs_are_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        std::fs::write(d.join("file"), "x").unwrap();
        std::os::unix::fs::symlink(d.join("file"), d.join("link")).unwrap();
        let fifo = std::ffi::CString::new(d.join("fifo").as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path; mkfifo only creates a node.
        assert_eq!(unsafe { libc::mkfifo(fifo.as_ptr(), 0o600) }, 0);
        assert_eq!(read(&d.join("file")).unwrap(), b"x");
        for (name, node) in [
            ("link", Node::Symlink),
            ("fifo", Node::Fifo),
            (".", Node::Directory),
        ] {
            let e = read(&d.join(name)).unwrap_err();
            assert_eq!(refused(&e), Some(node), "{name}: {e}");
        }
        assert_eq!(refused(&read(&d.join("missing")).unwrap_err()), None);
    }
}
