//! Intake over real HTTP: the centre's desk takes cases in from every channel it serves
//! (`POST /v1/cases`), with the channel's own reference taken in once, the grid from the
//! core's lookup (ambiguity shown, the operator's choice honoured), duplicate hints (same
//! item within 50 m and 72 h, open cases only) and merging a hinted duplicate; the reporter's
//! contact stays on the server, readable by centre devices only, out of every log and out of
//! the synced document. Then Open311 GeoReport v2 round trips with an API key.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use wangge_core::{CaseId, CaseRecord, SourceChannel};
use wangge_e2e::desk::Desk;
use wangge_e2e::logs::captured_logs;
use wangge_e2e::*;
use wangge_server::routes::open311::create_api_key;
use wangge_server::storage::{DeviceRole, Storage};

fn case_id(answer: &Value) -> String {
    answer["case"]["header"]["id"].as_str().unwrap().to_owned()
}

fn hinted(answer: &Value) -> Vec<String> {
    answer["duplicates"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["case_id"].as_str().unwrap().to_owned())
        .collect()
}

/// A position `north_m` metres north (negative: south) of `(lat, lon)`.
fn moved(p: (f64, f64), north_m: f64) -> (f64, f64) {
    (p.0 + north_m / 111_195.0, p.1)
}

/// A vendor case at `p` from the 12345 hotline.
fn vendor_at(p: (f64, f64), item: &str) -> Value {
    json!({
        "channel": "hotline_12345",
        "checklist_item": item,
        "description": "路口有流动摊贩",
        "position": {"lat": p.0, "lon": p.1, "accuracy_m": 3.0},
    })
}

/// The interior point of a unit grid, as WGS-84.
fn spot(cell: &str) -> (f64, f64) {
    let fix = fix_in(cell, MONDAY_9AM);
    (fix.lat, fix.lon)
}

const DESK_CHANNELS: [SourceChannel; 6] = [
    SourceChannel::Hotline12345,
    SourceChannel::Hotline12319,
    SourceChannel::Judicial110,
    SourceChannel::StreetHotline,
    SourceChannel::ResidentialWorkstation,
    SourceChannel::Wechat,
];

#[test]
fn the_desk_takes_in_every_channel_it_serves_and_refuses_the_handhelds() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let desk = Desk::new(&server);
    for (n, channel) in DESK_CHANNELS.into_iter().enumerate() {
        let answer = desk.intake(json!({
            "channel": channel.as_str(),
            "reference": format!("WO-{n}"),
            "checklist_item": "A01-001",
            "description": "小区门口垃圾堆放",
            "address": format!("斜土路{}号", 100 + n),
            "grid": "XT-W01-U1",
        }));
        let record: CaseRecord = serde_json::from_value(answer["case"].clone()).unwrap();
        assert_eq!(record.header.channel, channel);
        assert_eq!(
            record.header.external_ref.as_deref(),
            Some(&*format!("WO-{n}"))
        );
        assert_eq!(
            record.header.address.as_deref(),
            Some(&*format!("斜土路{}号", 100 + n))
        );
        assert_eq!(record.header.grid.as_ref().unwrap().cell, "XT-W01-U1");
        assert_eq!(record.header.reporter.id, "centre");
        assert_eq!(record.state.status.as_str(), "reported");
        // The same case the back office lists, with its channel.
        let (status, listed) = desk.get(&format!("/v1/cases/{}", record.header.id));
        assert_eq!(status, 200, "{listed}");
    }
    let list = server
        .storage
        .cases(&Default::default(), MONDAY_9AM)
        .unwrap();
    assert_eq!(list.len(), 6);

    // Handheld channels are the phones' own: refused at the desk.
    for channel in [
        SourceChannel::GridOfficerHandheld,
        SourceChannel::StreetOfficialHandheld,
    ] {
        let (status, answer) = desk.post(
            "/v1/cases",
            json!({"channel": channel.as_str(), "checklist_item": "A01-001",
                   "description": "x", "address": "斜土路1号"}),
        );
        assert_eq!(
            (status, answer["error"].as_str()),
            (422, Some("handheld_channel"))
        );
    }
    let (status, answer) = desk.post(
        "/v1/cases",
        json!({"channel": "fax", "checklist_item": "A01-001", "description": "x", "address": "y"}),
    );
    assert_eq!(
        (status, answer["error"].as_str()),
        (422, Some("unknown_channel"))
    );
}

