//! Device tokens over real HTTP with the server's manual clock: a token in the last third of
//! its life is rotated during a sync and the phone keeps the new one without the app seeing
//! it; the old one works through the grace period (so a lost answer locks nobody out) and
//! stops after it, or as soon as the new one is used; an expired token is refused with
//! `token_expired`; a revoked phone wipes the street's data it received and keeps the work it
//! had not sent (`docs/sync-protocol.md`, "Tokens").
#![allow(clippy::unwrap_used, clippy::expect_used)]

use image::{Rgb, RgbImage};
use wangge_core::doc::DocKind;
use wangge_core::photo::PhotoOptions;
use wangge_core::sync::protocol::SyncRequest;
use wangge_core::{Error, NewCase, Role, Store, SyncClient, SyncConfig, SyncError};
use wangge_e2e::*;
use wangge_server::storage::Storage;
use wangge_server::tokens::{TOKEN_HEADER, TokenPolicy};

use crate::pairing::{config, make_code, officer, paired_client, phone};

const DAY_MS: i64 = 24 * 3600 * 1000;

/// A phone paired (at the server's clock) to a new grid officer of block XT-B1.
fn paired_phone(server: &TestServer, dir: &std::path::Path, staff_id: &str) -> Store {
    let store = phone(dir, staff_id);
    store
        .pair(
            &config(server),
            &make_code(server, &officer(staff_id, true), 15),
            None,
        )
        .unwrap();
    store
}

/// The token a paired store keeps.
fn kept_token(store: &Store) -> String {
    store.paired_sync_config().unwrap().unwrap().token
}

/// One empty sync round with `token` over raw HTTP: the status, the error code if refused,
/// and the new token the answer carries, if any.
fn raw_sync(server: &TestServer, token: &str) -> (u16, Option<String>, Option<String>) {
    let body = SyncRequest {
        request_id: [7; 16],
        cursor: 0,
        max_docs: 10,
        docs: vec![],
    }
    .encode();
    let r = reqwest::blocking::Client::new()
        .post(format!("{}/v1/sync", server.base))
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .unwrap();
    let status = r.status().as_u16();
    let new = r
        .headers()
        .get(TOKEN_HEADER)
        .map(|v| v.to_str().unwrap().to_owned());
    let code = (status != 200).then(|| {
        let v: serde_json::Value = r.json().unwrap();
        assert!(!v["message"].as_str().unwrap_or_default().is_empty(), "{v}");
        v["error"].as_str().unwrap().to_owned()
    });
    (status, code, new)
}

#[test]
fn a_token_near_its_expiry_is_rotated_during_sync_and_the_old_one_ends_after_the_grace() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let store = paired_phone(&server, dir.path(), "XT-GO-201");
    let first = kept_token(&store);

    // Early in its life a token is left alone.
    server.clock.advance(30 * DAY_MS);
    let p = paired_client(&store).sync(&store, &mut |_| {}).unwrap();
    assert!(!p.token_rotated);
    assert_eq!(kept_token(&store), first);

    // In its last third, a sync brings a new one, which the store keeps: the app sees nothing.
    server.clock.advance(31 * DAY_MS);
    let client = paired_client(&store);
    let p = client.sync(&store, &mut |_| {}).unwrap();
    assert!(p.token_rotated);
    let second = kept_token(&store);
    assert_ne!(second, first);
    assert_eq!(
        client.token(),
        second,
        "the client goes on with the new token"
    );
    assert!(
        !format!("{client:?}").contains(&second),
        "no token in Debug"
    );

    // The old token still works during the grace period (the answer might have been lost)…
    server.clock.advance(6 * DAY_MS);
    let old = SyncClient::new(SyncConfig::new(&server.base, &first)).unwrap();
    old.enrolment().unwrap();
    // …and not after it.
    server.clock.advance(2 * DAY_MS);
    let err = old.enrolment().unwrap_err();
    assert!(
        matches!(err, Error::Sync(SyncError::TokenExpired(_))),
        "{err}"
    );
    assert_eq!(
        raw_sync(&server, &first).1.as_deref(),
        Some("token_expired")
    );
    // The new one works, with a whole lifetime ahead: no rotation now.
    let p = paired_client(&store).sync(&store, &mut |_| {}).unwrap();
    assert!(!p.token_rotated);
    assert_eq!(kept_token(&store), second);

    // Its own last third: rotated again. Using the new token ends the old one at once.
    server.clock.advance(55 * DAY_MS);
    assert!(
        paired_client(&store)
            .sync(&store, &mut |_| {})
            .unwrap()
            .token_rotated
    );
    let third = kept_token(&store);
    assert_ne!(third, second);
    paired_client(&store).sync(&store, &mut |_| {}).unwrap();
    assert_eq!(
        raw_sync(&server, &second).1.as_deref(),
        Some("unauthorized")
    );
    assert_eq!(raw_sync(&server, &third).0, 200);
}

