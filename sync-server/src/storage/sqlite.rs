//! The embedded SQLite backend: one file, no set-up. One writer connection
//! serialises writes (and so the change feed's sequence), a few reader
//! connections serve authentication and back-office queries concurrently
//! thanks to WAL.

use chrono::NaiveDate;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, TryLockError};
use std::time::Instant;
use wangge_core::zero_report::{ZeroReport, ZeroReportHeader};

use automerge::ActorId;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use wangge_core::case::{CaseEvent, CaseEventKind, validate_next};
use wangge_core::doc::{DocKind, EventDoc};
use wangge_core::hlc::HlcClock;
use wangge_core::store::{projection, query, schema};
use wangge_core::sync::protocol::{Accepted, SyncRequest, SyncResponse};
use wangge_core::{Actor, CaseQuery, CaseRecord, CaseSummary, Catalog, EventId};

use wangge_core::authority::{Author, Refusal, RefusalCode};

use crate::docs::{Decoded, Merge, Placement, Stored, decode, encode_heads, merge_push_sealed};
use crate::office::board::FilingRow;
use crate::office::evaluation::EvalInput;
use crate::office::export::Change;
use crate::office::queue::{CaseFilter, CasePage};
use crate::seal::Sealer;
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::in_step::InStep;
use crate::storage::intake::{
    ApiKey, DuplicateHint, Intake, IntakeOutcome, ReporterContact, RequestFilter,
};
use crate::storage::photo_store::{Moved, PhotoStore};
use crate::storage::pool_stats::{DbStats, PoolSnapshot, WaitHistogram};
use crate::storage::pull_page::PullPage;
use crate::storage::{
    ChunkOutcome, Device, DeviceRole, PhotoChunk, PhotoUpload, Quarantined, Scope, Stats, Storage,
    must_reset, reset_response, server_meta,
};

#[path = "sqlite_console.rs"]
mod console_db;
#[path = "sqlite_intake.rs"]
mod intake_db;
#[path = "sqlite_office.rs"]
pub(super) mod office;
#[path = "sqlite_pairing.rs"]
pub(super) mod pairing;
#[path = "sqlite_people.rs"]
pub(super) mod people;
#[path = "sqlite_photos.rs"]
pub(super) mod photos;
#[path = "sqlite_tokens.rs"]
mod tokens;
pub use photos::{check_sha256, is_sha256_hex};

/// Schema of the server's own tables; the back-office projections come
/// from the core (`wangge_core::store::schema::V2`), so the server derives
/// cases exactly as the devices do.
const SERVER_SCHEMA: &str = "
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
);
-- last_cursor: the cursor of the last sync response given to the device
-- (NULL before its first sync). A device that comes back with a higher
-- cursor has seen a feed this database lost: see `must_reset`.
CREATE TABLE devices (
    device_id   TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    role        TEXT NOT NULL,
    scope       TEXT NOT NULL,
    token_hash  BLOB NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER,
    last_cursor INTEGER
);
-- Every document, compacted, with its place in the change feed (seq) and
-- the keys that decide which devices' scopes it is in.
CREATE TABLE documents (
    doc_id          TEXT PRIMARY KEY,
    kind            TEXT NOT NULL,
    data            BLOB NOT NULL,
    heads           BLOB NOT NULL,
    seq             INTEGER NOT NULL,
    block           TEXT,
    workstation     TEXT,
    reporter_device TEXT,
    updated_at      INTEGER NOT NULL,
    teams           TEXT NOT NULL DEFAULT '[]'
);
CREATE UNIQUE INDEX documents_by_seq ON documents(seq);
";

/// Version 2 adds the photo tables (`sqlite_photos.rs`); version 3 the
/// `teams` scope key of documents (every unit a case was dispatched to);
/// version 4 the `last_cursor` of devices (to notice a restored database);
/// version 5 the `photo_refs` index (which documents reference which
/// photos, so a device reads only the photos of its scope).
/// Version 6 the thumbnail hash of photo references (`sqlite_photos.rs`);
/// version 7 people, units, enrolment to a person and the audit log
/// (`sqlite_people.rs`); version 8 the quarantine of unloadable documents.
/// Version 9 changes no table: joint handling changed how a case's status
/// and holders are derived, so the case projections are derived again.
/// Version 10 the back office's rows of each case: units' assignments, holder
/// spans, next deadline (`sqlite_office.rs`), derived from every stored case.
/// Version 11 adds intake and Open311 (`sqlite_intake.rs`).
/// Version 12 the pairing codes (`sqlite_pairing.rs`).
/// Version 13 the console's logins and sessions (`sqlite_console.rs`).
/// Version 14 token expiry and rotation (`sqlite_tokens.rs`).
/// Version 15 the documents a device paging through a backlog already holds
/// (`in_step.rs`).
pub const SCHEMA_VERSION: i64 = 15;

/// Version 15: per device, the documents it holds exactly as the server
/// does while its cursor is still below them, so its pulls leave them out
/// (`in_step.rs`). `until_seq` is the feed's end when the row was written:
/// a response whose cursor reaches it deletes the row.
const IN_STEP_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS device_in_step (
    device_id TEXT NOT NULL,
    doc_id    TEXT NOT NULL,
    heads     BLOB NOT NULL,
    until_seq INTEGER NOT NULL,
    PRIMARY KEY (device_id, doc_id)
) WITHOUT ROWID;
";

/// Version 8: documents that no longer load are set aside, never served.
const QUARANTINE_SCHEMA: &str = "
ALTER TABLE documents ADD COLUMN quarantined_at INTEGER;
ALTER TABLE documents ADD COLUMN quarantine_reason TEXT;
CREATE INDEX documents_quarantined ON documents(quarantined_at) WHERE quarantined_at IS NOT NULL;
";

/// Version 3: teams keep receiving the cases they worked on. Existing rows
/// start from their current holders; the next change to a case recomputes
/// the full list from its events.
const TEAMS_COLUMN: &str = "
ALTER TABLE documents ADD COLUMN teams TEXT NOT NULL DEFAULT '[]';
UPDATE documents SET teams = coalesce(
    (SELECT json_group_array(holder) FROM case_holder h WHERE h.case_id = documents.doc_id), '[]');
";
/// Version 4: the cursor last handed to each device. Devices start without
/// one (NULL): until their next sync records it, only a cursor beyond the
/// feed's end resets them, as before this version.
const LAST_CURSOR_COLUMN: &str = "
ALTER TABLE devices ADD COLUMN last_cursor INTEGER;
";

/// How many reader connections serve reads beside the writer.
const READERS: usize = 4;

/// One connection and the histogram its waits go to (see [`lock`]).
#[derive(Debug)]
pub(super) struct Slot {
    conn: Mutex<Connection>,
    waits: Arc<WaitHistogram>,
}

