//! Live lists: a [`StoreObserver`] the app registers with `Store.observe` is
//! told of every committed change — once per transaction, not per row — so
//! that screens reload when cases, zero reports or the sync state change,
//! without polling. In Kotlin it becomes a `Flow` with `callbackFlow`:
//!
//! ```kotlin
//! fun Store.changes(): Flow<StoreChange> = callbackFlow {
//!     val handle = observe(object : StoreObserver {
//!         override fun onChange(change: StoreChange) { trySend(change) }
//!     })
//!     awaitClose { handle.stop() }
//! }
//! ```

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use wangge_core as core_lib;

use crate::store::Store;

/// A workstation's report for a day, as a change names it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct ZeroReportKey {
    /// The residential workstation's grid id.
    pub workstation: String,
    /// The day, `YYYY-MM-DD` (China Standard Time).
    pub day: String,
}

/// What one committed change of the store changed.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct StoreChange {
    /// Cases recorded, written to, or received with something new (ids).
    pub cases: Vec<wangge_core::CaseId>,
    /// Every case may read differently (the street's catalog changed):
    /// reload whatever shows cases.
    pub all_cases: bool,
    /// Zero reports filed, amended or received.
    pub zero_reports: Vec<ZeroReportKey>,
    /// What the server holds changed: pending documents, the on-server
    /// marks, refusals, or photo uploads (`SyncState`s, `pendingCount`).
    pub sync_state: bool,
    /// Photos or thumbnails arrived (imported, or received from the server).
    pub photos: bool,
}

impl From<&core_lib::StoreChange> for StoreChange {
    fn from(c: &core_lib::StoreChange) -> Self {
        StoreChange {
            cases: c.cases.clone(),
            all_cases: c.all_cases,
            zero_reports: c
                .zero_reports
                .iter()
                .map(|(workstation, day)| ZeroReportKey {
                    workstation: workstation.clone(),
                    day: day.to_string(),
                })
                .collect(),
            sync_state: c.sync_state,
            photos: c.photos,
        }
    }
}

/// Told of the store's changes: implement it in Kotlin or Swift and pass it
/// to `Store.observe`.
///
/// Called once per committed change, on the thread that wrote (a sync's
/// thread, or the caller of `recordCase`), after the write committed: hand
/// the change on (`trySend` into a flow) and return; it must not throw.
#[uniffi::export(with_foreign)]
pub trait StoreObserver: Send + Sync {
    /// What one committed change changed.
    fn on_change(&self, change: StoreChange);
}

/// Forwards the core's notifications to the app's observer.
struct Forward(Arc<dyn StoreObserver>);

impl core_lib::StoreObserver for Forward {
    fn changed(&self, change: &core_lib::StoreChange) {
        self.0.on_change(change.into());
    }
}

/// The registration of an observer: `stop()` it (or `close()` it in Kotlin)
/// to end the notifications. It does not keep the store open.
#[derive(Debug, uniffi::Object)]
pub struct ObserverHandle {
    store: Weak<Store>,
    id: core_lib::ObserverId,
    stopped: AtomicBool,
}

#[uniffi::export]
impl ObserverHandle {
    /// Ends the notifications (again: nothing).
    pub fn stop(&self) {
        if !self.stopped.swap(true, Ordering::SeqCst)
            && let Some(store) = self.store.upgrade()
        {
            store.core().unobserve(self.id);
        }
    }
}

impl Drop for ObserverHandle {
    fn drop(&mut self) {
        self.stop();
    }
}

#[uniffi::export]
impl Store {
    /// Registers `observer` to be told of every committed change of this
    /// store (see [`StoreObserver`]) until the returned handle is stopped.
    pub fn observe(self: Arc<Self>, observer: Arc<dyn StoreObserver>) -> Arc<ObserverHandle> {
        let id = self.core().observe(Arc::new(Forward(observer)));
        Arc::new(ObserverHandle {
            store: Arc::downgrade(&self),
            id,
            stopped: AtomicBool::new(false),
        })
    }
}
