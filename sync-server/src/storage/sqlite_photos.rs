//! Photos in the SQLite backend: resumable, content-addressed uploads.
//!
//! **Why a partial upload is a table of chunks in the database**, rather than a partial file
//! appended and fsynced next to it:
//! 1. The server is stateless over its storage (several instances may share one PostgreSQL
//!    database): a partial file on one machine's disk would be invisible to the instance that
//!    receives the next chunk. Rows of chunks work the same in SQLite and PostgreSQL.
//! 2. Each chunk is one transaction that also moves the upload's offset, committed with
//!    `synchronous = FULL`. The offset the server reports is exactly what it durably holds, and a
//!    restart (or a crash) loses nothing that was acknowledged. A file's length and a separate
//!    offset record can disagree after a crash (a torn tail, or an append the record missed),
//!    which would need fsync ordering and a repair pass at start-up.
//! 3. Completion — checking the hash, storing the photo, dropping the chunks — is one
//!    transaction too: a photo is either absent, partial, or complete and verified, never a
//!    stored photo whose bytes do not match its name.
//!
//! With a photo directory (`--photos-dir`, `photo_store.rs`) completion writes the bytes into
//! the photo store, checked and durable, before that transaction commits, and the row keeps
//! an empty `data`; the chunks stay here either way.
//!
//! The cost is that each byte is written twice (as a chunk, then into the photo), which at a
//! few hundred KB per photo is nothing next to sending it over a mobile network. The photo is
//! assembled by streaming the chunks into a pre-sized BLOB (incremental BLOB I/O) while hashing
//! them, so completion holds one chunk in memory, not the photo.

use rusqlite::{Connection, MAIN_DB, OptionalExtension, TransactionBehavior, params};
use sha2::{Digest, Sha256};

use wangge_core::doc::{DocKind, EventDoc};
use wangge_core::{Catalog, PhotoRef};

use super::{IN_SCOPE, ScopeParams, SqliteStorage, lock};
use crate::docs::{Decoded, decode};
use crate::storage::error::{PhotoRefusal, StorageError, StorageResult};
use crate::storage::photo_store::{
    ChunkOrder, Moved, PhotoStore, Put, bytes_of, move_out, sha256_hex,
};
use crate::storage::{ChunkOutcome, Device, DeviceRole, PhotoChunk, PhotoUpload};
use crate::{MAX_PHOTO_BYTES, MAX_PHOTO_CHUNK};

/// The photo tables (schema version 2 of the server database).
pub(super) const PHOTO_SCHEMA: &str = "
CREATE TABLE photos (
    sha256      TEXT PRIMARY KEY,
    size        INTEGER NOT NULL,
    data        BLOB NOT NULL,
    uploaded_by TEXT NOT NULL,
    uploaded_at INTEGER NOT NULL
);
-- Uploads in progress: the chunks received so far cover [0, received).
CREATE TABLE photo_uploads (
    sha256     TEXT PRIMARY KEY,
    total      INTEGER NOT NULL,
    received   INTEGER NOT NULL,
    device_id  TEXT NOT NULL,
    updated_at INTEGER NOT NULL
);
CREATE INDEX photo_uploads_by_age ON photo_uploads(updated_at);
CREATE TABLE photo_chunks (
    sha256 TEXT NOT NULL,
    start  INTEGER NOT NULL,
    data   BLOB NOT NULL,
    PRIMARY KEY (sha256, start)
);
-- Which thumbnail shows which photo (both stored in `photos` under their own hashes).
CREATE TABLE photo_thumbnails (
    photo_sha256 TEXT PRIMARY KEY,
    thumb_sha256 TEXT NOT NULL
);
";

/// Which documents reference which photos (schema version 5). Rows only grow, like the events
/// that carry the references. A device may read a photo when one of these documents is in its
/// scope: hashes are hard to guess, but they are not secrets (they travel in documents, logs
/// and URLs), so knowing one must not be enough to see a photo of another street's case.
pub(super) const PHOTO_REFS_SCHEMA: &str = "
CREATE TABLE photo_refs (
    sha256 TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    PRIMARY KEY (sha256, doc_id)
) WITHOUT ROWID;
";

