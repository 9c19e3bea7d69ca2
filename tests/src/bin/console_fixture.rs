//! `console-fixture`: a real wangge-server for the browser tests of the console
//! (`console-tests/`), on 127.0.0.1 over a fresh SQLite file, with the demo street's catalog
//! and roster and a manual clock standing at a fixed China-time morning.
//!
//! It creates console logins (a centre operator, a handler of 城管中队, a handler of another
//! unit, a supervisor) and a centre device for the JSON API, takes in and dispatches a few
//! cases, and files today's zero report for three workstations (the others are pending,
//! missing after the cut-off). A second port serves a control API for the tests only:
//! `GET /clock` (the server's time in ms) and `POST /clock/advance?minutes=N` (the new time).
//!
//! It prints one JSON line on stdout (`url`, `control`, `logins`, `api_token`, `cases`,
//! `now_ms`) and runs until its standard input closes or it receives SIGTERM or SIGINT;
//! then it removes its database.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use axum::extract::{Query, State};
use axum::routing::{get, post};
use serde_json::{Value, json};
use wangge_core::{ManualClock, MatterId, Role, ZeroReportEventKind};
use wangge_e2e::{MONDAY_9AM, TestDevice, catalog, enroll_person_in, everything, fix_in, scope};
use wangge_server::roster;
use wangge_server::storage::sqlite::SqliteStorage;
use wangge_server::storage::{DeviceRole, Person, Storage};
use wangge_server::{AppState, router};

/// One console login the fixture creates.
struct Login {
    /// Its key in the printed JSON.
    key: &'static str,
    /// The roster's person.
    staff_id: &'static str,
    username: &'static str,
    password: &'static str,
}

/// The console's logins: a centre operator, a handler of 城管中队 (XT-UH-001), a handler of
/// 公安派出所 (XT-UH-003), a supervisor.
const LOGINS: [Login; 4] = [
    Login {
        key: "centre",
        staff_id: "XT-CC-001",
        username: "zhouxiaoyan",
        password: "centre-pass-2026",
    },
    Login {
        key: "handler",
        staff_id: "XT-UH-001",
        username: "chenzhiqiang",
        password: "handler-pass-2026",
    },
    Login {
        key: "other_handler",
        staff_id: "XT-UH-003",
        username: "jianglixin",
        password: "police-pass-2026",
    },
    Login {
        key: "supervisor",
        staff_id: "XT-SV-001",
        username: "wangdeming",
        password: "supervisor-pass-2026",
    },
];

