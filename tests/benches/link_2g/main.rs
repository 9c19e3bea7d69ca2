//! A shift over an emulated 2G link (a benchmark, not a test): one device records a shift of
//! cases with two photos each, then syncs it through a shaping proxy ([`wangge_e2e::shaper`]: why not
//! `tc netem`, and what the link models) to a real server on 127.0.0.1.
//!
//! ```text
//! bash scripts/bench-2g.sh        # or: cargo bench -p wangge-e2e --bench link_2g -- [options]
//! options: --cases 200 --photos 2 --kbit 100 --delay-ms 250 --overhead 40 --concurrency 4
//!          --timeout-s 60 --no-full-photos (documents and thumbnails only)
//! ```
//!
//! **Scaled runs.** The whole 2G shift takes 2.8 hours. The same shift on a link k times
//! faster with k times less delay and a k times shorter request timeout (`--kbit 1000
//! --delay-ms 25 --timeout-s 6` for k = 10) keeps every ratio the protocol sees — bytes in
//! flight per round trip, round trips per transfer, a round's size against its timeout — and
//! takes k times less time. Only the device's and the server's own work does not shrink, so a
//! scaled run's ratios are, if anything, worse than the 2G run's.
//!
//! ```text
//! ```
//!
//! Reports the time until every document is on the server, until every thumbnail is, and
//! until every photo is, each against the link's ideal time: the payload bytes (request bodies:
//! the sync rounds' documents, the thumbnails, the photos) divided by the link's rate. Targets:
//! documents ≤ 30 s; thumbnails within 1.2 × their ideal; the whole shift within 1.05 ×.
//! "On the server" is when the device got the server's answer to the request that completed
//! it: the server stores before it answers.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use image::{Rgb, RgbImage};
use wangge_core::photo::PhotoOptions;
use wangge_core::{NewCase, PhotoRef, Role, SyncClient, SyncConfig, SyncProgress};
use wangge_e2e::*;
use wangge_server::storage::{DeviceRole, Storage};

use wangge_e2e::shaper::{Link, Shaper};

struct Options {
    cases: u64,
    photos: u64,
    kbit: f64,
    delay_ms: u64,
    overhead: u64,
    concurrency: usize,
    /// The request timeout, seconds (the phone's default: 60).
    timeout_s: f64,
    full_photos: bool,
}

fn options() -> Options {
    let mut o = Options {
        cases: 200,
        photos: 2,
        kbit: 100.0,
        delay_ms: 250,
        overhead: 40,
        concurrency: 4,
        timeout_s: 60.0,
        full_photos: true,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = || args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--cases" => o.cases = value().parse().expect("--cases N"),
            "--photos" => o.photos = value().parse().expect("--photos N"),
            "--kbit" => o.kbit = value().parse().expect("--kbit RATE"),
            "--delay-ms" => o.delay_ms = value().parse().expect("--delay-ms MS"),
            "--overhead" => o.overhead = value().parse().expect("--overhead BYTES"),
            "--concurrency" => o.concurrency = value().parse().expect("--concurrency N"),
            "--timeout-s" => o.timeout_s = value().parse().expect("--timeout-s SECONDS"),
            "--no-full-photos" => {
                o.full_photos = false;
                i += 1;
                continue;
            }
            // cargo bench passes --bench to every bench binary.
            "--bench" => {
                i += 1;
                continue;
            }
            other => panic!("unknown option {other}"),
        }
        i += 2;
    }
    o
}

/// Xorshift: the same pictures on every run.
fn xorshift(state: &mut u64) -> u64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    *state
}

