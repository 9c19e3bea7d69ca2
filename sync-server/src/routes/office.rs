//! The back office's JSON API: list and read cases, register (assigning
//! the official number), dispatch and the other centre actions, figures.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use wangge_core::photo::{EvidencePolicy, PhotoEvidence, case_photo_evidence};
use wangge_core::{Actor, CaseEventKind, CaseRecord, CaseStatus, DeviceId, Role, SourceChannel};

use crate::AppState;
use crate::error::ApiError;
use crate::extract::{ApiJson, ApiPath, ApiQuery};
use crate::office::period::Period;
use crate::office::queue::{CaseFilter, CasePage, Cursor, DEFAULT_PAGE, MAX_PAGE, SortOrder};
use crate::routes::{CentreDevice, blocking};
use crate::storage::{Device, Stats, Storage};

/// The person behind a back-office action, as the event records it: the
/// centre operator the device is enrolled to, in the centre role. The event
/// is signed by that person (their staff id), so the audit of units and the
/// timeline say who registered, dispatched or closed.
pub(crate) fn centre_actor(storage: &dyn Storage, device: &Device) -> Result<Actor, ApiError> {
    let person = match &device.person {
        Some(id) => storage.person(id)?.filter(|p| p.active),
        None => None,
    };
    let Some(person) = person.filter(|p| p.roles.contains(&Role::Centre)) else {
        return Err(ApiError::forbidden(
            "not_centre_person",
            "this device is not enrolled to an active centre operator; enrol it with `wangge-server enroll --person <staff id of a centre operator>`",
        ));
    };
    Ok(Actor {
        id: person.staff_id,
        role: Role::Centre,
        unit: None,
        device: DeviceId::parse(&device.device_id).map_err(ApiError::internal)?,
    })
}

pub(crate) fn check_case_id(id: &str) -> Result<(), ApiError> {
    wangge_core::CaseId::parse(id)
        .map(|_| ())
        .map_err(|e| ApiError::bad_request("bad_case_id", e.to_string()))
}

/// Query of `GET /v1/cases` (see `docs/back-office.md`, "Case lists").
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    /// Statuses, comma-separated (`registered,dispatched`).
    pub status: Option<String>,
    /// `true`: only open cases; `false`: only finished ones.
    pub open: Option<bool>,
    /// Only cases overdue now.
    #[serde(default)]
    pub overdue: bool,
    /// Only cases with an unmet deadline within this many minutes.
    pub due_within: Option<u32>,
    /// Held now by this holder.
    pub holder: Option<String>,
    /// Ever dispatched to this unit.
    pub unit: Option<String>,
    /// `true`: only cases with the district platform; `false`: only the others.
    pub escalated: Option<bool>,
    /// Only open cases a unit handed back that are with the centre again.
    #[serde(default)]
    pub handed_back: bool,
    /// Grid cell, workstation or block (any level).
    pub grid: Option<String>,
    /// Grid block.
    pub block: Option<String>,
    /// Residential workstation.
    pub workstation: Option<String>,
    /// Category id.
    pub category: Option<String>,
    /// Checklist item id.
    pub item: Option<String>,
    /// Intake channel (machine name).
    pub channel: Option<String>,
    /// Reported from (a day or a time, China time unless an offset is given).
    pub from: Option<String>,
    /// Reported up to (a day includes the whole day).
    pub to: Option<String>,
    /// Text in the description.
    pub q: Option<String>,
    /// `reported` (newest first, the default) or `due` (earliest deadline first).
    pub sort: Option<SortOrder>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
    /// Rows per page (default 50, at most 500).
    pub limit: Option<u32>,
}

impl ListParams {
    /// The filter these parameters ask for, or a `400 bad_query` naming the bad one.
    pub fn filter(self, now_ms: i64) -> Result<CaseFilter, ApiError> {
        let bad = |m: String| ApiError::bad_request("bad_query", m);
        let statuses = match &self.status {
            None => Vec::new(),
            Some(list) => list
                .split(',')
                .map(|s| {
                    CaseStatus::parse(s.trim()).ok_or_else(|| {
                        bad(format!(
                            "status: '{s}' is not a status; use one or more of {}",
                            CaseStatus::ALL.map(|s| s.as_str()).join(", ")
                        ))
                    })
                })
                .collect::<Result<_, _>>()?,
        };
        if let Some(c) = &self.channel {
            SourceChannel::parse(c).map_err(|e| bad(format!("channel: {e}")))?;
        }
        let (reported_from, reported_to) = if self.from.is_some() || self.to.is_some() {
            let p = Period::parse(self.from.as_deref(), self.to.as_deref(), now_ms).map_err(bad)?;
            (
                self.from.is_some().then_some(p.from_ms),
                self.to.is_some().then_some(p.to_ms),
            )
        } else {
            (None, None)
        };
        let after = match &self.cursor {
            Some(c) => Some(Cursor::decode(c).map_err(|e| bad(format!("cursor: {e}")))?),
            None => None,
        };
        if self.q.as_deref().is_some_and(|q| q.trim().is_empty()) {
            return Err(bad("q: type at least one character to search".into()));
        }
        let limit = self.limit.unwrap_or(DEFAULT_PAGE);
        if limit == 0 || limit > MAX_PAGE {
            return Err(bad(format!("limit: give 1 to {MAX_PAGE} rows per page")));
        }
        Ok(CaseFilter {
            statuses,
            open: self.open,
            holder: self.holder,
            unit: self.unit,
            units_any: Vec::new(),
            escalated: self.escalated,
            handed_back: self.handed_back,
            area: self.grid,
            block: self.block,
            workstation: self.workstation,
            category: self.category,
            item: self.item,
            channel: self.channel,
            reported_from,
            reported_to,
            overdue: self.overdue,
            due_within_minutes: self.due_within,
            text: self.q,
            sort: self.sort.unwrap_or_default(),
            after,
            limit,
        })
    }
}

