//! The server as an operator runs it: `wangge-server serve` configured through environment
//! variables, `/health` and `/ready` (which turns unavailable when the database is not at
//! this server's schema), and a clean exit on SIGTERM.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn wait_until(what: &str, mut ok: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !ok() {
        assert!(Instant::now() < deadline, "{what} within 60 s");
        std::thread::sleep(Duration::from_millis(50));
    }
}

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
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
    assert!(exited.unwrap().success(), "exit status {exited:?}");
    assert!(get("/health").is_err(), "nothing listens any more");
}
