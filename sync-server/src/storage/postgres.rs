//! The PostgreSQL backend: several server instances on one database.
//!
//! **Driver and pool.** The blocking `postgres` client (a synchronous wrapper over
//! `tokio-postgres`) with an `r2d2` pool. The [`Storage`] trait is synchronous and every
//! handler calls it inside `spawn_blocking`, because the work inside a transaction — merging
//! Automerge changes, checking them against the case rules, deriving projections — is CPU
//! work in the core's synchronous code. An async driver (`sqlx`, `deadpool-postgres`) would
//! need a runtime handle re-entered from the blocking thread for every query, or the whole
//! merge rewritten as async; the blocking client keeps one code shape for both backends.
//! The pool's size bounds the database connections of one instance (`WANGGE_DB_POOL`,
//! default 8), which matters more than raw speed once several instances share a database.
//!
//! **One writer at a time, across every instance.** Every transaction that writes a
//! document takes the transaction-level advisory lock [`WRITE_LOCK`] first. This is the
//! change feed's commit-order guarantee (see `docs/sync-protocol.md`, "Several
//! instances"): a document's `seq` is drawn under the lock and the lock is released only
//! after the commit is visible, so documents become visible in `seq` order and a device's
//! cursor can never pass a document that commits later with a smaller number. It is also
//! what makes a merge safe: two instances merging pushes into the same document one after
//! the other, never both from the same stored copy. Syncs that push nothing, and every read
//! of the back office, take no lock: they read one snapshot (`REPEATABLE READ`), which holds
//! a prefix of the feed. The cost is that document writes are serialised across the
//! instances, as SQLite serialises them inside one; measured in `docs/scaling.md`.
//!
//! Case numbers are drawn from a per-year counter row under the same lock, so they are
//! unique across instances (gap-free, even: a number is drawn only inside the transaction
//! that stores it).

use std::collections::{HashMap, HashSet};
use std::str::FromStr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use automerge::ActorId;
use chrono::NaiveDate;
use postgres::types::ToSql;
use postgres::{IsolationLevel, NoTls};
use r2d2_postgres::PostgresConnectionManager;
use wangge_core::case::{CaseEvent, CaseEventKind, validate_next};
use wangge_core::doc::{DocKind, EventDoc};
use wangge_core::hlc::HlcClock;
use wangge_core::store::query;
use wangge_core::sync::protocol::{Accepted, SyncRequest, SyncResponse};
use wangge_core::zero_report::{ZeroReport, ZeroReportHeader};
use wangge_core::{Actor, CaseQuery, CaseRecord, CaseStatus, CaseSummary, Catalog, EventId};

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
    ChunkOutcome, Device, DeviceRole, PhotoChunk, PhotoUpload, Quarantined, Stats, Storage,
    must_reset, reset_response, server_meta,
};

#[path = "postgres_console.rs"]
mod console_db;
#[path = "postgres_doc_writes.rs"]
mod doc_writes;
#[path = "postgres_intake.rs"]
mod intake_db;
#[path = "postgres_office.rs"]
mod office;
#[path = "postgres_pairing.rs"]
mod pairing;
#[path = "postgres_people.rs"]
mod people;
#[path = "postgres_photos.rs"]
mod photos;
#[path = "postgres_schema.rs"]
mod schema;
/// Test support: fresh schemas of the test database (used by this crate's tests, its
/// binary's tests and the e2e crate, hence not behind `cfg(test)`).
#[doc(hidden)]
#[path = "postgres_testing.rs"]
pub mod testing;
#[path = "postgres_tokens.rs"]
mod tokens;
#[path = "postgres_tx.rs"]
mod tx;
use doc_writes::DocWrites;
use tx::Tx;

pub use schema::PG_SCHEMA_VERSION;

/// The key of the advisory lock every document-writing transaction holds (see the module
/// documentation). Any constant would do; this one spells "wangge" in ASCII.
pub const WRITE_LOCK: i64 = 0x7761_6e67_6765;
/// The key of the advisory lock a migration holds, so that instances started together
/// migrate one after the other.
const MIGRATE_LOCK: i64 = 0x7761_6e67_6d69;
/// How many times a read-write transaction that lost a serialisation race is retried.
const SERIALIZATION_RETRIES: u32 = 5;

/// A pool of connections to one database, each with its prepared statements.
pub(super) type Pool = r2d2::Pool<tx::Manager>;
/// A query parameter.
pub(super) type Param<'a> = &'a (dyn ToSql + Sync);

/// What `/metrics` tells of the database ([`Storage::pool_stats`]): the pool's waits,
/// counted by r2d2's event handler on every checkout, and the write lock's.
#[derive(Debug, Default)]
struct PoolCounters {
    waits: WaitHistogram,
    timeouts: AtomicU64,
    write_lock: WaitHistogram,
}

/// The pool's event handler: feeds [`PoolCounters`].
#[derive(Debug)]
struct PoolEvents(Arc<PoolCounters>);

impl r2d2::HandleEvent for PoolEvents {
    fn handle_checkout(&self, event: r2d2::event::CheckoutEvent) {
        self.0.waits.record(event.duration());
    }

    fn handle_timeout(&self, event: r2d2::event::TimeoutEvent) {
        self.0.waits.record(event.timeout());
        self.0.timeouts.fetch_add(1, Ordering::Relaxed);
    }
}

