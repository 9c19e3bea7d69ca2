//! Prometheus metrics at `GET /metrics` (text exposition format 0.0.4): requests by route,
//! method and status with a latency histogram, documents pushed, pulled and refused, the
//! change-feed position handed out, photo bytes in and out, and the database's connections
//! (open, idle, in use, the maximum, waits for one and for the write lock; read from the
//! storage's own counters, [`crate::storage::Storage::pool_stats`]).
//!
//! Hand-written rather than a metrics crate: a dozen series, one registry per router (so
//! tests that run several servers in one process each see their own), and no global
//! recorder to install. Labels are route *templates* (`/v1/cases/{id}`), never ids, so the
//! number of series stays bounded and no case id reaches the monitoring system; a request
//! to an unknown path is counted under `route="unmatched"`.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;
use crate::storage::pool_stats::{DbStats, PoolSnapshot, WAIT_BUCKETS, WaitSnapshot};

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// Put in a sync answer's extensions by the sync handler: what the round moved.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SyncCounts {
    /// Documents pushed and stored.
    pub pushed: u64,
    /// Documents sent to the device.
    pub pulled: u64,
    /// Pushed documents refused by the authority rules.
    pub refused: u64,
    /// The feed position handed to the device.
    pub cursor: u64,
}

/// Put in a photo answer's extensions: bytes received (an upload chunk) or sent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PhotoBytes {
    /// Bytes received from the device.
    pub received: u64,
    /// Bytes sent to the device.
    pub sent: u64,
}

#[derive(Debug, Default)]
struct Series {
    count: u64,
    sum_seconds: f64,
    buckets: [u64; BUCKETS.len()],
}

/// One server's metrics.
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), Series>>,
    docs_pushed: AtomicU64,
    docs_pulled: AtomicU64,
    docs_refused: AtomicU64,
    feed_position: AtomicU64,
    photo_bytes_received: AtomicU64,
    photo_bytes_sent: AtomicU64,
}

impl Metrics {
    fn observe(&self, route: String, method: String, status: u16, seconds: f64) {
        let mut requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        let s = requests.entry((route, method, status)).or_default();
        s.count += 1;
        s.sum_seconds += seconds;
        for (i, bound) in BUCKETS.iter().enumerate() {
            if seconds <= *bound {
                s.buckets[i] += 1;
            }
        }
    }

    fn count(&self, response: &Response) {
        if let Some(c) = response.extensions().get::<SyncCounts>() {
            self.docs_pushed.fetch_add(c.pushed, Ordering::Relaxed);
            self.docs_pulled.fetch_add(c.pulled, Ordering::Relaxed);
            self.docs_refused.fetch_add(c.refused, Ordering::Relaxed);
            self.feed_position.fetch_max(c.cursor, Ordering::Relaxed);
        }
        if let Some(b) = response.extensions().get::<PhotoBytes>() {
            self.photo_bytes_received
                .fetch_add(b.received, Ordering::Relaxed);
            self.photo_bytes_sent.fetch_add(b.sent, Ordering::Relaxed);
        }
    }

    /// The text exposition of every series, the database's from `db`.
    pub fn render(&self, db: &DbStats) -> String {
        let mut out = String::new();
        let counter = |out: &mut String, name: &str, help: &str, v: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
            );
        };
        let _ = writeln!(
            out,
            "# HELP wangge_http_requests_total HTTP requests answered, by route template, method and status.\n\
             # TYPE wangge_http_requests_total counter"
        );
        let requests = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        for ((route, method, status), s) in requests.iter() {
            let _ = writeln!(
                out,
                "wangge_http_requests_total{{route=\"{route}\",method=\"{method}\",status=\"{status}\"}} {}",
                s.count
            );
        }
        let _ = writeln!(
            out,
            "# HELP wangge_http_request_duration_seconds Time to answer, by route template and method.\n\
             # TYPE wangge_http_request_duration_seconds histogram"
        );
        let mut by_route: BTreeMap<(&str, &str), Series> = BTreeMap::new();
        for ((route, method, _), s) in requests.iter() {
            let r = by_route.entry((route, method)).or_default();
            r.count += s.count;
            r.sum_seconds += s.sum_seconds;
            for (i, b) in s.buckets.iter().enumerate() {
                r.buckets[i] += b;
            }
        }
        for ((route, method), s) in &by_route {
            histogram(
                &mut out,
                "wangge_http_request_duration_seconds",
                &format!("route=\"{route}\",method=\"{method}\""),
                &BUCKETS,
                &s.buckets,
                s.sum_seconds,
                s.count,
            );
        }
        drop(requests);
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        counter(
            &mut out,
            "wangge_documents_pushed_total",
            "Documents devices pushed that were stored.",
            load(&self.docs_pushed),
        );
        counter(
            &mut out,
            "wangge_documents_pulled_total",
            "Documents sent to devices.",
            load(&self.docs_pulled),
        );
        counter(
            &mut out,
            "wangge_documents_refused_total",
            "Pushed documents refused under the authority rules.",
            load(&self.docs_refused),
        );
        counter(
            &mut out,
            "wangge_photo_bytes_received_total",
            "Photo and thumbnail bytes uploaded by devices.",
            load(&self.photo_bytes_received),
        );
        counter(
            &mut out,
            "wangge_photo_bytes_sent_total",
            "Photo and thumbnail bytes sent to devices.",
            load(&self.photo_bytes_sent),
        );
        let _ = writeln!(
            out,
            "# HELP wangge_feed_position The highest change-feed position handed to a device.\n\
             # TYPE wangge_feed_position gauge\nwangge_feed_position {}",
            load(&self.feed_position)
        );
        render_db(&mut out, db);
        out
    }
}

