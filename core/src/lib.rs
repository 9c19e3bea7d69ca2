//! # wangge-core
//!
//! The library on a grid officer's phone (网格化管理): cases, the task
//! checklist, grids and zero reports, stored durably in local SQLite and
//! merged through Automerge so that nothing recorded offline is ever lost.
//!
//! * [`case`] — the case model: header, events, derived state.
//! * [`checklist`] — the task checklist (任务清单) and the working-day calendar.
//! * [`grid`] — grid blocks, workstations and unit grids; point → grid lookup.
//! * [`zero_report`] — the workstations' daily zero reports.
//! * [`store`] — the device's SQLite store.
//! * [`photo`] — the photo capture pipeline: orient, downscale, strip, hash.
//! * [`sync`] — the sync protocol and the device's sync client.
//! * [`doc`] — the Automerge document layout.
//! * [`authority`] — the rules a pushed change must satisfy, on the server and the device.
//!
//! ```no_run
//! use std::sync::Arc;
//! use wangge_core::{Actor, Catalog, DeviceId, GpsFix, NewCase, Role, Store, SystemClock};
//!
//! let device = DeviceId::generate();
//! let store = Store::open("wangge.sqlite3", device, Arc::new(Catalog::demo()?), Arc::new(SystemClock))?;
//! let me = Actor { id: "officer-017".into(), role: Role::GridOfficer, unit: Some("网格一组".into()), device };
//! let fix = GpsFix { lat: 31.1905, lon: 121.4420, accuracy_m: 8.0, fix_time_ms: store.now_ms() };
//! let id = store.record_case(&me, NewCase::from_handheld("A01-001", "流动摊贩占道经营", fix))?;
//! println!("{:?}", store.case(id)?.state.status);
//! # Ok::<(), wangge_core::Error>(())
//! ```

pub mod authority;
pub mod case;
pub mod catalog;
pub mod checklist;
pub mod doc;
pub mod error;
pub mod grid;
pub mod hlc;
pub mod ids;
pub mod model;
pub mod photo;
pub mod store;
pub mod sync;
pub mod zero_report;

pub use case::{
    AssignmentEnd, CaseEvent, CaseEventKind, CaseHeader, CaseRecord, CaseState, CaseStatus,
    GridRef, HolderSpan, NewCase, UnitAssignment,
};
pub use catalog::{Catalog, CatalogFiles};
pub use error::{Error, Result};
pub use hlc::{Clock, Hlc, ManualClock, SystemClock};
pub use ids::{CaseId, DeviceId, EventId, MatterId};
pub use model::{Actor, GpsFix, PhotoCapture, PhotoRef, Role, SourceChannel};
pub use store::{
    CaseDetail, CasePhoto, CaseQuery, CaseSummary, DeviceScope, DocRefusal, DocSync, ObserverId,
    PhotoDiskUsage, PhotoUpload, PhotoUploads, Revocation, Store, StoreChange, StoreKey,
    StoreObserver, StoredPhoto, SyncStatus,
};
pub use sync::{
    Cancel, EnrolledPerson, Enrolment, PairedDevice, PairingPayload, SyncClient, SyncConfig,
    SyncError, SyncProgress,
};
pub use zero_report::{ZeroReport, ZeroReportEventKind};

// The Kotlin and Swift bindings (`wangge-bindings`, the only crate that turns the `uniffi`
// feature on): the core's plain enums and records (`Role`, `GpsFix`, `CaseStatus` …) derive
// their converters where they are defined, and the ids cross as text (`ids.rs`), so the
// bindings crate holds only what really adapts. They form their own uniffi namespace,
// `wangge_core`, which Kotlin sees as the package `org.wangge.core.model` (core/uniffi.toml).
#[cfg(feature = "uniffi")]
uniffi::setup_scaffolding!("wangge_core");
