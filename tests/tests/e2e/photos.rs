//! Photos end to end, against a real server on 127.0.0.1: an upload cut at 50% resumes from
//! there (checked on the bytes that cross the wire) and survives a server restart; bytes that
//! do not match their hash are refused with nothing stored; re-uploading is a no-op; a second
//! device receives a case's thumbnails on sync and fetches the full photo on demand.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use image::{Rgb, RgbImage};
use sha2::{Digest, Sha256};
use wangge_core::photo::PhotoOptions;
use wangge_core::{CaseEventKind, NewCase, PhotoRef, Role, SyncClient, SyncError, SyncProgress};
use wangge_e2e::*;
use wangge_server::storage::{DeviceRole, Storage};

fn sha_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A noisy photo-like JPEG whose content depends on `seed`: at 1600×1200 its stored form is
/// several hundred KB, so it takes many chunks.
pub(crate) fn camera_jpeg(seed: u64, width: u32, height: u32) -> Vec<u8> {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let img = RgbImage::from_fn(width, height, |x, y| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let noise = (state & 0x3F) as u8;
        Rgb([
            ((x * 255 / width) as u8).saturating_add(noise),
            ((y * 255 / height) as u8).saturating_add(noise / 2),
            ((((x / 40) + (y / 40) + seed as u32) % 2) as u8 * 120) ^ noise,
        ])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 92)
        .encode_image(&img)
        .unwrap();
    out
}

fn port_of(base: &str) -> u16 {
    base.rsplit(':').next().unwrap().parse().unwrap()
}

/// A client like the device's, with small chunks so that a photo takes many requests.
fn chunked_client(device: &TestDevice, base: &str, chunk: usize) -> SyncClient {
    let mut config = device.client.config().clone();
    config.server_url = base.to_owned();
    config.photo_chunk_bytes = chunk;
    SyncClient::new(config).unwrap()
}

/// A TCP proxy that counts the bytes clients send and, on demand, cuts the connection after a
/// number of them — in the middle of a request body — and then refuses every connection (the
/// signal is gone) until healed.
struct UploadCutter {
    base: String,
    addr: std::net::SocketAddr,
    up: Arc<AtomicU64>,
    limit: Arc<AtomicU64>,
    dead: Arc<AtomicBool>,
    stop: Arc<AtomicBool>,
    open: Arc<Mutex<Vec<TcpStream>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl UploadCutter {
    fn start(upstream_port: u16) -> UploadCutter {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let up = Arc::new(AtomicU64::new(0));
        let limit = Arc::new(AtomicU64::new(u64::MAX));
        let dead = Arc::new(AtomicBool::new(false));
        let stop = Arc::new(AtomicBool::new(false));
        let open: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let (u, l, d, s, o) = (
            up.clone(),
            limit.clone(),
            dead.clone(),
            stop.clone(),
            open.clone(),
        );
        let thread = std::thread::spawn(move || {
            for client in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                if d.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", upstream_port)) else {
                    continue;
                };
                o.lock().unwrap().push(client.try_clone().unwrap());
                // Server → client: passed through untouched.
                let (mut from, mut to) = (server.try_clone().unwrap(), client.try_clone().unwrap());
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16384];
                    while let Ok(n) = from.read(&mut buf) {
                        if n == 0 || to.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                    let _ = to.shutdown(Shutdown::Both);
                    let _ = from.shutdown(Shutdown::Both);
                });
                // Client → server: counted, and cut at the limit.
                let (u, l, d, o) = (u.clone(), l.clone(), d.clone(), o.clone());
                let (mut from, mut to) = (client, server);
                std::thread::spawn(move || {
                    let mut buf = [0u8; 16384];
                    loop {
                        let n = match from.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        let done = u.load(Ordering::SeqCst);
                        let room = l.load(Ordering::SeqCst).saturating_sub(done);
                        let pass = (n as u64).min(room) as usize;
                        if to.write_all(&buf[..pass]).is_err() {
                            break;
                        }
                        u.fetch_add(pass as u64, Ordering::SeqCst);
                        if pass < n {
                            // The signal drops: this connection and every other one.
                            d.store(true, Ordering::SeqCst);
                            for s in o.lock().unwrap().drain(..) {
                                let _ = s.shutdown(Shutdown::Both);
                            }
                            break;
                        }
                    }
                    let _ = to.shutdown(Shutdown::Both);
                    let _ = from.shutdown(Shutdown::Both);
                });
            }
        });
        UploadCutter {
            base: format!("http://{addr}"),
            addr,
            up,
            limit,
            dead,
            stop,
            open,
            thread: Some(thread),
        }
    }

    /// Bytes clients have sent through the proxy so far.
    fn sent(&self) -> u64 {
        self.up.load(Ordering::SeqCst)
    }

    /// Cuts the connection once `n` more bytes went through.
    fn cut_after(&self, n: u64) {
        self.limit.store(self.sent() + n, Ordering::SeqCst);
    }

    /// The signal is back.
    fn heal(&self) {
        self.limit.store(u64::MAX, Ordering::SeqCst);
        self.dead.store(false, Ordering::SeqCst);
    }

    fn was_cut(&self) -> bool {
        self.dead.load(Ordering::SeqCst)
    }
}

