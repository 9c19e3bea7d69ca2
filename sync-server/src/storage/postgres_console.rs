//! Console logins and sessions on PostgreSQL (see `crate::storage::console` for what they
//! are, and `sqlite_console.rs` for the tables).

use postgres::error::SqlState;

use super::{PgStorage, Tx};
use crate::storage::console::{ConsoleSession, StaffLogin};
use crate::storage::error::{StorageError, StorageResult};

/// Which column a login is looked up by.
#[derive(Debug, Clone, Copy)]
pub(super) enum LoginKey {
    /// The login's username.
    Username,
    /// The person's staff id.
    StaffId,
}

impl LoginKey {
    /// The column, written into the query: an enum rather than SQLite's column-name
    /// string, so no caller can put anything else there.
    fn column(self) -> &'static str {
        match self {
            LoginKey::Username => "username",
            LoginKey::StaffId => "staff_id",
        }
    }
}

/// The name PostgreSQL gives the unique constraint of `staff_logins.username`.
const USERNAME_UNIQUE: &str = "staff_logins_username_key";

/// Stores `login` and ends its person's sessions (inside `tx`).
fn put(tx: &mut Tx<'_>, login: &StaffLogin) -> StorageResult<()> {
    let holder: Option<String> = tx
        .query_opt(
            "SELECT staff_id FROM staff_logins WHERE username = $1",
            &[&login.username],
        )?
        .map(|r| r.try_get(0))
        .transpose()?;
    let taken = || StorageError::UsernameTaken {
        username: login.username.clone(),
    };
    if holder.as_deref().is_some_and(|h| h != login.staff_id) {
        return Err(taken());
    }
    tx.execute(
        "INSERT INTO staff_logins (staff_id, username, password_hash, device_id, updated_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (staff_id) DO UPDATE SET username = excluded.username,
             password_hash = excluded.password_hash, updated_at = excluded.updated_at",
        &[
            &login.staff_id,
            &login.username,
            &login.password_hash,
            &login.device_id,
            &login.updated_at,
        ],
    )
    .map_err(|e| {
        // Another person took the username since the check above (another instance):
        // the unique index refuses, and the refusal is the same as the check's.
        let username_index = e.as_db_error().is_some_and(|db| {
            *db.code() == SqlState::UNIQUE_VIOLATION && db.constraint() == Some(USERNAME_UNIQUE)
        });
        if username_index {
            taken()
        } else {
            StorageError::from(e)
        }
    })?;
    // A new password ends every session opened with the old one.
    tx.execute(
        "DELETE FROM console_sessions WHERE staff_id = $1",
        &[&login.staff_id],
    )?;
    Ok(())
}

impl PgStorage {
    /// Sets a person's login (`username_taken` when another person has the username) and
    /// ends their sessions.
    pub(super) fn put_login(&self, login: &StaffLogin) -> StorageResult<()> {
        self.update(|tx| put(tx, login))
    }

    /// The login whose `key` column is `value`.
    pub(super) fn get_login(
        &self,
        key: LoginKey,
        value: &str,
    ) -> StorageResult<Option<StaffLogin>> {
        let sql = format!(
            "SELECT staff_id, username, password_hash, device_id, updated_at
             FROM staff_logins WHERE {} = $1",
            key.column()
        );
        self.read(|tx| {
            tx.query_opt(&sql, &[&value])?
                .map(|r| -> StorageResult<StaffLogin> {
                    Ok(StaffLogin {
                        staff_id: r.try_get(0)?,
                        username: r.try_get(1)?,
                        password_hash: r.try_get(2)?,
                        device_id: r.try_get(3)?,
                        updated_at: r.try_get(4)?,
                    })
                })
                .transpose()
        })
    }

    /// Stores a new session, dropping its person's sessions that have ended.
    pub(super) fn insert_session(
        &self,
        token_hash: &[u8],
        session: &ConsoleSession,
    ) -> StorageResult<()> {
        self.update(|tx| {
            tx.execute(
                "DELETE FROM console_sessions WHERE staff_id = $1 AND expires_at <= $2",
                &[&session.staff_id, &session.created_at],
            )?;
            tx.execute(
                "INSERT INTO console_sessions (token_hash, staff_id, csrf, created_at, last_seen, expires_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &[
                    &token_hash,
                    &session.staff_id,
                    &session.csrf,
                    &session.created_at,
                    &session.last_seen,
                    &session.expires_at,
                ],
            )?;
            Ok(())
        })
    }

    /// The session of a token's hash, ended or not (the caller checks the times).
    pub(super) fn get_session(&self, token_hash: &[u8]) -> StorageResult<Option<ConsoleSession>> {
        self.read(|tx| {
            tx.query_opt(
                "SELECT staff_id, csrf, created_at, last_seen, expires_at
                 FROM console_sessions WHERE token_hash = $1",
                &[&token_hash],
            )?
            .map(|r| -> StorageResult<ConsoleSession> {
                Ok(ConsoleSession {
                    staff_id: r.try_get(0)?,
                    csrf: r.try_get(1)?,
                    created_at: r.try_get(2)?,
                    last_seen: r.try_get(3)?,
                    expires_at: r.try_get(4)?,
                })
            })
            .transpose()
        })
    }

    /// Records activity on a session.
    pub(super) fn set_session_seen(&self, token_hash: &[u8], now_ms: i64) -> StorageResult<()> {
        self.update(|tx| {
            tx.execute(
                "UPDATE console_sessions SET last_seen = $2 WHERE token_hash = $1",
                &[&token_hash, &now_ms],
            )?;
            Ok(())
        })
    }

    /// Ends a session; false if there was none.
    pub(super) fn delete_session(&self, token_hash: &[u8]) -> StorageResult<bool> {
        self.update(|tx| {
            Ok(tx.execute(
                "DELETE FROM console_sessions WHERE token_hash = $1",
                &[&token_hash],
            )? > 0)
        })
    }
}
