//! A streamed call. Before the first chunk reaches the caller, failures are retried and
//! fallen back like any call. After it, the route's `on_stream_error` decides: report the
//! error, restart on a fallback (with a marker chunk), or continue on a fallback from the
//! partial answer and stitch. The call settles when the stream ends or is dropped.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::Stream;
use futures_util::stream::{self, BoxStream, StreamExt};
use tracing::{Instrument, Span};

use super::Engine;
use super::admit::admit;
use super::attempt::{self, Served};
use super::cache_plan::{self, CachePlan};
use super::cached::{CachedAnswer, CachedBody};
use super::context::CallContext;
use super::guard;
use super::meta::Origin;
use super::options::{CallMeta, CallOptions};
use super::report::Report;
use super::request::Request;
use super::runtime::{ModelRoute, Runtime};
use super::settle::settle;
use crate::budget::Reservation;
use crate::call_log::Answer;
use crate::config::StreamErrorPolicy;
use crate::error::{Error, Result};
use crate::estimate;
use crate::guardrails::StreamRestorer;
use crate::providers::ChatStream;
use crate::stream::{Assembler, continuation_request, strip_repeated_prefix};
use crate::telemetry::call_span;
use crate::types::{ChatChunk, ChatRequest, Delta, Usage};

/// The chunks of a streamed answer, and what the pipeline did for it.
pub struct CallStream {
    chunks: BoxStream<'static, Result<ChatChunk>>,
    meta: Arc<Mutex<CallMeta>>,
}

impl CallStream {
    /// What the pipeline did so far; complete (cost included) once the stream has ended.
    pub fn meta(&self) -> CallMeta {
        self.meta.lock().map(|m| m.clone()).unwrap_or_default()
    }
}

impl Stream for CallStream {
    type Item = Result<ChatChunk>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.chunks.as_mut().poll_next(cx)
    }
}

impl std::fmt::Debug for CallStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallStream")
            .field("meta", &self.meta())
            .finish_non_exhaustive()
    }
}

/// Steps 1 to 6 up to the first chunk; the rest happens as the caller reads.
pub(crate) async fn start(
    engine: Arc<Engine>,
    request: ChatRequest,
    options: CallOptions,
) -> Result<CallStream> {
    let runtime = engine.runtime.load_full();
    let mut call = CallContext::begin(&runtime, &request.model, request.user.as_deref(), &options);
    let span = call_span(ChatRequest::OPERATION, &request.model);
    // 0 guard: a refusal is reported like any failure to open; the rest sees the mask
    let (request, restorer, opened) = match guard::screen(&runtime, &request, &mut call) {
        Ok(screened) => {
            let (request, restorer) = screened.into_request(request);
            let opened = open(&engine, &runtime, &request, &options, &mut call)
                .instrument(span.clone())
                .await;
            (request, restorer, opened)
        }
        Err(error) => (request, None, Err(error)),
    };
    let opened = match opened {
        Ok(opened) => opened,
        Err(error) => {
            let content = engine.logged(&runtime, &request.model, true, || {
                (request.asked(), Answer::Error(error.to_string()))
            });
            engine.report(
                &span,
                Report {
                    operation: ChatRequest::OPERATION,
                    alias: &request.model,
                    call: &call,
                    options: &options,
                    meta: None,
                    usage: None,
                    error: Some(&error),
                    ttft: None,
                    stream: true,
                    content,
                },
            );
            return Err(error);
        }
    };
    let meta = Arc::new(Mutex::new(opened.meta.clone()));
    let driver = Driver {
        engine,
        runtime,
        request,
        options,
        call,
        span,
        route: opened.route,
        index: opened.index,
        upstream: opened.upstream,
        pending: opened.first.into(),
        delivered: Assembler::new(),
        segment: Assembler::new(),
        segments_cost: 0.0,
        segments_usage: Usage::default(),
        chunks: Vec::new(),
        reservation: opened.reservation,
        plan: opened.plan,
        hit: opened.hit,
        restarted: false,
        stitch: None,
        identity: None,
        meta: meta.clone(),
        ttft: None,
        done: false,
    };
    let chunks = stream::unfold(driver, |mut driver| async move {
        let span = driver.span.clone();
        let item = driver.next().instrument(span).await?;
        Some((item, driver))
    })
    .boxed();
    let chunks = match restorer {
        Some(restorer) => restored(chunks, StreamRestorer::new(restorer)),
        None => chunks,
    };
    Ok(CallStream { chunks, meta })
}

