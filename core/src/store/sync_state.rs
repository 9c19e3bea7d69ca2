//! What the server holds of each document, and the store's side of a sync
//! round: which changes to push, and applying the server's answer in one
//! transaction so that an interruption at any point leaves the store as it
//! was before the round or as it is after it, never in between.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use serde::{Deserialize, Serialize};

use crate::doc::{EventDoc, decode_heads, encode_heads};
use crate::error::{Error, Result};
use crate::ids::CaseId;
use crate::store::{Store, StoreChange, docs, get_meta, set_meta};
use crate::sync::protocol::{PushDoc, SyncResponse};

/// Whether a document has reached the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncStatus {
    /// The server has acknowledged at least one version of the document.
    pub on_server: bool,
    /// There are local changes the server has not acknowledged yet.
    pub pending: bool,
    /// The server refused the document's last push under its authority
    /// rules: see [`Store::refusal`] for why. The document is kept here.
    #[serde(default)]
    pub refused: bool,
}

/// Why the server refused a document this device pushed. The document is
/// kept on the device, whole; it goes to the server again when it is
/// written to again or [`Store::retry_refused`] is called.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DocRefusal {
    /// The document.
    pub doc_id: String,
    /// The stable code of the rule it broke (`wangge_core::authority::RefusalCode`
    /// names them; a newer server may send codes this build does not know).
    pub code: String,
    /// The server's explanation.
    pub message: String,
    /// When the refusal arrived (ms, the store's clock).
    pub at_ms: i64,
}

fn refusal_from_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<DocRefusal> {
    Ok(DocRefusal {
        doc_id: r.get(0)?,
        code: r.get(1)?,
        message: r.get(2)?,
        at_ms: r.get(3)?,
    })
}

/// Records a local write: the document has changes to push.
pub(crate) fn mark_dirty(conn: &Connection, doc_id: &str) -> Result<()> {
    conn.prepare_cached(
        "INSERT INTO sync_state (doc_id, local_version, dirty, on_server) VALUES (?1, 1, 1, 0)
         ON CONFLICT (doc_id) DO UPDATE SET dirty = 1, local_version = local_version + 1",
    )?
    .execute([doc_id])?;
    Ok(())
}

/// A document prepared for a push, with the local version it was taken at.
#[derive(Debug, Clone)]
pub struct PreparedPush {
    /// What goes on the wire.
    pub doc: PushDoc,
    /// The document's local write counter when the push was prepared.
    pub local_version: i64,
}

impl Store {
    /// The device's position in the server's change feed.
    pub fn sync_cursor(&self) -> Result<u64> {
        Ok(get_meta(&self.reader(), "sync_cursor")?
            .and_then(|s| s.parse().ok())
            .unwrap_or(0))
    }

    /// Number of documents with changes the server has not acknowledged.
    pub fn pending_count(&self) -> Result<u64> {
        let n: i64 =
            self.reader()
                .query_row("SELECT count(*) FROM sync_state WHERE dirty", [], |r| {
                    r.get(0)
                })?;
        Ok(n as u64)
    }

    /// Whether a case has reached the server.
    pub fn case_sync_status(&self, case: CaseId) -> Result<SyncStatus> {
        self.doc_sync_status(&case.to_string())
    }

