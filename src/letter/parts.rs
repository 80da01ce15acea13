//! The parts of a letter that come from config rather than the request: the
//! signature block (role title, acting prefix, the official's name, rank and NIP),
//! the letterhead's emblem and the QR code of the public verification page.

use std::path::Path;

use base64::Engine as _;
use jiff::Timestamp;
use jiff::civil::Date;
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use serde::Serialize;

use super::LetterError;
use crate::check::config_rules::officials::{EMBLEM_MAX_BYTES, emblem_media_type};
use crate::model::config::{Config, TimeZone};
use crate::model::letter::Acting;
use crate::model::record::Progress;
use crate::review::roles::{self, Official};

/// The signature block as printed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Signer {
    /// "Kepala Dinas ..." or "Plh. Kepala Dinas ...".
    pub title: String,
    pub name: String,
    pub rank: Option<String>,
    pub nip: Option<String>,
    /// The decree appointing an acting official.
    pub decree: Option<String>,
}

/// The acting official who signs for `role`, from `[[delegations]]`
/// ([`roles::acting_official`]). When the record says who acted (the issued letter's
/// `acting`, else the acting of the role's latest step), that delegation must have
/// been in force then, under the same decree; otherwise the one in force at midday
/// of the letter's `date` in the office's zone, if any.
pub fn acting_signer(
    config: &Config,
    record: &Progress,
    role: &str,
    date: Date,
    tz: TimeZone,
) -> Result<Option<(Acting, Official)>, LetterError> {
    let noon = crate::site::text::offset(tz)
        .to_timestamp(date.at(12, 0, 0, 0))
        .ok();
    let recorded: Option<(Option<&Acting>, Option<Timestamp>)> = match &record.letter {
        Some(l) => Some((l.acting.as_ref(), noon)),
        None => record
            .steps
            .iter()
            .rev()
            .find(|s| s.role == role)
            .map(|s| (s.acting.as_ref(), s.at.parse().ok())),
    };
    let found = match recorded {
        // The holder signed, as the record says.
        Some((None, _)) if record.letter.is_some() => return Ok(None),
        Some((Some(a), at)) => {
            let unknown = || LetterError::ActingUnknown {
                role: role.to_string(),
                decree: a.decree.clone(),
            };
            let (acting, official) = at
                .and_then(|at| roles::acting_official(config, role, at))
                .filter(|(b, _)| b == a)
                .ok_or_else(unknown)?;
            Some((acting, official))
        }
        _ => noon.and_then(|at| roles::acting_official(config, role, at)),
    };
    match found {
        Some((a, o)) if o.name.as_deref().is_none_or(|n| n.trim().is_empty()) => {
            Err(LetterError::ActingNoName {
                role: role.to_string(),
                decree: a.decree,
            })
        }
        other => Ok(other),
    }
}

/// Who signs for `role`: the acting official when there is one, else the role's
/// official from config. A letter is never printed with a blank name.
pub fn signer(
    config: &Config,
    role: &str,
    acting: Option<(Acting, Official)>,
) -> Result<Signer, LetterError> {
    let r = config
        .roles
        .get(role)
        .ok_or_else(|| LetterError::UnknownRole(role.to_string()))?;
    let title = roles::acting_title(config, role, acting.as_ref().map(|(a, _)| a));
    if let Some((a, o)) = acting {
        return Ok(Signer {
            title,
            name: o.name.unwrap_or_default(),
            rank: o.rank,
            nip: o.nip,
            decree: Some(a.decree),
        });
    }
    let name = r
        .official_name
        .as_ref()
        .map(|n| n.get_ref().trim().to_string())
        .filter(|n| !n.is_empty())
        .ok_or_else(|| LetterError::NoOfficial(role.to_string()))?;
    Ok(Signer {
        title,
        name,
        rank: r.official_rank.as_ref().map(|x| x.get_ref().clone()),
        nip: r.official_nip.as_ref().map(|x| x.get_ref().clone()),
        decree: None,
    })
}

