//! The basic loop over real HTTP: devices record offline, sync, the centre
//! registers (the server assigns the number) and dispatches, and the team's
//! device receives the case with its whole history.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use wangge_core::{CaseStatus, NewCase, Role};
use wangge_e2e::*;
use wangge_server::storage::DeviceRole;

#[test]
fn offline_cases_reach_the_server_and_dispatched_cases_reach_the_team() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let a = server.field_device(dir.path(), "a", scope(&["XT-B1"], &[], &[]));
    let b = server.field_device(dir.path(), "b", scope(&["XT-B2"], &[], &["城管中队"]));
    let (_, centre_token) = server.enroll("centre", DeviceRole::Centre, everything());

    let officer = a.me(Role::GridOfficer, None);
    let in_b1 = a
        .store
        .record_case(
            &officer,
            NewCase::from_handheld("A02-001", "流动摊贩", fix_in("XT-W01-U1", MONDAY_9AM)),
        )
        .unwrap();
    assert!(!a.store.case_sync_status(in_b1).unwrap().on_server);
    let p = a.sync();
    assert_eq!(p.docs_sent, 1);
    assert_eq!(p.rounds, 1);
    let status = a.store.case_sync_status(in_b1).unwrap();
    assert!(status.on_server && !status.pending);
    // A second sync with nothing to do sends and receives nothing.
    let p = a.sync();
    assert_eq!((p.docs_sent, p.docs_received), (0, 0));

    // The centre registers and dispatches over the back office.
    let http = reqwest::blocking::Client::new();
    let auth = format!("Bearer {centre_token}");
    let record: serde_json::Value = http
        .post(format!("{}/v1/cases/{in_b1}/register", server.base))
        .header("Authorization", &auth)
        .json(&serde_json::json!({}))
        .send()
        .unwrap()
        .error_for_status()
        .unwrap()
        .json()
        .unwrap();
    assert_eq!(record["state"]["case_number"], "XT-2026-000001");
    http.post(format!("{}/v1/cases/{in_b1}/events", server.base))
        .header("Authorization", &auth)
        .json(&serde_json::json!({"type": "dispatched", "units": ["城管中队"]}))
        .send()
        .unwrap()
        .error_for_status()
        .unwrap();

    // B (block B2, team 城管中队) now receives the B1 case with its history.
    assert!(b.doc_ids().is_empty());
    let p = b.sync();
    assert_eq!(p.docs_received, 1);
    let on_b = b.store.case(in_b1).unwrap();
    assert_eq!(on_b.events.len(), 3);
    assert_eq!(on_b.state.status, CaseStatus::Dispatched);
    assert_eq!(on_b.state.case_number.as_deref(), Some("XT-2026-000001"));
    // A gets the registration too (it reported the case).
    a.sync();
    assert_eq!(a.store.case(in_b1).unwrap(), on_b);

    // The team keeps receiving the case after handing it back: feedback,
    // verification and closure all reach B although 城管中队 no longer holds it.
    for event in [
        serde_json::json!({"type": "feedback", "note": "摊贩已劝离"}),
        serde_json::json!({"type": "verified", "passed": true}),
        serde_json::json!({"type": "closed"}),
    ] {
        http.post(format!("{}/v1/cases/{in_b1}/events", server.base))
            .header("Authorization", &auth)
            .json(&event)
            .send()
            .unwrap()
            .error_for_status()
            .unwrap();
    }
    b.sync();
    let closed = b.store.case(in_b1).unwrap();
    assert_eq!(closed.state.status, CaseStatus::Closed);
    assert!(closed.state.holders.is_empty());

    // A field device may not use the back office.
    let resp = http
        .get(format!("{}/v1/cases", server.base))
        .header("Authorization", format!("Bearer {}", a.token))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
}

#[test]
fn one_sync_call_pushes_everything_even_when_batches_are_cut_by_size() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let mut a = server.field_device(dir.path(), "a", scope(&["XT-B1"], &[], &[]));
    let officer = a.me(Role::GridOfficer, None);
    for i in 0..5 {
        a.store
            .record_case(
                &officer,
                NewCase::from_handheld(
                    "A02-001",
                    &format!("流动摊贩 {i}"),
                    fix_in("XT-W01-U1", MONDAY_9AM),
                ),
            )
            .unwrap();
    }
    // A byte budget smaller than one document: every batch holds one.
    let mut config = a.client.config().clone();
    config.push_batch_bytes = 1;
    a.client = wangge_core::SyncClient::new(config).unwrap();
    let p = a.sync();
    assert_eq!(p.docs_sent, 5, "{p:?}");
    assert_eq!(p.rounds, 5);
    assert_eq!(a.store.pending_count().unwrap(), 0);
}
