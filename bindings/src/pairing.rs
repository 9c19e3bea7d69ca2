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

use wangge_core::{Cancel, DeviceId, EnrolledPerson, PairingPayload};

use crate::authority::Author;
use crate::blocking;
use crate::error::Result;
use crate::model::long;
use crate::store::Store;
use crate::sync::{SyncListener, SyncProgress};

/// What the phone is paired as: the server, the person, and whether the back office has
/// revoked it since.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
pub struct PairedDevice {
    /// The server the phone is paired with.
    pub server_url: String,
    /// The device's id (this store's).
    pub device_id: DeviceId,
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
            device_id: p.device_id,
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

/// What a revoked phone did with the street's data (`revocation()`): it wiped what the server
/// holds and kept only its own work the server never received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct Revocation {
    /// When the phone learnt it was revoked (ms since the Unix epoch).
    pub revoked_at_ms: i64,
    /// When the street's data was last wiped (ms since the Unix epoch).
    pub wiped_at_ms: i64,
    /// Cases and zero reports wiped.
    pub wiped_documents: i64,
    /// Cases and zero reports kept because they hold work the server never received: they
    /// can no longer be sent; offer to export them, or pair the phone again to send them.
    pub kept_documents: i64,
    /// Photos kept with them (or imported and never uploaded).
    pub kept_photos: i64,
}

impl From<core_lib::Revocation> for Revocation {
    fn from(r: core_lib::Revocation) -> Self {
        Revocation {
            revoked_at_ms: r.revoked_at_ms,
            wiped_at_ms: r.wiped_at_ms,
            wiped_documents: long(r.wiped_documents),
            kept_documents: long(r.kept_documents),
            kept_photos: long(r.kept_photos),
        }
    }
}

/// Reads a scanned QR payload (`wangge://enrol?server=…&code=…`). Throws `InvalidInput` for
/// anything else.
#[uniffi::export]
pub fn parse_pairing_payload(text: String) -> Result<PairingPayload> {
    Ok(PairingPayload::parse(&text)?)
}

#[uniffi::export]
impl Store {
    /// Exchanges a pairing `code` (typed as `ABC-DEFGH` in any case, or from
    /// `parsePairingPayload`) with the server at `serverUrl` for this phone's enrolment: the
    /// store keeps the token (shown nowhere), acts as the code's person from now on
    /// (`setAuthor` is done) and answers for the person's workstations. `deviceName` names the
    /// phone on the server if the back office gave it no name.
    ///
    /// Throws `PairingRefused` (code unknown, already used, expired, locked after wrong
    /// attempts, or its person no longer active: the message says to ask for a new code),
    /// `Offline`, `InsecureHttp` (see `setSyncConfig`). A `suspend` function.
    #[uniffi::method(default(device_name = None))]
    pub async fn pair(
        self: Arc<Self>,
        server_url: String,
        code: String,
        device_name: Option<String>,
    ) -> Result<PairedDevice> {
        blocking::run("pairing", Cancel::new(), move |_| {
            let mut config = core_lib::SyncConfig::new(server_url, "");
            self.configure(&mut config);
            Ok(self
                .core()
                .pair(&config, &code, device_name.as_deref())?
                .into())
        })
        .await
    }

    /// The pairing this phone holds, or `null` if it was never paired: for a "paired as …"
    /// line, and `revoked` for the screen that offers to pair again.
    pub fn paired_device(&self) -> Result<Option<PairedDevice>> {
        Ok(self.core().paired()?.map(Into::into))
    }

    /// `null`, or what the phone did when the server said it was revoked: the street's data
    /// it received is wiped, and `keptDocuments` of its own, never sent, are kept (show them,
    /// offer to export them). Cleared by a new pairing.
    pub fn revocation(&self) -> Result<Option<Revocation>> {
        Ok(self.core().revocation()?.map(Into::into))
    }

    /// Syncs with the paired server using the token the store keeps (like `sync`, a
    /// cancellable `suspend` function). Throws `InvalidInput` when the phone was never paired,
    /// `NotAuthorized` when the token is refused (revoked: `pairedDevice()?.revoked` is then
    /// true), and what `sync` throws.
    #[uniffi::method(default(listener = None))]
    pub async fn sync_paired(
        self: Arc<Self>,
        listener: Option<Arc<dyn SyncListener>>,
    ) -> Result<SyncProgress> {
        let client = |store: &Store| {
            let mut config = store.core().paired_sync_config()?.ok_or_else(|| {
                crate::error::invalid(
                    "pairing",
                    "this phone is not paired: pair it with a code first",
                )
            })?;
            // The paired configuration says whether plain http was allowed at pairing; the
            // rest (documents per round) is the store's.
            let allowed = config.allow_insecure_http;
            store.configure(&mut config);
            config.allow_insecure_http |= allowed;
            store.client_for(config)
        };
        self.run_sync(client, listener).await
    }
}
