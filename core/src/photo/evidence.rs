//! Evidence integrity: does the photo's own capture time and place match the report?
//!
//! A photo chosen from the gallery may be days old or taken elsewhere; the flags let a supervisor
//! see evidence that may not be what it claims. They are warnings, never a refusal: an officer
//! without GPS in a basement still files the case.

use serde::{Deserialize, Serialize};

use crate::case::CaseRecord;
use crate::model::{PhotoCapture, PhotoRef};

/// Thresholds of [`check_evidence`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct EvidencePolicy {
    /// A photo taken more than this long before the report is flagged (default 24 h).
    pub max_age_ms: i64,
    /// A photo taken farther than this from the report's GPS fix is flagged (default 300 m).
    pub max_distance_m: f64,
    /// A photo dated later than the report by more than this is flagged (default 10 min).
    ///
    /// Not zero, because the camera's clock, the phone's clock and the time zone assumed for an
    /// EXIF time without offset can disagree by minutes without anyone cheating.
    pub max_clock_skew_ms: i64,
}

impl Default for EvidencePolicy {
    fn default() -> Self {
        Self {
            max_age_ms: 24 * 3600 * 1000,
            max_distance_m: 300.0,
            max_clock_skew_ms: 10 * 60 * 1000,
        }
    }
}

/// Something about a photo that a supervisor should look at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum EvidenceFlag {
    /// The photo was taken more than `max_age_ms` before the report.
    TakenLongBefore {
        /// Whole hours between capture and report.
        hours: i64,
    },
    /// The photo is dated after the report (beyond the clock-skew allowance).
    TakenAfterReport,
    /// The photo was taken more than `max_distance_m` from the report's position.
    FarFromReport {
        /// Distance between the photo's and the report's positions, rounded to metres. Signed
        /// (never negative) so that Kotlin and Swift read it as `Int`/`Int32`, not an unsigned
        /// type; half the Earth's circumference is 20,000 km, far inside `i32`.
        metres: i32,
    },
    /// The photo carries no capture time (stripped, edited, or a screenshot).
    NoCaptureTime,
    /// The photo carries no GPS position (location off in the camera, or stripped).
    NoPosition,
}

/// Compares the photo's own capture time and position with the report it is attached to.
///
/// `report_time_ms` is the event's time (ms since the epoch); `report_lat`/`report_lon` its GPS
/// fix in WGS-84 decimal degrees. When the report itself has no valid fix (NaN or out of range)
/// the distance cannot be judged and no distance flag is raised. An empty result means nothing
/// to flag.
pub fn check_evidence(
    capture: &PhotoCapture,
    report_time_ms: i64,
    report_lat: f64,
    report_lon: f64,
    policy: &EvidencePolicy,
) -> Vec<EvidenceFlag> {
    let mut flags = Vec::new();
    match capture.taken_at_ms {
        None => flags.push(EvidenceFlag::NoCaptureTime),
        Some(taken) => {
            let age = report_time_ms.saturating_sub(taken);
            if age > policy.max_age_ms {
                flags.push(EvidenceFlag::TakenLongBefore {
                    hours: age / 3_600_000,
                });
            } else if -age > policy.max_clock_skew_ms {
                flags.push(EvidenceFlag::TakenAfterReport);
            }
        }
    }
    match capture.gps {
        None => flags.push(EvidenceFlag::NoPosition),
        Some((lat, lon)) => {
            if valid_position(report_lat, report_lon) {
                let metres = distance_m(lat, lon, report_lat, report_lon);
                if metres > policy.max_distance_m {
                    flags.push(EvidenceFlag::FarFromReport {
                        // Saturates at i32::MAX, far beyond any distance on Earth.
                        metres: metres.round() as i32,
                    });
                }
            }
        }
    }
    flags
}

/// The evidence flags of one photo attached to a case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PhotoEvidence {
    /// The photo's reference, as the case document holds it.
    pub photo: PhotoRef,
    /// Time of the report or event the photo is attached to (ms since the epoch).
    pub attached_at_ms: i64,
    /// What a supervisor should look at; empty when nothing is suspicious.
    pub flags: Vec<EvidenceFlag>,
}

/// Evidence flags of every photo of a case, each photo once (where it was first attached):
/// its capture facts ([`PhotoRef::capture`]) against the time of the report or event that
/// attaches it and the case's GPS fix. Pure: works the same on a phone and on the server,
/// whichever device took the photo.
pub fn case_photo_evidence(record: &CaseRecord, policy: &EvidencePolicy) -> Vec<PhotoEvidence> {
    let (lat, lon) = record
        .header
        .gps
        .map_or((f64::NAN, f64::NAN), |g| (g.lat, g.lon));
    record
        .photos_attached()
        .into_iter()
        .map(|(photo, attached_at_ms)| PhotoEvidence {
            flags: check_evidence(&photo.capture, attached_at_ms, lat, lon, policy),
            photo: photo.clone(),
            attached_at_ms,
        })
        .collect()
}

fn valid_position(lat: f64, lon: f64) -> bool {
    (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)
}

