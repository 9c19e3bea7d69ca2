//! The queries an officer's screen needs, answered from the projections.

use rusqlite::{Connection, types::Value};
use serde::{Deserialize, Serialize};

use crate::case::CaseStatus;
use crate::error::{Error, Result};

/// One line of a case list.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CaseSummary {
    /// The case's id.
    pub id: String,
    /// Workflow status.
    pub status: CaseStatus,
    /// Official number, once registered.
    pub case_number: Option<String>,
    /// Checklist item in force.
    pub checklist_item: String,
    /// Category in force.
    pub category: String,
    /// Finest grid cell, if known.
    pub grid: Option<String>,
    /// Residential workstation, if known.
    pub workstation: Option<String>,
    /// Description as reported.
    pub description: String,
    /// When it entered the platform (ms).
    pub reported_at: i64,
    /// Response deadline (ms).
    pub response_due: Option<i64>,
    /// Resolution deadline (ms).
    pub resolution_due: Option<i64>,
    /// Who must act now.
    pub holders: Vec<String>,
    /// Late in any respect while open, at the time of the query.
    pub overdue: bool,
    /// Submitted to the district platform.
    pub escalated: bool,
}

/// A filter over the case list. Empty fields do not filter.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseQuery {
    /// Only cases still open.
    pub open_only: bool,
    /// Cases this staff member reported, or that are held by one of `units`.
    pub mine: Option<(String, Vec<String>)>,
    /// Cases in this grid cell, workstation or block.
    pub grid: Option<String>,
    /// Cases of this category.
    pub category: Option<String>,
    /// Only cases overdue at the query's time.
    pub overdue_only: bool,
    /// Substring of the description (Chinese included).
    pub text: Option<String>,
    /// At most this many rows (default 500).
    pub limit: Option<u32>,
}

const SELECT_HEAD: &str =
    "SELECT v.case_id, v.status, v.case_number, v.checklist_item, v.category, v.grid,
    v.workstation, v.description, v.reported_at, v.response_due, v.resolution_due,
    (SELECT group_concat(holder, char(31)) FROM
        (SELECT holder FROM case_holder h WHERE h.case_id = v.case_id ORDER BY holder))";

/// The SQL condition "open and late in any respect at the query's time" over `case_view v`,
/// where `now` names the parameter that holds the time (`?1`, `:now`): the one definition
/// of overdue for every list and count, on the device and on the server.
pub fn overdue_sql(now: &str) -> String {
    format!(
        "v.is_open AND ((v.response_due IS NOT NULL AND coalesce(v.responded_at, {now}) > v.response_due)
        OR (v.resolution_due IS NOT NULL AND coalesce(v.resolved_at, {now}) > v.resolution_due))"
    )
}

/// Searched texts at least this long go through the trigram index (`case_fts`); shorter
/// ones through `LIKE`, which the index cannot answer.
pub const MIN_INDEXED_CHARS: usize = 3;

/// The FTS5 query that finds `text` as a substring: a quoted phrase of trigrams (doubled
/// quotes escape quotes).
pub fn fts_phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// The `LIKE … ESCAPE '\\'` pattern that finds `text` as a substring.
pub fn like_pattern(text: &str) -> String {
    format!(
        "%{}%",
        text.replace('\\', "\\\\")
            .replace('%', "\\%")
            .replace('_', "\\_")
    )
}

