//! Identifiers that devices generate offline.
//!
//! Devices cannot agree on a sequence while they are offline, so every
//! identifier they mint is a UUIDv7: 48 bits of milliseconds followed by
//! random bits. Two devices never collide in practice, and ids sort roughly
//! by creation time, which keeps SQLite's B-trees append-mostly.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident, $what:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
        #[serde(transparent)]
        pub struct $name(uuid::Uuid);

        impl $name {
            /// Mints a fresh identifier (UUIDv7) on this device.
            pub fn generate() -> Self {
                Self(uuid::Uuid::now_v7())
            }

            /// Parses the hyphenated text form, as shown by `Display`.
            pub fn parse(text: &str) -> Result<Self> {
                uuid::Uuid::parse_str(text.trim())
                    .map(Self)
                    .map_err(|e| Error::InvalidInput {
                        field: $what,
                        reason: format!("'{text}' is not a valid id ({e}); ids look like 0190f5a2-7c3e-7d41-9b7e-3f0c2a1d4e5f"),
                    })
            }

            /// The 16 raw bytes of the identifier.
            pub fn as_bytes(&self) -> &[u8; 16] {
                self.0.as_bytes()
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.hyphenated().fmt(f)
            }
        }

        // Crosses to Kotlin and Swift as its text (`typealias CaseId = String`). Lifting
        // parses; the bindings still take ids from the app as `String` and parse them
        // themselves, since a failed lift would reach Kotlin as an internal error rather
        // than `WanggeException.InvalidInput`: only ids going out use this.
        #[cfg(feature = "uniffi")]
        uniffi::custom_type!($name, String, {
            lower: |id| id.to_string(),
            try_lift: |text| Ok($name::parse(&text)?),
        });

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                Self::parse(s)
            }
        }
    };
}

uuid_id!(
    /// Identifies one case (案件) across every device and the server.
    CaseId,
    "case id"
);
uuid_id!(
    /// Identifies one event inside a case or zero-report document.
    EventId,
    "event id"
);
uuid_id!(
    /// Identifies one enrolled device (a phone or a workstation PC).
    DeviceId,
    "device id"
);
uuid_id!(
    /// Identifies one matter recorded in a zero report.
    MatterId,
    "matter id"
);
