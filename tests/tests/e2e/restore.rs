//! A server whose database is restored from a backup has lost documents it
//! had acknowledged. The devices that synced since the backup notice it at
//! their next sync (the server answers "reset"), push everything they hold
//! again, and the server ends with every document as the devices hold it.
//! A device that is merely behind (a lost response) is not reset.
//!
//! What the devices cannot give back: a back-office event (a registration)
//! made after the backup. The server is the authority and refuses every
//! event a device pushes that is not its own person's, registrations above
//! all; the centre registers such a case again.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;

use image::{Rgb, RgbImage};
use wangge_core::photo::PhotoOptions;
use wangge_core::sync::protocol::{SyncRequest, SyncResponse};
use wangge_core::{CaseId, Clock, NewCase, PhotoRef, Role, SyncError, SyncStatus};
use wangge_e2e::*;
use wangge_server::storage::{DeviceRole, Storage};

/// Records a case offline on `dev`.
fn record_case(dev: &TestDevice, what: &str) -> CaseId {
    record_case_with(dev, what, Vec::new())
}

/// Records a case with photos offline on `dev`.
fn record_case_with(dev: &TestDevice, what: &str, photos: Vec<PhotoRef>) -> CaseId {
    let officer = dev.me(Role::GridOfficer, None);
    dev.clock.advance(1_000);
    let mut new = NewCase::from_handheld(
        "A02-001",
        &format!("{what} 占道经营"),
        fix_in("XT-W06-U1", dev.clock.now_ms()),
    );
    new.photos = photos;
    dev.store.record_case(&officer, new).unwrap()
}

/// A small JPEG, as a camera would give it.
fn jpeg() -> Vec<u8> {
    let img = RgbImage::from_fn(320, 240, |x, y| Rgb([x as u8, y as u8, (x ^ y) as u8]));
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&img)
        .unwrap();
    out
}

/// A consistent copy of a live server database: `VACUUM INTO` writes the
/// snapshot of one read transaction, while the server keeps serving.
fn back_up(db: &Path, to: &Path) {
    rusqlite_conn(db)
        .execute("VACUUM INTO ?1", [to.to_str().unwrap()])
        .unwrap();
}

/// Puts a backup in place of a stopped server's database (and drops its
/// write-ahead log, which belongs to the replaced file).
fn restore(db: &Path, backup: &Path) {
    for suffix in ["-wal", "-shm"] {
        let mut side = db.as_os_str().to_owned();
        side.push(suffix);
        let _ = std::fs::remove_file(side);
    }
    std::fs::copy(backup, db).unwrap();
}

/// The cursor the server recorded for a device.
fn recorded_cursor(db: &Path, device: &TestDevice) -> Option<i64> {
    rusqlite_conn(db)
        .query_row(
            "SELECT last_cursor FROM devices WHERE device_id = ?1",
            [device.id.to_string()],
            |r| r.get(0),
        )
        .unwrap()
}

fn assert_on_server(dev: &TestDevice, cases: &[CaseId]) {
    for case in cases {
        assert_eq!(
            dev.store.case_sync_status(*case).unwrap(),
            SyncStatus {
                on_server: true,
                pending: false,
                refused: false,
            },
            "{}: case {case}",
            dev.name
        );
    }
}

