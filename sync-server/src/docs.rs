//! What the server does with a document, whatever the storage backend:
//! merge pushed changes, check that the result is a well-formed document of
//! the declared kind and id, and work out which devices' scopes it is in.

use automerge::{ActorId, ChangeHash};
use wangge_core::Catalog;
use wangge_core::case::{
    CaseEvent, CaseEventKind, CaseHeader, CaseState, derive, grid_ref, sort_events,
};
use wangge_core::doc::{DocKind, EventDoc};
use wangge_core::zero_report::{ZeroReport, ZeroReportEvent, ZeroReportHeader, derive_zero_report};

use wangge_core::authority::{
    Author, CheckedContent, NoSeals, Refusal, RefusalCode, SealVerifier, check_push_sealed,
};
use wangge_core::doc::StrictMerge;

use crate::storage::error::StorageError;

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

fn bad(doc_id: &str, why: impl std::fmt::Display) -> StorageError {
    StorageError::CorruptDocument {
        doc_id: doc_id.to_owned(),
        why: why.to_string(),
    }
}

/// Decodes and checks a merged document: it must be of `kind`, and its
/// header must name `doc_id`.
pub fn decode(doc: &EventDoc, kind: DocKind, catalog: &Catalog) -> Result<Decoded, StorageError> {
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
    /// The document changed and passed every rule: store it.
    Changed {
        /// The merged document.
        doc: Box<EventDoc>,
        /// Its decoded content.
        decoded: Decoded,
        /// Its saved bytes, checked to load back to the same heads.
        saved: Vec<u8>,
    },
    /// The changes build on changes the server lacks: ask for the whole document.
    MissingDeps,
    /// The push breaks a rule: nothing of it is stored, the rest of the
    /// request goes on.
    Refused(Refusal),
}

/// The decoded form of content that passed the authority rules.
pub fn decoded_from(content: CheckedContent, catalog: &Catalog) -> Decoded {
    match content {
        CheckedContent::Case { header, mut events } => {
            sort_events(&mut events);
            let state = derive(&header, &events, catalog);
            Decoded::Case {
                header,
                events,
                state: Box::new(state),
            }
        }
        CheckedContent::ZeroReport { header, events } => {
            Decoded::ZeroReport(Box::new(derive_zero_report(header, events)))
        }
    }
}

/// Why pushed bytes were refused as corrupt, for the device that sent them
/// (the core's message tells a device to rebuild from the server, which is
/// not the advice here).
fn unreadable(e: wangge_core::Error) -> String {
    match e {
        wangge_core::Error::CorruptDocument { doc_id, reason } => {
            format!("document {doc_id}: {reason}; nothing of it was stored")
        }
        other => other.to_string(),
    }
}

fn refused(code: RefusalCode, message: impl Into<String>) -> Merge {
    Merge::Refused(Refusal::new(code, message))
}

/// What the server holds of a pushed document.
#[derive(Debug, Clone, Copy)]
pub enum Stored<'a> {
    /// Nothing: the push creates it.
    None,
    /// The document, which loads (everything stored was checked to).
    Sound(DocKind, &'a [u8]),
    /// A document set aside because it no longer loads. A whole copy from a
    /// device repairs it: the push is checked against what can still be read
    /// of the damaged bytes, and must load on its own.
    Quarantined(DocKind, &'a [u8]),
}

/// Merges pushed `changes` into what the server holds and checks the result
/// against the authority rules for `author` (none: the device is not
/// enrolled to an active person, and nothing it pushes is stored).
///
/// Strict at every step: the push and the stored bytes are loaded together
/// in one strict load (no partial loads), a panic inside Automerge is
/// contained, and the merged document must save and load back to the same
/// heads before it is stored.
pub fn merge_push(
    doc_id: &str,
    kind: DocKind,
    stored: Stored<'_>,
    changes: &[u8],
    author: Option<&Author>,
    catalog: &Catalog,
    actor: &ActorId,
) -> Merge {
    merge_push_sealed(
        doc_id, kind, stored, changes, author, catalog, actor, &NoSeals,
    )
}

/// [`merge_push`], accepting the server's own events relayed by a device when
/// `seals` verifies their seal (see `wangge_core::authority::SealVerifier`).
#[allow(clippy::too_many_arguments)]
pub fn merge_push_sealed(
    doc_id: &str,
    kind: DocKind,
    stored: Stored<'_>,
    changes: &[u8],
    author: Option<&Author>,
    catalog: &Catalog,
    actor: &ActorId,
    seals: &dyn SealVerifier,
) -> Merge {
    if doc_id.is_empty() || doc_id.len() > 200 {
        return refused(
            RefusalCode::CorruptDocument,
            "document ids are 1 to 200 bytes",
        );
    }
    let (before, stored_bytes) = match stored {
        Stored::None => (None, None),
        Stored::Sound(k, bytes) | Stored::Quarantined(k, bytes) if k != kind => {
            let _ = bytes;
            return refused(
                RefusalCode::CorruptDocument,
                format!(
                    "pushed as a {} but stored as a {}",
                    kind.as_str(),
                    k.as_str()
                ),
            );
        }
        Stored::Sound(_, bytes) => match EventDoc::load_strict(doc_id, bytes, actor) {
            Ok(doc) => (Some(doc), Some(bytes)),
            // Checked when stored; if it fails now the caller quarantines it.
            Err(e) => return refused(RefusalCode::CorruptDocument, unreadable(e)),
        },
        // A repair: the damaged copy is the reference for the rules (what can
        // be read of it), and the push alone must be a whole sound document.
        Stored::Quarantined(_, bytes) => (EventDoc::load_damaged(doc_id, bytes, actor).ok(), None),
    };
    let merged = match EventDoc::merge_strict(doc_id, stored_bytes, changes, actor) {
        Ok(StrictMerge::Loaded(doc)) => *doc,
        Ok(StrictMerge::MissingDeps) => return Merge::MissingDeps,
        Err(e) => return refused(RefusalCode::CorruptDocument, unreadable(e)),
    };
    if let (Some(b), Stored::Sound(..)) = (&before, stored)
        && b.heads() == merged.heads()
    {
        return Merge::Unchanged {
            heads: merged.heads(),
        };
    }
    let Some(author) = author else {
        return refused(
            RefusalCode::NoPerson,
            "this device is not enrolled to an active person of the register; enrol it again with `wangge-server enroll --person`",
        );
    };
    let content = match check_push_sealed(before.as_ref(), &merged, kind, author, catalog, seals) {
        Ok(c) => c,
        Err(r) => return Merge::Refused(r),
    };
    let saved = match merged.save_verified() {
        Ok(s) => s,
        Err(e) => return refused(RefusalCode::CorruptDocument, unreadable(e)),
    };
    Merge::Changed {
        decoded: decoded_from(content, catalog),
        doc: Box::new(merged),
        saved,
    }
}

pub use wangge_core::doc::{decode_heads, encode_heads};
