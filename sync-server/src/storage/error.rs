//! What the storage answers when it does not do what it was asked: its own error type, which
//! knows nothing of HTTP. The HTTP edge turns it into an [`ApiError`](crate::error::ApiError)
//! in one place (`From<StorageError> for ApiError`, `crate::error`), which picks the status.
//!
//! Three kinds of errors, told apart because they are answered differently:
//! - **the storage failing** ([`StorageError::Database`], [`StorageError::Internal`]): the
//!   database refused, or holds something this server cannot read. The detail is logged and
//!   never shown (it may name files, queries or data); the client is told to retry later.
//! - **not found** ([`StorageError::NotFound`]): the named case is not on the server.
//! - **refusals** (every other variant): the request is well-formed but the stored state or
//!   the domain rules refuse it. Each has a stable machine code ([`StorageError::code`]) that
//!   clients and tests rely on, and a message that says what went wrong and what to do; a
//!   refusal of the core (a case event the rules do not allow) keeps the core's own code.
//!
//! Every backend answers the same variant for the same situation: the conformance suite
//! (`crate::storage::conformance`) checks the codes.

use wangge_core::Error as CoreError;

/// An error of the storage.
#[derive(Debug, thiserror::Error)]
pub enum StorageError {
    /// The database failed (a connection, a query, a constraint the code did not expect).
    /// Internal: logged, never shown to the client.
    #[error(
        "the database failed: {0}; the operation was not applied: retry, and check the \
         database (its file, disk or server) if it persists"
    )]
    Database(#[source] Box<dyn std::error::Error + Send + Sync>),
    /// The stored data or the server is not as it must be (a value this version cannot read,
    /// no randomness, a schema newer than the server). Internal: logged, never shown.
    #[error("{0}")]
    Internal(String),
    /// The core refused (an event the case's rules do not allow, an invalid input) or failed;
    /// the client gets the core's code.
    #[error(transparent)]
    Core(#[from] CoreError),
    /// What was named is not on the server (or is not what it was named as).
    #[error("{0}")]
    NotFound(String),
    /// A stored document does not decode as the kind it claims (`corrupt_document`).
    #[error("document {doc_id}: {why}; the request was not applied")]
    CorruptDocument {
        /// The document.
        doc_id: String,
        /// What is wrong with it.
        why: String,
    },
    /// A document that no longer loads and is set aside (`quarantined`).
    #[error(
        "document {doc_id} is damaged and set aside (see `wangge-server quarantine`); sync a \
         device that holds it to repair it"
    )]
    Quarantined {
        /// The document.
        doc_id: String,
    },
    /// A device id enrolled already (`already_enrolled`).
    #[error("device {device_id} is already enrolled")]
    AlreadyEnrolled {
        /// The device.
        device_id: String,
    },
    /// A registration sent as a plain case event (`use_register`): only `register_case`
    /// assigns the official number.
    #[error(
        "register a case with POST /v1/cases/{{id}}/register, which assigns its official number"
    )]
    UseRegister,
    /// A case merged into itself (`merge_into_itself`).
    #[error("a case cannot be merged into itself; name the case that carries the handling")]
    MergeIntoItself,
    /// A merge into a case that was itself merged into another (`target_merged`).
    #[error("case {target} was itself merged into {merged_into}; merge into that case instead")]
    TargetMerged {
        /// The case named as the target.
        target: String,
        /// The case it was merged into.
        merged_into: String,
    },
    /// The database is not at the schema this server runs (`not_ready`).
    #[error(
        "the database is at schema {found}, this server runs {runs}; restart the server to \
         migrate it"
    )]
    NotReady {
        /// The database's schema version.
        found: i64,
        /// The version this server runs.
        runs: i64,
    },
    /// A roster names a unit the unit register lacks (`unknown_unit`).
    #[error(
        "{staff_id} belongs to unit '{unit}', which is not in the unit register; add it to the \
         roster's units"
    )]
    UnknownUnit {
        /// The person.
        staff_id: String,
        /// The unit.
        unit: String,
    },
    /// Another person has the console username (`username_taken`).
    #[error("another person already logs in as '{username}'; choose another username")]
    UsernameTaken {
        /// The username.
        username: String,
    },
    /// An intake names a photo that was not uploaded (`photo_not_uploaded`).
    #[error("photo {sha256} is not on the server; upload it with PUT /v1/photos/{{sha}} first")]
    PhotoNotUploaded {
        /// The photo's hash.
        sha256: String,
    },
    /// A list query the storage cannot run as asked (`bad_query`).
    #[error("{0}")]
    BadQuery(String),
    /// A photo upload refused before anything is written.
    #[error(transparent)]
    Photo(#[from] PhotoRefusal),
    /// A pairing code refused.
    #[error(transparent)]
    Pairing(#[from] PairingRefusal),
}

/// Why a photo upload (or a photo hash) is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PhotoRefusal {
    /// A hash that is not 64 lowercase hex digits (`invalid_photo_hash`).
    #[error("{what} '{text}' is not a SHA-256 in lowercase hex (64 characters)")]
    InvalidHash {
        /// What the hash names ("photo hash", "thumbnail_of").
        what: String,
        /// The text given, cut to 80 characters.
        text: String,
    },
    /// A photo of no bytes or above the limit (`photo_too_large`).
    #[error(
        "a photo of {total} bytes cannot be stored: photos must be 1 to {max} bytes; import it \
         again with a smaller max_edge"
    )]
    TooLarge {
        /// The size declared.
        total: u64,
        /// The most a photo may have.
        max: u64,
    },
    /// A chunk without bytes (`empty_chunk`).
    #[error("the chunk has no bytes; send the bytes from `offset` on")]
    EmptyChunk,
    /// A chunk above the limit (`body_too_large`).
    #[error("chunks are at most {max} bytes; send smaller chunks")]
    ChunkTooLarge {
        /// The most a chunk may have.
        max: usize,
    },
    /// A chunk that ends past the photo's declared size (`chunk_beyond_total`).
    #[error("{len} bytes at offset {offset} end past the declared total of {total} bytes")]
    BeyondTotal {
        /// The chunk's length.
        len: usize,
        /// Where it starts.
        offset: u64,
        /// The declared size.
        total: u64,
    },
}

