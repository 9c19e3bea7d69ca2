//! What the process logs through `tracing`, captured once for every test of the binary that
//! asks (the servers under test run in this process, so their logs are here). One capture
//! for all: a process has one global subscriber, and two modules installing their own
//! would leave one of them blind.

use std::io::Write;
use std::sync::{Arc, Mutex, OnceLock};

/// The shared buffer every log line goes to, from the first call on. The project's own
/// crates are captured down to TRACE, their dependencies (hyper, reqwest, rustls…) down to
/// DEBUG: a test that looks for a secret sees every line a default or verbose operator
/// setting would write, without the whole suite's HTTP framing piling up in memory.
pub fn captured_logs() -> Arc<Mutex<Vec<u8>>> {
    static LOGS: OnceLock<Arc<Mutex<Vec<u8>>>> = OnceLock::new();
    LOGS.get_or_init(|| {
        let logs = Arc::new(Mutex::new(Vec::new()));
        let sink = logs.clone();
        let installed = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(
                "debug,wangge_server=trace,wangge_core=trace,wangge_e2e=trace",
            ))
            .with_ansi(false)
            .with_writer(move || Sink(sink.clone()))
            .try_init();
        assert!(
            installed.is_ok(),
            "another tracing subscriber was installed first; capture logs only through wangge_e2e::logs"
        );
        logs
    })
    .clone()
}

/// The captured logs as text.
pub fn logged_text() -> String {
    let logs = captured_logs();
    let bytes = logs.lock().unwrap_or_else(|p| p.into_inner());
    String::from_utf8_lossy(&bytes).into_owned()
}

struct Sink(Arc<Mutex<Vec<u8>>>);

impl Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
