//! The device's store as the app sees it: every method is a short
//! delegation to `wangge_core::Store`, converting ids, days and records at
//! the boundary.

use std::sync::Arc;

use wangge_core as core_lib;

use crate::case::{
    CaseEventKind, CaseQuery, CaseRecord, CaseSummary, NewCase, StatusCount, summaries,
};
use crate::catalog::Catalog;
use crate::clock::ManualClock;
use crate::detail::CaseDetail;
use crate::error::Result;
use crate::model::{Actor, parse_case_id, parse_day, parse_device_id};
use crate::sync::SyncState;
use crate::zero_report::{ZeroReport, ZeroReportEntry};

/// The local store of one device: every case and zero report recorded on
/// it or received by sync, in SQLite. Works fully offline.
///
/// A write returns only once it is durable: after `recordCase` returns, the
/// case survives the app being killed and the phone losing power.
///
/// Safe to share between threads: reads queue on one reader connection and
/// writes on one writer connection, the two running alongside each other.
/// A call blocks for the time of one SQLite transaction (about a
/// millisecond for a write, which waits for the disk), so make calls from a
/// background dispatcher, not the main thread.
///
/// Close it with `close()` (Kotlin's `use { }` does it too), or drop the
/// last reference in Swift: the database is closed once calls in flight end.
#[derive(Debug, uniffi::Object)]
pub struct Store {
    inner: core_lib::Store,
    catalog: Arc<Catalog>,
    /// The HTTP client of the last server and token used, kept so that
    /// successive syncs and photo fetches reuse its pooled connections
    /// instead of paying a TCP and TLS handshake each time.
    pub(crate) sync_client: std::sync::Mutex<Option<core_lib::SyncClient>>,
    /// How the sync calls connect (`setSyncConfig`).
    pub(crate) sync_config: std::sync::Mutex<crate::sync::SyncConfig>,
    /// Held by the sync running: one sync of this store at a time, so a
    /// cancelled one finishes its round before the next begins.
    pub(crate) sync_lock: std::sync::Mutex<()>,
}

#[uniffi::export]
impl Store {
    /// Opens (creating if needed) the store at `path` for the device
    /// `deviceId` (see `generateDeviceId`), with the demo street's
    /// reference data and the phone's clock, encrypted with `key` when one
    /// is given (see `openWith`).
    ///
    /// A store remembers its device: opening it with another id throws
    /// `InvalidInput`.
    #[uniffi::constructor(default(key = None))]
    pub fn open(path: String, device_id: String, key: Option<Vec<u8>>) -> Result<Arc<Self>> {
        Self::open_with(path, device_id, Catalog::demo()?, None, key)
    }

    /// Opens (creating if needed) the store at `path` for `deviceId` with
    /// the given reference data, and a manual clock instead of the phone's
    /// when one is given.
    ///
    /// `key`, when given, is the store's encryption key: 32 random bytes the
    /// app generated once and keeps wrapped by the platform's keystore (on
    /// Android, `StoreKey`), used as the AES-256 key as they are (no
    /// password stretching: they are already random). The whole database is
    /// encrypted with it, photos included. A new store is created
    /// encrypted; a plain store from an earlier version of the app is
    /// encrypted in place first, safely even if the app is killed meanwhile
    /// (it then opens as it was, and is encrypted at the next open). A key
    /// of another length throws `InvalidInput`; an encrypted store opened
    /// without its key, or with another, throws `WrongKey`. The bytes are
    /// never logged nor kept after the store is open. Without a key the
    /// store is plain, as tests and tools use it.
    #[uniffi::constructor(default(clock = None, key = None))]
    pub fn open_with(
        path: String,
        device_id: String,
        catalog: Arc<Catalog>,
        clock: Option<Arc<ManualClock>>,
        key: Option<Vec<u8>>,
    ) -> Result<Arc<Self>> {
        let clock: Arc<dyn core_lib::Clock> = match clock {
            Some(c) => c.inner.clone(),
            None => Arc::new(core_lib::SystemClock),
        };
        // Both copies of the bytes here (uniffi's Vec and the StoreKey) are zeroed when
        // dropped, as soon as the store is open; the app's own array is the app's to wipe.
        let key = key.map(zeroize::Zeroizing::new);
        let key = key
            .as_deref()
            .map(|k| core_lib::StoreKey::from_bytes(k))
            .transpose()?;
        let inner = core_lib::Store::open_with_key(
            path,
            parse_device_id(&device_id)?,
            catalog.inner.clone(),
            clock,
            key.as_ref(),
        )?;
        Ok(Arc::new(Store {
            inner,
            catalog,
            sync_client: std::sync::Mutex::new(None),
            sync_config: std::sync::Mutex::new(crate::sync::SyncConfig::default()),
            sync_lock: std::sync::Mutex::new(()),
        }))
    }

