//! Web Mercator: from a position to a pixel of the map and back, the viewport that fits a
//! set of positions, and the slippy-map tiles that cover a viewport.
//!
//! Why Web Mercator: every tile provider (OpenStreetMap, AMap, Tencent, Tianditu's web
//! Mercator set) cuts its tiles in it, so an overlay drawn in it lines up with any base layer
//! that may be configured; at the scale of a street its distortion is nil.
//!
//! Positions here are in whatever datum the map is drawn in ([`Projection::datum`]): the
//! projection does not convert datums, [`super::map`] does before projecting.
//!
//! Coordinates go through "world units": `x` and `y` in `0..1` across the whole world, `y`
//! growing southwards (the tiles' convention). A pixel of the drawing is
//! `(world - origin) * scale`, where `scale` is the world's width in pixels
//! (`256 * 2^zoom`).

use std::f64::consts::PI;

use wangge_core::grid::Datum;

/// Web Mercator's latitude limit (the world is a square in it).
pub const MAX_LATITUDE: f64 = 85.051_128_779_806_59;
/// Side of a tile in pixels, what every slippy-map provider serves.
pub const TILE_SIZE: f64 = 256.0;
/// Finest tile zoom asked of a provider (most serve 18 or 19; street level is about 17).
pub const MAX_TILE_ZOOM: u8 = 19;
/// Largest number of tiles one map asks for. A console map is at most a screen or two
/// wide (about 4 x 3 tiles at the chosen zoom); the cap only bounds a strange size.
pub const MAX_TILES: usize = 64;
/// Finest scale a map is drawn at (world width in pixels at zoom 22), so a degenerate
/// viewport (one point) still gives a finite projection.
const MAX_SCALE: f64 = TILE_SIZE * 4_194_304.0;

/// A position's world units `(x, y)` in Web Mercator; latitude is clamped to
/// [`MAX_LATITUDE`].
pub fn to_world(lat: f64, lon: f64) -> (f64, f64) {
    let lat = lat.clamp(-MAX_LATITUDE, MAX_LATITUDE);
    let x = (lon + 180.0) / 360.0;
    let sin = lat.to_radians().sin();
    let y = 0.5 - ((1.0 + sin) / (1.0 - sin)).ln() / (4.0 * PI);
    (x, y)
}

/// The position `(lat, lon)` of world units `(x, y)`: the inverse of [`to_world`].
pub fn from_world(x: f64, y: f64) -> (f64, f64) {
    let lon = x * 360.0 - 180.0;
    let lat = (PI * (1.0 - 2.0 * y)).sinh().atan().to_degrees();
    (lat, lon)
}

/// The tile `(x, y)` of zoom `z` holding a position, in the XYZ ("slippy map") scheme.
pub fn tile_at(lat: f64, lon: f64, z: u8) -> (u32, u32) {
    let n = f64::from(1u32 << z.min(MAX_TILE_ZOOM));
    let (x, y) = to_world(lat, lon);
    let index = |v: f64| (v * n).floor().clamp(0.0, n - 1.0) as u32;
    (index(x), index(y))
}

/// A rectangle in world units, grown point by point.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WorldBox {
    /// Westmost x.
    pub min_x: f64,
    /// Northmost y (y grows southwards).
    pub min_y: f64,
    /// Eastmost x.
    pub max_x: f64,
    /// Southmost y.
    pub max_y: f64,
}

impl WorldBox {
    /// The empty box, which any point grows.
    pub const EMPTY: WorldBox = WorldBox {
        min_x: f64::INFINITY,
        min_y: f64::INFINITY,
        max_x: f64::NEG_INFINITY,
        max_y: f64::NEG_INFINITY,
    };

    /// The whole world.
    pub const WORLD: WorldBox = WorldBox {
        min_x: 0.0,
        min_y: 0.0,
        max_x: 1.0,
        max_y: 1.0,
    };

    /// Grows the box to hold a position; a position that is not a number is ignored.
    pub fn add(&mut self, lat: f64, lon: f64) {
        if !(lat.is_finite() && lon.is_finite()) {
            return;
        }
        let (x, y) = to_world(lat, lon);
        self.min_x = self.min_x.min(x);
        self.min_y = self.min_y.min(y);
        self.max_x = self.max_x.max(x);
        self.max_y = self.max_y.max(y);
    }

    /// Whether no point was added.
    pub fn is_empty(&self) -> bool {
        self.min_x > self.max_x || self.min_y > self.max_y
    }
}

/// Where the map's pixels are: the datum its positions are drawn in, the world point at the
/// drawing's top-left corner, and the pixels per world unit.
///
/// The same numbers are written on the `<svg>` (`data-datum`, `data-origin-x`,
/// `data-origin-y`, `data-scale`), so the console's script turns a click into a position
/// with [`Projection::to_position`]'s arithmetic.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Projection {
    /// The datum positions are drawn in (the base tiles', or the grid's without tiles).
    pub datum: Datum,
    /// World x at the drawing's left edge.
    pub origin_x: f64,
    /// World y at the drawing's top edge.
    pub origin_y: f64,
    /// Pixels per world unit: the world's width in pixels, `256 * 2^zoom`.
    pub scale: f64,
}

