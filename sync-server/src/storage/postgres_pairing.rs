//! Pairing codes on PostgreSQL: one row per code made by `wangge-server pair`, consumed by
//! `POST /v1/enrol` in the transaction that enrols the device (see `crate::pairing`; the
//! table and why it keeps used codes: `sqlite_pairing.rs`).
//!
//! **One transaction per code id at a time.** SQLite's single writer makes "is this id
//! taken?" then "insert", and "read the code" then "count a wrong secret" or "consume it",
//! atomic. Here instances run them side by side, so each takes the advisory lock of its code
//! id first ([`PgStorage::locked_on`]): two codes made at once cannot share an id, guesses
//! sent in parallel are each counted (the lock-out after
//! [`MAX_WRONG_ATTEMPTS`](crate::pairing::MAX_WRONG_ATTEMPTS) holds), and a code is
//! exchanged once. What is judged, and how, is SQLite's code (`verdict`, `may_reenrol`,
//! `device_name`), shared.

use super::photos::LockSpace;
use super::{DEVICE_COLUMNS, PgStorage, Tx, device_from_row};
use crate::pairing::{
    ID_RESERVED_MS, MAX_WRONG_ATTEMPTS, NewPairingCode, PendingCode, Redeem, Redeemed,
};
use crate::storage::error::{PairingRefusal, StorageError, StorageResult};
use crate::storage::sqlite::pairing::{
    CodeRow, Outcome, Verdict, device_name, may_reenrol, verdict,
};

impl PgStorage {
    /// Stores a new code; false (nothing stored) if another code made within
    /// [`ID_RESERVED_MS`] has the same id: make another code.
    pub(super) fn insert_pairing_code(&self, code: &NewPairingCode) -> StorageResult<bool> {
        let scope = serde_json::to_string(&code.scope).map_err(StorageError::internal)?;
        self.locked_on(LockSpace::PairingCode, &code.code_id, |tx| {
            let taken: bool = tx
                .query_one(
                    "SELECT EXISTS (SELECT 1 FROM pairing_codes WHERE code_id = $1 AND created_at > $2)",
                    &[&code.code_id, &(code.created_at - ID_RESERVED_MS)],
                )?
                .try_get(0)?;
            if taken {
                return Ok(false);
            }
            tx.execute(
                "INSERT INTO pairing_codes (code_id, code_hash, person_id, device_name, role, scope,
                     created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &[
                    &code.code_id,
                    &code.code_hash,
                    &code.staff_id,
                    &code.device_name,
                    &code.role.as_str(),
                    &scope,
                    &code.created_at,
                    &code.expires_at,
                ],
            )?;
            Ok(true)
        })
    }

    /// The codes that still work at `now_ms`, newest first (the rules: `sqlite_pairing.rs`).
    pub(super) fn pending_codes(&self, now_ms: i64) -> StorageResult<Vec<PendingCode>> {
        let attempts = i64::from(MAX_WRONG_ATTEMPTS);
        self.read(|tx| {
            tx.query(
                "SELECT id, code_id, person_id, device_name, created_at, expires_at
                 FROM pairing_codes WHERE used_at IS NULL AND expires_at > $1
                 AND wrong_attempts < $2 ORDER BY created_at DESC, id DESC",
                &[&now_ms, &attempts],
            )?
            .iter()
            .map(|r| {
                Ok(PendingCode {
                    id: r.try_get(0)?,
                    code_id: r.try_get(1)?,
                    staff_id: r.try_get(2)?,
                    device_name: r.try_get(3)?,
                    created_at: r.try_get(4)?,
                    expires_at: r.try_get(5)?,
                })
            })
            .collect()
        })
    }

    /// Withdraws the code `id` if it still works, under the advisory lock of its code id as
    /// an exchange of it takes: an exchange on another instance runs wholly before or after,
    /// so a code is either exchanged or withdrawn, never both.
    pub(super) fn withdraw_code(&self, id: i64, now_ms: i64) -> StorageResult<bool> {
        let attempts = i64::from(MAX_WRONG_ATTEMPTS);
        let code_id: Option<String> = self.read(|tx| {
            tx.query_opt("SELECT code_id FROM pairing_codes WHERE id = $1", &[&id])?
                .map(|r| r.try_get(0))
                .transpose()
                .map_err(Into::into)
        })?;
        let Some(code_id) = code_id else {
            return Ok(false);
        };
        let n = self.locked_on(LockSpace::PairingCode, &code_id, |tx| {
            Ok(tx.execute(
                "UPDATE pairing_codes SET expires_at = $2 WHERE id = $1
                 AND used_at IS NULL AND expires_at > $2 AND wrong_attempts < $3",
                &[&id, &now_ms, &attempts],
            )?)
        })?;
        Ok(n > 0)
    }

