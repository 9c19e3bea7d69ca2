//! The one error type that crosses the boundary, and the one place where the
//! core's errors are mapped onto it.
//!
//! The core's error is rich (it names fields, statuses, file positions); the
//! boundary's is small: one variant per thing an app can react to
//! differently, each carrying the core's full message. uniffi turns it into
//! a sealed `WanggeException` class in Kotlin (one subclass per variant,
//! `message` holding the text) and an `enum WanggeError: Error` in Swift.

use wangge_core::authority::RefusalCode;
use wangge_core::checklist::ChecklistError;
use wangge_core::grid::GridError;
use wangge_core::sync::SyncError;

/// Everything a call into the Wangge library can fail with. Every message
/// says what went wrong and what to do about it, in words fit for a log or
/// (after translation) a screen.
#[derive(Debug, thiserror::Error, uniffi::Error)]
#[uniffi(flat_error)]
pub enum WanggeError {
    /// A value supplied by the app is malformed or out of range: an empty
    /// description, an id that is not an id, a day in the future, a store
    /// opened with another device's id.
    #[error("{0}")]
    InvalidInput(String),

    /// A GPS fix that cannot be a position on Earth, or whose accuracy is
    /// too coarse to place a case: ask the location provider again, or let
    /// the officer pick the grid.
    #[error("{0}")]
    InvalidGpsFix(String),

    /// The checklist item named does not exist in the loaded checklist.
    #[error("{0}")]
    UnknownChecklistItem(String),

    /// The grid cell named does not exist in the loaded grids (or is not a
    /// residential workstation where one is required).
    #[error("{0}")]
    UnknownGrid(String),

    /// No case with this id is stored on this device.
    #[error("{0}")]
    CaseNotFound(String),

    /// The event is not allowed in the case's current status (e.g. closing
    /// a case that nobody handled yet).
    #[error("{0}")]
    EventNotAllowed(String),

    /// The actor's role may not take this action (e.g. a grid officer
    /// registering a case: only the centre does).
    #[error("{0}")]
    RoleNotAllowed(String),

    /// The server's authority rules forbid the action, checked on the
    /// device before it is written: the actor is not the person the device
    /// is enrolled to (`setAuthor`), or acts in a role or unit that person
    /// does not hold; a unit acts on a case not dispatched to it; an item
    /// is handled on the spot that the checklist does not allow. The server
    /// would refuse it; nothing was written.
    #[error("{0}")]
    NotAllowed(String),

    /// The checklist, calendar or grid files could not be loaded; the
    /// message names the entry and the field to fix.
    #[error("{0}")]
    InvalidCatalog(String),

    /// A stored or received document could not be read: rebuild it from
    /// the server with a sync.
    #[error("{0}")]
    CorruptData(String),

    /// The database was written by a newer version of the app: update it.
    #[error("{0}")]
    SchemaTooNew(String),

    /// The store is encrypted and was opened without its key or with another key (or the
    /// file is not a store). Nothing is damaged: open it again with the key it was created
    /// with. If that key is lost (the keystore was wiped), the store cannot be read: delete
    /// it and sync again; what was never synced is lost with it.
    #[error("{0}")]
    WrongKey(String),

    /// The local database or file system failed (full storage, a file that
    /// cannot be created).
    #[error("{0}")]
    Storage(String),

    /// The sync server could not be reached after every retry (no signal,
    /// server down). Nothing is lost: every change stays on the device and
    /// goes at the next sync. An app shows a quiet "will sync later".
    #[error("{0}")]
    Offline(String),

    /// The server refused this device's token: wrong, or the device was
    /// revoked. Nothing is lost; an administrator must enrol the device
    /// again (`wangge-server enroll`) and the app store the new token.
    #[error("{0}")]
    NotAuthorized(String),

    /// The server refused a pairing code: unknown (mistyped), already used, expired, locked
    /// after too many wrong attempts, or its person is no longer active. The message names
    /// which; ask the back office for a new code.
    #[error("{0}")]
    PairingRefused(String),

    /// The sync server URL is plain `http://` to a host that is not this
    /// machine: the token and reports would travel unencrypted, so nothing
    /// was sent. Use the server's `https://` address, or (on a test network
    /// only) `setSyncConfig(SyncConfig(allowInsecureHttp = true))`.
    #[error("{0}")]
    InsecureHttp(String),

