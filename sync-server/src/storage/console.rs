//! What the browser console stores: staff logins (a username and an argon2id password hash
//! per person) and login sessions. Both live beside people and devices because a console
//! action is recorded as the person, exactly like a device's push.

use serde::{Deserialize, Serialize};

/// A person's console login.
///
/// Why a login is its own row and not columns of the person: people come from the roster
/// file, which an administrator re-imports; a re-import must not reset passwords, and a
/// person without a console login (a grid officer with a phone) should have no password
/// hash at all.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaffLogin {
    /// The name typed at the login page, stored lower-case (logins are case-insensitive).
    pub username: String,
    /// The person (a staff id of the roster).
    pub staff_id: String,
    /// The argon2id hash in PHC string form (`$argon2id$v=19$…`): salt and parameters
    /// travel with the hash, so stronger parameters later need no migration.
    pub password_hash: String,
    /// The device id the person's console actions are recorded with (one per login, made
    /// when the login is created), so the timeline tells a console action from a phone's.
    pub device_id: String,
    /// When the login was made or its password last changed (ms).
    pub updated_at: i64,
}

/// A logged-in browser. The cookie carries a random token; the database keeps only its
/// SHA-256, so a copy of the database opens no session.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ConsoleSession {
    /// Who is logged in.
    pub staff_id: String,
    /// The anti-forgery token every write of this session must carry (hex, random).
    pub csrf: String,
    /// When the session began (ms).
    pub created_at: i64,
    /// The last request seen (ms), for the idle limit.
    pub last_seen: i64,
    /// When the session ends whatever happens (ms).
    pub expires_at: i64,
}
