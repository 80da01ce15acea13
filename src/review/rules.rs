//! The approval rules, each a named function under a stable code (`A001`…) in one
//! list, [`RULES`]. A rule answers "why does this review not count?" with `Some(reason)`.
//!
//! Review rules judge a review on its own (state, commit, who wrote it); step rules
//! judge it against one SOP step (role on the base branch, order, distinct people).
//! Requirements (`A010`, `A011`) add what a pull request needs beyond its reviews and
//! are applied in [`super::evaluate`].

use std::collections::BTreeSet;

use jiff::Timestamp;

use crate::forge::{PullData, Review, ReviewState};
use crate::model::Config;

/// Facts about the pull request every review rule sees.
pub struct PrFacts<'a> {
    pub data: &'a PullData,
    /// Logins of the PR author and every commit author and committer, lower-case.
    pub contributors: BTreeSet<String>,
    /// The review id that is each login's latest decisive review.
    pub latest: BTreeSet<u64>,
}

/// When a step completed: the approval's instant and the forge's review id, which
/// orders reviews submitted in the same second (the forge numbers them as they come).
pub type Done = (Timestamp, u64);

/// Facts about one SOP step a review might complete.
pub struct StepFacts<'a> {
    /// `loket.toml` as on the base branch.
    pub config: &'a Config,
    pub role: &'a str,
    /// Whether the SOP wants steps in order, and when the previous step completed.
    pub ordered: bool,
    pub previous_done: Option<Done>,
    pub distinct_people: bool,
    /// Logins that completed earlier review steps of this request.
    pub used: &'a BTreeSet<String>,
}

/// Judges a review on its own.
pub type ReviewFn = fn(&PrFacts, &Review) -> Option<String>;
/// Judges an approval, given at the instant passed, against one SOP step.
pub type StepFn = fn(&StepFacts, &Review, Timestamp) -> Option<String>;

pub enum Check {
    Review(ReviewFn),
    Step(StepFn),
    /// Applied by the evaluation itself; listed for `loket review --rules` and docs.
    Requirement,
}

pub struct Rule {
    pub code: &'static str,
    pub name: &'static str,
    pub summary: &'static str,
    /// The rule in Bahasa Indonesia, for the PR comment.
    pub summary_id: &'static str,
    pub check: Check,
}

