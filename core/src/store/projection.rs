//! Projection tables: what the screens query, derived from the documents.
//!
//! Every write that changes a document updates its projection in the same
//! transaction, and [`rebuild`] recreates every projection from the
//! documents alone. The projections are never a source of truth.

use automerge::ActorId;
use rusqlite::{Connection, params};

use crate::case::{CaseEvent, CaseHeader, CaseState, derive};
use crate::catalog::Catalog;
use crate::doc::{DocKind, EventDoc};
use crate::error::Result;
use crate::store::{docs, photos};
use crate::zero_report::{ZeroReport, ZeroReportEvent, ZeroReportHeader, derive_zero_report};

/// The values of one case's `case_view` row and its holders, derived once for every
/// database that keeps the projection: the device's SQLite, the server's SQLite and the
/// server's PostgreSQL write the same values, so a list on the phone and in the back office
/// agree whatever backend is behind them.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseViewRow {
    /// The case's id.
    pub case_id: String,
    /// Stable status name.
    pub status: &'static str,
    /// Whether the status is an open one.
    pub is_open: bool,
    /// Official number, once registered.
    pub case_number: Option<String>,
    /// Stable channel name.
    pub channel: &'static str,
    /// Checklist item in force.
    pub checklist_item: String,
    /// Category in force.
    pub category: String,
    /// Domain in force.
    pub domain: String,
    /// Finest grid cell, if known.
    pub grid: Option<String>,
    /// Residential workstation of the cell.
    pub workstation: Option<String>,
    /// Grid block of the cell.
    pub block: Option<String>,
    /// Staff id of the reporter.
    pub reporter: String,
    /// Description as reported.
    pub description: String,
    /// When it entered the platform (ms).
    pub reported_at: i64,
    /// Response deadline (ms).
    pub response_due: Option<i64>,
    /// Resolution deadline (ms).
    pub resolution_due: Option<i64>,
    /// When it was answered (ms).
    pub responded_at: Option<i64>,
    /// When it was resolved (ms).
    pub resolved_at: Option<i64>,
    /// When it was closed (ms).
    pub closed_at: Option<i64>,
    /// Submitted to the district platform.
    pub escalated: bool,
    /// Must be submitted to the district platform.
    pub escalation_required: bool,
    /// Time of the latest event (ms).
    pub last_event_at: i64,
    /// Who must act now (the `case_holder` rows).
    pub holders: Vec<String>,
}

/// Derives the projection row of one case.
pub fn case_view_row(catalog: &Catalog, header: &CaseHeader, state: &CaseState) -> CaseViewRow {
    let grid = state
        .grid
        .as_deref()
        .map(|cell| crate::case::grid_ref(&catalog.grids, cell));
    let (grid, workstation, block) = match grid {
        Some(g) => (Some(g.cell), g.workstation, g.block),
        None => (None, None, None),
    };
    CaseViewRow {
        case_id: header.id.to_string(),
        status: state.status.as_str(),
        is_open: state.status.is_open(),
        case_number: state.case_number.clone(),
        channel: header.channel.as_str(),
        checklist_item: state.checklist_item.clone(),
        category: category_of(catalog, header, state),
        domain: domain_of(catalog, header, state),
        grid,
        workstation,
        block,
        reporter: header.reporter.id.clone(),
        description: header.description.clone(),
        reported_at: state.reported_at,
        response_due: state.response_due,
        resolution_due: state.resolution_due,
        responded_at: state.responded_at,
        resolved_at: state.resolved_at,
        closed_at: state.closed_at,
        escalated: state.escalated,
        escalation_required: state.escalation_required,
        last_event_at: state.last_event_at,
        holders: state.holders.clone(),
    }
}

/// Writes the projection of one case.
pub fn upsert_case(
    conn: &Connection,
    catalog: &Catalog,
    header: &CaseHeader,
    state: &CaseState,
) -> Result<()> {
    let row = case_view_row(catalog, header, state);
    conn.prepare_cached(
        "INSERT INTO case_view (case_id, status, is_open, case_number, channel, checklist_item, category,
             domain, grid, workstation, block, reporter, description, reported_at, response_due,
             resolution_due, responded_at, resolved_at, closed_at, escalated, escalation_required,
             last_event_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,
             ?20, ?21, ?22)
         ON CONFLICT (case_id) DO UPDATE SET status = excluded.status, is_open = excluded.is_open,
             case_number = excluded.case_number, checklist_item = excluded.checklist_item,
             category = excluded.category, domain = excluded.domain, grid = excluded.grid,
             workstation = excluded.workstation, block = excluded.block,
             response_due = excluded.response_due, resolution_due = excluded.resolution_due,
             responded_at = excluded.responded_at, resolved_at = excluded.resolved_at,
             closed_at = excluded.closed_at, escalated = excluded.escalated,
             escalation_required = excluded.escalation_required,
             last_event_at = excluded.last_event_at",
    )?
    .execute(params![
        row.case_id,
        row.status,
        row.is_open,
        row.case_number,
        row.channel,
        row.checklist_item,
        row.category,
        row.domain,
        row.grid,
        row.workstation,
        row.block,
        row.reporter,
        row.description,
        row.reported_at,
        row.response_due,
        row.resolution_due,
        row.responded_at,
        row.resolved_at,
        row.closed_at,
        row.escalated,
        row.escalation_required,
        row.last_event_at,
    ])?;
    let rowid: i64 = conn
        .prepare_cached("SELECT rowid FROM case_view WHERE case_id = ?1")?
        .query_row([&row.case_id], |r| r.get(0))?;
    conn.prepare_cached("DELETE FROM case_fts WHERE rowid = ?1")?
        .execute([rowid])?;
    conn.prepare_cached("INSERT INTO case_fts (rowid, description) VALUES (?1, ?2)")?
        .execute(params![rowid, row.description])?;
    conn.prepare_cached("DELETE FROM case_holder WHERE case_id = ?1")?
        .execute([&row.case_id])?;
    let mut insert =
        conn.prepare_cached("INSERT OR IGNORE INTO case_holder (case_id, holder) VALUES (?1, ?2)")?;
    for holder in &row.holders {
        insert.execute(params![row.case_id, holder])?;
    }
    Ok(())
}