impl Drop for UploadCutter {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        for s in self.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Sends the device's documents to the server without their photos (one sync round, no photo
/// pass), so that the case is on the server before its photos are.
fn push_documents_only(device: &TestDevice) {
    let response = device.sync_round();
    assert!(response.refused.is_empty(), "{:?}", response.refused);
    assert!(!response.accepted.is_empty());
    assert!(!device.store.photos_not_uploaded().unwrap().is_empty());
}

/// Gives `to` the case document as `from` holds it, outside any sync, so `to` knows the case
/// before `from` has uploaded its photos. (Only the reporter's device may push a new case: the
/// case must reach the server from `from` first, see [`push_documents_only`].)
fn hand_over(from: &TestDevice, to: &TestDevice, case: wangge_core::CaseId) {
    let bytes = from
        .store
        .document_bytes(&case.to_string())
        .unwrap()
        .unwrap();
    to.store.merge_document(&case.to_string(), &bytes).unwrap();
}

pub(crate) fn record_case_with(device: &TestDevice, photos: Vec<PhotoRef>) -> wangge_core::CaseId {
    let officer = device.me(Role::GridOfficer, None);
    let mut new = NewCase::from_handheld(
        "A02-001",
        "占道经营，附照片",
        fix_in("XT-W01-U1", MONDAY_9AM),
    );
    new.photos = photos;
    device.store.record_case(&officer, new).unwrap()
}

#[test]
fn a_photo_upload_cut_at_half_resumes_from_there_even_after_a_server_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (db, port) = (server.db.clone(), port_of(&server.base));
    let proxy = UploadCutter::start(port);
    let (enrolled, token) = server.enroll("a", DeviceRole::Field, everything());
    let a = TestDevice::open(dir.path(), "a", &enrolled, &proxy.base, &token);
    let client = chunked_client(&a, &proxy.base, 32 << 10);

    // A photo imported and not yet attached: the photo store does not wait for a case.
    let photo = a
        .store
        .import_photo(&camera_jpeg(1, 1600, 1200), &PhotoOptions::default())
        .unwrap();
    let total = photo.bytes;
    assert!(
        total > 12 * (32 << 10),
        "the photo spans many chunks ({total} bytes)"
    );
    let pending = a.store.photos_not_uploaded().unwrap();
    assert_eq!(pending.len(), 1);
    let thumb_bytes = pending[0].thumb_bytes;

    // Cut when the thumbnail and half of the photo went through (plus a little for the
    // requests' headers).
    proxy.cut_after(thumb_bytes + total / 2 + 2048);
    let mut first = SyncProgress::default();
    let err = client.upload_photos(&a.store, &mut first).unwrap_err();
    assert!(
        matches!(err, wangge_core::Error::Sync(SyncError::Offline(_))),
        "{err}"
    );
    assert!(proxy.was_cut());
    let held = server.storage.photo_upload(&photo.sha256).unwrap();
    assert!(!held.complete);
    assert_eq!(held.total, Some(total));
    let received = held.received;
    assert!(
        received as f64 >= 0.35 * total as f64 && received as f64 <= 0.55 * total as f64,
        "the server holds {received} of {total} bytes after a cut at half"
    );
    assert_eq!(
        received % (32 << 10),
        0,
        "the server holds whole chunks only"
    );
    assert_eq!(first.photo_bytes_sent, thumb_bytes + received);
    let pending = a.store.photos_not_uploaded().unwrap();
    assert!(pending[0].thumb_uploaded && !pending[0].photo_uploaded);

