//! The sync protocol's messages and their binary layout.
//! `docs/sync-protocol.md` describes the same layout for other implementers.
//!
//! One `POST /v1/sync` carries a [`SyncRequest`] — the changes the server
//! lacks for every document the device changed — and returns a
//! [`SyncResponse`] — the documents in the device's scope that changed since
//! its cursor. Both are a magic, a version and a message type, then fields
//! in a fixed order:
//!
//! ```text
//! message  = magic "WGSY" · version:uint · type:u8 · body
//! request  = request_id:16 bytes · cursor:uint · max_docs:uint · n:uint · push_doc{n}
//! push_doc = doc_id:str · kind:u8 · heads · changes:bytes
//! response = cursor:uint · flags:u8 · n:uint · accepted{n} · r:uint · doc_id:str{r} · m:uint · pull_doc{m}
//! accepted = doc_id:str · heads
//! pull_doc = doc_id:str · kind:u8 · heads · document:bytes
//! heads    = n:uint · hash:32 bytes{n}
//! flags    = bit 0: more · bit 1: reset · bit 2: refused · other bits 0
//! refused  = k:uint · (doc_id:str · code:str · message:str){k}   (only when bit 2 is set, at the end)
//! uint     = unsigned LEB128;  str, bytes = uint length · content
//! ```
//!
//! The flags byte was a plain `more` byte (0 or 1) before the reset flag
//! existed, so a device of this version understands every older server of
//! protocol version 1 unchanged. A decoder refuses a flag it does not know
//! rather than ignore an instruction from a newer server.
//!
//! The `refused` section (the server checked a pushed document against the
//! authority rules and stored nothing of it) follows the pulled documents
//! and is present only when flag bit 2 is set. An older device that meets
//! it refuses the unknown flag and says "update the app", which is the
//! right outcome: it could not keep and show a refused document anyway. A
//! response without refusals is byte for byte what older devices read.

use automerge::ChangeHash;

use crate::doc::DocKind;
use crate::sync::wire::{Reader, WireError, Writer};

/// First four bytes of every message.
pub const MAGIC: &[u8; 4] = b"WGSY";
/// The protocol version this build speaks.
pub const VERSION: u64 = 1;
/// Most documents one message may carry.
pub const MAX_DOCS: u64 = 50_000;
/// Most heads one document may list.
const MAX_HEADS: u64 = 1024;

const TYPE_REQUEST: u8 = 1;
const TYPE_RESPONSE: u8 = 2;

/// Response flag: more documents wait beyond this batch.
const FLAG_MORE: u8 = 1 << 0;
/// Response flag: the server lost changes it had acknowledged; start over.
const FLAG_RESET: u8 = 1 << 1;
/// Response flag: a `refused` section follows the pulled documents.
const FLAG_REFUSED: u8 = 1 << 2;
/// Every response flag this build knows.
const KNOWN_FLAGS: u8 = FLAG_MORE | FLAG_RESET | FLAG_REFUSED;
/// Longest refusal code or message carried, in bytes.
const MAX_REFUSAL_TEXT: usize = 4096;

/// A document the device pushes: the changes the server may lack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushDoc {
    /// Document id.
    pub doc_id: String,
    /// Document kind.
    pub kind: DocKind,
    /// The device's heads for the document after these changes.
    pub heads: Vec<ChangeHash>,
    /// Automerge changes (a document or incremental chunk).
    pub changes: Vec<u8>,
}

/// A device's sync request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRequest {
    /// Random id of this request, for the server's logs and tracing replays.
    pub request_id: [u8; 16],
    /// The device's position in the server's change feed.
    pub cursor: u64,
    /// Most documents the device wants back in this response.
    pub max_docs: u32,
    /// What the device pushes.
    pub docs: Vec<PushDoc>,
}

/// A pushed document the server has durably merged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Accepted {
    /// Document id.
    pub doc_id: String,
    /// The server's heads after merging.
    pub heads: Vec<ChangeHash>,
}

/// A document the server sends: the whole document, so a device that has
/// just gained it (a case dispatched to its team) receives its full history.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PullDoc {
    /// Document id.
    pub doc_id: String,
    /// Document kind.
    pub kind: DocKind,
    /// The server's heads for the document.
    pub heads: Vec<ChangeHash>,
    /// The compacted document.
    pub document: Vec<u8>,
}

