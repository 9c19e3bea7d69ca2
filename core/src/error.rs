//! The library's error type.
//!
//! One enum for the whole crate, so callers (and the uniffi layer) match on
//! a single type. Every message says what went wrong and what to do about it.

use crate::case::CaseStatus;
use crate::checklist::ChecklistError;
use crate::grid::GridError;

/// Result alias used throughout the crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in the core library.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value supplied by the caller is malformed or out of range.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The field that was rejected.
        field: &'static str,
        /// Why it was rejected and how to fix it.
        reason: String,
    },

    /// A GPS fix that cannot be a position on Earth.
    #[error("invalid GPS fix: {0}; check the location provider and try again")]
    InvalidGpsFix(String),

    /// The checklist item named by the caller does not exist.
    #[error("unknown checklist item '{0}': pick an item from the task checklist")]
    UnknownChecklistItem(String),

    /// The grid cell named by the caller does not exist.
    #[error("unknown grid '{0}': pick a grid from the loaded grid dataset")]
    UnknownGrid(String),

    /// No case with this id is stored on this device.
    #[error("case {0} is not on this device; sync to fetch it or check the id")]
    CaseNotFound(String),

    /// A case, event or zero-report matter names a photo this device does not hold.
    #[error(
        "photo {0} is not in this device's photo store: import it with import_photo (or sync to receive it) before attaching it"
    )]
    UnknownPhoto(String),

    /// The event is not allowed in the case's current state.
    #[error("{event} is not allowed while the case is {status}: {hint}")]
    EventNotAllowed {
        /// The kind of event that was refused.
        event: &'static str,
        /// The case status it was refused in.
        status: CaseStatus,
        /// What has to happen first.
        hint: &'static str,
    },

    /// The actor's role may not add this event.
    #[error("a {role} may not add {event}; {hint}")]
    RoleNotAllowed {
        /// The role of the actor who tried.
        role: &'static str,
        /// The kind of event that was refused.
        event: &'static str,
        /// Who may add it instead.
        hint: &'static str,
    },

    /// The server's authority rules refuse this action (the device applies
    /// them too, so that it is refused at once rather than at the next sync).
    #[error("not allowed: {0}")]
    Refused(#[from] crate::authority::Refusal),

    /// The task checklist could not be loaded.
    #[error(transparent)]
    Checklist(#[from] ChecklistError),

    /// The grid dataset could not be loaded, or a lookup was refused.
    #[error(transparent)]
    Grid(#[from] GridError),

    /// A stored or received Automerge document could not be read.
    #[error("document {doc_id} is unreadable ({reason}); rebuild it from the server with a sync")]
    CorruptDocument {
        /// The document concerned.
        doc_id: String,
        /// What the decoder reported.
        reason: String,
    },

    /// The database file was written by a newer version of the library.
    #[error(
        "the database is at schema version {found}, newer than this app supports ({supported}); update the app"
    )]
    SchemaTooNew {
        /// Version found in the file.
        found: i64,
        /// Highest version this build understands.
        supported: i64,
    },

    /// The store is encrypted and was opened without its key, or with another key (or the
    /// file is not a store at all). Never reported as corruption: the data is intact.
    #[error(
        "the store at {path} {problem}: open it with the key it was encrypted with; if that key is lost the store cannot be read, so delete it and sync again (what was never synced is lost with it)"
    )]
    WrongKey {
        /// The store's file.
        path: String,
        /// What is wrong with the key.
        problem: &'static str,
    },

    /// A key was given, but this build's SQLite is not SQLCipher.
    #[error(
        "the store cannot be encrypted: this build of wangge-core has no SQLCipher; build it with its `sqlcipher` feature (on by default), or open the store without a key"
    )]
    EncryptionUnavailable,

    /// SQLite reported an error.
    #[error(
        "local database error: {0}; if this persists, free storage space or reinstall after syncing"
    )]
    Sqlite(#[from] rusqlite::Error),

    /// A photo could not be imported.
    #[error(transparent)]
    Photo(#[from] crate::photo::PhotoError),

    /// Syncing with the server failed.
    #[error(transparent)]
    Sync(#[from] crate::sync::SyncError),

    /// An I/O error outside SQLite (e.g. creating the store's folder).
    #[error("file error on {path}: {source}")]
    Io {
        /// The path concerned.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    pub(crate) fn invalid(field: &'static str, reason: impl Into<String>) -> Self {
        Error::InvalidInput {
            field,
            reason: reason.into(),
        }
    }
}
