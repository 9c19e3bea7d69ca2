//! Hostile inputs, built by hand: Automerge change chunks that a client
//! "written from our docs alone" could send, and that the Automerge library
//! itself mishandles.
//!
//! Nothing here is copied from Automerge's output: a small encoder writes
//! the change-chunk format byte by byte, so that a test can write a change
//! Automerge would never write itself. Its canonical output is checked
//! against Automerge's in the tests of this module (the encoder is right
//! before it is bent).
//!
//! # The format written
//!
//! ```text
//! chunk   = magic 85 6f 4a 83 · checksum (4) · type 01 · uLEB len · body
//! body    = deps (uLEB count, 32-byte hashes) · actor (uLEB len, bytes)
//!           · seq (uLEB) · start_op (uLEB) · time (sLEB) · message (uLEB len, UTF-8)
//!           · other actors (uLEB count, then uLEB len + bytes each)
//!           · column metadata (uLEB count, then (spec uLEB, byte length uLEB) pairs,
//!             sorted by spec, empty columns left out)
//!           · column data (the columns, in the order of their metadata)
//!           · extra bytes (none here)
//! checksum = the first 4 bytes of the change hash,
//! change hash = SHA-256(type 01 · uLEB len · body)
//! ```
//!
//! Only what a case or zero-report document needs is supported: scalar puts
//! (action `set`) into the root map, each with its predecessors (the ops it
//! overwrites). An op id is `(actor index, counter)`, where index 0 is the
//! change's author and `i > 0` is `other_actors[i - 1]`.
//!
//! # The two hostile inputs
//!
//! * [`non_canonical_change`] / [`case_document_change`]: a valid change
//!   whose columns use a valid but non-canonical encoding. Automerge 0.12
//!   loads it under the hash of the bytes it received, but keeps only the
//!   ops and rebuilds the change canonically whenever it needs it again:
//!   the rebuilt change has another hash. So `Automerge::load(&doc.save())`
//!   fails ("error inflating document chunk ops: mismatching heads"), and
//!   `save_after`/`get_changes`/`merge` hand the change on under the other
//!   hash (release builds) or panic in a debug cross-check (debug builds).
//! * [`unknown_actor_change`]: a change naming an actor the document cannot
//!   resolve, which makes Automerge 0.12 panic (an `unwrap` in
//!   `src/op_set2/change/batch.rs`) while applying it, whether by `load` or
//!   `load_incremental`.
//!
//! `tests/tests/e2e/hostile_inputs.rs` asserts all of this exactly.

use automerge::ChangeHash;
use sha2::{Digest, Sha256};
use wangge_core::{CaseEvent, CaseHeader};

/// The magic bytes that start every Automerge chunk.
pub const MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];
/// The chunk type of a change chunk.
pub const CHUNK_TYPE_CHANGE: u8 = 1;
/// The action code of a scalar put (`set`).
pub const ACTION_SET: u64 = 1;

/// Column specifications, `(column id << 4) | type`, of the columns written.
/// Types: 0 group, 1 actor, 2 uLEB integer, 3 delta integer, 4 boolean,
/// 5 string, 6 value metadata, 7 raw value (bit 3, deflate, is never set).
pub mod spec {
    /// Key column (id 1), string: the map key of each op, RLE.
    pub const KEY_STR: u32 = 0x15;
    /// Insert column (id 3), boolean: whether each op inserts into a list.
    pub const INSERT: u32 = 0x34;
    /// Action column (id 4), uLEB integer: the action of each op, RLE.
    pub const ACTION: u32 = 0x42;
    /// Value column (id 5), metadata: `(byte length << 4) | value type` of each value, RLE.
    pub const VALUE_META: u32 = 0x56;
    /// Value column (id 5), raw: the value bytes, concatenated.
    pub const VALUE_RAW: u32 = 0x57;
    /// Pred column (id 7), group: how many predecessors each op has, RLE.
    pub const PRED_GROUP: u32 = 0x70;
    /// Pred column (id 7), actor: the actor index of each predecessor, RLE.
    pub const PRED_ACTOR: u32 = 0x71;
    /// Pred column (id 7), delta: the counter of each predecessor, delta-RLE.
    pub const PRED_CTR: u32 = 0x73;
}

/// A scalar value of a root put.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scalar {
    /// UTF-8 text (value type 6).
    Str(String),
    /// An unsigned integer (value type 3, uLEB).
    Uint(u64),
}

