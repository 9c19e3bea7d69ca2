//! The events of a case's life. A case document holds a grow-only set of
//! them; nothing is ever edited or deleted, so two devices that acted offline
//! both keep their record of what they did.

use serde::{Deserialize, Serialize};

use crate::hlc::Hlc;
use crate::ids::EventId;
use crate::model::{Actor, PhotoRef};

/// One thing that happened to a case: who, when, and what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CaseEvent {
    /// Unique id, minted on the device that recorded the event.
    pub id: EventId,
    /// Hybrid-logical-clock time: orders events consistently with causality.
    pub at: Hlc,
    /// Who recorded it.
    pub by: Actor,
    /// What happened.
    #[serde(flatten)]
    pub kind: CaseEventKind,
}

impl CaseEvent {
    /// The key that orders events the same way on every replica: time, then
    /// id to break ties between concurrent events stamped alike.
    pub fn order_key(&self) -> (Hlc, EventId) {
        (self.at, self.id)
    }
}

/// The workflow steps of the seed: intake → register or reject → dispatch →
/// arrive → handle → verify → close, with reopen, escalation and comments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CaseEventKind {
    /// The case entered the platform (上报). Always the first event.
    Reported,
    /// The centre registered the case (立案) and gave it its official number,
    /// possibly correcting the checklist item or choosing the grid.
    Registered {
        /// Official case number, assigned only by the centre.
        case_number: String,
        /// Corrected checklist item, if the reporter picked the wrong one.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        checklist_item: Option<String>,
        /// Grid chosen by the centre when the GPS fix was ambiguous.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        grid: Option<String>,
    },
    /// The centre declined the case (不予立案).
    Rejected {
        /// Why, for the reporter.
        reason: String,
    },
    /// The centre dispatched the case to one or more units (联动处置).
    Dispatched {
        /// Every unit of this dispatch, e.g. ["城管中队", "物业"]: the lead
        /// and the assisting units.
        units: Vec<String>,
        /// The unit that leads (牵头单位), one of `units`; the others assist
        /// (协办). Absent in documents written before joint handling: then
        /// the first unit leads if the case has no lead yet (see
        /// `case::state`, rule 6).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        lead: Option<String>,
        /// Instructions.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// A unit arrived on site or accepted the case: the response is met.
    Arrived {
        /// Remarks.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// The grid team handled a quick item on the spot (现场处置).
    HandledOnSpot {
        /// What was done.
        note: String,
        /// "After" photos.
        #[serde(default)]
        photos: Vec<PhotoRef>,
    },
    /// A unit reported how it handled the case (处置反馈).
    Feedback {
        /// What was done.
        note: String,
        /// "After" photos.
        #[serde(default)]
        photos: Vec<PhotoRef>,
    },
    /// A supervisor or the centre checked the result on site (核查).
    Verified {
        /// True if the matter is really dealt with; false sends it back.
        passed: bool,
        /// Remarks.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
        /// Photos taken while verifying.
        #[serde(default)]
        photos: Vec<PhotoRef>,
    },
    /// The centre closed the case (结案).
    Closed {
        /// Remarks.
        #[serde(default, skip_serializing_if = "Option::is_none")]
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
    /// The centre released an assisting unit (not the lead) from a joint
    /// handling: it no longer owes feedback.
    Released {
        /// The assisting unit released.
        unit: String,
        /// Why, if the centre says.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        reason: Option<String>,
    },
    /// The centre withdrew a dispatch from the named units (a wrong
    /// dispatch). When no unit remains, the case is back with the centre.
    Withdrawn {
        /// The units the dispatch is withdrawn from.
        units: Vec<String>,
        /// Why.
        reason: String,
    },
    /// A member of an assigned unit handed the case back (not ours, 退回):
    /// that unit drops off the case.
    HandedBack {
        /// Why the unit is not the right one (required).
        reason: String,
    },
    /// This case is a duplicate and was merged into another (合并): it is no
    /// longer open; the other case carries the handling.
    MergedInto {
        /// The id of the case this one was merged into.
        target: String,
        /// Remarks.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        note: Option<String>,
    },
    /// A duplicate case was merged into this one; changes nothing in the
    /// workflow, the timeline records it.
    MergedFrom {
        /// The id of the duplicate case.
        source: String,
    },
    /// A remark, with optional photos; changes nothing in the workflow.
    Comment {
        /// The remark.
        text: String,
        /// Photos.
        #[serde(default)]
        photos: Vec<PhotoRef>,
    },
}

impl CaseEventKind {
    /// Stable machine name of the kind (the serialized tag).
    pub fn name(&self) -> &'static str {
        match self {
            CaseEventKind::Reported => "reported",
            CaseEventKind::Registered { .. } => "registered",
            CaseEventKind::Rejected { .. } => "rejected",
            CaseEventKind::Dispatched { .. } => "dispatched",
            CaseEventKind::Arrived { .. } => "arrived",
            CaseEventKind::HandledOnSpot { .. } => "handled_on_spot",
            CaseEventKind::Feedback { .. } => "feedback",
            CaseEventKind::Verified { .. } => "verified",
            CaseEventKind::Closed { .. } => "closed",
            CaseEventKind::Reopened { .. } => "reopened",
            CaseEventKind::Escalated { .. } => "escalated",
            CaseEventKind::Released { .. } => "released",
            CaseEventKind::Withdrawn { .. } => "withdrawn",
            CaseEventKind::HandedBack { .. } => "handed_back",
            CaseEventKind::MergedInto { .. } => "merged_into",
            CaseEventKind::MergedFrom { .. } => "merged_from",
            CaseEventKind::Comment { .. } => "comment",
        }
    }

    /// The photos this event attaches, if any.
    pub fn photos(&self) -> &[PhotoRef] {
        match self {
            CaseEventKind::HandledOnSpot { photos, .. }
            | CaseEventKind::Feedback { photos, .. }
            | CaseEventKind::Verified { photos, .. }
            | CaseEventKind::Comment { photos, .. } => photos,
            _ => &[],
        }
    }
}
