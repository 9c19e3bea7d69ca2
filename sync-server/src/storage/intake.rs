//! What intake at the centre's desk and the Open311 gateway store besides the case document:
//! the outside channel's reference, the reporter's contact, where and when each case was
//! reported (for duplicate hints), and the Open311 API keys.

use serde::{Deserialize, Serialize};
use wangge_core::{Actor, CaseRecord, NewCase, SourceChannel};

/// How far apart two reports of the same item may be and still be hinted as duplicates.
pub const DUPLICATE_RADIUS_M: f64 = 50.0;
/// How long apart two reports of the same item may be and still be hinted as duplicates.
pub const DUPLICATE_WINDOW_MS: i64 = 72 * 3_600_000;

/// How to reach the person who reported a case (personal data).
///
/// Why it is not in the case document: a synced document reaches every device of the case's
/// scope and can never be erased (events are only added), while a reporter's phone number must
/// be readable only by the centre and deletable when its purpose is served. So it is kept in a
/// server-only table, read by centre devices alone (`GET /v1/cases/{id}/contact`), and never
/// written to a log or to the audit trail.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ReporterContact {
    /// The reporter's name, as they gave it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A telephone number.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    /// An e-mail address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

impl ReporterContact {
    /// True when nothing was given.
    pub fn is_empty(&self) -> bool {
        [&self.name, &self.phone, &self.email]
            .iter()
            .all(|f| f.as_deref().is_none_or(|s| s.trim().is_empty()))
    }

    /// Checks the lengths. The message names the field, never its content (it would end up
    /// in a client's log).
    pub fn validate(&self) -> Result<(), String> {
        for (field, value, max) in [
            ("name", &self.name, 100),
            ("phone", &self.phone, 40),
            ("email", &self.email, 200),
        ] {
            if let Some(v) = value
                && v.chars().count() > max
            {
                return Err(format!(
                    "the contact's {field} is longer than {max} characters"
                ));
            }
        }
        Ok(())
    }
}

/// A case typed in at the centre's desk, or received through Open311.
#[derive(Debug, Clone)]
pub struct Intake {
    /// Who records it: the centre person (the device's, or the API key's).
    pub by: Actor,
    /// The case as a reporter supplies it; `external_ref` is the channel's own reference.
    pub new: NewCase,
    /// How to reach the reporter, kept apart from the document.
    pub contact: Option<ReporterContact>,
}

/// What became of an intake.
#[derive(Debug, Clone)]
pub enum IntakeOutcome {
    /// The case was created.
    Created {
        /// The new case.
        case: Box<CaseRecord>,
        /// Open cases of the same item reported nearby shortly before or after.
        duplicates: Vec<DuplicateHint>,
    },
    /// The channel's reference was taken in before: nothing was created.
    DuplicateReference {
        /// The case created for it then.
        case_id: String,
    },
}

/// An open case that may report the same matter as another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct DuplicateHint {
    /// Its id.
    pub case_id: String,
    /// Its official number, once registered.
    pub case_number: Option<String>,
    /// Its status.
    pub status: String,
    /// Its checklist item.
    pub checklist_item: String,
    /// How far from the other case's position, in metres (rounded).
    pub distance_m: f64,
    /// When it was reported (ms).
    pub reported_at: i64,
    /// Its grid cell, if known.
    pub grid: Option<String>,
    /// What the reporter saw.
    pub description: String,
}

/// An Open311 API key: who may post requests for a channel, and in whose name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    /// Its id (shown in listings and the audit log; the key itself is shown once).
    pub key_id: String,
    /// A label, e.g. "微信公众号".
    pub name: String,
    /// The channel cases created with it are recorded under.
    pub channel: SourceChannel,
    /// The centre person the created cases are signed by.
    pub person: String,
    /// The device id its cases' events carry (a key is not an enrolled device, but an
    /// event's author names one).
    pub device_id: String,
    /// When it was created (ms).
    pub created_at: i64,
    /// When it was revoked (ms), if it was.
    pub revoked_at: Option<i64>,
}

/// The filters of Open311 `GET requests.json`.
#[derive(Debug, Clone, Default)]
pub struct RequestFilter {
    /// Only the cases of this channel.
    pub channel: Option<SourceChannel>,
    /// Only these case ids.
    pub ids: Vec<String>,
    /// Only cases of these checklist items.
    pub items: Vec<String>,
    /// Only open (`Some(true)`) or closed (`Some(false)`) cases.
    pub open: Option<bool>,
    /// Reported at or after (ms).
    pub from_ms: i64,
    /// Reported at or before (ms).
    pub to_ms: i64,
    /// Most cases.
    pub limit: u32,
}
