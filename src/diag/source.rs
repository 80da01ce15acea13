//! A file of the instance as diagnostics see it: its path, its text (possibly read
//! only when first needed) and its content hash.

use std::path::PathBuf;
use std::sync::OnceLock;

/// One text file of the instance, with its line starts for line/column lookup.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path relative to the instance root, with `/` separators.
    pub path: PathBuf,
    pub text: Text,
    /// Built on the first lookup: a run over 100k files needs lines for only the few
    /// that have diagnostics, and building them all up front cost a scan and an
    /// allocation per file.
    line_starts: OnceLock<Vec<usize>>,
    /// BLAKE3 of the text; known without reading when the parse cache had the file.
    hash: OnceLock<ContentHash>,
}

/// BLAKE3 digest of a file's bytes.
pub type ContentHash = [u8; 32];

pub fn content_hash(bytes: &[u8]) -> ContentHash {
    *blake3::hash(bytes).as_bytes()
}

/// A file's text, read on first use when the parse cache made reading it at load time
/// unnecessary (most runs need the text of only the few files a diagnostic points at).
/// Dereferences to `str`.
#[derive(Debug, Clone, Default)]
pub struct Text {
    text: OnceLock<String>,
    /// Where to read it from, for lazily loaded files.
    origin: Option<PathBuf>,
}

impl Text {
    pub fn new(text: String) -> Self {
        Self {
            text: OnceLock::from(text),
            origin: None,
        }
    }

    /// Text read from `origin` on first use. A file that has become unreadable (or
    /// not a regular file) since it was loaded reads as empty (diagnostics clamp their spans to the text), and
    /// one no longer UTF-8 is read lossily.
    pub fn lazy(origin: PathBuf) -> Self {
        Self {
            text: OnceLock::new(),
            origin: Some(origin),
        }
    }

    pub fn as_str(&self) -> &str {
        self.text.get_or_init(|| {
            // Never through a link: the file may have been swapped since it was loaded.
            let bytes = (self.origin.as_deref()).and_then(|p| crate::model::regular::read(p).ok());
            bytes.map_or_else(String::new, |b| {
                String::from_utf8(b)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
            })
        })
    }

    /// Whether the text is in memory (not waiting to be read).
    pub fn is_loaded(&self) -> bool {
        self.text.get().is_some()
    }
}

impl std::ops::Deref for Text {
    type Target = str;
    fn deref(&self) -> &str {
        self.as_str()
    }
}

/// Hashes as the `str` (and so as a `String`) does.
impl std::hash::Hash for Text {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_str().hash(state);
    }
}

impl PartialEq for Text {
    fn eq(&self, other: &Self) -> bool {
        self.as_str() == other.as_str()
    }
}

impl Eq for Text {}

impl SourceFile {
    pub fn new(path: PathBuf, text: String) -> Self {
        Self {
            path,
            text: Text::new(text),
            line_starts: OnceLock::new(),
            hash: OnceLock::new(),
        }
    }

    /// A file whose text is read from `origin` only if something asks for it; `hash`
    /// is the BLAKE3 of its bytes when it was parsed.
    pub fn lazy(path: PathBuf, origin: PathBuf, hash: ContentHash) -> Self {
        Self {
            path,
            text: Text::lazy(origin),
            line_starts: OnceLock::new(),
            hash: OnceLock::from(hash),
        }
    }

    /// A file read whole whose hash is already known (computed while loading).
    pub fn with_hash(path: PathBuf, text: String, hash: ContentHash) -> Self {
        let f = Self::new(path, text);
        let _ = f.hash.set(hash);
        f
    }

    /// BLAKE3 of the text, computed on first use for files read whole.
    pub fn content_hash(&self) -> ContentHash {
        *self.hash.get_or_init(|| content_hash(self.text.as_bytes()))
    }

    /// Whether two files hold the same text, by hash (neither is read if both are
    /// known).
    pub fn same_text(&self, other: &SourceFile) -> bool {
        self.content_hash() == other.content_hash()
    }

    pub(super) fn line_starts(&self) -> &[usize] {
        self.line_starts.get_or_init(|| {
            std::iter::once(0)
                .chain(self.text.match_indices('\n').map(|(i, _)| i + 1))
                .collect()
        })
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line_starts = self.line_starts();
        let line = line_starts.partition_point(|&s| s <= offset) - 1;
        let start = line_starts[line];
        let col = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count());
        (line + 1, col + 1)
    }

    /// The text of the 1-based line `line`, without its newline.
    pub fn line_text(&self, line: usize) -> &str {
        let line_starts = self.line_starts();
        let start = line_starts.get(line.wrapping_sub(1)).copied().unwrap_or(0);
        let end = line_starts.get(line).copied().unwrap_or(self.text.len());
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }
}
