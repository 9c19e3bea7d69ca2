//! Tests of [`prepare`] on images made in code (see `test_images`).

use std::time::{Duration, Instant};

use image::{DynamicImage, GenericImageView, ImageFormat, Rgba, RgbaImage};

use super::*;
use crate::photo::test_images::{self, ExifSpec, QUADRANT_COLOURS, close};

fn small_opts(max_edge: u32, thumb_edge: u32) -> PhotoOptions {
    PhotoOptions {
        max_edge,
        thumb_edge,
        ..PhotoOptions::default()
    }
}

fn decode(jpeg: &[u8]) -> image::RgbImage {
    image::load_from_memory_with_format(jpeg, ImageFormat::Jpeg)
        .unwrap()
        .to_rgb8()
}

/// Asserts that the four quadrants of `img` have the upright quadrant colours, sampling each one
/// at a quarter of the way in from its corner (away from edges blurred by resizing and JPEG).
fn assert_upright(img: &image::RgbImage, what: &str) {
    let (w, h) = img.dimensions();
    let samples = [
        (w / 4, h / 4),
        (3 * w / 4, h / 4),
        (w / 4, 3 * h / 4),
        (3 * w / 4, 3 * h / 4),
    ];
    for ((x, y), expected) in samples.into_iter().zip(QUADRANT_COLOURS) {
        let actual = img.get_pixel(x, y).0;
        assert!(
            close(actual, expected, 40),
            "{what}: pixel ({x},{y}) is {actual:?}, expected {expected:?}"
        );
    }
}

#[test]
fn all_eight_orientations_come_out_upright() {
    let upright = test_images::quadrants(400, 300);
    for orientation in 1..=8u16 {
        let stored = test_images::stored_for(&upright, orientation);
        let spec = ExifSpec {
            orientation: Some(orientation),
            ..ExifSpec::default()
        };
        let bytes = test_images::with_exif(&test_images::jpeg(&stored, 95), &spec);
        let photo = prepare(&bytes, &small_opts(200, 40)).unwrap();
        assert_eq!(photo.original.orientation, orientation);
        assert_eq!(
            (photo.original.width, photo.original.height),
            stored.dimensions()
        );
        assert_eq!(
            (photo.width, photo.height),
            (200, 150),
            "orientation {orientation}"
        );
        assert_eq!(
            (photo.thumb_width, photo.thumb_height),
            (40, 30),
            "orientation {orientation}"
        );
        let out = decode(&photo.jpeg);
        assert_eq!(out.dimensions(), (200, 150));
        assert_upright(&out, &format!("orientation {orientation}"));
        assert_upright(
            &decode(&photo.thumbnail),
            &format!("thumbnail, orientation {orientation}"),
        );
    }
}

#[test]
fn orientation_is_applied_when_no_resize_is_needed() {
    let upright = test_images::quadrants(120, 80);
    let stored = test_images::stored_for(&upright, 8);
    let spec = ExifSpec {
        orientation: Some(8),
        ..ExifSpec::default()
    };
    let bytes = test_images::with_exif(&test_images::jpeg(&stored, 95), &spec);
    let photo = prepare(&bytes, &PhotoOptions::default()).unwrap();
    assert_eq!((photo.width, photo.height), (120, 80));
    assert_upright(&decode(&photo.jpeg), "unresized orientation 8");
}

#[test]
fn stored_photo_and_thumbnail_carry_no_metadata() {
    let spec = ExifSpec {
        orientation: Some(6),
        taken: Some("2024:05:01 14:03:22"),
        sub_sec: None,
        offset: Some("+08:00"),
        gps: Some((31.1937, 121.4527)),
    };
    let bytes = test_images::with_exif(
        &test_images::jpeg(&test_images::quadrants(300, 200), 90),
        &spec,
    );
    // The input really carries what must be stripped.
    assert!(
        exif::Reader::new()
            .read_from_container(&mut Cursor::new(&bytes))
            .is_ok()
    );
    assert!(bytes.windows(17).any(|w| w == b"SERIAL-0123456789"));

    let photo = prepare(&bytes, &small_opts(150, 50)).unwrap();
    assert!(photo.original.gps.is_some() && photo.original.taken_at_ms.is_some());
    for (what, out) in [("photo", &photo.jpeg), ("thumbnail", &photo.thumbnail)] {
        let Err(err) = exif::Reader::new().read_from_container(&mut Cursor::new(out)) else {
            panic!("{what}: EXIF found in the stored bytes");
        };
        assert!(matches!(err, exif::Error::NotFound(_)), "{what}: {err:?}");
        let markers = test_images::header_markers(out);
        // Only JFIF APP0, quantisation and Huffman tables, baseline SOF0, and the scan.
        assert!(
            markers
                .iter()
                .all(|m| [0xE0, 0xDB, 0xC4, 0xC0, 0xDA].contains(m)),
            "{what}: markers {markers:02x?}"
        );
        assert!(
            markers.contains(&0xC0),
            "{what} is not baseline: {markers:02x?}"
        );
        assert!(
            !out.windows(4).any(|w| w == b"Exif"),
            "{what} contains an Exif header"
        );
        assert!(
            !out.windows(6).any(|w| w == b"SERIAL"),
            "{what} contains the serial number"
        );
    }
}

