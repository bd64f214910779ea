//! AWS Bedrock: chat through the Converse and ConverseStream APIs, embeddings (Titan,
//! Cohere) through InvokeModel, every request SigV4-signed with credentials resolved per
//! call (`credentials.rs`), streams in AWS's binary event-stream framing (`frames.rs`).

mod converse;
mod credentials;
mod embed;
mod errors;
pub mod frames;
mod sign;

use std::time::SystemTime;

use async_trait::async_trait;
use reqwest::{Client, RequestBuilder};

use self::converse::{ConverseDecoder, ConverseResponse, from_converse, to_converse};
use self::credentials::CredentialSource;
use self::sign::{SigningInput, sign, uri_encode};
use super::event_stream::{StreamOrigin, framed_chunk_stream};
use super::http::Exchange;
use super::{ChatStream, Provider, Target, env_field};
use crate::config::{ProviderConfig, ProviderKind};
use crate::error::{Error, ErrorKind, Result};
use crate::types::{ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse};

/// The SigV4 service name of the Bedrock runtime.
const SERVICE: &str = "bedrock";

#[derive(Debug)]
pub struct BedrockProvider {
    name: String,
    base_url: String,
    region: String,
    credentials: CredentialSource,
    headers: Vec<(String, String)>,
    client: Client,
}

impl BedrockProvider {
    /// Fails with a `config` error when no region is configured or in the environment.
    pub fn new(name: &str, config: &ProviderConfig, client: Client) -> Result<Self> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let region = config
            .region
            .as_deref()
            .map(|r| env_field(name, "region", r))
            .transpose()?
            .or_else(|| env("AWS_REGION"))
            .or_else(|| env("AWS_DEFAULT_REGION"))
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::Config {
                        path: format!("providers.{name}.region"),
                    },
                    "kind: bedrock needs a region: set `region`, AWS_REGION or AWS_DEFAULT_REGION",
                )
            })?;
        let base_url = match config.base_url.as_deref() {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("https://bedrock-runtime.{region}.amazonaws.com"),
        };
        Ok(BedrockProvider {
            name: name.to_owned(),
            base_url,
            region,
            credentials: CredentialSource {
                access_key_id: config.access_key_id.clone(),
                secret_access_key: config.secret_access_key.clone(),
                session_token: config.session_token.clone(),
                profile: config.profile.clone(),
            },
            headers: config
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            client,
        })
    }

    /// A signed `POST {base}/model/{model}/{action}` carrying `body`.
    fn post(&self, model: &str, action: &str, body: Vec<u8>) -> Result<RequestBuilder> {
        let credentials = self.credentials.resolve(&self.name)?;
        let url = format!(
            "{}/model/{}/{action}",
            self.base_url,
            uri_encode(model, false)
        );
        let parsed = reqwest::Url::parse(&url).map_err(|e| {
            Error::new(
                ErrorKind::Config {
                    path: format!("providers.{}.base_url", self.name),
                },
                format!("not a URL: {e}"),
            )
        })?;
        let host = match (parsed.host_str(), parsed.port()) {
            (Some(host), Some(port)) => format!("{host}:{port}"),
            (Some(host), None) => host.to_owned(),
            (None, _) => String::new(),
        };
        let signed = sign(
            &credentials,
            &SigningInput {
                method: "POST",
                host: &host,
                path: parsed.path(),
                query: parsed.query().unwrap_or_default(),
                headers: &[("content-type", "application/json")],
                body: &body,
                region: &self.region,
                service: SERVICE,
                time: SystemTime::now(),
            },
        );
        let builder = self
            .client
            .post(parsed)
            .header("content-type", "application/json")
            .header("accept", "application/json");
        let builder = signed
            .into_iter()
            .fold(builder, |b, (name, value)| b.header(name, value));
        Ok(self
            .headers
            .iter()
            .fold(builder, |b, (name, value)| {
                b.header(name.as_str(), value.as_str())
            })
            .body(body))
    }

    fn exchange<'a>(&'a self, target: &'a Target<'a>) -> Exchange<'a> {
        Exchange {
            provider: &self.name,
            target,
            map_error: errors::map_error,
            request_id_header: "x-amzn-requestid",
        }
    }
}

fn to_bytes(body: &serde_json::Value) -> Result<Vec<u8>> {
    serde_json::to_vec(body).map_err(|e| Error::internal(format!("cannot encode the body: {e}")))
}

#[async_trait]
impl Provider for BedrockProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::Bedrock
    }

    async fn chat(&self, request: &ChatRequest, target: &Target<'_>) -> Result<ChatResponse> {
        let body = to_bytes(&to_converse(request)?)?;
        let exchange = self.exchange(target);
        let response: ConverseResponse = exchange
            .json(self.post(target.model, "converse", body)?)
            .await?;
        Ok(from_converse(response, target.model, response_id()))
    }

    async fn chat_stream(&self, request: &ChatRequest, target: &Target<'_>) -> Result<ChatStream> {
        let body = to_bytes(&to_converse(request)?)?;
        let exchange = self.exchange(target);
        let response = exchange
            .stream(self.post(target.model, "converse-stream", body)?)
            .await?;
        let origin = StreamOrigin {
            provider: self.name.clone(),
            deployment: target.deployment.to_owned(),
            request_id: exchange.request_id(response.headers()),
        };
        Ok(framed_chunk_stream(
            response,
            frames::FrameParser::default(),
            ConverseDecoder::new(target.model, response_id()),
            origin,
            target.timeout,
        ))
    }

    async fn embed(
        &self,
        request: &EmbeddingRequest,
        target: &Target<'_>,
    ) -> Result<EmbeddingResponse> {
        let calls = embed::invocations(request, target.model)?;
        let exchange = self.exchange(target);
        let mut answers = Vec::with_capacity(calls.len());
        for body in calls {
            let http = self.post(target.model, "invoke", to_bytes(&body)?)?;
            answers.push(exchange.json(http).await?);
        }
        embed::response(answers, target.model).map_err(|e| exchange.context(e, None))
    }
}

/// Converse answers carry no id; OpenAI's shape wants one.
fn response_id() -> String {
    format!("chatcmpl-bedrock-{}", uuid::Uuid::now_v7().simple())
}