/// Why a pairing code is not exchanged for an enrolment (`crate::pairing`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PairingRefusal {
    /// No such code, or a wrong secret (`pairing_code_unknown`).
    #[error(
        "no such pairing code: check the code (8 characters, e.g. ABC-DEFGH), or ask the back \
         office for a new one"
    )]
    Unknown,
    /// Exchanged already (`pairing_code_used`).
    #[error(
        "this pairing code was already used (a code enrols one device, once); ask the back \
         office for a new one"
    )]
    Used,
    /// Past its validity (`pairing_code_expired`).
    #[error("this pairing code has expired; ask the back office for a new one")]
    Expired,
    /// Locked after too many wrong attempts (`pairing_code_locked`).
    #[error(
        "this pairing code was locked after too many wrong attempts; ask the back office for a \
         new one"
    )]
    Locked,
    /// Its person has left or is inactive (`person_inactive`).
    #[error("the person this code is for is no longer active in the register; ask the back office")]
    PersonInactive,
    /// The app's device id is another person's active device (`device_id_taken`).
    #[error(
        "this device id belongs to another person's active device; reinstall the app (a new \
         device id) or ask the back office to revoke the other device"
    )]
    DeviceIdTaken,
}

impl StorageError {
    /// An internal error: the storage or its data is not as it must be. `detail` is logged
    /// by the HTTP edge, never shown.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        StorageError::Internal(detail.to_string())
    }

    /// The stable machine code the client receives (`docs/sync-protocol.md`), the same for
    /// every backend. `internal` for the storage failing; a core error's code is the one
    /// `From<wangge_core::Error> for ApiError` gives it.
    pub fn code(&self) -> &'static str {
        match self {
            StorageError::Database(_) | StorageError::Internal(_) => "internal",
            StorageError::Core(e) => core_code(e),
            StorageError::NotFound(_) => "not_found",
            StorageError::CorruptDocument { .. } => "corrupt_document",
            StorageError::Quarantined { .. } => "quarantined",
            StorageError::AlreadyEnrolled { .. } => "already_enrolled",
            StorageError::UseRegister => "use_register",
            StorageError::MergeIntoItself => "merge_into_itself",
            StorageError::TargetMerged { .. } => "target_merged",
            StorageError::NotReady { .. } => "not_ready",
            StorageError::UnknownUnit { .. } => "unknown_unit",
            StorageError::UsernameTaken { .. } => "username_taken",
            StorageError::PhotoNotUploaded { .. } => "photo_not_uploaded",
            StorageError::BadQuery(_) => "bad_query",
            StorageError::Photo(r) => r.code(),
            StorageError::Pairing(r) => r.code(),
        }
    }
}

impl PhotoRefusal {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            PhotoRefusal::InvalidHash { .. } => "invalid_photo_hash",
            PhotoRefusal::TooLarge { .. } => "photo_too_large",
            PhotoRefusal::EmptyChunk => "empty_chunk",
            PhotoRefusal::ChunkTooLarge { .. } => "body_too_large",
            PhotoRefusal::BeyondTotal { .. } => "chunk_beyond_total",
        }
    }
}

impl PairingRefusal {
    /// The stable machine code.
    pub fn code(&self) -> &'static str {
        match self {
            PairingRefusal::Unknown => "pairing_code_unknown",
            PairingRefusal::Used => "pairing_code_used",
            PairingRefusal::Expired => "pairing_code_expired",
            PairingRefusal::Locked => "pairing_code_locked",
            PairingRefusal::PersonInactive => "person_inactive",
            PairingRefusal::DeviceIdTaken => "device_id_taken",
        }
    }
}

/// The code a core error reaches the client with: one table, which
/// `From<wangge_core::Error> for ApiError` (`crate::error`) follows.
pub fn core_code(e: &CoreError) -> &'static str {
    match e {
        CoreError::CorruptDocument { .. } => "corrupt_document",
        CoreError::EventNotAllowed { .. } | CoreError::RoleNotAllowed { .. } => "event_not_allowed",
        CoreError::CaseNotFound(_) => "not_found",
        CoreError::InvalidInput { .. }
        | CoreError::InvalidGpsFix(_)
        | CoreError::UnknownChecklistItem(_)
        | CoreError::UnknownGrid(_)
        | CoreError::Grid(_)
        | CoreError::Checklist(_) => "invalid_input",
        _ => "internal",
    }
}

/// Result alias of the storage.
pub type StorageResult<T> = Result<T, StorageError>;
