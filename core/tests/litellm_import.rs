//! LiteLLM import: a realistic proxy config becomes a valid Switchyard config, and the
//! report says, key by key, what was mapped, approximated or dropped.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use switchyard::config::{
    CacheMode, ImportKind, Period, ProviderKind, ScopeKind, Strategy, import_litellm,
};

const LITELLM: &str = r#"
model_list:
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_key: os.environ/OPENAI_API_KEY
      rpm: 500
      tpm: 300000
      weight: 3
      input_cost_per_token: 0.0000025
      output_cost_per_token: 0.00001
    model_info:
      id: oa-primary
  - model_name: gpt-4o
    litellm_params:
      model: azure/gpt4o-eu
      api_base: https://contoso-eu.openai.azure.com/
      api_key: os.environ/AZURE_EU_KEY
      api_version: "2024-10-21"
      rpm: 200
      temperature: 0.2
  - model_name: gpt-4o
    litellm_params:
      model: azure/gpt4o-us
      api_base: https://contoso-us.openai.azure.com
      api_key: os.environ/AZURE_US_KEY
      api_version: "2024-10-21"
  - model_name: claude
    litellm_params:
      model: anthropic/claude-sonnet-4-5
      api_key: os.environ/ANTHROPIC_API_KEY
    model_info:
      base_model: claude-sonnet
  - model_name: claude
    litellm_params:
      model: vertex_ai/claude-sonnet-4-5
      vertex_project: my-project
  - model_name: claude
    litellm_params:
      model: gpt-4o-mini
router_settings:
  routing_strategy: latency-based-routing
  num_retries: 2
  timeout: 30
  allowed_fails: 3
  cooldown_time: 60
  retry_after: 1
  fallbacks:
    - gpt-4o: [claude]
  context_window_fallbacks:
    - claude: [gpt-4o]
  redis_host: cache.internal
litellm_settings:
  cache: true
  cache_params:
    type: redis
    host: cache.internal
    password: hunter2
    ttl: 600
  max_budget: 100
  budget_duration: 30d
  success_callback: ["langfuse"]
  drop_params: true
general_settings:
  master_key: sk-1234
environment_variables:
  LANGFUSE_SECRET_KEY: sk-lf-secret
"#;

fn notes(report: &[switchyard::config::ImportNote]) -> Vec<(&str, ImportKind, &str)> {
    report
        .iter()
        .map(|n| (n.path.as_str(), n.kind, n.message.as_str()))
        .collect()
}

#[test]
fn realistic_config_maps_models_providers_and_policies() {
    let import = import_litellm(LITELLM).unwrap();
    let config = &import.config;
    assert!(config.validate().is_empty());

    let names: Vec<&str> = config.providers.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        ["anthropic", "azure-1", "azure-2", "openai", "vertex-ai"]
    );
    let vertex = &config.providers["vertex-ai"];
    assert_eq!(vertex.kind, ProviderKind::Vertex);
    assert_eq!(vertex.project.as_deref(), Some("my-project"));
    let oa = &config.providers["openai"];
    assert_eq!(oa.kind, ProviderKind::OpenAi);
    assert_eq!(oa.base_url, None);
    assert_eq!(
        oa.api_key.as_ref().unwrap().env_var(),
        Some("OPENAI_API_KEY")
    );
    let eu = &config.providers["azure-1"];
    assert_eq!(eu.kind, ProviderKind::Azure);
    assert_eq!(
        eu.base_url.as_deref(),
        Some("https://contoso-eu.openai.azure.com")
    );
    assert_eq!(eu.api_key.as_ref().unwrap().env_var(), Some("AZURE_EU_KEY"));
    assert_eq!(eu.api_version.as_deref(), Some("2024-10-21"));
    assert_eq!(
        config.providers["azure-2"].base_url.as_deref(),
        Some("https://contoso-us.openai.azure.com")
    );

    let gpt = &config.models["gpt-4o"];
    assert_eq!(gpt.strategy, Strategy::LowestLatency);
    assert_eq!(gpt.deployments.len(), 3);
    let primary = &gpt.deployments[0];
    assert_eq!(primary.name.as_deref(), Some("oa-primary"));
    assert_eq!(
        (primary.provider.as_str(), primary.model.as_str()),
        ("openai", "gpt-4o")
    );
    assert_eq!(primary.weight, 3.0);
    let capacity = primary.capacity.unwrap();
    assert_eq!((capacity.rpm, capacity.tpm), (Some(500), Some(300_000)));
    let price = primary.price.unwrap();
    assert_eq!((price.input, price.output), (2.5, 10.0));
    assert_eq!(gpt.deployments[1].provider, "azure-1");
    assert_eq!(gpt.deployments[1].model, "gpt4o-eu");
    assert_eq!(gpt.deployments[1].capacity.unwrap().rpm, Some(200));
    assert_eq!(gpt.deployments[2].provider, "azure-2");
    assert_eq!(gpt.retry.max_attempts, 3);
    assert_eq!(gpt.retry.initial_backoff_ms, 1_000);
    assert_eq!(gpt.deadline_ms, Some(30_000));
    assert_eq!(gpt.health.consecutive_failures, 4);
    assert_eq!(gpt.health.open_secs, 60);
    assert_eq!(gpt.fallbacks.default, ["claude"]);
    assert!(gpt.fallbacks.context_window_exceeded.is_empty());

    let claude = &config.models["claude"];
    let deployments: Vec<(&str, &str)> = claude
        .deployments
        .iter()
        .map(|d| (d.provider.as_str(), d.model.as_str()))
        .collect();
    assert_eq!(
        deployments,
        [
            ("anthropic", "claude-sonnet-4-5"),
            ("vertex-ai", "claude-sonnet-4-5"),
            ("openai", "gpt-4o-mini")
        ]
    );
    assert_eq!(claude.fallbacks.context_window_exceeded, ["gpt-4o"]);
    assert!(claude.fallbacks.default.is_empty());

    assert_eq!(config.cache.mode, CacheMode::Always);
    assert_eq!(config.cache.default_ttl_secs, 600);
    assert_eq!(config.identity.tenant.as_deref(), Some("default"));
    assert_eq!(config.budgets.len(), 1);
    let budget = &config.budgets[0];
    assert_eq!(budget.scope, ScopeKind::Tenant);
    assert_eq!(budget.period, Period::Month);
    assert_eq!(budget.limit_usd, 100.0);
    assert!(!budget.calendar_aligned);
}

