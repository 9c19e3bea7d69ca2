//! Cases as the app sees them: what a reporter supplies, the events of a
//! case's life, its derived state, and the lines of a case list.

use wangge_core as core_lib;
use wangge_core::{CaseId, CaseStatus, DeviceId, EventId, GpsFix, GridRef, SourceChannel};

use crate::error::{Result, WanggeError};
use crate::model::{Actor, PhotoRef, photos_in, photos_out};
use crate::sync::SyncState;

/// What a reporter supplies to record a case. Only `checklistItem` and
/// `description` are required; a phone report adds its GPS fix.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct NewCase {
    /// The checklist item picked, e.g. `A02-001` (see `Catalog.checklistItems`).
    pub checklist_item: String,
    /// What was seen (at most 2,000 characters).
    pub description: String,
    /// The phone's fix. The case's grid is decided from it when its
    /// accuracy circle lies inside one grid cell; otherwise the case records
    /// the candidate cells and the centre (or `grid` below) chooses.
    #[uniffi(default = None)]
    pub gps: Option<GpsFix>,
    /// The intake channel; `null` means a grid officer's handheld
    /// (`GRID_OFFICER_HANDHELD` in Kotlin, `.gridOfficerHandheld` in Swift).
    #[uniffi(default = None)]
    pub channel: Option<SourceChannel>,
    /// A street address, for cases that arrive by phone or WeChat.
    #[uniffi(default = None)]
    pub address: Option<String>,
    /// A grid cell chosen by the reporter, e.g. among the candidates of an
    /// ambiguous fix (see `Catalog.lookupGrid`). Overrides the fix.
    #[uniffi(default = None)]
    pub grid: Option<String>,
    /// "Before" photos, already in the photo store.
    #[uniffi(default)]
    pub photos: Vec<PhotoRef>,
    /// The ticket number of an outside channel (e.g. a 12345 work order).
    #[uniffi(default = None)]
    pub external_ref: Option<String>,
}

impl TryFrom<NewCase> for core_lib::NewCase {
    type Error = WanggeError;

    fn try_from(n: NewCase) -> Result<Self> {
        Ok(core_lib::NewCase {
            channel: n.channel.unwrap_or(SourceChannel::GridOfficerHandheld),
            checklist_item: n.checklist_item,
            description: n.description,
            gps: n.gps,
            address: n.address,
            grid: n.grid,
            photos: photos_in(n.photos)?,
            external_ref: n.external_ref,
        })
    }
}

