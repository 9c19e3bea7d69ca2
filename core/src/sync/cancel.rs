//! Cancelling a sync or a photo transfer from another thread.
//!
//! A [`Cancel`] is a flag the app (through the bindings: a cancelled Kotlin
//! coroutine) raises and the sync checks at its boundaries only: before each
//! round of documents, before each photo chunk, before each thumbnail, and
//! while it waits between retries. A round in flight is finished — its
//! answer applied in its one transaction — before the sync stops, so a
//! cancelled sync leaves nothing half-applied: every round either committed
//! or never started, and the next sync goes on from there.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::sync::SyncError;

/// A cancellation flag shared between the thread that syncs and whoever may
/// stop it. Clones share the flag. The default is a flag never raised.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<Inner>);

#[derive(Debug, Default)]
struct Inner {
    raised: AtomicBool,
    /// Wakes a thread waiting out a backoff when the flag is raised.
    lock: Mutex<()>,
    woken: Condvar,
}

impl Cancel {
    /// A flag not raised yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Raises the flag: the sync stops at its next boundary.
    pub fn cancel(&self) {
        let _guard = self.0.lock.lock().unwrap_or_else(|p| p.into_inner());
        self.0.raised.store(true, Ordering::SeqCst);
        self.0.woken.notify_all();
    }

    /// Whether the flag was raised.
    pub fn is_cancelled(&self) -> bool {
        self.0.raised.load(Ordering::SeqCst)
    }

    /// Fails with [`SyncError::Cancelled`] once the flag is raised: called at
    /// every boundary where stopping leaves the store consistent.
    pub fn check(&self) -> Result<()> {
        if self.is_cancelled() {
            Err(Error::Sync(SyncError::Cancelled))
        } else {
            Ok(())
        }
    }

    /// Waits `delay` (a backoff between retries), or less if the flag is
    /// raised meanwhile, and then fails with [`SyncError::Cancelled`].
    pub fn sleep(&self, delay: Duration) -> Result<()> {
        let deadline = Instant::now() + delay;
        let mut guard = self.0.lock.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            if self.is_cancelled() {
                return Err(Error::Sync(SyncError::Cancelled));
            }
            let now = Instant::now();
            if now >= deadline {
                return Ok(());
            }
            guard = self
                .0
                .woken
                .wait_timeout(guard, deadline - now)
                .unwrap_or_else(|p| p.into_inner())
                .0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_raised_flag_fails_the_check_and_ends_a_wait_early() {
        let cancel = Cancel::new();
        assert!(cancel.check().is_ok());
        assert!(cancel.sleep(Duration::from_millis(1)).is_ok());
        let other = cancel.clone();
        let waiter = std::thread::spawn(move || other.sleep(Duration::from_secs(3600)));
        cancel.cancel();
        let waited = waiter
            .join()
            .unwrap_or_else(|_| panic!("the waiter panicked"));
        assert!(matches!(waited, Err(Error::Sync(SyncError::Cancelled))));
        assert!(matches!(
            cancel.check(),
            Err(Error::Sync(SyncError::Cancelled))
        ));
    }
}
