//! `loket new <kind>`: gathers a request's fields from flags, or by asking on a
//! terminal, then hands them to `loket::new` to draft, check and write.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result, bail};
use jiff::civil::Date;
use loket::diag;
use loket::model::request::DeactivateReason;
use loket::model::{Config, Instance, RequestKind};
use loket::new::{self as new_req, Applicant, Details, Letter, NewError, NewRequest};
use loket::ticket::Ticket;

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Kind {
    MailCreate,
    MailDeactivate,
    MailReset,
    ServerGrant,
    ServerRevoke,
}

#[derive(Clone, Copy, Debug, clap::ValueEnum)]
pub enum Reason {
    Pensiun,
    Mutasi,
    Berhenti,
    Meninggal,
}

#[derive(clap::Args)]
pub struct Args {
    /// What is asked for.
    #[arg(value_enum)]
    kind: Kind,
    /// Boxed: the flags are many, and `Command` should stay small.
    #[command(flatten)]
    fields: Box<Fields>,
}

#[derive(clap::Args, Clone, Default)]
pub struct Fields {
    /// Applicant's full name (nama pemohon).
    #[arg(long)]
    name: Option<String>,
    /// Applicant's 18-digit NIP.
    #[arg(long)]
    nip: Option<String>,
    /// Applicant's agency (OPD).
    #[arg(long)]
    opd: Option<String>,
    /// Applicant's position (jabatan).
    #[arg(long)]
    position: Option<String>,
    /// Phone number or personal mail address.
    #[arg(long)]
    contact: Option<String>,
    /// Public key the credentials are sealed to (`age1…` or `ssh-ed25519 …`).
    #[arg(long)]
    recipient: Option<String>,
    /// Why you ask for someone else's reset, deactivation or revocation (only for a
    /// position loket.toml's `[requests] on-behalf-positions` names).
    #[arg(long)]
    on_behalf_reason: Option<String>,
    /// Request letter number (nomor surat).
    #[arg(long)]
    letter_number: Option<String>,
    /// Request letter date, YYYY-MM-DD.
    #[arg(long)]
    letter_date: Option<Date>,
    /// Title of the official who signed the letter.
    #[arg(long)]
    signatory: Option<String>,
    /// Full mail address (mail-* kinds).
    #[arg(long, conflicts_with = "local")]
    address: Option<String>,
    /// Local part only; the office's first domain is added.
    #[arg(long)]
    local: Option<String>,
    /// Why the account is deactivated (mail-deactivate).
    #[arg(long, value_enum)]
    reason: Option<Reason>,
    /// Server name from loket.toml (server-*).
    #[arg(long)]
    server: Option<String>,
    /// Server account login, e.g. opd-dinkes (server-*).
    #[arg(long)]
    account: Option<String>,
    /// The applicant's SSH public key file (server-grant).
    #[arg(long)]
    key_file: Option<PathBuf>,
    /// Last day of access, YYYY-MM-DD (server-grant).
    #[arg(long)]
    expires: Option<Date>,
    /// The applicant agrees to the server-access terms (server-grant).
    #[arg(long)]
    accept_terms: bool,
    /// What the access is for (server-grant).
    #[arg(long)]
    purpose: Option<String>,
    /// The grant ticket to end (server-revoke; optional if only one key is active).
    #[arg(long)]
    grant: Option<String>,
    /// Print the files instead of writing them.
    #[arg(long)]
    dry_run: bool,
    /// Treat this date (YYYY-MM-DD) as today: for the check's dates and `submitted`.
    #[arg(long)]
    today: Option<Date>,
}

/// Asks for missing fields on a terminal, or collects their flag names to report.
struct Gather<'a> {
    input: Option<Box<dyn BufRead + 'a>>,
    missing: Vec<&'static str>,
}

impl Gather<'_> {
    fn get(&mut self, v: Option<String>, flag: &'static str, label: &str) -> Result<String> {
        self.ask(v, flag, label, None)
    }

    fn ask(
        &mut self,
        v: Option<String>,
        flag: &'static str,
        label: &str,
        default: Option<&str>,
    ) -> Result<String> {
        if let Some(v) = v.filter(|v| !v.trim().is_empty()) {
            return Ok(v.trim().to_string());
        }
        let Some(input) = self.input.as_mut() else {
            self.missing.push(flag);
            return Ok(String::new());
        };
        loop {
            match default {
                Some(d) => eprint!("{label} [{d}]: "),
                None => eprint!("{label}: "),
            }
            std::io::stderr().flush().ok();
            let mut line = String::new();
            if input.read_line(&mut line)? == 0 {
                bail!("input ended before {flag} was given");
            }
            let line = line.trim();
            match (line.is_empty(), default) {
                (false, _) => return Ok(line.to_string()),
                (true, Some(d)) => return Ok(d.to_string()),
                (true, None) => eprintln!("  (wajib diisi / required)"),
            }
        }
    }

    fn parsed<T: std::str::FromStr>(
        &mut self,
        v: Option<T>,
        flag: &'static str,
        label: &str,
    ) -> Result<Option<T>>
    where
        T::Err: std::fmt::Display,
    {
        if v.is_some() || self.input.is_none() {
            if v.is_none() {
                self.missing.push(flag);
            }
            return Ok(v);
        }
        loop {
            let s = self.get(None, flag, label)?;
            match s.parse() {
                Ok(t) => return Ok(Some(t)),
                Err(e) => eprintln!("  {e}"),
            }
        }
    }
}

