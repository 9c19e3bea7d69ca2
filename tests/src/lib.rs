//! Harness for the end-to-end tests: a real server on 127.0.0.1 (in this
//! process, or in a child process that a test can kill), enrolled devices
//! with their own SQLite stores, and helpers to compare replicas.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod bench;
pub mod desk;
pub mod hostile;
pub mod logs;
pub mod shaper;

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use geo::InteriorPoint;
use wangge_core::sync::protocol::{SyncRequest, SyncResponse};
use wangge_core::{
    Actor, Catalog, DeviceId, GpsFix, ManualClock, Role, Store, SyncClient, SyncConfig,
};
use wangge_server::storage::sqlite::SqliteStorage;
use wangge_server::storage::{Device, DeviceRole, Person, Scope, Storage, Unit, UnitKind};
use wangge_server::tokens::TokenPolicy;
use wangge_server::{AppState, auth, router};

/// The scope of the whole street (what the centre has).
pub use wangge_server::storage::sqlite::everything;

/// A scope of grid blocks, residential workstations and teams.
pub fn scope(blocks: &[&str], workstations: &[&str], teams: &[&str]) -> Scope {
    let v = |s: &[&str]| s.iter().map(|x| x.to_string()).collect();
    Scope {
        all: false,
        blocks: v(blocks),
        workstations: v(workstations),
        teams: v(teams),
    }
}

/// 2026-03-02 09:00 China Standard Time (a Monday), in ms.
pub const MONDAY_9AM: i64 = 1_772_413_200_000;

/// The demo catalog, loaded once.
pub fn catalog() -> Arc<Catalog> {
    static C: std::sync::OnceLock<Arc<Catalog>> = std::sync::OnceLock::new();
    C.get_or_init(|| Arc::new(Catalog::demo().unwrap())).clone()
}

/// A free port on 127.0.0.1.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A server running in this process on a real socket.
pub struct TestServer {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// Its storage, for direct inspection.
    pub storage: Arc<SqliteStorage>,
    /// Its database file.
    pub db: PathBuf,
    /// Its clock.
    pub clock: Arc<ManualClock>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server with a fresh database in `dir`.
    pub fn start(dir: &Path) -> TestServer {
        Self::start_on(dir.join("server.sqlite3"), free_port())
    }

    /// Starts a server on `db` and `port`.
    pub fn start_on(db: PathBuf, port: u16) -> TestServer {
        Self::start_with(db, port, catalog())
    }

    /// Starts a server on `db` and `port` with the street's reference data `catalog`.
    pub fn start_with(db: PathBuf, port: u16, catalog: Arc<Catalog>) -> TestServer {
        Self::start_configured(db, port, catalog, TokenPolicy::default())
    }

    /// Starts a server with a fresh database in `dir` whose device tokens work as `tokens`
    /// says: a test that moves the server's clock past a token's lifetime (90 days) for
    /// another reason than tokens.
    pub fn start_with_tokens(dir: &Path, tokens: TokenPolicy) -> TestServer {
        Self::start_configured(dir.join("server.sqlite3"), free_port(), catalog(), tokens)
    }