/// The caller's stream with masked values put back: text that may be a placeholder's start
/// waits for the next chunk; what is still held when the stream ends goes out in a last
/// chunk of its own.
fn restored(
    chunks: BoxStream<'static, Result<ChatChunk>>,
    restorer: StreamRestorer,
) -> BoxStream<'static, Result<ChatChunk>> {
    let state = (chunks, restorer, None::<ChatChunk>, false);
    stream::unfold(
        state,
        |(mut chunks, mut restorer, mut last, ended)| async move {
            if ended {
                return None;
            }
            match chunks.next().await {
                Some(Ok(mut chunk)) => {
                    restorer.chunk(&mut chunk);
                    last = Some(ChatChunk::new(&chunk.id, &chunk.model, chunk.created));
                    Some((Ok(chunk), (chunks, restorer, last, false)))
                }
                Some(Err(error)) => Some((Err(error), (chunks, restorer, last, true))),
                None => {
                    let rest = restorer.rest();
                    let identity = last.take()?;
                    let mut tail = identity;
                    for (index, text) in rest {
                        tail = tail.with_delta(
                            index,
                            Delta {
                                content: Some(text),
                                ..Delta::default()
                            },
                            None,
                        );
                    }
                    (!tail.choices.is_empty()).then_some((Ok(tail), (chunks, restorer, None, true)))
                }
            }
        },
    )
    .boxed()
}

struct Opened {
    route: Arc<ModelRoute>,
    index: usize,
    upstream: ChatStream,
    first: Vec<ChatChunk>,
    reservation: Option<Reservation>,
    plan: Option<CachePlan>,
    hit: bool,
    meta: CallMeta,
}

async fn open(
    engine: &Engine,
    runtime: &Runtime,
    request: &ChatRequest,
    options: &CallOptions,
    call: &mut CallContext,
) -> Result<Opened> {
    // 1 resolve
    let route = runtime.route(&request.model)?;
    // 2 cache, before admission (a hit spends nothing): replayed as the stream it was,
    // or as the stored response, chunked
    let plan = cache_plan::plan(runtime, route, request, options.cache);
    if let Some(plan) = plan.as_ref().filter(|p| !p.refresh) {
        if let Some(answer) = engine.cache.get(plan.key).await {
            if let Some(chunks) = answer.chunks() {
                let route = route.clone();
                let index = route
                    .targets
                    .iter()
                    .position(|t| *t.name == answer.deployment)
                    .unwrap_or(0);
                let meta = Origin::answer(&answer, true).meta(call);
                let upstream: ChatStream = stream::iter(chunks.into_iter().map(Ok)).boxed();
                return Ok(Opened {
                    route,
                    index,
                    upstream,
                    first: Vec::new(),
                    reservation: None,
                    plan: None,
                    hit: true,
                    meta,
                });
            }
        }
    }
    // 3 admit
    let (route, reservation) = admit(runtime, route, request, call).await?;
    // 4-6 up to the first chunk
    let served = open_upstream(runtime, &route, request, call).await?;
    let meta = Origin::deployment(&served.route, served.index).meta(call);
    let (upstream, first) = served.value;
    Ok(Opened {
        route: served.route,
        index: served.index,
        upstream,
        first,
        reservation: Some(reservation),
        plan,
        hit: false,
        meta,
    })
}

/// Opens a stream and reads its opening inside the attempt, so that a stream failing
/// before anything reached the caller is retried like any failed call.
async fn open_upstream(
    runtime: &Runtime,
    route: &Arc<ModelRoute>,
    request: &ChatRequest,
    call: &mut CallContext,
) -> Result<Served<(ChatStream, Vec<ChatChunk>)>> {
    attempt::execute(runtime, route, call, |spec| async move {
        let mut upstream = spec.provider.chat_stream(request, &spec.target()).await?;
        let first = read_opening(&mut upstream).await?;
        Ok((upstream, first))
    })
    .await
}

/// Reads a stream up to its first chunk that carries something (text, tool calls, a
/// finish reason or usage). A stream that fails before that has shown the caller nothing
/// but an empty role chunk, so the failure belongs to the attempt and is retried.
async fn read_opening(upstream: &mut ChatStream) -> Result<Vec<ChatChunk>> {
    let mut opening = Vec::new();
    while let Some(chunk) = upstream.next().await.transpose()? {
        let substantive = chunk.usage.is_some()
            || chunk.choices.iter().any(|c| {
                c.finish_reason.is_some()
                    || c.delta.tool_calls.is_some()
                    || c.delta.content.as_deref().is_some_and(|t| !t.is_empty())
            });
        opening.push(chunk);
        if substantive {
            break;
        }
    }
    Ok(opening)
}

/// While continuing: the partial answer, and the fallback's opening text held back until
/// it is clear whether it repeats that partial answer.
struct Stitch {
    partial: String,
    held: String,
    resolved: bool,
}

/// The id, model and creation time of the first stream: continued chunks wear them, so
/// the caller reads one stream.
struct Identity {
    id: String,
    model: String,
    created: u64,
}