/// What happened to a case: the workflow steps of intake → register or
/// reject → dispatch → arrive → handle → verify → close, with reopening,
/// escalation and comments. Which roles may add which kinds, and in which
/// status, is checked when an event is added.
#[derive(Debug, Clone, PartialEq, uniffi::Enum)]
pub enum CaseEventKind {
    /// The case entered the platform (上报). Always the first event; it is
    /// recorded by `Store.recordCase`, never added.
    Reported,
    /// The centre registered the case (立案) with its official number,
    /// possibly correcting the checklist item or choosing the grid.
    Registered {
        /// Official case number.
        case_number: String,
        /// Corrected checklist item, if the reporter picked the wrong one.
        #[uniffi(default = None)]
        checklist_item: Option<String>,
        /// Grid chosen by the centre when the GPS fix was ambiguous.
        #[uniffi(default = None)]
        grid: Option<String>,
    },
    /// The centre declined the case (不予立案).
    Rejected {
        /// Why, for the reporter.
        reason: String,
    },
    /// The centre dispatched the case to one or more units (联动处置).
    Dispatched {
        /// Every unit of the dispatch, e.g. `["城管中队", "物业"]`: the lead
        /// and the assisting units.
        units: Vec<String>,
        /// The lead unit (牵头), one of `units`; the others assist (协办).
        /// `null` means the first unit leads, unless the case has a lead already.
        #[uniffi(default = None)]
        lead: Option<String>,
        /// Instructions.
        #[uniffi(default = None)]
        note: Option<String>,
    },
    /// A unit arrived on site or accepted the case: the response is met.
    Arrived {
        /// Remarks.
        #[uniffi(default = None)]
        note: Option<String>,
    },
    /// The grid team handled a quick item on the spot (现场处置), where the
    /// checklist allows it.
    HandledOnSpot {
        /// What was done.
        note: String,
        /// "After" photos.
        #[uniffi(default)]
        photos: Vec<PhotoRef>,
    },
    /// A unit reported how it handled the case (处置反馈).
    Feedback {
        /// What was done.
        note: String,
        /// "After" photos.
        #[uniffi(default)]
        photos: Vec<PhotoRef>,
    },
    /// A supervisor or the centre checked the result on site (核查).
    Verified {
        /// True if the matter is really dealt with; false sends it back.
        passed: bool,
        /// Remarks.
        #[uniffi(default = None)]
        note: Option<String>,
        /// Photos taken while verifying.
        #[uniffi(default)]
        photos: Vec<PhotoRef>,
    },
    /// The centre closed the case (结案).
    Closed {
        /// Remarks.
        #[uniffi(default = None)]
        note: Option<String>,
    },
    /// A closed or rejected case was opened again.
    Reopened {
        /// Why.
        reason: String,
    },
    /// The case was submitted to the district platform (提交区级平台).
    Escalated {
        /// Why.
        reason: String,
    },
    /// The centre released an assisting unit: it no longer owes feedback.
    Released {
        /// The assisting unit.
        unit: String,
        /// Why, if the centre says.
        #[uniffi(default = None)]
        reason: Option<String>,
    },
    /// The centre withdrew a (wrong) dispatch from the named units.
    Withdrawn {
        /// The units the dispatch is withdrawn from.
        units: Vec<String>,
        /// Why.
        reason: String,
    },
    /// A unit the case was dispatched to handed it back (退回): not its matter.
    HandedBack {
        /// Why (required).
        reason: String,
    },
    /// This case is a duplicate, merged into another one (合并).
    MergedInto {
        /// The id of the case that carries the handling.
        target: String,
        /// Remarks.
        #[uniffi(default = None)]
        note: Option<String>,
    },
    /// A duplicate was merged into this case.
    MergedFrom {
        /// The id of the duplicate.
        source: String,
    },
    /// A remark, with optional photos; changes nothing in the workflow.
    Comment {
        /// The remark.
        text: String,
        /// Photos.
        #[uniffi(default)]
        photos: Vec<PhotoRef>,
    },
}

impl TryFrom<CaseEventKind> for core_lib::CaseEventKind {
    type Error = WanggeError;

    fn try_from(kind: CaseEventKind) -> Result<Self> {
        use CaseEventKind as K;
        Ok(match kind {
            K::Reported => Self::Reported,
            K::Registered {
                case_number,
                checklist_item,
                grid,
            } => Self::Registered {
                case_number,
                checklist_item,
                grid,
            },
            K::Rejected { reason } => Self::Rejected { reason },
            K::Dispatched { units, lead, note } => Self::Dispatched { units, lead, note },
            K::Arrived { note } => Self::Arrived { note },
            K::HandledOnSpot { note, photos } => Self::HandledOnSpot {
                note,
                photos: photos_in(photos)?,
            },
            K::Feedback { note, photos } => Self::Feedback {
                note,
                photos: photos_in(photos)?,
            },
            K::Verified {
                passed,
                note,
                photos,
            } => Self::Verified {
                passed,
                note,
                photos: photos_in(photos)?,
            },
            K::Closed { note } => Self::Closed { note },
            K::Reopened { reason } => Self::Reopened { reason },
            K::Escalated { reason } => Self::Escalated { reason },
            K::Released { unit, reason } => Self::Released { unit, reason },
            K::Withdrawn { units, reason } => Self::Withdrawn { units, reason },
            K::HandedBack { reason } => Self::HandedBack { reason },
            K::MergedInto { target, note } => Self::MergedInto { target, note },
            K::MergedFrom { source } => Self::MergedFrom { source },
            K::Comment { text, photos } => Self::Comment {
                text,
                photos: photos_in(photos)?,
            },
        })
    }
}