#[test]
fn sizes_follow_the_options_and_never_upscale() {
    let big = test_images::jpeg(&test_images::quadrants(2000, 1500), 85);
    let photo = prepare(&big, &PhotoOptions::default()).unwrap();
    assert_eq!((photo.width, photo.height), (1600, 1200));
    assert_eq!((photo.thumb_width, photo.thumb_height), (320, 240));
    assert_eq!(decode(&photo.thumbnail).dimensions(), (320, 240));

    let small = test_images::jpeg(&test_images::quadrants(800, 600), 85);
    let photo = prepare(&small, &PhotoOptions::default()).unwrap();
    assert_eq!((photo.width, photo.height), (800, 600));
    assert_eq!(decode(&photo.jpeg).dimensions(), (800, 600));
    assert_eq!((photo.thumb_width, photo.thumb_height), (320, 240));

    let tiny = test_images::jpeg(&test_images::quadrants(200, 100), 85);
    let photo = prepare(&tiny, &PhotoOptions::default()).unwrap();
    assert_eq!(
        (
            photo.width,
            photo.height,
            photo.thumb_width,
            photo.thumb_height
        ),
        (200, 100, 200, 100)
    );
}

#[test]
fn hash_is_sha256_of_the_stored_bytes_and_deterministic() {
    let bytes = test_images::jpeg(&test_images::quadrants(300, 200), 90);
    let a = prepare(&bytes, &PhotoOptions::default()).unwrap();
    let b = prepare(&bytes, &PhotoOptions::default()).unwrap();
    assert_eq!(
        a.sha256, b.sha256,
        "same input must give the same content address"
    );
    assert_eq!(a.sha256, hex(&Sha256::digest(&a.jpeg)));
    assert_eq!(a.sha256.len(), 64);
    let debug = format!("{a:?}");
    assert!(
        debug.contains(&format!("<{} bytes>", a.jpeg.len())) && debug.len() < 600,
        "{debug}"
    );
    assert!(
        a.sha256
            .bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
    );
    // Known vector: SHA-256 of the empty string.
    assert_eq!(
        hex(&Sha256::digest(b"")),
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    );
    let other = prepare(
        &bytes,
        &PhotoOptions {
            quality: 60,
            ..PhotoOptions::default()
        },
    )
    .unwrap();
    assert_ne!(a.sha256, other.sha256);
}

#[test]
fn png_with_transparency_and_webp_are_accepted() {
    let quadrants = test_images::quadrants(400, 300);
    let mut rgba = RgbaImage::from_fn(400, 300, |x, y| {
        let [r, g, b] = quadrants.get_pixel(x, y).0;
        Rgba([r, g, b, 255])
    });
    // A fully transparent strip at the top comes out white, not black.
    for x in 0..400 {
        for y in 0..20 {
            rgba.put_pixel(x, y, Rgba([0, 0, 0, 0]));
        }
    }
    let png = test_images::encoded(&DynamicImage::ImageRgba8(rgba), ImageFormat::Png);
    let photo = prepare(&png, &small_opts(200, 50)).unwrap();
    assert_eq!(photo.original.format, PhotoFormat::Png);
    assert_eq!((photo.original.width, photo.original.height), (400, 300));
    assert_eq!((photo.width, photo.height), (200, 150));
    let out = decode(&photo.jpeg);
    assert!(
        close(out.get_pixel(100, 2).0, [255, 255, 255], 12),
        "{:?}",
        out.get_pixel(100, 2)
    );
    assert_upright(&out, "png");

    let webp = test_images::encoded(
        &DynamicImage::ImageRgb8(test_images::quadrants(400, 300)),
        ImageFormat::WebP,
    );
    let photo = prepare(&webp, &small_opts(200, 50)).unwrap();
    assert_eq!(photo.original.format, PhotoFormat::Webp);
    assert_eq!(
        (
            photo.width,
            photo.height,
            photo.thumb_width,
            photo.thumb_height
        ),
        (200, 150, 50, 38)
    );
    assert_upright(&decode(&photo.jpeg), "webp");

    let grey = DynamicImage::ImageLuma8(image::GrayImage::from_pixel(300, 200, image::Luma([90])));
    let photo = prepare(
        &test_images::encoded(&grey, ImageFormat::Png),
        &small_opts(150, 50),
    )
    .unwrap();
    let out = image::load_from_memory(&photo.jpeg).unwrap();
    assert_eq!(out.dimensions(), (150, 100));
    assert!(out.to_luma8().pixels().all(|p| p.0[0].abs_diff(90) <= 3));
}

