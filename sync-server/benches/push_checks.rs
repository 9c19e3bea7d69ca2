//! What the authority checks cost the server per pushed document (not a test).
//!
//! ```text
//! cargo bench -p wangge-sync-server --bench push_checks
//! ```
//!
//! Both arms run in this process, interleaved round by round, on the same documents, so the
//! ratio holds whatever else the machine is doing:
//!
//! * **before** — what the server did per document before issue 8: load the stored document,
//!   `load_incremental` the push (lenient: a bad tail is dropped), decode and derive;
//! * **checked** — [`merge_push`] as the server runs it now: one strict load of stored ‖ pushed,
//!   the authority rules against the stored document, derive, and the save-and-load-back check.
//!
//! Two workloads: 2,000 new cases (the first push of an offline shift), and 2,000 one-event
//! additions to stored cases (a unit's feedback). Medians of 9 rounds; the storage's SQL is not
//! included (it did not change).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use automerge::ActorId;
use wangge_core::authority::Author;
use wangge_core::case::{CaseEvent, CaseEventKind, CaseHeader, GridRef, derive, sort_events};
use wangge_core::doc::{DocKind, EventDoc};
use wangge_core::hlc::Hlc;
use wangge_core::{Actor, CaseId, Catalog, DeviceId, EventId, Role, SourceChannel};
use wangge_server::docs::{Merge, Stored, merge_push};

const DOCS: usize = 2_000;
const ROUNDS: usize = 9;

fn event(by: &Actor, ms: i64, kind: CaseEventKind) -> CaseEvent {
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

/// A case as a phone records it: header and report in one change.
fn new_case(officer: &Actor, i: usize) -> EventDoc {
    let id = CaseId::generate();
    let header = CaseHeader {
        id,
        channel: SourceChannel::GridOfficerHandheld,
        checklist_item: "A02-001".into(),
        category: "A02".into(),
        domain: "A".into(),
        description: format!("流动摊贩占道经营 第{i}号"),
        gps: None,
        address: None,
        grid: Some(GridRef {
            cell: "XT-W01-U1".into(),
            workstation: Some("XT-W01".into()),
            block: Some("XT-B1".into()),
        }),
        grid_candidates: vec![],
        reporter: officer.clone(),
        photos: vec![],
        external_ref: None,
    };
    let report = event(
        officer,
        1_772_413_200_000 + i as i64,
        CaseEventKind::Reported,
    );
    EventDoc::create(
        &id.to_string(),
        &ActorId::random(),
        DocKind::Case,
        &header,
        &[(report.id.to_string(), &report)],
    )
    .unwrap()
}

/// The server's work per document before the checks existed.
fn before(stored: Option<&[u8]>, id: &str, changes: &[u8], catalog: &Catalog) -> usize {
    let actor = ActorId::random();
    let mut doc = match stored {
        Some(bytes) => EventDoc::load(id, bytes, &actor).unwrap(),
        None => EventDoc::empty(id, &actor),
    };
    doc.load_incremental(changes).unwrap();
    let header: CaseHeader = doc.header().unwrap();
    let mut events: Vec<CaseEvent> = doc.events().unwrap();
    sort_events(&mut events);
    let state = derive(&header, &events, catalog);
    doc.save().len() + state.holders.len()
}

fn checked(
    stored: Option<&[u8]>,
    id: &str,
    changes: &[u8],
    author: &Author,
    catalog: &Catalog,
) -> usize {
    let stored = match stored {
        Some(bytes) => Stored::Sound(DocKind::Case, bytes),
        None => Stored::None,
    };
    match merge_push(
        id,
        DocKind::Case,
        stored,
        changes,
        Some(author),
        catalog,
        &ActorId::random(),
    ) {
        Merge::Changed { saved, .. } => saved.len(),
        other => panic!("the benchmark's pushes are honest: {other:?}"),
    }
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn main() {
    let catalog = Catalog::demo().unwrap();
    let device = DeviceId::generate();
    let officer = Actor {
        id: "XT-GO-001".into(),
        role: Role::GridOfficer,
        unit: Some("城管中队".into()),
        device,
    };
    let centre = Actor {
        id: "XT-CC-001".into(),
        role: Role::Centre,
        unit: None,
        device: DeviceId::generate(),
    };
    let author = Author {
        person: officer.id.clone(),
        roles: vec![Role::GridOfficer],
        units: vec!["城管中队".into()],
        device,
    };
    // New cases: the whole document is the push.
    let fresh: Vec<(String, Vec<u8>)> = (0..DOCS)
        .map(|i| {
            let d = new_case(&officer, i);
            (d.id().to_owned(), d.save())
        })
        .collect();
    // Additions: a stored, dispatched case and the feedback change.
    let additions: Vec<(String, Vec<u8>, Vec<u8>)> = (0..DOCS)
        .map(|i| {
            let mut d = new_case(&officer, i);
            let dispatch = event(
                &centre,
                1,
                CaseEventKind::Dispatched {
                    units: vec!["城管中队".into()],
                    lead: None,
                    note: None,
                },
            );
            d.add_event(&dispatch.id.to_string(), &dispatch).unwrap();
            let stored = d.save();
            let heads = d.heads();
            let feedback = event(
                &officer,
                2,
                CaseEventKind::Feedback {
                    note: "已劝离".into(),
                    photos: vec![],
                },
            );
            d.add_event(&feedback.id.to_string(), &feedback).unwrap();
            (d.id().to_owned(), stored, d.save_after(&heads))
        })
        .collect();

    let mut times: [Vec<Duration>; 4] = Default::default();
    let mut sink = 0usize;
    for _ in 0..ROUNDS {
        let t = Instant::now();
        for (id, bytes) in &fresh {
            sink += before(None, id, bytes, &catalog);
        }
        times[0].push(t.elapsed());
        let t = Instant::now();
        for (id, bytes) in &fresh {
            sink += checked(None, id, bytes, &author, &catalog);
        }
        times[1].push(t.elapsed());
        let t = Instant::now();
        for (id, stored, push) in &additions {
            sink += before(Some(stored), id, push, &catalog);
        }
        times[2].push(t.elapsed());
        let t = Instant::now();
        for (id, stored, push) in &additions {
            sink += checked(Some(stored), id, push, &author, &catalog);
        }
        times[3].push(t.elapsed());
    }
    let [new_before, new_checked, add_before, add_checked] = times.map(median);
    let per = |d: Duration| d.as_secs_f64() * 1e6 / DOCS as f64;
    println!(
        "push checks ({DOCS} documents per arm, median of {ROUNDS} interleaved rounds, this process)"
    );
    println!(
        "new case        : before {:>7.1} µs/doc, checked {:>7.1} µs/doc, ratio {:.2}",
        per(new_before),
        per(new_checked),
        new_checked.as_secs_f64() / new_before.as_secs_f64()
    );
    println!(
        "one more event  : before {:>7.1} µs/doc, checked {:>7.1} µs/doc, ratio {:.2}",
        per(add_before),
        per(add_checked),
        add_checked.as_secs_f64() / add_before.as_secs_f64()
    );
    assert!(sink > 0);
}
