//! One standard time per SOP (issue 13, item 7): which steps an SOP's total counts
//! and their sum, computed here only and used by every page and the JSON.
//!
//! A total runs from the submission (the clock starts when the request arrives) to
//! the last counted step, so it counts the steps the office does and leaves out the
//! applicant's own (the role of the `submit` step: writing the request, receiving
//! the letter): their time is not the office's to keep. Steps without a standard
//! ("mutu baku") count nothing. Every page says which steps the total counts.

use serde::Serialize;

use super::text::{self, Lang};
use crate::model::config::{Completion, Sop, Step};

/// An SOP's standard total.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Standard {
    pub minutes: u32,
    pub text: String,
    /// Which steps the total counts, in words: "langkah 2–5; tanpa langkah pemohon (1)".
    pub scope: String,
    /// The ids of the counted steps, in SOP order.
    pub steps: Vec<String>,
}

/// The step's number in the SOP document, else its position (from 1).
fn number(sop: &Sop, step: &Step) -> u32 {
    step.no.unwrap_or_else(|| {
        let i = sop.steps.iter().position(|s| std::ptr::eq(s, step));
        i.map_or(0, |i| i as u32 + 1)
    })
}

/// Whether the applicant does this step (the role that submits the request).
pub fn by_applicant(sop: &Sop, step: &Step) -> bool {
    sop.steps
        .iter()
        .filter(|s| *s.done_by.get_ref() == Completion::Submit)
        .any(|s| s.role.get_ref() == step.role.get_ref())
}

/// The steps an SOP's total counts: the office's steps that have a standard.
pub fn counted(sop: &Sop) -> impl Iterator<Item = &Step> {
    sop.steps
        .iter()
        .filter(|s| s.minutes.is_some() && !by_applicant(sop, s))
}

/// "2–5", "2, 4–6": numbers as ranges.
fn ranges(mut numbers: Vec<u32>) -> String {
    numbers.sort_unstable();
    numbers.dedup();
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < numbers.len() {
        let mut j = i;
        while j + 1 < numbers.len() && numbers[j + 1] == numbers[j] + 1 {
            j += 1;
        }
        parts.push(match j - i {
            0 => numbers[i].to_string(),
            1 => format!("{}, {}", numbers[i], numbers[j]),
            _ => format!("{}–{}", numbers[i], numbers[j]),
        });
        i = j + 1;
    }
    parts.join(", ")
}

/// The SOP's standard total, or `None` when no office step has a standard.
pub fn of(sop: &Sop, lang: Lang) -> Option<Standard> {
    let steps: Vec<&Step> = counted(sop).collect();
    if steps.is_empty() {
        return None;
    }
    let minutes: u32 = steps.iter().filter_map(|s| s.minutes).sum();
    let counted_nos = ranges(steps.iter().map(|s| number(sop, s)).collect());
    let applicant: Vec<u32> = sop
        .steps
        .iter()
        .filter(|s| by_applicant(sop, s))
        .map(|s| number(sop, s))
        .collect();
    let mut scope = match lang {
        Lang::Id => format!("langkah {counted_nos}"),
        Lang::En => format!("steps {counted_nos}"),
    };
    if !applicant.is_empty() {
        let nos = ranges(applicant);
        scope.push_str(&match lang {
            Lang::Id => format!("; tanpa langkah pemohon ({nos})"),
            Lang::En => format!("; without the applicant's own steps ({nos})"),
        });
    }
    Some(Standard {
        minutes,
        text: text::duration(lang, i64::from(minutes)),
        scope,
        steps: steps.iter().map(|s| s.id.get_ref().clone()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> crate::model::config::Config {
        let inst = crate::model::Instance::from_files(
            std::path::Path::new("."),
            vec![("loket.toml".into(), include_str!("../../loket.toml").into())],
        );
        inst.config.unwrap()
    }

    #[test]
    fn kudus_mail_counts_the_office_steps_only() {
        let c = config();
        let s = of(&c.sops["email"], Lang::Id).unwrap();
        assert_eq!(s.minutes, 60);
        assert_eq!(s.text, "1 jam");
        assert_eq!(s.scope, "langkah 2–5; tanpa langkah pemohon (1)");
        assert_eq!(
            s.steps,
            [
                "disposisi-kadis",
                "disposisi-kabid",
                "cek-nama",
                "pembuatan-akun"
            ]
        );
        let en = of(&c.sops["email"], Lang::En).unwrap();
        assert_eq!(en.scope, "steps 2–5; without the applicant's own steps (1)");
        // Step 6 of the server SOP has no standard: it counts nothing.
        let server = of(&c.sops["server"], Lang::Id).unwrap();
        assert_eq!(server.minutes, 50);
        assert_eq!(server.scope, "langkah 2–5; tanpa langkah pemohon (1)");
    }

    #[test]
    fn numbers_read_as_ranges() {
        assert_eq!(ranges(vec![]), "");
        assert_eq!(ranges(vec![3]), "3");
        assert_eq!(ranges(vec![2, 3]), "2, 3");
        assert_eq!(ranges(vec![5, 2, 3, 4, 8, 10, 11, 12]), "2–5, 8, 10–12");
    }
}
