//! A walk over the Huffman-coded picture data of a JPEG, to refuse one whose data stops before
//! the picture is complete.
//!
//! **Why:** a copy that fails half-way and a repair tool that "fixes" the file by appending an
//! End Of Image marker give a file with a valid structure ([`check_complete`] passes) whose
//! scan simply stops early. The `image` crate's decoder (zune-jpeg) then feeds zero bits for the
//! missing data, even in its strict mode (an EOI marker met inside a scan is acknowledged and the
//! rest of the picture decoded from zeros), and hands back a photo whose lower part is grey or
//! smeared — evidence that silently lost half its pixels. No decoder option reports it, so we
//! count for ourselves: every block of every scan must be decodable from the bits the scan
//! holds.
//!
//! The walk decodes Huffman symbols only (no dequantisation, no IDCT, no pixels), so it costs a
//! fraction of the real decode and allocates nothing for sequential JPEGs; a progressive one
//! needs one 64-bit mask per block (which coefficients are already non-zero, to know how many
//! correction bits a refinement scan carries): under 20 MB at the 50 MP limit.
//!
//! It follows the JPEG standard (ITU T.81, annexes F and G) and libjpeg's reading of it
//! (`jdhuff.c`, `jdphuff.c`). Anything it does not understand — arithmetic coding, lossless or
//! hierarchical JPEG, a table a scan uses but the file never defines, inconsistent headers — is
//! left to the decoder, which refuses such files or decodes them as it sees fit: this check only
//! ever refuses a file for data that runs out or cannot be decoded.
//!
//! [`check_complete`]: super::jpeg_structure::check_complete

use super::jpeg_structure::{JpegDamage, skip_entropy_coded};

const SOF0: u8 = 0xC0;
const SOF1: u8 = 0xC1;
const SOF2: u8 = 0xC2;
const DHT: u8 = 0xC4;
const SOS: u8 = 0xDA;
const DRI: u8 = 0xDD;
const EOI: u8 = 0xD9;

/// Codes up to this many bits are decoded with one table look-up; longer ones bit length by bit
/// length (they are rare: the encoder gives the shortest codes to the frequent symbols).
const LOOKUP_BITS: u32 = 9;

/// A coefficient band never sent in any scan.
const NEVER: u8 = u8::MAX;

/// The most scans a JPEG may have. Each scan walks every block of its component, so a few KB of
/// crafted scans (each an end-of-band run over the whole picture) could keep this walk — and the
/// decoder after it — busy for minutes. Cameras write one scan and progressive encoders about
/// ten (libjpeg's script) to a few dozen; 256 is NVIDIA nvImageCodec's default limit against
/// this attack (Cure53's libjpeg-turbo audit).
const MAX_SCANS: usize = 256;

/// Checks that every scan of the JPEG `bytes` (which must have passed
/// [`check_complete`](super::jpeg_structure::check_complete)) holds the data of all its blocks,
/// and that the scans together bring every coefficient of every component to full precision.
///
/// Call it only once the declared size is known to be within the pixel limit: a progressive
/// JPEG costs 8 bytes per block of memory, and the work grows with the blocks times the scans
/// (at most [`MAX_SCANS`]).
pub(crate) fn check_scans(bytes: &[u8]) -> Result<(), JpegDamage> {
    match Walker::default().walk(bytes) {
        Ok(()) | Err(Stop::Unchecked) => Ok(()),
        Err(Stop::Damage(damage)) => Err(damage),
    }
}

/// Why the walk stopped early.
enum Stop {
    /// Something this check does not handle: the decoder decides.
    Unchecked,
    /// The picture data is incomplete or undecodable.
    Damage(JpegDamage),
}

/// A problem met while decoding a scan's bits, before it is placed in the scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum BitsError {
    /// More bits are needed than the scan holds before its next marker.
    Short,
    /// The bits are not a code of the Huffman table, or a symbol no decoder accepts.
    BadCode,
}

/// A Huffman table, as the decoder uses it (ITU T.81 annex F.2.2.3).
struct Huffman {
    /// For each [`LOOKUP_BITS`]-bit prefix: the symbol and the length of its code (`len << 8 |
    /// symbol`), or 0 when the code is longer.
    lookup: Vec<u16>,
    /// Largest code of each length, −1 when the length has no code.
    max_code: [i32; 17],
    /// First code of each length.
    min_code: [i32; 17],
    /// Index in `values` of the first symbol of each length.
    first_value: [usize; 17],
    /// The symbols, in code order.
    values: Vec<u8>,
}

impl Huffman {
    /// Builds the table from a DHT's 16 code counts and its symbols; `None` for counts that do
    /// not make a prefix code (the decoder judges such a file).
    fn new(counts: &[u8], values: &[u8]) -> Option<Self> {
        let mut table = Huffman {
            lookup: vec![0; 1 << LOOKUP_BITS],
            max_code: [-1; 17],
            min_code: [0; 17],
            first_value: [0; 17],
            values: values.to_vec(),
        };
        let mut code: i32 = 0;
        let mut k = 0usize;
        for len in 1..=16u32 {
            let count = usize::from(*counts.get(len as usize - 1)?);
            table.first_value[len as usize] = k;
            table.min_code[len as usize] = code;
            for _ in 0..count {
                let symbol = *values.get(k)?;
                if len <= LOOKUP_BITS {
                    let shift = LOOKUP_BITS - len;
                    let first = usize::try_from(code).ok()? << shift;
                    let entry = (len as u16) << 8 | u16::from(symbol);
                    table
                        .lookup
                        .get_mut(first..first + (1 << shift))?
                        .fill(entry);
                }
                code += 1;
                k += 1;
            }
            if count > 0 {
                table.max_code[len as usize] = code - 1;
            }
            // Codes of one length must fit in that many bits.
            if code > 1 << len {
                return None;
            }
            code <<= 1;
        }
        Some(table)
    }
}

