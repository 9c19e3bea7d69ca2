//! What the server does with a document, whatever the storage backend:
//! merge pushed changes, check that the result is a well-formed document of
//! the declared kind and id, and work out which devices' scopes it is in.

use automerge::{ActorId, ChangeHash, ReadDoc};
use wangge_core::Catalog;
use wangge_core::case::{
    CaseEvent, CaseEventKind, CaseHeader, CaseState, derive, grid_ref, sort_events,
};
use wangge_core::doc::{DocKind, EventDoc};
use wangge_core::zero_report::{ZeroReport, ZeroReportEvent, ZeroReportHeader, derive_zero_report};

use crate::error::ApiError;

/// Where a document belongs, for scoping.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Placement {
    /// Grid block.
    pub block: Option<String>,
    /// Residential workstation.
    pub workstation: Option<String>,
    /// Device that reported the case.
    pub reporter_device: Option<String>,
    /// Every unit the case was ever dispatched to, and its current holders.
    /// A team keeps receiving a case it worked on after handing it back
    /// (verification, closure, a reopening), not only while it holds it.
    pub teams: Vec<String>,
}

/// A decoded document with what the back office derives from it.
#[derive(Debug, Clone)]
pub enum Decoded {
    /// A case.
    Case {
        /// Intake facts.
        header: Box<CaseHeader>,
        /// Ordered events.
        events: Vec<CaseEvent>,
        /// Derived state.
        state: Box<CaseState>,
    },
    /// A zero report.
    ZeroReport(Box<ZeroReport>),
}

impl Decoded {
    /// The hashes of every photo the document references, each once: what a device in its
    /// scope may download.
    pub fn photo_hashes(&self) -> std::collections::BTreeSet<&str> {
        match self {
            Decoded::Case { header, events, .. } => header
                .photos
                .iter()
                .chain(events.iter().flat_map(|e| e.kind.photos()))
                .map(|p| p.sha256.as_str())
                .collect(),
            Decoded::ZeroReport(r) => r
                .events
                .iter()
                .flat_map(|e| e.kind.photos())
                .map(|p| p.sha256.as_str())
                .collect(),
        }
    }

    /// Where the document belongs.
    pub fn placement(&self, catalog: &Catalog) -> Placement {
        match self {
            Decoded::Case {
                header,
                events,
                state,
            } => {
                let grid = state.grid.as_deref().map(|c| grid_ref(&catalog.grids, c));
                let mut teams: std::collections::BTreeSet<String> =
                    state.holders.iter().cloned().collect();
                for e in events {
                    if let CaseEventKind::Dispatched { units, .. } = &e.kind {
                        teams.extend(units.iter().cloned());
                    }
                }
                Placement {
                    block: grid.as_ref().and_then(|g| g.block.clone()),
                    workstation: grid.as_ref().and_then(|g| g.workstation.clone()),
                    reporter_device: Some(header.reporter.device.to_string()),
                    teams: teams.into_iter().collect(),
                }
            }
            Decoded::ZeroReport(r) => Placement {
                block: catalog
                    .grids
                    .path(&r.header.workstation)
                    .map(|p| p.block.clone()),
                workstation: Some(r.header.workstation.clone()),
                reporter_device: None,
                teams: Vec::new(),
            },
        }
    }
}

fn bad(doc_id: &str, why: impl std::fmt::Display) -> ApiError {
    ApiError::bad_request(
        "corrupt_document",
        format!("document {doc_id}: {why}; the request was not applied"),
    )
}

/// Decodes and checks a merged document: it must be of `kind`, and its
/// header must name `doc_id`.
pub fn decode(doc: &EventDoc, kind: DocKind, catalog: &Catalog) -> Result<Decoded, ApiError> {
    let id = doc.id();
    match doc.kind().map_err(|e| bad(id, e))? {
        Some(k) if k == kind => {}
        Some(k) => {
            return Err(bad(
                id,
                format!("declared a {} but holds a {}", kind.as_str(), k.as_str()),
            ));
        }
        None => return Err(bad(id, "the document has no kind")),
    }
    match kind {
        DocKind::Case => {
            let header: CaseHeader = doc.header().map_err(|e| bad(id, e))?;
            if header.id.to_string() != id {
                return Err(bad(id, format!("its header names case {}", header.id)));
            }
            let mut events: Vec<CaseEvent> = doc.events().map_err(|e| bad(id, e))?;
            sort_events(&mut events);
            let state = derive(&header, &events, catalog);
            Ok(Decoded::Case {
                header: Box::new(header),
                events,
                state: Box::new(state),
            })
        }
        DocKind::ZeroReport => {
            let header: ZeroReportHeader = doc.header().map_err(|e| bad(id, e))?;
            if header.doc_id() != id {
                return Err(bad(id, format!("its header names {}", header.doc_id())));
            }
            let events: Vec<ZeroReportEvent> = doc.events().map_err(|e| bad(id, e))?;
            Ok(Decoded::ZeroReport(Box::new(derive_zero_report(
                header, events,
            ))))
        }
    }
}

/// The outcome of merging pushed changes.
#[derive(Debug)]
pub enum Merge {
    /// The server already had every change: nothing to store.
    Unchanged {
        /// Server heads.
        heads: Vec<ChangeHash>,
    },
    /// The document changed: store it.
    Changed {
        /// The merged document.
        doc: Box<EventDoc>,
        /// Its decoded content.
        decoded: Decoded,
    },
    /// The changes build on changes the server lacks: ask for the whole document.
    MissingDeps,
}

/// Merges pushed `changes` into the `stored` document (if any).
pub fn merge_push(
    doc_id: &str,
    kind: DocKind,
    stored: Option<(DocKind, &[u8])>,
    changes: &[u8],
    catalog: &Catalog,
    actor: &ActorId,
) -> Result<Merge, ApiError> {
    if doc_id.is_empty() || doc_id.len() > 200 {
        return Err(bad(doc_id, "document ids are 1 to 200 bytes"));
    }
    let mut doc = match stored {
        Some((stored_kind, bytes)) => {
            if stored_kind != kind {
                return Err(bad(
                    doc_id,
                    format!(
                        "pushed as a {} but stored as a {}",
                        kind.as_str(),
                        stored_kind.as_str()
                    ),
                ));
            }
            EventDoc::load(doc_id, bytes, actor).map_err(ApiError::internal)?
        }
        None => EventDoc::empty(doc_id, actor),
    };
    let before = doc.heads();
    doc.load_incremental(changes).map_err(|e| bad(doc_id, e))?;
    if !doc.automerge().get_missing_deps(&[]).is_empty() {
        return Ok(Merge::MissingDeps);
    }
    let after = doc.heads();
    if after == before {
        return Ok(Merge::Unchanged { heads: after });
    }
    let decoded = decode(&doc, kind, catalog)?;
    Ok(Merge::Changed {
        doc: Box::new(doc),
        decoded,
    })
}

pub use wangge_core::doc::{decode_heads, encode_heads};