/// Runs a case query at time `now_ms` (which decides what is overdue).
pub fn cases(conn: &Connection, q: &CaseQuery, now_ms: i64) -> Result<Vec<CaseSummary>> {
    let mut sql = format!(
        "{SELECT_HEAD}, {}, v.escalated FROM case_view v",
        overdue_sql("?1")
    );
    let mut args: Vec<Value> = vec![Value::Integer(now_ms)];
    let mut conds: Vec<String> = Vec::new();
    let arg = |args: &mut Vec<Value>, v: Value| {
        args.push(v);
        format!("?{}", args.len())
    };
    if q.open_only {
        conds.push("v.is_open".into());
    }
    if let Some((reporter, units)) = &q.mine {
        let mut alts = vec![format!(
            "v.reporter = {}",
            arg(&mut args, Value::Text(reporter.clone()))
        )];
        for unit in units {
            alts.push(format!(
                "EXISTS (SELECT 1 FROM case_holder h WHERE h.case_id = v.case_id AND h.holder = {})",
                arg(&mut args, Value::Text(unit.clone()))
            ));
        }
        conds.push(format!("({})", alts.join(" OR ")));
    }
    if let Some(grid) = &q.grid {
        let p = arg(&mut args, Value::Text(grid.clone()));
        conds.push(format!(
            "(v.grid = {p} OR v.workstation = {p} OR v.block = {p})"
        ));
    }
    if let Some(category) = &q.category {
        conds.push(format!(
            "v.category = {}",
            arg(&mut args, Value::Text(category.clone()))
        ));
    }
    if q.overdue_only {
        conds.push(overdue_sql("?1"));
    }
    if let Some(text) = &q.text {
        let text = text.trim();
        if text.is_empty() {
            return Err(Error::invalid(
                "search text",
                "type at least one character to search",
            ));
        }
        if text.chars().count() >= MIN_INDEXED_CHARS {
            conds.push(format!(
                "v.rowid IN (SELECT rowid FROM case_fts WHERE case_fts MATCH {})",
                arg(&mut args, Value::Text(fts_phrase(text)))
            ));
        } else {
            conds.push(format!(
                "v.description LIKE {} ESCAPE '\\'",
                arg(&mut args, Value::Text(like_pattern(text)))
            ));
        }
    }
    if !conds.is_empty() {
        sql.push_str(" WHERE ");
        sql.push_str(&conds.join(" AND "));
    }
    sql.push_str(
        " ORDER BY v.is_open DESC, v.resolution_due IS NULL, v.resolution_due, v.reported_at DESC, v.case_id",
    );
    sql.push_str(&format!(" LIMIT {}", q.limit.unwrap_or(500)));

    let mut stmt = conn.prepare_cached(&sql)?;
    let rows = stmt.query_map(rusqlite::params_from_iter(args), |r| {
        let status: String = r.get(1)?;
        let holders: Option<String> = r.get(11)?;
        Ok((
            status,
            CaseSummary {
                id: r.get(0)?,
                status: CaseStatus::Reported,
                case_number: r.get(2)?,
                checklist_item: r.get(3)?,
                category: r.get(4)?,
                grid: r.get(5)?,
                workstation: r.get(6)?,
                description: r.get(7)?,
                reported_at: r.get(8)?,
                response_due: r.get(9)?,
                resolution_due: r.get(10)?,
                holders: holders
                    .map(|h| h.split('\u{1f}').map(str::to_owned).collect())
                    .unwrap_or_default(),
                overdue: r.get(12)?,
                escalated: r.get(13)?,
            },
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (status, mut summary) = row?;
        summary.status = CaseStatus::parse(&status).ok_or_else(|| Error::CorruptDocument {
            doc_id: summary.id.clone(),
            reason: format!("unknown status '{status}' in the case list; rebuild the projections"),
        })?;
        out.push(summary);
    }
    Ok(out)
}

/// Number of cases per status.
pub fn status_counts(conn: &Connection) -> Result<Vec<(CaseStatus, u64)>> {
    let mut stmt = conn.prepare_cached("SELECT status, count(*) FROM case_view GROUP BY status")?;
    let rows = stmt.query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))?;
    let mut out = Vec::new();
    for row in rows {
        let (s, n) = row?;
        if let Some(s) = CaseStatus::parse(&s) {
            out.push((s, n as u64));
        }
    }
    out.sort_by_key(|(s, _)| CaseStatus::ALL.iter().position(|x| x == s));
    Ok(out)
}
