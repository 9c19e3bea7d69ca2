//! `prepare`: from the bytes a camera hands over to the stored JPEG, its thumbnail and hash.

use std::io::Cursor;

use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, ImageReader, Limits};
use sha2::{Digest, Sha256};

use super::format::{self, PhotoFormat};
use super::metadata::{self, OriginalMetadata};
use super::{PhotoError, PhotoOptions, encode, jpeg_scan, jpeg_structure, resize};

/// A photo ready to be stored: metadata-free JPEG bytes, a thumbnail, the content address, and
/// what the original said about itself.
///
/// Not serialisable on purpose: the bytes go to the photo store, and only the hash, sizes,
/// dimensions and [`OriginalMetadata`] go into the case document.
#[derive(Clone, PartialEq)]
pub struct PreparedPhoto {
    /// The stored photo: baseline JPEG, upright, longest edge ≤ `max_edge`, no metadata.
    pub jpeg: Vec<u8>,
    /// The thumbnail: baseline JPEG, upright, longest edge ≤ `thumb_edge`, no metadata.
    pub thumbnail: Vec<u8>,
    /// SHA-256 of [`jpeg`](Self::jpeg), 64 lowercase hex digits: the photo's content address,
    /// so the same photo attached twice is stored (and uploaded) once.
    pub sha256: String,
    /// Width of the stored photo, as displayed (after orientation).
    pub width: u32,
    /// Height of the stored photo, as displayed.
    pub height: u32,
    /// Width of the thumbnail.
    pub thumb_width: u32,
    /// Height of the thumbnail.
    pub thumb_height: u32,
    /// Facts read from the original before its metadata was dropped.
    pub original: OriginalMetadata,
}

/// Shows sizes instead of megabytes of bytes, so a logged photo stays readable.
impl std::fmt::Debug for PreparedPhoto {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreparedPhoto")
            .field("jpeg", &format_args!("<{} bytes>", self.jpeg.len()))
            .field(
                "thumbnail",
                &format_args!("<{} bytes>", self.thumbnail.len()),
            )
            .field("sha256", &self.sha256)
            .field("size", &format_args!("{}×{}", self.width, self.height))
            .field(
                "thumb_size",
                &format_args!("{}×{}", self.thumb_width, self.thumb_height),
            )
            .field("original", &self.original)
            .finish()
    }
}

/// Turns the bytes of a camera photo (JPEG, PNG or WebP) into a [`PreparedPhoto`].
///
/// Steps, in an order chosen to bound memory to one full-size image:
/// 1. refuse empty, oversized, unsupported (HEIC, …) and truncated files from their bytes alone;
/// 2. read orientation, capture time and GPS from the EXIF, before anything is decoded;
/// 3. read the header's pixel size and refuse more than `max_input_pixels` before allocating,
///    and a size the file's bytes cannot hold ([`PhotoError::Implausible`]);
/// 4. decode (the only full-size buffer), downscale to `max_edge`, and free the full-size image;
///    for a JPEG, walk the picture data meanwhile (on another core) and refuse a scan that stops
///    before its last block (a file cut short and given an end marker, which the decoder fills
///    with grey without a word);
/// 5. apply the EXIF orientation to the small image (a rotation or flip commutes with a uniform
///    resize, and turning 2 MP is cheaper than turning 12 MP);
/// 6. encode a metadata-free JPEG, make the thumbnail from the small image, hash the JPEG.
///
/// Pure: no I/O, nothing stored; any error leaves nothing behind.
pub fn prepare(bytes: &[u8], opts: &PhotoOptions) -> Result<PreparedPhoto, PhotoError> {
    opts.validate()?;
    if bytes.len() > opts.max_input_bytes {
        return Err(PhotoError::TooManyBytes {
            bytes: bytes.len(),
            max: opts.max_input_bytes,
        });
    }
    let format = format::sniff(bytes)?;
    if format == PhotoFormat::Jpeg {
        jpeg_structure::check_complete(bytes).map_err(|damage| PhotoError::Corrupt {
            format,
            detail: damage.to_string(),
        })?;
    }
    let facts = metadata::read_exif(bytes);

    let decoded = decode_bounded(bytes, format, opts)?;
    let original = OriginalMetadata {
        format,
        width: decoded.width(),
        height: decoded.height(),
        orientation: facts.orientation,
        taken_at_ms: facts.taken_at_ms,
        gps: facts.gps,
    };

    // Rotating by 90° swaps the sides but keeps the longest edge, so fitting the raw image into
    // `max_edge` gives the same size as fitting the upright one.
    let small = match resize::downscale(&decoded, opts.max_edge)? {
        Some(small) => {
            drop(decoded);
            small
        }
        None => decoded,
    };
    let mut small = resize::to_jpeg_colour(small);
    if let Some(orientation) = u8::try_from(facts.orientation)
        .ok()
        .and_then(Orientation::from_exif)
    {
        small.apply_orientation(orientation);
    }

    let jpeg = encode::jpeg(&small, opts.quality)?;
    let thumb = resize::downscale(&small, opts.thumb_edge)?;
    let thumb = thumb.as_ref().unwrap_or(&small);
    let thumbnail = encode::jpeg(thumb, opts.quality)?;
    let sha256 = hex(&Sha256::digest(&jpeg));

    Ok(PreparedPhoto {
        width: small.width(),
        height: small.height(),
        thumb_width: thumb.width(),
        thumb_height: thumb.height(),
        jpeg,
        thumbnail,
        sha256,
        original,
    })
}

