//! `POST /v1/sync`: one round of the sync protocol.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use wangge_core::sync::protocol::SyncRequest;

use crate::AppState;
use crate::error::ApiError;
use crate::routes::{AuthDevice, blocking};

/// Merges what the device pushes and answers what it lacks.
pub async fn sync(
    State(state): State<AppState>,
    AuthDevice(device): AuthDevice,
    body: Bytes,
) -> Result<impl IntoResponse, ApiError> {
    let request = SyncRequest::decode(&body)
        .map_err(|e| ApiError::bad_request("malformed_request", e.to_string()))?;
    let pushed = request.docs.len();
    let device_cursor = request.cursor;
    let device_id = device.device_id.clone();
    let now = state.clock.now_ms();
    let storage = state.storage.clone();
    let response = blocking(move || storage.sync(&device, &request, now)).await?;
    if response.reset {
        tracing::warn!(
            device = %device_id,
            device_cursor,
            "the device has seen more of the change feed than this database holds \
             (restored from a backup?): told it to start over and push everything again"
        );
    }
    tracing::info!(
        device = %device_id,
        pushed,
        pulled = response.docs.len(),
        cursor = response.cursor,
        reset = response.reset,
        "sync"
    );
    Ok((
        [(header::CONTENT_TYPE, "application/octet-stream")],
        response.encode(),
    ))
}
