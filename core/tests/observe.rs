//! Observing the store: one notification per committed transaction that
//! changed something a screen shows, told after the commit, and never a
//! failed write because of an observer.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::sync::{Arc, Mutex};

use chrono::NaiveDate;
use support::*;
use wangge_core::{CaseEventKind, NewCase, Store, StoreChange, StoreObserver, ZeroReportEventKind};

/// Keeps every change, and what the store said when the observer read it back.
#[derive(Default)]
struct Log {
    changes: Mutex<Vec<StoreChange>>,
    /// Pending count read from inside the observer: the write is committed by then.
    pending_seen: Mutex<Vec<u64>>,
    store: Mutex<Option<Arc<Store>>>,
}

impl StoreObserver for Log {
    fn changed(&self, change: &StoreChange) {
        self.changes.lock().unwrap().push(change.clone());
        if let Some(store) = self.store.lock().unwrap().as_ref() {
            self.pending_seen
                .lock()
                .unwrap()
                .push(store.pending_count().unwrap());
        }
    }
}

impl Log {
    fn take(&self) -> Vec<StoreChange> {
        std::mem::take(&mut *self.changes.lock().unwrap())
    }
}

fn case_in(d: &Device, text: &str) -> NewCase {
    NewCase::from_handheld(
        "A02-001",
        text,
        fix_in(&d.store.catalog().grids, "XT-W01-U1", d.store.now_ms()),
    )
}

#[test]
fn each_write_is_one_change_told_after_its_commit_until_unobserved() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::open(dir.path(), "phone", MONDAY_9AM);
    let store = Arc::new(d.store);
    let log = Arc::new(Log::default());
    *log.store.lock().unwrap() = Some(store.clone());
    let id = store.observe(log.clone());

    let a = store
        .record_case(&d_officer(&store), case_in_store(&store, "摊贩一"))
        .unwrap();
    let b = store
        .record_case(&d_officer(&store), case_in_store(&store, "摊贩二"))
        .unwrap();
    let changes = log.take();
    assert_eq!(
        changes.iter().map(|c| c.cases.clone()).collect::<Vec<_>>(),
        vec![vec![a], vec![b]]
    );
    assert!(changes.iter().all(|c| c.sync_state && !c.all_cases));
    // Read back from inside the observer, the store already held each write.
    assert_eq!(*log.pending_seen.lock().unwrap(), vec![1, 2]);

    store
        .add_case_event(
            a,
            &d_officer(&store),
            CaseEventKind::Comment {
                text: "已劝离".into(),
                photos: vec![],
            },
        )
        .unwrap();
    assert_eq!(log.take().len(), 1, "an event: one change");

    // A write refused before its transaction tells nothing.
    let refused = store.add_case_event(a, &d_officer(&store), CaseEventKind::Closed { note: None });
    assert!(refused.is_err());
    assert!(log.take().is_empty(), "nothing committed, nothing told");

    // Retrying a document that was never refused changes nothing.
    assert!(!store.retry_refused(&a.to_string()).unwrap());
    assert!(log.take().is_empty());

    assert!(store.unobserve(id));
    assert!(!store.unobserve(id), "once");
    store
        .record_case(&d_officer(&store), case_in_store(&store, "摊贩三"))
        .unwrap();
    assert!(log.take().is_empty(), "unobserved");
}

#[test]
fn a_zero_report_is_named_by_its_workstation_and_day() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::open(dir.path(), "ws", MONDAY_9AM);
    let log = Arc::new(Log::default());
    d.store.observe(log.clone());
    let day = NaiveDate::from_ymd_opt(2026, 3, 2).unwrap();
    d.store
        .file_zero_report(
            &d.staff(),
            "XT-W01",
            day,
            ZeroReportEventKind::Filed {
                nothing_to_report: true,
                note: None,
            },
        )
        .unwrap();
    let changes = log.take();
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].zero_reports, vec![("XT-W01".to_owned(), day)]);
    assert!(changes[0].cases.is_empty() && changes[0].sync_state);
}

#[test]
fn a_merged_document_is_one_change_and_merging_it_again_tells_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let a = Device::open(dir.path(), "a", MONDAY_9AM);
    let b = Device::open(dir.path(), "b", MONDAY_9AM);
    let id = a
        .store
        .record_case(&a.officer(), case_in(&a, "摊贩"))
        .unwrap();
    let bytes = a.store.document_bytes(&id.to_string()).unwrap().unwrap();
    let log = Arc::new(Log::default());
    b.store.observe(log.clone());
    assert!(b.store.merge_document(&id.to_string(), &bytes).unwrap());
    assert_eq!(
        log.take()
            .iter()
            .map(|c| c.cases.clone())
            .collect::<Vec<_>>(),
        vec![vec![id]]
    );
    assert!(!b.store.merge_document(&id.to_string(), &bytes).unwrap());
    assert!(log.take().is_empty(), "nothing new: nothing told");
}

/// An observer that always panics.
struct Panics;

impl StoreObserver for Panics {
    fn changed(&self, _: &StoreChange) {
        panic!("a broken observer");
    }
}

#[test]
fn an_observer_that_panics_does_not_fail_the_write_nor_silence_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let d = Device::open(dir.path(), "phone", MONDAY_9AM);
    let log = Arc::new(Log::default());
    d.store.observe(Arc::new(Panics));
    d.store.observe(log.clone());
    let id = d
        .store
        .record_case(&d.officer(), case_in(&d, "摊贩"))
        .unwrap();
    assert_eq!(log.take().len(), 1);
    assert!(d.store.case(id).is_ok(), "the write stands");
}

fn d_officer(store: &Store) -> wangge_core::Actor {
    actor(
        "officer-017",
        wangge_core::Role::GridOfficer,
        Some("网格一组"),
        store.device(),
    )
}

fn case_in_store(store: &Store, text: &str) -> NewCase {
    NewCase::from_handheld(
        "A02-001",
        text,
        fix_in(&store.catalog().grids, "XT-W01-U1", store.now_ms()),
    )
}
