//! The fuzzing engine every target shares, on stable Rust (no libFuzzer):
//! a seeded PRNG, byte and JSON mutators, panic containment, the
//! [`Target`] trait the driver (`examples/fuzz.rs`) and the regression
//! tests (`tests/fuzz_regressions.rs`) run, and the folders findings are
//! saved in.
//!
//! A target turns one input (bytes) into a [`Report`] or a [`Finding`]: a
//! broken invariant. [`run_input`] adds the invariants every target has: no
//! panic escapes, and no input takes longer than [`SLOW`].
//!
//! Why mutation of valid seeds rather than `arbitrary`-style generation:
//! every target here parses bytes that arrive from outside (a request body,
//! a file an administrator or a phone camera hands over), so the bytes
//! themselves are the input space; mutating real files keeps most inputs
//! near the formats' happy paths, and the structure-aware mutators (JSON
//! values, Automerge chunks, image chunks with their checksums fixed) get
//! past the first layer of checks to the code behind it.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::cell::{Cell, RefCell};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;
use sha2::{Digest, Sha256};

/// An input taking longer than this is a finding.
pub const SLOW: Duration = Duration::from_secs(2);

/// Largest input a mutator produces.
pub const MAX_INPUT: usize = 1 << 20;

// ---------------------------------------------------------------------------
// Targets, reports, findings
// ---------------------------------------------------------------------------

/// One thing to fuzz.
pub trait Target {
    /// Its name on the command line and its folder under `fuzz/corpus` and `fuzz/findings`.
    fn name(&self) -> &'static str;
    /// The seed inputs, by name.
    fn seeds(&self) -> &[(String, Vec<u8>)];
    /// Runs one input and checks the invariants (panics escape: see [`run_input`]).
    fn check(&self, input: &[u8]) -> Result<Report, Finding>;
    /// A mutant of `base`; `donors` are other inputs to splice from.
    fn mutate(&self, rng: &mut Rng, base: &[u8], donors: &[Vec<u8>]) -> Vec<u8>;
    /// Lines for the driver's summary beyond the counts (a target's own measures).
    fn notes(&self) -> Vec<String> {
        Vec::new()
    }
}

/// A broken invariant.
#[derive(Debug, Clone)]
pub struct Finding {
    /// Short stable class, e.g. `panic`, `saved-does-not-load`.
    pub kind: &'static str,
    /// What happened, for people.
    pub detail: String,
}

impl std::fmt::Display for Finding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.kind, self.detail)
    }
}

/// A [`Finding`] of `kind`.
pub fn finding(kind: &'static str, detail: impl Into<String>) -> Finding {
    Finding {
        kind,
        detail: detail.into(),
    }
}

/// What one input did.
#[derive(Debug, Default)]
pub struct Report {
    /// What happened, as labels counted in the driver's summary
    /// (`changed`, `refused:<code>`, `loaded`, `error:grid`, ...).
    pub outcomes: Vec<&'static str>,
    /// Coarse features of the paths taken (outcomes and error messages with
    /// digits blanked): an input with a feature never seen before joins the
    /// driver's pool of inputs to mutate.
    pub features: Vec<u64>,
    /// Panics raised and contained inside the code under test.
    pub contained_panics: u64,
}

impl Report {
    /// Records an outcome and, as its feature, the label with the
    /// [`shape`] of `detail`.
    pub fn add(&mut self, label: &'static str, detail: &str) {
        let mut sig = FNV_START;
        fnv(&mut sig, label.as_bytes());
        fnv(&mut sig, shape(detail).as_bytes());
        self.outcomes.push(label);
        self.features.push(sig);
    }
}

/// Counts of outcomes.
pub type Counts = BTreeMap<&'static str, u64>;

