//! What the back office shows, apart from storage: the case lists (queues), the
//! zero-report board, the evaluation of units, and the China-time periods they are asked
//! for. The storage answers the rows; these modules say what the rows mean.

pub mod board;
pub mod evaluation;
pub mod export;
pub mod period;
pub mod queue;

use chrono::NaiveTime;

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
