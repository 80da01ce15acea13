//! Takeover by reset: someone who is not the holder files a `mail-reset` of the
//! holder's account with their own recipient key. `loket check --base` refuses it
//! (L044 who may ask, L045 the registered recipient); and if reviewers approve it
//! anyway, apply still seals the new password to the key registered when the account
//! was made, so the requester cannot open it. Real git history, the fake forge,
//! the file-based Dovecot backend.
mod common;
#[path = "common/fake_forge.rs"]
mod fake_forge;
#[path = "common/office.rs"]
mod office;

use std::io::Read as _;

use fake_forge::{Flavor, git};
use office::*;

const ADDRESS: &str = "dimas.hartono@kuduskab.go.id";

fn with_recipient(request: &str, recipient: &str) -> String {
    request.replacen(
        "contact = ",
        &format!("recipient = \"{recipient}\"\ncontact = "),
        1,
    )
}

/// A reset of Dimas's account asked by someone else, with their key.
fn reset_by_other(ticket: &str, attacker: &str) -> String {
    let create = Office::bundled(&format!("requests/{MAIL}.toml"));
    let r = create
        .replace(MAIL, ticket)
        .replace("kind = \"mail-create\"", "kind = \"mail-reset\"")
        .replace(
            "submitted = 2026-09-18T08:00:00",
            "submitted = 2026-10-01T08:00:00",
        )
        .replace("name = \"Dimas Hartono\"", "name = \"Orang Lain\"")
        .replace("197608051999061019", "198001012005011002")
        .replace("position = \"Pengelola Keuangan\"", "position = \"Staf\"");
    with_recipient(&r, attacker)
}

fn opens(path: &std::path::Path, id: &age::x25519::Identity) -> bool {
    let bytes = std::fs::read(path).unwrap();
    let Ok(d) = age::Decryptor::new(&bytes[..]) else {
        return false;
    };
    let mut out = String::new();
    d.decrypt(std::iter::once(id as &dyn age::Identity))
        .is_ok_and(|mut r| r.read_to_string(&mut out).is_ok())
}

fn a_reset_never_delivers_to_the_requester(flavor: Flavor) {
    let holder = age::x25519::Identity::generate();
    let attacker = age::x25519::Identity::generate();
    let mut o = Office::new(flavor);
    // The holder's own request registers their key.
    let mut files = Office::mail_files();
    files[0].1 = files[0]
        .1
        .as_deref()
        .map(|t| with_recipient(t, &holder.to_public().to_string()));
    let n = o.open(OPERATOR, &files);
    o.approve_sop(n);
    o.merge(n);
    let first = o.apply();
    assert_eq!(code(&first), 0, "{}", text(&first));
    let created = o.dir.join(format!("state/outbox/{MAIL}.age"));
    assert!(opens(&created, &holder));

    // Someone else asks for a reset, with their own key.
    let reset = loket::ticket::Ticket::generate("KDS").to_string();
    let base = o.head();
    let account = Office::bundled(MAIL_ACCOUNT).replace(
        &format!("[\"{MAIL}\"]"),
        &format!("[\"{MAIL}\", \"{reset}\"]"),
    );
    let r = o.open(
        "orang-lain",
        &[
            (
                &format!("requests/{reset}.toml"),
                Some(reset_by_other(&reset, &attacker.to_public().to_string())),
            ),
            (MAIL_ACCOUNT, Some(account)),
        ],
    );
    git(&o.dir, &["checkout", "-q", &format!("pr-{r}")]);
    let check = o.loket(&["check", "--base", &base]);
    git(&o.dir, &["checkout", "-q", "main"]);
    let out = text(&check);
    assert_eq!(code(&check), 1, "{out}");
    assert!(out.contains("L044") && out.contains("L045"), "{out}");

    // The reviewers are fooled and approve; the merge goes through.
    o.approve_sop(r);
    o.merge(r);
    let apply = o.apply();
    assert_eq!(code(&apply), 0, "{}", text(&apply));
    let sealed = o.dir.join(format!("state/outbox/{reset}.age"));
    assert!(sealed.exists(), "{}", text(&apply));
    assert!(
        !opens(&sealed, &attacker),
        "the requester must not open the new password"
    );
    assert!(opens(&sealed, &holder), "the registered key opens it");
    assert!(o.passwd().contains(ADDRESS));
}

fn code(o: &std::process::Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

#[test]
fn a_reset_never_delivers_to_the_requester_github() {
    a_reset_never_delivers_to_the_requester(Flavor::GitHub);
}

#[test]
fn a_reset_never_delivers_to_the_requester_forgejo() {
    a_reset_never_delivers_to_the_requester(Flavor::Forgejo);
}
