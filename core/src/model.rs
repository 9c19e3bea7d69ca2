//! The plain data of a case: where it came from, who reported it, where it
//! is, and the photo references attached to it.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::error::{Error, Result};
use crate::ids::DeviceId;

/// Every intake channel the street's platform accepts (一口受理).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum SourceChannel {
    /// 12345 citizen service hotline.
    Hotline12345,
    /// 12319 urban construction and management hotline.
    Hotline12319,
    /// Judicial 110 (police referrals).
    Judicial110,
    /// The street's own hotline (斜土热线).
    StreetHotline,
    /// A residential workstation (居民区工作站).
    ResidentialWorkstation,
    /// The handheld terminal of a street grid officer (网格员) — most cases.
    GridOfficerHandheld,
    /// The handheld terminal of a street official (街道公务人员).
    StreetOfficialHandheld,
    /// The WeChat platform.
    Wechat,
}

impl SourceChannel {
    /// Every channel, in a stable order (for pickers and statistics).
    pub const ALL: [SourceChannel; 8] = [
        SourceChannel::Hotline12345,
        SourceChannel::Hotline12319,
        SourceChannel::Judicial110,
        SourceChannel::StreetHotline,
        SourceChannel::ResidentialWorkstation,
        SourceChannel::GridOfficerHandheld,
        SourceChannel::StreetOfficialHandheld,
        SourceChannel::Wechat,
    ];

    /// Stable machine name, as stored in documents and the database.
    pub fn as_str(self) -> &'static str {
        match self {
            SourceChannel::Hotline12345 => "hotline_12345",
            SourceChannel::Hotline12319 => "hotline_12319",
            SourceChannel::Judicial110 => "judicial_110",
            SourceChannel::StreetHotline => "street_hotline",
            SourceChannel::ResidentialWorkstation => "residential_workstation",
            SourceChannel::GridOfficerHandheld => "grid_officer_handheld",
            SourceChannel::StreetOfficialHandheld => "street_official_handheld",
            SourceChannel::Wechat => "wechat",
        }
    }

    /// The channel's Chinese name as the back office knows it.
    pub fn name_zh(self) -> &'static str {
        match self {
            SourceChannel::Hotline12345 => "12345市民服务热线",
            SourceChannel::Hotline12319 => "12319城建热线",
            SourceChannel::Judicial110 => "司法110",
            SourceChannel::StreetHotline => "斜土热线",
            SourceChannel::ResidentialWorkstation => "居民区工作站",
            SourceChannel::GridOfficerHandheld => "网格员手持终端",
            SourceChannel::StreetOfficialHandheld => "街道公务人员手持终端",
            SourceChannel::Wechat => "微信平台",
        }
    }

    /// Parses the machine name.
    pub fn parse(text: &str) -> Result<Self> {
        Self::ALL
            .into_iter()
            .find(|c| c.as_str() == text)
            .ok_or_else(|| {
                Error::invalid(
                    "source channel",
                    format!(
                        "'{text}' is not a channel; use one of: {}",
                        Self::ALL.map(|c| c.as_str()).join(", ")
                    ),
                )
            })
    }
}

impl fmt::Display for SourceChannel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What a person may do in the workflow. The server enforces roles with the
/// device's enrolment; the device checks them too so that a user learns at
/// once, offline, that an action is not theirs to take.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Street grid patrol officer (网格巡查员): reports, handles quick items on the spot.
    GridOfficer,
    /// Street official with a handheld terminal.
    StreetOfficial,
    /// Residential workstation staff: zero reports, local matters.
    WorkstationStaff,
    /// The street's management centre (管理中心): registers, dispatches, verifies, closes.
    Centre,
    /// A handling unit (城管, 公安, 市政, 物业 …): arrives, handles, gives feedback.
    HandlingUnit,
    /// Supervision/evaluation team (督察): verifies.
    Supervisor,
}

