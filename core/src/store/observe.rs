//! Observing the store: one notification per committed transaction that
//! changed something a screen shows, so lists update without polling.
//!
//! A write that commits several rows at once (a sync round that receives
//! fifty cases, say) notifies once, with everything it changed; a write
//! that changes nothing visible (a sync with nothing to exchange) does not
//! notify. Observers are called on the thread that wrote, after the commit
//! and after the store's locks are released, so an observer may read the
//! store; it should be quick (hand the change to a queue or a flow).

use std::sync::{Arc, Mutex};

use chrono::NaiveDate;

use crate::ids::CaseId;
use crate::store::Store;

/// What one committed transaction changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreChange {
    /// Cases recorded, written to, or received with something new, each
    /// once.
    pub cases: Vec<CaseId>,
    /// Every case may read differently (the catalog changed and every
    /// projection was derived again): reload whatever shows cases.
    pub all_cases: bool,
    /// Zero reports (workstation, day) filed, amended or received.
    pub zero_reports: Vec<(String, NaiveDate)>,
    /// What the server holds changed: pending documents, the on-server
    /// marks, refusals, or the upload state of photos.
    pub sync_state: bool,
    /// Photos or thumbnails arrived in the store (imported, or received
    /// from the server).
    pub photos: bool,
}

impl StoreChange {
    /// True when nothing changed: such a change is not sent.
    pub fn is_empty(&self) -> bool {
        self.cases.is_empty()
            && !self.all_cases
            && self.zero_reports.is_empty()
            && !self.sync_state
            && !self.photos
    }

    /// A change to one case (and, with it, its pending state).
    pub(crate) fn case(id: CaseId) -> Self {
        StoreChange {
            cases: vec![id],
            sync_state: true,
            ..StoreChange::default()
        }
    }

    /// A change to the sync state only.
    pub(crate) fn sync_state() -> Self {
        StoreChange {
            sync_state: true,
            ..StoreChange::default()
        }
    }

    /// A change to the document `doc_id`: a case, or a zero report
    /// (`zr:<workstation>:<day>`); another id changes nothing visible.
    pub(crate) fn add_doc(&mut self, doc_id: &str) {
        if let Some(rest) = doc_id.strip_prefix("zr:") {
            if let Some((workstation, day)) = rest.rsplit_once(':')
                && let Ok(day) = NaiveDate::parse_from_str(day, "%Y-%m-%d")
            {
                let key = (workstation.to_owned(), day);
                if !self.zero_reports.contains(&key) {
                    self.zero_reports.push(key);
                }
            }
        } else if let Ok(id) = CaseId::parse(doc_id)
            && !self.cases.contains(&id)
        {
            self.cases.push(id);
        }
    }
}

/// Receives the store's changes ([`Store::observe`]).
pub trait StoreObserver: Send + Sync {
    /// One committed transaction changed what `change` says. Called on the
    /// writing thread after the commit; keep it quick.
    fn changed(&self, change: &StoreChange);
}

/// The observers registered on a store, by registration number.
#[derive(Default)]
pub(crate) struct Observers {
    next: u64,
    list: Vec<(u64, Arc<dyn StoreObserver>)>,
}

impl std::fmt::Debug for Observers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Observers")
            .field("count", &self.list.len())
            .finish()
    }
}

/// The registration of an observer: pass it to [`Store::unobserve`] to stop
/// the notifications.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ObserverId(u64);

impl Store {
    /// Registers `observer`: from now on it is told of every committed change
    /// (see the module documentation), until [`Store::unobserve`].
    pub fn observe(&self, observer: Arc<dyn StoreObserver>) -> ObserverId {
        let mut observers = self.observers();
        observers.next += 1;
        let id = observers.next;
        observers.list.push((id, observer));
        ObserverId(id)
    }

    /// Stops the notifications of an observer. False if it was not
    /// registered (any more).
    pub fn unobserve(&self, id: ObserverId) -> bool {
        let mut observers = self.observers();
        let before = observers.list.len();
        observers.list.retain(|(n, _)| *n != id.0);
        observers.list.len() != before
    }

    fn observers(&self) -> std::sync::MutexGuard<'_, Observers> {
        self.observers.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Tells every observer of a committed change, unless it is empty. Must
    /// be called without the writer held, so an observer may use the store.
    ///
    /// An observer that panics is not called again for this change, and the
    /// panic does not reach the writer: the write has committed, and failing
    /// it now would tell the app it did not.
    pub(crate) fn notify(&self, change: StoreChange) {
        if change.is_empty() {
            return;
        }
        let observers: Vec<Arc<dyn StoreObserver>> = self
            .observers()
            .list
            .iter()
            .map(|(_, o)| o.clone())
            .collect();
        for o in observers {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| o.changed(&change)));
        }
    }
}

/// A shared slot for the observers, kept by [`Store`].
pub(crate) type ObserverSlot = Mutex<Observers>;
