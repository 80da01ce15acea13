//! Who holds a role at an instant: the logins `[roles]` lists, and the acting
//! officials of `[[delegations]]` (Plt/Plh/Pj) within their decree's window. Every
//! check of a reviewer's role goes through [`holds_role`], always with `loket.toml`
//! as on the base branch and the review's submitted time, so a delegation counts
//! only if it was already merged, and only while its decree is in force.

use jiff::{SignedDuration, Timestamp};

use crate::model::Config;
use crate::model::config::{Delegation, TimeZone};
use crate::model::letter::Acting;
use crate::model::time;

/// How a login holds a role.
#[derive(Debug, Clone, Copy)]
pub enum Holding<'a> {
    /// Listed under `[roles.<role>] logins`.
    Holder,
    /// Acting for the role under this delegation, whose window holds the instant.
    Acting(&'a Delegation),
}

impl Holding<'_> {
    /// What a step record keeps of it.
    pub fn acting(&self) -> Option<Acting> {
        match self {
            Holding::Holder => None,
            Holding::Acting(d) => Some(acting_of(d)),
        }
    }
}

/// The record's view of a delegation: its kind and decree.
pub fn acting_of(d: &Delegation) -> Acting {
    Acting {
        kind: *d.kind.get_ref(),
        decree: d.decree.get_ref().clone(),
    }
}

/// A delegation's window as instants, `start <= at < end`. A bare `from` date starts
/// at its midnight in the office's zone; a bare `until` date counts whole (the window
/// ends at the next midnight), a date-time `until` is the last instant that counts.
/// `None` when a bound is not a date (a bare time) or the window is empty.
pub fn window(d: &Delegation, tz: TimeZone) -> Option<(Timestamp, Timestamp)> {
    let hours = tz.utc_offset_hours();
    let start = time::to_timestamp(d.from.get_ref(), hours)?;
    let until = d.until.get_ref();
    let last = time::to_timestamp(until, hours)?;
    let end = if time::is_date_only(until) {
        last.checked_add(SignedDuration::from_hours(24)).ok()?
    } else {
        last.checked_add(SignedDuration::from_nanos(1)).ok()?
    };
    (start < end).then_some((start, end))
}

/// Whether delegation `d` is in force at `at`.
pub fn in_force(d: &Delegation, tz: TimeZone, at: Timestamp) -> bool {
    window(d, tz).is_some_and(|(start, end)| start <= at && at < end)
}

/// Whether `login` holds `role` at `at` under `config` (the base branch's): as a
/// listed holder, or as an acting official whose delegation is in force. Logins
/// compare case-insensitively, as on both forges.
pub fn holds_role<'a>(
    config: &'a Config,
    role: &str,
    login: &str,
    at: Timestamp,
) -> Option<Holding<'a>> {
    let r = config.roles.get(role)?;
    if r.logins
        .iter()
        .any(|l| l.get_ref().eq_ignore_ascii_case(login))
    {
        return Some(Holding::Holder);
    }
    let tz = *config.office.time_zone.get_ref();
    config
        .delegations
        .iter()
        .find(|d| {
            d.role.get_ref() == role
                && d.login.get_ref().eq_ignore_ascii_case(login)
                && in_force(d, tz, at)
        })
        .map(Holding::Acting)
}

/// The roles `login` holds at `at`, held or acted for. `at = None` (a review with no
/// submitted time) counts the held roles only.
pub fn roles_at<'a>(
    config: &'a Config,
    login: &'a str,
    at: Option<Timestamp>,
) -> impl Iterator<Item = &'a str> + 'a {
    config.roles.keys().filter_map(move |role| {
        let holds = match at {
            Some(at) => holds_role(config, role, login, at).is_some(),
            None => config.roles_of(login).any(|r| r == role),
        };
        holds.then_some(role.as_str())
    })
}

/// An acting official's public particulars, for the signature block of a letter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Official {
    pub login: String,
    pub name: Option<String>,
    pub rank: Option<String>,
    pub nip: Option<String>,
}

/// The official acting for `role` at `at`, if a delegation for it is in force: the
/// letter renderer calls this to sign as "Plh. <title>" with the delegate's name,
/// rank and NIP. (Check rule L069 keeps delegations for one role from overlapping.)
pub fn acting_official(config: &Config, role: &str, at: Timestamp) -> Option<(Acting, Official)> {
    let tz = *config.office.time_zone.get_ref();
    let d = config
        .delegations
        .iter()
        .find(|d| d.role.get_ref() == role && in_force(d, tz, at))?;
    Some((
        acting_of(d),
        Official {
            login: d.login.get_ref().clone(),
            name: d.name.clone(),
            rank: d.rank.clone(),
            nip: d.nip.clone(),
        },
    ))
}

