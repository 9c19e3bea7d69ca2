//! `/console/evaluation`: the evaluation of a period (综合评估) — intake by channel and by
//! category, closure and on-time rates, the units ranked, the cases stuck longest, the
//! time with each holder — as tables and SVG charts, each number a link to the cases
//! behind it, with CSV and GeoJSON exports of the period's cases.
//!
//! The figures are computed exactly as `GET /v1/evaluation` computes them (the same
//! [`Period::parse`] of the same `from` and `to`, the same storage read, the same
//! [`evaluate`]), so what the page shows equals what the API answers; the key numbers
//! carry `data-figure` and `data-value` for a test to compare.
//!
//! A number's link goes to the queue page "all cases" with the filters of `GET /v1/cases`
//! that select the cases behind it: the period's `from`/`to`, plus the channel, category,
//! status or unit. Where the evaluation counts something no list filter expresses
//! exactly (a rate's judged deadlines, a unit's owing assignments), the link goes to the
//! nearest list that holds those cases (the period's cases, the unit's cases).

use axum::extract::State;
use axum::http::Uri;
use chrono::{Datelike, Duration, NaiveDate};
use maud::{Markup, html};
use serde::Deserialize;
use wangge_core::SourceChannel;

use crate::AppState;
use crate::console::format::{span, when};
use crate::console::labels as L;
use crate::console::layout::{Nav, page};
use crate::console::pages::board::street_wide;
use crate::console::pages::filters::{self, cases_link, query};
use crate::console::session::Staff;
use crate::console::svg::chart::{Bar, bar_chart, percent_chart, percent_text};
use crate::error::ApiError;
use crate::office::evaluation::{Evaluation, OnTime, evaluate};
use crate::office::period::{self, Period};
use crate::routes::blocking;

/// Stuck cases listed (the API's default).
pub const STUCK_LISTED: usize = 20;

/// Query of `/console/evaluation`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvaluationQuery {
    /// First day (default: the first of this month, China time).
    pub from: Option<String>,
    /// Last day, included whole (default: today).
    pub to: Option<String>,
}

fn day_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

/// The first day of `day`'s month.
fn month_start(day: NaiveDate) -> NaiveDate {
    day.with_day(1).unwrap_or(day)
}

/// The presets of the period picker on `today`: this month, last month, this quarter, as
/// `(id, label, from, to)`; "this" periods end today.
pub fn presets(today: NaiveDate) -> [(&'static str, &'static str, NaiveDate, NaiveDate); 3] {
    let this_month = month_start(today);
    let last_month_end = this_month - Duration::days(1);
    let quarter_month = (today.month0() / 3) * 3 + 1;
    let quarter = NaiveDate::from_ymd_opt(today.year(), quarter_month, 1).unwrap_or(this_month);
    [
        ("this-month", L::EVAL_THIS_MONTH, this_month, today),
        (
            "last-month",
            L::EVAL_LAST_MONTH,
            month_start(last_month_end),
            last_month_end,
        ),
        ("this-quarter", L::EVAL_THIS_QUARTER, quarter, today),
    ]
}

/// A rate for a `data-value`: the ratio as Rust writes it (what the API's JSON carries),
/// empty when there is none.
fn rate_value(rate: Option<f64>) -> String {
    rate.map(|r| r.to_string()).unwrap_or_default()
}

fn rate_text(rate: Option<f64>) -> String {
    rate.map_or_else(|| L::EVAL_NO_RATE.to_owned(), percent_text)
}

