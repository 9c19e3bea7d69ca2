//! Shared fixtures for the integration tests: the demo catalog, actors, and
//! GPS fixes that fall well inside a given grid cell.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::sync::{Arc, OnceLock};

use geo::InteriorPoint;
use image::{Rgb, RgbImage};
use wangge_core::case::{CaseHeader, GridRef};
use wangge_core::grid::GridIndex;
use wangge_core::{
    Actor, CaseId, Catalog, DeviceId, GpsFix, ManualClock, Role, SourceChannel, Store,
};

/// 2026-03-02 09:00 China Standard Time (a Monday), in ms.
pub const MONDAY_9AM: i64 = 1_772_413_200_000;
pub const MINUTE: i64 = 60_000;
pub const HOUR: i64 = 3_600_000;

pub fn catalog() -> Arc<Catalog> {
    static CATALOG: OnceLock<Arc<Catalog>> = OnceLock::new();
    CATALOG
        .get_or_init(|| Arc::new(Catalog::demo().expect("the demo catalog loads")))
        .clone()
}

pub fn actor(id: &str, role: Role, unit: Option<&str>, device: DeviceId) -> Actor {
    Actor {
        id: id.to_owned(),
        role,
        unit: unit.map(str::to_owned),
        device,
    }
}

/// A WGS-84 fix at an interior point of `cell`, with a small accuracy circle.
pub fn fix_in(grids: &GridIndex, cell: &str, at_ms: i64) -> GpsFix {
    let c = grids
        .cell(cell)
        .unwrap_or_else(|| panic!("demo grid has {cell}"));
    let p = c
        .geometry()
        .interior_point()
        .expect("cell has an interior point");
    let (lat, lon) = grids.datum().to_wgs84(p.y(), p.x());
    GpsFix {
        lat,
        lon,
        accuracy_m: 3.0,
        fix_time_ms: at_ms,
    }
}

/// A device with its own store in `dir`, its clock standing at `start_ms`.
pub struct Device {
    pub id: DeviceId,
    pub clock: Arc<ManualClock>,
    pub store: Store,
}

impl Device {
    pub fn open(dir: &std::path::Path, name: &str, start_ms: i64) -> Device {
        let id = DeviceId::generate();
        let clock = Arc::new(ManualClock::new(start_ms));
        let store = Store::open(
            dir.join(format!("{name}.sqlite3")),
            id,
            catalog(),
            clock.clone(),
        )
        .unwrap();
        Device { id, clock, store }
    }

    pub fn officer(&self) -> Actor {
        actor("officer-017", Role::GridOfficer, Some("网格一组"), self.id)
    }

    pub fn centre(&self) -> Actor {
        actor("centre-desk-2", Role::Centre, None, self.id)
    }

    pub fn unit(&self, unit: &str) -> Actor {
        actor("handler-31", Role::HandlingUnit, Some(unit), self.id)
    }

    pub fn staff(&self) -> Actor {
        actor("ws-staff-4", Role::WorkstationStaff, None, self.id)
    }
}

/// The header of a street vendor case in grid cell XT-W01-U1, reported by an officer from
/// `device`: the case the fold and convergence tests work on.
pub fn vendor_header(id: CaseId, device: DeviceId) -> CaseHeader {
    CaseHeader {
        id,
        channel: SourceChannel::GridOfficerHandheld,
        checklist_item: "A02-001".into(),
        category: "A02".into(),
        domain: "A".into(),
        description: "流动摊贩".into(),
        gps: None,
        address: None,
        grid: Some(GridRef {
            cell: "XT-W01-U1".into(),
            workstation: Some("XT-W01".into()),
            block: Some("XT-B1".into()),
        }),
        grid_candidates: vec![],
        reporter: actor("officer", Role::GridOfficer, None, device),
        photos: vec![],
        external_ref: None,
    }
}

/// A photo-like picture whose content depends on `seed`: gradients, a block of the seed's
/// colour, and noise (so its JPEG is not trivially small).
pub fn picture(seed: u64, width: u32, height: u32) -> RgbImage {
    let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    RgbImage::from_fn(width, height, |x, y| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        let noise = (state & 0x1F) as u8;
        if x < 32 && y < 32 {
            return Rgb([seed as u8, (seed >> 8) as u8, (seed >> 16) as u8]);
        }
        Rgb([
            ((x * 255 / width) as u8).saturating_add(noise),
            ((y * 255 / height) as u8).saturating_add(noise / 2),
            (((x + y) % 256) as u8) ^ noise,
        ])
    })
}

pub fn jpeg_of(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(img)
        .unwrap();
    out
}

/// A plain JPEG without EXIF.
pub fn plain_jpeg(seed: u64) -> Vec<u8> {
    jpeg_of(&picture(seed, 480, 360))
}
