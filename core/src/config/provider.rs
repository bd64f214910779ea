//! One upstream account in the config (`providers.NAME`): its kind, endpoint, key.

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
    /// Google Vertex AI: Gemini and Anthropic models (`project`, `location`, a service account).
    Vertex,
    /// AWS Bedrock's Converse API, SigV4-signed (`region`, `profile`, AWS credentials).
    Bedrock,
    /// A GGUF model run in-process by llama.cpp (cargo feature `local`): no network, cost 0.
    Local,
    /// Azure AI Foundry's model inference API: `{endpoint}/models/chat/completions`, the
    /// model in the body, `api-key` header.
    AzureAi,
    // OpenAI-compatible presets: see `preset.rs` for their endpoints and quirks.
    Ollama,
    Vllm,
    Mistral,
    Deepseek,
    Groq,
    Together,
    Fireworks,
    Openrouter,
    Xai,
    Perplexity,
    Cohere,
    Dashscope,
    Zhipu,
    Moonshot,
    Volcengine,
    Siliconflow,
}

/// The wire format a kind speaks: what picks the adapter. Presets all speak OpenAI's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Wire {
    OpenAi,
    Azure,
    AzureAi,
    Anthropic,
    Gemini,
    Bedrock,
    Vertex,
    Local,
}

impl ProviderKind {
    /// Every kind, for tables and tests.
    pub const ALL: [ProviderKind; 24] = [
        ProviderKind::OpenAi,
        ProviderKind::Azure,
        ProviderKind::Anthropic,
        ProviderKind::Gemini,
        ProviderKind::Bedrock,
        ProviderKind::Vertex,
        ProviderKind::Local,
        ProviderKind::AzureAi,
        ProviderKind::Ollama,
        ProviderKind::Vllm,
        ProviderKind::Mistral,
        ProviderKind::Deepseek,
        ProviderKind::Groq,
        ProviderKind::Together,
        ProviderKind::Fireworks,
        ProviderKind::Openrouter,
        ProviderKind::Xai,
        ProviderKind::Perplexity,
        ProviderKind::Cohere,
        ProviderKind::Dashscope,
        ProviderKind::Zhipu,
        ProviderKind::Moonshot,
        ProviderKind::Volcengine,
        ProviderKind::Siliconflow,
    ];

    /// The kind as written in the config (`azure_ai`, `groq`...).
    pub fn config_name(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }

    /// The wire format this kind speaks.
    pub fn wire(self) -> Wire {
        match self {
            ProviderKind::OpenAi => Wire::OpenAi,
            ProviderKind::Azure => Wire::Azure,
            ProviderKind::AzureAi => Wire::AzureAi,
            ProviderKind::Anthropic => Wire::Anthropic,
            ProviderKind::Gemini => Wire::Gemini,
            ProviderKind::Bedrock => Wire::Bedrock,
            ProviderKind::Vertex => Wire::Vertex,
            ProviderKind::Local => Wire::Local,
            // The presets (`preset.rs`) speak OpenAI's.
            _ => Wire::OpenAi,
        }
    }