/// Decodes with the pixel count checked against the header first, and `image`'s allocation
/// limit as a second fence (it also covers what a decoder allocates besides the output buffer).
fn decode_bounded(
    bytes: &[u8],
    format: PhotoFormat,
    opts: &PhotoOptions,
) -> Result<DynamicImage, PhotoError> {
    let corrupt = |e: image::ImageError| match e {
        image::ImageError::Limits(limit) => PhotoError::Corrupt {
            format,
            detail: format!("decoding would exceed the memory limit: {limit}"),
        },
        other => PhotoError::Corrupt {
            format,
            detail: other.to_string(),
        },
    };
    let mut limits = Limits::default();
    // 4 bytes per pixel (8-bit RGBA) of the largest accepted image; a 16-bit PNG near the pixel
    // limit is refused by this rather than allowed twice the memory.
    limits.max_alloc = Some(opts.max_input_pixels.saturating_mul(4));
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format.image_format());
    reader.limits(limits);
    // Building the decoder reads only the header.
    let decoder = reader.into_decoder().map_err(corrupt)?;
    let (width, height) = decoder.dimensions();
    if u64::from(width) * u64::from(height) > opts.max_input_pixels {
        return Err(PhotoError::TooManyPixels {
            format,
            width,
            height,
            max_pixels: opts.max_input_pixels,
        });
    }
    if width == 0 || height == 0 {
        return Err(PhotoError::Corrupt {
            format,
            detail: format!("the header declares {width}×{height} pixels"),
        });
    }
    if let Some(min_bytes) = min_bytes(format, width, height)
        && (bytes.len() as u64) < min_bytes
    {
        return Err(PhotoError::Implausible {
            format,
            width,
            height,
            bytes: bytes.len(),
            min_bytes,
        });
    }
    let needed = decoder.total_bytes();
    if needed > opts.max_input_pixels.saturating_mul(4) {
        return Err(PhotoError::Corrupt {
            format,
            detail: format!(
                "decoding {width}×{height} {:?} pixels would need {needed} bytes, \
                 more than the {} allowed",
                decoder.color_type(),
                opts.max_input_pixels.saturating_mul(4)
            ),
        });
    }
    if format != PhotoFormat::Jpeg {
        return DynamicImage::from_decoder(decoder).map_err(corrupt);
    }
    let check = || {
        jpeg_scan::check_scans(bytes).map_err(|damage| PhotoError::Corrupt {
            format,
            detail: damage.to_string(),
        })
    };
    // The walk over the picture data and the decode read the same bytes independently, and the
    // walk takes about half as long as the decode (40 against 80 ms for the benchmark's 12 MP
    // photo): run it on another core meanwhile, so a sound photo costs no time. If no thread
    // can be started, it runs first.
    std::thread::scope(|scope| {
        let walk = std::thread::Builder::new()
            .name("jpeg-scan-check".into())
            .spawn_scoped(scope, check);
        match walk {
            Ok(walk) => {
                let decoded = DynamicImage::from_decoder(decoder);
                // Damage explains a failed decode better than the decoder does: checked first.
                walk.join().map_err(|_| PhotoError::Internal {
                    step: "check the picture data of",
                    detail: "the check stopped unexpectedly".into(),
                })??;
                decoded.map_err(corrupt)
            }
            Err(_) => {
                check()?;
                DynamicImage::from_decoder(decoder).map_err(corrupt)
            }
        }
    })
}

/// The fewest bytes a complete `format` image of `width`×`height` pixels can have, or `None`
/// when the format has no useful floor.
///
/// Why these floors: a damaged header (or a file cut to a few KB) that declares a big picture
/// would otherwise be decoded into a mostly grey photo after allocating its full size. The
/// floors are lower bounds no complete image can go under, not statistics, so they can never
/// refuse a real photo, however uniform (a black frame with the lens covered, a white wall):
/// * JPEG: every 8×8 block of the full-resolution component codes its DC coefficient with a
///   Huffman code of at least one bit, in sequential and progressive JPEGs alike, so the
///   picture data alone holds at least one bit per block: `⌈W/8⌉·⌈H/8⌉ / 8` bytes, W·H/512.
///   (Arithmetic coding could go lower, but the decoder reads no arithmetic-coded JPEG.) Real
///   files are far above, measured: the benchmark's 12 MP camera-like photo (3.9 MB) holds 170
///   times the floor; in the tests a uniform black 1000×750 frame with the standard tables 14
///   times, and a uniform grey one coded progressive with optimised tables — the most compact
///   a JPEG encoder makes — still 4 times. An 8000×6000 JPEG needs at least 94 kB (92 KB), a
///   4000×3000 one 23 kB.
/// * PNG: deflate compresses at most 1032:1 (one match of 258 bytes coded in at least 2 bits),
///   and the image data is at least a filter byte and one bit per pixel per row:
///   `H·(1 + ⌈W/8⌉) / 1032` bytes (5.7 KB for 8000×6000).
/// * WebP: none. Lossless WebP codes a one-colour image of any size in a few dozen bytes (a
///   Huffman code with a single symbol takes no bits), so no floor would refuse anything a
///   damaged file looks like without also refusing some valid file; the decoder's own checks
///   (chunk sizes) catch a cut WebP.
fn min_bytes(format: PhotoFormat, width: u32, height: u32) -> Option<u64> {
    let (w, h) = (u64::from(width), u64::from(height));
    match format {
        PhotoFormat::Jpeg => Some(w.div_ceil(8) * h.div_ceil(8) / 8),
        PhotoFormat::Png => Some(h * (1 + w.div_ceil(8)) / 1032),
        PhotoFormat::Webp => None,
    }
}

/// Lowercase hex of a digest.
fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        s.push(char::from(DIGITS[usize::from(b >> 4)]));
        s.push(char::from(DIGITS[usize::from(b & 0x0F)]));
    }
    s
}

#[cfg(test)]
#[path = "pipeline_tests.rs"]
mod tests;
