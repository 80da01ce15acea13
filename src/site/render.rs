//! Rendering: the public model through minijinja templates (HTML autoescaped) into
//! pages and JSON documents, handed one by one to a [`Sink`] so that 100 000
//! tickets never sit in memory at once. Ticket pages render in parallel; every
//! output depends only on the input, so builds are byte-identical.
//!
//! The template set itself lives in [`super::templates`].

use std::sync::atomic::{AtomicUsize, Ordering};

use minijinja::{Value, context};
use rayon::prelude::*;
use serde::Serialize;

use super::charts;
use super::model::Model;
use super::public::{self, PublicTicket};
use super::standard;
use super::stats::{self, Group};
pub use super::templates::{LETTER_STYLE, SCRIPT, STYLE, Templates, sv};
use super::text::{self, Lang};
use super::write::Sink;
use super::{SiteData, SiteError};
use crate::model::config::Config;
use crate::model::record::Snapshot;
use crate::ticket::Ticket;

/// How many months (most recent first) the statistics pages show per kind.
pub const STATS_MONTHS: usize = 12;

/// Office details that are public anyway (letterhead, footer).
#[derive(Serialize)]
struct OfficeView<'a> {
    government: &'a str,
    name: &'a str,
    short_name: &'a str,
    address: &'a str,
    city: &'a str,
    phone: Option<&'a str>,
    email: Option<&'a str>,
    website: Option<&'a str>,
}

#[derive(Serialize)]
struct SopStepView {
    no: Option<u32>,
    role: String,
    text: String,
    standard_text: Option<String>,
    output: Option<String>,
}

#[derive(Serialize)]
struct SopView {
    id: String,
    title: String,
    short: String,
    number: String,
    kinds: Vec<String>,
    standard_text: Option<String>,
    /// The standard total's minutes and which steps it counts ([`standard::of`]).
    #[serde(skip_serializing_if = "Option::is_none")]
    standard_minutes: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    standard_scope: Option<String>,
    steps: Vec<SopStepView>,
}

#[derive(Serialize)]
struct KindStats<'a> {
    kind: &'static str,
    label: &'a str,
    standard_text: Option<&'a str>,
    standard_scope: Option<&'a str>,
    groups: Vec<&'a Group>,
    /// Median and p90 of the total per month, against the standard.
    month_chart: Option<charts::Chart>,
    /// Per group (month), its steps' chart.
    step_charts: Vec<Option<charts::Chart>>,
}

#[derive(Serialize)]
struct IndexEntry<'a> {
    ticket: &'a str,
    kind: Option<crate::model::RequestKind>,
    status: public::Status,
    #[serde(skip_serializing_if = "Option::is_none")]
    updated: Option<&'a str>,
}

/// What a build produced, for the command's summary.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub tickets: usize,
    pub pages: usize,
}

pub fn language(config: &Config) -> Result<Lang, SiteError> {
    Lang::parse(&config.site.language)
        .ok_or_else(|| SiteError::Language(config.site.language.clone()))
}

pub fn office_value(config: &Config) -> Value {
    let o = &config.office;
    sv(OfficeView {
        government: &o.government,
        name: &o.name,
        short_name: &o.short_name,
        address: &o.address,
        city: &o.city,
        phone: o.phone.as_deref(),
        email: o.email.as_deref(),
        website: o.website.as_deref(),
    })
}

fn sop_views(config: &Config, lang: Lang) -> Vec<SopView> {
    config
        .sops
        .iter()
        .map(|(id, sop)| {
            let total = standard::of(sop, lang);
            SopView {
                id: id.clone(),
                title: match lang {
                    Lang::Id => sop.title.clone(),
                    Lang::En => sop.title_en.clone().unwrap_or_else(|| sop.title.clone()),
                },
                short: format!("SOP {id}"),
                number: sop.number.clone(),
                kinds: sop
                    .kinds
                    .iter()
                    .map(|k| {
                        lang.pick(k.get_ref().label_id(), k.get_ref().label_en())
                            .to_string()
                    })
                    .collect(),
                standard_text: total.as_ref().map(|t| t.text.clone()),
                standard_minutes: total.as_ref().map(|t| t.minutes),
                standard_scope: total.map(|t| t.scope),
                steps: sop
                    .steps
                    .iter()
                    .map(|s| SopStepView {
                        no: s.no,
                        role: config
                            .roles
                            .get(s.role.get_ref())
                            .map_or_else(|| s.role.get_ref().clone(), |r| r.title.clone()),
                        text: match lang {
                            Lang::Id => s.text.clone(),
                            Lang::En => s.text_en.clone().unwrap_or_else(|| s.text.clone()),
                        },
                        standard_text: s.minutes.map(|m| text::duration(lang, i64::from(m))),
                        output: s.output.clone(),
                    })
                    .collect(),
            }
        })
        .collect()
}