/// [`Target::check`] with an escaping panic turned into a finding and, in an optimised
/// build, an input slower than [`SLOW`] reported.
pub fn run_input(target: &dyn Target, input: &[u8]) -> Result<Report, Finding> {
    let t = Instant::now();
    let (result, raised) = contain(|| target.check(input));
    let took = t.elapsed();
    let mut report = result?;
    report.contained_panics = raised;
    // Only an optimised build's time says anything about an input: in a debug build (the
    // regression tests, CI's short run) the same input may take ten times as long on a
    // loaded machine, and a time limit there would be a timed assertion in a test.
    if !cfg!(debug_assertions) && took > SLOW {
        return Err(finding("slow", format!("one input took {took:?}")));
    }
    Ok(report)
}

/// Every regular file of `dir` but the `.txt` descriptions of findings and
/// hidden files (none if `dir` does not exist), sorted by name, with the
/// name's extension dropped.
pub fn read_dir_sorted(dir: &Path) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(e),
    };
    for entry in entries {
        let path = entry?.path();
        let name = path
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        if path.is_file() && !name.starts_with('.') && !name.ends_with(".txt") {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            out.push((stem, std::fs::read(&path)?));
        }
    }
    out.sort();
    Ok(out)
}

/// The repository's root.
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Where a target's saved findings are: `<findings>/<target>/`.
pub fn findings_dir(findings: &Path, target: &str) -> PathBuf {
    findings.join(target)
}

/// Saves a finding as `<dir>/<sha>.bin` with a `.txt` description beside it.
pub fn save_finding(dir: &Path, input: &[u8], f: &Finding) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let sha = short_sha(input);
    let bin = dir.join(format!("{sha}.bin"));
    std::fs::write(&bin, input)?;
    std::fs::write(dir.join(format!("{sha}.txt")), format!("{f}\n"))?;
    Ok(bin)
}

/// Hex SHA-256 of `input`, shortened: the file name of a saved finding.
pub fn short_sha(input: &[u8]) -> String {
    Sha256::digest(input)[..8]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// What [`replay_mutants`] saw.
#[derive(Debug, Default)]
pub struct MutantRun {
    /// Outcomes over every mutant.
    pub counts: Counts,
    /// How many distinct features the mutants reached.
    pub features: usize,
}

/// Runs `n` fixed-seed mutants of the target's seeds (mutants of mutants
/// that reached a new feature too, as the driver does, but never far from a
/// seed); the first finding is an error naming the mutant.
pub fn replay_mutants(target: &dyn Target, seed: u64, n: usize) -> Result<MutantRun, String> {
    let seeds: Vec<Vec<u8>> = target.seeds().iter().map(|(_, b)| b.clone()).collect();
    assert!(!seeds.is_empty(), "{} has no seeds", target.name());
    let mut pool = seeds.clone();
    let mut seen = std::collections::HashSet::new();
    let mut run = MutantRun::default();
    let mut rng = Rng::new(seed);
    for i in 0..n {
        let base = if pool.len() > seeds.len() && rng.one_in(2) {
            &pool[seeds.len() + rng.below(pool.len() - seeds.len())]
        } else {
            &pool[rng.below(seeds.len())]
        };
        let input = target.mutate(&mut rng, base, &pool);
        let report = run_input(target, &input).map_err(|f| {
            format!(
                "{} mutant {i} ({} bytes, sha {}): {f}",
                target.name(),
                input.len(),
                short_sha(&input)
            )
        })?;
        for o in &report.outcomes {
            *run.counts.entry(o).or_default() += 1;
        }
        let mut novel = false;
        for f in report.features {
            novel |= seen.insert(f);
        }
        if novel && pool.len() < seeds.len() + 256 {
            pool.push(input);
        }
    }
    run.features = seen.len();
    Ok(run)
}

// ---------------------------------------------------------------------------
// Features
// ---------------------------------------------------------------------------

pub const FNV_START: u64 = 0xcbf2_9ce4_8422_2325;

pub fn fnv(h: &mut u64, bytes: &[u8]) {
    for b in bytes {
        *h ^= u64::from(*b);
        *h = h.wrapping_mul(0x0100_0000_01b3);
    }
}

/// `text` with `id` (if not empty) replaced and digits blanked, at most 160
/// characters: a message's shape, for features and panic sites.
pub fn blank(text: &str, id: &str) -> String {
    let t = if id.is_empty() {
        text.to_owned()
    } else {
        text.replace(id, "<id>")
    };
    t.chars()
        .map(|c| if c.is_ascii_digit() { '#' } else { c })
        .take(160)
        .collect()
}

/// A message's shape: what comes before its first quote and after its last
/// (`` ` ``, `"`, `'`: the values it quotes dropped), each word with a
/// digit (numbers, offsets, hex) one `#`, at most 100 characters; so that an error about another value
/// or position is not a new path, an error of another kind is.
pub fn shape(message: &str) -> String {
    let quote = |c: char| matches!(c, '`' | '"' | '\'');
    let text = match (message.find(quote), message.rfind(quote)) {
        (Some(first), Some(last)) => format!("{}_{}", &message[..first], &message[last + 1..]),
        _ => message.to_owned(),
    };
    let words: Vec<&str> = text
        .split(' ')
        .map(|w| {
            if w.bytes().any(|b| b.is_ascii_digit()) {
                "#"
            } else {
                w
            }
        })
        .collect();
    words.join(" ").chars().take(100).collect()
}

// ---------------------------------------------------------------------------
// Panics
// ---------------------------------------------------------------------------

thread_local! {
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
    static PANICS: Cell<u64> = const { Cell::new(0) };
    static IN_RUN: Cell<bool> = const { Cell::new(false) };
    static PANIC_SITES: RefCell<BTreeMap<String, u64>> = const { RefCell::new(BTreeMap::new()) };
}

/// Every panic raised so far on this thread, contained or not, by message
/// and location (digits blanked), with counts.
pub fn panic_sites() -> BTreeMap<String, u64> {
    PANIC_SITES.with(|s| s.borrow().clone())
}

/// Replaces the panic hook with one that, inside [`contain`], records the
/// message instead of printing it (contained panics are expected on hostile
/// bytes); other panics (a test's assertions) go to the previous hook.
pub fn install_quiet_panic_hook() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(install_hook);
}

