//! Password hashing with argon2id (the crate's default parameters, OWASP's baseline).

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

#[derive(Debug, thiserror::Error)]
#[error("password hashing failed: {0}")]
pub struct PasswordError(String);

pub fn hash_password(password: &str) -> Result<String, PasswordError> {
    hash_with(Argon2::default(), password)
}

/// The cheapest argon2id parameters: tests only (the hash still verifies normally).
pub fn hash_password_cheap(password: &str) -> Result<String, PasswordError> {
    let params = argon2::Params::new(8, 1, 1, None).map_err(|e| PasswordError(e.to_string()))?;
    hash_with(
        Argon2::new(argon2::Algorithm::Argon2id, argon2::Version::V0x13, params),
        password,
    )
}

fn hash_with(argon: Argon2<'_>, password: &str) -> Result<String, PasswordError> {
    let salt = SaltString::generate(&mut OsRng);
    argon
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError(e.to_string()))
}

/// False for a wrong password and for a hash that does not parse.
pub fn verify_password(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            Argon2::default()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// A hash to verify against when the user does not exist, so that an unknown user costs
/// the same time as a wrong password.
pub fn dummy_hash() -> &'static str {
    "$argon2id$v=19$m=19456,t=2,p=1$c29tZXNhbHRzb21lc2FsdA$1hv3hY3IcPqdQO4FhX0Q3YRmHa+K5b2QfUY0b3CS7y0"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verifies() {
        let h = hash_password("correct horse").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &h));
        assert!(!verify_password("wrong", &h));
        assert!(!verify_password("x", "not a hash"));
    }
}
