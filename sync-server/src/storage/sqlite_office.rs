//! The back office's own projection of cases (schema version 10): each unit's part
//! (`case_assignment`), who held a case when (`case_span`), and the case's next deadline
//! (`case_office`), written with the core's `case_view` in the transaction that stores a
//! case, and derived from the case's events like it. Plus the case list (queues) over
//! them.
//!
//! Why tables of their own rather than reading `CaseState` from the documents: the
//! evaluation of a quarter and every queue page would decode thousands of documents; the
//! rows answer them with indexes. They are derived data: an upgrade re-derives them from
//! the documents (`reproject_cases`).

use chrono::NaiveDate;
use rusqlite::{Connection, params, types::Value};
use wangge_core::case::AssignmentEnd;
use wangge_core::store::query;
use wangge_core::{CaseHeader, CaseState, CaseStatus, Catalog};

use crate::office::board::FilingRow;
use crate::office::evaluation::{EvalAssignment, EvalCase, EvalInput, EvalSpan};
use crate::office::export::Change;
use crate::office::queue::{CaseFilter, CasePage, CaseRow, HolderTime};
use crate::storage::case_filter_sql::{Binder, Selection, cut_page, page_sql, select};
use crate::storage::error::{StorageError, StorageResult};

/// Version 10. `IF NOT EXISTS` throughout: an upgrade that is rerun over a database
/// already holding these tables (tests rewind `user_version` to replay a migration) must
/// not fail on them; the rows are derived again anyway.
pub(super) const OFFICE_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS case_assignment (
    case_id       TEXT NOT NULL,
    idx           INTEGER NOT NULL,
    unit          TEXT NOT NULL,
    lead          INTEGER NOT NULL,
    dispatched_at INTEGER NOT NULL,
    arrived_at    INTEGER,
    feedback_at   INTEGER,
    released_at   INTEGER,
    ended_at      INTEGER,
    ended         TEXT,
    PRIMARY KEY (case_id, idx)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS case_assignment_by_unit ON case_assignment(unit, case_id);
CREATE TABLE IF NOT EXISTS case_span (
    case_id  TEXT NOT NULL,
    idx      INTEGER NOT NULL,
    holder   TEXT NOT NULL,
    from_at  INTEGER NOT NULL,
    until_at INTEGER,
    PRIMARY KEY (case_id, idx)
) WITHOUT ROWID;
-- next_due: the earliest deadline not yet met while the case is open; NO_DUE when none,
-- so that the `due` order and its cursor need no NULL handling.
-- lat/lon: WGS-84, the phone's fix, or the grid cell's inner point for a case without
-- one (located_by says which), for maps and GeoJSON exports.
CREATE TABLE IF NOT EXISTS case_office (
    case_id    TEXT PRIMARY KEY,
    next_due   INTEGER NOT NULL,
    lat        REAL,
    lon        REAL,
    located_by TEXT
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS case_office_by_due ON case_office(next_due, case_id);
-- A unit's queue in deadline order (`holder=…&sort=due`, the queue a unit works from):
-- one row per current holder, walked in order instead of sorting all the holder's cases.
CREATE TABLE IF NOT EXISTS case_holder_due (
    holder   TEXT NOT NULL,
    next_due INTEGER NOT NULL,
    case_id  TEXT NOT NULL,
    PRIMARY KEY (holder, next_due, case_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS case_holder_due_by_case ON case_holder_due(case_id);
CREATE INDEX IF NOT EXISTS case_view_by_reported ON case_view(reported_at, case_id);
-- The list's common filters, each walked in the list's order so a page stops after its
-- rows instead of sorting every match (measured: workstation + open at 100,000 cases,
-- 72 ms with the projection's (workstation, is_open) index alone).
CREATE INDEX IF NOT EXISTS case_view_workstation_by_reported ON case_view(workstation, reported_at, case_id);
CREATE INDEX IF NOT EXISTS case_view_block_by_reported ON case_view(block, reported_at, case_id);
CREATE INDEX IF NOT EXISTS case_view_status_by_reported ON case_view(status, reported_at, case_id);
CREATE INDEX IF NOT EXISTS case_view_by_channel ON case_view(channel, reported_at);
";

/// A searched text in at least this many cases is looked for by reading the list in order.
const COMMON_TEXT: i64 = 1000;

/// `next_due` of a case without an unmet deadline: sorts after every real one.
pub(in crate::storage) const NO_DUE: i64 = i64::MAX;

/// The earliest deadline of an open case that is not met yet.
pub fn next_due(state: &CaseState) -> Option<i64> {
    if !state.status.is_open() {
        return None;
    }
    let response = state.response_due.filter(|_| state.responded_at.is_none());
    let resolution = state.resolution_due.filter(|_| state.resolved_at.is_none());
    match (response, resolution) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

/// How an assignment's end is stored (`case_assignment.ended`), on both backends.
pub(in crate::storage) fn end_name(end: AssignmentEnd) -> &'static str {
    match end {
        AssignmentEnd::Withdrawn => "withdrawn",
        AssignmentEnd::HandedBack => "handed_back",
    }
}

/// Writes the back-office rows of one case (inside the caller's transaction).
pub(super) fn project(
    tx: &Connection,
    catalog: &Catalog,
    header: &CaseHeader,
    state: &CaseState,
) -> StorageResult<()> {
    let id = header.id.to_string();
    let at = crate::office::position(catalog, header, state);
    tx.prepare_cached(
        "INSERT INTO case_office (case_id, next_due, lat, lon, located_by) VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (case_id) DO UPDATE SET next_due = excluded.next_due, lat = excluded.lat,
             lon = excluded.lon, located_by = excluded.located_by",
    )?
    .execute(params![
        id,
        next_due(state).unwrap_or(NO_DUE),
        at.map(|p| p.0),
        at.map(|p| p.1),
        at.map(|p| p.2),
    ])?;
    tx.prepare_cached("DELETE FROM case_holder_due WHERE case_id = ?1")?
        .execute([&id])?;
    let due = next_due(state).unwrap_or(NO_DUE);
    let mut insert = tx.prepare_cached(
        "INSERT OR IGNORE INTO case_holder_due (holder, next_due, case_id) VALUES (?1, ?2, ?3)",
    )?;
    for holder in &state.holders {
        insert.execute(params![holder, due, id])?;
    }
    tx.prepare_cached("DELETE FROM case_assignment WHERE case_id = ?1")?
        .execute([&id])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO case_assignment (case_id, idx, unit, lead, dispatched_at, arrived_at,
             feedback_at, released_at, ended_at, ended)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?;
    for (i, a) in state.assignments.iter().enumerate() {
        insert.execute(params![
            id,
            i as i64,
            a.unit,
            a.lead,
            a.dispatched_at,
            a.arrived_at,
            a.feedback_at,
            a.released_at,
            a.ended_at,
            a.ended.map(end_name),
        ])?;
    }
    tx.prepare_cached("DELETE FROM case_span WHERE case_id = ?1")?
        .execute([&id])?;
    let mut insert = tx.prepare_cached(
        "INSERT INTO case_span (case_id, idx, holder, from_at, until_at) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    for (i, s) in state.holder_spans.iter().enumerate() {
        insert.execute(params![id, i as i64, s.holder, s.from, s.until])?;
    }
    Ok(())
}

/// The columns [`read_row`] reads (the time of the query in `:now`).
fn row_columns() -> String {
    format!(
        "v.case_id, v.case_number, v.status, v.channel, v.checklist_item,
    v.category, v.grid, v.workstation, v.block, v.description, v.reporter, v.reported_at,
    v.response_due, v.resolution_due, v.responded_at, v.resolved_at, v.closed_at, v.escalated,
    o.next_due,
    (SELECT group_concat(holder, char(31)) FROM
        (SELECT holder FROM case_holder h WHERE h.case_id = v.case_id ORDER BY holder)),
    {},
    o.lat, o.lon, o.located_by",
        query::overdue_sql(":now")
    )
}

/// Reads a row of [`row_columns`] (columns 0–23) at `now_ms`.
fn read_row(r: &rusqlite::Row<'_>, now_ms: i64) -> StorageResult<CaseRow> {
    let status: String = r.get(2)?;
    let next_due: i64 = r.get(18)?;
    let next_due = (next_due != NO_DUE).then_some(next_due);
    let holders: Option<String> = r.get(19)?;
    Ok(CaseRow {
        id: r.get(0)?,
        case_number: r.get(1)?,
        status: CaseStatus::parse(&status)
            .ok_or_else(|| StorageError::internal(format!("unknown stored status {status}")))?,
        channel: r.get(3)?,
        checklist_item: r.get(4)?,
        category: r.get(5)?,
        grid: r.get(6)?,
        workstation: r.get(7)?,
        block: r.get(8)?,
        description: r.get(9)?,
        reporter: r.get(10)?,
        reported_at: r.get(11)?,
        response_due: r.get(12)?,
        resolution_due: r.get(13)?,
        responded_at: r.get(14)?,
        resolved_at: r.get(15)?,
        closed_at: r.get(16)?,
        escalated: r.get(17)?,
        next_due,
        time_left_ms: next_due.map(|d| d - now_ms),
        holders: holders
            .map(|h| h.split('\u{1f}').map(str::to_owned).collect())
            .unwrap_or_default(),
        overdue: r.get(20)?,
        lat: r.get(21)?,
        lon: r.get(22)?,
        located_by: r.get(23)?,
        time_with: Vec::new(),
    })
}

/// SQLite's binding of a filter's values: named `:aN` arguments (`:now` first), a list
/// expanded into `IN (…)`, the text searched through the FTS5 trigram table.
struct SqliteBinder<'c> {
    conn: &'c Connection,
    args: Vec<(String, Value)>,
}

impl SqliteBinder<'_> {
    fn arg(&mut self, v: Value) -> String {
        let name = format!(":a{}", self.args.len());
        self.args.push((name.clone(), v));
        name
    }

    /// The arguments as rusqlite binds them by name.
    fn params(&self) -> Vec<(&str, &dyn rusqlite::ToSql)> {
        self.args
            .iter()
            .map(|(n, v)| (n.as_str(), v as &dyn rusqlite::ToSql))
            .collect()
    }
}

impl Binder for SqliteBinder<'_> {
    fn now(&self) -> &'static str {
        ":now"
    }

    fn int(&mut self, value: i64) -> String {
        self.arg(Value::Integer(value))
    }

    fn text(&mut self, value: &str) -> String {
        self.arg(Value::Text(value.to_owned()))
    }

    fn one_of(&mut self, column: &str, values: &[String]) -> String {
        let list: Vec<String> = values.iter().map(|v| self.text(v)).collect();
        format!("{column} IN ({})", list.join(", "))
    }

    fn contains(&mut self, t: &str) -> StorageResult<String> {
        // The same substring search as the core's: the trigram index for 3+ characters,
        // unless the text is common (in COMMON_TEXT cases or more), where reading the list
        // in its order and testing each description finds a page sooner than gathering
        // every match from the index (measured at 100,000 cases, a text in all of them:
        // 250 ms through the index).
        let phrase = query::fts_phrase(t);
        let indexed = t.chars().count() >= query::MIN_INDEXED_CHARS
            && self
                .conn
                .prepare_cached(
                    "SELECT count(*) FROM (SELECT 1 FROM case_fts WHERE case_fts MATCH ?1 LIMIT ?2)",
                )?
                .query_row(params![phrase, COMMON_TEXT], |r| r.get::<_, i64>(0))?
                < COMMON_TEXT;
        Ok(if indexed {
            format!(
                "v.rowid IN (SELECT rowid FROM case_fts WHERE case_fts MATCH {})",
                self.arg(Value::Text(phrase))
            )
        } else {
            format!(
                "v.description LIKE {} ESCAPE '\\'",
                self.arg(Value::Text(query::like_pattern(t)))
            )
        })
    }
}

/// The selection of `f` at `now_ms` (see [`select`]) and its arguments.
fn select_on<'c>(
    conn: &'c Connection,
    f: &CaseFilter,
    now_ms: i64,
) -> StorageResult<(Selection, SqliteBinder<'c>)> {
    let mut binder = SqliteBinder {
        conn,
        args: vec![(":now".into(), Value::Integer(now_ms))],
    };
    let selection = select(f, now_ms, &mut binder)?;
    Ok((selection, binder))
}

