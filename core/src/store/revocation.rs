//! What a revoked device does with the street's data.
//!
//! When the server answers `403 revoked` (the back office ran `wangge-server revoke`: a lost
//! or stolen phone, an officer who left), the device can never sync again with its token. It
//! records the fact (`meta.revocation`, and [`crate::sync::PairedDevice::revoked`]) and wipes
//! from its store everything it holds **only as a copy of the server's**: the cases and zero
//! reports the server acknowledged or sent (other officers' reports, residents' addresses and
//! contacts), the photos and thumbnails of those documents, and the photos imported here that
//! the server holds. A lost phone then reveals none of the street's data.
//!
//! **What is never wiped** is this device's own work the server does not have: a document
//! with changes the server has not acknowledged (pending, or refused under the authority
//! rules), the photos such a document references, and the photos imported here that are not
//! uploaded yet. A revoked device can no longer send them, but they may be the only record of
//! a report: the app shows how many were kept ([`Revocation::kept_documents`],
//! [`Revocation::kept_photos`]) and can export them; pairing the phone again sends them.
//! Deleting a report nobody else holds, because of an administrative action elsewhere, would
//! be a data loss the officer never chose.
//!
//! The wipe is one transaction (a crash leaves the store as before, and the next contact with
//! the server, answered `revoked` again, wipes), with SQLite's `secure_delete` on so that
//! the freed pages are overwritten with zeros, and a WAL checkpoint after it so that no copy of
//! the old pages stays in the write-ahead log. It runs again at every later `revoked` answer,
//! so work recorded on the phone after the revocation and later discarded leaves nothing.
//! Pairing the phone again ([`Store::pair`]) clears the state; the device then reads the
//! server's feed from the start and gets back what its new scope covers.

use rusqlite::TransactionBehavior;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::store::{Store, StoreChange, get_meta, projection, set_meta};

/// The state of a revoked device, as the app shows it ([`Store::revocation`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Revocation {
    /// When the device learnt it was revoked (ms, the store's clock): the first `revoked`
    /// answer.
    pub revoked_at_ms: i64,
    /// When the street's data was last wiped (ms, the store's clock).
    pub wiped_at_ms: i64,
    /// Documents (cases, zero reports) wiped, over every wipe.
    pub wiped_documents: u64,
    /// Documents kept because they hold this device's work the server does not have
    /// (pending or refused changes): they can no longer be sent; export them, or pair the
    /// phone again to send them.
    pub kept_documents: u64,
    /// Photos imported here that the server does not have (or that a kept document
    /// references), kept with them.
    pub kept_photos: u64,
}

impl Revocation {
    /// Nothing of the street's data is left on the device: nothing was kept.
    pub fn fully_wiped(&self) -> bool {
        self.kept_documents == 0 && self.kept_photos == 0
    }
}

/// Documents holding this device's work the server does not have: changes not acknowledged
/// (`dirty`), never acknowledged at all, or refused. A document without a sync row (which
/// every write makes) is kept too: when in doubt, keep.
const OWN_PENDING_DOCS: &str = "SELECT d.doc_id FROM documents d
    LEFT JOIN sync_state s ON s.doc_id = d.doc_id
    WHERE s.doc_id IS NULL OR s.dirty OR NOT s.on_server OR s.refused_code IS NOT NULL";

/// Photos to keep: imported here and not wholly on the server, or referenced by a kept
/// document (its `photo_refs` rows survive the wipe).
const KEPT_PHOTOS: &str = "SELECT sha256 FROM photos WHERE NOT (photo_uploaded AND thumb_uploaded)
    UNION SELECT sha256 FROM photo_refs";

impl Store {
    /// The revocation state of this device: `None` unless the server has answered
    /// `revoked` since it was last paired.
    pub fn revocation(&self) -> Result<Option<Revocation>> {
        Ok(get_meta(&self.reader(), "revocation")?
            .and_then(|json| serde_json::from_str::<Revocation>(&json).ok()))
    }

