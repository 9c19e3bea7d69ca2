//! Sync and photos: the calls that talk to the server, and the photo store
//! they fill.
//!
//! Exported as methods on [`crate::Store`] (a second `#[uniffi::export]`
//! block, delegating to `wangge_core::SyncClient` and the core store):
//!
//! * `sync(serverUrl, token, listener)` — one sync with the server: pushes
//!   every local change, pulls everything new in the device's scope, uploads
//!   the photos the server lacks and downloads the thumbnails of the cases
//!   held here; progress is reported through [`SyncListener`], a foreign
//!   trait implemented in Kotlin/Swift and called from the syncing thread;
//! * `caseSyncStatus(caseId)` and `pendingCount()` — whether a case reached
//!   the server (or was refused by it: see `authority.rs`), and how many
//!   documents wait to be sent;
//! * `importPhoto`, `caseThumbnails`, `photoBytes`, `fetchPhoto` — photos.
//!
//! Failures arrive as `WanggeException.Offline` (no server reachable:
//! nothing lost, try later), `WanggeException.NotAuthorized` (token refused:
//! enrol again), `WanggeException.Sync` (anything else: request rejected,
//! photo not there yet, …) and `WanggeException.Photo` (an image that cannot
//! be imported), with the core's message.

use std::sync::Arc;

use wangge_core as core_lib;

use crate::authority::DocRefusal;
use crate::error::Result;
use crate::model::{PhotoRef, parse_case_id};
use crate::store::Store;

/// Counters of a sync in progress, reported after every round, and the
/// result of a finished sync.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, uniffi::Record)]
pub struct SyncProgress {
    /// Rounds (one request and its response) completed.
    pub rounds: u32,
    /// Documents (cases, zero reports) pushed and acknowledged by the server.
    pub docs_sent: u64,
    /// Documents received from the server.
    pub docs_received: u64,
    /// Request bytes sent (documents; photo bytes are counted apart).
    pub bytes_sent: u64,
    /// Response bytes received (documents; photo bytes are counted apart).
    pub bytes_received: u64,
    /// Documents still waiting to be pushed.
    pub docs_pending: u64,
    /// Requests retried after a network failure.
    pub retries: u32,
    /// Photos and thumbnails whose upload completed.
    pub photos_sent: u64,
    /// Pushed documents the server refused under its authority rules: kept
    /// on the device, marked refused (`refusedDocuments`).
    pub docs_refused: u64,
    /// Thumbnails and full photos downloaded.
    pub photos_received: u64,
    /// Photo and thumbnail bytes uploaded.
    pub photo_bytes_sent: u64,
    /// Photo and thumbnail bytes downloaded.
    pub photo_bytes_received: u64,
    /// The server had lost changes it had acknowledged (its database was
    /// restored from a backup), so this sync started over and pushed every
    /// document on the device again. Nothing on the device was lost.
    pub server_reset: bool,
    /// The server named another catalog (checklist, calendar, grids) and the device
    /// switched to it: new checklist items work from now on.
    pub catalog_updated: bool,
}

impl From<core_lib::SyncProgress> for SyncProgress {
    fn from(p: core_lib::SyncProgress) -> Self {
        SyncProgress {
            rounds: p.rounds,
            docs_sent: p.docs_sent,
            docs_received: p.docs_received,
            bytes_sent: p.bytes_sent,
            bytes_received: p.bytes_received,
            docs_pending: p.docs_pending,
            retries: p.retries,
            photos_sent: p.photos_sent,
            docs_refused: p.docs_refused,
            photos_received: p.photos_received,
            photo_bytes_sent: p.photo_bytes_sent,
            photo_bytes_received: p.photo_bytes_received,
            server_reset: p.server_reset,
            catalog_updated: p.catalog_updated,
        }
    }
}

/// Receives the progress of a sync: implement it in Kotlin or Swift and
/// pass it to `Store.sync`.
///
/// Called on the thread that runs `sync` (not the main thread): once at
/// the start (with the pending count), after every round, and once when
/// the photos are done. Keep it quick and post to the UI thread from it;
/// it must not throw.
#[uniffi::export(with_foreign)]
pub trait SyncListener: Send + Sync {
    /// The counters so far.
    fn on_progress(&self, progress: SyncProgress);
}

/// Whether a case has reached the server, or was refused by it.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct CaseSyncStatus {
    /// The server has acknowledged at least one version of the case: the
    /// centre can see it.
    pub on_server: bool,
    /// The case has local changes the server has not acknowledged yet.
    pub pending: bool,
    /// The server refused the case's last push under its authority rules
    /// (`refusal` says why). The case stays on the device, readable; it is
    /// sent again when it changes or after `retryRefused`.
    pub refused: bool,
    /// Why the server refused it; `null` unless `refused`.
    pub refusal: Option<DocRefusal>,
}