/// The role's title as the site and the PR comment show it: "Plh. Kepala Dinas …"
/// for an acting official, else the title (the role id when it has none).
pub fn acting_title(config: &Config, role: &str, acting: Option<&Acting>) -> String {
    let title = config
        .roles
        .get(role)
        .map_or_else(|| role.to_string(), |r| r.title.clone());
    match acting {
        Some(a) => format!("{} {title}", a.kind.prefix()),
        None => title,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::letter::ActingKind;

    const KUDUS: &str = include_str!("../../presets/kudus.toml");

    fn config(delegations: &str) -> Config {
        toml::from_str(&format!("{KUDUS}\n{delegations}")).unwrap()
    }

    const PLH: &str = r#"
[[delegations]]
role = "kepala-dinas"
login = "Sekdin-Kominfo-Kudus"
kind = "plh"
from = 2026-09-18
until = 2026-09-19
decree = "800/117/18.03/2026"
name = "Drs. Sutrisno, M.Si."
rank = "Pembina Tingkat I (IV/b)"
nip = "196805121994031007"
"#;

    fn at(s: &str) -> Timestamp {
        s.parse().unwrap()
    }

    #[test]
    fn a_delegate_holds_the_role_only_within_the_window_in_the_office_zone() {
        let c = config(PLH);
        let who = "sekdin-kominfo-kudus";
        // 2026-09-18 00:00 WIB is 2026-09-17T17:00Z; 2026-09-19 counts whole.
        for (instant, holds) in [
            ("2026-09-17T16:59:59Z", false),
            ("2026-09-17T17:00:00Z", true),
            ("2026-09-19T16:59:59Z", true),
            ("2026-09-19T17:00:00Z", false),
        ] {
            let h = holds_role(&c, "kepala-dinas", who, at(instant));
            assert_eq!(h.is_some(), holds, "{instant}");
        }
        let h = holds_role(&c, "kepala-dinas", who, at("2026-09-18T02:00:00Z")).unwrap();
        assert_eq!(
            h.acting(),
            Some(Acting {
                kind: ActingKind::Plh,
                decree: "800/117/18.03/2026".into()
            })
        );
        // Not for another role, and the holder is still the holder.
        assert!(holds_role(&c, "kepala-bidang", who, at("2026-09-18T02:00:00Z")).is_none());
        assert!(matches!(
            holds_role(
                &c,
                "kepala-dinas",
                "kadis-kominfo-kudus",
                at("2026-09-18T02:00:00Z")
            ),
            Some(Holding::Holder)
        ));
        let roles: Vec<&str> = roles_at(&c, who, Some(at("2026-09-18T02:00:00Z"))).collect();
        assert_eq!(roles, ["kepala-dinas"]);
        assert_eq!(roles_at(&c, who, None).count(), 0);
    }

    #[test]
    fn date_times_bound_the_window_exactly() {
        let c = config(
            &PLH.replace("from = 2026-09-18", "from = 2026-09-18T08:00:00")
                .replace("until = 2026-09-19", "until = 2026-09-18T12:00:00+07:00"),
        );
        let who = "sekdin-kominfo-kudus";
        for (instant, holds) in [
            ("2026-09-18T00:59:59Z", false),
            ("2026-09-18T01:00:00Z", true),
            ("2026-09-18T05:00:00Z", true),
            ("2026-09-18T05:00:01Z", false),
        ] {
            let h = holds_role(&c, "kepala-dinas", who, at(instant));
            assert_eq!(h.is_some(), holds, "{instant}");
        }
    }

    #[test]
    fn an_inverted_or_timeless_window_never_counts() {
        let inverted = config(&PLH.replace("from = 2026-09-18", "from = 2026-09-20"));
        let timeless = config(&PLH.replace("from = 2026-09-18", "from = 08:00:00"));
        for c in [inverted, timeless] {
            assert!(window(&c.delegations[0], TimeZone::WIB).is_none());
            let h = holds_role(
                &c,
                "kepala-dinas",
                "sekdin-kominfo-kudus",
                at("2026-09-19T02:00:00Z"),
            );
            assert!(h.is_none());
        }
    }

    #[test]
    fn the_letter_gets_the_acting_official_and_the_prefixed_title() {
        let c = config(PLH);
        let (acting, who) =
            acting_official(&c, "kepala-dinas", at("2026-09-18T03:00:00Z")).unwrap();
        assert_eq!(acting.kind, ActingKind::Plh);
        assert_eq!(who.name.as_deref(), Some("Drs. Sutrisno, M.Si."));
        assert_eq!(who.nip.as_deref(), Some("196805121994031007"));
        assert!(acting_official(&c, "kepala-dinas", at("2026-09-25T03:00:00Z")).is_none());
        assert_eq!(
            acting_title(&c, "kepala-dinas", Some(&acting)),
            "Plh. Kepala Dinas Komunikasi dan Informatika"
        );
        assert_eq!(acting_title(&c, "nobody", None), "nobody");
    }
}