/// A component of the frame.
struct Component {
    /// Its identifier, as scans name it.
    id: u8,
    /// Horizontal sampling factor.
    h: usize,
    /// Vertical sampling factor.
    v: usize,
    /// Blocks per row and rows of blocks in a scan of this component alone.
    blocks_wide: usize,
    blocks_high: usize,
    /// Progressive only: per block, which AC coefficients (bit k, zig-zag order) are non-zero.
    nonzero: Vec<u64>,
    /// Per coefficient (zig-zag order): the lowest bit sent so far (0 = full precision), or
    /// [`NEVER`].
    precision: [u8; 64],
}

/// The frame header (SOF) and what follows from it.
struct Frame {
    progressive: bool,
    components: Vec<Component>,
    /// Minimum coded units per row and rows of them in an interleaved scan.
    mcus_wide: usize,
    mcus_high: usize,
}

/// One component of a scan, with its tables.
struct ScanComponent<'t> {
    index: usize,
    dc: Option<&'t Huffman>,
    ac: Option<&'t Huffman>,
}

#[derive(Default)]
struct Walker {
    frame: Option<Frame>,
    dc_tables: [Option<Huffman>; 4],
    ac_tables: [Option<Huffman>; 4],
    restart_interval: usize,
    scans: usize,
    /// The most bits any scan left unread (tests: a correct walk leaves only the padding, < 8).
    #[cfg(test)]
    most_left_unread: usize,
}

impl Walker {
    /// Walks the segments up to EOI, decoding each scan.
    fn walk(&mut self, bytes: &[u8]) -> Result<(), Stop> {
        let mut i = 2;
        loop {
            if bytes.get(i) != Some(&0xFF) {
                return Err(Stop::Unchecked);
            }
            while bytes.get(i) == Some(&0xFF) {
                i += 1;
            }
            let marker = *bytes.get(i).ok_or(Stop::Unchecked)?;
            i += 1;
            match marker {
                EOI => return self.finish(),
                0x01 | 0xD0..=0xD7 => continue,
                _ => {}
            }
            let (Some(&hi), Some(&lo)) = (bytes.get(i), bytes.get(i + 1)) else {
                return Err(Stop::Unchecked);
            };
            let end = i + usize::from(u16::from_be_bytes([hi, lo]));
            let body = bytes.get(i + 2..end).ok_or(Stop::Unchecked)?;
            match marker {
                SOF0 | SOF1 | SOF2 => self.frame(marker == SOF2, body)?,
                // Lossless, hierarchical and arithmetic-coded JPEGs: not walked.
                0xC3 | 0xC5..=0xC7 | 0xC9..=0xCB | 0xCD..=0xCF => return Err(Stop::Unchecked),
                DHT => self.tables(body)?,
                DRI => {
                    let interval = body.get(..2).ok_or(Stop::Unchecked)?;
                    self.restart_interval =
                        usize::from(u16::from_be_bytes([interval[0], interval[1]]));
                }
                SOS => {
                    self.scans += 1;
                    if self.scans > MAX_SCANS {
                        return Err(Stop::Damage(JpegDamage::TooManyScans { limit: MAX_SCANS }));
                    }
                    i = self.scan(bytes, body, end)?;
                    continue;
                }
                _ => {}
            }
            i = end;
        }
    }

    /// Reads the frame header.
    fn frame(&mut self, progressive: bool, body: &[u8]) -> Result<(), Stop> {
        if self.frame.is_some() || body.len() < 6 {
            return Err(Stop::Unchecked);
        }
        let height = usize::from(u16::from_be_bytes([body[1], body[2]]));
        let width = usize::from(u16::from_be_bytes([body[3], body[4]]));
        let count = usize::from(body[5]);
        let specs = body.get(6..6 + 3 * count).ok_or(Stop::Unchecked)?;
        // A height of 0 is defined later by a DNL marker, which nothing we receive uses.
        if width == 0 || height == 0 || count == 0 {
            return Err(Stop::Unchecked);
        }
        let factors: Vec<(u8, usize, usize)> = specs
            .chunks_exact(3)
            .map(|c| (c[0], usize::from(c[1] >> 4), usize::from(c[1] & 0x0F)))
            .collect();
        if factors
            .iter()
            .any(|&(_, h, v)| !(1..=4).contains(&h) || !(1..=4).contains(&v))
        {
            return Err(Stop::Unchecked);
        }
        let h_max = factors.iter().map(|f| f.1).max().unwrap_or(1);
        let v_max = factors.iter().map(|f| f.2).max().unwrap_or(1);
        let components = factors
            .into_iter()
            .map(|(id, h, v)| {
                let blocks_wide = (width * h).div_ceil(h_max).div_ceil(8);
                let blocks_high = (height * v).div_ceil(v_max).div_ceil(8);
                Component {
                    id,
                    h,
                    v,
                    blocks_wide,
                    blocks_high,
                    nonzero: if progressive {
                        vec![0; blocks_wide * blocks_high]
                    } else {
                        Vec::new()
                    },
                    precision: [NEVER; 64],
                }
            })
            .collect();
        self.frame = Some(Frame {
            progressive,
            components,
            mcus_wide: width.div_ceil(8 * h_max),
            mcus_high: height.div_ceil(8 * v_max),
        });
        Ok(())
    }

