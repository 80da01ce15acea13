//! Inline SVG bar charts for the statistics pages (issue 13, item 6): per row (a
//! month, or an SOP step) a bar for the median and one for the 90th percentile, and
//! a mark at the standard time. Only geometry is computed here; `chart.html` draws
//! it. No JavaScript; the tables stay beside the charts for screen readers, so the
//! charts are hidden from them.

use serde::Serialize;

use super::stats::{Group, Timing};
use super::text::{self, Lang};

/// Total width of the drawing, in SVG user units.
const WIDTH: u32 = 640;
/// Where the bars start: the row labels sit left of it.
const LABEL_W: u32 = 200;
/// Room right of the longest bar for its figure.
const FIGURE_W: u32 = 90;
const ROW_H: u32 = 34;
const TOP: u32 = 8;
/// Height of the legend under the rows.
const LEGEND_H: u32 = 30;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Chart {
    pub width: u32,
    pub height: u32,
    pub label_w: u32,
    pub rows: Vec<Row>,
    pub legend_y: u32,
    /// What the full bar width stands for, e.g. "3 jam".
    pub scale_text: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Row {
    pub label: String,
    pub y: u32,
    pub median_w: u32,
    pub p90_w: u32,
    pub median_text: String,
    pub p90_text: String,
    /// Where the standard falls, when the row has one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub standard_x: Option<u32>,
}

/// The chart of `rows` (label, timing); `None` when there is nothing to draw.
pub fn chart<'a>(
    lang: Lang,
    rows: impl IntoIterator<Item = (String, &'a Timing)>,
) -> Option<Chart> {
    let rows: Vec<(String, &Timing)> = rows.into_iter().collect();
    if rows.is_empty() {
        return None;
    }
    let max = rows
        .iter()
        .map(|(_, t)| {
            t.p90_minutes
                .max(t.median_minutes)
                .max(t.standard_minutes.map_or(0, i64::from))
        })
        .max()
        .unwrap_or(0)
        .max(1);
    let span = WIDTH - LABEL_W - FIGURE_W;
    // Whole units, rounded; a value above zero gets at least one unit to be seen.
    let scale = |m: i64| -> u32 {
        let w = (m.max(0) as u128 * u128::from(span) + max as u128 / 2) / max as u128;
        let w = u32::try_from(w).unwrap_or(span).min(span);
        if m > 0 { w.max(1) } else { w }
    };
    let out: Vec<Row> = rows
        .iter()
        .enumerate()
        .map(|(i, (label, t))| Row {
            label: label.clone(),
            y: TOP + ROW_H * i as u32,
            median_w: scale(t.median_minutes),
            p90_w: scale(t.p90_minutes),
            median_text: t.median_text.clone(),
            p90_text: t.p90_text.clone(),
            standard_x: t.standard_minutes.map(|s| LABEL_W + scale(i64::from(s))),
        })
        .collect();
    let legend_y = TOP + ROW_H * out.len() as u32 + 8;
    Some(Chart {
        width: WIDTH,
        height: legend_y + LEGEND_H,
        label_w: LABEL_W,
        rows: out,
        legend_y,
        scale_text: text::duration(lang, max),
    })
}

/// The charts of one request kind's groups (months, most recent first): the total
/// per month, and per month its steps.
pub fn of_kind(lang: Lang, groups: &[&Group]) -> (Option<Chart>, Vec<Option<Chart>>) {
    let totals = groups
        .iter()
        .filter_map(|g| Some((g.month_label.clone(), g.total.as_ref()?)));
    let steps = groups
        .iter()
        .map(|g| {
            chart(
                lang,
                g.steps.iter().map(|s| {
                    let label = match s.no {
                        Some(no) => format!("{no}. {}", s.role),
                        None => s.role.clone(),
                    };
                    (label, s)
                }),
            )
        })
        .collect();
    (chart(lang, totals), steps)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn timing(median: i64, p90: i64, standard: Option<u32>) -> Timing {
        Timing {
            step: "total".into(),
            no: None,
            role: String::new(),
            count: 3,
            median_minutes: median,
            p90_minutes: p90,
            median_text: format!("{median} menit"),
            p90_text: format!("{p90} menit"),
            standard_minutes: standard,
            standard_text: None,
            within_percent: None,
        }
    }

    #[test]
    fn bars_scale_to_the_largest_value_and_the_standard_is_marked() {
        let (a, b) = (timing(30, 60, Some(120)), timing(240, 350, Some(120)));
        let c = chart(Lang::Id, [("Sep".to_string(), &a), ("Okt".to_string(), &b)]).unwrap();
        let span = WIDTH - LABEL_W - FIGURE_W;
        assert_eq!(c.rows[1].p90_w, span, "the largest value fills the span");
        assert_eq!(c.rows[0].p90_w, (60 * span + 175) / 350);
        assert_eq!(
            c.rows[0].standard_x,
            Some(LABEL_W + (120 * span + 175) / 350)
        );
        assert!(c.rows[0].median_w < c.rows[0].p90_w);
        assert_eq!(c.rows[1].y - c.rows[0].y, ROW_H);
        assert_eq!(c.height, c.legend_y + LEGEND_H);
        // A tiny but non-zero time still shows; nothing to draw, no chart.
        let tiny = timing(0, 1, None);
        let c = chart(Lang::Id, [("x".to_string(), &tiny), ("y".to_string(), &b)]).unwrap();
        assert_eq!((c.rows[0].median_w, c.rows[0].p90_w), (0, 1));
        assert_eq!(c.rows[0].standard_x, None);
        assert!(chart(Lang::Id, std::iter::empty()).is_none());
    }
}
