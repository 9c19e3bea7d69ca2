//! # wangge-sync-server
//!
//! The sync server and back office of Wangge. Devices sync over
//! `POST /v1/sync` with the binary protocol of `wangge_core::sync::protocol`
//! (see `docs/sync-protocol.md`) and upload and fetch photos, resumably and
//! by hash, under `/v1/photos`; the management centre registers and
//! dispatches cases and reads the figures over a small JSON API.
//!
//! [`router`] builds the whole HTTP application over a [`storage::Storage`],
//! so tests drive the real application in-process or on a real socket.

pub mod audit;
pub mod auth;
pub mod console;
pub mod device_admin;
pub mod docs;
pub mod error;
pub mod extract;
pub mod metrics;
pub mod office;
pub mod openapi;
pub mod pairing;
pub mod roster;
pub mod routes;
pub mod seal;
pub mod storage;
pub mod tls;
pub mod tokens;

use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};
use wangge_core::{Catalog, Clock};

use crate::extract::{BodyLimit, limit_body};
use crate::storage::Storage;

/// Largest sync request body accepted (a batch of pushed documents).
pub const MAX_SYNC_BODY: usize = 32 << 20;
/// Largest JSON body accepted by the back-office endpoints.
pub const MAX_JSON_BODY: usize = 64 << 10;
/// Largest body of `POST /v1/enrol` (a pairing code, a device name and id).
pub const MAX_ENROL_BODY: usize = 4 << 10;
/// Largest photo upload chunk accepted in one request.
pub const MAX_PHOTO_CHUNK: usize = 8 << 20;
/// Largest photo (or thumbnail) the server stores. Devices store photos of a few hundred KB;
/// this leaves room for a much larger `max_edge` and refuses anything absurd.
pub const MAX_PHOTO_BYTES: u64 = 32 << 20;

/// Everything a request handler needs. Cheap to clone.
#[derive(Clone)]
pub struct AppState {
    /// Where documents live.
    pub storage: Arc<dyn Storage>,
    /// The street's checklist, calendar and grids.
    pub catalog: Arc<Catalog>,
    /// The server's clock.
    pub clock: Arc<dyn Clock>,
    /// The back office's settings (zero-report cut-off).
    pub office: office::OfficeConfig,
    /// How long device tokens work and when they are rotated.
    pub tokens: tokens::TokenPolicy,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState").finish_non_exhaustive()
    }
}

/// `GET /openapi.json`: the API's description, built once.
async fn openapi_json() -> axum::Json<serde_json::Value> {
    static DOC: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    axum::Json(DOC.get_or_init(openapi::document).clone())
}

/// Builds the HTTP application. Every refusal, down to an unknown path or method, is JSON
/// (`docs/sync-protocol.md`, "Errors").
pub fn router(state: AppState) -> Router {
    // One registry per application: tests that run several servers in one process each
    // read their own figures.
    let registry = std::sync::Arc::new(metrics::Metrics::default());
    let sync = limit_body(
        Router::new().route("/v1/sync", post(routes::sync::sync)),
        BodyLimit {
            bytes: MAX_SYNC_BODY,
            advice: "push fewer documents per request",
        },
    );
    let office = limit_body(
        Router::new()
            .route(
                "/v1/cases",
                get(routes::office::list_cases).post(routes::intake::create_case),
            )
            .route(
                "/v1/cases/{id}/contact",
                get(routes::intake::contact).delete(routes::intake::erase_contact),
            )
            .route("/v1/cases/{id}/duplicates", get(routes::intake::duplicates))
            .route("/v1/cases/{id}", get(routes::office::get_case))
            .route("/v1/cases/{id}/evidence", get(routes::office::evidence))
            .route("/v1/cases/{id}/register", post(routes::office::register))
            .route("/v1/cases/{id}/events", post(routes::office::add_event))
            .route("/v1/cases/{id}/merge", post(routes::office::merge))
            .route("/v1/stats", get(routes::office::stats))
            .route("/v1/evaluation", get(routes::figures::evaluation))
            .route("/v1/zero-reports/board", get(routes::board::board))
            .route("/v1/zero-reports/history", get(routes::board::history))
            .route("/v1/zero-reports/missing", get(routes::board::missing))
            .route("/v1/exports/cases.csv", get(routes::export::cases_csv))
            .route(
                "/v1/exports/cases.geojson",
                get(routes::export::cases_geojson),
            )
            .route(
                "/v1/exports/grids.geojson",
                get(routes::export::grids_geojson),
            )
            .route("/v1/exports/changes.ndjson", get(routes::export::changes))
            .route("/v1/me", get(routes::me::me))
            .route("/v1/catalog", get(routes::catalog::catalog)),
        BodyLimit {
            bytes: MAX_JSON_BODY,
            advice: "send only the fields the endpoint expects",
        },
    );
    let photos = limit_body(
        Router::new()
            .route(
                "/v1/photos/{sha}",
                get(routes::photos::get_photo).put(routes::photos::put_chunk),
            )
            .route("/v1/photos/{sha}/upload", get(routes::photos::upload_state))
            .route(
                "/v1/photos/{sha}/thumbnail",
                get(routes::photos::get_thumbnail),
            ),
        BodyLimit {
            bytes: MAX_PHOTO_CHUNK,
            advice: "send the photo in smaller chunks",
        },
    );
    let open311 = limit_body(
        Router::new()
            .route("/open311/v2/services.json", get(routes::open311::services))
            .route(
                "/open311/v2/services/{code}",
                get(routes::open311::service_definition),
            )
            .route(
                "/open311/v2/requests.json",
                get(routes::open311::list_requests).post(routes::open311::post_request),
            )
            .route(
                "/open311/v2/requests/{id}",
                get(routes::open311::get_request),
            ),
        BodyLimit {
            bytes: MAX_JSON_BODY,
            advice: "send only the fields of a service request",
        },
    );
    let enrol = limit_body(
        Router::new().route("/v1/enrol", post(routes::enrol::enrol)),
        BodyLimit {
            bytes: MAX_ENROL_BODY,
            advice: "send only the code, the device's name and its id",
        },
    );
    Router::new()
        .route("/health", get(|| async { "ok" }))
        .route("/openapi.json", get(openapi_json))
        .route("/ready", get(routes::ready))
        .route("/metrics", get(metrics::metrics))
        .merge(sync)
        .merge(enrol)
        .merge(office)
        .merge(photos)
        .merge(open311)
        .merge(console::router())
        // After every route: it applies to the routes registered before it.
        .method_not_allowed_fallback(error::method_not_allowed)
        .fallback(error::no_such_endpoint)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            audit::record,
        ))
        // Outermost: times the whole answer, the audit line included.
        .layer(axum::middleware::from_fn_with_state(
            registry.clone(),
            metrics::track,
        ))
        .layer(axum::Extension(registry))
        .with_state(state)
}
