//! Login attempts, rate-limited: at most [`MAX_FAILURES_PER_USERNAME`] wrong passwords for
//! one username and [`MAX_FAILURES_PER_ADDRESS`] from one address within
//! [`WINDOW_MS`]; past that, logins are refused (`429 too_many_attempts`) until the oldest
//! failure leaves the window.
//!
//! Why in memory and not in the database: a limit that forgets on restart costs an
//! attacker a restart they cannot cause, while a table of failures would be written by
//! anyone who can reach the login page. With several instances each counts its own
//! failures, so the limit is multiplied by the number of instances — still hours per
//! thousand guesses against argon2id (`docs/back-office.md`, "Console").

use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;

/// The window failures are counted in (15 minutes).
pub const WINDOW_MS: i64 = 15 * 60 * 1000;
/// Wrong passwords allowed for one username within the window.
pub const MAX_FAILURES_PER_USERNAME: usize = 5;
/// Failed logins allowed from one address within the window (an office behind one address
/// has many people, so more than per username).
pub const MAX_FAILURES_PER_ADDRESS: usize = 30;
/// Keys remembered at most; beyond it the oldest windows are dropped first. Bounds the
/// memory an attacker cycling usernames can take.
const MAX_KEYS: usize = 10_000;

/// Counts failed logins per username and per address.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    failures: Mutex<HashMap<String, VecDeque<i64>>>,
}

fn keys(username: &str, address: Option<&str>) -> (String, Option<String>) {
    (
        format!("user:{username}"),
        address.map(|a| format!("addr:{a}")),
    )
}

impl LoginThrottle {
    /// `Err(seconds to wait)` when a login for `username` from `address` must be refused now.
    pub fn check(&self, username: &str, address: Option<&str>, now_ms: i64) -> Result<(), u64> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let (user, addr) = keys(username, address);
        let mut wait = 0i64;
        for (key, max) in [
            (Some(user), MAX_FAILURES_PER_USERNAME),
            (addr, MAX_FAILURES_PER_ADDRESS),
        ] {
            let Some(times) = key.and_then(|k| map.get_mut(&k)) else {
                continue;
            };
            while times.front().is_some_and(|t| *t <= now_ms - WINDOW_MS) {
                times.pop_front();
            }
            if times.len() >= max
                && let Some(oldest) = times.front()
            {
                wait = wait.max(oldest + WINDOW_MS - now_ms);
            }
        }
        if wait > 0 {
            Err(((wait + 999) / 1000) as u64)
        } else {
            Ok(())
        }
    }

    /// Records a failed login.
    pub fn failed(&self, username: &str, address: Option<&str>, now_ms: i64) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        if map.len() >= MAX_KEYS {
            map.retain(|_, times| times.back().is_some_and(|t| *t > now_ms - WINDOW_MS));
            if map.len() >= MAX_KEYS {
                map.clear();
            }
        }
        let (user, addr) = keys(username, address);
        for key in [Some(user), addr].into_iter().flatten() {
            map.entry(key).or_default().push_back(now_ms);
        }
    }

    /// Forgets the failures of a username after a successful login (the address's stay).
    pub fn succeeded(&self, username: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&keys(username, None).0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn five_failures_lock_a_username_for_the_window() {
        let t = LoginThrottle::default();
        for i in 0..5 {
            assert!(t.check("zhang", Some("10.0.0.1"), 1_000 + i).is_ok());
            t.failed("zhang", Some("10.0.0.1"), 1_000 + i);
        }
        let wait = t.check("zhang", Some("10.0.0.2"), 2_000).unwrap_err();
        assert!(wait > 800 && wait <= 900, "{wait}");
        // Another username from the same address is still allowed.
        assert!(t.check("li", Some("10.0.0.1"), 2_000).is_ok());
        // After the window the username may try again.
        assert!(t.check("zhang", None, 1_004 + WINDOW_MS).is_ok());
    }

    #[test]
    fn one_address_is_limited_across_usernames() {
        let t = LoginThrottle::default();
        for i in 0..MAX_FAILURES_PER_ADDRESS {
            t.failed(&format!("user{i}"), Some("10.0.0.9"), 5_000);
        }
        assert!(t.check("someone", Some("10.0.0.9"), 5_001).is_err());
        assert!(t.check("someone", Some("10.0.0.8"), 5_001).is_ok());
    }

    #[test]
    fn success_clears_the_username() {
        let t = LoginThrottle::default();
        for _ in 0..5 {
            t.failed("wang", None, 10);
        }
        assert!(t.check("wang", None, 11).is_err());
        t.succeeded("wang");
        assert!(t.check("wang", None, 12).is_ok());
    }
}
