//! Small datasets for the module's tests.

use serde_json::{Value, json};

use super::datum::{Datum, gcj02_to_wgs84};

/// Longitudes of the small dataset's lattice (GCJ-02): 0.002° is about 190 m.
pub(super) const XS: [f64; 3] = [121.440, 121.442, 121.444];
/// Latitudes of the small dataset's lattice (GCJ-02): 0.001° is about 111 m.
pub(super) const YS: [f64; 3] = [31.190, 31.191, 31.192];

/// A small street, drawn in GCJ-02 on a 3 x 3 lattice of points:
///
/// ```text
///   YS[2] +---------+---------+
///         |  W1-U2  |  W2-U2  |
///   YS[1] +---------+---------+      block B = everything,
///         |  W1-U1  |  W2-U1  |      W1 = west half, W2 = east half
///   YS[0] +---------+---------+
///       XS[0]     XS[1]     XS[2]
/// ```
///
/// With `Datum::Wgs84` every vertex is converted to WGS-84 first, so both versions describe the
/// same physical cells. Every ring passes through every lattice point on it, so the converted
/// copy still tiles exactly.
pub(super) fn small_dataset(datum: Datum) -> String {
    let ring = |points: &[(usize, usize)]| {
        let mut coords: Vec<Value> = points.iter().map(|&(i, j)| json!([XS[i], YS[j]])).collect();
        coords.push(coords[0].clone());
        json!({"type": "Polygon", "coordinates": [coords]})
    };
    let feature = |id: &str, name: &str, level: &str, parent: Option<&str>, geometry: Value| {
        let mut properties = json!({"id": id, "name": name, "level": level});
        if let Some(parent) = parent {
            properties["parent"] = json!(parent);
        }
        json!({"type": "Feature", "properties": properties, "geometry": geometry})
    };
    let west = [(0, 0), (1, 0), (1, 1), (1, 2), (0, 2), (0, 1)];
    let east = [(1, 0), (2, 0), (2, 1), (2, 2), (1, 2), (1, 1)];
    let block = [
        (0, 0),
        (1, 0),
        (2, 0),
        (2, 1),
        (2, 2),
        (1, 2),
        (0, 2),
        (0, 1),
    ];
    let gcj = json!({
        "type": "FeatureCollection",
        "datum": "GCJ-02",
        "features": [
            feature("B", "小街块区", "block", None, ring(&block)),
            feature("W1", "一号站", "workstation", Some("B"), ring(&west)),
            feature("W2", "二号站", "workstation", Some("B"), ring(&east)),
            feature("W1-U1", "一号站一单元", "unit", Some("W1"),
                ring(&[(0, 0), (1, 0), (1, 1), (0, 1)])),
            feature("W1-U2", "一号站二单元", "unit", Some("W1"),
                ring(&[(0, 1), (1, 1), (1, 2), (0, 2)])),
            feature("W2-U1", "二号站一单元", "unit", Some("W2"),
                ring(&[(1, 0), (2, 0), (2, 1), (1, 1)])),
            feature("W2-U2", "二号站二单元", "unit", Some("W2"),
                ring(&[(1, 1), (2, 1), (2, 2), (1, 2)])),
        ]
    })
    .to_string();
    match datum {
        Datum::Gcj02 => gcj,
        Datum::Wgs84 => wgs84_copy(&gcj),
    }
}

/// A WGS-84 copy of a GCJ-02 dataset: every position converted, the datum member changed.
pub(super) fn wgs84_copy(gcj_text: &str) -> String {
    fn convert(value: &mut Value) {
        if let Value::Array(items) = value {
            if let [Value::Number(lon), Value::Number(lat)] = items.as_slice() {
                let (lon, lat) = (lon.as_f64().unwrap(), lat.as_f64().unwrap());
                let (wlat, wlon) = gcj02_to_wgs84(lat, lon);
                *value = json!([wlon, wlat]);
            } else {
                items.iter_mut().for_each(convert);
            }
        }
    }
    let mut collection: Value = serde_json::from_str(gcj_text).unwrap();
    assert_eq!(collection["datum"], "GCJ-02");
    collection["datum"] = json!("WGS-84");
    for feature in collection["features"].as_array_mut().unwrap() {
        convert(&mut feature["geometry"]["coordinates"]);
    }
    collection.to_string()
}
