//! `/console/board`: the zero-report board (零报告) of a day — every residential
//! workstation filed with nothing to report, filed with matters, pending before the
//! cut-off, or missing after it — and the history of a period, the street's as a grid of
//! days or one workstation's as a list.
//!
//! The figures are the API's: the day is [`crate::routes::board::day_board`] (what `GET
//! /v1/zero-reports/board` answers) and the history the same entries as `GET
//! /v1/zero-reports/history`, so the page and the API cannot disagree.

use axum::extract::State;
use axum::http::Uri;
use chrono::NaiveDate;
use maud::{Markup, html};
use serde::Deserialize;

use crate::AppState;
use crate::console::format::when;
use crate::console::labels as L;
use crate::console::layout::{Nav, page};
use crate::console::pages::filters;
use crate::console::session::{Staff, encode_component};
use crate::console::svg::day_grid::{DayCell, DayRow, day_grid};
use crate::error::ApiError;
use crate::office::board::{Board, BoardEntry, Filing};
use crate::office::period;
use crate::routes::blocking;
use crate::routes::board::{check_workstation, day_board, days, entries, parse_day};

/// Days of history shown when the page does not say.
pub const DEFAULT_HISTORY_DAYS: i64 = 14;

/// Query of `/console/board`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BoardQuery {
    /// The board's day (default: today, China time).
    pub day: Option<String>,
    /// First day of the history (default: 13 days before `to`).
    pub from: Option<String>,
    /// Last day of the history (default: the board's day).
    pub to: Option<String>,
    /// One workstation's history instead of the street's.
    pub workstation: Option<String>,
}

/// Refuses a person who does not see the whole street: the board and the evaluation are
/// the centre's and the inspection teams' (a unit handler's console has their unit's
/// cases, not the street's figures).
pub fn street_wide(staff: &Staff) -> Result<(), ApiError> {
    if staff.sees_all() {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "street_wide_only",
            "the zero-report board and the evaluation are for the management centre and the inspection teams",
        ))
    }
}

/// The machine name of a filing state, as the API writes it: `data-state` of rows and days.
pub fn filing_name(f: Filing) -> &'static str {
    match f {
        Filing::NothingToReport => "nothing_to_report",
        Filing::Matters => "matters",
        Filing::Missing => "missing",
        Filing::Pending => "pending",
    }
}

/// The colour of a filing state in the history grid.
fn filing_colour(f: Filing) -> &'static str {
    match f {
        Filing::NothingToReport => "#16a34a",
        Filing::Matters => "#2563eb",
        Filing::Missing => "#dc2626",
        Filing::Pending => "#d1d5db",
    }
}

fn day_text(day: NaiveDate) -> String {
    day.format("%Y-%m-%d").to_string()
}

/// `GET /console/board?day=2026-03-02&from=…&to=…&workstation=…`.
///
/// Stable for browser tests: the form `#board-day`; the summary `#board-summary` with one
/// `[data-filing]` per state carrying `data-count`; the table `#board` whose rows are
/// `tr[data-workstation][data-state]` (`data-state="missing"` for a missing workstation);
/// the history grid `svg#board-history` (`g.day-row[data-row]`, `rect[data-day][data-state]`)
/// and table `#history-summary` (`tr[data-workstation][data-missing-days]`), or, for one
/// workstation, the table `#history` (`tr[data-day][data-state]`).
pub async fn board(
    State(state): State<AppState>,
    staff: Staff,
    uri: Uri,
) -> Result<Markup, ApiError> {
    street_wide(&staff)?;
    let q: BoardQuery = filters::parse(uri.query())?;
    let now = staff.now_ms;
    let day = match &q.day {
        Some(d) => parse_day("day", d)?,
        None => period::day_of(now),
    };
    let to_text = q.to.clone().unwrap_or_else(|| day_text(day));
    let (from, to) = days(q.from.as_deref(), Some(&to_text), DEFAULT_HISTORY_DAYS, now)?;
    if let Some(ws) = &q.workstation {
        check_workstation(&state, ws)?;
    }
    let st = state.clone();
    let only = q.workstation.clone();
    let (board, history) = blocking(move || {
        let board = day_board(&st, day, now)?;
        let rows = st.storage.filings(from, to, only.as_deref())?;
        let history = entries(&st, &rows, from, to, only.as_deref(), now);
        Ok::<_, ApiError>((board, history))
    })
    .await?;
    let body = html! {
        form.filters #board-day method="get" action="/console/board" {
            label { (L::BOARD_DAY) input type="date" name="day" value=(day_text(day)); }
            label { (L::BOARD_HISTORY) " " (L::BOARD_FROM) input type="date" name="from" value=(day_text(from)); }
            label { (L::BOARD_TO) input type="date" name="to" value=(day_text(to)); }
            @if let Some(ws) = &q.workstation { input type="hidden" name="workstation" value=(ws); }
            button type="submit" { (L::BOARD_SHOW) }
        }
        (summary(&board))
        (day_table(&board, from, to))
        @match &q.workstation {
            Some(ws) => (workstation_history(&state, ws, &history)),
            None => (street_history(&board, &history, day)),
        }
    };
    Ok(page(&staff, Nav::Board, L::BOARD_TITLE, body))
}

