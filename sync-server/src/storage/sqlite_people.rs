//! People, units, enrolment to a person, and the audit log in the SQLite backend.
//!
//! The SQL here is deliberately plain (no `json_each`, no SQLite-only functions in the
//! queries) so that the PostgreSQL backend can use the same statements with `$n`
//! placeholders. Lists that are only ever read whole are JSON text decoded in Rust.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use wangge_core::Role;

use super::{SqliteStorage, lock};
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::{AuditEntry, Person, Unit, UnitKind};

/// Version 7: the register of people and units, who belongs where, and the audit log.
///
/// Why memberships are a table (`person_units`) while roles, blocks and workstations are
/// JSON arrays in the person's row: "who acts for 城管中队" is a question the back office
/// and the evaluation of units ask of the database (dispatch notices, ranking units, a
/// unit's roster), so it needs an index, and a membership names a unit of the register.
/// A person's roles, blocks and workstations are only ever read whole with the person
/// (enrolment, `GET /v1/me`, the push check), never searched by element: a JSON array
/// keeps them in one row, which is also the simplest thing for PostgreSQL. `position`
/// keeps the order the roster gives a person's units: the first is their main unit.
///
/// The audit log is append-only: the triggers refuse any change or deletion, so a
/// mistaken (or malicious) statement cannot rewrite what devices did. It is read by time
/// (`audit_log_by_time`); `id` orders lines of the same millisecond as they were written.
pub(super) const PEOPLE_SCHEMA: &str = "
ALTER TABLE devices ADD COLUMN person_id TEXT;
CREATE TABLE units (
    unit_id TEXT PRIMARY KEY,
    kind    TEXT NOT NULL,
    name    TEXT
);
CREATE TABLE people (
    staff_id     TEXT PRIMARY KEY,
    name         TEXT NOT NULL,
    roles        TEXT NOT NULL,
    admin        INTEGER NOT NULL DEFAULT 0,
    blocks       TEXT NOT NULL DEFAULT '[]',
    workstations TEXT NOT NULL DEFAULT '[]',
    active       INTEGER NOT NULL DEFAULT 1
);
CREATE TABLE person_units (
    staff_id TEXT NOT NULL REFERENCES people (staff_id),
    unit_id  TEXT NOT NULL REFERENCES units (unit_id),
    position INTEGER NOT NULL,
    PRIMARY KEY (staff_id, unit_id)
);
CREATE INDEX person_units_by_unit ON person_units (unit_id);
CREATE TABLE audit_log (
    id          INTEGER PRIMARY KEY,
    at          INTEGER NOT NULL,
    device_id   TEXT,
    person_id   TEXT,
    action      TEXT NOT NULL,
    target      TEXT,
    outcome     TEXT NOT NULL,
    code        TEXT,
    remote_addr TEXT,
    detail      TEXT
);
CREATE INDEX audit_log_by_time ON audit_log (at, id);
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
";

/// The columns [`person_from_row`] reads, in order.
pub(in crate::storage) const PERSON_COLUMNS: &str =
    "staff_id, name, roles, admin, blocks, workstations, active";

/// A person's row before its units are attached: staff id, name, roles, admin, blocks,
/// workstations, active (lists as JSON text).
pub(in crate::storage) type PersonRow = (String, String, String, bool, String, String, bool);

fn person_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<PersonRow> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
    ))
}

fn from_json<T: serde::de::DeserializeOwned>(what: &str, text: &str) -> StorageResult<T> {
    serde_json::from_str(text)
        .map_err(|e| StorageError::internal(format!("stored {what} are not valid JSON: {e}")))
}

/// A list as the JSON text its column stores.
pub(in crate::storage) fn to_json<T: serde::Serialize>(value: &T) -> StorageResult<String> {
    serde_json::to_string(value).map_err(StorageError::internal)
}

/// A person from their row and their units (the lists decoded from JSON).
pub(in crate::storage) fn to_person(row: PersonRow, units: Vec<String>) -> StorageResult<Person> {
    let (staff_id, name, roles, admin, blocks, workstations, active) = row;
    Ok(Person {
        roles: from_json::<Vec<Role>>("roles", &roles)?,
        blocks: from_json("blocks", &blocks)?,
        workstations: from_json("workstations", &workstations)?,
        staff_id,
        name,
        admin,
        units,
        active,
    })
}

