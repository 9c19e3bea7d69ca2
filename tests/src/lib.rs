//! Harness for the end-to-end tests: a real server on 127.0.0.1 (in this
//! process, or in a child process that a test can kill), enrolled devices
//! with their own SQLite stores, and helpers to compare replicas.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use geo::InteriorPoint;
use wangge_core::{
    Actor, Catalog, DeviceId, GpsFix, ManualClock, Role, Store, SyncClient, SyncConfig,
};
use wangge_server::storage::sqlite::SqliteStorage;
use wangge_server::storage::{Device, DeviceRole, Scope, Storage};
use wangge_server::{AppState, auth, router};

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
        let storage = Arc::new(SqliteStorage::open(&db, catalog()).unwrap());
        let clock = Arc::new(ManualClock::new(MONDAY_9AM));
        let state = AppState {
            storage: storage.clone(),
            catalog: catalog(),
            clock: clock.clone(),
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

    /// Enrols a device and returns it with its token.
    pub fn enroll(&self, name: &str, role: DeviceRole, scope: Scope) -> (Device, String) {
        let token = auth::new_token().unwrap();
        let device = Device {
            device_id: DeviceId::generate().to_string(),
            name: name.into(),
            role,
            scope,
            created_at: MONDAY_9AM,
            revoked_at: None,
        };
        self.storage
            .enroll(&device, &auth::hash_token(&token))
            .unwrap();
        (device, token)
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
        }
    }

    /// Syncs until the server has nothing more; panics on failure.
    pub fn sync(&self) -> wangge_core::SyncProgress {
        self.client.sync(&self.store, &mut |_| {}).unwrap()
    }

    /// An actor with `role` on this device.
    pub fn actor(&self, id: &str, role: Role, unit: Option<&str>) -> Actor {
        Actor {
            id: id.into(),
            role,
            unit: unit.map(str::to_owned),
            device: self.id,
        }
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