/// PostgreSQL storage.
pub struct PgStorage {
    pool: Pool,
    counters: Arc<PoolCounters>,
    catalog: Arc<Catalog>,
    actor: ActorId,
    sealer: Sealer,
    /// Where finished photos go; `None`: into the database (`photo_store.rs`).
    photo_store: Option<Arc<dyn PhotoStore>>,
}

impl std::fmt::Debug for PgStorage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Not the connection string: it may carry a password.
        f.debug_struct("PgStorage")
            .field("connections", &self.pool.state().connections)
            .finish_non_exhaustive()
    }
}

/// PostgreSQL failing is the storage failing: logged by the HTTP edge, answered `500 internal`.
impl From<postgres::Error> for StorageError {
    fn from(e: postgres::Error) -> Self {
        StorageError::Database(Box::new(e))
    }
}

/// No connection within the pool's timeout: the database is down or overloaded.
impl From<r2d2::Error> for StorageError {
    fn from(e: r2d2::Error) -> Self {
        StorageError::Database(Box::new(e))
    }
}

/// Whether a URL names a PostgreSQL database rather than an SQLite file.
pub fn is_postgres_url(db: &str) -> bool {
    db.starts_with("postgres://") || db.starts_with("postgresql://")
}

pub(super) fn get_meta(tx: &mut Tx<'_>, key: &str) -> StorageResult<Option<String>> {
    Ok(tx
        .query_opt("SELECT value FROM meta WHERE key = $1", &[&key])?
        .map(|r| r.get(0)))
}

pub(super) fn set_meta(tx: &mut Tx<'_>, key: &str, value: &str) -> StorageResult<()> {
    tx.execute(
        "INSERT INTO meta (key, value) VALUES ($1, $2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        &[&key, &value],
    )?;
    Ok(())
}

fn meta_u64(tx: &mut Tx<'_>, key: &str) -> StorageResult<u64> {
    Ok(get_meta(tx, key)?.and_then(|s| s.parse().ok()).unwrap_or(0))
}

/// The columns [`device_from_row`] reads, in order.
pub(super) const DEVICE_COLUMNS: &str =
    "device_id, name, role, scope, created_at, revoked_at, person_id";

/// A device from a row that starts with [`DEVICE_COLUMNS`].
pub(super) fn device_from_row(r: &postgres::Row) -> StorageResult<Device> {
    let role: String = r.try_get(2)?;
    let scope: String = r.try_get(3)?;
    Ok(Device {
        device_id: r.try_get(0)?,
        name: r.try_get(1)?,
        role: DeviceRole::parse(&role)
            .ok_or_else(|| StorageError::internal(format!("unknown role {role}")))?,
        scope: serde_json::from_str(&scope).map_err(StorageError::internal)?,
        created_at: r.try_get(4)?,
        revoked_at: r.try_get(5)?,
        person: r.try_get(6)?,
    })
}

fn kind_of(text: &str) -> StorageResult<DocKind> {
    DocKind::parse(text)
        .ok_or_else(|| StorageError::internal(format!("unknown stored kind {text}")))
}

/// Whether a document `d` is in a device's scope, with its five parameters numbered from
/// `$first`: the same rule as SQLite's `IN_SCOPE` and [`crate::storage::Scope::covers`].
pub(super) fn in_scope(first: usize) -> String {
    let [all, blocks, workstations, device, teams] =
        [first, first + 1, first + 2, first + 3, first + 4];
    format!(
        "(${all}::boolean OR d.block = ANY(${blocks}::text[]) OR d.workstation = ANY(${workstations}::text[])
          OR d.reporter_device = ${device}::text OR d.teams ?| ${teams}::text[])"
    )
}

/// The values of [`in_scope`]'s parameters for one device.
pub(super) struct ScopeParams {
    all: bool,
    blocks: Vec<String>,
    workstations: Vec<String>,
    device: String,
    teams: Vec<String>,
}

impl ScopeParams {
    /// The parameters of `device`'s scope.
    pub(super) fn of(device: &Device) -> Self {
        ScopeParams {
            all: device.scope.all,
            blocks: device.scope.blocks.clone(),
            workstations: device.scope.workstations.clone(),
            device: device.device_id.clone(),
            teams: device.scope.teams.clone(),
        }
    }

    /// `before`, then the five parameters of [`in_scope`], then `after`.
    pub(super) fn params<'a>(
        &'a self,
        before: &[Param<'a>],
        after: &[Param<'a>],
    ) -> Vec<Param<'a>> {
        let mut all: Vec<Param<'a>> = before.to_vec();
        all.extend_from_slice(&[
            &self.all,
            &self.blocks,
            &self.workstations,
            &self.device,
            &self.teams,
        ]);
        all.extend_from_slice(after);
        all
    }
}

/// Whether an error is PostgreSQL refusing a transaction that raced another one: worth
/// running again.
fn is_serialization_failure(e: &StorageError) -> bool {
    let StorageError::Database(source) = e else {
        return false;
    };
    source
        .downcast_ref::<postgres::Error>()
        .and_then(postgres::Error::code)
        .is_some_and(|c| {
            *c == postgres::error::SqlState::T_R_SERIALIZATION_FAILURE
                || *c == postgres::error::SqlState::T_R_DEADLOCK_DETECTED
        })
}

