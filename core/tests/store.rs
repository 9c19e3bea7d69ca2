//! The local store end to end: real SQLite files in a temporary folder.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use chrono::NaiveDate;
use support::*;
use wangge_core::doc::DocKind;
use wangge_core::{
    CaseEventKind, CaseQuery, CaseStatus, DeviceScope, Error, GpsFix, NewCase, Role, SourceChannel,
    Store, ZeroReportEventKind,
};

fn vendor_case(d: &Device, cell: &str, text: &str) -> NewCase {
    NewCase::from_handheld(
        "A02-001",
        text,
        fix_in(&d.store.catalog().grids, cell, d.clock_now()),
    )
}

trait ClockNow {
    fn clock_now(&self) -> i64;
}
impl ClockNow for Device {
    fn clock_now(&self) -> i64 {
        self.store.now_ms()
    }
}

#[test]
fn a_recorded_case_is_placed_in_its_grid_and_listed_for_the_officer() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::open(dir.path(), "phone", MONDAY_9AM);
    let id = d
        .store
        .record_case(
            &d.officer(),
            vendor_case(&d, "XT-W01-U1", "日晖新城门口流动摊贩"),
        )
        .unwrap();

    let case = d.store.case(id).unwrap();
    assert_eq!(case.state.status, CaseStatus::Reported);
    let grid = case.header.grid.as_ref().expect("placed");
    assert_eq!(grid.cell, "XT-W01-U1");
    assert_eq!(grid.workstation.as_deref(), Some("XT-W01"));
    assert_eq!(case.header.category, "A02");
    // Street matter: 15 minutes to clarify, 45 to handle.
    assert_eq!(case.state.response_due, Some(MONDAY_9AM + 15 * MINUTE));
    assert_eq!(case.state.resolution_due, Some(MONDAY_9AM + 45 * MINUTE));
    assert_eq!(case.state.holders, vec!["管理中心".to_owned()]);

    let mine = d.store.my_open_cases("officer-017", &[]).unwrap();
    assert_eq!(mine.len(), 1);
    assert_eq!(mine[0].id, id.to_string());
    assert!(!mine[0].overdue);
    assert!(
        d.store
            .my_open_cases("officer-999", &[])
            .unwrap()
            .is_empty()
    );
}

#[test]
fn the_whole_workflow_moves_status_holders_and_deadlines() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::open(dir.path(), "centre", MONDAY_9AM);
    let id = d
        .store
        .record_case(&d.officer(), vendor_case(&d, "XT-W02-U1", "占道经营"))
        .unwrap();
    let step = |by: &wangge_core::Actor, kind: CaseEventKind| {
        d.clock.advance(5 * MINUTE);
        d.store.add_case_event(id, by, kind).unwrap()
    };
    let r = step(
        &d.centre(),
        CaseEventKind::Registered {
            case_number: "XT-2026-000123".into(),
            checklist_item: None,
            grid: None,
        },
    );
    assert_eq!(r.state.status, CaseStatus::Registered);
    let r = step(
        &d.centre(),
        CaseEventKind::Dispatched {
            units: vec!["城管中队".into(), "物业".into()],
            lead: None,
            note: None,
        },
    );
    assert_eq!(r.state.status, CaseStatus::Dispatched);
    assert_eq!(
        r.state.holders,
        vec!["城管中队".to_owned(), "物业".to_owned()]
    );
    // The unit's list shows it.
    let units = vec!["城管中队".to_owned()];
    assert_eq!(
        d.store.my_open_cases("handler-31", &units).unwrap().len(),
        1
    );

    let r = step(&d.unit("城管中队"), CaseEventKind::Arrived { note: None });
    assert_eq!(r.state.status, CaseStatus::InProgress);
    assert_eq!(r.state.responded_at, Some(MONDAY_9AM + 15 * MINUTE));
    assert!(!r.state.response_overdue(d.store.now_ms()));

    // Handled at 9:50: five minutes late for a 45-minute limit.
    d.clock.advance(30 * MINUTE);
    let r = step(
        &d.unit("城管中队"),
        CaseEventKind::Feedback {
            note: "摊贩已劝离".into(),
            photos: vec![],
        },
    );
    // Joint handling: the first unit (the lead) has reported, the assisting one still owes.
    assert_eq!(r.state.status, CaseStatus::InProgress);
    assert_eq!(r.state.holders, vec!["物业".to_owned()]);
    let r = step(
        &d.unit("物业"),
        CaseEventKind::Feedback {
            note: "已清扫".into(),
            photos: vec![],
        },
    );
    assert_eq!(r.state.status, CaseStatus::Handled);
    assert!(r.state.resolution_overdue(d.store.now_ms()));
    let r = step(
        &d.centre(),
        CaseEventKind::Verified {
            passed: true,
            note: None,
            photos: vec![],
        },
    );
    assert_eq!(r.state.status, CaseStatus::Verified);
    let r = step(&d.centre(), CaseEventKind::Closed { note: None });
    assert_eq!(r.state.status, CaseStatus::Closed);
    assert!(r.state.holders.is_empty());
    assert_eq!(r.events.len(), 8);
    assert!(
        d.store
            .my_open_cases("handler-31", &units)
            .unwrap()
            .is_empty()
    );
    // Closed late cases are not in the "overdue now" list.
    assert!(d.store.overdue_cases().unwrap().is_empty());
}

