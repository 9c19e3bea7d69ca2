//! Open311 GeoReport v2 (<https://wiki.open311.org/GeoReport_v2>), the civic-issue standard
//! FixMyStreet and many city apps speak, so a citizen-facing WeChat or web form can report
//! cases as it is.
//!
//! | endpoint | what |
//! |---|---|
//! | `GET /open311/v2/services.json` | the checklist items, as services |
//! | `GET /open311/v2/services/{code}.json` | one service's definition (no extra attributes) |
//! | `POST /open311/v2/requests.json` | reports a case (form-encoded, as the spec says, or JSON) |
//! | `GET /open311/v2/requests.json` | the key's channel's cases |
//! | `GET /open311/v2/requests/{id}.json` | one of them |
//!
//! Every endpoint needs an `api_key` (query string, or the POST body), made with
//! `wangge-server apikey create --channel <channel> --person <centre staff id>`: a case it
//! creates is recorded under the key's channel and signed by the key's centre person. A key
//! reads only the cases of its own channel: a public app has no business reading 110 police
//! referrals or another channel's reports. Errors are the spec's:
//! `[{"code": <HTTP status>, "description": "…"}]`. Only JSON is served (`.xml` is refused).
//!
//! `service_request_id` is the case id (a UUID), which never changes; the official case
//! number, assigned at registration, is shown in `service_notice`.

use axum::Json;
use axum::extract::rejection::PathRejection;
use axum::extract::{FromRequest, Query, Request, State};
use axum::http::{HeaderMap, StatusCode, header::CONTENT_TYPE};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, FixedOffset, SecondsFormat};
use serde::{Deserialize, Serialize};
use wangge_core::{Actor, CaseRecord, DeviceId, Role};

use crate::AppState;
use crate::audit::{AuditSlot, Detail, ErrorCode};
use crate::auth;
use crate::error::ApiError;
use crate::routes::blocking;
use crate::routes::intake::{IntakeBody, Position, check_intake};
use crate::storage::intake::{ApiKey, Intake, IntakeOutcome, ReporterContact, RequestFilter};
use crate::storage::{Device, DeviceRole, Scope};

/// Prefix that makes an Open311 API key recognisable.
pub const API_KEY_PREFIX: &str = "wgk_";

/// A new API key's secret, shown once.
pub fn new_api_key() -> Result<String, ApiError> {
    let token = auth::new_token()?;
    Ok(format!(
        "{API_KEY_PREFIX}{}",
        token.trim_start_matches(auth::TOKEN_PREFIX)
    ))
}

/// Most requests one `GET requests.json` answers.
const MAX_REQUESTS: u32 = 1000;
/// The span `GET requests.json` covers when no dates are given (the spec's default).
const DEFAULT_SPAN_MS: i64 = 90 * 86_400_000;

/// An Open311 refusal: `[{"code": <status>, "description": "…"}]`, with the status.
#[derive(Debug, thiserror::Error)]
#[error("{status}: {description}")]
pub struct Open311Error {
    /// HTTP status, also the `code` of the body.
    pub status: StatusCode,
    /// Stable code for the audit log (the body carries the status, as the spec says).
    pub audit_code: &'static str,
    /// What went wrong.
    pub description: String,
}

impl Open311Error {
    fn new(status: StatusCode, audit_code: &'static str, description: impl Into<String>) -> Self {
        Open311Error {
            status,
            audit_code,
            description: description.into(),
        }
    }

    fn bad_request(audit_code: &'static str, description: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, audit_code, description)
    }
}

impl From<ApiError> for Open311Error {
    fn from(e: ApiError) -> Self {
        // Unprocessable input is a 400 in the spec's terms.
        let status = if e.status == StatusCode::UNPROCESSABLE_ENTITY {
            StatusCode::BAD_REQUEST
        } else {
            e.status
        };
        Open311Error::new(status, e.code, e.message)
    }
}

impl IntoResponse for Open311Error {
    fn into_response(self) -> Response {
        let body = serde_json::json!([{
            "code": self.status.as_u16(),
            "description": self.description,
        }]);
        let mut response = (self.status, Json(body)).into_response();
        response.extensions_mut().insert(ErrorCode(self.audit_code));
        response
    }
}

type Open311Result<T> = Result<T, Open311Error>;