impl Role {
    /// Stable machine name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::GridOfficer => "grid_officer",
            Role::StreetOfficial => "street_official",
            Role::WorkstationStaff => "workstation_staff",
            Role::Centre => "centre",
            Role::HandlingUnit => "handling_unit",
            Role::Supervisor => "supervisor",
        }
    }
}

/// Who did something: a person acting with a role, from a device, possibly
/// for a unit or team (the holder names used in dispatch).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct Actor {
    /// Stable staff identifier (not a name: names are personal data and stay
    /// out of logs and indexes).
    pub id: String,
    /// The person's role.
    pub role: Role,
    /// The unit or team the person acts for, e.g. "城管中队" or "网格一组".
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unit: Option<String>,
    /// The device the action was recorded on.
    pub device: DeviceId,
}

impl Actor {
    pub(crate) fn validate(&self) -> Result<()> {
        check_text("actor id", &self.id, 64)?;
        if let Some(unit) = &self.unit {
            check_text("actor unit", unit, 64)?;
        }
        Ok(())
    }
}

/// A GPS fix as the phone reports it: WGS-84 latitude/longitude, the radius
/// of the accuracy circle, and when the fix was taken.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct GpsFix {
    /// WGS-84 latitude in degrees, −90 to 90.
    pub lat: f64,
    /// WGS-84 longitude in degrees, −180 to 180.
    pub lon: f64,
    /// Radius of the 68% accuracy circle, metres (≥ 0).
    pub accuracy_m: f64,
    /// When the fix was taken, milliseconds since the Unix epoch.
    pub fix_time_ms: i64,
}

impl GpsFix {
    /// Checks that the fix is a position on Earth with a sane accuracy.
    pub fn validate(&self) -> Result<()> {
        if !self.lat.is_finite() || !(-90.0..=90.0).contains(&self.lat) {
            return Err(Error::InvalidGpsFix(format!(
                "latitude {} is not between -90 and 90",
                self.lat
            )));
        }
        if !self.lon.is_finite() || !(-180.0..=180.0).contains(&self.lon) {
            return Err(Error::InvalidGpsFix(format!(
                "longitude {} is not between -180 and 180",
                self.lon
            )));
        }
        if !self.accuracy_m.is_finite() || self.accuracy_m < 0.0 {
            return Err(Error::InvalidGpsFix(format!(
                "accuracy {} m must be a finite number of metres ≥ 0",
                self.accuracy_m
            )));
        }
        if self.accuracy_m > 10_000.0 {
            return Err(Error::InvalidGpsFix(format!(
                "accuracy {} m is too coarse to place a case; wait for a better fix or pick the grid by hand",
                self.accuracy_m
            )));
        }
        Ok(())
    }
}

/// A reference to a photo held in the photo store: the document carries
/// only these facts, never the bytes (photos sync separately).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PhotoRef {
    /// SHA-256 of the stored JPEG, lowercase hex.
    pub sha256: String,
    /// Size of the stored JPEG in bytes.
    pub bytes: u64,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// When and where the camera says the photo was taken, read from the original file before
    /// its metadata was stripped.
    ///
    /// Why it travels in the document: the stored JPEG carries no metadata (privacy), yet a
    /// supervisor on another device or in the back office must be able to see that a photo is
    /// days old or was taken elsewhere ([`check_evidence`](crate::photo::check_evidence)). The
    /// event the photo belongs to is the one place every replica has. Absent in documents
    /// written before this field existed, and skipped when the camera recorded neither fact.
    #[serde(default, skip_serializing_if = "PhotoCapture::is_empty")]
    pub capture: PhotoCapture,
    /// SHA-256 of the thumbnail made when the photo was imported, 64 lowercase hex digits.
    ///
    /// Why the reference names its thumbnail: the server serves for a photo only the thumbnail
    /// that a document's reference to it names, never whichever device happened to upload a
    /// thumbnail "of" that photo first. Any enrolled device may upload, and a photo's hash is
    /// no secret, so without this an attacker could have its own picture shown everywhere as the
    /// thumbnail of someone else's evidence. [`Store::import_photo`](crate::Store::import_photo)
    /// fills it; absent in documents written before this field existed (the server then falls
    /// back to the thumbnail uploaded for the photo).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thumb_sha256: Option<String>,
}

