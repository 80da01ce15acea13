//! The letter's body: the opening that answers the applicant's letter, the account's
//! details and how the credentials are collected (never the password itself).

use serde::Serialize;

use crate::model::config::Config;
use crate::model::request::{DeactivateReason, Request};
use crate::model::{RequestKind, time};
use crate::site::text::{self, Lang};

#[derive(Serialize)]
pub(super) struct Body {
    opening: String,
    rows: Vec<(String, String)>,
    notes: Vec<String>,
}

pub(super) fn body(config: &Config, lang: Lang, req: &Request, letter_date: &str) -> Body {
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
