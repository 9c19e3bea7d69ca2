//! The device side of sync: rounds of one request and one response until
//! nothing is left to push or pull.
//!
//! Each round pushes a batch of changed documents and receives a batch of
//! documents from the server's change feed; the answer is applied in one
//! local transaction. A round interrupted anywhere — before the request,
//! with the response lost, while applying it — leaves the store as it was,
//! and the next round repeats it: pushing the same Automerge changes twice
//! and reading the same feed twice are both harmless.
//!
//! Network failures are retried with exponential backoff within a call;
//! when the attempts run out the call fails with [`SyncError::Offline`] and
//! every unsent change stays marked for the next call. Nothing is dropped
//! after a failure (unlike upload queues that give up on an entry).
//!
//! A server whose database was restored from a backup has lost changes it
//! had acknowledged, and this device would never push them again: it
//! believes the server holds them. Such a server answers "reset" (see
//! `docs/sync-protocol.md`); the call then forgets everything it believed
//! the server holds, in one local transaction, pushes every document whole
//! and reads the feed from 0, within the same call, and reports it in
//! [`SyncProgress::server_reset`]. A second reset in the same call ends it
//! with [`SyncError::ServerResetAgain`].

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::store::Store;
use crate::sync::Cancel;
use crate::sync::pacing::{Pacing, RoundSize};
use crate::sync::protocol::{SyncRequest, SyncResponse};

/// Where and how to sync. Its `Debug` output leaves the token out, so a
/// logged configuration leaks no secret.
#[derive(Clone)]
pub struct SyncConfig {
    /// Base URL of the server, e.g. `https://sync.example` (`http://` only
    /// to a loopback address, or with `allow_insecure_http`).
    pub server_url: String,
    /// The device's token, issued at enrolment.
    pub token: String,
    /// Most documents pushed per request.
    pub push_batch_docs: usize,
    /// Most bytes of changes per request, about. Each round is sized below this to what the
    /// link carries in a quarter of [`SyncConfig::request_timeout`] ([`super::pacing`]).
    pub push_batch_bytes: usize,
    /// Most documents asked for per response; sized to the link below this, like
    /// [`SyncConfig::push_batch_bytes`].
    pub pull_batch_docs: u32,
    /// Attempts per request before giving up for this call.
    pub max_attempts: u32,
    /// First backoff delay; doubles on each retry, up to `max_backoff`.
    pub initial_backoff: Duration,
    /// Longest backoff delay.
    pub max_backoff: Duration,
    /// Timeout of one request.
    pub request_timeout: Duration,
    /// Bytes per photo upload request: what a cut connection costs at most to send again.
    pub photo_chunk_bytes: usize,
    /// Allow a plain `http://` server URL to a host that is not a loopback
    /// address (a test network, a training room). Off by default: the
    /// token, the reports and the photos would cross the network in clear.
    pub allow_insecure_http: bool,
    /// Root CA certificates to trust besides the platform's store, as PEM text
    /// (each string may hold several `-----BEGIN CERTIFICATE-----` blocks): a
    /// street whose server has a certificate from its own CA, or a test with
    /// a generated one. Empty by default: only what the phone trusts. Not
    /// available on Android, whose system verifier takes no extra roots:
    /// there, declare the CA in the app's network security configuration
    /// (`res/xml/network_security_config.xml`). An unusable certificate fails
    /// [`SyncClient::new`] with [`SyncError::InvalidRootCertificate`].
    pub extra_root_certificates: Vec<String>,
    /// Upload full photos. When off (a metered network), a sync sends the
    /// documents and every thumbnail — what the centre needs first, and
    /// small — and leaves the full photos for a sync that allows them.
    pub upload_full_photos: bool,
    /// Photo transfers in flight at once while thumbnails go up or come down (full photos use at most
    /// [`PHOTO_WORKERS`](super::upload::PHOTO_WORKERS) of them). Sent one after another, a 2G
    /// link would sit idle for a round trip per request; 4 keep a 100 kbit/s link with 0.5 s
    /// round trips busy (`docs/sync-protocol.md`, "Upload order and overlap").
    pub upload_concurrency: usize,
}

impl std::fmt::Debug for SyncConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SyncConfig")
            .field("server_url", &self.server_url)
            .field("token", &"<redacted>")
            .field("push_batch_docs", &self.push_batch_docs)
            .field("push_batch_bytes", &self.push_batch_bytes)
            .field("pull_batch_docs", &self.pull_batch_docs)
            .field("max_attempts", &self.max_attempts)
            .field("initial_backoff", &self.initial_backoff)
            .field("max_backoff", &self.max_backoff)
            .field("request_timeout", &self.request_timeout)
            .field("photo_chunk_bytes", &self.photo_chunk_bytes)
            .field("allow_insecure_http", &self.allow_insecure_http)
            .field(
                "extra_root_certificates",
                &self.extra_root_certificates.len(),
            )
            .field("upload_full_photos", &self.upload_full_photos)
            .field("upload_concurrency", &self.upload_concurrency)
            .finish()
    }
}

