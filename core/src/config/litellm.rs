//! Import of a LiteLLM proxy/router config, because people move from there. What maps is
//! mapped; what only roughly maps is approximated and said so; the rest is dropped with a
//! note naming the key. Notes never carry values: LiteLLM files hold secrets.

mod cloud;

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::{
    BudgetAction, BudgetConfig, BudgetMode, CONFIG_VERSION, CacheMode, Capacity, Config,
    ConfigError, DeploymentConfig, ModelConfig, ModelType, Period, Price, ProviderConfig,
    ProviderKind, ScopeKind, Secret, Strategy,
};

/// How faithfully one LiteLLM setting survived the import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportKind {
    /// Same meaning here.
    Mapped,
    /// Close, but the behaviour differs; the message says how.
    Approximated,
    /// No counterpart; ignored.
    Dropped,
}

/// One line of the import report, located in the LiteLLM file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportNote {
    /// Where in the LiteLLM file, e.g. `model_list[3].litellm_params.rpm`.
    pub path: String,
    pub kind: ImportKind,
    pub message: String,
}

/// The converted config and what happened to each setting.
#[derive(Debug, Clone, PartialEq)]
pub struct LiteLlmImport {
    pub config: Config,
    pub report: Vec<ImportNote>,
}

/// One LiteLLM provider prefix: the kind it becomes, the variable LiteLLM reads its key
/// from when `api_key` is absent, and where its endpoint comes from when `api_base` is.
struct LiteProvider {
    prefix: &'static str,
    kind: ProviderKind,
    key_env: Option<&'static str>,
    /// When `api_base` is absent: the variable LiteLLM reads it from, for providers with no
    /// public endpoint (`azure`, `hosted_vllm`); else the kind's default is used.
    base_env: Option<&'static str>,
    /// A default endpoint other than the kind's (Z.AI is Zhipu's international platform).
    base_url: Option<&'static str>,
}

const fn lite(prefix: &'static str, kind: ProviderKind, key_env: &'static str) -> LiteProvider {
    LiteProvider {
        prefix,
        kind,
        key_env: Some(key_env),
        base_env: None,
        base_url: None,
    }
}

/// LiteLLM's prefixes (docs.litellm.ai/docs/providers) that map here. Bedrock and Vertex
/// sign their requests (no key); their own parameters are read by `cloud.rs`.
const LITELLM_PROVIDERS: &[LiteProvider] = &[
    lite("openai", ProviderKind::OpenAi, "OPENAI_API_KEY"),
    lite("openai_like", ProviderKind::OpenAi, "OPENAI_LIKE_API_KEY"),
    LiteProvider {
        base_env: Some("AZURE_API_BASE"),
        ..lite("azure", ProviderKind::Azure, "AZURE_API_KEY")
    },
    LiteProvider {
        base_env: Some("AZURE_AI_API_BASE"),
        ..lite("azure_ai", ProviderKind::AzureAi, "AZURE_AI_API_KEY")
    },
    lite("anthropic", ProviderKind::Anthropic, "ANTHROPIC_API_KEY"),
    lite("gemini", ProviderKind::Gemini, "GEMINI_API_KEY"),
    LiteProvider {
        key_env: None,
        ..lite("bedrock", ProviderKind::Bedrock, "")
    },
    LiteProvider {
        key_env: None,
        ..lite("vertex_ai", ProviderKind::Vertex, "")
    },
    LiteProvider {
        key_env: None,
        ..lite("ollama", ProviderKind::Ollama, "")
    },
    LiteProvider {
        key_env: None,
        ..lite("ollama_chat", ProviderKind::Ollama, "")
    },
    LiteProvider {
        key_env: None,
        base_env: Some("HOSTED_VLLM_API_BASE"),
        ..lite("hosted_vllm", ProviderKind::Vllm, "")
    },
    lite("mistral", ProviderKind::Mistral, "MISTRAL_API_KEY"),
    lite("deepseek", ProviderKind::Deepseek, "DEEPSEEK_API_KEY"),
    lite("groq", ProviderKind::Groq, "GROQ_API_KEY"),
    lite("together_ai", ProviderKind::Together, "TOGETHERAI_API_KEY"),
    lite(
        "fireworks_ai",
        ProviderKind::Fireworks,
        "FIREWORKS_AI_API_KEY",
    ),
    lite("openrouter", ProviderKind::Openrouter, "OPENROUTER_API_KEY"),
    lite("xai", ProviderKind::Xai, "XAI_API_KEY"),
    lite(
        "perplexity",
        ProviderKind::Perplexity,
        "PERPLEXITYAI_API_KEY",
    ),
    lite("cohere", ProviderKind::Cohere, "COHERE_API_KEY"),
    lite("cohere_chat", ProviderKind::Cohere, "COHERE_API_KEY"),
    lite("dashscope", ProviderKind::Dashscope, "DASHSCOPE_API_KEY"),
    lite("moonshot", ProviderKind::Moonshot, "MOONSHOT_API_KEY"),
    lite("volcengine", ProviderKind::Volcengine, "VOLCENGINE_API_KEY"),
    LiteProvider {
        base_url: Some("https://api.z.ai/api/paas/v4"),
        ..lite("zai", ProviderKind::Zhipu, "ZAI_API_KEY")
    },
    // OpenAI-compatible services without a preset of their own.
    LiteProvider {
        base_url: Some("https://api.cerebras.ai/v1"),
        ..lite("cerebras", ProviderKind::OpenAi, "CEREBRAS_API_KEY")
    },
    LiteProvider {
        base_url: Some("https://integrate.api.nvidia.com/v1"),
        ..lite("nvidia_nim", ProviderKind::OpenAi, "NVIDIA_NIM_API_KEY")
    },
];

