//! Generates instance data: the bundled Kudus demo set, or a large synthetic set for
//! benchmarks. Deterministic for a given seed.
//!
//! ```text
//! cargo run --release --example gen_instance -- --out DIR [--count N [--approved]] [--seed S]
//! ```
//! Without `--count`, writes the demo scenario (every request kind, several OPDs,
//! with records of the approvals and the apply). With `--count N`, writes N mail
//! accounts with their requests plus N/10 server grants, for scale tests; with
//! `--approved`, each ticket also has the record of its dispositions (approved,
//! merged, not yet applied), as `loket apply --approvals records` requires.

use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

use loket::ticket::Ticket;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use ssh_key::public::{Ed25519PublicKey, KeyData};

const FIRST: &[&str] = &[
    "Budi", "Siti", "Agus", "Dewi", "Rina", "Joko", "Sri", "Ahmad", "Nur", "Eko", "Wahyu",
    "Endang", "Bambang", "Lestari", "Hendra", "Yuliana", "Fajar", "Ratna", "Dimas", "Ayu", "Teguh",
    "Puji", "Slamet", "Indah", "Arif", "Wulan", "Rizky", "Fitri", "Galih", "Nanik",
];
const LAST: &[&str] = &[
    "Santoso",
    "Aminah",
    "Prasetyo",
    "Lestari",
    "Wijaya",
    "Susanto",
    "Rahayu",
    "Hidayat",
    "Kurniawan",
    "Setiawan",
    "Purnomo",
    "Handayani",
    "Saputra",
    "Utami",
    "Nugroho",
    "Wibowo",
    "Maharani",
    "Firmansyah",
    "Astuti",
    "Suryani",
    "Mulyono",
    "Hartono",
];
/// (OPD, short code used in server logins)
const OPDS: &[(&str, &str)] = &[
    ("Dinas Kesehatan", "dinkes"),
    ("Dinas Pendidikan, Kepemudaan dan Olahraga", "disdikpora"),
    (
        "Badan Perencanaan Pembangunan, Penelitian dan Pengembangan Daerah",
        "bappeda",
    ),
    ("Dinas Kependudukan dan Pencatatan Sipil", "disdukcapil"),
    ("Badan Pengelolaan Keuangan dan Aset Daerah", "bpkad"),
    ("Dinas Pekerjaan Umum dan Penataan Ruang", "dpupr"),
    ("RSUD dr. Loekmono Hadi", "rsud"),
    ("Satuan Polisi Pamong Praja", "satpolpp"),
];
const POSITIONS: &[&str] = &[
    "Pranata Komputer Ahli Pertama",
    "Analis Kebijakan",
    "Pengelola Keuangan",
    "Arsiparis Terampil",
    "Perencana Ahli Muda",
    "Pengelola Sistem dan Jaringan",
    "Kepala Sub Bagian Umum dan Kepegawaian",
];

struct Person {
    name: String,
    nip: String,
    opd: usize,
    position: &'static str,
    contact: String,
}

