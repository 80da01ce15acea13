//! Words and formats people read: the site's language (Bahasa Indonesia by default,
//! English by config), status labels, dates in the office's time zone, durations.

use jiff::Timestamp;
use jiff::tz::Offset;

use super::public::Status;
use crate::model::config::{Completion, TimeZone};
use crate::model::record::EventKind;

/// The site's language.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lang {
    Id,
    En,
}

impl Lang {
    pub fn parse(s: &str) -> Option<Lang> {
        match s {
            "id" => Some(Lang::Id),
            "en" => Some(Lang::En),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            Lang::Id => "id",
            Lang::En => "en",
        }
    }

    /// `(id, en)` picked by language.
    pub fn pick<'a>(self, id: &'a str, en: &'a str) -> &'a str {
        match self {
            Lang::Id => id,
            Lang::En => en,
        }
    }
}

const MONTHS_ID: [&str; 12] = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
];
const MONTHS_EN: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// The office's fixed offset (Indonesia keeps no daylight saving time).
pub fn offset(tz: TimeZone) -> Offset {
    Offset::constant(tz.utc_offset_hours())
}

pub fn month_name(lang: Lang, month: i8) -> &'static str {
    let i = usize::try_from(month - 1).unwrap_or(0).min(11);
    match lang {
        Lang::Id => MONTHS_ID[i],
        Lang::En => MONTHS_EN[i],
    }
}

/// "18 September 2026".
pub fn date(lang: Lang, d: jiff::civil::Date) -> String {
    format!("{} {} {}", d.day(), month_name(lang, d.month()), d.year())
}

/// "September 2026".
pub fn month(lang: Lang, year: i16, month: i8) -> String {
    format!("{} {year}", month_name(lang, month))
}

/// "18 September 2026 pukul 08.00 WIB" / "18 September 2026, 08:00 WIB".
pub fn date_time(lang: Lang, ts: Timestamp, tz: TimeZone) -> String {
    let dt = offset(tz).to_datetime(ts);
    let (h, m) = (dt.hour(), dt.minute());
    match lang {
        Lang::Id => format!("{} pukul {h:02}.{m:02} {tz:?}", date(lang, dt.date())),
        Lang::En => format!("{}, {h:02}:{m:02} {tz:?}", date(lang, dt.date())),
    }
}

/// "2 jam 5 menit" / "2 h 5 min"; whole minutes.
pub fn duration(lang: Lang, minutes: i64) -> String {
    let m = minutes.max(0);
    let (d, h, min) = (m / 1440, m % 1440 / 60, m % 60);
    let (ud, uh, um) = match lang {
        Lang::Id => ("hari", "jam", "menit"),
        Lang::En => ("d", "h", "min"),
    };
    let mut parts = Vec::new();
    if d > 0 {
        parts.push(format!("{d} {ud}"));
    }
    if h > 0 {
        parts.push(format!("{h} {uh}"));
    }
    // Minutes stop mattering once a wait is counted in days.
    if (min > 0 && d == 0) || parts.is_empty() {
        parts.push(format!("{min} {um}"));
    }
    parts.join(" ")
}

/// The status as the public reads it.
pub fn status_label(lang: Lang, status: Status, waiting_for: &str) -> String {
    match status {
        Status::Submitted => lang.pick("diajukan", "submitted").into(),
        Status::Waiting => match lang {
            Lang::Id => format!("menunggu disposisi {waiting_for}"),
            Lang::En => format!("awaiting disposition by the {waiting_for}"),
        },
        Status::Returned => lang
            .pick("dikembalikan untuk perbaikan", "returned for correction")
            .into(),
        Status::Refused => lang.pick("ditolak", "refused").into(),
        Status::Approved => lang.pick("disetujui", "approved").into(),
        Status::Processed => lang.pick("telah diproses", "processed").into(),
        Status::Done => lang.pick("selesai", "completed").into(),
        Status::Failed => lang.pick("gagal diproses", "processing failed").into(),
    }
}