/// A LiteLLM value that may be an `os.environ/NAME` reference, as written here: `${NAME}`.
fn env_value(value: &str) -> String {
    match value.strip_prefix("os.environ/") {
        Some(var) => format!("${{{var}}}"),
        None => value.to_owned(),
    }
}

/// Why LiteLLM's prefix has no counterpart, for the report.
fn unsupported_reason(prefix: &str) -> &'static str {
    match prefix {
        "vllm" => "runs vLLM inside LiteLLM's process; point hosted_vllm at a vLLM server instead",
        "text-completion-openai" => "the legacy completions API is not served",
        "os.environ" => "the model (and so its provider) comes from an environment variable",
        _ => "is not supported",
    }
}

/// Converts a LiteLLM `config.yaml` into a config that passes [`Config::validate`].
pub fn import_litellm(yaml: &str) -> Result<LiteLlmImport, ConfigError> {
    let doc: Value = serde_norway::from_str(yaml)
        .map_err(|e| ConfigError::single("", format!("not a valid LiteLLM YAML file: {e}")))?;
    let root = match doc {
        Value::Object(map) => map,
        Value::Null => Map::new(),
        _ => {
            return Err(ConfigError::single(
                "",
                "a LiteLLM config is a mapping with model_list, router_settings, ...",
            ));
        }
    };
    let mut importer = Importer::default();
    match root.get("model_list") {
        None | Some(Value::Null) => {}
        Some(Value::Array(entries)) => importer.model_list(entries),
        Some(_) => return Err(ConfigError::single("model_list", "must be a list")),
    }
    for section in ["litellm_settings", "router_settings"] {
        match root.get(section) {
            None | Some(Value::Null) => {}
            Some(Value::Object(map)) => importer.settings(section, map),
            Some(_) => return Err(ConfigError::single(section, "must be a mapping")),
        }
    }
    if root
        .get("litellm_settings")
        .and_then(|s| s.get("cache"))
        .is_none()
    {
        importer.note(
            "litellm_settings.cache",
            ImportKind::Mapped,
            "absent: cache.mode = off, as LiteLLM caches nothing by default",
        );
        importer.cache_mode = Some(CacheMode::Off);
    }
    for (key, value) in &root {
        match key.as_str() {
            "model_list" | "litellm_settings" | "router_settings" => {}
            "general_settings" | "environment_variables" => {
                for sub in value.as_object().into_iter().flat_map(Map::keys) {
                    importer.note(
                        format!("{key}.{sub}"),
                        ImportKind::Dropped,
                        format!("{key} are proxy-server settings with no client counterpart"),
                    );
                }
            }
            _ => importer.note(
                key.clone(),
                ImportKind::Dropped,
                format!("unknown top-level key '{key}'"),
            ),
        }
    }
    importer.finish()
}

/// Provider identity for de-duplication: same kind, endpoint, key, version and headers.
#[derive(PartialEq)]
struct ProviderKey {
    prefix: String,
    kind: ProviderKind,
    base_url: Option<String>,
    api_key: Option<String>,
    api_version: Option<String>,
    headers: BTreeMap<String, String>,
    /// Bedrock's region and profile, Vertex's project, location and credentials.
    cloud: cloud::CloudFields,
}