/// The time the data is as of: the snapshot's, else the latest recorded moment of
/// any record, listed ticket or not.
fn as_of(
    snapshot: Option<&Snapshot>,
    model: &Model,
    lang: Lang,
    tz: crate::model::config::TimeZone,
) -> Option<String> {
    let latest = snapshot
        .and_then(|s| s.taken_at.parse::<jiff::Timestamp>().ok())
        .or_else(|| {
            let listed = model.tickets.iter().filter_map(|t| t.record_latest);
            listed.chain(model.unlisted.iter().map(|(_, ts)| *ts)).max()
        })?;
    Some(text::date_time(lang, latest, tz))
}

/// Relative path from a page at `depth` folders below the root back to the root.
fn root(depth: usize) -> Value {
    // Ours, not input: spare it the escaping of `/`.
    Value::from_safe_string("../".repeat(depth))
}

fn json<T: Serialize>(v: &T) -> Vec<u8> {
    let mut out = serde_json::to_vec_pretty(v).unwrap_or_default();
    out.push(b'\n');
    out
}

/// Renders the site of a [`Model`] into `sink`: the fixed pages, the statistics and
/// the index from every ticket, and the files of each ticket the sink does not keep.
pub fn render_model(
    config: &Config,
    snapshot: Option<&Snapshot>,
    model: &Model,
    templates: &Templates,
    sink: &dyn Sink,
) -> Result<Summary, SiteError> {
    let mut timings = super::timing::Timings::from_env();
    let lang = language(config)?;
    let tz = *config.office.time_zone.get_ref();
    let prefix = config.office.ticket_prefix.get_ref().clone();
    let tickets = &model.tickets;
    for t in tickets {
        // Ticket numbers become paths: only well-formed ones may.
        let ok = Ticket::parse(&t.ticket, Some(&prefix)).is_ok_and(|p| p.to_string() == t.ticket);
        if !ok {
            return Err(SiteError::BadTicket(t.ticket.clone()));
        }
    }
    let sops = sop_views(config, lang);
    let mut site_url = config.site.base_url.clone().unwrap_or_default();
    if !site_url.is_empty() && !site_url.ends_with('/') {
        site_url.push('/');
    }
    let common = sv(context! {
        lang => lang.code(),
        t => text::ui(lang),
        office => office_value(config),
        sops => sv(&sops),
        prefix => prefix,
        site_url => site_url.clone(),
    });
    // Only the pages that show them get these, so a new ticket or record leaves
    // every other page (and its fingerprint) alone.
    let as_of = as_of(snapshot, model, lang, tz);
    let page = |name: &str, depth: usize, extra: Value| -> Result<Vec<u8>, SiteError> {
        let ctx =
            minijinja::value::merge_maps([context! { root => root(depth) }, extra, common.clone()]);
        Ok(templates.render(name, ctx)?.into_bytes())
    };
    let ticket_feed = |t: &PublicTicket| super::feeds::ticket_feed(t, lang, tz, &site_url);
    let pages = AtomicUsize::new(0);
    let put = |path: &str, bytes: Vec<u8>| -> Result<(), SiteError> {
        pages.fetch_add(1, Ordering::Relaxed);
        sink.put(path, &bytes).map(|_| ())
    };
    // Three independent groups of files, each over every ticket or none: at once.
    let fixed = || -> Result<(), SiteError> {
        let home = context! { as_of => as_of.clone(), count => tickets.len() };
        put("index.html", page("home.html", 0, home)?)?;
        put("cari/index.html", page("cari.html", 1, Value::UNDEFINED)?)?;
        // Served for any missing path, so its links must be absolute.
        let abs_root = site_url_path(&site_url);
        let ctx404 =
            context! { root => Value::from_safe_string(abs_root.clone()), ..common.clone() };
        put(
            "404.html",
            templates.render("404.html", ctx404)?.into_bytes(),
        )?;
        put("assets/style.css", STYLE.as_bytes().to_vec())?;
        put("assets/loket.js", SCRIPT.as_bytes().to_vec())?;
        // Hosts that honour Netlify-style rules send the no-JavaScript form to the ticket.
        put(
            "_redirects",
            format!("{abs_root}cari/ t=:t {abs_root}t/:t/ 302\n").into_bytes(),
        )?;

        for sop in &sops {
            let path = format!("sop/{}/index.html", sop.id);
            put(&path, page("sop.html", 2, context! { sop => sv(sop) })?)?;
        }
        put("api/v1/sops.json", json(&sops))?;

        Ok(())
    };
    let statistics = || -> Result<(), SiteError> {
        let groups = stats::compute(tickets, config, lang);
        let mut kinds: Vec<KindStats> = Vec::new();
        for g in &groups {
            match kinds.last_mut() {
                // Pages stay light: the latest months only; the JSON keeps them all.
                Some(k) if k.kind == g.kind.as_str() && k.groups.len() >= STATS_MONTHS => {}
                Some(k) if k.kind == g.kind.as_str() => k.groups.push(g),
                _ => kinds.push(KindStats {
                    kind: g.kind.as_str(),
                    label: &g.kind_label,
                    standard_text: g.standard_text.as_deref(),
                    standard_scope: g.standard_scope.as_deref(),
                    groups: vec![g],
                    month_chart: None,
                    step_charts: Vec::new(),
                }),
            }
        }
        for k in &mut kinds {
            (k.month_chart, k.step_charts) = charts::of_kind(lang, &k.groups);
        }
        put(
            "statistik/index.html",
            page(
                "stats.html",
                1,
                context! { kinds => sv(&kinds), as_of => as_of.clone() },
            )?,
        )?;
        for k in &kinds {
            let path = format!("statistik/{}/index.html", k.kind);
            put(&path, page("stats_kind.html", 2, context! { k => sv(k) })?)?;
        }
        put("api/v1/stats.json", json(&groups))?;
        Ok(())
    };
    let index = || -> Result<(), SiteError> {
        let index: Vec<IndexEntry> = tickets
            .iter()
            .map(|t| IndexEntry {
                ticket: &t.ticket,
                kind: t.kind,
                status: t.status,
                updated: t.updated.as_ref().map(|w| w.at.as_str()),
            })
            .collect();
        // Straight from the entries: through a template value, 100 000 of them cost
        // more than the rest of an incremental build.
        // One line per ticket: 40 % smaller than indented, and as quick to parse.
        let mut bytes = Vec::with_capacity(80 * index.len() + 64);
        bytes.extend_from_slice(b"{\"as_of\":");
        serde_json::to_writer(&mut bytes, &as_of).unwrap_or_default();
        bytes.extend_from_slice(b",\"tickets\":[");
        for (i, e) in index.iter().enumerate() {
            bytes.extend_from_slice(if i == 0 { b"\n" } else { b",\n" });
            serde_json::to_writer(&mut bytes, e).unwrap_or_default();
        }
        bytes.extend_from_slice(b"\n]}\n");
        put("api/v1/index.json", bytes)?;
        for (id, feed) in super::feeds::service_feeds(tickets, config, lang, &site_url) {
            let path = format!("sop/{id}/atom.xml");
            put(&path, page("atom.xml", 2, context! { feed => sv(&feed) })?)?;
        }

        Ok(())
    };
    let ((fixed, statistics), index) = rayon::join(|| rayon::join(fixed, statistics), index);
    fixed?;
    statistics?;
    index?;
    timings.mark("fixed pages, statistics, index");
    tickets
        .par_iter()
        .try_for_each(|t| ticket_files(t, &page, &ticket_feed, sink))?;
    timings.mark("ticket pages and JSON");
    Ok(Summary {
        tickets: tickets.len(),
        pages: pages.into_inner()
            + tickets
                .iter()
                .map(|t| 3 + usize::from(t.has_letter))
                .sum::<usize>(),
    })
}

