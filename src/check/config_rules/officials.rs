//! L080–L081: what the notification letter takes from `loket.toml`: the officials
//! who sign (`[roles.<role>] official-name`, `official-rank`, `official-nip`) and
//! the regional emblem of the letterhead (`[office] emblem`). Caught here, not when
//! a letter is printed.

use std::path::{Component, Path};

use super::{Context, Rule, config, err};
use crate::diag::Diagnostic;
use crate::model::regular::Node;

pub const OFFICIALS: Rule = Rule {
    code: "L080",
    name: "config-officials",
    summary: "a role's official has a name when a rank or NIP is given, and the NIP is valid",
    run: officials,
};

pub const EMBLEM: Rule = Rule {
    code: "L081",
    name: "config-emblem",
    summary: "office.emblem is a PNG, JPEG or SVG regular file inside the instance, at most 512 KiB",
    run: emblem,
};

/// The largest emblem a letter embeds: letters stay small enough to mail.
pub const EMBLEM_MAX_BYTES: u64 = 512 * 1024;

/// The media type of an emblem file, by extension.
pub fn emblem_media_type(path: &str) -> Option<&'static str> {
    let ext = Path::new(path).extension()?.to_str()?.to_ascii_lowercase();
    match ext.as_str() {
        "png" => Some("image/png"),
        "jpg" | "jpeg" => Some("image/jpeg"),
        "svg" => Some("image/svg+xml"),
        _ => None,
    }
}

fn officials(cx: &Context, out: &mut Vec<Diagnostic>) {
    let Some((c, file)) = config(cx) else { return };
    for (id, role) in &c.roles {
        let name = role.official_name.as_ref();
        if let Some(n) = name.filter(|n| n.get_ref().trim().is_empty()) {
            out.push(err(
                "L080",
                file,
                n.span(),
                "empty name",
                format!("[roles.{id}] official-name is empty"),
                "give the official's full name with titles as printed on letters, or remove the key",
            ));
        }
        let other = role
            .official_nip
            .as_ref()
            .or(role.official_rank.as_ref())
            .filter(|_| name.is_none());
        if let Some(o) = other {
            out.push(err(
                "L080",
                file,
                o.span(),
                "no official-name",
                format!("[roles.{id}] gives the official's rank or NIP but no official-name"),
                "add official-name: a letter's signature block needs the name above rank and NIP",
            ));
        }
        if let Some(nip) = &role.official_nip
            && let Err(e) = crate::nip::parse(nip.get_ref(), cx.today)
        {
            out.push(err(
                "L080",
                file,
                nip.span(),
                "invalid NIP",
                format!("[roles.{id}] official-nip: {e}"),
                "copy the official's 18-digit NIP from their decree",
            ));
        }
    }
}

/// Why an emblem path cannot be used, if it cannot.
fn emblem_problem(root: &Path, path: &str) -> Option<String> {
    let p = Path::new(path);
    let inside = !path.is_empty()
        && p.components()
            .all(|c| matches!(c, Component::Normal(_) | Component::CurDir));
    if !inside {
        return Some(format!(
            "office.emblem {path:?} must be a relative path inside the instance"
        ));
    }
    if emblem_media_type(path).is_none() {
        return Some(format!(
            "office.emblem {path:?} is not a .png, .jpg, .jpeg or .svg file"
        ));
    }
    let meta = match std::fs::symlink_metadata(root.join(p)) {
        Ok(m) => m,
        Err(e) => return Some(format!("office.emblem {path:?} cannot be read: {e}")),
    };
    if !meta.is_file() {
        let node = Node::of(meta.file_type()).unwrap_or(Node::Unknown);
        return Some(format!(
            "office.emblem {path:?}: {}",
            crate::model::regular::NotRegular(node)
        ));
    }
    (meta.len() > EMBLEM_MAX_BYTES).then(|| {
        format!(
            "office.emblem {path:?} has {} bytes; at most {EMBLEM_MAX_BYTES} are embedded in a letter",
            meta.len()
        )
    })
}

fn emblem(cx: &Context, out: &mut Vec<Diagnostic>) {
    let Some((c, file)) = config(cx) else { return };
    let Some(e) = &c.office.emblem else { return };
    if let Some(msg) = emblem_problem(&cx.inst.root, e.get_ref()) {
        out.push(err(
            "L081",
            file,
            e.span(),
            "unusable emblem",
            msg,
            "commit the regional emblem (lambang daerah) as a PNG, JPEG or SVG file in the instance, e.g. assets/lambang.png, and name it here",
        ));
    }
}