/// How many cases match `f` at `now_ms` (its paging and order aside): what a page that
/// shows only some of them says it shows them of.
pub(super) fn count(conn: &Connection, f: &CaseFilter, now_ms: i64) -> StorageResult<u64> {
    let (selection, binder) = select_on(conn, f, now_ms)?;
    // `:now` is bound whether or not a condition uses it; selecting it keeps it named.
    let sql = format!(
        "SELECT count(*), :now FROM {} {}",
        selection.count_from(),
        selection.where_clause()
    );
    let mut stmt = conn.prepare(&sql)?;
    let n: i64 = stmt.query_row(binder.params().as_slice(), |r| r.get(0))?;
    Ok(u64::try_from(n).unwrap_or_default())
}

/// One page of the case list at `now_ms`.
pub(super) fn page(conn: &Connection, f: &CaseFilter, now_ms: i64) -> StorageResult<CasePage> {
    let (selection, mut binder) = select_on(conn, f, now_ms)?;
    let (sql, limit) = page_sql(f, selection, &row_columns(), &mut binder);
    // Not cached: the text differs with every combination of filters.
    let mut stmt = conn.prepare(&sql)?;
    // Every argument named above is used in the text.
    let params = binder.params();
    let mut rows = stmt.query(params.as_slice())?;
    let mut cases = Vec::new();
    let mut keys = Vec::new();
    while let Some(r) = rows.next()? {
        cases.push(read_row(r, now_ms)?);
        keys.push(r.get::<_, i64>(24)?);
    }
    let next_cursor = cut_page(&mut cases, &keys, limit);
    fill_time_with(conn, &mut cases, now_ms)?;
    Ok(CasePage { cases, next_cursor })
}