    /// Reads the Huffman tables of a DHT segment.
    fn tables(&mut self, mut body: &[u8]) -> Result<(), Stop> {
        while let Some((&class_and_slot, rest)) = body.split_first() {
            let counts = rest.get(..16).ok_or(Stop::Unchecked)?;
            let total: usize = counts.iter().map(|&c| usize::from(c)).sum();
            let values = rest.get(16..16 + total).ok_or(Stop::Unchecked)?;
            let table = Huffman::new(counts, values).ok_or(Stop::Unchecked)?;
            let slot = usize::from(class_and_slot & 0x0F);
            let tables = match class_and_slot >> 4 {
                0 => &mut self.dc_tables,
                1 => &mut self.ac_tables,
                _ => return Err(Stop::Unchecked),
            };
            *tables.get_mut(slot).ok_or(Stop::Unchecked)? = Some(table);
            body = &rest[16 + total..];
        }
        Ok(())
    }

    /// Decodes the scan whose header is `header` and whose data starts at `start`; returns the
    /// offset of the marker after its data.
    fn scan(&mut self, bytes: &[u8], header: &[u8], start: usize) -> Result<usize, Stop> {
        let end = skip_entropy_coded(bytes, start).ok_or(Stop::Unchecked)?;
        let frame = self.frame.as_mut().ok_or(Stop::Unchecked)?;
        let count = usize::from(*header.first().ok_or(Stop::Unchecked)?);
        let specs = header.get(1..1 + 2 * count).ok_or(Stop::Unchecked)?;
        let params = header
            .get(1 + 2 * count..4 + 2 * count)
            .ok_or(Stop::Unchecked)?;
        let (ss, se) = (usize::from(params[0]), usize::from(params[1]));
        let (ah, al) = (params[2] >> 4, params[2] & 0x0F);
        let (ss, se) = if frame.progressive {
            (ss, se)
        } else {
            // Sequential scans always carry the whole block, whatever the header says.
            (0, 63)
        };
        if count == 0
            || count > 4
            || ss > se
            || se > 63
            || (ss == 0 && se != 0 && frame.progressive)
        {
            return Err(Stop::Unchecked);
        }
        // Progressive AC scans have one component (ITU T.81 G.1.1.1.1).
        if frame.progressive && ss > 0 && count != 1 {
            return Err(Stop::Unchecked);
        }
        let needs_dc = ss == 0 && (ah == 0 || !frame.progressive);
        let needs_ac = se > 0;
        let mut members = Vec::with_capacity(count);
        for spec in specs.chunks_exact(2) {
            let index = frame
                .components
                .iter()
                .position(|c| c.id == spec[0])
                .ok_or(Stop::Unchecked)?;
            let dc = self
                .dc_tables
                .get(usize::from(spec[1] >> 4))
                .and_then(Option::as_ref);
            let ac = self
                .ac_tables
                .get(usize::from(spec[1] & 0x0F))
                .and_then(Option::as_ref);
            if (needs_dc && dc.is_none()) || (needs_ac && ac.is_none()) {
                return Err(Stop::Unchecked);
            }
            members.push(ScanComponent { index, dc, ac });
        }
        let kind = if !frame.progressive {
            ScanKind::Sequential
        } else if ss == 0 && ah == 0 {
            ScanKind::DcFirst
        } else if ss == 0 {
            ScanKind::DcRefine
        } else if ah == 0 {
            ScanKind::AcFirst
        } else {
            ScanKind::AcRefine
        };
        let units = if count > 1 {
            frame.mcus_wide * frame.mcus_high
        } else {
            let c = &frame.components[members[0].index];
            c.blocks_wide * c.blocks_high
        };
        let mut scan = ScanDecoder {
            bits: Bits::new(bytes, start, end),
            kind,
            ss,
            se,
            eob_run: 0,
        };
        let scan_number = self.scans;
        let damage = |bits: &Bits<'_>, error, unit| damage(bits, error, scan_number, unit, units);
        let mut next_restart = 0u8;
        for unit in 0..units {
            if self.restart_interval > 0 && unit > 0 && unit % self.restart_interval == 0 {
                scan.eob_run = 0;
                scan.bits
                    .restart(next_restart)
                    .map_err(|e| damage(&scan.bits, e, unit))?;
                next_restart = (next_restart + 1) & 7;
            }
            let decoded = if count > 1 {
                scan.interleaved_unit(frame, &members)
            } else {
                let member = &members[0];
                let nonzero = frame.components[member.index].nonzero.get_mut(unit);
                scan.block(member, nonzero)
            };
            decoded.map_err(|e| damage(&scan.bits, e, unit))?;
        }
        #[cfg(test)]
        {
            self.most_left_unread = self.most_left_unread.max(scan.bits.unread());
        }
        for member in &members {
            let precision = &mut frame.components[member.index].precision;
            for p in &mut precision[ss..=se] {
                *p = if frame.progressive { al } else { 0 };
            }
        }
        Ok(end)
    }

