//! The server is the authority: every attack a device enrolled to one person could make with
//! a client written from `docs/sync-protocol.md` alone is refused per document, with its code;
//! nothing of the refused document is stored; the honest documents of the same request are
//! stored; and the server keeps serving.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use automerge::ActorId;
use wangge_core::case::{CaseEvent, CaseHeader, GridRef};
use wangge_core::doc::{DocKind, EventDoc};
use wangge_core::hlc::Hlc;
use wangge_core::sync::protocol::{PushDoc, SyncRequest, SyncResponse};
use wangge_core::zero_report::{ZeroReportEvent, ZeroReportEventKind, ZeroReportHeader};
use wangge_core::{
    Actor, CaseEventKind, CaseId, Clock, DeviceId, EventId, MatterId, NewCase, Role, SourceChannel,
};
use wangge_e2e::*;
use wangge_server::storage::{DeviceRole, Person, Storage, Unit, UnitKind};

/// A person of the test register.
fn person(staff_id: &str, roles: &[Role], units: &[&str]) -> Person {
    Person {
        staff_id: staff_id.into(),
        name: format!("测试{staff_id}"),
        roles: roles.to_vec(),
        admin: false,
        units: units.iter().map(|u| u.to_string()).collect(),
        blocks: vec![],
        workstations: vec![],
        active: true,
    }
}

fn unit(id: &str) -> Unit {
    Unit {
        id: id.into(),
        kind: UnitKind::Department,
        name: None,
    }
}

/// The street as the attacks need it: a server, the centre's token, an honest officer of
/// block B2 with a case recorded and synced, and the attacker: an officer of block B1.
struct Street {
    server: TestServer,
    centre_token: String,
    b2: TestDevice,
    b2_case: String,
    b1: TestDevice,
    _dir: tempfile::TempDir,
}

fn street() -> Street {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (_, centre_token) = server.enroll_person(
        &person("XT-CC-001", &[Role::Centre], &[]),
        &[],
        DeviceRole::Centre,
        everything(),
    );
    let b2 = server.device_for(
        dir.path(),
        "b2",
        &person("XT-GO-201", &[Role::GridOfficer], &[]),
        scope(&["XT-B2"], &[], &[]),
    );
    let b1 = server.device_for(
        dir.path(),
        "b1",
        &person("XT-GO-101", &[Role::GridOfficer], &[]),
        scope(&["XT-B1"], &[], &[]),
    );
    let b2_case = b2
        .store
        .record_case(
            &b2.me(Role::GridOfficer, None),
            NewCase::from_handheld("A02-001", "B2 的流动摊贩", fix_in("XT-W06-U1", MONDAY_9AM)),
        )
        .unwrap()
        .to_string();
    b2.sync();
    Street {
        server,
        centre_token,
        b2,
        b2_case,
        b1,
        _dir: dir,
    }
}

/// Posts a sync request as a client written from the docs would, and decodes the answer.
fn push(server: &TestServer, token: &str, docs: Vec<PushDoc>) -> SyncResponse {
    let body = SyncRequest {
        request_id: [9; 16],
        cursor: 0,
        max_docs: 1000,
        docs,
    }
    .encode();
    let resp = reqwest::blocking::Client::new()
        .post(format!("{}/v1/sync", server.base))
        .bearer_auth(token)
        .header("content-type", "application/octet-stream")
        .body(body)
        .send()
        .unwrap();
    assert_eq!(
        resp.status().as_u16(),
        200,
        "a refusal is per document, not a failed request"
    );
    SyncResponse::decode(&resp.bytes().unwrap()).unwrap()
}

fn doc_push(doc: &EventDoc, kind: DocKind, changes: Vec<u8>) -> PushDoc {
    PushDoc {
        doc_id: doc.id().to_owned(),
        kind,
        heads: doc.heads(),
        changes,
    }
}

fn whole(doc: &EventDoc, kind: DocKind) -> PushDoc {
    doc_push(doc, kind, doc.save())
}

/// The refusal code the server gave `doc_id`, if any.
fn refusal<'a>(resp: &'a SyncResponse, doc_id: &str) -> Option<&'a str> {
    resp.refused
        .iter()
        .find(|r| r.doc_id == doc_id)
        .map(|r| r.code.as_str())
}