/// `GET /v1/cases`: one page of cases matching the filters, with deadlines, time left and
/// time with each holder; `next_cursor` leads to the next page.
pub async fn list_cases(
    State(state): State<AppState>,
    _centre: CentreDevice,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Json<CasePage>, ApiError> {
    let now = state.clock.now_ms();
    let filter = p.filter(now)?;
    let storage = state.storage.clone();
    Ok(Json(
        blocking(move || storage.case_page(&filter, now)).await?,
    ))
}

/// `GET /v1/cases/{id}`.
pub async fn get_case(
    State(state): State<AppState>,
    _centre: CentreDevice,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<CaseRecord>, ApiError> {
    check_case_id(&id)?;
    let storage = state.storage.clone();
    let found = blocking(move || storage.case(&id)).await?;
    found
        .map(Json)
        .ok_or_else(|| ApiError::not_found("no such case on the server"))
}

/// `GET /v1/cases/{id}/evidence`: the photos of a case, each with what its own capture time
/// and position say against the report that attaches it (taken days before, far away, no
/// time or position), for the supervisor deciding whether to trust it. Computed from the case
/// document alone: the photo's bytes need not have arrived.
pub async fn evidence(
    State(state): State<AppState>,
    _centre: CentreDevice,
    ApiPath(id): ApiPath<String>,
) -> Result<Json<Vec<PhotoEvidence>>, ApiError> {
    check_case_id(&id)?;
    let storage = state.storage.clone();
    let record = blocking(move || storage.case(&id))
        .await?
        .ok_or_else(|| ApiError::not_found("no such case on the server"))?;
    Ok(Json(case_photo_evidence(
        &record,
        &EvidencePolicy::default(),
    )))
}

/// Body of `POST /v1/cases/{id}/register`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RegisterBody {
    /// Corrected checklist item.
    pub checklist_item: Option<String>,
    /// Grid chosen when the fix was ambiguous.
    pub grid: Option<String>,
}

/// `POST /v1/cases/{id}/register`: registers (立案) and assigns the number.
pub async fn register(
    State(state): State<AppState>,
    CentreDevice(device): CentreDevice,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<RegisterBody>,
) -> Result<Json<CaseRecord>, ApiError> {
    check_case_id(&id)?;
    if let Some(item) = &body.checklist_item
        && state.catalog.checklist.item(item).is_none()
    {
        return Err(ApiError::unprocessable(
            "unknown_checklist_item",
            format!("unknown checklist item '{item}'"),
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
    let now = state.clock.now_ms();
    let storage = state.storage.clone();
    Ok(Json(
        blocking(move || {
            let by = centre_actor(storage.as_ref(), &device)?;
            storage
                .register_case(&id, &by, body.checklist_item, body.grid, now)
                .map_err(ApiError::from)
        })
        .await?,
    ))
}

/// `POST /v1/cases/{id}/events`: dispatch (to a lead and assisting units), release an
/// assisting unit, withdraw a dispatch, verify, close, reopen, escalate, comment.
pub async fn add_event(
    State(state): State<AppState>,
    CentreDevice(device): CentreDevice,
    ApiPath(id): ApiPath<String>,
    ApiJson(kind): ApiJson<CaseEventKind>,
) -> Result<Json<CaseRecord>, ApiError> {
    check_case_id(&id)?;
    if matches!(
        kind,
        CaseEventKind::MergedInto { .. } | CaseEventKind::MergedFrom { .. }
    ) {
        return Err(ApiError::unprocessable(
            "merge_through_endpoint",
            "a merge changes two cases; use POST /v1/cases/{id}/merge with {\"into\": <case id>}",
        ));
    }
    let now = state.clock.now_ms();
    let storage = state.storage.clone();
    Ok(Json(
        blocking(move || {
            let by = centre_actor(storage.as_ref(), &device)?;
            storage
                .add_case_event(&id, &by, kind, now)
                .map_err(ApiError::from)
        })
        .await?,
    ))
}

/// Body of `POST /v1/cases/{id}/merge`.
#[derive(Debug, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MergeBody {
    /// The id of the case that carries the handling.
    pub into: String,
    /// Remarks.
    #[serde(default)]
    pub note: Option<String>,
}

/// `POST /v1/cases/{id}/merge`: the case `{id}` is a duplicate of `into` (合并). Both keep
/// their documents: the duplicate's timeline says where it went (`merged_into`, status
/// `merged`, no longer open), the other's where it came from (`merged_from`). Undone by
/// reopening the duplicate. Answers the duplicate.
pub async fn merge(
    State(state): State<AppState>,
    CentreDevice(device): CentreDevice,
    ApiPath(id): ApiPath<String>,
    ApiJson(body): ApiJson<MergeBody>,
) -> Result<Json<CaseRecord>, ApiError> {
    check_case_id(&id)?;
    check_case_id(&body.into)?;
    let now = state.clock.now_ms();
    let storage = state.storage.clone();
    Ok(Json(
        blocking(move || {
            let by = centre_actor(storage.as_ref(), &device)?;
            storage
                .merge_case(&id, &body.into, &by, body.note, now)
                .map_err(ApiError::from)
        })
        .await?,
    ))
}

/// `GET /v1/stats`.
pub async fn stats(
    State(state): State<AppState>,
    _centre: CentreDevice,
) -> Result<Json<Stats>, ApiError> {
    let now = state.clock.now_ms();
    let storage = state.storage.clone();
    Ok(Json(blocking(move || storage.stats(now)).await?))
}
