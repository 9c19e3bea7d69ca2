//! Zero reports (零报告): every residential workstation files one each day,
//! even when nothing happened, and records there the matters it handled
//! itself (备案).
//!
//! One document per workstation-day, with a document id derived from the
//! workstation and the day: two staff filing offline on two devices write
//! into the *same* document, and their entries merge instead of producing
//! two reports for one day. The report is amendable: matters are added or
//! withdrawn by further events, never edited in place.
//!
//! Rule for concurrent entries: a recorded matter beats a concurrent
//! "nothing to report" — the day shows the matter. A matter withdrawn is
//! kept in the timeline but no longer counts.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::case::MAX_NOTE_CHARS;
use crate::error::{Error, Result};
use crate::hlc::Hlc;
use crate::ids::{EventId, MatterId};
use crate::model::{Actor, PhotoRef, check_text};

/// The fixed part of a zero report: whose and which day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ZeroReportHeader {
    /// The residential workstation's grid id.
    pub workstation: String,
    /// The day reported on (China Standard Time).
    pub day: NaiveDate,
}

impl ZeroReportHeader {
    /// The document id shared by every device for this workstation-day.
    pub fn doc_id(&self) -> String {
        format!("zr:{}:{}", self.workstation, self.day)
    }
}

/// One entry in a zero report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZeroReportEvent {
    /// Unique id.
    pub id: EventId,
    /// Hybrid-logical-clock time.
    pub at: Hlc,
    /// Who filed it.
    pub by: Actor,
    /// What was filed.
    #[serde(flatten)]
    pub kind: ZeroReportEventKind,
}

/// What a zero-report entry says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ZeroReportEventKind {
    /// The day's report is filed; `nothing_to_report` is the "zero".
    Filed {
        /// Nothing happened that needed reporting.
        nothing_to_report: bool,
        /// Remarks.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// A matter the workstation handled itself (备案).
    MatterRecorded {
        /// The matter's id, for withdrawing it later.
        matter: MatterId,
        /// The checklist item it falls under, if any.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        checklist_item: Option<String>,
        /// What happened and what was done.
        description: String,
        /// Photos.
        #[serde(default)]
        photos: Vec<PhotoRef>,
    },
    /// A matter recorded by mistake is withdrawn (an amendment).
    MatterWithdrawn {
        /// The matter withdrawn.
        matter: MatterId,
        /// Why.
        reason: String,
    },
}

impl ZeroReportEventKind {
    /// The photos this entry attaches, if any.
    pub fn photos(&self) -> &[PhotoRef] {
        match self {
            ZeroReportEventKind::MatterRecorded { photos, .. } => photos,
            _ => &[],
        }
    }
}

/// A matter as the report currently shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Matter {
    /// Its id.
    pub id: MatterId,
    /// Checklist item, if given.
    pub checklist_item: Option<String>,
    /// Description.
    pub description: String,
    /// Who recorded it (staff id).
    pub recorded_by: String,
    /// When.
    pub recorded_at: i64,
    /// Photos.
    pub photos: Vec<PhotoRef>,
}

/// A zero report as derived from its entries.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ZeroReport {
    /// Whose and which day.
    pub header: ZeroReportHeader,
    /// A report was filed (a filing or at least one matter).
    pub filed: bool,
    /// Filed as "nothing to report" and no matter stands.
    pub nothing_to_report: bool,
    /// The matters that stand, in recording order.
    pub matters: Vec<Matter>,
    /// Every entry, in order.
    pub events: Vec<ZeroReportEvent>,
    /// Time of the first entry.
    pub first_filed_at: Option<i64>,
    /// Time of the latest entry.
    pub last_amended_at: Option<i64>,
}

/// Derives the report from its entries (any order; sorted here).
pub fn derive_zero_report(
    header: ZeroReportHeader,
    mut events: Vec<ZeroReportEvent>,
) -> ZeroReport {
    events.sort_by_key(|e| (e.at, e.id));
    let withdrawn: std::collections::HashSet<MatterId> = events
        .iter()
        .filter_map(|e| match &e.kind {
            ZeroReportEventKind::MatterWithdrawn { matter, .. } => Some(*matter),
            _ => None,
        })
        .collect();
    let mut matters = Vec::new();
    let mut declared_zero = false;
    for e in &events {
        match &e.kind {
            ZeroReportEventKind::Filed {
                nothing_to_report, ..
            } => declared_zero |= *nothing_to_report,
            ZeroReportEventKind::MatterRecorded {
                matter,
                checklist_item,
                description,
                photos,
            } if !withdrawn.contains(matter)
                && !matters.iter().any(|m: &Matter| m.id == *matter) =>
            {
                matters.push(Matter {
                    id: *matter,
                    checklist_item: checklist_item.clone(),
                    description: description.clone(),
                    recorded_by: e.by.id.clone(),
                    recorded_at: e.at.wall_ms,
                    photos: photos.clone(),
                })
            }
            _ => {}
        }
    }
    ZeroReport {
        filed: !events.is_empty(),
        nothing_to_report: declared_zero && matters.is_empty(),
        matters,
        first_filed_at: events.first().map(|e| e.at.wall_ms),
        last_amended_at: events.iter().map(|e| e.at.wall_ms).max(),
        events,
        header,
    }
}

/// Checks an entry before it is recorded.
pub(crate) fn check_entry(kind: &ZeroReportEventKind, existing: &[ZeroReportEvent]) -> Result<()> {
    match kind {
        ZeroReportEventKind::Filed { note, .. } => {
            if let Some(n) = note {
                check_text("note", n, MAX_NOTE_CHARS)?;
            }
        }
        ZeroReportEventKind::MatterRecorded {
            description,
            photos,
            ..
        } => {
            check_text("description", description, MAX_NOTE_CHARS)?;
            crate::case::check_photos(photos)?;
        }
        ZeroReportEventKind::MatterWithdrawn { matter, reason } => {
            check_text("reason", reason, MAX_NOTE_CHARS)?;
            let known = existing.iter().any(|e| {
                matches!(&e.kind, ZeroReportEventKind::MatterRecorded { matter: m, .. } if m == matter)
            });
            if !known {
                return Err(Error::invalid(
                    "matter",
                    format!(
                        "matter {matter} is not in this report; pick one of the report's matters"
                    ),
                ));
            }
        }
    }
    Ok(())
}
