//! Enrolment by pairing code, the device's side.
//!
//! The back office makes a one-time code for a person (`wangge-server pair`), shown as
//! `ABC-DEFGH` and as a QR payload `wangge://enrol?server=<url>&code=<code>`. The app
//! exchanges it once at `POST /v1/enrol` ([`Store::pair`]) for its enrolment: the server
//! enrols the store's own device id (generated at install) to the person and answers the
//! token, the person and the scope. The store keeps the token itself, so the app never shows
//! it, never asks anybody to type it, and syncs with [`Store::paired_sync_config`].
//!
//! Pairing again on the same phone (a new code, after a revocation or for another person)
//! re-enrols the same device id with a new token; the old one stops working. A revocation is
//! seen at the next sync ([`SyncError::Revoked`]) and kept in the store
//! ([`PairedDevice::revoked`]) until the device is paired again.
//!
//! The exchange is not retried once the request may have reached the server: the code is
//! single use, so a lost answer would make a retry fail as `pairing_code_used` anyway. Only
//! a connection that could not be opened is tried again.

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::ids::DeviceId;
use crate::store::{DeviceScope, Store};
use crate::sync::client::certificate_refusal;
use crate::sync::enrolment::EnrolledPerson;
use crate::sync::{SyncClient, SyncConfig, SyncError};

/// What a pairing code gave this device, as the store keeps it (without the token).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PairedDevice {
    /// The server the device is paired with (its base URL).
    pub server_url: String,
    /// The device's id (the store's).
    pub device_id: DeviceId,
    /// The device's label on the server.
    pub name: String,
    /// The person the device acts as.
    pub person: Option<EnrolledPerson>,
    /// What the device receives.
    pub scope: DeviceScope,
    /// The last pairing re-enrolled a device the server knew (the old token stopped working).
    pub reenrolled: bool,
    /// When the pairing was made (ms, the store's clock).
    pub paired_at_ms: i64,
    /// The server has refused the token since as revoked: pair again with a new code.
    #[serde(default)]
    pub revoked: bool,
    /// Plain `http://` to a non-loopback host was allowed for this server.
    #[serde(default)]
    pub allow_insecure_http: bool,
}

impl PairedDevice {
    /// The author to give [`Store::set_author`]: the person on this device.
    pub fn author(&self) -> Option<crate::authority::Author> {
        self.person.as_ref().map(|p| crate::authority::Author {
            person: p.staff_id.clone(),
            roles: p.roles.clone(),
            units: p.units.clone(),
            device: self.device_id,
        })
    }
}

/// What a QR code of the back office says: `wangge://enrol?server=<url>&code=<code>`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Record))]
pub struct PairingPayload {
    /// The server's base URL, when the payload names one.
    pub server_url: Option<String>,
    /// The pairing code.
    pub code: String,
}

impl PairingPayload {
    /// Parses a scanned QR payload. Fails with [`Error::InvalidInput`] when it is not a
    /// `wangge://enrol` link with a code.
    pub fn parse(text: &str) -> Result<PairingPayload> {
        let bad = |why: &str| Error::invalid("pairing payload", why.to_owned());
        let query = text
            .trim()
            .strip_prefix("wangge://enrol?")
            .ok_or_else(|| bad("not a Wangge pairing code (wangge://enrol?…)"))?;
        let mut server_url = None;
        let mut code = None;
        for pair in query.split('&') {
            let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
            let value = percent_decode(value).ok_or_else(|| bad("badly encoded"))?;
            match key {
                "server" if !value.is_empty() => server_url = Some(value),
                "code" if !value.is_empty() => code = Some(value),
                _ => {}
            }
        }
        let code = code.ok_or_else(|| bad("it holds no code"))?;
        Ok(PairingPayload { server_url, code })
    }
}

/// Decodes `%XX` escapes (and `+` as a space); `None` for a broken escape or non-UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = text.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// The body of `POST /v1/enrol`.
#[derive(Serialize)]
struct EnrolWire<'a> {
    code: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    device_name: Option<&'a str>,
    device_id: String,
}

/// The answer of `POST /v1/enrol`; only what the app uses.
#[derive(Deserialize)]
struct EnrolledWire {
    device_id: String,
    token: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    reenrolled: bool,
}

/// The JSON error body of a refusal.
#[derive(Deserialize)]
struct Refusal {
    error: String,
    #[serde(default)]
    message: String,
}

