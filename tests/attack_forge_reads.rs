//! Attacks on what loket reads from the forge: a pull request larger than the forge
//! lists (GitHub: 250 commits, 3000 files), a forge whose count disagrees with its
//! list, and Forgejo/Gitea paging (a page cap without `X-Total-Count`, `Link`,
//! `X-HasMore`, a server that ignores `page`). Fail closed: loket judges a pull
//! request it read whole, or refuses with exit 2 and says why; never approves on
//! part of it. Each case runs the real binary at `loket review --pr N` and at the
//! apply gate (`loket review --merge-commit REV --record`).

mod common;
#[path = "common/fake_forge.rs"]
mod fake_forge;

use std::process::Output;

use fake_forge::{
    FORGEJO_MAX_LIMIT, FakeForge, Flavor, GITHUB_MAX_COMMITS, GITHUB_MAX_FILES, Repo, TOKEN,
    Verdict, json_of,
};
use loket::model::record::Progress;

const MAIL: &str = "KDS-24WBW-PV52C";
const AUTHOR: &str = "operator-kudus";
const KADIS: &str = "kadis-kominfo-kudus";
const KABID: &str = "kabid-informatika-kudus";
const KASI: &str = "kasi-tip-kudus";
/// A login with no role: their comment reviews fill pages.
const WATCHER: &str = "pemantau-kudus";
const REFUSES: &str = "refuses to judge";