pub fn run(dir: &Path, args: Args) -> Result<ExitCode> {
    let inst = Instance::load(dir)?;
    let Some(config) = inst.config.as_ref() else {
        bail!("loket.toml does not parse; run `loket check` and fix it first");
    };
    let tty = std::io::stdin().is_terminal();
    let stdin = std::io::stdin();
    let mut g = Gather {
        input: tty.then(|| Box::new(stdin.lock()) as Box<dyn BufRead>),
        missing: Vec::new(),
    };
    let kind = match args.kind {
        Kind::MailCreate => RequestKind::MailCreate,
        Kind::MailDeactivate => RequestKind::MailDeactivate,
        Kind::MailReset => RequestKind::MailReset,
        Kind::ServerGrant => RequestKind::ServerGrant,
        Kind::ServerRevoke => RequestKind::ServerRevoke,
    };
    if config.sop_for(kind).is_none() {
        return Err(NewError::NoSop(kind).into());
    }
    let req = gather(&mut g, &inst, config, kind, (*args.fields).clone())?;
    if !g.missing.is_empty() {
        let mut msg = format!(
            "missing {} (give the flags, or run on a terminal to be asked)",
            g.missing.join(", ")
        );
        let f = &args.fields;
        if kind == RequestKind::MailCreate
            && f.address.is_none()
            && f.local.is_none()
            && let Some(name) = &f.name
        {
            let free = new_req::names(&inst, config).suggest(
                name,
                f.opd.as_deref().unwrap_or(""),
                config.primary_domain(),
                5,
            );
            msg.push_str(&format!("\nfree names for {name}: {}", free.join(", ")));
        }
        bail!(msg);
    }
    // 44 random bits make a clash all but impossible; still never reuse one here.
    let ticket = loop {
        let t = Ticket::generate(config.office.ticket_prefix.get_ref());
        let s = t.to_string();
        if !inst.requests.iter().any(|r| r.value.ticket() == s) {
            break t;
        }
    };
    let draft = match new_req::draft(&inst, &req, &ticket) {
        Ok(d) => d,
        Err(e @ (NewError::Taken { .. } | NewError::Reserved { .. })) => {
            eprintln!("error: {e}");
            eprintln!(
                "hint: pick one of the alternatives with --local NAME (SOP: pemohon mengajukan nama lain)"
            );
            return Ok(ExitCode::from(1));
        }
        Err(e) => return Err(e.into()),
    };
    let today = office_now(config, args.fields.today).date();
    let checked = new_req::validate(inst, &draft, today);
    let (inst, after, diags) = (&checked.before, &checked.after, &checked.diagnostics);
    let Some(config) = inst.config.as_ref() else {
        bail!("loket.toml does not parse; run `loket check` and fix it first");
    };
    if !diags.is_empty() {
        eprint!("{}", diag::render_human(&after.sources, diags));
    }
    if diags.iter().any(|d| d.severity == diag::Severity::Error) {
        let address_rule = |c: &str| c.starts_with("L02");
        if let Details::MailCreate { address } = &req.details
            && diags.iter().any(|d| address_rule(d.code))
        {
            let domain = address.rsplit_once('@').map_or("", |(_, d)| d);
            let free = new_req::names(inst, config).suggest(
                &req.applicant.name,
                &req.applicant.opd,
                domain,
                5,
            );
            eprintln!("free names for {}: {}", req.applicant.name, free.join(", "));
        }
        eprintln!("nothing written: fix the values above and run `loket new` again");
        return Ok(ExitCode::from(1));
    }
    let mut out = String::new();
    if args.fields.dry_run {
        for f in &draft.files {
            let state = if f.created { "new" } else { "changed" };
            out += &format!("==> {} ({state})\n{}", f.path, f.text);
        }
        emit(&out)?;
        return Ok(ExitCode::SUCCESS);
    }
    new_req::write(dir, &draft)?;
    out += &format!("Nomor tiket / ticket: {}\n", draft.ticket);
    for f in &draft.files {
        let state = if f.created { "new    " } else { "changed" };
        out += &format!("  {state} {}\n", f.path);
    }
    let paths: Vec<&str> = draft.files.iter().map(|f| f.path.as_str()).collect();
    out += &format!(
        "Next: open a pull request with these files, e.g.\n  git switch -c {t}\n  git add {p}\n  \
         git commit -m \"{t}: {label}\"\n  git push -u origin {t}\nthen ask for the SOP's dispositions \
         (`loket review` shows which step it waits for).\n",
        t = draft.ticket,
        p = paths.join(" "),
        label = kind.label_id(),
    );
    emit(&out)?;
    Ok(ExitCode::SUCCESS)
}

