//! Joint handling over real HTTP: the centre dispatches to a lead and
//! assisting units through the back office, each unit's phone reports its
//! own feedback (offline, then syncs), the centre releases and withdraws,
//! a unit hands a case back, and a duplicate is merged into another case.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use serde_json::{Value, json};
use wangge_core::{CaseEventKind, CaseId, CaseStatus, NewCase, Role};
use wangge_e2e::desk::Desk;
use wangge_e2e::*;

fn holders(case: &Value) -> Vec<String> {
    serde_json::from_value(case["state"]["holders"].clone()).unwrap()
}

/// An officer's device reports a vendor case in block B1 and syncs; the desk registers it.
fn reported_case(server: &TestServer, desk: &Desk, dir: &std::path::Path, n: u32) -> CaseId {
    let officer = server.field_device(dir, &format!("officer{n}"), scope(&["XT-B1"], &[], &[]));
    let id = officer
        .store
        .record_case(
            &officer.me(Role::GridOfficer, None),
            NewCase::from_handheld("A02-001", "流动摊贩占道", fix_in("XT-W01-U1", MONDAY_9AM)),
        )
        .unwrap();
    officer.sync();
    let (status, answer) = desk.post(&format!("/v1/cases/{id}/register"), json!({}));
    assert_eq!(status, 200, "{answer}");
    id
}

#[test]
fn the_lead_and_every_assisting_unit_report_before_the_case_is_handled() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let desk = Desk::new(&server);
    let cg = server.field_device(dir.path(), "cg", scope(&[], &[], &["城管中队"]));
    let wy = server.field_device(dir.path(), "wy", scope(&[], &[], &["物业"]));
    let id = reported_case(&server, &desk, dir.path(), 1);

    let case = desk.event(
        id,
        json!({"type": "dispatched", "units": ["物业", "城管中队", "市政科"], "lead": "城管中队",
               "note": "联合处置"}),
    );
    assert_eq!(holders(&case), ["城管中队", "物业", "市政科"]);
    let leads: Vec<&Value> = case["state"]["assignments"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["lead"] == true)
        .collect();
    assert_eq!(leads.len(), 1);
    assert_eq!(leads[0]["unit"], "城管中队");

    // The assisting unit reports from its phone: the case stays with the others.
    wy.sync();
    wy.store
        .add_case_event(
            id,
            &wy.me(Role::HandlingUnit, Some("物业")),
            CaseEventKind::Feedback {
                note: "已清理占道物品".into(),
                photos: vec![],
            },
        )
        .unwrap();
    wy.sync();
    let case = desk.case(id);
    assert_eq!(case["state"]["status"], "in_progress");
    assert_eq!(holders(&case), ["城管中队", "市政科"]);

    // The centre releases 市政科, which never needed to come.
    let case = desk.event(
        id,
        json!({"type": "released", "unit": "市政科", "reason": "无需市政配合"}),
    );
    assert_eq!(holders(&case), ["城管中队"]);
    // The lead cannot be released: a JSON refusal with a code.
    let (status, refusal) = desk.post(
        &format!("/v1/cases/{id}/events"),
        json!({"type": "released", "unit": "城管中队"}),
    );
    assert!(status >= 400, "{refusal}");
    assert!(refusal["error"].is_string(), "{refusal}");

    // The lead reports, offline first; at its sync the case is handled everywhere.
    cg.sync();
    cg.store
        .add_case_event(
            id,
            &cg.me(Role::HandlingUnit, Some("城管中队")),
            CaseEventKind::Feedback {
                note: "摊贩已劝离".into(),
                photos: vec![],
            },
        )
        .unwrap();
    cg.sync();
    let case = desk.case(id);
    assert_eq!(case["state"]["status"], "handled");
    assert_eq!(holders(&case), ["管理中心"]);
    wy.sync();
    assert_eq!(wy.store.case(id).unwrap().state.status, CaseStatus::Handled);
}

