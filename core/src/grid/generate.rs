//! A generated square grid of any size, for benchmarks and load tests.

use serde_json::{Value, json};

/// Size of a generated unit cell in degrees: about 22 m north-south and 19 m east-west.
const CELL_DEG: f64 = 0.0002;
/// Units per side of a generated workstation.
const WORKSTATION_SIDE: usize = 10;
/// The centre of the generated grid (GCJ-02), at the demo street.
const CENTRE: (f64, f64) = (31.19, 121.44);

/// A `side` x `side` grid of square unit cells centred on 31.19 N, 121.44 E, as GeoJSON text
/// in GCJ-02, for benchmarks (`side` 100 gives 10,000 units).
///
/// To be a valid dataset the units need parents, so they are grouped into workstations of up to
/// 10 x 10 units, all in one block covering the whole grid. Ids are `G-B`, `G-W{row}-{col}`
/// (workstation row and column) and `G-U{row}-{col}` (unit row and column, from the south-west).
/// Neighbouring cells share exactly the same corner coordinates. `side` 0 gives a collection
/// with no features, which [`GridIndex::from_geojson`](super::GridIndex::from_geojson) rejects.
pub fn generated_grid_geojson(side: usize) -> String {
    let origin_lat = CENTRE.0 - CELL_DEG * side as f64 / 2.0;
    let origin_lon = CENTRE.1 - CELL_DEG * side as f64 / 2.0;
    // Corners are computed from integer lattice indices, so shared corners are bit-identical.
    let lon = |col: usize| origin_lon + CELL_DEG * col as f64;
    let lat = |row: usize| origin_lat + CELL_DEG * row as f64;
    let rect = |row0: usize, col0: usize, row1: usize, col1: usize| {
        let (x0, y0, x1, y1) = (lon(col0), lat(row0), lon(col1), lat(row1));
        json!({
            "type": "Polygon",
            "coordinates": [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]
        })
    };
    let feature = |properties: Value, geometry: Value| {
        let mut feature = json!({"type": "Feature"});
        feature["properties"] = properties;
        feature["geometry"] = geometry;
        feature
    };

    let mut features = Vec::new();
    if side > 0 {
        features.push(feature(
            json!({"id": "G-B", "name": "生成网格块区", "level": "block"}),
            rect(0, 0, side, side),
        ));
    }
    let stations = side.div_ceil(WORKSTATION_SIDE);
    for wr in 0..stations {
        for wc in 0..stations {
            let (r0, c0) = (wr * WORKSTATION_SIDE, wc * WORKSTATION_SIDE);
            let (r1, c1) = (
                (r0 + WORKSTATION_SIDE).min(side),
                (c0 + WORKSTATION_SIDE).min(side),
            );
            features.push(feature(
                json!({
                    "id": format!("G-W{wr}-{wc}"),
                    "name": format!("生成工作站{wr}-{wc}"),
                    "level": "workstation",
                    "parent": "G-B",
                }),
                rect(r0, c0, r1, c1),
            ));
        }
    }
    for row in 0..side {
        for col in 0..side {
            let parent = format!("G-W{}-{}", row / WORKSTATION_SIDE, col / WORKSTATION_SIDE);
            features.push(feature(
                json!({
                    "id": format!("G-U{row}-{col}"),
                    "name": format!("生成单元{row}-{col}"),
                    "level": "unit",
                    "parent": parent,
                }),
                rect(row, col, row + 1, col + 1),
            ));
        }
    }
    json!({"type": "FeatureCollection", "datum": "GCJ-02", "features": features}).to_string()
}

#[cfg(test)]
mod tests {
    use super::super::cell::GridLevel;
    use super::super::datum::gcj02_to_wgs84;
    use super::super::error::GridError;
    use super::super::index::GridIndex;
    use super::super::lookup::GridMatch;
    use super::*;

    #[test]
    fn generated_grid_has_the_requested_cells_and_valid_nesting() {
        let index = GridIndex::from_geojson(&generated_grid_geojson(25)).unwrap();
        assert_eq!(index.cells_at(GridLevel::Unit).count(), 625);
        assert_eq!(index.cells_at(GridLevel::Workstation).count(), 9);
        assert_eq!(index.cells_at(GridLevel::Block).count(), 1);
        assert_eq!(index.children("G-W2-2").count(), 25);
    }

    #[test]
    fn generated_grid_lookup_finds_the_unit_by_row_and_column() {
        let index = GridIndex::from_geojson(&generated_grid_geojson(100)).unwrap();
        assert_eq!(index.leaves().count(), 10_000);
        // The centre of unit (row 37, col 81), as a WGS-84 fix.
        let lat = 31.19 - 0.01 + CELL_DEG * 37.5;
        let lon = 121.44 - 0.01 + CELL_DEG * 81.5;
        let (lat, lon) = gcj02_to_wgs84(lat, lon);
        let found = index.lookup(lat, lon, 5.0).unwrap();
        let GridMatch::Inside(path) = found else {
            panic!("expected Inside, got {found:?}");
        };
        assert_eq!(path.unit.as_deref(), Some("G-U37-81"));
        assert_eq!(path.workstation.as_deref(), Some("G-W3-8"));
        assert_eq!(path.block, "G-B");
    }

    #[test]
    fn empty_generated_grid_is_rejected() {
        assert_eq!(
            GridIndex::from_geojson(&generated_grid_geojson(0)).unwrap_err(),
            GridError::EmptyDataset
        );
    }
}