/// Time with each holder for the listed cases, in one query.
fn fill_time_with(conn: &Connection, cases: &mut [CaseRow], now_ms: i64) -> StorageResult<()> {
    if cases.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
    let ids = serde_json::to_string(&ids).map_err(StorageError::internal)?;
    let mut stmt = conn.prepare_cached(
        "SELECT case_id, holder, sum(coalesce(until_at, ?2) - from_at) AS ms FROM case_span
         WHERE case_id IN (SELECT value FROM json_each(?1))
         GROUP BY case_id, holder ORDER BY case_id, ms DESC, holder",
    )?;
    let mut rows = stmt.query(params![ids, now_ms])?;
    let mut by_case: std::collections::HashMap<String, Vec<HolderTime>> = Default::default();
    while let Some(r) = rows.next()? {
        by_case.entry(r.get(0)?).or_default().push(HolderTime {
            holder: r.get(1)?,
            ms: r.get(2)?,
        });
    }
    for c in cases {
        c.time_with = by_case.remove(&c.id).unwrap_or_default();
    }
    Ok(())
}

/// What an evaluation of the cases reported in `[from, to)` reads.
pub(super) fn eval_input(conn: &Connection, from: i64, to: i64) -> StorageResult<EvalInput> {
    let mut input = EvalInput::default();
    let mut stmt = conn.prepare_cached(
        "SELECT case_id, case_number, status, channel, category, reported_at, response_due,
             resolution_due, responded_at, resolved_at
         FROM case_view WHERE reported_at >= ?1 AND reported_at < ?2",
    )?;
    let mut rows = stmt.query(params![from, to])?;
    while let Some(r) = rows.next()? {
        let status: String = r.get(2)?;
        input.cases.push(EvalCase {
            id: r.get(0)?,
            case_number: r.get(1)?,
            status: CaseStatus::parse(&status)
                .ok_or_else(|| StorageError::internal(format!("unknown stored status {status}")))?,
            channel: r.get(3)?,
            category: r.get(4)?,
            reported_at: r.get(5)?,
            response_due: r.get(6)?,
            resolution_due: r.get(7)?,
            responded_at: r.get(8)?,
            resolved_at: r.get(9)?,
        });
    }
    let mut stmt = conn.prepare_cached(
        "SELECT a.case_id, a.unit, a.lead, a.dispatched_at, a.arrived_at, a.feedback_at,
             a.released_at, a.ended
         FROM case_view v JOIN case_assignment a ON a.case_id = v.case_id
         WHERE v.reported_at >= ?1 AND v.reported_at < ?2",
    )?;
    let mut rows = stmt.query(params![from, to])?;
    while let Some(r) = rows.next()? {
        input.assignments.push(EvalAssignment {
            case_id: r.get(0)?,
            unit: r.get(1)?,
            lead: r.get(2)?,
            dispatched_at: r.get(3)?,
            arrived_at: r.get(4)?,
            feedback_at: r.get(5)?,
            released_at: r.get(6)?,
            ended: r.get(7)?,
        });
    }
    let mut stmt = conn.prepare_cached(
        "SELECT s.case_id, s.holder, s.from_at, s.until_at
         FROM case_view v JOIN case_span s ON s.case_id = v.case_id
         WHERE v.reported_at >= ?1 AND v.reported_at < ?2",
    )?;
    let mut rows = stmt.query(params![from, to])?;
    while let Some(r) = rows.next()? {
        input.spans.push(EvalSpan {
            case_id: r.get(0)?,
            holder: r.get(1)?,
            from: r.get(2)?,
            until: r.get(3)?,
        });
    }
    Ok(input)
}