    /// The `gen_ai.provider.name` value of OpenTelemetry's GenAI conventions (`local` is
    /// ours: the conventions name no in-process engine; presets they do not name use the
    /// kind).
    pub fn provider_name(self) -> &'static str {
        if let Some(preset) = self.preset() {
            return preset.provider_name;
        }
        match self {
            ProviderKind::Azure => "azure.ai.openai",
            ProviderKind::AzureAi => "azure.ai.inference",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Gemini => "gcp.gemini",
            ProviderKind::Bedrock => "aws.bedrock",
            ProviderKind::Vertex => "gcp.vertex_ai",
            ProviderKind::Local => "local",
            _ => "openai",
        }
    }

    pub fn default_base_url(self) -> Option<&'static str> {
        if let Some(preset) = self.preset() {
            return Some(preset.base_url);
        }
        match self {
            ProviderKind::OpenAi => Some("https://api.openai.com/v1"),
            ProviderKind::Anthropic => Some("https://api.anthropic.com/v1"),
            ProviderKind::Gemini => Some("https://generativelanguage.googleapis.com/v1beta"),
            // Azure's endpoint is the resource's; Bedrock's depends on the region (see
            // `bedrock_base_url`); Vertex's on the location.
            _ => None,
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
    /// `kind: local`: the GGUF file. Relative paths resolve against the process's current
    /// directory; the `SWITCHYARD_LOCAL_MODEL` environment variable overrides it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_path: Option<String>,
    /// `kind: local`: llama.cpp threads per call (default: available cores, at most 4).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub threads: Option<u32>,
    /// `kind: local`: the context window in tokens (default 2048, capped at the model's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_size: Option<u32>,
    /// `kind: local`: calls generating at once; each holds one context (default 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrency: Option<u32>,
    /// `kind: local`: calls allowed to wait for a context; more fail `overloaded` (default 64).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_queue: Option<u32>,
    /// `kind: vertex`: the Google Cloud project id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// `kind: vertex`: the location, e.g. `us-central1` or `global` (default `us-central1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub location: Option<String>,
    /// `kind: vertex`: a service-account JSON key file (else `credentials`, else
    /// `GOOGLE_APPLICATION_CREDENTIALS`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials_file: Option<String>,
    /// `kind: vertex`: the service-account key's JSON itself, usually `${VAR}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub credentials: Option<Secret>,
    /// `kind: bedrock`: the AWS region (else `AWS_REGION`, `AWS_DEFAULT_REGION`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    /// `kind: bedrock`: the shared-credentials profile (else `AWS_PROFILE`, `default`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// `kind: bedrock`: an explicit access key id, usually `${VAR}` (else the environment
    /// and the shared credentials file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_key_id: Option<Secret>,
    /// `kind: bedrock`: the secret key that goes with `access_key_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret_access_key: Option<Secret>,
    /// `kind: bedrock`: the session token of temporary credentials.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_token: Option<Secret>,
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
            model_path: None,
            threads: None,
            context_size: None,
            max_concurrency: None,
            max_queue: None,
            project: None,
            location: None,
            credentials_file: None,
            credentials: None,
            region: None,
            profile: None,
            access_key_id: None,
            secret_access_key: None,
            session_token: None,
        }
    }

    /// A `kind: local` provider serving the GGUF file at `model_path`.
    pub fn local(model_path: impl Into<String>) -> Self {
        ProviderConfig {
            model_path: Some(model_path.into()),
            ..ProviderConfig::new(ProviderKind::Local)
        }
    }

    /// The key to send: the configured one, else the preset's variable (`${GROQ_API_KEY}`),
    /// so a preset without `api_key` fails `auth` naming the variable when it is unset.
    pub fn effective_api_key(&self) -> Option<Secret> {
        self.api_key.clone().or_else(|| {
            let var = self.kind.preset()?.key_env?;
            Some(Secret::new(format!("${{{var}}}")))
        })
    }

    /// The fields that may hold `${VAR}` references besides the key, with their paths.
    fn env_fields(&self, path: &str) -> Vec<(String, &str)> {
        let mut fields: Vec<(String, &str)> = [
            ("base_url", self.base_url.as_deref()),
            ("api_version", self.api_version.as_deref()),
            ("model_path", self.model_path.as_deref()),
        ]
        .into_iter()
        .filter_map(|(field, value)| Some((format!("{path}.{field}"), value?)))
        .collect();
        fields.extend(
            self.headers
                .iter()
                .map(|(name, value)| (format!("{path}.headers.{name}"), value.as_str())),
        );
        fields
    }

    /// This entry with every `${VAR}` of its endpoint fields substituted, for building a
    /// client; the error names each unset variable and its field. The key stays a
    /// reference, resolved per request (see [`Secret`]).
    pub fn with_env(&self, name: &str) -> Result<ProviderConfig, super::ConfigError> {
        let path = format!("providers.{name}");
        let mut issues = Vec::new();
        let mut expand = |at: String, text: &str| match super::env::expand(text, &at) {
            Ok(value) => value,
            Err(issue) => {
                issues.push(issue);
                String::new()
            }
        };
        let mut resolved = self.clone();
        resolved.base_url = self
            .base_url
            .as_deref()
            .map(|v| expand(format!("{path}.base_url"), v));
        resolved.api_version = self
            .api_version
            .as_deref()
            .map(|v| expand(format!("{path}.api_version"), v));
        resolved.model_path = self
            .model_path
            .as_deref()
            .map(|v| expand(format!("{path}.model_path"), v));
        resolved.headers = self
            .headers
            .iter()
            .map(|(k, v)| (k.clone(), expand(format!("{path}.headers.{k}"), v)))
            .collect();
        if issues.is_empty() {
            Ok(resolved)
        } else {
            Err(super::ConfigError::new(issues))
        }
    }

    /// The problems of this entry (at `path`, e.g. `providers.local`) that depend on its kind.
    pub(crate) fn validate(&self, path: &str, issues: &mut Vec<super::ConfigIssue>) {
        issues.extend(
            self.env_fields(path)
                .into_iter()
                .filter_map(|(at, text)| super::env::check(text, &at)),
        );
        if matches!(self.kind, ProviderKind::Azure | ProviderKind::AzureAi)
            && self.base_url.is_none()
        {
            issues.push(super::ConfigIssue::new(
                format!("{path}.base_url"),
                match self.kind {
                    ProviderKind::Azure => "required for azure (https://RESOURCE.openai.azure.com)",
                    _ => "required for azure_ai (https://RESOURCE.services.ai.azure.com)",
                },
            ));
        }
        self.validate_bedrock(path, issues);
        self.validate_vertex(path, issues);
        let local_only = [
            ("model_path", self.model_path.is_some()),
            ("threads", self.threads.is_some()),
            ("context_size", self.context_size.is_some()),
            ("max_concurrency", self.max_concurrency.is_some()),
            ("max_queue", self.max_queue.is_some()),
        ];
        if self.kind != ProviderKind::Local {
            for (field, set) in local_only {
                if set {
                    issues.push(super::ConfigIssue::new(
                        format!("{path}.{field}"),
                        "only for kind: local",
                    ));
                }
            }
            return;
        }
        match self.model_path.as_deref() {
            None => issues.push(super::ConfigIssue::new(
                format!("{path}.model_path"),
                "required for local (the GGUF file, e.g. models/SmolLM2-135M-Instruct.Q4_1.gguf)",
            )),
            Some(p) if p.trim().is_empty() => issues.push(super::ConfigIssue::new(
                format!("{path}.model_path"),
                "must not be empty",
            )),
            Some(_) => {}
        }
        let positive = [
            ("threads", self.threads, 256),
            ("context_size", self.context_size, 1 << 20),
            ("max_concurrency", self.max_concurrency, 256),
        ];
        for (field, value, max) in positive {
            if let Some(v) = value
                && (v == 0 || v > max)
            {
                issues.push(super::ConfigIssue::new(
                    format!("{path}.{field}"),
                    format!("must be between 1 and {max}"),
                ));
            }
        }
        if matches!(self.context_size, Some(n) if n < 64) {
            issues.push(super::ConfigIssue::new(
                format!("{path}.context_size"),
                "must be at least 64 tokens",
            ));
        }
        for (field, set) in [
            ("base_url", self.base_url.is_some()),
            ("api_key", self.api_key.is_some()),
        ] {
            if set {
                issues.push(super::ConfigIssue::new(
                    format!("{path}.{field}"),
                    "not used by kind: local",
                ));
            }
        }
    }

    /// The Bedrock-only fields are refused elsewhere; a key id needs its secret.
    fn validate_bedrock(&self, path: &str, issues: &mut Vec<super::ConfigIssue>) {
        let bedrock_only = [
            ("region", self.region.is_some()),
            ("profile", self.profile.is_some()),
            ("access_key_id", self.access_key_id.is_some()),
            ("secret_access_key", self.secret_access_key.is_some()),
            ("session_token", self.session_token.is_some()),
        ];
        if self.kind != ProviderKind::Bedrock {
            for (field, set) in bedrock_only {
                if set {
                    issues.push(super::ConfigIssue::new(
                        format!("{path}.{field}"),
                        "only for kind: bedrock",
                    ));
                }
            }
            return;
        }
        if self.access_key_id.is_some() != self.secret_access_key.is_some() {
            issues.push(super::ConfigIssue::new(
                format!("{path}.secret_access_key"),
                "access_key_id and secret_access_key go together",
            ));
        }
    }

    /// The Vertex-only fields are refused elsewhere; a Vertex entry needs its project.
    fn validate_vertex(&self, path: &str, issues: &mut Vec<super::ConfigIssue>) {
        let vertex_only = [
            ("project", self.project.is_some()),
            ("location", self.location.is_some()),
            ("credentials_file", self.credentials_file.is_some()),
            ("credentials", self.credentials.is_some()),
        ];
        if self.kind != ProviderKind::Vertex {
            for (field, set) in vertex_only {
                if set {
                    issues.push(super::ConfigIssue::new(
                        format!("{path}.{field}"),
                        "only for kind: vertex",
                    ));
                }
            }
            return;
        }
        if self.project.as_deref().is_none_or(|p| p.trim().is_empty()) {
            issues.push(super::ConfigIssue::new(
                format!("{path}.project"),
                "required for vertex (the Google Cloud project id)",
            ));
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

#[cfg(test)]
mod tests {
    use super::{ProviderConfig, ProviderKind};
    use crate::config::Config;

    fn issues(yaml: &str) -> String {
        Config::from_yaml(yaml)
            .map(|_| String::new())
            .unwrap_or_else(|e| e.to_string())
    }

    #[test]
    fn local_providers_need_a_model_path_and_sane_settings() {
        let e = issues(
            "version: 1\nproviders:\n  lm: { kind: local, threads: 0, context_size: 10, max_concurrency: 0 }\n",
        );
        for path in [
            "providers.lm.model_path",
            "providers.lm.threads",
            "providers.lm.context_size",
            "providers.lm.max_concurrency",
        ] {
            assert!(e.contains(path), "{path} missing from: {e}");
        }
        let e = issues(
            "version: 1\nproviders:\n  lm: { kind: local, model_path: m.gguf, base_url: http://x }\n",
        );
        assert!(e.contains("providers.lm.base_url"), "{e}");
        let ok = issues(
            "version: 1\nproviders:\n  lm: { kind: local, model_path: m.gguf, threads: 2, context_size: 2048, max_concurrency: 2, max_queue: 8 }\n",
        );
        assert_eq!(ok, "");
    }

    #[test]
    fn env_references_resolve_at_build_and_stay_in_the_document() {
        let yaml = "version: 1\nproviders:\n  az: { kind: azure_ai, base_url: \"https://x${HOME}\", headers: { x-token: \"${SWITCHYARD_TEST_UNSET_HEADER}\" } }\n";
        let config = Config::from_yaml(yaml).unwrap();
        let provider = &config.providers["az"];
        let e = provider.with_env("az").unwrap_err().to_string();
        assert!(e.contains("providers.az.headers.x-token"), "{e}");
        assert!(e.contains("SWITCHYARD_TEST_UNSET_HEADER"), "{e}");
        let mut ok = provider.clone();
        ok.headers.clear();
        let home = std::env::var("HOME").unwrap();
        let resolved = ok.with_env("az").unwrap();
        assert_eq!(resolved.base_url, Some(format!("https://x{home}")));
        assert_eq!(ok.base_url.as_deref(), Some("https://x${HOME}"));
        let text = serde_json::to_string(&config).unwrap();
        assert!(text.contains("${HOME}") && !text.contains(&home), "{text}");
        let bad = issues("version: 1\nproviders:\n  oa: { kind: openai, base_url: \"${OPEN\" }\n");
        assert!(bad.contains("providers.oa.base_url"), "{bad}");
        let needs_url = issues("version: 1\nproviders:\n  az: { kind: azure_ai }\n");
        assert!(needs_url.contains("providers.az.base_url"), "{needs_url}");
    }

    #[test]
    fn keyed_presets_default_to_their_variable() {
        let groq = ProviderConfig::new(ProviderKind::Groq);
        assert_eq!(
            groq.effective_api_key().unwrap().env_var(),
            Some("GROQ_API_KEY")
        );
        assert!(
            ProviderConfig::new(ProviderKind::Ollama)
                .effective_api_key()
                .is_none()
        );
        assert_eq!(ProviderKind::Groq.config_name(), "groq");
        assert_eq!(ProviderKind::AzureAi.config_name(), "azure_ai");
        assert_eq!(ProviderKind::Xai.provider_name(), "x_ai");
    }

    #[test]
    fn local_fields_are_refused_on_remote_kinds() {
        let e = issues("version: 1\nproviders:\n  oa: { kind: openai, threads: 2 }\n");
        assert!(e.contains("providers.oa.threads"), "{e}");
    }
}
