//! The checks a pattern's match must pass to count as PII: checksums (Luhn, IBAN's mod 97,
//! the Chinese resident ID's mod 11-2) and context, so random digits are not eaten.

use std::ops::Range;

/// Whether `c` joins a token: a match next to one is part of something longer (an order
/// number, a UUID, a version), not a value of its own.
fn joins(c: Option<u8>) -> bool {
    c.is_some_and(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'-' | b'/' | b'.'))
}

/// Nothing token-like touches `span` on either side (a sentence's full stop after it is fine).
pub(super) fn isolated(text: &str, span: &Range<usize>) -> bool {
    let bytes = text.as_bytes();
    let before = span.start.checked_sub(1).map(|i| bytes[i]);
    let after = bytes.get(span.end).copied();
    let after_joins = match after {
        // A full stop or hyphen ends a sentence or clause unless a digit or letter follows.
        Some(b'.' | b'-') => bytes
            .get(span.end + 1)
            .is_some_and(|c| c.is_ascii_alphanumeric()),
        other => joins(other),
    };
    !joins(before) && !after_joins
}

fn digits(s: &str) -> impl Iterator<Item = u32> + '_ {
    s.bytes()
        .filter(u8::is_ascii_digit)
        .map(|b| u32::from(b - b'0'))
}

/// The Luhn checksum payment card numbers carry.
pub(super) fn luhn(number: &str) -> bool {
    let all: Vec<u32> = digits(number).collect();
    let sum: u32 = all
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| match (i % 2 == 1, d * 2) {
            (true, twice) if twice > 9 => twice - 9,
            (true, twice) => twice,
            (false, _) => d,
        })
        .sum();
    sum % 10 == 0
}

/// Whether a card number's leading digits and length are an issuer's (Visa, Mastercard,
/// Amex, Discover, JCB, UnionPay, Diners, Maestro): with Luhn, this keeps a 14-digit
/// timestamp or an order number from passing one time in ten.
fn issued(number: &[u8]) -> bool {
    let prefix = |n: usize| -> u32 {
        number[..n]
            .iter()
            .fold(0, |acc, d| acc * 10 + u32::from(d - b'0'))
    };
    let len = number.len();
    match number[0] {
        b'4' => matches!(len, 13 | 16 | 19),
        b'3' => match prefix(2) {
            34 | 37 => len == 15,
            36 | 38 | 39 => (14..=19).contains(&len),
            30 => (300..=305).contains(&prefix(3)) && (14..=19).contains(&len),
            35 => (3528..=3589).contains(&prefix(4)) && (16..=19).contains(&len),
            _ => false,
        },
        b'2' => (2221..=2720).contains(&prefix(4)) && len == 16,
        b'5' => match prefix(2) {
            51..=55 => len == 16,
            50 | 56..=58 => (12..=19).contains(&len),
            _ => false,
        },
        b'6' => (16..=19).contains(&len),
        _ => false,
    }
}

/// A card: an issuer's prefix and length, and Luhn. A match that runs on into further
/// digits (a CVV, an expiry) is cut back at a separator until one passes.
pub(super) fn card(text: &str, span: Range<usize>) -> Option<Range<usize>> {
    let mut end = span.end;
    loop {
        let candidate = &text[span.start..end];
        let number: Vec<u8> = candidate.bytes().filter(u8::is_ascii_digit).collect();
        if number.len() >= 12
            && issued(&number)
            && luhn(candidate)
            && isolated(text, &(span.start..end))
        {
            return Some(span.start..end);
        }
        if number.len() <= 13 {
            return None;
        }
        end = span.start + candidate.rfind([' ', '-'])?;
    }
}

/// An IBAN: a country code, 15 to 34 characters, and the mod 97 check (ISO 13616).
pub(super) fn iban(text: &str, span: Range<usize>) -> Option<Range<usize>> {
    let compact: Vec<u8> = text[span.clone()].bytes().filter(|b| *b != b' ').collect();
    if !(15..=34).contains(&compact.len()) {
        return None;
    }
    let (head, tail) = compact.split_at(4);
    let mut remainder: u32 = 0;
    for &c in tail.iter().chain(head) {
        let value = match c {
            b'0'..=b'9' => u32::from(c - b'0'),
            b'A'..=b'Z' => u32::from(c - b'A') + 10,
            _ => return None,
        };
        remainder = if value >= 10 {
            (remainder * 100 + value) % 97
        } else {
            (remainder * 10 + value) % 97
        };
    }
    (remainder == 1 && isolated(text, &span)).then_some(span)
}

