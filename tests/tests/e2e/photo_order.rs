//! What the centre needs first, first: a device's sync sends every document, then every
//! thumbnail, then the full photos — observed on the server, in its audit log, which writes a
//! request's line before its answer leaves — and a sync cancelled in the middle of the full
//! photos keeps what the server acknowledged and finishes at the next sync without starting a
//! photo over. The overlap of uploads (a few requests in flight) is what makes these orders
//! worth checking: a worker must not start a full photo while another still sends a thumbnail.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use wangge_core::photo::PhotoOptions;
use wangge_core::{Error, PhotoRef, SyncClient, SyncError, SyncProgress};
use wangge_e2e::*;
use wangge_server::storage::Storage;

use super::photos::{camera_jpeg, record_case_with};

/// Chunk size of these tests: a 1024×768 photo takes several chunks.
const CHUNK: usize = 16 << 10;

/// Records `cases` cases with two freshly imported photos each.
fn shift(device: &TestDevice, cases: u64) -> Vec<PhotoRef> {
    let mut all = Vec::new();
    for case in 0..cases {
        let photos: Vec<PhotoRef> = (0..2)
            .map(|i| {
                let jpeg = camera_jpeg(100 + case * 2 + i, 1024, 768);
                device
                    .store
                    .import_photo(&jpeg, &PhotoOptions::default())
                    .unwrap()
            })
            .collect();
        record_case_with(device, photos.clone());
        all.extend(photos);
    }
    all
}

/// The device's client with small chunks and four uploads in flight.
fn overlapping_client(device: &TestDevice) -> SyncClient {
    let mut config = device.client.config().clone();
    config.photo_chunk_bytes = CHUNK;
    config.upload_concurrency = 4;
    SyncClient::new(config).unwrap()
}

#[test]
fn a_sync_sends_every_document_then_every_thumbnail_then_the_full_photos() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let device = server.field_device(dir.path(), "a", everything());
    let photos = shift(&device, 4);
    let thumbs: BTreeSet<String> = photos
        .iter()
        .map(|p| p.thumb_sha256.clone().unwrap())
        .collect();
    let fulls: BTreeSet<String> = photos.iter().map(|p| p.sha256.clone()).collect();
    assert!(photos.iter().all(|p| p.bytes > 2 * CHUNK as u64));

    let progress = overlapping_client(&device)
        .sync(&device.store, &mut |_| {})
        .unwrap();
    assert_eq!(progress.docs_sent, 4);
    assert_eq!(progress.photos_sent, 16, "8 thumbnails and 8 photos");
    assert!(device.store.photos_not_uploaded().unwrap().is_empty());
    for sha in thumbs.iter().chain(&fulls) {
        assert!(server.storage.photo_upload(sha).unwrap().complete, "{sha}");
    }

    // The server's view, in the order its requests were answered.
    let log = server.storage.audit_log(0, 10_000).unwrap();
    let positions = |pick: &dyn Fn(&str, &str) -> bool| -> Vec<usize> {
        log.iter()
            .enumerate()
            .filter(|(_, e)| pick(&e.action, e.target.as_deref().unwrap_or("")))
            .map(|(i, _)| i)
            .collect()
    };
    let syncs = positions(&|action, _| action == "POST /v1/sync");
    let thumb_puts = positions(&|action, target| {
        action.starts_with("PUT /v1/photos") && thumbs.contains(target)
    });
    // Any request about a full photo, its upload state included.
    let photo_requests =
        positions(&|action, target| action.contains("/v1/photos") && fulls.contains(target));
    assert!(!syncs.is_empty());
    assert_eq!(thumb_puts.len(), 8, "one request per thumbnail");
    let first_photo = *photo_requests.first().unwrap();
    assert!(
        syncs.iter().all(|&i| i < first_photo),
        "a document round came after a full photo's request: {log:#?}"
    );
    assert!(
        thumb_puts.iter().all(|&i| i < first_photo),
        "a thumbnail came after a full photo's request: {log:#?}"
    );
    let photo_puts =
        positions(&|action, target| action.starts_with("PUT /v1/photos") && fulls.contains(target));
    assert!(photo_puts.len() >= 8 * 3, "every photo took several chunks");
}

#[test]
fn a_sync_cancelled_among_the_full_photos_keeps_what_arrived_and_the_next_one_finishes() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let device = server.field_device(dir.path(), "a", everything());
    let photos = shift(&device, 3);
    let thumb_total: u64 = device
        .store
        .photos_not_uploaded()
        .unwrap()
        .iter()
        .map(|p| p.thumb_bytes)
        .sum();
    let photo_total: u64 = photos.iter().map(|p| p.bytes).sum();

    // Cancelled from the progress report once the first full photo chunk is acknowledged.
    let cancel = wangge_core::Cancel::new();
    let client = overlapping_client(&device).with_cancel(cancel.clone());
    let mut last = SyncProgress::default();
    let err = client
        .sync(&device.store, &mut |p| {
            last = *p;
            if p.photo_bytes_sent > thumb_total {
                cancel.cancel();
            }
        })
        .unwrap_err();
    assert!(matches!(err, Error::Sync(SyncError::Cancelled)), "{err}");
    assert_eq!(last.docs_sent, 3, "the documents went first");
    let pending = device.store.photos_not_uploaded().unwrap();
    assert!(
        pending.iter().all(|p| p.thumb_uploaded),
        "every thumbnail went before the full photos"
    );
    assert!(
        pending.iter().any(|p| !p.photo_uploaded),
        "the cancel stopped the full photos"
    );
    // What the server holds of each photo is what the device counted as acknowledged.
    let held: u64 = photos
        .iter()
        .map(|p| server.storage.photo_upload(&p.sha256).unwrap().received)
        .sum();
    assert_eq!(last.photo_bytes_sent, thumb_total + held);
    // At most one chunk in flight per worker went on after the flag was raised.
    assert!(
        held <= 3 * CHUNK as u64,
        "{held} bytes went on after the cancel"
    );

    // The next sync sends the rest and nothing twice.
    let second = overlapping_client(&device)
        .sync(&device.store, &mut |_| {})
        .unwrap();
    assert_eq!(second.photo_bytes_sent, photo_total - held);
    assert!(device.store.photos_not_uploaded().unwrap().is_empty());
    for p in &photos {
        let stored = server.storage.photo(&p.sha256).unwrap().unwrap();
        assert_eq!(
            stored,
            device.store.photo_bytes(&p.sha256).unwrap().unwrap()
        );
    }
}
