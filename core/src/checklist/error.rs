//! Errors of the checklist module: loading the task checklist and the working-day calendar.
//!
//! Every message names the entry (kind, 1-based position and id) and the field that is wrong,
//! and says what to write instead, because the people who fix these files edit JSON by hand.

use std::fmt;

/// Where in a checklist file an error was found: `item #12 (A01-003)`.
///
/// Positions count from 1 (the first item is `#1`), the way a person counts entries when
/// reading the file. The id is absent when the entry has none (or it is not a string).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Position {
    /// What kind of entry: `"domain"`, `"category"` or `"item"`.
    pub kind: &'static str,
    /// 1-based position of the entry in its list.
    pub index: usize,
    /// The entry's `id`, if it has a usable one.
    pub id: Option<String>,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.id {
            Some(id) => write!(f, "{} #{} ({id})", self.kind, self.index),
            None => write!(f, "{} #{} (no id)", self.kind, self.index),
        }
    }
}

/// Why a compact time-limit string such as `"7x"` could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeLimitError {
    /// The text is not a number followed by `m`, `h`, `d` or `wd`.
    #[error("'{value}' is not a time limit; write e.g. 15m, 2h, 7d or 5wd")]
    NotALimit {
        /// The text as found.
        value: String,
    },
    /// The number does not fit in 32 bits.
    #[error("'{value}' is too large to be a time limit; write e.g. 15m, 2h, 7d or 5wd")]
    TooLarge {
        /// The text as found.
        value: String,
    },
}