#[track_caller]
fn assert_refused(resp: &SyncResponse, doc_id: &str, code: &str) {
    assert_eq!(
        refusal(resp, doc_id),
        Some(code),
        "refusals: {:?}",
        resp.refused
    );
    assert!(
        !resp.accepted.iter().any(|a| a.doc_id == doc_id),
        "a refused document is not acknowledged"
    );
    let r = resp.refused.iter().find(|r| r.doc_id == doc_id).unwrap();
    assert!(!r.message.is_empty());
}

/// An honest new case by the device's own person: goes through in the same request.
fn honest_case(dev: &TestDevice) -> EventDoc {
    let me = dev.me(Role::GridOfficer, None);
    let id = dev
        .store
        .record_case(
            &me,
            NewCase::from_handheld("A01-001", "暴露垃圾", fix_in("XT-W01-U1", MONDAY_9AM)),
        )
        .unwrap();
    let bytes = dev.store.document_bytes(&id.to_string()).unwrap().unwrap();
    EventDoc::load(&id.to_string(), &bytes, &ActorId::random()).unwrap()
}

#[track_caller]
fn assert_honest_stored(street: &Street, resp: &SyncResponse, honest: &EventDoc) {
    let acked = resp.accepted.iter().find(|a| a.doc_id == honest.id());
    assert_eq!(
        acked.map(|a| &a.heads),
        Some(&honest.heads()),
        "the honest document of the same request is stored"
    );
    assert!(
        street
            .server
            .storage
            .document(honest.id())
            .unwrap()
            .is_some()
    );
}

/// The server answers, and an honest device still syncs.
#[track_caller]
fn assert_healthy(street: &Street) {
    let health = reqwest::blocking::get(format!("{}/health", street.server.base)).unwrap();
    assert!(health.status().is_success());
    street.b2.sync();
    let case = street
        .server
        .storage
        .case(&street.b2_case)
        .unwrap()
        .unwrap();
    assert_eq!(case.header.description, "B2 的流动摊贩");
}

fn event(by: &Actor, ms: i64, kind: CaseEventKind) -> CaseEvent {
    CaseEvent {
        id: EventId::generate(),
        at: Hlc {
            wall_ms: ms,
            counter: 0,
        },
        by: by.clone(),
        kind,
    }
}

fn header(id: CaseId, reporter: &Actor, cell: &str, workstation: &str, block: &str) -> CaseHeader {
    CaseHeader {
        id,
        channel: SourceChannel::GridOfficerHandheld,
        checklist_item: "A02-001".into(),
        category: "A02".into(),
        domain: "A".into(),
        description: "伪造的案件".into(),
        gps: None,
        address: None,
        grid: Some(GridRef {
            cell: cell.into(),
            workstation: Some(workstation.into()),
            block: Some(block.into()),
        }),
        grid_candidates: vec![],
        reporter: reporter.clone(),
        photos: vec![],
        external_ref: None,
    }
}

fn case_doc(id: CaseId, h: &CaseHeader, events: &[CaseEvent]) -> EventDoc {
    EventDoc::create(
        &id.to_string(),
        &ActorId::random(),
        DocKind::Case,
        h,
        &events
            .iter()
            .map(|e| (e.id.to_string(), e))
            .collect::<Vec<_>>(),
    )
    .unwrap()
}

/// The server's copy of a document, loaded.
fn server_doc(street: &Street, id: &str) -> EventDoc {
    let bytes = street.server.storage.document(id).unwrap().unwrap();
    EventDoc::load(id, &bytes, &ActorId::random()).unwrap()
}

fn register(street: &Street, case: &str) -> String {
    let resp = reqwest::blocking::Client::new()
        .post(format!("{}/v1/cases/{case}/register", street.server.base))
        .bearer_auth(&street.centre_token)
        .json(&serde_json::json!({}))
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let record: serde_json::Value = resp.json().unwrap();
    record["state"]["case_number"].as_str().unwrap().to_owned()
}

