//! The plain data shared by cases and zero reports: who acts, with which
//! role, from which channel, where (GPS), with which photos; and the parsing
//! of ids and days that arrive as text.

use chrono::NaiveDate;
use wangge_core as core_lib;
use wangge_core::{Role, SourceChannel};

use crate::error::{Result, WanggeError, invalid};

/// Who acts: a person with a role, possibly for a unit or team. The device
/// is always the store's own, so it is not part of this record.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct Actor {
    /// Stable staff identifier, e.g. `officer-017` (not a name: names are
    /// personal data and stay out of logs and indexes).
    pub id: String,
    /// The person's role.
    pub role: Role,
    /// The unit or team the person acts for, e.g. `城管中队` or `网格一组`;
    /// cases dispatched to that unit show in the person's list.
    #[uniffi(default = None)]
    pub unit: Option<String>,
}

impl Actor {
    /// The core's actor, acting from `device`.
    pub(crate) fn on(self, device: core_lib::DeviceId) -> core_lib::Actor {
        core_lib::Actor {
            id: self.id,
            role: self.role,
            unit: self.unit,
            device,
        }
    }
}

impl From<core_lib::Actor> for Actor {
    fn from(actor: core_lib::Actor) -> Self {
        Actor {
            id: actor.id,
            role: actor.role,
            unit: actor.unit,
        }
    }
}

/// A photo held in the photo store: cases and events carry only these
/// facts, never the bytes (photos sync separately).
///
/// The capture fields come from the original file's own metadata, read by
/// `importPhoto` before it was stripped; they travel with the case so that
/// a supervisor anywhere can see a photo that is old or taken elsewhere
/// (`photoEvidence`). Attach the reference `importPhoto` returned as it is.
#[derive(Debug, Clone, PartialEq, uniffi::Record)]
pub struct PhotoRef {
    /// SHA-256 of the stored JPEG, 64 lowercase hex characters.
    pub sha256: String,
    /// Size of the stored JPEG in bytes.
    pub bytes: i64,
    /// Width in pixels.
    pub width: i32,
    /// Height in pixels.
    pub height: i32,
    /// When the camera says it took the photo (ms since the epoch), if it said.
    #[uniffi(default)]
    pub taken_at_ms: Option<i64>,
    /// Latitude (WGS-84) the camera wrote, if it wrote a position.
    #[uniffi(default)]
    pub taken_lat: Option<f64>,
    /// Longitude (WGS-84) the camera wrote, if it wrote a position.
    #[uniffi(default)]
    pub taken_lon: Option<f64>,
    /// SHA-256 of the photo's thumbnail (64 lowercase hex characters), named so that the
    /// server serves that thumbnail and no other for the photo; absent in references from
    /// cases recorded before references named their thumbnail.
    #[uniffi(default)]
    pub thumb_sha256: Option<String>,
}

impl TryFrom<PhotoRef> for core_lib::PhotoRef {
    type Error = WanggeError;

    fn try_from(p: PhotoRef) -> Result<Self> {
        let negative = |what: &str, n: i64| {
            invalid(
                "photo reference",
                format!(
                    "photo {} has {what} {n}, which is negative; attach the PhotoRef that importPhoto returned",
                    p.sha256
                ),
            )
        };
        let bytes = u64::try_from(p.bytes).map_err(|_| negative("size", p.bytes))?;
        let width = u32::try_from(p.width).map_err(|_| negative("width", p.width.into()))?;
        let height = u32::try_from(p.height).map_err(|_| negative("height", p.height.into()))?;
        Ok(core_lib::PhotoRef {
            sha256: p.sha256,
            bytes,
            width,
            height,
            capture: core_lib::PhotoCapture {
                taken_at_ms: p.taken_at_ms,
                gps: p.taken_lat.zip(p.taken_lon),
            },
            thumb_sha256: p.thumb_sha256,
        })
    }
}

impl From<core_lib::PhotoRef> for PhotoRef {
    fn from(p: core_lib::PhotoRef) -> Self {
        let (taken_lat, taken_lon) = p.capture.gps.unzip();
        PhotoRef {
            sha256: p.sha256,
            bytes: long(p.bytes),
            width: int(p.width),
            height: int(p.height),
            taken_at_ms: p.capture.taken_at_ms,
            taken_lat,
            taken_lon,
            thumb_sha256: p.thumb_sha256,
        }
    }
}

/// Converts a list of photo references; a negative size refuses them all.
pub(crate) fn photos_in(photos: Vec<PhotoRef>) -> Result<Vec<core_lib::PhotoRef>> {
    photos.into_iter().map(TryInto::try_into).collect()
}

/// A count or size for Kotlin's `Int` (Swift's `Int32`): the boundary has no unsigned
/// types, so that app code needs no `toUInt()`. Beyond `Int.MAX_VALUE` it stays there.
pub(crate) fn int(n: u32) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// A count or size for Kotlin's `Long` (Swift's `Int64`), as [`int`] does for `Int`.
pub(crate) fn long(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

/// Converts a list of photo references.
pub(crate) fn photos_out(photos: Vec<core_lib::PhotoRef>) -> Vec<PhotoRef> {
    photos.into_iter().map(Into::into).collect()
}

/// The channel's Chinese name as the back office knows it, e.g.
/// `网格员手持终端` for a grid officer's handheld.
#[uniffi::export]
pub fn source_channel_name(channel: SourceChannel) -> String {
    channel.name_zh().to_owned()
}

/// Mints a new device id (a UUIDv7 in text form). Call it once, when the
/// app is first installed, and keep the result: a store remembers the device
/// it belongs to and refuses to be opened as another.
#[uniffi::export]
pub fn generate_device_id() -> core_lib::DeviceId {
    core_lib::DeviceId::generate()
}

/// The calendar day in China Standard Time of an instant (ms since the Unix
/// epoch), as `YYYY-MM-DD`: the day a zero report is filed for.
#[uniffi::export]
pub fn cst_day(time_ms: i64) -> String {
    core_lib::store::cst_day(time_ms).to_string()
}

pub(crate) fn parse_case_id(text: &str) -> Result<core_lib::CaseId> {
    Ok(core_lib::CaseId::parse(text)?)
}

pub(crate) fn parse_device_id(text: &str) -> Result<core_lib::DeviceId> {
    Ok(core_lib::DeviceId::parse(text)?)
}

pub(crate) fn parse_matter_id(text: &str) -> Result<core_lib::MatterId> {
    Ok(core_lib::MatterId::parse(text)?)
}

/// Parses a day written `YYYY-MM-DD` (what Kotlin's `LocalDate.toString()`
/// and the zero-report screens use).
pub(crate) fn parse_day(text: &str) -> Result<NaiveDate> {
    NaiveDate::parse_from_str(text.trim(), "%Y-%m-%d").map_err(|e| {
        invalid(
            "day",
            format!("'{text}' is not a day ({e}); write it as 2026-03-15"),
        )
    })
}
