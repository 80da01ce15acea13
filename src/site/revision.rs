//! The site of a commit (`loket site --rev REV`): the instance's tree at a revision,
//! what changed in it since the tree an earlier build described, and the changed
//! files' text, all read with git2.
//!
//! Trees are content-addressed, so a tree id names exactly the input a build saw, and
//! a tree-to-tree diff skips every unchanged folder by its hash: an incremental build
//! learns what changed without stat'ing the 100 000s of files a working-tree build
//! must look at. A full build still reads the working tree (through the parse cache),
//! so it first makes sure the working tree holds that very tree.

use std::cell::RefCell;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use git2::{DiffOptions, ObjectType, Oid, Repository, Tree};

use super::SiteError;
use crate::model::CONFIG_FILE;
use crate::model::record::RECORDS_DIR;

/// What a site build reads of the instance: the config, requests and records. (The
/// site shows nothing of `accounts/`.)
const SITE_INPUTS: [&str; 3] = [CONFIG_FILE, "requests", RECORDS_DIR];

/// The id and kind of a tree's entry `name`.
fn entry_of(tree: &Tree<'_>, name: &str) -> Option<(Oid, Option<ObjectType>)> {
    tree.get_name(name).map(|e| (e.id(), e.kind()))
}

/// A folder's files (its direct ones; the site reads no deeper): name and blob id,
/// sorted by name as git keeps them.
type Listing = Vec<(Vec<u8>, Oid)>;

fn listing(tree: Option<&Tree<'_>>) -> Listing {
    tree.map(|t| {
        t.iter()
            .filter(|e| e.kind() == Some(ObjectType::Blob))
            .map(|e| (e.name_bytes().to_vec(), e.id()))
            .collect()
    })
    .unwrap_or_default()
}

/// The files that differ between two listings of the folder `dir`.
fn diff_folder(dir: &str, a: &Listing, b: &Listing, out: &mut Vec<Change>) {
    let (mut i, mut j) = (0, 0);
    let mut push = |name: &[u8], old: Option<Oid>, new: Option<Oid>| {
        out.push(Change {
            path: format!("{dir}/{}", String::from_utf8_lossy(name)),
            old,
            new,
        });
    };
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(x), Some(y)) if x.0 == y.0 => {
                if x.1 != y.1 {
                    push(&x.0, Some(x.1), Some(y.1));
                }
                i += 1;
                j += 1;
            }
            (Some(x), Some(y)) if x.0 < y.0 => {
                push(&x.0, Some(x.1), None);
                i += 1;
            }
            (Some(x), None) => {
                push(&x.0, Some(x.1), None);
                i += 1;
            }
            (_, Some(y)) => {
                push(&y.0, None, Some(y.1));
                j += 1;
            }
            (None, None) => break,
        }
    }
}

/// The changed files of the folder `name` between two of its trees (absent: `None`),
/// and the new tree's listing. A `.toml` file in a subfolder of `requests/` is refused
/// (a full build reads it, and `loket check` refuses it there).
fn compare_folder(
    repo: &Repository,
    name: &str,
    old: Option<Oid>,
    new: Option<Oid>,
) -> Result<Result<(Vec<Change>, Listing), SiteError>, git2::Error> {
    let tree = |id: Option<Oid>| id.map(|id| repo.find_tree(id)).transpose();
    let (ta, tb) = (tree(old)?, tree(new)?);
    if name == "requests"
        && let Some(path) = nested_toml(repo, ta.as_ref(), tb.as_ref())?
    {
        return Ok(Err(SiteError::Nested(PathBuf::from(format!(
            "{name}/{path}"
        )))));
    }
    let mut changes = Vec::new();
    let listed = listing(tb.as_ref());
    diff_folder(name, &listing(ta.as_ref()), &listed, &mut changes);
    Ok(Ok((changes, listed)))
}

/// A `.toml` file in a subfolder of `new` that is not the same in `old` (an
/// incremental build reads direct files only).
fn nested_toml(
    repo: &Repository,
    old: Option<&Tree<'_>>,
    new: Option<&Tree<'_>>,
) -> Result<Option<String>, git2::Error> {
    let Some(new) = new else { return Ok(None) };
    for e in new.iter().filter(|e| e.kind() == Some(ObjectType::Tree)) {
        let same = old
            .and_then(|o| o.get_name_bytes(e.name_bytes()).map(|x| x.id()))
            .is_some_and(|id| id == e.id());
        if same {
            continue;
        }
        let mut found = None;
        let walked = repo
            .find_tree(e.id())?
            .walk(git2::TreeWalkMode::PreOrder, |parent, entry| {
                let name = entry.name().unwrap_or_default();
                if entry.kind() == Some(ObjectType::Blob) && name.ends_with(".toml") {
                    let folder = String::from_utf8_lossy(e.name_bytes());
                    found = Some(format!("{folder}/{parent}{name}"));
                    return git2::TreeWalkResult::Abort;
                }
                git2::TreeWalkResult::Ok
            });
        if found.is_some() {
            return Ok(found);
        }
        walked?;
    }
    Ok(None)
}

