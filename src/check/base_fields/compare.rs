//! Field by field: the head's account against what its requests make of the base.
//! A difference becomes a [`Finding`] on the head's field, under the code that says
//! what kind of change it is.

use std::ops::Range;

use super::state::{
    KeyState, MailState, ServerState, Who, account_kind, account_status, key_status,
};
use crate::diag::FileId;
use crate::model::{Holder, MailAccount, ServerAccount, ServerKey, Spanned};

pub const IDENTITY: &str = "L075";
pub const RESURRECTED: &str = "L076";
pub const HISTORY: &str = "L077";
pub const NOT_ASKED: &str = "L078";

/// One unexplained difference, located in the head.
pub struct Finding {
    pub code: &'static str,
    pub file: FileId,
    pub span: Range<usize>,
    pub label: String,
    pub message: String,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Class {
    /// Who or what the account or key is: never changed by a later request.
    Identity,
    /// `status`: may end by request, comes back only by a new creating request.
    Status,
    /// `revoked-by`: the record of the request that ended a key.
    RevokedBy,
}

/// One field as the base had it (`None`: the account or key is new), as the
/// requests make it (`None`: left open), and as the head has it (inner `None`:
/// absent).
struct Field<'a> {
    name: String,
    span: Range<usize>,
    base: Option<Option<&'a str>>,
    want: Option<Option<&'a str>>,
    got: Option<&'a str>,
    class: Class,
}

fn show(v: Option<&str>) -> String {
    v.map_or_else(|| "absent".to_string(), |v| format!("{v:?}"))
}

fn ended(v: Option<&str>) -> bool {
    matches!(v, Some("disabled" | "revoked"))
}

/// The code and message for a field that is not what the requests make it.
fn judge(f: &Field) -> Option<(&'static str, String, String)> {
    let want = f.want?;
    if want == f.got {
        return None;
    }
    let (name, got) = (&f.name, show(f.got));
    let Some(base) = f.base else {
        let msg = format!("{name} is {got}, but the request asks for {}", show(want));
        return Some((NOT_ASKED, "not as the request asks".into(), msg));
    };
    if base == f.got {
        let msg = format!(
            "{name} is still {got}; the request this change adds asks for {}",
            show(want)
        );
        return Some((NOT_ASKED, "the requested change is missing".into(), msg));
    }
    let changed = format!("{name} changed from {} to {got}", show(base));
    Some(match f.class {
        Class::Identity => (
            IDENTITY,
            "changed without a request for it".into(),
            format!("{changed}: no request changes who or what an account is"),
        ),
        Class::Status if ended(base) && !ended(f.got) => (
            RESURRECTED,
            "brought back".into(),
            format!("{changed}: an ended account or key returns only through a new request"),
        ),
        Class::RevokedBy if base.is_some() && f.got.is_none() => (
            RESURRECTED,
            "revocation removed".into(),
            format!("{changed}: a revocation is never undone"),
        ),
        Class::RevokedBy if base.is_some() => (
            HISTORY,
            "revocation re-attributed".into(),
            format!("{changed}: the request that ended a key stays on record"),
        ),
        Class::Status | Class::RevokedBy => (
            NOT_ASKED,
            "changed without a request for it".into(),
            format!("{changed}, but no request this change adds asks for that"),
        ),
    })
}

/// Collects the findings of one account file.
pub struct Compare {
    pub file: FileId,
    pub out: Vec<Finding>,
}

impl Compare {
    fn field(&mut self, f: Field) {
        if let Some((code, label, message)) = judge(&f) {
            self.out.push(Finding {
                code,
                file: self.file,
                span: f.span,
                label,
                message,
            });
        }
    }

    pub fn push(&mut self, code: &'static str, span: Range<usize>, label: &str, message: String) {
        self.out.push(Finding {
            code,
            file: self.file,
            span,
            label: label.to_string(),
            message,
        });
    }

    /// An identity field that is always present.
    fn ident(
        &mut self,
        name: String,
        got: &Spanned<String>,
        base: Option<&str>,
        want: Option<&str>,
        new: bool,
    ) {
        self.field(Field {
            name,
            span: got.span(),
            base: (!new).then_some(base),
            want: Some(want),
            got: Some(got.get_ref()),
            class: Class::Identity,
        });
    }

    fn holder(&mut self, prefix: &str, h: &Holder, base: Option<&Who>, want: &Who) {
        let new = base.is_none();
        let b = |f: fn(&Who) -> Option<&str>| base.and_then(f);
        self.ident(
            format!("{prefix}holder.name"),
            &h.name,
            b(|w| Some(w.name.as_str())),
            Some(&want.name),
            new,
        );
        self.field(Field {
            name: format!("{prefix}holder.nip"),
            // An absent NIP has no place: point at the holder's name.
            span: h.nip.as_ref().map_or(h.name.span(), |n| n.span()),
            base: base.map(|w| w.nip.as_deref()),
            want: Some(want.nip.as_deref()),
            got: h.nip.as_ref().map(|n| n.get_ref().as_str()),
            class: Class::Identity,
        });
        self.ident(
            format!("{prefix}holder.opd"),
            &h.opd,
            b(|w| Some(w.opd.as_str())),
            Some(&want.opd),
            new,
        );
    }

