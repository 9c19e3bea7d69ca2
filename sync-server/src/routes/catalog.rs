//! `GET /v1/catalog`: the reference data in force (checklist, calendar, grids) and its
//! version, for a device whose sync answer named another version (`x-wangge-catalog`).
//! Any enrolled device may read it: it holds the street's rules, not cases.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use wangge_core::CatalogFiles;

use crate::AppState;
use crate::error::ApiError;
use crate::routes::AuthDevice;

/// The answer of `GET /v1/catalog`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct CatalogAnswer {
    /// The version: the hex SHA-256 of the files (`wangge_core::CatalogFiles::version`).
    pub version: String,
    /// The three files, as text.
    pub files: CatalogFiles,
}

/// `GET /v1/catalog`, with `If-None-Match: "<version>"` answered `304` when unchanged.
pub async fn catalog(
    State(state): State<AppState>,
    _device: AuthDevice,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let version = state.catalog.version();
    let etag = format!("\"{version}\"");
    let unchanged = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == etag));
    let tag = HeaderValue::from_str(&etag).map_err(ApiError::internal)?;
    if unchanged {
        return Ok((StatusCode::NOT_MODIFIED, [(header::ETAG, tag)]).into_response());
    }
    let answer = CatalogAnswer {
        version: version.to_owned(),
        files: state.catalog.files().clone(),
    };
    Ok(([(header::ETAG, tag)], Json(answer)).into_response())
}