/// A US SSN: never area 000, 666 or 9xx, group 00 or serial 0000 (SSA's rules).
pub(super) fn ssn(text: &str, span: Range<usize>) -> Option<Range<usize>> {
    let s = &text[span.clone()];
    let mut parts = s.split('-');
    let (area, group, serial) = (parts.next()?, parts.next()?, parts.next()?);
    let valid = area != "000"
        && area != "666"
        && !area.starts_with('9')
        && group != "00"
        && serial != "0000";
    (valid && isolated(text, &span)).then_some(span)
}

/// A Chinese resident ID (GB 11643): a plausible birth date in digits 7 to 14, and the
/// ISO 7064 mod 11-2 check character.
pub(super) fn cn_resident_id(text: &str, span: Range<usize>) -> Option<Range<usize>> {
    const WEIGHTS: [u32; 17] = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
    const CHECK: &[u8; 11] = b"10X98765432";
    let id = text[span.clone()].as_bytes();
    let number = |range: Range<usize>| -> Option<u32> { text[span.start..][range].parse().ok() };
    let year = number(6..10)?;
    let month = number(10..12)?;
    let day = number(12..14)?;
    if !(1900..=2099).contains(&year) || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    let sum: u32 = id[..17]
        .iter()
        .zip(WEIGHTS)
        .map(|(d, w)| u32::from(d - b'0') * w)
        .sum();
    let check = CHECK[(sum % 11) as usize];
    (id[17].to_ascii_uppercase() == check && isolated(text, &span)).then_some(span)
}

/// A phone number: 8 to 15 digits (E.164's longest), standing on its own. A match that
/// runs on into a following number ("+44 20 7946 0958 10.0.0.1") is cut back at a
/// separator until one passes.
pub(super) fn phone(text: &str, span: Range<usize>) -> Option<Range<usize>> {
    let mut end = span.end;
    loop {
        let candidate = span.start..end;
        let count = digits(&text[candidate.clone()]).count();
        if (8..=15).contains(&count) && isolated(text, &candidate) {
            return Some(candidate);
        }
        if count <= 8 {
            return None;
        }
        end = span.start + text[candidate].rfind([' ', '.', '-'])?;
    }
}

/// An IPv4 address that is not part of a longer dotted run (a four-part version number
/// inside `1.2.3.4.5`).
pub(super) fn ipv4(text: &str, span: Range<usize>) -> Option<Range<usize>> {
    isolated(text, &span).then_some(span)
}

/// An IPv6 address: what the standard library parses, with a digit in it (so `dead::beef`
/// in code is left alone) and not inside a longer run of hex and colons.
pub(super) fn ipv6(text: &str, span: Range<usize>) -> Option<Range<usize>> {
    let s = &text[span.clone()];
    let hexish = |c: Option<u8>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == b':');
    let before = span.start.checked_sub(1).map(|i| text.as_bytes()[i]);
    let after = text.as_bytes().get(span.end).copied();
    let valid = s.parse::<std::net::Ipv6Addr>().is_ok()
        && s.bytes().any(|b| b.is_ascii_digit())
        && !hexish(before)
        && !hexish(after);
    valid.then_some(span)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_known_values() {
        assert!(luhn("4111 1111 1111 1111"));
        assert!(luhn("79927398713"));
        assert!(!luhn("4111 1111 1111 1112"));
    }

    #[test]
    fn iban_checksum() {
        let ok = "GB82 WEST 1234 5698 7654 32";
        assert_eq!(iban(ok, 0..ok.len()), Some(0..ok.len()));
        let bad = "GB82 WEST 1234 5698 7654 33";
        assert_eq!(iban(bad, 0..bad.len()), None);
    }

    #[test]
    fn resident_id_checksum() {
        let ok = "11010519491231002X";
        assert_eq!(cn_resident_id(ok, 0..18), Some(0..18));
        let bad = "110105194912310021";
        assert_eq!(cn_resident_id(bad, 0..18), None);
    }
}