#[derive(Default)]
struct Importer {
    report: Vec<ImportNote>,
    /// Providers in first-seen order, with the LiteLLM prefix they were named after.
    providers: Vec<ProviderKey>,
    /// Per alias: its deployments, each with the provider index and source path.
    models: BTreeMap<String, ModelDraft>,
    strategy: Option<Strategy>,
    max_attempts: Option<u32>,
    deadline_ms: Option<u64>,
    initial_backoff_ms: Option<u64>,
    consecutive_failures: Option<u32>,
    open_secs: Option<u64>,
    /// (kind field, source path, model → targets)
    fallbacks: Vec<(FallbackKind, String, String, Vec<String>)>,
    default_fallbacks: Option<(String, Vec<String>)>,
    cache_mode: Option<CacheMode>,
    default_ttl_secs: Option<u64>,
    budget: Option<BudgetConfig>,
}

#[derive(Default)]
struct ModelDraft {
    kind: ModelType,
    deployments: Vec<(usize, DeploymentConfig)>,
    timeout_ms: Option<u64>,
    by_order: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum FallbackKind {
    Default,
    ContextWindow,
    ContentPolicy,
}

impl Importer {
    fn note(&mut self, path: impl Into<String>, kind: ImportKind, message: impl Into<String>) {
        self.report.push(ImportNote {
            path: path.into(),
            kind,
            message: message.into(),
        });
    }

    fn model_list(&mut self, entries: &[Value]) {
        for (i, entry) in entries.iter().enumerate() {
            let at = format!("model_list[{i}]");
            let Some(entry) = entry.as_object() else {
                self.note(at, ImportKind::Dropped, "not a mapping");
                continue;
            };
            let Some(alias) = entry.get("model_name").and_then(Value::as_str) else {
                self.note(at, ImportKind::Dropped, "no model_name");
                continue;
            };
            for key in entry.keys() {
                if !matches!(
                    key.as_str(),
                    "model_name" | "litellm_params" | "model_info" | "rpm" | "tpm"
                ) {
                    self.note(
                        format!("{at}.{key}"),
                        ImportKind::Dropped,
                        format!("unknown key '{key}'"),
                    );
                }
            }
            let empty = Map::new();
            let params = entry
                .get("litellm_params")
                .and_then(Value::as_object)
                .unwrap_or(&empty);
            let info = entry
                .get("model_info")
                .and_then(Value::as_object)
                .unwrap_or(&empty);
            let limits: Vec<(&str, &Value)> = ["rpm", "tpm"]
                .into_iter()
                .filter_map(|k| Some((k, entry.get(k)?)))
                .collect();
            self.deployment(&at, alias, params, info, &limits);
        }
    }

