//! Uploading this device's photos: every thumbnail first, then the full photos, each phase
//! with a few requests in flight.
//!
//! **Order.** What the centre needs first goes first: the documents (a sync's rounds, before
//! this module runs), then the thumbnail of every photo, then the full photos. Over a 2G
//! link a shift's full photos take hours and its thumbnails minutes, so the centre sees every
//! case with a preview long before the first full photo is through. The thumbnail phase ends —
//! every worker joined — before the first byte of a full photo is read, so no full photo
//! overtakes a thumbnail even with several requests in flight.
//!
//! **Overlap.** Requests sent one after another leave the link idle for a round trip each
//! (0.5 s on 2G: about as long as sending a whole 6 KB thumbnail). So each phase runs a few
//! workers on threads of their own, each uploading one blob at a time, chunk after chunk, from
//! where the server stands — a blob's chunks stay strictly in order, as the server requires.
//! Thumbnails run [`SyncConfig::upload_concurrency`](super::SyncConfig) workers (4 by default:
//! enough to keep a 100 kbit/s link busy through 0.5 s round trips). Full photos run at most
//! [`PHOTO_WORKERS`]: a 256 KiB chunk keeps the link busy for 21 s, so a second one in flight
//! already hides the round trip, and each more would only split the same bandwidth and
//! stretch every request towards the request timeout.
//!
//! **What a cut costs.** Each upload loses at most its chunk in flight: the server stores a
//! chunk only when its whole body arrived, and the next attempt asks where it stands. With two
//! full photos in flight a cut loses two partial chunks, which shared the link: together about
//! what one chunk alone would have lost. A small blob that fits one chunk (a thumbnail: up to
//! [`SEND_WITHOUT_ASKING`]) is sent without asking first — the server either holds none of it
//! (a cut loses the whole single chunk anyway), holds it complete (the `PUT` is a no-op) or
//! stands elsewhere (`409`, and the worker asks) — which saves a round trip per thumbnail.
//! Bigger blobs ask first: resending a whole photo the server already holds (another device
//! imported the same one, or an answer was lost) would cost far more than the question.
//!
//! **Consistency.** Only the calling thread writes to the store and reports progress: workers
//! send it one event per acknowledged chunk and per finished blob, and wait until it has been
//! applied — so an app that cancels from a progress report or a store observer stops that
//! worker before its next chunk, as when uploads went one by one. A blob is marked uploaded
//! once the server called it complete, so a call that ends early (cancelled, offline) keeps
//! every blob it finished. Cancellation is checked before every chunk; a chunk in flight is
//! finished first.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc;

use crate::error::{Error, Result};
use crate::store::{PhotoPart, Store, StoredPhoto};
use crate::sync::photos::{UploadState, is_status, protocol};
use crate::sync::{SyncClient, SyncError, SyncProgress};

/// Most full-photo uploads in flight at once (see the module documentation).
pub const PHOTO_WORKERS: usize = 2;
/// Largest blob sent without first asking the server how much it holds: 16 KB, which takes
/// 1.3 s on 2G to send again in the rare case that the server holds it already, where asking
/// costs a 0.5 s round trip every time. Every thumbnail (budget: 8 KB) is below it.
pub const SEND_WITHOUT_ASKING: u64 = 16 << 10;
/// Consecutive offset conflicts tolerated on one upload (another device uploading the same
/// photo at the same moment) before giving up until the next sync.
const MAX_CONFLICTS: u32 = 8;

/// One blob to upload.
#[derive(Clone, Copy)]
struct Job<'a> {
    photo: &'a StoredPhoto,
    part: PhotoPart,
}

impl Job<'_> {
    /// The blob's own hash, its size, and the photo it is the thumbnail of.
    fn blob(&self) -> (&str, u64, Option<&str>) {
        match self.part {
            PhotoPart::Photo => (
                self.photo.photo.sha256.as_str(),
                self.photo.photo.bytes,
                None,
            ),
            PhotoPart::Thumbnail => (
                self.photo.thumb_sha256.as_str(),
                self.photo.thumb_bytes,
                Some(self.photo.photo.sha256.as_str()),
            ),
        }
    }
}

/// What a worker tells the calling thread.
enum Event {
    /// The server acknowledged a chunk of `bytes`, after `retries` retried requests.
    Chunk { bytes: u64, retries: u32 },
    /// A blob is complete on the server.
    Done {
        photo_sha: String,
        part: PhotoPart,
        retries: u32,
    },
    /// The server refused a blob as damaged (its bytes do not match its hash).
    Refused { photo_sha: String, detail: String },
    /// The phase must end: cancelled, offline, or refused as a whole.
    Failed(Error),
}