fn install_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !IN_RUN.with(Cell::get) {
            return previous(info);
        }
        let msg = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "<non-text panic payload>".into());
        let at = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let bt = std::backtrace::Backtrace::capture();
        let text = match bt.status() {
            std::backtrace::BacktraceStatus::Captured => format!("{msg} at {at}\n{bt}"),
            _ => format!("{msg} at {at}"),
        };
        LAST_PANIC.with(|p| *p.borrow_mut() = Some(text));
        let site = format!("{} at {at}", blank(&msg.replace('\n', " "), ""));
        PANIC_SITES.with(|s| *s.borrow_mut().entry(site).or_default() += 1);
        PANICS.with(|n| n.set(n.get() + 1));
    }));
}

/// Runs `f`, turning a panic escaping it into a `panic` finding; also
/// returns how many panics were raised inside it (contained or not).
pub fn contain<T>(f: impl FnOnce() -> Result<T, Finding>) -> (Result<T, Finding>, u64) {
    let before = PANICS.with(Cell::get);
    LAST_PANIC.with(|p| *p.borrow_mut() = None);
    IN_RUN.with(|r| r.set(true));
    let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f));
    IN_RUN.with(|r| r.set(false));
    let raised = PANICS.with(Cell::get) - before;
    let result = result.unwrap_or_else(|_| {
        let msg = LAST_PANIC
            .with(|p| p.borrow_mut().take())
            .unwrap_or_else(|| "<panic hook not installed>".into());
        Err(finding("panic", msg))
    });
    (result, raised)
}

// ---------------------------------------------------------------------------
// Byte mutator
// ---------------------------------------------------------------------------

/// SplitMix64: small, deterministic, good enough for mutation choices.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next_u64() % n as u64) as usize
        }
    }

    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    /// One of `items` (which must not be empty).
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const INTERESTING: [u8; 10] = [0x00, 0x01, 0x02, 0x7f, 0x80, 0x81, 0xff, 0xfe, 0x40, 0x3f];