    /// Any other sync or photo-download failure: the server rejected the
    /// request (update the app), answered something unreadable, does not
    /// hold the photo asked for yet, the photo is outside the device's
    /// scope, or the server refused damaged photos. The message says which.
    #[error("{0}")]
    Sync(String),

    /// An image could not be imported: empty, damaged, not JPEG/PNG/WebP
    /// (HEIC, GIF …), or too large; the message says what to do.
    #[error("{0}")]
    Photo(String),

    /// A case, event or zero report names a photo this device does not
    /// hold: import it with `importPhoto` (or sync to receive it) first.
    #[error("{0}")]
    UnknownPhoto(String),

    /// An error this version of the bindings does not classify; the message
    /// says what happened.
    #[error("{0}")]
    Other(String),
}

/// Shorthand for results crossing the boundary.
pub type Result<T, E = WanggeError> = std::result::Result<T, E>;

impl From<wangge_core::Error> for WanggeError {
    fn from(error: wangge_core::Error) -> Self {
        use wangge_core::Error as E;
        let message = error.to_string();
        match error {
            E::InvalidInput { .. } => WanggeError::InvalidInput(message),
            E::InvalidGpsFix(_) => WanggeError::InvalidGpsFix(message),
            E::UnknownChecklistItem(_) => WanggeError::UnknownChecklistItem(message),
            E::UnknownGrid(_) => WanggeError::UnknownGrid(message),
            E::CaseNotFound(_) => WanggeError::CaseNotFound(message),
            E::EventNotAllowed { .. } => WanggeError::EventNotAllowed(message),
            E::RoleNotAllowed { .. } => WanggeError::RoleNotAllowed(message),
            E::Refused(r) if r.code == RefusalCode::RoleNotAllowed => {
                WanggeError::RoleNotAllowed(message)
            }
            E::Refused(_) => WanggeError::NotAllowed(message),
            E::Grid(GridError::InvalidFix { .. } | GridError::InvalidAccuracy { .. }) => {
                WanggeError::InvalidGpsFix(message)
            }
            E::Grid(_) | E::Checklist(_) => WanggeError::InvalidCatalog(message),
            E::CorruptDocument { .. } => WanggeError::CorruptData(message),
            E::SchemaTooNew { .. } => WanggeError::SchemaTooNew(message),
            E::WrongKey { .. } => WanggeError::WrongKey(message),
            E::Sqlite(_) | E::Io { .. } | E::EncryptionUnavailable => WanggeError::Storage(message),
            E::Sync(SyncError::Offline(_)) => WanggeError::Offline(message),
            E::Sync(SyncError::Unauthorized(_)) => WanggeError::NotAuthorized(message),
            E::Sync(SyncError::InsecureHttp(_)) => WanggeError::InsecureHttp(message),
            E::Sync(SyncError::Revoked(_)) => WanggeError::NotAuthorized(message),
            E::Sync(SyncError::TokenExpired(_)) => WanggeError::NotAuthorized(message),
            E::Sync(SyncError::PairingRefused { .. }) => WanggeError::PairingRefused(message),
            E::Sync(SyncError::InvalidServerUrl(_)) => WanggeError::InvalidInput(message),
            E::Sync(_) => WanggeError::Sync(message),
            E::Photo(_) => WanggeError::Photo(message),
            E::UnknownPhoto(_) => WanggeError::UnknownPhoto(message),
            _ => WanggeError::Other(message),
        }
    }
}

impl From<ChecklistError> for WanggeError {
    fn from(error: ChecklistError) -> Self {
        wangge_core::Error::from(error).into()
    }
}

impl From<GridError> for WanggeError {
    fn from(error: GridError) -> Self {
        wangge_core::Error::from(error).into()
    }
}

/// An invalid-input error for a value the bindings parse themselves (ids,
/// days), worded like the core's.
pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> WanggeError {
    wangge_core::Error::InvalidInput {
        field,
        reason: reason.into(),
    }
    .into()
}

#[cfg(test)]
mod tests {
    use super::*;
    use wangge_core::Error as E;
    use wangge_core::authority::Refusal;

    /// Whether a mapped error is the expected variant.
    type IsExpected = fn(&WanggeError) -> bool;

