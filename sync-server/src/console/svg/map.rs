//! The street's grid and its cases as one `<svg>`: the map of the console.
//!
//! The grid itself is the map: blocks with a thick outline, workstations a medium one, unit
//! cells a thin one, blocks and workstations labelled, and the cases as markers coloured by
//! status with a red ring when late, each a link to its case page. It needs no internet. A
//! base tile layer can be laid under it ([`TileLayer`]) when the server is configured with
//! one.
//!
//! # Datums
//!
//! Three datums may meet on one map: the grid dataset's own (GCJ-02 for the demo street,
//! traced on a Chinese web map), the cases' positions (WGS-84, what phones report), and the
//! tiles' (GCJ-02 for AMap or Tencent, WGS-84 for OpenStreetMap). Everything is drawn in one
//! *display datum*: the tiles' when there are tiles, so the overlay lines up with them, and
//! the grid's otherwise, so its thousands of vertices are drawn as stored and only the
//! markers are converted. A grid vertex in another datum goes through WGS-84 with the core's
//! conversion ([`Datum::to_wgs84`], [`Datum::from_wgs84`]); a marker is converted from
//! WGS-84. The display datum and the projection are written on the `<svg>`, and a position
//! picked on the map comes back to WGS-84 through [`position_from_map`].
//!
//! # Cost
//!
//! The page hands over at most a few thousand markers (the server filters and caps them).
//! Markers are borrowed ([`Marker`] holds `&str`s of the page's rows) and written straight
//! into the page's buffer by maud, with no string of their own; the grid costs one path
//! string per cell.

use geo::{InteriorPoint, LineString};
use maud::{Markup, html};
use wangge_core::CaseStatus;
use wangge_core::grid::{Datum, GridCell, GridIndex, GridLevel};

use super::Px;
use super::projection::{Projection, WorldBox};

/// Pixels left free around the fitted grid.
const PADDING: f64 = 16.0;
/// Radius of a marker.
const MARKER_R: f64 = 6.0;
/// Radius of a late marker (its red ring makes it wider).
const LATE_MARKER_R: f64 = 7.0;
/// The red of lateness: the ring of a late marker.
pub const LATE_COLOUR: &str = "#dc2626";
/// A workstation label is left out when the workstation is narrower than this many pixels
/// on the drawing: at the whole street's scale they would pile on each other.
const MIN_LABELLED_WIDTH: f64 = 48.0;

/// A base map of slippy-map tiles laid under the grid.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TileLayer {
    /// The tiles' URL, with `{z}`, `{x}` and `{y}` in it:
    /// `https://tile.openstreetmap.org/{z}/{x}/{y}.png`.
    pub url_template: String,
    /// The datum the tiles are drawn in: GCJ-02 for Chinese providers (AMap, Tencent),
    /// WGS-84 for OpenStreetMap and most others.
    pub datum: Datum,
    /// The credit the provider asks for, shown in the map's corner.
    pub attribution: String,
}

impl TileLayer {
    /// The tile layer of the server's configuration: `url_template` (`WANGGE_MAP_TILES`),
    /// `datum` (`WANGGE_MAP_TILES_DATUM`: `wgs84` or `gcj02`) and `attribution`
    /// (`WANGGE_MAP_TILES_ATTRIBUTION`). No template: no tiles. The error says what to fix.
    ///
    /// Why the datum has no default: tiles in the other datum put every case and outline a
    /// few hundred metres off in Shanghai, plausibly enough that nobody notices; so the
    /// operator says which one the provider uses (as the grid dataset must).
    pub fn configured(
        url_template: Option<&str>,
        datum: Option<&str>,
        attribution: Option<&str>,
    ) -> Result<Option<TileLayer>, String> {
        let datum = match datum.map(str::trim).filter(|d| !d.is_empty()) {
            Some(name) => Some(parse_datum(name).ok_or_else(|| {
                format!("map tiles datum '{name}': write wgs84 (OpenStreetMap and most providers) or gcj02 (AMap, Tencent)")
            })?),
            None => None,
        };
        let Some(url) = url_template.map(str::trim).filter(|u| !u.is_empty()) else {
            return Ok(None);
        };
        if !(url.starts_with("https://") || url.starts_with("http://") || url.starts_with('/')) {
            return Err(format!("map tiles '{url}': give an http(s) URL template"));
        }
        if ["{z}", "{x}", "{y}"].iter().any(|p| !url.contains(p)) {
            return Err(format!(
                "map tiles '{url}': the template needs {{z}}, {{x}} and {{y}}, e.g. https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png"
            ));
        }
        let Some(datum) = datum else {
            return Err(
                "map tiles: say which datum the tiles are drawn in with WANGGE_MAP_TILES_DATUM (or --map-tiles-datum): wgs84 or gcj02".into(),
            );
        };
        Ok(Some(TileLayer {
            url_template: url.to_owned(),
            datum,
            attribution: attribution.unwrap_or_default().trim().to_owned(),
        }))
    }

    /// The URL of one tile.
    pub fn tile_url(&self, z: u8, x: u32, y: u32) -> String {
        self.url_template
            .replace("{z}", &z.to_string())
            .replace("{x}", &x.to_string())
            .replace("{y}", &y.to_string())
    }
}

/// A rectangle of positions in WGS-84 degrees: what a map shows instead of the whole grid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bbox {
    /// Southmost latitude.
    pub south: f64,
    /// Westmost longitude.
    pub west: f64,
    /// Northmost latitude.
    pub north: f64,
    /// Eastmost longitude.
    pub east: f64,
}

