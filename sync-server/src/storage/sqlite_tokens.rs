//! Token expiry and rotation in the SQLite backend (schema version 14): when each device's
//! current token was issued, and the previous token a rotation replaced, with until when it
//! works (see `crate::tokens`).

use rusqlite::{OptionalExtension, params};

use super::{DEVICE_COLUMNS, SqliteStorage, device_from_row, lock, to_device};
use crate::storage::DeviceToken;
use crate::storage::error::StorageResult;

/// Version 14: token expiry and rotation, as `(column, type)` of `devices`.
///
/// `token_issued_at` is when the current token (`token_hash`) was issued; a token stored
/// before this version counts as issued at the upgrade (see [`add_token_columns`]), so
/// upgrading a server locks no phone out and every phone is given a new token within the
/// lifetime. `prev_token_hash` is the token a rotation replaced, working until
/// `prev_token_until`; a unique index finds it as fast as the current one (SQLite lets
/// several rows hold NULL in it).
const TOKEN_COLUMNS: [(&str, &str); 3] = [
    ("token_issued_at", "INTEGER"),
    ("prev_token_hash", "BLOB"),
    ("prev_token_until", "INTEGER"),
];

/// Adds the columns of [`TOKEN_COLUMNS`] a database lacks, and their index, and counts
/// tokens stored before as issued at `now_ms` (the upgrade). Column by column, since SQLite
/// has no `ADD COLUMN IF NOT EXISTS`: tests make "old" databases by turning a fresh one's
/// version back, and need not know of these columns.
pub(super) fn add_token_columns(tx: &rusqlite::Connection, now_ms: i64) -> StorageResult<()> {
    let present: Vec<String> = tx
        .prepare("SELECT name FROM pragma_table_info('devices')")?
        .query_map([], |r| r.get(0))?
        .collect::<rusqlite::Result<_>>()?;
    for (column, kind) in TOKEN_COLUMNS {
        if !present.iter().any(|p| p == column) {
            tx.execute_batch(&format!("ALTER TABLE devices ADD COLUMN {column} {kind};"))?;
        }
    }
    tx.execute_batch(
        "CREATE UNIQUE INDEX IF NOT EXISTS devices_prev_token ON devices(prev_token_hash);",
    )?;
    tx.execute(
        "UPDATE devices SET token_issued_at = ?1 WHERE token_issued_at IS NULL",
        [now_ms],
    )?;
    Ok(())
}

impl SqliteStorage {
    /// The device holding `token_hash` as its current or previous token.
    pub(super) fn find_token(&self, token_hash: &[u8]) -> StorageResult<Option<DeviceToken>> {
        let conn = self.reader();
        let row = conn
            .prepare_cached(&format!(
                "SELECT {DEVICE_COLUMNS}, coalesce(token_issued_at, created_at), \
                 token_hash = ?1, prev_token_until, prev_token_hash IS NOT NULL \
                 FROM devices WHERE token_hash = ?1 OR prev_token_hash = ?1"
            ))?
            .query_row([token_hash], |r| {
                Ok((
                    device_from_row(r)?,
                    r.get::<_, i64>(7)?,
                    r.get::<_, bool>(8)?,
                    r.get::<_, Option<i64>>(9)?,
                    r.get::<_, bool>(10)?,
                ))
            })
            .optional()?;
        let Some((device, issued_at, current, prev_until, has_previous)) = row else {
            return Ok(None);
        };
        Ok(Some(DeviceToken {
            device: to_device(device)?,
            issued_at,
            // A previous token without a time (cannot happen) works no longer.
            previous_until: (!current).then(|| prev_until.unwrap_or(i64::MIN)),
            has_previous,
        }))
    }

    /// See [`crate::storage::Storage::rotate_token`]. One statement: SQLite evaluates every
    /// expression of an UPDATE against the row as it was.
    pub(super) fn replace_token(
        &self,
        device_id: &str,
        used_hash: &[u8],
        new_hash: &[u8],
        now_ms: i64,
        previous_until: i64,
    ) -> StorageResult<bool> {
        let conn = lock(&self.writer);
        let n = conn.execute(
            "UPDATE devices SET
                 prev_token_hash = CASE WHEN token_hash = ?2 THEN token_hash ELSE prev_token_hash END,
                 prev_token_until = CASE WHEN token_hash = ?2 THEN ?5 ELSE prev_token_until END,
                 token_hash = ?3,
                 token_issued_at = ?4
             WHERE device_id = ?1 AND revoked_at IS NULL
                 AND (token_hash = ?2 OR prev_token_hash = ?2)",
            params![device_id, used_hash, new_hash, now_ms, previous_until],
        )?;
        Ok(n > 0)
    }

    /// See [`crate::storage::Storage::drop_previous_token`].
    pub(super) fn forget_previous_token(&self, device_id: &str) -> StorageResult<()> {
        lock(&self.writer).execute(
            "UPDATE devices SET prev_token_hash = NULL, prev_token_until = NULL \
             WHERE device_id = ?1 AND prev_token_hash IS NOT NULL",
            [device_id],
        )?;
        Ok(())
    }
}
