//! `/console/devices`: the server's administrators (`"admin": true` in the roster) enrol
//! phones from the browser. They make a one-time pairing code for a person, shown once with
//! its QR code (`wangge://enrol?server=…&code=…`, which the app's enrolment screen opens),
//! see the codes still waiting for a phone and withdraw one given by mistake, and see every
//! enrolled device with its person, role and scope, and revoke one.
//!
//! A code made here is the code `wangge-server pair` makes ([`crate::device_admin`]): the
//! same role and scope for the person, the same expiry rules, the server keeping only its
//! hash. The code appears in the answer to the form's POST and nowhere else — not in a
//! redirect's address, not in the audit log (which names the person and the validity), and
//! the answer is marked `no-store` so the browser's cache does not keep it either.

use std::collections::HashMap;

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, PreEscaped, html};

use crate::AppState;
use crate::audit::Detail;
use crate::console::format::when;
use crate::console::labels as L;
use crate::console::layout::{Nav, page};
use crate::console::session::{Staff, StaffForm, over_tls};
use crate::device_admin::{MadeCode, PairRequest, ScopeOverrides, make_pairing_code};
use crate::error::ApiError;
use crate::extract::ApiPath;
use crate::pairing::{self, PendingCode};
use crate::routes::blocking;
use crate::storage::{Device, DeviceRole, Person, Scope};

/// Longest server address accepted for the QR code.
const MAX_SERVER_URL: usize = 200;

/// Refuses anyone but an administrator.
fn admin_only(staff: &Staff) -> Result<(), ApiError> {
    if staff.person.admin {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "admin_only",
            "devices and pairing codes are for the server's administrators (\"admin\": true in \
             the roster)",
        ))
    }
}

/// The address the browser reached the console by, as the QR code's default: a phone on
/// the same network reaches the server there. The administrator may change it (a console
/// reached through an internal name, phones through a public one).
fn browser_server_url(headers: &HeaderMap) -> Option<String> {
    let host = headers.get(header::HOST)?.to_str().ok()?;
    let plain = !host.is_empty()
        && host
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']'));
    let scheme = if over_tls(headers) { "https" } else { "http" };
    plain.then(|| format!("{scheme}://{host}"))
}

/// The server address typed into the form, checked: an `http://` or `https://` address of a
/// sensible length without spaces; blank means none (the phone asks for the server).
fn server_url(typed: Option<&str>) -> Result<Option<String>, ApiError> {
    let Some(url) = typed else { return Ok(None) };
    let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
    if !scheme_ok || url.len() > MAX_SERVER_URL || url.chars().any(char::is_whitespace) {
        return Err(ApiError::unprocessable(
            "invalid_server_url",
            format!(
                "the server address must start with https:// (or http://), have no spaces and \
                 be at most {MAX_SERVER_URL} characters, e.g. https://sync.example.gov.cn; \
                 leave it blank to let the phone ask"
            ),
        ));
    }
    Ok(Some(url.trim_end_matches('/').to_owned()))
}

/// The QR code of `payload` as an SVG element to put in the page.
fn qr_svg(payload: &str) -> Result<Markup, ApiError> {
    let code = qrcode::QrCode::with_error_correction_level(payload, qrcode::EcLevel::M)
        .map_err(|e| ApiError::internal(format!("QR code of the pairing payload: {e}")))?;
    let svg = code
        .render::<qrcode::render::svg::Color<'_>>()
        .min_dimensions(240, 240)
        .build();
    // The renderer writes a standalone document; in a page the element alone belongs.
    let element = svg.find("<svg").map_or(svg.as_str(), |at| &svg[at..]);
    Ok(PreEscaped(element.to_owned()))
}

/// What a device receives, for people.
fn scope_text(scope: &Scope) -> String {
    if scope.all {
        return L::SCOPE_ALL.to_owned();
    }
    let parts: Vec<&str> = scope
        .blocks
        .iter()
        .chain(&scope.workstations)
        .chain(&scope.teams)
        .map(String::as_str)
        .collect();
    if parts.is_empty() {
        L::SCOPE_NONE.to_owned()
    } else {
        parts.join("、")
    }
}

