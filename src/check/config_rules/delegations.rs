//! L068–L069: `[[delegations]]`, the acting officials (Plt/Plh/Pj). A delegation
//! makes a login's review count for a role (src/review/roles.rs), so one that names
//! no role, duplicates a holder, cites no decree, has no sensible window or overlaps
//! another for the same role is refused before it can be merged.

use std::collections::BTreeMap;

use super::{Context, Rule, config, err};
use crate::diag::{Diagnostic, Label};
use crate::model::time;
use crate::review::roles::window;

pub const DELEGATION_ROLE: Rule = Rule {
    code: "L068",
    name: "config-delegation-role",
    summary: "a delegation acts for a role defined under [roles], for a login that does not already hold it, under a decree",
    run: delegation_role,
};

pub const DELEGATION_WINDOW: Rule = Rule {
    code: "L069",
    name: "config-delegation-window",
    summary: "a delegation's from and until are dates, until is not before from, and no two delegations for one role overlap (warning: its window has ended)",
    run: delegation_window,
};

fn delegation_role(cx: &Context, out: &mut Vec<Diagnostic>) {
    let Some((c, file)) = config(cx) else { return };
    for d in &c.delegations {
        let (role, login) = (d.role.get_ref(), d.login.get_ref());
        match c.roles.get(role) {
            None => out.push(err(
                "L068",
                file,
                d.role.span(),
                "no such role",
                format!("the delegation to '{login}' acts for the unknown role '{role}'"),
                format!(
                    "use one of: {}",
                    c.roles.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            )),
            Some(r) => {
                if let Some(held) = r
                    .logins
                    .iter()
                    .find(|l| l.get_ref().eq_ignore_ascii_case(login))
                {
                    out.push(
                        err(
                            "L068",
                            file,
                            d.login.span(),
                            "already holds the role",
                            format!("'{login}' already holds role '{role}'; a delegation to them would say they act for themselves"),
                            "delegate to the official the decree appoints, or remove the delegation",
                        )
                        .with_label(Label::new(file, held.span(), "listed as a holder here")),
                    );
                }
            }
        }
        if login.trim().is_empty() {
            out.push(err(
                "L068",
                file,
                d.login.span(),
                "empty",
                format!("a delegation for role '{role}' names no login"),
                "give the acting official's forge login",
            ));
        }
        if d.decree.get_ref().trim().is_empty() {
            out.push(err(
                "L068",
                file,
                d.decree.span(),
                "empty",
                format!("the delegation to '{login}' for role '{role}' cites no decree"),
                "give the number of the decree (SK) that appoints the acting official",
            ));
        }
    }
}

fn delegation_window(cx: &Context, out: &mut Vec<Diagnostic>) {
    let Some((c, file)) = config(cx) else { return };
    let tz = *c.office.time_zone.get_ref();
    // Per role: (start, end, index) of each delegation with a valid window.
    let mut by_role: BTreeMap<&str, Vec<_>> = BTreeMap::new();
    for (i, d) in c.delegations.iter().enumerate() {
        let login = d.login.get_ref();
        let bad_bound = [&d.from, &d.until]
            .into_iter()
            .find(|b| time::to_date(b.get_ref()).is_none());
        if let Some(b) = bad_bound {
            out.push(err(
                "L069",
                file,
                b.span(),
                "not a date",
                format!("the delegation to '{login}' has a bound that is not a date"),
                "write a date (2026-12-01) or a date-time (2026-12-01T08:00:00), in the office's time zone unless it says otherwise",
            ));
            continue;
        }
        let Some((start, end)) = window(d, tz) else {
            out.push(
                err(
                    "L069",
                    file,
                    d.until.span(),
                    "before from",
                    format!(
                        "the delegation to '{login}' ends ({}) before it starts ({})",
                        d.until.get_ref(),
                        d.from.get_ref()
                    ),
                    "copy the window from the decree: until is the last day it is in force",
                )
                .with_label(Label::new(file, d.from.span(), "starts here")),
            );
            continue;
        };
        if time::to_date(d.until.get_ref()).is_some_and(|u| u < cx.today) {
            out.push(
                Diagnostic::warning(
                    "L069",
                    Label::new(file, d.until.span(), "ended"),
                    format!(
                        "the delegation to '{login}' for role '{}' ended on {}; it no longer counts",
                        d.role.get_ref(),
                        d.until.get_ref()
                    ),
                )
                .with_hint("remove it (the records of the steps it completed keep its decree), or enter the new decree's window"),
            );
        }
        by_role
            .entry(d.role.get_ref().as_str())
            .or_default()
            .push((start, end, i));
    }
    for (role, mut list) in by_role {
        list.sort();
        // The delegation ending last among those before: each later one must start
        // after it ends.
        let mut last: Option<(jiff::Timestamp, usize)> = None;
        for (start, end, i) in list {
            if let Some((until, j)) = last
                && start < until
            {
                let (a, b) = (&c.delegations[j], &c.delegations[i]);
                out.push(
                    err(
                        "L069",
                        file,
                        b.from.span(),
                        "overlaps",
                        format!(
                            "two delegations for role '{role}' overlap: '{}' from {} and '{}' until {}",
                            b.login.get_ref(),
                            b.from.get_ref(),
                            a.login.get_ref(),
                            a.until.get_ref()
                        ),
                        "one official acts for a role at a time: end one window before the other starts",
                    )
                    .with_label(Label::new(file, a.until.span(), "the other ends here")),
                );
            }
            if last.is_none_or(|(until, _)| end > until) {
                last = Some((end, i));
            }
        }
    }
}