#[test]
fn an_answer_with_a_new_token_that_is_lost_locks_nobody_out() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let store = paired_phone(&server, dir.path(), "XT-GO-202");
    let first = kept_token(&store);
    server.clock.advance(70 * DAY_MS);

    // A sync whose answer never reaches the phone: the server rotated, the phone did not.
    let (status, _, lost) = raw_sync(&server, &first);
    assert_eq!(status, 200);
    let lost = lost.expect("a token in its last third is rotated");
    assert_eq!(kept_token(&store), first);

    // The phone syncs again with the token it has, and gets another new one; the lost one
    // is dropped.
    let p = paired_client(&store).sync(&store, &mut |_| {}).unwrap();
    assert!(p.token_rotated);
    let kept = kept_token(&store);
    assert_ne!(kept, first);
    assert_ne!(kept, lost);
    assert_eq!(raw_sync(&server, &lost).1.as_deref(), Some("unauthorized"));
    paired_client(&store).sync(&store, &mut |_| {}).unwrap();
    // Nothing in the audit log or the logs names a token (the audit line says it rotated).
    let audit = server.storage.audit_log(0, 1000).unwrap();
    assert!(audit.iter().any(|e| {
        e.detail
            .as_deref()
            .unwrap_or_default()
            .contains("token rotated")
    }));
    let text = format!("{audit:?}");
    for token in [&first, &lost, &kept] {
        assert!(!text.contains(token.as_str()));
    }
}

#[test]
fn an_expired_token_is_refused_with_token_expired_and_pairing_again_works() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let store = paired_phone(&server, dir.path(), "XT-GO-203");
    let phone_officer = wangge_core::Actor {
        id: "XT-GO-203".into(),
        role: Role::GridOfficer,
        unit: None,
        device: store.device(),
    };
    store
        .record_case(
            &phone_officer,
            NewCase::from_handheld("A02-001", "过期前记录", fix_in("XT-W01-U1", MONDAY_9AM)),
        )
        .unwrap();

    // The phone stayed in a drawer for longer than a token's life.
    server.clock.advance(TokenPolicy::default().lifetime_ms + 1);
    let err = paired_client(&store).sync(&store, &mut |_| {}).unwrap_err();
    assert!(
        matches!(err, Error::Sync(SyncError::TokenExpired(_))),
        "{err}"
    );
    assert!(err.to_string().contains("pair it again"), "{err}");
    let (status, code, new) = raw_sync(&server, &kept_token(&store));
    assert_eq!(
        (status, code.as_deref(), new),
        (401, Some("token_expired"), None)
    );
    assert_eq!(store.pending_count().unwrap(), 1, "nothing lost");
    assert!(
        store.revocation().unwrap().is_none(),
        "expired is not revoked"
    );

    // Paired again: the case goes.
    store
        .pair(
            &config(&server),
            &make_code(&server, &officer("XT-GO-203", true), 15),
            None,
        )
        .unwrap();
    let p = paired_client(&store).sync(&store, &mut |_| {}).unwrap();
    assert_eq!((p.docs_sent, store.pending_count().unwrap()), (1, 0));
}

/// A small JPEG whose pixels depend on `seed`.
fn jpeg(seed: u8) -> Vec<u8> {
    let img = RgbImage::from_fn(320, 240, |x, y| {
        Rgb([
            (x as u8).wrapping_add(seed),
            (y as u8) ^ seed,
            seed.wrapping_mul(7),
        ])
    });
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&img)
        .unwrap();
    out
}