/// `GET /console/evaluation?from=2026-03-01&to=2026-03-31`.
///
/// Stable for browser tests: the form `#eval-period` (`from`, `to`), the presets
/// `#eval-presets a[data-preset]`; `#evaluation` with `data-from`, `data-to` (the days) and
/// `data-api` (the equal `GET /v1/evaluation` query); the key numbers
/// `[data-figure][data-value]` for `intake`, `accepted`, `closed`, `open`, `rejected`,
/// `closure_rate`, `on_time_rate` (resolution) and `response_on_time_rate` (rates as
/// ratios, empty when none), each a link to its cases; the tables `#by-channel`,
/// `#by-category` (`tr[data-key][data-count]`), `#units` (`tr[data-unit][data-rank]`),
/// `#stuck` (`tr[data-case-id]`), `#holders`; the charts `svg#chart-by-channel`,
/// `#chart-by-category`, `#chart-rates`, `#chart-units`; the exports `a#export-csv` and
/// `a#export-geojson`.
pub async fn evaluation(
    State(state): State<AppState>,
    staff: Staff,
    uri: Uri,
) -> Result<Markup, ApiError> {
    street_wide(&staff)?;
    let q: EvaluationQuery = filters::parse(uri.query())?;
    let now = staff.now_ms;
    let today = period::day_of(now);
    let from = q.from.unwrap_or_else(|| day_text(month_start(today)));
    let to = q.to.unwrap_or_else(|| day_text(today));
    let p = Period::parse(Some(&from), Some(&to), now)
        .map_err(|m| ApiError::bad_request("bad_query", m))?;
    let storage = state.storage.clone();
    let input = blocking(move || storage.evaluation_input(p.from_ms, p.to_ms)).await?;
    let e = evaluate(&input, p.from_ms, p.to_ms, now, STUCK_LISTED);
    let period_pairs = [("from", from.as_str()), ("to", to.as_str())];
    let body = html! {
        (period_form(&from, &to, today))
        section #evaluation data-from=(from) data-to=(to)
            data-api=(format!("/v1/evaluation?{}", query(&period_pairs))) {
            (figures(&e, &from, &to))
            (by_channel(&e, &from, &to))
            (by_category(&state, &e, &from, &to))
            (units(&e, &from, &to))
            (stuck(&e))
            (holders(&e))
            h2 { (L::EVAL_EXPORTS) }
            p #exports {
                a #export-csv href=(format!("/console/exports/cases.csv?{}", query(&period_pairs))) download { (L::EXPORT_CSV) }
                " · "
                a #export-geojson href=(format!("/console/exports/cases.geojson?{}", query(&period_pairs))) download { (L::EXPORT_GEOJSON) }
            }
        }
    };
    Ok(page(&staff, Nav::Evaluation, L::EVAL_TITLE, body))
}

/// The period picker and its presets.
fn period_form(from: &str, to: &str, today: NaiveDate) -> Markup {
    html! {
        form.filters #eval-period method="get" action="/console/evaluation" {
            label { (L::EVAL_FROM) input type="date" name="from" value=(from); }
            label { (L::EVAL_TO) input type="date" name="to" value=(to); }
            button type="submit" { (L::EVAL_SHOW) }
        }
        nav.tabs #eval-presets {
            @for (id, label, f, t) in presets(today) {
                @let (f, t) = (day_text(f), day_text(t));
                a href=(format!("/console/evaluation?from={f}&to={t}")) data-preset=(id)
                    class=[(f == from && t == to).then_some("active")] { (label) }
            }
        }
    }
}

/// The key numbers and the rates' chart.
fn figures(e: &Evaluation, from: &str, to: &str) -> Markup {
    let link = |extra: &[(&'static str, &'static str)]| {
        let mut pairs = vec![("from", from), ("to", to)];
        pairs.extend_from_slice(extra);
        cases_link(&pairs)
    };
    let accepted_statuses = "registered,dispatched,in_progress,handled,verified,closed";
    let counts: [(&str, &str, u64, String); 5] = [
        ("intake", L::EVAL_INTAKE, e.intake, link(&[])),
        (
            "accepted",
            L::EVAL_ACCEPTED,
            e.accepted,
            link(&[("status", accepted_statuses)]),
        ),
        (
            "closed",
            L::EVAL_CLOSED,
            e.closed,
            link(&[("status", "closed")]),
        ),
        ("open", L::EVAL_OPEN, e.open, link(&[("open", "true")])),
        (
            "rejected",
            L::EVAL_REJECTED,
            e.rejected,
            link(&[("status", "rejected")]),
        ),
    ];
    let rates: [(&str, &str, Option<f64>, String); 3] = [
        (
            "closure_rate",
            L::EVAL_CLOSURE_RATE,
            e.closure_rate,
            link(&[("status", "closed")]),
        ),
        (
            "on_time_rate",
            L::EVAL_ON_TIME,
            e.resolution.rate,
            link(&[]),
        ),
        (
            "response_on_time_rate",
            L::EVAL_RESPONSE_ON_TIME,
            e.response.rate,
            link(&[]),
        ),
    ];
    let bars: Vec<Bar<'_>> = rates
        .iter()
        .map(|(_, label, rate, href)| Bar::rate(label, *rate, L::EVAL_NO_RATE, Some(href.clone())))
        .collect();
    html! {
        dl.facts #figures {
            @for (name, label, n, href) in &counts {
                dt { (label) }
                dd { a href=(href) data-figure=(name) data-value=(n) { (n) } }
            }
            @for (name, label, rate, href) in &rates {
                dt { (label) }
                dd { a href=(href) data-figure=(name) data-value=(rate_value(*rate)) { (rate_text(*rate)) } }
            }
        }
        (percent_chart("chart-rates", L::EVAL_RATES, &bars))
    }
}