/// Renders a named template at a folder depth with extra context.
type PageFn<'a> = dyn Fn(&str, usize, Value) -> Result<Vec<u8>, SiteError> + Sync + 'a;

/// A ticket's files: its JSON, its page and, with a letter, the letter's
/// verification page.
pub(super) struct TicketPaths {
    json: String,
    html: String,
    feed: String,
    letter: Option<String>,
}

impl TicketPaths {
    pub(super) fn each(&self) -> Vec<&str> {
        let mut v = vec![self.json.as_str(), self.html.as_str(), self.feed.as_str()];
        v.extend(self.letter.as_deref());
        v
    }
}

pub(super) fn ticket_paths(t: &PublicTicket) -> TicketPaths {
    TicketPaths {
        json: format!("api/v1/tickets/{}.json", t.ticket),
        html: format!("t/{}/index.html", t.ticket),
        feed: format!("t/{}/atom.xml", t.ticket),
        letter: t
            .has_letter
            .then(|| format!("surat/{}/index.html", t.ticket)),
    }
}

fn ticket_files(
    t: &PublicTicket,
    page: &PageFn,
    feed: &dyn Fn(&PublicTicket) -> super::feeds::Feed,
    sink: &dyn Sink,
) -> Result<(), SiteError> {
    if t.partial {
        // Known by its summary only: its files were kept (see `model::keep_unchanged`).
        return Ok(());
    }
    let paths = ticket_paths(t);
    let (json_path, html_path) = (&paths.json, &paths.html);
    // Same inputs, same fingerprint: the files already there are right.
    if sink.unchanged(&t.ticket, &t.key, &paths.each()) {
        return Ok(());
    }
    // The JSON holds every field the page shows; if it is unchanged and the build
    // fingerprint (config, templates, binary) matches, so is the page: skip rendering.
    let same = sink.put(json_path, &json(t))?;
    if !(same && sink.reuse(html_path)?) {
        let html = page("ticket.html", 2, context! { ticket => sv(t) })?;
        sink.put(html_path, &html)?;
    }
    if !(same && sink.reuse(&paths.feed)?) {
        let xml = page("atom.xml", 2, context! { feed => sv(feed(t)) })?;
        sink.put(&paths.feed, &xml)?;
    }
    if let Some(path) = &paths.letter
        && !(same && sink.reuse(path)?)
    {
        let html = page("surat.html", 2, context! { ticket => sv(t) })?;
        sink.put(path, &html)?;
    }
    sink.made_from(&t.ticket, &t.key);
    Ok(())
}

