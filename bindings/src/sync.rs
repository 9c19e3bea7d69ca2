//! Sync: **not yet exported** — the place for issue 5's sync calls.
//!
//! They land here once the core's sync client exists (`wangge_core::sync`),
//! as methods on [`crate::Store`] (see the marked section at the end of
//! `store.rs`) delegating to it:
//!
//! * `sync(server_url, listener)` — one exchange with the server; progress
//!   reported through a `SyncListener` callback interface (a foreign trait:
//!   `#[uniffi::export(with_foreign)]`) implemented in Kotlin/Swift, called
//!   from the syncing thread;
//! * the per-case "reached the server" state, as a field of `CaseSummary` /
//!   `CaseState` or a `sync_state(case_id)` call;
//! * a `Sync` variant (offline, server refused, …) in `WanggeError`, mapped
//!   in `error.rs` like the others.
