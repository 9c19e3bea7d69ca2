//! The reference data every derivation and validation needs: the task
//! checklist, the working-day calendar and the grids. Loaded once, shared
//! read-only by every store and thread.

use crate::checklist::{Checklist, WorkCalendar};
use crate::error::Result;
use crate::grid::GridIndex;

/// The reference data of one street.
#[derive(Debug)]
pub struct Catalog {
    /// The task checklist (任务清单).
    pub checklist: Checklist,
    /// Official holidays and make-up working days.
    pub calendar: WorkCalendar,
    /// Grid blocks, workstations and unit grids.
    pub grids: GridIndex,
}

impl Catalog {
    /// Loads a catalog from the text of its three data files.
    pub fn from_files(
        checklist_json: &str,
        calendar_json: &str,
        grids_geojson: &str,
    ) -> Result<Self> {
        Ok(Catalog {
            checklist: Checklist::from_json(checklist_json)?,
            calendar: WorkCalendar::from_json(calendar_json)?,
            grids: GridIndex::from_geojson(grids_geojson)?,
        })
    }

    /// The Xietu-like demo street shipped with the library.
    pub fn demo() -> Result<Self> {
        Self::from_files(
            include_str!("../data/checklist.json"),
            include_str!("../data/calendar.json"),
            include_str!("../data/grids.geojson"),
        )
    }
}