    fn start_configured(
        db: PathBuf,
        port: u16,
        catalog: Arc<Catalog>,
        tokens: TokenPolicy,
    ) -> TestServer {
        let storage = Arc::new(SqliteStorage::open(&db, catalog.clone()).unwrap());
        let clock = Arc::new(ManualClock::new(MONDAY_9AM));
        let state = AppState {
            storage: storage.clone(),
            catalog,
            clock: clock.clone(),
            office: Default::default(),
            tokens,
        };
        let addr: SocketAddr = format!("127.0.0.1:{port}").parse().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind(addr).await.unwrap();
                ready_tx.send(()).unwrap();
                axum::serve(listener, router(state))
                    .with_graceful_shutdown(async {
                        let _ = rx.await;
                    })
                    .await
                    .unwrap();
            });
        });
        ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        TestServer {
            base: format!("http://{addr}"),
            storage,
            db,
            clock,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }

    /// Enrols a device named `name`, to a person whose staff id is `name`
    /// (see [`person_for`]), and returns it with its token.
    pub fn enroll(&self, name: &str, role: DeviceRole, scope: Scope) -> (Device, String) {
        enroll_in(self.storage.as_ref(), name, role, scope)
    }

    /// Adds `person` to the register (with `units`, and a department for
    /// every other unit the person names that the register lacks), enrols a
    /// device named after the person's staff id to them, and returns it with
    /// its token.
    pub fn enroll_person(
        &self,
        person: &Person,
        units: &[Unit],
        device_role: DeviceRole,
        scope: Scope,
    ) -> (Device, String) {
        enroll_person_in(
            self.storage.as_ref(),
            person,
            units,
            &person.staff_id,
            device_role,
            scope,
        )
    }

    /// Adds `person` to the register (a department for every unit they
    /// name that the register lacks), enrols a field device named `name` to
    /// them and opens its store in `dir`.
    pub fn device_for(&self, dir: &Path, name: &str, person: &Person, scope: Scope) -> TestDevice {
        let (device, token) = enroll_person_in(
            self.storage.as_ref(),
            person,
            &[],
            name,
            DeviceRole::Field,
            scope,
        );
        TestDevice::open(dir, name, &device, &self.base, &token)
    }

    /// Enrols a field device and opens its store in `dir`.
    pub fn field_device(&self, dir: &Path, name: &str, scope: Scope) -> TestDevice {
        let (device, token) = self.enroll(name, DeviceRole::Field, scope);
        TestDevice::open(dir, name, &device, &self.base, &token)
    }

    /// Stops the server.
    pub fn stop(mut self) {
        self.shutdown_now();
    }

    fn shutdown_now(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.shutdown_now();
    }
}

/// A device: its own store, clock and sync client.
pub struct TestDevice {
    /// Its name.
    pub name: String,
    /// Its id.
    pub id: DeviceId,
    /// Its store.
    pub store: Store,
    /// Its clock.
    pub clock: Arc<ManualClock>,
    /// Its sync client.
    pub client: SyncClient,
    /// Its token.
    pub token: String,
    /// The staff id of the person it is enrolled to (empty if none).
    pub person: String,
}

impl TestDevice {
    /// Opens a store for an enrolled device.
    pub fn open(dir: &Path, name: &str, device: &Device, base: &str, token: &str) -> TestDevice {
        let id = DeviceId::parse(&device.device_id).unwrap();
        let clock = Arc::new(ManualClock::new(MONDAY_9AM));
        let store = Store::open(
            dir.join(format!("{name}.sqlite3")),
            id,
            catalog(),
            clock.clone(),
        )
        .unwrap();
        let mut config = SyncConfig::new(base, token);
        config.initial_backoff = Duration::from_millis(20);
        config.max_attempts = 3;
        config.request_timeout = Duration::from_secs(30);
        TestDevice {
            name: name.into(),
            id,
            store,
            clock,
            client: SyncClient::new(config).unwrap(),
            token: token.into(),
            person: device.person.clone().unwrap_or_default(),
        }
    }

    /// Syncs until the server has nothing more; panics on failure.
    pub fn sync(&self) -> wangge_core::SyncProgress {
        self.client.sync(&self.store, &mut |_| {}).unwrap()
    }

    /// The device's person acting in `role`, for `unit` if any: the only
    /// author whose events the server accepts from this device.
    pub fn me(&self, role: Role, unit: Option<&str>) -> Actor {
        Actor {
            id: self.person.clone(),
            role,
            unit: unit.map(str::to_owned),
            device: self.id,
        }
    }