fn main() {
    let dir = tempfile::Builder::new()
        .prefix("wangge-console-fixture-")
        .tempdir()
        .unwrap();
    let catalog = catalog();
    let storage =
        Arc::new(SqliteStorage::open(dir.path().join("server.sqlite3"), catalog.clone()).unwrap());
    let roster = roster::parse(
        "sync-server/data/roster-demo.json",
        roster::DEMO_ROSTER,
        &catalog,
        &storage.units().unwrap(),
    )
    .unwrap();
    storage
        .upsert_roster(&roster.people, &roster.units)
        .unwrap();
    let person = |staff_id: &str| -> Person {
        roster
            .people
            .iter()
            .find(|p| p.staff_id == staff_id)
            .unwrap_or_else(|| panic!("the demo roster lacks {staff_id}"))
            .clone()
    };

    let clock = Arc::new(ManualClock::new(MONDAY_9AM));
    let state = AppState {
        storage: storage.clone(),
        catalog: catalog.clone(),
        clock: clock.clone(),
        office: Default::default(),
        tokens: Default::default(),
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (server, control) = runtime.block_on(async {
        let server = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let control = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        (server, control)
    });
    let url = format!("http://{}", server.local_addr().unwrap());
    let control_url = format!("http://{}", control.local_addr().unwrap());
    runtime.spawn(async move {
        axum::serve(
            server,
            router(state).into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    runtime.spawn(async move {
        axum::serve(control, control_router(clock.clone()))
            .await
            .unwrap();
    });

    // The centre's device, for the tests' JSON API calls and the seeding below.
    let (_, api_token) = enroll_person_in(
        storage.as_ref(),
        &person("XT-CC-001"),
        &[],
        "console-tests-centre",
        DeviceRole::Centre,
        everything(),
    );
    for login in &LOGINS {
        wangge_server::console::account::create_login(
            storage.as_ref(),
            login.staff_id,
            login.username,
            login.password,
            MONDAY_9AM,
        )
        .unwrap_or_else(|e| panic!("login of {}: {e:?}", login.staff_id));
    }
    let cases = seed_cases(&url, &api_token);
    file_zero_reports(storage.as_ref(), dir.path(), &url, &person);

    let mut logins = serde_json::Map::new();
    for login in &LOGINS {
        logins.insert(
            login.key.into(),
            json!({
                "username": login.username,
                "password": login.password,
                "staff_id": login.staff_id,
            }),
        );
    }
    let line = json!({
        "url": url,
        "control": control_url,
        "logins": logins,
        "api_token": api_token,
        "cases": cases,
        "now_ms": MONDAY_9AM,
    });
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "{line}").unwrap();
    stdout.flush().unwrap();
    drop(stdout);

    runtime.block_on(wait_for_the_end());
    runtime.shutdown_timeout(std::time::Duration::from_secs(2));
    drop(storage);
    drop(dir);
}

/// The tests' control API: the server's clock.
fn control_router(clock: Arc<ManualClock>) -> axum::Router {
    use wangge_core::Clock;

    axum::Router::new()
        .route(
            "/clock",
            get(|State(clock): State<Arc<ManualClock>>| async move { axum::Json(clock.now_ms()) }),
        )
        .route(
            "/clock/advance",
            post(
                |State(clock): State<Arc<ManualClock>>,
                 Query(q): Query<std::collections::HashMap<String, String>>| async move {
                    let Some(minutes) = q.get("minutes").and_then(|m| m.parse::<i64>().ok()) else {
                        return Err((
                            axum::http::StatusCode::BAD_REQUEST,
                            "minutes=N (an integer)",
                        ));
                    };
                    clock.advance(minutes * 60_000);
                    Ok(axum::Json(clock.now_ms()))
                },
            ),
        )
        .with_state(clock)
}

/// Resolves when standard input closes (the harness died or let go) or on SIGTERM/SIGINT.
async fn wait_for_the_end() {
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    std::thread::spawn(move || {
        let mut sink = [0u8; 256];
        let mut stdin = std::io::stdin();
        while matches!(stdin.read(&mut sink), Ok(n) if n > 0) {}
        let _ = tx.send(());
    });
    let mut term =
        tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).unwrap();
    tokio::select! {
        _ = rx => {}
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}

/// POSTs `body` to `path` as the centre's device; the JSON answer, which must be a success.
fn post_ok(
    http: &reqwest::blocking::Client,
    url: &str,
    token: &str,
    path: &str,
    body: Value,
) -> Value {
    let resp = http
        .post(format!("{url}{path}"))
        .bearer_auth(token)
        .json(&body)
        .send()
        .unwrap();
    let status = resp.status();
    let answer: Value = resp.json().unwrap();
    assert!(status.is_success(), "POST {path}: {status} {answer}");
    answer
}

/// Three cases from the hotline: one dispatched to 城管中队, one to 公安派出所, one waiting to
/// be registered; so a handler's view can be told from the whole street's. Their ids, as
/// `{"chengguan", "police", "unregistered"}`.
fn seed_cases(url: &str, token: &str) -> Value {
    let http = reqwest::blocking::Client::new();
    // Each at the interior point of a unit grid (so the intake desk can hint a duplicate of
    // one by its position).
    let intake = |reference: &str, item: &str, grid: &str, description: &str| -> String {
        let fix = fix_in(grid, MONDAY_9AM);
        let answer = post_ok(
            &http,
            url,
            token,
            "/v1/cases",
            json!({
                "channel": "hotline_12345",
                "reference": reference,
                "checklist_item": item,
                "description": description,
                "address": "斜土路100号",
                "position": {"lat": fix.lat, "lon": fix.lon, "accuracy_m": 5.0},
            }),
        );
        answer["case"]["header"]["id"].as_str().unwrap().to_owned()
    };
    let dispatch = |id: &str, unit: &str| {
        post_ok(
            &http,
            url,
            token,
            &format!("/v1/cases/{id}/register"),
            json!({}),
        );
        post_ok(
            &http,
            url,
            token,
            &format!("/v1/cases/{id}/events"),
            json!({"type": "dispatched", "units": [unit], "lead": unit}),
        );
    };
    let garbage = intake(
        "SEED-001",
        "A01-001",
        "XT-W01-U1",
        "种子案件：弄堂口暴露垃圾",
    );
    dispatch(&garbage, "城管中队");
    let vendor = intake(
        "SEED-002",
        "A02-001",
        "XT-W05-U1",
        "种子案件：菜场门口流动摊贩",
    );
    dispatch(&vendor, "公安派出所");
    let unregistered = intake(
        "SEED-003",
        "A01-001",
        "XT-W09-U1",
        "种子案件：绿化带垃圾待立案",
    );
    json!({"chengguan": garbage, "police": vendor, "unregistered": unregistered})
}

/// Today's zero reports of XT-W01 (nothing to report), XT-W02 (two matters) and XT-W03
/// (nothing to report), filed from the workstations' own terminals and synced.
fn file_zero_reports(
    storage: &dyn Storage,
    dir: &Path,
    url: &str,
    person: &dyn Fn(&str) -> Person,
) {
    let today = wangge_core::store::cst_day(MONDAY_9AM);
    for (staff_id, workstation, matters) in [
        ("XT-WS-001", "XT-W01", &[][..]),
        (
            "XT-WS-002",
            "XT-W02",
            &["楼道堆物已清理", "独居老人走访"][..],
        ),
        ("XT-WS-003", "XT-W03", &[][..]),
    ] {
        let staff = person(staff_id);
        let name = format!("工作站终端-{workstation}");
        let (device, token) = enroll_person_in(
            storage,
            &staff,
            &[],
            &name,
            DeviceRole::Field,
            scope(&[], &[workstation], &[]),
        );
        let terminal = TestDevice::open(dir, &name, &device, url, &token);
        let me = terminal.me(Role::WorkstationStaff, None);
        if matters.is_empty() {
            terminal
                .store
                .file_zero_report(
                    &me,
                    workstation,
                    today,
                    ZeroReportEventKind::Filed {
                        nothing_to_report: true,
                        note: None,
                    },
                )
                .unwrap();
        }
        for what in matters {
            terminal
                .store
                .file_zero_report(
                    &me,
                    workstation,
                    today,
                    ZeroReportEventKind::MatterRecorded {
                        matter: MatterId::generate(),
                        checklist_item: None,
                        description: (*what).into(),
                        photos: vec![],
                    },
                )
                .unwrap();
        }
        terminal.sync();
    }
}
