//! Tunable sizes and input limits of the capture pipeline.

use serde::{Deserialize, Serialize};

/// Settings of [`prepare`](super::prepare): output sizes, JPEG quality, and the input limits
/// that keep a hostile or oversized file from exhausting the phone's memory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PhotoOptions {
    /// Longest edge of the stored photo, in pixels. Smaller inputs are never upscaled.
    ///
    /// 1600 px keeps a 4:3 photo around 200–400 KB at quality 80: enough to read a shop sign or a
    /// licence plate on a supervisor's screen, small enough to upload over a weak signal.
    pub max_edge: u32,
    /// JPEG quality of the stored photo and of its thumbnail, 1–100.
    pub quality: u8,
    /// Longest edge of the thumbnail, in pixels (case lists show photos at about this size).
    pub thumb_edge: u32,
    /// Largest accepted input, in pixels (width × height as the file's header declares them).
    ///
    /// Checked before any pixel buffer is allocated: this is the defence against decompression
    /// bombs (a few KB of file declaring a gigapixel image). 50 MP admits the "50 MP mode" of
    /// current phones (8160 × 6120) and rejects 108/200 MP modes.
    pub max_input_pixels: u64,
    /// Largest accepted input file, in bytes.
    pub max_input_bytes: usize,
}

impl Default for PhotoOptions {
    fn default() -> Self {
        Self {
            max_edge: 1600,
            quality: 80,
            thumb_edge: 320,
            max_input_pixels: 50_000_000,
            max_input_bytes: 30 * 1024 * 1024,
        }
    }
}

impl PhotoOptions {
    /// Checks that the options themselves make sense, so that a wrong setting is reported as
    /// such and not as a fault of the photo.
    pub(crate) fn validate(&self) -> Result<(), super::PhotoError> {
        let bad = |field: &'static str, value: String, expected: &'static str| {
            Err(super::PhotoError::InvalidOptions {
                field,
                value,
                expected,
            })
        };
        if self.max_edge == 0 || self.max_edge > 65_535 {
            return bad("max_edge", self.max_edge.to_string(), "1..=65535 pixels");
        }
        if self.thumb_edge == 0 || self.thumb_edge > self.max_edge {
            return bad(
                "thumb_edge",
                self.thumb_edge.to_string(),
                "1..=max_edge pixels",
            );
        }
        if self.quality == 0 || self.quality > 100 {
            return bad("quality", self.quality.to_string(), "1..=100");
        }
        if self.max_input_pixels == 0 {
            return bad("max_input_pixels", "0".into(), "at least 1 pixel");
        }
        if self.max_input_bytes == 0 {
            return bad("max_input_bytes", "0".into(), "at least 1 byte");
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_ones_and_valid() {
        let o = PhotoOptions::default();
        assert_eq!((o.max_edge, o.quality, o.thumb_edge), (1600, 80, 320));
        assert_eq!(o.max_input_pixels, 50_000_000);
        assert!(o.validate().is_ok());
    }

    #[test]
    fn nonsense_options_name_the_field() {
        let o = PhotoOptions {
            quality: 0,
            ..PhotoOptions::default()
        };
        let msg = o.validate().unwrap_err().to_string();
        assert!(msg.contains("quality"), "{msg}");
        let o = PhotoOptions {
            thumb_edge: 2000,
            ..PhotoOptions::default()
        };
        assert!(o.validate().unwrap_err().to_string().contains("thumb_edge"));
    }
}