/// The key of a request, checked: known, not revoked, and its person an active centre
/// operator. Records it for the audit line (its id as the device, its person as the person).
async fn authenticate(
    state: &AppState,
    slot: Option<&AuditSlot>,
    api_key: Option<&str>,
) -> Open311Result<(ApiKey, Actor)> {
    let forbidden = |m: &str| Open311Error::new(StatusCode::FORBIDDEN, "bad_api_key", m);
    let Some(api_key) = api_key.map(str::trim).filter(|k| !k.is_empty()) else {
        return Err(forbidden(
            "api_key was not provided; ask the street's management centre for one",
        ));
    };
    let hash = auth::hash_token(api_key);
    let storage = state.storage.clone();
    let (key, person) = blocking(move || {
        let Some(key) = storage.api_key_by_hash(&hash)? else {
            return Ok::<_, ApiError>((None, None));
        };
        let person = storage.person(&key.person)?;
        Ok((Some(key), person))
    })
    .await?;
    let Some(key) = key else {
        return Err(forbidden("api_key is invalid"));
    };
    if let Some(slot) = slot {
        slot.set(&Device {
            device_id: key.device_id.clone(),
            name: format!("api key {}", key.key_id),
            role: DeviceRole::Field,
            scope: Scope::default(),
            created_at: key.created_at,
            revoked_at: key.revoked_at,
            person: Some(key.person.clone()),
        });
    }
    if key.revoked_at.is_some() {
        return Err(forbidden("api_key has been revoked"));
    }
    let acts = person.is_some_and(|p| p.active && p.roles.contains(&Role::Centre));
    if !acts {
        return Err(forbidden(
            "api_key's person is no longer an active centre operator; ask for a new key",
        ));
    }
    let actor = Actor {
        id: key.person.clone(),
        role: Role::Centre,
        unit: None,
        device: DeviceId::parse(&key.device_id).map_err(ApiError::internal)?,
    };
    Ok((key, actor))
}

/// The `{name}.json` of a path, or the spec's refusal of another format.
fn json_name(file: &str) -> Open311Result<&str> {
    match file.rsplit_once('.') {
        Some((name, "json")) if !name.is_empty() => Ok(name),
        Some((_, "xml")) => Err(Open311Error::bad_request(
            "format_not_supported",
            "only the JSON format is served: use .json",
        )),
        _ => Err(Open311Error::new(
            StatusCode::NOT_FOUND,
            "not_found",
            "no such resource: end the path with .json",
        )),
    }
}

/// The `{name}.json` path parameter, or the spec's refusal of one that cannot be read.
fn path_file(file: Result<axum::extract::Path<String>, PathRejection>) -> Open311Result<String> {
    file.map(|axum::extract::Path(f)| f).map_err(|e| {
        Open311Error::bad_request(
            "bad_path",
            format!("{}; percent-encode the path as UTF-8", e.body_text()),
        )
    })
}

/// The `api_key` of a query string.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub(crate) struct KeyQuery {
    api_key: Option<String>,
}

fn query<T: serde::de::DeserializeOwned + Default>(request: &Request) -> Open311Result<T> {
    Query::<T>::try_from_uri(request.uri())
        .map(|Query(q)| q)
        .map_err(|e| Open311Error::bad_request("bad_query", e.body_text()))
}

/// A service: one item of the task checklist.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct Service {
    /// The checklist item's id.
    pub service_code: String,
    /// Its Chinese title.
    pub service_name: String,
    /// Its English title and who handles it.
    pub description: String,
    /// Whether it has extra attributes (never).
    pub metadata: bool,
    /// Always `realtime`: a request becomes a case at once.
    #[serde(rename = "type")]
    pub kind: String,
    /// Search words: the category and the domain.
    pub keywords: String,
    /// The category's name.
    pub group: String,
}

