//! HTTPS served by the server itself (`wangge-server serve --tls-cert --tls-key`), with a
//! street CA and a server certificate for `localhost` and `127.0.0.1` generated here: a
//! device that trusts the CA syncs; one that does not is refused at once with a typed error,
//! and nothing reaches the server; the redirect listener sends plain HTTP to HTTPS; every
//! HTTPS answer carries HSTS; the console's cookie is `Secure`; shutdown does not wait for
//! idle TLS connections. (Plain `http://` to another host: `insecure_http.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
use wangge_core::{Error, NewCase, Role, Store, SyncClient, SyncConfig, SyncError};
use wangge_e2e::*;
use wangge_server::storage::{DeviceRole, Storage};

/// A street CA and a server certificate it issued, written as PEM files.
struct Pki {
    /// The CA's certificate, PEM: what a trusting device adds to its roots.
    ca_pem: String,
    /// The server's certificate chain file (its certificate, then the CA's).
    cert: PathBuf,
    /// The server's private key file.
    key: PathBuf,
}

/// A CA named `name` and a certificate for `localhost` and `127.0.0.1` it issued, in `dir`.
fn make_pki(dir: &Path, name: &str) -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.distinguished_name.push(DnType::CommonName, name);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca_cert = ca.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca, ca_key);

    let key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "wangge sync server");
    let cert = leaf.signed_by(&key, &issuer).unwrap();

    let cert_path = dir.join(format!("{name}-server.pem"));
    let key_path = dir.join(format!("{name}-server.key"));
    std::fs::write(&cert_path, cert.pem() + &ca_cert.pem()).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    Pki {
        ca_pem: ca_cert.pem(),
        cert: cert_path,
        key: key_path,
    }
}

/// A server over HTTPS with `pki`'s certificate, loaded as `serve --tls-cert --tls-key` does.
fn https_server(dir: &Path, pki: &Pki) -> TestServer {
    let config = wangge_server::tls::server_config(&pki.cert, &pki.key).unwrap();
    TestServer::start_https(dir, config)
}

/// A device's sync configuration for `base` that trusts `roots` besides the system's, and
/// would retry a failed request twice after 2 s and 4 s (a refused certificate is not
/// retried, so a refusal comes back well before that).
fn config(base: &str, token: &str, roots: &[&str]) -> SyncConfig {
    let mut config = SyncConfig::new(base, token);
    config.max_attempts = 3;
    config.initial_backoff = Duration::from_secs(2);
    config.request_timeout = Duration::from_secs(30);
    config.extra_root_certificates = roots.iter().map(|r| r.to_string()).collect();
    config
}