impl From<core_lib::CaseEventKind> for CaseEventKind {
    fn from(kind: core_lib::CaseEventKind) -> Self {
        use core_lib::CaseEventKind as K;
        match kind {
            K::Reported => Self::Reported,
            K::Registered {
                case_number,
                checklist_item,
                grid,
            } => Self::Registered {
                case_number,
                checklist_item,
                grid,
            },
            K::Rejected { reason } => Self::Rejected { reason },
            K::Dispatched { units, lead, note } => Self::Dispatched { units, lead, note },
            K::Arrived { note } => Self::Arrived { note },
            K::HandledOnSpot { note, photos } => Self::HandledOnSpot {
                note,
                photos: photos_out(photos),
            },
            K::Feedback { note, photos } => Self::Feedback {
                note,
                photos: photos_out(photos),
            },
            K::Verified {
                passed,
                note,
                photos,
            } => Self::Verified {
                passed,
                note,
                photos: photos_out(photos),
            },
            K::Closed { note } => Self::Closed { note },
            K::Reopened { reason } => Self::Reopened { reason },
            K::Escalated { reason } => Self::Escalated { reason },
            K::Released { unit, reason } => Self::Released { unit, reason },
            K::Withdrawn { units, reason } => Self::Withdrawn { units, reason },
            K::HandedBack { reason } => Self::HandedBack { reason },
            K::MergedInto { target, note } => Self::MergedInto { target, note },
            K::MergedFrom { source } => Self::MergedFrom { source },
            K::Comment { text, photos } => Self::Comment {
                text,
                photos: photos_out(photos),
            },
        }
    }
}

/// One entry of a case's timeline.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CaseEvent {
    /// The event's id.
    pub id: EventId,
    /// When it was recorded (ms since the Unix epoch, by the recording
    /// device's clock, never before an event that device had seen).
    pub at_ms: i64,
    /// Who recorded it.
    pub by: Actor,
    /// The device it was recorded on.
    pub device_id: DeviceId,
    /// What happened.
    pub kind: CaseEventKind,
    /// Set when the event changed nothing because a concurrent event came
    /// first (two officers acting offline): why. The event stays in the
    /// timeline; nothing recorded is ever dropped.
    pub superseded: Option<String>,
}

/// What was fixed when a case was recorded; never edited afterwards
/// (corrections arrive as events).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CaseHeader {
    /// The case's id.
    pub id: CaseId,
    /// The intake channel.
    pub channel: SourceChannel,
    /// The checklist item the reporter picked.
    pub checklist_item: String,
    /// The item's category at intake.
    pub category: String,
    /// The item's domain at intake.
    pub domain: String,
    /// What the reporter saw.
    pub description: String,
    /// Where, when a phone took a fix.
    pub gps: Option<GpsFix>,
    /// A street address, if given.
    pub address: Option<String>,
    /// The grid, when the fix or the reporter decided it.
    pub grid: Option<GridRef>,
    /// When the fix was ambiguous and nobody chose: the cells it may be in.
    pub grid_candidates: Vec<String>,
    /// Who reported it.
    pub reporter: Actor,
    /// The device it was reported from.
    pub reporter_device_id: DeviceId,
    /// "Before" photos.
    pub photos: Vec<PhotoRef>,
    /// The ticket number of an outside channel.
    pub external_ref: Option<String>,
}

impl From<core_lib::CaseHeader> for CaseHeader {
    fn from(h: core_lib::CaseHeader) -> Self {
        CaseHeader {
            id: h.id,
            channel: h.channel,
            checklist_item: h.checklist_item,
            category: h.category,
            domain: h.domain,
            description: h.description,
            gps: h.gps,
            address: h.address,
            grid: h.grid,
            grid_candidates: h.grid_candidates,
            reporter_device_id: h.reporter.device,
            reporter: h.reporter.into(),
            photos: photos_out(h.photos),
            external_ref: h.external_ref,
        }
    }
}

