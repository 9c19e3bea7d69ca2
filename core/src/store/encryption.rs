//! Encryption at rest of the device's store, with SQLCipher.
//!
//! **Why.** A grid officer's phone holds residents' addresses, reporters' contacts and photos
//! of homes and people, and phones get lost. The whole database file is encrypted page by
//! page (AES-256 with an HMAC per page), and with it everything in it: the Automerge
//! documents, the projections (descriptions, the full-text index), and the photos, which are
//! BLOBs in the same file (`photos.rs`). The WAL and the rollback journal are encrypted too:
//! they hold the same pages.
//!
//! **The key** is 32 random bytes the app generates once and keeps wrapped by the platform's
//! keystore (on Android, an AES key in the Android Keystore; `android-demo/.../StoreKey.kt`).
//! It is handed to SQLCipher as a *raw* key (`PRAGMA key = "x'…'"`), not as a passphrase:
//! SQLCipher would otherwise stretch a passphrase with PBKDF2-HMAC-SHA512 at 256,000
//! iterations on every connection it opens (the store opens two: writer and reader), about a
//! second of a mid-range phone's CPU at each app start, and stretching adds nothing to a key
//! that is already 256 random bits. [`StoreKey`] zeroes its bytes when dropped and never
//! prints them (its `Debug` says `StoreKey(<redacted>)`).
//!
//! **Plain stores.** [`Store::open`](super::Store::open) without a key opens a plain file,
//! as the server's tests and tools do; the phone always passes its key. A plain store opened
//! with a key is encrypted in place first ([`encrypt_in_place`]), crash-safe: the encrypted
//! copy is written beside it, synced, and renamed over it, so a process killed at any point
//! leaves either the old plain file or the new encrypted one, whole. An encrypted store
//! opened without its key, or with another key, is [`Error::WrongKey`], never a "corrupt
//! database".
//!
//! **What is not protected**: the key while the app runs (it is in the process's memory, as
//! are the decrypted pages SQLCipher caches); the bytes of a plain store that was encrypted
//! in place, which stay in free flash blocks until the phone reuses them (flash translation
//! layers make overwriting them impossible to guarantee); the file's size and how it grows;
//! and anything the app itself writes elsewhere (a camera's own copy of a photo, logs).

use std::fmt;
use std::fs::File;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use rusqlite::{Connection, ErrorCode, OpenFlags, OptionalExtension, params};
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The length of a store key: 256 bits, SQLCipher's AES-256 key.
pub const STORE_KEY_LEN: usize = 32;

/// The first 16 bytes of every plain SQLite database. An encrypted file starts with its
/// random salt instead (SQLCipher keeps no plain header), so these bytes tell the two apart
/// without a key.
const PLAIN_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// Set to a step name of [`encrypt_in_place`] (`single-file`, `exported`, `synced`,
/// `renamed`), it makes the process print `migration reached <step>` on stdout and wait there
/// to be killed: the kill-during-migration test's hook. Nothing sets it outside that test.
pub const STOP_MIGRATION_ENV: &str = "WANGGE_TEST_STOP_MIGRATION_AT";

/// The key of an encrypted store: 32 random bytes, kept by the app (wrapped by the
/// platform's keystore) and given at every open.
///
/// Its bytes are zeroed when it is dropped, and `Debug` never shows them.
#[derive(Clone)]
pub struct StoreKey(Zeroizing<[u8; STORE_KEY_LEN]>);

impl StoreKey {
    /// The key made of these bytes, which must be exactly [`STORE_KEY_LEN`] (32) bytes from a
    /// cryptographic random generator (on Android `SecureRandom`), not a password: they are
    /// used as the AES key as they are, with no stretching.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self> {
        let bytes: [u8; STORE_KEY_LEN] = bytes.try_into().map_err(|_| {
            Error::invalid(
                "store key",
                format!(
                    "a store key is {STORE_KEY_LEN} random bytes, this one is {} bytes; generate it with a secure random generator and keep it wrapped by the keystore",
                    bytes.len()
                ),
            )
        })?;
        Ok(StoreKey(Zeroizing::new(bytes)))
    }

    /// The value of `PRAGMA key` / `ATTACH … KEY` that makes SQLCipher take the bytes as the
    /// raw key (`x'<64 hex digits>'`), zeroed when dropped like the key.
    fn sqlcipher_literal(&self) -> Zeroizing<String> {
        let mut text = Zeroizing::new(String::with_capacity(3 + 2 * STORE_KEY_LEN));
        text.push_str("x'");
        for b in self.0.iter() {
            text.push(char::from(HEX[usize::from(b >> 4)]));
            text.push(char::from(HEX[usize::from(b & 0x0f)]));
        }
        text.push('\'');
        text
    }
}

const HEX: &[u8; 16] = b"0123456789ABCDEF";

impl fmt::Debug for StoreKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("StoreKey(<redacted>)")
    }
}

