//! The evaluation of a seed-like quarter: thousands of cases over 91 days from every
//! channel, 17 categories and 18 workstations, registered, dispatched to lead and
//! assisting units that arrive, report, get released or never answer, verified and
//! closed, all on a simulated clock. The test keeps its own ledger of what it made happen
//! and computes every figure from it independently (its own counting, following the rules
//! written in `wangge_server::office::evaluation`), then compares with
//! `GET /v1/evaluation` over HTTP.
//!
//! Cases enter through a phone's store and one sync (any channel: the channel is part of
//! the case header); the back-office and unit actions go straight to the server's storage
//! with each action's own time, which is what the HTTP endpoints call, to keep the
//! quarter's 10,000 actions within seconds.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap};

use serde_json::Value;
use wangge_core::{Actor, CaseEventKind, CaseId, DeviceId, NewCase, Role, SourceChannel};
use wangge_e2e::desk::Desk;
use wangge_e2e::*;
use wangge_server::office::period;
use wangge_server::storage::Storage;

const MINUTE: i64 = 60_000;
const DAY: i64 = 86_400_000;
const UNITS: [&str; 6] = [
    "城管中队",
    "市容所",
    "物业",
    "市政科",
    "公安派出所",
    "绿化所",
];

/// One unit's part, as the test made it happen.
#[derive(Debug, Clone)]
struct Part {
    unit: &'static str,
    lead: bool,
    dispatched_at: i64,
    arrived_at: Option<i64>,
    feedback_at: Option<i64>,
    released_at: Option<i64>,
}

/// One case, as the test made it happen.
#[derive(Debug, Clone)]
struct Sim {
    id: CaseId,
    channel: SourceChannel,
    category: String,
    reported_at: i64,
    response_due: i64,
    resolution_due: i64,
    registered: bool,
    rejected_at: Option<i64>,
    parts: Vec<Part>,
    handled_at: Option<i64>,
    closed_at: Option<i64>,
}

impl Sim {
    fn open(&self) -> bool {
        self.rejected_at.is_none() && self.closed_at.is_none()
    }
}

/// The channels with the seed's shape: most cases from the officers' own patrols.
fn channel(rng: &mut Rng) -> SourceChannel {
    let r = rng.below(1000);
    match r {
        0..=899 => SourceChannel::GridOfficerHandheld,
        900..=929 => SourceChannel::Hotline12345,
        930..=944 => SourceChannel::ResidentialWorkstation,
        945..=959 => SourceChannel::StreetOfficialHandheld,
        960..=969 => SourceChannel::Hotline12319,
        970..=979 => SourceChannel::Wechat,
        980..=989 => SourceChannel::StreetHotline,
        _ => SourceChannel::Judicial110,
    }
}

fn judge(on_time: &mut u64, late: &mut u64, due: i64, met: Option<i64>, now: i64) {
    match met {
        Some(m) if m <= due => *on_time += 1,
        Some(_) => *late += 1,
        None if now > due => *late += 1,
        None => {}
    }
}

fn rate(on_time: u64, late: u64) -> Option<f64> {
    (on_time + late > 0).then(|| on_time as f64 / (on_time + late) as f64)
}

fn median(mut v: Vec<i64>) -> Option<i64> {
    v.sort_unstable();
    (!v.is_empty()).then(|| v[(v.len() - 1) / 2])
}

fn close(a: &Value, b: Option<f64>, what: &str) {
    match b {
        None => assert!(a.is_null(), "{what}: {a} but expected none"),
        Some(b) => assert!(
            (a.as_f64().unwrap() - b).abs() < 1e-9,
            "{what}: {a} but expected {b}"
        ),
    }
}

