//! The audit log: one line per authenticated action and per refusal.
//!
//! [`record`] is a middleware around every route. After the handler has answered, it appends
//! an [`AuditEntry`]: who (the device and its person, when the request carried a known token),
//! what (method and route *template*, e.g. `POST /v1/cases/{id}/events`), the target (the case
//! or document id, or the photo hash, from the path), when, from where, and how it ended
//! (`ok`, or `refused` with the error code).
//!
//! How it learns these things without the handlers' help:
//!
//! * the device: the middleware puts an empty [`AuditSlot`] in the request's extensions and
//!   [`crate::routes::AuthDevice`] fills it once the token is known (even a revoked device's,
//!   so its refused attempts name it);
//! * the error code: [`crate::error::ApiError`] puts an [`ErrorCode`] in the response's
//!   extensions;
//! * counts: a handler may put a [`Detail`] in the response's extensions (the sync handler
//!   does: documents pushed and pulled), and a [`Skip`] to keep a line out of the log.
//!
//! What is never recorded:
//!
//! * a successful request without a known token (`/health`): nobody to attribute it to;
//! * a response carrying [`Skip`]: the sync handler marks a no-op sync (nothing pushed,
//!   nothing pulled) — every phone sends one a minute, and recording it would turn the cheap
//!   no-op sync into a database write;
//! * the query string, the raw path of an unknown route, request bodies, error messages (they
//!   may quote what the client sent), names, tokens: only ids and codes go into a line.
//!
//! The line is written in its own transaction on a blocking thread *before* the response
//! leaves, so a client that saw an answer can find it in the log; a failure to write is logged
//! (without personal data) and never changes the answer. The action's own transaction and the
//! audit line's are separate: a crash between them loses the line, not the action.

use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};

use axum::extract::{ConnectInfo, FromRequestParts, MatchedPath, RawPathParams, Request, State};
use axum::middleware::Next;
use axum::response::Response;

use crate::AppState;
use crate::storage::{AuditEntry, Device};

/// Put in a response's extensions by a handler to keep the request out of the audit log (a
/// no-op sync).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Skip;

/// Put in a response's extensions by a handler: a short detail for the audit line, such as
/// counts ("pushed 3, pulled 12"). Never names, descriptions or other personal data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detail(pub String);

/// Put in a refusal's extensions by [`crate::error::ApiError`]: its stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorCode(pub &'static str);

/// Where the authentication extractor leaves the device of the request, for the audit line.
/// The middleware puts an empty one in every request.
#[derive(Debug, Clone, Default)]
pub struct AuditSlot(Arc<OnceLock<Device>>);

impl AuditSlot {
    /// Records the request's device (the first one only).
    pub fn set(&self, device: &Device) {
        let _ = self.0.get_or_init(|| device.clone());
    }

    /// The request's device, if one was recorded.
    pub fn get(&self) -> Option<&Device> {
        self.0.get()
    }
}

/// Longest target recorded; longer path parameters are not ids of ours.
const MAX_TARGET: usize = 100;
/// Longest detail recorded.
const MAX_DETAIL: usize = 200;
/// Longest method recorded (a client may send any token as a method).
const MAX_METHOD: usize = 16;

/// The path parameters that name what a request acts on, in order of preference.
const TARGET_PARAMS: [&str; 2] = ["id", "sha"];

/// Keeps `text` only if it looks like one of our ids (case UUID, `zr:<ws>:<day>`, photo
/// hash): anything else a client put in the path is not recorded.
fn as_target(text: &str) -> String {
    let looks_like_id = !text.is_empty()
        && text.len() <= MAX_TARGET
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b':' | b'.'));
    if looks_like_id {
        text.to_owned()
    } else {
        "(not an id)".to_owned()
    }
}

fn cut(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        Some((end, _)) => format!("{}…", &text[..end]),
        None => text.to_owned(),
    }
}