/// What the file at a store's path holds, judged from its first bytes.
#[derive(Debug, PartialEq, Eq)]
enum FileKind {
    /// No file, or an empty one: a new store.
    New,
    /// A plain SQLite database.
    Plain,
    /// Anything else: an encrypted store (or a file that is no database at all, which the
    /// key check then reports).
    Encrypted,
}

fn file_kind(path: &Path) -> Result<FileKind> {
    let mut file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(FileKind::New),
        Err(source) => return Err(io_error(path, source)),
    };
    let mut header = Vec::with_capacity(PLAIN_HEADER.len());
    (&mut file)
        .take(PLAIN_HEADER.len() as u64)
        .read_to_end(&mut header)
        .map_err(|source| io_error(path, source))?;
    Ok(if header.is_empty() {
        FileKind::New
    } else if header == PLAIN_HEADER {
        FileKind::Plain
    } else {
        FileKind::Encrypted
    })
}

/// Makes the file at `path` fit to be opened with `key`: encrypts a plain store in place
/// when a key is given, refuses an encrypted one when none is. Called before the store's
/// connections are opened.
pub(crate) fn prepare(path: &Path, key: Option<&StoreKey>) -> Result<()> {
    match (file_kind(path)?, key) {
        (FileKind::Plain, Some(key)) => encrypt_in_place(path, key),
        (FileKind::Encrypted, None) => Err(Error::WrongKey {
            path: path.display().to_string(),
            problem: "is encrypted and no key was given",
        }),
        _ => Ok(()),
    }
}

/// Opens a connection to the store's file, keyed when `key` is given: the key is set before
/// anything is read, and checked at once by reading the schema, so a wrong key is
/// [`Error::WrongKey`] here rather than "file is not a database" at the first query.
pub(crate) fn open_connection(
    path: &Path,
    flags: OpenFlags,
    key: Option<&StoreKey>,
) -> Result<Connection> {
    let conn = Connection::open_with_flags(path, flags)?;
    if let Some(key) = key {
        apply_key(&conn, key, path)?;
    }
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    Ok(conn)
}

fn apply_key(conn: &Connection, key: &StoreKey, path: &Path) -> Result<()> {
    require_sqlcipher(conn)?;
    conn.pragma_update(None, "key", &*key.sqlcipher_literal())?;
    let read = conn.query_row("SELECT count(*) FROM sqlite_master", [], |r| {
        r.get::<_, i64>(0)
    });
    match read {
        Ok(_) => Ok(()),
        Err(e) if e.sqlite_error_code() == Some(ErrorCode::NotADatabase) => Err(Error::WrongKey {
            path: path.display().to_string(),
            problem: "cannot be read with the key given (it is encrypted with another key, or is not a Wangge store)",
        }),
        Err(e) => Err(e.into()),
    }
}

/// Refuses a key when the SQLite linked is not SQLCipher (`wangge-core` built without its
/// `sqlcipher` feature): it would otherwise ignore `PRAGMA key` and write the data plain.
fn require_sqlcipher(conn: &Connection) -> Result<()> {
    let version: Option<String> = conn
        .query_row("PRAGMA cipher_version", [], |r| r.get(0))
        .optional()?;
    if version.is_none() {
        return Err(Error::EncryptionUnavailable);
    }
    // SQLCipher logs a wrong key's failed page check to stderr (logcat on Android); the
    // store reports it as `WrongKey`, so the log would only repeat it. The level is
    // process-wide: an app that wants SQLCipher's log sets it back after opening.
    conn.query_row("PRAGMA cipher_log_level = NONE", [], |_| Ok(()))?;
    Ok(())
}

