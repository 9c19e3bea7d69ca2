//! Storing documents on PostgreSQL a batch at a time: the document rows, the change feed's
//! position and every projection of the batch (the case list, the holders, the back office's
//! rows, the duplicate-hint spots, the zero-report board), one statement per table.
//!
//! **Why.** A stored case used to cost about seventeen statements (the document, reading
//! and writing the feed position, the case-number counter, the core's projection and its
//! holders, the back office's four tables, each replaced by a delete and an insert), each
//! one round trip to the database, all of them under the write lock every instance waits
//! for: a push of 10,000 cases took 2.3 × SQLite's time (`docs/scaling.md`). A device pushes
//! up to 1,000 documents per request, so the same rows now go in as arrays through `unnest`,
//! one statement per table for the whole request.
//!
//! **Same rows as one at a time.** Documents get their feed positions in the order they were
//! merged, as before; each table's rows of a case are still replaced as a whole; the
//! case-number counter ends at the highest number stored, as it did when raised case by
//! case. A batch holds each document once: a request that pushes a document twice stores the
//! batch before merging the second copy, which then reads what the first one stored (an
//! `INSERT … ON CONFLICT DO UPDATE` cannot touch one row twice anyway).

use std::collections::HashSet;

use wangge_core::doc::DocKind;
use wangge_core::store::projection::{self, CaseViewRow};
use wangge_core::zero_report::ZeroReport;
use wangge_core::{CaseHeader, CaseState, Catalog};

use super::{PgMeta, Tx, intake_db, meta_u64, office, photos, server_meta, set_meta};
use crate::docs::{Decoded, Placement};
use crate::storage::error::{StorageError, StorageResult};

/// One document waiting to be written.
struct Pending {
    doc_id: String,
    kind: DocKind,
    saved: Vec<u8>,
    heads: Vec<u8>,
    seq: i64,
    placement: Placement,
    decoded: Decoded,
    now_ms: i64,
}

/// The documents a write transaction stores, written by [`DocWrites::flush`]. Only inside a
/// transaction that holds the write lock: the feed's order depends on it.
#[derive(Default)]
pub(super) struct DocWrites {
    docs: Vec<Pending>,
    ids: HashSet<String>,
    /// The last feed position handed out (read from `meta` on first use).
    seq: Option<u64>,
}

impl DocWrites {
    /// Whether `doc_id` waits to be written.
    pub(super) fn holds(&self, doc_id: &str) -> bool {
        self.ids.contains(doc_id)
    }

    /// Queues a changed document (saved as `saved`, at `heads`) and hands it the next feed
    /// position. A document queued already is written first.
    #[allow(clippy::too_many_arguments)]
    pub(super) fn add(
        &mut self,
        tx: &mut Tx<'_>,
        catalog: &Catalog,
        doc_id: &str,
        kind: DocKind,
        saved: Vec<u8>,
        heads: Vec<u8>,
        decoded: Decoded,
        now_ms: i64,
    ) -> StorageResult<u64> {
        if self.holds(doc_id) {
            self.flush(tx, catalog)?;
        }
        let seq = match self.seq {
            Some(seq) => seq + 1,
            None => meta_u64(tx, "seq")? + 1,
        };
        self.seq = Some(seq);
        self.ids.insert(doc_id.to_owned());
        self.docs.push(Pending {
            doc_id: doc_id.to_owned(),
            kind,
            saved,
            heads,
            seq: seq as i64,
            placement: decoded.placement(catalog),
            decoded,
            now_ms,
        });
        Ok(seq)
    }

