//! Active health probes: while a deployment's circuit is open, a one-token request every
//! `health.probe_interval_secs` tells whether it is back, so real calls need not find out.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

use crate::config::ModelType;
use crate::error::Result;
use crate::providers::{Provider, Target};
use crate::routing::{Prober, RouteDeployment};
use crate::types::{ChatRequest, EmbeddingRequest, Message};

/// A probe waits this long at most.
const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// Probes the deployments of one model through their providers' adapters.
pub(crate) struct ClientProber {
    pub providers: HashMap<String, Arc<dyn Provider>>,
    pub kind: ModelType,
}

#[async_trait]
impl Prober for ClientProber {
    async fn probe(&self, deployment: &RouteDeployment) -> Result<()> {
        let Some(provider) = self.providers.get(&deployment.config.provider) else {
            return Ok(());
        };
        let target = Target {
            deployment: &deployment.name,
            model: &deployment.config.model,
            timeout: Some(PROBE_TIMEOUT),
        };
        match self.kind {
            ModelType::Embedding => {
                let request = EmbeddingRequest::new(deployment.config.model.as_str(), "ping");
                provider.embed(&request, &target).await.map(|_| ())
            }
            ModelType::Chat | ModelType::Completion => {
                let mut request = ChatRequest::new(
                    deployment.config.model.as_str(),
                    vec![Message::user("ping")],
                );
                request.max_tokens = Some(1);
                provider.chat(&request, &target).await.map(|_| ())
            }
        }
    }
}