impl SyncConfig {
    /// Sensible defaults for a phone on a mobile network.
    pub fn new(server_url: impl Into<String>, token: impl Into<String>) -> Self {
        SyncConfig {
            server_url: server_url.into(),
            token: token.into(),
            push_batch_docs: 1000,
            push_batch_bytes: 2 << 20,
            pull_batch_docs: 2000,
            max_attempts: 5,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            request_timeout: Duration::from_secs(60),
            photo_chunk_bytes: 256 << 10,
            allow_insecure_http: false,
            extra_root_certificates: Vec::new(),
            upload_full_photos: true,
            upload_concurrency: 4,
        }
    }

    /// Checks the server URL: `https://` (verified against the phone's
    /// trust store), or `http://` to a loopback address (`127.0.0.0/8`,
    /// `::1`, `localhost`: the server on the same machine, as in tests and
    /// demos), or `http://` anywhere when `allow_insecure_http` is set.
    /// Fails with [`SyncError::InsecureHttp`] or
    /// [`SyncError::InvalidServerUrl`].
    pub fn check_server_url(&self) -> Result<()> {
        let bad = |why: String| Error::Sync(SyncError::InvalidServerUrl(why));
        let url = reqwest::Url::parse(&self.server_url)
            .map_err(|e| bad(format!("'{}': {e}", self.server_url)))?;
        let host = url
            .host_str()
            .filter(|h| !h.is_empty())
            .ok_or_else(|| bad(format!("'{}' names no host", self.server_url)))?;
        match url.scheme() {
            "https" => Ok(()),
            "http" if self.allow_insecure_http || is_loopback(host) => Ok(()),
            "http" => Err(Error::Sync(SyncError::InsecureHttp(host.to_owned()))),
            other => Err(bad(format!(
                "'{}' uses {other}://; use https://",
                self.server_url
            ))),
        }
    }
}

/// Whether `host` (as a URL writes it) is this machine: a loopback address
/// or `localhost`.
fn is_loopback(host: &str) -> bool {
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if let Ok(ip) = host.parse::<std::net::IpAddr>() {
        return ip.is_loopback();
    }
    let name = host.trim_end_matches('.').to_ascii_lowercase();
    name == "localhost" || name.ends_with(".localhost")
}

/// Counters of a sync in progress, reported after every round.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncProgress {
    /// Rounds (request/response pairs) completed.
    pub rounds: u32,
    /// Documents pushed and acknowledged.
    pub docs_sent: u64,
    /// Documents received.
    pub docs_received: u64,
    /// Request bytes sent.
    pub bytes_sent: u64,
    /// Response bytes received.
    pub bytes_received: u64,
    /// Documents still waiting to be pushed.
    pub docs_pending: u64,
    /// Requests retried after a failure.
    pub retries: u32,
    /// Photos and thumbnails whose upload completed (each blob counts once).
    pub photos_sent: u64,
    /// Pushed documents the server refused under its authority rules (kept
    /// on the device, marked refused: [`Store::refused_documents`]).
    #[serde(default)]
    pub docs_refused: u64,
    /// Thumbnails and full photos downloaded.
    pub photos_received: u64,
    /// Photo and thumbnail bytes uploaded (chunk bodies the server acknowledged).
    pub photo_bytes_sent: u64,
    /// Photo and thumbnail bytes downloaded.
    pub photo_bytes_received: u64,
    /// The server had lost changes it had acknowledged (its database was
    /// restored from a backup), so this sync started over from the
    /// beginning of its feed and pushed every document on the device whole
    /// again. Nothing on the device was lost.
    #[serde(default)]
    pub server_reset: bool,
    /// The server named another catalog (checklist, calendar, grids) than the device's, and
    /// the device switched to it ([`Store::adopt_catalog`]).
    #[serde(default)]
    pub catalog_updated: bool,
    /// The server gave this device a new token in place of one nearing its expiry; a paired
    /// store keeps it ([`SyncClient::token`] has it for an app that keeps its own).
    #[serde(default)]
    pub token_rotated: bool,
}

