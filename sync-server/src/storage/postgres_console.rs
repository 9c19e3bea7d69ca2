//! PORT IN PROGRESS (helper): console logins and sessions on PostgreSQL (see sqlite_console.rs).

use super::PgStorage;
use crate::storage::console::{ConsoleSession, StaffLogin};
use crate::storage::error::{StorageError, StorageResult};

fn todo<T>() -> StorageResult<T> {
    Err(StorageError::internal("not yet ported to PostgreSQL"))
}

/// Which column a login is looked up by.
#[derive(Debug, Clone, Copy)]
pub(super) enum LoginKey {
    /// The login's username.
    Username,
    /// The person's staff id.
    StaffId,
}

impl PgStorage {
    pub(super) fn put_login(&self, _login: &StaffLogin) -> StorageResult<()> {
        todo()
    }
    pub(super) fn get_login(
        &self,
        _key: LoginKey,
        _value: &str,
    ) -> StorageResult<Option<StaffLogin>> {
        todo()
    }
    pub(super) fn insert_session(
        &self,
        _token_hash: &[u8],
        _session: &ConsoleSession,
    ) -> StorageResult<()> {
        todo()
    }
    pub(super) fn get_session(&self, _token_hash: &[u8]) -> StorageResult<Option<ConsoleSession>> {
        todo()
    }
    pub(super) fn set_session_seen(&self, _token_hash: &[u8], _now_ms: i64) -> StorageResult<()> {
        todo()
    }
    pub(super) fn delete_session(&self, _token_hash: &[u8]) -> StorageResult<bool> {
        todo()
    }
}
