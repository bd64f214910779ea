//! Bearer secrets: `<kind>_<prefix>_<secret>`. The prefix is a public lookup handle (an
//! index, shown in lists); only SHA-256 of the whole string is stored.

use crate::util::random_hex;

const PREFIX_HEX: usize = 12;
const SECRET_HEX: usize = 64;

/// A fresh token of `kind` (`sy` app key, `sys` session, `syp` personal), and its prefix.
pub fn generate(kind: &str) -> (String, String) {
    let prefix = random_hex(PREFIX_HEX / 2);
    let secret = random_hex(SECRET_HEX / 2);
    (format!("{kind}_{prefix}_{secret}"), prefix)
}

/// The lookup prefix of a well-formed token of `kind`, else `None`.
pub fn parse<'a>(kind: &str, presented: &'a str) -> Option<&'a str> {
    let rest = presented.strip_prefix(kind)?.strip_prefix('_')?;
    let (prefix, secret) = rest.split_once('_')?;
    let hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    (hex(prefix, PREFIX_HEX) && hex(secret, SECRET_HEX)).then_some(prefix)
}

/// Compares without an early exit, so timing does not reveal how much matched.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A token safe to log: its kind and prefix only.
pub fn redact(presented: &str) -> String {
    match presented.split('_').collect::<Vec<_>>().as_slice() {
        [kind, prefix, _] => format!("{kind}_{prefix}_…"),
        _ => "…".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let (token, prefix) = generate("sy");
        assert_eq!(parse("sy", &token), Some(prefix.as_str()));
        assert_eq!(parse("sys", &token), None);
        assert_eq!(parse("sy", "sy_zz_zz"), None);
        assert!(!redact(&token).contains(&token[16..]));
    }
}