/// An HTTP client (as a browser or a back-office script) that trusts `ca_pem` and follows
/// no redirect by itself.
fn http_trusting(ca_pem: &str) -> reqwest::blocking::Client {
    reqwest::blocking::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn record_case(device: &TestDevice) -> wangge_core::CaseId {
    let officer = device.me(Role::GridOfficer, None);
    device
        .store
        .record_case(
            &officer,
            NewCase::from_handheld("A02-001", "流动摊贩", fix_in("XT-W01-U1", MONDAY_9AM)),
        )
        .unwrap()
}

#[test]
fn a_device_that_trusts_the_street_ca_syncs_a_case_over_https() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path(), "street-ca");
    let server = https_server(dir.path(), &pki);
    assert!(
        server.base.starts_with("https://localhost:"),
        "{}",
        server.base
    );
    let mut device = server.field_device(dir.path(), "officer-1", scope(&["XT-B1"], &[], &[]));
    device.client = SyncClient::new(config(&server.base, &device.token, &[&pki.ca_pem])).unwrap();

    let case = record_case(&device);
    let progress = device.sync();
    assert_eq!(progress.docs_sent, 1);
    assert_eq!(progress.retries, 0);
    assert!(device.store.case_sync_status(case).unwrap().on_server);
    assert_eq!(device.store.pending_count().unwrap(), 0);

    // The server holds it: the back office reads it over HTTPS, with HSTS on the answer.
    let (_, centre) = server.enroll("centre", DeviceRole::Centre, everything());
    let http = http_trusting(&pki.ca_pem);
    let answer = http
        .get(format!("{}/v1/cases/{case}", server.base))
        .bearer_auth(&centre)
        .send()
        .unwrap();
    assert_eq!(answer.status(), 200);
    assert_eq!(
        answer.headers()["strict-transport-security"],
        wangge_server::tls::HSTS
    );
    let record: serde_json::Value = answer.json().unwrap();
    assert_eq!(record["header"]["id"], case.to_string(), "{record}");
    // A refusal over HTTPS carries HSTS too, and 127.0.0.1 (in the certificate) works as well.
    let base_ip = format!("https://127.0.0.1:{}", server.port());
    let refused = http.get(format!("{base_ip}/v1/cases")).send().unwrap();
    assert_eq!(refused.status(), 401);
    assert!(refused.headers().contains_key("strict-transport-security"));

    // The audit log sees the device's address through TLS, as it does over plain HTTP.
    let log = server.storage.audit_log(0, 100).unwrap();
    let sync = log
        .iter()
        .find(|e| e.action == "POST /v1/sync" && e.device_id == Some(device.id.to_string()))
        .unwrap_or_else(|| panic!("no sync in {log:?}"));
    assert_eq!(sync.remote_addr.as_deref(), Some("127.0.0.1"));
}

#[test]
fn a_device_that_does_not_trust_the_certificate_is_refused_at_once_and_sends_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path(), "street-ca");
    let other = make_pki(dir.path(), "another-ca");
    let server = https_server(dir.path(), &pki);
    let mut device = server.field_device(dir.path(), "officer-1", scope(&["XT-B1"], &[], &[]));
    record_case(&device);

    // Only the system's roots, and the system's roots plus another street's CA: both refuse.
    for roots in [vec![], vec![other.ca_pem.as_str()]] as [Vec<&str>; 2] {
        device.client = SyncClient::new(config(&server.base, &device.token, &roots)).unwrap();
        let started = Instant::now();
        let err = device.client.sync(&device.store, &mut |_| {}).unwrap_err();
        let took = started.elapsed();
        let Error::Sync(SyncError::UntrustedCertificate(reason)) = &err else {
            panic!("with {} extra roots: {err:?}", roots.len());
        };
        assert!(reason.contains("UnknownIssuer"), "{reason}");
        let text = err.to_string();
        assert!(
            text.contains("not trusted") && text.contains("nothing was sent"),
            "{text}"
        );
        // No retry with backoff: the first retry alone would have waited 2 s.
        assert!(took < Duration::from_secs(2), "refused after {took:?}");
    }
    // Nothing reached the server; the case waits on the device.
    assert_eq!(device.store.pending_count().unwrap(), 1);
    assert!(server_heads(&server.db).is_empty());
    let log = server.storage.audit_log(0, 100).unwrap();
    assert!(
        log.iter().all(|e| e.remote_addr.is_none()),
        "no request reached the server: {log:?}"
    );

    // Pairing over HTTPS is refused the same way, before the code is sent.
    let fresh = Store::open(
        dir.path().join("fresh.sqlite3"),
        wangge_core::DeviceId::generate(),
        catalog(),
        Arc::new(wangge_core::ManualClock::new(MONDAY_9AM)),
    )
    .unwrap();
    let err = fresh
        .pair(&config(&server.base, "", &[]), "ABC-DEFGH", None)
        .unwrap_err();
    assert!(
        matches!(err, Error::Sync(SyncError::UntrustedCertificate(_))),
        "{err:?}"
    );

    // The same device, trusting the street's CA, then syncs the case.
    device.client = SyncClient::new(config(&server.base, &device.token, &[&pki.ca_pem])).unwrap();
    assert_eq!(device.sync().docs_sent, 1);
    assert_eq!(server_heads(&server.db).len(), 1);
}

