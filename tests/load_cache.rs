//! The parse cache (`state/cache/load-v1.bin`) changes nothing but speed: a warm load
//! equals a cold one and one without the cache (values, spans, failures, and
//! `loket check`'s output byte for byte); changes, deletions and additions are seen,
//! even a same-size edit with its mtime put back; a corrupt, truncated or foreign
//! cache file and an unwritable cache dir are ignored.
//!
//! Files younger than the racy window are never cached, so each test lets its fresh
//! copy settle first (a sleep, not a timed assertion).
mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use loket::model::Instance;
use loket::model::cache::{LEGACY_LOAD_CACHE, LOAD_CACHE, LOAD_CACHES, RACY};

const ACCOUNT: &str = "accounts/mail/budi.santoso@kuduskab.go.id.toml";
const SYNTAX: &str = "requests/KDS-SYNTX-ERROR.toml";
const SCHEMA: &str = "accounts/mail/schema.error@kuduskab.go.id.toml";
const LATIN1: &str = "requests/KDS-LATIN-ONEXX.toml";

/// A copy of the bundled instance plus files that fail: bad syntax, a wrong field,
/// bytes that are not UTF-8 and a file of the wrong extension.
fn instance() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = common::repo_root();
    fs::copy(root.join("loket.toml"), dir.path().join("loket.toml")).unwrap();
    for sub in ["requests", "accounts"] {
        for e in walkdir::WalkDir::new(root.join(sub)) {
            let e = e.unwrap();
            let to = dir.path().join(e.path().strip_prefix(&root).unwrap());
            if e.file_type().is_dir() {
                fs::create_dir_all(&to).unwrap();
            } else {
                fs::copy(e.path(), &to).unwrap();
            }
        }
    }
    let d = dir.path();
    fs::write(d.join(SYNTAX), "ticket = \"KDS-SYNTX-ERROR\"\nkind = \n").unwrap();
    let account = fs::read_to_string(d.join(ACCOUNT)).unwrap();
    fs::write(d.join(SCHEMA), format!("{account}colour = \"blue\"\n")).unwrap();
    fs::write(d.join(LATIN1), b"ticket = \"caf\xe9\"\n").unwrap();
    fs::write(d.join("requests/notes.txt"), "not a request\n").unwrap();
    dir
}

/// Waits until every file written so far is old enough to be cached.
fn settle() {
    std::thread::sleep(RACY + std::time::Duration::from_millis(200));
}

/// Everything a load produced, spans included (`Debug` of `Spanned` shows them).
fn snapshot(inst: &Instance) -> String {
    let paths: Vec<_> = inst.sources.iter().map(|(_, f)| &f.path).collect();
    format!(
        "{paths:#?}\nconfig file {:?}\n{:#?}\n{:#?}\n{:#?}\n{:#?}\nconfig {}",
        inst.config_file,
        inst.requests,
        inst.mail_accounts,
        inst.server_accounts,
        inst.failures,
        inst.config.is_some()
    )
}

fn load(dir: &Path) -> Instance {
    Instance::load(dir).unwrap()
}

fn reference(dir: &Path) -> String {
    snapshot(&Instance::load_uncached(dir).unwrap())
}

/// Whether the file at `rel` came from the cache: its text was not read.
fn from_cache(inst: &Instance, rel: &str) -> bool {
    let id = inst.sources.find(Path::new(rel)).expect(rel);
    !inst.sources.get(id).text.is_loaded()
}

fn cache_file(dir: &Path) -> PathBuf {
    dir.join(LOAD_CACHE)
}

#[test]
fn warm_load_equals_cold_and_uncached() {
    let dir = instance();
    let d = dir.path();
    settle();
    let expected = reference(d);
    assert!(!cache_file(d).exists(), "an uncached load writes no cache");
    assert!(expected.contains("Syntax") && expected.contains("Schema"));
    assert!(expected.contains("not UTF-8"));

    let cold = load(d);
    assert_eq!(snapshot(&cold), expected);
    assert!(!from_cache(&cold, ACCOUNT));
    assert!(cache_file(d).exists());

    let warm = load(d);
    assert_eq!(snapshot(&warm), expected);
    assert!(
        from_cache(&warm, ACCOUNT),
        "a settled file is served from the cache"
    );
    for failed in [SYNTAX, SCHEMA, LATIN1, "loket.toml"] {
        assert!(!from_cache(&warm, failed), "{failed} is read every time");
    }
    // Text not read at load is read when asked for, and is the file's.
    let id = warm.sources.find(Path::new(ACCOUNT)).unwrap();
    let text = fs::read_to_string(d.join(ACCOUNT)).unwrap();
    assert_eq!(&*warm.sources.get(id).text, text.as_str());
}

fn check(dir: &Path, args: &[&str], no_cache_env: bool) -> Output {
    let mut cmd = common::loket();
    cmd.arg("-C").arg(dir).arg("check").args(args);
    cmd.env_remove("GITHUB_ACTIONS")
        .env_remove("LOKET_NO_CACHE");
    if no_cache_env {
        cmd.env("LOKET_NO_CACHE", "1");
    }
    cmd.output().unwrap()
}