/// A photograph-like scene of 1,800 × 1,350 pixels: light gradients, flat "buildings" with
/// hard edges, fine texture and sensor noise. Made once: the benchmark is built unoptimised
/// with the tests, and a scene per photo would take seconds each.
fn scene() -> RgbImage {
    let (w, h) = (1800u32, 1350u32);
    let mut state = 0x9E37_79B9_7F4A_7C15u64;
    let blocks: Vec<[u32; 7]> = (0..20)
        .map(|_| {
            let r = xorshift(&mut state);
            [
                (r % w as u64) as u32,
                ((r >> 12) % h as u64) as u32,
                ((r >> 24) % (w as u64 / 4)) as u32,
                ((r >> 36) % (h as u64 / 3)) as u32,
                ((r >> 44) % 200) as u32,
                ((r >> 50) % 200) as u32,
                ((r >> 56) % 200) as u32,
            ]
        })
        .collect();
    RgbImage::from_fn(w, h, |x, y| {
        let (fx, fy) = (x as f32 / w as f32, y as f32 / h as f32);
        let mut c = [
            90.0 + 80.0 * (fx * 3.1).sin() * (fy * 2.3).cos(),
            110.0 + 70.0 * (fy * 4.7 + fx).sin(),
            130.0 + 60.0 * ((fx - fy) * 5.3).cos(),
        ];
        for b in &blocks {
            if x >= b[0] && x < b[0] + b[2] && y >= b[1] && y < b[1] + b[3] {
                c = [b[4] as f32, b[5] as f32, b[6] as f32];
            }
        }
        let texture = 12.0 * ((x as f32 * 0.9).sin() * (y as f32 * 0.7).cos());
        let noise = (xorshift(&mut state) & 0x0F) as f32 - 7.5;
        Rgb([0, 1, 2].map(|i| (c[i] + texture + noise).clamp(0.0, 255.0) as u8))
    })
}

/// A camera JPEG (quality 92) of the scene with a "subject" of its own — a flat, noisy block
/// placed by `seed` — so every photo of the shift has its own hash. After the capture
/// pipeline (1,600 px, quality 80) it is about the size of a real field photo (the project
/// measured ~270 KB).
fn field_photo(scene: &RgbImage, seed: u64) -> Vec<u8> {
    let mut img = scene.clone();
    let mut state = seed.wrapping_mul(0x2545_F491_4F6C_DD1D) | 1;
    let r = xorshift(&mut state);
    let (x0, y0) = ((r % 1500) as u32, ((r >> 16) % 1100) as u32);
    let colour = [(r >> 32) as u8, (r >> 40) as u8, (r >> 48) as u8];
    for y in y0..y0 + 200 {
        for x in x0..x0 + 250 {
            let noise = (xorshift(&mut state) & 0x0F) as u8;
            img.put_pixel(x, y, Rgb(colour.map(|c| c.saturating_add(noise))));
        }
    }
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 92)
        .encode_image(&img)
        .unwrap();
    out
}

/// When each phase of the sync ended, seen from the device's progress reports.
#[derive(Default)]
struct Marks {
    docs: Option<(Duration, u64)>,
    thumbs: Option<Duration>,
    /// Ten-minute periods reported so far.
    reported_10min: u64,
}