/// Everything that can be wrong with a task checklist or a working-day calendar file.
#[derive(Debug, thiserror::Error)]
pub enum ChecklistError {
    /// The checklist text is not JSON at all.
    #[error("the checklist is not valid JSON: {source}; fix the syntax at that line and column")]
    NotJson {
        /// The parser's error, with line and column.
        source: serde_json::Error,
    },
    /// A top-level list (`domains`, `categories`, `items`) is missing or is not an array.
    #[error("the checklist has no `{section}` array at the top level; add \"{section}\": [ ... ]")]
    MissingSection {
        /// The missing key.
        section: &'static str,
    },
    /// The `items` list is empty: a checklist without items cannot classify any case.
    #[error("the checklist has no items; add at least one entry to \"items\"")]
    NoItems,
    /// An entry of a list is not a JSON object.
    #[error("{at} is not a JSON object; write it as {{ \"id\": ..., ... }}")]
    NotAnObject {
        /// The entry.
        at: Position,
    },
    /// A required field is absent (or `null`).
    #[error("{at} has no `{field}`; add it")]
    MissingField {
        /// The entry.
        at: Position,
        /// The missing field.
        field: &'static str,
    },
    /// A field has the wrong JSON type.
    #[error("`{field}` of {at} must be {expected}, found {found}")]
    WrongType {
        /// The entry.
        at: Position,
        /// The field.
        field: &'static str,
        /// What it should be, e.g. "a string", "true or false".
        expected: &'static str,
        /// What was found, e.g. `"yes"`.
        found: String,
    },
    /// A text field is empty or only whitespace.
    #[error("`{field}` of {at} is empty; write the text")]
    EmptyField {
        /// The entry.
        at: Position,
        /// The field.
        field: &'static str,
    },
    /// An id contains whitespace, which makes it unusable as a stable key.
    #[error("id '{id}' of {at} contains whitespace; ids are written like A01-003")]
    BadId {
        /// The entry.
        at: Position,
        /// The id as found.
        id: String,
    },
    /// Two entries of the same list share an id.
    #[error("{at} repeats the id '{id}' already used by {kind} #{first_index}; give it a new id")]
    DuplicateId {
        /// The second entry with that id.
        at: Position,
        /// The repeated id.
        id: String,
        /// What kind of entry (`"item"`, ...).
        kind: &'static str,
        /// 1-based position of the first entry with that id.
        first_index: usize,
    },
    /// A category or an item names a domain that the file does not define.
    #[error(
        "`domain` of {at} is '{domain}', which is not a domain of this checklist; \
         use one of: {known}"
    )]
    UnknownDomain {
        /// The entry.
        at: Position,
        /// The unknown domain id.
        domain: String,
        /// The defined domain ids, comma separated.
        known: String,
    },
    /// An item names a category that the file does not define.
    #[error(
        "`category` of {at} is '{category}', which is not a category of this checklist; \
         add it to \"categories\" or use an existing one"
    )]
    UnknownCategory {
        /// The item.
        at: Position,
        /// The unknown category id.
        category: String,
    },
    /// An item's domain is not the domain its category belongs to.
    #[error(
        "`domain` of {at} is '{item_domain}' but its category '{category}' belongs to \
         domain '{category_domain}'; make them agree"
    )]
    DomainMismatch {
        /// The item.
        at: Position,
        /// The item's category.
        category: String,
        /// The domain the category belongs to.
        category_domain: String,
        /// The domain the item claims.
        item_domain: String,
    },
    /// A time limit is not written as `15m`, `2h`, `7d` or `5wd`.
    #[error("`{field}` of {at}: {source}")]
    BadTimeLimit {
        /// The item.
        at: Position,
        /// `response_limit` or `resolution_limit`.
        field: &'static str,
        /// What is wrong with the text.
        source: TimeLimitError,
    },
    /// A time limit of zero: nobody can meet it, so it is a typo.
    #[error("`{field}` of {at} is zero; write the real limit, e.g. 15m")]
    ZeroTimeLimit {
        /// The item.
        at: Position,
        /// `response_limit` or `resolution_limit`.
        field: &'static str,
    },
    /// A time limit longer than a year: a rule book does not give a year, so it is a typo.
    #[error("`{field}` of {at} is '{value}', longer than {max}; check for a typo")]
    AbsurdTimeLimit {
        /// The item.
        at: Position,
        /// `response_limit` or `resolution_limit`.
        field: &'static str,
        /// The limit as written.
        value: String,
        /// The largest accepted limit in that unit, e.g. `366d`.
        max: String,
    },
    /// The resolution limit is shorter than the response limit.
    #[error(
        "{at} must be resolved within '{resolution}' but only responded to within \
         '{response}'; the resolution limit cannot be shorter than the response limit"
    )]
    ResolutionBeforeResponse {
        /// The item.
        at: Position,
        /// The response limit as written.
        response: String,
        /// The resolution limit as written.
        resolution: String,
    },
    /// The calendar text is not JSON, or not shaped as a calendar.
    #[error("the working-day calendar is not valid: {source}; fix it at that line and column")]
    CalendarNotJson {
        /// The parser's error.
        source: serde_json::Error,
    },
    /// The calendar covers no year.
    #[error("the working-day calendar lists no `years`; list the years it covers, e.g. [2025]")]
    CalendarNoYears,
    /// A calendar date is not `YYYY-MM-DD`.
    #[error("`{field}` of calendar {entry} is '{value}', not a date; write it as 2026-02-15")]
    CalendarBadDate {
        /// Which entry, e.g. `holiday #2 (春节)`.
        entry: String,
        /// The field.
        field: &'static str,
        /// The text as found.
        value: String,
    },
    /// A holiday ends before it starts.
    #[error("calendar {entry} ends on {last}, before it starts on {first}; swap them")]
    CalendarBackwards {
        /// Which entry.
        entry: String,
        /// First day.
        first: chrono::NaiveDate,
        /// Last day.
        last: chrono::NaiveDate,
    },
    /// A date lies in a year the calendar does not claim to cover.
    #[error("calendar {entry} has {date}, outside the covered years {years}; add the year")]
    CalendarOutsideYears {
        /// Which entry.
        entry: String,
        /// The offending date.
        date: chrono::NaiveDate,
        /// The covered years, comma separated.
        years: String,
    },
    /// A make-up working day that is not a Saturday or Sunday changes nothing, so it is a typo.
    #[error(
        "calendar {entry} is {date}, a {weekday}; make-up working days (调休) fall on \
         Saturdays or Sundays, check the date"
    )]
    MakeUpNotWeekend {
        /// Which entry.
        entry: String,
        /// The date.
        date: chrono::NaiveDate,
        /// Its weekday.
        weekday: chrono::Weekday,
    },
    /// A date is both a holiday and a make-up working day.
    #[error("{date} is both a holiday and a make-up working day in the calendar; keep one")]
    CalendarConflict {
        /// The date.
        date: chrono::NaiveDate,
    },
}
