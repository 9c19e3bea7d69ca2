//! PORT IN PROGRESS (helper): the back office's rows on PostgreSQL (see sqlite_office.rs).

use chrono::NaiveDate;
use wangge_core::{CaseHeader, CaseState, Catalog};

use super::Tx;
use crate::office::board::FilingRow;
use crate::office::evaluation::EvalInput;
use crate::office::export::Change;
use crate::office::queue::{CaseFilter, CasePage};
use crate::storage::error::{StorageError, StorageResult};

fn todo<T>() -> StorageResult<T> {
    Err(StorageError::internal("not yet ported to PostgreSQL"))
}

pub(super) fn project(
    _tx: &mut Tx<'_>,
    _catalog: &Catalog,
    _header: &CaseHeader,
    _state: &CaseState,
) -> StorageResult<()> {
    Ok(())
}

pub(super) fn count(_tx: &mut Tx<'_>, _f: &CaseFilter, _now_ms: i64) -> StorageResult<u64> {
    todo()
}

pub(super) fn page(_tx: &mut Tx<'_>, _f: &CaseFilter, _now_ms: i64) -> StorageResult<CasePage> {
    todo()
}

pub(super) fn eval_input(_tx: &mut Tx<'_>, _from: i64, _to: i64) -> StorageResult<EvalInput> {
    todo()
}

pub(super) fn filings(
    _tx: &mut Tx<'_>,
    _from: NaiveDate,
    _to: NaiveDate,
    _workstation: Option<&str>,
) -> StorageResult<Vec<FilingRow>> {
    todo()
}

pub(super) fn changes(
    _tx: &mut Tx<'_>,
    _after: u64,
    _limit: u32,
    _now_ms: i64,
) -> StorageResult<Vec<Change>> {
    todo()
}
