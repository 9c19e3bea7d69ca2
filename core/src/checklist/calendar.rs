//! The working-day calendar: China's public holidays and make-up working days (调休).
//!
//! China moves working days around its public holidays every year: the State Council
//! publishes, each November, the next year's holidays and the Saturdays or Sundays that become
//! working days to make a holiday longer. No rule computes these dates (they follow the lunar
//! calendar and a yearly decision), so they are data: `core/data/calendar.json`.
//!
//! **Outside the covered years** the calendar falls back to Monday–Friday. The alternative,
//! refusing to compute a deadline, would leave an officer whose phone runs an old app in a new
//! year without any deadline at all; Monday–Friday is wrong only around holidays, by a few days
//! at most. [`WorkCalendar::covers`] says whether a year is known, so a caller can show that a
//! deadline is provisional, and since deadlines are derived (never stored), they become exact
//! once the app ships a calendar that covers the year.

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate, Weekday};
use serde::Deserialize;

use super::error::ChecklistError;

/// The shipped calendar file (2025 and 2026, as published by the State Council).
const DEMO_JSON: &str = include_str!("../../data/calendar.json");

/// One public holiday period, all days of which are days off (weekends included).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Holiday {
    /// Chinese name, e.g. 春节.
    pub name_zh: String,
    /// English name, e.g. Spring Festival.
    pub name_en: String,
    /// First day off.
    pub first: NaiveDate,
    /// Last day off (inclusive).
    pub last: NaiveDate,
}

