//! Benchmarks of the core library (not tests). Run in release:
//!
//! ```text
//! cargo bench -p wangge-core --bench core_bench
//! ```
//!
//! Prints the median and 95th percentile of: recording a case (no photo)
//! including its durable commit; adding an event; point → grid lookup over
//! the demo grids and over 10,000 generated cells; opening a store that
//! holds 10,000 cases; listing an officer's open cases.

use std::sync::Arc;
use std::time::{Duration, Instant};

use wangge_core::grid::GridIndex;
use wangge_core::{
    Actor, CaseEventKind, Catalog, DeviceId, GpsFix, NewCase, Role, Store, SystemClock,
};

fn report(name: &str, samples: &mut [Duration]) {
    samples.sort();
    let pick = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    println!(
        "{name:<52} n={:<6} median {:>10.2?}  p95 {:>10.2?}",
        samples.len(),
        pick(0.5),
        pick(0.95)
    );
}

/// A deterministic pseudo-random sequence (xorshift), so runs compare.
struct Rng(u64);
impl Rng {
    fn next_f64(&mut self) -> f64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn lookups(name: &str, grids: &GridIndex, n: usize) {
    let (mut min_lat, mut min_lon, mut max_lat, mut max_lon) =
        (f64::MAX, f64::MAX, f64::MIN, f64::MIN);
    for c in grids.cells() {
        let b = c.bounds();
        min_lon = min_lon.min(b.min().x);
        min_lat = min_lat.min(b.min().y);
        max_lon = max_lon.max(b.max().x);
        max_lat = max_lat.max(b.max().y);
    }
    let mut rng = Rng(0x9e3779b97f4a7c15);
    let points: Vec<(f64, f64)> = (0..n)
        .map(|_| {
            let (lat, lon) = (
                min_lat + rng.next_f64() * (max_lat - min_lat),
                min_lon + rng.next_f64() * (max_lon - min_lon),
            );
            grids.datum().to_wgs84(lat, lon)
        })
        .collect();
    let mut samples = Vec::with_capacity(n);
    let mut inside = 0;
    for (lat, lon) in points {
        let t = Instant::now();
        let m = grids.lookup(lat, lon, 5.0);
        samples.push(t.elapsed());
        if matches!(m, Ok(wangge_core::grid::GridMatch::Inside(_))) {
            inside += 1;
        }
    }
    report(
        &format!("{name} ({inside}/{n} inside one cell)"),
        &mut samples,
    );
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let catalog = Arc::new(Catalog::demo()?);
    let dir = tempfile::tempdir()?;
    let device = DeviceId::generate();
    let store = Store::open(
        dir.path().join("bench.sqlite3"),
        device,
        catalog.clone(),
        Arc::new(SystemClock),
    )?;
    let officer = Actor {
        id: "officer-1".into(),
        role: Role::GridOfficer,
        unit: Some("网格一组".into()),
        device,
    };
    let centre = Actor {
        id: "centre-1".into(),
        role: Role::Centre,
        unit: None,
        device,
    };
    let fix = GpsFix {
        lat: 31.1880,
        lon: 121.4380,
        accuracy_m: 5.0,
        fix_time_ms: 0,
    };
    println!(
        "wangge-core benchmarks (release), {} cores",
        std::thread::available_parallelism()?.get()
    );

    // Record a case, durable commit included.
    let mut samples = Vec::new();
    let mut ids = Vec::new();
    for i in 0..2000 {
        let new = NewCase::from_handheld("A02-001", &format!("流动摊贩占道经营 第{i}起"), fix);
        let t = Instant::now();
        ids.push(store.record_case(&officer, new)?);
        samples.push(t.elapsed());
    }
    report(
        "record a case (durable commit, synchronous=FULL)",
        &mut samples,
    );

    let mut samples = Vec::new();
    for (i, id) in ids.iter().take(1000).enumerate() {
        let kind = CaseEventKind::Registered {
            case_number: format!("XT-{i}"),
            checklist_item: None,
            grid: None,
        };
        let t = Instant::now();
        store.add_case_event(*id, &centre, kind)?;
        samples.push(t.elapsed());
    }
    report("add an event to a case (durable commit)", &mut samples);

    lookups("grid lookup, demo grids", &catalog.grids, 20_000);
    let generated = GridIndex::from_geojson(&wangge_core::grid::generated_grid_geojson(100))?;
    lookups(
        &format!("grid lookup, {} generated cells", generated.cell_count()),
        &generated,
        20_000,
    );

    // Fill the store to 10,000 cases, then time opening it.
    for i in ids.len()..10_000 {
        store.record_case(
            &officer,
            NewCase::from_handheld("A01-001", &format!("暴露垃圾 第{i}处"), fix),
        )?;
    }
    let path = store.path().to_path_buf();
    drop(store);
    let mut samples = Vec::new();
    for _ in 0..21 {
        let t = Instant::now();
        let s = Store::open(&path, device, catalog.clone(), Arc::new(SystemClock))?;
        samples.push(t.elapsed());
        drop(s);
    }
    report("open a store holding 10,000 cases", &mut samples);

    let store = Store::open(&path, device, catalog.clone(), Arc::new(SystemClock))?;
    let mut samples = Vec::new();
    for _ in 0..21 {
        let t = Instant::now();
        let n = store
            .my_open_cases("officer-1", &["网格一组".to_owned()])?
            .len();
        samples.push(t.elapsed());
        assert_eq!(n, 500, "the default page is 500 rows");
    }
    report("list my open cases (first 500 of 10,000)", &mut samples);
    let mut samples = Vec::new();
    for _ in 0..21 {
        let t = Instant::now();
        store.search_cases("流动摊贩")?;
        samples.push(t.elapsed());
    }
    report("full-text search over 10,000 cases", &mut samples);
    Ok(())
}
