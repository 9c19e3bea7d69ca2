//! The server as an operator runs it: `wangge-server serve` configured through environment
//! variables, `/health` and `/ready` (which turns unavailable when the database is not at
//! this server's schema, or does not answer), and a clean exit on SIGTERM — on SQLite and on
//! PostgreSQL (those tests need `WANGGE_TEST_POSTGRES`, see
//! `wangge_server::storage::postgres::testing`).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use geo::InteriorPoint;
use wangge_core::{
    Actor, Catalog, DeviceId, GpsFix, ManualClock, NewCase, Role, Store, SyncClient, SyncConfig,
};

#[path = "support/process.rs"]
mod process;
use process::{Server, free_port, wait_until};
#[path = "support/tcp_proxy.rs"]
mod tcp_proxy;
use tcp_proxy::TcpProxy;
use wangge_server::storage::postgres::testing::{TestSchema, test_database};

/// `wangge-server serve` on `db` and `port`, once it answers.
fn serve(db: &str, port: u16) -> Server {
    serve_with(db, port, &[])
}

/// [`serve`] with more environment variables.
fn serve_with(db: &str, port: u16, env: &[(&str, &str)]) -> Server {
    let server = Server(
        Command::new(env!("CARGO_BIN_EXE_wangge-server"))
            .arg("serve")
            .env("WANGGE_DB", db)
            .env("WANGGE_LISTEN", format!("127.0.0.1:{port}"))
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    wait_until("the server answers /health", || {
        reqwest::blocking::get(format!("http://127.0.0.1:{port}/health"))
            .is_ok_and(|r| r.status().is_success())
    });
    server
}

#[cfg(unix)]
fn sigterm(server: &mut Server) -> std::process::ExitStatus {
    let status = Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut exited = None;
    wait_until("the server exits after SIGTERM", || {
        exited = server.0.try_wait().unwrap();
        exited.is_some()
    });
    exited.unwrap()
}

fn stored_documents(db: &Path) -> i64 {
    rusqlite::Connection::open(db)
        .unwrap()
        .query_row("SELECT count(*) FROM documents", [], |r| r.get(0))
        .unwrap()
}

/// SIGTERM in the middle of a phone's 5,000-document push: the rounds in flight finish and
/// are acknowledged, the rest is refused a connection and stays pending on the phone;
/// after a restart the next sync delivers it. Nothing the server acknowledged is missing.
#[cfg(unix)]
#[test]
fn sigterm_during_a_large_push_loses_nothing_acknowledged() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("street.sqlite3");
    let db = db.to_str().unwrap();
    sigterm_during_a_large_push(dir.path(), db, &|| stored_documents(Path::new(db)));
}

/// The same on PostgreSQL.
#[cfg(unix)]
#[test]
fn sigterm_during_a_large_push_loses_nothing_acknowledged_on_postgres() {
    let Some(url) = test_database("sigterm_during_a_large_push_on_postgres") else {
        return;
    };
    let schema = TestSchema::new(&url);
    let dir = tempfile::tempdir().unwrap();
    sigterm_during_a_large_push(dir.path(), &schema.url, &|| {
        let mut client = postgres::Client::connect(&schema.url, postgres::NoTls).unwrap();
        client
            .query_one("SELECT count(*) FROM documents", &[])
            .unwrap()
            .get(0)
    });
}

