//! Exports over real HTTP, each parsed back by a real parser: CSV (the `csv` crate; UTF-8
//! with a BOM, Chinese, commas and quotes intact), GeoJSON (the `geojson` crate; cases as
//! points, grids as polygons), and the NDJSON change feed with its cursor.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use geojson::{FeatureCollection, GeoJson};
use serde_json::{Value, json};
use wangge_core::{CaseId, Clock, MatterId, NewCase, Role, SourceChannel, ZeroReportEventKind};
use wangge_e2e::desk::Desk;
use wangge_e2e::*;

const CASES: i64 = 1_200;

fn download(desk: &Desk, path: &str) -> (reqwest::header::HeaderMap, Vec<u8>) {
    let resp = desk
        .http
        .get(format!("{}{path}", desk.base))
        .header("Authorization", &desk.auth)
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200, "{path}");
    let headers = resp.headers().clone();
    (headers, resp.bytes().unwrap().to_vec())
}

fn geojson(bytes: &[u8]) -> FeatureCollection {
    match std::str::from_utf8(bytes)
        .unwrap()
        .parse::<GeoJson>()
        .unwrap()
    {
        GeoJson::FeatureCollection(fc) => fc,
        other => panic!("not a FeatureCollection: {other:?}"),
    }
}

/// A street with 1,200 officer cases over 4 workstations (more than two export pages),
/// one hotline case placed by its grid (no fix), and one zero report.
fn street(dir: &std::path::Path) -> (TestServer, Desk, CaseId, TestDevice) {
    let server = TestServer::start(dir);
    let desk = Desk::new(&server);
    let officer = server.field_device(dir, "officer", everything());
    let me = officer.me(Role::GridOfficer, None);
    let cells = ["XT-W01-U1", "XT-W02-U2", "XT-W03-U1", "XT-W04-U2"];
    for i in 0..CASES {
        officer.clock.set(MONDAY_9AM + i * 1000);
        let at = officer.clock.now_ms();
        let text = if i == 7 {
            "占道经营, 摊主称\"马上走\"\n第二行".to_owned()
        } else {
            format!("暴露垃圾 {i}")
        };
        officer
            .store
            .record_case(
                &me,
                NewCase::from_handheld("A01-001", &text, fix_in(cells[(i % 4) as usize], at)),
            )
            .unwrap();
    }
    let mut hotline = NewCase::from_handheld("A02-001", "=1+1 市民来电", fix_in("XT-W03-U1", 0));
    hotline.gps = None;
    hotline.grid = Some("XT-W03-U1".into());
    hotline.channel = SourceChannel::Hotline12345;
    hotline.address = Some("斜土路1号".into());
    hotline.external_ref = Some("12345-20260302-0001".into());
    let hotline = officer.store.record_case(&me, hotline).unwrap();
    officer
        .store
        .file_zero_report(
            &officer.me(Role::WorkstationStaff, None),
            "XT-W01",
            wangge_core::store::cst_day(MONDAY_9AM),
            ZeroReportEventKind::MatterRecorded {
                matter: MatterId::generate(),
                checklist_item: None,
                description: "楼道堆物".into(),
                photos: vec![],
            },
        )
        .unwrap();
    officer.sync();
    (server, desk, hotline, officer)
}

