//! How long a device token works, and when the server replaces it.
//!
//! A device token works for [`TokenPolicy::lifetime_ms`] from when it was issued (at
//! enrolment, at pairing, or at its last rotation); after that every request with it is
//! refused `401 token_expired` ("pair the device again"). A phone that syncs never meets the
//! limit: a sync that arrives with a token in the last third of its life
//! ([`TokenPolicy::rotate_at`]) is answered with a new token in the `x-wangge-token` header,
//! which the phone adopts. The old token keeps working for [`TokenPolicy::grace_ms`] (no
//! longer than it had left), so an answer lost on the way does not lock the phone out: it
//! syncs again with the old token and is given another new one. The old token stops at once
//! when the new one is used, which proves the phone has it.
//!
//! Why a lifetime taken from the server's setting at every request rather than an expiry
//! stored with each token: shortening `--token-days` (after a lost phone, an incident)
//! applies to every token at once, and a database upgraded from before expiry existed needs
//! no guess of an expiry per device. See `docs/sync-protocol.md`, "Tokens".

/// Milliseconds in a day.
const DAY_MS: i64 = 24 * 3600 * 1000;

/// The header of a sync answer that carries a new token for the device.
pub const TOKEN_HEADER: &str = "x-wangge-token";

/// How long device tokens work and when they are replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TokenPolicy {
    /// How long a token works after it was issued (ms).
    pub lifetime_ms: i64,
}

/// A token lifetime that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "a device token lifetime of {0} days cannot be used; give --token-days (WANGGE_TOKEN_DAYS) \
     between 1 and {max} days",
    max = TokenPolicy::MAX_DAYS
)]
pub struct BadTokenDays(pub u32);

impl Default for TokenPolicy {
    /// Tokens work for [`TokenPolicy::DEFAULT_DAYS`] days.
    fn default() -> Self {
        TokenPolicy {
            lifetime_ms: i64::from(Self::DEFAULT_DAYS) * DAY_MS,
        }
    }
}

impl TokenPolicy {
    /// The default lifetime of a token, in days.
    pub const DEFAULT_DAYS: u32 = 90;
    /// The longest lifetime allowed, in days (ten years).
    pub const MAX_DAYS: u32 = 3650;
    /// The longest grace an old token gets after a rotation.
    pub const MAX_GRACE_MS: i64 = 7 * DAY_MS;

    /// Tokens that work for `days` days (1 to [`TokenPolicy::MAX_DAYS`]).
    pub fn days(days: u32) -> Result<TokenPolicy, BadTokenDays> {
        if !(1..=Self::MAX_DAYS).contains(&days) {
            return Err(BadTokenDays(days));
        }
        Ok(TokenPolicy {
            lifetime_ms: i64::from(days) * DAY_MS,
        })
    }

    /// When a token issued at `issued_at` stops working.
    pub fn expires_at(&self, issued_at: i64) -> i64 {
        issued_at.saturating_add(self.lifetime_ms)
    }

    /// From when a sync with a token issued at `issued_at` is given a new one: the last
    /// third of its life.
    pub fn rotate_at(&self, issued_at: i64) -> i64 {
        issued_at.saturating_add(self.lifetime_ms / 3 * 2)
    }

    /// How long an old token keeps working after a rotation: a week, or a third of the
    /// lifetime when that is shorter.
    pub fn grace_ms(&self) -> i64 {
        (self.lifetime_ms / 3).min(Self::MAX_GRACE_MS)
    }

    /// Until when the token issued at `issued_at`, replaced at `now_ms`, keeps working:
    /// the grace, but never beyond its own expiry.
    pub fn previous_until(&self, issued_at: i64, now_ms: i64) -> i64 {
        now_ms
            .saturating_add(self.grace_ms())
            .min(self.expires_at(issued_at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_rotates_in_its_last_third_and_its_grace_ends_by_its_expiry() {
        let p = TokenPolicy::default();
        assert_eq!(p.expires_at(0), 90 * DAY_MS);
        assert_eq!(p.rotate_at(0), 60 * DAY_MS);
        assert_eq!(p.grace_ms(), 7 * DAY_MS);
        assert_eq!(p.previous_until(0, 61 * DAY_MS), 68 * DAY_MS);
        assert_eq!(p.previous_until(0, 88 * DAY_MS), 90 * DAY_MS);
        let short = TokenPolicy::days(3).unwrap();
        assert_eq!(short.grace_ms(), DAY_MS);
        assert_eq!(short.rotate_at(0), 2 * DAY_MS);
        for bad in [0, TokenPolicy::MAX_DAYS + 1] {
            let err = TokenPolicy::days(bad).unwrap_err();
            assert!(err.to_string().contains("--token-days"), "{err}");
        }
    }
}