#[test]
fn a_repeated_reference_is_answered_409_with_the_existing_case() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let desk = Desk::new(&server);
    let body = json!({
        "channel": "hotline_12345",
        "reference": "12345-20260302-0007",
        "checklist_item": "A01-001",
        "description": "垃圾桶满溢",
        "address": "斜土路200号",
    });
    let first = case_id(&desk.intake(body.clone()));
    let (status, answer) = desk.post("/v1/cases", body.clone());
    assert_eq!(status, 409, "{answer}");
    assert_eq!(answer["error"], "duplicate_reference");
    assert_eq!(answer["case_id"].as_str(), Some(first.as_str()));
    assert!(answer["message"].as_str().unwrap().contains(&first));
    // The reference is the channel's own: the same number on another channel is another case.
    let mut other = body;
    other["channel"] = json!("hotline_12319");
    let second = case_id(&desk.intake(other));
    assert_ne!(first, second);
    assert_eq!(
        server
            .storage
            .cases(&Default::default(), MONDAY_9AM)
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn an_ambiguous_position_shows_its_candidates_and_a_chosen_grid_is_honoured() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let desk = Desk::new(&server);
    let p = spot("XT-W01-U1");
    // A position known to 2 km reaches several cells.
    let vague = json!({"lat": p.0, "lon": p.1, "accuracy_m": 2000.0});
    let answer = desk.intake(json!({
        "channel": "street_hotline", "checklist_item": "A01-001",
        "description": "有人乱倒垃圾", "position": vague,
    }));
    let header = &answer["case"]["header"];
    assert!(header.get("grid").is_none_or(Value::is_null), "{header}");
    let candidates: Vec<String> =
        serde_json::from_value(header["grid_candidates"].clone()).unwrap();
    assert!(candidates.len() > 1, "{candidates:?}");
    assert!(
        candidates.contains(&"XT-W01-U1".to_owned()),
        "{candidates:?}"
    );

    // The operator asks the caller and chooses: the choice is the case's grid.
    let chosen = candidates[1].clone();
    let answer = desk.intake(json!({
        "channel": "street_hotline", "checklist_item": "A01-001",
        "description": "有人乱倒垃圾", "position": vague, "grid": chosen,
    }));
    let record: CaseRecord = serde_json::from_value(answer["case"].clone()).unwrap();
    assert_eq!(record.header.grid.as_ref().unwrap().cell, chosen);
    assert_eq!(record.state.grid.as_deref(), Some(chosen.as_str()));
    assert!(record.header.grid_candidates.is_empty());

    // A precise position inside one cell needs no choice.
    let answer = desk.intake(vendor_at(p, "A02-001"));
    assert_eq!(answer["case"]["header"]["grid"]["cell"], "XT-W01-U1");
}

#[test]
fn unknown_items_grids_and_missing_places_are_refused_with_a_code() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let desk = Desk::new(&server);
    let cases = [
        (
            json!({"channel": "wechat", "checklist_item": "Z99-999", "description": "x", "address": "y"}),
            "unknown_checklist_item",
        ),
        (
            json!({"channel": "wechat", "checklist_item": "A01-001", "description": "x", "address": "y", "grid": "XT-NOWHERE"}),
            "unknown_grid",
        ),
        (
            json!({"channel": "wechat", "checklist_item": "A01-001", "description": "x"}),
            "invalid_input",
        ),
        (
            json!({"channel": "wechat", "checklist_item": "A01-001", "description": " ", "address": "y"}),
            "invalid_input",
        ),
    ];
    for (body, code) in cases {
        let (status, answer) = desk.post("/v1/cases", body);
        assert_eq!(
            (status, answer["error"].as_str()),
            (422, Some(code)),
            "{answer}"
        );
        assert!(answer["message"].is_string());
    }
    let (status, answer) = desk.post("/v1/cases", json!({"channel": "wechat"}));
    assert_eq!(
        (status, answer["error"].as_str()),
        (422, Some("invalid_json"))
    );
    // A field device is no desk.
    let (_, token) = server.enroll("officer", DeviceRole::Field, scope(&["XT-B1"], &[], &[]));
    let (status, answer) = Desk::with_token(&server, &token)
        .post("/v1/cases", vendor_at(spot("XT-W01-U1"), "A02-001"));
    assert_eq!(
        (status, answer["error"].as_str()),
        (403, Some("centre_only"))
    );
    assert!(
        server
            .storage
            .cases(&Default::default(), MONDAY_9AM)
            .unwrap()
            .is_empty()
    );
}