/// What every page depends on besides its own data: the config's text, the
/// templates and assets, and the running binary. Two builds with the same
/// fingerprint render the same public model to the same bytes.
pub fn fingerprint(data: &SiteData, templates: &Templates) -> String {
    let config = data.instance.config_file;
    let text = config.map(|id| data.instance.sources.get(id).text.as_str());
    fingerprint_of(text.unwrap_or_default(), templates)
}

/// [`fingerprint`], from the text of `loket.toml`.
pub fn fingerprint_of(config_text: &str, templates: &Templates) -> String {
    use std::hash::{Hash, Hasher};
    // SipHash with fixed keys: stable for a given binary, which is all a build
    // cache needs (another toolchain's hasher only costs one full render).
    let mut h = std::hash::DefaultHasher::new();
    config_text.hash(&mut h);
    for (name, src) in templates.sources() {
        name.hash(&mut h);
        src.hash(&mut h);
    }
    STYLE.hash(&mut h);
    SCRIPT.hash(&mut h);
    env!("CARGO_PKG_VERSION").hash(&mut h);
    // The binary, in chunks: read whole, its 20 MB cost a tenth of an incremental
    // build in page faults.
    if let Ok(mut exe) = std::env::current_exe().and_then(std::fs::File::open) {
        use std::io::Read;
        let mut buf = vec![0u8; 1 << 16];
        while let Ok(n @ 1..) = exe.read(&mut buf) {
            h.write(&buf[..n]);
        }
    }
    format!("{:016x}", h.finish())
}

/// The path part of the configured base URL (`/` when none), for absolute links.
fn site_url_path(base: &str) -> String {
    let path = base
        .split_once("://")
        .map_or(base, |(_, rest)| rest.find('/').map_or("/", |i| &rest[i..]));
    let mut p = if path.is_empty() {
        "/".to_string()
    } else {
        path.to_string()
    };
    if !p.ends_with('/') {
        p.push('/');
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_url_paths() {
        assert_eq!(site_url_path(""), "/");
        assert_eq!(site_url_path("https://loket.kuduskab.go.id"), "/");
        assert_eq!(site_url_path("https://x.github.io/loket"), "/loket/");
        assert_eq!(site_url_path("https://x.github.io/loket/"), "/loket/");
    }
}