    /// At EOI: every coefficient of every component must have been sent to full precision. A
    /// progressive file cut between two scans (then given an EOI) lacks the later scans' detail
    /// and would otherwise pass, since each scan it keeps is whole. The standard allows an
    /// encoder to leave coefficients out, but none we know of does: libjpeg's and
    /// libjpeg-turbo's progression scripts (what Skia and most galleries use), mozjpeg's
    /// optimised scans and `jpeg-encoder` all end with every coefficient at full precision,
    /// and sequential files carry whole blocks. A file that stops short of that is refused as
    /// cut.
    fn finish(&self) -> Result<(), Stop> {
        let Some(frame) = &self.frame else {
            return Err(Stop::Unchecked);
        };
        for (c, component) in frame.components.iter().enumerate() {
            if let Some(k) = component.precision.iter().position(|&p| p != 0) {
                return Err(Stop::Damage(JpegDamage::MissingScans {
                    scans: self.scans,
                    component: c + 1,
                    coefficient: k,
                }));
            }
        }
        Ok(())
    }
}

/// The damage for scan number `scan` failing at `unit` of its `units`.
fn damage(bits: &Bits<'_>, error: BitsError, scan: usize, unit: usize, units: usize) -> Stop {
    let offset = bits.pos;
    Stop::Damage(match error {
        BitsError::Short => JpegDamage::DataEnds {
            scan,
            done: unit,
            total: units,
            offset,
            marker: bits.marker_code(),
        },
        BitsError::BadCode => JpegDamage::BadData {
            scan,
            done: unit,
            total: units,
            offset,
        },
    })
}

/// The four kinds of scan of a progressive JPEG, and the one of a sequential JPEG.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ScanKind {
    Sequential,
    DcFirst,
    DcRefine,
    AcFirst,
    AcRefine,
}

struct ScanDecoder<'a> {
    bits: Bits<'a>,
    kind: ScanKind,
    ss: usize,
    se: usize,
    /// Blocks left in the current end-of-band run (progressive AC scans).
    eob_run: u32,
}

impl ScanDecoder<'_> {
    /// One minimum coded unit of an interleaved scan: each component's `h × v` blocks. Only
    /// sequential and DC scans interleave, so no coefficient mask is needed.
    fn interleaved_unit(
        &mut self,
        frame: &Frame,
        members: &[ScanComponent<'_>],
    ) -> Result<(), BitsError> {
        for member in members {
            let c = &frame.components[member.index];
            for _ in 0..c.h * c.v {
                self.block(member, None)?;
            }
        }
        Ok(())
    }

    /// One block of the scan.
    fn block(
        &mut self,
        member: &ScanComponent<'_>,
        nonzero: Option<&mut u64>,
    ) -> Result<(), BitsError> {
        match self.kind {
            ScanKind::Sequential => {
                self.dc(member)?;
                self.ac_sequential(member)
            }
            ScanKind::DcFirst => self.dc(member),
            ScanKind::DcRefine => self.bits.skip(1),
            ScanKind::AcFirst => {
                let mut scratch = 0;
                self.ac_first(member, nonzero.unwrap_or(&mut scratch))
            }
            ScanKind::AcRefine => {
                let mut scratch = 0;
                self.ac_refine(member, nonzero.unwrap_or(&mut scratch))
            }
        }
    }

    /// A DC difference: its size category, then that many bits.
    fn dc(&mut self, member: &ScanComponent<'_>) -> Result<(), BitsError> {
        let table = member.dc.ok_or(BitsError::BadCode)?;
        let size = self.bits.symbol(table)?;
        if size > 16 {
            return Err(BitsError::BadCode);
        }
        self.bits.skip(u32::from(size))
    }

    /// The 63 AC coefficients of a sequential block.
    fn ac_sequential(&mut self, member: &ScanComponent<'_>) -> Result<(), BitsError> {
        let table = member.ac.ok_or(BitsError::BadCode)?;
        let mut k = 1;
        while k < 64 {
            let symbol = self.bits.symbol(table)?;
            let (run, size) = (usize::from(symbol >> 4), symbol & 0x0F);
            if size != 0 {
                k += run + 1;
                self.bits.skip(u32::from(size))?;
            } else if run == 15 {
                k += 16;
            } else {
                break;
            }
        }
        Ok(())
    }

    /// A first AC scan of a band (ITU T.81 G.1.2.2; libjpeg `decode_mcu_AC_first`).
    fn ac_first(&mut self, member: &ScanComponent<'_>, nonzero: &mut u64) -> Result<(), BitsError> {
        if self.eob_run > 0 {
            self.eob_run -= 1;
            return Ok(());
        }
        let table = member.ac.ok_or(BitsError::BadCode)?;
        let mut k = self.ss;
        while k <= self.se {
            let symbol = self.bits.symbol(table)?;
            let (run, size) = (symbol >> 4, symbol & 0x0F);
            if size != 0 {
                k += usize::from(run);
                self.bits.skip(u32::from(size))?;
                if k < 64 {
                    *nonzero |= 1 << k;
                }
                k += 1;
            } else if run == 15 {
                k += 16;
            } else {
                self.eob_run = self.end_of_band_run(run)? - 1;
                break;
            }
        }
        Ok(())
    }

    /// A refinement AC scan of a band (ITU T.81 G.1.2.3; libjpeg `decode_mcu_AC_refine`): one
    /// correction bit for every coefficient already non-zero, a sign bit for each new one.
    fn ac_refine(
        &mut self,
        member: &ScanComponent<'_>,
        nonzero: &mut u64,
    ) -> Result<(), BitsError> {
        let table = member.ac.ok_or(BitsError::BadCode)?;
        let mut k = self.ss;
        if self.eob_run == 0 {
            while k <= self.se {
                let symbol = self.bits.symbol(table)?;
                let (mut run, size) = (symbol >> 4, symbol & 0x0F);
                if size != 0 {
                    // The new coefficient's sign (its size is always 1).
                    self.bits.skip(1)?;
                } else if run != 15 {
                    self.eob_run = self.end_of_band_run(run)?;
                    break;
                }
                // Skip `run` zero coefficients, with a correction bit for each non-zero one on
                // the way.
                loop {
                    if *nonzero & (1 << k) != 0 {
                        self.bits.skip(1)?;
                    } else if run == 0 {
                        break;
                    } else {
                        run -= 1;
                    }
                    k += 1;
                    if k > self.se {
                        break;
                    }
                }
                if size != 0 && k < 64 {
                    *nonzero |= 1 << k;
                }
                k += 1;
            }
        }
        if self.eob_run > 0 {
            while k <= self.se {
                if *nonzero & (1 << k) != 0 {
                    self.bits.skip(1)?;
                }
                k += 1;
            }
            self.eob_run -= 1;
        }
        Ok(())
    }

    /// The length of an end-of-band run `EOBr`: `2^r` plus `r` more bits, this block included.
    fn end_of_band_run(&mut self, r: u8) -> Result<u32, BitsError> {
        let extra = if r > 0 {
            self.bits.take(u32::from(r))?
        } else {
            0
        };
        Ok((1 << r) + extra)
    }
}

