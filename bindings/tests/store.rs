//! The exported API called from Rust, as Kotlin and Swift call it: the
//! wrapper stays a plain Rust type, so its delegation is tested here too.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use wangge_ffi::{
    Actor, CaseEventKind, CaseQuery, CaseStatus, Catalog, GpsFix, GridMatch, ManualClock, NewCase,
    Role, Store, SyncListener, SyncProgress, WanggeError, ZeroReportEntry, generate_device_id,
};

/// Awaits a future of the exported API on this thread, as a coroutine awaits it in Kotlin.
fn block_on<T>(fut: impl std::future::Future<Output = T>) -> T {
    use std::sync::{Arc, Mutex, mpsc};
    use std::task::{Context, Poll, Wake, Waker};
    struct Notify(Mutex<mpsc::Sender<()>>);
    impl Wake for Notify {
        fn wake(self: Arc<Self>) {
            let _ = self.0.lock().unwrap().send(());
        }
    }
    let (tx, rx) = mpsc::channel();
    let waker = Waker::from(Arc::new(Notify(Mutex::new(tx))));
    let mut cx = Context::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        rx.recv().unwrap();
    }
}

/// 09:00 China Standard Time on 2026-03-16, a Monday.
const MONDAY_9AM: i64 = 1_773_622_800_000;

fn officer() -> Actor {
    Actor {
        id: "officer-017".into(),
        role: Role::GridOfficer,
        unit: Some("网格一组".into()),
    }
}

/// Well inside unit grid XT-W01-U1 (WGS-84).
fn fix() -> GpsFix {
    GpsFix {
        lat: 31.199_147_7,
        lon: 121.427_325_5,
        accuracy_m: 5.0,
        fix_time_ms: MONDAY_9AM,
    }
}

/// A new store in `dir` for a new device, its clock at Monday 09:00.
fn fresh_store(dir: &tempfile::TempDir) -> std::sync::Arc<Store> {
    let path = dir.path().join("s.sqlite3").display().to_string();
    Store::open_with(
        path,
        generate_device_id().to_string(),
        Catalog::demo().unwrap(),
        Some(ManualClock::new(MONDAY_9AM)),
        None,
    )
    .unwrap()
}

fn new_case(item: &str) -> NewCase {
    NewCase {
        checklist_item: item.into(),
        description: "菜场门口流动摊贩占道经营".into(),
        gps: Some(fix()),
        channel: None,
        address: None,
        grid: None,
        photos: vec![],
        external_ref: None,
    }
}

#[test]
fn record_query_and_reopen_through_the_exported_api() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.sqlite3").display().to_string();
    let device = generate_device_id().to_string();
    let clock = ManualClock::new(MONDAY_9AM);
    let store = Store::open_with(
        path.clone(),
        device.clone(),
        Catalog::demo().unwrap(),
        Some(clock.clone()),
        None,
    )
    .unwrap();
    assert_eq!(store.today(), "2026-03-16");

    let catalog = store.catalog();
    assert!(matches!(
        catalog.lookup_grid(fix()).unwrap(),
        GridMatch::Inside { place } if place.cell == "XT-W01-U1"
    ));
    let id = store
        .record_case(officer(), new_case("A02-001"))
        .unwrap()
        .to_string();
    let record = store.get_case(id.clone()).unwrap();
    assert_eq!(record.state.status, CaseStatus::Reported);
    assert_eq!(record.header.grid.unwrap().cell, "XT-W01-U1");
    assert_eq!(
        record.state.resolution_due_ms,
        Some(MONDAY_9AM + 45 * 60_000)
    );

    clock.advance_ms(60 * 60_000);
    let overdue = store.overdue_cases().unwrap();
    assert_eq!(overdue.len(), 1);
    assert!(overdue[0].overdue);
    assert!(store.get_case(id.clone()).unwrap().state.overdue);

    let handled = store
        .add_event(
            id.clone(),
            officer(),
            CaseEventKind::HandledOnSpot {
                note: "已劝离".into(),
                photos: vec![],
            },
        )
        .unwrap();
    assert_eq!(handled.state.status, CaseStatus::Handled);
    assert_eq!(handled.events.len(), 2);
    assert_eq!(handled.events[1].device_id.to_string(), device);
    drop(store);

    let again =
        Store::open_with(path, device, Catalog::demo().unwrap(), Some(clock), None).unwrap();
    assert_eq!(again.cases(CaseQuery::default()).unwrap().len(), 1);
    assert_eq!(
        again.get_case(id).unwrap().state.status,
        CaseStatus::Handled
    );
}

