//! Console sessions: the cookie, the logged-in person ([`Staff`]) and the anti-forgery check
//! of every write ([`StaffForm`]).
//!
//! - The cookie carries 32 random bytes; the database keeps their SHA-256 (as for device
//!   tokens, `crate::auth`). It is `HttpOnly` (no script reads it), `SameSite=Strict` (no
//!   other site's page sends it), `Path=/console`, and `Secure` when the request came over
//!   TLS (a reverse proxy saying `X-Forwarded-Proto: https`).
//! - A session ends [`ConsoleConfig::session_hours`] after login whatever happens, or after
//!   [`ConsoleConfig::idle_minutes`] without a request; both counted on the server's clock.
//! - Every write carries the session's CSRF token, as the `_csrf` form field or the
//!   `X-CSRF-Token` header (synchronizer token pattern). SameSite=Strict already keeps other
//!   sites' forms out; the token also covers browsers that ignore SameSite and a sibling
//!   site on the same host.

use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, header};
use axum::response::{IntoResponse, Redirect, Response};
use wangge_core::{Actor, DeviceId, Role};

use crate::AppState;
use crate::audit::AuditSlot;
use crate::auth;
use crate::console::account::may_use_console;
use crate::error::ApiError;
use crate::routes::blocking;
use crate::storage::console::StaffLogin;
use crate::storage::{Device, DeviceRole, Person, Scope};

/// The session cookie's name.
pub const COOKIE: &str = "wangge_console";
/// The header a script's write carries the CSRF token in.
pub const CSRF_HEADER: &str = "x-csrf-token";
/// The form field a form's write carries the CSRF token in.
pub const CSRF_FIELD: &str = "_csrf";
/// A session's activity is written at most this often (ms): the idle limit needs minutes,
/// not a database write per page.
const TOUCH_EVERY_MS: i64 = 60_000;

/// How long sessions last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConsoleConfig {
    /// Hours a session lasts after login (a shift), whatever happens.
    pub session_hours: u32,
    /// Minutes without a request after which a session ends.
    pub idle_minutes: u32,
}

impl Default for ConsoleConfig {
    /// A 12-hour shift, ended after 2 idle hours.
    fn default() -> Self {
        ConsoleConfig {
            session_hours: 12,
            idle_minutes: 120,
        }
    }
}

impl ConsoleConfig {
    /// A session's whole lifetime, ms.
    pub fn lifetime_ms(&self) -> i64 {
        i64::from(self.session_hours) * 3_600_000
    }

    /// The idle limit, ms.
    pub fn idle_ms(&self) -> i64 {
        i64::from(self.idle_minutes) * 60_000
    }
}

/// The logged-in person of a console request.
#[derive(Debug, Clone)]
pub struct Staff {
    /// The person, from the register.
    pub person: Person,
    /// Their login (username, console device id).
    pub login: StaffLogin,
    /// The session's anti-forgery token, to put in every form.
    pub csrf: String,
    /// The server's time when the request arrived (ms): pages show times left from it, and
    /// the script counts on from it.
    pub now_ms: i64,
}

impl Staff {
    /// Whether the person may act as the management centre.
    pub fn is_centre(&self) -> bool {
        self.person.roles.contains(&Role::Centre)
    }

    /// Whether the person is on an inspection team.
    pub fn is_supervisor(&self) -> bool {
        self.person.roles.contains(&Role::Supervisor)
    }

    /// Whether the person handles cases for units.
    pub fn is_handler(&self) -> bool {
        self.person.roles.contains(&Role::HandlingUnit)
    }

    /// Whether the person sees every case of the street (the centre and the inspection
    /// teams); a unit handler sees the cases dispatched to their units only.
    pub fn sees_all(&self) -> bool {
        self.is_centre() || self.is_supervisor()
    }

    /// The units the person acts for.
    pub fn units(&self) -> &[String] {
        &self.person.units
    }