#[test]
fn duplicate_hints_are_open_cases_of_the_same_item_within_50_m_and_72_h() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let desk = Desk::new(&server);
    let p = spot("XT-W01-U1");
    let first = desk.intake(vendor_at(p, "A02-001"));
    let a = case_id(&first);
    assert!(hinted(&first).is_empty());

    // 40 m away: hinted, with its distance.
    let near = desk.intake(vendor_at(moved(p, 40.0), "A02-001"));
    assert_eq!(hinted(&near), vec![a.clone()]);
    let hint = &near["duplicates"][0];
    assert_eq!(hint["distance_m"].as_f64(), Some(40.0));
    assert_eq!(hint["checklist_item"], "A02-001");
    assert_eq!(hint["status"], "reported");
    let b = case_id(&near);

    // 60 m the other way: not hinted (and 100 m from the second).
    let far = desk.intake(vendor_at(moved(p, -60.0), "A02-001"));
    assert!(hinted(&far).is_empty(), "{far}");
    // The same spot, another item: not hinted.
    let other_item = desk.intake(vendor_at(p, "A01-001"));
    assert!(hinted(&other_item).is_empty(), "{other_item}");
    // A case without a position has nothing to compare.
    let by_address = desk.intake(json!({"channel": "wechat", "checklist_item": "A02-001",
        "description": "摊贩", "address": "斜土路1号"}));
    assert!(hinted(&by_address).is_empty());
    // The hints of a stored case, both ways.
    let (status, of_a) = desk.get(&format!("/v1/cases/{a}/duplicates"));
    assert_eq!(status, 200);
    let ids: Vec<&str> = of_a
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["case_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, vec![b.as_str()]);

    // A closed case is not hinted.
    let q = moved(p, 500.0);
    let closed = case_id(&desk.intake(vendor_at(q, "A02-001")));
    for body in [
        json!({"type": "dispatched", "units": ["城管中队"]}),
        json!({"type": "feedback", "note": "已劝离"}),
        json!({"type": "closed"}),
    ] {
        if body["type"] == "dispatched" {
            let (status, answer) = desk.post(&format!("/v1/cases/{closed}/register"), json!({}));
            assert_eq!(status, 200, "{answer}");
        }
        let (status, answer) = desk.post(&format!("/v1/cases/{closed}/events"), body);
        assert_eq!(status, 200, "{answer}");
    }
    let (_, record) = desk.get(&format!("/v1/cases/{closed}"));
    assert_eq!(record["state"]["status"], "closed");
    let after_closed = desk.intake(vendor_at(q, "A02-001"));
    assert!(hinted(&after_closed).is_empty(), "{after_closed}");

    // Time: 71 h later hinted, 73 h later not.
    let r = moved(p, -1000.0);
    let old = case_id(&desk.intake(vendor_at(r, "A02-001")));
    server.clock.advance(71 * 3_600_000);
    let at_71h = desk.intake(vendor_at(r, "A02-001"));
    assert_eq!(hinted(&at_71h), vec![old.clone()]);
    server.clock.advance(2 * 3_600_000 + 1);
    let at_73h = desk.intake(vendor_at(r, "A02-001"));
    assert_eq!(hinted(&at_73h), vec![case_id(&at_71h)], "{at_73h}");
}

