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

/// `jpeg` cut in the middle of its picture data and closed with an End Of Image marker, as a
/// repair tool or a careless copy leaves it.
fn cut_in_the_scan_and_closed(jpeg: &[u8]) -> Vec<u8> {
    let sos = jpeg.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
    let data = sos + 2 + usize::from(u16::from_be_bytes([jpeg[sos + 2], jpeg[sos + 3]]));
    let at = data + (jpeg.len() - 2 - data) / 2;
    let mut cut = jpeg[..at].to_vec();
    cut.extend_from_slice(&[0xFF, 0xD9]);
    cut
}

#[test]
fn a_jpeg_cut_short_and_closed_with_an_end_marker_is_refused() {
    let jpeg = test_images::jpeg(&test_images::quadrants(1200, 900), 90);
    let cut = cut_in_the_scan_and_closed(&jpeg);
    // The decoder alone takes it, and fills the lost half: this is what must not be stored.
    let lenient = decode(&cut);
    assert_eq!(lenient.dimensions(), (1200, 900));
    assert!(
        !close(lenient.get_pixel(900, 800).0, QUADRANT_COLOURS[3], 40),
        "the decoder was expected to lose the bottom right quadrant"
    );

    let (err, took) = refused(&cut);
    let PhotoError::Corrupt {
        format: PhotoFormat::Jpeg,
        detail,
    } = &err
    else {
        panic!("expected Corrupt, got {err:?}");
    };
    assert!(detail.contains("cut short"), "{detail}");
    assert!(detail.contains("% of the way through"), "{detail}");
    let msg = err.to_string();
    assert!(msg.contains("take or copy the photo again"), "{msg}");
    assert!(took < Duration::from_secs(1), "took {took:?}");

    // The same photo whole is accepted, with EXIF in front of it too.
    assert!(prepare(&jpeg, &PhotoOptions::default()).is_ok());
    let with_exif = test_images::with_exif(&jpeg, &ExifSpec::default());
    assert!(prepare(&with_exif, &PhotoOptions::default()).is_ok());
}

#[test]
fn a_header_declaring_far_more_pixels_than_the_bytes_hold_is_refused() {
    for (what, bytes, format) in [
        (
            "jpeg",
            test_images::jpeg_claiming(8000, 6000),
            PhotoFormat::Jpeg,
        ),
        (
            "png",
            test_images::png_claiming(8000, 6000),
            PhotoFormat::Png,
        ),
    ] {
        assert!(bytes.len() < 3 * 1024, "{what} is {} bytes", bytes.len());
        let before = test_images::vm_peak_bytes();
        let (err, took) = refused(&bytes);
        let after = test_images::vm_peak_bytes();
        let PhotoError::Implausible {
            format: f,
            width: 8000,
            height: 6000,
            bytes: n,
            min_bytes,
        } = &err
        else {
            panic!("{what}: expected Implausible, got {err:?}");
        };
        assert_eq!(*f, format);
        assert_eq!(*n, bytes.len());
        assert!(*min_bytes > 5000, "{what}: floor {min_bytes}");
        let msg = err.to_string();
        assert!(
            msg.contains("declares 8000×6000 pixels but holds only")
                && msg.contains(&format!("{} bytes", bytes.len()))
                && msg.contains("damaged or truncated; take the photo again"),
            "{msg}"
        );
        assert!(took < Duration::from_millis(500), "{what} took {took:?}");
        // Refused before the 144 MB pixel buffer is allocated.
        if let (Some(before), Some(after)) = (before, after) {
            assert!(
                after - before < 100 << 20,
                "{what}: VmPeak grew by {} MB",
                (after - before) >> 20
            );
        }
    }
}

#[test]
fn the_size_floor_never_refuses_a_complete_image() {
    // The floors are lower bounds, not statistics: even the most compressible pictures, coded
    // as compactly as each format allows, stay above them.
    let (w, h) = (1000u32, 750u32);
    let grey = image::GrayImage::from_pixel(w, h, image::Luma([128]));
    let black = image::RgbImage::from_pixel(w, h, image::Rgb([0, 0, 0]));
    // Progressive with optimised tables: one bit per block for DC, and one end-of-band run
    // for whole rows of blocks.
    let mut compact = Vec::new();
    let mut encoder = jpeg_encoder::Encoder::new(&mut compact, 50);
    encoder.set_progressive(true);
    encoder.set_optimized_huffman_tables(true);
    encoder
        .encode(
            grey.as_raw(),
            w as u16,
            h as u16,
            jpeg_encoder::ColorType::Luma,
        )
        .unwrap();
    let cases = [
        (
            "grey, progressive, optimised tables",
            compact,
            PhotoFormat::Jpeg,
        ),
        (
            "black, standard tables",
            test_images::jpeg(&black, 50),
            PhotoFormat::Jpeg,
        ),
        (
            "grey PNG",
            test_images::encoded(&DynamicImage::ImageLuma8(grey.clone()), ImageFormat::Png),
            PhotoFormat::Png,
        ),
    ];
    for (what, bytes, format) in cases {
        let floor = super::min_bytes(format, w, h).unwrap();
        assert!(
            bytes.len() as u64 >= floor,
            "{what}: {} bytes under the floor of {floor}",
            bytes.len()
        );
        let photo = prepare(&bytes, &PhotoOptions::default()).unwrap();
        assert_eq!((photo.original.width, photo.original.height), (w, h));
    }
    // And a real photo is far above: camera JPEGs hold bits per pixel, not bits per block.
    assert_eq!(
        super::min_bytes(PhotoFormat::Jpeg, 4000, 3000),
        Some(23_437)
    );
    assert_eq!(super::min_bytes(PhotoFormat::Webp, 4000, 3000), None);
}
