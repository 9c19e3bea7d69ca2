//! PORT IN PROGRESS (helper): token expiry and rotation on PostgreSQL (see sqlite_tokens.rs).

use super::PgStorage;
use crate::storage::DeviceToken;
use crate::storage::error::{StorageError, StorageResult};

fn todo<T>() -> StorageResult<T> {
    Err(StorageError::internal("not yet ported to PostgreSQL"))
}

impl PgStorage {
    pub(super) fn find_token(&self, _token_hash: &[u8]) -> StorageResult<Option<DeviceToken>> {
        todo()
    }
    pub(super) fn replace_token(
        &self,
        _device_id: &str,
        _used_hash: &[u8],
        _new_hash: &[u8],
        _now_ms: i64,
        _previous_until: i64,
    ) -> StorageResult<bool> {
        todo()
    }
    pub(super) fn forget_previous_token(&self, _device_id: &str) -> StorageResult<()> {
        todo()
    }
}