#[test]
fn a_hinted_duplicate_is_merged_and_neither_case_disappears() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let desk = Desk::new(&server);
    let p = spot("XT-W01-U1");
    let a = case_id(&desk.intake(vendor_at(p, "A02-001")));
    let second = desk.intake(vendor_at(moved(p, 10.0), "A02-001"));
    assert_eq!(hinted(&second), vec![a.clone()]);
    let b = case_id(&second);
    let (status, merged) = desk.post(
        &format!("/v1/cases/{b}/merge"),
        json!({"into": a, "note": "同一摊贩，12345重复来电"}),
    );
    assert_eq!(status, 200, "{merged}");
    assert_eq!(merged["state"]["status"], "merged");
    assert_eq!(merged["state"]["merged_into"].as_str(), Some(a.as_str()));
    let (_, target) = desk.get(&format!("/v1/cases/{a}"));
    let kinds: Vec<&str> = target["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, vec!["reported", "merged_from"]);
    // The merged duplicate is no longer open: a third report hints the case it went into.
    let third = desk.intake(vendor_at(moved(p, 5.0), "A02-001"));
    assert_eq!(hinted(&third), vec![a.clone()]);
    assert_eq!(
        server
            .storage
            .cases(&Default::default(), MONDAY_9AM)
            .unwrap()
            .len(),
        3
    );
}

#[test]
fn the_reporter_contact_stays_on_the_server_for_centre_devices_only() {
    let logs = captured_logs();
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (centre_device, centre_token) = server.enroll("centre", DeviceRole::Centre, everything());
    let desk = Desk::with_token(&server, &centre_token);
    let cell = "XT-W01-U1";
    let block = catalog().grids.path(cell).unwrap().block.clone();
    let officer = server.field_device(dir.path(), "officer", scope(&[&block], &[], &[]));

    const PHONE: &str = "13912345678";
    const NAME: &str = "王秀英";
    const EMAIL: &str = "wang.xiuying@example.cn";
    let p = spot(cell);
    let answer = desk.intake(json!({
        "channel": "hotline_12345",
        "reference": "WO-77",
        "checklist_item": "A02-001",
        "description": "楼下有流动摊贩",
        "position": {"lat": p.0, "lon": p.1},
        "contact": {"name": NAME, "phone": PHONE, "email": EMAIL},
    }));
    let id = case_id(&answer);
    let answer_text = answer.to_string();
    // Refusals do not echo it either.
    let (status, refused) = desk.post(
        "/v1/cases",
        json!({
        "channel": "hotline_12345", "checklist_item": "NOPE", "description": "x",
        "address": "y", "contact": {"phone": PHONE}}),
    );
    assert_eq!(status, 422);
    let (status, too_long) = desk.post(
        "/v1/cases",
        json!({
        "channel": "hotline_12345", "checklist_item": "A02-001", "description": "x",
        "address": "y", "contact": {"phone": PHONE.repeat(10)}}),
    );
    assert_eq!(
        (status, too_long["error"].as_str()),
        (422, Some("invalid_input"))
    );

    // The centre reads it.
    let (status, contact) = desk.get(&format!("/v1/cases/{id}/contact"));
    assert_eq!(status, 200, "{contact}");
    assert_eq!(contact["contact"]["phone"], PHONE);
    assert_eq!(contact["contact"]["name"], NAME);
    assert_eq!(contact["contact"]["email"], EMAIL);
    // A field device does not, even one whose scope holds the case.
    let field = Desk::with_token(&server, &officer.token);
    let (status, answer) = field.get(&format!("/v1/cases/{id}/contact"));
    assert_eq!(
        (status, answer["error"].as_str()),
        (403, Some("centre_only"))
    );
    let resp = field
        .http
        .delete(format!("{}/v1/cases/{id}/contact", field.base))
        .header("Authorization", &field.auth)
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 403);
    // A case with no contact recorded.
    let other = case_id(&desk.intake(vendor_at(moved(p, 200.0), "A01-001")));
    let (status, answer) = desk.get(&format!("/v1/cases/{other}/contact"));
    assert_eq!(
        (status, answer["error"].as_str()),
        (404, Some("no_contact"))
    );

    // The field device in the case's block receives the case, without the contact; so does
    // the centre's own device.
    officer.sync();
    let case_id_typed: CaseId = id.parse().unwrap();
    let on_phone = officer.store.case(case_id_typed).unwrap();
    assert_eq!(on_phone.header.external_ref.as_deref(), Some("WO-77"));
    let centre_store = TestDevice::open(
        dir.path(),
        "centre-desk",
        &centre_device,
        &server.base,
        &centre_token,
    );
    centre_store.sync();
    for record in [&on_phone, &centre_store.store.case(case_id_typed).unwrap()] {
        let text = serde_json::to_string(record).unwrap();
        for secret in [PHONE, NAME, EMAIL] {
            assert!(
                !text.contains(secret),
                "{secret} is in the synced case: {text}"
            );
        }
    }
    for bytes in [
        officer.store.document_bytes(&id).unwrap().unwrap(),
        server.storage.document(&id).unwrap().unwrap(),
    ] {
        let doc =
            wangge_core::doc::EventDoc::load(&id, &bytes, &automerge::ActorId::random()).unwrap();
        let mut keys = doc.root_keys();
        keys.retain(|k| !k.starts_with("ev:") && !k.starts_with("seal:"));
        keys.sort();
        assert_eq!(keys, vec!["header", "kind", "schema"]);
        for key in doc.root_keys() {
            let values = format!("{:?}", doc.root_values(&key));
            for secret in [PHONE, NAME, EMAIL] {
                assert!(
                    !values.contains(secret),
                    "{secret} is in the document's {key}"
                );
            }
        }
    }

    // Nowhere in the logs, the audit trail, the answers.
    let audit = serde_json::to_string(&server.storage.audit_log(0, 1000).unwrap()).unwrap();
    assert!(audit.contains("POST /v1/cases"), "{audit}");
    let log_text = String::from_utf8_lossy(&logs.lock().unwrap()).into_owned();
    assert!(!log_text.is_empty(), "the server's logs were not captured");
    for secret in [PHONE, NAME, EMAIL] {
        assert!(!audit.contains(secret), "{secret} is in the audit log");
        assert!(
            !log_text.contains(secret),
            "{secret} is in the server's logs"
        );
        assert!(
            !answer_text.contains(secret),
            "{secret} is in the intake answer"
        );
        assert!(!refused.to_string().contains(secret));
        assert!(!too_long.to_string().contains(secret));
    }

    // The centre erases it; then it is gone.
    let erase = || {
        desk.http
            .delete(format!("{}/v1/cases/{id}/contact", desk.base))
            .header("Authorization", &desk.auth)
            .send()
            .unwrap()
    };
    assert_eq!(erase().status().as_u16(), 204);
    let (status, answer) = desk.get(&format!("/v1/cases/{id}/contact"));
    assert_eq!(
        (status, answer["error"].as_str()),
        (404, Some("no_contact"))
    );
    let again = erase();
    assert_eq!(again.status().as_u16(), 404);
    assert!(server.storage.reporter_contact(&id).unwrap().is_none());
}