#[test]
fn a_closed_case_with_its_own_number_and_an_invented_centre_is_refused() {
    let s = street();
    let me = s.b1.me(Role::GridOfficer, None);
    let invented_centre = Actor {
        id: "centre-desk".into(),
        role: Role::Centre,
        unit: None,
        device: DeviceId::generate(),
    };
    let id = CaseId::generate();
    let t = MONDAY_9AM;
    let events = [
        event(&me, t, CaseEventKind::Reported),
        event(
            &invented_centre,
            t + 1,
            CaseEventKind::Registered {
                case_number: "XT-2026-900000".into(),
                checklist_item: None,
                grid: None,
            },
        ),
        event(
            &invented_centre,
            t + 2,
            CaseEventKind::Dispatched {
                units: vec!["城管中队".into()],
                lead: None,
                note: None,
            },
        ),
        event(
            &invented_centre,
            t + 3,
            CaseEventKind::Feedback {
                note: "已处理".into(),
                photos: vec![],
            },
        ),
        event(
            &invented_centre,
            t + 4,
            CaseEventKind::Verified {
                passed: true,
                note: None,
                photos: vec![],
            },
        ),
        event(
            &invented_centre,
            t + 5,
            CaseEventKind::Closed { note: None },
        ),
    ];
    let forged = case_doc(id, &header(id, &me, "XT-W01", "XT-W01", "XT-B1"), &events);
    let honest = honest_case(&s.b1);
    let resp = push(
        &s.server,
        &s.b1.token,
        vec![whole(&forged, DocKind::Case), whole(&honest, DocKind::Case)],
    );
    assert_refused(&resp, forged.id(), "wrong_author");
    assert!(s.server.storage.document(forged.id()).unwrap().is_none());
    assert_honest_stored(&s, &resp, &honest);
    // The number counter did not move: the next real registration is the first.
    let number = register(&s, &s.b2_case);
    assert!(number.ends_with("-000001"), "{number}");

    // Even as the device's own person, a registration never comes from a device.
    let id = CaseId::generate();
    let forged = case_doc(
        id,
        &header(id, &me, "XT-W01", "XT-W01", "XT-B1"),
        &[
            event(&me, t, CaseEventKind::Reported),
            event(
                &me,
                t + 1,
                CaseEventKind::Registered {
                    case_number: "XT-2026-900001".into(),
                    checklist_item: None,
                    grid: None,
                },
            ),
        ],
    );
    let resp = push(&s.server, &s.b1.token, vec![whole(&forged, DocKind::Case)]);
    assert_refused(&resp, forged.id(), "case_number_from_device");
    assert_healthy(&s);
}

#[test]
fn a_new_document_under_the_id_of_another_blocks_case_is_refused() {
    let s = street();
    let me = s.b1.me(Role::GridOfficer, None);
    let id = CaseId::parse(&s.b2_case).unwrap();
    let before = server_doc(&s, &s.b2_case).heads();
    let hijack = case_doc(
        id,
        &header(id, &me, "XT-W01", "XT-W01", "XT-B1"),
        &[event(&me, MONDAY_9AM + 10, CaseEventKind::Reported)],
    );
    let honest = honest_case(&s.b1);
    let resp = push(
        &s.server,
        &s.b1.token,
        vec![whole(&hijack, DocKind::Case), whole(&honest, DocKind::Case)],
    );
    assert_refused(&resp, &s.b2_case, "out_of_scope");
    assert_eq!(server_doc(&s, &s.b2_case).heads(), before, "nothing stored");
    assert_honest_stored(&s, &resp, &honest);
    // The B2 case did not flow to the B1 device.
    s.b1.sync();
    assert!(!s.b1.doc_ids().contains(&s.b2_case));

    // The same header rewrite by the case's own device: the header is written once.
    let b2_me = s.b2.me(Role::GridOfficer, None);
    let mut stored = server_doc(&s, &s.b2_case);
    let mut h: CaseHeader = stored.header().unwrap();
    h.description = "改写的描述".into();
    h.reporter = b2_me;
    let rewrite = {
        use automerge::transaction::Transactable;
        let mut am = stored.automerge().clone();
        am.transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.put(
                automerge::ROOT,
                "header",
                serde_json::to_string(&h).unwrap(),
            )?;
            Ok(())
        })
        .unwrap();
        let changes = am.save_after(&stored.heads());
        stored = EventDoc::load(&s.b2_case, &am.save(), &ActorId::random()).unwrap();
        changes
    };
    let resp = push(
        &s.server,
        &s.b2.token,
        vec![doc_push(&stored, DocKind::Case, rewrite)],
    );
    assert_refused(&resp, &s.b2_case, "header_changed");
    assert_eq!(server_doc(&s, &s.b2_case).heads(), before);
    assert_healthy(&s);
}

