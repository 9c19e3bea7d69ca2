//! `/console/intake`: the intake desk. A case from any desk channel (12345, 12319, 110, the
//! street hotline, a workstation, WeChat) with the channel's reference, the address, a
//! position typed or picked on the map, the checklist item (searchable), the description
//! and the reporter's contact. "查重" shows the open cases of the same item nearby before
//! anything is saved; saving goes through the same checks and storage call as
//! `POST /v1/cases` and opens the new case.

use axum::extract::State;
use axum::response::{IntoResponse, Redirect, Response};
use maud::{Markup, html};
use sha2::{Digest, Sha256};
use wangge_core::grid::GridLevel;
use wangge_core::grid::gcj02_to_wgs84;
use wangge_core::photo::{PhotoOptions, PreparedPhoto, prepare};
use wangge_core::{PhotoRef, Role, SourceChannel};

use crate::AppState;
use crate::console::format::when;
use crate::console::labels as L;
use crate::console::layout::{Nav, page};
use crate::console::session::{Fields, Staff, StaffForm};
use crate::console::svg::map::pick_map;
use crate::error::ApiError;
use crate::routes::blocking;
use crate::routes::intake::{IntakeBody, Position, check_intake, is_handheld};
use crate::storage::intake::{DuplicateHint, Intake, IntakeOutcome, ReporterContact};
use crate::storage::{ChunkOutcome, PhotoChunk, Storage};

/// Most photos one intake takes.
pub const MAX_PHOTOS: usize = 6;

fn sha256_hex(bytes: &[u8]) -> String {
    crate::auth::hex(&Sha256::digest(bytes))
}

/// Stores a prepared photo and its thumbnail as one complete upload each (what a phone's
/// upload ends with), by the console device.
fn store_photo(
    storage: &dyn Storage,
    p: &PreparedPhoto,
    device_id: &str,
    now: i64,
) -> Result<(), ApiError> {
    let thumb_sha = sha256_hex(&p.thumbnail);
    for (sha, data, of) in [
        (p.sha256.as_str(), &p.jpeg, None),
        (thumb_sha.as_str(), &p.thumbnail, Some(p.sha256.as_str())),
    ] {
        let chunk = PhotoChunk {
            sha256: sha,
            offset: 0,
            total: data.len() as u64,
            data,
            thumbnail_of: of,
            device_id,
        };
        match storage.put_photo_chunk(&chunk, now)? {
            ChunkOutcome::Stored(_) => {}
            // Already there (the same photo attached before): nothing to do.
            ChunkOutcome::WrongOffset(u) if u.complete => {}
            other => {
                return Err(ApiError::internal(format!(
                    "storing an intake photo: {other:?}"
                )));
            }
        }
    }
    Ok(())
}

fn centre_only(staff: &Staff) -> Result<(), ApiError> {
    if staff.is_centre() {
        Ok(())
    } else {
        Err(ApiError::forbidden(
            "centre_only",
            "only the management centre takes in cases",
        ))
    }
}

/// The position typed or picked, in WGS-84: a position in GCJ-02 (from a Chinese map
/// provider's tiles or app) is converted with the core's datum code.
fn position(f: &Fields) -> Result<Option<Position>, ApiError> {
    let (Some(lat), Some(lon)) = (f.get("lat"), f.get("lon")) else {
        return Ok(None);
    };
    let bad = || {
        ApiError::unprocessable(
            "invalid_input",
            "latitude and longitude are decimal degrees, e.g. 31.1920 and 121.4500",
        )
    };
    let lat: f64 = lat.parse().map_err(|_| bad())?;
    let lon: f64 = lon.parse().map_err(|_| bad())?;
    if !(-90.0..=90.0).contains(&lat) || !(-180.0..=180.0).contains(&lon) {
        return Err(bad());
    }
    let (lat, lon) = match f.get("datum") {
        Some("gcj02") => gcj02_to_wgs84(lat, lon),
        _ => (lat, lon),
    };
    Ok(Some(Position {
        lat,
        lon,
        accuracy_m: None,
    }))
}