    /// Writes the queued documents, the feed position and their projections.
    pub(super) fn flush(&mut self, tx: &mut Tx<'_>, catalog: &Catalog) -> StorageResult<()> {
        let docs = std::mem::take(&mut self.docs);
        self.ids.clear();
        let (Some(seq), false) = (self.seq, docs.is_empty()) else {
            return Ok(());
        };
        write_documents(tx, &docs)?;
        set_meta(tx, "seq", &seq.to_string())?;
        let mut cases = Vec::new();
        let mut reports = Vec::new();
        photos::index_photo_refs(tx, docs.iter().map(|d| (d.doc_id.as_str(), &d.decoded)))?;
        for d in &docs {
            match &d.decoded {
                Decoded::Case { header, state, .. } => cases.push((&**header, &**state)),
                Decoded::ZeroReport(report) => reports.push((d.doc_id.as_str(), &**report)),
            }
        }
        server_meta::count_case_numbers(
            &mut PgMeta(tx),
            cases.iter().filter_map(|(_, s)| s.case_number.as_deref()),
        )?;
        intake_db::index_case_spots(tx, &cases)?;
        upsert_case_views(tx, catalog, &cases)?;
        office::project(tx, catalog, &cases)?;
        upsert_zero_reports(tx, &reports)?;
        Ok(())
    }
}

/// A case as the projections read it.
pub(super) type CaseRef<'a> = (&'a CaseHeader, &'a CaseState);

/// Each element's `f`, in order: one array parameter.
pub(super) fn column<'a, R, T>(rows: &'a [R], f: impl Fn(&'a R) -> T) -> Vec<T> {
    rows.iter().map(f).collect()
}

/// The document rows, inserted or updated (a stored one keeps its kind and reporting
/// device, and leaves quarantine).
fn write_documents(tx: &mut Tx<'_>, docs: &[Pending]) -> StorageResult<()> {
    let teams = docs
        .iter()
        .map(|d| serde_json::to_string(&d.placement.teams))
        .collect::<Result<Vec<_>, _>>()
        .map_err(StorageError::internal)?;
    tx.execute(
        "INSERT INTO documents (doc_id, kind, data, heads, seq, block, workstation, reporter_device, updated_at, teams)
         SELECT doc_id, kind, data, heads, seq, block, workstation, reporter_device, updated_at, teams::jsonb
         FROM unnest($1::text[], $2::text[], $3::bytea[], $4::bytea[], $5::bigint[], $6::text[],
                     $7::text[], $8::text[], $9::bigint[], $10::text[])
             AS d (doc_id, kind, data, heads, seq, block, workstation, reporter_device, updated_at, teams)
         ON CONFLICT (doc_id) DO UPDATE SET data = excluded.data, heads = excluded.heads, seq = excluded.seq,
             block = excluded.block, workstation = excluded.workstation, updated_at = excluded.updated_at,
             teams = excluded.teams, quarantined_at = NULL, quarantine_reason = NULL",
        &[
            &column(docs, |d| d.doc_id.as_str()),
            &column(docs, |d| d.kind.as_str()),
            &column(docs, |d| d.saved.as_slice()),
            &column(docs, |d| d.heads.as_slice()),
            &column(docs, |d| d.seq),
            &column(docs, |d| d.placement.block.as_deref()),
            &column(docs, |d| d.placement.workstation.as_deref()),
            &column(docs, |d| d.placement.reporter_device.as_deref()),
            &column(docs, |d| d.now_ms),
            &teams,
        ],
    )?;
    Ok(())
}

