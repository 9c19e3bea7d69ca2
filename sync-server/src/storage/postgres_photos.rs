//! Photos on PostgreSQL: resumable, content-addressed uploads, the references that decide
//! who may read a photo, and which thumbnail is served.
//!
//! The tables and the rules are SQLite's (`sqlite_photos.rs`, whose module documentation
//! says why a partial upload is a table of chunks in the database: the server is stateless
//! over its storage, and each chunk is one transaction that also moves the offset). Two
//! things differ because several instances share the database:
//!
//! - **One upload at a time per photo, not per server.** SQLite's single writer makes a
//!   chunk's read-check-append atomic; here two instances (or a phone retrying a chunk whose
//!   answer was lost while the first request still runs) may append to the same upload at
//!   once. Every transaction that changes a photo's upload rows first takes the advisory
//!   lock of that photo ([`PgStorage::locked_on`]), at `READ COMMITTED`, so it reads the
//!   offset the previous chunk committed and appends after it. Uploads of different photos
//!   do not wait for each other, nor for document writes (they do not take the write lock:
//!   they touch no document and no feed).
//! - **The photo is assembled by the database.** PostgreSQL has no incremental BLOB I/O; the
//!   chunks are streamed once to check that they follow each other and to hash them (one
//!   chunk in memory at a time, as on SQLite), and only when the hash matches does one
//!   `INSERT … SELECT string_agg(…)` join them inside the database: the photo's bytes never
//!   sit whole in the server's memory.

use std::collections::HashMap;

use postgres::IsolationLevel;
use postgres::fallible_iterator::FallibleIterator;
use sha2::{Digest, Sha256};
use wangge_core::PhotoRef;

use super::{Param, PgStorage, ScopeParams, Tx, in_scope};
use crate::docs::Decoded;
use crate::storage::error::StorageResult;
use crate::storage::photo_store::{
    ChunkOrder, Moved, PhotoStore, Put, bytes_of, move_out, sha256_hex,
};
use crate::storage::sqlite::photos::{STALE_UPLOAD_MS, references, upload_state, validate};
use crate::storage::sqlite::{check_sha256, is_sha256_hex};
use crate::storage::{ChunkOutcome, Device, DeviceRole, PhotoChunk, PhotoUpload};

/// A family of advisory locks taken by [`PgStorage::locked_on`], one lock per key. Each is
/// the first half of PostgreSQL's two-key advisory locks, a key space apart from the
/// one-key locks (the write lock and the migration lock) whatever the numbers.
#[derive(Debug, Clone, Copy)]
#[repr(i32)]
pub(super) enum LockSpace {
    /// One lock per photo hash: its upload's rows (ASCII "phot").
    Photo = 0x7068_6f74,
    /// One lock per pairing code id: its codes and their redemption (ASCII "pair").
    PairingCode = 0x7061_6972,
}

/// The second key of `key`'s lock: the first four bytes of its SHA-256, the same on every
/// instance. Two keys that share them only wait for each other.
fn lock_key(key: &str) -> i32 {
    let digest = Sha256::digest(key.as_bytes());
    i32::from_be_bytes([digest[0], digest[1], digest[2], digest[3]])
}

