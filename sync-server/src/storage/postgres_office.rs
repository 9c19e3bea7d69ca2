//! The back office's own projection of cases on PostgreSQL — each unit's part
//! (`case_assignment`), who held a case when (`case_span`), the case's next deadline and
//! position (`case_office`, `case_holder_due`) — and the case list, evaluation, filings and
//! export feed over them. A port of `sqlite_office.rs`, which explains why these rows exist
//! (the evaluation of a quarter and every queue page would otherwise decode thousands of
//! documents); the tables are in `postgres_schema.rs`.
//!
//! What differs from SQLite: parameters are positional (`$1` is always the time of the
//! query), lists are bound as arrays (`= ANY($n)`) rather than expanded or read with
//! `json_each`, and the text search is one `ILIKE` that the trigram index answers for any
//! length (see [`select`]).

use chrono::NaiveDate;
use postgres::types::ToSql;
use wangge_core::store::query;
use wangge_core::{CaseState, CaseStatus, Catalog};

use super::doc_writes::{CaseRef, column};
use super::{Param, Tx};
use crate::office::board::FilingRow;
use crate::office::evaluation::{EvalAssignment, EvalCase, EvalInput, EvalSpan};
use crate::office::export::Change;
use crate::office::queue::{CaseFilter, CasePage, CaseRow, HolderTime};
use crate::storage::case_filter_sql::{Binder, Selection, cut_page, page_sql, select};
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::sqlite::office::{NO_DUE, end_name, next_due};

/// Writes the back-office rows of `cases` inside the caller's (write) transaction: the
/// same rows as SQLite's `project`, each table's rows of a case replaced as a whole. Every
/// case's rows go in as arrays through `unnest`, one statement per table for all of them
/// (see `postgres_doc_writes.rs`), because this runs under the write lock every instance
/// waits for.
pub(super) fn project(
    tx: &mut Tx<'_>,
    catalog: &Catalog,
    cases: &[CaseRef<'_>],
) -> StorageResult<()> {
    if cases.is_empty() {
        return Ok(());
    }
    let ids: Vec<String> = cases.iter().map(|(h, _)| h.id.to_string()).collect();
    let at: Vec<_> = cases
        .iter()
        .map(|(h, s)| crate::office::position(catalog, h, s))
        .collect();
    let due: Vec<i64> = cases
        .iter()
        .map(|(_, s)| next_due(s).unwrap_or(NO_DUE))
        .collect();
    tx.execute(
        "INSERT INTO case_office (case_id, next_due, lat, lon, located_by)
         SELECT * FROM unnest($1::text[], $2::bigint[], $3::float8[], $4::float8[], $5::text[])
         ON CONFLICT (case_id) DO UPDATE SET next_due = excluded.next_due, lat = excluded.lat,
             lon = excluded.lon, located_by = excluded.located_by",
        &[
            &ids,
            &due,
            &column(&at, |p| p.map(|p| p.0)),
            &column(&at, |p| p.map(|p| p.1)),
            &column(&at, |p| p.map(|p| p.2)),
        ],
    )?;
    for table in ["case_holder_due", "case_assignment", "case_span"] {
        tx.execute(
            &format!("DELETE FROM {table} WHERE case_id = ANY($1::text[])"),
            &[&ids],
        )?;
    }
    // Each case's rows, with the case's index and the row's place among them.
    fn rows<'a, T>(
        cases: &[CaseRef<'a>],
        of: impl Fn(&'a CaseState) -> &'a [T],
    ) -> Vec<(usize, i64, &'a T)> {
        cases
            .iter()
            .enumerate()
            .flat_map(|(i, (_, s))| of(s).iter().enumerate().map(move |(j, x)| (i, j as i64, x)))
            .collect()
    }
    let holders = rows(cases, |s| &s.holders);
    if !holders.is_empty() {
        tx.execute(
            "INSERT INTO case_holder_due (holder, next_due, case_id)
             SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[])
             ON CONFLICT DO NOTHING",
            &[
                &column(&holders, |h| h.2.as_str()),
                &column(&holders, |h| due[h.0]),
                &column(&holders, |h| ids[h.0].as_str()),
            ],
        )?;
    }
    let a = rows(cases, |s| &s.assignments);
    if !a.is_empty() {
        let at =
            |f: fn(&wangge_core::case::UnitAssignment) -> Option<i64>| column(&a, move |x| f(x.2));
        tx.execute(
            "INSERT INTO case_assignment (case_id, idx, unit, lead, dispatched_at, arrived_at,
                 feedback_at, released_at, ended_at, ended)
             SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::boolean[], $5::bigint[],
                 $6::bigint[], $7::bigint[], $8::bigint[], $9::bigint[], $10::text[])",
            &[
                &column(&a, |x| ids[x.0].as_str()),
                &column(&a, |x| x.1),
                &column(&a, |x| x.2.unit.as_str()),
                &column(&a, |x| x.2.lead),
                &column(&a, |x| x.2.dispatched_at),
                &at(|x| x.arrived_at),
                &at(|x| x.feedback_at),
                &at(|x| x.released_at),
                &at(|x| x.ended_at),
                &column(&a, |x| x.2.ended.map(end_name)),
            ],
        )?;
    }
    let spans = rows(cases, |s| &s.holder_spans);
    if !spans.is_empty() {
        tx.execute(
            "INSERT INTO case_span (case_id, idx, holder, from_at, until_at)
             SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::bigint[], $5::bigint[])",
            &[
                &column(&spans, |x| ids[x.0].as_str()),
                &column(&spans, |x| x.1),
                &column(&spans, |x| x.2.holder.as_str()),
                &column(&spans, |x| x.2.from),
                &column(&spans, |x| x.2.until),
            ],
        )?;
    }
    Ok(())
}

