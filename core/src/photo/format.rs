//! Recognising the input format from its first bytes (never from a file name or MIME type,
//! which phones get wrong: iOS hands over HEIC files named `.jpg`).

use serde::{Deserialize, Serialize};

use super::PhotoError;

/// An accepted input format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PhotoFormat {
    /// JPEG/JFIF/EXIF: what every phone camera writes in "most compatible" mode.
    Jpeg,
    /// PNG: screenshots and some gallery exports.
    Png,
    /// WebP: some Android galleries and messaging apps.
    Webp,
}

impl PhotoFormat {
    /// The `image` crate's name for this format.
    pub(crate) fn image_format(self) -> image::ImageFormat {
        match self {
            Self::Jpeg => image::ImageFormat::Jpeg,
            Self::Png => image::ImageFormat::Png,
            Self::Webp => image::ImageFormat::WebP,
        }
    }
}

impl std::fmt::Display for PhotoFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::Jpeg => "JPEG",
            Self::Png => "PNG",
            Self::Webp => "WebP",
        })
    }
}

const HEIC_HELP: &str = "HEIC photos are not supported: convert to JPEG first \
     (on iOS: Settings › Camera › Formats › Most Compatible)";

/// Recognises the format from the magic bytes, or explains why the file is refused.
pub(crate) fn sniff(bytes: &[u8]) -> Result<PhotoFormat, PhotoError> {
    if bytes.is_empty() {
        return Err(PhotoError::Empty);
    }
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Ok(PhotoFormat::Jpeg);
    }
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        return Ok(PhotoFormat::Png);
    }
    if bytes.len() >= 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        return Ok(PhotoFormat::Webp);
    }
    Err(PhotoError::Unsupported(refusal(bytes)))
}

/// The message for a file that is not JPEG, PNG or WebP, naming the format when it is a known one.
fn refusal(bytes: &[u8]) -> String {
    // ISO base media files (HEIF, HEIC, AVIF) start with a box `size, "ftyp", major brand`.
    if bytes.len() >= 12 && &bytes[4..8] == b"ftyp" {
        let brand = &bytes[8..12];
        return match brand {
            b"heic" | b"heix" | b"heim" | b"heis" | b"hevc" | b"hevx" | b"hevm" | b"hevs"
            | b"mif1" | b"msf1" => HEIC_HELP.to_owned(),
            b"avif" | b"avis" => "AVIF images are not supported: convert to JPEG first".to_owned(),
            _ => format!(
                "this file is a video or ISO media file (brand {:?}), not a photo: \
                 choose a JPEG, PNG or WebP photo",
                String::from_utf8_lossy(brand)
            ),
        };
    }
    let named = |name: &str| {
        format!(
            "{name} files are not supported: choose a JPEG, PNG or WebP photo, or convert it to JPEG first"
        )
    };
    if bytes.starts_with(b"GIF8") {
        return named("GIF");
    }
    if bytes.starts_with(b"BM") && bytes.len() >= 14 {
        return named("BMP");
    }
    if bytes.starts_with(b"II*\0") || bytes.starts_with(b"MM\0*") {
        return named("TIFF (or camera RAW)");
    }
    if bytes.starts_with(b"%PDF") {
        return named("PDF");
    }
    let head: String = bytes
        .iter()
        .take(8)
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(" ");
    format!(
        "this file is not a photo (it starts with bytes {head}, not those of a JPEG, PNG or WebP image): \
         choose a photo taken by the camera"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(bytes: &[u8]) -> String {
        match sniff(bytes) {
            Err(PhotoError::Unsupported(msg)) => msg,
            other => panic!("expected Unsupported, got {other:?}"),
        }
    }

    #[test]
    fn accepts_jpeg_png_webp_by_content() {
        assert_eq!(sniff(&[0xFF, 0xD8, 0xFF, 0xE0]).unwrap(), PhotoFormat::Jpeg);
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n....").unwrap(), PhotoFormat::Png);
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 ").unwrap(), PhotoFormat::Webp);
    }

    #[test]
    fn heic_gets_the_conversion_hint() {
        let heic = b"\0\0\0\x18ftypheic\0\0\0\0mif1heic";
        let msg = refused(heic);
        assert!(msg.contains("HEIC photos are not supported"), "{msg}");
        assert!(msg.contains("Most Compatible"), "{msg}");
        assert!(refused(b"\0\0\0\x1cftypavif\0\0\0\0").contains("AVIF"));
        assert!(refused(b"\0\0\0\x1cftypisom\0\0\0\0").contains("video"));
    }

    #[test]
    fn other_files_are_named_or_described() {
        assert!(refused(b"GIF89a....").starts_with("GIF files"));
        let text = refused(b"hello, this is not an image");
        assert!(text.contains("not a photo"), "{text}");
        assert!(text.contains("68 65 6c 6c"), "{text}");
        assert!(matches!(sniff(b""), Err(PhotoError::Empty)));
    }
}