/// The day's counts.
fn summary(board: &Board) -> Markup {
    let counts = [
        (Filing::Missing, board.missing),
        (Filing::Pending, board.pending),
        (Filing::NothingToReport, board.nothing_to_report),
        (Filing::Matters, board.with_matters),
    ];
    html! {
        p #board-summary {
            @for (f, n) in counts {
                span data-filing=(filing_name(f)) data-count=(n)
                    class=[(f == Filing::Missing && n > 0).then_some("late")] {
                    (L::filing(f)) " " (n)
                }
                " · "
            }
            span data-filing="matter_count" data-count=(board.matters) { (L::BOARD_MATTER_COUNT) " " (board.matters) }
            " · " span.muted { (L::BOARD_CUTOFF) (when(board.cutoff_at)) }
        }
    }
}

/// Every workstation on the day, missing first.
fn day_table(board: &Board, from: NaiveDate, to: NaiveDate) -> Markup {
    html! {
        table #board data-day=(day_text(board.day)) {
            thead { tr {
                th { (L::BOARD_WORKSTATION) } th { (L::BOARD_STATE) } th { (L::BOARD_MATTERS) }
                th { (L::BOARD_LAST_ENTRY) } th { (L::BOARD_HISTORY) }
            } }
            tbody {
                @for e in &board.entries {
                    tr data-workstation=(e.workstation) data-state=(filing_name(e.filing)) {
                        td { (e.name) }
                        td class=[(e.filing == Filing::Missing).then_some("late")] { (L::filing(e.filing)) }
                        td {
                            @if e.matter_count > 0 { (e.matter_count) }
                            @if !e.matters.is_empty() {
                                ul.matters {
                                    @for m in &e.matters {
                                        li { (m.description) span.muted { " · " (L::BOARD_RECORDED_BY) " " (m.recorded_by) " " (when(m.recorded_at)) } }
                                    }
                                }
                            }
                        }
                        td { @if let Some(t) = e.last_amended_at { (when(t)) } @else { "—" } }
                        td { a href=(history_link(&e.workstation, board.day, from, to)) { (L::BOARD_ITS_HISTORY) } }
                    }
                }
            }
        }
    }
}

fn history_link(workstation: &str, day: NaiveDate, from: NaiveDate, to: NaiveDate) -> String {
    format!(
        "/console/board?day={}&from={}&to={}&workstation={}",
        day_text(day),
        day_text(from),
        day_text(to),
        encode_component(workstation)
    )
}

/// The street's period: a grid of days per workstation and each one's totals.
fn street_history(board: &Board, history: &[BoardEntry], day: NaiveDate) -> Markup {
    // The board lists every workstation; the history has them day by day, by id.
    let mut ids: Vec<(&str, &str)> = board
        .entries
        .iter()
        .map(|e| (e.workstation.as_str(), e.name.as_str()))
        .collect();
    ids.sort();
    let mut days: Vec<NaiveDate> = history.iter().map(|e| e.day).collect();
    days.dedup();
    let (from, to) = (
        days.first().copied().unwrap_or(day),
        days.last().copied().unwrap_or(day),
    );
    let rows: Vec<DayRow<'_>> = ids
        .iter()
        .map(|&(id, name)| DayRow {
            label: name,
            id,
            href: Some(history_link(id, day, from, to)),
            cells: history
                .iter()
                .filter(|e| e.workstation == id)
                .map(|e| DayCell {
                    colour: filing_colour(e.filing),
                    state: filing_name(e.filing),
                    title: format!("{} {} {}", day_text(e.day), name, L::filing(e.filing)),
                })
                .collect(),
        })
        .collect();
    let total = |id: &str, f: Filing| {
        history
            .iter()
            .filter(|e| e.workstation == id && e.filing == f)
            .count()
    };
    html! {
        h2 { (L::BOARD_HISTORY) " " (day_text(from)) " – " (day_text(to)) }
        (day_grid("board-history", L::BOARD_HISTORY, &days, &rows))
        table #history-summary {
            thead { tr {
                th { (L::BOARD_WORKSTATION) } th { (L::BOARD_MISSING_DAYS) }
                th { (L::BOARD_FILED_DAYS) } th { (L::BOARD_MATTER_COUNT) }
            } }
            tbody {
                @for &(id, name) in &ids {
                    @let missing = total(id, Filing::Missing);
                    @let filed = total(id, Filing::NothingToReport) + total(id, Filing::Matters);
                    @let matters: u32 = history.iter().filter(|e| e.workstation == id).map(|e| e.matter_count).sum();
                    tr data-workstation=(id) data-missing-days=(missing) {
                        td { a href=(history_link(id, day, from, to)) { (name) } }
                        td class=[(missing > 0).then_some("late")] { (missing) }
                        td { (filed) }
                        td { (matters) }
                    }
                }
            }
        }
    }
}