#[test]
fn an_event_on_another_blocks_case_is_refused() {
    let s = street();
    let me = s.b1.me(Role::GridOfficer, None);
    let mut doc = server_doc(&s, &s.b2_case);
    let before = doc.heads();
    let reject = event(
        &me,
        MONDAY_9AM + 60_000,
        CaseEventKind::Rejected {
            reason: "不是问题".into(),
        },
    );
    doc.add_event(&reject.id.to_string(), &reject).unwrap();
    let resp = push(
        &s.server,
        &s.b1.token,
        vec![doc_push(&doc, DocKind::Case, doc.save_after(&before))],
    );
    assert_refused(&resp, &s.b2_case, "out_of_scope");
    let case = s.server.storage.case(&s.b2_case).unwrap().unwrap();
    assert_eq!(
        case.state.status.as_str(),
        "reported",
        "the case was not rejected"
    );
    assert_healthy(&s);
}

#[test]
fn in_scope_the_role_and_the_unit_decide() {
    let s = street();
    // A second officer of block B2 (in scope) tries centre and unit actions.
    let dir = tempfile::tempdir().unwrap();
    let peer = s.server.device_for(
        dir.path(),
        "b2-peer",
        &person("XT-GO-202", &[Role::GridOfficer], &["网格二组"]),
        scope(&["XT-B2"], &[], &[]),
    );
    peer.sync();
    let me = peer.me(Role::GridOfficer, Some("网格二组"));
    let base = server_doc(&s, &s.b2_case);
    for (kind, code) in [
        (
            CaseEventKind::Rejected { reason: "x".into() },
            "role_not_allowed",
        ),
        (
            CaseEventKind::Feedback {
                note: "已处理".into(),
                photos: vec![],
            },
            "not_dispatched_to_unit",
        ),
        (
            CaseEventKind::HandedBack {
                reason: "不归我们".into(),
            },
            "not_dispatched_to_unit",
        ),
        (
            CaseEventKind::Withdrawn {
                units: vec!["城管中队".into()],
                reason: "派错".into(),
            },
            "role_not_allowed",
        ),
        (
            CaseEventKind::Verified {
                passed: true,
                note: None,
                photos: vec![],
            },
            "role_not_allowed",
        ),
    ] {
        let mut doc = base.clone();
        let e = event(&me, MONDAY_9AM + 60_000, kind);
        doc.add_event(&e.id.to_string(), &e).unwrap();
        let resp = push(
            &s.server,
            &peer.token,
            vec![doc_push(&doc, DocKind::Case, doc.save_after(&base.heads()))],
        );
        assert_refused(&resp, &s.b2_case, code);
    }
    // A role the person does not hold, even for an allowed kind.
    let mut doc = base.clone();
    let e = event(
        &peer.me(Role::Supervisor, None),
        MONDAY_9AM + 60_000,
        CaseEventKind::Comment {
            text: "督察意见".into(),
            photos: vec![],
        },
    );
    doc.add_event(&e.id.to_string(), &e).unwrap();
    let resp = push(
        &s.server,
        &peer.token,
        vec![doc_push(&doc, DocKind::Case, doc.save_after(&base.heads()))],
    );
    assert_refused(&resp, &s.b2_case, "wrong_author");
    // A comment as themselves is fine.
    let mut doc = base.clone();
    let e = event(
        &me,
        MONDAY_9AM + 60_000,
        CaseEventKind::Comment {
            text: "现场仍有摊贩".into(),
            photos: vec![],
        },
    );
    doc.add_event(&e.id.to_string(), &e).unwrap();
    let resp = push(
        &s.server,
        &peer.token,
        vec![doc_push(&doc, DocKind::Case, doc.save_after(&base.heads()))],
    );
    assert!(resp.refused.is_empty(), "{:?}", resp.refused);
    assert_eq!(server_doc(&s, &s.b2_case).heads(), doc.heads());
    assert_healthy(&s);
}