impl CaseSyncStatus {
    /// The status and the refusal, read apart, as one record: `refused`
    /// follows the refusal read, so the two always agree.
    fn new(status: core_lib::SyncStatus, refusal: Option<core_lib::DocRefusal>) -> Self {
        CaseSyncStatus {
            on_server: status.on_server,
            pending: status.pending,
            refused: refusal.is_some(),
            refusal: refusal.map(Into::into),
        }
    }
}

/// A photo of a case with its thumbnail (a small JPEG for lists).
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct Thumbnail {
    /// The photo (its full JPEG: `photoBytes`, or `fetchPhoto` from the server).
    pub photo: PhotoRef,
    /// The thumbnail's JPEG bytes.
    pub jpeg: Vec<u8>,
}

/// How the sync calls connect, beyond the server URL and token each call
/// takes (`setSyncConfig`).
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct SyncConfig {
    /// Allow a plain `http://` server URL to a host that is not this
    /// machine (a test network, a training room). Off by default: without
    /// it such a URL throws `InsecureHttp` before anything is sent, since the
    /// token, reports and photos would cross the network in clear.
    /// `https://` is always verified against the phone's trust store, and
    /// `http://127.0.0.1` / `http://localhost` always work.
    #[uniffi(default = false)]
    pub allow_insecure_http: bool,
}

impl Store {
    /// A sync client for `server_url` and `token` (the core's defaults: 5
    /// attempts per request with backoff, 60 s per request, and the
    /// store's [`SyncConfig`]): the one kept from the previous call when
    /// all are the same, so its connections are reused; a new one otherwise.
    pub(crate) fn client(&self, server_url: String, token: String) -> Result<core_lib::SyncClient> {
        let allow_insecure_http = self
            .sync_config
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .allow_insecure_http;
        let mut cached = self
            .sync_client
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(client) = cached.as_ref()
            && client.config().server_url == server_url
            && client.config().token == token
            && client.config().allow_insecure_http == allow_insecure_http
        {
            return Ok(client.clone());
        }
        let mut config = core_lib::SyncConfig::new(server_url, token);
        config.allow_insecure_http = allow_insecure_http;
        let client = core_lib::SyncClient::new(config)?;
        *cached = Some(client.clone());
        Ok(client)
    }
}

#[uniffi::export]
impl Store {
    /// Sets how the following sync calls connect (see [`SyncConfig`]):
    /// `setSyncConfig(SyncConfig(allowInsecureHttp = true))` for a server on
    /// a test network reached over plain `http://`.
    pub fn set_sync_config(&self, config: SyncConfig) {
        *self
            .sync_config
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = config;
    }

    /// Syncs with the server at `serverUrl` (e.g. `https://sync.example`)
    /// using the device's `token` (issued at enrolment): pushes every local
    /// change, pulls everything new in the device's scope, uploads the
    /// photos the server lacks and downloads the thumbnails of the cases on
    /// this device. Returns the final counters; `listener` (if given) sees
    /// them as they grow.
    ///
    /// Blocks until done, for seconds on a slow network: call it from a
    /// background thread. Network failures are retried with backoff; when
    /// the attempts run out it throws `Offline` and every unsent change
    /// stays for the next call — nothing is lost. Throws `NotAuthorized`
    /// when the token is refused, `Sync` when the server rejects the
    /// request; the message says what to do.
    #[uniffi::method(default(listener = None))]
    pub fn sync(
        &self,
        server_url: String,
        token: String,
        listener: Option<Arc<dyn SyncListener>>,
    ) -> Result<SyncProgress> {
        let client = self.client(server_url, token)?;
        let mut report = |p: &core_lib::SyncProgress| {
            if let Some(l) = &listener {
                l.on_progress((*p).into());
            }
        };
        Ok(client.sync(self.core(), &mut report)?.into())
    }

    /// Whether a case has reached the server (`onServer`), whether it has
    /// changes not sent yet (`pending`), and whether the server refused it
    /// (`refused`, with the `refusal`): the mark of a case in a list.
    /// Throws `CaseNotFound`, `InvalidInput`.
    pub fn case_sync_status(&self, case_id: String) -> Result<CaseSyncStatus> {
        let id = parse_case_id(&case_id)?;
        let core = self.core();
        Ok(CaseSyncStatus::new(
            core.case_sync_status(id)?,
            core.refusal(&id.to_string())?,
        ))
    }

