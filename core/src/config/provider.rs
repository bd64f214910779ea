use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::Secret;

/// Which wire format a provider speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ProviderKind {
    /// OpenAI and every OpenAI-compatible server (vLLM, Ollama, DeepSeek, Groq, OpenRouter...).
    #[serde(rename = "openai")]
    OpenAi,
    /// Azure OpenAI: deployment in the path, `api-version` query, `api-key` header.
    Azure,
    Anthropic,
    Gemini,
}

impl ProviderKind {
    /// The `gen_ai.system` value of OpenTelemetry's GenAI conventions.
    pub fn system_name(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "openai",
            ProviderKind::Azure => "az.ai.openai",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Gemini => "gcp.gemini",
        }
    }

    pub fn default_base_url(self) -> Option<&'static str> {
        match self {
            ProviderKind::OpenAi => Some("https://api.openai.com/v1"),
            ProviderKind::Anthropic => Some("https://api.anthropic.com/v1"),
            ProviderKind::Gemini => Some("https://generativelanguage.googleapis.com/v1beta"),
            ProviderKind::Azure => None,
        }
    }
}

/// One upstream account: where it is and how to authenticate.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProviderConfig {
    pub kind: ProviderKind,
    /// The API root, e.g. `https://api.openai.com/v1`; Azure: `https://NAME.openai.azure.com`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// Usually an env reference: `${OPENAI_API_KEY}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<Secret>,
    /// Azure `api-version`, or the `anthropic-version` header.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_version: Option<String>,
    /// Extra headers sent with every request (organization, project, gateway tokens...).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    /// OpenAI-compatible servers that reject `stream_options` can turn usage-in-stream off.
    #[serde(default = "default_true", skip_serializing_if = "is_true")]
    pub stream_usage: bool,
}

fn default_true() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

impl ProviderConfig {
    pub fn new(kind: ProviderKind) -> Self {
        ProviderConfig {
            kind,
            base_url: None,
            api_key: None,
            api_version: None,
            headers: BTreeMap::new(),
            stream_usage: true,
        }
    }

    /// The base URL without a trailing slash, falling back to the provider's public API.
    pub fn resolved_base_url(&self) -> String {
        self.base_url
            .as_deref()
            .or(self.kind.default_base_url())
            .unwrap_or_default()
            .trim_end_matches('/')
            .to_owned()
    }
}
