//! What the pipeline needs from a kind of request (chat or embeddings), so both run the same
//! steps: its model and user, whether and under which key it may be cached, its token
//! estimate for admission, how an attempt sends it, and how its answer is kept.

use std::borrow::Cow;
use std::future::Future;
use std::sync::Arc;

use super::attempt::AttemptSpec;
use super::cached::{CachedAnswer, CachedBody};
use crate::cache::{self, CacheControl, CacheKey};
use crate::call_log::{Answer, Asked};
use crate::config::{CacheMode, ProviderKind};
use crate::error::{Error, Result};
use crate::estimate;
use crate::guardrails::{Restorer, Texts};
use crate::types::{ChatRequest, ChatResponse, EmbeddingRequest, EmbeddingResponse, Usage};

pub(crate) trait Request: Sync + Clone + Texts {
    type Response: Send;

    /// The operation named on the call's span.
    const OPERATION: &'static str;

    /// The logical model the caller named.
    fn model(&self) -> &str;

    /// The request's own `user` field, the call's user unless the options name one.
    fn user(&self) -> Option<&str>;

    /// Step 2: whether the call may use the cache at all under the model's `mode`.
    fn cacheable(&self, mode: CacheMode, control: CacheControl) -> bool;

    fn cache_key(&self, alias: &str) -> CacheKey;

    /// Step 3: prompt tokens as `upstream_model` at `kind` will count them.
    fn prompt_tokens(&self, kind: ProviderKind, upstream_model: &str) -> u64;

    /// A cheap bound [`Request::prompt_tokens`] never exceeds: a budget with room for it
    /// need not know the exact count.
    fn prompt_tokens_bound(&self, kind: ProviderKind, upstream_model: &str) -> u64;

    /// Output tokens to reserve.
    fn output_tokens(&self) -> u64;

    /// Step 5: one attempt at the deployment `spec` names.
    fn send(&self, spec: AttemptSpec) -> impl Future<Output = Result<Self::Response>> + Send + '_;

    /// What the answer says it used, for its cost and the usage report.
    fn usage(response: &Self::Response) -> Option<Cow<'_, Usage>>;

    /// The answer as the cache keeps it.
    fn into_body(response: Self::Response) -> CachedBody;

    /// The answer back out of what the cache kept.
    fn from_answer(answer: CachedAnswer) -> Result<Self::Response>;

    /// A copy of the request for the call log; made only when the call is logged.
    fn asked(&self) -> Asked;

    /// The answer for the call log.
    fn answered(response: &Self::Response) -> Answer;

    /// Puts masked values back in the answer (guardrails with `restore`).
    fn restore(response: &mut Self::Response, restorer: &Restorer);
}

impl Request for ChatRequest {
    type Response = ChatResponse;

    const OPERATION: &'static str = "chat";

    fn model(&self) -> &str {
        &self.model
    }

    fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    fn cacheable(&self, mode: CacheMode, control: CacheControl) -> bool {
        cache::is_cacheable(mode, self, control)
    }

    fn cache_key(&self, alias: &str) -> CacheKey {
        cache::chat_key(alias, self)
    }

    fn prompt_tokens(&self, kind: ProviderKind, upstream_model: &str) -> u64 {
        estimate::prompt_tokens(kind, upstream_model, self)
    }

    fn prompt_tokens_bound(&self, kind: ProviderKind, upstream_model: &str) -> u64 {
        estimate::prompt_tokens_bound(kind, upstream_model, self)
    }

    fn output_tokens(&self) -> u64 {
        estimate::output_tokens(self)
    }

    async fn send(&self, spec: AttemptSpec) -> Result<ChatResponse> {
        spec.provider.chat(self, &spec.target()).await
    }

    fn usage(response: &ChatResponse) -> Option<Cow<'_, Usage>> {
        response.usage.as_ref().map(Cow::Borrowed)
    }

    fn into_body(response: ChatResponse) -> CachedBody {
        CachedBody::Chat(Arc::new(response))
    }

    fn from_answer(answer: CachedAnswer) -> Result<ChatResponse> {
        answer.into_chat_response().ok_or_else(|| {
            Error::malformed(200, "the cache held a non-chat answer for a chat request")
        })
    }

    fn asked(&self) -> Asked {
        Asked::Chat(Box::new(self.clone()))
    }

    fn answered(response: &ChatResponse) -> Answer {
        Answer::Chat(Box::new(response.clone()))
    }

    fn restore(response: &mut ChatResponse, restorer: &Restorer) {
        restorer.restore_response(response);
    }
}

impl Request for EmbeddingRequest {
    type Response = EmbeddingResponse;

    const OPERATION: &'static str = "embeddings";

    fn model(&self) -> &str {
        &self.model
    }

    fn user(&self) -> Option<&str> {
        self.user.as_deref()
    }

    /// The same input always embeds the same: only `Off` and `Bypass` keep it out.
    fn cacheable(&self, mode: CacheMode, control: CacheControl) -> bool {
        mode != CacheMode::Off && control != CacheControl::Bypass
    }

    fn cache_key(&self, alias: &str) -> CacheKey {
        cache::embedding_key(alias, self)
    }

    /// Embedding inputs are counted by the character heuristic whatever the provider.
    fn prompt_tokens(&self, _kind: ProviderKind, _upstream_model: &str) -> u64 {
        let texts = self.input.texts().unwrap_or_default();
        texts.iter().map(|t| estimate::text_tokens(t)).sum()
    }

    /// The heuristic is already cheap: it is its own bound.
    fn prompt_tokens_bound(&self, kind: ProviderKind, upstream_model: &str) -> u64 {
        self.prompt_tokens(kind, upstream_model)
    }

    fn output_tokens(&self) -> u64 {
        0
    }

    async fn send(&self, spec: AttemptSpec) -> Result<EmbeddingResponse> {
        spec.provider.embed(self, &spec.target()).await
    }

    /// Embeddings bill the input only.
    fn usage(response: &EmbeddingResponse) -> Option<Cow<'_, Usage>> {
        Some(Cow::Owned(Usage::new(response.usage.prompt_tokens, 0)))
    }

    fn into_body(response: EmbeddingResponse) -> CachedBody {
        CachedBody::Embedding(Arc::new(response))
    }

    fn from_answer(answer: CachedAnswer) -> Result<EmbeddingResponse> {
        answer
            .embedding()
            .ok_or_else(|| Error::malformed(200, "the cache held a non-embedding answer"))
    }

    fn asked(&self) -> Asked {
        Asked::Embeddings(Box::new(self.clone()))
    }

    fn answered(response: &EmbeddingResponse) -> Answer {
        Answer::embeddings(response)
    }

    /// Vectors hold no text to restore.
    fn restore(_response: &mut EmbeddingResponse, _restorer: &Restorer) {}
}