#[test]
fn acknowledged_cases_lost_by_a_restored_server_are_pushed_again() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (port, db) = (server.port(), server.db.clone());
    let a = server.field_device(dir.path(), "a", everything());
    let b = server.field_device(dir.path(), "b", everything());
    let d = server.field_device(dir.path(), "d", everything());
    let (_, centre) = server.enroll("centre", DeviceRole::Centre, everything());

    let case1 = record_case(&a, "一");
    a.sync();
    b.sync();
    d.sync();
    let backup = dir.path().join("backup.sqlite3");
    back_up(&db, &backup);

    // After the backup: A's cases 2 and 3 (with a photo) are acknowledged,
    // the centre registers case 2, and B pulls both (with the registration
    // A lacks).
    let photo = a
        .store
        .import_photo(&jpeg(), &PhotoOptions::default())
        .unwrap();
    let case2 = record_case(&a, "二");
    let case3 = record_case_with(&a, "三", vec![photo.clone()]);
    let p = a.sync();
    assert_eq!((p.docs_sent, p.photos_sent), (2, 2), "{p:?}");
    assert_on_server(&a, &[case1, case2, case3]);
    reqwest::blocking::Client::new()
        .post(format!("{}/v1/cases/{case2}/register", server.base))
        .bearer_auth(&centre)
        .json(&serde_json::json!({}))
        .send()
        .unwrap()
        .error_for_status()
        .unwrap();
    assert_eq!(b.sync().docs_received, 2);
    let before_restore = server_heads(&db);
    assert_eq!(b.heads(), before_restore);
    let a_cursor = a.store.sync_cursor().unwrap();

    // The server's database is restored from the backup.
    server.stop();
    restore(&db, &backup);
    let server = TestServer::start_on(db.clone(), port);
    let now = server.clock.now_ms();
    assert_eq!(server.storage.stats(now).unwrap().cases, 1);
    assert_eq!(server.storage.photo(&photo.sha256).unwrap(), None);

    // D, which has not synced since the backup, is not reset; its cases
    // grow the restored feed past A's cursor, so "a cursor beyond the
    // feed" alone would not notice what A lost.
    let d_cases: Vec<CaseId> = (0..3).map(|i| record_case(&d, &format!("丁{i}"))).collect();
    let pd = d.sync();
    assert!(!pd.server_reset, "{pd:?}");
    assert_eq!(pd.docs_sent, 3);
    assert!(server_seq(&db) > a_cursor);

    // A reset request stores nothing, not even what it pushes.
    let case4 = record_case(&a, "四");
    let prepared = a.store.prepare_push(1000, 2 << 20).unwrap();
    assert_eq!(prepared.len(), 1);
    let stored_before = server_heads(&db);
    let seq_before = server_seq(&db);
    let raw = reqwest::blocking::Client::new()
        .post(format!("{}/v1/sync", server.base))
        .bearer_auth(&a.token)
        .body(
            SyncRequest {
                request_id: [4; 16],
                cursor: a_cursor,
                max_docs: 100,
                docs: prepared.into_iter().map(|p| p.doc).collect(),
            }
            .encode(),
        )
        .send()
        .unwrap()
        .error_for_status()
        .unwrap()
        .bytes()
        .unwrap();
    let answer = SyncResponse::decode(&raw).unwrap();
    assert!(answer.reset && !answer.more, "{answer:?}");
    assert_eq!(answer.cursor, 0);
    assert!(answer.accepted.is_empty() && answer.resend.is_empty() && answer.docs.is_empty());
    assert_eq!(server_heads(&db), stored_before);
    assert_eq!(server_seq(&db), seq_before);

    // A syncs: it starts over within the call and pushes everything again.
    // Between the reset and the new acknowledgement, its cases count as
    // not on the server.
    let mut after_reset = None;
    let pa = a
        .client
        .sync(&a.store, &mut |p| {
            if p.server_reset && after_reset.is_none() {
                after_reset = Some(a.store.case_sync_status(case2).unwrap());
            }
        })
        .unwrap();
    assert!(pa.server_reset, "{pa:?}");
    assert_eq!(
        after_reset,
        Some(SyncStatus {
            on_server: false,
            pending: true,
            refused: false,
        })
    );
    assert_eq!(pa.docs_sent, 4, "cases 1 to 4, each whole: {pa:?}");
    assert_eq!(pa.docs_received, 3, "D's cases: {pa:?}");
    let on_server = server_heads(&db);
    assert_eq!(a.heads(), on_server, "the server holds what A holds");
    assert_eq!(a.store.pending_count().unwrap(), 0);
    assert_eq!(a.store.sync_cursor().unwrap(), server_seq(&db));
    assert_on_server(&a, &[case1, case2, case3, case4]);
    assert_on_server(&a, &d_cases);
    let stats = server.storage.stats(now).unwrap();
    assert_eq!((stats.cases, stats.registered), (7, 0));
    // The photo, lost with the case, is uploaded again.
    assert_eq!(
        server.storage.photo(&photo.sha256).unwrap(),
        a.store.photo_bytes(&photo.sha256).unwrap()
    );
    assert!(
        server
            .storage
            .photo_thumbnail(&photo.sha256)
            .unwrap()
            .is_some()
    );
    assert!(a.store.photos_not_uploaded().unwrap().is_empty());

    // B too had synced since the backup: it is reset, and gives back the
    // registration of case 2 that only it had seen. The registration is the
    // centre's event, not B's person's, but it carries the server's seal, so
    // the server takes its own event back from B.
    let pb = b.sync();
    assert!(pb.server_reset, "{pb:?}");
    assert_eq!(
        (pb.docs_sent, pb.docs_refused),
        (3, 0),
        "cases 1 to 3: {pb:?}"
    );
    let stats = server.storage.stats(now).unwrap();
    assert_eq!((stats.cases, stats.registered), (7, 1));
    assert_eq!(
        server.storage.case(&case2.to_string()).unwrap().unwrap(),
        b.store.case(case2).unwrap()
    );
    // The restored counter went back, but the number case 2 carries is not handed out again.
    let number = |id: CaseId| {
        server
            .storage
            .case(&id.to_string())
            .unwrap()
            .unwrap()
            .state
            .case_number
            .unwrap()
    };
    let register = |id: CaseId| {
        reqwest::blocking::Client::new()
            .post(format!("{}/v1/cases/{id}/register", server.base))
            .bearer_auth(&centre)
            .json(&serde_json::json!({}))
            .send()
            .unwrap()
            .error_for_status()
            .unwrap();
    };
    register(case3);
    let (n2, n3) = (number(case2), number(case3));
    assert!(
        n2.ends_with("-000001") && n3.ends_with("-000002"),
        "{n2} {n3}"
    );
    // A then receives both registrations; nobody is reset a second time.
    let pa = a.sync();
    assert!(!pa.server_reset);
    assert_eq!((pa.docs_sent, pa.docs_received), (0, 2));
    let on_server = server_heads(&db);
    for id in [case1, case2] {
        let id = id.to_string();
        assert_eq!(on_server.get(&id), before_restore.get(&id), "case {id}");
    }
    assert_eq!(a.heads(), on_server);
    let pb = b.sync();
    assert!(!pb.server_reset);
    assert_eq!(
        (pb.docs_sent, pb.docs_received),
        (0, 1),
        "case 3's registration"
    );
    assert_eq!(b.heads(), on_server);
    assert_on_server(&a, &[case1, case2, case3, case4]);
    assert_on_server(&b, &[case1, case2, case3, case4]);
    assert!(!d.sync().server_reset);

    // A device enrolled after the restore pulls everything.
    let c = server.field_device(dir.path(), "c", everything());
    let pc = c.sync();
    assert!(!pc.server_reset);
    assert_eq!(pc.docs_received, 7);
    assert_eq!(c.heads(), on_server);
}

