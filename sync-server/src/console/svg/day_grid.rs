//! A grid of days: one row per thing (a workstation), one small square per day, coloured
//! by how that day stood — the zero-report board's history.
//!
//! Why a grid of squares: the question the centre asks of a period is "who keeps missing,
//! and when", which a row of red squares answers at a glance for 18 workstations and a
//! month or a quarter, where a table of 540 words would not. Each square has a `<title>`
//! (tooltip and screen readers) and a `data-state`, so the exact state stays readable.

use chrono::{Datelike, NaiveDate};
use maud::{Markup, html};

use super::{Px, fit_text, text_width};

/// Side of a day's square.
const CELL: f64 = 12.0;
/// Space between squares.
const GAP: f64 = 2.0;
/// Font size of labels.
const FONT: f64 = 12.0;
/// Height of the row of day numbers above the grid.
const HEADER: f64 = 16.0;
/// The widest the label column gets; longer labels are cut with `…`.
const MAX_LABEL: f64 = 200.0;

/// One day of a row.
#[derive(Debug, Clone, PartialEq)]
pub struct DayCell {
    /// Its colour.
    pub colour: &'static str,
    /// Its state's machine name, written as `data-state`.
    pub state: &'static str,
    /// Its tooltip: the day and what it was.
    pub title: String,
}

/// One row: a label (linked when `href` is given) and one cell per day of the grid.
#[derive(Debug, Clone, PartialEq)]
pub struct DayRow<'a> {
    /// What the row is (a workstation's name).
    pub label: &'a str,
    /// Its machine id, written as `data-row`.
    pub id: &'a str,
    /// Where its label links to (its own history).
    pub href: Option<String>,
    /// One cell per day of the grid, in the days' order.
    pub cells: Vec<DayCell>,
}

/// A grid of `days` (columns, oldest first) by `rows`.
///
/// Renders `<svg class="day-grid" id=…>` labelled by its `<title>`; a row is a
/// `<g class="day-row" data-row=…>`, a day a `<rect data-day=… data-state=…>` with a
/// `<title>`. The day of the month heads every column (every 7th when there are more
/// than 31).
pub fn day_grid(dom_id: &str, title: &str, days: &[NaiveDate], rows: &[DayRow<'_>]) -> Markup {
    let widest = rows
        .iter()
        .map(|r| text_width(r.label, FONT))
        .fold(0.0, f64::max);
    let label_w = (widest + 10.0).min(MAX_LABEL);
    let width = label_w + days.len() as f64 * (CELL + GAP) + GAP;
    let height = HEADER + rows.len().max(1) as f64 * (CELL + GAP) + GAP;
    let every = if days.len() > 31 { 7 } else { 1 };
    let x_of = |i: usize| label_w + GAP + i as f64 * (CELL + GAP);
    let title_id = format!("{dom_id}-title");
    html! {
        svg xmlns="http://www.w3.org/2000/svg" id=(dom_id) class="day-grid"
            viewBox={ "0 0 " (Px(width)) " " (Px(height)) }
            width=(Px(width)) height=(Px(height))
            role="img" aria-labelledby=(title_id) font-size=(FONT) {
            title id=(title_id) { (title) }
            g class="days" fill="#5b6775" font-size="9" text-anchor="middle" {
                @for (i, day) in days.iter().enumerate() {
                    @if i % every == 0 {
                        text x=(Px(x_of(i) + CELL / 2.0)) y=(Px(HEADER - 4.0)) { (day.day()) }
                    }
                }
            }
            @for (r, row) in rows.iter().enumerate() {
                @let top = HEADER + GAP + r as f64 * (CELL + GAP);
                g class="day-row" data-row=(row.id) {
                    @let label = html! {
                        text x=(Px(label_w - 6.0)) y=(Px(top + CELL - 2.0)) text-anchor="end" fill="#0f172a" {
                            (fit_text(row.label, label_w - 10.0, FONT))
                        }
                    };
                    @if let Some(href) = &row.href {
                        a href=(href) { (label) }
                    } @else {
                        (label)
                    }
                    @for (i, (day, cell)) in days.iter().zip(&row.cells).enumerate() {
                        rect x=(Px(x_of(i))) y=(Px(top)) width=(CELL) height=(CELL) rx="2"
                            fill=(cell.colour) data-day=(day.format("%Y-%m-%d").to_string())
                            data-state=(cell.state) {
                            title { (cell.title) }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_day_is_a_square_with_its_state_and_tooltip() {
        let days: Vec<NaiveDate> = (1..=3)
            .map(|d| NaiveDate::from_ymd_opt(2026, 3, d).unwrap())
            .collect();
        let cell = |state: &'static str, colour: &'static str| DayCell {
            colour,
            state,
            title: format!("<{state}>"),
        };
        let rows = [DayRow {
            label: "斜土居民区工作站",
            id: "XT-W02",
            href: Some("/console/board?workstation=XT-W02".into()),
            cells: vec![
                cell("nothing_to_report", "#16a34a"),
                cell("missing", "#dc2626"),
                cell("pending", "#e5e7eb"),
            ],
        }];
        let svg = day_grid("history", "报送历史", &days, &rows).into_string();
        assert!(svg.contains("<g class=\"day-row\" data-row=\"XT-W02\">"));
        assert!(svg.contains("data-day=\"2026-03-02\" data-state=\"missing\""));
        assert!(svg.contains("<title>&lt;missing&gt;</title>"));
        assert!(svg.contains("<a href=\"/console/board?workstation=XT-W02\">"));
        assert_eq!(svg.matches("<rect ").count(), 3);
        assert!(svg.contains(">1</text>") && svg.contains(">3</text>"));
        crate::console::svg::assert_closed(&svg);
    }

    #[test]
    fn long_periods_number_every_seventh_day() {
        let days: Vec<NaiveDate> = (0..60)
            .map(|d| NaiveDate::from_ymd_opt(2026, 1, 1).unwrap() + chrono::Duration::days(d))
            .collect();
        let svg = day_grid("h", "t", &days, &[]).into_string();
        assert_eq!(svg.matches("</text>").count(), 9);
    }
}