/// Which parts of the grid to draw.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GridLayers<'a> {
    /// Block outlines.
    pub blocks: bool,
    /// Workstation outlines.
    pub workstations: bool,
    /// Unit cell outlines.
    pub units: bool,
    /// Block and workstation names.
    pub labels: bool,
    /// Only this block and the cells inside it; the map fits it when no viewport is given.
    /// An id that names no block draws the whole grid.
    pub only_block: Option<&'a str>,
}

impl Default for GridLayers<'_> {
    fn default() -> Self {
        GridLayers {
            blocks: true,
            workstations: true,
            units: true,
            labels: true,
            only_block: None,
        }
    }
}

/// One case on the map, borrowed from the page's rows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Marker<'a> {
    /// The case's id: the marker links to `/console/cases/{id}` (ids are URL-safe).
    pub case_id: &'a str,
    /// Its official number, or a short id before registration.
    pub label: &'a str,
    /// Its status, which gives the marker's colour.
    pub status: CaseStatus,
    /// Open and late in any respect: a red ring.
    pub late: bool,
    /// WGS-84 latitude.
    pub lat: f64,
    /// WGS-84 longitude.
    pub lon: f64,
    /// What the marker's tooltip says after the label (category, description...).
    pub title: &'a str,
}

/// How to draw a map.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MapOptions<'a> {
    /// The `<svg>`'s `id`.
    pub dom_id: &'a str,
    /// What the map is, for screen readers (`aria-label`).
    pub label: &'a str,
    /// Width in pixels (the drawing's units; CSS may scale it).
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The rectangle to show; `None` fits the drawn grid.
    pub viewport: Option<Bbox>,
    /// What of the grid to draw.
    pub layers: GridLayers<'a>,
    /// A base map under the grid.
    pub tiles: Option<&'a TileLayer>,
    /// The id of a form whose `lat`, `lon` (and `datum`, if it has one) fields a click on
    /// the map fills, through the console's script (`data-pick-form`); `None`: not pickable.
    pub pick_form: Option<&'a str>,
}

impl<'a> MapOptions<'a> {
    /// A 960 x 640 map of the whole grid, without tiles, not pickable.
    pub fn new(dom_id: &'a str, label: &'a str) -> Self {
        MapOptions {
            dom_id,
            label,
            width: 960,
            height: 640,
            viewport: None,
            layers: GridLayers::default(),
            tiles: None,
            pick_form: None,
        }
    }
}

/// The fill colour of a marker of this status.
///
/// Why these: the centre's eye goes to what waits on it (to register: purple; registered,
/// to dispatch: blue), what is out with a unit (cyan, amber once someone is on it), what is
/// done and waits for a check (green), and what is finished (greys).
pub fn status_colour(status: CaseStatus) -> &'static str {
    match status {
        CaseStatus::Reported => "#7c3aed",
        CaseStatus::Registered => "#2563eb",
        CaseStatus::Dispatched => "#0891b2",
        CaseStatus::InProgress => "#d97706",
        CaseStatus::Handled => "#16a34a",
        CaseStatus::Verified => "#15803d",
        CaseStatus::Closed => "#6b7280",
        CaseStatus::Rejected => "#9ca3af",
        CaseStatus::Merged => "#d1d5db",
    }
}

/// A position picked on a map drawn in `datum`, in WGS-84: what the server stores. `None`
/// when it is not a position (out of range, not a number).
///
/// The console's script reads the picked position off the `<svg>`'s projection in the map's
/// datum (`data-datum`); a GCJ-02 position is converted back with the core's inverse.
pub fn position_from_map(datum: Datum, lat: f64, lon: f64) -> Option<(f64, f64)> {
    let valid =
        |lat: f64, lon: f64| (-90.0..=90.0).contains(&lat) && (-180.0..=180.0).contains(&lon);
    if !valid(lat, lon) {
        return None;
    }
    let (lat, lon) = datum.to_wgs84(lat, lon);
    valid(lat, lon).then_some((lat, lon))
}

/// A datum as the configuration and the map's `data-datum` write it: `wgs84` or `gcj02`
/// (the grid dataset's `WGS-84` and `GCJ-02` are accepted too, in any case).
pub fn parse_datum(name: &str) -> Option<Datum> {
    match name.trim().to_ascii_lowercase().as_str() {
        "wgs84" | "wgs-84" => Some(Datum::Wgs84),
        "gcj02" | "gcj-02" => Some(Datum::Gcj02),
        _ => None,
    }
}

/// The name [`parse_datum`] reads: `wgs84` or `gcj02`.
pub fn datum_name(datum: Datum) -> &'static str {
    match datum {
        Datum::Wgs84 => "wgs84",
        Datum::Gcj02 => "gcj02",
    }
}

/// From the grid's and the markers' datums to the display datum.
#[derive(Debug, Clone, Copy)]
struct Datums {
    grid: Datum,
    display: Datum,
}

impl Datums {
    /// A grid vertex `(lat, lon)` in the display datum.
    fn grid(self, lat: f64, lon: f64) -> (f64, f64) {
        if self.grid == self.display {
            (lat, lon)
        } else {
            let (lat, lon) = self.grid.to_wgs84(lat, lon);
            self.display.from_wgs84(lat, lon)
        }
    }

    /// A WGS-84 position in the display datum.
    fn wgs84(self, lat: f64, lon: f64) -> (f64, f64) {
        self.display.from_wgs84(lat, lon)
    }
}

/// The datum and projection a map is drawn with, and the cells it draws.
struct Layout<'g> {
    datums: Datums,
    projection: Projection,
    /// The cells in scope (the chosen block's, or all), in dataset order.
    cells: Vec<&'g GridCell>,
}