    // The server restarts: the partial upload is still there.
    server.stop();
    let server = TestServer::start_on(db, port);
    assert_eq!(
        server.storage.photo_upload(&photo.sha256).unwrap().received,
        received
    );

    // The signal is back: the next sync sends the case and the other half of the photo, not
    // the whole photo.
    record_case_with(&a, vec![photo.clone()]);
    proxy.heal();
    let before = proxy.sent();
    let second = client.sync(&a.store, &mut |_| {}).unwrap();
    let on_wire = proxy.sent() - before;
    assert_eq!(second.photo_bytes_sent, total - received);
    assert_eq!(second.photos_sent, 1);
    let headers_allowance = 16 * 1024;
    assert!(
        on_wire >= total - received && on_wire <= total - received + headers_allowance,
        "the resumed upload sent {on_wire} bytes on the wire for the {} missing of {total}",
        total - received
    );
    assert!(
        (on_wire as f64) < 0.7 * total as f64,
        "the resumed upload started over"
    );
    let stored = server.storage.photo(&photo.sha256).unwrap().unwrap();
    assert_eq!(stored, a.store.photo_bytes(&photo.sha256).unwrap().unwrap());
    assert_eq!(sha_hex(&stored), photo.sha256);
    assert!(a.store.photos_not_uploaded().unwrap().is_empty());
    // No chunk is left behind.
    let conn = rusqlite_conn(&server.db);
    let chunks: i64 = conn
        .query_row("SELECT count(*) FROM photo_chunks", [], |r| r.get(0))
        .unwrap();
    assert_eq!(chunks, 0);
}

/// Drops what server schema versions 7 and 8 added (people, units, enrolment to a person, the
/// audit log; the quarantine columns) with every index on them, for a test that makes a
/// database of an older version. Version 6 only added a column to `photo_refs`, which such
/// tests drop whole.
fn drop_after_version_6(conn: &rusqlite::Connection) {
    let indexes: Vec<String> = conn
        .prepare(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL
             AND ((tbl_name = 'devices' AND sql LIKE '%person_id%')
               OR (tbl_name = 'documents' AND sql LIKE '%quarantine%'))",
        )
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for index in indexes {
        conn.execute_batch(&format!("DROP INDEX \"{index}\";"))
            .unwrap();
    }
    conn.execute_batch(
        "DROP TABLE IF EXISTS audit_log; DROP TABLE IF EXISTS person_units;
         DROP TABLE IF EXISTS people; DROP TABLE IF EXISTS units;
         ALTER TABLE devices DROP COLUMN person_id;
         ALTER TABLE documents DROP COLUMN quarantined_at;
         ALTER TABLE documents DROP COLUMN quarantine_reason;",
    )
    .unwrap();
}

