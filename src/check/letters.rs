//! L082 and L079: the notification letters of follow-up pull requests. L082 judges
//! `[letters]` and the SOP steps after the apply step in `loket.toml`; L079 keeps the
//! outgoing-letter register: each `letters/<ticket>.toml` names its own ticket, its
//! number is the office's format filled with its sequence and year, and numbers run
//! 1, 2, 3… per year with no gap or duplicate (with `--base`, a merged letter never
//! changes and a new one takes the next number after the base's).

use std::collections::{BTreeMap, HashMap};

use super::{Context, Rule};
use crate::diag::{Diagnostic, Label};
use crate::model::config::{Completion, ReceiptBy};
use crate::model::letter::{LetterFile, format_number};
use crate::model::{Config, Instance, Loaded};

pub const CONFIG: Rule = Rule {
    code: "L082",
    name: "config-letters",
    summary: "[letters] has a number-format with {seq}, known signer and witness roles; SOPs with steps after apply have [letters]; done-by = \"notify\" is retired",
    run: config_letters,
};

pub const REGISTER: Rule = Rule {
    code: "L079",
    name: "letter-register",
    summary: "letters/<ticket>.toml names its ticket's request, its number fits [letters] number-format, and numbers run 1, 2, 3… per year without gap or duplicate (with --base: merged letters unchanged, new ones after the base's)",
    run: register,
};

fn config_letters(cx: &Context, out: &mut Vec<Diagnostic>) {
    let (Some(c), Some(file)) = (cx.config, cx.inst.config_file) else {
        return;
    };
    let e = |span, label: &str, msg: String, hint: &str| {
        Diagnostic::error(CONFIG.code, Label::new(file, span, label), msg).with_hint(hint)
    };
    for (id, sop) in &c.sops {
        for step in &sop.steps {
            if *step.done_by.get_ref() == Completion::Notify {
                out.push(e(
                    step.done_by.span(),
                    "retired",
                    format!("step '{}' of SOP '{id}' is done by \"notify\", which no command completes", step.id.get_ref()),
                    "use \"draft\", \"review\", \"merge\" or \"receipt\": the follow-up pull request completes the steps after the account is made (docs/approvals.md)",
                ));
            }
        }
        let follow = Config::follow_up_steps(sop);
        if c.letters.is_none()
            && let Some((_, step)) = follow.first()
        {
            out.push(e(
                step.done_by.span(),
                "needs [letters]",
                format!("SOP '{id}' has steps after the account is made (from '{}') but loket.toml has no [letters]", step.id.get_ref()),
                "add [letters] with the office's number-format (e.g. \"555/{seq:04}/18.03/{year}\") and who confirms receipt",
            ));
        }
        for step in &sop.steps {
            let d = *step.done_by.get_ref();
            if matches!(d, Completion::Draft | Completion::Receipt)
                && !follow
                    .iter()
                    .any(|(_, s)| s.id.get_ref() == step.id.get_ref())
            {
                out.push(e(
                    step.done_by.span(),
                    "before the apply step",
                    format!("step '{}' of SOP '{id}' is done by a follow-up pull request but comes before the apply step", step.id.get_ref()),
                    "\"draft\" and \"receipt\" steps come after the step done by \"apply\"",
                ));
            }
        }
    }
    let Some(l) = &c.letters else { return };
    if format_number(l.number_format.get_ref(), 1, 2026).is_none() {
        out.push(e(
            l.number_format.span(),
            "not a number format",
            format!("letters.number-format {:?} needs {{seq}} or {{seq:0N}} and no other {{…}} field but {{year}}", l.number_format.get_ref()),
            "e.g. \"555/{seq:04}/18.03/{year}\"",
        ));
    }
    let roles = [Some(&l.signer_role), l.witness_role.as_ref()];
    for r in roles.into_iter().flatten() {
        if !c.roles.contains_key(r.get_ref()) {
            out.push(e(
                r.span(),
                "no such role",
                format!("[letters] names the unknown role '{}'", r.get_ref()),
                "define it under [roles.<id>]",
            ));
        }
    }
    if l.receipt == ReceiptBy::Witness && l.witness_role.is_none() {
        out.push(e(
            l.number_format.span(),
            "no witness-role",
            "letters.receipt = \"witness\" needs letters.witness-role".into(),
            "name the role whose approving review witnesses the handover",
        ));
    }
}

/// Letters by year: (seq, letter).
type ByYear<'a> = BTreeMap<i16, Vec<(u32, &'a Loaded<LetterFile>)>>;

