//! PORT IN PROGRESS (helper): pairing codes on PostgreSQL (see sqlite_pairing.rs).

use super::PgStorage;
use crate::pairing::{NewPairingCode, Redeem, Redeemed};
use crate::storage::error::{StorageError, StorageResult};

fn todo<T>() -> StorageResult<T> {
    Err(StorageError::internal("not yet ported to PostgreSQL"))
}

impl PgStorage {
    pub(super) fn insert_pairing_code(&self, _code: &NewPairingCode) -> StorageResult<bool> {
        todo()
    }
    pub(super) fn redeem_code(&self, _redeem: &Redeem) -> StorageResult<Redeemed> {
        todo()
    }
}
