//! The reads a screen makes in one call: a case with its photos, evidence
//! and sync state (the detail screen), and a case list with each case's sync
//! state (a list's badges), each read in one read transaction so that what
//! they show belongs together.

use std::collections::HashMap;

use rusqlite::{Connection, OptionalExtension};

use crate::case::CaseRecord;
use crate::doc::DocKind;
use crate::error::{Error, Result};
use crate::ids::CaseId;
use crate::photo::{EvidencePolicy, PhotoEvidence, case_photo_evidence};
use crate::store::photos::{PhotoPart, read_blob};
use crate::store::query::{CaseQuery, CaseSummary};
use crate::store::{DocRefusal, Store, SyncStatus, docs, projection};

/// How far the photos taken on this device for one document (a case with its events, or a
/// zero report) have reached the server: "photos 1 of 2 on the server".
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PhotoUploads {
    /// Photos of the document imported on this device (photos taken on other devices are
    /// theirs to upload and are not counted).
    pub taken_here: u32,
    /// Of those, the ones the server holds whole (photo and thumbnail).
    pub on_server: u32,
    /// Of those, the ones whose thumbnail the server holds (the centre sees a preview).
    pub thumbnails_on_server: u32,
}

/// Where one document stands with the server: acknowledged, pending, refused (and why), and
/// its photos' uploads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocSync {
    /// On the server, pending, refused.
    pub status: SyncStatus,
    /// Why the server refused it; `None` unless `status.refused`.
    pub refusal: Option<DocRefusal>,
    /// Its photos taken here, and how many reached the server.
    pub photos: PhotoUploads,
}

/// Where a photo of a case stands with the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "uniffi", derive(uniffi::Enum))]
pub enum PhotoUpload {
    /// Taken here; the server holds the photo and its thumbnail.
    OnServer,
    /// Taken here; the server holds the thumbnail, the full photo is still to go.
    ThumbnailOnServer,
    /// Taken here; nothing of it is on the server yet.
    Waiting,
    /// Taken on another device, which uploads it.
    OtherDevice,
}

/// One photo of a case as the detail screen shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct CasePhoto {
    /// The photo, when it was attached, and what a supervisor should look at.
    pub evidence: PhotoEvidence,
    /// Its thumbnail, if this device holds it (a photo of another device's arrives with a
    /// sync).
    pub thumbnail: Option<Vec<u8>>,
    /// Where it stands with the server.
    pub upload: PhotoUpload,
}

/// A case with everything its detail screen shows, read at one moment.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseDetail {
    /// The case: header, timeline, derived state.
    pub record: CaseRecord,
    /// Its photos, the report's first, each once.
    pub photos: Vec<CasePhoto>,
    /// Where it stands with the server.
    pub sync: DocSync,
}

/// The sync state of the documents among `doc_ids` that the store holds, by id.
fn doc_syncs(conn: &Connection, doc_ids: &[&str]) -> Result<HashMap<String, DocSync>> {
    let ids = serde_json::to_string(doc_ids)
        .map_err(|e| Error::invalid("document ids", e.to_string()))?;
    let mut stmt = conn.prepare_cached(
        "SELECT s.doc_id, s.on_server, s.dirty, s.refused_code, s.refused_message, s.refused_at,
             count(p.sha256), coalesce(sum(p.photo_uploaded AND p.thumb_uploaded), 0),
             coalesce(sum(p.thumb_uploaded), 0)
         FROM sync_state s
         LEFT JOIN photo_refs r ON r.doc_id = s.doc_id
         LEFT JOIN photos p ON p.sha256 = r.sha256
         WHERE s.doc_id IN (SELECT value FROM json_each(?1))
         GROUP BY s.doc_id",
    )?;
    let rows = stmt.query_map([ids], |r| {
        let doc_id: String = r.get(0)?;
        let code: Option<String> = r.get(3)?;
        let refusal = match code {
            Some(code) => Some(DocRefusal {
                doc_id: doc_id.clone(),
                code,
                message: r.get::<_, Option<String>>(4)?.unwrap_or_default(),
                at_ms: r.get::<_, Option<i64>>(5)?.unwrap_or(0),
            }),
            None => None,
        };
        let count = |i: usize| -> rusqlite::Result<u32> {
            Ok(u32::try_from(r.get::<_, i64>(i)?).unwrap_or(0))
        };
        let sync = DocSync {
            status: SyncStatus {
                on_server: r.get(1)?,
                pending: r.get(2)?,
                refused: refusal.is_some(),
            },
            refusal,
            photos: PhotoUploads {
                taken_here: count(6)?,
                on_server: count(7)?,
                thumbnails_on_server: count(8)?,
            },
        };
        Ok((doc_id, sync))
    })?;
    Ok(rows.collect::<rusqlite::Result<HashMap<_, _>>>()?)
}