impl PgStorage {
    /// Runs `f` in a `READ COMMITTED` transaction that first takes the advisory lock of `key`
    /// in `space`, and commits it: the transactions of one key run one after the other, and
    /// each statement after the lock sees what the previous one committed. For rows whose
    /// check-then-write SQLite's single writer made atomic and that no document write touches
    /// (a photo's upload, a pairing code), so they need not wait for the write lock.
    pub(super) fn locked_on<T>(
        &self,
        space: LockSpace,
        key: &str,
        f: impl FnOnce(&mut Tx<'_>) -> StorageResult<T>,
    ) -> StorageResult<T> {
        let mut conn = self.pool.get()?;
        let mut tx = conn.begin(Some(IsolationLevel::ReadCommitted), false)?;
        tx.execute(
            "SELECT pg_advisory_xact_lock($1, $2)",
            &[&(space as i32), &lock_key(key)],
        )?;
        let out = f(&mut tx)?;
        tx.commit()?;
        Ok(out)
    }
}

/// Records the photos the stored documents `docs` reference, with the thumbnail each
/// reference names (inside the documents' write). Which thumbnail a row keeps is SQLite's rule (see
/// `index_photo_refs` in `sqlite_photos.rs`): within one document the first reference naming
/// a valid SHA-256 wins, and a row's thumbnail, once set, never changes.
///
/// One statement for all the documents rather than one per reference: documents are indexed
/// again at every write. PostgreSQL refuses to upsert one row twice in a statement, so each
/// document's references are first reduced to one per photo with the thumbnail the sequence
/// of SQLite's upserts would keep (a batch holds each document once).
pub(super) fn index_photo_refs<'d>(
    tx: &mut Tx<'_>,
    docs: impl IntoIterator<Item = (&'d str, &'d Decoded)>,
) -> StorageResult<()> {
    // One statement for the whole batch of documents (`postgres_doc_writes.rs`): a push of
    // 1,000 cases with photos is one round trip here, not 1,000.
    let (mut ids, mut photos, mut thumbs) = (Vec::new(), Vec::new(), Vec::new());
    for (doc_id, decoded) in docs {
        let (doc_photos, doc_thumbs) = first_thumbnails(&references(decoded));
        ids.extend(std::iter::repeat_n(doc_id, doc_photos.len()));
        photos.extend(doc_photos);
        thumbs.extend(doc_thumbs);
    }
    if photos.is_empty() {
        return Ok(());
    }
    tx.execute(
        "INSERT INTO photo_refs (sha256, doc_id, thumb_sha256)
         SELECT p, d, t FROM unnest($1::text[], $2::text[], $3::text[]) AS u (d, p, t)
         ON CONFLICT (sha256, doc_id) DO UPDATE
             SET thumb_sha256 = coalesce(photo_refs.thumb_sha256, excluded.thumb_sha256)",
        &[&ids, &photos, &thumbs],
    )?;
    Ok(())
}

/// One entry per photo of `references`, in the order first referenced, with the first valid
/// thumbnail hash any of its references names (a malformed one names nothing: it cannot name
/// a stored thumbnail).
fn first_thumbnails(references: &[&PhotoRef]) -> (Vec<String>, Vec<Option<String>>) {
    let mut photos: Vec<String> = Vec::new();
    let mut thumbs: Vec<Option<String>> = Vec::new();
    let mut at: HashMap<&str, usize> = HashMap::new();
    for photo in references {
        let thumb = photo
            .thumb_sha256
            .as_deref()
            .filter(|t| is_sha256_hex(t))
            .map(str::to_owned);
        match at.get(photo.sha256.as_str()) {
            Some(&i) => {
                if thumbs[i].is_none() {
                    thumbs[i] = thumb;
                }
            }
            None => {
                at.insert(&photo.sha256, photos.len());
                photos.push(photo.sha256.clone());
                thumbs.push(thumb);
            }
        }
    }
    (photos, thumbs)
}

fn complete_size(tx: &mut Tx<'_>, sha256: &str) -> StorageResult<Option<u64>> {
    Ok(tx
        .query_opt("SELECT size FROM photos WHERE sha256 = $1", &[&sha256])?
        .map(|r| r.try_get::<_, i64>(0))
        .transpose()?
        .map(|n| n as u64))
}

/// The `data` of a photo's row: its bytes, or empty when they are in the photo store.
fn stored_data(tx: &mut Tx<'_>, sha256: &str) -> StorageResult<Option<Vec<u8>>> {
    Ok(tx
        .query_opt("SELECT data FROM photos WHERE sha256 = $1", &[&sha256])?
        .map(|r| r.try_get(0))
        .transpose()?)
}

