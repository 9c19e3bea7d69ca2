//! Reading and validating a grid dataset (a GeoJSON FeatureCollection of grid cells).
//!
//! The format: a FeatureCollection with a top-level foreign member `"datum"` (`"GCJ-02"` or
//! `"WGS-84"`), whose features are Polygons or MultiPolygons with the properties `id` (unique
//! string), `name` (display name), `level` (`"block"`, `"workstation"` or `"unit"`) and `parent`
//! (the id of the enclosing cell: a block for a workstation, a workstation for a unit; absent for
//! blocks). Everything is checked up front, so a lookup never meets a broken cell; the first
//! problem found is reported, naming the feature.
//!
//! The datum has no default: a dataset traced on a Chinese web map (GCJ-02) read as WGS-84 would
//! put every fix a few hundred metres off without any visible error, so the file must say.

use std::collections::HashMap;

use geo::{BoundingRect, Coord, LineString, MultiPolygon, Polygon, Validation};
use geojson::{Feature, FeatureCollection, GeometryValue, JsonObject, JsonValue, Position};

use super::cell::{GridCell, GridLevel};
use super::datum::{Datum, is_valid_position};
use super::error::{FeatureRef, GridError};

/// A validated dataset: its datum and its cells, in file order.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct Dataset {
    pub(super) datum: Datum,
    pub(super) cells: Vec<GridCell>,
}

/// Parses and validates GeoJSON text.
///
/// The features are deserialised one by one (rather than the collection at once) so that a
/// malformed feature is reported with its index.
pub(super) fn parse_str(text: &str) -> Result<Dataset, GridError> {
    let value: JsonValue = serde_json::from_str(text).map_err(|e| GridError::InvalidJson {
        reason: e.to_string(),
    })?;
    let JsonValue::Object(mut top) = value else {
        return Err(GridError::InvalidGeoJson {
            reason: format!(
                "the top level is {}, expected an object with \"type\": \"FeatureCollection\"",
                json_kind(&value)
            ),
        });
    };
    match top.get("type") {
        Some(JsonValue::String(t)) if t == "FeatureCollection" => {}
        Some(other) => {
            return Err(GridError::InvalidGeoJson {
                reason: format!("top-level \"type\" is {other}, expected \"FeatureCollection\""),
            });
        }
        None => {
            return Err(GridError::InvalidGeoJson {
                reason: "the top-level object has no \"type\" member; expected \"type\": \
                         \"FeatureCollection\""
                    .to_owned(),
            });
        }
    }
    let features = match top.remove("features") {
        Some(JsonValue::Array(features)) => features,
        Some(other) => {
            return Err(GridError::InvalidGeoJson {
                reason: format!("\"features\" is {}, expected an array", json_kind(&other)),
            });
        }
        None => {
            return Err(GridError::InvalidGeoJson {
                reason: "the FeatureCollection has no \"features\" array".to_owned(),
            });
        }
    };
    let datum = read_datum(top.get("datum"))?;
    let mut parsed = Vec::with_capacity(features.len());
    for (index, value) in features.into_iter().enumerate() {
        let at = FeatureRef {
            index,
            id: value
                .pointer("/properties/id")
                .and_then(JsonValue::as_str)
                .map(str::to_owned),
        };
        let feature: Feature =
            serde_json::from_value(value).map_err(|e| GridError::InvalidGeoJson {
                reason: format!("{at} is not a valid GeoJSON Feature: {e}"),
            })?;
        parsed.push(feature);
    }
    validate(datum, &parsed)
}

/// Validates an already parsed FeatureCollection.
pub(super) fn from_collection(collection: &FeatureCollection) -> Result<Dataset, GridError> {
    let datum = read_datum(
        collection
            .foreign_members
            .as_ref()
            .and_then(|members| members.get("datum")),
    )?;
    validate(datum, &collection.features)
}

fn json_kind(value: &JsonValue) -> &'static str {
    match value {
        JsonValue::Null => "null",
        JsonValue::Bool(_) => "a boolean",
        JsonValue::Number(_) => "a number",
        JsonValue::String(_) => "a string",
        JsonValue::Array(_) => "an array",
        JsonValue::Object(_) => "an object",
    }
}

