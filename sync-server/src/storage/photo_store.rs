//! Where the bytes of finished photos live: a [`PhotoStore`], content-addressed by SHA-256,
//! and its filesystem implementation [`FsPhotoStore`] (`--photos-dir`, `WANGGE_PHOTOS_DIR`).
//!
//! **What stays in the database.** Everything but the finished bytes: a photo's row in
//! `photos` (hash, size, uploading device, time), the references that decide who may read
//! it (`photo_refs`), the thumbnail links, and the uploads in progress with their chunks
//! (`photo_uploads`, `photo_chunks`). The chunks stay there on purpose: they are temporary,
//! and each chunk is one transaction that also moves the upload's offset, so the offset a
//! phone is told is exactly what the database durably holds, on every instance (the module
//! documentation of `sqlite_photos.rs` says why a partial file would be worse). Only the last
//! chunk's transaction, which assembles the photo, writes into the store.
//!
//! **Thumbnails too.** A thumbnail is uploaded like any photo, under its own hash, and often
//! without `thumbnail_of`: the server cannot tell a thumbnail from a photo when the bytes
//! arrive. Every finished upload therefore goes to the store; a thumbnail is about 20 KB,
//! so it costs one small file, and one path for all bytes is simpler to reason about.
//!
//! **The default is the database.** Without a photos directory the backends keep their
//! path of before: the bytes are the `data` column of `photos`, assembled inside the
//! database (one file to back up for a street). There is no "in-database" [`PhotoStore`]:
//! assembling in the database happens inside the transaction that receives the last chunk
//! (SQLite writes into a pre-sized BLOB, PostgreSQL joins the chunks with `string_agg`), so
//! the bytes never sit whole in the server's memory; a store behind `put(bytes)` would have
//! to take them out and put them back. The backends hold an `Option<Arc<dyn PhotoStore>>`
//! instead, and one rule tells where a photo's bytes are:
//!
//! **An empty `data` means "in the store".** A photo is never empty (an upload declaring
//! 0 bytes is refused), so a `photos` row whose `data` is empty says its bytes are in the
//! photo store under its hash. No schema change, and a database may hold both kinds: photos
//! uploaded before the store was configured are served from the database until
//! `wangge-server photos export-to-dir` moves them ([`export_photos`]). A server started
//! without a photos directory on such a database answers those photos with an internal
//! error that names the setting ([`bytes_of`]), never with empty bytes.
//!
//! **Ordering, for crashes.** The bytes are durable in the store (written to a temporary
//! file, fsynced, renamed, directory fsynced) *before* the transaction that inserts the
//! `photos` row commits. A crash between the two leaves a file that no row names — an
//! orphan, harmless: a photo is served only through its row, so an orphan is never served,
//! and the upload simply completes again (the phone resends its last chunk, whose
//! transaction was lost) and renames an identical file over it. The reverse order could
//! leave a row that says "complete" pointing at nothing, and a phone that was told
//! "complete" never uploads again. `wangge-server photos sweep` deletes orphans older than a
//! day ([`sweep_orphans`]): the age keeps it off a file whose row is still committing.
//!
//! **Checked on the way out too.** [`PhotoStore::get`] hashes what it read and refuses bytes
//! that do not hash to the name (a truncated or damaged file): a photo is cached by clients
//! for good under its hash (`Cache-Control: immutable`), so wrong bytes served once would
//! stay wrong. Hashing 300 KB costs about a millisecond.
//!
//! **Several instances** must all see the same photos: put the directory on shared storage
//! (NFS, with `sync` exports so that fsync means durable) or write an object-store
//! implementation of [`PhotoStore`] (S3-like: `put` is an upload of the verified bytes,
//! which such stores make visible atomically; not built here). Two instances completing the
//! same photo at once each write their own temporary file and rename it; the second rename
//! replaces an identical file, which is harmless.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use sha2::{Digest, Sha256};

use crate::storage::error::{StorageError, StorageResult};
use crate::storage::sqlite::check_sha256;
use crate::storage::{PhotoChunk, Storage};

/// The bytes of finished photos, by their SHA-256 (lowercase hex). Implementations check
/// every hash they are given ([`check_sha256`]): a hash names a file or an object key.
pub trait PhotoStore: Send + Sync + std::fmt::Debug {
    /// Starts writing the photo `sha256`. Nothing is visible until
    /// [`PhotoWriter::finish`] has checked the bytes against the hash and made them durable;
    /// a writer dropped before that leaves nothing behind.
    fn writer(&self, sha256: &str) -> StorageResult<Box<dyn PhotoWriter>>;
    /// The bytes of `sha256`, checked against it; `None` when the store does not hold it.
    /// Bytes that hash otherwise (a damaged file) are an error, never returned.
    fn get(&self, sha256: &str) -> StorageResult<Option<Vec<u8>>>;
    /// Whether the store holds `sha256` (without reading or checking it).
    fn exists(&self, sha256: &str) -> StorageResult<bool>;
    /// Removes `sha256`; false if the store did not hold it.
    fn delete(&self, sha256: &str) -> StorageResult<bool>;
    /// Every photo the store holds, with when it was written, in no particular order.
    fn list(&self) -> StorageResult<Vec<(String, SystemTime)>>;
    /// Where the store is, for messages and logs.
    fn location(&self) -> String;
}