#[test]
fn report_names_every_key_and_never_a_value() {
    use ImportKind::{Approximated, Dropped, Mapped};
    let import = import_litellm(LITELLM).unwrap();
    let expected = vec![
        (
            "model_list[0]",
            Mapped,
            "models.gpt-4o.deployments[0] (openai/gpt-4o)",
        ),
        (
            "model_list[1]",
            Mapped,
            "models.gpt-4o.deployments[1] (azure/gpt4o-eu)",
        ),
        (
            "model_list[1].litellm_params.temperature",
            Dropped,
            "per-deployment 'temperature' has no counterpart",
        ),
        (
            "model_list[2]",
            Mapped,
            "models.gpt-4o.deployments[2] (azure/gpt4o-us)",
        ),
        (
            "model_list[3]",
            Mapped,
            "models.claude.deployments[0] (anthropic/claude-sonnet-4-5)",
        ),
        (
            "model_list[3].model_info.base_model",
            Dropped,
            "model_info.base_model has no counterpart",
        ),
        (
            "model_list[4]",
            Mapped,
            "models.claude.deployments[1] (vertex_ai/claude-sonnet-4-5)",
        ),
        (
            "model_list[5]",
            Mapped,
            "models.claude.deployments[2] (gpt-4o-mini)",
        ),
        ("litellm_settings.cache", Mapped, "cache.mode = always"),
        (
            "litellm_settings.cache_params.host",
            Dropped,
            "cache_params.host has no counterpart",
        ),
        (
            "litellm_settings.cache_params.password",
            Dropped,
            "cache_params.password has no counterpart",
        ),
        (
            "litellm_settings.cache_params.ttl",
            Mapped,
            "cache.default_ttl_secs = 600",
        ),
        (
            "litellm_settings.cache_params.type",
            Approximated,
            "'redis' cache becomes the in-process cache; share answers between processes with a `redis` section and `cache.shared`",
        ),
        (
            "litellm_settings.drop_params",
            Dropped,
            "'drop_params' has no counterpart",
        ),
        (
            "litellm_settings.max_budget",
            Approximated,
            "budgets[0]: 100 USD per month for identity.tenant 'default'; a duration of 28-31 days becomes a month",
        ),
        (
            "litellm_settings.success_callback",
            Dropped,
            "'success_callback': use a UsageSink or the tracing spans instead",
        ),
        (
            "router_settings.allowed_fails",
            Approximated,
            "health.consecutive_failures = 4; LiteLLM counts failures per minute, here they are consecutive",
        ),
        (
            "router_settings.context_window_fallbacks",
            Mapped,
            "per-model fallbacks.context_window_exceeded",
        ),
        (
            "router_settings.cooldown_time",
            Mapped,
            "health.open_secs = 60 on every model",
        ),
        (
            "router_settings.fallbacks",
            Mapped,
            "per-model fallbacks.default",
        ),
        (
            "router_settings.num_retries",
            Mapped,
            "retry.max_attempts = 3 on every model",
        ),
        (
            "router_settings.redis_host",
            Dropped,
            "'redis_host' has no counterpart",
        ),
        (
            "router_settings.retry_after",
            Approximated,
            "retry.initial_backoff_ms = 1000; later waits grow exponentially",
        ),
        (
            "router_settings.routing_strategy",
            Mapped,
            "strategy = lowest_latency on every model",
        ),
        (
            "router_settings.timeout",
            Mapped,
            "deadline_ms = 30000 on every model",
        ),
        (
            "environment_variables.LANGFUSE_SECRET_KEY",
            Dropped,
            "environment_variables are proxy-server settings with no client counterpart",
        ),
        (
            "general_settings.master_key",
            Dropped,
            "general_settings are proxy-server settings with no client counterpart",
        ),
    ];
    assert_eq!(notes(&import.report), expected);
    for secret in ["hunter2", "sk-1234", "sk-lf-secret", "cache.internal"] {
        assert!(
            import
                .report
                .iter()
                .all(|n| !n.message.contains(secret) && !n.path.contains(secret)),
            "{secret} leaked into the report"
        );
    }
}

