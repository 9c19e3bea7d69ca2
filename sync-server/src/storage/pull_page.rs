//! One page of a pull: which rows of the feed a response carries, and the cursor and `more`
//! it answers with. Both backends read the rows (`seq > cursor`, in the device's scope,
//! in `seq` order, at most [`PullPage::rows_to_read`]) and offer them here one by one, so
//! the paging rules are written once.

use wangge_core::doc::DocKind;
use wangge_core::sync::protocol::{Accepted, PullDoc, Refused, SyncResponse};

use crate::docs::decode_heads;
use crate::storage::StorageResult;
use crate::storage::in_step::InStep;

/// Most documents one response carries, whatever the device asks.
pub(crate) const MAX_PULL_DOCS: u32 = 5000;
/// About how many document bytes one response carries.
pub(crate) const MAX_PULL_BYTES: usize = 8 << 20;

/// A page being filled from the rows of the feed.
pub(crate) struct PullPage<'a> {
    in_step: &'a InStep,
    /// The documents the device asked for at most (`max_docs`, within bounds).
    limit: usize,
    docs: Vec<PullDoc>,
    bytes: usize,
    /// Rows offered, sent or skipped.
    seen: usize,
    last_seq: u64,
    /// The page ended early: full of documents or of bytes.
    full: bool,
}

impl<'a> PullPage<'a> {
    /// A page after `cursor` of at most `max_docs` documents, leaving out what `in_step`
    /// says the device holds.
    pub(crate) fn new(cursor: u64, max_docs: u32, in_step: &'a InStep) -> Self {
        PullPage {
            in_step,
            limit: max_docs.clamp(1, MAX_PULL_DOCS) as usize,
            docs: Vec::new(),
            bytes: 0,
            seen: 0,
            last_seq: cursor,
            full: false,
        }
    }

    /// How many rows the backend reads at most: the page, plus one for each document that
    /// may be left out, so that skipped documents do not make the page come back short
    /// (an empty page with `more = 1` would cost the device a round trip for nothing).
    pub(crate) fn rows_to_read(&self) -> i64 {
        (self.limit + self.in_step.len()) as i64
    }

    /// Offers the next row: its `seq`, id and heads (encoded); `body` reads its kind and
    /// bytes, only when the document is sent. Returns whether the page is full (stop
    /// reading).
    pub(crate) fn offer(
        &mut self,
        seq: u64,
        doc_id: String,
        heads: Vec<u8>,
        body: impl FnOnce() -> StorageResult<(DocKind, Vec<u8>)>,
    ) -> StorageResult<bool> {
        self.seen += 1;
        self.last_seq = seq;
        if self.in_step.holds(&doc_id, &heads) {
            return Ok(false);
        }
        let (kind, document) = body()?;
        self.bytes += document.len();
        self.docs.push(PullDoc {
            doc_id,
            kind,
            heads: decode_heads(&heads),
            document,
        });
        self.full = self.bytes >= MAX_PULL_BYTES || self.docs.len() == self.limit;
        Ok(self.full)
    }

    /// The response: this page, and either the cursor of its last row (`more = 1`) or, when
    /// the rows ran out, the feed's end `feed_end`, so a device whose scope saw nothing new
    /// does not rescan foreign changes next time.
    pub(crate) fn respond(
        self,
        feed_end: u64,
        accepted: Vec<Accepted>,
        resend: Vec<String>,
        refused: Vec<Refused>,
    ) -> SyncResponse {
        let more = self.full || self.seen as i64 == self.rows_to_read();
        SyncResponse {
            cursor: if more { self.last_seq } else { feed_end },
            more,
            reset: false,
            accepted,
            resend,
            docs: self.docs,
            refused,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn body() -> StorageResult<(DocKind, Vec<u8>)> {
        Ok((DocKind::Case, vec![0; 10]))
    }

    #[test]
    fn skipped_rows_do_not_shorten_the_page() {
        let mut in_step = InStep::default();
        in_step.pushed("own", vec![1]);
        let mut page = PullPage::new(4, 2, &in_step);
        assert_eq!(page.rows_to_read(), 3);
        assert!(!page.offer(5, "a".into(), vec![9], body).unwrap());
        assert!(!page.offer(6, "own".into(), vec![1], body).unwrap());
        assert!(
            page.offer(7, "b".into(), vec![9], body).unwrap(),
            "two sent: full"
        );
        let response = page.respond(20, Vec::new(), Vec::new(), Vec::new());
        assert!(response.more);
        assert_eq!(response.cursor, 7);
        assert_eq!(response.docs.len(), 2);
    }

    #[test]
    fn rows_running_out_end_the_pull_at_the_feeds_end() {
        let mut in_step = InStep::default();
        in_step.pushed("own", vec![1]);
        let mut page = PullPage::new(4, 2, &in_step);
        assert!(!page.offer(5, "own".into(), vec![1], body).unwrap());
        assert!(!page.offer(6, "a".into(), vec![9], body).unwrap());
        let response = page.respond(20, Vec::new(), Vec::new(), Vec::new());
        assert!(!response.more);
        assert_eq!(response.cursor, 20);
    }
}