fn read_datum(member: Option<&JsonValue>) -> Result<Datum, GridError> {
    match member {
        None | Some(JsonValue::Null) => Err(GridError::MissingDatum),
        Some(JsonValue::String(name)) => {
            Datum::from_name(name).ok_or_else(|| GridError::UnknownDatum {
                found: JsonValue::String(name.clone()).to_string(),
            })
        }
        Some(other) => Err(GridError::UnknownDatum {
            found: other.to_string(),
        }),
    }
}

fn validate(datum: Datum, features: &[Feature]) -> Result<Dataset, GridError> {
    if features.is_empty() {
        return Err(GridError::EmptyDataset);
    }
    let mut cells = Vec::with_capacity(features.len());
    let mut first_index: HashMap<String, usize> = HashMap::with_capacity(features.len());
    for (index, feature) in features.iter().enumerate() {
        let cell = read_cell(index, feature)?;
        if let Some(&first) = first_index.get(&cell.id) {
            return Err(GridError::DuplicateId {
                at: FeatureRef {
                    index,
                    id: Some(cell.id),
                },
                first_index: first,
            });
        }
        first_index.insert(cell.id.clone(), index);
        cells.push(cell);
    }
    // Parents are checked once every id is known: a parent may come after its children.
    for (index, cell) in cells.iter().enumerate() {
        check_parent(index, cell, &cells, &first_index)?;
    }
    Ok(Dataset { datum, cells })
}

fn check_parent(
    index: usize,
    cell: &GridCell,
    cells: &[GridCell],
    first_index: &HashMap<String, usize>,
) -> Result<(), GridError> {
    let at = || FeatureRef {
        index,
        id: Some(cell.id.clone()),
    };
    match (cell.level.parent_level(), &cell.parent) {
        (None, None) => Ok(()),
        (None, Some(parent)) => Err(GridError::UnexpectedParent {
            at: at(),
            parent: parent.clone(),
        }),
        (Some(expected), None) => Err(GridError::MissingParent {
            at: at(),
            level: cell.level,
            expected,
        }),
        (Some(expected), Some(parent)) => {
            let Some(&parent_index) = first_index.get(parent) else {
                return Err(GridError::UnknownParent {
                    at: at(),
                    parent: parent.clone(),
                });
            };
            let found = cells[parent_index].level;
            if found == expected {
                Ok(())
            } else {
                Err(GridError::WrongParentLevel {
                    at: at(),
                    level: cell.level,
                    parent: parent.clone(),
                    found,
                    expected,
                })
            }
        }
    }
}

fn read_cell(index: usize, feature: &Feature) -> Result<GridCell, GridError> {
    let empty = JsonObject::new();
    let properties = feature.properties.as_ref().unwrap_or(&empty);
    let id = match properties.get("id") {
        Some(JsonValue::String(id)) if !id.trim().is_empty() => id.clone(),
        _ => {
            return Err(GridError::MissingId {
                at: FeatureRef { index, id: None },
            });
        }
    };
    let at = FeatureRef {
        index,
        id: Some(id.clone()),
    };
    let name = match properties.get("name") {
        Some(JsonValue::String(name)) if !name.trim().is_empty() => name.clone(),
        other => {
            return Err(GridError::BadProperty {
                at,
                property: "name",
                problem: format!(
                    "is {}; give the cell its display name as a non-empty string",
                    describe(other)
                ),
            });
        }
    };
    let level = match properties.get("level") {
        Some(JsonValue::String(level)) => {
            GridLevel::from_name(level).ok_or_else(|| GridError::UnknownLevel {
                at: at.clone(),
                found: level.clone(),
            })?
        }
        other => {
            return Err(GridError::BadProperty {
                at,
                property: "level",
                problem: format!(
                    "is {}; use \"block\", \"workstation\" or \"unit\"",
                    describe(other)
                ),
            });
        }
    };
    let parent = match properties.get("parent") {
        None | Some(JsonValue::Null) => None,
        Some(JsonValue::String(parent)) => Some(parent.clone()),
        Some(other) => {
            return Err(GridError::BadProperty {
                at,
                property: "parent",
                problem: format!(
                    "is {}; it must be the id (a string) of the enclosing cell",
                    json_kind(other)
                ),
            });
        }
    };
    let geometry = read_geometry(&at, feature)?;
    let bounds = geometry
        .bounding_rect()
        .ok_or_else(|| GridError::InvalidPolygon {
            at: at.clone(),
            reason: "the geometry has no coordinates".to_owned(),
        })?;
    Ok(GridCell {
        id,
        name,
        level,
        parent,
        geometry,
        bounds,
    })
}

