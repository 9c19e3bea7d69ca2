//! Enrolment by pairing code: the back office makes a one-time code for a person
//! (`wangge-server pair`), shown as `ABC-DEFGH` and as a QR payload; the app exchanges it with
//! `pair` and from then on syncs with `syncPaired`: the token stays inside the store, and the
//! app never shows it or asks for it.
//!
//! Re-enrolment (pairing the same phone again with a new code) keeps the device id and
//! replaces the token; a revocation by the back office is seen at the next sync
//! (`NotAuthorized`) and stays visible in `pairedDevice()?.revoked` until the phone is paired
//! again.

use std::sync::Arc;

use wangge_core as core_lib;

use crate::authority::{Author, EnrolledPerson};
use crate::error::Result;
use crate::store::Store;
use crate::sync::{SyncListener, SyncProgress};

/// What the phone is paired as: the server, the person, and whether the back office has
/// revoked it since.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PairedDevice {
    /// The server the phone is paired with.
    pub server_url: String,
    /// The device's id (this store's).
    pub device_id: String,
    /// The device's label on the server.
    pub name: String,
    /// The person the phone acts as (`null` if the server names none).
    pub person: Option<EnrolledPerson>,
    /// The person as `setAuthor` takes it (the store already acts as them).
    pub author: Option<Author>,
    /// The grid blocks the phone answers for.
    pub blocks: Vec<String>,
    /// The residential workstations the phone answers for.
    pub workstations: Vec<String>,
    /// The whole street (centre and supervisors).
    pub whole_street: bool,
    /// The last pairing re-enrolled a phone the server knew: the old token stopped working.
    pub reenrolled: bool,
    /// The back office revoked the phone since: show it, and offer to pair again.
    pub revoked: bool,
    /// When the pairing was made (ms since the Unix epoch).
    pub paired_at_ms: i64,
}

impl From<core_lib::PairedDevice> for PairedDevice {
    fn from(p: core_lib::PairedDevice) -> Self {
        let enrolment = core_lib::Enrolment {
            device_id: p.device_id,
            person: p.person.clone(),
            scope: Some(p.scope.clone()),
        };
        let mapped = crate::authority::Enrolment::from(enrolment);
        PairedDevice {
            server_url: p.server_url,
            device_id: p.device_id.to_string(),
            name: p.name,
            person: mapped.person,
            author: mapped.author,
            blocks: p.scope.blocks,
            workstations: p.scope.workstations,
            whole_street: p.scope.all,
            reenrolled: p.reenrolled,
            revoked: p.revoked,
            paired_at_ms: p.paired_at_ms,
        }
    }
}

/// What a scanned QR code of the back office says.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PairingPayload {
    /// The server's address, when the QR code names one.
    pub server_url: Option<String>,
    /// The pairing code.
    pub code: String,
}

/// Reads a scanned QR payload (`wangge://enrol?server=…&code=…`). Throws `InvalidInput` for
/// anything else.
#[uniffi::export]
pub fn parse_pairing_payload(text: String) -> Result<PairingPayload> {
    let p = core_lib::PairingPayload::parse(&text)?;
    Ok(PairingPayload {
        server_url: p.server_url,
        code: p.code,
    })
}

#[uniffi::export]
impl Store {
    /// Exchanges a pairing `code` (typed as `ABC-DEFGH` in any case, or from
    /// `parsePairingPayload`) with the server at `serverUrl` for this phone's enrolment: the
    /// store keeps the token (shown nowhere), acts as the code's person from now on
    /// (`setAuthor` is done) and answers for the person's workstations. `deviceName` names the
    /// phone on the server if the back office gave it no name. Blocks on the network.
    ///
    /// Throws `PairingRefused` (code unknown, already used, expired, locked after wrong
    /// attempts, or its person no longer active: the message says to ask for a new code),
    /// `Offline`, `InsecureHttp` (see `setSyncConfig`).
    #[uniffi::method(default(device_name = None))]
    pub fn pair(
        &self,
        server_url: String,
        code: String,
        device_name: Option<String>,
    ) -> Result<PairedDevice> {
        let mut config = core_lib::SyncConfig::new(server_url, "");
        config.allow_insecure_http = self
            .sync_config
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .allow_insecure_http;
        Ok(self
            .core()
            .pair(&config, &code, device_name.as_deref())?
            .into())
    }

    /// The pairing this phone holds, or `null` if it was never paired: for a "paired as …"
    /// line, and `revoked` for the screen that offers to pair again.
    pub fn paired_device(&self) -> Result<Option<PairedDevice>> {
        Ok(self.core().paired()?.map(Into::into))
    }

    /// Syncs with the paired server using the token the store keeps (like `sync`). Throws
    /// `InvalidInput` when the phone was never paired, `NotAuthorized` when the token is
    /// refused (revoked: `pairedDevice()?.revoked` is then true), and what `sync` throws.
    #[uniffi::method(default(listener = None))]
    pub fn sync_paired(&self, listener: Option<Arc<dyn SyncListener>>) -> Result<SyncProgress> {
        let config = self.core().paired_sync_config()?.ok_or_else(|| {
            crate::error::invalid(
                "pairing",
                "this phone is not paired: pair it with a code first",
            )
        })?;
        let client = self.paired_client(config)?;
        let mut report = |p: &core_lib::SyncProgress| {
            if let Some(l) = &listener {
                l.on_progress((*p).into());
            }
        };
        Ok(client.sync(self.core(), &mut report)?.into())
    }
}

impl Store {
    /// A client for the paired configuration, kept like `client`'s.
    fn paired_client(&self, config: core_lib::SyncConfig) -> Result<core_lib::SyncClient> {
        let mut cached = self
            .sync_client
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(client) = cached.as_ref()
            && client.config().server_url == config.server_url
            && client.config().token == config.token
            && client.config().allow_insecure_http == config.allow_insecure_http
        {
            return Ok(client.clone());
        }
        let client = core_lib::SyncClient::new(config)?;
        *cached = Some(client.clone());
        Ok(client)
    }
}