pub const FORMAL_APPROVAL: Rule = Rule {
    code: "A001",
    name: "formal-approval",
    summary: "only a submitted review in state approved counts; comments, labels and review bodies never do",
    summary_id: "hanya review resmi berstatus \"Approve\" yang dihitung; komentar, label dan isi review tidak pernah dihitung",
    check: Check::Review(formal_approval),
};
pub const NOT_DISMISSED: Rule = Rule {
    code: "A002",
    name: "not-dismissed",
    summary: "a dismissed review does not count",
    summary_id: "review yang di-dismiss tidak dihitung; setujui lagi",
    check: Check::Review(not_dismissed),
};
pub const CURRENT_HEAD: Rule = Rule {
    code: "A003",
    name: "current-head",
    summary: "the review was given on the pull request's current head commit (not stale)",
    summary_id: "persetujuan diberikan pada commit lama (sebelum push terakhir); setujui lagi",
    check: Check::Review(current_head),
};
pub const NOT_PR_AUTHOR: Rule = Rule {
    code: "A004",
    name: "not-pr-author",
    summary: "the reviewer did not open the pull request",
    summary_id: "pembuka pull request tidak boleh menyetujui permohonannya sendiri",
    check: Check::Review(not_pr_author),
};
pub const NOT_COMMIT_AUTHOR: Rule = Rule {
    code: "A005",
    name: "not-commit-author",
    summary: "the reviewer is neither author nor committer of any of the pull request's commits",
    summary_id: "penulis atau committer salah satu commit tidak boleh menyetujui",
    check: Check::Review(not_commit_author),
};
pub const LATEST_DECIDES: Rule = Rule {
    code: "A006",
    name: "latest-review-decides",
    summary: "a reviewer's latest review decides: changes requested after an approval withdraws it",
    summary_id: "review terakhir peninjau yang menentukan; permintaan perubahan setelah persetujuan membatalkannya",
    check: Check::Review(latest_decides),
};
pub const ROLE_ON_BASE: Rule = Rule {
    code: "A007",
    name: "role-on-base",
    summary: "the reviewer holds the step's role in loket.toml as on the base branch, or acts for it (Plt/Plh/Pj) under a [[delegations]] entry there whose window holds the review's time",
    summary_id: "peninjau tidak memegang peran langkah ini di loket.toml cabang dasar, dan tidak menjabat Plt/Plh/Pj untuknya pada waktu review",
    check: Check::Step(role_on_base),
};
pub const SOP_ORDER: Rule = Rule {
    code: "A008",
    name: "sop-order",
    summary: "an approval counts for a step only if given after the previous step completed (unless ordered = false)",
    summary_id: "diberikan sebelum langkah SOP sebelumnya selesai; setujui lagi",
    check: Check::Step(sop_order),
};
pub const DISTINCT_PEOPLE: Rule = Rule {
    code: "A009",
    name: "distinct-people",
    summary: "one person completes at most one review step of a request (unless distinct-people = false)",
    summary_id: "satu orang hanya boleh menyelesaikan satu langkah review per permohonan",
    check: Check::Step(distinct_people),
};
pub const CONFIG_CHANGE: Rule = Rule {
    code: "A010",
    name: "config-change-approval",
    summary: "a pull request changing anything outside requests/ and accounts/ (loket.toml, templates, site, source, workflows…), or accounts/ without a request, needs an approval by approvals.config-change-role",
    summary_id: "perubahan di luar requests/ dan accounts/ (loket.toml, templat, situs, kode, workflow…) perlu persetujuan peran approvals.config-change-role",
    check: Check::Requirement,
};
pub const CHECK_PASSES: Rule = Rule {
    code: "A011",
    name: "check-passes",
    summary: "automatic steps (done-by = \"check\") complete only when `loket check` passes on the head",
    summary_id: "langkah otomatis selesai hanya bila `loket check` lolos pada head",
    check: Check::Requirement,
};

pub const RECORDS_BY_CI: Rule = Rule {
    code: "A012",
    name: "records-by-ci",
    summary: "a pull request never adds, edits or deletes anything under records/: CI writes the approval trail from the forge's reviews",
    summary_id: "pull request tidak boleh menambah, mengubah atau menghapus berkas di records/; jejak persetujuan ditulis oleh CI",
    check: Check::Requirement,
};

pub const APPROVED_HISTORY: Rule = Rule {
    code: "A013",
    name: "approved-history",
    summary: "loket apply changes only what rests on approved pull requests: every commit on the branch that wrote loket.toml, the change's account file or its requests is the merge of a pull request approved as a whole, and the one that added each request carries its approvals",
    summary_id: "apply hanya menerapkan perubahan dari pull request yang disetujui: setiap commit yang menulis loket.toml, berkas akun atau permohonannya harus merge pull request yang disetujui",
    check: Check::Requirement,
};
pub const MERGED_AS_REVIEWED: Rule = Rule {
    code: "A014",
    name: "merged-as-reviewed",
    summary: "a pull request's merge commit changes only the paths the pull request lists, its requests and accounts exactly as on the reviewed head",
    summary_id: "commit merge hanya mengubah berkas yang ada di pull request, isinya sama dengan head yang ditinjau",
    check: Check::Requirement,
};

/// Every approval rule, in code order.
pub static RULES: &[Rule] = &[
    FORMAL_APPROVAL,
    NOT_DISMISSED,
    CURRENT_HEAD,
    NOT_PR_AUTHOR,
    NOT_COMMIT_AUTHOR,
    LATEST_DECIDES,
    ROLE_ON_BASE,
    SOP_ORDER,
    DISTINCT_PEOPLE,
    CONFIG_CHANGE,
    CHECK_PASSES,
    RECORDS_BY_CI,
    APPROVED_HISTORY,
    MERGED_AS_REVIEWED,
    super::followup::FOLLOW_UP_PR,
    super::followup::DRAFTER,
    super::followup::RECEIPT_BY,
];