/// A pushed document the server refused: it stored nothing of it. The device
/// keeps the document, marks it refused and shows why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused {
    /// Document id.
    pub doc_id: String,
    /// Stable machine code of the rule it broke (see `docs/sync-protocol.md`).
    pub code: String,
    /// What was wrong, for people.
    pub message: String,
}

/// The server's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncResponse {
    /// The device's new cursor.
    pub cursor: u64,
    /// More documents wait beyond this batch: sync again at once.
    pub more: bool,
    /// The server has lost changes it had acknowledged to this device (its
    /// database was restored from a backup): it stored nothing of this
    /// request, and the device must forget what it believes the server
    /// holds, go back to cursor 0 and push every document whole. A reset
    /// response carries cursor 0 and no documents.
    pub reset: bool,
    /// The pushed documents now durably on the server.
    pub accepted: Vec<Accepted>,
    /// Pushed documents whose changes build on changes the server does not
    /// have (e.g. its database was restored from a backup): the device must
    /// send them whole.
    pub resend: Vec<String>,
    /// Documents in the device's scope that changed since its cursor.
    pub docs: Vec<PullDoc>,
    /// Pushed documents the server refused under its authority rules; nothing
    /// of them was stored. The rest of the request went through.
    pub refused: Vec<Refused>,
}

fn kind_code(kind: DocKind) -> u8 {
    match kind {
        DocKind::Case => 1,
        DocKind::ZeroReport => 2,
    }
}

fn kind_from(r: &Reader<'_>, code: u8) -> Result<DocKind, WireError> {
    match code {
        1 => Ok(DocKind::Case),
        2 => Ok(DocKind::ZeroReport),
        _ => Err(WireError {
            what: "document kind",
            offset: r.position(),
            problem: "unknown document kind (expected 1 = case or 2 = zero report)",
        }),
    }
}

fn write_heads(w: &mut Writer, heads: &[ChangeHash]) {
    w.uint(heads.len() as u64);
    for h in heads {
        w.raw(&h.0);
    }
}

fn read_heads(r: &mut Reader<'_>) -> Result<Vec<ChangeHash>, WireError> {
    let n = r.len("heads count", MAX_HEADS)?;
    let mut heads = Vec::with_capacity(n);
    for _ in 0..n {
        let b = r.raw(32, "head hash")?;
        let mut h = [0u8; 32];
        h.copy_from_slice(b);
        heads.push(ChangeHash(h));
    }
    Ok(heads)
}

fn header(w: &mut Writer, ty: u8) {
    w.raw(MAGIC).uint(VERSION).raw(&[ty]);
}

fn read_header(r: &mut Reader<'_>, ty: u8) -> Result<(), WireError> {
    let magic = r.raw(4, "magic")?;
    if magic != MAGIC {
        return Err(WireError {
            what: "magic",
            offset: 0,
            problem: "this is not a Wangge sync message",
        });
    }
    let version = r.uint("version")?;
    if version != VERSION {
        return Err(WireError {
            what: "version",
            offset: 4,
            problem: "unsupported protocol version; update the app or the server",
        });
    }
    let t = r.raw(1, "message type")?[0];
    if t != ty {
        return Err(WireError {
            what: "message type",
            offset: 5,
            problem: "unexpected message type",
        });
    }
    Ok(())
}

/// At most [`MAX_REFUSAL_TEXT`] bytes of `text`, cut at a character boundary.
fn truncate(text: &str) -> &str {
    if text.len() <= MAX_REFUSAL_TEXT {
        return text;
    }
    let mut end = MAX_REFUSAL_TEXT;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

fn read_kind(r: &mut Reader<'_>) -> Result<DocKind, WireError> {
    let code = r.raw(1, "document kind")?[0];
    kind_from(r, code)
}

impl SyncRequest {
    /// Encodes the request.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        header(&mut w, TYPE_REQUEST);
        w.raw(&self.request_id)
            .uint(self.cursor)
            .uint(u64::from(self.max_docs))
            .uint(self.docs.len() as u64);
        for d in &self.docs {
            w.str(&d.doc_id).raw(&[kind_code(d.kind)]);
            write_heads(&mut w, &d.heads);
            w.bytes(&d.changes);
        }
        w.finish()
    }

    /// Decodes a request, refusing anything malformed or truncated.
    pub fn decode(buf: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(buf);
        read_header(&mut r, TYPE_REQUEST)?;
        let mut request_id = [0u8; 16];
        request_id.copy_from_slice(r.raw(16, "request id")?);
        let cursor = r.uint("cursor")?;
        let max_docs = r.len("max docs", u64::from(u32::MAX))? as u32;
        let n = r.len("document count", MAX_DOCS)?;
        let mut docs = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            let doc_id = r.str("document id")?.to_owned();
            let kind = read_kind(&mut r)?;
            let heads = read_heads(&mut r)?;
            let changes = r.bytes("changes")?.to_vec();
            docs.push(PushDoc {
                doc_id,
                kind,
                heads,
                changes,
            });
        }
        r.finish("request")?;
        Ok(SyncRequest {
            request_id,
            cursor,
            max_docs,
            docs,
        })
    }
}

