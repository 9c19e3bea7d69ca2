//! The case list's filters as SQL, written once for both backends: which tables a
//! [`CaseFilter`] reads and the condition each of its fields adds. The backends differ only
//! in how a value is bound (SQLite's named `:aN`, PostgreSQL's `$N`), how a list is tested
//! (an expanded `IN (…)` or `= ANY(array)`) and how the text is searched (SQLite's FTS5
//! trigram table, PostgreSQL's trigram index under `ILIKE`): a [`Binder`] says which.

use wangge_core::store::query;

use crate::office::queue::{CaseFilter, CaseRow, Cursor, MAX_READ, SortOrder};
use crate::storage::error::{StorageError, StorageResult};

/// How one backend binds the values of a filter's conditions.
pub(super) trait Binder {
    /// The placeholder of the time of the query, bound before any other value.
    fn now(&self) -> &'static str;
    /// Binds an integer; returns its placeholder.
    fn int(&mut self, value: i64) -> String;
    /// Binds a text; returns its placeholder.
    fn text(&mut self, value: &str) -> String;
    /// The condition that `column` is one of `values` (never empty).
    fn one_of(&mut self, column: &str, values: &[String]) -> String;
    /// The condition that `v.description` holds `text` (trimmed, not empty).
    fn contains(&mut self, text: &str) -> StorageResult<String>;
}

/// The rows a filter selects, as SQL: the tables, the conditions (their values bound by the
/// [`Binder`]), and whether a holder's queue walks `case_holder_due`.
pub(super) struct Selection {
    /// The `FROM` clause's tables: `v` (case_view) and `o` (case_office), and `hd`
    /// (case_holder_due) for a holder's queue in deadline order.
    pub from: String,
    /// The conditions, all of which must hold.
    pub conds: Vec<String>,
    /// Whether `from` walks `case_holder_due` (the sort key is then `hd.next_due`).
    pub by_holder_due: bool,
}

impl Selection {
    /// `WHERE` and the conditions, or nothing.
    pub fn where_clause(&self) -> String {
        if self.conds.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.conds.join(" AND "))
        }
    }

    /// The tables a count reads. Every case has its `case_office` row (written in the
    /// transaction that projects the case), so the join adds nothing to a count unless a
    /// condition reads it; without it, counting the open cases of 100,000 walks one table,
    /// not two.
    pub fn count_from(&self) -> &str {
        if !self.by_holder_due && !self.conds.iter().any(|c| c.contains("o.")) {
            "case_view v"
        } else {
            &self.from
        }
    }
}

/// The selection of `f` at `now_ms`: every filter as a condition, without the cursor.
pub(super) fn select(f: &CaseFilter, now_ms: i64, b: &mut dyn Binder) -> StorageResult<Selection> {
    let mut conds: Vec<String> = Vec::new();
    if !f.statuses.is_empty() {
        let list: Vec<String> = f.statuses.iter().map(|s| s.as_str().to_owned()).collect();
        conds.push(b.one_of("v.status", &list));
    }
    if let Some(open) = f.open {
        conds.push(if open { "v.is_open" } else { "NOT v.is_open" }.into());
    }
    // A holder's queue in deadline order walks `case_holder_due` in its key's order.
    let mut from = "case_view v JOIN case_office o ON o.case_id = v.case_id".to_owned();
    let by_holder_due = f.holder.is_some() && f.sort == SortOrder::Due;
    if let Some(h) = &f.holder {
        if by_holder_due {
            from = "case_holder_due hd JOIN case_view v ON v.case_id = hd.case_id
                 JOIN case_office o ON o.case_id = v.case_id"
                .to_owned();
            conds.push(format!("hd.holder = {}", b.text(h)));
        } else {
            conds.push(format!(
                "EXISTS (SELECT 1 FROM case_holder h WHERE h.holder = {} AND h.case_id = v.case_id)",
                b.text(h)
            ));
        }
    }
    if let Some(u) = &f.unit {
        conds.push(format!(
            "EXISTS (SELECT 1 FROM case_assignment a WHERE a.unit = {} AND a.case_id = v.case_id)",
            b.text(u)
        ));
    }
    if !f.units_any.is_empty() {
        conds.push(format!(
            "EXISTS (SELECT 1 FROM case_assignment a WHERE {} AND a.case_id = v.case_id)",
            b.one_of("a.unit", &f.units_any)
        ));
    }
    if let Some(escalated) = f.escalated {
        conds.push(
            if escalated {
                "v.escalated"
            } else {
                "NOT v.escalated"
            }
            .into(),
        );
    }
    if f.handed_back {
        // Back with the centre: open, and no unit holds it any more.
        conds.push(
            "v.is_open AND EXISTS (SELECT 1 FROM case_assignment a WHERE a.case_id = v.case_id \
             AND a.ended = 'handed_back') AND NOT EXISTS (SELECT 1 FROM case_assignment a \
             WHERE a.case_id = v.case_id AND a.ended IS NULL AND a.released_at IS NULL)"
                .into(),
        );
    }
    if let Some(a) = &f.area {
        let p = b.text(a);
        conds.push(format!(
            "(v.grid = {p} OR v.workstation = {p} OR v.block = {p})"
        ));
    }
    for (column, value) in [
        ("v.block", &f.block),
        ("v.workstation", &f.workstation),
        ("v.category", &f.category),
        ("v.checklist_item", &f.item),
        ("v.channel", &f.channel),
    ] {
        if let Some(value) = value {
            conds.push(format!("{column} = {}", b.text(value)));
        }
    }
    if let Some(from) = f.reported_from {
        conds.push(format!("v.reported_at >= {}", b.int(from)));
    }
    if let Some(to) = f.reported_to {
        conds.push(format!("v.reported_at < {}", b.int(to)));
    }
    if f.overdue {
        conds.push(query::overdue_sql(b.now()));
    }
    if let Some(minutes) = f.due_within_minutes {
        let until = now_ms.saturating_add(i64::from(minutes) * 60_000);
        conds.push(format!(
            "o.next_due >= {} AND o.next_due <= {}",
            b.now(),
            b.int(until)
        ));
    }
    if let Some(t) = &f.text {
        let t = t.trim();
        if t.is_empty() {
            return Err(StorageError::BadQuery(
                "q: type at least one character to search".into(),
            ));
        }
        conds.push(b.contains(t)?);
    }
    Ok(Selection {
        from,
        conds,
        by_holder_due,
    })
}