fn q(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

fn person(rng: &mut StdRng, i: usize) -> Person {
    let first = FIRST[rng.random_range(0..FIRST.len())];
    let last = LAST[rng.random_range(0..LAST.len())];
    let by = rng.random_range(1968..=1998);
    let (bm, bd) = (rng.random_range(1..=12), rng.random_range(1..=28));
    let pppk = rng.random_range(0..5) == 0;
    let ay = (by + rng.random_range(23..=30)).min(2024);
    let am = if pppk { 21 } else { rng.random_range(1..=12) };
    let sex = rng.random_range(1..=2);
    Person {
        name: format!("{first} {last}"),
        nip: format!("{by:04}{bm:02}{bd:02}{ay:04}{am:02}{sex}{:03}", i % 999 + 1),
        opd: rng.random_range(0..OPDS.len()),
        position: POSITIONS[rng.random_range(0..POSITIONS.len())],
        contact: format!(
            "08{:02}{:08}",
            rng.random_range(11..=99),
            rng.random_range(0..100_000_000u32)
        ),
    }
}

fn ed25519(rng: &mut StdRng, comment: &str) -> String {
    let mut b = [0u8; 32];
    rng.fill(&mut b);
    ssh_key::PublicKey::new(KeyData::Ed25519(Ed25519PublicKey(b)), comment)
        .to_openssh()
        .unwrap_or_default()
}

/// A point in time, `day` days after 2026-07-01, at office hours, WIB.
fn at(day: u32, minutes: u32) -> String {
    let base = jiff::civil::date(2026, 7, 1).at(8, 0, 0, 0);
    let t = base
        .checked_add(
            jiff::Span::new()
                .days(i64::from(day))
                .minutes(i64::from(minutes)),
        )
        .unwrap_or(base);
    format!("{}+07:00", t.strftime("%Y-%m-%dT%H:%M:%S"))
}

struct Out {
    root: PathBuf,
}

impl Out {
    fn write(&self, rel: &str, text: &str) {
        let p = self.root.join(rel);
        if let Some(d) = p.parent() {
            fs::create_dir_all(d).expect("create dir");
        }
        fs::write(p, text).expect("write file");
    }
}

fn request_head(t: &str, kind: &str, submitted: &str, p: &Person, letter_no: usize) -> String {
    let date = &submitted[..10];
    let opd = OPDS[p.opd].0;
    format!(
        "ticket = \"{t}\"\nkind = \"{kind}\"\nsubmitted = {submitted}\n\n[applicant]\nname = {}\nnip = \"{}\"\nopd = {}\nposition = {}\ncontact = \"{}\"\n\n[letter]\nnumber = \"800/{letter_no}/{}.{}\"\ndate = {date}\nsignatory = {}\n",
        q(&p.name),
        p.nip,
        q(opd),
        q(p.position),
        p.contact,
        10 + p.opd,
        &date[..4],
        q(&format!("Kepala {opd}")),
    )
}

fn holder(p: &Person) -> String {
    format!(
        "name = {}\nnip = \"{}\"\nopd = {}\n",
        q(&p.name),
        p.nip,
        q(OPDS[p.opd].0)
    )
}

/// The `[[steps]]` of a record for `sop`, each a few minutes after the one before;
/// returns the minute of the last.
fn steps(
    s: &mut String,
    pr: u64,
    sop: &[(&str, &str, &str, Option<&str>)],
    day: u32,
    start: u32,
) -> u32 {
    let mut minutes = start;
    for (i, (step, done_by, role, login)) in sop.iter().enumerate() {
        minutes += if i == 0 {
            0
        } else {
            7 + (pr as u32 * 13 + i as u32 * 29) % 50
        };
        let _ = write!(
            s,
            "\n[[steps]]\nstep = \"{step}\"\ndone-by = \"{done_by}\"\nrole = \"{role}\"\nat = \"{}\"\n",
            at(day, minutes)
        );
        if let Some(l) = login {
            let _ = write!(
                s,
                "login = \"{l}\"\nreview-id = {}\n",
                900_000 + pr * 10 + i as u64
            );
        }
    }
    minutes
}

/// The record of a ticket approved and merged but not yet applied: the SOP's steps
/// up to the last disposition (what `loket apply --approvals records` requires).
fn approved_record(t: &str, pr: u64, sop: &[(&str, &str, &str, Option<&str>)], day: u32) -> String {
    let mut s = format!("ticket = \"{t}\"\noutcome = \"approved\"\npr = {pr}\n");
    let reviewed = sop
        .iter()
        .rposition(|(_, by, _, _)| *by == "review")
        .map_or(0, |i| i + 1);
    steps(&mut s, pr, &sop[..reviewed], day, 8 * 60);
    s
}

/// The approval trail and apply event of a processed ticket, as CI records them.
fn record(
    t: &str,
    pr: u64,
    sop: &[(&str, &str, &str, Option<&str>)],
    day: u32,
    start: u32,
    failed_first: bool,
) -> String {
    let mut s = format!("ticket = \"{t}\"\noutcome = \"processed\"\npr = {pr}\n");
    let minutes = steps(&mut s, pr, sop, day, start);
    if failed_first {
        let _ = write!(
            s,
            "\n[[events]]\nkind = \"failed\"\nat = \"{}\"\nrun = \"{}\"\ndetail = \"mail backend: doveadm reload timed out; retried on the next run\"\n",
            at(day, minutes - 3),
            7_000 + pr
        );
    }
    let _ = write!(
        s,
        "\n[[events]]\nkind = \"applied\"\nat = \"{}\"\nrun = \"{}\"\n\n[[events]]\nkind = \"verified\"\nat = \"{}\"\nrun = \"{}\"\n",
        at(day, minutes),
        7_100 + pr,
        at(day, minutes + 1),
        7_100 + pr
    );
    s
}

const MAIL_SOP: &[(&str, &str, &str, Option<&str>)] = &[
    ("permohonan", "submit", "pemohon", None),
    (
        "disposisi-kadis",
        "review",
        "kepala-dinas",
        Some("kadis-kominfo-kudus"),
    ),
    (
        "disposisi-kabid",
        "review",
        "kepala-bidang",
        Some("kabid-informatika-kudus"),
    ),
    ("cek-nama", "review", "kepala-seksi", Some("kasi-tip-kudus")),
    ("pembuatan-akun", "apply", "admin", None),
];
const SERVER_SOP: &[(&str, &str, &str, Option<&str>)] = &[
    ("permohonan", "submit", "pemohon", None),
    (
        "disposisi-kadis",
        "review",
        "kepala-dinas",
        Some("kadis-kominfo-kudus"),
    ),
    (
        "keputusan-kabid",
        "review",
        "kepala-bidang",
        Some("kabid-informatika-kudus"),
    ),
    (
        "penugasan-kasi",
        "review",
        "kepala-seksi",
        Some("kasi-tip-kudus"),
    ),
    ("aktivasi", "apply", "admin", None),
    ("serah-terima", "notify", "admin", None),
];

struct Mail {
    ticket: String,
    local: String,
    person: Person,
    extra: Vec<String>,
    disabled: bool,
}

/// A free local part for `p`, free by the same collision key `loket check` uses (L024).
fn local_part(p: &Person, taken: &mut std::collections::HashSet<String>) -> String {
    let naming = loket::model::config::Naming::default();
    let base = p.name.to_lowercase().replace(' ', ".");
    let mut local = base.clone();
    let mut n = 2;
    while !taken.insert(loket::check::names::collision_key(&local, &naming)) {
        local = format!("{base}{n}");
        n += 1;
    }
    local
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (mut out, mut count, mut seed, mut approved) = (None, None, 2026u64, false);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--out" => out = args.next().map(PathBuf::from),
            "--count" => count = args.next().and_then(|c| c.parse::<usize>().ok()),
            "--seed" => seed = args.next().and_then(|c| c.parse().ok()).unwrap_or(seed),
            "--approved" => approved = true,
            _ => {
                eprintln!("usage: gen_instance --out DIR [--count N [--approved]] [--seed S]");
                std::process::exit(2);
            }
        }
    }
    let Some(root) = out else {
        eprintln!("usage: gen_instance --out DIR [--count N [--approved]] [--seed S]");
        std::process::exit(2);
    };
    let out = Out { root };
    let mut rng = StdRng::seed_from_u64(seed);
    match count {
        Some(n) => bulk(&out, &mut rng, n, approved),
        None => demo(&out, &mut rng),
    }
}