/// Version 6: the thumbnail a reference names (its hash), so the server serves that thumbnail and
/// never whichever upload claimed the photo first.
pub(super) const THUMB_REF_COLUMN: &str = "
ALTER TABLE photo_refs ADD COLUMN thumb_sha256 TEXT;
";

/// Every photo reference of a document with the thumbnail it names (if it names one), in
/// document order: the report's, then each event's.
pub(in crate::storage) fn references(decoded: &Decoded) -> Vec<&PhotoRef> {
    match decoded {
        Decoded::Case { header, events, .. } => header
            .photos
            .iter()
            .chain(events.iter().flat_map(|e| e.kind.photos()))
            .collect(),
        Decoded::ZeroReport(r) => r.events.iter().flat_map(|e| e.kind.photos()).collect(),
    }
}

/// Records the photos a stored document references, with the thumbnail each reference names.
///
/// **Which thumbnail a row keeps.** A row is one (photo, document) pair, so every document
/// declares its own thumbnail for a photo and no document can overwrite another's; any declared
/// pair is valid, and `thumbnail_data` serves one of them (see there which). Within one
/// document the first reference that names a thumbnail wins and later ones never replace it:
/// references only grow, and a row that changed with each re-indexing would let a later event
/// swap the thumbnail of a photo the case has shown all along. A reference naming none (a
/// document written before references named their thumbnail) leaves the column NULL, and a
/// later re-indexing of the same document fills it if a newer reference names one. A value
/// that is not a SHA-256 is not recorded: it cannot name a stored thumbnail.
pub(super) fn index_photo_refs(
    tx: &Connection,
    doc_id: &str,
    decoded: &Decoded,
) -> StorageResult<()> {
    for photo in references(decoded) {
        record_ref(tx, doc_id, photo)?;
    }
    Ok(())
}

/// Records one reference of `doc_id` (see [`index_photo_refs`] for which thumbnail is kept).
fn record_ref(tx: &Connection, doc_id: &str, photo: &PhotoRef) -> StorageResult<()> {
    let thumb = photo.thumb_sha256.as_deref().filter(|t| is_sha256_hex(t));
    tx.prepare_cached(
        "INSERT INTO photo_refs (sha256, doc_id, thumb_sha256) VALUES (?1, ?2, ?3)
         ON CONFLICT (sha256, doc_id) DO UPDATE
             SET thumb_sha256 = coalesce(photo_refs.thumb_sha256, excluded.thumb_sha256)",
    )?
    .execute(params![photo.sha256, doc_id, thumb])?;
    Ok(())
}

/// Records the photos a document references, without thumbnails: for the upgrade of a database
/// from before version 5, whose `photo_refs` has no `thumb_sha256` column yet (version 6 adds
/// it, then [`backfill_thumb_refs`] fills it).
fn index_photo_refs_v5(tx: &Connection, doc_id: &str, decoded: &Decoded) -> StorageResult<()> {
    let mut insert =
        tx.prepare_cached("INSERT OR IGNORE INTO photo_refs (sha256, doc_id) VALUES (?1, ?2)")?;
    for sha in decoded.photo_hashes() {
        insert.execute(params![sha, doc_id])?;
    }
    Ok(())
}

/// Fills `photo_refs` from the stored documents when a database from before version 5 is
/// opened: one document decoded at a time, so memory does not grow with the database.
pub(super) fn backfill_photo_refs(tx: &Connection, catalog: &Catalog) -> StorageResult<()> {
    for_each_document(tx, catalog, |doc_id, decoded| {
        index_photo_refs_v5(tx, doc_id, decoded)
    })
}

/// Fills `photo_refs.thumb_sha256` from the stored documents when a database from before
/// version 6 is opened (call it after [`THUMB_REF_COLUMN`]): the thumbnails that references
/// in documents stored by an older server name, so those photos are served their declared
/// thumbnail rather than the legacy link. Idempotent; one document decoded at a time.
///
/// Only documents pushed by devices that already name thumbnails to a server that did not read
/// the name yet carry any; without this their photos keep the legacy link until the document
/// changes again, which is what happened before thumbnails were named.
#[allow(
    dead_code,
    reason = "to be called by SqliteStorage::open (sqlite.rs) in the version 6 step"
)]
pub(super) fn backfill_thumb_refs(tx: &Connection, catalog: &Catalog) -> StorageResult<()> {
    for_each_document(tx, catalog, |doc_id, decoded| {
        index_photo_refs(tx, doc_id, decoded)
    })
}

