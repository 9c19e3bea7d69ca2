//! What the original file says about itself: its size, orientation, capture time and GPS
//! position, read with `kamadak-exif` before the pixels are decoded and the metadata discarded.

use std::io::Cursor;

use chrono::{FixedOffset, NaiveDateTime};
use exif::{Exif, In, Tag, Value};
use serde::{Deserialize, Serialize};

use super::PhotoFormat;
use crate::model::PhotoCapture;

/// Facts about the original photo, kept with the photo's record after its metadata is stripped.
///
/// They are evidence, not trusted truth: EXIF can be edited, and a gallery photo may be old.
/// [`check_evidence`](super::check_evidence) compares them with the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OriginalMetadata {
    /// Format of the original file.
    pub format: PhotoFormat,
    /// Pixel width as encoded in the file, before the EXIF orientation is applied.
    pub width: u32,
    /// Pixel height as encoded in the file, before the EXIF orientation is applied.
    pub height: u32,
    /// EXIF orientation, 1..=8 (1 = upright; also 1 when absent or invalid).
    pub orientation: u16,
    /// Capture time (EXIF `DateTimeOriginal`, with `SubSecTimeOriginal` and
    /// `OffsetTimeOriginal` when present), in ms since the Unix epoch. A time without an offset
    /// is read as China Standard Time (UTC+08:00), the phones' local time.
    pub taken_at_ms: Option<i64>,
    /// GPS position of the capture, `(latitude, longitude)` in decimal degrees (WGS-84 as the
    /// camera wrote it; south and west negative).
    pub gps: Option<(f64, f64)>,
}

impl OriginalMetadata {
    /// The capture time and position, the part of the metadata that travels with the photo's
    /// reference in the case document.
    pub fn capture(&self) -> PhotoCapture {
        PhotoCapture {
            taken_at_ms: self.taken_at_ms,
            gps: self.gps,
        }
    }
}

/// The EXIF facts the pipeline uses; the pixel size comes from the decoder's header.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub(crate) struct ExifFacts {
    pub orientation: u16,
    pub taken_at_ms: Option<i64>,
    pub gps: Option<(f64, f64)>,
}

/// China Standard Time: the offset assumed for an EXIF time that carries none.
const CST_SECONDS: i32 = 8 * 3600;

/// Reads orientation, capture time and position. Missing or malformed EXIF is not an error:
/// the photo is still valid evidence, it just lacks these facts (which the evidence flags say).
pub(crate) fn read_exif(bytes: &[u8]) -> ExifFacts {
    let mut reader = exif::Reader::new();
    // Keep the fields that parsed even when another one is broken (common in edited files).
    reader.continue_on_error(true);
    let exif = match reader.read_from_container(&mut Cursor::new(bytes)) {
        Ok(exif) => exif,
        Err(e) => match e.distill_partial_result(|_errors| {}) {
            Ok(partial) => partial,
            Err(_) => return ExifFacts::default_upright(),
        },
    };
    ExifFacts {
        orientation: orientation(&exif),
        taken_at_ms: taken_at_ms(&exif),
        gps: gps(&exif),
    }
}

impl ExifFacts {
    fn default_upright() -> Self {
        Self {
            orientation: 1,
            ..Self::default()
        }
    }
}

