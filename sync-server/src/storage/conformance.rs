//! The storage conformance suite: what every backend must do, written once against the
//! [`Storage`] trait and run for every backend by
//! [`storage_conformance_tests!`](crate::storage_conformance_tests), as matrix-rust-sdk runs
//! one `statestore_integration_tests!` suite for each of its state stores.
//!
//! Each test is a function taking a fresh, empty storage opened with [`catalog`] (the demo
//! street). The tests reach the backend through the trait only: no SQL, no file, nothing a
//! second backend would lack (a phone's own store, in a temporary directory, makes the
//! documents a device pushes). What only one backend has (migrating its old schemas, its file layout, its
//! triggers) is tested beside that backend.
//!
//! A backend joins the suite with one invocation in its own test module, naming a function
//! that opens a fresh storage for one test:
//!
//! ```ignore
//! #[cfg(test)]
//! mod conformance {
//!     use wangge_server::storage::conformance::Fresh;
//!     fn fresh(catalog: std::sync::Arc<wangge_core::Catalog>) -> Fresh<MyStorage> {
//!         let guard = /* a temporary directory, a database dropped at the end */;
//!         Fresh::new(MyStorage::open(/* … */, catalog).unwrap(), guard)
//!     }
//!     wangge_server::storage_conformance_tests!(fresh);
//! }
//! ```
//!
//! A new test is a `pub fn name(storage: &dyn Storage)` here, listed in the macro (a test
//! of this module fails when one is missing from the list).
//!
//! Compiled for this crate's tests, and for other crates with the `testing` feature.

#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    reason = "a test suite: a failed step is a test failure"
)]

use std::any::Any;
use std::sync::Arc;

use sha2::{Digest, Sha256};
use wangge_core::authority::Author;
use wangge_core::sync::protocol::{PushDoc, SyncRequest};
use wangge_core::{
    Actor, CaseEventKind, CaseRecord, Catalog, DeviceId, GpsFix, ManualClock, NewCase,
    PhotoCapture, PhotoRef, Role, SourceChannel, Store,
};

use crate::office::queue::CaseFilter;
use crate::pairing::{NewPairingCode, Redeem};
use crate::storage::console::{ConsoleSession, StaffLogin};
use crate::storage::intake::{ApiKey, Intake, IntakeOutcome, ReporterContact, RequestFilter};
use crate::storage::{
    AuditEntry, ChunkOutcome, Device, DeviceRole, Person, PhotoChunk, Scope, Storage, StorageError,
    Unit, UnitKind,
};

/// A fresh, empty storage for one test, and what must outlive it (a temporary directory, a
/// database to drop): the storage is dropped first, then the guard.
pub struct Fresh<S> {
    /// The storage under test.
    pub storage: S,
    /// Kept until the storage is dropped.
    _guard: Box<dyn Any>,
}

impl<S: Storage> Fresh<S> {
    /// A storage and what it needs kept alive.
    pub fn new(storage: S, guard: impl Any) -> Self {
        Fresh {
            storage,
            _guard: Box::new(guard),
        }
    }
}

/// What a backend's `fresh` function gives: a storage, or maybe one.
pub trait MaybeFresh {
    /// The backend.
    type Backend: Storage;
    /// The storage, or `None` when the backend cannot run here.
    fn into_fresh(self) -> Option<Fresh<Self::Backend>>;
}

impl<S: Storage> MaybeFresh for Fresh<S> {
    type Backend = S;
    fn into_fresh(self) -> Option<Fresh<S>> {
        Some(self)
    }
}

impl<S: Storage> MaybeFresh for Option<Fresh<S>> {
    type Backend = S;
    fn into_fresh(self) -> Option<Fresh<S>> {
        self
    }
}

/// The catalog every storage of the suite is opened with: the demo street.
pub fn catalog() -> Arc<Catalog> {
    Arc::new(Catalog::demo().expect("the demo catalog loads"))
}

/// Runs the conformance suite against a backend: one `#[test]` per test of
/// `wangge_server::storage::conformance`, each on a storage from `$fresh`, a function
/// `fn(Arc<Catalog>) -> Fresh<S>` that opens a fresh, empty storage with that catalog (or
/// `-> Option<Fresh<S>>` for a backend that may be unavailable: `None` skips the test).
/// `storage_conformance_tests!(@photos $fresh)` runs the photo tests alone (for a storage
/// whose photos go to a photo store, `photo_store.rs`).
#[macro_export]
macro_rules! storage_conformance_tests {
    ($fresh:path) => {
        $crate::storage_conformance_tests!(@tests $fresh;
            // suite:begin
            people_and_units_round_trip_in_the_roster_order,
            an_upsert_replaces_a_person_and_their_units_and_keeps_the_others,
            a_roster_naming_an_unknown_unit_stores_nothing,
            a_device_keeps_the_person_it_is_enrolled_to,
            the_audit_log_reads_back_in_order_from_a_time_on,
            a_fresh_storage_is_ready_and_empty,
            a_device_is_enrolled_once_and_stays_listed_when_revoked,
            a_rotated_token_replaces_the_current_one_and_the_old_one_lasts_until_dropped,
            a_cursor_beyond_the_feed_resets_the_device,
            a_pushed_case_is_stored_once_and_reaches_the_devices_of_its_scope,
            a_push_of_several_documents_one_of_them_twice_stores_each_in_merge_order,
            a_device_paging_through_a_backlog_is_not_sent_its_own_pushes_back,
            a_reenrolled_device_is_sent_what_it_held_before,
            registration_numbers_cases_in_order_and_only_register_assigns_one,
            a_merge_refuses_the_case_itself_and_a_merged_target,
            a_username_belongs_to_one_person,
            a_pairing_code_enrols_one_device_once,
            a_channel_reference_is_taken_in_once_and_a_contact_can_be_erased,
            api_keys_are_found_by_hash_and_revoked_once,
            a_session_is_found_by_its_hash_touched_and_ended,
            the_change_feed_pages_and_counts_follow_the_cases,
            zero_reports_are_listed_by_day_and_workstation_and_reach_the_feed,
            the_evaluation_reads_the_cases_units_and_spans_of_its_period,
            the_case_list_pages_sorts_and_filters_like_one_long_page,
            duplicate_hints_name_open_cases_of_the_item_nearby_nearest_first,
            open311_requests_filter_by_ids_items_state_and_time,
            a_pairing_code_locks_after_too_many_wrong_secrets,
            wrong_secrets_sent_at_once_are_each_counted,
            a_pairing_code_reenrols_the_persons_own_or_a_revoked_device,
            a_pairing_code_is_pending_until_used_expired_locked_or_withdrawn,
            a_new_password_ends_the_persons_sessions_and_a_login_drops_ended_ones,
            // suite:end
        );
        $crate::storage_conformance_tests!(@photos $fresh);
    };
    // The photo tests alone: a backend runs them again with its photos in a photo store.
    (@photos $fresh:path) => {
        $crate::storage_conformance_tests!(@tests $fresh;
            // photos:begin
            the_thumbnail_a_reference_names_is_served,
            an_attackers_thumbnail_uploaded_first_is_never_served,
            a_photo_no_reference_names_a_thumbnail_of_falls_back_to_the_upload_link,
            a_document_keeps_the_first_thumbnail_it_names,
            of_several_named_thumbnails_the_photo_uploaders_comes_first,
            an_intake_naming_a_photo_not_on_the_server_is_refused,
            a_photo_upload_resumes_where_it_stands_and_checks_its_hash,
            a_photo_upload_refuses_bad_sizes_and_restarts_on_another_total,
            chunks_sent_at_once_are_appended_once,
            a_photo_is_visible_to_the_devices_whose_scope_names_it,
            an_upload_untouched_for_thirty_days_is_dropped_when_another_starts,
            // photos:end
        );
    };
    (@tests $fresh:path; $($name:ident),* $(,)?) => {
        $(
            #[test]
            fn $name() {
                let made = $fresh($crate::storage::conformance::catalog());
                // A backend whose database is not available here (PostgreSQL without its
                // variable) gives `None` and has said why.
                let Some(fresh) = $crate::storage::conformance::MaybeFresh::into_fresh(made)
                else {
                    return;
                };
                $crate::storage::conformance::$name(&fresh.storage);
            }
        )*
    };
}

/// Monday 29 April 2024, 09:00 in Shanghai (ms).
const MONDAY_9AM: i64 = 1_714_352_400_000;

// ---------------------------------------------------------------------------------------
// Fixtures

fn unit(id: &str, kind: UnitKind) -> Unit {
    Unit {
        id: id.into(),
        kind,
        name: None,
    }
}

fn person(staff_id: &str, roles: &[Role], units: &[&str]) -> Person {
    Person {
        staff_id: staff_id.into(),
        name: "张伟".into(),
        roles: roles.to_vec(),
        admin: false,
        units: units.iter().map(|u| u.to_string()).collect(),
        blocks: vec!["XT-B1".into()],
        workstations: vec!["XT-W01".into(), "XT-W02".into()],
        active: true,
    }
}

/// An audit line at `at` of `action` by dev-1 of XT-GO-001, answered ok.
pub(crate) fn entry(at: i64, action: &str) -> AuditEntry {
    AuditEntry {
        at,
        device_id: Some("dev-1".into()),
        person: Some("XT-GO-001".into()),
        action: action.into(),
        target: None,
        outcome: "ok".into(),
        code: None,
        remote_addr: Some("127.0.0.1".into()),
        detail: None,
    }
}

/// A field device without a scope, enrolled to `person` when given.
pub(crate) fn field_device(device_id: &str, person: Option<&str>) -> Device {
    Device {
        device_id: device_id.into(),
        name: "手持01".into(),
        role: DeviceRole::Field,
        scope: Scope::default(),
        created_at: 1,
        revoked_at: None,
        person: person.map(str::to_owned),
    }
}

/// The centre's person on a device of their own: each case it takes in is reported from
/// that device, so a device with that id (and an empty scope) has exactly that case in scope.
fn centre() -> Actor {
    Actor {
        id: "XT-CC-001".into(),
        role: Role::Centre,
        unit: None,
        device: DeviceId::generate(),
    }
}

fn new_case(photos: Vec<PhotoRef>) -> NewCase {
    NewCase {
        channel: SourceChannel::Hotline12345,
        checklist_item: "A02-001".into(),
        description: "流动摊贩".into(),
        gps: Some(GpsFix {
            lat: 31.19,
            lon: 121.45,
            accuracy_m: 5.0,
            fix_time_ms: 0,
        }),
        address: None,
        grid: None,
        photos,
        external_ref: None,
    }
}

/// A case taken in at the centre's desk, by `by`.
fn intake(storage: &dyn Storage, by: &Actor, now_ms: i64) -> CaseRecord {
    let intake = Intake {
        by: by.clone(),
        new: new_case(Vec::new()),
        contact: None,
    };
    match storage.intake_case(&intake, now_ms).unwrap() {
        IntakeOutcome::Created { case, .. } => *case,
        other => panic!("no case created: {other:?}"),
    }
}

pub(crate) fn sha(bytes: &[u8]) -> String {
    crate::storage::photo_store::sha256_hex(&Sha256::digest(bytes))
}

/// Uploads `bytes` in one chunk as `device` at `now_ms`; returns their hash.
pub(crate) fn upload(
    storage: &dyn Storage,
    bytes: &[u8],
    thumbnail_of: Option<&str>,
    device: &str,
    now_ms: i64,
) -> String {
    let sha = sha(bytes);
    let chunk = PhotoChunk {
        sha256: &sha,
        offset: 0,
        total: bytes.len() as u64,
        data: bytes,
        thumbnail_of,
        device_id: device,
    };
    let outcome = storage.put_photo_chunk(&chunk, now_ms).unwrap();
    assert!(
        matches!(&outcome, ChunkOutcome::Stored(u) if u.complete),
        "{outcome:?}"
    );
    sha
}

/// A reference to `photo`, naming `thumb` as its thumbnail.
pub(crate) fn photo_ref(photo: &str, thumb: Option<&str>) -> PhotoRef {
    PhotoRef {
        sha256: photo.to_owned(),
        bytes: 1000,
        width: 64,
        height: 48,
        capture: PhotoCapture::default(),
        thumb_sha256: thumb.map(str::to_owned),
    }
}

/// A document (a case) that references photos, and the device whose scope is that case alone.
struct Doc {
    by: Actor,
    case_id: String,
}

impl Doc {
    fn new(storage: &dyn Storage) -> Doc {
        let by = centre();
        let case_id = intake(storage, &by, MONDAY_9AM).header.id.to_string();
        Doc { by, case_id }
    }

    /// Records that the document references `photo`, naming `thumb`: a comment with the photo.
    fn reference(&self, storage: &dyn Storage, photo: &str, thumb: Option<&str>) {
        self.try_reference(storage, photo, thumb).unwrap();
    }

    fn try_reference(
        &self,
        storage: &dyn Storage,
        photo: &str,
        thumb: Option<&str>,
    ) -> Result<CaseRecord, StorageError> {
        let comment = CaseEventKind::Comment {
            text: "照片".into(),
            photos: vec![photo_ref(photo, thumb)],
        };
        storage.add_case_event(&self.case_id, &self.by, comment, MONDAY_9AM)
    }

