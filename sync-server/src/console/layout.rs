//! The page shell every console page shares: head, navigation by role, the person, log out;
//! and the error page a browser sees instead of a JSON refusal.

use axum::body::Body;
use axum::extract::Request;
use axum::http::{HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use maud::{DOCTYPE, Markup, html};

use crate::console::assets;
use crate::console::labels as L;
use crate::console::session::Staff;

/// Which navigation entry a page belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Nav {
    /// The case queues and case pages.
    Queues,
    /// The intake desk.
    Intake,
    /// The map.
    Map,
    /// The zero-report board.
    Board,
    /// The evaluation.
    Evaluation,
    /// Devices and pairing codes (administrators).
    Devices,
}

/// The head of every page: title, stylesheet, script (embedded in the binary, cached by
/// content hash).
fn head(title: &str) -> Markup {
    html! {
        head {
            meta charset="utf-8";
            meta name="viewport" content="width=device-width, initial-scale=1";
            title { (title) " · " (L::CONSOLE) }
            link rel="stylesheet" href=(assets::CSS.url());
            script src=(assets::JS.url()) defer {}
        }
    }
}

/// A whole page for a logged-in person: navigation (what their role may use), who they
/// are, log out, and `body`.
pub fn page(staff: &Staff, nav: Nav, title: &str, body: Markup) -> Markup {
    let entries: Vec<(Nav, &str, &str)> = [
        (Nav::Queues, "/console/queues", L::NAV_QUEUES, true),
        (
            Nav::Intake,
            "/console/intake",
            L::NAV_INTAKE,
            staff.is_centre(),
        ),
        (Nav::Map, "/console/map", L::NAV_MAP, true),
        (Nav::Board, "/console/board", L::NAV_BOARD, staff.sees_all()),
        (
            Nav::Evaluation,
            "/console/evaluation",
            L::NAV_EVALUATION,
            staff.sees_all(),
        ),
        (
            Nav::Devices,
            "/console/devices",
            L::NAV_DEVICES,
            staff.person.admin,
        ),
    ]
    .into_iter()
    .filter(|e| e.3)
    .map(|(n, href, label, _)| (n, href, label))
    .collect();
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            (head(title))
            body data-csrf=(staff.csrf) data-now-ms=(staff.now_ms) {
                header.top {
                    a.brand href="/console" { (L::CONSOLE) }
                    nav {
                        @for (n, href, label) in &entries {
                            a href=(href) class=[(*n == nav).then_some("active")] { (label) }
                        }
                    }
                    span.who #who data-staff-id=(staff.person.staff_id) {
                        (staff.person.name)
                        @for r in &staff.person.roles { " · " (L::role(*r)) }
                        @for u in staff.units() { " · " (u) }
                    }
                    form.logout method="post" action="/console/logout" {
                        input type="hidden" name="_csrf" value=(staff.csrf);
                        button type="submit" #logout { (L::LOG_OUT) }
                    }
                }
                main { h1 { (title) } (body) }
            }
        }
    }
}

/// A page without navigation (login, errors).
pub fn bare(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="zh-CN" {
            (head(title))
            body.bare { main { h1 { (title) } (body) } }
        }
    }
}

/// Turns a JSON refusal into an error page when a browser asked for HTML (a form's
/// submission or a page load); scripts and API clients keep the JSON. The status and the
/// audit's error code stay as they were.
pub async fn html_errors(request: Request, next: Next) -> Response {
    let wants_html = request
        .headers()
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.contains("text/html"));
    let response = next.run(request).await;
    let is_json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !wants_html
        || !is_json
        || !(response.status().is_client_error() || response.status().is_server_error())
    {
        return response;
    }
    let (parts, body) = response.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, 64 << 10).await else {
        return Response::from_parts(parts, Body::empty());
    };
    let error: serde_json::Value = serde_json::from_slice(&bytes).unwrap_or_default();
    let code = error["error"].as_str().unwrap_or("error");
    let message = error["message"].as_str().unwrap_or("");
    let page = bare(
        L::ERROR_TITLE,
        html! {
            p.error #error data-code=(code) { (message) }
            p.code { code { (code) } }
            p { a href="javascript:history.back()" { (L::BACK) } " · " a href="/console" { (L::CONSOLE) } }
        },
    );
    let mut out = page.into_response();
    *out.status_mut() = parts.status;
    if let Some(c) = parts.extensions.get::<crate::audit::ErrorCode>() {
        out.extensions_mut().insert(crate::audit::ErrorCode(c.0));
    }
    out.headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    out
}