/// Review rules, in code order: the first that fails is reported.
pub fn review_rules() -> impl Iterator<Item = (&'static Rule, ReviewFn)> {
    RULES.iter().filter_map(|r| match r.check {
        Check::Review(f) => Some((r, f)),
        _ => None,
    })
}

pub fn step_rules() -> impl Iterator<Item = (&'static Rule, StepFn)> {
    RULES.iter().filter_map(|r| match r.check {
        Check::Step(f) => Some((r, f)),
        _ => None,
    })
}

fn formal_approval(_: &PrFacts, r: &Review) -> Option<String> {
    match r.state {
        ReviewState::Approved | ReviewState::Dismissed => None,
        ReviewState::Commented => {
            Some("a comment, not an approval: only a review submitted as \"Approve\" counts".into())
        }
        ReviewState::ChangesRequested => Some("changes requested, not an approval".into()),
        ReviewState::Pending => Some("review not yet submitted".into()),
        ReviewState::ReviewRequested => Some("a review request, not a review".into()),
        ReviewState::Other => Some("unknown review state".into()),
    }
}

fn not_dismissed(_: &PrFacts, r: &Review) -> Option<String> {
    r.dismissed
        .then(|| "the review was dismissed; approve again".into())
}

fn current_head(f: &PrFacts, r: &Review) -> Option<String> {
    let head = &f.data.pull.head_sha;
    if r.stale || r.commit_id.as_deref() != Some(head.as_str()) {
        let on = r.commit_id.as_deref().map_or("an unknown commit", short);
        return Some(format!(
            "stale: given on {on}, the head is now {}; approve again",
            short(head)
        ));
    }
    None
}

fn not_pr_author(f: &PrFacts, r: &Review) -> Option<String> {
    f.data
        .pull
        .author
        .eq_ignore_ascii_case(&r.login)
        .then(|| "the reviewer opened this pull request (self-approval)".into())
}

fn not_commit_author(f: &PrFacts, r: &Review) -> Option<String> {
    let login = r.login.to_ascii_lowercase();
    let hit = f.data.commits.iter().find(|c| {
        [&c.author_login, &c.committer_login]
            .iter()
            .any(|l| l.as_deref().is_some_and(|l| l.eq_ignore_ascii_case(&login)))
    });
    hit.map(|c| {
        format!(
            "the reviewer authored or committed {} of this pull request",
            short(&c.sha)
        )
    })
}

fn latest_decides(f: &PrFacts, r: &Review) -> Option<String> {
    (!f.latest.contains(&r.id)).then(|| "superseded by the reviewer's later review".into())
}

fn role_on_base(f: &StepFacts, r: &Review, at: Timestamp) -> Option<String> {
    let holds = super::roles::holds_role(f.config, f.role, &r.login, at).is_some();
    (!holds).then(|| {
        format!(
            "{} does not hold role {} in loket.toml on the base branch at {at}, nor acts for it under a delegation in force then (roles and delegations added in the pull request itself do not count)",
            r.login, f.role
        )
    })
}

fn sop_order(f: &StepFacts, r: &Review, at: Timestamp) -> Option<String> {
    match f.previous_done {
        Some((prev, id)) if f.ordered && (at, r.id) < (prev, id) => Some(format!(
            "given before the previous SOP step was completed ({prev}); approve again"
        )),
        _ => None,
    }
}

fn distinct_people(f: &StepFacts, r: &Review, _: Timestamp) -> Option<String> {
    (f.distinct_people && f.used.contains(&r.login.to_ascii_lowercase())).then(|| {
        format!(
            "{} already completed an earlier step; this SOP needs a different person",
            r.login
        )
    })
}

pub fn short(sha: &str) -> &str {
    sha.get(..7).unwrap_or(sha)
}

/// Looks a rule up by code (case-insensitive) or name.
pub fn rule(code_or_name: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .find(|r| r.code.eq_ignore_ascii_case(code_or_name) || r.name == code_or_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_ordered_and_well_formed() {
        let codes: Vec<_> = RULES.iter().map(|r| r.code).collect();
        let mut sorted = codes.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(codes, sorted);
        assert!(codes.iter().all(|c| c.len() == 4 && c.starts_with('A')));
        assert!(rule("a003").is_some() && rule("sop-order").is_some());
    }
}
