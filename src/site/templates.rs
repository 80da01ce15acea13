//! The template set: minijinja templates embedded in the binary (HTML autoescaped,
//! `/` left alone), an instance's own `templates/NAME.html` taking precedence, and the
//! site's static assets.

use std::path::Path;

use minijinja::{Environment, Value};
use serde::Serialize;

use super::SiteError;

/// The embedded default templates, by name.
pub const EMBEDDED: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    (
        "lookup_form.html",
        include_str!("../../templates/lookup_form.html"),
    ),
    ("home.html", include_str!("../../templates/home.html")),
    ("ticket.html", include_str!("../../templates/ticket.html")),
    ("stats.html", include_str!("../../templates/stats.html")),
    (
        "stats_kind.html",
        include_str!("../../templates/stats_kind.html"),
    ),
    ("sop.html", include_str!("../../templates/sop.html")),
    ("cari.html", include_str!("../../templates/cari.html")),
    ("404.html", include_str!("../../templates/404.html")),
    ("surat.html", include_str!("../../templates/surat.html")),
    ("letter.html", include_str!("../../templates/letter.html")),
    ("atom.xml", include_str!("../../templates/atom.xml")),
    ("chart.html", include_str!("../../templates/chart.html")),
];
pub const STYLE: &str = include_str!("../../site/style.css");
pub const SCRIPT: &str = include_str!("../../site/loket.js");
pub const LETTER_STYLE: &str = include_str!("../../site/letter.css");

/// The template set: embedded defaults, possibly overridden by an instance.
pub struct Templates {
    env: Environment<'static>,
    /// Name and text of every template in use, for the build fingerprint.
    sources: Vec<(String, String)>,
}

impl Templates {
    /// The embedded templates only.
    pub fn embedded() -> Templates {
        let mut env = Environment::new();
        if let Ok(syntax) = minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()
        {
            env.set_syntax(syntax);
        }
        env.set_formatter(html_formatter);
        // A misspelt key fails the build instead of printing nothing.
        env.set_undefined_behavior(minijinja::UndefinedBehavior::SemiStrict);
        for (name, src) in EMBEDDED {
            // Embedded templates are tested to compile; see `embedded_templates_compile`.
            env.add_template(name, src)
                .unwrap_or_else(|e| panic!("embedded template {name}: {e}"));
        }
        Templates {
            env,
            sources: EMBEDDED
                .iter()
                .map(|(n, s)| (n.to_string(), s.to_string()))
                .collect(),
        }
    }

    /// The embedded templates with `root/templates/*.html` taking precedence.
    pub fn for_instance(root: &Path) -> Result<Templates, SiteError> {
        let mut t = Templates::embedded();
        let dir = root.join("templates");
        for (name, _) in EMBEDDED {
            let path = dir.join(name);
            if !path.is_file() {
                continue;
            }
            let src = std::fs::read_to_string(&path).map_err(|source| SiteError::Read {
                path: path.clone(),
                source,
            })?;
            if let Some(slot) = t.sources.iter_mut().find(|(n, _)| n == name) {
                slot.1.clone_from(&src);
            }
            t.env
                .add_template_owned(name.to_string(), src)
                .map_err(|source| SiteError::Template {
                    name: path.display().to_string(),
                    source,
                })?;
        }
        Ok(t)
    }

    /// Name and text of every template in use.
    pub fn sources(&self) -> &[(String, String)] {
        &self.sources
    }

    pub fn render(&self, name: &str, ctx: Value) -> Result<String, SiteError> {
        let err = |source| SiteError::Template {
            name: name.to_string(),
            source,
        };
        self.env
            .get_template(name)
            .map_err(err)?
            .render(ctx)
            .map_err(err)
    }
}

/// Escapes like minijinja's HTML mode but leaves `/` alone: it needs no escaping in
/// text or quoted attributes, and `&#x2f;` in every URL bloats and obscures pages.
fn html_formatter(
    out: &mut minijinja::Output,
    state: &mut minijinja::State,
    value: &Value,
) -> Result<(), minijinja::Error> {
    let html = matches!(state.auto_escape(), minijinja::AutoEscape::Html);
    match value.as_str() {
        Some(s) if html && !value.is_safe() => {
            let io = |_| minijinja::Error::new(minijinja::ErrorKind::WriteFailure, "write");
            let mut last = 0;
            for (i, c) in s.char_indices() {
                let rep = match c {
                    '&' => "&amp;",
                    '<' => "&lt;",
                    '>' => "&gt;",
                    '"' => "&quot;",
                    '\'' => "&#x27;",
                    _ => continue,
                };
                out.write_str(&s[last..i]).map_err(io)?;
                out.write_str(rep).map_err(io)?;
                last = i + 1;
            }
            out.write_str(&s[last..]).map_err(io)
        }
        _ => minijinja::escape_formatter(out, state, value),
    }
}

/// A serializable value as a template value.
pub fn sv<T: Serialize>(v: T) -> Value {
    Value::from(minijinja::value::Serde(v))
}

#[cfg(test)]
mod tests {
    use minijinja::context;

    use super::*;

    #[test]
    fn embedded_templates_compile() {
        let t = Templates::embedded();
        for (name, _) in EMBEDDED {
            assert!(t.env.get_template(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn values_are_html_escaped_but_slashes_kept() {
        let t = Templates::embedded();
        let html = t
            .env
            .render_named_str(
                "x.html",
                "<p title=\"{{ v }}\">{{ v }}</p>",
                context! { v => "<script>alert('x')</script> & \"/a/b\"" },
            )
            .unwrap();
        assert_eq!(
            html,
            "<p title=\"&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;/a/b&quot;\">\
             &lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &quot;/a/b&quot;</p>"
        );
    }
}
