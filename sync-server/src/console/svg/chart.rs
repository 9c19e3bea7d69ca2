//! Horizontal bar charts for the evaluation: counts (intake by channel, by category) scaled
//! to the largest bar, and rates (closure, on time) on a fixed 0–100 % scale.
//!
//! Why horizontal bars and nothing fancier: the labels are Chinese names of channels,
//! categories and units, long and of any number; rows of bars read them as they are, sort
//! naturally (the ranking is the order), and carry the exact number at the end of the bar,
//! so the chart never needs a scale to be read. No script: a bar with a link goes to the
//! cases behind it like any link of the page.
//!
//! Accessibility: the `<svg>` is `role="img"` labelled by its own `<title>`, and every bar
//! has a `<title>` saying its label and value, which screen readers and tooltips show.

use maud::{Markup, html};

use super::{Px, fit_text, text_width};

/// Width of a chart in pixels (the drawing's units; CSS may scale it down).
pub const CHART_WIDTH: f64 = 640.0;
/// Height of one row.
const ROW: f64 = 24.0;
/// Thickness of a bar.
const BAR: f64 = 16.0;
/// Space above the first and below the last row.
const MARGIN: f64 = 6.0;
/// Font size of labels and values.
const FONT: f64 = 12.0;
/// Room kept at the right of the longest bar for its value.
const VALUE_ROOM: f64 = 72.0;
/// The label column is at least this wide...
const MIN_LABEL: f64 = 48.0;
/// ...and at most this share of the chart; longer labels are cut with `…` (whole in the
/// bar's `<title>`).
const MAX_LABEL_SHARE: f64 = 0.4;
/// Colour of bars.
const BAR_COLOUR: &str = "#2563eb";

/// One bar.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar<'a> {
    /// What it counts: a channel, a category, a unit.
    pub label: &'a str,
    /// Its length: a count, or a percentage in a [`percent_chart`].
    pub value: f64,
    /// The number written at its end, as the page formats it (`1,234`, `99.7%`, `—`).
    pub value_text: String,
    /// Where a click on it goes: the cases behind the number.
    pub href: Option<String>,
}

impl<'a> Bar<'a> {
    /// A bar of a count.
    pub fn count(label: &'a str, count: u64, href: Option<String>) -> Self {
        Bar {
            label,
            value: count as f64,
            value_text: count.to_string(),
            href,
        }
    }

    /// A bar of a rate given as a ratio (`0.997`), written as a percentage with one
    /// decimal (`99.7%`); a missing rate (nothing judged) is an empty bar reading
    /// `no_rate`.
    pub fn rate(label: &'a str, rate: Option<f64>, no_rate: &str, href: Option<String>) -> Self {
        match rate {
            Some(r) => Bar {
                label,
                value: r * 100.0,
                value_text: percent_text(r),
                href,
            },
            None => Bar {
                label,
                value: 0.0,
                value_text: no_rate.to_owned(),
                href,
            },
        }
    }
}

/// A ratio as a percentage with one decimal: `0.9970` → `99.7%`.
pub fn percent_text(ratio: f64) -> String {
    format!("{:.1}%", ratio * 100.0)
}

