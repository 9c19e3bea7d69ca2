//! Geodetic datums of grid datasets, and conversion between WGS-84 and GCJ-02.
//!
//! Phones report GPS fixes in WGS-84. Maps published in mainland China (AMap, Tencent, and the
//! tiles a back office traces its grid outlines on) draw in GCJ-02, an obfuscated datum whose
//! coordinates differ from WGS-84 by a smooth, position-dependent offset of a few hundred metres
//! (about 0.002° latitude and 0.0045° longitude in Shanghai). A grid dataset traced on such a map
//! is in GCJ-02; comparing a raw GPS fix with it would put the officer in the wrong grid, so the
//! fix is converted to the dataset's datum first.
//!
//! The forward conversion is the well-known public algorithm (as in the `eviltransform` family of
//! libraries). It is the identity outside a rectangle roughly around China (the same rectangle
//! those libraries use; it also covers some neighbouring countries, which matters only for a
//! dataset that would be drawn there in GCJ-02). There is no closed-form inverse; it is computed by
//! fixed-point iteration to better than 1e-9° (about 0.1 mm).

use serde::{Deserialize, Serialize};

/// The datum a grid dataset's coordinates are in, declared by its top-level `"datum"` member.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Datum {
    /// WGS-84, what GPS receivers report. Declared as `"WGS-84"`.
    #[serde(rename = "WGS-84")]
    Wgs84,
    /// GCJ-02, what maps published in mainland China draw in. Declared as `"GCJ-02"`.
    #[serde(rename = "GCJ-02")]
    Gcj02,
}

impl Datum {
    /// The name used in the dataset's `"datum"` member: `"WGS-84"` or `"GCJ-02"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Datum::Wgs84 => "WGS-84",
            Datum::Gcj02 => "GCJ-02",
        }
    }

    /// Parses a `"datum"` member value; `None` for anything but `"WGS-84"` or `"GCJ-02"`.
    pub fn from_name(name: &str) -> Option<Datum> {
        match name {
            "WGS-84" => Some(Datum::Wgs84),
            "GCJ-02" => Some(Datum::Gcj02),
            _ => None,
        }
    }

    /// Converts a WGS-84 position (a phone's fix) to this datum, as `(lat, lon)`.
    pub fn from_wgs84(self, lat: f64, lon: f64) -> (f64, f64) {
        match self {
            Datum::Wgs84 => (lat, lon),
            Datum::Gcj02 => wgs84_to_gcj02(lat, lon),
        }
    }

    /// Converts a position in this datum to WGS-84, as `(lat, lon)`.
    pub fn to_wgs84(self, lat: f64, lon: f64) -> (f64, f64) {
        match self {
            Datum::Wgs84 => (lat, lon),
            Datum::Gcj02 => gcj02_to_wgs84(lat, lon),
        }
    }
}

