//! HTTPS served by the server itself, for a street that runs one box with no reverse proxy
//! in front (`wangge-server serve --tls-cert FILE --tls-key FILE`; `docs/tls.md`).
//!
//! * [`server_config`] loads a PEM certificate chain and its private key into a rustls
//!   configuration (the `ring` provider, as the phones' client uses), with errors that name
//!   the file and say what to do. The files are read once at start: to rotate a
//!   certificate, replace the files and restart the server (SIGTERM finishes the requests
//!   in flight first).
//! * [`serve_https`] serves a router over TLS until its shutdown future resolves, with the
//!   same graceful shutdown as plain HTTP.
//! * [`https`] marks every request with [`OverTls`] and answers with
//!   `Strict-Transport-Security`.
//! * [`redirect`] is the optional plain-HTTP listener that sends every request to the
//!   `https://` address with a `308 Permanent Redirect`.
//!
//! Why `tokio-rustls` under `axum::serve` rather than `axum-server` or a hand-written
//! hyper loop: `axum::serve` already drives the plain-HTTP server, its graceful shutdown
//! and `ConnectInfo<SocketAddr>` (which the audit log reads); a [`TlsListener`] that hands
//! it finished TLS streams keeps all three identical for HTTPS, and `tokio-rustls` was
//! already in the dependency tree (under reqwest), so HTTPS costs no new crate and no second
//! server implementation. Handshakes run in their own tasks with a time limit, so a client
//! that connects and stalls delays nobody else's connection.

use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::Request;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::serve::ListenerExt;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;

use crate::error::ApiError;

/// The TLS server configuration [`server_config`] makes and [`serve_https`] takes.
pub use rustls::ServerConfig;

/// The `Strict-Transport-Security` value of every HTTPS answer: browsers use only
/// `https://` for this host for a year.
pub const HSTS: &str = "max-age=31536000";

/// How long a client may take to finish the TLS handshake before its connection is closed.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Most TLS handshakes in progress at once; further connections wait in the kernel's
/// backlog until one finishes.
const MAX_HANDSHAKES: usize = 512;

/// A request extension: the request reached this server over TLS (terminated here, by
/// [`serve_https`]). Handlers that care (the console's `Secure` cookie) read it with
/// `request.extensions().get::<OverTls>()`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OverTls;

/// Why the certificate or key could not be loaded. Every message names the file and what
/// to do.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TlsError {
    /// Only one of the certificate and the key was given.
    #[error(
        "{given} is set but {missing} is not: give both the certificate chain and its private key (PEM files) to serve HTTPS, or neither to serve plain HTTP"
    )]
    Incomplete {
        /// The flag (and its variable) that was given.
        given: &'static str,
        /// The flag (and its variable) that is missing.
        missing: &'static str,
    },
    /// A file could not be read.
    #[error(
        "cannot read the TLS {what} file {}: {source}; check the path and that the server's user may read it",
        path.display()
    )]
    Read {
        /// "certificate" or "private key".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The operating system's reason.
        source: std::io::Error,
    },
    /// A file is not well-formed PEM.
    #[error(
        "the TLS {what} file {} is not valid PEM ({detail}); give the file as your CA or certbot wrote it (-----BEGIN ...----- blocks)",
        path.display()
    )]
    Pem {
        /// "certificate" or "private key".
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The parser's reason.
        detail: String,
    },
    /// The certificate file holds no certificate.
    #[error(
        "the TLS certificate file {} holds no certificate (-----BEGIN CERTIFICATE-----){hint}; give the certificate chain, the server's own certificate first (certbot: fullchain.pem)",
        path.display()
    )]
    NoCertificate {
        /// The file.
        path: PathBuf,
        /// A hint when the file holds something else (a key: the files are swapped).
        hint: &'static str,
    },
    /// The key file holds no private key.
    #[error(
        "the TLS private key file {} holds no private key (-----BEGIN PRIVATE KEY-----, RSA or EC){hint}; give the unencrypted key of the certificate (certbot: privkey.pem)",
        path.display()
    )]
    NoKey {
        /// The file.
        path: PathBuf,
        /// A hint when the file holds something else (a certificate: the files are swapped).
        hint: &'static str,
    },
    /// rustls refused the pair: the key does not belong to the certificate, or is of a
    /// kind it does not support.
    #[error(
        "the TLS certificate {} and private key {} do not work together ({reason}); check that the key is the one the certificate was issued for",
        cert.display(),
        key.display()
    )]
    Refused {
        /// The certificate file.
        cert: PathBuf,
        /// The key file.
        key: PathBuf,
        /// rustls's reason.
        reason: String,
    },
}