/// What a photo's own metadata said about its capture: evidence, not trusted truth (EXIF can be
/// edited, and a screenshot has none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct PhotoCapture {
    /// Capture time in ms since the Unix epoch (EXIF `DateTimeOriginal`; a time without an
    /// offset is read as China Standard Time).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub taken_at_ms: Option<i64>,
    /// Capture position `(latitude, longitude)` in WGS-84 decimal degrees, as the camera wrote it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gps: Option<(f64, f64)>,
}

impl PhotoCapture {
    /// True when the camera recorded neither a time nor a position.
    pub fn is_empty(&self) -> bool {
        self.taken_at_ms.is_none() && self.gps.is_none()
    }
}

impl PhotoRef {
    pub(crate) fn validate(&self) -> Result<()> {
        if !is_sha256_hex(&self.sha256) {
            return Err(Error::invalid(
                "photo reference",
                format!(
                    "'{}' is not a SHA-256 in lowercase hex (64 characters)",
                    self.sha256
                ),
            ));
        }
        if let Some(thumb) = &self.thumb_sha256
            && !is_sha256_hex(thumb)
        {
            return Err(Error::invalid(
                "photo reference",
                format!(
                    "the thumbnail hash '{thumb}' of photo {} is not a SHA-256 in lowercase hex \
                     (64 characters); attach the PhotoRef that import_photo returned",
                    self.sha256
                ),
            ));
        }
        Ok(())
    }
}

