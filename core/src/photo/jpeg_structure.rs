//! A walk over the marker structure of a JPEG file, to refuse a truncated one.
//!
//! The `image` crate's JPEG decoder (zune-jpeg in lenient mode) decodes a file cut short by a
//! failed copy into a photo whose lower part is grey, without an error. Evidence that silently
//! lost half its pixels must not be stored, so before decoding we check that the file reaches its
//! End Of Image marker. This is a linear scan without allocation (a few ms for a 6 MB photo).
//! Bytes after EOI are allowed: "motion photos" append a video there.

/// Where a JPEG file's structure breaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum JpegDamage {
    /// The file ends at `len` bytes before its End Of Image marker.
    Truncated {
        /// Length of the file.
        len: usize,
    },
    /// A byte that should start a marker does not, at `offset`.
    BadMarker {
        /// Offset of the offending byte.
        offset: usize,
    },
}

impl std::fmt::Display for JpegDamage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Truncated { len } => write!(
                f,
                "the file ends after {len} bytes, before the JPEG end-of-image marker: it was cut short"
            ),
            Self::BadMarker { offset } => {
                write!(f, "expected a JPEG marker at byte {offset}")
            }
        }
    }
}

const SOS: u8 = 0xDA;
const EOI: u8 = 0xD9;

/// Checks that `bytes` (starting with SOI, `FF D8`) is a complete sequence of JPEG segments
/// ending with EOI.
pub(crate) fn check_complete(bytes: &[u8]) -> Result<(), JpegDamage> {
    let len = bytes.len();
    let truncated = JpegDamage::Truncated { len };
    let mut i = 2; // after SOI
    loop {
        if i >= len {
            return Err(truncated);
        }
        if bytes[i] != 0xFF {
            return Err(JpegDamage::BadMarker { offset: i });
        }
        // Any number of 0xFF fill bytes may precede a marker code.
        while i < len && bytes[i] == 0xFF {
            i += 1;
        }
        let Some(&marker) = bytes.get(i) else {
            return Err(truncated);
        };
        i += 1;
        match marker {
            EOI => return Ok(()),
            // Standalone markers without a length: TEM and RST0..RST7.
            0x01 | 0xD0..=0xD7 => continue,
            // `FF 00` is only valid inside entropy-coded data.
            0x00 => return Err(JpegDamage::BadMarker { offset: i - 2 }),
            _ => {}
        }
        let (Some(&hi), Some(&lo)) = (bytes.get(i), bytes.get(i + 1)) else {
            return Err(truncated);
        };
        let seg_len = usize::from(u16::from_be_bytes([hi, lo]));
        if seg_len < 2 {
            return Err(JpegDamage::BadMarker { offset: i - 2 });
        }
        i += seg_len;
        if i > len {
            return Err(truncated);
        }
        if marker == SOS {
            i = skip_entropy_coded(bytes, i).ok_or(truncated)?;
        }
    }
}

/// Returns the offset of the first marker after the entropy-coded data starting at `from`:
/// an `FF` followed by neither `00` (a stuffed byte) nor a restart marker `D0..D7`.
fn skip_entropy_coded(bytes: &[u8], from: usize) -> Option<usize> {
    let mut i = from;
    loop {
        i += bytes.get(i..)?.iter().position(|&b| b == 0xFF)?;
        match bytes.get(i + 1)? {
            0x00 | 0xD0..=0xD7 => i += 2,
            // A fill byte: the marker code comes later; let the caller skip the fills.
            _ => return Some(i),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::photo::test_images;

    #[test]
    fn a_complete_jpeg_passes_and_every_cut_fails() {
        let jpeg = test_images::jpeg(&test_images::quadrants(64, 48), 90);
        assert_eq!(check_complete(&jpeg), Ok(()));
        // Trailing data after EOI (motion photos) is accepted.
        let mut with_trailer = jpeg.clone();
        with_trailer.extend_from_slice(b"ftypmp42 video data");
        assert_eq!(check_complete(&with_trailer), Ok(()));
        for cut in [3, 10, jpeg.len() / 2, jpeg.len() - 2, jpeg.len() - 1] {
            assert_eq!(
                check_complete(&jpeg[..cut]),
                Err(JpegDamage::Truncated { len: cut }),
                "cut at {cut}"
            );
        }
    }

    #[test]
    fn garbage_after_a_segment_is_a_bad_marker() {
        let mut bytes = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0x00, 0x00];
        bytes.extend_from_slice(b"garbage");
        assert_eq!(
            check_complete(&bytes),
            Err(JpegDamage::BadMarker { offset: 8 })
        );
    }
}