fn partial(tx: &mut Tx<'_>, sha256: &str) -> StorageResult<Option<(u64, u64)>> {
    tx.query_opt(
        "SELECT total, received FROM photo_uploads WHERE sha256 = $1",
        &[&sha256],
    )?
    .map(|r| -> StorageResult<(u64, u64)> {
        Ok((
            r.try_get::<_, i64>(0)? as u64,
            r.try_get::<_, i64>(1)? as u64,
        ))
    })
    .transpose()
}

fn state(tx: &mut Tx<'_>, sha256: &str) -> StorageResult<PhotoUpload> {
    let complete = complete_size(tx, sha256)?;
    upload_state(sha256, complete, || partial(tx, sha256))
}

fn discard(tx: &mut Tx<'_>, sha256: &str) -> StorageResult<()> {
    tx.execute("DELETE FROM photo_chunks WHERE sha256 = $1", &[&sha256])?;
    tx.execute("DELETE FROM photo_uploads WHERE sha256 = $1", &[&sha256])?;
    Ok(())
}

/// Drops the uploads untouched for [`STALE_UPLOAD_MS`], with their chunks, when another
/// upload starts (as on SQLite). Only those whose photo lock is free right now: an upload
/// that another transaction is appending to is not stale, and waiting for its lock here
/// could deadlock two uploads that each clean up the other's.
fn drop_stale_uploads(tx: &mut Tx<'_>, now_ms: i64) -> StorageResult<()> {
    let keys: Vec<(String, i32)> = tx
        .query(
            "SELECT sha256 FROM photo_uploads WHERE updated_at < $1",
            &[&(now_ms - STALE_UPLOAD_MS)],
        )?
        .iter()
        .map(|r| r.try_get::<_, String>(0))
        .collect::<Result<Vec<_>, _>>()?
        .into_iter()
        .map(|sha| {
            let key = lock_key(&sha);
            (sha, key)
        })
        .collect();
    for (sha, key) in keys {
        let free: bool = tx
            .query_one(
                "SELECT pg_try_advisory_xact_lock($1, $2)",
                &[&(LockSpace::Photo as i32), &key],
            )?
            .try_get(0)?;
        if !free {
            continue;
        }
        // Still stale now that it is locked: a chunk may have committed since the scan.
        let dropped = tx.execute(
            "DELETE FROM photo_uploads WHERE sha256 = $1 AND updated_at < $2",
            &[&sha, &(now_ms - STALE_UPLOAD_MS)],
        )?;
        if dropped > 0 {
            tx.execute("DELETE FROM photo_chunks WHERE sha256 = $1", &[&sha])?;
        }
    }
    Ok(())
}

/// Records that an upload declared itself the thumbnail of a photo (`thumbnail_of`); the
/// first declaration stays. See `link_thumbnail` in `sqlite_photos.rs` for when it is served.
fn link_thumbnail(tx: &mut Tx<'_>, chunk: &PhotoChunk<'_>) -> StorageResult<()> {
    if let Some(photo) = chunk.thumbnail_of {
        tx.execute(
            "INSERT INTO photo_thumbnails (photo_sha256, thumb_sha256) VALUES ($1, $2)
             ON CONFLICT DO NOTHING",
            &[&photo, &chunk.sha256],
        )?;
    }
    Ok(())
}

impl PgStorage {
    /// Where the upload of `sha256` stands.
    pub(super) fn photo_upload_state(&self, sha256: &str) -> StorageResult<PhotoUpload> {
        check_sha256("photo hash", sha256)?;
        self.read(|tx| state(tx, sha256))
    }