/// Where a photo stands with the server, by the `photos` table of the photos imported here.
fn photo_upload(conn: &Connection, sha256: &str) -> Result<PhotoUpload> {
    let row: Option<(bool, bool)> = conn
        .prepare_cached("SELECT photo_uploaded, thumb_uploaded FROM photos WHERE sha256 = ?1")?
        .query_row([sha256], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    Ok(match row {
        None => PhotoUpload::OtherDevice,
        Some((true, true)) => PhotoUpload::OnServer,
        Some((_, true)) => PhotoUpload::ThumbnailOnServer,
        Some(_) => PhotoUpload::Waiting,
    })
}

impl Store {
    /// Where a document (a case id, or a zero report's `zr:<workstation>:<day>`) stands
    /// with the server, with the reason of a refusal and its photos' uploads, in one read.
    /// `None` for a document this store does not hold.
    pub fn doc_sync(&self, doc_id: &str) -> Result<Option<DocSync>> {
        Ok(doc_syncs(&self.reader(), &[doc_id])?.remove(doc_id))
    }

    /// A case list ([`Store::cases`]) with each case's sync state, read in one transaction:
    /// a list's badges without one call per case.
    pub fn cases_with_sync(&self, query: &CaseQuery) -> Result<Vec<(CaseSummary, DocSync)>> {
        let conn = self.reader();
        let tx = conn.unchecked_transaction()?;
        let cases = super::query::cases(&tx, query, self.clock.now_ms())?;
        let ids: Vec<&str> = cases.iter().map(|c| c.id.as_str()).collect();
        let mut syncs = doc_syncs(&tx, &ids)?;
        tx.commit()?;
        Ok(cases
            .into_iter()
            .map(|c| {
                // Every stored case has a sync-state row; one without (written by a version
                // that kept none) is only on this device.
                let sync = syncs.remove(&c.id).unwrap_or(DocSync {
                    status: SyncStatus {
                        on_server: false,
                        pending: true,
                        refused: false,
                    },
                    refusal: None,
                    photos: PhotoUploads::default(),
                });
                (c, sync)
            })
            .collect())
    }

    /// A case with its timeline, its photos (thumbnail, evidence flags, upload state) and
    /// where it stands with the server, read in one transaction: what a detail screen shows.
    /// Fails with [`Error::CaseNotFound`].
    pub fn case_detail(&self, case: CaseId) -> Result<CaseDetail> {
        let conn = self.reader();
        let tx = conn.unchecked_transaction()?;
        let doc_id = case.to_string();
        let record = match docs::load(&tx, &doc_id, &self.actor)? {
            Some((DocKind::Case, doc)) => {
                let (header, events, state) = projection::case_of(&doc, &self.catalog())?;
                CaseRecord {
                    header,
                    events,
                    state,
                }
            }
            _ => return Err(Error::CaseNotFound(doc_id)),
        };
        let mut photos = Vec::new();
        for evidence in case_photo_evidence(&record, &EvidencePolicy::default()) {
            let sha = evidence.photo.sha256.clone();
            photos.push(CasePhoto {
                thumbnail: read_blob(&tx, PhotoPart::Thumbnail, &sha)?,
                upload: photo_upload(&tx, &sha)?,
                evidence,
            });
        }
        let sync = doc_syncs(&tx, &[doc_id.as_str()])?
            .remove(&doc_id)
            .ok_or_else(|| Error::CaseNotFound(doc_id.clone()))?;
        tx.commit()?;
        Ok(CaseDetail {
            record,
            photos,
            sync,
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::photo::PhotoOptions;
    use crate::{Actor, Catalog, DeviceId, GpsFix, ManualClock, NewCase, Role};

    fn store(dir: &std::path::Path) -> Store {
        Store::open(
            dir.join("s.sqlite3"),
            DeviceId::generate(),
            Arc::new(Catalog::demo().unwrap()),
            Arc::new(ManualClock::new(1_772_413_200_000)),
        )
        .unwrap()
    }

    fn jpeg(seed: u8) -> Vec<u8> {
        let img = image::RgbImage::from_fn(64, 48, |x, y| {
            image::Rgb([(x * 4) as u8 ^ seed, (y * 5) as u8, seed])
        });
        let mut out = Vec::new();
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90)
            .encode_image(&img)
            .unwrap();
        out
    }

    #[test]
    fn the_detail_and_the_list_say_how_far_the_photos_taken_here_got() {
        let dir = tempfile::tempdir().unwrap();
        let s = store(dir.path());
        let officer = Actor {
            id: "officer-017".into(),
            role: Role::GridOfficer,
            unit: None,
            device: s.device(),
        };
        let p1 = s.import_photo(&jpeg(1), &PhotoOptions::default()).unwrap();
        let p2 = s.import_photo(&jpeg(2), &PhotoOptions::default()).unwrap();
        let mut new = NewCase::from_handheld(
            "A02-001",
            "流动摊贩",
            GpsFix {
                lat: 31.199_147_7,
                lon: 121.427_325_5,
                accuracy_m: 5.0,
                fix_time_ms: s.now_ms(),
            },
        );
        new.photos = vec![p1.clone(), p2.clone()];
        let id = s.record_case(&officer, new).unwrap();

        let uploads = |s: &Store| {
            s.case_detail(id)
                .unwrap()
                .photos
                .iter()
                .map(|p| p.upload)
                .collect::<Vec<_>>()
        };
        assert_eq!(uploads(&s), [PhotoUpload::Waiting, PhotoUpload::Waiting]);
        s.mark_uploaded(&p1.sha256, PhotoPart::Thumbnail).unwrap();
        assert_eq!(
            uploads(&s),
            [PhotoUpload::ThumbnailOnServer, PhotoUpload::Waiting]
        );
        s.mark_uploaded(&p1.sha256, PhotoPart::Photo).unwrap();
        assert_eq!(uploads(&s), [PhotoUpload::OnServer, PhotoUpload::Waiting]);

        let detail = s.case_detail(id).unwrap();
        assert_eq!(detail.record, s.case(id).unwrap());
        assert!(detail.photos.iter().all(|p| p.thumbnail.is_some()));
        let expected = PhotoUploads {
            taken_here: 2,
            on_server: 1,
            thumbnails_on_server: 1,
        };
        assert_eq!(detail.sync.photos, expected);
        assert!(detail.sync.status.pending && !detail.sync.status.on_server);

        let list = s.cases_with_sync(&CaseQuery::default()).unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].1, detail.sync, "the list says what the detail says");
        assert_eq!(s.doc_sync(&id.to_string()).unwrap(), Some(detail.sync));
        assert_eq!(s.doc_sync("zr:XT-W01:2026-03-02").unwrap(), None);
        assert!(matches!(
            s.case_detail(crate::CaseId::generate()),
            Err(Error::CaseNotFound(_))
        ));
    }
}
