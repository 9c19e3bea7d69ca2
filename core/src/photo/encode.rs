//! Encoding the stored photo and its thumbnail.

use image::DynamicImage;
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

use super::PhotoError;

/// Encodes an 8-bit RGB or grey image as a baseline JPEG at `quality`, carrying no metadata.
///
/// `jpeg-encoder` writes SOI, a JFIF APP0 (no personal data: version and pixel density), the
/// tables, SOF0 (baseline) and the scan. It writes other APPn segments (EXIF, ICC) only when
/// asked with `add_app_segment`/`add_icc_profile`, which we never call: this is how the stored
/// photo ends up without GPS position, device serial or maker notes. A test checks the output
/// markers.
///
/// Colour is subsampled 4:2:0, as phone cameras and ImageMagick do. Against `image`'s own
/// encoder (4:4:4) this made the whole import of a 12 MP photo 24% faster (151 → 115 ms median,
/// same machine, same run conditions), the stored photo 8% smaller (309 → 284 KB) and the
/// thumbnail 32% smaller (9.2 → 6.3 KB) in the photo benchmark
/// (`cargo bench -p wangge-core --bench photo_import`).
///
/// Huffman tables optimised for the image would cut the photo to ~177 KB, but are **not** used:
/// `jpeg-encoder` 0.6.1's optimised tables decode with wrong colours in `image`'s JPEG decoder
/// (zune-jpeg 0.5: a red quadrant comes back green) while libjpeg decodes them correctly. A
/// stored photo must look right in every decoder that may show it; the orientation tests, which
/// compare decoded colours, fail if they are switched on.
pub(crate) fn jpeg(img: &DynamicImage, quality: u8) -> Result<Vec<u8>, PhotoError> {
    let colour = match img {
        DynamicImage::ImageRgb8(_) => ColorType::Rgb,
        DynamicImage::ImageLuma8(_) => ColorType::Luma,
        other => {
            return Err(PhotoError::Internal {
                step: "encode",
                detail: format!("unexpected pixel layout {:?}", other.color()),
            });
        }
    };
    let side = |v: u32| {
        u16::try_from(v).map_err(|_| PhotoError::Internal {
            step: "encode",
            detail: format!("{v} pixels is beyond JPEG's 65535-pixel limit"),
        })
    };
    let (width, height) = (side(img.width())?, side(img.height())?);
    // About 1 bit per pixel at quality 80 with 4:2:0 avoids most reallocations.
    let capacity = (img.width() as usize * img.height() as usize) / 8;
    let mut out = Vec::with_capacity(capacity);
    let mut encoder = Encoder::new(&mut out, quality);
    encoder.set_sampling_factor(SamplingFactor::F_2_2);
    encoder
        .encode(img.as_bytes(), width, height, colour)
        .map_err(|e| PhotoError::Internal {
            step: "encode",
            detail: e.to_string(),
        })?;
    Ok(out)
}