fn put(
    base: &str,
    token: Option<&str>,
    path_and_query: &str,
    body: Vec<u8>,
) -> (u16, serde_json::Value) {
    let mut req = reqwest::blocking::Client::new()
        .put(format!("{base}/v1/photos/{path_and_query}"))
        .body(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().unwrap();
    let status = resp.status().as_u16();
    let text = resp.text().unwrap();
    (
        status,
        serde_json::from_str(&text).unwrap_or(serde_json::Value::String(text)),
    )
}

fn get(base: &str, token: &str, path: &str) -> (u16, Vec<u8>) {
    let resp = reqwest::blocking::Client::new()
        .get(format!("{base}/v1/photos/{path}"))
        .bearer_auth(token)
        .send()
        .unwrap();
    (resp.status().as_u16(), resp.bytes().unwrap().to_vec())
}

fn photo_rows(server: &TestServer) -> (i64, i64, i64) {
    let conn = rusqlite_conn(&server.db);
    let n = |sql: &str| conn.query_row(sql, [], |r| r.get::<_, i64>(0)).unwrap();
    (
        n("SELECT count(*) FROM photos"),
        n("SELECT count(*) FROM photo_uploads"),
        n("SELECT count(*) FROM photo_chunks"),
    )
}

/// A refused upload request: token, path and query, body, expected status and error code.
type BadPut<'a> = (Option<&'a str>, String, Vec<u8>, u16, &'a str);

#[test]
fn bytes_that_do_not_match_their_hash_are_refused_and_nothing_is_stored() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (_, token) = server.enroll("a", DeviceRole::Field, everything());
    let claimed = camera_jpeg(3, 64, 48);
    let sha = sha_hex(&claimed);
    let mut sent = claimed.clone();
    let last = sent.len() - 3;
    sent[last] ^= 0x55;
    let total = sent.len();
    let half = total / 2;

    // In two chunks: the first is taken, the last reveals the mismatch.
    let (status, body) = put(
        &server.base,
        Some(&token),
        &format!("{sha}?offset=0&total={total}"),
        sent[..half].to_vec(),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["received"], half);
    assert_eq!(body["complete"], false);
    let (status, body) = put(
        &server.base,
        Some(&token),
        &format!("{sha}?offset={half}&total={total}"),
        sent[half..].to_vec(),
    );
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"], "hash_mismatch");
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .contains("nothing was stored")
    );
    assert_eq!(photo_rows(&server), (0, 0, 0));
    let (status, state) = get(&server.base, &token, &format!("{sha}/upload"));
    assert_eq!(status, 200);
    let state: serde_json::Value = serde_json::from_slice(&state).unwrap();
    assert_eq!(state["received"], 0);
    assert_eq!(state["complete"], false);
    assert_eq!(get(&server.base, &token, &sha).0, 404);

    // Other bad requests: clear 4xx, nothing stored.
    let bad: Vec<BadPut<'_>> = vec![
        (
            Some(&token),
            format!("{}?offset=0&total=3", "XYZ"),
            vec![1, 2, 3],
            400,
            "invalid_photo_hash",
        ),
        (
            Some(&token),
            format!("{sha}?offset=0"),
            vec![1, 2, 3],
            400,
            "bad_upload_parameters",
        ),
        (
            Some(&token),
            format!("{sha}?offset=0&total=2"),
            vec![1, 2, 3],
            400,
            "chunk_beyond_total",
        ),
        (
            Some(&token),
            format!("{sha}?offset=0&total=3"),
            vec![],
            400,
            "empty_chunk",
        ),
        (
            Some(&token),
            format!("{sha}?offset=5&total=10"),
            vec![1, 2, 3],
            409,
            "offset_mismatch",
        ),
        (
            Some(&token),
            format!("{sha}?offset=0&total={}", 1u64 << 40),
            vec![1],
            413,
            "photo_too_large",
        ),
        (
            Some(&token),
            format!("{sha}?offset=0&total={}", 9 << 20),
            vec![0u8; wangge_server::MAX_PHOTO_CHUNK + 1],
            413,
            "body_too_large",
        ),
        (
            None,
            format!("{sha}?offset=0&total=3"),
            vec![1, 2, 3],
            401,
            "unauthorized",
        ),
    ];
    for (tok, query, body, want, code) in bad {
        let (status, answer) = put(&server.base, tok, &query, body);
        assert_eq!(status, want, "{query}: {answer}");
        assert_eq!(answer["error"], code, "{query}: {answer}");
        assert!(answer["message"].as_str().is_some_and(|m| !m.is_empty()));
    }
    assert_eq!(photo_rows(&server), (0, 0, 0));

    // The server still serves, and the right bytes go through.
    let (status, body) = put(
        &server.base,
        Some(&token),
        &format!("{sha}?offset=0&total={}", claimed.len()),
        claimed.clone(),
    );
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["complete"], true);
    assert_eq!(get(&server.base, &token, &sha), (200, claimed));
}