/// A chart of counts: bars scaled to the largest one.
///
/// Renders `<svg class="bar-chart" id=…>`; each bar is a `<g class="bar" data-label=…
/// data-value=…>`, inside an `<a href=…>` when it has one.
pub fn bar_chart(dom_id: &str, title: &str, bars: &[Bar<'_>]) -> Markup {
    let max = bars.iter().map(|b| b.value).fold(0.0, f64::max);
    render(dom_id, title, bars, max, "bar-chart", &[])
}

/// A chart of percentages: bars on a fixed 0–100 % scale (values outside are clamped),
/// with guide lines at 50 % and 100 %, so two rates compare at a glance and across
/// charts.
///
/// Renders `<svg class="bar-chart percent-chart" id=…>`, bars as in [`bar_chart`].
pub fn percent_chart(dom_id: &str, title: &str, bars: &[Bar<'_>]) -> Markup {
    render(
        dom_id,
        title,
        bars,
        100.0,
        "bar-chart percent-chart",
        &[50.0, 100.0],
    )
}

fn render(
    dom_id: &str,
    title: &str,
    bars: &[Bar<'_>],
    max: f64,
    class: &str,
    guides: &[f64],
) -> Markup {
    let widest = bars
        .iter()
        .map(|b| text_width(b.label, FONT))
        .fold(0.0, f64::max);
    let label_w = (widest + 10.0).clamp(MIN_LABEL, CHART_WIDTH * MAX_LABEL_SHARE);
    let area = CHART_WIDTH - label_w - VALUE_ROOM;
    let length = |value: f64| {
        if max > 0.0 && value > 0.0 {
            // At least a pixel, so a small non-zero count is seen as non-zero.
            (value.min(max) / max * area).max(1.0)
        } else {
            0.0
        }
    };
    let height = MARGIN * 2.0 + ROW * bars.len().max(1) as f64;
    let title_id = format!("{dom_id}-title");
    html! {
        svg xmlns="http://www.w3.org/2000/svg" id=(dom_id) class=(class)
            viewBox={ "0 0 " (CHART_WIDTH) " " (Px(height)) }
            width=(CHART_WIDTH) height=(Px(height))
            role="img" aria-labelledby=(title_id) font-size=(FONT) {
            title id=(title_id) { (title) }
            @for guide in guides {
                line x1=(Px(label_w + length(*guide))) x2=(Px(label_w + length(*guide)))
                    y1="0" y2=(Px(height)) stroke="#cbd5e1" stroke-dasharray="3 3" {}
            }
            @for (i, bar) in bars.iter().enumerate() {
                @let top = MARGIN + ROW * i as f64;
                @let row = html! {
                    g class="bar" data-label=(bar.label) data-value=(bar.value) {
                        title { (bar.label) ": " (bar.value_text) }
                        text x=(Px(label_w - 6.0)) y=(Px(top + ROW / 2.0 + FONT / 3.0))
                            text-anchor="end" fill="#0f172a" {
                            (fit_text(bar.label, label_w - 10.0, FONT))
                        }
                        rect x=(Px(label_w)) y=(Px(top + (ROW - BAR) / 2.0))
                            width=(Px(length(bar.value))) height=(BAR) fill=(BAR_COLOUR) {}
                        text x=(Px(label_w + length(bar.value) + 4.0))
                            y=(Px(top + ROW / 2.0 + FONT / 3.0)) fill="#0f172a" {
                            (bar.value_text)
                        }
                    }
                };
                @if let Some(href) = &bar.href {
                    a href=(href) { (row) }
                } @else {
                    (row)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The numeric value of `name="…"` after `from` in `svg`.
    fn number_after(svg: &str, from: &str, name: &str) -> f64 {
        let at = svg
            .find(from)
            .unwrap_or_else(|| panic!("no {from} in {svg}"));
        let rest = &svg[at..];
        let start = rest
            .find(&format!(" {name}=\""))
            .map(|i| i + name.len() + 3);
        let value = start.and_then(|s| rest[s..].split('"').next());
        match value.and_then(|v| v.parse().ok()) {
            Some(v) => v,
            None => panic!("no numeric {name} after {from}"),
        }
    }

    #[test]
    fn counts_scale_to_the_largest_and_link_to_their_cases() {
        let bars = [
            Bar::count(
                "网格巡查",
                400,
                Some("/console/queues/all?channel=patrol".into()),
            ),
            Bar::count("12345热线", 100, None),
            Bar::count("微信", 0, None),
        ];
        let svg = bar_chart("by-channel", "按来源受理", &bars).into_string();
        assert!(svg.contains("id=\"by-channel\"") && svg.contains("role=\"img\""));
        assert!(svg.contains("aria-labelledby=\"by-channel-title\""));
        assert!(svg.contains("<title id=\"by-channel-title\">按来源受理</title>"));
        assert!(svg.contains("<a href=\"/console/queues/all?channel=patrol\"><g class=\"bar\" data-label=\"网格巡查\" data-value=\"400\">"));
        assert!(svg.contains("<title>12345热线: 100</title>"));
        assert!(svg.contains(">400</text>") && svg.contains(">100</text>"));
        let big = number_after(&svg, "data-label=\"网格巡查\"", "width");
        let small = number_after(&svg, "data-label=\"12345热线\"", "width");
        let none = number_after(&svg, "data-label=\"微信\"", "width");
        assert!((big / small - 4.0).abs() < 0.05, "{big} {small}");
        assert_eq!(none, 0.0);
        // Only the linked bar is a link.
        assert_eq!(svg.matches("<a ").count(), 1);
        crate::console::svg::assert_closed(&svg);
    }

    #[test]
    fn percentages_use_a_fixed_scale_and_say_when_there_is_no_rate() {
        let bars = [
            Bar::rate("城管中队", Some(0.5), "—", None),
            Bar::rate("市政所", Some(1.0), "—", None),
            Bar::rate("物业", None, "—", None),
        ];
        let svg = percent_chart("on-time", "按时办结率", &bars).into_string();
        assert!(svg.contains("class=\"bar-chart percent-chart\""));
        assert!(svg.contains(">50.0%</text>") && svg.contains(">100.0%</text>"));
        assert!(svg.contains("<title>物业: —</title>"));
        let half = number_after(&svg, "data-label=\"城管中队\"", "width");
        let full = number_after(&svg, "data-label=\"市政所\"", "width");
        assert!((full / half - 2.0).abs() < 0.01);
        // The same 50 % is the same length in a chart whose best is lower: fixed scale.
        let other =
            percent_chart("x", "x", &[Bar::rate("城管中队", Some(0.5), "—", None)]).into_string();
        assert_eq!(
            number_after(&other, "data-label=\"城管中队\"", "width"),
            half
        );
        assert_eq!(svg.matches("<line").count(), 2);
        crate::console::svg::assert_closed(&svg);
        assert_eq!(percent_text(0.997), "99.7%");
    }

    #[test]
    fn long_labels_are_cut_and_whole_in_the_title() {
        let long = "斜土路街道城市管理综合执法中队第一分队（夜间巡查）";
        let svg = bar_chart("c", "t", &[Bar::count(long, 3, None)]).into_string();
        assert!(svg.contains('…'));
        assert!(svg.contains(&format!("<title>{long}: 3</title>")));
        assert!(svg.contains(&format!("data-label=\"{long}\"")));
    }

    #[test]
    fn an_empty_chart_is_still_a_chart() {
        let svg = bar_chart("empty", "无数据", &[]).into_string();
        assert!(
            svg.starts_with("<svg") && svg.contains("<title id=\"empty-title\">无数据</title>")
        );
        assert!(!svg.contains("class=\"bar\""));
    }

    #[test]
    fn text_is_escaped() {
        let bars = [Bar {
            label: "<script>alert(1)</script>",
            value: 1.0,
            value_text: "<b>1</b>".into(),
            href: Some("/x?a=1&b=\"2\"".into()),
        }];
        let svg = bar_chart("c", "<script>alert(2)</script>", &bars).into_string();
        assert!(!svg.contains("<script>") && !svg.contains("<b>"), "{svg}");
        assert!(svg.contains("href=\"/x?a=1&amp;b=&quot;2&quot;\""));
    }
}