    /// One sync round without photos: pushes what is pending (at most 1,000
    /// documents), pulls one batch, applies the answer to the store and
    /// returns it, so that a test can read `accepted`, `refused` and the
    /// rest. Panics if the server does not answer 200.
    pub fn sync_round(&self) -> SyncResponse {
        let prepared = self.store.prepare_push(1000, 8 << 20).unwrap();
        let body = SyncRequest {
            request_id: fresh_request_id(),
            cursor: self.store.sync_cursor().unwrap(),
            max_docs: 1000,
            docs: prepared.iter().map(|p| p.doc.clone()).collect(),
        }
        .encode();
        let resp = self
            .client
            .http()
            .post(format!(
                "{}/v1/sync",
                self.client.config().server_url.trim_end_matches('/')
            ))
            .bearer_auth(&self.token)
            .header("content-type", "application/octet-stream")
            .body(body)
            .send()
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "the sync round failed");
        let response = SyncResponse::decode(&resp.bytes().unwrap()).unwrap();
        self.store
            .apply_sync_response(&prepared, &response)
            .unwrap();
        response
    }

    /// Every document id on the device, sorted.
    pub fn doc_ids(&self) -> Vec<String> {
        let conn = rusqlite_conn(self.store.path());
        let mut stmt = conn
            .prepare("SELECT doc_id FROM documents ORDER BY doc_id")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }
}

/// A connection to a SQLite file, for inspection.
pub fn rusqlite_conn(path: &Path) -> rusqlite::Connection {
    rusqlite::Connection::open(path).unwrap()
}

/// A fix inside `cell`.
pub fn fix_in(cell: &str, at_ms: i64) -> GpsFix {
    let catalog = catalog();
    let c = catalog.grids.cell(cell).unwrap();
    let p = c.geometry().interior_point().unwrap();
    let (lat, lon) = catalog.grids.datum().to_wgs84(p.y(), p.x());
    GpsFix {
        lat,
        lon,
        accuracy_m: 3.0,
        fix_time_ms: at_ms,
    }
}

// ---------------------------------------------------------------------------
// Seeded scenarios, replica comparison, a server in a child process, and a
// fault-injecting TCP proxy.
// ---------------------------------------------------------------------------

/// A small deterministic random generator (SplitMix64), so that a failing
/// scenario is replayed exactly from its seed.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    /// A generator started from `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(seed ^ 0x5DEE_CE66_D1CE_4E5B)
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next_u64() % n as u64) as usize
    }

    /// True `percent` times in a hundred.
    pub fn percent(&mut self, percent: u32) -> bool {
        self.below(100) < percent as usize
    }

    /// One of `items` (not empty).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// The heads of a saved document.
pub fn heads_of(doc_id: &str, bytes: &[u8]) -> Vec<automerge::ChangeHash> {
    wangge_core::doc::EventDoc::load(doc_id, bytes, &automerge::ActorId::random())
        .unwrap()
        .heads()
}

/// Every document of a server database with its heads, computed from the
/// stored bytes (and checked against the `heads` column).
pub fn server_heads(db: &Path) -> std::collections::BTreeMap<String, Vec<automerge::ChangeHash>> {
    let conn = rusqlite_conn(db);
    let mut stmt = conn
        .prepare("SELECT doc_id, data, heads FROM documents ORDER BY doc_id")
        .unwrap();
    stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, Vec<u8>>(1)?,
            r.get::<_, Vec<u8>>(2)?,
        ))
    })
    .unwrap()
    .map(|row| {
        let (id, data, column) = row.unwrap();
        let heads = heads_of(&id, &data);
        assert_eq!(
            wangge_core::doc::decode_heads(&column),
            heads,
            "server heads column of {id} disagrees with its data"
        );
        (id, heads)
    })
    .collect()
}

/// The end of a server's change feed.
pub fn server_seq(db: &Path) -> u64 {
    rusqlite_conn(db)
        .query_row("SELECT value FROM meta WHERE key = 'seq'", [], |r| {
            r.get::<_, String>(0)
        })
        .map(|s| s.parse().unwrap())
        .unwrap_or(0)
}

