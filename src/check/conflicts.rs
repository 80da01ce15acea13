//! L043: two pending requests acting on one account or key conflict. Two deactivations
//! of one address, a reset racing a deactivation, or two revocations of one grant
//! would each be approved on their own and leave the account in whichever state
//! merged last; the office decides one request at a time.

use std::collections::BTreeMap;
use std::ops::Range;

use super::{Context, Rule, is_pending};
use crate::diag::{Diagnostic, FileId, Label};
use crate::model::{Request, RequestKind};

pub const PENDING_CONFLICT: Rule = Rule {
    code: "L043",
    name: "pending-conflict",
    summary: "no two pending requests act on the same mail account (reset, deactivate) or the same grant (revoke)",
    run: pending_conflict,
};

/// What a request acts on, as a key two requests share when they conflict, and where
/// the request names it.
fn target(r: &Request) -> Option<(String, Range<usize>)> {
    match r.kind() {
        RequestKind::MailReset | RequestKind::MailDeactivate => {
            let a = r.mail_address()?;
            Some((format!("mail {}", a.get_ref().to_lowercase()), a.span()))
        }
        RequestKind::ServerRevoke => {
            let s = r.server.as_ref()?.get_ref();
            let grant = s.grant.as_ref()?;
            Some((
                format!(
                    "grant {} on {}@{}",
                    grant.get_ref(),
                    s.account.get_ref(),
                    s.name.get_ref()
                ),
                grant.span(),
            ))
        }
        _ => None,
    }
}

/// A pending request, where it names its target.
type Named<'a> = (FileId, Range<usize>, &'a Request);

fn pending_conflict(cx: &Context, out: &mut Vec<Diagnostic>) {
    let mut by_target: BTreeMap<String, Vec<Named>> = BTreeMap::new();
    for r in cx.inst.requests.iter().filter(|r| is_pending(cx, &r.value)) {
        if let Some((key, span)) = target(&r.value) {
            by_target
                .entry(key)
                .or_default()
                .push((r.file, span, &r.value));
        }
    }
    for (what, mut reqs) in by_target.into_iter().filter(|(_, v)| v.len() > 1) {
        // The first submitted stands; each later one is the conflict.
        reqs.sort_by(|a, b| {
            (a.2.submitted.get_ref().to_string(), a.2.ticket())
                .cmp(&(b.2.submitted.get_ref().to_string(), b.2.ticket()))
        });
        let (first_file, first_span, first) = &reqs[0];
        for (file, span, r) in &reqs[1..] {
            out.push(
                Diagnostic::error(
                    "L043",
                    Label::new(*file, span.clone(), "also pending in another request"),
                    format!(
                        "{} ({}) acts on {what}, like pending request {} ({})",
                        r.ticket(),
                        r.kind(),
                        first.ticket(),
                        first.kind()
                    ),
                )
                .with_label(Label::new(*first_file, first_span.clone(), "pending here first"))
                .with_hint("decide one request at a time: withdraw this one, or file it again after the first is merged"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::check::testutil::*;

    #[test]
    fn l043_fires_on_two_pending_deactivations_of_one_account() {
        let mut fx = Fixture::kudus();
        fx.mail_create("budi");
        fx.freeze_base();
        let first = fx.mail_change("mail-deactivate", "budi");
        fx.assert_quiet("L043");
        let second = fx.mail_change("mail-deactivate", "budi");
        let (later, _) = if first < second {
            (second, first)
        } else {
            (first, second)
        };
        // Both were submitted at the same instant: the later ticket is the conflict.
        fx.assert_fires("L043", &format!("requests/{later}.toml"), 0);
    }

    #[test]
    fn l043_fires_on_a_reset_racing_a_deactivation_and_on_two_revocations() {
        let count = |fx: &Fixture| {
            let (_, report) = fx.check();
            report
                .diagnostics
                .iter()
                .filter(|d| d.code == "L043")
                .count()
        };
        let mut fx = Fixture::kudus();
        fx.mail_create("budi");
        fx.freeze_base();
        fx.mail_change("mail-reset", "budi");
        fx.mail_change("mail-deactivate", "budi");
        assert_eq!(count(&fx), 1);

        let mut fx = Fixture::kudus();
        let grant = fx.server_grant("app-1", "opd-dinkes", KEY_ED1);
        fx.freeze_base();
        fx.server_revoke("app-1", "opd-dinkes", &grant);
        assert_eq!(count(&fx), 0);
        fx.server_revoke("app-1", "opd-dinkes", &grant);
        assert_eq!(count(&fx), 1);
    }
}
