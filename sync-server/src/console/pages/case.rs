//! `/console/cases/{id}`: one case — its facts and deadlines, the timeline of events (who,
//! role, unit, device, when), photos with their evidence warnings, and the actions the
//! person's role allows, each a form that records an event as that person.

use std::collections::HashMap;

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use wangge_core::photo::{EvidenceFlag, EvidencePolicy, case_photo_evidence};
use wangge_core::{CaseEventKind, CaseRecord, CaseStatus, Role};

use crate::AppState;
use crate::console::format::{span, when};
use crate::console::labels as L;
use crate::console::layout::{Nav, page};
use crate::console::session::{Fields, Staff, StaffForm};
use crate::console::svg::map::{Marker, case_map};
use crate::error::ApiError;
use crate::extract::ApiPath;
use crate::routes::blocking;
use crate::routes::office::check_case_id;
use crate::storage::Person;

/// Reads a case the person may see: the centre and inspectors see every case, a unit
/// handler the cases dispatched (at any time) to one of their units. Anything else is
/// `404`, so a handler cannot learn which case ids exist.
pub async fn visible_case(
    state: &AppState,
    staff: &Staff,
    id: &str,
) -> Result<CaseRecord, ApiError> {
    check_case_id(id)?;
    let storage = state.storage.clone();
    let key = id.to_owned();
    let record = blocking(move || storage.case(&key)).await?;
    record
        .filter(|r| {
            staff.sees_all()
                || r.state
                    .assignments
                    .iter()
                    .any(|a| staff.units().contains(&a.unit))
        })
        .ok_or_else(|| ApiError::not_found(format!("no case {id} that you may see")))
}

/// The unit of `staff` that holds the case now (on it, not ended or released), if any: the
/// unit a handler acts for on this case.
fn acting_unit(staff: &Staff, record: &CaseRecord) -> Option<String> {
    record
        .state
        .assignments
        .iter()
        .filter(|a| a.ended.is_none() && a.released_at.is_none())
        .find(|a| staff.units().contains(&a.unit))
        .map(|a| a.unit.clone())
}

/// What an event says beyond its kind.
fn detail(kind: &CaseEventKind) -> String {
    use CaseEventKind as K;
    match kind {
        K::Reported => String::new(),
        K::Registered {
            case_number,
            checklist_item,
            grid,
        } => {
            let mut s = case_number.clone();
            if let Some(i) = checklist_item {
                s.push_str(&format!(" · {i}"));
            }
            if let Some(g) = grid {
                s.push_str(&format!(" · {g}"));
            }
            s
        }
        K::Dispatched { units, lead, note } => {
            let mut s = format!(
                "{}：{}",
                L::LEAD_UNIT,
                lead.as_deref()
                    .or(units.first().map(String::as_str))
                    .unwrap_or("")
            );
            let assisting: Vec<&str> = units
                .iter()
                .map(String::as_str)
                .filter(|u| Some(*u) != lead.as_deref().or(units.first().map(String::as_str)))
                .collect();
            if !assisting.is_empty() {
                s.push_str(&format!(
                    "；{}：{}",
                    L::ASSISTING_UNITS,
                    assisting.join("、")
                ));
            }
            if let Some(n) = note {
                s.push_str(&format!("；{n}"));
            }
            s
        }
        K::Rejected { reason }
        | K::Reopened { reason }
        | K::Escalated { reason }
        | K::HandedBack { reason } => reason.clone(),
        K::Arrived { note } | K::Closed { note } => note.clone().unwrap_or_default(),
        K::HandledOnSpot { note, .. }
        | K::Feedback { note, .. }
        | K::Comment { text: note, .. } => note.clone(),
        K::Verified { passed, note, .. } => format!(
            "{}{}",
            if *passed { "通过" } else { "不通过" },
            note.as_deref()
                .map(|n| format!("；{n}"))
                .unwrap_or_default()
        ),
        K::Released { unit, reason } => format!(
            "{unit}{}",
            reason
                .as_deref()
                .map(|r| format!("；{r}"))
                .unwrap_or_default()
        ),
        K::Withdrawn { units, reason } => format!("{}；{reason}", units.join("、")),
        K::MergedInto { target, note } => format!(
            "{target}{}",
            note.as_deref()
                .map(|n| format!("；{n}"))
                .unwrap_or_default()
        ),
        K::MergedFrom { source } => source.clone(),
    }
}

