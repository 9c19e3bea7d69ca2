//! Extractors that refuse a request with an [`ApiError`] — JSON with a stable code, like
//! every other refusal of the server — instead of axum's plain-text rejections.
//!
//! Each wrapper delegates to axum's extractor of the same name and maps its rejection,
//! keeping axum's status code and detail:
//!
//! | extractor | refusal | status | code |
//! |---|---|---|---|
//! | [`ApiJson`] | no `Content-Type: application/json` | 415 | `unsupported_media_type` |
//! | [`ApiJson`] | not JSON | 400 | `malformed_json` |
//! | [`ApiJson`] | JSON of the wrong shape (type, field, value) | 422 | `invalid_json` |
//! | [`ApiJson`], [`ApiBytes`] | body over the limit of the endpoint | 413 | `body_too_large` |
//! | [`ApiJson`], [`ApiBytes`] | body could not be read | 400 | `malformed_request` |
//! | [`ApiQuery`] | query string that does not fit the endpoint | 400 | `bad_query` |
//! | [`ApiPath`] | path parameter that cannot be read | 400 | `bad_path` |
//!
//! The body limits come from [`limit_body`], which also tells these extractors the limit so
//! that a refusal names it.

use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::extract::{DefaultBodyLimit, FromRequest, FromRequestParts, Json, Path, Query, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// The body limit of a group of routes and what a client over it should do. [`limit_body`]
/// puts it in every request of those routes, so a refusal can name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyLimit {
    /// Largest body accepted, in bytes.
    pub bytes: usize,
    /// What to do instead, e.g. "send the photo in smaller chunks".
    pub advice: &'static str,
}

/// Limits the bodies of every route of `router` to `limit.bytes` (axum's [`DefaultBodyLimit`])
/// and records the limit in each request for the extractors of this module.
pub fn limit_body<S>(router: Router<S>, limit: BodyLimit) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    router
        .layer(DefaultBodyLimit::max(limit.bytes))
        .layer(axum::Extension(limit))
}

/// `bytes` as people read it: "64 KiB", "8 MiB", "1000 bytes".
fn human_size(bytes: usize) -> String {
    const KIB: usize = 1 << 10;
    const MIB: usize = 1 << 20;
    if bytes >= MIB && bytes.is_multiple_of(MIB) {
        format!("{} MiB", bytes / MIB)
    } else if bytes >= KIB && bytes.is_multiple_of(KIB) {
        format!("{} KiB", bytes / KIB)
    } else {
        format!("{bytes} bytes")
    }
}

/// A refusal whose status axum chose: a 5xx is the server's fault (logged, not detailed to
/// the client), anything else is the client's, with `code` and `message`.
fn refusal(status: StatusCode, code: &'static str, message: String) -> ApiError {
    if status.is_server_error() {
        ApiError::internal(message)
    } else {
        ApiError {
            status,
            code,
            message,
        }
    }
}

/// Maps a body that could not be buffered: over the limit, or cut.
fn bytes_refusal(rejection: &BytesRejection, limit: Option<BodyLimit>) -> ApiError {
    let status = rejection.status();
    if status == StatusCode::PAYLOAD_TOO_LARGE {
        let message = match limit {
            Some(limit) => format!(
                "the body is larger than the {} this endpoint accepts; {}",
                human_size(limit.bytes),
                limit.advice
            ),
            None => "the body is larger than this endpoint accepts; send a smaller body".into(),
        };
        return refusal(status, "body_too_large", message);
    }
    refusal(
        status,
        "malformed_request",
        format!(
            "the request body could not be read ({}): the connection may have been cut; \
             send the request again",
            rejection.body_text()
        ),
    )
}

/// A JSON body, refused with an [`ApiError`] (see the module documentation).
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiJson<T>(pub T);

impl<T, S> FromRequest<S> for ApiJson<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let limit = req.extensions().get::<BodyLimit>().copied();
        match Json::<T>::from_request(req, state).await {
            Ok(Json(value)) => Ok(ApiJson(value)),
            Err(rejection) => Err(json_refusal(rejection, limit)),
        }
    }
}