/// The public verification page of `ticket`'s letter: `<base>/surat/<TICKET>/`.
pub fn verification_url(config: &Config, ticket: &str) -> Result<String, LetterError> {
    let base = config
        .site
        .base_url
        .as_deref()
        .map(str::trim)
        .filter(|b| !b.is_empty())
        .ok_or(LetterError::NoBaseUrl)?;
    Ok(format!("{}/surat/{ticket}/", base.trim_end_matches('/')))
}

/// `text` as a QR code, an inline `<svg>` element (no XML declaration).
pub fn qr_svg(text: &str) -> Result<String, LetterError> {
    let code = QrCode::with_error_correction_level(text.as_bytes(), EcLevel::M)
        .map_err(|e| LetterError::Qr(e.to_string()))?;
    let xml = code
        .render::<svg::Color>()
        .min_dimensions(160, 160)
        .quiet_zone(true)
        .build();
    let at = xml.find("<svg").unwrap_or(0);
    Ok(xml[at..].to_string())
}

/// The emblem as a `data:` URI, read as a regular file inside the instance.
pub fn emblem_uri(root: &Path, config: &Config) -> Result<Option<String>, LetterError> {
    let Some(rel) = config.office.emblem.as_ref().map(|e| e.get_ref()) else {
        return Ok(None);
    };
    let bad = |why: &str| LetterError::Emblem {
        path: rel.clone(),
        why: why.to_string(),
    };
    let media = emblem_media_type(rel).ok_or_else(|| bad("not a PNG, JPEG or SVG file"))?;
    let p = Path::new(rel);
    if !p
        .components()
        .all(|c| matches!(c, std::path::Component::Normal(_)))
    {
        return Err(bad("not a relative path inside the instance"));
    }
    let bytes = crate::model::regular::read(&root.join(p)).map_err(|e| bad(&e.to_string()))?;
    if bytes.len() as u64 > EMBLEM_MAX_BYTES {
        return Err(bad("larger than 512 KiB"));
    }
    let b64 = base64::engine::general_purpose::STANDARD.encode(&bytes);
    Ok(Some(format!("data:{media};base64,{b64}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(extra: &str) -> Config {
        let text = include_str!("../../loket.toml").replace(
            "title = \"Kepala Bidang Informatika\"",
            &format!("title = \"Kepala Bidang Informatika\"\n{extra}"),
        );
        let inst =
            crate::model::Instance::from_files(Path::new("."), vec![("loket.toml".into(), text)]);
        inst.config.unwrap()
    }

    fn with_delegation(d: &str) -> Config {
        let text = format!("{}\n{d}", include_str!("../../loket.toml"));
        let inst =
            crate::model::Instance::from_files(Path::new("."), vec![("loket.toml".into(), text)]);
        inst.config.unwrap()
    }

    const PLH: &str = r#"
[[delegations]]
role = "kepala-dinas"
login = "sekdin-kominfo-kudus"
kind = "plh"
from = 2026-09-14
until = 2026-09-20
decree = "800/117/18.03/2026"
name = "Ir. Budi Santoso, M.T."
rank = "Pembina (IV/a)"
nip = "197506122000031002"
"#;

    fn record(extra: &str) -> Progress {
        toml::from_str(&format!(
            "ticket = \"KDS-24WBW-PV52C\"\noutcome = \"processed\"\n{extra}"
        ))
        .unwrap()
    }

    const KADIS_STEP: &str = "[[steps]]\nstep = \"disposisi\"\ndone-by = \"review\"\nrole = \"kepala-dinas\"\nat = \"2026-09-15T02:00:00Z\"\n";

    fn date(d: &str) -> Date {
        d.parse().unwrap()
    }

    #[test]
    fn the_signer_comes_from_config_or_the_delegation_in_force() {
        let c = config("");
        let s = signer(&c, "kepala-dinas", None).unwrap();
        assert!(!s.name.is_empty());
        assert!(s.nip.is_some() && s.rank.is_some());
        assert!(matches!(
            signer(&c, "kepala-bidang", None),
            Err(LetterError::NoOfficial(r)) if r == "kepala-bidang"
        ));
        let c = with_delegation(PLH);
        let tz = TimeZone::WIB;
        let none = record("");
        let acting = acting_signer(&c, &none, "kepala-dinas", date("2026-09-19"), tz).unwrap();
        let s = signer(&c, "kepala-dinas", acting).unwrap();
        assert_eq!(s.title, "Plh. Kepala Dinas Komunikasi dan Informatika");
        assert_eq!(s.name, "Ir. Budi Santoso, M.T.");
        assert_eq!(s.nip.as_deref(), Some("197506122000031002"));
        assert_eq!(s.decree.as_deref(), Some("800/117/18.03/2026"));
        // Outside the window, and for another role: the holder signs.
        for (role, day) in [
            ("kepala-dinas", "2026-09-21"),
            ("kepala-bidang", "2026-09-19"),
        ] {
            let a = acting_signer(&c, &none, role, date(day), tz).unwrap();
            assert_eq!(a, None, "{role} {day}");
        }
    }

    #[test]
    fn the_recorded_acting_official_must_match_a_delegation() {
        let c = with_delegation(PLH);
        let tz = TimeZone::WIB;
        let acted =
            format!("{KADIS_STEP}acting = {{ kind = \"plh\", decree = \"800/117/18.03/2026\" }}\n");
        // The step's acting official, even on a letter dated after the window.
        let a = acting_signer(&c, &record(&acted), "kepala-dinas", date("2026-10-01"), tz);
        assert_eq!(
            a.unwrap().unwrap().1.name.as_deref(),
            Some("Ir. Budi Santoso, M.T.")
        );
        let other = acted.replace("800/117", "800/999");
        assert!(matches!(
            acting_signer(&c, &record(&other), "kepala-dinas", date("2026-09-19"), tz),
            Err(LetterError::ActingUnknown { .. })
        ));
        // An issued letter signed by the holder stays so within the window.
        let held =
            "[letter]\nnumber = \"555/1\"\ndate = \"2026-09-19\"\nsigner-role = \"kepala-dinas\"\n";
        let a = acting_signer(&c, &record(held), "kepala-dinas", date("2026-09-19"), tz);
        assert_eq!(a.unwrap(), None);
        // A delegation without a name cannot sign.
        let nameless = with_delegation(&PLH.replace("name = \"Ir. Budi Santoso, M.T.\"\n", ""));
        assert!(matches!(
            acting_signer(
                &nameless,
                &record(""),
                "kepala-dinas",
                date("2026-09-19"),
                tz
            ),
            Err(LetterError::ActingNoName { .. })
        ));
    }

    #[test]
    fn the_url_needs_a_base_and_the_qr_is_an_svg_element() {
        let c = config("");
        assert_eq!(
            verification_url(&c, "KDS-24WBW-PV52C").unwrap(),
            "https://loket.kuduskab.go.id/surat/KDS-24WBW-PV52C/"
        );
        let svg = qr_svg("https://loket.kuduskab.go.id/surat/KDS-24WBW-PV52C/").unwrap();
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"), "{svg}");
        let mut none = c.clone();
        none.site.base_url = None;
        assert!(matches!(
            verification_url(&none, "KDS-24WBW-PV52C"),
            Err(LetterError::NoBaseUrl)
        ));
    }

    #[test]
    fn an_emblem_outside_the_instance_or_not_regular_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut c = config("");
        let set = |c: &mut Config, p: &str| {
            c.office.emblem = Some(crate::model::spanned::Spanned::new(0..0, p.to_string()))
        };
        assert_eq!(emblem_uri(dir.path(), &c).unwrap(), None);
        std::fs::write(dir.path().join("lambang.svg"), "<svg/>").unwrap();
        set(&mut c, "lambang.svg");
        let uri = emblem_uri(dir.path(), &c).unwrap().unwrap();
        assert_eq!(uri, "data:image/svg+xml;base64,PHN2Zy8+");
        std::os::unix::fs::symlink("/etc/hostname", dir.path().join("link.png")).unwrap();
        for bad in [
            "link.png",
            "../lambang.svg",
            "/etc/lambang.png",
            "lambang.gif",
        ] {
            set(&mut c, bad);
            assert!(
                matches!(emblem_uri(dir.path(), &c), Err(LetterError::Emblem { .. })),
                "{bad}"
            );
        }
    }
}
