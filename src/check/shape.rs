//! L003–L005: where files sit and which sections a request kind needs — what the
//! schema alone (L002) cannot say.

use std::ops::Range;

use super::{Context, Rule};
use crate::diag::{Diagnostic, Label};
use crate::model::{FailureKind, RequestKind, SERVER_ACCOUNTS_DIR};

pub const PLACEMENT: Rule = Rule {
    code: "L003",
    name: "file-placement",
    summary: "requests/ and accounts/ hold only .toml files in their documented places",
    run: placement,
};

pub const ACCOUNT_FILE_NAME: Rule = Rule {
    code: "L004",
    name: "account-file-name",
    summary: "an account file is named after its account: accounts/mail/<address>.toml, accounts/server/<server>/<login>.toml",
    run: account_file_name,
};

pub const KIND_FIELDS: Rule = Rule {
    code: "L005",
    name: "request-kind-fields",
    summary: "a request has the section and fields its kind needs, and none of another kind's",
    run: kind_fields,
};

pub const FIELD_LENGTH: Rule = Rule {
    code: "L006",
    name: "field-length",
    summary: "free-text fields stay within sane lengths (names 100, titles 150, purpose 500 characters)",
    run: field_length,
};

/// Longest accepted free text, in characters: enough for any real name, title or
/// agency; letters and the site lay text out by these bounds.
pub const MAX_NAME: usize = 100;
pub const MAX_TITLE: usize = 150;
pub const MAX_PURPOSE: usize = 500;

/// Files people keep beside data without it being data.
fn is_note(name: &str) -> bool {
    name.starts_with('.') || name.starts_with("README")
}

/// Why a path under requests/ or accounts/ is misplaced, if it is.
pub fn misplaced(path: &str) -> Option<&'static str> {
    let name = path.rsplit('/').next().unwrap_or(path);
    if is_note(name) {
        return None;
    }
    let depth = path.matches('/').count();
    if path.starts_with("requests/") {
        return (!path.ends_with(".toml")).then_some("a request file must end in .toml");
    }
    if !path.starts_with("accounts/") {
        return None;
    }
    if !path.ends_with(".toml") {
        return Some("an account file must end in .toml");
    }
    if path.starts_with("accounts/mail/") {
        (depth != 2).then_some("mail accounts sit directly in accounts/mail/")
    } else if path.starts_with("accounts/server/") {
        (depth != 3).then_some("server accounts sit in accounts/server/<server>/")
    } else {
        Some("accounts/ holds only mail/ and server/")
    }
}

fn placement(cx: &Context, out: &mut Vec<Diagnostic>) {
    // A refused node (L000) is reported once, for what it is, wherever it sits.
    let refused: std::collections::HashSet<_> = (cx.inst.failures.iter())
        .filter(|f| f.kind == FailureKind::NotRegular)
        .map(|f| f.file)
        .collect();
    for (id, f) in cx.inst.sources.iter() {
        if refused.contains(&id) {
            continue;
        }
        let path = f.path.to_string_lossy();
        if let Some(why) = misplaced(&path) {
            out.push(
                Diagnostic::error(
                    "L003",
                    Label::new(id, 0..0, "misplaced file"),
                    format!("{path} is not where loket reads data: {why}"),
                )
                .with_hint("move the file to its place (see docs/schema.md) or delete it"),
            );
        }
    }
}

fn account_file_name(cx: &Context, out: &mut Vec<Diagnostic>) {
    let mut report = |file, span: Range<usize>, want: String| {
        let path = cx.inst.path(file);
        if path.to_str() != Some(want.as_str()) {
            out.push(
                Diagnostic::error(
                    "L004",
                    Label::new(file, span, "the account"),
                    format!("account file {} does not match its account", path.display()),
                )
                .with_hint(format!("rename the file to {want}")),
            );
        }
    };
    for a in &cx.inst.mail_accounts {
        let want = format!("accounts/mail/{}.toml", a.value.address.get_ref());
        report(a.file, a.value.address.span(), want);
    }
    for a in &cx.inst.server_accounts {
        let v = &a.value;
        let want = format!(
            "{SERVER_ACCOUNTS_DIR}/{}/{}.toml",
            v.server.get_ref(),
            v.login.get_ref()
        );
        report(a.file, v.login.span(), want);
    }
}

