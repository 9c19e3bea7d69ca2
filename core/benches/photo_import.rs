//! Benchmark of the photo import (`cargo bench -p wangge-core --bench photo_import`; not a test).
//!
//! Generates a 12-megapixel camera-like JPEG (4000×3000, EXIF orientation 6, 3–6 MB), then in
//! the same run times the whole import — `Store::import_photo` into a real store on disk:
//! decode, orient, resize, encode, thumbnail, hash, and the durable write of the photo, its
//! thumbnail and its record — and ImageMagick's
//! `convert IN -auto-orient -resize 1600x1600 -strip -quality 80 OUT` on that file, and measures
//! the peak memory of each in a child process. `prepare` alone (no store) is timed too, to show
//! what the store adds. Prints median and p95 times, the ratio ours/ImageMagick, peak memory and
//! output sizes. Targets: ratio ≤ 1.0, peak < 200 MB, stored photo < 400 KB.
//!
//! Environment: `PHOTO_BENCH_RUNS` (default 11) sets the number of timed runs of each;
//! `PHOTO_BENCH_CONVERT` the ImageMagick binary (default `/usr/bin/convert`).

// A benchmark aborts on any failure; there is no user input to handle gracefully.
#![allow(clippy::expect_used, clippy::unwrap_used)]

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use wangge_core::photo::{PhotoOptions, prepare};
use wangge_core::{Catalog, DeviceId, Store, SystemClock};