    /// The actor a console action of this person records: their staff id, `role` (which the
    /// caller checked they hold), `unit`, and their console device.
    pub fn actor(&self, role: Role, unit: Option<String>) -> Result<Actor, ApiError> {
        Ok(Actor {
            id: self.person.staff_id.clone(),
            role,
            unit,
            device: DeviceId::parse(&self.login.device_id).map_err(ApiError::internal)?,
        })
    }

    /// The console device as the audit log names it.
    fn audit_device(&self) -> Device {
        Device {
            device_id: self.login.device_id.clone(),
            name: "console".into(),
            role: if self.is_centre() {
                DeviceRole::Centre
            } else {
                DeviceRole::Field
            },
            scope: Scope::default(),
            created_at: self.login.updated_at,
            revoked_at: None,
            person: Some(self.person.staff_id.clone()),
        }
    }
}

/// The session token of a request's cookie, if any.
pub fn cookie_token(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim())
        .filter(|v| !v.is_empty())
}

/// Whether the request came over TLS (terminated here or by a proxy that says so).
pub fn over_tls(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// Whether a form posted with these headers came from another site: its `Origin` names a
/// host other than the one the request was sent to. Browsers send `Origin` with every
/// form POST; a request without one (an old browser, a script) is judged by the other
/// defences. Used on the login form, which has no session (hence no CSRF token) yet: a
/// foreign page must not log a person in to someone else's account.
pub fn cross_site(headers: &HeaderMap) -> bool {
    let Some(origin) = headers.get(header::ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let origin_host = origin
        .split_once("://")
        .map(|(_, rest)| rest)
        .unwrap_or(origin)
        .trim_end_matches('/');
    origin == "null" || !origin_host.eq_ignore_ascii_case(host)
}

/// The `Set-Cookie` value that starts a session.
pub fn session_cookie(token: &str, max_age_s: i64, secure: bool) -> String {
    format!(
        "{COOKIE}={token}; Path=/console; HttpOnly; SameSite=Strict; Max-Age={max_age_s}{}",
        if secure { "; Secure" } else { "" }
    )
}

/// The `Set-Cookie` value that ends a session in the browser.
pub fn cleared_cookie(secure: bool) -> String {
    session_cookie("", 0, secure)
}

/// Why a request has no usable session. Pages send the browser to the login page; writes
/// and scripts get `401` with a code.
#[derive(Debug)]
pub enum NoSession {
    /// A page: log in, then come back to `next`.
    Login {
        /// Where to go after logging in (this request's path and query).
        next: String,
    },
    /// Anything else.
    Refused(ApiError),
}

impl IntoResponse for NoSession {
    fn into_response(self) -> Response {
        match self {
            NoSession::Login { next } => {
                let mut to = String::from("/console/login?next=");
                to.push_str(&encode_component(&next));
                Redirect::to(&to).into_response()
            }
            NoSession::Refused(e) => e.into_response(),
        }
    }
}

impl From<ApiError> for NoSession {
    fn from(e: ApiError) -> Self {
        NoSession::Refused(e)
    }
}

/// Percent-encodes everything but unreserved characters (for a query value).
pub fn encode_component(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Whether `next` is a console path this server may send a browser to after login (never
/// another site: an open redirect would make our login page a phishing tool).
pub fn safe_next(next: Option<&str>) -> &str {
    match next {
        Some(n) if n.starts_with("/console") && !n.starts_with("//") && !n.contains('\\') => n,
        _ => "/console",
    }
}

impl FromRequestParts<AppState> for Staff {
    type Rejection = NoSession;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, NoSession> {
        let page = parts.method == Method::GET || parts.method == Method::HEAD;
        let refuse = |code: &'static str, message: &str| {
            if page {
                NoSession::Login {
                    next: parts
                        .uri
                        .path_and_query()
                        .map(|p| p.as_str().to_owned())
                        .unwrap_or_else(|| "/console".into()),
                }
            } else {
                NoSession::Refused(ApiError {
                    status: axum::http::StatusCode::UNAUTHORIZED,
                    code,
                    message: message.to_owned(),
                })
            }
        };
        let Some(token) = cookie_token(&parts.headers) else {
            return Err(refuse(
                "not_logged_in",
                "no console session; log in at /console/login",
            ));
        };
        let hash = auth::hash_token(token);
        let now = state.clock.now_ms();
        let config = state.office.console;
        let storage = state.storage.clone();
        let found = blocking(move || {
            let Some(session) = storage.session(&hash)? else {
                return Ok::<_, ApiError>(None);
            };
            if now >= session.expires_at || now - session.last_seen >= config.idle_ms() {
                storage.end_session(&hash)?;
                return Ok(None);
            }
            let login = storage.login_of(&session.staff_id)?;
            let person = storage.person(&session.staff_id)?;
            if now - session.last_seen >= TOUCH_EVERY_MS {
                storage.touch_session(&hash, now)?;
            }
            Ok(login.zip(person).map(|(l, p)| (session, l, p)))
        })
        .await?;
        let Some((session, login, person)) = found else {
            return Err(refuse(
                "session_expired",
                "the console session has ended; log in again",
            ));
        };
        if !may_use_console(&person) {
            return Err(NoSession::Refused(ApiError::forbidden(
                "no_console_role",
                "this person may no longer use the console; ask an administrator",
            )));
        }
        let staff = Staff {
            person,
            login,
            csrf: session.csrf,
            now_ms: now,
        };
        if let Some(slot) = parts.extensions.get::<AuditSlot>() {
            slot.set(&staff.audit_device());
        }
        Ok(staff)
    }
}

/// The fields of a submitted form (`application/x-www-form-urlencoded`), in order; a field
/// may repeat (checkboxes).
#[derive(Debug, Clone, Default)]
pub struct Fields(pub Vec<(String, String)>);

impl Fields {
    /// The first value of `name`, trimmed; `None` when absent or blank.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
    }

    /// Every non-blank value of `name`.
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.trim())
            .filter(|v| !v.is_empty())
            .collect()
    }

    /// The value of `name`, or a `422 missing_field` naming `label`.
    pub fn required(&self, name: &str, label: &str) -> Result<&str, ApiError> {
        self.get(name).ok_or_else(|| {
            ApiError::unprocessable("missing_field", format!("{label} ({name}) is required"))
        })
    }
}