#[test]
fn events_are_only_added_never_changed_or_deleted() {
    let s = street();
    let base = server_doc(&s, &s.b2_case);
    let key = base
        .root_keys()
        .into_iter()
        .find(|k| k.starts_with("ev:"))
        .unwrap();
    use automerge::transaction::Transactable;
    for (what, code) in [("delete", "event_removed"), ("change", "event_changed")] {
        let mut am = base.automerge().clone();
        am.transact::<_, _, automerge::AutomergeError>(|tx| {
            if what == "delete" {
                tx.delete(automerge::ROOT, key.as_str())?;
            } else {
                tx.put(automerge::ROOT, key.as_str(), "{}")?;
            }
            Ok(())
        })
        .unwrap();
        let after = EventDoc::load(&s.b2_case, &am.save(), &ActorId::random()).unwrap();
        let resp = push(
            &s.server,
            &s.b2.token,
            vec![doc_push(
                &after,
                DocKind::Case,
                am.save_after(&base.heads()),
            )],
        );
        let got = refusal(&resp, &s.b2_case);
        // A changed event no longer parses as an event, or differs: either way refused.
        assert!(
            got == Some(code) || (what == "change" && got == Some("corrupt_document")),
            "{what}: {:?}",
            resp.refused
        );
        assert_eq!(server_doc(&s, &s.b2_case).heads(), base.heads());
    }
    assert_healthy(&s);
}

#[test]
fn a_case_naming_another_device_as_reporter_is_refused_and_not_delivered() {
    let s = street();
    let victim = s.b2.me(Role::GridOfficer, None);
    let id = CaseId::generate();
    let forged = case_doc(
        id,
        &header(id, &victim, "XT-W06", "XT-W06", "XT-B2"),
        &[event(&victim, MONDAY_9AM + 5, CaseEventKind::Reported)],
    );
    let honest = honest_case(&s.b1);
    let resp = push(
        &s.server,
        &s.b1.token,
        vec![whole(&forged, DocKind::Case), whole(&honest, DocKind::Case)],
    );
    assert_refused(&resp, forged.id(), "wrong_author");
    assert_honest_stored(&s, &resp, &honest);
    s.b2.sync();
    assert!(!s.b2.doc_ids().contains(&forged.id().to_owned()));
    assert_healthy(&s);
}

#[test]
fn a_zero_report_of_another_workstation_is_refused() {
    let s = street();
    let dir = tempfile::tempdir().unwrap();
    let staff = s.server.device_for(
        dir.path(),
        "w01",
        &person("XT-WS-001", &[Role::WorkstationStaff], &[]),
        scope(&[], &["XT-W01"], &[]),
    );
    let me = staff.me(Role::WorkstationStaff, None);
    let day = wangge_core::store::cst_day(MONDAY_9AM);
    let foreign = ZeroReportHeader {
        workstation: "XT-W06".into(),
        day,
    };
    let entry = ZeroReportEvent {
        id: EventId::generate(),
        at: Hlc {
            wall_ms: MONDAY_9AM,
            counter: 0,
        },
        by: me.clone(),
        kind: ZeroReportEventKind::Filed {
            nothing_to_report: true,
            note: None,
        },
    };
    let doc = EventDoc::create(
        &foreign.doc_id(),
        &ActorId::random(),
        DocKind::ZeroReport,
        &foreign,
        &[(entry.id.to_string(), &entry)],
    )
    .unwrap();
    // Its own workstation's report, in the same request, goes through.
    let own = staff
        .store
        .file_zero_report(
            &me,
            "XT-W01",
            day,
            ZeroReportEventKind::MatterRecorded {
                matter: MatterId::generate(),
                checklist_item: None,
                description: "楼道堆物已清理".into(),
                photos: vec![],
            },
        )
        .unwrap();
    let own_id = own.header.doc_id();
    let own_bytes = staff.store.document_bytes(&own_id).unwrap().unwrap();
    let own_doc = EventDoc::load(&own_id, &own_bytes, &ActorId::random()).unwrap();
    let resp = push(
        &s.server,
        &staff.token,
        vec![
            whole(&doc, DocKind::ZeroReport),
            whole(&own_doc, DocKind::ZeroReport),
        ],
    );
    assert_refused(&resp, doc.id(), "out_of_scope");
    assert!(s.server.storage.document(doc.id()).unwrap().is_none());
    assert!(resp.accepted.iter().any(|a| a.doc_id == own_id));
    assert_healthy(&s);
}