/// A photo being written into a [`PhotoStore`].
pub trait PhotoWriter {
    /// Appends bytes.
    fn write(&mut self, bytes: &[u8]) -> StorageResult<()>;
    /// Checks the bytes written against the photo's hash; when they match, makes them
    /// durable and then visible under it ([`Put::Stored`]), otherwise discards them
    /// ([`Put::HashMismatch`]). Writing a photo the store holds already is no error.
    fn finish(self: Box<Self>) -> StorageResult<Put>;
}

/// What became of a photo written into a store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Put {
    /// Durable and visible under its hash.
    Stored,
    /// The bytes hash to `actual`, not to the name: nothing was stored.
    HashMismatch {
        /// What the bytes hash to.
        actual: String,
    },
}

/// Writes `bytes` as the photo `sha256` (see [`PhotoWriter::finish`]).
pub fn put(store: &dyn PhotoStore, sha256: &str, bytes: &[u8]) -> StorageResult<Put> {
    let mut writer = store.writer(sha256)?;
    writer.write(bytes)?;
    writer.finish()
}

/// A SHA-256 digest in lowercase hex.
pub fn sha256_hex(digest: &[u8]) -> String {
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

/// The bytes of the photo `sha256` whose `photos.data` is `data`: `data` itself, or, when
/// it is empty, the bytes in `store` (see the module documentation). A row whose bytes the
/// store lacks, or a server without a store, is an internal error that says what to do.
pub(in crate::storage) fn bytes_of(
    store: Option<&dyn PhotoStore>,
    sha256: &str,
    data: Vec<u8>,
) -> StorageResult<Vec<u8>> {
    if !data.is_empty() {
        return Ok(data);
    }
    let Some(store) = store else {
        return Err(StorageError::internal(format!(
            "photo {sha256} is complete but its bytes are in a photo directory, and this \
             server was started without one: start it with --photos-dir (WANGGE_PHOTOS_DIR)"
        )));
    };
    store.get(sha256)?.ok_or_else(|| {
        StorageError::internal(format!(
            "photo {sha256} is complete in the database but missing from the photo store at \
             {}: restore the file from a backup",
            store.location()
        ))
    })
}

/// Checks that a photo's chunks follow each other from 0 and cover exactly its size, as
/// they are streamed out of the database one at a time (the same check on every backend
/// and for every destination of the bytes).
pub(in crate::storage) struct ChunkOrder<'a> {
    sha256: &'a str,
    total: u64,
    pos: u64,
}

impl<'a> ChunkOrder<'a> {
    /// For the upload of `chunk`'s photo.
    pub(in crate::storage) fn of(chunk: &PhotoChunk<'a>) -> Self {
        ChunkOrder {
            sha256: chunk.sha256,
            total: chunk.total,
            pos: 0,
        }
    }

    /// Accepts the chunk at `start` of `len` bytes when it follows the previous one;
    /// returns where it starts.
    pub(in crate::storage) fn next(&mut self, start: u64, len: usize) -> StorageResult<u64> {
        let (sha, pos, total) = (self.sha256, self.pos, self.total);
        if start != pos || pos + len as u64 > total {
            return Err(StorageError::internal(format!(
                "photo {sha}: chunk at {start} does not follow {pos} within {total} bytes"
            )));
        }
        self.pos += len as u64;
        Ok(start)
    }

    /// Checks that the chunks covered the whole photo.
    pub(in crate::storage) fn end(self) -> StorageResult<()> {
        if self.pos != self.total {
            return Err(StorageError::internal(format!(
                "photo {}: chunks cover {} of {} bytes",
                self.sha256, self.pos, self.total
            )));
        }
        Ok(())
    }
}

/// What became of a photo [`Storage::move_photo_to_store`] was asked to move.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Moved {
    /// Written to the store, read back and checked, and its database bytes cleared.
    Moved,
    /// Its bytes were in the store already (or it is not on the server): nothing to do.
    NotInDatabase,
    /// Its bytes in the database hash to `actual`, not to its name: left where they are.
    Damaged {
        /// What the stored bytes hash to.
        actual: String,
    },
}