#[test]
fn malformed_yaml_is_a_config_error_naming_the_problem() {
    let error = import_litellm("model_list:\n  - model_name: a\n   litellm_params: [").unwrap_err();
    assert!(
        error.to_string().contains("not a valid LiteLLM YAML file"),
        "{error}"
    );
    let error = import_litellm("model_list: 3").unwrap_err();
    assert_eq!(error.first_path(), "model_list");
    let error = import_litellm("- a\n- b").unwrap_err();
    assert!(error.to_string().contains("mapping"), "{error}");
}

#[test]
fn order_usage_routing_durations_and_unknown_fallbacks() {
    let import = import_litellm(
        r#"
model_list:
  - model_name: chat
    litellm_params: { model: gpt-4o, order: 2 }
  - model_name: chat
    litellm_params: { model: gpt-4o, order: 1, api_key: sk-literal-1234 }
  - model_name: cheap
    litellm_params: { model: groq/llama-3.1-8b-instant }
router_settings:
  routing_strategy: usage-based-routing-v2
  default_fallbacks: [cheap, ghost]
litellm_settings:
  max_budget: 10
  budget_duration: 2d
"#,
    )
    .unwrap();
    let config = &import.config;
    assert!(config.validate().is_empty());
    let chat = &config.models["chat"];
    assert_eq!(chat.strategy, Strategy::Priority);
    assert_eq!(chat.deployments[0].priority, Some(2));
    assert_eq!(chat.deployments[1].priority, Some(1));
    assert_eq!(chat.deployments[0].provider, "openai-1");
    assert_eq!(chat.deployments[1].provider, "openai-2");
    assert_eq!(chat.fallbacks.default, ["cheap"]);
    assert_eq!(config.models["cheap"].strategy, Strategy::Weighted);
    assert!(config.models["cheap"].fallbacks.default.is_empty());
    let groq = &config.providers["groq"];
    assert_eq!(groq.kind, ProviderKind::Groq);
    assert_eq!(groq.base_url, None, "the preset's endpoint");
    assert_eq!(
        groq.api_key.as_ref().unwrap().env_var(),
        Some("GROQ_API_KEY")
    );
    assert_eq!(config.cache.mode, CacheMode::Off);
    assert_eq!(config.budgets[0].period, Period::Day);
    assert_eq!(config.budgets[0].limit_usd, 5.0);
    let kinds = |path: &str| -> Vec<ImportKind> {
        import
            .report
            .iter()
            .filter(|n| n.path == path)
            .map(|n| n.kind)
            .collect()
    };
    assert_eq!(
        kinds("router_settings.routing_strategy"),
        [ImportKind::Approximated, ImportKind::Approximated]
    );
    assert_eq!(
        kinds("model_list[1].litellm_params.api_key"),
        [ImportKind::Approximated]
    );
    assert_eq!(
        kinds("router_settings.default_fallbacks"),
        [ImportKind::Mapped, ImportKind::Dropped]
    );
    assert_eq!(
        kinds("litellm_settings.max_budget"),
        [ImportKind::Approximated]
    );
    assert!(
        import
            .report
            .iter()
            .all(|n| !n.message.contains("sk-literal"))
    );
}