impl Slot {
    fn new(conn: Connection, waits: &Arc<WaitHistogram>) -> Self {
        Slot {
            conn: Mutex::new(conn),
            waits: waits.clone(),
        }
    }

    /// Whether a request holds the connection now.
    fn in_use(&self) -> bool {
        matches!(self.conn.try_lock(), Err(TryLockError::WouldBlock))
    }
}

/// SQLite storage.
#[derive(Debug)]
pub struct SqliteStorage {
    writer: Slot,
    readers: Vec<Slot>,
    /// Waits for the writer (the write lock: one writer at a time) and for a reader.
    writer_waits: Arc<WaitHistogram>,
    reader_waits: Arc<WaitHistogram>,
    next_reader: AtomicUsize,
    catalog: Arc<Catalog>,
    actor: ActorId,
    sealer: Sealer,
    /// Where finished photos go; `None`: into the database (`photo_store.rs`).
    photo_store: Option<Arc<dyn PhotoStore>>,
}

/// SQLite failing is the storage failing: logged by the HTTP edge, answered `500 internal`.
impl From<rusqlite::Error> for StorageError {
    fn from(e: rusqlite::Error) -> Self {
        StorageError::Database(Box::new(e))
    }
}

/// Takes a connection, counting the wait for `/metrics`.
fn lock(slot: &Slot) -> MutexGuard<'_, Connection> {
    let asked = Instant::now();
    // A panic mid-transaction rolls the transaction back: the connection is safe to reuse.
    let conn = slot.conn.lock().unwrap_or_else(|p| p.into_inner());
    slot.waits.record(asked.elapsed());
    conn
}

fn connect(path: &Path) -> StorageResult<Connection> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "FULL")?;
    Ok(conn)
}

fn get_meta(conn: &Connection, key: &str) -> StorageResult<Option<String>> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

fn set_meta(conn: &Connection, key: &str, value: &str) -> StorageResult<()> {
    conn.prepare_cached("INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")?
        .execute(params![key, value])?;
    Ok(())
}

/// A device row as read: id, name, role, scope, created, revoked, person.
type DeviceRow = (
    String,
    String,
    String,
    String,
    i64,
    Option<i64>,
    Option<String>,
);

/// The columns [`device_from_row`] reads, in order.
const DEVICE_COLUMNS: &str = "device_id, name, role, scope, created_at, revoked_at, person_id";

fn device_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DeviceRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

fn to_device(row: DeviceRow) -> StorageResult<Device> {
    let (device_id, name, role, scope, created_at, revoked_at, person) = row;
    Ok(Device {
        person,
        role: DeviceRole::parse(&role)
            .ok_or_else(|| StorageError::internal(format!("unknown role {role}")))?,
        scope: serde_json::from_str(&scope).map_err(StorageError::internal)?,
        device_id,
        name,
        created_at,
        revoked_at,
    })
}

fn kind_of(text: &str) -> StorageResult<DocKind> {
    DocKind::parse(text)
        .ok_or_else(|| StorageError::internal(format!("unknown stored kind {text}")))
}

/// Whether a document `d` is in a device's scope: the whole street, its grid block or
/// workstation, the device reported it, or one of the device's teams holds it or was ever
/// dispatched to it. One definition for pulling documents and for reading their photos. Named
/// parameters: see [`ScopeParams`].
pub(super) const IN_SCOPE: &str = "(:all
    OR d.block IN (SELECT value FROM json_each(:blocks))
    OR d.workstation IN (SELECT value FROM json_each(:workstations))
    OR d.reporter_device = :device
    OR EXISTS (SELECT 1 FROM json_each(d.teams) t
               WHERE t.value IN (SELECT value FROM json_each(:teams))))";

/// The values of [`IN_SCOPE`]'s parameters for one device (lists as JSON arrays).
pub(super) struct ScopeParams {
    all: bool,
    blocks: String,
    workstations: String,
    device: String,
    teams: String,
}

impl ScopeParams {
    /// The parameters of `device`'s scope.
    pub(super) fn of(device: &Device) -> StorageResult<Self> {
        let json = |v: &Vec<String>| serde_json::to_string(v).map_err(StorageError::internal);
        Ok(ScopeParams {
            all: device.scope.all,
            blocks: json(&device.scope.blocks)?,
            workstations: json(&device.scope.workstations)?,
            device: device.device_id.clone(),
            teams: json(&device.scope.teams)?,
        })
    }

    /// The named parameters of [`IN_SCOPE`], followed by `extra`.
    pub(super) fn with<'a>(
        &'a self,
        extra: &[(&'a str, &'a dyn rusqlite::ToSql)],
    ) -> Vec<(&'a str, &'a dyn rusqlite::ToSql)> {
        let mut named: Vec<(&str, &dyn rusqlite::ToSql)> = vec![
            (":all", &self.all),
            (":blocks", &self.blocks),
            (":workstations", &self.workstations),
            (":device", &self.device),
            (":teams", &self.teams),
        ];
        named.extend_from_slice(extra);
        named
    }
}

impl SqliteStorage {
    /// Keeps the bytes of the photos completed from now on in `store` rather than in the
    /// database, and serves the photos already moved there (`photo_store.rs`).
    pub fn with_photo_store(mut self, store: Arc<dyn PhotoStore>) -> Self {
        self.photo_store = Some(store);
        self
    }