/// An instance as committed at one revision.
pub struct Revision {
    repo: Repository,
    /// The instance folder on disk.
    dir: PathBuf,
    rev: String,
    /// The instance folder inside the repository: `""` or `"sub/dir/"`.
    prefix: String,
    /// The repository's root tree at the revision.
    root: Oid,
    /// The instance folder's tree at the revision.
    tree: Oid,
    /// Folders of that tree already listed (by [`Revision::changes_since`]), so that
    /// reading files from them need not parse their trees again.
    listings: RefCell<HashMap<String, Listing>>,
}

/// A file that differs between two trees of the instance: its path (relative to the
/// instance) and its blob before and after (`None`: absent on that side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub path: String,
    pub old: Option<Oid>,
    pub new: Option<Oid>,
}

impl Revision {
    /// Opens the repository holding `dir` and resolves `rev` (e.g. `HEAD`, a branch,
    /// a commit id) to the tree of the instance folder.
    pub fn open(dir: &Path, rev: &str) -> Result<Revision, SiteError> {
        let git = |e: git2::Error| SiteError::Git {
            rev: rev.to_string(),
            message: e.message().to_string(),
        };
        // Like git itself, trust the object store on read (`git fsck` verifies it):
        // hashing the megabytes of a large folder's tree again on every build costs
        // more than comparing it.
        git2::opts::strict_hash_verification(false);
        let repo = Repository::discover(dir).map_err(git)?;
        let workdir = repo.workdir().ok_or_else(|| SiteError::Git {
            rev: rev.to_string(),
            message: "the repository is bare; --rev needs a working tree".into(),
        })?;
        let canon = |p: &Path| {
            std::fs::canonicalize(p).map_err(|source| SiteError::Read {
                path: p.to_path_buf(),
                source,
            })
        };
        let (abs, workdir) = (canon(dir)?, canon(workdir)?);
        let prefix = abs
            .strip_prefix(&workdir)
            .map(|p| {
                let p = p.to_string_lossy().replace('\\', "/");
                if p.is_empty() { p } else { format!("{p}/") }
            })
            .unwrap_or_default();
        let (root, tree) = {
            let root = crate::check::revision::resolve(&repo, rev)
                .and_then(|c| repo.find_commit(c)?.tree())
                .map_err(git)?;
            let tree = if prefix.is_empty() {
                root.id()
            } else {
                root.get_path(Path::new(prefix.trim_end_matches('/')))
                    .map_err(git)?
                    .id()
            };
            (root.id(), tree)
        };
        Ok(Revision {
            repo,
            dir: dir.to_path_buf(),
            rev: rev.to_string(),
            prefix,
            root,
            tree,
            listings: RefCell::default(),
        })
    }

    /// The instance folder's tree id: what a build from this revision records as its
    /// input.
    pub fn id(&self) -> String {
        self.tree.to_string()
    }

    /// The instance folder on disk.
    pub fn root_dir(&self) -> &Path {
        &self.dir
    }

    fn git(&self, e: git2::Error) -> SiteError {
        SiteError::Git {
            rev: self.rev.clone(),
            message: e.message().to_string(),
        }
    }

