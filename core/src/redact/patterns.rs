//! What the redactor looks for: one pattern per kind of PII or secret, each with the check
//! its matches must pass. Every pattern is a plain regular expression (no look-around, no
//! back-references), so the `regex` crate runs them in time linear in the text.

use std::ops::Range;

use super::PiiKind;
use super::checks;

/// Whether a match is PII, and which part of it: `None` to leave it alone.
pub(super) type Check = fn(&str, Range<usize>) -> Option<Range<usize>>;

pub(super) struct Pattern {
    pub kind: PiiKind,
    pub regex: &'static str,
    /// When set, only this capture group is replaced (the token after `Bearer`).
    pub group: Option<usize>,
    pub check: Option<Check>,
}

const fn pattern(kind: PiiKind, regex: &'static str, check: Option<Check>) -> Pattern {
    Pattern {
        kind,
        regex,
        group: None,
        check,
    }
}

/// In order of precedence: where two matches start at the same place and are as long,
/// the earlier pattern wins. `(?-u:\b)` is an ASCII word boundary, which the regex crate's
/// DFAs handle on any text (a Unicode one makes them give up on non-ASCII input).
pub(super) const PATTERNS: &[Pattern] = &[
    pattern(
        PiiKind::PrivateKey,
        r"(?s)-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----",
        None,
    ),
    pattern(
        PiiKind::Token,
        r"(?-u:\b)eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{16,}",
        None,
    ),
    Pattern {
        kind: PiiKind::Token,
        regex: r"(?i:bearer)[ \t]+([A-Za-z0-9._~+/=-]{16,})",
        group: Some(1),
        check: None,
    },
    pattern(PiiKind::ApiKey, r"(?-u:\b)sk-[A-Za-z0-9_-]{20,}", None),
    pattern(
        PiiKind::ApiKey,
        r"(?-u:\b)sy[sp]?_[0-9a-f]{4,}_[0-9a-f]{16,}(?-u:\b)",
        None,
    ),
    pattern(
        PiiKind::ApiKey,
        r"(?-u:\b)(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}(?-u:\b)",
        None,
    ),
    pattern(
        PiiKind::Email,
        r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?-u:\b)",
        None,
    ),
    pattern(
        PiiKind::NationalId,
        r"(?-u:\b)[1-9][0-9]{16}[0-9Xx](?-u:\b)",
        Some(checks::cn_resident_id),
    ),
    pattern(
        PiiKind::Iban,
        r"(?-u:\b)[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,3})?(?-u:\b)",
        Some(checks::iban),
    ),
    pattern(
        PiiKind::Card,
        r"(?-u:\b)[0-9](?:[ -]?[0-9]){12,18}(?-u:\b)",
        Some(checks::card),
    ),
    pattern(
        PiiKind::Ssn,
        r"(?-u:\b)[0-9]{3}-[0-9]{2}-[0-9]{4}(?-u:\b)",
        Some(checks::ssn),
    ),
    // International: +CC, an optional area code in brackets, groups of digits.
    pattern(
        PiiKind::Phone,
        r"\+[0-9]{1,3}(?:[ .-]?\([0-9]{1,4}\))?(?:[ .-]?[0-9]{1,5}){1,5}(?-u:\b)",
        Some(checks::phone),
    ),
    // A Chinese mobile number: 1, then 3 to 9, then nine digits (spaced 3-4-4 or not).
    pattern(
        PiiKind::Phone,
        r"(?-u:\b)1[3-9][0-9](?:[ -]?[0-9]{4}){2}(?-u:\b)",
        Some(checks::phone),
    ),
    // North American: (555) 123-4567, 555-123-4567, 555.123.4567.
    pattern(
        PiiKind::Phone,
        r"(?:\([0-9]{3}\) ?|(?-u:\b)[0-9]{3}[ .-])[0-9]{3}[ .-][0-9]{4}(?-u:\b)",
        Some(checks::phone),
    ),
    // National forms with a trunk 0: 020 7946 0958, 030 1234567, 01 23 45 67 89.
    pattern(
        PiiKind::Phone,
        r"(?-u:\b)0[1-9][0-9]{0,3}(?: [0-9]{2,4}){1,4}(?-u:\b)",
        Some(checks::phone),
    ),
    pattern(
        PiiKind::Ip,
        r"(?-u:\b)(?:(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])\.){3}(?:25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(?-u:\b)",
        Some(checks::ipv4),
    ),
    pattern(
        PiiKind::Ip,
        r"[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:[0-9]{1,3}(?:\.[0-9]{1,3}){3})?",
        Some(checks::ipv6),
    ),
];