/// Why a sync failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The server could not be reached after every attempt.
    #[error(
        "cannot reach the sync server ({0}); changes are kept and will be sent at the next sync"
    )]
    Offline(String),
    /// The back office revoked this device (`403 revoked`): pair it again with a new code.
    /// The store has wiped the street's data it held as a copy of the server's and kept this
    /// device's own work the server does not have ([`Store::revocation`]).
    #[error(
        "the back office revoked this device ({0}); pair it again with a new code from the back office. A sync that learns it removes the street's data received from the server and keeps what the device had not sent"
    )]
    Revoked(String),
    /// The device's token expired (`401 token_expired`): it did not sync while the server
    /// could renew it. Pair it again with a new code; nothing on it is lost.
    #[error(
        "this device's token has expired ({0}); nothing on it is lost: pair it again with a new code from the back office"
    )]
    TokenExpired(String),
    /// The server refused a pairing code (`POST /v1/enrol`).
    #[error("the server refused the pairing code ({code}: {message})")]
    PairingRefused {
        /// The server's code: `pairing_code_unknown`, `pairing_code_used`,
        /// `pairing_code_expired`, `pairing_code_locked`, `person_inactive`,
        /// `device_id_taken`, or another refusal (`invalid_input` …).
        code: String,
        /// The server's explanation, which says what to do.
        message: String,
    },
    /// The token was refused: wrong, or the device was revoked.
    #[error(
        "the server refused this device's token ({0}); ask an administrator to enrol the device again"
    )]
    Unauthorized(String),
    /// The server refused the request as malformed.
    #[error("the server rejected the sync request ({status}: {message}); update the app")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// The server's explanation.
        message: String,
    },
    /// The server's answer could not be understood.
    #[error("the server's answer is malformed ({0}); update the app or retry later")]
    Protocol(String),
    /// The server refused something outside this device's scope (a photo of another street's
    /// case): nothing is wrong with the device or its token.
    #[error(
        "the server says this is outside the device's scope ({0}); ask the centre if the device should see it"
    )]
    OutOfScope(String),
    /// A photo asked for is not on the server (yet).
    #[error(
        "photo {0} is not on the server yet: the device that took it has not uploaded it; try again after that device syncs"
    )]
    PhotoNotOnServer(String),
    /// The server asked this device to start over a second time within one
    /// sync: its database is probably being restored or replaced right now.
    #[error(
        "the server lost this device's acknowledged changes twice during one sync (is its database being restored right now?); nothing on this device was lost: sync again later, and tell the server's administrator if it keeps happening"
    )]
    ServerResetAgain,
    /// The server URL is plain `http://` to a host that is not this
    /// machine: the token and every report would cross the network
    /// unencrypted. A configuration error: nothing was sent.
    #[error(
        "refusing to sync over plain http:// with {0}: the device's token and reports would travel unencrypted; use an https:// server URL (or, on a test network only, allow insecure http in the sync configuration)"
    )]
    InsecureHttp(String),
    /// The server's certificate was refused in the TLS handshake: issued by a
    /// CA this device does not trust, for another name, or expired. Retrying
    /// does not help, so there is no retry; nothing was sent (not the token
    /// either).
    #[error(
        "the sync server's certificate is not trusted ({0}); nothing was sent. Check the server address; if it is right, the server needs a certificate from a CA this device trusts (a public CA, or the street's own CA installed on the device). A Wi-Fi login page that intercepts connections causes this too: log in to the Wi-Fi, then sync again"
    )]
    UntrustedCertificate(String),
    /// An extra root certificate of the configuration
    /// ([`SyncConfig::extra_root_certificates`]) cannot be used. A
    /// configuration error: nothing was sent.
    #[error(
        "the extra root certificate of the sync configuration is not usable ({0}); give the street CA's certificate as PEM text (-----BEGIN CERTIFICATE-----)"
    )]
    InvalidRootCertificate(String),
    /// The server URL cannot be used (not a URL, no host, not http(s)). A
    /// configuration error: nothing was sent.
    #[error("the sync server URL is not usable ({0}); give the server's https:// address")]
    InvalidServerUrl(String),
    /// The app cancelled the sync (or photo transfer): it stopped at a boundary, after the
    /// last round it began had committed. Nothing is half-applied; the next sync goes on.
    #[error(
        "the sync was cancelled; everything the server acknowledged so far is kept, and the next sync sends the rest"
    )]
    Cancelled,
    /// Photos whose bytes the server refused (they do not match their hash: damaged storage).
    #[error(
        "the server refused {count} photo(s) of this device as damaged ({detail}); the other photos were sent. Re-take or re-import them"
    )]
    PhotosRefused {
        /// How many photos were refused.
        count: usize,
        /// The first refusal, as the server explained it.
        detail: String,
    },
}

/// The TLS configuration of every client: rustls with the ring provider and
/// the platform's certificate verifier, which also trusts `extra_roots_pem`
/// (see [`SyncConfig::extra_root_certificates`]).
fn tls_config(extra_roots_pem: &[String]) -> Result<rustls::ClientConfig> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let failed = |e: rustls::Error| {
        Error::Sync(SyncError::Offline(format!(
            "cannot set up TLS with the phone's trust store: {e}"
        )))
    };
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(failed)?;
    if extra_roots_pem.is_empty() {
        return builder
            .with_platform_verifier()
            .map_err(failed)
            .map(|b| b.with_no_client_auth());
    }
    let verifier = verifier_with_extra_roots(parse_roots(extra_roots_pem)?, provider)?;
    Ok(builder
        // `dangerous` only in name: this is the platform verifier, as
        // `with_platform_verifier` installs it, with more roots.
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth())
}