    fn deployment(
        &mut self,
        at: &str,
        alias: &str,
        params: &Map<String, Value>,
        info: &Map<String, Value>,
        limits: &[(&str, &Value)],
    ) {
        let pp = format!("{at}.litellm_params");
        let Some(full) = params.get("model").and_then(Value::as_str) else {
            self.note(&pp, ImportKind::Dropped, "no litellm_params.model");
            return;
        };
        let (prefix, upstream) = match full.split_once('/') {
            Some((prefix, rest)) => (prefix.to_owned(), rest.to_owned()),
            None => (bare_prefix(full).to_owned(), full.to_owned()),
        };
        let Some(lp) = LITELLM_PROVIDERS
            .iter()
            .find(|p| p.prefix == prefix)
            .filter(|p| p.prefix != "openai_like" || params.contains_key("api_base"))
        else {
            let why = unsupported_reason(&prefix);
            let message = if why == "is not supported" {
                format!("provider '{prefix}' is not supported; deployment of '{alias}' skipped")
            } else {
                format!("provider '{prefix}' {why}; deployment of '{alias}' skipped")
            };
            self.note(format!("{pp}.model"), ImportKind::Dropped, message);
            return;
        };
        if upstream == "*" || upstream.ends_with("/*") {
            self.note(
                format!("{pp}.model"),
                ImportKind::Dropped,
                format!("a wildcard deployment passes any model name through; list the models instead; deployment of '{alias}' skipped"),
            );
            return;
        }
        let kind = lp.kind;
        let mut base_url = match params.get("api_base").and_then(Value::as_str) {
            Some(url) => Some(env_value(url).trim_end_matches('/').to_owned()),
            None => lp
                .base_env
                .map(|var| format!("${{{var}}}"))
                .or(lp.base_url.map(str::to_owned)),
        };
        // LiteLLM talks to Ollama's native API at the server's root; its OpenAI API is /v1.
        if kind == ProviderKind::Ollama
            && let Some(url) = base_url.as_mut()
            && !url.ends_with("/v1")
        {
            url.push_str("/v1");
        }
        if base_url.as_deref() == kind.default_base_url() {
            base_url = None;
        }
        let mut notes = Vec::new();
        let cloud = cloud::CloudFields::from_params(kind, params, &pp, &mut notes);
        let upstream = cloud::upstream_model(kind, &upstream);
        let api_key = match params.get("api_key").and_then(Value::as_str) {
            Some(key) if key.starts_with("os.environ/") => Some(env_value(key)),
            Some(key) => {
                self.note(
                    format!("{pp}.api_key"),
                    ImportKind::Approximated,
                    "a literal key was copied; prefer an ${ENV_VAR} reference",
                );
                Some(key.to_owned())
            }
            None => lp.key_env.map(|var| format!("${{{var}}}")),
        };
        let api_version = params.get("api_version").and_then(|v| match v {
            Value::String(s) => Some(env_value(s)),
            Value::Number(n) => Some(n.to_string()),
            _ => None,
        });
        let mut headers: BTreeMap<String, String> = params
            .get("extra_headers")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(k, v)| Some((k.clone(), env_value(v.as_str()?))))
            .collect();
        if kind == ProviderKind::OpenAi
            && let Some(org) = params.get("organization").and_then(Value::as_str)
        {
            headers.insert("OpenAI-Organization".into(), env_value(org));
        }
        let key = ProviderKey {
            prefix: prefix.clone(),
            kind,
            base_url,
            api_key,
            api_version,
            headers,
            cloud,
        };
        let provider = match self.providers.iter().position(|k| *k == key) {
            Some(index) => index,
            None => {
                self.providers.push(key);
                self.providers.len() - 1
            }
        };
        let mut deployment = DeploymentConfig::new(String::new(), upstream);
        let draft = self.models.entry(alias.to_owned()).or_default();
        for (name, value) in params {
            let path = format!("{pp}.{name}");
            match name.as_str() {
                "model" | "api_base" | "api_key" | "api_version" | "extra_headers" => {}
                "organization" if kind == ProviderKind::OpenAi => {}
                _ if cloud::PARAMS.contains(&name.as_str()) => {}
                "rpm" | "tpm" => {
                    if let Some(note) = set_capacity(&mut deployment, name, value, path) {
                        notes.push(note);
                    }
                }
                "weight" => match value.as_f64().filter(|w| w.is_finite() && *w > 0.0) {
                    Some(w) => deployment.weight = w,
                    None => notes.push((
                        path,
                        ImportKind::Dropped,
                        "weight must be > 0; 1 used".into(),
                    )),
                },
                "order" => match value.as_i64().and_then(|o| i32::try_from(o).ok()) {
                    Some(order) => {
                        deployment.priority = Some(order);
                        draft.by_order = true;
                    }
                    None => notes.push((path, ImportKind::Dropped, "not an integer".into())),
                },
                "tags" => {
                    deployment.tags = value
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .map(str::to_owned)
                        .collect();
                }
                "timeout" => match value.as_f64().and_then(secs_to_ms) {
                    Some(ms) => draft.timeout_ms = Some(draft.timeout_ms.map_or(ms, |t| t.max(ms))),
                    None => notes.push((
                        path,
                        ImportKind::Dropped,
                        "not a positive number of seconds".into(),
                    )),
                },
                "input_cost_per_token" | "output_cost_per_token" => {}
                _ => notes.push((
                    path,
                    ImportKind::Dropped,
                    format!("per-deployment '{name}' has no counterpart"),
                )),
            }
        }
        // Deployment-level rpm/tpm (siblings of litellm_params) apply unless litellm_params
        // sets its own.
        for (name, value) in limits {
            if !params.contains_key(*name)
                && let Some(note) =
                    set_capacity(&mut deployment, name, value, format!("{at}.{name}"))
            {
                notes.push(note);
            }
        }
        let input = params.get("input_cost_per_token").and_then(Value::as_f64);
        let output = params.get("output_cost_per_token").and_then(Value::as_f64);
        if input.is_some() || output.is_some() {
            deployment.price = Some(Price {
                input: per_million(input.unwrap_or(0.0)),
                output: per_million(output.unwrap_or(0.0)),
                cached_input: None,
            });
            if input.is_none() || output.is_none() {
                notes.push((
                    format!("{pp}.input_cost_per_token"),
                    ImportKind::Approximated,
                    "only one of input/output cost given; the other is taken as 0".into(),
                ));
            }
        }
        for (name, value) in info {
            let path = format!("{at}.model_info.{name}");
            match (name.as_str(), value) {
                ("id", Value::String(id)) => deployment.name = Some(id.clone()),
                ("id", Value::Number(id)) => deployment.name = Some(id.to_string()),
                ("mode", Value::String(mode)) => match mode.as_str() {
                    "chat" => draft.kind = ModelType::Chat,
                    "embedding" => draft.kind = ModelType::Embedding,
                    "completion" => draft.kind = ModelType::Completion,
                    _ => notes.push((
                        path,
                        ImportKind::Dropped,
                        format!("mode '{mode}' is not supported"),
                    )),
                },
                _ => notes.push((
                    path,
                    ImportKind::Dropped,
                    format!("model_info.{name} has no counterpart"),
                )),
            }
        }
        let index = draft.deployments.len();
        draft.deployments.push((provider, deployment));
        self.note(
            at,
            ImportKind::Mapped,
            format!("models.{alias}.deployments[{index}] ({full})"),
        );
        for (path, kind, message) in notes {
            self.note(path, kind, message);
        }
    }

