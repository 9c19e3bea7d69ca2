//! `/console/map`: the street's grid with the cases on it, coloured by status and ringed
//! red when late, filtered by a GET form (status, open or finished, overdue, category,
//! block — and any other parameter of `GET /v1/cases`, so a figure can link here). Open
//! cases unless the query names `open` or `status`.
//!
//! Why markers are capped ([`MAX_MARKERS`]): the map must stay fast at 100,000 cases, and
//! a few thousand dots are already more than an eye can tell apart. The server reads at
//! most that many, the newest first, and the page says "showing N of M" with M counted by
//! the same filter, so nobody mistakes a capped map for the whole picture ("overdue only"
//! puts every late case on it).
//!
//! Why the newest first and not the `due` order (most urgent first): the lists' filters
//! (status, block, workstation, category, channel) each have an index in the reported
//! order, which a page walks and stops after its rows; in the `due` order the same
//! filters make SQLite gather and sort every match for each page (seen in the query plan:
//! `USE TEMP B-TREE FOR ORDER BY` over the status index), which at 100,000 cases is the
//! difference between a few milliseconds and a few hundred for four pages.
//!
//! A unit handler sees only the cases of their units, as in the queues
//! ([`crate::console::pages::queue::restrict`]).

use axum::extract::State;
use axum::http::Uri;
use maud::{Markup, html};
use wangge_core::CaseStatus;
use wangge_core::grid::GridLevel;

use crate::AppState;
use crate::console::labels as L;
use crate::console::layout::{Nav, page};
use crate::console::pages::filters;
use crate::console::pages::queue::restrict;
use crate::console::session::Staff;
use crate::console::svg::map::{GridLayers, MapOptions, Marker, legend, render_map, short_name};
use crate::error::ApiError;
use crate::office::queue::{CaseFilter, CaseRow, Cursor, MAX_READ, SortOrder};
use crate::routes::blocking;
use crate::routes::office::ListParams;
use crate::storage::Storage;

/// Most markers one map draws: one storage read ([`MAX_READ`]).
pub const MAX_MARKERS: usize = MAX_READ as usize;

/// The statuses the legend explains, in workflow order (merged cases are not worth a
/// swatch: they are drawn like closed ones, in a paler grey).
const LEGEND: [CaseStatus; 8] = [
    CaseStatus::Reported,
    CaseStatus::Registered,
    CaseStatus::Dispatched,
    CaseStatus::InProgress,
    CaseStatus::Handled,
    CaseStatus::Verified,
    CaseStatus::Closed,
    CaseStatus::Rejected,
];

/// The cases of a map: at most `cap` rows of `filter` in its order, and how many match.
#[derive(Debug, Clone, PartialEq)]
pub struct MapCases {
    /// The rows read, newest first.
    pub rows: Vec<CaseRow>,
    /// Every case the filter matches.
    pub total: u64,
}

/// Reads at most `cap` cases of `filter` (newest first; in one read up to [`MAX_READ`])
/// and counts the matches when there are more than that.
pub fn map_cases(
    storage: &dyn Storage,
    filter: &CaseFilter,
    now_ms: i64,
    cap: usize,
) -> Result<MapCases, ApiError> {
    let mut filter = filter.clone();
    filter.sort = SortOrder::Reported;
    filter.after = None;
    let mut rows: Vec<CaseRow> = Vec::new();
    loop {
        let want = cap.saturating_sub(rows.len()).min(MAX_READ as usize);
        if want == 0 {
            // Capped: count them all (the count is only paid when the map is full).
            let total = storage.case_count(&filter, now_ms)?;
            return Ok(MapCases { rows, total });
        }
        filter.limit = u32::try_from(want).unwrap_or(MAX_READ);
        let page = storage.case_page(&filter, now_ms)?;
        rows.extend(page.cases);
        match page.next_cursor {
            Some(c) if rows.len() < cap => {
                filter.after = Some(Cursor::decode(&c).map_err(ApiError::internal)?);
            }
            Some(_) => {
                let total = storage.case_count(&filter_without_cursor(&filter), now_ms)?;
                return Ok(MapCases { rows, total });
            }
            None => {
                let total = rows.len() as u64;
                return Ok(MapCases { rows, total });
            }
        }
    }
}