    /// Opens (creating if needed) the database at `path`.
    pub fn open(path: impl AsRef<Path>, catalog: Arc<Catalog>) -> StorageResult<Self> {
        let path = path.as_ref();
        let mut conn = connect(path)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version == 0 {
            tx.execute_batch(SERVER_SCHEMA)?;
            tx.execute_batch(schema::V2)?;
            tx.execute_batch(photos::PHOTO_SCHEMA)?;
            tx.execute_batch(photos::PHOTO_REFS_SCHEMA)?;
            tx.execute_batch(photos::THUMB_REF_COLUMN)?;
            tx.execute_batch(people::PEOPLE_SCHEMA)?;
            tx.execute_batch(QUARANTINE_SCHEMA)?;
            tx.execute_batch(office::OFFICE_SCHEMA)?;
            tx.execute_batch(intake_db::INTAKE_SCHEMA)?;
            tx.execute_batch(pairing::PAIRING_SCHEMA)?;
            tx.execute_batch(console_db::CONSOLE_SCHEMA)?;
            tokens::add_token_columns(&tx, 0)?;
            tx.execute_batch(IN_STEP_SCHEMA)?;
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        } else if version < SCHEMA_VERSION {
            if version < 2 {
                tx.execute_batch(photos::PHOTO_SCHEMA)?;
            }
            if version < 3 {
                tx.execute_batch(TEAMS_COLUMN)?;
            }
            if version < 4 {
                tx.execute_batch(LAST_CURSOR_COLUMN)?;
            }
            if version < 5 {
                tx.execute_batch(photos::PHOTO_REFS_SCHEMA)?;
                photos::backfill_photo_refs(&tx, &catalog)?;
            }
            if version < 6 {
                tx.execute_batch(photos::THUMB_REF_COLUMN)?;
                photos::backfill_thumb_refs(&tx, &catalog)?;
            }
            if version < 7 {
                tx.execute_batch(people::PEOPLE_SCHEMA)?;
            }
            if version < 8 {
                tx.execute_batch(QUARANTINE_SCHEMA)?;
                quarantine_unloadable(&tx, &actor_for_scan())?;
            }
            if version < 10 {
                tx.execute_batch(office::OFFICE_SCHEMA)?;
                // Also version 9's re-derivation: one pass writes every case's rows.
                reproject_cases(&tx, &catalog, &actor_for_scan())?;
            }
            if version < 11 {
                tx.execute_batch(intake_db::INTAKE_SCHEMA)?;
                intake_db::backfill_case_spots(&tx, &catalog, &actor_for_scan())?;
            }
            if version < 12 {
                tx.execute_batch(pairing::PAIRING_SCHEMA)?;
            }
            if version < 13 {
                tx.execute_batch(console_db::CONSOLE_SCHEMA)?;
            }
            if version < 14 {
                tokens::add_token_columns(&tx, chrono::Utc::now().timestamp_millis())?;
            }
            if version < 15 {
                tx.execute_batch(IN_STEP_SCHEMA)?;
            }
            tx.pragma_update(None, "user_version", SCHEMA_VERSION)?;
        } else if version > SCHEMA_VERSION {
            return Err(StorageError::internal(format!(
                "database schema {version} is newer than this server ({SCHEMA_VERSION}); update the server"
            )));
        }
        let (actor, sealer) = server_meta::server_keys(&mut SqliteMeta(&tx))?;
        tx.commit()?;
        let writer_waits = Arc::new(WaitHistogram::default());
        let reader_waits = Arc::new(WaitHistogram::default());
        let readers = (0..READERS)
            .map(|_| connect(path).map(|c| Slot::new(c, &reader_waits)))
            .collect::<StorageResult<Vec<_>>>()?;
        Ok(SqliteStorage {
            writer: Slot::new(conn, &writer_waits),
            readers,
            writer_waits,
            reader_waits,
            next_reader: AtomicUsize::new(0),
            catalog,
            actor,
            sealer,
            photo_store: None,
        })
    }

    fn reader(&self) -> MutexGuard<'_, Connection> {
        let i = self.next_reader.fetch_add(1, Ordering::Relaxed) % self.readers.len();
        lock(&self.readers[i])
    }

    /// Stores a changed document, bumps the feed and refreshes the back-office rows.
    fn store_doc(
        &self,
        tx: &Connection,
        doc: &EventDoc,
        saved: &[u8],
        kind: DocKind,
        decoded: &Decoded,
        now_ms: i64,
    ) -> StorageResult<u64> {
        let seq: u64 = get_meta(tx, "seq")?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
            + 1;
        set_meta(tx, "seq", &seq.to_string())?;
        let placement = decoded.placement(&self.catalog);
        tx.prepare_cached(
            "INSERT INTO documents (doc_id, kind, data, heads, seq, block, workstation, reporter_device, updated_at, teams)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
             ON CONFLICT (doc_id) DO UPDATE SET data = excluded.data, heads = excluded.heads, seq = excluded.seq,
                 block = excluded.block, workstation = excluded.workstation, updated_at = excluded.updated_at,
                 teams = excluded.teams, quarantined_at = NULL, quarantine_reason = NULL",
        )?
        .execute(params![
            doc.id(),
            kind.as_str(),
            saved,
            encode_heads(&doc.heads()),
            seq as i64,
            placement.block,
            placement.workstation,
            placement.reporter_device,
            now_ms,
            serde_json::to_string(&placement.teams).map_err(StorageError::internal)?,
        ])?;
        photos::index_photo_refs(tx, doc.id(), decoded)?;
        match decoded {
            Decoded::Case { header, state, .. } => {
                if let Some(number) = &state.case_number {
                    server_meta::count_case_number(&mut SqliteMeta(tx), number)?;
                }
                intake_db::index_case_spot(tx, header, state)?;
                projection::upsert_case(tx, &self.catalog, header, state)?;
                office::project(tx, &self.catalog, header, state)?;
            }
            Decoded::ZeroReport(report) => projection::upsert_zero_report(tx, doc.id(), report)?,
        }
        Ok(seq)
    }

    fn load(&self, conn: &Connection, doc_id: &str) -> StorageResult<Option<(DocKind, EventDoc)>> {
        let row: Option<(String, Vec<u8>, Option<i64>)> = conn
            .prepare_cached("SELECT kind, data, quarantined_at FROM documents WHERE doc_id = ?1")?
            .query_row([doc_id], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
            .optional()?;
        let quarantined = || StorageError::Quarantined {
            doc_id: doc_id.to_owned(),
        };
        match row {
            None => Ok(None),
            Some((_, _, Some(_))) => Err(quarantined()),
            Some((kind, data, None)) => match EventDoc::load_strict(doc_id, &data, &self.actor) {
                Ok(doc) => Ok(Some((kind_of(&kind)?, doc))),
                Err(e) => {
                    // Cannot happen for documents stored by this version (each
                    // is checked to load back first); answered as set aside,
                    // never as a 500, and quarantined at the next push of it.
                    tracing::error!(doc_id, error = %e, "a stored document does not load");
                    Err(quarantined())
                }
            },
        }
    }

    fn case_record(&self, doc: &EventDoc) -> StorageResult<CaseRecord> {
        match decode(doc, DocKind::Case, &self.catalog)? {
            Decoded::Case {
                header,
                events,
                state,
            } => Ok(CaseRecord {
                header: *header,
                events,
                state: *state,
            }),
            Decoded::ZeroReport(_) => Err(StorageError::NotFound("not a case".into())),
        }
    }

    /// Adds a server-side event to a case in one transaction; `make` builds
    /// the event kind inside it (so a case number is drawn only if the
    /// event is stored).
    fn server_event(
        &self,
        case_id: &str,
        by: &Actor,
        now_ms: i64,
        make: &dyn Fn(&Connection) -> StorageResult<CaseEventKind>,
    ) -> StorageResult<CaseRecord> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let doc = self.append_event(&tx, case_id, by, now_ms, make)?;
        tx.commit()?;
        self.case_record(&doc)
    }

    /// The case `case_id` as stored, or 404.
    fn load_case(&self, tx: &Connection, case_id: &str) -> StorageResult<EventDoc> {
        let (kind, doc) = self.load(tx, case_id)?.ok_or_else(|| {
            StorageError::NotFound(format!(
                "case {case_id} is not on the server; sync the device that recorded it"
            ))
        })?;
        if kind != DocKind::Case {
            return Err(StorageError::NotFound(format!("{case_id} is not a case")));
        }
        Ok(doc)
    }

    /// Adds one server-side event to a case inside the caller's transaction
    /// and stores the document (into the change feed). Returns the document.
    fn append_event(
        &self,
        tx: &Connection,
        case_id: &str,
        by: &Actor,
        now_ms: i64,
        make: &dyn Fn(&Connection) -> StorageResult<CaseEventKind>,
    ) -> StorageResult<EventDoc> {
        let mut doc = self.load_case(tx, case_id)?;
        let record = self.case_record(&doc)?;
        let latest = record.events.iter().map(|e| e.at).max().unwrap_or_default();
        let mut clock = HlcClock::resume(latest);
        let event = CaseEvent {
            id: EventId::generate(),
            at: clock.tick(now_ms),
            by: by.clone(),
            kind: make(tx)?,
        };
        validate_next(&record.header, &record.events, &event, &self.catalog)?;
        // A fresh Automerge actor for every back-office change. With one actor
        // for the server's lifetime, a server restored from a backup would
        // number its next change like one it made after the backup and lost,
        // which devices still hold: two different changes with the same actor
        // and sequence number, which Automerge refuses ("duplicate seq"), and
        // those devices could no longer sync the case.
        doc.set_actor(&ActorId::random());
        doc.add_sealed_event(&event.id.to_string(), &event, |json| self.sealer.seal(json))?;
        let decoded = decode(&doc, DocKind::Case, &self.catalog)?;
        let saved = doc.save_verified()?;
        self.store_doc(tx, &doc, &saved, DocKind::Case, &decoded, now_ms)?;
        Ok(doc)
    }
}

