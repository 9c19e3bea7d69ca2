//! Intake at the centre's desk and through Open311 on PostgreSQL: the case document is made
//! by the core's own functions and stored like any other (under the write lock), and beside
//! it the channel's reference, the reporter's contact, the spot of every case (duplicate
//! hints) and the Open311 API keys. A port of `sqlite_intake.rs`, which explains each table
//! (they are in `postgres_schema.rs`).

use automerge::ActorId;
use wangge_core::case::{open_case, sealed_case_document};
use wangge_core::doc::DocKind;
use wangge_core::hlc::HlcClock;
use wangge_core::photo::distance_m;
use wangge_core::{CaseId, Hlc, SourceChannel};

use super::doc_writes::{CaseRef, column};
use super::{PgStorage, Tx};
use crate::docs::decode;
use crate::storage::error::{StorageError, StorageResult};
use crate::storage::intake::{
    ApiKey, DUPLICATE_RADIUS_M, DUPLICATE_WINDOW_MS, DuplicateHint, Intake, IntakeOutcome,
    ReporterContact, RequestFilter,
};

/// Records (or refreshes) where and when each of `cases` was reported, if it has a position:
/// called for every stored case document (by `DocWrites::flush`), so phones' cases are
/// hinted too.
pub(super) fn index_case_spots(tx: &mut Tx<'_>, cases: &[CaseRef<'_>]) -> StorageResult<()> {
    let spots: Vec<_> = cases
        .iter()
        .filter_map(|(header, state)| Some((header.id.to_string(), *state, header.gps.as_ref()?)))
        .collect();
    if spots.is_empty() {
        return Ok(());
    }
    tx.execute(
        "INSERT INTO case_spot (case_id, checklist_item, reported_at, lat, lon)
         SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::float8[], $5::float8[])
         ON CONFLICT (case_id) DO UPDATE SET checklist_item = excluded.checklist_item,
             reported_at = excluded.reported_at, lat = excluded.lat, lon = excluded.lon",
        &[
            &column(&spots, |s| s.0.as_str()),
            &column(&spots, |s| s.1.checklist_item.as_str()),
            &column(&spots, |s| s.1.reported_at),
            &column(&spots, |s| s.2.lat),
            &column(&spots, |s| s.2.lon),
        ],
    )?;
    Ok(())
}

/// The open cases of `item` within [`DUPLICATE_RADIUS_M`] of (`lat`, `lon`) and reported
/// within [`DUPLICATE_WINDOW_MS`] of `at`, other than `except`, nearest first (then by
/// id, so that equally near cases come in one order).
fn hints_near(
    tx: &mut Tx<'_>,
    except: &str,
    item: &str,
    at: i64,
    lat: f64,
    lon: f64,
) -> StorageResult<Vec<DuplicateHint>> {
    // A box a little larger than the circle, walked by the (item, time) index; the exact
    // distance is the core's, as on SQLite (see `sqlite_intake.rs`).
    let dlat = DUPLICATE_RADIUS_M * 1.01 / 111_195.0;
    let dlon = dlat / lat.to_radians().cos().abs().max(0.01);
    let rows = tx.query(
        "SELECT s.case_id, s.lat, s.lon, s.reported_at, v.case_number, v.status, v.grid, v.description
         FROM case_spot s JOIN case_view v ON v.case_id = s.case_id
         WHERE s.checklist_item = $1 AND s.reported_at BETWEEN $2 AND $3
           AND s.lat BETWEEN $4 AND $5 AND s.lon BETWEEN $6 AND $7
           AND v.is_open AND s.case_id <> $8
         ORDER BY s.case_id",
        &[
            &item,
            &at.saturating_sub(DUPLICATE_WINDOW_MS),
            &at.saturating_add(DUPLICATE_WINDOW_MS),
            &(lat - dlat),
            &(lat + dlat),
            &(lon - dlon),
            &(lon + dlon),
            &except,
        ],
    )?;
    let mut hints = Vec::new();
    for r in rows {
        let metres = distance_m(lat, lon, r.try_get(1)?, r.try_get(2)?);
        if metres <= DUPLICATE_RADIUS_M {
            hints.push(DuplicateHint {
                case_id: r.try_get(0)?,
                case_number: r.try_get(4)?,
                status: r.try_get(5)?,
                checklist_item: item.to_owned(),
                distance_m: metres.round(),
                reported_at: r.try_get(3)?,
                grid: r.try_get(6)?,
                description: r.try_get(7)?,
            });
        }
    }
    hints.sort_by(|a, b| a.distance_m.total_cmp(&b.distance_m));
    Ok(hints)
}

