//! Enrolment by pairing code: the back office makes a one-time code for a person
//! (`wangge-server pair`), the app exchanges it at `POST /v1/enrol` for its device id and
//! token, and nobody ever reads or types the token.
//!
//! **The code.** 8 characters of an alphabet without look-alikes (no `0 O 1 I L U`): 30
//! symbols, shown as `ABC-DEFGH`, typed in any case, with or without the dash. The first 3
//! characters are the code's *id*, the lookup key (not secret, stored as is); the 5 others are
//! the secret. The server stores the id and the SHA-256 of the whole code, never the code.
//!
//! **Guessing.** A wrong secret for a live code's id counts against that code: after
//! [`MAX_WRONG_ATTEMPTS`] the code is locked (`pairing_code_locked`) and the back office makes a
//! new one. Wrong attempts lock nothing else: other codes, and other people's enrolments, go on.
//! So whatever the number of requests, one code is guessed with probability at most
//! 5 / 30⁵ ≈ 2·10⁻⁷, and it expires after [`DEFAULT_VALID_MINUTES`] minutes anyway. Why not a
//! limit per client address: the phones of a street share a few carrier NAT addresses, and a
//! stranger's guesses would lock out officers enrolling at the same time.
//!
//! **Single use.** The code is consumed in the transaction that enrols the device: a second
//! exchange of the same code, even concurrent, is refused (`pairing_code_used`).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::storage::error::{PairingRefusal, StorageError};
use crate::storage::{DeviceRole, Scope};

/// The symbols of a pairing code: digits and capitals without `0 O 1 I L U`.
pub const ALPHABET: &[u8; 30] = b"23456789ABCDEFGHJKMNPQRSTVWXYZ";
/// Characters in a code.
pub const CODE_LEN: usize = 8;
/// Leading characters that identify a code (the lookup key; not secret).
pub const ID_LEN: usize = 3;
/// Wrong secrets for one code before it is locked.
pub const MAX_WRONG_ATTEMPTS: u32 = 5;
/// How long a code is valid unless `--valid-minutes` says otherwise.
pub const DEFAULT_VALID_MINUTES: u32 = 15;
/// The longest validity `wangge-server pair` accepts (a day).
pub const MAX_VALID_MINUTES: u32 = 24 * 60;
/// How long a code's id stays reserved after its code was made: another code gets another
/// id meanwhile, so an old code typed again is answered for itself (`pairing_code_used`,
/// `pairing_code_expired`), not taken as a wrong guess at a new one.
pub const ID_RESERVED_MS: i64 = 24 * 3_600_000;
/// Longest device name accepted, from the app or the back office.
pub const MAX_DEVICE_NAME: usize = 64;

/// A device name that [`device_name`] refuses.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("at most {MAX_DEVICE_NAME} characters, without control characters")]
pub struct InvalidDeviceName;

/// A device name as given (by the app at `POST /v1/enrol`, or by the back office with a
/// pairing code), checked: trimmed, blank meaning none, at most [`MAX_DEVICE_NAME`]
/// characters, no control characters.
pub fn device_name(name: Option<&str>) -> Result<Option<String>, InvalidDeviceName> {
    let Some(name) = name.map(str::trim).filter(|n| !n.is_empty()) else {
        return Ok(None);
    };
    if name.chars().count() > MAX_DEVICE_NAME || name.chars().any(char::is_control) {
        return Err(InvalidDeviceName);
    }
    Ok(Some(name.to_owned()))
}

/// A fresh random code (unformatted, 8 characters of [`ALPHABET`]).
pub fn new_code() -> Result<String, ApiError> {
    let mut code = String::with_capacity(CODE_LEN);
    while code.len() < CODE_LEN {
        let mut bytes = [0u8; 16];
        getrandom::fill(&mut bytes)
            .map_err(|e| ApiError::internal(format!("no randomness: {e}")))?;
        // Rejection sampling: 240 = 8 × 30, so every symbol is equally likely.
        for b in bytes {
            if b < 240 && code.len() < CODE_LEN {
                code.push(char::from(ALPHABET[usize::from(b % 30)]));
            }
        }
    }
    Ok(code)
}

