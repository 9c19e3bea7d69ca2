//! The device's photo store: content-addressed JPEGs and their thumbnails, as SQLite BLOBs.
//!
//! **Why BLOBs in the database and not files next to it** (measured in the photo work's
//! `STORAGE.md`): one transaction writes the photo, its thumbnail and its metadata row together,
//! so a crash leaves the whole photo or nothing without temp files, renames, directory fsyncs or
//! a sweep for orphans; on slow flash a photo costs one fsync instead of five, so writes are
//! 4–5× faster; the primary key *is* the content address, so the same photo imported twice is
//! one row with no race; and a backup of the database holds cases and photos consistently.
//! Reading a whole 300 KB photo is ~0.3 ms slower than from a file, which nothing here notices.
//!
//! Tables (schema version 4, [`V4`]):
//! * `photos` — one row per photo **imported on this device**: sizes, what the original said
//!   about itself (capture time, GPS, format, orientation) for the evidence checks, when it was
//!   imported, and whether the photo and its thumbnail have reached the server;
//! * `photo_data` — the stored JPEG, for imported photos and full photos fetched on demand;
//! * `photo_thumbs` — the thumbnail, keyed by the *photo's* hash, with its own hash (thumbnails
//!   are content-addressed on the server too);
//! * `photo_refs` — which documents reference which photos: a projection rebuilt from the
//!   documents like `case_view`, used to find the thumbnails this device still lacks.
//!
//! The BLOBs live in their own tables so that metadata queries ("not yet uploaded", disk
//! usage) never walk a photo's overflow pages. Upload reads byte ranges with SQLite's
//! incremental BLOB I/O, never loading more than one chunk.

use rusqlite::{Connection, MAIN_DB, OptionalExtension, TransactionBehavior, params};
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::ids::CaseId;
use crate::model::{PhotoCapture, PhotoRef};
use crate::photo::{
    EvidencePolicy, OriginalMetadata, PhotoEvidence, PhotoFormat, PhotoOptions,
    case_photo_evidence, prepare,
};
use crate::store::{Store, StoreChange};

/// Version 4: the photo store. See the module documentation for why the bytes are BLOBs.
pub(crate) const V4: &str = "
CREATE TABLE photos (
    sha256               TEXT PRIMARY KEY,
    bytes                INTEGER NOT NULL,
    width                INTEGER NOT NULL,
    height               INTEGER NOT NULL,
    original_format      TEXT NOT NULL,
    original_width       INTEGER NOT NULL,
    original_height      INTEGER NOT NULL,
    original_orientation INTEGER NOT NULL,
    taken_at_ms          INTEGER,
    taken_lat            REAL,
    taken_lon            REAL,
    imported_at          INTEGER NOT NULL,
    photo_uploaded       INTEGER NOT NULL DEFAULT 0,
    thumb_uploaded       INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX photos_to_upload ON photos(imported_at)
    WHERE NOT (photo_uploaded AND thumb_uploaded);
CREATE TABLE photo_data (
    sha256 TEXT PRIMARY KEY,
    jpeg   BLOB NOT NULL
);
CREATE TABLE photo_thumbs (
    sha256       TEXT PRIMARY KEY,
    thumb_sha256 TEXT NOT NULL,
    jpeg         BLOB NOT NULL
);
CREATE TABLE photo_refs (
    sha256 TEXT NOT NULL,
    doc_id TEXT NOT NULL,
    PRIMARY KEY (sha256, doc_id)
) WITHOUT ROWID;
CREATE INDEX photo_refs_by_doc ON photo_refs(doc_id);
";

/// Version 5: thumbnails the server did not give (not uploaded yet by the device that took
/// the photo, or outside this device's scope), and when to ask again.
///
/// Why: without it every sync asks again for every missing thumbnail, in the same order, so a
/// device that received many cases whose photos are not uploaded yet pays one request per photo
/// per sync (minutes on a mobile network), and beyond the per-sync cap the same unanswerable
/// photos come first every time and the others are never fetched.
pub(crate) const V5: &str = "
CREATE TABLE thumb_misses (
    sha256      TEXT PRIMARY KEY,
    misses      INTEGER NOT NULL,
    next_try_at INTEGER NOT NULL
) WITHOUT ROWID;
";

/// First wait after the server did not have a thumbnail; it doubles with each miss.
const THUMB_RETRY_FIRST_MS: i64 = 5 * 60 * 1000;
/// Longest wait between two asks for the same thumbnail.
const THUMB_RETRY_MAX_MS: i64 = 6 * 3600 * 1000;

/// A photo imported on this device, as the store keeps it (without its bytes).
#[derive(Debug, Clone, PartialEq)]
pub struct StoredPhoto {
    /// The reference a case or event carries.
    pub photo: PhotoRef,
    /// SHA-256 of the thumbnail, lowercase hex.
    pub thumb_sha256: String,
    /// Size of the thumbnail in bytes.
    pub thumb_bytes: u64,
    /// What the original file said about itself before its metadata was stripped.
    pub original: OriginalMetadata,
    /// When the photo was imported (ms since the epoch, the store's clock).
    pub imported_at_ms: i64,
    /// The server holds the photo.
    pub photo_uploaded: bool,
    /// The server holds the thumbnail.
    pub thumb_uploaded: bool,
}

/// Space the photo store takes in the database.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PhotoDiskUsage {
    /// Full photos held (imported here or fetched).
    pub photos: u64,
    /// Their bytes.
    pub photo_bytes: u64,
    /// Thumbnails held.
    pub thumbnails: u64,
    /// Their bytes.
    pub thumbnail_bytes: u64,
}

