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
//! A thumbnail is uploaded before its photo, declaring which photo it belongs to, so other
//! devices see a case's thumbnails as soon as possible over a weak signal. Devices download the
//! thumbnails of every photo their stored documents reference at each sync, and full photos
//! only when asked ([`SyncClient::fetch_photo`]).

use serde::Deserialize;

use crate::error::{Error, Result};
use crate::store::{PhotoPart, Store, StoredPhoto};
use crate::sync::{SyncClient, SyncError, SyncProgress};

/// Most thumbnails downloaded in one sync (the rest wait for the next one).
const MAX_THUMBNAILS_PER_SYNC: usize = 2000;
/// Consecutive offset conflicts tolerated on one upload (another device uploading the same
/// photo at the same moment) before giving up until the next sync.
const MAX_CONFLICTS: u32 = 8;

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

fn protocol(detail: impl std::fmt::Display) -> Error {
    Error::Sync(SyncError::Protocol(detail.to_string()))
}

fn is_status(e: &Error, status: u16) -> bool {
    matches!(e, Error::Sync(SyncError::Rejected { status: s, .. }) if *s == status)
}

impl SyncClient {
    fn photos_url(&self, rest: &str) -> String {
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

    /// Uploads every photo and thumbnail imported on this device that the server does not hold
    /// yet (only the thumbnails without [`SyncConfig::upload_full_photos`](super::SyncConfig)),
    /// resuming each from the server's offset, and marks them uploaded.
    ///
    /// A photo the server refuses as damaged (its bytes do not match its hash) is skipped so
    /// that the others still go; the call then ends with [`SyncError::PhotosRefused`]. Network
    /// failures end the call at once with [`SyncError::Offline`]; what the server holds so far
    /// stays there for the next attempt.
    pub fn upload_photos(&self, store: &Store, progress: &mut SyncProgress) -> Result<()> {
        self.upload_photos_reporting(store, progress, &mut |_| {})
    }

    /// [`SyncClient::upload_photos`], calling `report` after every acknowledged chunk.
    fn upload_photos_reporting(
        &self,
        store: &Store,
        progress: &mut SyncProgress,
        report: &mut dyn FnMut(&SyncProgress),
    ) -> Result<()> {
        let mut refused: Vec<String> = Vec::new();
        for photo in store.photos_not_uploaded()? {
            let sha = &photo.photo.sha256;
            // The thumbnail first: small, and what other devices show first.
            let parts = [
                (PhotoPart::Thumbnail, photo.thumb_uploaded),
                (PhotoPart::Photo, photo.photo_uploaded),
            ];
            for (part, done) in parts {
                // Full photos wait for a sync that allows them (an unmetered network).
                if done || (part == PhotoPart::Photo && !self.config().upload_full_photos) {
                    continue;
                }
                self.cancel().check()?;
                match self.upload_part(store, &photo, part, progress, report) {
                    Ok(()) => store.mark_uploaded(sha, part)?,
                    Err(e) if is_status(&e, 422) || is_status(&e, 400) => {
                        refused.push(format!("{sha}: {e}"));
                        break;
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        match refused.first() {
            None => Ok(()),
            Some(first) => Err(Error::Sync(SyncError::PhotosRefused {
                count: refused.len(),
                detail: first.clone(),
            })),
        }
    }

    /// Uploads one blob of a photo, from where the server stands to the end.
    fn upload_part(
        &self,
        store: &Store,
        photo: &StoredPhoto,
        part: PhotoPart,
        progress: &mut SyncProgress,
        report: &mut dyn FnMut(&SyncProgress),
    ) -> Result<()> {
        let (sha, total, thumbnail_of) = match part {
            PhotoPart::Photo => (photo.photo.sha256.as_str(), photo.photo.bytes, None),
            PhotoPart::Thumbnail => (
                photo.thumb_sha256.as_str(),
                photo.thumb_bytes,
                Some(photo.photo.sha256.as_str()),
            ),
        };
        let chunk_len = self.config().photo_chunk_bytes.max(1);
        let mut state = self.upload_state(sha, progress)?;
        let mut conflicts = 0;
        loop {
            if state.complete {
                progress.photos_sent += 1;
                return Ok(());
            }
            // A chunk boundary: what the server acknowledged so far stays there.
            self.cancel().check()?;
            // A partial upload of another size is garbage (a photo has one size): start over,
            // which the server accepts at offset 0.
            let offset = match state.total {
                Some(t) if t == total && state.received < total => state.received,
                _ => 0,
            };
            let chunk = store.read_photo_range(&photo.photo.sha256, part, offset, chunk_len)?;
            if chunk.is_empty() {
                return Err(protocol(format!(
                    "the server holds {} of the {total} bytes of {sha} but does not call it complete",
                    state.received
                )));
            }
            let mut url = self.photos_url(&format!("{sha}?offset={offset}&total={total}"));
            if let Some(of) = thumbnail_of {
                url.push_str(&format!("&thumbnail_of={of}"));
            }
            let sent = self.send_with_retry(
                &|| {
                    self.http()
                        .put(&url)
                        .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                        .body(chunk.clone())
                },
                progress,
            );
            match sent {
                Ok(body) => {
                    progress.photo_bytes_sent += chunk.len() as u64;
                    report(progress);
                    conflicts = 0;
                    state = serde_json::from_slice(&body)
                        .map_err(|e| protocol(format!("upload answer: {e}")))?;
                }
                // The server stands elsewhere (a chunk whose answer was lost did arrive, or
                // another device uploads the same photo): ask where, and go on from there.
                Err(e) if is_status(&e, 409) && conflicts < MAX_CONFLICTS => {
                    conflicts += 1;
                    state = self.upload_state(sha, progress)?;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Downloads the thumbnails of the photos referenced by the documents on this device that
    /// it does not hold yet. A photo whose thumbnail is not on the server yet (the device that
    /// took it has not synced) is skipped and tried again at the next sync.
    pub fn download_thumbnails(&self, store: &Store, progress: &mut SyncProgress) -> Result<()> {
        for sha in store.thumbnails_missing(MAX_THUMBNAILS_PER_SYNC)? {
            self.cancel().check()?;
            let url = self.photos_url(&format!("{sha}/thumbnail"));
            match self.send_with_retry(&|| self.http().get(&url), progress) {
                Ok(jpeg) => {
                    store.save_received_thumbnail(&sha, &jpeg)?;
                    progress.photos_received += 1;
                    progress.photo_bytes_received += jpeg.len() as u64;
                }
                // Not uploaded yet by the device that took it, or a case that left this
                // device's scope: asked for again later, with a growing wait.
                Err(e) if is_status(&e, 404) => store.thumbnail_missed(&sha)?,
                Err(Error::Sync(SyncError::OutOfScope(_))) => store.thumbnail_missed(&sha)?,
                Err(e) => return Err(e),
            }
        }
        Ok(())
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
