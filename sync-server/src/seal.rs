//! The server's seal on the events it makes itself (registrations, dispatches,
//! closures …): HMAC-SHA256 of the event's exact JSON text under a key kept in
//! the server's database. See `wangge_core::authority::SealVerifier` for why.
//!
//! The key lives in the database (not in a file next to it) so that a backup
//! holds it with the documents: a server restored from a backup recognises the
//! events it made after that backup when devices push them back. Several server
//! instances on one database share it. Anyone who can read the database can
//! forge seals, but such a person can also write the documents directly.

use sha2::{Digest, Sha256};
use wangge_core::authority::SealVerifier;

const BLOCK: usize = 64;

/// A sealing key.
#[derive(Clone)]
pub struct Sealer {
    key: [u8; 32],
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(<key>)")
    }
}

impl Sealer {
    /// A sealer with `key`.
    pub fn new(key: [u8; 32]) -> Self {
        Sealer { key }
    }

    /// The seal of `text`: lowercase hex of HMAC-SHA256(key, text).
    pub fn seal(&self, text: &str) -> String {
        crate::auth::hex(&hmac_sha256(&self.key, text.as_bytes()))
    }
}

impl SealVerifier for Sealer {
    fn verify(&self, event_json: &str, seal: &str) -> bool {
        let expected = self.seal(event_json);
        // Constant time: the comparison does not stop at the first difference.
        expected.len() == seal.len()
            && expected
                .bytes()
                .zip(seal.bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0
    }
}

/// HMAC (RFC 2104) over SHA-256. Written out rather than pulled in as a crate:
/// it is the textbook construction, tested against RFC 4231 below.
fn hmac_sha256(key: &[u8], message: &[u8]) -> [u8; 32] {
    let mut block = [0u8; BLOCK];
    if key.len() > BLOCK {
        block[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    let pad = |byte: u8| -> [u8; BLOCK] { block.map(|b| b ^ byte) };
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    let outer = Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize();
    outer.into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc_4231() {
        // Test case 2.
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            crate::auth::hex(&mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        // Test case 6: a key longer than the block.
        let mac = hmac_sha256(
            &[0xaa; 131],
            b"Test Using Larger Than Block-Size Key - Hash Key First",
        );
        assert_eq!(
            crate::auth::hex(&mac),
            "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"
        );
    }

    #[test]
    fn a_seal_verifies_only_its_text_under_its_key() {
        let s = Sealer::new([7; 32]);
        let seal = s.seal("{\"type\":\"closed\"}");
        assert!(s.verify("{\"type\":\"closed\"}", &seal));
        assert!(!s.verify("{\"type\":\"closed\" }", &seal));
        assert!(!Sealer::new([8; 32]).verify("{\"type\":\"closed\"}", &seal));
        assert!(!s.verify("{\"type\":\"closed\"}", &seal[..10]));
    }
}