/// Moves one photo's bytes from the database into `store`: `read` gives its `photos.data`
/// (`None` for no row), `clear` empties it. The bytes are written, made durable and read
/// back checked before `clear` runs, so a crash at any point leaves the photo readable:
/// still in the database, or in both (an identical file, rewritten by the next run).
pub(in crate::storage) fn move_out(
    store: Option<&dyn PhotoStore>,
    sha256: &str,
    read: impl FnOnce() -> StorageResult<Option<Vec<u8>>>,
    clear: impl FnOnce() -> StorageResult<()>,
) -> StorageResult<Moved> {
    check_sha256("photo hash", sha256)?;
    let store = store.ok_or_else(|| {
        StorageError::internal(
            "no photo directory is configured to move photos into: give --photos-dir \
             (WANGGE_PHOTOS_DIR)",
        )
    })?;
    let data = match read()? {
        Some(data) if !data.is_empty() => data,
        _ => return Ok(Moved::NotInDatabase),
    };
    if let Put::HashMismatch { actual } = put(store, sha256, &data)? {
        return Ok(Moved::Damaged { actual });
    }
    if store.get(sha256)?.as_deref() != Some(&data[..]) {
        return Err(StorageError::internal(format!(
            "photo {sha256} does not read back from the photo store at {} as written",
            store.location()
        )));
    }
    clear()?;
    Ok(Moved::Moved)
}

/// What [`export_photos`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Export {
    /// Photos moved into the store.
    pub moved: u64,
    /// Photos whose database bytes do not hash to their name, left in the database.
    pub damaged: Vec<String>,
}

/// Moves every photo whose bytes are in the database into the storage's photo store, one
/// photo at a time, telling `progress` after each. Resumable: a photo moved is no longer in
/// the database, so a run stopped halfway (or crashed) continues where it stood when run
/// again; a photo in both (a crash before its bytes were cleared) is rewritten identically.
pub fn export_photos(
    storage: &dyn Storage,
    mut progress: impl FnMut(&Export),
) -> StorageResult<Export> {
    const BATCH: u32 = 100;
    let mut done = Export::default();
    let mut after = String::new();
    loop {
        let batch = storage.photos_in_database(&after, BATCH)?;
        let Some(last) = batch.last() else {
            return Ok(done);
        };
        after = last.clone();
        for sha in &batch {
            match storage.move_photo_to_store(sha)? {
                Moved::Moved => done.moved += 1,
                Moved::NotInDatabase => {}
                Moved::Damaged { actual } => {
                    tracing::warn!(photo = %sha, %actual, "photo damaged in the database: left there");
                    done.damaged.push(sha.clone());
                }
            }
            progress(&done);
        }
    }
}

/// What [`sweep_orphans`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Sweep {
    /// Files whose photo is on the server.
    pub kept: u64,
    /// Orphans deleted (or that would be, without `delete`).
    pub orphans: Vec<String>,
    /// Orphans younger than the grace period, left alone.
    pub young: u64,
}

/// How old an orphan must be before [`sweep_orphans`] deletes it: far longer than the
/// transaction that names a freshly written file takes to commit.
pub const ORPHAN_GRACE: Duration = Duration::from_secs(24 * 3600);

/// Finds the files of `store` that no complete photo of `storage` names and that are older
/// than [`ORPHAN_GRACE`] at `now`; deletes them when `delete`. An orphan is harmless (never
/// served); this only gives its space back.
pub fn sweep_orphans(
    storage: &dyn Storage,
    store: &dyn PhotoStore,
    now: SystemTime,
    delete: bool,
) -> StorageResult<Sweep> {
    let mut sweep = Sweep::default();
    for (sha, written) in store.list()? {
        if storage.photo_upload(&sha)?.complete {
            sweep.kept += 1;
            continue;
        }
        let age = now.duration_since(written).unwrap_or_default();
        if age < ORPHAN_GRACE {
            sweep.young += 1;
            continue;
        }
        // Asked again just before deleting: the row may have committed meanwhile.
        if delete && !storage.photo_upload(&sha)?.complete {
            store.delete(&sha)?;
        }
        sweep.orphans.push(sha);
    }
    sweep.orphans.sort();
    Ok(sweep)
}

// ---------------------------------------------------------------------------------------
// The filesystem

/// Photos as files in a directory tree, `ab/cd/<sha256>` (two levels of 256 directories, so
/// that no directory holds more than a few hundred files for millions of photos), written
/// crash-safely (see [`PhotoWriter::finish`] of [`FsPhotoStore::writer`]).
#[derive(Debug, Clone)]
pub struct FsPhotoStore {
    root: PathBuf,
}

fn io_error(what: &str, path: &Path, e: io::Error) -> StorageError {
    StorageError::internal(format!(
        "the photo store cannot {what} {}: {e}",
        path.display()
    ))
}

/// Flushes a directory's entries (a new file's name, a rename) to disk.
fn sync_dir(dir: &Path) -> StorageResult<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_error("sync the directory", dir, e))
}

impl FsPhotoStore {
    /// The store in `root`, created if missing.
    pub fn open(root: impl Into<PathBuf>) -> StorageResult<Self> {
        let root = root.into();
        fs::create_dir_all(&root).map_err(|e| io_error("create the directory", &root, e))?;
        Ok(FsPhotoStore { root })
    }