pub fn uleb(mut v: u64, out: &mut Vec<u8>) {
    loop {
        let b = (v & 0x7f) as u8;
        v >>= 7;
        if v == 0 {
            out.push(b);
            return;
        }
        out.push(b | 0x80);
    }
}

pub fn read_uleb(buf: &[u8], mut pos: usize) -> Option<(u64, usize)> {
    let mut v: u64 = 0;
    for shift in (0..64).step_by(7) {
        let b = *buf.get(pos)?;
        pos += 1;
        v |= u64::from(b & 0x7f) << shift;
        if b & 0x80 == 0 {
            return Some((v, pos));
        }
    }
    None
}

/// One byte-level mutation: flips, interesting values, LEB128 runs,
/// insertions, deletions, duplications, truncation, splicing.
pub fn mutate_bytes(rng: &mut Rng, buf: &mut Vec<u8>, donors: &[Vec<u8>]) {
    let len = buf.len();
    match rng.below(13) {
        0 if len > 0 => {
            for _ in 0..1 + rng.below(4) {
                let i = rng.below(len);
                buf[i] ^= 1 << rng.below(8);
            }
        }
        1 if len > 0 => {
            let i = rng.below(len);
            buf[i] = INTERESTING[rng.below(INTERESTING.len())];
        }
        2 if len > 0 => {
            let i = rng.below(len);
            buf[i] = rng.next_u64() as u8;
        }
        3 => {
            // A long LEB128 number: continuation bytes then a terminator.
            let i = rng.below(len + 1);
            let mut run = vec![0x80 | (rng.next_u64() as u8); 1 + rng.below(10)];
            run.push(rng.below(0x80) as u8);
            if rng.one_in(2) && i < len {
                let end = (i + run.len()).min(len);
                buf.splice(i..end, run);
            } else {
                buf.splice(i..i, run);
            }
        }
        4 => {
            let i = rng.below(len + 1);
            let n = 1 + rng.below(8);
            let bytes: Vec<u8> = (0..n).map(|_| rng.next_u64() as u8).collect();
            buf.splice(i..i, bytes);
        }
        5 if len > 0 => {
            let i = rng.below(len);
            let n = 1 + rng.below((len - i).min(16));
            buf.drain(i..i + n);
        }
        6 if len > 0 => {
            let i = rng.below(len);
            let n = 1 + rng.below((len - i).min(64));
            let copy = buf[i..i + n].to_vec();
            let at = rng.below(len + 1);
            buf.splice(at..at, copy);
        }
        7 if len > 0 => buf.truncate(rng.below(len)),
        8 if !donors.is_empty() => {
            // Splice: a prefix of this with a suffix of another.
            let other = &donors[rng.below(donors.len())];
            let cut = rng.below(len + 1);
            let from = rng.below(other.len() + 1);
            buf.truncate(cut);
            buf.extend_from_slice(&other[from..]);
        }
        9 if len > 0 => {
            // Add or subtract a little from a byte (counts, lengths, indexes).
            let i = rng.below(len);
            let d = 1 + rng.below(4) as u8;
            buf[i] = if rng.one_in(2) {
                buf[i].wrapping_add(d)
            } else {
                buf[i].wrapping_sub(d)
            };
        }
        10 if len >= 2 => {
            let i = rng.below(len - 1);
            buf.swap(i, i + 1);
        }
        11 if len >= 4 => {
            // A big-endian 16- or 32-bit field (lengths, sizes) set to an edge value.
            let wide = rng.one_in(2) && len >= 4;
            let i = rng.below(len - if wide { 3 } else { 1 });
            let v: u32 = *rng.pick(&[0, 1, 0x7fff, 0x8000, 0xffff, 0x7fff_ffff, u32::MAX]);
            if wide {
                buf[i..i + 4].copy_from_slice(&v.to_be_bytes());
            } else {
                buf[i..i + 2].copy_from_slice(&(v as u16).to_be_bytes());
            }
        }
        _ if len > 0 => {
            let i = rng.below(len);
            buf[i] = 0;
        }
        _ => buf.push(rng.next_u64() as u8),
    }
}