/// The zero-report rows of the days `from..=to`, of one workstation or all.
pub(super) fn filings(
    conn: &Connection,
    from: NaiveDate,
    to: NaiveDate,
    workstation: Option<&str>,
) -> StorageResult<Vec<FilingRow>> {
    let mut stmt = conn.prepare_cached(
        "SELECT workstation, day, filed, nothing_to_report, matter_count, last_amended_at
         FROM zero_report_view WHERE day >= ?1 AND day <= ?2 AND (?3 IS NULL OR workstation = ?3)
         ORDER BY day, workstation",
    )?;
    let mut rows = stmt.query(params![from.to_string(), to.to_string(), workstation])?;
    let mut out = Vec::new();
    while let Some(r) = rows.next()? {
        out.push(filing_row(r)?);
    }
    Ok(out)
}

/// The documents changed after feed position `after`, oldest change first, at most
/// `limit`, each as the back office sees it now.
pub(super) fn changes(
    conn: &Connection,
    after: u64,
    limit: u32,
    now_ms: i64,
) -> StorageResult<Vec<Change>> {
    let mut stmt = conn.prepare_cached(
        "SELECT seq, kind, doc_id FROM documents WHERE seq > ?1 AND quarantined_at IS NULL
         ORDER BY seq LIMIT ?2",
    )?;
    let docs: Vec<(i64, String, String)> = stmt
        .query_map(params![after as i64, limit], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?))
        })?
        .collect::<rusqlite::Result<_>>()?;
    let mut case_stmt = conn.prepare_cached(&format!(
        "SELECT {} FROM case_view v JOIN case_office o ON o.case_id = v.case_id
         WHERE v.case_id = :id",
        row_columns()
    ))?;
    let mut zr_stmt = conn.prepare_cached(
        "SELECT workstation, day, filed, nothing_to_report, matter_count, last_amended_at
         FROM zero_report_view WHERE doc_id = ?1",
    )?;
    let mut out = Vec::with_capacity(docs.len());
    for (seq, kind, id) in docs {
        let mut change = Change {
            seq: seq as u64,
            kind,
            id,
            case: None,
            zero_report: None,
        };
        if change.kind == "case" {
            let mut rows =
                case_stmt.query(rusqlite::named_params! {":id": change.id, ":now": now_ms})?;
            if let Some(r) = rows.next()? {
                change.case = Some(read_row(r, now_ms)?);
            }
        } else {
            let mut rows = zr_stmt.query([&change.id])?;
            if let Some(r) = rows.next()? {
                change.zero_report = Some(filing_row(r)?);
            }
        }
        out.push(change);
    }
    Ok(out)
}

fn filing_row(r: &rusqlite::Row<'_>) -> StorageResult<FilingRow> {
    let day: String = r.get(1)?;
    Ok(FilingRow {
        workstation: r.get(0)?,
        day: day
            .parse()
            .map_err(|_| StorageError::internal(format!("bad stored day {day}")))?,
        filed: r.get(2)?,
        nothing_to_report: r.get(3)?,
        matter_count: r.get(4)?,
        last_amended_at: r.get(5)?,
    })
}