struct Driver {
    engine: Arc<Engine>,
    runtime: Arc<Runtime>,
    request: ChatRequest,
    options: CallOptions,
    call: CallContext,
    span: Span,
    route: Arc<ModelRoute>,
    index: usize,
    upstream: ChatStream,
    /// Chunks read while opening an upstream stream, not yet given to the caller.
    pending: VecDeque<ChatChunk>,
    /// Everything the caller has been given.
    delivered: Assembler,
    /// The current upstream stream's own chunks (for its usage and cost).
    segment: Assembler,
    /// Cost and usage of upstream streams that broke before this one.
    segments_cost: f64,
    segments_usage: Usage,
    chunks: Vec<ChatChunk>,
    reservation: Option<Reservation>,
    plan: Option<CachePlan>,
    hit: bool,
    restarted: bool,
    stitch: Option<Stitch>,
    identity: Option<Identity>,
    meta: Arc<Mutex<CallMeta>>,
    ttft: Option<Duration>,
    done: bool,
}

impl Driver {
    async fn next(&mut self) -> Option<Result<ChatChunk>> {
        loop {
            if self.done {
                return None;
            }
            let item = match self.pending.pop_front() {
                Some(chunk) => Some(Ok(chunk)),
                None => self.upstream.next().await,
            };
            match item {
                Some(Ok(chunk)) => {
                    self.segment.push(&chunk);
                    if let Some(chunk) = self.stitched(chunk) {
                        return Some(Ok(self.deliver(chunk)));
                    }
                }
                None => {
                    self.finish(None).await;
                    return None;
                }
                Some(Err(error)) => {
                    if let Some(marker) = self.recover(&error).await {
                        match marker {
                            Some(chunk) => return Some(Ok(self.deliver(chunk))),
                            None => continue,
                        }
                    }
                    self.finish(Some(&error)).await;
                    return Some(Err(error));
                }
            }
        }
    }

    fn deliver(&mut self, chunk: ChatChunk) -> ChatChunk {
        if self.ttft.is_none() && !chunk.text().is_empty() {
            self.ttft = Some(self.call.started.elapsed());
        }
        if self.identity.is_none() {
            self.identity = Some(Identity {
                id: chunk.id.clone(),
                model: chunk.model.clone(),
                created: chunk.created,
            });
        }
        self.delivered.push(&chunk);
        if self.plan.is_some() {
            self.chunks.push(chunk.clone());
        }
        chunk
    }

    /// Passes a chunk through, or, while continuing, rewrites it to the first stream's
    /// identity and drops any restart of the partial answer. `None` holds it back.
    fn stitched(&mut self, mut chunk: ChatChunk) -> Option<ChatChunk> {
        let Some(stitch) = self.stitch.as_mut() else {
            return Some(chunk);
        };
        if let Some(identity) = &self.identity {
            chunk.id.clone_from(&identity.id);
            chunk.model.clone_from(&identity.model);
            chunk.created = identity.created;
        }
        for choice in &mut chunk.choices {
            choice.delta.role = None;
        }
        if !stitch.resolved {
            if let Some(choice) = chunk.choices.first_mut() {
                if let Some(text) = choice.delta.content.take() {
                    stitch.held.push_str(&text);
                    match strip_repeated_prefix(&stitch.partial, &stitch.held) {
                        None => return None,
                        Some(skip) => {
                            stitch.resolved = true;
                            let rest = stitch.held.get(skip..).unwrap_or("").to_owned();
                            choice.delta.content = (!rest.is_empty()).then_some(rest);
                        }
                    }
                }
            }
        }
        let empty = chunk.usage.is_none()
            && chunk.choices.iter().all(|c| {
                c.finish_reason.is_none()
                    && c.delta.content.is_none()
                    && c.delta.tool_calls.is_none()
            });
        (!empty).then_some(chunk)
    }