impl PhotoDiskUsage {
    /// Photo and thumbnail bytes together (SQLite's page overhead is under 1%).
    pub fn total_bytes(&self) -> u64 {
        self.photo_bytes + self.thumbnail_bytes
    }
}

/// Which of a photo's two blobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PhotoPart {
    /// The stored JPEG.
    Photo,
    /// Its thumbnail.
    Thumbnail,
}

impl PhotoPart {
    fn table(self) -> &'static str {
        match self {
            PhotoPart::Photo => "photo_data",
            PhotoPart::Thumbnail => "photo_thumbs",
        }
    }
}

/// Lowercase hex SHA-256 of `bytes`.
pub(crate) fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// True if `text` is a SHA-256 in lowercase hex.
pub(crate) fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

fn format_name(format: PhotoFormat) -> &'static str {
    match format {
        PhotoFormat::Jpeg => "jpeg",
        PhotoFormat::Png => "png",
        PhotoFormat::Webp => "webp",
    }
}

fn parse_format(text: &str) -> PhotoFormat {
    match text {
        "png" => PhotoFormat::Png,
        "webp" => PhotoFormat::Webp,
        _ => PhotoFormat::Jpeg,
    }
}

const STORED_PHOTO_COLUMNS: &str = "p.sha256, p.bytes, p.width, p.height, t.thumb_sha256,
    length(t.jpeg), p.original_format, p.original_width, p.original_height,
    p.original_orientation, p.taken_at_ms, p.taken_lat, p.taken_lon, p.imported_at,
    p.photo_uploaded, p.thumb_uploaded";

fn stored_photo(r: &rusqlite::Row<'_>) -> rusqlite::Result<StoredPhoto> {
    let taken_at_ms: Option<i64> = r.get(10)?;
    let lat: Option<f64> = r.get(11)?;
    let lon: Option<f64> = r.get(12)?;
    Ok(StoredPhoto {
        photo: PhotoRef {
            sha256: r.get(0)?,
            bytes: r.get::<_, i64>(1)? as u64,
            width: r.get(2)?,
            height: r.get(3)?,
            capture: PhotoCapture {
                taken_at_ms,
                gps: lat.zip(lon),
            },
            thumb_sha256: r.get(4)?,
        },
        thumb_sha256: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
        thumb_bytes: r.get::<_, Option<i64>>(5)?.unwrap_or(0) as u64,
        original: OriginalMetadata {
            format: parse_format(&r.get::<_, String>(6)?),
            width: r.get(7)?,
            height: r.get(8)?,
            orientation: r.get(9)?,
            taken_at_ms,
            gps: lat.zip(lon),
        },
        imported_at_ms: r.get(13)?,
        photo_uploaded: r.get(14)?,
        thumb_uploaded: r.get(15)?,
    })
}

