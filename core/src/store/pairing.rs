//! What a pairing code gave this device, kept in the store (`meta.pairing` without the token,
//! `meta.pairing_token` for the token): see `crate::sync::pairing`.

use crate::error::{Error, Result};
use crate::store::{Store, get_meta, set_meta};
use crate::sync::SyncConfig;
use crate::sync::pairing::PairedDevice;

impl Store {
    /// Keeps a pairing and its token, the scope it names, and acts as its person from now on.
    /// A new pairing reads the server's feed from the start again (cursor 0), since the scope
    /// may have grown: documents merged twice change nothing.
    pub(crate) fn save_pairing(&self, paired: &PairedDevice, token: &str) -> Result<()> {
        let json = serde_json::to_vec(paired)
            .map_err(|e| Error::invalid("pairing", format!("cannot be stored: {e}")))?;
        let scope = serde_json::to_vec(&paired.scope)
            .map_err(|e| Error::invalid("scope", format!("cannot be stored: {e}")))?;
        {
            let mut w = self.writer();
            let tx = w
                .conn
                .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
            set_meta(&tx, "pairing", &json)?;
            set_meta(&tx, "pairing_token", token.as_bytes())?;
            set_meta(&tx, "scope", &scope)?;
            set_meta(&tx, "sync_cursor", b"0")?;
            // Paired again: no longer revoked (what a revocation kept is sent at the next sync).
            Store::clear_revocation(&tx)?;
            tx.commit()?;
        }
        self.set_author(paired.author())
    }

    /// The pairing this device holds, if it was paired ([`Store::pair`]): the server, the
    /// person, the scope, and whether the server has revoked it since.
    pub fn paired(&self) -> Result<Option<PairedDevice>> {
        Ok(get_meta(&self.reader(), "pairing")?
            .and_then(|json| serde_json::from_str::<PairedDevice>(&json).ok()))
    }

    /// A sync configuration for the paired server with the kept token (the core's defaults
    /// otherwise); `None` if the device was never paired.
    pub fn paired_sync_config(&self) -> Result<Option<SyncConfig>> {
        let Some(paired) = self.paired()? else {
            return Ok(None);
        };
        let Some(token) = get_meta(&self.reader(), "pairing_token")? else {
            return Ok(None);
        };
        let mut config = SyncConfig::new(paired.server_url, token);
        config.allow_insecure_http = paired.allow_insecure_http;
        Ok(Some(config))
    }

    /// Keeps the token the server gave in place of `used` (a rotation, `docs/sync-protocol.md`,
    /// "Tokens") if `used` is the paired token this store keeps: the next sync uses it, and the
    /// app never sees it. False, keeping nothing, for a token the store does not keep (the
    /// app configured its own: it reads the new one from [`crate::sync::SyncClient::token`]).
    pub(crate) fn adopt_rotated_token(&self, used: &str, new: &str) -> Result<bool> {
        let mut w = self.writer();
        let tx = w
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)?;
        if get_meta(&tx, "pairing_token")?.as_deref() != Some(used) {
            return Ok(false);
        }
        set_meta(&tx, "pairing_token", new.as_bytes())?;
        tx.commit()?;
        Ok(true)
    }

    /// Records that the server refused this device's token as revoked (if it is paired): the
    /// app shows it and offers to pair again. Returns true if a pairing was marked.
    pub fn mark_revoked(&self) -> Result<bool> {
        let Some(mut paired) = self.paired()? else {
            return Ok(false);
        };
        if paired.revoked {
            return Ok(true);
        }
        paired.revoked = true;
        let json = serde_json::to_vec(&paired)
            .map_err(|e| Error::invalid("pairing", format!("cannot be stored: {e}")))?;
        set_meta(&self.writer().conn, "pairing", &json)?;
        self.notify(crate::store::StoreChange::sync_state());
        Ok(true)
    }
}