/// Decodes the stored documents one at a time, in feed order, and hands each to `f`.
fn for_each_document(
    tx: &Connection,
    catalog: &Catalog,
    mut f: impl FnMut(&str, &Decoded) -> StorageResult<()>,
) -> StorageResult<()> {
    // Only read, never saved: any actor will do.
    let actor = automerge::ActorId::random();
    let mut stmt = tx.prepare("SELECT doc_id, kind, data FROM documents ORDER BY seq")?;
    let mut rows = stmt.query([])?;
    while let Some(row) = rows.next()? {
        let doc_id: String = row.get(0)?;
        let kind_text: String = row.get(1)?;
        let kind = DocKind::parse(&kind_text).ok_or_else(|| {
            StorageError::internal(format!(
                "document {doc_id} has an unknown kind '{kind_text}'"
            ))
        })?;
        let data: Vec<u8> = row.get(2)?;
        let doc = EventDoc::load(&doc_id, &data, &actor).map_err(StorageError::internal)?;
        let decoded = decode(&doc, kind, catalog)?;
        f(&doc_id, &decoded)?;
    }
    Ok(())
}

/// Uploads untouched for this long are dropped when another upload starts: a device that
/// comes back later asks where its upload stands and starts again from zero.
pub(in crate::storage) const STALE_UPLOAD_MS: i64 = 30 * 24 * 3_600_000;

/// True if `text` is a SHA-256 in lowercase hex.
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Refuses a hash that is not 64 lowercase hex digits.
pub fn check_sha256(what: &str, text: &str) -> StorageResult<()> {
    if is_sha256_hex(text) {
        Ok(())
    } else {
        Err(PhotoRefusal::InvalidHash {
            what: what.to_owned(),
            text: text.chars().take(80).collect(),
        }
        .into())
    }
}

fn complete_size(conn: &Connection, sha256: &str) -> StorageResult<Option<u64>> {
    Ok(conn
        .prepare_cached("SELECT size FROM photos WHERE sha256 = ?1")?
        .query_row([sha256], |r| r.get::<_, i64>(0))
        .optional()?
        .map(|n| n as u64))
}

fn partial(conn: &Connection, sha256: &str) -> StorageResult<Option<(u64, u64)>> {
    Ok(conn
        .prepare_cached("SELECT total, received FROM photo_uploads WHERE sha256 = ?1")?
        .query_row([sha256], |r| {
            Ok((r.get::<_, i64>(0)? as u64, r.get::<_, i64>(1)? as u64))
        })
        .optional()?)
}

fn state(conn: &Connection, sha256: &str) -> StorageResult<PhotoUpload> {
    upload_state(sha256, complete_size(conn, sha256)?, || {
        partial(conn, sha256)
    })
}

/// Where the upload of `sha256` stands: complete with the stored photo's size `complete`,
/// else as far as the upload in progress `partial` reads (its total and what it received), or
/// not begun. The same on every backend; `partial` is read only for a photo not complete.
pub(in crate::storage) fn upload_state(
    sha256: &str,
    complete: Option<u64>,
    partial: impl FnOnce() -> StorageResult<Option<(u64, u64)>>,
) -> StorageResult<PhotoUpload> {
    if let Some(size) = complete {
        return Ok(PhotoUpload {
            sha256: sha256.to_owned(),
            received: size,
            total: Some(size),
            complete: true,
        });
    }
    let (total, received) = match partial()? {
        Some((total, received)) => (Some(total), received),
        None => (None, 0),
    };
    Ok(PhotoUpload {
        sha256: sha256.to_owned(),
        received,
        total,
        complete: false,
    })
}