fn kind_fields(cx: &Context, out: &mut Vec<Diagnostic>) {
    for r in &cx.inst.requests {
        let v = &r.value;
        let kind = v.kind();
        let mut bad = |span: Range<usize>, label: &str, message: String, hint: &str| {
            out.push(
                Diagnostic::error("L005", Label::new(r.file, span, label), message)
                    .with_hint(hint.to_string()),
            );
        };
        let kind_span = v.kind.span();
        if kind.is_mail() {
            match &v.mail {
                None => bad(
                    kind_span,
                    "needs [mail]",
                    format!("a {kind} request needs a [mail] section"),
                    "add [mail] with `address = \"name@domain\"`",
                ),
                Some(m) => {
                    let reason = &m.get_ref().reason;
                    if kind == RequestKind::MailDeactivate && reason.is_none() {
                        bad(
                            m.span(),
                            "no reason",
                            "a mail-deactivate request needs a reason".into(),
                            "add `reason = \"pensiun\"` (or mutasi, berhenti, meninggal) under [mail]",
                        );
                    } else if kind != RequestKind::MailDeactivate
                        && let Some(reason) = reason
                    {
                        bad(
                            reason.span(),
                            "only for mail-deactivate",
                            format!("a {kind} request has no reason field"),
                            "remove `reason`",
                        );
                    }
                }
            }
            if let Some(s) = &v.server {
                bad(
                    s.span(),
                    "not for mail requests",
                    format!("a {kind} request has no [server] section"),
                    "remove [server], or change the kind",
                );
            }
        } else {
            match &v.server {
                None => bad(
                    kind_span,
                    "needs [server]",
                    format!("a {kind} request needs a [server] section"),
                    "add [server] with `name` and `account`",
                ),
                Some(s) => {
                    let s = s.get_ref();
                    let grant_only = [
                        ("key", s.key.as_ref().map(|x| x.span())),
                        ("expires", s.expires.as_ref().map(|x| x.span())),
                        ("accept-terms", s.accept_terms.as_ref().map(|x| x.span())),
                        ("purpose", s.purpose.as_ref().map(|x| x.span())),
                    ];
                    if kind == RequestKind::ServerRevoke {
                        for (field, span) in grant_only {
                            if let Some(span) = span {
                                bad(
                                    span,
                                    "only for server-grant",
                                    format!("a server-revoke request has no `{field}`"),
                                    "remove it; a revoke names only the server, account and grant",
                                );
                            }
                        }
                    } else if let Some(g) = &s.grant {
                        bad(
                            g.span(),
                            "only for server-revoke",
                            "a server-grant request has no `grant`".into(),
                            "remove `grant`",
                        );
                    }
                }
            }
            if let Some(m) = &v.mail {
                bad(
                    m.span(),
                    "not for server requests",
                    format!("a {kind} request has no [mail] section"),
                    "remove [mail], or change the kind",
                );
            }
        }
    }
}

fn field_length(cx: &Context, out: &mut Vec<Diagnostic>) {
    for (file, field, v) in super::fields::text_fields(cx) {
        let max = match field {
            "position" | "opd" | "signatory" => MAX_TITLE,
            "purpose" => MAX_PURPOSE,
            _ => MAX_NAME,
        };
        let n = v.get_ref().chars().count();
        if n > max {
            out.push(
                Diagnostic::error(
                    "L006",
                    Label::new(
                        file,
                        v.span().start..v.span().start,
                        format!("{n} characters"),
                    ),
                    format!("`{field}` has {n} characters; at most {max} are allowed"),
                )
                .with_hint("shorten it to what the letter or form says"),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::check::testutil::*;

    #[test]
    fn l003_fires_on_misplaced_files() {
        let mut fx = Fixture::kudus();
        fx.write("requests/notes.txt", "hello\n");
        fx.write("accounts/budi.toml", "x = 1\n");
        fx.write("accounts/mail/old/budi.toml", "x = 1\n");
        fx.write("accounts/server/app-1.toml", "x = 1\n");
        fx.write("requests/.gitkeep", "");
        fx.assert_fires("L003", "requests/notes.txt", 1);
        fx.assert_fires("L003", "accounts/budi.toml", 1);
        fx.assert_fires("L003", "accounts/mail/old/budi.toml", 1);
        fx.assert_fires("L003", "accounts/server/app-1.toml", 1);
        let (inst, report) = fx.check();
        assert!(
            !report
                .diagnostics
                .iter()
                .any(|d| inst.path(d.primary.file).ends_with(".gitkeep"))
        );
    }

    #[test]
    fn l004_fires_when_account_file_name_differs() {
        let mut fx = Fixture::kudus();
        fx.mail_create("budi");
        let text = fx
            .files
            .remove("accounts/mail/budi@kuduskab.go.id.toml")
            .unwrap();
        fx.write("accounts/mail/budi.toml", &text);
        fx.assert_fires("L004", "accounts/mail/budi.toml", 1);
        let mut fx = Fixture::kudus();
        fx.server_grant("app-1", "opd-dinkes", KEY_ED1);
        let text = fx
            .files
            .remove("accounts/server/app-1/opd-dinkes.toml")
            .unwrap();
        fx.write("accounts/server/db-1/opd-dinkes.toml", &text);
        fx.assert_fires("L004", "accounts/server/db-1/opd-dinkes.toml", 2);
    }

    #[test]
    fn l006_fires_on_huge_text() {
        let mut fx = Fixture::kudus();
        let t = fx.mail_create("budi");
        let req = format!("requests/{t}.toml");
        fx.edit(&req, |s| {
            s.replace("Pranata Komputer", &"Pranata ".repeat(40))
        });
        fx.assert_fires("L006", &req, 9);
        let mut fx = Fixture::kudus();
        fx.mail_create("budi");
        fx.assert_quiet("L006");
    }

    #[test]
    fn l005_fires_on_missing_or_foreign_sections() {
        let mut fx = Fixture::kudus();
        let t = fx.mail_create("budi");
        let req = format!("requests/{t}.toml");
        fx.edit(&req, |s| {
            s.replace("kind = \"mail-create\"", "kind = \"server-grant\"")
        });
        fx.assert_fires("L005", &req, 2);
        fx.assert_fires("L005", &req, 17);
        let mut fx = Fixture::kudus();
        fx.mail_create("budi");
        let t = fx.mail_change("mail-deactivate", "budi");
        let req = format!("requests/{t}.toml");
        fx.edit(&req, |s| s.replace("reason = \"pensiun\"\n", ""));
        fx.assert_fires("L005", &req, 17);
        let mut fx = Fixture::kudus();
        let g = fx.server_grant("app-1", "opd-dinkes", KEY_ED1);
        let t = fx.server_revoke("app-1", "opd-dinkes", &g);
        let req = format!("requests/{t}.toml");
        fx.edit(&req, |s| format!("{s}expires = 2027-01-01\n"));
        fx.assert_fires("L005", &req, 21);
    }
}