/// One workstation's period, newest day first.
fn workstation_history(state: &AppState, ws: &str, history: &[BoardEntry]) -> Markup {
    let name = state.catalog.grids.cell(ws).map_or(ws, |c| c.name());
    html! {
        h2 { (L::BOARD_HISTORY_OF) (name) }
        table #history data-workstation=(ws) {
            thead { tr {
                th { (L::BOARD_DATE) } th { (L::BOARD_STATE) } th { (L::BOARD_MATTER_COUNT) } th { (L::BOARD_LAST_ENTRY) }
            } }
            tbody {
                @for e in history.iter().rev() {
                    tr data-day=(day_text(e.day)) data-state=(filing_name(e.filing)) {
                        td { a href=(format!("/console/board?day={}", day_text(e.day))) { (day_text(e.day)) } }
                        td class=[(e.filing == Filing::Missing).then_some("late")] { (L::filing(e.filing)) }
                        td { (e.matter_count) }
                        td { @if let Some(t) = e.last_amended_at { (when(t)) } @else { "—" } }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::pages::fixture::{Console, START_MS};

    #[tokio::test]
    async fn missing_workstations_are_marked_after_the_cut_off() {
        let c = Console::new();
        let centre = c.login("XT-CC-001");
        // 09:00: nobody has filed, the 17:00 cut-off is ahead: pending.
        let (status, html) = c.get(&centre, "/console/board").await;
        assert_eq!(status, 200, "{html}");
        assert!(
            html.contains("data-workstation=\"XT-W02\" data-state=\"pending\""),
            "{html}"
        );
        assert!(!html.contains("<tr data-workstation=\"XT-W02\" data-state=\"missing\""));
        assert!(html.contains("data-filing=\"missing\" data-count=\"0\""));
        // 18:00: every workstation that has not filed is missing.
        c.clock.advance(9 * 3_600_000);
        let centre = c.login("XT-CC-001");
        let (_, html) = c.get(&centre, "/console/board").await;
        assert!(html.contains("data-workstation=\"XT-W02\" data-state=\"missing\""));
        assert!(html.contains("data-filing=\"missing\" data-count=\"18\""));
        // The history grid has the day, missing, for every workstation, and the 13 days
        // before it (nothing was filed on this new server).
        assert!(html.contains("id=\"board-history\""));
        assert!(html.contains("data-day=\"2026-03-02\" data-state=\"missing\""));
        assert!(html.contains("data-workstation=\"XT-W02\" data-missing-days=\"14\""));
        // The same as the API's board.
        let api = crate::routes::board::day_board(
            &crate::AppState {
                storage: c.storage.clone(),
                catalog: std::sync::Arc::new(wangge_core::Catalog::demo().unwrap()),
                clock: c.clock.clone(),
                office: Default::default(),
                tokens: Default::default(),
            },
            period::day_of(START_MS),
            c.now(),
        )
        .unwrap();
        assert_eq!(api.missing, 18);
    }

    #[tokio::test]
    async fn a_workstation_history_lists_its_days() {
        let c = Console::new();
        c.advance_days(3);
        let centre = c.login("XT-CC-001");
        let (status, html) = c
            .get(
                &centre,
                "/console/board?workstation=XT-W02&from=2026-03-01&to=2026-03-05",
            )
            .await;
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("id=\"history\" data-workstation=\"XT-W02\""));
        // Up to today (the 5th, 09:00: pending); the days before are missing.
        assert!(html.contains("data-day=\"2026-03-04\" data-state=\"missing\""));
        assert!(html.contains("data-day=\"2026-03-05\" data-state=\"pending\""));
        let (status, _) = c.get(&centre, "/console/board?workstation=nowhere").await;
        assert_eq!(status, 404);
        let (status, _) = c.get(&centre, "/console/board?day=yesterday").await;
        assert_eq!(status, 400);
    }

    #[tokio::test]
    async fn unit_handlers_do_not_see_the_board() {
        let c = Console::new();
        let handler = c.login("XT-UH-001");
        let (status, html) = c.get(&handler, "/console/board").await;
        assert_eq!(status, 403);
        assert!(html.contains("street_wide_only"));
    }
}