/// Intake by channel: chart and table.
fn by_channel(e: &Evaluation, from: &str, to: &str) -> Markup {
    let name = |key: &str| {
        SourceChannel::parse(key).map_or_else(|_| key.to_owned(), |c| c.name_zh().to_owned())
    };
    let rows: Vec<(String, &crate::office::evaluation::Share, String)> = e
        .by_channel
        .iter()
        .map(|s| {
            (
                name(&s.key),
                s,
                cases_link(&[("from", from), ("to", to), ("channel", &s.key)]),
            )
        })
        .collect();
    let bars: Vec<Bar<'_>> = rows
        .iter()
        .map(|(label, s, href)| Bar::count(label, s.count, Some(href.clone())))
        .collect();
    html! {
        h2 { (L::EVAL_BY_CHANNEL) }
        (bar_chart("chart-by-channel", L::EVAL_BY_CHANNEL, &bars))
        (shares_table("by-channel", L::EVAL_BY_CHANNEL, &rows))
    }
}

/// Intake by category: chart and table.
fn by_category(state: &AppState, e: &Evaluation, from: &str, to: &str) -> Markup {
    let checklist = &state.catalog.checklist;
    let rows: Vec<(String, &crate::office::evaluation::Share, String)> = e
        .by_category
        .iter()
        .map(|s| {
            let label = checklist
                .category(&s.key)
                .map_or_else(|| s.key.clone(), |c| c.name_zh.clone());
            (
                label,
                s,
                cases_link(&[("from", from), ("to", to), ("category", &s.key)]),
            )
        })
        .collect();
    let bars: Vec<Bar<'_>> = rows
        .iter()
        .map(|(label, s, href)| Bar::count(label, s.count, Some(href.clone())))
        .collect();
    html! {
        h2 { (L::EVAL_BY_CATEGORY) }
        p.muted { (L::EVAL_TOP3) (percent_text(e.top3_share)) }
        (bar_chart("chart-by-category", L::EVAL_BY_CATEGORY, &bars))
        (shares_table("by-category", L::EVAL_BY_CATEGORY, &rows))
    }
}

/// A table of counts with their shares, each count a link.
fn shares_table(
    id: &str,
    heading: &str,
    rows: &[(String, &crate::office::evaluation::Share, String)],
) -> Markup {
    html! {
        @if rows.is_empty() {
            p.muted { (L::EVAL_EMPTY) }
        } @else {
            table id=(id) {
                thead { tr { th { (heading) } th { (L::EVAL_COUNT) } th { (L::EVAL_SHARE) } } }
                tbody {
                    @for (label, s, href) in rows {
                        tr data-key=(s.key) data-count=(s.count) {
                            td { (label) }
                            td { a href=(href) { (s.count) } }
                            td { (percent_text(s.share)) }
                        }
                    }
                }
            }
        }
    }
}

fn on_time_cell(r: &OnTime) -> Markup {
    html! {
        (rate_text(r.rate))
        span.muted { " (" (r.on_time) "/" (r.on_time + r.late) ")" }
    }
}