#[test]
fn a_device_behind_its_recorded_cursor_after_a_lost_response_is_not_reset() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let proxy = Proxy::start(server.port());
    let c = server.field_device(dir.path(), "c", everything());
    let (device_a, token_a) = server.enroll("a", DeviceRole::Field, everything());
    let a = TestDevice::open(dir.path(), "a", &device_a, &proxy.base, &token_a);
    for i in 0..3 {
        record_case(&c, &format!("丙{i}"));
    }
    c.sync();
    a.sync();
    for i in 3..5 {
        record_case(&c, &format!("丙{i}"));
    }
    c.sync();
    let mine = [record_case(&a, "甲0"), record_case(&a, "甲1")];

    // Every answer to A is lost: the server merged and recorded each round,
    // A applied none.
    proxy.set_mode(ProxyMode::CutResponse {
        after: 100,
        times: usize::MAX,
    });
    let err = a.client.sync(&a.store, &mut |_| {}).unwrap_err();
    assert!(
        matches!(err, wangge_core::Error::Sync(SyncError::Offline(_))),
        "{err}"
    );
    let behind = a.store.sync_cursor().unwrap();
    let record = recorded_cursor(&server.db, &a).unwrap();
    assert!(
        behind > 0 && (behind as i64) < record,
        "A's cursor {behind} should be behind the record {record}"
    );

    // The answers come through again: A repeats the round, not reset.
    proxy.set_mode(ProxyMode::Pass);
    let p = a.sync();
    assert!(!p.server_reset, "{p:?}");
    assert_eq!((p.docs_sent, p.docs_received), (2, 2), "{p:?}");
    assert_eq!(a.heads(), server_heads(&server.db));
    assert_on_server(&a, &mine);
    assert_eq!(
        recorded_cursor(&server.db, &a),
        Some(a.store.sync_cursor().unwrap() as i64)
    );
    let p = a.sync();
    assert!(!p.server_reset);
    assert_eq!((p.docs_sent, p.docs_received), (0, 0));
}