/// Encrypts the plain store at `path` in place, so that a process killed at any point leaves
/// either the old plain file or the new encrypted one, each whole:
///
/// 1. the plain store is brought into one file (`journal_mode = DELETE` checkpoints its WAL
///    into the main file, fsyncs it, and removes the WAL: a leftover plain WAL must never be
///    replayed over the encrypted file);
/// 2. `sqlcipher_export` copies every table, index and trigger into `<path>.encrypting`,
///    keyed, and `user_version` (which the export does not copy) is set on it; a copy left by
///    an earlier attempt is deleted first;
/// 3. the copy is checked (every table holds as many rows as the original) and fsynced;
/// 4. it is renamed over the original (atomic on POSIX file systems) and the directory is
///    fsynced, so the rename itself is durable.
///
/// Killed before 4, the plain file is intact and the next open with the key starts again;
/// killed after, the file is the encrypted store.
pub(crate) fn encrypt_in_place(path: &Path, key: &StoreKey) -> Result<()> {
    let copy = sibling(path, ".encrypting");
    {
        // CREATE, though the store exists: an attached database is opened with the main
        // one's flags, and the copy is a new file.
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        require_sqlcipher(&conn)?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        let mode: String = conn.query_row("PRAGMA journal_mode = DELETE", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("delete") {
            return Err(Error::invalid(
                "store",
                format!(
                    "{} is open elsewhere (journal mode stays {mode}), so it cannot be encrypted now; close the other instance and open it again",
                    path.display()
                ),
            ));
        }
        reached("single-file");
        remove_with_journals(&copy)?;
        let version: i64 = conn.query_row("PRAGMA user_version", [], |r| r.get(0))?;
        let copy_name = copy.to_str().ok_or_else(|| {
            Error::invalid(
                "store path",
                format!(
                    "{} is not valid UTF-8; open the store from a UTF-8 path",
                    copy.display()
                ),
            )
        })?;
        conn.execute(
            "ATTACH DATABASE ?1 AS encrypted KEY ?2",
            params![copy_name, &*key.sqlcipher_literal()],
        )?;
        conn.query_row("SELECT sqlcipher_export('encrypted')", [], |_| Ok(()))?;
        conn.pragma_update(Some("encrypted"), "user_version", version)?;
        check_copy(&conn, path)?;
        conn.execute_batch("DETACH DATABASE encrypted")?;
        reached("exported");
    }
    File::open(&copy)
        .and_then(|f| f.sync_all())
        .map_err(|source| io_error(&copy, source))?;
    reached("synced");
    // The plain store must be a single file now: a journal or WAL left beside it would be
    // replayed over the encrypted file at its next open and ruin it.
    for leftover in [sibling(path, "-wal"), sibling(path, "-journal")] {
        if leftover.exists() {
            return Err(Error::invalid(
                "store",
                format!(
                    "{} is still in use ({} exists), so it was not encrypted; close every other instance and open it again",
                    path.display(),
                    leftover.display()
                ),
            ));
        }
    }
    remove_if_present(&sibling(path, "-shm"))?;
    std::fs::rename(&copy, path).map_err(|source| io_error(path, source))?;
    sync_dir(path)?;
    reached("renamed");
    Ok(())
}

/// Checks that every table of the plain store holds as many rows in the encrypted copy.
/// Virtual tables (`rootpage = 0`, the full-text index) are skipped: their rows are in their
/// shadow tables, which are compared, and the export adds them to the copy's schema behind
/// this connection's back, so it cannot query them before it reopens the copy.
fn check_copy(conn: &Connection, path: &Path) -> Result<()> {
    let tables: Vec<String> = conn
        .prepare(
            "SELECT name FROM main.sqlite_master
             WHERE type = 'table' AND rootpage > 0 AND name NOT LIKE 'sqlite_%'",
        )?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for table in tables {
        let quoted = table.replace('"', "\"\"");
        let count = |schema: &str| -> rusqlite::Result<i64> {
            conn.query_row(
                &format!("SELECT count(*) FROM {schema}.\"{quoted}\""),
                [],
                |r| r.get(0),
            )
        };
        let (plain, encrypted) = (count("main")?, count("encrypted")?);
        if plain != encrypted {
            return Err(Error::invalid(
                "store",
                format!(
                    "encrypting {} copied {encrypted} of the {plain} rows of {table}; the plain store is untouched: free storage space and open it again",
                    path.display()
                ),
            ));
        }
    }
    Ok(())
}

/// The test hook of [`STOP_MIGRATION_ENV`].
fn reached(step: &str) {
    if std::env::var(STOP_MIGRATION_ENV).is_ok_and(|s| s == step) {
        let mut out = std::io::stdout().lock();
        // The test reads this line to know where the process stands; if stdout is gone
        // there is nobody to tell, and waiting to be killed is all that is left.
        let _ = writeln!(out, "migration reached {step}").and_then(|()| out.flush());
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
    }
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

fn remove_with_journals(path: &Path) -> Result<()> {
    for suffix in ["", "-journal", "-wal", "-shm"] {
        remove_if_present(&sibling(path, suffix))?;
    }
    Ok(())
}

fn remove_if_present(path: &Path) -> Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io_error(path, e)),
        _ => Ok(()),
    }
}

/// Makes a rename in `path`'s directory durable (POSIX: the directory entry is only on disk
/// once the directory is fsynced). Elsewhere directories cannot be opened, and the rename is
/// as durable as that platform makes it.
fn sync_dir(path: &Path) -> Result<()> {
    let dir = match path.parent().filter(|d| !d.as_os_str().is_empty()) {
        Some(d) => d,
        None => Path::new("."),
    };
    if cfg!(unix) {
        File::open(dir)
            .and_then(|d| d.sync_all())
            .map_err(|source| io_error(dir, source))?;
    }
    Ok(())
}

fn io_error(path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        path: path.display().to_string(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_is_32_bytes_and_never_printed() {
        assert!(StoreKey::from_bytes(&[7; 31]).is_err());
        assert!(StoreKey::from_bytes(&[7; 33]).is_err());
        let key = StoreKey::from_bytes(&[0xAB; 32]).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(format!("{key:?}"), "StoreKey(<redacted>)");
        let literal = key.sqlcipher_literal();
        assert_eq!(literal.len(), 67);
        assert!(literal.starts_with("x'ABAB") && literal.ends_with("AB'"));
    }
}