/// The columns [`read_row`] reads (the time of the query in `$1`).
fn row_columns() -> String {
    format!(
        "v.case_id, v.case_number, v.status, v.channel, v.checklist_item,
    v.category, v.grid, v.workstation, v.block, v.description, v.reporter, v.reported_at,
    v.response_due, v.resolution_due, v.responded_at, v.resolved_at, v.closed_at, v.escalated,
    o.next_due,
    (SELECT string_agg(holder, chr(31) ORDER BY holder) FROM case_holder h
        WHERE h.case_id = v.case_id),
    {},
    o.lat, o.lon, o.located_by",
        query::overdue_sql("$1")
    )
}

/// A status as stored by [`super::upsert_case_view`].
fn stored_status(status: &str) -> StorageResult<CaseStatus> {
    CaseStatus::parse(status)
        .ok_or_else(|| StorageError::internal(format!("unknown stored status {status}")))
}

/// Reads a row of [`row_columns`] (columns 0–23) at `now_ms`.
fn read_row(r: &postgres::Row, now_ms: i64) -> StorageResult<CaseRow> {
    let status: String = r.try_get(2)?;
    let next_due: i64 = r.try_get(18)?;
    let next_due = (next_due != NO_DUE).then_some(next_due);
    let holders: Option<String> = r.try_get(19)?;
    Ok(CaseRow {
        id: r.try_get(0)?,
        case_number: r.try_get(1)?,
        status: stored_status(&status)?,
        channel: r.try_get(3)?,
        checklist_item: r.try_get(4)?,
        category: r.try_get(5)?,
        grid: r.try_get(6)?,
        workstation: r.try_get(7)?,
        block: r.try_get(8)?,
        description: r.try_get(9)?,
        reporter: r.try_get(10)?,
        reported_at: r.try_get(11)?,
        response_due: r.try_get(12)?,
        resolution_due: r.try_get(13)?,
        responded_at: r.try_get(14)?,
        resolved_at: r.try_get(15)?,
        closed_at: r.try_get(16)?,
        escalated: r.try_get(17)?,
        next_due,
        time_left_ms: next_due.map(|d| d - now_ms),
        holders: holders
            .map(|h| h.split('\u{1f}').map(str::to_owned).collect())
            .unwrap_or_default(),
        overdue: r.try_get(20)?,
        lat: r.try_get(21)?,
        lon: r.try_get(22)?,
        located_by: r.try_get(23)?,
        time_with: Vec::new(),
    })
}

/// PostgreSQL's binding of a filter's values: positional `$N` arguments (`$1` the time of
/// the query), a list as one `text[]` array, the text searched with `ILIKE`.
struct PgBinder(Vec<Box<dyn ToSql + Sync>>);

impl PgBinder {
    /// Adds `v` and returns its placeholder.
    fn add(&mut self, v: impl ToSql + Sync + 'static) -> String {
        self.0.push(Box::new(v));
        format!("${}", self.0.len())
    }

    fn params(&self) -> Vec<Param<'_>> {
        self.0.iter().map(|a| a.as_ref() as Param<'_>).collect()
    }
}

