//! A walk over the marker structure of a JPEG file, to refuse a truncated one.
//!
//! The `image` crate's JPEG decoder (zune-jpeg in lenient mode) decodes a file cut short by a
//! failed copy into a photo whose lower part is grey, without an error. Evidence that silently
//! lost half its pixels must not be stored, so before decoding we check that the file reaches its
//! End Of Image marker. This is a linear scan without allocation (a few ms for a 6 MB photo).
//! Bytes after EOI are allowed: "motion photos" append a video there. A file cut short and then
//! given an EOI passes this walk; `jpeg_scan` catches it by decoding the scans' Huffman codes.

/// Where a JPEG file's structure or picture data breaks.
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
    /// The data of a scan stops (at a marker) before all its blocks are decoded: what a file cut
    /// short and then given an End Of Image marker looks like.
    DataEnds {
        /// Number of the scan, from 1.
        scan: usize,
        /// Units (blocks, or minimum coded units of an interleaved scan) decoded completely.
        done: usize,
        /// Units the scan must hold.
        total: usize,
        /// Offset of the marker where the data stops.
        offset: usize,
        /// That marker's code (`D9` for EOI, `D0..D7` for a restart marker).
        marker: u8,
    },
    /// The data of a scan is not decodable: a bit pattern that is no Huffman code, or a
    /// restart marker out of sequence.
    BadData {
        /// Number of the scan, from 1.
        scan: usize,
        /// Units decoded before the bad data.
        done: usize,
        /// Units the scan must hold.
        total: usize,
        /// Offset of the next byte to read when it was found.
        offset: usize,
    },
    /// More scans than any encoder writes: a damaged file, or one made to stall the decoder.
    TooManyScans {
        /// The most scans accepted.
        limit: usize,
    },
    /// The file ends (EOI) before its scans have sent every coefficient of every component at
    /// full precision: a progressive JPEG cut between two scans.
    MissingScans {
        /// Scans the file holds.
        scans: usize,
        /// The first component (from 1) lacking data.
        component: usize,
        /// The first coefficient (zig-zag index) it lacks.
        coefficient: usize,
    },
}

/// `part` of `whole` in whole percent, rounded down (so 99.9% is never shown as 100%).
fn percent(part: usize, whole: usize) -> usize {
    part.saturating_mul(100).checked_div(whole).unwrap_or(0)
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
            Self::DataEnds {
                scan,
                done,
                total,
                offset,
                marker: EOI,
            } => write!(
                f,
                "the picture data stops {}% of the way through (block {done} of {total} of \
                 scan {scan}, byte {offset}): the file was cut short",
                percent(*done, *total)
            ),
            Self::DataEnds {
                scan,
                done,
                total,
                offset,
                marker,
            } => write!(
                f,
                "the picture data breaks off {}% of the way through (block {done} of {total} of \
                 scan {scan}, marker FF{marker:02X} at byte {offset}): part of the picture is missing",
                percent(*done, *total)
            ),
            Self::BadData {
                scan,
                done,
                total,
                offset,
            } => write!(
                f,
                "the picture data is garbled {}% of the way through (block {done} of {total} of \
                 scan {scan}, near byte {offset})",
                percent(*done, *total)
            ),
            Self::TooManyScans { limit } => write!(
                f,
                "the picture has more than {limit} scans, where cameras write one and progressive \
                 files a few dozen at most"
            ),
            Self::MissingScans {
                scans,
                component,
                coefficient,
            } => write!(
                f,
                "the picture stops after {scans} scan(s), before component {component} has its \
                 coefficient {coefficient} at full precision: the file was cut short"
            ),
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
pub(crate) fn skip_entropy_coded(bytes: &[u8], from: usize) -> Option<usize> {
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