/// The stable name of a unit kind (its serde name), as stored.
pub(in crate::storage) fn kind_name(kind: UnitKind) -> StorageResult<String> {
    match serde_json::to_value(kind).map_err(StorageError::internal)? {
        serde_json::Value::String(s) => Ok(s),
        other => Err(StorageError::internal(format!(
            "unit kind serialised as {other}"
        ))),
    }
}

pub(in crate::storage) fn parse_kind(text: &str) -> StorageResult<UnitKind> {
    serde_json::from_value(serde_json::Value::String(text.to_owned()))
        .map_err(|_| StorageError::internal(format!("unknown stored unit kind {text}")))
}

/// The units of one person, in the roster's order.
fn units_of(conn: &Connection, staff_id: &str) -> StorageResult<Vec<String>> {
    let mut stmt = conn
        .prepare_cached("SELECT unit_id FROM person_units WHERE staff_id = ?1 ORDER BY position")?;
    let units = stmt
        .query_map([staff_id], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(units)
}

/// The columns [`audit_from_row`] reads, in order.
pub(in crate::storage) const AUDIT_COLUMNS: &str =
    "at, device_id, person_id, action, target, outcome, code, remote_addr, detail";

fn audit_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<AuditEntry> {
    Ok(AuditEntry {
        at: r.get(0)?,
        device_id: r.get(1)?,
        person: r.get(2)?,
        action: r.get(3)?,
        target: r.get(4)?,
        outcome: r.get(5)?,
        code: r.get(6)?,
        remote_addr: r.get(7)?,
        detail: r.get(8)?,
    })
}

impl SqliteStorage {
    /// The person with `staff_id`, with their units.
    pub(super) fn person_by_staff_id(&self, staff_id: &str) -> StorageResult<Option<Person>> {
        let conn = self.reader();
        let row = conn
            .prepare_cached(&format!(
                "SELECT {PERSON_COLUMNS} FROM people WHERE staff_id = ?1"
            ))?
            .query_row([staff_id], person_from_row)
            .optional()?;
        match row {
            None => Ok(None),
            Some(row) => {
                let units = units_of(&conn, staff_id)?;
                to_person(row, units).map(Some)
            }
        }
    }

    /// Adds or replaces units, then people with their memberships, in one transaction: a
    /// roster import is all or nothing. A person named again gets exactly the units of the
    /// new entry. Nobody is removed: a person who left is imported with `active: false`,
    /// so that the events they authored still name someone of the register.
    pub(super) fn upsert_people_and_units(
        &self,
        people: &[Person],
        units: &[Unit],
    ) -> StorageResult<()> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        for unit in units {
            tx.prepare_cached(
                "INSERT INTO units (unit_id, kind, name) VALUES (?1, ?2, ?3)
                 ON CONFLICT (unit_id) DO UPDATE SET kind = excluded.kind, name = excluded.name",
            )?
            .execute(params![unit.id, kind_name(unit.kind)?, unit.name])?;
        }
        for person in people {
            tx.prepare_cached(
                "INSERT INTO people (staff_id, name, roles, admin, blocks, workstations, active)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (staff_id) DO UPDATE SET name = excluded.name, roles = excluded.roles,
                     admin = excluded.admin, blocks = excluded.blocks,
                     workstations = excluded.workstations, active = excluded.active",
            )?
            .execute(params![
                person.staff_id,
                person.name,
                to_json(&person.roles)?,
                person.admin,
                to_json(&person.blocks)?,
                to_json(&person.workstations)?,
                person.active,
            ])?;
            tx.prepare_cached("DELETE FROM person_units WHERE staff_id = ?1")?
                .execute([&person.staff_id])?;
            for (position, unit) in person.units.iter().enumerate() {
                let known: bool = tx
                    .prepare_cached("SELECT count(*) > 0 FROM units WHERE unit_id = ?1")?
                    .query_row([unit], |r| r.get(0))?;
                if !known {
                    // The roster loader checks this first; SQLite does not enforce the
                    // foreign key without `PRAGMA foreign_keys`, so check here too.
                    return Err(StorageError::UnknownUnit {
                        staff_id: person.staff_id.clone(),
                        unit: unit.clone(),
                    });
                }
                tx.prepare_cached(
                    "INSERT INTO person_units (staff_id, unit_id, position) VALUES (?1, ?2, ?3)",
                )?
                .execute(params![person.staff_id, unit, position as i64])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Every person, by staff id, with their units.
    pub(super) fn all_people(&self) -> StorageResult<Vec<Person>> {
        let conn = self.reader();
        // Two queries rather than one per person: the memberships of everybody at once.
        let mut memberships: HashMap<String, Vec<String>> = HashMap::new();
        {
            let mut stmt = conn.prepare_cached(
                "SELECT staff_id, unit_id FROM person_units ORDER BY staff_id, position",
            )?;
            let mut rows = stmt.query([])?;
            while let Some(row) = rows.next()? {
                memberships
                    .entry(row.get(0)?)
                    .or_default()
                    .push(row.get(1)?);
            }
        }
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {PERSON_COLUMNS} FROM people ORDER BY staff_id"
        ))?;
        let rows = stmt
            .query_map([], person_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|row| {
                let units = memberships.remove(&row.0).unwrap_or_default();
                to_person(row, units)
            })
            .collect()
    }

    /// Every unit, by id.
    pub(super) fn all_units(&self) -> StorageResult<Vec<Unit>> {
        let conn = self.reader();
        let mut stmt =
            conn.prepare_cached("SELECT unit_id, kind, name FROM units ORDER BY unit_id")?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, Option<String>>(2)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter()
            .map(|(id, kind, name)| {
                Ok(Unit {
                    kind: parse_kind(&kind)?,
                    id,
                    name,
                })
            })
            .collect()
    }

    /// Appends one line to the audit log, in its own transaction.
    pub(super) fn append_audit(&self, entry: &AuditEntry) -> StorageResult<()> {
        let conn = lock(&self.writer);
        conn.prepare_cached(
            "INSERT INTO audit_log (at, device_id, person_id, action, target, outcome, code, remote_addr, detail)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?
        .execute(params![
            entry.at,
            entry.device_id,
            entry.person,
            entry.action,
            entry.target,
            entry.outcome,
            entry.code,
            entry.remote_addr,
            entry.detail,
        ])?;
        Ok(())
    }

    /// The audit log from `since_ms` on (inclusive), oldest first, at most `limit` lines.
    pub(super) fn audit_since(&self, since_ms: i64, limit: u32) -> StorageResult<Vec<AuditEntry>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(&format!(
            "SELECT {AUDIT_COLUMNS} FROM audit_log WHERE at >= ?1 ORDER BY at, id LIMIT ?2"
        ))?;
        let rows = stmt
            .query_map(params![since_ms, i64::from(limit)], audit_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use wangge_core::Catalog;

    use super::*;
    use crate::storage::Storage;

    /// SQLite-specific: the triggers refuse changing the audit log even to someone with
    /// the database file (the trait offers no way to change it; the conformance suite tests
    /// what it offers).
    #[test]
    fn the_audit_log_cannot_be_changed_or_deleted() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Arc::new(Catalog::demo().unwrap());
        let s = SqliteStorage::open(dir.path().join("server.sqlite3"), catalog).unwrap();
        s.audit(&AuditEntry {
            at: 1,
            device_id: Some("dev-1".into()),
            person: Some("XT-GO-001".into()),
            action: "GET /v1/me".into(),
            target: None,
            outcome: "ok".into(),
            code: None,
            remote_addr: Some("127.0.0.1".into()),
            detail: None,
        })
        .unwrap();
        let conn = lock(&s.writer);
        assert!(
            conn.execute("UPDATE audit_log SET outcome = 'ok'", [])
                .is_err()
        );
        assert!(conn.execute("DELETE FROM audit_log", []).is_err());
        drop(conn);
        assert_eq!(s.audit_log(0, 10).unwrap().len(), 1);
    }
}