/// The form, filled with what was sent (after a duplicate check or a refusal).
fn form(state: &AppState, staff: &Staff, f: &Fields, hints: Option<&[DuplicateHint]>) -> Markup {
    let v = |name: &str| f.get(name).unwrap_or("").to_owned();
    let checklist = &state.catalog.checklist;
    html! {
        form.stack #intake method="post" action="/console/intake" enctype="multipart/form-data" {
            input type="hidden" name="_csrf" value=(staff.csrf);
            div.grid2 {
                div {
                    label for="channel" { (L::CHANNEL) }
                    select #channel name="channel" required {
                        @for c in SourceChannel::ALL.into_iter().filter(|c| !is_handheld(*c)) {
                            option value=(c.as_str()) selected[v("channel") == c.as_str()] { (c.name_zh()) }
                        }
                    }
                    label for="reference" { (L::REFERENCE) }
                    input #reference type="text" name="reference" value=(v("reference"));
                    label for="item-filter" { (L::ITEM) }
                    input #item-filter type="text" placeholder="输入关键词筛选" data-filter-select="checklist_item";
                    select #checklist_item name="checklist_item" required size="6" {
                        @for i in checklist.items() {
                            option value=(i.id) selected[v("checklist_item") == i.id] { (i.id) " " (i.title_zh) }
                        }
                    }
                    label for="description" { (L::DESCRIPTION) }
                    textarea #description name="description" rows="3" required { (v("description")) }
                    label for="address" { (L::ADDRESS) }
                    input #address type="text" name="address" value=(v("address"));
                }
                div {
                    (pick_map(&state.catalog.grids, state.office.map_tiles.as_deref(), "intake-map", "intake", L::PICK_ON_MAP))
                    label for="lat" { (L::LATITUDE) }
                    input #lat type="text" name="lat" value=(v("lat")) inputmode="decimal";
                    label for="lon" { (L::LONGITUDE) }
                    input #lon type="text" name="lon" value=(v("lon")) inputmode="decimal";
                    label for="datum" { "坐标系" }
                    select #datum name="datum" {
                        option value="wgs84" selected[v("datum") != "gcj02"] { "WGS-84（GPS）" }
                        option value="gcj02" selected[v("datum") == "gcj02"] { "GCJ-02（国内地图）" }
                    }
                    label for="grid" { (L::GRID) }
                    select #grid name="grid" {
                        option value="" { "按位置自动确定" }
                        @for c in state.catalog.grids.cells_at(GridLevel::Unit) {
                            option value=(c.id()) selected[v("grid") == c.id()] { (c.id()) " " (c.name()) }
                        }
                    }
                    label for="photos" { (L::PHOTOS) " (≤" (MAX_PHOTOS) ")" }
                    input #photos type="file" name="photo" accept="image/jpeg,image/png,image/webp" multiple;
                    label for="reporter_name" { (L::REPORTER_NAME) }
                    input #reporter_name type="text" name="reporter_name" value=(v("reporter_name")) autocomplete="off";
                    label for="reporter_phone" { (L::REPORTER_PHONE) }
                    input #reporter_phone type="text" name="reporter_phone" value=(v("reporter_phone")) autocomplete="off";
                }
            }
            div #hints-slot {
                @if let Some(hints) = hints { (hints_section(hints)) }
            }
            p {
                button.secondary type="submit" name="check" value="1" #check data-check-url="/console/intake/duplicates" { (L::CHECK_DUPLICATES) }
                " "
                button type="submit" #save { (L::SAVE) }
            }
        }
    }
}

/// The duplicate hints of a position and item: the open cases of the item nearby.
fn hints_section(hints: &[DuplicateHint]) -> Markup {
    html! {
        section.card #hints data-count=(hints.len()) {
            h2 { (L::DUPLICATE_HINTS) }
            @if hints.is_empty() {
                p.muted { "附近没有同类未结案件" }
            } @else {
                ul { @for d in hints {
                    li data-case-id=(d.case_id) {
                        a href=(format!("/console/cases/{}", d.case_id)) target="_blank" {
                            (d.case_number.as_deref().unwrap_or(&d.case_id))
                        }
                        " · " (d.distance_m.round()) " m · " (when(d.reported_at)) " · " (d.description)
                    }
                } }
            }
        }
    }
}

/// The hints for the item and position of `f` (none without both).
async fn hints_for(state: &AppState, f: &Fields, now: i64) -> Result<Vec<DuplicateHint>, ApiError> {
    match (position(f)?, f.get("checklist_item")) {
        (Some(p), Some(item)) => {
            let storage = state.storage.clone();
            let item = item.to_owned();
            blocking(move || storage.duplicates_near(&item, now, p.lat, p.lon)).await
        }
        _ => Ok(Vec::new()),
    }
}

