//! The zero-report board over real HTTP: workstations' phones file their day (nothing to
//! report, or matters), the board shows who filed what, who is pending before the cut-off
//! and who is missing after it; a workstation's history and the missing filings as
//! alerts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::Duration;
use serde_json::Value;
use wangge_core::store::cst_day;
use wangge_core::{MatterId, Role, ZeroReportEventKind};
use wangge_e2e::desk::Desk;
use wangge_e2e::*;

fn entry<'a>(board: &'a Value, workstation: &str) -> &'a Value {
    board["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["workstation"] == workstation)
        .unwrap()
}

#[test]
fn the_board_shows_nothing_to_report_matters_pending_and_missing() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let desk = Desk::new(&server);
    let w01 = server.field_device(dir.path(), "w01", scope(&[], &["XT-W01"], &[]));
    let w02 = server.field_device(dir.path(), "w02", scope(&[], &["XT-W02"], &[]));
    let today = cst_day(MONDAY_9AM);
    let staff = |d: &TestDevice| d.me(Role::WorkstationStaff, None);
    w01.store
        .file_zero_report(
            &staff(&w01),
            "XT-W01",
            today,
            ZeroReportEventKind::Filed {
                nothing_to_report: true,
                note: None,
            },
        )
        .unwrap();
    for what in ["楼道堆物已清理", "独居老人走访"] {
        w02.store
            .file_zero_report(
                &staff(&w02),
                "XT-W02",
                today,
                ZeroReportEventKind::MatterRecorded {
                    matter: MatterId::generate(),
                    checklist_item: None,
                    description: what.into(),
                    photos: vec![],
                },
            )
            .unwrap();
    }
    w01.sync();
    w02.sync();

    // 09:00: nobody else has filed, but the day is not over: pending, not missing.
    let board = desk.get_ok("/v1/zero-reports/board");
    assert_eq!(board["day"], today.to_string());
    assert_eq!(board["nothing_to_report"], 1);
    assert_eq!(board["with_matters"], 1);
    assert_eq!(board["matters"], 2);
    assert_eq!(board["missing"], 0);
    assert_eq!(board["pending"], 16, "18 workstations, 2 filed");
    assert_eq!(entry(&board, "XT-W01")["filing"], "nothing_to_report");
    let w02_entry = entry(&board, "XT-W02");
    assert_eq!(w02_entry["filing"], "matters");
    let listed: Vec<&str> = w02_entry["matters"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["description"].as_str().unwrap())
        .collect();
    assert_eq!(listed, ["楼道堆物已清理", "独居老人走访"]);
    assert_eq!(entry(&board, "XT-W03")["filing"], "pending");

    // 17:00 China time (the default cut-off): the 16 others are missing, listed first.
    server.clock.set(MONDAY_9AM + 8 * 3_600_000);
    let board = desk.get_ok("/v1/zero-reports/board");
    assert_eq!(board["missing"], 16);
    assert_eq!(board["pending"], 0);
    assert_eq!(board["entries"][0]["filing"], "missing");
    assert_eq!(entry(&board, "XT-W03")["filing"], "missing");

    // The alerts of the last three days: every workstation on the two days before (nobody
    // filed then), and the 16 of today.
    let from = today - Duration::days(2);
    let alerts = desk.get_ok(&format!("/v1/zero-reports/missing?from={from}"));
    let alerts = alerts.as_array().unwrap();
    assert_eq!(alerts.len(), 18 + 18 + 16);
    assert_eq!(alerts[0]["day"], today.to_string(), "newest first");
    assert!(
        !alerts
            .iter()
            .any(|a| a["day"] == today.to_string() && a["workstation"] == "XT-W01")
    );

    // W01's history: missing twice, then filed; a day in the future is not listed.
    let to = today + Duration::days(3);
    let history = desk.get_ok(&format!(
        "/v1/zero-reports/history?workstation=XT-W01&from={from}&to={to}"
    ));
    let filings: Vec<&str> = history
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["filing"].as_str().unwrap())
        .collect();
    assert_eq!(filings, ["missing", "missing", "nothing_to_report"]);

    // An earlier day's board is the day's as it ended.
    let yesterday = today - Duration::days(1);
    let board = desk.get_ok(&format!("/v1/zero-reports/board?day={yesterday}"));
    assert_eq!(board["missing"], 18);

    // Refusals carry codes.
    for (path, status, code) in [
        ("/v1/zero-reports/board?day=tomorrow", 400, "bad_query"),
        ("/v1/zero-reports/history", 400, "bad_query"),
        (
            "/v1/zero-reports/history?workstation=XT-W99",
            404,
            "not_found",
        ),
        (
            "/v1/zero-reports/history?workstation=XT-B1",
            404,
            "not_found",
        ),
        (
            "/v1/zero-reports/missing?from=2026-03-05&to=2026-03-01",
            400,
            "bad_query",
        ),
        ("/v1/zero-reports/missing?from=2020-01-01", 400, "bad_query"),
    ] {
        let (s, answer) = desk.get(path);
        assert_eq!(
            (s, answer["error"].as_str().unwrap()),
            (status, code),
            "{path}: {answer}"
        );
    }
}