impl std::fmt::Display for Datum {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Semi-major axis of the Krasovsky 1940 ellipsoid, which the GCJ-02 algorithm uses.
const KRASOVSKY_A: f64 = 6_378_245.0;
/// First eccentricity squared of the Krasovsky 1940 ellipsoid.
const KRASOVSKY_EE: f64 = 0.006_693_421_622_965_943;
/// Convergence threshold of the inverse, in degrees (1e-9° is about 0.1 mm).
const INVERSE_TOLERANCE_DEG: f64 = 1e-9;
/// The iteration converges in 2-4 steps in practice; this only bounds a pathological input.
const INVERSE_MAX_ITERATIONS: usize = 30;

/// Whether `(lat, lon)` is a usable position in degrees: latitude in -90..=90 and longitude in
/// -180..=180. NaN and infinities fail the range checks too.
pub(super) fn is_valid_position(lat: f64, lon: f64) -> bool {
    (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon)
}

/// Whether the GCJ-02 offset applies at this position (the algorithm's rectangle around China).
pub fn in_gcj02_area(lat: f64, lon: f64) -> bool {
    (72.004..=137.8347).contains(&lon) && (0.8293..=55.8271).contains(&lat)
}

fn offset_lat(x: f64, y: f64) -> f64 {
    use std::f64::consts::PI;
    let mut ret = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (y * PI).sin() + 40.0 * (y / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (160.0 * (y / 12.0 * PI).sin() + 320.0 * (y * PI / 30.0).sin()) * 2.0 / 3.0;
    ret
}

fn offset_lon(x: f64, y: f64) -> f64 {
    use std::f64::consts::PI;
    let mut ret = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * x.abs().sqrt();
    ret += (20.0 * (6.0 * x * PI).sin() + 20.0 * (2.0 * x * PI).sin()) * 2.0 / 3.0;
    ret += (20.0 * (x * PI).sin() + 40.0 * (x / 3.0 * PI).sin()) * 2.0 / 3.0;
    ret += (150.0 * (x / 12.0 * PI).sin() + 300.0 * (x / 30.0 * PI).sin()) * 2.0 / 3.0;
    ret
}

/// The GCJ-02 offset `(dlat, dlon)` in degrees at a WGS-84 position inside the area.
fn gcj02_offset(lat: f64, lon: f64) -> (f64, f64) {
    use std::f64::consts::PI;
    let dlat = offset_lat(lon - 105.0, lat - 35.0);
    let dlon = offset_lon(lon - 105.0, lat - 35.0);
    let rad_lat = lat / 180.0 * PI;
    let magic = 1.0 - KRASOVSKY_EE * rad_lat.sin() * rad_lat.sin();
    let sqrt_magic = magic.sqrt();
    let dlat = (dlat * 180.0) / ((KRASOVSKY_A * (1.0 - KRASOVSKY_EE)) / (magic * sqrt_magic) * PI);
    let dlon = (dlon * 180.0) / (KRASOVSKY_A / sqrt_magic * rad_lat.cos() * PI);
    (dlat, dlon)
}

/// Converts a WGS-84 position to GCJ-02, returning `(lat, lon)` in degrees.
///
/// Identity outside the GCJ-02 area (see [`in_gcj02_area`]). The caller validates the input:
/// a non-finite coordinate gives a non-finite result.
pub fn wgs84_to_gcj02(lat: f64, lon: f64) -> (f64, f64) {
    if !in_gcj02_area(lat, lon) {
        return (lat, lon);
    }
    let (dlat, dlon) = gcj02_offset(lat, lon);
    (lat + dlat, lon + dlon)
}

/// Converts a GCJ-02 position to WGS-84, returning `(lat, lon)` in degrees.
///
/// Inverts [`wgs84_to_gcj02`] by fixed-point iteration until the round trip is within 1e-9°
/// (about 0.1 mm, far below the 1 cm the grid needs). Identity outside the GCJ-02 area.
pub fn gcj02_to_wgs84(lat: f64, lon: f64) -> (f64, f64) {
    if !in_gcj02_area(lat, lon) {
        return (lat, lon);
    }
    // The offset changes by well under 1% over its own size, so subtracting the offset found at
    // the current estimate converges geometrically (each step gains about 3 digits).
    let (mut wlat, mut wlon) = (lat, lon);
    for _ in 0..INVERSE_MAX_ITERATIONS {
        let (glat, glon) = wgs84_to_gcj02(wlat, wlon);
        let (elat, elon) = (glat - lat, glon - lon);
        wlat -= elat;
        wlon -= elon;
        if elat.abs() < INVERSE_TOLERANCE_DEG && elon.abs() < INVERSE_TOLERANCE_DEG {
            break;
        }
    }
    (wlat, wlon)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Published test vectors of the eviltransform libraries: (WGS-84 lat, lon), (GCJ-02 lat, lon).
    const VECTORS: [((f64, f64), (f64, f64)); 3] = [
        // Shanghai
        (
            (31.1774276, 121.5272106),
            (31.17530398364597, 121.531541859215),
        ),
        // Shenzhen
        (
            (22.543847, 113.912316),
            (22.540796131694766, 113.9171764808363),
        ),
        // Beijing
        (
            (39.911954, 116.377817),
            (39.91334545536069, 116.38404722455657),
        ),
    ];

    /// Metres per degree of latitude, for expressing errors in metres.
    const M_PER_DEG: f64 = 111_195.0;

    #[test]
    fn forward_matches_reference_vectors() {
        for ((wlat, wlon), (glat, glon)) in VECTORS {
            let (lat, lon) = wgs84_to_gcj02(wlat, wlon);
            assert!(
                (lat - glat).abs() < 1e-9,
                "lat {lat} != {glat} for ({wlat}, {wlon})"
            );
            assert!(
                (lon - glon).abs() < 1e-9,
                "lon {lon} != {glon} for ({wlat}, {wlon})"
            );
        }
    }

    #[test]
    fn inverse_recovers_reference_vectors_within_a_centimetre() {
        for ((wlat, wlon), (glat, glon)) in VECTORS {
            let (lat, lon) = gcj02_to_wgs84(glat, glon);
            let err_m = (lat - wlat).abs().max((lon - wlon).abs()) * M_PER_DEG;
            assert!(
                err_m < 0.01,
                "({glat}, {glon}) -> ({lat}, {lon}), {err_m} m off"
            );
        }
    }

    #[test]
    fn shanghai_offset_has_the_known_size_and_direction() {
        // In Shanghai GCJ-02 is south-east of WGS-84 by roughly 0.002° and 0.0045°.
        let (lat, lon) = wgs84_to_gcj02(31.19, 121.44);
        assert!(
            (-0.0025..-0.0015).contains(&(lat - 31.19)),
            "dlat {}",
            lat - 31.19
        );
        assert!(
            (0.004..0.005).contains(&(lon - 121.44)),
            "dlon {}",
            lon - 121.44
        );
    }

    #[test]
    fn round_trips_over_the_demo_area_stay_within_a_centimetre() {
        for i in 0..=20 {
            for j in 0..=20 {
                let lat = 31.17 + 0.002 * f64::from(i);
                let lon = 121.41 + 0.003 * f64::from(j);
                let (glat, glon) = wgs84_to_gcj02(lat, lon);
                let (blat, blon) = gcj02_to_wgs84(glat, glon);
                let err_m = (blat - lat).abs().max((blon - lon).abs()) * M_PER_DEG;
                assert!(err_m < 0.01, "({lat}, {lon}) round trip {err_m} m off");
                // And the other way round.
                let (wlat, wlon) = gcj02_to_wgs84(lat, lon);
                let (clat, clon) = wgs84_to_gcj02(wlat, wlon);
                let err_m = (clat - lat).abs().max((clon - lon).abs()) * M_PER_DEG;
                assert!(
                    err_m < 0.01,
                    "({lat}, {lon}) reverse round trip {err_m} m off"
                );
            }
        }
    }

    #[test]
    fn identity_outside_china() {
        for (lat, lon) in [
            (48.8584, 2.2945),
            (39.7392, -104.9903),
            (-27.4698, 153.0251),
        ] {
            assert_eq!(wgs84_to_gcj02(lat, lon), (lat, lon));
            assert_eq!(gcj02_to_wgs84(lat, lon), (lat, lon));
            assert_eq!(Datum::Gcj02.from_wgs84(lat, lon), (lat, lon));
        }
    }

    #[test]
    fn offset_barely_distorts_local_distances() {
        // Distances are measured in the dataset's datum. The GCJ-02 offset is nearly a pure
        // translation locally: 100 m in WGS-84 stays 100 m in GCJ-02 to within 0.5% (the worst
        // case over the street is about 0.36%, i.e. 11 cm on a 30 m accuracy circle).
        let (lat, lon) = (31.19, 121.44);
        let (g0lat, g0lon) = wgs84_to_gcj02(lat, lon);
        for (dlat, dlon) in [(0.0009, 0.0), (0.0, 0.00105), (0.0006, 0.0008)] {
            let (g1lat, g1lon) = wgs84_to_gcj02(lat + dlat, lon + dlon);
            let coslat = lat.to_radians().cos();
            let wgs_m = (dlat.hypot(dlon * coslat)) * M_PER_DEG;
            let gcj_m = ((g1lat - g0lat).hypot((g1lon - g0lon) * coslat)) * M_PER_DEG;
            assert!(
                ((gcj_m - wgs_m) / wgs_m).abs() < 5e-3,
                "{wgs_m} m became {gcj_m} m"
            );
        }
    }

    #[test]
    fn datum_names_round_trip() {
        for datum in [Datum::Wgs84, Datum::Gcj02] {
            assert_eq!(Datum::from_name(datum.as_str()), Some(datum));
            let json = serde_json::to_string(&datum).unwrap();
            assert_eq!(json, format!("\"{datum}\""));
        }
        assert_eq!(Datum::from_name("wgs84"), None);
    }
}