/// A back-office event lost with a restore comes back from a device that pulled it: the rules
/// refuse events that are not the pushing device's person's, except the server's own, which
/// carry its seal (`wangge_core::authority::SealVerifier`).
///
/// * the registration comes back from a device that pulled it, so the server holds it;
/// * the restored counter is raised past the number that registration carries, so the next
///   registration does not hand the same number to another case;
/// * the centre acting on the case again does not break the syncs of the device that holds the
///   lost registration (each back-office change has a fresh Automerge actor, so it cannot
///   collide with the lost one: "duplicate seq 1 found for actor").
#[test]
fn a_registration_lost_with_a_restore_comes_back_from_a_device() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (port, db) = (server.port(), server.db.clone());
    let a = server.field_device(dir.path(), "a", everything());
    let b = server.field_device(dir.path(), "b", everything());
    let (_, centre) = server.enroll("centre", DeviceRole::Centre, everything());
    let centre_post = |server: &TestServer, case: CaseId, path: &str, body: serde_json::Value| {
        reqwest::blocking::Client::new()
            .post(format!("{}/v1/cases/{case}/{path}", server.base))
            .bearer_auth(&centre)
            .json(&body)
            .send()
            .unwrap()
            .error_for_status()
            .unwrap();
    };
    let backup = dir.path().join("backup.sqlite3");
    back_up(&db, &backup);
    let case1 = record_case(&a, "一");
    let case2 = record_case(&a, "二");
    a.sync();
    centre_post(&server, case1, "register", serde_json::json!({}));
    b.sync();
    let number = b.store.case(case1).unwrap().state.case_number.unwrap();
    server.stop();
    restore(&db, &backup);
    let server = TestServer::start_on(db.clone(), port);
    a.sync();
    let pb = b.sync();
    assert!(pb.server_reset);
    assert_eq!(
        (pb.docs_sent, pb.docs_refused),
        (2, 0),
        "B gives back the registration"
    );
    let on_server = |id: CaseId| server.storage.case(&id.to_string()).unwrap().unwrap();
    assert_eq!(
        on_server(case1).state.case_number.as_deref(),
        Some(number.as_str())
    );
    centre_post(&server, case2, "register", serde_json::json!({}));
    assert_ne!(on_server(case2).state.case_number, Some(number));
    centre_post(
        &server,
        case1,
        "events",
        serde_json::json!({"type": "dispatched", "units": ["城管中队"]}),
    );
    b.client.sync(&b.store, &mut |_| {}).unwrap();
    assert_eq!(b.heads(), server_heads(&db));
}