#[test]
fn re_uploading_a_complete_photo_is_a_no_op() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (_, token) = server.enroll("raw", DeviceRole::Field, everything());
    let bytes = camera_jpeg(4, 64, 48);
    let sha = sha_hex(&bytes);
    let query = format!("{sha}?offset=0&total={}", bytes.len());
    let (status, first) = put(&server.base, Some(&token), &query, bytes.clone());
    assert_eq!(status, 200);
    let stored_at: i64 = rusqlite_conn(&server.db)
        .query_row("SELECT uploaded_at FROM photos", [], |r| r.get(0))
        .unwrap();
    server.clock.advance(60_000);
    let (status, again) = put(&server.base, Some(&token), &query, bytes.clone());
    assert_eq!(status, 200);
    assert_eq!(first, again);
    assert_eq!(again["complete"], true);
    assert_eq!(photo_rows(&server), (1, 0, 0));
    let stored_again: i64 = rusqlite_conn(&server.db)
        .query_row("SELECT uploaded_at FROM photos", [], |r| r.get(0))
        .unwrap();
    assert_eq!(stored_at, stored_again, "a re-upload rewrote the photo");

    // Two devices that hold the same photo: the second sends no full photo bytes. Its
    // thumbnail, one chunk, goes without asking first (a round trip saved per thumbnail on
    // 2G), and the server answers it as a no-op.
    let a = server.field_device(dir.path(), "a", everything());
    let b = server.field_device(dir.path(), "b", everything());
    let original = camera_jpeg(5, 800, 600);
    let photo = a
        .store
        .import_photo(&original, &PhotoOptions::default())
        .unwrap();
    record_case_with(&a, vec![photo.clone()]);
    let pa = a.sync();
    assert_eq!(pa.photos_sent, 2, "photo and thumbnail");
    assert!(pa.photo_bytes_sent > photo.bytes);
    let same = b
        .store
        .import_photo(&original, &PhotoOptions::default())
        .unwrap();
    assert_eq!(same, photo);
    let pb = b.sync();
    let thumb_bytes = b
        .store
        .stored_photo(&photo.sha256)
        .unwrap()
        .unwrap()
        .thumb_bytes;
    assert_eq!(pb.photo_bytes_sent, thumb_bytes);
    assert_eq!(pb.photos_sent, 2);
    assert!(b.store.photos_not_uploaded().unwrap().is_empty());
    // And a sync with nothing new sends nothing again.
    let pa = a.sync();
    assert_eq!((pa.photos_sent, pa.photo_bytes_sent), (0, 0));
}

#[test]
fn a_second_device_gets_the_thumbnails_on_sync_and_the_photo_on_demand() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let a = server.field_device(dir.path(), "a", everything());
    let b = server.field_device(dir.path(), "b", everything());
    let opts = PhotoOptions::default();
    let before = a
        .store
        .import_photo(&camera_jpeg(6, 1200, 900), &opts)
        .unwrap();
    let after = a
        .store
        .import_photo(&camera_jpeg(7, 1200, 900), &opts)
        .unwrap();
    let case = record_case_with(&a, vec![before.clone()]);
    a.store
        .add_case_event(
            case,
            &a.me(Role::GridOfficer, None),
            CaseEventKind::Comment {
                text: "处理后".into(),
                photos: vec![after.clone()],
            },
        )
        .unwrap();
    a.sync();

    let p = b.sync();
    assert_eq!(p.docs_received, 1);
    assert_eq!(p.photos_received, 2, "both thumbnails, eagerly");
    let on_b = b.store.case_thumbnails(case).unwrap();
    assert_eq!(on_b, a.store.case_thumbnails(case).unwrap());
    assert_eq!(on_b.len(), 2);
    assert_eq!(
        p.photo_bytes_received,
        on_b.iter().map(|(_, t)| t.len() as u64).sum::<u64>()
    );
    // The full photos stay on the server until asked for.
    assert_eq!(b.store.photo_bytes(&before.sha256).unwrap(), None);
    assert!(b.store.thumbnails_missing(10).unwrap().is_empty());
    let full = b.client.fetch_photo(&b.store, &before.sha256).unwrap();
    assert_eq!(full, a.store.photo_bytes(&before.sha256).unwrap().unwrap());
    assert_eq!(b.store.photo_bytes(&before.sha256).unwrap(), Some(full));
    // Now kept: asking again needs no server.
    server.stop();
    assert!(b.client.fetch_photo(&b.store, &before.sha256).is_ok());
    let usage = b.store.photo_disk_usage().unwrap();
    assert_eq!((usage.photos, usage.thumbnails), (1, 2));
}