#[test]
fn overdue_cases_show_who_holds_them() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::open(dir.path(), "centre", MONDAY_9AM);
    let late = d
        .store
        .record_case(
            &d.officer(),
            vendor_case(&d, "XT-W03-U1", "暴露垃圾无人清理"),
        )
        .unwrap();
    d.clock.advance(HOUR);
    let fresh = d
        .store
        .record_case(
            &d.officer(),
            vendor_case(&d, "XT-W03-U1", "新发现的流动摊贩"),
        )
        .unwrap();
    let overdue = d.store.overdue_cases().unwrap();
    let ids: Vec<_> = overdue.iter().map(|c| c.id.clone()).collect();
    assert_eq!(ids, vec![late.to_string()]);
    assert_eq!(overdue[0].holders, vec!["管理中心".to_owned()]);
    assert!(!ids.contains(&fresh.to_string()));
}

#[test]
fn queries_by_grid_category_and_chinese_text() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::open(dir.path(), "phone", MONDAY_9AM);
    let a = d
        .store
        .record_case(
            &d.officer(),
            vendor_case(&d, "XT-W01-U1", "日晖新城小区门口私设地锁"),
        )
        .unwrap();
    let b = d
        .store
        .record_case(
            &d.officer(),
            vendor_case(&d, "XT-W02-U1", "斜土路菜场旁流动摊贩"),
        )
        .unwrap();
    let mut g = vendor_case(&d, "XT-W01-U2", "垃圾箱房满溢");
    g.checklist_item = "A01-004".into();
    let c = d.store.record_case(&d.officer(), g).unwrap();

    let ids = |v: Vec<wangge_core::CaseSummary>| {
        let mut ids: Vec<String> = v.into_iter().map(|c| c.id).collect();
        ids.sort();
        ids
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(
        ids(d.store.cases_in_grid("XT-W01-U1").unwrap()),
        vec![a.to_string()]
    );
    assert_eq!(
        ids(d.store.cases_in_grid("XT-W01").unwrap()),
        sorted(vec![a.to_string(), c.to_string()])
    );
    assert_eq!(
        ids(d.store.cases_in_category("A02").unwrap()),
        sorted(vec![a.to_string(), b.to_string()])
    );
    assert_eq!(
        ids(d.store.cases_in_category("A01").unwrap()),
        vec![c.to_string()]
    );
    // Three characters or more go through the trigram index …
    assert_eq!(
        ids(d.store.search_cases("流动摊贩").unwrap()),
        vec![b.to_string()]
    );
    assert_eq!(
        ids(d.store.search_cases("日晖新城").unwrap()),
        vec![a.to_string()]
    );
    // … shorter ones through LIKE.
    assert_eq!(
        ids(d.store.search_cases("地锁").unwrap()),
        vec![a.to_string()]
    );
    assert_eq!(
        ids(d.store.search_cases("满").unwrap()),
        vec![c.to_string()]
    );
    assert!(d.store.search_cases("违法建筑").unwrap().is_empty());
    // Wildcards are literal.
    assert!(d.store.search_cases("%").unwrap().is_empty());
    let err = d.store.search_cases("  ").unwrap_err();
    assert!(matches!(err, Error::InvalidInput { .. }), "{err}");
    // Combined filters.
    let q = CaseQuery {
        open_only: true,
        grid: Some("XT-W01".into()),
        category: Some("A02".into()),
        ..CaseQuery::default()
    };
    assert_eq!(ids(d.store.cases(&q).unwrap()), vec![a.to_string()]);
}

