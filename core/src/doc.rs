//! The Automerge document behind every case and zero report.
//!
//! # Layout, and why
//!
//! ```text
//! ROOT
//! ├── "kind"    : "case" | "zero_report"
//! ├── "schema"  : 1
//! ├── "header"  : JSON text, written once at creation
//! └── "ev:<id>" : JSON text of one event, one key per event
//! ```
//!
//! * Events are immutable facts, so each is one scalar value: one operation
//!   per event, compact on disk and on the wire, and free to evolve through
//!   serde defaults. Nothing inside an event is ever edited concurrently, so
//!   character-level CRDT structure would buy nothing.
//! * The events live directly under the root, one key per event id, rather
//!   than in a nested list or map. A zero report's document id is derived
//!   from its workstation and day, so two devices may create the same
//!   document independently; had each created a nested `events` object,
//!   Automerge would keep only one of the two objects visible and the other
//!   device's events would vanish from view. Root keys cannot be shadowed
//!   that way, and a set of unique keys merges as a grow-only set.

use automerge::{
    ActorId, Automerge, ChangeHash, ROOT, ReadDoc, ScalarValue, ScalarValueRef, Value, ValueRef,
    transaction::Transactable,
};
use serde::{Serialize, de::DeserializeOwned};

use crate::error::{Error, Result};

/// Version of the document layout above.
pub const DOC_SCHEMA: u64 = 1;
const EVENT_PREFIX: &str = "ev:";

/// The kinds of document the library stores and syncs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocKind {
    /// A case (案件).
    Case,
    /// A workstation's zero report for one day (零报告).
    ZeroReport,
}

impl DocKind {
    /// Stable machine name.
    pub fn as_str(self) -> &'static str {
        match self {
            DocKind::Case => "case",
            DocKind::ZeroReport => "zero_report",
        }
    }

    /// Parses the machine name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "case" => Some(DocKind::Case),
            "zero_report" => Some(DocKind::ZeroReport),
            _ => None,
        }
    }
}

/// A document holding a header and a grow-only set of events.
#[derive(Debug, Clone)]
pub struct EventDoc {
    id: String,
    doc: Automerge,
}

impl EventDoc {
    /// Creates a document with its header and first events, as one change.
    pub fn create<H: Serialize, E: Serialize>(
        id: &str,
        actor: &ActorId,
        kind: DocKind,
        header: &H,
        events: &[(String, E)],
    ) -> Result<Self> {
        let mut doc = Automerge::new().with_actor(actor.clone());
        let header = to_json(header)?;
        let events = events
            .iter()
            .map(|(id, e)| Ok((format!("{EVENT_PREFIX}{id}"), to_json(e)?)))
            .collect::<Result<Vec<_>>>()?;
        doc.transact::<_, _, automerge::AutomergeError>(|tx| {
            tx.put(ROOT, "kind", kind.as_str())?;
            tx.put(ROOT, "schema", DOC_SCHEMA)?;
            tx.put(ROOT, "header", header)?;
            for (key, json) in events {
                tx.put(ROOT, key, json)?;
            }
            Ok(())
        })
        .map_err(|f| corrupt(id, f.error))?;
        Ok(EventDoc {
            id: id.to_owned(),
            doc,
        })
    }

    /// An empty document, to merge received changes into.
    pub fn empty(id: &str, actor: &ActorId) -> Self {
        EventDoc {
            id: id.to_owned(),
            doc: Automerge::new().with_actor(actor.clone()),
        }
    }

    /// Loads a document from saved bytes (a snapshot followed by any number
    /// of incremental chunks), checking that it is one of ours.
    pub fn load(id: &str, bytes: &[u8], actor: &ActorId) -> Result<Self> {
        let doc = Automerge::load(bytes).map_err(|e| corrupt(id, e))?;
        let doc = EventDoc {
            id: id.to_owned(),
            doc: doc.with_actor(actor.clone()),
        };
        Ok(doc)
    }

    /// The document's id.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The kind recorded in the document, if it has one yet.
    pub fn kind(&self) -> Result<Option<DocKind>> {
        match self.get_str("kind") {
            None => Ok(None),
            Some(k) => DocKind::parse(&k)
                .map(Some)
                .ok_or_else(|| corrupt(&self.id, format!("unknown document kind '{k}'"))),
        }
    }