#[test]
fn garbage_trailing_bytes_and_empty_pushes_are_refused() {
    let s = street();
    let base = server_doc(&s, &s.b2_case);
    let me = s.b2.me(Role::GridOfficer, None);
    let mut doc = base.clone();
    let e = event(
        &me,
        MONDAY_9AM + 60_000,
        CaseEventKind::Comment {
            text: "补充".into(),
            photos: vec![],
        },
    );
    doc.add_event(&e.id.to_string(), &e).unwrap();
    let valid = doc.save_after(&base.heads());
    let fresh = CaseId::generate().to_string();
    let cases: Vec<(PushDoc, &str)> = vec![
        (
            doc_push(&doc, DocKind::Case, b"not automerge at all".to_vec()),
            "garbage",
        ),
        (
            doc_push(
                &doc,
                DocKind::Case,
                [valid.clone(), b"\x85\x6f\x4a\x83junk".to_vec()].concat(),
            ),
            "valid then garbage",
        ),
        (
            PushDoc {
                doc_id: fresh.clone(),
                kind: DocKind::Case,
                heads: vec![],
                changes: vec![],
            },
            "empty for an unknown id",
        ),
    ];
    for (p, what) in cases {
        let id = p.doc_id.clone();
        let resp = push(&s.server, &s.b2.token, vec![p]);
        assert_eq!(
            refusal(&resp, &id),
            Some("corrupt_document"),
            "{what}: {resp:?}"
        );
        assert!(resp.accepted.is_empty(), "{what}");
    }
    assert_eq!(server_doc(&s, &s.b2_case).heads(), base.heads());
    assert!(s.server.storage.document(&fresh).unwrap().is_none());
    assert_healthy(&s);
}

#[test]
fn a_device_enrolled_to_no_person_stores_nothing() {
    let s = street();
    let dir = tempfile::tempdir().unwrap();
    let (device, token) = s
        .server
        .enroll("legacy", DeviceRole::Field, scope(&["XT-B1"], &[], &[]));
    // An enrolment from before people existed: no person.
    let conn = rusqlite_conn(&s.server.db);
    conn.execute(
        "UPDATE devices SET person_id = NULL WHERE device_id = ?1",
        [&device.device_id],
    )
    .unwrap();
    let legacy = TestDevice::open(dir.path(), "legacy", &device, &s.server.base, &token);
    let case = legacy
        .store
        .record_case(
            &legacy.me(Role::GridOfficer, None),
            NewCase::from_handheld("A01-001", "旧设备", fix_in("XT-W01-U1", MONDAY_9AM)),
        )
        .unwrap();
    let progress = legacy.sync();
    assert_eq!(progress.docs_refused, 1);
    let status = legacy.store.case_sync_status(case).unwrap();
    assert!(status.refused && !status.on_server && !status.pending);
    assert_eq!(
        legacy
            .store
            .refusal(&case.to_string())
            .unwrap()
            .unwrap()
            .code,
        "no_person"
    );
    assert!(
        s.server
            .storage
            .document(&case.to_string())
            .unwrap()
            .is_none()
    );
    // It is not pushed again until retried.
    assert_eq!(legacy.sync().docs_refused, 0);
    assert!(legacy.store.retry_refused(&case.to_string()).unwrap());
    assert_eq!(legacy.sync().docs_refused, 1);
    assert_healthy(&s);
}

#[test]
fn the_device_keeps_a_refused_document_and_shows_why() {
    let s = street();
    // The register changes under the device: its person loses the grid officer role.
    let me = s.b1.me(Role::GridOfficer, None);
    let case =
        s.b1.store
            .record_case(
                &me,
                NewCase::from_handheld(
                    "A01-001",
                    "路边垃圾",
                    fix_in("XT-W01-U1", s.b1.clock.now_ms()),
                ),
            )
            .unwrap();
    s.server
        .storage
        .upsert_roster(
            &[person("XT-GO-101", &[Role::Supervisor], &[])],
            &[unit("网格一组")],
        )
        .unwrap();
    let progress = s.b1.sync();
    assert_eq!(progress.docs_refused, 1);
    let refusal = s.b1.store.refusal(&case.to_string()).unwrap().unwrap();
    assert_eq!(refusal.code, "wrong_author");
    assert_eq!(s.b1.store.refused_documents().unwrap(), vec![refusal]);
    // The case is still on the device, whole.
    assert_eq!(
        s.b1.store.case(case).unwrap().header.description,
        "路边垃圾"
    );
    // Restored role: a retry delivers it and clears the refusal.
    s.server
        .storage
        .upsert_roster(&[person("XT-GO-101", &[Role::GridOfficer], &[])], &[])
        .unwrap();
    s.b1.store.retry_refused(&case.to_string()).unwrap();
    s.b1.sync();
    let status = s.b1.store.case_sync_status(case).unwrap();
    assert!(status.on_server && !status.refused && !status.pending);
    assert!(s.b1.store.refused_documents().unwrap().is_empty());
    assert_healthy(&s);
}

