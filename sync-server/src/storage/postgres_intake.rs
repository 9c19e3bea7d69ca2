//! PORT IN PROGRESS (helper): intake and Open311 on PostgreSQL (see sqlite_intake.rs).

use wangge_core::{CaseHeader, CaseState};

use super::{PgStorage, Tx};
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::intake::{
    ApiKey, DuplicateHint, Intake, IntakeOutcome, ReporterContact, RequestFilter,
};

fn todo<T>() -> StorageResult<T> {
    Err(StorageError::internal("not yet ported to PostgreSQL"))
}

pub(super) fn index_case_spot(
    _tx: &mut Tx<'_>,
    _header: &CaseHeader,
    _state: &CaseState,
) -> StorageResult<()> {
    Ok(())
}

impl PgStorage {
    pub(super) fn intake(&self, _intake: &Intake, _now_ms: i64) -> StorageResult<IntakeOutcome> {
        todo()
    }
    pub(super) fn hints(&self, _case_id: &str) -> StorageResult<Vec<DuplicateHint>> {
        todo()
    }
    pub(super) fn hints_at(
        &self,
        _item: &str,
        _at: i64,
        _lat: f64,
        _lon: f64,
    ) -> StorageResult<Vec<DuplicateHint>> {
        todo()
    }
    pub(super) fn contact(&self, _case_id: &str) -> StorageResult<Option<ReporterContact>> {
        todo()
    }
    pub(super) fn erase_contact(&self, _case_id: &str) -> StorageResult<bool> {
        todo()
    }
    pub(super) fn insert_api_key(&self, _key: &ApiKey, _key_hash: &[u8]) -> StorageResult<()> {
        todo()
    }
    pub(super) fn find_api_key(&self, _key_hash: &[u8]) -> StorageResult<Option<ApiKey>> {
        todo()
    }
    pub(super) fn all_api_keys(&self) -> StorageResult<Vec<ApiKey>> {
        todo()
    }
    pub(super) fn revoke_key(&self, _key_id: &str, _now_ms: i64) -> StorageResult<bool> {
        todo()
    }
    pub(super) fn request_ids_matching(
        &self,
        _filter: &RequestFilter,
    ) -> StorageResult<Vec<String>> {
        todo()
    }
}
