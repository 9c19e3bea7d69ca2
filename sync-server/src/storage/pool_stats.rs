//! What a backend's database connections are doing, for `GET /metrics` (issue 11): how many
//! are open, idle and in use against the configured maximum, how long requests waited for
//! one, how many waits timed out, and how long document writes waited for the write lock.
//!
//! Kept by the backends themselves (an r2d2 event handler on PostgreSQL, the connection
//! mutexes on SQLite) with atomics only, so that counting costs a request nothing it would
//! notice and reading the figures never touches the database: a scrape must still answer
//! while the database does not.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the wait buckets, in seconds: from a connection handed over at once
/// (well under 100 µs) to the PostgreSQL pool's 5 s timeout.
pub const WAIT_BUCKETS: [f64; 11] = [
    0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.1, 0.5, 1.0, 5.0,
];

/// A histogram of waits, updated without a lock.
#[derive(Debug, Default)]
pub struct WaitHistogram {
    /// Cumulative, as Prometheus reads them: bucket `i` counts every wait ≤ `WAIT_BUCKETS[i]`.
    buckets: [AtomicU64; WAIT_BUCKETS.len()],
    count: AtomicU64,
    sum_nanos: AtomicU64,
}

impl WaitHistogram {
    /// Counts one wait.
    pub fn record(&self, waited: Duration) {
        let seconds = waited.as_secs_f64();
        for (bucket, bound) in self.buckets.iter().zip(WAIT_BUCKETS) {
            if seconds <= bound {
                bucket.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let nanos = u64::try_from(waited.as_nanos()).unwrap_or(u64::MAX);
        self.sum_nanos.fetch_add(nanos, Ordering::Relaxed);
    }

    /// The figures so far.
    pub fn snapshot(&self) -> WaitSnapshot {
        WaitSnapshot {
            buckets: std::array::from_fn(|i| self.buckets[i].load(Ordering::Relaxed)),
            count: self.count.load(Ordering::Relaxed),
            sum_seconds: self.sum_nanos.load(Ordering::Relaxed) as f64 / 1e9,
        }
    }
}

/// A [`WaitHistogram`]'s figures at one moment.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct WaitSnapshot {
    /// Cumulative counts, one per bound of [`WAIT_BUCKETS`].
    pub buckets: [u64; WAIT_BUCKETS.len()],
    /// Waits counted.
    pub count: u64,
    /// Their total, in seconds.
    pub sum_seconds: f64,
}

/// One pool of connections at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolSnapshot {
    /// The pool's name in the `pool` label: `main` on PostgreSQL; `writer` and `readers`
    /// on SQLite.
    pub pool: &'static str,
    /// The most connections the pool opens.
    pub max: u32,
    /// Connections open now.
    pub open: u32,
    /// Open connections no request holds.
    pub idle: u32,
    /// Open connections a request holds.
    pub in_use: u32,
    /// How long requests waited for a connection.
    pub wait: WaitSnapshot,
    /// Waits that gave up (the request failed; `/ready` answers `database_unavailable`).
    pub timeouts: u64,
}

/// A backend's connections at one moment, as [`crate::storage::Storage::pool_stats`] tells.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct DbStats {
    /// The `backend` label: `sqlite` or `postgres` (empty: a storage that keeps none, and
    /// the metrics leave the database out).
    pub backend: &'static str,
    /// Its pools.
    pub pools: Vec<PoolSnapshot>,
    /// How long document-writing transactions waited for the write lock that orders the
    /// change feed (PostgreSQL's advisory lock; SQLite's writer connection).
    pub write_lock_wait: WaitSnapshot,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wait_counts_in_its_bucket_and_every_larger_one() {
        let h = WaitHistogram::default();
        h.record(Duration::from_micros(50));
        h.record(Duration::from_millis(3));
        h.record(Duration::from_secs(7));
        let s = h.snapshot();
        assert_eq!(s.count, 3);
        assert!((s.sum_seconds - 7.00305).abs() < 1e-9, "{}", s.sum_seconds);
        let at = |bound: f64| s.buckets[WAIT_BUCKETS.iter().position(|b| *b == bound).unwrap()];
        assert_eq!(at(0.0001), 1);
        assert_eq!(at(0.0025), 1);
        assert_eq!(at(0.005), 2);
        assert_eq!(at(5.0), 2, "7 s is only in +Inf");
    }
}