/// A phone enrolled on `db` (the demo roster imported, the grid officer XT-GO-001) with `n`
/// cases recorded offline; and its token.
fn phone_with_cases(dir: &Path, db: &str, n: usize) -> (Store, String) {
    let roster = concat!(env!("CARGO_MANIFEST_DIR"), "/data/roster-demo.json");
    cli(db, &["roster", "import", roster]);
    let enrolled = cli(db, &["enroll", "--name", "手持01", "--person", "XT-GO-001"]);
    let field = |name: &str| {
        enrolled
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}=")))
            .unwrap()
            .to_owned()
    };
    let (device, token) = (
        DeviceId::parse(&field("device_id")).unwrap(),
        field("token"),
    );

    let catalog = Arc::new(Catalog::demo().unwrap());
    let store = Store::open(
        dir.join("phone.sqlite3"),
        device,
        catalog.clone(),
        Arc::new(ManualClock::new(1_772_413_200_000)),
    )
    .unwrap();
    let cell = catalog.grids.cell("XT-W01-U1").unwrap();
    let p = cell.geometry().interior_point().unwrap();
    let (lat, lon) = catalog.grids.datum().to_wgs84(p.y(), p.x());
    let fix = GpsFix {
        lat,
        lon,
        accuracy_m: 5.0,
        fix_time_ms: 1_772_413_200_000,
    };
    let officer = Actor {
        id: "XT-GO-001".into(),
        role: Role::GridOfficer,
        unit: None,
        device,
    };
    for i in 0..n {
        store
            .record_case(
                &officer,
                NewCase::from_handheld("A01-001", &format!("暴露垃圾 {i}"), fix),
            )
            .unwrap();
    }
    (store, token)
}

#[cfg(unix)]
fn sigterm_during_a_large_push(dir: &Path, db: &str, stored_documents: &dyn Fn() -> i64) {
    const N: usize = 5_000;
    let (store, token) = phone_with_cases(dir, db, N);
    let port = free_port();
    let mut server = serve(db, port);
    let mut config = SyncConfig::new(format!("http://127.0.0.1:{port}"), &token);
    config.push_batch_docs = 250;
    config.max_attempts = 2;
    config.initial_backoff = Duration::from_millis(10);
    let client = SyncClient::new(config).unwrap();
    let pushing = std::thread::scope(|s| {
        let push = s.spawn(|| client.sync(&store, &mut |_| {}));
        // Stop the server once some rounds have been acknowledged.
        wait_until("some documents are acknowledged", || {
            store.pending_count().unwrap() < N as u64
        });
        assert!(sigterm(&mut server).success(), "a clean exit");
        push.join().unwrap()
    });
    let pending = store.pending_count().unwrap() as i64;
    let acknowledged = N as i64 - pending;
    let stored = stored_documents();
    assert!(
        stored >= acknowledged,
        "the server acknowledged {acknowledged} documents but holds {stored}"
    );
    assert!(pushing.is_err() || pending == 0, "a sync cut short says so");
    println!("at SIGTERM: {acknowledged} of {N} acknowledged, {stored} stored");

    // Restarted, the server takes the rest at the next sync.
    let _server = serve(db, port);
    client.sync(&store, &mut |_| {}).unwrap();
    assert_eq!(store.pending_count().unwrap(), 0);
    assert_eq!(stored_documents(), N as i64);
}

#[cfg(unix)]
#[test]
fn serve_reads_its_settings_from_the_environment_reports_ready_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("street.sqlite3");
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut server = Server(
        Command::new(env!("CARGO_BIN_EXE_wangge-server"))
            .arg("serve")
            .env("WANGGE_DB", &db)
            .env("WANGGE_LISTEN", format!("127.0.0.1:{port}"))
            .env("WANGGE_ZERO_REPORT_CUTOFF", "16:30")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let get = |path: &str| http.get(format!("{base}{path}")).send();
    wait_until("the server answers /health", || {
        get("/health").is_ok_and(|r| r.status().is_success())
    });
    assert!(db.exists(), "WANGGE_DB names the database");
    let ready = get("/ready").unwrap();
    assert_eq!(ready.status().as_u16(), 200);
    assert_eq!(ready.json::<serde_json::Value>().unwrap()["ready"], true);

    // A database at another schema (restored from another version, say): not ready.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    conn.pragma_update(None, "user_version", version + 1)
        .unwrap();
    let not_ready = get("/ready").unwrap();
    assert_eq!(not_ready.status().as_u16(), 503);
    assert_eq!(
        not_ready.json::<serde_json::Value>().unwrap()["error"],
        "not_ready"
    );
    conn.pragma_update(None, "user_version", version).unwrap();
    assert_eq!(get("/ready").unwrap().status().as_u16(), 200);

    // SIGTERM: the server stops accepting and exits cleanly.
    let exited = sigterm(&mut server);
    assert!(exited.success(), "exit status {exited:?}");
    assert!(get("/health").is_err(), "nothing listens any more");
}

