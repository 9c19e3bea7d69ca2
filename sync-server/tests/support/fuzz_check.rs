//! The `push` fuzz target — the sync decoder, the push check and the merge:
//! its fixture, mutator and invariant check, run by the driver
//! (`examples/fuzz.rs --target push`, run by `scripts/fuzz.sh`) and the
//! regression test (`tests/fuzz_regressions.rs`, run by CI on stable) through
//! the shared engine (`fuzz_engine.rs`).
//!
//! One input is the body of a `POST /v1/sync`: [`check_input`] decodes it
//! with `SyncRequest::decode` and runs every pushed document through
//! `merge_push` — the strict load, the authority rules, the
//! save-and-load-back check — against each of [`Fixture::targets`] (nothing
//! stored, a stored case, a stored zero report, a quarantined case). It
//! returns a [`Finding`] when an invariant breaks:
//!
//! * a decoded request re-encodes and decodes to itself;
//! * `Merge::Unchanged` reports the stored heads;
//! * every `Merge::Changed` holds saved bytes that `EventDoc::load_strict`
//!   loads to the same heads, whose content passes `check_push` again and
//!   decodes as the back office reads it, and the same push sent again
//!   (a device retrying) is `Unchanged`.
//!
//! A panic escaping any of it is a finding too: the engine's `run_input`
//! contains it.
//! Panics Automerge raises and the core contains (`EventDoc::load_strict`,
//! `merge_strict`) are counted, not reported.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;

use automerge::{ActorId, ChangeHash};
use sha2::{Digest, Sha256};
use wangge_core::authority::{Author, check_push};
use wangge_core::case::{CaseEvent, CaseEventKind, CaseHeader, GridRef};
use wangge_core::doc::{DocKind, EventDoc};
use wangge_core::hlc::Hlc;
use wangge_core::sync::protocol::{PushDoc, SyncRequest};
use wangge_core::zero_report::{ZeroReportEvent, ZeroReportEventKind, ZeroReportHeader};
use wangge_core::{Actor, CaseId, Catalog, DeviceId, EventId, MatterId, Role, SourceChannel};
use wangge_server::docs::{Merge, Stored, decode, merge_push};

use crate::fuzz_engine::{
    FNV_START, Finding, MAX_INPUT, Report, Rng, Target, blank, finding, fnv, mutate_bytes,
    read_dir_sorted, read_uleb, uleb,
};

/// The pushing device: fixed, so committed corpus files stay valid.
const DEVICE: &str = "0190f000-0000-7000-8000-00000000f022";
/// The person enrolled on it.
const PERSON: &str = "XT-GO-001";
const UNIT: &str = "城管中队";
/// The server's Automerge actor.
const SERVER_ACTOR: [u8; 16] = [0x5e; 16];

// ---------------------------------------------------------------------------
// Fixture
// ---------------------------------------------------------------------------

/// What the server holds and who pushes.
pub struct Fixture {
    pub catalog: Catalog,
    pub author: Author,
    pub actor: ActorId,
    /// A stored case, reported by the author and dispatched to the author's unit.
    pub stored_case: Vec<u8>,
    /// A stored zero report filed by the author.
    pub stored_zero_report: Vec<u8>,
    /// Valid requests, by name.
    pub seeds: Vec<(String, Vec<u8>)>,
}

fn device() -> DeviceId {
    DeviceId::parse(DEVICE).expect("fixed device id")
}

fn officer() -> Actor {
    Actor {
        id: PERSON.into(),
        role: Role::GridOfficer,
        unit: Some(UNIT.into()),
        device: device(),
    }
}

fn staff() -> Actor {
    Actor {
        id: PERSON.into(),
        role: Role::WorkstationStaff,
        unit: None,
        device: device(),
    }
}

fn centre() -> Actor {
    Actor {
        id: "XT-CC-001".into(),
        role: Role::Centre,
        unit: None,
        device: DeviceId::parse("0190f000-0000-7000-8000-00000000cc01").expect("fixed id"),
    }
}

fn case_event(by: &Actor, ms: i64, kind: CaseEventKind) -> CaseEvent {
    CaseEvent {
        id: EventId::generate(),
        at: Hlc {
            wall_ms: ms,
            counter: 0,
        },
        by: by.clone(),
        kind,
    }
}

fn zr_event(ms: i64, kind: ZeroReportEventKind) -> ZeroReportEvent {
    ZeroReportEvent {
        id: EventId::generate(),
        at: Hlc {
            wall_ms: ms,
            counter: 0,
        },
        by: staff(),
        kind,
    }
}

