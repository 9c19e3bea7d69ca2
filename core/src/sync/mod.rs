//! Sync with the server: the binary protocol and the device's client.
//!
//! See `docs/sync-protocol.md` for the protocol and [`client`] for how a
//! device syncs.

pub mod cancel;
pub mod catalog;
pub mod client;
pub mod enrolment;
pub mod pacing;
pub mod pairing;
pub mod photos;
pub mod protocol;
pub mod upload;
pub mod wire;

pub use cancel::Cancel;
pub use client::{SyncClient, SyncConfig, SyncError, SyncProgress};
pub use enrolment::{EnrolledPerson, Enrolment};
pub use pairing::{PairedDevice, PairingPayload};
