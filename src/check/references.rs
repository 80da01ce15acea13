//! L040–L042: requests and accounts point at each other. A deactivate, reset or
//! revoke names an account that exists and was active; every account names tickets
//! that exist; and each account agrees with the requests it lists.

use super::{Context, Rule};
use crate::diag::{Diagnostic, Label};
use crate::model::{KeyStatus, Loaded, MailAccount, Request, RequestKind, ServerAccount};

pub const TARGET: Rule = Rule {
    code: "L040",
    name: "reference-target",
    summary: "mail-deactivate, mail-reset and server-revoke name an existing, active account or grant",
    run: target,
};

pub const TICKET_EXISTS: Rule = Rule {
    code: "L041",
    name: "account-ticket-exists",
    summary: "every ticket an account file names is a request in requests/ (or an [[imports]] batch, L046)",
    run: ticket_exists,
};

pub const CONSISTENT: Rule = Rule {
    code: "L042",
    name: "account-consistent",
    summary: "an account file agrees with the requests it names (address, server, key, expiry, status)",
    run: consistent,
};

fn request<'a>(cx: &'a Context, ticket: &str) -> Option<&'a Loaded<Request>> {
    let i = *cx.index.requests_by_ticket.get(ticket)?.first()?;
    Some(&cx.inst.requests[i])
}

fn mail_account<'a>(cx: &'a Context, addr: &str) -> Option<&'a Loaded<MailAccount>> {
    let i = *cx
        .index
        .mail_by_address
        .get(addr.to_lowercase().as_str())?
        .first()?;
    Some(&cx.inst.mail_accounts[i])
}

fn server_account<'a>(
    cx: &'a Context,
    server: &str,
    login: &str,
) -> Option<&'a Loaded<ServerAccount>> {
    let i = *cx.index.server_by_login.get(&(server, login))?.first()?;
    Some(&cx.inst.server_accounts[i])
}

fn kind_of(cx: &Context, ticket: &str) -> Option<RequestKind> {
    request(cx, ticket).map(|r| r.value.kind())
}

fn target(cx: &Context, out: &mut Vec<Diagnostic>) {
    for r in &cx.inst.requests {
        let v = &r.value;
        match v.kind() {
            RequestKind::MailDeactivate | RequestKind::MailReset => {
                let Some(addr) = v.mail_address() else {
                    continue;
                }; // L005
                let Some(acc) = mail_account(cx, addr.get_ref()) else {
                    out.push(
                        Diagnostic::error(
                            "L040",
                            Label::new(r.file, addr.span(), "no such account"),
                            format!("{} names {}, which has no account in accounts/mail/", v.kind(), addr.get_ref()),
                        )
                        .with_hint("check the spelling against the account list; only existing accounts can be deactivated or reset"),
                    );
                    continue;
                };
                // Active before this request: no deactivation listed ahead of it.
                let tickets = &acc.value.tickets;
                let pos = tickets.iter().position(|t| t.get_ref() == v.ticket());
                let earlier = &tickets[..pos.unwrap_or(tickets.len())];
                let ended = earlier.iter().find(|t| {
                    t.get_ref() != v.ticket()
                        && kind_of(cx, t.get_ref()) == Some(RequestKind::MailDeactivate)
                });
                let inactive = ended.is_some() || (pos.is_none() && !acc.value.is_active());
                if inactive {
                    let mut d = Diagnostic::error(
                        "L040",
                        Label::new(r.file, addr.span(), "not active"),
                        format!("{} is already deactivated", addr.get_ref()),
                    )
                    .with_hint("a deactivated account cannot be reset or deactivated again; ask for a new account instead");
                    d = d.with_label(Label::new(
                        acc.file,
                        ended.map_or(acc.value.status.span(), |t| t.span()),
                        "deactivated here",
                    ));
                    out.push(d);
                }
            }
            RequestKind::ServerRevoke => {
                let Some(s) = &v.server else { continue };
                let s = s.get_ref();
                let Some(acc) = server_account(cx, s.name.get_ref(), s.account.get_ref()) else {
                    out.push(
                        Diagnostic::error(
                            "L040",
                            Label::new(r.file, s.account.span(), "no such server account"),
                            format!(
                                "server account {}@{} does not exist",
                                s.account.get_ref(),
                                s.name.get_ref()
                            ),
                        )
                        .with_hint("name a login that has a file under accounts/server/<server>/"),
                    );
                    continue;
                };
                let Some(grant) = &s.grant else {
                    out.push(
                        Diagnostic::error(
                            "L040",
                            Label::new(r.file, s.account.span(), "which grant?"),
                            "a server-revoke must name the grant it ends",
                        )
                        .with_hint("add `grant = \"<ticket of the server-grant>\"` under [server]"),
                    );
                    continue;
                };
                let key = acc
                    .value
                    .keys
                    .iter()
                    .find(|k| k.ticket.get_ref() == grant.get_ref());
                match key {
                    None => out.push(
                        Diagnostic::error(
                            "L040",
                            Label::new(r.file, grant.span(), "no key from this grant"),
                            format!(
                                "{}@{} holds no key granted by {}",
                                s.account.get_ref(),
                                s.name.get_ref(),
                                grant.get_ref()
                            ),
                        )
                        .with_hint("name the ticket of the server-grant that gave the key")
                        .with_label(Label::new(
                            acc.file,
                            acc.value.login.span(),
                            "this account",
                        )),
                    ),
                    Some(k)
                        if *k.status.get_ref() == KeyStatus::Revoked
                            && k.revoked_by
                                .as_ref()
                                .is_some_and(|b| b.get_ref() != v.ticket()) =>
                    {
                        out.push(
                            Diagnostic::error(
                                "L040",
                                Label::new(r.file, grant.span(), "already revoked"),
                                format!("the grant {} was already revoked", grant.get_ref()),
                            )
                            .with_label(Label::new(acc.file, k.status.span(), "revoked here"))
                            .with_hint("nothing to revoke: the key no longer has access"),
                        );
                    }
                    Some(_) => {}
                }
            }
            _ => {}
        }
    }
}