    #[test]
    fn each_core_error_maps_to_its_variant_with_the_full_message() {
        let cases: Vec<(E, IsExpected)> = vec![
            (
                E::InvalidGpsFix("latitude 91 is not between -90 and 90".into()),
                |e| matches!(e, WanggeError::InvalidGpsFix(_)),
            ),
            (E::UnknownChecklistItem("Z99".into()), |e| {
                matches!(e, WanggeError::UnknownChecklistItem(_))
            }),
            (E::UnknownGrid("XT-W99".into()), |e| {
                matches!(e, WanggeError::UnknownGrid(_))
            }),
            (E::CaseNotFound("0190".into()), |e| {
                matches!(e, WanggeError::CaseNotFound(_))
            }),
            (
                E::Grid(GridError::InvalidAccuracy { accuracy_m: -1.0 }),
                |e| matches!(e, WanggeError::InvalidGpsFix(_)),
            ),
            (E::Grid(GridError::EmptyDataset), |e| {
                matches!(e, WanggeError::InvalidCatalog(_))
            }),
            (
                E::Sync(SyncError::Offline("connection refused".into())),
                |e| matches!(e, WanggeError::Offline(_)),
            ),
            (E::Sync(SyncError::Unauthorized("revoked".into())), |e| {
                matches!(e, WanggeError::NotAuthorized(_))
            }),
            (E::Sync(SyncError::Revoked("revoked".into())), |e| {
                matches!(e, WanggeError::NotAuthorized(_))
            }),
            (
                E::Sync(SyncError::PairingRefused {
                    code: "pairing_code_used".into(),
                    message: "used".into(),
                }),
                |e| matches!(e, WanggeError::PairingRefused(_)),
            ),
            (E::Sync(SyncError::InsecureHttp("10.0.0.1".into())), |e| {
                matches!(e, WanggeError::InsecureHttp(_))
            }),
            (
                E::Sync(SyncError::InvalidServerUrl("ftp://x".into())),
                |e| matches!(e, WanggeError::InvalidInput(_)),
            ),
            (E::Sync(SyncError::PhotoNotOnServer("ab".into())), |e| {
                matches!(e, WanggeError::Sync(_))
            }),
            // Seen only by Rust callers: a cancelled coroutine never receives its result.
            (E::Sync(SyncError::Cancelled), |e| {
                matches!(e, WanggeError::Sync(_))
            }),
            (E::Checklist(ChecklistError::NoItems), |e| {
                matches!(e, WanggeError::InvalidCatalog(_))
            }),
            (
                E::SchemaTooNew {
                    found: 9,
                    supported: 3,
                },
                |e| matches!(e, WanggeError::SchemaTooNew(_)),
            ),
            (
                E::CorruptDocument {
                    doc_id: "d".into(),
                    reason: "bad".into(),
                },
                |e| matches!(e, WanggeError::CorruptData(_)),
            ),
            (
                E::Io {
                    path: "/data/wangge".into(),
                    source: std::io::Error::other("no space left on device"),
                },
                |e| matches!(e, WanggeError::Storage(_)),
            ),
            (
                E::WrongKey {
                    path: "/data/wangge.sqlite3".into(),
                    problem: "is encrypted and no key was given",
                },
                |e| matches!(e, WanggeError::WrongKey(_)),
            ),
            (E::EncryptionUnavailable, |e| {
                matches!(e, WanggeError::Storage(_))
            }),
            (E::Photo(wangge_core::photo::PhotoError::Empty), |e| {
                matches!(e, WanggeError::Photo(_))
            }),
            (E::UnknownPhoto("ab".into()), |e| {
                matches!(e, WanggeError::UnknownPhoto(_))
            }),
            (
                E::Refused(Refusal::new(RefusalCode::WrongAuthor, "not the person")),
                |e| matches!(e, WanggeError::NotAllowed(_)),
            ),
            (
                E::Refused(Refusal::new(RefusalCode::NotDispatchedToUnit, "not yours")),
                |e| matches!(e, WanggeError::NotAllowed(_)),
            ),
            (
                E::Refused(Refusal::new(RefusalCode::RoleNotAllowed, "not your role")),
                |e| matches!(e, WanggeError::RoleNotAllowed(_)),
            ),
        ];
        for (core_error, is_expected) in cases {
            let message = core_error.to_string();
            let mapped = WanggeError::from(core_error);
            assert!(is_expected(&mapped), "{message} → {mapped:?}");
            assert_eq!(mapped.to_string(), message, "the message crosses unchanged");
        }
        let invalid = invalid("day", "'x' is not a day");
        assert!(matches!(invalid, WanggeError::InvalidInput(_)));
        assert_eq!(invalid.to_string(), "invalid day: 'x' is not a day");
    }
}
