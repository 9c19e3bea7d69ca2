//! `wangge-server serve` over TLS as an operator runs it: the certificate and key from the
//! environment, `--redirect-http`, HSTS, a clean exit on SIGTERM, and the refusals of a
//! half-given or unreadable configuration before anything listens. (Devices syncing over
//! TLS: the e2e suite, `tests/tests/e2e/tls.rs`.)
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};

#[path = "support/process.rs"]
mod process;
use process::{Server, free_port, wait_until};

/// A CA, and `cert.pem` (a certificate for localhost and 127.0.0.1 it issued, then the CA)
/// and `key.pem` in `dir`. Returns the CA's PEM.
fn certificates(dir: &Path) -> (String, PathBuf, PathBuf) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["localhost".into(), "127.0.0.1".into()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let (cert_path, key_path) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert_path, leaf.pem() + &ca_pem).unwrap();
    std::fs::write(&key_path, key.serialize_pem()).unwrap();
    (ca_pem, cert_path, key_path)
}

/// `wangge-server serve` with `args` and `env`, run to its end (killed after 60 s: a server
/// that serves when it should have refused fails the test rather than hanging it).
fn run_to_end(db: &Path, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_wangge-server"));
    command
        .arg("serve")
        .args(args)
        .env("WANGGE_DB", db)
        .env("WANGGE_LISTEN", format!("127.0.0.1:{}", free_port()))
        .env_remove("WANGGE_TLS_CERT")
        .env_remove("WANGGE_TLS_KEY")
        .env_remove("WANGGE_REDIRECT_HTTP")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (name, value) in env {
        command.env(name, value);
    }
    let mut child = command.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(60);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("`serve {args:?}` is still running after 60 s: it should have refused");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

#[cfg(unix)]
#[test]
fn serve_over_tls_redirects_plain_http_sends_hsts_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().unwrap();
    let (ca_pem, cert, key) = certificates(dir.path());
    let (port, plain_port) = (free_port(), free_port());
    let mut server = Server(
        Command::new(env!("CARGO_BIN_EXE_wangge-server"))
            .args([
                "serve",
                "--redirect-http",
                &format!("127.0.0.1:{plain_port}"),
            ])
            .env("WANGGE_DB", dir.path().join("street.sqlite3"))
            .env("WANGGE_LISTEN", format!("127.0.0.1:{port}"))
            .env("WANGGE_TLS_CERT", &cert)
            .env("WANGGE_TLS_KEY", &key)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let https = reqwest::blocking::Client::builder()
        .add_root_certificate(reqwest::Certificate::from_pem(ca_pem.as_bytes()).unwrap())
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let health = format!("https://localhost:{port}/health");
    wait_until("the server answers /health over https", || {
        https
            .get(&health)
            .send()
            .is_ok_and(|r| r.status().is_success())
    });
    let ready = https
        .get(format!("https://127.0.0.1:{port}/ready"))
        .send()
        .unwrap();
    assert_eq!(ready.status(), 200);
    assert_eq!(
        ready.headers()["strict-transport-security"],
        "max-age=31536000"
    );

    // Plain HTTP to the HTTPS port gets no answer; the redirect port sends it to HTTPS.
    let plain = reqwest::blocking::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    assert!(
        plain
            .get(format!("http://127.0.0.1:{port}/health"))
            .send()
            .is_err()
    );
    let moved = plain
        .get(format!("http://127.0.0.1:{plain_port}/ready?x=1"))
        .send()
        .unwrap();
    assert_eq!(moved.status(), 308);
    assert_eq!(
        moved.headers()["location"],
        format!("https://127.0.0.1:{port}/ready?x=1").as_str()
    );
    assert!(!moved.headers().contains_key("strict-transport-security"));

    // SIGTERM: a clean exit, and neither port accepts connections afterwards.
    let status = Command::new("kill")
        .args(["-TERM", &server.0.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut exited = None;
    wait_until("the server exits after SIGTERM", || {
        exited = server.0.try_wait().unwrap();
        exited.is_some()
    });
    assert!(exited.unwrap().success(), "{exited:?}");
    for p in [port, plain_port] {
        assert!(std::net::TcpStream::connect(("127.0.0.1", p)).is_err());
    }
}

#[test]
fn serve_refuses_half_a_tls_configuration_and_unusable_files_before_listening() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("street.sqlite3");
    let (_, cert, key) = certificates(dir.path());
    let missing = dir.path().join("missing.pem");
    let refused = |args: &[&str], env: &[(&str, &Path)]| {
        let out = run_to_end(&db, args, env);
        assert!(!out.status.success(), "{args:?} {env:?} should fail");
        String::from_utf8(out.stderr).unwrap()
    };
    let cert_arg = cert.to_str().unwrap();
    let key_arg = key.to_str().unwrap();

    let err = refused(&["--tls-cert", cert_arg], &[]);
    assert!(
        err.contains("--tls-cert (WANGGE_TLS_CERT) is set but --tls-key (WANGGE_TLS_KEY) is not"),
        "{err}"
    );
    let err = refused(&[], &[("WANGGE_TLS_KEY", key.as_path())]);
    assert!(err.contains("--tls-key (WANGGE_TLS_KEY) is set"), "{err}");
    let err = refused(&["--redirect-http", "127.0.0.1:0"], &[]);
    assert!(
        err.contains("--redirect-http") && err.contains("needs --tls-cert and --tls-key"),
        "{err}"
    );
    let err = refused(
        &[
            "--tls-cert",
            missing.to_str().unwrap(),
            "--tls-key",
            key_arg,
        ],
        &[],
    );
    assert!(
        err.contains("cannot read the TLS certificate file") && err.contains("missing.pem"),
        "{err}"
    );
    let err = refused(&["--tls-cert", key_arg, "--tls-key", cert_arg], &[]);
    assert!(err.contains("swapped"), "{err}");
    assert!(!db.exists(), "the database is not even opened");
}
