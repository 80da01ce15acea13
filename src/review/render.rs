//! Outputs of `loket review`: a human report (English, with the SOP's Indonesian
//! terms), and Markdown in Bahasa Indonesia for the PR comment and the GitHub
//! Actions job summary. JSON is the [`Evaluation`] itself, serialised.

use std::fmt::Write as _;

use super::{Evaluation, Finding, StepState, TicketStatus, rules};
use crate::apply::plan::{Action, Plan, Target};
use crate::model::config::TimeZone;
use crate::model::letter::Acting;
use crate::model::record::Outcome;

/// Hidden marker identifying loket's one comment on a pull request.
pub const COMMENT_MARKER: &str = "<!-- loket-review -->";

fn outcome_en(o: Outcome) -> &'static str {
    match o {
        Outcome::Pending => "pending",
        Outcome::Returned => "returned to the applicant (dikembalikan)",
        Outcome::Refused => "refused (ditolak)",
        Outcome::Approved => "approved: ready to merge",
        Outcome::Processed => "processed",
        Outcome::Done => "done: every step completed",
        Outcome::Failed => "failed",
    }
}

fn outcome_id(o: Outcome) -> &'static str {
    match o {
        Outcome::Pending => "⏳ Menunggu",
        Outcome::Returned => "↩️ Dikembalikan kepada pemohon",
        Outcome::Refused => "⛔ Ditolak",
        Outcome::Approved => "✅ Disetujui, siap digabung (merge)",
        Outcome::Processed => "✅ Telah diproses",
        Outcome::Done => "✅ Selesai",
        Outcome::Failed => "❌ Gagal",
    }
}

pub fn human(ev: &Evaluation) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "pull request #{} (head {}): {}",
        ev.pr,
        super::rules::short(&ev.head_sha),
        outcome_en(ev.outcome)
    );
    if ev.tickets.is_empty() && ev.config_change.is_none() {
        let _ = writeln!(s, "  no request files changed: nothing to approve");
    }
    for t in &ev.tickets {
        let _ = writeln!(
            s,
            "\n{} ({}, SOP {}): {}",
            t.ticket,
            t.kind,
            t.sop.as_deref().unwrap_or("-"),
            outcome_en(t.outcome)
        );
        for st in &t.steps {
            let no = st.no.map(|n| format!("{n}.")).unwrap_or_default();
            let what = match &st.state {
                StepState::Done { record } => format!(
                    "done{}{}{}",
                    record
                        .login
                        .as_ref()
                        .map(|l| format!(" by {l}"))
                        .unwrap_or_default(),
                    record
                        .acting
                        .as_ref()
                        .map(|a| format!(
                            " as {} {} (decree {})",
                            a.kind.prefix(),
                            st.role,
                            a.decree
                        ))
                        .unwrap_or_default(),
                    if record.at.is_empty() {
                        String::new()
                    } else {
                        format!(" at {}", record.at)
                    }
                ),
                StepState::Pending => format!("PENDING: waits for {}", st.role),
                StepState::Waiting => "waiting".into(),
                StepState::AfterMerge => "after merge".into(),
            };
            let _ = writeln!(
                s,
                "  {no:<3} {:<20} {:<16} {what}",
                st.id,
                format!("[{}]", st.role)
            );
        }
        if let Some(super::Pending { step, role }) = &t.pending
            && t.outcome == Outcome::Pending
        {
            let _ = writeln!(s, "  → waits for role {role} (step {step})");
        }
        if let Some(r) = &t.reason {
            let _ = writeln!(s, "  reason: {r}");
        }
        for f in &t.findings {
            let _ = writeln!(
                s,
                "  not counted [{}] {}{}: {}",
                f.code,
                who(f, "by"),
                f.step
                    .as_ref()
                    .map(|st| format!(" for step {st}"))
                    .unwrap_or_default(),
                f.message
            );
        }
    }
    if let Some(cc) = &ev.config_change {
        let _ = writeln!(
            s,
            "\n{} changed: needs approval by role {}: {}",
            super::list_paths(&cc.paths),
            cc.role
                .as_deref()
                .unwrap_or("(approvals.config-change-role unset)"),
            cc.approved
                .as_ref()
                .and_then(|r| r.login.as_ref())
                .map_or("missing".to_string(), |l| format!("approved by {l}"))
        );
    }
    if !ev.findings.is_empty() {
        let _ = writeln!(s, "\nreviews that do not count:");
        for f in &ev.findings {
            let _ = writeln!(s, "  [{}] {}: {}", f.code, who(f, "by"), f.message);
        }
    }
    for p in &ev.problems {
        let _ = writeln!(s, "\nproblem: {p}");
    }
    s
}

