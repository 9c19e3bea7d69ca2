//! The back office's case lists over real HTTP: every filter, the `due` order, deadlines
//! and time left, the time a case spent with each holder, and cursor paging through
//! 20,000 cases without a skipped or repeated case.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashSet;

use serde_json::{Value, json};
use wangge_core::{CaseEventKind, CaseId, Clock, NewCase, Role};
use wangge_e2e::desk::Desk;
use wangge_e2e::*;

const MINUTE: i64 = 60_000;

fn ids(page: &Value) -> Vec<String> {
    page["cases"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

/// Every case of a filtered list, page by page; asserts no page repeats a case.
fn all_pages(desk: &Desk, query: &str, limit: u32) -> Vec<Value> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/v1/cases?{query}&limit={limit}");
        if let Some(c) = &cursor {
            path.push_str(&format!("&cursor={c}"));
        }
        let page = desk.get_ok(&path);
        let rows = page["cases"].as_array().unwrap();
        assert!(rows.len() <= limit as usize);
        for r in rows {
            assert!(
                seen.insert(r["id"].as_str().unwrap().to_owned()),
                "repeated {r}"
            );
            out.push(r.clone());
        }
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => return out,
        }
    }
}

#[test]
fn queues_filter_by_status_holder_unit_place_channel_and_clock() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let desk = Desk::new(&server);
    let officer = server.field_device(dir.path(), "officer", everything());
    let cg = server.field_device(dir.path(), "cg", scope(&[], &[], &["城管中队"]));
    let me = officer.me(Role::GridOfficer, None);
    // Six vendor cases (15 minutes to respond, 45 to handle), one a minute, in W01 and W02.
    let cells = ["XT-W01-U1", "XT-W02-U2"];
    let mut cases: Vec<CaseId> = Vec::new();
    for i in 0..6 {
        officer.clock.set(MONDAY_9AM + i * MINUTE);
        let at = officer.clock.now_ms();
        cases.push(
            officer
                .store
                .record_case(
                    &me,
                    NewCase::from_handheld(
                        "A02-001",
                        &format!("流动摊贩 {i}"),
                        fix_in(cells[i as usize % 2], at),
                    ),
                )
                .unwrap(),
        );
    }
    officer.sync();
    server.clock.set(MONDAY_9AM + 6 * MINUTE);
    for c in &cases[..4] {
        desk.register(*c);
    }
    desk.event(
        cases[0],
        json!({"type": "dispatched", "units": ["城管中队", "物业"], "lead": "城管中队"}),
    );
    desk.event(
        cases[1],
        json!({"type": "dispatched", "units": ["城管中队"]}),
    );

    let count = |q: &str| {
        desk.get_ok(&format!("/v1/cases?{q}"))["cases"]
            .as_array()
            .unwrap()
            .len()
    };
    assert_eq!(count(""), 6);
    assert_eq!(count("status=reported"), 2);
    assert_eq!(count("status=registered,dispatched"), 4);
    assert_eq!(count("holder=城管中队"), 2);
    // A unit's queue in deadline order, a page at a time.
    let first = desk.get_ok("/v1/cases?holder=城管中队&sort=due&limit=1");
    assert_eq!(ids(&first), [cases[0].to_string()]);
    let cursor = first["next_cursor"].as_str().unwrap();
    let second = desk.get_ok(&format!(
        "/v1/cases?holder=城管中队&sort=due&limit=1&cursor={cursor}"
    ));
    assert_eq!(ids(&second), [cases[1].to_string()]);
    assert!(second["next_cursor"].is_null());
    assert_eq!(
        count("holder=管理中心"),
        4,
        "two to register, two registered"
    );
    assert_eq!(count("unit=物业"), 1);
    assert_eq!(count("workstation=XT-W01"), 3);
    assert_eq!(count("grid=XT-W02"), 3, "grid matches any level");
    assert_eq!(count("block=XT-B1&workstation=XT-W02"), 3);
    assert_eq!(count("channel=grid_officer_handheld"), 6);
    assert_eq!(count("channel=wechat"), 0);
    assert_eq!(count("category=A02&item=A02-001"), 6);
    assert_eq!(count("q=流动摊贩 3"), 1);
    let from = wangge_server::office::period::iso(MONDAY_9AM + 2 * MINUTE);
    let to = wangge_server::office::period::iso(MONDAY_9AM + 4 * MINUTE);
    assert_eq!(
        count(&format!(
            "from={}&to={}",
            from.replace('+', "%2B"),
            to.replace('+', "%2B")
        )),
        2,
        "the period is half-open"
    );

    // Newest first by default.
    let page = desk.get_ok("/v1/cases");
    let listed = ids(&page);
    let mut newest_first: Vec<String> = cases.iter().rev().map(|c| c.to_string()).collect();
    assert_eq!(listed, newest_first);
    // Deadlines and time left, at 09:06: case 0 must be answered by 09:15.
    let row0 = page["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["id"] == cases[0].to_string())
        .unwrap();
    assert_eq!(row0["response_due"], MONDAY_9AM + 15 * MINUTE);
    assert_eq!(row0["resolution_due"], MONDAY_9AM + 45 * MINUTE);
    assert_eq!(row0["next_due"], MONDAY_9AM + 15 * MINUTE);
    assert_eq!(row0["time_left_ms"], 9 * MINUTE);
    assert_eq!(row0["holders"], json!(["城管中队", "物业"]));

    // Earliest deadline first: case 0's response is due first.
    let due = ids(&desk.get_ok("/v1/cases?sort=due"));
    newest_first.reverse();
    assert_eq!(due, newest_first, "deadlines follow the report times");

    // 城管中队 arrives on case 0 at 09:10 and reports at 09:30; the case stays with 物业.
    cg.sync();
    cg.clock.set(MONDAY_9AM + 10 * MINUTE);
    let unit = cg.me(Role::HandlingUnit, Some("城管中队"));
    cg.store
        .add_case_event(cases[0], &unit, CaseEventKind::Arrived { note: None })
        .unwrap();
    cg.clock.set(MONDAY_9AM + 30 * MINUTE);
    cg.store
        .add_case_event(
            cases[0],
            &unit,
            CaseEventKind::Feedback {
                note: "已劝离".into(),
                photos: vec![],
            },
        )
        .unwrap();
    cg.sync();

    // At 09:17:30 cases 0–2 were due to be answered by 09:15–09:17, and only case 0 was
    // (at 09:10): 1 and 2 are overdue. Cases 3–5 are due within 10 minutes (09:18–09:20).
    server.clock.set(MONDAY_9AM + 17 * MINUTE + 30_000);
    let overdue: HashSet<String> = ids(&desk.get_ok("/v1/cases?overdue=true"))
        .into_iter()
        .collect();
    let expected: HashSet<String> = [cases[1], cases[2]].iter().map(|c| c.to_string()).collect();
    assert_eq!(overdue, expected);
    let soon: HashSet<String> = ids(&desk.get_ok("/v1/cases?due_within=10"))
        .into_iter()
        .collect();
    let expected: HashSet<String> = cases[3..].iter().map(|c| c.to_string()).collect();
    assert_eq!(soon, expected);
    // Case 0's response is met; its next deadline is the resolution at 09:45.
    let row0 = desk.get_ok("/v1/cases?holder=物业")["cases"][0].clone();
    assert_eq!(row0["id"], cases[0].to_string());
    assert_eq!(row0["next_due"], MONDAY_9AM + 45 * MINUTE);

    // Time with each holder: the centre from the report (09:00) to the dispatch (09:06),
    // 城管中队 from the dispatch to its feedback (09:30), 物业 from the dispatch on.
    server.clock.set(MONDAY_9AM + 60 * MINUTE);
    let row0 = desk.get_ok("/v1/cases?holder=物业")["cases"][0].clone();
    let with: Vec<(String, i64)> = row0["time_with"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["holder"].as_str().unwrap().to_owned(),
                t["ms"].as_i64().unwrap(),
            )
        })
        .collect();
    let of = |h: &str| with.iter().find(|(x, _)| x == h).map(|(_, ms)| *ms);
    assert_eq!(of("管理中心"), Some(6 * MINUTE), "{with:?}");
    assert_eq!(of("城管中队"), Some(24 * MINUTE), "{with:?}");
    assert_eq!(of("物业"), Some(54 * MINUTE), "{with:?}");
    assert_eq!(with[0].0, "物业", "longest first");
}