/// Every file of a store (the database, its WAL and shared memory), as bytes.
fn store_files(store: &Store) -> Vec<u8> {
    let mut all = Vec::new();
    for suffix in ["", "-wal", "-shm"] {
        let path = format!("{}{suffix}", store.path().display());
        if let Ok(bytes) = std::fs::read(path) {
            all.extend(bytes);
        }
    }
    all
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[test]
fn a_revoked_phone_wipes_what_it_received_and_keeps_what_it_had_not_sent() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    // Another officer of the block, whose case (with a photo) the phone receives.
    let other = server.field_device(dir.path(), "other", scope(&["XT-B1"], &[], &[]));
    let theirs_text = "邻居的住址和电话：斜土路秘密号";
    let their_photo = other
        .store
        .import_photo(&jpeg(1), &PhotoOptions::default())
        .unwrap();
    let mut new = NewCase::from_handheld("A02-001", theirs_text, fix_in("XT-W01-U1", MONDAY_9AM));
    new.photos = vec![their_photo.clone()];
    let theirs = other
        .store
        .record_case(&other.me(Role::GridOfficer, None), new)
        .unwrap();
    other.sync();

    let store = paired_phone(&server, dir.path(), "XT-GO-204");
    let me = wangge_core::Actor {
        id: "XT-GO-204".into(),
        role: Role::GridOfficer,
        unit: None,
        device: store.device(),
    };
    // One case of its own reaches the server…
    let sent = store
        .record_case(
            &me,
            NewCase::from_handheld("A02-001", "已上传的案件", fix_in("XT-W01-U1", MONDAY_9AM)),
        )
        .unwrap();
    paired_client(&store).sync(&store, &mut |_| {}).unwrap();
    assert!(
        store.case(theirs).is_ok(),
        "received the other officer's case"
    );
    assert!(store.thumbnail(&their_photo.sha256).unwrap().is_some());
    // …and one, with a photo, is recorded while the phone is offline.
    let my_photo = store
        .import_photo(&jpeg(2), &PhotoOptions::default())
        .unwrap();
    let mut new =
        NewCase::from_handheld("A02-001", "离线记录的案件", fix_in("XT-W01-U1", MONDAY_9AM));
    new.photos = vec![my_photo.clone()];
    let pending = store.record_case(&me, new).unwrap();
    assert_eq!(store.pending_count().unwrap(), 1);

    assert!(
        contains(&store_files(&store), theirs_text.as_bytes()),
        "the received text is in the store's files before the wipe"
    );

    // The back office revokes the phone: its next contact says so.
    server
        .storage
        .revoke(&store.device().to_string(), MONDAY_9AM)
        .unwrap();
    let err = paired_client(&store).sync(&store, &mut |_| {}).unwrap_err();
    assert!(matches!(err, Error::Sync(SyncError::Revoked(_))), "{err}");
    assert!(store.paired().unwrap().unwrap().revoked);
    let state = store.revocation().unwrap().expect("the store records it");
    assert_eq!(
        (
            state.wiped_documents,
            state.kept_documents,
            state.kept_photos
        ),
        (2, 1, 1),
        "{state:?}"
    );
    assert!(!state.fully_wiped());

    // What it had not sent survives, whole, with its photo…
    assert_eq!(
        store.case(pending).unwrap().header.description,
        "离线记录的案件"
    );
    assert_eq!(store.pending_count().unwrap(), 1);
    assert!(store.photo_bytes(&my_photo.sha256).unwrap().is_some());
    assert_eq!(store.photos_not_uploaded().unwrap().len(), 1);
    // …and the street's data is gone: the other officer's case and photo, and its own
    // case that the server holds.
    assert_eq!(store.document_count(DocKind::Case).unwrap(), 1);
    for gone in [theirs, sent] {
        assert!(
            matches!(store.case(gone), Err(Error::CaseNotFound(_))),
            "{gone} wiped"
        );
    }
    assert!(store.thumbnail(&their_photo.sha256).unwrap().is_none());
    assert!(store.search_cases("秘密").unwrap().is_empty());
    assert!(
        !contains(&store_files(&store), theirs_text.as_bytes()),
        "no trace of the wiped text in the store's files"
    );
    // Asked again (the next contact), it wipes nothing more and keeps the pending case.
    let again = store.revoked_by_server().unwrap();
    assert_eq!((again.kept_documents, again.wiped_documents), (1, 2));
    assert_eq!(again.revoked_at_ms, state.revoked_at_ms);

    // Paired again, the kept case finally goes to the server, and the street's data
    // comes back.
    store
        .pair(
            &config(&server),
            &make_code(&server, &officer("XT-GO-204", true), 15),
            None,
        )
        .unwrap();
    assert!(store.revocation().unwrap().is_none());
    paired_client(&store).sync(&store, &mut |_| {}).unwrap();
    assert_eq!(store.pending_count().unwrap(), 0);
    assert!(server.storage.case(&pending.to_string()).unwrap().is_some());
    assert!(store.case(theirs).is_ok());
}

#[test]
fn a_revoked_phone_with_nothing_pending_is_wiped_clean() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let other = server.field_device(dir.path(), "other", scope(&["XT-B1"], &[], &[]));
    other
        .store
        .record_case(
            &other.me(Role::GridOfficer, None),
            NewCase::from_handheld("A02-001", "别人的案件", fix_in("XT-W01-U1", MONDAY_9AM)),
        )
        .unwrap();
    other.sync();
    let store = paired_phone(&server, dir.path(), "XT-GO-205");
    paired_client(&store).sync(&store, &mut |_| {}).unwrap();
    assert_eq!(store.document_count(DocKind::Case).unwrap(), 1);

    server
        .storage
        .revoke(&store.device().to_string(), MONDAY_9AM)
        .unwrap();
    let err = paired_client(&store).sync(&store, &mut |_| {}).unwrap_err();
    assert!(matches!(err, Error::Sync(SyncError::Revoked(_))), "{err}");
    let state = store.revocation().unwrap().unwrap();
    assert!(state.fully_wiped(), "{state:?}");
    assert_eq!(state.wiped_documents, 1);
    assert_eq!(store.document_count(DocKind::Case).unwrap(), 0);
    assert_eq!(store.cases(&Default::default()).unwrap().len(), 0);
}