/// The duplicate hints of a stored case (none if it has no position).
fn hints_for(tx: &mut Tx<'_>, case_id: &str) -> StorageResult<Vec<DuplicateHint>> {
    let spot = tx.query_opt(
        "SELECT checklist_item, reported_at, lat, lon FROM case_spot WHERE case_id = $1",
        &[&case_id],
    )?;
    match spot {
        Some(r) => {
            let item: String = r.try_get(0)?;
            hints_near(
                tx,
                case_id,
                &item,
                r.try_get(1)?,
                r.try_get(2)?,
                r.try_get(3)?,
            )
        }
        None => Ok(Vec::new()),
    }
}

/// The columns [`api_key_from_row`] reads, in order.
const API_KEY_COLUMNS: &str = "key_id, name, channel, person_id, device_id, created_at, revoked_at";

fn api_key_from_row(r: &postgres::Row) -> StorageResult<ApiKey> {
    let channel: String = r.try_get(2)?;
    Ok(ApiKey {
        key_id: r.try_get(0)?,
        name: r.try_get(1)?,
        // A row's channel was checked when it was written.
        channel: SourceChannel::parse(&channel).map_err(StorageError::internal)?,
        person: r.try_get(3)?,
        device_id: r.try_get(4)?,
        created_at: r.try_get(5)?,
        revoked_at: r.try_get(6)?,
    })
}

impl PgStorage {
    /// See [`crate::storage::Storage::intake_case`]. One write transaction: the reference
    /// check, the document, the reference, the contact and the hints see one state, and a
    /// reference sent twice at once to two instances makes one case (the second waits for
    /// the lock, then finds the first's reference).
    pub(super) fn intake(&self, intake: &Intake, now_ms: i64) -> StorageResult<IntakeOutcome> {
        let channel = intake.new.channel.as_str();
        let made = self.write(|tx| {
            if let Some(reference) = &intake.new.external_ref
                && let Some(r) = tx.query_opt(
                    "SELECT case_id FROM intake_ref WHERE channel = $1 AND reference = $2",
                    &[&channel, reference],
                )?
            {
                return Ok(Err(r.try_get::<_, String>(0)?));
            }
            for photo in &intake.new.photos {
                if tx
                    .query_opt("SELECT 1 FROM photos WHERE sha256 = $1", &[&photo.sha256])?
                    .is_none()
                {
                    return Err(StorageError::PhotoNotUploaded {
                        sha256: photo.sha256.clone(),
                    });
                }
            }
            let id = CaseId::generate();
            let at = HlcClock::resume(Hlc::default()).tick(now_ms);
            let (header, report) =
                open_case(&self.catalog, &intake.by, id, intake.new.clone(), at)?;
            // A fresh Automerge actor and the report sealed with the header: see SQLite's
            // `intake`.
            let doc = sealed_case_document(&header, &report, &ActorId::random(), |text| {
                self.sealer.seal(text)
            })?;
            let decoded = decode(&doc, DocKind::Case, &self.catalog)?;
            let saved = doc.save_verified()?;
            self.store_doc(tx, &doc, &saved, DocKind::Case, &decoded, now_ms)?;
            let case_id = id.to_string();
            if let Some(reference) = &intake.new.external_ref {
                tx.execute(
                    "INSERT INTO intake_ref (channel, reference, case_id) VALUES ($1, $2, $3)",
                    &[&channel, reference, &case_id],
                )?;
            }
            if let Some(contact) = intake.contact.as_ref().filter(|c| !c.is_empty()) {
                let text = serde_json::to_string(contact).map_err(StorageError::internal)?;
                tx.execute(
                    "INSERT INTO reporter_contact (case_id, contact, recorded_at) VALUES ($1, $2, $3)",
                    &[&case_id, &text, &now_ms],
                )?;
            }
            Ok(Ok((doc, hints_for(tx, &case_id)?)))
        })?;
        match made {
            Err(case_id) => Ok(IntakeOutcome::DuplicateReference { case_id }),
            Ok((doc, duplicates)) => Ok(IntakeOutcome::Created {
                case: Box::new(self.case_record(&doc)?),
                duplicates,
            }),
        }
    }

    /// See [`crate::storage::Storage::duplicate_hints`].
    pub(super) fn hints(&self, case_id: &str) -> StorageResult<Vec<DuplicateHint>> {
        self.read(|tx| hints_for(tx, case_id))
    }