fn missing(file: usize, t: &crate::model::Spanned<String>) -> Diagnostic {
    Diagnostic::error(
        "L041",
        Label::new(file, t.span(), "no such request"),
        format!("ticket {} has no request in requests/", t.get_ref()),
    )
    .with_hint(
        "every account change comes with its request: add requests/<ticket>.toml or fix the ticket",
    )
}

fn ticket_exists(cx: &Context, out: &mut Vec<Diagnostic>) {
    // An `[[imports]]` batch stands in for the request of what it imported (L046).
    let imports = cx.config.map_or(&[][..], |c| c.imports.as_slice());
    let known = |t: &str| {
        cx.index.requests_by_ticket.contains_key(t)
            || imports.iter().any(|b| b.ticket.get_ref() == t)
    };
    for a in &cx.inst.mail_accounts {
        if a.value.tickets.is_empty() {
            out.push(
                Diagnostic::error(
                    "L041",
                    Label::new(a.file, a.value.address.span(), "no tickets"),
                    "the account names no ticket",
                )
                .with_hint("list the mail-create ticket that made it: `tickets = [\"KDS-…\"]`"),
            );
        }
        for t in a.value.tickets.iter().filter(|t| !known(t.get_ref())) {
            out.push(missing(a.file, t));
        }
    }
    for a in &cx.inst.server_accounts {
        if a.value.tickets.is_empty() {
            out.push(
                Diagnostic::error(
                    "L041",
                    Label::new(a.file, a.value.login.span(), "no tickets"),
                    "the server account names no ticket",
                )
                .with_hint(
                    "list the server-grant tickets that gave access: `tickets = [\"KDS-…\"]`",
                ),
            );
        }
        let refs = a.value.tickets.iter().chain(
            a.value
                .keys
                .iter()
                .flat_map(|k| std::iter::once(&k.ticket).chain(k.revoked_by.as_ref())),
        );
        for t in refs.filter(|t| !known(t.get_ref())) {
            out.push(missing(a.file, t));
        }
    }
}

fn consistent(cx: &Context, out: &mut Vec<Diagnostic>) {
    for a in &cx.inst.mail_accounts {
        mail_consistent(cx, a, out);
    }
    for a in &cx.inst.server_accounts {
        server_consistent(cx, a, out);
    }
}

fn mismatch(file: usize, span: std::ops::Range<usize>, what: String) -> Diagnostic {
    Diagnostic::error("L042", Label::new(file, span, "disagrees with the request"), what)
        .with_hint("an account file records what its requests asked for: make them agree (regenerate with `loket new`)")
}

fn same_address(a: &str, b: &str) -> bool {
    a == b || a.eq_ignore_ascii_case(b) || a.to_lowercase() == b.to_lowercase()
}

fn mail_consistent(cx: &Context, a: &Loaded<MailAccount>, out: &mut Vec<Diagnostic>) {
    let acc = &a.value;
    let addr = acc.address.get_ref();
    let mut deactivated = false;
    for (i, t) in acc.tickets.iter().enumerate() {
        let Some(r) = request(cx, t.get_ref()) else {
            continue;
        }; // L041
        let kind = r.value.kind();
        if !kind.is_mail() {
            out.push(mismatch(
                a.file,
                t.span(),
                format!("{} is a {kind} request, not a mail request", t.get_ref()),
            ));
            continue;
        }
        if i == 0 && kind != RequestKind::MailCreate {
            out.push(mismatch(
                a.file,
                t.span(),
                format!("the first ticket must be the mail-create that made the account; {} is a {kind}", t.get_ref()),
            ));
        }
        deactivated |= kind == RequestKind::MailDeactivate;
        if let Some(raddr) = r.value.mail_address()
            && !same_address(raddr.get_ref(), addr)
        {
            out.push(
                mismatch(
                    a.file,
                    t.span(),
                    format!(
                        "{} asks about {}, but this account is {addr}",
                        t.get_ref(),
                        raddr.get_ref()
                    ),
                )
                .with_label(Label::new(
                    r.file,
                    raddr.span(),
                    "the request's address",
                )),
            );
        }
    }
    // An imported account came in with the status its source had (L046): only a
    // deactivation since then decides it.
    let imported_disabled = acc.imported.is_some() && !deactivated;
    if deactivated == acc.is_active() && !imported_disabled {
        let want = if deactivated { "disabled" } else { "active" };
        out.push(mismatch(
            a.file,
            acc.status.span(),
            format!(
                "status should be \"{want}\": the account {} a mail-deactivate request",
                if deactivated { "lists" } else { "lists no" }
            ),
        ));
    }
}