    /// The device this store belongs to.
    pub fn device_id(&self) -> core_lib::DeviceId {
        self.inner.device()
    }

    /// Where the database file is.
    pub fn path(&self) -> String {
        self.inner.path().display().to_string()
    }

    /// The reference data (checklist, grids) the store uses.
    pub fn catalog(&self) -> Arc<Catalog> {
        self.catalog.clone()
    }

    /// The time now by the store's clock (ms since the Unix epoch).
    pub fn now_ms(&self) -> i64 {
        self.inner.now_ms()
    }

    /// Today in China Standard Time by the store's clock, `YYYY-MM-DD`.
    pub fn today(&self) -> String {
        core_lib::store::cst_day(self.inner.now_ms()).to_string()
    }

    /// Records a new case with its report event, durably, and returns its
    /// id. The grid is decided from the GPS fix when the fix is certain
    /// (see `Catalog.lookupGrid`), else from `NewCase.grid`, else left to
    /// the centre with the candidate cells.
    ///
    /// Throws `InvalidGpsFix`, `UnknownChecklistItem`, `UnknownGrid` or
    /// `InvalidInput` (empty description, too many photos …).
    pub fn record_case(&self, by: Actor, new_case: NewCase) -> Result<core_lib::CaseId> {
        let by = by.on(self.inner.device());
        Ok(self.inner.record_case(&by, new_case.try_into()?)?)
    }

    /// Adds an event to a case, if its current status allows it and the
    /// actor's role may add it, and returns the case as it now stands.
    ///
    /// Throws `CaseNotFound`, `EventNotAllowed`, `RoleNotAllowed`,
    /// `UnknownChecklistItem`, `UnknownGrid` or `InvalidInput`.
    pub fn add_event(&self, case_id: String, by: Actor, kind: CaseEventKind) -> Result<CaseRecord> {
        let by = by.on(self.inner.device());
        let record = self
            .inner
            .add_case_event(parse_case_id(&case_id)?, &by, kind.try_into()?)?;
        Ok(CaseRecord::from_core(record, self.inner.now_ms()))
    }

    /// A case with its timeline and derived state: the case detail
    /// screen. Throws `CaseNotFound`.
    pub fn get_case(&self, case_id: String) -> Result<CaseRecord> {
        let record = self.inner.case(parse_case_id(&case_id)?)?;
        Ok(CaseRecord::from_core(record, self.inner.now_ms()))
    }

    /// A case with everything its detail screen shows, in one call: the
    /// case (header, timeline, derived state), its photos (thumbnail if
    /// held, evidence flags, upload state) and where it stands with the
    /// server, all read at one moment. Throws `CaseNotFound`.
    pub fn case_detail(&self, case_id: String) -> Result<CaseDetail> {
        let detail = self.inner.case_detail(parse_case_id(&case_id)?)?;
        Ok(CaseDetail::from_core(detail, self.inner.now_ms()))
    }

    /// The cases matching a filter, in one list (open first, then by
    /// resolution deadline), each with its sync state.
    pub fn cases(&self, query: CaseQuery) -> Result<Vec<CaseSummary>> {
        self.list(query.try_into()?)
    }

    /// An officer's open cases: those they reported, and those held by one
    /// of their units. The patrol list.
    pub fn my_open_cases(&self, staff_id: String, units: Vec<String>) -> Result<Vec<CaseSummary>> {
        self.list(core_lib::CaseQuery {
            open_only: true,
            mine: Some((staff_id, units)),
            ..Default::default()
        })
    }