    fn settings(&mut self, section: &str, map: &Map<String, Value>) {
        for (key, value) in map {
            let path = format!("{section}.{key}");
            let handled = match key.as_str() {
                "routing_strategy" if section == "router_settings" => self.routing_strategy(value),
                "num_retries" => value.as_u64().map(|n| {
                    let attempts = u32::try_from(n.saturating_add(1)).unwrap_or(u32::MAX);
                    self.max_attempts = Some(attempts);
                    (ImportKind::Mapped, format!("retry.max_attempts = {attempts} on every model"))
                }),
                "timeout" | "request_timeout" => value.as_f64().and_then(secs_to_ms).map(|ms| {
                    self.deadline_ms = Some(ms);
                    (ImportKind::Mapped, format!("deadline_ms = {ms} on every model"))
                }),
                "retry_after" => value.as_f64().and_then(secs_to_ms).map(|ms| {
                    self.initial_backoff_ms = Some(ms);
                    (ImportKind::Approximated, format!("retry.initial_backoff_ms = {ms}; later waits grow exponentially"))
                }),
                "allowed_fails" => value.as_u64().map(|n| {
                    let failures = u32::try_from(n.saturating_add(1)).unwrap_or(u32::MAX);
                    self.consecutive_failures = Some(failures);
                    (ImportKind::Approximated, format!("health.consecutive_failures = {failures}; LiteLLM counts failures per minute, here they are consecutive"))
                }),
                "cooldown_time" => value.as_f64().filter(|s| *s > 0.0).map(|secs| {
                    let secs = secs.ceil() as u64;
                    self.open_secs = Some(secs);
                    (ImportKind::Mapped, format!("health.open_secs = {secs} on every model"))
                }),
                "fallbacks" => self.fallback_list(&path, FallbackKind::Default, value),
                "context_window_fallbacks" => self.fallback_list(&path, FallbackKind::ContextWindow, value),
                "content_policy_fallbacks" => self.fallback_list(&path, FallbackKind::ContentPolicy, value),
                "default_fallbacks" => string_list(value).map(|targets| {
                    self.default_fallbacks = Some((path.clone(), targets));
                    (ImportKind::Mapped, "fallbacks.default of every model without its own".to_owned())
                }),
                "cache" if section == "litellm_settings" => value.as_bool().map(|on| {
                    let mode = if on { CacheMode::Always } else { CacheMode::Off };
                    self.cache_mode = Some(mode);
                    (ImportKind::Mapped, format!("cache.mode = {}", if on { "always" } else { "off" }))
                }),
                "cache_params" if section == "litellm_settings" => {
                    self.cache_params(&path, value);
                    continue;
                }
                "max_budget" if section == "litellm_settings" => self.budget(value, map.get("budget_duration")),
                "budget_duration" if section == "litellm_settings" => continue,
                "success_callback" | "failure_callback" | "callbacks" | "service_callback" => Some((
                    ImportKind::Dropped,
                    format!("'{key}': use a UsageSink or the tracing spans instead"),
                )),
                _ => Some((ImportKind::Dropped, format!("'{key}' has no counterpart"))),
            };
            match handled {
                Some((kind, message)) => self.note(path, kind, message),
                None => self.note(
                    path,
                    ImportKind::Dropped,
                    format!("'{key}' has an unexpected value"),
                ),
            }
        }
    }