fn write_mail(out: &Out, mails: &[Mail]) {
    for m in mails {
        let addr = format!("{}@kuduskab.go.id", m.local);
        let mut tickets = vec![q(&m.ticket)];
        tickets.extend(m.extra.iter().map(|t| q(t)));
        out.write(
            &format!("accounts/mail/{addr}.toml"),
            &format!(
                "address = \"{addr}\"\nstatus = \"{}\"\ntickets = [{}]\n\n[holder]\n{}",
                if m.disabled { "disabled" } else { "active" },
                tickets.join(", "),
                holder(&m.person)
            ),
        );
    }
}

/// A person whose NIP nobody else in the set holds (L032 would refuse a second account).
fn unique_person(
    rng: &mut StdRng,
    i: usize,
    nips: &mut std::collections::HashSet<String>,
) -> Person {
    loop {
        let p = person(rng, i);
        if nips.insert(p.nip.clone()) {
            return p;
        }
    }
}

fn bulk(out: &Out, rng: &mut StdRng, n: usize, approved: bool) {
    if !out.root.join("loket.toml").exists() {
        out.write("loket.toml", include_str!("../presets/kudus.toml"));
    }
    let mut taken = std::collections::HashSet::new();
    let mut nips = std::collections::HashSet::new();
    let mut mails = Vec::with_capacity(n);
    for i in 0..n {
        let p = unique_person(rng, i, &mut nips);
        let t = Ticket::generate_with("KDS", rng).to_string();
        let mut local = local_part(&p, &mut taken);
        if local.len() > 40 {
            local.truncate(40);
        }
        let mut req = request_head(&t, "mail-create", &at((i % 110) as u32, 0), &p, i);
        let _ = write!(req, "\n[mail]\naddress = \"{local}@kuduskab.go.id\"\n");
        out.write(&format!("requests/{t}.toml"), &req);
        if approved {
            let record = approved_record(&t, 10_000 + i as u64, MAIL_SOP, (i % 110) as u32);
            out.write(&format!("records/{t}.toml"), &record);
        }
        mails.push(Mail {
            ticket: t,
            local,
            person: p,
            extra: vec![],
            disabled: false,
        });
    }
    write_mail(out, &mails);
    // N/10 server grants on app-1, spread over the OPD accounts, each its own key.
    let mut accounts: Vec<(Vec<String>, String)> = vec![(Vec::new(), String::new()); OPDS.len()];
    for g in 0..n / 10 {
        let mut p = unique_person(rng, n + g, &mut nips);
        p.opd = g % OPDS.len();
        let t = Ticket::generate_with("KDS", rng).to_string();
        let key = ed25519(rng, &format!("pegawai{g}@laptop"));
        let day = (g % 110) as u32;
        let expires = jiff::civil::date(2026, 7, 1)
            .checked_add(jiff::Span::new().days(i64::from(day + 300)))
            .unwrap_or(jiff::civil::date(2027, 6, 1))
            .to_string();
        let code = OPDS[p.opd].1;
        let mut req = request_head(&t, "server-grant", &at(day, 30), &p, n + g);
        let _ = write!(
            req,
            "\n[server]\nname = \"app-1\"\naccount = \"opd-{code}\"\nkey = \"{key}\"\nexpires = {expires}\naccept-terms = true\npurpose = \"Pemeliharaan aplikasi layanan {code}\"\n"
        );
        out.write(&format!("requests/{t}.toml"), &req);
        if approved {
            let record = approved_record(&t, 10_000 + (n + g) as u64, SERVER_SOP, day);
            out.write(&format!("records/{t}.toml"), &record);
        }
        let (tickets, keys) = &mut accounts[p.opd];
        tickets.push(q(&t));
        let _ = write!(
            keys,
            "\n[[keys]]\nticket = \"{t}\"\nkey = \"{key}\"\nexpires = {expires}\nstatus = \"active\"\nholder = {{ name = {}, nip = \"{}\", opd = {} }}\n",
            q(&p.name),
            p.nip,
            q(OPDS[p.opd].0)
        );
    }
    for (opd, (tickets, keys)) in accounts.iter().enumerate() {
        if tickets.is_empty() {
            continue;
        }
        let code = OPDS[opd].1;
        out.write(
            &format!("accounts/server/app-1/opd-{code}.toml"),
            &format!(
                "server = \"app-1\"\nlogin = \"opd-{code}\"\nkind = \"opd\"\nopd = {}\ntickets = [{}]\n{keys}",
                q(OPDS[opd].0),
                tickets.join(", ")
            ),
        );
    }
    eprintln!(
        "wrote {n} mail requests and accounts and {} server grants under {}",
        n / 10,
        out.root.display()
    );
}

