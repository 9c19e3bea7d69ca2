//! The device's local store: SQLite (WAL, one writer) holding every case and
//! zero report as an Automerge document, plus projection tables for queries,
//! and the photos with their thumbnails, content-addressed (`photos.rs`).
//!
//! A write returns only after its transaction is committed with
//! `synchronous = FULL`: once `record_case` returns, the case survives the
//! app being killed and the phone losing power.

mod catalog_meta;
mod detail;
mod docs;
pub mod encryption;
mod observe;
mod pairing;
mod photos;
pub mod projection;
pub mod query;
mod revocation;
pub mod schema;
mod scope;
mod sync_state;

pub use detail::{CaseDetail, CasePhoto, DocSync, PhotoUpload, PhotoUploads};
pub use docs::COMPACT_AFTER;
pub use encryption::StoreKey;
pub use observe::{ObserverId, StoreChange, StoreObserver};
pub use photos::{PhotoDiskUsage, StoredPhoto};
pub(crate) use photos::{PhotoPart, is_sha256_hex};
pub use query::{CaseQuery, CaseSummary};
pub use revocation::Revocation;
pub use scope::DeviceScope;
pub use sync_state::{DocRefusal, SyncStatus};

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, RwLock};

use automerge::ActorId;
use chrono::NaiveDate;
use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior};

use crate::case::{CaseEvent, CaseEventKind, CaseRecord, CaseStatus, NewCase, check_event_input};
use crate::catalog::{Catalog, CatalogFiles};
use crate::doc::{DocKind, EventDoc};
use crate::error::{Error, Result};
use crate::grid::GridLevel;
use crate::hlc::{Clock, Hlc, HlcClock};
use crate::ids::{CaseId, DeviceId, EventId};
use crate::model::{Actor, Role};
use crate::zero_report::{
    ZeroReport, ZeroReportEvent, ZeroReportEventKind, ZeroReportHeader, check_entry,
};

/// Milliseconds in a day.
const DAY_MS: i64 = 86_400_000;
/// China Standard Time, UTC+8, in milliseconds.
const CST_OFFSET_MS: i64 = 8 * 3_600_000;

struct Writer {
    conn: Connection,
    hlc: HlcClock,
}

/// The local store of one device.
#[derive(Debug)]
pub struct Store {
    path: PathBuf,
    device: DeviceId,
    actor: ActorId,
    /// The catalog in force: the one the app opened the store with, or the one the server
    /// sent since (kept in `meta`, see [`Store::adopt_catalog`]). Swapped only while the
    /// writer is held, together with the projections derived from it.
    catalog: RwLock<Arc<Catalog>>,
    clock: Arc<dyn Clock>,
    writer: Mutex<Writer>,
    reader: Mutex<Connection>,
    /// The person the device is enrolled to, once the app has learned it
    /// from the server: every write is checked to be theirs, as the server
    /// will check it. `None` (the default) checks only roles.
    author: Mutex<Option<crate::authority::Author>>,
    /// Who is told of committed changes ([`Store::observe`]).
    observers: observe::ObserverSlot,
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Writer")
            .field("hlc", &self.hlc)
            .finish_non_exhaustive()
    }
}

impl Store {
    /// Opens (creating if needed) the plain, unencrypted store at `path`
    /// for `device`: [`Store::open_with_key`] without a key, for the
    /// server's tools and tests. A phone opens its store with its key.
    ///
    /// The database remembers the device it belongs to: opening it as
    /// another device is refused, since the device's identity is part of
    /// every event it records.
    pub fn open(
        path: impl AsRef<Path>,
        device: DeviceId,
        catalog: Arc<Catalog>,
        clock: Arc<dyn Clock>,
    ) -> Result<Self> {
        Self::open_with_key(path, device, catalog, clock, None)
    }

