//! L001–L002: files that do not parse.

use super::{Context, Rule};
use crate::diag::{Diagnostic, Label};
use crate::model::FailureKind;

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
    use crate::check::testutil::*;

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
