//! Turns a provider's SSE body into a stream of OpenAI-shaped chunks, and refuses to call a
//! stream finished unless the provider's own terminal event arrived.

use std::collections::VecDeque;
use std::time::Duration;

use bytes::Bytes;
use futures_util::stream::{self, BoxStream, StreamExt};
use reqwest::Response;

use super::sse::{SseEvent, SseParser};
use super::{ChatStream, http::transport_error};
use crate::error::{Error, Result};
use crate::types::ChatChunk;

/// Splits a body into events: SSE for most providers, Bedrock's binary frames for one.
pub trait EventParser: Send + 'static {
    /// Consume `bytes`, appending every event they complete to `out`; an `Err` for bytes
    /// that cannot be framed.
    fn push(&mut self, bytes: &[u8], out: &mut Vec<SseEvent>) -> Result<()>;
}

impl EventParser for SseParser {
    fn push(&mut self, bytes: &[u8], out: &mut Vec<SseEvent>) -> Result<()> {
        SseParser::push(self, bytes, out);
        Ok(())
    }
}

/// Per-provider translation of SSE events into chunks.
pub trait StreamDecoder: Send + 'static {
    /// Translates one event, pushing any chunks it yields. An error event becomes `Err`.
    fn decode(&mut self, event: SseEvent, out: &mut Vec<ChatChunk>) -> Result<()>;
    /// Whether the provider's terminal event (`[DONE]`, `message_stop`, a final
    /// `finishReason`) has been seen: only then is the end of the body a clean end.
    fn is_done(&self) -> bool;
}

/// Who produced a stream, so its errors say where they came from.
#[derive(Debug, Clone)]
pub struct StreamOrigin {
    pub provider: String,
    pub deployment: String,
    pub request_id: Option<String>,
}

impl StreamOrigin {
    fn attach(&self, error: Error) -> Error {
        error
            .with_provider(self.provider.clone())
            .with_deployment(self.deployment.clone())
            .with_request_id(self.request_id.clone())
    }
}

struct State<D, P> {
    body: BoxStream<'static, reqwest::Result<Bytes>>,
    parser: P,
    decoder: D,
    ready: VecDeque<Result<ChatChunk>>,
    events: Vec<SseEvent>,
    chunks: Vec<ChatChunk>,
    origin: StreamOrigin,
    idle_timeout: Option<Duration>,
    finished: bool,
}

/// Wraps `response` (already checked for a 2xx status). `idle_timeout` bounds the silence
/// between two reads.
pub fn chunk_stream<D: StreamDecoder>(
    response: Response,
    decoder: D,
    origin: StreamOrigin,
    idle_timeout: Option<Duration>,
) -> ChatStream {
    framed_chunk_stream(response, SseParser::new(), decoder, origin, idle_timeout)
}

/// [`chunk_stream`] over a body framed by `parser` rather than as SSE.
pub fn framed_chunk_stream<P: EventParser, D: StreamDecoder>(
    response: Response,
    parser: P,
    decoder: D,
    origin: StreamOrigin,
    idle_timeout: Option<Duration>,
) -> ChatStream {
    let state = State {
        body: response.bytes_stream().boxed(),
        parser,
        decoder,
        ready: VecDeque::new(),
        events: Vec::new(),
        chunks: Vec::new(),
        origin,
        idle_timeout,
        finished: false,
    };
    stream::unfold(state, |mut state| async move {
        let item = state.next().await?;
        Some((item, state))
    })
    .boxed()
}

impl<D: StreamDecoder, P: EventParser> State<D, P> {
    async fn next(&mut self) -> Option<Result<ChatChunk>> {
        loop {
            if let Some(item) = self.ready.pop_front() {
                return Some(item);
            }
            if self.finished {
                return None;
            }
            if self.decoder.is_done() {
                self.finished = true;
                return None;
            }
            match self.read().await {
                Ok(Some(bytes)) => self.feed(&bytes),
                Ok(None) => {
                    self.finished = true;
                    if !self.decoder.is_done() {
                        let error = Error::network("the stream ended before its terminal event");
                        return Some(Err(self.origin.attach(error)));
                    }
                }
                Err(error) => {
                    self.finished = true;
                    return Some(Err(self.origin.attach(error)));
                }
            }
        }
    }

    async fn read(&mut self) -> Result<Option<Bytes>> {
        let next = match self.idle_timeout {
            Some(limit) => tokio::time::timeout(limit, self.body.next())
                .await
                .map_err(|_| {
                    Error::timeout("the stream went silent for longer than the attempt timeout")
                })?,
            None => self.body.next().await,
        };
        next.transpose().map_err(transport_error)
    }

    fn feed(&mut self, bytes: &[u8]) {
        if let Err(error) = self.parser.push(bytes, &mut self.events) {
            self.events.clear();
            self.ready.push_back(Err(self.origin.attach(error)));
            self.finished = true;
            return;
        }
        for event in self.events.drain(..) {
            if let Err(error) = self.decoder.decode(event, &mut self.chunks) {
                self.ready.extend(self.chunks.drain(..).map(Ok));
                self.ready.push_back(Err(self.origin.attach(error)));
                self.finished = true;
                return;
            }
            if self.decoder.is_done() {
                break;
            }
        }
        self.ready.extend(self.chunks.drain(..).map(Ok));
    }
}
