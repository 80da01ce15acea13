//! Diagnostics: what every stage reports to users.
//!
//! A [`Diagnostic`] carries a stable rule code, a severity, and labels that point
//! into [`Sources`] by byte span. Rendering (human, JSON, GitHub annotations) lives
//! here so every command prints problems the same way.

use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::Serialize;

mod source;
pub use source::{ContentHash, SourceFile, Text, content_hash};

/// Index of a file in [`Sources`].
pub type FileId = usize;

/// Every file a run has read, addressed by [`FileId`].
#[derive(Debug, Default, Clone)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    pub fn add(&mut self, path: impl Into<PathBuf>, text: String) -> FileId {
        self.push(SourceFile::new(path.into(), text))
    }

    pub fn with_capacity(files: usize) -> Self {
        Self {
            files: Vec::with_capacity(files),
        }
    }

    pub fn push(&mut self, file: SourceFile) -> FileId {
        self.files.push(file);
        self.files.len() - 1
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id]
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = (FileId, &SourceFile)> {
        self.files.iter().enumerate()
    }

    /// [`Sources::iter`] on all cores, e.g. to read many lazily loaded texts at once.
    pub fn par_iter(
        &self,
    ) -> impl rayon::iter::IndexedParallelIterator<Item = (FileId, &SourceFile)> {
        use rayon::prelude::*;
        self.files.par_iter().enumerate()
    }

    pub fn find(&self, path: &Path) -> Option<FileId> {
        self.files.iter().position(|f| f.path == path)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
}

/// A place in a file with a short message, e.g. "first registered here".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label {
    pub file: FileId,
    pub span: Range<usize>,
    pub message: String,
}

impl Label {
    pub fn new(file: FileId, span: Range<usize>, message: impl Into<String>) -> Self {
        Self {
            file,
            span,
            message: message.into(),
        }
    }
}

/// One problem found in the instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// Stable rule code, e.g. `L024`.
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    pub primary: Label,
    pub secondary: Vec<Label>,
    pub hint: Option<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, primary: Label, message: impl Into<String>) -> Self {
        Self {
            code,
            severity: Severity::Error,
            message: message.into(),
            primary,
            secondary: Vec::new(),
            hint: None,
        }
    }

    pub fn warning(code: &'static str, primary: Label, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(code, primary, message)
        }
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Self {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_label(mut self, label: Label) -> Self {
        self.secondary.push(label);
        self
    }
}

/// The serialisable form of a diagnostic (`--format json`).
#[derive(Debug, Serialize)]
pub struct JsonDiagnostic<'a> {
    pub code: &'static str,
    pub severity: Severity,
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: &'a str,
    pub hint: Option<&'a str>,
    pub related: Vec<JsonRelated<'a>>,
}

#[derive(Debug, Serialize)]
pub struct JsonRelated<'a> {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: &'a str,
}

impl Diagnostic {
    pub fn to_json<'a>(&'a self, sources: &Sources) -> JsonDiagnostic<'a> {
        let (file, line, column) = locate(sources, &self.primary);
        JsonDiagnostic {
            code: self.code,
            severity: self.severity,
            file,
            line,
            column,
            message: &self.message,
            hint: self.hint.as_deref(),
            related: self
                .secondary
                .iter()
                .map(|l| {
                    let (file, line, column) = locate(sources, l);
                    JsonRelated {
                        file,
                        line,
                        column,
                        message: &l.message,
                    }
                })
                .collect(),
        }
    }
}

fn locate(sources: &Sources, label: &Label) -> (String, usize, usize) {
    let f = sources.get(label.file);
    let (line, col) = f.line_col(label.span.start);
    (f.path.to_string_lossy().replace('\\', "/"), line, col)
}

/// Renders diagnostics rustc-style, with a snippet of each offending line.
pub fn render_human(sources: &Sources, diags: &[Diagnostic]) -> String {
    use codespan_reporting::diagnostic as cd;
    use codespan_reporting::term;

    let files = CodespanFiles(sources);
    let config = term::Config::default();
    let mut out = String::new();
    for d in diags {
        let severity = match d.severity {
            Severity::Error => cd::Severity::Error,
            Severity::Warning => cd::Severity::Warning,
        };
        let mut labels = vec![
            cd::Label::primary(d.primary.file, clamp(sources, &d.primary))
                .with_message(d.primary.message.clone()),
        ];
        labels.extend(d.secondary.iter().map(|l| {
            cd::Label::secondary(l.file, clamp(sources, l)).with_message(l.message.clone())
        }));
        let cdiag = cd::Diagnostic::new(severity)
            .with_code(d.code)
            .with_message(d.message.clone())
            .with_labels(labels)
            .with_notes(d.hint.iter().map(|h| format!("hint: {h}")).collect());
        match term::emit_into_string(&config, &files, &cdiag) {
            Ok(text) => out.push_str(&text),
            // A label outside its file is a bug in a rule, not a reason to lose the message.
            Err(_) => out.push_str(&format!("error[{}]: {}\n", d.code, d.message)),
        }
    }
    out
}