#[test]
fn a_wrong_dispatch_is_withdrawn_and_a_unit_hands_a_case_back() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let desk = Desk::new(&server);
    let wy = server.field_device(dir.path(), "wy", scope(&[], &[], &["物业"]));
    let sz = server.field_device(dir.path(), "sz", scope(&[], &[], &["市政科"]));
    let id = reported_case(&server, &desk, dir.path(), 1);

    // Sent to 物业, which hands it back from its phone: not its matter.
    desk.event(id, json!({"type": "dispatched", "units": ["物业"]}));
    wy.sync();
    wy.store
        .add_case_event(
            id,
            &wy.me(Role::HandlingUnit, Some("物业")),
            CaseEventKind::HandedBack {
                reason: "占道经营不属物业管辖".into(),
            },
        )
        .unwrap();
    wy.sync();
    let case = desk.case(id);
    assert_eq!(case["state"]["status"], "registered");
    assert_eq!(holders(&case), ["管理中心"]);
    assert_eq!(case["state"]["assignments"][0]["ended"], "handed_back");

    // Dispatched again, to the wrong unit by mistake, then withdrawn with a reason.
    desk.event(id, json!({"type": "dispatched", "units": ["市政科"]}));
    let case = desk.event(
        id,
        json!({"type": "withdrawn", "units": ["市政科"], "reason": "派错单位"}),
    );
    assert_eq!(case["state"]["status"], "registered");
    assert_eq!(case["state"]["assignments"][1]["ended"], "withdrawn");
    // A withdrawal needs a reason.
    let (status, refusal) = desk.post(
        &format!("/v1/cases/{id}/events"),
        json!({"type": "withdrawn", "units": ["市政科"]}),
    );
    assert!(status >= 400 && refusal["error"].is_string(), "{refusal}");

    // The withdrawn unit's phone still receives the case (it was dispatched to it once) and
    // shows it is off it; its feedback recorded before it learnt of the withdrawal is kept
    // in the timeline but changes nothing.
    sz.sync();
    let on_sz = sz.store.case(id).unwrap();
    assert_eq!(on_sz.state.status, CaseStatus::Registered);
    assert!(on_sz.state.holders.iter().all(|h| h != "市政科"));
    // Both hand-back and withdrawal stand in the timeline on every device.
    let kinds: Vec<&str> = on_sz.events.iter().map(|e| e.kind.name()).collect();
    assert!(
        kinds.contains(&"handed_back") && kinds.contains(&"withdrawn"),
        "{kinds:?}"
    );
}

#[test]
fn a_unit_that_was_never_dispatched_cannot_hand_a_case_back() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let desk = Desk::new(&server);
    let id = reported_case(&server, &desk, dir.path(), 1);
    desk.event(id, json!({"type": "dispatched", "units": ["城管中队"]}));
    // A phone of block B1 whose person belongs to 物业: it sees the case, it was not sent it.
    let wy = server.field_device(dir.path(), "wy", scope(&["XT-B1"], &[], &["物业"]));
    wy.sync();
    // The phone refuses it locally...
    let local = wy.store.add_case_event(
        id,
        &wy.me(Role::HandlingUnit, Some("物业")),
        CaseEventKind::HandedBack {
            reason: "不归我们".into(),
        },
    );
    assert!(local.is_err(), "{local:?}");
    // A crafted push of it is refused by the server: `authority::in_scope_the_role_and_the_unit_decide`.
    assert_eq!(holders(&desk.case(id)), ["城管中队"]);
}

#[test]
fn a_duplicate_is_merged_into_another_case_and_neither_disappears() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let desk = Desk::new(&server);
    let first = reported_case(&server, &desk, dir.path(), 1);
    let duplicate = reported_case(&server, &desk, dir.path(), 2);
    desk.event(
        duplicate,
        json!({"type": "dispatched", "units": ["城管中队"]}),
    );

    // Through the events endpoint a merge would change one case only: refused.
    let (status, refusal) = desk.post(
        &format!("/v1/cases/{duplicate}/events"),
        json!({"type": "merged_into", "target": first.to_string()}),
    );
    assert_eq!(status, 422, "{refusal}");
    assert_eq!(refusal["error"], "merge_through_endpoint");
    // Nor into itself.
    let (status, refusal) = desk.post(
        &format!("/v1/cases/{duplicate}/merge"),
        json!({"into": duplicate.to_string()}),
    );
    assert_eq!(status, 422, "{refusal}");

    let (status, merged) = desk.post(
        &format!("/v1/cases/{duplicate}/merge"),
        json!({"into": first.to_string(), "note": "同一摊贩，重复上报"}),
    );
    assert_eq!(status, 200, "{merged}");
    assert_eq!(merged["state"]["status"], "merged");
    assert_eq!(merged["state"]["merged_into"], first.to_string());
    assert!(holders(&merged).is_empty());
    let target = desk.case(first);
    let last = target["events"].as_array().unwrap().last().unwrap().clone();
    assert_eq!(last["type"], "merged_from");
    assert_eq!(last["source"], duplicate.to_string());
    // Merging it again is refused: it went into `first` already.
    let (status, _) = desk.post(
        &format!("/v1/cases/{duplicate}/merge"),
        json!({"into": first.to_string()}),
    );
    assert!(status >= 400);

    // A device of the block holds both, the duplicate as merged; a merged case is not open.
    let b1 = server.field_device(dir.path(), "b1", scope(&["XT-B1"], &[], &[]));
    b1.sync();
    let on_b1 = b1.store.case(duplicate).unwrap();
    assert_eq!(on_b1.state.status, CaseStatus::Merged);
    assert!(b1.store.case(first).is_ok());
    let open: Vec<String> = b1
        .store
        .cases(&wangge_core::CaseQuery {
            open_only: true,
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .map(|c| c.id)
        .collect();
    assert_eq!(open, [first.to_string()]);

    // A wrong merge is undone by reopening the duplicate.
    let reopened = desk.event(
        duplicate,
        json!({"type": "reopened", "reason": "并非同一摊贩"}),
    );
    assert_eq!(reopened["state"]["status"], "registered");
    assert!(reopened["state"]["merged_into"].is_null());
}
