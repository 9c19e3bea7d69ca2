//! Pairing codes in the SQLite backend (schema version 12): one row per code made by
//! `wangge-server pair`, consumed by `POST /v1/enrol` in the transaction that enrols the
//! device (see `crate::pairing`).

use rusqlite::{OptionalExtension, TransactionBehavior, params};

use super::{DEVICE_COLUMNS, SqliteStorage, device_from_row, lock, to_device};
use crate::pairing::{
    ID_RESERVED_MS, MAX_WRONG_ATTEMPTS, NewPairingCode, PendingCode, Redeem, Redeemed,
};
use crate::storage::Device;
use crate::storage::error::{PairingRefusal, StorageError, StorageResult};

/// Version 12: pairing codes.
///
/// `code_id` (the first characters of the code) is the lookup key and is not secret;
/// `code_hash` is the SHA-256 of the whole code, the code itself is stored nowhere. The
/// device's role and scope are derived from the person when the code is made, exactly as
/// `wangge-server enroll` derives them, so the exchange enrols what the administrator saw.
/// `wrong_attempts` counts wrong secrets sent for this code's id; `used_at` and `device_id`
/// record the exchange. `IF NOT EXISTS`: tests make "old" databases by dropping what later
/// versions added from a fresh one, and need not know of this table. Rows are kept (who paired which device when is worth keeping, and
/// they hold no secret that still works).
pub(super) const PAIRING_SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS pairing_codes (
    id             INTEGER PRIMARY KEY,
    code_id        TEXT NOT NULL,
    code_hash      BLOB NOT NULL,
    person_id      TEXT NOT NULL,
    device_name    TEXT,
    role           TEXT NOT NULL,
    scope          TEXT NOT NULL,
    created_at     INTEGER NOT NULL,
    expires_at     INTEGER NOT NULL,
    wrong_attempts INTEGER NOT NULL DEFAULT 0,
    used_at        INTEGER,
    device_id      TEXT
);
CREATE INDEX IF NOT EXISTS pairing_codes_by_id ON pairing_codes (code_id, created_at);
";

/// The codes that still work at `?1` (`?2` is [`MAX_WRONG_ATTEMPTS`]), newest first. A
/// scan of the table: it holds one row per code ever made, a few a day for a street.
const PENDING_CODES_SQLITE: &str = "SELECT id, code_id, person_id, device_name, created_at, \
     expires_at FROM pairing_codes WHERE used_at IS NULL AND expires_at > ?1 \
     AND wrong_attempts < ?2 ORDER BY created_at DESC, id DESC";

/// Withdraws code `?1` at `?2` if it still works (`?3` is [`MAX_WRONG_ATTEMPTS`]). Expiring
/// it, rather than a column of its own, keeps the exchange's rules as they are: a withdrawn
/// code is answered as an expired one, and the row stays for the record.
const WITHDRAW_CODE_SQLITE: &str = "UPDATE pairing_codes SET expires_at = ?2 WHERE id = ?1 \
     AND used_at IS NULL AND expires_at > ?2 AND wrong_attempts < ?3";

/// A stored code, as the exchange reads it (on every backend).
pub(in crate::storage) struct CodeRow {
    /// The row's key.
    pub id: i64,
    /// SHA-256 of the whole code.
    pub code_hash: Vec<u8>,
    /// The person the device is enrolled to.
    pub person_id: String,
    /// The device name the administrator gave, if any.
    pub device_name: Option<String>,
    /// The device's role, as stored.
    pub role: String,
    /// The device's scope, as stored (JSON).
    pub scope: String,
    /// Until when the code works (ms).
    pub expires_at: i64,
    /// Wrong secrets sent for this code's id so far.
    pub wrong_attempts: u32,
    /// When the code was exchanged, if it was.
    pub used_at: Option<i64>,
}

/// How an exchange ends inside its transaction (on every backend).
pub(in crate::storage) enum Outcome {
    /// The device is enrolled.
    Enrolled(Redeemed),
    /// A refusal whose transaction still commits (a wrong attempt counted).
    Refused(PairingRefusal),
}

/// What an exchange does with the code it found, before any device is looked at.
pub(in crate::storage) enum Verdict {
    /// A wrong secret: refused as unknown, and counted against the code when `count` (the
    /// code still works: a used, expired or locked code counts nothing more).
    WrongSecret {
        /// Whether the attempt is counted.
        count: bool,
    },
    /// Refused for this reason.
    Refuse(PairingRefusal),
    /// The code is right and live: enrol the device.
    Enrol,
}

