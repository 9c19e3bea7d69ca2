//! Convergence over real HTTP: three devices and the server, random
//! interleavings (from a seed) of offline edits — new cases, events on the
//! same and on different cases, zero reports for the same workstation-day
//! on several devices — of syncs, and of the centre registering and
//! dispatching over the back office. At the end every device syncs until
//! nothing moves, and then every replica holds the same documents (the same
//! Automerge heads), derives the same cases and zero reports, the server's
//! tables agree with the devices', and no event anyone recorded is lost.
//!
//! `WANGGE_SEEDS=17` replays one seed, `WANGGE_SEEDS=0..500` runs many.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use automerge::ReadDoc;
use chrono::NaiveDate;
use wangge_core::store::cst_day;
use wangge_core::{
    Actor, CaseEventKind, CaseId, CaseQuery, CaseRecord, Clock, MatterId, NewCase, Role,
    ZeroReportEventKind,
};
use wangge_e2e::*;
use wangge_server::storage::{DeviceRole, Storage};

const STEPS: usize = 60;
const DEFAULT_SEEDS: std::ops::Range<u64> = 0..24;

const CELLS: [&str; 4] = ["XT-W01-U1", "XT-W02-U1", "XT-W06-U1", "XT-W10-U1"];
/// On-the-spot allowed, not allowed, district escalation required.
const ITEMS: [&str; 3] = ["A02-001", "A04-001", "A03-001"];
const UNITS: [&str; 3] = ["城管中队", "物业", "市政科"];
const WORKSTATIONS: [&str; 2] = ["XT-W01", "XT-W02"];

fn seeds() -> Vec<u64> {
    match std::env::var("WANGGE_SEEDS") {
        Ok(s) => match s.split_once("..") {
            Some((a, b)) => (a.parse().unwrap()..b.parse().unwrap()).collect(),
            None => vec![s.parse().unwrap()],
        },
        Err(_) => DEFAULT_SEEDS.collect(),
    }
}

/// Prints the seed and what happened if the scenario panics.
struct OnFailure {
    seed: u64,
    trace: Vec<String>,
}

impl Drop for OnFailure {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "convergence FAILED for seed {} (replay: WANGGE_SEEDS={} cargo test -p wangge-e2e --test e2e convergence::)\nsteps:\n  {}",
                self.seed,
                self.seed,
                self.trace.join("\n  ")
            );
        }
    }
}

/// Every event id any replica recorded, per document: none may be lost.
type Recorded = BTreeMap<String, BTreeSet<String>>;

#[test]
fn replicas_converge_under_random_interleavings() {
    for seed in seeds() {
        run(seed);
    }
}

