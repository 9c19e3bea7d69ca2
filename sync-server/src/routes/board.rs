//! The zero-report board over HTTP: today's (or any day's) filing of every residential
//! workstation, a workstation's history, and the missing filings as alerts.

use axum::Json;
use axum::extract::State;
use chrono::{Duration, NaiveDate};
use serde::Deserialize;
use wangge_core::grid::GridLevel;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::office::board::{self, Board, BoardEntry, Filing, FilingRow, MatterLine};
use crate::office::period;
use crate::routes::{CentreDevice, blocking};

/// Longest span of days one request covers.
pub const MAX_DAYS: i64 = 366;

/// The street's workstations: (id, name), by id.
fn workstations(state: &AppState) -> Vec<(String, String)> {
    let mut w: Vec<(String, String)> = state
        .catalog
        .grids
        .cells_at(GridLevel::Workstation)
        .map(|c| (c.id().to_owned(), c.name().to_owned()))
        .collect();
    w.sort();
    w
}

pub(crate) fn parse_day(name: &str, text: &str) -> Result<NaiveDate, ApiError> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|_| {
        ApiError::bad_request(
            "bad_query",
            format!("{name}: '{text}' is not a day; write it as 2026-03-02 (China time)"),
        )
    })
}

/// Days `from..=to` given as texts, defaulting to the `default_days` days ending today.
pub(crate) fn days(
    from: Option<&str>,
    to: Option<&str>,
    default_days: i64,
    now_ms: i64,
) -> Result<(NaiveDate, NaiveDate), ApiError> {
    let to = match to {
        Some(t) => parse_day("to", t)?,
        None => period::day_of(now_ms),
    };
    let from = match from {
        Some(f) => parse_day("from", f)?,
        None => to - Duration::days(default_days - 1),
    };
    if from > to {
        return Err(ApiError::bad_request(
            "bad_query",
            "the period ends before it starts: swap `from` and `to`",
        ));
    }
    if (to - from).num_days() >= MAX_DAYS {
        return Err(ApiError::bad_request(
            "bad_query",
            format!("ask for at most {MAX_DAYS} days at a time"),
        ));
    }
    Ok((from, to))
}

/// Every workstation-day of `from..=to` (up to today), from the stored rows.
pub(crate) fn entries(
    state: &AppState,
    rows: &[FilingRow],
    from: NaiveDate,
    to: NaiveDate,
    only: Option<&str>,
    now_ms: i64,
) -> Vec<BoardEntry> {
    let today = period::day_of(now_ms);
    let cutoff = state.office.zero_report_cutoff;
    let by_key: std::collections::HashMap<(&str, NaiveDate), &FilingRow> = rows
        .iter()
        .map(|r| ((r.workstation.as_str(), r.day), r))
        .collect();
    let listed: Vec<(String, String)> = workstations(state)
        .into_iter()
        .filter(|(id, _)| only.is_none_or(|w| w == id))
        .collect();
    let mut out = Vec::new();
    for day in from.iter_days().take_while(|d| *d <= to.min(today)) {
        for (id, name) in &listed {
            let row = by_key.get(&(id.as_str(), day)).copied();
            out.push(board::entry((id, name), day, row, cutoff, now_ms));
        }
    }
    out
}

pub(crate) fn check_workstation(state: &AppState, id: &str) -> Result<(), ApiError> {
    match state.catalog.grids.cell(id) {
        Some(c) if c.level() == GridLevel::Workstation => Ok(()),
        _ => Err(ApiError::not_found(format!(
            "'{id}' is not a workstation of this street; see the grids of the catalog"
        ))),
    }
}

/// Query of `GET /v1/zero-reports/board`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BoardParams {
    /// The day (default: today, China time).
    pub day: Option<String>,
}

