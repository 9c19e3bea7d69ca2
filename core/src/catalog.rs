//! The reference data every derivation and validation needs: the task
//! checklist, the working-day calendar and the grids. Loaded once, shared
//! read-only by every store and thread.
//!
//! # Versions
//!
//! A street revises its checklist (a new item, a changed time limit), its calendar (next
//! year's holidays) and its grids. The server is the authority on which catalog is in
//! force: it sends the catalog's [version](Catalog::version) with every sync answer, and a
//! device whose version differs fetches the files and switches to them, so a new checklist
//! item works on every phone without an app update.
//!
//! Why the version is a hash of the three files rather than a number someone increments:
//! two servers (or a server and an app build) holding the same files agree on the version
//! without coordination, and a file edited without bumping a number cannot pass for the
//! old catalog.

use sha2::{Digest, Sha256};

use crate::checklist::{Checklist, WorkCalendar};
use crate::error::Result;
use crate::grid::GridIndex;

/// The three files a catalog is loaded from, as text.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[cfg_attr(feature = "schema", derive(schemars::JsonSchema))]
pub struct CatalogFiles {
    /// The task checklist (JSON).
    pub checklist: String,
    /// The working-day calendar (JSON).
    pub calendar: String,
    /// The grids (GeoJSON).
    pub grids: String,
}

impl CatalogFiles {
    /// The version of these files: the hex SHA-256 of the three texts, each preceded by
    /// its length (so that moving bytes from one file to the next changes the version).
    pub fn version(&self) -> String {
        let mut h = Sha256::new();
        for text in [&self.checklist, &self.calendar, &self.grids] {
            h.update((text.len() as u64).to_le_bytes());
            h.update(text.as_bytes());
        }
        h.finalize().iter().map(|b| format!("{b:02x}")).collect()
    }
}

/// The reference data of one street.
#[derive(Debug)]
pub struct Catalog {
    /// The task checklist (任务清单).
    pub checklist: Checklist,
    /// Official holidays and make-up working days.
    pub calendar: WorkCalendar,
    /// Grid blocks, workstations and unit grids.
    pub grids: GridIndex,
    files: CatalogFiles,
    version: String,
}

impl Catalog {
    /// Loads a catalog from the text of its three data files.
    pub fn from_files(
        checklist_json: &str,
        calendar_json: &str,
        grids_geojson: &str,
    ) -> Result<Self> {
        Self::load(CatalogFiles {
            checklist: checklist_json.to_owned(),
            calendar: calendar_json.to_owned(),
            grids: grids_geojson.to_owned(),
        })
    }

    /// Loads a catalog from its files, checking each.
    pub fn load(files: CatalogFiles) -> Result<Self> {
        Ok(Catalog {
            checklist: Checklist::from_json(&files.checklist)?,
            calendar: WorkCalendar::from_json(&files.calendar)?,
            grids: GridIndex::from_geojson(&files.grids)?,
            version: files.version(),
            files,
        })
    }

    /// Loads the catalog of a directory holding `checklist.json`, `calendar.json` and
    /// `grids.geojson` (the layout of `core/data/`).
    pub fn from_dir(dir: impl AsRef<std::path::Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path).map_err(|source| crate::error::Error::Io {
                path: path.display().to_string(),
                source,
            })
        };
        Self::load(CatalogFiles {
            checklist: read("checklist.json")?,
            calendar: read("calendar.json")?,
            grids: read("grids.geojson")?,
        })
    }

    /// The Xietu-like demo street shipped with the library.
    pub fn demo() -> Result<Self> {
        Self::from_files(
            include_str!("../data/checklist.json"),
            include_str!("../data/calendar.json"),
            include_str!("../data/grids.geojson"),
        )
    }

    /// The catalog's version (see the module documentation).
    pub fn version(&self) -> &str {
        &self.version
    }

    /// The files it was loaded from.
    pub fn files(&self) -> &CatalogFiles {
        &self.files
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn the_version_follows_the_files_and_only_them() {
        let demo = Catalog::demo().unwrap();
        assert_eq!(demo.version(), Catalog::demo().unwrap().version());
        assert_eq!(demo.version().len(), 64);
        let mut files = demo.files().clone();
        files.checklist.push('\n');
        assert_ne!(files.version(), demo.version());
        // Bytes moved from one file to the next make another version.
        let a = CatalogFiles {
            checklist: "ab".into(),
            calendar: "c".into(),
            grids: String::new(),
        };
        let b = CatalogFiles {
            checklist: "a".into(),
            calendar: "bc".into(),
            grids: String::new(),
        };
        assert_ne!(a.version(), b.version());
    }

    #[test]
    fn a_directory_without_a_file_says_which() {
        let dir = std::env::temp_dir().join(format!("wangge-catalog-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let e = Catalog::from_dir(&dir).unwrap_err().to_string();
        assert!(e.contains("checklist.json"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