/// A photo's evidence warning, in words.
fn warning(flag: &EvidenceFlag) -> String {
    match flag {
        EvidenceFlag::TakenLongBefore { hours } => format!("拍摄时间早于上报 {hours} 小时"),
        EvidenceFlag::TakenAfterReport => "拍摄时间晚于上报".into(),
        EvidenceFlag::FarFromReport { metres } => format!("拍摄位置距上报位置 {metres} 米"),
        EvidenceFlag::NoCaptureTime => "照片无拍摄时间".into(),
        EvidenceFlag::NoPosition => "照片无位置信息".into(),
    }
}

/// `GET /console/cases/{id}`.
pub async fn show(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath(id): ApiPath<String>,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
) -> Result<Response, ApiError> {
    let record = visible_case(&state, &staff, &id).await?;
    let storage = state.storage.clone();
    let (people, units, hints) = {
        let ids: Vec<String> = record.events.iter().map(|e| e.by.id.clone()).collect();
        let case_id = id.clone();
        let centre = staff.is_centre();
        blocking(move || {
            let mut people: HashMap<String, Person> = HashMap::new();
            for pid in ids {
                if !people.contains_key(&pid)
                    && let Some(p) = storage.person(&pid)?
                {
                    people.insert(pid, p);
                }
            }
            let units: Vec<String> = storage.units()?.into_iter().map(|u| u.id).collect();
            let hints = if centre {
                storage.duplicate_hints(&case_id)?
            } else {
                Vec::new()
            };
            Ok::<_, ApiError>((people, units, hints))
        })
        .await?
    };
    let s = &record.state;
    let h = &record.header;
    let now = staff.now_ms;
    let item = state.catalog.checklist.item(&s.checklist_item);
    let title = match &s.case_number {
        Some(n) => n.clone(),
        None => format!("{} {}", L::NO_NUMBER, id.get(..8).unwrap_or(&id)),
    };
    let evidence = case_photo_evidence(&record, &EvidencePolicy::default());
    let body = html! {
        @if let Some(done) = q.get("done") {
            p.notice #done data-action=(done) { (L::action(done)) " ✓" }
        }
        div.grid2 {
            div {
                section.card #facts data-status=(s.status.as_str()) {
                    dl.facts {
                        dt { (L::COL_STATUS) } dd #status { (L::status(s.status)) @if s.escalated { " · " (L::QUEUE_ESCALATED) } }
                        dt { (L::COL_ITEM) } dd { (item.map(|i| i.title_zh.as_str()).unwrap_or(&s.checklist_item)) }
                        dt { (L::COL_CHANNEL) } dd { (h.channel.name_zh()) @if let Some(r) = &h.external_ref { " · " (r) } }
                        dt { (L::COL_REPORTED) } dd { (when(s.reported_at)) }
                        dt { (L::COL_PLACE) } dd { (s.grid.as_deref().unwrap_or("—")) }
                        @if let Some(a) = &h.address { dt { (L::ADDRESS) } dd { (a) } }
                        @if let Some(g) = &h.gps { dt { (L::POSITION) } dd #position data-lat=(g.lat) data-lon=(g.lon) { (format!("{:.6}, {:.6}", g.lat, g.lon)) } }
                        dt { (L::COL_HOLDER) } dd #holders { (s.holders.join("、")) }
                        dt { (L::DEADLINES) } dd {
                            @for (label, due, met) in [("响应", s.response_due, s.responded_at), ("处置", s.resolution_due, s.resolved_at)] {
                                @if let Some(due) = due {
                                    span class=[(met.is_none() && due < now && s.status.is_open()).then_some("late")] {
                                        (label) " " (when(due))
                                        @if met.is_none() && s.status.is_open() { " (" span data-due-ms=(due) { (span(due - now)) } ")" }
                                    } " "
                                }
                            }
                        }
                        dt { (L::DESCRIPTION) } dd #description { (h.description) }
                    }
                }
                section.card #timeline {
                    h2 { (L::TIMELINE) }
                    table {
                        thead { tr { th { (L::WHEN) } th { (L::WHAT) } th { (L::WHO) } th { (L::ROLE) } th { (L::UNIT) } th { (L::DEVICE) } th { (L::NOTE) } } }
                        tbody {
                            @for e in &record.events {
                                tr data-event=(e.kind.name()) data-by=(e.by.id) {
                                    td { (when(e.at.wall_ms)) }
                                    td { (L::event(e.kind.name())) }
                                    td { (people.get(&e.by.id).map(|p| p.name.as_str()).unwrap_or(&e.by.id)) }
                                    td { (L::role(e.by.role)) }
                                    td { (e.by.unit.as_deref().unwrap_or("")) }
                                    td { (e.by.device.to_string().get(..8).unwrap_or("")) }
                                    td { (detail(&e.kind)) }
                                }
                            }
                        }
                    }
                }
                @if !evidence.is_empty() {
                    section.card.photos #photos {
                        h2 { (L::PHOTOS) }
                        @for p in &evidence {
                            figure data-sha=(p.photo.sha256) {
                                a href=(format!("/console/cases/{id}/photos/{}", p.photo.sha256)) {
                                    img src=(format!("/console/cases/{id}/photos/{}/thumbnail", p.photo.sha256)) alt=(L::PHOTOS) loading="lazy";
                                }
                                figcaption {
                                    (when(p.attached_at_ms))
                                    @for f in &p.flags { br; span.warning { "⚠ " (warning(f)) } }
                                }
                            }
                        }
                    }
                }
            }
            div {
                section.card.actions #actions {
                    h2 { (L::ACTIONS) }
                    (actions(&state, &staff, &record, &units))
                }
                @if let Some((lat, lon, _)) = crate::office::position(&state.catalog, h, s) {
                    section.card #where {
                        (case_map(&state.catalog.grids, state.office.map_tiles.as_deref(), "case-map", &Marker {
                            case_id: &id,
                            label: &title,
                            status: s.status,
                            late: s.is_overdue(now),
                            lat,
                            lon,
                            title: &title,
                        }, L::POSITION))
                    }
                }
                @if !hints.is_empty() {
                    section.card #duplicates {
                        h2 { (L::DUPLICATE_HINTS) }
                        ul { @for d in &hints { li { a href=(format!("/console/cases/{}", d.case_id)) { (d.case_number.as_deref().unwrap_or(&d.case_id)) } " · " (d.distance_m.round()) " m" } } }
                    }
                }
            }
        }
    };
    Ok(page(&staff, Nav::Queues, &title, body).into_response())
}