    /// Of `thumbs`, the ones this document's references name (as the device whose scope is
    /// the document alone may read them).
    fn names<'a>(&self, storage: &dyn Storage, thumbs: &[&'a str]) -> Vec<&'a str> {
        let device = field_device(&self.by.device.to_string(), None);
        thumbs
            .iter()
            .copied()
            .filter(|t| storage.photo_in_scope(&device, t).unwrap())
            .collect()
    }
}

/// A phone's own store in `dir`, at [`MONDAY_9AM`], and its user `person` in `role`.
fn phone(dir: &tempfile::TempDir, person: &str, role: Role) -> (Actor, Store) {
    let device = DeviceId::generate();
    let store = Store::open(
        dir.path().join("phone.sqlite3"),
        device,
        catalog(),
        Arc::new(ManualClock::new(MONDAY_9AM)),
    )
    .unwrap();
    let actor = Actor {
        id: person.into(),
        role,
        unit: None,
        device,
    };
    (actor, store)
}

fn served(storage: &dyn Storage, photo: &str) -> Option<(String, Vec<u8>)> {
    storage.photo_thumbnail(photo).unwrap()
}

const PHOTO: &[u8] = b"the stored JPEG of the photo";
const THUMB: &[u8] = b"its thumbnail, made at import";
const FAKE: &[u8] = b"an attacker's picture";

// ---------------------------------------------------------------------------------------
// People, devices, audit

/// People and units read back as imported, people by staff id and units by id.
pub fn people_and_units_round_trip_in_the_roster_order(s: &dyn Storage) {
    let units = vec![
        unit("城管中队", UnitKind::Department),
        Unit {
            id: "巡查执法一队".into(),
            kind: UnitKind::PatrolEnforcement,
            name: Some("城管巡查执法一队".into()),
        },
    ];
    let mut officer = person(
        "XT-GO-001",
        &[Role::GridOfficer, Role::HandlingUnit],
        &["巡查执法一队", "城管中队"],
    );
    officer.admin = true;
    let centre = person("XT-CC-001", &[Role::Centre], &[]);
    s.upsert_roster(&[officer.clone(), centre.clone()], &units)
        .unwrap();

    assert_eq!(s.person("XT-GO-001").unwrap(), Some(officer.clone()));
    assert_eq!(s.person("XT-CC-001").unwrap(), Some(centre.clone()));
    assert_eq!(s.person("nobody").unwrap(), None);
    assert_eq!(s.people().unwrap(), vec![centre, officer]);
    let mut sorted = units.clone();
    sorted.sort_by(|a, b| a.id.cmp(&b.id));
    assert_eq!(s.units().unwrap(), sorted);
}

/// An import replaces the people and units it lists (a person's units too) and removes nobody.
pub fn an_upsert_replaces_a_person_and_their_units_and_keeps_the_others(s: &dyn Storage) {
    let units = [
        unit("城管中队", UnitKind::Department),
        unit("物业", UnitKind::Department),
    ];
    let first = person("XT-UH-001", &[Role::HandlingUnit], &["城管中队", "物业"]);
    let other = person("XT-SV-001", &[Role::Supervisor], &[]);
    s.upsert_roster(&[first, other.clone()], &units).unwrap();

    let mut again = person("XT-UH-001", &[Role::HandlingUnit], &["物业"]);
    again.name = "李娜".into();
    again.active = false;
    again.blocks.clear();
    s.upsert_roster(
        &[again.clone()],
        &[Unit {
            id: "物业".into(),
            kind: UnitKind::Department,
            name: Some("物业公司".into()),
        }],
    )
    .unwrap();
    assert_eq!(s.person("XT-UH-001").unwrap(), Some(again));
    assert_eq!(s.person("XT-SV-001").unwrap(), Some(other));
    let units = s.units().unwrap();
    assert_eq!(units.len(), 2, "units are never removed by an import");
    assert_eq!(
        units
            .iter()
            .find(|u| u.id == "物业")
            .unwrap()
            .name
            .as_deref(),
        Some("物业公司")
    );
}

/// A roster naming a unit the register lacks is refused (`unknown_unit`), all or nothing.
pub fn a_roster_naming_an_unknown_unit_stores_nothing(s: &dyn Storage) {
    let good = person("XT-GO-001", &[Role::GridOfficer], &[]);
    let bad = person("XT-UH-001", &[Role::HandlingUnit], &["不存在的队"]);
    let err = s.upsert_roster(&[good, bad], &[]).unwrap_err();
    assert!(
        matches!(&err, StorageError::UnknownUnit { staff_id, unit }
            if staff_id == "XT-UH-001" && unit == "不存在的队"),
        "{err:?}"
    );
    assert_eq!(err.code(), "unknown_unit");
    assert!(s.people().unwrap().is_empty(), "all or nothing");
}

/// A device reads back with the person it is enrolled to.
pub fn a_device_keeps_the_person_it_is_enrolled_to(s: &dyn Storage) {
    let device = field_device("dev-1", Some("XT-GO-001"));
    s.enroll(&device, &[7; 32]).unwrap();
    assert_eq!(s.device_by_token(&[7; 32]).unwrap(), Some(device));
    assert_eq!(s.device_by_token(&[8; 32]).unwrap(), None);
}

/// The audit log reads back by time, then in the order written, from a time on.
pub fn the_audit_log_reads_back_in_order_from_a_time_on(s: &dyn Storage) {
    // Written out of time order, and two lines in the same millisecond.
    let lines = [
        entry(2_000, "POST /v1/sync"),
        entry(1_000, "GET /v1/me"),
        entry(2_000, "GET /v1/cases"),
        AuditEntry {
            device_id: None,
            person: None,
            outcome: "refused".into(),
            code: Some("unauthorized".into()),
            detail: Some("pushed 3".into()),
            target: Some("zr:XT-W01:2026-03-02".into()),
            remote_addr: None,
            ..entry(3_000, "GET /v1/cases/{id}")
        },
    ];
    for line in &lines {
        s.audit(line).unwrap();
    }
    let all = s.audit_log(0, 100).unwrap();
    assert_eq!(
        all,
        vec![
            lines[1].clone(),
            lines[0].clone(),
            lines[2].clone(),
            lines[3].clone()
        ],
        "by time, then in the order written"
    );
    assert_eq!(s.audit_log(2_000, 100).unwrap(), all[1..].to_vec());
    assert_eq!(s.audit_log(2_001, 100).unwrap(), all[3..].to_vec());
    assert_eq!(s.audit_log(0, 2).unwrap(), all[..2].to_vec());
    assert!(s.audit_log(3_001, 100).unwrap().is_empty());
}

/// A fresh storage is ready (`GET /ready`) and holds nothing.
pub fn a_fresh_storage_is_ready_and_empty(s: &dyn Storage) {
    s.ready().unwrap();
    assert!(s.devices().unwrap().is_empty());
    assert!(s.people().unwrap().is_empty());
    assert!(s.quarantined().unwrap().is_empty());
    let stats = s.stats(MONDAY_9AM).unwrap();
    assert_eq!((stats.cases, stats.documents), (0, 0));
    assert!(s.changes(0, 100, MONDAY_9AM).unwrap().is_empty());
}

/// A device id is enrolled once (`already_enrolled`); a revoked device stays listed, with
/// the time of its first revocation.
pub fn a_device_is_enrolled_once_and_stays_listed_when_revoked(s: &dyn Storage) {
    let device = field_device("dev-1", Some("XT-GO-001"));
    s.enroll(&device, &[1; 32]).unwrap();
    let err = s.enroll(&device, &[2; 32]).unwrap_err();
    assert_eq!(err.code(), "already_enrolled", "{err}");
    assert_eq!(s.device_by_token(&[2; 32]).unwrap(), None, "nothing stored");
    assert!(s.revoke("dev-1", 5_000).unwrap());
    assert!(s.revoke("dev-1", 6_000).unwrap());
    assert!(!s.revoke("nobody", 5_000).unwrap());
    let revoked = Device {
        revoked_at: Some(5_000),
        ..device
    };
    assert_eq!(s.devices().unwrap(), vec![revoked.clone()]);
    assert_eq!(s.device_by_token(&[1; 32]).unwrap(), Some(revoked));
}

/// A device's token is found with when it was issued (its enrolment); a rotation makes the
/// new token current and the used one previous, until its time; a rotation with the previous
/// token (the answer was lost) replaces the undelivered token and keeps the previous one and
/// its time; dropping the previous token, or revoking the device, ends rotations.
pub fn a_rotated_token_replaces_the_current_one_and_the_old_one_lasts_until_dropped(
    s: &dyn Storage,
) {
    let device = field_device("dev-1", Some("XT-GO-001"));
    s.enroll(&device, &[1; 32]).unwrap();
    let found = s.device_token(&[1; 32]).unwrap().unwrap();
    assert_eq!(found.device, device);
    assert_eq!(found.issued_at, device.created_at, "issued at enrolment");
    assert_eq!((found.previous_until, found.has_previous), (None, false));
    assert_eq!(s.device_token(&[9; 32]).unwrap(), None);

    assert!(
        s.rotate_token("dev-1", &[1; 32], &[2; 32], 100, 700)
            .unwrap()
    );
    let new = s.device_token(&[2; 32]).unwrap().unwrap();
    assert_eq!(
        (new.issued_at, new.previous_until, new.has_previous),
        (100, None, true)
    );
    let old = s.device_token(&[1; 32]).unwrap().unwrap();
    assert_eq!((old.issued_at, old.previous_until), (100, Some(700)));
    assert_eq!(s.device_by_token(&[2; 32]).unwrap(), Some(device.clone()));

    // The answer with token 2 was lost: the device comes back with token 1.
    assert!(
        s.rotate_token("dev-1", &[1; 32], &[3; 32], 200, 900)
            .unwrap()
    );
    assert_eq!(
        s.device_token(&[2; 32]).unwrap(),
        None,
        "the lost token is gone"
    );
    let old = s.device_token(&[1; 32]).unwrap().unwrap();
    assert_eq!(old.previous_until, Some(700), "the grace is not extended");
    assert_eq!(s.device_token(&[3; 32]).unwrap().unwrap().issued_at, 200);
    // A token the device does not hold rotates nothing.
    assert!(
        !s.rotate_token("dev-1", &[2; 32], &[4; 32], 300, 900)
            .unwrap()
    );
    assert!(
        !s.rotate_token("nobody", &[3; 32], &[4; 32], 300, 900)
            .unwrap()
    );

    s.drop_previous_token("dev-1").unwrap();
    assert_eq!(s.device_token(&[1; 32]).unwrap(), None);
    let current = s.device_token(&[3; 32]).unwrap().unwrap();
    assert!(!current.has_previous);
    assert!(s.revoke("dev-1", 400).unwrap());
    assert!(
        !s.rotate_token("dev-1", &[3; 32], &[5; 32], 500, 900)
            .unwrap()
    );
    let revoked = s.device_token(&[3; 32]).unwrap().unwrap();
    assert_eq!(
        revoked.device.revoked_at,
        Some(400),
        "still found, to be told"
    );
}

/// A device whose cursor is beyond the feed's end has seen a feed this storage lost: it is
/// told to start over (`docs/sync-protocol.md`, "Restored server"), and a cursor the storage
/// handed out is answered normally.
pub fn a_cursor_beyond_the_feed_resets_the_device(s: &dyn Storage) {
    let device = Device {
        scope: Scope {
            all: true,
            ..Scope::default()
        },
        ..field_device("dev-1", None)
    };
    s.enroll(&device, &[1; 32]).unwrap();
    let by = centre();
    intake(s, &by, MONDAY_9AM);
    let request = |cursor| SyncRequest {
        request_id: [0; 16],
        cursor,
        max_docs: 100,
        docs: Vec::new(),
    };
    let beyond = s.sync(&device, None, &request(5), MONDAY_9AM).unwrap();
    assert!(beyond.reset && beyond.docs.is_empty(), "{beyond:?}");
    assert_eq!(beyond.cursor, 0);
    let fresh = s.sync(&device, None, &request(0), MONDAY_9AM).unwrap();
    assert!(!fresh.reset && !fresh.more);
    assert_eq!(fresh.docs.len(), 1, "the case taken in");
    assert!(fresh.cursor > 0);
    let again = s
        .sync(&device, None, &request(fresh.cursor), MONDAY_9AM)
        .unwrap();
    assert!(!again.reset && again.docs.is_empty(), "{again:?}");
    assert_eq!(again.cursor, fresh.cursor);
}

