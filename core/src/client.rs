//! The client: what callers hold. Resolves a logical model to a deployment and calls it.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::config::{Config, DeploymentConfig, ModelConfig};
use crate::error::{Error, ErrorKind, Result};
use crate::providers::{self, ChatStream, Provider, Target};
use crate::types::{
    ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, ModelInfo, ModelList,
};
use crate::validate;

/// Per-call options.
#[derive(Debug, Clone, Default)]
pub struct CallOptions {
    /// Overall deadline for the call, all attempts included.
    pub timeout: Option<Duration>,
}

/// What the pipeline did for a call, beside the answer itself.
#[derive(Debug, Clone, PartialEq)]
pub struct CallMeta {
    pub provider: String,
    pub deployment: String,
    pub attempts: u32,
    pub latency: Duration,
}

/// A chat answer and how it was obtained.
#[derive(Debug, Clone)]
pub struct ChatOutcome {
    pub response: ChatResponse,
    pub meta: CallMeta,
}

/// The engine every binding wraps. Cheap to clone; clones share state.
#[derive(Clone, Debug)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    config: Config,
    providers: HashMap<String, Arc<dyn Provider>>,
}

#[derive(Default)]
pub struct ClientBuilder {
    config: Option<Config>,
}

impl ClientBuilder {
    pub fn config(mut self, config: Config) -> Self {
        self.config = Some(config);
        self
    }

    pub fn build(self) -> Result<Client> {
        let config = self.config.ok_or_else(|| {
            Error::new(
                ErrorKind::BadRequest {
                    field: Some("config".into()),
                },
                "no config given",
            )
        })?;
        let providers = config
            .providers
            .iter()
            .map(|(name, provider)| Ok((name.clone(), providers::build(name, provider)?)))
            .collect::<Result<_>>()?;
        Ok(Client {
            inner: Arc::new(Inner { config, providers }),
        })
    }
}

impl Client {
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    pub async fn chat(&self, request: ChatRequest, options: &CallOptions) -> Result<ChatOutcome> {
        validate::chat_request(&request)?;
        let started = Instant::now();
        let (model, deployment) = self.resolve(&request.model)?;
        let provider = self.provider(deployment)?;
        let name = deployment.display_name();
        let target = Target {
            deployment: &name,
            model: &deployment.model,
            timeout: model
                .timeout_ms
                .map(Duration::from_millis)
                .or(options.timeout),
        };
        let mut response = provider.chat(&request, &target).await?;
        response.model = request.model.clone();
        Ok(ChatOutcome {
            response,
            meta: CallMeta {
                provider: provider.name().to_owned(),
                deployment: name,
                attempts: 1,
                latency: started.elapsed(),
            },
        })
    }

    pub async fn chat_stream(
        &self,
        request: ChatRequest,
        options: &CallOptions,
    ) -> Result<ChatStream> {
        validate::chat_request(&request)?;
        let (model, deployment) = self.resolve(&request.model)?;
        let provider = self.provider(deployment)?;
        let name = deployment.display_name();
        let target = Target {
            deployment: &name,
            model: &deployment.model,
            timeout: model
                .timeout_ms
                .map(Duration::from_millis)
                .or(options.timeout),
        };
        provider.chat_stream(&request, &target).await
    }

    pub async fn embed(
        &self,
        request: EmbeddingRequest,
        options: &CallOptions,
    ) -> Result<EmbeddingResponse> {
        validate::embedding_request(&request)?;
        let (model, deployment) = self.resolve(&request.model)?;
        let provider = self.provider(deployment)?;
        let name = deployment.display_name();
        let target = Target {
            deployment: &name,
            model: &deployment.model,
            timeout: model
                .timeout_ms
                .map(Duration::from_millis)
                .or(options.timeout),
        };
        let mut response = provider.embed(&request, &target).await?;
        response.model = request.model.clone();
        Ok(response)
    }

    /// The logical models callers may name.
    pub fn models(&self) -> ModelList {
        let owners: BTreeMap<&String, &ModelConfig> = self.inner.config.models.iter().collect();
        ModelList {
            object: "list".into(),
            data: owners
                .keys()
                .map(|alias| ModelInfo::new(alias.as_str(), "switchyard"))
                .collect(),
        }
    }

    fn resolve(&self, alias: &str) -> Result<(&ModelConfig, &DeploymentConfig)> {
        let model = self
            .inner
            .config
            .models
            .get(alias)
            .ok_or_else(|| Error::bad_request("model", format!("unknown model '{alias}'")))?;
        let deployment = model.deployments.first().ok_or_else(|| {
            Error::bad_request("model", format!("model '{alias}' has no deployments"))
        })?;
        Ok((model, deployment))
    }

    fn provider(&self, deployment: &DeploymentConfig) -> Result<&Arc<dyn Provider>> {
        self.inner
            .providers
            .get(&deployment.provider)
            .ok_or_else(|| {
                Error::bad_request(
                    "model",
                    format!("deployment uses unknown provider '{}'", deployment.provider),
                )
            })
    }
}
