//! Which grid cell a GPS fix is in, honest about the fix's accuracy.
//!
//! A phone's fix comes with an accuracy radius. When the circle of that radius crosses a cell
//! boundary, the officer may be in either cell, and picking the one the centre happens to fall in
//! would silently file the case under the wrong workstation. So a lookup returns every cell the
//! circle reaches and lets the caller ask the officer (or the back office decide).

use geo::{Coord, CoordinatePosition, Intersects, coordinate_position::CoordPos};
use rstar::AABB;
use serde::{Deserialize, Serialize};

use super::cell::GridPath;
use super::datum::is_valid_position;
use super::distance::LocalProjection;
use super::error::GridError;
use super::index::GridIndex;

/// The answer to "which grid cell is this GPS fix in?".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum GridMatch {
    /// The whole accuracy circle lies inside one finest cell: the fix is certainly there.
    Inside(GridPath),
    /// The accuracy circle reaches more than one cell, or reaches past the edge of the grid.
    Ambiguous {
        /// The cell whose interior holds the centre of the fix, if any (`None` when the centre
        /// is outside every cell or exactly on a boundary).
        containing: Option<GridPath>,
        /// Every cell the circle reaches: the containing cell first, then the others by
        /// increasing distance from the centre (ties by id).
        candidates: Vec<GridPath>,
    },
    /// No cell is within the accuracy radius of the fix: it is outside the grid.
    Outside,
}

impl GridMatch {
    /// The cell holding the centre of the fix: the `Inside` cell or the ambiguous `containing`
    /// one. Callers must not file a case there without confirmation when the match is ambiguous.
    pub fn containing(&self) -> Option<&GridPath> {
        match self {
            GridMatch::Inside(path) => Some(path),
            GridMatch::Ambiguous { containing, .. } => containing.as_ref(),
            GridMatch::Outside => None,
        }
    }

    /// All cells the fix may be in, most likely first: one for `Inside`, none for `Outside`.
    pub fn candidates(&self) -> &[GridPath] {
        match self {
            GridMatch::Inside(path) => std::slice::from_ref(path),
            GridMatch::Ambiguous { candidates, .. } => candidates,
            GridMatch::Outside => &[],
        }
    }
}

