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

/// `a%20b+c` into `a b c` (form encoding, as in query strings); a `%` not followed by
/// two hex digits stays as it is.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' if bytes
                .get(i + 1..i + 3)
                .is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)) =>
            {
                let hex = |b: u8| (b as char).to_digit(16).unwrap_or(0) as u8;
                out.push(hex(bytes[i + 1]) << 4 | hex(bytes[i + 2]));
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_decodes_only_whole_escapes() {
        assert_eq!(percent_decode("a%20b+c%2Fd"), "a b c/d");
        assert_eq!(percent_decode("100%"), "100%");
        assert_eq!(percent_decode("%+5%zz%4"), "% 5%zz%4");
        assert_eq!(percent_decode("%E2%9C%93"), "\u{2713}");
    }
}