/// Which days are working days, for the covered years by the official calendar, elsewhere
/// Monday to Friday.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct WorkCalendar {
    years: BTreeSet<i32>,
    holidays: Vec<Holiday>,
    days_off: BTreeSet<NaiveDate>,
    make_up_days: BTreeSet<NaiveDate>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCalendar {
    /// Free text: where the dates come from. Kept in the file for the people who update it.
    #[serde(default)]
    #[allow(dead_code)]
    source: Option<String>,
    years: Vec<i32>,
    holidays: Vec<RawHoliday>,
    make_up_working_days: Vec<RawMakeUp>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawHoliday {
    name_zh: String,
    name_en: String,
    first: String,
    last: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawMakeUp {
    date: String,
    /// The holiday this Saturday or Sunday is worked for, e.g. 春节.
    #[allow(dead_code)]
    #[serde(rename = "for")]
    for_holiday: String,
}

fn parse_date(entry: &str, field: &'static str, value: &str) -> Result<NaiveDate, ChecklistError> {
    NaiveDate::parse_from_str(value, "%Y-%m-%d").map_err(|_| ChecklistError::CalendarBadDate {
        entry: entry.to_owned(),
        field,
        value: value.to_owned(),
    })
}

impl WorkCalendar {
    /// A calendar that covers no year: every Monday–Friday is a working day.
    pub fn monday_to_friday() -> Self {
        Self::default()
    }

    /// Reads and checks a calendar file.
    ///
    /// Checked: every date is `YYYY-MM-DD` and lies in a listed year, holidays do not end
    /// before they start, make-up working days fall on a Saturday or Sunday (a weekday make-up
    /// day would change nothing, so it is a typo), and no day is both a holiday and a make-up
    /// working day.
    pub fn from_json(text: &str) -> Result<Self, ChecklistError> {
        let raw: RawCalendar = serde_json::from_str(text)
            .map_err(|source| ChecklistError::CalendarNotJson { source })?;
        if raw.years.is_empty() {
            return Err(ChecklistError::CalendarNoYears);
        }
        let years: BTreeSet<i32> = raw.years.iter().copied().collect();
        let years_text = || {
            years
                .iter()
                .map(i32::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        };
        let check_year = |entry: &str, date: NaiveDate| {
            if years.contains(&date.year()) {
                Ok(())
            } else {
                Err(ChecklistError::CalendarOutsideYears {
                    entry: entry.to_owned(),
                    date,
                    years: years_text(),
                })
            }
        };

        let mut holidays = Vec::with_capacity(raw.holidays.len());
        let mut days_off = BTreeSet::new();
        for (i, h) in raw.holidays.into_iter().enumerate() {
            let entry = format!("holiday #{} ({})", i + 1, h.name_zh);
            let first = parse_date(&entry, "first", &h.first)?;
            let last = parse_date(&entry, "last", &h.last)?;
            check_year(&entry, first)?;
            check_year(&entry, last)?;
            if last < first {
                return Err(ChecklistError::CalendarBackwards { entry, first, last });
            }
            days_off.extend(first.iter_days().take_while(|d| *d <= last));
            holidays.push(Holiday {
                name_zh: h.name_zh,
                name_en: h.name_en,
                first,
                last,
            });
        }

        let mut make_up_days = BTreeSet::new();
        for (i, m) in raw.make_up_working_days.iter().enumerate() {
            let entry = format!("make-up working day #{} (for {})", i + 1, m.for_holiday);
            let date = parse_date(&entry, "date", &m.date)?;
            check_year(&entry, date)?;
            let weekday = date.weekday();
            if !matches!(weekday, Weekday::Sat | Weekday::Sun) {
                return Err(ChecklistError::MakeUpNotWeekend {
                    entry,
                    date,
                    weekday,
                });
            }
            if days_off.contains(&date) {
                return Err(ChecklistError::CalendarConflict { date });
            }
            make_up_days.insert(date);
        }

        Ok(Self {
            years,
            holidays,
            days_off,
            make_up_days,
        })
    }

    /// The shipped calendar (`core/data/calendar.json`): 2025 and 2026.
    ///
    /// It is compiled in, so an error here is a bug in the shipped file; a test proves it
    /// loads. It is still a `Result` so that no code path can panic.
    pub fn demo() -> Result<Self, ChecklistError> {
        Self::from_json(DEMO_JSON)
    }

    /// Whether the calendar knows `year`'s holidays. When it does not, [`is_working_day`]
    /// answers Monday–Friday for that year (see the module docs for why).
    ///
    /// [`is_working_day`]: WorkCalendar::is_working_day
    pub fn covers(&self, year: i32) -> bool {
        self.years.contains(&year)
    }

    /// The covered years, in ascending order.
    pub fn years(&self) -> impl Iterator<Item = i32> + '_ {
        self.years.iter().copied()
    }

    /// The last covered year, if any.
    pub fn last_year(&self) -> Option<i32> {
        self.years.last().copied()
    }

    /// The holiday periods, in file order.
    pub fn holidays(&self) -> &[Holiday] {
        &self.holidays
    }

    /// The holiday `date` belongs to, if any.
    pub fn holiday_on(&self, date: NaiveDate) -> Option<&Holiday> {
        self.holidays
            .iter()
            .find(|h| h.first <= date && date <= h.last)
    }

    /// Whether `date` is a Saturday or Sunday worked to make up for a holiday.
    pub fn is_make_up_day(&self, date: NaiveDate) -> bool {
        self.make_up_days.contains(&date)
    }

    /// Whether `date` is a working day.
    ///
    /// In a covered year: a make-up working day is a working day, a holiday is not, and
    /// otherwise Monday–Friday. In any other year: Monday–Friday.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        if self.covers(date.year()) {
            if self.make_up_days.contains(&date) {
                return true;
            }
            if self.days_off.contains(&date) {
                return false;
            }
        }
        !matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }

    #[test]
    fn shipped_calendar_loads_and_covers_2025_and_2026() {
        let cal = WorkCalendar::demo().unwrap();
        assert_eq!(cal.years().collect::<Vec<_>>(), vec![2025, 2026]);
        assert!(cal.covers(2025) && cal.covers(2026));
        assert!(!cal.covers(2024) && !cal.covers(2027));
        assert_eq!(cal.holidays().len(), 13);
    }

    #[test]
    fn shipped_holidays_and_make_up_days_match_the_state_council() {
        let cal = WorkCalendar::demo().unwrap();
        let off = [
            // 2025
            d(2025, 1, 1),
            d(2025, 1, 28),
            d(2025, 2, 4),
            d(2025, 4, 4),
            d(2025, 5, 1),
            d(2025, 5, 5),
            d(2025, 6, 2),
            d(2025, 10, 1),
            d(2025, 10, 8),
            // 2026
            d(2026, 1, 1),
            d(2026, 1, 2),
            d(2026, 2, 16),
            d(2026, 2, 23),
            d(2026, 4, 6),
            d(2026, 5, 4),
            d(2026, 5, 5),
            d(2026, 6, 19),
            d(2026, 9, 25),
            d(2026, 10, 1),
            d(2026, 10, 7),
        ];
        for day in off {
            assert!(!cal.is_working_day(day), "{day} should be a day off");
            assert!(
                cal.holiday_on(day).is_some(),
                "{day} should be in a holiday"
            );
        }
        let make_up = [
            d(2025, 1, 26),
            d(2025, 2, 8),
            d(2025, 4, 27),
            d(2025, 9, 28),
            d(2025, 10, 11),
            d(2026, 1, 4),
            d(2026, 2, 14),
            d(2026, 2, 28),
            d(2026, 5, 9),
            d(2026, 9, 20),
            d(2026, 10, 10),
        ];
        for day in make_up {
            assert!(cal.is_make_up_day(day), "{day}");
            assert!(cal.is_working_day(day), "{day} is a make-up working day");
            assert!(matches!(day.weekday(), Weekday::Sat | Weekday::Sun));
        }
        // Ordinary days are unaffected.
        assert!(cal.is_working_day(d(2026, 3, 2))); // Monday
        assert!(!cal.is_working_day(d(2026, 3, 7))); // Saturday
        assert!(cal.is_working_day(d(2025, 2, 5))); // Wednesday after Spring Festival
        assert!(cal.is_working_day(d(2026, 10, 8))); // Thursday after National Day
        assert_eq!(
            cal.holiday_on(d(2026, 2, 18)).map(|h| h.name_en.as_str()),
            Some("Spring Festival")
        );
    }

    #[test]
    fn working_days_in_a_year_are_plausible() {
        // With 13 statutory days off, a year has about 250 working days.
        let cal = WorkCalendar::demo().unwrap();
        for year in [2025, 2026] {
            let n = d(year, 1, 1)
                .iter_days()
                .take_while(|day| day.year() == year)
                .filter(|day| cal.is_working_day(*day))
                .count();
            assert!((247..=252).contains(&n), "{year}: {n} working days");
        }
    }

    #[test]
    fn uncovered_years_fall_back_to_monday_to_friday() {
        let cal = WorkCalendar::demo().unwrap();
        assert!(cal.is_working_day(d(2027, 1, 1))); // a Friday; New Year's Day unknown
        assert!(!cal.is_working_day(d(2027, 1, 2))); // Saturday
        assert!(cal.is_working_day(d(2024, 10, 1))); // a Tuesday; 2024 is not covered
        let plain = WorkCalendar::monday_to_friday();
        assert!(!plain.covers(2026));
        assert!(plain.is_working_day(d(2026, 10, 1)));
        assert!(!plain.is_working_day(d(2026, 2, 14)));
    }

    fn calendar(holidays: &str, make_up: &str) -> Result<WorkCalendar, ChecklistError> {
        WorkCalendar::from_json(&format!(
            r#"{{"years":[2026],"holidays":[{holidays}],"make_up_working_days":[{make_up}]}}"#
        ))
    }

    const SPRING: &str = r#"{"name_zh":"春节","name_en":"Spring Festival","first":"2026-02-15","last":"2026-02-23"}"#;

    #[test]
    fn rejects_a_make_up_day_on_a_weekday() {
        let err = calendar(SPRING, r#"{"date":"2026-02-13","for":"春节"}"#).unwrap_err();
        assert!(
            matches!(
                err,
                ChecklistError::MakeUpNotWeekend {
                    weekday: Weekday::Fri,
                    ..
                }
            ),
            "{err:?}"
        );
        let msg = err.to_string();
        assert!(msg.contains("2026-02-13") && msg.contains("#1"), "{msg}");
    }

    #[test]
    fn rejects_bad_dates_years_order_and_conflicts() {
        let bad = r#"{"name_zh":"春节","name_en":"x","first":"2026-2-31","last":"2026-02-23"}"#;
        let err = calendar(bad, "").unwrap_err();
        assert!(matches!(
            err,
            ChecklistError::CalendarBadDate { field: "first", .. }
        ));
        assert!(err.to_string().contains("'2026-2-31'"));

        let outside =
            r#"{"name_zh":"元旦","name_en":"x","first":"2027-01-01","last":"2027-01-01"}"#;
        let err = calendar(outside, "").unwrap_err();
        assert!(
            matches!(err, ChecklistError::CalendarOutsideYears { .. }),
            "{err:?}"
        );
        assert!(err.to_string().contains("holiday #1 (元旦)"));

        let backwards =
            r#"{"name_zh":"春节","name_en":"x","first":"2026-02-23","last":"2026-02-15"}"#;
        let err = calendar(backwards, "").unwrap_err();
        assert!(matches!(err, ChecklistError::CalendarBackwards { .. }));

        let err = calendar(SPRING, r#"{"date":"2026-02-15","for":"春节"}"#).unwrap_err();
        assert!(matches!(err, ChecklistError::CalendarConflict { .. }));

        let err =
            WorkCalendar::from_json(r#"{"years":[],"holidays":[],"make_up_working_days":[]}"#)
                .unwrap_err();
        assert!(matches!(err, ChecklistError::CalendarNoYears));

        let err = WorkCalendar::from_json("[2026").unwrap_err();
        assert!(matches!(err, ChecklistError::CalendarNotJson { .. }));

        // A misspelt key is caught rather than silently ignored.
        let typo = r#"{"name_zh":"春节","name_en":"x","frist":"2026-02-15","last":"2026-02-23"}"#;
        assert!(matches!(
            calendar(typo, ""),
            Err(ChecklistError::CalendarNotJson { .. })
        ));
    }
}