#[test]
fn a_case_in_one_non_canonically_encoded_change_is_refused() {
    let s = street();
    let me = s.b1.me(Role::GridOfficer, None);
    let id = CaseId::generate();
    let h = header(id, &me, "XT-W01", "XT-W01", "XT-B1");
    let report = event(&me, MONDAY_9AM + 7, CaseEventKind::Reported);
    // Valid: Automerge loads it, and every rule holds. But saved again it no longer loads.
    let change = wangge_e2e::hostile::case_document_change(&[7; 16], &h, &[report]);
    let doc = EventDoc::load(&id.to_string(), &change, &ActorId::random()).unwrap();
    let honest = honest_case(&s.b1);
    let resp = push(
        &s.server,
        &s.b1.token,
        vec![
            doc_push(&doc, DocKind::Case, change),
            whole(&honest, DocKind::Case),
        ],
    );
    assert_refused(&resp, doc.id(), "corrupt_document");
    assert!(
        resp.refused[0].message.contains("load back once saved"),
        "{}",
        resp.refused[0].message
    );
    assert!(s.server.storage.document(doc.id()).unwrap().is_none());
    assert_honest_stored(&s, &resp, &honest);
    // The back office still reads every case, and registration works.
    let status = reqwest::blocking::Client::new()
        .get(format!("{}/v1/cases/{}", s.server.base, honest.id()))
        .bearer_auth(&s.centre_token)
        .send()
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 200);
    register(&s, honest.id());
    assert_healthy(&s);
}

#[test]
fn a_change_naming_an_actor_nobody_knows_is_refused_without_a_crash() {
    use wangge_e2e::hostile::{ActorFlaw, Scalar, unknown_actor_change};
    let s = street();
    let me = s.b2.me(Role::GridOfficer, None);
    let base = server_doc(&s, &s.b2_case);
    let comment = event(
        &me,
        MONDAY_9AM + 60_000,
        CaseEventKind::Comment {
            text: "补充".into(),
            photos: vec![],
        },
    );
    let values = vec![(
        format!("ev:{}", comment.id),
        Scalar::Str(serde_json::to_string(&comment).unwrap()),
    )];
    for flaw in [
        ActorFlaw::IndexBeyondHeader,
        ActorFlaw::ActorUnknownToDocument,
    ] {
        let change = unknown_actor_change(&[0x42; 16], &values, flaw);
        let honest = honest_case(&s.b1);
        // On a stored case (the device's own block) ...
        let resp = push(
            &s.server,
            &s.b2.token,
            vec![doc_push(&base, DocKind::Case, change.clone())],
        );
        assert_eq!(
            refusal(&resp, &s.b2_case),
            Some("corrupt_document"),
            "{flaw:?}"
        );
        // ... and as a new document, next to an honest one.
        let fresh = CaseId::generate().to_string();
        let resp = push(
            &s.server,
            &s.b1.token,
            vec![
                PushDoc {
                    doc_id: fresh.clone(),
                    kind: DocKind::Case,
                    heads: vec![],
                    changes: change,
                },
                whole(&honest, DocKind::Case),
            ],
        );
        assert_eq!(refusal(&resp, &fresh), Some("corrupt_document"), "{flaw:?}");
        assert_honest_stored(&s, &resp, &honest);
        assert!(s.server.storage.document(&fresh).unwrap().is_none());
    }
    assert_eq!(server_doc(&s, &s.b2_case).heads(), base.heads());
    assert_healthy(&s);
}