/// The code as typed or scanned, normalised: upper case, without dashes and spaces. `None`
/// if it is not 8 symbols of the alphabet.
pub fn normalize(input: &str) -> Option<String> {
    let code: String = input
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\u{3000}'))
        .map(|c| c.to_ascii_uppercase())
        .collect();
    let valid = code.len() == CODE_LEN && code.bytes().all(|b| ALPHABET.contains(&b));
    valid.then_some(code)
}

/// The id part of a normalised code (its lookup key).
pub fn code_id(code: &str) -> &str {
    code.get(..ID_LEN).unwrap_or(code)
}

/// What the server stores of a normalised code.
pub fn hash_code(code: &str) -> Vec<u8> {
    Sha256::digest(format!("wangge-pairing:{code}").as_bytes()).to_vec()
}

/// A normalised code as people read it: `ABC-DEFGH`.
pub fn display(code: &str) -> String {
    match (code.get(..ID_LEN), code.get(ID_LEN..)) {
        (Some(id), Some(secret)) => format!("{id}-{secret}"),
        _ => code.to_owned(),
    }
}

/// The text of the QR code the app scans: `wangge://enrol?server=<url>&code=<code>`, or
/// without `server` when the server's public address is not known.
pub fn qr_payload(server_url: Option<&str>, code: &str) -> String {
    match server_url {
        Some(url) => format!(
            "wangge://enrol?server={}&code={code}",
            percent_encode(url.trim_end_matches('/'))
        ),
        None => format!("wangge://enrol?code={code}"),
    }
}

/// Percent-encodes everything but unreserved URL characters.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
                char::from(b).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

/// A pairing code to store: everything but the code itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPairingCode {
    /// The code's id (its first characters).
    pub code_id: String,
    /// SHA-256 of the whole code ([`hash_code`]).
    pub code_hash: Vec<u8>,
    /// The person the device will act as.
    pub staff_id: String,
    /// The device's label, if the back office gave one (else the app's, else a default).
    pub device_name: Option<String>,
    /// What the device may do, as `wangge-server enroll` derives it from the person.
    pub role: DeviceRole,
    /// What the device receives, likewise.
    pub scope: Scope,
    /// When the code was made (ms).
    pub created_at: i64,
    /// When it stops being accepted (ms).
    pub expires_at: i64,
}

/// An exchange of a code for an enrolment (`POST /v1/enrol`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redeem {
    /// The code's id.
    pub code_id: String,
    /// SHA-256 of the code as sent.
    pub code_hash: Vec<u8>,
    /// The id the device is enrolled under: the app's own, or a fresh one.
    pub device_id: String,
    /// Whether `device_id` came from the app (it may be enrolled already: re-enrolment).
    pub device_id_from_app: bool,
    /// The app's name for itself, used when the back office gave none.
    pub device_name: Option<String>,
    /// SHA-256 of the new token.
    pub token_hash: Vec<u8>,
    /// Now (ms).
    pub now_ms: i64,
}

/// A pairing code made and still waiting for its phone: not used, not expired, not locked
/// (the console's list, from which an administrator withdraws a code given by mistake). The
/// code itself is stored nowhere; `code_id`, its first characters, is not secret and tells
/// codes apart on the screen.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingCode {
    /// The stored row's key (what a withdrawal names).
    pub id: i64,
    /// The code's first [`ID_LEN`] characters.
    pub code_id: String,
    /// The person the device will act as.
    pub staff_id: String,
    /// The device name the administrator gave, if any.
    pub device_name: Option<String>,
    /// When the code was made (ms).
    pub created_at: i64,
    /// Until when it works (ms).
    pub expires_at: i64,
}

/// What an exchange did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Redeemed {
    /// The device as enrolled now.
    pub device: crate::storage::Device,
    /// The device was enrolled before (to the same person, or revoked) and got a new token.
    pub reenrolled: bool,
}

/// The body of `POST /v1/enrol`.
#[derive(Debug, Clone, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EnrolRequest {
    /// The pairing code as typed or scanned.
    pub code: String,
    /// A name for the device (shown in `wangge-server devices`) when the back office gave
    /// none.
    #[serde(default)]
    pub device_name: Option<String>,
    /// The id the app generated at install and opened its store with; the server makes one
    /// when absent.
    #[serde(default)]
    pub device_id: Option<String>,
}