/// One action form: posts to `/console/cases/{id}/act` with `action` and the fields.
fn form(staff: &Staff, id: &str, action: &str, fields: Markup) -> Markup {
    html! {
        form.stack method="post" action=(format!("/console/cases/{id}/act")) data-action=(action) {
            input type="hidden" name="_csrf" value=(staff.csrf);
            input type="hidden" name="action" value=(action);
            (fields)
            button type="submit" { (L::action(action)) }
        }
    }
}

fn note_field(required: bool) -> Markup {
    html! { label { (L::NOTE) } @if required { textarea name="note" rows="2" required {} } @else { textarea name="note" rows="2" {} } }
}

/// The actions `staff` may take on the case in its present status. The core refuses any
/// other (and these too, if the case moved on meanwhile).
fn actions(state: &AppState, staff: &Staff, record: &CaseRecord, units: &[String]) -> Markup {
    let id = record.header.id.to_string();
    let s = &record.state;
    let st = s.status;
    let open = st.is_open();
    let on_case: Vec<&str> = s
        .assignments
        .iter()
        .filter(|a| a.ended.is_none())
        .map(|a| a.unit.as_str())
        .collect();
    let assisting: Vec<&str> = s
        .assignments
        .iter()
        .filter(|a| {
            a.ended.is_none() && !a.lead && a.released_at.is_none() && a.feedback_at.is_none()
        })
        .map(|a| a.unit.as_str())
        .collect();
    let handler_unit = if staff.is_handler() {
        acting_unit(staff, record)
    } else {
        None
    };
    let with_units = matches!(st, CaseStatus::Dispatched | CaseStatus::InProgress);
    let checklist = &state.catalog.checklist;
    html! {
        @if staff.is_centre() {
            @if st == CaseStatus::Reported {
                (form(staff, &id, "register", html! {
                    label { (L::ITEM) }
                    select name="checklist_item" {
                        @for i in checklist.items() {
                            option value=(i.id) selected[i.id == s.checklist_item] { (i.id) " " (i.title_zh) }
                        }
                    }
                    @if !record.header.grid_candidates.is_empty() {
                        label { (L::GRID) }
                        select name="grid" { @for g in &record.header.grid_candidates { option value=(g) { (g) } } }
                    }
                }))
                (form(staff, &id, "rejected", note_field(true)))
            }
            @if matches!(st, CaseStatus::Registered) || with_units {
                (form(staff, &id, "dispatched", html! {
                    label for="lead" { (L::LEAD_UNIT) }
                    select #lead name="lead" required {
                        @let suggested = checklist.item(&s.checklist_item).map(|i| i.responsible_unit.as_str());
                        @for u in units { option value=(u) selected[Some(u.as_str()) == suggested] { (u) } }
                    }
                    label { (L::ASSISTING_UNITS) }
                    div.units {
                        @for u in units { label { input type="checkbox" name="assist" value=(u); " " (u) } }
                    }
                    (note_field(false))
                }))
            }
            @if with_units && !on_case.is_empty() {
                (form(staff, &id, "withdrawn", html! {
                    div.units { @for u in &on_case { label { input type="checkbox" name="unit" value=(u) checked; " " (u) } } }
                    (note_field(true))
                }))
            }
            @if with_units && !assisting.is_empty() {
                (form(staff, &id, "released", html! {
                    select name="unit" { @for u in &assisting { option value=(u) { (u) } } }
                    (note_field(false))
                }))
            }
            @if matches!(st, CaseStatus::Handled | CaseStatus::Verified) {
                (form(staff, &id, "closed", note_field(false)))
            }
            @if open && !s.escalated {
                (form(staff, &id, "escalated", note_field(true)))
            }
            @if matches!(st, CaseStatus::Closed | CaseStatus::Rejected | CaseStatus::Merged) {
                (form(staff, &id, "reopened", note_field(true)))
            }
            @if open {
                (form(staff, &id, "merge", html! {
                    label { "合并至案件（案件ID）" }
                    input type="text" name="into" required;
                    (note_field(false))
                }))
            }
        }
        @if (staff.is_centre() || staff.is_supervisor()) && st == CaseStatus::Handled {
            (form(staff, &id, "verified_pass", note_field(false)))
            (form(staff, &id, "verified_fail", note_field(true)))
        }
        @if let Some(unit) = &handler_unit {
            @if with_units {
                @let mine = s.assignments.iter().find(|a| &a.unit == unit && a.ended.is_none());
                @if mine.is_some_and(|a| a.arrived_at.is_none()) {
                    (form(staff, &id, "arrived", note_field(false)))
                }
                @if mine.is_some_and(|a| a.feedback_at.is_none()) {
                    (form(staff, &id, "feedback", note_field(true)))
                    (form(staff, &id, "handed_back", note_field(true)))
                }
            }
        }
        @if staff.sees_all() || handler_unit.is_some() {
            (form(staff, &id, "comment", note_field(true)))
        }
    }
}