    /// The header, decoded.
    pub fn header<H: DeserializeOwned>(&self) -> Result<H> {
        let json = self
            .get_str("header")
            .ok_or_else(|| corrupt(&self.id, "the document has no header"))?;
        serde_json::from_str(&json).map_err(|e| corrupt(&self.id, format!("bad header: {e}")))
    }

    /// Every event, decoded (unordered: the caller sorts).
    pub fn events<E: DeserializeOwned>(&self) -> Result<Vec<E>> {
        let mut out = Vec::new();
        for item in self.doc.map_range(ROOT, EVENT_PREFIX.to_owned()..) {
            if !item.key.starts_with(EVENT_PREFIX) {
                break;
            }
            let json = match item.value {
                ValueRef::Scalar(ScalarValueRef::Str(s)) => s.into_owned(),
                _ => return Err(corrupt(&self.id, format!("event {} is not text", item.key))),
            };
            out.push(
                serde_json::from_str(&json)
                    .map_err(|e| corrupt(&self.id, format!("bad event {}: {e}", item.key)))?,
            );
        }
        Ok(out)
    }

    /// Adds one event as one change.
    pub fn add_event<E: Serialize>(&mut self, event_id: &str, event: &E) -> Result<()> {
        let json = to_json(event)?;
        let key = format!("{EVENT_PREFIX}{event_id}");
        self.doc
            .transact::<_, _, automerge::AutomergeError>(|tx| {
                tx.put(ROOT, key, json)?;
                Ok(())
            })
            .map_err(|f| corrupt(&self.id, f.error))?;
        Ok(())
    }

    /// Merges another replica's document into this one.
    pub fn merge(&mut self, other: &mut EventDoc) -> Result<()> {
        self.doc
            .merge(&mut other.doc)
            .map_err(|e| corrupt(&self.id, e))?;
        Ok(())
    }

    /// Applies saved bytes or changes received from elsewhere.
    pub fn load_incremental(&mut self, bytes: &[u8]) -> Result<()> {
        self.doc
            .load_incremental(bytes)
            .map_err(|e| corrupt(&self.id, e))?;
        Ok(())
    }

    /// The heads: the hashes of the latest changes. Equal heads mean equal documents.
    pub fn heads(&self) -> Vec<ChangeHash> {
        let mut h = self.doc.get_heads();
        h.sort();
        h
    }

    /// The whole document, compacted.
    pub fn save(&self) -> Vec<u8> {
        self.doc.save()
    }

    /// The changes made since `heads`, as an incremental chunk.
    pub fn save_after(&self, heads: &[ChangeHash]) -> Vec<u8> {
        self.doc.save_after(heads)
    }

    /// The underlying Automerge document.
    pub fn automerge(&self) -> &Automerge {
        &self.doc
    }

    fn get_str(&self, key: &str) -> Option<String> {
        match self.doc.get(ROOT, key).ok().flatten() {
            Some((Value::Scalar(s), _)) => match s.as_ref() {
                ScalarValue::Str(s) => Some(s.to_string()),
                _ => None,
            },
            _ => None,
        }
    }
}

/// Heads as stored and compared: sorted 32-byte hashes, concatenated.
pub fn encode_heads(heads: &[ChangeHash]) -> Vec<u8> {
    let mut sorted = heads.to_vec();
    sorted.sort();
    sorted.iter().flat_map(|h| h.0).collect()
}

/// Inverse of [`encode_heads`]; a trailing partial hash is ignored.
pub fn decode_heads(bytes: &[u8]) -> Vec<ChangeHash> {
    bytes
        .chunks_exact(32)
        .map(|c| {
            let mut h = [0u8; 32];
            h.copy_from_slice(c);
            ChangeHash(h)
        })
        .collect()
}

fn to_json<T: Serialize>(value: &T) -> Result<String> {
    serde_json::to_string(value).map_err(|e| Error::invalid("document value", e.to_string()))
}

fn corrupt(id: &str, reason: impl std::fmt::Display) -> Error {
    Error::CorruptDocument {
        doc_id: id.to_owned(),
        reason: reason.to_string(),
    }
}