/// The certificate and key settings as given (`--tls-cert`, `--tls-key`): the files when
/// both are set, `None` when neither is, [`TlsError::Incomplete`] when only one is.
pub fn files(
    cert: Option<PathBuf>,
    key: Option<PathBuf>,
) -> Result<Option<(PathBuf, PathBuf)>, TlsError> {
    const CERT: &str = "--tls-cert (WANGGE_TLS_CERT)";
    const KEY: &str = "--tls-key (WANGGE_TLS_KEY)";
    match (cert, key) {
        (Some(cert), Some(key)) => Ok(Some((cert, key))),
        (None, None) => Ok(None),
        (Some(_), None) => Err(TlsError::Incomplete {
            given: CERT,
            missing: KEY,
        }),
        (None, Some(_)) => Err(TlsError::Incomplete {
            given: KEY,
            missing: CERT,
        }),
    }
}

/// Loads the PEM certificate chain in `cert` (the server's certificate first, then the
/// intermediates) and the PEM private key in `key` (PKCS#8, PKCS#1 or SEC1, unencrypted)
/// into a TLS server configuration: TLS 1.2 and 1.3 with rustls's safe defaults, HTTP/1.1.
pub fn server_config(cert: &Path, key: &Path) -> Result<Arc<ServerConfig>, TlsError> {
    let read = |what: &'static str, path: &Path| {
        std::fs::read(path).map_err(|source| TlsError::Read {
            what,
            path: path.to_owned(),
            source,
        })
    };
    let cert_pem = read("certificate", cert)?;
    let chain = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Pem {
            what: "certificate",
            path: cert.to_owned(),
            detail: e.to_string(),
        })?;
    if chain.is_empty() {
        return Err(TlsError::NoCertificate {
            path: cert.to_owned(),
            hint: if PrivateKeyDer::from_pem_slice(&cert_pem).is_ok() {
                " but a private key (are --tls-cert and --tls-key swapped?)"
            } else {
                ""
            },
        });
    }
    let key_pem = read("private key", key)?;
    let private_key = match PrivateKeyDer::from_pem_slice(&key_pem) {
        Ok(k) => k,
        Err(rustls::pki_types::pem::Error::NoItemsFound) => {
            let holds_certificate = CertificateDer::pem_slice_iter(&key_pem).any(|c| c.is_ok());
            return Err(TlsError::NoKey {
                path: key.to_owned(),
                hint: if holds_certificate {
                    " but a certificate (are --tls-cert and --tls-key swapped?)"
                } else {
                    ""
                },
            });
        }
        Err(e) => {
            return Err(TlsError::Pem {
                what: "private key",
                path: key.to_owned(),
                detail: e.to_string(),
            });
        }
    };
    let refused = |e: rustls::Error| TlsError::Refused {
        cert: cert.to_owned(),
        key: key.to_owned(),
        reason: e.to_string(),
    };
    let mut config =
        ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .map_err(refused)?
            .with_no_client_auth()
            .with_single_cert(chain, private_key)
            .map_err(refused)?;
    // axum serves HTTP/1.1 only (its http2 feature is off); say so in the handshake.
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A listener that accepts TCP connections, finishes their TLS handshakes in tasks of
/// their own (each within [`HANDSHAKE_TIMEOUT`]) and hands `axum::serve` the connections
/// that completed one. A failed handshake (an untrusting client, a port scanner, plain HTTP
/// sent to the HTTPS port) closes that connection and is logged at debug level.
#[derive(Debug)]
pub struct TlsListener {
    local_addr: SocketAddr,
    ready: mpsc::Receiver<(TlsStream<TcpStream>, SocketAddr)>,
    accepting: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    /// Serves TLS with `config` on the connections `tcp` accepts.
    pub fn new(tcp: TcpListener, config: Arc<ServerConfig>) -> std::io::Result<Self> {
        let local_addr = tcp.local_addr()?;
        let (tx, ready) = mpsc::channel(64);
        let acceptor = TlsAcceptor::from(config);
        let accepting = tokio::spawn(accept_loop(tcp, acceptor, tx));
        Ok(TlsListener {
            local_addr,
            ready,
            accepting,
        })
    }
}

