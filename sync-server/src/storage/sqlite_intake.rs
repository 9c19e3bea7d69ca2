//! Intake at the centre's desk and through Open311, in the SQLite backend: the case
//! document is made by the core's own functions and stored like any other, and beside it the
//! channel's reference, the reporter's contact, the spot of every case (duplicate hints) and
//! the Open311 API keys.

use automerge::ActorId;
use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use wangge_core::case::{open_case, sealed_case_document};
use wangge_core::doc::{DocKind, EventDoc};
use wangge_core::hlc::HlcClock;
use wangge_core::photo::distance_m;
use wangge_core::{CaseHeader, CaseId, CaseState, Hlc, SourceChannel};

use super::{SqliteStorage, lock};
use crate::docs::decode;
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::intake::{
    ApiKey, DUPLICATE_RADIUS_M, DUPLICATE_WINDOW_MS, DuplicateHint, Intake, IntakeOutcome,
    ReporterContact, RequestFilter,
};

/// Version 11: intake and Open311.
///
/// * `intake_ref`: the outside channel's own reference (a 12345 work-order number), once per
///   channel, so a work order sent twice makes one case.
/// * `reporter_contact`: how to reach the reporter; server-only, because a synced document
///   cannot be erased (see [`ReporterContact`]). Deleting a row erases the contact.
/// * `case_spot`: where and when each case with a position was reported, by item and time,
///   so the duplicate hint is a range scan and a bounding box, not a scan of every case.
///   Derived from the documents like the projections (filled by `store_doc`).
/// * `api_keys`: Open311 keys, stored as SHA-256 like device tokens.
///
/// `IF NOT EXISTS`: the upgrade may meet these tables in a database that says it is older
/// (the migration tests rewind a fresh database's version); creating them is idempotent.
pub(super) const INTAKE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS intake_ref (
    channel   TEXT NOT NULL,
    reference TEXT NOT NULL,
    case_id   TEXT NOT NULL,
    PRIMARY KEY (channel, reference)
);
CREATE TABLE IF NOT EXISTS reporter_contact (
    case_id     TEXT PRIMARY KEY,
    contact     TEXT NOT NULL,
    recorded_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS case_spot (
    case_id        TEXT PRIMARY KEY,
    checklist_item TEXT NOT NULL,
    reported_at    INTEGER NOT NULL,
    lat            REAL NOT NULL,
    lon            REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS case_spot_by_item_time ON case_spot (checklist_item, reported_at);
CREATE TABLE IF NOT EXISTS api_keys (
    key_id     TEXT PRIMARY KEY,
    key_hash   BLOB NOT NULL UNIQUE,
    name       TEXT NOT NULL,
    channel    TEXT NOT NULL,
    person_id  TEXT NOT NULL,
    device_id  TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
";

/// Records (or refreshes) where and when a case was reported, if it has a position: called
/// for every stored case document, so phones' cases are hinted too.
pub(super) fn index_case_spot(
    tx: &Connection,
    header: &CaseHeader,
    state: &CaseState,
) -> StorageResult<()> {
    let Some(gps) = &header.gps else {
        return Ok(());
    };
    tx.prepare_cached(
        "INSERT INTO case_spot (case_id, checklist_item, reported_at, lat, lon)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (case_id) DO UPDATE SET checklist_item = excluded.checklist_item,
             reported_at = excluded.reported_at, lat = excluded.lat, lon = excluded.lon",
    )?
    .execute(params![
        header.id.to_string(),
        state.checklist_item,
        state.reported_at,
        gps.lat,
        gps.lon
    ])?;
    Ok(())
}

/// Fills `case_spot` from the stored cases, when a database is upgraded to version 11.
pub(super) fn backfill_case_spots(
    tx: &Connection,
    catalog: &wangge_core::Catalog,
    actor: &ActorId,
) -> StorageResult<usize> {
    let mut n = 0;
    let mut stmt = tx
        .prepare("SELECT doc_id, data FROM documents WHERE kind = ?1 AND quarantined_at IS NULL")?;
    let mut rows = stmt.query([DocKind::Case.as_str()])?;
    while let Some(row) = rows.next()? {
        let doc_id: String = row.get(0)?;
        let data: Vec<u8> = row.get(1)?;
        // A document that does not load has no spot; it is quarantined at its next push.
        let Ok((header, _, state)) = EventDoc::load(&doc_id, &data, actor)
            .and_then(|doc| wangge_core::store::projection::case_of(&doc, catalog))
        else {
            continue;
        };
        index_case_spot(tx, &header, &state)?;
        n += 1;
    }
    Ok(n)
}

/// The open cases of `item` within [`DUPLICATE_RADIUS_M`] of (`lat`, `lon`) and reported
/// within [`DUPLICATE_WINDOW_MS`] of `at`, other than `except`, nearest first.
fn hints_near(
    conn: &Connection,
    except: &str,
    item: &str,
    at: i64,
    lat: f64,
    lon: f64,
) -> StorageResult<Vec<DuplicateHint>> {
    // A box a little larger than the circle: 1° of latitude is 111.2 km everywhere, 1° of
    // longitude 111.2 km × cos(latitude).
    let dlat = DUPLICATE_RADIUS_M * 1.01 / 111_195.0;
    let dlon = dlat / lat.to_radians().cos().abs().max(0.01);
    let mut stmt = conn.prepare_cached(
        "SELECT s.case_id, s.lat, s.lon, s.reported_at, v.case_number, v.status, v.grid, v.description
         FROM case_spot s JOIN case_view v ON v.case_id = s.case_id
         WHERE s.checklist_item = ?1 AND s.reported_at BETWEEN ?2 AND ?3
           AND s.lat BETWEEN ?4 AND ?5 AND s.lon BETWEEN ?6 AND ?7
           AND v.is_open AND s.case_id <> ?8",
    )?;
    let rows = stmt.query_map(
        params![
            item,
            at - DUPLICATE_WINDOW_MS,
            at + DUPLICATE_WINDOW_MS,
            lat - dlat,
            lat + dlat,
            lon - dlon,
            lon + dlon,
            except
        ],
        |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, f64>(1)?,
                r.get::<_, f64>(2)?,
                r.get::<_, i64>(3)?,
                r.get::<_, Option<String>>(4)?,
                r.get::<_, String>(5)?,
                r.get::<_, Option<String>>(6)?,
                r.get::<_, String>(7)?,
            ))
        },
    )?;
    let mut hints = Vec::new();
    for row in rows {
        let (case_id, other_lat, other_lon, reported_at, case_number, status, grid, description) =
            row?;
        let metres = distance_m(lat, lon, other_lat, other_lon);
        if metres <= DUPLICATE_RADIUS_M {
            hints.push(DuplicateHint {
                case_id,
                case_number,
                status,
                checklist_item: item.to_owned(),
                distance_m: metres.round(),
                reported_at,
                grid,
                description,
            });
        }
    }
    hints.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m));
    Ok(hints)
}

