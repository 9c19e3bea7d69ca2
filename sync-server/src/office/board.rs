//! The zero-report board (零报告): for every residential workstation and day, whether the
//! day's report was filed with nothing to report, filed with matters (how many, which), or
//! is missing once the daily cut-off has passed.
//!
//! Why the cut-off decides "missing" and not the end of the day: the street wants the
//! day's picture in the afternoon, while someone can still phone the workstation (the
//! seed's centre checks filings daily). Before the cut-off an unfiled day is *pending*,
//! not missing, so the board does not cry wolf every morning. A report filed after the
//! cut-off counts as filed (it is shown with its time); the alert was already raised.

use chrono::{NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};

use crate::office::period;

/// What the projection holds of one workstation-day's report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FilingRow {
    /// The workstation.
    pub workstation: String,
    /// The day.
    pub day: NaiveDate,
    /// Something was filed.
    pub filed: bool,
    /// Filed as "nothing to report" with no matter standing.
    pub nothing_to_report: bool,
    /// Matters standing.
    pub matter_count: u32,
    /// Latest entry (ms).
    pub last_amended_at: Option<i64>,
}

/// Where one workstation-day stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Filing {
    /// Filed, and no matter stands (the "zero").
    NothingToReport,
    /// Filed with matters the workstation handled itself (备案).
    Matters,
    /// Not filed, and the day's cut-off has passed: an alert.
    Missing,
    /// Not filed yet; the cut-off has not passed.
    Pending,
}

/// A matter of a day's report, as the board lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatterLine {
    /// Checklist item, if given.
    pub checklist_item: Option<String>,
    /// What was handled.
    pub description: String,
    /// Staff id of who recorded it.
    pub recorded_by: String,
    /// When (ms).
    pub recorded_at: i64,
}

/// One workstation on one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoardEntry {
    /// The workstation's id.
    pub workstation: String,
    /// Its name.
    pub name: String,
    /// The day.
    pub day: NaiveDate,
    /// Where it stands.
    pub filing: Filing,
    /// Matters standing (0 unless `matters`).
    pub matter_count: u32,
    /// The matters (on the day's board; empty in a history).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub matters: Vec<MatterLine>,
    /// Latest entry of the report (ms).
    pub last_amended_at: Option<i64>,
}

/// The board of one day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Board {
    /// The day.
    pub day: NaiveDate,
    /// The cut-off instant of that day (ms).
    pub cutoff_at: i64,
    /// Workstations filed with nothing to report.
    pub nothing_to_report: u32,
    /// Workstations filed with matters.
    pub with_matters: u32,
    /// Matters recorded that day, all workstations.
    pub matters: u32,
    /// Workstations missing.
    pub missing: u32,
    /// Workstations not filed before the cut-off.
    pub pending: u32,
    /// Every workstation, missing first, then by id.
    pub entries: Vec<BoardEntry>,
}

/// Where a workstation-day stands at `now_ms` with a daily cut-off at `cutoff`.
pub fn filing(row: Option<&FilingRow>, day: NaiveDate, cutoff: NaiveTime, now_ms: i64) -> Filing {
    match row {
        Some(r) if r.filed && r.matter_count > 0 => Filing::Matters,
        Some(r) if r.filed => Filing::NothingToReport,
        _ if now_ms >= period::at(day, cutoff) => Filing::Missing,
        _ => Filing::Pending,
    }
}

/// One entry.
pub fn entry(
    workstation: (&str, &str),
    day: NaiveDate,
    row: Option<&FilingRow>,
    cutoff: NaiveTime,
    now_ms: i64,
) -> BoardEntry {
    BoardEntry {
        workstation: workstation.0.to_owned(),
        name: workstation.1.to_owned(),
        day,
        filing: filing(row, day, cutoff, now_ms),
        matter_count: row.map_or(0, |r| r.matter_count),
        matters: Vec::new(),
        last_amended_at: row.and_then(|r| r.last_amended_at),
    }
}

/// The day's board from its entries (in any order).
pub fn board(day: NaiveDate, cutoff: NaiveTime, mut entries: Vec<BoardEntry>) -> Board {
    let count = |f: Filing| entries.iter().filter(|e| e.filing == f).count() as u32;
    let (nothing_to_report, with_matters, missing, pending) = (
        count(Filing::NothingToReport),
        count(Filing::Matters),
        count(Filing::Missing),
        count(Filing::Pending),
    );
    let matters = entries.iter().map(|e| e.matter_count).sum();
    entries.sort_by(|a, b| {
        (a.filing != Filing::Missing, &a.workstation)
            .cmp(&(b.filing != Filing::Missing, &b.workstation))
    });
    Board {
        day,
        cutoff_at: period::at(day, cutoff),
        nothing_to_report,
        with_matters,
        matters,
        missing,
        pending,
        entries,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn an_unfiled_day_is_pending_until_the_cut_off_then_missing() {
        let day = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        let five = NaiveTime::from_hms_opt(17, 0, 0).unwrap();
        let cut = period::at(day, five);
        assert_eq!(filing(None, day, five, cut - 1), Filing::Pending);
        assert_eq!(filing(None, day, five, cut), Filing::Missing);
        let mut row = FilingRow {
            workstation: "W".into(),
            day,
            filed: true,
            nothing_to_report: true,
            matter_count: 0,
            last_amended_at: Some(cut + 1),
        };
        assert_eq!(
            filing(Some(&row), day, five, cut + 2),
            Filing::NothingToReport
        );
        row.matter_count = 2;
        row.nothing_to_report = false;
        assert_eq!(filing(Some(&row), day, five, cut + 2), Filing::Matters);
    }
}
