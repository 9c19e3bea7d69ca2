//! The server's storage, behind one trait so that the embedded SQLite
//! backend and a shared PostgreSQL backend can serve the same handlers.
//!
//! The trait is synchronous on purpose: handlers call it inside
//! `spawn_blocking`, SQLite is synchronous anyway, and a blocking PostgreSQL
//! client fits the same shape. Every method is one transaction, so the
//! server holds no state of its own between requests and several server
//! processes can share one PostgreSQL database.
//!
//! **Why the storage has its own error type** ([`StorageError`], `error.rs`) rather than
//! answering HTTP errors: a backend should say *what* happened — the database failed, a
//! case is not there, a username is taken, a pairing code was used — and not *how a
//! client is told*. With `ApiError` inside the storage, every backend had to pick the
//! same status and code by hand at every refusal, and a second backend could drift
//! without anyone noticing (a 409 here, a 422 there). Now each refusal is one variant with
//! its stable code ([`StorageError::code`]) and its message, written once for every
//! backend; the status is decided in one place at the HTTP edge (`From<StorageError> for
//! ApiError`, `crate::error`), which also keeps the database's own errors (which may name
//! tables, files or data) out of responses: they are logged and answered `500 internal`.
//! Tests and tools that use the storage directly (the CLI, the e2e crate) match on
//! variants instead of parsing messages. A core refusal inside the storage (an event the
//! case rules do not allow) stays the core's error and reaches the client with the code it
//! always had.
//!
//! **How a backend joins the conformance suite.** What every backend must do is tested
//! once, against this trait, in `conformance.rs`: people and units, devices, the audit log,
//! the sync cursor, case numbers and merges, console logins, pairing codes, photo uploads
//! and which thumbnail is served — with the exact error variants and codes. A backend runs
//! it with one line in its tests, `crate::storage_conformance_tests!(fresh)`, where `fresh`
//! opens an empty storage for one test (see `sqlite.rs`, module `conformance`): a new
//! backend is done when the same suite passes. Other crates reach the suite with the
//! `testing` feature. What only one backend has — migrating its old schemas, its triggers,
//! its file layout — is tested beside it, not in the suite.

mod case_filter_sql;
#[cfg(any(test, feature = "testing"))]
#[doc(hidden)]
pub mod conformance;
pub mod console;
pub mod error;
mod in_step;
pub mod intake;
pub mod photo_store;
pub mod pool_stats;
pub mod postgres;
mod pull_page;
mod server_meta;
pub mod sqlite;

use serde::{Deserialize, Serialize};
use wangge_core::sync::protocol::{SyncRequest, SyncResponse};
use wangge_core::{Actor, CaseEventKind, CaseQuery, CaseRecord, CaseSummary, Role};

use wangge_core::authority::Author;

use crate::docs::Placement;
use crate::office::board::FilingRow;
use crate::office::evaluation::EvalInput;
use crate::office::export::Change;
use crate::office::queue::{CaseFilter, CasePage};
use chrono::NaiveDate;
pub use error::{StorageError, StorageResult};
use wangge_core::zero_report::ZeroReport;

/// Opens the server's database: a PostgreSQL URL (`postgres://…`, see
/// [`postgres::PgStorage::open`]) or an SQLite file path (created if missing). Either is
/// created or upgraded to this build's schema first.
pub fn open(
    db: &str,
    catalog: std::sync::Arc<wangge_core::Catalog>,
) -> StorageResult<std::sync::Arc<dyn Storage>> {
    open_with_photos(db, catalog, None)
}

/// [`open`], keeping the bytes of finished photos in `photos` when given (the photos
/// directory, `photo_store.rs`), else in the database.
pub fn open_with_photos(
    db: &str,
    catalog: std::sync::Arc<wangge_core::Catalog>,
    photos: Option<std::sync::Arc<dyn photo_store::PhotoStore>>,
) -> StorageResult<std::sync::Arc<dyn Storage>> {
    if postgres::is_postgres_url(db) {
        let storage = postgres::PgStorage::open(db, catalog)?;
        Ok(std::sync::Arc::new(match photos {
            Some(store) => storage.with_photo_store(store),
            None => storage,
        }))
    } else {
        let storage = sqlite::SqliteStorage::open(db, catalog)?;
        Ok(std::sync::Arc::new(match photos {
            Some(store) => storage.with_photo_store(store),
            None => storage,
        }))
    }
}

