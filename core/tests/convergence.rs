//! Property test: random concurrent event sequences on 2–3 replicas of a
//! case, merged in every order, give identical documents (the same heads)
//! and identical derived state on every replica, and lose no event.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use automerge::ActorId;
use proptest::prelude::*;
use support::*;
use wangge_core::case::{derive, validate_next};
use wangge_core::doc::{DocKind, EventDoc};
use wangge_core::hlc::HlcClock;
use wangge_core::{
    Actor, CaseEvent, CaseEventKind, CaseId, CaseState, CaseStatus, DeviceId, EventId, Role,
};

/// One step of the simulation.
#[derive(Debug, Clone)]
enum Step {
    /// Replica `r` attempts action template `t` after `advance_ms`.
    Act { r: usize, t: usize, advance_ms: i64 },
    /// Replica `to` receives everything replica `from` has.
    Sync { from: usize, to: usize },
}

fn step(replicas: usize) -> impl Strategy<Value = Step> {
    prop_oneof![
        4 => (0..replicas, 0..TEMPLATES, 0i64..600_000).prop_map(|(r, t, advance_ms)| Step::Act { r, t, advance_ms }),
        1 => (0..replicas, 0..replicas).prop_map(|(from, to)| Step::Sync { from, to }),
    ]
}

const TEMPLATES: usize = 22;

fn template(t: usize, device: DeviceId, n: usize) -> (Actor, CaseEventKind) {
    let centre = actor("centre", Role::Centre, None, device);
    let unit = |u: &str| actor("unit", Role::HandlingUnit, Some(u), device);
    let officer = actor("officer", Role::GridOfficer, Some("网格一组"), device);
    match t {
        0 => (
            centre,
            CaseEventKind::Registered {
                case_number: format!("XT-{n}"),
                checklist_item: None,
                grid: None,
            },
        ),
        1 => (
            centre,
            CaseEventKind::Rejected {
                reason: "重复上报".into(),
            },
        ),
        2 => (
            centre,
            CaseEventKind::Dispatched {
                units: vec!["城管中队".into()],
                lead: None,
                note: None,
            },
        ),
        3 => (
            centre,
            CaseEventKind::Dispatched {
                units: vec!["物业".into(), "市政科".into()],
                lead: None,
                note: None,
            },
        ),
        4 => (unit("城管中队"), CaseEventKind::Arrived { note: None }),
        5 | 6 => (
            unit("物业"),
            CaseEventKind::Feedback {
                note: format!("已处置 {n}"),
                photos: vec![],
            },
        ),
        7 => (
            officer,
            CaseEventKind::HandledOnSpot {
                note: "现场劝离".into(),
                photos: vec![],
            },
        ),
        8 => (
            centre,
            CaseEventKind::Verified {
                passed: true,
                note: None,
                photos: vec![],
            },
        ),
        9 => (
            actor("inspector", Role::Supervisor, None, device),
            CaseEventKind::Verified {
                passed: false,
                note: Some("仍有摊贩".into()),
                photos: vec![],
            },
        ),
        10 | 11 => (centre, CaseEventKind::Closed { note: None }),
        12 => (
            centre,
            CaseEventKind::Reopened {
                reason: "市民再次投诉".into(),
            },
        ),
        13 => (
            centre,
            CaseEventKind::Escalated {
                reason: "提交区级平台".into(),
            },
        ),
        // Joint handling (rules 6–11 of `case::state`).
        15 => (
            centre,
            CaseEventKind::Dispatched {
                units: vec!["城管中队".into(), "物业".into()],
                lead: Some("物业".into()),
                note: None,
            },
        ),
        16 => (
            unit("城管中队"),
            CaseEventKind::Feedback {
                note: format!("城管已处置 {n}"),
                photos: vec![],
            },
        ),
        17 => (
            centre,
            CaseEventKind::Released {
                unit: "市政科".into(),
                reason: None,
            },
        ),
        18 => (
            centre,
            CaseEventKind::Withdrawn {
                units: vec!["物业".into()],
                reason: "派错单位".into(),
            },
        ),
        19 => (
            unit("城管中队"),
            CaseEventKind::HandedBack {
                reason: "非本单位职责".into(),
            },
        ),
        20 => (
            centre,
            CaseEventKind::MergedInto {
                target: "0190a1b2-0000-7000-8000-000000000001".into(),
                note: None,
            },
        ),
        _ => (
            officer,
            CaseEventKind::Comment {
                text: format!("备注 {n}"),
                photos: vec![],
            },
        ),
    }
}

