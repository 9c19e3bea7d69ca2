//! Exports over HTTP, streamed: `cases.csv` and `cases.geojson` of any filtered list,
//! `grids.geojson` of the street's grid, and `changes.ndjson`, the change feed for other
//! systems. The rows are read page by page (keyset, like the lists) on a blocking thread
//! and handed to the response through a small bounded channel, so the server holds a page
//! at a time whatever the export's size, and stops reading when the client goes away.
//!
//! The filters are checked before the first byte is sent: a bad one is a JSON error. An
//! error after the response has started (the database failing mid-export) can no longer
//! change the status; the response is cut short instead, which every client sees as a
//! failed download rather than a complete file.

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use wangge_core::grid::GridLevel;

use crate::AppState;
use crate::error::{ApiError, ApiResult};
use crate::extract::ApiQuery;
use crate::office::export::{self, GEOJSON_END, GEOJSON_START};
use crate::office::queue::{CaseFilter, Cursor, MAX_PAGE};
use crate::routes::CentreDevice;
use crate::routes::office::ListParams;
use crate::storage::Storage;

/// Bytes gathered before they are handed to the response.
const CHUNK: usize = 64 << 10;
/// Chunks in flight between the reading thread and the response.
const IN_FLIGHT: usize = 8;

/// Where a producer writes; false from `write` means the client has gone.
struct Sink {
    tx: tokio::sync::mpsc::Sender<Result<Bytes, std::io::Error>>,
    buf: String,
}

impl Sink {
    fn write(&mut self, text: &str) -> bool {
        self.buf.push_str(text);
        self.buf.len() < CHUNK || self.flush()
    }

    fn flush(&mut self) -> bool {
        if self.buf.is_empty() {
            return true;
        }
        let chunk = Bytes::from(std::mem::take(&mut self.buf));
        self.tx.blocking_send(Ok(chunk)).is_ok()
    }
}

