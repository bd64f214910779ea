//! `kind: local`: a GGUF model run in-process by llama.cpp, the last fallback when no
//! remote deployment can answer. Same [`Provider`] trait as the HTTP adapters; answers in
//! OpenAI's shape with usage counted and cost 0.
//!
//! The model is loaded on the first call (memory-mapped, once per process, shared by every
//! client); each call takes one context of a bounded pool, queueing when all are busy, and
//! generates on a blocking thread. Dropping the call (or the stream) stops generation
//! before the next token.

mod engine;
mod text;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Instant;

use async_trait::async_trait;
use futures_util::StreamExt;

use super::{ChatStream, Provider, Target, unix_now};
use crate::config::{ProviderConfig, ProviderKind};
use crate::error::{Error, ErrorKind, Result};
use crate::types::{
    ChatChunk, ChatRequest, ChatResponse, Choice, Delta, EmbeddingRequest, EmbeddingResponse,
    Extra, Message, Role, Usage,
};

pub use engine::count_tokens;
use engine::{Job, Outcome, Pool, PoolKey};
use text::Sampling;

/// Overrides `model_path` of every local provider (handy in CI and containers).
pub const MODEL_ENV: &str = "SWITCHYARD_LOCAL_MODEL";

const DEFAULT_CONTEXT_SIZE: u32 = 2048;
const DEFAULT_MAX_QUEUE: u32 = 64;

/// llama.cpp threads when the config names none: the cores we may use, at most 4 (a
/// 135M-parameter model gains nothing past that, and the host has other work).
fn default_threads() -> u32 {
    std::thread::available_parallelism()
        .map(|n| n.get().min(4) as u32)
        .unwrap_or(2)
}

/// Where the model file is: `SWITCHYARD_LOCAL_MODEL`, else `model_path`; relative paths are
/// taken from the current directory when the client is built.
pub fn resolve_model_path(configured: Option<&str>) -> Option<PathBuf> {
    let raw = std::env::var(MODEL_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty())
        .or_else(|| configured.map(str::to_owned))?;
    let path = PathBuf::from(raw);
    if path.is_absolute() {
        return Some(path);
    }
    Some(
        std::env::current_dir()
            .map(|cwd| cwd.join(&path))
            .unwrap_or(path),
    )
}

#[derive(Debug)]
pub struct LocalProvider {
    name: String,
    pool: Arc<Pool>,
}

impl LocalProvider {
    /// Describes the provider; nothing is loaded until the first call.
    pub fn new(name: &str, config: &ProviderConfig) -> Result<Self> {
        let field = format!("providers.{name}.model_path");
        let path = resolve_model_path(config.model_path.as_deref()).ok_or_else(|| {
            Error::new(
                ErrorKind::Config {
                    path: field.clone(),
                },
                "required for kind: local",
            )
        })?;
        if !path.is_file() {
            tracing::warn!(provider = name, path = %path.display(),
                "local model file not found; calls to it will fail until it exists (run `make model`)");
        }
        let key = PoolKey {
            path,
            context_size: config.context_size.unwrap_or(DEFAULT_CONTEXT_SIZE),
            threads: config.threads.unwrap_or_else(default_threads),
            max_concurrency: config.max_concurrency.unwrap_or(1).max(1),
        };
        let max_queue = config.max_queue.unwrap_or(DEFAULT_MAX_QUEUE);
        Ok(LocalProvider {
            name: name.to_owned(),
            pool: Pool::shared(key, max_queue, field),
        })
    }

    /// The request as a generation job; refuses what a small local model cannot do.
    fn job(&self, request: &ChatRequest, deadline: Option<Instant>) -> Result<Job> {
        if request.n.is_some_and(|n| n > 1) {
            return Err(Error::bad_request(
                "n",
                "the local model answers one choice",
            ));
        }
        if request.tools.as_ref().is_some_and(|t| !t.is_empty()) {
            return Err(Error::bad_request(
                "tools",
                "the local model does not call tools",
            ));
        }
        if request.messages.is_empty() {
            return Err(Error::bad_request("messages", "must not be empty"));
        }
        let messages = request
            .messages
            .iter()
            .map(|m| {
                let role = match m.role {
                    Role::Developer => Role::System,
                    other => other,
                };
                (role.as_str().to_owned(), m.text())
            })
            .collect();
        Ok(Job {
            messages,
            sampling: Sampling::from_request(request)?,
            max_tokens: request.output_token_limit(),
            stops: request.stop_sequences(),
            deadline,
            context_size: self.pool.key.context_size,
        })
    }

    fn tag(&self, error: Error, target: &Target<'_>) -> Error {
        error
            .with_provider(&self.name)
            .with_deployment(target.deployment)
    }
}

/// Sets the cancel flag when the call is dropped, so the blocking thread stops.
struct CancelOnDrop(Arc<AtomicBool>);

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

fn new_id() -> String {
    format!("local-{:016x}", rand::random::<u64>())
}

fn usage_of(outcome: &Outcome) -> Usage {
    Usage::new(outcome.prompt_tokens, outcome.completion_tokens)
}

