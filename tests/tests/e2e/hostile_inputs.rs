//! The two hostile inputs of `wangge_e2e::hostile`, against Automerge alone
//! (no server): what Automerge 0.12 does with them today, asserted exactly.
//! The server must refuse both with `corrupt_document`; these tests pin the
//! defects it has to guard against, whatever the server does.
//!
//! Some of Automerge's behaviour differs with `debug_assertions`: the test
//! profile has them (Automerge included), a release server does not. Where
//! it matters, both are asserted, keyed on `cfg!(debug_assertions)` (the
//! workspace sets no per-package `debug-assertions`, so Automerge and this
//! crate agree).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::cell::{Cell, RefCell};
use std::panic::{AssertUnwindSafe, catch_unwind};

use automerge::{ActorId, Automerge, ChangeHash};
use wangge_core::doc::{DocKind, EventDoc};
use wangge_core::{
    Actor, CaseEvent, CaseEventKind, CaseHeader, CaseId, DeviceId, EventId, GpsFix, Hlc, Role,
    SourceChannel,
};
use wangge_e2e::MONDAY_9AM;
use wangge_e2e::hostile::*;

/// The error `Automerge::load` gives for a saved document whose changes do
/// not hash to the heads it records.
const MISMATCHING_HEADS: &str = "error inflating document chunk ops: mismatching heads";

/// A case as a device records it: header and `Reported` event.
fn sample_case() -> (CaseHeader, CaseEvent) {
    let reporter = Actor {
        id: "officer-1".into(),
        role: Role::GridOfficer,
        unit: None,
        device: DeviceId::generate(),
    };
    let header = CaseHeader {
        id: CaseId::generate(),
        channel: SourceChannel::GridOfficerHandheld,
        checklist_item: "A02-001".into(),
        category: "街面秩序".into(),
        domain: "城市管理".into(),
        description: "流动摊贩".into(),
        gps: Some(GpsFix {
            lat: 31.19,
            lon: 121.45,
            accuracy_m: 3.0,
            fix_time_ms: MONDAY_9AM,
        }),
        address: None,
        grid: None,
        grid_candidates: Vec::new(),
        reporter: reporter.clone(),
        photos: Vec::new(),
        external_ref: None,
    };
    let event = CaseEvent {
        id: EventId::generate(),
        at: Hlc {
            wall_ms: MONDAY_9AM,
            counter: 0,
        },
        by: reporter,
        kind: CaseEventKind::Reported,
    };
    (header, event)
}

/// A comment on a case, as its `ev:<id>` root put.
fn comment(by: &Actor, text: &str) -> (String, Scalar) {
    let event = CaseEvent {
        id: EventId::generate(),
        at: Hlc {
            wall_ms: MONDAY_9AM + 60_000,
            counter: 0,
        },
        by: by.clone(),
        kind: CaseEventKind::Comment {
            text: text.into(),
            photos: Vec::new(),
        },
    };
    (
        format!("ev:{}", event.id),
        Scalar::Str(serde_json::to_string(&event).unwrap()),
    )
}

/// The case document a device creates for `header` and `event`, saved.
fn device_document(header: &CaseHeader, event: &CaseEvent) -> Vec<u8> {
    EventDoc::create(
        &header.id.to_string(),
        &ActorId::random(),
        DocKind::Case,
        header,
        &[(event.id.to_string(), event)],
    )
    .unwrap()
    .save()
}

fn hex(hash: &ChangeHash) -> String {
    hash.0.iter().map(|b| format!("{b:02x}")).collect()
}

/// A panic raised inside a closure: its message and where it was raised.
#[derive(Debug)]
struct Caught {
    message: String,
    file: String,
    line: u32,
}

thread_local! {
    static CAPTURING: Cell<bool> = const { Cell::new(false) };
    static LOCATION: RefCell<Option<(String, u32)>> = const { RefCell::new(None) };
}

/// Runs `f`, returning its value or the panic it raised. The panic hook
/// (installed once, for every thread) records the location of a panic on a
/// capturing thread and stays silent; any other panic goes to the previous
/// hook as before.
fn caught<T>(f: impl FnOnce() -> T) -> Result<T, Caught> {
    static HOOK: std::sync::Once = std::sync::Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            if CAPTURING.with(Cell::get) {
                let location = info.location().map(|l| (l.file().to_owned(), l.line()));
                LOCATION.with(|slot| *slot.borrow_mut() = location);
            } else {
                previous(info);
            }
        }));
    });
    CAPTURING.with(|c| c.set(true));
    let result = catch_unwind(AssertUnwindSafe(f));
    CAPTURING.with(|c| c.set(false));
    result.map_err(|payload| {
        let message = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default();
        let (file, line) = LOCATION
            .with(|slot| slot.borrow_mut().take())
            .unwrap_or_default();
        Caught {
            message,
            file,
            line,
        }
    })
}