/// A stored document as the push path reads it.
struct StoredRow {
    kind: String,
    data: Vec<u8>,
    placement: Placement,
    quarantined: bool,
}

/// Sets a document aside: it is no longer served or merged into, until a
/// device's whole copy repairs it. Its bytes are kept for the repair and
/// for an administrator to look at.
fn quarantine(tx: &Connection, doc_id: &str, reason: &str, now_ms: i64) -> StorageResult<()> {
    tracing::error!(
        doc_id,
        "a stored document no longer loads: quarantined until a device's copy repairs it"
    );
    tx.prepare_cached(
        "UPDATE documents SET quarantined_at = ?2, quarantine_reason = ?3 WHERE doc_id = ?1 AND quarantined_at IS NULL",
    )?
    .execute(params![doc_id, now_ms, reason])?;
    Ok(())
}

/// An actor for loading documents that are only read, never changed.
fn actor_for_scan() -> ActorId {
    ActorId::from(vec![0u8; 16])
}

/// Sets aside every stored document that does not load strictly. Run once,
/// when a database is upgraded to version 8: from then on every document is
/// checked to load back before it is stored, so what is served always loads.
fn quarantine_unloadable(tx: &Connection, actor: &ActorId) -> StorageResult<usize> {
    let mut bad = Vec::new();
    {
        let mut stmt = tx.prepare("SELECT doc_id, data FROM documents")?;
        let mut rows = stmt.query([])?;
        while let Some(row) = rows.next()? {
            let doc_id: String = row.get(0)?;
            let data: Vec<u8> = row.get(1)?;
            if let Err(e) = EventDoc::load_strict(&doc_id, &data, actor) {
                bad.push((doc_id, e.to_string()));
            }
        }
    }
    for (doc_id, reason) in &bad {
        quarantine(tx, doc_id, reason, chrono::Utc::now().timestamp_millis())?;
    }
    Ok(bad.len())
}

/// Derives the back-office projection of every stored case again. Run when a
/// database is upgraded to version 9: joint handling changed the derivation
/// (a case dispatched to two units that one of them reported is no longer
/// handled; a merged duplicate is not open), and the projection is derived
/// data, so it is recomputed from the documents rather than patched.
fn reproject_cases(tx: &Connection, catalog: &Catalog, actor: &ActorId) -> StorageResult<usize> {
    let mut bad = Vec::new();
    let mut n = 0;
    {
        let mut stmt = tx.prepare(
            "SELECT doc_id, data FROM documents WHERE kind = ?1 AND quarantined_at IS NULL",
        )?;
        let mut rows = stmt.query([DocKind::Case.as_str()])?;
        while let Some(row) = rows.next()? {
            let doc_id: String = row.get(0)?;
            let data: Vec<u8> = row.get(1)?;
            let derived = EventDoc::load(&doc_id, &data, actor)
                .and_then(|doc| projection::case_of(&doc, catalog));
            match derived {
                Ok((header, _, state)) => {
                    projection::upsert_case(tx, catalog, &header, &state)?;
                    office::project(tx, catalog, &header, &state)?;
                    n += 1;
                }
                // Set aside like any document that no longer loads, rather than refuse to start.
                Err(e) => bad.push((doc_id, e.to_string())),
            }
        }
    }
    for (doc_id, reason) in &bad {
        quarantine(tx, doc_id, reason, chrono::Utc::now().timestamp_millis())?;
    }
    Ok(n)
}

/// SQLite's `meta` table, for the rules of [`server_meta`].
struct SqliteMeta<'a>(&'a Connection);

impl server_meta::Meta for SqliteMeta<'_> {
    fn get(&mut self, key: &str) -> StorageResult<Option<String>> {
        get_meta(self.0, key)
    }

    fn set(&mut self, key: &str, value: &str) -> StorageResult<()> {
        set_meta(self.0, key, value)
    }
}

impl Storage for SqliteStorage {
    fn enroll(&self, device: &Device, token_hash: &[u8]) -> StorageResult<()> {
        let conn = lock(&self.writer);
        let scope = serde_json::to_string(&device.scope).map_err(StorageError::internal)?;
        let inserted = conn.execute(
            "INSERT OR IGNORE INTO devices (device_id, name, role, scope, token_hash, created_at, person_id, token_issued_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?6)",
            params![device.device_id, device.name, device.role.as_str(), scope, token_hash, device.created_at, device.person],
        )?;
        if inserted == 0 {
            return Err(StorageError::AlreadyEnrolled {
                device_id: device.device_id.clone(),
            });
        }
        Ok(())
    }

    fn revoke(&self, device_id: &str, now_ms: i64) -> StorageResult<bool> {
        let conn = lock(&self.writer);
        let n = conn.execute(
            "UPDATE devices SET revoked_at = coalesce(revoked_at, ?2) WHERE device_id = ?1",
            params![device_id, now_ms],
        )?;
        Ok(n > 0)
    }