/// A case as a phone records it: header and report in one change.
fn new_case(description: &str) -> EventDoc {
    let reporter = officer();
    let id = CaseId::generate();
    let header = CaseHeader {
        id,
        channel: SourceChannel::GridOfficerHandheld,
        checklist_item: "A02-001".into(),
        category: "A02".into(),
        domain: "A".into(),
        description: description.into(),
        gps: None,
        address: None,
        grid: Some(GridRef {
            cell: "XT-W01-U1".into(),
            workstation: Some("XT-W01".into()),
            block: Some("XT-B1".into()),
        }),
        grid_candidates: vec![],
        reporter: reporter.clone(),
        photos: vec![],
        external_ref: None,
    };
    let report = case_event(&reporter, 1_772_413_200_000, CaseEventKind::Reported);
    EventDoc::create(
        &id.to_string(),
        &ActorId::random(),
        DocKind::Case,
        &header,
        &[(report.id.to_string(), &report)],
    )
    .expect("a new case")
}

fn new_zero_report(day: u32, entry: ZeroReportEventKind) -> EventDoc {
    let header = ZeroReportHeader {
        workstation: "XT-W01".into(),
        day: chrono::NaiveDate::from_ymd_opt(2026, 3, day).expect("a day"),
    };
    let e = zr_event(1_772_413_200_000, entry);
    EventDoc::create(
        &header.doc_id(),
        &ActorId::random(),
        DocKind::ZeroReport,
        &header,
        &[(e.id.to_string(), &e)],
    )
    .expect("a zero report")
}

fn push(doc: &EventDoc, kind: DocKind, changes: Vec<u8>) -> PushDoc {
    PushDoc {
        doc_id: doc.id().to_owned(),
        kind,
        heads: doc.heads(),
        changes,
    }
}

fn request(n: u8, docs: Vec<PushDoc>) -> Vec<u8> {
    SyncRequest {
        request_id: [n; 16],
        cursor: u64::from(n) * 7,
        max_docs: 500,
        docs,
    }
    .encode()
}

impl Fixture {
    fn base(stored_case: Vec<u8>, stored_zero_report: Vec<u8>) -> Fixture {
        Fixture {
            catalog: Catalog::demo().expect("demo catalog"),
            author: Author {
                person: PERSON.into(),
                roles: vec![Role::GridOfficer, Role::WorkstationStaff],
                units: vec![UNIT.into()],
                device: device(),
            },
            actor: ActorId::from(SERVER_ACTOR),
            stored_case,
            stored_zero_report,
            seeds: Vec::new(),
        }
    }

    /// Makes fresh stored documents and valid requests against them.
    pub fn generate() -> Fixture {
        // The stored case: reported, then dispatched to the author's unit.
        let mut case = new_case("流动摊贩占道经营");
        let dispatch = case_event(
            &centre(),
            1_772_413_260_000,
            CaseEventKind::Dispatched {
                units: vec![UNIT.into()],
                lead: None,
                note: None,
            },
        );
        case.set_actor(&ActorId::from(SERVER_ACTOR));
        case.add_event(&dispatch.id.to_string(), &dispatch)
            .expect("dispatch");
        let stored_case = case.save();
        let case_heads = case.heads();
        // The device's feedback on it: an incremental change.
        case.set_actor(&ActorId::random());
        let feedback = case_event(
            &officer(),
            1_772_413_320_000,
            CaseEventKind::Feedback {
                note: "已劝离".into(),
                photos: vec![],
            },
        );
        case.add_event(&feedback.id.to_string(), &feedback)
            .expect("feedback");
        let feedback_push = push(&case, DocKind::Case, case.save_after(&case_heads));

        // The stored zero report, and a matter recorded on it later.
        let mut zr = new_zero_report(
            2,
            ZeroReportEventKind::Filed {
                nothing_to_report: true,
                note: None,
            },
        );
        let stored_zero_report = zr.save();
        let zr_heads = zr.heads();
        zr.set_actor(&ActorId::random());
        let matter = zr_event(
            1_772_413_400_000,
            ZeroReportEventKind::MatterRecorded {
                matter: MatterId::generate(),
                checklist_item: Some("A02-001".into()),
                description: "楼道堆物已清理".into(),
                photos: vec![],
            },
        );
        zr.add_event(&matter.id.to_string(), &matter)
            .expect("matter");
        let matter_push = push(&zr, DocKind::ZeroReport, zr.save_after(&zr_heads));

        // New documents, pushed whole (as a device does the first time).
        let fresh = new_case("井盖缺失");
        let fresh_push = push(&fresh, DocKind::Case, fresh.save());
        let fresh_changes = push(&fresh, DocKind::Case, fresh.save_after(&[]));
        let zero = new_zero_report(
            3,
            ZeroReportEventKind::Filed {
                nothing_to_report: true,
                note: Some("今日无事".into()),
            },
        );
        let zero_push = push(&zero, DocKind::ZeroReport, zero.save());

        let mut fx = Fixture::base(stored_case, stored_zero_report);
        fx.seeds = vec![
            ("new-case".into(), request(1, vec![fresh_push.clone()])),
            (
                "new-case-as-changes".into(),
                request(2, vec![fresh_changes]),
            ),
            ("feedback".into(), request(3, vec![feedback_push.clone()])),
            ("zero-report".into(), request(4, vec![zero_push.clone()])),
            ("matter".into(), request(5, vec![matter_push.clone()])),
            (
                "mixed".into(),
                request(6, vec![fresh_push, feedback_push, zero_push, matter_push]),
            ),
        ];
        fx
    }

