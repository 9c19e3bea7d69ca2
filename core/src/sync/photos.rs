//! Photo transfer: resumable, content-addressed uploads, eager thumbnails, photos on demand.
//!
//! Photos never travel in the sync protocol's documents (a case holds only their hashes): each
//! photo and each thumbnail is uploaded on its own, by its SHA-256, in chunks of
//! [`SyncConfig::photo_chunk_bytes`](super::SyncConfig). Before sending, the device asks the
//! server how many bytes it already holds (`GET /v1/photos/{sha}/upload`) and continues from
//! there, so a connection cut in the middle of a 5 MB photo costs at most one chunk again, not
//! the whole photo. The server checks the hash when the last byte arrives; re-uploading a photo
//! it holds is a no-op. See `docs/sync-protocol.md`, section "Photos".
//!
//! Every thumbnail is uploaded before the first full photo, declaring which photo it belongs
//! to, so other devices see a case's thumbnails as soon as possible over a weak signal; a few
//! uploads are in flight at once (the order and the overlap are in [`super::upload`]). Devices download the
//! thumbnails of every photo their stored documents reference at each sync, and full photos
//! only when asked ([`SyncClient::fetch_photo`]).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::store::Store;
use crate::sync::{SyncClient, SyncError, SyncProgress};

/// Most thumbnails downloaded in one sync (the rest wait for the next one).
const MAX_THUMBNAILS_PER_SYNC: usize = 2000;

/// Where the server stands with one upload (`GET /v1/photos/{sha}/upload`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct UploadState {
    /// The photo's hash.
    pub sha256: String,
    /// Bytes the server holds, from offset 0.
    pub received: u64,
    /// The size declared by the upload in progress, if any.
    #[serde(default)]
    pub total: Option<u64>,
    /// The server holds the whole photo, verified against its hash.
    pub complete: bool,
}

pub(crate) fn protocol(detail: impl std::fmt::Display) -> Error {
    Error::Sync(SyncError::Protocol(detail.to_string()))
}

pub(crate) fn is_status(e: &Error, status: u16) -> bool {
    matches!(e, Error::Sync(SyncError::Rejected { status: s, .. }) if *s == status)
}

impl SyncClient {
    pub(crate) fn photos_url(&self, rest: &str) -> String {
        format!(
            "{}/v1/photos/{rest}",
            self.config().server_url.trim_end_matches('/')
        )
    }

    /// The photo half of a sync: uploads what the server lacks, then downloads the thumbnails
    /// of the photos referenced by the documents on this device. Called by
    /// [`SyncClient::sync`] after the documents.
    ///
    /// Photos the server refused as damaged do not stop the thumbnails from coming: the
    /// refusal is reported once both halves are done.
    pub fn sync_photos(&self, store: &Store, progress: &mut SyncProgress) -> Result<()> {
        self.sync_photos_reporting(store, progress, &mut |_| {})
    }

    /// [`SyncClient::sync_photos`], calling `report` after every photo chunk the server
    /// acknowledged (a 2G upload takes long enough to show it).
    pub(crate) fn sync_photos_reporting(
        &self,
        store: &Store,
        progress: &mut SyncProgress,
        report: &mut dyn FnMut(&SyncProgress),
    ) -> Result<()> {
        let uploaded = self.upload_photos_reporting(store, progress, report);
        if let Err(e) = &uploaded
            && !matches!(e, Error::Sync(SyncError::PhotosRefused { .. }))
        {
            return uploaded;
        }
        self.download_thumbnails(store, progress)?;
        uploaded
    }

    /// Asks the server how much of a photo it holds.
    pub fn upload_state(&self, sha256: &str, progress: &mut SyncProgress) -> Result<UploadState> {
        let url = self.photos_url(&format!("{sha256}/upload"));
        let body = self.send_with_retry(&|| self.http().get(&url), progress)?;
        serde_json::from_slice(&body).map_err(|e| protocol(format!("upload state: {e}")))
    }