#[test]
fn a_photo_not_yet_uploaded_is_reported_as_such_and_its_thumbnail_comes_later() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let a = server.field_device(dir.path(), "a", everything());
    let b = server.field_device(dir.path(), "b", everything());
    let photo = a
        .store
        .import_photo(&camera_jpeg(8, 640, 480), &PhotoOptions::default())
        .unwrap();
    let case = record_case_with(&a, vec![photo.clone()]);
    // The case reaches the server (A's document alone) before A has uploaded the photo, and B
    // receives it.
    push_documents_only(&a);
    let p = b.sync();
    assert_eq!(p.docs_received, 1);
    assert_eq!(p.photos_received, 0);
    assert!(b.store.case_thumbnails(case).unwrap().is_empty());
    let err = b.client.fetch_photo(&b.store, &photo.sha256).unwrap_err();
    assert!(
        matches!(&err, wangge_core::Error::Sync(SyncError::PhotoNotOnServer(s)) if *s == photo.sha256),
        "{err}"
    );
    // A syncs; B's next sync brings the thumbnail.
    a.sync();
    let p = b.sync();
    assert_eq!(p.photos_received, 1);
    assert_eq!(b.store.case_thumbnails(case).unwrap().len(), 1);
}

#[test]
fn a_server_database_from_before_photos_gains_the_photo_tables() {
    use wangge_server::storage::sqlite::SqliteStorage;
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("old-server.sqlite3");
    drop(SqliteStorage::open(&db, catalog()).unwrap());
    // What a version-1 server database looks like: no photo tables (nor anything later).
    let conn = rusqlite_conn(&db);
    drop_after_version_6(&conn);
    conn.execute_batch(
        "DROP TABLE photos; DROP TABLE photo_uploads; DROP TABLE photo_chunks;
         DROP TABLE photo_thumbnails; DROP TABLE photo_refs;
         ALTER TABLE documents DROP COLUMN teams;
         ALTER TABLE devices DROP COLUMN last_cursor; PRAGMA user_version = 1;",
    )
    .unwrap();
    drop(conn);
    let storage = SqliteStorage::open(&db, catalog()).unwrap();
    let version: i64 = rusqlite_conn(&db)
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(
        version,
        wangge_server::storage::sqlite::SCHEMA_VERSION,
        "upgraded through the photo tables, the teams column, the devices' cursors, the \
         photo references, their thumbnails, the people, the quarantine and every later step"
    );
    let bytes = camera_jpeg(9, 32, 24);
    let sha = sha_hex(&bytes);
    let outcome = storage
        .put_photo_chunk(
            &wangge_server::storage::PhotoChunk {
                sha256: &sha,
                offset: 0,
                total: bytes.len() as u64,
                data: &bytes,
                thumbnail_of: None,
                device_id: "d",
            },
            MONDAY_9AM,
        )
        .unwrap();
    assert!(matches!(
        outcome,
        wangge_server::storage::ChunkOutcome::Stored(ref s) if s.complete
    ));
    assert_eq!(storage.photo(&sha).unwrap(), Some(bytes));
}

#[test]
fn the_back_office_judges_photo_evidence_from_the_document_alone() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let a = server.field_device(dir.path(), "a", everything());
    let b = server.field_device(dir.path(), "b", everything());
    let (_, centre) = server.enroll("centre", DeviceRole::Centre, everything());
    // The encoder writes no EXIF: the photo has no capture time and no position.
    let photo = a
        .store
        .import_photo(&camera_jpeg(9, 640, 480), &PhotoOptions::default())
        .unwrap();
    assert!(photo.capture.is_empty());
    let case = record_case_with(&a, vec![photo.clone()]);
    // Only the document goes up: the photo's bytes stay on A.
    push_documents_only(&a);
    assert_eq!(b.sync().docs_received, 1);

    let resp = reqwest::blocking::Client::new()
        .get(format!("{}/v1/cases/{case}/evidence", server.base))
        .bearer_auth(&centre)
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let on_server: serde_json::Value = resp.json().unwrap();
    let on_device = serde_json::to_value(a.store.photo_evidence(case).unwrap()).unwrap();
    assert_eq!(on_server, on_device);
    assert_eq!(on_server[0]["photo"]["sha256"], photo.sha256.as_str());
    assert_eq!(
        on_server[0]["flags"],
        serde_json::json!([{"kind": "no_capture_time"}, {"kind": "no_position"}])
    );

    // A field device may not read the back office, and an unknown case is a 404.
    let resp = reqwest::blocking::Client::new()
        .get(format!("{}/v1/cases/{case}/evidence", server.base))
        .bearer_auth(&a.token)
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    let resp = reqwest::blocking::Client::new()
        .get(format!(
            "{}/v1/cases/{}/evidence",
            server.base,
            wangge_core::CaseId::generate()
        ))
        .bearer_auth(&centre)
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 404);
}