/// What every derived state must satisfy, whatever the events and their order.
fn check_invariants(state: &CaseState) -> Result<(), TestCaseError> {
    use wangge_core::case::DISTRICT_PLATFORM;
    let units: Vec<&String> = state
        .holders
        .iter()
        .filter(|h| h.as_str() != DISTRICT_PLATFORM)
        .collect();
    match state.status {
        // Someone on the case still owes feedback (the lead, at least, until it reports).
        CaseStatus::Dispatched | CaseStatus::InProgress => {
            prop_assert!(
                !units.is_empty(),
                "a dispatched case held by no unit: {state:?}"
            );
            let owing: Vec<&str> = state
                .assignments
                .iter()
                .filter(|a| a.owes_feedback())
                .map(|a| a.unit.as_str())
                .collect();
            for u in &units {
                prop_assert!(
                    owing.contains(&u.as_str()),
                    "holder {u} owes nothing: {state:?}"
                );
            }
        }
        CaseStatus::Merged => {
            prop_assert!(state.merged_into.is_some(), "merged into nothing");
            prop_assert!(state.holders.is_empty());
        }
        _ => {}
    }
    if state.status != CaseStatus::Merged {
        prop_assert!(
            state.merged_into.is_none(),
            "merged_into on a {:?} case",
            state.status
        );
    }
    // Holder spans: at most one open span per holder, and the open ones are the holders.
    let mut open: Vec<&String> = state
        .holder_spans
        .iter()
        .filter(|s| s.until.is_none())
        .map(|s| &s.holder)
        .collect();
    open.sort();
    let mut holders: Vec<&String> = state.holders.iter().collect();
    holders.sort();
    prop_assert_eq!(open, holders, "open holder spans are not the holders");
    for s in &state.holder_spans {
        prop_assert!(
            s.until.is_none_or(|u| u >= s.from),
            "a span ends before it starts"
        );
    }
    Ok(())
}

struct Replica {
    device: DeviceId,
    doc: EventDoc,
    hlc: HlcClock,
    physical_ms: i64,
}

impl Replica {
    fn events(&self) -> Vec<CaseEvent> {
        self.doc.events().unwrap()
    }
}

fn actor_id(i: usize) -> ActorId {
    ActorId::from(vec![i as u8 + 1; 16])
}

fn run(replicas: usize, skews: &[i64], steps: &[Step]) -> Result<(), TestCaseError> {
    let catalog = catalog();
    let id = CaseId::generate();
    let d0 = DeviceId::generate();
    let header = vendor_header(id, d0);
    let mut clock0 = HlcClock::default();
    let reported = CaseEvent {
        id: EventId::generate(),
        at: clock0.tick(MONDAY_9AM + skews[0]),
        by: header.reporter.clone(),
        kind: CaseEventKind::Reported,
    };
    let base = EventDoc::create(
        &id.to_string(),
        &actor_id(0),
        DocKind::Case,
        &header,
        &[(reported.id.to_string(), &reported)],
    )
    .unwrap();
    let saved = base.save();
    let mut reps: Vec<Replica> = (0..replicas)
        .map(|i| {
            let mut hlc = HlcClock::default();
            hlc.observe(reported.at);
            Replica {
                device: if i == 0 { d0 } else { DeviceId::generate() },
                doc: EventDoc::load(&id.to_string(), &saved, &actor_id(i)).unwrap(),
                hlc,
                physical_ms: MONDAY_9AM + skews[i],
            }
        })
        .collect();

    let mut authored: Vec<EventId> = vec![reported.id];
    for (n, s) in steps.iter().enumerate() {
        match *s {
            Step::Act { r, t, advance_ms } => {
                let rep = &mut reps[r];
                rep.physical_ms += advance_ms;
                let events = rep.events();
                let (by, kind) = template(t, rep.device, n);
                let mut hlc = rep.hlc;
                let ev = CaseEvent {
                    id: EventId::generate(),
                    at: hlc.tick(rep.physical_ms),
                    by,
                    kind,
                };
                // Only what the replica's own view allows is recorded, as on a device.
                if validate_next(&header, &events, &ev, &catalog).is_ok() {
                    rep.hlc = hlc;
                    rep.doc.add_event(&ev.id.to_string(), &ev).unwrap();
                    authored.push(ev.id);
                }
            }
            Step::Sync { from, to } if from != to => {
                let mut src = reps[from].doc.clone();
                let seen = src
                    .events::<CaseEvent>()
                    .unwrap()
                    .iter()
                    .map(|e| e.at)
                    .max()
                    .unwrap();
                reps[to].doc.merge(&mut src).unwrap();
                reps[to].hlc.observe(seen);
            }
            Step::Sync { .. } => {}
        }
    }

    // Merge in every order.
    let orders: Vec<Vec<usize>> = permutations(replicas);
    let mut results = Vec::new();
    for order in &orders {
        let mut acc = reps[order[0]].doc.clone();
        for &i in &order[1..] {
            let mut other = reps[i].doc.clone();
            acc.merge(&mut other).unwrap();
        }
        let events: Vec<CaseEvent> = acc.events().unwrap();
        let state = derive(&header, &events, &catalog);
        results.push((acc.heads(), state, events.len()));
    }
    // Pairwise exchange (star through replica 0 and back) gives the same too.
    let mut star: Vec<EventDoc> = reps.iter().map(|r| r.doc.clone()).collect();
    for i in 1..replicas {
        let mut other = star[i].clone();
        star[0].merge(&mut other).unwrap();
    }
    for i in 1..replicas {
        let mut hub = star[0].clone();
        star[i].merge(&mut hub).unwrap();
    }
    for doc in &star {
        let events: Vec<CaseEvent> = doc.events().unwrap();
        results.push((
            doc.heads(),
            derive(&header, &events, &catalog),
            events.len(),
        ));
    }
    let first = &results[0];
    for r in &results[1..] {
        prop_assert_eq!(&r.0, &first.0, "heads differ");
        prop_assert_eq!(&r.1, &first.1, "derived state differs");
    }
    prop_assert_eq!(first.2, authored.len(), "an authored event was lost");
    // The derivation never invents holders for a closed case.
    if !first.1.status.is_open() {
        prop_assert!(first.1.holders.is_empty());
    }
    check_invariants(&first.1)?;
    Ok(())
}