    /// Appends one chunk to an upload, and completes the photo with the last one (see
    /// `append_photo_chunk` in `sqlite_photos.rs` for each rule, which are the same here).
    pub(super) fn append_photo_chunk(
        &self,
        chunk: &PhotoChunk<'_>,
        now_ms: i64,
    ) -> StorageResult<ChunkOutcome> {
        // The hashes name what is looked up and linked, so they are checked first; the rest
        // only once the photo is known not to be complete (a PUT on a complete photo is a
        // no-op whatever it says).
        check_sha256("photo hash", chunk.sha256)?;
        if let Some(photo) = chunk.thumbnail_of {
            check_sha256("thumbnail_of", photo)?;
        }
        let checked = validate(chunk);
        let sha = chunk.sha256;
        self.locked_on(LockSpace::Photo, sha, |tx| {
            if complete_size(tx, sha)?.is_some() {
                // Idempotent: nothing to write but the thumbnail link.
                link_thumbnail(tx, chunk)?;
                return Ok(ChunkOutcome::Stored(state(tx, sha)?));
            }
            checked?;
            let received = match partial(tx, sha)? {
                Some((total, received)) if total == chunk.total => received,
                // Another size for the same hash: a client starting over replaces it.
                Some(_) if chunk.offset == 0 => {
                    discard(tx, sha)?;
                    0
                }
                Some(_) => return Ok(ChunkOutcome::WrongOffset(state(tx, sha)?)),
                None => {
                    drop_stale_uploads(tx, now_ms)?;
                    0
                }
            };
            if chunk.offset != received {
                return Ok(ChunkOutcome::WrongOffset(state(tx, sha)?));
            }
            let end = received + chunk.data.len() as u64;
            tx.execute(
                "INSERT INTO photo_chunks (sha256, start, data) VALUES ($1, $2, $3)",
                &[&sha, &(received as i64), &chunk.data],
            )?;
            tx.execute(
                "INSERT INTO photo_uploads (sha256, total, received, device_id, updated_at)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (sha256) DO UPDATE SET received = excluded.received,
                     device_id = excluded.device_id, updated_at = excluded.updated_at",
                &[
                    &sha,
                    &(chunk.total as i64),
                    &(end as i64),
                    &chunk.device_id,
                    &now_ms,
                ],
            )?;
            if end < chunk.total {
                return Ok(ChunkOutcome::Stored(state(tx, sha)?));
            }
            let outcome = match assemble(tx, chunk, now_ms, self.photo_store.as_deref())? {
                None => {
                    link_thumbnail(tx, chunk)?;
                    ChunkOutcome::Stored(state(tx, sha)?)
                }
                Some(actual) => ChunkOutcome::HashMismatch { actual },
            };
            discard(tx, sha)?;
            Ok(outcome)
        })
    }