/// A case recorded on a phone and pushed is stored once (the same push again changes
/// nothing), acknowledged with its heads, and pulled by the devices whose scope covers it;
/// a push without a person behind it is refused and stores nothing.
pub fn a_pushed_case_is_stored_once_and_reaches_the_devices_of_its_scope(s: &dyn Storage) {
    let dir = tempfile::tempdir().unwrap();
    let (officer, store) = phone(&dir, "XT-GO-001", Role::GridOfficer);
    let phone = officer.device;
    let fix = GpsFix {
        fix_time_ms: MONDAY_9AM,
        ..new_case(Vec::new()).gps.unwrap()
    };
    let case_id = store
        .record_case(
            &officer,
            NewCase {
                grid: Some("XT-W01-U1".into()),
                ..NewCase::from_handheld("A02-001", "流动摊贩", fix)
            },
        )
        .unwrap()
        .to_string();
    let device = field_device(&phone.to_string(), Some("XT-GO-001"));
    s.enroll(&device, &[1; 32]).unwrap();
    let prepared = store.prepare_push(100, 8 << 20).unwrap();
    let request = SyncRequest {
        request_id: [1; 16],
        cursor: store.sync_cursor().unwrap(),
        max_docs: 100,
        docs: prepared.iter().map(|p| p.doc.clone()).collect(),
    };
    assert_eq!(request.docs.len(), 1);

    let refused = s.sync(&device, None, &request, MONDAY_9AM).unwrap();
    assert!(refused.accepted.is_empty(), "{refused:?}");
    assert_eq!(refused.refused.len(), 1);
    assert_eq!(refused.refused[0].code, "no_person");
    assert_eq!(s.case(&case_id).unwrap(), None, "nothing stored");

    let author = Author::of_actor(&officer);
    let response = s
        .sync(&device, Some(&author), &request, MONDAY_9AM)
        .unwrap();
    assert!(response.refused.is_empty(), "{response:?}");
    assert_eq!(response.accepted.len(), 1);
    assert_eq!(response.accepted[0].doc_id, case_id);
    assert_eq!(response.accepted[0].heads, request.docs[0].heads);
    assert!(response.docs.is_empty(), "the device holds what it pushed");
    store.apply_sync_response(&prepared, &response).unwrap();
    let stored = s.case(&case_id).unwrap().unwrap();
    assert_eq!(stored.header.reporter.id, "XT-GO-001");
    assert!(s.document(&case_id).unwrap().is_some());
    let feed = s.changes(0, 100, MONDAY_9AM).unwrap();
    assert_eq!(feed.len(), 1);

    // The same push again (its answer was lost): accepted, nothing new in the feed.
    let again = s
        .sync(&device, Some(&author), &request, MONDAY_9AM)
        .unwrap();
    assert_eq!(again.accepted.len(), 1);
    assert!(again.refused.is_empty() && !again.reset);
    assert_eq!(s.changes(0, 100, MONDAY_9AM).unwrap(), feed);

    let pull = |device: &Device| {
        s.enroll(device, device.device_id.as_bytes()).unwrap();
        let request = SyncRequest {
            request_id: [2; 16],
            cursor: 0,
            max_docs: 100,
            docs: Vec::new(),
        };
        let response = s.sync(device, None, &request, MONDAY_9AM).unwrap();
        assert!(!response.reset && response.refused.is_empty());
        response
            .docs
            .into_iter()
            .map(|d| d.doc_id)
            .collect::<Vec<_>>()
    };
    let centre = Device {
        role: DeviceRole::Centre,
        scope: Scope {
            all: true,
            ..Scope::default()
        },
        ..field_device("centre-desk", Some("XT-CC-001"))
    };
    assert_eq!(pull(&centre), vec![case_id.clone()]);
    let grid = stored
        .state
        .grid
        .clone()
        .expect("the fix lies inside one grid cell");
    let block = catalog().grids.path(&grid).unwrap().block.clone();
    let of_block = |device_id: &str, block: &str| Device {
        scope: Scope {
            blocks: vec![block.to_owned()],
            ..Scope::default()
        },
        ..field_device(device_id, Some("XT-GO-002"))
    };
    assert_eq!(pull(&of_block("same-block", &block)), vec![case_id.clone()]);
    assert!(
        pull(&of_block("other-block", "XT-B-ELSEWHERE")).is_empty(),
        "another block's device"
    );
}

/// One request pushes two cases and then a newer copy of the first (a comment added): every
/// copy is accepted at its heads, the newer one merged into what the older one stored; the
/// feed counts one position per stored change (3), in merge order, and lists each case
/// once; the projections (the case with its comment, the spots of the duplicate hints, the
/// counts) are those of the newest copies. The same copy twice stores nothing the second
/// time.
pub fn a_push_of_several_documents_one_of_them_twice_stores_each_in_merge_order(s: &dyn Storage) {
    let dir = tempfile::tempdir().unwrap();
    let (officer, store) = phone(&dir, "XT-GO-001", Role::GridOfficer);
    let fix = GpsFix {
        fix_time_ms: MONDAY_9AM,
        ..new_case(Vec::new()).gps.unwrap()
    };
    let record = |text: &str| {
        store
            .record_case(&officer, NewCase::from_handheld("A02-001", text, fix))
            .unwrap()
    };
    let (a, b) = (record("流动摊贩 一"), record("流动摊贩 二"));
    let pending = || -> Vec<PushDoc> {
        let prepared = store.prepare_push(100, 8 << 20).unwrap();
        prepared.into_iter().map(|p| p.doc).collect()
    };
    let older = pending();
    let comment = CaseEventKind::Comment {
        text: "又来了".into(),
        photos: Vec::new(),
    };
    store.add_case_event(a, &officer, comment).unwrap();
    let newer = pending();
    let copy = |docs: &[PushDoc], id: wangge_core::CaseId| {
        docs.iter()
            .find(|d| d.doc_id == id.to_string())
            .unwrap()
            .clone()
    };
    let device = field_device(&officer.device.to_string(), Some("XT-GO-001"));
    s.enroll(&device, &[1; 32]).unwrap();
    let author = Author::of_actor(&officer);
    let request = SyncRequest {
        request_id: [1; 16],
        cursor: 0,
        max_docs: 100,
        docs: vec![copy(&older, a), copy(&older, b), copy(&newer, a)],
    };
    let response = s
        .sync(&device, Some(&author), &request, MONDAY_9AM)
        .unwrap();
    assert!(
        response.refused.is_empty() && response.resend.is_empty(),
        "{response:?}"
    );
    let accepted: Vec<_> = response
        .accepted
        .iter()
        .map(|x| (x.doc_id.clone(), x.heads.clone()))
        .collect();
    let pushed: Vec<_> = request
        .docs
        .iter()
        .map(|d| (d.doc_id.clone(), d.heads.clone()))
        .collect();
    assert_eq!(accepted, pushed);
    assert_ne!(pushed[0].1, pushed[2].1, "two copies of a");
    assert_eq!(response.cursor, 3, "one feed position per stored change");
    assert!(response.docs.is_empty(), "the device holds what it pushed");

    let feed = s.changes(0, 100, MONDAY_9AM).unwrap();
    let order: Vec<_> = feed.iter().map(|c| (c.id.clone(), c.seq)).collect();
    assert_eq!(order, vec![(b.to_string(), 2), (a.to_string(), 3)]);
    let stored = s.case(&a.to_string()).unwrap().unwrap();
    assert!(
        stored
            .events
            .iter()
            .any(|e| matches!(&e.kind, CaseEventKind::Comment { text, .. } if text == "又来了")),
        "the newer copy is stored"
    );
    assert!(s.case(&b.to_string()).unwrap().is_some());
    assert_eq!(s.stats(MONDAY_9AM).unwrap().cases, 2);
    let mut near: Vec<_> = s
        .duplicates_near("A02-001", MONDAY_9AM, fix.lat, fix.lon)
        .unwrap()
        .into_iter()
        .map(|h| h.case_id)
        .collect();
    near.sort();
    let mut both = vec![a.to_string(), b.to_string()];
    both.sort();
    assert_eq!(near, both, "both cases' spots");

    let twice = SyncRequest {
        request_id: [2; 16],
        cursor: response.cursor,
        max_docs: 100,
        docs: vec![copy(&older, b), copy(&older, b)],
    };
    let again = s.sync(&device, Some(&author), &twice, MONDAY_9AM).unwrap();
    assert_eq!(again.accepted.len(), 2);
    assert!(again.refused.is_empty() && !again.reset);
    assert_eq!(again.cursor, 3, "nothing new in the feed");
}

/// A backlog of 3 cases taken in at the centre, and an officer's phone (a device of
/// `XT-GO-001` that sees everything) holding 2 cases of its own not yet pushed.
fn backlog_and_a_phone(
    s: &dyn Storage,
    dir: &tempfile::TempDir,
) -> (Vec<String>, Vec<String>, Device, Author, Store) {
    let backlog: Vec<String> = (0..3)
        .map(|i| intake(s, &centre(), MONDAY_9AM + i).header.id.to_string())
        .collect();
    let (officer, store) = phone(dir, "XT-GO-001", Role::GridOfficer);
    let fix = GpsFix {
        fix_time_ms: MONDAY_9AM,
        ..new_case(Vec::new()).gps.unwrap()
    };
    let own: Vec<String> = (0..2)
        .map(|_| {
            store
                .record_case(&officer, NewCase::from_handheld("A02-001", "流动摊贩", fix))
                .unwrap()
                .to_string()
        })
        .collect();
    let device = Device {
        scope: Scope {
            all: true,
            ..Scope::default()
        },
        ..field_device(&officer.device.to_string(), Some("XT-GO-001"))
    };
    s.enroll(&device, &[7; 32]).unwrap();
    (backlog, own, device, Author::of_actor(&officer), store)
}

/// Syncs `device` from `cursor` with pages of `max_docs`, pushing what `store` has in the
/// first round when `push`, until the pull ends (or after one round when `once`); returns
/// the cursor reached and the documents received, in order.
fn pull_pages(
    s: &dyn Storage,
    (device, author, store): (&Device, &Author, &Store),
    cursor: u64,
    max_docs: u32,
    push: bool,
    once: bool,
) -> (u64, Vec<String>) {
    let mut cursor = cursor;
    let mut received = Vec::new();
    let mut first = true;
    loop {
        let prepared = if push && first {
            store.prepare_push(100, 8 << 20).unwrap()
        } else {
            Vec::new()
        };
        first = false;
        let request = SyncRequest {
            request_id: [3; 16],
            cursor,
            max_docs,
            docs: prepared.iter().map(|p| p.doc.clone()).collect(),
        };
        let response = s.sync(device, Some(author), &request, MONDAY_9AM).unwrap();
        assert!(
            response.refused.is_empty() && !response.reset,
            "{response:?}"
        );
        assert_eq!(response.accepted.len(), request.docs.len());
        store.apply_sync_response(&prepared, &response).unwrap();
        received.extend(response.docs.iter().map(|d| d.doc_id.clone()));
        cursor = response.cursor;
        if !response.more || once {
            return (cursor, received);
        }
    }
}

/// A device pushes its cases while it pages through a backlog one document at a time: no
/// page sends its own cases back (it holds them exactly as the server does), every case of
/// the backlog reaches it, and one of its cases changed at the centre afterwards is sent.
/// Once its cursor has passed them the server forgets what it held: the same pull started
/// over from the beginning (a device whose responses were lost) sends everything again.
pub fn a_device_paging_through_a_backlog_is_not_sent_its_own_pushes_back(s: &dyn Storage) {
    let dir = tempfile::tempdir().unwrap();
    let (backlog, own, device, author, store) = backlog_and_a_phone(s, &dir);
    let phone = (&device, &author, &store);

    let (cursor, received) = pull_pages(s, phone, 0, 1, true, false);
    assert_eq!(received, backlog, "the backlog, and none of its own cases");
    assert_eq!(cursor, 5, "the feed's end: 3 taken in, 2 pushed");

    // The centre registers one of the officer's cases: its new heads are sent.
    s.register_case(&own[0], &centre(), None, None, MONDAY_9AM + 10)
        .unwrap();
    let (_, received) = pull_pages(s, phone, cursor, 1, false, false);
    assert_eq!(received, vec![own[0].clone()]);

    // From the beginning again: nothing is remembered any more, everything comes.
    let (_, received) = pull_pages(s, phone, 0, 1, false, false);
    let mut expected = backlog.clone();
    expected.extend([own[1].clone(), own[0].clone()]);
    assert_eq!(received, expected, "in feed order");
}

/// A device re-enrolled by a pairing code (its store wiped when it was revoked) is sent the
/// cases it pushed before, even those the server had noted it held while it paged through a
/// backlog.
pub fn a_reenrolled_device_is_sent_what_it_held_before(s: &dyn Storage) {
    let dir = tempfile::tempdir().unwrap();
    let (_, own, device, author, store) = backlog_and_a_phone(s, &dir);
    let (cursor, received) = pull_pages(s, (&device, &author, &store), 0, 1, true, true);
    assert_eq!((cursor, received.len()), (1, 1), "one page of the backlog");

    officer_with_code_abc(s);
    assert!(s.revoke(&device.device_id, MONDAY_9AM + 1).unwrap());
    let redeem = redemption(
        "ABC",
        "ABCDEFGH",
        &device.device_id,
        true,
        9,
        MONDAY_9AM + 2,
    );
    let again = s.redeem_pairing_code(&redeem).unwrap();
    assert!(again.reenrolled);
    let (_, mut received) = pull_pages(s, (&again.device, &author, &store), 0, 100, false, false);
    received.sort();
    let mut own = own;
    own.sort();
    assert_eq!(received, own, "its own cases, in the scope of its new code");
}

// ---------------------------------------------------------------------------------------
// Cases

