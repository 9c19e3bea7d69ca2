//! Time limits of checklist items (限时办结) and how a deadline is computed from them.
//!
//! In the data file a limit is a compact string: `15m` (minutes), `2h` (hours), `7d` (calendar
//! days) or `5wd` (working days). The first three are elapsed time; working days follow the
//! official calendar of holidays and make-up working days ([`WorkCalendar`]).

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Datelike, Days, NaiveDate, NaiveTime};
use serde::{Deserialize, Serialize};

use super::calendar::WorkCalendar;
use super::error::TimeLimitError;

const MINUTE_MS: i64 = 60_000;
const HOUR_MS: i64 = 60 * MINUTE_MS;
const DAY_MS: i64 = 24 * HOUR_MS;
/// China Standard Time is UTC+08:00 all year (no daylight saving time).
const CST_OFFSET_MS: i64 = 8 * HOUR_MS;

/// The longest limit accepted in a checklist: one (leap) year, or 250 working days (China has
/// about 250 working days a year). A rule book never gives a year to respond, so anything
/// longer is a typo such as `7000d` for `7d`.
const MAX_DAYS: u32 = 366;
const MAX_WORKING_DAYS: u32 = 250;

/// How long a responsible unit has to respond to or to resolve a case.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum TimeLimit {
    /// Elapsed minutes (`15m`).
    Minutes(u32),
    /// Elapsed hours (`2h`).
    Hours(u32),
    /// Calendar days of elapsed time, 24 hours each (`7d`).
    CalendarDays(u32),
    /// Working days by the official calendar, ending at midnight China Standard Time (`5wd`).
    WorkingDays(u32),
}

impl TimeLimit {
    /// The number in the limit, whatever its unit.
    pub fn count(&self) -> u32 {
        match *self {
            TimeLimit::Minutes(n)
            | TimeLimit::Hours(n)
            | TimeLimit::CalendarDays(n)
            | TimeLimit::WorkingDays(n) => n,
        }
    }

    /// The length in minutes used to compare limits of different units.
    ///
    /// A working day counts as one calendar day: the real span of `Nwd` is always longer than
    /// N×24 hours (the start day does not count, and weekends and holidays add more), so this
    /// is a lower bound. Used to check that a resolution limit is not shorter than its
    /// response limit.
    pub fn nominal_minutes(&self) -> u64 {
        let n = u64::from(self.count());
        match self {
            TimeLimit::Minutes(_) => n,
            TimeLimit::Hours(_) => n * 60,
            TimeLimit::CalendarDays(_) | TimeLimit::WorkingDays(_) => n * 24 * 60,
        }
    }

    /// The largest limit a checklist accepts in this limit's unit (one year; 250 working
    /// days). Longer limits are rejected as typos when a checklist is loaded.
    pub fn max_in_unit(&self) -> TimeLimit {
        match self {
            TimeLimit::Minutes(_) => TimeLimit::Minutes(MAX_DAYS * 24 * 60),
            TimeLimit::Hours(_) => TimeLimit::Hours(MAX_DAYS * 24),
            TimeLimit::CalendarDays(_) => TimeLimit::CalendarDays(MAX_DAYS),
            TimeLimit::WorkingDays(_) => TimeLimit::WorkingDays(MAX_WORKING_DAYS),
        }
    }

    /// When a case started at `start_ms` (ms since the Unix epoch, UTC) is due.
    ///
    /// The rule:
    /// - `Minutes`, `Hours`, `CalendarDays`: elapsed time is added to the start (a calendar
    ///   day is 24 hours; China has no daylight saving time, so this is also the same clock
    ///   time N days later).
    /// - `WorkingDays(n)`: the deadline is the end (24:00 China Standard Time) of the n-th
    ///   working day *after* the start day. The start day never counts, whatever the hour and
    ///   whether or not it is a working day: a case reported at 08:00 and one reported at
    ///   23:59 the same day get the same deadline, which is how offices count "within 5
    ///   working days" and what a person can check on a wall calendar. `WorkingDays(0)` is
    ///   the end of the start day. Working days come from `calendar` (holidays and make-up
    ///   working days), which falls back to Monday–Friday outside the years it covers.
    ///
    /// Results that would overflow saturate at `i64::MAX` (never due).
    pub fn deadline(&self, start_ms: i64, calendar: &WorkCalendar) -> i64 {
        let n = i64::from(self.count());
        match self {
            TimeLimit::Minutes(_) => start_ms.saturating_add(n * MINUTE_MS),
            TimeLimit::Hours(_) => start_ms.saturating_add(n * HOUR_MS),
            TimeLimit::CalendarDays(_) => start_ms.saturating_add(n * DAY_MS),
            TimeLimit::WorkingDays(count) => working_day_deadline(start_ms, *count, calendar),
        }
    }
}