#[test]
fn bad_list_queries_are_refused_with_a_code() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let desk = Desk::new(&server);
    for (query, names) in [
        ("status=lost", "status"),
        ("channel=pigeon", "channel"),
        ("cursor=nonsense", "cursor"),
        ("cursor=12.not-a-case-id", "cursor"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
        ("from=yesterday", "from"),
        ("from=2026-03-05&to=2026-03-01", "swap"),
        ("sort=random", "sort"),
        ("colour=red", "colour"),
    ] {
        let (status, answer) = desk.get(&format!("/v1/cases?{query}"));
        assert_eq!(status, 400, "{query}: {answer}");
        assert_eq!(answer["error"], "bad_query", "{query}: {answer}");
        assert!(
            answer["message"].as_str().unwrap().contains(names),
            "{query}: {answer}"
        );
    }
}

#[test]
fn paging_through_20000_cases_skips_and_repeats_none() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let desk = Desk::new(&server);
    let officer = server.field_device(dir.path(), "officer", everything());
    let me = officer.me(Role::GridOfficer, None);
    const N: i64 = 20_000;
    let cells = ["XT-W01-U1", "XT-W05-U3", "XT-W09-U1", "XT-W14-U2"];
    let t = std::time::Instant::now();
    for i in 0..N {
        // Several cases share a report time, so the order must break ties by id.
        officer.clock.set(MONDAY_9AM + (i / 3) * 1000);
        let at = officer.clock.now_ms();
        officer
            .store
            .record_case(
                &me,
                NewCase::from_handheld("A01-001", "暴露垃圾", fix_in(cells[(i % 4) as usize], at)),
            )
            .unwrap();
    }
    let recorded = t.elapsed();
    officer.sync();
    println!(
        "recorded {N} cases in {recorded:?}, synced in {:?}",
        t.elapsed() - recorded
    );

    for (query, expect) in [
        ("sort=reported", N),
        ("sort=due", N),
        ("workstation=XT-W05", N / 4),
    ] {
        let rows = all_pages(&desk, query, 500);
        assert_eq!(rows.len() as i64, expect, "{query}");
        let key = |r: &Value| {
            let k = if query == "sort=due" {
                &r["next_due"]
            } else {
                &r["reported_at"]
            };
            (k.as_i64().unwrap(), r["id"].as_str().unwrap().to_owned())
        };
        for pair in rows.windows(2) {
            let (a, b) = (key(&pair[0]), key(&pair[1]));
            if query.contains("sort=due") {
                assert!(a < b, "{query}: {a:?} then {b:?}");
            } else {
                assert!(a > b, "{query}: {a:?} then {b:?}");
            }
        }
    }
    // A case that changes while someone pages moves, without disturbing the others.
    let first = desk.get_ok("/v1/cases?sort=due&limit=100");
    let moved: CaseId = first["cases"][0]["id"].as_str().unwrap().parse().unwrap();
    desk.event(moved, json!({"type": "rejected", "reason": "重复上报"}));
    let mut rest = 100;
    let mut cursor = first["next_cursor"].as_str().unwrap().to_owned();
    loop {
        let page = desk.get_ok(&format!("/v1/cases?sort=due&limit=500&cursor={cursor}"));
        rest += page["cases"].as_array().unwrap().len() as i64;
        match page["next_cursor"].as_str() {
            Some(c) => cursor = c.to_owned(),
            None => break,
        }
    }
    // The rejected case has no deadline any more: it moved to the end, and is seen twice.
    assert_eq!(rest, N + 1);
}