/// An Open311 client: the path, with `api_key` where given.
struct Open311 {
    http: reqwest::blocking::Client,
    base: String,
}

impl Open311 {
    fn new(server: &TestServer) -> Open311 {
        Open311 {
            http: reqwest::blocking::Client::new(),
            base: format!("{}/open311/v2", server.base),
        }
    }

    fn get(&self, path: &str, query: &[(&str, &str)]) -> (u16, Value) {
        let resp = self
            .http
            .get(format!("{}{path}", self.base))
            .query(query)
            .send()
            .unwrap();
        (resp.status().as_u16(), resp.json().unwrap())
    }

    fn post_form(&self, form: &[(&str, &str)]) -> (u16, Value) {
        let resp = self
            .http
            .post(format!("{}/requests.json", self.base))
            .form(form)
            .send()
            .unwrap();
        (resp.status().as_u16(), resp.json().unwrap())
    }
}

/// The spec's error: `[{"code": status, "description": …}]`.
fn assert_open311_error(status: u16, answer: &Value, expected: u16) {
    assert_eq!(status, expected, "{answer}");
    let errors = answer
        .as_array()
        .unwrap_or_else(|| panic!("not a list: {answer}"));
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["code"].as_u64(), Some(u64::from(expected)));
    assert!(
        errors[0]["description"]
            .as_str()
            .is_some_and(|d| !d.is_empty())
    );
}