#[test]
fn exports_parse_back_with_real_parsers() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, desk, hotline, _officer) = street(dir.path());

    // CSV: every case, BOM first, one record per case whatever its text holds.
    let (headers, bytes) = download(&desk, "/v1/exports/cases.csv");
    assert_eq!(headers["content-type"], "text/csv; charset=utf-8");
    assert!(
        headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains("cases.csv")
    );
    assert_eq!(&bytes[..3], b"\xEF\xBB\xBF", "Excel needs the UTF-8 BOM");
    let mut reader = csv::Reader::from_reader(&bytes[3..]);
    let head: Vec<String> = reader
        .headers()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect();
    let col = |name: &str| head.iter().position(|h| h == name).unwrap();
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    assert_eq!(records.len() as i64, CASES + 1);
    let ids: std::collections::HashSet<&str> = records.iter().map(|r| &r[col("id")]).collect();
    assert_eq!(ids.len() as i64, CASES + 1, "no case twice");
    assert!(
        records
            .iter()
            .any(|r| &r[col("description")] == "占道经营, 摊主称\"马上走\"\n第二行")
    );
    let h = records
        .iter()
        .find(|r| r[col("id")] == hotline.to_string())
        .unwrap();
    assert_eq!(&h[col("channel")], "hotline_12345");
    assert_eq!(&h[col("channel_name")], "12345市民服务热线");
    assert_eq!(
        &h[col("description")],
        "'=1+1 市民来电",
        "a formula is not run by a spreadsheet"
    );
    assert_eq!(&h[col("located_by")], "grid");
    assert!(h[col("reported_at")].ends_with("+08:00"));
    // A filtered export has exactly the list's cases.
    let (_, bytes) = download(&desk, "/v1/exports/cases.csv?workstation=XT-W02");
    let n = csv::Reader::from_reader(&bytes[3..]).records().count() as i64;
    assert_eq!(n, CASES / 4);

    // GeoJSON: a point per case, WGS-84 inside the street.
    let (headers, bytes) = download(&desk, "/v1/exports/cases.geojson?workstation=XT-W03");
    assert_eq!(headers["content-type"], "application/geo+json");
    let fc = geojson(&bytes);
    assert_eq!(fc.features.len() as i64, CASES / 4 + 1);
    for f in &fc.features {
        let Some(geojson::Geometry {
            value: geojson::GeometryValue::Point { coordinates: p },
            ..
        }) = &f.geometry
        else {
            panic!("not a point: {f:?}");
        };
        let (lon, lat) = (p[0], p[1]);
        assert!(
            (121.4..121.5).contains(&lon) && (31.1..31.25).contains(&lat),
            "{lon},{lat}"
        );
        assert_eq!(f.property("workstation").unwrap(), "XT-W03");
    }
    let placed = fc
        .features
        .iter()
        .find(|f| f.property("id").unwrap() == &json!(hotline.to_string()))
        .unwrap();
    assert_eq!(placed.property("located_by").unwrap(), "grid");

    // Grids as polygons: 4 blocks, 18 workstations, and their unit grids.
    let (_, bytes) = download(&desk, "/v1/exports/grids.geojson");
    let grids = geojson(&bytes);
    let level = |l: &str| {
        grids
            .features
            .iter()
            .filter(|f| f.property("level").unwrap() == l)
            .count()
    };
    assert_eq!((level("block"), level("workstation")), (4, 18));
    assert!(level("unit") >= 18);
    for f in &grids.features {
        assert!(matches!(
            f.geometry.as_ref().unwrap().value,
            geojson::GeometryValue::MultiPolygon { .. }
        ));
    }
    let (_, bytes) = download(&desk, "/v1/exports/grids.geojson?level=block");
    assert_eq!(geojson(&bytes).features.len(), 4);

    // Bad queries are refused before anything is sent.
    for path in [
        "/v1/exports/cases.csv?limit=5",
        "/v1/exports/cases.csv?channel=pigeon",
        "/v1/exports/grids.geojson?level=street",
        "/v1/exports/changes.ndjson?limit=0",
    ] {
        let (status, answer) = desk.get(path);
        assert_eq!(
            (status, answer["error"].as_str().unwrap()),
            (400, "bad_query"),
            "{path}"
        );
    }
}

#[test]
fn the_change_feed_continues_from_its_cursor() {
    let dir = tempfile::tempdir().unwrap();
    let (_server, desk, hotline, _officer) = street(dir.path());
    let lines = |path: &str| -> Vec<Value> {
        let (headers, bytes) = download(&desk, path);
        assert_eq!(headers["content-type"], "application/x-ndjson");
        std::str::from_utf8(&bytes)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    let all = lines("/v1/exports/changes.ndjson");
    assert_eq!(
        all.len() as i64,
        CASES + 2,
        "every case and the zero report"
    );
    assert!(
        all.windows(2)
            .all(|w| w[0]["seq"].as_u64() < w[1]["seq"].as_u64())
    );
    let report = all.iter().find(|c| c["kind"] == "zero_report").unwrap();
    assert_eq!(report["zero_report"]["matter_count"], 1);
    let last = all.last().unwrap()["seq"].as_u64().unwrap();
    assert!(lines(&format!("/v1/exports/changes.ndjson?after={last}")).is_empty());

    // The centre registers the hotline case: it alone is in the feed after the cursor.
    desk.register(hotline);
    let after = lines(&format!("/v1/exports/changes.ndjson?after={last}"));
    assert_eq!(after.len(), 1);
    assert_eq!(after[0]["id"], hotline.to_string());
    assert_eq!(after[0]["case"]["status"], "registered");
    assert!(after[0]["case"]["case_number"].is_string());

    // A limit cuts the feed; the next request continues where it stopped.
    let first = lines("/v1/exports/changes.ndjson?limit=700");
    assert_eq!(first.len(), 700);
    let cursor = first.last().unwrap()["seq"].as_u64().unwrap();
    let rest = lines(&format!("/v1/exports/changes.ndjson?after={cursor}"));
    assert_eq!(first.len() + rest.len(), all.len());
}