/// A streamed response: `produce` runs on a blocking thread and writes the body.
fn streamed(
    content_type: &'static str,
    filename: Option<&str>,
    produce: impl FnOnce(&mut Sink) -> ApiResult<()> + Send + 'static,
) -> Response {
    let (tx, rx) = tokio::sync::mpsc::channel(IN_FLIGHT);
    tokio::task::spawn_blocking(move || {
        let mut sink = Sink {
            tx: tx.clone(),
            buf: String::new(),
        };
        match produce(&mut sink) {
            Ok(()) => {
                sink.flush();
            }
            Err(e) => {
                tracing::error!(
                    code = e.code,
                    "an export failed after it started; cut short"
                );
                let _ = tx.blocking_send(Err(std::io::Error::other(e.code)));
            }
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    let mut response = Body::from_stream(stream).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(content_type),
    );
    if let Some(name) = filename
        && let Ok(v) = header::HeaderValue::from_str(&format!("attachment; filename=\"{name}\""))
    {
        headers.insert(header::CONTENT_DISPOSITION, v);
    }
    response
}

/// Every case of `filter`, page by page, in its order; `each` returns false to stop.
fn each_case(
    storage: &dyn Storage,
    mut filter: CaseFilter,
    now_ms: i64,
    each: &mut dyn FnMut(&crate::office::queue::CaseRow) -> bool,
) -> ApiResult<()> {
    filter.limit = MAX_PAGE;
    filter.after = None;
    loop {
        let page = storage.case_page(&filter, now_ms)?;
        for row in &page.cases {
            if !each(row) {
                return Ok(());
            }
        }
        match page.next_cursor {
            Some(c) => {
                filter.after = Some(Cursor::decode(&c).map_err(ApiError::internal)?);
            }
            None => return Ok(()),
        }
    }
}

/// The filter of an export: the list's filters; paging does not apply (every match is
/// exported), and the order is the list's.
pub(crate) fn export_filter(p: ListParams, now_ms: i64) -> Result<CaseFilter, ApiError> {
    if p.cursor.is_some() || p.limit.is_some() {
        return Err(ApiError::bad_request(
            "bad_query",
            "an export has every matching case: leave out `cursor` and `limit`",
        ));
    }
    p.filter(now_ms)
}

/// `GET /v1/exports/cases.csv?<list filters>`: UTF-8 with BOM, one line per case.
pub async fn cases_csv(
    State(state): State<AppState>,
    _centre: CentreDevice,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Response, ApiError> {
    let now = state.clock.now_ms();
    let filter = export_filter(p, now)?;
    Ok(csv_export(state.storage.clone(), filter, now))
}

/// The streamed CSV of every case of `filter` (the API's and the console's export).
pub(crate) fn csv_export(
    storage: std::sync::Arc<dyn Storage>,
    filter: CaseFilter,
    now: i64,
) -> Response {
    streamed("text/csv; charset=utf-8", Some("cases.csv"), move |sink| {
        if !sink.write(&export::csv_header()) {
            return Ok(());
        }
        each_case(storage.as_ref(), filter, now, &mut |row| {
            sink.write(&export::csv_line(row))
        })
    })
}

/// `GET /v1/exports/cases.geojson?<list filters>`: a FeatureCollection of points (WGS-84;
/// a case without a fix at its grid cell's inner point, `located_by: "grid"`); a case with
/// neither a fix nor a grid is left out.
pub async fn cases_geojson(
    State(state): State<AppState>,
    _centre: CentreDevice,
    ApiQuery(p): ApiQuery<ListParams>,
) -> Result<Response, ApiError> {
    let now = state.clock.now_ms();
    let filter = export_filter(p, now)?;
    Ok(geojson_export(state.storage.clone(), filter, now))
}

/// The streamed GeoJSON of every case of `filter` (the API's and the console's export).
pub(crate) fn geojson_export(
    storage: std::sync::Arc<dyn Storage>,
    filter: CaseFilter,
    now: i64,
) -> Response {
    streamed("application/geo+json", Some("cases.geojson"), move |sink| {
        if !sink.write(GEOJSON_START) {
            return Ok(());
        }
        let mut first = true;
        each_case(storage.as_ref(), filter, now, &mut |row| {
            let Some(feature) = export::case_feature(row) else {
                return true;
            };
            let sep = if first { "" } else { ",\n" };
            first = false;
            sink.write(sep) && sink.write(&feature.to_string())
        })?;
        sink.write(GEOJSON_END);
        Ok(())
    })
}

/// Query of `GET /v1/exports/grids.geojson`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GridParams {
    /// Only this level: `block`, `workstation` or `unit` (default: every level).
    pub level: Option<String>,
}

/// `GET /v1/exports/grids.geojson`: the street's grid cells as polygons (WGS-84), with
/// `id`, `name`, `level` and `parent`.
pub async fn grids_geojson(
    State(state): State<AppState>,
    _centre: CentreDevice,
    ApiQuery(p): ApiQuery<GridParams>,
) -> Result<Response, ApiError> {
    let level = match p.level.as_deref() {
        None => None,
        Some(l) => Some(GridLevel::from_name(l).ok_or_else(|| {
            ApiError::bad_request(
                "bad_query",
                format!("level: '{l}' is not a grid level; use block, workstation or unit"),
            )
        })?),
    };
    let catalog = state.catalog.clone();
    Ok(streamed(
        "application/geo+json",
        Some("grids.geojson"),
        move |sink| {
            let datum = catalog.grids.datum();
            let mut first = true;
            sink.write(GEOJSON_START);
            for cell in catalog.grids.cells() {
                if level.is_some_and(|l| l != cell.level()) {
                    continue;
                }
                let polygons: Vec<serde_json::Value> = cell
                    .geometry()
                    .0
                    .iter()
                    .map(|poly| {
                        std::iter::once(poly.exterior())
                            .chain(poly.interiors())
                            .map(|ring| {
                                ring.0
                                    .iter()
                                    .map(|c| {
                                        let (lat, lon) = datum.to_wgs84(c.y, c.x);
                                        serde_json::json!([lon, lat])
                                    })
                                    .collect::<Vec<_>>()
                            })
                            .collect::<Vec<_>>()
                            .into()
                    })
                    .collect();
                let feature = serde_json::json!({
                    "type": "Feature",
                    "id": cell.id(),
                    "geometry": {"type": "MultiPolygon", "coordinates": polygons},
                    "properties": {
                        "id": cell.id(),
                        "name": cell.name(),
                        "level": cell.level().as_str(),
                        "parent": cell.parent(),
                    },
                });
                let sep = if first { "" } else { ",\n" };
                first = false;
                if !(sink.write(sep) && sink.write(&feature.to_string())) {
                    return Ok(());
                }
            }
            sink.write(GEOJSON_END);
            Ok(())
        },
    ))
}

/// Query of `GET /v1/exports/changes.ndjson`.
#[derive(Debug, Default, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ChangeParams {
    /// The last `seq` the client has (0 or absent: from the start).
    pub after: Option<u64>,
    /// Most lines (default 10,000, at most 100,000).
    pub limit: Option<u32>,
}

/// Most lines one change-feed response carries.
pub const MAX_CHANGES: u32 = 100_000;

/// `GET /v1/exports/changes.ndjson?after=<seq>`: one JSON object per line for every case
/// and zero report changed after `after`, oldest change first, each as it stands now
/// (`{seq, kind, id, case | zero_report}`). A document changed twice appears once, at its
/// latest change. Continue from the last line's `seq`; an empty answer means nothing has
/// changed since.
pub async fn changes(
    State(state): State<AppState>,
    _centre: CentreDevice,
    ApiQuery(p): ApiQuery<ChangeParams>,
) -> Result<Response, ApiError> {
    let limit = p.limit.unwrap_or(10_000);
    if limit == 0 || limit > MAX_CHANGES {
        return Err(ApiError::bad_request(
            "bad_query",
            format!("limit: give 1 to {MAX_CHANGES} lines"),
        ));
    }
    let now = state.clock.now_ms();
    let storage = state.storage.clone();
    let mut after = p.after.unwrap_or(0);
    Ok(streamed("application/x-ndjson", None, move |sink| {
        let mut left = limit;
        while left > 0 {
            let batch = storage.changes(after, left.min(MAX_PAGE), now)?;
            let Some(last) = batch.last() else {
                return Ok(());
            };
            after = last.seq;
            left -= batch.len() as u32;
            for change in &batch {
                let line = serde_json::to_string(change).map_err(ApiError::internal)?;
                if !(sink.write(&line) && sink.write("\n")) {
                    return Ok(());
                }
            }
        }
        Ok(())
    }))
}