    /// The directory of `sha256` (`ab/cd` under the root).
    fn dir_of(&self, sha256: &str) -> StorageResult<PathBuf> {
        check_sha256("photo hash", sha256)?;
        Ok(self.root.join(&sha256[..2]).join(&sha256[2..4]))
    }

    fn path_of(&self, sha256: &str) -> StorageResult<PathBuf> {
        Ok(self.dir_of(sha256)?.join(sha256))
    }

    /// Creates `root/ab/cd` when missing, and syncs each parent of a directory it created,
    /// so that a photo renamed into it survives a crash with its directories.
    fn make_dir(&self, sha256: &str) -> StorageResult<PathBuf> {
        let dir = self.dir_of(sha256)?;
        if dir.is_dir() {
            return Ok(dir);
        }
        let first = self.root.join(&sha256[..2]);
        for (path, parent) in [(&first, &self.root), (&dir, &first)] {
            match fs::create_dir(path) {
                Ok(()) => sync_dir(parent)?,
                // Another writer made it first.
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(io_error("create the directory", path, e)),
            }
        }
        Ok(dir)
    }
}

impl PhotoStore for FsPhotoStore {
    fn writer(&self, sha256: &str) -> StorageResult<Box<dyn PhotoWriter>> {
        let dir = self.make_dir(sha256)?;
        // Its own name per writer, in the photo's directory (a rename within one file
        // system is atomic); a dot hides it from `list`.
        let temp = dir.join(format!(".{sha256}.{}.tmp", uuid::Uuid::now_v7().simple()));
        let file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&temp)
            .map_err(|e| io_error("create", &temp, e))?;
        Ok(Box::new(FsWriter {
            sha256: sha256.to_owned(),
            target: dir.join(sha256),
            dir,
            temp,
            file: Some(BufWriter::new(file)),
            hasher: Sha256::new(),
            renamed: false,
        }))
    }

    fn get(&self, sha256: &str) -> StorageResult<Option<Vec<u8>>> {
        let path = self.path_of(sha256)?;
        let mut bytes = Vec::new();
        match File::open(&path).and_then(|mut f| f.read_to_end(&mut bytes)) {
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(io_error("read", &path, e)),
        }
        let actual = sha256_hex(&Sha256::digest(&bytes));
        if actual != sha256 {
            return Err(StorageError::internal(format!(
                "the photo file {} is damaged: its {} bytes hash to {actual}; restore it from \
                 a backup (the photo is not served until then)",
                path.display(),
                bytes.len()
            )));
        }
        Ok(Some(bytes))
    }

    fn exists(&self, sha256: &str) -> StorageResult<bool> {
        Ok(self.path_of(sha256)?.is_file())
    }

    fn delete(&self, sha256: &str) -> StorageResult<bool> {
        let path = self.path_of(sha256)?;
        match fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(io_error("delete", &path, e)),
        }
    }

    fn list(&self) -> StorageResult<Vec<(String, SystemTime)>> {
        let read = |dir: &Path| -> StorageResult<Vec<fs::DirEntry>> {
            fs::read_dir(dir)
                .and_then(|entries| entries.collect::<io::Result<Vec<_>>>())
                .map_err(|e| io_error("list", dir, e))
        };
        let mut found = Vec::new();
        for first in read(&self.root)? {
            if !first.path().is_dir() {
                continue;
            }
            for second in read(&first.path())? {
                if !second.path().is_dir() {
                    continue;
                }
                for file in read(&second.path())? {
                    let name = file.file_name().to_string_lossy().into_owned();
                    // Temporary files (a dot) and anything not named by a hash are not photos.
                    if check_sha256("photo hash", &name).is_err() {
                        continue;
                    }
                    let written = file
                        .metadata()
                        .and_then(|m| m.modified())
                        .map_err(|e| io_error("read the time of", &file.path(), e))?;
                    found.push((name, written));
                }
            }
        }
        Ok(found)
    }

    fn location(&self) -> String {
        self.root.display().to_string()
    }
}

/// A photo being written into an [`FsPhotoStore`]: a temporary file in the photo's directory,
/// hashed as it is written.
struct FsWriter {
    sha256: String,
    dir: PathBuf,
    target: PathBuf,
    temp: PathBuf,
    /// `None` once finished.
    file: Option<BufWriter<File>>,
    hasher: Sha256,
    /// The temporary file became the photo.
    renamed: bool,
}

impl PhotoWriter for FsWriter {
    fn write(&mut self, bytes: &[u8]) -> StorageResult<()> {
        let file = self
            .file
            .as_mut()
            .ok_or_else(|| StorageError::internal("a photo written after it was finished"))?;
        file.write_all(bytes)
            .map_err(|e| io_error("write", &self.temp, e))?;
        self.hasher.update(bytes);
        Ok(())
    }

