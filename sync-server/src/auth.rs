//! Device enrolment tokens.
//!
//! A token is 32 random bytes shown once, at enrolment. The server keeps
//! only its SHA-256: tokens are high-entropy, so a fast hash is enough to
//! make a stolen database useless for impersonation, and lookups stay one
//! indexed query.

use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// Prefix that makes a token recognisable in a config file.
pub const TOKEN_PREFIX: &str = "wgt_";

/// Generates a fresh token.
pub fn new_token() -> Result<String, ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| ApiError::internal(format!("no randomness: {e}")))?;
    Ok(format!("{TOKEN_PREFIX}{}", hex(&bytes)))
}

/// The stored form of a token.
pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.trim().as_bytes()).to_vec()
}

/// Lowercase hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Extracts the bearer token from an `Authorization` header value.
pub fn bearer(header: Option<&str>) -> Result<&str, ApiError> {
    let value = header.ok_or_else(|| {
        ApiError::unauthorized(
            "missing Authorization header; send `Authorization: Bearer <device token>`",
        )
    })?;
    value
        .strip_prefix("Bearer ")
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::unauthorized("the Authorization header must be `Bearer <device token>`")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_random_and_hashed() {
        let a = new_token().unwrap();
        let b = new_token().unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with(TOKEN_PREFIX));
        assert_eq!(a.len(), TOKEN_PREFIX.len() + 64);
        assert_eq!(hash_token(&a).len(), 32);
        assert_ne!(hash_token(&a), hash_token(&b));
    }

    #[test]
    fn bearer_header_is_parsed_strictly() {
        assert_eq!(bearer(Some("Bearer abc")).unwrap(), "abc");
        assert!(bearer(None).is_err());
        assert!(bearer(Some("Basic abc")).is_err());
        assert!(bearer(Some("Bearer   ")).is_err());
    }
}