/// Judges a redemption of the code `row` (the same rules on every backend).
pub(in crate::storage) fn verdict(row: &CodeRow, redeem: &Redeem) -> Verdict {
    let live = row.used_at.is_none()
        && row.expires_at > redeem.now_ms
        && row.wrong_attempts < MAX_WRONG_ATTEMPTS;
    if !same_hash(&row.code_hash, &redeem.code_hash) {
        Verdict::WrongSecret { count: live }
    } else if row.used_at.is_some() {
        Verdict::Refuse(PairingRefusal::Used)
    } else if row.wrong_attempts >= MAX_WRONG_ATTEMPTS {
        Verdict::Refuse(PairingRefusal::Locked)
    } else if row.expires_at <= redeem.now_ms {
        Verdict::Refuse(PairingRefusal::Expired)
    } else {
        Verdict::Enrol
    }
}

/// Whether a redemption may enrol over the device already stored under its id: only one
/// whose id the app sent (a reinstall keeps it), and only the same person's device or a
/// revoked one.
pub(in crate::storage) fn may_reenrol(old: &Device, row: &CodeRow, redeem: &Redeem) -> bool {
    let own = old.person.as_deref() == Some(row.person_id.as_str());
    redeem.device_id_from_app && (own || old.revoked_at.is_some())
}

/// The name of the device a redemption enrols: the administrator's, the app's, the one it
/// had, or one made from the person.
pub(in crate::storage) fn device_name(
    row: &CodeRow,
    redeem: &Redeem,
    existing: Option<&Device>,
) -> String {
    row.device_name
        .clone()
        .or_else(|| redeem.device_name.clone())
        .or_else(|| existing.map(|d| d.name.clone()))
        .unwrap_or_else(|| format!("{} (paired)", row.person_id))
}

/// Constant-time equality of two hashes.
fn same_hash(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

impl SqliteStorage {
    /// Stores a new code; false (nothing stored) if another code made within
    /// [`ID_RESERVED_MS`] has the same id: make another code.
    pub(super) fn insert_pairing_code(&self, code: &NewPairingCode) -> StorageResult<bool> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let taken: bool = tx
            .prepare_cached(
                "SELECT EXISTS (SELECT 1 FROM pairing_codes WHERE code_id = ?1 AND created_at > ?2)",
            )?
            .query_row(
                params![code.code_id, code.created_at - ID_RESERVED_MS],
                |r| r.get(0),
            )?;
        if taken {
            return Ok(false);
        }
        let scope = serde_json::to_string(&code.scope).map_err(StorageError::internal)?;
        tx.execute(
            "INSERT INTO pairing_codes (code_id, code_hash, person_id, device_name, role, scope, \
             created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            params![
                code.code_id,
                code.code_hash,
                code.staff_id,
                code.device_name,
                code.role.as_str(),
                scope,
                code.created_at,
                code.expires_at
            ],
        )?;
        tx.commit()?;
        Ok(true)
    }

    /// The codes that still work at `now_ms`, newest first.
    pub(super) fn pending_codes(&self, now_ms: i64) -> StorageResult<Vec<PendingCode>> {
        let conn = self.reader();
        let mut stmt = conn.prepare_cached(PENDING_CODES_SQLITE)?;
        let rows = stmt
            .query_map(params![now_ms, MAX_WRONG_ATTEMPTS], |r| {
                Ok(PendingCode {
                    id: r.get(0)?,
                    code_id: r.get(1)?,
                    staff_id: r.get(2)?,
                    device_name: r.get(3)?,
                    created_at: r.get(4)?,
                    expires_at: r.get(5)?,
                })
            })?
            .collect::<rusqlite::Result<Vec<_>>>()?;
        Ok(rows)
    }

    /// Withdraws the code `id` if it still works (see the trait).
    pub(super) fn withdraw_code(&self, id: i64, now_ms: i64) -> StorageResult<bool> {
        let conn = lock(&self.writer);
        let n = conn.execute(
            WITHDRAW_CODE_SQLITE,
            params![id, now_ms, MAX_WRONG_ATTEMPTS],
        )?;
        Ok(n > 0)
    }

    /// Exchanges a code for an enrolment in one transaction (see `crate::pairing`).
    pub(super) fn redeem_code(&self, redeem: &Redeem) -> StorageResult<Redeemed> {
        let mut conn = lock(&self.writer);
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let row = tx
            .prepare_cached(
                "SELECT id, code_hash, person_id, device_name, role, scope, expires_at, \
                 wrong_attempts, used_at FROM pairing_codes WHERE code_id = ?1 \
                 ORDER BY created_at DESC, id DESC LIMIT 1",
            )?
            .query_row([&redeem.code_id], |r| {
                Ok(CodeRow {
                    id: r.get(0)?,
                    code_hash: r.get(1)?,
                    person_id: r.get(2)?,
                    device_name: r.get(3)?,
                    role: r.get(4)?,
                    scope: r.get(5)?,
                    expires_at: r.get(6)?,
                    wrong_attempts: r.get(7)?,
                    used_at: r.get(8)?,
                })
            })
            .optional()?;
        let Some(row) = row else {
            return Err(PairingRefusal::Unknown.into());
        };
        let outcome = match verdict(&row, redeem) {
            Verdict::WrongSecret { count } => {
                if count {
                    tx.execute(
                        "UPDATE pairing_codes SET wrong_attempts = wrong_attempts + 1 WHERE id = ?1",
                        [row.id],
                    )?;
                }
                Outcome::Refused(PairingRefusal::Unknown)
            }
            Verdict::Refuse(refusal) => Outcome::Refused(refusal),
            Verdict::Enrol => enrol(&tx, &row, redeem)?,
        };
        match outcome {
            Outcome::Enrolled(done) => {
                tx.commit()?;
                Ok(done)
            }
            Outcome::Refused(e) => {
                tx.commit()?;
                Err(e.into())
            }
        }
    }
}