/// Everything the screens need to know about a case, derived from its
/// events the same way on every device and on the server.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CaseState {
    /// Workflow status.
    pub status: CaseStatus,
    /// True while someone still has to act (not closed, not rejected).
    pub is_open: bool,
    /// Official number, once registered.
    pub case_number: Option<String>,
    /// The checklist item in force (the reporter's, or the centre's correction).
    pub checklist_item: String,
    /// The grid cell in force.
    pub grid: Option<String>,
    /// Who must act now: units, the centre, the district platform.
    pub holders: Vec<String>,
    /// When the case entered the platform (ms).
    pub reported_at_ms: i64,
    /// When the current period started: the report, or the last reopening (ms).
    pub clock_started_at_ms: i64,
    /// Deadline to respond (arrive, clarify), if the checklist item is known (ms).
    pub response_due_ms: Option<i64>,
    /// Deadline to resolve (handle), if the checklist item is known (ms).
    pub resolution_due_ms: Option<i64>,
    /// When the response was met in the current period (ms).
    pub responded_at_ms: Option<i64>,
    /// When the matter was handled in the current period (ms).
    pub resolved_at_ms: Option<i64>,
    /// When the case was closed, if it is (ms).
    pub closed_at_ms: Option<i64>,
    /// Overdue in any respect while open, at the time of the call.
    pub overdue: bool,
    /// Submitted to the district platform.
    pub escalated: bool,
    /// The checklist says it must go to the district platform and it has not yet.
    pub escalation_required: bool,
    /// How many times it was reopened.
    pub reopen_count: i32,
    /// How many times verification sent it back.
    pub sent_back_count: i32,
    /// Time of the latest event (ms).
    pub last_event_at_ms: i64,
    /// Every unit ever dispatched, in order: lead or assisting, and how far
    /// each got.
    pub assignments: Vec<UnitAssignment>,
    /// The case this duplicate was merged into, while it is merged.
    pub merged_into: Option<String>,
}

/// One unit's part in a case (joint handling): from its dispatch to its
/// feedback, release or end.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct UnitAssignment {
    /// The unit.
    pub unit: String,
    /// True for the lead unit (牵头), false for an assisting unit (协办).
    pub lead: bool,
    /// When it was dispatched (ms).
    pub dispatched_at_ms: i64,
    /// Its first arrival on site (ms).
    pub arrived_at_ms: Option<i64>,
    /// Its feedback in the current round (ms).
    pub feedback_at_ms: Option<i64>,
    /// When the centre released it (ms).
    pub released_at_ms: Option<i64>,
    /// When it was taken off the case (ms).
    pub ended_at_ms: Option<i64>,
    /// True when the centre withdrew it, false when the unit handed the
    /// case back; `null` while it is on the case.
    pub withdrawn: Option<bool>,
    /// True while it is on the case and has not reported or been released.
    pub owes_feedback: bool,
}

impl From<&core_lib::UnitAssignment> for UnitAssignment {
    fn from(a: &core_lib::UnitAssignment) -> Self {
        UnitAssignment {
            unit: a.unit.clone(),
            lead: a.lead,
            dispatched_at_ms: a.dispatched_at,
            arrived_at_ms: a.arrived_at,
            feedback_at_ms: a.feedback_at,
            released_at_ms: a.released_at,
            ended_at_ms: a.ended_at,
            withdrawn: a.ended.map(|e| e == core_lib::AssignmentEnd::Withdrawn),
            owes_feedback: a.owes_feedback(),
        }
    }
}

impl CaseState {
    fn from_core(s: &core_lib::CaseState, now_ms: i64) -> Self {
        CaseState {
            status: s.status,
            is_open: s.status.is_open(),
            case_number: s.case_number.clone(),
            checklist_item: s.checklist_item.clone(),
            grid: s.grid.clone(),
            holders: s.holders.clone(),
            reported_at_ms: s.reported_at,
            clock_started_at_ms: s.clock_started_at,
            response_due_ms: s.response_due,
            resolution_due_ms: s.resolution_due,
            responded_at_ms: s.responded_at,
            resolved_at_ms: s.resolved_at,
            closed_at_ms: s.closed_at,
            overdue: s.is_overdue(now_ms),
            escalated: s.escalated,
            escalation_required: s.escalation_required,
            reopen_count: crate::model::int(s.reopen_count),
            sent_back_count: crate::model::int(s.sent_back_count),
            last_event_at_ms: s.last_event_at,
            assignments: s.assignments.iter().map(Into::into).collect(),
            merged_into: s.merged_into.clone(),
        }
    }
}

