//! Where a store reads the time: the phone's clock, or a clock that moves
//! only when told to (for tests, demos and training).

use std::sync::Arc;

/// A clock that only moves when told to. Open a store with one
/// (`Store.openWith`) to replay a day, to train new officers on deadlines
/// without waiting for them, or to test; a real app uses the phone's clock
/// (`Store.open`).
#[derive(Debug, uniffi::Object)]
pub struct ManualClock {
    pub(crate) inner: Arc<wangge_core::ManualClock>,
}

#[uniffi::export]
impl ManualClock {
    /// A clock standing at `nowMs` (ms since the Unix epoch).
    #[uniffi::constructor]
    pub fn new(now_ms: i64) -> Arc<Self> {
        Arc::new(ManualClock {
            inner: Arc::new(wangge_core::ManualClock::new(now_ms)),
        })
    }

    /// The time it shows (ms since the Unix epoch).
    pub fn now_ms(&self) -> i64 {
        wangge_core::Clock::now_ms(&*self.inner)
    }

    /// Moves the clock to `nowMs`, backwards too (as a badly set phone would).
    pub fn set_ms(&self, now_ms: i64) {
        self.inner.set(now_ms);
    }

    /// Moves the clock forward by `deltaMs`.
    pub fn advance_ms(&self, delta_ms: i64) {
        self.inner.advance(delta_ms);
    }
}