/// Runs `prepare` and returns its error and how long it took.
fn refused(bytes: &[u8]) -> (PhotoError, Duration) {
    let started = Instant::now();
    let err = prepare(bytes, &PhotoOptions::default()).unwrap_err();
    (err, started.elapsed())
}

#[test]
fn bad_inputs_fail_quickly_with_clear_errors() {
    let jpeg = test_images::jpeg(&test_images::quadrants(1200, 900), 90);
    let png = test_images::encoded(
        &DynamicImage::ImageRgb8(test_images::quadrants(600, 400)),
        ImageFormat::Png,
    );
    let webp = test_images::encoded(
        &DynamicImage::ImageRgb8(test_images::quadrants(600, 400)),
        ImageFormat::WebP,
    );
    let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic\0\0\0\0meta".to_vec();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("zero bytes", vec![], "empty (0 bytes)"),
        (
            "text",
            b"Case 42: garbage overflowing on Xietu Road".to_vec(),
            "not a photo",
        ),
        (
            "heic",
            heic,
            "HEIC photos are not supported: convert to JPEG first",
        ),
        (
            "truncated jpeg",
            jpeg[..jpeg.len() / 2].to_vec(),
            "cut short",
        ),
        (
            "truncated png",
            png[..png.len() / 2].to_vec(),
            "PNG photo is damaged",
        ),
        (
            "truncated webp",
            webp[..webp.len() / 2].to_vec(),
            "WebP photo is damaged",
        ),
    ];
    for (what, bytes, expected) in cases {
        let (err, took) = refused(&bytes);
        let msg = err.to_string();
        assert!(msg.contains(expected), "{what}: {msg}");
        assert!(took < Duration::from_secs(1), "{what} took {took:?}");
    }
}

#[test]
fn oversized_files_are_refused_before_decoding() {
    let bytes = test_images::jpeg(&test_images::quadrants(64, 64), 90);
    let opts = PhotoOptions {
        max_input_bytes: 100,
        ..PhotoOptions::default()
    };
    let err = prepare(&bytes, &opts).unwrap_err();
    assert!(
        matches!(err, PhotoError::TooManyBytes { max: 100, .. }),
        "{err:?}"
    );
}

#[test]
fn decompression_bombs_are_refused_from_the_header_without_allocating() {
    let bombs = [
        (
            "jpeg",
            test_images::jpeg_claiming(60_000, 60_000),
            PhotoFormat::Jpeg,
        ),
        (
            "png",
            test_images::png_claiming(60_000, 60_000),
            PhotoFormat::Png,
        ),
    ];
    for (what, bytes, format) in bombs {
        assert!(bytes.len() < 2000, "{what} bomb is {} bytes", bytes.len());
        let before = test_images::vm_peak_bytes();
        let (err, took) = refused(&bytes);
        let after = test_images::vm_peak_bytes();
        match &err {
            PhotoError::TooManyPixels {
                format: f,
                width: 60_000,
                height: 60_000,
                ..
            } => assert_eq!(*f, format),
            other => panic!("{what}: expected TooManyPixels, got {other:?}"),
        }
        assert!(err.to_string().contains("60000×60000"), "{err}");
        assert!(took < Duration::from_millis(500), "{what} took {took:?}");
        // 60000×60000 RGB would be 10.8 GB; even counting other tests running alongside, the
        // process's peak virtual size must not have grown by anything near that.
        if let (Some(before), Some(after)) = (before, after) {
            assert!(
                after - before < 1 << 30,
                "{what}: VmPeak grew by {} MB",
                (after - before) >> 20
            );
        }
    }
}