/// Hostile input 1. The non-canonical case document loads and reads exactly
/// like the canonical one, but under another hash; once saved, Automerge
/// re-encodes it canonically, and the saved copy no longer loads.
#[test]
fn non_canonical_case_document_loads_but_its_saved_copy_does_not() {
    let (header, event) = sample_case();
    let doc_id = header.id.to_string();
    let actor = [0x5a; 16];
    let chunk = case_document_change(&actor, &header, std::slice::from_ref(&event));
    let canonical = canonical_change(&actor, &case_puts(&header, std::slice::from_ref(&event)));
    let (hostile_hash, canonical_hash) = (chunk_hash(&chunk), chunk_hash(&canonical));
    assert_ne!(chunk, canonical);
    assert_ne!(hostile_hash, canonical_hash);

    // Control: the canonical encoding of the same change survives a save.
    let control = Automerge::load(&canonical).unwrap();
    assert_eq!(control.get_heads(), vec![canonical_hash]);
    assert_eq!(
        Automerge::load(&control.save()).unwrap().get_heads(),
        vec![canonical_hash]
    );

    // The hostile change loads, with the hash of its own bytes as its head,
    // and is a perfectly good case document.
    let doc = Automerge::load(&chunk).unwrap();
    assert_eq!(doc.get_heads(), vec![hostile_hash]);
    let loaded = EventDoc::load(&doc_id, &chunk, &ActorId::random()).unwrap();
    assert_eq!(loaded.kind().unwrap(), Some(DocKind::Case));
    assert_eq!(loaded.header::<CaseHeader>().unwrap(), header);
    assert_eq!(loaded.events::<CaseEvent>().unwrap(), vec![event]);
    assert_eq!(loaded.heads(), vec![hostile_hash]);

    // Saved, it records the hostile hash as its head, but its changes are
    // rebuilt (canonically) from the ops and hash to the canonical hash.
    let saved = doc.save();
    let err = Automerge::load(&saved).unwrap_err();
    assert_eq!(err.to_string(), MISMATCHING_HEADS);
    let debug = format!("{err:?}");
    assert!(
        debug.contains("MismatchingHeads")
            && debug.contains(&format!(
                "expected_heads: {{ChangeHash(\"{}\")}}",
                hex(&hostile_hash)
            ))
            && debug.contains(&format!(
                "derived_heads: {{ChangeHash(\"{}\")}}",
                hex(&canonical_hash)
            )),
        "{debug}"
    );
    let err = EventDoc::load(&doc_id, &saved, &ActorId::random()).unwrap_err();
    assert!(err.to_string().contains(MISMATCHING_HEADS), "{err}");
    // An empty document refuses it the same way through `load_incremental`.
    let mut empty = EventDoc::empty(&doc_id, &ActorId::random());
    let err = empty.load_incremental(&saved).unwrap_err();
    assert!(err.to_string().contains(MISMATCHING_HEADS), "{err}");
    // Only the unverified load reads it, still under the hostile head.
    assert_eq!(
        Automerge::load_unverified_heads(&saved)
            .unwrap()
            .get_heads(),
        vec![hostile_hash]
    );
}

/// Hostile input 1 pushed onto a stored case, as the server merges pushes
/// today (stored document, then `load_incremental` of the push, then save):
/// the merge succeeds, and the document it saves never loads again.
#[test]
fn a_case_that_merged_a_non_canonical_change_is_saved_unloadable() {
    let (header, event) = sample_case();
    let doc_id = header.id.to_string();
    let stored = device_document(&header, &event);
    // Two comments: with a single put the non-canonical runs would coincide
    // with the canonical ones.
    let push = non_canonical_change(
        &[0x5b; 16],
        &[
            comment(&header.reporter, "还在"),
            comment(&header.reporter, "已劝离"),
        ],
    );

    let mut doc = EventDoc::load(&doc_id, &stored, &ActorId::random()).unwrap();
    let before = doc.heads();
    doc.load_incremental(&push).unwrap();
    assert!(doc.heads().contains(&chunk_hash(&push)));
    assert_eq!(doc.heads().len(), before.len() + 1);
    assert_eq!(doc.events::<CaseEvent>().unwrap().len(), 3);
    assert_eq!(doc.header::<CaseHeader>().unwrap(), header);

    let saved = doc.save();
    let err = EventDoc::load(&doc_id, &saved, &ActorId::random()).unwrap_err();
    assert!(err.to_string().contains(MISMATCHING_HEADS), "{err}");
}

