//! Schema and migrations of the device database.
//!
//! `PRAGMA user_version` records the schema version. A new database is
//! created at the latest version in one transaction; an older one is
//! upgraded step by step, in one transaction, so a crash mid-upgrade leaves
//! the old version intact.
//!
//! Version 1 holds the truth: the Automerge documents, as chunks. Version 2
//! adds the projection tables, which are derived from the documents and
//! rebuilt from them on upgrade — that is the proof that they can be.
//! Version 3 adds what the server holds of each document; version 4 the
//! photo store (its DDL, `V4`, lives next to its code in `store/photos.rs`);
//! version 5 the thumbnails the server did not have (`V5`, also there);
//! version 6 the server's refusals of pushed documents (`V6`). Version 7
//! changes no table: joint handling (lead and assisting units, withdrawal,
//! hand-back, merge) changed how a case's status and holders are derived,
//! so the projections are rebuilt from the documents.

use rusqlite::{Connection, Transaction};

use crate::error::{Error, Result};

/// The schema version this build creates and understands.
pub const CURRENT_VERSION: i64 = 7;

/// Version 1: the documents, as a snapshot chunk plus incremental chunks.
pub(crate) const V1: &str = "
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
";

/// Version 2: projections for the officer's screens; the server reuses the
/// same tables for its back office. Everything here is derived from the
/// documents and may be dropped and rebuilt.
pub const V2: &str = "
CREATE TABLE case_view (
    case_id             TEXT PRIMARY KEY,
    status              TEXT NOT NULL,
    is_open             INTEGER NOT NULL,
    case_number         TEXT,
    channel             TEXT NOT NULL,
    checklist_item      TEXT NOT NULL,
    category            TEXT NOT NULL,
    domain              TEXT NOT NULL,
    grid                TEXT,
    workstation         TEXT,
    block               TEXT,
    reporter            TEXT NOT NULL,
    description         TEXT NOT NULL,
    reported_at         INTEGER NOT NULL,
    response_due        INTEGER,
    resolution_due      INTEGER,
    responded_at        INTEGER,
    resolved_at         INTEGER,
    closed_at           INTEGER,
    escalated           INTEGER NOT NULL,
    escalation_required INTEGER NOT NULL,
    last_event_at       INTEGER NOT NULL
);
CREATE INDEX case_view_open ON case_view(is_open, resolution_due);
CREATE INDEX case_view_grid ON case_view(grid, is_open);
CREATE INDEX case_view_workstation ON case_view(workstation, is_open);
CREATE INDEX case_view_category ON case_view(category, is_open);
CREATE INDEX case_view_reporter ON case_view(reporter, is_open);
CREATE TABLE case_holder (
    case_id TEXT NOT NULL,
    holder  TEXT NOT NULL,
    PRIMARY KEY (holder, case_id)
) WITHOUT ROWID;
CREATE INDEX case_holder_by_case ON case_holder(case_id);
-- Trigram tokens make substring search work for Chinese, which has no
-- spaces between words; queries shorter than three characters fall back to
-- LIKE on case_view.
CREATE VIRTUAL TABLE case_fts USING fts5(description, tokenize = 'trigram');
CREATE TABLE zero_report_view (
    doc_id            TEXT PRIMARY KEY,
    workstation       TEXT NOT NULL,
    day               TEXT NOT NULL,
    filed             INTEGER NOT NULL,
    nothing_to_report INTEGER NOT NULL,
    matter_count      INTEGER NOT NULL,
    last_amended_at   INTEGER
);
CREATE UNIQUE INDEX zero_report_by_day ON zero_report_view(workstation, day);
";

/// Version 3: what the server has of each document. `synced_heads` are
/// heads the server is known to hold (the push is computed as the changes
/// after them); `local_version` counts local writes, so a write that lands
/// while a push is in flight keeps the document dirty.
pub(crate) const V3: &str = "
CREATE TABLE sync_state (
    doc_id        TEXT PRIMARY KEY,
    synced_heads  BLOB,
    local_version INTEGER NOT NULL DEFAULT 0,
    dirty         INTEGER NOT NULL,
    on_server     INTEGER NOT NULL
);
CREATE INDEX sync_state_dirty ON sync_state(dirty) WHERE dirty;
";

/// Version 6: a document the server refused under its authority rules
/// (`refused_code` is the rule's stable code, `refused_message` its
/// explanation). The document stays on the device, whole: a refusal never
/// deletes local work. It is not pushed again until it is written to again
/// or the user asks to retry.
pub(crate) const V6: &str = "
ALTER TABLE sync_state ADD COLUMN refused_code TEXT;
ALTER TABLE sync_state ADD COLUMN refused_message TEXT;
ALTER TABLE sync_state ADD COLUMN refused_at INTEGER;
CREATE INDEX sync_state_refused ON sync_state(refused_at) WHERE refused_code IS NOT NULL;
";

/// What an upgrade step needs done after its DDL.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Followup {
    None,
    RebuildProjections,
}

/// Brings the database to [`CURRENT_VERSION`]. Returns what the caller must
/// do inside the same transaction before committing.
pub(crate) fn migrate(tx: &Transaction<'_>) -> Result<Followup> {
    let version: i64 = tx.query_row("PRAGMA user_version", [], |r| r.get(0))?;
    if version > CURRENT_VERSION {
        return Err(Error::SchemaTooNew {
            found: version,
            supported: CURRENT_VERSION,
        });
    }
    if version == CURRENT_VERSION {
        return Ok(Followup::None);
    }
    let mut followup = Followup::None;
    if version == 0 {
        init(tx)?;
    } else {
        for from in version..CURRENT_VERSION {
            if upgrade_from(tx, from)? == Followup::RebuildProjections {
                followup = Followup::RebuildProjections;
            }
        }
    }
    tx.pragma_update(None, "user_version", CURRENT_VERSION)?;
    Ok(followup)
}

fn init(conn: &Connection) -> Result<()> {
    conn.execute_batch(V1)?;
    conn.execute_batch(V2)?;
    conn.execute_batch(V3)?;
    conn.execute_batch(super::photos::V4)?;
    conn.execute_batch(super::photos::V5)?;
    conn.execute_batch(V6)?;
    Ok(())
}

fn upgrade_from(conn: &Connection, from: i64) -> Result<Followup> {
    match from {
        1 => {
            conn.execute_batch(V2)?;
            Ok(Followup::RebuildProjections)
        }
        2 => {
            conn.execute_batch(V3)?;
            // Everything written before sync existed still has to reach the server.
            conn.execute_batch(
                "INSERT INTO sync_state (doc_id, dirty, on_server) SELECT doc_id, 1, 0 FROM documents",
            )?;
            Ok(Followup::None)
        }
        3 => {
            conn.execute_batch(super::photos::V4)?;
            // Documents received before version 4 may reference photos taken on other
            // devices: rebuilding the projections fills `photo_refs` from them.
            Ok(Followup::RebuildProjections)
        }
        4 => {
            conn.execute_batch(super::photos::V5)?;
            Ok(Followup::None)
        }
        5 => {
            conn.execute_batch(V6)?;
            Ok(Followup::None)
        }
        // Joint handling: a case dispatched to two units that one of them reported is no
        // longer handled, and a merged case is not open. Derived data, so re-derive it.
        6 => Ok(Followup::RebuildProjections),
        other => Err(Error::invalid(
            "database",
            format!("no upgrade path from schema version {other}; reinstall after syncing"),
        )),
    }
}
