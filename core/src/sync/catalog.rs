//! Following the server's catalog: every sync answer names the catalog version in force
//! (`x-wangge-catalog`); when it is not the device's, the client fetches the files
//! (`GET /v1/catalog`) and the store switches to them ([`crate::Store::adopt_catalog`]).
//! See `docs/sync-protocol.md`, "Catalog".

use serde::Deserialize;

use crate::SyncError;
use crate::catalog::CatalogFiles;
use crate::error::{Error, Result};
use crate::store::Store;
use crate::sync::client::{SyncClient, SyncProgress};

/// The header of sync answers that names the catalog in force.
pub const CATALOG_HEADER: &str = "x-wangge-catalog";

/// The answer of `GET /v1/catalog`.
#[derive(Debug, Deserialize)]
struct CatalogAnswer {
    version: String,
    files: CatalogFiles,
}

impl SyncClient {
    /// Fetches and adopts the catalog the last sync answer named, if the store's differs.
    /// True when the store switched. A server that names none (an older one) changes
    /// nothing.
    pub(crate) fn follow_catalog(&self, store: &Store, p: &mut SyncProgress) -> Result<bool> {
        let announced = self
            .announced_catalog
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .take();
        let Some(announced) = announced else {
            return Ok(false);
        };
        if store.catalog().version() == announced {
            return Ok(false);
        }
        let url = format!(
            "{}/v1/catalog",
            self.config().server_url.trim_end_matches('/')
        );
        let body = self.send_with_retry(&|| self.http().get(&url), p)?;
        p.bytes_received += body.len() as u64;
        let answer: CatalogAnswer = serde_json::from_slice(&body).map_err(|e| {
            Error::Sync(SyncError::Protocol(format!(
                "the server's catalog is not readable: {e}"
            )))
        })?;
        if answer.version != announced {
            // The catalog changed between the two requests: the next sync follows it.
            return Ok(false);
        }
        store.adopt_catalog(answer.files, &answer.version)
    }
}
