//! Guardrails before the call (`docs/guardrails.md`): the request's text against deny
//! patterns and topic rules, its model against the allow-list, and its PII masked into
//! numbered placeholders that the answer may get back. Compiled once per config version;
//! deterministic, no model call.

mod mask;
mod restore;
mod text;

use std::collections::HashSet;

use regex::{RegexSet, RegexSetBuilder};

use crate::config::GuardrailsConfig;
use crate::error::{Error, ErrorKind, Result};

pub use mask::{Masked, Masker};
pub use restore::{Restorer, StreamRestorer};
pub use text::Texts;

/// The rule named when a model is not on the allow-list.
pub const ALLOWED_MODELS_RULE: &str = "allowed_models";

/// One config version's guardrails, compiled.
#[derive(Debug)]
pub struct Guardrails {
    /// Deny patterns, then one entry per topic (its keywords and patterns as one
    /// alternation): one pass over the text says whether any rule matches.
    set: Option<RegexSet>,
    /// The rule each entry of `set` names: `NAME` for a deny pattern, `topic:NAME`.
    rules: Vec<String>,
    masker: Option<Masker>,
    allowed: Option<HashSet<String>>,
}

impl Guardrails {
    /// Compiles `config` (already cut for this client); `None` when it sets nothing.
    pub fn build(config: &GuardrailsConfig) -> Result<Option<Guardrails>> {
        if config.is_empty() {
            return Ok(None);
        }
        let mut patterns = Vec::new();
        let mut rules = Vec::new();
        for rule in &config.deny {
            patterns.push(rule.pattern.clone());
            rules.push(rule.name.clone());
        }
        for topic in &config.topics {
            let keywords = topic.keywords.iter().map(|k| {
                // Whole words, case-insensitive; spaces in a keyword match any whitespace.
                let words: Vec<String> = k.split_whitespace().map(regex::escape).collect();
                format!(r"(?i:\b{}\b)", words.join(r"\s+"))
            });
            let alternatives: Vec<String> = keywords
                .chain(topic.patterns.iter().map(|p| format!("(?:{p})")))
                .collect();
            patterns.push(alternatives.join("|"));
            rules.push(format!("topic:{}", topic.name));
        }
        let set = if patterns.is_empty() {
            None
        } else {
            Some(
                RegexSetBuilder::new(&patterns)
                    .size_limit(64 << 20)
                    .build()
                    .map_err(|e| Error::new(config_error(), format!("guardrails: {e}")))?,
            )
        };
        Ok(Some(Guardrails {
            set,
            rules,
            masker: config.pii.as_ref().map(Masker::new),
            allowed: config
                .allowed_models
                .as_ref()
                .map(|list| list.iter().cloned().collect()),
        }))
    }

    /// Whether a call may reach the logical model `alias` (first, by fallback or reroute).
    pub fn allows(&self, alias: &str) -> bool {
        self.allowed
            .as_ref()
            .is_none_or(|list| list.contains(alias))
    }

    /// Refuses a model off the allow-list.
    pub fn check_model(&self, alias: &str) -> Result<()> {
        if self.allows(alias) {
            Ok(())
        } else {
            Err(Error::policy_violation(
                ALLOWED_MODELS_RULE,
                format!("model '{alias}' is not on this app's allow-list"),
            ))
        }
    }

    /// Refuses text a deny pattern or topic rule matches, naming the first such rule.
    pub fn check_text(&self, text: &str) -> Result<()> {
        let Some(set) = &self.set else {
            return Ok(());
        };
        match set.matches(text).iter().next() {
            None => Ok(()),
            Some(index) => {
                let rule = &self.rules[index];
                Err(Error::policy_violation(
                    rule.clone(),
                    format!("the request matches the guardrail '{rule}'"),
                ))
            }
        }
    }

    /// The PII masking, when the config asks for it.
    pub fn masker(&self) -> Option<&Masker> {
        self.masker.as_ref()
    }
}

fn config_error() -> ErrorKind {
    ErrorKind::Config {
        path: "guardrails".into(),
    }
}

#[cfg(test)]
mod tests;
