//! Back-office benchmark at 100,000 cases on SQLite (release; the server in a child
//! process on 127.0.0.1, the database on the disk of the working directory):
//!
//! - a filtered page of 50 from the case lists (several filters), median and p90 of the
//!   time the client waits (loopback HTTP included, so an upper bound of the server's
//!   time); target ≤ 50 ms;
//! - the evaluation of a quarter holding about 5,000 of the cases; target ≤ 200 ms;
//! - the console's queue, map and evaluation pages as a logged-in browser loads them (the
//!   HTML), median and p90; target ≤ 100 ms each;
//! - the CSV export of all 100,000 cases, streamed: its time, and how much the server's
//!   resident memory grows meanwhile (sampled every 5 ms); target ≤ 50 MB.
//!
//! Run: `cargo bench -p wangge-e2e --bench office_bench` (about 3 minutes, most of it
//! filling the database). `WANGGE_BENCH_CASES` changes the number of cases.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use wangge_core::{Actor, CaseEventKind, DeviceId, NewCase, Role};
use wangge_e2e::*;
use wangge_server::console::account::create_login;
use wangge_server::office::period;
use wangge_server::storage::sqlite::SqliteStorage;
use wangge_server::storage::{DeviceRole, Person, Storage};

const RUNS: usize = 31;
const CONSOLE_PASSWORD: &str = "bench console password";
const CELLS: [&str; 5] = [
    "XT-W01-U1",
    "XT-W02-U2",
    "XT-W03-U1",
    "XT-W04-U2",
    "XT-W05-U3",
];
const ITEMS: [&str; 6] = [
    "A02-001", "A01-001", "A02-002", "A01-002", "A07-003", "B05-001",
];