/// `register_case` numbers cases in order within the year; a registration sent as a plain
/// event is refused (`use_register`), and an unknown case is not found.
pub fn registration_numbers_cases_in_order_and_only_register_assigns_one(s: &dyn Storage) {
    let by = centre();
    let (a, b) = (intake(s, &by, MONDAY_9AM), intake(s, &by, MONDAY_9AM + 1));
    let number = |case: &CaseRecord| {
        s.register_case(&case.header.id.to_string(), &by, None, None, MONDAY_9AM + 2)
            .unwrap()
            .state
            .case_number
            .unwrap()
    };
    assert_eq!(number(&a), "XT-2024-000001");
    assert_eq!(number(&b), "XT-2024-000002");
    let err = s
        .add_case_event(
            &a.header.id.to_string(),
            &by,
            CaseEventKind::Registered {
                case_number: "XT-2024-000009".into(),
                checklist_item: None,
                grid: None,
            },
            MONDAY_9AM + 3,
        )
        .unwrap_err();
    assert_eq!(err.code(), "use_register", "{err}");
    let err = s
        .register_case("no-such-case", &by, None, None, MONDAY_9AM)
        .unwrap_err();
    assert!(matches!(err, StorageError::NotFound(_)), "{err:?}");
    let stored = s.case(&a.header.id.to_string()).unwrap().unwrap();
    assert_eq!(stored.state.case_number.as_deref(), Some("XT-2024-000001"));
    assert_eq!(s.case("no-such-case").unwrap(), None);
}

/// The export feed lists every changed case once, at its latest change, in feed order; a
/// case list pages through the cases and counts them.
pub fn the_change_feed_pages_and_counts_follow_the_cases(s: &dyn Storage) {
    let by = centre();
    let ids: Vec<String> = (0..3)
        .map(|i| intake(s, &by, MONDAY_9AM + i).header.id.to_string())
        .collect();
    let feed = s.changes(0, 100, MONDAY_9AM + 10).unwrap();
    assert_eq!(
        feed.iter().map(|c| c.id.clone()).collect::<Vec<_>>(),
        ids,
        "in the order stored"
    );
    assert!(feed.windows(2).all(|w| w[0].seq < w[1].seq));
    assert!(feed.iter().all(|c| c.kind == "case" && c.case.is_some()));
    // The first case changes again: it moves to the feed's end.
    s.register_case(&ids[0], &by, None, None, MONDAY_9AM + 20)
        .unwrap();
    let after = feed[2].seq;
    let later = s.changes(after, 100, MONDAY_9AM + 30).unwrap();
    assert_eq!(later.len(), 1);
    assert_eq!(later[0].id, ids[0]);
    assert_eq!(s.changes(0, 100, MONDAY_9AM + 30).unwrap().len(), 3);
    assert_eq!(s.changes(0, 2, MONDAY_9AM + 30).unwrap().len(), 2);

    let filter = CaseFilter {
        limit: 2,
        ..CaseFilter::default()
    };
    assert_eq!(s.case_count(&filter, MONDAY_9AM + 30).unwrap(), 3);
    let first = s.case_page(&filter, MONDAY_9AM + 30).unwrap();
    assert_eq!(first.cases.len(), 2);
    let cursor = first.next_cursor.expect("a second page");
    let second = s
        .case_page(
            &CaseFilter {
                after: Some(crate::office::queue::Cursor::decode(&cursor).unwrap()),
                ..filter.clone()
            },
            MONDAY_9AM + 30,
        )
        .unwrap();
    assert_eq!(second.cases.len(), 1);
    assert_eq!(second.next_cursor, None);
    let mut listed: Vec<String> = first
        .cases
        .iter()
        .chain(&second.cases)
        .map(|c| c.id.clone())
        .collect();
    listed.sort();
    let mut all = ids.clone();
    all.sort();
    assert_eq!(listed, all, "every case once");
    let registered = CaseFilter {
        statuses: vec![wangge_core::CaseStatus::Registered],
        ..filter
    };
    assert_eq!(s.case_count(&registered, MONDAY_9AM + 30).unwrap(), 1);
}

/// A case is not merged into itself (`merge_into_itself`) nor into a case merged elsewhere
/// (`target_merged`); a merge marks both cases.
pub fn a_merge_refuses_the_case_itself_and_a_merged_target(s: &dyn Storage) {
    let by = centre();
    let [a, b, c] = [0, 1, 2].map(|i| intake(s, &by, MONDAY_9AM + i).header.id.to_string());
    let err = s
        .merge_case(&a, &a, &by, None, MONDAY_9AM + 10)
        .unwrap_err();
    assert_eq!(err.code(), "merge_into_itself", "{err}");
    let merged = s.merge_case(&a, &b, &by, None, MONDAY_9AM + 10).unwrap();
    assert_eq!(merged.state.merged_into.as_deref(), Some(b.as_str()));
    let err = s
        .merge_case(&c, &a, &by, None, MONDAY_9AM + 20)
        .unwrap_err();
    assert!(
        matches!(&err, StorageError::TargetMerged { target, merged_into }
            if *target == a && *merged_into == b),
        "{err:?}"
    );
    assert_eq!(err.code(), "target_merged");
    let untouched = s.case(&c).unwrap().unwrap();
    assert_eq!(untouched.state.merged_into, None, "nothing written");
}

/// An intake naming a photo the server does not hold is refused (`photo_not_uploaded`) and
/// creates nothing.
pub fn an_intake_naming_a_photo_not_on_the_server_is_refused(s: &dyn Storage) {
    let photo = sha(PHOTO);
    let intake = Intake {
        by: centre(),
        new: new_case(vec![photo_ref(&photo, None)]),
        contact: None,
    };
    let err = s.intake_case(&intake, MONDAY_9AM).unwrap_err();
    assert_eq!(err.code(), "photo_not_uploaded", "{err}");
    assert_eq!(s.stats(MONDAY_9AM).unwrap().cases, 0);
    upload(s, PHOTO, None, "desk", MONDAY_9AM);
    assert!(matches!(
        s.intake_case(&intake, MONDAY_9AM).unwrap(),
        IntakeOutcome::Created { .. }
    ));
}

/// A channel's reference is taken in once (the second intake names the first case and
/// creates nothing); the reporter's contact is kept apart from the case and can be erased.
pub fn a_channel_reference_is_taken_in_once_and_a_contact_can_be_erased(s: &dyn Storage) {
    let contact = ReporterContact {
        name: Some("王女士".into()),
        phone: Some("13800000000".into()),
        email: None,
    };
    let intake = Intake {
        by: centre(),
        new: NewCase {
            external_ref: Some("12345-0001".into()),
            ..new_case(Vec::new())
        },
        contact: Some(contact.clone()),
    };
    let case_id = match s.intake_case(&intake, MONDAY_9AM).unwrap() {
        IntakeOutcome::Created { case, .. } => case.header.id.to_string(),
        other => panic!("{other:?}"),
    };
    match s.intake_case(&intake, MONDAY_9AM + 1).unwrap() {
        IntakeOutcome::DuplicateReference { case_id: first } => assert_eq!(first, case_id),
        other => panic!("taken in twice: {other:?}"),
    }
    assert_eq!(s.stats(MONDAY_9AM).unwrap().cases, 1);
    let everything = RequestFilter {
        to_ms: i64::MAX,
        limit: 100,
        ..RequestFilter::default()
    };
    assert_eq!(s.request_ids(&everything).unwrap(), vec![case_id.clone()]);
    let other_channel = RequestFilter {
        channel: Some(SourceChannel::GridOfficerHandheld),
        ..everything.clone()
    };
    assert!(s.request_ids(&other_channel).unwrap().is_empty());
    assert_eq!(s.reporter_contact(&case_id).unwrap(), Some(contact));
    assert!(s.erase_reporter_contact(&case_id).unwrap());
    assert!(!s.erase_reporter_contact(&case_id).unwrap());
    assert_eq!(s.reporter_contact(&case_id).unwrap(), None);
    assert!(s.case(&case_id).unwrap().is_some(), "the case stays");
}

/// An Open311 key is found by its hash, revoked or not, and revoked once.
pub fn api_keys_are_found_by_hash_and_revoked_once(s: &dyn Storage) {
    let key = ApiKey {
        key_id: "key-1".into(),
        name: "微信公众号".into(),
        channel: SourceChannel::Wechat,
        person: "XT-CC-001".into(),
        device_id: DeviceId::generate().to_string(),
        created_at: MONDAY_9AM,
        revoked_at: None,
    };
    s.create_api_key(&key, &[3; 32]).unwrap();
    assert_eq!(s.api_key_by_hash(&[3; 32]).unwrap(), Some(key.clone()));
    assert_eq!(s.api_key_by_hash(&[4; 32]).unwrap(), None);
    assert!(s.revoke_api_key("key-1", MONDAY_9AM + 1).unwrap());
    assert!(s.revoke_api_key("key-1", MONDAY_9AM + 2).unwrap());
    assert!(!s.revoke_api_key("nokey", MONDAY_9AM).unwrap());
    let revoked = ApiKey {
        revoked_at: Some(MONDAY_9AM + 1),
        ..key
    };
    assert_eq!(s.api_key_by_hash(&[3; 32]).unwrap(), Some(revoked.clone()));
    assert_eq!(s.api_keys().unwrap(), vec![revoked]);
}

// ---------------------------------------------------------------------------------------
// Console logins, pairing

/// A username is one person's (`username_taken`); the person may change their own.
pub fn a_username_belongs_to_one_person(s: &dyn Storage) {
    let login = |staff_id: &str, username: &str| StaffLogin {
        username: username.into(),
        staff_id: staff_id.into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        device_id: format!("console-{staff_id}"),
        updated_at: MONDAY_9AM,
    };
    let zhou = login("XT-CC-001", "zhouxy");
    s.set_login(&zhou).unwrap();
    let err = s.set_login(&login("XT-CC-002", "zhouxy")).unwrap_err();
    assert!(
        matches!(&err, StorageError::UsernameTaken { username } if username == "zhouxy"),
        "{err:?}"
    );
    assert_eq!(err.code(), "username_taken");
    assert_eq!(s.login_by_username("zhouxy").unwrap(), Some(zhou));
    assert_eq!(s.login_of("XT-CC-002").unwrap(), None);
    let renamed = login("XT-CC-001", "zhou");
    s.set_login(&renamed).unwrap();
    assert_eq!(s.login_of("XT-CC-001").unwrap(), Some(renamed));
    assert_eq!(s.login_by_username("zhouxy").unwrap(), None);
}

/// A pairing code enrols one device, once; a wrong secret is `pairing_code_unknown`, a code
/// used again `pairing_code_used`, an expired one `pairing_code_expired`, one for a person
/// who left `person_inactive`.
pub fn a_pairing_code_enrols_one_device_once(s: &dyn Storage) {
    let officer = person("XT-GO-001", &[Role::GridOfficer], &[]);
    let left = Person {
        active: false,
        ..person("XT-GO-002", &[Role::GridOfficer], &[])
    };
    s.upsert_roster(&[officer, left], &[]).unwrap();
    let code = |code_id: &str, staff_id: &str, expires_at: i64| NewPairingCode {
        code_id: code_id.into(),
        code_hash: Sha256::digest(code_id.as_bytes()).to_vec(),
        staff_id: staff_id.into(),
        device_name: Some("手持03".into()),
        role: DeviceRole::Field,
        scope: Scope {
            blocks: vec!["XT-B1".into()],
            ..Scope::default()
        },
        created_at: MONDAY_9AM,
        expires_at,
    };
    let redeem = |code_id: &str, secret: &str, device_id: &str| Redeem {
        code_id: code_id.into(),
        code_hash: Sha256::digest(secret.as_bytes()).to_vec(),
        device_id: device_id.into(),
        device_id_from_app: false,
        device_name: None,
        token_hash: Sha256::digest(device_id.as_bytes()).to_vec(),
        now_ms: MONDAY_9AM + 60_000,
    };
    let refusal = |r: Redeem| {
        let err = s.redeem_pairing_code(&r).unwrap_err();
        assert!(matches!(err, StorageError::Pairing(_)), "{err:?}");
        err.code()
    };
    let valid = MONDAY_9AM + 900_000;
    assert!(
        s.create_pairing_code(&code("ABC", "XT-GO-001", valid))
            .unwrap()
    );
    assert!(
        !s.create_pairing_code(&code("ABC", "XT-GO-001", valid))
            .unwrap(),
        "an id in use within a day"
    );
    assert_eq!(
        refusal(redeem("ABC", "wrong", "dev-1")),
        "pairing_code_unknown"
    );
    assert_eq!(
        refusal(redeem("XYZ", "XYZ", "dev-1")),
        "pairing_code_unknown"
    );
    let done = s
        .redeem_pairing_code(&redeem("ABC", "ABC", "dev-1"))
        .unwrap();
    assert!(!done.reenrolled);
    assert_eq!(done.device.person.as_deref(), Some("XT-GO-001"));
    assert_eq!(done.device.name, "手持03");
    assert_eq!(
        s.device_by_token(&Sha256::digest(b"dev-1")[..]).unwrap(),
        Some(done.device)
    );
    assert_eq!(refusal(redeem("ABC", "ABC", "dev-2")), "pairing_code_used");

    assert!(
        s.create_pairing_code(&code("OLD", "XT-GO-001", MONDAY_9AM + 1))
            .unwrap()
    );
    assert_eq!(
        refusal(redeem("OLD", "OLD", "dev-3")),
        "pairing_code_expired"
    );
    assert!(
        s.create_pairing_code(&code("LFT", "XT-GO-002", valid))
            .unwrap()
    );
    assert_eq!(refusal(redeem("LFT", "LFT", "dev-4")), "person_inactive");
    assert_eq!(s.devices().unwrap().len(), 1, "only the one enrolment");
}