fn setup(flavor: Flavor) -> (FakeForge, Repo) {
    let forge = FakeForge::start(flavor);
    let repo = Repo::kudus();
    repo.add_request(MAIL);
    forge.open_pull(1, &repo, AUTHOR);
    (forge, repo)
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn approve_all(forge: &FakeForge) {
    forge.with(|s| {
        s.review(1, KADIS, Verdict::Approve, 1, "");
        s.review(1, KABID, Verdict::Approve, 2, "");
        s.review(1, KASI, Verdict::Approve, 3, "");
    });
}

/// `n` comment reviews by a login with no role, from minute `from` on.
fn comments(forge: &FakeForge, n: u32, from: u32) {
    forge.with(|s| {
        for i in 0..n {
            s.review(1, WATCHER, Verdict::Comment, from + i, "dicek");
        }
    });
}

/// Merges PR #1 fast-forward: its merge commit is the head checked out in `repo`.
fn merge(forge: &FakeForge, repo: &Repo) {
    let head = repo.head_sha();
    forge.with(|s| {
        let p = s.pull(1);
        p.merged = true;
        p.merge_commit_sha = Some(head);
    });
}

/// The apply gate CI runs on a push to main.
fn gate(forge: &FakeForge, repo: &Repo) -> Output {
    forge
        .loket(repo, TOKEN)
        .args(["review", "--merge-commit", "HEAD", "--record"])
        .output()
        .expect("run loket")
}

fn recorded(repo: &Repo) -> bool {
    repo.dir.join(Progress::path_for(MAIL)).exists()
}

/// Asserts a refusal (exit 2) whose message contains every one of `says`.
fn assert_refused(out: &Output, says: &[&str]) {
    let err = stderr(out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(out.stdout.is_empty(), "no verdict on a partial read");
    for s in says {
        assert!(err.contains(s), "{s:?} missing: {err}");
    }
}

/// Asserts `loket review --pr 1` and the gate both refuse, and nothing is recorded.
fn assert_refused_everywhere(forge: &FakeForge, repo: &Repo, says: &[&str]) {
    assert_refused(&forge.review(repo, 1, &[]), says);
    merge(forge, repo);
    assert_refused(&gate(forge, repo), says);
    assert!(!recorded(repo), "the gate recorded a partial read");
}

/// A fake commit sha, distinct per `i`.
fn sha(i: usize) -> String {
    format!("{:040x}", 0x00c0_ffee_0000_usize + i)
}

/// Makes PR #1 `n` commits long: `n - 1` by the author, then the head commit by
/// `last_author` (the newest, listed last).
fn commits(forge: &FakeForge, n: usize, last_author: &str) {
    forge.with(|s| {
        let p = s.pull(1);
        let head = p.head_sha.clone();
        p.commits = (0..n - 1)
            .map(|i| (sha(i), Some(AUTHOR.to_string()), Some(AUTHOR.to_string())))
            .chain([(
                head,
                Some(last_author.to_string()),
                Some(AUTHOR.to_string()),
            )])
            .collect();
    });
}

/// Puts `n` other files before the request file (paths sort before `requests/`).
fn files_before_request(forge: &FakeForge, n: usize) {
    forge.with(|s| {
        let p = s.pull(1);
        let bulk = (0..n).map(|i| (format!("lampiran/f{i:04}.txt"), "added".to_string()));
        p.files = bulk.chain(p.files.drain(..)).collect();
    });
}

/// The author of commit #251 approves the request they wrote. GitHub lists 250
/// commits, so A005 cannot see them: refused before anything is judged.
fn commit_251_author_approves_own_request(flavor: Flavor) {
    let (forge, repo) = setup(flavor);
    commits(&forge, GITHUB_MAX_COMMITS + 1, KABID);
    approve_all(&forge);
    match flavor {
        Flavor::GitHub => assert_refused_everywhere(
            &forge,
            &repo,
            &[
                "pull request #1 has 251 commits but GitHub lists at most 250",
                REFUSES,
                "split the pull request",
            ],
        ),
        // Forgejo lists them all (capped pages, no total): A005 sees commit #251.
        Flavor::Forgejo => {
            forge.with(|s| s.forgejo.no_total_count = true);
            let out = forge.review(&repo, 1, &[]);
            assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
            let v = json_of(&out);
            assert_eq!(v["tickets"][0]["pending"]["role"], "kepala-bidang", "{v:#}");
            assert!(v.to_string().contains("A005"), "{v:#}");
            merge(&forge, &repo);
            let out = gate(&forge, &repo);
            assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
            assert!(!recorded(&repo));
        }
    }
}

/// A request file past GitHub's 3000th listed file: unseen, it would pass as "this
/// pull request touches no request".
fn request_file_after_the_3000th(flavor: Flavor) {
    let (forge, repo) = setup(flavor);
    files_before_request(&forge, GITHUB_MAX_FILES);
    match flavor {
        Flavor::GitHub => assert_refused_everywhere(
            &forge,
            &repo,
            &[
                "pull request #1 has 3001 changed files but GitHub lists at most 3000",
                REFUSES,
                "split the pull request",
            ],
        ),
        Flavor::Forgejo => {
            forge.with(|s| s.forgejo.no_total_count = true);
            let out = forge.review(&repo, 1, &[]);
            assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
            let v = json_of(&out);
            assert_eq!(v["tickets"][0]["ticket"], MAIL, "{v:#}");
            merge(&forge, &repo);
            assert_eq!(gate(&forge, &repo).status.code(), Some(1));
            assert!(!recorded(&repo));
        }
    }
}

/// A forge that counts more (or fewer) than it lists is not read whole.
fn count_disagrees_with_list(flavor: Flavor) {
    let name = match flavor {
        Flavor::GitHub => "GitHub",
        Flavor::Forgejo => "Forgejo/Gitea",
    };
    let (forge, repo) = setup(flavor);
    approve_all(&forge);
    forge.with(|s| s.pull(1).changed_files_count = Some(2));
    let files = format!("has 2 changed files by {name}'s count but {name} listed 1");
    assert_refused_everywhere(&forge, &repo, &[&files, REFUSES]);

    let (forge, repo) = setup(flavor);
    approve_all(&forge);
    forge.with(|s| s.pull(1).commits_count = Some(2));
    let msg = format!("has 2 commits by {name}'s count but {name} listed 1");
    assert_refused_everywhere(&forge, &repo, &[&msg, "cannot see them all"]);

    // Listing more than counted: the forge contradicts itself.
    let (forge, repo) = setup(flavor);
    approve_all(&forge);
    commits(&forge, 3, AUTHOR);
    forge.with(|s| s.pull(1).commits_count = Some(2));
    assert_refused_everywhere(&forge, &repo, &["listed 3", "contradicts itself"]);
}

/// Approvals on page 1, a "request changes" on page 2 of a server that caps pages
/// at 30 and sends no X-Total-Count: the return must be seen.
fn request_changes_on_page_two(forge: &FakeForge, repo: &Repo) {
    approve_all(forge);
    comments(forge, FORGEJO_MAX_LIMIT as u32 - 3, 4);
    let reason = "nama sudah dipakai, ajukan nama lain";
    forge.with(|s| s.review(1, KASI, Verdict::RequestChanges, 50, reason));
    let out = forge.review(repo, 1, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json_of(&out);
    assert_eq!(v["tickets"][0]["outcome"], "returned", "{v:#}");
    assert_eq!(v["tickets"][0]["reason"], reason);
    merge(forge, repo);
    let out = gate(forge, repo);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains(MAIL), "{}", stderr(&out));
    assert!(!recorded(repo));
}

/// The review pages the client asked for.
fn review_pages(forge: &FakeForge) -> Vec<String> {
    forge.with(|s| {
        s.log
            .iter()
            .filter(|l| l.contains("/pulls/1/reviews"))
            .filter_map(|l| l.split(['?', '&']).find(|kv| kv.starts_with("page=")))
            .map(str::to_string)
            .collect()
    })
}

#[test]
fn forgejo_page_cap_without_total_count() {
    let (forge, repo) = setup(Flavor::Forgejo);
    forge.with(|s| s.forgejo.no_total_count = true);
    request_changes_on_page_two(&forge, &repo);
    // Nothing said where the list ends: read on to an empty page.
    let pages = review_pages(&forge);
    assert!(pages.contains(&"page=3".to_string()), "{pages:?}");
}

#[test]
fn gitea_link_header_ends_the_list() {
    let (forge, repo) = setup(Flavor::Forgejo);
    forge.with(|s| {
        s.forgejo.no_total_count = true;
        s.forgejo.link = true;
    });
    request_changes_on_page_two(&forge, &repo);
    // Page 2 has no rel="next": no third request.
    let pages = review_pages(&forge);
    assert!(!pages.iter().any(|p| p == "page=3"), "{pages:?}");
    assert!(pages.iter().any(|p| p == "page=2"), "{pages:?}");
}

#[test]
fn gitea_has_more_header_ends_the_list() {
    let (forge, repo) = setup(Flavor::Forgejo);
    forge.with(|s| {
        s.forgejo.no_total_count = true;
        s.forgejo.has_more = true;
    });
    request_changes_on_page_two(&forge, &repo);
    let pages = review_pages(&forge);
    assert!(!pages.iter().any(|p| p == "page=3"), "{pages:?}");
    assert!(pages.iter().any(|p| p == "page=2"), "{pages:?}");
}

/// A server (or proxy) that drops `page` answers page 1 forever: refused, not read
/// 1000 times and not taken as whole.
#[test]
fn forgejo_server_ignoring_page_is_refused() {
    let (forge, repo) = setup(Flavor::Forgejo);
    approve_all(&forge);
    forge.with(|s| {
        s.forgejo.no_total_count = true;
        s.forgejo.ignore_page = true;
    });
    assert_refused_everywhere(
        &forge,
        &repo,
        &[
            "answered page 2 with page 1 again",
            "ignores `page`",
            REFUSES,
        ],
    );
    let requests = forge.with(|s| s.log.len());
    assert!(
        requests < 50,
        "{requests} requests: looped instead of refusing"
    );
}

/// X-Total-Count never ends a list, but a list that disagrees with it is refused.
#[test]
fn forgejo_total_count_disagreeing_with_the_list_is_refused() {
    let (forge, repo) = setup(Flavor::Forgejo);
    approve_all(&forge);
    forge.with(|s| {
        s.forgejo.link = true;
        s.forgejo.total_count_extra = 1;
    });
    assert_refused_everywhere(
        &forge,
        &repo,
        &["counts 2 (X-Total-Count) but listed 1", REFUSES],
    );
}

/// Gitea and Forgejo count other users' pending reviews in X-Total-Count but hide
/// them after paging: a page of drafts comes back empty mid-list. A draft is no
/// refusal, and the empty page is not the end of the list.
#[test]
fn forgejo_hidden_pending_reviews() {
    let (forge, repo) = setup(Flavor::Forgejo);
    approve_all(&forge);
    forge.with(|s| {
        s.forgejo.hide_pending = true;
        s.review(1, WATCHER, Verdict::Pending, 4, "");
    });
    let out = forge.review(&repo, 1, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // Page 1: approvals and comments; page 2: 30 drafts, listed as nothing; page 3:
    // the Kasi takes the approval back.
    comments(&forge, FORGEJO_MAX_LIMIT as u32 - 4, 5);
    forge.with(|s| {
        for i in 0..FORGEJO_MAX_LIMIT as u32 {
            s.review(1, &format!("{WATCHER}-{i}"), Verdict::Pending, 40, "");
        }
    });
    let reason = "nama sudah dipakai, ajukan nama lain";
    forge.with(|s| s.review(1, KASI, Verdict::RequestChanges, 80, reason));
    let out = forge.review(&repo, 1, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(json_of(&out)["tickets"][0]["reason"], reason);
    merge(&forge, &repo);
    assert_eq!(gate(&forge, &repo).status.code(), Some(1));
    assert!(!recorded(&repo));
}

/// Positive control: a pull request exactly at GitHub's caps (250 commits, 3000
/// files), or long Forgejo lists paged every way, is still judged and approved.
fn normal_pull_is_approved(flavor: Flavor) {
    let (forge, repo) = setup(flavor);
    match flavor {
        Flavor::GitHub => {
            commits(&forge, GITHUB_MAX_COMMITS, AUTHOR);
            files_before_request(&forge, GITHUB_MAX_FILES - 1);
        }
        Flavor::Forgejo => {
            commits(&forge, 2 * FORGEJO_MAX_LIMIT + 1, AUTHOR);
            files_before_request(&forge, FORGEJO_MAX_LIMIT);
        }
    }
    approve_all(&forge);
    comments(&forge, 40, 4);
    let out = forge.review(&repo, 1, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json_of(&out);
    assert_eq!(v["tickets"][0]["outcome"], "approved", "{v:#}");
    if flavor == Flavor::Forgejo {
        // The same under every paging a Gitea or Forgejo server may use.
        for (no_total, link, has_more) in [
            (true, false, false),
            (true, true, false),
            (false, false, true),
        ] {
            forge.with(|s| {
                s.forgejo.no_total_count = no_total;
                s.forgejo.link = link;
                s.forgejo.has_more = has_more;
            });
            let out = forge.review(&repo, 1, &[]);
            assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        }
    }
    merge(&forge, &repo);
    let out = gate(&forge, &repo);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(recorded(&repo));
}

macro_rules! both_forges {
    ($($name:ident),* $(,)?) => {
        mod github {
            $( #[test] fn $name() { super::$name(super::Flavor::GitHub) } )*
        }
        mod forgejo {
            $( #[test] fn $name() { super::$name(super::Flavor::Forgejo) } )*
        }
    };
}

both_forges!(
    commit_251_author_approves_own_request,
    request_file_after_the_3000th,
    count_disagrees_with_list,
    normal_pull_is_approved,
);