    /// Loads the committed corpus `fuzz/corpus/push`: `dir/stored/{case,zero_report}.bin`
    /// and every file of `dir` as a seed.
    pub fn load(dir: &Path) -> std::io::Result<Fixture> {
        let stored_case = std::fs::read(dir.join("stored/case.bin"))?;
        let stored_zero_report = std::fs::read(dir.join("stored/zero_report.bin"))?;
        let mut fx = Fixture::base(stored_case, stored_zero_report);
        fx.seeds = read_dir_sorted(dir)?;
        Ok(fx)
    }

    /// Writes the fixture as a corpus [`Fixture::load`] reads.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::create_dir_all(dir.join("stored"))?;
        std::fs::write(dir.join("stored/case.bin"), &self.stored_case)?;
        std::fs::write(dir.join("stored/zero_report.bin"), &self.stored_zero_report)?;
        for (name, bytes) in &self.seeds {
            std::fs::write(dir.join(format!("{name}.bin")), bytes)?;
        }
        Ok(())
    }

    /// What the server may hold of a pushed document.
    pub fn targets(&self) -> [(&'static str, Stored<'_>); 4] {
        [
            ("none", Stored::None),
            ("case", Stored::Sound(DocKind::Case, &self.stored_case)),
            (
                "zero_report",
                Stored::Sound(DocKind::ZeroReport, &self.stored_zero_report),
            ),
            (
                "quarantined_case",
                Stored::Quarantined(DocKind::Case, &self.stored_case),
            ),
        ]
    }
}
// ---------------------------------------------------------------------------
// Check
// ---------------------------------------------------------------------------

/// Interns `refused:<code>` labels as static strings.
fn refused_label(code: &str) -> &'static str {
    use wangge_core::authority::RefusalCode;
    for c in RefusalCode::ALL {
        if c.as_str() == code {
            return match c {
                RefusalCode::CorruptDocument => "refused:corrupt_document",
                RefusalCode::UnknownField => "refused:unknown_field",
                RefusalCode::HeaderChanged => "refused:header_changed",
                RefusalCode::EventRemoved => "refused:event_removed",
                RefusalCode::EventChanged => "refused:event_changed",
                RefusalCode::WrongAuthor => "refused:wrong_author",
                RefusalCode::RoleNotAllowed => "refused:role_not_allowed",
                RefusalCode::NotDispatchedToUnit => "refused:not_dispatched_to_unit",
                RefusalCode::NotOnSpotItem => "refused:not_on_spot_item",
                RefusalCode::CaseNumberFromDevice => "refused:case_number_from_device",
                RefusalCode::InvalidReport => "refused:invalid_report",
                RefusalCode::InvalidInput => "refused:invalid_input",
                RefusalCode::OutOfScope => "refused:out_of_scope",
                RefusalCode::NoPerson => "refused:no_person",
            };
        }
    }
    "refused:other"
}

fn kind_code(kind: DocKind) -> u8 {
    match kind {
        DocKind::Case => 1,
        DocKind::ZeroReport => 2,
    }
}