/// A console session is found by its token's hash (ended or not: the caller checks the
/// times), records activity, and ends once.
pub fn a_session_is_found_by_its_hash_touched_and_ended(s: &dyn Storage) {
    let session = ConsoleSession {
        staff_id: "XT-CC-001".into(),
        csrf: "ab".repeat(16),
        created_at: MONDAY_9AM,
        last_seen: MONDAY_9AM,
        expires_at: MONDAY_9AM + 3_600_000,
    };
    s.create_session(&[5; 32], &session).unwrap();
    assert_eq!(s.session(&[5; 32]).unwrap(), Some(session.clone()));
    assert_eq!(s.session(&[6; 32]).unwrap(), None);
    s.touch_session(&[5; 32], MONDAY_9AM + 60_000).unwrap();
    assert_eq!(
        s.session(&[5; 32]).unwrap().map(|s| s.last_seen),
        Some(MONDAY_9AM + 60_000)
    );
    assert!(s.end_session(&[5; 32]).unwrap());
    assert!(!s.end_session(&[5; 32]).unwrap());
    assert_eq!(s.session(&[5; 32]).unwrap(), None);
}

// ---------------------------------------------------------------------------------------
// Photos

/// A chunk that does not start where the upload stands is told where it does; the last
/// byte checks the hash; a refused chunk writes nothing.
pub fn a_photo_upload_resumes_where_it_stands_and_checks_its_hash(s: &dyn Storage) {
    let photo = sha(PHOTO);
    let chunk = |offset: usize, data: &'static [u8]| PhotoChunk {
        sha256: &photo,
        offset: offset as u64,
        total: PHOTO.len() as u64,
        data,
        thumbnail_of: None,
        device_id: "phone",
    };
    let before = s.photo_upload(&photo).unwrap();
    assert_eq!(
        (before.received, before.total, before.complete),
        (0, None, false)
    );
    match s
        .put_photo_chunk(&chunk(0, &PHOTO[..10]), MONDAY_9AM)
        .unwrap()
    {
        ChunkOutcome::Stored(u) => assert_eq!((u.received, u.complete), (10, false)),
        other => panic!("{other:?}"),
    }
    match s
        .put_photo_chunk(&chunk(4, &PHOTO[4..]), MONDAY_9AM)
        .unwrap()
    {
        ChunkOutcome::WrongOffset(u) => assert_eq!(u.received, 10),
        other => panic!("{other:?}"),
    }
    let err = s.put_photo_chunk(&chunk(10, &[]), MONDAY_9AM).unwrap_err();
    assert_eq!(err.code(), "empty_chunk", "{err}");
    assert_eq!(s.photo(&photo).unwrap(), None);
    match s
        .put_photo_chunk(&chunk(10, &PHOTO[10..]), MONDAY_9AM)
        .unwrap()
    {
        ChunkOutcome::Stored(u) => assert!(u.complete),
        other => panic!("{other:?}"),
    }
    assert_eq!(s.photo(&photo).unwrap(), Some(PHOTO.to_vec()));

    // Bytes that do not hash to the name: nothing is stored.
    let liar = sha(b"something else");
    let wrong = PhotoChunk {
        sha256: &liar,
        ..chunk(0, PHOTO)
    };
    assert!(matches!(
        s.put_photo_chunk(&wrong, MONDAY_9AM).unwrap(),
        ChunkOutcome::HashMismatch { actual } if actual == photo
    ));
    assert_eq!(s.photo(&liar).unwrap(), None);
    assert!(!s.photo_upload(&liar).unwrap().complete);
    let err = s.photo("NOT-A-HASH").unwrap_err();
    assert_eq!(err.code(), "invalid_photo_hash", "{err}");
}

/// The thumbnail a reference names is served once it is uploaded, and nothing before.
pub fn the_thumbnail_a_reference_names_is_served(s: &dyn Storage) {
    let photo = sha(PHOTO);
    Doc::new(s).reference(s, &photo, Some(&sha(THUMB)));
    // Named but not uploaded yet: nothing to serve.
    assert_eq!(served(s, &photo), None);
    let thumb = upload(s, THUMB, Some(&photo), "phone", MONDAY_9AM);
    assert_eq!(served(s, &photo), Some((thumb.clone(), THUMB.to_vec())));
    // The photo itself arriving changes nothing.
    upload(s, PHOTO, None, "phone", MONDAY_9AM + 1);
    assert_eq!(served(s, &photo), Some((thumb, THUMB.to_vec())));
}

/// Another device's picture uploaded first as a photo's thumbnail is not served once a
/// document names the real one.
pub fn an_attackers_thumbnail_uploaded_first_is_never_served(s: &dyn Storage) {
    let photo = sha(PHOTO);
    // The photo's hash travels in documents and logs: another device uploads its own
    // picture as the photo's thumbnail before the real one arrives.
    let fake = upload(s, FAKE, Some(&photo), "mallory", MONDAY_9AM);
    assert_eq!(
        served(s, &photo),
        Some((fake, FAKE.to_vec())),
        "the upload link alone would serve the fake"
    );
    // The case names the real thumbnail: 404 until it arrives, then the real one.
    Doc::new(s).reference(s, &photo, Some(&sha(THUMB)));
    assert_eq!(served(s, &photo), None);
    let thumb = upload(s, THUMB, Some(&photo), "phone", MONDAY_9AM + 60_000);
    assert_eq!(served(s, &photo), Some((thumb, THUMB.to_vec())));
}

/// A photo whose references name no thumbnail (documents from before they did) is served
/// the thumbnail uploaded for it, until a reference names one.
pub fn a_photo_no_reference_names_a_thumbnail_of_falls_back_to_the_upload_link(s: &dyn Storage) {
    let photo = sha(PHOTO);
    // A document from before references named their thumbnail.
    Doc::new(s).reference(s, &photo, None);
    assert_eq!(served(s, &photo), None);
    let thumb = upload(s, THUMB, Some(&photo), "phone", MONDAY_9AM);
    assert_eq!(served(s, &photo), Some((thumb.clone(), THUMB.to_vec())));
    // Once any document names a thumbnail, only a named one is served.
    let other = b"a thumbnail made by a newer app version";
    Doc::new(s).reference(s, &photo, Some(&sha(other)));
    assert_eq!(served(s, &photo), None);
    let named = upload(s, other, None, "tablet", MONDAY_9AM + 1);
    assert_eq!(served(s, &photo), Some((named, other.to_vec())));
}

/// Within one document the first reference naming a thumbnail wins; each document names its
/// own; a malformed thumbnail hash is refused and names nothing.
pub fn a_document_keeps_the_first_thumbnail_it_names(s: &dyn Storage) {
    let photo = sha(PHOTO);
    let (first, second) = (sha(b"first"), sha(b"second"));
    let both = [first.as_str(), second.as_str()];
    let case_1 = Doc::new(s);
    case_1.reference(s, &photo, None);
    assert!(case_1.names(s, &both).is_empty());
    let err = case_1
        .try_reference(s, &photo, Some("NOT-A-HASH"))
        .unwrap_err();
    assert_eq!(err.code(), "invalid_input", "{err}");
    assert!(case_1.names(s, &both).is_empty());
    case_1.reference(s, &photo, Some(&first));
    assert_eq!(case_1.names(s, &both), [first.as_str()]);
    // A later reference in the same document naming another thumbnail replaces nothing,
    // nor does one naming none.
    case_1.reference(s, &photo, Some(&second));
    case_1.reference(s, &photo, None);
    assert_eq!(case_1.names(s, &both), [first.as_str()]);
    // Another document declares its own.
    let case_2 = Doc::new(s);
    case_2.reference(s, &photo, Some(&second));
    assert_eq!(case_2.names(s, &both), [second.as_str()]);
    assert_eq!(case_1.names(s, &both), [first.as_str()]);
}

/// Of several complete thumbnails documents name for a photo, the one uploaded by the
/// photo's own uploader is served, else the earliest.
pub fn of_several_named_thumbnails_the_photo_uploaders_comes_first(s: &dyn Storage) {
    let photo = sha(PHOTO);
    // Another device's document names its own picture for the photo, and it arrives first.
    Doc::new(s).reference(s, &photo, Some(&sha(THUMB)));
    Doc::new(s).reference(s, &photo, Some(&sha(FAKE)));
    let fake = upload(s, FAKE, None, "mallory", MONDAY_9AM);
    let thumb = upload(s, THUMB, Some(&photo), "phone", MONDAY_9AM + 1);
    // Until the photo is here, the earliest upload.
    assert_eq!(served(s, &photo).unwrap().0, fake);
    // The device holding the photo's bytes is the one that imported it.
    upload(s, PHOTO, None, "phone", MONDAY_9AM + 2);
    assert_eq!(served(s, &photo), Some((thumb, THUMB.to_vec())));
}

// ---------------------------------------------------------------------------------------
// Back office: zero reports, evaluation, the case list; intake: duplicate hints, Open311

/// A Monday's date in Shanghai ([`MONDAY_9AM`]'s).
fn monday() -> chrono::NaiveDate {
    wangge_core::store::cst_day(MONDAY_9AM)
}

/// A unit's handler, acting for `unit`.
fn handler(unit: &str) -> Actor {
    Actor {
        id: "XT-UH-001".into(),
        role: Role::HandlingUnit,
        unit: Some(unit.into()),
        device: DeviceId::generate(),
    }
}

/// A case taken in at the centre's desk as `new`, by `by`, at `now_ms`.
fn intake_new(s: &dyn Storage, by: &Actor, new: NewCase, now_ms: i64) -> CaseRecord {
    let intake = Intake {
        by: by.clone(),
        new,
        contact: None,
    };
    match s.intake_case(&intake, now_ms).unwrap() {
        IntakeOutcome::Created { case, .. } => *case,
        other => panic!("no case created: {other:?}"),
    }
}

/// Registers case `id` and dispatches it to `units` (the first leads), as the centre.
fn dispatch(s: &dyn Storage, id: &str, units: &[&str], now_ms: i64) {
    let by = centre();
    s.register_case(id, &by, None, None, now_ms).unwrap();
    let dispatched = CaseEventKind::Dispatched {
        units: units.iter().map(|u| u.to_string()).collect(),
        lead: units.first().map(|u| u.to_string()),
        note: None,
    };
    s.add_case_event(id, &by, dispatched, now_ms + 1).unwrap();
}

/// Workstation staff file the day's zero report on their own terminal, which pushes it:
/// `matters` matters recorded, or "nothing to report" when there are none.
fn file_zero_report(s: &dyn Storage, workstation: &str, matters: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let (staff, store) = phone(&dir, "XT-WS-001", Role::WorkstationStaff);
    let phone = staff.device;
    let file = |kind| {
        store
            .file_zero_report(&staff, workstation, monday(), kind)
            .unwrap();
    };
    if matters.is_empty() {
        file(wangge_core::ZeroReportEventKind::Filed {
            nothing_to_report: true,
            note: None,
        });
    }
    for what in matters {
        file(wangge_core::ZeroReportEventKind::MatterRecorded {
            matter: wangge_core::MatterId::generate(),
            checklist_item: None,
            description: (*what).into(),
            photos: Vec::new(),
        });
    }
    let device = Device {
        scope: Scope {
            workstations: vec![workstation.into()],
            ..Scope::default()
        },
        ..field_device(&phone.to_string(), Some("XT-WS-001"))
    };
    s.enroll(&device, phone.to_string().as_bytes()).unwrap();
    let prepared = store.prepare_push(100, 8 << 20).unwrap();
    let request = SyncRequest {
        request_id: [7; 16],
        cursor: 0,
        max_docs: 100,
        docs: prepared.iter().map(|p| p.doc.clone()).collect(),
    };
    let response = s
        .sync(
            &device,
            Some(&Author::of_actor(&staff)),
            &request,
            MONDAY_9AM,
        )
        .unwrap();
    assert!(
        response.refused.is_empty() && response.accepted.len() == 1,
        "{response:?}"
    );
}

