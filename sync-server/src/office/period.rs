//! Days and instants as the street reads them: China Standard Time (UTC+8, no daylight
//! saving), the time of every deadline, cut-off and report of the seed.
//!
//! Query parameters and CLI flags take milliseconds since the epoch, an ISO 8601 time
//! with its offset, a local time without offset or a day (both China time). A period
//! is half-open, `[from, to)`: a day `to` means "up to the end of that day".

use chrono::{
    DateTime, Duration, FixedOffset, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone,
};

/// China Standard Time.
pub fn china() -> FixedOffset {
    // 8 hours is within the range `east_opt` accepts; the fallback is never taken.
    FixedOffset::east_opt(8 * 3600).unwrap_or_else(|| chrono::Utc.fix())
}

/// The China-time day of an instant (ms).
pub fn day_of(ms: i64) -> NaiveDate {
    DateTime::from_timestamp_millis(ms)
        .map(|t| t.with_timezone(&china()).date_naive())
        .unwrap_or_default()
}

/// The instant (ms) a China-time day starts.
pub fn start_of(day: NaiveDate) -> i64 {
    at(day, NaiveTime::MIN)
}

/// The instant (ms) of a China-time wall-clock time on `day`.
pub fn at(day: NaiveDate, time: NaiveTime) -> i64 {
    china()
        .from_local_datetime(&day.and_time(time))
        .single()
        .map(|t| t.timestamp_millis())
        .unwrap_or_default()
}

/// An ISO 8601 rendering of an instant in China time, e.g. `2026-03-02T09:00:00+08:00`.
pub fn iso(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&china())
                .to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
        })
        .unwrap_or_default()
}

/// A time given by a person or a client, as it was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum When {
    /// An instant (ms).
    Instant(i64),
    /// A whole China-time day.
    Day(NaiveDate),
}

impl When {
    /// Parses milliseconds, an RFC 3339 time, a local China time (`2026-03-02T09:00[:00]`,
    /// `2026-03-02 09:00:00`) or a day (`2026-03-02`). The error says what is accepted.
    pub fn parse(text: &str) -> Result<When, String> {
        let text = text.trim();
        if let Ok(ms) = text.parse::<i64>() {
            return Ok(When::Instant(ms));
        }
        if let Ok(t) = DateTime::parse_from_rfc3339(text) {
            return Ok(When::Instant(t.timestamp_millis()));
        }
        if let Ok(day) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
            return Ok(When::Day(day));
        }
        let local = NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S")
            .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M"))
            .or_else(|_| NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S"))
            .ok()
            .and_then(|t| china().from_local_datetime(&t).single());
        match local {
            Some(t) => Ok(When::Instant(t.timestamp_millis())),
            None => Err(format!(
                "'{text}' is not a time: give milliseconds since the epoch, an ISO 8601 time \
                 such as 2026-03-02T09:00:00+08:00, or a day such as 2026-03-02 (China time)"
            )),
        }
    }

    /// The instant it starts.
    pub fn start(self) -> i64 {
        match self {
            When::Instant(ms) => ms,
            When::Day(day) => start_of(day),
        }
    }

    /// The instant it ends: a day ends where the next begins.
    pub fn end(self) -> i64 {
        match self {
            When::Instant(ms) => ms,
            When::Day(day) => start_of(day + Duration::days(1)),
        }
    }
}

/// A half-open period `[from_ms, to_ms)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Period {
    /// First instant in it (ms).
    pub from_ms: i64,
    /// First instant after it (ms).
    pub to_ms: i64,
}

impl Period {
    /// From optional `from` and `to` texts: a missing end is open (the beginning of time,
    /// or `now_ms`). A `to` before `from` is refused.
    pub fn parse(from: Option<&str>, to: Option<&str>, now_ms: i64) -> Result<Period, String> {
        let from_ms = match from {
            Some(t) => When::parse(t).map_err(|e| format!("from: {e}"))?.start(),
            None => i64::MIN,
        };
        let to_ms = match to {
            Some(t) => When::parse(t).map_err(|e| format!("to: {e}"))?.end(),
            None => now_ms.saturating_add(1),
        };
        if to_ms < from_ms {
            return Err("the period ends before it starts: swap `from` and `to`".into());
        }
        Ok(Period { from_ms, to_ms })
    }

    /// Whether `ms` falls in it.
    pub fn contains(&self, ms: i64) -> bool {
        self.from_ms <= ms && ms < self.to_ms
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn days_are_china_days_and_periods_include_the_whole_last_day() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
        // 2026-03-01T16:00Z is midnight in Shanghai.
        assert_eq!(start_of(d), 1_772_380_800_000);
        assert_eq!(day_of(start_of(d)), d);
        assert_eq!(day_of(start_of(d) - 1), d.pred_opt().unwrap());
        let p = Period::parse(Some("2026-03-02"), Some("2026-03-02"), 0).unwrap();
        assert_eq!(p.to_ms - p.from_ms, 86_400_000);
        assert_eq!(iso(start_of(d)), "2026-03-02T00:00:00+08:00");
        assert_eq!(
            When::parse("2026-03-02T09:00").unwrap(),
            When::parse("2026-03-02T09:00:00+08:00").unwrap()
        );
        assert!(Period::parse(Some("2026-03-03"), Some("2026-03-01"), 0).is_err());
        assert!(When::parse("yesterday").unwrap_err().contains("ISO 8601"));
    }
}