    /// Whether a document has reached the server.
    pub fn doc_sync_status(&self, doc_id: &str) -> Result<SyncStatus> {
        let row: Option<(bool, bool, bool)> = self
            .reader()
            .query_row(
                "SELECT on_server, dirty, refused_code IS NOT NULL FROM sync_state WHERE doc_id = ?1",
                [doc_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        match row {
            Some((on_server, pending, refused)) => Ok(SyncStatus {
                on_server,
                pending,
                refused,
            }),
            None => Err(Error::CaseNotFound(doc_id.to_owned())),
        }
    }

    /// Why the server refused a document, if it did at its last push.
    pub fn refusal(&self, doc_id: &str) -> Result<Option<DocRefusal>> {
        let row = self
            .reader()
            .prepare_cached(
                "SELECT doc_id, refused_code, refused_message, refused_at FROM sync_state
                 WHERE doc_id = ?1 AND refused_code IS NOT NULL",
            )?
            .query_row([doc_id], refusal_from_row)
            .optional()?;
        Ok(row)
    }

    /// Every document the server refused, most recent first: what a "needs
    /// attention" screen lists.
    pub fn refused_documents(&self) -> Result<Vec<DocRefusal>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(
            "SELECT doc_id, refused_code, refused_message, refused_at FROM sync_state
             WHERE refused_code IS NOT NULL ORDER BY refused_at DESC, doc_id",
        )?;
        let rows = stmt
            .query_map([], refusal_from_row)?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Sends a refused document again at the next sync (after the cause was
    /// fixed on the server, e.g. the person was given the missing role). The
    /// refusal stays shown until the server answers. False if the document
    /// was not refused.
    pub fn retry_refused(&self, doc_id: &str) -> Result<bool> {
        let n = self.writer().conn.execute(
            "UPDATE sync_state SET dirty = 1 WHERE doc_id = ?1 AND refused_code IS NOT NULL",
            [doc_id],
        )?;
        if n > 0 {
            self.notify(StoreChange::sync_state());
        }
        Ok(n > 0)
    }

    /// Prepares the next batch of documents to push: at most `max_docs`
    /// documents and about `max_bytes` of changes (a single larger document
    /// still goes alone).
    pub fn prepare_push(&self, max_docs: usize, max_bytes: usize) -> Result<Vec<PreparedPush>> {
        let conn = self.reader();
        // `+doc_id`: without it SQLite walks the primary key to avoid a
        // sort and tests every row for `dirty`, so a sync with nothing to
        // push would cost a scan of every document; with it, the partial
        // index `sync_state_dirty` finds the dirty rows and only they are
        // sorted.
        let mut stmt = conn.prepare_cached(
            "SELECT doc_id, synced_heads, local_version FROM sync_state WHERE dirty ORDER BY +doc_id LIMIT ?1",
        )?;
        let rows = stmt
            .query_map([max_docs as i64], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, Option<Vec<u8>>>(1)?,
                    r.get::<_, i64>(2)?,
                ))
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        let mut out = Vec::new();
        let mut bytes = 0;
        for (doc_id, synced, local_version) in rows {
            let Some((kind, doc)) = docs::load(&conn, &doc_id, &self.actor)? else {
                continue;
            };
            let synced = synced.map(|b| decode_heads(&b)).unwrap_or_default();
            let changes = if synced.is_empty() {
                doc.save()
            } else {
                doc.save_after(&synced)
            };
            bytes += changes.len();
            out.push(PreparedPush {
                doc: PushDoc {
                    doc_id,
                    kind,
                    heads: doc.heads(),
                    changes,
                },
                local_version,
            });
            if bytes >= max_bytes {
                break;
            }
        }
        Ok(out)
    }

    /// Starts the sync over after the server answered "reset" (it lost
    /// changes it had acknowledged: its database was restored from a
    /// backup). In one transaction: forgets the server heads of every
    /// document, so that each is pushed whole again and counts as not on
    /// the server until the server acknowledges it anew; marks every photo
    /// imported here as not uploaded, so that the next upload pass asks the
    /// server about each and sends what it lost; and moves the cursor back
    /// to 0, so that the device reads the server's whole feed again.
    ///
    /// Nothing local is deleted: the documents, their history and the
    /// photos stay as they are.
    pub fn forget_server_state(&self) -> Result<()> {
        let mut w = self.writer();
        let tx = w
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute(
            "UPDATE sync_state SET synced_heads = NULL, dirty = 1, on_server = 0",
            [],
        )?;
        tx.execute(
            "UPDATE photos SET photo_uploaded = 0, thumb_uploaded = 0",
            [],
        )?;
        set_meta(&tx, "sync_cursor", b"0")?;
        tx.commit()?;
        drop(w);
        self.notify(StoreChange::sync_state());
        Ok(())
    }

    /// Applies the server's answer to a push of `pushed`: marks accepted
    /// documents as on the server, merges the documents received, and moves
    /// the cursor — all in one transaction. Returns how many received
    /// documents changed something locally.
    ///
    /// A reset answer (the server lost what it had acknowledged) carries
    /// nothing to apply: it starts the sync over with
    /// [`Store::forget_server_state`] instead.
    pub fn apply_sync_response(
        &self,
        pushed: &[PreparedPush],
        response: &SyncResponse,
    ) -> Result<usize> {
        if response.reset {
            self.forget_server_state()?;
            return Ok(0);
        }
        let (changed, change) = self.apply_round(pushed, response)?;
        self.notify(change);
        Ok(changed)
    }

    /// [`Store::apply_sync_response`] for an answer that is no reset, without
    /// the notification: returns what changed, to be told once the writer is
    /// released.
    fn apply_round(
        &self,
        pushed: &[PreparedPush],
        response: &SyncResponse,
    ) -> Result<(usize, StoreChange)> {
        // Pushes acknowledged, refused or to be sent again, and documents
        // received, all change what the server holds; nothing else shows.
        let mut change = StoreChange {
            sync_state: !response.accepted.is_empty()
                || !response.refused.is_empty()
                || !response.resend.is_empty()
                || !response.docs.is_empty(),
            ..StoreChange::default()
        };
        let mut w = self.writer();
        let w = &mut *w;
        let tx = w
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        for accepted in &response.accepted {
            let Some(p) = pushed.iter().find(|p| p.doc.doc_id == accepted.doc_id) else {
                continue;
            };
            // The server holds at least what was pushed; later local writes
            // (a higher local_version) keep the document dirty.
            tx.prepare_cached(
                "UPDATE sync_state SET synced_heads = ?2, on_server = 1, dirty = (local_version != ?3)
                 WHERE doc_id = ?1",
            )?
            .execute(params![p.doc.doc_id, encode_heads(&p.doc.heads), p.local_version])?;
            tx.prepare_cached(
                "UPDATE sync_state SET refused_code = NULL, refused_message = NULL, refused_at = NULL
                 WHERE doc_id = ?1 AND refused_code IS NOT NULL",
            )?
            .execute([&p.doc.doc_id])?;
        }
        let now = self.clock.now_ms();
        for refused in &response.refused {
            let Some(p) = pushed.iter().find(|p| p.doc.doc_id == refused.doc_id) else {
                continue;
            };
            // Kept whole and shown; not pushed again until written to again
            // (a later local version stays dirty) or retried.
            tx.prepare_cached(
                "UPDATE sync_state SET dirty = (local_version != ?2), refused_code = ?3,
                     refused_message = ?4, refused_at = ?5
                 WHERE doc_id = ?1",
            )?
            .execute(params![
                p.doc.doc_id,
                p.local_version,
                refused.code,
                refused.message,
                now
            ])?;
        }
        for doc_id in &response.resend {
            tx.prepare_cached(
                "UPDATE sync_state SET synced_heads = NULL, dirty = 1 WHERE doc_id = ?1",
            )?
            .execute([doc_id])?;
        }
        let mut hlc = w.hlc;
        let mut changed = 0;
        for d in &response.docs {
            let incoming = EventDoc::load_strict(&d.doc_id, &d.document, &self.actor)?;
            let merged = self.merge_into(&tx, &mut hlc, incoming, Some(d.kind))?;
            if merged.is_some() {
                changed += 1;
                change.add_doc(&d.doc_id);
            }
            let local_heads = match merged {
                Some(doc) => doc.heads(),
                None => match docs::load(&tx, &d.doc_id, &self.actor)? {
                    Some((_, doc)) => doc.heads(),
                    None => Vec::new(),
                },
            };
            let mut server_heads = d.heads.clone();
            server_heads.sort();
            // Dirty only if this device holds changes the server lacks.
            let dirty = local_heads != server_heads;
            tx.prepare_cached(
                "INSERT INTO sync_state (doc_id, synced_heads, local_version, dirty, on_server)
                 VALUES (?1, ?2, 0, ?3, 1)
                 ON CONFLICT (doc_id) DO UPDATE SET synced_heads = excluded.synced_heads,
                     on_server = 1, dirty = excluded.dirty",
            )?
            .execute(params![d.doc_id, encode_heads(&server_heads), dirty])?;
        }
        set_meta(&tx, "sync_cursor", response.cursor.to_string().as_bytes())?;
        tx.commit()?;
        w.hlc = hlc;
        Ok((changed, change))
    }
}