    fn routing_strategy(&mut self, value: &Value) -> Option<(ImportKind, String)> {
        let (strategy, kind) = match value.as_str()? {
            "simple-shuffle" => (Strategy::Weighted, ImportKind::Mapped),
            "least-busy" => (Strategy::LeastInflight, ImportKind::Mapped),
            "latency-based-routing" => (Strategy::LowestLatency, ImportKind::Mapped),
            "cost-based-routing" => (Strategy::LowestCost, ImportKind::Mapped),
            "usage-based-routing" | "usage-based-routing-v2" => {
                self.strategy = Some(Strategy::Weighted);
                return Some((
                    ImportKind::Approximated,
                    "strategy = weighted: TPM/RPM usage is not tracked for routing; capacities still cap each deployment".to_owned(),
                ));
            }
            other => {
                return Some((
                    ImportKind::Dropped,
                    format!("unknown routing_strategy '{other}'; weighted used"),
                ));
            }
        };
        self.strategy = Some(strategy);
        Some((
            kind,
            format!("strategy = {} on every model", strategy_name(strategy)),
        ))
    }

    fn fallback_list(
        &mut self,
        path: &str,
        kind: FallbackKind,
        value: &Value,
    ) -> Option<(ImportKind, String)> {
        let list = value.as_array()?;
        for (i, item) in list.iter().enumerate() {
            for (model, targets) in item.as_object().into_iter().flatten() {
                let targets = string_list(targets).unwrap_or_default();
                self.fallbacks
                    .push((kind, format!("{path}[{i}].{model}"), model.clone(), targets));
            }
        }
        let field = match kind {
            FallbackKind::Default => "default",
            FallbackKind::ContextWindow => "context_window_exceeded",
            FallbackKind::ContentPolicy => "content_policy",
        };
        Some((ImportKind::Mapped, format!("per-model fallbacks.{field}")))
    }

    fn cache_params(&mut self, path: &str, value: &Value) {
        let Some(params) = value.as_object() else {
            self.note(path, ImportKind::Dropped, "not a mapping");
            return;
        };
        for (key, value) in params {
            let at = format!("{path}.{key}");
            match (key.as_str(), value) {
                ("type", Value::String(t)) if t == "local" => {
                    self.note(at, ImportKind::Mapped, "the in-process cache");
                }
                ("type", Value::String(t)) => self.note(
                    at,
                    ImportKind::Approximated,
                    format!("'{t}' cache becomes the in-process cache; share answers between processes with a `redis` section and `cache.shared`"),
                ),
                ("ttl", ttl) if ttl.as_f64().is_some_and(|t| t >= 1.0) => {
                    let secs = ttl.as_f64().map_or(1, |t| t.round() as u64);
                    self.default_ttl_secs = Some(secs);
                    self.note(at, ImportKind::Mapped, format!("cache.default_ttl_secs = {secs}"));
                }
                ("mode", Value::String(m)) if m == "default_off" => {
                    self.cache_mode = Some(CacheMode::Deterministic);
                    self.note(
                        at,
                        ImportKind::Approximated,
                        "cache.mode = deterministic: callers opt in per call, and deterministic requests are cached too",
                    );
                }
                _ => self.note(at, ImportKind::Dropped, format!("cache_params.{key} has no counterpart")),
            }
        }
    }

    fn budget(&mut self, limit: &Value, duration: Option<&Value>) -> Option<(ImportKind, String)> {
        let limit = limit.as_f64().filter(|l| l.is_finite() && *l >= 0.0)?;
        let text = duration.and_then(Value::as_str);
        let (period, limit_usd, kind, how) = match text.map(parse_duration) {
            None => (
                Period::Month,
                limit,
                ImportKind::Approximated,
                "no budget_duration: LiteLLM never resets it, here it resets monthly".to_owned(),
            ),
            Some(None) => (
                Period::Month,
                limit,
                ImportKind::Approximated,
                "budget_duration not understood: monthly used".to_owned(),
            ),
            Some(Some(secs)) => period_for(secs, limit),
        };
        self.budget = Some(BudgetConfig {
            name: "litellm_max_budget".into(),
            scope: ScopeKind::Tenant,
            value: None,
            period,
            calendar_aligned: false,
            limit_usd,
            mode: BudgetMode::Hard,
            action: BudgetAction::Reject,
            reroute_to: None,
        });
        Some((
            kind,
            format!(
                "budgets[0]: {limit_usd} USD per {} for identity.tenant 'default'; {how}",
                period_name(period)
            ),
        ))
    }

