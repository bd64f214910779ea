//! The OpenAI-compatible providers as data: one row per `kind` (endpoint, key variable,
//! telemetry name, quirks), all served by the OpenAI adapter, so a new one is a row.

use super::ProviderKind;

/// What sets an OpenAI-compatible provider apart from OpenAI itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    /// The public API root; the adapter appends `/chat/completions` and `/embeddings`.
    pub base_url: &'static str,
    /// The environment variable read when the config names no `api_key`; `None` for
    /// servers that need no key (Ollama, vLLM).
    pub key_env: Option<&'static str>,
    /// `gen_ai.provider.name`: the OTel GenAI value where the conventions name the
    /// provider, else the kind.
    pub provider_name: &'static str,
    /// Whether the upstream accepts `stream_options`. Those that refuse it send usage in
    /// the last chunk anyway.
    pub stream_options: bool,
    /// Usage arrives inside `choices[0].usage` of the last chunk (Moonshot).
    pub usage_in_choice: bool,
    /// Request fields the upstream rejects: a request carrying one fails `bad_request`
    /// naming the field, before it is sent.
    pub refused: &'static [&'static str],
    /// Fields the upstream rejects that only carry metadata: removed before sending.
    pub dropped: &'static [&'static str],
}

const BASE: Preset = Preset {
    base_url: "",
    key_env: None,
    provider_name: "",
    stream_options: true,
    usage_in_choice: false,
    refused: &[],
    dropped: &[],
};

/// OpenAI's own fields that most compatible servers do not know.
const OPENAI_ONLY: &[&str] = &["metadata", "store", "service_tier"];

impl ProviderKind {
    /// The preset of an OpenAI-compatible kind; `None` for kinds with a wire of their own.
    pub fn preset(self) -> Option<&'static Preset> {
        Some(match self {
            ProviderKind::Ollama => &OLLAMA,
            ProviderKind::Vllm => &VLLM,
            ProviderKind::Mistral => &MISTRAL,
            ProviderKind::Deepseek => &DEEPSEEK,
            ProviderKind::Groq => &GROQ,
            ProviderKind::Together => &TOGETHER,
            ProviderKind::Fireworks => &FIREWORKS,
            ProviderKind::Openrouter => &OPENROUTER,
            ProviderKind::Xai => &XAI,
            ProviderKind::Perplexity => &PERPLEXITY,
            ProviderKind::Cohere => &COHERE,
            ProviderKind::Dashscope => &DASHSCOPE,
            ProviderKind::Zhipu => &ZHIPU,
            ProviderKind::Moonshot => &MOONSHOT,
            ProviderKind::Volcengine => &VOLCENGINE,
            ProviderKind::Siliconflow => &SILICONFLOW,
            ProviderKind::OpenAi
            | ProviderKind::Azure
            | ProviderKind::AzureAi
            | ProviderKind::Anthropic
            | ProviderKind::Gemini
            | ProviderKind::Bedrock
            | ProviderKind::Vertex
            | ProviderKind::Local => return None,
        })
    }
}