/// The local (China Standard Time) calendar date of a UTC millisecond timestamp.
fn cst_date(ms: i64) -> Option<NaiveDate> {
    let local = ms.checked_add(CST_OFFSET_MS)?;
    DateTime::from_timestamp_millis(local).map(|dt| dt.date_naive())
}

/// The UTC millisecond timestamp of 00:00 China Standard Time on `date`.
fn cst_midnight_ms(date: NaiveDate) -> i64 {
    date.and_time(NaiveTime::MIN).and_utc().timestamp_millis() - CST_OFFSET_MS
}

fn working_day_deadline(start_ms: i64, count: u32, calendar: &WorkCalendar) -> i64 {
    let Some(mut day) = cst_date(start_ms) else {
        // Outside chrono's date range (hundreds of thousands of years away): no calendar
        // applies, count plain days.
        return start_ms.saturating_add(i64::from(count) * DAY_MS);
    };
    let mut remaining = count;
    while remaining > 0 {
        // Past the last covered year every week has exactly five working days (the fallback),
        // so whole weeks are skipped at once instead of walking day by day: this keeps an
        // absurd `u32::MAX` working days from looping for billions of steps.
        if remaining > 5 && calendar.last_year().is_none_or(|last| day.year() > last) {
            let weeks = (remaining - 1) / 5;
            match day.checked_add_days(Days::new(u64::from(weeks) * 7)) {
                Some(d) => day = d,
                None => return i64::MAX,
            }
            remaining -= weeks * 5;
            continue;
        }
        match day.succ_opt() {
            Some(d) => day = d,
            None => return i64::MAX,
        }
        if calendar.is_working_day(day) {
            remaining -= 1;
        }
    }
    match day.succ_opt() {
        Some(end) => cst_midnight_ms(end),
        None => i64::MAX,
    }
}

impl fmt::Display for TimeLimit {
    /// Writes the compact form used in data files: `15m`, `2h`, `7d`, `5wd`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            TimeLimit::Minutes(n) => write!(f, "{n}m"),
            TimeLimit::Hours(n) => write!(f, "{n}h"),
            TimeLimit::CalendarDays(n) => write!(f, "{n}d"),
            TimeLimit::WorkingDays(n) => write!(f, "{n}wd"),
        }
    }
}

impl FromStr for TimeLimit {
    type Err = TimeLimitError;

    /// Reads `15m`, `2h`, `7d` or `5wd`: ASCII digits, then the unit, nothing else (no
    /// spaces, signs or capitals), so that every limit in a file is written the same way.
    /// Zero is read here; a checklist rejects it when it validates the item.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let not_a_limit = || TimeLimitError::NotALimit {
            value: s.to_owned(),
        };
        let digits_end = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
        let (digits, unit) = s.split_at(digits_end);
        if digits.is_empty() {
            return Err(not_a_limit());
        }
        let constructor: fn(u32) -> TimeLimit = match unit {
            "m" => TimeLimit::Minutes,
            "h" => TimeLimit::Hours,
            "d" => TimeLimit::CalendarDays,
            "wd" => TimeLimit::WorkingDays,
            _ => return Err(not_a_limit()),
        };
        let n: u32 = digits.parse().map_err(|_| TimeLimitError::TooLarge {
            value: s.to_owned(),
        })?;
        Ok(constructor(n))
    }
}

