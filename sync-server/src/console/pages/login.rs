//! `/console/login` and `/console/logout`.

use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use serde::Deserialize;

use crate::AppState;
use crate::auth;
use crate::console::account::{self, may_use_console};
use crate::console::labels as L;
use crate::console::layout::bare;
use crate::console::session::{
    self, Fields, StaffForm, cleared_cookie, over_tls, safe_next, session_cookie,
};
use crate::console::throttle::LoginThrottle;
use crate::routes::{RemoteAddr, blocking};
use crate::storage::console::ConsoleSession;

/// Query of the login page.
#[derive(Debug, Default, Deserialize)]
pub struct LoginQuery {
    /// Where to go after logging in.
    pub next: Option<String>,
}

fn form(next: &str, username: &str, error: Option<(&str, String)>) -> Markup {
    bare(
        L::LOGIN_TITLE,
        html! {
            @if let Some((code, message)) = &error {
                p.error #error data-code=(code) { (message) }
            }
            form.stack #login method="post" action="/console/login" {
                input type="hidden" name="next" value=(next);
                label for="username" { (L::USERNAME) }
                input #username type="text" name="username" value=(username)
                    autocomplete="username" required autofocus;
                label for="password" { (L::PASSWORD) }
                input #password type="password" name="password"
                    autocomplete="current-password" required;
                p { button type="submit" { (L::LOG_IN) } }
            }
        },
    )
}

/// `GET /console/login`.
pub async fn page(Query(q): Query<LoginQuery>) -> Markup {
    form(safe_next(q.next.as_deref()), "", None)
}

/// A refused login: the form again, with the message, under `status`.
fn refused(
    status: StatusCode,
    next: &str,
    username: &str,
    code: &str,
    message: String,
) -> Response {
    let mut r = form(next, username, Some((code, message))).into_response();
    *r.status_mut() = status;
    r
}

/// `POST /console/login`: checks the password (argon2id), rate-limited per username and per
/// address ([`LoginThrottle`]); on success starts a session and sends the browser on.
pub async fn login(
    State(state): State<AppState>,
    axum::Extension(throttle): axum::Extension<std::sync::Arc<LoginThrottle>>,
    RemoteAddr(addr): RemoteAddr,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let fields = Fields(serde_urlencoded::from_bytes(&body).unwrap_or_default());
    let next = safe_next(fields.get("next")).to_owned();
    let typed = fields.get("username").unwrap_or("").to_owned();
    if session::cross_site(&headers) {
        return refused(
            StatusCode::FORBIDDEN,
            &next,
            &typed,
            "cross_site_request",
            "this login form was sent from another site; open the console's own login page".into(),
        );
    }
    let password = fields
        .0
        .iter()
        .find(|(k, _)| k == "password")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let now = state.clock.now_ms();
    let Ok(username) = account::normalise_username(&typed) else {
        return refused(
            StatusCode::UNAUTHORIZED,
            &next,
            &typed,
            "login_failed",
            L::LOGIN_FAILED.into(),
        );
    };
    if let Err(wait_s) = throttle.check(&username, addr.as_deref(), now) {
        let mut r = refused(
            StatusCode::TOO_MANY_REQUESTS,
            &next,
            &typed,
            "too_many_attempts",
            format!("{}{}", L::LOGIN_LOCKED, wait_s.div_ceil(60)),
        );
        if let Ok(v) = HeaderValue::from_str(&wait_s.to_string()) {
            r.headers_mut().insert(header::RETRY_AFTER, v);
        }
        return r;
    }
    let storage = state.storage.clone();
    let config = state.office.console;
    let user = username.clone();
    let outcome = blocking(move || {
        let Some(login) = storage.login_by_username(&user)? else {
            account::verify_nothing(&password);
            return Ok::<_, crate::error::ApiError>(None);
        };
        if !account::verify_password(&login.password_hash, &password) {
            return Ok(None);
        }
        let Some(person) = storage.person(&login.staff_id)?.filter(may_use_console) else {
            return Ok(None);
        };
        let token = auth::new_token()?;
        let csrf = auth::new_token()?;
        storage.create_session(
            &auth::hash_token(&token),
            &ConsoleSession {
                staff_id: person.staff_id,
                csrf: csrf.trim_start_matches(auth::TOKEN_PREFIX).to_owned(),
                created_at: now,
                last_seen: now,
                expires_at: now + config.lifetime_ms(),
            },
        )?;
        Ok(Some(token))
    })
    .await;
    match outcome {
        Ok(Some(token)) => {
            throttle.succeeded(&username);
            let cookie = session_cookie(&token, config.lifetime_ms() / 1000, over_tls(&headers));
            let mut r = Redirect::to(&next).into_response();
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                r.headers_mut().insert(header::SET_COOKIE, v);
            }
            r
        }
        Ok(None) => {
            throttle.failed(&username, addr.as_deref(), now);
            let mut r = refused(
                StatusCode::UNAUTHORIZED,
                &next,
                &typed,
                "login_failed",
                L::LOGIN_FAILED.into(),
            );
            r.extensions_mut()
                .insert(crate::audit::ErrorCode("login_failed"));
            r
        }
        Err(e) => e.into_response(),
    }
}

/// `POST /console/logout`: ends the session (CSRF-checked, so no other page can log a
/// person out) and clears the cookie.
pub async fn logout(
    State(state): State<AppState>,
    headers: HeaderMap,
    form: StaffForm,
) -> Response {
    let _ = form;
    if let Some(token) = session::cookie_token(&headers) {
        let hash = auth::hash_token(token);
        let storage = state.storage.clone();
        if let Err(e) = blocking(move || storage.end_session(&hash)).await {
            return e.into_response();
        }
    }
    let mut r = Redirect::to("/console/login").into_response();
    if let Ok(v) = HeaderValue::from_str(&cleared_cookie(over_tls(&headers))) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}
