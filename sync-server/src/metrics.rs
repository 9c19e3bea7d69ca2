//! Prometheus metrics at `GET /metrics` (text exposition format 0.0.4): requests by route,
//! method and status with a latency histogram, documents pushed, pulled and refused, the
//! change-feed position handed out, and photo bytes in and out.
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

use axum::extract::{MatchedPath, Request};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

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

    /// The text exposition of every series.
    pub fn render(&self) -> String {
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
            let labels = format!("route=\"{route}\",method=\"{method}\"");
            for (bound, n) in BUCKETS.iter().zip(s.buckets) {
                let _ = writeln!(
                    out,
                    "wangge_http_request_duration_seconds_bucket{{{labels},le=\"{bound}\"}} {n}"
                );
            }
            let _ = writeln!(
                out,
                "wangge_http_request_duration_seconds_bucket{{{labels},le=\"+Inf\"}} {}\n\
                 wangge_http_request_duration_seconds_sum{{{labels}}} {}\n\
                 wangge_http_request_duration_seconds_count{{{labels}}} {}",
                s.count, s.sum_seconds, s.count
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
        out
    }
}

/// The middleware that times and counts every request (installed by [`crate::router`]).
pub async fn track(
    axum::extract::State(metrics): axum::extract::State<std::sync::Arc<Metrics>>,
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
    axum::extract::Extension(metrics): axum::extract::Extension<std::sync::Arc<Metrics>>,
) -> Response {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        metrics.render(),
    )
        .into_response()
}
