//! The statistics pages draw median and p90 against the standard as inline SVG
//! (issue 13, item 6), with no script, beside the tables they summarise: one bar
//! pair per table row with a figure, the standard marked. The first chart matches
//! its reviewed snapshot.
mod common;
mod site;

/// Every `<figure class="chart">…</figure>` of a page.
fn charts(html: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = html;
    while let Some(a) = rest.find("<figure class=\"chart\">") {
        let b = rest[a..].find("</figure>").unwrap() + a + "</figure>".len();
        out.push(&rest[a..b]);
        rest = &rest[b..];
    }
    out
}

fn count(svg: &str, class: &str) -> usize {
    let doc = roxmltree::Document::parse(svg).unwrap();
    doc.descendants()
        .filter(|n| n.attribute("class") == Some(class))
        .count()
}

#[test]
fn statistics_pages_chart_median_and_p90_against_the_standard() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("public");
    site::build(&common::repo_root(), &out, None);
    let read = |p: &str| std::fs::read_to_string(out.join(p)).unwrap();
    let stats = read("statistik/index.html");
    let found = charts(&stats);
    assert!(!found.is_empty(), "no chart on the statistics page");
    assert!(!stats.contains("<script"), "charts need no JavaScript");
    // The first kind's chart has a bar pair per month row of its table with a median
    // (the legend adds one of each), and marks the standard on each.
    let section_end = stats.find("</section>").unwrap();
    let first = &stats[..section_end];
    let rows = first.matches("<tr><th scope=\"row\">").count()
        - first.matches("<td>–</td><td>–</td><td>–</td></tr>").count();
    let svg = found[0];
    assert!(
        svg.contains("aria-hidden=\"true\""),
        "the table speaks for it"
    );
    let figure = roxmltree::Document::parse(svg).unwrap();
    assert_eq!(figure.root_element().tag_name().name(), "figure");
    assert_eq!(count(svg, "bar-median"), rows + 1);
    assert_eq!(count(svg, "bar-p90"), rows + 1);
    assert_eq!(count(svg, "mark-standard"), rows + 1);
    // Per step, on each kind's page: a chart per month.
    let kind = read("statistik/mail-create/index.html");
    let months = kind.matches("<section aria-labelledby=\"m-").count();
    assert_eq!(charts(&kind).len(), months);

    let snapshot = common::repo_root().join("tests/snapshots/site_chart.html");
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::write(&snapshot, svg).unwrap();
    }
    let expected = std::fs::read_to_string(&snapshot)
        .expect("no snapshot yet: run with UPDATE_SNAPSHOTS=1 and review it");
    assert!(svg == expected, "the chart changed; review:\n{svg}");
}