/// The certificates of every PEM text in `pems`; each text must hold at least one.
fn parse_roots(pems: &[String]) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let bad = |why: String| Error::Sync(SyncError::InvalidRootCertificate(why));
    let mut roots = Vec::new();
    for (i, pem) in pems.iter().enumerate() {
        let found = CertificateDer::pem_slice_iter(pem.as_bytes())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| bad(format!("certificate {}: {e}", i + 1)))?;
        if found.is_empty() {
            return Err(bad(format!(
                "certificate {} holds no PEM certificate",
                i + 1
            )));
        }
        roots.extend(found);
    }
    Ok(roots)
}

#[cfg(not(target_os = "android"))]
fn verifier_with_extra_roots(
    roots: Vec<rustls::pki_types::CertificateDer<'static>>,
    provider: Arc<rustls::crypto::CryptoProvider>,
) -> Result<rustls_platform_verifier::Verifier> {
    rustls_platform_verifier::Verifier::new_with_extra_roots(roots, provider)
        .map_err(|e| Error::Sync(SyncError::InvalidRootCertificate(e.to_string())))
}

#[cfg(target_os = "android")]
fn verifier_with_extra_roots(
    _roots: Vec<rustls::pki_types::CertificateDer<'static>>,
    _provider: Arc<rustls::crypto::CryptoProvider>,
) -> Result<rustls_platform_verifier::Verifier> {
    Err(Error::Sync(SyncError::InvalidRootCertificate(
        "Android's verifier takes no extra roots: declare the street's CA in the app's \
         network security configuration instead"
            .to_owned(),
    )))
}

/// Why the server's certificate was refused, if `error` (a failed request)
/// failed in the TLS handshake for that reason. The rustls error sits in the
/// request error's chain of sources inside `io::Error`s (two, with reqwest
/// 0.12), whose `source()` skips the error they wrap: those are unwrapped with
/// `get_ref`.
pub(crate) fn certificate_refusal(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    let refused = |e: &rustls::Error| {
        matches!(
            e,
            rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented
        )
        .then(|| e.to_string())
    };
    let mut next = Some(error);
    while let Some(e) = next {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return refused(tls);
        }
        next = match e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref)
        {
            Some(wrapped) => Some(wrapped as &(dyn std::error::Error + 'static)),
            None => e.source(),
        };
    }
    None
}

/// The `error` code of a JSON error body (`{"error": "...", "message": "..."}`), if it is one.
fn error_code(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    value.get("error")?.as_str().map(str::to_owned)
}

/// The header of a sync answer that carries a new token for the device (`docs/sync-protocol.md`,
/// "Tokens").
pub const TOKEN_HEADER: &str = "x-wangge-token";

/// The token a client sends: the configuration's, until the server rotates it. Its `Debug`
/// output leaves the token out.
#[derive(Clone, Default)]
struct CurrentToken(Arc<Mutex<String>>);

impl std::fmt::Debug for CurrentToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CurrentToken(<redacted>)")
    }
}

impl CurrentToken {
    fn get(&self) -> String {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    fn set(&self, token: String) {
        *self.0.lock().unwrap_or_else(|p| p.into_inner()) = token;
    }
}

/// An HTTP client for one server, reusing its connections across syncs.
#[derive(Debug, Clone)]
pub struct SyncClient {
    http: reqwest::blocking::Client,
    config: SyncConfig,
    /// The token sent: `config.token` until a sync answer gives a new one.
    token: CurrentToken,
    /// The catalog version the server's last sync answer named (`x-wangge-catalog`).
    pub(crate) announced_catalog: Arc<Mutex<Option<String>>>,
    /// Checked at every boundary of a sync or transfer ([`SyncClient::with_cancel`]).
    cancel: Cancel,
    /// What the rounds so far measured of the link, to size the next one
    /// ([`super::pacing`]).
    pacing: Pacing,
}

/// What [`SyncClient::send`] does when a request times out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum OnTimeout {
    /// Send the same request again, as after any network failure.
    Retry,
    /// Give up at once: the caller sends something smaller instead.
    Return,
}

/// What [`SyncClient::send`] got.
enum Sent {
    /// The body of a successful answer.
    Body(Vec<u8>),
    /// The request timed out ([`OnTimeout::Return`] only).
    TimedOut,
}

