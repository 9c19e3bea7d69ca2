//! The catalog in force travels from the server: every sync answer names its version, and
//! `GET /v1/catalog` hands out the files (with an ETag, so an unchanged catalog costs a
//! 304). A server started with a street's own catalog (`--catalog DIR`) serves it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use wangge_core::{Catalog, CatalogFiles};
use wangge_e2e::*;
use wangge_server::storage::DeviceRole;

/// The demo street with one more checklist item, `A01-901`.
fn revised_catalog() -> Arc<Catalog> {
    let demo = catalog();
    let mut files: CatalogFiles = demo.files().clone();
    let mut checklist: serde_json::Value = serde_json::from_str(&files.checklist).unwrap();
    checklist["items"]
        .as_array_mut()
        .unwrap()
        .push(serde_json::json!({
            "id": "A01-901", "domain": "A", "category": "A01",
            "title_zh": "共享单车堆放", "title_en": "Shared bicycles piled up",
            "responsible_unit": "市容所", "on_spot": true,
            "response_limit": "15m", "resolution_limit": "2h",
            "escalate_to_district": false, "urgent": false
        }));
    files.checklist = checklist.to_string();
    Arc::new(Catalog::load(files).unwrap())
}

#[test]
fn sync_answers_name_the_catalog_and_devices_can_fetch_it() {
    let dir = tempfile::tempdir().unwrap();
    let revised = revised_catalog();
    assert_ne!(revised.version(), catalog().version());
    let server = TestServer::start_with(
        dir.path().join("server.sqlite3"),
        free_port(),
        revised.clone(),
    );
    let (_, token) = server.enroll("officer", DeviceRole::Field, scope(&["XT-B1"], &[], &[]));
    let http = reqwest::blocking::Client::new();

    // A sync answer carries the version in force.
    let body = wangge_core::sync::protocol::SyncRequest {
        request_id: [7; 16],
        cursor: 0,
        max_docs: 10,
        docs: vec![],
    }
    .encode();
    let resp = http
        .post(format!("{}/v1/sync", server.base))
        .bearer_auth(&token)
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert_eq!(resp.headers()["x-wangge-catalog"], revised.version());

    // The files, which load into the same catalog.
    let resp = http
        .get(format!("{}/v1/catalog", server.base))
        .bearer_auth(&token)
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let etag = resp.headers()["etag"].to_str().unwrap().to_owned();
    let answer: serde_json::Value = resp.json().unwrap();
    assert_eq!(answer["version"], revised.version());
    let files: CatalogFiles = serde_json::from_value(answer["files"].clone()).unwrap();
    let loaded = Catalog::load(files).unwrap();
    assert_eq!(loaded.version(), revised.version());
    assert!(loaded.checklist.item("A01-901").is_some());

    // Unchanged: 304 without a body. Without a token: 401.
    let resp = http
        .get(format!("{}/v1/catalog", server.base))
        .bearer_auth(&token)
        .header("if-none-match", &etag)
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 304);
    let resp = http
        .get(format!("{}/v1/catalog", server.base))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
}

#[test]
fn a_device_switches_to_the_servers_catalog_and_keeps_it() {
    use wangge_core::{NewCase, Role, Store};
    use wangge_e2e::desk::Desk;

    let dir = tempfile::tempdir().unwrap();
    let revised = revised_catalog();
    let server = TestServer::start_with(
        dir.path().join("server.sqlite3"),
        free_port(),
        revised.clone(),
    );
    let desk = Desk::new(&server);
    let officer = server.field_device(dir.path(), "officer", scope(&["XT-B1"], &[], &[]));
    assert_eq!(officer.store.catalog().version(), catalog().version());
    // The centre takes in a matter of the new item, which the phone's catalog lacks.
    let fix = fix_in("XT-W01-U1", MONDAY_9AM);
    let (status, answer) = desk.post(
        "/v1/cases",
        serde_json::json!({
            "channel": "hotline_12345",
            "checklist_item": "A01-901",
            "description": "人行道上共享单车堆放",
            "position": {"lat": fix.lat, "lon": fix.lon, "accuracy_m": 1.0},
        }),
    );
    assert_eq!(status, 201, "{answer}");
    let id: wangge_core::CaseId = answer["case"]["header"]["id"]
        .as_str()
        .unwrap()
        .parse()
        .unwrap();

    // One round without following the catalog: the case shows, without deadlines.
    officer.sync_round();
    let before = officer.store.case(id).unwrap();
    assert_eq!(before.state.checklist_item, "A01-901");
    assert_eq!(before.state.resolution_due, None);
    assert!(
        officer
            .store
            .record_case(
                &officer.me(Role::GridOfficer, None),
                NewCase::from_handheld("A01-901", "共享单车堆放", fix),
            )
            .is_err()
    );

    // A sync follows the server's catalog: the case gets its deadlines (2 hours to handle),
    // and the item can be reported from the phone.
    let progress = officer.sync();
    assert!(progress.catalog_updated);
    assert_eq!(officer.store.catalog().version(), revised.version());
    let after = officer.store.case(id).unwrap();
    assert_eq!(
        after.state.resolution_due,
        Some(after.state.reported_at + 2 * 3_600_000)
    );
    let listed = officer
        .store
        .cases(&wangge_core::CaseQuery::default())
        .unwrap();
    assert!(
        listed
            .iter()
            .any(|c| c.id == id.to_string() && c.resolution_due.is_some())
    );
    officer
        .store
        .record_case(
            &officer.me(Role::GridOfficer, None),
            NewCase::from_handheld("A01-901", "共享单车堆放", fix),
        )
        .unwrap();
    assert!(
        !officer.sync().catalog_updated,
        "nothing to follow the second time"
    );

    // Reopened with the app's built-in catalog, the store keeps the server's.
    let path = officer.store.path().to_path_buf();
    let device = officer.id;
    drop(officer);
    let reopened = Store::open(
        &path,
        device,
        catalog(),
        std::sync::Arc::new(wangge_core::SystemClock),
    )
    .unwrap();
    assert_eq!(reopened.catalog().version(), revised.version());
    assert!(reopened.catalog().checklist.item("A01-901").is_some());
}
