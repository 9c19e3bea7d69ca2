//! A link too slow for a full-size round: a device whose backlog takes longer to send than
//! the request timeout allows still syncs, both ways, because each round is sized to what the
//! link carried in the rounds before (`core/src/sync/pacing.rs`). With fixed rounds (2 MiB up,
//! 2,000 documents down) every attempt timed out and the sync never finished.
//!
//! The link is the shaping proxy of the 2G benchmark ([`wangge_e2e::shaper`]), scaled so the
//! test takes seconds: 400 kbit/s and a 3 s request timeout stand for 100 kbit/s and 60 s
//! (what fits in one request is what matters, and it is about the same: 150 KB here, 750 KB
//! there).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use wangge_core::{NewCase, Role, SyncClient, SyncConfig};
use wangge_e2e::shaper::{Link, Shaper};
use wangge_e2e::*;
use wangge_server::storage::DeviceRole;

/// Cases in the backlog: about 270 KB of documents, 5.4 s of this link — nearly twice what
/// one request may take.
const BACKLOG: u64 = 400;

fn slow_client(base: &str, token: String) -> SyncClient {
    let mut config = SyncConfig::new(base, token);
    config.request_timeout = Duration::from_secs(3);
    SyncClient::new(config).unwrap()
}

#[test]
fn a_backlog_longer_than_the_request_timeout_goes_up_and_comes_down_in_rounds_sized_to_the_link() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let link = || Link::new(400.0, Duration::from_millis(20), 40);
    let (up, down) = (link(), link());
    let upstream = server.base.trim_start_matches("http://").parse().unwrap();
    let shaper = Shaper::start(upstream, up.clone(), down.clone());

    let (enrolled, token) = server.enroll("far", DeviceRole::Field, everything());
    let device = TestDevice::open(dir.path(), "far", &enrolled, &shaper.base, &token);
    let officer = device.me(Role::GridOfficer, None);
    for case in 0..BACKLOG {
        device.clock.advance(60_000);
        let new = NewCase::from_handheld(
            "A02-001",
            &format!("占道经营，第 {} 起：一周没有信号后补报", case + 1),
            fix_in("XT-W01-U1", device.store.now_ms()),
        );
        device.store.record_case(&officer, new).unwrap();
    }

    let sent = slow_client(&shaper.base, token)
        .sync(&device.store, &mut |_| {})
        .unwrap();
    assert_eq!(sent.docs_sent, BACKLOG);
    assert_eq!(device.store.pending_count().unwrap(), 0);
    let pushed = up.payload.load(std::sync::atomic::Ordering::SeqCst);
    assert!(
        pushed as f64 / up.rate() > 3.0 * 1.5,
        "the backlog ({pushed} B) must take longer than a timeout and a half of this link"
    );
    assert!(sent.rounds >= 3, "{sent:?}");

    // A phone enrolled fresh in the same scope, over the same link, receives all of it.
    let (enrolled, token) = server.enroll("new", DeviceRole::Field, everything());
    let fresh = TestDevice::open(dir.path(), "new", &enrolled, &shaper.base, &token);
    let before = down.payload.load(std::sync::atomic::Ordering::SeqCst);
    let got = slow_client(&shaper.base, token)
        .sync(&fresh.store, &mut |_| {})
        .unwrap();
    let pulled = down.payload.load(std::sync::atomic::Ordering::SeqCst) - before;
    assert!(got.docs_received >= BACKLOG, "{got:?}");
    assert!(pulled as f64 / down.rate() > 3.0 * 1.5, "{pulled} B down");
    // Every document of the backlog arrived whole: the same heads as on the phone that
    // recorded it (the fresh phone also holds the street's other documents).
    let received = fresh.heads();
    for (doc_id, heads) in device.heads() {
        assert_eq!(received.get(&doc_id), Some(&heads), "{doc_id}");
    }
}