/// Enrols the device of a matching, live code and consumes the code (inside `tx`).
fn enrol(tx: &rusqlite::Transaction<'_>, row: &CodeRow, redeem: &Redeem) -> StorageResult<Outcome> {
    let active: Option<bool> = tx
        .prepare_cached("SELECT active FROM people WHERE staff_id = ?1")?
        .query_row([&row.person_id], |r| r.get(0))
        .optional()?;
    if active != Some(true) {
        return Ok(Outcome::Refused(PairingRefusal::PersonInactive));
    }
    let existing = tx
        .prepare_cached(&format!(
            "SELECT {DEVICE_COLUMNS} FROM devices WHERE device_id = ?1"
        ))?
        .query_row([&redeem.device_id], device_from_row)
        .optional()?
        .map(to_device)
        .transpose()?;
    if existing
        .as_ref()
        .is_some_and(|old| !may_reenrol(old, row, redeem))
    {
        return Ok(Outcome::Refused(PairingRefusal::DeviceIdTaken));
    }
    let name = device_name(row, redeem, existing.as_ref());
    match &existing {
        // Re-enrolment: the same device id, a new token, the code's role and scope, and no
        // longer revoked. The old token stops working at once.
        Some(_) => tx.execute(
            "UPDATE devices SET name = ?2, role = ?3, scope = ?4, token_hash = ?5, \
             revoked_at = NULL, person_id = ?6, token_issued_at = ?7, prev_token_hash = NULL, \
             prev_token_until = NULL WHERE device_id = ?1",
            params![
                redeem.device_id,
                name,
                row.role,
                row.scope,
                redeem.token_hash,
                row.person_id,
                redeem.now_ms
            ],
        )?,
        None => tx.execute(
            "INSERT INTO devices (device_id, name, role, scope, token_hash, created_at, person_id, \
             token_issued_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?6)",
            params![
                redeem.device_id,
                name,
                row.role,
                row.scope,
                redeem.token_hash,
                redeem.now_ms,
                row.person_id
            ],
        )?,
    };
    // A re-enrolled device starts over with what the server sends it (its store was wiped
    // when it was revoked): nothing it was noted to hold may be left out (`in_step.rs`).
    tx.execute(
        "DELETE FROM device_in_step WHERE device_id = ?1",
        [&redeem.device_id],
    )?;
    tx.execute(
        "UPDATE pairing_codes SET used_at = ?2, device_id = ?3 WHERE id = ?1",
        params![row.id, redeem.now_ms, redeem.device_id],
    )?;
    let device: Device = tx
        .prepare_cached(&format!(
            "SELECT {DEVICE_COLUMNS} FROM devices WHERE device_id = ?1"
        ))?
        .query_row([&redeem.device_id], device_from_row)
        .map_err(StorageError::from)
        .and_then(to_device)?;
    Ok(Outcome::Enrolled(Redeemed {
        device,
        reenrolled: existing.is_some(),
    }))
}