    fn finish(mut self) -> Result<LiteLlmImport, ConfigError> {
        let names = provider_names(&self.providers);
        let providers: BTreeMap<String, ProviderConfig> = self
            .providers
            .iter()
            .zip(&names)
            .map(|(key, name)| {
                let mut provider = ProviderConfig::new(key.kind);
                key.cloud.apply(&mut provider);
                provider.base_url = key.base_url.clone();
                provider.api_key = key.api_key.clone().map(Secret::new);
                provider.api_version = key.api_version.clone();
                provider.headers = key.headers.clone();
                (name.clone(), provider)
            })
            .collect();
        let mut models = BTreeMap::new();
        let drafts = std::mem::take(&mut self.models);
        for (alias, draft) in drafts {
            let mut seen = std::collections::HashSet::new();
            let deployments: Vec<DeploymentConfig> = draft
                .deployments
                .into_iter()
                .map(|(provider, mut d)| {
                    d.provider = names[provider].clone();
                    let mut n = 2;
                    while !seen.insert(d.display_name()) {
                        d.name = Some(format!("{}/{}-{n}", d.provider, d.model));
                        n += 1;
                    }
                    d
                })
                .collect();
            let mut model = ModelConfig::new(deployments);
            model.kind = draft.kind;
            model.timeout_ms = draft.timeout_ms;
            model.strategy = if draft.by_order {
                Strategy::Priority
            } else {
                self.strategy.unwrap_or_default()
            };
            if draft.by_order && self.strategy.is_some_and(|s| s != Strategy::Priority) {
                self.report.push(ImportNote {
                    path: "router_settings.routing_strategy".into(),
                    kind: ImportKind::Approximated,
                    message: format!(
                        "models.{alias} uses strategy priority because its deployments set order"
                    ),
                });
            }
            model.deadline_ms = self.deadline_ms;
            if let Some(n) = self.max_attempts {
                model.retry.max_attempts = n;
            }
            if let Some(ms) = self.initial_backoff_ms {
                model.retry.initial_backoff_ms = ms;
                model.retry.max_backoff_ms = model.retry.max_backoff_ms.max(ms);
            }
            if let Some(n) = self.consecutive_failures {
                model.health.consecutive_failures = n;
            }
            if let Some(secs) = self.open_secs {
                model.health.open_secs = secs;
            }
            models.insert(alias, model);
        }
        for (kind, path, source, targets) in std::mem::take(&mut self.fallbacks) {
            let known: Vec<String> = targets
                .iter()
                .filter(|t| models.contains_key(*t))
                .cloned()
                .collect();
            for unknown in targets.iter().filter(|t| !models.contains_key(*t)) {
                self.note(
                    &path,
                    ImportKind::Dropped,
                    format!("fallback target '{unknown}' is not in model_list"),
                );
            }
            let sources: Vec<String> = if source == "*" {
                models.keys().cloned().collect()
            } else if models.contains_key(&source) {
                vec![source.clone()]
            } else {
                self.note(
                    &path,
                    ImportKind::Dropped,
                    format!("fallback source '{source}' is not in model_list"),
                );
                continue;
            };
            for alias in sources {
                if let Some(model) = models.get_mut(&alias) {
                    let list = match kind {
                        FallbackKind::Default => &mut model.fallbacks.default,
                        FallbackKind::ContextWindow => &mut model.fallbacks.context_window_exceeded,
                        FallbackKind::ContentPolicy => &mut model.fallbacks.content_policy,
                    };
                    list.extend(known.iter().filter(|t| **t != alias).cloned());
                }
            }
        }
        if let Some((path, targets)) = self.default_fallbacks.take() {
            for unknown in targets.iter().filter(|t| !models.contains_key(*t)) {
                self.note(
                    &path,
                    ImportKind::Dropped,
                    format!("fallback target '{unknown}' is not in model_list"),
                );
            }
            let known: Vec<String> = targets
                .into_iter()
                .filter(|t| models.contains_key(t))
                .collect();
            for (alias, model) in models.iter_mut() {
                if model.fallbacks.default.is_empty() {
                    model.fallbacks.default =
                        known.iter().filter(|t| *t != alias).cloned().collect();
                }
            }
        }
        let mut config = Config {
            version: CONFIG_VERSION,
            providers,
            models,
            identity: Default::default(),
            cache: Default::default(),
            budgets: Vec::new(),
            rate_limits: Vec::new(),
            usage: None,
            call_logs: None,
            redis: None,
            guardrails: Default::default(),
        };
        if let Some(mode) = self.cache_mode {
            config.cache.mode = mode;
        }
        if let Some(secs) = self.default_ttl_secs {
            config.cache.default_ttl_secs = secs;
        }
        if let Some(budget) = self.budget.take() {
            config.identity.tenant = Some("default".into());
            config.budgets.push(budget);
        }
        let issues = config.validate();
        if !issues.is_empty() {
            return Err(ConfigError::new(issues));
        }
        Ok(LiteLlmImport {
            config,
            report: self.report,
        })
    }
}