fn register(cx: &Context, out: &mut Vec<Diagnostic>) {
    let Some(c) = cx.config else { return };
    let Some(l) = &c.letters else {
        for f in &cx.inst.letters {
            out.push(diag(
                cx.inst,
                f,
                f.value.ticket.span(),
                "no register",
                "a letter is here but loket.toml has no [letters]".into(),
            ));
        }
        return;
    };
    let format = l.number_format.get_ref();
    let mut years: ByYear = BTreeMap::new();
    for f in &cx.inst.letters {
        if let Some(year) = one_letter(cx, format, f, out) {
            years
                .entry(year)
                .or_default()
                .push((*f.value.seq.get_ref(), f));
        }
    }
    let base = cx.base.map(|b| {
        b.instance
            .letters
            .iter()
            .map(|f| (f.value.ticket.get_ref().as_str(), f))
            .collect::<HashMap<_, _>>()
    });
    for (year, mut list) in years {
        list.sort_by_key(|(seq, _)| *seq);
        let mut expected = 1;
        for (i, (seq, f)) in list.iter().enumerate() {
            if i > 0 && list[i - 1].0 == *seq {
                out.push(diag(
                    cx.inst,
                    f,
                    f.value.seq.span(),
                    "duplicate",
                    format!(
                        "register number {seq} of {year} is taken twice (also by {})",
                        list[i - 1].1.value.ticket.get_ref()
                    ),
                ));
                continue;
            }
            if *seq != expected {
                out.push(diag(
                    cx.inst,
                    f,
                    f.value.seq.span(),
                    "gap",
                    format!(
                        "register number {seq} of {year} follows {}: the register has no gaps",
                        expected - 1
                    ),
                ));
            }
            expected = seq + 1;
        }
    }
    if let Some(base) = base {
        against_base(cx, &base, out);
    }
}

/// One letter's own fields; its year when the date reads.
fn one_letter(
    cx: &Context,
    format: &str,
    f: &Loaded<LetterFile>,
    out: &mut Vec<Diagnostic>,
) -> Option<i16> {
    let v = &f.value;
    let ticket = v.ticket.get_ref();
    let named = cx.inst.path(f.file).to_string_lossy() == LetterFile::path_for(ticket);
    if !named {
        out.push(diag(
            cx.inst,
            f,
            v.ticket.span(),
            "not this file's ticket",
            format!(
                "the letter names ticket {ticket} but is not {}",
                LetterFile::path_for(ticket)
            ),
        ));
    }
    if !cx.inst.requests.iter().any(|r| r.value.ticket() == ticket) {
        out.push(diag(
            cx.inst,
            f,
            v.ticket.span(),
            "no request",
            format!("no request in requests/ has ticket {ticket}"),
        ));
    }
    for d in [&v.request_letter_date] {
        if d.get_ref().parse::<jiff::civil::Date>().is_err() {
            out.push(diag(
                cx.inst,
                f,
                d.span(),
                "not a date",
                format!("{:?} is not a date (YYYY-MM-DD)", d.get_ref()),
            ));
        }
    }
    let Some(year) = v.year() else {
        out.push(diag(
            cx.inst,
            f,
            v.date.span(),
            "not a date",
            format!("{:?} is not a date (YYYY-MM-DD)", v.date.get_ref()),
        ));
        return None;
    };
    let want = format_number(format, *v.seq.get_ref(), year);
    if want.as_deref() != Some(v.number.get_ref().as_str()) {
        out.push(diag(cx.inst, f, v.number.span(), "not the register's number", format!("number {:?} is not [letters] number-format filled with seq {} and year {year} ({})", v.number.get_ref(), v.seq.get_ref(), want.as_deref().unwrap_or("the format does not fill"))));
    }
    Some(year)
}

/// With a base: merged letters stay as they are, and a new letter's number comes
/// after every base letter of its year.
fn against_base(
    cx: &Context,
    base: &HashMap<&str, &Loaded<LetterFile>>,
    out: &mut Vec<Diagnostic>,
) {
    let base_inst = &cx.base.expect("a base").instance;
    let mut top: BTreeMap<i16, u32> = BTreeMap::new();
    for f in base.values() {
        if let Some(y) = f.value.year() {
            let t = top.entry(y).or_default();
            *t = (*t).max(*f.value.seq.get_ref());
        }
    }
    for f in &cx.inst.letters {
        let ticket = f.value.ticket.get_ref().as_str();
        match base.get(ticket) {
            Some(old) => {
                let same = base_inst.sources.get(old.file).text.as_str()
                    == cx.inst.sources.get(f.file).text.as_str();
                if !same {
                    out.push(diag(cx.inst, f, f.value.number.span(), "edited", format!("the letter of {ticket} was merged before: an issued letter never changes")));
                }
            }
            None => {
                let (Some(y), seq) = (f.value.year(), *f.value.seq.get_ref()) else {
                    continue;
                };
                let last = top.get(&y).copied().unwrap_or(0);
                if seq <= last {
                    out.push(diag(cx.inst, f, f.value.seq.span(), "taken on the base", format!("register number {seq} of {y} is not after the base branch's last ({last}): take {}", last + 1)));
                }
            }
        }
    }
}

fn diag(
    inst: &Instance,
    f: &Loaded<LetterFile>,
    span: std::ops::Range<usize>,
    label: &str,
    msg: String,
) -> Diagnostic {
    let _ = inst;
    Diagnostic::error(REGISTER.code, Label::new(f.file, span, label), msg)
        .with_hint("`loket letter --draft TICKET` writes the next number of the register")
}

#[cfg(test)]
mod tests;