/// Refuses references to photos this device does not hold, and references whose size,
/// dimensions, capture facts or thumbnail contradict the photo imported here. A photo is held
/// when its bytes or its thumbnail are in the store (a photo received from another device may be
/// re-attached).
pub(crate) fn check_refs(conn: &Connection, photos: &[PhotoRef]) -> Result<()> {
    for p in photos {
        let held: bool = conn
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM photo_data WHERE sha256 = ?1)
                     OR EXISTS (SELECT 1 FROM photo_thumbs WHERE sha256 = ?1)",
            )?
            .query_row([&p.sha256], |r| r.get(0))?;
        if !held {
            return Err(Error::UnknownPhoto(p.sha256.clone()));
        }
        // A photo imported here: the reference must say what the store says of it (size,
        // dimensions, and the capture facts, which are evidence: a reference may not claim
        // another time or place than the photo said about itself).
        let Some(stored) = stored_ref(conn, &p.sha256)? else {
            continue;
        };
        if (stored.bytes, stored.width, stored.height) != (p.bytes, p.width, p.height) {
            return Err(Error::invalid(
                "photo reference",
                format!(
                    "photo {} is {} bytes, {}×{} in the store, but the reference says \
                     {} bytes, {}×{}; attach the PhotoRef that import_photo returned",
                    p.sha256, stored.bytes, stored.width, stored.height, p.bytes, p.width, p.height
                ),
            ));
        }
        if stored.capture != p.capture {
            return Err(Error::invalid(
                "photo reference",
                format!(
                    "photo {} was taken at {:?} ms, position {:?} by its own metadata, but the \
                     reference says {:?} ms, {:?}; attach the PhotoRef that import_photo returned",
                    p.sha256,
                    stored.capture.taken_at_ms,
                    stored.capture.gps,
                    p.capture.taken_at_ms,
                    p.capture.gps
                ),
            ));
        }
        // The thumbnail a reference names is the one the server will serve for the photo, so
        // it must be the thumbnail made here. A reference naming none comes from a document
        // written before references named their thumbnail: it claims nothing, and stays
        // attachable so that such a case's photos can still be reused.
        if let Some(thumb) = &p.thumb_sha256
            && stored.thumb_sha256.as_ref() != Some(thumb)
        {
            return Err(Error::invalid(
                "photo reference",
                format!(
                    "the reference to photo {} names thumbnail {thumb}, but the thumbnail made \
                     when it was imported here is {}; attach the PhotoRef that import_photo returned",
                    p.sha256,
                    stored.thumb_sha256.as_deref().unwrap_or("missing")
                ),
            ));
        }
    }
    Ok(())
}

/// The reference of a photo imported on this device, as the store records it (with the hash
/// of its thumbnail); `None` for a photo imported elsewhere.
fn stored_ref(conn: &Connection, sha256: &str) -> Result<Option<PhotoRef>> {
    Ok(conn
        .prepare_cached(
            "SELECT p.bytes, p.width, p.height, p.taken_at_ms, p.taken_lat, p.taken_lon,
                 t.thumb_sha256
             FROM photos p LEFT JOIN photo_thumbs t ON t.sha256 = p.sha256
             WHERE p.sha256 = ?1",
        )?
        .query_row([sha256], |r| {
            let lat: Option<f64> = r.get(4)?;
            let lon: Option<f64> = r.get(5)?;
            Ok(PhotoRef {
                sha256: sha256.to_owned(),
                bytes: r.get::<_, i64>(0)? as u64,
                width: r.get(1)?,
                height: r.get(2)?,
                capture: PhotoCapture {
                    taken_at_ms: r.get(3)?,
                    gps: lat.zip(lon),
                },
                thumb_sha256: r.get(6)?,
            })
        })
        .optional()?)
}

/// Records that `doc_id` references these photos (the `photo_refs` projection; references
/// only grow, like the events that carry them).
pub(crate) fn index_refs<'a>(
    conn: &Connection,
    doc_id: &str,
    photos: impl IntoIterator<Item = &'a PhotoRef>,
) -> Result<()> {
    let mut insert =
        conn.prepare_cached("INSERT OR IGNORE INTO photo_refs (sha256, doc_id) VALUES (?1, ?2)")?;
    for p in photos {
        insert.execute(params![p.sha256, doc_id])?;
    }
    Ok(())
}

pub(crate) fn read_blob(
    conn: &Connection,
    part: PhotoPart,
    sha256: &str,
) -> Result<Option<Vec<u8>>> {
    let sql = match part {
        PhotoPart::Photo => "SELECT jpeg FROM photo_data WHERE sha256 = ?1",
        PhotoPart::Thumbnail => "SELECT jpeg FROM photo_thumbs WHERE sha256 = ?1",
    };
    Ok(conn
        .prepare_cached(sql)?
        .query_row([sha256], |r| r.get(0))
        .optional()?)
}

