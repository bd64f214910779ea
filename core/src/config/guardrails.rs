//! The `guardrails` section: what a request must not say (deny patterns, topic rules), the
//! PII masked out of it before it leaves, and the models it may reach (`docs/guardrails.md`).
//! A tenant-wide set, plus sets per department and per app that add to it; the server cuts
//! one app's set when it resolves that app's config, and a local file's `apps` entry
//! applies to the client whose `identity.app` it names.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ConfigIssue;
use crate::redact::PiiKind;

/// The whole section: the rules every call obeys, and more rules by department and app.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GuardrailsConfig {
    /// Regular expressions a request's text must not match, each named.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deny: Vec<DenyRule>,
    /// Topics a request must not raise, each a named list of keywords and patterns.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topics: Vec<TopicRule>,
    /// PII masked in the request before it leaves the process.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pii: Option<PiiMasking>,
    /// The only logical models a call may reach, first or by fallback and reroute; absent
    /// means any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_models: Option<Vec<String>>,
    /// Rules added for the apps of a department, by department name (server-resolved).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub departments: BTreeMap<String, GuardrailRules>,
    /// Rules added for one app, by app name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub apps: BTreeMap<String, GuardrailRules>,
}

/// The rules a department or an app adds to the tenant-wide ones.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GuardrailRules {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub deny: Vec<DenyRule>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub topics: Vec<TopicRule>,
    /// Replaces the broader level's masking whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pii: Option<PiiMasking>,
    /// Narrows the broader level's list: a model must be on every list set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_models: Option<Vec<String>>,
}

/// A named regular expression (Rust `regex` syntax, linear time) a request must not match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DenyRule {
    /// Named in the `policy_violation` error and the security event.
    pub name: String,
    pub pattern: String,
}

/// A named topic: any keyword (case-insensitive, whole words) or pattern refuses the call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TopicRule {
    /// Named in the error as `topic:NAME`.
    pub name: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keywords: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub patterns: Vec<String>,
}

/// Masking: each piece of PII of the listed kinds becomes a numbered placeholder
/// (`[EMAIL_1]`), the same value the same placeholder throughout the request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PiiMasking {
    /// The kinds masked; absent means every kind the redactor knows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kinds: Option<Vec<PiiKind>>,
    /// Put the originals back in the answer the caller sees (streams included).
    #[serde(default)]
    pub restore: bool,
}

impl GuardrailsConfig {
    /// The rules one app obeys: the tenant-wide ones, then those of each department it
    /// sits in (`departments` by name, the top-level one first), then its own. Deny and
    /// topic rules add up, `pii` is the most specific one set, and `allowed_models` is what
    /// every level that sets a list allows.
    pub fn resolve(&self, departments: &[String], app: Option<&str>) -> GuardrailsConfig {
        let mut out = GuardrailsConfig {
            deny: self.deny.clone(),
            topics: self.topics.clone(),
            pii: self.pii.clone(),
            allowed_models: self.allowed_models.clone(),
            ..GuardrailsConfig::default()
        };
        let levels = departments
            .iter()
            .map(|d| self.departments.get(d))
            .chain([app.and_then(|a| self.apps.get(a))]);
        for rules in levels.flatten() {
            out.deny.extend(rules.deny.iter().cloned());
            out.topics.extend(rules.topics.iter().cloned());
            if rules.pii.is_some() {
                out.pii.clone_from(&rules.pii);
            }
            if let Some(list) = &rules.allowed_models {
                out.allowed_models = Some(match out.allowed_models.take() {
                    Some(broader) => broader.into_iter().filter(|m| list.contains(m)).collect(),
                    None => list.clone(),
                });
            }
        }
        out
    }

    /// Nothing to check or mask.
    pub fn is_empty(&self) -> bool {
        self.deny.is_empty()
            && self.topics.is_empty()
            && self.pii.is_none()
            && self.allowed_models.is_none()
    }

