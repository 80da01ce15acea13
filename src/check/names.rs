//! L024: one address, one account. Addresses are compared by a collision key so that
//! names people or mail clients would confuse count as the same name.

use rayon::prelude::*;
use std::cell::OnceCell;
use std::collections::{HashMap, HashSet};

use unicode_normalization::UnicodeNormalization;
use unicode_security::confusable_detection::skeleton;

use super::mail::{Written, split};
use super::{Context, Rule};
use crate::diag::{Diagnostic, Label};
use crate::model::RequestKind;
use crate::model::config::Naming;

pub const UNIQUE: Rule = Rule {
    code: "L024",
    name: "mail-unique",
    summary: "no two accounts or pending requests share an address (case, Unicode look-alikes and, by policy, separators ignored)",
    run: unique,
};

/// The key two local parts collide on: NFKC, lower case, the UTS #39 confusable
/// skeleton (so a Cyrillic `а` or a digit `1` standing for `l` give the same key),
/// lower case again, and with `naming.separators-collide` no `.`, `-` or `_`.
pub fn collision_key(local: &str, naming: &Naming) -> String {
    let keep = |c: &char| !(naming.separators_collide && matches!(c, '.' | '-' | '_'));
    if local.is_ascii() {
        // ASCII is its own NFKC and NFD, so the skeleton is per character: look it up.
        let table = ascii_skeletons();
        return local
            .bytes()
            .flat_map(|b| table[usize::from(b.to_ascii_lowercase())].chars())
            .filter(keep)
            .collect();
    }
    let folded: String = local.nfkc().flat_map(char::to_lowercase).collect();
    skeleton(&folded)
        .flat_map(char::to_lowercase)
        .filter(keep)
        .collect()
}

/// The lower-cased skeleton of each ASCII character, computed once.
fn ascii_skeletons() -> &'static [String; 128] {
    static TABLE: std::sync::OnceLock<[String; 128]> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        std::array::from_fn(|i| {
            let c = char::from(i as u8).to_string();
            skeleton(&c).flat_map(char::to_lowercase).collect()
        })
    })
}

/// The collision key of a whole address: the local part's key and the domain.
pub fn address_key(addr: &str, naming: &Naming) -> String {
    match split(addr) {
        Some((local, domain)) => {
            let domain: String = domain.nfkc().flat_map(char::to_lowercase).collect();
            format!("{}@{domain}", collision_key(local, naming))
        }
        None => collision_key(addr, naming),
    }
}

struct Entry<'a> {
    w: Written<'a>,
    account: bool,
}