    /// Checks the hash, then: fsync the file, rename it over the photo's name (atomic; an
    /// identical file written by another instance is replaced by the same bytes), fsync the
    /// directory. Only then does the caller commit the row that names the photo.
    fn finish(mut self: Box<Self>) -> StorageResult<Put> {
        let file = self
            .file
            .take()
            .ok_or_else(|| StorageError::internal("a photo finished twice"))?;
        let actual = sha256_hex(&std::mem::take(&mut self.hasher).finalize());
        if actual != self.sha256 {
            return Ok(Put::HashMismatch { actual });
        }
        let file = file
            .into_inner()
            .map_err(|e| io_error("write", &self.temp, e.into_error()))?;
        file.sync_all()
            .map_err(|e| io_error("sync", &self.temp, e))?;
        drop(file);
        fs::rename(&self.temp, &self.target).map_err(|e| io_error("rename", &self.temp, e))?;
        self.renamed = true;
        sync_dir(&self.dir)?;
        Ok(Put::Stored)
    }
}

impl Drop for FsWriter {
    fn drop(&mut self) {
        // Not finished, refused, or failed before the rename: leave nothing behind.
        if !self.renamed {
            drop(self.file.take());
            let _ = fs::remove_file(&self.temp);
        }
    }
}

#[cfg(test)]
#[allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "tests: a failed step is a test failure"
)]
mod tests {
    use std::sync::Arc;

    use wangge_core::Catalog;

    use super::*;
    use crate::storage::ChunkOutcome;
    use crate::storage::conformance::{Fresh, catalog, sha, upload};
    use crate::storage::postgres::{PgStorage, testing};
    use crate::storage::sqlite::SqliteStorage;

    const MONDAY_9AM: i64 = 1_714_352_400_000;
    const PHOTO: &[u8] = b"the stored JPEG of the photo";
    const THUMB: &[u8] = b"its thumbnail, made at import";

    fn store_in(dir: &Path) -> Arc<dyn PhotoStore> {
        Arc::new(FsPhotoStore::open(dir.join("photos")).unwrap())
    }

    /// The photo tests of the conformance suite with the photos in a directory, on SQLite.
    mod sqlite_with_a_photo_directory {
        use super::*;

        fn fresh(catalog: Arc<Catalog>) -> Fresh<SqliteStorage> {
            let dir = tempfile::tempdir().unwrap();
            let storage = SqliteStorage::open(dir.path().join("server.sqlite3"), catalog)
                .unwrap()
                .with_photo_store(store_in(dir.path()));
            Fresh::new(storage, dir)
        }

        crate::storage_conformance_tests!(@photos fresh);
    }

    /// The same on PostgreSQL.
    mod postgres_with_a_photo_directory {
        use super::*;

        fn fresh(catalog: Arc<Catalog>) -> Option<Fresh<PgStorage>> {
            let (storage, schema) = testing::fresh("the photo-directory suite", catalog)?;
            let dir = tempfile::tempdir().unwrap();
            let storage = storage.with_photo_store(store_in(dir.path()));
            Some(Fresh::new(storage, (schema, dir)))
        }

        crate::storage_conformance_tests!(@photos fresh);
    }