/// Hostile input 1 handed on: Automerge gives the change to others (as
/// `save_after`, `get_changes`, `merge` do) re-encoded canonically, under a
/// hash that is not the document's head. A release build hands on the
/// canonical bytes, so a replica that takes them has other heads than the
/// document they came from; with `debug_assertions`, a cross-check inside
/// Automerge (`ChangeCollector::from_build_meta`, which re-derives the
/// changes through a bundle and unwraps) panics instead.
#[test]
fn automerge_hands_a_non_canonical_change_on_under_another_hash() {
    let (header, event) = sample_case();
    let actor = [0x5c; 16];
    let chunk = case_document_change(&actor, &header, std::slice::from_ref(&event));
    let canonical = canonical_change(&actor, &case_puts(&header, std::slice::from_ref(&event)));
    let doc = Automerge::load(&chunk).unwrap();

    let handed_on = caught(|| doc.save_after(&[]));
    let merged = caught(|| {
        let mut replica = Automerge::new();
        replica.merge(&mut doc.clone()).unwrap();
        replica.get_heads()
    });
    if cfg!(debug_assertions) {
        for panic in [handed_on.unwrap_err(), merged.unwrap_err()] {
            assert_eq!(
                panic.message,
                format!(
                    "called `Result::unwrap()` on an `Err` value: ChangeGraph(MissingDep(ChangeHash(\"{}\")))",
                    hex(&chunk_hash(&canonical))
                )
            );
            assert!(
                panic.file.ends_with("src/op_set2/change/collector.rs"),
                "{panic:?}"
            );
        }
    } else {
        assert_eq!(handed_on.unwrap(), canonical);
        assert_eq!(merged.unwrap(), vec![chunk_hash(&canonical)]);
        assert_eq!(doc.get_heads(), vec![chunk_hash(&chunk)]);
    }
}

/// What applying an [`unknown_actor_change`] raises: (message, line of
/// `src/op_set2/change/batch.rs` in automerge 0.12.0).
fn expected_panic(flaw: ActorFlaw) -> (&'static str, u32) {
    match flaw {
        // `BatchApply::import_ops`: `doc.import_ops_to(c, &mut self.ops).unwrap()`,
        // where mapping the pred's actor index 1 through the change's actor
        // list (author only) fails with `AutomergeError::InvalidActorIndex(1)`.
        ActorFlaw::IndexBeyondHeader => (
            "called `Result::unwrap()` on an `Err` value: InvalidActorIndex(1)",
            859,
        ),
        // `Automerge::import_ops`: `change.actors().map(|a| self.ops.lookup_actor(a).unwrap())`:
        // before applying a batch Automerge registers the author of each
        // seq-1 change (`BatchApply::insert_new_actors`), never the other
        // actors a change lists, so an actor no change of the document
        // authored is not found.
        ActorFlaw::ActorUnknownToDocument => ("called `Option::unwrap()` on a `None` value", 1121),
    }
}

fn assert_panics_as(flaw: ActorFlaw, what: &str, result: Result<impl std::fmt::Debug, Caught>) {
    let panic = match result {
        Ok(v) => panic!("{flaw:?}: {what} did not panic but returned {v:?}"),
        Err(p) => p,
    };
    let (message, line) = expected_panic(flaw);
    assert_eq!(panic.message, message, "{flaw:?}: {what}");
    assert!(
        panic.file.ends_with("src/op_set2/change/batch.rs") && panic.line == line,
        "{flaw:?}: {what} panicked at {}:{}",
        panic.file,
        panic.line
    );
}

/// Hostile input 2. A change naming an actor Automerge cannot resolve is
/// well-formed (it parses), and applying it panics inside Automerge instead
/// of returning an error: loaded alone, loaded after a stored document, or
/// merged into a real case document with `load_incremental`.
#[test]
fn unknown_actor_change_panics_inside_automerge() {
    let (header, event) = sample_case();
    let doc_id = header.id.to_string();
    let stored = device_document(&header, &event);
    for flaw in [
        ActorFlaw::IndexBeyondHeader,
        ActorFlaw::ActorUnknownToDocument,
    ] {
        let attacker = [0x5d; 16];
        // A whole case, as a new document...
        let whole = unknown_actor_change(
            &attacker,
            &case_puts(&header, std::slice::from_ref(&event)),
            flaw,
        );
        // ...and one comment, pushed onto the stored case.
        let push = unknown_actor_change(&attacker, &[comment(&header.reporter, "看看")], flaw);

        for chunk in [&whole, &push] {
            let change = automerge::Change::from_bytes(chunk.clone()).unwrap();
            assert_eq!(change.hash(), chunk_hash(chunk));
            assert_eq!(
                change.other_actor_ids().len(),
                match flaw {
                    ActorFlaw::IndexBeyondHeader => 0,
                    ActorFlaw::ActorUnknownToDocument => 1,
                }
            );
        }
        assert_panics_as(
            flaw,
            "Automerge::load",
            caught(|| Automerge::load(&whole).map(|d| d.get_heads())),
        );
        assert_panics_as(
            flaw,
            "EventDoc::load",
            caught(|| EventDoc::load(&doc_id, &whole, &ActorId::random()).map(|d| d.heads())),
        );
        assert_panics_as(
            flaw,
            "Automerge::load of stored ‖ push",
            caught(|| Automerge::load(&[stored.as_slice(), &push].concat()).map(|d| d.get_heads())),
        );
        let mut doc = EventDoc::load(&doc_id, &stored, &ActorId::random()).unwrap();
        assert_panics_as(
            flaw,
            "EventDoc::load_incremental",
            caught(|| doc.load_incremental(&push)),
        );
    }
}