impl Drop for TlsListener {
    /// Stops accepting: the port is closed as soon as `axum::serve` lets go of the listener
    /// (at graceful shutdown), not when the runtime ends.
    fn drop(&mut self) {
        self.accepting.abort();
    }
}

async fn accept_loop(
    mut tcp: TcpListener,
    acceptor: TlsAcceptor,
    ready: mpsc::Sender<(TlsStream<TcpStream>, SocketAddr)>,
) {
    let handshakes = Arc::new(Semaphore::new(MAX_HANDSHAKES));
    loop {
        let Ok(permit) = handshakes.clone().acquire_owned().await else {
            return;
        };
        // axum's own accept: it logs and backs off on errors such as too many open files.
        let (stream, addr) = axum::serve::Listener::accept(&mut tcp).await;
        let acceptor = acceptor.clone();
        let ready = ready.clone();
        tokio::spawn(async move {
            // Small requests and answers: do not wait to fill packets.
            let _ = stream.set_nodelay(true);
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => {
                    drop(permit);
                    // Fails only when the server has stopped accepting: the connection closes.
                    let _ = ready.send((tls, addr)).await;
                }
                Ok(Err(e)) => tracing::debug!(%addr, error = %e, "TLS handshake failed"),
                Err(_) => tracing::debug!(%addr, "TLS handshake timed out"),
            }
        });
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.ready.recv().await {
            Some(connection) => connection,
            // The accepting task ended (it only does when aborted): accept nothing more.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local_addr)
    }
}

/// `app` as served over TLS: every request carries [`OverTls`] and an
/// `X-Forwarded-Proto: https` header in place of any the client sent (the console's
/// `over_tls` reads that header, as it does behind a TLS-terminating proxy), and every
/// answer carries `Strict-Transport-Security` ([`HSTS`]).
pub fn https(app: Router) -> Router {
    app.layer(axum::middleware::from_fn(mark_over_tls))
}

async fn mark_over_tls(mut request: Request, next: Next) -> Response {
    request.extensions_mut().insert(OverTls);
    request
        .headers_mut()
        .insert("x-forwarded-proto", HeaderValue::from_static("https"));
    let mut response = next.run(request).await;
    response
        .headers_mut()
        .entry(header::STRICT_TRANSPORT_SECURITY)
        .or_insert(HeaderValue::from_static(HSTS));
    response
}