fn snapshot(store: &Store) -> (u64, Vec<(CaseStatus, u64)>) {
    (
        store.document_count(DocKind::Case).unwrap(),
        store.status_counts().unwrap(),
    )
}

#[test]
fn bad_input_is_refused_with_a_typed_error_and_nothing_written() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::open(dir.path(), "phone", MONDAY_9AM);
    let id = d
        .store
        .record_case(&d.officer(), vendor_case(&d, "XT-W01-U1", "一个有效的案件"))
        .unwrap();
    let before = snapshot(&d.store);
    let chunks_before = d.store.document_bytes(&id.to_string()).unwrap();

    for (lat, lon) in [
        (f64::NAN, 121.44),
        (31.19, f64::INFINITY),
        (95.0, 121.44),
        (31.19, 200.0),
    ] {
        let fix = GpsFix {
            lat,
            lon,
            accuracy_m: 5.0,
            fix_time_ms: MONDAY_9AM,
        };
        let err = d
            .store
            .record_case(
                &d.officer(),
                NewCase::from_handheld("A02-001", "坐标错误", fix),
            )
            .unwrap_err();
        assert!(matches!(err, Error::InvalidGpsFix(_)), "{err}");
        assert!(err.to_string().contains("GPS"), "{err}");
    }
    let mut unknown = vendor_case(&d, "XT-W01-U1", "未知事项");
    unknown.checklist_item = "Z99-999".into();
    let err = d.store.record_case(&d.officer(), unknown).unwrap_err();
    assert!(
        matches!(&err, Error::UnknownChecklistItem(i) if i == "Z99-999"),
        "{err}"
    );

    let blank = vendor_case(&d, "XT-W01-U1", "   ");
    assert!(matches!(
        d.store.record_case(&d.officer(), blank).unwrap_err(),
        Error::InvalidInput {
            field: "description",
            ..
        }
    ));

    // Close before register.
    let err = d
        .store
        .add_case_event(id, &d.centre(), CaseEventKind::Closed { note: None })
        .unwrap_err();
    match &err {
        Error::EventNotAllowed { event, status, .. } => {
            assert_eq!(*event, "closed");
            assert_eq!(*status, CaseStatus::Reported);
        }
        other => panic!("expected EventNotAllowed, got {other}"),
    }
    assert!(
        err.to_string()
            .contains("not allowed while the case is reported"),
        "{err}"
    );
    // An officer may not register.
    let err = d
        .store
        .add_case_event(
            id,
            &d.officer(),
            CaseEventKind::Registered {
                case_number: "X-1".into(),
                checklist_item: None,
                grid: None,
            },
        )
        .unwrap_err();
    assert!(matches!(err, Error::RoleNotAllowed { .. }), "{err}");
    // Verification before handling.
    let err = d
        .store
        .add_case_event(
            id,
            &d.centre(),
            CaseEventKind::Verified {
                passed: false,
                note: None,
                photos: vec![],
            },
        )
        .unwrap_err();
    assert!(matches!(err, Error::EventNotAllowed { .. }), "{err}");
    // Registration naming an unknown item.
    let err = d
        .store
        .add_case_event(
            id,
            &d.centre(),
            CaseEventKind::Registered {
                case_number: "X-1".into(),
                checklist_item: Some("nope".into()),
                grid: None,
            },
        )
        .unwrap_err();
    assert!(matches!(err, Error::UnknownChecklistItem(_)), "{err}");
    // Unknown case.
    let err = d
        .store
        .add_case_event(
            wangge_core::CaseId::generate(),
            &d.centre(),
            CaseEventKind::Closed { note: None },
        )
        .unwrap_err();
    assert!(matches!(err, Error::CaseNotFound(_)), "{err}");

    assert_eq!(snapshot(&d.store), before);
    assert_eq!(
        d.store.document_bytes(&id.to_string()).unwrap(),
        chunks_before
    );
    assert_eq!(d.store.case(id).unwrap().events.len(), 1);
}