    /// True if `device` may read the photo (or thumbnail) `sha256`: the centre and devices
    /// whose scope is the whole street read every photo; other devices those referenced by a
    /// document of their scope, or the thumbnail of such a photo (why: see `photo_refs` in
    /// `sqlite_photos.rs`).
    ///
    /// A thumbnail linked by uploads to several photos is readable when any of them is;
    /// SQLite's scalar subquery asks about one of them, whichever it reads first.
    pub(super) fn photo_visible_to(&self, device: &Device, sha256: &str) -> StorageResult<bool> {
        check_sha256("photo hash", sha256)?;
        if device.role == DeviceRole::Centre || device.scope.all {
            return Ok(true);
        }
        let scope = ScopeParams::of(device);
        let params: Vec<Param<'_>> = scope.params(&[&sha256], &[]);
        self.read(|tx| {
            let visible: bool = tx
                .query_one(
                    &format!(
                        "SELECT EXISTS (SELECT 1 FROM photo_refs r JOIN documents d ON d.doc_id = r.doc_id
                         WHERE (r.sha256 = $1 OR r.sha256 IN
                                (SELECT photo_sha256 FROM photo_thumbnails WHERE thumb_sha256 = $1))
                           AND {})",
                        in_scope(2)
                    ),
                    &params,
                )?
                .try_get(0)?;
            if visible {
                return Ok(true);
            }
            // A thumbnail a reference of the device's scope names, even if it was uploaded
            // without `thumbnail_of`. Asked second because `thumb_sha256` has no index.
            let declared: bool = tx
                .query_one(
                    &format!(
                        "SELECT EXISTS (SELECT 1 FROM photo_refs r JOIN documents d ON d.doc_id = r.doc_id
                         WHERE r.thumb_sha256 = $1 AND {})",
                        in_scope(2)
                    ),
                    &params,
                )?
                .try_get(0)?;
            Ok(declared)
        })
    }

    /// The bytes of the complete photo `sha256`, if it is stored.
    pub(super) fn photo_data(&self, sha256: &str) -> StorageResult<Option<Vec<u8>>> {
        check_sha256("photo hash", sha256)?;
        self.read(|tx| stored_data(tx, sha256))?
            .map(|data| bytes_of(self.photo_store.as_deref(), sha256, data))
            .transpose()
    }

    /// Up to `limit` photos whose bytes are in the database, by hash after `after`.
    pub(super) fn photos_with_data(&self, after: &str, limit: u32) -> StorageResult<Vec<String>> {
        self.read(|tx| {
            tx.query(
                "SELECT sha256 FROM photos WHERE sha256 > $1 AND octet_length(data) > 0
                 ORDER BY sha256 LIMIT $2",
                &[&after, &i64::from(limit)],
            )?
            .iter()
            .map(|r| Ok(r.try_get::<_, String>(0)?))
            .collect::<StorageResult<Vec<String>>>()
        })
    }

    /// Moves one photo's bytes into the photo store (see `photo_store::move_out`), under the
    /// photo's lock.
    pub(super) fn move_to_store(&self, sha256: &str) -> StorageResult<Moved> {
        check_sha256("photo hash", sha256)?;
        self.locked_on(LockSpace::Photo, sha256, |tx| {
            let data = stored_data(tx, sha256)?;
            move_out(
                self.photo_store.as_deref(),
                sha256,
                || Ok(data),
                || {
                    tx.execute(
                        "UPDATE photos SET data = ''::bytea WHERE sha256 = $1",
                        &[&sha256],
                    )?;
                    Ok(())
                },
            )
        })
    }

    /// The thumbnail to serve for the photo `sha256`, with its own hash: only a thumbnail a
    /// document names, the photo uploader's first, then the earliest; the upload link only
    /// when no reference names one. The reasons are written at `thumbnail_data` in
    /// `sqlite_photos.rs`; the conformance suite checks each rule.
    pub(super) fn thumbnail_data(&self, sha256: &str) -> StorageResult<Option<(String, Vec<u8>)>> {
        check_sha256("photo hash", sha256)?;
        self.read(|tx| {
            let declared: Option<String> = tx
                .query_opt(
                    "SELECT t.sha256 FROM photos t
                     WHERE t.sha256 IN (SELECT thumb_sha256 FROM photo_refs
                                        WHERE sha256 = $1 AND thumb_sha256 IS NOT NULL)
                     ORDER BY t.uploaded_by IS NOT DISTINCT FROM
                                  (SELECT uploaded_by FROM photos WHERE sha256 = $1) DESC,
                         t.uploaded_at, t.sha256
                     LIMIT 1",
                    &[&sha256],
                )?
                .map(|r| r.try_get(0))
                .transpose()?;
            let thumb = match declared {
                Some(thumb) => thumb,
                None => {
                    let names_one: bool = tx
                        .query_one(
                            "SELECT EXISTS (SELECT 1 FROM photo_refs
                                            WHERE sha256 = $1 AND thumb_sha256 IS NOT NULL)",
                            &[&sha256],
                        )?
                        .try_get(0)?;
                    if names_one {
                        // The named thumbnail has not arrived yet; no other stands in for it.
                        return Ok(None);
                    }
                    let linked: Option<String> = tx
                        .query_opt(
                            "SELECT thumb_sha256 FROM photo_thumbnails WHERE photo_sha256 = $1",
                            &[&sha256],
                        )?
                        .map(|r| r.try_get(0))
                        .transpose()?;
                    match linked {
                        Some(thumb) => thumb,
                        None => return Ok(None),
                    }
                }
            };
            let data = stored_data(tx, &thumb)?;
            Ok(data.map(|data| (thumb, data)))
        })?
        .map(|(thumb, data)| {
            let data = bytes_of(self.photo_store.as_deref(), &thumb, data)?;
            Ok((thumb, data))
        })
        .transpose()
    }
}

