//! Provider credentials at rest: AES-256-GCM under a master key that never touches the
//! database. Each ciphertext names the key it was sealed with (`v1:<key id>:…`) and is
//! bound to its tenant and provider by the associated data, so a row copied elsewhere
//! does not decrypt.

use aes_gcm::aead::{Aead, AeadCore, KeyInit, OsRng, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;

use crate::util::sha256_hex;

pub const KEY_ENV: &str = "SWITCHYARD_MASTER_KEY";
pub const KEY_FILE_ENV: &str = "SWITCHYARD_MASTER_KEY_FILE";

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("no master key: set {KEY_ENV} (base64 of 32 bytes) or {KEY_FILE_ENV}")]
    Missing,
    #[error("master key: {0}")]
    BadKey(String),
    #[error("credential was sealed with key {0}, not the current master key")]
    WrongKey(String),
    #[error("credential does not decrypt (corrupt, or bound to another provider)")]
    Corrupt,
}

/// The master key. `Debug` shows only its id.
#[derive(Clone)]
pub struct MasterKey {
    key: [u8; 32],
    id: String,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({})", self.id)
    }
}

impl MasterKey {
    /// Parses base64 (standard) of exactly 32 bytes.
    pub fn from_base64(text: &str) -> Result<Self, CryptoError> {
        let key = decode_key(text).map_err(CryptoError::BadKey)?;
        let id = sha256_hex(&key)[..8].to_owned();
        Ok(MasterKey { key, id })
    }

    pub fn from_file(path: &std::path::Path) -> Result<Self, CryptoError> {
        Self::from_base64(&read_key_file(path).map_err(CryptoError::BadKey)?)
    }

    /// From `SWITCHYARD_MASTER_KEY`, else the file named by `SWITCHYARD_MASTER_KEY_FILE`.
    pub fn from_env() -> Result<Self, CryptoError> {
        match key_text_from_env(KEY_ENV, KEY_FILE_ENV) {
            Some(text) => Self::from_base64(&text.map_err(CryptoError::BadKey)?),
            None => Err(CryptoError::Missing),
        }
    }

    /// A new random key, base64, for `switchyard init` and rotation.
    pub fn generate_base64() -> String {
        let key = Aes256Gcm::generate_key(OsRng);
        B64.encode(key.as_slice())
    }

    pub fn id(&self) -> &str {
        &self.id
    }

    pub fn seal(&self, plaintext: &str, aad: &str) -> Result<String, CryptoError> {
        self.seal_bytes(plaintext.as_bytes(), aad)
    }

    /// [`MasterKey::seal`] for bytes that are not text (compressed call-log content).
    pub fn seal_bytes(&self, plaintext: &[u8], aad: &str) -> Result<String, CryptoError> {
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.key));
        let nonce = Aes256Gcm::generate_nonce(&mut OsRng);
        let ct = cipher
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Corrupt)?;
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&ct);
        Ok(format!("v1:{}:{}", self.id, B64.encode(blob)))
    }

    pub fn open(&self, sealed: &str, aad: &str) -> Result<String, CryptoError> {
        String::from_utf8(self.open_bytes(sealed, aad)?).map_err(|_| CryptoError::Corrupt)
    }

    /// [`MasterKey::open`] for what [`MasterKey::seal_bytes`] sealed.
    pub fn open_bytes(&self, sealed: &str, aad: &str) -> Result<Vec<u8>, CryptoError> {
        let mut parts = sealed.splitn(3, ':');
        let (Some("v1"), Some(key_id), Some(body)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(CryptoError::Corrupt);
        };
        if key_id != self.id {
            return Err(CryptoError::WrongKey(key_id.into()));
        }
        let blob = B64.decode(body).map_err(|_| CryptoError::Corrupt)?;
        if blob.len() < 12 {
            return Err(CryptoError::Corrupt);
        }
        let (nonce, ct) = blob.split_at(12);
        let cipher = Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(&self.key));
        cipher
            .decrypt(
                Nonce::from_slice(nonce),
                Payload {
                    msg: ct,
                    aad: aad.as_bytes(),
                },
            )
            .map_err(|_| CryptoError::Corrupt)
    }
}

/// A 32-byte key as every key kept outside the database is written: base64 (standard),
/// surrounding whitespace ignored.
pub(crate) fn decode_key(text: &str) -> Result<[u8; 32], String> {
    B64.decode(text.trim())
        .map_err(|e| format!("not base64: {e}"))?
        .try_into()
        .map_err(|_| "must be 32 bytes".to_owned())
}

pub(crate) fn read_key_file(path: &std::path::Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// A key's text from the variable `var`, else from the file the variable `file_var`
/// names; `None` when neither is set.
pub(crate) fn key_text_from_env(var: &str, file_var: &str) -> Option<Result<String, String>> {
    if let Ok(text) = std::env::var(var) {
        return Some(Ok(text));
    }
    let path = std::env::var(file_var).ok()?;
    Some(read_key_file(std::path::Path::new(&path)))
}

/// What binds a provider credential to its row.
pub fn provider_aad(tenant_id: &str, provider_name: &str) -> String {
    format!("provider:{tenant_id}:{provider_name}")
}

/// What binds a tenant's OpenID client secret to its row.
pub fn sso_aad(tenant_id: &str) -> String {
    format!("sso:{tenant_id}")
}

/// What binds a call log's sealed content to its row.
pub fn call_log_aad(tenant_id: &str, id: &str) -> String {
    format!("call_log:{tenant_id}:{id}")
}

/// A hint safe to show: the last four characters.
pub fn hint(secret: &str) -> String {
    let tail: String = secret
        .chars()
        .rev()
        .take(4)
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .collect();
    format!("…{tail}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_bound_to_aad() {
        let k = MasterKey::from_base64(&MasterKey::generate_base64()).unwrap();
        let s = k.seal("sk-secret", "provider:t:openai").unwrap();
        assert!(!s.contains("sk-secret"));
        assert_eq!(k.open(&s, "provider:t:openai").unwrap(), "sk-secret");
        assert!(matches!(
            k.open(&s, "provider:t:other"),
            Err(CryptoError::Corrupt)
        ));
        let other = MasterKey::from_base64(&MasterKey::generate_base64()).unwrap();
        assert!(matches!(
            other.open(&s, "provider:t:openai"),
            Err(CryptoError::WrongKey(_))
        ));
        assert_eq!(hint("sk-abcd1234"), "…1234");
    }
}