/// How a worker's upload of one blob ended, short of an error.
enum Outcome {
    /// The server holds the blob complete.
    Complete,
    /// Another worker failed: stop at this chunk boundary.
    Halted,
}

/// An event with the channel on which the calling thread says it has applied it.
type Told = (Event, mpsc::SyncSender<()>);

/// Sends `event` to the calling thread and waits until it has been applied (see the module
/// documentation). The calling thread is gone only if it panicked: nothing to wait for then.
fn tell(tx: &mpsc::Sender<Told>, event: Event) {
    let (done_tx, done_rx) = mpsc::sync_channel(1);
    if tx.send((event, done_tx)).is_ok() {
        let _ = done_rx.recv();
    }
}

/// What the workers of one phase share.
struct Phase<'a> {
    jobs: Vec<Job<'a>>,
    /// The timeout of one chunk's request: the configured request timeout times the uploads
    /// in flight. Each gets its share of the link, so a chunk takes that many times longer
    /// to send than alone; with the plain timeout, two 256 KiB chunks sharing a 100 kbit/s
    /// link (42 s each) would time out at the slightest unfairness between them, and a
    /// timed-out chunk is sent again whole.
    chunk_timeout: std::time::Duration,
    next: AtomicUsize,
    halt: AtomicBool,
}

impl SyncClient {
    /// Uploads every photo and thumbnail imported on this device that the server does not hold
    /// yet (only the thumbnails without [`SyncConfig::upload_full_photos`](super::SyncConfig)),
    /// resuming each from the server's offset, and marks them uploaded: every thumbnail
    /// before the first full photo, a few requests in flight (see the module documentation).
    ///
    /// A photo the server refuses as damaged (its bytes do not match its hash) is skipped so
    /// that the others still go; the call then ends with [`SyncError::PhotosRefused`]. Network
    /// failures end the call with [`SyncError::Offline`] once the requests in flight are
    /// answered; what the server holds so far stays there for the next attempt.
    pub fn upload_photos(&self, store: &Store, progress: &mut SyncProgress) -> Result<()> {
        self.upload_photos_reporting(store, progress, &mut |_| {})
    }

    /// [`SyncClient::upload_photos`], calling `report` after every acknowledged chunk.
    pub(crate) fn upload_photos_reporting(
        &self,
        store: &Store,
        progress: &mut SyncProgress,
        report: &mut dyn FnMut(&SyncProgress),
    ) -> Result<()> {
        let pending = store.photos_not_uploaded()?;
        let mut refused: Vec<(String, String)> = Vec::new();
        let thumbnails = pending
            .iter()
            .filter(|p| !p.thumb_uploaded)
            .map(|photo| Job {
                photo,
                part: PhotoPart::Thumbnail,
            })
            .collect();
        let workers = self.config().upload_concurrency.max(1);
        self.upload_phase(store, thumbnails, workers, progress, report, &mut refused)?;
        // Full photos wait for a sync that allows them (an unmetered network); a photo whose
        // thumbnail was refused as damaged is not sent either.
        if self.config().upload_full_photos {
            let photos = pending
                .iter()
                .filter(|p| !p.photo_uploaded)
                .filter(|p| !refused.iter().any(|(sha, _)| *sha == p.photo.sha256))
                .map(|photo| Job {
                    photo,
                    part: PhotoPart::Photo,
                })
                .collect();
            let workers = workers.min(PHOTO_WORKERS);
            self.upload_phase(store, photos, workers, progress, report, &mut refused)?;
        }
        match refused.first() {
            None => Ok(()),
            Some((_, first)) => Err(Error::Sync(SyncError::PhotosRefused {
                count: refused.len(),
                detail: first.clone(),
            })),
        }
    }

