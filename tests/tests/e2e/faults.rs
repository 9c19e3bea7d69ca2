//! Faults in the middle of a sync: the server killed (SIGKILL) while it
//! handles a push, the connection cut in the middle of a response, a
//! request replayed. In each case the next sync completes, nothing is lost,
//! nothing is duplicated, and a device whose sync was interrupted keeps
//! every change the server has not acknowledged marked for the next sync.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use wangge_core::sync::protocol::{SyncRequest, SyncResponse};
use wangge_core::{CaseEventKind, CaseId, Clock, NewCase, Role, SyncError};
use wangge_e2e::*;
use wangge_server::storage::sqlite::SqliteStorage;
use wangge_server::storage::{DeviceRole, Storage};

/// Records `n` cases offline on `dev`.
fn record_cases(dev: &TestDevice, n: usize, tag: &str) -> Vec<CaseId> {
    let officer = dev.me(Role::GridOfficer, None);
    let cells = ["XT-W01-U1", "XT-W06-U1", "XT-W10-U1", "XT-W15-U1"];
    (0..n)
        .map(|i| {
            dev.clock.advance(1_000);
            let cell = cells[i % cells.len()];
            dev.store
                .record_case(
                    &officer,
                    NewCase::from_handheld(
                        "A02-001",
                        &format!("{tag} 第{i}件 占道经营"),
                        fix_in(cell, dev.clock.now_ms()),
                    ),
                )
                .unwrap()
        })
        .collect()
}

/// Every document the device holds that it believes the server has, with
/// its heads, must be on the server with the same heads: nothing the device
/// counts as delivered is missing.
fn assert_acknowledged_are_on_server(
    dev: &TestDevice,
    server: &BTreeMap<String, Vec<automerge::ChangeHash>>,
) {
    for (id, heads) in dev.heads() {
        let status = dev.store.doc_sync_status(&id).unwrap();
        if !status.pending {
            assert_eq!(
                server.get(&id),
                Some(&heads),
                "{id} is marked as on the server, but the server lacks it"
            );
        }
    }
}

/// Every case on the server holds exactly the events it should (here: one
/// report each, or what `expected` says): nothing duplicated.
fn assert_no_duplicates(db: &std::path::Path, expected_events: &BTreeMap<String, usize>) {
    let storage = SqliteStorage::open(db, catalog()).unwrap();
    let ids: Vec<String> = server_heads(db).into_keys().collect();
    let distinct: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), ids.len());
    let conn = rusqlite_conn(db);
    let (rows, seqs): (i64, i64) = conn
        .query_row(
            "SELECT count(*), count(DISTINCT seq) FROM documents",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(rows, seqs, "two documents share a feed position");
    let views: i64 = conn
        .query_row("SELECT count(*) FROM case_view", [], |r| r.get(0))
        .unwrap();
    assert_eq!(views as usize, ids.len(), "one back-office row per case");
    for id in &ids {
        let case = storage.case(id).unwrap().unwrap();
        let want = expected_events.get(id).copied().unwrap_or(1);
        assert_eq!(
            case.events.len(),
            want,
            "case {id} has duplicated or lost events"
        );
    }
}

fn server_doc_count(db: &std::path::Path) -> i64 {
    rusqlite_conn(db)
        .query_row("SELECT count(*) FROM documents", [], |r| r.get(0))
        .unwrap()
}

/// The test's full name in the suite binary, for re-executing it as the server.
const KILL_TEST: &str =
    "faults::a_server_killed_in_the_middle_of_a_sync_loses_and_duplicates_nothing";

