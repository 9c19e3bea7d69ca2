//! The console's stylesheet and script, compiled into the binary (`cargo run` alone serves
//! the console on a fresh machine; nothing to build or download). Each is served at a URL
//! carrying a hash of its content, so browsers cache it for good and a new binary's assets
//! are fetched at once.

use std::sync::OnceLock;

use axum::extract::Path;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// One embedded file.
#[derive(Debug)]
pub struct Asset {
    /// Its name under `/console/assets/`.
    pub name: &'static str,
    /// Its content type.
    pub content_type: &'static str,
    /// Its bytes.
    pub body: &'static str,
    version: OnceLock<String>,
}

impl Asset {
    const fn new(name: &'static str, content_type: &'static str, body: &'static str) -> Self {
        Asset {
            name,
            content_type,
            body,
            version: OnceLock::new(),
        }
    }

    /// The first 12 hex digits of the content's SHA-256.
    pub fn version(&self) -> &str {
        self.version.get_or_init(|| {
            Sha256::digest(self.body.as_bytes())
                .iter()
                .take(6)
                .map(|b| format!("{b:02x}"))
                .collect()
        })
    }

    /// The URL pages link to.
    pub fn url(&self) -> String {
        format!("/console/assets/{}?v={}", self.name, self.version())
    }
}

/// The stylesheet.
pub static CSS: Asset = Asset::new(
    "console.css",
    "text/css; charset=utf-8",
    include_str!("assets/console.css"),
);
/// The script: live countdowns, picking a position on the map, confirmations.
pub static JS: Asset = Asset::new(
    "console.js",
    "text/javascript; charset=utf-8",
    include_str!("assets/console.js"),
);

/// `GET /console/assets/{name}`: no session needed (nothing in them is private).
pub async fn serve(Path(name): Path<String>) -> Response {
    let Some(asset) = [&CSS, &JS].into_iter().find(|a| a.name == name) else {
        return ApiError::not_found(format!("no console asset '{name}'")).into_response();
    };
    let mut response = asset.body.into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, max-age=31536000, immutable"),
    );
    response
}
