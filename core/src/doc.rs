//! The Automerge document behind every case and zero report.
//!
//! # Layout, and why
//!
//! ```text
//! ROOT
//! ├── "kind"    : "case" | "zero_report"
//! ├── "schema"  : 1
//! ├── "header"  : JSON text, written once at creation
//! ├── "ev:<id>" : JSON text of one event, one key per event
//! └── "seal:<id>": the server's seal of event <id>, for events it made
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

    /// Loads a document received from another party, strictly: a bad chunk,
    /// trailing bytes or heads that do not match refuse it (no partial
    /// loads), and a panic inside Automerge on hostile bytes is contained and
    /// answered as a corrupt document.
    pub fn load_strict(id: &str, bytes: &[u8], actor: &ActorId) -> Result<Self> {
        if bytes.is_empty() {
            return Err(corrupt(id, "no document bytes"));
        }
        let doc = contained(id, || Automerge::load(bytes))?;
        if !doc.get_missing_deps(&[]).is_empty() {
            return Err(corrupt(
                id,
                "the document refers to changes it does not contain",
            ));
        }
        Ok(EventDoc {
            id: id.to_owned(),
            doc: doc.with_actor(actor.clone()),
        })
    }

    /// Reads what can still be read of a damaged document (one whose saved
    /// heads do not match its changes): for comparing a repair against it,
    /// never for storing.
    pub fn load_damaged(id: &str, bytes: &[u8], actor: &ActorId) -> Result<Self> {
        let doc = contained(id, || Automerge::load_unverified_heads(bytes))?;
        Ok(EventDoc {
            id: id.to_owned(),
            doc: doc.with_actor(actor.clone()),
        })
    }

    /// Merges `pushed` changes into the `stored` document (saved bytes), or
    /// loads them as a new document, strictly (see [`EventDoc::load_strict`]).
    ///
    /// Why the stored bytes are loaded again together with the push rather
    /// than applied with `load_incremental`: Automerge's incremental load
    /// keeps whatever prefix of the input parsed and drops the rest without a
    /// word, so garbage or a valid change followed by garbage would be
    /// acknowledged as if it had been stored. Loading `stored ‖ pushed` in one
    /// strict load refuses both.
    pub fn merge_strict(
        id: &str,
        stored: Option<&[u8]>,
        pushed: &[u8],
        actor: &ActorId,
    ) -> Result<StrictMerge> {
        let bytes: std::borrow::Cow<'_, [u8]> = match stored {
            Some(s) => [s, pushed].concat().into(),
            None => pushed.into(),
        };
        if bytes.is_empty() {
            return Err(corrupt(id, "no changes were sent for a new document"));
        }
        let loaded =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| Automerge::load(&bytes)));
        let doc = match loaded {
            Ok(Ok(doc)) => doc,
            Ok(Err(automerge::AutomergeError::MissingDeps)) => return Ok(StrictMerge::MissingDeps),
            Ok(Err(e)) => return Err(corrupt(id, e)),
            Err(_) => return Err(corrupt(id, "the changes crash the document engine")),
        };
        if !doc.get_missing_deps(&[]).is_empty() {
            return Ok(StrictMerge::MissingDeps);
        }
        Ok(StrictMerge::Loaded(Box::new(EventDoc {
            id: id.to_owned(),
            doc: doc.with_actor(actor.clone()),
        })))
    }

    /// Saves the document and checks that the saved bytes load back to the
    /// same heads; returns them.
    ///
    /// Why: a change whose columns are encoded validly but not canonically is
    /// hashed over its own bytes, yet re-encoded canonically when the
    /// document is saved, so the saved copy claims heads it cannot
    /// reproduce and never loads again. Storing it would make the document
    /// unreadable for everyone; this check refuses it before it is stored.
    pub fn save_verified(&self) -> Result<Vec<u8>> {
        let saved = contained(&self.id, || Ok(self.doc.save()))?;
        let again = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            Automerge::load(&saved)
        }))
        .map_err(|_| "the engine crashed".to_owned())
        .and_then(|r| r.map_err(|e| e.to_string()))
        .map_err(|why| {
            corrupt(
                &self.id,
                format!("the document does not load back once saved ({why}): a change is encoded non-canonically"),
            )
        })?;
        let mut heads = again.get_heads();
        heads.sort();
        if heads != self.heads() {
            return Err(corrupt(
                &self.id,
                "the document does not load back once saved to the same heads: a change is encoded non-canonically",
            ));
        }
        Ok(saved)
    }

    /// Every key under the document's root, conflicting or not.
    pub fn root_keys(&self) -> Vec<String> {
        self.doc.keys(ROOT).collect()
    }

    /// Every value a root key holds: one normally, several when concurrent
    /// writers put different values (a conflict), none if it is absent.
    pub fn root_values(&self, key: &str) -> Vec<RootValue> {
        self.doc
            .get_all(ROOT, key)
            .unwrap_or_default()
            .into_iter()
            .map(|(value, _)| match value {
                Value::Scalar(s) => match s.as_ref() {
                    ScalarValue::Str(t) => RootValue::Text(t.to_string()),
                    ScalarValue::Uint(n) => RootValue::Uint(*n),
                    ScalarValue::Int(n) if *n >= 0 => RootValue::Uint(*n as u64),
                    other => RootValue::Other(format!("{other:?}")),
                },
                Value::Object(t) => RootValue::Other(format!("{t:?} object")),
            })
            .collect()
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

    /// Makes the next changes under `actor`.
    pub fn set_actor(&mut self, actor: &ActorId) {
        self.doc.set_actor(actor.clone());
    }

    /// Adds one event and its seal (a value computed from the event's exact
    /// JSON text by `seal`) as one change: what the server does for the
    /// events it makes itself (see `authority::SealVerifier`).
    pub fn add_sealed_event<E: Serialize>(
        &mut self,
        event_id: &str,
        event: &E,
        seal: impl FnOnce(&str) -> String,
    ) -> Result<()> {
        let json = to_json(event)?;
        let sealed = seal(&json);
        let key = format!("{EVENT_PREFIX}{event_id}");
        let seal_key = format!("{}{event_id}", crate::authority::SEAL_PREFIX);
        self.doc
            .transact::<_, _, automerge::AutomergeError>(|tx| {
                tx.put(ROOT, key, json)?;
                tx.put(ROOT, seal_key, sealed)?;
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

/// What a strict merge found.
#[derive(Debug)]
pub enum StrictMerge {
    /// The merged (or new) document.
    Loaded(Box<EventDoc>),
    /// The changes build on changes not at hand: the sender must send the
    /// whole document.
    MissingDeps,
}

/// One value of a root key, as the authority rules compare them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RootValue {
    /// Text: the header and events are JSON text.
    Text(String),
    /// An unsigned number: the schema version.
    Uint(u64),
    /// Anything else (an object, a float, a counter...): never written by
    /// this library.
    Other(String),
}

/// Runs Automerge code on bytes from elsewhere; a panic inside Automerge
/// (hostile input can trigger some) becomes a corrupt-document error
/// instead of taking the caller down.
fn contained<T>(
    id: &str,
    f: impl FnOnce() -> std::result::Result<T, automerge::AutomergeError>,
) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(corrupt(id, e)),
        Err(_) => Err(corrupt(id, "the bytes crash the document engine")),
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