impl Scalar {
    /// The value's metadata `(byte length << 4) | type` and its raw bytes.
    fn encode(&self) -> (u64, Vec<u8>) {
        let (kind, bytes) = match self {
            Scalar::Str(s) => (6, s.as_bytes().to_vec()),
            Scalar::Uint(n) => (3, uleb(*n)),
        };
        (((bytes.len() as u64) << 4) | kind, bytes)
    }
}

/// One op: put `value` at `key` of the root map, overwriting `pred`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootPut {
    /// The root key.
    pub key: String,
    /// The value written.
    pub value: Scalar,
    /// The ops this put overwrites, as `(actor index, counter)` in the
    /// change's actor list (0 = the author), sorted by counter then index.
    /// Empty for a key that has no value yet.
    pub pred: Vec<(u64, u64)>,
}

impl RootPut {
    /// A put of a key that has no value yet.
    pub fn new(key: impl Into<String>, value: Scalar) -> Self {
        RootPut {
            key: key.into(),
            value,
            pred: Vec::new(),
        }
    }
}

/// The header fields of a change chunk (everything before the columns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeMeta {
    /// Hashes of the changes this one depends on (written in this order;
    /// Automerge writes them sorted).
    pub deps: Vec<ChangeHash>,
    /// The author's actor id.
    pub actor: Vec<u8>,
    /// The author's sequence number of this change (1 for its first).
    pub seq: u64,
    /// The counter of the change's first op (ops are numbered from it).
    pub start_op: u64,
    /// Milliseconds since the epoch (sLEB).
    pub time: i64,
    /// The commit message; `None` is written as an empty string.
    pub message: Option<String>,
    /// The other actors the ops refer to: actor index `i > 0` is
    /// `other_actors[i - 1]`. Automerge lists exactly the referenced actors,
    /// sorted.
    pub other_actors: Vec<Vec<u8>>,
}

impl ChangeMeta {
    /// An author's first change with no dependencies: seq 1, start_op 1,
    /// time 0, no message, no other actors.
    pub fn first(actor: &[u8]) -> Self {
        ChangeMeta {
            deps: Vec::new(),
            actor: actor.to_vec(),
            seq: 1,
            start_op: 1,
            time: 0,
            message: None,
            other_actors: Vec::new(),
        }
    }
}

/// How the column data is written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnStyle {
    /// As Automerge writes it: maximal repeat runs for repeated values, one
    /// literal run for each stretch of values that do not repeat.
    Canonical,
    /// Valid, but not what Automerge writes: every value of every run-length
    /// encoded column (keys, actions, value metadata, pred counts, pred
    /// actors and the deltas of pred counters) is written as its own literal
    /// run of length 1 (`sLEB(-1) · value`; a null as the null run
    /// `0 · uLEB(1)`). The run-length decoder only requires the runs to add
    /// up to the number of ops; it never requires them to be maximal, so the
    /// ops read back identical while the bytes, and so the change hash,
    /// differ. Boolean and raw value columns stay canonical.
    NonCanonical,
}

/// Writes `n` as an unsigned LEB128 varint.
pub fn uleb(mut n: u64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

/// Writes `n` as a signed LEB128 varint.
pub fn sleb(mut n: i64) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        let done = (n == 0 && byte & 0x40 == 0) || (n == -1 && byte & 0x40 != 0);
        if done {
            out.push(byte);
            return out;
        }
        out.push(byte | 0x80);
    }
}