fn discard(conn: &Connection, sha256: &str) -> StorageResult<()> {
    conn.prepare_cached("DELETE FROM photo_chunks WHERE sha256 = ?1")?
        .execute([sha256])?;
    conn.prepare_cached("DELETE FROM photo_uploads WHERE sha256 = ?1")?
        .execute([sha256])?;
    Ok(())
}

/// Records that an upload declared itself the thumbnail of a photo (`thumbnail_of`); the first
/// declaration stays. Served only for photos no reference names a thumbnail of (documents
/// written before references named one): see [`SqliteStorage::thumbnail_data`].
fn link_thumbnail(conn: &Connection, chunk: &PhotoChunk<'_>) -> StorageResult<()> {
    if let Some(photo) = chunk.thumbnail_of {
        conn.prepare_cached(
            "INSERT OR IGNORE INTO photo_thumbnails (photo_sha256, thumb_sha256) VALUES (?1, ?2)",
        )?
        .execute(params![photo, chunk.sha256])?;
    }
    Ok(())
}

/// Refuses a chunk whose hashes, total, length or offset are not acceptable (the same
/// rules on every backend).
pub(in crate::storage) fn validate(chunk: &PhotoChunk<'_>) -> StorageResult<()> {
    check_sha256("photo hash", chunk.sha256)?;
    if let Some(photo) = chunk.thumbnail_of {
        check_sha256("thumbnail_of", photo)?;
    }
    if chunk.total == 0 || chunk.total > MAX_PHOTO_BYTES {
        return Err(PhotoRefusal::TooLarge {
            total: chunk.total,
            max: MAX_PHOTO_BYTES,
        }
        .into());
    }
    if chunk.data.is_empty() {
        return Err(PhotoRefusal::EmptyChunk.into());
    }
    if chunk.data.len() > MAX_PHOTO_CHUNK {
        return Err(PhotoRefusal::ChunkTooLarge {
            max: MAX_PHOTO_CHUNK,
        }
        .into());
    }
    if chunk.offset.saturating_add(chunk.data.len() as u64) > chunk.total {
        return Err(PhotoRefusal::BeyondTotal {
            len: chunk.data.len(),
            offset: chunk.offset,
            total: chunk.total,
        }
        .into());
    }
    Ok(())
}

impl SqliteStorage {
    pub(super) fn photo_upload_state(&self, sha256: &str) -> StorageResult<PhotoUpload> {
        check_sha256("photo hash", sha256)?;
        state(&self.reader(), sha256)
    }

    pub(super) fn append_photo_chunk(
        &self,
        chunk: &PhotoChunk<'_>,
        now_ms: i64,
    ) -> StorageResult<ChunkOutcome> {
        // The hashes name what is looked up and linked, so they are checked first; the rest
        // (total, length, offset) only once the photo is known not to be complete, since a PUT
        // on a complete photo is a no-op whatever it says (docs/sync-protocol.md, "Photos").
        check_sha256("photo hash", chunk.sha256)?;
        if let Some(photo) = chunk.thumbnail_of {
            check_sha256("thumbnail_of", photo)?;
        }
        let checked = validate(chunk);
        let sha = chunk.sha256;
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if complete_size(&tx, sha)?.is_some() {
            // Idempotent: the photo is already here, verified. Nothing to write but the
            // thumbnail link, in case an earlier upload of the same bytes did not declare it.
            link_thumbnail(&tx, chunk)?;
            let outcome = ChunkOutcome::Stored(state(&tx, sha)?);
            tx.commit()?;
            return Ok(outcome);
        }
        checked?;
        let received = match partial(&tx, sha)? {
            Some((total, received)) if total == chunk.total => received,
            // Another size for the same hash: the old partial cannot be this photo. A client
            // starting over (offset 0) replaces it; any other offset is told where things stand.
            Some(_) if chunk.offset == 0 => {
                discard(&tx, sha)?;
                0
            }
            Some(_) => return Ok(ChunkOutcome::WrongOffset(state(&tx, sha)?)),
            None => {
                tx.prepare_cached(
                    "DELETE FROM photo_chunks WHERE sha256 IN
                         (SELECT sha256 FROM photo_uploads WHERE updated_at < ?1)",
                )?
                .execute([now_ms - STALE_UPLOAD_MS])?;
                tx.prepare_cached("DELETE FROM photo_uploads WHERE updated_at < ?1")?
                    .execute([now_ms - STALE_UPLOAD_MS])?;
                0
            }
        };
        if chunk.offset != received {
            return Ok(ChunkOutcome::WrongOffset(state(&tx, sha)?));
        }
        let end = received + chunk.data.len() as u64;
        tx.prepare_cached("INSERT INTO photo_chunks (sha256, start, data) VALUES (?1, ?2, ?3)")?
            .execute(params![sha, received as i64, chunk.data])?;
        tx.prepare_cached(
            "INSERT INTO photo_uploads (sha256, total, received, device_id, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (sha256) DO UPDATE SET received = excluded.received,
                 device_id = excluded.device_id, updated_at = excluded.updated_at",
        )?
        .execute(params![
            sha,
            chunk.total as i64,
            end as i64,
            chunk.device_id,
            now_ms
        ])?;
        if end < chunk.total {
            let outcome = ChunkOutcome::Stored(state(&tx, sha)?);
            tx.commit()?;
            return Ok(outcome);
        }
        let outcome = match assemble(&tx, chunk, now_ms, self.photo_store.as_deref())? {
            None => {
                link_thumbnail(&tx, chunk)?;
                ChunkOutcome::Stored(state(&tx, sha)?)
            }
            Some(actual) => ChunkOutcome::HashMismatch { actual },
        };
        discard(&tx, sha)?;
        tx.commit()?;
        Ok(outcome)
    }