/// What a device may receive.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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

impl Scope {
    /// Whether a document placed at `placement` is in this scope for device
    /// `device_id`: the same rule as the SQL `IN_SCOPE` that picks the
    /// documents a device receives.
    pub fn covers(&self, device_id: &str, placement: &Placement) -> bool {
        let has =
            |list: &[String], v: &Option<String>| v.as_ref().is_some_and(|v| list.contains(v));
        self.all
            || has(&self.blocks, &placement.block)
            || has(&self.workstations, &placement.workstation)
            || placement.reporter_device.as_deref() == Some(device_id)
            || placement.teams.iter().any(|t| self.teams.contains(t))
    }
}

/// What an enrolled device may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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
    /// The staff id of the person the device is enrolled to. Every event it
    /// pushes must be that person's; a device enrolled before people existed
    /// has none, and its pushes are refused (`no_person`) until it is
    /// enrolled again.
    #[serde(default)]
    pub person: Option<String>,
}

/// A device found by one of its tokens, with what decides whether the token still works
/// (`crate::tokens`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceToken {
    /// The device, revoked or not.
    pub device: Device,
    /// When the device's current token was issued (ms): at enrolment, pairing or its last
    /// rotation.
    pub issued_at: i64,
    /// The token is the device's previous one, replaced by a rotation: it works until this
    /// time (ms). `None`: the token is the device's current one.
    pub previous_until: Option<i64>,
    /// The device still has a previous token that works (a rotation whose new token has
    /// not been used yet).
    pub has_previous: bool,
}

/// A person of the street's register (people are loaded from a roster file
/// and managed by the CLI).
///
/// Why one device is enrolled to one person, not a shared handheld that
/// people sign in on: the seed's officers each carry their own terminal,
/// and a per-person token makes every event attributable without a second
/// secret (a PIN) that would have to be checked offline. A shared handheld
/// is enrolled once per person who uses it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Person {
    /// Stable staff id: what events carry as their author. Not a name.
    pub staff_id: String,
    /// Full name (personal data: shown in the back office, never logged).
    pub name: String,
    /// The roles the person may act in.
    pub roles: Vec<Role>,
    /// May administer the server (people, devices, audit): not a case role.
    #[serde(default)]
    pub admin: bool,
    /// Units and teams the person acts for (ids from the unit register).
    #[serde(default)]
    pub units: Vec<String>,
    /// Grid blocks the person covers.
    #[serde(default)]
    pub blocks: Vec<String>,
    /// Residential workstations the person covers.
    #[serde(default)]
    pub workstations: Vec<String>,
    /// False once the person has left: their devices' pushes are refused.
    #[serde(default = "yes")]
    pub active: bool,
}

fn yes() -> bool {
    true
}

/// What kind of unit or team.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum UnitKind {
    /// The street's management centre (管理中心).
    Centre,
    /// A grid team of patrol officers (网格巡查组).
    GridTeam,
    /// City-management patrol and enforcement team (城管巡查执法队伍).
    PatrolEnforcement,
    /// Residential service team (居民区服务队伍).
    ResidentialService,
    /// Assessment and inspection team (评估督察队伍).
    AssessmentInspection,
    /// A handling department (城管, 公安, 市政, 物业 …).
    Department,
    /// The joint enforcement team (联合执法队).
    JointEnforcement,
    /// The district platform (区级平台).
    DistrictPlatform,
}

/// A unit or team: the holder name dispatch uses.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Unit {
    /// The id, which is also the holder name in dispatch events, e.g. "城管中队".
    pub id: String,
    /// What kind of unit.
    pub kind: UnitKind,
    /// Display name, if other than the id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// One line of the audit log: an authenticated action or a refusal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct AuditEntry {
    /// When (ms).
    pub at: i64,
    /// The device, if the request carried a known token.
    pub device_id: Option<String>,
    /// The person the device is enrolled to.
    pub person: Option<String>,
    /// What was done: "sync", "register", "add_event", "photo_upload", "refused" …
    pub action: String,
    /// What it was done to: a document id, a photo hash.
    pub target: Option<String>,
    /// "ok" or "refused".
    pub outcome: String,
    /// The refusal code, when refused.
    pub code: Option<String>,
    /// The client's address.
    pub remote_addr: Option<String>,
    /// Short detail (counts, a reason); never personal data.
    pub detail: Option<String>,
}

