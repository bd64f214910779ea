//! Server-sent-event frames and the paced, fault-aware stream body built from them.

use std::collections::VecDeque;
use std::time::Duration;

use axum::body::Body;
use bytes::Bytes;

use crate::reply::Pacing;
use crate::script::{Fault, Step};

/// One SSE frame, tagged so pacing and faults can be applied without knowing the provider.
pub(crate) struct Frame {
    pub(crate) bytes: Bytes,
    /// Carries generated content: paced by ttft/inter-token and counted by `cut_after`.
    pub(crate) content: bool,
    /// Marks the end of the stream: a `cut` never sends it.
    pub(crate) terminal: bool,
}

impl Frame {
    pub(crate) fn meta(bytes: Bytes) -> Frame {
        Frame {
            bytes,
            content: false,
            terminal: false,
        }
    }

    pub(crate) fn content(bytes: Bytes) -> Frame {
        Frame {
            bytes,
            content: true,
            terminal: false,
        }
    }

    pub(crate) fn terminal(bytes: Bytes) -> Frame {
        Frame {
            bytes,
            content: false,
            terminal: true,
        }
    }
}

/// `data: {json}\n\n`, as OpenAI sends.
pub(crate) fn data(v: &serde_json::Value) -> Bytes {
    Bytes::from(format!("data: {v}\n\n"))
}

/// `event: name\ndata: {json}\n\n`, as Anthropic sends.
pub(crate) fn event(name: &str, v: &serde_json::Value) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {v}\n\n"))
}

/// `data: {json}\r\n\r\n`, as Gemini sends.
pub(crate) fn data_crlf(v: &serde_json::Value) -> Bytes {
    Bytes::from(format!("data: {v}\r\n\r\n"))
}

/// How the stream ends.
enum End {
    Clean,
    /// Abort the body so hyper drops the connection without a terminating chunk.
    Cut,
    /// Send nothing more and keep the connection open.
    Stall,
}

impl End {
    /// The end of a body that `fault` (`cut` or `stall`) breaks off.
    fn partial(fault: Fault) -> End {
        if fault == Fault::Stall {
            End::Stall
        } else {
            End::Cut
        }
    }
}

/// Build the streaming body: pacing, then the step's `malformed`/`cut` fault.
///
/// `malformed` is the provider's invalid frame, inserted before the first content frame.
pub(crate) fn body(mut frames: Vec<Frame>, malformed: Bytes, step: &Step, pacing: Pacing) -> Body {
    let mut end = End::Clean;
    match step.fault {
        Some(Fault::Malformed) => {
            let at = frames
                .iter()
                .position(|f| f.content || f.terminal)
                .unwrap_or(frames.len());
            frames.insert(at, Frame::meta(malformed));
        }
        Some(fault @ (Fault::Cut | Fault::Stall)) => {
            let limit = step.cut_after.unwrap_or(1);
            let mut sent = 0;
            let keep = frames
                .iter()
                .position(|f| {
                    if f.terminal || (f.content && sent == limit) {
                        return true;
                    }
                    sent += usize::from(f.content);
                    false
                })
                .unwrap_or(frames.len());
            frames.truncate(keep);
            end = End::partial(fault);
        }
        _ => {}
    }
    let mut first = true;
    let queue: VecDeque<(Duration, Bytes)> = frames
        .into_iter()
        .map(|f| {
            let delay = match (f.content, first) {
                (false, _) => Duration::ZERO,
                (true, true) => {
                    first = false;
                    pacing.ttft
                }
                (true, false) => pacing.inter_token,
            };
            (delay, f.bytes)
        })
        .collect();
    paced(queue, end)
}

fn paced(queue: VecDeque<(Duration, Bytes)>, end: End) -> Body {
    let stream = futures_util::stream::unfold((queue, Some(end)), |(mut queue, end)| async move {
        if let Some((delay, bytes)) = queue.pop_front() {
            if !delay.is_zero() {
                tokio::time::sleep(delay).await;
            }
            return Some((Ok(bytes), (queue, end)));
        }
        match end {
            Some(End::Cut) => {
                // Let hyper flush what was sent before the connection is torn down.
                tokio::time::sleep(Duration::from_millis(30)).await;
                let err = std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "mock cut");
                Some((Err(err), (queue, None)))
            }
            Some(End::Stall) => match crate::faults::hang().await {},
            _ => None,
        }
    });
    Body::from_stream(stream)
}

/// A body that sends `bytes` then aborts (a non-stream `cut`) or stalls (`stall`).
pub(crate) fn partial(bytes: Bytes, fault: Fault) -> Body {
    paced(
        VecDeque::from([(Duration::ZERO, bytes)]),
        End::partial(fault),
    )
}
