//! The management centre's console in the browser, served by the server itself under
//! `/console` (same process and port as the API; `docs/back-office.md`, "Console").
//!
//! Server-rendered HTML ([`maud`]: templates are Rust, checked by the compiler, and every
//! interpolation is escaped) with one small script for what HTML cannot do alone (live
//! countdowns, picking a position on the map). Why no front-end build: a small team keeps
//! this for years, and a page that is one Rust function reading the same storage as the
//! API cannot drift from it; there is no JavaScript toolchain to keep up, and `cargo run`
//! alone serves the console on a fresh machine. Charts and the map are SVG made on the
//! server, so they work with no internet.
//!
//! People log in with a staff account ([`account`]); a session cookie ([`session`]) names
//! them on every request, and every write carries the session's CSRF token. What a person
//! sees and may do follows their roles and units, and every action is recorded as them.

pub mod account;
pub mod assets;
pub mod format;
pub mod labels;
pub mod layout;
pub mod pages;
pub mod session;
pub mod svg;
pub mod throttle;

use std::sync::Arc;

use axum::Router;
use axum::response::Redirect;
use axum::routing::{get, post};

use crate::AppState;
use crate::extract::{BodyLimit, limit_body};

/// Largest console form accepted (every form but the intake desk's).
pub const MAX_FORM_BODY: usize = 64 << 10;
/// Largest intake form accepted: its text and up to `pages::intake::MAX_PHOTOS` photos as
/// a camera or a phone makes them.
pub const MAX_INTAKE_BODY: usize = 48 << 20;

/// The console's routes, to merge into the application.
pub fn router() -> Router<AppState> {
    let throttle = Arc::new(throttle::LoginThrottle::default());
    let pages = Router::new()
        .route("/console", get(pages::queue::index))
        .route("/console/", get(|| async { Redirect::to("/console") }))
        .route(
            "/console/login",
            get(pages::login::page).post(pages::login::login),
        )
        .route("/console/logout", post(pages::login::logout))
        .route("/console/queues", get(pages::queue::index))
        .route("/console/queues/{queue}", get(pages::queue::queue))
        .route("/console/intake/duplicates", get(pages::intake::duplicates))
        .route("/console/cases/{id}", get(pages::case::show))
        .route("/console/cases/{id}/act", post(pages::case::act))
        .route("/console/cases/{id}/photos/{sha}", get(pages::case::photo))
        .route(
            "/console/cases/{id}/photos/{sha}/thumbnail",
            get(pages::case::thumbnail),
        )
        .route("/console/map", get(pages::map::map))
        .route("/console/board", get(pages::board::board))
        .route("/console/evaluation", get(pages::evaluation::evaluation))
        .route("/console/devices", get(pages::devices::devices))
        .route("/console/devices/pair", post(pages::devices::pair))
        .route("/console/devices/{id}/revoke", post(pages::devices::revoke))
        .route(
            "/console/devices/codes/{id}/withdraw",
            post(pages::devices::withdraw),
        )
        .route("/console/exports/cases.csv", get(pages::exports::cases_csv))
        .route(
            "/console/exports/cases.geojson",
            get(pages::exports::cases_geojson),
        )
        .layer(axum::Extension(throttle));
    let intake = Router::new().route(
        "/console/intake",
        get(pages::intake::page_get).post(pages::intake::submit),
    );
    limit_body(
        pages,
        BodyLimit {
            bytes: MAX_FORM_BODY,
            advice: "send the form from the console's page",
        },
    )
    .merge(limit_body(
        intake,
        BodyLimit {
            bytes: MAX_INTAKE_BODY,
            advice: "attach fewer or smaller photos",
        },
    ))
    .route("/console/assets/{name}", get(assets::serve))
    .layer(axum::middleware::from_fn(layout::html_errors))
}