/// A document set aside because it no longer loads.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Quarantined {
    /// Its id.
    pub doc_id: String,
    /// Its kind.
    pub kind: String,
    /// When it was set aside (ms).
    pub quarantined_at: i64,
    /// Why it does not load.
    pub reason: String,
}

/// Back-office figures.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
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
    /// Cases per status, as `[status, count]` pairs.
    #[schemars(schema_with = "status_counts_schema")]
    pub by_status: Vec<(String, u64)>,
    /// Zero reports filed.
    pub zero_reports: u64,
    /// Documents stored.
    pub documents: u64,
}

/// The schema of `[status, count]` pairs. Written without tuple keywords (`prefixItems`),
/// which some OpenAPI tools (schemathesis 4) turn into the pre-2020 array form and then
/// reject as invalid OpenAPI 3.1.
fn status_counts_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
    schemars::json_schema!({
        "type": "array",
        "items": {
            "type": "array",
            "items": {"type": ["string", "integer"]},
            "minItems": 2,
            "maxItems": 2,
        }
    })
}

/// Where a resumable photo upload stands (`GET /v1/photos/{sha}/upload`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
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
    /// Enrols a device whose token hashes to `token_hash`. A device id enrolled already:
    /// [`StorageError::AlreadyEnrolled`], nothing stored.
    fn enroll(&self, device: &Device, token_hash: &[u8]) -> StorageResult<()>;
    /// Revokes a device; false if unknown.
    fn revoke(&self, device_id: &str, now_ms: i64) -> StorageResult<bool>;
    /// Every enrolled device.
    fn devices(&self) -> StorageResult<Vec<Device>>;
    /// The device holding this token hash, revoked or not.
    fn device_by_token(&self, token_hash: &[u8]) -> StorageResult<Option<Device>>;
    /// The device whose current or previous token hashes to `token_hash`, revoked or not,
    /// with when its current token was issued and, for the previous one, until when it
    /// works (`docs/sync-protocol.md`, "Tokens").
    fn device_token(&self, token_hash: &[u8]) -> StorageResult<Option<DeviceToken>>;
    /// Replaces the token of an unrevoked device that used `used_hash`, in one transaction:
    /// `new_hash` becomes its current token, issued at `now_ms`. If `used_hash` was the
    /// current token it becomes the previous one, working until `previous_until`; if it was
    /// already the previous one (the answer that carried the last new token was lost), it
    /// stays so, with its time unchanged, and the undelivered token is dropped. False,
    /// changing nothing, when the device holds no such token (revoked, re-paired, or rotated
    /// by another request meanwhile).
    fn rotate_token(
        &self,
        device_id: &str,
        used_hash: &[u8],
        new_hash: &[u8],
        now_ms: i64,
        previous_until: i64,
    ) -> StorageResult<bool>;
    /// Forgets the previous token of a device (its new token was used, so the device has it).
    fn drop_previous_token(&self, device_id: &str) -> StorageResult<()>;
    /// One sync round for `device`: merges what it pushes, then returns what
    /// it lacks in its scope, and records the cursor it answers for the
    /// device, in one transaction. A request whose cursor is beyond what the
    /// server handed to the device (or beyond the feed's end) shows that the
    /// storage lost acknowledged transactions: it stores nothing and answers
    /// a reset (`docs/sync-protocol.md`, "Restored server").
    ///
    /// Every pushed document is checked against the authority rules for
    /// `author` (the device's person; none if it has no active person) and
    /// the device's scope; a refused one is answered in the response's
    /// `refused` list and nothing of it is stored.
    fn sync(
        &self,
        device: &Device,
        author: Option<&Author>,
        request: &SyncRequest,
        now_ms: i64,
    ) -> StorageResult<SyncResponse>;
    /// Registers a case (立案), assigning its official number. Returns the case. A case
    /// not on the server: [`StorageError::NotFound`]; one the rules do not let register:
    /// the core's refusal ([`StorageError::Core`]); no number is used up by a refusal.
    fn register_case(
        &self,
        case_id: &str,
        by: &Actor,
        checklist_item: Option<String>,
        grid: Option<String>,
        now_ms: i64,
    ) -> StorageResult<CaseRecord>;
    /// Adds a back-office event (dispatch, verify, close …) to a case. A registration:
    /// [`StorageError::UseRegister`] (only [`Storage::register_case`] assigns a number).
    fn add_case_event(
        &self,
        case_id: &str,
        by: &Actor,
        kind: CaseEventKind,
        now_ms: i64,
    ) -> StorageResult<CaseRecord>;
    /// Merges the case `duplicate` into the case `into`, in one transaction: the duplicate
    /// gets a `merged_into` event (it is no longer open), the other a `merged_from` event;
    /// neither disappears. Returns the duplicate. Refusals: [`StorageError::MergeIntoItself`],
    /// [`StorageError::TargetMerged`] (`into` was merged elsewhere), and the core's.
    fn merge_case(
        &self,
        duplicate: &str,
        into: &str,
        by: &Actor,
        note: Option<String>,
        now_ms: i64,
    ) -> StorageResult<CaseRecord>;
    /// A case with its timeline.
    fn case(&self, case_id: &str) -> StorageResult<Option<CaseRecord>>;
    /// Lists cases.
    fn cases(&self, query: &CaseQuery, now_ms: i64) -> StorageResult<Vec<CaseSummary>>;
    /// One page of the back office's case list (queues) at `now_ms`.
    fn case_page(&self, filter: &CaseFilter, now_ms: i64) -> StorageResult<CasePage>;
    /// How many cases match `filter` at `now_ms`, its cursor, order and limit aside (a
    /// page that shows some of them, the console's map, says how many there are).
    fn case_count(&self, filter: &CaseFilter, now_ms: i64) -> StorageResult<u64>;
    /// The documents changed after feed position `after`, oldest change first, at most
    /// `limit`, each as the back office sees it at `now_ms` (the export change feed).
    fn changes(&self, after: u64, limit: u32, now_ms: i64) -> StorageResult<Vec<Change>>;
    /// What an evaluation of the cases reported in `[from_ms, to_ms)` reads, as of one
    /// moment.
    fn evaluation_input(&self, from_ms: i64, to_ms: i64) -> StorageResult<EvalInput>;
    /// The zero-report rows of the days `from..=to`, of one workstation or all.
    fn filings(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        workstation: Option<&str>,
    ) -> StorageResult<Vec<FilingRow>>;
    /// One workstation-day's zero report, if anything was filed.
    fn zero_report(&self, workstation: &str, day: NaiveDate) -> StorageResult<Option<ZeroReport>>;
    /// Back-office figures.
    fn stats(&self, now_ms: i64) -> StorageResult<Stats>;
    /// Bytes of a document as stored (for tests and exports).
    fn document(&self, doc_id: &str) -> StorageResult<Option<Vec<u8>>>;
    /// Where the upload of a photo stands.
    fn photo_upload(&self, sha256: &str) -> StorageResult<PhotoUpload>;
    /// Appends a chunk to a photo upload, durably, in one transaction; when the last byte
    /// arrives, verifies the hash and stores the photo (or discards the upload). A chunk
    /// that cannot be part of a photo: [`StorageError::Photo`], nothing written.
    fn put_photo_chunk(&self, chunk: &PhotoChunk<'_>, now_ms: i64) -> StorageResult<ChunkOutcome>;
    /// True if `device` may read the photo or thumbnail `sha256`: the centre and whole-street
    /// devices read every photo, other devices those referenced by a document of their scope.
    fn photo_in_scope(&self, device: &Device, sha256: &str) -> StorageResult<bool>;
    /// The person of the register with this staff id.
    fn person(&self, staff_id: &str) -> StorageResult<Option<Person>>;
    /// Adds or replaces people and units (a roster import), in one transaction. A person of
    /// a unit neither listed nor stored: [`StorageError::UnknownUnit`], nothing stored.
    fn upsert_roster(&self, people: &[Person], units: &[Unit]) -> StorageResult<()>;
    /// Every person, by staff id.
    fn people(&self) -> StorageResult<Vec<Person>>;
    /// Every unit, by id.
    fn units(&self) -> StorageResult<Vec<Unit>>;
    /// Appends to the audit log.
    fn audit(&self, entry: &AuditEntry) -> StorageResult<()>;
    /// The audit log from `since_ms` on, oldest first, at most `limit` lines.
    fn audit_log(&self, since_ms: i64, limit: u32) -> StorageResult<Vec<AuditEntry>>;
    /// The documents set aside because they no longer load.
    fn quarantined(&self) -> StorageResult<Vec<Quarantined>>;
    /// A complete photo's bytes.
    fn photo(&self, sha256: &str) -> StorageResult<Option<Vec<u8>>>;
    /// The thumbnail of a photo, by the photo's hash: its own hash and bytes.
    fn photo_thumbnail(&self, sha256: &str) -> StorageResult<Option<(String, Vec<u8>)>>;
    /// Up to `limit` complete photos whose bytes are in the database rather than in the
    /// photo store, by hash, those after `after` (in byte order): what
    /// [`photo_store::export_photos`] moves.
    fn photos_in_database(&self, after: &str, limit: u32) -> StorageResult<Vec<String>>;
    /// Moves one photo's bytes from the database into the photo store the storage was
    /// opened with: written, made durable and read back checked before the database's copy
    /// is cleared. Without a photo store: [`StorageError::Internal`].
    fn move_photo_to_store(&self, sha256: &str) -> StorageResult<photo_store::Moved>;
    /// Creates a case taken in at the centre's desk or through Open311, in one transaction:
    /// the case document (header and report, made by the core as a phone would), its
    /// channel reference and the reporter's contact. A reference its channel already used
    /// creates nothing and names the case it made. Answers the duplicate hints with the case.
    /// A photo the server does not hold: [`StorageError::PhotoNotUploaded`].
    fn intake_case(
        &self,
        intake: &intake::Intake,
        now_ms: i64,
    ) -> StorageResult<intake::IntakeOutcome>;
    /// The open cases of the same checklist item reported near a case (within
    /// [`intake::DUPLICATE_RADIUS_M`] and [`intake::DUPLICATE_WINDOW_MS`]), nearest first.
    fn duplicate_hints(&self, case_id: &str) -> StorageResult<Vec<intake::DuplicateHint>>;
    /// The open cases of `item` reported within [`intake::DUPLICATE_RADIUS_M`] of a position
    /// and [`intake::DUPLICATE_WINDOW_MS`] of `at_ms`, nearest first: the hints the intake
    /// desk shows before a case is saved.
    fn duplicates_near(
        &self,
        item: &str,
        at_ms: i64,
        lat: f64,
        lon: f64,
    ) -> StorageResult<Vec<intake::DuplicateHint>>;
    /// The reporter's contact recorded at intake, if any.
    fn reporter_contact(&self, case_id: &str) -> StorageResult<Option<intake::ReporterContact>>;
    /// Stores an Open311 API key whose secret hashes to `key_hash`.
    fn create_api_key(&self, key: &intake::ApiKey, key_hash: &[u8]) -> StorageResult<()>;
    /// The API key holding this hash, revoked or not.
    fn api_key_by_hash(&self, key_hash: &[u8]) -> StorageResult<Option<intake::ApiKey>>;
    /// Every API key.
    fn api_keys(&self) -> StorageResult<Vec<intake::ApiKey>>;
    /// Revokes an API key; false if unknown.
    fn revoke_api_key(&self, key_id: &str, now_ms: i64) -> StorageResult<bool>;
    /// The ids of the cases an Open311 `GET requests.json` lists, newest first.
    fn request_ids(&self, filter: &intake::RequestFilter) -> StorageResult<Vec<String>>;
    /// Erases the reporter's contact of a case; false if there was none.
    fn erase_reporter_contact(&self, case_id: &str) -> StorageResult<bool>;
    /// Stores a new pairing code (its id and hash, never the code). False, storing nothing,
    /// when a code made within a day has the same id: make another code.
    fn create_pairing_code(&self, code: &crate::pairing::NewPairingCode) -> StorageResult<bool>;
    /// Exchanges a pairing code for an enrolment, in one transaction: checks the code (a
    /// wrong secret counts against its id's code), its person, and consumes it while
    /// enrolling (or re-enrolling) the device. Refusals: [`StorageError::Pairing`] with the
    /// [`error::PairingRefusal`] (a wrong secret is `Unknown`, and is counted).
    fn redeem_pairing_code(
        &self,
        redeem: &crate::pairing::Redeem,
    ) -> StorageResult<crate::pairing::Redeemed>;
    /// The pairing codes that still work at `now_ms` (not used, not expired, not locked by
    /// wrong secrets), newest first.
    fn pending_pairing_codes(&self, now_ms: i64)
    -> StorageResult<Vec<crate::pairing::PendingCode>>;
    /// Withdraws the pairing code stored as `id` if it still works: it expires at `now_ms`,
    /// so a phone sending it later is answered `pairing_code_expired`. False when no such
    /// code still works (already used, expired, locked, or unknown).
    fn withdraw_pairing_code(&self, id: i64, now_ms: i64) -> StorageResult<bool>;
    /// Whether the storage can serve: the database answers and its schema is the one this
    /// server runs (what `GET /ready` reports, for a load balancer or an orchestrator):
    /// [`StorageError::NotReady`] otherwise.
    fn ready(&self) -> StorageResult<()>;
    /// What the database connections are doing, for `GET /metrics`; read from counters the
    /// backend keeps, never from the database, so that it answers while the database does
    /// not. A storage that keeps none says nothing.
    fn pool_stats(&self) -> pool_stats::DbStats {
        pool_stats::DbStats::default()
    }
    /// Creates or replaces the console login of `login.staff_id`. Replacing it (a new
    /// password) ends the person's sessions. Refused with [`StorageError::UsernameTaken`]
    /// when another person has the username.
    fn set_login(&self, login: &console::StaffLogin) -> StorageResult<()>;
    /// The login with this (lower-case) username.
    fn login_by_username(&self, username: &str) -> StorageResult<Option<console::StaffLogin>>;
    /// The login of a person.
    fn login_of(&self, staff_id: &str) -> StorageResult<Option<console::StaffLogin>>;
    /// Starts a session whose token hashes to `token_hash`; drops the person's sessions that
    /// have ended by `session.created_at`.
    fn create_session(
        &self,
        token_hash: &[u8],
        session: &console::ConsoleSession,
    ) -> StorageResult<()>;
    /// The session of a token hash, ended or not (the caller checks the times).
    fn session(&self, token_hash: &[u8]) -> StorageResult<Option<console::ConsoleSession>>;
    /// Records activity of a session (the idle limit counts from it).
    fn touch_session(&self, token_hash: &[u8], now_ms: i64) -> StorageResult<()>;
    /// Ends a session (log out). False if there was none.
    fn end_session(&self, token_hash: &[u8]) -> StorageResult<bool>;
}

