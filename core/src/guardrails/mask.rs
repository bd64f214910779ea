//! PII masking of a request: every piece the redactor finds (of the kinds asked for)
//! becomes a placeholder numbered per kind, `[EMAIL_1]`, `[EMAIL_2]`, the same value the
//! same placeholder throughout the request, so the model can still tell them apart and
//! the answer's placeholders can be put back.

use std::collections::{BTreeMap, HashMap};

use super::text::Texts;
use crate::config::PiiMasking;
use crate::error::{Error, Result};
use crate::redact::{self, Finding, PiiKind};

/// The masking one config asks for.
#[derive(Debug, Clone)]
pub struct Masker {
    kinds: Option<Vec<PiiKind>>,
    restore: bool,
}

/// What masking did to one request: each placeholder and the value it hides (kept in
/// memory for the call only, to restore the answer), and how many of each kind it hid.
#[derive(Debug, Default, Clone)]
pub struct Masked {
    pub originals: Vec<(String, String)>,
    pub counts: BTreeMap<PiiKind, u32>,
}

impl Masker {
    pub fn new(config: &PiiMasking) -> Masker {
        Masker {
            kinds: config.kinds.clone(),
            restore: config.restore,
        }
    }

    /// Whether the answer gets the originals back.
    pub fn restores(&self) -> bool {
        self.restore
    }

    /// A masked copy of `request`, or `None` when it holds no PII of the kinds asked for.
    /// Fails closed: should the redactor be unavailable, the call is refused.
    pub fn mask<R: Texts + Clone>(&self, request: &R) -> Result<Option<(R, Masked)>> {
        let redactor = redact::redactor().map_err(|e| Error::internal(e.to_string()))?;
        let found: Vec<Vec<Finding>> = request
            .texts()
            .into_iter()
            .map(|text| {
                let mut findings = redactor.find(text);
                findings.retain(|f| self.kinds.as_ref().is_none_or(|k| k.contains(&f.kind)));
                findings
            })
            .collect();
        if found.iter().all(Vec::is_empty) {
            return Ok(None);
        }
        let mut masked = request.clone();
        let mut state = State::default();
        for (text, findings) in masked.texts_mut().into_iter().zip(&found) {
            if !findings.is_empty() {
                *text = state.replace(text, findings);
            }
        }
        Ok(Some((masked, state.done)))
    }
}

#[derive(Default)]
struct State {
    by_value: HashMap<(PiiKind, String), String>,
    numbers: HashMap<PiiKind, u32>,
    done: Masked,
}

impl State {
    fn replace(&mut self, text: &str, findings: &[Finding]) -> String {
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        for finding in findings {
            out.push_str(&text[at..finding.span.start]);
            let value = &text[finding.span.clone()];
            let key = (finding.kind, value.to_owned());
            let placeholder = match self.by_value.get(&key) {
                Some(placeholder) => placeholder.clone(),
                None => {
                    let n = self.numbers.entry(finding.kind).or_insert(0);
                    *n += 1;
                    let placeholder = numbered(finding.kind, *n);
                    self.done
                        .originals
                        .push((placeholder.clone(), value.to_owned()));
                    self.by_value.insert(key, placeholder.clone());
                    placeholder
                }
            };
            *self.done.counts.entry(finding.kind).or_insert(0) += 1;
            out.push_str(&placeholder);
            at = finding.span.end;
        }
        out.push_str(&text[at..]);
        out
    }
}

/// `[EMAIL]` numbered: `[EMAIL_3]`.
fn numbered(kind: PiiKind, n: u32) -> String {
    let base = kind.placeholder();
    let stem = base.strip_suffix(']').unwrap_or(base);
    format!("{stem}_{n}]")
}