/// The event a form asks for, and the role and unit it is recorded with; `None` for the
/// actions with their own storage call (register, merge).
fn event_of(
    staff: &Staff,
    record: &CaseRecord,
    f: &Fields,
) -> Result<(CaseEventKind, Role, Option<String>), ApiError> {
    let action = f.required("action", L::ACTIONS)?;
    let note = f.get("note").map(str::to_owned);
    let reason = || f.required("note", L::NOTE).map(str::to_owned);
    let centre = |kind: CaseEventKind| -> Result<_, ApiError> {
        if staff.is_centre() {
            Ok((kind, Role::Centre, None))
        } else {
            Err(ApiError::forbidden(
                "centre_only",
                "only the management centre does this",
            ))
        }
    };
    let unit = || {
        acting_unit(staff, record)
            .filter(|_| staff.is_handler())
            .ok_or_else(|| {
                ApiError::forbidden(
                    "not_your_unit",
                    "none of your units holds this case now; only a unit on the case does this",
                )
            })
    };
    Ok(match action {
        "rejected" => centre(CaseEventKind::Rejected { reason: reason()? })?,
        "dispatched" => {
            let lead = f.required("lead", L::LEAD_UNIT)?.to_owned();
            let mut units = vec![lead.clone()];
            for u in f.all("assist") {
                if !units.iter().any(|x| x == u) {
                    units.push(u.to_owned());
                }
            }
            centre(CaseEventKind::Dispatched {
                units,
                lead: Some(lead),
                note,
            })?
        }
        "withdrawn" => centre(CaseEventKind::Withdrawn {
            units: f.all("unit").into_iter().map(str::to_owned).collect(),
            reason: reason()?,
        })?,
        "released" => centre(CaseEventKind::Released {
            unit: f.required("unit", L::UNIT)?.to_owned(),
            reason: note,
        })?,
        "closed" => centre(CaseEventKind::Closed { note })?,
        "escalated" => centre(CaseEventKind::Escalated { reason: reason()? })?,
        "reopened" => centre(CaseEventKind::Reopened { reason: reason()? })?,
        "verified_pass" | "verified_fail" => {
            let passed = action == "verified_pass";
            let kind = CaseEventKind::Verified {
                passed,
                note: if passed { note } else { Some(reason()?) },
                photos: Vec::new(),
            };
            if staff.is_centre() {
                (kind, Role::Centre, None)
            } else if staff.is_supervisor() {
                (kind, Role::Supervisor, staff.units().first().cloned())
            } else {
                return Err(ApiError::forbidden(
                    "not_allowed",
                    "only the centre or an inspector verifies",
                ));
            }
        }
        "arrived" => (
            CaseEventKind::Arrived { note },
            Role::HandlingUnit,
            Some(unit()?),
        ),
        "feedback" => (
            CaseEventKind::Feedback {
                note: reason()?,
                photos: Vec::new(),
            },
            Role::HandlingUnit,
            Some(unit()?),
        ),
        "handed_back" => (
            CaseEventKind::HandedBack { reason: reason()? },
            Role::HandlingUnit,
            Some(unit()?),
        ),
        "comment" => {
            let kind = CaseEventKind::Comment {
                text: reason()?,
                photos: Vec::new(),
            };
            if staff.is_centre() {
                (kind, Role::Centre, None)
            } else if let Ok(u) = unit() {
                (kind, Role::HandlingUnit, Some(u))
            } else if staff.is_supervisor() {
                (kind, Role::Supervisor, staff.units().first().cloned())
            } else {
                return Err(ApiError::forbidden(
                    "not_allowed",
                    "you may not comment on this case",
                ));
            }
        }
        other => {
            return Err(ApiError::unprocessable(
                "unknown_action",
                format!("'{other}' is not an action of the console"),
            ));
        }
    })
}

