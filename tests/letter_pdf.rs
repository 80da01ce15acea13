//! The printed letter (issue 13, item 3) through the real binary, headless Chromium
//! and independent tools: with the longest fields a request and the config allow, it
//! is one A4 page whose signature block carries the official's name, rank and NIP
//! (poppler's `pdfinfo` and `pdftotext`); its QR code, rasterised by `pdftoppm` and
//! decoded by `zbarimg` (zbar-tools), is the short URL of a page the site build has;
//! `--pdf FILE` prints the file's SHA-256.
mod common;
mod site;

use std::path::{Path, PathBuf};
use std::process::Command;

const TICKET: &str = "KDS-24WBW-PV52C";
const BASE: &str = "https://loket.kuduskab.go.id/";
const OFFICIAL: &str = "Dr. Ir. Hj. Raden Ayu Siti Nurhalimah Kusumawardhani, S.T., M.T., M.Si.";
const RANK: &str = "Pembina Utama Muda (IV/c)";
const NIP: &str = "197203151998031004";

/// `prefix` padded with a realistic filler to exactly `n` characters.
fn long(prefix: &str, n: usize) -> String {
    let filler = " dan Urusan Pemerintahan Umum Lainnya";
    let mut s = prefix.to_string();
    while s.chars().count() < n {
        s.push_str(filler);
    }
    s.chars().take(n).collect::<String>().trim_end().to_string()
}