fn main() {
    let o = options();
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (enrolled, token) = server.enroll("shift", DeviceRole::Field, everything());

    let up = Link::new(o.kbit, Duration::from_millis(o.delay_ms), o.overhead);
    let down = Link::new(o.kbit, Duration::from_millis(o.delay_ms), o.overhead);
    let upstream = server.base.trim_start_matches("http://").parse().unwrap();
    let shaper = Shaper::start(upstream, up.clone(), down.clone());
    let device = TestDevice::open(dir.path(), "shift", &enrolled, &shaper.base, &token);

    // The shift, recorded offline (not timed).
    let made = Instant::now();
    let officer = device.me(Role::GridOfficer, None);
    let scene = scene();
    let mut photos: Vec<PhotoRef> = Vec::new();
    for case in 0..o.cases {
        device.clock.advance(60_000);
        let refs: Vec<PhotoRef> = (0..o.photos)
            .map(|i| {
                let jpeg = field_photo(&scene, case * o.photos + i + 1);
                device
                    .store
                    .import_photo(&jpeg, &PhotoOptions::default())
                    .unwrap()
            })
            .collect();
        let mut new = NewCase::from_handheld(
            "A02-001",
            &format!("占道经营，第 {} 起，附照片", case + 1),
            fix_in("XT-W01-U1", device.store.now_ms()),
        );
        new.photos = refs.clone();
        device.store.record_case(&officer, new).unwrap();
        photos.extend(refs);
    }
    let stored = device.store.photos_not_uploaded().unwrap();
    let thumb_bytes: u64 = stored.iter().map(|p| p.thumb_bytes).sum();
    let photo_bytes: u64 = photos.iter().map(|p| p.bytes).sum();
    let n = photos.len() as u64;
    println!(
        "shift: {} cases, {n} photos ({:.0} KB average, {:.1} MB), {n} thumbnails ({:.1} KB average, {:.0} KB); made in {:.0} s",
        o.cases,
        photo_bytes as f64 / n as f64 / 1000.0,
        photo_bytes as f64 / 1e6,
        thumb_bytes as f64 / n as f64 / 1000.0,
        thumb_bytes as f64 / 1000.0,
        made.elapsed().as_secs_f64(),
    );

    // The phone's own defaults, but for the link's settings under test.
    let mut config = SyncConfig::new(shaper.base.clone(), token);
    config.upload_concurrency = o.concurrency;
    config.request_timeout = Duration::from_secs_f64(o.timeout_s);
    config.upload_full_photos = o.full_photos;
    let client = SyncClient::new(config).unwrap();

    let mut marks = Marks::default();
    let link_rate = up.rate();
    let start = Instant::now();
    let done = client
        .sync(&device.store, &mut |p: &SyncProgress| {
            // Printed as they happen: a full 2G shift runs for hours.
            if p.docs_pending == 0 && p.rounds > 0 && marks.docs.is_none() {
                marks.docs = Some((start.elapsed(), p.bytes_sent));
                println!(
                    "  … every document on the server after {:.1} s",
                    start.elapsed().as_secs_f64()
                );
            }
            if p.photo_bytes_sent >= thumb_bytes && marks.thumbs.is_none() {
                marks.thumbs = Some(start.elapsed());
                println!(
                    "  … every thumbnail on the server after {:.1} s",
                    start.elapsed().as_secs_f64()
                );
            }
            let minute = start.elapsed().as_secs() / 600;
            if minute > marks.reported_10min {
                marks.reported_10min = minute;
                let t = start.elapsed().as_secs_f64();
                print!(
                    "  … {t:.0} s: {:.1} MB of photos sent",
                    p.photo_bytes_sent as f64 / 1e6
                );
                // A real-time 2G shift outlasts a working session: each mark says where the
                // whole shift is heading at the pace of the photos since the thumbnails.
                if let (Some((_, doc_bytes)), Some(t_thumbs)) = (marks.docs, marks.thumbs) {
                    let pace = p.photo_bytes_sent.saturating_sub(thumb_bytes) as f64
                        / (t - t_thumbs.as_secs_f64());
                    let left = (thumb_bytes + photo_bytes).saturating_sub(p.photo_bytes_sent);
                    let ideal_all = (doc_bytes + thumb_bytes + photo_bytes) as f64 / link_rate;
                    if o.full_photos && pace > 0.0 {
                        let whole = t + left as f64 / pace;
                        print!(
                            "; photos at {:.2} KB/s, × {:.3} of the link's rate: at this pace the whole shift takes {whole:.0} s, × {:.3} of ideal",
                            pace / 1000.0,
                            link_rate / pace,
                            whole / ideal_all,
                        );
                    }
                }
                println!();
            }
        })
        .unwrap();
    let all = start.elapsed();
    assert_eq!(done.docs_sent, o.cases);
    assert!(
        device
            .store
            .photos_not_uploaded()
            .unwrap()
            .iter()
            .all(|p| p.thumb_uploaded)
    );
    for p in &stored {
        assert!(
            server
                .storage
                .photo_upload(&p.thumb_sha256)
                .unwrap()
                .complete
        );
        if o.full_photos {
            assert!(
                server
                    .storage
                    .photo_upload(&p.photo.sha256)
                    .unwrap()
                    .complete
            );
        }
    }

    let rate = up.rate();
    let secs = |bytes: u64| bytes as f64 / rate;
    let (t_docs, doc_bytes) = marks.docs.expect("the documents were acknowledged");
    let t_thumbs = marks.thumbs.expect("the thumbnails were acknowledged");
    let ideal_docs = secs(doc_bytes);
    let ideal_thumbs = secs(doc_bytes + thumb_bytes);
    let sent = doc_bytes + thumb_bytes + if o.full_photos { photo_bytes } else { 0 };
    let ideal_all = secs(sent);
    println!(
        "link: {} kbit/s each way, {} ms one way ({} ms round trip), {} B of headers per 1,460 B segment; request timeout {} s; {} thumbnail uploads in flight, full photos {}",
        o.kbit,
        o.delay_ms,
        2 * o.delay_ms,
        o.overhead,
        o.timeout_s,
        o.concurrency,
        if o.full_photos { "on" } else { "off" },
    );
    let row = |what: &str, t: Duration, ideal: f64, target: &str| {
        println!(
            "{what:<28} {:>9.1} s   ideal {:>9.1} s   ratio {:>5.3}   target {target}",
            t.as_secs_f64(),
            ideal,
            t.as_secs_f64() / ideal,
        );
    };
    row(
        &format!("every document ({} KB)", doc_bytes / 1000),
        t_docs,
        ideal_docs,
        "≤ 30 s",
    );
    row(
        &format!("+ every thumbnail ({} KB)", thumb_bytes / 1000),
        t_thumbs,
        ideal_thumbs,
        "≤ 1.2 ×",
    );
    println!(
        "  thumbnails alone           {:>9.1} s   ideal {:>9.1} s   ratio {:>5.3}",
        (t_thumbs - t_docs).as_secs_f64(),
        secs(thumb_bytes),
        (t_thumbs - t_docs).as_secs_f64() / secs(thumb_bytes),
    );
    if o.full_photos {
        row(
            &format!("+ every photo ({:.1} MB)", photo_bytes as f64 / 1e6),
            all,
            ideal_all,
            "≤ 1.05 ×",
        );
    }
    let (up_payload, up_wire) = (
        up.payload.load(std::sync::atomic::Ordering::SeqCst),
        up.wire.load(std::sync::atomic::Ordering::SeqCst),
    );
    println!(
        "up the link: {:.2} MB payload for {:.2} MB of request bodies (HTTP headers and upload-state queries: {:.1} %), {:.2} MB on the wire with TCP/IP headers; {} document rounds, {} photo blobs, {} retries",
        up_payload as f64 / 1e6,
        sent as f64 / 1e6,
        (up_payload as f64 / sent as f64 - 1.0) * 100.0,
        up_wire as f64 / 1e6,
        done.rounds,
        done.photos_sent,
        done.retries,
    );
    println!(
        "down the link: {:.2} MB, {} documents received (its own are not sent back); the whole sync took {:.1} s",
        down.payload.load(std::sync::atomic::Ordering::SeqCst) as f64 / 1e6,
        done.docs_received,
        all.as_secs_f64()
    );

    // The other side: a phone enrolled fresh in the same scope receives the shift — every
    // document and every thumbnail — first with one thumbnail request at a time, then with
    // the configured number in flight.
    let mut ratios = Vec::new();
    for concurrency in [1, o.concurrency] {
        let name = format!("receiver-{concurrency}");
        let (enrolled, token) = server.enroll(&name, DeviceRole::Field, everything());
        let receiver = TestDevice::open(dir.path(), &name, &enrolled, &shaper.base, &token);
        let mut config = SyncConfig::new(shaper.base.clone(), token);
        config.upload_concurrency = concurrency;
        config.request_timeout = Duration::from_secs_f64(o.timeout_s);
        let client = SyncClient::new(config).unwrap();
        let before = down.payload.load(std::sync::atomic::Ordering::SeqCst);
        let start = Instant::now();
        let got = client.sync(&receiver.store, &mut |_| {}).unwrap();
        let took = start.elapsed().as_secs_f64();
        let bytes = down.payload.load(std::sync::atomic::Ordering::SeqCst) - before;
        assert!(got.docs_received >= o.cases, "{got:?}");
        assert_eq!(got.photos_received, n);
        let ideal = bytes as f64 / down.rate();
        println!(
            "a fresh phone receives it, {concurrency} thumbnail request(s) in flight: {took:.1} s for {:.2} MB down ({} rounds), ideal {ideal:.1} s, ratio {:.3}",
            bytes as f64 / 1e6,
            got.rounds,
            took / ideal,
        );
        ratios.push(took / ideal);
    }
    if let [one, many] = ratios[..] {
        println!(
            "receiving: {many:.3} / {one:.3} = × {:.2} of the time with one request at a time",
            many / one
        );
    }
}