/// `/ready` on PostgreSQL: 200 while the database answers, `503 database_unavailable` while
/// it is down (every connection cut, none accepted: a forwarder in front of the machine's
/// PostgreSQL is cut), 200 again once it is back, with no restart; `/health` stays 200 all
/// along, since the process is alive.
#[cfg(unix)]
#[test]
fn ready_turns_unavailable_while_postgres_is_down_and_recovers() {
    let Some(url) = test_database("ready_turns_unavailable_while_postgres_is_down") else {
        return;
    };
    let schema = TestSchema::new(&url);
    let config = postgres::Config::from_str(&schema.url).unwrap();
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let host = match config.get_hosts().first() {
        Some(postgres::config::Host::Tcp(h)) => h.clone(),
        _ => "127.0.0.1".to_owned(),
    };
    let target = std::net::ToSocketAddrs::to_socket_addrs(&(host.as_str(), port))
        .unwrap()
        .next()
        .unwrap();
    let mut proxy = TcpProxy::start(target);
    let proxied = schema
        .url
        .replacen(&format!("{host}:{port}"), &proxy.addr.to_string(), 1);
    assert_ne!(proxied, schema.url, "the URL names host:port");

    let port = free_port();
    let _server = serve(&proxied, port);
    let http = reqwest::blocking::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap();
    let status = |path: &str| {
        http.get(format!("http://127.0.0.1:{port}{path}"))
            .send()
            .map(|r| r.status().as_u16())
            .unwrap_or(0)
    };
    assert_eq!(status("/ready"), 200);

    proxy.down();
    wait_until("/ready turns unavailable", || status("/ready") == 503);
    let answer = http
        .get(format!("http://127.0.0.1:{port}/ready"))
        .send()
        .unwrap();
    assert_eq!(answer.status().as_u16(), 503);
    assert_eq!(
        answer.json::<serde_json::Value>().unwrap()["error"],
        "database_unavailable"
    );
    assert_eq!(status("/health"), 200, "the process is alive");
    // The metrics answer without the database, and count the waits for a connection that
    // gave up (the pool's 5 s).
    let timeouts = "wangge_db_pool_wait_timeouts_total{backend=\"postgres\",pool=\"main\"}";
    wait_until("a wait for a connection times out", || {
        status("/ready");
        metric(&scrape(port), timeouts) >= 1.0
    });

    proxy.up();
    wait_until("/ready recovers", || status("/ready") == 200);
}

/// The value of the series whose line starts with `series ` (its name and labels).
fn metric(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no series {series} in:\n{text}"))
        .parse()
        .unwrap()
}

/// `GET /metrics` of the server on `port`.
fn scrape(port: u16) -> String {
    let answer = reqwest::blocking::get(format!("http://127.0.0.1:{port}/metrics")).unwrap();
    assert_eq!(answer.status().as_u16(), 200);
    answer.text().unwrap()
}