/// Constant-time equality of two tokens.
fn same_token(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A file sent with a form (`multipart/form-data`).
#[derive(Clone)]
pub struct Upload {
    /// The form field it came in.
    pub field: String,
    /// Its bytes.
    pub bytes: axum::body::Bytes,
}

impl std::fmt::Debug for Upload {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Upload({}, {} bytes)", self.field, self.bytes.len())
    }
}

/// A write from the console: the logged-in person and the form they sent
/// (`application/x-www-form-urlencoded`, or `multipart/form-data` with files), refused with
/// `403 csrf_token_invalid` unless it carries the session's CSRF token.
#[derive(Debug, Clone)]
pub struct StaffForm {
    /// Who sends it.
    pub staff: Staff,
    /// What they sent.
    pub fields: Fields,
    /// The files they sent (never read before the CSRF token is checked).
    pub files: Vec<Upload>,
}

/// Reads a `multipart/form-data` body: its text fields and its non-empty files.
async fn multipart(req: Request, state: &AppState) -> Result<(Fields, Vec<Upload>), ApiError> {
    let bad = |e: axum::extract::multipart::MultipartError| {
        let status = e.status();
        if status == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            ApiError {
                status,
                code: "body_too_large",
                message: "the form and its photos are larger than the console accepts; send \
                          fewer or smaller photos"
                    .into(),
            }
        } else {
            ApiError::bad_request(
                "malformed_form",
                format!(
                    "the form could not be read ({}); send it again",
                    e.body_text()
                ),
            )
        }
    };
    let mut form = axum::extract::Multipart::from_request(req, state)
        .await
        .map_err(|e| {
            ApiError::bad_request(
                "malformed_form",
                format!("not a form upload: {}", e.body_text()),
            )
        })?;
    let (mut fields, mut files) = (Vec::new(), Vec::new());
    while let Some(field) = form.next_field().await.map_err(bad)? {
        let name = field.name().unwrap_or("").to_owned();
        if field.file_name().is_some() {
            let bytes = field.bytes().await.map_err(bad)?;
            // An empty file input sends an empty part.
            if !bytes.is_empty() {
                files.push(Upload { field: name, bytes });
            }
        } else {
            fields.push((name, field.text().await.map_err(bad)?));
        }
    }
    Ok((Fields(fields), files))
}

