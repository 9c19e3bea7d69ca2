//! Document storage: each Automerge document is a sequence of chunks — a
//! snapshot followed by the incremental changes written since. Appending a
//! small chunk per write keeps each write cheap (no rewrite of the whole
//! document); once a document has [`COMPACT_AFTER`] chunks they are replaced
//! by one compacted snapshot, in the same transaction, so loading stays fast.

use automerge::ActorId;
use rusqlite::{Connection, OptionalExtension, params};

use crate::doc::{DocKind, EventDoc};
use crate::error::{Error, Result};

/// Chunks a document may accumulate before it is compacted.
pub const COMPACT_AFTER: i64 = 16;

/// Reads a document's kind and its chunks, concatenated; `None` if absent.
pub(crate) fn read_bytes(conn: &Connection, doc_id: &str) -> Result<Option<(DocKind, Vec<u8>)>> {
    let kind: Option<String> = conn
        .query_row(
            "SELECT kind FROM documents WHERE doc_id = ?1",
            [doc_id],
            |r| r.get(0),
        )
        .optional()?;
    let Some(kind) = kind else { return Ok(None) };
    let kind = DocKind::parse(&kind).ok_or_else(|| Error::CorruptDocument {
        doc_id: doc_id.to_owned(),
        reason: format!("unknown kind '{kind}' in the documents table"),
    })?;
    let mut stmt =
        conn.prepare_cached("SELECT data FROM doc_chunks WHERE doc_id = ?1 ORDER BY id")?;
    let mut rows = stmt.query([doc_id])?;
    let mut bytes = Vec::new();
    while let Some(row) = rows.next()? {
        bytes.extend_from_slice(row.get_ref(0)?.as_blob().map_err(rusqlite::Error::from)?);
    }
    Ok(Some((kind, bytes)))
}

/// Loads a stored document; `None` if absent.
pub(crate) fn load(
    conn: &Connection,
    doc_id: &str,
    actor: &ActorId,
) -> Result<Option<(DocKind, EventDoc)>> {
    match read_bytes(conn, doc_id)? {
        None => Ok(None),
        Some((kind, bytes)) => Ok(Some((kind, EventDoc::load(doc_id, &bytes, actor)?))),
    }
}

/// Stores a new document as its first snapshot.
pub(crate) fn insert(conn: &Connection, doc: &EventDoc, kind: DocKind, now_ms: i64) -> Result<()> {
    let bytes = doc.save();
    conn.prepare_cached(
        "INSERT INTO documents (doc_id, kind, created_at, updated_at, chunk_count, byte_size)
         VALUES (?1, ?2, ?3, ?3, 1, ?4)",
    )?
    .execute(params![doc.id(), kind.as_str(), now_ms, bytes.len() as i64])?;
    conn.prepare_cached("INSERT INTO doc_chunks (doc_id, data) VALUES (?1, ?2)")?
        .execute(params![doc.id(), bytes])?;
    Ok(())
}

/// Appends the changes `doc` has beyond `old_heads`, compacting when the
/// document has accumulated enough chunks.
pub(crate) fn append(
    conn: &Connection,
    doc: &EventDoc,
    old_heads: &[automerge::ChangeHash],
    now_ms: i64,
) -> Result<()> {
    let (chunks, size): (i64, i64) = conn.query_row(
        "SELECT chunk_count, byte_size FROM documents WHERE doc_id = ?1",
        [doc.id()],
        |r| Ok((r.get(0)?, r.get(1)?)),
    )?;
    if chunks + 1 > COMPACT_AFTER {
        let snapshot = doc.save();
        conn.prepare_cached("DELETE FROM doc_chunks WHERE doc_id = ?1")?
            .execute([doc.id()])?;
        conn.prepare_cached("INSERT INTO doc_chunks (doc_id, data) VALUES (?1, ?2)")?
            .execute(params![doc.id(), snapshot])?;
        conn.prepare_cached(
            "UPDATE documents SET chunk_count = 1, byte_size = ?2, updated_at = ?3 WHERE doc_id = ?1",
        )?
        .execute(params![doc.id(), snapshot.len() as i64, now_ms])?;
    } else {
        let chunk = doc.save_after(old_heads);
        conn.prepare_cached("INSERT INTO doc_chunks (doc_id, data) VALUES (?1, ?2)")?
            .execute(params![doc.id(), chunk])?;
        conn.prepare_cached(
            "UPDATE documents SET chunk_count = ?2, byte_size = ?3, updated_at = ?4 WHERE doc_id = ?1",
        )?
        .execute(params![doc.id(), chunks + 1, size + chunk.len() as i64, now_ms])?;
    }
    Ok(())
}

/// Every stored document id of a kind.
pub(crate) fn ids(conn: &Connection, kind: DocKind) -> Result<Vec<String>> {
    let mut stmt = conn.prepare("SELECT doc_id FROM documents WHERE kind = ?1 ORDER BY doc_id")?;
    let ids = stmt
        .query_map([kind.as_str()], |r| r.get(0))?
        .collect::<rusqlite::Result<Vec<String>>>()?;
    Ok(ids)
}