/// The bits of one scan: its bytes with the stuffed `00` after each `FF` removed, up to the
/// next marker.
struct Bits<'a> {
    bytes: &'a [u8],
    /// Next byte to read; at a marker once `at_marker`.
    pos: usize,
    /// Where the scan's data ends (the first marker that is not a restart marker).
    end: usize,
    /// Bits not consumed yet, most significant first.
    acc: u64,
    /// How many bits of `acc` are valid.
    count: u32,
    /// The reader stopped before a marker (`pos` is its `FF`) or the end of the data.
    at_marker: bool,
}

impl<'a> Bits<'a> {
    fn new(bytes: &'a [u8], start: usize, end: usize) -> Self {
        Bits {
            bytes,
            pos: start,
            end,
            acc: 0,
            count: 0,
            at_marker: false,
        }
    }

    /// Loads whole bytes while at least 8 bits are free, stopping at a marker.
    fn fill(&mut self) {
        while self.count <= 56 && !self.at_marker {
            if self.pos >= self.end {
                self.at_marker = true;
                break;
            }
            let byte = self.bytes[self.pos];
            if byte == 0xFF {
                if self.bytes.get(self.pos + 1) == Some(&0x00) {
                    self.pos += 2;
                } else {
                    // A restart marker (the scan's end is `self.end`).
                    self.at_marker = true;
                    break;
                }
            } else {
                self.pos += 1;
            }
            self.acc |= u64::from(byte) << (56 - self.count);
            self.count += 8;
        }
    }

    /// The next `n` (≤ 32) bits without consuming them, zeros past the data.
    fn peek(&mut self, n: u32) -> u32 {
        if self.count < n {
            self.fill();
        }
        (self.acc >> (64 - n)) as u32
    }

    /// Consumes `n` (≤ 32) bits.
    fn skip(&mut self, n: u32) -> Result<(), BitsError> {
        if n == 0 {
            return Ok(());
        }
        if self.count < n {
            self.fill();
            if self.count < n {
                return Err(BitsError::Short);
            }
        }
        self.acc <<= n;
        self.count -= n;
        Ok(())
    }

    /// Consumes `n` (1 to 16) bits and returns them.
    fn take(&mut self, n: u32) -> Result<u32, BitsError> {
        let value = self.peek(n);
        self.skip(n)?;
        Ok(value)
    }

    /// Decodes one Huffman symbol.
    fn symbol(&mut self, table: &Huffman) -> Result<u8, BitsError> {
        let entry = table.lookup[self.peek(LOOKUP_BITS) as usize];
        if entry != 0 {
            self.skip(u32::from(entry >> 8))?;
            return Ok(entry as u8);
        }
        let code = self.peek(16) as i32;
        for len in LOOKUP_BITS + 1..=16 {
            let prefix = code >> (16 - len);
            let len = len as usize;
            if prefix <= table.max_code[len] {
                let index = table.first_value[len] + (prefix - table.min_code[len]) as usize;
                self.skip(len as u32)?;
                return table.values.get(index).copied().ok_or(BitsError::BadCode);
            }
        }
        // No code matches: either the bits are garbage, or they ran out and the zeros read past
        // the end matched nothing.
        if self.count < 16 {
            Err(BitsError::Short)
        } else {
            Err(BitsError::BadCode)
        }
    }