// ---------------------------------------------------------------------------
// JSON mutator
// ---------------------------------------------------------------------------

/// Strings that break parsers and validators: empty, blank, control
/// characters, very long, odd Unicode, numbers and dates at their edges.
const NASTY_STRINGS: [&str; 16] = [
    "",
    " ",
    "\u{0}",
    "\n",
    "\u{202e}",
    "💥",
    "9999-12-31",
    "0000-01-01",
    "2026-02-29",
    "2026-13-01",
    "-1",
    "NaN",
    "1e999",
    "null",
    "XT-B1",
    "..",
];

/// Every string and object key in `v`, for [`mutate_json`] to use as a dictionary.
pub fn json_words(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) if s.len() <= 256 => out.push(s.clone()),
        Value::Array(a) => a.iter().for_each(|x| json_words(x, out)),
        Value::Object(o) => {
            for (k, x) in o {
                out.push(k.clone());
                json_words(x, out);
            }
        }
        _ => {}
    }
}

fn node_count(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(node_count).sum(),
        Value::Object(o) => o.values().map(node_count).sum(),
        _ => 0,
    }
}

/// The `n`-th node of `v` in pre-order.
fn nth_node(v: &mut Value, n: usize) -> Option<&mut Value> {
    fn walk<'a>(v: &'a mut Value, n: &mut usize) -> Option<&'a mut Value> {
        if *n == 0 {
            return Some(v);
        }
        *n -= 1;
        match v {
            Value::Array(a) => a.iter_mut().find_map(|x| walk(x, n)),
            Value::Object(o) => o.values_mut().find_map(|x| walk(x, n)),
            _ => None,
        }
    }
    let mut n = n;
    walk(v, &mut n)
}

fn nasty_value(rng: &mut Rng, words: &[String]) -> Value {
    match rng.below(10) {
        0 => Value::Null,
        1 => Value::Bool(rng.one_in(2)),
        2 => serde_json::json!(*rng.pick(&[0i64, -1, 1, i64::MAX, i64::MIN, 4_294_967_296])),
        3 => serde_json::json!(*rng.pick(&[0.5f64, -0.0, 1e308, -1e308, 1e-300])),
        4 => serde_json::json!(u64::MAX),
        5 => Value::Array(vec![]),
        6 => Value::Object(serde_json::Map::new()),
        7 => Value::String("x".repeat(*rng.pick(&[64usize, 65, 200, 5000]))),
        8 if !words.is_empty() => Value::String(rng.pick(words).clone()),
        _ => Value::String((*rng.pick(&NASTY_STRINGS)).to_owned()),
    }
}

fn mutate_string(rng: &mut Rng, s: &mut String, words: &[String]) {
    let mut chars: Vec<char> = s.chars().collect();
    match rng.below(7) {
        0 if !words.is_empty() => *s = rng.pick(words).clone(),
        1 if !chars.is_empty() => {
            // A digit changed: dates, ids and times that are almost right.
            let i = rng.below(chars.len());
            chars[i] = char::from(b'0' + rng.below(10) as u8);
            *s = chars.into_iter().collect();
        }
        2 => {
            let i = rng.below(chars.len() + 1);
            chars.insert(
                i,
                *rng.pick(&['\u{0}', '\t', ' ', '-', '.', '中', '\u{ffff}', 'Z']),
            );
            *s = chars.into_iter().collect();
        }
        3 if !chars.is_empty() => {
            chars.truncate(rng.below(chars.len()));
            *s = chars.into_iter().collect();
        }
        4 => *s = s.repeat(2 + rng.below(3)),
        5 if !words.is_empty() => s.push_str(rng.pick(words).as_str()),
        _ => *s = (*rng.pick(&NASTY_STRINGS)).to_owned(),
    }
}

