//! The config cache file's sealing: the last config from the server holds the provider
//! keys sent to this app, so it is written encrypted (AES-256-GCM, a random nonce per
//! write) under a key derived from the app key (HKDF-SHA256, fixed info string). Only a
//! process holding the same app key can read it; a file from another app key is refused,
//! and a plain-text file from an older version is recognised so it can be rewritten.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ring::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use ring::hkdf::{HKDF_SHA256, Salt};
use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

const FORMAT: &str = "switchyard-config-cache/1";
/// HKDF's info: what the derived key is for, so it is never the key of anything else.
const INFO: &[u8] = b"switchyard config cache file v1 (AES-256-GCM)";

#[derive(Debug, thiserror::Error)]
pub(crate) enum CacheError {
    #[error("the cache file was written with another app key, or altered")]
    WrongKey,
    #[error("the cache file is neither sealed nor a config: {0}")]
    Unreadable(String),
    #[error("cannot seal the cache file")]
    Seal,
}

/// What is on disk.
#[derive(Serialize, Deserialize)]
struct Sealed {
    format: String,
    nonce: String,
    ciphertext: String,
}

/// What a file held.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Opened {
    /// Decrypted with this app key.
    Sealed(Vec<u8>),
    /// Plain text, as older versions wrote it: to be rewritten sealed.
    Plain(Vec<u8>),
}

fn key(app_key: &str) -> Result<LessSafeKey, CacheError> {
    let prk = Salt::new(HKDF_SHA256, &[]).extract(app_key.as_bytes());
    let okm = prk
        .expand(&[INFO], &AES_256_GCM)
        .map_err(|_| CacheError::Seal)?;
    Ok(LessSafeKey::new(UnboundKey::from(okm)))
}

pub(crate) fn seal(app_key: &str, plaintext: &[u8]) -> Result<Vec<u8>, CacheError> {
    let mut nonce = [0u8; NONCE_LEN];
    SystemRandom::new()
        .fill(&mut nonce)
        .map_err(|_| CacheError::Seal)?;
    let mut body = plaintext.to_vec();
    key(app_key)?
        .seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(FORMAT.as_bytes()),
            &mut body,
        )
        .map_err(|_| CacheError::Seal)?;
    serde_json::to_vec(&Sealed {
        format: FORMAT.to_owned(),
        nonce: B64.encode(nonce),
        ciphertext: B64.encode(body),
    })
    .map_err(|_| CacheError::Seal)
}

pub(crate) fn open(app_key: &str, bytes: &[u8]) -> Result<Opened, CacheError> {
    let sealed = match serde_json::from_slice::<Sealed>(bytes) {
        Ok(sealed) if sealed.format == FORMAT => sealed,
        Ok(sealed) => {
            return Err(CacheError::Unreadable(format!(
                "unknown format {}",
                sealed.format
            )));
        }
        Err(_) => {
            // Older versions wrote the received config itself, a JSON object.
            return match serde_json::from_slice::<serde_json::Value>(bytes) {
                Ok(v) if v.get("config").is_some() => Ok(Opened::Plain(bytes.to_vec())),
                Ok(_) => Err(CacheError::Unreadable("no config in it".into())),
                Err(e) => Err(CacheError::Unreadable(e.to_string())),
            };
        }
    };
    let nonce: [u8; NONCE_LEN] = B64
        .decode(&sealed.nonce)
        .ok()
        .and_then(|n| n.try_into().ok())
        .ok_or(CacheError::WrongKey)?;
    let mut body = B64
        .decode(&sealed.ciphertext)
        .map_err(|_| CacheError::WrongKey)?;
    let plain = key(app_key)?
        .open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(FORMAT.as_bytes()),
            &mut body,
        )
        .map_err(|_| CacheError::WrongKey)?;
    Ok(Opened::Sealed(plain.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "sk-live-provider-key-0123456789";

    fn config() -> Vec<u8> {
        serde_json::json!({"etag": "\"v3\"", "version": 3, "config": {"providers": {"openai": {"api_key": SECRET}}}})
            .to_string()
            .into_bytes()
    }

    #[test]
    fn round_trips_and_never_shows_the_secret() {
        let sealed = seal("sy_app_key_one", &config()).unwrap();
        let text = String::from_utf8_lossy(&sealed);
        assert!(!text.contains(SECRET) && !text.contains("openai"), "{text}");
        assert_eq!(
            open("sy_app_key_one", &sealed).unwrap(),
            Opened::Sealed(config())
        );
        // A fresh nonce each write: the same config never seals to the same bytes.
        assert_ne!(sealed, seal("sy_app_key_one", &config()).unwrap());
    }

    #[test]
    fn another_app_key_or_an_altered_file_cannot_read_it() {
        let sealed = seal("sy_app_key_one", &config()).unwrap();
        assert!(matches!(
            open("sy_app_key_two", &sealed),
            Err(CacheError::WrongKey)
        ));
        let mut file: serde_json::Value = serde_json::from_slice(&sealed).unwrap();
        let mut ct = B64.decode(file["ciphertext"].as_str().unwrap()).unwrap();
        ct[0] ^= 1;
        file["ciphertext"] = B64.encode(ct).into();
        let altered = serde_json::to_vec(&file).unwrap();
        assert!(matches!(
            open("sy_app_key_one", &altered),
            Err(CacheError::WrongKey)
        ));
    }

    #[test]
    fn an_older_plain_file_is_recognised() {
        assert_eq!(
            open("sy_app_key_one", &config()).unwrap(),
            Opened::Plain(config())
        );
        assert!(matches!(
            open("sy_app_key_one", b"not json"),
            Err(CacheError::Unreadable(_))
        ));
    }
}