impl Binder for PgBinder {
    fn now(&self) -> &'static str {
        "$1"
    }

    fn int(&mut self, value: i64) -> String {
        self.add(value)
    }

    fn text(&mut self, value: &str) -> String {
        self.add(value.to_owned())
    }

    fn one_of(&mut self, column: &str, values: &[String]) -> String {
        format!("{column} = ANY({}::text[])", self.add(values.to_vec()))
    }

    fn contains(&mut self, t: &str) -> StorageResult<String> {
        // The same substring search as SQLite's, which ignores the case of ASCII letters
        // (its FTS5 trigram table and its LIKE both do): ILIKE over `COLLATE "C"` folds
        // exactly those. One condition whatever the length, because the GIN trigram index
        // answers ILIKE for any pattern and the planner weighs a common text against
        // reading the list in order, the choice SQLite's backend makes by counting
        // matches first (`COMMON_TEXT`).
        Ok(format!(
            "v.description ILIKE {} ESCAPE '\\'",
            self.add(query::like_pattern(t))
        ))
    }
}

/// The selection of `f` at `now_ms` (see [`select`]) and its arguments.
fn select_at(f: &CaseFilter, now_ms: i64) -> StorageResult<(Selection, PgBinder)> {
    let mut binder = PgBinder(vec![Box::new(now_ms)]);
    let selection = select(f, now_ms, &mut binder)?;
    Ok((selection, binder))
}

/// How many cases match `f` at `now_ms` (its paging and order aside): what a page that
/// shows only some of them says it shows them of.
pub(super) fn count(tx: &mut Tx<'_>, f: &CaseFilter, now_ms: i64) -> StorageResult<u64> {
    let (selection, binder) = select_at(f, now_ms)?;
    // `$1` is bound whether or not a condition uses it; selecting it gives it its type.
    let sql = format!(
        "SELECT count(*), $1::bigint FROM {} {}",
        selection.count_from(),
        selection.where_clause()
    );
    let n: i64 = tx.query_one(&sql, &binder.params())?.try_get(0)?;
    Ok(u64::try_from(n).unwrap_or_default())
}

/// One page of the case list at `now_ms`, after `f.after` (a keyset cursor: the sort key
/// and the case id of the previous page's last row).
pub(super) fn page(tx: &mut Tx<'_>, f: &CaseFilter, now_ms: i64) -> StorageResult<CasePage> {
    let (selection, mut binder) = select_at(f, now_ms)?;
    let (sql, limit) = page_sql(f, selection, &row_columns(), &mut binder);
    let mut cases = Vec::new();
    let mut keys = Vec::new();
    for r in tx.query(&sql, &binder.params())? {
        cases.push(read_row(&r, now_ms)?);
        keys.push(r.try_get::<_, i64>(24)?);
    }
    let next_cursor = cut_page(&mut cases, &keys, limit);
    fill_time_with(tx, &mut cases, now_ms)?;
    Ok(CasePage { cases, next_cursor })
}

/// Time with each holder for the listed cases, in one query.
fn fill_time_with(tx: &mut Tx<'_>, cases: &mut [CaseRow], now_ms: i64) -> StorageResult<()> {
    if cases.is_empty() {
        return Ok(());
    }
    let ids: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
    // `sum` of BIGINT is NUMERIC in PostgreSQL: cast back (a case's time with a holder is
    // far below 2^63 ms).
    let rows = tx.query(
        "SELECT case_id, holder, sum(coalesce(until_at, $2) - from_at)::bigint AS ms FROM case_span
         WHERE case_id = ANY($1::text[])
         GROUP BY case_id, holder ORDER BY case_id, ms DESC, holder",
        &[&ids, &now_ms],
    )?;
    let mut by_case: std::collections::HashMap<String, Vec<HolderTime>> = Default::default();
    for r in rows {
        by_case.entry(r.try_get(0)?).or_default().push(HolderTime {
            holder: r.try_get(1)?,
            ms: r.try_get(2)?,
        });
    }
    for c in cases {
        c.time_with = by_case.remove(&c.id).unwrap_or_default();
    }
    Ok(())
}