    fn devices(&self) -> StorageResult<Vec<Device>> {
        let conn = self.reader();
        let mut stmt = conn.prepare(&format!(
            "SELECT {DEVICE_COLUMNS} FROM devices ORDER BY created_at"
        ))?;
        let rows = stmt
            .query_map([], device_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(to_device).collect()
    }

    fn device_by_token(&self, token_hash: &[u8]) -> StorageResult<Option<Device>> {
        let conn = self.reader();
        let row = conn
            .prepare_cached(&format!(
                "SELECT {DEVICE_COLUMNS} FROM devices WHERE token_hash = ?1"
            ))?
            .query_row([token_hash], device_from_row)
            .optional()?;
        row.map(to_device).transpose()
    }

    fn device_token(
        &self,
        token_hash: &[u8],
    ) -> StorageResult<Option<crate::storage::DeviceToken>> {
        self.find_token(token_hash)
    }

    fn rotate_token(
        &self,
        device_id: &str,
        used_hash: &[u8],
        new_hash: &[u8],
        now_ms: i64,
        previous_until: i64,
    ) -> StorageResult<bool> {
        self.replace_token(device_id, used_hash, new_hash, now_ms, previous_until)
    }

    fn drop_previous_token(&self, device_id: &str) -> StorageResult<()> {
        self.forget_previous_token(device_id)
    }

    fn sync(
        &self,
        device: &Device,
        author: Option<&Author>,
        request: &SyncRequest,
        now_ms: i64,
    ) -> StorageResult<SyncResponse> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let feed_end: u64 = get_meta(&tx, "seq")?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let last_cursor: Option<i64> = tx
            .prepare_cached("SELECT last_cursor FROM devices WHERE device_id = ?1")?
            .query_row([&device.device_id], |r| r.get(0))
            .optional()?
            .flatten();
        if must_reset(request.cursor, last_cursor, feed_end) {
            // Nothing of this request is stored (the transaction is rolled
            // back when `tx` drops): the device starts over and pushes every
            // document whole.
            return Ok(reset_response());
        }
        let mut accepted = Vec::new();
        let mut resend = Vec::new();
        let mut refused = Vec::new();
        // Documents the device already holds exactly as the server does (`in_step.rs`).
        let mut in_step = InStep::from_recorded(
            tx.prepare_cached("SELECT doc_id, heads FROM device_in_step WHERE device_id = ?1")?
                .query_map([&device.device_id], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<Vec<(String, Vec<u8>)>>>()?,
        );
        for push in &request.docs {
            let row: Option<StoredRow> = tx
                .prepare_cached(
                    "SELECT kind, data, block, workstation, reporter_device, teams, quarantined_at
                     FROM documents WHERE doc_id = ?1",
                )?
                .query_row([&push.doc_id], |r| {
                    Ok(StoredRow {
                        kind: r.get(0)?,
                        data: r.get(1)?,
                        placement: Placement {
                            block: r.get(2)?,
                            workstation: r.get(3)?,
                            reporter_device: r.get(4)?,
                            teams: serde_json::from_str(&r.get::<_, String>(5)?)
                                .unwrap_or_default(),
                        },
                        quarantined: r.get::<_, Option<i64>>(6)?.is_some(),
                    })
                })
                .optional()?;
            if let Some(row) = &row
                && !device.scope.covers(&device.device_id, &row.placement)
            {
                refused.push(Refusal::new(
                    RefusalCode::OutOfScope,
                    "the document is outside this device's scope (another block, workstation or team); it was not changed",
                ).for_doc(&push.doc_id));
                continue;
            }
            let stored = match &row {
                None => Stored::None,
                Some(r) if r.quarantined => Stored::Quarantined(kind_of(&r.kind)?, &r.data),
                Some(r) => Stored::Sound(kind_of(&r.kind)?, &r.data),
            };
            let mut device_heads = push.heads.clone();
            device_heads.sort();
            match merge_push_sealed(
                &push.doc_id,
                push.kind,
                stored,
                &push.changes,
                author,
                &self.catalog,
                &self.actor,
                &self.sealer,
            ) {
                Merge::MissingDeps => resend.push(push.doc_id.clone()),
                Merge::Refused(r) => {
                    if let (Stored::Sound(_, data), RefusalCode::CorruptDocument) = (stored, r.code)
                        && EventDoc::load_strict(&push.doc_id, data, &self.actor).is_err()
                    {
                        // What the server holds no longer loads (written by an
                        // older version, or damaged on disk): set it aside,
                        // stop serving it, and ask the device for its copy.
                        quarantine(&tx, &push.doc_id, &r.message, now_ms)?;
                        resend.push(push.doc_id.clone());
                        continue;
                    }
                    refused.push(r.for_doc(&push.doc_id));
                }
                Merge::Unchanged { heads } => {
                    if heads == device_heads {
                        in_step.pushed(&push.doc_id, encode_heads(&heads));
                    }
                    accepted.push(Accepted {
                        doc_id: push.doc_id.clone(),
                        heads,
                    });
                }
                Merge::Changed {
                    doc,
                    decoded,
                    saved,
                } => {
                    if row.is_none() {
                        let placement = decoded.placement(&self.catalog);
                        if !device.scope.covers(&device.device_id, &placement) {
                            refused.push(Refusal::new(
                                RefusalCode::OutOfScope,
                                "a new document outside this device's scope (a zero report of another workstation); it was not stored",
                            ).for_doc(&push.doc_id));
                            continue;
                        }
                    }
                    self.store_doc(&tx, &doc, &saved, push.kind, &decoded, now_ms)?;
                    let heads = doc.heads();
                    if heads == device_heads {
                        in_step.pushed(&push.doc_id, encode_heads(&heads));
                    }
                    accepted.push(Accepted {
                        doc_id: push.doc_id.clone(),
                        heads,
                    });
                }
            }
        }

        // Ask for a whole copy of every quarantined document of the device's
        // scope that it did not just push: one that holds it sends it, and the
        // copy repairs the server's (see `Stored::Quarantined`). The partial
        // index keeps this free when nothing is quarantined.
        {
            let scope = ScopeParams::of(device)?;
            let mut stmt = tx.prepare_cached(&format!(
                "SELECT d.doc_id FROM documents d
                 WHERE d.quarantined_at IS NOT NULL AND {IN_SCOPE}
                 ORDER BY d.quarantined_at LIMIT 100"
            ))?;
            let mut rows = stmt.query(&scope.with(&[])[..])?;
            while let Some(row) = rows.next()? {
                let doc_id: String = row.get(0)?;
                let pushed = request.docs.iter().any(|p| p.doc_id == doc_id);
                if !pushed && !resend.contains(&doc_id) {
                    resend.push(doc_id);
                }
            }
        }

        // The feed's end after this request's own writes.
        let max_seq: u64 = get_meta(&tx, "seq")?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0);
        let cursor = request.cursor;
        let mut page = PullPage::new(cursor, request.max_docs, &in_step);
        let scope = ScopeParams::of(device)?;
        let mut stmt = tx.prepare_cached(&format!(
            "SELECT d.doc_id, d.kind, d.data, d.heads, d.seq FROM documents d
             WHERE d.seq > :cursor AND d.quarantined_at IS NULL AND {IN_SCOPE}
             ORDER BY d.seq LIMIT :limit"
        ))?;
        let (cursor_sql, limit_sql) = (cursor as i64, page.rows_to_read());
        let mut rows =
            stmt.query(&scope.with(&[(":cursor", &cursor_sql), (":limit", &limit_sql)])[..])?;
        while let Some(row) = rows.next()? {
            let seq = row.get::<_, i64>(4)? as u64;
            let full = page.offer(seq, row.get(0)?, row.get(3)?, || {
                Ok((kind_of(&row.get::<_, String>(1)?)?, row.get(2)?))
            })?;
            if full {
                break;
            }
        }
        drop(rows);
        drop(stmt);
        let response = page.respond(max_seq, accepted, resend, refused);
        // What this request left in step while the device is still behind is remembered;
        // what the response's cursor passes is forgotten (`in_step.rs`).
        for (doc_id, heads) in in_step.to_record(response.cursor, max_seq) {
            tx.prepare_cached(
                "INSERT INTO device_in_step (device_id, doc_id, heads, until_seq) VALUES (?1, ?2, ?3, ?4)
                 ON CONFLICT (device_id, doc_id) DO UPDATE SET heads = excluded.heads, until_seq = excluded.until_seq",
            )?
            .execute(params![device.device_id, doc_id, heads, max_seq as i64])?;
        }
        if in_step.had_recorded() {
            tx.prepare_cached(
                "DELETE FROM device_in_step WHERE device_id = ?1 AND until_seq <= ?2",
            )?
            .execute(params![device.device_id, response.cursor as i64])?;
        }
        // Recorded with the merge, in its transaction: the record never
        // says less than what the device may have applied.
        tx.prepare_cached(
            "UPDATE devices SET last_cursor = ?2 WHERE device_id = ?1 AND last_cursor IS NOT ?2",
        )?
        .execute(params![device.device_id, response.cursor as i64])?;
        tx.commit()?;
        Ok(response)
    }

