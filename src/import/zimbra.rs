//! A `zmprov -l gaa -v` listing: one block per account, opened by `# name
//! user@domain`, then `attr: value` lines (a value running over several lines goes on
//! without an `attr: ` prefix). Active means `zimbraAccountStatus: active` and
//! `zimbraMailStatus` enabled (its default); the holder's name is `displayName`, else
//! `cn`. System accounts (`zimbraIsSystemAccount`/`zimbraIsSystemResource: TRUE`:
//! GAL sync, spam and ham training, quarantine) are left out. `userPassword` is
//! never read.

use std::path::Path;

use super::{Found, FoundAccount, FoundHolder, ImportError, Origin, SourceRead};
use crate::apply::owned;

/// Reads the listing at `path`.
pub fn read(path: &Path) -> Result<SourceRead, ImportError> {
    super::read_file(path, "zimbra", "zmprov -l gaa -v listing", parse)
}

/// One block as read so far.
struct Block {
    origin: Origin,
    address: String,
    attrs: Vec<(String, String)>,
}

impl Block {
    fn get(&self, attr: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(a, _)| a.eq_ignore_ascii_case(attr))
            .map(|(_, v)| v.as_str())
    }

    fn into_found(self) -> Option<Found> {
        let truthy = |a| self.get(a).is_some_and(|v| v.eq_ignore_ascii_case("TRUE"));
        if truthy("zimbraIsSystemAccount") || truthy("zimbraIsSystemResource") {
            return None;
        }
        let active = self.get("zimbraAccountStatus") == Some("active")
            && self
                .get("zimbraMailStatus")
                .is_none_or(|s| s.eq_ignore_ascii_case("enabled"));
        let name = self
            .get("displayName")
            .or_else(|| self.get("cn"))
            .map(str::trim)
            .filter(|n| !n.is_empty())
            .map(str::to_string);
        Some(Found {
            origin: self.origin,
            account: FoundAccount::Mail {
                address: self.address,
                active,
                holder: FoundHolder {
                    name,
                    ..FoundHolder::default()
                },
            },
        })
    }
}

/// The accounts of listing `text`; `label` names it in errors.
pub fn parse(text: &str, label: &str) -> Result<Vec<Found>, ImportError> {
    let mut out = Vec::new();
    let mut block: Option<Block> = None;
    let bad = |line: usize, message: String| ImportError::Line {
        path: label.to_string(),
        line,
        message,
    };
    for (i, line) in text.lines().enumerate() {
        if let Some(rest) = line.strip_prefix("# name ") {
            out.extend(block.take().and_then(Block::into_found));
            let address = rest.trim().to_lowercase();
            owned::check_address(&address).map_err(|why| {
                bad(
                    i + 1,
                    format!("`# name` is not followed by an address ({why})"),
                )
            })?;
            block = Some(Block {
                origin: Origin {
                    path: label.to_string(),
                    line: i + 1,
                },
                address,
                attrs: Vec::new(),
            });
            continue;
        }
        if line.trim().is_empty() {
            continue;
        }
        let Some(b) = block.as_mut() else {
            return Err(bad(
                i + 1,
                "an attribute line before the first `# name user@domain`: not a `zmprov -l gaa -v` listing".into(),
            ));
        };
        // `attr: value`; anything else continues the previous value.
        if let Some((attr, value)) = line.split_once(": ")
            && !attr.is_empty()
            && attr
                .bytes()
                .all(|c| c.is_ascii_alphanumeric() || c == b'-' || c == b';')
        {
            b.attrs.push((attr.to_string(), value.to_string()));
        }
    }
    out.extend(block.and_then(Block::into_found));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LISTING: &str = "# name budi@x.go.id\ncn: Budi\ndisplayName: Budi Santoso\n\
        userPassword: VALUE-BLOCKED\nzimbraAccountStatus: active\nzimbraMailStatus: enabled\n\
        zimbraPrefMailSignature: Salam,\nBudi\n\n# name galsync@x.go.id\n\
        zimbraAccountStatus: active\nzimbraIsSystemResource: TRUE\n\n\
        # name sri@x.go.id\ncn: Sri Wahyuni\nzimbraAccountStatus: closed\n";

    #[test]
    fn blocks_become_accounts() {
        let found = parse(LISTING, "gaa.txt").unwrap();
        assert_eq!(found.len(), 2, "the system account is left out");
        let (address, active, holder) = found[0].as_mail();
        assert_eq!((address, active), ("budi@x.go.id", true));
        assert_eq!(holder.name.as_deref(), Some("Budi Santoso"));
        let (_, active, holder) = found[1].as_mail();
        assert!(!active);
        assert_eq!(holder.name.as_deref(), Some("Sri Wahyuni"));
        assert_eq!(found[1].origin.line, 14);
    }

    #[test]
    fn bad_listings_name_the_line() {
        let err = parse("cn: x\n# name a@x.go.id\n", "gaa.txt").unwrap_err();
        assert!(err.to_string().starts_with("gaa.txt:1: "), "{err}");
        let err = parse("# name a@x.go.id\n# name Not An Address\n", "gaa.txt").unwrap_err();
        assert!(err.to_string().starts_with("gaa.txt:2: "), "{err}");
    }
}