    /// True if `device` may read the photo (or thumbnail) `sha256`: the centre and devices
    /// whose scope is the whole street read every photo; other devices those referenced by a
    /// document of their scope, or the thumbnail of such a photo.
    pub(super) fn photo_in_scope(&self, device: &Device, sha256: &str) -> StorageResult<bool> {
        check_sha256("photo hash", sha256)?;
        if device.role == DeviceRole::Centre || device.scope.all {
            return Ok(true);
        }
        let scope = ScopeParams::of(device)?;
        let conn = self.reader();
        let visible = conn
            .prepare_cached(&format!(
                "SELECT EXISTS (SELECT 1 FROM photo_refs r JOIN documents d ON d.doc_id = r.doc_id
                 WHERE r.sha256 IN (:sha,
                     (SELECT photo_sha256 FROM photo_thumbnails WHERE thumb_sha256 = :sha))
                   AND {IN_SCOPE})"
            ))?
            .query_row(&scope.with(&[(":sha", &sha256)])[..], |r| r.get(0))?;
        if visible {
            return Ok(true);
        }
        // A thumbnail a reference of the device's scope names, even if it was uploaded without
        // `thumbnail_of`. Asked second because `thumb_sha256` has no index: only requests the
        // first question refuses pay for the scan.
        let declared = conn
            .prepare_cached(&format!(
                "SELECT EXISTS (SELECT 1 FROM photo_refs r JOIN documents d ON d.doc_id = r.doc_id
                 WHERE r.thumb_sha256 = :sha AND {IN_SCOPE})"
            ))?
            .query_row(&scope.with(&[(":sha", &sha256)])[..], |r| r.get(0))?;
        Ok(declared)
    }

    pub(super) fn photo_data(&self, sha256: &str) -> StorageResult<Option<Vec<u8>>> {
        check_sha256("photo hash", sha256)?;
        let data = self.stored_data(&self.reader(), sha256)?;
        data.map(|data| bytes_of(self.photo_store.as_deref(), sha256, data))
            .transpose()
    }

    /// The `data` of a photo's row: its bytes, or empty when they are in the photo store.
    fn stored_data(&self, conn: &Connection, sha256: &str) -> StorageResult<Option<Vec<u8>>> {
        Ok(conn
            .prepare_cached("SELECT data FROM photos WHERE sha256 = ?1")?
            .query_row([sha256], |r| r.get(0))
            .optional()?)
    }

    /// Up to `limit` photos whose bytes are in the database, by hash after `after`.
    pub(super) fn photos_with_data(&self, after: &str, limit: u32) -> StorageResult<Vec<String>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT sha256 FROM photos WHERE sha256 > ?1 AND length(data) > 0
             ORDER BY sha256 LIMIT ?2",
        )?;
        let rows = stmt.query_map(params![after, limit], |r| r.get(0))?;
        Ok(rows.collect::<Result<Vec<String>, _>>()?)
    }

    /// Moves one photo's bytes into the photo store (see `photo_store::move_out`).
    pub(super) fn move_to_store(&self, sha256: &str) -> StorageResult<Moved> {
        move_out(
            self.photo_store.as_deref(),
            sha256,
            || self.stored_data(&self.reader(), sha256),
            || {
                lock(&self.writer)
                    .prepare_cached("UPDATE photos SET data = x'' WHERE sha256 = ?1")?
                    .execute([sha256])?;
                Ok(())
            },
        )
    }

    /// The thumbnail to serve for the photo `sha256`, with its own hash.
    ///
    /// **Only a thumbnail a document names.** Any enrolled device may upload, and a photo's
    /// hash is no secret, so "the first thumbnail uploaded with `thumbnail_of=P`" could be an
    /// attacker's picture shown everywhere as P's. A reference to P names the hash of the
    /// thumbnail its device made at import (`PhotoRef::thumb_sha256`), so the server serves that
    /// thumbnail, once it is complete, and nothing before it (`None`: `404`, asked again later).
    /// To name another, a device must write it into a document, where the event records its
    /// device and person and stays for good — not slip it in with an anonymous upload.
    ///
    /// When references name several complete thumbnails (only a device that writes another's
    /// photo hash with its own thumbnail into a document does that), the one uploaded by the
    /// device that uploaded the photo itself comes first — the device that holds the photo's
    /// bytes is the one that imported it — then the earliest upload, so the answer is stable.
    ///
    /// Only when no reference to the photo names a thumbnail (documents written before
    /// references named one) does the upload link (`photo_thumbnails`) decide, as before.
    pub(super) fn thumbnail_data(&self, sha256: &str) -> StorageResult<Option<(String, Vec<u8>)>> {
        check_sha256("photo hash", sha256)?;
        let conn = self.reader();
        let declared: Option<String> = conn
            .prepare_cached(
                "SELECT t.sha256 FROM photos t
                 WHERE t.sha256 IN (SELECT thumb_sha256 FROM photo_refs
                                    WHERE sha256 = ?1 AND thumb_sha256 IS NOT NULL)
                 ORDER BY t.uploaded_by IS (SELECT uploaded_by FROM photos WHERE sha256 = ?1) DESC,
                     t.uploaded_at, t.sha256
                 LIMIT 1",
            )?
            .query_row([sha256], |r| r.get(0))
            .optional()?;
        let thumb = match declared {
            Some(thumb) => thumb,
            None => {
                let names_one: bool = conn
                    .prepare_cached(
                        "SELECT EXISTS (SELECT 1 FROM photo_refs
                                        WHERE sha256 = ?1 AND thumb_sha256 IS NOT NULL)",
                    )?
                    .query_row([sha256], |r| r.get(0))?;
                if names_one {
                    // The named thumbnail has not arrived yet; no other stands in for it.
                    return Ok(None);
                }
                let linked: Option<String> = conn
                    .prepare_cached(
                        "SELECT thumb_sha256 FROM photo_thumbnails WHERE photo_sha256 = ?1",
                    )?
                    .query_row([sha256], |r| r.get(0))
                    .optional()?;
                match linked {
                    Some(thumb) => thumb,
                    None => return Ok(None),
                }
            }
        };
        let Some(data) = self.stored_data(&conn, &thumb)? else {
            return Ok(None);
        };
        let data = bytes_of(self.photo_store.as_deref(), &thumb, data)?;
        Ok(Some((thumb, data)))
    }
}