/// The duplicate hints of a stored case (none if it has no position).
fn hints_for(conn: &Connection, case_id: &str) -> StorageResult<Vec<DuplicateHint>> {
    let spot: Option<(String, i64, f64, f64)> = conn
        .prepare_cached(
            "SELECT checklist_item, reported_at, lat, lon FROM case_spot WHERE case_id = ?1",
        )?
        .query_row([case_id], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?))
        })
        .optional()?;
    match spot {
        Some((item, at, lat, lon)) => hints_near(conn, case_id, &item, at, lat, lon),
        None => Ok(Vec::new()),
    }
}

/// The columns [`api_key_from_row`] reads, in order.
const API_KEY_COLUMNS: &str = "key_id, name, channel, person_id, device_id, created_at, revoked_at";

fn api_key_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<(ApiKey, String)> {
    let channel: String = r.get(2)?;
    Ok((
        ApiKey {
            key_id: r.get(0)?,
            name: r.get(1)?,
            // Replaced below; a row's channel was checked when it was written.
            channel: SourceChannel::Wechat,
            person: r.get(3)?,
            device_id: r.get(4)?,
            created_at: r.get(5)?,
            revoked_at: r.get(6)?,
        },
        channel,
    ))
}

fn to_api_key((mut key, channel): (ApiKey, String)) -> StorageResult<ApiKey> {
    key.channel = SourceChannel::parse(&channel).map_err(StorageError::internal)?;
    Ok(key)
}

