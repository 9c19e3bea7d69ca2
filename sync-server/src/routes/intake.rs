//! Intake at the centre's desk (一口受理): `POST /v1/cases` takes a case in from any channel
//! the desk serves, `GET /v1/cases/{id}/duplicates` hints the open cases it may repeat, and
//! `GET /v1/cases/{id}/contact` reads the reporter's contact (centre devices only), and
//! `DELETE` erases it.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use wangge_core::{CaseRecord, GpsFix, NewCase, PhotoRef, SourceChannel};

use crate::AppState;
use crate::audit::{Detail, ErrorCode};
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath};
use crate::routes::office::{centre_actor, check_case_id};
use crate::routes::{CentreDevice, blocking};
use crate::storage::intake::{DuplicateHint, Intake, IntakeOutcome, ReporterContact};

/// Where the reporter says the matter is: a point picked on the map or sent by the caller's
/// phone.
#[derive(Debug, Clone, Copy, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Position {
    /// WGS-84 latitude.
    pub lat: f64,
    /// WGS-84 longitude.
    pub lon: f64,
    /// How sure the position is, in metres ([`DEFAULT_ACCURACY_M`] if not given).
    #[serde(default)]
    pub accuracy_m: Option<f64>,
}

/// The accuracy assumed for a position given without one: a point picked on a map or sent
/// by a citizen's phone is good to some metres, not to the centimetre, so a point this near
/// a grid boundary is shown as ambiguous rather than filed in one grid by chance.
pub const DEFAULT_ACCURACY_M: f64 = 10.0;

impl Position {
    /// The position as the case header's fix, taken at `now_ms`.
    pub fn fix(self, now_ms: i64) -> GpsFix {
        GpsFix {
            lat: self.lat,
            lon: self.lon,
            accuracy_m: self.accuracy_m.unwrap_or(DEFAULT_ACCURACY_M),
            fix_time_ms: now_ms,
        }
    }
}

/// Body of `POST /v1/cases`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IntakeBody {
    /// The channel's machine name (`hotline_12345`, `wechat` …).
    pub channel: String,
    /// The channel's own reference (a 12345 work-order number): taken in once.
    #[serde(default)]
    pub reference: Option<String>,
    /// The checklist item.
    pub checklist_item: String,
    /// What the reporter says.
    pub description: String,
    /// A street address.
    #[serde(default)]
    pub address: Option<String>,
    /// A position.
    #[serde(default)]
    pub position: Option<Position>,
    /// The grid the operator chose (when the position is ambiguous, or there is none).
    #[serde(default)]
    pub grid: Option<String>,
    /// Photos already uploaded with `PUT /v1/photos/{sha}`.
    #[serde(default)]
    pub photos: Vec<PhotoRef>,
    /// How to reach the reporter: kept out of the case document and of every log.
    #[serde(default)]
    pub contact: Option<ReporterContact>,
}

/// Answer of `POST /v1/cases`.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct IntakeAnswer {
    /// The new case (its header shows `grid`, or `grid_candidates` when the position was
    /// ambiguous and no grid was chosen).
    pub case: CaseRecord,
    /// Open cases of the same item reported within 50 m and 72 h.
    pub duplicates: Vec<DuplicateHint>,
}

/// Channels whose cases come from the phones themselves, not from the desk: refused here.
///
/// Why: a case from an officer's or an official's handheld is recorded on that handheld,
/// signed by its owner, with the phone's own fix and photos, and reaches the server by sync.
/// Typed in at the desk, it would be signed by the operator and counted as the officers' own
/// patrol work (95.8% of the seed's cases), which the evaluation of the grid relies on.
pub fn is_handheld(channel: SourceChannel) -> bool {
    matches!(
        channel,
        SourceChannel::GridOfficerHandheld | SourceChannel::StreetOfficialHandheld
    )
}

/// Checks what the route can check without storage, and turns the body into an [`Intake`]
/// without its author.
pub fn check_intake(
    state: &AppState,
    channel: SourceChannel,
    body: IntakeBody,
    now_ms: i64,
) -> Result<(NewCase, Option<ReporterContact>), ApiError> {
    if state.catalog.checklist.item(&body.checklist_item).is_none() {
        return Err(ApiError::unprocessable(
            "unknown_checklist_item",
            format!(
                "unknown checklist item '{}'; pick one of the checklist",
                body.checklist_item
            ),
        ));
    }
    if let Some(grid) = &body.grid
        && state.catalog.grids.cell(grid).is_none()
    {
        return Err(ApiError::unprocessable(
            "unknown_grid",
            format!("unknown grid '{grid}'"),
        ));
    }
    if body.position.is_none() && body.address.as_deref().is_none_or(|a| a.trim().is_empty()) {
        return Err(ApiError::unprocessable(
            "invalid_input",
            "say where: give an address, a position, or both",
        ));
    }
    if let Some(contact) = &body.contact {
        contact
            .validate()
            .map_err(|m| ApiError::unprocessable("invalid_input", m))?;
    }
    let reference = body
        .reference
        .map(|r| r.trim().to_owned())
        .filter(|r| !r.is_empty());
    Ok((
        NewCase {
            channel,
            checklist_item: body.checklist_item,
            description: body.description,
            gps: body.position.map(|p| p.fix(now_ms)),
            address: body
                .address
                .map(|a| a.trim().to_owned())
                .filter(|a| !a.is_empty()),
            grid: body.grid,
            photos: body.photos,
            external_ref: reference,
        },
        body.contact,
    ))
}

