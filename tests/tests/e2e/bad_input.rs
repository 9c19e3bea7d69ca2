//! Bad input to the server gets a 4xx with a clear error (or, for a
//! document that does not load or is not what it claims, a per-document
//! `corrupt_document` refusal in a 200 answer, as every authority refusal),
//! leaves stored data unchanged, and the server keeps serving.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use wangge_core::doc::DocKind;
use wangge_core::sync::protocol::{PushDoc, SyncRequest, SyncResponse};
use wangge_core::{NewCase, Role};
use wangge_e2e::*;
use wangge_server::storage::Storage;

/// What the server holds, to check that a refused request changed nothing.
fn fingerprint(server: &TestServer) -> (Vec<(String, Vec<u8>, i64)>, String) {
    let conn = rusqlite_conn(&server.db);
    let mut stmt = conn
        .prepare("SELECT doc_id, heads, seq FROM documents ORDER BY doc_id")
        .unwrap();
    let docs = stmt
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let stats = serde_json::to_string(&server.storage.stats(MONDAY_9AM).unwrap()).unwrap();
    (docs, stats)
}

fn post(server: &TestServer, token: Option<&str>, body: Vec<u8>) -> (u16, serde_json::Value) {
    let mut req = reqwest::blocking::Client::new()
        .post(format!("{}/v1/sync", server.base))
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

/// Posts a well-formed sync request that the server answers with 200, and decodes the answer.
fn sync_answer(server: &TestServer, token: &str, body: Vec<u8>) -> SyncResponse {
    let resp = reqwest::blocking::Client::new()
        .post(format!("{}/v1/sync", server.base))
        .bearer_auth(token)
        .body(body)
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    let bytes = resp.bytes().unwrap();
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    SyncResponse::decode(&bytes).unwrap()
}

/// The one refusal of an answer: it names `doc_id` with `corrupt_document`, and nothing else
/// of the request was refused.
#[track_caller]
fn assert_corrupt(answer: &SyncResponse, doc_id: &str) {
    assert_eq!(answer.refused.len(), 1, "{answer:?}");
    let refused = &answer.refused[0];
    assert_eq!(refused.doc_id, doc_id, "{refused:?}");
    assert_eq!(refused.code, "corrupt_document", "{refused:?}");
    assert!(!refused.message.is_empty());
}

#[test]
fn bad_requests_are_refused_and_change_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let a = server.field_device(dir.path(), "a", everything());
    let officer = a.me(Role::GridOfficer, None);
    let case = a
        .store
        .record_case(
            &officer,
            NewCase::from_handheld("A02-001", "流动摊贩", fix_in("XT-W01-U1", MONDAY_9AM)),
        )
        .unwrap();
    a.sync();
    let before = fingerprint(&server);
    let good_doc = a.store.document_bytes(&case.to_string()).unwrap().unwrap();
    let request = |docs: Vec<PushDoc>| {
        SyncRequest {
            request_id: [1; 16],
            cursor: 0,
            max_docs: 100,
            docs,
        }
        .encode()
    };
    let push = |doc_id: &str, kind: DocKind, changes: Vec<u8>| PushDoc {
        doc_id: doc_id.into(),
        kind,
        heads: vec![],
        changes,
    };

    // Not a sync message, truncated, trailing garbage.
    let valid = request(vec![]);
    for (body, what) in [
        (b"hello".to_vec(), "not a Wangge"),
        (valid[..valid.len() - 1].to_vec(), "truncated"),
        ([valid.clone(), vec![0]].concat(), "unexpected bytes"),
        (vec![], "truncated"),
    ] {
        let (status, body) = post(&server, Some(&a.token), body);
        assert_eq!(status, 400, "{body}");
        assert_eq!(body["error"], "malformed_request");
        assert!(body["message"].as_str().unwrap().contains(what), "{body}");
    }
    // Unknown document kind (byte 9).
    let mut unknown_kind = request(vec![push(
        &case.to_string(),
        DocKind::Case,
        good_doc.clone(),
    )]);
    // magic, version, type, request id, cursor, max_docs, count, then the id (length + 36 bytes).
    let pos = 4 + 1 + 1 + 16 + 1 + 1 + 1 + 1 + 36;
    assert_eq!(unknown_kind[pos], 1, "the case kind byte");
    unknown_kind[pos] = 9;
    let (status, body) = post(&server, Some(&a.token), unknown_kind);
    assert_eq!(status, 400);
    assert!(body["message"].as_str().unwrap().contains("kind"), "{body}");
    // Corrupt Automerge bytes, in a batch with a good document: the corrupt one is refused
    // and nothing of it is stored; the good one (already on the server) is answered in step.
    let other = wangge_core::CaseId::generate().to_string();
    let answer = sync_answer(
        &server,
        &a.token,
        request(vec![
            push(&case.to_string(), DocKind::Case, good_doc.clone()),
            push(
                &other,
                DocKind::Case,
                vec![0x85, 0x6f, 0x4a, 0x83, 0xde, 0xad, 0xbe, 0xef],
            ),
        ]),
    );
    assert_corrupt(&answer, &other);
    assert!(answer.refused[0].message.contains(&other), "{answer:?}");
    assert_eq!(answer.accepted.len(), 1);
    assert_eq!(answer.accepted[0].doc_id, case.to_string());
    assert!(server.storage.document(&other).unwrap().is_none());
    // A case document pushed under another id, and as the wrong kind.
    let answer = sync_answer(
        &server,
        &a.token,
        request(vec![push(&other, DocKind::Case, good_doc.clone())]),
    );
    assert_corrupt(&answer, &other);
    assert!(answer.accepted.is_empty());
    let answer = sync_answer(
        &server,
        &a.token,
        request(vec![push(
            &case.to_string(),
            DocKind::ZeroReport,
            good_doc.clone(),
        )]),
    );
    assert_corrupt(&answer, &case.to_string());
    assert!(answer.accepted.is_empty());
    // Tokens: none, wrong, revoked.
    let (status, body) = post(&server, None, request(vec![]));
    assert_eq!(status, 401);
    assert!(
        body["message"].as_str().unwrap().contains("Authorization"),
        "{body}"
    );
    let (status, _) = post(&server, Some("wgt_not-a-token"), request(vec![]));
    assert_eq!(status, 401);
    let b = server.field_device(dir.path(), "b", everything());
    server
        .storage
        .revoke(&b.id.to_string(), MONDAY_9AM)
        .unwrap();
    let (status, body) = post(&server, Some(&b.token), request(vec![]));
    assert_eq!(status, 403);
    assert_eq!(body["error"], "revoked");
    assert!(matches!(
        b.client.sync(&b.store, &mut |_| {}).unwrap_err(),
        wangge_core::Error::Sync(wangge_core::SyncError::Revoked(_))
    ));
    // Oversize body.
    let (status, _) = post(
        &server,
        Some(&a.token),
        vec![0u8; wangge_server::MAX_SYNC_BODY + 1],
    );
    assert_eq!(status, 413);

    assert_eq!(
        fingerprint(&server),
        before,
        "a refused request changed stored data"
    );
    // The server still serves.
    a.store
        .record_case(
            &officer,
            NewCase::from_handheld("A01-001", "暴露垃圾", fix_in("XT-W01-U1", MONDAY_9AM)),
        )
        .unwrap();
    assert_eq!(a.sync().docs_sent, 1);
}
