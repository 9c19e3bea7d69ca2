//! Photos: the capture pipeline that turns what a phone camera hands over into evidence fit to
//! store and sync.
//!
//! [`prepare`] takes JPEG, PNG or WebP bytes and returns a [`PreparedPhoto`]: an upright JPEG
//! downscaled to 1600 px with **no metadata at all** (the camera's EXIF carries the exact GPS
//! position and the device serial; leaking it is a privacy breach), a 320 px thumbnail, the
//! SHA-256 content address, and the [`OriginalMetadata`] read before stripping (capture time,
//! GPS fix, size, orientation). [`check_evidence`] compares those facts with the report the
//! photo is attached to and returns [`EvidenceFlag`]s for a supervisor.
//!
//! Everything here is pure (no I/O): storing the bytes and the record is the store's job, so a
//! failed `prepare` can never leave half a photo behind.

mod encode;
mod error;
mod evidence;
mod format;
mod jpeg_scan;
mod jpeg_structure;
mod metadata;
mod options;
mod pipeline;
mod resize;
#[cfg(test)]
mod test_images;

pub use error::PhotoError;
pub use evidence::{
    EvidenceFlag, EvidencePolicy, PhotoEvidence, case_photo_evidence, check_evidence, distance_m,
};
pub use format::PhotoFormat;
pub use metadata::OriginalMetadata;
pub use options::PhotoOptions;
pub use pipeline::{PreparedPhoto, prepare};