/// A copy of the bundled instance whose ticket and office carry the longest fields.
fn longest_instance(dir: &Path) -> PathBuf {
    let inst = site::instance_in(dir);
    let req = inst.join(format!("requests/{TICKET}.toml"));
    let text = std::fs::read_to_string(&req).unwrap();
    let name = long(
        "Prof. Dr. Ir. Raden Mas Muhammad Abdurrahman Wahyu Kusumaningrat",
        100,
    );
    let name = name.replace(" dan ", " Dan ");
    let text = text
        .replace("Dimas Hartono", &name)
        .replace(
            "opd = \"Badan Pengelolaan Keuangan dan Aset Daerah\"",
            &format!(
                "opd = \"{}\"",
                long(
                    "Badan Pengelolaan Keuangan, Pendapatan dan Aset Daerah",
                    150
                )
            ),
        )
        .replace(
            "position = \"Pengelola Keuangan\"",
            &format!(
                "position = \"{}\"",
                long("Kepala Sub Bagian Perencanaan, Evaluasi dan Pelaporan", 150)
            ),
        )
        .replace(
            "signatory = \"Kepala Badan Pengelolaan Keuangan dan Aset Daerah\"",
            &format!(
                "signatory = \"{}\"",
                long("Kepala Badan Pengelolaan Keuangan", 150)
            ),
        )
        .replace("800/118/14.2026", "800.1.2.3/1187/14.02.03/2026");
    std::fs::write(&req, text).unwrap();
    let cfg = inst.join("loket.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    let text = text
        .replace(
            "official-name = \"Drs. Agus Setiawan, M.Si.\"",
            &format!("official-name = \"{OFFICIAL}\""),
        )
        .replace(
            "name = \"Dinas Komunikasi dan Informatika\"",
            "name = \"Dinas Komunikasi, Informatika, Statistik dan Persandian\"",
        )
        .replace(
            "address = \"Jl. Simpang Tujuh No. 1, Kudus 59312\"",
            "address = \"Jl. Simpang Tujuh No. 1, Kompleks Perkantoran Pemerintah Kabupaten, Kudus 59312\"\nemblem = \"assets/lambang.svg\"",
        );
    assert!(text.contains(OFFICIAL) && text.contains("emblem"));
    std::fs::write(&cfg, text).unwrap();
    std::fs::create_dir_all(inst.join("assets")).unwrap();
    std::fs::write(
        inst.join("assets/lambang.svg"),
        r##"<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 100 110"><path d="M50 2 L96 20 L90 80 L50 108 L10 80 L4 20 Z" fill="#1b5e20" stroke="#f9a825" stroke-width="4"/></svg>"##,
    )
    .unwrap();
    inst
}

fn tool(name: &str) -> Option<PathBuf> {
    common::require_binary(name, &[&format!("/usr/bin/{name}"), name])
}

/// Prints the letter to a PDF; returns its path and what the command printed.
fn print(inst: &Path, dir: &Path, extra: &[&str]) -> Option<(PathBuf, String)> {
    let chromium = tool("chromium")?;
    let pdf = dir.join(format!("surat-{}.pdf", extra.len()));
    let o = common::loket()
        .arg("-C")
        .arg(inst)
        .args(["letter", TICKET, "--date", "2026-09-19", "--pdf"])
        .arg(&pdf)
        .arg("--chromium")
        .arg(chromium)
        .args(extra)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    Some((pdf, String::from_utf8(o.stdout).unwrap()))
}

fn run(cmd: &Path, args: &[&str], file: &Path) -> String {
    let o = Command::new(cmd).args(args).arg(file).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    String::from_utf8(o.stdout).unwrap()
}

/// The PDF's text in reading order (`pdftotext`), whitespace runs made one space:
/// a name wrapped over two lines of the signature block reads whole.
fn text_of(pdf: &Path) -> String {
    let tool = tool("pdftotext").unwrap();
    let o = Command::new(tool).arg(pdf).arg("-").output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = String::from_utf8(o.stdout).unwrap();
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

fn pages(pdf: &Path) -> Option<u32> {
    let info = run(&tool("pdfinfo")?, &[], pdf);
    let line = info.lines().find(|l| l.starts_with("Pages:")).unwrap();
    Some(line["Pages:".len()..].trim().parse().unwrap())
}

#[test]
fn the_longest_letter_is_one_page_with_a_filled_signature_block() {
    let tmp = tempfile::tempdir().unwrap();
    let inst = longest_instance(tmp.path());
    let Some((pdf, stdout)) = print(&inst, tmp.path(), &[]) else {
        return;
    };
    let bytes = std::fs::read(&pdf).unwrap();
    assert_eq!(stdout.trim(), loket::letter::sha256_hex(&bytes));
    assert_eq!(stdout.trim().len(), 64);
    let Some(n) = pages(&pdf) else { return };
    assert_eq!(n, 1, "the letter must fit one A4 page");
    let text = text_of(&pdf);
    for must in [
        OFFICIAL,
        RANK,
        NIP,
        "Kepala Dinas Komunikasi dan Informatika,",
    ] {
        assert!(
            text.contains(must),
            "signature block lacks {must:?}:\n{text}"
        );
    }
    assert!(text.contains("surat/KDS-24WBW-PV52C/"), "{text}");

    // A Plh. Kepala Dinas whose `[[delegations]]` window holds the letter's date signs
    // with their own name, rank and NIP (and the holder does not).
    let cfg = inst.join("loket.toml");
    let text = std::fs::read_to_string(&cfg).unwrap();
    std::fs::write(&cfg, format!("{text}\n{PLH}")).unwrap();
    let (pdf, _) = print(&inst, tmp.path(), &["--number", "555/0042/18.03/2026"]).unwrap();
    assert_eq!(pages(&pdf), Some(1));
    let text = text_of(&pdf);
    for must in [
        "Plh. Kepala Dinas Komunikasi dan Informatika,",
        "Ir. Budi Santoso, M.T.",
        "197506122000031002",
    ] {
        assert!(text.contains(must), "acting block lacks {must:?}:\n{text}");
    }
    assert!(!text.contains(OFFICIAL) && !text.contains(NIP), "{text}");
}

/// Sekdin is Plh. Kepala Dinas over the letter's date (2026-09-19).
const PLH: &str = r#"[[delegations]]
role = "kepala-dinas"
login = "sekdin-kominfo-kudus"
kind = "plh"
from = 2026-09-14
until = 2026-09-25
decree = "800/117/18.03/2026"
name = "Ir. Budi Santoso, M.T."
rank = "Pembina (IV/a)"
nip = "197506122000031002"
"#;

#[test]
fn the_qr_code_decodes_to_a_verification_page_of_the_site() {
    let tmp = tempfile::tempdir().unwrap();
    let inst = longest_instance(tmp.path());
    let Some((pdf, sha)) = print(&inst, tmp.path(), &[]) else {
        return;
    };
    let (Some(pdftoppm), Some(zbarimg)) = (tool("pdftoppm"), tool("zbarimg")) else {
        return;
    };
    let prefix = tmp.path().join("page");
    let o = Command::new(pdftoppm)
        .args(["-r", "200", "-png", "-f", "1", "-l", "1"])
        .arg(&pdf)
        .arg(&prefix)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let png = tmp.path().join("page-1.png");
    let url = run(&zbarimg, &["--raw", "-q"], &png);
    let url = url.trim();
    assert_eq!(url, format!("{BASE}surat/{TICKET}/"));

    // CI records the issued letter; the site then has the page the URL names.
    let record = inst.join(format!("records/{TICKET}.toml"));
    let mut text = std::fs::read_to_string(&record).unwrap();
    text.push_str(&format!(
        "\n[letter]\nnumber = \"555/0042/18.03/2026\"\ndate = \"2026-09-19\"\nsigner-role = \"kepala-dinas\"\npdf-sha256 = \"{}\"\n",
        sha.trim()
    ));
    std::fs::write(&record, text).unwrap();
    let out = tmp.path().join("public");
    site::build(&inst, &out, None);
    let page = out.join(url.strip_prefix(BASE).unwrap()).join("index.html");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(html.contains("555/0042/18.03/2026"), "{html}");
    assert!(html.contains(sha.trim()));
    assert!(html.contains("Kepala Dinas Komunikasi dan Informatika"));
    // No personal data: not the applicant's, not the official's NIP.
    for private in [
        "Raden Mas Muhammad",
        "197608051999061019",
        "dimas.hartono",
        "085163102747",
        NIP,
        "800.1.2.3/1187/14.02.03/2026",
    ] {
        assert!(
            !html.contains(private),
            "verification page shows {private:?}"
        );
    }
}