/// `POST /v1/cases`: takes a case in (受理) from a channel the desk serves. Answers `201`
/// with the case and its duplicate hints, or `409 duplicate_reference` with the `case_id`
/// made for the same reference before.
pub async fn create_case(
    State(state): State<AppState>,
    CentreDevice(device): CentreDevice,
    ApiJson(body): ApiJson<IntakeBody>,
) -> Result<Response, ApiError> {
    let channel = SourceChannel::parse(&body.channel)
        .map_err(|e| ApiError::unprocessable("unknown_channel", e.to_string()))?;
    if is_handheld(channel) {
        return Err(ApiError::unprocessable(
            "handheld_channel",
            format!(
                "cases of the {} channel are recorded on the handheld itself and arrive by sync; \
                 the desk takes in hotline, 110, workstation and WeChat cases",
                channel.as_str()
            ),
        ));
    }
    let now = state.clock.now_ms();
    let (new, contact) = check_intake(&state, channel, body, now)?;
    let storage = state.storage.clone();
    let outcome = blocking(move || {
        let by = centre_actor(storage.as_ref(), &device)?;
        storage
            .intake_case(&Intake { by, new, contact }, now)
            .map_err(ApiError::from)
    })
    .await?;
    Ok(intake_response(outcome))
}

/// The HTTP answer of an intake.
fn intake_response(outcome: IntakeOutcome) -> Response {
    match outcome {
        IntakeOutcome::Created { case, duplicates } => {
            let detail = Detail(format!(
                "case {}, {} duplicate hints",
                case.header.id,
                duplicates.len()
            ));
            let mut response = (
                StatusCode::CREATED,
                Json(IntakeAnswer {
                    case: *case,
                    duplicates,
                }),
            )
                .into_response();
            response.extensions_mut().insert(detail);
            response
        }
        IntakeOutcome::DuplicateReference { case_id } => {
            let mut response = (
                StatusCode::CONFLICT,
                Json(serde_json::json!({
                    "error": "duplicate_reference",
                    "message": format!(
                        "this channel's reference was taken in before, as case {case_id}; \
                         add to that case instead"
                    ),
                    "case_id": case_id,
                })),
            )
                .into_response();
            response
                .extensions_mut()
                .insert(ErrorCode("duplicate_reference"));
            response
        }
    }
}

/// `GET /v1/cases/{id}/duplicates`: the open cases of the same item reported within 50 m
/// and 72 h of this one, nearest first (none when the case has no position).
pub async fn duplicates(
    State(state): State<AppState>,
    _centre: CentreDevice,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vec<DuplicateHint>>, ApiError> {
    check_case_id(&id)?;
    let storage = state.storage.clone();
    Ok(Json(
        blocking(move || {
            if storage.case(&id)?.is_none() {
                return Err(ApiError::not_found("no such case on the server"));
            }
            storage.duplicate_hints(&id).map_err(ApiError::from)
        })
        .await?,
    ))
}

/// Answer of `GET /v1/cases/{id}/contact`.
#[derive(Debug, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ContactAnswer {
    /// The case.
    pub case_id: String,
    /// How to reach its reporter.
    pub contact: ReporterContact,
}

fn no_contact() -> ApiError {
    ApiError {
        status: StatusCode::NOT_FOUND,
        code: "no_contact",
        message: "no reporter contact is recorded for this case".into(),
    }
}

/// `DELETE /v1/cases/{id}/contact`: erases the reporter's contact (its purpose served, or
/// the reporter asked). Answers `204`; `404 no_contact` when there was none. The case
/// document never held it, so nothing else needs erasing.
pub async fn erase_contact(
    State(state): State<AppState>,
    _centre: CentreDevice,
    ApiPath(id): ApiPath<String>,
) -> Result<StatusCode, ApiError> {
    check_case_id(&id)?;
    let storage = state.storage.clone();
    if blocking(move || storage.erase_reporter_contact(&id)).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(no_contact())
    }
}

/// `GET /v1/cases/{id}/contact`: the reporter's contact recorded at intake. Centre devices
/// only; `404 no_contact` when none was recorded.
pub async fn contact(
    State(state): State<AppState>,
    _centre: CentreDevice,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<ContactAnswer>, ApiError> {
    check_case_id(&id)?;
    let storage = state.storage.clone();
    let case_id = id.clone();
    let found = blocking(move || storage.reporter_contact(&id)).await?;
    match found {
        Some(contact) => Ok(Json(ContactAnswer { case_id, contact })),
        None => Err(no_contact()),
    }
}