fn json_refusal(rejection: JsonRejection, limit: Option<BodyLimit>) -> ApiError {
    let status = rejection.status();
    match rejection {
        JsonRejection::MissingJsonContentType(_) => refusal(
            status,
            "unsupported_media_type",
            "the body must be JSON: send Content-Type: application/json with a JSON body".into(),
        ),
        JsonRejection::JsonSyntaxError(e) => refusal(
            status,
            "malformed_json",
            format!("{}; send a well-formed JSON body", e.body_text()),
        ),
        JsonRejection::JsonDataError(e) => refusal(
            status,
            "invalid_json",
            format!(
                "{}; send the fields this endpoint expects, with values of the right type",
                e.body_text()
            ),
        ),
        JsonRejection::BytesRejection(e) => bytes_refusal(&e, limit),
        // A kind of refusal a later axum adds.
        other => refusal(
            status,
            "malformed_request",
            format!("{}; fix the request", other.body_text()),
        ),
    }
}

/// A query string, refused with an [`ApiError`] coded `bad_query`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiQuery<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiQuery<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(value)) => Ok(ApiQuery(value)),
            Err(rejection) => Err(query_refusal(&rejection)),
        }
    }
}

fn query_refusal(rejection: &QueryRejection) -> ApiError {
    refusal(
        rejection.status(),
        "bad_query",
        format!("{}; fix the query string", rejection.body_text()),
    )
}

/// Path parameters, refused with an [`ApiError`] coded `bad_path`.
#[derive(Debug, Clone, Copy, Default)]
pub struct ApiPath<T>(pub T);

impl<T, S> FromRequestParts<S> for ApiPath<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<T>::from_request_parts(parts, state).await {
            Ok(Path(value)) => Ok(ApiPath(value)),
            Err(rejection) => Err(path_refusal(&rejection)),
        }
    }
}

fn path_refusal(rejection: &PathRejection) -> ApiError {
    refusal(
        rejection.status(),
        "bad_path",
        format!(
            "{}; percent-encode the path as UTF-8 and check it against the endpoint",
            rejection.body_text()
        ),
    )
}

/// The raw body, refused with an [`ApiError`]: `body_too_large` (413) over the limit of the
/// endpoint, `malformed_request` (400) if it could not be read.
#[derive(Debug, Clone, Default)]
pub struct ApiBytes(pub Bytes);

impl<S> FromRequest<S> for ApiBytes
where
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let limit = req.extensions().get::<BodyLimit>().copied();
        match Bytes::from_request(req, state).await {
            Ok(bytes) => Ok(ApiBytes(bytes)),
            Err(rejection) => Err(bytes_refusal(&rejection, limit)),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use axum::body::Body;
    use axum::http::header::CONTENT_TYPE;

    use super::*;

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct Shape {
        n: u32,
    }

    fn json_request(content_type: Option<&str>, body: &'static str) -> Request {
        let mut builder = Request::builder().method("POST").uri("/x");
        if let Some(ct) = content_type {
            builder = builder.header(CONTENT_TYPE, ct);
        }
        builder.body(Body::from(body)).unwrap()
    }

    async fn json_error(content_type: Option<&str>, body: &'static str) -> ApiError {
        ApiJson::<Shape>::from_request(json_request(content_type, body), &())
            .await
            .unwrap_err()
    }

    #[tokio::test]
    async fn json_rejections_become_coded_errors() {
        let e = json_error(None, r#"{"n": 1}"#).await;
        assert_eq!((e.status.as_u16(), e.code), (415, "unsupported_media_type"));
        assert!(e.message.contains("Content-Type: application/json"));
        let e = json_error(Some("application/json"), "{").await;
        assert_eq!((e.status.as_u16(), e.code), (400, "malformed_json"));
        let e = json_error(Some("application/json"), r#"{"n": "one"}"#).await;
        assert_eq!((e.status.as_u16(), e.code), (422, "invalid_json"));
        assert!(e.message.contains("invalid type"), "{}", e.message);
        let ok = ApiJson::<Shape>::from_request(
            json_request(Some("application/json"), r#"{"n": 1}"#),
            &(),
        )
        .await
        .unwrap();
        assert_eq!(ok.0.n, 1);
    }

    #[tokio::test]
    async fn query_rejections_become_coded_errors() {
        let (mut parts, ()) = Request::builder()
            .uri("/x?n=lots")
            .body(())
            .unwrap()
            .into_parts();
        let e = ApiQuery::<Shape>::from_request_parts(&mut parts, &())
            .await
            .unwrap_err();
        assert_eq!((e.status.as_u16(), e.code), (400, "bad_query"));
        assert!(e.message.contains("n: invalid digit"), "{}", e.message);
    }

    #[test]
    fn sizes_read_as_people_write_them() {
        assert_eq!(human_size(64 << 10), "64 KiB");
        assert_eq!(human_size(32 << 20), "32 MiB");
        assert_eq!(human_size(1000), "1000 bytes");
        assert_eq!(human_size(1536), "1536 bytes");
    }
}