fn filter_without_cursor(filter: &CaseFilter) -> CaseFilter {
    CaseFilter {
        after: None,
        ..filter.clone()
    }
}

/// A row's marker: borrowed from the row and the catalog, nothing allocated. `None` for a
/// case without a position (no fix and no grid).
fn marker<'a>(row: &'a CaseRow, state: &'a AppState) -> Option<Marker<'a>> {
    let (lat, lon) = (row.lat?, row.lon?);
    let label = match &row.case_number {
        Some(n) => n.as_str(),
        None => row.id.get(..8).unwrap_or(&row.id),
    };
    let title = state
        .catalog
        .checklist
        .item(&row.checklist_item)
        .map_or(row.checklist_item.as_str(), |i| i.title_zh.as_str());
    Some(Marker {
        case_id: &row.id,
        label,
        status: row.status,
        late: row.overdue,
        lat,
        lon,
        title,
    })
}

/// `GET /console/map?status=…&open=…&overdue=true&category=…&block=…` (and the other
/// parameters of `GET /v1/cases`; `cursor`, `limit` and `sort` do not apply).
///
/// Stable for browser tests: the form `#map-filters`, the count `#map-count` with
/// `data-shown`, `data-total` and `data-unplaced`, the map `svg#grid-map` (its markers
/// `a.marker[data-case-id][data-status]`, `.late` and `data-late` when late), the legend
/// `ul.map-legend`, and `a#map-as-list` to the same cases as a list.
pub async fn map(
    State(state): State<AppState>,
    staff: Staff,
    uri: Uri,
) -> Result<Markup, ApiError> {
    let now = staff.now_ms;
    let mut params: ListParams = filters::parse(uri.query())?;
    params.cursor = None;
    params.limit = None;
    params.sort = None;
    let open_by_default = !filters::names(uri.query(), &["open", "status"])?;
    if open_by_default {
        // A first look (the navigation's link, a link with only a place) is at what is
        // still to be done; the form always sends both fields, blank for "any".
        params.open = Some(true);
    }
    let mut filter = params.filter(now)?;
    if CaseStatus::ALL.iter().all(|s| filter.statuses.contains(s)) {
        // Every status is no filter, and cheaper as none: a list of statuses is read from
        // each status's index and sorted, where no list walks the reported order.
        filter.statuses.clear();
    }
    restrict(&staff, &mut filter);
    let storage = state.storage.clone();
    let wanted = filter.clone();
    let found = blocking(move || map_cases(storage.as_ref(), &wanted, now, MAX_MARKERS)).await?;
    let markers: Vec<Marker<'_>> = found
        .rows
        .iter()
        .filter_map(|r| marker(r, &state))
        .collect();
    let unplaced = found.rows.len() - markers.len();
    let options = MapOptions {
        layers: GridLayers {
            only_block: filter.block.as_deref(),
            ..GridLayers::default()
        },
        tiles: state.office.map_tiles.as_deref(),
        ..MapOptions::new("grid-map", L::MAP_LABEL)
    };
    // The same cases as a list: the map's query, and the open cases it showed by default.
    let list_query = filters::pairs(uri.query())?;
    let mut list_pairs: Vec<(&str, &str)> = list_query
        .iter()
        .filter(|(k, _)| !matches!(k.as_str(), "cursor" | "limit" | "sort"))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    if open_by_default {
        list_pairs.push(("open", "true"));
    }
    let body = html! {
        (filter_form(&state, &filter))
        p #map-count data-shown=(markers.len()) data-total=(found.total) data-unplaced=(unplaced) {
            (L::MAP_SHOWING) (markers.len()) (L::MAP_OF) (found.total) (L::MAP_CASES)
            @if (found.rows.len() as u64) < found.total { (L::MAP_CAPPED) }
            @if unplaced > 0 { " · " (L::MAP_UNPLACED) (unplaced) }
            " · " a #map-as-list href=(filters::cases_link(&list_pairs)) { (L::MAP_AS_LIST) }
        }
        (render_map(&state.catalog.grids, &markers, &options))
        h2 { (L::MAP_LEGEND) }
        (legend(&LEGEND.map(|s| (s, L::status(s))), L::MAP_LATE))
    };
    Ok(page(&staff, Nav::Map, L::MAP_TITLE, body))
}