    /// At a restart interval's end: drops the padding bits and reads the restart marker
    /// `RST<expected>`.
    fn restart(&mut self, expected: u8) -> Result<(), BitsError> {
        self.acc = 0;
        self.count = 0;
        // Bytes left before the marker are extraneous (libjpeg warns and skips them too).
        if !self.at_marker {
            self.pos = skip_entropy_coded_to_marker(self.bytes, self.pos, self.end);
        }
        self.at_marker = false;
        if self.pos >= self.end {
            return Err(BitsError::Short);
        }
        if self.bytes.get(self.pos + 1) != Some(&(0xD0 + expected)) {
            return Err(BitsError::BadCode);
        }
        self.pos += 2;
        Ok(())
    }

    /// How many bits are left before the next marker.
    #[cfg(test)]
    fn unread(&self) -> usize {
        let mut bits = self.count as usize;
        let mut i = self.pos;
        while !self.at_marker && i < self.end {
            match (self.bytes[i], self.bytes.get(i + 1)) {
                (0xFF, Some(0x00)) => i += 2,
                (0xFF, _) => break,
                _ => i += 1,
            }
            bits += 8;
        }
        bits
    }

    /// The code of the marker the data stopped at (`D9` for EOI).
    fn marker_code(&self) -> u8 {
        let mut i = self.pos;
        while self.bytes.get(i) == Some(&0xFF) {
            i += 1;
        }
        self.bytes.get(i).copied().unwrap_or(0)
    }
}

/// The offset of the next marker (restart or not) at or after `from`, or `end`.
fn skip_entropy_coded_to_marker(bytes: &[u8], from: usize, end: usize) -> usize {
    let mut i = from;
    while i < end {
        if bytes[i] == 0xFF && bytes.get(i + 1) != Some(&0x00) {
            return i;
        }
        i += if bytes[i] == 0xFF { 2 } else { 1 };
    }
    end
}

#[cfg(test)]
mod tests {
    use image::{DynamicImage, ImageFormat, RgbImage};
    use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

    use super::*;
    use crate::photo::jpeg_structure::check_complete;
    use crate::photo::test_images;