    /// Opens (creating if needed) the store at `path` for `device`,
    /// encrypted with `key` when one is given (see [`encryption`]): a new
    /// store is created encrypted, a plain one is encrypted in place first
    /// (crash-safe), and an encrypted store opened without its key or with
    /// another is [`Error::WrongKey`](crate::Error::WrongKey).
    pub fn open_with_key(
        path: impl AsRef<Path>,
        device: DeviceId,
        catalog: Arc<Catalog>,
        clock: Arc<dyn Clock>,
        key: Option<&StoreKey>,
    ) -> Result<Self> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|source| Error::Io {
                path: dir.display().to_string(),
                source,
            })?;
        }
        encryption::prepare(&path, key)?;
        let mut conn = encryption::open_connection(
            &path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            key,
        )?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.pragma_update(None, "foreign_keys", "ON")?;

        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let followup = schema::migrate(&tx)?;
        let stored_device: Option<String> = get_meta(&tx, "device_id")?;
        match stored_device {
            Some(d) if d != device.to_string() => {
                return Err(Error::invalid(
                    "device id",
                    format!(
                        "this store belongs to device {d}, not {device}; open it with its own device id"
                    ),
                ));
            }
            Some(_) => {}
            None => set_meta(&tx, "device_id", device.to_string().as_bytes())?,
        }
        // A fresh Automerge actor per database: if the app is reinstalled
        // with the same device id, its new changes must not reuse the
        // sequence numbers of the old actor's.
        let actor = match get_meta_bytes(&tx, "actor_id")? {
            Some(bytes) => ActorId::from(bytes),
            None => {
                let actor = ActorId::from(uuid::Uuid::now_v7().as_bytes().to_vec());
                set_meta(&tx, "actor_id", actor.to_bytes())?;
                actor
            }
        };
        let hlc = match get_meta(&tx, "hlc")? {
            Some(text) => serde_json::from_str::<Hlc>(&text).unwrap_or_default(),
            None => Hlc::default(),
        };
        // The catalog the server sent last, if any, is the street's catalog in force: it
        // wins over the one the app was built with. One that no longer loads (written by a
        // later app version, say) is left for the next sync to replace.
        let catalog = match catalog_meta::stored_other_than(&tx, catalog.version())? {
            Some(stored) => Arc::new(stored),
            None => catalog,
        };
        if followup == schema::Followup::RebuildProjections {
            projection::rebuild(&tx, &catalog, &actor)?;
        }
        tx.commit()?;

        let reader = encryption::open_connection(
            &path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
            key,
        )?;
        let store = Store {
            path,
            device,
            actor,
            catalog: RwLock::new(catalog),
            clock,
            writer: Mutex::new(Writer {
                conn,
                hlc: HlcClock::resume(hlc),
            }),
            reader: Mutex::new(reader),
            author: Mutex::new(None),
            observers: observe::ObserverSlot::default(),
        };
        // A paired device acts as its person from the start (see `Store::pair`).
        if let Some(author) = store
            .paired()?
            .filter(|p| !p.revoked && p.device_id == device)
            .and_then(|p| p.author())
        {
            store.set_author(Some(author))?;
        }
        Ok(store)
    }

    /// Sets the person this device is enrolled to (what the server's
    /// `GET /v1/me` says: staff id, roles, units). From then on a write by
    /// anyone else, or in a role or unit the person does not hold, is
    /// refused at once with the code the server would give
    /// (`wrong_author`), instead of being refused at the next sync. Its
    /// device must be this store's.
    pub fn set_author(&self, author: Option<crate::authority::Author>) -> Result<()> {
        if let Some(a) = &author
            && a.device != self.device
        {
            return Err(Error::invalid(
                "author",
                format!(
                    "the enrolment is for device {}, but this store is device {}",
                    a.device, self.device
                ),
            ));
        }
        *self.author.lock().unwrap_or_else(|p| p.into_inner()) = author;
        Ok(())
    }

    /// Where the database file is.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The device this store belongs to.
    pub fn device(&self) -> DeviceId {
        self.device
    }

    /// The reference data (checklist, calendar, grids) in force.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Switches to the catalog the server announced (`version`) and sent (`files`): checks
    /// that the files load and hash to the announced version, keeps them, and derives every
    /// projection again with them, in one transaction, so cases with items this device did
    /// not know until now get their deadlines. Returns false when it is already in force.
    pub fn adopt_catalog(&self, files: CatalogFiles, version: &str) -> Result<bool> {
        if self.catalog().version() == version {
            return Ok(false);
        }
        let catalog = Catalog::load(files)?;
        if catalog.version() != version {
            return Err(Error::invalid(
                "catalog",
                format!(
                    "the server announced catalog {version} but sent files of version {}; sync again later",
                    catalog.version()
                ),
            ));
        }
        let catalog = Arc::new(catalog);
        let mut w = self.writer();
        let tx = w
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        catalog_meta::store(&tx, catalog.files())?;
        projection::rebuild(&tx, &catalog, &self.actor)?;
        tx.commit()?;
        *self.catalog.write().unwrap_or_else(|p| p.into_inner()) = catalog;
        drop(w);
        self.notify(StoreChange {
            all_cases: true,
            ..StoreChange::default()
        });
        Ok(true)
    }

    /// Physical time now, as the store's clock reads it (ms).
    pub fn now_ms(&self) -> i64 {
        self.clock.now_ms()
    }

    fn writer(&self) -> MutexGuard<'_, Writer> {
        // A panic while holding the lock cannot leave SQLite half-written
        // (the transaction rolls back on drop), so a poisoned lock is safe
        // to reuse.
        self.writer.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn reader(&self) -> MutexGuard<'_, Connection> {
        self.reader.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn check_actor(&self, by: &Actor) -> Result<()> {
        by.validate()?;
        if let Some(author) = &*self.author.lock().unwrap_or_else(|p| p.into_inner()) {
            author.check(by)?;
        }
        if by.device != self.device {
            return Err(Error::invalid(
                "actor device",
                format!(
                    "the actor acts from device {}, but this store is device {}",
                    by.device, self.device
                ),
            ));
        }
        Ok(())
    }

    /// Records a new case with its report event, durably. Returns its id.
    pub fn record_case(&self, by: &Actor, new: NewCase) -> Result<CaseId> {
        self.check_actor(by)?;
        let id = CaseId::generate();
        let mut w = self.writer();
        let now = self.clock.now_ms();
        let at = w.hlc.tick(now);
        let (header, event) = crate::case::open_case(&self.catalog(), by, id, new, at)?;
        let doc_id = id.to_string();
        let doc = crate::case::case_document(&header, &event, &self.actor)?;
        let state = crate::case::derive(&header, std::slice::from_ref(&event), &self.catalog());
        let tx = w
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        photos::check_refs(&tx, &header.photos)?;
        docs::insert(&tx, &doc, DocKind::Case, now)?;
        sync_state::mark_dirty(&tx, &doc_id)?;
        projection::upsert_case(&tx, &self.catalog(), &header, &state)?;
        photos::index_refs(&tx, &doc_id, &header.photos)?;
        save_hlc(&tx, at)?;
        tx.commit()?;
        drop(w);
        self.notify(StoreChange::case(id));
        Ok(id)
    }

    /// Adds an event to a case, if the case's current state allows it.
    pub fn add_case_event(
        &self,
        case: CaseId,
        by: &Actor,
        kind: CaseEventKind,
    ) -> Result<CaseRecord> {
        let record = self.write_case_event(case, by, kind)?;
        self.notify(StoreChange::case(case));
        Ok(record)
    }

    /// [`Store::add_case_event`] without the notification (sent once the
    /// writer is released).
    fn write_case_event(
        &self,
        case: CaseId,
        by: &Actor,
        kind: CaseEventKind,
    ) -> Result<CaseRecord> {
        self.check_actor(by)?;
        check_event_input(by, &kind)?;
        if let CaseEventKind::Registered {
            checklist_item,
            grid,
            ..
        } = &kind
        {
            if let Some(item) = checklist_item
                && self.catalog().checklist.item(item).is_none()
            {
                return Err(Error::UnknownChecklistItem(item.clone()));
            }
            if let Some(cell) = grid
                && self.catalog().grids.cell(cell).is_none()
            {
                return Err(Error::UnknownGrid(cell.clone()));
            }
        }
        let mut w = self.writer();
        let w = &mut *w;
        let tx = w
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        photos::check_refs(&tx, kind.photos())?;
        let doc_id = case.to_string();
        let (kind_found, mut doc) = docs::load(&tx, &doc_id, &self.actor)?
            .ok_or_else(|| Error::CaseNotFound(doc_id.clone()))?;
        if kind_found != DocKind::Case {
            return Err(Error::CaseNotFound(doc_id));
        }
        let (header, mut events, _) = projection::case_of(&doc, &self.catalog())?;
        let now = self.clock.now_ms();
        let mut hlc = w.hlc;
        let event = CaseEvent {
            id: EventId::generate(),
            at: hlc.tick(now),
            by: by.clone(),
            kind,
        };
        crate::case::validate_next(&header, &events, &event, &self.catalog())?;
        // The server's authority rules, applied here too so that an honest app
        // learns at once, offline, what the server would refuse. A registration
        // is the exception: the server refuses one pushed by any device (it
        // assigns case numbers itself), but a store may model the centre's
        // desk, as the tests of the derivation do.
        if !matches!(event.kind, CaseEventKind::Registered { .. }) {
            let mut all = events.clone();
            all.push(event.clone());
            crate::authority::check_case_event(&header, &all, &event, &self.catalog(), false)?;
        }
        let old_heads = doc.heads();
        doc.add_event(&event.id.to_string(), &event)?;
        docs::append(&tx, &doc, &old_heads, now)?;
        sync_state::mark_dirty(&tx, &doc_id)?;
        photos::index_refs(&tx, &doc_id, event.kind.photos())?;
        events.push(event);
        let state = crate::case::derive(&header, &events, &self.catalog());
        projection::upsert_case(&tx, &self.catalog(), &header, &state)?;
        save_hlc(&tx, hlc.last())?;
        tx.commit()?;
        w.hlc = hlc;
        crate::case::sort_events(&mut events);
        Ok(CaseRecord {
            header,
            events,
            state,
        })
    }

    /// A case with its timeline and derived state.
    pub fn case(&self, case: CaseId) -> Result<CaseRecord> {
        let conn = self.reader();
        let doc_id = case.to_string();
        match docs::load(&conn, &doc_id, &self.actor)? {
            Some((DocKind::Case, doc)) => {
                let (header, events, state) = projection::case_of(&doc, &self.catalog())?;
                Ok(CaseRecord {
                    header,
                    events,
                    state,
                })
            }
            _ => Err(Error::CaseNotFound(doc_id)),
        }
    }

    /// Runs a case-list query; overdue flags are computed for now.
    pub fn cases(&self, query: &CaseQuery) -> Result<Vec<CaseSummary>> {
        query::cases(&self.reader(), query, self.clock.now_ms())
    }

    /// An officer's open cases: reported by them or held by one of their units.
    pub fn my_open_cases(&self, staff_id: &str, units: &[String]) -> Result<Vec<CaseSummary>> {
        self.cases(&CaseQuery {
            open_only: true,
            mine: Some((staff_id.to_owned(), units.to_vec())),
            ..CaseQuery::default()
        })
    }

    /// Open cases past a deadline, most urgent first.
    pub fn overdue_cases(&self) -> Result<Vec<CaseSummary>> {
        self.cases(&CaseQuery {
            overdue_only: true,
            ..CaseQuery::default()
        })
    }

    /// Cases in a grid cell, workstation or block (open ones first).
    pub fn cases_in_grid(&self, grid: &str) -> Result<Vec<CaseSummary>> {
        self.cases(&CaseQuery {
            grid: Some(grid.to_owned()),
            ..CaseQuery::default()
        })
    }

    /// Cases of a category (open ones first).
    pub fn cases_in_category(&self, category: &str) -> Result<Vec<CaseSummary>> {
        self.cases(&CaseQuery {
            category: Some(category.to_owned()),
            ..CaseQuery::default()
        })
    }

    /// Cases whose description contains `text` (Chinese included).
    pub fn search_cases(&self, text: &str) -> Result<Vec<CaseSummary>> {
        self.cases(&CaseQuery {
            text: Some(text.to_owned()),
            ..CaseQuery::default()
        })
    }

    /// How many cases stand in each status.
    pub fn status_counts(&self) -> Result<Vec<(CaseStatus, u64)>> {
        query::status_counts(&self.reader())
    }

    /// Files an entry in a workstation's zero report for `day`, creating
    /// the report if this is the day's first entry. Returns the report.
    pub fn file_zero_report(
        &self,
        by: &Actor,
        workstation: &str,
        day: NaiveDate,
        kind: ZeroReportEventKind,
    ) -> Result<ZeroReport> {
        let report = self.write_zero_report(by, workstation, day, kind)?;
        self.notify(StoreChange {
            zero_reports: vec![(workstation.to_owned(), day)],
            sync_state: true,
            ..StoreChange::default()
        });
        Ok(report)
    }

    /// [`Store::file_zero_report`] without the notification.
    fn write_zero_report(
        &self,
        by: &Actor,
        workstation: &str,
        day: NaiveDate,
        kind: ZeroReportEventKind,
    ) -> Result<ZeroReport> {
        self.check_actor(by)?;
        if !matches!(by.role, Role::WorkstationStaff | Role::Centre) {
            return Err(Error::RoleNotAllowed {
                role: by.role.as_str(),
                event: "zero report",
                hint: "residential workstation staff file zero reports",
            });
        }
        if self.catalog().grids.cell(workstation).map(|c| c.level()) != Some(GridLevel::Workstation)
        {
            return Err(Error::UnknownGrid(workstation.to_owned()));
        }
        let now = self.clock.now_ms();
        let today = cst_day(now);
        if day > today {
            return Err(Error::invalid(
                "day",
                format!(
                    "{day} is in the future (today is {today}); file the report on the day itself"
                ),
            ));
        }
        let header = ZeroReportHeader {
            workstation: workstation.to_owned(),
            day,
        };
        let doc_id = header.doc_id();
        let mut w = self.writer();
        let w = &mut *w;
        let tx = w
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let existing = docs::load(&tx, &doc_id, &self.actor)?;
        let mut events: Vec<ZeroReportEvent> = match &existing {
            Some((_, doc)) => doc.events()?,
            None => Vec::new(),
        };
        check_entry(&kind, &events)?;
        photos::check_refs(&tx, kind.photos())?;
        let mut hlc = w.hlc;
        let event = ZeroReportEvent {
            id: EventId::generate(),
            at: hlc.tick(now),
            by: by.clone(),
            kind,
        };
        match existing {
            Some((_, mut doc)) => {
                let old_heads = doc.heads();
                doc.add_event(&event.id.to_string(), &event)?;
                docs::append(&tx, &doc, &old_heads, now)?;
            }
            None => {
                let doc = EventDoc::create(
                    &doc_id,
                    &self.actor,
                    DocKind::ZeroReport,
                    &header,
                    &[(event.id.to_string(), &event)],
                )?;
                docs::insert(&tx, &doc, DocKind::ZeroReport, now)?;
            }
        }
        sync_state::mark_dirty(&tx, &doc_id)?;
        photos::index_refs(&tx, &doc_id, event.kind.photos())?;
        events.push(event);
        let report = crate::zero_report::derive_zero_report(header, events);
        projection::upsert_zero_report(&tx, &doc_id, &report)?;
        save_hlc(&tx, hlc.last())?;
        tx.commit()?;
        w.hlc = hlc;
        Ok(report)
    }

    /// A workstation's report for a day, if anything was filed.
    pub fn zero_report(&self, workstation: &str, day: NaiveDate) -> Result<Option<ZeroReport>> {
        let doc_id = ZeroReportHeader {
            workstation: workstation.to_owned(),
            day,
        }
        .doc_id();
        match docs::load(&self.reader(), &doc_id, &self.actor)? {
            Some((DocKind::ZeroReport, doc)) => Ok(Some(projection::zero_report_of(&doc)?)),
            _ => Ok(None),
        }
    }

    /// The workstations of this device's scope ([`Store::set_scope`]) that
    /// have filed nothing for `day`: on a workstation's phone only that
    /// workstation, on a block officer's the workstations of the block, on
    /// the centre's (or a store never told its scope) the whole street. A
    /// device receives only the zero reports of its scope, so asking about
    /// any other workstation would list it as missing whatever it filed.
    pub fn workstations_without_report(&self, day: NaiveDate) -> Result<Vec<String>> {
        let wanted = self.workstations_in_scope()?;
        let conn = self.reader();
        let mut stmt = conn
            .prepare_cached("SELECT workstation FROM zero_report_view WHERE day = ?1 AND filed")?;
        let filed = stmt
            .query_map([day.to_string()], |r| r.get::<_, String>(0))?
            .collect::<rusqlite::Result<std::collections::HashSet<String>>>()?;
        Ok(wanted.into_iter().filter(|w| !filed.contains(w)).collect())
    }

    /// Saved bytes of a stored document (snapshot plus chunks), for sync and export.
    pub fn document_bytes(&self, doc_id: &str) -> Result<Option<Vec<u8>>> {
        Ok(docs::read_bytes(&self.reader(), doc_id)?.map(|(_, b)| b))
    }

    /// Merges a document received from elsewhere (another device, a file)
    /// into the store, creating it if new. Returns true if anything changed.
    /// The merged events' times advance this device's clock, so what it
    /// records next is ordered after them.
    pub fn merge_document(&self, doc_id: &str, bytes: &[u8]) -> Result<bool> {
        let incoming = EventDoc::load(doc_id, bytes, &self.actor)?;
        let mut w_guard = self.writer();
        let w = &mut *w_guard;
        let tx = w
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let mut hlc = w.hlc;
        let changed = self.merge_into(&tx, &mut hlc, incoming, None)?.is_some();
        if changed {
            sync_state::mark_dirty(&tx, doc_id)?;
            tx.commit()?;
            w.hlc = hlc;
        } else {
            drop(tx);
        }
        drop(w_guard);
        if changed {
            let mut change = StoreChange::sync_state();
            change.add_doc(doc_id);
            self.notify(change);
        }
        Ok(changed)
    }

    /// Merges `incoming` into the stored document of the same id inside
    /// `tx`, refreshes its projection and advances the clock. Returns the
    /// merged document if anything changed. `expect_kind`, when given, is the
    /// kind the sender declared.
    fn merge_into(
        &self,
        tx: &Connection,
        hlc: &mut HlcClock,
        mut incoming: EventDoc,
        expect_kind: Option<DocKind>,
    ) -> Result<Option<EventDoc>> {
        let doc_id = incoming.id().to_owned();
        let kind = incoming.kind()?.ok_or_else(|| Error::CorruptDocument {
            doc_id: doc_id.clone(),
            reason: "the document has no kind".into(),
        })?;
        if expect_kind.is_some_and(|k| k != kind) {
            return Err(Error::CorruptDocument {
                doc_id,
                reason: format!(
                    "declared as another kind than the {} it holds",
                    kind.as_str()
                ),
            });
        }
        let max_at = max_event_time(&incoming, kind)?;
        let now = self.clock.now_ms();
        let doc = match docs::load(tx, &doc_id, &self.actor)? {
            Some((stored_kind, mut doc)) => {
                if stored_kind != kind {
                    return Err(Error::CorruptDocument {
                        doc_id,
                        reason: format!(
                            "received a {} for a stored {}",
                            kind.as_str(),
                            stored_kind.as_str()
                        ),
                    });
                }
                let old_heads = doc.heads();
                doc.merge(&mut incoming)?;
                if doc.heads() == old_heads {
                    return Ok(None);
                }
                docs::append(tx, &doc, &old_heads, now)?;
                doc
            }
            None => {
                docs::insert(tx, &incoming, kind, now)?;
                incoming
            }
        };
        projection::refresh(tx, &self.catalog(), kind, &doc)?;
        hlc.observe(max_at);
        save_hlc(tx, hlc.last())?;
        Ok(Some(doc))
    }

    /// Derives every projection again from the documents. Returns how many
    /// documents were projected.
    pub fn rebuild_projections(&self) -> Result<usize> {
        let mut w = self.writer();
        let tx = w
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        let n = projection::rebuild(&tx, &self.catalog(), &self.actor)?;
        tx.commit()?;
        drop(w);
        self.notify(StoreChange {
            all_cases: true,
            ..StoreChange::default()
        });
        Ok(n)
    }

    /// Number of documents of a kind stored.
    pub fn document_count(&self, kind: DocKind) -> Result<u64> {
        let n: i64 = self.reader().query_row(
            "SELECT count(*) FROM documents WHERE kind = ?1",
            [kind.as_str()],
            |r| r.get(0),
        )?;
        Ok(n as u64)
    }
}