fn describe(value: Option<&JsonValue>) -> String {
    match value {
        None => "missing".to_owned(),
        Some(JsonValue::String(_)) => "an empty string".to_owned(),
        Some(other) => json_kind(other).to_owned(),
    }
}

fn read_geometry(at: &FeatureRef, feature: &Feature) -> Result<MultiPolygon<f64>, GridError> {
    let Some(geometry) = &feature.geometry else {
        return Err(GridError::MissingGeometry { at: at.clone() });
    };
    // The conversion is done here rather than with geojson's `TryFrom`, which indexes positions
    // without checking their length and would panic on a position with fewer than two numbers.
    let multi = match &geometry.value {
        GeometryValue::Polygon { coordinates } => {
            MultiPolygon(vec![read_polygon(at, None, coordinates)?])
        }
        GeometryValue::MultiPolygon { coordinates } => MultiPolygon(
            coordinates
                .iter()
                .enumerate()
                .map(|(p, rings)| read_polygon(at, Some(p), rings))
                .collect::<Result<_, _>>()?,
        ),
        other => {
            return Err(GridError::NotPolygon {
                at: at.clone(),
                found: other.type_name().to_owned(),
            });
        }
    };
    multi
        .check_validation()
        .map_err(|e| GridError::InvalidPolygon {
            at: at.clone(),
            reason: e.to_string(),
        })?;
    Ok(multi)
}