/// Local writes that land while a sync is in flight — between a batch
/// being prepared and its answer being applied — and server-side changes
/// pulled meanwhile: a document the device counts as delivered is on the
/// server exactly as on the device, and the next sync delivers the rest.
#[test]
fn writes_made_during_a_sync_are_not_marked_sent() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let mut a = server.field_device(dir.path(), "a", everything());
    let mut config = a.client.config().clone();
    config.push_batch_docs = 40;
    a.client = wangge_core::SyncClient::new(config).unwrap();
    let (_, centre) = server.enroll("centre", DeviceRole::Centre, everything());
    let http = reqwest::blocking::Client::new();
    let officer = a.me(Role::GridOfficer, None);
    let mut recorded = Recorded::new();
    let record = |i: usize, recorded: &mut Recorded| {
        let id = a
            .store
            .record_case(
                &officer,
                NewCase::from_handheld(
                    "A02-001",
                    &format!("同步中记录 {i}"),
                    fix_in(CELLS[i % CELLS.len()], a.clock.now_ms()),
                ),
            )
            .unwrap();
        note_case(recorded, &a.store.case(id).unwrap(), None);
        id
    };
    let mut ids: Vec<CaseId> = (0..200).map(|i| record(i, &mut recorded)).collect();
    a.sync();
    ids.extend((200..400).map(|i| record(i, &mut recorded)));

    let mut rng = Rng::new(4);
    let mut during = 0;
    std::thread::scope(|s| {
        let sync = s.spawn(|| a.client.sync(&a.store, &mut |_| {}).unwrap());
        while !sync.is_finished() {
            match rng.below(10) {
                0 => {
                    ids.push(record(1000 + during, &mut recorded));
                }
                1 => {
                    centre_action(&mut rng, &server, &http, &centre, &mut recorded);
                }
                _ => {
                    let case = *rng.pick(&ids);
                    let before = a.store.case(case).unwrap();
                    let after = a
                        .store
                        .add_case_event(
                            case,
                            &officer,
                            CaseEventKind::Comment {
                                text: format!("同步中补充 {during}"),
                                photos: vec![],
                            },
                        )
                        .unwrap();
                    note_case(&mut recorded, &after, Some(&before));
                }
            }
            during += 1;
        }
        sync.join().unwrap();
    });
    assert!(during > 0, "no write landed during the sync");
    // Delivered means the server holds every change the device has; it may hold more (the
    // centre may have acted on the case after the device's last pull).
    for (id, heads) in a.heads() {
        if !a.store.doc_sync_status(&id).unwrap().pending {
            let held = server.storage.document(&id).unwrap().map(|bytes| {
                let doc = automerge::Automerge::load(&bytes).unwrap();
                heads.iter().all(|h| doc.get_change_by_hash(h).is_some())
            });
            assert_eq!(
                held,
                Some(true),
                "{id} is marked as delivered but the server lacks changes the device has"
            );
        }
    }
    // The next syncs deliver everything.
    for _ in 0..3 {
        a.sync();
    }
    assert_eq!(a.store.pending_count().unwrap(), 0);
    let on_server = server_heads(&server.db);
    assert_eq!(a.heads(), on_server);
    for (doc_id, events) in &recorded {
        let held: BTreeSet<String> = server
            .storage
            .case(doc_id)
            .unwrap()
            .unwrap()
            .events
            .iter()
            .map(|e| e.id.to_string())
            .collect();
        assert!(events.is_subset(&held), "{doc_id} lost events");
    }
}