/// Lets codespan read [`Sources`] directly. Copying every file into codespan's
/// `SimpleFiles` built line tables for all of them, which on a large instance cost
/// more than the check itself; this only touches the files a diagnostic points at.
/// Same answers as `SimpleFile`.
struct CodespanFiles<'s>(&'s Sources);

impl CodespanFiles<'_> {
    fn file(&self, id: FileId) -> Result<&SourceFile, codespan_reporting::files::Error> {
        self.0
            .files
            .get(id)
            .ok_or(codespan_reporting::files::Error::FileMissing)
    }

    fn line_start(
        &self,
        id: FileId,
        line_index: usize,
    ) -> Result<usize, codespan_reporting::files::Error> {
        let f = self.file(id)?;
        let starts = f.line_starts();
        match line_index.cmp(&starts.len()) {
            std::cmp::Ordering::Less => Ok(starts[line_index]),
            std::cmp::Ordering::Equal => Ok(f.text.len()),
            std::cmp::Ordering::Greater => Err(codespan_reporting::files::Error::LineTooLarge {
                given: line_index,
                max: starts.len() - 1,
            }),
        }
    }
}

impl<'a> codespan_reporting::files::Files<'a> for CodespanFiles<'_> {
    type FileId = FileId;
    type Name = String;
    type Source = &'a str;

    fn name(&'a self, id: FileId) -> Result<String, codespan_reporting::files::Error> {
        Ok(self.file(id)?.path.to_string_lossy().replace('\\', "/"))
    }

    fn source(&'a self, id: FileId) -> Result<&'a str, codespan_reporting::files::Error> {
        Ok(self.file(id)?.text.as_str())
    }

    fn line_index(
        &'a self,
        id: FileId,
        byte_index: usize,
    ) -> Result<usize, codespan_reporting::files::Error> {
        Ok(self
            .file(id)?
            .line_starts()
            .binary_search(&byte_index)
            .unwrap_or_else(|next_line| next_line - 1))
    }

    fn line_range(
        &'a self,
        id: FileId,
        line_index: usize,
    ) -> Result<Range<usize>, codespan_reporting::files::Error> {
        Ok(self.line_start(id, line_index)?..self.line_start(id, line_index + 1)?)
    }
}

/// Spans must fall on char boundaries inside the file for the renderer.
fn clamp(sources: &Sources, label: &Label) -> Range<usize> {
    let text = &sources.get(label.file).text;
    let fix = |mut i: usize| {
        i = i.min(text.len());
        while !text.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    fix(label.span.start)..fix(label.span.end.max(label.span.start))
}

/// GitHub Actions workflow commands (`::error file=…,line=…::…`).
pub fn render_github(sources: &Sources, diags: &[Diagnostic]) -> String {
    let mut out = String::new();
    for d in diags {
        let (file, line, col) = locate(sources, &d.primary);
        let level = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut msg = format!("{}: {}", d.code, d.message);
        if let Some(h) = &d.hint {
            msg.push_str(&format!("\nhint: {h}"));
        }
        out.push_str(&format!(
            "::{level} file={},line={line},col={col},title={}::{}\n",
            escape_property(&file),
            d.code,
            escape_data(&msg)
        ));
    }
    out
}

fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_from_one_in_chars() {
        let f = SourceFile::new("a.toml".into(), "a = 1\nnamé = \"x\"\n".into());
        assert_eq!(f.line_col(0), (1, 1));
        assert_eq!(f.line_col(6), (2, 1));
        // byte offset of `=` on line 2 is after a 2-byte é
        assert_eq!(f.line_col(6 + "namé ".len()), (2, 6));
        assert_eq!(f.line_text(2), "namé = \"x\"");
    }

    #[test]
    fn github_annotations_escape_newlines() {
        let mut s = Sources::default();
        let id = s.add("requests/x.toml", "a = 1\n".into());
        let d =
            Diagnostic::error("L001", Label::new(id, 0..1, "here"), "bad\nthing").with_hint("fix");
        let out = render_github(&s, &[d]);
        assert!(out.starts_with("::error file=requests/x.toml,line=1,col=1,title=L001::"));
        assert!(out.contains("bad%0Athing%0Ahint: fix"));
    }
}