/// A case as its detail screen shows it: intake facts, ordered timeline
/// and derived state.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CaseRecord {
    /// The intake facts.
    pub header: CaseHeader,
    /// Every event, in the order the derivation applies them.
    pub events: Vec<CaseEvent>,
    /// The derived state.
    pub state: CaseState,
}

impl CaseRecord {
    /// Converts the core's record; `now_ms` decides what is overdue.
    pub(crate) fn from_core(r: core_lib::CaseRecord, now_ms: i64) -> Self {
        let state = CaseState::from_core(&r.state, now_ms);
        let superseded = r.state.superseded;
        let events = r
            .events
            .into_iter()
            .map(|e| CaseEvent {
                superseded: superseded
                    .iter()
                    .find(|s| s.event == e.id)
                    .map(|s| s.reason.clone()),
                id: e.id,
                at_ms: e.at.wall_ms,
                device_id: e.by.device,
                by: e.by.into(),
                kind: e.kind.into(),
            })
            .collect();
        CaseRecord {
            header: r.header.into(),
            events,
            state,
        }
    }
}

/// One line of a case list.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CaseSummary {
    /// The case's id.
    pub id: String,
    /// Workflow status.
    pub status: CaseStatus,
    /// Official number, once registered.
    pub case_number: Option<String>,
    /// Checklist item in force.
    pub checklist_item: String,
    /// Category in force.
    pub category: String,
    /// Finest grid cell, if known.
    pub grid: Option<String>,
    /// Residential workstation, if known.
    pub workstation: Option<String>,
    /// Description as reported.
    pub description: String,
    /// When it entered the platform (ms).
    pub reported_at_ms: i64,
    /// Response deadline (ms).
    pub response_due_ms: Option<i64>,
    /// Resolution deadline (ms).
    pub resolution_due_ms: Option<i64>,
    /// Who must act now.
    pub holders: Vec<String>,
    /// Late in any respect while open, at the time of the query.
    pub overdue: bool,
    /// Submitted to the district platform.
    pub escalated: bool,
    /// Where the case stands with the server (reached the centre, pending,
    /// refused, its photos' uploads), read with the list: no call per case.
    pub sync: SyncState,
}

impl CaseSummary {
    /// A line of a list with its sync state.
    fn new(s: core_lib::CaseSummary, sync: core_lib::DocSync) -> Self {
        CaseSummary {
            id: s.id,
            status: s.status,
            case_number: s.case_number,
            checklist_item: s.checklist_item,
            category: s.category,
            grid: s.grid,
            workstation: s.workstation,
            description: s.description,
            reported_at_ms: s.reported_at,
            response_due_ms: s.response_due,
            resolution_due_ms: s.resolution_due,
            holders: s.holders,
            overdue: s.overdue,
            escalated: s.escalated,
            sync: sync.into(),
        }
    }
}

/// Converts a list of summaries with their sync states.
pub(crate) fn summaries(
    list: core_lib::Result<Vec<(core_lib::CaseSummary, core_lib::DocSync)>>,
) -> Result<Vec<CaseSummary>> {
    Ok(list?
        .into_iter()
        .map(|(s, sync)| CaseSummary::new(s, sync))
        .collect())
}

/// "My cases": reported by this staff member, or held by one of these units.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Mine {
    /// The staff member's id.
    pub staff_id: String,
    /// The units or teams the staff member acts for.
    #[uniffi(default)]
    pub units: Vec<String>,
}

/// A filter over the case list; fields left at their defaults do not
/// filter. Results come open cases first, then by resolution deadline.
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct CaseQuery {
    /// Only cases still open.
    #[uniffi(default = false)]
    pub open_only: bool,
    /// Only the cases of one staff member (see `Mine`).
    #[uniffi(default = None)]
    pub mine: Option<Mine>,
    /// Only cases in this grid cell, workstation or block.
    #[uniffi(default = None)]
    pub grid: Option<String>,
    /// Only cases of this category.
    #[uniffi(default = None)]
    pub category: Option<String>,
    /// Only cases overdue now.
    #[uniffi(default = false)]
    pub overdue_only: bool,
    /// Only cases whose description contains this text (Chinese included).
    #[uniffi(default = None)]
    pub text: Option<String>,
    /// At most this many rows; 500 when not given.
    #[uniffi(default = None)]
    pub limit: Option<i32>,
}

