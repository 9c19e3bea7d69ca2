//! Staff logins of the console: usernames, argon2id password hashes, and who may log in.
//!
//! Why argon2id with the crate's default parameters (19 MiB, 2 passes, 1 lane — OWASP's
//! recommended minimum): a stolen database must not give away passwords people reuse
//! elsewhere, and a login is rare enough (a few per person per day) that ~30 ms of work per
//! attempt costs nothing. The parameters are stored in each hash, so raising them later
//! needs no migration.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use wangge_core::{DeviceId, Role};

use crate::error::{ApiError, ApiResult};
use crate::storage::console::StaffLogin;
use crate::storage::{Person, Storage};

/// Shortest password accepted, in characters.
pub const MIN_PASSWORD_CHARS: usize = 10;
/// Longest password accepted, in characters (argon2 takes any length; this only refuses
/// absurd input early).
pub const MAX_PASSWORD_CHARS: usize = 256;
/// Longest username, in characters.
pub const MAX_USERNAME_CHARS: usize = 32;

/// The roles that work in the console: the centre, unit handlers and the inspection teams.
/// Grid officers and workstation staff work on their phones.
pub const CONSOLE_ROLES: [Role; 3] = [Role::Centre, Role::HandlingUnit, Role::Supervisor];

/// Whether `person` may log in to the console: active and holding a console role.
pub fn may_use_console(person: &Person) -> bool {
    person.active && person.roles.iter().any(|r| CONSOLE_ROLES.contains(r))
}

/// The stored form of a username: trimmed and lower-case. Letters, digits, `.`, `_` and
/// `-` only, 2 to [`MAX_USERNAME_CHARS`] characters, so a username is never mistaken for
/// markup or a path and reads the same on every keyboard.
pub fn normalise_username(username: &str) -> ApiResult<String> {
    let name = username.trim().to_lowercase();
    let ok = (2..=MAX_USERNAME_CHARS).contains(&name.chars().count())
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(name)
    } else {
        Err(ApiError::unprocessable(
            "bad_username",
            format!("a username has 2 to {MAX_USERNAME_CHARS} letters, digits, '.', '_' or '-'"),
        ))
    }
}

fn argon2() -> Argon2<'static> {
    // Argon2id, version 0x13, the crate's default (recommended) parameters.
    Argon2::default()
}

/// Hashes a password with argon2id and a fresh random salt (PHC string form).
pub fn hash_password(password: &str) -> ApiResult<String> {
    let chars = password.chars().count();
    if chars < MIN_PASSWORD_CHARS {
        return Err(ApiError::unprocessable(
            "weak_password",
            format!("a password has at least {MIN_PASSWORD_CHARS} characters"),
        ));
    }
    if chars > MAX_PASSWORD_CHARS {
        return Err(ApiError::unprocessable(
            "bad_password",
            format!("a password has at most {MAX_PASSWORD_CHARS} characters"),
        ));
    }
    let mut salt = [0u8; 16];
    getrandom::fill(&mut salt).map_err(|e| ApiError::internal(format!("no randomness: {e}")))?;
    let salt = SaltString::encode_b64(&salt)
        .map_err(|e| ApiError::internal(format!("password salt: {e}")))?;
    argon2()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| ApiError::internal(format!("password hashing: {e}")))
}

/// Whether `password` matches the stored `hash`. A hash that cannot be read matches
/// nothing.
pub fn verify_password(hash: &str, password: &str) -> bool {
    if password.chars().count() > MAX_PASSWORD_CHARS {
        return false;
    }
    match PasswordHash::new(hash) {
        Ok(parsed) => argon2()
            .verify_password(password.as_bytes(), &parsed)
            .is_ok(),
        Err(_) => false,
    }
}

/// Spends the time of one verification against a fixed hash, so that a login with an
/// unknown username takes as long as one with a wrong password (no username probing by
/// timing).
pub fn verify_nothing(password: &str) {
    static DUMMY: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    if let Some(hash) = DUMMY.get_or_init(|| hash_password("not-a-password-of-anyone").ok()) {
        let _ = verify_password(hash, password);
    }
}

/// Creates or replaces the console login of person `staff_id`: username and password.
/// Refused when the person is unknown, has left, or holds no console role
/// ([`CONSOLE_ROLES`]); when the username is malformed or taken; when the password is too
/// short. A new password ends the person's open sessions. The person keeps their console
/// device id across password changes, so their timeline entries stay together.
pub fn create_login(
    storage: &dyn Storage,
    staff_id: &str,
    username: &str,
    password: &str,
    now_ms: i64,
) -> ApiResult<()> {
    let person = storage.person(staff_id)?.ok_or_else(|| {
        ApiError::not_found(format!(
            "no person '{staff_id}' in the register; import the roster first"
        ))
    })?;
    if !may_use_console(&person) {
        return Err(ApiError::unprocessable(
            "no_console_role",
            format!(
                "{staff_id} is not an active centre operator, unit handler or supervisor; \
                 the console is for them (officers use the phone app)"
            ),
        ));
    }
    let username = normalise_username(username)?;
    let password_hash = hash_password(password)?;
    let device_id = match storage.login_of(staff_id)? {
        Some(old) => old.device_id,
        None => DeviceId::generate().to_string(),
    };
    Ok(storage.set_login(&StaffLogin {
        username,
        staff_id: staff_id.to_owned(),
        password_hash,
        device_id,
        updated_at: now_ms,
    })?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_hash_with_argon2id_and_verify() {
        let hash = hash_password("correct horse battery").unwrap();
        assert!(hash.starts_with("$argon2id$v=19$"), "{hash}");
        assert!(verify_password(&hash, "correct horse battery"));
        assert!(!verify_password(&hash, "correct horse battery "));
        assert!(!verify_password("not a hash", "correct horse battery"));
        // Salted: the same password hashes differently.
        assert_ne!(hash, hash_password("correct horse battery").unwrap());
    }

    #[test]
    fn short_passwords_and_odd_usernames_are_refused() {
        assert_eq!(hash_password("short").unwrap_err().code, "weak_password");
        assert_eq!(normalise_username("  Zhang.San ").unwrap(), "zhang.san");
        for bad in ["a", "张三", "a b", "<script>", &"x".repeat(33)] {
            assert_eq!(normalise_username(bad).unwrap_err().code, "bad_username");
        }
    }
}
