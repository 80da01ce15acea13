//! The parts of a letter that come from config rather than the request: the
//! signature block (role title, acting prefix, the official's name, rank and NIP),
//! the letterhead's emblem and the QR code of the public verification page.

use std::path::Path;

use base64::Engine as _;
use qrcode::render::svg;
use qrcode::{EcLevel, QrCode};
use serde::Serialize;

use super::LetterError;
use crate::check::config_rules::officials::{EMBLEM_MAX_BYTES, emblem_media_type};
use crate::model::config::Config;
use crate::model::letter::Acting;

/// An official acting for the signing role (Plt/Plh/Pj) and their public details.
/// HOOK(delegation): `[[delegations]]` (role, from, until, decree, name, rank, nip)
/// will provide this for the letter's role and date; until then the caller passes
/// it through [`super::LetterOptions::acting`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActingSigner {
    pub acting: Acting,
    pub name: String,
    pub rank: Option<String>,
    pub nip: Option<String>,
}

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

/// The title of `role` as signed, with the acting prefix when someone acts for it.
pub fn signing_title(config: &Config, role: &str, acting: Option<&Acting>) -> String {
    let title = config
        .roles
        .get(role)
        .map_or_else(|| role.to_string(), |r| r.title.clone());
    match acting {
        Some(a) => format!("{} {title}", a.kind.prefix()),
        None => title,
    }
}

/// Who signs for `role`: the acting official when there is one, else the role's
/// official from config. A letter is never printed with a blank name.
pub fn signer(
    config: &Config,
    role: &str,
    acting: Option<&ActingSigner>,
) -> Result<Signer, LetterError> {
    let r = config
        .roles
        .get(role)
        .ok_or_else(|| LetterError::UnknownRole(role.to_string()))?;
    let title = signing_title(config, role, acting.map(|a| &a.acting));
    if let Some(a) = acting {
        return Ok(Signer {
            title,
            name: a.name.clone(),
            rank: a.rank.clone(),
            nip: a.nip.clone(),
            decree: Some(a.acting.decree.clone()),
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
    use crate::model::letter::ActingKind;

    fn config(extra: &str) -> Config {
        let text = include_str!("../../loket.toml").replace(
            "title = \"Kepala Bidang Informatika\"",
            &format!("title = \"Kepala Bidang Informatika\"\n{extra}"),
        );
        let inst =
            crate::model::Instance::from_files(Path::new("."), vec![("loket.toml".into(), text)]);
        inst.config.unwrap()
    }

    #[test]
    fn the_signer_comes_from_config_or_the_acting_official() {
        let c = config("");
        let s = signer(&c, "kepala-dinas", None).unwrap();
        assert!(!s.name.is_empty());
        assert!(s.nip.is_some() && s.rank.is_some());
        assert!(matches!(
            signer(&c, "kepala-bidang", None),
            Err(LetterError::NoOfficial(r)) if r == "kepala-bidang"
        ));
        let acting = ActingSigner {
            acting: Acting {
                kind: ActingKind::Plh,
                decree: "800/117/18.03/2026".into(),
            },
            name: "Ir. Budi Santoso, M.T.".into(),
            rank: Some("Pembina (IV/a)".into()),
            nip: Some("197506122000031002".into()),
        };
        let s = signer(&c, "kepala-bidang", Some(&acting)).unwrap();
        assert_eq!(s.title, "Plh. Kepala Bidang Informatika");
        assert_eq!(s.name, "Ir. Budi Santoso, M.T.");
        assert_eq!(s.decree.as_deref(), Some("800/117/18.03/2026"));
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
