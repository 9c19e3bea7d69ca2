//! People, units and the audit log on PostgreSQL.
//!
//! The tables, and why memberships are rows while roles, blocks and workstations are JSON
//! lists read whole, are SQLite's (`sqlite_people.rs`, `PEOPLE_SCHEMA`); the statements are
//! the same with `$n` placeholders, and the rows are decoded by the same functions. The
//! audit log is append-only here too: the schema's triggers (`postgres_schema.rs`) refuse
//! `UPDATE`, `DELETE` and `TRUNCATE`, and `id` is an identity column.

use std::collections::HashMap;

use super::{PgStorage, Tx};
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::sqlite::people::{
    AUDIT_COLUMNS, PERSON_COLUMNS, PersonRow, kind_name, parse_kind, to_json, to_person,
};
use crate::storage::{AuditEntry, Person, Unit};

fn person_from_row(r: &postgres::Row) -> StorageResult<PersonRow> {
    Ok((
        r.try_get(0)?,
        r.try_get(1)?,
        r.try_get(2)?,
        r.try_get(3)?,
        r.try_get(4)?,
        r.try_get(5)?,
        r.try_get(6)?,
    ))
}

fn audit_from_row(r: &postgres::Row) -> StorageResult<AuditEntry> {
    Ok(AuditEntry {
        at: r.try_get(0)?,
        device_id: r.try_get(1)?,
        person: r.try_get(2)?,
        action: r.try_get(3)?,
        target: r.try_get(4)?,
        outcome: r.try_get(5)?,
        code: r.try_get(6)?,
        remote_addr: r.try_get(7)?,
        detail: r.try_get(8)?,
    })
}

/// The units of one person, in the roster's order.
fn units_of(tx: &mut Tx<'_>, staff_id: &str) -> StorageResult<Vec<String>> {
    tx.query(
        "SELECT unit_id FROM person_units WHERE staff_id = $1 ORDER BY position",
        &[&staff_id],
    )?
    .iter()
    .map(|r| Ok(r.try_get(0)?))
    .collect()
}

/// Adds or replaces `units`, then `people` with their memberships (inside `tx`).
fn upsert(tx: &mut Tx<'_>, people: &[Person], units: &[Unit]) -> StorageResult<()> {
    for unit in units {
        tx.execute(
            "INSERT INTO units (unit_id, kind, name) VALUES ($1, $2, $3)
             ON CONFLICT (unit_id) DO UPDATE SET kind = excluded.kind, name = excluded.name",
            &[&unit.id, &kind_name(unit.kind)?, &unit.name],
        )?;
    }
    for person in people {
        tx.execute(
            "INSERT INTO people (staff_id, name, roles, admin, blocks, workstations, active)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (staff_id) DO UPDATE SET name = excluded.name, roles = excluded.roles,
                 admin = excluded.admin, blocks = excluded.blocks,
                 workstations = excluded.workstations, active = excluded.active",
            &[
                &person.staff_id,
                &person.name,
                &to_json(&person.roles)?,
                &person.admin,
                &to_json(&person.blocks)?,
                &to_json(&person.workstations)?,
                &person.active,
            ],
        )?;
        tx.execute(
            "DELETE FROM person_units WHERE staff_id = $1",
            &[&person.staff_id],
        )?;
        for (position, unit) in person.units.iter().enumerate() {
            // PostgreSQL enforces the foreign key, but its error would be a database
            // failure: the refusal names the person and the unit.
            let known: bool = tx
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM units WHERE unit_id = $1)",
                    &[unit],
                )?
                .try_get(0)?;
            if !known {
                return Err(StorageError::UnknownUnit {
                    staff_id: person.staff_id.clone(),
                    unit: unit.clone(),
                });
            }
            tx.execute(
                "INSERT INTO person_units (staff_id, unit_id, position) VALUES ($1, $2, $3)",
                &[&person.staff_id, unit, &(position as i64)],
            )?;
        }
    }
    Ok(())
}

impl PgStorage {
    /// The person with `staff_id`, with their units.
    pub(super) fn person_by_staff_id(&self, staff_id: &str) -> StorageResult<Option<Person>> {
        self.read(|tx| {
            let row = tx
                .query_opt(
                    &format!("SELECT {PERSON_COLUMNS} FROM people WHERE staff_id = $1"),
                    &[&staff_id],
                )?
                .as_ref()
                .map(person_from_row)
                .transpose()?;
            match row {
                None => Ok(None),
                Some(row) => {
                    let units = units_of(tx, staff_id)?;
                    to_person(row, units).map(Some)
                }
            }
        })
    }

