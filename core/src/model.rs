//! The plain data of a case: where it came from, who reported it, where it
//! is, and the photo references attached to it.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::error::{Error, Result};
use crate::ids::DeviceId;

/// Every intake channel the street's platform accepts (一口受理).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
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
}

/// What a photo's own metadata said about its capture: evidence, not trusted truth (EXIF can be
/// edited, and a screenshot has none).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
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
        let hex = self.sha256.len() == 64
            && self
                .sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !hex {
            return Err(Error::invalid(
                "photo reference",
                format!(
                    "'{}' is not a SHA-256 in lowercase hex (64 characters)",
                    self.sha256
                ),
            ));
        }
        Ok(())
    }
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

    #[test]
    fn channels_round_trip_by_name() {
        for c in SourceChannel::ALL {
            assert_eq!(SourceChannel::parse(c.as_str()).unwrap(), c);
        }
        let err = SourceChannel::parse("fax").unwrap_err().to_string();
        assert!(err.contains("hotline_12345"), "{err}");
    }
}
