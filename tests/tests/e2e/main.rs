//! The end-to-end suite: several devices, offline edits, a real server on 127.0.0.1,
//! convergence, faults, scopes, photos and a restored server — one module per concern.
//!
//! One test binary rather than one per file: each would link the server, the core and the
//! HTTP stack again (about 40 MB and several seconds apiece), which is most of what the suite
//! costs CI in time and disk. Run one part with a filter, e.g.
//! `cargo test -p wangge-e2e --test e2e faults::`.

mod audit;
mod authority;
mod authority_property;
mod bad_input;
mod board;
mod catalog;
mod console;
mod convergence;
mod evaluation;
mod exports;
mod faults;
mod hostile_inputs;
mod insecure_http;
mod intake;
mod joint;
mod json_errors;
mod metrics;
mod pairing;
mod photo_order;
mod photos;
mod privacy;
mod queues;
mod restore;
mod scopes;
mod slow_link;
mod sync_flow;
mod tls;
mod tokens;
