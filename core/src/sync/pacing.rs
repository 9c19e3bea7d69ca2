//! Sizing each sync round to the link, so that no round outlasts the request timeout.
//!
//! **Why.** A round's size used to be fixed: up to [`SyncConfig::push_batch_bytes`] (2 MiB)
//! of changes up and [`SyncConfig::pull_batch_docs`] (2,000) documents down, which the
//! server caps at 8 MiB. On 2G (100 kbit/s, 12.5 KB/s) 2 MiB takes 168 s to send and 8 MiB
//! 11 minutes to receive, against a 60 s request timeout: the request timed out, was sent
//! again whole, timed out again, and the sync failed at every attempt — a device back from a
//! week without signal, or a new phone enrolling in a busy street, could never sync over 2G.
//!
//! **How.** The client measures each round: the bytes it sent and received over the time the
//! round took. It sizes the next round to last about a quarter of the request timeout at that
//! rate (15 s of the default 60 s; the margin absorbs a link that slows down between rounds),
//! never above the configured maxima, and growing at most [`MAX_GROWTH`] times per round so
//! that one lucky measurement does not overshoot. The first round of a client is small
//! ([`FIRST_PUSH_BYTES`], [`FIRST_PULL_DOCS`]): 64 KiB takes 5 s on 2G, and on a fast link
//! the next round is already full size. Pulls are sized in documents (the protocol's unit),
//! from the average size of the documents received so far.
//!
//! A round that times out all the same is sent again smaller: the rate is taken to be at
//! most what would have fitted in the timeout, halving the next round, and the batch is
//! prepared again from the store (preparing only reads; the server merges a document it
//! already holds as a no-op, so a timed-out round that did reach the server costs nothing).
//!
//! The measurement lives in the [`SyncClient`](super::SyncClient) and is shared by its clones,
//! so an app's next sync starts at the pace of the last one.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use super::SyncConfig;

/// Push budget of a client's first round, before anything is measured.
pub const FIRST_PUSH_BYTES: usize = 64 << 10;
/// Documents asked for in a client's first round, before anything is measured.
pub const FIRST_PULL_DOCS: u32 = 50;
/// The smallest push budget: one typical case document fits (a bigger one is still sent,
/// alone, since a batch always holds at least one document).
pub const MIN_PUSH_BYTES: usize = 8 << 10;
/// The fewest documents asked for in a round.
pub const MIN_PULL_DOCS: u32 = 5;
/// Most a round's size grows over the previous one.
pub const MAX_GROWTH: f64 = 4.0;
/// Assumed size of a pulled document until one has been received.
const FIRST_DOC_BYTES: f64 = 2048.0;

/// What the client has learned of the link (see the module documentation).
#[derive(Debug, Clone, Default)]
pub(crate) struct Pacing(Arc<Mutex<Measured>>);

#[derive(Debug, Default, Clone, Copy)]
struct Measured {
    /// Bytes per second of the last round, `None` before the first.
    rate: Option<f64>,
    /// Average size of a pulled document (bytes of the response per document received).
    doc_bytes: Option<f64>,
    /// The budgets of the last round, from which growth is limited.
    last_push: Option<usize>,
    last_pull: Option<u32>,
}

/// The size of one round.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RoundSize {
    /// About how many bytes of changes to push.
    pub push_bytes: usize,
    /// Most documents to ask for.
    pub pull_docs: u32,
}