#[test]
fn a_server_killed_in_the_middle_of_a_sync_loses_and_duplicates_nothing() {
    serve_if_child();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("server.sqlite3");
    let (device, token) = {
        let storage = SqliteStorage::open(&db, catalog()).unwrap();
        enroll_in(&storage, "a", DeviceRole::Field, everything())
    };
    let port = free_port();
    let spawn = || ServerProcess::spawn(&["--exact", KILL_TEST, "--test-threads", "1"], &db, port);
    let proxy = Proxy::start(port);
    let dev = TestDevice::open(dir.path(), "a", &device, &proxy.base, &token);
    const CASES: usize = 1200;
    const BATCH: usize = 400;
    let ids = record_cases(&dev, CASES, "断电测试");
    let mut client_config = dev.client.config().clone();
    client_config.push_batch_docs = BATCH;
    let client = wangge_core::SyncClient::new(client_config).unwrap();

    let mut killed_before_answer = 0;
    for round in 0..3u64 {
        let server = spawn();
        let pending_before = dev.store.pending_count().unwrap();
        // The size of the first request of this sync: the kill waits for it.
        let first_batch = dev.store.prepare_push(BATCH, 2 << 20).unwrap();
        let first_body = SyncRequest {
            request_id: [0; 16],
            cursor: dev.store.sync_cursor().unwrap(),
            max_docs: 2000,
            docs: first_batch.into_iter().map(|p| p.doc).collect(),
        }
        .encode()
        .len() as u64;
        let connections_before = proxy.connections().len();
        let stored_before = server_doc_count(&db);
        let acknowledged = AtomicU64::new(0);
        let result = std::thread::scope(|s| {
            let sync = s.spawn(|| {
                client.sync(&dev.store, &mut |p| {
                    acknowledged.store(p.docs_sent, Ordering::SeqCst)
                })
            });
            // Wait until the first request is (nearly) all on the server's side…
            let deadline = Instant::now() + Duration::from_secs(120);
            let conn = loop {
                let uploading = proxy
                    .connections()
                    .into_iter()
                    .skip(connections_before)
                    .find(|c| c.up.load(Ordering::SeqCst) >= first_body);
                if let Some(c) = uploading {
                    break c;
                }
                assert!(Instant::now() < deadline, "the sync never sent its request");
                assert!(
                    !sync.is_finished(),
                    "the sync ended before its request was sent"
                );
                std::thread::sleep(Duration::from_millis(1));
            };
            // …then kill the server: at once, while it reads or merges the
            // push; or, in round 1, once it has committed a batch (its
            // answer lost, on its way, or received and the next request in
            // flight).
            if round == 1 {
                while server_doc_count(&db) == stored_before {
                    assert!(
                        Instant::now() < deadline,
                        "the server never stored the push"
                    );
                    std::thread::sleep(Duration::from_millis(1));
                }
            }
            server.kill();
            if conn.down.load(Ordering::SeqCst) == 0 {
                killed_before_answer += 1;
            }
            sync.join().unwrap()
        });
        let err = result.expect_err("a sync whose server was killed must fail");
        assert!(
            matches!(err, wangge_core::Error::Sync(SyncError::Offline(_))),
            "{err}"
        );
        // Every change the server did not acknowledge is still pending.
        let acknowledged = acknowledged.load(Ordering::SeqCst);
        assert_eq!(
            dev.store.pending_count().unwrap(),
            pending_before - acknowledged,
            "round {round}: a change was dropped or marked sent without an answer"
        );
        let on_server = server_heads(&db);
        assert_acknowledged_are_on_server(&dev, &on_server);
        assert!(on_server.len() <= CASES);
    }
    assert!(
        killed_before_answer > 0,
        "no kill landed before the server answered; the test did not test anything"
    );

    // The server comes back on the same database; the next sync completes.
    let server = spawn();
    let p = client.sync(&dev.store, &mut |_| {}).unwrap();
    assert!(p.docs_sent > 0);
    assert_eq!(dev.store.pending_count().unwrap(), 0);
    let on_server = server_heads(&db);
    assert_eq!(on_server.len(), CASES, "nothing lost, nothing duplicated");
    assert_eq!(dev.heads(), on_server);
    assert_eq!(dev.store.sync_cursor().unwrap(), server_seq(&db));
    for id in &ids {
        let s = dev.store.case_sync_status(*id).unwrap();
        assert!(s.on_server && !s.pending);
    }
    // A fresh device pulls exactly the same documents.
    let (device_b, token_b) = {
        let storage = SqliteStorage::open(&db, catalog()).unwrap();
        enroll_in(&storage, "b", DeviceRole::Field, everything())
    };
    let b = TestDevice::open(dir.path(), "b", &device_b, &server.base, &token_b);
    assert_eq!(b.sync().docs_received as usize, CASES);
    assert_eq!(b.heads(), on_server);
    // A further sync moves nothing.
    let p = client.sync(&dev.store, &mut |_| {}).unwrap();
    assert_eq!((p.docs_sent, p.docs_received), (0, 0));
    server.kill();
    assert_no_duplicates(&db, &BTreeMap::new());
}

