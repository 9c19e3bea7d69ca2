//! Partial replication over real HTTP: devices enrolled with a grid block, a
//! workstation or a team receive exactly the documents of their scope —
//! plus the cases they reported — and never another; zero reports reach the
//! devices of their workstation and block; a case dispatched to a team, or
//! moved into a block by the centre, arrives at the next sync with its
//! whole history; a zero report a device files for a workstation outside
//! its scope is refused (`out_of_scope`) and kept on that device.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;

use wangge_core::store::cst_day;
use wangge_core::{
    CaseEventKind, CaseId, CaseRecord, Clock, MatterId, NewCase, Role, SourceChannel,
    ZeroReportEventKind,
};
use wangge_e2e::*;
use wangge_server::storage::{DeviceRole, Storage};

/// The device holds exactly these documents.
#[track_caller]
fn assert_holds(dev: &TestDevice, expected: &[&String]) {
    let held: BTreeSet<String> = dev.doc_ids().into_iter().collect();
    let expected: BTreeSet<String> = expected.iter().map(|s| s.to_string()).collect();
    assert_eq!(
        held, expected,
        "{} holds other documents than its scope allows",
        dev.name
    );
}

fn record(dev: &TestDevice, cell: &str, text: &str) -> String {
    let officer = dev.me(Role::GridOfficer, None);
    dev.store
        .record_case(
            &officer,
            NewCase::from_handheld("A04-001", text, fix_in(cell, dev.clock.now_ms())),
        )
        .unwrap()
        .to_string()
}

fn centre_post(server: &TestServer, token: &str, case: &str, path: &str, body: serde_json::Value) {
    reqwest::blocking::Client::new()
        .post(format!("{}/v1/cases/{case}/{path}", server.base))
        .bearer_auth(token)
        .json(&body)
        .send()
        .unwrap()
        .error_for_status()
        .unwrap();
}

fn on_server(server: &TestServer, case: &str) -> CaseRecord {
    server.storage.case(case).unwrap().unwrap()
}

fn on_device(dev: &TestDevice, case: &str) -> CaseRecord {
    dev.store.case(CaseId::parse(case).unwrap()).unwrap()
}