impl Store {
    /// Imports a photo as the camera or gallery hands it over: prepares it (orient, downscale,
    /// strip metadata, thumbnail, hash — see [`prepare`]) and stores the JPEG, the thumbnail
    /// and what the original said about itself, in one transaction. Returns the reference to
    /// attach to a case ([`NewCase::photos`](crate::NewCase)) or an event.
    ///
    /// The preparation runs before the store's write lock is taken, so a slow import does not
    /// hold up other writes; the lock is held only for the insert. The same photo imported
    /// twice is stored once (its hash is the key). A crash leaves the whole photo or nothing.
    pub fn import_photo(&self, bytes: &[u8], opts: &PhotoOptions) -> Result<PhotoRef> {
        let p = prepare(bytes, opts)?;
        let thumb_sha256 = sha256_hex(&p.thumbnail);
        let now = self.clock.now_ms();
        let (lat, lon) = p.original.gps.unzip();
        let mut w = self.writer();
        let tx = w
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.prepare_cached(
            "INSERT INTO photos (sha256, bytes, width, height, original_format, original_width,
                 original_height, original_orientation, taken_at_ms, taken_lat, taken_lon,
                 imported_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)
             ON CONFLICT (sha256) DO NOTHING",
        )?
        .execute(params![
            p.sha256,
            p.jpeg.len() as i64,
            p.width,
            p.height,
            format_name(p.original.format),
            p.original.width,
            p.original.height,
            p.original.orientation,
            p.original.taken_at_ms,
            lat,
            lon,
            now,
        ])?;
        tx.prepare_cached("INSERT OR IGNORE INTO photo_data (sha256, jpeg) VALUES (?1, ?2)")?
            .execute(params![p.sha256, p.jpeg])?;
        tx.prepare_cached(
            "INSERT OR IGNORE INTO photo_thumbs (sha256, thumb_sha256, jpeg) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![p.sha256, thumb_sha256, p.thumbnail])?;
        // The same pixels may arrive twice with different EXIF (an edited copy): the first
        // import's facts are the ones stored, so the reference carries those — and the
        // thumbnail stored first, which is the one this device uploads.
        let stored = stored_ref(&tx, &p.sha256)?;
        tx.commit()?;
        drop(w);
        self.notify(StoreChange {
            photos: true,
            ..StoreChange::default()
        });
        Ok(stored.unwrap_or(PhotoRef {
            bytes: p.jpeg.len() as u64,
            sha256: p.sha256,
            width: p.width,
            height: p.height,
            capture: p.original.capture(),
            thumb_sha256: Some(thumb_sha256),
        }))
    }

    /// The stored JPEG of a photo, if this device holds it (imported here, or fetched with
    /// [`SyncClient::fetch_photo`](crate::SyncClient::fetch_photo)).
    pub fn photo_bytes(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        read_blob(&self.reader(), PhotoPart::Photo, sha256)
    }

    /// The thumbnail of a photo, by the photo's hash, if this device holds it.
    pub fn thumbnail(&self, sha256: &str) -> Result<Option<Vec<u8>>> {
        read_blob(&self.reader(), PhotoPart::Thumbnail, sha256)
    }

    /// What the store knows of a photo imported on this device; `None` for a photo imported
    /// elsewhere (its original metadata stayed on the device that took it).
    pub fn stored_photo(&self, sha256: &str) -> Result<Option<StoredPhoto>> {
        let conn = self.reader();
        let sql = format!(
            "SELECT {STORED_PHOTO_COLUMNS} FROM photos p
             LEFT JOIN photo_thumbs t ON t.sha256 = p.sha256 WHERE p.sha256 = ?1"
        );
        Ok(conn
            .prepare_cached(&sql)?
            .query_row([sha256], stored_photo)
            .optional()?)
    }

    /// The photos of a case — the report's, then each event's in timeline order, each once —
    /// with their thumbnails. A photo whose thumbnail has not reached this device yet (taken on
    /// another device that has not uploaded it) is left out; the next sync fetches it.
    pub fn case_thumbnails(&self, case: CaseId) -> Result<Vec<(PhotoRef, Vec<u8>)>> {
        let record = self.case(case)?;
        let refs = record.photos_attached();
        let conn = self.reader();
        let mut out = Vec::with_capacity(refs.len());
        for (photo, _) in refs {
            if let Some(thumb) = read_blob(&conn, PhotoPart::Thumbnail, &photo.sha256)? {
                out.push((photo.clone(), thumb));
            }
        }
        Ok(out)
    }

