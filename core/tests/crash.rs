//! Durability: a child process records cases in a loop and is killed with
//! SIGKILL at an arbitrary moment, several times over the same store. After
//! reopening, every case whose `record_case` had returned is present and
//! intact, and the store still works.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};
use std::sync::Arc;

use support::*;
use wangge_core::{CaseEventKind, CaseId, CaseStatus, DeviceId, NewCase, Role, Store, SystemClock};

const CHILD_ENV: &str = "WANGGE_CRASH_CHILD_STORE";
const DEVICE_ENV: &str = "WANGGE_CRASH_CHILD_DEVICE";
const TEST_NAME: &str = "a_killed_writer_loses_no_acknowledged_case";

/// The child: records cases forever, printing each id once the call returns.
fn child_loop(path: &str, device: &str) -> ! {
    let device = DeviceId::parse(device).unwrap();
    let store = Store::open(path, device, catalog(), Arc::new(SystemClock)).unwrap();
    let officer = actor("officer-1", Role::GridOfficer, None, device);
    let centre = actor("centre-1", Role::Centre, None, device);
    let mut out = std::io::stdout().lock();
    for i in 0u64.. {
        let fix = fix_in(&store.catalog().grids, "XT-W02-U1", store.now_ms());
        let text = format!("崩溃测试案件 {i}");
        let id = store
            .record_case(&officer, NewCase::from_handheld("A02-001", &text, fix))
            .unwrap();
        // Writes to existing documents too, so kills land in appends and compactions.
        store
            .add_case_event(
                id,
                &centre,
                CaseEventKind::Registered {
                    case_number: format!("N{i}"),
                    checklist_item: None,
                    grid: None,
                },
            )
            .unwrap();
        writeln!(out, "recorded {id} {text}").unwrap();
        out.flush().unwrap();
    }
    unreachable!()
}

#[test]
fn a_killed_writer_loses_no_acknowledged_case() {
    if let (Ok(path), Ok(device)) = (std::env::var(CHILD_ENV), std::env::var(DEVICE_ENV)) {
        child_loop(&path, &device);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("crash.sqlite3");
    let device = DeviceId::generate();
    let mut acknowledged: Vec<(CaseId, String)> = Vec::new();
    for round in 0..4 {
        let mut child = Command::new(std::env::current_exe().unwrap())
            .args(["--exact", TEST_NAME, "--nocapture", "--test-threads", "1"])
            .env(CHILD_ENV, &path)
            .env(DEVICE_ENV, device.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        // Kill after a varying number of acknowledged writes, while the
        // child is in the middle of its next ones.
        let target = 40 + round * 17;
        let mut seen = 0;
        for line in lines.by_ref() {
            let line = line.unwrap();
            if let Some(rest) = line.strip_prefix("recorded ") {
                let (id, text) = rest.split_once(' ').unwrap();
                acknowledged.push((CaseId::parse(id).unwrap(), text.to_owned()));
                seen += 1;
                if seen == target {
                    break;
                }
            }
        }
        child.kill().unwrap(); // SIGKILL
        // Lines printed between the break and the kill were acknowledged too.
        for line in lines.map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("recorded ") {
                let (id, text) = rest.split_once(' ').unwrap();
                acknowledged.push((CaseId::parse(id).unwrap(), text.to_owned()));
            }
        }
        let status = child.wait().unwrap();
        assert!(!status.success(), "the child must have been killed");
    }

    let store = Store::open(&path, device, catalog(), Arc::new(SystemClock)).unwrap();
    assert!(acknowledged.len() >= 40 + 57 + 74 + 91);
    for (id, text) in &acknowledged {
        let case = store
            .case(*id)
            .unwrap_or_else(|e| panic!("case {id} lost: {e}"));
        assert_eq!(&case.header.description, text);
        assert_eq!(case.state.status, CaseStatus::Registered);
        assert!(case.state.superseded.is_empty());
    }
    // The projections agree with the documents after the crashes.
    let listed = store
        .cases(&wangge_core::CaseQuery {
            limit: Some(100_000),
            ..Default::default()
        })
        .unwrap();
    let before = listed.len();
    assert!(before >= acknowledged.len());
    assert_eq!(store.rebuild_projections().unwrap(), before);
    // And the store still takes writes.
    let officer = actor("officer-1", Role::GridOfficer, None, device);
    let fix = fix_in(&store.catalog().grids, "XT-W02-U1", store.now_ms());
    store
        .record_case(&officer, NewCase::from_handheld("A02-001", "恢复后", fix))
        .unwrap();
}
