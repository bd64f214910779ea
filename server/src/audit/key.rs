//! The audit MAC key: HMAC-SHA256 over each record and the previous record's MAC, with a
//! key that never touches the database, so whoever can write the database cannot
//! recompute the chain. A key of its own, not derived from the master key: an auditor
//! who verifies the log needs this key and must not be able to open provider credentials.
//! Several keys may be given (the newest first) so records made before a rotation still
//! verify; each record names the key it was made with.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;

use crate::util::sha256_hex;

pub const KEY_ENV: &str = "SWITCHYARD_AUDIT_KEY";
pub const KEY_FILE_ENV: &str = "SWITCHYARD_AUDIT_KEY_FILE";

#[derive(Debug, thiserror::Error)]
pub enum AuditKeyError {
    #[error("no audit key: set {KEY_ENV} (base64 of 32 bytes) or {KEY_FILE_ENV}")]
    Missing,
    #[error("audit key: {0}")]
    BadKey(String),
}

/// One key. `Debug` shows only its id.
#[derive(Clone)]
pub struct AuditKey {
    key: [u8; 32],
    id: String,
}

impl std::fmt::Debug for AuditKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "AuditKey({})", self.id)
    }
}

impl AuditKey {
    /// Parses base64 (standard) of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<Self, AuditKeyError> {
        let key = crate::crypto::decode_key(text).map_err(AuditKeyError::BadKey)?;
        // Domain-separated, so the id of an audit key never equals a master key's id.
        let mut named = b"switchyard audit key id\0".to_vec();
        named.extend_from_slice(&key);
        let id = sha256_hex(&named)[..16].to_owned();
        Ok(AuditKey { key, id })
    }

    /// A new random key, base64.
    pub fn generate_base64() -> String {
        let key: [u8; 32] = rand::rng().random();
        B64.encode(key)
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    /// HMAC-SHA256(key, previous MAC ‖ 0x0a ‖ canonical record), hex.
    pub fn mac(&self, prev: &str, canonical: &str) -> String {
        let Ok(mut mac) = <Hmac<Sha256> as Mac>::new_from_slice(&self.key) else {
            // HMAC takes keys of any length; 32 bytes cannot be refused.
            return String::new();
        };
        mac.update(prev.as_bytes());
        mac.update(b"\n");
        mac.update(canonical.as_bytes());
        hex::encode(mac.finalize().into_bytes())
    }
}

/// The key new records are made with, and the retired ones older records still name.
#[derive(Debug, Clone)]
pub struct AuditKeys {
    current: AuditKey,
    retired: Vec<AuditKey>,
}

impl AuditKeys {
    pub fn new(current: AuditKey) -> Self {
        AuditKeys {
            current,
            retired: Vec::new(),
        }
    }

    /// One base64 key per line: the first is current, the others retired (kept to verify
    /// the records made before a rotation). Blank lines and `#` comments are skipped.
    pub fn parse(text: &str) -> Result<Self, AuditKeyError> {
        let mut keys = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(AuditKey::from_base64);
        let current = keys.next().ok_or(AuditKeyError::Missing)??;
        let retired = keys.collect::<Result<Vec<_>, _>>()?;
        Ok(AuditKeys { current, retired })
    }

    pub fn from_file(path: &std::path::Path) -> Result<Self, AuditKeyError> {
        Self::parse(&crate::crypto::read_key_file(path).map_err(AuditKeyError::BadKey)?)
    }

    /// From `SWITCHYARD_AUDIT_KEY`, else the file `SWITCHYARD_AUDIT_KEY_FILE`.
    pub fn from_env() -> Result<Self, AuditKeyError> {
        match crate::crypto::key_text_from_env(KEY_ENV, KEY_FILE_ENV) {
            Some(text) => Self::parse(&text.map_err(AuditKeyError::BadKey)?),
            None => Err(AuditKeyError::Missing),
        }
    }

    /// [`AuditKeys::from_env`], `None` when neither variable is set.
    pub fn from_env_if_set() -> Result<Option<Self>, AuditKeyError> {
        match Self::from_env() {
            Ok(keys) => Ok(Some(keys)),
            Err(AuditKeyError::Missing) => Ok(None),
            Err(e) => Err(e),
        }
    }

    pub fn current(&self) -> &AuditKey {
        &self.current
    }

    /// The key with this id, current or retired.
    pub fn by_id(&self, id: &str) -> Option<&AuditKey> {
        std::iter::once(&self.current)
            .chain(&self.retired)
            .find(|k| k.id == id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn macs_depend_on_key_and_previous_link() {
        let a = AuditKey::from_base64(&AuditKey::generate_base64()).unwrap();
        let b = AuditKey::from_base64(&AuditKey::generate_base64()).unwrap();
        assert_eq!(a.mac("p", "r").len(), 64);
        assert_eq!(a.mac("p", "r"), a.mac("p", "r"));
        assert_ne!(a.mac("p", "r"), b.mac("p", "r"));
        assert_ne!(a.mac("p", "r"), a.mac("q", "r"));
        let ring = AuditKeys::parse(&format!(
            "# newest first\n{}\n\n{}\n",
            B64.encode(b.key),
            B64.encode(a.key)
        ))
        .unwrap();
        assert_eq!(ring.current().id(), b.id());
        assert!(ring.by_id(a.id()).is_some());
        assert!(ring.by_id("nope").is_none());
        assert!(matches!(
            AuditKeys::parse("\n"),
            Err(AuditKeyError::Missing)
        ));
    }
}