    fn register_case(
        &self,
        case_id: &str,
        by: &Actor,
        checklist_item: Option<String>,
        grid: Option<String>,
        now_ms: i64,
    ) -> StorageResult<CaseRecord> {
        let make = |tx: &Connection| -> StorageResult<CaseEventKind> {
            Ok(CaseEventKind::Registered {
                case_number: server_meta::next_case_number(&mut SqliteMeta(tx), now_ms)?,
                checklist_item: checklist_item.clone(),
                grid: grid.clone(),
            })
        };
        self.server_event(case_id, by, now_ms, &make)
    }

    fn add_case_event(
        &self,
        case_id: &str,
        by: &Actor,
        kind: CaseEventKind,
        now_ms: i64,
    ) -> StorageResult<CaseRecord> {
        if matches!(kind, CaseEventKind::Registered { .. }) {
            return Err(StorageError::UseRegister);
        }
        self.server_event(case_id, by, now_ms, &|_| Ok(kind.clone()))
    }

    fn merge_case(
        &self,
        duplicate: &str,
        into: &str,
        by: &Actor,
        note: Option<String>,
        now_ms: i64,
    ) -> StorageResult<CaseRecord> {
        if duplicate == into {
            return Err(StorageError::MergeIntoItself);
        }
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let target = self.case_record(&self.load_case(&tx, into)?)?;
        if let Some(further) = &target.state.merged_into {
            return Err(StorageError::TargetMerged {
                target: into.to_owned(),
                merged_into: further.clone(),
            });
        }
        // The duplicate first: its fold refuses a case that is not open or is merged already,
        // and then nothing is written.
        let merged_into = CaseEventKind::MergedInto {
            target: into.to_owned(),
            note,
        };
        let doc = self.append_event(&tx, duplicate, by, now_ms, &|_| Ok(merged_into.clone()))?;
        let merged_from = CaseEventKind::MergedFrom {
            source: duplicate.to_owned(),
        };
        self.append_event(&tx, into, by, now_ms, &|_| Ok(merged_from.clone()))?;
        tx.commit()?;
        self.case_record(&doc)
    }

    fn case(&self, case_id: &str) -> StorageResult<Option<CaseRecord>> {
        let conn = self.reader();
        match self.load(&conn, case_id)? {
            Some((DocKind::Case, doc)) => Ok(Some(self.case_record(&doc)?)),
            _ => Ok(None),
        }
    }

    fn cases(&self, q: &CaseQuery, now_ms: i64) -> StorageResult<Vec<CaseSummary>> {
        Ok(query::cases(&self.reader(), q, now_ms)?)
    }

    fn pool_stats(&self) -> DbStats {
        let pool = |name, slots: &[&Slot], waits: &WaitHistogram| {
            let open = slots.len() as u32;
            let in_use = slots.iter().filter(|s| s.in_use()).count() as u32;
            PoolSnapshot {
                pool: name,
                max: open,
                open,
                idle: open - in_use,
                in_use,
                wait: waits.snapshot(),
                // A mutex waits as long as it takes.
                timeouts: 0,
            }
        };
        let writer = pool("writer", &[&self.writer], &self.writer_waits);
        let readers: Vec<&Slot> = self.readers.iter().collect();
        let readers = pool("readers", &readers, &self.reader_waits);
        DbStats {
            backend: "sqlite",
            write_lock_wait: writer.wait,
            pools: vec![writer, readers],
        }
    }

    fn ready(&self) -> StorageResult<()> {
        let version: i64 = self
            .reader()
            .query_row("PRAGMA user_version", [], |r| r.get(0))?;
        if version != SCHEMA_VERSION {
            return Err(StorageError::NotReady {
                found: version,
                runs: SCHEMA_VERSION,
            });
        }
        Ok(())
    }

    fn case_page(&self, filter: &CaseFilter, now_ms: i64) -> StorageResult<CasePage> {
        office::page(&self.reader(), filter, now_ms)
    }

    fn case_count(&self, filter: &CaseFilter, now_ms: i64) -> StorageResult<u64> {
        office::count(&self.reader(), filter, now_ms)
    }

    fn changes(&self, after: u64, limit: u32, now_ms: i64) -> StorageResult<Vec<Change>> {
        office::changes(&self.reader(), after, limit, now_ms)
    }

    fn evaluation_input(&self, from_ms: i64, to_ms: i64) -> StorageResult<EvalInput> {
        // One read transaction: the three reads see the same moment.
        let mut conn = self.reader();
        let tx = conn.transaction()?;
        let input = office::eval_input(&tx, from_ms, to_ms)?;
        tx.finish()?;
        Ok(input)
    }

