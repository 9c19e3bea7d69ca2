//! Prometheus metrics over real HTTP: a device's sync and photo traffic and the back
//! office's requests show in `/metrics`, by route template (never a case id).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use wangge_core::{NewCase, Role};
use wangge_e2e::desk::Desk;
use wangge_e2e::*;

/// The value of the series whose line starts with `series ` (its name and labels).
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("no series {series} in:\n{text}"))
        .parse()
        .unwrap()
}

#[test]
fn syncs_and_back_office_requests_show_in_the_metrics() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let desk = Desk::new(&server);
    let officer = server.field_device(dir.path(), "officer", scope(&["XT-B1"], &[], &[]));
    let me = officer.me(Role::GridOfficer, None);
    let mut ids = Vec::new();
    for i in 0..3 {
        ids.push(
            officer
                .store
                .record_case(
                    &me,
                    NewCase::from_handheld(
                        "A01-001",
                        &format!("暴露垃圾 {i}"),
                        fix_in("XT-W01-U1", MONDAY_9AM),
                    ),
                )
                .unwrap(),
        );
    }
    officer.sync();
    desk.get_ok(&format!("/v1/cases/{}", ids[0]));
    desk.get_ok(&format!("/v1/cases/{}", ids[1]));
    let (status, _) = desk.get("/v1/no-such-thing");
    assert_eq!(status, 404);

    let resp = reqwest::blocking::get(format!("{}/metrics", server.base)).unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    assert!(
        resp.headers()["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let text = resp.text().unwrap();
    assert_eq!(value(&text, "wangge_documents_pushed_total"), 3.0);
    assert_eq!(value(&text, "wangge_documents_refused_total"), 0.0);
    assert!(value(&text, "wangge_feed_position") >= 3.0);
    let syncs = value(
        &text,
        "wangge_http_requests_total{route=\"/v1/sync\",method=\"POST\",status=\"200\"}",
    );
    assert!(syncs >= 1.0);
    assert_eq!(
        value(
            &text,
            "wangge_http_request_duration_seconds_count{route=\"/v1/sync\",method=\"POST\"}"
        ),
        syncs
    );
    assert_eq!(
        value(
            &text,
            "wangge_http_requests_total{route=\"/v1/cases/{id}\",method=\"GET\",status=\"200\"}"
        ),
        2.0
    );
    assert_eq!(
        value(
            &text,
            "wangge_http_requests_total{route=\"unmatched\",method=\"GET\",status=\"404\"}"
        ),
        1.0
    );
    for id in &ids {
        assert!(!text.contains(&id.to_string()), "a case id in the metrics");
    }
}