#[test]
fn a_fix_whose_circle_crosses_a_boundary_is_not_guessed() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::open(dir.path(), "phone", MONDAY_9AM);
    let mut fix = fix_in(&d.store.catalog().grids, "XT-W01-U1", MONDAY_9AM);
    fix.accuracy_m = 2_000.0; // the whole street fits in this circle
    let id = d
        .store
        .record_case(
            &d.officer(),
            NewCase::from_handheld("A02-001", "定位不准", fix),
        )
        .unwrap();
    let case = d.store.case(id).unwrap();
    assert_eq!(case.header.grid, None);
    assert!(case.header.grid_candidates.len() > 1);
    assert!(
        case.header
            .grid_candidates
            .contains(&"XT-W01-U1".to_owned())
    );
    // The centre picks the grid at registration.
    let r = d
        .store
        .add_case_event(
            id,
            &d.centre(),
            CaseEventKind::Registered {
                case_number: "XT-2026-7".into(),
                checklist_item: None,
                grid: Some("XT-W01-U1".into()),
            },
        )
        .unwrap();
    assert_eq!(r.state.grid.as_deref(), Some("XT-W01-U1"));
    assert_eq!(d.store.cases_in_grid("XT-W01").unwrap().len(), 1);
}

#[test]
fn hotline_cases_without_a_fix_take_the_grid_given() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::open(dir.path(), "centre", MONDAY_9AM);
    let new = NewCase {
        channel: SourceChannel::Hotline12345,
        checklist_item: "A03-001".into(),
        description: "居民来电：楼顶正在搭建违法建筑".into(),
        gps: None,
        address: Some("斜土路1175弄".into()),
        grid: Some("XT-W05".into()),
        photos: vec![],
        external_ref: Some("12345-20260302-0042".into()),
    };
    let id = d.store.record_case(&d.centre(), new).unwrap();
    let case = d.store.case(id).unwrap();
    // Illegal construction in progress: on site within 2 hours, handled in 7 days,
    // and the checklist says it goes to the district platform.
    assert_eq!(case.state.response_due, Some(MONDAY_9AM + 2 * HOUR));
    assert_eq!(case.state.resolution_due, Some(MONDAY_9AM + 7 * 24 * HOUR));
    assert!(case.state.escalation_required);
    let r = d
        .store
        .add_case_event(
            id,
            &d.centre(),
            CaseEventKind::Escalated {
                reason: "违建提交区级平台".into(),
            },
        )
        .unwrap();
    assert!(!r.state.escalation_required);
    assert!(r.state.holders.contains(&"区级平台".to_owned()));
    let mut bad = NewCase::from_handheld(
        "A02-001",
        "x",
        fix_in(&d.store.catalog().grids, "XT-W01-U1", 0),
    );
    bad.grid = Some("XT-NOWHERE".into());
    assert!(matches!(
        d.store.record_case(&d.officer(), bad).unwrap_err(),
        Error::UnknownGrid(_)
    ));
}

