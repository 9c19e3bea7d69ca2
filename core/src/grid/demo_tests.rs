//! Checks of the bundled demo dataset (`core/data/grids.geojson`) and of lookups over it.

use std::collections::{BTreeMap, BTreeSet};

use geo::{Area, Intersects, Relate, coordinate_position::CoordPos, dimensions::Dimensions};

use super::demo_samples::{EDGE_SAMPLES, INTERIOR_SAMPLES, ROAD_CROSSING};
use super::distance::LocalProjection;
use super::test_data::wgs84_copy;
use super::*;

fn demo() -> GridIndex {
    GridIndex::demo().unwrap()
}

#[test]
fn demo_has_4_blocks_18_workstations_and_2_to_4_units_each() {
    let index = demo();
    assert_eq!(index.datum(), Datum::Gcj02);
    let blocks: Vec<_> = index.cells_at(GridLevel::Block).map(GridCell::id).collect();
    assert_eq!(blocks, ["XT-B1", "XT-B2", "XT-B3", "XT-B4"]);
    let per_block: Vec<_> = blocks.iter().map(|b| index.children(b).count()).collect();
    assert_eq!(per_block, [5, 4, 5, 4]);
    assert_eq!(index.cells_at(GridLevel::Workstation).count(), 18);
    let mut units = 0;
    for station in index.cells_at(GridLevel::Workstation) {
        assert!(
            station.name().ends_with("居民区工作站"),
            "{}",
            station.name()
        );
        let count = index.children(station.id()).count();
        assert!(
            (2..=4).contains(&count),
            "{} has {count} units",
            station.id()
        );
        units += count;
    }
    assert_eq!(index.cells_at(GridLevel::Unit).count(), units);
    assert_eq!(units, 53);
    let names: BTreeSet<_> = index.cells().map(GridCell::name).collect();
    for expected in [
        "日晖新城居民区工作站",
        "斜土居民区工作站",
        "大木桥居民区工作站",
    ] {
        assert!(names.contains(expected), "no workstation named {expected}");
    }
    // Lookups choose among the units.
    assert!(index.leaves().all(|cell| cell.level() == GridLevel::Unit));
}

/// Every way the cells fail to tile: a child not inside its parent, children whose areas do not
/// add up to their parent's (a gap, given no overlap), siblings whose interiors overlap.
/// Also returns how many sibling pairs share an edge (not just a corner).
fn tiling_problems(index: &GridIndex) -> (Vec<String>, usize) {
    let mut problems = Vec::new();
    for parent in index.cells().filter(|c| c.level() != GridLevel::Unit) {
        let children: Vec<_> = index.children(parent.id()).collect();
        if children.is_empty() {
            problems.push(format!("{} has no children", parent.id()));
        }
        let mut area = 0.0;
        for child in &children {
            if !parent.geometry().relate(child.geometry()).is_covers() {
                problems.push(format!("{} sticks out of {}", child.id(), parent.id()));
            }
            area += child.geometry().unsigned_area();
        }
        // Inside the parent and not overlapping each other, the children cover it without a
        // gap exactly when their areas add up to the parent's.
        let parent_area = parent.geometry().unsigned_area();
        if ((area - parent_area) / parent_area).abs() > 1e-9 {
            problems.push(format!(
                "children of {} cover {area} of {parent_area}",
                parent.id()
            ));
        }
    }
    let mut by_parent: BTreeMap<Option<&str>, Vec<&GridCell>> = BTreeMap::new();
    for cell in index.cells() {
        by_parent.entry(cell.parent()).or_default().push(cell);
    }
    let mut shared_edges = 0;
    for siblings in by_parent.values() {
        for (i, a) in siblings.iter().enumerate() {
            for b in &siblings[i + 1..] {
                if !a.bounds().intersects(&b.bounds()) {
                    continue;
                }
                let matrix = a.geometry().relate(b.geometry());
                if !(matrix.is_disjoint() || matrix.is_touches()) {
                    problems.push(format!("{} and {} overlap", a.id(), b.id()));
                }
                if matrix.get(CoordPos::OnBoundary, CoordPos::OnBoundary)
                    == Dimensions::OneDimensional
                {
                    shared_edges += 1;
                }
            }
        }
    }
    (problems, shared_edges)
}