/// One histogram's series with `labels`: a bucket per bound (cumulative counts), `+Inf`,
/// the sum and the count.
fn histogram(
    out: &mut String,
    name: &str,
    labels: &str,
    bounds: &[f64],
    cumulative: &[u64],
    sum_seconds: f64,
    count: u64,
) {
    for (bound, n) in bounds.iter().zip(cumulative) {
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {n}");
    }
    let _ = writeln!(
        out,
        "{name}_bucket{{{labels},le=\"+Inf\"}} {count}\n\
         {name}_sum{{{labels}}} {sum_seconds}\n\
         {name}_count{{{labels}}} {count}"
    );
}

/// How a pool gauge reads its value.
type Gauge = fn(&PoolSnapshot) -> u32;

/// The database's series, labelled by backend and pool (nothing for a storage that keeps
/// no figures).
fn render_db(out: &mut String, db: &DbStats) {
    if db.backend.is_empty() {
        return;
    }
    let backend = db.backend;
    let gauges: [(&str, &str, Gauge); 4] = [
        (
            "wangge_db_pool_connections_max",
            "The most connections the pool opens.",
            |p| p.max,
        ),
        (
            "wangge_db_pool_connections_open",
            "Database connections open now.",
            |p| p.open,
        ),
        (
            "wangge_db_pool_connections_idle",
            "Open database connections no request holds.",
            |p| p.idle,
        ),
        (
            "wangge_db_pool_connections_in_use",
            "Open database connections a request holds.",
            |p| p.in_use,
        ),
    ];
    for (name, help, value) in gauges {
        let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
        for p in &db.pools {
            let _ = writeln!(
                out,
                "{name}{{backend=\"{backend}\",pool=\"{}\"}} {}",
                p.pool,
                value(p)
            );
        }
    }
    let waits = "wangge_db_pool_wait_seconds";
    let _ = writeln!(
        out,
        "# HELP {waits} Time a request waited for a database connection.\n# TYPE {waits} histogram"
    );
    for p in &db.pools {
        wait_histogram(
            out,
            waits,
            &format!("backend=\"{backend}\",pool=\"{}\"", p.pool),
            &p.wait,
        );
    }
    let timeouts = "wangge_db_pool_wait_timeouts_total";
    let _ = writeln!(
        out,
        "# HELP {timeouts} Waits for a database connection that gave up.\n# TYPE {timeouts} counter"
    );
    for p in &db.pools {
        let _ = writeln!(
            out,
            "{timeouts}{{backend=\"{backend}\",pool=\"{}\"}} {}",
            p.pool, p.timeouts
        );
    }
    let lock = "wangge_db_write_lock_wait_seconds";
    let _ = writeln!(
        out,
        "# HELP {lock} Time a document-writing transaction waited for the write lock that orders the change feed.\n\
         # TYPE {lock} histogram"
    );
    wait_histogram(
        out,
        lock,
        &format!("backend=\"{backend}\""),
        &db.write_lock_wait,
    );
}

fn wait_histogram(out: &mut String, name: &str, labels: &str, w: &WaitSnapshot) {
    histogram(
        out,
        name,
        labels,
        &WAIT_BUCKETS,
        &w.buckets,
        w.sum_seconds,
        w.count,
    );
}

/// The middleware that times and counts every request (installed by [`crate::router`]).
pub async fn track(
    State(metrics): State<std::sync::Arc<Metrics>>,
    request: Request,
    next: Next,
) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let response = next.run(request).await;
    metrics.count(&response);
    metrics.observe(
        route,
        method,
        response.status().as_u16(),
        started.elapsed().as_secs_f64(),
    );
    response
}

/// `GET /metrics`.
pub async fn metrics(
    State(state): State<AppState>,
    axum::extract::Extension(metrics): axum::extract::Extension<std::sync::Arc<Metrics>>,
) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics.render(&state.storage.pool_stats()),
    )
        .into_response()
}