    /// Records that the server refused this device as revoked, and wipes the street's data
    /// it holds as a copy of the server's, keeping this device's own work the server does
    /// not have (see the module documentation). Returns the state to show. Safe to call
    /// again: each call wipes what is no longer pending.
    pub fn revoked_by_server(&self) -> Result<Revocation> {
        self.mark_revoked()?;
        let now = self.now_ms();
        let state = {
            let mut w = self.writer();
            // Freed pages are overwritten, not left readable in the file.
            w.conn.pragma_update(None, "secure_delete", "ON")?;
            let wiped = self.wipe_in(&mut w.conn, now);
            w.conn.pragma_update(None, "secure_delete", "OFF")?;
            let state = wiped?;
            // The WAL still holds the old pages until a checkpoint copies the new ones back.
            w.conn
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))?;
            state
        };
        self.notify(StoreChange {
            all_cases: true,
            sync_state: true,
            photos: true,
            ..StoreChange::default()
        });
        Ok(state)
    }

    fn wipe_in(&self, conn: &mut rusqlite::Connection, now: i64) -> Result<Revocation> {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let before: Option<Revocation> =
            get_meta(&tx, "revocation")?.and_then(|json| serde_json::from_str(&json).ok());
        tx.execute_batch(&format!(
            "CREATE TEMP TABLE IF NOT EXISTS wipe_keep (doc_id TEXT PRIMARY KEY);
             DELETE FROM temp.wipe_keep;
             INSERT INTO temp.wipe_keep {OWN_PENDING_DOCS};"
        ))?;
        let wiped = tx
            .execute(
                "DELETE FROM doc_chunks WHERE doc_id NOT IN (SELECT doc_id FROM temp.wipe_keep)",
                [],
            )
            .and_then(|_| {
                tx.execute(
                    "DELETE FROM documents WHERE doc_id NOT IN (SELECT doc_id FROM temp.wipe_keep)",
                    [],
                )
            })?;
        tx.execute(
            "DELETE FROM sync_state WHERE doc_id NOT IN (SELECT doc_id FROM temp.wipe_keep)",
            [],
        )?;
        // The projections (case lists, search, photo references) of what is left.
        projection::rebuild(&tx, &self.catalog(), &self.actor)?;
        tx.execute_batch(&format!(
            "DELETE FROM photo_data WHERE sha256 NOT IN ({KEPT_PHOTOS});
             DELETE FROM photo_thumbs WHERE sha256 NOT IN ({KEPT_PHOTOS});
             DELETE FROM photos WHERE sha256 NOT IN ({KEPT_PHOTOS});
             DELETE FROM thumb_misses;
             DROP TABLE temp.wipe_keep;"
        ))?;
        let kept_documents: i64 =
            tx.query_row("SELECT count(*) FROM documents", [], |r| r.get(0))?;
        let kept_photos: i64 = tx.query_row(
            "SELECT count(*) FROM (SELECT sha256 FROM photos UNION SELECT sha256 FROM photo_data
                 UNION SELECT sha256 FROM photo_thumbs)",
            [],
            |r| r.get(0),
        )?;
        // Nothing was acknowledged by this server for what is left: a new pairing reads the
        // feed from the start.
        set_meta(&tx, "sync_cursor", b"0")?;
        let state = Revocation {
            revoked_at_ms: before.map_or(now, |b| b.revoked_at_ms),
            wiped_at_ms: now,
            wiped_documents: before.map_or(0, |b| b.wiped_documents) + wiped as u64,
            kept_documents: kept_documents as u64,
            kept_photos: kept_photos as u64,
        };
        let json = serde_json::to_vec(&state)
            .map_err(|e| Error::invalid("revocation", format!("cannot be stored: {e}")))?;
        set_meta(&tx, "revocation", &json)?;
        tx.commit()?;
        Ok(state)
    }

    /// Forgets a revocation (a new pairing): inside the pairing's transaction.
    pub(crate) fn clear_revocation(conn: &rusqlite::Connection) -> Result<()> {
        conn.prepare_cached("DELETE FROM meta WHERE key = 'revocation'")?
            .execute([])?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::sync::Arc;

    use crate::sync::protocol::{Accepted, Refused, SyncResponse};
    use crate::{Actor, Catalog, DeviceId, GpsFix, ManualClock, NewCase, Role, Store};

    fn answer(accepted: Vec<Accepted>, refused: Vec<Refused>) -> SyncResponse {
        SyncResponse {
            cursor: 3,
            more: false,
            reset: false,
            accepted,
            resend: vec![],
            docs: vec![],
            refused,
        }
    }

    /// Without a server: one case acknowledged, one refused, one pending. The wipe takes the
    /// acknowledged one only; a refused push is this device's work the server does not have.
    #[test]
    fn a_revocation_wipes_what_the_server_acknowledged_and_keeps_refused_and_pending_work() {
        let dir = tempfile::tempdir().unwrap();
        let device = DeviceId::generate();
        let store = Store::open(
            dir.path().join("s.sqlite3"),
            device,
            Arc::new(Catalog::demo().unwrap()),
            Arc::new(ManualClock::new(1_772_413_200_000)),
        )
        .unwrap();
        let officer = Actor {
            id: "officer-017".into(),
            role: Role::GridOfficer,
            unit: None,
            device,
        };
        let record = |text: &str| {
            let fix = GpsFix {
                lat: 31.199_147_7,
                lon: 121.427_325_5,
                accuracy_m: 5.0,
                fix_time_ms: store.now_ms(),
            };
            store
                .record_case(&officer, NewCase::from_handheld("A02-001", text, fix))
                .unwrap()
        };
        let (acked, refused) = (record("送达"), record("被拒"));
        let pushed = store.prepare_push(10, 1 << 20).unwrap();
        let heads = |id: String| {
            pushed
                .iter()
                .find(|p| p.doc.doc_id == id)
                .unwrap()
                .doc
                .heads
                .clone()
        };
        let response = answer(
            vec![Accepted {
                doc_id: acked.to_string(),
                heads: heads(acked.to_string()),
            }],
            vec![Refused {
                doc_id: refused.to_string(),
                code: "wrong_author".into(),
                message: "not yours".into(),
            }],
        );
        store.apply_sync_response(&pushed, &response).unwrap();
        let pending = record("未发送");
        assert_eq!(store.revocation().unwrap(), None);

        let state = store.revoked_by_server().unwrap();
        assert_eq!(
            (
                state.wiped_documents,
                state.kept_documents,
                state.kept_photos
            ),
            (1, 2, 0)
        );
        assert!(!state.fully_wiped());
        assert!(store.case(acked).is_err());
        assert!(store.case(refused).is_ok() && store.case(pending).is_ok());
        assert!(store.refusal(&refused.to_string()).unwrap().is_some());
        assert_eq!(store.sync_cursor().unwrap(), 0);
        assert_eq!(store.revocation().unwrap(), Some(state));
    }
}
