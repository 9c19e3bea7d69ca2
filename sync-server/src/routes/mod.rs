//! HTTP handlers.

pub mod board;
pub mod catalog;
pub mod enrol;
pub mod export;
pub mod figures;
pub mod intake;
pub mod me;
pub mod office;
pub mod open311;
pub mod photos;
pub mod sync;

use axum::extract::FromRequestParts;
use axum::http::request::Parts;

use crate::audit::AuditSlot;
use crate::error::ApiError;
use crate::storage::{Device, DeviceRole};
use crate::{AppState, auth};

/// The authenticated device making the request. Extracting it also records the device for
/// the request's audit line ([`crate::audit`]).
#[derive(Debug, Clone)]
pub struct AuthDevice(pub Device);

/// Which token authenticated the request: what `POST /v1/sync` needs to decide whether to
/// give the device a new one (`crate::tokens`). [`AuthDevice`] puts it in the request's
/// extensions. Holds the token's hash only.
#[derive(Debug, Clone)]
pub struct UsedToken {
    /// The SHA-256 of the token the request carried.
    pub hash: Vec<u8>,
    /// When the device's current token was issued (ms).
    pub issued_at: i64,
    /// The request carried the device's previous token (a rotation's answer was lost).
    pub previous: bool,
}

impl FromRequestParts<AppState> for AuthDevice {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let hash = auth::hash_token(auth::bearer(header)?);
        let storage = state.storage.clone();
        let lookup = hash.clone();
        let found = blocking(move || storage.device_token(&lookup))
            .await?
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "unknown device token; enrol the device with `wangge-server enroll`",
                )
            })?;
        let device = found.device;
        // For the audit line, before any refusal: a revoked device's attempts name it too.
        if let Some(slot) = parts.extensions.get::<AuditSlot>() {
            slot.set(&device);
        }
        // Revocation first: a revoked phone must learn it (and wipe what it received), even
        // with a token that has expired meanwhile.
        if device.revoked_at.is_some() {
            return Err(ApiError::forbidden(
                "revoked",
                "this device has been revoked; ask an administrator to enrol it again",
            ));
        }
        let now = state.clock.now_ms();
        let expired = match found.previous_until {
            Some(until) => now >= until,
            None => now >= state.tokens.expires_at(found.issued_at),
        };
        if expired {
            return Err(ApiError {
                status: axum::http::StatusCode::UNAUTHORIZED,
                code: "token_expired",
                message: "this device's token has expired (the device did not sync while it \
                          could be renewed); pair the device again with a new code from the \
                          back office: nothing recorded on it is lost"
                    .into(),
            });
        }
        if found.previous_until.is_none() && found.has_previous {
            // The device used the token a rotation gave it, so it has it: the old one can go.
            let storage = state.storage.clone();
            let device_id = device.device_id.clone();
            blocking(move || storage.drop_previous_token(&device_id)).await?;
        }
        parts.extensions.insert(UsedToken {
            hash,
            issued_at: found.issued_at,
            previous: found.previous_until.is_some(),
        });
        Ok(AuthDevice(device))
    }
}

/// An authenticated device of the management centre.
#[derive(Debug, Clone)]
pub struct CentreDevice(pub Device);

impl FromRequestParts<AppState> for CentreDevice {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let AuthDevice(device) = AuthDevice::from_request_parts(parts, state).await?;
        if device.role != DeviceRole::Centre {
            return Err(ApiError::forbidden(
                "centre_only",
                "only the management centre's devices may use the back office",
            ));
        }
        Ok(CentreDevice(device))
    }
}

/// Runs blocking storage work off the async threads.
pub async fn blocking<T: Send + 'static, E: Into<ApiError> + Send + 'static>(
    f: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(format!("worker failed: {e}")))?
        .map_err(Into::into)
}

/// The client's IP address, when the server was started with connection
/// info (`wangge-server serve` is; an in-process test router may not be).
#[derive(Debug, Clone)]
pub struct RemoteAddr(pub Option<String>);

impl<S: Send + Sync> FromRequestParts<S> for RemoteAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(RemoteAddr(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip().to_string()),
        ))
    }
}

/// The answer of `GET /ready`.
#[derive(
    Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct Ready {
    /// Always true in a 200 answer.
    pub ready: bool,
}

/// `GET /ready`: 200 when the database answers and is at this server's schema; `503
/// not_ready` when it is at another schema, `503 database_unavailable` when it does not
/// answer. `/health` only says the process is alive.
pub async fn ready(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Result<axum::Json<Ready>, ApiError> {
    let storage = state.storage.clone();
    let answer = tokio::task::spawn_blocking(move || storage.ready())
        .await
        .map_err(ApiError::internal)?;
    match answer {
        Ok(()) => Ok(axum::Json(Ready { ready: true })),
        // Unreachable or failing: a load balancer must stop sending traffic here, so the
        // answer is 503 (not the 500 of a request that failed), with the cause logged.
        Err(crate::storage::StorageError::Database(e)) => {
            tracing::warn!(error = %e, "not ready: the database does not answer");
            Err(ApiError {
                status: axum::http::StatusCode::SERVICE_UNAVAILABLE,
                code: "database_unavailable",
                message: "the database does not answer; this instance is not ready until it \
                          does (see the server's log for the cause)"
                    .into(),
            })
        }
        Err(e) => Err(e.into()),
    }
}