    /// Photos imported here whose photo or thumbnail the server does not hold yet, oldest
    /// first (what the next sync uploads).
    pub fn photos_not_uploaded(&self) -> Result<Vec<StoredPhoto>> {
        let conn = self.reader();
        let sql = format!(
            "SELECT {STORED_PHOTO_COLUMNS} FROM photos p
             LEFT JOIN photo_thumbs t ON t.sha256 = p.sha256
             WHERE NOT (p.photo_uploaded AND p.thumb_uploaded)
             ORDER BY p.imported_at, p.sha256"
        );
        let rows = conn
            .prepare_cached(&sql)?
            .query_map([], stored_photo)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// How much the photos and thumbnails take in the database. Reads only the B-tree cells
    /// (SQLite's `length()` of a BLOB does not read its overflow pages).
    pub fn photo_disk_usage(&self) -> Result<PhotoDiskUsage> {
        let conn = self.reader();
        let (photos, photo_bytes): (i64, i64) = conn.query_row(
            "SELECT count(*), coalesce(sum(length(jpeg)), 0) FROM photo_data",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        let (thumbnails, thumbnail_bytes): (i64, i64) = conn.query_row(
            "SELECT count(*), coalesce(sum(length(jpeg)), 0) FROM photo_thumbs",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )?;
        Ok(PhotoDiskUsage {
            photos: photos as u64,
            photo_bytes: photo_bytes as u64,
            thumbnails: thumbnails as u64,
            thumbnail_bytes: thumbnail_bytes as u64,
        })
    }

    /// Evidence flags of a case's photos, for a supervisor: each photo's capture facts, which
    /// travel in the document, against the report or event that attaches it and the case's GPS
    /// fix ([`case_photo_evidence`], default [`EvidencePolicy`]). Photos imported on any device
    /// are judged alike. A photo with nothing to flag appears with an empty list.
    pub fn photo_evidence(&self, case: CaseId) -> Result<Vec<PhotoEvidence>> {
        let record = self.case(case)?;
        Ok(case_photo_evidence(&record, &EvidencePolicy::default()))
    }

    /// Photos referenced by the documents on this device whose thumbnail it lacks (at most
    /// `limit`): what a sync downloads.
    ///
    /// A thumbnail the server did not have ([`Store::thumbnail_missed`]) is left out until its
    /// retry time, and those never asked for come first, so a few unanswerable photos cannot
    /// crowd out the others.
    pub fn thumbnails_missing(&self, limit: usize) -> Result<Vec<String>> {
        let now = self.clock.now_ms();
        let conn = self.reader();
        let rows = conn
            .prepare_cached(
                "SELECT r.sha256 FROM (SELECT DISTINCT sha256 FROM photo_refs) r
                 LEFT JOIN thumb_misses m ON m.sha256 = r.sha256
                 WHERE NOT EXISTS (SELECT 1 FROM photo_thumbs t WHERE t.sha256 = r.sha256)
                   AND coalesce(m.next_try_at, 0) <= ?2
                 ORDER BY coalesce(m.misses, 0), r.sha256 LIMIT ?1",
            )?
            .query_map(params![limit as i64, now], |r| r.get(0))?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(rows)
    }

    /// Notes that the server did not give the thumbnail of `sha256`: it is asked for again at
    /// the next sync, then after 5 minutes, then after twice as long at each miss, at most
    /// every 6 hours.
    pub(crate) fn thumbnail_missed(&self, sha256: &str) -> Result<()> {
        let now = self.clock.now_ms();
        let w = self.writer();
        let misses: i64 = w
            .conn
            .prepare_cached("SELECT misses FROM thumb_misses WHERE sha256 = ?1")?
            .query_row([sha256], |r| r.get(0))
            .optional()?
            .unwrap_or(0)
            + 1;
        // The first miss is retried at the next sync (the photo's owner may sync any moment);
        // from the second on, the wait grows.
        let wait = if misses < 2 {
            0
        } else {
            THUMB_RETRY_FIRST_MS
                .saturating_mul(1i64 << (misses - 2).clamp(0, 20))
                .min(THUMB_RETRY_MAX_MS)
        };
        w.conn
            .prepare_cached(
                "INSERT INTO thumb_misses (sha256, misses, next_try_at) VALUES (?1, ?2, ?3)
                 ON CONFLICT (sha256) DO UPDATE SET misses = excluded.misses,
                     next_try_at = excluded.next_try_at",
            )?
            .execute(params![sha256, misses, now.saturating_add(wait)])?;
        Ok(())
    }

    /// Reads `len` bytes at `offset` of a photo's blob without loading the rest (incremental
    /// BLOB I/O). Shorter at the end of the blob.
    pub(crate) fn read_photo_range(
        &self,
        sha256: &str,
        part: PhotoPart,
        offset: u64,
        len: usize,
    ) -> Result<Vec<u8>> {
        let conn = self.reader();
        let sql = match part {
            PhotoPart::Photo => "SELECT rowid FROM photo_data WHERE sha256 = ?1",
            PhotoPart::Thumbnail => "SELECT rowid FROM photo_thumbs WHERE sha256 = ?1",
        };
        let rowid: i64 = conn
            .prepare_cached(sql)?
            .query_row([sha256], |r| r.get(0))
            .optional()?
            .ok_or_else(|| Error::UnknownPhoto(sha256.to_owned()))?;
        let blob = conn.blob_open(MAIN_DB, part.table(), "jpeg", rowid, true)?;
        let start = usize::try_from(offset)
            .unwrap_or(usize::MAX)
            .min(blob.len());
        let end = start.saturating_add(len).min(blob.len());
        let mut buf = vec![0u8; end - start];
        blob.read_at_exact(&mut buf, start)?;
        Ok(buf)
    }

    /// Records that the server holds a photo's blob.
    pub(crate) fn mark_uploaded(&self, sha256: &str, part: PhotoPart) -> Result<()> {
        let sql = match part {
            PhotoPart::Photo => "UPDATE photos SET photo_uploaded = 1 WHERE sha256 = ?1",
            PhotoPart::Thumbnail => "UPDATE photos SET thumb_uploaded = 1 WHERE sha256 = ?1",
        };
        let n = self.writer().conn.prepare_cached(sql)?.execute([sha256])?;
        if n > 0 {
            self.notify(StoreChange::sync_state());
        }
        Ok(())
    }

    /// Stores a thumbnail received from the server for the photo `sha256`, under the hash of
    /// its bytes. Refuses bytes that are not a JPEG.
    pub(crate) fn save_received_thumbnail(&self, sha256: &str, jpeg: &[u8]) -> Result<()> {
        check_jpeg(sha256, jpeg)?;
        let thumb_sha256 = sha256_hex(jpeg);
        let mut w = self.writer();
        let tx = w.conn.transaction()?;
        tx.prepare_cached(
            "INSERT OR IGNORE INTO photo_thumbs (sha256, thumb_sha256, jpeg) VALUES (?1, ?2, ?3)",
        )?
        .execute(params![sha256, thumb_sha256, jpeg])?;
        tx.prepare_cached("DELETE FROM thumb_misses WHERE sha256 = ?1")?
            .execute([sha256])?;
        tx.commit()?;
        drop(w);
        self.notify(StoreChange {
            photos: true,
            ..StoreChange::default()
        });
        Ok(())
    }

    /// Stores a full photo received from the server, after checking that its bytes hash to
    /// its name.
    pub(crate) fn save_received_photo(&self, sha256: &str, jpeg: &[u8]) -> Result<()> {
        check_jpeg(sha256, jpeg)?;
        let actual = sha256_hex(jpeg);
        if actual != sha256 {
            return Err(Error::Sync(crate::sync::SyncError::Protocol(format!(
                "the server sent photo {sha256} with bytes that hash to {actual}"
            ))));
        }
        self.writer()
            .conn
            .prepare_cached("INSERT OR IGNORE INTO photo_data (sha256, jpeg) VALUES (?1, ?2)")?
            .execute(params![sha256, jpeg])?;
        self.notify(StoreChange {
            photos: true,
            ..StoreChange::default()
        });
        Ok(())
    }
}

fn check_jpeg(sha256: &str, bytes: &[u8]) -> Result<()> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Ok(())
    } else {
        Err(Error::Sync(crate::sync::SyncError::Protocol(format!(
            "the server sent {} bytes for photo {sha256} that are not a JPEG",
            bytes.len()
        ))))
    }
}