#[test]
fn zero_reports_are_one_per_workstation_day_and_amendable() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::open(dir.path(), "workstation", MONDAY_9AM + 8 * HOUR);
    let day = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    let r = d
        .store
        .file_zero_report(
            &d.staff(),
            "XT-W04",
            day,
            ZeroReportEventKind::Filed {
                nothing_to_report: true,
                note: None,
            },
        )
        .unwrap();
    assert!(r.nothing_to_report);
    let matter = wangge_core::MatterId::generate();
    let r = d
        .store
        .file_zero_report(
            &d.staff(),
            "XT-W04",
            day,
            ZeroReportEventKind::MatterRecorded {
                matter,
                checklist_item: Some("A01-004".into()),
                description: "垃圾箱房满溢，已联系保洁清运".into(),
                photos: vec![],
            },
        )
        .unwrap();
    assert!(!r.nothing_to_report);
    assert_eq!(r.matters.len(), 1);
    let r = d
        .store
        .file_zero_report(
            &d.staff(),
            "XT-W04",
            day,
            ZeroReportEventKind::MatterWithdrawn {
                matter,
                reason: "误报".into(),
            },
        )
        .unwrap();
    assert!(r.matters.is_empty());
    assert!(r.nothing_to_report);
    assert_eq!(r.events.len(), 3);
    assert_eq!(d.store.document_count(DocKind::ZeroReport).unwrap(), 1);
    assert_eq!(d.store.zero_report("XT-W04", day).unwrap().unwrap(), r);

    let missing = d.store.workstations_without_report(day).unwrap();
    assert_eq!(missing.len(), 17);
    assert!(!missing.contains(&"XT-W04".to_owned()));

    let future = NaiveDate::from_ymd_opt(2026, 3, 3).unwrap();
    let filed = ZeroReportEventKind::Filed {
        nothing_to_report: true,
        note: None,
    };
    assert!(matches!(
        d.store
            .file_zero_report(&d.staff(), "XT-W04", future, filed.clone())
            .unwrap_err(),
        Error::InvalidInput { field: "day", .. }
    ));
    assert!(matches!(
        d.store
            .file_zero_report(&d.staff(), "XT-W04-U1", day, filed.clone())
            .unwrap_err(),
        Error::UnknownGrid(_)
    ));
    assert!(matches!(
        d.store
            .file_zero_report(&d.officer(), "XT-W04", day, filed)
            .unwrap_err(),
        Error::RoleNotAllowed { .. }
    ));
}

#[test]
fn two_devices_filing_the_same_day_merge_into_one_report() {
    let dir = tempfile::tempdir().unwrap();
    let a = Device::open(dir.path(), "a", MONDAY_9AM);
    let b = Device::open(dir.path(), "b", MONDAY_9AM + 1000);
    let day = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    a.store
        .file_zero_report(
            &a.staff(),
            "XT-W07",
            day,
            ZeroReportEventKind::Filed {
                nothing_to_report: true,
                note: None,
            },
        )
        .unwrap();
    b.store
        .file_zero_report(
            &b.staff(),
            "XT-W07",
            day,
            ZeroReportEventKind::MatterRecorded {
                matter: wangge_core::MatterId::generate(),
                checklist_item: None,
                description: "调解邻里噪音纠纷".into(),
                photos: vec![],
            },
        )
        .unwrap();
    let id = "zr:XT-W07:2026-03-02";
    let from_a = a.store.document_bytes(id).unwrap().unwrap();
    let from_b = b.store.document_bytes(id).unwrap().unwrap();
    assert!(a.store.merge_document(id, &from_b).unwrap());
    assert!(b.store.merge_document(id, &from_a).unwrap());
    let ra = a.store.zero_report("XT-W07", day).unwrap().unwrap();
    let rb = b.store.zero_report("XT-W07", day).unwrap().unwrap();
    assert_eq!(ra, rb);
    assert_eq!(ra.events.len(), 2);
    // The matter beats the concurrent "nothing to report".
    assert!(!ra.nothing_to_report);
    assert_eq!(ra.matters.len(), 1);
    // Merging again changes nothing.
    assert!(!a.store.merge_document(id, &from_b).unwrap());
}

