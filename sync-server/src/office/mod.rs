//! What the back office shows, apart from storage: the case lists (queues), the
//! zero-report board, the evaluation of units, and the China-time periods they are asked
//! for. The storage answers the rows; these modules say what the rows mean.

pub mod board;
pub mod evaluation;
pub mod export;
pub mod period;
pub mod queue;

use chrono::NaiveTime;
use geo::InteriorPoint;
use wangge_core::{CaseHeader, CaseState, Catalog};

/// How the back office is set up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OfficeConfig {
    /// The daily cut-off of zero reports, China time: an unfiled day is missing after it.
    pub zero_report_cutoff: NaiveTime,
    /// The browser console's sessions.
    pub console: crate::console::session::ConsoleConfig,
    /// Base tiles under the console's map (`WANGGE_MAP_TILES`, `WANGGE_MAP_TILES_DATUM`,
    /// `WANGGE_MAP_TILES_ATTRIBUTION`); `None`: the grid alone is the map, which needs no
    /// internet.
    pub map_tiles: Option<std::sync::Arc<crate::console::svg::map::TileLayer>>,
}

impl Default for OfficeConfig {
    /// Zero reports are due at 17:00 China time.
    fn default() -> Self {
        OfficeConfig {
            zero_report_cutoff: NaiveTime::from_hms_opt(17, 0, 0).unwrap_or(NaiveTime::MIN),
            console: Default::default(),
            map_tiles: None,
        }
    }
}

/// Where a case is, in WGS-84, and how that is known: the phone's fix (`gps`), or the
/// inner point of its grid cell (`grid`) for a case without one (a hotline case placed by
/// the centre).
pub fn position(
    catalog: &Catalog,
    header: &CaseHeader,
    state: &CaseState,
) -> Option<(f64, f64, &'static str)> {
    if let Some(fix) = &header.gps {
        return Some((fix.lat, fix.lon, "gps"));
    }
    let cell = catalog.grids.cell(state.grid.as_deref()?)?;
    let p = cell.geometry().interior_point()?;
    let (lat, lon) = catalog.grids.datum().to_wgs84(p.y(), p.x());
    Some((lat, lon, "grid"))
}