#[test]
fn an_unloadable_stored_document_is_quarantined_and_repaired_from_a_device() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let (_, centre_token) = server.enroll_person(
        &person("XT-CC-001", &[Role::Centre], &[]),
        &[],
        DeviceRole::Centre,
        everything(),
    );
    let b2 = server.device_for(
        dir.path(),
        "b2",
        &person("XT-GO-201", &[Role::GridOfficer], &[]),
        scope(&["XT-B2"], &[], &[]),
    );
    let case = b2
        .store
        .record_case(
            &b2.me(Role::GridOfficer, None),
            NewCase::from_handheld("A02-001", "B2 的流动摊贩", fix_in("XT-W06-U1", MONDAY_9AM)),
        )
        .unwrap()
        .to_string();
    b2.sync();
    let port = server.port();
    let db = server.db.clone();
    let stored = server.storage.case(&case).unwrap().unwrap();
    server.stop();

    // What an older server could have stored: the same case, saved from a non-canonical change,
    // so that the bytes no longer load. The database is set back to version 7 (before the
    // quarantine existed).
    let change =
        wangge_e2e::hostile::case_document_change(&[3; 16], &stored.header, &stored.events);
    let damaged = automerge::Automerge::load(&change).unwrap().save();
    assert!(automerge::Automerge::load(&damaged).is_err());
    let conn = rusqlite_conn(&db);
    conn.execute(
        "UPDATE documents SET data = ?2 WHERE doc_id = ?1",
        rusqlite::params![case, damaged],
    )
    .unwrap();
    conn.execute_batch(
        "DROP INDEX documents_quarantined;
         ALTER TABLE documents DROP COLUMN quarantined_at;
         ALTER TABLE documents DROP COLUMN quarantine_reason;
         PRAGMA user_version = 7;",
    )
    .unwrap();
    drop(conn);

    let server = TestServer::start_on(db, port);
    let quarantined = server.storage.quarantined().unwrap();
    assert_eq!(quarantined.len(), 1);
    assert_eq!(quarantined[0].doc_id, case);
    assert!(
        quarantined[0].reason.contains("heads"),
        "{}",
        quarantined[0].reason
    );
    // Not served: the back office says why, a new device of the block does not receive it.
    let resp = reqwest::blocking::Client::new()
        .get(format!("{}/v1/cases/{case}", server.base))
        .bearer_auth(&centre_token)
        .send()
        .unwrap();
    assert_eq!(resp.status().as_u16(), 409);
    let body: serde_json::Value = resp.json().unwrap();
    assert_eq!(body["error"], "quarantined");
    let newcomer = server.device_for(
        dir.path(),
        "b2-new",
        &person("XT-GO-202", &[Role::GridOfficer], &[]),
        scope(&["XT-B2"], &[], &[]),
    );
    newcomer.sync();
    assert!(!newcomer.doc_ids().contains(&case));

    // The reporting device is asked for its copy, sends it whole, and that repairs it.
    b2.sync();
    b2.sync();
    assert!(server.storage.quarantined().unwrap().is_empty());
    let repaired = server.storage.case(&case).unwrap().unwrap();
    assert_eq!(repaired.header, stored.header);
    assert_eq!(repaired.events, stored.events);
    newcomer.sync();
    assert!(newcomer.doc_ids().contains(&case));
}

#[test]
fn a_forged_server_seal_does_not_pass_a_centre_event() {
    let s = street();
    let base = server_doc(&s, &s.b2_case);
    let invented_centre = Actor {
        id: "XT-CC-001".into(),
        role: Role::Centre,
        unit: None,
        device: DeviceId::generate(),
    };
    let reject = event(
        &invented_centre,
        MONDAY_9AM + 60_000,
        CaseEventKind::Rejected {
            reason: "伪造".into(),
        },
    );
    let mut doc = base.clone();
    doc.add_sealed_event(&reject.id.to_string(), &reject, |_| "ab".repeat(32))
        .unwrap();
    let resp = push(
        &s.server,
        &s.b2.token,
        vec![doc_push(&doc, DocKind::Case, doc.save_after(&base.heads()))],
    );
    assert_refused(&resp, &s.b2_case, "wrong_author");
    assert_eq!(server_doc(&s, &s.b2_case).heads(), base.heads());
    // A real seal on one event does not cover another.
    register(&s, &s.b2_case);
    s.b2.sync();
    let sealed = server_doc(&s, &s.b2_case);
    let seal_key = sealed
        .root_keys()
        .into_iter()
        .find(|k| k.starts_with("seal:"))
        .expect("the registration is sealed");
    let real_seal = match &sealed.root_values(&seal_key)[0] {
        wangge_core::doc::RootValue::Text(t) => t.clone(),
        other => panic!("{other:?}"),
    };
    let mut doc = sealed.clone();
    doc.add_sealed_event(&reject.id.to_string(), &reject, |_| real_seal.clone())
        .unwrap();
    let resp = push(
        &s.server,
        &s.b2.token,
        vec![doc_push(
            &doc,
            DocKind::Case,
            doc.save_after(&sealed.heads()),
        )],
    );
    assert_refused(&resp, &s.b2_case, "wrong_author");
    assert_healthy(&s);
}