#[test]
fn a_seed_like_quarter_evaluates_to_the_figures_of_its_own_ledger() {
    let n: usize = std::env::var("WANGGE_QUARTER_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let dir = tempfile::tempdir().unwrap();
    // The evaluation is read 101 days after the devices were enrolled: past a token's default
    // lifetime, which is not what this test is about.
    let tokens = wangge_server::tokens::TokenPolicy::days(365).unwrap();
    let server = TestServer::start_with_tokens(dir.path(), tokens);
    let desk = Desk::new(&server);
    let officer = server.field_device(dir.path(), "officer", everything());
    let catalog = catalog();
    let mut rng = Rng::new(91);

    // One item per category (17), the first three categories weighted like the seed's
    // top three (about half of all cases); 18 workstations' first cells.
    let categories: Vec<String> = {
        let mut c: Vec<String> = catalog
            .checklist
            .items()
            .iter()
            .map(|i| i.category.clone())
            .collect();
        c.dedup();
        c.sort();
        c.dedup();
        c
    };
    assert_eq!(categories.len(), 17);
    let item_of: HashMap<&str, &str> = categories
        .iter()
        .map(|c| {
            let item = catalog
                .checklist
                .items()
                .iter()
                .find(|i| &i.category == c)
                .unwrap();
            (c.as_str(), item.id.as_str())
        })
        .collect();
    let cells: Vec<String> = (1..=18).map(|w| format!("XT-W{w:02}-U1")).collect();
    for c in &cells {
        assert!(catalog.grids.cell(c).is_some(), "{c}");
    }

    // The quarter: 91 days from Monday 2 March 2026, 00:00 China time.
    let start = period::start_of(wangge_core::store::cst_day(MONDAY_9AM));
    let end = start + 91 * DAY;
    let mut times: Vec<i64> = (0..n)
        .map(|_| start + (rng.next_u64() % (end - start - DAY) as u64) as i64)
        .collect();
    times.sort_unstable();

    // Intake: every case enters through the phone's store, in time order, then one sync.
    let me = officer.me(Role::GridOfficer, None);
    let mut sims = Vec::with_capacity(n);
    for (i, &at) in times.iter().enumerate() {
        let category = if rng.percent(50) {
            categories[rng.below(3)].clone()
        } else {
            rng.pick(&categories).clone()
        };
        let item = catalog.checklist.item(item_of[category.as_str()]).unwrap();
        officer.clock.set(at);
        let mut new = NewCase::from_handheld(
            &item.id,
            &format!("第{i}件"),
            fix_in(&cells[rng.below(cells.len())], at),
        );
        new.channel = channel(&mut rng);
        let id = officer.store.record_case(&me, new.clone()).unwrap();
        assert_eq!(officer.store.case(id).unwrap().state.reported_at, at);
        sims.push(Sim {
            id,
            channel: new.channel,
            category,
            reported_at: at,
            response_due: item.response_limit.deadline(at, &catalog.calendar),
            resolution_due: item.resolution_limit.deadline(at, &catalog.calendar),
            registered: false,
            rejected_at: None,
            parts: Vec::new(),
            handled_at: None,
            closed_at: None,
        });
    }
    officer.sync();

    // The centre and the units act, each case's actions in time order.
    let device = DeviceId::generate();
    let centre = Actor {
        id: "centre".into(),
        role: Role::Centre,
        unit: None,
        device,
    };
    let unit_actor = |unit: &str| Actor {
        id: format!("handler-{unit}"),
        role: Role::HandlingUnit,
        unit: Some(unit.to_owned()),
        device,
    };
    let storage = server.storage.clone();
    let ev = |id: CaseId, by: &Actor, kind: CaseEventKind, at: i64| {
        storage
            .add_case_event(&id.to_string(), by, kind, at)
            .unwrap();
    };
    for s in sims.iter_mut() {
        let id = s.id;
        if rng.percent(2) {
            continue; // Never registered: stays with the centre.
        }
        let mut t = s.reported_at + (1 + rng.below(10) as i64) * MINUTE;
        if rng.percent(3) {
            ev(
                id,
                &centre,
                CaseEventKind::Rejected {
                    reason: "不属于受理范围".into(),
                },
                t,
            );
            s.rejected_at = Some(t);
            continue;
        }
        storage
            .register_case(&id.to_string(), &centre, None, None, t)
            .unwrap();
        s.registered = true;
        t += (1 + rng.below(3) as i64) * MINUTE;
        let lead = *rng.pick(&UNITS);
        let mut units = vec![lead];
        if rng.percent(20) {
            let other = *rng.pick(&UNITS);
            if other != lead {
                units.push(other);
            }
        }
        ev(
            id,
            &centre,
            CaseEventKind::Dispatched {
                units: units.iter().map(|u| u.to_string()).collect(),
                lead: Some(lead.to_owned()),
                note: None,
            },
            t,
        );
        let dispatched = t;
        s.parts = units
            .iter()
            .enumerate()
            .map(|(i, u)| Part {
                unit: u,
                lead: i == 0,
                dispatched_at: dispatched,
                arrived_at: None,
                feedback_at: None,
                released_at: None,
            })
            .collect();
        let silent_lead = rng.percent(4);
        // Plan every unit's actions, then play them in time order.
        let mut actions: Vec<(i64, usize, u8)> = Vec::new(); // (time, part, 0 arrive 1 feedback 2 release)
        for (i, p) in s.parts.iter_mut().enumerate() {
            if p.lead && silent_lead {
                continue;
            }
            if !p.lead && rng.percent(30) {
                let at = dispatched + 5 * MINUTE;
                p.released_at = Some(at);
                actions.push((at, i, 2));
                continue;
            }
            let arrive = dispatched + (2 + rng.below(38) as i64) * MINUTE;
            let work = match rng.below(100) {
                0..=69 => (10 + rng.below(50) as i64) * MINUTE,
                70..=94 => (60 + rng.below(540) as i64) * MINUTE,
                _ => (1 + rng.below(5) as i64) * DAY,
            };
            p.arrived_at = Some(arrive);
            p.feedback_at = Some(arrive + work);
            actions.push((arrive, i, 0));
            actions.push((arrive + work, i, 1));
        }
        actions.sort();
        for (at, i, what) in actions {
            let unit = s.parts[i].unit;
            let kind = match what {
                0 => CaseEventKind::Arrived { note: None },
                1 => CaseEventKind::Feedback {
                    note: "已处置".into(),
                    photos: vec![],
                },
                _ => CaseEventKind::Released {
                    unit: unit.to_owned(),
                    reason: None,
                },
            };
            let by = if what == 2 {
                centre.clone()
            } else {
                unit_actor(unit)
            };
            ev(id, &by, kind, at);
        }
        // Handled when the lead has reported and every other unit reported or was released.
        let done = |p: &Part| p.feedback_at.or(p.released_at);
        if s.parts.iter().all(|p| done(p).is_some()) {
            let handled = s.parts.iter().filter_map(done).max().unwrap();
            s.handled_at = Some(handled);
            let verify = handled + 30 * MINUTE;
            ev(
                id,
                &centre,
                CaseEventKind::Verified {
                    passed: true,
                    note: None,
                    photos: vec![],
                },
                verify,
            );
            ev(
                id,
                &centre,
                CaseEventKind::Closed { note: None },
                verify + 5 * MINUTE,
            );
            s.closed_at = Some(verify + 5 * MINUTE);
        }
    }

    // Evaluated ten days after the quarter.
    let now = end + 10 * DAY;
    server.clock.set(now);
    let from = period::day_of(start);
    let to = period::day_of(end - 1);
    let got = desk.get_ok(&format!("/v1/evaluation?from={from}&to={to}&stuck=50"));

    // --- The ledger's own figures ---
    assert_eq!(got["intake"], n as u64);
    let mut by_channel: BTreeMap<&str, u64> = BTreeMap::new();
    let mut by_category: BTreeMap<&str, u64> = BTreeMap::new();
    for s in &sims {
        *by_channel.entry(s.channel.as_str()).or_default() += 1;
        *by_category.entry(&s.category).or_default() += 1;
    }
    let listed = |key: &str| -> BTreeMap<String, u64> {
        got[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| {
                (
                    s["key"].as_str().unwrap().to_owned(),
                    s["count"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let expect = |m: &BTreeMap<&str, u64>| {
        m.iter()
            .map(|(k, v)| (k.to_string(), *v))
            .collect::<BTreeMap<_, _>>()
    };
    assert_eq!(listed("by_channel"), expect(&by_channel));
    assert_eq!(listed("by_category"), expect(&by_category));
    let mut counts: Vec<u64> = by_category.values().copied().collect();
    counts.sort_unstable_by(|a, b| b.cmp(a));
    close(
        &got["top3_share"],
        Some(counts[..3].iter().sum::<u64>() as f64 / n as f64),
        "top3_share",
    );

    let accepted = sims.iter().filter(|s| s.registered).count() as u64;
    let closed = sims.iter().filter(|s| s.closed_at.is_some()).count() as u64;
    let rejected = sims.iter().filter(|s| s.rejected_at.is_some()).count() as u64;
    assert_eq!(got["accepted"], accepted);
    assert_eq!(got["closed"], closed);
    assert_eq!(got["rejected"], rejected);
    assert_eq!(got["open"], sims.iter().filter(|s| s.open()).count() as u64);
    close(
        &got["closure_rate"],
        Some(closed as f64 / accepted as f64),
        "closure_rate",
    );
    println!(
        "quarter: {n} cases, {accepted} accepted, {closed} closed ({:.1}%), top-3 share {}",
        100.0 * closed as f64 / accepted as f64,
        got["top3_share"]
    );

    // Case-level deadlines: the first arrival answers; the handling is the case's.
    let (mut r_on, mut r_late, mut h_on, mut h_late) = (0, 0, 0, 0);
    for s in sims.iter().filter(|s| s.rejected_at.is_none()) {
        let responded = s.parts.iter().filter_map(|p| p.arrived_at).min();
        judge(&mut r_on, &mut r_late, s.response_due, responded, now);
        judge(&mut h_on, &mut h_late, s.resolution_due, s.handled_at, now);
    }
    assert_eq!(
        (
            got["response"]["on_time"].as_u64().unwrap(),
            got["response"]["late"].as_u64().unwrap()
        ),
        (r_on, r_late)
    );
    assert_eq!(
        (
            got["resolution"]["on_time"].as_u64().unwrap(),
            got["resolution"]["late"].as_u64().unwrap()
        ),
        (h_on, h_late)
    );

    // Units.
    #[derive(Default, Debug)]
    struct U {
        assignments: u64,
        lead: u64,
        reported: u64,
        owing: u64,
        released: u64,
        r: (u64, u64),
        h: (u64, u64),
        handling: Vec<i64>,
    }
    let mut units: BTreeMap<&str, U> = BTreeMap::new();
    for s in &sims {
        for p in &s.parts {
            let u = units.entry(p.unit).or_default();
            u.assignments += 1;
            u.lead += p.lead as u64;
            u.released += p.released_at.is_some() as u64;
            if let Some(f) = p.feedback_at {
                u.reported += 1;
                u.handling.push(f - p.dispatched_at);
            }
            let owes = p.released_at.is_none() && p.feedback_at.is_none();
            u.owing += owes as u64;
            if p.released_at.is_some() && p.arrived_at.is_none() {
                continue;
            }
            judge(&mut u.r.0, &mut u.r.1, s.response_due, p.arrived_at, now);
            judge(&mut u.h.0, &mut u.h.1, s.resolution_due, p.feedback_at, now);
        }
    }
    let got_units: Vec<&Value> = got["units"].as_array().unwrap().iter().collect();
    assert_eq!(got_units.len(), units.len());
    for g in &got_units {
        let name = g["unit"].as_str().unwrap();
        let u = &units[name];
        let pair = |v: &Value| (v["on_time"].as_u64().unwrap(), v["late"].as_u64().unwrap());
        assert_eq!(g["assignments"], u.assignments, "{name}");
        assert_eq!(g["lead"], u.lead, "{name}");
        assert_eq!(g["reported"], u.reported, "{name}");
        assert_eq!(g["owing"], u.owing, "{name}");
        assert_eq!(g["released"], u.released, "{name}");
        assert_eq!(pair(&g["response"]), u.r, "{name} response");
        assert_eq!(pair(&g["resolution"]), u.h, "{name} resolution");
        assert_eq!(
            g["median_handling_ms"].as_i64(),
            median(u.handling.clone()),
            "{name}"
        );
    }
    // The ranking, by the documented rule.
    let mut ranked: Vec<(&str, f64, f64, i64)> = units
        .iter()
        .map(|(name, u)| {
            (
                *name,
                rate(u.h.0, u.h.1).unwrap_or(-1.0),
                rate(u.r.0, u.r.1).unwrap_or(-1.0),
                median(u.handling.clone()).unwrap_or(i64::MAX),
            )
        })
        .collect();
    ranked.sort_by(|a, b| {
        b.1.total_cmp(&a.1)
            .then(b.2.total_cmp(&a.2))
            .then(a.3.cmp(&b.3))
            .then(a.0.cmp(b.0))
    });
    let got_order: Vec<&str> = got_units
        .iter()
        .map(|g| g["unit"].as_str().unwrap())
        .collect();
    let order: Vec<&str> = ranked.iter().map(|r| r.0).collect();
    assert_eq!(got_order, order);
    assert_eq!(got_units[0]["rank"], 1);

    // Stuck: the open cases, by the oldest holding that goes on.
    let mut stuck: Vec<(i64, String, String)> = sims
        .iter()
        .filter(|s| s.open())
        .map(|s| {
            let (since, holder) = if s.parts.is_empty() {
                (s.reported_at, "管理中心".to_owned())
            } else {
                s.parts
                    .iter()
                    .filter(|p| p.released_at.is_none() && p.feedback_at.is_none())
                    .map(|p| (p.dispatched_at, p.unit.to_owned()))
                    .min()
                    .unwrap()
            };
            (now - since, s.id.to_string(), holder)
        })
        .collect();
    stuck.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    stuck.truncate(50);
    let got_stuck: Vec<(i64, String, String)> = got["stuck"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["held_ms"].as_i64().unwrap(),
                s["case_id"].as_str().unwrap().to_owned(),
                s["holder"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(got_stuck, stuck);

    // Time with each holder: the centre until the dispatch and from the handling to the
    // close (or until the rejection, or up to now); each unit from its dispatch to its
    // feedback or release, or up to now.
    let mut holders: BTreeMap<String, (u64, i64)> = BTreeMap::new();
    for s in &sims {
        let mut add = |h: &str, ms: i64| {
            let e = holders.entry(h.to_owned()).or_default();
            e.0 += 1;
            e.1 += ms;
        };
        let centre_ms = match (s.rejected_at, s.parts.first()) {
            (Some(r), _) => r - s.reported_at,
            (None, None) => now - s.reported_at,
            (None, Some(p)) => {
                p.dispatched_at - s.reported_at
                    + s.handled_at.zip(s.closed_at).map_or(0, |(h, c)| c - h)
            }
        };
        add("管理中心", centre_ms);
        for p in &s.parts {
            add(
                p.unit,
                p.feedback_at.or(p.released_at).unwrap_or(now) - p.dispatched_at,
            );
        }
    }
    let got_holders: BTreeMap<String, (u64, i64)> = got["holders"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            (
                h["holder"].as_str().unwrap().to_owned(),
                (
                    h["cases"].as_u64().unwrap(),
                    h["total_ms"].as_i64().unwrap(),
                ),
            )
        })
        .collect();
    assert_eq!(got_holders, holders);

    // A period of one day counts only that day's intake.
    let day = period::day_of(sims[0].reported_at);
    let one = desk.get_ok(&format!("/v1/evaluation?from={day}&to={day}"));
    let that_day = sims
        .iter()
        .filter(|s| period::day_of(s.reported_at) == day)
        .count();
    assert_eq!(one["intake"], that_day as u64);
}