/// Hands the upload's chunks to `f` in order, one at a time, checking that they follow each
/// other and cover the photo.
fn for_each_chunk(
    tx: &Connection,
    chunk: &PhotoChunk<'_>,
    mut f: impl FnMut(u64, &[u8]) -> StorageResult<()>,
) -> StorageResult<()> {
    let mut order = ChunkOrder::of(chunk);
    let mut stmt =
        tx.prepare_cached("SELECT start, data FROM photo_chunks WHERE sha256 = ?1 ORDER BY start")?;
    let mut rows = stmt.query([chunk.sha256])?;
    while let Some(row) = rows.next()? {
        let data = row.get_ref(1)?.as_blob().map_err(rusqlite::Error::from)?;
        let start = order.next(row.get::<_, i64>(0)? as u64, data.len())?;
        f(start, data)?;
    }
    order.end()
}

/// Stores the complete upload as a new `photos` row: in `store` when there is one (the
/// row's `data` left empty), else in the row. Returns `None` when the bytes hash to the
/// photo's name; otherwise stores nothing and returns the actual hash.
fn assemble(
    tx: &Connection,
    chunk: &PhotoChunk<'_>,
    now_ms: i64,
    store: Option<&dyn PhotoStore>,
) -> StorageResult<Option<String>> {
    let sha = chunk.sha256;
    let row = |data_sql: &str| -> StorageResult<i64> {
        tx.prepare_cached(&format!(
            "INSERT INTO photos (sha256, size, data, uploaded_by, uploaded_at)
             VALUES (?1, ?2, {data_sql}, ?3, ?4)"
        ))?
        .execute(params![sha, chunk.total as i64, chunk.device_id, now_ms])?;
        Ok(tx.last_insert_rowid())
    };
    if let Some(store) = store {
        // The file is durable before the row that names it commits (see `photo_store.rs`).
        let mut writer = store.writer(sha)?;
        for_each_chunk(tx, chunk, |_, data| writer.write(data))?;
        return match writer.finish()? {
            Put::Stored => row("x''").map(|_| None),
            Put::HashMismatch { actual } => Ok(Some(actual)),
        };
    }
    // Streamed into a pre-sized BLOB while hashing, then removed again if the hash is wrong.
    let rowid = row("zeroblob(?2)")?;
    let mut hasher = Sha256::new();
    {
        let mut blob = tx.blob_open(MAIN_DB, "photos", "data", rowid, false)?;
        for_each_chunk(tx, chunk, |start, data| {
            hasher.update(data);
            Ok(blob.write_all_at(data, start as usize)?)
        })?;
    }
    let actual = sha256_hex(&hasher.finalize());
    if actual == sha {
        return Ok(None);
    }
    tx.prepare_cached("DELETE FROM photos WHERE sha256 = ?1")?
        .execute([sha])?;
    Ok(Some(actual))
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use wangge_core::PhotoCapture;

    /// SQLite-specific: a reference whose thumbnail hash is malformed records no thumbnail.
    /// The core refuses such a reference in every new event (the conformance suite checks
    /// that); only documents stored before it did, indexed again by a migration, reach this.
    #[test]
    fn a_malformed_thumbnail_hash_is_not_recorded() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Arc::new(Catalog::demo().unwrap());
        let storage = SqliteStorage::open(dir.path().join("server.sqlite3"), catalog).unwrap();
        let photo = sha256_hex(&Sha256::digest(b"photo"));
        let reference = |thumb: &str| PhotoRef {
            sha256: photo.clone(),
            bytes: 1000,
            width: 64,
            height: 48,
            capture: PhotoCapture::default(),
            thumb_sha256: Some(thumb.to_owned()),
        };
        let conn = lock(&storage.writer);
        let declared = || -> Option<String> {
            conn.query_row(
                "SELECT thumb_sha256 FROM photo_refs WHERE sha256 = ?1 AND doc_id = 'case-1'",
                [&photo],
                |r| r.get(0),
            )
            .unwrap()
        };
        record_ref(&conn, "case-1", &reference("NOT-A-HASH")).unwrap();
        assert_eq!(declared(), None);
        let thumb = sha256_hex(&Sha256::digest(b"thumb"));
        record_ref(&conn, "case-1", &reference(&thumb)).unwrap();
        assert_eq!(declared(), Some(thumb));
    }
}
