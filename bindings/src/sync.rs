//! Sync and photos: the calls that talk to the server, and the photo store
//! they fill.
//!
//! Exported as methods on [`crate::Store`] (a second `#[uniffi::export]`
//! block, delegating to `wangge_core::SyncClient` and the core store):
//!
//! * `sync(serverUrl, token, listener)` — one sync with the server, a
//!   `suspend` function (Swift: `async`): pushes every local change, pulls
//!   everything new in the device's scope, uploads the photos the server
//!   lacks and downloads the thumbnails of the cases held here; progress is
//!   reported through [`SyncListener`]. Cancelling the coroutine stops the
//!   sync at the next round or photo chunk, with nothing half-applied;
//! * `caseSyncState(caseId)` and `pendingCount()` — whether a case reached
//!   the server (or was refused by it: see `authority.rs`) with its photos,
//!   and how many documents wait to be sent. Every case list carries each
//!   case's [`SyncState`] too (`CaseSummary.sync`), so a list needs no call
//!   per case;
//! * `importPhoto`, `fetchPhoto` (`suspend`), `caseThumbnails`, `photoBytes`.
//!
//! Failures arrive as `WanggeException.Offline` (no server reachable:
//! nothing lost, try later), `WanggeException.NotAuthorized` (token refused:
//! enrol again), `WanggeException.Sync` (anything else: request rejected,
//! photo not there yet, …) and `WanggeException.Photo` (an image that cannot
//! be imported), with the core's message.

use std::sync::Arc;

use wangge_core as core_lib;
use wangge_core::Cancel;

use crate::authority::DocRefusal;
use crate::blocking;
use crate::error::{Result, invalid};
use crate::model::{PhotoRef, int, long, parse_case_id};
use crate::store::Store;

/// Counters of a sync in progress, reported after every round, and the
/// result of a finished sync.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, uniffi::Record)]
pub struct SyncProgress {
    /// Rounds (one request and its response) completed.
    pub rounds: i32,
    /// Documents (cases, zero reports) pushed and acknowledged by the server.
    pub docs_sent: i64,
    /// Documents received from the server.
    pub docs_received: i64,
    /// Request bytes sent (documents; photo bytes are counted apart).
    pub bytes_sent: i64,
    /// Response bytes received (documents; photo bytes are counted apart).
    pub bytes_received: i64,
    /// Documents still waiting to be pushed.
    pub docs_pending: i64,
    /// Requests retried after a network failure.
    pub retries: i32,
    /// Photos and thumbnails whose upload completed.
    pub photos_sent: i64,
    /// Pushed documents the server refused under its authority rules: kept
    /// on the device, marked refused (`refusedDocuments`).
    pub docs_refused: i64,
    /// Thumbnails and full photos downloaded.
    pub photos_received: i64,
    /// Photo and thumbnail bytes uploaded.
    pub photo_bytes_sent: i64,
    /// Photo and thumbnail bytes downloaded.
    pub photo_bytes_received: i64,
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
            rounds: int(p.rounds),
            docs_sent: long(p.docs_sent),
            docs_received: long(p.docs_received),
            bytes_sent: long(p.bytes_sent),
            bytes_received: long(p.bytes_received),
            docs_pending: long(p.docs_pending),
            retries: int(p.retries),
            photos_sent: long(p.photos_sent),
            docs_refused: long(p.docs_refused),
            photos_received: long(p.photos_received),
            photo_bytes_sent: long(p.photo_bytes_sent),
            photo_bytes_received: long(p.photo_bytes_received),
            server_reset: p.server_reset,
            catalog_updated: p.catalog_updated,
        }
    }
}

/// Receives the progress of a sync: implement it in Kotlin or Swift and
/// pass it to `Store.sync`.
///
/// Called on the library's syncing thread (never the main thread, nor the
/// caller's): once at the start (with the pending count), after every
/// round, after every photo chunk the server acknowledged, and once at the
/// end. Keep it quick and post to the
/// UI thread from it; it must not throw.
#[uniffi::export(with_foreign)]
pub trait SyncListener: Send + Sync {
    /// The counters so far.
    fn on_progress(&self, progress: SyncProgress);
}