/// Sets a deployment's `rpm` or `tpm` capacity from a LiteLLM value; the note to report when
/// the value is not a whole number.
fn set_capacity(
    deployment: &mut DeploymentConfig,
    name: &str,
    value: &Value,
    path: String,
) -> Option<(String, ImportKind, String)> {
    let Some(n) = value.as_u64() else {
        return Some((path, ImportKind::Dropped, "not a whole number".into()));
    };
    let capacity = deployment.capacity.get_or_insert(Capacity {
        rpm: None,
        tpm: None,
    });
    if name == "rpm" {
        capacity.rpm = Some(u32::try_from(n).unwrap_or(u32::MAX));
    } else {
        capacity.tpm = Some(n);
    }
    None
}

/// The provider LiteLLM infers for a model name without a prefix.
fn bare_prefix(model: &str) -> &'static str {
    if model.starts_with("claude") {
        "anthropic"
    } else if model.starts_with("gemini") {
        "gemini"
    } else {
        "openai"
    }
}

/// Readable names: the prefix alone when it is the only provider with it, else numbered.
fn provider_names(keys: &[ProviderKey]) -> Vec<String> {
    let mut counters: BTreeMap<&str, usize> = BTreeMap::new();
    keys.iter()
        .map(|ProviderKey { prefix, .. }| {
            let total = keys.iter().filter(|k| k.prefix == *prefix).count();
            let base = prefix.replace('_', "-");
            if total == 1 {
                base
            } else {
                let n = counters.entry(prefix.as_str()).or_insert(0);
                *n += 1;
                format!("{base}-{n}")
            }
        })
        .collect()
}

fn string_list(value: &Value) -> Option<Vec<String>> {
    match value {
        Value::String(s) => Some(vec![s.clone()]),
        Value::Array(items) => Some(
            items
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect(),
        ),
        _ => None,
    }
}

fn secs_to_ms(secs: f64) -> Option<u64> {
    (secs.is_finite() && secs > 0.0).then(|| (secs * 1000.0).round() as u64)
}

/// USD per token to USD per million tokens, without float noise (2.5e-6 → 2.5).
fn per_million(per_token: f64) -> f64 {
    (per_token * 1e6 * 1e9).round() / 1e9
}

/// LiteLLM durations: `30s`, `10m`, `1h`, `7d`, `1w`, `1mo`.
fn parse_duration(text: &str) -> Option<u64> {
    let text = text.trim();
    let split = text.find(|c: char| !c.is_ascii_digit())?;
    let (number, unit) = text.split_at(split);
    let n: u64 = number.parse().ok()?;
    let unit_secs = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        "mo" => 30 * 86_400,
        _ => return None,
    };
    n.checked_mul(unit_secs).filter(|s| *s > 0)
}

/// The period for a duration: exact when one matches, a calendar month for 28-31 days,
/// else the longest shorter period with the limit scaled to it.
fn period_for(secs: u64, limit: f64) -> (Period, f64, ImportKind, String) {
    const PERIODS: [(Period, u64); 4] = [
        (Period::Week, 7 * 86_400),
        (Period::Day, 86_400),
        (Period::Hour, 3_600),
        (Period::Minute, 60),
    ];
    if let Some((period, _)) = PERIODS.iter().find(|(_, s)| *s == secs) {
        return (*period, limit, ImportKind::Mapped, "period mapped".into());
    }
    if (28 * 86_400..=31 * 86_400).contains(&secs) {
        return (
            Period::Month,
            limit,
            ImportKind::Approximated,
            "a duration of 28-31 days becomes a month".into(),
        );
    }
    let (period, period_secs) = PERIODS
        .iter()
        .find(|(_, s)| *s <= secs)
        .copied()
        .unwrap_or((Period::Minute, 60));
    let scaled = (limit * period_secs as f64 / secs as f64 * 1e6).round() / 1e6;
    (
        period,
        scaled,
        ImportKind::Approximated,
        format!(
            "no period of {secs}s: the limit is scaled to one {}",
            period_name(period)
        ),
    )
}

fn period_name(period: Period) -> &'static str {
    match period {
        Period::Minute => "minute",
        Period::Hour => "hour",
        Period::Day => "day",
        Period::Week => "week",
        Period::Month => "month",
    }
}

fn strategy_name(strategy: Strategy) -> &'static str {
    match strategy {
        Strategy::Weighted => "weighted",
        Strategy::LowestLatency => "lowest_latency",
        Strategy::LeastInflight => "least_inflight",
        Strategy::LowestCost => "lowest_cost",
        Strategy::Priority => "priority",
    }
}