impl SqliteStorage {
    /// See [`crate::storage::Storage::intake_case`].
    pub(super) fn intake(&self, intake: &Intake, now_ms: i64) -> StorageResult<IntakeOutcome> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let channel = intake.new.channel.as_str();
        if let Some(reference) = &intake.new.external_ref {
            let existing: Option<String> = tx
                .prepare_cached(
                    "SELECT case_id FROM intake_ref WHERE channel = ?1 AND reference = ?2",
                )?
                .query_row(params![channel, reference], |r| r.get(0))
                .optional()?;
            if let Some(case_id) = existing {
                return Ok(IntakeOutcome::DuplicateReference { case_id });
            }
        }
        for photo in &intake.new.photos {
            let stored: Option<i64> = tx
                .prepare_cached("SELECT 1 FROM photos WHERE sha256 = ?1")?
                .query_row([&photo.sha256], |r| r.get(0))
                .optional()?;
            if stored.is_none() {
                return Err(StorageError::PhotoNotUploaded {
                    sha256: photo.sha256.clone(),
                });
            }
        }
        let id = CaseId::generate();
        let at = HlcClock::resume(Hlc::default()).tick(now_ms);
        let (header, report) = open_case(&self.catalog, &intake.by, id, intake.new.clone(), at)?;
        // A fresh Automerge actor, as for every change the server makes (see `append_event`);
        // the report sealed with the header, so a device may relay the case to a restored
        // server (`wangge_core::authority::report_seal_text`).
        let doc = sealed_case_document(&header, &report, &ActorId::random(), |text| {
            self.sealer.seal(text)
        })?;
        let decoded = decode(&doc, DocKind::Case, &self.catalog)?;
        let saved = doc.save_verified()?;
        self.store_doc(&tx, &doc, &saved, DocKind::Case, &decoded, now_ms)?;
        let case_id = id.to_string();
        if let Some(reference) = &intake.new.external_ref {
            tx.prepare_cached(
                "INSERT INTO intake_ref (channel, reference, case_id) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![channel, reference, case_id])?;
        }
        if let Some(contact) = intake.contact.as_ref().filter(|c| !c.is_empty()) {
            tx.prepare_cached(
                "INSERT INTO reporter_contact (case_id, contact, recorded_at) VALUES (?1, ?2, ?3)",
            )?
            .execute(params![
                case_id,
                serde_json::to_string(contact).map_err(StorageError::internal)?,
                now_ms
            ])?;
        }
        let duplicates = hints_for(&tx, &case_id)?;
        tx.commit()?;
        Ok(IntakeOutcome::Created {
            case: Box::new(self.case_record(&doc)?),
            duplicates,
        })
    }

    /// See [`crate::storage::Storage::duplicate_hints`].
    pub(super) fn hints(&self, case_id: &str) -> StorageResult<Vec<DuplicateHint>> {
        hints_for(&self.reader(), case_id)
    }

    /// See [`crate::storage::Storage::duplicates_near`].
    pub(super) fn hints_at(
        &self,
        item: &str,
        at: i64,
        lat: f64,
        lon: f64,
    ) -> StorageResult<Vec<DuplicateHint>> {
        hints_near(&self.reader(), "", item, at, lat, lon)
    }

    /// See [`crate::storage::Storage::reporter_contact`].
    pub(super) fn contact(&self, case_id: &str) -> StorageResult<Option<ReporterContact>> {
        let text: Option<String> = self
            .reader()
            .prepare_cached("SELECT contact FROM reporter_contact WHERE case_id = ?1")?
            .query_row([case_id], |r| r.get(0))
            .optional()?;
        text.map(|t| serde_json::from_str(&t).map_err(StorageError::internal))
            .transpose()
    }

    /// See [`crate::storage::Storage::erase_reporter_contact`].
    pub(super) fn erase_contact(&self, case_id: &str) -> StorageResult<bool> {
        let n = lock(&self.writer)
            .execute("DELETE FROM reporter_contact WHERE case_id = ?1", [case_id])?;
        Ok(n > 0)
    }