#[test]
fn open311_round_trip_with_an_api_key() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let desk = Desk::new(&server);
    let (key, api_key) = create_api_key(
        server.storage.as_ref(),
        SourceChannel::Wechat,
        "centre",
        "微信公众号",
        MONDAY_9AM,
    )
    .unwrap();
    assert!(api_key.starts_with("wgk_"));
    // Only a centre operator's name signs cases; handheld channels are no key's.
    assert!(
        create_api_key(
            server.storage.as_ref(),
            SourceChannel::Wechat,
            "nobody",
            "x",
            0
        )
        .is_err()
    );
    assert!(
        create_api_key(
            server.storage.as_ref(),
            SourceChannel::GridOfficerHandheld,
            "centre",
            "x",
            0
        )
        .is_err()
    );
    let o = Open311::new(&server);

    // Services: the checklist items.
    let (status, services) = o.get("/services.json", &[("api_key", &api_key)]);
    assert_eq!(status, 200, "{services}");
    let services = services.as_array().unwrap();
    assert_eq!(services.len(), catalog().checklist.items().len());
    let vendors = services
        .iter()
        .find(|s| s["service_code"] == "A02-001")
        .unwrap();
    assert_eq!(vendors["service_name"], "流动摊贩");
    assert_eq!(vendors["group"], "街面秩序");
    assert_eq!(vendors["type"], "realtime");
    assert_eq!(vendors["metadata"], false);
    let (status, definition) = o.get("/services/A02-001.json", &[("api_key", &api_key)]);
    assert_eq!(status, 200, "{definition}");
    assert_eq!(
        definition,
        json!({"service_code": "A02-001", "attributes": []})
    );
    let (status, answer) = o.get("/services/Z99-999.json", &[("api_key", &api_key)]);
    assert_open311_error(status, &answer, 404);
    let (status, answer) = o.get("/services.xml", &[("api_key", &api_key)]);
    assert_eq!(status, 404, "{answer}");

    // A bad or missing key: 403 in the spec's format, on every endpoint.
    for query in [vec![], vec![("api_key", "wgk_0000")]] {
        let (status, answer) = o.get("/services.json", &query);
        assert_open311_error(status, &answer, 403);
        let (status, answer) = o.get("/requests.json", &query);
        assert_open311_error(status, &answer, 403);
    }
    let (status, answer) = o.post_form(&[
        ("service_code", "A02-001"),
        ("lat", "31.19"),
        ("long", "121.45"),
    ]);
    assert_open311_error(status, &answer, 403);
    let (status, answer) = o.post_form(&[
        ("api_key", "wrong"),
        ("service_code", "A02-001"),
        ("lat", "31.19"),
        ("long", "121.45"),
    ]);
    assert_open311_error(status, &answer, 403);
    assert!(
        server
            .storage
            .cases(&Default::default(), MONDAY_9AM)
            .unwrap()
            .is_empty()
    );

    // Missing or unknown service, no location: 400.
    let (status, answer) =
        o.post_form(&[("api_key", &api_key), ("lat", "31.19"), ("long", "121.45")]);
    assert_open311_error(status, &answer, 400);
    let (status, answer) = o.post_form(&[
        ("api_key", &api_key),
        ("service_code", "Z99-999"),
        ("lat", "31.19"),
        ("long", "121.45"),
    ]);
    assert_open311_error(status, &answer, 400);
    let (status, answer) = o.post_form(&[("api_key", &api_key), ("service_code", "A02-001")]);
    assert_open311_error(status, &answer, 400);
    let (status, answer) = o.post_form(&[
        ("api_key", &api_key),
        ("service_code", "A02-001"),
        ("lat", "north"),
        ("long", "121.45"),
    ]);
    assert_open311_error(status, &answer, 400);

    // A form-encoded request, as the spec sends it, creates a case under the key's channel.
    let p = spot("XT-W01-U1");
    let (lat, long) = (p.0.to_string(), p.1.to_string());
    let (status, created) = o.post_form(&[
        ("api_key", &api_key),
        ("service_code", "A02-001"),
        ("lat", &lat),
        ("long", &long),
        ("address_string", "斜土路1号"),
        ("description", "小区门口有流动摊贩"),
        ("first_name", "秀英"),
        ("last_name", "王"),
        ("phone", "13912345678"),
        ("attribute[color]", "ignored"),
    ]);
    assert_eq!(status, 200, "{created}");
    let id = created[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(created[0]["service_notice"].is_string());
    let (status, record) = desk.get(&format!("/v1/cases/{id}"));
    assert_eq!(status, 200, "{record}");
    let record: CaseRecord = serde_json::from_value(record).unwrap();
    assert_eq!(record.header.channel, SourceChannel::Wechat);
    assert_eq!(record.header.reporter.id, "centre");
    assert_eq!(record.header.reporter.device.to_string(), key.device_id);
    assert_eq!(record.header.grid.as_ref().unwrap().cell, "XT-W01-U1");
    let (_, contact) = desk.get(&format!("/v1/cases/{id}/contact"));
    assert_eq!(contact["contact"]["phone"], "13912345678");
    assert_eq!(contact["contact"]["name"], "秀英 王");

    // JSON works too.
    let resp = o
        .http
        .post(format!("{}/requests.json", o.base))
        .json(
            &json!({"api_key": api_key, "service_code": "A01-001", "address_string": "斜土路2号",
                      "description": "垃圾满溢"}),
        )
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let json_id = resp.json::<Value>().unwrap()[0]["service_request_id"]
        .as_str()
        .unwrap()
        .to_owned();

    // A body over the limit: 413 in the spec's format.
    let huge = "垃".repeat(30_000);
    let (status, answer) = o.post_form(&[
        ("api_key", &api_key),
        ("service_code", "A01-001"),
        ("address_string", "斜土路2号"),
        ("description", &huge),
    ]);
    assert_open311_error(status, &answer, 413);

    // The request, with the spec's field names.
    let (status, got) = o.get(&format!("/requests/{id}.json"), &[("api_key", &api_key)]);
    assert_eq!(status, 200, "{got}");
    let request = &got.as_array().unwrap()[0];
    let mut fields: Vec<&str> = request
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    fields.sort_unstable();
    assert_eq!(
        fields,
        vec![
            "address",
            "agency_responsible",
            "description",
            "expected_datetime",
            "lat",
            "long",
            "media_url",
            "requested_datetime",
            "service_code",
            "service_name",
            "service_notice",
            "service_request_id",
            "status",
            "status_notes",
            "updated_datetime",
        ]
    );
    assert_eq!(request["service_request_id"].as_str(), Some(id.as_str()));
    assert_eq!(request["status"], "open");
    assert_eq!(request["service_code"], "A02-001");
    assert_eq!(request["service_name"], "流动摊贩");
    assert_eq!(request["description"], "小区门口有流动摊贩");
    assert_eq!(request["address"], "斜土路1号");
    assert_eq!(request["requested_datetime"], "2026-03-02T09:00:00+08:00");
    assert_eq!(request["lat"].as_f64(), Some(p.0));
    assert_eq!(request["long"].as_f64(), Some(p.1));
    assert!(!got.to_string().contains("13912345678"));

    // Registered: the number is the notice; closed once the case is no longer open.
    let (status, _) = desk.post(&format!("/v1/cases/{id}/register"), json!({}));
    assert_eq!(status, 200);
    let (_, got) = o.get(&format!("/requests/{id}.json"), &[("api_key", &api_key)]);
    assert!(
        got[0]["service_notice"]
            .as_str()
            .unwrap()
            .starts_with("XT-2026-")
    );
    let (status, _) = desk.post(
        &format!("/v1/cases/{json_id}/events"),
        json!({"type": "rejected", "reason": "不属于本街道"}),
    );
    assert_eq!(status, 200);

    // The list, with filters.
    let ids = |answer: &Value| -> Vec<String> {
        answer
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["service_request_id"].as_str().unwrap().to_owned())
            .collect()
    };
    let (status, all) = o.get("/requests.json", &[("api_key", &api_key)]);
    assert_eq!(status, 200, "{all}");
    let mut listed = ids(&all);
    listed.sort();
    let mut both = vec![id.clone(), json_id.clone()];
    both.sort();
    assert_eq!(listed, both);
    let (_, open) = o.get(
        "/requests.json",
        &[("api_key", &api_key), ("status", "open")],
    );
    assert_eq!(ids(&open), vec![id.clone()]);
    let (_, closed) = o.get(
        "/requests.json",
        &[("api_key", &api_key), ("status", "closed")],
    );
    assert_eq!(ids(&closed), vec![json_id.clone()]);
    let (_, by_code) = o.get(
        "/requests.json",
        &[("api_key", &api_key), ("service_code", "A01-001")],
    );
    assert_eq!(ids(&by_code), vec![json_id.clone()]);
    let (_, by_id) = o.get(
        "/requests.json",
        &[("api_key", &api_key), ("service_request_id", &id)],
    );
    assert_eq!(ids(&by_id), vec![id.clone()]);
    let (_, later) = o.get(
        "/requests.json",
        &[
            ("api_key", &api_key),
            ("start_date", "2026-03-03T00:00:00+08:00"),
        ],
    );
    assert!(ids(&later).is_empty());
    let (status, answer) = o.get(
        "/requests.json",
        &[("api_key", &api_key), ("start_date", "yesterday")],
    );
    assert_open311_error(status, &answer, 400);

    // Another channel's key sees none of them; an unknown id is a 404.
    let (_, hotline_key) = create_api_key(
        server.storage.as_ref(),
        SourceChannel::Hotline12345,
        "centre",
        "12345",
        MONDAY_9AM,
    )
    .unwrap();
    let (status, answer) = o.get(
        &format!("/requests/{id}.json"),
        &[("api_key", &hotline_key)],
    );
    assert_open311_error(status, &answer, 404);
    let (_, none) = o.get("/requests.json", &[("api_key", &hotline_key)]);
    assert!(ids(&none).is_empty());
    let (status, answer) = o.get(
        &format!("/requests/{}.json", CaseId::generate()),
        &[("api_key", &api_key)],
    );
    assert_open311_error(status, &answer, 404);

    // A revoked key is refused; the audit log names the key's id, never the phone.
    assert!(
        server
            .storage
            .revoke_api_key(&key.key_id, MONDAY_9AM)
            .unwrap()
    );
    let (status, answer) = o.get("/services.json", &[("api_key", &api_key)]);
    assert_open311_error(status, &answer, 403);
    let audit = server.storage.audit_log(0, 1000).unwrap();
    let posted = audit
        .iter()
        .find(|e| e.action == "POST /open311/v2/requests.json" && e.outcome == "ok")
        .unwrap();
    assert_eq!(posted.device_id.as_deref(), Some(key.device_id.as_str()));
    assert_eq!(posted.person.as_deref(), Some("centre"));
    assert!(
        !serde_json::to_string(&audit)
            .unwrap()
            .contains("13912345678")
    );
}