    /// Every file under `root`, temporary ones included.
    fn files_under(root: &Path) -> Vec<PathBuf> {
        let mut found = Vec::new();
        let mut dirs = vec![root.to_path_buf()];
        while let Some(dir) = dirs.pop() {
            for entry in fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else {
                    found.push(path);
                }
            }
        }
        found.sort();
        found
    }

    // -----------------------------------------------------------------------------------
    // The filesystem store alone

    #[test]
    fn a_photo_is_a_file_under_its_hash_written_once_whoever_writes_it() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsPhotoStore::open(dir.path()).unwrap();
        let photo = sha(PHOTO);
        assert_eq!(store.get(&photo).unwrap(), None);
        assert!(!store.exists(&photo).unwrap());
        assert_eq!(put(&store, &photo, PHOTO).unwrap(), Put::Stored);
        let path = dir.path().join(&photo[..2]).join(&photo[2..4]).join(&photo);
        assert_eq!(fs::read(&path).unwrap(), PHOTO);
        // Again, and from several writers at once (instances completing the same photo).
        std::thread::scope(|s| {
            for _ in 0..8 {
                s.spawn(|| assert_eq!(put(&store, &photo, PHOTO).unwrap(), Put::Stored));
            }
        });
        assert_eq!(files_under(dir.path()), [path], "no temporary file left");
        assert_eq!(store.get(&photo).unwrap().as_deref(), Some(PHOTO));
        let listed: Vec<String> = store.list().unwrap().into_iter().map(|(s, _)| s).collect();
        assert_eq!(listed, std::slice::from_ref(&photo));
        assert!(store.delete(&photo).unwrap());
        assert!(!store.delete(&photo).unwrap());
        assert_eq!(store.get(&photo).unwrap(), None);
    }

    #[test]
    fn bytes_that_do_not_hash_to_the_name_never_become_visible() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsPhotoStore::open(dir.path()).unwrap();
        let liar = sha(b"something else");
        let mut writer = store.writer(&liar).unwrap();
        writer.write(&PHOTO[..5]).unwrap();
        writer.write(&PHOTO[5..]).unwrap();
        assert_eq!(
            writer.finish().unwrap(),
            Put::HashMismatch { actual: sha(PHOTO) }
        );
        assert!(files_under(dir.path()).is_empty());
        // A writer given up halfway leaves nothing either.
        let mut writer = store.writer(&sha(PHOTO)).unwrap();
        writer.write(&PHOTO[..5]).unwrap();
        drop(writer);
        assert!(files_under(dir.path()).is_empty());
        assert!(store.list().unwrap().is_empty());
        // A hash names a path: anything else is refused before the file system is touched.
        for bad in ["../../etc/passwd", "ABC", ""] {
            assert_eq!(store.get(bad).unwrap_err().code(), "invalid_photo_hash");
            assert_eq!(
                store.writer(bad).err().unwrap().code(),
                "invalid_photo_hash"
            );
        }
    }

    #[test]
    fn a_damaged_or_truncated_file_is_an_error_never_the_photo() {
        let dir = tempfile::tempdir().unwrap();
        let store = FsPhotoStore::open(dir.path()).unwrap();
        let photo = sha(PHOTO);
        put(&store, &photo, PHOTO).unwrap();
        let path = dir.path().join(&photo[..2]).join(&photo[2..4]).join(&photo);
        fs::write(&path, &PHOTO[..PHOTO.len() - 1]).unwrap();
        let err = store.get(&photo).unwrap_err();
        assert!(err.to_string().contains("damaged"), "{err}");
        assert_eq!(err.code(), "internal");
        // Writing the photo again repairs it.
        put(&store, &photo, PHOTO).unwrap();
        assert_eq!(store.get(&photo).unwrap().as_deref(), Some(PHOTO));
    }

    // -----------------------------------------------------------------------------------
    // A storage with a photo directory, on each backend

    /// A database and a photo directory, which tests open with or without the directory.
    struct Setup {
        dir: tempfile::TempDir,
        db: String,
        schema: Option<testing::TestSchema>,
    }

    impl Setup {
        fn sqlite() -> Setup {
            let dir = tempfile::tempdir().unwrap();
            let db = dir.path().join("server.sqlite3").display().to_string();
            Setup {
                dir,
                db,
                schema: None,
            }
        }

        fn postgres(test: &str) -> Option<Setup> {
            let url = testing::test_database(test)?;
            let schema = testing::TestSchema::new(&url);
            Some(Setup {
                dir: tempfile::tempdir().unwrap(),
                db: schema.url.clone(),
                schema: Some(schema),
            })
        }

        fn root(&self) -> PathBuf {
            self.dir.path().join("photos")
        }

        fn store(&self) -> Arc<dyn PhotoStore> {
            store_in(self.dir.path())
        }

        fn open(&self, store: Option<Arc<dyn PhotoStore>>) -> Arc<dyn Storage> {
            crate::storage::open_with_photos(&self.db, catalog(), store).unwrap()
        }

        fn file(&self, sha256: &str) -> PathBuf {
            self.root()
                .join(&sha256[..2])
                .join(&sha256[2..4])
                .join(sha256)
        }
    }

    macro_rules! on_both_backends {
        ($($name:ident),* $(,)?) => {
            mod on_sqlite {
                $(
                    #[test]
                    fn $name() {
                        super::$name(&super::Setup::sqlite());
                    }
                )*
            }
            mod on_postgres {
                $(
                    #[test]
                    fn $name() {
                        if let Some(setup) = super::Setup::postgres(stringify!($name)) {
                            super::$name(&setup);
                        }
                    }
                )*
            }
        };
    }

    on_both_backends!(
        a_finished_photo_is_a_file_and_only_its_row_makes_it_served,
        a_photo_the_store_fails_to_write_is_not_complete,
        a_damaged_file_in_the_store_is_not_served,
        export_moves_every_photo_out_of_the_database_and_resumes,
        a_sweep_deletes_only_old_orphans,
    );

    /// The bytes go to the directory, the database keeps none of them; a file no row names
    /// (a crash between the two) is never served, and the upload completes over it.
    fn a_finished_photo_is_a_file_and_only_its_row_makes_it_served(setup: &Setup) {
        let store = setup.store();
        let s = setup.open(Some(store.clone()));
        let photo = upload(s.as_ref(), PHOTO, None, "phone", MONDAY_9AM);
        assert_eq!(fs::read(setup.file(&photo)).unwrap(), PHOTO);
        assert_eq!(s.photo(&photo).unwrap().as_deref(), Some(PHOTO));
        assert!(s.photos_in_database("", 10).unwrap().is_empty());

        let orphan_bytes = b"written, then the server crashed before its row committed";
        let orphan = sha(orphan_bytes);
        assert_eq!(
            put(store.as_ref(), &orphan, orphan_bytes).unwrap(),
            Put::Stored
        );
        assert_eq!(s.photo(&orphan).unwrap(), None, "an orphan is not served");
        assert!(!s.photo_upload(&orphan).unwrap().complete);
        upload(s.as_ref(), orphan_bytes, None, "phone", MONDAY_9AM);
        assert_eq!(
            s.photo(&orphan).unwrap().as_deref(),
            Some(&orphan_bytes[..])
        );

        // A server started without the directory says so rather than serving nothing.
        let err = setup.open(None).photo(&photo).unwrap_err();
        assert!(err.to_string().contains("--photos-dir"), "{err}");
    }

    /// A store whose writes fail when they should become durable (a full disk, a lost NFS
    /// mount).
    #[derive(Debug)]
    struct Failing(Arc<dyn PhotoStore>);

    struct FailingWriter(Box<dyn PhotoWriter>);

    impl PhotoWriter for FailingWriter {
        fn write(&mut self, bytes: &[u8]) -> StorageResult<()> {
            self.0.write(bytes)
        }
        fn finish(self: Box<Self>) -> StorageResult<Put> {
            Err(StorageError::internal("no space left on device"))
        }
    }

    impl PhotoStore for Failing {
        fn writer(&self, sha256: &str) -> StorageResult<Box<dyn PhotoWriter>> {
            Ok(Box::new(FailingWriter(self.0.writer(sha256)?)))
        }
        fn get(&self, sha256: &str) -> StorageResult<Option<Vec<u8>>> {
            self.0.get(sha256)
        }
        fn exists(&self, sha256: &str) -> StorageResult<bool> {
            self.0.exists(sha256)
        }
        fn delete(&self, sha256: &str) -> StorageResult<bool> {
            self.0.delete(sha256)
        }
        fn list(&self) -> StorageResult<Vec<(String, SystemTime)>> {
            self.0.list()
        }
        fn location(&self) -> String {
            self.0.location()
        }
    }

    /// When the store cannot make the bytes durable, the last chunk's transaction does not
    /// commit: no row says the photo is complete, the upload stands where it stood before
    /// that chunk, and nothing is left in the directory. Sent again to a working store, the
    /// chunk completes the photo.
    fn a_photo_the_store_fails_to_write_is_not_complete(setup: &Setup) {
        let failing = setup.open(Some(Arc::new(Failing(setup.store()))));
        let photo = sha(PHOTO);
        let chunk = |offset: usize| PhotoChunk {
            sha256: &photo,
            offset: offset as u64,
            total: PHOTO.len() as u64,
            data: &PHOTO[offset..if offset == 0 { 10 } else { PHOTO.len() }],
            thumbnail_of: None,
            device_id: "phone",
        };
        assert!(matches!(
            failing.put_photo_chunk(&chunk(0), MONDAY_9AM).unwrap(),
            ChunkOutcome::Stored(_)
        ));
        let err = failing.put_photo_chunk(&chunk(10), MONDAY_9AM).unwrap_err();
        assert_eq!(err.code(), "internal", "{err}");
        let upload = failing.photo_upload(&photo).unwrap();
        assert_eq!((upload.received, upload.complete), (10, false));
        assert_eq!(failing.photo(&photo).unwrap(), None);
        assert!(files_under(&setup.root()).is_empty(), "nothing left behind");

        let working = setup.open(Some(setup.store()));
        match working.put_photo_chunk(&chunk(10), MONDAY_9AM).unwrap() {
            ChunkOutcome::Stored(u) => assert!(u.complete),
            other => panic!("{other:?}"),
        }
        assert_eq!(working.photo(&photo).unwrap().as_deref(), Some(PHOTO));
    }

    /// A file changed behind the server's back (truncated, overwritten) is refused as an
    /// internal error, for the photo and for a thumbnail.
    fn a_damaged_file_in_the_store_is_not_served(setup: &Setup) {
        let s = setup.open(Some(setup.store()));
        let photo = upload(s.as_ref(), PHOTO, None, "phone", MONDAY_9AM);
        let thumb = upload(s.as_ref(), THUMB, Some(&photo), "phone", MONDAY_9AM);
        assert_eq!(
            s.photo_thumbnail(&photo).unwrap(),
            Some((thumb.clone(), THUMB.to_vec()))
        );
        fs::write(setup.file(&photo), &PHOTO[..PHOTO.len() / 2]).unwrap();
        let err = s.photo(&photo).unwrap_err();
        assert!(err.to_string().contains("damaged"), "{err}");
        let mut other = THUMB.to_vec();
        other[0] ^= 1;
        fs::write(setup.file(&thumb), &other).unwrap();
        let err = s.photo_thumbnail(&photo).unwrap_err();
        assert!(err.to_string().contains("damaged"), "{err}");
        fs::remove_file(setup.file(&thumb)).unwrap();
        let err = s.photo_thumbnail(&photo).unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
    }

    /// `photos export-to-dir`: every photo in the database is moved, each checked; a run
    /// that stopped halfway (a photo moved, another copied but not yet cleared) continues;
    /// a photo whose database bytes are damaged is left there; a second run moves nothing.
    fn export_moves_every_photo_out_of_the_database_and_resumes(setup: &Setup) {
        let before = setup.open(None);
        let bytes: [&[u8]; 4] = [b"photo a", b"photo b", b"photo c", b"photo d"];
        let hashes: Vec<String> = bytes
            .iter()
            .map(|b| upload(before.as_ref(), b, None, "phone", MONDAY_9AM))
            .collect();
        let thumb = upload(
            before.as_ref(),
            THUMB,
            Some(&hashes[0]),
            "phone",
            MONDAY_9AM,
        );
        let mut in_db = hashes.clone();
        in_db.push(thumb.clone());
        in_db.sort();
        assert_eq!(before.photos_in_database("", 100).unwrap(), in_db);
        assert_eq!(
            before.photos_in_database(&in_db[1], 2).unwrap(),
            in_db[2..4]
        );
        let err = before.move_photo_to_store(&hashes[0]).unwrap_err();
        assert!(err.to_string().contains("--photos-dir"), "{err}");

        let store = setup.store();
        let after = setup.open(Some(store.clone()));
        // A run interrupted: one photo moved, another copied but its bytes not cleared.
        assert_eq!(after.move_photo_to_store(&hashes[1]).unwrap(), Moved::Moved);
        put(store.as_ref(), &hashes[2], bytes[2]).unwrap();
        // And one damaged in the database.
        damage(setup, &hashes[3]);
        assert_eq!(
            after.move_photo_to_store(&sha(b"never uploaded")).unwrap(),
            Moved::NotInDatabase
        );

        let mut seen = 0;
        let done = export_photos(after.as_ref(), |_| seen += 1).unwrap();
        assert_eq!(done.moved, 3, "{done:?}");
        assert_eq!(done.damaged, [hashes[3].clone()]);
        assert_eq!(seen, 4);
        assert_eq!(
            after.photos_in_database("", 100).unwrap(),
            [hashes[3].clone()]
        );
        for (hash, bytes) in hashes.iter().zip(bytes).take(3) {
            assert_eq!(fs::read(setup.file(hash)).unwrap(), bytes);
            assert_eq!(after.photo(hash).unwrap().as_deref(), Some(bytes));
        }
        assert_eq!(
            after.photo_thumbnail(&hashes[0]).unwrap(),
            Some((thumb, THUMB.to_vec()))
        );
        let again = export_photos(after.as_ref(), |_| {}).unwrap();
        assert_eq!(again.moved, 0);
    }

    /// Cuts the first byte off a photo's bytes in the database.
    fn damage(setup: &Setup, sha256: &str) {
        let sql = format!("UPDATE photos SET data = substr(data, 2) WHERE sha256 = '{sha256}'");
        if setup.schema.is_some() {
            let mut client = postgres::Client::connect(&setup.db, postgres::NoTls).unwrap();
            assert_eq!(client.execute(&sql, &[]).unwrap(), 1);
        } else {
            let conn = rusqlite::Connection::open(&setup.db).unwrap();
            assert_eq!(conn.execute(&sql, []).unwrap(), 1);
        }
    }

    /// A sweep keeps every file a photo names, leaves young orphans alone (their row may be
    /// committing), and deletes old ones when asked.
    fn a_sweep_deletes_only_old_orphans(setup: &Setup) {
        let store = setup.store();
        let s = setup.open(Some(store.clone()));
        let photo = upload(s.as_ref(), PHOTO, None, "phone", MONDAY_9AM);
        let orphan = sha(b"an orphan");
        put(store.as_ref(), &orphan, b"an orphan").unwrap();
        let now = SystemTime::now();
        let young = sweep_orphans(s.as_ref(), store.as_ref(), now, true).unwrap();
        assert_eq!((young.kept, young.young), (1, 1));
        assert!(young.orphans.is_empty());
        let later = now + ORPHAN_GRACE + Duration::from_secs(60);
        let listed = sweep_orphans(s.as_ref(), store.as_ref(), later, false).unwrap();
        assert_eq!(listed.orphans, std::slice::from_ref(&orphan));
        assert!(store.exists(&orphan).unwrap(), "only listed");
        let swept = sweep_orphans(s.as_ref(), store.as_ref(), later, true).unwrap();
        assert_eq!((swept.kept, swept.orphans.len()), (1, 1));
        assert!(!store.exists(&orphan).unwrap());
        assert_eq!(s.photo(&photo).unwrap().as_deref(), Some(PHOTO));
    }
}
