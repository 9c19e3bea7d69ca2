//! The server's storage, behind one trait so that the embedded SQLite
//! backend and a shared PostgreSQL backend can serve the same handlers.
//!
//! The trait is synchronous on purpose: handlers call it inside
//! `spawn_blocking`, SQLite is synchronous anyway, and a blocking PostgreSQL
//! client fits the same shape. Every method is one transaction, so the
//! server holds no state of its own between requests and several server
//! processes can share one PostgreSQL database.

pub mod sqlite;

use serde::{Deserialize, Serialize};
use wangge_core::sync::protocol::{SyncRequest, SyncResponse};
use wangge_core::{Actor, CaseEventKind, CaseQuery, CaseRecord, CaseSummary};

use crate::error::ApiResult;

/// What a device may receive.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Scope {
    /// Every document (the management centre).
    #[serde(default)]
    pub all: bool,
    /// Grid blocks.
    #[serde(default)]
    pub blocks: Vec<String>,
    /// Residential workstations.
    #[serde(default)]
    pub workstations: Vec<String>,
    /// Teams/units: cases dispatched to them.
    #[serde(default)]
    pub teams: Vec<String>,
}

/// What an enrolled device may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeviceRole {
    /// A handheld in the field: syncs its scope.
    Field,
    /// The management centre's desk: syncs everything and runs the back office.
    Centre,
}

impl DeviceRole {
    /// Stable name.
    pub fn as_str(self) -> &'static str {
        match self {
            DeviceRole::Field => "field",
            DeviceRole::Centre => "centre",
        }
    }

    /// Parses the stable name.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "field" => Some(DeviceRole::Field),
            "centre" => Some(DeviceRole::Centre),
            _ => None,
        }
    }
}

/// An enrolled device.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// Its id (the core's `DeviceId`).
    pub device_id: String,
    /// A label for administrators, e.g. "网格一组-手持03".
    pub name: String,
    /// What it may do.
    pub role: DeviceRole,
    /// What it receives.
    pub scope: Scope,
    /// When it was enrolled (ms).
    pub created_at: i64,
    /// When it was revoked (ms), if it was.
    pub revoked_at: Option<i64>,
}

/// Back-office figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Stats {
    /// Cases known.
    pub cases: u64,
    /// Cases registered (立案).
    pub registered: u64,
    /// Cases closed (结案).
    pub closed: u64,
    /// Closed / registered.
    pub closure_rate: f64,
    /// Open cases past a deadline now.
    pub overdue: u64,
    /// Cases per status.
    pub by_status: Vec<(String, u64)>,
    /// Zero reports filed.
    pub zero_reports: u64,
    /// Documents stored.
    pub documents: u64,
}

/// Where a resumable photo upload stands (`GET /v1/photos/{sha}/upload`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PhotoUpload {
    /// The photo's (or thumbnail's) SHA-256, lowercase hex.
    pub sha256: String,
    /// Bytes the server holds, from offset 0: where the next chunk starts.
    pub received: u64,
    /// The size the upload in progress declared; `None` before the first chunk.
    pub total: Option<u64>,
    /// The whole photo is stored and its hash verified.
    pub complete: bool,
}

/// One chunk of a photo upload.
#[derive(Debug, Clone, Copy)]
pub struct PhotoChunk<'a> {
    /// The content address the bytes must hash to once complete.
    pub sha256: &'a str,
    /// Where the chunk starts in the photo.
    pub offset: u64,
    /// The photo's whole size.
    pub total: u64,
    /// The bytes.
    pub data: &'a [u8],
    /// For a thumbnail: the hash of the photo it shows (so `GET /v1/photos/{photo}/thumbnail`
    /// finds it).
    pub thumbnail_of: Option<&'a str>,
    /// The device uploading.
    pub device_id: &'a str,
}

/// What became of a chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChunkOutcome {
    /// Appended (or the photo was already complete: a no-op); where the upload now stands.
    Stored(PhotoUpload),
    /// The chunk does not start where the upload stands; nothing was written.
    WrongOffset(PhotoUpload),
    /// The last byte arrived but the bytes hash to `actual`, not to the name: the partial
    /// upload was discarded and nothing is stored.
    HashMismatch {
        /// What the bytes hash to.
        actual: String,
    },
}

/// The server's storage.
pub trait Storage: Send + Sync + 'static {
    /// Enrols a device whose token hashes to `token_hash`.
    fn enroll(&self, device: &Device, token_hash: &[u8]) -> ApiResult<()>;
    /// Revokes a device; false if unknown.
    fn revoke(&self, device_id: &str, now_ms: i64) -> ApiResult<bool>;
    /// Every enrolled device.
    fn devices(&self) -> ApiResult<Vec<Device>>;
    /// The device holding this token hash, revoked or not.
    fn device_by_token(&self, token_hash: &[u8]) -> ApiResult<Option<Device>>;
    /// One sync round for `device`: merges what it pushes, then returns what
    /// it lacks in its scope, and records the cursor it answers for the
    /// device, in one transaction. A request whose cursor is beyond what the
    /// server handed to the device (or beyond the feed's end) shows that the
    /// storage lost acknowledged transactions: it stores nothing and answers
    /// a reset (`docs/sync-protocol.md`, "Restored server").
    fn sync(&self, device: &Device, request: &SyncRequest, now_ms: i64) -> ApiResult<SyncResponse>;
    /// Registers a case (立案), assigning its official number. Returns the case.
    fn register_case(
        &self,
        case_id: &str,
        by: &Actor,
        checklist_item: Option<String>,
        grid: Option<String>,
        now_ms: i64,
    ) -> ApiResult<CaseRecord>;
    /// Adds a back-office event (dispatch, verify, close …) to a case.
    fn add_case_event(
        &self,
        case_id: &str,
        by: &Actor,
        kind: CaseEventKind,
        now_ms: i64,
    ) -> ApiResult<CaseRecord>;
    /// A case with its timeline.
    fn case(&self, case_id: &str) -> ApiResult<Option<CaseRecord>>;
    /// Lists cases.
    fn cases(&self, query: &CaseQuery, now_ms: i64) -> ApiResult<Vec<CaseSummary>>;
    /// Back-office figures.
    fn stats(&self, now_ms: i64) -> ApiResult<Stats>;
    /// Bytes of a document as stored (for tests and exports).
    fn document(&self, doc_id: &str) -> ApiResult<Option<Vec<u8>>>;
    /// Where the upload of a photo stands.
    fn photo_upload(&self, sha256: &str) -> ApiResult<PhotoUpload>;
    /// Appends a chunk to a photo upload, durably, in one transaction; when the last byte
    /// arrives, verifies the hash and stores the photo (or discards the upload).
    fn put_photo_chunk(&self, chunk: &PhotoChunk<'_>, now_ms: i64) -> ApiResult<ChunkOutcome>;
    /// True if `device` may read the photo or thumbnail `sha256`: the centre and whole-street
    /// devices read every photo, other devices those referenced by a document of their scope.
    fn photo_in_scope(&self, device: &Device, sha256: &str) -> ApiResult<bool>;
    /// A complete photo's bytes.
    fn photo(&self, sha256: &str) -> ApiResult<Option<Vec<u8>>>;
    /// The thumbnail of a photo, by the photo's hash: its own hash and bytes.
    fn photo_thumbnail(&self, sha256: &str) -> ApiResult<Option<(String, Vec<u8>)>>;
}