/// A run-length encoded column: values (`None` = null), each given as its
/// encoded bytes.
///
/// A run is `sLEB(n) · value` for a value repeated `n > 0` times, `sLEB(-n)`
/// followed by `n` values for a literal run, or `0 · uLEB(n)` for `n` nulls.
/// Canonically, repeated values form one repeat run, and consecutive values
/// that do not repeat share one literal run.
pub fn rle(values: &[Option<Vec<u8>>], style: ColumnStyle) -> Vec<u8> {
    let mut out = Vec::new();
    if style == ColumnStyle::NonCanonical {
        for v in values {
            match v {
                Some(bytes) => {
                    out.extend(sleb(-1));
                    out.extend(bytes);
                }
                None => {
                    out.extend(sleb(0));
                    out.extend(uleb(1));
                }
            }
        }
        return out;
    }
    // Canonical: group equal neighbours, then flush singletons together.
    let mut runs: Vec<(&Option<Vec<u8>>, usize)> = Vec::new();
    for v in values {
        match runs.last_mut() {
            Some((last, n)) if *last == v => *n += 1,
            _ => runs.push((v, 1)),
        }
    }
    let mut literal: Vec<&Vec<u8>> = Vec::new();
    let flush = |literal: &mut Vec<&Vec<u8>>, out: &mut Vec<u8>| {
        if !literal.is_empty() {
            out.extend(sleb(-(literal.len() as i64)));
            for v in literal.drain(..) {
                out.extend(v);
            }
        }
    };
    for (value, n) in runs {
        match value {
            Some(bytes) if n == 1 => literal.push(bytes),
            Some(bytes) => {
                flush(&mut literal, &mut out);
                out.extend(sleb(n as i64));
                out.extend(bytes);
            }
            None => {
                flush(&mut literal, &mut out);
                out.extend(sleb(0));
                out.extend(uleb(n as u64));
            }
        }
    }
    flush(&mut literal, &mut out);
    out
}

/// A run-length encoded column of unsigned integers.
pub fn rle_uint(values: &[u64], style: ColumnStyle) -> Vec<u8> {
    let values: Vec<_> = values.iter().map(|v| Some(uleb(*v))).collect();
    rle(&values, style)
}

/// A delta column: each integer as its difference from the previous one
/// (the first from 0), run-length encoded as sLEB values.
pub fn delta(values: &[i64], style: ColumnStyle) -> Vec<u8> {
    let mut prev = 0;
    let deltas: Vec<_> = values
        .iter()
        .map(|v| {
            let d = v - prev;
            prev = *v;
            Some(sleb(d))
        })
        .collect();
    rle(&deltas, style)
}

/// A boolean column: the lengths (uLEB) of alternating runs, the first run
/// being `false` (of length 0 when the first value is `true`).
pub fn booleans(values: &[bool]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut current = false;
    let mut n = 0u64;
    for v in values {
        if *v != current {
            out.extend(uleb(n));
            current = *v;
            n = 0;
        }
        n += 1;
    }
    if n > 0 {
        out.extend(uleb(n));
    }
    out
}

/// Wraps a chunk body: magic, checksum, chunk type, uLEB length, body.
/// Returns the chunk and its hash (the change hash, for a change chunk).
pub fn chunk(chunk_type: u8, body: &[u8]) -> (Vec<u8>, ChangeHash) {
    let mut hashed = vec![chunk_type];
    hashed.extend(uleb(body.len() as u64));
    hashed.extend(body);
    let hash: [u8; 32] = Sha256::digest(&hashed).into();
    let mut out = MAGIC.to_vec();
    out.extend(&hash[..4]);
    out.extend(hashed);
    (out, ChangeHash(hash))
}

/// The hash of a chunk as Automerge computes it (over its bytes as
/// received: type, length and body). `bytes` must hold one whole chunk.
pub fn chunk_hash(bytes: &[u8]) -> ChangeHash {
    assert_eq!(bytes[..4], MAGIC, "not an Automerge chunk");
    ChangeHash(Sha256::digest(&bytes[8..]).into())
}

