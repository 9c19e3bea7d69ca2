//! Distances in metres between a GPS fix and cell outlines.
//!
//! A local equirectangular projection centred on the fix: x = east, y = north, in metres, with
//! longitude scaled by cos(latitude of the fix) and a spherical Earth of mean radius. Over the
//! few hundred metres an accuracy circle spans, its error against the ellipsoid is well under 1%
//! (and under 0.1% at the street's latitude), much less than the uncertainty of the fix itself,
//! and it is a handful of multiplications per vertex, which keeps a lookup in microseconds.
//! Distances are measured in the dataset's datum; the GCJ-02 offset is locally a near-translation
//! (see the datum tests), so they are true distances to within 0.5% (11 cm on a 30 m circle at
//! worst over the street), which is noise next to the fix's own accuracy.

use geo::{Coord, MultiPolygon};

/// Mean Earth radius (IUGG), in metres.
pub(super) const EARTH_RADIUS_M: f64 = 6_371_008.8;
/// Metres per degree of latitude on the sphere.
const M_PER_DEG: f64 = EARTH_RADIUS_M * std::f64::consts::PI / 180.0;
/// Safety margin on the search box, so that rounding never drops a cell at exactly the radius.
const SEARCH_MARGIN: f64 = 1.01;

/// An equirectangular projection centred on one point, in metres.
#[derive(Debug, Clone, Copy)]
pub(super) struct LocalProjection {
    lat0: f64,
    lon0: f64,
    m_per_deg_lon: f64,
}

impl LocalProjection {
    /// A projection centred on `(lat0, lon0)`, in degrees.
    pub(super) fn new(lat0: f64, lon0: f64) -> Self {
        LocalProjection {
            lat0,
            lon0,
            m_per_deg_lon: M_PER_DEG * lat0.to_radians().cos(),
        }
    }

    /// `(east, north)` in metres of a coordinate (x = longitude, y = latitude) from the centre.
    pub(super) fn project(&self, c: Coord<f64>) -> (f64, f64) {
        (
            (c.x - self.lon0) * self.m_per_deg_lon,
            (c.y - self.lat0) * M_PER_DEG,
        )
    }

    /// Corners `([min_lon, min_lat], [max_lon, max_lat])` of a box that holds every point within
    /// `radius_m` of the centre.
    pub(super) fn search_box(&self, radius_m: f64) -> ([f64; 2], [f64; 2]) {
        let dlat = radius_m * SEARCH_MARGIN / M_PER_DEG + 1e-9;
        // Near the poles a degree of longitude shrinks to nothing; never search more than the
        // whole circle of longitude.
        let dlon = if self.m_per_deg_lon > radius_m / 180.0 {
            radius_m * SEARCH_MARGIN / self.m_per_deg_lon + 1e-9
        } else {
            360.0
        };
        (
            [self.lon0 - dlon, self.lat0 - dlat],
            [self.lon0 + dlon, self.lat0 + dlat],
        )
    }

    /// Distance in metres from the centre to the nearest edge of any ring of `shape`.
    pub(super) fn distance_to_boundary_m(&self, shape: &MultiPolygon<f64>) -> f64 {
        let mut best_sq = f64::INFINITY;
        for polygon in &shape.0 {
            for ring in std::iter::once(polygon.exterior()).chain(polygon.interiors()) {
                let mut coords = ring.0.iter();
                let Some(&first) = coords.next() else {
                    continue;
                };
                let mut a = self.project(first);
                for &c in coords {
                    let b = self.project(c);
                    best_sq = best_sq.min(segment_distance_sq(a, b));
                    a = b;
                }
            }
        }
        best_sq.sqrt()
    }
}

/// Squared distance from the origin to the segment `a`–`b`.
fn segment_distance_sq(a: (f64, f64), b: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let len_sq = dx * dx + dy * dy;
    let t = if len_sq > 0.0 {
        (-(a.0 * dx + a.1 * dy) / len_sq).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let (px, py) = (a.0 + t * dx, a.1 + t * dy);
    px * px + py * py
}

#[cfg(test)]
mod tests {
    use geo::{Distance, Haversine, Point, polygon};

    use super::*;

    #[test]
    fn segment_distance_covers_ends_and_middle() {
        assert_eq!(segment_distance_sq((3.0, -1.0), (3.0, 1.0)), 9.0);
        assert_eq!(segment_distance_sq((3.0, 4.0), (6.0, 8.0)), 25.0);
        assert_eq!(segment_distance_sq((-1.0, 2.0), (-1.0, 2.0)), 5.0);
    }

    #[test]
    fn boundary_distance_agrees_with_haversine() {
        // A 0.01° square around the street; the centre sits 0.001° (about 111 m) from its
        // southern edge.
        let (lat, lon) = (31.19, 121.44);
        let square = MultiPolygon(vec![polygon![
            (x: lon - 0.005, y: lat - 0.001),
            (x: lon + 0.005, y: lat - 0.001),
            (x: lon + 0.005, y: lat + 0.009),
            (x: lon - 0.005, y: lat + 0.009),
        ]]);
        let projection = LocalProjection::new(lat, lon);
        let got = projection.distance_to_boundary_m(&square);
        let expected = Haversine.distance(Point::new(lon, lat), Point::new(lon, lat - 0.001));
        assert!(
            (got - expected).abs() < 0.01,
            "{got} m vs haversine {expected} m"
        );
        // East-west distances use the shrunk degree of longitude.
        let east = projection.project(Coord {
            x: lon + 0.01,
            y: lat,
        });
        let expected = Haversine.distance(Point::new(lon, lat), Point::new(lon + 0.01, lat));
        assert!(
            (east.0 - expected).abs() / expected < 1e-4,
            "{east:?} vs {expected}"
        );
    }

    #[test]
    fn search_box_holds_the_circle() {
        let projection = LocalProjection::new(31.19, 121.44);
        let (min, max) = projection.search_box(100.0);
        for (dx, dy) in [(100.0, 0.0), (-100.0, 0.0), (0.0, 100.0), (0.0, -100.0)] {
            let lon = 121.44 + dx / projection.m_per_deg_lon;
            let lat = 31.19 + dy / M_PER_DEG;
            assert!(min[0] < lon && lon < max[0] && min[1] < lat && lat < max[1]);
        }
        let polar = LocalProjection::new(90.0, 0.0);
        let (min, max) = polar.search_box(10.0);
        assert_eq!((min[0], max[0]), (-360.0, 360.0));
    }
}