    /// How many documents (cases, zero reports) have changes the server
    /// has not acknowledged yet: what the next sync sends.
    pub fn pending_count(&self) -> Result<u64> {
        Ok(self.core().pending_count()?)
    }

    /// Imports a photo as the camera or gallery hands it over (JPEG, PNG or
    /// WebP bytes): orients and downscales it (longest edge 1600 px),
    /// strips its metadata, makes its thumbnail, and stores both durably.
    /// Returns the reference to put in `NewCase.photos` or an event. The
    /// same photo imported twice is stored once.
    ///
    /// Throws `Photo` for an empty, damaged, unsupported (HEIC …) or
    /// oversized image; the message says what to do.
    pub fn import_photo(&self, bytes: Vec<u8>) -> Result<PhotoRef> {
        let options = core_lib::photo::PhotoOptions::default();
        Ok(self.core().import_photo(&bytes, &options)?.into())
    }

    /// The photos of a case with their thumbnails: the report's, then each
    /// event's in timeline order. A photo whose thumbnail has not reached
    /// this device yet is left out (the next sync fetches it).
    /// Throws `CaseNotFound`, `InvalidInput`.
    pub fn case_thumbnails(&self, case_id: String) -> Result<Vec<Thumbnail>> {
        Ok(self
            .core()
            .case_thumbnails(parse_case_id(&case_id)?)?
            .into_iter()
            .map(|(photo, jpeg)| Thumbnail {
                photo: photo.into(),
                jpeg,
            })
            .collect())
    }

    /// The full JPEG of a photo (by its `sha256`) if this device holds it:
    /// imported here, or fetched before; `null` otherwise (use
    /// `fetchPhoto`).
    pub fn photo_bytes(&self, sha256: String) -> Result<Option<Vec<u8>>> {
        Ok(self.core().photo_bytes(&sha256)?)
    }

    /// The full JPEG of a photo: from this device if it holds it, else
    /// downloaded from the server (checked against its hash, and kept for
    /// next time). Blocks on the network: call it from a background thread.
    ///
    /// Throws `Offline` when the server cannot be reached, `NotAuthorized`
    /// when it refuses the token, `Sync` when it does not hold the photo
    /// yet (the device that took it has not synced) or the photo is outside
    /// the device's scope; `InvalidInput` for a malformed hash.
    pub fn fetch_photo(
        &self,
        server_url: String,
        token: String,
        sha256: String,
    ) -> Result<Vec<u8>> {
        Ok(self
            .client(server_url, token)?
            .fetch_photo(self.core(), &sha256)?)
    }
}

#[cfg(test)]
mod tests {
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::error::WanggeError;

    /// A keep-alive HTTP server that answers every request `404` and counts the connections
    /// it accepted.
    fn counting_server() -> (String, Arc<AtomicUsize>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let connections = Arc::new(AtomicUsize::new(0));
        let counted = connections.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { return };
                counted.fetch_add(1, Ordering::SeqCst);
                std::thread::spawn(move || {
                    let mut reader = BufReader::new(stream.try_clone().unwrap());
                    let mut writer = stream;
                    loop {
                        // A GET has no body: the request ends at the blank line.
                        let mut line = String::new();
                        loop {
                            line.clear();
                            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                                return;
                            }
                            if line == "\r\n" {
                                break;
                            }
                        }
                        let body = r#"{"error":"not_found","message":"no such photo"}"#;
                        let answer = format!(
                            "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\n\
                             content-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        if writer.write_all(answer.as_bytes()).is_err() {
                            return;
                        }
                    }
                });
            }
        });
        (url, connections)
    }

    #[test]
    fn photo_fetches_reuse_one_connection_until_the_server_or_token_changes() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(
            dir.path().join("s.sqlite3").to_string_lossy().into_owned(),
            crate::model::generate_device_id(),
        )
        .unwrap();
        let (url, connections) = counting_server();
        let sha = "ab".repeat(32);
        for _ in 0..3 {
            let err = store
                .fetch_photo(url.clone(), "wgt_a".into(), sha.clone())
                .unwrap_err();
            assert!(matches!(err, WanggeError::Sync(_)), "{err}");
        }
        assert_eq!(
            connections.load(Ordering::SeqCst),
            1,
            "one pooled connection"
        );
        // Another token: another client, so another connection.
        let _ = store.fetch_photo(url, "wgt_b".into(), sha);
        assert_eq!(connections.load(Ordering::SeqCst), 2);
    }
}