/// Encodes one change chunk of root puts, numbered from `meta.start_op`.
pub fn encode_change(meta: &ChangeMeta, ops: &[RootPut], style: ColumnStyle) -> Vec<u8> {
    let length_prefixed = |out: &mut Vec<u8>, bytes: &[u8]| {
        out.extend(uleb(bytes.len() as u64));
        out.extend(bytes);
    };
    let mut body = uleb(meta.deps.len() as u64);
    for dep in &meta.deps {
        body.extend(dep.0);
    }
    length_prefixed(&mut body, &meta.actor);
    body.extend(uleb(meta.seq));
    body.extend(uleb(meta.start_op));
    body.extend(sleb(meta.time));
    length_prefixed(&mut body, meta.message.as_deref().unwrap_or("").as_bytes());
    body.extend(uleb(meta.other_actors.len() as u64));
    for actor in &meta.other_actors {
        length_prefixed(&mut body, actor);
    }

    let keys: Vec<_> = ops
        .iter()
        .map(|op| {
            let mut v = uleb(op.key.len() as u64);
            v.extend(op.key.as_bytes());
            Some(v)
        })
        .collect();
    let (meta_col, raw): (Vec<u64>, Vec<Vec<u8>>) = ops.iter().map(|op| op.value.encode()).unzip();
    let preds: Vec<(u64, u64)> = ops.iter().flat_map(|op| op.pred.clone()).collect();
    let columns = [
        (spec::KEY_STR, rle(&keys, style)),
        (spec::INSERT, booleans(&vec![false; ops.len()])),
        (spec::ACTION, rle_uint(&vec![ACTION_SET; ops.len()], style)),
        (spec::VALUE_META, rle_uint(&meta_col, style)),
        (spec::VALUE_RAW, raw.concat()),
        (
            spec::PRED_GROUP,
            rle_uint(
                &ops.iter()
                    .map(|op| op.pred.len() as u64)
                    .collect::<Vec<_>>(),
                style,
            ),
        ),
        (
            spec::PRED_ACTOR,
            rle_uint(&preds.iter().map(|p| p.0).collect::<Vec<_>>(), style),
        ),
        (
            spec::PRED_CTR,
            delta(&preds.iter().map(|p| p.1 as i64).collect::<Vec<_>>(), style),
        ),
    ];
    // Empty columns are left out of the metadata; the specs above are sorted.
    let columns: Vec<_> = columns.into_iter().filter(|(_, d)| !d.is_empty()).collect();
    body.extend(uleb(columns.len() as u64));
    for (spec, data) in &columns {
        body.extend(uleb(u64::from(*spec)));
        body.extend(uleb(data.len() as u64));
    }
    for (_, data) in &columns {
        body.extend(data);
    }
    chunk(CHUNK_TYPE_CHANGE, &body).0
}

/// Root puts of new keys, in order.
pub fn puts(values: &[(String, Scalar)]) -> Vec<RootPut> {
    values
        .iter()
        .map(|(k, v)| RootPut::new(k.clone(), v.clone()))
        .collect()
}

/// The root puts of a new case document, in the order
/// `wangge_core::doc::EventDoc::create` writes them: `kind` = "case",
/// `schema` = 1 (uint), `header` = the header's JSON, then `ev:<id>` = each
/// event's JSON (serialised with `serde_json`, as the core does).
pub fn case_puts(header: &CaseHeader, events: &[CaseEvent]) -> Vec<(String, Scalar)> {
    let mut out = vec![
        ("kind".to_owned(), Scalar::Str("case".into())),
        (
            "schema".to_owned(),
            Scalar::Uint(wangge_core::doc::DOC_SCHEMA),
        ),
        (
            "header".to_owned(),
            Scalar::Str(serde_json::to_string(header).unwrap()),
        ),
    ];
    for event in events {
        out.push((
            format!("ev:{}", event.id),
            Scalar::Str(serde_json::to_string(event).unwrap()),
        ));
    }
    out
}

/// The author's first change (seq 1, start_op 1, time 0, no message, no
/// deps), its puts written canonically: byte for byte what Automerge writes.
pub fn canonical_change(actor: &[u8], values: &[(String, Scalar)]) -> Vec<u8> {
    encode_change(
        &ChangeMeta::first(actor),
        &puts(values),
        ColumnStyle::Canonical,
    )
}

/// Hostile input 1: the same change as [`canonical_change`], with its
/// columns written [`ColumnStyle::NonCanonical`]. Automerge loads it and
/// reads the same values, but its hash is not the hash of the change
/// Automerge rebuilds from it (see the module docs).
///
/// `values` must hold at least two puts: a lone value is a literal run of
/// one either way, so a single put would come out canonical. With two or
/// more, the action column (`n · 01` canonically, `(7f 01) × n` here) and
/// the pred-count column (`n · 00`, `(7f 00) × n`) always differ.
pub fn non_canonical_change(actor: &[u8], values: &[(String, Scalar)]) -> Vec<u8> {
    assert!(
        values.len() >= 2,
        "one put is encoded the same either way: give at least two"
    );
    encode_change(
        &ChangeMeta::first(actor),
        &puts(values),
        ColumnStyle::NonCanonical,
    )
}

/// Hostile input 1 as a whole case: one non-canonical change holding a
/// complete, valid case document (`kind`, `schema`, `header`, and one key
/// per event, e.g. the `Reported` event), authored by `actor` (seq 1).
/// `Automerge::load` and `EventDoc::load` accept it and read `header` and
/// `events` back exactly.
pub fn case_document_change(actor: &[u8], header: &CaseHeader, events: &[CaseEvent]) -> Vec<u8> {
    non_canonical_change(actor, &case_puts(header, events))
}