#[test]
fn a_device_reads_only_the_photos_of_its_scope_even_after_an_upgrade() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (db, port) = (server.db.clone(), port_of(&server.base));
    let a = server.field_device(dir.path(), "a", scope(&["XT-B1"], &[], &[]));
    let near = server.field_device(dir.path(), "near", scope(&["XT-B1"], &[], &[]));
    let far = server.field_device(dir.path(), "far", scope(&["XT-B3"], &[], &[]));
    let (_, centre) = server.enroll("centre", DeviceRole::Centre, everything());
    let photo = a
        .store
        .import_photo(&camera_jpeg(10, 640, 480), &PhotoOptions::default())
        .unwrap();
    let thumb = a
        .store
        .stored_photo(&photo.sha256)
        .unwrap()
        .unwrap()
        .thumb_sha256;
    // The case lies in XT-W01-U1, block XT-B1.
    let case = record_case_with(&a, vec![photo.clone()]);
    a.sync();

    let check = |server_base: &str| {
        let sha = &photo.sha256;
        // The same block: the thumbnail came with the sync, the photo on demand.
        for path in [sha.clone(), format!("{sha}/thumbnail"), thumb.clone()] {
            assert_eq!(get(server_base, &near.token, &path).0, 200, "{path}");
            assert_eq!(get(server_base, &centre, &path).0, 200, "{path}");
            let (status, body) = get(server_base, &far.token, &path);
            assert_eq!(status, 403, "{path}");
            let body = String::from_utf8_lossy(&body);
            assert!(
                body.contains("out_of_scope") && body.contains("scope"),
                "{body}"
            );
        }
    };
    check(&server.base);
    assert_eq!(near.sync().photos_received, 1);
    assert!(near.client.fetch_photo(&near.store, &photo.sha256).is_ok());
    // Another block: it never receives the case, and knowing the hash is not enough.
    let p = far.sync();
    assert_eq!((p.docs_received, p.photos_received), (0, 0));
    let err = far
        .client
        .fetch_photo(&far.store, &photo.sha256)
        .unwrap_err();
    assert!(
        matches!(err, wangge_core::Error::Sync(SyncError::OutOfScope(_))),
        "{err}"
    );
    assert_eq!(far.store.photo_bytes(&photo.sha256).unwrap(), None);
    assert!(far.store.case(case).is_err());

    // A database from before the photo references (version 4) gains them from its documents.
    server.stop();
    let conn = rusqlite_conn(&db);
    drop_after_version_6(&conn);
    conn.execute_batch("DROP TABLE photo_refs; PRAGMA user_version = 4;")
        .unwrap();
    drop(conn);
    let server = TestServer::start_on(db, port);
    check(&server.base);
}

#[test]
fn a_thumbnail_the_server_lacks_is_asked_for_less_and_less_often() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let a = server.field_device(dir.path(), "a", everything());
    let b = server.field_device(dir.path(), "b", everything());
    let photo = a
        .store
        .import_photo(&camera_jpeg(11, 320, 240), &PhotoOptions::default())
        .unwrap();
    let case = record_case_with(&a, vec![photo.clone()]);
    // B holds the case before A has uploaded the photo (the server has A's document alone).
    push_documents_only(&a);
    hand_over(&a, &b, case);
    let missing = || b.store.thumbnails_missing(10).unwrap();
    assert_eq!(missing(), vec![photo.sha256.clone()]);

    // First miss: asked again at the next sync. Second miss: not before 5 minutes.
    assert_eq!(b.sync().photos_received, 0);
    assert_eq!(missing(), vec![photo.sha256.clone()]);
    assert_eq!(b.sync().photos_received, 0);
    assert_eq!(missing(), Vec::<String>::new());

    // A uploads; B does not ask within the wait, then gets it.
    a.sync();
    b.clock.advance(4 * 60_000);
    assert_eq!(b.sync().photos_received, 0);
    b.clock.advance(60_000);
    assert_eq!(missing(), vec![photo.sha256.clone()]);
    assert_eq!(b.sync().photos_received, 1);
    assert_eq!(missing(), Vec::<String>::new());
    assert_eq!(b.store.case_thumbnails(case).unwrap().len(), 1);
}