/// What completing a step of this kind is called on the timeline.
pub fn completion_title(lang: Lang, c: Completion) -> &'static str {
    match c {
        Completion::Submit => lang.pick("Permohonan diajukan", "Request submitted"),
        Completion::Review => lang.pick("Disposisi", "Disposition"),
        Completion::Check => lang.pick("Pemeriksaan otomatis lulus", "Automatic check passed"),
        Completion::Merge => lang.pick("Permohonan disahkan", "Request merged"),
        Completion::Apply => lang.pick("Akun diproses", "Account processed"),
        Completion::Verify => lang.pick("Akun diuji", "Account tested"),
        Completion::Notify => lang.pick("Pemohon diberi tahu", "Applicant notified"),
        Completion::Draft => lang.pick("Draf surat pemberitahuan", "Notification letter drafted"),
        Completion::Receipt => lang.pick("Diterima pemohon", "Received by the applicant"),
    }
}

/// What a CI event is called on the timeline.
pub fn event_title(lang: Lang, k: EventKind) -> &'static str {
    match k {
        EventKind::Applied => lang.pick("Perubahan akun diterapkan", "Account change applied"),
        EventKind::Verified => lang.pick("Akun diuji dan berfungsi", "Account tested and working"),
        EventKind::Notified => lang.pick("Pemohon diberi tahu", "Applicant notified"),
        EventKind::Failed => lang.pick(
            "Pemrosesan gagal; akan dicoba lagi",
            "Processing failed; it will be retried",
        ),
        EventKind::Repaired => {
            lang.pick("Akun dipulihkan (perbaikan)", "Account restored (repair)")
        }
    }
}

/// The interface's words, by key, for the templates' `t`.
pub fn ui(lang: Lang) -> std::collections::BTreeMap<&'static str, &'static str> {
    UI.iter()
        .map(|(k, id, en)| (*k, lang.pick(id, en)))
        .collect()
}

