//! Plain `http://` only to this machine: a server URL to any other host over
//! `http://` is a configuration error before anything is sent, unless the
//! configuration explicitly allows insecure http.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use wangge_core::{Error, SyncClient, SyncConfig, SyncError};
use wangge_e2e::*;
use wangge_server::storage::DeviceRole;

fn config(base: &str, token: &str, allow: bool) -> SyncConfig {
    let mut config = SyncConfig::new(base, token);
    config.initial_backoff = Duration::from_millis(20);
    config.max_attempts = 2;
    config.allow_insecure_http = allow;
    config
}

#[test]
fn loopback_http_syncs_a_remote_http_host_is_refused_unless_allowed() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(dir.path());
    let device = server.field_device(dir.path(), "officer-1", scope(&["XT-B1"], &[], &[]));
    // Loopback over plain http: the whole suite runs this way.
    device.sync();
    let (_, token) = server.enroll("officer-2", DeviceRole::Field, scope(&["XT-B2"], &[], &[]));

    // A remote host over plain http: refused, typed, before any connection.
    let err = SyncClient::new(config("http://10.0.0.1:8080", &token, false)).unwrap_err();
    assert!(
        matches!(err, Error::Sync(SyncError::InsecureHttp(ref host)) if host == "10.0.0.1"),
        "{err}"
    );
    assert!(err.to_string().contains("https://"), "{err}");

    // 0.0.0.0 is no loopback address, but on this machine it reaches the
    // server: refused without the flag, a working sync with it.
    let base = format!("http://0.0.0.0:{}", server.port());
    let err = SyncClient::new(config(&base, &token, false)).unwrap_err();
    assert!(
        matches!(err, Error::Sync(SyncError::InsecureHttp(_))),
        "{err}"
    );
    let client = SyncClient::new(config(&base, &token, true)).unwrap();
    let me = client.enrolment().unwrap();
    assert_eq!(me.person.unwrap().staff_id, "officer-2");
    assert!(SyncClient::new(config("http://10.0.0.1:8080", &token, true)).is_ok());

    // Trusting an extra CA (a street's own, for its HTTPS server) loosens nothing for
    // plain http://: still refused without the flag.
    let mut trusting = config("http://10.0.0.1:8080", &token, false);
    let street_ca = rcgen::generate_simple_self_signed(vec!["street-ca".into()]).unwrap();
    trusting.extra_root_certificates = vec![street_ca.cert.pem()];
    let err = SyncClient::new(trusting.clone()).unwrap_err();
    assert!(
        matches!(err, Error::Sync(SyncError::InsecureHttp(_))),
        "{err}"
    );
    trusting.server_url = "https://10.0.0.1:8443".into();
    assert!(SyncClient::new(trusting).is_ok());
}