    /// Nothing at any level: the section is left out when written.
    pub fn is_empty_section(&self) -> bool {
        self.is_empty() && self.departments.is_empty() && self.apps.is_empty()
    }

    pub(crate) fn validate(&self, issues: &mut Vec<ConfigIssue>) {
        validate_rules(&self.deny, &self.topics, "guardrails", issues);
        for (kind, map) in [("departments", &self.departments), ("apps", &self.apps)] {
            for (name, rules) in map {
                let path = format!("guardrails.{kind}.{name}");
                validate_rules(&rules.deny, &rules.topics, &path, issues);
            }
        }
    }
}

/// Every pattern compiles, every rule has a name, and a topic says something.
fn validate_rules(
    deny: &[DenyRule],
    topics: &[TopicRule],
    path: &str,
    issues: &mut Vec<ConfigIssue>,
) {
    for (i, rule) in deny.iter().enumerate() {
        if rule.name.is_empty() {
            issues.push(ConfigIssue::new(format!("{path}.deny[{i}].name"), "empty"));
        }
        if let Err(error) = regex::Regex::new(&rule.pattern) {
            issues.push(ConfigIssue::new(
                format!("{path}.deny[{i}].pattern"),
                error.to_string(),
            ));
        }
    }
    for (i, topic) in topics.iter().enumerate() {
        if topic.name.is_empty() {
            issues.push(ConfigIssue::new(
                format!("{path}.topics[{i}].name"),
                "empty",
            ));
        }
        if topic.keywords.is_empty() && topic.patterns.is_empty() {
            issues.push(ConfigIssue::new(
                format!("{path}.topics[{i}]"),
                "needs keywords or patterns",
            ));
        }
        for (j, pattern) in topic.patterns.iter().enumerate() {
            if let Err(error) = regex::Regex::new(pattern) {
                issues.push(ConfigIssue::new(
                    format!("{path}.topics[{i}].patterns[{j}]"),
                    error.to_string(),
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_add_rules_narrow_models_and_replace_masking() {
        let yaml = r#"
deny: [{ name: tenant, pattern: "a" }]
allowed_models: [chat, small, big]
departments:
  legal:
    deny: [{ name: dept, pattern: "b" }]
    allowed_models: [chat, small]
apps:
  billing:
    topics: [{ name: legal-advice, keywords: [lawsuit] }]
    pii: { restore: true }
    allowed_models: [chat, big]
"#;
        let config: GuardrailsConfig = serde_norway::from_str(yaml).unwrap();
        let cut = config.resolve(&["legal".to_owned()], Some("billing"));
        let names: Vec<&str> = cut.deny.iter().map(|r| r.name.as_str()).collect();
        assert_eq!(names, ["tenant", "dept"]);
        assert_eq!(cut.topics[0].name, "legal-advice");
        assert_eq!(cut.allowed_models, Some(vec!["chat".to_owned()]));
        assert!(cut.pii.as_ref().unwrap().restore);
        assert!(cut.departments.is_empty() && cut.apps.is_empty());
        let other = config.resolve(&["sales".to_owned()], Some("web"));
        assert_eq!(other.deny.len(), 1);
        assert_eq!(other.allowed_models.unwrap().len(), 3);
        assert!(other.pii.is_none());
    }

    #[test]
    fn a_bad_pattern_and_an_empty_topic_are_refused() {
        let yaml = r#"
deny: [{ name: x, pattern: "(" }]
apps: { a: { topics: [{ name: t }] } }
"#;
        let config: GuardrailsConfig = serde_norway::from_str(yaml).unwrap();
        let mut issues = Vec::new();
        config.validate(&mut issues);
        let paths: Vec<&str> = issues.iter().map(|i| i.path.as_str()).collect();
        assert_eq!(
            paths,
            ["guardrails.deny[0].pattern", "guardrails.apps.a.topics[0]"]
        );
    }
}