/// The category in force: the corrected item's, else the one copied at intake.
fn category_of(catalog: &Catalog, header: &CaseHeader, state: &CaseState) -> String {
    match catalog.checklist.item(&state.checklist_item) {
        Some(item) if state.checklist_item != header.checklist_item => item.category.clone(),
        _ => header.category.clone(),
    }
}

fn domain_of(catalog: &Catalog, header: &CaseHeader, state: &CaseState) -> String {
    match catalog.checklist.item(&state.checklist_item) {
        Some(item) if state.checklist_item != header.checklist_item => item.domain.clone(),
        _ => header.domain.clone(),
    }
}

/// Writes the projection of one zero report.
pub fn upsert_zero_report(conn: &Connection, doc_id: &str, report: &ZeroReport) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO zero_report_view (doc_id, workstation, day, filed, nothing_to_report, matter_count, last_amended_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
         ON CONFLICT (doc_id) DO UPDATE SET filed = excluded.filed,
             nothing_to_report = excluded.nothing_to_report, matter_count = excluded.matter_count,
             last_amended_at = excluded.last_amended_at",
    )?
    .execute(params![
        doc_id,
        report.header.workstation,
        report.header.day.to_string(),
        report.filed,
        report.nothing_to_report,
        report.matters.len() as i64,
        report.last_amended_at,
    ])?;
    Ok(())
}

/// Decodes a case document and derives its state.
pub fn case_of(
    doc: &EventDoc,
    catalog: &Catalog,
) -> Result<(CaseHeader, Vec<CaseEvent>, CaseState)> {
    let header: CaseHeader = doc.header()?;
    let mut events: Vec<CaseEvent> = doc.events()?;
    crate::case::sort_events(&mut events);
    let state = derive(&header, &events, catalog);
    Ok((header, events, state))
}

/// Decodes a zero-report document and derives the report.
pub fn zero_report_of(doc: &EventDoc) -> Result<ZeroReport> {
    let header: ZeroReportHeader = doc.header()?;
    let events: Vec<ZeroReportEvent> = doc.events()?;
    Ok(derive_zero_report(header, events))
}

/// Refreshes the projection of one stored document of either kind, with the photos it
/// references (device only: the server keeps no `photo_refs`).
pub(crate) fn refresh(
    conn: &Connection,
    catalog: &Catalog,
    kind: DocKind,
    doc: &EventDoc,
) -> Result<()> {
    match kind {
        DocKind::Case => {
            let (header, events, state) = case_of(doc, catalog)?;
            upsert_case(conn, catalog, &header, &state)?;
            let events = events.iter().flat_map(|e| e.kind.photos());
            photos::index_refs(conn, doc.id(), header.photos.iter().chain(events))
        }
        DocKind::ZeroReport => {
            let report = zero_report_of(doc)?;
            upsert_zero_report(conn, doc.id(), &report)?;
            let entries = report.events.iter();
            photos::index_refs(conn, doc.id(), entries.flat_map(|e| e.kind.photos()))
        }
    }
}

/// Drops every projection row and derives them all again from the documents.
pub(crate) fn rebuild(conn: &Connection, catalog: &Catalog, actor: &ActorId) -> Result<usize> {
    conn.execute_batch(
        "DELETE FROM case_view; DELETE FROM case_holder; DELETE FROM case_fts; DELETE FROM zero_report_view;
         DELETE FROM photo_refs;",
    )?;
    let mut n = 0;
    for kind in [DocKind::Case, DocKind::ZeroReport] {
        for id in docs::ids(conn, kind)? {
            if let Some((kind, doc)) = docs::load(conn, &id, actor)? {
                refresh(conn, catalog, kind, &doc)?;
                n += 1;
            }
        }
    }
    Ok(n)
}