fn step_cell(t: &TicketStatus) -> String {
    match (&t.pending, t.outcome) {
        (Some(p), Outcome::Pending) => {
            let step = &p.step;
            let title = t
                .steps
                .iter()
                .find(|s| &s.id == step)
                .map_or(step.as_str(), |s| s.role_title.as_str());
            format!("menunggu **{}**", md_escape(title))
        }
        _ => "–".into(),
    }
}

/// An RFC 3339 instant as the office reads it, e.g. `18-09-2026 09:02 WIB`.
fn local_time(at: &str, tz: TimeZone) -> String {
    let Ok(ts) = at.parse::<jiff::Timestamp>() else {
        return at.to_string();
    };
    let Ok(offset) = jiff::tz::Offset::from_hours(tz.utc_offset_hours()) else {
        return at.to_string();
    };
    format!(
        "{} {tz:?}",
        offset.to_datetime(ts).strftime("%d-%m-%Y %H:%M")
    )
}

/// "review 123 by login" for findings about a review.
fn who(f: &Finding, by: &str) -> String {
    match (&f.review_id, &f.login) {
        (Some(id), Some(l)) if by == "oleh" => format!("review {id} oleh `{l}`"),
        (Some(id), Some(l)) => format!("review {id} {by} {l}"),
        _ => "check".into(),
    }
}

/// A finding for the PR comment: the rule in Indonesian, the details as given.
fn finding_id(f: &Finding) -> String {
    let rule = rules::rule(f.code).map_or("", |r| r.summary_id);
    format!(
        "- `{}` {}: {} ({})",
        f.code,
        who(f, "oleh"),
        rule,
        md_escape(&f.message)
    )
}

/// Markdown in Bahasa Indonesia: a summary table, then each request's steps.
pub fn markdown(ev: &Evaluation) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{COMMENT_MARKER}");
    let _ = writeln!(
        s,
        "### loket: status persetujuan PR #{}\n\n**{}** (commit `{}`)\n",
        ev.pr,
        outcome_id(ev.outcome),
        super::rules::short(&ev.head_sha)
    );
    if ev.tickets.is_empty() && ev.config_change.is_none() {
        let _ = writeln!(s, "Tidak ada berkas permohonan yang berubah.");
    }
    if !ev.tickets.is_empty() {
        let _ = writeln!(s, "| Tiket | Jenis | Status | Langkah berikutnya |");
        let _ = writeln!(s, "|---|---|---|---|");
        for t in &ev.tickets {
            let _ = writeln!(
                s,
                "| `{}` | {} | {} | {} |",
                t.ticket,
                t.kind.label_id(),
                outcome_id(t.outcome),
                step_cell(t)
            );
        }
    }
    for t in &ev.tickets {
        let _ = writeln!(s, "\n#### `{}`\n", t.ticket);
        let _ = writeln!(s, "| No | Langkah SOP | Peran | Status |");
        let _ = writeln!(s, "|---|---|---|---|");
        for st in &t.steps {
            let status = match &st.state {
                StepState::Done { record } => format!(
                    "✅ selesai{}{}{}",
                    record
                        .login
                        .as_ref()
                        .map(|l| format!(" oleh `{l}`"))
                        .unwrap_or_default(),
                    acting_id(record.acting.as_ref(), &st.role_title),
                    if record.at.is_empty() {
                        String::new()
                    } else {
                        format!(", {}", local_time(&record.at, ev.time_zone))
                    }
                ),
                StepState::Pending => "⏳ **menunggu**".into(),
                StepState::Waiting => "belum".into(),
                StepState::AfterMerge => "setelah merge".into(),
            };
            let _ = writeln!(
                s,
                "| {} | `{}` | {} | {} |",
                st.no.map(|n| n.to_string()).unwrap_or_default(),
                st.id,
                md_escape(&st.role_title),
                status
            );
        }
        if let Some(r) = &t.reason {
            let _ = writeln!(s, "\nAlasan: {}", md_escape(r));
        }
        if !t.findings.is_empty() {
            let _ = writeln!(s, "\nPersetujuan yang tidak dihitung:");
            for f in &t.findings {
                let _ = writeln!(s, "{}", finding_id(f));
            }
        }
    }
    if let Some(cc) = &ev.config_change {
        let _ = writeln!(
            s,
            "\n{} berubah: perlu persetujuan peran **{}**: {}",
            md_escape(&super::list_paths(&cc.paths)),
            cc.role
                .as_deref()
                .unwrap_or("(approvals.config-change-role belum diatur)"),
            cc.approved
                .as_ref()
                .and_then(|r| Some((r.login.as_ref()?, r.acting.as_ref())))
                .map_or("⏳ belum ada".to_string(), |(l, a)| format!(
                    "✅ oleh `{l}`{}",
                    a.map(|a| format!(" ({}, SK {})", a.kind.prefix(), md_escape(&a.decree)))
                        .unwrap_or_default()
                ))
        );
    }
    if !ev.findings.is_empty() {
        let _ = writeln!(s, "\nReview yang tidak dihitung:");
        for f in &ev.findings {
            let _ = writeln!(s, "{}", finding_id(f));
        }
    }
    for p in &ev.problems {
        let _ = writeln!(s, "\n⚠️ {}", md_escape(p));
    }
    let _ = writeln!(
        s,
        "\n<sub>Persetujuan hanya dihitung dari review resmi \"Approve\" oleh pemegang peran di `loket.toml` cabang dasar. Komentar tidak dihitung.</sub>"
    );
    s
}

