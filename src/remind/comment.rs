//! The reminder comment: Bahasa Indonesia first, English below, one per pull
//! request, found again by [`MARKER`] at its very start. Nothing in it changes
//! between runs unless the wait does, so a run with nothing new leaves it alone.

use std::fmt::Write as _;

use super::{Holders, Overdue};
use crate::model::config::TimeZone;
use crate::site::text::{Lang, date_time, duration};

/// Opens every reminder comment. Matched only at the start of a comment, so a
/// review comment quoting it (or anyone's text) is never taken for ours.
pub const MARKER: &str = "<!-- loket-remind -->";

/// Whether `body` is a reminder comment.
pub fn is_reminder(body: &str) -> bool {
    body.starts_with(MARKER)
}

/// `@a, @b`, or the role's title where no login holds it.
fn mentions(h: &Holders, lang: Lang) -> String {
    if h.logins.is_empty() {
        return match lang {
            Lang::Id => format!("{} (belum ada login yang memegang peran ini)", h.title),
            Lang::En => format!("{} (no login holds this role yet)", h.title),
        };
    }
    let at: Vec<String> = h.logins.iter().map(|l| format!("@{l}")).collect();
    format!("{} ({})", at.join(", "), h.title)
}

fn step_name(o: &Overdue, lang: Lang) -> String {
    let text = match lang {
        Lang::Id => &o.text,
        Lang::En => o.text_en.as_ref().unwrap_or(&o.text),
    };
    match o.no {
        Some(n) => format!("{n} `{}` ({text})", o.step),
        None => format!("`{}` ({text})", o.step),
    }
}

fn multiple(m: f64) -> String {
    let s = format!("{m:.2}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

fn item(s: &mut String, o: &Overdue, tz: TimeZone, escalate_after: f64, lang: Lang) {
    let since = date_time(lang, o.since, tz);
    let (waited, standard) = (
        duration(lang, o.waited_minutes),
        duration(lang, i64::from(o.standard_minutes)),
    );
    let who = mentions(&o.holders, lang);
    let step = step_name(o, lang);
    let t = &o.ticket;
    let m = multiple(escalate_after);
    let _ = match lang {
        Lang::Id => writeln!(
            s,
            "- **Pengingat:** langkah {step} tiket **{t}** menunggu {who} sejak {since}: sudah {waited} waktu kerja, standar SOP {standard}."
        ),
        Lang::En => writeln!(
            s,
            "- **Reminder:** step {step} of ticket **{t}** has been waiting for {who} since {since}: {waited} of working time, SOP standard {standard}."
        ),
    };
    if !o.escalated {
        return;
    }
    let _ = match (lang, &o.above) {
        (Lang::Id, Some(up)) => writeln!(
            s,
            "  - **Eskalasi:** lewat {m} × standar waktu; mohon tindak lanjut {}.",
            mentions(up, lang)
        ),
        (Lang::En, Some(up)) => writeln!(
            s,
            "  - **Escalated:** past {m} × the standard time; {}, please follow up.",
            mentions(up, lang)
        ),
        (Lang::Id, None) => writeln!(
            s,
            "  - **Eskalasi:** lewat {m} × standar waktu; tidak ada peran di atasnya dalam loket.toml (`reports-to`)."
        ),
        (Lang::En, None) => writeln!(
            s,
            "  - **Escalated:** past {m} × the standard time; loket.toml names no role above (`reports-to`)."
        ),
    };
}

/// The comment for a pull request with overdue steps.
pub fn body(pr: u64, overdue: &[Overdue], tz: TimeZone, escalate_after: f64) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{MARKER}");
    let _ = writeln!(s, "### loket: pengingat PR #{pr}\n");
    for o in overdue {
        item(&mut s, o, tz, escalate_after, Lang::Id);
    }
    let _ = writeln!(
        s,
        "\nWaktu kerja dihitung pada jam kantor, tanpa hari libur dan cuti bersama (loket.toml).\n\n---\n\n**English**\n"
    );
    for o in overdue {
        item(&mut s, o, tz, escalate_after, Lang::En);
    }
    let _ = writeln!(
        s,
        "\nWorking time counts office hours and skips holidays and cuti bersama (loket.toml)."
    );
    s
}

/// What the comment becomes once no step of the pull request is overdue any more.
pub fn cleared(pr: u64) -> String {
    format!(
        "{MARKER}\n### loket: pengingat PR #{pr}\n\nTidak ada langkah yang melewati standar waktunya saat ini.\n\n---\n\n**English:** no step is past its standard time now.\n"
    )
}
