//! Notification letters (surat pemberitahuan): the Lumajang SOP ends with a signed
//! letter telling the applicant the account exists; other offices use it as their
//! "applicant notified" step. Letters are private (they name the applicant and the
//! account), so they are rendered on demand, never published. They never hold a
//! password: they say how the sealed credentials are collected.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::site::render::sv;
use jiff::civil::Date;
use minijinja::{Value, context};
use serde::Serialize;
use thiserror::Error;

use crate::model::config::{Completion, Config};
use crate::model::record::{EventKind, Outcome, Progress};
use crate::model::request::{DeactivateReason, Request};
use crate::model::{RequestKind, time};
use crate::site::render::{self, LETTER_STYLE, Templates};
use crate::site::text::{self, Lang};
use crate::site::{SiteData, SiteError};

#[derive(Debug, Error)]
pub enum LetterError {
    #[error(transparent)]
    Site(#[from] SiteError),
    #[error("no request has ticket {0} (look in requests/)")]
    NoSuchTicket(String),
    #[error(
        "ticket {ticket} is {outcome:?}, not processed: the letter is issued once `loket apply` has created the account"
    )]
    NotProcessed { ticket: String, outcome: Outcome },
    #[error("ticket {0} has no record yet (records/{0}.toml): it has not been applied")]
    NoRecord(String),
    #[error("--signer {0}: no such role in loket.toml [roles]")]
    UnknownRole(String),
    #[error("chromium could not print the PDF ({status}): {stderr}")]
    Chromium { status: String, stderr: String },
    #[error("cannot run {path}: {source}")]
    Spawn {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

/// What the command may set; everything else comes from the instance.
#[derive(Debug, Clone, Default)]
pub struct LetterOptions {
    /// The outgoing-letter number from the office's register; by default
    /// `<classification>/<ticket>/<year>`, the classification taken from the SOP number.
    pub number: Option<String>,
    /// The letter's date; by default the day the account was processed.
    pub date: Option<Date>,
    /// The signing role; by default the role of the SOP's first disposition (the
    /// Kepala Dinas), who signs outgoing letters.
    pub signer: Option<String>,
}

#[derive(Serialize)]
struct Body {
    opening: String,
    rows: Vec<(String, String)>,
    notes: Vec<String>,
}

/// Renders the letter for `ticket` as a print-ready HTML document.
pub fn render(
    data: &SiteData,
    templates: &Templates,
    ticket: &str,
    opts: &LetterOptions,
) -> Result<String, LetterError> {
    let config = data.instance.config.as_ref().ok_or(SiteError::NoConfig)?;
    let lang = render::language(config)?;
    let tz = *config.office.time_zone.get_ref();
    let req = data
        .instance
        .requests
        .iter()
        .map(|r| &r.value)
        .find(|r| r.ticket().eq_ignore_ascii_case(ticket.trim()))
        .ok_or_else(|| LetterError::NoSuchTicket(ticket.to_string()))?;
    let ticket = req.ticket();
    let record = data
        .records
        .iter()
        .find(|r| r.ticket == ticket)
        .ok_or_else(|| LetterError::NoRecord(ticket.to_string()))?;
    if !matches!(record.outcome, Outcome::Processed | Outcome::Done) {
        return Err(LetterError::NotProcessed {
            ticket: ticket.to_string(),
            outcome: record.outcome,
        });
    }
    let (_, sop) = config
        .sop_for(req.kind())
        .ok_or_else(|| LetterError::NoSuchTicket(ticket.to_string()))?;
    let signer_role = match &opts.signer {
        Some(r) => r.clone(),
        None => sop
            .steps
            .iter()
            .find(|s| *s.done_by.get_ref() == Completion::Review)
            .map_or_else(|| "kepala-dinas".into(), |s| s.role.get_ref().clone()),
    };
    let signer = config
        .roles
        .get(&signer_role)
        .ok_or_else(|| LetterError::UnknownRole(signer_role.clone()))?;
    let date = opts
        .date
        .or_else(|| processed_on(record, tz))
        .unwrap_or_else(|| jiff::ZonedDateTime::now().date());
    let number = opts.number.clone().unwrap_or_else(|| {
        let class = sop.number.split('/').next().unwrap_or("");
        format!("{class}/{ticket}/{}", date.year())
    });
    let app = &req.applicant;
    let letter_date = time::to_date(req.letter.date.get_ref())
        .map(|d| text::date(lang, d))
        .unwrap_or_default();
    let kind_label = lang.pick(req.kind().label_id(), req.kind().label_en());
    // Signed by an acting official when the role's step was (Plh./Plt./Pj. <title>).
    let acting = record
        .steps
        .iter()
        .rev()
        .find(|s| s.role == signer_role)
        .and_then(|s| s.acting.as_ref());
    let signer_title = acting.map_or_else(
        || signer.title.clone(),
        |a| format!("{} {}", a.kind.prefix(), signer.title),
    );
    let ctx = context! {
        lang => lang.code(),
        style => LETTER_STYLE,
        office => render::office_value(config),
        w => words(lang),
        letter => context! { number => number, date => text::date(lang, date) },
        to => context! {
            name => app.name.get_ref(),
            position => app.position.get_ref(),
            opd => app.opd.get_ref(),
        },
        ticket => ticket,
        kind_label => kind_label.to_lowercase(),
        body => sv(body(config, lang, req, &letter_date)),
        signer => context! { title => signer_title },
    };
    Ok(templates.render("letter.html", ctx)?)
}

/// The day in the office's zone the account was processed (the last apply event).
fn processed_on(record: &Progress, tz: crate::model::config::TimeZone) -> Option<Date> {
    record
        .events
        .iter()
        .filter(|e| matches!(e.kind, EventKind::Applied | EventKind::Verified))
        .filter_map(|e| e.at.parse::<jiff::Timestamp>().ok())
        .chain(
            record
                .steps
                .iter()
                .filter(|s| s.done_by == Completion::Apply)
                .filter_map(|s| s.at.parse::<jiff::Timestamp>().ok()),
        )
        .max()
        .map(|ts| text::offset(tz).to_datetime(ts).date())
}

fn words(lang: Lang) -> Value {
    let pairs: &[(&str, &str, &str)] = &[
        ("title", "Pemberitahuan", "Notification:"),
        ("number", "Nomor", "Number"),
        ("attachment", "Lampiran", "Attachment"),
        ("subject", "Perihal", "Subject"),
        ("phone", "Telp.", "Phone"),
        ("to", "Kepada Yth.", "To"),
        ("at_place", "di tempat", ""),
        ("ticket", "Nomor tiket", "Ticket number"),
        ("nip", "NIP.", "NIP"),
        (
            "closing",
            "Demikian pemberitahuan ini disampaikan. Atas perhatian Saudara, kami ucapkan terima kasih.",
            "Thank you for your attention.",
        ),
        (
            "private_note",
            "Surat ini bersifat pribadi dan tidak dipublikasikan. Status tiket dapat dilihat pada situs layanan dengan nomor tiket di atas.",
            "This letter is private and never published. The ticket's status is on the service site under the ticket number above.",
        ),
    ];
    let map: std::collections::BTreeMap<&str, &str> = pairs
        .iter()
        .map(|(k, id, en)| (*k, lang.pick(id, en)))
        .collect();
    sv(map)
}

fn body(config: &Config, lang: Lang, req: &Request, letter_date: &str) -> Body {
    let id = lang == Lang::Id;
    let opening = if id {
        format!(
            "Menindaklanjuti surat Saudara nomor {} tanggal {} perihal {}, bersama ini kami beritahukan bahwa permohonan tersebut telah diproses dengan rincian sebagai berikut:",
            req.letter.number.get_ref(),
            letter_date,
            req.kind().label_id().to_lowercase()
        )
    } else {
        format!(
            "Following your letter number {} of {} on {}, we inform you that the request has been processed as follows:",
            req.letter.number.get_ref(),
            letter_date,
            req.kind().label_en().to_lowercase()
        )
    };
    let mut rows = Vec::new();
    let mut notes = Vec::new();
    let office = &config.office;
    let sealed = req.applicant.recipient.is_some();
    let collect = if sealed {
        lang.pick(
            "Kata sandi tidak dicantumkan dalam surat ini. Kata sandi telah disegel (dienkripsi dengan age) untuk kunci publik yang Saudara cantumkan pada permohonan, sehingga hanya dapat dibuka dengan kunci privat Saudara. Berkas tersegel {file} diserahkan oleh Helpdesk; sebutkan nomor tiket di atas.",
            "The password is not in this letter. It has been sealed (encrypted with age) to the public key you gave in your request, so only your private key opens it. The Helpdesk hands over the sealed file {file}; quote the ticket number above.",
        )
        .replace("{file}", &format!("{}.age", req.ticket()))
    } else if id {
        format!(
            "Kata sandi tidak dicantumkan dalam surat ini. Kata sandi diserahkan dalam amplop tertutup (tersegel) yang diambil sendiri oleh Saudara di Helpdesk {}, {}, dengan menunjukkan kartu identitas pegawai dan nomor tiket di atas.",
            office.short_name, office.address
        )
    } else {
        format!(
            "The password is not in this letter. It is handed over in a sealed envelope, to be collected in person at the {} Helpdesk, {}, on showing your staff ID card and the ticket number above.",
            office.short_name, office.address
        )
    };
    let change = lang.pick(
        "Segera ganti kata sandi setelah masuk pertama kali dan jangan berikan kepada siapa pun.",
        "Change the password at your first login and never share it.",
    );
    let mail = req.mail.as_ref().map(|m| m.get_ref());
    let server = req.server.as_ref().map(|s| s.get_ref());
    let address_label = lang.pick("Alamat email", "Mail address").to_string();
    match req.kind() {
        RequestKind::MailCreate | RequestKind::MailReset => {
            if let Some(m) = mail {
                rows.push((address_label, m.address.get_ref().clone()));
            }
            rows.push((
                lang.pick("Status akun", "Account status").into(),
                lang.pick("aktif", "active").into(),
            ));
            notes.push(collect);
            notes.push(change.into());
        }
        RequestKind::MailDeactivate => {
            if let Some(m) = mail {
                rows.push((address_label, m.address.get_ref().clone()));
                if let Some(r) = &m.reason {
                    let reason = match r.get_ref() {
                        DeactivateReason::Pensiun => lang.pick("pensiun", "retirement"),
                        DeactivateReason::Mutasi => lang.pick("mutasi", "transfer"),
                        DeactivateReason::Berhenti => lang.pick("berhenti", "resignation"),
                        DeactivateReason::Meninggal => lang.pick("meninggal dunia", "death"),
                    };
                    rows.push((lang.pick("Alasan", "Reason").into(), reason.into()));
                }
            }
            rows.push((
                lang.pick("Status akun", "Account status").into(),
                lang.pick(
                    "dinonaktifkan (surat yang tersimpan tetap disimpan)",
                    "disabled (stored mail is kept)",
                )
                .into(),
            ));
        }
        RequestKind::ServerGrant | RequestKind::ServerRevoke => {
            if let Some(s) = server {
                rows.push(("Server".into(), s.name.get_ref().clone()));
                rows.push((
                    lang.pick("Akun", "Account").into(),
                    s.account.get_ref().clone(),
                ));
                if let Some(exp) = s.expires.as_ref().and_then(|e| time::to_date(e.get_ref())) {
                    rows.push((
                        lang.pick("Berlaku sampai", "Valid until").into(),
                        text::date(lang, exp),
                    ));
                }
                if let Some(g) = &s.grant {
                    rows.push((
                        lang.pick("Akses yang dicabut", "Access revoked").into(),
                        g.get_ref().clone(),
                    ));
                }
            }
            if req.kind() == RequestKind::ServerGrant {
                notes.push(
                    lang.pick(
                        "Akses memakai kunci SSH yang Saudara ajukan; tidak ada kata sandi yang diberikan. Simpan kunci privat Saudara dengan aman dan patuhi ketentuan akses server yang telah Saudara setujui.",
                        "Access uses the SSH key you submitted; no password is issued. Keep your private key safe and follow the server-access terms you agreed to.",
                    )
                    .into(),
                );
            }
        }
    }
    Body {
        opening,
        rows,
        notes,
    }
}

/// Prints `html` to a PDF with headless Chromium (A4 from the letter's print CSS).
pub fn print_pdf(chromium: &Path, html: &str, out: &Path) -> Result<(), LetterError> {
    let io = |path: &Path, source| LetterError::Io {
        path: path.to_path_buf(),
        source,
    };
    let dir = tempfile::tempdir().map_err(|e| io(Path::new("temp dir"), e))?;
    let page = dir.path().join("letter.html");
    std::fs::write(&page, html).map_err(|e| io(&page, e))?;
    let profile = dir.path().join("profile");
    let out_abs = std::path::absolute(out).map_err(|e| io(out, e))?;
    let output = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-pdf-header-footer",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("--print-to-pdf={}", out_abs.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .map_err(|source| LetterError::Spawn {
            path: chromium.to_path_buf(),
            source,
        })?;
    let ok =
        output.status.success() && std::fs::read(&out_abs).is_ok_and(|b| b.starts_with(b"%PDF"));
    if !ok {
        let stderr = String::from_utf8_lossy(&output.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(5).collect();
        return Err(LetterError::Chromium {
            status: output.status.to_string(),
            stderr: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
        });
    }
    Ok(())
}
