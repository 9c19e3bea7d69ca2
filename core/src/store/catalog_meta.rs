//! The catalog the server sent, kept in the store's `meta` table (as the JSON of its three
//! files), so that the device keeps using it after a restart, offline.
//!
//! Why `meta` and not a table of its own: it is one value, replaced whole, and the device
//! schema needs no new version for it.

use rusqlite::{Connection, OptionalExtension};

use crate::catalog::{Catalog, CatalogFiles};
use crate::error::{Error, Result};

const KEY: &str = "catalog_files";

/// Keeps `files` as the catalog in force.
pub(crate) fn store(conn: &Connection, files: &CatalogFiles) -> Result<()> {
    let json = serde_json::to_vec(files)
        .map_err(|e| Error::invalid("catalog", format!("cannot be kept: {e}")))?;
    conn.execute(
        "INSERT INTO meta (key, value) VALUES (?1, ?2)
         ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        rusqlite::params![KEY, json],
    )?;
    Ok(())
}

/// The catalog kept, if there is one, it is not of version `in_use` (the catalog the store
/// is being opened with), and it loads. Hashing the files is much cheaper than loading
/// them (the grid index is built on load), so a phone whose kept catalog is its app's own
/// does not load a catalog twice at every start.
pub(crate) fn stored_other_than(conn: &Connection, in_use: &str) -> Result<Option<Catalog>> {
    let bytes: Option<Vec<u8>> = conn
        .query_row("SELECT value FROM meta WHERE key = ?1", [KEY], |r| r.get(0))
        .optional()?;
    Ok(bytes
        .and_then(|b| serde_json::from_slice::<CatalogFiles>(&b).ok())
        .filter(|files| files.version() != in_use)
        .and_then(|files| Catalog::load(files).ok()))
}
