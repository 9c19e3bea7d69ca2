//! What part of the street this device answers for: its scope, as the
//! server's `GET /v1/me` gives it, kept in the store (`meta.scope`).
//!
//! The server sends a device only the documents of its scope, so a "what is
//! missing" query that walks the whole catalog on a workstation's phone
//! lists every other workstation as missing. The store keeps the scope the
//! server named and such queries answer for it alone. A store that was never
//! told its scope (a phone not yet enrolled, a demo) answers for the whole
//! street, as before.

use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::grid::GridLevel;
use crate::store::{Store, get_meta, set_meta};

/// The part of the street a device covers, as the server's register says:
/// the whole street, or some grid blocks and residential workstations (and
/// the teams whose dispatched cases it receives).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceScope {
    /// The whole street (the centre, supervisors).
    #[serde(default)]
    pub all: bool,
    /// Grid blocks covered: every workstation inside them too.
    #[serde(default)]
    pub blocks: Vec<String>,
    /// Residential workstations covered.
    #[serde(default)]
    pub workstations: Vec<String>,
    /// Teams/units whose dispatched cases the device receives (they add no
    /// workstation to answer for).
    #[serde(default)]
    pub teams: Vec<String>,
}

impl DeviceScope {
    /// The whole street.
    pub fn street() -> DeviceScope {
        DeviceScope {
            all: true,
            ..DeviceScope::default()
        }
    }
}

impl Store {
    /// Keeps `scope` as this device's scope (what the server's `GET /v1/me`
    /// names), or forgets it with `None`. It survives closing the store;
    /// set it again whenever the enrolment is fetched, since the register
    /// may have changed.
    pub fn set_scope(&self, scope: Option<&DeviceScope>) -> Result<()> {
        let w = self.writer();
        match scope {
            Some(scope) => {
                let json = serde_json::to_vec(scope).map_err(|e| {
                    crate::error::Error::invalid("scope", format!("cannot be stored: {e}"))
                })?;
                set_meta(&w.conn, "scope", &json)?;
            }
            None => {
                w.conn
                    .prepare_cached("DELETE FROM meta WHERE key = 'scope'")?
                    .execute([])?;
            }
        }
        Ok(())
    }

    /// The scope the store was told ([`Store::set_scope`]); `None` if never
    /// told, or if what is stored cannot be read (a newer app's format):
    /// queries then answer for the whole street.
    pub fn scope(&self) -> Result<Option<DeviceScope>> {
        Ok(get_meta(&self.reader(), "scope")?
            .and_then(|json| serde_json::from_str::<DeviceScope>(&json).ok()))
    }

    /// The residential workstations of the catalog this device answers for,
    /// in catalog order: every one for the whole street or an unknown
    /// scope; otherwise those named in the scope and those inside its
    /// blocks. Ids the catalog does not hold as workstations are left out.
    pub fn workstations_in_scope(&self) -> Result<Vec<String>> {
        let scope = self.scope()?;
        Ok(self
            .catalog()
            .grids
            .cells_at(GridLevel::Workstation)
            .filter(|cell| match &scope {
                None => true,
                Some(s) if s.all => true,
                Some(s) => {
                    s.workstations.iter().any(|w| w == cell.id())
                        || cell
                            .parent()
                            .is_some_and(|b| s.blocks.iter().any(|x| x == b))
                }
            })
            .map(|cell| cell.id().to_owned())
            .collect())
    }
}