/// Prints to stdout; a reader that went away (`| head`) is not an error.
fn emit(text: &str) -> Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// Now in the office's time zone, on `--today`'s date if given.
fn office_now(config: &Config, today: Option<Date>) -> jiff::ZonedDateTime {
    let offset = jiff::tz::Offset::from_hours(config.office.time_zone.get_ref().utc_offset_hours())
        .unwrap_or(jiff::tz::Offset::UTC);
    let now = jiff::Timestamp::now().to_zoned_datetime(jiff::tz::TimeZone::fixed(offset));
    match today {
        Some(d) => d
            .to_datetime(now.time())
            .to_zoned_datetime(jiff::tz::TimeZone::fixed(offset))
            .unwrap_or(now),
        None => now,
    }
}

fn gather(
    g: &mut Gather,
    inst: &Instance,
    config: &Config,
    kind: RequestKind,
    f: Fields,
) -> Result<NewRequest> {
    let name = g.get(f.name, "--name", "Nama pemohon / applicant's name")?;
    let nip = if config.office.require_nip {
        Some(g.get(f.nip, "--nip", "NIP (18 digit)")?)
    } else {
        f.nip
    };
    let opd = g.get(f.opd, "--opd", "OPD / agency")?;
    let position = g.get(f.position, "--position", "Jabatan / position")?;
    let contact = g.get(f.contact, "--contact", "Kontak (telepon/email) / contact")?;
    let letter_number = g.get(f.letter_number, "--letter-number", "Nomor surat permohonan")?;
    let letter_date = g.parsed(f.letter_date, "--letter-date", "Tanggal surat (YYYY-MM-DD)")?;
    let signatory = g.get(
        f.signatory,
        "--signatory",
        "Penanda tangan surat / signatory",
    )?;
    let domain = config.primary_domain();
    let address = |g: &mut Gather, default: Option<&str>| -> Result<String> {
        if let Some(a) = &f.address {
            return Ok(a.trim().to_string());
        }
        let local = g.ask(
            f.local.clone(),
            "--address or --local",
            &format!("Nama akun (sebelum @{domain}) / mail name"),
            default,
        )?;
        Ok(if local.is_empty() {
            String::new()
        } else {
            format!("{local}@{domain}")
        })
    };
    let details = match kind {
        RequestKind::MailCreate => {
            let free = new_req::names(inst, config).suggest(&name, &opd, domain, 5);
            if g.input.is_some() && f.address.is_none() && f.local.is_none() && !free.is_empty() {
                eprintln!(
                    "  nama yang masih tersedia / free names: {}",
                    free.join(", ")
                );
            }
            Details::MailCreate {
                address: address(g, free.first().map(String::as_str))?,
            }
        }
        RequestKind::MailDeactivate => {
            let address = address(g, None)?;
            let reason = match f.reason {
                Some(r) => Some(r),
                None => g
                    .parsed::<ReasonText>(
                        None,
                        "--reason",
                        "Alasan (pensiun/mutasi/berhenti/meninggal)",
                    )?
                    .map(|r| r.0),
            };
            Details::MailDeactivate {
                address,
                reason: match reason.unwrap_or(Reason::Pensiun) {
                    Reason::Pensiun => DeactivateReason::Pensiun,
                    Reason::Mutasi => DeactivateReason::Mutasi,
                    Reason::Berhenti => DeactivateReason::Berhenti,
                    Reason::Meninggal => DeactivateReason::Meninggal,
                },
            }
        }
        RequestKind::MailReset => Details::MailReset {
            address: address(g, None)?,
        },
        RequestKind::ServerGrant => {
            let server = g.get(f.server, "--server", "Server")?;
            let account = g.get(
                f.account,
                "--account",
                "Akun server / login (mis. opd-dinkes)",
            )?;
            let key_file = g.get(
                f.key_file.map(|p| p.display().to_string()),
                "--key-file",
                "Berkas kunci publik SSH / public key file",
            )?;
            let key = if key_file.is_empty() {
                String::new()
            } else {
                std::fs::read_to_string(&key_file)
                    .with_context(|| format!("cannot read --key-file {key_file}"))?
                    .trim()
                    .to_string()
            };
            let expires = g.parsed(f.expires, "--expires", "Berlaku sampai (YYYY-MM-DD)")?;
            let purpose = g.get(f.purpose, "--purpose", "Keperluan akses / purpose")?;
            let accept_terms = f.accept_terms
                || match g.input.is_some() {
                    true => g
                        .get(
                            None,
                            "--accept-terms",
                            "Setuju dengan ketentuan akses server? (ya/tidak)",
                        )?
                        .to_lowercase()
                        .starts_with('y'),
                    false => {
                        g.missing.push("--accept-terms");
                        false
                    }
                };
            Details::ServerGrant {
                server,
                account,
                key,
                expires: expires.unwrap_or_default(),
                accept_terms,
                purpose,
            }
        }
        RequestKind::ServerRevoke => Details::ServerRevoke {
            server: g.get(f.server, "--server", "Server")?,
            account: g.get(f.account, "--account", "Akun server / login")?,
            grant: f.grant,
        },
    };
    Ok(NewRequest {
        applicant: Applicant {
            name,
            nip,
            opd,
            position,
            contact,
            recipient: f.recipient,
            on_behalf_reason: f.on_behalf_reason,
        },
        letter: Letter {
            number: letter_number,
            date: letter_date.unwrap_or_default(),
            signatory,
        },
        details,
        submitted: office_now(config, f.today)
            .strftime("%Y-%m-%dT%H:%M:%S%:z")
            .to_string(),
    })
}