    /// Open cases past a deadline, most urgent first.
    pub fn overdue_cases(&self) -> Result<Vec<CaseSummary>> {
        self.list(core_lib::CaseQuery {
            overdue_only: true,
            ..Default::default()
        })
    }

    /// Cases in a grid cell, workstation or block (open ones first).
    pub fn cases_in_grid(&self, grid: String) -> Result<Vec<CaseSummary>> {
        self.list(core_lib::CaseQuery {
            grid: Some(grid),
            ..Default::default()
        })
    }

    /// Cases of a category (open ones first).
    pub fn cases_in_category(&self, category: String) -> Result<Vec<CaseSummary>> {
        self.list(core_lib::CaseQuery {
            category: Some(category),
            ..Default::default()
        })
    }

    /// Cases whose description contains `text` (Chinese included).
    pub fn search_cases(&self, text: String) -> Result<Vec<CaseSummary>> {
        self.list(core_lib::CaseQuery {
            text: Some(text),
            ..Default::default()
        })
    }

    /// How many cases stand in each status (statuses with none are left out).
    pub fn status_counts(&self) -> Result<Vec<StatusCount>> {
        Ok(self
            .inner
            .status_counts()?
            .into_iter()
            .map(|(status, count)| StatusCount {
                status,
                count: crate::model::long(count),
            })
            .collect())
    }

    /// Files an entry in a workstation's zero report for `day`
    /// (`YYYY-MM-DD`, not in the future), creating the day's report with
    /// its first entry, and returns the report as it now stands. Workstation
    /// staff (or the centre) file them.
    ///
    /// Throws `UnknownGrid` (not a residential workstation), `RoleNotAllowed`
    /// or `InvalidInput`.
    pub fn file_zero_report(
        &self,
        by: Actor,
        workstation: String,
        day: String,
        entry: ZeroReportEntry,
    ) -> Result<ZeroReport> {
        let by = by.on(self.inner.device());
        let report =
            self.inner
                .file_zero_report(&by, &workstation, parse_day(&day)?, entry.into_core()?)?;
        self.with_sync(report)
    }

    /// A workstation's report for `day` (`YYYY-MM-DD`); `null` if nothing
    /// was filed.
    pub fn zero_report(&self, workstation: String, day: String) -> Result<Option<ZeroReport>> {
        self.inner
            .zero_report(&workstation, parse_day(&day)?)?
            .map(|r| self.with_sync(r))
            .transpose()
    }

    /// The residential workstations of this device's scope that have filed
    /// nothing for `day`: on a workstation's phone only its own, on a block
    /// officer's those of the block, on the centre's every one. The scope is
    /// what the server named at the last `enrolment` (or pairing); a store
    /// never told answers for the whole street.
    pub fn workstations_without_report(&self, day: String) -> Result<Vec<String>> {
        Ok(self.inner.workstations_without_report(parse_day(&day)?)?)
    }

    // ── Sync ─────────────────────────────────────────────────────────────
    // The sync and photo calls (`sync`, `caseSyncStatus`, `pendingCount`,
    // `importPhoto`, `caseThumbnails`, `photoBytes`, `fetchPhoto`) are a
    // second exported block of this object, in `sync.rs`; the refusals and
    // the enrolment (`refusedDocuments`, `retryRefused`, `setAuthor`,
    // `enrolment`) a third, in `authority.rs`.
}

impl Store {
    /// The core store this object wraps (for the other modules' exports).
    pub(crate) fn core(&self) -> &core_lib::Store {
        &self.inner
    }

    /// A case list with each case's sync state, in one read.
    fn list(&self, query: core_lib::CaseQuery) -> Result<Vec<CaseSummary>> {
        summaries(self.inner.cases_with_sync(&query))
    }

    /// A zero report with where it stands with the server.
    fn with_sync(&self, report: core_lib::ZeroReport) -> Result<ZeroReport> {
        let sync = self.inner.doc_sync(&report.header.doc_id())?;
        let mut report = ZeroReport::from(report);
        report.sync = sync.map_or_else(SyncState::local, Into::into);
        Ok(report)
    }
}
