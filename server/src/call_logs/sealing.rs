//! Content at rest: the JSON gzip'd (a chat request compresses to about half) and sealed
//! with the master key like a provider credential, bound to its tenant and event id, so a
//! row copied to another tenant or id does not open.

use std::io::{Read, Write};

use crate::crypto::{CryptoError, MasterKey, call_log_aad};

/// Why content cannot be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum SealError {
    #[error(transparent)]
    Crypto(#[from] CryptoError),
    #[error("call-log content does not decompress: {0}")]
    Compression(#[from] std::io::Error),
}

/// Seals `json` for the call `id` of `tenant_id`.
pub fn seal(key: &MasterKey, tenant_id: &str, id: &str, json: &str) -> Result<String, SealError> {
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(json.as_bytes())?;
    Ok(key.seal_bytes(&gz.finish()?, &call_log_aad(tenant_id, id))?)
}

/// The JSON [`seal`] sealed.
pub fn open(key: &MasterKey, tenant_id: &str, id: &str, sealed: &str) -> Result<String, SealError> {
    let packed = key.open_bytes(sealed, &call_log_aad(tenant_id, id))?;
    let mut json = String::new();
    flate2::read::GzDecoder::new(packed.as_slice()).read_to_string(&mut json)?;
    Ok(json)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_binds_to_the_row() {
        let key = MasterKey::from_base64(&MasterKey::generate_base64()).unwrap();
        let json = r#"{"request":{"messages":[{"role":"user","content":"the secret plan"}]}}"#;
        let sealed = seal(&key, "t1", "id1", json).unwrap();
        assert!(!sealed.contains("secret plan"));
        assert_eq!(open(&key, "t1", "id1", &sealed).unwrap(), json);
        assert!(open(&key, "t2", "id1", &sealed).is_err());
        assert!(open(&key, "t1", "id2", &sealed).is_err());
    }
}