#[test]
fn errors_cross_as_their_own_variants() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(&dir);
    let err = store
        .record_case(officer(), new_case("Z99-999"))
        .unwrap_err();
    assert!(matches!(err, WanggeError::UnknownChecklistItem(_)), "{err}");
    let mut bad = new_case("A01-001");
    bad.gps = Some(GpsFix {
        lat: f64::NAN,
        ..fix()
    });
    let err = store.record_case(officer(), bad).unwrap_err();
    assert!(matches!(err, WanggeError::InvalidGpsFix(_)), "{err}");
    let err = store.get_case("nope".into()).unwrap_err();
    assert!(matches!(err, WanggeError::InvalidInput(_)), "{err}");
    let err = store
        .file_zero_report(
            officer(),
            "XT-W01".into(),
            "2026-03-16".into(),
            ZeroReportEntry::Filed {
                nothing_to_report: true,
                note: None,
            },
        )
        .unwrap_err();
    assert!(matches!(err, WanggeError::RoleNotAllowed(_)), "{err}");
    let err = Store::open_with(
        dir.path().join("s.sqlite3").display().to_string(),
        generate_device_id().to_string(),
        Catalog::demo().unwrap(),
        None,
        None,
    )
    .unwrap_err();
    assert!(
        matches!(&err, WanggeError::InvalidInput(m) if m.contains("belongs to device")),
        "{err}"
    );
}

/// Records every progress report.
#[derive(Default)]
struct Recorder(std::sync::Mutex<Vec<SyncProgress>>);

impl SyncListener for Recorder {
    fn on_progress(&self, progress: SyncProgress) {
        self.0.lock().unwrap().push(progress);
    }
}

#[test]
fn photos_and_a_failed_sync_through_the_exported_api() {
    let dir = tempfile::tempdir().unwrap();
    let store = fresh_store(&dir);
    let err = block_on(store.clone().import_photo(vec![])).unwrap_err();
    assert!(matches!(err, WanggeError::Photo(_)), "{err}");
    let err = block_on(store.clone().import_photo(b"GIF89a not a photo".to_vec())).unwrap_err();
    assert!(matches!(err, WanggeError::Photo(_)), "{err}");

    let id = store
        .record_case(officer(), new_case("A02-001"))
        .unwrap()
        .to_string();
    assert_eq!(store.pending_count().unwrap(), 1);
    let status = store.case_sync_state(id.clone()).unwrap();
    assert!(!status.on_server && status.pending, "{status:?}");
    assert!(store.case_thumbnails(id).unwrap().is_empty());
    assert_eq!(store.photo_bytes("00".repeat(32)).unwrap(), None);

    // A closed port: the sync fails as `Sync` after its retries, nothing is lost.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let recorder = std::sync::Arc::new(Recorder::default());
    let err = block_on(store.clone().sync(
        format!("http://127.0.0.1:{port}"),
        "wgt_nothing".into(),
        Some(recorder.clone()),
    ))
    .unwrap_err();
    assert!(
        matches!(&err, WanggeError::Offline(m) if m.contains("cannot reach")),
        "{err}"
    );
    assert_eq!(store.pending_count().unwrap(), 1);
    let reports = recorder.0.lock().unwrap();
    assert_eq!(
        reports.first().map(|p| p.docs_pending),
        Some(1),
        "{reports:?}"
    );
}