fn unique(cx: &Context, out: &mut Vec<Diagnostic>) {
    let default = Naming::default();
    let naming = cx.config.map_or(&default, |c| &c.naming);
    // A mail-create request its account file lists is that account, not a rival.
    let pending = cx.inst.requests.iter().filter_map(|r| {
        (r.value.kind() == RequestKind::MailCreate
            && !cx.index.mail_by_ticket.contains_key(r.value.ticket()))
        .then(|| r.value.mail_address())
        .flatten()
        .map(|addr| Entry {
            w: Written { file: r.file, addr },
            account: false,
        })
    });
    let accounts = cx.inst.mail_accounts.iter().map(|a| Entry {
        w: Written {
            file: a.file,
            addr: &a.value.address,
        },
        account: true,
    });
    let mut groups: HashMap<String, Vec<Entry>> =
        HashMap::with_capacity(cx.inst.mail_accounts.len());
    let entries: Vec<Entry> = accounts.chain(pending).collect();
    // The keys (NFKC, confusable skeletons) are most of this rule's time: build them in
    // parallel, then group in file order as before.
    let keys: Vec<String> = entries
        .par_iter()
        .map(|e| address_key(e.w.addr.get_ref(), naming))
        .collect();
    for (key, e) in keys.into_iter().zip(entries) {
        groups.entry(key).or_default().push(e);
    }
    // Built on the first collision only: most runs have none.
    let base_paths: OnceCell<HashSet<&std::path::Path>> = OnceCell::new();
    for mut group in groups.into_values().filter(|g| g.len() > 1) {
        // The side that was there first (in the base, an account, earlier file) stays.
        let in_base = |e: &Entry| {
            let paths = base_paths.get_or_init(|| {
                cx.base.map_or_else(HashSet::new, |b| {
                    b.instance
                        .sources
                        .iter()
                        .map(|(_, f)| f.path.as_path())
                        .collect()
                })
            });
            paths.contains(cx.inst.path(e.w.file))
        };
        group.sort_by_key(|e| (!in_base(e), !e.account, e.w.file));
        let first = &group[0];
        let first_addr = first.w.addr.get_ref();
        for e in &group[1..] {
            let addr = e.w.addr.get_ref();
            let what = if first.account {
                "existing account"
            } else {
                "pending request"
            };
            let bare = |s: &str| s.to_lowercase().replace(['.', '-', '_'], "");
            let message = if addr == first_addr {
                format!("'{addr}' is taken by the {what} {first_addr}")
            } else if addr.to_lowercase() == first_addr.to_lowercase() {
                format!("'{addr}' differs only in letter case from the {what} {first_addr}")
            } else if bare(addr) == bare(first_addr) {
                format!("'{addr}' differs only in separators (. - _) from the {what} {first_addr}")
            } else {
                format!(
                    "'{addr}' looks like the {what} {first_addr} (confusable characters, Unicode UTS #39)"
                )
            };
            out.push(
                Diagnostic::error(
                    "L024",
                    Label::new(e.w.file, e.w.addr.span(), format!("collides with {first_addr}")),
                    message,
                )
                .with_label(Label::new(first.w.file, first.w.addr.span(), format!("{what} here")))
                .with_hint("choose another name; `loket new` proposes free ones built from the applicant's name"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::testutil::*;

    #[test]
    fn ascii_fast_path_equals_the_full_computation() {
        let n = Naming::default();
        let slow = |s: &str| -> String {
            let folded: String = s.nfkc().flat_map(char::to_lowercase).collect();
            skeleton(&folded)
                .flat_map(char::to_lowercase)
                .filter(|c| !matches!(c, '.' | '-' | '_'))
                .collect()
        };
        for s in [
            "budi.santoso",
            "Rn-m_1l0O",
            "x!#$%&'*+/=?^`{|}~",
            "agus2",
            "IlI1|",
        ] {
            assert_eq!(collision_key(s, &n), slow(s), "{s}");
        }
        assert_eq!(collision_key("rn", &n), collision_key("m", &n));
    }

    #[test]
    fn keys_fold_case_lookalikes_and_separators() {
        let n = Naming::default();
        let k = |s| collision_key(s, &n);
        assert_eq!(k("Budi"), k("budi"));
        assert_eq!(k("s\u{0456}ti"), k("siti"), "Cyrillic і");
        assert_eq!(k("\u{0430}gus"), k("agus"), "Cyrillic а");
        assert_eq!(k("ｂｕｄｉ"), k("budi"), "full-width via NFKC");
        assert_eq!(k("budi.santoso"), k("budi_santoso"));
        assert_eq!(k("budi.santoso"), k("budisantoso"));
        assert_ne!(k("budi"), k("badu"));
        let strict = Naming {
            separators_collide: false,
            ..Naming::default()
        };
        assert_ne!(
            collision_key("budi.santoso", &strict),
            collision_key("budi_santoso", &strict)
        );
    }

    /// A pending request (no account file yet) for `local`.
    fn pending(fx: &mut Fixture, local: &str) -> String {
        let t = fx.mail_create(local);
        fx.remove(&format!("accounts/mail/{local}@kuduskab.go.id.toml"));
        format!("requests/{t}.toml")
    }

    #[test]
    fn l024_fires_on_case_variant_naming_both_sides() {
        let mut fx = Fixture::kudus();
        fx.mail_create("budi.santoso");
        let req = pending(&mut fx, "Budi.Santoso");
        let d = fx.assert_fires("L024", &req, 18);
        let (inst, _) = fx.check();
        let other = &d.secondary[0];
        assert_eq!(
            inst.path(other.file).to_str(),
            Some("accounts/mail/budi.santoso@kuduskab.go.id.toml")
        );
        assert_eq!(inst.sources.get(other.file).line_col(other.span.start).0, 1);
    }

    #[test]
    fn l024_fires_on_cyrillic_lookalike() {
        let mut fx = Fixture::kudus();
        fx.mail_create("agus");
        let req = pending(&mut fx, "\u{0430}gus");
        let d = fx.assert_fires("L024", &req, 18);
        assert!(d.message.contains("looks like"), "{}", d.message);
    }

    #[test]
    fn l024_fires_on_separator_variant_and_between_account_files() {
        let mut fx = Fixture::kudus();
        fx.mail_create("budi.santoso");
        fx.mail_create("budi_santoso");
        fx.assert_fires("L024", "accounts/mail/budi_santoso@kuduskab.go.id.toml", 1);
    }

    #[test]
    fn l024_reports_the_new_side_against_the_base() {
        let mut fx = Fixture::kudus();
        fx.mail_create("budi_santoso");
        fx.freeze_base();
        // sorts before the existing file, yet is the one reported
        fx.mail_create("budi.santoso");
        let d = fx.assert_fires("L024", "accounts/mail/budi.santoso@kuduskab.go.id.toml", 1);
        let (inst, _) = fx.check();
        assert_eq!(
            inst.path(d.secondary[0].file).to_str(),
            Some("accounts/mail/budi_santoso@kuduskab.go.id.toml")
        );
    }

    #[test]
    fn l024_fires_between_two_pending_requests() {
        let mut fx = Fixture::kudus();
        let a = pending(&mut fx, "siti");
        let b = pending(&mut fx, "Siti");
        let (inst, report) = fx.check();
        let hits: Vec<_> = report
            .diagnostics
            .iter()
            .filter(|d| d.code == "L024")
            .collect();
        assert_eq!(hits.len(), 1);
        let files = [hits[0].primary.file, hits[0].secondary[0].file]
            .map(|f| inst.path(f).to_string_lossy().into_owned());
        assert!(files.contains(&a) && files.contains(&b), "{files:?}");
    }

    #[test]
    fn l024_quiet_for_request_and_the_account_it_creates() {
        let mut fx = Fixture::kudus();
        fx.mail_create("budi.santoso");
        fx.mail_create("siti.aminah");
        fx.assert_quiet("L024");
    }

    #[test]
    fn l024_separators_policy_off_lets_variants_pass() {
        let mut fx = Fixture::kudus();
        fx.edit("loket.toml", |s| {
            s.replace("separators-collide = true", "separators-collide = false")
        });
        fx.mail_create("budi.santoso");
        fx.mail_create("budi_santoso");
        fx.assert_quiet("L024");
    }
}
