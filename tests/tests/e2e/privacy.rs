//! Logs carry no personal data: a working day — phones reporting with descriptions and
//! addresses, the centre taking in a hotline case with the caller's name and phone number,
//! registering, dispatching, a unit's feedback, refused tokens and a refused push — runs
//! with every log line of the process captured (server and device alike, down to TRACE),
//! and none of the descriptions, addresses, names, phone numbers or tokens used appear in
//! them.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::json;
use wangge_core::{CaseEventKind, NewCase, Role};
use wangge_e2e::desk::Desk;
use wangge_e2e::logs::logged_text;
use wangge_e2e::*;

const DESCRIPTION: &str = "私密描述-7Q2X 小区门口堆放装修垃圾";
const ADDRESS: &str = "私密地址-K9 斜土路1221弄";
const CALLER: &str = "私密姓名-张某某";
const PHONE: &str = "13987654321";
const NOTE: &str = "私密反馈-W4 已联系业主清运";

#[test]
fn a_working_day_leaves_no_personal_data_in_the_logs() {
    // Installs the capture before anything logs.
    let _ = logged_text();
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let desk = Desk::new(&server);
    let officer = server.field_device(dir.path(), "officer", scope(&["XT-B1"], &[], &[]));
    let unit = server.field_device(dir.path(), "unit", scope(&[], &[], &["城管中队"]));

    let mut new = NewCase::from_handheld("A01-001", DESCRIPTION, fix_in("XT-W01-U1", MONDAY_9AM));
    new.address = Some(ADDRESS.into());
    let reported = officer
        .store
        .record_case(&officer.me(Role::GridOfficer, None), new)
        .unwrap();
    officer.sync();

    let fix = fix_in("XT-W02-U2", MONDAY_9AM);
    let taken = desk.intake(json!({
        "channel": "hotline_12345",
        "reference": "12345-PRIV-0001",
        "checklist_item": "A02-001",
        "description": DESCRIPTION,
        "address": ADDRESS,
        "position": {"lat": fix.lat, "lon": fix.lon, "accuracy_m": 2.0},
        "contact": {"name": CALLER, "phone": PHONE},
    }));
    assert!(taken["case"]["header"]["id"].is_string());

    desk.register(reported);
    desk.event(
        reported,
        json!({"type": "dispatched", "units": ["城管中队"], "note": NOTE}),
    );
    unit.sync();
    unit.store
        .add_case_event(
            reported,
            &unit.me(Role::HandlingUnit, Some("城管中队")),
            CaseEventKind::Feedback {
                note: NOTE.into(),
                photos: vec![],
            },
        )
        .unwrap();
    unit.sync();

    // Refusals: an unknown token, a token of another device in a header it does not belong
    // to, and a push by a device whose person is someone else (refused, not stored).
    let http = reqwest::blocking::Client::new();
    let wrong = format!("{}-not-ours", officer.token);
    let resp = http
        .get(format!("{}/v1/cases", server.base))
        .bearer_auth(&wrong)
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let resp = http
        .get(format!("{}/v1/cases?q={DESCRIPTION}", server.base))
        .bearer_auth(&officer.token)
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    let impostor = officer.me(Role::GridOfficer, None);
    let stranger = wangge_core::Actor {
        id: "someone-else".into(),
        ..impostor
    };
    let mut other = NewCase::from_handheld("A01-001", DESCRIPTION, fix_in("XT-W01-U1", MONDAY_9AM));
    other.address = Some(ADDRESS.into());
    officer.store.record_case(&stranger, other).unwrap();
    let round = officer.sync_round();
    assert_eq!(round.refused.len(), 1);

    let logs = logged_text();
    assert!(!logs.is_empty(), "the capture works");
    for (what, secret) in [
        ("a description", DESCRIPTION),
        ("an address", ADDRESS),
        ("a caller's name", CALLER),
        ("a phone number", PHONE),
        ("a feedback note", NOTE),
        ("a device token", officer.token.as_str()),
        ("another device token", unit.token.as_str()),
        ("a wrong token", wrong.as_str()),
    ] {
        assert!(!logs.contains(secret), "{what} is in the logs");
    }
    // The markers' distinctive parts too (a log that quoted a fragment).
    for fragment in ["7Q2X", "K9 斜土路", "张某某", "W4 已联系"] {
        assert!(!logs.contains(fragment), "'{fragment}' is in the logs");
    }
}