/// A consistent copy of a live server database.
fn back_up(db: &std::path::Path, to: &std::path::Path) {
    rusqlite_conn(db)
        .execute("VACUUM INTO ?1", [to.to_str().unwrap()])
        .unwrap();
}

#[test]
fn a_case_taken_in_after_a_backup_is_relayed_back_by_a_phone_to_the_restored_server() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (port, db) = (server.port(), server.db.clone());
    let desk = Desk::new(&server);
    let cell = "XT-W01-U1";
    let block = catalog().grids.path(cell).unwrap().block.clone();
    let officer = server.field_device(dir.path(), "officer", scope(&[&block], &[], &[]));
    officer.sync();
    let backup = dir.path().join("backup.sqlite3");
    back_up(&db, &backup);

    // After the backup: the desk takes a case in, the officer's phone receives it.
    let id = case_id(&desk.intake(vendor_at(spot(cell), "A02-001")));
    assert_eq!(officer.sync().docs_received, 1);
    let case: CaseId = id.parse().unwrap();
    let held = officer.store.case(case).unwrap();

    // The database is restored from the backup: the case is gone from the server.
    server.stop();
    for suffix in ["-wal", "-shm"] {
        let mut side = db.as_os_str().to_owned();
        side.push(suffix);
        let _ = std::fs::remove_file(side);
    }
    std::fs::copy(&backup, &db).unwrap();
    let server = TestServer::start_on(db.clone(), port);
    assert!(server.storage.case(&id).unwrap().is_none());

    // The phone starts over and pushes what it holds; the server recognises its own
    // (sealed) report although the officer did not report the case.
    let progress = officer.sync();
    assert!(progress.server_reset, "{progress:?}");
    let status = officer.store.case_sync_status(case).unwrap();
    assert!(status.on_server && !status.refused, "{status:?}");
    let back = server.storage.case(&id).unwrap().unwrap();
    assert_eq!(back.header, held.header);
    assert_eq!(back.header.reporter.id, "centre");
    // Its spot is back too: a new report beside it is hinted.
    let desk = Desk::with_token(&server, &desk.auth["Bearer ".len()..]);
    let again = desk.intake(vendor_at(moved(spot(cell), 5.0), "A02-001"));
    assert_eq!(hinted(&again), vec![id]);
}