fn run(seed: u64) {
    let mut guard = OnFailure {
        seed,
        trace: Vec::new(),
    };
    let trace = &mut guard.trace;
    let mut rng = Rng::new(seed);
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    // Each device's person may act in every role, the centre's included
    // (the centre's desk working offline), and for every unit the scenario
    // dispatches to: the server accepts every action a device's store let
    // through, and the scenario keeps its whole mix of concurrent actions.
    let mut devices: Vec<TestDevice> = (0..3)
        .map(|i| {
            let name = format!("d{i}");
            let mut person = person_for(&name, DeviceRole::Centre, &everything());
            person.units = UNITS.iter().map(|u| u.to_string()).collect();
            server.device_for(dir.path(), &name, &person, everything())
        })
        .collect();
    // Two devices sync in small batches, so that syncs take several rounds
    // and the feed is read in pieces.
    for (dev, (push, pull)) in devices[1..].iter_mut().zip([(2, 3), (1, 1)]) {
        let mut config = dev.client.config().clone();
        config.push_batch_docs = push;
        config.pull_batch_docs = pull;
        dev.client = wangge_core::SyncClient::new(config).unwrap();
    }
    let (_, centre_token) = server.enroll("centre", DeviceRole::Centre, everything());
    let http = reqwest::blocking::Client::new();
    let mut recorded = Recorded::new();

    for step in 0..STEPS {
        let d = rng.below(devices.len());
        let dev = &devices[d];
        dev.clock.advance(rng.below(120_000) as i64);
        server.clock.advance(rng.below(60_000) as i64);
        match rng.below(100) {
            0..=19 => {
                let cell = *rng.pick(&CELLS);
                let item = *rng.pick(&ITEMS);
                let officer = dev.me(Role::GridOfficer, None);
                let text = format!("种子{seed} 第{step}步 {cell}");
                let id = dev
                    .store
                    .record_case(
                        &officer,
                        NewCase::from_handheld(item, &text, fix_in(cell, dev.clock.now_ms())),
                    )
                    .unwrap();
                note_case(&mut recorded, &dev.store.case(id).unwrap(), None);
                trace.push(format!("{step}: d{d} records {id} in {cell} ({item})"));
            }
            20..=49 => {
                let cases = case_ids(dev);
                if cases.is_empty() {
                    continue;
                }
                let case = *rng.pick(&cases);
                let (by, kind) = device_action(&mut rng, dev, step);
                let before = dev.store.case(case).unwrap();
                let what = kind.name();
                match dev.store.add_case_event(case, &by, kind) {
                    Ok(after) => {
                        note_case(&mut recorded, &after, Some(&before));
                        trace.push(format!("{step}: d{d} {what} on {case}"));
                    }
                    Err(e) => trace.push(format!("{step}: d{d} {what} on {case} refused: {e}")),
                }
            }
            50..=59 => {
                let ws = *rng.pick(&WORKSTATIONS);
                let today = cst_day(dev.clock.now_ms());
                let day = if rng.percent(50) {
                    today
                } else {
                    today.pred_opt().unwrap()
                };
                let kind = zero_report_action(&mut rng, dev, ws, day, step);
                let by = dev.me(Role::WorkstationStaff, None);
                let before = dev.store.zero_report(ws, day).unwrap();
                let what = format!("{kind:?}");
                let report = dev.store.file_zero_report(&by, ws, day, kind).unwrap();
                let doc_id = report.header.doc_id();
                let ids = |r: &wangge_core::ZeroReport| {
                    r.events.iter().map(|e| e.id.to_string()).collect()
                };
                note_new(
                    &mut recorded,
                    &doc_id,
                    before.as_ref().map(ids),
                    ids(&report),
                );
                trace.push(format!("{step}: d{d} zero report {doc_id}: {what}"));
            }
            60..=64 => {
                // Everyone syncs at the same time.
                let results: Vec<_> = std::thread::scope(|s| {
                    let handles: Vec<_> =
                        devices.iter().map(|dev| s.spawn(|| dev.sync())).collect();
                    handles.into_iter().map(|h| h.join().unwrap()).collect()
                });
                let moved: Vec<String> = results
                    .iter()
                    .map(|p| format!("{}/{}", p.docs_sent, p.docs_received))
                    .collect();
                trace.push(format!(
                    "{step}: all sync at once (sent/received {moved:?})"
                ));
            }
            65..=84 => {
                let p = dev.sync();
                trace.push(format!(
                    "{step}: d{d} syncs: sent {} received {} in {} rounds",
                    p.docs_sent, p.docs_received, p.rounds
                ));
            }
            _ => {
                let line = centre_action(&mut rng, &server, &http, &centre_token, &mut recorded);
                trace.push(format!("{step}: centre {line}"));
            }
        }
    }

    // Sync until a whole pass moves nothing.
    let mut quiet = false;
    for pass in 0..8 {
        let mut moved = 0;
        for (i, dev) in devices.iter().enumerate() {
            let p = dev.sync();
            moved += p.docs_sent + p.docs_received;
            trace.push(format!(
                "final pass {pass}: d{i} sent {} received {}",
                p.docs_sent, p.docs_received
            ));
        }
        if moved == 0 {
            quiet = true;
            break;
        }
    }
    assert!(quiet, "seed {seed}: syncs never became quiescent");
    check_converged(seed, &server, &devices, &recorded);
}

fn case_ids(dev: &TestDevice) -> Vec<CaseId> {
    dev.doc_ids()
        .iter()
        .filter(|id| !id.starts_with("zr:"))
        .map(|id| CaseId::parse(id).unwrap())
        .collect()
}

/// Notes the events of `after` that `before` did not have.
fn note_case(recorded: &mut Recorded, after: &CaseRecord, before: Option<&CaseRecord>) {
    let ids = |r: &CaseRecord| r.events.iter().map(|e| e.id.to_string()).collect();
    note_new(
        recorded,
        &after.header.id.to_string(),
        before.map(ids),
        ids(after),
    );
}

/// Records the one event id in `after` that `before` did not have.
fn note_new(
    recorded: &mut Recorded,
    doc_id: &str,
    before: Option<Vec<String>>,
    after: Vec<String>,
) {
    let known: BTreeSet<String> = before.unwrap_or_default().into_iter().collect();
    let new: Vec<String> = after.into_iter().filter(|id| !known.contains(id)).collect();
    assert_eq!(new.len(), 1, "exactly one new event in {doc_id}");
    recorded.entry(doc_id.to_owned()).or_default().extend(new);
}