#[test]
fn presets_env_endpoints_capacities_and_headers() {
    let import = import_litellm(
        r#"
model_list:
  - model_name: local
    rpm: 10
    tpm: 1000
    litellm_params: { model: ollama/qwen3:0.6b, api_base: "http://ollama1:11434" }
  - model_name: local
    litellm_params: { model: ollama_chat/qwen3:0.6b, api_base: os.environ/OLLAMA_API_BASE, rpm: 7 }
  - model_name: gpt
    litellm_params:
      model: azure/gpt-4o
      api_base: os.environ/AZURE_OPENAI_API_BASE
      api_version: os.environ/AZURE_OPENAI_API_VERSION
      api_key: os.environ/AZURE_OPENAI_API_KEY
  - model_name: foundry
    litellm_params: { model: azure_ai/Mistral-Large-2411 }
  - model_name: vllm
    litellm_params: { model: hosted_vllm/Qwen/Qwen3-8B, api_base: "http://gpu:8000/v1" }
  - model_name: router
    litellm_params:
      model: openrouter/openai/gpt-oss-120b
      extra_headers: { HTTP-Referer: "http://127.0.0.1", X-Token: os.environ/OR_TOKEN }
  - model_name: kimi
    litellm_params: { model: moonshot/kimi-k2-0905-preview }
  - model_name: glm
    litellm_params: { model: zai/glm-4.6 }
  - model_name: all
    litellm_params: { model: "openai/*" }
  - model_name: inproc
    litellm_params: { model: vllm/facebook/opt-125m }
"#,
    )
    .unwrap();
    let config = &import.config;
    assert!(config.validate().is_empty());
    let local = &config.models["local"];
    let capacity = local.deployments[0].capacity.unwrap();
    assert_eq!((capacity.rpm, capacity.tpm), (Some(10), Some(1000)));
    assert_eq!(local.deployments[1].capacity.unwrap().rpm, Some(7));
    let provider = |alias: &str| &config.providers[&config.models[alias].deployments[0].provider];
    let ollama = provider("local");
    assert_eq!(ollama.kind, ProviderKind::Ollama);
    assert_eq!(ollama.base_url.as_deref(), Some("http://ollama1:11434/v1"));
    assert!(ollama.api_key.is_none());
    let second = &config.providers[&local.deployments[1].provider];
    assert_eq!(second.base_url.as_deref(), Some("${OLLAMA_API_BASE}/v1"));
    let azure = provider("gpt");
    assert_eq!(azure.kind, ProviderKind::Azure);
    assert_eq!(azure.base_url.as_deref(), Some("${AZURE_OPENAI_API_BASE}"));
    assert_eq!(
        azure.api_version.as_deref(),
        Some("${AZURE_OPENAI_API_VERSION}")
    );
    let foundry = provider("foundry");
    assert_eq!(foundry.kind, ProviderKind::AzureAi);
    assert_eq!(foundry.base_url.as_deref(), Some("${AZURE_AI_API_BASE}"));
    assert_eq!(
        foundry.api_key.as_ref().unwrap().env_var(),
        Some("AZURE_AI_API_KEY")
    );
    assert_eq!(provider("vllm").kind, ProviderKind::Vllm);
    assert_eq!(config.models["vllm"].deployments[0].model, "Qwen/Qwen3-8B");
    let router = provider("router");
    assert_eq!(router.kind, ProviderKind::Openrouter);
    assert_eq!(router.headers["X-Token"], "${OR_TOKEN}");
    assert_eq!(router.headers["HTTP-Referer"], "http://127.0.0.1");
    assert_eq!(provider("kimi").kind, ProviderKind::Moonshot);
    let glm = provider("glm");
    assert_eq!(glm.kind, ProviderKind::Zhipu);
    assert_eq!(
        glm.base_url.as_deref(),
        Some("https://api.z.ai/api/paas/v4")
    );
    for skipped in ["all", "inproc"] {
        assert!(!config.models.contains_key(skipped), "{skipped} was kept");
    }
    let dropped: Vec<&str> = import
        .report
        .iter()
        .filter(|n| n.kind == ImportKind::Dropped)
        .map(|n| n.message.as_str())
        .collect();
    assert!(
        dropped.iter().any(|m| m.contains("wildcard")),
        "{dropped:?}"
    );
    assert!(
        dropped.iter().any(|m| m.contains("hosted_vllm")),
        "{dropped:?}"
    );
}