impl<'g> Layout<'g> {
    fn new(grid: &'g GridIndex, options: &MapOptions<'_>) -> Self {
        let datums = Datums {
            grid: grid.datum(),
            display: options.tiles.map_or(grid.datum(), |t| t.datum),
        };
        let in_block = |cell: &GridCell, block: &str| {
            grid.path(cell.id()).is_some_and(|path| path.block == block)
        };
        let mut cells: Vec<&GridCell> = match options.layers.only_block {
            Some(block) => grid.cells().filter(|c| in_block(c, block)).collect(),
            None => Vec::new(),
        };
        if cells.is_empty() {
            cells = grid.cells().collect();
        }
        let mut bounds = WorldBox::EMPTY;
        match options.viewport {
            Some(b) => {
                for (lat, lon) in [(b.south, b.west), (b.north, b.east)] {
                    let (lat, lon) = datums.wgs84(lat, lon);
                    bounds.add(lat, lon);
                }
            }
            None => {
                // The corners of each cell's bounding rectangle: the datum shift is smooth
                // over a street, so they bound the converted outline to within a pixel.
                for cell in &cells {
                    let r = cell.bounds();
                    for (lon, lat) in [(r.min().x, r.min().y), (r.max().x, r.max().y)] {
                        let (lat, lon) = datums.grid(lat, lon);
                        bounds.add(lat, lon);
                    }
                }
            }
        }
        let projection = Projection::fit(
            datums.display,
            bounds,
            f64::from(options.width),
            f64::from(options.height),
            PADDING,
        );
        Layout {
            datums,
            projection,
            cells,
        }
    }

    /// The pixel of a grid vertex.
    fn grid_pixel(&self, lat: f64, lon: f64) -> (f64, f64) {
        let (lat, lon) = self.datums.grid(lat, lon);
        self.projection.to_pixel(lat, lon)
    }

    /// The SVG path of a cell's outline (every ring; holes cut by `fill-rule=evenodd`).
    fn path(&self, cell: &GridCell) -> String {
        let polygons = &cell.geometry().0;
        let points: usize = polygons
            .iter()
            .map(|p| p.exterior().0.len() + p.interiors().iter().map(|r| r.0.len()).sum::<usize>())
            .sum();
        let mut d = String::with_capacity(points * 14);
        for polygon in polygons {
            self.push_ring(&mut d, polygon.exterior());
            for ring in polygon.interiors() {
                self.push_ring(&mut d, ring);
            }
        }
        d
    }

    fn push_ring(&self, d: &mut String, ring: &LineString<f64>) {
        let coords = &ring.0;
        // A closed ring repeats its first point last; `Z` closes it instead.
        let open = match (coords.first(), coords.last()) {
            (Some(first), Some(last)) if coords.len() > 1 && first == last => {
                &coords[..coords.len() - 1]
            }
            _ => &coords[..],
        };
        for (i, c) in open.iter().enumerate() {
            let (x, y) = self.grid_pixel(c.y, c.x);
            d.push(if i == 0 { 'M' } else { 'L' });
            super::push_px(d, x);
            d.push(' ');
            super::push_px(d, y);
        }
        if !open.is_empty() {
            d.push('Z');
        }
    }

    /// Where a cell's name goes, and whether it fits: a point inside the outline, and the
    /// outline's width on the drawing.
    fn label_place(&self, cell: &GridCell) -> Option<(f64, f64, f64)> {
        let point = cell.geometry().interior_point()?;
        let (x, y) = self.grid_pixel(point.y(), point.x());
        let r = cell.bounds();
        let (west, _) = self.grid_pixel(r.min().y, r.min().x);
        let (east, _) = self.grid_pixel(r.min().y, r.max().x);
        Some((x, y, east - west))
    }

    /// The pixel of a marker, when it is a position inside the drawing (with a margin of
    /// its radius).
    fn marker_pixel(&self, marker: &Marker<'_>, width: f64, height: f64) -> Option<(f64, f64)> {
        if !(-90.0..=90.0).contains(&marker.lat) || !(-180.0..=180.0).contains(&marker.lon) {
            return None;
        }
        let (lat, lon) = self.datums.wgs84(marker.lat, marker.lon);
        let (x, y) = self.projection.to_pixel(lat, lon);
        let margin = LATE_MARKER_R;
        ((-margin..=width + margin).contains(&x) && (-margin..=height + margin).contains(&y))
            .then_some((x, y))
    }
}

/// A cell's short name for its label and pickers: the name up to a parenthesis, so
/// `斜土第一网格块区（大木桥路以西、斜土路以北）` is labelled `斜土第一网格块区` (the whole
/// name is in the outline's tooltip).
pub fn short_name(name: &str) -> &str {
    match name.find(['（', '(']) {
        Some(0) | None => name,
        Some(i) => name[..i].trim_end(),
    }
}