#[test]
fn cells_nest_in_their_parents_and_siblings_tile_without_overlap() {
    let (problems, shared_edges) = tiling_problems(&demo());
    assert!(problems.is_empty(), "{problems:#?}");
    // Plenty of neighbours share an edge (not just a corner): the cells really tile.
    assert!(shared_edges > 60, "only {shared_edges} shared edges");
}

#[test]
fn tiling_check_catches_a_moved_vertex() {
    // Move one vertex of one unit by about 5 m east, in that unit's ring only: it now overlaps
    // a neighbour or leaves a gap (or sticks out of its workstation), and the check must say so.
    let mut collection: serde_json::Value = serde_json::from_str(DEMO_GEOJSON).unwrap();
    let feature = collection["features"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|f| f["properties"]["id"] == "XT-W06-U4")
        .unwrap();
    let ring = feature["geometry"]["coordinates"][0]
        .as_array_mut()
        .unwrap();
    let vertex = ring.len() / 2;
    let lon = ring[vertex][0].as_f64().unwrap();
    ring[vertex][0] = serde_json::json!(lon + 0.00005);
    let broken = GridIndex::from_geojson(&collection.to_string()).unwrap();
    let (problems, _) = tiling_problems(&broken);
    assert!(
        problems.iter().any(|p| p.contains("XT-W06")),
        "{problems:#?}"
    );
}

#[test]
fn blocks_meet_on_the_road_centre_lines_and_the_street_is_about_2_5_by_2_km() {
    let index = demo();
    let block = |id: &str| index.cell(id).unwrap().geometry();
    // Damuqiao Rd separates west from east, Xietu Rd north from south.
    for (a, b) in [
        ("XT-B1", "XT-B2"),
        ("XT-B3", "XT-B4"),
        ("XT-B1", "XT-B3"),
        ("XT-B2", "XT-B4"),
    ] {
        let matrix = block(a).relate(block(b));
        assert!(matrix.is_touches(), "{a} and {b} do not touch");
        assert_eq!(
            matrix.get(CoordPos::OnBoundary, CoordPos::OnBoundary),
            Dimensions::OneDimensional,
            "{a} and {b} do not share a road"
        );
    }
    // Diagonal blocks meet only at the crossing.
    let matrix = block("XT-B1").relate(block("XT-B4"));
    assert_eq!(
        matrix.get(CoordPos::OnBoundary, CoordPos::OnBoundary),
        Dimensions::ZeroDimensional
    );
    // The street's extent, in metres.
    let (mut min, mut max) = ([f64::MAX; 2], [f64::MIN; 2]);
    for cell in index.cells_at(GridLevel::Block) {
        let b = cell.bounds();
        min = [min[0].min(b.min().x), min[1].min(b.min().y)];
        max = [max[0].max(b.max().x), max[1].max(b.max().y)];
    }
    let projection = LocalProjection::new(min[1], min[0]);
    let (width, height) = projection.project(geo::Coord {
        x: max[0],
        y: max[1],
    });
    assert!(
        (2300.0..2800.0).contains(&width),
        "street is {width} m wide"
    );
    assert!(
        (1900.0..2400.0).contains(&height),
        "street is {height} m tall"
    );
    let centre = ((min[1] + max[1]) / 2.0, (min[0] + max[0]) / 2.0);
    assert!((centre.0 - 31.19).abs() < 0.005 && (centre.1 - 121.44).abs() < 0.005);
}

#[test]
fn sample_points_land_in_their_units() {
    let index = demo();
    assert_eq!(INTERIOR_SAMPLES.len(), index.leaves().count());
    for &(unit, lat, lon) in INTERIOR_SAMPLES {
        // The samples are GCJ-02 points; the phone would report them in WGS-84.
        let (wlat, wlon) = gcj02_to_wgs84(lat, lon);
        let found = index.lookup(wlat, wlon, 10.0).unwrap();
        let cell = index.cell(unit).unwrap();
        let station = index.cell(cell.parent().unwrap()).unwrap();
        let expected = GridPath {
            block: station.parent().unwrap().to_owned(),
            workstation: Some(station.id().to_owned()),
            unit: Some(unit.to_owned()),
        };
        assert_eq!(found, GridMatch::Inside(expected), "sample in {unit}");
    }
}

