//! The catalog in force travels from the server: every sync answer names its version, and
//! `GET /v1/catalog` hands out the files (with an ETag, so an unchanged catalog costs a
//! 304). A server started with a street's own catalog (`--catalog DIR`) serves it.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::Arc;

use wangge_core::{Catalog, CatalogFiles};
use wangge_e2e::*;
use wangge_server::storage::DeviceRole;

/// The demo street with one more checklist item, `A01-901`.
pub fn revised_catalog() -> Arc<Catalog> {
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
