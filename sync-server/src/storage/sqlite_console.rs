//! Console logins and sessions in the SQLite backend (schema version 13; see
//! `crate::storage::console` for what they are).

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::{SqliteStorage, lock};
use crate::storage::console::{ConsoleSession, StaffLogin};
use crate::storage::error::{StorageError, StorageResult};

/// Version 13: console logins and sessions.
///
/// `console_sessions.token_hash` is the SHA-256 of the cookie's token; ended sessions are
/// deleted when their person next logs in, so the table holds about one row per person.
/// `IF NOT EXISTS`, as for every table added after version 9 (tests make old databases by
/// dropping what later versions added).
pub(super) const CONSOLE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS staff_logins (
    staff_id      TEXT PRIMARY KEY,
    username      TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    device_id     TEXT NOT NULL,
    updated_at    INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS console_sessions (
    token_hash BLOB PRIMARY KEY,
    staff_id   TEXT NOT NULL,
    csrf       TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS console_sessions_by_staff ON console_sessions (staff_id);
";

const LOGIN_COLUMNS: &str = "staff_id, username, password_hash, device_id, updated_at";

fn login_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<StaffLogin> {
    Ok(StaffLogin {
        staff_id: r.get(0)?,
        username: r.get(1)?,
        password_hash: r.get(2)?,
        device_id: r.get(3)?,
        updated_at: r.get(4)?,
    })
}

impl SqliteStorage {
    pub(super) fn put_login(&self, login: &StaffLogin) -> StorageResult<()> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let holder: Option<String> = tx
            .query_row(
                "SELECT staff_id FROM staff_logins WHERE username = ?1",
                [&login.username],
                |r| r.get(0),
            )
            .optional()?;
        if holder.as_deref().is_some_and(|h| h != login.staff_id) {
            return Err(StorageError::UsernameTaken {
                username: login.username.clone(),
            });
        }
        tx.execute(
            "INSERT INTO staff_logins (staff_id, username, password_hash, device_id, updated_at)
             VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT (staff_id) DO UPDATE SET username = excluded.username,
                 password_hash = excluded.password_hash, updated_at = excluded.updated_at",
            params![
                login.staff_id,
                login.username,
                login.password_hash,
                login.device_id,
                login.updated_at
            ],
        )?;
        // A new password ends every session opened with the old one.
        tx.execute(
            "DELETE FROM console_sessions WHERE staff_id = ?1",
            [&login.staff_id],
        )?;
        tx.commit()?;
        Ok(())
    }

    pub(super) fn get_login(&self, column: &str, value: &str) -> StorageResult<Option<StaffLogin>> {
        let conn = self.reader();
        let sql = format!("SELECT {LOGIN_COLUMNS} FROM staff_logins WHERE {column} = ?1");
        Ok(conn
            .prepare_cached(&sql)?
            .query_row([value], login_from_row)
            .optional()?)
    }

    pub(super) fn insert_session(
        &self,
        token_hash: &[u8],
        session: &ConsoleSession,
    ) -> StorageResult<()> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "DELETE FROM console_sessions WHERE staff_id = ?1 AND expires_at <= ?2",
            params![session.staff_id, session.created_at],
        )?;
        tx.execute(
            "INSERT INTO console_sessions (token_hash, staff_id, csrf, created_at, last_seen, expires_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            params![
                token_hash,
                session.staff_id,
                session.csrf,
                session.created_at,
                session.last_seen,
                session.expires_at
            ],
        )?;
        tx.commit()?;
        Ok(())
    }

    pub(super) fn get_session(&self, token_hash: &[u8]) -> StorageResult<Option<ConsoleSession>> {
        let conn = self.reader();
        Ok(conn
            .prepare_cached(
                "SELECT staff_id, csrf, created_at, last_seen, expires_at
                 FROM console_sessions WHERE token_hash = ?1",
            )?
            .query_row([token_hash], |r| {
                Ok(ConsoleSession {
                    staff_id: r.get(0)?,
                    csrf: r.get(1)?,
                    created_at: r.get(2)?,
                    last_seen: r.get(3)?,
                    expires_at: r.get(4)?,
                })
            })
            .optional()?)
    }

    pub(super) fn set_session_seen(&self, token_hash: &[u8], now_ms: i64) -> StorageResult<()> {
        let conn = lock(&self.writer);
        conn.prepare_cached("UPDATE console_sessions SET last_seen = ?2 WHERE token_hash = ?1")?
            .execute(params![token_hash, now_ms])?;
        Ok(())
    }

    pub(super) fn delete_session(&self, token_hash: &[u8]) -> StorageResult<bool> {
        let conn = lock(&self.writer);
        Ok(conn
            .prepare_cached("DELETE FROM console_sessions WHERE token_hash = ?1")?
            .execute([token_hash])?
            > 0)
    }
}