    /// Uploads `jobs` with `workers` threads; returns when every worker has stopped. The
    /// calling thread applies their events: progress, `report`, marking blobs uploaded.
    fn upload_phase(
        &self,
        store: &Store,
        jobs: Vec<Job<'_>>,
        workers: usize,
        progress: &mut SyncProgress,
        report: &mut dyn FnMut(&SyncProgress),
        refused: &mut Vec<(String, String)>,
    ) -> Result<()> {
        if jobs.is_empty() {
            return Ok(());
        }
        let workers = workers.min(jobs.len());
        let phase = Phase {
            jobs,
            chunk_timeout: self.config().request_timeout * workers as u32,
            next: AtomicUsize::new(0),
            halt: AtomicBool::new(false),
        };
        let mut failure: Option<Error> = None;
        std::thread::scope(|scope| {
            let (tx, rx) = mpsc::channel();
            for _ in 0..workers {
                let (tx, phase) = (tx.clone(), &phase);
                scope.spawn(move || self.upload_worker(store, phase, &tx));
            }
            drop(tx);
            // Ends when every worker has dropped its sender: the phase is over.
            for (event, applied) in rx {
                match event {
                    Event::Chunk { bytes, retries } => {
                        progress.photo_bytes_sent += bytes;
                        progress.retries += retries;
                        report(progress);
                    }
                    Event::Done {
                        photo_sha,
                        part,
                        retries,
                    } => {
                        progress.retries += retries;
                        progress.photos_sent += 1;
                        if let Err(e) = store.mark_uploaded(&photo_sha, part) {
                            phase.halt.store(true, Ordering::SeqCst);
                            failure.get_or_insert(e);
                        }
                    }
                    Event::Refused { photo_sha, detail } => refused.push((photo_sha, detail)),
                    Event::Failed(e) => {
                        phase.halt.store(true, Ordering::SeqCst);
                        failure.get_or_insert(e);
                    }
                }
                // The worker may go on; it is gone only if it panicked.
                let _ = applied.send(());
            }
        });
        failure.map_or(Ok(()), Err)
    }

    /// One worker: takes the next blob of the phase until none is left or the phase halts.
    fn upload_worker(&self, store: &Store, phase: &Phase<'_>, tx: &mpsc::Sender<Told>) {
        while !phase.halt.load(Ordering::SeqCst) {
            let Some(job) = phase.jobs.get(phase.next.fetch_add(1, Ordering::SeqCst)) else {
                return;
            };
            let photo_sha = job.photo.photo.sha256.clone();
            let mut scratch = SyncProgress::default();
            let event = match self.upload_blob(store, *job, phase, &mut scratch, tx) {
                Ok(Outcome::Complete) => Event::Done {
                    photo_sha,
                    part: job.part,
                    retries: scratch.retries,
                },
                Ok(Outcome::Halted) => return,
                Err(e) if is_status(&e, 422) || is_status(&e, 400) => Event::Refused {
                    detail: format!("{photo_sha}: {e}"),
                    photo_sha,
                },
                Err(e) => Event::Failed(e),
            };
            tell(tx, event);
        }
    }

    /// Uploads one blob, from where the server stands to the end, one chunk at a time.
    /// `scratch` counts this blob's retries; each acknowledged chunk is sent to `tx`.
    fn upload_blob(
        &self,
        store: &Store,
        job: Job<'_>,
        phase: &Phase<'_>,
        scratch: &mut SyncProgress,
        tx: &mpsc::Sender<Told>,
    ) -> Result<Outcome> {
        let (sha, total, thumbnail_of) = job.blob();
        let chunk_len = self.config().photo_chunk_bytes.max(1);
        // A small blob goes without asking first (see the module documentation).
        let mut state = if total <= SEND_WITHOUT_ASKING.min(chunk_len as u64) {
            UploadState {
                sha256: sha.to_owned(),
                received: 0,
                total: None,
                complete: false,
            }
        } else {
            self.upload_state(sha, scratch)?
        };
        let mut conflicts = 0;
        loop {
            if state.complete {
                return Ok(Outcome::Complete);
            }
            // A chunk boundary: what the server acknowledged so far stays there.
            self.cancel().check()?;
            if phase.halt.load(Ordering::SeqCst) {
                return Ok(Outcome::Halted);
            }
            // A partial upload of another size is garbage (a photo has one size): start over,
            // which the server accepts at offset 0.
            let offset = match state.total {
                Some(t) if t == total && state.received < total => state.received,
                _ => 0,
            };
            let chunk =
                store.read_photo_range(&job.photo.photo.sha256, job.part, offset, chunk_len)?;
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
            let retries_before = scratch.retries;
            let sent = self.send_with_retry(
                &|| {
                    self.http()
                        .put(&url)
                        .timeout(phase.chunk_timeout)
                        .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                        .body(chunk.clone())
                },
                scratch,
            );
            match sent {
                Ok(body) => {
                    let retries = scratch.retries - retries_before;
                    scratch.retries = retries_before;
                    let bytes = chunk.len() as u64;
                    tell(tx, Event::Chunk { bytes, retries });
                    conflicts = 0;
                    state = serde_json::from_slice(&body)
                        .map_err(|e| protocol(format!("upload answer: {e}")))?;
                }
                // The server stands elsewhere (a chunk whose answer was lost did arrive, or
                // another device uploads the same photo): ask where, and go on from there.
                Err(e) if is_status(&e, 409) && conflicts < MAX_CONFLICTS => {
                    conflicts += 1;
                    state = self.upload_state(sha, scratch)?;
                }
                Err(e) => return Err(e),
            }
        }
    }
}
