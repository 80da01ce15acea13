//! L030–L032: NIP (civil-servant number) on requests and account holders: well
//! formed and plausible (parsing lives in [`crate::nip`]), present where the office
//! requires it, and one NIP holding one active mail account unless policy allows more.

use std::collections::HashMap;

use crate::model::Spanned;

use super::{Context, Rule};
use crate::diag::{Diagnostic, Label};
use crate::model::RequestKind;
use crate::nip;

pub const FORMAT: Rule = Rule {
    code: "L030",
    name: "nip-format",
    summary: "a NIP has 18 digits: real birth date, appointment at working age, sex digit 1/2 (PPPK accepted)",
    run: format,
};

pub const REQUIRED: Rule = Rule {
    code: "L031",
    name: "nip-required",
    summary: "every applicant has a NIP when office.require-nip is true",
    run: required,
};

pub const ONE_ACCOUNT: Rule = Rule {
    code: "L032",
    name: "nip-one-account",
    summary: "one NIP holds at most one active mail account unless naming.several-accounts-per-nip",
    run: one_account,
};

/// Every NIP written in the instance, with its file.
fn all_nips<'a>(cx: &'a Context) -> impl Iterator<Item = (usize, &'a Spanned<String>)> + 'a {
    let requests = cx
        .inst
        .requests
        .iter()
        .filter_map(|r| r.value.applicant.nip.as_ref().map(|n| (r.file, n)));
    let mail = cx
        .inst
        .mail_accounts
        .iter()
        .filter_map(|a| a.value.holder.nip.as_ref().map(|n| (a.file, n)));
    let keys = cx.inst.server_accounts.iter().flat_map(|a| {
        a.value
            .keys
            .iter()
            .filter_map(move |k| k.holder.nip.as_ref().map(|n| (a.file, n)))
    });
    requests.chain(mail).chain(keys)
}

fn format(cx: &Context, out: &mut Vec<Diagnostic>) {
    for (file, n) in all_nips(cx) {
        if let Err(e) = nip::parse(n.get_ref(), cx.today) {
            out.push(
                Diagnostic::error(
                    "L030",
                    Label::new(file, n.span(), e.to_string()),
                    format!("NIP '{}' is not valid: {e}", n.get_ref()),
                )
                .with_hint("copy the NIP from the applicant's SK or ID card: 18 digits, e.g. \"198609262015051001\""),
            );
        }
    }
}

fn required(cx: &Context, out: &mut Vec<Diagnostic>) {
    if !cx.config.is_some_and(|c| c.office.require_nip) {
        return;
    }
    for r in &cx.inst.requests {
        let a = &r.value.applicant;
        if a.nip.as_ref().is_none_or(|n| n.get_ref().trim().is_empty()) {
            out.push(
                Diagnostic::error(
                    "L031",
                    Label::new(r.file, a.name.span(), "this applicant has no NIP"),
                    format!("the office requires a NIP and {} has none", a.name.get_ref()),
                )
                .with_hint("add `nip = \"…\"` under [applicant] (office.require-nip is true in loket.toml)"),
            );
        }
    }
}

/// The NIP without the spaces people put between its groups.
fn digits(s: &str) -> std::borrow::Cow<'_, str> {
    if s.contains(char::is_whitespace) {
        s.chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .into()
    } else {
        s.into()
    }
}

/// (file, address, what it is) of an account or pending request.
type Holding<'a> = (usize, &'a Spanned<String>, &'static str);