#[test]
fn cases_merge_between_devices_and_the_clock_orders_replies_after_what_was_seen() {
    let dir = tempfile::tempdir().unwrap();
    let phone = Device::open(dir.path(), "phone", MONDAY_9AM);
    // The centre's clock is an hour behind.
    let centre = Device::open(dir.path(), "centre", MONDAY_9AM - HOUR);
    let id = phone
        .store
        .record_case(
            &phone.officer(),
            vendor_case(&phone, "XT-W01-U1", "流动摊贩"),
        )
        .unwrap();
    let key = id.to_string();
    assert!(
        centre
            .store
            .merge_document(&key, &phone.store.document_bytes(&key).unwrap().unwrap())
            .unwrap()
    );
    let r = centre
        .store
        .add_case_event(
            id,
            &centre.centre(),
            CaseEventKind::Registered {
                case_number: "XT-1".into(),
                checklist_item: None,
                grid: None,
            },
        )
        .unwrap();
    assert_eq!(
        r.state.status,
        CaseStatus::Registered,
        "{:?}",
        r.state.superseded
    );
    assert!(r.events[1].at > r.events[0].at);
    assert!(
        phone
            .store
            .merge_document(&key, &centre.store.document_bytes(&key).unwrap().unwrap())
            .unwrap()
    );
    assert_eq!(
        phone.store.case(id).unwrap(),
        centre.store.case(id).unwrap()
    );
    assert_eq!(
        phone.store.case(id).unwrap().state.status,
        CaseStatus::Registered
    );

    let err = centre
        .store
        .merge_document(&key, b"not automerge")
        .unwrap_err();
    assert!(matches!(err, Error::CorruptDocument { .. }), "{err}");
}

#[test]
fn documents_are_compacted_and_survive_reopening() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("centre.sqlite3");
    let device = wangge_core::DeviceId::generate();
    let clock = std::sync::Arc::new(wangge_core::ManualClock::new(MONDAY_9AM));
    let centre = actor("centre-1", Role::Centre, None, device);
    let id;
    let before;
    {
        let store = Store::open(&path, device, catalog(), clock.clone()).unwrap();
        let fix = fix_in(&store.catalog().grids, "XT-W01-U1", MONDAY_9AM);
        id = store
            .record_case(
                &centre,
                NewCase::from_handheld("A02-001", "长时间讨论的案件", fix),
            )
            .unwrap();
        for i in 0..40 {
            clock.advance(MINUTE);
            store
                .add_case_event(
                    id,
                    &centre,
                    CaseEventKind::Comment {
                        text: format!("第{i}条备注"),
                        photos: vec![],
                    },
                )
                .unwrap();
        }
        before = store.case(id).unwrap();
        assert_eq!(before.events.len(), 41);
    }
    let store = Store::open(&path, device, catalog(), clock.clone()).unwrap();
    assert_eq!(store.case(id).unwrap(), before);
    let conn = rusqlite::Connection::open(&path).unwrap();
    let chunks: i64 = conn
        .query_row(
            "SELECT count(*) FROM doc_chunks WHERE doc_id = ?1",
            [id.to_string()],
            |r| r.get(0),
        )
        .unwrap();
    assert!(
        chunks <= wangge_core::store::COMPACT_AFTER,
        "{chunks} chunks"
    );
    // The same file cannot be opened as another device.
    let err = Store::open(&path, wangge_core::DeviceId::generate(), catalog(), clock).unwrap_err();
    assert!(err.to_string().contains("belongs to device"), "{err}");
}

#[test]
fn projections_rebuild_to_the_same_answers() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::open(dir.path(), "phone", MONDAY_9AM);
    for (cell, text) in [
        ("XT-W01-U1", "流动摊贩一"),
        ("XT-W02-U1", "流动摊贩二"),
        ("XT-W03-U1", "流动摊贩三"),
    ] {
        d.store
            .record_case(&d.officer(), vendor_case(&d, cell, text))
            .unwrap();
    }
    d.clock.advance(2 * HOUR);
    let q = CaseQuery::default();
    let before = d.store.cases(&q).unwrap();
    assert_eq!(d.store.rebuild_projections().unwrap(), 3);
    assert_eq!(d.store.cases(&q).unwrap(), before);
    assert_eq!(d.store.search_cases("流动摊贩").unwrap().len(), 3);
    assert_eq!(d.store.overdue_cases().unwrap().len(), 3);
}

