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
