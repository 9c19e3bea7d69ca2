//! Sync benchmark (not a test): the server in a child process (this
//! binary, re-executed) on 127.0.0.1, devices in this process, release build.
//!
//! ```text
//! cargo bench -p wangge-e2e --bench sync_bench
//! ```
//!
//! Measures: pushing 10,000 cases recorded offline (time, requests, bytes
//! on the wire per case); a fresh device pulling a scope of 10,000 cases; a
//! sync with nothing to do with 1,000 and with 10,000 documents stored
//! (median of 25 runs); the server's peak memory (VmHWM). Targets: push
//! ≤ 5 s, pull ≤ 5 s, no-op ≤ 20 ms, ≤ 1 KB per new case.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;
use std::time::{Duration, Instant};

use wangge_core::SyncProgress;
use wangge_e2e::*;
use wangge_server::storage::sqlite::SqliteStorage;

const NOOP_RUNS: usize = 25;
fn main() {
    serve_if_child();
    let dir = tempfile::tempdir().unwrap();

    let small = Setup::new(dir.path(), "small");
    let (_, p, _) = small.record_and_push(1_000);
    let noop_1k = small.noop(&small.pusher);
    let hwm_small = small.server_hwm_kib();
    println!("1,000 cases: pushed in {} requests", p.rounds);
    drop(small);

    let big = Setup::new(dir.path(), "big");
    let (push, p, push_cpu) = big.record_and_push(10_000);
    let noop_10k = big.noop(&big.pusher);
    let fresh = big.device("fresh");
    let cpu = big.server_cpu();
    let t = Instant::now();
    let pulled = fresh.sync();
    let pull = t.elapsed();
    let pull_cpu = big.server_cpu() - cpu;
    assert_eq!(pulled.docs_received, 10_000);
    let noop_10k_fresh = big.noop(&fresh);
    let hwm_big = big.server_hwm_kib();

    println!();
    println!("sync benchmark (release, server in a child process on 127.0.0.1)");
    println!(
        "push 10,000 offline cases : {:>8.2} s   ({} requests; per case {:.0} B up + {:.0} B down; server CPU {:.2} s; target ≤ 5 s, ≤ 1024 B/case)",
        push.as_secs_f64(),
        p.rounds,
        p.bytes_sent as f64 / 10_000.0,
        p.bytes_received as f64 / 10_000.0,
        push_cpu.as_secs_f64(),
    );
    println!(
        "fresh device pulls 10,000 : {:>8.2} s   ({} requests; per case {:.0} B down; server CPU {:.2} s; target ≤ 5 s)",
        pull.as_secs_f64(),
        pulled.rounds,
        pulled.bytes_received as f64 / 10_000.0,
        pull_cpu.as_secs_f64(),
    );
    println!(
        "no-op sync,  1,000 stored : {:>8.2} ms median ({:.2} ms p90; target ≤ 20 ms)",
        ms(noop_1k.0),
        ms(noop_1k.1)
    );
    println!(
        "no-op sync, 10,000 stored : {:>8.2} ms median ({:.2} ms p90; target ≤ 20 ms)",
        ms(noop_10k.0),
        ms(noop_10k.1)
    );
    println!(
        "no-op sync, 10,000 stored : {:>8.2} ms median ({:.2} ms p90) on the device that pulled them",
        ms(noop_10k_fresh.0),
        ms(noop_10k_fresh.1)
    );
    println!(
        "server peak memory (VmHWM): {:>8.1} MiB with 1,000 documents, {:.1} MiB with 10,000",
        hwm_small as f64 / 1024.0,
        hwm_big as f64 / 1024.0
    );
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// A server process with its database, and the device that pushes.
struct Setup {
    dir: std::path::PathBuf,
    server: ServerProcess,
    pusher: TestDevice,
}

impl Setup {
    fn new(dir: &Path, name: &str) -> Setup {
        let dir = dir.join(name);
        std::fs::create_dir_all(&dir).unwrap();
        let db = dir.join("server.sqlite3");
        // Create the schema before the server starts.
        drop(SqliteStorage::open(&db, catalog()).unwrap());
        let server = ServerProcess::spawn(&[], &db, free_port());
        let mut setup = Setup {
            pusher: open_device(&dir, &db, &server.base, "pusher"),
            dir,
            server,
        };
        setup.pusher.name = "pusher".into();
        setup
    }

    fn device(&self, name: &str) -> TestDevice {
        open_device(&self.dir, &self.server.db, &self.server.base, name)
    }

    /// Records `n` cases offline on the pusher (not timed), then pushes
    /// them in one sync (timed). Returns the time, the sync's counters and
    /// the server's CPU time meanwhile.
    fn record_and_push(&self, n: usize) -> (Duration, SyncProgress, Duration) {
        let dev = &self.pusher;
        bench::record_offline(dev, n, 0);
        let cpu = self.server_cpu();
        let t = Instant::now();
        let p = dev.sync();
        let elapsed = t.elapsed();
        let cpu = self.server_cpu() - cpu;
        assert_eq!(p.docs_sent as usize, n);
        assert_eq!(p.docs_refused, 0);
        assert_eq!(dev.store.pending_count().unwrap(), 0);
        (elapsed, p, cpu)
    }

    /// Median and 90th percentile of a sync with nothing to do.
    fn noop(&self, dev: &TestDevice) -> (Duration, Duration) {
        let times = bench::noop_syncs(dev, NOOP_RUNS);
        (times[NOOP_RUNS / 2], times[NOOP_RUNS * 9 / 10])
    }

    /// CPU time the server process has used.
    fn server_cpu(&self) -> Duration {
        let stat = std::fs::read_to_string(format!("/proc/{}/stat", self.server.pid())).unwrap();
        let after = &stat[stat.rfind(')').unwrap() + 2..];
        let f: Vec<&str> = after.split(' ').collect();
        let ticks: u64 = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
        // USER_HZ is 100 on Linux: a tick is 10 ms.
        Duration::from_millis(ticks * 10)
    }

    /// The server process's peak resident memory, in KiB.
    fn server_hwm_kib(&self) -> u64 {
        bench::server_memory_kib(&self.server, "VmHWM:")
    }
}

/// The pushing officer of [`block_officer`], enrolled in the server's database.
fn open_device(dir: &Path, db: &Path, base: &str, name: &str) -> TestDevice {
    block_officer(
        &SqliteStorage::open(db, catalog()).unwrap(),
        dir,
        base,
        name,
    )
}