/// The audit middleware (see the module documentation). Install it on the whole router with
/// `axum::middleware::from_fn_with_state(state, audit::record)`.
pub async fn record(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let at = state.clock.now_ms();
    let (mut parts, body) = request.into_parts();
    let slot = AuditSlot::default();
    parts.extensions.insert(slot.clone());
    let method = cut(parts.method.as_str(), MAX_METHOD);
    let route = parts
        .extensions
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let target = match &route {
        Some(_) => RawPathParams::from_request_parts(&mut parts, &state)
            .await
            .ok()
            .and_then(|params| {
                TARGET_PARAMS.iter().find_map(|name| {
                    params
                        .iter()
                        .find(|(key, _)| key == name)
                        .map(|(_, value)| as_target(value))
                })
            }),
        None => None,
    };
    let remote_addr = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip().to_string());

    let response = next.run(Request::from_parts(parts, body)).await;

    if response.extensions().get::<Skip>().is_some() {
        return response;
    }
    let status = response.status();
    let refused = status.is_client_error() || status.is_server_error();
    let device = slot.get();
    if device.is_none() && !refused {
        return response;
    }
    let entry = AuditEntry {
        at,
        device_id: device.map(|d| d.device_id.clone()),
        person: device.and_then(|d| d.person.clone()),
        action: format!(
            "{method} {}",
            route.as_deref().unwrap_or("(no such endpoint)")
        ),
        target,
        outcome: if refused { "refused" } else { "ok" }.to_owned(),
        code: response
            .extensions()
            .get::<ErrorCode>()
            .map(|ErrorCode(code)| (*code).to_owned()),
        remote_addr,
        detail: response
            .extensions()
            .get::<Detail>()
            .map(|Detail(d)| cut(d, MAX_DETAIL)),
    };
    let storage = state.storage.clone();
    let written = tokio::task::spawn_blocking(move || {
        let result = storage.audit(&entry);
        (result, entry.action)
    })
    .await;
    match written {
        Ok((Ok(()), _)) => {}
        Ok((Err(e), action)) => {
            tracing::error!(%action, code = e.code(), error = %e, "could not write the audit log line");
        }
        Err(e) => tracing::error!(error = %e, "the audit log writer failed"),
    }
    response
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::routing::get;
    use wangge_core::{Catalog, ManualClock};

    use super::*;
    use crate::auth;
    use crate::routes::AuthDevice;
    use crate::storage::sqlite::SqliteStorage;
    use crate::storage::{DeviceRole, Scope, Storage};

    /// A real socket with `ConnectInfo`, the middleware, and two handlers that mark their
    /// responses as the sync handler does.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn skipped_lines_are_not_written_and_details_and_addresses_are() {
        let dir = tempfile::tempdir().unwrap();
        let catalog = Arc::new(Catalog::demo().unwrap());
        let storage =
            Arc::new(SqliteStorage::open(dir.path().join("s.sqlite3"), catalog.clone()).unwrap());
        let token = auth::new_token().unwrap();
        let device = Device {
            device_id: "dev-1".into(),
            name: "手持01".into(),
            role: DeviceRole::Field,
            scope: Scope::default(),
            created_at: 1,
            revoked_at: None,
            person: Some("XT-GO-001".into()),
        };
        storage.enroll(&device, &auth::hash_token(&token)).unwrap();
        let state = AppState {
            storage: storage.clone(),
            catalog,
            clock: Arc::new(ManualClock::new(5_000)),
            office: Default::default(),
            tokens: Default::default(),
        };
        let app = Router::new()
            .route(
                "/noop",
                get(|AuthDevice(_): AuthDevice| async { (axum::Extension(Skip), "nothing") }),
            )
            .route(
                "/counts/{id}",
                get(|AuthDevice(_): AuthDevice| async {
                    (axum::Extension(Detail("pushed 1, pulled 2".into())), "done")
                }),
            )
            .layer(axum::middleware::from_fn_with_state(state.clone(), record))
            .with_state(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move {
            axum::serve(
                listener,
                app.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .await
        });

        let http = reqwest::Client::new();
        for path in ["/noop", "/counts/case-1?secret=x"] {
            let status = http
                .get(format!("{base}{path}"))
                .bearer_auth(&token)
                .send()
                .await
                .unwrap()
                .status();
            assert_eq!(status, 200, "{path}");
        }
        let log = storage.audit_log(0, 10).unwrap();
        assert_eq!(
            log,
            vec![AuditEntry {
                at: 5_000,
                device_id: Some("dev-1".into()),
                person: Some("XT-GO-001".into()),
                action: "GET /counts/{id}".into(),
                target: Some("case-1".into()),
                outcome: "ok".into(),
                code: None,
                remote_addr: Some("127.0.0.1".into()),
                detail: Some("pushed 1, pulled 2".into()),
            }]
        );
    }

    #[test]
    fn only_ids_are_kept_as_targets() {
        let uuid = "0190f1c2-7a3b-7c4d-8e5f-0123456789ab";
        assert_eq!(as_target(uuid), uuid);
        assert_eq!(as_target("zr:XT-W01:2026-03-02"), "zr:XT-W01:2026-03-02");
        assert_eq!(as_target(&"a".repeat(64)), "a".repeat(64));
        assert_eq!(as_target("王建国 13800138000"), "(not an id)");
        assert_eq!(as_target(&"a".repeat(101)), "(not an id)");
        assert_eq!(as_target(""), "(not an id)");
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        assert_eq!(cut("abc", 3), "abc");
        assert_eq!(cut("推送三个文档", 2), "推送…");
    }
}