/// The SQL of one page of `f`'s list over `selection` (after its cursor, whose values `b`
/// binds): `columns`, then the sort key as the last column; one row more than the page's
/// limit, which tells whether another page follows. Returns the SQL and the limit.
pub(super) fn page_sql(
    f: &CaseFilter,
    mut selection: Selection,
    columns: &str,
    b: &mut dyn Binder,
) -> (String, u32) {
    let (key, order, after) = sort_sql(f.sort, selection.by_holder_due);
    if let Some(c) = &f.after {
        let k = b.int(c.key);
        let i = b.text(&c.case_id);
        selection
            .conds
            .push(after.replace("{k}", &k).replace("{i}", &i));
    }
    let limit = f.limit.clamp(1, MAX_READ);
    let sql = format!(
        "SELECT {columns}, {key} FROM {} {} ORDER BY {order} LIMIT {}",
        selection.from,
        selection.where_clause(),
        limit + 1,
    );
    (sql, limit)
}

/// Cuts the rows of [`page_sql`] (`keys` their sort keys) to the page's `limit`; returns
/// the cursor of the next page, if one follows.
pub(super) fn cut_page(cases: &mut Vec<CaseRow>, keys: &[i64], limit: u32) -> Option<String> {
    let limit = limit as usize;
    if cases.len() <= limit {
        return None;
    }
    cases.truncate(limit);
    let last = cases.last()?;
    Some(
        Cursor {
            key: *keys.get(limit - 1)?,
            case_id: last.id.clone(),
        }
        .encode(),
    )
}

/// The SQL of a list's order: the sort key's column, the `ORDER BY`, and the keyset
/// condition of the rows after a cursor (`{k}` its key, `{i}` its case id). The case id
/// breaks ties, so a cursor names one place in the order.
fn sort_sql(sort: SortOrder, by_holder_due: bool) -> (&'static str, &'static str, &'static str) {
    match sort {
        SortOrder::Reported => (
            "v.reported_at",
            "v.reported_at DESC, v.case_id DESC",
            "(v.reported_at < {k} OR (v.reported_at = {k} AND v.case_id < {i}))",
        ),
        SortOrder::Due if by_holder_due => (
            "hd.next_due",
            "hd.next_due, hd.case_id",
            "(hd.next_due > {k} OR (hd.next_due = {k} AND hd.case_id > {i}))",
        ),
        SortOrder::Due => (
            "o.next_due",
            "o.next_due, v.case_id",
            "(o.next_due > {k} OR (o.next_due = {k} AND v.case_id > {i}))",
        ),
    }
}