/// Great-circle distance in metres (haversine on the mean Earth radius; well under 0.5% off the
/// ellipsoid, far finer than a 300 m threshold needs).
pub fn distance_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    const EARTH_RADIUS_M: f64 = 6_371_008.8;
    let (phi1, phi2) = (lat1.to_radians(), lat2.to_radians());
    let d_phi = (lat2 - lat1).to_radians();
    let d_lambda = (lon2 - lon1).to_radians();
    let a = (d_phi / 2.0).sin().powi(2) + phi1.cos() * phi2.cos() * (d_lambda / 2.0).sin().powi(2);
    2.0 * EARTH_RADIUS_M * a.sqrt().min(1.0).asin()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::photo::{PhotoOptions, prepare, test_images};

    /// Xietu Road street office, Xuhui, Shanghai (approximately).
    const XIETU: (f64, f64) = (31.1937, 121.4527);
    const REPORT_MS: i64 = 1_714_543_402_000; // 2024-05-01 14:03:22 +08:00
    const HOUR_MS: i64 = 3_600_000;

    fn original(taken_at_ms: Option<i64>, gps: Option<(f64, f64)>) -> PhotoCapture {
        PhotoCapture { taken_at_ms, gps }
    }

    /// A point `metres` due north of `from`.
    fn north_of(from: (f64, f64), metres: f64) -> (f64, f64) {
        (from.0 + metres / 111_195.0, from.1)
    }

    #[test]
    fn distance_is_right_on_a_known_pair() {
        // One degree of latitude is 111.195 km on the mean sphere.
        let d = distance_m(31.0, 121.0, 32.0, 121.0);
        assert!((d - 111_195.0).abs() < 5.0, "{d}");
        assert_eq!(distance_m(31.2, 121.4, 31.2, 121.4), 0.0);
    }

    #[test]
    fn a_good_photo_has_no_flags() {
        let photo = original(Some(REPORT_MS - 5 * 60_000), Some(north_of(XIETU, 40.0)));
        let flags = check_evidence(
            &photo,
            REPORT_MS,
            XIETU.0,
            XIETU.1,
            &EvidencePolicy::default(),
        );
        assert_eq!(flags, vec![]);
    }

    #[test]
    fn old_and_distant_photo_is_flagged_from_its_exif() {
        // End to end: the EXIF of a real JPEG says 3 days before the report and 2 km north.
        let taken = north_of(XIETU, 2000.0);
        let spec = test_images::ExifSpec {
            taken: Some("2024:04:28 14:03:22"),
            gps: Some(taken),
            ..test_images::ExifSpec::default()
        };
        let bytes = test_images::with_exif(
            &test_images::jpeg(&test_images::quadrants(32, 24), 90),
            &spec,
        );
        let prepared = prepare(&bytes, &PhotoOptions::default()).unwrap();
        let flags = check_evidence(
            &prepared.original.capture(),
            REPORT_MS,
            XIETU.0,
            XIETU.1,
            &EvidencePolicy::default(),
        );
        assert_eq!(flags.len(), 2, "{flags:?}");
        assert_eq!(flags[0], EvidenceFlag::TakenLongBefore { hours: 72 });
        let EvidenceFlag::FarFromReport { metres } = flags[1] else {
            panic!("expected FarFromReport, got {flags:?}");
        };
        assert!((1990..=2010).contains(&metres), "{metres}");
    }

    #[test]
    fn thresholds_are_exclusive_and_skew_is_allowed() {
        let policy = EvidencePolicy::default();
        let at = |taken| {
            check_evidence(
                &original(Some(taken), Some(XIETU)),
                REPORT_MS,
                XIETU.0,
                XIETU.1,
                &policy,
            )
        };
        assert_eq!(at(REPORT_MS - 24 * HOUR_MS), vec![]);
        assert_eq!(
            at(REPORT_MS - 24 * HOUR_MS - 1),
            vec![EvidenceFlag::TakenLongBefore { hours: 24 }]
        );
        assert_eq!(at(REPORT_MS + 5 * 60_000), vec![]);
        assert_eq!(
            at(REPORT_MS + HOUR_MS),
            vec![EvidenceFlag::TakenAfterReport]
        );
        let near = original(Some(REPORT_MS), Some(north_of(XIETU, 290.0)));
        assert_eq!(
            check_evidence(&near, REPORT_MS, XIETU.0, XIETU.1, &policy),
            vec![]
        );
    }

    #[test]
    fn missing_facts_are_flagged_and_missing_report_fix_is_not_judged() {
        let bare = original(None, None);
        let flags = check_evidence(
            &bare,
            REPORT_MS,
            XIETU.0,
            XIETU.1,
            &EvidencePolicy::default(),
        );
        assert_eq!(
            flags,
            vec![EvidenceFlag::NoCaptureTime, EvidenceFlag::NoPosition]
        );
        let far = original(Some(REPORT_MS), Some(north_of(XIETU, 5000.0)));
        let flags = check_evidence(
            &far,
            REPORT_MS,
            f64::NAN,
            f64::NAN,
            &EvidencePolicy::default(),
        );
        assert_eq!(flags, vec![]);
    }

    #[test]
    fn flags_serialise_with_a_kind_tag() {
        let json = serde_json::to_string(&EvidenceFlag::FarFromReport { metres: 2000 }).unwrap();
        assert_eq!(json, r#"{"kind":"far_from_report","metres":2000}"#);
        let back: EvidenceFlag =
            serde_json::from_str(r#"{"kind":"taken_long_before","hours":72}"#).unwrap();
        assert_eq!(back, EvidenceFlag::TakenLongBefore { hours: 72 });
    }
}