/// True if `text` is a SHA-256 in lowercase hex (64 characters `0-9a-f`).
fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Checks a free-text field: not blank, not longer than `max_chars`.
pub(crate) fn check_text(field: &'static str, text: &str, max_chars: usize) -> Result<()> {
    if text.trim().is_empty() {
        return Err(Error::invalid(field, "must not be empty"));
    }
    let n = text.chars().count();
    if n > max_chars {
        return Err(Error::invalid(
            field,
            format!("{n} characters is too long; keep it under {max_chars}"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fix(lat: f64, lon: f64, acc: f64) -> GpsFix {
        GpsFix {
            lat,
            lon,
            accuracy_m: acc,
            fix_time_ms: 0,
        }
    }

    #[test]
    fn gps_fix_rejects_impossible_values() {
        assert!(fix(31.19, 121.44, 5.0).validate().is_ok());
        for bad in [
            fix(f64::NAN, 121.44, 5.0),
            fix(31.19, f64::INFINITY, 5.0),
            fix(91.0, 121.44, 5.0),
            fix(31.19, -181.0, 5.0),
            fix(31.19, 121.44, -1.0),
            fix(31.19, 121.44, f64::NAN),
        ] {
            let err = bad.validate().unwrap_err();
            assert!(matches!(err, Error::InvalidGpsFix(_)), "{err}");
        }
    }

    /// SplitMix64: a deterministic generator, so a failure names the same values every run.
    fn splitmix(state: &mut u64) -> u64 {
        *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = *state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A uniform f64 in `[lo, hi)` with all 53 bits of mantissa random.
    fn uniform(state: &mut u64, lo: f64, hi: f64) -> f64 {
        let unit = (splitmix(state) >> 11) as f64 / (1u64 << 53) as f64;
        lo + unit * (hi - lo)
    }

    /// Coordinates that `serde_json` without `float_roundtrip` parsed 1 ULP off (found with
    /// serde_json 1.0.154 and the generator above; the last is what the EXIF
    /// 121°27'9.72"E of the photo tests comes out as).
    const ONCE_MISREAD: [f64; 7] = [
        -122.43225856430877,
        -39.851796554075044,
        108.22747561686123,
        102.77980541859597,
        26.477032608832786,
        -43.191767310401644,
        121.45270000000001,
    ];

    fn assert_same_bits(what: &str, sent: f64, got: f64) {
        assert_eq!(
            sent.to_bits(),
            got.to_bits(),
            "{what}: {sent:?} came back as {got:?}"
        );
    }

    #[test]
    fn coordinates_survive_a_json_round_trip_bit_for_bit() {
        let mut state = 42;
        let mut coordinates: Vec<(f64, f64)> = (0..10_000)
            .map(|_| {
                (
                    uniform(&mut state, -90.0, 90.0),
                    uniform(&mut state, -180.0, 180.0),
                )
            })
            .collect();
        coordinates.extend(ONCE_MISREAD.map(|v| (v / 2.0, v)));
        coordinates.extend([
            (-90.0, -180.0),
            (90.0, 180.0),
            (0.0, -0.0),
            (1e-300, 5e-324),
        ]);
        for (lat, lon) in coordinates {
            let fix = GpsFix {
                lat,
                lon,
                accuracy_m: lat.abs() / 7.0,
                fix_time_ms: 1_714_543_402_000,
            };
            let back: GpsFix = serde_json::from_str(&serde_json::to_string(&fix).unwrap()).unwrap();
            assert_same_bits("GpsFix.lat", lat, back.lat);
            assert_same_bits("GpsFix.lon", lon, back.lon);
            assert_same_bits("GpsFix.accuracy_m", fix.accuracy_m, back.accuracy_m);

            let photo = PhotoRef {
                sha256: "ab".repeat(32),
                bytes: 1,
                width: 1,
                height: 1,
                capture: PhotoCapture {
                    taken_at_ms: None,
                    gps: Some((lat, lon)),
                },
                thumb_sha256: None,
            };
            let back: PhotoRef =
                serde_json::from_str(&serde_json::to_string(&photo).unwrap()).unwrap();
            let (back_lat, back_lon) = back.capture.gps.unwrap();
            assert_same_bits("PhotoRef.capture.gps latitude", lat, back_lat);
            assert_same_bits("PhotoRef.capture.gps longitude", lon, back_lon);
        }
    }

    #[test]
    fn a_photo_ref_names_its_thumbnail_and_old_references_still_load() {
        let old = format!(
            r#"{{"sha256":"{}","bytes":120000,"width":1600,"height":1200}}"#,
            "ab".repeat(32)
        );
        let photo: PhotoRef = serde_json::from_str(&old).unwrap();
        assert_eq!(photo.thumb_sha256, None);
        assert!(photo.validate().is_ok());
        // Absent stays absent: a reference without a thumbnail is written as before.
        assert_eq!(serde_json::to_string(&photo).unwrap(), old);

        let named = PhotoRef {
            thumb_sha256: Some("cd".repeat(32)),
            ..photo.clone()
        };
        assert!(named.validate().is_ok());
        let json = serde_json::to_string(&named).unwrap();
        assert!(json.contains(&format!(r#""thumb_sha256":"{}""#, "cd".repeat(32))));
        assert_eq!(serde_json::from_str::<PhotoRef>(&json).unwrap(), named);

        for bad in [
            "CD".repeat(32),
            "cd".repeat(31),
            "zz".repeat(32),
            String::new(),
        ] {
            let err = PhotoRef {
                thumb_sha256: Some(bad.clone()),
                ..photo.clone()
            }
            .validate()
            .unwrap_err();
            assert!(matches!(err, Error::InvalidInput { .. }), "{bad}: {err}");
            assert!(err.to_string().contains("thumbnail hash"), "{err}");
        }
    }

    #[test]
    fn channels_round_trip_by_name() {
        for c in SourceChannel::ALL {
            assert_eq!(SourceChannel::parse(c.as_str()).unwrap(), c);
        }
        let err = SourceChannel::parse("fax").unwrap_err().to_string();
        assert!(err.contains("hotline_12345"), "{err}");
    }
}
