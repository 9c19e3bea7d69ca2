//! Grid cells, their levels, and the path that names a cell with its ancestors.

use std::fmt;

use geo::{MultiPolygon, Rect};
use serde::{Deserialize, Serialize};

/// The three nested levels of the street's grid, coarsest first.
///
/// The street is cut into grid blocks (网格管理服务块区) by its main roads; each block holds
/// residential workstations (居民区工作站); each workstation may be cut into unit grids (单元网格).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
#[serde(rename_all = "lowercase")]
pub enum GridLevel {
    /// A grid block, the top level; it has no parent. Written `"block"`.
    Block,
    /// A residential workstation; its parent is a block. Written `"workstation"`.
    Workstation,
    /// A unit grid; its parent is a workstation. Written `"unit"`.
    Unit,
}

impl GridLevel {
    /// All levels, coarsest first.
    pub const ALL: [GridLevel; 3] = [GridLevel::Block, GridLevel::Workstation, GridLevel::Unit];

    /// The name used in the dataset's `level` property.
    pub fn as_str(self) -> &'static str {
        match self {
            GridLevel::Block => "block",
            GridLevel::Workstation => "workstation",
            GridLevel::Unit => "unit",
        }
    }

    /// Parses a `level` property value; `None` for anything but the three names.
    pub fn from_name(name: &str) -> Option<GridLevel> {
        match name {
            "block" => Some(GridLevel::Block),
            "workstation" => Some(GridLevel::Workstation),
            "unit" => Some(GridLevel::Unit),
            _ => None,
        }
    }

    /// The level a cell of this level must have as its parent (`None` for blocks).
    pub fn parent_level(self) -> Option<GridLevel> {
        match self {
            GridLevel::Block => None,
            GridLevel::Workstation => Some(GridLevel::Block),
            GridLevel::Unit => Some(GridLevel::Workstation),
        }
    }
}

impl fmt::Display for GridLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One validated cell of a grid dataset, with its geometry in the dataset's datum.
#[derive(Debug, Clone, PartialEq)]
pub struct GridCell {
    pub(super) id: String,
    pub(super) name: String,
    pub(super) level: GridLevel,
    pub(super) parent: Option<String>,
    pub(super) geometry: MultiPolygon<f64>,
    pub(super) bounds: Rect<f64>,
}

impl GridCell {
    /// The cell's unique id (the feature's `id` property).
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The cell's display name, e.g. `日晖新城居民区工作站`.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The cell's level.
    pub fn level(&self) -> GridLevel {
        self.level
    }

    /// The id of the enclosing cell; `None` for blocks.
    pub fn parent(&self) -> Option<&str> {
        self.parent.as_deref()
    }

    /// The cell's outline, x = longitude and y = latitude in the dataset's datum. A GeoJSON
    /// Polygon becomes a MultiPolygon of one polygon.
    pub fn geometry(&self) -> &MultiPolygon<f64> {
        &self.geometry
    }

    /// The bounding rectangle of the outline (x = longitude, y = latitude).
    pub fn bounds(&self) -> Rect<f64> {
        self.bounds
    }
}

/// Names a cell together with its ancestors by id: the unit, its workstation, its block.
///
/// This is what a case records as its grid location. Levels below the cell are `None`: the path
/// of a workstation that has no unit grids has `unit: None`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct GridPath {
    /// Id of the grid block.
    pub block: String,
    /// Id of the residential workstation, when the cell is a workstation or a unit.
    pub workstation: Option<String>,
    /// Id of the unit grid, when the cell is a unit.
    pub unit: Option<String>,
}

impl GridPath {
    /// Id of the finest cell of the path.
    pub fn finest(&self) -> &str {
        self.unit
            .as_deref()
            .or(self.workstation.as_deref())
            .unwrap_or(&self.block)
    }

    /// Level of the finest cell of the path.
    pub fn level(&self) -> GridLevel {
        if self.unit.is_some() {
            GridLevel::Unit
        } else if self.workstation.is_some() {
            GridLevel::Workstation
        } else {
            GridLevel::Block
        }
    }

    /// The ids from the finest cell up to the block (unit → workstation → block).
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.unit
            .as_deref()
            .into_iter()
            .chain(self.workstation.as_deref())
            .chain(std::iter::once(self.block.as_str()))
    }
}

impl fmt::Display for GridPath {
    /// Writes the ids finest first, e.g. `XT-W01-U2 < XT-W01 < XT-B1`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, id) in self.ids().enumerate() {
            if i > 0 {
                f.write_str(" < ")?;
            }
            f.write_str(id)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn level_names_round_trip_and_parents_step_up() {
        for level in GridLevel::ALL {
            assert_eq!(GridLevel::from_name(level.as_str()), Some(level));
            assert_eq!(
                serde_json::to_string(&level).unwrap(),
                format!("\"{level}\"")
            );
        }
        assert_eq!(GridLevel::from_name("Block"), None);
        assert_eq!(GridLevel::Unit.parent_level(), Some(GridLevel::Workstation));
        assert_eq!(
            GridLevel::Workstation.parent_level(),
            Some(GridLevel::Block)
        );
        assert_eq!(GridLevel::Block.parent_level(), None);
    }

    #[test]
    fn path_names_finest_cell_first() {
        let path = GridPath {
            block: "B".into(),
            workstation: Some("W".into()),
            unit: Some("U".into()),
        };
        assert_eq!(path.finest(), "U");
        assert_eq!(path.level(), GridLevel::Unit);
        assert_eq!(path.ids().collect::<Vec<_>>(), ["U", "W", "B"]);
        assert_eq!(path.to_string(), "U < W < B");
        let block_only = GridPath {
            block: "B".into(),
            workstation: None,
            unit: None,
        };
        assert_eq!(block_only.finest(), "B");
        assert_eq!(block_only.level(), GridLevel::Block);
        assert_eq!(block_only.to_string(), "B");
        let json = serde_json::to_string(&path).unwrap();
        assert_eq!(serde_json::from_str::<GridPath>(&json).unwrap(), path);
    }
}