fn read_polygon(
    at: &FeatureRef,
    polygon: Option<usize>,
    rings: &[Vec<Position>],
) -> Result<Polygon<f64>, GridError> {
    let place = |ring: usize, position: usize| match polygon {
        Some(p) => format!("polygon {p}, ring {ring}, position {position}"),
        None => format!("ring {ring}, position {position}"),
    };
    let mut converted = Vec::with_capacity(rings.len());
    for (r, ring) in rings.iter().enumerate() {
        let mut coords = Vec::with_capacity(ring.len());
        for (i, position) in ring.iter().enumerate() {
            let [lon, lat, ..] = position.as_slice() else {
                return Err(GridError::ShortPosition {
                    at: at.clone(),
                    position: place(r, i),
                    count: position.len(),
                });
            };
            let (lon, lat) = (*lon, *lat);
            if !is_valid_position(lat, lon) {
                return Err(GridError::CoordinateOutOfRange {
                    at: at.clone(),
                    position: place(r, i),
                    lon,
                    lat,
                });
            }
            coords.push(Coord { x: lon, y: lat });
        }
        converted.push(LineString(coords));
    }
    let mut converted = converted.into_iter();
    let Some(exterior) = converted.next() else {
        let which = polygon.map_or(String::new(), |p| format!("polygon {p} "));
        return Err(GridError::InvalidPolygon {
            at: at.clone(),
            reason: format!("{which}has no rings"),
        });
    };
    // `Polygon::new` closes open rings; validation below then rejects rings that are too short.
    Ok(Polygon::new(exterior, converted.collect()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A square polygon feature of 0.001° at (lon, lat), as JSON text.
    fn square(props: &str, lon: f64, lat: f64) -> String {
        let (x0, y0, x1, y1) = (lon, lat, lon + 0.001, lat + 0.001);
        format!(
            r#"{{"type":"Feature","properties":{props},"geometry":{{"type":"Polygon",
            "coordinates":[[[{x0},{y0}],[{x1},{y0}],[{x1},{y1}],[{x0},{y1}],[{x0},{y0}]]]}}}}"#
        )
    }

    fn collection(datum: &str, features: &[String]) -> String {
        format!(
            r#"{{"type":"FeatureCollection",{datum}"features":[{}]}}"#,
            features.join(",")
        )
    }

    /// A valid dataset: block B, workstation W in B, units U1 and U2 in W.
    fn valid_features() -> Vec<String> {
        vec![
            square(r#"{"id":"B","name":"块区","level":"block"}"#, 121.44, 31.19),
            square(
                r#"{"id":"W","name":"工作站","level":"workstation","parent":"B"}"#,
                121.44,
                31.19,
            ),
            square(
                r#"{"id":"U1","name":"单元一","level":"unit","parent":"W"}"#,
                121.44,
                31.19,
            ),
            square(
                r#"{"id":"U2","name":"单元二","level":"unit","parent":"W"}"#,
                121.441,
                31.19,
            ),
        ]
    }

    const GCJ: &str = r#""datum":"GCJ-02","#;

    /// Parses `text`, expecting an error whose message contains every one of `needles`.
    fn expect_error(text: &str, needles: &[&str]) -> GridError {
        let err = parse_str(text).expect_err("the dataset should be rejected");
        let message = err.to_string();
        for needle in needles {
            assert!(
                message.contains(needle),
                "error message {message:?} does not mention {needle:?}"
            );
        }
        err
    }

    #[test]
    fn valid_dataset_is_read_with_its_datum_and_cells() {
        let dataset = parse_str(&collection(GCJ, &valid_features())).unwrap();
        assert_eq!(dataset.datum, Datum::Gcj02);
        let ids: Vec<_> = dataset.cells.iter().map(|c| c.id()).collect();
        assert_eq!(ids, ["B", "W", "U1", "U2"]);
        assert_eq!(dataset.cells[3].parent(), Some("W"));
        assert_eq!(dataset.cells[3].level(), GridLevel::Unit);
        assert_eq!(dataset.cells[3].name(), "单元二");
        assert_eq!(dataset.cells[0].parent(), None);
        let wgs = parse_str(&collection(r#""datum":"WGS-84","#, &valid_features())).unwrap();
        assert_eq!(wgs.datum, Datum::Wgs84);
    }

    #[test]
    fn parent_may_come_after_its_children() {
        let mut features = valid_features();
        features.reverse();
        assert!(parse_str(&collection(GCJ, &features)).is_ok());
    }

    #[test]
    fn multipolygon_cells_are_accepted() {
        let multi = r#"{"type":"Feature","properties":{"id":"B","name":"飞地块区","level":"block"},
            "geometry":{"type":"MultiPolygon","coordinates":[
              [[[121.44,31.19],[121.441,31.19],[121.441,31.191],[121.44,31.19]]],
              [[[121.45,31.19],[121.451,31.19],[121.451,31.191],[121.45,31.19]]]]}}"#;
        let dataset = parse_str(&collection(GCJ, &[multi.to_owned()])).unwrap();
        assert_eq!(dataset.cells[0].geometry().0.len(), 2);
    }

    #[test]
    fn malformed_json_is_rejected() {
        let err = expect_error(
            r#"{"type":"FeatureCollection","#,
            &["not valid JSON", "line 1"],
        );
        assert!(matches!(err, GridError::InvalidJson { .. }));
    }

    #[test]
    fn json_that_is_not_a_feature_collection_is_rejected() {
        let err = expect_error("[1, 2]", &["top level is an array", "FeatureCollection"]);
        assert!(matches!(err, GridError::InvalidGeoJson { .. }));
        let err = expect_error(
            &valid_features()[0],
            &["\"type\" is \"Feature\"", "expected \"FeatureCollection\""],
        );
        assert!(matches!(err, GridError::InvalidGeoJson { .. }));
        expect_error(r#"{"datum":"GCJ-02"}"#, &["no \"type\" member"]);
        expect_error(
            r#"{"type":"FeatureCollection","datum":"GCJ-02"}"#,
            &["no \"features\" array"],
        );
        expect_error(
            r#"{"type":"FeatureCollection","datum":"GCJ-02","features":{}}"#,
            &["\"features\" is an object"],
        );
    }

    #[test]
    fn malformed_feature_is_named_by_index_and_id() {
        let mut features = valid_features();
        features[2] =
            r#"{"type":"Feature","properties":{"id":"U1"},"geometry":{"type":"Polygon"}}"#
                .to_owned();
        let err = expect_error(
            &collection(GCJ, &features),
            &["features[2] (id \"U1\")", "not a valid GeoJSON Feature"],
        );
        assert!(matches!(err, GridError::InvalidGeoJson { .. }));
    }

    #[test]
    fn missing_or_unknown_datum_is_rejected() {
        let err = expect_error(
            &collection("", &valid_features()),
            &["no top-level \"datum\"", "GCJ-02"],
        );
        assert_eq!(err, GridError::MissingDatum);
        let err = expect_error(
            &collection(r#""datum":"BD-09","#, &valid_features()),
            &["\"BD-09\"", "not supported", "use \"GCJ-02\" or \"WGS-84\""],
        );
        assert!(matches!(err, GridError::UnknownDatum { .. }));
        expect_error(
            &collection(r#""datum":84,"#, &valid_features()),
            &["\"datum\": 84"],
        );
    }

    #[test]
    fn empty_dataset_is_rejected() {
        let err = expect_error(&collection(GCJ, &[]), &["no features"]);
        assert_eq!(err, GridError::EmptyDataset);
    }

    #[test]
    fn non_polygon_geometry_is_rejected() {
        let point = r#"{"type":"Feature","properties":{"id":"B","name":"块区","level":"block"},
            "geometry":{"type":"Point","coordinates":[121.44,31.19]}}"#;
        let err = expect_error(
            &collection(GCJ, &[point.to_owned()]),
            &[
                "features[0] (id \"B\")",
                "geometry is a Point",
                "Polygon or MultiPolygon",
            ],
        );
        assert!(matches!(err, GridError::NotPolygon { .. }));
        let none = r#"{"type":"Feature","properties":{"id":"B","name":"块区","level":"block"},
            "geometry":null}"#;
        let err = expect_error(&collection(GCJ, &[none.to_owned()]), &["has no geometry"]);
        assert!(matches!(err, GridError::MissingGeometry { .. }));
    }

    #[test]
    fn missing_and_duplicate_ids_are_rejected() {
        let mut features = valid_features();
        features[1] = features[1].replace(r#""id":"W","#, "");
        let err = expect_error(
            &collection(GCJ, &features),
            &["features[1] (no id)", "\"id\"", "unique string id"],
        );
        assert!(matches!(err, GridError::MissingId { .. }));

        let mut features = valid_features();
        features[3] = features[3].replace(r#""id":"U2""#, r#""id":"U1""#);
        let err = expect_error(
            &collection(GCJ, &features),
            &["features[3] (id \"U1\")", "already used by features[2]"],
        );
        assert_eq!(
            err,
            GridError::DuplicateId {
                at: FeatureRef {
                    index: 3,
                    id: Some("U1".into())
                },
                first_index: 2
            }
        );
        let mut features = valid_features();
        features[0] = features[0].replace(r#""id":"B""#, r#""id":7"#);
        expect_error(&collection(GCJ, &features), &["features[0] (no id)"]);
    }

    #[test]
    fn bad_name_and_unknown_level_are_rejected() {
        let mut features = valid_features();
        features[2] = features[2].replace(r#""name":"单元一","#, "");
        let err = expect_error(
            &collection(GCJ, &features),
            &["features[2] (id \"U1\")", "\"name\" is missing"],
        );
        assert!(matches!(
            err,
            GridError::BadProperty {
                property: "name",
                ..
            }
        ));

        let mut features = valid_features();
        features[1] = features[1].replace(r#""level":"workstation""#, r#""level":"district""#);
        let err = expect_error(
            &collection(GCJ, &features),
            &[
                "features[1] (id \"W\")",
                "unknown level \"district\"",
                "\"unit\"",
            ],
        );
        assert!(matches!(err, GridError::UnknownLevel { .. }));

        let mut features = valid_features();
        features[1] = features[1].replace(r#""level":"workstation""#, r#""level":2"#);
        expect_error(&collection(GCJ, &features), &["\"level\" is a number"]);
    }

    #[test]
    fn parent_errors_are_rejected() {
        let mut features = valid_features();
        features[2] = features[2].replace(r#""parent":"W""#, r#""parent":"W9""#);
        let err = expect_error(
            &collection(GCJ, &features),
            &[
                "features[2] (id \"U1\")",
                "parent \"W9\" is not the id of any feature",
            ],
        );
        assert!(matches!(err, GridError::UnknownParent { .. }));

        let mut features = valid_features();
        features[2] = features[2].replace(r#""parent":"W""#, r#""parent":"B""#);
        let err = expect_error(
            &collection(GCJ, &features),
            &[
                "parent \"B\" is a block",
                "parent of a unit must be a workstation",
            ],
        );
        assert!(matches!(err, GridError::WrongParentLevel { .. }));

        let mut features = valid_features();
        features[1] = features[1].replace(r#","parent":"B""#, "");
        let err = expect_error(
            &collection(GCJ, &features),
            &[
                "features[1] (id \"W\")",
                "a workstation needs a \"parent\"",
                "block",
            ],
        );
        assert!(matches!(err, GridError::MissingParent { .. }));

        let mut features = valid_features();
        features[0] = features[0].replace(r#""level":"block""#, r#""level":"block","parent":"W""#);
        let err = expect_error(
            &collection(GCJ, &features),
            &["a block has no parent", "\"W\""],
        );
        assert!(matches!(err, GridError::UnexpectedParent { .. }));

        let mut features = valid_features();
        features[2] = features[2].replace(r#""parent":"W""#, r#""parent":["W"]"#);
        expect_error(&collection(GCJ, &features), &["\"parent\" is an array"]);
    }

    #[test]
    fn out_of_range_coordinates_are_rejected() {
        let features = vec![square(
            r#"{"id":"B","name":"块区","level":"block"}"#,
            121.44,
            90.5,
        )];
        let err = expect_error(
            &collection(GCJ, &features),
            &[
                "features[0] (id \"B\")",
                "ring 0, position 0",
                "[121.44, 90.5]",
            ],
        );
        assert!(matches!(err, GridError::CoordinateOutOfRange { .. }));
        let features = vec![square(
            r#"{"id":"B","name":"块区","level":"block"}"#,
            180.5,
            31.19,
        )];
        expect_error(
            &collection(GCJ, &features),
            &["position 0 is [180.5, 31.19]"],
        );
    }

    #[test]
    fn nan_coordinates_are_rejected() {
        // JSON has no NaN, but a collection built in code can.
        let text = collection(GCJ, &valid_features());
        let mut collection: FeatureCollection = text.parse().unwrap();
        let Some(geometry) = &mut collection.features[3].geometry else {
            panic!("test feature has a geometry");
        };
        let GeometryValue::Polygon { coordinates } = &mut geometry.value else {
            panic!("test feature is a polygon");
        };
        coordinates[0][2] = Position::from([f64::NAN, 31.19]);
        let err = from_collection(&collection).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, GridError::CoordinateOutOfRange { .. }));
        assert!(message.contains("features[3] (id \"U2\")"), "{message}");
        assert!(
            message.contains("ring 0, position 2 is [NaN, 31.19]"),
            "{message}"
        );
    }

    #[test]
    fn short_positions_are_rejected() {
        let text = collection(GCJ, &valid_features());
        let mut collection: FeatureCollection = text.parse().unwrap();
        let Some(geometry) = &mut collection.features[0].geometry else {
            panic!("test feature has a geometry");
        };
        let GeometryValue::Polygon { coordinates } = &mut geometry.value else {
            panic!("test feature is a polygon");
        };
        coordinates[0][1] = Position::from(vec![121.44]);
        let err = from_collection(&collection).unwrap_err();
        assert!(matches!(err, GridError::ShortPosition { count: 1, .. }));
        assert!(err.to_string().contains("position 1 has 1 number(s)"));
    }

    #[test]
    fn invalid_polygons_are_rejected() {
        let bowtie = r#"{"type":"Feature","properties":{"id":"B","name":"块区","level":"block"},
            "geometry":{"type":"Polygon","coordinates":[
              [[121.44,31.19],[121.441,31.191],[121.441,31.19],[121.44,31.191],[121.44,31.19]]]}}"#;
        let err = expect_error(
            &collection(GCJ, &[bowtie.to_owned()]),
            &[
                "features[0] (id \"B\")",
                "invalid polygon",
                "self-intersection",
            ],
        );
        assert!(matches!(err, GridError::InvalidPolygon { .. }));
        let sliver = r#"{"type":"Feature","properties":{"id":"B","name":"块区","level":"block"},
            "geometry":{"type":"Polygon","coordinates":[[[121.44,31.19],[121.441,31.19]]]}}"#;
        expect_error(
            &collection(GCJ, &[sliver.to_owned()]),
            &["at least 3 distinct points"],
        );
        let no_rings = r#"{"type":"Feature","properties":{"id":"B","name":"块区","level":"block"},
            "geometry":{"type":"Polygon","coordinates":[]}}"#;
        expect_error(&collection(GCJ, &[no_rings.to_owned()]), &["has no rings"]);
    }

    #[test]
    fn collection_built_in_code_needs_a_datum_member() {
        let text = collection(GCJ, &valid_features());
        let mut collection: FeatureCollection = text.parse().unwrap();
        assert_eq!(from_collection(&collection).unwrap().datum, Datum::Gcj02);
        collection.foreign_members = None;
        assert_eq!(from_collection(&collection), Err(GridError::MissingDatum));
    }
}