impl SyncResponse {
    /// Encodes the response.
    pub fn encode(&self) -> Vec<u8> {
        let mut w = Writer::new();
        header(&mut w, TYPE_RESPONSE);
        let mut flags = 0;
        if self.more {
            flags |= FLAG_MORE;
        }
        if self.reset {
            flags |= FLAG_RESET;
        }
        if !self.refused.is_empty() {
            flags |= FLAG_REFUSED;
        }
        w.uint(self.cursor)
            .raw(&[flags])
            .uint(self.accepted.len() as u64);
        for a in &self.accepted {
            w.str(&a.doc_id);
            write_heads(&mut w, &a.heads);
        }
        w.uint(self.resend.len() as u64);
        for id in &self.resend {
            w.str(id);
        }
        w.uint(self.docs.len() as u64);
        for d in &self.docs {
            w.str(&d.doc_id).raw(&[kind_code(d.kind)]);
            write_heads(&mut w, &d.heads);
            w.bytes(&d.document);
        }
        if !self.refused.is_empty() {
            w.uint(self.refused.len() as u64);
            for f in &self.refused {
                w.str(&f.doc_id)
                    .str(truncate(&f.code))
                    .str(truncate(&f.message));
            }
        }
        w.finish()
    }

    /// Decodes a response, refusing anything malformed or truncated.
    pub fn decode(buf: &[u8]) -> Result<Self, WireError> {
        let mut r = Reader::new(buf);
        read_header(&mut r, TYPE_RESPONSE)?;
        let cursor = r.uint("cursor")?;
        let flags = r.raw(1, "flags")?[0];
        if flags & !KNOWN_FLAGS != 0 {
            return Err(WireError {
                what: "flags",
                offset: r.position() - 1,
                problem: "unknown response flag (this build knows 1 = more, 2 = reset, 4 = refused); update the app",
            });
        }
        let n = r.len("accepted count", MAX_DOCS)?;
        let mut accepted = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            let doc_id = r.str("document id")?.to_owned();
            let heads = read_heads(&mut r)?;
            accepted.push(Accepted { doc_id, heads });
        }
        let r_count = r.len("resend count", MAX_DOCS)?;
        let mut resend = Vec::with_capacity(r_count.min(1024));
        for _ in 0..r_count {
            resend.push(r.str("document id")?.to_owned());
        }
        let m = r.len("document count", MAX_DOCS)?;
        let mut docs = Vec::with_capacity(m.min(1024));
        for _ in 0..m {
            let doc_id = r.str("document id")?.to_owned();
            let kind = read_kind(&mut r)?;
            let heads = read_heads(&mut r)?;
            let document = r.bytes("document")?.to_vec();
            docs.push(PullDoc {
                doc_id,
                kind,
                heads,
                document,
            });
        }
        let mut refused = Vec::new();
        if flags & FLAG_REFUSED != 0 {
            let k = r.len("refused count", MAX_DOCS)?;
            refused.reserve(k.min(1024));
            for _ in 0..k {
                refused.push(Refused {
                    doc_id: r.str("document id")?.to_owned(),
                    code: r.str("refusal code")?.to_owned(),
                    message: r.str("refusal message")?.to_owned(),
                });
            }
        }
        r.finish("response")?;
        Ok(SyncResponse {
            cursor,
            more: flags & FLAG_MORE != 0,
            reset: flags & FLAG_RESET != 0,
            accepted,
            resend,
            docs,
            refused,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample_request() -> SyncRequest {
        SyncRequest {
            request_id: [7; 16],
            cursor: 42,
            max_docs: 500,
            docs: vec![PushDoc {
                doc_id: "0190f5a2-7c3e-7d41-9b7e-3f0c2a1d4e5f".into(),
                kind: DocKind::Case,
                heads: vec![ChangeHash([1; 32]), ChangeHash([2; 32])],
                changes: vec![0x85, 0x6f, 0x4a, 0x83, 1, 2, 3],
            }],
        }
    }

    #[test]
    fn messages_round_trip() {
        let req = sample_request();
        assert_eq!(SyncRequest::decode(&req.encode()).unwrap(), req);
        let resp = SyncResponse {
            cursor: 99,
            more: true,
            reset: false,
            accepted: vec![Accepted {
                doc_id: "a".into(),
                heads: vec![ChangeHash([3; 32])],
            }],
            resend: vec!["b".into()],
            docs: vec![PullDoc {
                doc_id: "zr:XT-W01:2026-03-02".into(),
                kind: DocKind::ZeroReport,
                heads: vec![],
                document: vec![9; 100],
            }],
            refused: vec![Refused {
                doc_id: "c".into(),
                code: "wrong_author".into(),
                message: "事件的作者不是本设备的人员".into(),
            }],
        };
        let buf = resp.encode();
        assert_eq!(SyncResponse::decode(&buf).unwrap(), resp);
        for cut in 0..buf.len() {
            assert!(SyncResponse::decode(&buf[..cut]).is_err(), "cut at {cut}");
        }
    }

    #[test]
    fn every_truncation_and_bad_header_is_refused() {
        let buf = sample_request().encode();
        for cut in 0..buf.len() {
            assert!(SyncRequest::decode(&buf[..cut]).is_err(), "cut at {cut}");
        }
        let mut extra = buf.clone();
        extra.push(0);
        assert!(SyncRequest::decode(&extra).is_err());
        let mut bad_magic = buf.clone();
        bad_magic[0] = b'X';
        assert!(
            SyncRequest::decode(&bad_magic)
                .unwrap_err()
                .to_string()
                .contains("not a Wangge")
        );
        let mut bad_kind = buf.clone();
        let pos = 4 + 1 + 1 + 16 + 1 + 2 + 1 + 1 + 36;
        assert_eq!(bad_kind[pos], 1);
        bad_kind[pos] = 9;
        assert!(
            SyncRequest::decode(&bad_kind)
                .unwrap_err()
                .to_string()
                .contains("kind")
        );
        assert!(
            SyncResponse::decode(&buf).is_err(),
            "a request is not a response"
        );
    }

    fn empty_response(more: bool, reset: bool) -> SyncResponse {
        SyncResponse {
            cursor: 0,
            more,
            reset,
            accepted: vec![],
            resend: vec![],
            docs: vec![],
            refused: vec![],
        }
    }

    /// Offset of the flags byte in a response with cursor 0: magic, version,
    /// type, cursor.
    const FLAGS_AT: usize = 4 + 1 + 1 + 1;

    #[test]
    fn the_flags_byte_carries_more_and_reset() {
        for (more, reset, byte) in [
            (false, false, 0u8),
            (true, false, 1),
            (false, true, 2),
            (true, true, 3),
        ] {
            let resp = empty_response(more, reset);
            let buf = resp.encode();
            assert_eq!(buf[FLAGS_AT], byte, "more={more} reset={reset}");
            assert_eq!(SyncResponse::decode(&buf).unwrap(), resp);
        }
    }

    #[test]
    fn an_old_servers_more_byte_still_decodes() {
        // Before the reset flag, the byte was `more` as 0 or 1.
        let mut buf = empty_response(false, false).encode();
        buf[FLAGS_AT] = 1;
        let resp = SyncResponse::decode(&buf).unwrap();
        assert!(resp.more && !resp.reset);
    }

    #[test]
    fn unknown_flag_bits_are_refused() {
        for bit in 3..8 {
            let mut buf = empty_response(true, true).encode();
            buf[FLAGS_AT] |= 1 << bit;
            let err = SyncResponse::decode(&buf).unwrap_err();
            assert_eq!(err.what, "flags");
            assert_eq!(err.offset, FLAGS_AT);
            assert!(err.to_string().contains("unknown response flag"), "{err}");
        }
    }
}