    /// See [`crate::storage::Storage::create_api_key`].
    pub(super) fn insert_api_key(&self, key: &ApiKey, key_hash: &[u8]) -> StorageResult<()> {
        lock(&self.writer).execute(
            "INSERT INTO api_keys (key_id, key_hash, name, channel, person_id, device_id, created_at)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![
                key.key_id,
                key_hash,
                key.name,
                key.channel.as_str(),
                key.person,
                key.device_id,
                key.created_at
            ],
        )?;
        Ok(())
    }

    /// See [`crate::storage::Storage::api_key_by_hash`].
    pub(super) fn find_api_key(&self, key_hash: &[u8]) -> StorageResult<Option<ApiKey>> {
        let row = self
            .reader()
            .prepare_cached(&format!(
                "SELECT {API_KEY_COLUMNS} FROM api_keys WHERE key_hash = ?1"
            ))?
            .query_row([key_hash], api_key_from_row)
            .optional()?;
        row.map(to_api_key).transpose()
    }

    /// See [`crate::storage::Storage::api_keys`].
    pub(super) fn all_api_keys(&self) -> StorageResult<Vec<ApiKey>> {
        let conn = self.reader();
        let mut stmt = conn.prepare(&format!(
            "SELECT {API_KEY_COLUMNS} FROM api_keys ORDER BY created_at, key_id"
        ))?;
        let rows = stmt
            .query_map([], api_key_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        rows.into_iter().map(to_api_key).collect()
    }

    /// See [`crate::storage::Storage::revoke_api_key`].
    pub(super) fn revoke_key(&self, key_id: &str, now_ms: i64) -> StorageResult<bool> {
        let n = lock(&self.writer).execute(
            "UPDATE api_keys SET revoked_at = coalesce(revoked_at, ?2) WHERE key_id = ?1",
            params![key_id, now_ms],
        )?;
        Ok(n > 0)
    }

    /// See [`crate::storage::Storage::request_ids`].
    pub(super) fn request_ids(&self, filter: &RequestFilter) -> StorageResult<Vec<String>> {
        let conn = self.reader();
        let ids = serde_json::to_string(&filter.ids).map_err(StorageError::internal)?;
        let items = serde_json::to_string(&filter.items).map_err(StorageError::internal)?;
        let mut stmt = conn.prepare_cached(
            "SELECT case_id FROM case_view
             WHERE (?1 IS NULL OR channel = ?1)
               AND (json_array_length(?2) = 0 OR case_id IN (SELECT value FROM json_each(?2)))
               AND (json_array_length(?3) = 0 OR checklist_item IN (SELECT value FROM json_each(?3)))
               AND (?4 IS NULL OR is_open = ?4)
               AND reported_at BETWEEN ?5 AND ?6
             ORDER BY reported_at DESC, case_id LIMIT ?7",
        )?;
        let rows = stmt
            .query_map(
                params![
                    filter.channel.map(SourceChannel::as_str),
                    ids,
                    items,
                    filter.open,
                    filter.from_ms,
                    filter.to_ms,
                    i64::from(filter.limit)
                ],
                |r| r.get(0),
            )?
            .collect::<rusqlite::Result<Vec<String>>>()?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use wangge_core::{Catalog, DeviceId, GpsFix, NewCase, Role};

    use super::*;
    use crate::storage::Storage;

    fn centre() -> wangge_core::Actor {
        wangge_core::Actor {
            id: "XT-CC-001".into(),
            role: Role::Centre,
            unit: None,
            device: DeviceId::generate(),
        }
    }

    fn vendor_case(lat: f64, lon: f64) -> Intake {
        Intake {
            by: centre(),
            new: NewCase {
                channel: SourceChannel::Hotline12345,
                checklist_item: "A02-001".into(),
                description: "流动摊贩".into(),
                gps: Some(GpsFix {
                    lat,
                    lon,
                    accuracy_m: 5.0,
                    fix_time_ms: 0,
                }),
                address: None,
                grid: None,
                photos: Vec::new(),
                external_ref: None,
            },
            contact: None,
        }
    }

    fn created(outcome: IntakeOutcome) -> (String, Vec<DuplicateHint>) {
        match outcome {
            IntakeOutcome::Created { case, duplicates } => (case.header.id.to_string(), duplicates),
            IntakeOutcome::DuplicateReference { case_id } => panic!("duplicate of {case_id}"),
        }
    }

    fn tables(conn: &Connection) -> Vec<String> {
        let mut stmt = conn
            .prepare("SELECT sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<Vec<String>>>()
            .unwrap()
    }

    /// A version 9 database (before intake) with a case gets the intake tables, the case's
    /// spot, and the same schema as a fresh database.
    #[test]
    fn a_version_9_database_gets_the_intake_tables_and_the_spots_of_its_cases() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Arc::new(Catalog::demo().unwrap());
        let fresh = dir.path().join("fresh.sqlite3");
        drop(SqliteStorage::open(&fresh, catalog.clone()).unwrap());
        let old = dir.path().join("old.sqlite3");
        let storage = SqliteStorage::open(&old, catalog.clone()).unwrap();
        let (id, _) = created(
            storage
                .intake_case(&vendor_case(31.19, 121.45), 1_000)
                .unwrap(),
        );
        drop(storage);
        Connection::open(&old)
            .unwrap()
            .execute_batch(
                "DROP TABLE intake_ref; DROP TABLE reporter_contact; DROP TABLE case_spot;
                 DROP TABLE api_keys; PRAGMA user_version = 9;",
            )
            .unwrap();

        let storage = SqliteStorage::open(&old, catalog).unwrap();
        // The spot was derived again from the stored case: a second report nearby is hinted.
        let (_, hints) = created(
            storage
                .intake_case(&vendor_case(31.19, 121.4501), 2_000)
                .unwrap(),
        );
        assert_eq!(hints.len(), 1);
        assert_eq!(hints[0].case_id, id);
        assert_eq!(hints[0].distance_m, 10.0);
        drop(storage);
        let (old, fresh) = (
            Connection::open(&old).unwrap(),
            Connection::open(&fresh).unwrap(),
        );
        assert_eq!(tables(&old), tables(&fresh));
    }
}
