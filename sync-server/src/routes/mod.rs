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

impl FromRequestParts<AppState> for AuthDevice {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let header = parts
            .headers
            .get(axum::http::header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        let hash = auth::hash_token(auth::bearer(header)?);
        let storage = state.storage.clone();
        let device = blocking(move || storage.device_by_token(&hash))
            .await?
            .ok_or_else(|| {
                ApiError::unauthorized(
                    "unknown device token; enrol the device with `wangge-server enroll`",
                )
            })?;
        // For the audit line, before any refusal: a revoked device's attempts name it too.
        if let Some(slot) = parts.extensions.get::<AuditSlot>() {
            slot.set(&device);
        }
        if device.revoked_at.is_some() {
            return Err(ApiError::forbidden(
                "revoked",
                "this device has been revoked; ask an administrator to enrol it again",
            ));
        }
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
/// not_ready` (or the database's error) otherwise. `/health` only says the process is alive.
pub async fn ready(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> Result<axum::Json<Ready>, ApiError> {
    let storage = state.storage.clone();
    blocking(move || storage.ready()).await?;
    Ok(axum::Json(Ready { ready: true }))
}
