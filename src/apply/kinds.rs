//! Where the plan's diff learns a ticket's request kind (a pending ticket of a live
//! mail account is a reset only if its request says so).

use std::collections::HashMap;
use std::path::PathBuf;

use crate::model::REQUESTS_DIR;
use crate::model::request::{Request, RequestKind};

/// Where the diff learns a ticket's request kind. It asks only for tickets not yet
/// applied to a live account, so a no-op plan asks for none.
pub enum Kinds<'a> {
    /// From the loaded requests.
    Known(HashMap<&'a str, RequestKind>),
    /// Read from `<root>/requests/<ticket>.toml` when asked (`loket plan` loads no
    /// requests: on 100k tickets that is most of its time).
    OnDisk(PathBuf),
}

impl Default for Kinds<'_> {
    fn default() -> Self {
        Kinds::Known(HashMap::new())
    }
}

impl Kinds<'_> {
    pub fn get(&self, ticket: &str) -> Option<RequestKind> {
        match self {
            Kinds::Known(m) => m.get(ticket).copied(),
            Kinds::OnDisk(root) => {
                // A ticket is a file name only: never a path out of requests/.
                if ticket.is_empty()
                    || !ticket
                        .chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '-')
                {
                    return None;
                }
                let path = root.join(REQUESTS_DIR).join(format!("{ticket}.toml"));
                let text = crate::model::regular::read_to_string(&path).ok()?;
                let r: Request = toml::from_str(&text).ok()?;
                (r.ticket() == ticket).then(|| r.kind())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn on_disk_reads_one_request_and_never_leaves_requests() {
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
        let kinds = Kinds::OnDisk(root.clone());
        // A bundled mail-reset request (see requests/).
        assert_eq!(kinds.get("KDS-ENY54-JAFNR"), Some(RequestKind::MailReset));
        assert_eq!(kinds.get("KDS-X8FA5-QQEQ8"), Some(RequestKind::MailCreate));
        assert_eq!(kinds.get("KDS-NOPE0-NOPE0"), None);
        for bad in ["", "../loket", "../../etc/passwd", "KDS-ENY54-JAFNR/.."] {
            assert_eq!(kinds.get(bad), None, "{bad}");
        }
        // A file whose ticket differs from its name is not trusted.
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(dir.path().join(REQUESTS_DIR)).unwrap();
        std::fs::copy(
            root.join("requests/KDS-ENY54-JAFNR.toml"),
            dir.path().join("requests/KDS-AAAAA-AAAAA.toml"),
        )
        .unwrap();
        assert_eq!(
            Kinds::OnDisk(dir.path().into()).get("KDS-AAAAA-AAAAA"),
            None
        );
    }
}