fn orientation(exif: &Exif) -> u16 {
    exif.get_field(Tag::Orientation, In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .and_then(|o| u16::try_from(o).ok())
        .filter(|o| (1..=8).contains(o))
        .unwrap_or(1)
}

/// The first string of an ASCII field, trimmed of NULs and spaces.
fn ascii(exif: &Exif, tag: Tag) -> Option<String> {
    match &exif.get_field(tag, In::PRIMARY)?.value {
        Value::Ascii(parts) => {
            let s = String::from_utf8_lossy(parts.first()?);
            let s = s.trim_matches(|c: char| c == '\0' || c.is_whitespace());
            (!s.is_empty()).then(|| s.to_owned())
        }
        _ => None,
    }
}

fn taken_at_ms(exif: &Exif) -> Option<i64> {
    let local = ascii(exif, Tag::DateTimeOriginal)?;
    let sub_sec = ascii(exif, Tag::SubSecTimeOriginal);
    let offset = ascii(exif, Tag::OffsetTimeOriginal);
    exif_time_to_ms(&local, sub_sec.as_deref(), offset.as_deref())
}

/// Converts EXIF `"YYYY:MM:DD HH:MM:SS"` local time, optional sub-second digits and optional
/// `"+HH:MM"` offset to ms since the epoch. Blank or impossible dates give `None`.
pub(crate) fn exif_time_to_ms(
    local: &str,
    sub_sec: Option<&str>,
    offset: Option<&str>,
) -> Option<i64> {
    let naive = NaiveDateTime::parse_from_str(local, "%Y:%m:%d %H:%M:%S").ok()?;
    let offset_seconds = match offset {
        Some(o) => parse_offset(o)?,
        None => CST_SECONDS,
    };
    let tz = FixedOffset::east_opt(offset_seconds)?;
    let utc_ms = naive.and_local_timezone(tz).single()?.timestamp_millis();
    // SubSecTime digits are a decimal fraction: "5" is 500 ms, "123456" is 123 ms.
    let millis = sub_sec
        .map(|d| d.trim())
        .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
        .map(|d| format!("{d:0<3}")[..3].parse::<i64>().unwrap_or(0))
        .unwrap_or(0);
    Some(utc_ms + millis)
}

/// Parses `"+08:00"`, `"-05:30"` or `"Z"` into seconds east of UTC.
fn parse_offset(s: &str) -> Option<i32> {
    if s == "Z" {
        return Some(0);
    }
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    let (h, m): (i32, i32) = (h.parse().ok()?, m.parse().ok()?);
    if !(0..=14).contains(&h) || !(0..60).contains(&m) {
        return None;
    }
    Some(sign * (h * 3600 + m * 60))
}

fn gps(exif: &Exif) -> Option<(f64, f64)> {
    let lat = coordinate(exif, Tag::GPSLatitude, Tag::GPSLatitudeRef, b'S')?;
    let lon = coordinate(exif, Tag::GPSLongitude, Tag::GPSLongitudeRef, b'W')?;
    // (0, 0) is what some cameras write when they have no fix; no grid lies in the Gulf of Guinea.
    if !(-90.0..=90.0).contains(&lat)
        || !(-180.0..=180.0).contains(&lon)
        || (lat == 0.0 && lon == 0.0)
    {
        return None;
    }
    Some((lat, lon))
}

/// Degrees/minutes/seconds rationals plus a hemisphere reference, as signed decimal degrees.
fn coordinate(exif: &Exif, value_tag: Tag, ref_tag: Tag, negative_ref: u8) -> Option<f64> {
    let Value::Rational(dms) = &exif.get_field(value_tag, In::PRIMARY)?.value else {
        return None;
    };
    let mut degrees = 0.0;
    for (part, scale) in dms.iter().zip([1.0, 60.0, 3600.0]) {
        if part.denom == 0 {
            return None;
        }
        degrees += part.to_f64() / scale;
    }
    if dms.is_empty() || !degrees.is_finite() {
        return None;
    }
    let hemisphere = ascii(exif, ref_tag)?;
    Some(if hemisphere.as_bytes().first() == Some(&negative_ref) {
        -degrees
    } else {
        degrees
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::photo::test_images::{self, ExifSpec};

    #[test]
    fn reads_orientation_time_offset_and_gps() {
        let spec = ExifSpec {
            orientation: Some(6),
            taken: Some("2024:05:01 14:03:22"),
            sub_sec: Some("25"),
            offset: Some("+02:00"),
            gps: Some((31.1882, 121.4378)),
        };
        let bytes = test_images::with_exif(
            &test_images::jpeg(&test_images::quadrants(16, 16), 90),
            &spec,
        );
        let facts = read_exif(&bytes);
        assert_eq!(facts.orientation, 6);
        // 2024-05-01T12:03:22.250Z
        assert_eq!(facts.taken_at_ms, Some(1_714_565_002_250));
        let (lat, lon) = facts.gps.unwrap();
        assert!(
            (lat - 31.1882).abs() < 1e-6 && (lon - 121.4378).abs() < 1e-6,
            "{lat},{lon}"
        );
    }

    #[test]
    fn time_without_offset_is_china_standard_time() {
        // 2024-05-01 14:03:22 at +08:00 = 06:03:22Z
        assert_eq!(
            exif_time_to_ms("2024:05:01 14:03:22", None, None),
            Some(1_714_543_402_000)
        );
        assert_eq!(
            exif_time_to_ms("2024:05:01 14:03:22", Some("5"), Some("Z")),
            Some(1_714_572_202_500)
        );
        assert_eq!(exif_time_to_ms("    :  :     :  :  ", None, None), None);
        assert_eq!(exif_time_to_ms("2024:02:30 10:00:00", None, None), None);
        assert_eq!(
            exif_time_to_ms("2024:05:01 14:03:22", None, Some("+25:00")),
            None
        );
    }

    #[test]
    fn southern_and_western_hemispheres_are_negative() {
        let spec = ExifSpec {
            gps: Some((-33.8568, -151.2153)),
            ..ExifSpec::default()
        };
        let bytes = test_images::with_exif(
            &test_images::jpeg(&test_images::quadrants(16, 16), 90),
            &spec,
        );
        let (lat, lon) = read_exif(&bytes).gps.unwrap();
        assert!((lat + 33.8568).abs() < 1e-6 && (lon + 151.2153).abs() < 1e-6);
    }

    #[test]
    fn no_exif_means_upright_and_unknown() {
        let bytes = test_images::jpeg(&test_images::quadrants(16, 16), 90);
        assert_eq!(
            read_exif(&bytes),
            ExifFacts {
                orientation: 1,
                taken_at_ms: None,
                gps: None
            }
        );
        // Garbage in the APP1 segment is tolerated the same way.
        let mut broken = bytes.clone();
        let app1 = [
            0xFF, 0xE1, 0x00, 0x0C, b'E', b'x', b'i', b'f', 0, 0, b'M', b'M', 0, 0x2A,
        ];
        broken.splice(2..2, app1);
        assert_eq!(read_exif(&broken).orientation, 1);
    }
}