    /// See [`crate::storage::Storage::duplicates_near`].
    pub(super) fn hints_at(
        &self,
        item: &str,
        at: i64,
        lat: f64,
        lon: f64,
    ) -> StorageResult<Vec<DuplicateHint>> {
        self.read(|tx| hints_near(tx, "", item, at, lat, lon))
    }

    /// See [`crate::storage::Storage::reporter_contact`].
    pub(super) fn contact(&self, case_id: &str) -> StorageResult<Option<ReporterContact>> {
        let text: Option<String> = self.read(|tx| {
            Ok(tx
                .query_opt(
                    "SELECT contact FROM reporter_contact WHERE case_id = $1",
                    &[&case_id],
                )?
                .map(|r| r.try_get(0))
                .transpose()?)
        })?;
        text.map(|t| serde_json::from_str(&t).map_err(StorageError::internal))
            .transpose()
    }

    /// See [`crate::storage::Storage::erase_reporter_contact`].
    pub(super) fn erase_contact(&self, case_id: &str) -> StorageResult<bool> {
        let n = self.update(|tx| {
            Ok(tx.execute(
                "DELETE FROM reporter_contact WHERE case_id = $1",
                &[&case_id],
            )?)
        })?;
        Ok(n > 0)
    }

    /// See [`crate::storage::Storage::create_api_key`].
    pub(super) fn insert_api_key(&self, key: &ApiKey, key_hash: &[u8]) -> StorageResult<()> {
        self.update(|tx| {
            tx.execute(
                "INSERT INTO api_keys (key_id, key_hash, name, channel, person_id, device_id, created_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &[
                    &key.key_id,
                    &key_hash,
                    &key.name,
                    &key.channel.as_str(),
                    &key.person,
                    &key.device_id,
                    &key.created_at,
                ],
            )?;
            Ok(())
        })
    }

    /// See [`crate::storage::Storage::api_key_by_hash`].
    pub(super) fn find_api_key(&self, key_hash: &[u8]) -> StorageResult<Option<ApiKey>> {
        self.read(|tx| {
            tx.query_opt(
                &format!("SELECT {API_KEY_COLUMNS} FROM api_keys WHERE key_hash = $1"),
                &[&key_hash],
            )?
            .as_ref()
            .map(api_key_from_row)
            .transpose()
        })
    }

    /// See [`crate::storage::Storage::api_keys`].
    pub(super) fn all_api_keys(&self) -> StorageResult<Vec<ApiKey>> {
        self.read(|tx| {
            tx.query(
                &format!("SELECT {API_KEY_COLUMNS} FROM api_keys ORDER BY created_at, key_id"),
                &[],
            )?
            .iter()
            .map(api_key_from_row)
            .collect()
        })
    }

    /// See [`crate::storage::Storage::revoke_api_key`].
    pub(super) fn revoke_key(&self, key_id: &str, now_ms: i64) -> StorageResult<bool> {
        let n = self.update(|tx| {
            Ok(tx.execute(
                "UPDATE api_keys SET revoked_at = coalesce(revoked_at, $2) WHERE key_id = $1",
                &[&key_id, &now_ms],
            )?)
        })?;
        Ok(n > 0)
    }

    /// See [`crate::storage::Storage::request_ids`]. An empty list filters nothing, as on
    /// SQLite.
    pub(super) fn request_ids_matching(
        &self,
        filter: &RequestFilter,
    ) -> StorageResult<Vec<String>> {
        self.read(|tx| {
            tx.query(
                "SELECT case_id FROM case_view
                 WHERE ($1::text IS NULL OR channel = $1::text)
                   AND (cardinality($2::text[]) = 0 OR case_id = ANY($2::text[]))
                   AND (cardinality($3::text[]) = 0 OR checklist_item = ANY($3::text[]))
                   AND ($4::boolean IS NULL OR is_open = $4::boolean)
                   AND reported_at BETWEEN $5 AND $6
                 ORDER BY reported_at DESC, case_id LIMIT $7",
                &[
                    &filter.channel.map(SourceChannel::as_str),
                    &filter.ids,
                    &filter.items,
                    &filter.open,
                    &filter.from_ms,
                    &filter.to_ms,
                    &i64::from(filter.limit),
                ],
            )?
            .iter()
            .map(|r| Ok(r.try_get(0)?))
            .collect()
        })
    }
}