const UI: &[(&str, &str, &str)] = &[
    ("service", "Layanan Akun TIK", "IT Account Service"),
    ("skip", "Langsung ke isi", "Skip to content"),
    ("nav", "Navigasi utama", "Main navigation"),
    ("home", "Beranda", "Home"),
    ("stats", "Statistik layanan", "Service statistics"),
    ("phone", "Telepon", "Phone"),
    ("as_of", "Data per", "Data as of"),
    (
        "privacy_note",
        "Situs ini hanya memuat status tiket. Nama, NIP, kontak, alamat email dan data server pemohon tidak pernah ditampilkan.",
        "This site shows ticket status only. Applicants' names, NIP, contacts, mail addresses and server data are never shown.",
    ),
    (
        "msg_short",
        "Nomor tiket belum lengkap.",
        "The ticket number is not complete yet.",
    ),
    (
        "msg_ok",
        "Nomor tiket valid.",
        "The ticket number is valid.",
    ),
    (
        "msg_format",
        "Nomor tiket berbentuk PREFIKS-XXXXX-XXXXX.",
        "A ticket number looks like PREFIX-XXXXX-XXXXX.",
    ),
    (
        "msg_prefix",
        "Prefiks tiket kantor ini berbeda.",
        "This office uses a different ticket prefix.",
    ),
    (
        "msg_symbol",
        "Nomor tiket hanya memakai angka 2–9 dan huruf A–Z tanpa I, L dan O.",
        "Ticket numbers use only 2–9 and A–Z without I, L and O.",
    ),
    (
        "msg_check",
        "Karakter pemeriksa tidak cocok: ada karakter yang salah ketik atau tertukar.",
        "The check character does not match: a character is mistyped or two are swapped.",
    ),
    ("ticket_label", "Nomor tiket", "Ticket number"),
    (
        "ticket_hint",
        "Tertera pada bukti permohonan Anda, contoh:",
        "Printed on your request receipt, for example:",
    ),
    ("lookup", "Lihat status", "Show status"),
    (
        "intro",
        "Permohonan akun email dinas dan akses server diproses menurut SOP yang berlaku. Setiap permohonan mendapat nomor tiket; dengan nomor itu Anda dapat melihat posisi permohonan Anda pada setiap tahap SOP beserta waktunya.",
        "Requests for official mail accounts and server access are handled by the SOPs in force. Each request gets a ticket number; with it you can follow your request through every SOP step and see how long each took.",
    ),
    (
        "check_status",
        "Cek status permohonan",
        "Check a request's status",
    ),
    ("sops_in_force", "SOP yang berlaku", "SOPs in force"),
    ("sop_number", "Nomor SOP", "SOP number"),
    ("standard_total", "waktu baku total", "total standard time"),
    (
        "standard_explain",
        "Waktu penyelesaian dihitung sejak permohonan diterima; langkah yang dikerjakan pemohon sendiri dan langkah tanpa waktu baku tidak dihitung.",
        "Time to complete runs from the moment the request arrives; the applicant's own steps and steps without a standard are not counted.",
    ),
    ("summary", "Ringkasan", "Summary"),
    (
        "summary_text",
        "Sejauh ini {n} permohonan tercatat.",
        "{n} requests recorded so far.",
    ),
    (
        "see_stats",
        "Lihat statistik layanan.",
        "See the service statistics.",
    ),
    ("ticket", "Tiket", "Ticket"),
    ("status", "Status", "Status"),
    ("kind", "Jenis permohonan", "Kind of request"),
    ("opd", "Perangkat daerah (OPD)", "Agency (OPD)"),
    ("submitted", "Diajukan", "Submitted"),
    ("updated", "Pembaruan terakhir", "Last update"),
    ("total_time", "Waktu penyelesaian", "Time to complete"),
    ("standard", "waktu baku", "standard"),
    ("within", "sesuai waktu baku", "within the standard"),
    ("over", "melebihi waktu baku", "over the standard"),
    ("sop", "SOP", "SOP"),
    ("timeline", "Riwayat permohonan", "Request history"),
    ("step", "langkah", "step"),
    ("by", "oleh", "by"),
    ("took", "Waktu:", "Took"),
    ("next", "Langkah berikutnya", "What happens next"),
    ("feed", "Ikuti lewat umpan Atom", "Follow by Atom feed"),
    (
        "feed_service",
        "Pembaruan tiket layanan ini (umpan Atom)",
        "This service's ticket updates (Atom feed)",
    ),
    ("next_step", "Langkah", "Step"),
    ("next_who", "Pelaksana", "Who acts"),
    ("next_since", "Menunggu sejak", "Waiting since"),
    ("expected_by", "Diperkirakan selesai", "Expected by"),
    (
        "working_time_note",
        "Waktu baku dihitung dalam jam kerja kantor, di luar hari libur.",
        "Standard times count the office's working hours only, not holidays.",
    ),
    ("as_json", "Data ini dalam JSON", "This data as JSON"),
    ("other_ticket", "Cek tiket lain", "Check another ticket"),
    (
        "stats_intro",
        "Waktu dihitung dari selesainya langkah sebelumnya hingga selesainya langkah ini (waktu kalender), dibandingkan dengan waktu baku SOP. Median dan persentil ke-90 memakai metode peringkat terdekat.",
        "Times run from the end of the previous step to the end of this one (calendar time) and are compared with the SOP's standard. Median and 90th percentile use the nearest-rank method.",
    ),
    (
        "per_month",
        "Per bulan pengajuan (12 bulan terakhir; semua bulan dalam JSON)",
        "By month of submission (last 12 months; every month in the JSON)",
    ),
    ("month", "Bulan", "Month"),
    ("requests", "Permohonan", "Requests"),
    ("returned", "Dikembalikan", "Returned"),
    ("refused", "Ditolak", "Refused"),
    ("median", "Median total", "Median total"),
    ("p90", "Persentil ke-90", "90th percentile"),
    ("within_share", "Sesuai waktu baku", "Within standard"),
    (
        "per_step_link",
        "Rincian per langkah SOP",
        "Detail per SOP step",
    ),
    ("no_data", "Belum ada data.", "No data yet."),
    ("processed", "Telah diproses", "Processed"),
    ("per_step", "Waktu per langkah SOP", "Time per SOP step"),
    (
        "chart_month",
        "Median dan persentil ke-90 waktu penyelesaian per bulan; garis tegak: waktu baku. Angkanya ada pada tabel.",
        "Median and 90th percentile of the time to complete per month; upright line: the standard. The figures are in the table.",
    ),
    (
        "chart_step",
        "Median dan persentil ke-90 per langkah SOP; garis tegak: waktu baku langkah. Angkanya ada pada tabel.",
        "Median and 90th percentile per SOP step; upright line: the step's standard. The figures are in the table.",
    ),
    ("role", "Pelaksana", "Role"),
    ("measured", "Terukur", "Measured"),
    ("standard_col", "Waktu baku", "Standard"),
    ("total", "Total", "Total"),
    (
        "back_stats",
        "Kembali ke statistik",
        "Back to the statistics",
    ),
    ("sop_kinds", "Berlaku untuk", "Applies to"),
    ("sop_steps", "Langkah SOP", "SOP steps"),
    ("no", "No.", "No."),
    ("activity", "Kegiatan", "Activity"),
    ("output", "Keluaran", "Output"),
    (
        "nojs_explain",
        "Browser Anda tidak menjalankan JavaScript dan server situs ini tidak meneruskan pencarian. Buka halaman tiket Anda langsung dengan mengetik alamat berikut pada bilah alamat, diganti dengan nomor tiket Anda (huruf besar):",
        "Your browser does not run JavaScript and this site's host does not forward lookups. Open your ticket's page directly by typing this address in the address bar, with your ticket number (capital letters):",
    ),
    ("this_site", "(alamat situs ini)", "(this site's address)"),
    ("not_found", "Halaman tidak ditemukan", "Page not found"),
    ("letter_check", "Pemeriksaan surat", "Letter verification"),
    (
        "letter_intro",
        "Halaman ini adalah alamat pada kode QR surat pemberitahuan. Cocokkan nomor, tanggal dan penanda tangan dengan surat yang Anda terima; sidik SHA-256 berkas PDF asli tercantum di bawah. Isi surat bersifat pribadi dan tidak ditampilkan.",
        "This page is the address in the notification letter's QR code. Compare the number, date and signer with the letter you hold; the SHA-256 digest of the original PDF is below. The letter's content is private and not shown.",
    ),
    ("letter_number", "Nomor surat", "Letter number"),
    ("letter_date", "Tanggal surat", "Letter date"),
    ("letter_signer", "Ditandatangani oleh", "Signed by"),
    ("letter_sha", "SHA-256 berkas PDF", "SHA-256 of the PDF"),
    (
        "letter_sha_help",
        "Hitung dengan sha256sum surat.pdf (Linux) atau certutil -hashfile surat.pdf SHA256 (Windows).",
        "Compute it with sha256sum letter.pdf (Linux) or certutil -hashfile letter.pdf SHA256 (Windows).",
    ),
    ("ticket_status", "Status tiket", "Ticket status"),
    (
        "not_found_text",
        "Periksa kembali nomor tiket Anda. Tiket yang baru diajukan tampil setelah pembaruan situs berikutnya.",
        "Check your ticket number again. A newly submitted ticket shows after the site's next update.",
    ),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_read_as_indonesians_write_them() {
        let ts: Timestamp = "2026-09-18T01:05:00Z".parse().unwrap();
        assert_eq!(
            date_time(Lang::Id, ts, TimeZone::WIB),
            "18 September 2026 pukul 08.05 WIB"
        );
        assert_eq!(
            date_time(Lang::En, ts, TimeZone::WIT),
            "18 September 2026, 10:05 WIT"
        );
        let late: Timestamp = "2026-12-31T17:30:00Z".parse().unwrap();
        assert_eq!(
            date_time(Lang::Id, late, TimeZone::WITA),
            "1 Januari 2027 pukul 01.30 WITA"
        );
    }

    #[test]
    fn durations() {
        assert_eq!(duration(Lang::Id, 0), "0 menit");
        assert_eq!(duration(Lang::Id, 41), "41 menit");
        assert_eq!(duration(Lang::Id, 125), "2 jam 5 menit");
        assert_eq!(duration(Lang::Id, 3 * 1440 + 61), "3 hari 1 jam");
        assert_eq!(duration(Lang::En, 60), "1 h");
    }
}
