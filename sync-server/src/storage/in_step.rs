//! Which documents a device already holds exactly as the server does, so a pull does not
//! send them back.
//!
//! **Why this is remembered across requests.** A device sizes its rounds to its link
//! (`core/src/sync/pacing.rs`): on 2G the first rounds pull 50 documents while they push
//! 64 KiB. A document the device pushes gets a new place at the end of the feed, and a
//! device that is more than one page behind reaches that place only some rounds later.
//! Leaving out only what was pushed *in the same request* sent a shift's own documents back
//! to the phone that wrote them: 174 KB, about 14 s of 2G, merged as a no-op. So a push that
//! leaves the device in step (its heads after the push are the server's) records the heads
//! the device holds, and later pulls skip the document while the server's heads are still
//! those.
//!
//! **Why it stays small.** An entry is needed only until the device's cursor passes the
//! document's place in the feed. Each entry carries the feed's end when it was recorded
//! (`until_seq`, at or above the document's `seq`); a response whose cursor reaches it
//! deletes the entry. A response that ends the pull (`more = 0`) gives the feed's end as the
//! cursor, so nothing is recorded then and everything recorded is deleted: a device that is
//! not paging through a backlog has no entries at all. A lost response is harmless: the
//! device repeats the round with its older cursor and, if the entries were deleted, merges
//! its own documents as before.
//!
//! **Why it is correct.** An entry says "this device holds every change of the document up
//! to these heads". The device only ever adds to its copy, so the claim stays true; a pull
//! skips the document only while the server's heads are exactly those, and any later change
//! (from anyone) gives new heads, so the document is sent. The one way a device loses what
//! it held is a wipe: a revoked device wipes the street's data, and comes back only through
//! a pairing code, whose re-enrolment deletes the device's entries. (A phone whose store
//! was put back from an older copy must be paired again for the same reason; the app keeps
//! no such copies: Android backup is off in its manifest.)

use std::collections::HashMap;

/// The in-step documents of one sync request: those recorded by earlier requests of the
/// device, and those its push in this request left in step.
#[derive(Debug, Default)]
pub(crate) struct InStep {
    /// Recorded by earlier requests: document id → the heads the device holds (encoded).
    recorded: HashMap<String, Vec<u8>>,
    /// Left in step by this request's push: document id → the heads (encoded).
    pushed: HashMap<String, Vec<u8>>,
}

impl InStep {
    /// Starts from the entries recorded for the device (`(doc_id, heads)` rows).
    pub(crate) fn from_recorded(rows: impl IntoIterator<Item = (String, Vec<u8>)>) -> Self {
        InStep {
            recorded: rows.into_iter().collect(),
            pushed: HashMap::new(),
        }
    }

    /// Notes that this request's push left the device holding `doc_id` at `heads` (encoded
    /// as the `documents.heads` column), the server's heads after the merge.
    pub(crate) fn pushed(&mut self, doc_id: &str, heads: Vec<u8>) {
        self.pushed.insert(doc_id.to_owned(), heads);
    }

    /// Whether a pull may leave out `doc_id`, stored with `heads` (encoded): the device
    /// already holds exactly that.
    pub(crate) fn holds(&self, doc_id: &str, heads: &[u8]) -> bool {
        self.pushed
            .get(doc_id)
            .or_else(|| self.recorded.get(doc_id))
            .is_some_and(|held| held.as_slice() == heads)
    }

    /// How many documents a pull may leave out at most.
    pub(crate) fn len(&self) -> usize {
        self.recorded.len() + self.pushed.len()
    }

    /// Whether the device had entries before this request (so the backend must delete the
    /// ones the response's cursor passes).
    pub(crate) fn had_recorded(&self) -> bool {
        !self.recorded.is_empty()
    }

    /// The entries to record after a response with `cursor`, with the feed's end
    /// `feed_end` after this request's writes: this request's in-step documents, unless the
    /// cursor already passes them (the response ends the pull at the feed's end).
    pub(crate) fn to_record(
        &self,
        cursor: u64,
        feed_end: u64,
    ) -> impl Iterator<Item = (&str, &[u8])> {
        let behind = cursor < feed_end;
        self.pushed
            .iter()
            .filter(move |_| behind)
            .map(|(id, heads)| (id.as_str(), heads.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_only_the_heads_the_device_has() {
        let mut in_step = InStep::from_recorded([("a".to_owned(), vec![1])]);
        in_step.pushed("b", vec![2]);
        assert!(in_step.holds("a", &[1]));
        assert!(!in_step.holds("a", &[9]), "changed since: sent");
        assert!(in_step.holds("b", &[2]));
        assert!(!in_step.holds("c", &[2]));
        // This request's push supersedes an earlier record of the same document.
        in_step.pushed("a", vec![3]);
        assert!(in_step.holds("a", &[3]));
        assert!(!in_step.holds("a", &[1]));
    }

    #[test]
    fn records_only_while_the_device_is_behind() {
        let mut in_step = InStep::default();
        in_step.pushed("b", vec![2]);
        assert_eq!(in_step.to_record(40, 100).count(), 1);
        assert_eq!(in_step.to_record(100, 100).count(), 0);
        assert!(!in_step.had_recorded());
    }
}