impl Projection {
    /// The projection that shows `bounds` whole and centred in a `width` x `height` drawing,
    /// leaving `padding` pixels on every side. An empty box shows the whole world; a box of
    /// one point is shown at the finest scale.
    pub fn fit(datum: Datum, bounds: WorldBox, width: f64, height: f64, padding: f64) -> Self {
        let bounds = if bounds.is_empty() {
            WorldBox::WORLD
        } else {
            bounds
        };
        let inner_w = (width - 2.0 * padding).max(1.0);
        let inner_h = (height - 2.0 * padding).max(1.0);
        let span_x = bounds.max_x - bounds.min_x;
        let span_y = bounds.max_y - bounds.min_y;
        let scale = (inner_w / span_x)
            .min(inner_h / span_y)
            .clamp(1.0, MAX_SCALE);
        let centre_x = (bounds.min_x + bounds.max_x) / 2.0;
        let centre_y = (bounds.min_y + bounds.max_y) / 2.0;
        Projection {
            datum,
            origin_x: centre_x - width / 2.0 / scale,
            origin_y: centre_y - height / 2.0 / scale,
            scale,
        }
    }

    /// The pixel `(x, y)` of a position in [`Projection::datum`].
    pub fn to_pixel(&self, lat: f64, lon: f64) -> (f64, f64) {
        let (x, y) = to_world(lat, lon);
        (
            (x - self.origin_x) * self.scale,
            (y - self.origin_y) * self.scale,
        )
    }

    /// The position `(lat, lon)` in [`Projection::datum`] of a pixel: the inverse of
    /// [`Projection::to_pixel`], what the console's script computes for a click.
    pub fn to_position(&self, x: f64, y: f64) -> (f64, f64) {
        from_world(
            self.origin_x + x / self.scale,
            self.origin_y + y / self.scale,
        )
    }

    /// The tile zoom whose pixels are nearest the drawing's: `log2(scale / 256)` rounded,
    /// within `0..=MAX_TILE_ZOOM`.
    pub fn tile_zoom(&self) -> u8 {
        (self.scale / TILE_SIZE)
            .log2()
            .round()
            .clamp(0.0, f64::from(MAX_TILE_ZOOM)) as u8
    }

    /// The tiles covering a `width` x `height` drawing, at [`Projection::tile_zoom`] or
    /// coarser when that would take more than [`MAX_TILES`] tiles; row by row from the
    /// top-left.
    pub fn tiles(&self, width: f64, height: f64) -> Vec<Tile> {
        let mut z = self.tile_zoom();
        loop {
            let n = f64::from(1u32 << z);
            let index = |world: f64| (world * n).floor().clamp(0.0, n - 1.0) as u32;
            let (x0, x1) = (
                index(self.origin_x),
                index(self.origin_x + width / self.scale),
            );
            let (y0, y1) = (
                index(self.origin_y),
                index(self.origin_y + height / self.scale),
            );
            let count = (x1 - x0 + 1) as usize * (y1 - y0 + 1) as usize;
            if count > MAX_TILES && z > 0 {
                z -= 1;
                continue;
            }
            let size = self.scale / n;
            let mut tiles = Vec::with_capacity(count);
            for y in y0..=y1 {
                for x in x0..=x1 {
                    tiles.push(Tile {
                        z,
                        x,
                        y,
                        left: (f64::from(x) / n - self.origin_x) * self.scale,
                        top: (f64::from(y) / n - self.origin_y) * self.scale,
                        size,
                    });
                }
            }
            return tiles;
        }
    }
}