    fn find_tree(&self, id: Oid) -> Result<Tree<'_>, SiteError> {
        self.repo.find_tree(id).map_err(|e| self.git(e))
    }

    /// Makes sure the working tree's `loket.toml`, `requests/` and `records/` are
    /// exactly the revision's (no change, staged or not, and no untracked or ignored
    /// file): a full build reads them from the working tree.
    pub fn ensure_clean(&self) -> Result<(), SiteError> {
        let root = self.find_tree(self.root)?;
        let mut opts = DiffOptions::new();
        opts.include_untracked(true)
            .recurse_untracked_dirs(true)
            .include_ignored(true)
            .recurse_ignored_dirs(true);
        for p in SITE_INPUTS {
            opts.pathspec(format!("{}{p}", self.prefix));
        }
        let diff = self
            .repo
            .diff_tree_to_workdir_with_index(Some(&root), Some(&mut opts))
            .map_err(|e| self.git(e))?;
        // Only what a build reads counts (an editor's swap file does not).
        let differing: Vec<PathBuf> = diff
            .deltas()
            .filter_map(|d| d.new_file().path().or(d.old_file().path()))
            .filter(|p| p.extension().is_some_and(|e| e == "toml"))
            .map(Path::to_path_buf)
            .collect();
        if differing.is_empty() {
            return Ok(());
        }
        Err(SiteError::Dirty {
            rev: self.rev.clone(),
            count: differing.len(),
            first: differing[0].clone(),
        })
    }

    /// The site inputs that differ between the instance tree `old` (an id from
    /// [`Revision::id`]) and this revision's. `None` when `old` is not in the
    /// repository (say, pruned): the caller then builds everything.
    ///
    /// Each input folder is compared by its tree id first, then entry by entry: a
    /// folder of 100 000 requests is two sorted lists to walk once, with no pathspec
    /// matching per file.
    pub fn changes_since(&self, old: &str) -> Result<Option<Vec<Change>>, SiteError> {
        let Some(old) = Oid::from_str(old)
            .ok()
            .and_then(|id| self.repo.find_tree(id).ok())
        else {
            return Ok(None);
        };
        let new = self.find_tree(self.tree)?;
        let mut changes = Vec::new();
        if old.id() == new.id() {
            return Ok(Some(changes));
        }
        let mut folders = Vec::new();
        for name in SITE_INPUTS {
            let (a, b) = (entry_of(&old, name), entry_of(&new, name));
            if a == b {
                continue;
            }
            let tree = |e: Option<(Oid, Option<ObjectType>)>| match e {
                Some((id, Some(ObjectType::Tree))) => Some(id),
                _ => None,
            };
            match (tree(a), tree(b)) {
                // A file (loket.toml), or a folder that is a file on both sides.
                (None, None) => changes.push(Change {
                    path: name.to_string(),
                    old: a.map(|(id, _)| id),
                    new: b.map(|(id, _)| id),
                }),
                (ta, tb) => folders.push((name, ta, tb)),
            }
        }
        // The folders at once, each through its own handle on the repository (one
        // cannot be shared between threads): most of the time is inflating trees.
        let (path, rev) = (self.repo.path().to_path_buf(), self.rev.as_str());
        let git = |e: git2::Error| SiteError::Git {
            rev: rev.to_string(),
            message: e.message().to_string(),
        };
        let compared: Vec<(Vec<Change>, Listing)> = folders
            .par_iter()
            .map(|&(name, ta, tb)| {
                let repo = Repository::open(&path).map_err(git)?;
                compare_folder(&repo, name, ta, tb).map_err(git)?
            })
            .collect::<Result<_, SiteError>>()?;
        let mut listings = self.listings.borrow_mut();
        for ((name, _, _), (found, new)) in folders.iter().zip(compared) {
            changes.extend(found);
            listings.insert(name.to_string(), new);
        }
        Ok(Some(changes))
    }

    /// The text of a blob, by id.
    pub fn blob_text(&self, path: &str, id: Oid) -> Result<String, SiteError> {
        let blob = self.repo.find_blob(id).map_err(|e| self.git(e))?;
        String::from_utf8(blob.content().to_vec()).map_err(|e| SiteError::Parse {
            path: PathBuf::from(path),
            line: 1,
            column: 1,
            message: format!(
                "not UTF-8 (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        })
    }

    /// The text of each file at `paths` (relative to the instance) in this
    /// revision, `None` where there is none. Each folder's tree is parsed once (a
    /// folder of 100 000 requests is a tree of megabytes, which git does not cache).
    pub fn read_many(&self, paths: &[String]) -> Result<Vec<Option<String>>, SiteError> {
        let top = self.find_tree(self.tree)?;
        let mut folders: HashMap<&str, Option<Tree<'_>>> = HashMap::new();
        let listings = self.listings.borrow();
        let mut out = Vec::with_capacity(paths.len());
        for path in paths {
            let (folder, name) = path.rsplit_once('/').unwrap_or(("", path));
            if let Some(files) = listings.get(folder) {
                let found = files.binary_search_by(|(n, _)| n.as_slice().cmp(name.as_bytes()));
                let blob = found.ok().map(|i| files[i].1);
                out.push(blob.map(|id| self.blob_text(path, id)).transpose()?);
                continue;
            }
            if !folders.contains_key(folder) {
                let tree = if folder.is_empty() {
                    Some(top.clone())
                } else {
                    match top.get_path(Path::new(folder)) {
                        Ok(e) if e.kind() == Some(ObjectType::Tree) => {
                            Some(self.find_tree(e.id())?)
                        }
                        Ok(_) => None,
                        Err(e) if e.code() == git2::ErrorCode::NotFound => None,
                        Err(e) => return Err(self.git(e)),
                    }
                };
                folders.insert(folder, tree);
            }
            let blob = folders[folder]
                .as_ref()
                .and_then(|t| t.get_name(name))
                .filter(|e| e.kind() == Some(ObjectType::Blob))
                .map(|e| e.id());
            out.push(blob.map(|id| self.blob_text(path, id)).transpose()?);
        }
        Ok(out)
    }
}