    /// Exchanges a code for an enrolment in one transaction (see `crate::pairing`); a refusal
    /// that counts a wrong secret is committed before it is answered.
    pub(super) fn redeem_code(&self, redeem: &Redeem) -> StorageResult<Redeemed> {
        let outcome = self.locked_on(LockSpace::PairingCode, &redeem.code_id, |tx| {
            let row = tx
                .query_opt(
                    "SELECT id, code_hash, person_id, device_name, role, scope, expires_at,
                         wrong_attempts, used_at FROM pairing_codes WHERE code_id = $1
                     ORDER BY created_at DESC, id DESC LIMIT 1",
                    &[&redeem.code_id],
                )?
                .map(|r| -> StorageResult<CodeRow> {
                    Ok(CodeRow {
                        id: r.try_get(0)?,
                        code_hash: r.try_get(1)?,
                        person_id: r.try_get(2)?,
                        device_name: r.try_get(3)?,
                        role: r.try_get(4)?,
                        scope: r.try_get(5)?,
                        expires_at: r.try_get(6)?,
                        wrong_attempts: u32::try_from(r.try_get::<_, i64>(7)?)
                            .unwrap_or(u32::MAX),
                        used_at: r.try_get(8)?,
                    })
                })
                .transpose()?;
            let Some(row) = row else {
                return Ok(Outcome::Refused(PairingRefusal::Unknown));
            };
            match verdict(&row, redeem) {
                Verdict::WrongSecret { count } => {
                    if count {
                        tx.execute(
                            "UPDATE pairing_codes SET wrong_attempts = wrong_attempts + 1 WHERE id = $1",
                            &[&row.id],
                        )?;
                    }
                    Ok(Outcome::Refused(PairingRefusal::Unknown))
                }
                Verdict::Refuse(refusal) => Ok(Outcome::Refused(refusal)),
                Verdict::Enrol => enrol(tx, &row, redeem),
            }
        })?;
        match outcome {
            Outcome::Enrolled(done) => Ok(done),
            Outcome::Refused(refusal) => Err(refusal.into()),
        }
    }
}

/// Enrols the device of a matching, live code and consumes the code (inside `tx`).
fn enrol(tx: &mut Tx<'_>, row: &CodeRow, redeem: &Redeem) -> StorageResult<Outcome> {
    let active: Option<bool> = tx
        .query_opt(
            "SELECT active FROM people WHERE staff_id = $1",
            &[&row.person_id],
        )?
        .map(|r| r.try_get(0))
        .transpose()?;
    if active != Some(true) {
        return Ok(Outcome::Refused(PairingRefusal::PersonInactive));
    }
    let device_sql = format!("SELECT {DEVICE_COLUMNS} FROM devices WHERE device_id = $1");
    let existing = tx
        .query_opt(&device_sql, &[&redeem.device_id])?
        .as_ref()
        .map(device_from_row)
        .transpose()?;
    if existing
        .as_ref()
        .is_some_and(|old| !may_reenrol(old, row, redeem))
    {
        return Ok(Outcome::Refused(PairingRefusal::DeviceIdTaken));
    }
    let name = device_name(row, redeem, existing.as_ref());
    let written = match &existing {
        // Re-enrolment: the same device id, a new token, the code's role and scope, and no
        // longer revoked. The old token stops working at once.
        Some(_) => tx.execute(
            "UPDATE devices SET name = $2, role = $3, scope = $4, token_hash = $5,
                 revoked_at = NULL, person_id = $6, token_issued_at = $7, prev_token_hash = NULL,
                 prev_token_until = NULL WHERE device_id = $1",
            &[
                &redeem.device_id,
                &name,
                &row.role,
                &row.scope,
                &redeem.token_hash,
                &row.person_id,
                &redeem.now_ms,
            ],
        )?,
        // A device enrolled under this id since it was read above (another instance, the
        // CLI) is left alone: the id is taken.
        None => tx.execute(
            "INSERT INTO devices (device_id, name, role, scope, token_hash, created_at, person_id,
                 token_issued_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $6)
             ON CONFLICT (device_id) DO NOTHING",
            &[
                &redeem.device_id,
                &name,
                &row.role,
                &row.scope,
                &redeem.token_hash,
                &redeem.now_ms,
                &row.person_id,
            ],
        )?,
    };
    if written == 0 {
        return Ok(Outcome::Refused(PairingRefusal::DeviceIdTaken));
    }
    // A re-enrolled device starts over (see SQLite's `redeem`, `in_step.rs`).
    tx.execute(
        "DELETE FROM device_in_step WHERE device_id = $1",
        &[&redeem.device_id],
    )?;
    tx.execute(
        "UPDATE pairing_codes SET used_at = $2, device_id = $3 WHERE id = $1",
        &[&row.id, &redeem.now_ms, &redeem.device_id],
    )?;
    let device = device_from_row(&tx.query_one(&device_sql, &[&redeem.device_id])?)?;
    Ok(Outcome::Enrolled(Redeemed {
        device,
        reenrolled: existing.is_some(),
    }))
}
