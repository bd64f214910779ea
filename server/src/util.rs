//! Small helpers shared by every layer: ids, clocks, digests.

use rand::Rng;
use sha2::{Digest, Sha256};

/// Unix time in milliseconds: the one time unit stored in the database.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// A new opaque id such as `app_4f1c…`: random, so ids reveal neither count nor order.
pub fn new_id(kind: &str) -> String {
    let bytes: [u8; 10] = rand::rng().random();
    format!("{kind}_{}", hex::encode(bytes))
}

/// `n` random bytes, hex-encoded, from the thread's CSPRNG.
pub fn random_hex(n: usize) -> String {
    let mut rng = rand::rng();
    let bytes: Vec<u8> = (0..n).map(|_| rng.random()).collect();
    hex::encode(bytes)
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// The digest of a JSON value as serialised (serde_json keeps object keys sorted here).
pub fn json_digest(value: &serde_json::Value) -> String {
    sha256_hex(value.to_string().as_bytes())
}
