//! L000–L002: files that cannot be read (not regular files) or do not parse.

use super::{Context, Rule};
use crate::diag::{Diagnostic, Label};
use crate::model::FailureKind;

pub const REGULAR_FILE: Rule = Rule {
    code: "L000",
    name: "regular-file",
    summary: "everything loket reads is a regular file inside the instance: no symlink, FIFO, socket or device, no symlinked folder",
    run: regular_file,
};

pub const TOML_SYNTAX: Rule = Rule {
    code: "L001",
    name: "toml-syntax",
    summary: "the file is valid TOML",
    run: toml_syntax,
};

pub const SCHEMA: Rule = Rule {
    code: "L002",
    name: "schema",
    summary: "the file has the documented keys and types: no unknown keys, none missing",
    run: schema,
};

fn regular_file(cx: &Context, out: &mut Vec<Diagnostic>) {
    report(
        cx,
        out,
        FailureKind::NotRegular,
        "L000",
        "commit the file itself, not a link to it; loket read nothing from it",
    );
}

fn toml_syntax(cx: &Context, out: &mut Vec<Diagnostic>) {
    report(
        cx,
        out,
        FailureKind::Syntax,
        "L001",
        "fix the TOML syntax at this point",
    );
}

fn schema(cx: &Context, out: &mut Vec<Diagnostic>) {
    report(
        cx,
        out,
        FailureKind::Schema,
        "L002",
        "keys are kebab-case; see the schema reference in docs/schema.md",
    );
}

fn report(
    cx: &Context,
    out: &mut Vec<Diagnostic>,
    kind: FailureKind,
    code: &'static str,
    hint: &str,
) {
    for f in cx.inst.failures.iter().filter(|f| f.kind == kind) {
        out.push(
            Diagnostic::error(
                code,
                Label::new(f.file, f.span.clone(), ""),
                f.message.clone(),
            )
            .with_hint(hint),
        );
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use crate::check::testutil::*;

    #[test]
    fn l000_fires_on_links_fifos_and_linked_folders_and_reads_none() {
        let mut fx = Fixture::kudus();
        fx.mail_create("budi");
        fx.mail_create("siti");
        let account = "accounts/mail/siti@kuduskab.go.id.toml";
        let text = fx.files.remove(account).unwrap();
        fx.write("elsewhere/siti.toml", &text);
        fx.node(account, Node::Link("../../elsewhere/siti.toml".into()));
        fx.node("requests/KDS-FIFO0-FIFO0.toml", Node::Fifo);
        fx.node("requests/README", Node::Link("/proc/self/environ".into()));
        fx.assert_fires("L000", account, 1);
        fx.assert_fires("L000", "requests/KDS-FIFO0-FIFO0.toml", 1);
        let d = fx.assert_fires("L000", "requests/README", 1);
        assert!(d.message.contains("symbolic link"), "{}", d.message);
        let (inst, report) = fx.check();
        // Refused, not followed: siti's request now names an account no file holds.
        assert_eq!(inst.mail_accounts.len(), 1);
        assert!(!report.is_clean());
        // Not also misplaced (L003): one diagnostic for what the node is.
        assert!(!report.diagnostics.iter().any(|d| d.code == "L003"));

        // A linked folder and a linked loket.toml.
        let mut fx = Fixture::kudus();
        fx.mail_create("budi");
        let mail: Vec<_> = fx
            .files
            .keys()
            .filter(|p| p.starts_with("accounts/mail/"))
            .cloned()
            .collect();
        for p in mail {
            let text = fx.files.remove(&p).unwrap();
            fx.write(&p.replace("accounts/mail/", "elsewhere/"), &text);
        }
        fx.node("accounts/mail", Node::Link("../elsewhere".into()));
        let config = fx.files.remove("loket.toml").unwrap();
        fx.write("elsewhere/loket.toml", &config);
        fx.node("loket.toml", Node::Link("elsewhere/loket.toml".into()));
        fx.assert_fires("L000", "accounts/mail", 1);
        fx.assert_fires("L000", "loket.toml", 1);
        let (inst, _) = fx.check();
        assert!(inst.config.is_none() && inst.mail_accounts.is_empty());
        for (_, f) in inst.sources.iter() {
            if f.path.starts_with("accounts/mail") || f.path == Path::new("loket.toml") {
                assert_eq!(&*f.text, "", "nothing read from {}", f.path.display());
            }
        }
    }

    #[test]
    fn l001_fires_on_broken_toml() {
        let mut fx = Fixture::kudus();
        fx.write("requests/broken.toml", "ticket = \"KDS\nkind = 1\n");
        fx.assert_fires("L001", "requests/broken.toml", 1);
    }

    #[test]
    fn l002_fires_on_unknown_key_and_missing_field() {
        let mut fx = Fixture::kudus();
        let t = fx.mail_create("budi.santoso");
        fx.edit(&format!("requests/{t}.toml"), |s| {
            s.replace("[applicant]", "colour = \"red\"\n[applicant]")
        });
        fx.assert_fires("L002", &format!("requests/{t}.toml"), 0);
        let mut fx = Fixture::kudus();
        let t = fx.mail_create("budi.santoso");
        fx.edit(&format!("requests/{t}.toml"), |s| {
            s.replace("position = ", "jabatan = ")
        });
        let d = fx.assert_fires("L002", &format!("requests/{t}.toml"), 0);
        assert!(
            d.message.contains("position") || d.message.contains("jabatan"),
            "{}",
            d.message
        );
    }
}