impl SyncClient {
    /// A client for the server in `config`.
    ///
    /// TLS is verified by the phone's own trust store (Android's and iOS's
    /// system verifier, the OS store elsewhere, through
    /// `rustls-platform-verifier`), so a certificate the phone's owner or
    /// administrator trusts (a city's own CA) works and no list of roots is
    /// baked into the app; [`SyncConfig::extra_root_certificates`] adds the
    /// street's own CA where the phone does not hold it. A certificate the
    /// verifier refuses fails the call at once with
    /// [`SyncError::UntrustedCertificate`]. The URL is checked first
    /// ([`SyncConfig::check_server_url`]): plain `http://` is refused
    /// except to loopback or with `allow_insecure_http`.
    pub fn new(config: SyncConfig) -> Result<Self> {
        config.check_server_url()?;
        let http = reqwest::blocking::Client::builder()
            .use_preconfigured_tls(tls_config(&config.extra_root_certificates)?)
            .timeout(config.request_timeout)
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| Error::Sync(SyncError::Offline(e.to_string())))?;
        Ok(SyncClient {
            http,
            token: CurrentToken(Arc::new(Mutex::new(config.token.clone()))),
            config,
            announced_catalog: Arc::new(Mutex::new(None)),
            cancel: Cancel::default(),
            pacing: Pacing::default(),
        })
    }

    /// This client (sharing its connections) with a cancellation flag: a sync or transfer
    /// run with it stops at the next boundary once `cancel` is raised, with
    /// [`SyncError::Cancelled`] (see [`Cancel`]).
    pub fn with_cancel(&self, cancel: Cancel) -> SyncClient {
        SyncClient {
            cancel,
            ..self.clone()
        }
    }

    /// The cancellation flag this client checks.
    pub(crate) fn cancel(&self) -> &Cancel {
        &self.cancel
    }

    /// The configuration in use (its `token` is the one the client started with).
    pub fn config(&self) -> &SyncConfig {
        &self.config
    }

    /// The token the client sends now: the configuration's, or the one a sync answer gave in
    /// its place. A paired store keeps the new one itself; an app that configured its own
    /// token stores this one after a sync that reports [`SyncProgress::token_rotated`].
    pub fn token(&self) -> String {
        self.token.get()
    }

    /// The underlying HTTP client (for photo transfers).
    pub fn http(&self) -> &reqwest::blocking::Client {
        &self.http
    }

    /// Sends one request with retries and backoff; returns the response body.
    pub(crate) fn send_with_retry(
        &self,
        build: &dyn Fn() -> reqwest::blocking::RequestBuilder,
        progress: &mut SyncProgress,
    ) -> Result<Vec<u8>> {
        match self.send(build, progress, OnTimeout::Retry)? {
            Sent::Body(body) => Ok(body),
            // Not produced with `OnTimeout::Retry`; said plainly all the same.
            Sent::TimedOut => Err(Error::Sync(SyncError::Offline(
                "the request timed out".into(),
            ))),
        }
    }

    /// [`SyncClient::send_with_retry`], which with [`OnTimeout::Return`] gives up at the first
    /// timeout, so that the caller can send something smaller ([`super::pacing`]).
    fn send(
        &self,
        build: &dyn Fn() -> reqwest::blocking::RequestBuilder,
        progress: &mut SyncProgress,
        on_timeout: OnTimeout,
    ) -> Result<Sent> {
        let mut delay = self.config.initial_backoff;
        let mut last = String::new();
        for attempt in 1..=self.config.max_attempts.max(1) {
            self.cancel.check()?;
            if attempt > 1 {
                progress.retries += 1;
                self.cancel.sleep(delay)?;
                delay = (delay * 2).min(self.config.max_backoff);
            }
            let sent = build().bearer_auth(self.token.get()).send();
            let resp = match sent {
                Ok(r) => r,
                Err(e) => {
                    // A refused certificate is refused again: no retry.
                    if let Some(reason) = certificate_refusal(&e) {
                        return Err(Error::Sync(SyncError::UntrustedCertificate(reason)));
                    }
                    if e.is_timeout() && on_timeout == OnTimeout::Return {
                        return Ok(Sent::TimedOut);
                    }
                    last = e.to_string();
                    continue;
                }
            };
            let status = resp.status();
            if let Some(v) = resp
                .headers()
                .get(super::catalog::CATALOG_HEADER)
                .and_then(|v| v.to_str().ok())
            {
                *self
                    .announced_catalog
                    .lock()
                    .unwrap_or_else(|p| p.into_inner()) = Some(v.to_owned());
            }
            let new_token = resp
                .headers()
                .get(TOKEN_HEADER)
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .filter(|t| !t.is_empty())
                .map(str::to_owned);
            let body = match resp.bytes() {
                Ok(b) => b.to_vec(),
                Err(e) => {
                    if e.is_timeout() && on_timeout == OnTimeout::Return {
                        return Ok(Sent::TimedOut);
                    }
                    // The connection was cut in the middle of the response.
                    last = format!("response cut short: {e}");
                    continue;
                }
            };
            if status.is_success() {
                if let Some(token) = new_token {
                    // Only a whole answer counts: one cut short was retried above with the
                    // old token, which works through the grace period.
                    self.token.set(token);
                }
                return Ok(Sent::Body(body));
            }
            let message = String::from_utf8_lossy(&body)
                .chars()
                .take(500)
                .collect::<String>();
            if status.as_u16() == 403 && error_code(&body).as_deref() == Some("out_of_scope") {
                return Err(Error::Sync(SyncError::OutOfScope(message)));
            }
            if status.as_u16() == 403 && error_code(&body).as_deref() == Some("revoked") {
                return Err(Error::Sync(SyncError::Revoked(message)));
            }
            if status.as_u16() == 401 && error_code(&body).as_deref() == Some("token_expired") {
                return Err(Error::Sync(SyncError::TokenExpired(message)));
            }
            if status.as_u16() == 401 || status.as_u16() == 403 {
                return Err(Error::Sync(SyncError::Unauthorized(message)));
            }
            if status.is_server_error() || status.as_u16() == 429 || status.as_u16() == 408 {
                last = format!("{status}: {message}");
                continue;
            }
            return Err(Error::Sync(SyncError::Rejected {
                status: status.as_u16(),
                message,
            }));
        }
        Err(Error::Sync(SyncError::Offline(last)))
    }

    /// Syncs `store` with the server: pushes every local change and pulls
    /// everything new in the device's scope, in as many rounds as needed,
    /// then uploads the photos the server lacks and downloads the
    /// thumbnails of the stored cases (see [`SyncClient::sync_photos`]).
    /// `progress` is called at the start, after every round, after every photo chunk the
    /// server acknowledged, and at the end.
    pub fn sync(
        &self,
        store: &Store,
        progress: &mut dyn FnMut(&SyncProgress),
    ) -> Result<SyncProgress> {
        self.sync_inner(store, progress).inspect_err(|e| {
            if matches!(e, Error::Sync(SyncError::Revoked(_))) {
                // Kept so that the app shows it, also offline; a new pairing clears it. The
                // street's data goes, this device's own unsent work stays (`Store::revocation`).
                // If the wipe fails (the disk), the revocation is still what the app must show;
                // the next sync meets `revoked` again and wipes then.
                let _ = store.revoked_by_server();
            }
        })
    }

    /// A sync round of `size` that sent `sent` bytes timed out: the next one is smaller
    /// ([`super::pacing`]). Gives up as offline after as many timeouts in a row as
    /// [`SyncConfig::max_attempts`] allows for one request.
    fn round_timed_out(
        &self,
        size: RoundSize,
        sent: u64,
        timeouts: &mut u32,
        progress: &mut SyncProgress,
    ) -> Result<()> {
        *timeouts += 1;
        if *timeouts >= self.config.max_attempts.max(1) {
            return Err(Error::Sync(SyncError::Offline(format!(
                "{timeouts} sync rounds in a row timed out after {:?}, each smaller than the \
                 last: the link is too slow or too unstable now; try again later",
                self.config.request_timeout
            ))));
        }
        progress.retries += 1;
        self.pacing
            .round_timed_out(size, sent, self.config.request_timeout);
        Ok(())
    }

    fn sync_inner(
        &self,
        store: &Store,
        progress: &mut dyn FnMut(&SyncProgress),
    ) -> Result<SyncProgress> {
        let mut p = SyncProgress {
            docs_pending: store.pending_count()?,
            ..SyncProgress::default()
        };
        progress(&p);
        // What this call owes the server: the documents pending when it
        // began (or when a reset made every document pending), and how many
        // had been sent at that point.
        let mut owed_docs = p.docs_pending;
        let mut sent_before = 0;
        // Rounds timed out in a row (each next one smaller).
        let mut timeouts = 0;
        let url = format!("{}/v1/sync", self.config.server_url.trim_end_matches('/'));
        loop {
            // A round boundary: the previous round committed (or none began).
            self.cancel.check()?;
            // Sized to the link, so that the round ends well within the request timeout.
            let size = self.pacing.next_round(&self.config);
            let pushed = store.prepare_push(self.config.push_batch_docs, size.push_bytes)?;
            let request = SyncRequest {
                request_id: *uuid::Uuid::now_v7().as_bytes(),
                cursor: store.sync_cursor()?,
                max_docs: size.pull_docs,
                docs: pushed.iter().map(|p| p.doc.clone()).collect(),
            };
            let body = request.encode();
            let body_len = body.len() as u64;
            let token_used = self.token.get();
            let started = std::time::Instant::now();
            let sent = self.send(
                &|| {
                    self.http
                        .post(&url)
                        .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                        .body(body.clone())
                },
                &mut p,
                OnTimeout::Return,
            )?;
            let response = match sent {
                Sent::Body(body) => {
                    timeouts = 0;
                    body
                }
                Sent::TimedOut => {
                    self.round_timed_out(size, body_len, &mut timeouts, &mut p)?;
                    continue;
                }
            };
            let elapsed = started.elapsed();
            let token_now = self.token.get();
            if token_now != token_used {
                // Kept before anything else of the answer: the old token stops working once
                // the new one is used, or after the grace period.
                store.adopt_rotated_token(&token_used, &token_now)?;
                p.token_rotated = true;
            }
            let decoded = SyncResponse::decode(&response)
                .map_err(|e| Error::Sync(SyncError::Protocol(e.to_string())))?;
            if decoded.reset && p.server_reset {
                // After a reset the device's cursor is one this server
                // handed out; a second reset means the server changed again
                // under this sync. Stop rather than loop.
                return Err(Error::Sync(SyncError::ServerResetAgain));
            }
            store.apply_sync_response(&pushed, &decoded)?;
            self.pacing.round_done(
                size,
                body_len,
                response.len() as u64,
                decoded.docs.len() as u64,
                elapsed,
            );
            p.rounds += 1;
            p.bytes_sent += body_len;
            p.bytes_received += response.len() as u64;
            if decoded.reset {
                // The server stored nothing of this round and lost what it
                // had acknowledged; the store has forgotten the server's
                // state (every document pending again, cursor 0). Push it
                // all, within this call.
                p.server_reset = true;
                p.docs_pending = store.pending_count()?;
                owed_docs = p.docs_pending;
                sent_before = p.docs_sent + p.docs_refused;
                progress(&p);
                continue;
            }
            p.docs_sent += decoded.accepted.len() as u64;
            p.docs_refused += decoded.refused.len() as u64;
            p.docs_received += decoded.docs.len() as u64;
            p.docs_pending = store.pending_count()?;
            progress(&p);
            // Go on while the server has more for us, or documents that were
            // pending when the call began are still unsent (a batch is cut by
            // count or by bytes). Writes made meanwhile may keep a few
            // documents dirty; they wait for the next call once as many
            // documents as were pending have gone, so a busy device cannot
            // keep a sync alive forever.
            let progressed = !decoded.accepted.is_empty()
                || !decoded.resend.is_empty()
                || !decoded.refused.is_empty();
            let owed = p.docs_pending > 0 && p.docs_sent + p.docs_refused - sent_before < owed_docs;
            let go_on = decoded.more || (owed && progressed);
            if !go_on {
                break;
            }
        }
        // The catalog the server named, if this device does not have it yet: before the
        // photos, so a new checklist item's deadlines show as soon as its cases do.
        p.catalog_updated = self.follow_catalog(store, &mut p)?;
        // Photos after the documents: a case reaches the centre first, its photos follow.
        self.sync_photos_reporting(store, &mut p, progress)?;
        progress(&p);
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_logged_configuration_does_not_show_the_token() {
        let config = SyncConfig::new("http://127.0.0.1:8080", "wgt_secret-token-value");
        let printed = format!("{config:?}");
        assert!(!printed.contains("secret-token-value"), "{printed}");
        assert!(printed.contains("<redacted>") && printed.contains("127.0.0.1:8080"));
        let client = SyncClient::new(config).unwrap_or_else(|e| panic!("{e}"));
        assert!(!format!("{client:?}").contains("secret-token-value"));
    }

    fn check(url: &str, allow: bool) -> Result<()> {
        let mut config = SyncConfig::new(url, "t");
        config.allow_insecure_http = allow;
        SyncClient::new(config).map(|_| ())
    }

    #[test]
    fn plain_http_is_allowed_to_loopback_only_unless_explicitly_allowed() {
        for url in [
            "http://127.0.0.1:8080",
            "http://127.8.0.1",
            "http://[::1]:8080/",
            "http://localhost:8080",
            "http://LOCALHOST./",
            "https://sync.example",
            "https://10.0.0.1:8443",
        ] {
            check(url, false).unwrap_or_else(|e| panic!("{url}: {e}"));
        }
        for url in [
            "http://10.0.0.1",
            "http://10.0.0.1:8080/",
            "http://sync.example",
            "http://[2001:db8::1]",
            "http://localhost.example.com",
        ] {
            let err = check(url, false).unwrap_err();
            assert!(
                matches!(err, Error::Sync(SyncError::InsecureHttp(_))),
                "{url}: {err}"
            );
            let text = err.to_string();
            assert!(
                text.contains("https://") && text.contains("unencrypted"),
                "{text}"
            );
            check(url, true).unwrap_or_else(|e| panic!("{url} with allow_insecure_http: {e}"));
        }
        assert!(
            check("http://10.0.0.1", false)
                .unwrap_err()
                .to_string()
                .contains("10.0.0.1")
        );
    }

    #[test]
    fn an_extra_root_that_is_no_pem_certificate_is_a_configuration_error() {
        for (pem, says) in [
            ("", "certificate 2 holds no PEM certificate"),
            (
                "not a certificate",
                "certificate 2 holds no PEM certificate",
            ),
            (
                "-----BEGIN CERTIFICATE-----\n%%%\n-----END CERTIFICATE-----\n",
                "certificate 2:",
            ),
        ] {
            let mut config = SyncConfig::new("https://sync.example", "t");
            config.extra_root_certificates = vec![TEST_ROOT.to_owned(), pem.to_owned()];
            let err = SyncClient::new(config).unwrap_err();
            assert!(
                matches!(err, Error::Sync(SyncError::InvalidRootCertificate(_))),
                "{pem:?}: {err}"
            );
            assert!(err.to_string().contains(says), "{pem:?}: {err}");
            assert!(err.to_string().contains("BEGIN CERTIFICATE"), "{err}");
        }
        let mut config = SyncConfig::new("https://sync.example", "t");
        config.extra_root_certificates = vec![TEST_ROOT.to_owned()];
        assert!(format!("{config:?}").contains("extra_root_certificates: 1"));
        SyncClient::new(config).unwrap_or_else(|e| panic!("a valid root: {e}"));
    }

    /// A self-signed CA certificate (`CN=Wangge test CA`, made once with openssl for this
    /// test; its key was thrown away).
    const TEST_ROOT: &str = "\
-----BEGIN CERTIFICATE-----\n\
MIIBiTCCAS+gAwIBAgIUNiKr5dnU3Q8UgHRhtG+NpxPu1wUwCgYIKoZIzj0EAwIw\n\
GTEXMBUGA1UEAwwOV2FuZ2dlIHRlc3QgQ0EwIBcNMjYxMjA2MjMxMzE2WhgPMjEy\n\
NjExMTIyMzEzMTZaMBkxFzAVBgNVBAMMDldhbmdnZSB0ZXN0IENBMFkwEwYHKoZI\n\
zj0CAQYIKoZIzj0DAQcDQgAES2Bc26+6wI+Bmx3EBfDZt9yGsysVK/Kolrenvz0K\n\
U7vU37rVOD1lH8w0HlLO0i2VMkXxJLrGfvcIjboabgWEn6NTMFEwHQYDVR0OBBYE\n\
FBjHXXHA+n41IxJZ4W0oEhDTFjLuMB8GA1UdIwQYMBaAFBjHXXHA+n41IxJZ4W0o\n\
EhDTFjLuMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIgLknz6h1t\n\
54Qqxm3PbqblwPGbXbV2iGIPOu5B2ao1lr8CIQC9YN3osQvf8L8GFvmULCS2FA5U\n\
cK1d5DVdDUDCQUdacQ==\n\
-----END CERTIFICATE-----\n\
";

    #[test]
    fn a_cancelled_sync_stops_before_its_next_request_and_keeps_everything() {
        use std::sync::Arc;
        let dir = tempfile::tempdir().unwrap();
        let device = crate::DeviceId::generate();
        let store = Store::open(
            dir.path().join("s.sqlite3"),
            device,
            Arc::new(crate::Catalog::demo().unwrap()),
            Arc::new(crate::ManualClock::new(1_772_413_200_000)),
        )
        .unwrap();
        let officer = crate::Actor {
            id: "officer-017".into(),
            role: crate::Role::GridOfficer,
            unit: None,
            device,
        };
        let fix = crate::GpsFix {
            lat: 31.199_147_7,
            lon: 121.427_325_5,
            accuracy_m: 5.0,
            fix_time_ms: store.now_ms(),
        };
        store
            .record_case(
                &officer,
                crate::NewCase::from_handheld("A02-001", "摊贩", fix),
            )
            .unwrap();
        // A port nothing listens on: an uncancelled sync would retry for seconds, then fail
        // Offline; cancelled, it stops at once, before any request.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cancel = Cancel::new();
        cancel.cancel();
        let client = SyncClient::new(SyncConfig::new(format!("http://127.0.0.1:{port}"), "t"))
            .unwrap()
            .with_cancel(cancel);
        let mut reports = 0;
        let err = client.sync(&store, &mut |_| reports += 1).unwrap_err();
        assert!(matches!(err, Error::Sync(SyncError::Cancelled)), "{err}");
        assert!(err.to_string().contains("next sync"), "{err}");
        assert_eq!(reports, 1, "only the start was reported");
        assert_eq!(store.pending_count().unwrap(), 1, "nothing lost");
    }

    #[test]
    fn a_server_url_that_is_no_http_url_is_a_configuration_error() {
        for url in [
            "",
            "sync.example",
            "ftp://sync.example",
            "file:///tmp/x",
            "http://",
        ] {
            let err = check(url, true).unwrap_err();
            assert!(
                matches!(err, Error::Sync(SyncError::InvalidServerUrl(_))),
                "{url:?}: {err}"
            );
        }
    }
}
