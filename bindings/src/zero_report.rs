//! Zero reports (零报告) as the workstation screens see them: each
//! residential workstation files every day, even when nothing happened, and
//! records the matters it handled itself (备案).

use wangge_core as core_lib;
use wangge_core::{DeviceId, EventId, MatterId};

use crate::error::Result;
use crate::model::{Actor, PhotoRef, parse_matter_id, photos_in, photos_out};
use crate::sync::SyncState;

/// One entry in a workstation's report for a day. A report is amended by
/// further entries, never edited: two staff filing offline on two devices
/// write into the same report and their entries merge.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum ZeroReportEntry {
    /// The day's report is filed; `nothingToReport = true` is the "zero".
    /// A matter recorded the same day beats a concurrent "nothing".
    Filed {
        /// Nothing happened that needed reporting.
        nothing_to_report: bool,
        /// Remarks.
        #[uniffi(default = None)]
        note: Option<String>,
    },
    /// A matter the workstation handled itself (备案).
    MatterRecorded {
        /// The matter's id: leave `null` when recording (a new id is minted);
        /// always set in a report's entries, for withdrawing it later.
        #[uniffi(default = None)]
        matter_id: Option<String>,
        /// The checklist item it falls under, if any.
        #[uniffi(default = None)]
        checklist_item: Option<String>,
        /// What happened and what was done.
        description: String,
        /// Photos.
        #[uniffi(default)]
        photos: Vec<PhotoRef>,
    },
    /// A matter recorded by mistake is withdrawn.
    MatterWithdrawn {
        /// The matter withdrawn (one of the report's `matters`).
        matter_id: String,
        /// Why.
        reason: String,
    },
}

impl ZeroReportEntry {
    pub(crate) fn into_core(self) -> Result<core_lib::ZeroReportEventKind> {
        use core_lib::ZeroReportEventKind as K;
        Ok(match self {
            ZeroReportEntry::Filed {
                nothing_to_report,
                note,
            } => K::Filed {
                nothing_to_report,
                note,
            },
            ZeroReportEntry::MatterRecorded {
                matter_id: id,
                checklist_item,
                description,
                photos,
            } => K::MatterRecorded {
                matter: match id {
                    Some(id) => parse_matter_id(&id)?,
                    None => core_lib::MatterId::generate(),
                },
                checklist_item,
                description,
                photos: photos_in(photos)?,
            },
            ZeroReportEntry::MatterWithdrawn {
                matter_id: id,
                reason,
            } => K::MatterWithdrawn {
                matter: parse_matter_id(&id)?,
                reason,
            },
        })
    }
}

impl From<core_lib::ZeroReportEventKind> for ZeroReportEntry {
    fn from(kind: core_lib::ZeroReportEventKind) -> Self {
        use core_lib::ZeroReportEventKind as K;
        match kind {
            K::Filed {
                nothing_to_report,
                note,
            } => Self::Filed {
                nothing_to_report,
                note,
            },
            K::MatterRecorded {
                matter,
                checklist_item,
                description,
                photos,
            } => Self::MatterRecorded {
                matter_id: Some(matter.to_string()),
                checklist_item,
                description,
                photos: photos_out(photos),
            },
            K::MatterWithdrawn { matter, reason } => Self::MatterWithdrawn {
                matter_id: matter.to_string(),
                reason,
            },
        }
    }
}

/// One entry of a report, as filed.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ZeroReportEvent {
    /// The entry's id.
    pub id: EventId,
    /// When it was filed (ms since the Unix epoch).
    pub at_ms: i64,
    /// Who filed it.
    pub by: Actor,
    /// The device it was filed on.
    pub device_id: DeviceId,
    /// What it says.
    pub entry: ZeroReportEntry,
}

/// A matter as the report currently shows it (withdrawn ones are left out).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Matter {
    /// Its id.
    pub id: MatterId,
    /// Checklist item, if given.
    pub checklist_item: Option<String>,
    /// What happened and what was done.
    pub description: String,
    /// Staff id of who recorded it.
    pub recorded_by: String,
    /// When (ms).
    pub recorded_at_ms: i64,
    /// Photos.
    pub photos: Vec<PhotoRef>,
}

/// A workstation's report for one day, derived from its entries.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct ZeroReport {
    /// The residential workstation's grid id.
    pub workstation: String,
    /// The day reported on, `YYYY-MM-DD` (China Standard Time).
    pub day: String,
    /// A report was filed (a filing or at least one matter).
    pub filed: bool,
    /// Filed as "nothing to report" and no matter stands: the "zero".
    pub nothing_to_report: bool,
    /// The matters that stand, in recording order.
    pub matters: Vec<Matter>,
    /// Every entry, in order.
    pub entries: Vec<ZeroReportEvent>,
    /// Time of the first entry (ms).
    pub first_filed_at_ms: Option<i64>,
    /// Time of the latest entry (ms).
    pub last_amended_at_ms: Option<i64>,
    /// Where the report stands with the server (reached the centre,
    /// pending, refused, its matters' photos).
    pub sync: SyncState,
}

impl From<core_lib::ZeroReport> for ZeroReport {
    fn from(r: core_lib::ZeroReport) -> Self {
        ZeroReport {
            workstation: r.header.workstation,
            day: r.header.day.to_string(),
            filed: r.filed,
            nothing_to_report: r.nothing_to_report,
            matters: r
                .matters
                .into_iter()
                .map(|m| Matter {
                    id: m.id,
                    checklist_item: m.checklist_item,
                    description: m.description,
                    recorded_by: m.recorded_by,
                    recorded_at_ms: m.recorded_at,
                    photos: photos_out(m.photos),
                })
                .collect(),
            entries: r
                .events
                .into_iter()
                .map(|e| ZeroReportEvent {
                    id: e.id,
                    at_ms: e.at.wall_ms,
                    device_id: e.by.device,
                    by: e.by.into(),
                    entry: e.kind.into(),
                })
                .collect(),
            first_filed_at_ms: r.first_filed_at,
            last_amended_at_ms: r.last_amended_at,
            sync: SyncState::local(),
        }
    }
}