/// Where a document (a case with its events, or a zero report) stands with
/// the server: acknowledged, pending, refused (and why), and how many of the
/// photos taken for it on this phone have reached the server.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncState {
    /// The server has acknowledged at least one version of the document:
    /// the centre can see it.
    pub on_server: bool,
    /// The document has local changes the server has not acknowledged yet.
    pub pending: bool,
    /// The server refused the document's last push under its authority
    /// rules (`refusal` says why). It stays on the device, readable; it is
    /// sent again when it changes or after `retryRefused`.
    pub refused: bool,
    /// Why the server refused it; `null` unless `refused`.
    pub refusal: Option<DocRefusal>,
    /// Photos of the document taken on this phone (photos taken on other
    /// devices are theirs to upload).
    pub photos: i32,
    /// Of those, the ones the server holds whole: "photos 1 of 2 on the
    /// server" is `photosOnServer` of `photos`.
    pub photos_on_server: i32,
    /// Of those, the ones whose thumbnail the server holds (the centre sees
    /// a preview).
    pub thumbnails_on_server: i32,
}

impl From<core_lib::DocSync> for SyncState {
    fn from(s: core_lib::DocSync) -> Self {
        SyncState {
            on_server: s.status.on_server,
            pending: s.status.pending,
            refused: s.refusal.is_some(),
            refusal: s.refusal.map(Into::into),
            photos: int(s.photos.taken_here),
            photos_on_server: int(s.photos.on_server),
            thumbnails_on_server: int(s.photos.thumbnails_on_server),
        }
    }
}