/// An action a field device (or the centre's desk, offline) may attempt. A
/// unit's arrival or feedback on a case not dispatched to it, and on-the-spot
/// handling of an item that does not allow it, are refused by the store (the
/// authority rules) and only traced.
fn device_action(rng: &mut Rng, dev: &TestDevice, step: usize) -> (Actor, CaseEventKind) {
    let unit = *rng.pick(&UNITS);
    match rng.below(12) {
        0 => (
            dev.me(Role::HandlingUnit, Some(unit)),
            CaseEventKind::Arrived { note: None },
        ),
        1 | 2 => (
            dev.me(Role::HandlingUnit, Some(unit)),
            CaseEventKind::Feedback {
                note: format!("已处置 {step}"),
                photos: vec![],
            },
        ),
        3 => (
            dev.me(Role::GridOfficer, None),
            CaseEventKind::HandledOnSpot {
                note: "现场劝离".into(),
                photos: vec![],
            },
        ),
        4 => (
            dev.me(Role::GridOfficer, None),
            CaseEventKind::Comment {
                text: format!("补充说明 {step}"),
                photos: vec![],
            },
        ),
        5 | 6 => (
            dev.me(Role::Supervisor, None),
            CaseEventKind::Verified {
                passed: rng.percent(60),
                note: None,
                photos: vec![],
            },
        ),
        7 => (
            dev.me(Role::Supervisor, None),
            CaseEventKind::Reopened {
                reason: "群众再次投诉".into(),
            },
        ),
        8 => (
            dev.me(Role::Centre, None),
            CaseEventKind::Dispatched {
                units: vec![unit.into()],
                lead: None,
                note: None,
            },
        ),
        9 => (
            dev.me(Role::Centre, None),
            CaseEventKind::Closed { note: None },
        ),
        10 => (
            dev.me(Role::Centre, None),
            CaseEventKind::Rejected {
                reason: "不属于受理范围".into(),
            },
        ),
        _ => (
            dev.me(Role::Centre, None),
            CaseEventKind::Escalated {
                reason: "需区级协调".into(),
            },
        ),
    }
}

fn zero_report_action(
    rng: &mut Rng,
    dev: &TestDevice,
    ws: &str,
    day: NaiveDate,
    step: usize,
) -> ZeroReportEventKind {
    let matters: Vec<MatterId> = dev
        .store
        .zero_report(ws, day)
        .unwrap()
        .map(|r| r.matters.iter().map(|m| m.id).collect())
        .unwrap_or_default();
    match rng.below(4) {
        0 if !matters.is_empty() => ZeroReportEventKind::MatterWithdrawn {
            matter: *rng.pick(&matters),
            reason: "误报".into(),
        },
        0 | 1 => ZeroReportEventKind::Filed {
            nothing_to_report: true,
            note: None,
        },
        _ => ZeroReportEventKind::MatterRecorded {
            matter: MatterId::generate(),
            checklist_item: None,
            description: format!("居民区自行处置 {step}"),
            photos: vec![],
        },
    }
}

