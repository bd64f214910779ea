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
}

impl ProviderKind {
    /// The `gen_ai.provider.name` value of OpenTelemetry's GenAI conventions (`local` is
    /// ours: the conventions name no in-process engine).
    pub fn provider_name(self) -> &'static str {
        match self {
            ProviderKind::OpenAi => "openai",
            ProviderKind::Azure => "azure.ai.openai",
            ProviderKind::Anthropic => "anthropic",
            ProviderKind::Gemini => "gcp.gemini",
            ProviderKind::Bedrock => "aws.bedrock",
            ProviderKind::Vertex => "gcp.vertex_ai",
            ProviderKind::Local => "local",
        }
    }

    pub fn default_base_url(self) -> Option<&'static str> {
        match self {
            ProviderKind::OpenAi => Some("https://api.openai.com/v1"),
            ProviderKind::Anthropic => Some("https://api.anthropic.com/v1"),
            ProviderKind::Gemini => Some("https://generativelanguage.googleapis.com/v1beta"),
            // Bedrock's endpoint depends on the region: see `bedrock_base_url`.
            ProviderKind::Azure
            | ProviderKind::Bedrock
            | ProviderKind::Vertex
            | ProviderKind::Local => None,
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

    /// The problems of this entry (at `path`, e.g. `providers.local`) that depend on its kind.
    pub(crate) fn validate(&self, path: &str, issues: &mut Vec<super::ConfigIssue>) {
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
    fn local_fields_are_refused_on_remote_kinds() {
        let e = issues("version: 1\nproviders:\n  oa: { kind: openai, threads: 2 }\n");
        assert!(e.contains("providers.oa.threads"), "{e}");
    }
}