/// `POST /console/cases/{id}/act`: one action, recorded as the person; back to the case.
pub async fn act(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<String>,
    StaffForm { staff, fields, .. }: StaffForm,
) -> Result<Response, ApiError> {
    let record = visible_case(&state, &staff, &id).await?;
    let action = fields.required("action", L::ACTIONS)?.to_owned();
    let now = state.clock.now_ms();
    let storage = state.storage.clone();
    match action.as_str() {
        "register" => {
            if !staff.is_centre() {
                return Err(ApiError::forbidden(
                    "centre_only",
                    "only the management centre registers cases",
                ));
            }
            let item = fields.get("checklist_item").map(str::to_owned);
            if let Some(i) = &item
                && state.catalog.checklist.item(i).is_none()
            {
                return Err(ApiError::unprocessable(
                    "unknown_checklist_item",
                    format!("unknown checklist item '{i}'"),
                ));
            }
            let grid = fields.get("grid").map(str::to_owned);
            let by = staff.actor(Role::Centre, None)?;
            let key = id.clone();
            // The item is passed only when corrected: the event then records a change.
            let item = item.filter(|i| *i != record.state.checklist_item);
            blocking(move || storage.register_case(&key, &by, item, grid, now)).await?;
        }
        "merge" => {
            if !staff.is_centre() {
                return Err(ApiError::forbidden(
                    "centre_only",
                    "only the management centre merges cases",
                ));
            }
            let into = fields.required("into", "合并至")?.to_owned();
            check_case_id(&into)?;
            let note = fields.get("note").map(str::to_owned);
            let by = staff.actor(Role::Centre, None)?;
            let key = id.clone();
            blocking(move || storage.merge_case(&key, &into, &by, note, now)).await?;
        }
        _ => {
            let (kind, role, unit) = event_of(&staff, &record, &fields)?;
            let by = staff.actor(role, unit)?;
            let key = id.clone();
            blocking(move || storage.add_case_event(&key, &by, kind, now)).await?;
        }
    }
    Ok(Redirect::to(&format!("/console/cases/{id}?done={action}")).into_response())
}

