//! The audit log over real HTTP: every authenticated action and every refusal leaves a
//! line naming the device, its person, the route template, the target and the refusal code;
//! unauthenticated successes (`/health`) leave none; no token, query string or name ever
//! reaches a line.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use wangge_core::{CaseId, DeviceId, Role};
use wangge_e2e::*;
use wangge_server::auth;
use wangge_server::storage::{Device, DeviceRole, Person, Scope, Storage, Unit, UnitKind};

fn person(staff_id: &str, name: &str, roles: &[Role], units: &[&str]) -> Person {
    Person {
        staff_id: staff_id.into(),
        name: name.into(),
        roles: roles.to_vec(),
        admin: false,
        units: units.iter().map(|u| u.to_string()).collect(),
        blocks: vec!["XT-B1".into()],
        workstations: vec![],
        active: true,
    }
}

/// Enrols a device to `person` directly in the storage; returns its id and token.
fn enroll(
    server: &TestServer,
    name: &str,
    role: DeviceRole,
    scope: Scope,
    person: &str,
) -> (String, String) {
    let token = auth::new_token().unwrap();
    let device = Device {
        device_id: DeviceId::generate().to_string(),
        name: name.into(),
        role,
        scope,
        created_at: MONDAY_9AM,
        revoked_at: None,
        person: Some(person.into()),
    };
    server
        .storage
        .enroll(&device, &auth::hash_token(&token))
        .unwrap();
    (device.device_id, token)
}

/// The fields of an audit line a test compares.
type Line = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    String,
    Option<String>,
);

#[test]
fn actions_and_refusals_are_audited_without_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    server
        .storage
        .upsert_roster(
            &[
                person("XT-GO-001", "王建国", &[Role::GridOfficer], &["网格一组"]),
                person("XT-CC-001", "周晓燕", &[Role::Centre], &[]),
            ],
            &[Unit {
                id: "网格一组".into(),
                kind: UnitKind::GridTeam,
                name: None,
            }],
        )
        .unwrap();
    let (field, field_token) = enroll(
        &server,
        "手持01",
        DeviceRole::Field,
        scope(&["XT-B1"], &[], &["网格一组"]),
        "XT-GO-001",
    );
    let (centre, centre_token) = enroll(
        &server,
        "受理台",
        DeviceRole::Centre,
        everything(),
        "XT-CC-001",
    );
    let (revoked, revoked_token) = enroll(
        &server,
        "手持02",
        DeviceRole::Field,
        Scope::default(),
        "XT-GO-001",
    );
    assert!(server.storage.revoke(&revoked, MONDAY_9AM).unwrap());

    let http = reqwest::blocking::Client::new();
    let get = |path: &str, token: Option<&str>| {
        let mut request = http.get(format!("{}{path}", server.base));
        if let Some(token) = token {
            request = request.header("Authorization", format!("Bearer {token}"));
        }
        request.send().unwrap()
    };

    // Who am I: the person the device acts as.
    let me: serde_json::Value = get("/v1/me", Some(&field_token)).json().unwrap();
    assert_eq!(me["device_id"], field.as_str());
    assert_eq!(me["role"], "field");
    assert_eq!(me["person"]["staff_id"], "XT-GO-001");
    assert_eq!(me["person"]["roles"], serde_json::json!(["grid_officer"]));
    assert_eq!(me["person"]["units"], serde_json::json!(["网格一组"]));
    assert_eq!(me["scope"]["blocks"], serde_json::json!(["XT-B1"]));

    // A field device in the back office: refused, and named.
    assert_eq!(get("/v1/cases", Some(&field_token)).status(), 403);
    // The centre reads a case the server lacks: refused with the case as target.
    let case = CaseId::generate().to_string();
    assert_eq!(
        get(&format!("/v1/cases/{case}"), Some(&centre_token)).status(),
        404
    );
    // A photo's upload state: an action on a photo hash.
    let sha = "ab".repeat(32);
    assert_eq!(
        get(&format!("/v1/photos/{sha}/upload"), Some(&field_token)).status(),
        200
    );
    // No token, an unknown token, a revoked device.
    assert_eq!(get("/v1/cases", None).status(), 401);
    assert_eq!(get("/v1/cases", Some("not-a-token-of-ours")).status(), 401);
    assert_eq!(get("/v1/me", Some(&revoked_token)).status(), 403);
    // Not audited: an unauthenticated success.
    assert_eq!(get("/health", None).status(), 200);
    // An unknown endpoint: a refusal, without its path or query string.
    assert_eq!(
        get("/v1/nowhere/王建国?token=leaked", Some(&field_token)).status(),
        404
    );

    let log = server.storage.audit_log(0, 100).unwrap();
    let lines: Vec<Line> = log
        .iter()
        .map(|e| {
            (
                e.action.clone(),
                e.device_id.clone(),
                e.person.clone(),
                e.target.clone(),
                e.outcome.clone(),
                e.code.clone(),
            )
        })
        .collect();
    let s = |v: &str| Some(v.to_owned());
    let line = |action: &str,
                device: Option<String>,
                person: Option<String>,
                target: Option<String>,
                code: Option<String>|
     -> Line {
        let outcome = if code.is_some() { "refused" } else { "ok" };
        (action.into(), device, person, target, outcome.into(), code)
    };
    assert_eq!(
        lines,
        vec![
            line("GET /v1/me", s(&field), s("XT-GO-001"), None, None),
            line(
                "GET /v1/cases",
                s(&field),
                s("XT-GO-001"),
                None,
                s("centre_only")
            ),
            line(
                "GET /v1/cases/{id}",
                s(&centre),
                s("XT-CC-001"),
                s(&case),
                s("not_found")
            ),
            line(
                "GET /v1/photos/{sha}/upload",
                s(&field),
                s("XT-GO-001"),
                s(&sha),
                None
            ),
            line("GET /v1/cases", None, None, None, s("unauthorized")),
            line("GET /v1/cases", None, None, None, s("unauthorized")),
            line(
                "GET /v1/me",
                s(&revoked),
                s("XT-GO-001"),
                None,
                s("revoked")
            ),
            // The fallback never extracts the device: an unknown endpoint is refused
            // before any authentication.
            line("GET (no such endpoint)", None, None, None, s("not_found")),
        ]
    );
    assert!(log.iter().all(|e| e.at == MONDAY_9AM));
    // The test harness serves without ConnectInfo: no address, and no failure either.
    assert!(log.iter().all(|e| e.remote_addr.is_none()));

    let text = serde_json::to_string(&log).unwrap();
    for secret in [
        field_token.as_str(),
        centre_token.as_str(),
        revoked_token.as_str(),
        "not-a-token-of-ours",
        "leaked",
        "王建国",
        "周晓燕",
        "nowhere",
    ] {
        assert!(
            !text.contains(secret),
            "{secret:?} is in the audit log: {text}"
        );
    }
}