#[test]
fn points_next_to_a_unit_boundary_are_ambiguous_only_within_their_accuracy() {
    let index = demo();
    assert!(!EDGE_SAMPLES.is_empty());
    for &(left, right, lat, lon) in EDGE_SAMPLES {
        let (wlat, wlon) = gcj02_to_wgs84(lat, lon);
        // 5 m from the boundary: a 1 m circle stays inside.
        let found = index.lookup(wlat, wlon, 1.0).unwrap();
        assert_eq!(found, GridMatch::Inside(index.path(left).unwrap().clone()));
        // A 30 m circle reaches the neighbour.
        let found = index.lookup(wlat, wlon, 30.0).unwrap();
        let GridMatch::Ambiguous {
            containing,
            candidates,
        } = &found
        else {
            panic!("expected Ambiguous near {left}/{right}, got {found:?}");
        };
        assert_eq!(containing.as_ref().map(GridPath::finest), Some(left));
        let ids: Vec<_> = candidates.iter().map(GridPath::finest).collect();
        assert_eq!(ids[0], left, "containing cell first");
        assert!(ids.contains(&right), "{right} missing from {ids:?}");
    }
}

#[test]
fn road_crossing_is_ambiguous_between_all_four_blocks() {
    let index = demo();
    let (lat, lon) = gcj02_to_wgs84(ROAD_CROSSING.0, ROAD_CROSSING.1);
    let found = index.lookup(lat, lon, 20.0).unwrap();
    let blocks: BTreeSet<_> = found
        .candidates()
        .iter()
        .map(|p| p.block.as_str())
        .collect();
    assert_eq!(blocks, BTreeSet::from(["XT-B1", "XT-B2", "XT-B3", "XT-B4"]));
}

#[test]
fn points_away_from_the_street_are_outside() {
    let index = demo();
    // Xujiahui, about 3 km west; People's Square, about 6 km north-east.
    for (lat, lon) in [(31.1955, 121.4365 - 0.03), (31.2304, 121.4737)] {
        assert_eq!(index.lookup(lat, lon, 50.0).unwrap(), GridMatch::Outside);
    }
}

#[test]
fn wgs84_copy_of_the_demo_gives_the_same_answers() {
    let gcj = demo();
    let wgs = GridIndex::from_geojson(&wgs84_copy(DEMO_GEOJSON)).unwrap();
    assert_eq!(wgs.datum(), Datum::Wgs84);
    let points = INTERIOR_SAMPLES
        .iter()
        .map(|&(_, lat, lon)| (lat, lon))
        .chain(EDGE_SAMPLES.iter().map(|&(_, _, lat, lon)| (lat, lon)));
    for (lat, lon) in points {
        let (wlat, wlon) = gcj02_to_wgs84(lat, lon);
        for accuracy in [1.0, 30.0, 80.0] {
            assert_eq!(
                gcj.lookup(wlat, wlon, accuracy).unwrap(),
                wgs.lookup(wlat, wlon, accuracy).unwrap(),
                "fix ({wlat}, {wlon}) ± {accuracy} m"
            );
        }
    }
    // The road crossing is a vertex of four units: which one "contains" it is decided by
    // rounding in the datum conversion, but both datasets see the same four candidates.
    let (wlat, wlon) = gcj02_to_wgs84(ROAD_CROSSING.0, ROAD_CROSSING.1);
    let candidates = |index: &GridIndex| {
        let found = index.lookup(wlat, wlon, 1.0).unwrap();
        assert!(matches!(found, GridMatch::Ambiguous { .. }));
        found.candidates().iter().cloned().collect::<BTreeSet<_>>()
    };
    assert_eq!(candidates(&gcj).len(), 4);
    assert_eq!(candidates(&gcj), candidates(&wgs));
}

#[test]
fn demo_file_declares_gcj02_and_names_its_generator() {
    // The datum is what makes fixes land right; the generator line tells maintainers not to
    // edit the file by hand.
    assert!(DEMO_GEOJSON.contains("\"datum\":\"GCJ-02\""));
    assert!(DEMO_GEOJSON.contains("core/data/tools/gen_grids.py"));
}