/// Serves a photo of a case the person may see; the photo must belong to that case.
async fn case_photo(
    state: &AppState,
    staff: &Staff,
    id: &str,
    sha: &str,
    thumbnail: bool,
) -> Result<Response, ApiError> {
    let record = visible_case(state, staff, id).await?;
    if !record
        .photos_attached()
        .iter()
        .any(|(p, _)| p.sha256 == sha)
    {
        return Err(ApiError::not_found(format!("case {id} has no photo {sha}")));
    }
    let storage = state.storage.clone();
    let key = sha.to_owned();
    let found = if thumbnail {
        blocking(move || storage.photo_thumbnail(&key)).await?
    } else {
        blocking(move || storage.photo(&key))
            .await?
            .map(|b| (sha.to_owned(), b))
    };
    match found {
        Some((etag, bytes)) => Ok(crate::routes::photos::jpeg(bytes, &etag)),
        None => Err(ApiError::not_found(format!(
            "photo {sha} is not on the server yet: the phone that took it uploads it at its next sync"
        ))),
    }
}

/// `GET /console/cases/{id}/photos/{sha}`.
pub async fn photo(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath((id, sha)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    case_photo(&state, &staff, &id, &sha, false).await
}

/// `GET /console/cases/{id}/photos/{sha}/thumbnail`.
pub async fn thumbnail(
    State(state): State<AppState>,
    staff: Staff,
    ApiPath((id, sha)): ApiPath<(String, String)>,
) -> Result<Response, ApiError> {
    case_photo(&state, &staff, &id, &sha, true).await
}