fn output(o: &Output) -> String {
    format!(
        "exit {:?}\n{}{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn check_output_is_byte_identical_cold_warm_and_without_cache() {
    let dir = instance();
    let d = dir.path();
    settle();
    for format in ["human", "json"] {
        let args = ["--format", format];
        let uncached = output(&check(d, &["--no-cache", "--format", format], false));
        assert!(!cache_file(d).exists(), "--no-cache writes no cache");
        assert_eq!(output(&check(d, &args, true)), uncached);
        assert!(!cache_file(d).exists(), "LOKET_NO_CACHE=1 writes no cache");
        assert!(uncached.contains("exit Some(1)"), "{uncached}");
        assert!(uncached.contains("KDS-SYNTX-ERROR.toml"), "{uncached}");
        assert!(uncached.contains("not UTF-8"), "{uncached}");

        let cold = output(&check(d, &args, false));
        assert!(cache_file(d).exists());
        let written = fs::metadata(cache_file(d)).unwrap();
        let warm = output(&check(d, &args, false));
        assert_eq!(cold, uncached);
        assert_eq!(warm, uncached);
        // A run that changed nothing leaves the cache file alone (no rewrite).
        let after = fs::metadata(cache_file(d)).unwrap();
        use std::os::unix::fs::MetadataExt;
        assert_eq!(
            (after.ino(), after.mtime_nsec()),
            (written.ino(), written.mtime_nsec())
        );
        fs::remove_file(cache_file(d)).unwrap();
    }
}

#[test]
fn edits_deletions_and_additions_are_seen() {
    let dir = instance();
    let d = dir.path();
    settle();
    load(d);
    assert!(from_cache(&load(d), ACCOUNT));

    // Same size, and the mtime put back as it was: only ctime tells.
    let path = d.join(ACCOUNT);
    let mtime = fs::metadata(&path).unwrap().modified().unwrap();
    let old = fs::read_to_string(&path).unwrap();
    let new = old.replacen("Budi Santoso", "Budi Santosa", 1);
    assert_ne!(old, new);
    assert_eq!(old.len(), new.len());
    fs::write(&path, &new).unwrap();
    let written = std::time::Instant::now();
    let f = fs::File::options().write(true).open(&path).unwrap();
    f.set_times(fs::FileTimes::new().set_modified(mtime))
        .unwrap();
    drop(f);
    assert_eq!(fs::metadata(&path).unwrap().modified().unwrap(), mtime);
    let inst = load(d);
    assert!(snapshot(&inst).contains("Budi Santosa"));
    assert_eq!(snapshot(&inst), reference(d));
    // Just changed, so not cached yet: read again next time, not trusted. (Unless this
    // thread stalled past the racy window, when storing it was right.)
    let again = load(d);
    if written.elapsed() < RACY {
        assert!(!from_cache(&again, ACCOUNT));
    }

    // Deleted and added files.
    let request = fs::read_dir(d.join("requests"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "toml") && !p.ends_with(SYNTAX))
        .unwrap();
    let text = fs::read_to_string(&request).unwrap();
    fs::remove_file(&request).unwrap();
    fs::write(d.join("requests/KDS-ADDED-AGAIN.toml"), &text).unwrap();
    let inst = load(d);
    let rel = request.strip_prefix(d).unwrap();
    assert!(inst.sources.find(rel).is_none());
    assert!(
        inst.sources
            .find(Path::new("requests/KDS-ADDED-AGAIN.toml"))
            .is_some()
    );
    assert_eq!(snapshot(&inst), reference(d));
}

#[test]
fn corrupt_foreign_or_truncated_cache_is_ignored_and_rewritten() {
    let dir = instance();
    let d = dir.path();
    settle();
    let expected = reference(d);
    load(d);
    let good = fs::read(cache_file(d)).unwrap();
    // The header names the binary, starting with the package version.
    let version = format!("{} ", env!("CARGO_PKG_VERSION"));
    let at = good
        .windows(version.len())
        .position(|w| w == version.as_bytes())
        .expect("binary identity in the header");
    let mut foreign = good.clone();
    foreign[at] = b'9';
    let mut flipped = good.clone();
    let last = flipped.len() - 3;
    flipped[last] ^= 0x20;
    let mut random = vec![0u8; good.len()];
    rand::fill(&mut random[..]);
    let cases: [(&str, Vec<u8>); 6] = [
        ("empty", Vec::new()),
        ("truncated", good[..good.len() / 2].to_vec()),
        ("one byte short", good[..good.len() - 1].to_vec()),
        ("another binary", foreign),
        ("a flipped bit", flipped),
        ("random bytes", random),
    ];
    for (what, bytes) in cases {
        fs::write(cache_file(d), &bytes).unwrap();
        let inst = load(d);
        assert_eq!(snapshot(&inst), expected, "{what}");
        assert!(!from_cache(&inst, ACCOUNT), "{what}: not trusted");
        let again = load(d);
        assert!(from_cache(&again, ACCOUNT), "{what}: rewritten");
        assert_eq!(snapshot(&again), expected, "{what}");
    }
}

#[test]
fn unwritable_cache_dir_loads_without_it() {
    let dir = instance();
    let d = dir.path();
    settle();
    let expected = reference(d);
    // `state` is a file, so no cache dir can be made (read-only modes do not stop
    // root, who runs CI).
    fs::write(d.join("state"), "").unwrap();
    assert_eq!(snapshot(&load(d)), expected);
    let again = load(d);
    assert_eq!(snapshot(&again), expected);
    assert!(!from_cache(&again, ACCOUNT));
}

/// `records/` go through their own cache file, with the same guarantees.
#[test]
fn records_load_the_same_through_the_cache() {
    use loket::model::cache::RECORDS_CACHE;
    use loket::model::record::Progress;
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let root = common::repo_root();
    fs::create_dir_all(d.join("records")).unwrap();
    for e in fs::read_dir(root.join("records")).unwrap() {
        let p = e.unwrap().path();
        fs::copy(&p, d.join("records").join(p.file_name().unwrap())).unwrap();
    }
    let expected = |d: &Path| {
        let mut v: Vec<Progress> = fs::read_dir(d.join("records"))
            .unwrap()
            .map(|e| toml::from_str(&fs::read_to_string(e.unwrap().path()).unwrap()).unwrap())
            .collect();
        v.sort_by(|a, b| a.ticket.cmp(&b.ticket));
        v
    };
    settle();
    let want = expected(d);
    assert!(want.len() > 5 && want.iter().any(|p| !p.events.is_empty()));
    assert_eq!(loket::site::load_records(d).unwrap(), want);
    assert!(d.join(RECORDS_CACHE).exists());
    let written = fs::metadata(d.join(RECORDS_CACHE))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(loket::site::load_records(d).unwrap(), want);
    let unchanged = fs::metadata(d.join(RECORDS_CACHE))
        .unwrap()
        .modified()
        .unwrap();
    assert_eq!(
        written, unchanged,
        "a warm load that changed nothing does not rewrite"
    );

    // An edit of the same size with the mtime put back is seen.
    let first = d.join("records").join(format!("{}.toml", want[0].ticket));
    let mtime = fs::metadata(&first).unwrap().modified().unwrap();
    let text = fs::read_to_string(&first).unwrap();
    // One second later: the same size (the ticket must stay its file's name).
    let edited = text.replacen(":00+07:00\"", ":01+07:00\"", 1);
    assert!(edited != text && edited.len() == text.len());
    fs::write(&first, &edited).unwrap();
    let f = fs::File::options().write(true).open(&first).unwrap();
    f.set_times(fs::FileTimes::new().set_modified(mtime))
        .unwrap();
    drop(f);
    let got = loket::site::load_records(d).unwrap();
    assert_eq!(got, expected(d));
    assert!(got != want, "the edit is seen");

    // A broken record fails with the same error with or without a cache file.
    fs::write(d.join(RECORDS_CACHE), b"junk").unwrap();
    fs::write(&first, "ticket = \n").unwrap();
    let err = loket::site::load_records(d).unwrap_err().to_string();
    assert!(err.contains(":1:"), "{err}");
    assert!(err.contains(&*first.to_string_lossy()), "{err}");
}

#[test]
fn an_accounts_only_load_leaves_the_requests_cache_alone() {
    use std::os::unix::fs::MetadataExt;
    let dir = instance();
    let d = dir.path();
    settle();
    let full = load(d);
    let requests_cache = d.join(LOAD_CACHES[1].1);
    let before = fs::metadata(&requests_cache).unwrap();

    let plan = Instance::load_accounts(d).unwrap();
    assert!(plan.requests.is_empty() && plan.requests_skipped);
    assert!(!full.requests.is_empty() && !full.requests_skipped);
    assert_eq!(
        format!("{:?}", plan.mail_accounts),
        format!("{:?}", full.mail_accounts)
    );
    assert!(
        from_cache(&plan, ACCOUNT),
        "accounts come from their own cache"
    );
    let after = fs::metadata(&requests_cache).unwrap();
    assert_eq!(
        (after.ino(), after.mtime_nsec()),
        (before.ino(), before.mtime_nsec())
    );

    // Without any cache yet, an accounts-only load writes the accounts' cache only,
    // and the one-file cache of earlier builds (personal data) goes.
    fs::remove_file(d.join(LOAD_CACHE)).unwrap();
    fs::remove_file(&requests_cache).unwrap();
    fs::write(d.join(LEGACY_LOAD_CACHE), "old").unwrap();
    Instance::load_accounts(d).unwrap();
    assert!(d.join(LOAD_CACHE).exists() && !requests_cache.exists());
    assert!(!d.join(LEGACY_LOAD_CACHE).exists());
    assert!(from_cache(&Instance::load_accounts(d).unwrap(), ACCOUNT));
}