fn one_account(cx: &Context, out: &mut Vec<Diagnostic>) {
    if cx.config.is_none_or(|c| c.naming.several_accounts_per_nip) {
        return;
    }
    // Active accounts, then mail-create requests not yet in accounts/ (pending).
    let mut by_nip: HashMap<std::borrow::Cow<str>, Vec<Holding>> = HashMap::new();
    for a in cx.inst.mail_accounts.iter().filter(|a| a.value.is_active()) {
        if let Some(n) = &a.value.holder.nip {
            by_nip.entry(digits(n.get_ref())).or_default().push((
                a.file,
                &a.value.address,
                "account",
            ));
        }
    }
    for r in &cx.inst.requests {
        if r.value.kind() != RequestKind::MailCreate
            || cx.index.mail_by_ticket.contains_key(r.value.ticket())
        {
            continue;
        }
        if let (Some(n), Some(addr)) = (&r.value.applicant.nip, r.value.mail_address()) {
            by_nip
                .entry(digits(n.get_ref()))
                .or_default()
                .push((r.file, addr, "pending request"));
        }
    }
    // Built on the first shared NIP only: most runs have none.
    let base_paths: std::cell::OnceCell<std::collections::HashSet<&std::path::Path>> =
        std::cell::OnceCell::new();
    for (nip, list) in by_nip.iter_mut().filter(|(_, v)| v.len() > 1) {
        // What the base already had stays; the newcomer is reported.
        let in_base = |file: usize| {
            base_paths
                .get_or_init(|| {
                    cx.base.map_or_else(Default::default, |b| {
                        b.instance
                            .sources
                            .iter()
                            .map(|(_, f)| f.path.as_path())
                            .collect()
                    })
                })
                .contains(cx.inst.path(file))
        };
        list.sort_by_key(|&(file, _, what)| (!in_base(file), what != "account", file));
        let (ffile, faddr, fwhat) = list[0];
        for &(file, addr, _) in list.iter().skip(1) {
            out.push(
                Diagnostic::error(
                    "L032",
                    Label::new(file, addr.span(), "a second account for one NIP"),
                    format!(
                        "NIP {nip} would hold two active mail accounts: {} and {}",
                        faddr.get_ref(),
                        addr.get_ref()
                    ),
                )
                .with_label(Label::new(ffile, faddr.span(), format!("{fwhat} of the same NIP")))
                .with_hint("one person, one account: reset the existing account's password instead, or deactivate it first"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::check::testutil::*;

    #[test]
    fn l030_fires_on_bad_nips_in_requests_and_accounts() {
        for bad in [
            "12345",
            "198602302015051001",
            "198609262000051001",
            "198609262015053001",
        ] {
            let mut fx = Fixture::kudus();
            let t = fx.mail_create("budi");
            let good = nip(1);
            fx.edit(&format!("requests/{t}.toml"), |s| s.replace(&good, bad));
            fx.assert_fires("L030", &format!("requests/{t}.toml"), 7);
            fx.edit("accounts/mail/budi@kuduskab.go.id.toml", |s| {
                s.replace(&good, bad)
            });
            fx.assert_fires("L030", "accounts/mail/budi@kuduskab.go.id.toml", 7);
        }
    }

    #[test]
    fn l030_accepts_pppk() {
        let mut fx = Fixture::kudus();
        let t = fx.mail_create("budi");
        let good = nip(1);
        fx.edit(&format!("requests/{t}.toml"), |s| {
            s.replace(&good, "199203142023212005")
        });
        fx.assert_quiet("L030");
    }

    #[test]
    fn l031_fires_when_required_nip_missing() {
        let mut fx = Fixture::kudus();
        let t = fx.mail_create("budi");
        let good = nip(1);
        fx.edit(&format!("requests/{t}.toml"), |s| {
            s.replace(&format!("nip = \"{good}\"\n"), "")
        });
        fx.assert_fires("L031", &format!("requests/{t}.toml"), 6);
        fx.edit("loket.toml", |s| {
            s.replace("require-nip = true", "require-nip = false")
        });
        fx.assert_quiet("L031");
    }

    #[test]
    fn l032_fires_on_second_active_account_for_one_nip() {
        let mut fx = Fixture::kudus();
        fx.mail_create("budi");
        fx.mail_create("budi.santoso");
        let (a, b) = (nip(1), nip(2));
        let path = "accounts/mail/budi.santoso@kuduskab.go.id.toml";
        fx.edit(path, |s| s.replace(&b, &a));
        // reported on the later file, pointing back at the first
        let d = fx.assert_fires("L032", "accounts/mail/budi@kuduskab.go.id.toml", 1);
        assert_eq!(d.secondary.len(), 1);
        fx.edit("loket.toml", |s| {
            s.replace(
                "several-accounts-per-nip = false",
                "several-accounts-per-nip = true",
            )
        });
        fx.assert_quiet("L032");
    }

    #[test]
    fn l032_reports_the_new_account_against_the_base() {
        let mut fx = Fixture::kudus();
        fx.mail_create("budi.santoso");
        fx.freeze_base();
        fx.mail_create("budi");
        let (a, b) = (nip(1), nip(2));
        fx.edit("accounts/mail/budi@kuduskab.go.id.toml", |s| {
            s.replace(&b, &a)
        });
        fx.assert_fires("L032", "accounts/mail/budi@kuduskab.go.id.toml", 1);
        let mut fx2 = Fixture::kudus();
        fx2.mail_create("budi");
        fx2.freeze_base();
        fx2.mail_create("budi.santoso");
        fx2.edit("accounts/mail/budi.santoso@kuduskab.go.id.toml", |s| {
            s.replace(&b, &a)
        });
        fx2.assert_fires("L032", "accounts/mail/budi.santoso@kuduskab.go.id.toml", 1);
    }

    #[test]
    fn l032_quiet_when_the_old_account_is_disabled() {
        let mut fx = Fixture::kudus();
        fx.mail_create("budi");
        fx.mail_create("budi.santoso");
        let (a, b) = (nip(1), nip(2));
        fx.edit("accounts/mail/budi.santoso@kuduskab.go.id.toml", |s| {
            s.replace(&b, &a)
        });
        fx.edit("accounts/mail/budi@kuduskab.go.id.toml", |s| {
            s.replace("status = \"active\"", "status = \"disabled\"")
        });
        fx.assert_quiet("L032");
    }
}