impl GridIndex {
    /// Finds the finest grid cell(s) for a phone's WGS-84 fix with an accuracy radius in metres.
    ///
    /// The fix is converted to the dataset's datum, the R-tree of the finest cells' bounding
    /// boxes gives the cells near it, and each is tested exactly: the centre's position against
    /// the outline (robust predicates) and the distance from the centre to the outline in metres
    /// (see the `distance` module for the projection used). The result is
    /// - [`GridMatch::Inside`] when one cell contains the centre and its boundary is farther than
    ///   `accuracy_m`, and no other cell is within `accuracy_m`;
    /// - [`GridMatch::Outside`] when no cell contains the centre or is within `accuracy_m`;
    /// - [`GridMatch::Ambiguous`] otherwise, listing every cell within `accuracy_m` (a circle that
    ///   reaches past the outer edge of the grid is ambiguous too, even with one candidate).
    ///
    /// `accuracy_m` may be 0 (a fix taken as exact); a centre exactly on a shared boundary is then
    /// ambiguous between the cells that share it.
    pub fn lookup(&self, lat: f64, lon: f64, accuracy_m: f64) -> Result<GridMatch, GridError> {
        if !is_valid_position(lat, lon) {
            return Err(GridError::InvalidFix { lat, lon });
        }
        if !(accuracy_m.is_finite() && accuracy_m >= 0.0) {
            return Err(GridError::InvalidAccuracy { accuracy_m });
        }
        let (lat, lon) = self.datum.from_wgs84(lat, lon);
        let projection = LocalProjection::new(lat, lon);
        let centre = Coord { x: lon, y: lat };
        let (min, max) = projection.search_box(accuracy_m);

        // (cell index, distance from the centre to the cell's boundary) of the cell containing
        // the centre; the deepest one if overlapping cells (bad data) both contain it.
        let mut containing: Option<(usize, f64)> = None;
        // (distance in metres, cell index) of every other cell within the radius.
        let mut near: Vec<(f64, usize)> = Vec::new();
        for entry in self
            .leaves
            .locate_in_envelope_intersecting(&AABB::from_corners(min, max))
        {
            let i = entry.data;
            let cell = &self.cells[i];
            let geometry = &cell.geometry;
            // Most cells near a fix do not hold it: their bounding box says so more cheaply than
            // the exact test.
            let position = if cell.bounds.intersects(&centre) {
                geometry.coordinate_position(&centre)
            } else {
                CoordPos::Outside
            };
            match position {
                CoordPos::Inside => {
                    let depth = projection.distance_to_boundary_m(geometry);
                    match containing {
                        Some((_, best)) if best >= depth => near.push((0.0, i)),
                        _ => {
                            if let Some((previous, _)) = containing.replace((i, depth)) {
                                near.push((0.0, previous));
                            }
                        }
                    }
                }
                CoordPos::OnBoundary => near.push((0.0, i)),
                CoordPos::Outside => {
                    let distance = projection.distance_to_boundary_m(geometry);
                    if distance <= accuracy_m {
                        near.push((distance, i));
                    }
                }
            }
        }

        Ok(match containing {
            Some((i, depth)) if depth > accuracy_m && near.is_empty() => {
                GridMatch::Inside(self.paths[i].clone())
            }
            None if near.is_empty() => GridMatch::Outside,
            _ => {
                near.sort_by(|a, b| {
                    a.0.total_cmp(&b.0)
                        .then_with(|| self.cells[a.1].id.cmp(&self.cells[b.1].id))
                });
                let candidates = containing
                    .iter()
                    .map(|&(i, _)| i)
                    .chain(near.iter().map(|&(_, i)| i))
                    .map(|i| self.paths[i].clone())
                    .collect();
                GridMatch::Ambiguous {
                    containing: containing.map(|(i, _)| self.paths[i].clone()),
                    candidates,
                }
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::datum::{Datum, gcj02_to_wgs84};
    use super::super::test_data::{XS, YS, small_dataset};
    use super::*;

    /// Metres per degree of latitude (sphere), for placing test points.
    const M_PER_DEG: f64 = 111_195.08;

    fn index(datum: Datum) -> GridIndex {
        GridIndex::from_geojson(&small_dataset(datum)).unwrap()
    }

    /// The WGS-84 fix of a point given in the small dataset's GCJ-02 frame, moved by
    /// `(east_m, north_m)` metres.
    fn fix(lat: f64, lon: f64, east_m: f64, north_m: f64) -> (f64, f64) {
        let lat = lat + north_m / M_PER_DEG;
        let lon = lon + east_m / (M_PER_DEG * lat.to_radians().cos());
        gcj02_to_wgs84(lat, lon)
    }

    fn ids(paths: &[GridPath]) -> Vec<&str> {
        paths.iter().map(GridPath::finest).collect()
    }

    fn path(unit: &str) -> GridPath {
        GridPath {
            block: "B".into(),
            workstation: Some(unit[..2].into()),
            unit: Some(unit.into()),
        }
    }

    /// Middle latitude of the southern row of units.
    const SOUTH_ROW: f64 = (YS[0] + YS[1]) / 2.0;

    #[test]
    fn known_point_is_inside_its_unit() {
        let index = index(Datum::Gcj02);
        let (lat, lon) = fix(SOUTH_ROW, (XS[0] + XS[1]) / 2.0, 0.0, 0.0);
        let found = index.lookup(lat, lon, 10.0).unwrap();
        assert_eq!(found, GridMatch::Inside(path("W1-U1")));
        assert_eq!(found.containing(), Some(&path("W1-U1")));
        assert_eq!(ids(found.candidates()), ["W1-U1"]);
        let (lat, lon) = fix(YS[2], XS[2], -30.0, -30.0);
        assert_eq!(
            index.lookup(lat, lon, 10.0).unwrap(),
            GridMatch::Inside(path("W2-U2"))
        );
    }

    #[test]
    fn point_near_a_shared_boundary_is_ambiguous_within_its_accuracy() {
        let index = index(Datum::Gcj02);
        // 10 m west of the boundary between W1-U1 and W2-U1 (which is also W1/W2's boundary).
        let (lat, lon) = fix(SOUTH_ROW, XS[1], -10.0, 0.0);
        assert_eq!(
            index.lookup(lat, lon, 30.0).unwrap(),
            GridMatch::Ambiguous {
                containing: Some(path("W1-U1")),
                candidates: vec![path("W1-U1"), path("W2-U1")],
            }
        );
        assert_eq!(
            index.lookup(lat, lon, 1.0).unwrap(),
            GridMatch::Inside(path("W1-U1"))
        );
        // Just under and just over the distance to the boundary.
        assert!(matches!(
            index.lookup(lat, lon, 9.9).unwrap(),
            GridMatch::Inside(_)
        ));
        assert!(matches!(
            index.lookup(lat, lon, 10.1).unwrap(),
            GridMatch::Ambiguous { .. }
        ));
    }

    #[test]
    fn candidates_are_ordered_containing_first_then_by_distance() {
        let index = index(Datum::Gcj02);
        // Inside W1-U1, 5 m west and 12 m south of the lattice's centre point.
        let (lat, lon) = fix(YS[1], XS[1], -5.0, -12.0);
        let found = index.lookup(lat, lon, 50.0).unwrap();
        assert_eq!(found.containing(), Some(&path("W1-U1")));
        assert_eq!(
            ids(found.candidates()),
            ["W1-U1", "W2-U1", "W1-U2", "W2-U2"]
        );
    }

    #[test]
    fn point_far_away_is_outside() {
        let index = index(Datum::Gcj02);
        let (lat, lon) = fix(YS[0], XS[0], -1000.0, -1000.0);
        assert_eq!(index.lookup(lat, lon, 50.0).unwrap(), GridMatch::Outside);
        assert_eq!(GridMatch::Outside.containing(), None);
        assert!(GridMatch::Outside.candidates().is_empty());
    }

    #[test]
    fn circle_reaching_past_the_grid_edge_is_ambiguous() {
        let index = index(Datum::Gcj02);
        // 20 m south of the street, accuracy 30 m: maybe in W1-U1, maybe outside.
        let (lat, lon) = fix(YS[0], (XS[0] + XS[1]) / 2.0, 0.0, -20.0);
        assert_eq!(
            index.lookup(lat, lon, 30.0).unwrap(),
            GridMatch::Ambiguous {
                containing: None,
                candidates: vec![path("W1-U1")],
            }
        );
        assert_eq!(index.lookup(lat, lon, 10.0).unwrap(), GridMatch::Outside);
        // 10 m inside the street's southern edge, accuracy 30 m.
        let (lat, lon) = fix(YS[0], (XS[0] + XS[1]) / 2.0, 0.0, 10.0);
        assert_eq!(
            index.lookup(lat, lon, 30.0).unwrap(),
            GridMatch::Ambiguous {
                containing: Some(path("W1-U1")),
                candidates: vec![path("W1-U1")],
            }
        );
    }

    #[test]
    fn exact_fix_on_a_shared_boundary_names_both_cells() {
        // The dataset declared WGS-84 as is, so the fix lands exactly on the shared edge.
        let text = small_dataset(Datum::Gcj02).replace("GCJ-02", "WGS-84");
        let index = GridIndex::from_geojson(&text).unwrap();
        assert_eq!(
            index.lookup(SOUTH_ROW, XS[1], 0.0).unwrap(),
            GridMatch::Ambiguous {
                containing: None,
                candidates: vec![path("W1-U1"), path("W2-U1")],
            }
        );
        assert_eq!(
            index.lookup(SOUTH_ROW, XS[0] + 0.0005, 0.0).unwrap(),
            GridMatch::Inside(path("W1-U1"))
        );
    }

    #[test]
    fn gcj02_and_wgs84_datasets_agree_on_the_same_physical_point() {
        let gcj = index(Datum::Gcj02);
        let wgs = index(Datum::Wgs84);
        assert_eq!(wgs.datum(), Datum::Wgs84);
        let mut seen_inside = 0;
        let mut seen_ambiguous = 0;
        let mut seen_outside = 0;
        // Fixes on a 21 x 21 lattice over the street and 100 m around it, every 23 m or so.
        for i in 0..=20 {
            for j in 0..=20 {
                let (lat, lon) = fix(
                    YS[0],
                    XS[0],
                    -100.0 + 19.7 * f64::from(i),
                    -100.0 + 21.3 * f64::from(j),
                );
                for accuracy in [0.0, 5.0, 15.0] {
                    let a = gcj.lookup(lat, lon, accuracy).unwrap();
                    let b = wgs.lookup(lat, lon, accuracy).unwrap();
                    assert_eq!(a, b, "fix ({lat}, {lon}) ± {accuracy} m");
                    match a {
                        GridMatch::Inside(_) => seen_inside += 1,
                        GridMatch::Ambiguous { .. } => seen_ambiguous += 1,
                        GridMatch::Outside => seen_outside += 1,
                    }
                }
            }
        }
        assert!(seen_inside > 100 && seen_ambiguous > 50 && seen_outside > 100);
        // Reading the GCJ-02 dataset as if it were WGS-84 puts fixes hundreds of metres off:
        // the centre of W1-U1 would not be found in W1-U1.
        let wrong =
            GridIndex::from_geojson(&small_dataset(Datum::Gcj02).replace("GCJ-02", "WGS-84"))
                .unwrap();
        let (lat, lon) = fix(SOUTH_ROW, (XS[0] + XS[1]) / 2.0, 0.0, 0.0);
        assert_ne!(
            wrong.lookup(lat, lon, 10.0).unwrap(),
            GridMatch::Inside(path("W1-U1"))
        );
    }

    #[test]
    fn invalid_fixes_are_rejected_with_the_value() {
        let index = index(Datum::Gcj02);
        for (lat, lon) in [
            (f64::NAN, 121.44),
            (31.19, f64::INFINITY),
            (91.0, 121.44),
            (31.19, -180.5),
        ] {
            let err = index.lookup(lat, lon, 10.0).unwrap_err();
            assert!(matches!(err, GridError::InvalidFix { .. }), "{err:?}");
            let message = err.to_string();
            assert!(message.contains("not a valid WGS-84 position"), "{message}");
            assert!(message.contains(&format!("({lat}, {lon})")), "{message}");
        }
        for accuracy in [-1.0, f64::NAN, f64::INFINITY] {
            let err = index.lookup(31.19, 121.44, accuracy).unwrap_err();
            assert!(matches!(err, GridError::InvalidAccuracy { .. }), "{err:?}");
            let message = err.to_string();
            assert!(
                message.contains(&format!("GPS accuracy {accuracy} m")),
                "{message}"
            );
            assert!(message.contains("zero or more"), "{message}");
        }
    }

    #[test]
    fn matches_serialise_for_case_documents() {
        let found = GridMatch::Ambiguous {
            containing: Some(path("W1-U1")),
            candidates: vec![path("W1-U1"), path("W2-U1")],
        };
        let json = serde_json::to_string(&found).unwrap();
        assert!(
            json.starts_with(r#"{"ambiguous":{"containing":{"block":"B""#),
            "{json}"
        );
        assert_eq!(serde_json::from_str::<GridMatch>(&json).unwrap(), found);
        let json = serde_json::to_string(&GridMatch::Outside).unwrap();
        assert_eq!(json, r#""outside""#);
    }
}
