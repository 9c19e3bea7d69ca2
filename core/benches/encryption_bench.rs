//! What encryption at rest (SQLCipher, `store/encryption.rs`) costs the phone: a plain store
//! and an encrypted one, side by side in the same run, each holding 10,000 cases. Not a test.
//!
//! ```text
//! cargo bench -p wangge-core --bench encryption_bench
//! WANGGE_BENCH_DIR=/some/disk/dir cargo bench -p wangge-core --bench encryption_bench
//! ```
//!
//! The stores live in `WANGGE_BENCH_DIR` (default: the system's temporary directory); the
//! file system it is on is printed, since an fsync on tmpfs costs nothing and on flash most
//! of a write. Samples alternate between the two stores so that drift in the machine's load
//! falls on both alike. Prints, for each operation, the median of each store and their ratio:
//! recording a case (durable commit), listing 1,000 cases, opening a store of 10,000 cases.
#![allow(clippy::expect_used)]

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wangge_core::{
    Actor, CaseQuery, Catalog, DeviceId, GpsFix, NewCase, Role, Store, StoreKey, SystemClock,
};

const CASES: usize = 10_000;

fn median(samples: &mut [Duration]) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// The file system type of the mount holding `dir` (the longest mount point that prefixes
/// it in `/proc/mounts`), or "unknown" off Linux.
fn file_system_of(dir: &Path) -> String {
    let Ok(dir) = dir.canonicalize() else {
        return "unknown".into();
    };
    let mounts = std::fs::read_to_string("/proc/mounts").unwrap_or_default();
    mounts
        .lines()
        .filter_map(|l| {
            let mut f = l.split_whitespace();
            let (_, point, kind) = (f.next()?, f.next()?, f.next()?);
            dir.starts_with(point)
                .then(|| (point.len(), kind.to_owned()))
        })
        .max()
        .map_or_else(|| "unknown".into(), |(_, kind)| kind)
}

struct Side {
    file: &'static str,
    key: Option<StoreKey>,
    store: Option<Store>,
}

impl Side {
    fn store(&self) -> &Store {
        self.store.as_ref().expect("open between measurements")
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let base = std::env::var_os("WANGGE_BENCH_DIR").map_or_else(std::env::temp_dir, Into::into);
    let dir = tempfile::tempdir_in(&base)?;
    let catalog = Arc::new(Catalog::demo()?);
    let device = DeviceId::generate();
    let officer = Actor {
        id: "officer-1".into(),
        role: Role::GridOfficer,
        unit: Some("网格一组".into()),
        device,
    };
    let fix = GpsFix {
        lat: 31.1880,
        lon: 121.4380,
        accuracy_m: 5.0,
        fix_time_ms: 0,
    };
    println!(
        "encryption at rest (release), {} cores, stores in {} ({})",
        std::thread::available_parallelism()?.get(),
        base.display(),
        file_system_of(&base)
    );
    let open = |name: &str, key: Option<&StoreKey>| {
        Store::open_with_key(
            dir.path().join(name),
            device,
            catalog.clone(),
            Arc::new(SystemClock),
            key,
        )
    };
    let key = StoreKey::from_bytes(&[0x5a; 32])?;
    let mut sides = [
        Side {
            file: "plain.sqlite3",
            store: Some(open("plain.sqlite3", None)?),
            key: None,
        },
        Side {
            file: "encrypted.sqlite3",
            store: Some(open("encrypted.sqlite3", Some(&key))?),
            key: Some(key.clone()),
        },
    ];

    // Fill both to 10,000 cases; the last 1,000 recorded are the samples of "record a case".
    let mut record = [Vec::new(), Vec::new()];
    for i in 0..CASES {
        for (side, samples) in sides.iter().zip(&mut record) {
            let new = NewCase::from_handheld("A02-001", &format!("流动摊贩占道经营 第{i}起"), fix);
            let t = Instant::now();
            side.store().record_case(&officer, new)?;
            if i >= CASES - 1000 {
                samples.push(t.elapsed());
            }
        }
    }

    let query = CaseQuery {
        limit: Some(1000),
        ..CaseQuery::default()
    };
    let mut list = [Vec::new(), Vec::new()];
    for _ in 0..51 {
        for (side, samples) in sides.iter().zip(&mut list) {
            let t = Instant::now();
            let n = side.store().cases(&query)?.len();
            samples.push(t.elapsed());
            assert_eq!(n, 1000);
        }
    }

    let mut reopen = [Vec::new(), Vec::new()];
    for _ in 0..21 {
        for (side, samples) in sides.iter_mut().zip(&mut reopen) {
            // Closed before the timing starts (closing checkpoints the WAL).
            side.store = None;
            let t = Instant::now();
            side.store = Some(open(side.file, side.key.as_ref())?);
            samples.push(t.elapsed());
        }
    }

    for (name, samples) in [
        (
            "record a case (durable commit), last 1,000 of 10,000",
            &mut record,
        ),
        ("list 1,000 cases", &mut list),
        ("open a store of 10,000 cases", &mut reopen),
    ] {
        let [plain, encrypted] = samples;
        let (p, e) = (median(plain), median(encrypted));
        println!(
            "{name:<54} plain {p:>10.2?}  encrypted {e:>10.2?}  ratio {:.2}",
            e.as_secs_f64() / p.as_secs_f64()
        );
    }
    Ok(())
}