/// Files a "nothing to report" zero report for `workstation` on `day`.
fn file_zero(d: &Device, workstation: &str, day: NaiveDate) {
    d.store
        .file_zero_report(
            &d.staff(),
            workstation,
            day,
            ZeroReportEventKind::Filed {
                nothing_to_report: true,
                note: None,
            },
        )
        .unwrap();
}

/// The five days Monday 2 to Friday 6 March 2026.
fn week() -> Vec<NaiveDate> {
    (2..=6)
        .map(|d| NaiveDate::from_ymd_opt(2026, 3, d).unwrap())
        .collect()
}

#[test]
fn on_a_workstations_device_the_missing_filing_query_lists_only_its_own_missing_days() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::open(dir.path(), "workstation", MONDAY_9AM + 4 * 24 * HOUR);
    // Unscoped (not yet enrolled): the whole street, as before.
    assert_eq!(d.store.workstations_in_scope().unwrap().len(), 18);
    d.store
        .set_scope(Some(&DeviceScope {
            workstations: vec!["XT-W04".into()],
            ..DeviceScope::default()
        }))
        .unwrap();
    let days = week();
    file_zero(&d, "XT-W04", days[0]);
    file_zero(&d, "XT-W04", days[2]);

    let missing: Vec<(NaiveDate, Vec<String>)> = days
        .iter()
        .map(|&day| (day, d.store.workstations_without_report(day).unwrap()))
        .filter(|(_, m)| !m.is_empty())
        .collect();
    assert_eq!(
        missing,
        vec![
            (days[1], vec!["XT-W04".to_owned()]),
            (days[3], vec!["XT-W04".to_owned()]),
            (days[4], vec!["XT-W04".to_owned()]),
        ],
        "only the workstation's own three unfiled days, not 17 others' every day"
    );

    // The scope survives closing the store.
    let (path, id, clock) = (d.store.path().to_owned(), d.id, d.clock.clone());
    drop(d);
    let store = Store::open(&path, id, catalog(), clock).unwrap();
    assert_eq!(store.workstations_in_scope().unwrap(), vec!["XT-W04"]);
    assert_eq!(
        store.workstations_without_report(days[1]).unwrap(),
        vec!["XT-W04"]
    );
    // Forgotten, it answers for the street again.
    store.set_scope(None).unwrap();
    assert_eq!(
        store.workstations_without_report(days[1]).unwrap().len(),
        18
    );
}

#[test]
fn on_a_block_officers_device_the_missing_filing_query_lists_only_the_blocks_workstations() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::open(dir.path(), "block", MONDAY_9AM + 4 * 24 * HOUR);
    d.store
        .set_scope(Some(&DeviceScope {
            blocks: vec!["XT-B1".into()],
            teams: vec!["网格一组".into()],
            ..DeviceScope::default()
        }))
        .unwrap();
    let block: Vec<String> = (1..=5).map(|n| format!("XT-W0{n}")).collect();
    assert_eq!(d.store.workstations_in_scope().unwrap(), block);
    let day = week()[1];
    // Reports the device holds (received by sync) of its block, and one of
    // another block it happens to hold.
    file_zero(&d, "XT-W02", day);
    file_zero(&d, "XT-W05", day);
    file_zero(&d, "XT-W10", day);
    assert_eq!(
        d.store.workstations_without_report(day).unwrap(),
        vec!["XT-W01", "XT-W03", "XT-W04"]
    );
    // A block and one workstation of another block; an unknown id adds nothing.
    d.store
        .set_scope(Some(&DeviceScope {
            blocks: vec!["XT-B4".into()],
            workstations: vec!["XT-W01".into(), "XT-W99".into()],
            ..DeviceScope::default()
        }))
        .unwrap();
    assert_eq!(
        d.store.workstations_without_report(day).unwrap(),
        vec!["XT-W01", "XT-W15", "XT-W16", "XT-W17", "XT-W18"]
    );
    // The centre's whole-street scope.
    d.store.set_scope(Some(&DeviceScope::street())).unwrap();
    assert_eq!(d.store.workstations_without_report(day).unwrap().len(), 15);
}