fn role_text(role: DeviceRole) -> &'static str {
    match role {
        DeviceRole::Centre => L::DEVICE_ROLE_CENTRE,
        DeviceRole::Field => L::DEVICE_ROLE_FIELD,
    }
}

/// A person as the lists show them: staff id, name, roles.
fn person_text(person: &Person) -> String {
    let roles: Vec<&str> = person.roles.iter().map(|r| L::role(*r)).collect();
    format!("{} {} · {}", person.staff_id, person.name, roles.join("、"))
}

/// The page: the code just made (if any), the form for a new one, the devices.
fn devices_page(
    staff: &Staff,
    lists: &Lists,
    server_default: Option<&str>,
    made: Option<Markup>,
) -> Markup {
    let Lists {
        people,
        devices,
        pending,
    } = lists;
    let names: HashMap<&str, &Person> = people.iter().map(|p| (p.staff_id.as_str(), p)).collect();
    let person_cell = |id: &str| -> Markup {
        html! {
            @match names.get(id) {
                Some(p) => {
                    (p.staff_id) " " (p.name)
                    @if !p.active { (L::PERSON_INACTIVE) }
                }
                None => (id),
            }
        }
    };
    let body = html! {
        @if let Some(made) = made { (made) }
        section.card #new-code {
            h2 { (L::NEW_PAIRING_CODE) }
            p.muted { (L::PAIRING_HINT) }
            form.stack #pair method="post" action="/console/devices/pair" {
                input type="hidden" name="_csrf" value=(staff.csrf);
                label for="person" { (L::PAIR_PERSON) }
                select #person name="person" required {
                    // No one is chosen until the administrator chooses: a code for the wrong
                    // person enrols a phone into their scope.
                    option value="" { (L::CHOOSE_PERSON) }
                    @for p in people.iter().filter(|p| p.active) {
                        option value=(p.staff_id) { (person_text(p)) }
                    }
                }
                label for="device_name" { (L::PAIR_DEVICE_NAME) }
                input #device_name type="text" name="device_name" maxlength=(pairing::MAX_DEVICE_NAME);
                label for="valid_minutes" { (L::PAIR_VALID_MINUTES) }
                input #valid_minutes type="number" name="valid_minutes" min="1"
                    max=(pairing::MAX_VALID_MINUTES) value=(pairing::DEFAULT_VALID_MINUTES) required;
                label for="server_url" { (L::PAIR_SERVER_URL) }
                input #server_url type="text" name="server_url" maxlength=(MAX_SERVER_URL)
                    value=[server_default];
                p { button type="submit" { (L::PAIR_SUBMIT) } }
            }
        }
        @if !pending.is_empty() {
            h2 { (L::PENDING_CODES) }
            table #pending-codes {
                thead { tr {
                    th { (L::PAIRING_CODE) } th { (L::COL_PERSON) } th { (L::COL_DEVICE_NAME) }
                    th { (L::COL_MADE) } th { (L::VALID_UNTIL) } th {}
                } }
                tbody {
                    @for code in pending {
                        tr data-code-id=(code.code_id) {
                            td { code { (code.code_id) "-•••••" } }
                            td { (person_cell(&code.staff_id)) }
                            td { (code.device_name.as_deref().unwrap_or("—")) }
                            td { (when(code.created_at)) }
                            td { (when(code.expires_at)) }
                            td {
                                form method="post"
                                    action=(format!("/console/devices/codes/{}/withdraw", code.id)) {
                                    input type="hidden" name="_csrf" value=(staff.csrf);
                                    button.secondary type="submit" { (L::WITHDRAW) }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { (L::DEVICES) }
        @if devices.is_empty() {
            p.muted #no-devices { (L::NO_DEVICES) }
        } @else {
            table #devices {
                thead { tr {
                    th { (L::COL_DEVICE_NAME) } th { (L::COL_DEVICE_ID) } th { (L::COL_PERSON) }
                    th { (L::ROLE) } th { (L::SCOPE) } th { (L::COL_ENROLLED) } th { (L::COL_STATUS) }
                } }
                tbody {
                    @for d in devices.iter().rev() {
                        tr data-device-id=(d.device_id)
                            data-state=(if d.revoked_at.is_some() { "revoked" } else { "active" }) {
                            td { (d.name) }
                            td { code { (d.device_id) } }
                            td {
                                @match d.person.as_deref() {
                                    Some(id) => (person_cell(id)),
                                    None => "—",
                                }
                            }
                            td { (role_text(d.role)) }
                            td { (scope_text(&d.scope)) }
                            td { (when(d.created_at)) }
                            td {
                                @match d.revoked_at {
                                    Some(at) => span.muted { (L::DEVICE_REVOKED) " " (when(at)) },
                                    None => {
                                        (L::DEVICE_ACTIVE)
                                        details.revoke {
                                            summary { (L::REVOKE) }
                                            p.muted { (L::REVOKE_HINT) }
                                            form method="post"
                                                action=(format!("/console/devices/{}/revoke", d.device_id)) {
                                                input type="hidden" name="_csrf" value=(staff.csrf);
                                                button type="submit" { (L::REVOKE_CONFIRM) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    page(staff, Nav::Devices, L::DEVICES_TITLE, body)
}

/// The card with the code just made: the code, its QR code, until when, for whom.
fn made_card(made: &MadeCode, payload: &str) -> Result<Markup, ApiError> {
    let qr = qr_svg(payload)?;
    Ok(html! {
        section.card.pairing #made {
            h2 { (L::PAIRING_CODE) }
            p.code-big { code #code { (pairing::display(&made.code)) } }
            div #qr { (qr) }
            dl.facts {
                dt { (L::PAIR_PERSON) } dd #made-person { (person_text(&made.person)) }
                dt { (L::ROLE) } dd { (role_text(made.role)) }
                dt { (L::SCOPE) } dd { (scope_text(&made.scope)) }
                dt { (L::VALID_UNTIL) } dd #valid-until { (when(made.expires_at)) }
                dt { (L::QR_PAYLOAD) } dd { code #qr-payload { (payload) } }
            }
            p.warning { (L::PAIRING_ONCE) }
        }
    })
}

/// What the page lists: the people, the devices, the codes still waiting for a phone.
struct Lists {
    people: Vec<Person>,
    devices: Vec<Device>,
    pending: Vec<PendingCode>,
}

/// Reads what the page lists, as of `now_ms`.
async fn lists(state: &AppState, now_ms: i64) -> Result<Lists, ApiError> {
    let storage = state.storage.clone();
    blocking(move || {
        Ok::<_, ApiError>(Lists {
            people: storage.people()?,
            devices: storage.devices()?,
            pending: storage.pending_pairing_codes(now_ms)?,
        })
    })
    .await
}

/// `GET /console/devices`.
pub async fn devices(
    State(state): State<AppState>,
    headers: HeaderMap,
    staff: Staff,
) -> Result<Markup, ApiError> {
    admin_only(&staff)?;
    let lists = lists(&state, staff.now_ms).await?;
    let default = browser_server_url(&headers);
    Ok(devices_page(&staff, &lists, default.as_deref(), None))
}

/// `POST /console/devices/pair` (`person`, `device_name`, `valid_minutes`, `server_url`):
/// the page with the new code on it, answered directly (never through a redirect).
pub async fn pair(
    State(state): State<AppState>,
    StaffForm { staff, fields, .. }: StaffForm,
) -> Result<Response, ApiError> {
    admin_only(&staff)?;
    let person = fields.required("person", L::PAIR_PERSON)?.to_owned();
    let valid_minutes = match fields.get("valid_minutes") {
        None => pairing::DEFAULT_VALID_MINUTES,
        Some(text) => text.parse::<u32>().map_err(|_| {
            ApiError::unprocessable(
                "invalid_validity",
                format!(
                    "valid minutes '{text}' is not a whole number: give 1 to {}",
                    pairing::MAX_VALID_MINUTES
                ),
            )
        })?,
    };
    let url = server_url(fields.get("server_url"))?;
    let request_name = fields.get("device_name").map(str::to_owned);
    let storage = state.storage.clone();
    let catalog = state.catalog.clone();
    let now_ms = staff.now_ms;
    let made = blocking(move || {
        make_pairing_code(
            storage.as_ref(),
            &catalog,
            PairRequest {
                staff_id: &person,
                name: request_name,
                overrides: ScopeOverrides::default(),
                valid_minutes,
                now_ms,
            },
        )
    })
    .await?;
    let payload = pairing::qr_payload(url.as_deref(), &made.code);
    let card = made_card(&made, &payload)?;
    let lists = lists(&state, now_ms).await?;
    let mut response = devices_page(&staff, &lists, url.as_deref(), Some(card)).into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    // Ids and numbers only: the audit log never holds the code.
    response.extensions_mut().insert(Detail(format!(
        "pairing code for {}, role {}, valid {valid_minutes} min",
        made.person.staff_id,
        made.role.as_str()
    )));
    Ok(response)
}

/// `POST /console/devices/{device_id}/revoke`: the device's token is refused from now on;
/// back to the list.
pub async fn revoke(
    State(state): State<AppState>,
    ApiPath(device_id): ApiPath<String>,
    StaffForm { staff, .. }: StaffForm,
) -> Result<Response, ApiError> {
    admin_only(&staff)?;
    let storage = state.storage.clone();
    let now_ms = staff.now_ms;
    let key = device_id.clone();
    let known = blocking(move || storage.revoke(&key, now_ms)).await?;
    if !known {
        return Err(ApiError::not_found(format!(
            "no device {device_id}: reload the devices page and pick one it lists"
        )));
    }
    Ok(Redirect::to("/console/devices").into_response())
}

/// `POST /console/devices/codes/{id}/withdraw`: a code that still works stops working (a
/// phone sending it is answered `pairing_code_expired`); back to the list.
pub async fn withdraw(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    StaffForm { staff, .. }: StaffForm,
) -> Result<Response, ApiError> {
    admin_only(&staff)?;
    let storage = state.storage.clone();
    let now_ms = staff.now_ms;
    let withdrawn = blocking(move || storage.withdraw_pairing_code(id, now_ms)).await?;
    if !withdrawn {
        return Err(ApiError::conflict(
            "pairing_code_not_pending",
            "this pairing code no longer works (used, expired, locked or withdrawn already); \
             reload the devices page",
        ));
    }
    Ok(Redirect::to("/console/devices").into_response())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::console::pages::fixture::Console;
    use crate::storage::Storage;

    /// The code shown on the page (`ABC-DEFGH`).
    fn shown_code(page: &str) -> String {
        let start = page.find("id=\"code\">").expect("a code on the page") + 10;
        let end = start + page[start..].find('<').unwrap();
        page[start..end].to_owned()
    }

    fn pair_form<'a>(person: &'a str, minutes: &'a str, url: &'a str) -> Vec<(&'a str, &'a str)> {
        vec![
            ("_csrf", "csrf"),
            ("person", person),
            ("device_name", "网格一组-手持09"),
            ("valid_minutes", minutes),
            ("server_url", url),
        ]
    }

    #[tokio::test]
    async fn an_administrator_pairs_a_phone_sees_it_and_revokes_it() {
        let c = Console::new();
        let admin = c.login("XT-CC-001");
        let (status, page) = c.get(&admin, "/console/devices").await;
        assert_eq!(status, 200, "{page}");
        assert!(page.contains("id=\"no-devices\""), "{page}");
        assert!(
            page.contains("href=\"/console/devices\""),
            "the navigation names it"
        );

        let form = pair_form("XT-GO-001", "15", "https://sync.example.gov.cn/");
        let (status, headers, page) = c.post_form(&admin, "/console/devices/pair", &form).await;
        assert_eq!(status, 200, "{page}");
        assert_eq!(headers["cache-control"], "no-store");
        let code = shown_code(&page);
        assert_eq!(code.len(), 9, "{code}");
        let raw = code.replace('-', "");
        assert!(page.contains(&format!(
            "wangge://enrol?server=https%3A%2F%2Fsync.example.gov.cn&amp;code={raw}"
        )));
        assert!(page.contains("<svg"), "the QR code is on the page");
        assert!(page.contains("2026-03-02 09:15"), "valid for 15 minutes");
        // Only the hash is kept, and the audit line names the person, not the code.
        let log = c.storage.audit_log(0, 50).unwrap();
        let line = log
            .iter()
            .find(|l| l.action == "POST /console/devices/pair")
            .expect("the pairing is audited");
        assert_eq!(line.person.as_deref(), Some("XT-CC-001"));
        assert!(line.detail.as_deref().unwrap().contains("XT-GO-001"));
        assert!(!format!("{log:?}").contains(&raw));

        // The phone exchanges the code, once, and acts as the person.
        let (status, enrolled) = c
            .post_json("/v1/enrol", None, &json!({ "code": code.to_lowercase() }))
            .await;
        assert_eq!(status, 200, "{enrolled}");
        assert_eq!(enrolled["name"], "网格一组-手持09");
        assert_eq!(enrolled["role"], "field");
        assert_eq!(enrolled["scope"]["blocks"], json!(["XT-B1"]));
        let token = enrolled["token"].as_str().unwrap().to_owned();
        let device_id = enrolled["device_id"].as_str().unwrap().to_owned();
        let (status, me) = c.get_json("/v1/me", &token).await;
        assert_eq!(status, 200, "{me}");
        let (status, again) = c
            .post_json("/v1/enrol", None, &json!({ "code": code }))
            .await;
        assert_eq!(
            (status.as_u16(), &again["error"]),
            (409, &json!("pairing_code_used"))
        );

        // The list shows it, in use; revoking it refuses its token from then on.
        let (_, page) = c.get(&admin, "/console/devices").await;
        assert!(page.contains(&format!(
            "data-device-id=\"{device_id}\" data-state=\"active\""
        )));
        assert!(!page.contains(&raw), "the code is shown once");
        let revoke = format!("/console/devices/{device_id}/revoke");
        let (status, headers, _) = c.post_form(&admin, &revoke, &[("_csrf", "csrf")]).await;
        assert_eq!(status, 303);
        assert_eq!(headers["location"], "/console/devices");
        let (status, refused) = c.get_json("/v1/me", &token).await;
        assert_eq!(
            (status.as_u16(), &refused["error"]),
            (403, &json!("revoked"))
        );
        let (_, page) = c.get(&admin, "/console/devices").await;
        assert!(page.contains(&format!(
            "data-device-id=\"{device_id}\" data-state=\"revoked\""
        )));
        let (status, _, body) = c
            .post_form(&admin, "/console/devices/nope/revoke", &[("_csrf", "csrf")])
            .await;
        assert_eq!(status, 404, "{body}");
    }

    #[tokio::test]
    async fn a_code_given_by_mistake_is_listed_without_its_secret_and_withdrawn() {
        let c = Console::new();
        let admin = c.login("XT-CC-001");
        let form = pair_form("XT-GO-002", "60", "");
        let (_, _, made) = c.post_form(&admin, "/console/devices/pair", &form).await;
        let code = shown_code(&made);
        let (prefix, secret) = code.split_once('-').unwrap();
        let (_, page) = c.get(&admin, "/console/devices").await;
        assert!(
            page.contains(&format!("data-code-id=\"{prefix}\"")),
            "{page}"
        );
        assert!(
            !page.contains(secret),
            "the list never shows the secret part"
        );
        let start = page.find("/console/devices/codes/").unwrap();
        let end = start + page[start..].find('"').unwrap();
        let withdraw = page[start..end].to_owned();

        let operator = c.login("XT-CC-002");
        let (status, _, _) = c
            .post_form(&operator, &withdraw, &[("_csrf", "csrf")])
            .await;
        assert_eq!(status, 403, "only administrators withdraw");
        let (status, headers, body) = c.post_form(&admin, &withdraw, &[("_csrf", "csrf")]).await;
        assert_eq!(status, 303, "{body}");
        assert_eq!(headers["location"], "/console/devices");
        let (_, page) = c.get(&admin, "/console/devices").await;
        assert!(!page.contains("id=\"pending-codes\""), "{page}");
        let (status, refused) = c
            .post_json("/v1/enrol", None, &json!({ "code": code }))
            .await;
        assert_eq!(
            (status.as_u16(), &refused["error"]),
            (410, &json!("pairing_code_expired"))
        );
        let (status, _, body) = c.post_form(&admin, &withdraw, &[("_csrf", "csrf")]).await;
        assert_eq!(status, 409, "{body}");
        assert!(body.contains("pairing_code_not_pending"), "{body}");
        let (status, _, body) = c
            .post_form(
                &admin,
                "/console/devices/codes/abc/withdraw",
                &[("_csrf", "csrf")],
            )
            .await;
        assert_eq!(status, 400, "{body}");
    }

    #[tokio::test]
    async fn only_administrators_pair_and_revoke() {
        let c = Console::new();
        // XT-CC-002 is a centre operator without "admin".
        let operator = c.login("XT-CC-002");
        let (status, body) = c.get(&operator, "/console/devices").await;
        assert_eq!(status, 403, "{body}");
        let (_, queues) = c.get(&operator, "/console/queues").await;
        assert!(!queues.contains("href=\"/console/devices\""));
        let form = pair_form("XT-GO-001", "15", "");
        let (status, _, body) = c.post_form(&operator, "/console/devices/pair", &form).await;
        assert_eq!(status, 403, "{body}");
        assert!(body.contains("admin_only"), "{body}");
        // Without the page's CSRF token even an administrator's form is refused.
        let admin = c.login("XT-CC-001");
        let mut forged = pair_form("XT-GO-001", "15", "");
        forged[0] = ("_csrf", "guess");
        let (status, _, body) = c.post_form(&admin, "/console/devices/pair", &forged).await;
        assert_eq!(status, 403, "{body}");
        assert!(!body.contains("id=\"code\""));
    }

    #[tokio::test]
    async fn a_bad_form_is_refused_with_a_code_and_makes_no_code() {
        let c = Console::new();
        let admin = c.login("XT-CC-001");
        for (person, minutes, url, code) in [
            ("XT-GO-001", "0", "", "invalid_validity"),
            ("XT-GO-001", "1441", "", "invalid_validity"),
            ("XT-GO-001", "a while", "", "invalid_validity"),
            (
                "XT-GO-001",
                "15",
                "ftp://sync.example",
                "invalid_server_url",
            ),
            (
                "XT-GO-001",
                "15",
                "https://sync example",
                "invalid_server_url",
            ),
            ("XT-NOPE", "15", "", "unknown_person"),
            ("XT-GO-009", "15", "", "person_inactive"),
        ] {
            let form = pair_form(person, minutes, url);
            let (status, _, body) = c.post_form(&admin, "/console/devices/pair", &form).await;
            assert_eq!(status, 422, "{person} {minutes} {url}: {body}");
            let error: serde_json::Value = serde_json::from_str(&body).unwrap();
            assert_eq!(error["error"], code, "{body}");
        }
        let long = "手".repeat(crate::pairing::MAX_DEVICE_NAME + 1);
        for name in [long.as_str(), "手持\u{7}09"] {
            let mut form = pair_form("XT-GO-001", "15", "");
            form[2] = ("device_name", name);
            let (status, _, body) = c.post_form(&admin, "/console/devices/pair", &form).await;
            assert_eq!(status, 422, "{name}: {body}");
            assert!(body.contains("invalid_device_name"), "{body}");
        }
        let (status, _, body) = c
            .post_form(&admin, "/console/devices/pair", &[("_csrf", "csrf")])
            .await;
        assert_eq!(status, 422, "{body}");
        assert!(body.contains("missing_field"), "{body}");
        // Nothing was made: a code the page never showed cannot have been stored.
        let made = c.storage.audit_log(0, 50).unwrap();
        assert!(
            made.iter()
                .filter(|l| l.action == "POST /console/devices/pair")
                .all(|l| l.outcome != "ok"),
            "{made:?}"
        );
    }
}