/// What the blocking thread sends a stream.
enum Event {
    Text(String),
    Done(Outcome),
    Failed(Error),
}

#[async_trait]
impl Provider for LocalProvider {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> ProviderKind {
        ProviderKind::Local
    }

    async fn chat(&self, request: &ChatRequest, target: &Target<'_>) -> Result<ChatResponse> {
        let started = Instant::now();
        let deadline = target.timeout.map(|t| started + t);
        let job = self
            .job(request, deadline)
            .map_err(|e| self.tag(e, target))?;
        let permit = self
            .pool
            .admit(target.timeout)
            .await
            .map_err(|e| self.tag(e, target))?;
        let cancel = Arc::new(AtomicBool::new(false));
        let _guard = CancelOnDrop(cancel.clone());
        let pool = self.pool.clone();
        let task = tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let mut text = String::new();
            let outcome = pool.run(&job, &cancel, &mut |piece| {
                text.push_str(&piece);
                true
            });
            outcome.map(|o| (text, o))
        });
        let (text, outcome) = task
            .await
            .map_err(|e| {
                Error::new(
                    ErrorKind::Upstream { status: 500 },
                    format!("local generation panicked: {e}"),
                )
            })
            .and_then(|r| r)
            .map_err(|e| self.tag(e, target))?;
        tracing::debug!(
            prompt_tokens = outcome.prompt_tokens,
            completion_tokens = outcome.completion_tokens,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "local generation done"
        );
        Ok(ChatResponse {
            id: new_id(),
            object: "chat.completion".to_owned(),
            created: unix_now(),
            model: target.model.to_owned(),
            choices: vec![Choice {
                index: 0,
                message: Message::assistant(text),
                finish_reason: Some(outcome.finish.clone()),
                logprobs: None,
                extra: Extra::new(),
            }],
            usage: Some(usage_of(&outcome)),
            system_fingerprint: None,
            extra: Extra::new(),
        })
    }

    async fn chat_stream(&self, request: &ChatRequest, target: &Target<'_>) -> Result<ChatStream> {
        let job = self.job(request, None).map_err(|e| self.tag(e, target))?;
        let permit = self
            .pool
            .admit(target.timeout)
            .await
            .map_err(|e| self.tag(e, target))?;
        // Small: a slow reader pauses generation instead of piling text up.
        let (tx, rx) = tokio::sync::mpsc::channel::<Event>(16);
        let cancel = Arc::new(AtomicBool::new(false));
        let pool = self.pool.clone();
        let thread_cancel = cancel.clone();
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let sink = tx.clone();
            let outcome = pool.run(&job, &thread_cancel, &mut |piece| {
                !sink.is_closed() && sink.blocking_send(Event::Text(piece)).is_ok()
            });
            let last = match outcome {
                Ok(outcome) => Event::Done(outcome),
                Err(error) => Event::Failed(error),
            };
            let _ = tx.blocking_send(last);
        });

        let id = new_id();
        let model = target.model.to_owned();
        let created = unix_now();
        let origin = (self.name.clone(), target.deployment.to_owned());
        let guard = CancelOnDrop(cancel);
        let chunk = move || ChatChunk::new(id.clone(), model.clone(), created);
        let state = (rx, guard, false, false);
        let stream =
            futures_util::stream::unfold(state, move |(mut rx, guard, mut opened, done)| {
                let chunk = chunk.clone();
                let origin = origin.clone();
                async move {
                    if done {
                        return None;
                    }
                    let role = |opened: &mut bool| {
                        let first = !*opened;
                        *opened = true;
                        first.then_some(Role::Assistant)
                    };
                    let (items, done): (Vec<Result<ChatChunk>>, bool) = match rx.recv().await {
                        Some(Event::Text(text)) => {
                            let delta = Delta {
                                role: role(&mut opened),
                                ..Delta::text(text)
                            };
                            (vec![Ok(chunk().with_delta(0, delta, None))], false)
                        }
                        Some(Event::Done(outcome)) => {
                            let delta = Delta {
                                role: role(&mut opened),
                                ..Delta::default()
                            };
                            let finish = chunk().with_delta(0, delta, Some(outcome.finish.clone()));
                            let mut usage = chunk();
                            usage.usage = Some(usage_of(&outcome));
                            (vec![Ok(finish), Ok(usage)], true)
                        }
                        Some(Event::Failed(error)) => (
                            vec![Err(error.with_provider(origin.0).with_deployment(origin.1))],
                            true,
                        ),
                        None => (
                            vec![Err(Error::new(
                                ErrorKind::Upstream { status: 500 },
                                "local generation ended without finishing",
                            )
                            .with_provider(origin.0)
                            .with_deployment(origin.1))],
                            true,
                        ),
                    };
                    Some((futures_util::stream::iter(items), (rx, guard, opened, done)))
                }
            })
            .flatten();
        Ok(Box::pin(stream))
    }

    async fn embed(
        &self,
        _request: &EmbeddingRequest,
        target: &Target<'_>,
    ) -> Result<EmbeddingResponse> {
        Err(self.tag(
            Error::bad_request(
                "model",
                "the local provider serves chat only, not embeddings",
            ),
            target,
        ))
    }
}