fn mutate_node(rng: &mut Rng, node: &mut Value, words: &[String], donor: Option<Value>) {
    if rng.one_in(10) {
        *node = match donor {
            Some(d) => d,
            None => nasty_value(rng, words),
        };
        return;
    }
    match node {
        Value::String(s) => mutate_string(rng, s, words),
        Value::Number(n) => {
            let x = n.as_f64().unwrap_or(0.0);
            *node = match rng.below(6) {
                0 => serde_json::json!(n.as_i64().unwrap_or(0).wrapping_add(1)),
                1 => serde_json::json!(n.as_i64().unwrap_or(0).wrapping_sub(1)),
                2 => serde_json::json!(-x),
                3 => serde_json::json!(x * 1e6),
                4 => serde_json::json!(x + 0.5),
                _ => nasty_value(rng, words),
            };
        }
        Value::Array(a) => {
            let len = a.len();
            match rng.below(6) {
                0 if len > 0 => {
                    a.remove(rng.below(len));
                }
                1 if len > 0 => {
                    let x = a[rng.below(len)].clone();
                    a.insert(rng.below(len + 1), x);
                }
                2 if len > 1 => {
                    let (i, j) = (rng.below(len), rng.below(len));
                    a.swap(i, j);
                }
                3 => a.clear(),
                4 if len > 1 => a.truncate(1 + rng.below(len - 1)),
                _ => a.push(donor.unwrap_or_else(|| nasty_value(rng, words))),
            }
        }
        Value::Object(o) => {
            let keys: Vec<String> = o.keys().cloned().collect();
            match rng.below(4) {
                0 if !keys.is_empty() => {
                    o.remove(rng.pick(&keys));
                }
                1 if !keys.is_empty() => {
                    // Renamed: a misspelt or borrowed key.
                    let k = rng.pick(&keys).clone();
                    if let Some(v) = o.remove(&k) {
                        let mut k2 = k;
                        mutate_string(rng, &mut k2, words);
                        o.insert(k2, v);
                    }
                }
                2 if !words.is_empty() => {
                    let v = donor.unwrap_or_else(|| nasty_value(rng, words));
                    o.insert(rng.pick(words).clone(), v);
                }
                _ => {
                    if let Some(k) = keys.get(rng.below(keys.len())) {
                        let v = nasty_value(rng, words);
                        o.insert(k.clone(), v);
                    }
                }
            }
        }
        _ => *node = nasty_value(rng, words),
    }
}

/// One to three mutations of a JSON text: mostly of its parsed value (a
/// node replaced, removed, duplicated, retyped, a string or number nudged,
/// a subtree copied from elsewhere in it), written back compact or pretty;
/// sometimes of its bytes (kept UTF-8), which reaches the parser's own
/// error paths. `words` are strings to borrow (the seeds' ids and keys).
pub fn mutate_json(rng: &mut Rng, text: &str, words: &[String]) -> String {
    let mut out = text.to_owned();
    for _ in 0..1 + rng.below(3) {
        let parsed: Option<Value> = if rng.below(10) < 9 {
            serde_json::from_str(&out).ok()
        } else {
            None
        };
        match parsed {
            Some(mut v) => {
                let n = node_count(&v);
                let donor = if rng.one_in(4) {
                    let k = rng.below(n);
                    nth_node(&mut v, k).map(|x| x.clone())
                } else {
                    None
                };
                let k = rng.below(n);
                if let Some(node) = nth_node(&mut v, k) {
                    mutate_node(rng, node, words, donor);
                }
                out = if rng.one_in(4) {
                    serde_json::to_string_pretty(&v).unwrap_or_default()
                } else {
                    v.to_string()
                };
            }
            None => {
                let mut bytes = out.into_bytes();
                mutate_bytes(rng, &mut bytes, &[]);
                bytes.truncate(MAX_INPUT);
                out = String::from_utf8_lossy(&bytes).into_owned();
            }
        }
    }
    out
}
