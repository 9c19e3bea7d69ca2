//! What the sync benchmarks share (`benches/sync_bench.rs`, `benches/backends_bench.rs`):
//! the cases a phone records offline, the timing of a sync with nothing to do, and the
//! server process's memory.

use std::time::{Duration, Instant};

use wangge_core::{GpsFix, NewCase, Role};

use crate::{MONDAY_9AM, ServerProcess, TestDevice, fix_in};

/// Unit grids of block XT-B1, where every benchmark case lies.
pub const B1_CELLS: [&str; 5] = [
    "XT-W01-U1",
    "XT-W02-U2",
    "XT-W03-U1",
    "XT-W04-U2",
    "XT-W05-U3",
];

/// Records `n` street-vendor cases offline on `dev`, numbered from `first`, a second apart,
/// spread over [`B1_CELLS`].
pub fn record_offline(dev: &TestDevice, n: usize, first: usize) {
    let officer = dev.me(Role::GridOfficer, Some("网格一组"));
    let fixes: Vec<GpsFix> = B1_CELLS.iter().map(|c| fix_in(c, MONDAY_9AM)).collect();
    for i in first..first + n {
        dev.clock.advance(1_000);
        let mut fix = fixes[i % fixes.len()];
        fix.fix_time_ms = MONDAY_9AM + i as i64 * 1_000;
        dev.store
            .record_case(
                &officer,
                NewCase::from_handheld("A02-001", &format!("流动摊贩占道经营，第{i}处"), fix),
            )
            .unwrap();
    }
}

/// The times of `runs` syncs with nothing to do (one round, nothing sent or received),
/// after three warm-up syncs, fastest first.
pub fn noop_syncs(dev: &TestDevice, runs: usize) -> Vec<Duration> {
    for _ in 0..3 {
        dev.sync();
    }
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let t = Instant::now();
            let p = dev.sync();
            let d = t.elapsed();
            assert_eq!((p.docs_sent, p.docs_received, p.rounds), (0, 0, 1));
            d
        })
        .collect();
    times.sort();
    times
}

/// A memory figure of the server process from `/proc/<pid>/status` (`"VmRSS:"`,
/// `"VmHWM:"`), in KiB.
pub fn server_memory_kib(server: &ServerProcess, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid())).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}