/// The units ranked: resolution on-time chart and the table.
fn units(e: &Evaluation, from: &str, to: &str) -> Markup {
    let links: Vec<String> = e
        .units
        .iter()
        .map(|u| cases_link(&[("from", from), ("to", to), ("unit", &u.unit)]))
        .collect();
    let bars: Vec<Bar<'_>> = e
        .units
        .iter()
        .zip(&links)
        .map(|(u, href)| {
            Bar::rate(
                &u.unit,
                u.resolution.rate,
                L::EVAL_NO_RATE,
                Some(href.clone()),
            )
        })
        .collect();
    html! {
        h2 { (L::EVAL_UNITS) }
        @if e.units.is_empty() {
            p.muted { (L::EVAL_EMPTY) }
        } @else {
            (percent_chart("chart-units", L::EVAL_ON_TIME, &bars))
            table #units {
                thead { tr {
                    th { (L::EVAL_RANK) } th { (L::UNIT) } th { (L::EVAL_ASSIGNMENTS) } th { (L::EVAL_LEAD) }
                    th { (L::EVAL_OWING) } th { (L::EVAL_HANDED_BACK) } th { (L::EVAL_RESPONSE_ON_TIME) }
                    th { (L::EVAL_ON_TIME) } th { (L::EVAL_MEDIAN_HANDLING) }
                } }
                tbody {
                    @for (u, href) in e.units.iter().zip(&links) {
                        tr data-unit=(u.unit) data-rank=(u.rank) {
                            td { (u.rank) }
                            td { a href=(href) { (u.unit) } }
                            td { a href=(href) { (u.assignments) } }
                            td { (u.lead) }
                            td { a href=(cases_link(&[("holder", &u.unit), ("open", "true")])) { (u.owing) } }
                            td { (u.handed_back) }
                            td { (on_time_cell(&u.response)) }
                            td { (on_time_cell(&u.resolution)) }
                            td { @if let Some(ms) = u.median_handling_ms { (span(ms)) } @else { "—" } }
                        }
                    }
                }
            }
        }
    }
}

/// The open cases stuck longest.
fn stuck(e: &Evaluation) -> Markup {
    html! {
        h2 { (L::EVAL_STUCK) }
        @if e.stuck.is_empty() {
            p.muted { (L::EVAL_EMPTY) }
        } @else {
            table #stuck {
                thead { tr {
                    th { (L::COL_NUMBER) } th { (L::COL_STATUS) } th { (L::EVAL_HELD_BY) }
                    th { (L::EVAL_SINCE) } th { (L::EVAL_HELD_FOR) }
                } }
                tbody {
                    @for s in &e.stuck {
                        tr data-case-id=(s.case_id) {
                            td { a href=(format!("/console/cases/{}", s.case_id)) {
                                @if let Some(n) = &s.case_number { (n) } @else { (L::NO_NUMBER) " " (s.case_id.get(..8).unwrap_or(&s.case_id)) }
                            } }
                            td { (L::status(s.status)) }
                            td { a href=(cases_link(&[("holder", &s.holder), ("open", "true")])) { (s.holder) } }
                            td { (when(s.since)) }
                            td.late { (span(s.held_ms)) }
                        }
                    }
                }
            }
        }
    }
}