fn demo(out: &Out, rng: &mut StdRng) {
    let mut taken = std::collections::HashSet::new();
    let mut mails: Vec<Mail> = Vec::new();
    let mut pr = 1u64;
    let mut day = 0u32;
    // 22 new mail accounts over four months; one needed a retry.
    for i in 0..22 {
        let p = person(rng, i);
        let t = Ticket::generate_with("KDS", rng).to_string();
        let local = local_part(&p, &mut taken);
        let submitted = at(day, 0);
        let mut req = request_head(&t, "mail-create", &submitted, &p, 100 + i);
        let _ = write!(req, "\n[mail]\naddress = \"{local}@kuduskab.go.id\"\n");
        out.write(&format!("requests/{t}.toml"), &req);
        out.write(
            &format!("records/{t}.toml"),
            &record(&t, pr, MAIL_SOP, day, 0, i == 5),
        );
        mails.push(Mail {
            ticket: t,
            local,
            person: p,
            extra: vec![],
            disabled: false,
        });
        pr += 1;
        day += 3 + (i as u32 % 4);
    }
    // Password resets and deactivations (retirement, transfer) of existing accounts.
    for (j, (kind, reason)) in [
        ("mail-reset", None),
        ("mail-reset", None),
        ("mail-reset", None),
        ("mail-deactivate", Some("pensiun")),
        ("mail-deactivate", Some("mutasi")),
        ("mail-deactivate", Some("pensiun")),
    ]
    .into_iter()
    .enumerate()
    {
        let m = &mut mails[j * 3 + 1];
        let t = Ticket::generate_with("KDS", rng).to_string();
        let mut req = request_head(&t, kind, &at(day, 30), &m.person, 200 + j);
        let _ = write!(req, "\n[mail]\naddress = \"{}@kuduskab.go.id\"\n", m.local);
        if let Some(r) = reason {
            let _ = writeln!(req, "reason = \"{r}\"");
        }
        out.write(&format!("requests/{t}.toml"), &req);
        out.write(
            &format!("records/{t}.toml"),
            &record(&t, pr, MAIL_SOP, day, 30, false),
        );
        m.extra.push(t);
        m.disabled |= kind == "mail-deactivate";
        pr += 1;
        day += 2;
    }
    write_mail(out, &mails);

    // Server access: dedicated OPD accounts on two servers, five grants, two revoked.
    let servers = [("app-1", 0usize), ("app-1", 3), ("db-1", 4)];
    let mut grants: Vec<(String, usize, Person, String, String)> = Vec::new();
    for g in 0..5 {
        let (server, opd) = servers[g % servers.len()];
        let mut p = person(rng, 300 + g);
        p.opd = opd;
        let t = Ticket::generate_with("KDS", rng).to_string();
        let key = ed25519(
            rng,
            &format!("{}@laptop", p.name.to_lowercase().replace(' ', ".")),
        );
        let max = if server == "db-1" { 80 } else { 300 };
        let expires = jiff::civil::date(2026, 7, 1)
            .checked_add(jiff::Span::new().days(i64::from(day + max)))
            .unwrap_or(jiff::civil::date(2027, 1, 1))
            .to_string();
        let mut req = request_head(&t, "server-grant", &at(day, 45), &p, 400 + g);
        let _ = write!(
            req,
            "\n[server]\nname = \"{server}\"\naccount = \"opd-{}\"\nkey = \"{key}\"\nexpires = {expires}\naccept-terms = true\npurpose = \"Pemeliharaan aplikasi layanan {}\"\n",
            OPDS[opd].1, OPDS[opd].1
        );
        out.write(&format!("requests/{t}.toml"), &req);
        out.write(
            &format!("records/{t}.toml"),
            &record(&t, pr, SERVER_SOP, day, 45, false),
        );
        grants.push((t, g, p, key, expires));
        pr += 1;
        day += 2;
    }
    let mut revoked: Vec<(usize, String)> = Vec::new();
    for g in [0usize, 3] {
        let (grant, _, p, _, _) = &grants[g];
        let (server, opd) = servers[g % servers.len()];
        let t = Ticket::generate_with("KDS", rng).to_string();
        let mut req = request_head(&t, "server-revoke", &at(day, 50), p, 500 + g);
        let _ = write!(
            req,
            "\n[server]\nname = \"{server}\"\naccount = \"opd-{}\"\ngrant = \"{grant}\"\n",
            OPDS[opd].1
        );
        out.write(&format!("requests/{t}.toml"), &req);
        out.write(
            &format!("records/{t}.toml"),
            &record(&t, pr, SERVER_SOP, day, 50, false),
        );
        revoked.push((g, t));
        pr += 1;
        day += 1;
    }
    for (si, (server, opd)) in servers.iter().enumerate() {
        let mut tickets = Vec::new();
        let mut keys = String::new();
        for (t, g, p, key, expires) in grants.iter().filter(|x| x.1 % servers.len() == si) {
            tickets.push(q(t));
            let rev = revoked.iter().find(|(rg, _)| rg == g);
            let _ = write!(
                keys,
                "\n[[keys]]\nticket = \"{t}\"\nkey = \"{key}\"\nexpires = {expires}\nstatus = \"{}\"\n{}holder = {{ name = {}, nip = \"{}\", opd = {} }}\n",
                if rev.is_some() { "revoked" } else { "active" },
                rev.map(|(_, rt)| format!("revoked-by = \"{rt}\"\n"))
                    .unwrap_or_default(),
                q(&p.name),
                p.nip,
                q(OPDS[*opd].0)
            );
            if let Some((_, rt)) = rev {
                tickets.push(q(rt));
            }
        }
        out.write(
            &format!("accounts/server/{server}/opd-{}.toml", OPDS[*opd].1),
            &format!(
                "server = \"{server}\"\nlogin = \"opd-{}\"\nkind = \"opd\"\nopd = {}\ntickets = [{}]\n{keys}",
                OPDS[*opd].1,
                q(OPDS[*opd].0),
                tickets.join(", ")
            ),
        );
    }
    eprintln!("wrote the demo instance under {}", out.root.display());
}
