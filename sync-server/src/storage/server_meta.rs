//! What both backends keep in their `meta` table and derive the same way: the database's
//! Automerge actor and sealing key, and the per-year counters of official case numbers.
//! Each backend reads and writes its own `meta` table through [`Meta`]; the rules live here
//! once.

use automerge::ActorId;

use crate::seal::Sealer;
use crate::storage::error::{StorageError, StorageResult};

/// A backend's `meta` table, inside one of its transactions.
pub(crate) trait Meta {
    /// The value of `key`, if set.
    fn get(&mut self, key: &str) -> StorageResult<Option<String>>;
    /// Sets `key` to `value`.
    fn set(&mut self, key: &str, value: &str) -> StorageResult<()>;
}

/// The database's Automerge actor (for loading documents) and the key that seals the
/// server's own events, made on first use and kept in `meta`.
pub(crate) fn server_keys(meta: &mut dyn Meta) -> StorageResult<(ActorId, Sealer)> {
    let actor = match meta.get("actor_id")? {
        Some(hex) => ActorId::from(
            decode_hex(&hex).ok_or_else(|| StorageError::internal("bad actor id in meta"))?,
        ),
        None => {
            let bytes = uuid::Uuid::now_v7().as_bytes().to_vec();
            meta.set("actor_id", &crate::auth::hex(&bytes))?;
            ActorId::from(bytes)
        }
    };
    let sealer = match meta.get("seal_key")? {
        Some(hex) => decode_hex(&hex)
            .and_then(|k| <[u8; 32]>::try_from(k).ok())
            .map(Sealer::new)
            .ok_or_else(|| StorageError::internal("bad seal key in meta"))?,
        None => {
            let mut key = [0u8; 32];
            getrandom::fill(&mut key)
                .map_err(|e| StorageError::internal(format!("no randomness: {e}")))?;
            meta.set("seal_key", &crate::auth::hex(&key))?;
            Sealer::new(key)
        }
    };
    Ok((actor, sealer))
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
        .collect()
}

/// Official case numbers read `XT-<year>-<six digits>`.
const CASE_NUMBER_PREFIX: &str = "XT-";

/// The meta key of a year's counter of official numbers.
fn number_counter_key(year: i32) -> String {
    format!("case_number:{year}")
}

/// How many official numbers of `year` have been handed out (the last one).
fn numbers_counted(meta: &mut dyn Meta, year: i32) -> StorageResult<u64> {
    Ok(meta
        .get(&number_counter_key(year))?
        .and_then(|s| s.parse().ok())
        .unwrap_or(0))
}

/// Draws the next official number of the year (Shanghai's calendar) of `now_ms`. Inside the
/// transaction that stores the registration, so a number is used only if it is stored.
pub(crate) fn next_case_number(meta: &mut dyn Meta, now_ms: i64) -> StorageResult<String> {
    use chrono::Datelike;
    let year = wangge_core::store::cst_day(now_ms).year();
    let n = numbers_counted(meta, year)? + 1;
    meta.set(&number_counter_key(year), &n.to_string())?;
    Ok(format!("{CASE_NUMBER_PREFIX}{year}-{n:06}"))
}

/// The year and the number of an official case number (`None`: another format).
fn parse_number(number: &str) -> Option<(i32, u64)> {
    let (year, n) = number.strip_prefix(CASE_NUMBER_PREFIX)?.split_once('-')?;
    Some((year.parse().ok()?, n.parse().ok()?))
}

/// Raises a year's counter to a number a stored case carries, so that no number is handed
/// out twice: after a restore from a backup the counter goes back, but the devices push the
/// registered cases again. A number in another format is not this server's to count.
pub(crate) fn count_case_number(meta: &mut dyn Meta, number: &str) -> StorageResult<()> {
    count_case_numbers(meta, [number])
}

/// [`count_case_number`] for the numbers of many stored cases: each year's counter is read
/// once and raised to the year's highest number, where raising it number by number ends.
pub(crate) fn count_case_numbers<'a>(
    meta: &mut dyn Meta,
    numbers: impl IntoIterator<Item = &'a str>,
) -> StorageResult<()> {
    let mut highest: std::collections::BTreeMap<i32, u64> = std::collections::BTreeMap::new();
    for (year, n) in numbers.into_iter().filter_map(parse_number) {
        let top = highest.entry(year).or_default();
        *top = (*top).max(n);
    }
    for (year, n) in highest {
        if n > numbers_counted(meta, year)? {
            meta.set(&number_counter_key(year), &n.to_string())?;
        }
    }
    Ok(())
}