/// The time the period's cases spent with each holder.
fn holders(e: &Evaluation) -> Markup {
    html! {
        h2 { (L::EVAL_HOLDERS) }
        @if e.holders.is_empty() {
            p.muted { (L::EVAL_EMPTY) }
        } @else {
            table #holders {
                thead { tr {
                    th { (L::COL_HOLDER) } th { (L::EVAL_CASES) } th { (L::EVAL_MEDIAN) }
                } }
                tbody {
                    @for h in &e.holders {
                        tr data-holder=(h.holder) {
                            td { a href=(cases_link(&[("holder", &h.holder), ("open", "true")])) { (h.holder) } }
                            td { (h.cases) }
                            td { (span(h.median_ms)) }
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
    use crate::console::pages::fixture::Console;

    /// The `data-value` of `data-figure="name"` in `html`.
    fn figure(html: &str, name: &str) -> String {
        let at = html
            .find(&format!("data-figure=\"{name}\" data-value=\""))
            .unwrap_or_else(|| panic!("no figure {name}"));
        let rest = &html[at..];
        let start = rest.find("data-value=\"").unwrap() + "data-value=\"".len();
        rest[start..].split('"').next().unwrap().to_owned()
    }

    #[test]
    fn presets_are_calendar_periods() {
        let today = NaiveDate::from_ymd_opt(2026, 5, 17).unwrap();
        let p = presets(today);
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        assert_eq!((p[0].2, p[0].3), (d(5, 1), today));
        assert_eq!((p[1].2, p[1].3), (d(4, 1), d(4, 30)));
        assert_eq!((p[2].2, p[2].3), (d(4, 1), today));
        let jan = presets(d(1, 3));
        assert_eq!(jan[1].2, NaiveDate::from_ymd_opt(2025, 12, 1).unwrap());
    }

    #[tokio::test]
    async fn the_figures_are_the_apis_and_link_to_their_cases() {
        let c = Console::new();
        let a = c.hotline_case(31.190, 121.440, "A02-001");
        let b = c.hotline_case(31.185, 121.447, "A01-001");
        c.register_and_dispatch(&a, &["城管中队"]);
        c.register_and_dispatch(&b, &["市政科", "城管中队"]);
        c.advance_days(2);
        let centre = c.login("XT-CC-001");
        let (status, html) = c
            .get(&centre, "/console/evaluation?from=2026-03-01&to=2026-03-31")
            .await;
        assert_eq!(status, 200, "{html}");
        // The API's evaluation of the same period at the same moment.
        let p = Period::parse(Some("2026-03-01"), Some("2026-03-31"), c.now()).unwrap();
        let input =
            crate::storage::Storage::evaluation_input(c.storage.as_ref(), p.from_ms, p.to_ms)
                .unwrap();
        let api = evaluate(&input, p.from_ms, p.to_ms, c.now(), STUCK_LISTED);
        assert_eq!(api.intake, 2);
        assert_eq!(figure(&html, "intake"), api.intake.to_string());
        assert_eq!(figure(&html, "accepted"), api.accepted.to_string());
        assert_eq!(figure(&html, "closed"), api.closed.to_string());
        assert_eq!(figure(&html, "closure_rate"), rate_value(api.closure_rate));
        assert_eq!(
            figure(&html, "on_time_rate"),
            rate_value(api.resolution.rate)
        );
        assert_eq!(
            figure(&html, "response_on_time_rate"),
            rate_value(api.response.rate)
        );
        assert!(html.contains("data-api=\"/v1/evaluation?from=2026-03-01&amp;to=2026-03-31\""));
        // Numbers link to their cases.
        assert!(html.contains(
            "href=\"/console/queues/all?from=2026-03-01&amp;to=2026-03-31\" data-figure=\"intake\""
        ));
        assert!(html.contains("href=\"/console/queues/all?from=2026-03-01&amp;to=2026-03-31&amp;channel=hotline_12345\""));
        assert!(html.contains("tr data-key=\"hotline_12345\" data-count=\"2\""));
        assert!(html.contains("tr data-unit=\"城管中队\" data-rank="));
        assert!(html.contains("id=\"chart-by-channel\"") && html.contains("id=\"chart-units\""));
        assert!(
            html.contains(&format!("tr data-case-id=\"{a}\""))
                || html.contains(&format!("tr data-case-id=\"{b}\""))
        );
        assert!(html.contains("id=\"export-csv\" href=\"/console/exports/cases.csv?from=2026-03-01&amp;to=2026-03-31\""));
        // The link's list holds the same cases: the queue page reads the same filters.
        let (status, list) = c
            .get(
                &centre,
                "/console/queues/all?from=2026-03-01&to=2026-03-31&channel=hotline_12345",
            )
            .await;
        assert_eq!(status, 200, "{list}");
        assert!(list.contains(&a) && list.contains(&b));
    }

    #[tokio::test]
    async fn the_default_period_is_this_month_and_bad_periods_are_refused() {
        let c = Console::new();
        let centre = c.login("XT-CC-001");
        let (status, html) = c.get(&centre, "/console/evaluation").await;
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("data-from=\"2026-03-01\" data-to=\"2026-03-02\""));
        assert!(html.contains("data-figure=\"intake\" data-value=\"0\""));
        assert!(html.contains("data-figure=\"closure_rate\" data-value=\"\""));
        assert!(html.contains("data-preset=\"this-month\" class=\"active\""));
        let (status, _) = c
            .get(&centre, "/console/evaluation?from=2026-03-05&to=2026-03-01")
            .await;
        assert_eq!(status, 400);
        let handler = c.login("XT-UH-001");
        let (status, _) = c.get(&handler, "/console/evaluation").await;
        assert_eq!(status, 403);
    }
}