    fn filings(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        workstation: Option<&str>,
    ) -> StorageResult<Vec<FilingRow>> {
        office::filings(&self.reader(), from, to, workstation)
    }

    fn zero_report(&self, workstation: &str, day: NaiveDate) -> StorageResult<Option<ZeroReport>> {
        let doc_id = ZeroReportHeader {
            workstation: workstation.to_owned(),
            day,
        }
        .doc_id();
        let conn = self.reader();
        match self.load(&conn, &doc_id)? {
            Some((DocKind::ZeroReport, doc)) => {
                match decode(&doc, DocKind::ZeroReport, &self.catalog)? {
                    Decoded::ZeroReport(report) => Ok(Some(*report)),
                    Decoded::Case { .. } => Ok(None),
                }
            }
            _ => Ok(None),
        }
    }

    fn stats(&self, now_ms: i64) -> StorageResult<Stats> {
        let conn = self.reader();
        let by_status: Vec<(String, u64)> = query::status_counts(&conn)?
            .into_iter()
            .map(|(s, n)| (s.as_str().to_owned(), n))
            .collect();
        let count = |sql: &str| -> StorageResult<u64> {
            Ok(conn.query_row(sql, [], |r| r.get::<_, i64>(0))? as u64)
        };
        let cases = count("SELECT count(*) FROM case_view")?;
        let registered = count("SELECT count(*) FROM case_view WHERE case_number IS NOT NULL")?;
        let closed = count("SELECT count(*) FROM case_view WHERE status = 'closed'")?;
        let overdue: i64 = conn.query_row(
            &format!(
                "SELECT count(*) FROM case_view v WHERE {}",
                query::overdue_sql("?1")
            ),
            [now_ms],
            |r| r.get(0),
        )?;
        Ok(Stats {
            cases,
            registered,
            closed,
            closure_rate: if registered == 0 {
                0.0
            } else {
                closed as f64 / registered as f64
            },
            overdue: overdue as u64,
            by_status,
            zero_reports: count("SELECT count(*) FROM zero_report_view WHERE filed")?,
            documents: count("SELECT count(*) FROM documents")?,
        })
    }

    fn document(&self, doc_id: &str) -> StorageResult<Option<Vec<u8>>> {
        let conn = self.reader();
        Ok(conn
            .query_row(
                "SELECT data FROM documents WHERE doc_id = ?1",
                [doc_id],
                |r| r.get(0),
            )
            .optional()?)
    }

    fn photo_upload(&self, sha256: &str) -> StorageResult<PhotoUpload> {
        self.photo_upload_state(sha256)
    }

    fn put_photo_chunk(&self, chunk: &PhotoChunk<'_>, now_ms: i64) -> StorageResult<ChunkOutcome> {
        self.append_photo_chunk(chunk, now_ms)
    }

    fn photo_in_scope(&self, device: &Device, sha256: &str) -> StorageResult<bool> {
        SqliteStorage::photo_in_scope(self, device, sha256)
    }

    fn photo(&self, sha256: &str) -> StorageResult<Option<Vec<u8>>> {
        self.photo_data(sha256)
    }

    fn photo_thumbnail(&self, sha256: &str) -> StorageResult<Option<(String, Vec<u8>)>> {
        self.thumbnail_data(sha256)
    }

    fn photos_in_database(&self, after: &str, limit: u32) -> StorageResult<Vec<String>> {
        self.photos_with_data(after, limit)
    }

    fn move_photo_to_store(&self, sha256: &str) -> StorageResult<Moved> {
        self.move_to_store(sha256)
    }

    fn create_pairing_code(&self, code: &crate::pairing::NewPairingCode) -> StorageResult<bool> {
        self.insert_pairing_code(code)
    }

    fn duplicates_near(
        &self,
        item: &str,
        at_ms: i64,
        lat: f64,
        lon: f64,
    ) -> StorageResult<Vec<crate::storage::intake::DuplicateHint>> {
        self.hints_at(item, at_ms, lat, lon)
    }

    fn set_login(&self, login: &crate::storage::console::StaffLogin) -> StorageResult<()> {
        self.put_login(login)
    }

    fn login_by_username(
        &self,
        username: &str,
    ) -> StorageResult<Option<crate::storage::console::StaffLogin>> {
        self.get_login("username", username)
    }

    fn login_of(
        &self,
        staff_id: &str,
    ) -> StorageResult<Option<crate::storage::console::StaffLogin>> {
        self.get_login("staff_id", staff_id)
    }

    fn create_session(
        &self,
        token_hash: &[u8],
        session: &crate::storage::console::ConsoleSession,
    ) -> StorageResult<()> {
        self.insert_session(token_hash, session)
    }

    fn session(
        &self,
        token_hash: &[u8],
    ) -> StorageResult<Option<crate::storage::console::ConsoleSession>> {
        self.get_session(token_hash)
    }

    fn touch_session(&self, token_hash: &[u8], now_ms: i64) -> StorageResult<()> {
        self.set_session_seen(token_hash, now_ms)
    }

    fn end_session(&self, token_hash: &[u8]) -> StorageResult<bool> {
        self.delete_session(token_hash)
    }

    fn redeem_pairing_code(
        &self,
        redeem: &crate::pairing::Redeem,
    ) -> StorageResult<crate::pairing::Redeemed> {
        self.redeem_code(redeem)
    }

    fn pending_pairing_codes(
        &self,
        now_ms: i64,
    ) -> StorageResult<Vec<crate::pairing::PendingCode>> {
        self.pending_codes(now_ms)
    }

    fn withdraw_pairing_code(&self, id: i64, now_ms: i64) -> StorageResult<bool> {
        self.withdraw_code(id, now_ms)
    }

