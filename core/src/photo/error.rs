//! The errors of the capture pipeline.

use super::PhotoFormat;

/// Why a photo could not be prepared. Every message says what is wrong and what the user can do;
/// none of these errors leaves anything stored, since [`prepare`](super::prepare) is pure.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    /// The input has no bytes at all (a failed copy from the camera or gallery).
    #[error("the photo is empty (0 bytes): take the photo again or choose another file")]
    Empty,
    /// The input file is larger than [`PhotoOptions::max_input_bytes`](super::PhotoOptions).
    #[error(
        "the photo file is {bytes} bytes, more than the {max} bytes accepted: \
         lower the camera resolution or choose a smaller file"
    )]
    TooManyBytes {
        /// Size of the input.
        bytes: usize,
        /// The configured maximum.
        max: usize,
    },
    /// The file is not a JPEG, PNG or WebP image; the message names what it is when known
    /// (HEIC, AVIF, GIF, …) and how to get a JPEG instead.
    #[error("{0}")]
    Unsupported(String),
    /// The header declares more pixels than [`PhotoOptions::max_input_pixels`](super::PhotoOptions);
    /// detected before any pixel buffer is allocated.
    #[error(
        "the {format} image declares {width}×{height} pixels, more than the {max_pixels} accepted: \
         lower the camera resolution (12 MP is plenty) or choose another photo"
    )]
    TooManyPixels {
        /// Format of the input.
        format: PhotoFormat,
        /// Width declared by the header.
        width: u32,
        /// Height declared by the header.
        height: u32,
        /// The configured maximum.
        max_pixels: u64,
    },
    /// The header declares far more pixels than the file's bytes can hold: a file cut short or
    /// a damaged header. Detected before anything is decoded (see `min_bytes` in the pipeline
    /// for the floor, and why it can never refuse a complete image).
    #[error(
        "the {format} image declares {width}×{height} pixels but holds only {}: it is damaged or \
         truncated; take the photo again",
        size_text(.bytes)
    )]
    Implausible {
        /// Format of the input.
        format: PhotoFormat,
        /// Width declared by the header.
        width: u32,
        /// Height declared by the header.
        height: u32,
        /// Size of the file.
        bytes: usize,
        /// The fewest bytes a complete image of that size can have.
        min_bytes: u64,
    },
    /// The file starts like a supported image but is damaged or incomplete.
    #[error("the {format} photo is damaged or incomplete ({detail}): take or copy the photo again")]
    Corrupt {
        /// Format the file claims to be.
        format: PhotoFormat,
        /// What exactly is wrong, with the byte offset where known.
        detail: String,
    },
    /// A [`PhotoOptions`](super::PhotoOptions) field is out of range: a programming or
    /// configuration error, not a problem of the photo.
    #[error("photo option `{field}` is {value}, expected {expected}")]
    InvalidOptions {
        /// Name of the offending field.
        field: &'static str,
        /// Its value.
        value: String,
        /// The accepted range.
        expected: &'static str,
    },
    /// Resizing or encoding failed on a valid image (should not happen; report it as a bug).
    #[error("could not {step} the photo: {detail}; this is a bug, please report it")]
    Internal {
        /// The pipeline step that failed.
        step: &'static str,
        /// The underlying library's message.
        detail: String,
    },
}

/// A file size as a person reads it: bytes under 1 KB, else whole KB (KiB) or MB with one decimal.
fn size_text(bytes: &usize) -> String {
    let bytes = *bytes;
    const KB: usize = 1024;
    const MB: usize = 1024 * 1024;
    if bytes < KB {
        format!("{bytes} bytes")
    } else if bytes < MB {
        format!("{} KB", bytes / KB)
    } else {
        format!("{:.1} MB", bytes as f64 / MB as f64)
    }
}