/// One base-map tile placed on the drawing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tile {
    /// Zoom.
    pub z: u8,
    /// Column.
    pub x: u32,
    /// Row (from the north).
    pub y: u32,
    /// Pixel of its left edge on the drawing.
    pub left: f64,
    /// Pixel of its top edge on the drawing.
    pub top: f64,
    /// Its side in the drawing's pixels.
    pub size: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn world_units_round_trip() {
        for &(lat, lon) in &[
            (31.19, 121.44),
            (0.0, 0.0),
            (-33.86, 151.21),
            (85.0, -179.9),
        ] {
            let (x, y) = to_world(lat, lon);
            let (lat2, lon2) = from_world(x, y);
            assert!((lat - lat2).abs() < 1e-9 && (lon - lon2).abs() < 1e-9);
        }
        assert_eq!(to_world(0.0, 0.0), (0.5, 0.5));
    }

    #[test]
    fn projection_round_trip_through_pixels() {
        let mut bounds = WorldBox::EMPTY;
        bounds.add(31.18, 121.42);
        bounds.add(31.20, 121.46);
        let p = Projection::fit(Datum::Gcj02, bounds, 960.0, 640.0, 16.0);
        // The centre of the box is the centre of the drawing, and comes back.
        let (lat, lon) = from_world(
            (bounds.min_x + bounds.max_x) / 2.0,
            (bounds.min_y + bounds.max_y) / 2.0,
        );
        let (x, y) = p.to_pixel(lat, lon);
        assert!(
            (x - 480.0).abs() < 1e-6 && (y - 320.0).abs() < 1e-6,
            "{x} {y}"
        );
        let (lat2, lon2) = p.to_position(x, y);
        assert!((lat - lat2).abs() < 1e-9 && (lon - lon2).abs() < 1e-9);
        let (lat2, lon2) = p.to_position(123.4, 567.8);
        let (x2, y2) = p.to_pixel(lat2, lon2);
        assert!((x2 - 123.4).abs() < 1e-6 && (y2 - 567.8).abs() < 1e-6);
        // The box fits inside the padding, touching it on one axis.
        let (left, top) = p.to_pixel(31.20, 121.42);
        let (right, bottom) = p.to_pixel(31.18, 121.46);
        assert!(left >= 15.999 && right <= 944.001 && top >= 15.999 && bottom <= 624.001);
        assert!((left - 16.0).abs() < 1e-6 || (top - 16.0).abs() < 1e-6);
    }

    #[test]
    fn degenerate_boxes_give_finite_projections() {
        let p = Projection::fit(Datum::Wgs84, WorldBox::EMPTY, 400.0, 300.0, 10.0);
        // The whole world, fitted to the smaller side.
        assert_eq!(p.scale, 280.0);
        let mut one = WorldBox::EMPTY;
        one.add(31.19, 121.44);
        let p = Projection::fit(Datum::Wgs84, one, 400.0, 300.0, 10.0);
        assert_eq!(p.scale, MAX_SCALE);
        let (x, y) = p.to_pixel(31.19, 121.44);
        assert!((x - 200.0).abs() < 1e-6 && (y - 150.0).abs() < 1e-6);
    }

    #[test]
    fn tile_of_a_known_point() {
        // The slippy-map formula's worked values (OpenStreetMap wiki): zoom 0 is one tile,
        // zoom 1 splits at the equator and the prime meridian.
        assert_eq!(tile_at(31.19, 121.44, 0), (0, 0));
        assert_eq!(tile_at(31.19, 121.44, 1), (1, 0));
        assert_eq!(tile_at(-10.0, -10.0, 1), (0, 1));
        // Xujiahui, Shanghai (31.19°N 121.44°E), computed independently:
        // x = floor((lon + 180) / 360 * 2^z), y = floor((1 - asinh(tan(lat)) / pi) / 2 * 2^z).
        assert_eq!(tile_at(31.19, 121.44, 10), (857, 418));
        assert_eq!(tile_at(31.19, 121.44, 17), (109_750, 53_573));
    }

    #[test]
    fn tiles_cover_the_drawing_at_the_nearest_zoom() {
        let mut bounds = WorldBox::EMPTY;
        bounds.add(31.180, 121.427);
        bounds.add(31.200, 121.454);
        let p = Projection::fit(Datum::Gcj02, bounds, 960.0, 640.0, 16.0);
        let z = p.tile_zoom();
        assert_eq!(z, 15);
        let tiles = p.tiles(960.0, 640.0);
        assert!(!tiles.is_empty() && tiles.len() <= MAX_TILES);
        assert!(tiles.iter().all(|t| t.z == z));
        let size = tiles[0].size;
        assert!((size - p.scale / f64::from(1u32 << z)).abs() < 1e-9);
        // The first tile starts at or before the top-left corner; the last ends at or past
        // the bottom-right one.
        let (first, last) = (tiles[0], tiles[tiles.len() - 1]);
        assert!(first.left <= 0.0 && first.top <= 0.0);
        assert!(last.left + size >= 960.0 && last.top + size >= 640.0);
        // The tile under the centre is the tile of the centre's position.
        let (lat, lon) = p.to_position(480.0, 320.0);
        let (tx, ty) = tile_at(lat, lon, z);
        let under = tiles
            .iter()
            .find(|t| {
                t.left <= 480.0 && 480.0 < t.left + size && t.top <= 320.0 && 320.0 < t.top + size
            })
            .map(|t| (t.x, t.y));
        assert_eq!(under, Some((tx, ty)));
    }

    #[test]
    fn too_many_tiles_fall_back_to_a_coarser_zoom() {
        let mut bounds = WorldBox::EMPTY;
        bounds.add(31.0, 121.0);
        bounds.add(32.0, 122.0);
        let p = Projection::fit(Datum::Wgs84, bounds, 8000.0, 8000.0, 0.0);
        let tiles = p.tiles(8000.0, 8000.0);
        assert!(tiles.len() <= MAX_TILES);
        assert!(tiles[0].z < p.tile_zoom());
    }
}
