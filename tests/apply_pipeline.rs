//! `loket apply`'s pipeline (docs/apply.md): the credentials of the next batch are
//! hashed and sealed, in memory, while the batch before is written, applied,
//! verified and recorded. A run killed in that window (`LOKET_FAULT=prepared:<n>`,
//! debug builds) has no live password without its sealed file, and the next run
//! finishes every ticket.

#[path = "common/apply.rs"]
mod apply;
mod common;

use std::fs;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};

use loket::model::record::Outcome;

use apply::*;

fn file_mail(state: &Path) -> String {
    format!(
        "[backends.mail]\ntype = \"dovecot\"\npasswd-file = \"{s}/mail/passwd\"\n\
         virtual-mailboxes = \"{s}/mail/virtual_mailboxes\"\n",
        s = state.display()
    )
}

/// Accounts in the passwd-file (after the marker line).
fn live_accounts(passwd: &str) -> usize {
    passwd.lines().filter(|l| !l.starts_with('#')).count()
}

#[test]
fn a_run_killed_while_the_next_batch_is_sealed_is_finished_by_the_next() {
    if !cfg!(debug_assertions) {
        eprintln!("LOKET_FAULT points exist in debug builds only");
        return;
    }
    // 250 accounts: batches of 100, so the second and third batches are hashed
    // and sealed while the one before is carried out.
    let n = 250;
    for at in [2, 3] {
        let tmp = tempfile::tempdir().unwrap();
        let id = age::x25519::Identity::generate();
        let state = tmp.path().join("state");
        let inst = bulk_instance(
            tmp.path(),
            &backends(&id.to_public().to_string(), &file_mail(&state), &state),
            n,
        );
        let out = common::loket()
            .arg("-C")
            .arg(&inst)
            .arg("apply")
            .env_remove("GITHUB_RUN_ID")
            .env("LOKET_FAULT", format!("prepared:{at}"))
            .output()
            .unwrap();
        assert_eq!(
            out.status.signal(),
            Some(9),
            "prepared:{at}: {}",
            text(&out)
        );
        // Whatever was live at the kill has its password sealed in the outbox; the
        // batch made in memory left nothing.
        let passwd = fs::read_to_string(state.join("mail/passwd")).unwrap_or_default();
        let live = live_accounts(&passwd);
        assert!(live < n, "prepared:{at}: all {n} live before the kill");
        assert_every_password_opens(&passwd, &state, &id, live);
        let plan = loket(&inst, &["plan"]);
        assert_eq!(code(&plan), 2, "prepared:{at}: {}", text(&plan));

        let last = loket(&inst, &["apply", "--run", "finish"]);
        assert_eq!(code(&last), 0, "prepared:{at}: {}", text(&last));
        let plan = loket(&inst, &["plan"]);
        assert_eq!(code(&plan), 0, "prepared:{at}: {}", text(&plan));
        assert!(
            outcomes(&inst).values().all(|o| *o == Outcome::Done),
            "prepared:{at}"
        );
        assert_eq!(temps(tmp.path()), Vec::<PathBuf>::new(), "prepared:{at}");
        assert!(!state.join("unverified.json").exists());
        assert_eq!(fs::read(state.join("journal.jsonl")).unwrap(), b"");
        let passwd = fs::read_to_string(state.join("mail/passwd")).unwrap();
        assert_every_password_opens(&passwd, &state, &id, n);
    }
}