    fn status(
        &mut self,
        name: String,
        span: Range<usize>,
        base: Option<&str>,
        want: &str,
        got: &str,
        new: bool,
    ) {
        self.field(Field {
            name,
            span,
            base: (!new).then_some(base),
            want: Some(Some(want)),
            got: Some(got),
            class: Class::Status,
        });
    }

    pub fn mail(&mut self, head: &MailAccount, base: Option<&MailState>, want: &MailState) {
        let new = base.is_none();
        let addr = head.address.get_ref().to_lowercase();
        self.field(Field {
            name: "address".into(),
            span: head.address.span(),
            base: base.map(|b| Some(b.address.as_str())),
            want: Some(Some(&want.address)),
            got: Some(&addr),
            class: Class::Identity,
        });
        let got = account_status(*head.status.get_ref());
        self.status(
            "status".into(),
            head.status.span(),
            base.map(|b| b.status),
            want.status,
            got,
            new,
        );
        self.holder("", &head.holder, base.map(|b| &b.holder), &want.holder);
    }

    pub fn server(&mut self, head: &ServerAccount, base: Option<&ServerState>, want: &ServerState) {
        let new = base.is_none();
        let b = |f: fn(&ServerState) -> &str| base.map(f);
        self.ident(
            "server".into(),
            &head.server,
            b(|s| &s.server),
            Some(&want.server),
            new,
        );
        self.ident(
            "login".into(),
            &head.login,
            b(|s| &s.login),
            Some(&want.login),
            new,
        );
        self.field(Field {
            name: "kind".into(),
            span: head.kind.span(),
            base: base.map(|s| Some(s.kind)),
            want: Some(Some(want.kind)),
            got: Some(account_kind(*head.kind.get_ref())),
            class: Class::Identity,
        });
        self.ident("opd".into(), &head.opd, b(|s| &s.opd), Some(&want.opd), new);
        self.keys(head, base, want);
    }

    /// Keys are matched by their grant ticket; order does not matter.
    fn keys(&mut self, head: &ServerAccount, base: Option<&ServerState>, want: &ServerState) {
        let mut used = vec![false; want.keys.len()];
        for k in &head.keys {
            let t = k.ticket.get_ref();
            let found = (0..want.keys.len()).find(|&i| !used[i] && &want.keys[i].ticket == t);
            let Some(i) = found else {
                self.push(
                    NOT_ASKED,
                    k.ticket.span(),
                    "no request of this change asks for this key",
                    format!(
                        "a key from {t} is added, but no server-grant this change adds asks for it"
                    ),
                );
                continue;
            };
            used[i] = true;
            let old = base.and_then(|b| b.keys.iter().find(|o| &o.ticket == t));
            self.key(k, old, &want.keys[i]);
        }
        let anchor = head.login.span();
        for (w, _) in want.keys.iter().zip(&used).filter(|(_, u)| !**u) {
            let t = &w.ticket;
            let existed = base.is_some_and(|b| b.keys.iter().any(|o| &o.ticket == t));
            let (code, message) = if existed {
                (
                    HISTORY,
                    format!(
                        "the key from {t} was removed; keys stay on record (revoke them instead)"
                    ),
                )
            } else {
                (
                    NOT_ASKED,
                    format!("{t} asks for a key on this account, and there is none"),
                )
            };
            let span = head
                .tickets
                .iter()
                .find(|x| x.get_ref() == t)
                .map_or(anchor.clone(), |x| x.span());
            self.push(code, span, "a key is missing", message);
        }
    }

    fn key(&mut self, k: &ServerKey, base: Option<&KeyState>, want: &KeyState) {
        let p = format!("the key from {}: ", k.ticket.get_ref());
        let new = base.is_none();
        let expires = k.expires.get_ref().to_string();
        for (name, span, old, w, got) in [
            (
                "key",
                k.key.span(),
                base.and_then(|b| b.key.as_deref()),
                want.key.as_deref(),
                k.key.get_ref().as_str(),
            ),
            (
                "expires",
                k.expires.span(),
                base.and_then(|b| b.expires.as_deref()),
                want.expires.as_deref(),
                expires.as_str(),
            ),
        ] {
            self.field(Field {
                name: format!("{p}{name}"),
                span,
                base: (!new).then_some(old),
                want: w.map(Some),
                got: Some(got),
                class: Class::Identity,
            });
        }
        let got = key_status(*k.status.get_ref());
        let before = self.out.len();
        self.status(
            format!("{p}status"),
            k.status.span(),
            base.map(|b| b.status),
            want.status,
            got,
            new,
        );
        // A status finding already points here; an absent revoked-by adds nothing.
        if self.out.len() > before && k.revoked_by.is_none() {
            self.holder(&p, &k.holder, base.map(|b| &b.holder), &want.holder);
            return;
        }
        self.field(Field {
            name: format!("{p}revoked-by"),
            span: k.revoked_by.as_ref().map_or(k.status.span(), |r| r.span()),
            base: base.map(|b| b.revoked_by.as_deref()),
            want: Some(want.revoked_by.as_deref()),
            got: k.revoked_by.as_ref().map(|r| r.get_ref().as_str()),
            class: Class::RevokedBy,
        });
        self.holder(&p, &k.holder, base.map(|b| &b.holder), &want.holder);
    }
}