/// Hands the upload's chunks to `f` in order, one at a time (one chunk in memory), checking
/// that they follow each other and cover the photo.
fn for_each_chunk(
    tx: &mut Tx<'_>,
    chunk: &PhotoChunk<'_>,
    mut f: impl FnMut(&[u8]) -> StorageResult<()>,
) -> StorageResult<()> {
    let mut order = ChunkOrder::of(chunk);
    let params: [Param<'_>; 1] = [&chunk.sha256];
    let mut rows = tx.query_raw(
        "SELECT start, data FROM photo_chunks WHERE sha256 = $1 ORDER BY start",
        params,
    )?;
    while let Some(row) = rows.next()? {
        let data: &[u8] = row.try_get(1)?;
        order.next(row.try_get::<_, i64>(0)? as u64, data.len())?;
        f(data)?;
    }
    order.end()
}

/// Stores the complete upload as a new `photos` row, when its bytes hash to the photo's name
/// (`None`; otherwise stores nothing and returns the actual hash). With a `store`, the
/// chunks are streamed into it, which checks the hash, and the row's `data` is left empty;
/// without, they are hashed here and only when the hash matches does one
/// `INSERT … SELECT string_agg(…)` join them inside the database.
fn assemble(
    tx: &mut Tx<'_>,
    chunk: &PhotoChunk<'_>,
    now_ms: i64,
    store: Option<&dyn PhotoStore>,
) -> StorageResult<Option<String>> {
    let sha = chunk.sha256;
    let insert = match store {
        Some(store) => {
            // The file is durable before the row that names it commits (`photo_store.rs`).
            let mut writer = store.writer(sha)?;
            for_each_chunk(tx, chunk, |data| writer.write(data))?;
            if let Put::HashMismatch { actual } = writer.finish()? {
                return Ok(Some(actual));
            }
            "INSERT INTO photos (sha256, size, data, uploaded_by, uploaded_at)
             VALUES ($1, $2, ''::bytea, $3, $4)"
        }
        None => {
            let mut hasher = Sha256::new();
            for_each_chunk(tx, chunk, |data| {
                hasher.update(data);
                Ok(())
            })?;
            let actual = sha256_hex(&hasher.finalize());
            if actual != sha {
                return Ok(Some(actual));
            }
            "INSERT INTO photos (sha256, size, data, uploaded_by, uploaded_at)
             SELECT $1, $2, string_agg(data, ''::bytea ORDER BY start), $3, $4
             FROM photo_chunks WHERE sha256 = $1"
        }
    };
    tx.execute(
        insert,
        &[&sha, &(chunk.total as i64), &chunk.device_id, &now_ms],
    )?;
    Ok(None)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::storage::conformance::photo_ref as reference;

    /// A document's references reduce to one row per photo with the thumbnail SQLite's
    /// upserts, one reference after the other, would keep: the first valid one.
    #[test]
    fn each_photo_keeps_the_first_valid_thumbnail_its_references_name() {
        let (p, q) = ("a".repeat(64), "b".repeat(64));
        let (t1, t2) = ("1".repeat(64), "2".repeat(64));
        let refs = [
            reference(&p, None),
            reference(&q, Some(&t2)),
            reference(&p, Some("NOT-A-HASH")),
            reference(&p, Some(&t1)),
            reference(&p, Some(&t2)),
            reference(&q, Some(&t1)),
        ];
        let refs: Vec<&PhotoRef> = refs.iter().collect();
        assert_eq!(
            first_thumbnails(&refs),
            (vec![p, q], vec![Some(t1), Some(t2)])
        );
        assert_eq!(first_thumbnails(&[]), (vec![], vec![]));
    }
}