/// `GET /v1/zero-reports/board`: every workstation's filing of one day, with the matters.
pub async fn board(
    State(state): State<AppState>,
    _centre: CentreDevice,
    ApiQuery(p): ApiQuery<BoardParams>,
) -> Result<Json<Board>, ApiError> {
    let now = state.clock.now_ms();
    let day = match &p.day {
        Some(d) => parse_day("day", d)?,
        None => period::day_of(now),
    };
    let st = state.clone();
    let board = blocking(move || day_board(&st, day, now)).await?;
    Ok(Json(board))
}

/// The board of `day` at `now_ms`, with the matters of the workstations that recorded
/// some (what `GET /v1/zero-reports/board` answers and the console's board shows).
pub(crate) fn day_board(state: &AppState, day: NaiveDate, now_ms: i64) -> ApiResult<Board> {
    let storage = &state.storage;
    let rows = storage.filings(day, day, None)?;
    let mut entries = entries(state, &rows, day, day, None, now_ms);
    for e in entries.iter_mut().filter(|e| e.filing == Filing::Matters) {
        if let Some(report) = storage.zero_report(&e.workstation, day)? {
            e.matters = report
                .matters
                .into_iter()
                .map(|m| MatterLine {
                    checklist_item: m.checklist_item,
                    description: m.description,
                    recorded_by: m.recorded_by,
                    recorded_at: m.recorded_at,
                })
                .collect();
        }
    }
    Ok(board::board(day, state.office.zero_report_cutoff, entries))
}

/// Query of `GET /v1/zero-reports/history`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HistoryParams {
    /// The workstation (required).
    pub workstation: Option<String>,
    /// First day (default: 30 days before `to`).
    pub from: Option<String>,
    /// Last day (default: today).
    pub to: Option<String>,
}

/// `GET /v1/zero-reports/history?workstation=…`: one workstation's days, oldest first.
pub async fn history(
    State(state): State<AppState>,
    _centre: CentreDevice,
    ApiQuery(p): ApiQuery<HistoryParams>,
) -> Result<Json<Vec<BoardEntry>>, ApiError> {
    let now = state.clock.now_ms();
    let Some(ws) = p.workstation else {
        return Err(ApiError::bad_request(
            "bad_query",
            "workstation: name the workstation whose history you want",
        ));
    };
    check_workstation(&state, &ws)?;
    let (from, to) = days(p.from.as_deref(), p.to.as_deref(), 30, now)?;
    let storage = state.storage.clone();
    let st = state.clone();
    Ok(Json(
        blocking(move || {
            let rows = storage.filings(from, to, Some(&ws))?;
            Ok::<_, ApiError>(entries(&st, &rows, from, to, Some(&ws), now))
        })
        .await?,
    ))
}

/// Query of `GET /v1/zero-reports/missing`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MissingParams {
    /// First day (default: 7 days before `to`).
    pub from: Option<String>,
    /// Last day (default: today).
    pub to: Option<String>,
}

/// `GET /v1/zero-reports/missing`: the workstation-days missing their report (alerts),
/// newest first.
pub async fn missing(
    State(state): State<AppState>,
    _centre: CentreDevice,
    ApiQuery(p): ApiQuery<MissingParams>,
) -> Result<Json<Vec<BoardEntry>>, ApiError> {
    let now = state.clock.now_ms();
    let (from, to) = days(p.from.as_deref(), p.to.as_deref(), 7, now)?;
    let storage = state.storage.clone();
    let st = state.clone();
    Ok(Json(
        blocking(move || {
            let rows = storage.filings(from, to, None)?;
            let mut out: Vec<BoardEntry> = entries(&st, &rows, from, to, None, now)
                .into_iter()
                .filter(|e| e.filing == Filing::Missing)
                .collect();
            out.sort_by(|a, b| {
                b.day
                    .cmp(&a.day)
                    .then_with(|| a.workstation.cmp(&b.workstation))
            });
            Ok::<_, ApiError>(out)
        })
        .await?,
    ))
}
