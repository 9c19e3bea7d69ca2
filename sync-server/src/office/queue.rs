//! The case lists of the back office (queues): filters, sort orders, cursor paging, and
//! the row each case is listed as — with its deadlines, the time left, and the time it
//! spent with each holder.
//!
//! Paging is by cursor (keyset), not offset: a page is "the next `limit` cases after this
//! one in the sort order", so paging through 100,000 cases costs the same at the last
//! page as at the first, and a case changing while someone pages moves in or out of the
//! list without making the pages skip or repeat others.

use serde::{Deserialize, Serialize};
use wangge_core::CaseStatus;

/// Most rows one page carries.
pub const MAX_PAGE: u32 = 500;
/// Most rows one storage read returns: an API page is at most [`MAX_PAGE`], the
/// console's map reads its markers in one go (one sort of a filter's matches instead of
/// one per page of 500).
pub const MAX_READ: u32 = 2000;
/// Rows of a page when the client does not say.
pub const DEFAULT_PAGE: u32 = 50;

/// The order of a case list.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum SortOrder {
    /// Newest report first (the intake desk, history).
    #[default]
    Reported,
    /// The earliest unmet deadline first, cases without one last (the queues that
    /// watch the clock).
    Due,
}

/// Which cases to list. Empty fields do not filter; every given one must hold.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseFilter {
    /// Any of these statuses.
    pub statuses: Vec<CaseStatus>,
    /// Only open (true) or only finished (false) cases.
    pub open: Option<bool>,
    /// Held by this holder now (a unit, the centre `管理中心`, the district platform).
    pub holder: Option<String>,
    /// Dispatched to this unit at some time (lead or assisting).
    pub unit: Option<String>,
    /// When not empty: only cases dispatched at some time to one of these units (a unit
    /// handler's view of the street).
    pub units_any: Vec<String>,
    /// Only cases with the district platform (true) or not (false).
    pub escalated: Option<bool>,
    /// Only open cases a unit handed back that are with the centre again.
    pub handed_back: bool,
    /// In this grid cell, workstation or block (any level).
    pub area: Option<String>,
    /// In this grid block.
    pub block: Option<String>,
    /// In this residential workstation.
    pub workstation: Option<String>,
    /// Of this category.
    pub category: Option<String>,
    /// Of this checklist item.
    pub item: Option<String>,
    /// From this intake channel (its machine name).
    pub channel: Option<String>,
    /// Reported at or after this instant (ms).
    pub reported_from: Option<i64>,
    /// Reported before this instant (ms).
    pub reported_to: Option<i64>,
    /// Only cases overdue now (open and late in any respect: the core's definition).
    pub overdue: bool,
    /// Only cases with an unmet deadline within this many minutes from now (not yet past).
    pub due_within_minutes: Option<u32>,
    /// Substring of the description.
    pub text: Option<String>,
    /// Sort order.
    pub sort: SortOrder,
    /// Continue after this cursor (from a previous page of the same filter and order).
    pub after: Option<Cursor>,
    /// Rows per page (at most [`MAX_PAGE`]).
    pub limit: u32,
}

/// Where a page ended: the sort key and id of its last row. Opaque to clients.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cursor {
    /// The last row's sort key (reported time, or next deadline).
    pub key: i64,
    /// The last row's case id.
    pub case_id: String,
}

impl Cursor {
    /// The text form handed to clients: `<key>.<case id>`.
    pub fn encode(&self) -> String {
        format!("{}.{}", self.key, self.case_id)
    }

    /// Parses [`Cursor::encode`]'s form.
    pub fn decode(text: &str) -> Result<Cursor, String> {
        let bad = || {
            "not a cursor of this server: pass `next_cursor` of the previous page unchanged"
                .to_owned()
        };
        let (key, id) = text.split_once('.').ok_or_else(bad)?;
        let key = key.parse().map_err(|_| bad())?;
        wangge_core::CaseId::parse(id).map_err(|_| bad())?;
        Ok(Cursor {
            key,
            case_id: id.to_owned(),
        })
    }
}

/// How long a case has been with one holder in all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct HolderTime {
    /// The holder.
    pub holder: String,
    /// Milliseconds with it, up to now for a holding that goes on.
    pub ms: i64,
}

/// One case of a list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CaseRow {
    /// Its id.
    pub id: String,
    /// Official number, once registered.
    pub case_number: Option<String>,
    /// Workflow status.
    pub status: CaseStatus,
    /// Intake channel (machine name).
    pub channel: String,
    /// Checklist item in force.
    pub checklist_item: String,
    /// Category in force.
    pub category: String,
    /// Finest grid cell, if known.
    pub grid: Option<String>,
    /// Residential workstation, if known.
    pub workstation: Option<String>,
    /// Grid block, if known.
    pub block: Option<String>,
    /// Description as reported.
    pub description: String,
    /// Staff id of the reporter.
    pub reporter: String,
    /// When it entered the platform (ms).
    pub reported_at: i64,
    /// Response deadline (ms), if the item is known.
    pub response_due: Option<i64>,
    /// Resolution deadline (ms), if the item is known.
    pub resolution_due: Option<i64>,
    /// When the response was met.
    pub responded_at: Option<i64>,
    /// When it was handled.
    pub resolved_at: Option<i64>,
    /// When it was closed.
    pub closed_at: Option<i64>,
    /// Who must act now.
    pub holders: Vec<String>,
    /// Open and late in any respect now.
    pub overdue: bool,
    /// The earliest deadline not yet met while open (ms).
    pub next_due: Option<i64>,
    /// `next_due` minus now: negative once it has passed.
    pub time_left_ms: Option<i64>,
    /// Submitted to the district platform.
    pub escalated: bool,
    /// WGS-84 latitude: the phone's fix, or the grid cell's inner point.
    pub lat: Option<f64>,
    /// WGS-84 longitude.
    pub lon: Option<f64>,
    /// `gps` (the phone's fix) or `grid` (the cell's inner point, for a case without a fix).
    pub located_by: Option<String>,
    /// Time with each holder, longest first.
    pub time_with: Vec<HolderTime>,
}

/// One page of a case list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CasePage {
    /// The cases, in the list's order.
    pub cases: Vec<CaseRow>,
    /// Pass as `cursor` for the next page; absent on the last page.
    pub next_cursor: Option<String>,
}