/// How [`unknown_actor_change`] names an actor Automerge cannot resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActorFlaw {
    /// The first put overwrites op `1@actor index 1`, but the change lists
    /// no other actor: the index is beyond the change's actor list.
    /// Automerge 0.12 panics in `BatchApply::import_ops`
    /// (`doc.import_ops_to(c, ..).unwrap()` on `Err(InvalidActorIndex(1))`).
    IndexBeyondHeader,
    /// The change lists another actor (`[0xEE; 16]`), which the first put's
    /// predecessor `1@that actor` refers to, but which no change of the
    /// document authored. Automerge 0.12 panics in `Automerge::import_ops`
    /// (`self.ops.lookup_actor(a).unwrap()` on `None`): before applying
    /// changes it registers only the author of each incoming seq-1 change
    /// (`BatchApply::insert_new_actors`), never the other actors listed.
    ActorUnknownToDocument,
}

/// The other actor [`ActorFlaw::ActorUnknownToDocument`] lists.
pub const UNKNOWN_ACTOR: [u8; 16] = [0xEE; 16];

/// Hostile input 2: the author's first change (seq 1, no deps, canonical
/// columns) putting `values` into the root, with the first put naming an
/// actor Automerge cannot resolve, as `flaw` says. Applying it to any
/// document — `Automerge::load` of the chunk alone, or `load_incremental`
/// into an existing document — panics in Automerge 0.12 instead of
/// returning an error. `values` must not be empty.
pub fn unknown_actor_change(actor: &[u8], values: &[(String, Scalar)], flaw: ActorFlaw) -> Vec<u8> {
    assert!(!values.is_empty(), "the flaw sits on the first put");
    let mut ops = puts(values);
    ops[0].pred = vec![(1, 1)];
    let mut meta = ChangeMeta::first(actor);
    if flaw == ActorFlaw::ActorUnknownToDocument {
        meta.other_actors = vec![UNKNOWN_ACTOR.to_vec()];
    }
    encode_change(&meta, &ops, ColumnStyle::Canonical)
}

#[cfg(test)]
mod tests {
    use super::*;
    use automerge::transaction::Transactable;
    use automerge::{ActorId, Automerge, ROOT, ReadDoc};

    const ACTOR: [u8; 16] = [0x11; 16];

    /// The same puts made with Automerge's API, as the author's first change.
    fn automerge_change(values: &[(String, Scalar)]) -> Vec<u8> {
        let mut doc = Automerge::new().with_actor(ActorId::from(ACTOR.to_vec()));
        // A transaction's time is 0 unless a commit sets one.
        let mut tx = doc.transaction();
        for (k, v) in values {
            match v {
                Scalar::Str(s) => tx.put(ROOT, k, s.as_str()).unwrap(),
                Scalar::Uint(n) => tx.put(ROOT, k, *n).unwrap(),
            }
        }
        tx.commit();
        doc.get_last_local_change().unwrap().raw_bytes().to_vec()
    }