#[test]
fn plain_http_is_redirected_to_https_and_a_browser_gets_a_secure_cookie() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path(), "street-ca");
    let server = https_server(dir.path(), &pki);
    let https_port = server.port();

    // The redirect listener, as `serve --redirect-http` runs it.
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let (ready_tx, ready) = std::sync::mpsc::channel();
    let redirecting = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            ready_tx
                .send(listener.local_addr().unwrap().port())
                .unwrap();
            axum::serve(listener, wangge_server::tls::redirect(https_port))
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await
                .unwrap();
        });
    });
    let plain_port: u16 = ready.recv_timeout(Duration::from_secs(10)).unwrap();
    let http = http_trusting(&pki.ca_pem);
    for request in [
        http.get(format!(
            "http://localhost:{plain_port}/console/login?next=/console"
        )),
        http.post(format!(
            "http://localhost:{plain_port}/console/login?next=/console"
        ))
        .form(&[("username", "centre")]),
    ] {
        let answer = request.send().unwrap();
        assert_eq!(
            answer.status(),
            308,
            "a permanent redirect that keeps the method"
        );
        assert_eq!(
            answer.headers()["location"],
            format!("https://localhost:{https_port}/console/login?next=/console").as_str()
        );
        assert!(!answer.headers().contains_key("set-cookie"));
    }
    // A browser follows it to the HTTPS login page.
    let following = reqwest::blocking::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(pki.ca_pem.as_bytes()).unwrap())
        .build()
        .unwrap();
    let page = following
        .get(format!("http://localhost:{plain_port}/console/login"))
        .send()
        .unwrap();
    assert_eq!(page.status(), 200);
    assert_eq!(page.url().scheme(), "https");
    assert!(page.headers().contains_key("strict-transport-security"));

    // Logging in over HTTPS sets a Secure cookie, whatever X-Forwarded-Proto the client
    // claims (the server terminated TLS itself, so it knows).
    let roster = wangge_server::roster::parse(
        "demo",
        wangge_server::roster::DEMO_ROSTER,
        &catalog(),
        &server.storage.units().unwrap(),
    )
    .unwrap();
    server
        .storage
        .upsert_roster(&roster.people, &roster.units)
        .unwrap();
    let password = "a long test password";
    wangge_server::console::account::create_login(
        server.storage.as_ref(),
        "XT-CC-001",
        "centre",
        password,
        MONDAY_9AM,
    )
    .unwrap();
    let login = http
        .post(format!("{}/console/login", server.base))
        .header("x-forwarded-proto", "http")
        .form(&[("username", "centre"), ("password", password)])
        .send()
        .unwrap();
    assert_eq!(login.status(), 303);
    let cookie = login.headers()["set-cookie"].to_str().unwrap();
    assert!(
        cookie.contains("; Secure") && cookie.contains("HttpOnly"),
        "{cookie}"
    );

    let _ = stop.send(());
    redirecting.join().unwrap();
}

#[test]
fn shutdown_closes_idle_tls_connections_and_the_port() {
    let dir = tempfile::tempdir().unwrap();
    let pki = make_pki(dir.path(), "street-ca");
    let server = https_server(dir.path(), &pki);
    let port = server.port();
    // A kept-alive connection, idle after its request.
    let http = http_trusting(&pki.ca_pem);
    let health = http.get(format!("{}/health", server.base)).send().unwrap();
    assert_eq!(health.status(), 200);
    drop(health);

    let started = Instant::now();
    server.stop();
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "shutdown waited {:?} for an idle connection",
        started.elapsed()
    );
    assert!(
        std::net::TcpStream::connect(("127.0.0.1", port)).is_err(),
        "the port still accepts connections after shutdown"
    );
}
