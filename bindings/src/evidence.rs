//! Evidence integrity of a case's photos, for a supervisor's screen.
//!
//! Exported as `Store.photoEvidence(caseId)`: each photo of the case with
//! what its own capture time and position say against the report it is
//! attached to (taken long before, after the report, far away, or without
//! a time or position). The facts travel in the case document, so every
//! device that holds the case sees the same flags, whoever took the photo.

use wangge_core as core_lib;
use wangge_core::photo::EvidenceFlag;

use crate::error::Result;
use crate::model::{PhotoRef, parse_case_id};
use crate::store::Store;

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
            flags: e.flags,
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