    /// Adds or replaces units, then people with their memberships, in one transaction: a
    /// roster import is all or nothing, and nobody is removed (see `sqlite_people.rs`).
    pub(super) fn upsert_people_and_units(
        &self,
        people: &[Person],
        units: &[Unit],
    ) -> StorageResult<()> {
        self.update(|tx| upsert(tx, people, units))
    }

    /// Every person, by staff id, with their units.
    pub(super) fn all_people(&self) -> StorageResult<Vec<Person>> {
        self.read(|tx| {
            // Two queries rather than one per person: the memberships of everybody at once.
            let mut memberships: HashMap<String, Vec<String>> = HashMap::new();
            for row in tx.query(
                "SELECT staff_id, unit_id FROM person_units ORDER BY staff_id, position",
                &[],
            )? {
                memberships
                    .entry(row.try_get(0)?)
                    .or_default()
                    .push(row.try_get(1)?);
            }
            let rows = tx
                .query(
                    &format!("SELECT {PERSON_COLUMNS} FROM people ORDER BY staff_id"),
                    &[],
                )?
                .iter()
                .map(person_from_row)
                .collect::<StorageResult<Vec<_>>>()?;
            rows.into_iter()
                .map(|row| {
                    let units = memberships.remove(&row.0).unwrap_or_default();
                    to_person(row, units)
                })
                .collect()
        })
    }

    /// Every unit, by id.
    pub(super) fn all_units(&self) -> StorageResult<Vec<Unit>> {
        self.read(|tx| {
            tx.query(
                "SELECT unit_id, kind, name FROM units ORDER BY unit_id",
                &[],
            )?
            .iter()
            .map(|r| {
                let kind: String = r.try_get(1)?;
                Ok(Unit {
                    id: r.try_get(0)?,
                    kind: parse_kind(&kind)?,
                    name: r.try_get(2)?,
                })
            })
            .collect()
        })
    }

    /// Appends one line to the audit log, in its own transaction.
    pub(super) fn append_audit(&self, entry: &AuditEntry) -> StorageResult<()> {
        self.update(|tx| {
            tx.execute(
                "INSERT INTO audit_log (at, device_id, person_id, action, target, outcome, code, remote_addr, detail)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &[
                    &entry.at,
                    &entry.device_id,
                    &entry.person,
                    &entry.action,
                    &entry.target,
                    &entry.outcome,
                    &entry.code,
                    &entry.remote_addr,
                    &entry.detail,
                ],
            )?;
            Ok(())
        })
    }

    /// The audit log from `since_ms` on (inclusive), oldest first, at most `limit` lines.
    pub(super) fn audit_since(&self, since_ms: i64, limit: u32) -> StorageResult<Vec<AuditEntry>> {
        self.read(|tx| {
            tx.query(
                &format!(
                    "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE at >= $1 ORDER BY at, id LIMIT $2"
                ),
                &[&since_ms, &i64::from(limit)],
            )?
            .iter()
            .map(audit_from_row)
            .collect()
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(
        clippy::unwrap_used,
        reason = "a test: a failed step is a test failure"
    )]

    use crate::storage::Storage;
    use crate::storage::conformance::{catalog, entry};

    /// PostgreSQL-specific: the triggers refuse changing, deleting or truncating the audit
    /// log, even to a connection with every right on its table (the trait offers no way to
    /// change it; the conformance suite tests what it offers).
    #[test]
    fn the_audit_log_cannot_be_changed_deleted_or_truncated() {
        let Some((s, _schema)) = super::super::testing::fresh(
            "the_audit_log_cannot_be_changed_deleted_or_truncated",
            catalog(),
        ) else {
            return;
        };
        let line = entry(1, "GET /v1/me");
        s.audit(&line).unwrap();
        let mut conn = s.pool.get().unwrap();
        for statement in [
            "UPDATE audit_log SET outcome = 'refused'",
            "DELETE FROM audit_log",
            "TRUNCATE audit_log",
        ] {
            let mut tx = conn.begin(None, false).unwrap();
            let err = tx.batch_execute(statement).unwrap_err();
            drop(tx);
            let db = err.as_db_error().unwrap();
            assert_eq!(
                db.message(),
                "the audit log is append-only",
                "{statement}: {err}"
            );
        }
        drop(conn);
        assert_eq!(s.audit_log(0, 10).unwrap(), vec![line]);
    }
}