fn main() {
    serve_if_child();
    let n: i64 = std::env::var("WANGGE_BENCH_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir_in(".").unwrap();
    let db = dir.path().join("server.sqlite3");
    let storage = SqliteStorage::open(&db, catalog()).unwrap();
    let server = ServerProcess::spawn(&[], &db, free_port());

    // Five years of cases up to the server's now (its clock stands at MONDAY_9AM), so
    // that a quarter holds about n / 20 of them.
    let step = 5 * 365 * 86_400_000 / n;
    let start = MONDAY_9AM - n * step;
    let pusher = block_officer(&storage, dir.path(), &server.base, "pusher");
    let me = pusher.me(Role::GridOfficer, None);
    let t = Instant::now();
    let mut pushed = 0;
    for i in 0..n {
        let at = start + i * step;
        pusher.clock.set(at);
        let mut fix = fix_in(CELLS[(i % 5) as usize], at);
        fix.fix_time_ms = at;
        pusher
            .store
            .record_case(
                &me,
                NewCase::from_handheld(
                    ITEMS[(i % 6) as usize],
                    &format!("第{i}处 流动摊贩占道经营"),
                    fix,
                ),
            )
            .unwrap();
        if (i + 1) % 10_000 == 0 || i + 1 == n {
            pushed += pusher.sync().docs_sent;
            eprintln!(
                "{} cases recorded and pushed ({:.0} s)",
                i + 1,
                t.elapsed().as_secs_f64()
            );
        }
    }
    assert_eq!(pushed as i64, n);

    // The centre registers and dispatches a tenth of them; half of those are handled.
    let centre = Actor {
        id: "centre".into(),
        role: Role::Centre,
        unit: None,
        device: DeviceId::generate(),
    };
    let unit = Actor {
        id: "handler".into(),
        role: Role::HandlingUnit,
        unit: Some("城管中队".into()),
        device: centre.device,
    };
    let ids: Vec<String> = rusqlite_conn(&db)
        .prepare("SELECT case_id FROM case_view ORDER BY reported_at")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    for (i, id) in ids.iter().enumerate().step_by(10) {
        let at = start + i as i64 * step + 60_000;
        storage.register_case(id, &centre, None, None, at).unwrap();
        let dispatch = CaseEventKind::Dispatched {
            units: vec!["城管中队".into()],
            lead: None,
            note: None,
        };
        storage
            .add_case_event(id, &centre, dispatch, at + 60_000)
            .unwrap();
        if i % 20 == 0 {
            let feedback = CaseEventKind::Feedback {
                note: "已处置".into(),
                photos: vec![],
            };
            storage
                .add_case_event(id, &unit, feedback, at + 1_800_000)
                .unwrap();
        }
    }
    eprintln!(
        "the centre acted on {} cases ({:.0} s)",
        ids.len() / 10,
        t.elapsed().as_secs_f64()
    );
    drop(storage);

    let (_, token) = {
        let storage = SqliteStorage::open(&db, catalog()).unwrap();
        // A centre operator with a console login, for the console's pages.
        let operator = Person {
            staff_id: "BENCH-CC".into(),
            name: "值班员".into(),
            roles: vec![Role::Centre],
            admin: false,
            units: vec![],
            blocks: vec![],
            workstations: vec![],
            active: true,
        };
        storage.upsert_roster(&[operator], &[]).unwrap();
        create_login(&storage, "BENCH-CC", "bench", CONSOLE_PASSWORD, MONDAY_9AM).unwrap();
        enroll_in(&storage, "desk", DeviceRole::Centre, everything())
    };
    let http = reqwest::blocking::Client::new();
    let get = |path: &str| -> (Duration, usize) {
        let t = Instant::now();
        let resp = http
            .get(format!("{}{path}", server.base))
            .bearer_auth(&token)
            .send()
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        let body = resp.bytes().unwrap();
        (t.elapsed(), body.len())
    };
    let timed = |path: &str| -> (f64, f64) {
        for _ in 0..3 {
            get(path);
        }
        let mut v: Vec<Duration> = (0..RUNS).map(|_| get(path).0).collect();
        v.sort();
        (ms(v[RUNS / 2]), ms(v[RUNS * 9 / 10]))
    };

    println!();
    println!(
        "back-office benchmark: {n} cases on SQLite (release, server in a child process, \
         database on the working directory's disk); medians of {RUNS} runs"
    );
    let quarter_from = period::day_of(start + n / 2 * step);
    let quarter_to = quarter_from + chrono::Duration::days(90);
    for (what, path) in [
        ("page of 50, no filter", "/v1/cases?limit=50".to_owned()),
        (
            "page of 50, workstation + open",
            "/v1/cases?workstation=XT-W03&open=true&limit=50".to_owned(),
        ),
        (
            "page of 50, holder, due order",
            "/v1/cases?holder=城管中队&sort=due&limit=50".to_owned(),
        ),
        (
            "page of 50, overdue, due order",
            "/v1/cases?overdue=true&sort=due&limit=50".to_owned(),
        ),
        (
            "page of 50, item + period",
            format!("/v1/cases?item=A02-002&from={quarter_from}&to={quarter_to}&limit=50"),
        ),
        (
            "page of 50, text in 1 case",
            "/v1/cases?q=第4242处&limit=50".to_owned(),
        ),
        (
            "page of 50, text in every case",
            "/v1/cases?q=流动摊贩&limit=50".to_owned(),
        ),
        (
            "page of 50, holder + text, due",
            "/v1/cases?holder=城管中队&q=流动摊贩&sort=due&limit=50".to_owned(),
        ),
        (
            "page of 50, deep cursor",
            deep_cursor(&http, &server.base, &token),
        ),
    ] {
        let (median, p90) = timed(&path);
        println!("{what:<34}: {median:>7.2} ms median ({p90:.2} ms p90; target ≤ 50 ms)");
    }
    let eval = format!("/v1/evaluation?from={quarter_from}&to={quarter_to}");
    let (median, p90) = timed(&eval);
    let intake: serde_json::Value = http
        .get(format!("{}{eval}", server.base))
        .bearer_auth(&token)
        .send()
        .unwrap()
        .json()
        .unwrap();
    println!(
        "evaluation of a quarter ({} cases) : {median:>7.2} ms median ({p90:.2} ms p90; target ≤ 200 ms)",
        intake["intake"]
    );

    // The console's pages, as a logged-in centre operator's browser loads them (HTML only;
    // the stylesheet and script are cached by the browser).
    let console = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let login = console
        .post(format!("{}/console/login", server.base))
        .form(&[("username", "bench"), ("password", CONSOLE_PASSWORD)])
        .send()
        .unwrap();
    assert_eq!(login.status().as_u16(), 303, "console login");
    let cookie = login.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let page = |path: &str| -> Duration {
        let t = Instant::now();
        let resp = console
            .get(format!("{}{path}", server.base))
            .header("cookie", &cookie)
            .send()
            .unwrap();
        assert_eq!(resp.status().as_u16(), 200, "{path}");
        resp.bytes().unwrap();
        t.elapsed()
    };
    for (what, path) in [
        ("console queue: all", "/console/queues/all".to_owned()),
        ("console queue: overdue", "/console/queues/overdue".to_owned()),
        (
            "console queue: in progress, a unit",
            "/console/queues/in-progress?holder=城管中队".to_owned(),
        ),
        ("console map: open cases", "/console/map".to_owned()),
        (
            "console map: all cases",
            "/console/map?status=reported,registered,dispatched,in_progress,handled,verified,closed,rejected,merged".to_owned(),
        ),
        (
            "console evaluation: a quarter",
            format!("/console/evaluation?from={quarter_from}&to={quarter_to}"),
        ),
    ] {
        for _ in 0..3 {
            page(&path);
        }
        let mut v: Vec<Duration> = (0..RUNS).map(|_| page(&path)).collect();
        v.sort();
        println!(
            "{what:<34}: {:>7.2} ms median ({:.2} ms p90; target ≤ 100 ms)",
            ms(v[RUNS / 2]),
            ms(v[RUNS * 9 / 10])
        );
    }

    // The CSV export, with the server's memory sampled meanwhile.
    let pid = server.pid();
    let before = rss_kib(pid);
    let peak = Arc::new(AtomicU64::new(before));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, done) = (peak.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak.fetch_max(rss_kib(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(5));
            }
        })
    };
    let (took, bytes) = get("/v1/exports/cases.csv");
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap();
    let growth = peak.load(Ordering::Relaxed).saturating_sub(before);
    println!(
        "CSV export of {n} cases          : {:>7.2} s, {:.1} MB; server RSS {:.1} MiB before, grew {:.1} MiB at most (target ≤ 50 MB)",
        took.as_secs_f64(),
        bytes as f64 / 1e6,
        before as f64 / 1024.0,
        growth as f64 / 1024.0
    );
}

/// The cursor of the page after the first 50,000 cases (newest first).
fn deep_cursor(http: &reqwest::blocking::Client, base: &str, token: &str) -> String {
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        let path = match &cursor {
            Some(c) => format!("{base}/v1/cases?limit=500&cursor={c}"),
            None => format!("{base}/v1/cases?limit=500"),
        };
        let page: serde_json::Value = http
            .get(path)
            .bearer_auth(token)
            .send()
            .unwrap()
            .json()
            .unwrap();
        match page["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_owned()),
            None => break,
        }
    }
    match cursor {
        Some(c) => format!("/v1/cases?limit=50&cursor={c}"),
        None => "/v1/cases?limit=50".to_owned(),
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Resident memory of a process, KiB.
fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
