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
    /// it lacks in its scope, in one transaction.
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
}