/// The filings of a period list each workstation-day filed, by day then workstation, of
/// one workstation or all; a day nobody filed has no row; each report reaches the export
/// feed as a zero report.
pub fn zero_reports_are_listed_by_day_and_workstation_and_reach_the_feed(s: &dyn Storage) {
    let day = monday();
    let before = day.pred_opt().unwrap();
    assert!(s.filings(before, day, None).unwrap().is_empty(), "none yet");
    file_zero_report(s, "XT-W02", &["楼道堆物已清理", "独居老人走访"]);
    file_zero_report(s, "XT-W01", &[]);

    let rows = s.filings(before, day, None).unwrap();
    let listed: Vec<(&str, chrono::NaiveDate, u32)> = rows
        .iter()
        .map(|r| (r.workstation.as_str(), r.day, r.matter_count))
        .collect();
    assert_eq!(listed, [("XT-W01", day, 0), ("XT-W02", day, 2)]);
    assert!(rows[0].filed && rows[0].nothing_to_report, "{:?}", rows[0]);
    assert!(!rows[1].nothing_to_report, "{:?}", rows[1]);
    let report = s.zero_report("XT-W02", day).unwrap().unwrap();
    assert_eq!(rows[1].filed, report.filed);
    assert_eq!(rows[1].last_amended_at, report.last_amended_at);
    assert_eq!(
        s.filings(day, day, Some("XT-W02")).unwrap(),
        [rows[1].clone()]
    );
    assert!(s.filings(day, day, Some("XT-W09")).unwrap().is_empty());
    assert!(s.filings(before, before, None).unwrap().is_empty());
    assert_eq!(s.zero_report("XT-W03", day).unwrap(), None);

    let feed = s.changes(0, 100, MONDAY_9AM).unwrap();
    assert_eq!(feed.len(), 2);
    assert!(feed.iter().all(|c| c.case.is_none() && c.kind != "case"));
    let in_feed: Vec<_> = feed.iter().filter_map(|c| c.zero_report.clone()).collect();
    assert_eq!(
        in_feed,
        [rows[1].clone(), rows[0].clone()],
        "in the order filed"
    );
    assert!(rows[1].filed, "a matter recorded files the day");
    assert_eq!(s.stats(MONDAY_9AM).unwrap().zero_reports, 2);
}

/// An evaluation of a period reads the cases reported in it (from inclusive, to exclusive)
/// with every unit's part and every holding span, as the cases' own states derive them.
pub fn the_evaluation_reads_the_cases_units_and_spans_of_its_period(s: &dyn Storage) {
    let by = centre();
    let hour = 3_600_000;
    let joint = intake(s, &by, MONDAY_9AM).header.id.to_string();
    let waiting = intake(s, &by, MONDAY_9AM + hour).header.id.to_string();
    let later = intake(s, &by, MONDAY_9AM + 2 * hour).header.id.to_string();
    dispatch(s, &joint, &["城管中队", "物业"], MONDAY_9AM + 60_000);
    let back = CaseEventKind::HandedBack {
        reason: "不属于物业".into(),
    };
    s.add_case_event(&joint, &handler("物业"), back, MONDAY_9AM + 120_000)
        .unwrap();
    dispatch(s, &later, &["城管中队"], MONDAY_9AM + 2 * hour + 60_000);

    let input = s
        .evaluation_input(MONDAY_9AM, MONDAY_9AM + 2 * hour)
        .unwrap();
    let mut ids: Vec<&str> = input.cases.iter().map(|c| c.id.as_str()).collect();
    ids.sort_unstable();
    let mut expected = vec![joint.as_str(), waiting.as_str()];
    expected.sort_unstable();
    assert_eq!(ids, expected, "the period's cases, not the later one");
    let case = s.case(&joint).unwrap().unwrap();
    let row = input.cases.iter().find(|c| c.id == joint).unwrap();
    assert_eq!(row.case_number, case.state.case_number);
    assert_eq!(row.status, case.state.status);
    assert_eq!(row.reported_at, MONDAY_9AM);
    assert_eq!(
        (row.response_due, row.resolution_due),
        (case.state.response_due, case.state.resolution_due)
    );

    let mut parts: Vec<_> = input
        .assignments
        .iter()
        .map(|a| {
            assert_eq!(a.case_id, joint, "only the dispatched case of the period");
            (a.unit.as_str(), a.lead, a.dispatched_at, a.ended.as_deref())
        })
        .collect();
    parts.sort_unstable_by_key(|p| p.0);
    let derived: Vec<_> = case.state.assignments.iter().collect();
    assert_eq!(derived.len(), 2);
    assert_eq!(
        parts,
        [
            ("城管中队", true, MONDAY_9AM + 60_001, None),
            ("物业", false, MONDAY_9AM + 60_001, Some("handed_back")),
        ]
    );
    let mut spans: Vec<_> = input
        .spans
        .iter()
        .filter(|s| s.case_id == joint)
        .map(|s| (s.holder.clone(), s.from, s.until))
        .collect();
    let mut derived: Vec<_> = case
        .state
        .holder_spans
        .iter()
        .map(|s| (s.holder.clone(), s.from, s.until))
        .collect();
    spans.sort();
    derived.sort();
    assert!(!derived.is_empty());
    assert_eq!(spans, derived);
    assert!(input.spans.iter().all(|s| s.case_id != later));

    let none = s.evaluation_input(0, MONDAY_9AM).unwrap();
    assert!(none.cases.is_empty() && none.assignments.is_empty() && none.spans.is_empty());
}

/// Every page of a case list, read with its cursor, gives the rows of one long page in the
/// same order, whatever the sort; filters by holder, unit, state, place and text (ASCII
/// case ignored) select what they name; each row carries its position and its time with
/// each holder.
pub fn the_case_list_pages_sorts_and_filters_like_one_long_page(s: &dyn Storage) {
    let by = centre();
    let minute = 60_000;
    let described = |text: &str| NewCase {
        description: text.into(),
        ..new_case(Vec::new())
    };
    let mut ids = Vec::new();
    for (i, text) in [
        "Vendor at the gate 流动摊贩",
        "摊贩",
        "vendor again",
        "垃圾",
        "VENDOR",
        "无",
    ]
    .iter()
    .enumerate()
    {
        // Two cases reported at the same moment: the id breaks the tie.
        let at = MONDAY_9AM + (i as i64 / 2) * minute;
        ids.push(
            intake_new(s, &by, described(text), at)
                .header
                .id
                .to_string(),
        );
    }
    let no_fix = NewCase {
        gps: None,
        grid: Some("XT-W01-U1".into()),
        ..new_case(Vec::new())
    };
    let by_grid = intake_new(s, &by, no_fix, MONDAY_9AM + 10 * minute);
    ids.push(by_grid.header.id.to_string());
    dispatch(s, &ids[0], &["城管中队"], MONDAY_9AM + 20 * minute);
    dispatch(s, &ids[1], &["城管中队", "物业"], MONDAY_9AM + 21 * minute);
    dispatch(s, &ids[2], &["物业"], MONDAY_9AM + 22 * minute);
    let back = CaseEventKind::HandedBack {
        reason: "不属于物业".into(),
    };
    s.add_case_event(&ids[2], &handler("物业"), back, MONDAY_9AM + 23 * minute)
        .unwrap();
    let now = MONDAY_9AM + 30 * minute;

    let list = |filter: &CaseFilter| -> Vec<String> {
        let one = s
            .case_page(
                &CaseFilter {
                    limit: 100,
                    ..filter.clone()
                },
                now,
            )
            .unwrap();
        assert_eq!(one.next_cursor, None);
        let mut paged = Vec::new();
        let mut after = None;
        loop {
            let page = s
                .case_page(
                    &CaseFilter {
                        limit: 2,
                        after,
                        ..filter.clone()
                    },
                    now,
                )
                .unwrap();
            assert!(page.cases.len() <= 2);
            paged.extend(page.cases.iter().map(|c| c.id.clone()));
            let Some(cursor) = page.next_cursor else {
                break;
            };
            after = Some(crate::office::queue::Cursor::decode(&cursor).unwrap());
        }
        let ids: Vec<String> = one.cases.iter().map(|c| c.id.clone()).collect();
        assert_eq!(paged, ids, "pages of {filter:?}");
        assert_eq!(s.case_count(filter, now).unwrap(), ids.len() as u64);
        ids
    };
    let all = CaseFilter::default();
    let reported = list(&all);
    let mut expected: Vec<(i64, String)> = reported
        .iter()
        .map(|id| (s.case(id).unwrap().unwrap().state.reported_at, id.clone()))
        .collect();
    expected.sort_by(|a, b| b.cmp(a));
    assert_eq!(
        reported,
        expected.into_iter().map(|(_, id)| id).collect::<Vec<_>>(),
        "newest first, then the larger id"
    );
    assert_eq!(reported.len(), ids.len());

    let page = s
        .case_page(
            &CaseFilter {
                limit: 100,
                sort: crate::office::queue::SortOrder::Due,
                ..all.clone()
            },
            now,
        )
        .unwrap();
    let keys: Vec<(i64, &str)> = page
        .cases
        .iter()
        .map(|c| (c.next_due.unwrap_or(i64::MAX), c.id.as_str()))
        .collect();
    assert!(keys.windows(2).all(|w| w[0] < w[1]), "{keys:?}");
    let due = |holder: Option<&str>| {
        list(&CaseFilter {
            holder: holder.map(str::to_owned),
            sort: crate::office::queue::SortOrder::Due,
            ..all.clone()
        })
    };
    assert_eq!(due(None).len(), ids.len());
    let chengguan = due(Some("城管中队"));
    let mut sorted = vec![ids[0].clone(), ids[1].clone()];
    sorted.sort_by_key(|id| {
        let row = page.cases.iter().find(|c| c.id == *id).unwrap();
        (row.next_due.unwrap_or(i64::MAX), row.id.clone())
    });
    assert_eq!(chengguan, sorted, "the unit's queue in deadline order");
    let cases_of = |f: CaseFilter| {
        let mut ids = list(&f);
        ids.sort();
        ids
    };
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    assert_eq!(
        cases_of(CaseFilter {
            holder: Some("城管中队".into()),
            ..all.clone()
        }),
        sorted(chengguan.clone())
    );
    assert_eq!(
        cases_of(CaseFilter {
            unit: Some("物业".into()),
            ..all.clone()
        }),
        sorted(vec![ids[1].clone(), ids[2].clone()]),
        "every unit ever dispatched"
    );
    assert_eq!(
        cases_of(CaseFilter {
            units_any: vec!["城管中队".into(), "公安派出所".into()],
            ..all.clone()
        }),
        sorted(vec![ids[0].clone(), ids[1].clone()])
    );
    assert_eq!(
        cases_of(CaseFilter {
            handed_back: true,
            ..all.clone()
        }),
        [ids[2].clone()],
        "back with the centre"
    );
    assert_eq!(
        cases_of(CaseFilter {
            statuses: vec![wangge_core::CaseStatus::Reported],
            ..all.clone()
        }),
        sorted(ids[3..].to_vec())
    );
    let text = |q: &str| {
        cases_of(CaseFilter {
            text: Some(q.into()),
            ..all.clone()
        })
    };
    assert_eq!(
        text("vendor"),
        sorted(vec![ids[0].clone(), ids[2].clone(), ids[4].clone()]),
        "ASCII case ignored"
    );
    assert_eq!(
        text("摊贩"),
        sorted(vec![ids[0].clone(), ids[1].clone(), ids[6].clone()]),
        "two characters"
    );
    assert_eq!(text("100%"), Vec::<String>::new(), "% is a character");
    let err = s
        .case_page(
            &CaseFilter {
                text: Some("  ".into()),
                ..all.clone()
            },
            now,
        )
        .unwrap_err();
    assert_eq!(err.code(), "bad_query", "{err}");
    let overdue_only = CaseFilter {
        overdue: true,
        ..all.clone()
    };
    let late = MONDAY_9AM + 30 * 24 * 60 * minute;
    let rows = s
        .case_page(
            &CaseFilter {
                limit: 100,
                ..all.clone()
            },
            late,
        )
        .unwrap();
    let overdue = rows.cases.iter().filter(|c| c.overdue).count() as u64;
    assert!(overdue > 0, "a month later, the registered cases are late");
    assert_eq!(s.case_count(&overdue_only, late).unwrap(), overdue);
    let overdue_now = page.cases.iter().filter(|c| c.overdue).count() as u64;
    assert_eq!(s.case_count(&overdue_only, now).unwrap(), overdue_now);

    let row = |id: &str| page.cases.iter().find(|c| c.id == id).unwrap().clone();
    let fixed = row(&ids[0]);
    assert_eq!(
        (fixed.lat, fixed.lon, fixed.located_by.as_deref()),
        (Some(31.19), Some(121.45), Some("gps"))
    );
    assert_eq!(fixed.holders, ["城管中队"]);
    let placed = row(&by_grid.header.id.to_string());
    assert_eq!(placed.located_by.as_deref(), Some("grid"));
    assert!(placed.lat.is_some() && placed.lon.is_some());
    // Time with each holder, up to now for the holding that goes on, longest first.
    let case = s.case(&ids[1]).unwrap().unwrap();
    let mut with: std::collections::BTreeMap<String, i64> = Default::default();
    for span in &case.state.holder_spans {
        *with.entry(span.holder.clone()).or_default() += span.until.unwrap_or(now) - span.from;
    }
    let listed: std::collections::BTreeMap<String, i64> = row(&ids[1])
        .time_with
        .iter()
        .map(|h| (h.holder.clone(), h.ms))
        .collect();
    assert_eq!(listed, with);
    let times: Vec<i64> = row(&ids[1]).time_with.iter().map(|h| h.ms).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");
    assert_eq!(
        row(&ids[1]).time_left_ms,
        row(&ids[1]).next_due.map(|d| d - now)
    );
}

