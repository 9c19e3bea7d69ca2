//! Evidence integrity of a case's photos, for a supervisor's screen.
//!
//! Exported as `Store.photoEvidence(caseId)`: each photo of the case with
//! what its own capture time and position say against the report it is
//! attached to (taken long before, after the report, far away, or without
//! a time or position). The facts travel in the case document, so every
//! device that holds the case sees the same flags, whoever took the photo.

use wangge_core as core_lib;
use wangge_core::photo::EvidenceFlag as CoreFlag;

use crate::error::Result;
use crate::model::{PhotoRef, parse_case_id};
use crate::store::Store;

/// Something about a photo that a supervisor should look at. Warnings,
/// never a refusal: an officer without GPS in a basement still files.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Enum)]
pub enum EvidenceFlag {
    /// Taken more than 24 hours before the report or event.
    TakenLongBefore {
        /// Whole hours between capture and report.
        hours: i64,
    },
    /// Dated after the report (beyond ten minutes of clock skew).
    TakenAfterReport,
    /// Taken more than 300 m from the case's GPS fix.
    FarFromReport {
        /// Distance in metres.
        metres: i32,
    },
    /// The photo carries no capture time (stripped, edited, a screenshot).
    NoCaptureTime,
    /// The photo carries no position (location off in the camera).
    NoPosition,
}

impl From<CoreFlag> for EvidenceFlag {
    fn from(f: CoreFlag) -> Self {
        match f {
            CoreFlag::TakenLongBefore { hours } => EvidenceFlag::TakenLongBefore { hours },
            CoreFlag::TakenAfterReport => EvidenceFlag::TakenAfterReport,
            CoreFlag::FarFromReport { metres } => EvidenceFlag::FarFromReport {
                metres: crate::model::int(metres),
            },
            CoreFlag::NoCaptureTime => EvidenceFlag::NoCaptureTime,
            CoreFlag::NoPosition => EvidenceFlag::NoPosition,
        }
    }
}

/// One photo of a case and its flags.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PhotoEvidence {
    /// The photo, as the case holds it.
    pub photo: PhotoRef,
    /// Time of the report or event that attached it (ms since the epoch).
    pub attached_at_ms: i64,
    /// What to look at; empty when nothing is suspicious.
    pub flags: Vec<EvidenceFlag>,
}

impl From<core_lib::photo::PhotoEvidence> for PhotoEvidence {
    fn from(e: core_lib::photo::PhotoEvidence) -> Self {
        PhotoEvidence {
            photo: e.photo.into(),
            attached_at_ms: e.attached_at_ms,
            flags: e.flags.into_iter().map(Into::into).collect(),
        }
    }
}

#[uniffi::export]
impl Store {
    /// Evidence flags of every photo of a case, each photo once, the
    /// report's first. Works for photos taken on any device: it needs the
    /// case, not the photo's bytes.
    /// Throws `CaseNotFound`, `InvalidInput`.
    pub fn photo_evidence(&self, case_id: String) -> Result<Vec<PhotoEvidence>> {
        Ok(self
            .core()
            .photo_evidence(parse_case_id(&case_id)?)?
            .into_iter()
            .map(Into::into)
            .collect())
    }
}