/// Draws the grid and the markers as one `<svg>`.
///
/// The `<svg>` carries `id` = [`MapOptions::dom_id`], `class="map grid-map"`, and the
/// projection for the console's script (`assets/console.js`): `data-datum` (`wgs84` or
/// `gcj02`, [`parse_datum`]), `data-scale` (the world's width in pixels), `data-origin-x`
/// and `data-origin-y` (the top-left corner's offset from the world's, in pixels at that
/// scale), `data-width` and `data-height`, and `data-pick-form` when pickable. A pixel
/// `(px, py)` of the drawing is the world point `x = (px + origin_x) / scale`,
/// `y = (py + origin_y) / scale` (both in `0..1`), whose position is
/// `lon = x * 360 - 180`, `lat = atan(sinh(pi * (1 - 2y)))`, in the map's datum.
///
/// Each cell's outline is a `<path data-cell-id=… data-level=…>` with its name as
/// `<title>`; each marker an `<a class="marker" href="/console/cases/{id}"
/// data-case-id=… data-status=…>` (class `late` too when late) holding a `<circle>` and a
/// `<title>`. Late markers are drawn after the others, so none hides under an on-time one.
pub fn render_map(grid: &GridIndex, markers: &[Marker<'_>], options: &MapOptions<'_>) -> Markup {
    let layout = Layout::new(grid, options);
    let (width, height) = (f64::from(options.width), f64::from(options.height));
    let p = layout.projection;
    let layers = options.layers;
    let level = |level: GridLevel| {
        layout
            .cells
            .iter()
            .copied()
            .filter(move |c| c.level() == level)
    };
    let placed = |late: bool| {
        markers
            .iter()
            .filter(move |m| m.late == late)
            .filter_map(|m| {
                layout
                    .marker_pixel(m, width, height)
                    .map(|(x, y)| (m, x, y))
            })
    };
    html! {
        svg xmlns="http://www.w3.org/2000/svg" id=(options.dom_id) class="map grid-map"
            viewBox={ "0 0 " (options.width) " " (options.height) }
            width=(options.width) height=(options.height)
            role="img" aria-label=(options.label)
            data-datum=(datum_name(p.datum)) data-origin-x=(p.origin_x * p.scale)
            data-origin-y=(p.origin_y * p.scale) data-scale=(p.scale)
            data-width=(options.width) data-height=(options.height)
            data-pick-form=[options.pick_form] {
            @if let Some(tiles) = options.tiles {
                g class="tiles" {
                    @for t in p.tiles(width, height) {
                        image href=(tiles.tile_url(t.z, t.x, t.y)) x=(Px(t.left)) y=(Px(t.top))
                            width=(Px(t.size + 0.5)) height=(Px(t.size + 0.5))
                            preserveAspectRatio="none" {}
                    }
                }
            } @else {
                rect class="background" width="100%" height="100%" fill="#f8fafc" {}
            }
            @if layers.units {
                g class="units" fill="transparent" stroke="#94a3b8" stroke-width="0.75" fill-rule="evenodd" {
                    @for cell in level(GridLevel::Unit) {
                        path d=(layout.path(cell)) data-cell-id=(cell.id()) data-level="unit" {
                            title { (cell.name()) }
                        }
                    }
                }
            }
            @if layers.workstations {
                g class="workstations" fill="none" stroke="#475569" stroke-width="1.5" fill-rule="evenodd" {
                    @for cell in level(GridLevel::Workstation) {
                        path d=(layout.path(cell)) data-cell-id=(cell.id()) data-level="workstation" {
                            title { (cell.name()) }
                        }
                    }
                }
            }
            @if layers.blocks {
                g class="blocks" fill="none" stroke="#1e293b" stroke-width="3" fill-rule="evenodd" {
                    @for cell in level(GridLevel::Block) {
                        path d=(layout.path(cell)) data-cell-id=(cell.id()) data-level="block" {
                            title { (cell.name()) }
                        }
                    }
                }
            }
            @if layers.labels {
                g class="labels" text-anchor="middle" fill="#0f172a" stroke="#ffffff"
                    stroke-width="3" paint-order="stroke" pointer-events="none" {
                    @if layers.workstations {
                        @for cell in level(GridLevel::Workstation) {
                            @if let Some((x, y, w)) = layout.label_place(cell) {
                                @if w >= MIN_LABELLED_WIDTH {
                                    text x=(Px(x)) y=(Px(y + 4.0)) font-size="11" data-cell-id=(cell.id()) {
                                        (short_name(cell.name()))
                                    }
                                }
                            }
                        }
                    }
                    @if layers.blocks {
                        @for cell in level(GridLevel::Block) {
                            @if let Some((x, y, _)) = layout.label_place(cell) {
                                text x=(Px(x)) y=(Px(y - 10.0)) font-size="15" font-weight="bold" data-cell-id=(cell.id()) {
                                    (short_name(cell.name()))
                                }
                            }
                        }
                    }
                }
            }
            g class="markers" stroke="#ffffff" stroke-width="1.5" {
                @for (m, x, y) in placed(false) {
                    a class="marker" href={ "/console/cases/" (m.case_id) } data-case-id=(m.case_id)
                        data-status=(m.status.as_str()) {
                        circle cx=(Px(x)) cy=(Px(y)) r=(MARKER_R) fill=(status_colour(m.status)) {}
                        title { (m.label) " " (m.title) }
                    }
                }
                @for (m, x, y) in placed(true) {
                    a class="marker late" href={ "/console/cases/" (m.case_id) } data-case-id=(m.case_id)
                        data-status=(m.status.as_str()) data-late {
                        circle cx=(Px(x)) cy=(Px(y)) r=(LATE_MARKER_R) fill=(status_colour(m.status))
                            stroke=(LATE_COLOUR) stroke-width="3" {}
                        title { (m.label) " " (m.title) }
                    }
                }
            }
            @if let Some(tiles) = options.tiles {
                text class="attribution" x=(Px(width - 4.0)) y=(Px(height - 4.0)) text-anchor="end"
                    font-size="10" fill="#334155" stroke="#ffffff" stroke-width="3" paint-order="stroke" {
                    (tiles.attribution)
                }
            }
        }
    }
}

/// Half the side of a case's map, in degrees of latitude (about 330 m): enough of the
/// street around the case to recognise where it is.
const CASE_MAP_HALF_SPAN: f64 = 0.003;

/// A map to pick a position on: the whole grid, 720 x 480, whose clicks fill the `lat`,
/// `lon` and `datum` fields of the form `form_id` (the intake desk), through the console's
/// script. The picked position is in the map's datum (`data-datum`, which the script
/// copies into the form's `datum`); the server converts it back to WGS-84
/// ([`position_from_map`]).
pub fn pick_map(
    grid: &GridIndex,
    tiles: Option<&TileLayer>,
    dom_id: &str,
    form_id: &str,
    label: &str,
) -> Markup {
    let options = MapOptions {
        width: 720,
        height: 480,
        tiles,
        pick_form: Some(form_id),
        ..MapOptions::new(dom_id, label)
    };
    render_map(grid, &[], &options)
}

/// A small map of one case (the case page): 480 x 320, centred on its position, with the
/// grid around it and its marker.
pub fn case_map(
    grid: &GridIndex,
    tiles: Option<&TileLayer>,
    dom_id: &str,
    marker: &Marker<'_>,
    label: &str,
) -> Markup {
    let half_lon = CASE_MAP_HALF_SPAN * 1.5 / marker.lat.to_radians().cos().max(0.1);
    let options = MapOptions {
        width: 480,
        height: 320,
        viewport: Some(Bbox {
            south: marker.lat - CASE_MAP_HALF_SPAN,
            west: marker.lon - half_lon,
            north: marker.lat + CASE_MAP_HALF_SPAN,
            east: marker.lon + half_lon,
        }),
        tiles,
        ..MapOptions::new(dom_id, label)
    };
    render_map(grid, std::slice::from_ref(marker), &options)
}

/// The legend of the markers: one swatch per status given, and the late ring.
///
/// The texts come from the caller (the console's labels), so this module holds no words.
/// Renders `<ul class="map-legend">` with `<li data-status=…>` items and a
/// `<li data-late>` one.
pub fn legend(statuses: &[(CaseStatus, &str)], late_label: &str) -> Markup {
    html! {
        // Inline style: the legend is one line under the map wherever it is placed.
        ul class="map-legend" style="list-style:none;display:flex;flex-wrap:wrap;gap:.4rem 1.2rem;padding:0" {
            @for (status, text) in statuses {
                li data-status=(status.as_str()) {
                    svg width="16" height="16" viewBox="0 0 16 16" aria-hidden="true" {
                        circle cx="8" cy="8" r=(MARKER_R) fill=(status_colour(*status))
                            stroke="#ffffff" stroke-width="1.5" {}
                    }
                    " " (text)
                }
            }
            li data-late {
                svg width="18" height="18" viewBox="0 0 18 18" aria-hidden="true" {
                    circle cx="9" cy="9" r=(LATE_MARKER_R) fill="#ffffff" stroke=(LATE_COLOUR) stroke-width="3" {}
                }
                " " (late_label)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::console::svg::projection::tile_at;

    /// A one-block, one-workstation, one-unit grid in `datum`, a 0.01° square in Shanghai.
    fn tiny_grid(datum: &str, block_name: &str) -> GridIndex {
        let square = |x0: f64, y0: f64, d: f64| {
            serde_json::json!({"type": "Polygon", "coordinates": [[
                [x0, y0], [x0 + d, y0], [x0 + d, y0 + d], [x0, y0 + d], [x0, y0]
            ]]})
        };
        let feature = |id: &str, name: &str, level: &str, parent: Option<&str>, geometry| {
            let mut properties = serde_json::json!({"id": id, "name": name, "level": level});
            if let Some(parent) = parent {
                properties["parent"] = serde_json::json!(parent);
            }
            serde_json::json!({"type": "Feature", "properties": properties, "geometry": geometry})
        };
        let collection = serde_json::json!({
            "type": "FeatureCollection",
            "datum": datum,
            "features": [
                feature("B", block_name, "block", None, square(121.44, 31.19, 0.01)),
                feature("W", "一号站", "workstation", Some("B"), square(121.44, 31.19, 0.01)),
                feature("U", "一号站一单元", "unit", Some("W"), square(121.44, 31.19, 0.01)),
            ]
        });
        match GridIndex::from_geojson(&collection.to_string()) {
            Ok(grid) => grid,
            Err(e) => panic!("test grid: {e}"),
        }
    }

    fn marker<'a>(id: &'a str, lat: f64, lon: f64, late: bool) -> Marker<'a> {
        Marker {
            case_id: id,
            label: "XT-2026-000001",
            status: CaseStatus::Dispatched,
            late,
            lat,
            lon,
            title: "暴露垃圾",
        }
    }

    /// The number after `name="` in `svg`.
    fn attribute(svg: &str, name: &str) -> f64 {
        let start = svg.find(&format!("{name}=\"")).map(|i| i + name.len() + 2);
        let value = start.and_then(|s| svg[s..].split('"').next());
        match value.and_then(|v| v.parse().ok()) {
            Some(v) => v,
            None => panic!("no numeric {name} in {svg}"),
        }
    }

    /// The `(cx, cy)` of the first circle of the marker of `id`.
    fn marker_centre(svg: &str, id: &str) -> (f64, f64) {
        let at = svg
            .find(&format!("data-case-id=\"{id}\""))
            .unwrap_or_else(|| panic!("no marker {id}"));
        let rest = &svg[at..];
        (attribute(rest, "cx"), attribute(rest, "cy"))
    }

    fn projection_of(svg: &str) -> Projection {
        let datum = svg
            .split("data-datum=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .and_then(parse_datum);
        // What the console's script does with the attributes.
        let scale = attribute(svg, "data-scale");
        Projection {
            datum: datum.unwrap_or_else(|| panic!("no datum in {svg}")),
            origin_x: attribute(svg, "data-origin-x") / scale,
            origin_y: attribute(svg, "data-origin-y") / scale,
            scale,
        }
    }

    fn osm(datum: Datum) -> TileLayer {
        TileLayer {
            url_template: "https://tiles.example/{z}/{x}/{y}.png".into(),
            datum,
            attribution: "© Example".into(),
        }
    }

    #[test]
    fn the_svg_states_its_projection_and_a_click_comes_back_to_the_position() {
        let grid = tiny_grid("WGS-84", "小街块区");
        let options = MapOptions::new("grid-map", "网格地图");
        let svg = render_map(&grid, &[], &options).into_string();
        let p = projection_of(&svg);
        assert_eq!(p.datum, Datum::Wgs84);
        // The page's script does this arithmetic on a click: the pixel of a position comes
        // back to the position.
        let (x, y) = p.to_pixel(31.195, 121.445);
        assert!(
            (x - 480.0).abs() < 0.01 && (y - 320.0).abs() < 0.01,
            "{x} {y}"
        );
        let (lat, lon) = p.to_position(x, y);
        assert!((lat - 31.195).abs() < 1e-9 && (lon - 121.445).abs() < 1e-9);
        assert!(svg.contains("viewBox=\"0 0 960 640\""));
        assert!(!svg.contains("data-pick"));
        let pickable = MapOptions {
            pick_form: Some("intake"),
            ..options
        };
        let svg = render_map(&grid, &[], &pickable).into_string();
        assert!(svg.contains("data-pick-form=\"intake\""));
        assert!(svg.contains("data-datum=\"wgs84\""));
    }

    #[test]
    fn markers_link_to_their_case_and_late_ones_are_ringed_red() {
        let grid = tiny_grid("WGS-84", "小街块区");
        let markers = [
            marker("c-on-time", 31.192, 121.442, false),
            marker("c-late", 31.198, 121.448, true),
            marker("c-far-away", 39.9, 116.4, false),
            marker("c-not-a-place", f64::NAN, 121.44, false),
        ];
        let svg = render_map(&grid, &markers, &MapOptions::new("m", "地图")).into_string();
        assert!(svg.contains(
            "<a class=\"marker\" href=\"/console/cases/c-on-time\" data-case-id=\"c-on-time\" data-status=\"dispatched\">"
        ));
        assert!(svg.contains(
            "<a class=\"marker late\" href=\"/console/cases/c-late\" data-case-id=\"c-late\" data-status=\"dispatched\" data-late>"
        ));
        assert!(svg.contains(&format!("stroke=\"{LATE_COLOUR}\"")));
        assert!(svg.contains("<title>XT-2026-000001 暴露垃圾</title>"));
        // Outside the view or not a position: not drawn.
        assert!(!svg.contains("c-far-away") && !svg.contains("c-not-a-place"));
        // Late markers come after the on-time ones, so they are drawn on top.
        assert!(svg.find("c-on-time") < svg.find("c-late"));
        crate::console::svg::assert_closed(&svg);
    }

    #[test]
    fn the_grid_is_drawn_in_three_weights_with_labels() {
        let grid = tiny_grid("WGS-84", "斜土第一网格块区（大木桥路以西）");
        let svg = render_map(&grid, &[], &MapOptions::new("m", "地图")).into_string();
        for (level, width) in [("unit", "0.75"), ("workstation", "1.5"), ("block", "3")] {
            assert!(svg.contains(&format!("data-level=\"{level}\"")), "{level}");
            assert!(
                svg.contains(&format!("stroke-width=\"{width}\"")),
                "{width}"
            );
        }
        assert!(svg.contains(">斜土第一网格块区</text>"));
        assert!(svg.contains("<title>斜土第一网格块区（大木桥路以西）</title>"));
        assert!(svg.contains(">一号站</text>"));
        assert!(svg.contains("data-cell-id=\"U\""));
        // Without tiles there is a plain background and no image.
        assert!(svg.contains("class=\"background\"") && !svg.contains("<image"));
        crate::console::svg::assert_closed(&svg);
        let only_outlines = MapOptions {
            layers: GridLayers {
                labels: false,
                units: false,
                ..GridLayers::default()
            },
            ..MapOptions::new("m", "地图")
        };
        let svg = render_map(&grid, &[], &only_outlines).into_string();
        assert!(!svg.contains("<text") && !svg.contains("data-level=\"unit\""));
    }

    #[test]
    fn gcj02_shift_is_applied_only_when_the_tiles_datum_says_so() {
        let grid = tiny_grid("WGS-84", "小街块区");
        let markers = [marker("c1", 31.195, 121.445, false)];
        let viewport = Some(Bbox {
            south: 31.185,
            west: 121.435,
            north: 31.205,
            east: 121.455,
        });
        let render = |tiles: Option<&TileLayer>| {
            let options = MapOptions {
                viewport,
                tiles,
                ..MapOptions::new("m", "地图")
            };
            render_map(&grid, &markers, &options).into_string()
        };
        let plain = render(None);
        let wgs_tiles = osm(Datum::Wgs84);
        let gcj_tiles = osm(Datum::Gcj02);
        let over_wgs = render(Some(&wgs_tiles));
        let over_gcj = render(Some(&gcj_tiles));

        // No tiles, or WGS-84 tiles: drawn in the grid's WGS-84, nothing converted.
        for svg in [&plain, &over_wgs] {
            let p = projection_of(svg);
            assert_eq!(p.datum, Datum::Wgs84);
            let (x, y) = marker_centre(svg, "c1");
            let (ex, ey) = p.to_pixel(31.195, 121.445);
            assert!((x - ex).abs() <= 0.05 && (y - ey).abs() <= 0.05);
        }
        // GCJ-02 tiles: the marker is where its GCJ-02 position is on the tiles.
        let p = projection_of(&over_gcj);
        assert_eq!(p.datum, Datum::Gcj02);
        let (x, y) = marker_centre(&over_gcj, "c1");
        let (glat, glon) = wangge_core::grid::wgs84_to_gcj02(31.195, 121.445);
        let (ex, ey) = p.to_pixel(glat, glon);
        assert!(
            (x - ex).abs() <= 0.05 && (y - ey).abs() <= 0.05,
            "{x},{y} vs {ex},{ey}"
        );
        let (rx, ry) = p.to_pixel(31.195, 121.445);
        assert!(
            (x - rx).abs() > 5.0 || (y - ry).abs() > 5.0,
            "the shift shows"
        );
        // The grid moved with it: the block's path differs.
        let block_path = |svg: &str| {
            let at = svg.find("data-level=\"block\"").unwrap_or(0);
            let start = svg[..at].rfind("<path").unwrap_or(0);
            svg[start..at].to_owned()
        };
        assert_ne!(block_path(&over_wgs), block_path(&over_gcj));
        // And a click on the marker comes back to the case's WGS-84 position.
        let (lat, lon) = p.to_position(x, y);
        let back = position_from_map(p.datum, lat, lon);
        let (blat, blon) = back.unwrap_or_default();
        assert!(
            (blat - 31.195).abs() < 2e-6 && (blon - 121.445).abs() < 2e-6,
            "{back:?}"
        );
    }

    #[test]
    fn a_gcj02_grid_without_tiles_is_drawn_as_stored_and_markers_converted() {
        let grid = tiny_grid("GCJ-02", "小街块区");
        let markers = [marker("c1", 31.195, 121.445, false)];
        let svg = render_map(&grid, &markers, &MapOptions::new("m", "地图")).into_string();
        let p = projection_of(&svg);
        assert_eq!(p.datum, Datum::Gcj02);
        // The stored square fills the drawing's centre: its centre is the drawing's.
        let (cx, cy) = p.to_pixel(31.195, 121.445);
        assert!((cx - 480.0).abs() < 0.01 && (cy - 320.0).abs() < 0.01);
        let (x, y) = marker_centre(&svg, "c1");
        let (glat, glon) = wangge_core::grid::wgs84_to_gcj02(31.195, 121.445);
        let (ex, ey) = p.to_pixel(glat, glon);
        assert!((x - ex).abs() <= 0.05 && (y - ey).abs() <= 0.05);
    }

    #[test]
    fn tiles_are_laid_under_the_grid_with_their_urls_and_credit() {
        let grid = tiny_grid("WGS-84", "小街块区");
        let tiles = osm(Datum::Wgs84);
        let options = MapOptions {
            tiles: Some(&tiles),
            ..MapOptions::new("m", "地图")
        };
        let svg = render_map(&grid, &[], &options).into_string();
        let p = projection_of(&svg);
        let z = p.tile_zoom();
        let (x, y) = tile_at(31.195, 121.445, z);
        assert!(
            svg.contains(&format!("href=\"https://tiles.example/{z}/{x}/{y}.png\"")),
            "{svg}"
        );
        assert!(
            svg.find("<image") < svg.find("data-level=\"unit\""),
            "tiles first"
        );
        assert!(svg.contains(">© Example</text>"));
        assert!(!svg.contains("class=\"background\""));
        crate::console::svg::assert_closed(&svg);
    }

    #[test]
    fn only_block_draws_and_fits_that_block() {
        let grid = match GridIndex::demo() {
            Ok(grid) => grid,
            Err(e) => panic!("demo grid: {e}"),
        };
        let options = MapOptions {
            layers: GridLayers {
                only_block: Some("XT-B1"),
                ..GridLayers::default()
            },
            ..MapOptions::new("m", "地图")
        };
        let svg = render_map(&grid, &[], &options).into_string();
        assert!(svg.contains("data-cell-id=\"XT-B1\""));
        assert!(!svg.contains("data-cell-id=\"XT-B2\""));
        let whole = render_map(&grid, &[], &MapOptions::new("m", "地图")).into_string();
        assert!(whole.contains("data-cell-id=\"XT-B2\""));
        assert!(projection_of(&svg).scale > projection_of(&whole).scale);
        // An unknown block draws the whole grid.
        let unknown = MapOptions {
            layers: GridLayers {
                only_block: Some("nope"),
                ..GridLayers::default()
            },
            ..MapOptions::new("m", "地图")
        };
        assert_eq!(render_map(&grid, &[], &unknown).into_string(), whole);
    }

    #[test]
    fn text_is_escaped() {
        let grid = tiny_grid("WGS-84", "<script>alert(1)</script>");
        let evil = Marker {
            title: "\"><script>alert(2)</script>",
            label: "<b>",
            ..marker("c1", 31.195, 121.445, false)
        };
        let tiles = TileLayer {
            attribution: "<script>alert(3)</script>".into(),
            ..osm(Datum::Wgs84)
        };
        let options = MapOptions {
            label: "<script>alert(4)</script>",
            tiles: Some(&tiles),
            ..MapOptions::new("m", "地图")
        };
        let svg = render_map(&grid, &[evil], &options).into_string();
        assert!(!svg.contains("<script>") && !svg.contains("<b>"), "{svg}");
        assert!(svg.contains("&lt;script&gt;alert(1)"));
        assert!(svg.contains("&lt;script&gt;alert(2)"));
        assert!(svg.contains("&lt;script&gt;alert(3)"));
        let legend = legend(&[(CaseStatus::Reported, "<script>")], "逾期").into_string();
        assert!(legend.contains("&lt;script&gt;") && !legend.contains("<script>"));
        assert!(legend.contains("data-status=\"reported\"") && legend.contains("data-late"));
        crate::console::svg::assert_closed(&legend);
    }

    #[test]
    fn picked_positions_come_back_to_wgs84() {
        let (glat, glon) = wangge_core::grid::wgs84_to_gcj02(31.19, 121.44);
        let back = position_from_map(Datum::Gcj02, glat, glon).unwrap_or_default();
        assert!((back.0 - 31.19).abs() < 1e-8 && (back.1 - 121.44).abs() < 1e-8);
        assert_eq!(
            position_from_map(Datum::Wgs84, 31.19, 121.44),
            Some((31.19, 121.44))
        );
        assert_eq!(position_from_map(Datum::Wgs84, 91.0, 0.0), None);
        assert_eq!(position_from_map(Datum::Gcj02, f64::NAN, 0.0), None);
    }

    #[test]
    fn tile_configuration_needs_a_template_and_a_datum() {
        assert_eq!(TileLayer::configured(None, None, None), Ok(None));
        assert_eq!(
            TileLayer::configured(Some(" "), Some("gcj02"), None),
            Ok(None)
        );
        let amap = TileLayer::configured(
            Some("https://webrd01.is.autonavi.com/appmaptile?x={x}&y={y}&z={z}&style=8"),
            Some("GCJ02"),
            Some("高德地图"),
        );
        let amap = amap
            .ok()
            .flatten()
            .unwrap_or_else(|| panic!("a good configuration"));
        assert_eq!(amap.datum, Datum::Gcj02);
        assert_eq!(
            amap.tile_url(17, 109_750, 53_573),
            "https://webrd01.is.autonavi.com/appmaptile?x=109750&y=53573&z=17&style=8"
        );
        let osm = "https://tile.openstreetmap.org/{z}/{x}/{y}.png";
        let missing_datum = TileLayer::configured(Some(osm), None, None);
        assert!(missing_datum.is_err_and(|e| e.contains("WANGGE_MAP_TILES_DATUM")));
        assert!(TileLayer::configured(Some(osm), Some("bd09"), None).is_err());
        assert!(TileLayer::configured(Some("https://x/{z}/{x}.png"), Some("wgs84"), None).is_err());
        assert!(TileLayer::configured(Some("ftp://x/{z}/{x}/{y}"), Some("wgs84"), None).is_err());
        assert_eq!(parse_datum("WGS-84"), Some(Datum::Wgs84));
        assert_eq!(datum_name(Datum::Gcj02), "gcj02");
    }

    #[test]
    fn a_pick_map_names_its_form_and_a_case_map_centres_the_case() {
        let grid = GridIndex::demo().unwrap();
        let svg = pick_map(&grid, None, "intake-map", "intake", "点选位置").into_string();
        assert!(svg.contains("id=\"intake-map\"") && svg.contains("data-pick-form=\"intake\""));
        assert!(svg.contains("data-datum=\"gcj02\"") && !svg.contains("data-case-id"));
        let (lat, lon) = wangge_core::grid::gcj02_to_wgs84(31.19, 121.44);
        let case = marker("c1", lat, lon, true);
        let svg = case_map(&grid, None, "case-map", &case, "案件位置").into_string();
        assert!(svg.contains("viewBox=\"0 0 480 320\""));
        let (x, y) = marker_centre(&svg, "c1");
        assert!(
            (x - 240.0).abs() < 2.0 && (y - 160.0).abs() < 2.0,
            "{x} {y}"
        );
        assert!(!svg.contains("data-pick-form"));
        crate::console::svg::assert_closed(&svg);
    }

    #[test]
    fn short_names_drop_the_parenthesis() {
        assert_eq!(
            short_name("斜土第一网格块区（大木桥路以西、斜土路以北）"),
            "斜土第一网格块区"
        );
        assert_eq!(short_name("Block A (west)"), "Block A");
        assert_eq!(short_name("（only）"), "（only）");
        assert_eq!(short_name("斜土居民区工作站"), "斜土居民区工作站");
    }

    #[test]
    fn thousands_of_markers_render_quickly() {
        let grid = match GridIndex::demo() {
            Ok(grid) => grid,
            Err(e) => panic!("demo grid: {e}"),
        };
        let ids: Vec<String> = (0..2000).map(|i| format!("case-{i:05}")).collect();
        let markers: Vec<Marker<'_>> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                let f = i as f64 / 2000.0;
                // Inside the demo grid's GCJ-02 outline, as a phone would report it.
                let (lat, lon) = wangge_core::grid::gcj02_to_wgs84(
                    31.181 + 0.018 * f,
                    121.428 + 0.024 * (1.0 - f),
                );
                marker(id, lat, lon, i % 7 == 0)
            })
            .collect();
        let started = std::time::Instant::now();
        let svg = render_map(&grid, &markers, &MapOptions::new("m", "地图")).into_string();
        let took = started.elapsed();
        assert_eq!(svg.matches("data-case-id=").count(), 2000);
        // Generous for an unoptimised test build on a busy machine; it is milliseconds.
        assert!(took < std::time::Duration::from_secs(2), "{took:?}");
    }
}
