//! `/v1/photos`: resumable, content-addressed photo uploads, and photo and thumbnail downloads.
//! The protocol is in `docs/sync-protocol.md`, section "Photos".

use axum::Json;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Deserialize;

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiBytes, ApiPath, ApiQuery};
use crate::routes::{AuthDevice, blocking};
use crate::storage::sqlite::check_sha256;
use crate::storage::{ChunkOutcome, Device, PhotoChunk, PhotoUpload};

/// Query of `PUT /v1/photos/{sha}`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
pub struct ChunkParams {
    /// Where the chunk starts: the `received` the server reported.
    pub offset: u64,
    /// The photo's whole size in bytes.
    pub total: u64,
    /// For a thumbnail: the hash of the photo it shows.
    #[serde(default)]
    pub thumbnail_of: Option<String>,
}

/// `GET /v1/photos/{sha}/upload`: how many bytes of the photo the server holds.
pub async fn upload_state(
    State(state): State<AppState>,
    AuthDevice(_device): AuthDevice,
    ApiPath(sha): ApiPath<String>,
) -> Result<Json<PhotoUpload>, ApiError> {
    let storage = state.storage.clone();
    Ok(Json(blocking(move || storage.photo_upload(&sha)).await?))
}

/// `PUT /v1/photos/{sha}?offset=N&total=T[&thumbnail_of=P]`: appends the body at `N`.
pub async fn put_chunk(
    State(state): State<AppState>,
    AuthDevice(device): AuthDevice,
    ApiPath(sha): ApiPath<String>,
    params: Result<ApiQuery<ChunkParams>, ApiError>,
    ApiBytes(body): ApiBytes,
) -> Result<Response, ApiError> {
    // Its own code, documented with the photo errors since before `bad_query` existed.
    let ApiQuery(params) = params.map_err(|e| ApiError {
        code: "bad_upload_parameters",
        message: format!(
            "{}: send ?offset=<bytes the server holds>&total=<photo size in bytes>",
            e.message
        ),
        ..e
    })?;
    check_sha256("photo hash", &sha)?;
    let now = state.clock.now_ms();
    let storage = state.storage.clone();
    let (sha_in, device_id) = (sha.clone(), device.device_id.clone());
    let (offset, total, len) = (params.offset, params.total, body.len() as u64);
    let outcome = blocking(move || {
        storage.put_photo_chunk(
            &PhotoChunk {
                sha256: &sha_in,
                offset,
                total,
                data: &body,
                thumbnail_of: params.thumbnail_of.as_deref(),
                device_id: &device_id,
            },
            now,
        )
    })
    .await?;
    match outcome {
        ChunkOutcome::Stored(upload) => {
            if upload.complete && offset.saturating_add(len) == total {
                tracing::info!(device = %device.device_id, photo = %sha, bytes = total, "photo stored");
            }
            let mut response = Json(upload).into_response();
            response
                .extensions_mut()
                .insert(crate::metrics::PhotoBytes {
                    received: len,
                    sent: 0,
                });
            Ok(response)
        }
        ChunkOutcome::WrongOffset(upload) => {
            let body = serde_json::json!({
                "error": "offset_mismatch",
                "message": format!(
                    "the upload of {sha} stands at byte {} (of {}), not {offset}: \
                     resume from there (GET /v1/photos/{sha}/upload)",
                    upload.received,
                    upload.total.map_or_else(|| "unknown".to_owned(), |t| t.to_string()),
                ),
                "received": upload.received,
                "total": upload.total,
            });
            Ok((StatusCode::CONFLICT, Json(body)).into_response())
        }
        ChunkOutcome::HashMismatch { actual } => {
            tracing::warn!(device = %device.device_id, photo = %sha, %actual, "photo hash mismatch");
            Err(ApiError::unprocessable(
                "hash_mismatch",
                format!(
                    "the {total} bytes received hash to {actual}, not {sha}: the upload was \
                     discarded and nothing was stored; upload the photo again from offset 0"
                ),
            ))
        }
    }
}

pub(crate) fn jpeg(bytes: Vec<u8>, etag: &str) -> Response {
    let sent = bytes.len() as u64;
    let mut response = (
        [
            (header::CONTENT_TYPE, "image/jpeg".to_owned()),
            (header::ETAG, format!("\"{etag}\"")),
            // Content-addressed: the bytes behind a hash never change.
            (
                header::CACHE_CONTROL,
                "private, max-age=31536000, immutable".to_owned(),
            ),
        ],
        bytes,
    )
        .into_response();
    response
        .extensions_mut()
        .insert(crate::metrics::PhotoBytes { received: 0, sent });
    response
}

/// Refuses a photo no document of the device's scope references (the centre reads all).
async fn check_in_scope(state: &AppState, device: Device, sha: &str) -> Result<(), ApiError> {
    let storage = state.storage.clone();
    let key = sha.to_owned();
    if blocking(move || storage.photo_in_scope(&device, &key)).await? {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "out_of_scope",
            format!(
                "photo {sha} belongs to no case or zero report in this device's scope; a device \
                 reads the photos of the documents it receives"
            ),
        ))
    }
}

/// `GET /v1/photos/{sha}`: a complete photo (or thumbnail, by its own hash).
pub async fn get_photo(
    State(state): State<AppState>,
    AuthDevice(device): AuthDevice,
    ApiPath(sha): ApiPath<String>,
) -> Result<Response, ApiError> {
    check_in_scope(&state, device, &sha).await?;
    let storage = state.storage.clone();
    let key = sha.clone();
    match blocking(move || storage.photo(&key)).await? {
        Some(bytes) => Ok(jpeg(bytes, &sha)),
        None => Err(ApiError::not_found(format!(
            "photo {sha} is not on the server (yet): the device that took it uploads it at its next sync"
        ))),
    }
}

/// `GET /v1/photos/{sha}/thumbnail`: the thumbnail of the photo `sha`; its own hash is in the
/// `ETag` and `X-Wangge-Thumbnail-Sha256` headers.
pub async fn get_thumbnail(
    State(state): State<AppState>,
    AuthDevice(device): AuthDevice,
    ApiPath(sha): ApiPath<String>,
) -> Result<Response, ApiError> {
    check_in_scope(&state, device, &sha).await?;
    let storage = state.storage.clone();
    let key = sha.clone();
    match blocking(move || storage.photo_thumbnail(&key)).await? {
        Some((thumb_sha, bytes)) => {
            let mut response = jpeg(bytes, &thumb_sha);
            if let Ok(value) = header::HeaderValue::from_str(&thumb_sha) {
                response
                    .headers_mut()
                    .insert("x-wangge-thumbnail-sha256", value);
            }
            Ok(response)
        }
        None => Err(ApiError::not_found(format!(
            "the thumbnail of photo {sha} is not on the server (yet): the device that took it \
             uploads it at its next sync"
        ))),
    }
}