    /// Downloads the thumbnails of the photos referenced by the documents on this device that
    /// it does not hold yet. A photo whose thumbnail is not on the server yet (the device that
    /// took it has not synced) is skipped and tried again at the next sync.
    ///
    /// [`SyncConfig::upload_concurrency`](super::SyncConfig) requests are in flight at once:
    /// one after another, a new phone receiving a street's 400 thumbnails over 2G would wait
    /// 200 s on round trips alone. Only the calling thread writes to the store; a worker
    /// hands it each thumbnail and takes the next hash. The first error (offline, cancelled)
    /// stops the workers at their next request; every thumbnail saved before it stays.
    pub fn download_thumbnails(&self, store: &Store, progress: &mut SyncProgress) -> Result<()> {
        let missing = store.thumbnails_missing(MAX_THUMBNAILS_PER_SYNC)?;
        if missing.is_empty() {
            return Ok(());
        }
        let workers = self.config().upload_concurrency.clamp(1, missing.len());
        let next = AtomicUsize::new(0);
        let halt = AtomicBool::new(false);
        let mut failure: Option<Error> = None;
        std::thread::scope(|scope| {
            let (tx, rx) = mpsc::channel::<(String, Result<Vec<u8>>, u32)>();
            for _ in 0..workers {
                let (tx, missing, next, halt) = (tx.clone(), &missing, &next, &halt);
                scope.spawn(move || {
                    while !halt.load(Ordering::SeqCst) {
                        let Some(sha) = missing.get(next.fetch_add(1, Ordering::SeqCst)) else {
                            return;
                        };
                        let mut scratch = SyncProgress::default();
                        let fetched = self.cancel().check().and_then(|()| {
                            let url = self.photos_url(&format!("{sha}/thumbnail"));
                            self.send_with_retry(&|| self.http().get(&url), &mut scratch)
                        });
                        if tx.send((sha.clone(), fetched, scratch.retries)).is_err() {
                            return;
                        }
                    }
                });
            }
            drop(tx);
            for (sha, fetched, retries) in rx {
                progress.retries += retries;
                let applied = match fetched {
                    Ok(jpeg) => store.save_received_thumbnail(&sha, &jpeg).map(|()| {
                        progress.photos_received += 1;
                        progress.photo_bytes_received += jpeg.len() as u64;
                    }),
                    // Not uploaded yet by the device that took it, or a case that left this
                    // device's scope: asked for again later, with a growing wait.
                    Err(e) if is_status(&e, 404) => store.thumbnail_missed(&sha),
                    Err(Error::Sync(SyncError::OutOfScope(_))) => store.thumbnail_missed(&sha),
                    Err(e) => Err(e),
                };
                if let Err(e) = applied {
                    halt.store(true, Ordering::SeqCst);
                    failure.get_or_insert(e);
                }
            }
        });
        failure.map_or(Ok(()), Err)
    }

    /// A photo's full JPEG: from the store if this device holds it, else downloaded from the
    /// server, checked against its hash and kept in the store for next time.
    pub fn fetch_photo(&self, store: &Store, sha256: &str) -> Result<Vec<u8>> {
        if let Some(bytes) = store.photo_bytes(sha256)? {
            return Ok(bytes);
        }
        if !crate::store::is_sha256_hex(sha256) {
            return Err(Error::invalid(
                "photo hash",
                format!("'{sha256}' is not a SHA-256 in lowercase hex (64 characters)"),
            ));
        }
        let url = self.photos_url(sha256);
        let mut progress = SyncProgress::default();
        let bytes = match self.send_with_retry(&|| self.http().get(&url), &mut progress) {
            Ok(bytes) => bytes,
            Err(e) if is_status(&e, 404) => {
                return Err(Error::Sync(SyncError::PhotoNotOnServer(sha256.to_owned())));
            }
            Err(e) => return Err(e),
        };
        store.save_received_photo(sha256, &bytes)?;
        Ok(bytes)
    }
}
