//! Encoding the stored photo and its thumbnail.

use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ExtendedColorType};

use super::PhotoError;

/// Encodes an 8-bit RGB or grey image as a baseline JPEG at `quality`, carrying no metadata.
///
/// `image`'s encoder writes SOI, a JFIF APP0 (no personal data: version and pixel density), the
/// tables, SOF0 (baseline) and the scan. It writes EXIF (APP1) and ICC (APP2) only when asked
/// with `set_exif_metadata`/`set_icc_profile`, which we never call: this is how the stored photo
/// ends up without GPS position, device serial or maker notes. A test checks the output markers.
pub(crate) fn jpeg(img: &DynamicImage, quality: u8) -> Result<Vec<u8>, PhotoError> {
    let colour = match img {
        DynamicImage::ImageRgb8(_) => ExtendedColorType::Rgb8,
        DynamicImage::ImageLuma8(_) => ExtendedColorType::L8,
        other => {
            return Err(PhotoError::Internal {
                step: "encode",
                detail: format!("unexpected pixel layout {:?}", other.color()),
            });
        }
    };
    // About 1.5 bits per pixel at quality 80 avoids most reallocations.
    let capacity = (img.width() as usize * img.height() as usize) / 5;
    let mut out = Vec::with_capacity(capacity);
    JpegEncoder::new_with_quality(&mut out, quality)
        .encode(img.as_bytes(), img.width(), img.height(), colour)
        .map_err(|e| PhotoError::Internal {
            step: "encode",
            detail: e.to_string(),
        })?;
    Ok(out)
}