/// `GET /open311/v2/services.json`.
pub async fn services(State(state): State<AppState>, request: Request) -> Response {
    let slot = request.extensions().get::<AuditSlot>().cloned();
    let parsed: Open311Result<KeyQuery> = query(&request);
    drop(request);
    let result = async {
        let q = parsed?;
        authenticate(&state, slot.as_ref(), q.api_key.as_deref()).await?;
        let checklist = &state.catalog.checklist;
        let services: Vec<Service> = checklist
            .items()
            .iter()
            .map(|item| {
                let category = checklist.category(&item.category);
                let domain = checklist.domain(&item.domain);
                Service {
                    service_code: item.id.clone(),
                    service_name: item.title_zh.clone(),
                    description: format!(
                        "{} (handled by {})",
                        item.title_en, item.responsible_unit
                    ),
                    metadata: false,
                    kind: "realtime".into(),
                    keywords: [
                        category.map(|c| c.name_zh.as_str()),
                        domain.map(|d| d.name_zh.as_str()),
                    ]
                    .into_iter()
                    .flatten()
                    .collect::<Vec<_>>()
                    .join(","),
                    group: category.map(|c| c.name_zh.clone()).unwrap_or_default(),
                }
            })
            .collect();
        Ok::<_, Open311Error>(Json(services))
    }
    .await;
    result.into_response()
}

/// `GET /open311/v2/services/{code}.json`: the definition of a service. The checklist asks
/// nothing beyond the standard fields, so `attributes` is empty.
pub async fn service_definition(
    State(state): State<AppState>,
    file: Result<axum::extract::Path<String>, PathRejection>,
    request: Request,
) -> Response {
    let slot = request.extensions().get::<AuditSlot>().cloned();
    let parsed: Open311Result<KeyQuery> = query(&request);
    drop(request);
    let result = async {
        let q = parsed?;
        authenticate(&state, slot.as_ref(), q.api_key.as_deref()).await?;
        let file = path_file(file)?;
        let code = json_name(&file)?;
        if state.catalog.checklist.item(code).is_none() {
            return Err(Open311Error::new(
                StatusCode::NOT_FOUND,
                "unknown_service",
                format!("service_code '{code}' was not found; see services.json"),
            ));
        }
        Ok(Json(serde_json::json!({
            "service_code": code,
            "attributes": [],
        })))
    }
    .await;
    result.into_response()
}

/// A number given as a JSON number or as text (form fields are text).
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(untagged)]
pub(crate) enum Number {
    Number(f64),
    Text(String),
}

impl Number {
    fn value(&self, field: &str) -> Open311Result<f64> {
        match self {
            Number::Number(n) => Ok(*n),
            Number::Text(t) => t.trim().parse().map_err(|_| {
                Open311Error::bad_request("invalid_input", format!("{field} is not a number"))
            }),
        }
    }
}

/// The fields of `POST requests.json` this server reads (others, such as `attribute[…]`,
/// `jurisdiction_id` or `media_url`, are accepted and ignored).
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub(crate) struct PostRequest {
    api_key: Option<String>,
    service_code: Option<String>,
    lat: Option<Number>,
    long: Option<Number>,
    address_string: Option<String>,
    address_id: Option<String>,
    description: Option<String>,
    email: Option<String>,
    first_name: Option<String>,
    last_name: Option<String>,
    phone: Option<String>,
}

/// Reads the POST body: form-encoded (the spec) or JSON.
async fn post_body(state: &AppState, request: Request) -> Open311Result<PostRequest> {
    let is_json = content_type(request.headers()).starts_with("application/json");
    let refused = |status: StatusCode, text: String| {
        if status == StatusCode::PAYLOAD_TOO_LARGE {
            Open311Error::new(
                status,
                "body_too_large",
                "the body is larger than the 64 KiB this endpoint accepts",
            )
        } else {
            Open311Error::new(
                StatusCode::BAD_REQUEST,
                "malformed_request",
                format!("{text}; send the fields form-encoded or as a JSON object"),
            )
        }
    };
    if is_json {
        axum::Json::<PostRequest>::from_request(request, state)
            .await
            .map(|Json(b)| b)
            .map_err(|e| refused(e.status(), e.body_text()))
    } else {
        axum::Form::<PostRequest>::from_request(request, state)
            .await
            .map(|axum::Form(b)| b)
            .map_err(|e| refused(e.status(), e.body_text()))
    }
}

fn content_type(headers: &HeaderMap) -> &str {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
}

