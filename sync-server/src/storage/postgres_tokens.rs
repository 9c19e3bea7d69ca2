//! Token expiry and rotation on PostgreSQL: when each device's current token was issued,
//! and the previous token a rotation replaced, with until when it works (see
//! `crate::tokens`, and `sqlite_tokens.rs` for the columns). The columns are in the schema
//! from version 1 (`postgres_schema.rs`), with `prev_token_hash` unique as on SQLite.

use super::{DEVICE_COLUMNS, PgStorage, device_from_row};
use crate::storage::DeviceToken;
use crate::storage::error::StorageResult;

impl PgStorage {
    /// The device holding `token_hash` as its current or previous token.
    pub(super) fn find_token(&self, token_hash: &[u8]) -> StorageResult<Option<DeviceToken>> {
        self.read(|tx| {
            let Some(r) = tx.query_opt(
                &format!(
                    "SELECT {DEVICE_COLUMNS}, coalesce(token_issued_at, created_at),
                         token_hash = $1, prev_token_until, prev_token_hash IS NOT NULL
                     FROM devices WHERE token_hash = $1 OR prev_token_hash = $1"
                ),
                &[&token_hash],
            )?
            else {
                return Ok(None);
            };
            let current: bool = r.try_get(8)?;
            let prev_until: Option<i64> = r.try_get(9)?;
            Ok(Some(DeviceToken {
                device: device_from_row(&r)?,
                issued_at: r.try_get(7)?,
                // A previous token without a time (cannot happen) works no longer.
                previous_until: (!current).then(|| prev_until.unwrap_or(i64::MIN)),
                has_previous: r.try_get(10)?,
            }))
        })
    }

    /// See [`crate::storage::Storage::rotate_token`]. One statement: PostgreSQL, like
    /// SQLite, evaluates every expression of an `UPDATE` against the row as it was. Two
    /// rotations of one device at once (two instances) are one after the other: the
    /// second is retried on the row the first wrote.
    pub(super) fn replace_token(
        &self,
        device_id: &str,
        used_hash: &[u8],
        new_hash: &[u8],
        now_ms: i64,
        previous_until: i64,
    ) -> StorageResult<bool> {
        let n = self.update(|tx| {
            Ok(tx.execute(
                "UPDATE devices SET
                     prev_token_hash = CASE WHEN token_hash = $2 THEN token_hash ELSE prev_token_hash END,
                     prev_token_until = CASE WHEN token_hash = $2 THEN $5 ELSE prev_token_until END,
                     token_hash = $3,
                     token_issued_at = $4
                 WHERE device_id = $1 AND revoked_at IS NULL
                     AND (token_hash = $2 OR prev_token_hash = $2)",
                &[&device_id, &used_hash, &new_hash, &now_ms, &previous_until],
            )?)
        })?;
        Ok(n > 0)
    }

    /// See [`crate::storage::Storage::drop_previous_token`].
    pub(super) fn forget_previous_token(&self, device_id: &str) -> StorageResult<()> {
        self.update(|tx| {
            tx.execute(
                "UPDATE devices SET prev_token_hash = NULL, prev_token_until = NULL
                 WHERE device_id = $1 AND prev_token_hash IS NOT NULL",
                &[&device_id],
            )?;
            Ok(())
        })
    }
}
