//! Revisions by identity. Git resolves a short name like `origin/main` by trying
//! `refs/origin/main`, `refs/tags/origin/main`, `refs/heads/origin/main` and
//! `refs/remotes/origin/main` in turn, so whoever can push a tag named `origin/main`
//! would choose the base loket reads roles from. loket takes a full SHA, a full ref
//! name (`refs/remotes/origin/main`), or a short name only when exactly one ref of
//! that name exists.

/// The places git looks for a short name, in git's own order.
const SHORT_NAME_RULES: &[&str] = &[
    "refs/{}",
    "refs/tags/{}",
    "refs/heads/{}",
    "refs/remotes/{}",
    "refs/remotes/{}/HEAD",
];

/// Resolves `rev` to a commit, refusing a short name that more than one ref holds.
/// Suffixes (`HEAD^1`, `main~2`) apply to the name before them, resolved the same
/// way.
pub fn resolve(repo: &git2::Repository, rev: &str) -> Result<git2::Oid, git2::Error> {
    let split = rev.find(['^', '~', '@', ':']).unwrap_or(rev.len());
    let (name, suffix) = rev.split_at(split);
    let base = exact(repo, name)?;
    if suffix.is_empty() {
        return Ok(base.id());
    }
    let obj = repo.revparse_single(&format!("{}{suffix}", base.id()))?;
    Ok(obj.peel_to_commit()?.id())
}

fn exact<'r>(repo: &'r git2::Repository, name: &str) -> Result<git2::Commit<'r>, git2::Error> {
    let not_found = || git2::Error::from_str(&format!("revision {name:?} not found"));
    if name.len() == 40 && name.bytes().all(|b| b.is_ascii_hexdigit()) {
        return repo.find_commit(git2::Oid::from_str(name)?);
    }
    if name == "HEAD" || name.starts_with("refs/") {
        return repo.find_reference(name)?.peel_to_commit();
    }
    let found: Vec<String> = SHORT_NAME_RULES
        .iter()
        .map(|r| r.replace("{}", name))
        .filter(|full| repo.find_reference(full).is_ok())
        .collect();
    match found.as_slice() {
        [] => Err(not_found()),
        [one] => repo.find_reference(one)?.peel_to_commit(),
        many => Err(git2::Error::from_str(&format!(
            "revision {name:?} is ambiguous: {} all exist; pass the full ref name or a commit SHA",
            many.join(", ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo() -> (tempfile::TempDir, git2::Repository, git2::Oid, git2::Oid) {
        let dir = tempfile::tempdir().unwrap();
        let repo = git2::Repository::init(dir.path()).unwrap();
        let sig = git2::Signature::now("t", "t@example.invalid").unwrap();
        let tree = repo
            .find_tree(repo.index().unwrap().write_tree().unwrap())
            .unwrap();
        let a = repo.commit(None, &sig, &sig, "a", &tree, &[]).unwrap();
        let parent = repo.find_commit(a).unwrap();
        let b = repo
            .commit(None, &sig, &sig, "b", &tree, &[&parent])
            .unwrap();
        repo.reference("refs/remotes/origin/main", a, true, "")
            .unwrap();
        repo.reference("refs/heads/work", b, true, "").unwrap();
        drop((tree, parent));
        (dir, repo, a, b)
    }

    #[test]
    fn a_tag_shadowing_a_remote_branch_is_refused() {
        let (_d, repo, a, b) = repo();
        assert_eq!(resolve(&repo, "origin/main").unwrap(), a);
        repo.reference("refs/tags/origin/main", b, true, "")
            .unwrap();
        let err = resolve(&repo, "origin/main").unwrap_err();
        assert!(err.message().contains("ambiguous"), "{err}");
        // The full name and the SHA still say exactly what they mean.
        assert_eq!(resolve(&repo, "refs/remotes/origin/main").unwrap(), a);
        assert_eq!(resolve(&repo, &a.to_string()).unwrap(), a);
    }

    #[test]
    fn suffixes_apply_to_the_exact_name() {
        let (_d, repo, a, b) = repo();
        assert_eq!(resolve(&repo, &format!("{b}^1")).unwrap(), a);
        assert_eq!(resolve(&repo, "work~1").unwrap(), a);
        assert!(resolve(&repo, "nothing").is_err());
    }
}