/// Writes the core's projection of the cases ([`projection::case_view_row`]) and their
/// holders.
fn upsert_case_views(
    tx: &mut Tx<'_>,
    catalog: &Catalog,
    cases: &[CaseRef<'_>],
) -> StorageResult<()> {
    if cases.is_empty() {
        return Ok(());
    }
    let rows: Vec<CaseViewRow> = cases
        .iter()
        .map(|(header, state)| projection::case_view_row(catalog, header, state))
        .collect();
    let ids = column(&rows, |r| r.case_id.as_str());
    tx.execute(
        "INSERT INTO case_view (case_id, status, is_open, case_number, channel, checklist_item, category,
             domain, grid, workstation, block, reporter, description, reported_at, response_due,
             resolution_due, responded_at, resolved_at, closed_at, escalated, escalation_required,
             last_event_at)
         SELECT * FROM unnest($1::text[], $2::text[], $3::boolean[], $4::text[], $5::text[], $6::text[],
             $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[], $13::text[],
             $14::bigint[], $15::bigint[], $16::bigint[], $17::bigint[], $18::bigint[], $19::bigint[],
             $20::boolean[], $21::boolean[], $22::bigint[])
         ON CONFLICT (case_id) DO UPDATE SET status = excluded.status, is_open = excluded.is_open,
             case_number = excluded.case_number, checklist_item = excluded.checklist_item,
             category = excluded.category, domain = excluded.domain, grid = excluded.grid,
             workstation = excluded.workstation, block = excluded.block,
             response_due = excluded.response_due, resolution_due = excluded.resolution_due,
             responded_at = excluded.responded_at, resolved_at = excluded.resolved_at,
             closed_at = excluded.closed_at, escalated = excluded.escalated,
             escalation_required = excluded.escalation_required,
             last_event_at = excluded.last_event_at",
        &[
            &ids,
            &column(&rows, |r| r.status),
            &column(&rows, |r| r.is_open),
            &column(&rows, |r| r.case_number.as_deref()),
            &column(&rows, |r| r.channel),
            &column(&rows, |r| r.checklist_item.as_str()),
            &column(&rows, |r| r.category.as_str()),
            &column(&rows, |r| r.domain.as_str()),
            &column(&rows, |r| r.grid.as_deref()),
            &column(&rows, |r| r.workstation.as_deref()),
            &column(&rows, |r| r.block.as_deref()),
            &column(&rows, |r| r.reporter.as_str()),
            &column(&rows, |r| r.description.as_str()),
            &column(&rows, |r| r.reported_at),
            &column(&rows, |r| r.response_due),
            &column(&rows, |r| r.resolution_due),
            &column(&rows, |r| r.responded_at),
            &column(&rows, |r| r.resolved_at),
            &column(&rows, |r| r.closed_at),
            &column(&rows, |r| r.escalated),
            &column(&rows, |r| r.escalation_required),
            &column(&rows, |r| r.last_event_at),
        ],
    )?;
    tx.execute(
        "DELETE FROM case_holder WHERE case_id = ANY($1::text[])",
        &[&ids],
    )?;
    let holders: Vec<(&str, &str)> = rows
        .iter()
        .flat_map(|r| r.holders.iter().map(|h| (r.case_id.as_str(), h.as_str())))
        .collect();
    if !holders.is_empty() {
        tx.execute(
            "INSERT INTO case_holder (case_id, holder) SELECT * FROM unnest($1::text[], $2::text[])
             ON CONFLICT DO NOTHING",
            &[&column(&holders, |h| h.0), &column(&holders, |h| h.1)],
        )?;
    }
    Ok(())
}

/// Writes the projection of the zero reports (`doc_id`, report).
fn upsert_zero_reports(tx: &mut Tx<'_>, reports: &[(&str, &ZeroReport)]) -> StorageResult<()> {
    if reports.is_empty() {
        return Ok(());
    }
    tx.execute(
        "INSERT INTO zero_report_view (doc_id, workstation, day, filed, nothing_to_report, matter_count, last_amended_at)
         SELECT * FROM unnest($1::text[], $2::text[], $3::text[], $4::boolean[], $5::boolean[],
             $6::bigint[], $7::bigint[])
         ON CONFLICT (doc_id) DO UPDATE SET filed = excluded.filed,
             nothing_to_report = excluded.nothing_to_report, matter_count = excluded.matter_count,
             last_amended_at = excluded.last_amended_at",
        &[
            &column(reports, |r| r.0),
            &column(reports, |r| r.1.header.workstation.as_str()),
            &column(reports, |r| r.1.header.day.to_string()),
            &column(reports, |r| r.1.filed),
            &column(reports, |r| r.1.nothing_to_report),
            &column(reports, |r| r.1.matters.len() as i64),
            &column(reports, |r| r.1.last_amended_at),
        ],
    )?;
    Ok(())
}