#[test]
fn devices_receive_exactly_their_scope() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let d = dir.path();
    let b1 = server.field_device(d, "b1", scope(&["XT-B1"], &[], &[]));
    let w06 = server.field_device(d, "w06", scope(&[], &["XT-W06"], &[]));
    let w06b = server.field_device(d, "w06b", scope(&[], &["XT-W06"], &[]));
    let team = server.field_device(d, "team", scope(&[], &[], &["城管中队"]));
    let rep = server.field_device(d, "rep", scope(&["XT-B3"], &[], &[]));
    let hotline = server.field_device(d, "hotline", scope(&[], &["XT-W18"], &[]));
    let w01 = server.field_device(d, "w01", scope(&[], &["XT-W01"], &[]));
    let all = [&b1, &w06, &w06b, &team, &rep, &hotline, &w01];
    let (_, centre) = server.enroll("centre", DeviceRole::Centre, everything());

    // Offline: cases in and out of each device's scope…
    let c_b1 = record(&b1, "XT-W01-U1", "B1 的案件");
    let c_w06 = record(&rep, "XT-W06-U1", "W06 的案件，由巡查员上报");
    let c_w07 = record(&rep, "XT-W07-U1", "W07 的案件");
    let c_b3 = record(&rep, "XT-W10-U1", "B3 的案件");
    let c_b4 = record(&w06, "XT-W15-U1", "W06 的设备在 B4 上报");
    // …a hotline case with no place yet…
    let desk = hotline.me(Role::StreetOfficial, None);
    let c_nogrid = hotline
        .store
        .record_case(
            &desk,
            NewCase {
                channel: SourceChannel::StreetHotline,
                checklist_item: "A04-001".into(),
                description: "市民来电：路灯不亮".into(),
                gps: None,
                address: Some("斜土路某号".into()),
                grid: None,
                photos: vec![],
                external_ref: None,
            },
        )
        .unwrap()
        .to_string();
    // …and zero reports: two devices of W06 write the same day's report,
    // W01's device files W01's, and an officer of B3 tries to file W01's
    // too, outside its scope.
    let today = cst_day(w06.clock.now_ms());
    let staff = |dev: &TestDevice| dev.me(Role::WorkstationStaff, None);
    w06.store
        .file_zero_report(
            &staff(&w06),
            "XT-W06",
            today,
            ZeroReportEventKind::Filed {
                nothing_to_report: true,
                note: None,
            },
        )
        .unwrap();
    w06b.store
        .file_zero_report(
            &staff(&w06b),
            "XT-W06",
            today,
            ZeroReportEventKind::MatterRecorded {
                matter: MatterId::generate(),
                checklist_item: None,
                description: "楼道堆物已清理".into(),
                photos: vec![],
            },
        )
        .unwrap();
    let zr_w06 = format!("zr:XT-W06:{today}");
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
    rep.store
        .file_zero_report(
            &staff(&rep),
            "XT-W01",
            today,
            ZeroReportEventKind::Filed {
                nothing_to_report: true,
                note: None,
            },
        )
        .unwrap();
    let zr_w01 = format!("zr:XT-W01:{today}");

    // Everyone pushes, then everyone pulls.
    for dev in all {
        dev.sync();
    }
    for dev in all {
        dev.sync();
    }
    assert_eq!(server.storage.stats(MONDAY_9AM).unwrap().documents, 8);
    // The B3 officer's W01 report was refused: the device keeps it, marked,
    // and the server's W01 report holds W01's entry only.
    let refusal = rep.store.refusal(&zr_w01).unwrap().unwrap();
    assert_eq!(refusal.code, "out_of_scope", "{refusal:?}");
    let status = rep.store.doc_sync_status(&zr_w01).unwrap();
    assert!(status.refused && !status.on_server && !status.pending);
    let on_w01 = w01.store.zero_report("XT-W01", today).unwrap().unwrap();
    assert_eq!(on_w01.events.len(), 1);
    assert!(on_w01.events.iter().all(|e| e.by.id == w01.person));
    assert_holds(&w01, &[&c_b1, &zr_w01]);
    assert_holds(&b1, &[&c_b1, &zr_w01]);
    assert_holds(&w06, &[&c_w06, &c_b4, &zr_w06]);
    assert_holds(&w06b, &[&c_w06, &zr_w06]);
    assert_holds(&team, &[]);
    assert_holds(&rep, &[&c_w06, &c_w07, &c_b3, &zr_w01]);
    assert_holds(&hotline, &[&c_nogrid]);
    // The W06 report merged both devices' entries on both devices.
    let report = w06.store.zero_report("XT-W06", today).unwrap().unwrap();
    assert_eq!(report.events.len(), 2);
    assert_eq!(
        w06b.store.zero_report("XT-W06", today).unwrap().unwrap(),
        report
    );

    // The reporter adds to its W07 case; the centre registers and
    // dispatches it to the team: the team's next sync brings exactly that
    // case, with its whole history.
    let officer = rep.me(Role::GridOfficer, None);
    for text in ["摊主已离开", "摊主又回来了"] {
        rep.store
            .add_case_event(
                CaseId::parse(&c_w07).unwrap(),
                &officer,
                CaseEventKind::Comment {
                    text: text.into(),
                    photos: vec![],
                },
            )
            .unwrap();
    }
    rep.sync();
    centre_post(&server, &centre, &c_w07, "register", serde_json::json!({}));
    centre_post(
        &server,
        &centre,
        &c_w07,
        "events",
        serde_json::json!({"type": "dispatched", "units": ["城管中队"]}),
    );
    let p = team.sync();
    assert_eq!(p.docs_received, 1);
    assert_holds(&team, &[&c_w07]);
    let full = on_server(&server, &c_w07);
    assert_eq!(
        full.events.len(),
        5,
        "reported, two comments, registered, dispatched"
    );
    assert_eq!(on_device(&team, &c_w07), full);

    // The team acts on it; the reporter, who holds it, sees that.
    let unit = team.me(Role::HandlingUnit, Some("城管中队"));
    let id = CaseId::parse(&c_w07).unwrap();
    team.clock.advance(600_000);
    team.store
        .add_case_event(id, &unit, CaseEventKind::Arrived { note: None })
        .unwrap();
    team.store
        .add_case_event(
            id,
            &unit,
            CaseEventKind::Feedback {
                note: "已劝离".into(),
                photos: vec![],
            },
        )
        .unwrap();
    assert_eq!(team.sync().docs_sent, 1);
    rep.sync();
    assert_eq!(on_device(&rep, &c_w07), on_server(&server, &c_w07));

    // A device always gets the cases it reported, even outside its scope:
    // W06's device learns the number of its B4 case.
    centre_post(&server, &centre, &c_b4, "register", serde_json::json!({}));
    let number = on_server(&server, &c_b4).state.case_number.unwrap();
    let p = w06.sync();
    assert_eq!(p.docs_received, 1);
    assert_eq!(
        on_device(&w06, &c_b4).state.case_number.as_deref(),
        Some(number.as_str())
    );

    // The hotline case is placed in B1 at registration: it enters B1's
    // scope, and B1's device receives it with its history.
    centre_post(
        &server,
        &centre,
        &c_nogrid,
        "register",
        serde_json::json!({"grid": "XT-W01-U2"}),
    );
    assert_eq!(b1.sync().docs_received, 1);
    assert_eq!(on_device(&b1, &c_nogrid), on_server(&server, &c_nogrid));
    assert_eq!(w01.sync().docs_received, 1);
    hotline.sync();
    assert_eq!(
        on_device(&hotline, &c_nogrid),
        on_server(&server, &c_nogrid)
    );

    // Changes outside a scope never reach it; the final sets are exact.
    centre_post(&server, &centre, &c_b3, "register", serde_json::json!({}));
    for dev in all {
        dev.sync();
    }
    assert_holds(&b1, &[&c_b1, &zr_w01, &c_nogrid]);
    assert_holds(&w06, &[&c_w06, &c_b4, &zr_w06]);
    assert_holds(&w06b, &[&c_w06, &zr_w06]);
    assert_holds(&team, &[&c_w07]);
    assert_holds(&rep, &[&c_w06, &c_w07, &c_b3, &zr_w01]);
    assert_holds(&hotline, &[&c_nogrid]);
    assert_holds(&w01, &[&c_b1, &zr_w01, &c_nogrid]);
    // What each device holds is what the server holds, but for the refused
    // report, which stays on its device only.
    let server_docs = server_heads(&server.db);
    for dev in all {
        for (id, heads) in dev.heads() {
            if dev.name == "rep" && id == zr_w01 {
                assert!(dev.store.doc_sync_status(&id).unwrap().refused);
                assert_ne!(server_docs.get(&id), Some(&heads));
                continue;
            }
            assert_eq!(server_docs.get(&id), Some(&heads), "{} {id}", dev.name);
        }
        assert_eq!(dev.store.pending_count().unwrap(), 0);
    }
}