/// `POST /open311/v2/requests.json`: reports a case under the key's channel. Required:
/// `api_key`, `service_code`, and `lat` + `long` or `address_string` (or `address_id`).
/// Answers `[{"service_request_id", "service_notice"}]`.
pub async fn post_request(State(state): State<AppState>, request: Request) -> Response {
    let slot = request.extensions().get::<AuditSlot>().cloned();
    let result = async {
        let body = post_body(&state, request).await?;
        let (key, by) = authenticate(&state, slot.as_ref(), body.api_key.as_deref()).await?;
        let code = body
            .service_code
            .as_deref()
            .map(str::trim)
            .filter(|c| !c.is_empty())
            .ok_or_else(|| {
                Open311Error::bad_request("invalid_input", "service_code was not provided")
            })?;
        let Some(item) = state.catalog.checklist.item(code) else {
            return Err(Open311Error::bad_request(
                "unknown_checklist_item",
                format!("service_code '{code}' was not found; see services.json"),
            ));
        };
        let position = match (&body.lat, &body.long) {
            (Some(lat), Some(lon)) => Some(Position {
                lat: lat.value("lat")?,
                lon: lon.value("long")?,
                accuracy_m: None,
            }),
            (None, None) => None,
            _ => {
                return Err(Open311Error::bad_request(
                    "invalid_input",
                    "give both lat and long, or neither",
                ));
            }
        };
        let address = body
            .address_string
            .or(body.address_id)
            .filter(|a| !a.trim().is_empty());
        if position.is_none() && address.is_none() {
            return Err(Open311Error::bad_request(
                "invalid_input",
                "give a location: lat and long, or address_string",
            ));
        }
        let name = [body.first_name, body.last_name]
            .into_iter()
            .flatten()
            .map(|n| n.trim().to_owned())
            .filter(|n| !n.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let contact = ReporterContact {
            name: Some(name).filter(|n| !n.is_empty()),
            phone: body.phone,
            email: body.email,
        };
        let description = body
            .description
            .filter(|d| !d.trim().is_empty())
            .unwrap_or_else(|| item.title_zh.clone());
        let intake = IntakeBody {
            channel: key.channel.as_str().to_owned(),
            reference: None,
            checklist_item: item.id.clone(),
            description,
            address,
            position,
            grid: None,
            photos: Vec::new(),
            contact: Some(contact),
        };
        let now = state.clock.now_ms();
        let (new, contact) = check_intake(&state, key.channel, intake, now)?;
        let storage = state.storage.clone();
        let outcome =
            blocking(move || storage.intake_case(&Intake { by, new, contact }, now)).await?;
        let IntakeOutcome::Created { case, .. } = outcome else {
            // No reference is sent through Open311, so no reference can repeat.
            return Err(ApiError::internal("an Open311 request matched a reference").into());
        };
        let id = case.header.id.to_string();
        let mut response = Json(serde_json::json!([{
            "service_request_id": id,
            "service_notice": "受理成功：the management centre will register and dispatch it",
            "account_id": null,
        }]))
        .into_response();
        response
            .extensions_mut()
            .insert(Detail(format!("case {id} via Open311")));
        Ok(response)
    }
    .await;
    match result {
        Ok(response) => response,
        Err(e) => e.into_response(),
    }
}

/// A service request as the spec lists it.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ServiceRequest {
    /// The case id.
    pub service_request_id: String,
    /// `open` or `closed` (closed, rejected and merged cases are closed).
    pub status: String,
    /// The case's status in words.
    pub status_notes: String,
    /// The checklist item's title.
    pub service_name: String,
    /// The checklist item in force.
    pub service_code: String,
    /// What the reporter said.
    pub description: String,
    /// The units holding the case now, lead first.
    pub agency_responsible: String,
    /// The official case number, once registered.
    pub service_notice: Option<String>,
    /// When it was reported (ISO 8601, China time).
    pub requested_datetime: String,
    /// When it last changed.
    pub updated_datetime: String,
    /// When it is due to be resolved.
    pub expected_datetime: Option<String>,
    /// The address given.
    pub address: Option<String>,
    /// The latitude given.
    pub lat: Option<f64>,
    /// The longitude given.
    pub long: Option<f64>,
    /// Not served: the photos are evidence for the centre, not public.
    pub media_url: Option<String>,
}

/// An instant as the spec writes it: ISO 8601 with the offset, in China time (+08:00).
pub fn iso8601(ms: i64) -> String {
    let utc = DateTime::from_timestamp_millis(ms).unwrap_or_default();
    match FixedOffset::east_opt(8 * 3600) {
        Some(china) => utc
            .with_timezone(&china)
            .to_rfc3339_opts(SecondsFormat::Secs, false),
        None => utc.to_rfc3339_opts(SecondsFormat::Secs, true),
    }
}