impl TryFrom<String> for TimeLimit {
    type Error = TimeLimitError;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<TimeLimit> for String {
    fn from(limit: TimeLimit) -> Self {
        limit.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{NaiveDateTime, TimeZone};

    /// Milliseconds of a China Standard Time wall-clock moment.
    fn cst(s: &str) -> i64 {
        let ndt = NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M").unwrap();
        chrono::FixedOffset::east_opt(8 * 3600)
            .unwrap()
            .from_local_datetime(&ndt)
            .unwrap()
            .timestamp_millis()
    }

    fn shipped() -> WorkCalendar {
        WorkCalendar::demo().unwrap()
    }

    #[test]
    fn parses_and_prints_every_unit() {
        for (text, limit) in [
            ("15m", TimeLimit::Minutes(15)),
            ("2h", TimeLimit::Hours(2)),
            ("7d", TimeLimit::CalendarDays(7)),
            ("5wd", TimeLimit::WorkingDays(5)),
            ("0m", TimeLimit::Minutes(0)),
        ] {
            assert_eq!(text.parse::<TimeLimit>().unwrap(), limit);
            assert_eq!(limit.to_string(), text);
        }
    }

    #[test]
    fn rejects_malformed_limits_with_the_text_in_the_message() {
        for bad in [
            "7x", "", "m", "wd", "7", "7 d", " 7d", "7D", "-5m", "+5m", "5dw", "1.5h", "7dd",
        ] {
            let err = bad.parse::<TimeLimit>().unwrap_err();
            assert_eq!(
                err,
                TimeLimitError::NotALimit {
                    value: bad.to_owned()
                },
                "{bad:?}"
            );
            assert!(err.to_string().contains(&format!("'{bad}'")));
            assert!(err.to_string().contains("15m, 2h, 7d or 5wd"));
        }
        assert!(matches!(
            "99999999999m".parse::<TimeLimit>(),
            Err(TimeLimitError::TooLarge { .. })
        ));
    }

    #[test]
    fn serde_uses_the_compact_string() {
        let json = serde_json::to_string(&TimeLimit::WorkingDays(10)).unwrap();
        assert_eq!(json, "\"10wd\"");
        let back: TimeLimit = serde_json::from_str(&json).unwrap();
        assert_eq!(back, TimeLimit::WorkingDays(10));
        let err = serde_json::from_str::<TimeLimit>("\"7x\"").unwrap_err();
        assert!(
            err.to_string().contains("'7x' is not a time limit"),
            "{err}"
        );
    }

    #[test]
    fn nominal_minutes_orders_units() {
        assert_eq!(TimeLimit::Minutes(45).nominal_minutes(), 45);
        assert_eq!(TimeLimit::Hours(2).nominal_minutes(), 120);
        assert_eq!(TimeLimit::CalendarDays(7).nominal_minutes(), 7 * 1440);
        assert_eq!(TimeLimit::WorkingDays(5).nominal_minutes(), 5 * 1440);
    }

    #[test]
    fn elapsed_limits_add_elapsed_time() {
        let cal = shipped();
        let start = cst("2026-03-02 09:10");
        assert_eq!(
            TimeLimit::Minutes(15).deadline(start, &cal),
            cst("2026-03-02 09:25")
        );
        assert_eq!(
            TimeLimit::Minutes(45).deadline(start, &cal),
            cst("2026-03-02 09:55")
        );
        assert_eq!(
            TimeLimit::Hours(2).deadline(start, &cal),
            cst("2026-03-02 11:10")
        );
        // Calendar days ignore weekends and holidays: 7d from the eve of the Spring Festival.
        assert_eq!(
            TimeLimit::CalendarDays(7).deadline(cst("2026-02-14 10:00"), &cal),
            cst("2026-02-21 10:00")
        );
    }

    #[test]
    fn working_days_skip_a_weekend() {
        let cal = shipped();
        // Thursday 2026-03-05 → Fri 6 (1), Mon 9 (2), Tue 10 (3): end of Tuesday.
        let start = cst("2026-03-05 14:00");
        assert_eq!(
            TimeLimit::WorkingDays(1).deadline(start, &cal),
            cst("2026-03-07 00:00")
        );
        assert_eq!(
            TimeLimit::WorkingDays(3).deadline(start, &cal),
            cst("2026-03-11 00:00")
        );
        // Started on a Saturday: the start day does not count; Mon 9 is the first.
        assert_eq!(
            TimeLimit::WorkingDays(1).deadline(cst("2026-03-07 10:00"), &cal),
            cst("2026-03-10 00:00")
        );
        // WorkingDays(0) is the end of the start day.
        assert_eq!(
            TimeLimit::WorkingDays(0).deadline(start, &cal),
            cst("2026-03-06 00:00")
        );
    }

    #[test]
    fn working_days_across_spring_festival_2026() {
        let cal = shipped();
        // Fri 2026-02-13. Sat 14 is a make-up working day (1). Sun 15 – Mon 23 holiday.
        // Tue 24 (2), Wed 25 (3), Thu 26 (4), Fri 27 (5), Sat 28 make-up (6), Mon 3/2 (7).
        let start = cst("2026-02-13 16:30");
        assert_eq!(
            TimeLimit::WorkingDays(1).deadline(start, &cal),
            cst("2026-02-15 00:00")
        );
        assert_eq!(
            TimeLimit::WorkingDays(2).deadline(start, &cal),
            cst("2026-02-25 00:00")
        );
        assert_eq!(
            TimeLimit::WorkingDays(5).deadline(start, &cal),
            cst("2026-02-28 00:00")
        );
        assert_eq!(
            TimeLimit::WorkingDays(6).deadline(start, &cal),
            cst("2026-03-01 00:00")
        );
        assert_eq!(
            TimeLimit::WorkingDays(7).deadline(start, &cal),
            cst("2026-03-03 00:00")
        );
    }

    #[test]
    fn working_days_across_national_day_2026() {
        let cal = shipped();
        // Fri 2026-09-18. Sun 20 make-up (1), Mon 21 (2) … Thu 24 (5); 25–27 Mid-Autumn;
        // Mon 28 (6), Tue 29 (7), Wed 30 (8); Oct 1–7 National Day; Thu 8 (9), Fri 9 (10),
        // Sat 10 make-up (11), Mon 12 (12).
        let start = cst("2026-09-18 09:00");
        assert_eq!(
            TimeLimit::WorkingDays(1).deadline(start, &cal),
            cst("2026-09-21 00:00")
        );
        assert_eq!(
            TimeLimit::WorkingDays(8).deadline(start, &cal),
            cst("2026-10-01 00:00")
        );
        assert_eq!(
            TimeLimit::WorkingDays(9).deadline(start, &cal),
            cst("2026-10-09 00:00")
        );
        assert_eq!(
            TimeLimit::WorkingDays(11).deadline(start, &cal),
            cst("2026-10-11 00:00")
        );
        assert_eq!(
            TimeLimit::WorkingDays(12).deadline(start, &cal),
            cst("2026-10-13 00:00")
        );
        // Reported on the holiday itself.
        assert_eq!(
            TimeLimit::WorkingDays(1).deadline(cst("2026-10-03 12:00"), &cal),
            cst("2026-10-09 00:00")
        );
    }

    #[test]
    fn start_at_23_59_local_is_still_that_day() {
        let cal = shipped();
        // 23:59 CST on Monday 2026-03-02 is 15:59 UTC the same day; 00:01 CST on Tuesday is
        // 16:01 UTC on Monday. A UTC date would put both on Monday; CST must not.
        let late = cst("2026-03-02 23:59");
        let early_next = cst("2026-03-03 00:01");
        assert_eq!(
            TimeLimit::WorkingDays(1).deadline(late, &cal),
            cst("2026-03-04 00:00")
        );
        assert_eq!(
            TimeLimit::WorkingDays(1).deadline(early_next, &cal),
            cst("2026-03-05 00:00")
        );
        // Same day at 08:00: same deadline as at 23:59.
        assert_eq!(
            TimeLimit::WorkingDays(1).deadline(cst("2026-03-02 08:00"), &cal),
            cst("2026-03-04 00:00")
        );
        // 23:59 on Friday before National Day 2025's make-up Saturday 10/11.
        assert_eq!(
            TimeLimit::WorkingDays(1).deadline(cst("2025-10-10 23:59"), &cal),
            cst("2025-10-12 00:00")
        );
    }

    #[test]
    fn outside_covered_years_falls_back_to_monday_to_friday() {
        let cal = shipped();
        assert!(!cal.covers(2027));
        // 2027-01-01 is a Friday and will be New Year's Day, but the calendar does not know
        // 2027, so it counts as a working day: Thu 2026-12-31 + 1wd = end of Fri 2027-01-01.
        assert_eq!(
            TimeLimit::WorkingDays(1).deadline(cst("2026-12-31 10:00"), &cal),
            cst("2027-01-02 00:00")
        );
        // Wed 2030-05-01 (Labour Day in reality) + 5wd: Thu 2, Fri 3, Mon 6, Tue 7, Wed 8.
        assert_eq!(
            TimeLimit::WorkingDays(5).deadline(cst("2030-05-01 10:00"), &cal),
            cst("2030-05-09 00:00")
        );
        // The week-skipping shortcut agrees with walking day by day.
        for n in [6, 10, 11, 23, 250] {
            let start = cst("2031-06-04 10:00");
            let mut day = NaiveDate::from_ymd_opt(2031, 6, 4).unwrap();
            let mut left = n;
            while left > 0 {
                day = day.succ_opt().unwrap();
                if cal.is_working_day(day) {
                    left -= 1;
                }
            }
            let expected = cst_midnight_ms(day.succ_opt().unwrap());
            assert_eq!(TimeLimit::WorkingDays(n).deadline(start, &cal), expected);
        }
        // Absurd counts neither hang nor panic.
        assert_eq!(
            TimeLimit::WorkingDays(u32::MAX).deadline(cst("2026-01-05 10:00"), &cal),
            i64::MAX
        );
        assert_eq!(
            TimeLimit::Minutes(u32::MAX).deadline(i64::MAX - 5, &cal),
            i64::MAX
        );
    }
}
