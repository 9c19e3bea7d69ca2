//! Schema migrations: a frozen version-1 database (documents only) is
//! upgraded on open, its projections are rebuilt from the documents, and
//! its schema ends identical to a fresh database's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::Arc;

use automerge::ActorId;
use chrono::NaiveDate;
use rusqlite::Connection;
use support::*;
use wangge_core::case::{CaseHeader, GridRef};
use wangge_core::doc::{DocKind, EventDoc};
use wangge_core::store::schema::CURRENT_VERSION;
use wangge_core::zero_report::{ZeroReportEvent, ZeroReportHeader};
use wangge_core::{
    CaseEvent, CaseEventKind, CaseId, CaseStatus, DeviceId, Error, EventId, Hlc, ManualClock, Role,
    SourceChannel, Store, ZeroReportEventKind,
};

/// The version-1 schema exactly as it shipped. Never edit: it stands for
/// the databases already on phones.
const FROZEN_V1: &str = "
CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
);
CREATE TABLE documents (
    doc_id      TEXT PRIMARY KEY,
    kind        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    chunk_count INTEGER NOT NULL,
    byte_size   INTEGER NOT NULL
);
CREATE TABLE doc_chunks (
    id     INTEGER PRIMARY KEY,
    doc_id TEXT NOT NULL REFERENCES documents(doc_id),
    data   BLOB NOT NULL
);
CREATE INDEX doc_chunks_by_doc ON doc_chunks(doc_id, id);
PRAGMA user_version = 1;
";

fn schema_of(path: &std::path::Path) -> Vec<(String, String)> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT name, coalesce(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY name")
        .unwrap();
    stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
        .unwrap()
        .collect::<rusqlite::Result<_>>()
        .unwrap()
}

fn insert_doc(conn: &Connection, doc: &EventDoc, kind: &str) {
    let bytes = doc.save();
    conn.execute(
        "INSERT INTO documents VALUES (?1, ?2, 0, 0, 1, ?3)",
        rusqlite::params![doc.id(), kind, bytes.len() as i64],
    )
    .unwrap();
    conn.execute(
        "INSERT INTO doc_chunks (doc_id, data) VALUES (?1, ?2)",
        rusqlite::params![doc.id(), bytes],
    )
    .unwrap();
}

#[test]
fn a_version_1_database_is_upgraded_and_its_projections_rebuilt() {
    let dir = tempfile::tempdir().unwrap();
    let old = dir.path().join("v1.sqlite3");
    let device = DeviceId::generate();
    let actor_id = ActorId::from(vec![7u8; 16]);
    let officer = actor("officer-5", Role::GridOfficer, None, device);
    let case_id = CaseId::generate();
    {
        let conn = Connection::open(&old).unwrap();
        conn.execute_batch(FROZEN_V1).unwrap();
        let header = CaseHeader {
            id: case_id,
            channel: SourceChannel::GridOfficerHandheld,
            checklist_item: "A02-001".into(),
            category: "A02".into(),
            domain: "A".into(),
            description: "旧版本记录的流动摊贩".into(),
            gps: None,
            address: None,
            grid: Some(GridRef {
                cell: "XT-W01-U1".into(),
                workstation: Some("XT-W01".into()),
                block: Some("XT-B1".into()),
            }),
            grid_candidates: vec![],
            reporter: officer.clone(),
            photos: vec![],
            external_ref: None,
        };
        let reported = CaseEvent {
            id: EventId::generate(),
            at: Hlc {
                wall_ms: MONDAY_9AM,
                counter: 0,
            },
            by: officer.clone(),
            kind: CaseEventKind::Reported,
        };
        let doc = EventDoc::create(
            &case_id.to_string(),
            &actor_id,
            DocKind::Case,
            &header,
            &[(reported.id.to_string(), &reported)],
        )
        .unwrap();
        insert_doc(&conn, &doc, "case");
        let zr = ZeroReportHeader {
            workstation: "XT-W02".into(),
            day: NaiveDate::from_ymd_opt(2026, 3, 2).unwrap(),
        };
        let filed = ZeroReportEvent {
            id: EventId::generate(),
            at: Hlc {
                wall_ms: MONDAY_9AM,
                counter: 1,
            },
            by: actor("staff", Role::WorkstationStaff, None, device),
            kind: ZeroReportEventKind::Filed {
                nothing_to_report: true,
                note: None,
            },
        };
        let doc = EventDoc::create(
            &zr.doc_id(),
            &actor_id,
            DocKind::ZeroReport,
            &zr,
            &[(filed.id.to_string(), &filed)],
        )
        .unwrap();
        insert_doc(&conn, &doc, "zero_report");
    }

    let clock = Arc::new(ManualClock::new(MONDAY_9AM + 2 * HOUR));
    let store = Store::open(&old, device, catalog(), clock.clone()).unwrap();
    let listed = store.cases_in_grid("XT-W01").unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].id, case_id.to_string());
    assert_eq!(listed[0].status, CaseStatus::Reported);
    assert!(
        listed[0].overdue,
        "deadlines were derived during the upgrade"
    );
    assert_eq!(store.search_cases("流动摊贩").unwrap().len(), 1);
    let day = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    assert!(
        !store
            .workstations_without_report(day)
            .unwrap()
            .contains(&"XT-W02".to_owned())
    );
    drop(store);

    let fresh = dir.path().join("fresh.sqlite3");
    drop(Store::open(&fresh, DeviceId::generate(), catalog(), clock).unwrap());
    assert_eq!(schema_of(&old), schema_of(&fresh));
    let version: i64 = Connection::open(&old)
        .unwrap()
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, CURRENT_VERSION);
}

#[test]
fn a_database_from_a_newer_app_is_refused_untouched() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("newer.sqlite3");
    Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE future (x); PRAGMA user_version = 99;")
        .unwrap();
    let before = schema_of(&path);
    let err = Store::open(
        &path,
        DeviceId::generate(),
        catalog(),
        Arc::new(ManualClock::new(0)),
    )
    .unwrap_err();
    assert!(
        matches!(err, Error::SchemaTooNew { found: 99, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("update the app"), "{err}");
    assert_eq!(schema_of(&path), before);
}
