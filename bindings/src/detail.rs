//! The case detail screen in one call: `Store.caseDetail(caseId)` returns the
//! case with its photos (thumbnail, evidence flags, upload state) and where
//! it stands with the server, read at one moment, instead of the three
//! reads (`getCase`, `caseThumbnails` with `photoEvidence`, the sync state)
//! a screen would otherwise make.

use wangge_core as core_lib;
use wangge_core::PhotoUpload;
use wangge_core::photo::EvidenceFlag;

use crate::case::CaseRecord;
use crate::model::PhotoRef;
use crate::sync::SyncState;

/// One photo of a case, as the detail screen shows it.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CasePhoto {
    /// The photo, as the case holds it.
    pub photo: PhotoRef,
    /// Time of the report or event that attached it (ms since the epoch).
    pub attached_at_ms: i64,
    /// What a supervisor should look at; empty when nothing is suspicious.
    pub flags: Vec<EvidenceFlag>,
    /// Its thumbnail's JPEG, or `null` until a sync brings it (a photo taken
    /// on another device).
    pub thumbnail: Option<Vec<u8>>,
    /// Where it stands with the server.
    pub upload: PhotoUpload,
}

/// A case with everything its detail screen shows.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct CaseDetail {
    /// The case: header, timeline, derived state.
    pub case: CaseRecord,
    /// Its photos, the report's first, each once.
    pub photos: Vec<CasePhoto>,
    /// Where it stands with the server, with its photos' uploads.
    pub sync: SyncState,
}

impl CaseDetail {
    /// Converts the core's detail; `now_ms` decides what is overdue.
    pub(crate) fn from_core(d: core_lib::CaseDetail, now_ms: i64) -> Self {
        CaseDetail {
            case: CaseRecord::from_core(d.record, now_ms),
            photos: d
                .photos
                .into_iter()
                .map(|p| CasePhoto {
                    photo: p.evidence.photo.into(),
                    attached_at_ms: p.evidence.attached_at_ms,
                    flags: p.evidence.flags,
                    thumbnail: p.thumbnail,
                    upload: p.upload,
                })
                .collect(),
            sync: d.sync.into(),
        }
    }
}