/// What an evaluation of the cases reported in `[from, to)` reads.
pub(super) fn eval_input(tx: &mut Tx<'_>, from: i64, to: i64) -> StorageResult<EvalInput> {
    let mut input = EvalInput::default();
    for r in tx.query(
        "SELECT case_id, case_number, status, channel, category, reported_at, response_due,
             resolution_due, responded_at, resolved_at
         FROM case_view WHERE reported_at >= $1 AND reported_at < $2",
        &[&from, &to],
    )? {
        let status: String = r.try_get(2)?;
        input.cases.push(EvalCase {
            id: r.try_get(0)?,
            case_number: r.try_get(1)?,
            status: stored_status(&status)?,
            channel: r.try_get(3)?,
            category: r.try_get(4)?,
            reported_at: r.try_get(5)?,
            response_due: r.try_get(6)?,
            resolution_due: r.try_get(7)?,
            responded_at: r.try_get(8)?,
            resolved_at: r.try_get(9)?,
        });
    }
    for r in tx.query(
        "SELECT a.case_id, a.unit, a.lead, a.dispatched_at, a.arrived_at, a.feedback_at,
             a.released_at, a.ended
         FROM case_view v JOIN case_assignment a ON a.case_id = v.case_id
         WHERE v.reported_at >= $1 AND v.reported_at < $2",
        &[&from, &to],
    )? {
        input.assignments.push(EvalAssignment {
            case_id: r.try_get(0)?,
            unit: r.try_get(1)?,
            lead: r.try_get(2)?,
            dispatched_at: r.try_get(3)?,
            arrived_at: r.try_get(4)?,
            feedback_at: r.try_get(5)?,
            released_at: r.try_get(6)?,
            ended: r.try_get(7)?,
        });
    }
    for r in tx.query(
        "SELECT s.case_id, s.holder, s.from_at, s.until_at
         FROM case_view v JOIN case_span s ON s.case_id = v.case_id
         WHERE v.reported_at >= $1 AND v.reported_at < $2",
        &[&from, &to],
    )? {
        input.spans.push(EvalSpan {
            case_id: r.try_get(0)?,
            holder: r.try_get(1)?,
            from: r.try_get(2)?,
            until: r.try_get(3)?,
        });
    }
    Ok(input)
}

/// The columns [`filing_row`] reads.
const FILING_COLUMNS: &str =
    "workstation, day, filed, nothing_to_report, matter_count, last_amended_at";

/// The zero-report rows of the days `from..=to`, of one workstation or all. Days are
/// `YYYY-MM-DD` text, so text order is day order.
pub(super) fn filings(
    tx: &mut Tx<'_>,
    from: NaiveDate,
    to: NaiveDate,
    workstation: Option<&str>,
) -> StorageResult<Vec<FilingRow>> {
    tx.query(
        &format!(
            "SELECT {FILING_COLUMNS} FROM zero_report_view
             WHERE day >= $1 AND day <= $2 AND ($3::text IS NULL OR workstation = $3::text)
             ORDER BY day, workstation"
        ),
        &[&from.to_string(), &to.to_string(), &workstation],
    )?
    .iter()
    .map(filing_row)
    .collect()
}

/// The documents changed after feed position `after`, oldest change first, at most
/// `limit`, each as the back office sees it now.
pub(super) fn changes(
    tx: &mut Tx<'_>,
    after: u64,
    limit: u32,
    now_ms: i64,
) -> StorageResult<Vec<Change>> {
    let docs = tx.query(
        "SELECT seq, kind, doc_id FROM documents WHERE seq > $1 AND quarantined_at IS NULL
         ORDER BY seq LIMIT $2",
        &[&i64::try_from(after).unwrap_or(i64::MAX), &i64::from(limit)],
    )?;
    let case_stmt = tx.prepare(&format!(
        "SELECT {} FROM case_view v JOIN case_office o ON o.case_id = v.case_id
         WHERE v.case_id = $2",
        row_columns()
    ))?;
    let zr_stmt = tx.prepare(&format!(
        "SELECT {FILING_COLUMNS} FROM zero_report_view WHERE doc_id = $1"
    ))?;
    let mut out = Vec::with_capacity(docs.len());
    for d in docs {
        let mut change = Change {
            seq: d.try_get::<_, i64>(0)? as u64,
            kind: d.try_get(1)?,
            id: d.try_get(2)?,
            case: None,
            zero_report: None,
        };
        if change.kind == "case" {
            if let Some(r) = tx.query_opt(&case_stmt, &[&now_ms, &change.id])? {
                change.case = Some(read_row(&r, now_ms)?);
            }
        } else if let Some(r) = tx.query_opt(&zr_stmt, &[&change.id])? {
            change.zero_report = Some(filing_row(&r)?);
        }
        out.push(change);
    }
    Ok(out)
}

fn filing_row(r: &postgres::Row) -> StorageResult<FilingRow> {
    let day: String = r.try_get(1)?;
    let matters: i64 = r.try_get(4)?;
    Ok(FilingRow {
        workstation: r.try_get(0)?,
        day: day
            .parse()
            .map_err(|_| StorageError::internal(format!("bad stored day {day}")))?,
        filed: r.try_get(2)?,
        nothing_to_report: r.try_get(3)?,
        matter_count: u32::try_from(matters)
            .map_err(|_| StorageError::internal(format!("bad stored matter count {matters}")))?,
        last_amended_at: r.try_get(5)?,
    })
}