/// The centre acts on a case the server holds, over the back-office API.
fn centre_action(
    rng: &mut Rng,
    server: &TestServer,
    http: &reqwest::blocking::Client,
    token: &str,
    recorded: &mut Recorded,
) -> String {
    let now = server.clock.now_ms();
    let cases = server
        .storage
        .cases(
            &CaseQuery {
                limit: Some(10_000),
                ..CaseQuery::default()
            },
            now,
        )
        .unwrap();
    if cases.is_empty() {
        return "has no case yet".into();
    }
    let id = rng.pick(&cases).id.clone();
    let (path, body) = match rng.below(8) {
        0..=2 => ("register", serde_json::json!({})),
        3 | 4 => (
            "events",
            serde_json::json!({"type": "dispatched", "units": [rng.pick(&UNITS)]}),
        ),
        5 => (
            "events",
            serde_json::json!({"type": "verified", "passed": rng.percent(70)}),
        ),
        6 => ("events", serde_json::json!({"type": "closed"})),
        _ => (
            "events",
            serde_json::json!({"type": "reopened", "reason": "复查未通过"}),
        ),
    };
    let before = server.storage.case(&id).unwrap().unwrap();
    let resp = http
        .post(format!("{}/v1/cases/{id}/{path}", server.base))
        .bearer_auth(token)
        .json(&body)
        .send()
        .unwrap();
    let status = resp.status().as_u16();
    match status {
        200 => {
            let after: CaseRecord = resp.json().unwrap();
            note_case(recorded, &after, Some(&before));
            format!("{path} {body} on {id}")
        }
        422 => format!("{path} {body} on {id} refused: {}", resp.text().unwrap()),
        _ => panic!("centre {path} on {id}: {status} {}", resp.text().unwrap()),
    }
}

fn check_converged(seed: u64, server: &TestServer, devices: &[TestDevice], recorded: &Recorded) {
    // The same documents, with the same heads, everywhere.
    let on_server = server_heads(&server.db);
    for dev in devices {
        assert_eq!(
            dev.heads(),
            on_server,
            "seed {seed}: {} holds other documents or heads than the server",
            dev.name
        );
        assert_eq!(dev.store.pending_count().unwrap(), 0, "seed {seed}");
        assert_eq!(
            dev.store.sync_cursor().unwrap(),
            server_seq(&server.db),
            "seed {seed}: {}'s cursor is not the feed's end",
            dev.name
        );
    }
    // Nothing anyone recorded is lost.
    for (doc_id, events) in recorded {
        assert!(on_server.contains_key(doc_id), "seed {seed}: {doc_id} lost");
        let held: BTreeSet<String> = if let Some(rest) = doc_id.strip_prefix("zr:") {
            let (ws, day) = rest.split_once(':').unwrap();
            devices[0]
                .store
                .zero_report(ws, day.parse().unwrap())
                .unwrap()
                .unwrap()
                .events
                .iter()
                .map(|e| e.id.to_string())
                .collect()
        } else {
            server
                .storage
                .case(doc_id)
                .unwrap()
                .unwrap()
                .events
                .iter()
                .map(|e| e.id.to_string())
                .collect()
        };
        let lost: Vec<&String> = events.difference(&held).collect();
        assert!(
            lost.is_empty(),
            "seed {seed}: {doc_id} lost events {lost:?}"
        );
    }
    // The same derived state on every device and on the server.
    for doc_id in on_server.keys() {
        if let Some(rest) = doc_id.strip_prefix("zr:") {
            let (ws, day) = rest.split_once(':').unwrap();
            let day: NaiveDate = day.parse().unwrap();
            let first = devices[0].store.zero_report(ws, day).unwrap();
            assert!(first.is_some());
            for dev in &devices[1..] {
                assert_eq!(
                    dev.store.zero_report(ws, day).unwrap(),
                    first,
                    "seed {seed}"
                );
            }
        } else {
            let on_server = server.storage.case(doc_id).unwrap().unwrap();
            let id = CaseId::parse(doc_id).unwrap();
            for dev in devices {
                assert_eq!(
                    dev.store.case(id).unwrap(),
                    on_server,
                    "seed {seed}: {} derives case {doc_id} differently from the server",
                    dev.name
                );
            }
        }
    }
    // The server's tables agree with the devices'.
    let server_tables = projection_rows(&server.db);
    for dev in devices {
        let tables = projection_rows(dev.store.path());
        for ((name, rows), (_, server_rows)) in tables.iter().zip(&server_tables) {
            assert_eq!(
                rows, server_rows,
                "seed {seed}: {name} on {} differs from the server's",
                dev.name
            );
        }
    }
    let now = server.clock.now_ms();
    let query = CaseQuery {
        limit: Some(10_000),
        ..CaseQuery::default()
    };
    let listed = server.storage.cases(&query, now).unwrap();
    for dev in devices {
        dev.clock.set(now);
        assert_eq!(dev.store.cases(&query).unwrap(), listed, "seed {seed}");
    }
}