fn heads_text(h: &[ChangeHash]) -> String {
    h.iter()
        .map(|h| {
            h.0[..4]
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect::<String>()
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Decodes `input` and merges every pushed document against every target,
/// checking the invariants. Panics escape (the engine's `run_input` contains them).
pub fn check_input(fx: &Fixture, input: &[u8]) -> Result<Report, Finding> {
    let mut report = Report::default();
    let req = match SyncRequest::decode(input) {
        Ok(r) => r,
        Err(e) => {
            let mut sig = FNV_START;
            report.outcomes.push("not_decoded");
            fnv(&mut sig, e.what.as_bytes());
            fnv(&mut sig, e.problem.as_bytes());
            report.features.push(sig);
            return Ok(report);
        }
    };
    let again = SyncRequest::decode(&req.encode()).map_err(|e| {
        finding(
            "request-roundtrip",
            format!("re-encoded request does not decode: {e}"),
        )
    })?;
    if again != req {
        return Err(finding(
            "request-roundtrip",
            "a decoded request re-encodes to a different request",
        ));
    }
    for (i, p) in req.docs.iter().enumerate() {
        for (t, (target_name, target)) in fx.targets().into_iter().enumerate() {
            let mut sig = FNV_START;
            fnv(&mut sig, &[t as u8, kind_code(p.kind)]);
            let label = check_merge(fx, p, target, &mut sig).map_err(|mut f| {
                f.detail = format!(
                    "push #{i} ({}, {}) onto {target_name}: {}",
                    p.doc_id,
                    p.kind.as_str(),
                    f.detail
                );
                f
            })?;
            report.outcomes.push(label);
            report.features.push(sig);
        }
    }
    Ok(report)
}

fn stored_heads(fx: &Fixture, target: Stored<'_>) -> Option<Vec<ChangeHash>> {
    match target {
        Stored::Sound(_, bytes) => EventDoc::load_strict("stored", bytes, &fx.actor)
            .ok()
            .map(|d| d.heads()),
        _ => None,
    }
}

fn check_merge(
    fx: &Fixture,
    p: &PushDoc,
    target: Stored<'_>,
    sig: &mut u64,
) -> Result<&'static str, Finding> {
    let merged = merge_push(
        &p.doc_id,
        p.kind,
        target,
        &p.changes,
        Some(&fx.author),
        &fx.catalog,
        &fx.actor,
    );
    let label = match merged {
        Merge::Unchanged { heads } => {
            fnv(sig, b"unchanged");
            if Some(&heads) != stored_heads(fx, target).as_ref() {
                return Err(finding(
                    "unchanged-heads",
                    format!(
                        "Unchanged with heads [{}] that are not the stored heads",
                        heads_text(&heads)
                    ),
                ));
            }
            "unchanged"
        }
        Merge::MissingDeps => {
            fnv(sig, b"missing_deps");
            "missing_deps"
        }
        Merge::Refused(r) => {
            fnv(sig, r.code.as_str().as_bytes());
            fnv(sig, blank(&r.message, &p.doc_id).as_bytes());
            refused_label(r.code.as_str())
        }
        Merge::Changed { doc, saved, .. } => {
            fnv(sig, b"changed");
            check_changed(fx, p, target, &doc, &saved)?;
            "changed"
        }
    };
    Ok(label)
}

fn check_changed(
    fx: &Fixture,
    p: &PushDoc,
    target: Stored<'_>,
    doc: &EventDoc,
    saved: &[u8],
) -> Result<(), Finding> {
    let reloaded = EventDoc::load_strict(&p.doc_id, saved, &fx.actor)
        .map_err(|e| finding("saved-does-not-load", e.to_string()))?;
    if reloaded.heads() != doc.heads() {
        return Err(finding(
            "saved-heads-differ",
            format!(
                "merged heads [{}], saved bytes load to [{}]",
                heads_text(&doc.heads()),
                heads_text(&reloaded.heads())
            ),
        ));
    }
    let before = match target {
        Stored::None => None,
        Stored::Sound(_, b) => Some(
            EventDoc::load_strict(&p.doc_id, b, &fx.actor)
                .map_err(|e| finding("stored-does-not-load", e.to_string()))?,
        ),
        Stored::Quarantined(_, b) => EventDoc::load_damaged(&p.doc_id, b, &fx.actor).ok(),
    };
    check_push(before.as_ref(), &reloaded, p.kind, &fx.author, &fx.catalog).map_err(|r| {
        finding(
            "saved-fails-rules",
            format!(
                "stored content fails check_push once reloaded: {}: {}",
                r.code.as_str(),
                r.message
            ),
        )
    })?;
    decode(&reloaded, p.kind, &fx.catalog)
        .map_err(|e| finding("saved-does-not-decode", format!("{e:?}")))?;
    // A device that did not hear the answer sends the same push again.
    match merge_push(
        &p.doc_id,
        p.kind,
        Stored::Sound(p.kind, saved),
        &p.changes,
        Some(&fx.author),
        &fx.catalog,
        &fx.actor,
    ) {
        Merge::Unchanged { heads } if heads == doc.heads() => Ok(()),
        Merge::Unchanged { heads } => Err(finding(
            "retry-not-idempotent",
            format!(
                "the retried push is Unchanged but at [{}]",
                heads_text(&heads)
            ),
        )),
        Merge::Changed { .. } => Err(finding(
            "retry-not-idempotent",
            "the same push sent again changes the stored document again",
        )),
        Merge::MissingDeps => Err(finding(
            "retry-not-idempotent",
            "the same push sent again is MissingDeps",
        )),
        Merge::Refused(r) => Err(finding(
            "retry-not-idempotent",
            format!(
                "the same push sent again is refused: {}: {}",
                r.code.as_str(),
                r.message
            ),
        )),
    }
}

// ---------------------------------------------------------------------------
// Mutator
// ---------------------------------------------------------------------------

const CHUNK_MAGIC: [u8; 4] = [0x85, 0x6f, 0x4a, 0x83];

/// An Automerge storage chunk: `magic · checksum:4 · type:u8 · len:uleb · body`.
struct Chunk {
    checksum: [u8; 4],
    ty: u8,
    body: Vec<u8>,
}

/// Splits Automerge bytes into chunks and whatever follows that is not one.
fn split_chunks(bytes: &[u8]) -> (Vec<Chunk>, Vec<u8>) {
    let mut chunks = Vec::new();
    let mut pos = 0;
    while bytes.len() >= pos + 10 && bytes[pos..pos + 4] == CHUNK_MAGIC {
        let Some((len, body_at)) = read_uleb(bytes, pos + 9) else {
            break;
        };
        let Some(end) = usize::try_from(len)
            .ok()
            .and_then(|l| body_at.checked_add(l))
        else {
            break;
        };
        if end > bytes.len() {
            break;
        }
        let mut checksum = [0u8; 4];
        checksum.copy_from_slice(&bytes[pos + 4..pos + 8]);
        chunks.push(Chunk {
            checksum,
            ty: bytes[pos + 8],
            body: bytes[body_at..end].to_vec(),
        });
        pos = end;
    }
    (chunks, bytes[pos..].to_vec())
}

fn chunk_checksum(ty: u8, body: &[u8]) -> [u8; 4] {
    let mut h = Sha256::new();
    let mut head = vec![ty];
    uleb(body.len() as u64, &mut head);
    h.update(&head);
    h.update(body);
    let d = h.finalize();
    [d[0], d[1], d[2], d[3]]
}

fn join_chunks(chunks: &[Chunk], tail: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for c in chunks {
        out.extend_from_slice(&CHUNK_MAGIC);
        out.extend_from_slice(&c.checksum);
        out.push(c.ty);
        uleb(c.body.len() as u64, &mut out);
        out.extend_from_slice(&c.body);
    }
    out.extend_from_slice(tail);
    out
}

/// Mutates Automerge bytes inside a chunk's body and (usually) fixes the
/// chunk's length and checksum, so the mutation reaches the column decoders
/// instead of stopping at the checksum.
fn mutate_chunks(rng: &mut Rng, changes: &mut Vec<u8>, donors: &[Vec<u8>]) {
    let (mut chunks, tail) = split_chunks(changes);
    if chunks.is_empty() {
        mutate_bytes(rng, changes, donors);
        return;
    }
    let i = rng.below(chunks.len());
    match rng.below(10) {
        0 => chunks[i].ty = [0u8, 1, 2, 3, 4][rng.below(5)],
        1 => {
            chunks.remove(i);
        }
        2 => {
            let c = Chunk {
                checksum: chunks[i].checksum,
                ty: chunks[i].ty,
                body: chunks[i].body.clone(),
            };
            chunks.insert(rng.below(chunks.len() + 1), c);
        }
        3 if chunks.len() > 1 => {
            let j = rng.below(chunks.len());
            chunks.swap(i, j);
        }
        _ => {
            let body_donors: Vec<Vec<u8>> = Vec::new();
            for _ in 0..1 + rng.below(3) {
                mutate_bytes(rng, &mut chunks[i].body, &body_donors);
            }
        }
    }
    if !rng.one_in(8) {
        for c in &mut chunks {
            c.checksum = chunk_checksum(c.ty, &c.body);
        }
    }
    *changes = join_chunks(&chunks, &tail);
}

/// Every pushed document of every decodable donor.
fn donor_pushes(donors: &[Vec<u8>]) -> Vec<PushDoc> {
    donors
        .iter()
        .filter_map(|d| SyncRequest::decode(d).ok())
        .flat_map(|r| r.docs)
        .collect()
}

/// Decodes the request, mutates one field or one push's changes, encodes it again.
fn mutate_request(rng: &mut Rng, buf: &mut Vec<u8>, donors: &[Vec<u8>]) {
    let Ok(mut req) = SyncRequest::decode(buf) else {
        mutate_bytes(rng, buf, donors);
        return;
    };
    let pushes = donor_pushes(donors);
    if req.docs.is_empty() {
        if let Some(p) = pushes.get(rng.below(pushes.len())) {
            req.docs.push(p.clone());
        }
        *buf = req.encode();
        return;
    }
    let i = rng.below(req.docs.len());
    let change_donors: Vec<Vec<u8>> = pushes.iter().map(|p| p.changes.clone()).collect();
    match rng.below(16) {
        0..=5 => mutate_chunks(rng, &mut req.docs[i].changes, &change_donors),
        6..=7 => mutate_bytes(rng, &mut req.docs[i].changes, &change_donors),
        8 if !pushes.is_empty() => {
            // Another document's changes under this id, or both together.
            let other = &pushes[rng.below(pushes.len())];
            if rng.one_in(2) {
                req.docs[i].changes = other.changes.clone();
            } else {
                req.docs[i].changes.extend_from_slice(&other.changes);
            }
        }
        9 => {
            req.docs[i].kind = match req.docs[i].kind {
                DocKind::Case => DocKind::ZeroReport,
                DocKind::ZeroReport => DocKind::Case,
            }
        }
        10 => {
            let id = &mut req.docs[i].doc_id;
            match rng.below(4) {
                0 => id.clear(),
                1 => *id = "x".repeat(195 + rng.below(10)),
                2 => id.push('\u{0}'),
                _ => {
                    if let Some(p) = pushes.get(rng.below(pushes.len())) {
                        id.clone_from(&p.doc_id);
                    }
                }
            }
        }
        11 => {
            let heads = &mut req.docs[i].heads;
            match rng.below(3) {
                0 => heads.clear(),
                1 => heads.push(ChangeHash([rng.next_u64() as u8; 32])),
                _ => heads.reverse(),
            }
        }
        12 => {
            req.docs.remove(i);
        }
        13 => {
            let d = req.docs[i].clone();
            req.docs.push(d);
        }
        14 => {
            req.cursor = rng.next_u64();
            req.max_docs = rng.next_u64() as u32;
        }
        _ => {
            if let Some(p) = pushes.get(rng.below(pushes.len())) {
                req.docs.insert(rng.below(req.docs.len() + 1), p.clone());
            }
        }
    }
    *buf = req.encode();
}

/// A mutant of `base`: one to three stacked mutations, mostly
/// structure-aware (inside a push's Automerge chunks), sometimes raw bytes
/// of the whole request.
pub fn mutate(rng: &mut Rng, base: &[u8], donors: &[Vec<u8>]) -> Vec<u8> {
    let mut out = base.to_vec();
    for _ in 0..1 + rng.below(3) {
        if rng.below(10) < 7 {
            mutate_request(rng, &mut out, donors);
        } else {
            mutate_bytes(rng, &mut out, donors);
        }
        if out.len() > MAX_INPUT {
            out.truncate(MAX_INPUT);
        }
    }
    out
}

impl Target for Fixture {
    fn name(&self) -> &'static str {
        "push"
    }

    fn seeds(&self) -> &[(String, Vec<u8>)] {
        &self.seeds
    }

    fn check(&self, input: &[u8]) -> Result<Report, Finding> {
        check_input(self, input)
    }

    fn mutate(&self, rng: &mut Rng, base: &[u8], donors: &[Vec<u8>]) -> Vec<u8> {
        mutate(rng, base, donors)
    }
}
