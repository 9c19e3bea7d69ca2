//! How the console writes times, durations and places.

use chrono::DateTime;

use crate::office::period::china;

/// An instant as `2026-03-02 09:05`, China time.
pub fn when(ms: i64) -> String {
    DateTime::from_timestamp_millis(ms)
        .map(|t| {
            t.with_timezone(&china())
                .format("%Y-%m-%d %H:%M")
                .to_string()
        })
        .unwrap_or_default()
}

/// A duration as people say it: `2天3小时`, `1小时5分`, `12分`; negative with a minus.
pub fn span(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let minutes = ms.unsigned_abs() / 60_000;
    let (d, h, m) = (minutes / 1440, minutes % 1440 / 60, minutes % 60);
    if d > 0 {
        format!("{sign}{d}天{h}小时")
    } else if h > 0 {
        format!("{sign}{h}小时{m}分")
    } else {
        format!("{sign}{m}分")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_read_in_china_time() {
        // 2026-03-02 09:00 China time.
        assert_eq!(when(1_772_413_200_000), "2026-03-02 09:00");
        assert_eq!(span(65 * 60_000), "1小时5分");
        assert_eq!(span(-12 * 60_000), "-12分");
        assert_eq!(span(3 * 86_400_000 + 2 * 3_600_000), "3天2小时");
    }
}