const CHILD_FLAG: &str = "--child-import";

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == CHILD_FLAG) {
        child_import(Path::new(&args[i + 1]), Path::new(&args[i + 2]));
        return;
    }
    let runs: usize = std::env::var("PHOTO_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(11)
        .max(9);
    let convert =
        std::env::var("PHOTO_BENCH_CONVERT").unwrap_or_else(|_| "/usr/bin/convert".into());

    let dir = std::env::temp_dir().join(format!("wangge-photo-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("create the benchmark directory");
    let input = dir.join("camera-12mp-orientation6.jpg");
    let started = Instant::now();
    let bytes = support::camera_jpeg(&support::synthetic_photo(4000, 3000), 92, 6);
    std::fs::write(&input, &bytes).expect("write the input photo");
    println!(
        "input: {} (4000×3000, EXIF orientation 6, {:.2} MB), generated in {:.1?}",
        input.display(),
        bytes.len() as f64 / 1e6,
        started.elapsed()
    );

    let im_available = Path::new(&convert).exists() && imagemagick_is_real(&convert);
    if !im_available {
        println!(
            "ImageMagick not found at {convert}: install it with `apt-get install -y imagemagick`"
        );
    }
    let opts = PhotoOptions::default();
    let output = dir.join("imagemagick-out.jpg");

    let store = open_store(&dir.join("bench-store.sqlite3"));
    let db = rusqlite::Connection::open(store.path()).expect("open the store's database");
    let empty_store = || {
        db.execute_batch("DELETE FROM photos; DELETE FROM photo_data; DELETE FROM photo_thumbs;")
            .expect("empty the photo store");
    };

    // Warm-up (page cache, CPU frequency, lazily initialised SIMD dispatch).
    let prepared = prepare(&bytes, &opts).expect("prepare the benchmark photo");
    store
        .import_photo(&bytes, &opts)
        .expect("import the benchmark photo");
    if im_available {
        run_convert(&convert, &input, &output);
    }

    // Interleaved, so that a slow phase of the machine hits all alike. The store is emptied
    // before each timed import (untimed), so that every import really writes the photo.
    let (mut ours, mut prepare_only, mut theirs) = (
        Vec::with_capacity(runs),
        Vec::with_capacity(runs),
        Vec::with_capacity(runs),
    );
    for _ in 0..runs {
        empty_store();
        let t = Instant::now();
        let photo = store.import_photo(&bytes, &opts).expect("import");
        ours.push(t.elapsed());
        assert_eq!(photo.sha256, prepared.sha256, "import is not deterministic");
        let t = Instant::now();
        std::hint::black_box(prepare(&bytes, &opts).expect("prepare"));
        prepare_only.push(t.elapsed());
        if im_available {
            let t = Instant::now();
            run_convert(&convert, &input, &output);
            theirs.push(t.elapsed());
        }
    }

    let (our_median, our_p95) = support::median_p95(&ours);
    let (prep_median, prep_p95) = support::median_p95(&prepare_only);
    println!("\nwhole import of a 12 MP JPEG, {runs} runs each, release build");
    println!(
        "  ours (import_photo: sniff, EXIF, decode, resize, orient, encode, thumbnail, SHA-256, store): median {:>7.1} ms, p95 {:>7.1} ms",
        ms(our_median),
        ms(our_p95)
    );
    println!(
        "    of which prepare alone (no store):                                                    median {:>7.1} ms, p95 {:>7.1} ms",
        ms(prep_median),
        ms(prep_p95)
    );
    if im_available {
        let (im_median, im_p95) = support::median_p95(&theirs);
        println!(
            "  ImageMagick convert -auto-orient -resize 1600x1600 -strip -quality 80:                     median {:>7.1} ms, p95 {:>7.1} ms",
            ms(im_median),
            ms(im_p95)
        );
        println!(
            "  ratio ours/ImageMagick (medians): {:.2}  (target ≤ 1.0)",
            our_median.as_secs_f64() / im_median.as_secs_f64()
        );
    }

    // Peak memory, each in a fresh child process so that nothing else counts.
    let exe = std::env::current_exe().expect("find the benchmark executable");
    let (_, polled, reported) = support::run_measured(
        Command::new(&exe)
            .arg(CHILD_FLAG)
            .arg(&input)
            .arg(dir.join("child-store.sqlite3")),
    );
    let self_reported = reported.trim().parse::<u64>().ok();
    println!("\npeak resident memory (VmHWM)");
    println!(
        "  ours: {:.1} MiB as reported by the child itself ({:.1} MiB polled from outside)  (target < 200 MB)",
        support::mib(self_reported.unwrap_or(0)),
        support::mib(polled.unwrap_or(0))
    );
    if im_available {
        let (_, im_peak, _) =
            support::run_measured(Command::new(&convert).args(convert_args(&input, &output)));
        println!(
            "  ImageMagick: {:.1} MiB (polled from outside)",
            support::mib(im_peak.unwrap_or(0))
        );
    }

    println!("\noutput");
    println!(
        "  ours: {}×{} photo {:.1} KB, {}×{} thumbnail {:.1} KB (target photo < 400 KB)",
        prepared.width,
        prepared.height,
        prepared.jpeg.len() as f64 / 1000.0,
        prepared.thumb_width,
        prepared.thumb_height,
        prepared.thumbnail.len() as f64 / 1000.0
    );
    if im_available {
        let size = std::fs::metadata(&output).map(|m| m.len()).unwrap_or(0);
        println!("  ImageMagick: {:.1} KB", size as f64 / 1000.0);
    }
    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A fresh device store at `path`.
fn open_store(path: &Path) -> Store {
    let catalog = Arc::new(Catalog::demo().expect("load the demo catalog"));
    Store::open(path, DeviceId::generate(), catalog, Arc::new(SystemClock)).expect("open a store")
}

/// Child mode: import the photo once into a fresh store and print this process's peak resident
/// memory in bytes.
fn child_import(path: &Path, store_path: &Path) {
    let store = open_store(store_path);
    let bytes = std::fs::read(path).expect("read the input photo");
    let photo = store
        .import_photo(&bytes, &PhotoOptions::default())
        .expect("import");
    drop(bytes);
    std::hint::black_box(&photo);
    let status = std::fs::read_to_string("/proc/self/status").expect("read /proc/self/status");
    println!("{}", support::vm_hwm_bytes(&status).unwrap_or(0));
}

/// Debian's ImageMagick answers `-version`; a stand-in `convert` does not.
fn imagemagick_is_real(convert: &str) -> bool {
    Command::new(convert)
        .arg("-version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).contains("ImageMagick"))
        .unwrap_or(false)
}

fn convert_args(input: &Path, output: &Path) -> Vec<PathBuf> {
    let mut args: Vec<PathBuf> = vec![input.into()];
    for a in [
        "-auto-orient",
        "-resize",
        "1600x1600",
        "-strip",
        "-quality",
        "80",
    ] {
        args.push(a.into());
    }
    args.push(output.into());
    args
}

fn run_convert(convert: &str, input: &Path, output: &Path) {
    let status = Command::new(convert)
        .args(convert_args(input, output))
        .status()
        .expect("run ImageMagick");
    assert!(status.success(), "ImageMagick failed: {status}");
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