    /// A photo-like picture: gradients and noise, so every block has AC coefficients.
    fn noisy(width: u32, height: u32, seed: u64) -> RgbImage {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        RgbImage::from_fn(width, height, |x, y| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = (state & 0x3F) as u8;
            image::Rgb([
                ((x * 255 / width) as u8).wrapping_add(noise),
                ((y * 255 / height) as u8).wrapping_add(noise / 2),
                (((x ^ y) % 256) as u8).wrapping_add(noise / 3),
            ])
        })
    }

    /// How `jpeg-encoder` is set up for one encoding.
    #[derive(Debug, Clone, Copy)]
    struct Setup {
        quality: u8,
        sampling: SamplingFactor,
        progressive: Option<u8>,
        restart: u16,
        optimized: bool,
        grey: bool,
    }

    const PLAIN: Setup = Setup {
        quality: 85,
        sampling: SamplingFactor::F_2_2,
        progressive: None,
        restart: 0,
        optimized: false,
        grey: false,
    };

    fn encode(img: &RgbImage, setup: Setup) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = Encoder::new(&mut out, setup.quality);
        encoder.set_sampling_factor(setup.sampling);
        if let Some(scans) = setup.progressive {
            encoder.set_progressive_scans(scans);
        }
        encoder.set_restart_interval(setup.restart);
        encoder.set_optimized_huffman_tables(setup.optimized);
        let (w, h) = (img.width() as u16, img.height() as u16);
        if setup.grey {
            let grey = DynamicImage::ImageRgb8(img.clone()).to_luma8();
            encoder
                .encode(grey.as_raw(), w, h, ColorType::Luma)
                .unwrap();
        } else {
            encoder.encode(img.as_raw(), w, h, ColorType::Rgb).unwrap();
        }
        out
    }

    /// Every way phones, galleries and `jpeg-encoder` lay out a JPEG that we can make here.
    fn setups() -> Vec<Setup> {
        let mut all = vec![PLAIN];
        for sampling in [
            SamplingFactor::F_1_1,
            SamplingFactor::F_2_1,
            SamplingFactor::F_1_2,
            // Factors of 4 are written as one scan per component (non-interleaved).
            SamplingFactor::F_4_1,
            SamplingFactor::F_2_4,
        ] {
            all.push(Setup { sampling, ..PLAIN });
        }
        all.push(Setup {
            restart: 3,
            ..PLAIN
        });
        all.push(Setup {
            restart: 1,
            sampling: SamplingFactor::F_1_1,
            ..PLAIN
        });
        all.push(Setup {
            optimized: true,
            ..PLAIN
        });
        all.push(Setup {
            grey: true,
            ..PLAIN
        });
        all.push(Setup {
            progressive: Some(4),
            ..PLAIN
        });
        all.push(Setup {
            progressive: Some(10),
            sampling: SamplingFactor::F_1_1,
            optimized: true,
            ..PLAIN
        });
        all.push(Setup {
            progressive: Some(6),
            restart: 2,
            ..PLAIN
        });
        all.push(Setup {
            progressive: Some(3),
            grey: true,
            ..PLAIN
        });
        all
    }

    /// The byte ranges of the scans' data: from after each SOS header to the marker after it.
    fn scan_ranges(jpeg: &[u8]) -> Vec<(usize, usize)> {
        let mut ranges = vec![];
        let mut i = 2;
        loop {
            assert_eq!(jpeg[i], 0xFF, "marker expected at {i}");
            let marker = jpeg[i + 1];
            if marker == EOI {
                return ranges;
            }
            let end = i + 2 + usize::from(u16::from_be_bytes([jpeg[i + 2], jpeg[i + 3]]));
            i = end;
            if marker == SOS {
                i = skip_entropy_coded(jpeg, end).unwrap();
                ranges.push((end, i));
            }
        }
    }

    /// Walks `jpeg`, which must pass, and checks that every scan was read to its last bit but
    /// the padding: proof that the walk reads exactly as many bits as the encoder wrote.
    fn assert_read_exactly(jpeg: &[u8], what: &str) {
        let mut walker = Walker::default();
        assert!(walker.walk(jpeg).is_ok(), "{what} did not pass");
        assert!(
            walker.most_left_unread < 8,
            "{what}: a scan left {} bits unread",
            walker.most_left_unread
        );
    }

    /// `jpeg` cut at `at` and given an End Of Image marker, as a repair tool would.
    fn cut_and_closed(jpeg: &[u8], at: usize) -> Vec<u8> {
        let mut out = jpeg[..at].to_vec();
        out.extend_from_slice(&[0xFF, EOI]);
        out
    }

    #[test]
    fn every_layout_passes_whole_and_fails_at_every_cut() {
        let img = noisy(45, 37, 7);
        for setup in setups() {
            let jpeg = encode(&img, setup);
            // The decoder reads it: the test inputs are sound.
            image::load_from_memory_with_format(&jpeg, ImageFormat::Jpeg).unwrap();
            assert_eq!(check_scans(&jpeg), Ok(()), "{setup:?}");
            assert_read_exactly(&jpeg, &format!("{setup:?}"));
            let ranges = scan_ranges(&jpeg);
            assert!(!ranges.is_empty());
            if setup.progressive.is_some() {
                assert!(ranges.len() > 2, "{setup:?}: {} scans", ranges.len());
            }
            for (start, end) in ranges {
                for at in start..end {
                    let cut = cut_and_closed(&jpeg, at);
                    assert_eq!(check_complete(&cut), Ok(()), "{setup:?} cut at {at}");
                    let result = check_scans(&cut);
                    assert!(
                        matches!(
                            result,
                            Err(JpegDamage::DataEnds { marker: EOI, .. }
                                | JpegDamage::MissingScans { .. })
                        ),
                        "{setup:?}: cut at {at} of scan data {start}..{end} gave {result:?}"
                    );
                }
            }
        }
    }

    #[test]
    fn the_image_crate_encoder_and_odd_sizes_pass() {
        for (w, h) in [(1, 1), (7, 9), (8, 8), (17, 15), (64, 48), (333, 250)] {
            let jpeg = test_images::jpeg(&noisy(w, h, u64::from(w)), 90);
            assert_eq!(check_scans(&jpeg), Ok(()), "{w}×{h}");
            assert_read_exactly(&jpeg, &format!("{w}×{h}"));
            let with_exif = test_images::with_exif(&jpeg, &test_images::ExifSpec::default());
            assert_eq!(check_scans(&with_exif), Ok(()), "{w}×{h} with EXIF");
        }
    }

    #[test]
    fn a_cut_photo_reports_how_far_its_data_goes() {
        let jpeg = encode(&noisy(160, 120, 3), PLAIN);
        let (start, end) = scan_ranges(&jpeg)[0];
        let at = start + (end - start) / 2;
        let Err(damage) = check_scans(&cut_and_closed(&jpeg, at)) else {
            panic!("a cut photo passed");
        };
        let JpegDamage::DataEnds {
            scan: 1,
            done,
            total,
            offset,
            marker: EOI,
        } = damage
        else {
            panic!("{damage:?}");
        };
        // 160×120 in 16×16 units: 10 × 8 = 80; about half of them are decoded.
        assert_eq!(total, 80);
        assert!((30..50).contains(&done), "{done}");
        assert!(offset >= at - 1 && offset <= at, "{offset} vs {at}");
        let text = damage.to_string();
        assert!(text.contains("cut short"), "{text}");
        assert!(text.contains(&format!("block {done} of 80")), "{text}");
    }

    #[test]
    fn a_progressive_photo_cut_between_scans_lacks_its_last_scans() {
        let jpeg = encode(
            &noisy(64, 48, 5),
            Setup {
                progressive: Some(4),
                ..PLAIN
            },
        );
        let ranges = scan_ranges(&jpeg);
        // Cut right after the data of the first scans: the structure is complete.
        for &(_, end) in &ranges[..ranges.len() - 1] {
            let cut = cut_and_closed(&jpeg, end);
            assert_eq!(check_complete(&cut), Ok(()));
            let damage = check_scans(&cut).unwrap_err();
            assert!(
                matches!(damage, JpegDamage::MissingScans { .. }),
                "{damage:?}"
            );
            assert!(damage.to_string().contains("cut short"), "{damage}");
        }
    }

    #[test]
    fn garbage_in_the_data_and_a_lost_restart_interval_are_refused() {
        let jpeg = encode(
            &noisy(64, 64, 9),
            Setup {
                restart: 2,
                ..PLAIN
            },
        );
        let (start, end) = scan_ranges(&jpeg)[0];
        // Drop one restart interval: from the first RST marker to the second.
        let rst: Vec<usize> = (start..end - 1)
            .filter(|&i| jpeg[i] == 0xFF && (0xD0..=0xD7).contains(&jpeg[i + 1]))
            .collect();
        assert!(rst.len() >= 3, "{rst:?}");
        let mut lost = jpeg[..rst[0]].to_vec();
        lost.extend_from_slice(&jpeg[rst[1]..]);
        let damage = check_scans(&lost).unwrap_err();
        assert!(matches!(damage, JpegDamage::BadData { .. }), "{damage:?}");

        // A run of 1 bits (stuffed `FF 00` bytes) is no code of any table: all-ones codes are
        // reserved.
        let jpeg = encode(&noisy(64, 64, 9), PLAIN);
        let (start, _) = scan_ranges(&jpeg)[0];
        let mut garbage = jpeg[..start + 20].to_vec();
        for _ in 0..8 {
            garbage.extend_from_slice(&[0xFF, 0x00]);
        }
        garbage.extend_from_slice(&jpeg[start + 20..]);
        let damage = check_scans(&garbage).unwrap_err();
        let JpegDamage::BadData { scan: 1, total, .. } = damage else {
            panic!("{damage:?}");
        };
        assert_eq!(total, 16);
        assert!(damage.to_string().contains("garbled"), "{damage}");
    }

    #[test]
    fn a_file_with_hundreds_of_scans_is_refused() {
        let jpeg = encode(&noisy(16, 16, 2), PLAIN);
        let sos = jpeg.windows(2).position(|w| w == [0xFF, SOS]).unwrap();
        let scan = &jpeg[sos..jpeg.len() - 2];
        let mut many = jpeg[..jpeg.len() - 2].to_vec();
        for _ in 0..MAX_SCANS {
            many.extend_from_slice(scan);
        }
        many.extend_from_slice(&[0xFF, EOI]);
        assert_eq!(check_complete(&many), Ok(()));
        assert_eq!(
            check_scans(&many),
            Err(JpegDamage::TooManyScans { limit: MAX_SCANS })
        );
        // As many as allowed pass (each repeated sequential scan is whole).
        let mut allowed = jpeg[..jpeg.len() - 2].to_vec();
        for _ in 1..MAX_SCANS {
            allowed.extend_from_slice(scan);
        }
        allowed.extend_from_slice(&[0xFF, EOI]);
        assert_eq!(check_scans(&allowed), Ok(()));
    }

    #[test]
    fn files_it_cannot_judge_are_left_to_the_decoder() {
        // No frame at all, or a scan naming an undefined table: not refused here.
        assert_eq!(check_scans(&[0xFF, 0xD8, 0xFF, 0xD9]), Ok(()));
        let mut jpeg = encode(&noisy(16, 16, 1), PLAIN);
        let sof = jpeg.windows(2).position(|w| w == [0xFF, SOF0]).unwrap();
        // Relabel SOF0 as an arithmetic-coded frame (SOF9).
        jpeg[sof + 1] = 0xC9;
        assert_eq!(check_scans(&jpeg), Ok(()));
    }

    /// Real photos are what matters, and the encoders at hand here write neither successive
    /// approximation nor every vendor's quirks: point `WANGGE_JPEG_DIR` at a directory of JPEGs
    /// (phone photos, gallery exports) and run this with `--ignored`. Each file must pass whole
    /// (if the decoder reads it) and fail at some 60 cuts through each of its scans.
    #[test]
    #[ignore = "needs WANGGE_JPEG_DIR, a directory of real JPEG photos"]
    fn real_photos_pass_whole_and_fail_cut() {
        let dir = std::env::var("WANGGE_JPEG_DIR").expect("set WANGGE_JPEG_DIR");
        let mut checked = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let Ok(jpeg) = std::fs::read(&path) else {
                continue;
            };
            if !jpeg.starts_with(&[0xFF, 0xD8, 0xFF]) || check_complete(&jpeg).is_err() {
                continue;
            }
            if image::load_from_memory_with_format(&jpeg, ImageFormat::Jpeg).is_err() {
                continue;
            }
            assert_eq!(check_scans(&jpeg), Ok(()), "{}", path.display());
            assert_read_exactly(&jpeg, &path.display().to_string());
            for (start, end) in scan_ranges(&jpeg) {
                let step = ((end - start) / 60).max(1);
                for at in (start..end).step_by(step) {
                    let result = check_scans(&cut_and_closed(&jpeg, at));
                    assert!(result.is_err(), "{} cut at {at} passed", path.display());
                }
            }
            checked += 1;
        }
        eprintln!("{checked} photos checked");
        assert!(checked > 0, "no decodable JPEG in WANGGE_JPEG_DIR");
    }
}