/// The answer of `POST /v1/enrol`: the device's id and token (the app keeps the token in its
/// store and shows it nowhere), who it acts as and what it receives.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct EnrolResponse {
    /// The device's id.
    pub device_id: String,
    /// The device's token, for `Authorization: Bearer`; the server keeps only its hash.
    pub token: String,
    /// The device's label.
    pub name: String,
    /// `field` or `centre`.
    pub role: DeviceRole,
    /// The person the device acts as (as `GET /v1/me` gives it).
    pub person: Option<crate::routes::me::MePerson>,
    /// What the device receives.
    pub scope: Scope,
    /// The device was enrolled before and got a new token (the old one no longer works).
    pub reenrolled: bool,
}

/// The refusal for a code nobody holds (or a wrong secret).
pub fn unknown() -> ApiError {
    StorageError::from(PairingRefusal::Unknown).into()
}

/// The refusal for a code already exchanged.
pub fn used() -> ApiError {
    StorageError::from(PairingRefusal::Used).into()
}

/// The refusal for a code past its validity.
pub fn expired() -> ApiError {
    StorageError::from(PairingRefusal::Expired).into()
}

/// The refusal for a code locked after too many wrong attempts.
pub fn locked() -> ApiError {
    StorageError::from(PairingRefusal::Locked).into()
}

/// The refusal for a code whose person has left the register or is inactive.
pub fn person_inactive() -> ApiError {
    StorageError::from(PairingRefusal::PersonInactive).into()
}

/// The refusal for an app id that is another person's active device.
pub fn device_id_taken() -> ApiError {
    StorageError::from(PairingRefusal::DeviceIdTaken).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_device_name_is_trimmed_and_refused_when_long_or_with_control_characters() {
        assert_eq!(device_name(None), Ok(None));
        assert_eq!(device_name(Some("   ")), Ok(None));
        assert_eq!(device_name(Some(" 手持09 ")), Ok(Some("手持09".into())));
        let longest = "手".repeat(MAX_DEVICE_NAME);
        assert_eq!(device_name(Some(&longest)), Ok(Some(longest.clone())));
        let longer = format!("{longest}持");
        assert_eq!(device_name(Some(&longer)), Err(InvalidDeviceName));
        assert_eq!(device_name(Some("手持\n09")), Err(InvalidDeviceName));
    }

    #[test]
    fn codes_are_eight_unambiguous_symbols_and_normalise_as_typed() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..200 {
            let code = new_code().unwrap();
            assert_eq!(code.len(), CODE_LEN);
            assert!(code.bytes().all(|b| ALPHABET.contains(&b)), "{code}");
            assert!(!code.contains(['0', 'O', '1', 'I', 'L', 'U']), "{code}");
            assert_eq!(normalize(&code).as_deref(), Some(code.as_str()));
            let shown = display(&code);
            assert_eq!(shown.len(), CODE_LEN + 1);
            assert_eq!(
                normalize(&shown.to_lowercase()).as_deref(),
                Some(code.as_str())
            );
            seen.insert(code);
        }
        assert!(seen.len() > 195, "codes repeat: {}", seen.len());
        for bad in [
            "",
            "ABC-DEFG",
            "ABC-DEFGHJ",
            "ABC-DEF0H",
            "ABC-DEFGI",
            "ABCDEFG😀",
        ] {
            assert_eq!(normalize(bad), None, "{bad}");
        }
        assert_eq!(code_id("ABCDEFGH"), "ABC");
        assert_ne!(hash_code("ABCDEFGH"), hash_code("ABCDEFGJ"));
    }

    #[test]
    fn the_qr_payload_carries_the_server_and_the_code() {
        assert_eq!(
            qr_payload(Some("https://sync.example:8443/"), "ABCDEFGH"),
            "wangge://enrol?server=https%3A%2F%2Fsync.example%3A8443&code=ABCDEFGH"
        );
        assert_eq!(qr_payload(None, "ABCDEFGH"), "wangge://enrol?code=ABCDEFGH");
    }
}