/// A deactivation reason typed at the prompt.
struct ReasonText(Reason);

impl std::str::FromStr for ReasonText {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        <Reason as clap::ValueEnum>::from_str(s, true)
            .map(ReasonText)
            .map_err(|_| "pensiun, mutasi, berhenti or meninggal".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kudus() -> Instance {
        let config = loket::init::preset("kudus").unwrap().config;
        Instance::from_files(Path::new("."), vec![("loket.toml".into(), config.into())])
    }

    #[test]
    fn asks_for_what_is_missing_on_a_terminal() {
        let inst = kudus();
        let config = inst.config.as_ref().unwrap();
        // an empty required answer is asked again, a bad date too, and an empty
        // mail name takes the first free suggestion
        let answers = "Budi Santoso\n198609262015051001\nDinas Kesehatan\n\nPranata Komputer\n\
                       0812\n800/1\n2026-13-01\n2026-11-20\nKepala Dinas Kesehatan\n\n";
        let mut g = Gather {
            input: Some(Box::new(answers.as_bytes())),
            missing: Vec::new(),
        };
        let req = gather(
            &mut g,
            &inst,
            config,
            RequestKind::MailCreate,
            Fields::default(),
        )
        .unwrap();
        assert!(g.missing.is_empty(), "{:?}", g.missing);
        assert_eq!(req.applicant.position, "Pranata Komputer");
        assert_eq!(req.letter.date, jiff::civil::date(2026, 11, 20));
        let Details::MailCreate { address } = &req.details else {
            panic!()
        };
        assert_eq!(address, "budi.santoso@kuduskab.go.id");
    }

    #[test]
    fn without_a_terminal_names_the_missing_flags() {
        let inst = kudus();
        let mut g = Gather {
            input: None,
            missing: Vec::new(),
        };
        let fields = Fields {
            name: Some("Rina Wibowo".into()),
            server: Some("app-1".into()),
            ..Fields::default()
        };
        gather(
            &mut g,
            &inst,
            inst.config.as_ref().unwrap(),
            RequestKind::ServerGrant,
            fields,
        )
        .unwrap();
        assert_eq!(
            g.missing,
            [
                "--nip",
                "--opd",
                "--position",
                "--contact",
                "--letter-number",
                "--letter-date",
                "--signatory",
                "--account",
                "--key-file",
                "--expires",
                "--purpose",
                "--accept-terms"
            ]
        );
    }

    #[test]
    fn input_ending_early_is_an_error_not_a_panic() {
        let inst = kudus();
        let mut g = Gather {
            input: Some(Box::new("Budi\n".as_bytes())),
            missing: Vec::new(),
        };
        let err = gather(
            &mut g,
            &inst,
            inst.config.as_ref().unwrap(),
            RequestKind::MailReset,
            Fields::default(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("--nip"), "{err}");
    }
}