impl FromRequest<AppState> for StaffForm {
    type Rejection = NoSession;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, NoSession> {
        let (mut parts, body) = req.into_parts();
        let staff = Staff::from_request_parts(&mut parts, state).await?;
        let header_token = parts
            .headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let is_multipart = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.starts_with("multipart/form-data"));
        let req = Request::from_parts(parts, body);
        let (fields, files) = if is_multipart {
            multipart(req, state).await?
        } else {
            let bytes = crate::extract::ApiBytes::from_request(req, state)
                .await
                .map_err(NoSession::Refused)?
                .0;
            let fields: Vec<(String, String)> = if bytes.is_empty() {
                Vec::new()
            } else {
                serde_urlencoded::from_bytes(&bytes).map_err(|e| {
                    NoSession::Refused(ApiError::bad_request(
                        "malformed_form",
                        format!(
                            "the form could not be read ({e}); send it from the console's page"
                        ),
                    ))
                })?
            };
            (Fields(fields), Vec::new())
        };
        let sent = header_token.or_else(|| fields.get(CSRF_FIELD).map(str::to_owned));
        if !sent.is_some_and(|t| same_token(&t, &staff.csrf)) {
            return Err(NoSession::Refused(ApiError::forbidden(
                "csrf_token_invalid",
                "this write does not carry the page's anti-forgery token; reload the page and \
                 send the form again",
            )));
        }
        Ok(StaffForm {
            staff,
            fields,
            files,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_is_strict_and_http_only() {
        let c = session_cookie("abc", 60, false);
        assert!(
            c.contains("HttpOnly") && c.contains("SameSite=Strict"),
            "{c}"
        );
        assert!(!c.contains("Secure"));
        assert!(session_cookie("abc", 60, true).ends_with("; Secure"));
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            "a=1; wangge_console=tok; b=2".parse().unwrap(),
        );
        assert_eq!(cookie_token(&h), Some("tok"));
    }

    #[test]
    fn a_login_form_from_another_site_is_recognised() {
        let with = |origin: Option<&str>| {
            let mut h = HeaderMap::new();
            h.insert(header::HOST, "127.0.0.1:8080".parse().unwrap());
            if let Some(o) = origin {
                h.insert(header::ORIGIN, o.parse().unwrap());
            }
            cross_site(&h)
        };
        assert!(!with(None));
        assert!(!with(Some("http://127.0.0.1:8080")));
        assert!(with(Some("https://evil.example")));
        assert!(with(Some("http://127.0.0.1:9090")));
        assert!(with(Some("null")));
    }

    #[test]
    fn next_never_leaves_the_console() {
        assert_eq!(
            safe_next(Some("/console/cases/x?y=1")),
            "/console/cases/x?y=1"
        );
        for bad in [
            "https://evil.example",
            "//evil.example",
            "/v1/cases",
            "/console\\x",
        ] {
            assert_eq!(safe_next(Some(bad)), "/console", "{bad}");
        }
        assert_eq!(safe_next(None), "/console");
    }
}