impl TryFrom<CaseQuery> for core_lib::CaseQuery {
    type Error = WanggeError;

    fn try_from(q: CaseQuery) -> Result<Self> {
        let limit = q
            .limit
            .map(|n| {
                u32::try_from(n).map_err(|_| {
                    crate::error::invalid(
                        "limit",
                        format!("{n} rows is negative; give 1 or more, or none for 500"),
                    )
                })
            })
            .transpose()?;
        Ok(core_lib::CaseQuery {
            open_only: q.open_only,
            mine: q.mine.map(|m| (m.staff_id, m.units)),
            grid: q.grid,
            category: q.category,
            overdue_only: q.overdue_only,
            text: q.text,
            limit,
        })
    }
}

/// How many cases stand in one status.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct StatusCount {
    /// The status.
    pub status: CaseStatus,
    /// How many cases stand in it.
    pub count: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn photo() -> PhotoRef {
        PhotoRef {
            sha256: "ab".repeat(32),
            bytes: 120_000,
            width: 1600,
            height: 1200,
            taken_at_ms: Some(1_714_543_402_000),
            taken_lat: Some(31.1937),
            taken_lon: Some(121.4527),
            thumb_sha256: Some("cd".repeat(32)),
        }
    }

    #[test]
    fn every_event_kind_crosses_the_boundary_and_back_unchanged() {
        let kinds = vec![
            CaseEventKind::Reported,
            CaseEventKind::Registered {
                case_number: "XT-1".into(),
                checklist_item: Some("A01-001".into()),
                grid: Some("XT-W01-U1".into()),
            },
            CaseEventKind::Rejected {
                reason: "重复".into(),
            },
            CaseEventKind::Dispatched {
                units: vec!["城管中队".into(), "物业".into()],
                lead: Some("物业".into()),
                note: Some("联合处置".into()),
            },
            CaseEventKind::Released {
                unit: "物业".into(),
                reason: None,
            },
            CaseEventKind::Withdrawn {
                units: vec!["物业".into()],
                reason: "派错".into(),
            },
            CaseEventKind::HandedBack {
                reason: "非本单位职责".into(),
            },
            CaseEventKind::MergedInto {
                target: "0190a1b2-0000-7000-8000-000000000001".into(),
                note: None,
            },
            CaseEventKind::MergedFrom {
                source: "0190a1b2-0000-7000-8000-000000000002".into(),
            },
            CaseEventKind::Arrived { note: None },
            CaseEventKind::HandledOnSpot {
                note: "已清理".into(),
                photos: vec![photo()],
            },
            CaseEventKind::Feedback {
                note: "已劝离".into(),
                photos: vec![],
            },
            CaseEventKind::Verified {
                passed: false,
                note: Some("仍有垃圾".into()),
                photos: vec![photo()],
            },
            CaseEventKind::Closed { note: None },
            CaseEventKind::Reopened {
                reason: "复发".into(),
            },
            CaseEventKind::Escalated {
                reason: "违建".into(),
            },
            CaseEventKind::Comment {
                text: "备注".into(),
                photos: vec![photo()],
            },
        ];
        for kind in kinds {
            let core_kind = core_lib::CaseEventKind::try_from(kind.clone()).unwrap();
            assert_eq!(CaseEventKind::from(core_kind), kind);
        }
    }

    #[test]
    fn an_empty_query_filters_nothing_and_a_new_case_defaults_to_the_handheld() {
        assert_eq!(
            core_lib::CaseQuery::try_from(CaseQuery::default()).unwrap(),
            core_lib::CaseQuery::default()
        );
        let negative = CaseQuery {
            limit: Some(-1),
            ..CaseQuery::default()
        };
        let err = core_lib::CaseQuery::try_from(negative).unwrap_err();
        assert!(err.to_string().contains("negative"), "{err}");
        let new = core_lib::NewCase::try_from(NewCase {
            checklist_item: "A01-001".into(),
            description: "暴露垃圾".into(),
            gps: None,
            channel: None,
            address: None,
            grid: None,
            photos: vec![],
            external_ref: None,
        })
        .unwrap();
        assert_eq!(new.channel, core_lib::SourceChannel::GridOfficerHandheld);
    }
}