impl Pacing {
    fn get(&self) -> Measured {
        *self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn update(&self, f: impl FnOnce(&mut Measured)) {
        f(&mut self.0.lock().unwrap_or_else(|p| p.into_inner()));
    }

    /// The size of the next round under `config`.
    pub(crate) fn next_round(&self, config: &SyncConfig) -> RoundSize {
        let m = self.get();
        let max_push = config.push_batch_bytes.max(1);
        let max_pull = config.pull_batch_docs.max(1);
        let Some(rate) = m.rate else {
            return RoundSize {
                push_bytes: FIRST_PUSH_BYTES.min(max_push),
                pull_docs: FIRST_PULL_DOCS.min(max_pull),
            };
        };
        let target = rate * target_seconds(config.request_timeout);
        let grown = |last: Option<f64>, first: f64| last.unwrap_or(first) * MAX_GROWTH;
        let push = target
            .min(grown(
                m.last_push.map(|b| b as f64),
                FIRST_PUSH_BYTES as f64,
            ))
            .clamp(MIN_PUSH_BYTES.min(max_push) as f64, max_push as f64);
        let doc_bytes = m.doc_bytes.unwrap_or(FIRST_DOC_BYTES).max(1.0);
        let pull = (target / doc_bytes)
            .min(grown(
                m.last_pull.map(f64::from),
                f64::from(FIRST_PULL_DOCS),
            ))
            .clamp(f64::from(MIN_PULL_DOCS.min(max_pull)), f64::from(max_pull));
        RoundSize {
            push_bytes: push as usize,
            pull_docs: pull as u32,
        }
    }

    /// Records a round of `size` that sent `sent` bytes and received `received` bytes holding
    /// `docs_received` documents in `elapsed`.
    pub(crate) fn round_done(
        &self,
        size: RoundSize,
        sent: u64,
        received: u64,
        docs_received: u64,
        elapsed: Duration,
    ) {
        let seconds = elapsed.as_secs_f64().max(1e-3);
        self.update(|m| {
            m.rate = Some((sent + received) as f64 / seconds);
            if docs_received > 0 {
                let avg = received as f64 / docs_received as f64;
                // A running average weighted to the recent rounds: a street's documents are
                // of a kind, but a first round of small ones should not size the rest.
                m.doc_bytes = Some(m.doc_bytes.map_or(avg, |d| 0.5 * d + 0.5 * avg));
            }
            m.last_push = Some(size.push_bytes);
            m.last_pull = Some(size.pull_docs);
        });
    }

    /// Records a round of `size` that sent `sent` bytes and timed out: the next one is half
    /// as big (see the module documentation).
    pub(crate) fn round_timed_out(&self, size: RoundSize, sent: u64, timeout: Duration) {
        self.update(|m| {
            let fitted = sent as f64 / timeout.as_secs_f64().max(1e-3);
            let halved = fitted / 2.0;
            m.rate = Some(m.rate.map_or(halved, |r| r.min(halved)));
            m.last_push = Some((size.push_bytes / 2).max(1));
            m.last_pull = Some((size.pull_docs / 2).max(1));
        });
    }
}

/// How long a round should take: a quarter of the request timeout.
fn target_seconds(timeout: Duration) -> f64 {
    timeout.as_secs_f64() / 4.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> SyncConfig {
        SyncConfig::new("http://127.0.0.1:1", "t")
    }

    #[test]
    fn the_first_round_is_small_then_grows_to_the_configured_maxima_on_a_fast_link() {
        let (pacing, config) = (Pacing::default(), config());
        let first = pacing.next_round(&config);
        assert_eq!(first.push_bytes, FIRST_PUSH_BYTES);
        assert_eq!(first.pull_docs, FIRST_PULL_DOCS);
        let mut size = first;
        let mut seen = vec![size];
        // 100 MB/s: every round may be as big as the configuration allows.
        for _ in 0..6 {
            pacing.round_done(size, 64 << 10, 1 << 20, 500, Duration::from_millis(10));
            size = pacing.next_round(&config);
            seen.push(size);
        }
        assert_eq!(size.push_bytes, config.push_batch_bytes, "{seen:?}");
        assert_eq!(size.pull_docs, config.pull_batch_docs, "{seen:?}");
        for pair in seen.windows(2) {
            assert!(pair[1].push_bytes as f64 <= pair[0].push_bytes as f64 * MAX_GROWTH);
            assert!(f64::from(pair[1].pull_docs) <= f64::from(pair[0].pull_docs) * MAX_GROWTH);
        }
    }

    #[test]
    fn on_2g_a_round_is_sized_to_a_quarter_of_the_timeout() {
        let (pacing, config) = (Pacing::default(), config());
        let mut size = pacing.next_round(&config);
        for _ in 0..8 {
            // 12.5 KB/s, 2 KB documents.
            let sent = size.push_bytes as u64;
            let received = u64::from(size.pull_docs) * 2000;
            let secs = (sent + received) as f64 / 12_500.0;
            pacing.round_done(
                size,
                sent,
                received,
                u64::from(size.pull_docs),
                Duration::from_secs_f64(secs),
            );
            size = pacing.next_round(&config);
        }
        // 15 s at 12.5 KB/s: 187.5 KB, or about 93 documents of 2 KB.
        assert_eq!(size.push_bytes, 187_500);
        assert_eq!(size.pull_docs, 93);
        assert!(size.push_bytes < config.push_batch_bytes);
    }

    #[test]
    fn a_timed_out_round_halves_the_next_one() {
        let (pacing, config) = (Pacing::default(), config());
        let size = RoundSize {
            push_bytes: 1 << 20,
            pull_docs: 400,
        };
        pacing.round_done(size, 1 << 20, 0, 0, Duration::from_secs(1));
        pacing.round_timed_out(size, 1 << 20, config.request_timeout);
        let next = pacing.next_round(&config);
        assert!(next.push_bytes <= (1 << 20) / 2 * MAX_GROWTH as usize);
        // What fitted in 60 s was at most 1 MiB: half of that rate for 15 s is 128 KiB.
        assert_eq!(next.push_bytes, (1 << 20) / 8);
        assert!(next.pull_docs < 400);
    }

    #[test]
    fn small_configured_maxima_are_kept() {
        let pacing = Pacing::default();
        let mut config = config();
        config.push_batch_bytes = 1000;
        config.pull_batch_docs = 3;
        let first = pacing.next_round(&config);
        assert_eq!((first.push_bytes, first.pull_docs), (1000, 3));
        pacing.round_done(first, 10, 10, 1, Duration::from_secs(100));
        let next = pacing.next_round(&config);
        assert!(next.push_bytes <= 1000 && next.pull_docs <= 3, "{next:?}");
        assert!(next.push_bytes >= 1 && next.pull_docs >= 1);
    }
}