    /// A stream broke after chunks reached the caller. Returns `None` to report the error,
    /// `Some(marker)` when a fallback stream now continues (a marker chunk to deliver
    /// first on restart, or nothing on continue).
    async fn recover(&mut self, error: &Error) -> Option<Option<ChatChunk>> {
        if self.hit {
            return None;
        }
        self.route.route.deployments()[self.index]
            .health
            .record_failure(error);
        let policy = self.route.config.on_stream_error;
        if policy == StreamErrorPolicy::Error || self.call.pinned.is_some() {
            return None;
        }
        tracing::warn!(error = %error, policy = ?policy, "stream broke mid-way: recovering on a fallback");
        self.close_segment();
        self.call.avoid = Some((self.route.alias.clone(), self.index));
        let partial = self.delivered.text().to_owned();
        let continuing = policy == StreamErrorPolicy::Continue && !partial.is_empty();
        let original = self.request.clone();
        let opened = attempt::execute(&self.runtime, &self.route, &mut self.call, |spec| {
            let request = if continuing {
                continuation_request(&original, &partial, spec.kind)
            } else {
                original.clone()
            };
            async move {
                let mut upstream = spec.provider.chat_stream(&request, &spec.target()).await?;
                let first = read_opening(&mut upstream).await?;
                Ok((upstream, first))
            }
        })
        .await;
        let served = match opened {
            Ok(served) => served,
            Err(next_error) => {
                tracing::warn!(error = %next_error, "no fallback could take over the stream");
                return None;
            }
        };
        self.route = served.route.clone();
        self.index = served.index;
        let (upstream, first) = served.value;
        self.upstream = upstream;
        self.pending = first.into();
        self.update_meta();
        if continuing {
            self.stitch = Some(Stitch {
                partial,
                held: String::new(),
                resolved: false,
            });
            Some(None)
        } else {
            self.restarted = true;
            self.delivered = Assembler::new();
            self.chunks.clear();
            let identity = self.identity.as_ref();
            let mut marker = ChatChunk::new(
                identity.map_or("", |i| i.id.as_str()),
                identity.map_or("", |i| i.model.as_str()),
                identity.map_or(0, |i| i.created),
            )
            .with_delta(0, Delta::default(), None);
            marker
                .extra
                .insert("switchyard".into(), serde_json::json!({"restart": true}));
            Some(Some(marker))
        }
    }

    /// Books the cost of the upstream stream that just ended or broke.
    fn close_segment(&mut self) {
        let segment = std::mem::take(&mut self.segment);
        let usage = match segment.usage() {
            Some(usage) => usage.clone(),
            None => {
                let target = &self.route.targets[self.index];
                Usage::new(
                    estimate::prompt_tokens(target.kind, &target.upstream_model, &self.request),
                    estimate::text_tokens(segment.text()),
                )
            }
        };
        self.segments_cost += self.route.targets[self.index].cost_usd(&usage);
        self.segments_usage.prompt_tokens += usage.prompt_tokens;
        self.segments_usage.completion_tokens += usage.completion_tokens;
        self.segments_usage.total_tokens += usage.total_tokens;
    }

    fn update_meta(&self) {
        if let Ok(mut meta) = self.meta.lock() {
            *meta = Origin::deployment(&self.route, self.index).meta(&self.call);
        }
    }

    /// Step 7 for a stream, whichever way it ended: the cost of every upstream stream it
    /// used settles the reservation (nothing for a cache hit) and goes into the metadata.
    fn settle_spend(&mut self) -> Option<CallMeta> {
        self.done = true;
        if !self.hit {
            self.close_segment();
        }
        let cost = if self.hit { 0.0 } else { self.segments_cost };
        if let Some(reservation) = self.reservation.take() {
            settle(reservation, cost);
        }
        let mut meta = self.meta.lock().ok()?;
        meta.cost_usd = cost;
        meta.latency = self.call.started.elapsed();
        Some(meta.clone())
    }

    fn report_end(&self, meta: Option<&CallMeta>, error: Option<&Error>) {
        let usage = if self.hit {
            self.delivered.usage().cloned()
        } else {
            Some(self.segments_usage.clone())
        };
        let content =
            self.engine
                .logged(&self.runtime, &self.request.model, error.is_some(), || {
                    let answer = match error {
                        Some(error) => Answer::Error(error.to_string()),
                        None => Answer::Chat(Box::new(self.delivered.clone().finish())),
                    };
                    (self.request.asked(), answer)
                });
        self.engine.report(
            &self.span,
            Report {
                operation: ChatRequest::OPERATION,
                alias: &self.request.model,
                call: &self.call,
                options: &self.options,
                meta,
                usage: usage.as_ref(),
                error,
                ttft: self.ttft,
                stream: true,
                content,
            },
        );
    }

    /// The stream ended (cleanly or with `error`): settle, store a clean answer, report.
    async fn finish(&mut self, error: Option<&Error>) {
        if self.done {
            return;
        }
        let meta = self.settle_spend();
        if error.is_none() && !self.restarted && self.stitch.is_none() {
            if let Some(plan) = self.plan.take() {
                let cost = meta.as_ref().map_or(0.0, |m| m.cost_usd);
                let answer = CachedAnswer::served(
                    CachedBody::Stream(Arc::new(std::mem::take(&mut self.chunks))),
                    &self.route,
                    self.index,
                    cost,
                );
                self.engine.cache.insert(plan.key, answer, plan.ttl).await;
            }
        }
        self.report_end(meta.as_ref(), error);
    }
}

impl Drop for Driver {
    /// The caller dropped the stream before its end: the upstream connection closes with
    /// the stream, and what was generated so far is still paid for and reported.
    fn drop(&mut self) {
        if self.done {
            return;
        }
        let meta = self.settle_spend();
        self.report_end(meta.as_ref(), Some(&Error::canceled()));
    }
}
