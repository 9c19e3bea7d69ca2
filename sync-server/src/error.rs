//! One error type for every endpoint, turned into an HTTP response with a
//! stable machine code and a message that says what to do.

use axum::Json;
use axum::http::{Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};

use crate::storage::error::{PairingRefusal, PhotoRefusal, StorageError, core_code};

/// The body of every refusal: `{"error": "<code>", "message": "<what to do>"}`.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct ErrorBody {
    /// Stable machine-readable code.
    pub error: String,
    /// What went wrong and what to do, for a person.
    pub message: String,
}

/// An error answered to a client.
#[derive(Debug, thiserror::Error)]
#[error("{code}: {message}")]
pub struct ApiError {
    /// HTTP status.
    pub status: StatusCode,
    /// Stable machine-readable code (see `docs/sync-protocol.md`).
    pub code: &'static str,
    /// What went wrong and what to do.
    pub message: String,
}

impl ApiError {
    /// A 400 for a malformed request.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::BAD_REQUEST,
            code,
            message: message.into(),
        }
    }

    /// A 401: no or unknown token.
    pub fn unauthorized(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::UNAUTHORIZED,
            code: "unauthorized",
            message: message.into(),
        }
    }

    /// A 403: the device may not do this.
    pub fn forbidden(code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::FORBIDDEN,
            code,
            message: message.into(),
        }
    }

    /// A 404.
    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::NOT_FOUND,
            code: "not_found",
            message: message.into(),
        }
    }

    /// A 409: the request conflicts with the stored state.
    pub fn conflict(code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::CONFLICT,
            code,
            message: message.into(),
        }
    }

    /// A 422: well-formed, but refused by the domain rules.
    pub fn unprocessable(code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status: StatusCode::UNPROCESSABLE_ENTITY,
            code,
            message: message.into(),
        }
    }

    /// A 500. The detail is logged, not sent: it may name files or data.
    pub fn internal(detail: impl std::fmt::Display) -> Self {
        tracing::error!(%detail, "internal error");
        ApiError {
            status: StatusCode::INTERNAL_SERVER_ERROR,
            code: "internal",
            message: "the server failed to complete the request; it was not applied, retry later"
                .into(),
        }
    }
}

impl From<wangge_core::Error> for ApiError {
    fn from(e: wangge_core::Error) -> Self {
        let status = match core_code(&e) {
            "corrupt_document" => StatusCode::BAD_REQUEST,
            "not_found" => StatusCode::NOT_FOUND,
            "event_not_allowed" | "invalid_input" => StatusCode::UNPROCESSABLE_ENTITY,
            _ => return ApiError::internal(e),
        };
        ApiError {
            status,
            code: core_code(&e),
            message: e.to_string(),
        }
    }
}