static OLLAMA: Preset = Preset {
    base_url: "http://localhost:11434/v1",
    provider_name: "ollama",
    dropped: OPENAI_ONLY,
    ..BASE
};
static VLLM: Preset = Preset {
    base_url: "http://localhost:8000/v1",
    provider_name: "vllm",
    dropped: OPENAI_ONLY,
    ..BASE
};
static MISTRAL: Preset = Preset {
    base_url: "https://api.mistral.ai/v1",
    key_env: Some("MISTRAL_API_KEY"),
    provider_name: "mistral_ai",
    stream_options: false,
    refused: &["logit_bias", "logprobs", "top_logprobs"],
    dropped: &["metadata", "store", "service_tier", "user"],
    ..BASE
};
static DEEPSEEK: Preset = Preset {
    base_url: "https://api.deepseek.com/v1",
    key_env: Some("DEEPSEEK_API_KEY"),
    provider_name: "deepseek",
    dropped: OPENAI_ONLY,
    ..BASE
};
static GROQ: Preset = Preset {
    base_url: "https://api.groq.com/openai/v1",
    key_env: Some("GROQ_API_KEY"),
    provider_name: "groq",
    refused: &["logprobs", "logit_bias", "top_logprobs"],
    dropped: OPENAI_ONLY,
    ..BASE
};
static TOGETHER: Preset = Preset {
    base_url: "https://api.together.xyz/v1",
    key_env: Some("TOGETHER_API_KEY"),
    provider_name: "together",
    dropped: OPENAI_ONLY,
    ..BASE
};
static FIREWORKS: Preset = Preset {
    base_url: "https://api.fireworks.ai/inference/v1",
    key_env: Some("FIREWORKS_API_KEY"),
    provider_name: "fireworks",
    dropped: OPENAI_ONLY,
    ..BASE
};
static OPENROUTER: Preset = Preset {
    base_url: "https://openrouter.ai/api/v1",
    key_env: Some("OPENROUTER_API_KEY"),
    provider_name: "openrouter",
    ..BASE
};
static XAI: Preset = Preset {
    base_url: "https://api.x.ai/v1",
    key_env: Some("XAI_API_KEY"),
    provider_name: "x_ai",
    dropped: OPENAI_ONLY,
    ..BASE
};
static PERPLEXITY: Preset = Preset {
    base_url: "https://api.perplexity.ai",
    key_env: Some("PERPLEXITY_API_KEY"),
    provider_name: "perplexity",
    stream_options: false,
    refused: &[
        "logit_bias",
        "logprobs",
        "top_logprobs",
        "tools",
        "tool_choice",
    ],
    dropped: OPENAI_ONLY,
    ..BASE
};
static COHERE: Preset = Preset {
    base_url: "https://api.cohere.ai/compatibility/v1",
    key_env: Some("COHERE_API_KEY"),
    provider_name: "cohere",
    refused: &["logit_bias", "top_logprobs", "n"],
    dropped: OPENAI_ONLY,
    ..BASE
};
static DASHSCOPE: Preset = Preset {
    base_url: "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
    key_env: Some("DASHSCOPE_API_KEY"),
    provider_name: "dashscope",
    dropped: OPENAI_ONLY,
    ..BASE
};
static ZHIPU: Preset = Preset {
    base_url: "https://open.bigmodel.cn/api/paas/v4",
    key_env: Some("ZHIPUAI_API_KEY"),
    provider_name: "zhipu",
    stream_options: false,
    dropped: OPENAI_ONLY,
    ..BASE
};
static MOONSHOT: Preset = Preset {
    base_url: "https://api.moonshot.ai/v1",
    key_env: Some("MOONSHOT_API_KEY"),
    provider_name: "moonshot",
    stream_options: false,
    usage_in_choice: true,
    dropped: OPENAI_ONLY,
    ..BASE
};
static VOLCENGINE: Preset = Preset {
    base_url: "https://ark.cn-beijing.volces.com/api/v3",
    key_env: Some("ARK_API_KEY"),
    provider_name: "volcengine",
    dropped: OPENAI_ONLY,
    ..BASE
};
static SILICONFLOW: Preset = Preset {
    base_url: "https://api.siliconflow.cn/v1",
    key_env: Some("SILICONFLOW_API_KEY"),
    provider_name: "siliconflow",
    dropped: OPENAI_ONLY,
    ..BASE
};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_preset_has_an_https_or_local_root_and_a_name() {
        for kind in ProviderKind::ALL {
            let Some(p) = kind.preset() else { continue };
            assert!(p.base_url.starts_with("http"), "{kind:?}");
            assert!(!p.base_url.ends_with('/'), "{kind:?}");
            assert_eq!(kind.provider_name(), p.provider_name);
            assert_eq!(kind.wire(), super::super::Wire::OpenAi, "{kind:?}");
            let local = matches!(kind, ProviderKind::Ollama | ProviderKind::Vllm);
            assert_eq!(p.key_env.is_none(), local, "{kind:?}");
        }
    }
}