/// Serves `app` over TLS on `listener` until `shutdown` resolves, then stops accepting and
/// finishes the requests in flight, as `axum::serve` does for plain HTTP. Handlers see the
/// client's address as `ConnectInfo<SocketAddr>` and the request marked [`OverTls`].
pub async fn serve_https<F>(
    listener: TcpListener,
    config: Arc<ServerConfig>,
    app: Router,
    shutdown: F,
) -> std::io::Result<()>
where
    F: Future<Output = ()> + Send + 'static,
{
    // `tap_io` does nothing to the stream; axum implements `ConnectInfo<SocketAddr>` for any
    // listener wrapped in it whose address is a `SocketAddr`.
    let listener = TlsListener::new(listener, config)?.tap_io(|_| {});
    axum::serve(
        listener,
        https(app).into_make_service_with_connect_info::<SocketAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await
}

/// The plain-HTTP application of `--redirect-http`: every request, whatever its method and
/// path, is answered `308 Permanent Redirect` to the same host, path and query over
/// `https://` on `https_port` (the port is left out when it is 443). A request without a
/// usable `Host` header is refused with `400 no_host`.
pub fn redirect(https_port: u16) -> Router {
    Router::new().fallback(move |headers: HeaderMap, uri: Uri| async move {
        match https_location(&headers, &uri, https_port) {
            Some(location) => (
                StatusCode::PERMANENT_REDIRECT,
                [(header::LOCATION, location)],
                "this server answers over https:// only\n",
            )
                .into_response(),
            None => ApiError::bad_request(
                "no_host",
                "the request names no host (Host header); use the server's https:// address",
            )
            .into_response(),
        }
    })
}

/// `https://<host>[:port]<path>?<query>` for a request that came over plain HTTP.
fn https_location(headers: &HeaderMap, uri: &Uri, https_port: u16) -> Option<String> {
    let authority: axum::http::uri::Authority = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.parse().ok())
        .or_else(|| uri.authority().cloned())?;
    let host = authority.host();
    if host.is_empty() {
        return None;
    }
    let port = if https_port == 443 {
        String::new()
    } else {
        format!(":{https_port}")
    };
    let path = uri.path_and_query().map_or("/", |p| p.as_str());
    Some(format!("https://{host}{port}{path}"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    struct Pair {
        cert: String,
        key: String,
    }

    fn self_signed() -> Pair {
        let certified = rcgen::generate_simple_self_signed(vec!["localhost".into()]).unwrap();
        Pair {
            cert: certified.cert.pem(),
            key: certified.signing_key.serialize_pem(),
        }
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    #[test]
    fn both_files_or_neither() {
        assert!(files(None, None).unwrap().is_none());
        let both = files(Some("c.pem".into()), Some("k.pem".into())).unwrap();
        assert_eq!(both, Some(("c.pem".into(), "k.pem".into())));
        let err = files(Some("c.pem".into()), None).unwrap_err().to_string();
        assert!(
            err.starts_with("--tls-cert (WANGGE_TLS_CERT) is set but --tls-key"),
            "{err}"
        );
        let err = files(None, Some("k.pem".into())).unwrap_err().to_string();
        assert!(err.contains("--tls-cert (WANGGE_TLS_CERT) is not"), "{err}");
        assert!(err.contains("or neither"), "{err}");
    }

    #[test]
    fn a_certificate_and_its_key_load() {
        let dir = tempfile::tempdir().unwrap();
        let pair = self_signed();
        let cert = write(dir.path(), "cert.pem", &pair.cert);
        let key = write(dir.path(), "key.pem", &pair.key);
        let config = server_config(&cert, &key).unwrap();
        assert_eq!(config.alpn_protocols, vec![b"http/1.1".to_vec()]);
    }

    #[test]
    fn every_loading_error_names_the_file_and_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let pair = self_signed();
        let other = self_signed();
        let cert = write(dir.path(), "cert.pem", &pair.cert);
        let key = write(dir.path(), "key.pem", &pair.key);
        let other_key = write(dir.path(), "other-key.pem", &other.key);
        let empty = write(dir.path(), "empty.pem", "");
        let broken = write(
            dir.path(),
            "broken.pem",
            "-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n",
        );
        let missing = dir.path().join("missing.pem");
        let message = |cert: &Path, key: &Path| server_config(cert, key).unwrap_err().to_string();

        let err = message(&missing, &key);
        assert!(
            err.contains("cannot read the TLS certificate file"),
            "{err}"
        );
        assert!(err.contains("missing.pem"), "{err}");
        let err = message(&cert, &missing);
        assert!(
            err.contains("cannot read the TLS private key file"),
            "{err}"
        );

        let err = message(&key, &cert);
        assert!(err.contains("key.pem holds no certificate"), "{err}");
        assert!(err.contains("swapped"), "{err}");
        let err = message(&cert, &cert);
        assert!(err.contains("cert.pem holds no private key"), "{err}");
        assert!(err.contains("swapped"), "{err}");
        let err = message(&empty, &key);
        assert!(err.contains("empty.pem holds no certificate"), "{err}");
        assert!(!err.contains("swapped"), "{err}");
        let err = message(&broken, &key);
        assert!(err.contains("broken.pem is not valid PEM"), "{err}");

        let err = message(&cert, &other_key);
        assert!(err.contains("do not work together"), "{err}");
        assert!(
            err.contains("cert.pem") && err.contains("other-key.pem"),
            "{err}"
        );
        assert!(err.contains("the key is the one"), "{err}");
    }

    #[test]
    fn the_redirect_keeps_host_path_and_query_and_names_the_https_port() {
        let uri: Uri = "/v1/cases?status=open".parse().unwrap();
        let mut headers = HeaderMap::new();
        headers.insert(header::HOST, "sync.example:8080".parse().unwrap());
        assert_eq!(
            https_location(&headers, &uri, 8443).as_deref(),
            Some("https://sync.example:8443/v1/cases?status=open")
        );
        assert_eq!(
            https_location(&headers, &uri, 443).as_deref(),
            Some("https://sync.example/v1/cases?status=open")
        );
        headers.insert(header::HOST, "[::1]:80".parse().unwrap());
        assert_eq!(
            https_location(&headers, &"/".parse().unwrap(), 443).as_deref(),
            Some("https://[::1]/")
        );
        headers.insert(header::HOST, "bad host".parse().unwrap());
        assert_eq!(https_location(&headers, &uri, 443), None);
        assert_eq!(https_location(&HeaderMap::new(), &uri, 443), None);
    }
}