/// Open cases of the same item reported within 50 m and 72 hours are hinted, nearest first;
/// a case is never its own duplicate, and a closed (merged) one, another item, a far one or
/// an old one is not hinted.
pub fn duplicate_hints_name_open_cases_of_the_item_nearby_nearest_first(s: &dyn Storage) {
    let by = centre();
    let at = |lat: f64, lon: f64, item: &str, now_ms: i64| -> (String, Vec<String>) {
        let intake = Intake {
            by: by.clone(),
            new: NewCase {
                checklist_item: item.into(),
                gps: Some(GpsFix {
                    lat,
                    lon,
                    accuracy_m: 5.0,
                    fix_time_ms: 0,
                }),
                ..new_case(Vec::new())
            },
            contact: None,
        };
        match s.intake_case(&intake, now_ms).unwrap() {
            IntakeOutcome::Created { case, duplicates } => (
                case.header.id.to_string(),
                duplicates.into_iter().map(|d| d.case_id).collect(),
            ),
            other => panic!("{other:?}"),
        }
    };
    let (first, hints) = at(31.19, 121.45, "A02-001", MONDAY_9AM);
    assert!(hints.is_empty());
    let (near, hints) = at(31.19, 121.4501, "A02-001", MONDAY_9AM + 1);
    assert_eq!(hints, [first.as_str()]);
    let (nearer, hints) = at(31.19, 121.45003, "A02-001", MONDAY_9AM + 2);
    assert_eq!(hints, [first.clone(), near.clone()], "nearest first");
    let (_, hints) = at(31.2, 121.45, "A02-001", MONDAY_9AM + 3);
    assert!(hints.is_empty(), "a kilometre away");
    let (_, hints) = at(31.19, 121.45, "A01-001", MONDAY_9AM + 4);
    assert!(hints.is_empty(), "another item");
    let (_, hints) = at(31.19, 121.45, "A02-001", MONDAY_9AM + 73 * 3_600_000);
    assert!(hints.is_empty(), "three days later");

    let hints = s.duplicate_hints(&first).unwrap();
    let named: Vec<(&str, f64)> = hints
        .iter()
        .map(|h| (h.case_id.as_str(), h.distance_m))
        .collect();
    let metres = |lon: f64| wangge_core::photo::distance_m(31.19, 121.45, 31.19, lon).round();
    assert_eq!(
        named,
        [
            (nearer.as_str(), metres(121.45003)),
            (near.as_str(), metres(121.4501))
        ]
    );
    assert!(hints.iter().all(|h| h.checklist_item == "A02-001"
        && h.status == "reported"
        && h.reported_at >= MONDAY_9AM));
    let before_saving = s
        .duplicates_near("A02-001", MONDAY_9AM, 31.19, 121.45)
        .unwrap();
    assert_eq!(before_saving.len(), 3, "{before_saving:?}");
    assert_eq!(before_saving[0].case_id, first);
    assert_eq!(before_saving[0].distance_m, 0.0);

    s.merge_case(&near, &first, &by, None, MONDAY_9AM + 10)
        .unwrap();
    let hints = s.duplicate_hints(&first).unwrap();
    assert_eq!(
        hints.iter().map(|h| h.case_id.as_str()).collect::<Vec<_>>(),
        [nearer.as_str()],
        "a merged case is no longer open"
    );
    let no_fix = NewCase {
        gps: None,
        grid: Some("XT-W01-U1".into()),
        ..new_case(Vec::new())
    };
    let placed = intake_new(s, &by, no_fix, MONDAY_9AM).header.id.to_string();
    assert!(
        s.duplicate_hints(&placed).unwrap().is_empty(),
        "no fix, no hint"
    );
    assert!(s.duplicate_hints("no-such-case").unwrap().is_empty());
}

/// Open311's request list filters by channel, ids, items, state and reporting time (both
/// ends included), newest first, at most `limit`.
pub fn open311_requests_filter_by_ids_items_state_and_time(s: &dyn Storage) {
    let by = centre();
    let other_item = NewCase {
        checklist_item: "A01-001".into(),
        ..new_case(Vec::new())
    };
    let a = intake(s, &by, MONDAY_9AM).header.id.to_string();
    let b = intake_new(s, &by, other_item, MONDAY_9AM + 1)
        .header
        .id
        .to_string();
    let c = intake(s, &by, MONDAY_9AM + 2).header.id.to_string();
    s.merge_case(&c, &a, &by, None, MONDAY_9AM + 3).unwrap();
    let everything = RequestFilter {
        to_ms: i64::MAX,
        limit: 100,
        ..RequestFilter::default()
    };
    let ids = |f: RequestFilter| s.request_ids(&f).unwrap();
    assert_eq!(ids(everything.clone()), [c.clone(), b.clone(), a.clone()]);
    assert_eq!(
        ids(RequestFilter {
            limit: 2,
            ..everything.clone()
        }),
        [c.clone(), b.clone()]
    );
    assert_eq!(
        ids(RequestFilter {
            ids: vec![a.clone(), c.clone(), "no-such-case".into()],
            ..everything.clone()
        }),
        [c.clone(), a.clone()]
    );
    assert_eq!(
        ids(RequestFilter {
            items: vec!["A01-001".into()],
            ..everything.clone()
        }),
        [b.as_str()]
    );
    assert_eq!(
        ids(RequestFilter {
            open: Some(false),
            ..everything.clone()
        }),
        [c.as_str()]
    );
    assert_eq!(
        ids(RequestFilter {
            open: Some(true),
            ..everything.clone()
        }),
        [b.clone(), a.clone()]
    );
    assert_eq!(
        ids(RequestFilter {
            from_ms: MONDAY_9AM + 1,
            to_ms: MONDAY_9AM + 2,
            ..everything.clone()
        }),
        [c.clone(), b.clone()],
        "both ends included"
    );
    assert_eq!(
        ids(RequestFilter {
            channel: Some(SourceChannel::Hotline12345),
            ..everything
        })
        .len(),
        3
    );
}

// ---------------------------------------------------------------------------------------
// Pairing, photos and console sessions: the rules a second backend could get wrong

/// A code `code_id` whose secret is `secret`, for `staff_id`, made at `created_at` and valid
/// for fifteen minutes, without a device name.
fn pairing_code(code_id: &str, secret: &str, staff_id: &str, created_at: i64) -> NewPairingCode {
    NewPairingCode {
        code_id: code_id.into(),
        code_hash: Sha256::digest(secret.as_bytes()).to_vec(),
        staff_id: staff_id.into(),
        device_name: None,
        role: DeviceRole::Field,
        scope: Scope {
            workstations: vec!["XT-W01".into()],
            ..Scope::default()
        },
        created_at,
        expires_at: created_at + 900_000,
    }
}

/// An exchange of `secret` for code `code_id` at `now_ms`, for the device `device_id` (its
/// id sent by the app when `from_app`); the new token's hash is `[token; 32]`.
fn redemption(
    code_id: &str,
    secret: &str,
    device_id: &str,
    from_app: bool,
    token: u8,
    now_ms: i64,
) -> Redeem {
    Redeem {
        code_id: code_id.into(),
        code_hash: Sha256::digest(secret.as_bytes()).to_vec(),
        device_id: device_id.into(),
        device_id_from_app: from_app,
        device_name: None,
        token_hash: vec![token; 32],
        now_ms,
    }
}

/// An officer, XT-GO-001, and a code `ABC` (secret `ABCDEFGH`) for them, made at
/// [`MONDAY_9AM`].
fn officer_with_code_abc(s: &dyn Storage) {
    s.upsert_roster(&[person("XT-GO-001", &[Role::GridOfficer], &[])], &[])
        .unwrap();
    assert!(
        s.create_pairing_code(&pairing_code("ABC", "ABCDEFGH", "XT-GO-001", MONDAY_9AM))
            .unwrap()
    );
}

fn refused(s: &dyn Storage, redeem: &Redeem) -> &'static str {
    let err = s.redeem_pairing_code(redeem).unwrap_err();
    assert!(matches!(err, StorageError::Pairing(_)), "{err:?}");
    err.code()
}

/// The pending codes are those still working, newest first; a code leaves the list when it
/// is used, expires, locks or is withdrawn, and a withdrawn code is answered as expired. A
/// code withdrawn (or used) once cannot be withdrawn again.
pub fn a_pairing_code_is_pending_until_used_expired_locked_or_withdrawn(s: &dyn Storage) {
    officer_with_code_abc(s);
    let later = MONDAY_9AM + 60_000;
    for (id, secret) in [("DEF", "DEFGHJKM"), ("GHJ", "GHJKMNPQ")] {
        assert!(
            s.create_pairing_code(&pairing_code(id, secret, "XT-GO-001", later))
                .unwrap()
        );
    }
    let pending = |now: i64| -> Vec<String> {
        s.pending_pairing_codes(now)
            .unwrap()
            .into_iter()
            .map(|c| c.code_id)
            .collect()
    };
    let now = MONDAY_9AM + 120_000;
    assert_eq!(pending(now), ["GHJ", "DEF", "ABC"]);
    let codes = s.pending_pairing_codes(now).unwrap();
    let abc = codes.iter().find(|c| c.code_id == "ABC").unwrap();
    assert_eq!(abc.staff_id, "XT-GO-001");
    assert_eq!(
        (abc.created_at, abc.expires_at),
        (MONDAY_9AM, MONDAY_9AM + 900_000)
    );
    let id_of = |code_id: &str| codes.iter().find(|c| c.code_id == code_id).unwrap().id;

    // Used: gone from the list, and it cannot be withdrawn afterwards.
    s.redeem_pairing_code(&redemption("ABC", "ABCDEFGH", "dev-1", false, 1, now))
        .unwrap();
    assert_eq!(pending(now), ["GHJ", "DEF"]);
    assert!(!s.withdraw_pairing_code(id_of("ABC"), now).unwrap());

    // Withdrawn: gone, answered as expired, and a second withdrawal changes nothing.
    assert!(s.withdraw_pairing_code(id_of("DEF"), now).unwrap());
    assert!(!s.withdraw_pairing_code(id_of("DEF"), now + 1).unwrap());
    assert_eq!(pending(now), ["GHJ"]);
    let late = redemption("DEF", "DEFGHJKM", "dev-2", false, 2, now + 1);
    assert_eq!(refused(s, &late), "pairing_code_expired");

    // Locked by wrong secrets: gone.
    for _ in 0..crate::pairing::MAX_WRONG_ATTEMPTS {
        let guess = redemption("GHJ", "WRONGWRG", "dev-3", false, 3, now);
        assert_eq!(refused(s, &guess), "pairing_code_unknown");
    }
    assert!(pending(now).is_empty());
    assert!(!s.withdraw_pairing_code(id_of("GHJ"), now).unwrap());

    // Expired, and unknown ids.
    assert!(
        s.create_pairing_code(&pairing_code("KMN", "KMNPQRST", "XT-GO-001", now))
            .unwrap()
    );
    assert_eq!(pending(now + 899_999), ["KMN"]);
    assert!(pending(now + 900_000).is_empty());
    assert!(!s.withdraw_pairing_code(-1, now).unwrap());
}

/// After `MAX_WRONG_ATTEMPTS` wrong secrets the right one is `pairing_code_locked`; once its
/// id is free again (a day later), a new code with that id is the one exchanged.
pub fn a_pairing_code_locks_after_too_many_wrong_secrets(s: &dyn Storage) {
    officer_with_code_abc(s);
    let now = MONDAY_9AM + 60_000;
    for _ in 0..crate::pairing::MAX_WRONG_ATTEMPTS {
        let guess = redemption("ABC", "ABCWRONG", "dev-1", false, 1, now);
        assert_eq!(refused(s, &guess), "pairing_code_unknown");
    }
    let right = redemption("ABC", "ABCDEFGH", "dev-1", false, 1, now);
    assert_eq!(refused(s, &right), "pairing_code_locked");
    assert!(s.devices().unwrap().is_empty());

    let next_day = MONDAY_9AM + crate::pairing::ID_RESERVED_MS + 1;
    assert!(
        s.create_pairing_code(&pairing_code("ABC", "ABCKLMNP", "XT-GO-001", next_day))
            .unwrap()
    );
    let old = redemption("ABC", "ABCDEFGH", "dev-1", false, 1, next_day + 1);
    assert_eq!(
        refused(s, &old),
        "pairing_code_unknown",
        "the newest code counts"
    );
    let done = s
        .redeem_pairing_code(&redemption(
            "ABC",
            "ABCKLMNP",
            "dev-1",
            false,
            1,
            next_day + 1,
        ))
        .unwrap();
    assert_eq!(
        done.device.name, "XT-GO-001 (paired)",
        "no name given: one made"
    );
    assert_eq!(done.device.scope.workstations, ["XT-W01"]);
}

/// Wrong secrets sent at the same moment (to several server instances) are each counted:
/// the lock-out cannot be outrun by guessing in parallel.
pub fn wrong_secrets_sent_at_once_are_each_counted(s: &dyn Storage) {
    officer_with_code_abc(s);
    let now = MONDAY_9AM + 60_000;
    let guesses = crate::pairing::MAX_WRONG_ATTEMPTS as usize;
    std::thread::scope(|scope| {
        let threads: Vec<_> = (0..guesses)
            .map(|i| {
                scope.spawn(move || {
                    let guess = redemption("ABC", &format!("ABCWRNG{i}"), "dev-1", false, 1, now);
                    refused(s, &guess)
                })
            })
            .collect();
        for thread in threads {
            assert_eq!(thread.join().unwrap(), "pairing_code_unknown");
        }
    });
    let right = redemption("ABC", "ABCDEFGH", "dev-1", false, 1, now);
    assert_eq!(refused(s, &right), "pairing_code_locked");
}