#[test]
fn a_connection_cut_in_the_middle_of_a_response_loses_and_duplicates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let proxy = Proxy::start(server.port());
    let a = server.field_device(dir.path(), "a", everything());
    record_cases(&a, 300, "甲");
    a.sync();
    // B works through the proxy, with cases of its own not yet sent.
    let (device_b, token_b) = server.enroll("b", DeviceRole::Field, everything());
    let b = TestDevice::open(dir.path(), "b", &device_b, &proxy.base, &token_b);
    let mine = record_cases(&b, 20, "乙");
    assert_eq!(b.store.pending_count().unwrap(), 20);

    // Every response is cut: once inside the headers, once inside the body.
    for after in [100, 30_000] {
        proxy.set_mode(ProxyMode::CutResponse {
            after,
            times: usize::MAX,
        });
        let err = b.client.sync(&b.store, &mut |_| {}).unwrap_err();
        assert!(
            matches!(err, wangge_core::Error::Sync(SyncError::Offline(_))),
            "{err}"
        );
        assert!(
            proxy
                .connections()
                .iter()
                .any(|c| c.cut.load(Ordering::SeqCst))
        );
        // Nothing of the lost answers was applied, and nothing is forgotten.
        assert_eq!(b.store.pending_count().unwrap(), 20);
        assert_eq!(b.store.sync_cursor().unwrap(), 0);
        assert_eq!(b.doc_ids().len(), 20);
        for id in &mine {
            assert!(b.store.case_sync_status(*id).unwrap().pending);
        }
    }
    // The server did merge B's push before its answer was lost.
    let on_server = server_heads(&server.db);
    assert_eq!(on_server.len(), 320);
    assert_acknowledged_are_on_server(&b, &on_server);

    // One cut, then the connection works again: the sync retries and completes.
    proxy.set_mode(ProxyMode::CutResponse {
        after: 30_000,
        times: 1,
    });
    let p = b.client.sync(&b.store, &mut |_| {}).unwrap();
    assert!(p.retries >= 1, "{p:?}");
    // A's 300, and none of B's own 20: the paced pull reaches them pages later, and the
    // server remembers that B holds them as it does (`in_step.rs`).
    assert_eq!(p.docs_received, 300, "{p:?}");
    assert_eq!(p.docs_sent, 20);
    assert_eq!(b.store.pending_count().unwrap(), 0);
    let on_server = server_heads(&server.db);
    assert_eq!(on_server.len(), 320, "nothing duplicated");
    assert_eq!(b.heads(), on_server);
    assert_eq!(b.store.sync_cursor().unwrap(), server_seq(&server.db));
    let p = b.sync();
    assert_eq!((p.docs_sent, p.docs_received), (0, 0));
    a.sync();
    assert_eq!(a.heads(), on_server);
    drop(proxy);
    server.stop();
    assert_no_duplicates(&dir.path().join("server.sqlite3"), &BTreeMap::new());
}

/// What the server holds: every document with its heads and feed position,
/// and the end of the feed.
fn fingerprint(server: &TestServer) -> (Vec<String>, u64) {
    let conn = rusqlite_conn(&server.db);
    let rows = table_rows(
        &conn,
        "SELECT doc_id, heads, seq, block, workstation, reporter_device FROM documents ORDER BY doc_id",
    );
    (rows, server_seq(&server.db))
}

#[test]
fn a_replayed_request_has_no_second_effect() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let a = server.field_device(dir.path(), "a", everything());
    let c = server.field_device(dir.path(), "c", everything());
    record_cases(&c, 3, "丙");
    c.sync();
    let cases = record_cases(&a, 5, "甲");

    let prepared = a.store.prepare_push(1000, 2 << 20).unwrap();
    assert_eq!(prepared.len(), 5);
    let body = SyncRequest {
        request_id: [7; 16],
        cursor: a.store.sync_cursor().unwrap(),
        max_docs: 100,
        docs: prepared.iter().map(|p| p.doc.clone()).collect(),
    }
    .encode();
    let http = reqwest::blocking::Client::new();
    let post = |body: &[u8]| {
        let resp = http
            .post(format!("{}/v1/sync", server.base))
            .bearer_auth(&a.token)
            .body(body.to_vec())
            .send()
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200);
        SyncResponse::decode(&resp.bytes().unwrap()).unwrap()
    };

    let first = post(&body);
    assert_eq!(first.accepted.len(), 5);
    assert_eq!(first.docs.len(), 3, "C's cases, not A's own");
    let after_first = fingerprint(&server);
    let second = post(&body);
    assert_eq!(
        fingerprint(&server),
        after_first,
        "the replay changed the server"
    );
    assert_eq!(second, first, "the replay got another answer");

    // The device applies the answer, and a duplicated answer, harmlessly.
    a.store.apply_sync_response(&prepared, &first).unwrap();
    let heads = a.heads();
    a.store.apply_sync_response(&prepared, &second).unwrap();
    assert_eq!(a.heads(), heads);
    assert_eq!(a.store.pending_count().unwrap(), 0);
    assert_eq!(heads, server_heads(&server.db));
    let p = a.sync();
    assert_eq!((p.docs_sent, p.docs_received), (0, 0));

    // A stale request replayed after newer changes has no effect either.
    // (The newer change is the officer's own: a field device's person may
    // not reject, only the centre may.)
    let officer = a.me(Role::GridOfficer, None);
    a.store
        .add_case_event(
            cases[0],
            &officer,
            CaseEventKind::Comment {
                text: "与另一案件重复".into(),
                photos: vec![],
            },
        )
        .unwrap();
    a.sync();
    let before_stale = fingerprint(&server);
    let stale = post(&body);
    assert_eq!(
        fingerprint(&server),
        before_stale,
        "a stale replay changed the server"
    );
    let now_heads = server_heads(&server.db);
    for acc in &stale.accepted {
        assert_eq!(Some(&acc.heads), now_heads.get(&acc.doc_id));
    }
    let p = a.sync();
    assert_eq!((p.docs_sent, p.docs_received), (0, 0));
    let mut expected = BTreeMap::new();
    expected.insert(cases[0].to_string(), 2);
    server.stop();
    assert_no_duplicates(&dir.path().join("server.sqlite3"), &expected);
}