impl SyncState {
    /// The state of a document written here and never synced.
    pub(crate) fn local() -> Self {
        SyncState {
            on_server: false,
            pending: true,
            refused: false,
            refusal: None,
            photos: 0,
            photos_on_server: 0,
            thumbnails_on_server: 0,
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
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct SyncConfig {
    /// Allow a plain `http://` server URL to a host that is not this
    /// machine (a test network, a training room). Off by default: without
    /// it such a URL throws `InsecureHttp` before anything is sent, since the
    /// token, reports and photos would cross the network in clear.
    /// `https://` is always verified against the phone's trust store, and
    /// `http://127.0.0.1` / `http://localhost` always work.
    #[uniffi(default = false)]
    pub allow_insecure_http: bool,
    /// Most documents pushed per round (one request): a round either
    /// commits whole or not at all, so fewer documents per round lose less
    /// to a cut link and let a cancelled sync stop sooner. 1 or more.
    #[uniffi(default = 1000)]
    pub docs_per_round: i32,
    /// Upload full photos. Off (say on a metered network), a sync sends the
    /// documents and every photo's thumbnail — what the centre needs first,
    /// and small — and leaves the full photos for a sync with it on.
    #[uniffi(default = true)]
    pub full_photos: bool,
    /// Bytes per photo upload request (256 KiB by default): a cut link
    /// costs at most one chunk again, and a cancelled sync stops at the
    /// next chunk. 1 or more.
    #[uniffi(default = 262144)]
    pub photo_chunk_bytes: i32,
    /// Photo and thumbnail transfers in flight at once: uploads, and the thumbnails a sync
    /// downloads (4 by default; full photo uploads use at most 2 of them). One after another,
    /// a slow link (2G, a basement) would sit idle for a round trip per request; a few in
    /// flight keep it busy. 1 sends them one at a time (a link that drops requests under
    /// load). 1 or more.
    #[uniffi(default = 4)]
    pub upload_concurrency: i32,
}

impl Default for SyncConfig {
    fn default() -> Self {
        SyncConfig {
            allow_insecure_http: false,
            docs_per_round: 1000,
            full_photos: true,
            photo_chunk_bytes: 256 << 10,
            upload_concurrency: 4,
        }
    }
}

impl Store {
    /// A sync client for `server_url` and `token` (the core's defaults: 5
    /// attempts per request with backoff, 60 s per request, and the
    /// store's [`SyncConfig`]): the one kept from the previous call when
    /// all are the same, so its connections are reused; a new one otherwise.
    pub(crate) fn client(&self, server_url: String, token: String) -> Result<core_lib::SyncClient> {
        let mut config = core_lib::SyncConfig::new(server_url, token);
        self.configure(&mut config);
        self.client_for(config)
    }

    /// Applies the store's [`SyncConfig`] to a core configuration.
    pub(crate) fn configure(&self, config: &mut core_lib::SyncConfig) {
        let ours = self
            .sync_config
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        config.allow_insecure_http = ours.allow_insecure_http;
        config.push_batch_docs = usize::try_from(ours.docs_per_round).unwrap_or(1).max(1);
        config.upload_full_photos = ours.full_photos;
        config.photo_chunk_bytes = usize::try_from(ours.photo_chunk_bytes).unwrap_or(1).max(1);
        config.upload_concurrency = usize::try_from(ours.upload_concurrency).unwrap_or(1).max(1);
    }

    /// The client kept for `config`, or a new one (kept for the next call).
    pub(crate) fn client_for(&self, config: core_lib::SyncConfig) -> Result<core_lib::SyncClient> {
        let mut cached = self
            .sync_client
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(client) = cached.as_ref()
            && client.config().server_url == config.server_url
            && client.config().token == config.token
            && client.config().allow_insecure_http == config.allow_insecure_http
            && client.config().push_batch_docs == config.push_batch_docs
            && client.config().upload_full_photos == config.upload_full_photos
            && client.config().photo_chunk_bytes == config.photo_chunk_bytes
            && client.config().upload_concurrency == config.upload_concurrency
        {
            return Ok(client.clone());
        }
        let client = core_lib::SyncClient::new(config)?;
        *cached = Some(client.clone());
        Ok(client)
    }

    /// Runs one sync on the library's thread (see `blocking.rs`), one sync
    /// of this store at a time: a sync cancelled in the middle of a round
    /// finishes that round before the next sync starts.
    pub(crate) async fn run_sync(
        self: Arc<Self>,
        client: impl FnOnce(&Store) -> Result<core_lib::SyncClient> + Send + 'static,
        listener: Option<Arc<dyn SyncListener>>,
    ) -> Result<SyncProgress> {
        blocking::run("sync", Cancel::new(), move |cancel| {
            let _one_at_a_time = self
                .sync_lock
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner);
            let client = client(&self)?.with_cancel(cancel);
            let mut report = |p: &core_lib::SyncProgress| {
                if let Some(l) = &listener {
                    l.on_progress((*p).into());
                }
            };
            Ok(client.sync(self.core(), &mut report)?.into())
        })
        .await
    }
}

#[uniffi::export]
impl Store {
    /// Sets how the following sync calls connect (see [`SyncConfig`]):
    /// `setSyncConfig(SyncConfig(allowInsecureHttp = true))` for a server on
    /// a test network reached over plain `http://`. Throws `InvalidInput`
    /// for `docsPerRound`, `photoChunkBytes` or `uploadConcurrency` below 1.
    pub fn set_sync_config(&self, config: SyncConfig) -> Result<()> {
        let at_least_one = [
            (
                "docs per round",
                config.docs_per_round,
                "documents per round cannot push anything",
                1000,
            ),
            (
                "photo chunk bytes",
                config.photo_chunk_bytes,
                "bytes per photo request cannot send anything",
                262_144,
            ),
            (
                "upload concurrency",
                config.upload_concurrency,
                "uploads in flight cannot send a photo",
                4,
            ),
        ];
        for (field, n, what, default) in at_least_one {
            if n < 1 {
                return Err(invalid(
                    field,
                    format!("{n} {what}; give 1 or more ({default} by default)"),
                ));
            }
        }
        *self
            .sync_config
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = config;
        Ok(())
    }

    /// How the sync calls connect now (`setSyncConfig`).
    pub fn sync_config(&self) -> SyncConfig {
        self.sync_config
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone()
    }

    /// Syncs with the server at `serverUrl` (e.g. `https://sync.example`)
    /// using the device's `token` (issued at enrolment): pushes every local
    /// change, pulls everything new in the device's scope, uploads the
    /// photos the server lacks and downloads the thumbnails of the cases on
    /// this device. Returns the final counters; `listener` (if given) sees
    /// them as they grow, on the library's syncing thread.
    ///
    /// A `suspend` function: it runs on a thread of the library, so call it
    /// from any coroutine. Cancel the coroutine to stop it: the sync stops
    /// at the next round or photo chunk, keeping every round it completed
    /// (nothing is half-applied), and the next `sync` goes on from there.
    /// One sync of a store runs at a time; a second waits for the first.
    ///
    /// Network failures are retried with backoff; when the attempts run out
    /// it throws `Offline` and every unsent change stays for the next call —
    /// nothing is lost. Throws `NotAuthorized` when the token is refused,
    /// `Sync` when the server rejects the request; the message says what to
    /// do.
    #[uniffi::method(default(listener = None))]
    pub async fn sync(
        self: Arc<Self>,
        server_url: String,
        token: String,
        listener: Option<Arc<dyn SyncListener>>,
    ) -> Result<SyncProgress> {
        self.run_sync(move |store| store.client(server_url, token), listener)
            .await
    }

    /// Where a case stands with the server: acknowledged (`onServer`),
    /// changes not sent yet (`pending`), refused (`refused`, with the
    /// `refusal`), and its photos taken here that reached the server. Every
    /// case list carries the same in `CaseSummary.sync`: use that for lists.
    /// Throws `CaseNotFound`, `InvalidInput`.
    pub fn case_sync_state(&self, case_id: String) -> Result<SyncState> {
        let id = parse_case_id(&case_id)?.to_string();
        self.core()
            .doc_sync(&id)?
            .map(Into::into)
            .ok_or_else(|| core_lib::Error::CaseNotFound(id).into())
    }

    /// How many documents (cases, zero reports) have changes the server
    /// has not acknowledged yet: what the next sync sends.
    pub fn pending_count(&self) -> Result<i64> {
        Ok(long(self.core().pending_count()?))
    }

    /// Imports a photo as the camera or gallery hands it over (JPEG, PNG or
    /// WebP bytes): orients and downscales it (longest edge 1600 px),
    /// strips its metadata, makes its thumbnail, and stores both durably.
    /// Returns the reference to put in `NewCase.photos` or an event. The
    /// same photo imported twice is stored once.
    ///
    /// A `suspend` function: the image work (hundreds of milliseconds for a
    /// 12-megapixel photo) runs on a thread of the library.
    ///
    /// Throws `Photo` for an empty, damaged, unsupported (HEIC …) or
    /// oversized image; the message says what to do.
    pub async fn import_photo(self: Arc<Self>, bytes: Vec<u8>) -> Result<PhotoRef> {
        blocking::run("photo", Cancel::new(), move |_| {
            let options = core_lib::photo::PhotoOptions::default();
            Ok(self.core().import_photo(&bytes, &options)?.into())
        })
        .await
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
    /// next time). A `suspend` function; cancelling it stops the retries.
    ///
    /// Throws `Offline` when the server cannot be reached, `NotAuthorized`
    /// when it refuses the token, `Sync` when it does not hold the photo
    /// yet (the device that took it has not synced) or the photo is outside
    /// the device's scope; `InvalidInput` for a malformed hash.
    pub async fn fetch_photo(
        self: Arc<Self>,
        server_url: String,
        token: String,
        sha256: String,
    ) -> Result<Vec<u8>> {
        blocking::run("photo", Cancel::new(), move |cancel| {
            Ok(self
                .client(server_url, token)?
                .with_cancel(cancel)
                .fetch_photo(self.core(), &sha256)?)
        })
        .await
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

    /// A new store in a temporary folder (kept while the folder lives).
    fn temp_store() -> (tempfile::TempDir, Arc<Store>) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(
            dir.path().join("s.sqlite3").to_string_lossy().into_owned(),
            crate::model::generate_device_id().to_string(),
            None,
        )
        .unwrap();
        (dir, store)
    }

    #[test]
    fn the_default_sync_config_is_the_cores_and_zero_is_refused() {
        let core = core_lib::SyncConfig::new("https://sync.example", "t");
        let ours = SyncConfig::default();
        assert_eq!(ours.allow_insecure_http, core.allow_insecure_http);
        assert_eq!(
            usize::try_from(ours.docs_per_round).unwrap(),
            core.push_batch_docs
        );
        assert_eq!(ours.full_photos, core.upload_full_photos);
        assert_eq!(
            usize::try_from(ours.photo_chunk_bytes).unwrap(),
            core.photo_chunk_bytes
        );
        assert_eq!(
            usize::try_from(ours.upload_concurrency).unwrap(),
            core.upload_concurrency
        );

        let (_dir, store) = temp_store();
        let serial = SyncConfig {
            upload_concurrency: 1,
            ..SyncConfig::default()
        };
        store.set_sync_config(serial.clone()).unwrap();
        let mut applied = core_lib::SyncConfig::new("https://sync.example", "t");
        store.configure(&mut applied);
        assert_eq!(applied.upload_concurrency, 1);
        let err = store
            .set_sync_config(SyncConfig {
                upload_concurrency: 0,
                ..SyncConfig::default()
            })
            .unwrap_err();
        assert!(err.to_string().contains("upload concurrency"), "{err}");
        assert_eq!(
            store.sync_config(),
            serial,
            "a refused config changes nothing"
        );
    }

    #[test]
    fn photo_fetches_reuse_one_connection_until_the_server_or_token_changes() {
        let (_dir, store) = temp_store();
        let (url, connections) = counting_server();
        let sha = "ab".repeat(32);
        for _ in 0..3 {
            let err = store
                .client(url.clone(), "wgt_a".into())
                .and_then(|c| Ok(c.fetch_photo(store.core(), &sha)?))
                .unwrap_err();
            assert!(matches!(err, WanggeError::Sync(_)), "{err}");
        }
        assert_eq!(
            connections.load(Ordering::SeqCst),
            1,
            "one pooled connection"
        );
        // Another token: another client, so another connection.
        let _ = store
            .client(url, "wgt_b".into())
            .and_then(|c| Ok(c.fetch_photo(store.core(), &sha)?));
        assert_eq!(connections.load(Ordering::SeqCst), 2);
    }
}
