//! Helpers of the photo benchmark: a synthetic camera photo, statistics, and peak-memory
//! measurement of a child process.

// Benchmark helpers abort on any failure; there is no user input to handle gracefully.
#![allow(clippy::expect_used)]

use std::io::Cursor;
use std::process::Command;
use std::time::{Duration, Instant};

use image::{Rgb, RgbImage};

/// A deterministic xorshift generator: the benchmark input is the same on every run and machine.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

/// A photograph-like RGB image: smooth light gradients, a few flat "buildings" with hard edges,
/// fine texture and sensor noise. Its JPEG compresses like a phone photo (3–6 MB at 12 MP,
/// quality 92), unlike a flat test card that would make every codec look fast.
pub fn synthetic_photo(width: u32, height: u32) -> RgbImage {
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    let (w, h) = (f64::from(width), f64::from(height));
    let blocks: Vec<(f64, f64, f64, f64, [f64; 3])> = (0..24)
        .map(|_| {
            let mut unit = || (rng.next() % 10_000) as f64 / 10_000.0;
            let (x, y) = (unit() * w, unit() * h);
            let (bw, bh) = (unit() * w / 4.0, unit() * h / 3.0);
            (
                x,
                y,
                bw,
                bh,
                [unit() * 200.0, unit() * 200.0, unit() * 200.0],
            )
        })
        .collect();
    RgbImage::from_fn(width, height, |x, y| {
        let (fx, fy) = (f64::from(x) / w, f64::from(y) / h);
        let mut c = [
            90.0 + 80.0 * (fx * 3.1).sin() * (fy * 2.3).cos(),
            110.0 + 70.0 * (fy * 4.7 + fx).sin(),
            130.0 + 60.0 * ((fx - fy) * 5.3).cos(),
        ];
        for (bx, by, bw, bh, colour) in &blocks {
            let (px, py) = (f64::from(x), f64::from(y));
            if px >= *bx && px < bx + bw && py >= *by && py < by + bh {
                c = *colour;
            }
        }
        // Fine texture (brickwork, foliage) and per-pixel noise.
        let texture = 14.0 * ((f64::from(x) * 0.9).sin() * (f64::from(y) * 0.7).cos());
        // Sensor noise is mostly luminance; chroma noise is weaker (phones denoise it).
        let n = rng.next();
        let luma_noise = (n & 0x0F) as f64 - 7.5;
        let mut px = [0u8; 3];
        for (i, v) in c.iter().enumerate() {
            let chroma_noise = ((n >> (8 + i * 8)) & 0x03) as f64 - 1.5;
            px[i] = (v + texture + luma_noise + chroma_noise).clamp(0.0, 255.0) as u8;
        }
        Rgb(px)
    })
}

/// Encodes `img` as a JPEG at `quality` carrying an EXIF APP1 segment with `orientation`, a
/// capture time and a GPS position, as a phone camera would.
pub fn camera_jpeg(img: &RgbImage, quality: u8, orientation: u16) -> Vec<u8> {
    use exif::{Field, In, Rational, Tag, Value};
    let mut jpeg = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut jpeg, quality)
        .encode_image(img)
        .expect("encode the synthetic photo");
    let ascii = |tag, s: &str| Field {
        tag,
        ifd_num: In::PRIMARY,
        value: Value::Ascii(vec![s.as_bytes().to_vec()]),
    };
    let rational = |tag, parts: [(u32, u32); 3]| Field {
        tag,
        ifd_num: In::PRIMARY,
        value: Value::Rational(
            parts
                .iter()
                .map(|&(num, denom)| Rational { num, denom })
                .collect(),
        ),
    };
    let fields = [
        Field {
            tag: Tag::Orientation,
            ifd_num: In::PRIMARY,
            value: Value::Short(vec![orientation]),
        },
        ascii(Tag::Make, "BenchPhone"),
        ascii(Tag::DateTimeOriginal, "2024:05:01 14:03:22"),
        ascii(Tag::GPSLatitudeRef, "N"),
        rational(Tag::GPSLatitude, [(31, 1), (11, 1), (3732, 100)]),
        ascii(Tag::GPSLongitudeRef, "E"),
        rational(Tag::GPSLongitude, [(121, 1), (27, 1), (948, 100)]),
    ];
    let mut writer = exif::experimental::Writer::new();
    for f in &fields {
        writer.push_field(f);
    }
    let mut tiff = Cursor::new(Vec::new());
    writer.write(&mut tiff, false).expect("write EXIF");
    let tiff = tiff.into_inner();
    let len = u16::try_from(2 + 6 + tiff.len()).expect("EXIF fits one segment");
    let mut out = Vec::with_capacity(jpeg.len() + tiff.len() + 10);
    out.extend_from_slice(&jpeg[..2]);
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(&tiff);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// Median and 95th percentile (nearest rank) of the samples.
pub fn median_p95(samples: &[Duration]) -> (Duration, Duration) {
    let mut sorted = samples.to_vec();
    sorted.sort();
    let n = sorted.len();
    let median = if n % 2 == 1 {
        sorted[n / 2]
    } else {
        (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    };
    let rank = ((n as f64) * 0.95).ceil() as usize;
    (median, sorted[rank.clamp(1, n) - 1])
}

/// The `VmHWM` (peak resident set) line of a `/proc/<pid>/status`, in bytes.
pub fn vm_hwm_bytes(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Runs `cmd` to completion; returns its wall time, its peak resident memory (polled from
/// `/proc/<pid>/status` every millisecond until it exits: VmHWM only grows, so the last reading
/// before exit is the peak, give or take what it allocates in its final millisecond) and its
/// standard output.
pub fn run_measured(cmd: &mut Command) -> (Duration, Option<u64>, String) {
    let started = Instant::now();
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("could not start {cmd:?}: {e}"));
    let status_path = format!("/proc/{}/status", child.id());
    let mut peak = None;
    loop {
        if let Some(hwm) = std::fs::read_to_string(&status_path)
            .ok()
            .as_deref()
            .and_then(vm_hwm_bytes)
        {
            peak = Some(peak.map_or(hwm, |p: u64| p.max(hwm)));
        }
        match child.try_wait() {
            Ok(Some(status)) => {
                assert!(status.success(), "{cmd:?} failed: {status}");
                break;
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(1)),
            Err(e) => panic!("waiting for {cmd:?}: {e}"),
        }
    }
    let elapsed = started.elapsed();
    let mut stdout = String::new();
    if let Some(mut out) = child.stdout.take() {
        use std::io::Read;
        let _ = out.read_to_string(&mut stdout);
    }
    (elapsed, peak, stdout)
}

/// Bytes as mebibytes, for printing.
pub fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}