/// A device id the app sends is enrolled again (a new token, the code's scope, no longer
/// revoked) when it is the same person's device or a revoked one; another person's active
/// device, or an id the app did not send, is `device_id_taken`, and the code stays usable.
pub fn a_pairing_code_reenrols_the_persons_own_or_a_revoked_device(s: &dyn Storage) {
    let people = [
        person("XT-GO-001", &[Role::GridOfficer], &[]),
        person("XT-GO-002", &[Role::GridOfficer], &[]),
    ];
    s.upsert_roster(&people, &[]).unwrap();
    let mut old = field_device("dev-1", Some("XT-GO-001"));
    old.name = "旧手持".into();
    s.enroll(&old, &[1; 32]).unwrap();
    let now = MONDAY_9AM + 60_000;
    for (code_id, staff_id) in [("AAA", "XT-GO-001"), ("BBB", "XT-GO-002")] {
        let code = pairing_code(code_id, code_id, staff_id, MONDAY_9AM);
        assert!(s.create_pairing_code(&code).unwrap());
    }

    let not_from_app = redemption("AAA", "AAA", "dev-1", false, 2, now);
    assert_eq!(refused(s, &not_from_app), "device_id_taken");
    let done = s
        .redeem_pairing_code(&redemption("AAA", "AAA", "dev-1", true, 2, now))
        .unwrap();
    assert!(done.reenrolled);
    assert_eq!(done.device.name, "旧手持", "the name it had");
    assert_eq!(
        done.device.scope.workstations,
        ["XT-W01"],
        "the code's scope"
    );
    assert_eq!(done.device.created_at, old.created_at);
    assert_eq!(
        s.device_by_token(&[1; 32]).unwrap(),
        None,
        "the old token is gone"
    );
    let token = s.device_token(&[2; 32]).unwrap().unwrap();
    assert_eq!((token.issued_at, token.has_previous), (now, false));
    assert_eq!(token.device, done.device);

    let others = redemption("BBB", "BBB", "dev-1", true, 3, now);
    assert_eq!(refused(s, &others), "device_id_taken");
    assert!(s.revoke("dev-1", now).unwrap());
    let taken_over = s.redeem_pairing_code(&others).unwrap();
    assert!(taken_over.reenrolled);
    assert_eq!(taken_over.device.person.as_deref(), Some("XT-GO-002"));
    assert_eq!(taken_over.device.revoked_at, None);
    assert_eq!(s.devices().unwrap(), vec![taken_over.device]);
}

/// A declared size of nothing or above the limit, a chunk past the declared size and a
/// malformed hash are refused with their codes and store nothing; a chunk declaring another
/// size is told where the upload stands, unless it starts over at 0; a chunk for a complete
/// photo is a no-op whatever it says.
pub fn a_photo_upload_refuses_bad_sizes_and_restarts_on_another_total(s: &dyn Storage) {
    let photo = sha(PHOTO);
    let chunk = |offset: u64, total: u64, data: &'static [u8]| PhotoChunk {
        sha256: &photo,
        offset,
        total,
        data,
        thumbnail_of: None,
        device_id: "phone",
    };
    let size = PHOTO.len() as u64;
    let code = |c: PhotoChunk<'_>| s.put_photo_chunk(&c, MONDAY_9AM).unwrap_err().code();
    assert_eq!(code(chunk(0, 0, &PHOTO[..1])), "photo_too_large");
    assert_eq!(
        code(chunk(0, crate::MAX_PHOTO_BYTES + 1, &PHOTO[..1])),
        "photo_too_large"
    );
    assert_eq!(
        code(chunk(size - 2, size, &PHOTO[..5])),
        "chunk_beyond_total"
    );
    let bad_hash = PhotoChunk {
        sha256: "ABC",
        ..chunk(0, size, PHOTO)
    };
    assert_eq!(code(bad_hash), "invalid_photo_hash");
    let bad_link = PhotoChunk {
        thumbnail_of: Some("not a hash"),
        ..chunk(0, size, PHOTO)
    };
    assert_eq!(code(bad_link), "invalid_photo_hash");
    let err = s.photo_upload("ABC").unwrap_err();
    assert_eq!(err.code(), "invalid_photo_hash");
    let nothing = s.photo_upload(&photo).unwrap();
    assert_eq!((nothing.received, nothing.total), (0, None));

    let put = |c: PhotoChunk<'_>| s.put_photo_chunk(&c, MONDAY_9AM).unwrap();
    assert!(matches!(
        put(chunk(0, size + 10, &PHOTO[..10])),
        ChunkOutcome::Stored(_)
    ));
    match put(chunk(10, size, &PHOTO[10..])) {
        ChunkOutcome::WrongOffset(u) => {
            assert_eq!((u.received, u.total), (10, Some(size + 10)));
        }
        other => panic!("{other:?}"),
    }
    match put(chunk(0, size, &PHOTO[..4])) {
        ChunkOutcome::Stored(u) => assert_eq!((u.received, u.total), (4, Some(size))),
        other => panic!("{other:?}"),
    }
    assert!(matches!(put(chunk(4, size, &PHOTO[4..])), ChunkOutcome::Stored(u) if u.complete));
    match put(chunk(3, 0, &[])) {
        ChunkOutcome::Stored(u) => {
            assert_eq!((u.received, u.total, u.complete), (size, Some(size), true));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(s.photo(&photo).unwrap(), Some(PHOTO.to_vec()));
}

/// The same chunks sent at the same moment (a phone retrying while its first request still
/// runs, through another instance) are appended once: each is stored or told where the
/// upload stands, and the photo completes with the right bytes.
pub fn chunks_sent_at_once_are_appended_once(s: &dyn Storage) {
    let photo = sha(PHOTO);
    let size = PHOTO.len() as u64;
    let send = |offset: usize, end: usize| {
        let chunk = PhotoChunk {
            sha256: &photo,
            offset: offset as u64,
            total: size,
            data: &PHOTO[offset..end],
            thumbnail_of: None,
            device_id: "phone",
        };
        s.put_photo_chunk(&chunk, MONDAY_9AM).unwrap()
    };
    for (offset, end) in [(0, 10), (10, PHOTO.len())] {
        let outcomes: Vec<ChunkOutcome> = std::thread::scope(|scope| {
            let threads: Vec<_> = (0..4)
                .map(|_| scope.spawn(move || send(offset, end)))
                .collect();
            threads.into_iter().map(|t| t.join().unwrap()).collect()
        });
        let stored = outcomes
            .iter()
            .filter(|o| matches!(o, ChunkOutcome::Stored(_)))
            .count();
        assert!(stored >= 1, "{outcomes:?}");
        for outcome in &outcomes {
            match outcome {
                ChunkOutcome::Stored(u) | ChunkOutcome::WrongOffset(u) => {
                    assert!(u.received == end as u64, "{outcomes:?}");
                }
                ChunkOutcome::HashMismatch { .. } => panic!("{outcomes:?}"),
            }
        }
    }
    assert_eq!(s.photo(&photo).unwrap(), Some(PHOTO.to_vec()));
}

/// A photo, the thumbnail a reference names and the thumbnail uploaded for it are visible to
/// the devices whose scope holds a document referencing the photo, to the centre and to a
/// device that sees the whole street, and to nobody else.
pub fn a_photo_is_visible_to_the_devices_whose_scope_names_it(s: &dyn Storage) {
    let photo = sha(PHOTO);
    let named = sha(THUMB);
    let doc = Doc::new(s);
    doc.reference(s, &photo, Some(&named));
    let linked = upload(s, FAKE, Some(&photo), "phone", MONDAY_9AM);
    let unrelated = upload(s, b"another case's photo", None, "phone", MONDAY_9AM);
    let own = field_device(&doc.by.device.to_string(), None);
    let stranger = field_device("stranger", None);
    let street = Device {
        scope: Scope {
            all: true,
            ..Scope::default()
        },
        ..field_device("street", None)
    };
    let desk = Device {
        role: DeviceRole::Centre,
        ..field_device("desk", None)
    };
    for hash in [&photo, &named, &linked] {
        assert!(s.photo_in_scope(&own, hash).unwrap(), "{hash}");
        assert!(!s.photo_in_scope(&stranger, hash).unwrap(), "{hash}");
        assert!(s.photo_in_scope(&street, hash).unwrap(), "{hash}");
        assert!(s.photo_in_scope(&desk, hash).unwrap(), "{hash}");
    }
    assert!(!s.photo_in_scope(&own, &unrelated).unwrap());
    assert!(s.photo_in_scope(&desk, &unrelated).unwrap());
    let err = s.photo_in_scope(&own, "../etc/passwd").unwrap_err();
    assert_eq!(err.code(), "invalid_photo_hash");
}

/// An upload untouched for thirty days is dropped when another upload starts; a younger one
/// is kept.
pub fn an_upload_untouched_for_thirty_days_is_dropped_when_another_starts(s: &dyn Storage) {
    const DAY: i64 = 24 * 3_600_000;
    let start = |bytes: &'static [u8], now_ms: i64| {
        let hash = sha(bytes);
        let chunk = PhotoChunk {
            sha256: &hash,
            offset: 0,
            total: bytes.len() as u64,
            data: &bytes[..4],
            thumbnail_of: None,
            device_id: "phone",
        };
        assert!(matches!(
            s.put_photo_chunk(&chunk, now_ms).unwrap(),
            ChunkOutcome::Stored(_)
        ));
        hash
    };
    let received = |hash: &str| s.photo_upload(hash).unwrap().received;
    let old = start(PHOTO, MONDAY_9AM);
    let young = start(THUMB, MONDAY_9AM + 10 * DAY);
    start(FAKE, MONDAY_9AM + 30 * DAY);
    assert_eq!(
        (received(&old), received(&young)),
        (4, 4),
        "thirty days: not yet"
    );
    start(b"a fourth photo", MONDAY_9AM + 30 * DAY + 1);
    assert_eq!((received(&old), received(&young)), (0, 4));
    assert_eq!(s.photo_upload(&old).unwrap().total, None);
}

/// Setting a person's login ends their sessions, not others'; a new session drops the
/// person's sessions that have ended, and keeps the live ones.
pub fn a_new_password_ends_the_persons_sessions_and_a_login_drops_ended_ones(s: &dyn Storage) {
    let session = |staff_id: &str, created_at: i64, expires_at: i64| ConsoleSession {
        staff_id: staff_id.into(),
        csrf: "cd".repeat(16),
        created_at,
        last_seen: created_at,
        expires_at,
    };
    let hour = 3_600_000;
    s.create_session(
        &[1; 32],
        &session("XT-CC-001", MONDAY_9AM, MONDAY_9AM + hour),
    )
    .unwrap();
    s.create_session(
        &[2; 32],
        &session("XT-CC-002", MONDAY_9AM, MONDAY_9AM + hour),
    )
    .unwrap();
    s.set_login(&StaffLogin {
        staff_id: "XT-CC-001".into(),
        username: "zhouxy".into(),
        password_hash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA".into(),
        device_id: "console-XT-CC-001".into(),
        updated_at: MONDAY_9AM + 1,
    })
    .unwrap();
    assert_eq!(
        s.session(&[1; 32]).unwrap(),
        None,
        "ended by the new password"
    );
    assert!(s.session(&[2; 32]).unwrap().is_some(), "another person's");

    s.create_session(&[3; 32], &session("XT-CC-002", MONDAY_9AM, MONDAY_9AM + 10))
        .unwrap();
    let later = session("XT-CC-002", MONDAY_9AM + 10, MONDAY_9AM + hour);
    s.create_session(&[4; 32], &later).unwrap();
    assert_eq!(s.session(&[3; 32]).unwrap(), None, "ended: dropped");
    assert!(s.session(&[2; 32]).unwrap().is_some(), "live: kept");
    assert_eq!(s.session(&[4; 32]).unwrap(), Some(later));
}

#[cfg(test)]
mod tests {
    /// Every test of the suite is in the macro's list (a name listed without a test does
    /// not compile; a test left out of the list would never run).
    #[test]
    fn every_test_of_the_suite_is_listed_in_the_macro() {
        let source = include_str!("conformance.rs");
        let list = |name: &str| -> Vec<&str> {
            source
                .split(&format!("// {name}:begin"))
                .nth(1)
                .and_then(|rest| rest.split(&format!("// {name}:end")).next())
                .unwrap()
                .split(',')
                .map(str::trim)
                .filter(|name| !name.is_empty())
                .collect()
        };
        let mut listed = list("suite");
        listed.extend(list("photos"));
        let mut defined: Vec<&str> = source
            .lines()
            .filter_map(|line| line.strip_prefix("pub fn "))
            .filter(|rest| rest.contains("(s: &dyn Storage)") || rest.ends_with('('))
            .filter_map(|rest| rest.split('(').next())
            .filter(|name| *name != "catalog")
            .collect();
        let mut sorted = listed.clone();
        sorted.sort_unstable();
        defined.sort_unstable();
        assert_eq!(sorted, defined);
    }
}
