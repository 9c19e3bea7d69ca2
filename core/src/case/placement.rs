//! Placing a case in the grid from its GPS fix.

use crate::case::GridRef;
use crate::error::Result;
use crate::grid::{GridIndex, GridMatch, GridPath};
use crate::model::GpsFix;

impl From<&GridPath> for GridRef {
    fn from(p: &GridPath) -> Self {
        GridRef {
            cell: p.finest().to_owned(),
            workstation: p.workstation.clone(),
            block: Some(p.block.clone()),
        }
    }
}

/// The grid reference of a known cell id, with its ancestors.
pub fn grid_ref(grids: &GridIndex, cell: &str) -> GridRef {
    match grids.path(cell) {
        Some(p) => GridRef::from(p),
        None => GridRef {
            cell: cell.to_owned(),
            workstation: None,
            block: None,
        },
    }
}

/// Decides the grid of a fix: the cell when the whole accuracy circle lies
/// inside it; otherwise no grid and the candidate cells, because a case put
/// in the wrong grid is dispatched to the wrong team — the reporter or the
/// centre chooses instead.
pub(crate) fn place_fix(grids: &GridIndex, fix: &GpsFix) -> Result<(Option<GridRef>, Vec<String>)> {
    Ok(match grids.lookup(fix.lat, fix.lon, fix.accuracy_m)? {
        GridMatch::Inside(path) => (Some(GridRef::from(&path)), Vec::new()),
        GridMatch::Ambiguous { candidates, .. } => (
            None,
            candidates.iter().map(|p| p.finest().to_owned()).collect(),
        ),
        GridMatch::Outside => (None, Vec::new()),
    })
}
