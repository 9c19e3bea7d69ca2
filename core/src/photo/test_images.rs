//! Test inputs made in code: quadrant-coloured images, JPEG/PNG/WebP encodings, and an EXIF
//! APP1 segment built with kamadak-exif's writer, so the tests need no fixture tool.

use std::io::Cursor;

use exif::experimental::Writer;
use exif::{Field, In, Rational, Tag, Value};
use image::{DynamicImage, ImageFormat, Rgb, RgbImage};

/// Top-left red, top-right green, bottom-left blue, bottom-right yellow.
pub const QUADRANT_COLOURS: [[u8; 3]; 4] =
    [[220, 20, 20], [20, 200, 20], [20, 20, 220], [230, 220, 20]];

/// An upright image whose four quadrants have the [`QUADRANT_COLOURS`].
pub fn quadrants(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let i = usize::from(x >= width / 2) + 2 * usize::from(y >= height / 2);
        Rgb(QUADRANT_COLOURS[i])
    })
}

/// The pixels a camera stores so that a viewer applying EXIF `orientation` shows `upright`.
///
/// Written from the EXIF definition (where the stored 0th row and 0th column end up) with
/// explicit coordinates, independently of the `image` crate's rotate functions that the
/// pipeline uses.
pub fn stored_for(upright: &RgbImage, orientation: u16) -> RgbImage {
    let (uw, uh) = upright.dimensions();
    let transposed = orientation >= 5;
    let (sw, sh) = if transposed { (uh, uw) } else { (uw, uh) };
    RgbImage::from_fn(sw, sh, |x, y| {
        // Display position of stored pixel (x, y).
        let (dx, dy) = match orientation {
            1 => (x, y),
            2 => (sw - 1 - x, y),
            3 => (sw - 1 - x, sh - 1 - y),
            4 => (x, sh - 1 - y),
            5 => (y, x),
            6 => (sh - 1 - y, x),
            7 => (sh - 1 - y, sw - 1 - x),
            8 => (y, sw - 1 - x),
            _ => panic!("orientation {orientation}"),
        };
        *upright.get_pixel(dx, dy)
    })
}

/// Encodes as JPEG (no metadata) at `quality`.
pub fn jpeg(img: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(img)
        .unwrap();
    out
}

/// Encodes as PNG or (lossless) WebP.
pub fn encoded(img: &DynamicImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format).unwrap();
    out.into_inner()
}

/// EXIF fields to write into a test JPEG.
#[derive(Debug, Default, Clone, Copy)]
pub struct ExifSpec {
    pub orientation: Option<u16>,
    pub taken: Option<&'static str>,
    pub sub_sec: Option<&'static str>,
    pub offset: Option<&'static str>,
    pub gps: Option<(f64, f64)>,
}

fn ascii(tag: Tag, s: &str) -> Field {
    Field {
        tag,
        ifd_num: In::PRIMARY,
        value: Value::Ascii(vec![s.as_bytes().to_vec()]),
    }
}

fn dms(tag: Tag, degrees: f64) -> Field {
    let d = degrees.abs();
    let whole = d.floor();
    let minutes = ((d - whole) * 60.0).floor();
    let seconds_e4 = (((d - whole) * 60.0 - minutes) * 60.0 * 10_000.0).round();
    let r = |num: f64, denom: u32| Rational {
        num: num as u32,
        denom,
    };
    Field {
        tag,
        ifd_num: In::PRIMARY,
        value: Value::Rational(vec![r(whole, 1), r(minutes, 1), r(seconds_e4, 10_000)]),
    }
}

/// The JPEG `jpeg` with an EXIF APP1 segment (fields of `spec`, plus a camera make, model and
/// serial number that must never reach the stored photo) inserted after SOI.
pub fn with_exif(jpeg: &[u8], spec: &ExifSpec) -> Vec<u8> {
    let mut fields = vec![
        ascii(Tag::Make, "TestPhone"),
        ascii(Tag::Model, "Model X 12MP"),
        ascii(Tag::BodySerialNumber, "SERIAL-0123456789"),
    ];
    if let Some(o) = spec.orientation {
        fields.push(Field {
            tag: Tag::Orientation,
            ifd_num: In::PRIMARY,
            value: Value::Short(vec![o]),
        });
    }
    if let Some(t) = spec.taken {
        fields.push(ascii(Tag::DateTimeOriginal, t));
    }
    if let Some(s) = spec.sub_sec {
        fields.push(ascii(Tag::SubSecTimeOriginal, s));
    }
    if let Some(o) = spec.offset {
        fields.push(ascii(Tag::OffsetTimeOriginal, o));
    }
    if let Some((lat, lon)) = spec.gps {
        fields.push(ascii(
            Tag::GPSLatitudeRef,
            if lat < 0.0 { "S" } else { "N" },
        ));
        fields.push(dms(Tag::GPSLatitude, lat));
        fields.push(ascii(
            Tag::GPSLongitudeRef,
            if lon < 0.0 { "W" } else { "E" },
        ));
        fields.push(dms(Tag::GPSLongitude, lon));
    }
    let mut writer = Writer::new();
    for f in &fields {
        writer.push_field(f);
    }
    let mut tiff = Cursor::new(Vec::new());
    writer.write(&mut tiff, false).unwrap();
    let tiff = tiff.into_inner();
    let seg_len = u16::try_from(2 + 6 + tiff.len()).unwrap();
    let mut out = Vec::with_capacity(jpeg.len() + tiff.len() + 10);
    out.extend_from_slice(&jpeg[..2]);
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&seg_len.to_be_bytes());
    out.extend_from_slice(b"Exif\0\0");
    out.extend_from_slice(&tiff);
    out.extend_from_slice(&jpeg[2..]);
    out
}

/// The marker codes of a JPEG's segments up to and including the first SOS.
pub fn header_markers(jpeg: &[u8]) -> Vec<u8> {
    assert_eq!(&jpeg[..2], &[0xFF, 0xD8], "not a JPEG");
    let mut markers = vec![];
    let mut i = 2;
    while i + 4 <= jpeg.len() {
        assert_eq!(jpeg[i], 0xFF, "marker expected at {i}");
        let marker = jpeg[i + 1];
        markers.push(marker);
        if marker == 0xDA {
            break;
        }
        i += 2 + usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
    }
    markers
}

/// The JPEG with its SOF0 frame header patched to claim `width`×`height` pixels.
pub fn jpeg_claiming(width: u16, height: u16) -> Vec<u8> {
    let mut bytes = jpeg(&quadrants(8, 8), 90);
    let sof = bytes.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    bytes[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
    bytes[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
    bytes
}

/// The PNG with its IHDR patched to claim `width`×`height` pixels (CRC recomputed, so only the
/// size check can refuse it).
pub fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = encoded(&DynamicImage::ImageRgb8(quadrants(8, 8)), ImageFormat::Png);
    // Signature (8), IHDR length (4), "IHDR" (4), width (4), height (4), ... CRC after 13 bytes.
    bytes[16..20].copy_from_slice(&width.to_be_bytes());
    bytes[20..24].copy_from_slice(&height.to_be_bytes());
    let crc = crc32(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.to_be_bytes());
    bytes
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// The process's peak virtual memory (VmPeak) in bytes, on Linux.
pub fn vm_peak_bytes() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmPeak:"))?;
    let kb: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb * 1024)
}

/// Whether `actual` is within `tolerance` of `expected` on every channel.
pub fn close(actual: [u8; 3], expected: [u8; 3], tolerance: u8) -> bool {
    actual
        .iter()
        .zip(expected)
        .all(|(a, e)| a.abs_diff(e) <= tolerance)
}
