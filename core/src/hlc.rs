//! Hybrid logical clock.
//!
//! Phones have wrong clocks: minutes off, set by hand, jumping back after a
//! reboot without network time. Ordering events by wall-clock time alone
//! would let a badly set phone put a "handled" before the "dispatched" it
//! answers. A hybrid logical clock (Kulkarni et al., 2014) keeps a timestamp
//! close to physical time but guarantees that an event created after this
//! device *saw* another event (locally or through a merge) gets a larger
//! timestamp, so causally related events are never reordered.

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;

/// A hybrid-logical-clock timestamp: milliseconds of (roughly) physical time
/// plus a counter that breaks ties within one millisecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Hlc {
    /// Milliseconds since the Unix epoch, never behind any timestamp this
    /// device has seen.
    #[serde(rename = "w")]
    pub wall_ms: i64,
    /// Logical counter within `wall_ms`.
    #[serde(rename = "c")]
    pub counter: u32,
}

impl Ord for Hlc {
    fn cmp(&self, other: &Self) -> Ordering {
        (self.wall_ms, self.counter).cmp(&(other.wall_ms, other.counter))
    }
}

impl PartialOrd for Hlc {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

/// The clock state of one device: the last timestamp it issued or observed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HlcClock {
    last: Hlc,
}

impl HlcClock {
    /// Resumes a clock from its last persisted timestamp.
    pub fn resume(last: Hlc) -> Self {
        Self { last }
    }

    /// The last timestamp issued or observed.
    pub fn last(&self) -> Hlc {
        self.last
    }

    /// Issues a timestamp for a local event, given the phone's physical time.
    pub fn tick(&mut self, physical_ms: i64) -> Hlc {
        self.last = if physical_ms > self.last.wall_ms {
            Hlc {
                wall_ms: physical_ms,
                counter: 0,
            }
        } else {
            Hlc {
                wall_ms: self.last.wall_ms,
                counter: self.last.counter.saturating_add(1),
            }
        };
        self.last
    }

    /// Takes note of a timestamp received from another device, so that the
    /// next local event is ordered after it.
    pub fn observe(&mut self, remote: Hlc) {
        if remote > self.last {
            self.last = remote;
        }
    }
}

/// Where the library reads physical time. Tests and simulations supply
/// their own; production uses [`SystemClock`].
pub trait Clock: Send + Sync + std::fmt::Debug {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> i64;
}

/// The operating system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> i64 {
        chrono::Utc::now().timestamp_millis()
    }
}

/// A clock that only moves when told to: for tests and simulations.
#[derive(Debug, Default)]
pub struct ManualClock(std::sync::atomic::AtomicI64);

impl ManualClock {
    /// A clock standing at `ms`.
    pub fn new(ms: i64) -> Self {
        Self(std::sync::atomic::AtomicI64::new(ms))
    }

    /// Moves the clock to `ms` (backwards too, as a badly set phone would).
    pub fn set(&self, ms: i64) {
        self.0.store(ms, std::sync::atomic::Ordering::SeqCst);
    }

    /// Moves the clock forward by `ms`.
    pub fn advance(&self, ms: i64) {
        self.0.fetch_add(ms, std::sync::atomic::Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> i64 {
        self.0.load(std::sync::atomic::Ordering::SeqCst)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tick_follows_physical_time_when_it_moves_forward() {
        let mut c = HlcClock::default();
        assert_eq!(
            c.tick(1000),
            Hlc {
                wall_ms: 1000,
                counter: 0
            }
        );
        assert_eq!(
            c.tick(2000),
            Hlc {
                wall_ms: 2000,
                counter: 0
            }
        );
    }

    #[test]
    fn a_clock_set_back_never_reorders_local_events() {
        let mut c = HlcClock::default();
        let a = c.tick(5000);
        let b = c.tick(1000); // the user set the phone back
        assert!(b > a);
        assert_eq!(b.wall_ms, 5000);
    }

    #[test]
    fn events_after_a_merge_sort_after_what_was_merged() {
        // Device B's clock is an hour behind device A's.
        let mut a = HlcClock::default();
        let mut b = HlcClock::default();
        let dispatched = a.tick(10_000_000);
        b.observe(dispatched);
        let handled = b.tick(10_000_000 - 3_600_000);
        assert!(handled > dispatched);
    }
}