/// A phone pushes a few cases through the real server on `db` (started with `env`), the
/// back office asks `/ready` a few times, and `/metrics` shows the database's connections
/// of `backend`: for each of `pools` (name, configured maximum) the connections open, idle
/// and in use within the maximum, waits counted (as a histogram whose buckets add up), no
/// timeout; and the write lock's waits, at least one per push.
fn pool_metrics_after_a_push(
    dir: &Path,
    db: &str,
    env: &[(&str, &str)],
    backend: &str,
    pools: &[(&str, f64)],
) {
    let (store, token) = phone_with_cases(dir, db, 3);
    let port = free_port();
    let _server = serve_with(db, port, env);
    let client =
        SyncClient::new(SyncConfig::new(format!("http://127.0.0.1:{port}"), &token)).unwrap();
    client.sync(&store, &mut |_| {}).unwrap();
    assert_eq!(store.pending_count().unwrap(), 0);
    for _ in 0..5 {
        let ready = reqwest::blocking::get(format!("http://127.0.0.1:{port}/ready")).unwrap();
        assert_eq!(ready.status().as_u16(), 200);
    }

    let text = scrape(port);
    for typed in [
        "wangge_db_pool_connections_max gauge",
        "wangge_db_pool_connections_open gauge",
        "wangge_db_pool_connections_idle gauge",
        "wangge_db_pool_connections_in_use gauge",
        "wangge_db_pool_wait_seconds histogram",
        "wangge_db_pool_wait_timeouts_total counter",
        "wangge_db_write_lock_wait_seconds histogram",
    ] {
        assert!(text.contains(&format!("# TYPE {typed}\n")), "{typed}");
    }
    for (pool, max) in pools {
        let labels = format!("{{backend=\"{backend}\",pool=\"{pool}\"}}");
        let get = |name: &str| metric(&text, &format!("{name}{labels}"));
        assert_eq!(get("wangge_db_pool_connections_max"), *max, "{pool}");
        let (open, idle, in_use) = (
            get("wangge_db_pool_connections_open"),
            get("wangge_db_pool_connections_idle"),
            get("wangge_db_pool_connections_in_use"),
        );
        assert!(open >= 1.0 && open <= *max, "{pool}: {open} open");
        assert_eq!(idle + in_use, open, "{pool}");
        let waits = get("wangge_db_pool_wait_seconds_count");
        assert!(waits >= 1.0, "{pool}: {waits} waits");
        let inf = metric(
            &text,
            &format!(
                "wangge_db_pool_wait_seconds_bucket{{backend=\"{backend}\",pool=\"{pool}\",le=\"+Inf\"}}"
            ),
        );
        assert_eq!(inf, waits, "{pool}: every wait in a bucket");
        let sum = get("wangge_db_pool_wait_seconds_sum");
        assert!((0.0..waits * 5.0).contains(&sum), "{pool}: {sum} s waited");
        assert_eq!(get("wangge_db_pool_wait_timeouts_total"), 0.0, "{pool}");
    }
    let lock = format!("{{backend=\"{backend}\"}}");
    assert!(
        metric(
            &text,
            &format!("wangge_db_write_lock_wait_seconds_count{lock}")
        ) >= 1.0
    );
    assert!(
        metric(
            &text,
            &format!("wangge_db_write_lock_wait_seconds_sum{lock}")
        ) >= 0.0
    );

    // Another scrape counts more waits, never fewer.
    let readers = pools[pools.len() - 1].0;
    let series =
        format!("wangge_db_pool_wait_seconds_count{{backend=\"{backend}\",pool=\"{readers}\"}}");
    let before = metric(&text, &series);
    reqwest::blocking::get(format!("http://127.0.0.1:{port}/ready")).unwrap();
    assert!(metric(&scrape(port), &series) > before);
}

/// The database's connections at `/metrics` on SQLite: its writer (the write lock) and its
/// four readers.
#[test]
fn metrics_show_the_database_connections_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("street.sqlite3");
    pool_metrics_after_a_push(
        dir.path(),
        db.to_str().unwrap(),
        &[],
        "sqlite",
        &[("writer", 1.0), ("readers", 4.0)],
    );
}

/// The same on PostgreSQL, whose pool's maximum is `WANGGE_DB_POOL`.
#[test]
fn metrics_show_the_database_connections_on_postgres() {
    let Some(url) = test_database("metrics_show_the_database_connections_on_postgres") else {
        return;
    };
    let schema = TestSchema::new(&url);
    let dir = tempfile::tempdir().unwrap();
    pool_metrics_after_a_push(
        dir.path(),
        &schema.url,
        &[("WANGGE_DB_POOL", "3")],
        "postgres",
        &[("main", 3.0)],
    );
}

/// Runs the real binary with `args` on `db`, to completion; its standard output.
fn cli(db: &str, args: &[&str]) -> String {
    process::cli(db, args).0
}