/// The filter form, showing what is chosen.
fn filter_form(state: &AppState, f: &CaseFilter) -> Markup {
    let status = (f.statuses.len() == 1).then(|| f.statuses[0]);
    html! {
        form.filters #map-filters method="get" action="/console/map" {
            label { (L::MAP_STATUS)
                select name="status" {
                    option value="" { (L::ANY) }
                    @for s in CaseStatus::ALL {
                        option value=(s.as_str()) selected[status == Some(s)] { (L::status(s)) }
                    }
                }
            }
            label { (L::MAP_OPEN)
                select name="open" {
                    option value="" { (L::ANY) }
                    option value="true" selected[f.open == Some(true)] { (L::MAP_OPEN_ONLY) }
                    option value="false" selected[f.open == Some(false)] { (L::MAP_FINISHED_ONLY) }
                }
            }
            label { (L::MAP_CATEGORY)
                select name="category" {
                    option value="" { (L::ANY) }
                    @for c in state.catalog.checklist.categories() {
                        option value=(c.id) selected[f.category.as_deref() == Some(c.id.as_str())] { (c.name_zh) }
                    }
                }
            }
            label { (L::MAP_BLOCK)
                select name="block" {
                    option value="" { (L::ANY) }
                    @for b in state.catalog.grids.cells_at(GridLevel::Block) {
                        option value=(b.id()) selected[f.block.as_deref() == Some(b.id())] { (short_name(b.name())) }
                    }
                }
            }
            label {
                span { (L::MAP_OVERDUE_ONLY) }
                input type="checkbox" name="overdue" value="true" checked[f.overdue];
            }
            button type="submit" { (L::MAP_APPLY) }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::pages::fixture::Console;

    #[tokio::test]
    async fn the_map_shows_the_cases_with_links_and_filters() {
        let c = Console::new();
        let a = c.hotline_case(31.190, 121.440, "A02-001");
        let b = c.hotline_case(31.185, 121.447, "A01-001");
        let done = c.hotline_case(31.188, 121.442, "A01-001");
        c.register_and_dispatch(&b, &["城管中队"]);
        c.reject(&done);
        let centre = c.login("XT-CC-001");
        // By default, the open cases.
        let (status, html) = c.get(&centre, "/console/map").await;
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("<svg xmlns=\"http://www.w3.org/2000/svg\" id=\"grid-map\""));
        for id in [&a, &b] {
            assert!(html.contains(&format!(
                "href=\"/console/cases/{id}\" data-case-id=\"{id}\""
            )));
        }
        assert!(!html.contains(&format!("data-case-id=\"{done}\"")));
        assert!(html.contains("<option value=\"true\" selected>"));
        assert!(html.contains("data-shown=\"2\" data-total=\"2\" data-unplaced=\"0\""));
        assert!(html.contains("id=\"map-as-list\" href=\"/console/queues/all?open=true\""));
        assert!(html.contains("class=\"map-legend\""));
        // The form's "any" (blank fields): every case.
        let (_, html) = c
            .get(&centre, "/console/map?status=&open=&category=&block=")
            .await;
        assert!(html.contains(&format!("data-case-id=\"{done}\"")));
        assert!(html.contains("data-shown=\"3\" data-total=\"3\""));
        let every = CaseStatus::ALL.map(|s| s.as_str()).join(",");
        let (_, html) = c
            .get(&centre, &format!("/console/map?status={every}"))
            .await;
        assert!(html.contains("data-shown=\"3\" data-total=\"3\""));
        // Filtered by status: only the dispatched case.
        let (_, html) = c
            .get(
                &centre,
                "/console/map?status=dispatched&open=&category=&block=",
            )
            .await;
        assert!(
            html.contains(&format!("data-case-id=\"{b}\""))
                && !html.contains(&format!("data-case-id=\"{a}\""))
        );
        assert!(html.contains("<option value=\"dispatched\" selected>"));
        // Filtered by block: the block's outline only.
        let (_, html) = c.get(&centre, "/console/map?block=XT-B1").await;
        assert!(
            html.contains("data-cell-id=\"XT-B1\"") && !html.contains("data-cell-id=\"XT-B2\"")
        );
        // A bad filter is refused by name.
        let (status, _) = c.get(&centre, "/console/map?status=lost").await;
        assert_eq!(status, 400);
    }

    #[tokio::test]
    async fn a_unit_handler_sees_only_its_units_cases() {
        let c = Console::new();
        let mine = c.hotline_case(31.190, 121.440, "A02-001");
        let other = c.hotline_case(31.185, 121.447, "A01-001");
        c.register_and_dispatch(&mine, &["城管中队"]);
        c.register_and_dispatch(&other, &["市政科"]);
        let handler = c.login("XT-UH-001");
        let (status, html) = c.get(&handler, "/console/map").await;
        assert_eq!(status, 200, "{html}");
        assert!(html.contains(&format!("data-case-id=\"{mine}\"")));
        assert!(!html.contains(&format!("data-case-id=\"{other}\"")));
        assert!(html.contains("data-total=\"1\""));
    }

    #[tokio::test]
    async fn late_cases_are_ringed_and_the_overdue_filter_keeps_them() {
        let c = Console::new();
        let id = c.hotline_case(31.190, 121.440, "A02-001");
        // Well past every deadline of the item.
        c.advance_days(30);
        let centre = c.login("XT-CC-001");
        let (_, html) = c.get(&centre, "/console/map?overdue=true").await;
        assert!(
            html.contains(&format!(
                "class=\"marker late\" href=\"/console/cases/{id}\""
            )),
            "{html}"
        );
        assert!(html.contains("name=\"overdue\" value=\"true\" checked"));
    }

    #[tokio::test]
    async fn configured_gcj02_tiles_lie_under_the_grid() {
        let tiles = crate::console::svg::map::TileLayer::configured(
            Some("https://tiles.example/{z}/{x}/{y}.png"),
            Some("gcj02"),
            Some("© 示例地图"),
        )
        .unwrap()
        .map(std::sync::Arc::new);
        let c = Console::with_office(crate::office::OfficeConfig {
            map_tiles: tiles,
            ..Default::default()
        });
        c.hotline_case(31.190, 121.440, "A02-001");
        let centre = c.login("XT-CC-001");
        let (status, html) = c.get(&centre, "/console/map").await;
        assert_eq!(status, 200, "{html}");
        assert!(html.contains("data-datum=\"gcj02\""));
        assert!(html.contains("<image href=\"https://tiles.example/15/"));
        assert!(html.contains(">© 示例地图</text>"));
    }

    #[test]
    fn the_cap_reads_the_newest_and_counts_the_rest() {
        let c = Console::new();
        for i in 0..7 {
            c.hotline_case(31.186 + 0.001 * f64::from(i), 121.440, "A02-001");
        }
        let filter = CaseFilter::default();
        let now = c.now();
        let all = map_cases(c.storage.as_ref(), &filter, now, 100).unwrap();
        assert_eq!((all.rows.len(), all.total), (7, 7));
        let capped = map_cases(c.storage.as_ref(), &filter, now, 3).unwrap();
        assert_eq!((capped.rows.len(), capped.total), (3, 7));
        assert_eq!(capped.rows[..], all.rows[..3]);
        // The count agrees with the list whatever the filter reads (the deadline table
        // included).
        for f in [
            CaseFilter {
                due_within_minutes: Some(60 * 24 * 30),
                ..CaseFilter::default()
            },
            CaseFilter {
                open: Some(true),
                block: Some("XT-B1".into()),
                ..CaseFilter::default()
            },
        ] {
            let listed = map_cases(c.storage.as_ref(), &f, now, 100).unwrap().total;
            let counted = c.storage.case_count(&f, now).unwrap();
            assert_eq!(listed, counted, "{f:?}");
        }
    }
}