fn service_request(state: &AppState, record: &CaseRecord) -> ServiceRequest {
    let s = &record.state;
    let item = state.catalog.checklist.item(&s.checklist_item);
    let open = s.status.is_open();
    let mut notes = format!("status: {}", s.status.as_str());
    if let Some(target) = &s.merged_into {
        notes = format!("merged into request {target}");
    }
    ServiceRequest {
        service_request_id: record.header.id.to_string(),
        status: if open { "open" } else { "closed" }.into(),
        status_notes: notes,
        service_name: item.map(|i| i.title_zh.clone()).unwrap_or_default(),
        service_code: s.checklist_item.clone(),
        description: record.header.description.clone(),
        agency_responsible: s.holders.join(","),
        service_notice: s.case_number.clone(),
        requested_datetime: iso8601(s.reported_at),
        updated_datetime: iso8601(s.last_event_at),
        expected_datetime: s.resolution_due.map(iso8601),
        address: record.header.address.clone(),
        lat: record.header.gps.map(|g| g.lat),
        long: record.header.gps.map(|g| g.lon),
        media_url: None,
    }
}

/// The filters of `GET requests.json`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
pub(crate) struct ListQuery {
    api_key: Option<String>,
    service_request_id: Option<String>,
    service_code: Option<String>,
    start_date: Option<String>,
    end_date: Option<String>,
    status: Option<String>,
}

fn list(text: Option<&str>) -> Vec<String> {
    text.map(|t| {
        t.split(',')
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    })
    .unwrap_or_default()
}

fn date(field: &str, text: Option<&str>) -> Open311Result<Option<i64>> {
    text.map(|t| {
        DateTime::parse_from_rfc3339(t.trim())
            .map(|d| d.timestamp_millis())
            .map_err(|_| {
                Open311Error::bad_request(
                    "bad_query",
                    format!(
                        "{field} must be ISO 8601 with an offset, e.g. 2026-03-02T09:00:00+08:00"
                    ),
                )
            })
    })
    .transpose()
}

/// `GET /open311/v2/requests.json`: the key's channel's requests, newest first, filtered by
/// `service_request_id`, `service_code` (comma-separated lists), `status` (`open`,
/// `closed`), `start_date` and `end_date` (the last 90 days by default), at most 1,000.
pub async fn list_requests(State(state): State<AppState>, request: Request) -> Response {
    let slot = request.extensions().get::<AuditSlot>().cloned();
    let parsed: Open311Result<ListQuery> = query(&request);
    drop(request);
    let result = async {
        let q = parsed?;
        let (key, _) = authenticate(&state, slot.as_ref(), q.api_key.as_deref()).await?;
        let now = state.clock.now_ms();
        let to_ms = date("end_date", q.end_date.as_deref())?.unwrap_or(now);
        let from_ms =
            date("start_date", q.start_date.as_deref())?.unwrap_or(to_ms - DEFAULT_SPAN_MS);
        let statuses = list(q.status.as_deref());
        let open = match (
            statuses.iter().any(|s| s == "open"),
            statuses.iter().any(|s| s == "closed"),
        ) {
            (true, false) => Some(true),
            (false, true) => Some(false),
            _ => None,
        };
        if let Some(bad) = statuses.iter().find(|s| *s != "open" && *s != "closed") {
            return Err(Open311Error::bad_request(
                "bad_query",
                format!("status '{bad}' is neither open nor closed"),
            ));
        }
        let filter = RequestFilter {
            channel: Some(key.channel),
            ids: list(q.service_request_id.as_deref()),
            items: list(q.service_code.as_deref()),
            open,
            from_ms,
            to_ms,
            limit: MAX_REQUESTS,
        };
        let storage = state.storage.clone();
        let records = blocking(move || {
            let ids = storage.request_ids(&filter)?;
            let mut records = Vec::with_capacity(ids.len());
            for id in ids {
                // A case set aside as damaged is left out rather than failing the list; the
                // failure is logged (the id only: no personal data).
                match storage.case(&id) {
                    Ok(Some(record)) => records.push(record),
                    Ok(None) => {}
                    Err(e) => {
                        tracing::warn!(case = %id, code = e.code(), "an Open311 list left out a case it could not read");
                    }
                }
            }
            Ok::<_, ApiError>(records)
        })
        .await?;
        Ok(Json(
            records
                .iter()
                .map(|r| service_request(&state, r))
                .collect::<Vec<_>>(),
        ))
    }
    .await;
    result.into_response()
}