fn server_consistent(cx: &Context, a: &Loaded<ServerAccount>, out: &mut Vec<Diagnostic>) {
    let acc = &a.value;
    for t in &acc.tickets {
        let Some(r) = request(cx, t.get_ref()) else {
            continue;
        };
        let Some(s) = r
            .value
            .server
            .as_ref()
            .filter(|_| !r.value.kind().is_mail())
        else {
            out.push(mismatch(
                a.file,
                t.span(),
                format!(
                    "{} is a {} request, not a server request",
                    t.get_ref(),
                    r.value.kind()
                ),
            ));
            continue;
        };
        let s = s.get_ref();
        if s.name.get_ref() != acc.server.get_ref() || s.account.get_ref() != acc.login.get_ref() {
            out.push(
                mismatch(
                    a.file,
                    t.span(),
                    format!(
                        "{} is about {}@{}, not {}@{}",
                        t.get_ref(),
                        s.account.get_ref(),
                        s.name.get_ref(),
                        acc.login.get_ref(),
                        acc.server.get_ref()
                    ),
                )
                .with_label(Label::new(
                    r.file,
                    s.account.span(),
                    "the request's account",
                )),
            );
        }
    }
    for k in &acc.keys {
        if !acc
            .tickets
            .iter()
            .any(|t| t.get_ref() == k.ticket.get_ref())
        {
            out.push(mismatch(
                a.file,
                k.ticket.span(),
                format!(
                    "{} is not in the account's tickets list",
                    k.ticket.get_ref()
                ),
            ));
        }
        if let Some(r) = request(cx, k.ticket.get_ref()) {
            match r.value.server.as_ref().map(|s| s.get_ref()) {
                Some(s) if r.value.kind() == RequestKind::ServerGrant => {
                    let material = |k: &str| k.split_whitespace().nth(1).map(str::to_string);
                    if let Some(rk) = &s.key
                        && material(rk.get_ref()) != material(k.key.get_ref())
                    {
                        out.push(
                            mismatch(
                                a.file,
                                k.key.span(),
                                format!(
                                    "the key differs from the one {} asked for",
                                    k.ticket.get_ref()
                                ),
                            )
                            .with_label(Label::new(
                                r.file,
                                rk.span(),
                                "the requested key",
                            )),
                        );
                    }
                    if let Some(re) = &s.expires
                        && re.get_ref() != k.expires.get_ref()
                    {
                        out.push(
                            mismatch(
                                a.file,
                                k.expires.span(),
                                format!(
                                    "expiry {} differs from the {} that {} asked for",
                                    k.expires.get_ref(),
                                    re.get_ref(),
                                    k.ticket.get_ref()
                                ),
                            )
                            .with_label(Label::new(
                                r.file,
                                re.span(),
                                "the requested expiry",
                            )),
                        );
                    }
                }
                _ => out.push(mismatch(
                    a.file,
                    k.ticket.span(),
                    format!("{} is not a server-grant request", k.ticket.get_ref()),
                )),
            }
        }
        let revoked = *k.status.get_ref() == KeyStatus::Revoked;
        match &k.revoked_by {
            None if revoked => out.push(mismatch(
                a.file,
                k.status.span(),
                "a revoked key must name the server-revoke ticket: add `revoked-by = \"KDS-…\"`"
                    .into(),
            )),
            Some(b) if !revoked => out.push(mismatch(
                a.file,
                k.status.span(),
                format!(
                    "the key is revoked by {} but its status is \"active\"",
                    b.get_ref()
                ),
            )),
            Some(b) => {
                if let Some(r) = request(cx, b.get_ref()) {
                    let grant = r
                        .value
                        .server
                        .as_ref()
                        .and_then(|s| s.get_ref().grant.as_ref());
                    if r.value.kind() != RequestKind::ServerRevoke
                        || grant.is_none_or(|g| g.get_ref() != k.ticket.get_ref())
                    {
                        out.push(mismatch(
                            a.file,
                            b.span(),
                            format!(
                                "{} is not a server-revoke of grant {}",
                                b.get_ref(),
                                k.ticket.get_ref()
                            ),
                        ));
                    }
                }
            }
            None => {}
        }
    }
}

#[cfg(test)]
mod tests;
