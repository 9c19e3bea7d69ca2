//! SQLite beside PostgreSQL (not a test; issue 11): the same sync workload on the embedded
//! SQLite file, on PostgreSQL behind one server instance, and on PostgreSQL behind two.
//! Servers run in child processes (this binary, re-executed) on 127.0.0.1; devices run in
//! this process; release build.
//!
//! ```text
//! WANGGE_TEST_POSTGRES=postgres://postgres@127.0.0.1:5432/<db> \
//!     cargo bench -p wangge-e2e --bench backends_bench
//! ```
//!
//! Measures, per backend: 10,000 cases recorded offline pushed (with two instances: two
//! phones pushing 5,000 each at once, each through its own instance); a fresh phone pulling
//! those 10,000 (with two instances: two fresh phones at once, one per instance; the slower
//! one counts); the median of 25 syncs with nothing to do; each instance's peak memory.
//! Then, with `BENCH_100K=1`, the server's memory with 100,000 cases stored (loaded by one
//! phone, then pulled whole by a fresh one): target ≤ 200 MB per instance. Each PostgreSQL
//! run uses a fresh schema of the database; the SQLite file is on the disk of the temporary
//! directory.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;
use std::time::{Duration, Instant};

use wangge_e2e::*;
use wangge_server::storage::postgres::testing::{TEST_DB_VAR, TestSchema};

const NOOP_RUNS: usize = 25;

/// What one backend did.
struct Figures {
    name: String,
    push: Duration,
    pull: Duration,
    noop: Duration,
    hwm_mib: Vec<f64>,
}

fn main() {
    serve_if_child();
    let Some(url) = std::env::var(TEST_DB_VAR).ok().filter(|u| !u.is_empty()) else {
        eprintln!(
            "set {TEST_DB_VAR}=postgres://postgres@127.0.0.1:5432/<database> to compare with PostgreSQL"
        );
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let sqlite_db = dir.path().join("server.sqlite3");
    let sqlite = run(
        "SQLite, 1 instance",
        dir.path(),
        sqlite_db.to_str().unwrap(),
        1,
    );
    let schema1 = TestSchema::new(&url);
    let pg1 = run("PostgreSQL, 1 instance", dir.path(), &schema1.url, 1);
    drop(schema1);
    let schema2 = TestSchema::new(&url);
    let pg2 = run("PostgreSQL, 2 instances", dir.path(), &schema2.url, 2);
    drop(schema2);

    println!();
    println!(
        "backends benchmark (release; servers in child processes on 127.0.0.1; medians where repeated)"
    );
    println!(
        "{:<26} {:>14} {:>16} {:>14} {:>18}",
        "", "push 10,000", "fresh pull", "no-op sync", "peak memory"
    );
    for f in [&sqlite, &pg1, &pg2] {
        let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
        println!(
            "{:<26} {:>7.2} s ×{:<4.2} {:>8.2} s ×{:<4.2} {:>7.2} ms ×{:<4.2} {:>8} MiB",
            f.name,
            f.push.as_secs_f64(),
            ratio(f.push, sqlite.push),
            f.pull.as_secs_f64(),
            ratio(f.pull, sqlite.pull),
            f.noop.as_secs_f64() * 1000.0,
            ratio(f.noop, sqlite.noop),
            f.hwm_mib
                .iter()
                .map(|m| format!("{m:.0}"))
                .collect::<Vec<_>>()
                .join(" + "),
        );
    }
    println!("(×: the ratio to SQLite in this run)");

    if std::env::var("BENCH_100K").is_ok_and(|v| v == "1") {
        let schema = TestSchema::new(&url);
        for (name, db) in [
            ("SQLite", sqlite_db.with_extension("100k.sqlite3")),
            ("PostgreSQL", Path::new(&schema.url).to_path_buf()),
        ] {
            let (rss, hwm) = hundred_thousand(dir.path(), db.to_str().unwrap(), name);
            println!(
                "{name:<10} with 100,000 cases stored, after a fresh phone pulled them all: RSS {rss:.0} MiB, peak {hwm:.0} MiB (target ≤ 200 MB)"
            );
        }
    }
}

/// The three measurements on `db` behind `instances` servers.
fn run(name: &str, dir: &Path, db: &str, instances: usize) -> Figures {
    let dir = dir.join(name.replace([' ', ','], "_"));
    std::fs::create_dir_all(&dir).unwrap();
    // Create the schema before the servers start.
    let storage = wangge_server::storage::open(db, catalog()).unwrap();
    let servers: Vec<ServerProcess> = (0..instances)
        .map(|_| ServerProcess::spawn(&[], Path::new(db), free_port()))
        .collect();
    let pushers: Vec<TestDevice> = servers
        .iter()
        .enumerate()
        .map(|(i, s)| block_officer(&*storage, &dir, &s.base, &format!("pusher{i}")))
        .collect();
    let per_pusher = 10_000 / instances;
    for (i, dev) in pushers.iter().enumerate() {
        bench::record_offline(dev, per_pusher, i * per_pusher);
    }
    let t = Instant::now();
    std::thread::scope(|s| {
        for dev in &pushers {
            s.spawn(|| {
                let p = dev.sync();
                assert_eq!(p.docs_sent as usize, per_pusher);
                assert_eq!(p.docs_refused, 0);
            });
        }
    });
    let push = t.elapsed();

    let fresh: Vec<TestDevice> = servers
        .iter()
        .enumerate()
        .map(|(i, s)| block_officer(&*storage, &dir, &s.base, &format!("fresh{i}")))
        .collect();
    let t = Instant::now();
    std::thread::scope(|s| {
        for dev in &fresh {
            s.spawn(|| assert_eq!(dev.sync().docs_received, 10_000));
        }
    });
    let pull = t.elapsed();

    let noop = bench::noop_syncs(&fresh[0], NOOP_RUNS)[NOOP_RUNS / 2];
    let hwm_mib = servers
        .iter()
        .map(|s| bench::server_memory_kib(s, "VmHWM:") as f64 / 1024.0)
        .collect();
    Figures {
        name: name.to_owned(),
        push,
        pull,
        noop,
        hwm_mib,
    }
}

/// One server with 100,000 cases stored and pulled whole by a fresh phone: its RSS and
/// peak, in MiB.
fn hundred_thousand(dir: &Path, db: &str, name: &str) -> (f64, f64) {
    let dir = dir.join(format!("100k-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    let storage = wangge_server::storage::open(db, catalog()).unwrap();
    let server = ServerProcess::spawn(&[], Path::new(db), free_port());
    let loader = block_officer(&*storage, &dir, &server.base, "loader");
    for batch in 0..10 {
        bench::record_offline(&loader, 10_000, batch * 10_000);
        assert_eq!(loader.sync().docs_refused, 0);
    }
    let fresh = block_officer(&*storage, &dir, &server.base, "fresh");
    assert_eq!(fresh.sync().docs_received, 100_000);
    (
        bench::server_memory_kib(&server, "VmRSS:") as f64 / 1024.0,
        bench::server_memory_kib(&server, "VmHWM:") as f64 / 1024.0,
    )
}