    fn quarantined(&self) -> StorageResult<Vec<Quarantined>> {
        let conn = self.reader();
        let mut stmt = conn.prepare(
            "SELECT doc_id, kind, quarantined_at, quarantine_reason FROM documents
             WHERE quarantined_at IS NOT NULL ORDER BY quarantined_at, doc_id",
        )?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Quarantined {
                    doc_id: r.get(0)?,
                    kind: r.get(1)?,
                    quarantined_at: r.get(2)?,
                    reason: r.get::<_, Option<String>>(3)?.unwrap_or_default(),
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    fn person(&self, staff_id: &str) -> StorageResult<Option<crate::storage::Person>> {
        self.person_by_staff_id(staff_id)
    }

    fn upsert_roster(
        &self,
        people: &[crate::storage::Person],
        units: &[crate::storage::Unit],
    ) -> StorageResult<()> {
        self.upsert_people_and_units(people, units)
    }

    fn people(&self) -> StorageResult<Vec<crate::storage::Person>> {
        self.all_people()
    }

    fn units(&self) -> StorageResult<Vec<crate::storage::Unit>> {
        self.all_units()
    }

    fn audit(&self, entry: &crate::storage::AuditEntry) -> StorageResult<()> {
        self.append_audit(entry)
    }

    fn audit_log(
        &self,
        since_ms: i64,
        limit: u32,
    ) -> StorageResult<Vec<crate::storage::AuditEntry>> {
        self.audit_since(since_ms, limit)
    }

    fn intake_case(&self, intake: &Intake, now_ms: i64) -> StorageResult<IntakeOutcome> {
        self.intake(intake, now_ms)
    }

    fn duplicate_hints(&self, case_id: &str) -> StorageResult<Vec<DuplicateHint>> {
        self.hints(case_id)
    }

    fn reporter_contact(&self, case_id: &str) -> StorageResult<Option<ReporterContact>> {
        self.contact(case_id)
    }

    fn create_api_key(&self, key: &ApiKey, key_hash: &[u8]) -> StorageResult<()> {
        self.insert_api_key(key, key_hash)
    }

    fn api_key_by_hash(&self, key_hash: &[u8]) -> StorageResult<Option<ApiKey>> {
        self.find_api_key(key_hash)
    }

    fn api_keys(&self) -> StorageResult<Vec<ApiKey>> {
        self.all_api_keys()
    }

    fn revoke_api_key(&self, key_id: &str, now_ms: i64) -> StorageResult<bool> {
        self.revoke_key(key_id, now_ms)
    }

    fn request_ids(&self, filter: &RequestFilter) -> StorageResult<Vec<String>> {
        SqliteStorage::request_ids(self, filter)
    }

    fn erase_reporter_contact(&self, case_id: &str) -> StorageResult<bool> {
        self.erase_contact(case_id)
    }
}

/// The scope a centre device has.
pub fn everything() -> Scope {
    Scope {
        all: true,
        ..Scope::default()
    }
}

/// The conformance suite (`crate::storage::conformance`) on SQLite: each test on a new
/// database file in a temporary directory.
#[cfg(test)]
mod conformance {
    use super::*;
    use crate::storage::conformance::Fresh;

    fn fresh(catalog: Arc<Catalog>) -> Fresh<SqliteStorage> {
        let dir = tempfile::tempdir().unwrap();
        let storage = SqliteStorage::open(dir.path().join("server.sqlite3"), catalog).unwrap();
        Fresh::new(storage, dir)
    }

    crate::storage_conformance_tests!(fresh);
}

/// What only the SQLite backend has: its old schemas and their migrations.
#[cfg(test)]
mod tests {
    use super::*;

    fn columns(conn: &Connection, table: &str) -> Vec<String> {
        table_rows(conn, &format!("PRAGMA table_info({table})"))
    }

    fn table_rows(conn: &Connection, sql: &str) -> Vec<String> {
        let mut stmt = conn.prepare(sql).unwrap();
        let n = stmt.column_count();
        stmt.query_map([], |r| {
            (0..n)
                .map(|i| {
                    r.get::<_, rusqlite::types::Value>(i)
                        .map(|v| format!("{v:?}"))
                })
                .collect::<rusqlite::Result<Vec<_>>>()
                .map(|c| c.join("|"))
        })
        .unwrap()
        .collect::<rusqlite::Result<Vec<_>>>()
        .unwrap()
    }

    #[test]
    fn a_version_3_database_migrates_to_the_fresh_schema() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Arc::new(Catalog::demo().unwrap());
        let fresh = dir.path().join("fresh.sqlite3");
        drop(SqliteStorage::open(&fresh, catalog.clone()).unwrap());
        // A version 3 database with an enrolled device: today's schema
        // without the column version 4 adds.
        let old = dir.path().join("old.sqlite3");
        let storage = SqliteStorage::open(&old, catalog.clone()).unwrap();
        let device = Device {
            device_id: "dev-1".into(),
            name: "handheld".into(),
            role: DeviceRole::Field,
            scope: Scope::default(),
            created_at: 1,
            revoked_at: None,
            person: None,
        };
        storage.enroll(&device, &[1; 32]).unwrap();
        drop(storage);
        let conn = Connection::open(&old).unwrap();
        conn.execute_batch(
            "ALTER TABLE devices DROP COLUMN last_cursor; DROP TABLE photo_refs;
             ALTER TABLE devices DROP COLUMN person_id;
             DROP TABLE person_units; DROP TABLE people; DROP TABLE units; DROP TABLE audit_log;
             DROP INDEX documents_quarantined;
             ALTER TABLE documents DROP COLUMN quarantined_at;
             ALTER TABLE documents DROP COLUMN quarantine_reason;
             DROP TABLE case_assignment; DROP TABLE case_span; DROP TABLE case_office;
             DROP INDEX case_view_by_reported; DROP INDEX case_view_by_channel;
             DROP TABLE pairing_codes;
             DROP TABLE staff_logins; DROP TABLE console_sessions;
             DROP INDEX devices_prev_token; ALTER TABLE devices DROP COLUMN token_issued_at;
             ALTER TABLE devices DROP COLUMN prev_token_hash;
             ALTER TABLE devices DROP COLUMN prev_token_until;
             DROP TABLE device_in_step;
             PRAGMA user_version = 3;",
        )
        .unwrap();
        drop(conn);

        let before = chrono::Utc::now().timestamp_millis();
        let storage = SqliteStorage::open(&old, catalog).unwrap();
        assert_eq!(storage.devices().unwrap(), vec![device]);
        // A token from before expiry existed counts as issued at the upgrade: it keeps
        // working for a whole lifetime.
        let token = storage.device_token(&[1; 32]).unwrap().unwrap();
        assert!(token.issued_at >= before, "{}", token.issued_at);
        drop(storage);
        let (old, fresh) = (
            Connection::open(&old).unwrap(),
            Connection::open(&fresh).unwrap(),
        );
        let version = |c: &Connection| -> i64 {
            c.query_row("PRAGMA user_version", [], |r| r.get(0))
                .unwrap()
        };
        assert_eq!(version(&old), SCHEMA_VERSION);
        assert_eq!(columns(&old, "devices"), columns(&fresh, "devices"));
        assert_eq!(columns(&old, "photo_refs"), columns(&fresh, "photo_refs"));
        let schema = |c: &Connection| {
            table_rows(
                c,
                "SELECT type, name, sql FROM sqlite_master WHERE name LIKE 'case_%' ORDER BY name",
            )
        };
        assert_eq!(schema(&old), schema(&fresh));
        assert_eq!(
            columns(&old, "pairing_codes"),
            columns(&fresh, "pairing_codes")
        );
        assert_eq!(
            columns(&old, "console_sessions"),
            columns(&fresh, "console_sessions")
        );
        let record: Option<i64> = old
            .query_row("SELECT last_cursor FROM devices", [], |r| r.get(0))
            .unwrap();
        assert_eq!(
            record, None,
            "a migrated device has no record until it syncs"
        );
    }
}
