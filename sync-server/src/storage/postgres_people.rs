//! PORT IN PROGRESS (helper): people, units and the audit log on PostgreSQL (see sqlite_people.rs).

use super::PgStorage;
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::{AuditEntry, Person, Unit};

fn todo<T>() -> StorageResult<T> {
    Err(StorageError::internal("not yet ported to PostgreSQL"))
}

impl PgStorage {
    pub(super) fn person_by_staff_id(&self, _staff_id: &str) -> StorageResult<Option<Person>> {
        todo()
    }
    pub(super) fn upsert_people_and_units(
        &self,
        _people: &[Person],
        _units: &[Unit],
    ) -> StorageResult<()> {
        todo()
    }
    pub(super) fn all_people(&self) -> StorageResult<Vec<Person>> {
        todo()
    }
    pub(super) fn all_units(&self) -> StorageResult<Vec<Unit>> {
        todo()
    }
    pub(super) fn append_audit(&self, _entry: &AuditEntry) -> StorageResult<()> {
        todo()
    }
    pub(super) fn audit_since(
        &self,
        _since_ms: i64,
        _limit: u32,
    ) -> StorageResult<Vec<AuditEntry>> {
        todo()
    }
}