/// The answer to a device whose cursor the database cannot honour ([`must_reset`]):
/// nothing of its request is stored, and it starts over, pushing every document whole.
pub(crate) fn reset_response() -> SyncResponse {
    SyncResponse {
        cursor: 0,
        more: false,
        reset: true,
        accepted: Vec::new(),
        resend: Vec::new(),
        docs: Vec::new(),
        refused: Vec::new(),
    }
}

/// Whether a device's request shows that the storage lost transactions it
/// had acknowledged, so that the device must start over: the rule every backend's
/// [`Storage::sync`] applies before it stores anything.
///
/// A device's cursor only ever comes from a response of this server, and the
/// cursor of every response is recorded (`devices.last_cursor`) in the
/// transaction that merged the request's push. A device cursor *above* the
/// record was therefore handed out by a transaction the database no longer
/// has: it was restored from a backup (or lost its last transactions). That
/// transaction may have acknowledged pushes the device will never send
/// again (it believes them delivered), hence the reset. A cursor *below* the
/// record is normal: the response that carried the record was lost, and the
/// device repeats the round.
///
/// A cursor beyond the end of the feed is impossible too, whatever the
/// record says; it is the only check for a device with no record yet (a
/// database from before schema version 4).
pub(crate) fn must_reset(device_cursor: u64, last_cursor: Option<i64>, feed_end: u64) -> bool {
    let beyond_record = last_cursor.is_some_and(|handed| device_cursor > handed.max(0) as u64);
    beyond_record || device_cursor > feed_end
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_above_the_record_or_the_feed_resets_one_below_does_not() {
        // (device cursor, recorded cursor, feed end, reset?)
        let cases = [
            (0, None, 0, false),
            (5, None, 10, false),
            (11, None, 10, true),
            (10, Some(10), 10, false),
            // A lost response: the device is behind what it was handed.
            (7, Some(10), 12, false),
            // A restored database whose feed has grown again past the device.
            (8, Some(5), 20, true),
            (11, Some(10), 10, true),
        ];
        for (device, record, end, reset) in cases {
            assert_eq!(
                must_reset(device, record, end),
                reset,
                "device {device}, record {record:?}, feed end {end}"
            );
        }
    }
}