fn max_event_time(doc: &EventDoc, kind: DocKind) -> Result<Hlc> {
    Ok(match kind {
        DocKind::Case => doc.events::<CaseEvent>()?.iter().map(|e| e.at).max(),
        DocKind::ZeroReport => doc.events::<ZeroReportEvent>()?.iter().map(|e| e.at).max(),
    }
    .unwrap_or_default())
}

/// The calendar day in China Standard Time of an instant.
pub fn cst_day(ms: i64) -> NaiveDate {
    let days = (ms + CST_OFFSET_MS).div_euclid(DAY_MS);
    NaiveDate::from_num_days_from_ce_opt(719_163 + days as i32).unwrap_or(NaiveDate::MIN)
}

/// Persists the clock with the write that advanced it, so a restart never
/// issues a timestamp behind one already used.
fn save_hlc(conn: &Connection, hlc: Hlc) -> Result<()> {
    let text = serde_json::to_string(&hlc).map_err(|e| Error::invalid("clock", e.to_string()))?;
    set_meta(conn, "hlc", text.as_bytes())
}

fn get_meta_bytes(conn: &Connection, key: &str) -> Result<Option<Vec<u8>>> {
    Ok(conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
        .optional()?)
}

fn get_meta(conn: &Connection, key: &str) -> Result<Option<String>> {
    Ok(get_meta_bytes(conn, key)?.map(|b| String::from_utf8_lossy(&b).into_owned()))
}

fn set_meta(conn: &Connection, key: &str, value: &[u8]) -> Result<()> {
    conn.prepare_cached("INSERT INTO meta (key, value) VALUES (?1, ?2) ON CONFLICT (key) DO UPDATE SET value = excluded.value")?
        .execute(rusqlite::params![key, value])?;
    Ok(())
}
