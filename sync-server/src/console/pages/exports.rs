//! `/console/exports/cases.csv` and `/console/exports/cases.geojson`: the API's exports
//! (`GET /v1/exports/cases.*`, which need a centre device's bearer token) for a logged-in
//! centre operator or inspector, so a figure of the evaluation can be downloaded from the
//! browser. The same filters (every parameter of `GET /v1/cases` but paging), the same
//! streamed bodies ([`crate::routes::export::csv_export`],
//! [`crate::routes::export::geojson_export`]), recorded in the audit log as the person.

use axum::extract::State;
use axum::http::Uri;
use axum::response::Response;

use crate::AppState;
use crate::console::pages::board::street_wide;
use crate::console::pages::filters;
use crate::console::session::Staff;
use crate::error::ApiError;
use crate::office::queue::CaseFilter;
use crate::routes::export::{csv_export, export_filter, geojson_export};
use crate::routes::office::ListParams;

/// The export's filter from the page's query (blank fields ignored), for a person who sees
/// the whole street.
fn filter(staff: &Staff, uri: &Uri) -> Result<CaseFilter, ApiError> {
    street_wide(staff)?;
    let params: ListParams = filters::parse(uri.query())?;
    export_filter(params, staff.now_ms)
}

/// `GET /console/exports/cases.csv?<list filters>`.
pub async fn cases_csv(
    State(state): State<AppState>,
    staff: Staff,
    uri: Uri,
) -> Result<Response, ApiError> {
    let filter = filter(&staff, &uri)?;
    Ok(csv_export(state.storage.clone(), filter, staff.now_ms))
}

/// `GET /console/exports/cases.geojson?<list filters>`.
pub async fn cases_geojson(
    State(state): State<AppState>,
    staff: Staff,
    uri: Uri,
) -> Result<Response, ApiError> {
    let filter = filter(&staff, &uri)?;
    Ok(geojson_export(state.storage.clone(), filter, staff.now_ms))
}

#[cfg(test)]
mod tests {
    use crate::console::pages::fixture::Console;

    #[tokio::test]
    async fn a_centre_session_downloads_the_filtered_cases() {
        let c = Console::new();
        let a = c.hotline_case(31.190, 121.440, "A02-001");
        let b = c.hotline_case(31.185, 121.447, "A01-001");
        c.register_and_dispatch(&b, &["城管中队"]);
        let centre = c.login("XT-CC-001");
        let (status, headers, csv) = c
            .get_full(
                &centre,
                "/console/exports/cases.csv?status=&from=2026-03-01&to=2026-03-31",
            )
            .await;
        assert_eq!(status, 200, "{csv}");
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/csv")
        );
        assert!(
            headers["content-disposition"]
                .to_str()
                .unwrap()
                .contains("cases.csv")
        );
        assert!(csv.contains(&a) && csv.contains(&b));
        let (status, _, geojson) = c
            .get_full(&centre, "/console/exports/cases.geojson?status=dispatched")
            .await;
        assert_eq!(status, 200);
        let parsed: serde_json::Value = serde_json::from_str(&geojson).unwrap();
        let features = parsed["features"].as_array().unwrap();
        assert_eq!(features.len(), 1);
        assert!(geojson.contains(&b));
        // Paging does not apply to an export.
        let (status, _, _) = c
            .get_full(&centre, "/console/exports/cases.csv?limit=5")
            .await;
        assert_eq!(status, 400);
    }

    #[tokio::test]
    async fn no_session_or_a_handler_gets_no_export() {
        let c = Console::new();
        let (status, headers, _) = c.get_full("", "/console/exports/cases.csv").await;
        assert!(status.is_redirection(), "{status}");
        assert!(
            headers["location"]
                .to_str()
                .unwrap()
                .starts_with("/console/login")
        );
        let handler = c.login("XT-UH-001");
        let (status, _, _) = c.get_full(&handler, "/console/exports/cases.geojson").await;
        assert_eq!(status, 403);
    }
}