impl Store {
    /// Exchanges the pairing `code` (as typed or scanned, e.g. `ABC-DEFGH`) at
    /// `config.server_url` for this device's enrolment (`config.token` is not used): the
    /// server enrols this store's device id to the code's person, and the store keeps the
    /// token, the person and the scope ([`Store::set_scope`]) and acts as the person from now
    /// on ([`Store::set_author`]). `device_name` names the device on the server when the back
    /// office gave it no name.
    ///
    /// Fails with [`SyncError::PairingRefused`] (code unknown, used, expired, locked, or its
    /// person inactive: ask the back office for a new code), [`SyncError::Offline`],
    /// [`SyncError::UntrustedCertificate`] (the server's certificate was refused),
    /// [`SyncError::InsecureHttp`] and the other configuration errors of [`SyncClient::new`].
    /// Nothing is stored unless the exchange succeeded.
    pub fn pair(
        &self,
        config: &SyncConfig,
        code: &str,
        device_name: Option<&str>,
    ) -> Result<PairedDevice> {
        let client = SyncClient::new(config.clone())?;
        let url = format!("{}/v1/enrol", config.server_url.trim_end_matches('/'));
        let body = serde_json::to_vec(&EnrolWire {
            code: code.trim(),
            device_name: device_name.map(str::trim).filter(|n| !n.is_empty()),
            device_id: self.device().to_string(),
        })
        .map_err(|e| Error::invalid("pairing code", e.to_string()))?;
        let mut last = String::new();
        let mut response = None;
        for attempt in 0..config.max_attempts.max(1) {
            if attempt > 0 {
                std::thread::sleep(config.initial_backoff * 2u32.saturating_pow(attempt - 1));
            }
            let sent = client
                .http()
                .post(&url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .body(body.clone())
                .send();
            match sent {
                Ok(r) => {
                    response = Some(r);
                    break;
                }
                Err(e) => {
                    // A refused certificate is refused again: no retry.
                    if let Some(reason) = certificate_refusal(&e) {
                        return Err(Error::Sync(SyncError::UntrustedCertificate(reason)));
                    }
                    // Only a connection never opened is safe to try again (see the module docs).
                    if !e.is_connect() {
                        return Err(Error::Sync(SyncError::Offline(e.to_string())));
                    }
                    last = e.to_string();
                }
            }
        }
        let response = response.ok_or_else(|| Error::Sync(SyncError::Offline(last)))?;
        let status = response.status();
        let bytes = response
            .bytes()
            .map_err(|e| Error::Sync(SyncError::Offline(format!("answer cut short: {e}"))))?;
        if !status.is_success() {
            return Err(Error::Sync(
                match serde_json::from_slice::<Refusal>(&bytes) {
                    Ok(r) if status.is_client_error() => SyncError::PairingRefused {
                        code: r.error,
                        message: r.message,
                    },
                    _ => SyncError::Rejected {
                        status: status.as_u16(),
                        message: String::from_utf8_lossy(&bytes).chars().take(500).collect(),
                    },
                },
            ));
        }
        let protocol =
            |detail: String| Error::Sync(SyncError::Protocol(format!("/v1/enrol: {detail}")));
        let wire: EnrolledWire =
            serde_json::from_slice(&bytes).map_err(|e| protocol(e.to_string()))?;
        let enrolment = crate::sync::Enrolment::parse(&bytes)?;
        if wire.device_id != self.device().to_string() {
            return Err(protocol(format!(
                "the server enrolled device {}, not this store's {}",
                wire.device_id,
                self.device()
            )));
        }
        let paired = PairedDevice {
            server_url: config.server_url.trim_end_matches('/').to_owned(),
            device_id: self.device(),
            name: wire.name,
            person: enrolment.person,
            scope: enrolment.scope.unwrap_or_default(),
            reenrolled: wire.reenrolled,
            paired_at_ms: self.now_ms(),
            revoked: false,
            allow_insecure_http: config.allow_insecure_http,
        };
        self.save_pairing(&paired, &wire.token)?;
        Ok(paired)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn a_qr_payload_gives_the_server_and_the_code() {
        let p = PairingPayload::parse(
            "wangge://enrol?server=https%3A%2F%2Fsync.example%3A8443&code=ABCDEFGH",
        )
        .unwrap();
        assert_eq!(p.server_url.as_deref(), Some("https://sync.example:8443"));
        assert_eq!(p.code, "ABCDEFGH");
        let p = PairingPayload::parse(" wangge://enrol?code=ABC-DEFGH&v=2 ").unwrap();
        assert_eq!((p.server_url, p.code.as_str()), (None, "ABC-DEFGH"));
        for bad in [
            "https://sync.example",
            "wangge://enrol?server=x",
            "wangge://enrol?code=%G1",
        ] {
            assert!(
                matches!(PairingPayload::parse(bad), Err(Error::InvalidInput { .. })),
                "{bad}"
            );
        }
    }
}