impl PgStorage {
    /// Connects to the database at `url` (`postgres://user@host:port/db`, with
    /// `?options=-csearch_path%3Dstreet` to keep a street in its own schema), creates or
    /// upgrades its schema, and keeps up to `WANGGE_DB_POOL` (default 8) connections.
    pub fn open(url: &str, catalog: Arc<Catalog>) -> StorageResult<Self> {
        let size = std::env::var("WANGGE_DB_POOL")
            .ok()
            .and_then(|s| s.parse::<u32>().ok())
            .filter(|n| *n > 0)
            .unwrap_or(8);
        Self::open_with_pool_size(url, catalog, size)
    }

    /// Keeps the bytes of the photos completed from now on in `store` rather than in the
    /// database, and serves the photos already moved there (`photo_store.rs`). Several
    /// instances need the same store (a shared directory, or an object store).
    pub fn with_photo_store(mut self, store: Arc<dyn PhotoStore>) -> Self {
        self.photo_store = Some(store);
        self
    }

    /// [`PgStorage::open`] with an explicit pool size.
    pub fn open_with_pool_size(url: &str, catalog: Arc<Catalog>, size: u32) -> StorageResult<Self> {
        let config = postgres::Config::from_str(url).map_err(|e| {
            StorageError::internal(format!(
                "the database URL is not a valid PostgreSQL connection string ({e}); \
                 write it as postgres://user@host:5432/database"
            ))
        })?;
        let counters = Arc::new(PoolCounters::default());
        let pool = r2d2::Pool::builder()
            .max_size(size)
            .min_idle(Some(0))
            .connection_timeout(Duration::from_secs(5))
            .event_handler(Box::new(PoolEvents(counters.clone())))
            .build_unchecked(tx::Manager(PostgresConnectionManager::new(config, NoTls)));
        let (actor, sealer) = {
            let mut conn = pool.get()?;
            let mut tx = conn.begin(None, false)?;
            tx.execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATE_LOCK])?;
            migrate(&mut tx, &catalog)?;
            let keys = server_meta::server_keys(&mut PgMeta(&mut tx))?;
            tx.commit()?;
            keys
        };
        Ok(PgStorage {
            pool,
            counters,
            catalog,
            actor,
            sealer,
            photo_store: None,
        })
    }

    /// Runs `f` in a transaction that holds the write lock, and commits it.
    pub(super) fn write<T>(
        &self,
        f: impl FnOnce(&mut Tx<'_>) -> StorageResult<T>,
    ) -> StorageResult<T> {
        let mut conn = self.pool.get()?;
        let mut tx = conn.begin(None, false)?;
        // Timed with the statement's round trip: what a writer waits, the lock uncontended.
        let asked = Instant::now();
        tx.execute("SELECT pg_advisory_xact_lock($1)", &[&WRITE_LOCK])?;
        self.counters.write_lock.record(asked.elapsed());
        let out = f(&mut tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Runs `f` in a transaction without the write lock (rows other than documents, such as
    /// a device's cursor or a session), and commits it; retried when it lost a race.
    pub(super) fn update<T>(
        &self,
        mut f: impl FnMut(&mut Tx<'_>) -> StorageResult<T>,
    ) -> StorageResult<T> {
        let mut tries = 0;
        loop {
            let mut conn = self.pool.get()?;
            let result = (|| {
                let mut tx = conn.begin(Some(IsolationLevel::RepeatableRead), false)?;
                let out = f(&mut tx)?;
                tx.commit()?;
                Ok(out)
            })();
            match result {
                Err(e) if tries < SERIALIZATION_RETRIES && is_serialization_failure(&e) => {
                    tries += 1;
                }
                other => return other,
            }
        }
    }

    /// Runs `f` in a read-only snapshot: every read inside sees the same moment.
    pub(super) fn read<T>(
        &self,
        f: impl FnOnce(&mut Tx<'_>) -> StorageResult<T>,
    ) -> StorageResult<T> {
        let mut conn = self.pool.get()?;
        let mut tx = conn.begin(Some(IsolationLevel::RepeatableRead), true)?;
        let out = f(&mut tx)?;
        tx.commit()?;
        Ok(out)
    }

    /// Stores a changed document, bumps the feed and refreshes the back-office rows, at
    /// once (a push stores its documents as a batch: [`DocWrites`]). Only inside
    /// [`PgStorage::write`]: the feed's order depends on it.
    fn store_doc(
        &self,
        tx: &mut Tx<'_>,
        doc: &EventDoc,
        saved: &[u8],
        kind: DocKind,
        decoded: &Decoded,
        now_ms: i64,
    ) -> StorageResult<u64> {
        let mut writes = DocWrites::default();
        let seq = writes.add(
            tx,
            &self.catalog,
            doc.id(),
            kind,
            saved.to_vec(),
            encode_heads(&doc.heads()),
            decoded.clone(),
            now_ms,
        )?;
        writes.flush(tx, &self.catalog)?;
        Ok(seq)
    }

    fn load(&self, tx: &mut Tx<'_>, doc_id: &str) -> StorageResult<Option<(DocKind, EventDoc)>> {
        let row = tx.query_opt(
            "SELECT kind, data, quarantined_at FROM documents WHERE doc_id = $1",
            &[&doc_id],
        )?;
        let quarantined = || StorageError::Quarantined {
            doc_id: doc_id.to_owned(),
        };
        let Some(row) = row else {
            return Ok(None);
        };
        if row.try_get::<_, Option<i64>>(2)?.is_some() {
            return Err(quarantined());
        }
        let kind: String = row.try_get(0)?;
        let data: Vec<u8> = row.try_get(1)?;
        match EventDoc::load_strict(doc_id, &data, &self.actor) {
            Ok(doc) => Ok(Some((kind_of(&kind)?, doc))),
            Err(e) => {
                // As on SQLite: every stored document was checked to load back first.
                tracing::error!(doc_id, error = %e, "a stored document does not load");
                Err(quarantined())
            }
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

    /// Adds a server-side event to a case in one write transaction; `make` builds the event
    /// kind inside it (so a case number is drawn only if the event is stored).
    fn server_event(
        &self,
        case_id: &str,
        by: &Actor,
        now_ms: i64,
        make: &dyn Fn(&mut Tx<'_>) -> StorageResult<CaseEventKind>,
    ) -> StorageResult<CaseRecord> {
        let doc = self.write(|tx| self.append_event(tx, case_id, by, now_ms, make))?;
        self.case_record(&doc)
    }

    /// The case `case_id` as stored, or 404.
    fn load_case(&self, tx: &mut Tx<'_>, case_id: &str) -> StorageResult<EventDoc> {
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

    /// Adds one server-side event to a case inside the caller's write transaction and
    /// stores the document (into the change feed). Returns the document. See SQLite's
    /// `append_event` for why every change gets a fresh Automerge actor.
    fn append_event(
        &self,
        tx: &mut Tx<'_>,
        case_id: &str,
        by: &Actor,
        now_ms: i64,
        make: &dyn Fn(&mut Tx<'_>) -> StorageResult<CaseEventKind>,
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
        doc.set_actor(&ActorId::random());
        doc.add_sealed_event(&event.id.to_string(), &event, |json| self.sealer.seal(json))?;
        let decoded = decode(&doc, DocKind::Case, &self.catalog)?;
        let saved = doc.save_verified()?;
        self.store_doc(tx, &doc, &saved, DocKind::Case, &decoded, now_ms)?;
        Ok(doc)
    }

    /// One sync request: pushes merged under the write lock, then the pull from the feed.
    fn sync_in(
        &self,
        tx: &mut Tx<'_>,
        device: &Device,
        author: Option<&Author>,
        request: &SyncRequest,
        now_ms: i64,
    ) -> StorageResult<Option<SyncResponse>> {
        let feed_end = meta_u64(tx, "seq")?;
        let last_cursor: Option<i64> = tx
            .query_opt(
                "SELECT last_cursor FROM devices WHERE device_id = $1",
                &[&device.device_id],
            )?
            .and_then(|r| r.get(0));
        if must_reset(request.cursor, last_cursor, feed_end) {
            // Nothing of this request is stored: the caller rolls back.
            return Ok(None);
        }
        let mut accepted = Vec::new();
        let mut resend = Vec::new();
        let mut refused = Vec::new();
        // Documents the device already holds exactly as the server does (`in_step.rs`).
        let mut in_step = InStep::from_recorded(
            tx.query(
                "SELECT doc_id, heads FROM device_in_step WHERE device_id = $1",
                &[&device.device_id],
            )?
            .iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect::<StorageResult<Vec<(String, Vec<u8>)>>>()?,
        );
        // Every pushed document's stored copy in one query, and every changed one written
        // in one statement per table after the loop (see `postgres_doc_writes.rs`).
        let ids: Vec<&str> = request.docs.iter().map(|p| p.doc_id.as_str()).collect();
        let mut copies = stored_rows(tx, &ids)?;
        let mut read: HashSet<&str> = HashSet::new();
        let mut writes = DocWrites::default();
        for push in &request.docs {
            let row = if read.insert(&push.doc_id) {
                copies.remove(&push.doc_id)
            } else {
                // Pushed twice in one request: the second copy merges into what the first
                // stored, as when each was stored at once.
                writes.flush(tx, &self.catalog)?;
                stored_rows(tx, &[push.doc_id.as_str()])?.remove(&push.doc_id)
            };
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
                        quarantine(tx, &push.doc_id, &r.message, now_ms)?;
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
                    let heads = doc.heads();
                    writes.add(
                        tx,
                        &self.catalog,
                        doc.id(),
                        push.kind,
                        saved,
                        encode_heads(&heads),
                        decoded,
                        now_ms,
                    )?;
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

        writes.flush(tx, &self.catalog)?;

        // Ask for a whole copy of every quarantined document of the device's scope that it
        // did not just push (see SQLite's `sync`).
        let scope = ScopeParams::of(device);
        let sql = format!(
            "SELECT d.doc_id FROM documents d
             WHERE d.quarantined_at IS NOT NULL AND {}
             ORDER BY d.quarantined_at LIMIT 100",
            in_scope(1)
        );
        for row in tx.query(&sql, &scope.params(&[], &[]))? {
            let doc_id: String = row.try_get(0)?;
            let pushed = request.docs.iter().any(|p| p.doc_id == doc_id);
            if !pushed && !resend.contains(&doc_id) {
                resend.push(doc_id);
            }
        }

        let max_seq = meta_u64(tx, "seq")?;
        let cursor = request.cursor;
        let mut page = PullPage::new(cursor, request.max_docs, &in_step);
        let (cursor_sql, limit_sql) = (cursor as i64, page.rows_to_read());
        let sql = format!(
            "SELECT d.doc_id, d.kind, d.heads, d.seq, d.data FROM documents d
             WHERE d.seq > $1 AND d.quarantined_at IS NULL AND {}
             ORDER BY d.seq LIMIT $2",
            in_scope(3)
        );
        let params = scope.params(&[&cursor_sql, &limit_sql], &[]);
        // A portal reads the rows a few at a time, so a page of 5,000 documents never sits
        // in memory at once beyond the byte budget.
        let portal = tx.bind(&sql, &params)?;
        'pages: loop {
            let rows = tx.query_portal(&portal, 64)?;
            if rows.is_empty() {
                break;
            }
            for row in rows {
                let seq = row.try_get::<_, i64>(3)? as u64;
                let full = page.offer(seq, row.try_get(0)?, row.try_get(2)?, || {
                    Ok((kind_of(&row.try_get::<_, String>(1)?)?, row.try_get(4)?))
                })?;
                if full {
                    break 'pages;
                }
            }
        }
        let response = page.respond(max_seq, accepted, resend, refused);
        // What this request left in step while the device is still behind is remembered;
        // what the response's cursor passes is forgotten (`in_step.rs`), one statement each.
        let (ids, heads): (Vec<&str>, Vec<&[u8]>) =
            in_step.to_record(response.cursor, max_seq).unzip();
        if !ids.is_empty() {
            tx.execute(
                "INSERT INTO device_in_step (device_id, doc_id, heads, until_seq)
                 SELECT $1, t.doc_id, t.heads, $4 FROM unnest($2::text[], $3::bytea[]) AS t(doc_id, heads)
                 ON CONFLICT (device_id, doc_id) DO UPDATE SET heads = excluded.heads, until_seq = excluded.until_seq",
                &[&device.device_id, &ids, &heads, &(max_seq as i64)],
            )?;
        }
        if in_step.had_recorded() {
            tx.execute(
                "DELETE FROM device_in_step WHERE device_id = $1 AND until_seq <= $2",
                &[&device.device_id, &(response.cursor as i64)],
            )?;
        }
        // Recorded with the merge, in its transaction: the record never says less than
        // what the device may have applied.
        tx.execute(
            "UPDATE devices SET last_cursor = $2 WHERE device_id = $1 AND last_cursor IS DISTINCT FROM $2",
            &[&device.device_id, &(response.cursor as i64)],
        )?;
        Ok(Some(response))
    }
}

/// A stored document as the push path reads it.
struct StoredRow {
    kind: String,
    data: Vec<u8>,
    placement: Placement,
    quarantined: bool,
}

/// The stored copies of the documents `ids` (those that are stored), by id.
fn stored_rows(tx: &mut Tx<'_>, ids: &[&str]) -> StorageResult<HashMap<String, StoredRow>> {
    tx.query(
        "SELECT doc_id, kind, data, block, workstation, reporter_device, teams::text, quarantined_at
         FROM documents WHERE doc_id = ANY($1::text[])",
        &[&ids],
    )?
    .iter()
    .map(|r| {
        Ok((
            r.try_get(0)?,
            StoredRow {
                kind: r.try_get(1)?,
                data: r.try_get(2)?,
                placement: Placement {
                    block: r.try_get(3)?,
                    workstation: r.try_get(4)?,
                    reporter_device: r.try_get(5)?,
                    teams: serde_json::from_str(&r.try_get::<_, String>(6)?).unwrap_or_default(),
                },
                quarantined: r.try_get::<_, Option<i64>>(7)?.is_some(),
            },
        ))
    })
    .collect()
}

/// Creates the schema in an empty database, or upgrades it step by step, inside the
/// caller's transaction (which holds [`MIGRATE_LOCK`]).
fn migrate(tx: &mut Tx<'_>, _catalog: &Catalog) -> StorageResult<i64> {
    let exists: bool = tx
        .query_one("SELECT to_regclass('meta') IS NOT NULL", &[])?
        .try_get(0)?;
    let version: i64 = if exists {
        get_meta(tx, "schema_version")?
            .and_then(|v| v.parse().ok())
            .unwrap_or(0)
    } else {
        0
    };
    if version > PG_SCHEMA_VERSION {
        return Err(StorageError::internal(format!(
            "database schema {version} is newer than this server ({PG_SCHEMA_VERSION}); update the server"
        )));
    }
    for (from, step) in schema::MIGRATIONS.iter().enumerate().skip(version as usize) {
        tx.batch_execute(step).map_err(|e| {
            StorageError::internal(format!(
                "migrating the PostgreSQL schema from version {from} failed: {e}; \
                 the database user needs the right to create tables (and the pg_trgm extension)"
            ))
        })?;
    }
    if version < PG_SCHEMA_VERSION {
        set_meta(tx, "schema_version", &PG_SCHEMA_VERSION.to_string())?;
    }
    Ok(version)
}

/// PostgreSQL's `meta` table, for the rules of [`server_meta`].
struct PgMeta<'t, 'a>(&'t mut Tx<'a>);

impl server_meta::Meta for PgMeta<'_, '_> {
    fn get(&mut self, key: &str) -> StorageResult<Option<String>> {
        get_meta(self.0, key)
    }

    fn set(&mut self, key: &str, value: &str) -> StorageResult<()> {
        set_meta(self.0, key, value)
    }
}

/// Sets a document aside (see SQLite's `quarantine`).
fn quarantine(tx: &mut Tx<'_>, doc_id: &str, reason: &str, now_ms: i64) -> StorageResult<()> {
    tracing::error!(
        doc_id,
        "a stored document no longer loads: quarantined until a device's copy repairs it"
    );
    tx.execute(
        "UPDATE documents SET quarantined_at = $2, quarantine_reason = $3
         WHERE doc_id = $1 AND quarantined_at IS NULL",
        &[&doc_id, &now_ms, &reason],
    )?;
    Ok(())
}

/// The case list of the core's [`query::cases`], on PostgreSQL: the same filters, order
/// and limit; the text search through the trigram index for any length.
fn case_list(tx: &mut Tx<'_>, q: &CaseQuery, now_ms: i64) -> StorageResult<Vec<CaseSummary>> {
    let mut args: Vec<Box<dyn ToSql + Sync>> = vec![Box::new(now_ms)];
    let mut arg = |v: Box<dyn ToSql + Sync>| {
        args.push(v);
        format!("${}", args.len())
    };
    let mut conds: Vec<String> = Vec::new();
    if q.open_only {
        conds.push("v.is_open".into());
    }
    if let Some((reporter, units)) = &q.mine {
        let reporter = arg(Box::new(reporter.clone()));
        let units = arg(Box::new(units.clone()));
        conds.push(format!(
            "(v.reporter = {reporter} OR EXISTS (SELECT 1 FROM case_holder h
                WHERE h.case_id = v.case_id AND h.holder = ANY({units}::text[])))"
        ));
    }
    if let Some(grid) = &q.grid {
        let p = arg(Box::new(grid.clone()));
        conds.push(format!(
            "(v.grid = {p} OR v.workstation = {p} OR v.block = {p})"
        ));
    }
    if let Some(category) = &q.category {
        conds.push(format!("v.category = {}", arg(Box::new(category.clone()))));
    }
    if q.overdue_only {
        conds.push(query::overdue_sql("$1"));
    }
    if let Some(text) = &q.text {
        let text = text.trim();
        if text.is_empty() {
            return Err(wangge_core::Error::InvalidInput {
                field: "search text",
                reason: "type at least one character to search".into(),
            }
            .into());
        }
        conds.push(format!(
            "v.description ILIKE {} ESCAPE '\\'",
            arg(Box::new(query::like_pattern(text)))
        ));
    }
    let mut sql = format!(
        "SELECT v.case_id, v.status, v.case_number, v.checklist_item, v.category, v.grid,
             v.workstation, v.description, v.reported_at, v.response_due, v.resolution_due,
             (SELECT string_agg(holder, chr(31) ORDER BY holder) FROM case_holder h
              WHERE h.case_id = v.case_id),
             {}, v.escalated
         FROM case_view v",
        query::overdue_sql("$1")
    );
    if !conds.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conds.join(" AND "));
    }
    sql.push_str(
        " ORDER BY v.is_open DESC, v.resolution_due IS NULL, v.resolution_due, v.reported_at DESC, v.case_id",
    );
    sql.push_str(&format!(" LIMIT {}", q.limit.unwrap_or(500)));
    let params: Vec<Param<'_>> = args.iter().map(|a| a.as_ref() as Param<'_>).collect();
    let mut out = Vec::new();
    for r in tx.query(&sql, &params)? {
        let id: String = r.try_get(0)?;
        let status: String = r.try_get(1)?;
        let holders: Option<String> = r.try_get(11)?;
        out.push(CaseSummary {
            status: CaseStatus::parse(&status).ok_or_else(|| {
                StorageError::internal(format!("unknown status '{status}' of case {id}"))
            })?,
            id,
            case_number: r.try_get(2)?,
            checklist_item: r.try_get(3)?,
            category: r.try_get(4)?,
            grid: r.try_get(5)?,
            workstation: r.try_get(6)?,
            description: r.try_get(7)?,
            reported_at: r.try_get(8)?,
            response_due: r.try_get(9)?,
            resolution_due: r.try_get(10)?,
            holders: holders
                .map(|h| h.split('\u{1f}').map(str::to_owned).collect())
                .unwrap_or_default(),
            overdue: r.try_get(12)?,
            escalated: r.try_get(13)?,
        });
    }
    Ok(out)
}

impl Storage for PgStorage {
    fn enroll(&self, device: &Device, token_hash: &[u8]) -> StorageResult<()> {
        let scope = serde_json::to_string(&device.scope).map_err(StorageError::internal)?;
        let inserted = self.update(|tx| {
            Ok(tx.execute(
                "INSERT INTO devices (device_id, name, role, scope, token_hash, created_at, person_id, token_issued_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $6) ON CONFLICT DO NOTHING",
                &[
                    &device.device_id,
                    &device.name,
                    &device.role.as_str(),
                    &scope,
                    &token_hash,
                    &device.created_at,
                    &device.person,
                ],
            )?)
        })?;
        if inserted == 0 {
            return Err(StorageError::AlreadyEnrolled {
                device_id: device.device_id.clone(),
            });
        }
        Ok(())
    }

    fn revoke(&self, device_id: &str, now_ms: i64) -> StorageResult<bool> {
        let n = self.update(|tx| {
            Ok(tx.execute(
                "UPDATE devices SET revoked_at = coalesce(revoked_at, $2) WHERE device_id = $1",
                &[&device_id, &now_ms],
            )?)
        })?;
        Ok(n > 0)
    }

    fn devices(&self) -> StorageResult<Vec<Device>> {
        self.read(|tx| {
            tx.query(
                &format!("SELECT {DEVICE_COLUMNS} FROM devices ORDER BY created_at, device_id"),
                &[],
            )?
            .iter()
            .map(device_from_row)
            .collect()
        })
    }

    fn device_by_token(&self, token_hash: &[u8]) -> StorageResult<Option<Device>> {
        self.read(|tx| {
            tx.query_opt(
                &format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE token_hash = $1"),
                &[&token_hash],
            )?
            .as_ref()
            .map(device_from_row)
            .transpose()
        })
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
        // A pull alone takes no lock: its snapshot holds a prefix of the feed (see the
        // module documentation). A push merges under the write lock.
        let answer = if request.docs.is_empty() {
            self.update(|tx| self.sync_in(tx, device, author, request, now_ms))?
        } else {
            self.write(|tx| self.sync_in(tx, device, author, request, now_ms))?
        };
        Ok(answer.unwrap_or_else(reset_response))
    }

    fn register_case(
        &self,
        case_id: &str,
        by: &Actor,
        checklist_item: Option<String>,
        grid: Option<String>,
        now_ms: i64,
    ) -> StorageResult<CaseRecord> {
        let make = |tx: &mut Tx<'_>| -> StorageResult<CaseEventKind> {
            Ok(CaseEventKind::Registered {
                case_number: server_meta::next_case_number(&mut PgMeta(tx), now_ms)?,
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
        let doc = self.write(|tx| {
            let target = self.case_record(&self.load_case(tx, into)?)?;
            if let Some(further) = &target.state.merged_into {
                return Err(StorageError::TargetMerged {
                    target: into.to_owned(),
                    merged_into: further.clone(),
                });
            }
            let merged_into = CaseEventKind::MergedInto {
                target: into.to_owned(),
                note: note.clone(),
            };
            let doc = self.append_event(tx, duplicate, by, now_ms, &|_| Ok(merged_into.clone()))?;
            let merged_from = CaseEventKind::MergedFrom {
                source: duplicate.to_owned(),
            };
            self.append_event(tx, into, by, now_ms, &|_| Ok(merged_from.clone()))?;
            Ok(doc)
        })?;
        self.case_record(&doc)
    }

    fn case(&self, case_id: &str) -> StorageResult<Option<CaseRecord>> {
        match self.read(|tx| self.load(tx, case_id))? {
            Some((DocKind::Case, doc)) => Ok(Some(self.case_record(&doc)?)),
            _ => Ok(None),
        }
    }

    fn cases(&self, q: &CaseQuery, now_ms: i64) -> StorageResult<Vec<CaseSummary>> {
        self.read(|tx| case_list(tx, q, now_ms))
    }

    fn ready(&self) -> StorageResult<()> {
        let version = self.read(|tx| {
            Ok(get_meta(tx, "schema_version")?
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or(0))
        })?;
        if version != PG_SCHEMA_VERSION {
            return Err(StorageError::NotReady {
                found: version,
                runs: PG_SCHEMA_VERSION,
            });
        }
        Ok(())
    }

    fn pool_stats(&self) -> DbStats {
        let state = self.pool.state();
        DbStats {
            backend: "postgres",
            pools: vec![PoolSnapshot {
                pool: "main",
                max: self.pool.max_size(),
                open: state.connections,
                idle: state.idle_connections,
                in_use: state.connections.saturating_sub(state.idle_connections),
                wait: self.counters.waits.snapshot(),
                timeouts: self.counters.timeouts.load(Ordering::Relaxed),
            }],
            write_lock_wait: self.counters.write_lock.snapshot(),
        }
    }

    fn case_page(&self, filter: &CaseFilter, now_ms: i64) -> StorageResult<CasePage> {
        self.read(|tx| office::page(tx, filter, now_ms))
    }

    fn case_count(&self, filter: &CaseFilter, now_ms: i64) -> StorageResult<u64> {
        self.read(|tx| office::count(tx, filter, now_ms))
    }

    fn changes(&self, after: u64, limit: u32, now_ms: i64) -> StorageResult<Vec<Change>> {
        self.read(|tx| office::changes(tx, after, limit, now_ms))
    }

    fn evaluation_input(&self, from_ms: i64, to_ms: i64) -> StorageResult<EvalInput> {
        self.read(|tx| office::eval_input(tx, from_ms, to_ms))
    }

    fn filings(
        &self,
        from: NaiveDate,
        to: NaiveDate,
        workstation: Option<&str>,
    ) -> StorageResult<Vec<FilingRow>> {
        self.read(|tx| office::filings(tx, from, to, workstation))
    }

    fn zero_report(&self, workstation: &str, day: NaiveDate) -> StorageResult<Option<ZeroReport>> {
        let doc_id = ZeroReportHeader {
            workstation: workstation.to_owned(),
            day,
        }
        .doc_id();
        match self.read(|tx| self.load(tx, &doc_id))? {
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
        self.read(|tx| {
            let mut by_status: Vec<(String, u64)> = Vec::new();
            for r in tx.query(
                "SELECT status, count(*) FROM case_view GROUP BY status",
                &[],
            )? {
                let status: String = r.try_get(0)?;
                if let Some(s) = CaseStatus::parse(&status) {
                    by_status.push((s.as_str().to_owned(), r.try_get::<_, i64>(1)? as u64));
                }
            }
            by_status.sort_by_key(|(s, _)| CaseStatus::ALL.iter().position(|x| x.as_str() == s));
            let row = tx.query_one(
                &format!(
                    "SELECT (SELECT count(*) FROM case_view),
                            (SELECT count(*) FROM case_view WHERE case_number IS NOT NULL),
                            (SELECT count(*) FROM case_view WHERE status = 'closed'),
                            (SELECT count(*) FROM case_view v WHERE {}),
                            (SELECT count(*) FROM zero_report_view WHERE filed),
                            (SELECT count(*) FROM documents)",
                    query::overdue_sql("$1")
                ),
                &[&now_ms],
            )?;
            let n = |i: usize| -> StorageResult<u64> { Ok(row.try_get::<_, i64>(i)? as u64) };
            let (registered, closed) = (n(1)?, n(2)?);
            Ok(Stats {
                cases: n(0)?,
                registered,
                closed,
                closure_rate: if registered == 0 {
                    0.0
                } else {
                    closed as f64 / registered as f64
                },
                overdue: n(3)?,
                by_status,
                zero_reports: n(4)?,
                documents: n(5)?,
            })
        })
    }

    fn document(&self, doc_id: &str) -> StorageResult<Option<Vec<u8>>> {
        self.read(|tx| {
            Ok(tx
                .query_opt("SELECT data FROM documents WHERE doc_id = $1", &[&doc_id])?
                .map(|r| r.get(0)))
        })
    }

    fn photo_upload(&self, sha256: &str) -> StorageResult<PhotoUpload> {
        self.photo_upload_state(sha256)
    }

    fn put_photo_chunk(&self, chunk: &PhotoChunk<'_>, now_ms: i64) -> StorageResult<ChunkOutcome> {
        self.append_photo_chunk(chunk, now_ms)
    }

    fn photo_in_scope(&self, device: &Device, sha256: &str) -> StorageResult<bool> {
        self.photo_visible_to(device, sha256)
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
    ) -> StorageResult<Vec<DuplicateHint>> {
        self.hints_at(item, at_ms, lat, lon)
    }

    fn set_login(&self, login: &crate::storage::console::StaffLogin) -> StorageResult<()> {
        self.put_login(login)
    }

    fn login_by_username(
        &self,
        username: &str,
    ) -> StorageResult<Option<crate::storage::console::StaffLogin>> {
        self.get_login(console_db::LoginKey::Username, username)
    }

    fn login_of(
        &self,
        staff_id: &str,
    ) -> StorageResult<Option<crate::storage::console::StaffLogin>> {
        self.get_login(console_db::LoginKey::StaffId, staff_id)
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
        self.read(|tx| {
            tx.query(
                "SELECT doc_id, kind, quarantined_at, quarantine_reason FROM documents
                 WHERE quarantined_at IS NOT NULL ORDER BY quarantined_at, doc_id",
                &[],
            )?
            .iter()
            .map(|r| {
                Ok(Quarantined {
                    doc_id: r.try_get(0)?,
                    kind: r.try_get(1)?,
                    quarantined_at: r.try_get(2)?,
                    reason: r.try_get::<_, Option<String>>(3)?.unwrap_or_default(),
                })
            })
            .collect()
        })
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
        self.request_ids_matching(filter)
    }

    fn erase_reporter_contact(&self, case_id: &str) -> StorageResult<bool> {
        self.erase_contact(case_id)
    }
}

/// The conformance suite (`crate::storage::conformance`) on PostgreSQL: each test in a
/// schema of its own in the database `WANGGE_TEST_POSTGRES` names.
#[cfg(test)]
mod conformance {
    use super::*;
    use crate::storage::conformance::Fresh;

    fn fresh(catalog: Arc<Catalog>) -> Option<Fresh<PgStorage>> {
        let (storage, schema) = testing::fresh("the PostgreSQL conformance suite", catalog)?;
        Some(Fresh::new(storage, schema))
    }

    crate::storage_conformance_tests!(fresh);
}

/// PostgreSQL-only: a database of an earlier schema version is brought to this build's
/// at start, keeping what it holds.
#[cfg(test)]
mod migrations {
    #![allow(
        clippy::unwrap_used,
        reason = "a test: a failed step is a test failure"
    )]

    use super::*;
    use crate::storage::conformance::{catalog, field_device};

    #[test]
    fn a_version_1_database_gets_the_in_step_table() {
        let Some((s, schema)) =
            testing::fresh("a_version_1_database_gets_the_in_step_table", catalog())
        else {
            return;
        };
        let device = field_device("dev-1", None);
        s.enroll(&device, &[1; 32]).unwrap();
        let mut conn = s.pool.get().unwrap();
        let mut tx = conn.begin(None, false).unwrap();
        tx.batch_execute(
            "DROP TABLE device_in_step;
             UPDATE meta SET value = '1' WHERE key = 'schema_version'",
        )
        .unwrap();
        tx.commit().unwrap();
        drop(conn);
        assert!(matches!(
            s.ready(),
            Err(StorageError::NotReady { found: 1, .. })
        ));
        drop(s);

        let s = PgStorage::open(&schema.url, catalog()).unwrap();
        s.ready().unwrap();
        assert_eq!(s.devices().unwrap(), vec![device]);
        let rows: i64 = s
            .read(|tx| {
                Ok(tx
                    .query_one("SELECT count(*) FROM device_in_step", &[])?
                    .try_get(0)?)
            })
            .unwrap();
        assert_eq!(rows, 0);
    }
}