    fn sample() -> Vec<(String, Scalar)> {
        vec![
            ("kind".into(), Scalar::Str("case".into())),
            ("schema".into(), Scalar::Uint(1)),
            ("header".into(), Scalar::Str(r#"{"id":"x"}"#.into())),
            ("ev:a".into(), Scalar::Str("{}".into())),
            ("ev:b".into(), Scalar::Str("{}".into())),
        ]
    }

    #[test]
    fn leb128() {
        assert_eq!(uleb(0), [0]);
        assert_eq!(uleb(127), [0x7f]);
        assert_eq!(uleb(128), [0x80, 0x01]);
        assert_eq!(uleb(300), [0xac, 0x02]);
        assert_eq!(sleb(0), [0]);
        assert_eq!(sleb(-1), [0x7f]);
        assert_eq!(sleb(63), [0x3f]);
        assert_eq!(sleb(64), [0xc0, 0x00]);
        assert_eq!(sleb(-64), [0x40]);
        assert_eq!(sleb(-65), [0xbf, 0x7f]);
    }

    #[test]
    fn run_length_encoding() {
        let c = ColumnStyle::Canonical;
        assert_eq!(rle_uint(&[1, 1, 1], c), [3, 1]);
        assert_eq!(rle_uint(&[1, 2, 3], c), [0x7d, 1, 2, 3]);
        assert_eq!(rle_uint(&[1, 2, 2], c), [0x7f, 1, 2, 2]);
        assert_eq!(rle(&[None, None, Some(vec![5])], c), [0, 2, 0x7f, 5]);
        assert_eq!(
            rle_uint(&[1, 1, 1], ColumnStyle::NonCanonical),
            [0x7f, 1, 0x7f, 1, 0x7f, 1]
        );
        assert_eq!(delta(&[3, 4, 5], c), [0x7f, 3, 2, 1]);
        assert_eq!(booleans(&[false, false]), [2]);
        assert_eq!(booleans(&[true, false]), [0, 1, 1]);
        assert!(booleans(&[]).is_empty());
    }

    #[test]
    fn canonical_encoding_is_byte_identical_to_automerges() {
        for values in [
            sample(),
            sample()[..1].to_vec(),
            sample()[..2].to_vec(),
            vec![
                ("a".into(), Scalar::Str("same".into())),
                ("b".into(), Scalar::Str("same".into())),
            ],
        ] {
            let ours = canonical_change(&ACTOR, &values);
            assert_eq!(ours, automerge_change(&values), "{values:?}");
        }
    }

    /// Overwrites, with predecessors by the author and by another actor.
    #[test]
    fn canonical_encoding_of_preds_and_other_actors_is_automerges() {
        let first: Vec<(String, Scalar)> = sample()[..2].to_vec();
        let mut a = Automerge::new().with_actor(ActorId::from(ACTOR.to_vec()));
        let mut tx = a.transaction();
        tx.put(ROOT, "kind", "case").unwrap();
        tx.put(ROOT, "schema", 1u64).unwrap();
        tx.commit();
        let h1 = a.get_heads()[0];
        assert_eq!(
            a.get_last_local_change().unwrap().raw_bytes(),
            canonical_change(&ACTOR, &first)
        );

        // The author overwrites its own op 2 ("schema").
        let mut tx = a.transaction();
        tx.put(ROOT, "schema", 2u64).unwrap();
        tx.put(ROOT, "ev:c", "{}").unwrap();
        tx.commit();
        let meta = ChangeMeta {
            deps: vec![h1],
            seq: 2,
            start_op: 3,
            ..ChangeMeta::first(&ACTOR)
        };
        let mut ops = puts(&[
            ("schema".into(), Scalar::Uint(2)),
            ("ev:c".into(), Scalar::Str("{}".into())),
        ]);
        ops[0].pred = vec![(0, 2)];
        assert_eq!(
            a.get_last_local_change().unwrap().raw_bytes(),
            encode_change(&meta, &ops, ColumnStyle::Canonical)
        );

        // Another actor, having seen the first change, overwrites op 1 ("kind"):
        // the author is listed as its other actor 1.
        let other = [0x22; 16];
        let mut b = Automerge::new().with_actor(ActorId::from(other.to_vec()));
        b.load_incremental(&a.save_after(&[])).unwrap();
        let mut tx = b.transaction();
        tx.put(ROOT, "kind", "zero_report").unwrap();
        tx.commit();
        let meta = ChangeMeta {
            deps: a.get_heads(),
            start_op: 5,
            other_actors: vec![ACTOR.to_vec()],
            ..ChangeMeta::first(&other)
        };
        let mut ops = puts(&[("kind".into(), Scalar::Str("zero_report".into()))]);
        ops[0].pred = vec![(1, 1)];
        assert_eq!(
            b.get_last_local_change().unwrap().raw_bytes(),
            encode_change(&meta, &ops, ColumnStyle::Canonical)
        );
    }

    #[test]
    fn non_canonical_encoding_reads_back_the_same_ops() {
        let bytes = non_canonical_change(&ACTOR, &sample());
        assert_ne!(bytes, canonical_change(&ACTOR, &sample()));
        let doc = Automerge::load(&bytes).unwrap();
        assert_eq!(doc.get_heads(), vec![chunk_hash(&bytes)]);
        for (k, v) in sample() {
            let got = doc.get(ROOT, &k).unwrap().unwrap().0.into_scalar().unwrap();
            match v {
                Scalar::Str(s) => assert_eq!(got.as_str(), Some(s.as_str())),
                Scalar::Uint(n) => assert_eq!(got.as_u64(), Some(n)),
            }
        }
    }
}