fn permutations(n: usize) -> Vec<Vec<usize>> {
    if n == 1 {
        return vec![vec![0]];
    }
    let mut out = Vec::new();
    for p in permutations(n - 1) {
        for pos in 0..=p.len() {
            let mut q = p.clone();
            q.insert(pos, n - 1);
            out.push(q);
        }
    }
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn replicas_converge_whatever_the_merge_order(
        replicas in 2usize..=3,
        skews in proptest::collection::vec(-3_600_000i64..3_600_000, 3),
        steps in proptest::collection::vec(step(3), 1..40),
    ) {
        let steps: Vec<Step> = steps
            .into_iter()
            .map(|s| match s {
                Step::Act { r, t, advance_ms } => Step::Act { r: r % replicas, t, advance_ms },
                Step::Sync { from, to } => Step::Sync { from: from % replicas, to: to % replicas },
            })
            .collect();
        run(replicas, &skews, &steps)?;
    }
}

/// The documented rule: a failed verification concurrent with a close
/// leaves the case open, whichever comes first in the order.
#[test]
fn an_objection_beats_a_concurrent_close_in_either_order() {
    for objection_first in [true, false] {
        let catalog = catalog();
        let d = DeviceId::generate();
        let id = CaseId::generate();
        let header = vendor_header(id, d);
        let mut t = MONDAY_9AM;
        let mut next = |kind: CaseEventKind, role: Role| {
            t += 60_000;
            CaseEvent {
                id: EventId::generate(),
                at: wangge_core::Hlc {
                    wall_ms: t,
                    counter: 0,
                },
                by: actor("x", role, Some("物业"), d),
                kind,
            }
        };
        let mut events = vec![
            next(CaseEventKind::Reported, Role::GridOfficer),
            next(
                CaseEventKind::Registered {
                    case_number: "1".into(),
                    checklist_item: None,
                    grid: None,
                },
                Role::Centre,
            ),
            next(
                CaseEventKind::Dispatched {
                    units: vec!["物业".into()],
                    lead: None,
                    note: None,
                },
                Role::Centre,
            ),
            next(
                CaseEventKind::Feedback {
                    note: "done".into(),
                    photos: vec![],
                },
                Role::HandlingUnit,
            ),
        ];
        let close = next(CaseEventKind::Closed { note: None }, Role::Centre);
        let mut objection = next(
            CaseEventKind::Verified {
                passed: false,
                note: None,
                photos: vec![],
            },
            Role::Supervisor,
        );
        if objection_first {
            objection.at.wall_ms = close.at.wall_ms - 1;
        }
        events.push(close);
        events.push(objection);
        let state = derive(&header, &events, &catalog);
        assert!(
            state.status.is_open(),
            "objection first: {objection_first}: {state:?}"
        );
        assert_eq!(state.holders, vec!["物业".to_owned()]);
    }
}