/// The HTTP edge of the storage: the one place a [`StorageError`] becomes a response. The
/// storage says what happened and with which code ([`StorageError::code`]); the status is
/// decided here. The storage failing is logged and answered `500 internal` without detail.
impl From<StorageError> for ApiError {
    fn from(e: StorageError) -> Self {
        use StorageError as E;
        let e = match e {
            E::Core(core) => return core.into(),
            other => other,
        };
        let status = match &e {
            E::Database(_) | E::Internal(_) | E::Core(_) => return ApiError::internal(e),
            E::NotFound(_) => StatusCode::NOT_FOUND,
            E::CorruptDocument { .. } | E::BadQuery(_) => StatusCode::BAD_REQUEST,
            E::Quarantined { .. }
            | E::AlreadyEnrolled { .. }
            | E::UsernameTaken { .. }
            | E::Pairing(PairingRefusal::Used | PairingRefusal::DeviceIdTaken) => {
                StatusCode::CONFLICT
            }
            E::UseRegister
            | E::MergeIntoItself
            | E::TargetMerged { .. }
            | E::UnknownUnit { .. }
            | E::PhotoNotUploaded { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            E::NotReady { .. } => StatusCode::SERVICE_UNAVAILABLE,
            E::Photo(PhotoRefusal::InvalidHash { .. })
            | E::Photo(PhotoRefusal::EmptyChunk)
            | E::Photo(PhotoRefusal::BeyondTotal { .. }) => StatusCode::BAD_REQUEST,
            E::Photo(PhotoRefusal::TooLarge { .. } | PhotoRefusal::ChunkTooLarge { .. }) => {
                StatusCode::PAYLOAD_TOO_LARGE
            }
            E::Pairing(PairingRefusal::Unknown) => StatusCode::NOT_FOUND,
            E::Pairing(PairingRefusal::Expired | PairingRefusal::Locked) => StatusCode::GONE,
            E::Pairing(PairingRefusal::PersonInactive) => StatusCode::FORBIDDEN,
        };
        ApiError {
            status,
            code: e.code(),
            message: e.to_string(),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = ErrorBody {
            error: self.code.to_owned(),
            message: self.message,
        };
        let mut response = (self.status, Json(body)).into_response();
        // For the audit line (`crate::audit`): the code, never the message.
        response
            .extensions_mut()
            .insert(crate::audit::ErrorCode(self.code));
        response
    }
}

/// Result alias for handlers.
pub type ApiResult<T> = Result<T, ApiError>;

/// The path of `uri` to show in a message: without the query string (it may carry
/// parameters nobody should find in a log), and cut short if absurdly long.
fn shown_path(uri: &Uri) -> String {
    const MAX_CHARS: usize = 200;
    let path = uri.path();
    match path.char_indices().nth(MAX_CHARS) {
        Some((end, _)) => format!("{}…", &path[..end]),
        None => path.to_owned(),
    }
}

/// The router's fallback: no endpoint at this path (`404 not_found`).
pub async fn no_such_endpoint(method: Method, uri: Uri) -> ApiError {
    ApiError::not_found(format!(
        "there is no endpoint {method} {}: check the URL (the API is under /v1/) and that the \
         app and the server are up to date",
        shown_path(&uri)
    ))
}

/// The fallback of every route for a method it does not serve (`405 method_not_allowed`);
/// axum adds the `Allow` header listing the methods the path serves.
pub async fn method_not_allowed(method: Method, uri: Uri) -> ApiError {
    ApiError {
        status: StatusCode::METHOD_NOT_ALLOWED,
        code: "method_not_allowed",
        message: format!(
            "{} does not accept {method}: use one of the methods its Allow header lists",
            shown_path(&uri)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every storage refusal reaches the client with the status, code and message it had
    /// when the storage built `ApiError`s itself: clients and tests rely on them.
    #[test]
    fn storage_refusals_keep_their_status_code_and_message() {
        use StorageError as E;
        let cases: Vec<(StorageError, u16, &str, &str)> = vec![
            (
                E::NotFound(
                    "case c1 is not on the server; sync the device that recorded it".into(),
                ),
                404,
                "not_found",
                "case c1 is not on the server; sync the device that recorded it",
            ),
            (
                E::CorruptDocument {
                    doc_id: "c1".into(),
                    why: "the document has no kind".into(),
                },
                400,
                "corrupt_document",
                "document c1: the document has no kind; the request was not applied",
            ),
            (
                E::Quarantined {
                    doc_id: "c1".into(),
                },
                409,
                "quarantined",
                "document c1 is damaged and set aside (see `wangge-server quarantine`); sync a device that holds it to repair it",
            ),
            (
                E::AlreadyEnrolled {
                    device_id: "d1".into(),
                },
                409,
                "already_enrolled",
                "device d1 is already enrolled",
            ),
            (
                E::UseRegister,
                422,
                "use_register",
                "register a case with POST /v1/cases/{id}/register, which assigns its official number",
            ),
            (
                E::MergeIntoItself,
                422,
                "merge_into_itself",
                "a case cannot be merged into itself; name the case that carries the handling",
            ),
            (
                E::TargetMerged {
                    target: "b".into(),
                    merged_into: "c".into(),
                },
                422,
                "target_merged",
                "case b was itself merged into c; merge into that case instead",
            ),
            (
                E::NotReady {
                    found: 12,
                    runs: 13,
                },
                503,
                "not_ready",
                "the database is at schema 12, this server runs 13; restart the server to migrate it",
            ),
            (
                E::UnknownUnit {
                    staff_id: "XT-UH-001".into(),
                    unit: "物业".into(),
                },
                422,
                "unknown_unit",
                "XT-UH-001 belongs to unit '物业', which is not in the unit register; add it to the roster's units",
            ),
            (
                E::UsernameTaken {
                    username: "zhouxy".into(),
                },
                409,
                "username_taken",
                "another person already logs in as 'zhouxy'; choose another username",
            ),
            (
                E::PhotoNotUploaded {
                    sha256: "ab".into(),
                },
                422,
                "photo_not_uploaded",
                "photo ab is not on the server; upload it with PUT /v1/photos/{sha} first",
            ),
            (
                E::BadQuery("q: type at least one character to search".into()),
                400,
                "bad_query",
                "q: type at least one character to search",
            ),
            (
                PhotoRefusal::InvalidHash {
                    what: "photo hash".into(),
                    text: "xyz".into(),
                }
                .into(),
                400,
                "invalid_photo_hash",
                "photo hash 'xyz' is not a SHA-256 in lowercase hex (64 characters)",
            ),
            (
                PhotoRefusal::TooLarge { total: 0, max: 10 }.into(),
                413,
                "photo_too_large",
                "a photo of 0 bytes cannot be stored: photos must be 1 to 10 bytes; import it again with a smaller max_edge",
            ),
            (
                PhotoRefusal::EmptyChunk.into(),
                400,
                "empty_chunk",
                "the chunk has no bytes; send the bytes from `offset` on",
            ),
            (
                PhotoRefusal::ChunkTooLarge { max: 8 }.into(),
                413,
                "body_too_large",
                "chunks are at most 8 bytes; send smaller chunks",
            ),
            (
                PhotoRefusal::BeyondTotal {
                    len: 5,
                    offset: 10,
                    total: 12,
                }
                .into(),
                400,
                "chunk_beyond_total",
                "5 bytes at offset 10 end past the declared total of 12 bytes",
            ),
            (
                PairingRefusal::Unknown.into(),
                404,
                "pairing_code_unknown",
                "no such pairing code: check the code (8 characters, e.g. ABC-DEFGH), or ask the back office for a new one",
            ),
            (
                PairingRefusal::Used.into(),
                409,
                "pairing_code_used",
                "this pairing code was already used (a code enrols one device, once); ask the back office for a new one",
            ),
            (
                PairingRefusal::Expired.into(),
                410,
                "pairing_code_expired",
                "this pairing code has expired; ask the back office for a new one",
            ),
            (
                PairingRefusal::Locked.into(),
                410,
                "pairing_code_locked",
                "this pairing code was locked after too many wrong attempts; ask the back office for a new one",
            ),
            (
                PairingRefusal::PersonInactive.into(),
                403,
                "person_inactive",
                "the person this code is for is no longer active in the register; ask the back office",
            ),
            (
                PairingRefusal::DeviceIdTaken.into(),
                409,
                "device_id_taken",
                "this device id belongs to another person's active device; reinstall the app (a new device id) or ask the back office to revoke the other device",
            ),
        ];
        for (error, status, code, message) in cases {
            assert_eq!(error.code(), code);
            let api = ApiError::from(error);
            assert_eq!(
                (api.status.as_u16(), api.code, api.message.as_str()),
                (status, code, message)
            );
        }
    }

    /// The storage failing is answered without its detail; a core refusal keeps its code.
    #[test]
    fn a_database_failure_is_internal_and_a_core_refusal_keeps_its_code() {
        let failed = StorageError::Database("disk I/O error at /var/lib/street.sqlite3".into());
        let api = ApiError::from(failed);
        assert_eq!((api.status.as_u16(), api.code), (500, "internal"));
        assert!(!api.message.contains("sqlite3"), "{}", api.message);
        assert!(api.message.contains("retry later"), "{}", api.message);

        let core = wangge_core::Error::UnknownGrid("XT-99".into());
        let message = core.to_string();
        let api = ApiError::from(StorageError::from(core));
        assert_eq!(
            (api.status.as_u16(), api.code, api.message),
            (422, "invalid_input", message)
        );
    }
}
