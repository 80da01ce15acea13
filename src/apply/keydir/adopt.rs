//! `loket adopt-files` for the key directory: marks the server folders an earlier
//! loket wrote before folders carried [`DIR_MARKER`], and rewrites the key lines of
//! imported keys ([`crate::apply::adopt`]) as loket writes them. Everything is read
//! and checked (as strictly as apply reads) before anything is written.

use std::path::{Path, PathBuf};

use super::{DIR_MARKER, Keydir, own_line};
use crate::apply::adopt::{Fate, ImportedKey, ImportedKeys, fate, short};
use crate::apply::backend::{BackendError, LiveKey};

/// What adopt-files would write: folders to mark, key files to rewrite.
#[derive(Default)]
struct Todo {
    marks: Vec<PathBuf>,
    rewrites: Vec<(PathBuf, Vec<(LiveKey, String)>)>,
    said: Vec<String>,
}

pub(super) fn adopt(
    kd: &Keydir,
    imported: &ImportedKeys,
    dry_run: bool,
) -> Result<Vec<String>, BackendError> {
    let mut todo = Todo::default();
    if kd.dir.exists() {
        folders(kd, dry_run, &mut todo)?;
    }
    for (server, login, keys) in imported.accounts() {
        let path = kd.file(server, login)?;
        if !path.is_file() {
            todo.said.push(format!(
                "{}: no key file, so no key of {login}@{server} to take over",
                path.display()
            ));
            continue;
        }
        key_file(&path, keys, dry_run, &mut todo)?;
    }
    if !dry_run {
        for dir in &todo.marks {
            Keydir::mark(dir)?;
        }
        for (path, keys) in &todo.rewrites {
            Keydir::write_file(path, keys)?;
        }
    }
    Ok(todo.said)
}

/// Server folders without the marker: every key file checked, then marked.
fn folders(kd: &Keydir, dry_run: bool, todo: &mut Todo) -> Result<(), BackendError> {
    let io = |p: &Path, e| BackendError::io(p, e);
    for server in std::fs::read_dir(&kd.dir).map_err(|e| io(&kd.dir, e))? {
        let dir = server.map_err(|e| io(&kd.dir, e))?.path();
        if !dir.is_dir() {
            continue;
        }
        if dir.join(DIR_MARKER).is_file() {
            todo.said
                .push(format!("{}: already managed by loket", dir.display()));
            continue;
        }
        let mut n = 0;
        for f in std::fs::read_dir(&dir).map_err(|e| io(&dir, e))? {
            let f = f.map_err(|e| io(&dir, e))?;
            if f.file_name().to_string_lossy().starts_with('.') || !f.path().is_file() {
                continue;
            }
            Keydir::read_file(&f.path())?;
            n += 1;
        }
        todo.said.push(format!(
            "{}: {} ({n} key file(s) as loket writes them)",
            dir.display(),
            if dry_run { "would adopt" } else { "adopted" }
        ));
        todo.marks.push(dir);
    }
    Ok(())
}

/// The lines of `path` that hold an imported key, rewritten; the others reported.
fn key_file(
    path: &Path,
    imported: &[ImportedKey],
    dry_run: bool,
    todo: &mut Todo,
) -> Result<(), BackendError> {
    let mut keys = Keydir::read_lines(path)?;
    let mut taken = Vec::new();
    for (i, line) in keys.iter_mut().enumerate() {
        let k = &line.0;
        match fate(imported, &k.key, k.ticket.as_deref(), &[]) {
            Fate::TakeOver(ik) => {
                *line = own_line(LiveKey {
                    ticket: Some(ik.ticket.clone()),
                    key: ik.key.clone(),
                    expires: Some(ik.last_day),
                });
                taken.push(ik.ticket.clone());
            }
            Fate::Loket => {}
            Fate::Left(why) => todo.said.push(format!(
                "{}:{}: left as it is ({}): {why}",
                path.display(),
                i + 1,
                short(&k.key)
            )),
        }
    }
    if taken.is_empty() {
        todo.said.push(format!(
            "{}: no line to take over (an imported key's line is loket's already, or \
             none matches)",
            path.display()
        ));
        return Ok(());
    }
    let n = taken.len();
    taken.sort();
    taken.dedup();
    todo.said.push(format!(
        "{}: {} {n} key line(s) imported under {}, as loket writes them",
        path.display(),
        if dry_run {
            "would take over"
        } else {
            "took over"
        },
        taken.join(", ")
    ));
    todo.rewrites.push((path.to_path_buf(), keys));
    Ok(())
}