/// " sebagai **Plh. Kepala Dinas …** (SK …)" for a step an acting official completed.
fn acting_id(acting: Option<&Acting>, title: &str) -> String {
    acting.map_or_else(String::new, |a| {
        format!(
            " sebagai **{} {}** (SK {})",
            a.kind.prefix(),
            md_escape(title),
            md_escape(&a.decree)
        )
    })
}

/// Keeps reviewer text from breaking the table or pinging people.
fn md_escape(s: &str) -> String {
    s.replace('|', "\\|")
        .replace('\n', " ")
        .replace('@', "@\u{200b}")
        .replace('<', "&lt;")
}

/// The PR comment's section on what merging will change, per ticket. No addresses,
/// logins or hosts: the comment may be public, and the request file already says it.
pub fn plan_markdown(plan: &Plan) -> String {
    let mut s = String::from("\n#### Perubahan akun setelah merge\n\n");
    if plan.is_empty() {
        s += "Tidak ada akun yang berubah.\n";
        return s;
    }
    let _ = writeln!(s, "| Tiket | Sistem | Perubahan |");
    let _ = writeln!(s, "|---|---|---|");
    for c in &plan.changes {
        let what = match &c.target {
            Target::Mail { .. } => "akun email",
            Target::ServerAccount { .. } => "akun server",
            Target::Key { .. } => "kunci SSH",
        };
        let action = match c.action {
            Action::Create => "buat",
            Action::Disable => "nonaktifkan",
            Action::Enable => "aktifkan kembali",
            Action::Reset => "reset kata sandi",
            Action::Grant => "pasang",
            Action::Revoke => "cabut",
            Action::Expire => "akhiri (kedaluwarsa)",
        };
        let tickets: Vec<String> = c.tickets.iter().map(|t| format!("`{t}`")).collect();
        let _ = writeln!(
            s,
            "| {} | `{}` | {action} {what} |",
            tickets.join(", "),
            c.backend
        );
    }
    let _ = writeln!(
        s,
        "\n<sub>Dihitung dari `accounts/` terhadap cabang dasar, seolah cabang dasar sudah diterapkan; \
         rencana terhadap sistem sebenarnya dibuat saat `loket apply`.</sub>"
    );
    s
}
