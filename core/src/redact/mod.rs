//! The PII redactor: finds emails, phone numbers, payment cards, IBANs, IP addresses, US
//! SSNs, Chinese resident IDs and secrets (API keys, bearer tokens, JWTs, private keys) in
//! text, and replaces each with a typed placeholder such as `[EMAIL]`.
//!
//! One redactor for every path where content leaves the process: call logs use it today
//! (`docs/call-logs.md`); anything that later logs or masks content must call [`redact`]
//! too, so what is hidden is the same everywhere.

mod checks;
mod patterns;

use std::borrow::Cow;
use std::ops::Range;
use std::sync::LazyLock;

use regex::{Regex, RegexSet};

use patterns::{Check, PATTERNS};

/// A kind of PII or secret, and the placeholder that replaces it. Named in configs in
/// snake_case (`email`, `national_id`, `api_key`).
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    serde::Serialize,
    serde::Deserialize,
    schemars::JsonSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum PiiKind {
    Email,
    Phone,
    Card,
    Iban,
    Ip,
    Ssn,
    NationalId,
    ApiKey,
    Token,
    PrivateKey,
}

impl PiiKind {
    /// What a match of this kind is replaced by.
    pub fn placeholder(self) -> &'static str {
        match self {
            PiiKind::Email => "[EMAIL]",
            PiiKind::Phone => "[PHONE]",
            PiiKind::Card => "[CARD]",
            PiiKind::Iban => "[IBAN]",
            PiiKind::Ip => "[IP]",
            PiiKind::Ssn => "[SSN]",
            PiiKind::NationalId => "[ID_NUMBER]",
            PiiKind::ApiKey => "[API_KEY]",
            PiiKind::Token => "[TOKEN]",
            PiiKind::PrivateKey => "[PRIVATE_KEY]",
        }
    }
}

/// One piece of PII found in a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub kind: PiiKind,
    /// Byte offsets in the text.
    pub span: Range<usize>,
}

/// The patterns, compiled.
#[derive(Debug)]
pub struct Redactor {
    /// One pass over the text says which patterns match at all; most text has none.
    set: RegexSet,
    regexes: Vec<Regex>,
}

/// The built-in patterns failed to compile: a bug, caught by the unit tests.
#[derive(Debug, thiserror::Error)]
#[error("the redactor's patterns do not compile: {0}")]
pub struct RedactorError(#[from] regex::Error);

static REDACTOR: LazyLock<Result<Redactor, RedactorError>> = LazyLock::new(Redactor::new);

/// Replaces every piece of PII in `text` with its placeholder; borrows when there is none.
/// Should the patterns ever fail to compile, the whole text is withheld rather than let
/// through.
pub fn redact(text: &str) -> Cow<'_, str> {
    match &*REDACTOR {
        Ok(redactor) => redactor.redact(text),
        Err(error) => {
            tracing::error!(%error, "redactor unavailable; content withheld");
            Cow::Borrowed("[REDACTED]")
        }
    }
}

/// The compiled redactor, for callers that need the findings themselves (guardrail
/// masking numbers its placeholders); an error when its patterns failed to compile.
pub fn redactor() -> Result<&'static Redactor, &'static RedactorError> {
    REDACTOR.as_ref()
}

/// Redacts every string in a JSON value (not its keys), in place; true when any changed.
pub fn redact_json(value: &mut serde_json::Value) -> bool {
    match value {
        serde_json::Value::String(text) => match redact(text) {
            Cow::Borrowed(_) => false,
            Cow::Owned(redacted) => {
                *text = redacted;
                true
            }
        },
        serde_json::Value::Array(items) => items
            .iter_mut()
            .fold(false, |changed, item| redact_json(item) | changed),
        serde_json::Value::Object(fields) => fields
            .values_mut()
            .fold(false, |changed, item| redact_json(item) | changed),
        _ => false,
    }
}

impl Redactor {
    pub fn new() -> Result<Redactor, RedactorError> {
        Ok(Redactor {
            set: RegexSet::new(PATTERNS.iter().map(|p| p.regex))?,
            regexes: PATTERNS
                .iter()
                .map(|p| Regex::new(p.regex))
                .collect::<Result<_, _>>()?,
        })
    }

    /// Every piece of PII in `text`, in order, none overlapping: where matches overlap they
    /// become one finding, of the kind of the one that starts first (then the longer, then
    /// the pattern listed first).
    pub fn find(&self, text: &str) -> Vec<Finding> {
        let mut candidates: Vec<(Finding, usize)> = Vec::new();
        for index in self.set.matches(text).iter() {
            let pattern = &PATTERNS[index];
            let mut at = 0;
            while let Some(captures) = self.regexes[index].captures_at(text, at) {
                let whole = captures.get(0).map_or(at..text.len(), |m| m.range());
                let found = captures.get(pattern.group.unwrap_or(0)).map(|m| m.range());
                match found.and_then(|f| checked(pattern.check, text, f)) {
                    Some(span) => {
                        at = span.end.max(next_char(text, whole.start));
                        let kind = pattern.kind;
                        candidates.push((Finding { kind, span }, index));
                    }
                    // A match that fails its check may hide a real one starting inside
                    // it ("ref 42 4111 1111 1111 1111"): search again from the next
                    // character, not from its end.
                    None => at = next_char(text, whole.start),
                }
                if at >= text.len() {
                    break;
                }
            }
        }
        candidates.sort_by_key(|(f, index)| (f.span.start, usize::MAX - f.span.end, *index));
        let mut findings: Vec<Finding> = Vec::with_capacity(candidates.len());
        for (finding, _) in candidates {
            match findings.last_mut() {
                // Overlapping findings are both PII ("+1 (555) 123-4567 3782 8224 6310 005"
                // reads as a longer phone number or as a phone and a card): hide the union,
                // so neither reading leaves a part in the clear.
                Some(last) if finding.span.start < last.span.end => {
                    last.span.end = last.span.end.max(finding.span.end);
                }
                _ => findings.push(finding),
            }
        }
        findings
    }

    pub fn redact<'t>(&self, text: &'t str) -> Cow<'t, str> {
        let findings = self.find(text);
        if findings.is_empty() {
            return Cow::Borrowed(text);
        }
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for finding in findings {
            out.push_str(&text[at..finding.span.start]);
            out.push_str(finding.kind.placeholder());
            at = finding.span.end;
        }
        out.push_str(&text[at..]);
        Cow::Owned(out)
    }
}

/// The byte offset of the character after the one at `at`.
fn next_char(text: &str, at: usize) -> usize {
    text[at..]
        .chars()
        .next()
        .map_or(text.len(), |c| at + c.len_utf8())
}

fn checked(check: Option<Check>, text: &str, span: Range<usize>) -> Option<Range<usize>> {
    match check {
        Some(check) => check(text, span),
        None => Some(span),
    }
}

#[cfg(test)]
mod fuzz;
#[cfg(test)]
mod tests;
