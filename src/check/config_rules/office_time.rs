//! L090–L091: the office's clock and the reminder policy in `loket.toml`: opening
//! hours and holidays that [`crate::calendar`] can read, a finite escalation
//! multiple above 1, and `reports-to` chains that name real roles and end.

use super::{Context, Rule, config, err, header};
use crate::calendar::{parse_holiday, parse_period};
use crate::diag::{Diagnostic, Label};
use crate::model::office_time::WEEKDAYS;

pub const OFFICE_HOURS: Rule = Rule {
    code: "L090",
    name: "config-office-hours",
    summary: "office.hours periods read \"HH:MM-HH:MM\", open before they close, in order; some day is open; office.holidays are dates, each once",
    run: office_hours,
};

pub const REMINDERS: Rule = Rule {
    code: "L091",
    name: "config-reminders",
    summary: "reminders.escalate-after is a finite number above 1; every reports-to names another role and no chain loops",
    run: reminders,
};

fn office_hours(cx: &Context, out: &mut Vec<Diagnostic>) {
    let Some((c, file)) = config(cx) else { return };
    let hint = "write each period as \"HH:MM-HH:MM\" in the office's zone, e.g. friday = [\"07:30-11:00\"]; list a day's periods in order";
    let days = c.office.hours.days();
    for (day, values) in WEEKDAYS.iter().zip(days) {
        let mut last_close = None;
        for v in values {
            let (msg, label) = match parse_period(v.get_ref()) {
                None => (
                    format!(
                        "office.hours.{day}: {:?} is not a period \"HH:MM-HH:MM\"",
                        v.get_ref()
                    ),
                    "not a period",
                ),
                Some((open, close)) if close <= open => (
                    format!(
                        "office.hours.{day}: {:?} closes before it opens",
                        v.get_ref()
                    ),
                    "closes before it opens",
                ),
                Some((open, _)) if last_close.is_some_and(|c| open < c) => (
                    format!(
                        "office.hours.{day}: {:?} overlaps or comes before the period before it",
                        v.get_ref()
                    ),
                    "out of order",
                ),
                Some((_, close)) => {
                    last_close = Some(close);
                    continue;
                }
            };
            out.push(err("L090", file, v.span(), label, msg, hint));
        }
    }
    if days.iter().all(|d| d.is_empty()) {
        out.push(err(
            "L090",
            file,
            header(cx, file, "[office.hours]"),
            "no opening hours",
            "office.hours gives no day any opening hours, so no standard time could ever run"
                .into(),
            "list the office's working days, e.g. monday = [\"07:30-16:00\"]",
        ));
    }
    let mut seen = std::collections::HashMap::new();
    for h in &c.office.holidays {
        let Some(date) = parse_holiday(h.get_ref()) else {
            out.push(err(
                "L090",
                file,
                h.span(),
                "not a date",
                format!(
                    "office.holidays: {:?} is not a date \"YYYY-MM-DD\"",
                    h.get_ref()
                ),
                "write each holiday as \"YYYY-MM-DD\", e.g. \"2026-08-17\"",
            ));
            continue;
        };
        if let Some(first) = seen.insert(date, h.span()) {
            out.push(
                Diagnostic::warning(
                    "L090",
                    Label::new(file, h.span(), "listed again"),
                    format!("office.holidays lists {date} twice"),
                )
                .with_label(Label::new(file, first, "first listed here"))
                .with_hint("remove one of them"),
            );
        }
    }
}

fn reminders(cx: &Context, out: &mut Vec<Diagnostic>) {
    let Some((c, file)) = config(cx) else { return };
    let m = &c.reminders.escalate_after;
    if !m.get_ref().is_finite() || *m.get_ref() <= 1.0 {
        out.push(err(
            "L091",
            file,
            m.span(),
            "not a finite number above 1",
            format!(
                "reminders.escalate-after = {}: a step is escalated past this multiple of its standard time, so it must be a finite number above 1",
                m.get_ref()
            ),
            "e.g. escalate-after = 2.0 (twice the standard time)",
        ));
    }
    for (id, role) in &c.roles {
        let Some(up) = &role.reports_to else { continue };
        let up_id = up.get_ref();
        let problem = if !c.roles.contains_key(up_id) {
            Some((
                "no such role",
                format!("roles.{id}.reports-to names the unknown role '{up_id}'"),
            ))
        } else if up_id == id {
            Some((
                "itself",
                format!("roles.{id}.reports-to names the role itself"),
            ))
        } else if loops_back(c, id) {
            Some((
                "loops",
                format!("roles.{id}.reports-to starts a chain that comes back to '{id}'"),
            ))
        } else {
            None
        };
        if let Some((label, msg)) = problem {
            let known: Vec<&str> = c.roles.keys().map(String::as_str).collect();
            out.push(err(
                "L091",
                file,
                up.span(),
                label,
                msg,
                format!("name the role above this one, one of: {}", known.join(", ")),
            ));
        }
    }
}

/// Whether following `reports-to` from `start` comes back to it.
fn loops_back(c: &crate::model::Config, start: &str) -> bool {
    let mut at = start;
    for _ in 0..c.roles.len() {
        match c.roles.get(at).and_then(|r| r.reports_to.as_ref()) {
            Some(next) if next.get_ref() == start => return true,
            Some(next) => at = next.get_ref(),
            None => return false,
        }
    }
    false
}