/// Every row a query returns, each rendered as text, for comparing the
/// same table across databases.
pub fn table_rows(conn: &rusqlite::Connection, sql: &str) -> Vec<String> {
    let mut stmt = conn.prepare(sql).unwrap();
    let n = stmt.column_count();
    stmt.query_map([], |r| {
        (0..n)
            .map(|i| {
                r.get::<_, rusqlite::types::Value>(i)
                    .map(|v| format!("{v:?}"))
            })
            .collect::<rusqlite::Result<Vec<_>>>()
            .map(|cols| cols.join(" | "))
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

/// The projection tables the device and the server share, as rows: what
/// "identical derived state" means table by table.
pub fn projection_rows(db: &Path) -> Vec<(&'static str, Vec<String>)> {
    let conn = rusqlite_conn(db);
    [
        (
            "case_view",
            "SELECT case_id, status, is_open, case_number, channel, checklist_item, category, domain,
                grid, workstation, block, reporter, description, reported_at, response_due,
                resolution_due, responded_at, resolved_at, closed_at, escalated,
                escalation_required, last_event_at FROM case_view ORDER BY case_id",
        ),
        (
            "case_holder",
            "SELECT case_id, holder FROM case_holder ORDER BY case_id, holder",
        ),
        (
            "zero_report_view",
            "SELECT doc_id, workstation, day, filed, nothing_to_report, matter_count,
                last_amended_at FROM zero_report_view ORDER BY doc_id",
        ),
    ]
    .into_iter()
    .map(|(name, sql)| (name, table_rows(&conn, sql)))
    .collect()
}

impl TestDevice {
    /// Every document on the device with its heads.
    pub fn heads(&self) -> std::collections::BTreeMap<String, Vec<automerge::ChangeHash>> {
        self.doc_ids()
            .into_iter()
            .map(|id| {
                let bytes = self.store.document_bytes(&id).unwrap().unwrap();
                let heads = heads_of(&id, &bytes);
                (id, heads)
            })
            .collect()
    }

    /// A sync client for this device with another server address (a proxy,
    /// a restarted server) and `attempts` attempts per request.
    pub fn client_for(&self, base: &str, attempts: u32) -> SyncClient {
        let mut config = SyncConfig::new(base, &self.token);
        config.initial_backoff = Duration::from_millis(20);
        config.max_attempts = attempts;
        config.request_timeout = Duration::from_secs(60);
        SyncClient::new(config).unwrap()
    }
}

/// Environment variables that make a re-executed test binary serve.
const CHILD_DB_ENV: &str = "WANGGE_E2E_CHILD_SERVER_DB";
const CHILD_PORT_ENV: &str = "WANGGE_E2E_CHILD_SERVER_PORT";

/// If this process was started by [`ServerProcess::spawn`], serves
/// `wangge_server::router` over `SqliteStorage` on the given database and
/// port until killed, and never returns. Otherwise returns at once. Call it
/// first thing in the test (or `main`) that spawns the server.
pub fn serve_if_child() {
    let (Ok(db), Ok(port)) = (std::env::var(CHILD_DB_ENV), std::env::var(CHILD_PORT_ENV)) else {
        return;
    };
    // An SQLite file or a PostgreSQL URL.
    let storage = wangge_server::storage::open(&db, catalog()).unwrap();
    let state = AppState {
        storage,
        catalog: catalog(),
        clock: Arc::new(ManualClock::new(MONDAY_9AM)),
        office: Default::default(),
        tokens: Default::default(),
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async move {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port.parse::<u16>().unwrap()))
            .await
            .unwrap();
        axum::serve(listener, router(state)).await.unwrap();
    });
    std::process::exit(0)
}

/// A server in a child process (this test binary, re-executed), so that a
/// test can kill it with SIGKILL in the middle of a request.
pub struct ServerProcess {
    /// `http://127.0.0.1:<port>`.
    pub base: String,
    /// Its database file.
    pub db: PathBuf,
    child: std::process::Child,
}

impl ServerProcess {
    /// Re-executes this binary with `args` (for a libtest binary:
    /// `--exact <test name> --test-threads 1`) as a server on `db` and
    /// `port`, and waits until it answers.
    pub fn spawn(args: &[&str], db: &Path, port: u16) -> ServerProcess {
        let child = std::process::Command::new(std::env::current_exe().unwrap())
            .args(args)
            .env(CHILD_DB_ENV, db)
            .env(CHILD_PORT_ENV, port.to_string())
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .unwrap();
        let mut server = ServerProcess {
            base: format!("http://127.0.0.1:{port}"),
            db: db.to_path_buf(),
            child,
        };
        server.wait_ready();
        server
    }

    fn wait_ready(&mut self) {
        let http = reqwest::blocking::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .unwrap();
        let deadline = std::time::Instant::now() + Duration::from_secs(120);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("the server process exited before serving: {status}");
            }
            let ok = http
                .get(format!("{}/health", self.base))
                .send()
                .is_ok_and(|r| r.status().is_success());
            if ok {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "the server process did not answer within 120 s"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Kills the server with SIGKILL and reaps it.
    pub fn kill(mut self) {
        self.kill_now();
    }

    fn kill_now(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        self.kill_now();
    }
}

/// What the [`Proxy`] does with the connections it accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProxyMode {
    /// Forward everything both ways.
    Pass,
    /// Forward requests, but close the connection once `after` bytes of
    /// the response went through, for the next `times` connections; then
    /// pass.
    CutResponse {
        /// Response bytes let through before the cut.
        after: u64,
        /// How many connections to cut.
        times: usize,
    },
}

/// Bytes one proxied connection carried.
#[derive(Debug, Default)]
pub struct ConnStats {
    /// Request bytes forwarded to the server.
    pub up: std::sync::atomic::AtomicU64,
    /// Response bytes forwarded to the client.
    pub down: std::sync::atomic::AtomicU64,
    /// The proxy cut this connection.
    pub cut: std::sync::atomic::AtomicBool,
}

#[derive(Default)]
struct ProxyShared {
    mode: std::sync::Mutex<Option<ProxyMode>>,
    conns: std::sync::Mutex<Vec<(Arc<ConnStats>, std::net::TcpStream)>>,
    stop: std::sync::atomic::AtomicBool,
}

/// A TCP proxy on 127.0.0.1 in front of a server, counting the bytes of
/// each connection and cutting responses on demand.
pub struct Proxy {
    /// `http://127.0.0.1:<port>` of the proxy.
    pub base: String,
    addr: SocketAddr,
    shared: Arc<ProxyShared>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Proxy {
    /// A proxy forwarding to `127.0.0.1:<upstream_port>`.
    pub fn start(upstream_port: u16) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let shared = Arc::new(ProxyShared::default());
        *shared.mode.lock().unwrap() = Some(ProxyMode::Pass);
        let s = shared.clone();
        let thread = std::thread::spawn(move || {
            for client in listener.incoming() {
                if s.stop.load(std::sync::atomic::Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                let cut_after = {
                    let mut mode = s.mode.lock().unwrap();
                    match *mode {
                        Some(ProxyMode::CutResponse { after, times }) => {
                            *mode = Some(if times > 1 {
                                ProxyMode::CutResponse {
                                    after,
                                    times: times - 1,
                                }
                            } else {
                                ProxyMode::Pass
                            });
                            Some(after)
                        }
                        _ => None,
                    }
                };
                let Ok(upstream) = std::net::TcpStream::connect(("127.0.0.1", upstream_port))
                else {
                    // The server is down: the client sees the connection closed.
                    continue;
                };
                let stats = Arc::new(ConnStats::default());
                s.conns
                    .lock()
                    .unwrap()
                    .push((stats.clone(), client.try_clone().unwrap()));
                spawn_pipe(
                    client.try_clone().unwrap(),
                    upstream.try_clone().unwrap(),
                    stats.clone(),
                    true,
                    None,
                );
                spawn_pipe(upstream, client, stats, false, cut_after);
            }
        });
        Proxy {
            base: format!("http://{addr}"),
            addr,
            shared,
            thread: Some(thread),
        }
    }

    /// Changes what happens to new connections, and closes the open ones
    /// (so that a pooled keep-alive connection does not escape the new mode).
    pub fn set_mode(&self, mode: ProxyMode) {
        *self.shared.mode.lock().unwrap() = Some(mode);
        self.close_all();
    }

    /// Closes every open connection.
    pub fn close_all(&self) {
        for (_, stream) in self.shared.conns.lock().unwrap().drain(..) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }

    /// Statistics of every connection accepted so far, oldest first
    /// (connections closed by [`Proxy::close_all`] excluded).
    pub fn connections(&self) -> Vec<Arc<ConnStats>> {
        self.shared
            .conns
            .lock()
            .unwrap()
            .iter()
            .map(|(s, _)| s.clone())
            .collect()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.shared
            .stop
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.close_all();
        // Wake the accept loop.
        let _ = std::net::TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn spawn_pipe(
    mut from: std::net::TcpStream,
    mut to: std::net::TcpStream,
    stats: Arc<ConnStats>,
    up: bool,
    cut_after: Option<u64>,
) {
    use std::io::{Read, Write};
    use std::sync::atomic::Ordering;
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        let counter = if up { &stats.up } else { &stats.down };
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            let done = counter.load(Ordering::SeqCst);
            let (n, cut) = match cut_after {
                Some(limit) if done + n as u64 >= limit => {
                    ((limit - done.min(limit)) as usize, true)
                }
                _ => (n, false),
            };
            if to.write_all(&buf[..n]).is_err() {
                break;
            }
            counter.fetch_add(n as u64, Ordering::SeqCst);
            if cut {
                stats.cut.store(true, Ordering::SeqCst);
                break;
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Both);
        let _ = from.shutdown(std::net::Shutdown::Both);
    });
}

/// Every case role (all but the centre's): what the person of a field
/// device the harness enrols holds, so that a test may act in any of them.
pub const CASE_ROLES: [Role; 5] = [
    Role::GridOfficer,
    Role::StreetOfficial,
    Role::WorkstationStaff,
    Role::HandlingUnit,
    Role::Supervisor,
];

/// The person the harness enrols a device named `name` to: staff id
/// `name`, every case role (and the centre's for a centre device), the
/// scope's teams as units and its blocks and workstations.
pub fn person_for(name: &str, role: DeviceRole, scope: &Scope) -> Person {
    let mut roles = CASE_ROLES.to_vec();
    if role == DeviceRole::Centre {
        roles.push(Role::Centre);
    }
    Person {
        staff_id: name.into(),
        name: format!("测试人员{name}"),
        roles,
        admin: false,
        units: scope.teams.clone(),
        blocks: scope.blocks.clone(),
        workstations: scope.workstations.clone(),
        active: true,
    }
}

/// Enrols a device named `name` directly in a server's storage (for a
/// server that runs in a child process), to the person [`person_for`]
/// describes, added to the register; returns it with its token.
pub fn enroll_in(
    storage: &dyn Storage,
    name: &str,
    role: DeviceRole,
    scope: Scope,
) -> (Device, String) {
    let person = person_for(name, role, &scope);
    enroll_person_in(storage, &person, &[], name, role, scope)
}

/// Adds `person` and `units` to the register of `storage` (and a
/// department for every unit the person names that neither `units` nor the
/// register has), then enrols a device named `name` to the person; returns
/// it with its token.
pub fn enroll_person_in(
    storage: &dyn Storage,
    person: &Person,
    units: &[Unit],
    name: &str,
    role: DeviceRole,
    scope: Scope,
) -> (Device, String) {
    let known = storage.units().unwrap();
    let mut units = units.to_vec();
    for id in &person.units {
        if !units.iter().chain(&known).any(|u| &u.id == id) {
            units.push(Unit {
                id: id.clone(),
                kind: UnitKind::Department,
                name: None,
            });
        }
    }
    storage
        .upsert_roster(std::slice::from_ref(person), &units)
        .unwrap();
    let token = auth::new_token().unwrap();
    let device = Device {
        device_id: DeviceId::generate().to_string(),
        name: name.into(),
        role,
        scope,
        created_at: MONDAY_9AM,
        revoked_at: None,
        person: Some(person.staff_id.clone()),
    };
    storage.enroll(&device, &auth::hash_token(&token)).unwrap();
    (device, token)
}

/// Enrols, directly in `storage`, a grid officer of 网格一组 covering block XT-B1 (staff id
/// and device name `name`), and opens the device's store in `dir` against `base`: the
/// pushing phone of the benchmarks.
pub fn block_officer(storage: &dyn Storage, dir: &Path, base: &str, name: &str) -> TestDevice {
    let person = Person {
        staff_id: name.into(),
        name: format!("巡查员{name}"),
        roles: vec![Role::GridOfficer],
        admin: false,
        units: vec!["网格一组".into()],
        blocks: vec!["XT-B1".into()],
        workstations: vec![],
        active: true,
    };
    let team = Unit {
        id: "网格一组".into(),
        kind: UnitKind::GridTeam,
        name: None,
    };
    let scope = Scope {
        blocks: vec!["XT-B1".into()],
        ..Scope::default()
    };
    let (device, token) =
        enroll_person_in(storage, &person, &[team], name, DeviceRole::Field, scope);
    TestDevice::open(dir, name, &device, base, &token)
}

/// A request id no other request of this process carries.
fn fresh_request_id() -> [u8; 16] {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let mut id = [0u8; 16];
    id[..8].copy_from_slice(&t.to_le_bytes());
    id[8..].copy_from_slice(&n.to_le_bytes());
    id
}

impl TestServer {
    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.base.rsplit(':').next().unwrap().parse().unwrap()
    }
}

impl TestServer {
    /// Starts a server with a fresh database in `dir` that speaks only HTTPS with `tls`
    /// (`wangge_server::tls::server_config`), served as `wangge-server serve --tls-cert
    /// --tls-key` serves it ([`wangge_server::tls::serve_https`]). Its `base` is
    /// `https://localhost:<port>`: the name its certificate must carry.
    pub fn start_https(dir: &Path, tls: Arc<wangge_server::tls::ServerConfig>) -> TestServer {
        let db = dir.join("server.sqlite3");
        let storage = Arc::new(SqliteStorage::open(&db, catalog()).unwrap());
        let clock = Arc::new(ManualClock::new(MONDAY_9AM));
        let state = AppState {
            storage: storage.clone(),
            catalog: catalog(),
            clock: clock.clone(),
            office: Default::default(),
            tokens: Default::default(),
        };
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel();
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                ready_tx
                    .send(listener.local_addr().unwrap().port())
                    .unwrap();
                let stop = async {
                    let _ = rx.await;
                };
                wangge_server::tls::serve_https(listener, tls, router(state), stop)
                    .await
                    .unwrap();
            });
        });
        let port = ready_rx.recv_timeout(Duration::from_secs(10)).unwrap();
        TestServer {
            base: format!("https://localhost:{port}"),
            storage,
            db,
            clock,
            shutdown: Some(tx),
            thread: Some(thread),
        }
    }
}