/// `GET /console/intake/duplicates?checklist_item=…&lat=…&lon=…&datum=…`: the hints section
/// alone, which the page's script puts in place without sending the form (so the photos
/// chosen stay chosen). Without the script the "查重" button sends the form instead.
pub async fn duplicates(
    State(state): State<AppState>,
    staff: Staff,
    uri: axum::http::Uri,
) -> Result<Markup, ApiError> {
    centre_only(&staff)?;
    let fields = Fields(crate::console::pages::filters::pairs(uri.query())?);
    let hints = hints_for(&state, &fields, staff.now_ms).await?;
    Ok(hints_section(&hints))
}

/// `GET /console/intake`.
pub async fn page_get(State(state): State<AppState>, staff: Staff) -> Result<Response, ApiError> {
    centre_only(&staff)?;
    let body = form(&state, &staff, &Fields::default(), None);
    Ok(page(&staff, Nav::Intake, L::INTAKE_TITLE, body).into_response())
}

/// `POST /console/intake`: with `check`, the form again with the duplicate hints; without,
/// the case is taken in and its page opens.
pub async fn submit(
    State(state): State<AppState>,
    StaffForm {
        staff,
        fields,
        files,
    }: StaffForm,
) -> Result<Response, ApiError> {
    centre_only(&staff)?;
    let now = state.clock.now_ms();
    let pos = position(&fields)?;
    if fields.get("check").is_some() {
        let hints = hints_for(&state, &fields, now).await?;
        let body = form(&state, &staff, &fields, Some(&hints));
        return Ok(page(&staff, Nav::Intake, L::INTAKE_TITLE, body).into_response());
    }
    let channel_name = fields.required("channel", L::CHANNEL)?;
    let channel = SourceChannel::parse(channel_name)
        .map_err(|e| ApiError::unprocessable("unknown_channel", e.to_string()))?;
    if is_handheld(channel) {
        return Err(ApiError::unprocessable(
            "handheld_channel",
            "handheld cases arrive by sync; the desk takes in the other channels",
        ));
    }
    if files.len() > MAX_PHOTOS {
        return Err(ApiError::unprocessable(
            "too_many_photos",
            format!("attach at most {MAX_PHOTOS} photos to a case"),
        ));
    }
    // Photos are made as a phone makes them (resized, metadata stripped, capture time and
    // place kept in the reference for the evidence checks), off the async threads.
    let prepared = blocking(move || {
        files
            .iter()
            .map(|f| {
                let p = prepare(&f.bytes, &PhotoOptions::default()).map_err(|e| {
                    ApiError::unprocessable(
                        "bad_photo",
                        format!(
                            "a photo could not be read ({e}); attach a JPEG, PNG or WebP photo"
                        ),
                    )
                })?;
                let reference = PhotoRef {
                    sha256: p.sha256.clone(),
                    bytes: p.jpeg.len() as u64,
                    width: p.width,
                    height: p.height,
                    capture: p.original.capture(),
                    thumb_sha256: Some(sha256_hex(&p.thumbnail)),
                };
                Ok((reference, p))
            })
            .collect::<Result<Vec<_>, ApiError>>()
    })
    .await?;
    let contact = ReporterContact {
        name: fields.get("reporter_name").map(str::to_owned),
        phone: fields.get("reporter_phone").map(str::to_owned),
        email: None,
    };
    let body = IntakeBody {
        channel: channel_name.to_owned(),
        reference: fields.get("reference").map(str::to_owned),
        checklist_item: fields.required("checklist_item", L::ITEM)?.to_owned(),
        description: fields.required("description", L::DESCRIPTION)?.to_owned(),
        address: fields.get("address").map(str::to_owned),
        position: pos,
        grid: fields.get("grid").map(str::to_owned),
        photos: prepared.iter().map(|p| p.0.clone()).collect(),
        contact: (contact.name.is_some() || contact.phone.is_some()).then_some(contact),
    };
    let (new, contact) = check_intake(&state, channel, body, now)?;
    let by = staff.actor(Role::Centre, None)?;
    let storage = state.storage.clone();
    let device = staff.login.device_id.clone();
    let outcome = blocking(move || {
        for (_, photo) in &prepared {
            store_photo(storage.as_ref(), photo, &device, now)?;
        }
        storage
            .intake_case(&Intake { by, new, contact }, now)
            .map_err(ApiError::from)
    })
    .await?;
    match outcome {
        IntakeOutcome::Created { case, .. } => Ok(Redirect::to(&format!(
            "/console/cases/{}?done=intake",
            case.header.id
        ))
        .into_response()),
        IntakeOutcome::DuplicateReference { case_id } => Err(ApiError::conflict(
            "duplicate_reference",
            format!(
                "this channel's reference was taken in before as case {case_id}; open that case"
            ),
        )),
    }
}