/// `GET /open311/v2/requests/{id}.json`: one request of the key's channel, as a list of one
/// (the spec's shape); `404` for an unknown id or another channel's case.
pub async fn get_request(
    State(state): State<AppState>,
    file: Result<axum::extract::Path<String>, PathRejection>,
    request: Request,
) -> Response {
    let slot = request.extensions().get::<AuditSlot>().cloned();
    let parsed: Open311Result<KeyQuery> = query(&request);
    drop(request);
    let result = async {
        let q = parsed?;
        let (key, _) = authenticate(&state, slot.as_ref(), q.api_key.as_deref()).await?;
        let file = path_file(file)?;
        let id = json_name(&file)?.to_owned();
        let not_found = || {
            Open311Error::new(
                StatusCode::NOT_FOUND,
                "not_found",
                format!("service_request_id '{id}' was not found"),
            )
        };
        if wangge_core::CaseId::parse(&id).is_err() {
            return Err(not_found());
        }
        let storage = state.storage.clone();
        let lookup = id.clone();
        let record = blocking(move || storage.case(&lookup)).await?;
        match record {
            Some(r) if r.header.channel == key.channel => {
                Ok(Json(vec![service_request(&state, &r)]))
            }
            _ => Err(not_found()),
        }
    }
    .await;
    result.into_response()
}

/// Makes an Open311 API key for `channel`, signed as the centre person `person`, and stores
/// its hash. Returns the key and its secret (shown once). Refused for a channel a handheld
/// records itself, and for anyone but an active centre operator.
pub fn create_api_key(
    storage: &dyn crate::storage::Storage,
    channel: wangge_core::SourceChannel,
    person: &str,
    name: &str,
    now_ms: i64,
) -> Result<(ApiKey, String), ApiError> {
    if crate::routes::intake::is_handheld(channel) {
        return Err(ApiError::unprocessable(
            "handheld_channel",
            format!(
                "{} cases are recorded on the handheld itself; a key is for the hotlines, 110, workstations or WeChat",
                channel.as_str()
            ),
        ));
    }
    let acts = storage
        .person(person)?
        .is_some_and(|p| p.active && p.roles.contains(&Role::Centre));
    if !acts {
        return Err(ApiError::unprocessable(
            "not_centre_person",
            format!(
                "{person} is not an active centre operator of the register; cases made with the key are signed by that person"
            ),
        ));
    }
    let secret = new_api_key()?;
    let key = ApiKey {
        key_id: uuid::Uuid::now_v7().to_string(),
        name: name.to_owned(),
        channel,
        person: person.to_owned(),
        device_id: DeviceId::generate().to_string(),
        created_at: now_ms,
        revoked_at: None,
    };
    storage.create_api_key(&key, &auth::hash_token(&secret))?;
    Ok((key, secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_are_iso_8601_in_china_time() {
        // 2026-03-02 09:00 CST.
        assert_eq!(iso8601(1_772_413_200_000), "2026-03-02T09:00:00+08:00");
        assert_eq!(iso8601(0), "1970-01-01T08:00:00+08:00");
    }

    #[test]
    fn resources_are_json_only() {
        assert_eq!(json_name("A02-001.json").ok(), Some("A02-001"));
        let xml = json_name("A02-001.xml").unwrap_err();
        assert_eq!(xml.status, StatusCode::BAD_REQUEST);
        for bad in ["A02-001", ".json", "A02-001.csv"] {
            assert_eq!(
                json_name(bad).unwrap_err().status,
                StatusCode::NOT_FOUND,
                "{bad}"
            );
        }
    }

    #[test]
    fn errors_have_the_spec_shape() {
        let response =
            Open311Error::new(StatusCode::FORBIDDEN, "bad_api_key", "api_key is invalid")
                .into_response();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        assert_eq!(
            response.extensions().get::<ErrorCode>().map(|c| c.0),
            Some("bad_api_key")
        );
    }
}
